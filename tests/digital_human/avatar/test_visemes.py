"""Phoneme → viseme tables, the coarticulated mouth track, and Kokoro's per-phrase alignment.

espeak-ng and Kokoro run for real where installed (skipped with the install command where not).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.settings import get_settings
from adloom.core.types import Language
from adloom.digital_human.avatar.base import REST
from adloom.digital_human.avatar.visemes import (
    VISEME_POSES,
    VISEMES,
    align_phonemes,
    misaki_units,
    mouth_track,
    phoneme_visemes,
    track_array,
    track_from_timings,
)
from adloom.digital_human.voice.base import LineAudio
from adloom.digital_human.voice.espeak import EspeakTTS

EN = "Hello, buy the thermos now. It keeps your coffee hot for twenty four hours, only ninety nine!"
ZH = "这款保温杯，二十四小时保温，只要九十九元！欢迎来到直播间，吃饭，绿色，日常。"
MODELS = get_settings().models


def _espeak_ready() -> bool:
    try:
        EspeakTTS().voices()
    except BackendUnavailableError:
        return False
    return True


def _kokoro_ready() -> bool:
    folder = MODELS / "kokoro"
    return (folder / "kokoro-v1.0.int8.onnx").is_file() and (folder / "voices" / "af_heart.bin").is_file()


needs_espeak = pytest.mark.skipif(not _espeak_ready(), reason="espeak-ng missing: apt-get install -y espeak-ng")
needs_kokoro = pytest.mark.skipif(not _kokoro_ready(), reason="Kokoro not assembled: adloom setup --only kokoro,voices")


@pytest.fixture
def real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADLOOM_MODEL_DIR", str(MODELS))
    get_settings.cache_clear()


def _envelope(line: LineAudio, n: int, fps: int = 25) -> np.ndarray:
    """RMS of each frame's interval centred on i / fps (what the track shows at frame i)."""
    x, sr = line.samples.astype(np.float64), line.sample_rate
    out = np.zeros(n)
    for i in range(n):
        a, b = max(0, int((i - 0.5) * sr / fps)), min(len(x), int((i + 0.5) * sr / fps))
        out[i] = math.sqrt(float(np.mean(x[a:b] ** 2))) if b > a else 0.0
    return out


# --------------------------------------------------------------------------- tables


def test_tables_cover_every_viseme_and_classic_phonemes() -> None:
    assert set(VISEME_POSES) == set(VISEMES)
    assert VISEME_POSES["PP"].closed_hard and VISEME_POSES["SIL"] == REST
    assert phoneme_visemes("p") == ["PP"] and phoneme_visemes("m") == ["PP"]
    assert phoneme_visemes("aɪ") == ["AA", "I"]
    assert phoneme_visemes("ˈɑː") == ["AA"]  # stress and length marks carry no shape
    assert phoneme_visemes("tʃ") == ["CH"] and phoneme_visemes("θ") == ["TH"]
    assert phoneme_visemes("_") == ["SIL"] and phoneme_visemes("") == ["SIL"]
    # espeak's cmn-latn-pinyin notation: ts. = tʂ, ts.h = tʂʰ, i. = apical vowel, o- = ɤ, kh = kʰ
    assert phoneme_visemes("ts.h") == ["CH"] and phoneme_visemes("i.") == ["I"]
    assert phoneme_visemes("o-") == ["E"] and phoneme_visemes("kh") == ["KK"]
    assert phoneme_visemes("iou") == ["I", "O", "U"]
    # misaki: capitals are English diphthongs, ꭧ is the Mandarin retroflex affricate, arrows are tones
    assert phoneme_visemes("A") == ["E", "I"] and phoneme_visemes("W") == ["AA", "U"]
    assert phoneme_visemes("ꭧ") == ["CH"] and phoneme_visemes("a↘") == ["AA"]
    # open vowels open wider than close ones; rounded ones are round
    assert VISEME_POSES["AA"].open > VISEME_POSES["I"].open and VISEME_POSES["U"].round > VISEME_POSES["I"].round
    with pytest.raises(InputError, match="no viseme"):
        phoneme_visemes("☃", strict=True)
    assert phoneme_visemes("☃") == ["DD"]  # lenient: a neutral, slightly open mouth


@needs_espeak
@pytest.mark.parametrize(("text", "language"), [(EN, Language.en), (ZH, Language.zh)])
def test_every_phoneme_espeak_reports_has_a_viseme(text: str, language: Language) -> None:
    line = EspeakTTS().synthesize(text, language=language)
    symbols = {p for p, _ in line.phonemes or []}
    assert len(symbols) > 15
    for symbol in symbols:
        phoneme_visemes(symbol, strict=True)  # raises naming any symbol not covered


