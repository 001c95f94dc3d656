"""The audio-driven mouth: gate, loudness tracking, vowel shapes, streaming, real speech."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.types import Language
from adloom.digital_human.avatar.audio_mouth import AudioMouth, audio_mouth_track
from adloom.digital_human.avatar.base import REST
from adloom.digital_human.avatar.visemes import track_array
from adloom.digital_human.voice.espeak import EspeakTTS

SR = 24_000


def _espeak_ready() -> bool:
    try:
        EspeakTTS().voices()
    except BackendUnavailableError:
        return False
    return True


needs_espeak = pytest.mark.skipif(not _espeak_ready(), reason="espeak-ng missing: apt-get install -y espeak-ng")


def _vowel(formants: list[tuple[float, float]], seconds: float = 0.6, f0: float = 120.0, rms: float = 0.06):
    """A source-filter vowel: a glottal pulse train through second-order formant resonators."""
    n = int(SR * seconds)
    x = np.zeros(n)
    x[:: int(SR / f0)] = 1.0
    for f, bw in formants:  # y[n] = (1 - r) x[n] + 2 r cos(w) y[n-1] - r² y[n-2]
        r = math.exp(-math.pi * bw / SR)
        b1, b2 = 2 * r * math.cos(2 * math.pi * f / SR), -r * r
        y, y1, y2 = np.zeros(n), 0.0, 0.0
        for k, v in enumerate(x.tolist()):
            y1, y2 = (1 - r) * v + b1 * y1 + b2 * y2, y1
            y[k] = y1
        x = y
    return (x / np.sqrt(np.mean(x**2)) * rms).astype(np.float32)


VOWELS = {
    "a": [(730, 90), (1090, 110), (2440, 170)],
    "i": [(270, 60), (2290, 100), (3010, 170)],
    "u": [(300, 60), (870, 80), (2240, 170)],
}


def _steady(track) -> np.ndarray:
    return track_array(track)[8:14].mean(axis=0)  # the middle of a 0.6 s vowel


def test_silence_is_rest_and_counts_are_exact() -> None:
    assert audio_mouth_track(np.zeros(SR, np.float32), SR, 25) == [REST] * 25
    assert len(audio_mouth_track(np.zeros(SR + 1, np.float32), SR, 25)) == 26
    assert len(audio_mouth_track(np.zeros(44_100, np.float32), 44_100, 24)) == 24  # hop 1837.5: no drift
    assert audio_mouth_track(np.zeros(0, np.float32), SR) == []
    with pytest.raises(InputError):
        AudioMouth(0, 25)


def test_vowel_shapes_follow_formants() -> None:
    a, i, u = (_steady(audio_mouth_track(_vowel(VOWELS[v]), SR)) for v in "aiu")
    assert a[0] > i[0] + 0.2 and a[0] > u[0] + 0.2  # open vowel: jaw open (high F1)
    assert i[1] > u[1] + 0.4 and i[1] > a[1]  # front vowel: lips spread (high F2)
    assert u[2] > i[2] + 0.5  # back rounded vowel: lips round (low F2)


def test_opening_follows_loudness_and_gate_learns_steady_noise() -> None:
    quiet, loud = _vowel(VOWELS["a"], rms=0.01), _vowel(VOWELS["a"], rms=0.1)
    mouth = AudioMouth(SR, 25)
    poses = mouth.push(np.concatenate([loud, np.zeros(SR // 2, np.float32), quiet]))
    arr = track_array(poses)
    assert arr[8:14, 0].mean() > arr[-7:-1, 0].mean() + 0.1
    assert np.all(arr[20:27, 0] == 0.0)  # the half-second of silence between them closes the mouth
    noise = (np.random.default_rng(0).standard_normal(4 * SR) * 0.004).astype(np.float32)  # a -48 dBFS hum
    tail = track_array(audio_mouth_track(noise, SR))[-25:]
    assert np.all(tail == 0.0)  # after a few seconds the floor has learned the hum and the gate stays shut


def test_streaming_in_random_chunks_equals_one_shot() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([_vowel(VOWELS[v]) for v in "aiu"] + [np.zeros(SR // 3, np.float32)])
    whole = audio_mouth_track(x, SR)
    mouth = AudioMouth(SR, 25)
    pieces, i = [], 0
    while i < x.size:
        k = int(rng.integers(1, 3000))
        pieces += mouth.push(x[i : i + k])
        i += k
    pieces += mouth.flush()
    assert pieces == whole and mouth.frames_out == len(whole)
    int16 = (x * 32767).astype(np.int16)
    assert np.abs(track_array(audio_mouth_track(int16, SR)) - track_array(whole)).max() < 0.02
    mouth.reset()
    assert mouth.frames_out == 0


@needs_espeak
def test_real_speech_opening_correlates_with_the_loudness_envelope() -> None:
    line = EspeakTTS().synthesize(
        "Hello everyone, welcome to the live room. Today this thermos is only ninety nine!", language=Language.en
    )
    track = track_array(audio_mouth_track(line.samples, line.sample_rate, 25))
    hop = line.sample_rate / 25
    env = np.array([np.sqrt(np.mean(line.samples[int(k * hop) : int((k + 1) * hop)] ** 2)) for k in range(len(track))])
    r = np.corrcoef(track[:, 0], env)[0, 1]
    rng = np.random.default_rng(0)
    control = np.mean([abs(np.corrcoef(rng.permutation(track[:, 0]), env)[0, 1]) for _ in range(20)])
    assert r > 0.65, r
    assert control < 0.15  # a shuffled mouth does not follow the voice
    after = audio_mouth_track(
        np.concatenate([line.samples, np.zeros(line.sample_rate // 4, np.float32)]), line.sample_rate
    )
    assert after[-1] == REST  # a quarter second after the voice stops, the mouth is shut


@needs_espeak
def test_real_vowels_spread_and_round_the_lips() -> None:
    """Formants of real speech: "see" spreads the lips, "go" rounds them, "father" opens the jaw."""
    tts = EspeakTTS()

    def vowel_pose(word: str) -> np.ndarray:
        line = tts.synthesize(word, language=Language.en)
        track = track_array(audio_mouth_track(line.samples, line.sample_rate))
        return track[track[:, 0] > 0.3].mean(axis=0)

    see, go, father = vowel_pose("see"), vowel_pose("go"), vowel_pose("father")
    assert see[1] > go[1] + 0.4 and go[2] > see[2] + 0.2
    assert father[0] > see[0] + 0.2
