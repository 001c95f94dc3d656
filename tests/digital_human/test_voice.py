"""The voice layer with its real engines: Kokoro int8 ONNX, libespeak-ng, and edge-tts offline.

Kokoro needs the assembled models (``adloom setup --only kokoro,voices``) and espeak
needs ``apt-get install -y espeak-ng``; tests that need a missing part are skipped
with that instruction. edge-tts is exercised for real: offline it fails on DNS.
"""

from __future__ import annotations

import logging
import math
import wave
from pathlib import Path

import numpy as np
import pytest

from adloom.core.errors import BackendUnavailableError, InputError, NotFoundError
from adloom.core.registry import registry
from adloom.core.settings import get_settings
from adloom.core.text import speech_seconds
from adloom.core.types import Language
from adloom.digital_human.voice import LineAudio, get_tts, integrated_loudness, mix_lines, speak_lines
from adloom.digital_human.voice.base import resample, trim_silence
from adloom.digital_human.voice.edge import EdgeTTS
from adloom.digital_human.voice.espeak import EspeakTTS, to_pinyin
from adloom.digital_human.voice.kokoro import MAX_PHONEMES, KokoroTTS, _chunks
from adloom.digital_human.voice.loudness import _biquads

ZH = "这款保温杯，二十四小时保温，只要九十九元！"
EN = "This thermos keeps your coffee hot for twenty-four hours."


#: The assembled models of this machine, read before conftest gives each test an empty ADLOOM_HOME.
MODELS = get_settings().models


@pytest.fixture(autouse=True)
def _real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADLOOM_MODEL_DIR", str(MODELS))
    get_settings.cache_clear()


def _kokoro_ready() -> bool:
    folder = MODELS / "kokoro"
    return (folder / "kokoro-v1.0.int8.onnx").is_file() and (folder / "voices" / "af_heart.bin").is_file()


def _espeak_ready() -> bool:
    try:
        EspeakTTS().voices()
    except BackendUnavailableError:
        return False
    return True


needs_kokoro = pytest.mark.skipif(not _kokoro_ready(), reason="Kokoro not assembled: adloom setup --only kokoro,voices")
needs_espeak = pytest.mark.skipif(not _espeak_ready(), reason="espeak-ng missing: apt-get install -y espeak-ng")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


