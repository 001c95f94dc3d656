"""The predictor in the application: train, version, load, score scripts, and push what performed into the library.

This is where analytics meets the store and the creative library:

* :func:`train_from_simulation` — the experiment entry point on simulated
  delivery (a model before any real feedback exists);
* :func:`train_from_feedback` — the same trainer on the feedback stored for
  this installation's creatives (daily counts expanded to impression rows);
* both save ``<models>/predictor/<version>/`` and register the version in the
  store; :func:`load_latest` returns the newest, or None;
* :func:`score_scripts` — pCTR, pCVR, pCTCVR and uncertainty for scripts that
  never ran (cold start: neighbour and content priors from the library);
* :func:`push_library_priors` — creatives with counted feedback become (or
  update) library items with their delivery counts, so the retriever's
  empirical-Bayes performance prior favours what actually performed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adloom.core.errors import InputError, NotFoundError
from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage.db import ModelVersion
from adloom.core.types import Creative, LibraryItem, Performance, Script

#: Text-embedding width and seed of the hashed embedder the predictor reads (as in ``simulate_library_logs``).
EMBED_DIM, EMBED_SEED = 32, 7
#: Most impression rows a feedback retrain expands to (a bigger history is subsampled per creative/day).
MAX_FEEDBACK_ROWS = 3_000_000


def model_root(settings: Settings) -> Path:
    """Where predictor versions are saved."""
    return settings.home / "models" / "predictor"


def _embed(texts: Sequence[str], dim: int = EMBED_DIM) -> np.ndarray:
    from adloom.analytics.simulator import hashed_text_embedding

    return hashed_text_embedding(list(texts), dim=dim, seed=EMBED_SEED)


def _register(store: Store, result: Any, kind: str = "predictor") -> ModelVersion:
    cfg = result.config
    return store.register_model(
        ModelVersion(
            version=result.model_dir.name,
            path=str(result.model_dir),
            kind=kind,
            config_hash=cfg.config_hash(),
            metrics=result.metrics,
            n_train=result.n_train,
        )
    )


def train_from_simulation(store: Store, settings: Settings, config: Any = None) -> tuple[ModelVersion, Any]:
    """Train on simulated delivery of the sample library (``config``: an ExperimentConfig); save and register."""
    from adloom.analytics.experiment import ExperimentConfig, run_experiment

    cfg = config or ExperimentConfig.model_validate(
        {"name": "sim", "data": {"n_impressions": 300_000}, "uncertainty": {"n_bags": 2, "bag_estimators": 40}}
    )
    result = run_experiment(cfg, store_root=model_root(settings))
    return _register(store, result), result


def feedback_log(store: Store, seed: int = 0) -> Any:
    """The stored feedback as an :class:`~adloom.analytics.simulator.ImpressionLog` (one row per impression).

    Daily counts do not say which impression was clicked, so each
    creative/day gets ``impressions`` rows of which ``clicks`` are clicks,
    ``conversions`` of those converted and ``plays_3s`` (independently)
    played, in a seeded random order. Audience and placement are unknown at
    this grain (trees see a missing value). Raises NotFoundError with no feedback.
    """
    import pandas as pd

    from adloom.analytics.simulator import CreativeAttributes, ImpressionLog, attribute_columns

    daily = [(*d.creative_day, d) for d in store.feedback_daily() if d.impressions > 0]
    if not daily:
        raise NotFoundError("no counted feedback in the store: import events with `adloom feedback import` first")
    ids = sorted({cid for cid, _, _ in daily})
    creatives = {c: store.get_creative(c) for c in ids}
    index = {c: i for i, c in enumerate(ids)}
    day0 = min(day for _, day, _ in daily)
    total = sum(d.impressions for _, _, d in daily)
    keep = min(1.0, MAX_FEEDBACK_ROWS / total)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("creative", "day", "play_3s", "click", "conversion")}
    for cid, day, d in daily:
        n = max(1, round(d.impressions * keep))
        clicks, convs, plays = (min(n, round(v * keep)) for v in (d.clicks, d.conversions, d.plays_3s))
        click = np.zeros(n, np.int8)
        click[:clicks] = 1
        conv = np.zeros(n, np.int8)
        conv[: min(convs, clicks)] = 1
        order = rng.permutation(n)
        play = np.zeros(n, np.int8)
        play[rng.choice(n, size=plays, replace=False)] = 1
        parts["creative"].append(np.full(n, index[cid], np.int32))
        parts["day"].append(np.full(n, (day - day0).days, np.int16))
        parts["click"].append(click[order])
        parts["conversion"].append(conv[order])
        parts["play_3s"].append(play)
    cols = {k: np.concatenate(v) for k, v in parts.items()}
    m = len(cols["creative"])
    impressions = pd.DataFrame(
        {
            "creative": cols["creative"],
            "day": cols["day"],
            "audience": np.full(m, "unknown", dtype=object),
            "placement": np.full(m, "unknown", dtype=object),
            "position": np.ones(m, np.int8),
            "frequency": np.ones(m, np.int16),
            "play_3s": cols["play_3s"],
            "click": cols["click"],
            "conversion": cols["conversion"],
        }
    ).sort_values("day", kind="stable", ignore_index=True)
    attrs = [CreativeAttributes.from_script(creatives[c].script) for c in ids]
    first_day = {c: min((day - day0).days for cid, day, _ in daily if cid == c) for c in ids}
    cre = pd.DataFrame(
        {
            "key": ids,
            **attribute_columns(attrs),
            "launch_day": [first_day[c] for c in ids],
        }
    )
    emb = _embed([creatives[c].script.full_text() for c in ids])
    return ImpressionLog(impressions=impressions, creatives=cre, embeddings=emb)


def train_from_feedback(
    store: Store, settings: Settings, *, seed: int = 0, n_bags: int = 2, version: str | None = None
) -> tuple[ModelVersion, Any]:
    """Retrain on the stored feedback (every creative that ran); save, register and return the new version."""
    from adloom.analytics.experiment import ExperimentConfig, run_experiment

    log = feedback_log(store, seed)
    n_days = int(log.impressions["day"].max()) + 1
    if n_days < 3:
        raise InputError(
            f"stored feedback spans {n_days} day(s); a retrain needs at least 3 (train, calibrate, test): "
            "import more days of events"
        )
    test_days = max(1, n_days // 5)
    cfg = ExperimentConfig.model_validate(
        {
            "name": "feedback",
            "seed": seed,
            "data": {
                "n_creatives": max(10, len(log.creatives)),
                "n_impressions": max(1000, len(log)),
                "n_days": n_days,
            },
            "split": {"test_days": test_days, "calibration_days": 1 if n_days - test_days > 1 else 0},
            "uncertainty": {"n_bags": n_bags, "bag_estimators": 40},
            "store": {"version": version},
        }
    )
    result = run_experiment(cfg, store_root=model_root(settings), log=log)
    return _register(store, result), result


def load_latest(store: Store) -> tuple[Any, ModelVersion] | None:
    """The newest registered predictor and its version, or None when none was trained (or its files are gone)."""
    from adloom.analytics.models import CreativePredictor

    for mv in store.list_models("predictor"):
        if Path(mv.path, "state.json").is_file():
            return CreativePredictor.load(Path(mv.path)), mv
    return None


@dataclass(frozen=True)
class ScriptScores:
    """Per script: mean predicted rates over launch contexts and the CTR-logit uncertainty."""

    pctr: np.ndarray
    pcvr: np.ndarray
    pctcvr: np.ndarray
    std: np.ndarray


def score_scripts(
    predictor: Any, scripts: Sequence[Script], library: Sequence[LibraryItem], n_contexts: int = 8, seed: int = 0
) -> ScriptScores:
    """Score scripts that never ran, in one batch (features built once, one predict call)."""
    from adloom.analytics.features import cold_start_frame
    from adloom.analytics.simulator import CreativeAttributes

    if not scripts:
        z = np.zeros(0)
        return ScriptScores(z, z, z, z)
    dim = int(predictor.encoder.dims.get("text_emb", EMBED_DIM))  # the width the model was trained on
    attrs = [CreativeAttributes.from_script(s) for s in scripts]
    emb = _embed([s.full_text() for s in scripts], dim)
    lib = [it for it in library if it.performance.impressions > 0]
    ref_emb = _embed([it.script.full_text() for it in lib], dim) if lib else np.zeros((0, dim), np.float32)
    perf = [it.performance for it in lib]
    frame = cold_start_frame(
        attrs,
        emb,
        ref_emb,
        np.array([p.impressions for p in perf], dtype=np.float64),
        np.array([p.clicks for p in perf], dtype=np.float64),
        np.array([p.conversions for p in perf], dtype=np.float64),
        n_contexts=n_contexts,
        rng=np.random.default_rng(seed),
    )
    pred = predictor.predict(frame)
    n = len(scripts)

    def mean(v: np.ndarray) -> np.ndarray:
        return np.asarray(v.reshape(n, n_contexts).mean(axis=1))

    return ScriptScores(mean(pred.ctr), mean(pred.cvr), mean(pred.ctcvr), mean(pred.ctr_std))


def industry_baseline(industry: str) -> float:
    """The published-benchmark CTCVR of an industry (the response model's documented base rates)."""
    from adloom.analytics.loop import industry_baselines

    return industry_baselines(None)[industry]


def library_item_for(creative: Creative, perf: Performance) -> LibraryItem:
    """A creative that ran, as a library item carrying its delivery counts (id ``lib_<creative id>``)."""
    s = creative.script
    return LibraryItem(
        id=f"lib_{creative.id}",
        title=(s.title or s.hook)[:200],
        industry=s.industry,
        platform=s.platform,
        language=s.language,
        aspect=s.aspect,
        script=s,
        performance=perf,
        source="generated",
        media_path=creative.video_path,
    )


def push_library_priors(store: Store, min_impressions: int = 100) -> list[LibraryItem]:
    """Write every creative's counted feedback into the library; returns the items written.

    The retriever's performance prior is the empirical-Bayes posterior of each
    item's counts (``LibraryRetriever._ensure_priors``), so writing the counts
    is what makes retrieval favour what performed. Creatives with fewer than
    ``min_impressions`` impressions are left out (too little to move a prior).
    """
    totals = store.feedback_totals_by_creative()
    items: list[LibraryItem] = []
    for cid, t in sorted(totals.items()):
        if t.impressions < min_impressions:
            continue
        try:
            creative = store.get_creative(cid)
        except NotFoundError:
            continue
        perf = Performance(
            impressions=t.impressions,
            plays_3s=min(t.plays_3s, t.impressions),
            clicks=min(t.clicks, t.impressions),
            conversions=min(t.conversions, t.clicks),
            spend=max(t.spend, 0.0),
        )
        items.append(library_item_for(creative, perf))
    store.upsert_library_items(items)
    return items


@dataclass(frozen=True)
class LoopRun:
    """What one on-demand loop step did."""

    model: ModelVersion
    n_library_items: int
    elapsed_s: float
    metrics: dict[str, dict[str, float]]


def run_loop_once(
    store: Store, settings: Settings, *, seed: int = 0, progress: Callable[[str], None] | None = None
) -> LoopRun:
    """Feedback → retrain → register the new version → push performance into the library."""
    t0 = time.perf_counter()
    if progress:
        progress("retraining on stored feedback")
    mv, result = train_from_feedback(store, settings, seed=seed)
    if progress:
        progress("updating library performance priors")
    items = push_library_priors(store)
    return LoopRun(mv, len(items), time.perf_counter() - t0, result.metrics)
