"""Retrieve past creatives for a brief: embedding similarity × smoothed observed performance.

Ranking
-------
For a brief ``q`` and a library item ``i`` with cosine similarity ``sim_i``::

    relevance_i = max(0, sim_i − s0(q)) / (1 − s0(q))
    score_i     = relevance_i × prior_i ** w            (w = prior_weight, default 0.5)

``s0(q)`` is the *background similarity* of the brief: the median similarity
between ``q`` and a fixed, seeded sample of up to 256 library vectors — what an
unrelated item scores. It is measured per query because embedders differ in
scale: e5 puts unrelated same-language texts at cos ≈ 0.8 and the best match
at ≈ 0.9, feature hashing puts unrelated text near 0. Two consequences, by
construction rather than by tuning:

* an item no more similar than the background gets relevance 0 and can never
  outrank an on-topic item, however well it performed (off-topic stays off);
* among items above the background, the prior can only reorder items whose
  relevance differs by less than the prior ratio to the power ``w``
  (priors are clipped to [0.25, 4], so by at most 4×).

Only the top ``max(pool_factor·k, min_pool)`` items by similarity (after the
filters, which the index applies exactly) are re-ranked: a creative that
performed well but is far down the similarity list is not pulled up. Ties
(e.g. all relevance 0) fall back to similarity.

The performance prior
---------------------
CTR is Beta-Binomial. For each industry, a Beta(α, β) over creatives' true
CTRs is fitted by the method of moments on the items with impressions
(empirical Bayes)::

    m   = (Σ clicks + ½) / (Σ impressions + 1)            pooled mean
    τ²  = Var(clicksᵢ/impressionsᵢ) − m(1 − m)·mean(1/impressionsᵢ)
    κ   = m(1 − m)/τ² − 1, clipped to [10, 10⁶]             (κ_max when τ² ≤ 0)
    α   = m·κ,  β = (1 − m)·κ

The first term of τ² is the spread of observed CTRs, the second the spread
binomial noise alone would give; what is left is real creative-to-creative
variation. Industries with fewer than ``min_industry_items`` (5) items with
impressions use the Beta fitted on the whole library. An item's CTR factor
is its posterior mean relative to the prior mean::

    ctr_rel = ((α + clicks) / (α + β + impressions)) / (α / (α + β))

so an item with no impressions has exactly 1.0, a proven one > 1 and a poor
one < 1, and a handful of lucky clicks moves it little (κ acts as a pseudo
count of impressions). The 3-second-play rate gets the same treatment
(plays_3s / impressions, own Beta) and the two blend geometrically::

    prior = clip(ctr_rel ** (1 − λ) · play_rel ** λ, 0.25, 4)     (λ = play_weight, 0.25)

CTR leads because it is the outcome advertisers buy; play rate adds a
lower-variance signal about the hook (plays outnumber clicks ~20:1).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from adloom.core.errors import ConfigError, InputError, NotFoundError, StorageError
from adloom.core.paths import safe_filename, write_atomic
from adloom.core.protocols import Embedder
from adloom.core.types import Aspect, Industry, Language, LibraryItem, Performance, Platform
from adloom.scripts_gen.library.index import VectorIndex

ProgressFn = Callable[[int, int], None]
FilterArg = str | Enum | Sequence[str | Enum] | None

#: Industry names in both library languages, appended to each item's text so a zh brief
#: and an en item (or the reverse) still share the industry's vocabulary.
INDUSTRY_LABELS: dict[Industry, str] = {
    Industry.beauty: "美妆护肤 beauty & skincare",
    Industry.apparel: "服饰鞋包 apparel & fashion",
    Industry.food: "食品饮料 food & drinks",
    Industry.electronics: "数码电器 electronics",
    Industry.games: "游戏 games",
    Industry.education: "教育培训 education",
    Industry.auto: "汽车 automotive",
    Industry.home: "家居生活 home & living",
    Industry.finance: "金融理财 finance",
    Industry.travel: "旅游出行 travel",
}

_FORMAT = 1
_EMBED_BATCH = 64


def retrieval_text(item: LibraryItem) -> str:
    """The text embedded for an item: title, hook/narration/captions/CTA, industry label."""
    return "\n".join([item.title, item.script.full_text(), INDUSTRY_LABELS.get(item.industry, item.industry.value)])


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved creative: its cosine similarity, performance prior and the ranking score."""

    item: LibraryItem
    similarity: float
    prior: float
    score: float


