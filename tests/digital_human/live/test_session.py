"""The live session end to end with real espeak-ng and ffmpeg: interruption at a word boundary,
resumption from the next word, constant 25 fps through render hiccups, and its error paths."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from live_helpers import BarAvatar, LoopSource, needs_espeak, read_stream

from adloom.core.errors import InputError
from adloom.core.types import Language
from adloom.digital_human.avatar.base import REST, MouthPose
from adloom.digital_human.live.outputs import OutputSpec
from adloom.digital_human.live.session import LiveConfig, LiveSession, clause_end, loudness_gain
from adloom.digital_human.live.types import Interjection, Spoken
from adloom.digital_human.live.words import join_words, split_words, word_ends
from adloom.digital_human.voice import get_tts
from adloom.digital_human.voice.base import LineAudio
from adloom.digital_human.voice.loudness import integrated_loudness

# --------------------------------------------------------------------------- words


def test_split_and_join_words_in_english_and_chinese() -> None:
    en = "Only nineteen dollars, today!"
    assert split_words(en) == ["Only", "nineteen", "dollars,", "today!"]
    assert join_words(split_words(en)) == en
    zh = "这款 BreezeBot 很安静，只要99元。"
    words = split_words(zh)
    assert words == ["这", "款", "BreezeBot", "很", "安", "静，", "只", "要", "99", "元。"]
    assert join_words(words[3:]) == "很安静，只要99元。"
    assert join_words(words).replace(" ", "") == zh.replace(" ", "")


def test_word_ends_snap_to_the_silences_between_words() -> None:
    rate = 16_000
    rng = np.random.default_rng(0)
    # three "words" of noise with 80 ms gaps; lengths 0.30 s, 0.50 s, 0.20 s
    parts, gaps = [], []
    for length in (0.30, 0.50, 0.20):
        parts.append(0.3 * rng.standard_normal(int(length * rate)))
        gaps.append(sum(len(p) for p in parts))  # where the silence after this word starts
        parts.append(np.zeros(80 * rate // 1000))
    signal = np.concatenate(parts[:-1]).astype(np.float32)
    ends = word_ends(signal, rate, ["abc", "abcdef", "ab"])
    assert ends[-1] == len(signal) and list(ends) == sorted(ends)
    for end, gap_start in zip(ends[:2], gaps[:2], strict=True):
        assert gap_start <= end <= gap_start + 80 * rate // 1000, (end, gap_start)


def test_loudness_gain_reaches_the_target_without_clipping() -> None:
    rng = np.random.default_rng(1)
    quiet = (0.01 * rng.standard_normal(48_000)).astype(np.float32)
    gain = loudness_gain(quiet, 48_000, -18.0)
    assert integrated_loudness(quiet * gain, 48_000) == pytest.approx(-18.0, abs=0.1)
    spiky = quiet.copy()
    spiky[100] = 0.9
    assert np.abs(spiky * loudness_gain(spiky, 48_000, -3.0)).max() <= 0.98 + 1e-6
    assert loudness_gain(np.zeros(100, np.float32), 48_000, -18.0) == 1.0


def test_clause_end_cuts_after_punctuation_once_long_enough() -> None:
    words = split_words("Line 1. This steel bottle keeps water cold for a whole day, only nineteen dollars.")
    first = clause_end(words, 0)
    assert words[first - 1] == "day," and clause_end(words, first) == len(words)
    assert clause_end(split_words("Hi!"), 0) == 1
    zh = split_words("这款保温杯很好用，二十四小时保冷，只要九十九元。")
    cut = clause_end(zh, 0, min_units=4)
    assert zh[cut - 1].endswith("，") and cut < len(zh)
    long = split_words(" ".join(["word"] * 40))
    assert clause_end(long, 0) == 16  # no punctuation: a hard cut at max_units


# --------------------------------------------------------------------------- interruption


class TripwireAvatar(BarAvatar):
    """Records the mouth poses it is asked for, and runs ``at[frame]`` when that frame is rendered."""

    def __init__(self, **kw: int) -> None:
        super().__init__(**kw)
        self.at: dict[int, object] = {}
        self.poses: list[MouthPose] = []

    def frame(self, index: int, mouth: MouthPose) -> np.ndarray:
        self.poses.append(mouth)
        action = self.at.pop(index, None)
        if callable(action):
            action()
        return super().frame(index, mouth)


class RecordingTTS:
    """espeak-ng, remembering every text it was asked to speak."""

    name = "espeak"

    def __init__(self) -> None:
        self.inner = get_tts("espeak")
        self.texts: list[str] = []

    def voices(self, language: Language | None = None) -> list[str]:
        return self.inner.voices(language)

    def synthesize(self, text: str, *, language: Language, voice: str | None = None, speed: float = 1.0) -> LineAudio:
        self.texts.append(text)
        return self.inner.synthesize(text, language=language, voice=voice, speed=speed)


@needs_espeak
def test_interjection_cuts_at_the_next_word_boundary_then_the_segment_resumes(tmp_path: Path) -> None:
    source = LoopSource()
    avatar = TripwireAvatar()
    tts = RecordingTTS()
    events: list[tuple[Spoken, Interjection | None]] = []
    config = LiveConfig(realtime=False, max_frames=25 * 16, preset="ultrafast")
    session = LiveSession(
        source,
        avatar,
        [OutputSpec.mp4(tmp_path / "rec.mp4")],
        config,
        tts=[tts],
        on_spoken=lambda r, i: events.append((r, i)),
    )
    answer = Interjection("Hi Anna, yes, it is dishwasher safe.", viewer="Anna", comment_id="c42", priority=1)
    avatar.at[40] = lambda: session.interject(answer)  # 1.6 s into the first line
    session.start()
    assert session.wait(60)
    status = session.stop()
    assert status.error == ""

    total = len(split_words(source.text.format(i=1)))
    first = [r for r in source.reports if r.segment_id == "p1/s1"]
    cut, resumed = first[0], first[1]
    assert not cut.completed and 0 < cut.words_spoken < total
    assert resumed.completed and resumed.words_spoken == total
    # order on air: cut line → the answer → the rest of the line
    order = [(r.segment_id, i is not None) for r, i in events]
    assert order[:3] == [("p1/s1", False), ("answer:c42", True), ("p1/s1", False)]
    assert events[1][1] is answer and events[1][0].completed
    assert cut.pts_end_s < events[1][0].pts_end_s < resumed.pts_end_s
    # the rest was re-synthesised from the next word, not from the start (clause by clause)
    words = split_words(source.text.format(i=1))
    resumed_from_cut = [t for t in tts.texts if t.startswith(words[cut.words_spoken])]
    assert resumed_from_cut and join_words(words[cut.words_spoken :]).startswith(resumed_from_cut[0])
    # it stopped within the word being spoken at arrival (on the media clock)
    (latency,) = session.latencies()
    assert latency.comment_id == "c42" and latency.stop_media_s is not None
    assert 0 <= latency.stop_media_s < 0.8
    assert latency.first_audio_media_s is not None and latency.first_audio_media_s >= latency.stop_media_s
    assert status.segments_cut == 1 and status.interjections_spoken == 1
    # the mouth moved while speaking and rests in the pauses
    opens = np.array([p.open for p in avatar.poses])
    assert opens.max() > 0.3 and (opens == 0).sum() > 5
    assert read_stream(tmp_path / "rec.mp4").frames == 25 * 16


class HiccupAvatar(BarAvatar):
    """Every 10th frame takes 150 ms to render (a GC pause, a busy core)."""

    def frame(self, index: int, mouth: MouthPose) -> np.ndarray:
        if index % 10 == 5:
            time.sleep(0.15)
        return super().frame(index, mouth)


@needs_espeak
def test_render_hiccups_repeat_frames_and_the_output_stays_25_fps(tmp_path: Path) -> None:
    config = LiveConfig(realtime=True, max_frames=75, preset="ultrafast")
    session = LiveSession(LoopSource(), HiccupAvatar(), [OutputSpec.mp4(tmp_path / "rec.mp4")], config, tts=["espeak"])
    session.start()
    assert session.wait(30)
    status = session.stop()
    f = status.frames
    assert f.ticks == 75 and f.repeated > 0 and f.rendered + f.repeated == 75 and f.late_ticks >= f.repeated
    got = read_stream(tmp_path / "rec.mp4")
    assert got.frames == 75 and abs(got.fps_after_first - 25) < 0.1


@needs_espeak
def test_stop_reports_the_partly_spoken_segment_and_finalises_outputs(tmp_path: Path) -> None:
    source = LoopSource()
    session = LiveSession(
        source, BarAvatar(), [OutputSpec.mp4(tmp_path / "a.mp4"), OutputSpec.hls(tmp_path / "hls")],
        LiveConfig(realtime=True, preset="ultrafast"), tts=["espeak"],
    )  # fmt: skip
    session.start()
    deadline = time.monotonic() + 20
    while session.status().frame < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    running = session.status()
    assert running.state == "running" and running.speaking == "p1/s1" and running.speaking_kind == "product"
    status = session.stop()
    assert status.state == "stopped"
    last = source.reports[-1]
    assert last.segment_id == "p1/s1" and not last.completed and last.words_spoken < len(split_words(source.text))
    assert source.served <= 1 + session.config.lookahead  # the lookahead is bounded
    assert read_stream(tmp_path / "a.mp4").frames == status.frame
    assert (tmp_path / "hls" / "index.m3u8").is_file()
    with pytest.raises(InputError):
        session.start()


def test_idle_frames_have_a_resting_mouth(tmp_path: Path) -> None:
    class Silent:
        name = "silent"

        def voices(self, language: Language | None = None) -> list[str]:
            return []

        def synthesize(self, text: str, **kw: object) -> LineAudio:
            return LineAudio(text, np.zeros(2400, np.float32), 24_000, "silent", "none")

    avatar = TripwireAvatar(width=64, height=64)
    session = LiveSession(
        LoopSource(), avatar, [OutputSpec.null()], LiveConfig(realtime=False, max_frames=50), tts=[Silent()]
    )
    session.start()
    assert session.wait(30)
    session.stop()
    assert avatar.poses and all(p == REST for p in avatar.poses)


# --------------------------------------------------------------------------- errors


def test_wrong_inputs_are_refused_with_the_fix_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="fps"):
        LiveSession(LoopSource(), BarAvatar(fps=30), [OutputSpec.null()])
    with pytest.raises(InputError, match="RTMP URL"):
        OutputSpec.rtmp("http://example.com/live")
    with pytest.raises(InputError, match="at least one output"):
        LiveSession(LoopSource(), BarAvatar(), []).start()
    with pytest.raises(InputError, match="even"):
        LiveSession(LoopSource(), BarAvatar(width=255), [OutputSpec.null()])
    with pytest.raises(InputError, match="source"):
        LiveSession(object(), BarAvatar(), [OutputSpec.null()])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="max_interjections"):
        LiveConfig(max_interjections=0)
    session = LiveSession(LoopSource(), BarAvatar(), [OutputSpec.null()])
    with pytest.raises(InputError, match="text"):
        session.interject(Interjection("   "))


def test_an_avatar_returning_the_wrong_shape_is_refused_at_start_or_fails_the_session() -> None:
    class Wrong(BarAvatar):
        def frame(self, index: int, mouth: MouthPose) -> np.ndarray:
            return np.zeros((10, 10, 3), np.uint8)

    class WrongLater(BarAvatar):
        def frame(self, index: int, mouth: MouthPose) -> np.ndarray:
            return super().frame(index, mouth) if index < 5 else np.zeros((10, 10, 3), np.uint8)

    class Quiet:
        name = "quiet"

        def voices(self, language: Language | None = None) -> list[str]:
            return []

        def synthesize(self, text: str, **kw: object) -> LineAudio:
            return LineAudio(text, np.zeros(2400, np.float32), 24_000, "quiet", "none")

    with pytest.raises(InputError, match=r"\(10, 10, 3\)"):
        LiveSession(LoopSource(), Wrong(), [OutputSpec.null()], LiveConfig(realtime=False), tts=[Quiet()]).start()
    session = LiveSession(LoopSource(), WrongLater(), [OutputSpec.null()], LiveConfig(realtime=False), tts=[Quiet()])
    session.start()
    assert session.wait(30)
    status = session.stop()
    assert status.state == "failed" and "(10, 10, 3)" in status.error


@needs_espeak
def test_a_long_answer_is_spoken_clause_by_clause_and_priorities_are_kept() -> None:
    source = LoopSource()
    avatar = TripwireAvatar(width=64, height=64)
    tts = RecordingTTS()
    events: list[tuple[Spoken, Interjection | None]] = []
    session = LiveSession(
        source, avatar, [OutputSpec.null()], LiveConfig(realtime=False, max_frames=25 * 24), tts=[tts],
        on_spoken=lambda r, i: events.append((r, i)),
    )  # fmt: skip
    long_answer = Interjection(
        "Hi Bo, the bottle holds seven hundred millilitres, the lid is leak proof, "
        "it fits a car cup holder, and it comes in three colours.",
        comment_id="long",
    )
    low, high = Interjection("Nice stream!", comment_id="low"), Interjection("Price?", comment_id="high", priority=5)
    avatar.at[30] = lambda: [session.interject(x) for x in (long_answer, low, high)]
    session.start()
    assert session.wait(60)
    status = session.stop()
    order = [i.comment_id for _, i in events if i is not None]
    assert sorted(order) == ["high", "long", "low"] and order.index("high") < order.index("low")
    assert all(r.completed and r.words_spoken == len(split_words(i.text)) for r, i in events if i is not None)
    clauses = [t for t in tts.texts if t in long_answer.text]
    assert len(clauses) >= 3 and join_words(split_words(" ".join(clauses))) == long_answer.text
    assert status.interjections_spoken == 3 and status.segments_cut == 1


@needs_espeak
def test_stop_between_clauses_reports_how_far_the_segment_got() -> None:
    source = LoopSource()
    config = LiveConfig(realtime=True, clause_gap_s=2.0, preset="ultrafast")
    session = LiveSession(source, BarAvatar(width=64, height=64), [OutputSpec.null()], config, tts=["espeak"])
    first_clause = clause_end(split_words(source.text.format(i=1)), 0)
    session.start()
    deadline = time.monotonic() + 30
    seen_speech = False
    while time.monotonic() < deadline:
        speaking = session.status().speaking
        seen_speech = seen_speech or speaking is not None
        if seen_speech and speaking is None:  # the 2 s pause after the first clause
            break
        time.sleep(0.02)
    session.stop()
    last = source.reports[-1]
    assert last.segment_id == "p1/s1" and not last.completed and last.words_spoken == first_clause


def test_a_restarted_room_does_not_overwrite_its_recording(tmp_path: Path) -> None:
    class Quiet:
        name = "quiet"

        def voices(self, language: Language | None = None) -> list[str]:
            return []

        def synthesize(self, text: str, **kw: object) -> LineAudio:
            return LineAudio(text, np.zeros(2400, np.float32), 24_000, "quiet", "none")

    target = tmp_path / "room.mp4"
    names = []
    for frames in (30, 20):
        config = LiveConfig(realtime=False, max_frames=frames, preset="ultrafast")
        session = LiveSession(
            LoopSource(), BarAvatar(width=64, height=64), [OutputSpec.mp4(target)], config, tts=[Quiet()]
        )
        session.start()
        assert session.wait(30)
        names.append(session.stop().outputs[0].name)
    assert names == [f"mp4:{target}", f"mp4:{tmp_path / 'room-2.mp4'}"]
    assert read_stream(target).frames == 30 and read_stream(tmp_path / "room-2.mp4").frames == 20
