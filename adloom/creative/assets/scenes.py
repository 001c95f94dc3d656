"""One streaming pass over a clip (PyAV): scene cuts (PySceneDetect's ContentDetector fed frame by frame),
per-frame change/shift series and sampled quality scores; then keyframes grabbed by seeking.

Memory is bounded by design: frames are decoded one at a time, scaled to ``analysis_width`` (cuts,
motion) or ``keyframe_width`` (scores, at most ``max_samples`` per clip) and dropped; what is kept per
frame is a few floats (about 40 bytes), so a 2-hour 30 fps clip keeps ~9 MB of series. Time grows with
the clip (every frame must be decoded); the caller's ``progress`` callback hears how far it is.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from adloom.creative.assets import measures
from adloom.creative.assets.model import AnalysisLimits
from adloom.creative.assets.probe import Probe, open_video, upright

__all__ = ["ClipScan", "grab_keyframes", "scan_clip", "scene_scores", "split_scenes"]


@dataclass
class ClipScan:
    """What the streaming pass measured. Series are per detector frame (``t``, ``change``, ``dx``, ``dy``;
    shifts as fractions of the frame width) and per scored sample (``st``, ``sharp``, ``expo``, ``text``)."""

    duration_s: float
    fps: float
    vfr: bool
    cuts: list[float]
    t: array = field(default_factory=lambda: array("d"))
    change: array = field(default_factory=lambda: array("f"))
    dx: array = field(default_factory=lambda: array("f"))
    dy: array = field(default_factory=lambda: array("f"))
    st: array = field(default_factory=lambda: array("d"))
    sharp: array = field(default_factory=lambda: array("f"))
    expo: array = field(default_factory=lambda: array("f"))
    text: array = field(default_factory=lambda: array("b"))
    frames_decoded: int = 0
    warnings: list[str] = field(default_factory=list)


def _scaled(frame, width: int, ccw: int) -> np.ndarray:
    """A decoded frame as an upright BGR array ``width`` px wide (display orientation)."""
    w, h = frame.width, frame.height
    width = min(width, h if ccw % 180 else w)  # never upscale: it costs time and adds nothing
    if ccw % 180:  # displayed sideways: scale so the *display* width is ``width``
        out_h = max(2, width)
        out_w = max(2, round(w * out_h / h))
    else:
        out_w = max(2, width)
        out_h = max(2, round(h * out_w / w))
    arr = frame.reformat(width=out_w, height=out_h, format="bgr24").to_ndarray()
    return upright(arr, ccw)


def scan_clip(
    path: Path, probe: Probe, limits: AnalysisLimits, progress: Callable[[float], None] | None = None
) -> ClipScan:
    """Decode ``path`` once and measure it (see the module docstring)."""
    import av
    from scenedetect import ContentDetector, FrameTimecode

    duration = max(probe.duration_s, 1e-6)
    detect_rate = min(limits.detect_fps, probe.fps or limits.detect_fps)
    sample_rate = min(limits.sample_fps, limits.max_samples / duration) if probe.duration_s > 0 else limits.sample_fps
    min_len = max(1, round(limits.min_scene_s * detect_rate))
    detector = ContentDetector(threshold=limits.cut_threshold, min_scene_len=min_len)
    scan = ClipScan(duration_s=probe.duration_s, fps=probe.fps, vfr=False, cuts=[])
    deltas = array("f")
    cut_idx: list[int] = []
    next_feed = next_sample = -1.0
    last_t: float | None = None
    prev_small: np.ndarray | None = None
    fed = 0
    next_report = 0.0
    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base) if stream.time_base else 0.0
        frames = container.decode(stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except (av.error.FFmpegError, ValueError) as exc:
                at = f"{last_t:.1f} s" if last_t is not None else "the start"
                scan.warnings.append(f"decoding stopped at {at} ({exc.__class__.__name__}); the file is damaged "
                                     "after that point: only what came before was analysed")  # fmt: skip
                break
            scan.frames_decoded += 1
            if frame.pts is not None and tb:
                t = float(frame.pts * tb)
            else:
                t = (last_t + 1.0 / (probe.fps or 25.0)) if last_t is not None else 0.0
            if last_t is not None:
                if t <= last_t:  # duplicate or out-of-order timestamp: keep the timeline monotonic
                    t = last_t + 1e-4
                deltas.append(t - last_t)
            last_t = t
            ccw = int(getattr(frame, "rotation", 0) or 0)
            if t >= next_feed:
                next_feed = t + 1.0 / detect_rate - 1e-6
                small = _scaled(frame, limits.analysis_width, ccw)
                cuts = detector.process_frame(FrameTimecode(fed, fps=detect_rate), small)
                cut_idx.extend(c.frame_num for c in cuts)
                g = measures.gray(small)
                if prev_small is not None:
                    scan.change.append(measures.frame_change(prev_small, g))
                    dx, dy = measures.global_shift(prev_small, g)
                    scan.dx.append(dx / g.shape[1])
                    scan.dy.append(dy / g.shape[1])
                else:
                    scan.change.append(0.0)
                    scan.dx.append(0.0)
                    scan.dy.append(0.0)
                scan.t.append(t)
                prev_small = g
                fed += 1
            if t >= next_sample:
                next_sample = t + 1.0 / sample_rate - 1e-6
                g = measures.gray(_scaled(frame, limits.keyframe_width, ccw))
                scan.st.append(t)
                scan.sharp.append(measures.sharpness(g))
                scan.expo.append(measures.exposure(g))
                scan.text.append(1 if measures.text_likely(g) else 0)
            if progress is not None and t >= next_report:
                progress(min(1.0, t / duration))
                next_report = t + duration / 200.0
    if not scan.t:
        from adloom.core.errors import InputError

        raise InputError(f"{path.name}: no frame of its video could be decoded; the file is damaged: re-export it")
    frame_dur = float(np.median(np.frombuffer(deltas, dtype=np.float32))) if len(deltas) else 1.0 / (probe.fps or 25)
    end = last_t + frame_dur if last_t is not None else 0.0
    if probe.duration_s > 0 and end < 0.9 * probe.duration_s - 1.0 and not scan.warnings:
        scan.warnings.append(
            f"the clip ends at {end:.1f} s although its header says {probe.duration_s:.1f} s (truncated upload?); "
            "only the frames present were analysed"
        )
    scan.duration_s = end if probe.duration_s <= 0 or end < probe.duration_s else probe.duration_s
    if len(deltas) >= 8:
        d = np.frombuffer(deltas, dtype=np.float32)
        lo, hi = np.percentile(d, [5, 95])
        scan.vfr = bool(lo > 0 and hi / lo > 1.15)
        if scan.fps <= 0:
            scan.fps = 1.0 / float(np.mean(d))
    times = scan.t
    scan.cuts = sorted({times[i] for i in cut_idx if 0 < i < len(times)})
    if progress is not None:
        progress(1.0)
    return scan


def split_scenes(scan: ClipScan, limits: AnalysisLimits) -> list[tuple[float, float]]:
    """(start, end) of each scene: the cuts, with scenes shorter than ``min_scene_s`` merged into the one
    before and at most ``max_scenes`` kept (the weakest boundaries go first: the shortest scenes merge)."""
    bounds = [0.0, *[c for c in scan.cuts if 0 < c < scan.duration_s], scan.duration_s]
    scenes = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    merged = _merge_short(scenes, limits.min_scene_s)
    if len(merged) > limits.max_scenes:  # a strobe or a slideshow: longer minimum, then trim the rest
        merged = _merge_short(merged, scan.duration_s / max(1, limits.max_scenes - 1))
    while len(merged) > limits.max_scenes:
        i = min(range(len(merged)), key=lambda k: merged[k][1] - merged[k][0])
        j = i - 1 if i > 0 else i + 1
        lo, hi = sorted((i, j))
        merged[lo : hi + 1] = [(merged[lo][0], merged[hi][1])]
    return merged or [(0.0, scan.duration_s)]


def _merge_short(scenes: list[tuple[float, float]], min_s: float) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in scenes:
        if merged and (b - a < min_s):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _slice(times: array, start: float, end: float) -> slice:
    t = np.frombuffer(times, dtype=np.float64)
    return slice(int(np.searchsorted(t, start, "left")), int(np.searchsorted(t, end, "left")))


def scene_scores(scan: ClipScan, start: float, end: float) -> dict[str, float | bool]:
    """Motion, shake, sharpness, exposure and text of the frames in [start, end).

    motion = 1 - exp(-(mean grey change / 6 + pan speed / 0.25)) with pan speed in frame widths per second:
    a still tripod shot ~0, a slow pan ~0.4, a fast pan or busy action ~0.8+.
    shake = 1 - exp(-rms(jitter) / 0.004): jitter is the frame-to-frame shift minus its 5-frame moving
    average (hand-held tremor), as a fraction of the frame width; a tripod or smooth pan ~0.
    """
    sl = _slice(scan.t, start, end)
    ch = np.frombuffer(scan.change, dtype=np.float32)[sl][1:]  # the first pair straddles the cut
    t = np.frombuffer(scan.t, dtype=np.float64)[sl]
    dx = np.frombuffer(scan.dx, dtype=np.float32)[sl][1:]
    dy = np.frombuffer(scan.dy, dtype=np.float32)[sl][1:]
    motion = shake = 0.0
    if len(ch) >= 1 and len(t) >= 2:
        dt = float(np.mean(np.diff(t))) or 1.0
        pan = float(np.hypot(dx.mean(), dy.mean()) / dt) if len(dx) else 0.0
        motion = 1.0 - math.exp(-(float(ch.mean()) / 6.0 + pan / 0.25))
        if len(dx) >= 5:
            k = np.ones(5, np.float32) / 5
            jx = dx - np.convolve(dx, k, mode="same")
            jy = dy - np.convolve(dy, k, mode="same")
            rms = float(np.sqrt(np.mean(jx[2:-2] ** 2 + jy[2:-2] ** 2))) if len(dx) > 4 else 0.0
            shake = 1.0 - math.exp(-rms / 0.004)
    ss = _slice(scan.st, start, end)
    sharp = np.frombuffer(scan.sharp, dtype=np.float32)[ss]
    expo = np.frombuffer(scan.expo, dtype=np.float32)[ss]
    text = np.frombuffer(scan.text, dtype=np.int8)[ss]
    if len(sharp) == 0:  # a scene shorter than the sampling interval: nearest sample
        st = np.frombuffer(scan.st, dtype=np.float64)
        i = int(np.clip(np.searchsorted(st, (start + end) / 2), 0, len(st) - 1))
        sharp, expo, text = np.array([scan.sharp[i]]), np.array([scan.expo[i]]), np.array([scan.text[i]])
    return {
        "motion": round(min(1.0, max(0.0, motion)), 4),
        "shake": round(min(1.0, max(0.0, shake)), 4),
        "sharpness": round(float(np.median(sharp)), 4),
        "exposure": round(float(np.median(expo)), 4),
        "text": bool(text.mean() >= 0.5),
    }


def keyframe_times(start: float, end: float, n: int = 3) -> list[float]:
    """Where a scene's keyframes are taken: just after its start, its middle, just before its end
    (one, the middle, for a scene under a second)."""
    d = end - start
    if d < 1.0 or n == 1:
        return [start + d / 2]
    return [start + 0.15 * d, start + 0.5 * d, start + 0.85 * d][:n]


def grab_keyframes(path: Path, times: list[float], out: list[Path], width: int) -> list[Path]:
    """Upright JPEGs ``width`` px wide of the frames shown at ``times`` (sorted), written to ``out``.
    Seeks (to the keyframe before) only when the next time is behind or more than 4 s ahead."""
    import av

    written: list[Path] = []
    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base) if stream.time_base else 0.0
        gen = None
        pos = -1e9
        prev = None
        for target, dest in sorted(zip(times, out, strict=True), key=lambda p: p[0]):
            if gen is None or target < pos or target - pos > 4.0:
                if tb:
                    container.seek(int(max(0.0, target - 0.05) / tb), stream=stream, backward=True)
                gen = container.decode(stream)
                prev = None
            chosen = None
            try:
                for frame in gen:
                    ft = float(frame.pts * tb) if frame.pts is not None and tb else pos + 0.04
                    pos = ft
                    if ft > target + 1e-3:
                        chosen = prev if prev is not None and prev[0] <= target else (ft, frame)
                        prev = (ft, frame)
                        break
                    prev = (ft, frame)
                else:
                    chosen = prev
            except (av.error.FFmpegError, ValueError):
                chosen = prev
            if chosen is None:
                continue
            frame = chosen[1]
            img = _scaled(frame, width, int(getattr(frame, "rotation", 0) or 0))
            dest.parent.mkdir(parents=True, exist_ok=True)
            if cv2.imwrite(str(dest), img, [cv2.IMWRITE_JPEG_QUALITY, 85]):
                written.append(dest)
    return written