def test_every_character_misaki_emits_has_a_viseme() -> None:
    import misaki.espeak as misaki  # the voice extra, always installed by `make install`
    from misaki.zh import ZHG2P

    english = misaki.EspeakG2P(language="en-us")(EN)[0] + misaki.EspeakG2P(language="en-gb")(EN)[0]
    chinese = ZHG2P()(ZH)[0]
    for ch in set(english + chinese):
        if ch.isspace() or ch in '.,!?;:…—“”"()':
            continue
        phoneme_visemes(ch, strict=True)
    units = misaki_units(english)
    assert units and all(d > 0 for u, d in units if u != "_")
    assert ("_", 0.0) in units  # the comma/full stop became phrase breaks


# --------------------------------------------------------------------------- the track


def _arr(phonemes, duration, fps=25):
    return track_array(track_from_timings(phonemes, duration, fps))


def test_track_has_one_pose_per_frame_and_is_deterministic() -> None:
    events = [("h", 0.0), ("ɛ", 0.08), ("l", 0.2), ("oʊ", 0.27)]
    a = track_from_timings(events, 0.5, 25)
    assert len(a) == 13 and track_from_timings(events, 0.5, 25) == a
    assert len(track_from_timings(events, 0.5, 30)) == 15
    assert track_from_timings([], 0.0) == []
    with pytest.raises(InputError):
        track_from_timings(events, 0.5, 0)


def test_mouth_closes_on_pauses_and_outside_speech() -> None:
    events = [("m", 0.0), ("ɑː", 0.08), ("_", 0.4), ("p", 1.2), ("ɑː", 1.28), ("_", 1.6)]
    t = _arr(events, 2.2)
    times = np.arange(len(t)) / 25
    vowel = (times > 0.12) & (times < 0.36)
    assert t[vowel, 0].max() > 0.7  # "ah" opens wide
    pause = (times > 0.5) & (times < 1.1)
    assert np.all(t[pause, 0] == 0.0)  # a 0.8 s pause: fully shut
    assert np.all(t[times > 1.75, 0] == 0.0)  # after the speech
    assert t[0, 3] == 1.0 or t[1, 3] == 1.0  # the opening "m" is a lip closure


def test_short_word_gaps_only_relax_the_mouth() -> None:
    events = [("ɑː", 0.0), ("_", 0.3), ("ɑː", 0.34), ("_", 0.7)]
    t = _arr(events, 0.9)
    assert t[8:9, 0].min() > 0.3  # 40 ms gap between two "ah"s: the mouth does not snap shut


def test_a_lip_closure_shorter_than_a_frame_still_closes_one_frame() -> None:
    events = [("ɑː", 0.0), ("b", 0.205), ("ɑː", 0.225), ("_", 0.5)]  # a 20 ms /b/ between frames 5 and 6
    t = _arr(events, 0.6)
    closed = np.flatnonzero(t[:, 3] == 1.0)
    assert closed.size >= 1 and np.all(t[closed, 0] == 0.0)
    assert t[3, 0] > 0.5 and t[8, 0] > 0.5


def test_coarticulation_anticipates_the_next_vowel() -> None:
    """The lips round during the /s/ of "soo" but spread during the /s/ of "see" (anticipatory blend)."""
    soo = _arr([("s", 0.0), ("uː", 0.2), ("_", 0.5)], 0.6)
    see = _arr([("s", 0.0), ("iː", 0.2), ("_", 0.5)], 0.6)
    late_s = 4  # t = 0.16 s: still inside the /s/
    assert soo[late_s, 2] > see[late_s, 2] + 0.1
    assert see[late_s, 1] > soo[late_s, 1] + 0.1
    early_s = 1  # t = 0.04 s: mostly the /s/ itself
    assert abs(soo[early_s, 1] - see[early_s, 1]) < abs(soo[late_s, 1] - see[late_s, 1])


@needs_espeak
@pytest.mark.parametrize(("text", "language"), [(EN, Language.en), (ZH, Language.zh)])
def test_espeak_line_track_follows_the_audio(text: str, language: Language) -> None:
    line = EspeakTTS().synthesize(text, language=language)
    track = mouth_track(line, 25)
    assert len(track) == math.ceil(len(line.samples) * 25 / line.sample_rate)
    opening = track_array(track)[:, 0]
    env = _envelope(line, len(track))
    r = np.corrcoef(opening, env)[0, 1]
    rng = np.random.default_rng(0)
    control = np.mean([abs(np.corrcoef(rng.permutation(opening), env)[0, 1]) for _ in range(20)])
    assert r > 0.55, r
    assert control < 0.15  # a shuffled track does not follow the voice
    assert opening[-1] < 0.1 and any(p.closed_hard for p in track)  # both texts have b/m/p (保 bao, 杯 bei)


# --------------------------------------------------------------------------- Kokoro: alignment


