"""The quality gate: judge a rendered MP4 before it can reach a user.

``check_video`` never trusts the renderer: it reads the file with PyAV's own FFmpeg build, decodes every
frame, and compares what it measured with what the script and template asked for. A file that cannot be
read fails with a reason instead of raising, so a batch records every broken creative and delivers none of
them; only a path that does not exist (a caller's mistake) or invalid arguments raise ``InputError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adloom.core.errors import InputError, UnsupportedContentError
from adloom.creative.quality.probe import probe, require_av, require_file
from adloom.creative.quality.scan import DecodeStats, scan

DELIVERY_VIDEO_CODECS = ("h264",)
DELIVERY_AUDIO_CODECS = ("aac",)
DELIVERY_PIX_FMTS = ("yuv420p", "yuvj420p")  # what phones and ad platforms play everywhere
SILENT_BELOW_DBFS = -60.0  # an audio track whose loudest sample is under this carries no sound
_BOX_KEYS = ("x", "y", "w", "h")


@dataclass
class QualityReport:
    """The verdict on one video: ``passed`` only when ``reasons`` is empty; ``metrics`` are what was measured.

    ``reasons`` are sentences a person reads (each names the measured value and the limit); ``metrics`` keep
    numbers and codec names for manifests and dashboards.
    """

    passed: bool
    reasons: list[str] = field(default_factory=list)
    metrics: dict[str, float | str] = field(default_factory=dict)


def _check_args(expected_duration_s: float, tolerance_s: float, allow_still_s: float, allow_black_s: float) -> None:
    """Reject arguments no template can mean, naming the argument."""
    for name, value, positive in (
        ("expected_duration_s", expected_duration_s, True),
        ("tolerance_s", tolerance_s, False),
        ("allow_still_s", allow_still_s, False),
        ("allow_black_s", allow_black_s, False),
    ):
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0 or (positive and value == 0):
            need = "a positive" if positive else "a non-negative"
            raise InputError(f"{name}: {value!r} is not {need} number of seconds", field=name)


def _box_numbers(box: Mapping[str, Any], index: int) -> tuple[float, float, float, float]:
    """x, y, w, h of a caption box reported by the renderer, or InputError naming the box."""
    try:
        x, y, w, h = (float(box[k]) for k in _BOX_KEYS)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"caption_boxes[{index}]: {dict(box)!r} needs numeric x, y, w, h (pixels) besides kind, t0, t1 ({exc})",
            field="caption_boxes",
        ) from exc
    if w <= 0 or h <= 0:
        raise InputError(
            f"caption_boxes[{index}]: width and height must be positive, got w={w}, h={h}", field="caption_boxes"
        )
    return x, y, w, h


def _caption_reasons(
    boxes: Sequence[Mapping[str, Any]], area: tuple[float, float, float, float], area_name: str
) -> list[str]:
    """One reason per caption box that is not wholly inside ``area`` (x, y, w, h)."""
    ax, ay, aw, ah = area
    reasons = []
    for i, box in enumerate(boxes):
        x, y, w, h = _box_numbers(box, i)
        if x >= ax and y >= ay and x + w <= ax + aw and y + h <= ay + ah:
            continue
        kind = box.get("kind", "caption")
        when = ""
        if "t0" in box and "t1" in box:
            when = f" shown {float(box['t0']):.2f}-{float(box['t1']):.2f} s"
        reasons.append(
            f"caption box {i} ({kind}{when}) at x={x:g}, y={y:g}, w={w:g}, h={h:g} reaches outside the "
            f"{area_name} x={ax:g}, y={ay:g}, w={aw:g}, h={ah:g}"
        )
    return reasons


def _first(facts: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The first stream of a type in probe facts."""
    return next((s for s in facts["streams"] if s["type"] == kind), None)


