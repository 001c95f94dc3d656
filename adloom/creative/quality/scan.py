"""Decode every frame of a rendered video once and measure what the gate judges.

Black and frozen stretches are found from our own frame statistics on the decoded luma plane (not from
ffmpeg's ``blackdetect``/``freezedetect`` filters run by the renderer's ffmpeg binary), with the thresholds
those filters use by default so the numbers mean the same thing:

* a frame is **black** when at least 98 % of its pixels have luma at or below 10 % of the nominal range
  (``blackdetect`` ``pic_th=0.98``, ``pix_th=0.10``);
* a frame is **frozen** when its mean absolute luma difference from the *reference frame* — the first
  frame of the current still stretch, as ``freezedetect`` keeps it — is below ``FREEZE_NOISE`` of full
  scale (``freezedetect``'s noise, here -50 dB so that a keyframe re-encoding a still does not break the
  stretch). Comparing with the reference rather than the previous frame means a slow Ken Burns zoom, whose
  frame-to-frame change is tiny but keeps adding up, is motion, not a freeze. Black frames never count as
  frozen, so a black stretch is reported once.

Statistics use every second pixel in each direction, which keeps a 1080x1920 frame cheap and still sees
any motion larger than a pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adloom.creative.quality.probe import require_av

BLACK_PIXEL_FRACTION = 0.10  # luma at or below this fraction of the nominal range is a black pixel
BLACK_PICTURE_RATIO = 0.98  # a frame with at least this share of black pixels is a black frame
FREEZE_NOISE = 10 ** (-50 / 20)  # mean absolute luma difference (fraction of full scale) below which frames match
SILENCE_FLOOR_DBFS = -120.0  # reported peak of digital silence, so metrics stay finite numbers

_EIGHT_BIT_YUV = {
    "yuv420p",
    "yuvj420p",
    "yuv422p",
    "yuvj422p",
    "yuv444p",
    "yuvj444p",
    "yuv411p",
    "yuv410p",
    "nv12",
    "nv21",
}


@dataclass
class Stretch:
    """The longest run of black or frozen frames: where it starts and how long it lasts (seconds)."""

    start_s: float = 0.0
    length_s: float = 0.0


@dataclass
class DecodeStats:
    """What a full decode found. Times are presentation times in seconds as the demuxer reports them."""

    video_frames: int = 0
    video_first_s: float | None = None
    video_end_s: float | None = None  # last frame's time plus one frame duration
    audio_frames: int = 0
    audio_first_s: float | None = None
    audio_end_s: float | None = None  # last sample's end
    audio_peak_dbfs: float = SILENCE_FLOOR_DBFS
    longest_black: Stretch | None = None
    longest_freeze: Stretch | None = None
    error: str | None = None  # a decode failure part-way through, with the time reached


def _luma(frame: Any) -> tuple[np.ndarray, bool]:
    """The frame's luma plane, subsampled 2x2, as uint8, and whether it uses the limited (TV) range."""
    name = frame.format.name
    if name in _EIGHT_BIT_YUV:
        plane = frame.planes[0]
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
        y = rows[: frame.height, : frame.width]
        limited = not name.startswith("yuvj") and int(frame.color_range or 0) != 2  # 2 = AVCOL_RANGE_JPEG
    else:
        y = frame.to_ndarray(format="gray")
        limited = False
    return y[::2, ::2], limited


