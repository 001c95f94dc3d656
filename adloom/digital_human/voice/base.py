"""The TTS interface every voice backend implements, and the signal helpers they share.

A backend turns one caption line into one :class:`LineAudio`. Synthesising line by
line (rather than a whole script at once) is what makes subtitles match speech: each
line's audio is measured, then placed on the track by :func:`~adloom.digital_human.voice.
narrate.mix_lines`, so its start and end are known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.types import Language

__all__ = ["LineAudio", "TTSBackend", "check_speed", "resample", "silence", "trim_silence"]

#: Speed multipliers outside this range make every backend unintelligible or glitchy.
MIN_SPEED, MAX_SPEED = 0.5, 2.0


@dataclass(frozen=True)
class LineAudio:
    """One synthesised caption line.

    ``samples`` are float32 mono in [-1, 1], trimmed of leading and trailing silence
    (a short pad kept), so ``duration_s`` is how long the line is actually spoken.
    ``phonemes`` are ``(phoneme, start seconds)`` pairs relative to the first sample,
    non-decreasing, when the backend reports them (espeak-ng does; Kokoro does not).
    ``backend`` is the backend that actually produced the audio, after any failover.
    """

    text: str
    samples: np.ndarray
    sample_rate: int
    backend: str
    voice: str
    phonemes: list[tuple[str, float]] | None = None

    def __post_init__(self) -> None:
        samples = np.ascontiguousarray(np.asarray(self.samples, dtype=np.float32).reshape(-1))
        object.__setattr__(self, "samples", samples)
        if self.sample_rate <= 0:
            raise InputError(f"LineAudio for {self.text!r}: sample_rate must be positive, got {self.sample_rate}")

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return len(self.samples) / self.sample_rate


@runtime_checkable
class TTSBackend(Protocol):
    """A text-to-speech engine: one line of text in, one :class:`LineAudio` out.

    Backends raise :class:`~adloom.core.errors.BackendUnavailableError` when their model,
    library or service cannot be used (so callers can fail over), and
    :class:`~adloom.core.errors.InputError` for a bad voice or speed (which failover
    would not fix).
    """

    name: str

    def synthesize(
        self, text: str, *, language: Language, voice: str | None = None, speed: float = 1.0
    ) -> LineAudio: ...

    def voices(self, language: Language | None = None) -> list[str]:
        """Voice names this backend accepts (for ``language`` when given)."""
        ...


def check_speed(speed: float, backend: str) -> float:
    """Validate a speaking-rate multiplier (1.0 = the voice's natural rate)."""
    if not MIN_SPEED <= float(speed) <= MAX_SPEED:
        raise InputError(
            f"{backend}: speed {speed} is outside [{MIN_SPEED}, {MAX_SPEED}]; pass a multiplier such as 0.9 or 1.2",
            field="speed",
        )
    return float(speed)


def silence(text: str, sample_rate: int, backend: str, voice: str) -> LineAudio:
    """The zero-length line an empty caption becomes (it still occupies its slot)."""
    return LineAudio(text=text, samples=np.zeros(0, np.float32), sample_rate=sample_rate, backend=backend, voice=voice)


def trim_silence(
    samples: np.ndarray, sample_rate: int, *, floor_db: float = -40.0, pad_s: float = 0.03
) -> tuple[np.ndarray, float]:
    """Cut leading/trailing silence, keeping ``pad_s`` around the speech.

    A 10 ms frame counts as speech when its RMS is within ``floor_db`` of the loudest
    frame (and above -80 dBFS). Returns the trimmed samples and the offset in seconds
    of the first kept sample, so event times can be shifted to match.
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    hop = max(1, sample_rate // 100)
    n_frames = len(x) // hop
    if n_frames == 0:
        return x, 0.0
    frames = x[: n_frames * hop].reshape(n_frames, hop)  # (frames, hop)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    threshold = max(rms.max() * 10 ** (floor_db / 20), 1e-4)
    voiced = np.flatnonzero(rms > threshold)
    if voiced.size == 0:
        return np.zeros(0, np.float32), 0.0
    pad = int(pad_s * sample_rate)
    start = max(0, voiced[0] * hop - pad)
    end = min(len(x), (voiced[-1] + 1) * hop + pad)
    return x[start:end].copy(), start / sample_rate


#: How to get the resampler when it is missing (the ``voice`` and ``live`` extras both install it).
SOXR_HINT = "pip install 'soxr==1.1.0'  (or: pip install 'adloom[voice]')"


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """``samples`` (mono) at ``rate_out``, float32, exactly ``round(len · rate_out / rate_in)`` samples long.

    libsoxr's very-high-quality band-limited resampler (the ``soxr`` package) does the work: it is a
    maintained, fast polyphase implementation without the circular wrap-around of FFT resampling, so
    one function serves both offline narration and the live room's per-utterance path.
    """
    if rate_in <= 0 or rate_out <= 0:
        raise InputError(
            f"resample: sample rates must be positive, got {rate_in} -> {rate_out}; pass the rates in Hz",
            field="sample_rate",
        )
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if rate_in == rate_out or len(x) == 0:
        return x.copy()
    try:
        import soxr
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendUnavailableError(f"resampling needs the 'soxr' package ({exc}); run: {SOXR_HINT}") from exc
    y = soxr.resample(x, rate_in, rate_out, quality="VHQ")
    n_out = int(round(len(x) * rate_out / rate_in))
    if len(y) < n_out:  # libsoxr may end a sample short or long of the exact ratio: fix the length
        y = np.concatenate([y, np.zeros(n_out - len(y), dtype=y.dtype)])
    return np.ascontiguousarray(y[:n_out], dtype=np.float32)
