"""Phonemes → visemes → a per-frame mouth track, with coarticulation.

Two sources of phoneme timings feed the same track builder:

* **espeak-ng** reports every phoneme with its start time (``LineAudio.phonemes``), in IPA
  for English and in espeak's own ASCII-ish notation for ``cmn-latn-pinyin`` Mandarin
  (``ts.`` = tʂ, ``s.`` = ʂ, ``i.`` = the apical vowel of zhi/shi, ``o-`` = ɤ, ``kh`` = kʰ).
* **Kokoro** returns audio only. :func:`align_phonemes` takes the phoneme string from
  misaki (the G2P Kokoro itself speaks from), snaps its punctuation breaks to the silent
  gaps of the audio (energy-based voiced regions) whose position fits the phrase's share
  of typical phoneme durations, then aligns each phrase's phonemes to its voiced 10 ms
  frames with a small left-to-right Viterbi (expected loudness and low-band share per
  phoneme class, a duration prior from typical durations, a band around the proportional
  path). On espeak-ng audio, whose true timings are known, this recovers phoneme starts
  with a median error of about 20 ms (proportional spreading alone: about 36 ms).

Visemes are blended by dominance functions (Cohen & Massaro): each phoneme pulls the
mouth toward its target with a strength that falls off exponentially outside its own
interval, reaching further forward (anticipation) than back (carry-over), so "soon" rounds
the lips during the "s". Lip closures (p/b/m) are guaranteed at least one closed frame,
and the mouth closes during real pauses and outside the audio. :func:`mouth_track` finally
scales each frame's opening by the audio's loudness, so stressed syllables open wider.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.digital_human.avatar.base import REST, MouthPose

__all__ = [
    "DOMINANCE",
    "VISEMES",
    "VISEME_POSES",
    "Segment",
    "align_phonemes",
    "frame_loudness",
    "misaki_units",
    "mouth_track",
    "phoneme_visemes",
    "poses_from_array",
    "track_array",
    "track_from_timings",
    "voiced_regions",
]

#: The viseme set: silence, 9 consonant classes, 5 vowel classes.
VISEMES: tuple[str, ...] = ("SIL", "PP", "FF", "TH", "DD", "KK", "SS", "CH", "RR", "AA", "E", "I", "O", "U")

#: Target mouth pose per viseme (open, wide, round, closed_hard).
VISEME_POSES: dict[str, MouthPose] = {
    "SIL": REST,
    "PP": MouthPose(0.0, 0.05, 0.0, True),
    "FF": MouthPose(0.12, 0.3, 0.0),
    "TH": MouthPose(0.2, 0.25, 0.0),
    "DD": MouthPose(0.28, 0.25, 0.0),
    "KK": MouthPose(0.35, 0.12, 0.0),
    "SS": MouthPose(0.12, 0.6, 0.0),
    "CH": MouthPose(0.22, 0.0, 0.6),
    "RR": MouthPose(0.22, 0.0, 0.4),
    "AA": MouthPose(0.9, 0.25, 0.0),
    "E": MouthPose(0.55, 0.5, 0.0),
    "I": MouthPose(0.3, 0.85, 0.0),
    "O": MouthPose(0.6, 0.0, 0.75),
    "U": MouthPose(0.25, 0.0, 1.0),
}

#: How strongly each viseme holds its shape against its neighbours. Lip closures and
#: labiodentals must be seen; tongue-only consonants (t, k, h) borrow the vowel's lips.
DOMINANCE: dict[str, float] = {
    "SIL": 1.0,
    "PP": 3.0,
    "FF": 2.0,
    "TH": 1.0,
    "DD": 0.5,
    "KK": 0.4,
    "SS": 0.9,
    "CH": 1.5,
    "RR": 0.8,
    "AA": 1.2,
    "E": 1.0,
    "I": 1.0,
    "O": 1.3,
    "U": 1.4,
}

# Phonetic units → viseme. Multi-character units are matched longest first, so espeak's
# pinyin notation ("ts.h", "tɕh", "i.") and IPA affricates ("tʃ") win over their letters.
_UNITS: dict[str, str] = {}


def _add(viseme: str, *units: str) -> None:
    for u in units:
        _UNITS[u] = viseme


_add("PP", "p", "b", "m", "ɸ", "β", "ʙ", "ph")
_add("FF", "f", "v", "ʋ", "ɱ")
_add("TH", "θ", "ð")
_add("DD", "t", "d", "n", "l", "ɾ", "ɫ", "ʈ", "ɖ", "ɳ", "ɭ", "ɗ", "ɺ", "ɲ", "ʎ", "th", "l̩", "n̩")
_add("KK", "k", "g", "ɡ", "ŋ", "h", "x", "χ", "ɣ", "ɦ", "ʔ", "q", "ɢ", "ɴ", "ç", "ʝ", "c", "ɟ", "ɰ", "ʁ", "kh")
_add("SS", "s", "z", "ts", "dz", "ʦ", "ʣ", "tsh", "ɕ", "ʑ", "tɕ", "dʑ", "ʨ", "ʥ", "tɕh")
_add("CH", "ʃ", "ʒ", "tʃ", "dʒ", "ʧ", "ʤ", "ʂ", "ʐ", "tʂ", "ʈʂ", "ꭧ", "ts.", "s.", "ts.h", "z.")
_add("RR", "r", "ɹ", "ɻ", "ɽ", "ʀ", "ɚ", "ɝ", "ər", "ɹ̩")
_add("AA", "a", "ɑ", "ɐ", "æ", "ʌ", "ɒ", "ä", "ɶ", "ᴀ")
_add("E", "e", "ɛ", "ə", "ɜ", "ɘ", "ᵊ", "ɤ", "o-", "ɵ", "ɞ")
_add("I", "i", "ɪ", "ɨ", "ᵻ", "j", "ɯ", "i.", "i̪", "ʲ")
_add("O", "o", "ɔ", "ø", "œ")
_add("U", "u", "ʊ", "w", "ʍ", "y", "ɥ", "ʏ", "ᵝ", "ɷ")
# misaki writes English diphthongs as capitals: A=eɪ I=aɪ O=oʊ Q=əʊ W=aʊ Y=ɔɪ.
_DIPHTHONGS: dict[str, tuple[str, ...]] = {
    "A": ("E", "I"),
    "I": ("AA", "I"),
    "O": ("O", "U"),
    "Q": ("E", "U"),
    "W": ("AA", "U"),
    "Y": ("O", "I"),
}
_MAX_UNIT = max(len(u) for u in _UNITS)
#: Marks that carry no mouth shape: stress, tones, length, aspiration and other modifiers.
_STRIP = set("ˈˌ→↓↗↘ːˑʰʷˠˤⁿ'ˀ˞0123456789")
_SILENCES = {"", "_", " ", "||", "|"}
_PUNCT = set('.,!?;:…—-–"“”()，。！？；：、')
log = logging.getLogger(__name__)


def _clean(symbol: str) -> str:
    """The symbol with stress/tone/length marks removed (combining marks other than espeak's kept)."""
    out = []
    for ch in unicodedata.normalize("NFC", symbol):
        if ch in _STRIP:
            continue
        if unicodedata.combining(ch) and ch not in "\u032a\u0329":  # keep dental ̪ and syllabic ̩
            continue
        out.append(ch)
    return "".join(out)


def phoneme_visemes(symbol: str, *, strict: bool = False) -> list[str]:
    """The viseme(s) one phoneme symbol shows, in order ("aɪ" → ["AA", "I"], "p" → ["PP"], "_" → ["SIL"]).

    Unknown characters are skipped; a symbol with no known character at all shows the
    neutral ``"DD"`` (a slightly open, relaxed mouth) rather than closing it. ``strict``
    raises :class:`InputError` on any unknown character instead (used to check coverage).
    """
    s = _clean(symbol.strip()) if symbol.strip() else ""
    if s in _SILENCES or all(ch in _PUNCT for ch in s):
        return ["SIL"]
    out: list[str] = []
    i = 0
    while i < len(s):
        if s[i] in _DIPHTHONGS:
            out.extend(_DIPHTHONGS[s[i]])
            i += 1
            continue
        for n in range(min(_MAX_UNIT, len(s) - i), 0, -1):
            viseme = _UNITS.get(s[i : i + n])
            if viseme is not None:
                out.append(viseme)
                i += n
                break
        else:
            if strict:
                raise InputError(f"phoneme {symbol!r}: no viseme for {s[i]!r} (U+{ord(s[i]):04X})", field="phoneme")
            i += 1  # unknown character: no shape of its own
    return out or ["DD"]


@dataclass(frozen=True, slots=True)
class Segment:
    """One viseme held from ``start`` to ``end`` seconds."""

    viseme: str
    start: float
    end: float


def _segments(phonemes: Sequence[tuple[str, float]], duration: float) -> list[Segment]:
    """Phoneme events (symbol, start) → viseme segments; each phoneme lasts until the next one starts."""
    events = sorted(((str(p), float(t)) for p, t in phonemes), key=lambda e: e[1])
    segs: list[Segment] = []
    for k, (symbol, start) in enumerate(events):
        end = events[k + 1][1] if k + 1 < len(events) else duration
        end = min(max(end, start), max(duration, start))
        if end - start <= 1e-6:
            continue
        visemes = phoneme_visemes(symbol)
        if len(visemes) == 1:
            segs.append(Segment(visemes[0], start, end))
            continue
        # A diphthong/cluster: the first part holds longest (the nucleus), glides share the rest.
        weights = np.array([1.3] + [1.0] * (len(visemes) - 1))
        edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
        segs.extend(Segment(v, float(a), float(b)) for v, a, b in zip(visemes, edges[:-1], edges[1:], strict=True))
    return segs


def track_from_timings(
    phonemes: Sequence[tuple[str, float]],
    duration: float,
    fps: int = 25,
    *,
    anticipation_s: float = 0.08,
    carryover_s: float = 0.05,
    pause_close_s: float = 0.15,
    n_frames: int | None = None,
) -> list[MouthPose]:
    """One :class:`MouthPose` per frame (frame ``i`` shows time ``i / fps``) for ``duration`` seconds.

    ``phonemes`` are (symbol, start seconds) pairs; "_" or "" marks a pause. Dominance of
    a segment outside its interval decays as ``exp(-(gap / tau)²)`` with ``tau`` =
    ``anticipation_s`` before it and ``carryover_s`` after it. A pause of at least
    ``pause_close_s`` closes the mouth completely; shorter ones (word gaps) only relax it.
    ``n_frames`` overrides the frame count (default ``ceil(duration × fps)``).
    """
    if fps <= 0:
        raise InputError(f"fps must be positive, got {fps}", field="fps")
    duration = max(0.0, float(duration))
    n = math.ceil(duration * fps - 1e-9) if n_frames is None else int(n_frames)
    if n == 0:
        return []
    segs = _segments(phonemes, duration)
    # Silence before the first and after the last sound, so the track opens and ends closed.
    first = segs[0].start if segs else duration
    last = segs[-1].end if segs else 0.0
    segs = [Segment("SIL", first - 1.0, first), *segs, Segment("SIL", last, max(last, duration) + 1.0)]
    starts = np.array([s.start for s in segs])
    ends = np.array([s.end for s in segs])
    names = [s.viseme for s in segs]
    length = ends - starts
    alpha = np.array([DOMINANCE[v] for v in names])
    is_sil = np.array([v == "SIL" for v in names])
    # Word gaps barely pull the mouth shut; real pauses win outright.
    alpha = np.where(is_sil, np.where(length >= pause_close_s, 3.0, 0.25 + 2.0 * length / pause_close_s), alpha)
    targets = np.array([[VISEME_POSES[v].open, VISEME_POSES[v].wide, VISEME_POSES[v].round] for v in names])  # (S, 3)

    sub = 4  # samples per frame, averaged, so a 50 ms phoneme between two frames still shows
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    out = np.zeros((n, 3))
    chunk = 1024
    for a in range(0, n, chunk):
        frames = np.arange(a, min(n, a + chunk))
        t = ((frames[:, None] + offsets[None, :]) / fps).reshape(-1)  # (F*sub,)
        before = starts[None, :] - t[:, None]  # > 0: segment is still to come (anticipation)
        after = t[:, None] - ends[None, :]  # > 0: segment is over (carry-over)
        dom = alpha[None, :] * np.where(
            before > 0,
            np.exp(-((before / anticipation_s) ** 2)),
            np.where(after > 0, np.exp(-((after / carryover_s) ** 2)), 1.0),
        )  # (F*sub, S)
        pose = (dom @ targets) / np.maximum(dom.sum(axis=1, keepdims=True), 1e-9)  # (F*sub, 3)
        out[frames] = pose.reshape(len(frames), sub, 3).mean(axis=1)

    closed = np.zeros(n, dtype=bool)
    frame_t = np.arange(n) / fps
    for s in segs:
        if s.viseme == "PP":
            inside = (frame_t >= s.start) & (frame_t < s.end)
            idx = np.flatnonzero(inside)
            if idx.size == 0:  # shorter than a frame: close the frame nearest its middle
                idx = np.array([min(n - 1, max(0, int(round((s.start + s.end) / 2 * fps))))])
            closed[idx] = True
        elif s.viseme == "SIL" and s.end - s.start >= pause_close_s:
            inner = (frame_t >= s.start + carryover_s) & (frame_t <= s.end - anticipation_s)
            out[inner] = 0.0
    out[closed, 0] = 0.0
    return [
        MouthPose(float(o), float(w), float(r), bool(c))
        for (o, w, r), c in zip(np.clip(out, 0.0, 1.0).round(4), closed, strict=True)
    ]


def track_array(track: Sequence[MouthPose]) -> np.ndarray:
    """A track as a (frames, 4) float32 array: open, wide, round, closed_hard (0/1)."""
    return np.array([[p.open, p.wide, p.round, float(p.closed_hard)] for p in track], dtype=np.float32).reshape(-1, 4)


def poses_from_array(array: np.ndarray) -> list[MouthPose]:
    """The inverse of :func:`track_array`."""
    a = np.asarray(array, dtype=np.float64).reshape(-1, 4)
    return [MouthPose(float(o), float(w), float(r), bool(c > 0.5)) for o, w, r, c in a]


# --------------------------------------------------------------------------- Kokoro: per-phrase alignment

#: Typical durations (seconds) by viseme class, for spreading phonemes over speech.
_TYPICAL_S: dict[str, float] = {
    "PP": 0.065, "FF": 0.085, "TH": 0.07, "DD": 0.06, "KK": 0.065, "SS": 0.09, "CH": 0.095, "RR": 0.055,
    "AA": 0.1, "E": 0.08, "I": 0.075, "O": 0.1, "U": 0.085,
}  # fmt: skip
_MODIFIERS = set("ːˑʰʲʷ\u0303\u0329\u032a")
_BREAKS = set(".,!?;:…—，。！？；：、")


def misaki_units(phonemes: str) -> list[tuple[str, float]]:
    """A misaki phoneme string split into (unit, typical seconds); "_" units mark punctuation breaks.

    Length marks lengthen the unit before them (×1.5); stress, tone arrows and spaces carry
    no time (a space is a word boundary, which in running speech is not a pause).
    """
    units: list[tuple[str, float]] = []
    for ch in phonemes:
        if ch in _BREAKS:
            if units and units[-1][0] != "_":
                units.append(("_", 0.0))
            continue
        if ch in _MODIFIERS and units and units[-1][0] != "_":
            sym, dur = units[-1]
            units[-1] = (sym + ch, dur * (1.5 if ch in "ːˑ" else 1.0))
            continue
        visemes = phoneme_visemes(ch)
        if ch.isspace() or visemes == ["SIL"] or (_clean(ch) == "" and ch not in "_"):
            continue
        units.append((ch, sum(_TYPICAL_S.get(v, 0.07) for v in visemes)))
    while units and units[-1][0] == "_":
        units.pop()
    return units


def voiced_regions(
    samples: np.ndarray, sample_rate: int, *, floor_db: float = -32.0, min_gap_s: float = 0.06, min_len_s: float = 0.04
) -> list[tuple[float, float]]:
    """(start, end) seconds of speech: 10 ms frames within ``floor_db`` of the loudest, gaps under
    ``min_gap_s`` bridged, blips under ``min_len_s`` dropped."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    hop = max(1, sample_rate // 100)
    n = len(x) // hop
    if n == 0:
        return []
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1))
    threshold = max(rms.max() * 10 ** (floor_db / 20), 1e-4)
    voiced = rms > threshold
    regions: list[list[float]] = []
    for i in np.flatnonzero(voiced):
        t0, t1 = i * hop / sample_rate, (i + 1) * hop / sample_rate
        if regions and t0 - regions[-1][1] < min_gap_s:
            regions[-1][1] = t1
        else:
            regions.append([t0, t1])
    return [(a, b) for a, b in regions if b - a >= min_len_s]


_HOP_S = 0.01
#: Expected (loudness, low-band share) per viseme class: vowels loud and low; sibilants hiss (high band).
_EXPECT: dict[str, tuple[float, float]] = {
    "AA": (0.95, 0.85), "E": (0.9, 0.8), "I": (0.85, 0.75), "O": (0.92, 0.88), "U": (0.85, 0.88),
    "RR": (0.7, 0.82), "DD": (0.45, 0.6), "KK": (0.35, 0.45), "PP": (0.35, 0.7), "FF": (0.3, 0.3),
    "TH": (0.35, 0.4), "SS": (0.45, 0.12), "CH": (0.5, 0.2), "SIL": (0.0, 0.5),
}  # fmt: skip


def _frame_features(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per 10 ms frame: loudness (dB re the loudest frame, 40 dB → 0..1) and the share of energy below 1 kHz."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    hop = max(1, int(round(_HOP_S * sample_rate)))
    n = len(x) // hop
    if n == 0:
        return np.zeros((0, 2))
    win = 2 * hop
    padded = np.concatenate([np.zeros(hop // 2), x, np.zeros(win)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[::hop][:n] * np.hanning(win)  # (T, win)
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1.0 / sample_rate)
    low = spec[:, (freqs >= 80) & (freqs < 1000)].sum(axis=1)
    total = spec[:, (freqs >= 80) & (freqs < 8000)].sum(axis=1)
    energy = spec.sum(axis=1) + 1e-12
    db = 10 * np.log10(energy)
    loud = np.clip(1.0 + (db - db.max()) / 40.0, 0.0, 1.0)
    return np.stack([loud, low / np.maximum(total, 1e-12)], axis=1)


def _viterbi(
    feats: np.ndarray, phrase: Sequence[tuple[str, float]], weight: float = 8.0, band_frames: float = 15.0
) -> np.ndarray | None:
    """Start frame of each unit: a left-to-right alignment of the units to the frames (every unit at least
    one frame), scoring each frame against the unit's expected loudness and hiss, with a geometric
    duration prior from the typical durations scaled to the phrase's length and a Gaussian band
    (``band_frames`` or 8% of the phrase, whichever is wider) around the proportional path."""
    t_len, n = len(feats), len(phrase)
    if t_len < n or n == 0:
        return None
    expect = np.array([_EXPECT.get(phoneme_visemes(sym)[0], (0.5, 0.5)) for sym, _ in phrase])  # (N, 2)
    typical = np.array([d for _, d in phrase])
    frames = np.maximum(typical * t_len / typical.sum(), 1.0)  # expected frames per unit
    stay, move = np.log1p(-1.0 / (frames + 1.0)), np.log(1.0 / (frames + 1.0))  # (N,)
    emit = -weight * ((feats[:, None, :] - expect[None, :, :]) ** 2).sum(axis=2)  # (T, N)
    # A band around the proportional path keeps a long phrase from drifting through ambiguous stretches.
    centre = (np.cumsum(frames) - frames / 2) * t_len / frames.sum()  # (N,)
    sigma = max(band_frames, 0.08 * t_len)
    emit -= 0.5 * ((np.arange(t_len)[:, None] - centre[None, :]) / sigma) ** 2
    score = np.full(n, -np.inf)
    score[0] = emit[0, 0]
    back = np.zeros((t_len, n), dtype=np.int8)  # 1: advanced into this unit at this frame
    for t in range(1, t_len):
        from_stay = score + stay
        from_prev = np.concatenate([[-np.inf], score[:-1] + move[:-1]])
        back[t] = from_prev > from_stay
        score = np.maximum(from_stay, from_prev) + emit[t]
    if not np.isfinite(score[-1]):
        return None
    starts = np.zeros(n, dtype=np.int64)
    unit = n - 1
    for t in range(t_len - 1, 0, -1):
        if unit == 0:
            break
        if back[t, unit]:
            starts[unit] = t
            unit -= 1
    return starts


def align_phonemes(
    samples: np.ndarray, sample_rate: int, phonemes: str | Sequence[tuple[str, float]]
) -> list[tuple[str, float]]:
    """Phoneme (symbol, start) events for audio that came without timings (Kokoro).

    ``phonemes`` is the misaki string the audio was synthesised from (or pre-split
    :func:`misaki_units`). Phrases (split at punctuation) are matched in order to the
    silent gaps whose position in voiced time best fits each phrase's share of the typical
    duration; within a phrase, phonemes are laid over its voiced time in proportion to their
    typical durations, skipping the gaps, which become "_" pauses.
    """
    units = misaki_units(phonemes) if isinstance(phonemes, str) else [(str(u), float(d)) for u, d in phonemes]
    regions = voiced_regions(samples, sample_rate)
    if not regions or not units:
        return []
    # Phrases: runs of units between "_" breaks, with their typical-duration weights.
    phrases: list[list[tuple[str, float]]] = [[]]
    for u in units:
        if u[0] == "_":
            if phrases[-1]:
                phrases.append([])
        else:
            phrases[-1].append(u)
    phrases = [p for p in phrases if p]
    weights = np.array([sum(d for _, d in p) for p in phrases])
    voiced_len = np.array([b - a for a, b in regions])
    voiced_total = float(voiced_len.sum())
    # Voiced time before each gap (gap k lies between region k and k+1), as a fraction.
    gap_frac = np.cumsum(voiced_len)[:-1] / voiced_total
    gap_len = np.array([regions[k + 1][0] - regions[k][1] for k in range(len(regions) - 1)])
    targets = np.cumsum(weights)[:-1] / weights.sum()
    # Phrase boundaries in voiced-time fractions: snap to a fitting long gap when there is one.
    bounds: list[float] = []
    used = -1
    for f in targets:
        best, best_cost = None, 0.12
        for k in range(used + 1, len(gap_frac)):
            cost = abs(gap_frac[k] - f) - min(gap_len[k], 0.3) * 0.2  # long pauses are likelier breaks
            if gap_len[k] >= 0.08 and cost < best_cost:
                best, best_cost = k, cost
        if best is None:
            bounds.append(float(f))
        else:
            bounds.append(float(gap_frac[best]))
            used = best
    edges = np.clip(np.array([0.0, *bounds, 1.0]), 0.0, 1.0)
    edges = np.maximum.accumulate(edges)

    def real_time(frac: float) -> float:
        """Voiced-time fraction → seconds in the audio (a fraction on a region edge goes to the next region)."""
        v = frac * voiced_total
        for (a, _), length in zip(regions, voiced_len, strict=True):
            if v < length - 1e-9:
                return a + v
            v -= length
        return regions[-1][1]

    feats = _frame_features(samples, sample_rate)  # (T, 2) at 10 ms
    frame_t = (np.arange(len(feats)) + 0.5) * _HOP_S
    voiced_mask = np.zeros(len(feats), dtype=bool)
    for ra, rb in regions:
        voiced_mask |= (frame_t >= ra) & (frame_t < rb)
    events: list[tuple[str, float]] = []
    for phrase, f0, f1 in zip(phrases, edges[:-1], edges[1:], strict=True):
        durs = np.array([d for _, d in phrase])
        t0, t1 = real_time(float(f0)), real_time(float(f1)) if f1 < 1.0 else regions[-1][1]
        idx = np.arange(int(t0 / _HOP_S), min(len(feats), int(math.ceil(t1 / _HOP_S))))
        idx = idx[voiced_mask[idx]]  # the phrase's voiced frames only: silent gaps belong to no phoneme
        starts = _viterbi(feats[idx], phrase) if idx.size >= 2 * len(phrase) else None
        if starts is not None:
            events.extend((sym, float(idx[k]) * _HOP_S) for (sym, _), k in zip(phrase, starts, strict=True))
            continue
        # Too little audio for one frame per phoneme: spread by typical durations over voiced time.
        cum = f0 + (f1 - f0) * np.concatenate([[0.0], np.cumsum(durs) / durs.sum()])
        events.extend((sym, real_time(float(c))) for (sym, _), c in zip(phrase, cum[:-1], strict=True))
    # Each gap between voiced regions is a pause; a phoneme cut by the gap resumes after it.
    times = np.array([t for _, t in events])
    pauses: list[tuple[str, float]] = []
    for (_, end), (start, _) in zip(regions[:-1], regions[1:], strict=True):
        pauses.append(("_", end))
        k_before = int(np.searchsorted(times, end, side="left")) - 1  # last phoneme starting before the gap
        k_after = int(np.searchsorted(times, start - 1e-9, side="left"))  # first phoneme in the next region
        if k_before >= 0 and (k_after >= len(times) or times[k_after] > start + 1e-9):
            pauses.append((events[k_before][0], start))
    events.extend(pauses)
    events.append(("_", regions[-1][1]))
    return sorted(events, key=lambda e: e[1])


# --------------------------------------------------------------------------- one entry point

_g2p_lock = threading.Lock()
_g2p_backend: object | None = None


def _default_g2p(text: str, voice: str) -> str:
    """The misaki phonemes Kokoro speaks ``text`` from (the same G2P as the Kokoro backend)."""
    global _g2p_backend
    from adloom.core.types import Language
    from adloom.digital_human.voice.kokoro import KokoroTTS

    with _g2p_lock:
        if _g2p_backend is None:
            _g2p_backend = KokoroTTS()
    language = Language.zh if (voice.startswith("z") or re.search(r"[\u3400-\u9fff]", text)) else Language.en
    return _g2p_backend.phonemize(text, language=language, voice=voice or "af_heart")


def frame_loudness(
    samples: np.ndarray, sample_rate: int, n_frames: int, fps: int, *, range_db: float = 40.0
) -> np.ndarray:
    """Per-frame loudness in [0, 1]: RMS over the frame's interval centred on ``i / fps``, in dB
    relative to the loudest frame, mapped linearly from ``-range_db`` (0) to 0 dB (1)."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    centres = np.arange(n_frames) / fps
    a = np.clip(((centres - 0.5 / fps) * sample_rate).astype(np.int64), 0, len(x))
    b = np.clip(((centres + 0.5 / fps) * sample_rate).astype(np.int64), 0, len(x))
    sq = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    rms = np.sqrt((sq[b] - sq[a]) / np.maximum(b - a, 1))
    if n_frames == 0 or rms.max() <= 1e-6:
        return np.zeros(n_frames)
    db = 20 * np.log10(np.maximum(rms, 1e-9) / rms.max())
    return np.clip(1.0 + db / range_db, 0.0, 1.0)


def mouth_track(
    line: object, fps: int = 25, *, g2p: Callable[[str, str], str] | None = None, loudness: float = 0.7
) -> list[MouthPose]:
    """The mouth track of one spoken line (a ``LineAudio``): one pose per frame, ``ceil(duration × fps)`` frames.

    With phoneme timings (espeak-ng) they are used directly; without (Kokoro), the line's
    text is phonemised by misaki (``g2p(text, voice)`` overrides) and aligned to the audio;
    if no G2P can be loaded, the audio-driven path (:mod:`.audio_mouth`) is used instead.
    The viseme's opening is then scaled by the frame's loudness (``loudness`` = how much:
    0 keeps the viseme's own opening), so stressed, loud syllables open wider than weak ones.
    """
    samples = np.asarray(line.samples, dtype=np.float32)  # type: ignore[attr-defined]
    rate = int(line.sample_rate)  # type: ignore[attr-defined]
    duration = len(samples) / rate
    n_frames = math.ceil(len(samples) * fps / rate)
    timings = line.phonemes  # type: ignore[attr-defined]
    if timings is None:
        text = str(line.text)  # type: ignore[attr-defined]
        try:
            phonemes = (g2p or _default_g2p)(text, str(line.voice))  # type: ignore[attr-defined]
        except BackendUnavailableError as exc:  # misaki not installed: the audio-driven path still works
            log.info("no G2P for lip-sync alignment (%s); using the audio-driven mouth", exc)
            phonemes = ""
        except Exception as exc:  # noqa: BLE001 - a G2P failure on odd text must not cost the line its mouth
            log.warning("G2P failed on %r (%s); using the audio-driven mouth", text[:40], exc)
            phonemes = ""
        timings = align_phonemes(samples, rate, phonemes) if phonemes else None
        if not timings:
            from adloom.digital_human.avatar.audio_mouth import audio_mouth_track

            return audio_mouth_track(samples, rate, fps)
    track = track_from_timings(timings, duration, fps, n_frames=n_frames)
    if not loudness or not track:
        return track
    gain = (1.0 - loudness) + loudness * frame_loudness(samples, rate, len(track), fps)
    return [
        MouthPose(round(p.open * float(g), 4), p.wide, p.round, p.closed_hard) for p, g in zip(track, gain, strict=True)
    ]
