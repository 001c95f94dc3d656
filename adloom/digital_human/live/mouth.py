"""The session's mouth-track function: a spoken line → one :class:`MouthPose` per video frame.

The default is the lip-sync layer's :func:`adloom.digital_human.avatar.visemes.mouth_track`
(visemes from espeak-ng phoneme timings, misaki alignment for Kokoro, audio-driven
otherwise). :func:`loudness_track` is a small loudness → jaw-opening mapping kept here as
the fallback when that layer cannot be imported or fails on a line, so a lip-sync bug
degrades the mouth instead of stopping the stream. A session takes any
``MouthTrack`` callable, so a co-host's microphone or a test can drive the avatar too.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

from adloom.digital_human.avatar.base import REST, MouthPose
from adloom.digital_human.voice.base import LineAudio

__all__ = ["MouthTrack", "default_mouth_track", "loudness_track"]

log = logging.getLogger(__name__)

#: (line, fps) → one pose per frame from the line's first sample.
MouthTrack = Callable[[LineAudio, int], list[MouthPose]]


def loudness_track(line: LineAudio, fps: int, *, floor_db: float = -45.0, full_db: float = -12.0) -> list[MouthPose]:
    """Jaw opening from each frame's RMS level (dBFS), smoothed (fast attack, slower release); shut on silence."""
    x = np.asarray(line.samples, dtype=np.float64)
    n_frames = math.ceil(len(x) * fps / line.sample_rate)
    poses: list[MouthPose] = []
    state = 0.0
    for k in range(n_frames):
        a, b = k * line.sample_rate // fps, min(len(x), (k + 1) * line.sample_rate // fps)
        rms = math.sqrt(float(np.mean(x[a:b] ** 2))) if b > a else 0.0
        level = 20 * math.log10(max(rms, 1e-9))
        target = min(1.0, max(0.0, (level - floor_db) / (full_db - floor_db)))
        state += (0.7 if target > state else 0.45) * (target - state)
        poses.append(REST if state < 0.03 else MouthPose(open=round(state, 4)))
    return poses


def default_mouth_track(line: LineAudio, fps: int) -> list[MouthPose]:
    """The lip-sync layer's track for ``line``; :func:`loudness_track` if that layer is missing or fails."""
    try:
        from adloom.digital_human.avatar.visemes import mouth_track
    except ImportError as exc:  # the lip-sync layer is optional for the session
        log.debug("lip-sync layer unavailable (%s); using the loudness mouth", exc)
        return loudness_track(line, fps)
    try:
        return mouth_track(line, fps)
    except Exception as exc:  # noqa: BLE001 - a lip-sync failure must not stop a live stream
        log.warning("lip-sync failed on %r (%s); using the loudness mouth for this line", line.text[:40], exc)
        return loudness_track(line, fps)
