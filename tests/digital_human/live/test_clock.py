"""The media clock: one integer timeline for audio samples and video frames, and real-time pacing."""

from __future__ import annotations

import threading

import pytest

from adloom.core.errors import InputError
from adloom.digital_human.live.clock import MediaClock, MediaPosition, Pacer


def test_audio_chunks_tile_the_timeline_exactly_for_an_hour() -> None:
    clock = MediaClock(25, 48_000)
    frames = 25 * 3600
    total = sum(clock.chunk_samples(n) for n in range(frames))
    assert total == 48_000 * 3600  # an hour of audio under an hour of video: zero drift by construction
    assert clock.chunk_samples(0) == 1920 and {clock.chunk_samples(n) for n in range(100)} == {1920}
    assert clock.frame_start_sample(frames) == total


@pytest.mark.parametrize(("fps", "rate"), [(24, 44_100), (30, 44_100), (25, 22_050), (60, 48_000)])
def test_uneven_rates_alternate_chunk_sizes_without_accumulating_error(fps: int, rate: int) -> None:
    clock = MediaClock(fps, rate)
    sizes = [clock.chunk_samples(n) for n in range(fps * 10)]
    assert sum(sizes) == rate * 10
    assert max(sizes) - min(sizes) <= 1
    for n in range(0, fps * 10, 7):  # every frame's audio starts within one sample of its exact time
        assert abs(clock.frame_start_sample(n) - n * rate / fps) < 1
        assert clock.frame_at_sample(clock.frame_start_sample(n)) == n


def test_frame_and_sample_times() -> None:
    clock = MediaClock()
    assert clock.frame_time_s(50) == 2.0 and clock.sample_time_s(96_000) == 2.0
    assert clock.frames_for(0.35) == 9 and clock.frame_at_sample(1919) == 0 and clock.frame_at_sample(1920) == 1


@pytest.mark.parametrize(("fps", "rate"), [(0, 48_000), (25.5, 48_000), (25, 1000), (25, 48_000.5)])
def test_bad_rates_are_refused_with_the_field_named(fps: float, rate: float) -> None:
    with pytest.raises(InputError) as info:
        MediaClock(fps, rate)  # type: ignore[arg-type]
    assert info.value.field in {"fps", "sample_rate"}


class FakeTime:
    """A wall clock the test advances; sleep() advances it."""

    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_pacer_sleeps_to_each_deadline_and_reports_lateness() -> None:
    fake = FakeTime()
    pacer = Pacer(25, realtime=True, now=fake.now, sleep=fake.sleep)
    pacer.start()
    assert pacer.wait(0) == 0.0 and fake.slept == []
    assert pacer.wait(1) == 0.0 and fake.slept == [pytest.approx(0.04)]
    fake.t += 0.5  # a render hiccup of half a second
    late = pacer.wait(2)
    assert late == pytest.approx(0.54 - 0.08)
    assert pacer.deadline(25) == pytest.approx(101.0)  # never re-anchored: the timeline stays on t0


def test_pacer_faster_than_real_time_never_sleeps() -> None:
    fake = FakeTime()
    pacer = Pacer(25, realtime=False, now=fake.now, sleep=fake.sleep)
    pacer.start()
    assert all(pacer.wait(n) == 0.0 for n in range(1000)) and fake.slept == []


def test_pacer_wait_returns_early_when_stopped() -> None:
    pacer = Pacer(1, realtime=True)
    pacer.start()
    stop = threading.Event()
    stop.set()
    assert pacer.wait(3600, stop) == 0.0  # an hour away, but the stop event ends the wait at once


def test_media_position_only_moves_forward() -> None:
    position = MediaPosition()
    position.advance_to(10)
    position.advance_to(5)
    assert position.frame == 10