@dataclass(frozen=True)
class RankingConfig:
    """Knobs of the ranking and of the empirical-Bayes prior (see the module docstring)."""

    prior_weight: float = 0.5  # w: score = relevance × prior ** w
    play_weight: float = 0.25  # λ: share of the 3-second-play rate in the prior
    min_industry_items: int = 5  # items with impressions needed to fit an industry's own Beta
    kappa_min: float = 10.0  # bounds of the fitted Beta's concentration α + β
    kappa_max: float = 1e6
    prior_min: float = 0.25
    prior_max: float = 4.0
    pool_factor: int = 4  # candidates re-ranked = max(pool_factor · k, min_pool)
    min_pool: int = 32
    background_size: int = 256  # library vectors sampled to estimate a query's background similarity
    seed: int = 0

    def __post_init__(self) -> None:
        if self.prior_weight < 0 or not 0 <= self.play_weight <= 1:
            raise InputError(
                f"RankingConfig: prior_weight={self.prior_weight} must be >= 0 and "
                f"play_weight={self.play_weight} in [0, 1]"
            )
        if not 0 < self.kappa_min <= self.kappa_max or not 0 < self.prior_min <= 1 <= self.prior_max:
            raise InputError(
                "RankingConfig: need 0 < kappa_min <= kappa_max and 0 < prior_min <= 1 <= prior_max; "
                f"got kappa [{self.kappa_min}, {self.kappa_max}], prior [{self.prior_min}, {self.prior_max}]"
            )
        if self.pool_factor < 1 or self.min_pool < 1 or self.background_size < 1 or self.min_industry_items < 1:
            raise InputError(
                "RankingConfig: pool_factor, min_pool, background_size and min_industry_items must be >= 1"
            )


@dataclass(frozen=True)
class BetaFit:
    """A fitted Beta(α, β) prior over a rate, and where it came from."""

    alpha: float
    beta: float
    n_items: int  # items with impressions the fit used
    source: str  # "industry", "global" (too few industry items) or "none" (no data anywhere)

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


def fit_beta_moments(
    successes: npt.ArrayLike, trials: npt.ArrayLike, *, kappa_min: float = 10.0, kappa_max: float = 1e6
) -> tuple[float, float]:
    """Method-of-moments Beta(α, β) for per-item rates ``successes/trials`` (rows with 0 trials ignored).

    Subtracts the binomial sampling variance from the observed variance of the
    rates so that noise from small samples is not mistaken for real spread.
    """
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    keep = n > 0
    s, n = s[keep], n[keep]
    m = (s.sum() + 0.5) / (n.sum() + 1.0)  # Jeffreys-smoothed pooled rate: positive even with no successes
    kappa = kappa_max
    if len(n) >= 2:
        tau2 = float(np.var(s / n, ddof=1) - m * (1.0 - m) * np.mean(1.0 / n))
        if tau2 > 0:
            kappa = m * (1.0 - m) / tau2 - 1.0
    kappa = float(np.clip(kappa, kappa_min, kappa_max))
    return float(m * kappa), float((1.0 - m) * kappa)


def _values(arg: FilterArg) -> str | list[str] | None:
    """A search filter argument as the index expects it (enums by value)."""
    if arg is None:
        return None
    if isinstance(arg, Enum):
        return str(arg.value)
    if isinstance(arg, str):
        return arg
    return [str(v.value) if isinstance(v, Enum) else v for v in arg]