def check_video(
    path: Path,
    *,
    expected_duration_s: float,
    expected_size: tuple[int, int] | None = None,
    caption_boxes: Sequence[Mapping[str, Any]] = (),
    safe_area: tuple[int, int, int, int] | None = None,
    allow_still_s: float = 1.0,
    tolerance_s: float = 0.3,
    allow_black_s: float = 1.0,
    require_sound: bool = True,
) -> QualityReport:
    """Decode ``path`` independently and judge it against the script and template.

    Checks: video codec h264 in yuv420p, audio codec aac; decoded duration within ``tolerance_s`` of
    ``expected_duration_s``; frame size equal to ``expected_size`` (width, height) when given; an audio track
    that carries sound (``require_sound``) and lasts as long as the video; audio starting less than one
    frame from the video; no black stretch longer than ``allow_black_s`` and no frozen stretch longer than
    ``allow_still_s`` (raise either for a template that asks for a black or still shot, e.g. an end card);
    every caption box ``{kind, t0, t1, x, y, w, h}`` inside ``safe_area`` (x, y, w, h), or inside the frame
    when no safe area is given.

    Raises:
        InputError: nothing exists at ``path``, or an argument (a duration, a caption box) is invalid.
        BackendUnavailableError: PyAV (the ``quality`` extra) is not installed.
    """
    resolved = require_file(path)
    _check_args(expected_duration_s, tolerance_s, allow_still_s, allow_black_s)
    boxes = list(caption_boxes)
    for i, box in enumerate(boxes):
        _box_numbers(box, i)  # malformed boxes are the caller's error, even when the file is broken
    if safe_area is not None and (len(safe_area) != 4 or safe_area[2] <= 0 or safe_area[3] <= 0):
        raise InputError(f"safe_area: {safe_area!r} must be (x, y, w, h) with positive w and h", field="safe_area")
    av = require_av()

    metrics: dict[str, float | str] = {"expected_duration_s": float(expected_duration_s)}
    try:
        facts = probe(resolved)
    except UnsupportedContentError as exc:
        return QualityReport(False, [f"{path!s} could not be read as a video: {exc}"], metrics)
    metrics["container"] = facts["format"]
    if facts["duration_s"] is not None:
        metrics["container_duration_s"] = round(facts["duration_s"], 3)

    vfacts = _first(facts, "video")
    afacts = _first(facts, "audio")
    metrics["audio_codec"] = afacts["codec"] if afacts else "none"
    if vfacts is None:
        return QualityReport(False, [f"{path!s} has no video stream (format {facts['format']})"], metrics)
    metrics.update(
        video_codec=vfacts["codec"] or "unknown",
        pix_fmt=vfacts["pix_fmt"] or "unknown",
        width=float(vfacts["width"]),
        height=float(vfacts["height"]),
    )

    try:
        stats: DecodeStats = scan(resolved)
    except (av.FFmpegError, OSError) as exc:
        return QualityReport(False, [f"{path!s} could not be decoded: {exc}"], metrics)

    reasons: list[str] = []
    if stats.error:
        reasons.append(f"{path!s} is damaged: {stats.error}")
    if stats.video_frames == 0:
        reasons.append(f"{path!s} has a video stream but no frame decodes")
        return QualityReport(False, reasons, metrics)

    # Codecs and geometry.
    if vfacts["codec"] not in DELIVERY_VIDEO_CODECS:
        reasons.append(
            f"video codec is {vfacts['codec']}; deliverables must be {'/'.join(DELIVERY_VIDEO_CODECS)} "
            "(re-encode with libx264)"
        )
    if vfacts["pix_fmt"] not in DELIVERY_PIX_FMTS:
        reasons.append(f"pixel format is {vfacts['pix_fmt']}; players expect yuv420p (encode with -pix_fmt yuv420p)")
    width, height = vfacts["width"], vfacts["height"]
    if expected_size is not None and (width, height) != tuple(expected_size):
        reasons.append(f"frame size {width}x{height} differs from the template's {expected_size[0]}x{expected_size[1]}")

    # Duration, from the decoded frames rather than the container's claim.
    assert stats.video_first_s is not None and stats.video_end_s is not None
    duration = stats.video_end_s - stats.video_first_s
    fps = vfacts["fps"] or (stats.video_frames / duration if duration > 0 else 0.0)
    metrics.update(duration_s=round(duration, 3), fps=round(float(fps), 3), video_frames=float(stats.video_frames))
    if abs(duration - expected_duration_s) > tolerance_s + 1e-9:
        reasons.append(
            f"duration {duration:.2f} s differs from the script's {expected_duration_s:.2f} s "
            f"by more than {tolerance_s:g} s"
        )

    # Audio: present, audible, as long as the video, in sync.
    if afacts is None or stats.audio_frames == 0:
        reasons.append("no audio track: the video is silent (mux the voiceover/music as aac)")
    else:
        if afacts["codec"] not in DELIVERY_AUDIO_CODECS:
            reasons.append(f"audio codec is {afacts['codec']}; deliverables must be {'/'.join(DELIVERY_AUDIO_CODECS)}")
        assert stats.audio_first_s is not None and stats.audio_end_s is not None
        audio_duration = stats.audio_end_s - stats.audio_first_s
        offset = stats.audio_first_s - stats.video_first_s
        metrics.update(
            audio_duration_s=round(audio_duration, 3),
            av_offset_s=round(offset, 4),
            audio_peak_dbfs=round(stats.audio_peak_dbfs, 1),
        )
        if require_sound and stats.audio_peak_dbfs < SILENT_BELOW_DBFS:
            reasons.append(
                f"audio track is silent: its loudest sample is {stats.audio_peak_dbfs:.1f} dBFS "
                f"(below {SILENT_BELOW_DBFS:g} dBFS)"
            )
        if stats.audio_end_s < stats.video_end_s - tolerance_s:
            reasons.append(
                f"audio ends at {stats.audio_end_s:.2f} s, {stats.video_end_s - stats.audio_end_s:.2f} s before "
                f"the video ends at {stats.video_end_s:.2f} s"
            )
        frame_s = 1.0 / fps if fps else 0.0
        if frame_s and abs(offset) >= frame_s:
            direction = "after" if offset > 0 else "before"
            reasons.append(
                f"audio starts {abs(offset):.3f} s {direction} the video, more than one frame "
                f"({frame_s:.3f} s at {fps:g} fps)"
            )

    # Black and frozen stretches.
    black, freeze = stats.longest_black, stats.longest_freeze
    metrics["longest_black_s"] = round(black.length_s, 3) if black else 0.0
    metrics["longest_freeze_s"] = round(freeze.length_s, 3) if freeze else 0.0
    if black:
        metrics["longest_black_start_s"] = round(black.start_s, 3)
        if black.length_s > allow_black_s:
            reasons.append(
                f"black stretch of {black.length_s:.2f} s from {black.start_s:.2f} s is longer than the "
                f"{allow_black_s:g} s allowed"
            )
    if freeze:
        metrics["longest_freeze_start_s"] = round(freeze.start_s, 3)
        if freeze.length_s > allow_still_s:
            reasons.append(
                f"frozen picture for {freeze.length_s:.2f} s from {freeze.start_s:.2f} s is longer than the "
                f"{allow_still_s:g} s allowed (raise allow_still_s if the template intends a still)"
            )

    # Captions inside the safe area.
    if safe_area is not None:
        area = tuple(float(v) for v in safe_area)
        area_name = "safe area"
    else:
        area = (0.0, 0.0, float(width), float(height))
        area_name = "frame"
    reasons.extend(_caption_reasons(boxes, area, area_name))  # type: ignore[arg-type]
    metrics["caption_boxes"] = float(len(boxes))

    return QualityReport(passed=not reasons, reasons=reasons, metrics=metrics)