@pytest.fixture
def missing_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings pointing the model folder at an empty directory."""
    monkeypatch.setenv("ADLOOM_MODEL_DIR", str(tmp_path / "no-models"))
    get_settings.cache_clear()
    yield tmp_path / "no-models"
    monkeypatch.undo()
    get_settings.cache_clear()


# --------------------------------------------------------------------------- registry


def test_backends_are_registered_lazily_and_unknown_names_are_typed_errors() -> None:
    assert isinstance(get_tts("kokoro"), KokoroTTS)
    assert {"kokoro", "espeak", "edge"} <= set(registry("tts").names())
    assert get_tts("kokoro") is get_tts("kokoro")  # one model load per process
    assert get_tts().name == "kokoro"  # the settings default
    with pytest.raises(NotFoundError, match="no tts plugin named 'festival'"):
        get_tts("festival")


# --------------------------------------------------------------------------- kokoro


@needs_kokoro
@pytest.mark.parametrize(
    ("language", "text", "voice"), [(Language.zh, ZH, "zf_xiaoxiao"), (Language.en, EN, "af_heart")]
)
def test_kokoro_speaks_a_line_of_plausible_length(language: Language, text: str, voice: str) -> None:
    line = get_tts("kokoro").synthesize(text, language=language)
    expected = speech_seconds(text, language)
    assert line.backend == "kokoro" and line.voice == voice and line.sample_rate == 24_000
    assert line.samples.dtype == np.float32 and np.abs(line.samples).max() <= 1.0
    assert 0.5 * expected <= line.duration_s <= 2.0 * expected, (line.duration_s, expected)
    assert _rms(line.samples) > 0.02
    assert line.phonemes is None


@needs_kokoro
def test_kokoro_speed_shortens_the_line() -> None:
    tts = get_tts("kokoro")
    normal = tts.synthesize("Only today.", language=Language.en)
    fast = tts.synthesize("Only today.", language=Language.en, speed=1.5)
    assert fast.duration_s < 0.85 * normal.duration_s


def test_kokoro_splits_long_phoneme_strings_at_punctuation() -> None:
    vocab = {c: i + 1 for i, c in enumerate("abcdefghij ,.")}
    sentence = "abcde fghij abcde fghij, "  # 25 characters ending after a comma
    phonemes = sentence * 50  # 1250 characters
    chunks = _chunks(phonemes, vocab)
    assert len(chunks) == 3
    assert all(len(c) <= MAX_PHONEMES for c in chunks)
    assert all(c[-1] == vocab[","] for c in chunks[:-1])  # each cut falls just after a comma
    assert sum(len(c) for c in chunks) == len(phonemes.strip()) - 2  # only the spaces at the cuts dropped


def test_kokoro_g2p_speaks_latin_brand_names_in_chinese_copy_as_english() -> None:
    phonemes = KokoroTTS()._phonemizer(Language.zh, "zf_xiaoxiao")("这款Hydro保温杯，只要99元")
    assert "Hydro" not in phonemes and "hˈIdɹO" in phonemes  # not passed through as letters
    assert "ʨjou↓ʂɨ↗ʨjou↓" in phonemes  # 99 read as 九十九


@needs_kokoro
def test_unknown_voice_is_an_input_error_listing_the_voices() -> None:
    with pytest.raises(InputError, match="unknown voice 'zf_nobody'.*zf_xiaoxiao") as info:
        speak_lines([ZH], language=Language.zh, voice="zf_nobody")
    assert "af_heart" in str(info.value)


@needs_espeak
def test_espeak_unknown_voice_lists_its_voices() -> None:
    with pytest.raises(InputError, match="unknown voice 'klingon-x'.*cmn-latn-pinyin"):
        EspeakTTS().synthesize("hi", language=Language.zh, voice="klingon-x")


# --------------------------------------------------------------------------- espeak


@needs_espeak
@pytest.mark.parametrize(("language", "text"), [(Language.en, EN), (Language.zh, ZH)])
def test_espeak_gives_monotonic_phoneme_events_inside_the_audio(language: Language, text: str) -> None:
    line = EspeakTTS().synthesize(text, language=language)
    assert line.backend == "espeak" and line.sample_rate > 0
    assert _rms(line.samples) > 0.02
    assert 0.5 * speech_seconds(text, language) <= line.duration_s <= 2.5 * speech_seconds(text, language)
    assert line.phonemes is not None and len(line.phonemes) > 20
    times = [t for _, t in line.phonemes]
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))
    assert 0.0 <= times[0] < 0.2 and times[-1] <= line.duration_s
    assert times[-1] > 0.6 * line.duration_s  # events span the line, not just its start
    if language == Language.en:
        assert [p for p, _ in line.phonemes[:3]] == ["ð", "ɪ", "s"]  # "This"


def test_pinyin_reads_numbers_and_tones() -> None:
    pinyin = to_pinyin("24小时保温，只要99元。")
    assert "er4 shi2 si4 xiao3 shi2 bao3 wen1" in pinyin
    assert "jiu3 shi2 jiu3 yuan2" in pinyin
    assert "," in pinyin and "，" not in pinyin


# --------------------------------------------------------------------------- failover


@needs_kokoro
def test_edge_offline_fails_over_to_kokoro_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    edge = EdgeTTS(tmp_dir=tmp_path)
    try:
        edge.synthesize("Hello there.", language=Language.en)
    except BackendUnavailableError as exc:
        assert "edge" in str(exc) and "kokoro" in str(exc)
    else:
        pytest.skip("the edge-tts service is reachable from here; failover cannot be exercised")
    assert list(tmp_path.iterdir()) == []  # the 0-byte mp3 edge-tts leaves offline is removed

    with caplog.at_level(logging.WARNING, logger="adloom.digital_human.voice.narrate"):
        lines = speak_lines(["Hello there.", "Buy now."], language=Language.en, backend="edge")
    assert [line.backend for line in lines] == ["kokoro", "kokoro"]
    assert all(line.voice == "af_heart" and line.duration_s > 0.3 for line in lines)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "'edge' failed" in r.getMessage()]
    assert len(warnings) == 1 and "'kokoro'" in warnings[0].getMessage()  # once per call, not per line


@needs_espeak
def test_missing_kokoro_model_falls_back_to_espeak(missing_models: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(BackendUnavailableError, match="adloom setup"):
        KokoroTTS().synthesize(EN, language=Language.en, voice=None)
    with caplog.at_level(logging.WARNING, logger="adloom.digital_human.voice.narrate"):
        (line,) = speak_lines([ZH], language=Language.zh)
    assert line.backend == "espeak" and line.voice == "cmn-latn-pinyin" and line.phonemes
    assert any("'kokoro' failed" in r.getMessage() and str(missing_models) in r.getMessage() for r in caplog.records)


@needs_espeak
def test_empty_lines_are_zero_seconds_and_progress_is_reported() -> None:
    seen: list[tuple[int, int]] = []
    lines = speak_lines(
        ["", "Buy now.", "  "], language=Language.en, backend="espeak", progress=lambda i, n: seen.append((i, n))
    )
    assert [line.duration_s for line in lines][0::2] == [0.0, 0.0]
    assert lines[1].duration_s > 0.3 and lines[1].backend == "espeak"
    assert seen == [(1, 3), (2, 3), (3, 3)]


# --------------------------------------------------------------------------- mixing and loudness


def test_loudness_meter_matches_bs1770_references() -> None:
    b, a = _biquads(48_000)[0]  # BS.1770-4 table 1, stage 1 at 48 kHz
    np.testing.assert_allclose(b, [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-9)
    np.testing.assert_allclose(a[1:], [-1.69065929318241, 0.73248077421585], atol=1e-9)
    for rate in (48_000, 44_100, 24_000):
        t = np.arange(int(5 * rate)) / rate
        sine = np.sin(2 * np.pi * 997 * t)  # full-scale 997 Hz sine: -3.01 LUFS (mono)
        assert integrated_loudness(sine, rate) == pytest.approx(-3.01, abs=0.05)
        assert integrated_loudness(0.1 * sine, rate) == pytest.approx(-23.01, abs=0.05)
    assert integrated_loudness(np.zeros(48_000), 48_000) == -math.inf


def test_resample_keeps_frequency_and_level() -> None:
    rate_in, rate_out = 22_050, 48_000
    t = np.arange(rate_in) / rate_in
    y = resample(0.5 * np.sin(2 * np.pi * 440 * t), rate_in, rate_out)
    assert len(y) == rate_out
    spectrum = np.abs(np.fft.rfft(y[4800:-4800] * np.hanning(len(y) - 9600)))
    assert np.argmax(spectrum) * rate_out / (len(y) - 9600) == pytest.approx(440, abs=2)
    assert _rms(y[4800:-4800]) == pytest.approx(0.5 / math.sqrt(2), rel=0.01)


@pytest.mark.parametrize(
    ("rate_in", "rate_out"), [(22_050, 48_000), (24_000, 48_000), (48_000, 16_000), (24_000, 44_100)]
)
def test_resample_keeps_a_tone_and_the_exact_length(rate_in: int, rate_out: int) -> None:
    x = np.sin(2 * np.pi * 440 * np.arange(rate_in) / rate_in).astype(np.float32)
    y = resample(x, rate_in, rate_out)
    assert len(y) == rate_out and y.dtype == np.float32
    ref = np.sin(2 * np.pi * 440 * np.arange(rate_out) / rate_out)
    assert np.abs(y[500:-500] - ref[500:-500]).max() < 1e-3


@pytest.mark.parametrize("n", [1, 7, 1001, 24_013])
def test_resample_length_is_the_rounded_ratio(n: int) -> None:
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    for rate_in, rate_out in ((22_050, 48_000), (48_000, 16_000), (24_000, 44_100)):
        assert len(resample(x, rate_in, rate_out)) == int(round(n * rate_out / rate_in))
    assert np.array_equal(resample(x, 24_000, 24_000), x)


def test_resample_rejects_a_non_positive_rate() -> None:
    with pytest.raises(InputError, match="sample rates must be positive"):
        resample(np.zeros(10, np.float32), 0, 48_000)


def test_trim_silence_keeps_a_pad_and_reports_the_offset() -> None:
    rate = 24_000
    x = np.concatenate([np.zeros(rate), 0.3 * np.ones(rate // 2), np.zeros(rate)]).astype(np.float32)
    trimmed, offset = trim_silence(x, rate, pad_s=0.03)
    assert offset == pytest.approx(0.97, abs=0.011)
    assert len(trimmed) / rate == pytest.approx(0.56, abs=0.02)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate


@needs_espeak
@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_mix_lines_places_lines_and_hits_the_loudness_target(tmp_path: Path, target: float) -> None:
    lines = speak_lines([EN, "", "Only ninety-nine."], language=Language.en, backend="espeak")
    starts = [0.5, 4.0, 4.2]
    out = tmp_path / "narration.wav"
    timings = mix_lines(lines, starts, 7.0, out, target_lufs=target)
    audio, rate = _read_wav(out)
    assert rate == 48_000 and len(audio) == 7 * 48_000
    assert [s for s, _ in timings] == starts
    for (start, end), line in zip(timings, lines, strict=True):
        assert end - start == pytest.approx(line.duration_s, abs=1e-3)
    assert timings[1] == (4.0, 4.0)  # the empty line holds its slot with no speech

    def span(a: float, b: float) -> np.ndarray:
        return audio[int(a * rate) : int(b * rate)]

    assert np.abs(span(0.0, 0.5)).max() < 1e-3  # silence before the first start
    assert _rms(span(0.5, timings[0][1])) > 0.02  # speech right after it
    assert np.abs(span(timings[0][1] + 0.01, 4.2)).max() < 1e-3  # silent gap up to the third line
    assert _rms(span(4.2, timings[2][1])) > 0.02
    assert np.abs(span(timings[2][1] + 0.01, 7.0)).max() < 1e-3
    assert integrated_loudness(audio, rate) == pytest.approx(target, abs=1.0)
    assert not list(tmp_path.glob("*.partial"))


def test_mix_lines_refuses_overlap_and_names_the_line(tmp_path: Path) -> None:
    tone = (0.3 * np.sin(np.arange(24_000) / 24_000 * 2 * np.pi * 220)).astype(np.float32)  # 1.0 s
    lines = [
        LineAudio("first line", tone, 24_000, "espeak", "en-us"),
        LineAudio("second line", tone, 24_000, "espeak", "en-us"),
    ]
    out = tmp_path / "x.wav"
    with pytest.raises(InputError, match="line 0 'first line'.*overlap.*1.500") as info:
        mix_lines(lines, [0.8, 1.5], 4.0, out)
    assert info.value.field == "lines[0]"
    with pytest.raises(InputError, match="line 1 'second line'.*track end"):
        mix_lines(lines, [0.0, 3.5], 4.0, out)
    assert not out.exists()
    assert mix_lines(lines, [0.0, 1.0], 2.0, out) == [(0.0, 1.0), (1.0, 2.0)]  # touching is fine
