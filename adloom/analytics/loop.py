"""The closed loop: generate → score → prune → launch → feedback → retrain → priors.

Each round of :func:`run_closed_loop` draws a pool of candidate creatives
(random :class:`~adloom.analytics.simulator.CreativeAttributes`, content
embedded with :func:`~adloom.analytics.simulator.hashed_text_embedding`),
scores them with the current predictor, and launches two arms from the same
pool:

* **pruning on** — :func:`~adloom.analytics.ranking.rank_and_prune`
  (top-k by pCTCVR relative to the industry baseline, plus an exploration
  share); round 1 has no model, so every slot is exploration on the prior;
* **pruning off** — a random k from the same pool (same round seed);
* **prior ranking** (when a ``prior_ranker`` is given) — the top k of each
  campaign by a score that needs no model, e.g. the library performance prior
  that ``adloom render`` ranks by before any predictor is trained, so pruning
  is compared with what the product does without it, not only with chance.

The pruned arm is delivered by the simulator, its logs are appended to the
feedback history, the predictor is retrained when the
:class:`RetrainSchedule` says so (every round by default, or on demand), and
:func:`updated_priors` turns the history into the per-creative performance
priors that serving pushes into the creative library, so script retrieval
favours what actually performed.

Each round records the mean TRUE CTR and CVR of both arms' creatives: the
simulator's creative-level rates (response model + content effect, neutral
context), not the noisy counts, and the lift of "on" over "off".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adloom.analytics.features import FeatureEncoder, build_feature_frame, select_features
from adloom.analytics.models import CreativePredictor, LightGBMParams, train_predictor
from adloom.analytics.ranking import Decision, Method, rank_and_prune
from adloom.analytics.simulator import (
    AUDIENCES,
    PLACEMENT_OFFSETS,
    PLACEMENT_SHARE,
    CreativeAttributes,
    DeliverySimulator,
    ImpressionLog,
    ResponseModel,
    hashed_text_embedding,
)
from adloom.core.errors import InputError
from adloom.core.types import Industry

#: Filler words for candidate texts: content the hashed embedding (and the simulator's hidden content effect) reads.
_WORDS: tuple[str, ...] = tuple(
    "glow fresh bold soft quick deal limited new classic daily pro lite smart pure rich crisp warm cool "
    "bright clean easy fast real best top love wow save free gift trial bundle family style trend".split()
)


@dataclass(frozen=True)
class RetrainSchedule:
    """When the predictor is retrained: every ``every_rounds`` rounds, or on demand.

    ``min_new_impressions`` skips a scheduled retrain that would learn from too
    little new feedback; an on-demand request always retrains.
    """

    every_rounds: int = 1
    min_new_impressions: int = 0

    def __post_init__(self) -> None:
        if self.every_rounds < 1:
            raise InputError(f"every_rounds={self.every_rounds} must be >= 1", field="every_rounds")

    def due(self, rounds_since: int, new_impressions: int, requested: bool = False) -> bool:
        """True when a retrain should run now."""
        if requested:
            return True
        return rounds_since >= self.every_rounds and new_impressions >= self.min_new_impressions


@dataclass(frozen=True)
class LoopConfig:
    """Everything a closed-loop run reads besides rounds, pool size, k and seed; small defaults run in seconds."""

    impressions_per_round: int = 120_000
    days_per_round: int = 3
    industries: tuple[Industry, ...] = tuple(Industry)
    embedding_dim: int = 16
    bar: float = 0.9
    explore_share: float = 0.1
    method: Method = "thompson"
    prior_std: float = 0.5  # logit width of the round-1 prior (no model yet)
    n_bags: int = 2
    bag_estimators: int = 15
    scoring_contexts: int = 4  # synthetic launch-day requests per candidate, averaged
    response_seed: int = 0
    #: ``random``: random attributes with filler text; ``library``: scripts drawn like the sample library
    #: (real :class:`~adloom.core.types.Script` objects, kept on each round for reports).
    candidates: str = "random"
    lightgbm: LightGBMParams = field(
        default_factory=lambda: LightGBMParams(n_estimators=60, learning_rate=0.1, num_leaves=7, min_child_samples=1000)
    )
    schedule: RetrainSchedule = field(default_factory=RetrainSchedule)


@dataclass(frozen=True)
class ArmStats:
    """Mean true rates of one arm's launched creatives."""

    ctr: float
    cvr: float

    @property
    def ctcvr(self) -> float:
        """Mean of ctr × cvr is not the product of means; this is the product (a summary, not an estimate)."""
        return self.ctr * self.cvr


