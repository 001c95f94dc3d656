"""The live room's one media clock: an integer timeline that every audio chunk and video frame hangs on.

Why integers: peers that stamp audio and video from two float clocks (or from the wall
clock) drift apart overnight. Here the timeline is counted in *audio samples* at the
session's sample rate; video frame ``n`` starts at sample ``n * sample_rate // fps``,
and the audio chunk that goes with frame ``n`` is exactly the samples up to the start
of frame ``n + 1``. Audio PTS are sample counts, video PTS are frame counts, both
derived from the same integer, so A/V drift is zero by construction (the bench measures
it anyway, over a simulated hour).

:class:`Pacer` holds the timeline against the wall clock in real-time mode (it sleeps
until each tick's deadline and reports how late a tick is); in faster-than-real-time
mode (tests, benchmarks) it never sleeps. :class:`MediaPosition` is the one shared,
read-only view of "which tick has been emitted", given to outputs so they can count the
frames lost during an outage without holding a reference to the session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from adloom.core.errors import InputError

__all__ = ["AVTick", "FrameCounters", "MediaClock", "MediaPosition", "Pacer"]


@dataclass(frozen=True, slots=True)
class MediaClock:
    """Timeline maths for ``fps`` video frames and ``sample_rate`` audio samples per second."""

    fps: int = 25
    sample_rate: int = 48_000

    def __post_init__(self) -> None:
        if int(self.fps) != self.fps or not 1 <= self.fps <= 120:
            raise InputError(f"media clock: fps must be an integer in [1, 120], got {self.fps!r}", field="fps")
        if int(self.sample_rate) != self.sample_rate or not 8_000 <= self.sample_rate <= 192_000:
            raise InputError(
                f"media clock: sample_rate must be an integer in [8000, 192000], got {self.sample_rate!r}; "
                "use 48000 (AAC's native rate)",
                field="sample_rate",
            )

    def frame_start_sample(self, frame: int) -> int:
        """The audio sample (PTS in 1/sample_rate) at which video frame ``frame`` starts."""
        return frame * self.sample_rate // self.fps

    def chunk_samples(self, frame: int) -> int:
        """How many audio samples go with frame ``frame`` (constant when fps divides the rate)."""
        return self.frame_start_sample(frame + 1) - self.frame_start_sample(frame)

    def frame_at_sample(self, sample: int) -> int:
        """The video frame whose audio chunk contains ``sample`` (the inverse of :meth:`frame_start_sample`)."""
        return ((sample + 1) * self.fps - 1) // self.sample_rate

    def frame_time_s(self, frame: int) -> float:
        return frame / self.fps

    def sample_time_s(self, sample: int) -> float:
        return sample / self.sample_rate

    def frames_for(self, seconds: float) -> int:
        """Whole frames in ``seconds`` (rounded)."""
        return int(round(seconds * self.fps))


@dataclass(frozen=True, slots=True)
class AVTick:
    """One tick of the timeline: video frame ``frame`` and the audio chunk that plays under it.

    ``video`` is RGB uint8 (height, width, 3), PTS ``frame`` in 1/fps; ``audio`` is int16
    mono, PTS ``audio_pts`` in 1/sample_rate (== ``clock.frame_start_sample(frame)``).
    """

    frame: int
    audio_pts: int
    video: np.ndarray
    audio: np.ndarray


class MediaPosition:
    """Thread-safe counter of the ticks the session has emitted (a read-only view for outputs)."""

    def __init__(self) -> None:
        self._frame = 0
        self._lock = threading.Lock()

    @property
    def frame(self) -> int:
        with self._lock:
            return self._frame

    def advance_to(self, frame: int) -> None:
        with self._lock:
            self._frame = max(self._frame, frame)


@dataclass(slots=True)
class FrameCounters:
    """What happened to each tick's picture: rendered fresh, or the last frame repeated because the tick was late."""

    ticks: int = 0
    rendered: int = 0
    repeated: int = 0  # render skipped for a late tick; the previous frame filled its slot
    max_late_s: float = 0.0
    late_ticks: int = 0  # ticks that started more than one frame behind the wall clock


class Pacer:
    """Holds tick ``n`` to wall-clock time ``t0 + n / fps`` (real time) or runs flat out.

    ``wait(n)`` sleeps until tick ``n``'s deadline in real-time mode and returns how late
    the tick is in seconds (0 when on time). The timeline is never re-anchored: a late
    session catches up by skipping renders (the caller repeats frames), so the stream
    stays at a constant frame rate with no PTS gaps.
    """

    def __init__(
        self,
        fps: int,
        *,
        realtime: bool,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.fps = fps
        self.realtime = realtime
        self._now = now
        self._sleep = sleep
        self.t0: float | None = None

    def start(self) -> float:
        self.t0 = self._now()
        return self.t0

    def deadline(self, frame: int) -> float:
        if self.t0 is None:
            raise RuntimeError("Pacer.start() must be called before deadline()")
        return self.t0 + frame / self.fps

    def wait(self, frame: int, stop: threading.Event | None = None) -> float:
        """Block until tick ``frame`` is due (real time only); returns lateness in seconds."""
        if self.t0 is None:
            self.start()
        if not self.realtime:
            return 0.0
        due = self.deadline(frame)
        delay = due - self._now()
        if delay > 0:
            if stop is not None:
                stop.wait(delay)
            else:
                self._sleep(delay)
            return 0.0
        return -delay
