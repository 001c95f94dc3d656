"""Audio-driven lip-sync: any audio (TTS without timings, a co-host's microphone) → mouth poses.

Per video frame the audio of that frame (plus half a frame of history, Hann-windowed)
gives three features:

* **loudness**: RMS in dBFS, against a noise gate that tracks the floor of the input (it
  falls at once to a quieter floor and creeps up slowly, so a steady hum is learned and
  gated) and an automatic peak, so quiet and loud speakers both use the full range;
* **formants** F1 and F2 by LPC (on the signal decimated to ~10 kHz): a high F1 means an
  open jaw ("a"); a high F2 spread lips ("i", "e"); a low F2 with a low F1 rounded lips
  ("o", "u"). Unvoiced frames, or frames without two clear resonances, fall back to band
  energies (spectral centroid for spread/round, the 500–1100 Hz share for the jaw);
  fricatives (energy above 4 kHz) keep the jaw nearly shut.

Targets are smoothed with separate attack and release times; when the gate closes the
mouth relaxes to :data:`~adloom.digital_human.avatar.base.REST` within a few frames.
:class:`AudioMouth` keeps all state between :meth:`~AudioMouth.push` calls, so a live
session can feed it chunks of any size as they arrive and get one pose per completed frame.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from adloom.core.errors import InputError
from adloom.digital_human.avatar.base import REST, MouthPose

__all__ = ["AudioMouth", "AudioMouthConfig", "audio_mouth_track"]


@dataclass(frozen=True, slots=True)
class AudioMouthConfig:
    """Tuning of the audio-driven mouth. Levels in dBFS, times in seconds."""

    gate_db: float = -55.0  # never open below this level
    gate_above_floor_db: float = 9.0  # open only this far above the tracked noise floor
    floor_rise_db_s: float = 5.0  # how fast the noise floor estimate creeps up
    peak_decay_db_s: float = 3.0  # how fast the automatic peak falls back
    min_range_db: float = 18.0  # the peak stays at least this far above the gate
    attack_s: float = 0.025
    release_s: float = 0.07
    close_s: float = 0.03  # release once the gate has shut: the mouth closes within ~3 frames
    hangover_frames: int = 2  # frames the gate stays open after the level drops


class AudioMouth:
    """Streaming audio → :class:`MouthPose` per video frame.

    Frame ``k`` covers samples ``[round(k·sr/fps), round((k+1)·sr/fps))``, so any sample
    rate and frame rate pair works without drift. ``push`` returns the poses of every frame
    completed by the chunk; ``flush`` ends the stream (the partial last frame is zero-padded).
    """

    def __init__(self, sample_rate: int, fps: int = 25, config: AudioMouthConfig | None = None) -> None:
        if sample_rate <= 0 or fps <= 0:
            raise InputError(f"AudioMouth needs positive sample_rate and fps, got {sample_rate} and {fps}")
        self.sample_rate = int(sample_rate)
        self.fps = int(fps)
        self.config = config or AudioMouthConfig()
        frame_len = math.ceil(self.sample_rate / self.fps)
        self._history = frame_len // 2
        self._n_fft = 1 << math.ceil(math.log2(frame_len + self._history))
        freqs = np.fft.rfftfreq(self._n_fft, 1.0 / self.sample_rate)
        self._bands = {
            "centroid": (freqs >= 300) & (freqs < 4000),
            "f1_low": (freqs >= 200) & (freqs < 500),
            "f1_high": (freqs >= 500) & (freqs < 1100),
            "speech": (freqs >= 100) & (freqs < 4000),
            "hiss": (freqs >= 4000) & (freqs < 8000),
        }
        self._freqs = freqs
        # LPC runs on the signal decimated to ~8-16 kHz (formants of interest are below 4 kHz).
        self._decimate = max(1, self.sample_rate // 10_000)
        taps = np.arange(-15, 16)
        cutoff = 0.45 / self._decimate
        self._lowpass = np.sinc(2 * cutoff * taps) * 2 * cutoff * np.hamming(taps.size)
        self._emphasis = freqs[self._bands["centroid"]] / 1000.0
        self.reset()

    def reset(self) -> None:
        """Forget the stream (buffers, floor, peak, smoothing); the next push starts at frame 0."""
        self._buffer = np.zeros(0, np.float32)
        self._prev = np.zeros(self._history, np.float32)
        self._frame = 0
        self._consumed = 0  # samples of the stream before ``_buffer``
        self._floor = -65.0
        self._peak = -20.0
        self._hang = 0
        self._state = np.zeros(3)  # open, wide, round

    @property
    def frames_out(self) -> int:
        """How many poses this stream has produced."""
        return self._frame

    def _bounds(self, k: int) -> tuple[int, int]:
        return round(k * self.sample_rate / self.fps), round((k + 1) * self.sample_rate / self.fps)

    def push(self, samples: np.ndarray) -> list[MouthPose]:
        """Feed mono samples (float in [-1, 1], or int16); returns poses of the frames now complete."""
        x = np.asarray(samples)
        if x.dtype == np.int16:
            x = x.astype(np.float32) / 32768.0
        x = x.astype(np.float32, copy=False).reshape(-1)
        self._buffer = np.concatenate([self._buffer, x]) if self._buffer.size else x.copy()
        out: list[MouthPose] = []
        while True:
            a, b = self._bounds(self._frame)
            if b - self._consumed > self._buffer.size:
                break
            out.append(self._step(self._buffer[a - self._consumed : b - self._consumed]))
            cut = b - self._consumed
            self._buffer = self._buffer[cut:]
            self._consumed = b
        return out

    def flush(self) -> list[MouthPose]:
        """The pose of the partial last frame, if any samples are left; the stream can continue after."""
        if self._buffer.size == 0:
            return []
        a, b = self._bounds(self._frame)
        pad = np.zeros(b - self._consumed - self._buffer.size, np.float32)
        return self.push(pad)

    def _step(self, frame: np.ndarray) -> MouthPose:
        cfg = self.config
        dt = 1.0 / self.fps
        window = np.concatenate([self._prev, frame])
        self._prev = window[-self._history :].copy() if self._history else self._prev
        rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)))) if frame.size else 0.0
        level = 20.0 * math.log10(max(rms, 1e-7))

        # Noise floor: drops to any quieter level at once, creeps up slowly, never within range of the peak.
        self._floor = min(level, self._floor + cfg.floor_rise_db_s * dt, self._peak - cfg.min_range_db)
        threshold = max(cfg.gate_db, self._floor + cfg.gate_above_floor_db)
        self._peak = max(level, self._peak - cfg.peak_decay_db_s * dt, threshold + cfg.min_range_db)
        if level > threshold:
            self._hang = cfg.hangover_frames
        elif self._hang > 0:
            self._hang -= 1

        target = np.zeros(3)
        if level > threshold:
            loud = min(1.0, (level - threshold) / (self._peak - threshold))
            spec = np.abs(np.fft.rfft(window * _window("hanning", window.size), self._n_fft)) ** 2
            b = self._bands
            band = spec[b["centroid"]] * self._emphasis  # +3 dB/octave tilt, so upper formants count
            centroid = float((band * self._freqs[b["centroid"]]).sum() / max(band.sum(), 1e-12))
            f1 = float(spec[b["f1_high"]].sum() / max(spec[b["f1_low"]].sum() + spec[b["f1_high"]].sum(), 1e-12))
            hiss = float(spec[b["hiss"]].sum() / max(spec[b["hiss"]].sum() + spec[b["speech"]].sum(), 1e-12))
            voiced = 1.0 - min(1.0, hiss * 1.5)
            formants = _formants(window, self.sample_rate, self._decimate, self._lowpass)
            if formants is not None and voiced > 0.5:
                # F1 rises as the jaw opens; F2 is high for spread front vowels, low for rounded back ones.
                f1_hz, f2_hz = formants
                jaw_open = float(np.clip((f1_hz - 250.0) / 500.0, 0.0, 1.0))
                spread = float(np.clip((f2_hz - 1500.0) / 700.0, 0.0, 1.0))
                rounding = float(np.clip((1300.0 - f2_hz) / 400.0, 0.0, 1.0)) * (1.0 - 0.6 * jaw_open)
            else:  # unvoiced or no clear formants: band-energy proxies
                jaw_open = float(np.clip((f1 - 0.15) / 0.6, 0.0, 1.0))
                spread = float(np.clip((centroid - 1250.0) / 800.0, 0.0, 1.0))
                rounding = float(np.clip((1000.0 - centroid) / 250.0, 0.0, 1.0))
            jaw = 0.45 + 0.55 * jaw_open
            target[0] = loud**0.8 * jaw * (0.35 + 0.65 * voiced)
            target[1] = spread * (0.6 + 0.4 * voiced) + 0.4 * (1.0 - voiced)
            target[2] = rounding * voiced
            target = np.clip(target, 0.0, 1.0)
        elif self._hang > 0:
            target = self._state * 0.5  # inside the hangover: relax, do not snap shut

        rising = target > self._state
        k_att = 1.0 - math.exp(-dt / cfg.attack_s)
        gate_open = level > threshold or self._hang > 0
        k_rel = 1.0 - math.exp(-dt / (cfg.release_s if gate_open else cfg.close_s))
        self._state = self._state + np.where(rising, k_att, k_rel) * (target - self._state)
        self._frame += 1
        if level <= threshold and self._hang == 0 and self._state[0] < 0.03:
            self._state[:] = 0.0
            return REST
        o, w, r = (round(float(v), 4) for v in np.clip(self._state, 0.0, 1.0))
        return MouthPose(o, w, r)


@functools.lru_cache(maxsize=16)
def _window(kind: str, size: int) -> np.ndarray:
    return np.hamming(size) if kind == "hamming" else np.hanning(size)


def _formants(window: np.ndarray, sample_rate: int, decimate: int, lowpass: np.ndarray) -> tuple[float, float] | None:
    """F1 and F2 (Hz) of a frame by LPC (autocorrelation method, Levinson–Durbin, roots of the
    predictor), or None when fewer than two resonances with bandwidth under 500 Hz are found."""
    x = np.asarray(window, dtype=np.float64)
    rate = sample_rate
    if decimate > 1:
        x = np.convolve(x, lowpass, mode="same")[::decimate]
        rate = sample_rate // decimate
    if x.size < 64:
        return None
    x = x * _window("hamming", x.size)
    x = np.append(x[0], x[1:] - 0.63 * x[:-1])  # pre-emphasis: flatten the glottal tilt
    order = int(2 + rate / 1000)
    r = np.array([np.dot(x[: x.size - k], x[k:]) for k in range(order + 1)])  # autocorrelation, lags 0..order
    if r[0] <= 1e-10:
        return None
    a = np.zeros(order + 1)
    a[0], err = 1.0, r[0]
    for i in range(1, order + 1):
        k = -(r[i] + np.dot(a[1:i], r[i - 1 : 0 : -1])) / err
        a[1 : i + 1] = a[1 : i + 1] + k * np.concatenate([a[i - 1 : 0 : -1], [1.0]])
        err *= 1.0 - k * k
        if err <= 0:
            return None
    roots = np.roots(a)
    roots = roots[np.imag(roots) > 0]
    freqs = np.angle(roots) * rate / (2 * np.pi)
    bandwidths = -np.log(np.abs(roots)) * rate / np.pi
    found = np.sort(freqs[(freqs > 200) & (freqs < 4000) & (bandwidths < 500)])
    if found.size < 2:
        return None
    return float(found[0]), float(found[1])


def audio_mouth_track(samples: np.ndarray, sample_rate: int, fps: int = 25) -> list[MouthPose]:
    """The whole of ``samples`` through a fresh :class:`AudioMouth`: ``ceil(len × fps / sr)`` poses."""
    mouth = AudioMouth(sample_rate, fps)
    return mouth.push(samples) + mouth.flush()
