"""The interface every avatar implements, and the mouth pose that drives it.

Lip-sync produces one :class:`MouthPose` per video frame (a *mouth track*); an avatar
turns a frame index and a pose into pixels. Keeping the two apart lets any audio
(TTS with phoneme timings, TTS without, a real co-host's microphone) drive any avatar
(the 2D rig or a photo avatar), and lets the live session measure render cost alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Avatar", "MouthPose", "REST"]


@dataclass(frozen=True, slots=True)
class MouthPose:
    """How the mouth looks in one frame, each in [0, 1].

    ``open``: jaw/lip opening (0 closed, 1 widest "a"). ``wide``: lip spread ("i", "e");
    ``round``: lip rounding/protrusion ("o", "u", "w"). ``closed_hard`` marks bilabial
    closure (p/b/m) so an avatar can press the lips together rather than merely relax them.
    """

    open: float = 0.0
    wide: float = 0.0
    round: float = 0.0
    closed_hard: bool = False


REST = MouthPose()


@runtime_checkable
class Avatar(Protocol):
    """Renders presenter frames. Deterministic: the same (index, pose) gives the same pixels.

    ``size`` is (width, height) of the frames it returns. ``frame`` returns an RGB uint8
    array of shape (height, width, 3); blinks, idle sway and gestures are derived from the
    frame index (and the avatar's seed), so the caller only supplies the mouth.
    ``fps`` is the frame rate the index counts in.
    """

    size: tuple[int, int]
    fps: int

    def frame(self, index: int, mouth: MouthPose) -> np.ndarray: ...
