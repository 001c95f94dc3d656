"""Faults a 24/7 room meets, each with the real parts: nginx killed and restarted, a TTS backend
that raises, and a comment flood. (The LLM timing out is the interaction layer's test.)"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from live_helpers import BarAvatar, LoopSource, av_offsets, free_port, needs_espeak, read_stream

from adloom.core.errors import BackendUnavailableError
from adloom.core.types import Language
from adloom.digital_human.live.outputs import OutputSpec
from adloom.digital_human.live.session import LiveConfig, LiveSession
from adloom.digital_human.live.types import Interjection, Spoken
from adloom.digital_human.voice.base import LineAudio


def _wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@needs_espeak
def test_rtmp_server_killed_and_restarted_mid_stream_resumes(rtmp_server, tmp_path: Path) -> None:
    config = LiveConfig(
        realtime=True, preset="ultrafast", rtmp_backoff_s=0.25, rtmp_max_backoff_s=1.0, sync_mark_every_s=1.0
    )
    outputs = [OutputSpec.rtmp(rtmp_server.url("room")), OutputSpec.mp4(tmp_path / "rec.mp4")]
    session = LiveSession(LoopSource(), BarAvatar(), outputs, config, tts=["espeak"])
    session.start()
    try:
        rtmp = lambda: session.status().outputs[0]  # noqa: E731
        assert _wait_for(lambda: session.status().frame >= 75 and rtmp().bytes_written > 0, 20)
        frame_at_kill = session.status().frame
        rtmp_server.kill()
        assert _wait_for(lambda: rtmp().state == "down", 10), rtmp()
        time.sleep(1.5)  # the server stays away; retries fail with "connection refused" meanwhile
        frame_at_restart = session.status().frame
        rtmp_server.start()
        assert _wait_for(lambda: rtmp().reconnects >= 1 and rtmp().state == "up", 15), rtmp()
        reconnected_at = session.status().frame
        assert _wait_for(lambda: session.status().frame >= reconnected_at + 100, 20)  # 4 s on the new server
    finally:
        status = session.stop()
    rtmp_server.stop()

    assert status.error == "" and status.state == "stopped"
    assert frame_at_restart > frame_at_kill  # the media clock kept running through the outage
    out = status.outputs[0]
    assert out.reconnects >= 1 and out.frames_dropped > 0 and out.bytes_dropped > 0
    assert "ffmpeg" in out.last_error
    # the restarted server received a proper stream
    after = rtmp_server.recordings(generation=2)
    assert len(after) == 1
    got = read_stream(after[0])
    assert (got.video_codec, got.audio_codec) == ("h264", "aac")
    assert got.frames >= 50 and abs(got.fps - 25.0) <= 0.1
    offsets = av_offsets(got)  # A/V sync survived the reconnection (sync marks, one a second)
    assert len(offsets) >= 2 and max(abs(o) for o in offsets) < 0.040, offsets
    before = read_stream(rtmp_server.recordings(generation=1)[0])
    assert before.frames >= 50 and before.frames + got.frames < status.frame  # the outage's frames are gone
    # the local recording was not touched by the outage: every tick is in it
    mp4 = read_stream(tmp_path / "rec.mp4")
    assert mp4.frames == status.frame
    assert status.outputs[1].bytes_dropped == 0


class RaisingTTS:
    """A primary backend that breaks (as Kokoro does when its model is missing or onnxruntime fails)."""

    name = "broken"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def voices(self, language: Language | None = None) -> list[str]:
        return ["x"]

    def synthesize(self, text: str, *, language: Language, voice: str | None = None, speed: float = 1.0) -> LineAudio:
        self.calls += 1
        raise self.exc


@needs_espeak
def test_tts_backend_raising_falls_back_to_espeak_and_the_stream_continues(tmp_path: Path) -> None:
    broken = RaisingTTS(RuntimeError("onnxruntime: session crashed"))
    config = LiveConfig(realtime=False, max_frames=300, primary_retry_s=0.0, preset="ultrafast")
    source = LoopSource()
    session = LiveSession(source, BarAvatar(), [OutputSpec.mp4(tmp_path / "rec.mp4")], config, tts=[broken, "espeak"])
    session.start()
    assert session.wait(60)
    status = session.stop()

    assert status.error == "" and status.frame == 300
    assert broken.calls >= 3  # the warm-up in start(), then retried on each clause (primary_retry_s=0)
    assert status.tts_fallbacks == broken.calls - 1 and status.tts_failures == 0
    assert status.backend == "espeak"
    assert any(r.completed for r in source.reports)
    got = read_stream(tmp_path / "rec.mp4")
    assert got.frames == 300
    assert np.sqrt(np.mean(got.audio**2)) > 0.01  # the fallback voice is audible


def test_every_tts_backend_raising_leaves_a_silent_but_running_stream(tmp_path: Path) -> None:
    first, second = RaisingTTS(BackendUnavailableError("kokoro missing")), RaisingTTS(RuntimeError("espeak gone"))
    config = LiveConfig(realtime=False, max_frames=100, primary_retry_s=0.0, preset="ultrafast")
    session = LiveSession(
        LoopSource(), BarAvatar(), [OutputSpec.mp4(tmp_path / "rec.mp4")], config, tts=[first, second]
    )
    session.start()
    assert session.wait(60)
    status = session.stop()
    assert status.frame == 100 and status.error == ""
    assert status.tts_failures >= 1 and status.idle_ticks == 100
    got = read_stream(tmp_path / "rec.mp4")
    assert got.frames == 100 and np.abs(got.audio).max() < 1e-3


@needs_espeak
def test_a_thousand_comments_in_a_second_are_capped_and_the_script_keeps_going() -> None:
    cap = 8
    config = LiveConfig(
        realtime=False, max_frames=25 * 90, max_interjections=cap, max_consecutive_interjections=2, preset="ultrafast"
    )
    source = LoopSource(text="Line {i}. Cold water all day.")
    events: list[tuple[str, Spoken]] = []
    session = LiveSession(
        source,
        BarAvatar(width=64, height=64),
        [OutputSpec.null()],
        config,
        tts=["espeak"],
        on_spoken=lambda report, item: events.append(("answer" if item else "script", report)),
    )
    session.start()
    assert _wait_for(lambda: session.status().segments_completed >= 1, 30)
    accepted = 0
    max_queued = 0
    t0 = time.monotonic()
    for i in range(1000):
        accepted += session.interject(Interjection(f"Thanks viewer {i}!", viewer=f"v{i}", comment_id=f"c{i}"))
        max_queued = max(max_queued, session.status().interjections.length)
    flood_s = time.monotonic() - t0
    assert session.wait(120)
    status = session.stop()

    q = status.interjections
    assert flood_s < 5  # sanity: the calls did not block (each is a non-blocking put)
    assert max_queued <= cap and q.max_length <= cap
    assert q.put + q.dropped == 1000 and q.dropped >= 900  # only what the presenter took meanwhile got in
    assert accepted == q.put
    # the script kept going through the flood: answers came in runs of at most 2, script between them
    kinds = [kind for kind, _ in events]
    first_answer = kinds.index("answer")
    runs, run = [], 0
    for kind in kinds[first_answer:]:
        run = run + 1 if kind == "answer" else 0
        runs.append(run)
    assert max(runs) <= 2
    script_after_flood = [r for kind, r in events[first_answer:] if kind == "script"]
    assert sum(r.completed for r in script_after_flood) >= 2
    assert status.interjections_spoken >= 3


def test_rtmp_server_absent_from_the_start_backs_off_and_the_recording_is_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk-FAULTS-e41c07"
    url = f"rtmp://127.0.0.1:{free_port()}/live/{key}"  # nothing listens there
    config = LiveConfig(
        realtime=True, max_frames=100, preset="ultrafast", rtmp_backoff_s=0.2, rtmp_max_backoff_s=0.8, warm_tts=False
    )
    quiet = RaisingTTS(RuntimeError("no voice needed"))
    outputs = [OutputSpec.rtmp(url), OutputSpec.mp4(tmp_path / "rec.mp4")]
    session = LiveSession(LoopSource(), BarAvatar(width=64, height=64), outputs, config, tts=[quiet])
    session.start()
    assert session.wait(30)
    status = session.stop()
    rtmp, mp4 = status.outputs
    # 4 s: back-off 0.2, 0.4, 0.8, 0.8 ... s between attempts, so a handful of attempts, not hundreds
    assert 2 <= rtmp.attempts <= 10, rtmp
    assert rtmp.frames_dropped > 0 and rtmp.bytes_written >= 0 and "ffmpeg" in rtmp.last_error
    # the stream key is masked in the output's name, its last error and the reconnect warnings
    assert rtmp.name.endswith("/live/***") and key not in rtmp.last_error
    warnings = [r.getMessage() for r in caplog.records if "live output" in r.getMessage()]
    assert warnings and not any(key in w for w in warnings)
    assert mp4.state == "closed" and mp4.bytes_dropped == 0
    assert read_stream(tmp_path / "rec.mp4").frames == 100