def _burst(seconds: float, sr: int, f0: float = 150.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * f0 * t) * np.hanning(t.size)).astype(np.float32)


def test_alignment_snaps_phrase_breaks_to_silent_gaps() -> None:
    sr = 16_000
    audio = np.concatenate([_burst(0.5, sr), np.zeros(int(0.3 * sr), np.float32), _burst(0.5, sr)])
    events = align_phonemes(audio, sr, "mɑmɑ, pɑpɑ")
    symbols = [s for s, _ in events]
    assert symbols.count("_") >= 2  # the gap and the end
    times = dict(zip(range(len(events)), (t for _, t in events), strict=True))
    first_p = next(t for s, t in events if s == "p")
    last_m = max(t for s, t in events if s == "m")
    assert last_m < 0.55 and first_p > 0.75  # phrase two starts after the gap, phrase one ends before it
    assert all(times[i] <= times[i + 1] for i in range(len(events) - 1))
    track = track_array(track_from_timings(events, audio.size / sr, 25))
    assert np.all(track[15:19, 0] < 0.05)  # 0.6–0.72 s: inside the gap the mouth is shut


@needs_espeak
def test_a_line_without_timings_goes_through_misaki_and_alignment() -> None:
    """The Kokoro path without the Kokoro model: espeak audio with its timings dropped, a Kokoro voice name."""
    import misaki.espeak  # noqa: F401 - the voice extra, always installed by `make install`

    spoken = EspeakTTS().synthesize("Hello, buy the thermos now. It keeps coffee hot!", language=Language.en)
    line = LineAudio(spoken.text, spoken.samples, spoken.sample_rate, "kokoro", "af_heart", phonemes=None)
    calls: list[str] = []

    def counting_g2p(text: str, voice: str) -> str:
        from adloom.digital_human.avatar.visemes import _default_g2p

        calls.append(voice)
        return _default_g2p(text, voice)

    track = mouth_track(line, 25, g2p=counting_g2p)
    assert calls == ["af_heart"]  # the misaki G2P ran, not the audio-only fallback
    assert len(track) == math.ceil(len(line.samples) * 25 / line.sample_rate)
    opening = track_array(track)[:, 0]
    assert np.corrcoef(opening, _envelope(line, len(track)))[0, 1] > 0.5
    assert any(p.closed_hard for p in track) and opening[-1] < 0.1

    def broken_g2p(text: str, voice: str) -> str:
        raise RuntimeError("G2P crashed")

    fallback = mouth_track(line, 25, g2p=broken_g2p)  # a G2P failure degrades to the audio-driven mouth
    assert len(fallback) == len(track) and max(p.open for p in fallback) > 0.3


@pytest.mark.slow
@needs_kokoro
def test_kokoro_line_is_aligned_and_follows_the_audio(real_models: None) -> None:
    from adloom.digital_human.voice.kokoro import KokoroTTS

    line = KokoroTTS().synthesize("Hello, buy the thermos now. It keeps coffee hot for a day!", language=Language.en)
    assert line.phonemes is None
    track = mouth_track(line, 25)
    assert len(track) == math.ceil(len(line.samples) * 25 / line.sample_rate)
    opening = track_array(track)[:, 0]
    env = _envelope(line, len(track))
    assert np.corrcoef(opening, env)[0, 1] > 0.5
    assert any(p.closed_hard for p in track)  # the b/m/p of the text close the lips (phonemes, not audio)
    assert opening[-1] < 0.1


@needs_espeak
def test_alignment_recovers_espeaks_own_timings() -> None:
    """Strip espeak's timings, align its phonemes to its audio, and compare with the timings it reported."""
    line = EspeakTTS().synthesize(EN, language=Language.en)
    events = line.phonemes or []
    units: list[tuple[str, float]] = []
    for k, (p, t) in enumerate(events):
        if p == "_":
            nxt = events[k + 1][1] if k + 1 < len(events) else line.duration_s
            if nxt - t > 0.1 and units and units[-1][0] != "_":
                units.append(("_", 0.0))  # a real pause, as punctuation would give
            continue
        units.append((p, 0.07 * len(phoneme_visemes(p))))
    while units and units[-1][0] == "_":
        units.pop()
    aligned = [(p, t) for p, t in align_phonemes(line.samples, line.sample_rate, units) if p != "_"]
    truth = [t for p, t in events if p != "_"]
    starts, j = [], 0
    for p, _ in units:  # first occurrence of each unit in order (a unit cut by a gap is re-emitted after it)
        if p == "_":
            continue
        while aligned[j][0] != p:
            j += 1
        starts.append(aligned[j][1])
        j += 1
    errors = np.abs(np.array(starts) - np.array(truth))
    assert np.median(errors) < 0.04, np.median(errors)
    assert np.percentile(errors, 90) < 0.2