class LibraryRetriever:
    """Finds the past creatives most like a brief, favouring those that performed.

    ``index`` is a template: ``build`` fills a fresh :class:`VectorIndex` with its
    parameters (so a rebuild never collides with old rows). ``cache_dir``, when
    given, stores each text's embedding as ``<cache_dir>/<embedder>/<sha256>.npy``
    keyed by sha256(embedder name + text), so rebuilding an unchanged library does
    not touch the model.
    """

    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        config: RankingConfig | None = None,
    ) -> None:
        if index is not None and index.dim != embedder.dim:
            raise InputError(
                f"LibraryRetriever: index dim {index.dim} does not match embedder {embedder.name!r} dim "
                f"{embedder.dim}; create the index with VectorIndex({embedder.dim})"
            )
        self.embedder = embedder
        self.config = config or RankingConfig()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._index = index if index is not None else VectorIndex(embedder.dim)
        self._items: dict[str, LibraryItem] = {}
        self._background = np.zeros((0, embedder.dim), dtype=np.float32)
        self._priors: dict[str, float] | None = None
        self._fits: dict[tuple[str, str], BetaFit] = {}

    # ---- state -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    @property
    def index(self) -> VectorIndex:
        return self._index

    @property
    def items(self) -> list[LibraryItem]:
        """Library items in index order, with their latest performance."""
        return [self._items[i] for i in self._index.ids]

    # ---- building ----------------------------------------------------------------------------

    def _cache_path(self, text: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(f"{self.embedder.name}\n{text}".encode()).hexdigest()
        return self.cache_dir / safe_filename(self.embedder.name) / key[:2] / f"{key}.npy"

    def _read_cached(self, path: Path | None) -> npt.NDArray[np.float32] | None:
        """A cached vector, or None when absent or unusable (it is then recomputed and overwritten)."""
        if path is None or not path.is_file():
            return None
        try:
            vec = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        if vec.shape != (self.embedder.dim,) or vec.dtype != np.float32 or not np.all(np.isfinite(vec)):
            return None
        return vec if abs(float(np.linalg.norm(vec)) - 1.0) < 1e-3 else None

    @staticmethod
    def _write_cached(path: Path, vec: npt.NDArray[np.float32]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.tmp")  # unique: parallel builds may race
        with open(tmp, "wb") as fh:
            np.save(fh, vec)
        os.replace(tmp, path)

    def _embed(self, texts: list[str], progress: ProgressFn | None) -> npt.NDArray[np.float32]:
        """Embeddings for ``texts``, from the cache where possible, from the embedder otherwise."""
        out = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        rows_of: dict[str, list[int]] = {}  # duplicate texts (re-uploaded creatives) are embedded once
        for i, text in enumerate(texts):
            rows_of.setdefault(text, []).append(i)
        missing: list[str] = []
        for text, rows in rows_of.items():
            vec = self._read_cached(self._cache_path(text))
            if vec is None:
                missing.append(text)
            else:
                out[rows] = vec
        done = len(rows_of) - len(missing)
        if progress is not None:
            progress(done, len(rows_of))
        for start in range(0, len(missing), _EMBED_BATCH):
            batch = missing[start : start + _EMBED_BATCH]
            vecs = np.asarray(self.embedder.embed_passages(batch), dtype=np.float32)
            if vecs.shape != (len(batch), self.embedder.dim):
                raise StorageError(
                    f"embedder {self.embedder.name!r} returned shape {vecs.shape} for {len(batch)} texts, "
                    f"expected ({len(batch)}, {self.embedder.dim}); the embedder plugin is broken"
                )
            for text, vec in zip(batch, vecs, strict=True):
                out[rows_of[text]] = vec
                path = self._cache_path(text)
                if path is not None:
                    self._write_cached(path, vec)
            done += len(batch)
            if progress is not None:
                progress(done, len(rows_of))
        return out

    def build(self, items: Sequence[LibraryItem], progress: ProgressFn | None = None) -> None:
        """Embed (or load cached embeddings of) ``items`` and index them, replacing any earlier build.

        ``progress(done, total)`` counts distinct texts (duplicates are embedded once); it is
        called after the cache lookup and after each embedded batch.
        """
        items = list(items)
        seen: set[str] = set()
        for i, item in enumerate(items):
            if not isinstance(item, LibraryItem):
                raise InputError(f"LibraryRetriever.build: items[{i}] is {type(item).__name__}, not LibraryItem")
            if item.id in seen:
                raise InputError(f"LibraryRetriever.build: item id {item.id!r} appears twice; ids must be unique")
            seen.add(item.id)
        vectors = self._embed([retrieval_text(it) for it in items], progress)
        template = self._index
        index = VectorIndex(
            template.dim,
            template.fields,
            hnsw_threshold=template.hnsw_threshold,
            hnsw_m=template.hnsw_m,
            ef_construction=template.ef_construction,
            ef_search=template.ef_search,
            exact_filter_limit=template.exact_filter_limit,
            search_threads=template.search_threads,
        )
        meta = [{f: getattr(it, f) for f in index.fields} for it in items]
        index.add([it.id for it in items], vectors, meta)
        self._index = index
        self._items = {it.id: it for it in items}
        self._background = self._sample_background(vectors)
        self._priors = None

    def _sample_background(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        n = min(self.config.background_size, len(vectors))
        rows = np.random.default_rng(self.config.seed).choice(len(vectors), size=n, replace=False)
        return np.ascontiguousarray(vectors[np.sort(rows)])

    # ---- performance prior -------------------------------------------------------------------

    def _fit(self, items: list[LibraryItem], metric: str) -> dict[str, BetaFit]:
        """One Beta per industry for ``metric`` ("clicks" or "plays_3s"), global where data are thin."""
        cfg = self.config
        bounds = {"kappa_min": cfg.kappa_min, "kappa_max": cfg.kappa_max}

        def counts(group: list[LibraryItem]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
            s = np.array([getattr(it.performance, metric) for it in group], dtype=np.float64)
            n = np.array([it.performance.impressions for it in group], dtype=np.float64)
            return s, n

        all_s, all_n = counts(items)
        n_global = int((all_n > 0).sum())
        glob = BetaFit(
            *fit_beta_moments(all_s, all_n, **bounds), n_items=n_global, source="global" if n_global else "none"
        )
        fits: dict[str, BetaFit] = {}
        for industry in {it.industry.value for it in items}:
            group = [it for it in items if it.industry.value == industry]
            s, n = counts(group)
            n_items = int((n > 0).sum())
            if n_items >= cfg.min_industry_items:
                fits[industry] = BetaFit(*fit_beta_moments(s, n, **bounds), n_items=n_items, source="industry")
            else:
                fits[industry] = glob
        return fits

    def _ensure_priors(self) -> dict[str, float]:
        if self._priors is None:
            items = list(self._items.values())
            ctr_fits, play_fits = self._fit(items, "clicks"), self._fit(items, "plays_3s")
            self._fits = {(ind, "ctr"): f for ind, f in ctr_fits.items()} | {
                (ind, "play_3s"): f for ind, f in play_fits.items()
            }
            lam = self.config.play_weight
            priors: dict[str, float] = {}
            for it in items:
                p = it.performance
                ctr = self._relative(ctr_fits[it.industry.value], p.clicks, p.impressions)
                play = self._relative(play_fits[it.industry.value], p.plays_3s, p.impressions)
                priors[it.id] = float(
                    np.clip(ctr ** (1.0 - lam) * play**lam, self.config.prior_min, self.config.prior_max)
                )
            self._priors = priors
        return self._priors

    @staticmethod
    def _relative(fit: BetaFit, successes: int, trials: int) -> float:
        """Posterior mean over prior mean: 1.0 with no data."""
        if trials == 0:
            return 1.0
        return ((fit.alpha + successes) / (fit.alpha + fit.beta + trials)) / fit.mean

    def prior(self, item_id: str) -> float:
        """The performance prior of one item (1.0 = an average creative of its industry)."""
        priors = self._ensure_priors()
        if item_id not in priors:
            raise NotFoundError(f"no library item {item_id!r}; build the library with it first")
        return priors[item_id]

    def beta_fits(self) -> dict[tuple[str, str], BetaFit]:
        """The fitted priors, keyed by (industry, "ctr" | "play_3s") — for reports and debugging."""
        self._ensure_priors()
        return dict(self._fits)

    def update_performance(self, item_id: str, performance: Performance) -> None:
        """Replace an item's delivery counts; priors are refitted on the next search (no re-embedding)."""
        if item_id not in self._items:
            raise NotFoundError(f"no library item {item_id!r} to update; ids come from LibraryItem.id")
        if not isinstance(performance, Performance):
            raise InputError(f"update_performance({item_id!r}): got {type(performance).__name__}, not Performance")
        self._items[item_id] = self._items[item_id].model_copy(update={"performance": performance})
        self._priors = None

    # ---- searching ---------------------------------------------------------------------------

    def search(
        self,
        brief_text: str,
        k: int = 6,
        industry: Industry | str | Sequence[Industry | str] | None = None,
        platform: Platform | str | Sequence[Platform | str] | None = None,
        language: Language | str | Sequence[Language | str] | None = None,
        aspect: Aspect | str | Sequence[Aspect | str] | None = None,
    ) -> list[Hit]:
        """The ``k`` best creatives for ``brief_text`` among those matching every given filter.

        Filters take one value or a list of accepted values. Returns fewer than
        ``k`` hits only when fewer items match; an empty library returns [].
        """
        if not isinstance(brief_text, str) or not brief_text.strip():
            raise InputError("LibraryRetriever.search: the brief text is empty; describe the product to search for")
        if not isinstance(k, int) or k < 1:
            raise InputError(f"LibraryRetriever.search: k={k!r}; ask for at least one result")
        if not self._items:
            return []
        filters: Mapping[str, FilterArg] = {
            "industry": _values(industry),
            "platform": _values(platform),
            "language": _values(language),
            "aspect": _values(aspect),
        }
        query = self.embedder.embed_query(brief_text)
        pool = max(self.config.pool_factor * k, self.config.min_pool)
        candidates = self._index.search(query, pool, filters)
        return self._rank(query, candidates)[:k]

    def background(self, query: npt.NDArray[np.float32]) -> float:
        """The query's background similarity ``s0``: median cosine to the sampled library vectors."""
        return float(np.median(self._background @ np.asarray(query, dtype=np.float32)))

    def _rank(self, query: npt.NDArray[np.float32], candidates: list[tuple[str, float]]) -> list[Hit]:
        priors = self._ensure_priors()
        s0 = min(self.background(query), 0.999)
        w = self.config.prior_weight
        hits = []
        for item_id, sim in candidates:
            relevance = max(0.0, sim - s0) / (1.0 - s0)
            prior = priors[item_id]
            hits.append(Hit(item=self._items[item_id], similarity=sim, prior=prior, score=relevance * prior**w))
        hits.sort(key=lambda h: (h.score, h.similarity), reverse=True)
        return hits

    # ---- persistence -------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the index, the items (with current performance) and the background sample."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self._index.save(out / "index")
        tmp = out / "items.jsonl.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            for item in self.items:
                # Script.duration_s is a computed field: dumped, but rejected on validation (extra="forbid")
                fh.write(item.model_dump_json(exclude={"script": {"duration_s"}}) + "\n")
        os.replace(tmp, out / "items.jsonl")
        with open(out / "background.npy.tmp", "wb") as fh:
            np.save(fh, self._background)
        os.replace(out / "background.npy.tmp", out / "background.npy")
        manifest = {"format": _FORMAT, "embedder": self.embedder.name, "dim": self.embedder.dim, "count": len(self)}
        manifest["config"] = asdict(self.config)
        write_atomic(out / "retriever.json", json.dumps(manifest, indent=1))  # written last: marks a complete save
        return out

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        embedder: Embedder,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        config: RankingConfig | None = None,
    ) -> LibraryRetriever:
        """Restore a retriever saved by :meth:`save`; ``embedder`` must be the one it was built with."""
        src = Path(directory)
        manifest_path = src / "retriever.json"
        if not manifest_path.is_file():
            raise NotFoundError(f"no saved library in {src}: retriever.json is missing; build and save it first")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StorageError(f"{manifest_path} is unreadable ({exc}); rebuild the library") from exc
        if manifest.get("format") != _FORMAT:
            raise StorageError(f"{src} holds library format {manifest.get('format')!r}, expected {_FORMAT}; rebuild it")
        if manifest["embedder"] != embedder.name:
            raise ConfigError(
                f"the library in {src} was embedded with {manifest['embedder']!r} but the embedder given is "
                f"{embedder.name!r}; rebuild the library, or configure the embedder it was built with"
            )
        saved_config = RankingConfig(**manifest.get("config", {}))
        index = VectorIndex.load(src / "index")
        retriever = cls(embedder, index, cache_dir=cache_dir, config=config or saved_config)
        items: dict[str, LibraryItem] = {}
        try:
            with open(src / "items.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        item = LibraryItem.model_validate_json(line)
                        items[item.id] = item
            background = np.load(src / "background.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise StorageError(
                f"{src}: items.jsonl or background.npy is unreadable ({exc}); rebuild the library"
            ) from exc
        if set(items) != set(index.ids) or background.shape[1:] != (embedder.dim,):
            raise StorageError(
                f"{src}: items.jsonl ({len(items)} items) does not match the index ({len(index)} rows); "
                "the save was interrupted — rebuild the library"
            )
        retriever._items = items
        retriever._background = background.astype(np.float32)
        return retriever


__all__ = [
    "BetaFit",
    "Hit",
    "INDUSTRY_LABELS",
    "LibraryRetriever",
    "RankingConfig",
    "fit_beta_moments",
    "retrieval_text",
]