#: Scores candidates without a model (higher launches first), e.g. the library performance prior by
#: (industry, hook type); the bench builds one from the seeded sample library.
PriorRanker = Callable[[Sequence[CreativeAttributes]], np.ndarray]


@dataclass
class RoundResult:
    """One round: the arms' true means, the lift of pruning on over off, every decision, and what was learned."""

    round: int
    on: ArmStats
    off: ArmStats
    decisions: list[Decision]
    retrained: bool
    n_history_impressions: int
    priors: dict[str, float] = field(default_factory=dict)
    #: Per candidate key: the model's pctr / pcvr / pctcvr / uncertainty (empty in round 1: no model yet).
    predictions: dict[str, dict[str, float]] = field(default_factory=dict)
    #: The pruned arm's delivery logs (creative keys in ``log.creatives["key"]``).
    log: ImpressionLog | None = None
    #: Candidate scripts by key when ``LoopConfig.candidates == "library"``.
    scripts: dict[str, Any] = field(default_factory=dict)
    #: The prior-ranking arm (top k per campaign by ``prior_ranker``), when one was given.
    prior: ArmStats | None = None

    @property
    def lift_ctr(self) -> float:
        """Relative lift of mean true CTR, pruning on over off."""
        return self.on.ctr / self.off.ctr - 1.0

    @property
    def lift_cvr(self) -> float:
        """Relative lift of mean true CVR, pruning on over off."""
        return self.on.cvr / self.off.cvr - 1.0

    @property
    def lift_ctcvr(self) -> float:
        """Relative lift of (mean CTR × mean CVR), pruning on over off."""
        return self.on.ctcvr / self.off.ctcvr - 1.0

    @property
    def lift_ctcvr_vs_prior(self) -> float | None:
        """Relative lift of (mean CTR × mean CVR), pruning on over the prior ranking (None without that arm)."""
        return None if self.prior is None else self.on.ctcvr / self.prior.ctcvr - 1.0

    def count(self, action: str) -> int:
        """How many decisions of this round took ``action``."""
        return sum(d.action == action for d in self.decisions)


# --------------------------------------------------------------------------- candidates and truth


def generate_pool(
    n: int, rng: np.random.Generator, industries: Sequence[Industry], embedding_dim: int, prefix: str
) -> tuple[list[CreativeAttributes], np.ndarray]:
    """``n`` random candidates (attributes + unit-norm hashed text embeddings), industries taken in turn."""
    if n < 1:
        raise InputError(f"pool size {n} must be >= 1", field="pool_size")
    if not industries:
        raise InputError("industries is empty: give at least one Industry to draw candidates for", field="industries")
    attrs: list[CreativeAttributes] = []
    texts: list[str] = []
    for i in range(n):
        a = CreativeAttributes.random(rng, key=f"{prefix}-{i:04d}")
        ind = industries[i % len(industries)]  # equal-sized campaigns, one per industry
        a = CreativeAttributes(**{**a.__dict__, "industry": ind})
        words = rng.choice(len(_WORDS), size=6, replace=False)
        texts.append(" ".join([a.hook_type.value, a.angle.value, ind.value, *(_WORDS[w] for w in words)]))
        attrs.append(a)
    return attrs, hashed_text_embedding(texts, dim=embedding_dim, seed=1)


def library_pool(
    n: int, rng: np.random.Generator, embedding_dim: int, prefix: str
) -> tuple[list[CreativeAttributes], np.ndarray, list[Any]]:
    """``n`` candidates drawn as sample-library scripts (keys ``prefix-i``): attributes, embeddings, scripts."""
    from adloom.analytics.sample_library import generate_sample_library

    if n < 1:
        raise InputError(f"pool size {n} must be >= 1", field="pool_size")
    items = generate_sample_library(n, seed=int(rng.integers(1 << 31)))
    scripts = [it.script.model_copy(update={"id": f"{prefix}-{i:04d}"}) for i, it in enumerate(items)]
    attrs = [CreativeAttributes.from_script(sc) for sc in scripts]
    return attrs, hashed_text_embedding([sc.full_text() for sc in scripts], dim=embedding_dim, seed=1), scripts


