"""Narration: caption lines → per-line audio (with failover) → one loudness-normalised track.

``speak_lines`` synthesises every caption line on its own and records which backend
spoke it; ``mix_lines`` places the lines at their start times and returns the exact
(start, end) of each line's speech, which are the subtitle timings.
"""

from __future__ import annotations

import logging
import os
import tempfile
import wave
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from adloom.core.errors import BackendUnavailableError, GenerationError, InputError, StorageError
from adloom.core.registry import registry
from adloom.core.settings import get_settings
from adloom.core.types import Language
from adloom.digital_human.voice.base import LineAudio, TTSBackend, resample, silence
from adloom.digital_human.voice.loudness import normalise_loudness

__all__ = ["FALLBACK_ORDER", "get_tts", "mix_lines", "speak_lines"]

log = logging.getLogger(__name__)

#: Offline backends tried, in this order, after the requested one fails.
FALLBACK_ORDER: tuple[str, ...] = ("kokoro", "espeak")

_instances: dict[tuple[str, str], TTSBackend] = {}


def get_tts(name: str | None = None) -> TTSBackend:
    """The TTS backend registered as ``name`` (default: settings ``tts_backend``, i.e. "kokoro").

    Instances are cached per name and model folder, so a model is loaded once per process.
    """
    import adloom.digital_human.plugins  # noqa: F401  (registers the backends without the entry point too)

    settings = get_settings()
    name = name or settings.tts_backend
    key = (name, str(settings.models))
    if key not in _instances:
        _instances[key] = registry("tts").create(name)
    return _instances[key]


def _voice_for(backend: TTSBackend, language: Language, voice: str | None, *, primary: bool) -> str | None:
    """The voice to ask ``backend`` for: the caller's, else settings', else the backend's default.

    A fallback backend only gets a voice it knows (an edge voice means nothing to Kokoro).
    """
    if voice is None:
        voice = getattr(get_settings(), f"tts_voice_{language.value}", None)
        if voice is not None and voice not in _safe_voices(backend):
            voice = None  # a settings voice for another backend
    elif not primary and voice not in _safe_voices(backend):
        voice = None
    return voice


def _safe_voices(backend: TTSBackend) -> list[str]:
    try:
        return backend.voices()
    except BackendUnavailableError:
        return []


def speak_lines(
    lines: Sequence[str],
    *,
    language: Language,
    voice: str | None = None,
    speed: float = 1.0,
    backend: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[LineAudio]:
    """Synthesise each caption line; empty lines become 0.0 s of silence.

    When the requested backend is unavailable (edge offline, Kokoro's model missing)
    the line is spoken by the next of kokoro → espeak, with one logged warning per
    failed backend; ``LineAudio.backend`` records who actually spoke each line.
    ``speed`` multiplies settings ``tts_speed``. A bad voice or speed for the requested
    backend raises :class:`InputError` rather than failing over.
    """
    language = Language(language)
    settings = get_settings()
    speed = speed * settings.tts_speed
    primary = backend or settings.tts_backend
    chain = [primary, *(b for b in FALLBACK_ORDER if b != primary)]
    failed: dict[str, str] = {}
    out: list[LineAudio] = []
    for i, text in enumerate(lines):
        if not text or not text.strip():
            out.append(silence(text or "", 24_000, primary, voice or ""))
        else:
            out.append(_speak_one(text, chain, failed, language=language, voice=voice, speed=speed))
        if progress is not None:
            progress(i + 1, len(lines))
    return out


def _speak_one(
    text: str, chain: list[str], failed: dict[str, str], *, language: Language, voice: str | None, speed: float
) -> LineAudio:
    for position, name in enumerate(chain):
        if name in failed:
            continue
        try:
            tts = get_tts(name)
            return tts.synthesize(
                text, language=language, voice=_voice_for(tts, language, voice, primary=position == 0), speed=speed
            )
        except (BackendUnavailableError, GenerationError) as exc:
            failed[name] = str(exc)
            following = next((n for n in chain[position + 1 :] if n not in failed), None)
            log.warning("tts backend %r failed (%s); falling back to %r", name, exc, following)
    reasons = "; ".join(f"{name}: {why}" for name, why in failed.items())
    raise BackendUnavailableError(f"no TTS backend could speak {text!r}: {reasons}")


def mix_lines(
    lines: Sequence[LineAudio],
    starts_s: Sequence[float],
    total_s: float,
    out_wav: Path,
    *,
    sample_rate: int = 48000,
    target_lufs: float = -16.0,
) -> list[tuple[float, float]]:
    """Place each line at its start on a silent track, normalise loudness, write a 16-bit WAV.

    Lines are resampled to ``sample_rate``. A line that would run past the next line's
    start (or past ``total_s``) is not cut: :class:`InputError` names it so the caller
    can re-time. The WAV is written to a temporary name and renamed into place.
    Returns the (start, end) seconds of every line's speech as placed: the subtitle timings.
    """
    if len(lines) != len(starts_s):
        raise InputError(f"mix_lines: {len(lines)} lines but {len(starts_s)} start times; pass one start per line")
    if total_s <= 0:
        raise InputError(f"mix_lines: total_s must be positive, got {total_s}", field="total_s")
    track = np.zeros(int(round(total_s * sample_rate)), dtype=np.float64)
    timings: list[tuple[float, float]] = []
    placed = [resample(line.samples, line.sample_rate, sample_rate) for line in lines]
    for i, (line, samples, start) in enumerate(zip(lines, placed, starts_s, strict=True)):
        start = float(start)
        end = start + len(samples) / sample_rate
        limit, limit_name = (
            (float(starts_s[i + 1]), f"the next line's start {float(starts_s[i + 1]):.3f} s")
            if i + 1 < len(lines)
            else (float(total_s), f"the track end {total_s:.3f} s")
        )
        if start < 0 or (i > 0 and start < float(starts_s[i - 1])):
            raise InputError(f"mix_lines: line {i} {line.text!r} starts at {start:.3f} s, before the previous line")
        if end > limit + 1e-6:
            raise InputError(
                f"mix_lines: line {i} {line.text!r} lasts {end - start:.3f} s from {start:.3f} s and would overlap "
                f"{limit_name}; give it a later slot, shorten it, or speak faster",
                field=f"lines[{i}]",
            )
        first = int(round(start * sample_rate))
        n = min(len(samples), len(track) - first)
        track[first : first + n] += samples[:n]
        timings.append((start, end))
    normalised = normalise_loudness(track, sample_rate, target_lufs)
    _write_wav(out_wav, normalised, sample_rate)
    return timings


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM mono WAV, written to a temporary file beside ``path`` then renamed (atomic)."""
    path = Path(path)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                with wave.open(fh, "wb") as wav:
                    wav.setnchannels(1)
                    wav.setsampwidth(2)
                    wav.setframerate(sample_rate)
                    wav.writeframes(pcm.tobytes())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StorageError(f"mix_lines: cannot write {path}: {exc}; check the folder exists and is writable") from exc
