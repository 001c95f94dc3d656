"""A faiss vector index with metadata filters for the creative library.

Inner-product search over L2-normalised vectors (so scores are cosine
similarities), with exact-match filters on small categorical fields
(industry, platform, language, aspect) stored as integer code arrays beside
the vectors.

Why this structure — measured with ``bench/retrieval.py`` (2 shared AMD EPYC
cores, 384-d hashing vectors of generated zh/en ad text, single queries):

* **Library: faiss.** One in-process C++ dependency with no server that does
  exact and graph search, takes an ``IDSelector`` in per-call search
  parameters (filtering without one index per filter value), and persists
  with ``write_index``. That is what an offline one-machine default needs.
* **Exact ``IndexFlatIP`` up to ``hnsw_threshold`` (20k) items.** A flat scan
  costs 0.03 ms at 1k and 0.25 ms at 10k — far below the 9–45 ms (idle to
  busy cores) it takes to embed the query with e5 — and is exact, with no
  build time and no memory beyond the vectors. The 400-item sample library
  and most real accounts stay here.
* **``IndexHNSWFlat`` (M=32, efConstruction=40, efSearch=64) above it.** At 100k
  the flat scan costs 7.0 ms median; HNSW answers in 0.17 ms (×0.02) with
  recall@10 0.974 against exact search, after a 10 s build (once, when an
  ``add`` crosses the threshold: the stored vectors are re-added to a graph).
  Memory at 100k: 154 MB of vectors plus ~26 MB of graph links.
* **Searches run with one OpenMP thread** (``search_threads``). With a single
  query, faiss's threads cost more in barrier waits than they save, badly so
  when the cores are shared with the e5 embedder or other workers: the 100k
  flat scan took 40 ms with 2 threads against 7.0 ms with 1 (10k: 16 ms
  against 0.25 ms). The setting is applied to the calling thread only and
  restored; ``add`` keeps all threads for building the graph.
* **Filters.** Codes are compared with numpy (~0.2 ms at 100k). When at most
  ``exact_filter_limit`` (20k) rows match — every filter on a flat index,
  and one industry or platform (or a combination) at 100k — the flat storage
  is scanned with an ``IDSelectorBitmap``: exact, cost proportional to the
  matches (3.1 ms for one industry at 100k, 0.26 ms at 10k). Broader filters on a graph index first
  take the graph's *unfiltered* top ``2k/selectivity`` and keep the matching
  rows (1.2 ms, recall 0.975); when fewer than ``k`` of those match, the filter
  runs against the query and the bitmap scan answers (10.6 ms for language=zh on
  an English query at 100k). We do not pass the selector into the HNSW search
  itself: metadata here is correlated with the text (language, industry), and
  a filtered graph walk from an English query explores an English
  neighbourhood — in tests it returned 10 results of which 1 was in the true
  filtered top 10. Either way every result matches the filters, and ``k`` come
  back whenever ``k`` rows match.

Searches may run concurrently; ``add`` and ``save`` need exclusive access.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from adloom.core.errors import BackendUnavailableError, InputError, NotFoundError, StorageError
from adloom.core.paths import write_atomic

#: Metadata fields of a library item that searches can filter on.
DEFAULT_FIELDS: tuple[str, ...] = ("industry", "platform", "language", "aspect")

FilterValue = str | Enum | Sequence[str | Enum] | None
Filters = Mapping[str, FilterValue]

_FORMAT = 1
_NORM_TOL = 1e-3
_OVERFETCH = 2  # graph candidates fetched per wanted result, divided by the filter's selectivity


def _faiss() -> Any:
    """Import faiss on first use (it loads OpenMP and SIMD kernels: not at import time)."""
    try:
        import faiss
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the vector index needs faiss ({exc}); install it with: pip install 'adloom[retrieval]'"
        ) from exc
    return faiss


@contextmanager
def _omp_threads(n: int) -> Iterator[None]:
    """Run faiss with ``n`` OpenMP threads in the calling thread only (the OpenMP setting is per thread)."""
    faiss = _faiss()
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _text(value: object, where: str) -> str:
    """A metadata or filter value as its string form (enums by value)."""
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, str):
        raise InputError(f"{where} is {type(value).__name__} {value!r}; metadata values must be strings or enums")
    return value


class VectorIndex:
    """Cosine top-k over unit vectors with exact metadata filters; flat below a size, HNSW above.

    ``fields`` are the filterable metadata keys every added row must carry;
    each field holds at most 65 535 distinct values (stored as uint16 codes).
    """

    def __init__(
        self,
        dim: int,
        fields: Sequence[str] = DEFAULT_FIELDS,
        *,
        hnsw_threshold: int = 20_000,
        hnsw_m: int = 32,
        ef_construction: int = 40,
        ef_search: int = 64,
        exact_filter_limit: int = 20_000,
        search_threads: int = 1,
    ) -> None:
        if dim < 1:
            raise InputError(f"VectorIndex(dim={dim}): dimension must be positive")
        if len(set(fields)) != len(fields):
            raise InputError(f"VectorIndex(fields={list(fields)}): field names repeat")
        if search_threads < 1:
            raise InputError(f"VectorIndex(search_threads={search_threads}): needs at least 1 thread")
        if hnsw_m < 4 or ef_construction < 1 or ef_search < 1:
            raise InputError(
                f"VectorIndex: HNSW parameters M={hnsw_m}, efConstruction={ef_construction}, "
                f"efSearch={ef_search} are too small; use M>=4 and ef>=1"
            )
        self.dim = dim
        self.fields = tuple(fields)
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.exact_filter_limit = exact_filter_limit
        self.search_threads = search_threads
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._codes: dict[str, npt.NDArray[np.uint16]] = {f: np.zeros(0, dtype=np.uint16) for f in self.fields}
        self._vocab: dict[str, list[str]] = {f: [] for f in self.fields}
        self._lookup: dict[str, dict[str, int]] = {f: {} for f in self.fields}
        self._index: Any = None  # faiss index, created on first add (no faiss import before it is needed)

    # ---- state -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._pos

    @property
    def kind(self) -> str:
        """``"flat"`` (exact) or ``"hnsw"`` (graph) — which structure answers unfiltered searches."""
        faiss = _faiss() if self._index is not None else None
        return "hnsw" if faiss is not None and isinstance(self._index, faiss.IndexHNSWFlat) else "flat"

    @property
    def ids(self) -> list[str]:
        """Item ids in insertion order (row i of the index is ``ids[i]``)."""
        return list(self._ids)

    def _storage(self) -> Any:
        """The flat array of all vectors: the index itself, or the HNSW graph's storage."""
        faiss = _faiss()
        if isinstance(self._index, faiss.IndexHNSWFlat):
            return faiss.downcast_index(self._index.storage)
        return self._index

    # ---- building ----------------------------------------------------------------------------

    def _check_vectors(self, vectors: npt.ArrayLike, n: int, what: str) -> npt.NDArray[np.float32]:
        arr = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.shape != (n, self.dim):
            raise InputError(
                f"{what} has shape {arr.shape}, expected ({n}, {self.dim}); one row of dim {self.dim} each"
            )
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{what} contains NaN or infinite values; re-embed the texts")
        norms = np.linalg.norm(arr, axis=1)
        bad = np.flatnonzero(np.abs(norms - 1.0) > _NORM_TOL)
        if bad.size:
            raise InputError(
                f"{what} row {int(bad[0])} has L2 norm {norms[bad[0]]:.4f}; the index does inner-product "
                "search on unit vectors — normalise rows (x / ||x||) before adding or searching"
            )
        return arr

    def _encode(self, field: str, value: str) -> int:
        code = self._lookup[field].get(value)
        if code is None:
            code = len(self._vocab[field])
            if code > np.iinfo(np.uint16).max:
                raise InputError(f"metadata field {field!r} has more than 65535 distinct values; it is not categorical")
            self._vocab[field].append(value)
            self._lookup[field][value] = code
        return code

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike, meta: Sequence[Mapping[str, Any]]) -> None:
        """Append rows. ``ids`` must be new and unique; ``meta[i]`` must carry every filter field."""
        ids = list(ids)
        if len(meta) != len(ids):
            raise InputError(f"VectorIndex.add: {len(ids)} ids but {len(meta)} metadata rows; pass one per id")
        if not ids:
            return
        arr = self._check_vectors(vectors, len(ids), "VectorIndex.add vectors")
        seen: set[str] = set()
        for i, item_id in enumerate(ids):
            if not isinstance(item_id, str) or not item_id:
                raise InputError(f"VectorIndex.add: ids[{i}] is {item_id!r}; ids must be non-empty strings")
            if item_id in self._pos or item_id in seen:
                raise InputError(
                    f"VectorIndex.add: id {item_id!r} is already in the index; ids are unique — "
                    "build a fresh index to replace an item"
                )
            seen.add(item_id)
        new_codes: dict[str, list[int]] = {f: [] for f in self.fields}
        for i, row in enumerate(meta):
            for field in self.fields:
                if field not in row:
                    raise InputError(
                        f"VectorIndex.add: meta[{i}] (id {ids[i]!r}) has no {field!r}; every row needs "
                        f"{', '.join(self.fields)}"
                    )
                new_codes[field].append(self._encode(field, _text(row[field], f"meta[{i}][{field!r}]")))

        faiss = _faiss()
        total = len(self._ids) + len(ids)
        if self._index is None:
            self._index = faiss.IndexFlatIP(self.dim)
        if total > self.hnsw_threshold and not isinstance(self._index, faiss.IndexHNSWFlat):
            old = self._index.reconstruct_n(0, self._index.ntotal) if self._index.ntotal else None
            graph = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = self.ef_construction
            graph.hnsw.efSearch = self.ef_search
            if old is not None:
                graph.add(old)
            self._index = graph
        self._index.add(arr)
        for field in self.fields:
            self._codes[field] = np.concatenate([self._codes[field], np.asarray(new_codes[field], dtype=np.uint16)])
        for item_id in ids:
            self._pos[item_id] = len(self._ids)
            self._ids.append(item_id)

    # ---- searching ---------------------------------------------------------------------------

    def _mask(self, filters: Filters) -> npt.NDArray[np.bool_] | None:
        """Rows matching every filter (None when no filter constrains anything)."""
        mask: npt.NDArray[np.bool_] | None = None
        for field, wanted in filters.items():
            if field not in self._codes:
                raise InputError(f"unknown filter {field!r}; filterable fields are {', '.join(self.fields)}")
            if wanted is None:
                continue
            values = [wanted] if isinstance(wanted, str | Enum) else list(wanted)
            if not values:
                raise InputError(
                    f"filter {field!r} is an empty list, which matches nothing; omit it to match any value"
                )
            codes = [self._lookup[field].get(_text(v, f"filter {field!r} value")) for v in values]
            known = np.asarray([c for c in codes if c is not None], dtype=np.uint16)
            hit = np.isin(self._codes[field], known) if known.size else np.zeros(len(self._ids), dtype=bool)
            mask = hit if mask is None else mask & hit
        return mask

    def search(self, query_vec: npt.ArrayLike, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """The ``k`` rows most similar to ``query_vec`` that match ``filters``, best first.

        ``filters`` maps a field to one value or a list of accepted values (OR
        within a field, AND across fields); ``None`` values are ignored. Returns
        ``(id, cosine similarity)`` pairs; fewer than ``k`` only when fewer rows match.
        """
        if not isinstance(k, int) or k < 1:
            raise InputError(f"VectorIndex.search: k={k!r}; ask for at least one result")
        q = self._check_vectors(query_vec, 1, "VectorIndex.search query")
        if not self._ids:
            return []
        mask = self._mask(filters) if filters else None
        with _omp_threads(self.search_threads):
            if mask is None:
                return self._unfiltered(q, min(k, len(self._ids)))
            n_match = int(mask.sum())
            if n_match == 0:
                return []
            k = min(k, n_match)
            if self.kind == "hnsw" and n_match > self.exact_filter_limit:
                hits = self._graph_filtered(q, k, mask, n_match)
                if hits is not None:
                    return hits
            return self._exact_filtered(q, k, mask)

    def _collect(self, scores: npt.NDArray[np.float32], rows: npt.NDArray[np.int64]) -> list[tuple[str, float]]:
        return [(self._ids[int(r)], float(s)) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0]

    def _unfiltered(self, q: npt.NDArray[np.float32], k: int) -> list[tuple[str, float]]:
        faiss = _faiss()
        if isinstance(self._index, faiss.IndexHNSWFlat):
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(self.ef_search, k)
            scores, rows = self._index.search(q, k, params=params)
        else:
            scores, rows = self._index.search(q, k)
        return self._collect(scores, rows)

    def _exact_filtered(
        self, q: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_]
    ) -> list[tuple[str, float]]:
        faiss = _faiss()
        bits = np.packbits(mask, bitorder="little")  # must outlive the search: faiss keeps a raw pointer
        selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        params = faiss.SearchParameters()
        params.sel = selector
        scores, rows = self._storage().search(q, k, params=params)
        return self._collect(scores, rows)

    def _graph_filtered(
        self, q: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_], n_match: int
    ) -> list[tuple[str, float]] | None:
        """Matching rows among the graph's unfiltered top ``k'``; None when fewer than ``k`` of them match.

        ``k' = overfetch · k / selectivity``. If the true top ``k'`` holds at least ``k``
        matching rows, the best ``k`` of them are exactly the filtered top ``k`` (each
        of those outranks the k-th match found), so accuracy is the graph's recall.
        When the filter runs against the query, too few match and the caller scans.
        """
        faiss = _faiss()
        fetch = min(len(mask), math.ceil(_OVERFETCH * k * len(mask) / n_match))
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, fetch)
        scores, rows = self._index.search(q, fetch, params=params)
        found = rows[0] >= 0
        rows_found, scores_found = rows[0][found], scores[0][found]
        matching = mask[rows_found]
        if int(matching.sum()) < k:
            return None
        return self._collect(scores_found[matching][None, :k], rows_found[matching][None, :k])

    # ---- persistence -------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``index.faiss``, ``meta.npz`` and ``index.json`` (written last) into ``directory``."""
        faiss = _faiss()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        index = self._index if self._index is not None else faiss.IndexFlatIP(self.dim)
        tmp = out / "index.faiss.tmp"
        faiss.write_index(index, str(tmp))
        os.replace(tmp, out / "index.faiss")
        with open(out / "meta.npz.tmp", "wb") as fh:
            np.savez(
                fh, ids=np.asarray(self._ids, dtype=np.str_), **{f"codes_{f}": self._codes[f] for f in self.fields}
            )
        os.replace(out / "meta.npz.tmp", out / "meta.npz")
        manifest = {
            "format": _FORMAT,
            "dim": self.dim,
            "count": len(self._ids),
            "fields": list(self.fields),
            "vocab": self._vocab,
            "params": {
                "hnsw_threshold": self.hnsw_threshold,
                "hnsw_m": self.hnsw_m,
                "ef_construction": self.ef_construction,
                "ef_search": self.ef_search,
                "exact_filter_limit": self.exact_filter_limit,
                "search_threads": self.search_threads,
            },
        }
        write_atomic(out / "index.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        return out

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> VectorIndex:
        """Read an index written by :meth:`save`."""
        src = Path(directory)
        for name in ("index.json", "index.faiss", "meta.npz"):
            if not (src / name).is_file():
                raise NotFoundError(
                    f"no saved vector index in {src}: {name} is missing; build and save the index first"
                )
        try:
            manifest = json.loads((src / "index.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StorageError(f"{src / 'index.json'} is unreadable ({exc}); rebuild the index") from exc
        if manifest.get("format") != _FORMAT:
            raise StorageError(
                f"{src} holds index format {manifest.get('format')!r}, this adloom reads {_FORMAT}; rebuild the index"
            )
        loaded = cls(manifest["dim"], manifest["fields"], **manifest["params"])
        faiss = _faiss()
        index = faiss.read_index(str(src / "index.faiss"))
        with np.load(src / "meta.npz", allow_pickle=False) as data:
            ids = [str(x) for x in data["ids"]]
            codes = {f: data[f"codes_{f}"].astype(np.uint16) for f in loaded.fields}
        if not (index.ntotal == len(ids) == manifest["count"]) or any(len(c) != len(ids) for c in codes.values()):
            raise StorageError(
                f"{src}: index.faiss has {index.ntotal} vectors, meta.npz {len(ids)} ids, index.json says "
                f"{manifest['count']}; the save was interrupted — rebuild the index"
            )
        if index.d != loaded.dim:
            raise StorageError(f"{src}: index.faiss has dim {index.d}, index.json says {loaded.dim}; rebuild the index")
        loaded._index = index if index.ntotal else None
        loaded._ids = ids
        loaded._pos = {item_id: i for i, item_id in enumerate(ids)}
        loaded._codes = codes
        loaded._vocab = {f: list(manifest["vocab"][f]) for f in loaded.fields}
        loaded._lookup = {f: {v: i for i, v in enumerate(vals)} for f, vals in loaded._vocab.items()}
        return loaded