def true_creative_rates(sim: DeliverySimulator, attrs: list[CreativeAttributes], emb: np.ndarray) -> np.ndarray:
    """``(n, 3)`` true (play_3s, ctr, cvr) per creative: response model + content effect, neutral context."""
    z = sim.creative_logits(attrs) + emb.astype(np.float64) @ sim.content_weights
    return sim.clamp(z)


# --------------------------------------------------------------------------- feedback history


def concat_logs(a: ImpressionLog | None, b: ImpressionLog) -> ImpressionLog:
    """Append ``b`` after ``a`` on the time axis: creative indices and days (and launch days) are shifted."""
    import pandas as pd

    if a is None:
        return b
    n_cre, day0 = len(a.creatives), int(a.impressions["day"].max()) + 1
    imp = b.impressions.copy()
    imp["creative"] = (imp["creative"] + n_cre).astype(np.int32)
    imp["day"] = (imp["day"] + day0).astype(np.int16)
    cre = b.creatives.copy()
    cre["launch_day"] = cre["launch_day"] + day0
    return ImpressionLog(
        impressions=pd.concat([a.impressions, imp], ignore_index=True),
        creatives=pd.concat([a.creatives, cre], ignore_index=True),
        embeddings=np.vstack([a.embeddings, b.embeddings]),
    )


def updated_priors(logs: ImpressionLog | Sequence[ImpressionLog], strength: float = 2000.0) -> dict[str, float]:
    """Per creative key, its Beta-Binomial posterior CTR divided by the mean CTR of all logged impressions.

    The prior is Beta(strength × mean, strength × (1 − mean)): a creative with
    few impressions stays near 1.0, one with many moves to its observed CTR
    relative to the mean. These are the performance priors serving pushes into
    the creative library (1.0 = average; retrieval multiplies similarity by it).
    """
    logs = [logs] if isinstance(logs, ImpressionLog) else list(logs)
    if not logs:
        raise InputError("no logs given: pass at least one ImpressionLog", field="logs")
    if strength <= 0:
        raise InputError(f"strength={strength} must be positive (pseudo-impressions of the prior)", field="strength")
    imps: dict[str, float] = {}
    clicks: dict[str, float] = {}
    for log in logs:
        cidx = log.impressions["creative"].to_numpy()
        n = np.bincount(cidx, minlength=len(log.creatives))
        c = np.bincount(cidx, weights=log.impressions["click"].to_numpy(), minlength=len(log.creatives))
        for key, ni, ci in zip(log.creatives["key"], n, c, strict=True):
            imps[key] = imps.get(key, 0.0) + float(ni)
            clicks[key] = clicks.get(key, 0.0) + float(ci)
    total = sum(imps.values())
    if total == 0:
        raise InputError("logs hold no impressions: nothing to update priors from", field="logs")
    mean = sum(clicks.values()) / total
    if mean == 0:
        return dict.fromkeys(imps, 1.0)
    return {k: (clicks[k] + strength * mean) / (imps[k] + strength) / mean for k in imps}


def industry_baselines(history: ImpressionLog | None, strength: float = 5.0) -> dict[str, float]:
    """The average logged creative's CTCVR per industry, shrunk toward the all-industry average.

    Creative-weighted, not impression-weighted: the auction gives winners more
    impressions, so the impression-weighted rate overstates what a typical new
    creative (the thing being compared) achieves. ``strength`` is the prior's
    weight in creatives. Before any feedback the response model's industry base
    rates stand in, as a published industry benchmark would.
    """
    if history is None:
        base = ResponseModel().params.base
        return {ind.value: b[1] * b[2] for ind, b in base.items()}
    imp, cre = history.impressions, history.creatives
    cidx = imp["creative"].to_numpy()
    n = np.bincount(cidx, minlength=len(cre))
    conv = np.bincount(cidx, weights=imp["conversion"].to_numpy(), minlength=len(cre))
    seen = n > 0
    rate = conv[seen] / n[seen]
    ind = cre["industry"].to_numpy()[seen]
    overall = max(float(rate.mean()), 1e-6)
    out: dict[str, float] = {}
    for value in (i.value for i in Industry):
        r = rate[ind == value]
        out[value] = max((float(r.sum()) + strength * overall) / (r.size + strength), 1e-6)
    return out