class _RunTracker:
    """Follows runs of flagged frames over time and keeps the longest finished one."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.best: Stretch | None = None

    def update(self, flagged: bool, t: float, run_start: float | None = None) -> None:
        """Record frame time ``t``; a run begun earlier (``run_start``) lets a freeze include its first frame."""
        if flagged:
            if self.start is None:
                self.start = t if run_start is None else run_start
        elif self.start is not None:
            self._close(t)

    def finish(self, end_s: float | None) -> Stretch | None:
        """Close a run still open at the end of the video and return the longest run (None when none)."""
        if self.start is not None and end_s is not None:
            self._close(end_s)
        return self.best

    def _close(self, t: float) -> None:
        assert self.start is not None
        length = max(0.0, t - self.start)
        if self.best is None or length > self.best.length_s:
            self.best = Stretch(start_s=self.start, length_s=length)
        self.start = None


def _audio_peak(frame: Any) -> float:
    """Largest absolute sample of an audio frame on a 0..1 scale."""
    samples = frame.to_ndarray()
    if samples.size == 0:
        return 0.0
    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        if info.min == 0:  # unsigned 8-bit PCM is centred on 128
            return float(np.abs(samples.astype(np.int32) - (info.max + 1) // 2).max()) / ((info.max + 1) / 2)
        return float(np.abs(samples.astype(np.int64)).max()) / float(-info.min)
    return float(np.nanmax(np.abs(samples)))


def scan(path: Path) -> DecodeStats:
    """Decode the first video and first audio stream of ``path`` to the end and measure them.

    Raises the PyAV error if the file cannot be opened at all; a failure part-way through the decode is kept
    in :attr:`DecodeStats.error` together with everything measured up to that point.
    """
    av = require_av()
    stats = DecodeStats()
    black = _RunTracker()
    freeze = _RunTracker()
    peak = 0.0
    container = av.open(str(path), mode="r")
    try:
        streams = list(container.streams.video[:1]) + list(container.streams.audio[:1])
        if not streams:
            return stats
        for s in streams:
            s.thread_type = "AUTO"
        video = container.streams.video[0] if container.streams.video else None
        nominal_step = 1.0 / float(video.average_rate) if video is not None and video.average_rate else None
        ref_luma: np.ndarray | None = None
        prev_t: float | None = None
        prev_black = False
        last_step: float | None = None
        t = 0.0
        try:
            for frame in container.decode(*streams):
                if frame.time is None:
                    continue
                t = float(frame.time)
                if isinstance(frame, av.AudioFrame):
                    stats.audio_frames += 1
                    if stats.audio_first_s is None:
                        stats.audio_first_s = t
                    end = t + frame.samples / float(frame.sample_rate or 1)
                    stats.audio_end_s = max(stats.audio_end_s or end, end)
                    peak = max(peak, _audio_peak(frame))
                    continue
                stats.video_frames += 1
                if stats.video_first_s is None:
                    stats.video_first_s = t
                luma, limited = _luma(frame)
                threshold = 16 + BLACK_PIXEL_FRACTION * 219 if limited else BLACK_PIXEL_FRACTION * 255
                is_black = float(np.count_nonzero(luma <= threshold)) >= BLACK_PICTURE_RATIO * luma.size
                black.update(is_black, t)
                if ref_luma is not None and ref_luma.shape == luma.shape:
                    diff = np.abs(luma.astype(np.int16) - ref_luma.astype(np.int16)).mean() / 255.0
                    frozen = diff < FREEZE_NOISE and not (is_black or prev_black)
                else:
                    frozen = False
                freeze.update(frozen, t, run_start=prev_t)
                if prev_t is not None and t > prev_t:
                    last_step = t - prev_t
                if not frozen:
                    ref_luma = luma  # a changed frame starts a new candidate still
                prev_t, prev_black = t, is_black
        except av.FFmpegError as exc:
            stats.error = f"decoding stopped at {t:.2f} s: {exc}"
        if prev_t is not None:
            stats.video_end_s = prev_t + (nominal_step or last_step or 0.0)
        stats.longest_black = black.finish(stats.video_end_s)
        stats.longest_freeze = freeze.finish(stats.video_end_s)
        stats.audio_peak_dbfs = 20 * math.log10(peak) if peak > 0 else SILENCE_FLOOR_DBFS
        stats.audio_peak_dbfs = max(stats.audio_peak_dbfs, SILENCE_FLOOR_DBFS)
        return stats
    finally:
        container.close()
