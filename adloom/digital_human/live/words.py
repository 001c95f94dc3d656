"""Words of a line and where each ends in its audio: the places the presenter may be interrupted.

Why estimates snapped to silence: espeak-ng reports phonemes with exact times but no word
indices, and Kokoro reports nothing; what every backend gives is the audio. So each
word's end is first estimated from its share of the line's spoken weight (letters for
Latin words, three letters' worth per Chinese character, a pause's worth after
punctuation), then moved to the quietest 10 ms within a window around the estimate —
the gap between words, where a cut makes no click and resumption sounds natural.

Chinese is split per character (each is one syllable) and Latin runs per word, so mixed
copy ("这款 BreezeBot 很安静") resumes correctly; :func:`join_words` restores spacing.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["join_words", "split_words", "word_ends"]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
_PUNCT_ONLY = re.compile(r"^[^\w]+$")
_PAUSE = re.compile(r"[,.!?;:，。！？；：、…]$")
_CJK_CHAR = re.compile(rf"[{_CJK}]")


def split_words(text: str) -> list[str]:
    """Words of ``text``: Latin runs split on spaces, Chinese per character, punctuation kept on the word before."""
    words: list[str] = []
    for token in _TOKEN.findall(text):
        if words and _PUNCT_ONLY.match(token):
            words[-1] += token
        else:
            words.append(token)
    return words


def join_words(words: list[str]) -> str:
    """Inverse of :func:`split_words` up to whitespace: spaces only between two non-Chinese neighbours."""
    out = ""
    for word in words:
        if out and not _CJK_CHAR.match(out[-1]) and not _CJK_CHAR.match(word[0]):
            out += " "
        out += word
    return out


def _weight(word: str) -> float:
    letters = sum(1 for ch in word if ch.isalnum() and not _CJK_CHAR.match(ch))
    syllables = len(_CJK_CHAR.findall(word))
    pause = 2.0 if _PAUSE.search(word) else 0.0
    return max(1.0, letters + 3.0 * syllables) + pause


def word_ends(samples: np.ndarray, sample_rate: int, words: list[str]) -> np.ndarray:
    """Sample index where each word ends (non-decreasing; the last is ``len(samples)``)."""
    n = len(samples)
    if not words:
        return np.zeros(0, dtype=np.int64)
    if n == 0:
        return np.zeros(len(words), dtype=np.int64)
    weights = np.array([_weight(w) for w in words], dtype=np.float64)
    estimates = np.cumsum(weights) / weights.sum() * n
    hop = max(1, sample_rate // 100)  # 10 ms
    frames = n // hop
    ends = np.empty(len(words), dtype=np.int64)
    if frames < 3:
        ends[:] = np.round(estimates).astype(np.int64)
        ends[-1] = n
        return ends
    x = np.asarray(samples[: frames * hop], dtype=np.float64).reshape(frames, hop)
    energy = np.sqrt(np.mean(x * x, axis=1)) + 1e-9  # (frames,)
    mean_word = n / len(words)
    half = max(1, int(min(0.45 * mean_word, 0.15 * sample_rate) // hop))  # search ± this many frames
    previous = 0
    for i, estimate in enumerate(estimates[:-1]):
        centre = int(estimate // hop)
        lo, hi = max(previous // hop, centre - half), min(frames, centre + half + 1)
        if hi <= lo:
            at = max(previous, int(estimate))
        else:
            quietest = lo + int(np.argmin(energy[lo:hi]))
            at = max(previous, quietest * hop + hop // 2)
        ends[i] = min(at, n)
        previous = ends[i]
    ends[-1] = n
    return ends