# --------------------------------------------------------------------------- model


def retrain(history: ImpressionLog, cfg: LoopConfig, seed: int) -> CreativePredictor:
    """Fit the predictor on every logged impression so far (features per :data:`CREATIVE_FEATURES`)."""
    frame = build_feature_frame(history)
    encoder = FeatureEncoder(select_features(None)).fit(frame)
    imp = history.impressions
    labels = {k: imp[k].to_numpy() for k in ("play_3s", "click", "conversion")}
    return train_predictor(
        encoder,
        frame,
        labels,
        cfg.lightgbm,
        seed=seed,
        n_bags=cfg.n_bags,
        bag_estimators=cfg.bag_estimators,
        groups=imp["creative"].to_numpy(),
    )


def score_candidates(
    predictor: CreativePredictor,
    history: ImpressionLog,
    attrs: list[CreativeAttributes],
    emb: np.ndarray,
    n_contexts: int,
    rng: np.random.Generator,
    full: bool = False,
) -> Any:
    """Per candidate, mean predicted pCTCVR and CTR uncertainty (logits) over ``n_contexts`` launch-day contexts.

    With ``full`` the mean pCTR and pCVR come back too: ``(ctcvr, std, ctr, cvr)``.

    Candidates join the history as creatives launching on the next day, with
    synthetic requests (audiences and placements at their traffic shares,
    first exposure, slot drawn as in delivery), so their features (no own
    history, neighbour and content priors from the history) are built exactly
    as at training time.
    """
    import pandas as pd

    n = len(attrs)
    day = int(history.impressions["day"].max()) + 1
    placements = list(PLACEMENT_OFFSETS)
    m = n * n_contexts
    creative = np.repeat(np.arange(n), n_contexts)
    imps = pd.DataFrame(
        {
            "creative": creative.astype(np.int32),
            "day": np.full(m, 0, dtype=np.int16),
            "audience": pd.Categorical.from_codes(rng.integers(0, len(AUDIENCES), size=m), categories=list(AUDIENCES)),
            "placement": pd.Categorical.from_codes(
                rng.choice(len(placements), size=m, p=[PLACEMENT_SHARE[x] for x in placements]),
                categories=placements,
            ),
            "position": np.minimum(rng.geometric(0.45, size=m), 6).astype(np.int8),
            "frequency": np.ones(m, dtype=np.int16),
            "p_play_3s": np.zeros(m),
            "p_ctr": np.zeros(m),
            "p_cvr": np.zeros(m),
            "p_ctr_observable": np.zeros(m),
            "p_cvr_observable": np.zeros(m),
            "play_3s": np.zeros(m, dtype=np.int8),
            "click": np.zeros(m, dtype=np.int8),
            "conversion": np.zeros(m, dtype=np.int8),
        }
    )
    cands = pd.DataFrame(
        {
            col: [getattr(a, col).value if hasattr(getattr(a, col), "value") else getattr(a, col) for a in attrs]
            for col in ("key", "industry", "platform", "language", "aspect", "hook_type", "angle", "pacing")
            + ("cta_strength", "duration_s", "n_shots", "caption_coverage")
        }
    )
    cands["price_mentioned"] = [int(a.price_mentioned) for a in attrs]
    cands["has_presenter"] = [int(a.has_presenter) for a in attrs]
    cands["launch_day"] = 0
    cands["bid"] = 1.0
    cands["quality"] = np.nan  # hidden truth, never a feature: unknown for a candidate
    cands = cands[list(history.creatives.columns)]
    joined = concat_logs(history, ImpressionLog(impressions=imps, creatives=cands, embeddings=emb))
    frame = build_feature_frame(joined, history_until_day=day)
    rows = (joined.impressions["day"].to_numpy() == day).nonzero()[0]
    pred = predictor.predict(frame.iloc[rows])
    ctcvr = np.bincount(creative, weights=pred.ctcvr, minlength=n) / n_contexts
    std = np.bincount(creative, weights=pred.ctr_std, minlength=n) / n_contexts
    if full:
        ctr = np.bincount(creative, weights=pred.ctr, minlength=n) / n_contexts
        cvr = np.bincount(creative, weights=pred.cvr, minlength=n) / n_contexts
        return ctcvr, std, ctr, cvr
    return ctcvr, std


# --------------------------------------------------------------------------- the loop


def _split_slots(k: int, sizes: Sequence[int]) -> list[int]:
    """Split ``k`` launch slots over groups in proportion to their sizes (largest remainder, capped by size)."""
    total = sum(sizes)
    exact = [k * s / total for s in sizes]
    out = [min(int(e), s) for e, s in zip(exact, sizes, strict=True)]
    for i in sorted(range(len(sizes)), key=lambda j: exact[j] - int(exact[j]), reverse=True):
        if sum(out) >= k:
            break
        if out[i] < sizes[i]:
            out[i] += 1
    return out


def run_closed_loop(
    rounds: int = 4,
    pool_size: int = 200,
    launch_k: int = 30,
    seed: int = 0,
    config: LoopConfig | None = None,
    retrain_on_demand: Sequence[int] = (),
    progress: Any = None,
    prior_ranker: PriorRanker | None = None,
) -> list[RoundResult]:
    """Run ``rounds`` rounds of generate → prune → launch → learn; see the module docstring.

    ``retrain_on_demand`` lists rounds (1-based) after which a retrain is
    forced whatever the schedule says. ``progress`` is an optional callable
    given each :class:`RoundResult` as it completes (the bench prints with it).
    ``prior_ranker`` adds the prior-ranking arm: the top k of each campaign by
    its scores, ties broken at random (same round seed); it is measured, not
    delivered, like the pruning-off arm.
    """
    cfg = config or LoopConfig()
    if rounds < 1:
        raise InputError(f"rounds={rounds} must be >= 1", field="rounds")
    if not 1 <= launch_k <= pool_size:
        raise InputError(f"launch_k={launch_k} must be within 1..pool_size ({pool_size})", field="launch_k")
    model = ResponseModel(seed=cfg.response_seed)
    sim = DeliverySimulator(model, embedding_dim=cfg.embedding_dim)
    history: ImpressionLog | None = None
    predictor: CreativePredictor | None = None
    since, new_imps = 0, 0
    results: list[RoundResult] = []
    for r in range(1, rounds + 1):
        rng = np.random.default_rng([seed, r])
        scripts: list[Any] = []
        if cfg.candidates == "library":
            attrs, emb, scripts = library_pool(pool_size, rng, cfg.embedding_dim, prefix=f"s{seed}r{r}")
        else:
            attrs, emb = generate_pool(pool_size, rng, cfg.industries, cfg.embedding_dim, prefix=f"s{seed}r{r}")
        keys = [a.key for a in attrs]
        base_by_ind = industry_baselines(history)
        baseline = np.array([base_by_ind[a.industry.value] for a in attrs])
        predictions: dict[str, dict[str, float]] = {}
        if predictor is None or history is None:
            scores, std, share = baseline.copy(), np.full(pool_size, cfg.prior_std), 1.0
        else:
            scores, std, p_ctr, p_cvr = score_candidates(
                predictor, history, attrs, emb, cfg.scoring_contexts, rng, full=True
            )
            share = cfg.explore_share
            predictions = {
                key: {"pctr": float(a), "pcvr": float(b), "pctcvr": float(c), "uncertainty": float(d)}
                for key, a, b, c, d in zip(keys, p_ctr, p_cvr, scores, std, strict=True)
            }
        # One campaign per industry, each with its share of the launch slots, in both arms alike:
        # the arms then differ only in which creatives they pick inside a campaign, not in industry mix.
        groups = [np.flatnonzero([a.industry is ind for a in attrs]) for ind in cfg.industries]
        if sum(len(g) for g in groups) < launch_k:
            raise InputError(
                f"only {sum(len(g) for g in groups)} candidates fall in the configured industries, fewer than "
                f"launch_k={launch_k}: widen LoopConfig.industries or lower k",
                field="launch_k",
            )
        slots = _split_slots(launch_k, [len(g) for g in groups])
        decided: dict[int, Decision] = {}
        off_parts: list[np.ndarray] = []
        prior_parts: list[np.ndarray] = []
        off_rng = np.random.default_rng([seed, r, 2])
        prior_scores = None if prior_ranker is None else np.asarray(prior_ranker(attrs), dtype=np.float64)
        if prior_scores is not None and prior_scores.shape != (pool_size,):
            raise InputError(
                f"prior_ranker returned shape {prior_scores.shape} for {pool_size} candidates: return one score each",
                field="prior_ranker",
            )
        tie_break = np.random.default_rng([seed, r, 4]).random(pool_size)
        for gi, (g, k) in enumerate(zip(groups, slots, strict=True)):
            if g.size == 0:
                continue
            ds = rank_and_prune(
                [keys[i] for i in g],
                scores[g],
                baseline[g],
                std=std[g],
                bar=cfg.bar,
                explore_share=share,
                launch_k=k,
                method=cfg.method,
                rng=np.random.default_rng([seed, r, 1, gi]),
                baseline_name=f"{cfg.industries[gi].value} baseline",
            )
            decided.update(zip(g.tolist(), ds, strict=True))
            off_parts.append(off_rng.choice(g, size=k, replace=False))
            if prior_scores is not None:
                prior_parts.append(g[np.lexsort((tie_break[g], -prior_scores[g]))[:k]])
        decisions = [decided[i] for i in range(pool_size)]
        on_idx = np.array([i for i, d in enumerate(decisions) if d.action != "prune"])
        off_idx = np.concatenate(off_parts)
        truth = true_creative_rates(sim, attrs, emb)

        launched = [attrs[i] for i in on_idx]
        log = sim.simulate(
            launched,
            emb[on_idx],
            cfg.impressions_per_round,
            cfg.days_per_round,
            rng=np.random.default_rng([seed, r, 3]),
            launch_days=np.zeros(len(launched), dtype=np.int64),
        )
        history = concat_logs(history, log)
        since, new_imps = since + 1, new_imps + len(log)
        # No scheduled retrain after the last round: no later round would use the model.
        requested = r in retrain_on_demand
        retrained = requested or (r < rounds and cfg.schedule.due(since, new_imps))
        if retrained:
            predictor = retrain(history, cfg, seed=seed * 1000 + r)
            since, new_imps = 0, 0
        result = RoundResult(
            round=r,
            on=_arm(truth, on_idx),
            off=_arm(truth, off_idx),
            decisions=decisions,
            retrained=retrained,
            n_history_impressions=len(history),
            priors=updated_priors(log),
            predictions=predictions,
            log=log,
            scripts={sc.id: sc for sc in scripts},
            prior=_arm(truth, np.concatenate(prior_parts)) if prior_parts else None,
        )
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _arm(truth: np.ndarray, idx: np.ndarray) -> ArmStats:
    """Mean true CTR and CVR of the creatives at ``idx`` (``truth`` is :func:`true_creative_rates`)."""
    return ArmStats(float(truth[idx, 1].mean()), float(truth[idx, 2].mean()))


def lift_table(results: Sequence[RoundResult]) -> list[Mapping[str, Any]]:
    """Rows (round, arm, mean true CTR, mean true CVR, lift) for printing; lift is on/off − 1 of CTR × CVR."""
    rows: list[Mapping[str, Any]] = []
    for res in results:
        rows.append({"round": res.round, "arm": "off", "ctr": res.off.ctr, "cvr": res.off.cvr, "lift": None})
        rows.append(
            {
                "round": res.round,
                "arm": "on",
                "ctr": res.on.ctr,
                "cvr": res.on.cvr,
                "lift": {"ctr": res.lift_ctr, "cvr": res.lift_cvr, "ctcvr": res.lift_ctcvr},
            }
        )
    return rows
