"""Predictor features declared as data, and their encoding for trees and linear models.

Every feature the CTR/CVR predictors read is one :class:`FeatureSpec` row
(name, kind, source, vocabulary): adding a feature is adding a row, not
editing a training script (the FuxiCTR habit). Four sources:

* ``creative`` — structured attributes of the script (hook, duration, pacing,
  template/aspect, price shown, CTA, language …);
* ``context`` — industry, platform, placement, audience, slot position,
  exposure frequency, days since launch;
* ``content`` — embeddings of the script text and, where present, of key
  frames and audio; passed in as ``(n_creatives, d)`` arrays by the caller
  (serving owns the :class:`~adloom.core.protocols.Embedder`), optional ones
  are skipped when absent;
* ``history`` — the creative's own performance before the impression's day
  (including ``hist_lift`` / ``hist_play_lift``, empirical-Bayes lifts of its
  own clicks and 3-second plays over what its attributes predict: the
  evidence about the execution quality no attribute shows) and that of its
  nearest content neighbours in the library (cold start);
* ``cross`` — crossed categoricals (audience × industry, audience × hook):
  the interactions an additive model cannot form by itself.

Each spec also says which model family reads it (``models``): raw content
embeddings and crosses feed the linear part of the predictor only (trees
split one column at a time and spend their splits on 32 noisy embedding
columns; the ridge read-out ``content_ctr`` carries content to the trees),
everything else feeds both.

Unknown categories (a value not in the declared vocabulary) never raise:
trees see a missing value, the linear model an all-zero one-hot block.

Speed: :func:`build_feature_frame` and :func:`cold_start_frame` emit
categoricals as pandas ``Categorical`` columns over the declared vocabulary
(crosses built from codes), so encoding reads integer codes instead of
hashing a string per row, and :meth:`FeatureEncoder.linear_logit` scores the
linear part by gathering coefficients instead of building the one-hot matrix.
Frames with plain string columns still encode (slower, same numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from adloom.analytics.simulator import AUDIENCES, PLACEMENT_OFFSETS, ImpressionLog
from adloom.core.errors import InputError
from adloom.core.types import Angle, Aspect, CtaStrength, HookType, Industry, Language, Pacing, Platform


class FeatureKind(StrEnum):
    categorical = "categorical"
    numeric = "numeric"
    embedding = "embedding"


@dataclass(frozen=True)
class FeatureSpec:
    """One declared feature.

    ``vocab`` lists a categorical feature's known values (``None``: learned
    from the training frame by :meth:`FeatureEncoder.fit`); ``dim`` is an
    embedding's width (``None``: taken from the array passed in); optional
    embeddings (``required=False``) are dropped when the caller has none.
    """

    name: str
    kind: FeatureKind
    source: str = "creative"
    vocab: tuple[str, ...] | None = None
    dim: int | None = None
    required: bool = True
    description: str = ""
    #: Which model families read the feature: ``tree`` (LightGBM heads), ``linear`` (the logistic part).
    models: tuple[str, ...] = ("tree", "linear")

    def columns(self, dim: int | None = None) -> list[str]:
        """Column names this feature occupies in a feature frame."""
        if self.kind is FeatureKind.embedding:
            d = dim or self.dim
            if d is None:
                raise InputError(f"embedding feature {self.name!r} has no dim: pass its array or declare dim")
            return [f"{self.name}_{j}" for j in range(d)]
        return [self.name]


def _vocab(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(e.value for e in enum)


C, N, E = FeatureKind.categorical, FeatureKind.numeric, FeatureKind.embedding
LIN = ("linear",)

#: Crossed categoricals: (feature name, left column, right column); values are ``left|right``.
CROSSES: tuple[tuple[str, str, str], ...] = (
    ("audience_x_industry", "audience", "industry"),
    ("audience_x_hook", "audience", "hook_type"),
)


def _cross_vocab(left: tuple[str, ...], right: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{a}|{b}" for a in left for b in right)


#: The creative-ranking features (issue 6, part 3). Edit this table to change the model's inputs.
CREATIVE_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("hook_type", C, "creative", _vocab(HookType), description="opening device"),
    FeatureSpec("angle", C, "creative", _vocab(Angle), description="selling angle"),
    FeatureSpec("pacing", C, "creative", _vocab(Pacing)),
    FeatureSpec("aspect", C, "creative", _vocab(Aspect), description="template frame"),
    FeatureSpec("cta_strength", C, "creative", _vocab(CtaStrength)),
    FeatureSpec("language", C, "creative", _vocab(Language)),
    FeatureSpec("price_mentioned", N, "creative", description="price shown (0/1)"),
    FeatureSpec("duration_s", N, "creative"),
    FeatureSpec("n_shots", N, "creative"),
    FeatureSpec("has_presenter", N, "creative"),
    FeatureSpec("caption_coverage", N, "creative"),
    FeatureSpec("industry", C, "context", _vocab(Industry)),
    FeatureSpec("platform", C, "context", _vocab(Platform)),
    FeatureSpec("audience", C, "context", AUDIENCES),
    FeatureSpec("placement", C, "context", tuple(PLACEMENT_OFFSETS)),
    FeatureSpec("position", N, "context", description="slot, 1 = top"),
    FeatureSpec("frequency", N, "context", description="n-th exposure of the viewer"),
    FeatureSpec("age_days", N, "context", description="days since launch"),
    FeatureSpec("text_emb", E, "content", description="script text embedding", models=LIN),
    FeatureSpec(
        "frame_emb", E, "content", required=False, description="key-frame embedding, when rendered", models=LIN
    ),
    FeatureSpec(
        "audio_emb", E, "content", required=False, description="voice/music embedding, when rendered", models=LIN
    ),
    FeatureSpec("hist_log_imps", N, "history", description="log1p impressions before today"),
    FeatureSpec("hist_ctr", N, "history", description="smoothed CTR before today (prior: neighbours)"),
    FeatureSpec("hist_ctcvr", N, "history", description="smoothed conversions per impression before today"),
    FeatureSpec(
        "hist_lift",
        N,
        "history",
        description="empirical-Bayes log lift of own clicks before today over the attribute prior's expectation",
    ),
    FeatureSpec(
        "hist_play_lift",
        N,
        "history",
        description="the same lift for 3-second plays (plays are ~15x more frequent than clicks, and the "
        "creative's execution quality moves both)",
    ),
    FeatureSpec("knn_ctr", N, "history", description="CTR of the k nearest library creatives"),
    FeatureSpec("content_ctr", N, "history", description="ridge map of text_emb to past creative CTR logit"),
    FeatureSpec(
        "audience_x_industry",
        C,
        "cross",
        _cross_vocab(AUDIENCES, _vocab(Industry)),
        models=LIN,
        description="audience × industry affinity",
    ),
    FeatureSpec(
        "audience_x_hook",
        C,
        "cross",
        _cross_vocab(AUDIENCES, _vocab(HookType)),
        models=LIN,
        description="audience × hook affinity",
    ),
)


def _smoothed(num: np.ndarray, den: np.ndarray, prior: np.ndarray | float, strength: float) -> np.ndarray:
    return (num + strength * prior) / (den + strength)


def neighbour_rates(
    embeddings: np.ndarray, clicks: np.ndarray, imps: np.ndarray, k: int = 10, min_imps: int = 200
) -> np.ndarray:
    """Per creative, the impression-weighted CTR of its ``k`` nearest other creatives by cosine.

    Only creatives with at least ``min_imps`` impressions count as neighbours
    (a library item needs history to inform a cold start); the global CTR is
    the fallback when none qualify.
    """
    n = embeddings.shape[0]
    global_ctr = float(clicks.sum() / max(imps.sum(), 1))
    ok = np.flatnonzero(imps >= min_imps)
    if ok.size == 0:
        return np.full(n, global_ctr)
    e = (embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    sim = e @ e[ok].T
    sim[ok, np.arange(ok.size)] = -np.inf  # a creative is not its own neighbour
    kk = min(k, ok.size)
    # k rounds of a row-wise argmax: ~10x faster than argpartition on 100k candidates × a few hundred references.
    rows = np.arange(n)
    num, den = np.zeros(n), np.zeros(n)
    for _ in range(kk):
        j = sim.argmax(axis=1)
        num += clicks[ok[j]]
        den += imps[ok[j]]
        sim[rows, j] = -np.inf
    return num / np.maximum(den, 1)


def content_scores(
    embeddings: np.ndarray, clicks: np.ndarray, imps: np.ndarray, alpha: float = 1.0, min_imps: int = 200
) -> np.ndarray:
    """A learned linear read-out of content: ridge from embeddings to each creative's past CTR logit.

    Trees split one column at a time and approximate a linear function of a
    32-dim embedding poorly; this one column carries the direction in
    embedding space that predicted CTR in the training window.
    """
    ok = imps >= min_imps
    n = embeddings.shape[0]
    if ok.sum() < 5:
        return np.zeros(n)
    rate = (clicks[ok] + 1.0) / (imps[ok] + 2.0)
    target = np.log(rate / (1 - rate))
    e = embeddings[ok].astype(np.float64)
    mu_t, mu_e = target.mean(), e.mean(axis=0)
    ec = e - mu_e
    w = np.linalg.solve(ec.T @ ec + alpha * np.eye(e.shape[1]), ec.T @ (target - mu_t))
    return (embeddings.astype(np.float64) - mu_e) @ w


def _spec_vocab(name: str) -> tuple[str, ...]:
    for s in CREATIVE_FEATURES:
        if s.name == name and s.vocab is not None:
            return s.vocab
    raise InputError(f"feature {name!r} has no declared vocabulary")


def _categorical(values: Any, name: str) -> Any:
    """``values`` as a pandas Categorical over the declared vocabulary of ``name`` (unknown → missing).

    Categorical columns make the frame small and let :class:`FeatureEncoder`
    read integer codes instead of hashing one string per row.
    """
    import pandas as pd

    vocab = _spec_vocab(name)
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        cats = (
            [str(c) for c in values.cat.categories] if hasattr(values, "cat") else [str(c) for c in values.categories]
        )
        codes = np.asarray(values.cat.codes if hasattr(values, "cat") else values.codes, dtype=np.int64)
        if cats != list(vocab):
            codes = np.append(pd.Index(vocab).get_indexer(cats), -1)[codes]
    else:
        codes = pd.Index(vocab).get_indexer(np.asarray(values).astype(str))
    return pd.Categorical.from_codes(codes, categories=list(vocab))


def _cross(left: Any, right: Any, name: str) -> Any:
    """The crossed Categorical ``left|right`` from two Categoricals, by codes (missing when either is)."""
    import pandas as pd

    nr = len(right.categories)
    lc, rc = np.asarray(left.codes, np.int64), np.asarray(right.codes, np.int64)
    codes = np.where((lc >= 0) & (rc >= 0), lc * nr + rc, -1)
    vocab = _spec_vocab(name)
    if len(vocab) != len(left.categories) * nr:
        raise InputError(f"cross {name!r} vocabulary does not match its parts: declare it with _cross_vocab")
    return pd.Categorical.from_codes(codes, categories=list(vocab))


#: Creative attributes the attribute prior (:func:`attribute_prior_logits`) reads.
PRIOR_CATEGORICALS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("industry", _vocab(Industry)),
    ("platform", _vocab(Platform)),
    ("language", _vocab(Language)),
    ("aspect", _vocab(Aspect)),
    ("hook_type", _vocab(HookType)),
    ("angle", _vocab(Angle)),
    ("pacing", _vocab(Pacing)),
    ("cta_strength", _vocab(CtaStrength)),
)
PRIOR_NUMERICS: tuple[str, ...] = ("price_mentioned", "duration_s", "n_shots", "has_presenter", "caption_coverage")


def _creative_design(creatives: Any, embeddings: np.ndarray) -> np.ndarray:
    """Per-creative design matrix: one-hot attributes, z-scored numerics, the content embedding."""
    parts: list[np.ndarray] = []
    for name, vocab in PRIOR_CATEGORICALS:
        codes = np.asarray([vocab.index(v) if v in vocab else -1 for v in creatives[name].astype(str)], dtype=np.int64)
        block = np.zeros((len(codes), len(vocab)))
        ok = codes >= 0
        block[np.flatnonzero(ok), codes[ok]] = 1.0
        parts.append(block)
    num = creatives[list(PRIOR_NUMERICS)].to_numpy(np.float64)
    parts.append((num - num.mean(axis=0)) / np.maximum(num.std(axis=0), 1e-9))
    parts.append(np.asarray(embeddings, np.float64))
    return np.hstack(parts)


def attribute_prior_logits(
    design: np.ndarray,
    clicks: np.ndarray,
    imps: np.ndarray,
    min_imps: int = 200,
    alphas: Sequence[float] = (1.0, 3.0, 10.0, 30.0, 100.0),
) -> np.ndarray:
    """Each creative's event-rate logit (``clicks`` per impression; or plays) from its attributes and content alone.

    Ridge from the creative design matrix (plus an unpenalised intercept) to
    the smoothed rate logit of every creative with ``min_imps`` impressions,
    weighted by impressions, the penalty picked by leave-one-out error.
    Creatives that took part in the fit get their exact **leave-one-out**
    prediction (for the chosen penalty), so their own outcomes (and hence
    their hidden quality) never leak into their own prior; the others get the
    plain prediction. This is the expectation the own-history lifts are
    measured against. The pooled rate logit when fewer than 20 creatives qualify.
    """
    n = design.shape[0]
    ok = np.flatnonzero(imps >= min_imps)
    pooled = float(np.log((clicks.sum() + 1.0) / max(imps.sum() - clicks.sum() + 1.0, 1.0)))
    if ok.size < 20:
        return np.full(n, pooled)
    rate = (clicks[ok] + 1.0) / (imps[ok] + 2.0)
    t = np.log(rate / (1 - rate))
    sw = np.sqrt(imps[ok] / imps[ok].mean())  # impression weights (they do not depend on anyone's clicks)
    x1 = np.hstack([np.ones((n, 1)), design])  # an unpenalised intercept, so leave-one-out below is exact
    xs, ts = x1[ok] * sw[:, None], t * sw
    penalty = np.eye(x1.shape[1])
    penalty[0, 0] = 0.0
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for a in alphas:
        inv = np.linalg.inv(xs.T @ xs + a * penalty)
        coef = inv @ (xs.T @ ts)
        h = np.einsum("ij,jk,ik->i", xs, inv, xs)
        loo = (ts - xs @ coef) / np.maximum(1.0 - h, 1e-6)  # exact leave-one-out residuals of penalised LS
        err = float(np.mean(loo**2))
        if best is None or err < best[0]:
            best = (err, coef, loo)
    assert best is not None
    _, coef, loo = best
    out = x1 @ coef
    out[ok] = t - loo / sw  # leave-one-out prediction for the creatives in the fit
    return out


def build_feature_frame(
    log: ImpressionLog,
    embeddings: Mapping[str, np.ndarray] | None = None,
    history_until_day: int | None = None,
    knn_k: int = 10,
    prior_strength: float = 200.0,
    lift_prior_clicks: float = 25.0,
    lift_prior_plays: float = 40.0,
) -> Any:
    """One row of features per impression of ``log`` (a pandas DataFrame, columns per :data:`CREATIVE_FEATURES`).

    ``embeddings`` maps content feature names to ``(n_creatives, d)`` arrays
    (default: ``{"text_emb": log.embeddings}``). History is strictly causal:
    a row on day ``t`` sees its creative's logs of days ``< t`` only.
    Neighbour rates use days ``< history_until_day`` (the training window) so
    held-out outcomes never leak into them.

    ``hist_lift`` is the creative's own evidence about what its attributes do
    not show (execution quality): ``log((clicks + k) / (expected + k))`` over
    its impressions before the row's day, ``expected`` from the
    leave-one-out attribute prior of the training window
    (:func:`attribute_prior_logits`) and ``k = lift_prior_clicks`` (≈ 1/τ²,
    τ the between-creative logit s.d.), i.e. the empirical-Bayes posterior
    mean of the creative's own logit effect; 0 for a creative that never ran.
    ``hist_play_lift`` is the same for 3-second plays (``k = lift_prior_plays``):
    a creative's unobserved execution quality moves its play rate too, and
    plays are far more numerous than clicks, so they reveal it sooner.
    """
    import pandas as pd

    imp, cre = log.impressions, log.creatives
    n_cre = len(cre)
    embeddings = dict(embeddings) if embeddings is not None else {"text_emb": log.embeddings}
    for name, arr in embeddings.items():
        if arr.ndim != 2 or arr.shape[0] != n_cre:
            raise InputError(
                f"embedding {name!r} has shape {arr.shape}, expected ({n_cre}, d): one row per creative",
                field=name,
            )
    cidx = imp["creative"].to_numpy()
    day = imp["day"].to_numpy().astype(np.int64)
    n_days = int(day.max()) + 1
    until = n_days if history_until_day is None else history_until_day

    # Causal per-(creative, day) history.
    flat = cidx.astype(np.int64) * n_days + day
    imps_cd = np.bincount(flat, minlength=n_cre * n_days).reshape(n_cre, n_days)
    clk_cd = np.bincount(flat, weights=imp["click"].to_numpy(), minlength=n_cre * n_days).reshape(n_cre, n_days)
    cnv_cd = np.bincount(flat, weights=imp["conversion"].to_numpy(), minlength=n_cre * n_days).reshape(n_cre, n_days)
    before = lambda a: np.cumsum(a, axis=1) - a  # noqa: E731  (days strictly before)
    h_imps, h_clk, h_cnv = before(imps_cd), before(clk_cd), before(cnv_cd)

    train_imps = imps_cd[:, :until].sum(axis=1)
    train_clk = clk_cd[:, :until].sum(axis=1)
    knn = neighbour_rates(embeddings.get("text_emb", log.embeddings), train_clk, train_imps, k=knn_k)
    g_ctr = float(train_clk.sum() / max(train_imps.sum(), 1))
    g_ctcvr = float(cnv_cd[:, :until].sum() / max(train_imps.sum(), 1))

    design = _creative_design(cre, embeddings.get("text_emb", log.embeddings))
    prior = attribute_prior_logits(design, train_clk, train_imps)
    lift_cd = np.log((h_clk + lift_prior_clicks) / (h_imps / (1.0 + np.exp(-prior)[:, None]) + lift_prior_clicks))
    if "play_3s" in imp.columns:
        play_cd = np.bincount(flat, weights=imp["play_3s"].to_numpy(), minlength=n_cre * n_days).reshape(n_cre, n_days)
        h_play = before(play_cd)
        prior_play = attribute_prior_logits(design, play_cd[:, :until].sum(axis=1), train_imps)
        play_lift_cd = np.log(
            (h_play + lift_prior_plays) / (h_imps / (1.0 + np.exp(-prior_play)[:, None]) + lift_prior_plays)
        )
    else:
        play_lift_cd = np.zeros_like(lift_cd)

    hi, hc, hv = h_imps[cidx, day], h_clk[cidx, day], h_cnv[cidx, day]
    cols: dict[str, Any] = {}
    for name in ("industry", "platform", "language", "aspect", "hook_type", "angle", "pacing", "cta_strength"):
        per_creative = _categorical(cre[name].to_numpy(), name)  # one lookup per creative, not per row
        cols[name] = pd.Categorical.from_codes(np.asarray(per_creative.codes)[cidx], categories=per_creative.categories)
    for name in ("price_mentioned", "duration_s", "n_shots", "has_presenter", "caption_coverage"):
        cols[name] = cre[name].to_numpy()[cidx].astype(np.float32)
    cols["audience"] = _categorical(imp["audience"], "audience")
    cols["placement"] = _categorical(imp["placement"], "placement")
    cols["position"] = imp["position"].to_numpy().astype(np.float32)
    cols["frequency"] = imp["frequency"].to_numpy().astype(np.float32)
    cols["age_days"] = (day - cre["launch_day"].to_numpy()[cidx]).astype(np.float32)
    cols["hist_log_imps"] = np.log1p(hi).astype(np.float32)
    cols["hist_ctr"] = _smoothed(hc, hi, knn[cidx], prior_strength).astype(np.float32)
    cols["hist_ctcvr"] = _smoothed(hv, hi, g_ctcvr, 20 * prior_strength).astype(np.float32)
    cols["hist_lift"] = lift_cd[cidx, day].astype(np.float32)
    cols["hist_play_lift"] = play_lift_cd[cidx, day].astype(np.float32)
    cols["content_ctr"] = content_scores(embeddings.get("text_emb", log.embeddings), train_clk, train_imps)[
        cidx
    ].astype(np.float32)
    cols["knn_ctr"] = np.where(np.isfinite(knn), knn, g_ctr)[cidx].astype(np.float32)
    for name, left, right in CROSSES:
        cols[name] = _cross(cols[left], cols[right], name)
    for name, arr in embeddings.items():
        rows = arr[cidx].astype(np.float32)
        for j in range(arr.shape[1]):
            cols[f"{name}_{j}"] = rows[:, j]
    return pd.DataFrame(cols)


@dataclass
class FeatureEncoder:
    """Encodes a feature frame for LightGBM (codes + NaN) and for the linear baseline (one-hot + z-scores).

    :meth:`fit` learns what the specs leave open (missing vocabularies,
    embedding widths, numeric means and scales) from the training frame
    only; the state round-trips through :meth:`to_dict` for the model store.
    """

    specs: tuple[FeatureSpec, ...]
    vocab: dict[str, list[str]] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)
    mean: dict[str, float] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)

    def fit(self, frame: Any) -> FeatureEncoder:
        """Learn vocabularies, embedding widths and numeric scaling from ``frame``; drops absent optional embeddings."""
        kept: list[FeatureSpec] = []
        for s in self.specs:
            if s.kind is FeatureKind.embedding:
                width = sum(1 for c in frame.columns if c.startswith(f"{s.name}_") and c[len(s.name) + 1 :].isdigit())
                if width == 0:
                    if s.required:
                        raise InputError(
                            f"required embedding feature {s.name!r} is missing from the frame: "
                            f"pass embeddings={{'{s.name}': array}} to build_feature_frame",
                            field=s.name,
                        )
                    continue
                self.dims[s.name] = width
            elif s.name not in frame.columns:
                raise InputError(
                    f"feature {s.name!r} is declared but not in the frame (columns: {sorted(frame.columns)[:12]} …)",
                    field=s.name,
                )
            elif s.kind is FeatureKind.categorical:
                self.vocab[s.name] = list(s.vocab) if s.vocab is not None else sorted(map(str, frame[s.name].unique()))
            else:
                col = frame[s.name].to_numpy(dtype=np.float64)
                self.mean[s.name] = float(np.nanmean(col))
                self.scale[s.name] = float(np.nanstd(col)) or 1.0
            kept.append(s)
        self.specs = tuple(kept)
        return self

    def _codes(self, frame: Any, name: str) -> np.ndarray:
        """Vocabulary index per row, -1 = unknown or missing.

        Fast path: a pandas ``Categorical`` column (what :func:`build_feature_frame`
        and :func:`cold_start_frame` produce) is read through its codes, mapping
        only its few categories, never the per-row strings.
        """
        import pandas as pd

        col = frame[name]
        vocab = self.vocab[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype(np.int64)
            cats = [str(c) for c in col.cat.categories]
            if cats == vocab:
                return codes
            remap = np.append(pd.Index(vocab).get_indexer(cats), -1)  # code -1 (NaN) → last slot → -1
            return remap[codes]
        codes = pd.Index(vocab).get_indexer(col.astype(str).to_numpy())
        return np.asarray(codes, dtype=np.int64)

    def _family(self, family: str) -> list[FeatureSpec]:
        return [s for s in self.specs if family in s.models]

    @property
    def tree_columns(self) -> list[str]:
        """Column order of :meth:`tree_matrix`."""
        out: list[str] = []
        for s in self._family("tree"):
            out += s.columns(self.dims.get(s.name))
        return out

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of categorical columns in :meth:`tree_matrix` (for LightGBM)."""
        cols = self.tree_columns
        return [cols.index(s.name) for s in self._family("tree") if s.kind is FeatureKind.categorical]

    def tree_matrix(self, frame: Any) -> np.ndarray:
        """float32 matrix for LightGBM: category codes (NaN when unknown), raw numerics (tree features only)."""
        specs = self._family("tree")
        width = sum(self.dims[s.name] if s.kind is FeatureKind.embedding else 1 for s in specs)
        out = np.empty((len(frame), width), dtype=np.float32)
        j = 0
        for s in specs:
            if s.kind is FeatureKind.categorical:
                c = self._codes(frame, s.name)
                out[:, j] = c
                out[c < 0, j] = np.nan
                j += 1
            elif s.kind is FeatureKind.numeric:
                out[:, j] = frame[s.name].to_numpy(dtype=np.float32)
                j += 1
            else:
                d = self.dims[s.name]
                out[:, j : j + d] = frame[s.columns(d)].to_numpy(dtype=np.float32)
                j += d
        return out

    def linear_logit(self, frame: Any, coef: np.ndarray, intercept: float = 0.0) -> np.ndarray:
        """``linear_matrix(frame) @ coef + intercept`` without building the one-hot matrix (the scoring hot path).

        A one-hot block times its coefficients is one coefficient per row
        (looked up by category code; unknown = 0), so only numerics and
        embeddings are multiplied; same result as the matrix product up to
        float rounding, several times faster on wide vocabularies.
        """
        coef = np.asarray(coef, dtype=np.float64)
        out = np.full(len(frame), float(intercept))
        j = 0
        for s in self._family("linear"):
            if s.kind is FeatureKind.categorical:
                k = len(self.vocab[s.name])
                lut = np.append(coef[j : j + k], 0.0)  # index -1 (unknown) reads the trailing 0
                out += lut[self._codes(frame, s.name)]
                j += k
            elif s.kind is FeatureKind.numeric:
                col = frame[s.name].to_numpy(dtype=np.float64)
                z = np.nan_to_num((col - self.mean[s.name]) / self.scale[s.name], nan=0.0)
                out += coef[j] * z
                j += 1
            else:
                d = self.dims[s.name]
                out += frame[s.columns(d)].to_numpy(dtype=np.float32) @ coef[j : j + d].astype(np.float32)
                j += d
        if j != coef.shape[0]:
            raise InputError(
                f"linear coefficients have {coef.shape[0]} entries, this encoder's linear matrix has {j} columns: "
                "score with the encoder the model was trained with"
            )
        return out

    def linear_matrix(self, frame: Any) -> np.ndarray:
        """float32 matrix for the linear models: one-hot (unknown = zeros), z-scored numerics, embeddings."""
        parts: list[np.ndarray] = []
        for s in self._family("linear"):
            if s.kind is FeatureKind.categorical:
                codes = self._codes(frame, s.name)
                block = np.zeros((len(codes), len(self.vocab[s.name])), dtype=np.float32)
                ok = codes >= 0
                block[np.flatnonzero(ok), codes[ok]] = 1.0
                parts.append(block)
            elif s.kind is FeatureKind.numeric:
                col = frame[s.name].to_numpy(dtype=np.float32)
                z = (col - self.mean[s.name]) / self.scale[s.name]
                parts.append(np.nan_to_num(z, nan=0.0)[:, None].astype(np.float32))
            else:
                parts.append(frame[s.columns(self.dims[s.name])].to_numpy(dtype=np.float32))
        return np.ascontiguousarray(np.hstack(parts))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state for the model card."""
        return {
            "specs": [
                {
                    "name": s.name,
                    "kind": s.kind.value,
                    "source": s.source,
                    "vocab": list(s.vocab) if s.vocab is not None else None,
                    "dim": s.dim,
                    "required": s.required,
                    "description": s.description,
                    "models": list(s.models),
                }
                for s in self.specs
            ],
            "vocab": self.vocab,
            "dims": self.dims,
            "mean": self.mean,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureEncoder:
        """Inverse of :meth:`to_dict`."""
        specs = tuple(
            FeatureSpec(
                name=d["name"],
                kind=FeatureKind(d["kind"]),
                source=d["source"],
                vocab=tuple(d["vocab"]) if d["vocab"] is not None else None,
                dim=d["dim"],
                required=d["required"],
                description=d.get("description", ""),
                models=tuple(d.get("models", ("tree", "linear"))),
            )
            for d in data["specs"]
        )
        return cls(
            specs=specs,
            vocab={k: list(v) for k, v in data["vocab"].items()},
            dims=dict(data["dims"]),
            mean=dict(data["mean"]),
            scale=dict(data["scale"]),
        )


def select_features(
    names: Sequence[str] | None, specs: Sequence[FeatureSpec] = CREATIVE_FEATURES
) -> tuple[FeatureSpec, ...]:
    """The specs named in ``names`` (all when ``None``); an unknown name raises naming it and the known ones."""
    if names is None:
        return tuple(specs)
    by_name = {s.name: s for s in specs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise InputError(f"unknown feature(s) {unknown}: declared features are {sorted(by_name)}", field="features")
    return tuple(by_name[n] for n in names)


def cold_start_frame(
    attrs: Sequence[Any],
    embeddings: np.ndarray,
    ref_embeddings: np.ndarray,
    ref_impressions: np.ndarray,
    ref_clicks: np.ndarray,
    ref_conversions: np.ndarray,
    n_contexts: int = 4,
    rng: np.random.Generator | None = None,
    knn_k: int = 10,
) -> Any:
    """Feature rows for candidates that never ran: ``n_contexts`` launch-day requests each, row ``i·n + j``.

    The candidates' history columns are what :func:`build_feature_frame` gives
    a creative on its launch day (no impressions of its own), with neighbour
    and content priors computed from the reference creatives (the library, or
    anything with delivery counts). Contexts draw audience and placement at
    the simulator's traffic shares, first exposure, slot as in delivery.
    ``attrs`` are :class:`~adloom.analytics.simulator.CreativeAttributes`.
    """
    import pandas as pd

    from adloom.analytics.simulator import PLACEMENT_SHARE

    n = len(attrs)
    if embeddings.shape[0] != n:
        raise InputError(f"embeddings has {embeddings.shape[0]} rows for {n} candidates: one row per candidate")
    if ref_embeddings.ndim != 2 or ref_embeddings.shape[1] != embeddings.shape[1]:
        raise InputError(
            f"reference embeddings have shape {ref_embeddings.shape}, candidates {embeddings.shape}: "
            "embed both with the same embedder and width"
        )
    if n_contexts < 1:
        raise InputError(f"n_contexts={n_contexts} must be >= 1", field="n_contexts")
    rng = rng if rng is not None else np.random.default_rng(0)
    emb_all = np.vstack([ref_embeddings, embeddings]).astype(np.float32)
    imps_all = np.concatenate([np.asarray(ref_impressions, np.float64), np.zeros(n)])
    clk_all = np.concatenate([np.asarray(ref_clicks, np.float64), np.zeros(n)])
    g_ctr = float(clk_all.sum() / max(imps_all.sum(), 1.0))
    g_ctcvr = float(np.sum(ref_conversions) / max(imps_all.sum(), 1.0))
    knn = neighbour_rates(emb_all, clk_all, imps_all, k=knn_k)[-n:] if n else np.zeros(0)
    knn = np.where(np.isfinite(knn), knn, g_ctr)
    content = content_scores(emb_all, clk_all, imps_all)[-n:] if n else np.zeros(0)
    m = n * n_contexts
    cidx = np.repeat(np.arange(n), n_contexts)
    placements = list(PLACEMENT_OFFSETS)
    cols: dict[str, Any] = {}
    cat_names = ("industry", "platform", "language", "aspect", "hook_type", "angle", "pacing", "cta_strength")
    num_names = ("price_mentioned", "duration_s", "n_shots", "has_presenter", "caption_coverage")
    # One pass over the candidate objects, then columnar. Codes come from plain dicts keyed by value: a StrEnum
    # member hashes and compares as its value, so no (slow) `.value` descriptor call per attribute.
    ix = [{v: i for i, v in enumerate(_spec_vocab(name))} for name in cat_names]
    i_ind, i_plat, i_lang, i_asp, i_hook, i_ang, i_pace, i_cta = ix
    table = [
        (
            i_ind.get(a.industry, -1),
            i_plat.get(a.platform, -1),
            i_lang.get(a.language, -1),
            i_asp.get(a.aspect, -1),
            i_hook.get(a.hook_type, -1),
            i_ang.get(a.angle, -1),
            i_pace.get(a.pacing, -1),
            i_cta.get(a.cta_strength, -1),
            float(a.price_mentioned),
            float(a.duration_s),
            float(a.n_shots),
            float(a.has_presenter),
            float(a.caption_coverage),
        )
        for a in attrs
    ]
    arr = np.array(table, dtype=np.float64).reshape(n, len(cat_names) + len(num_names))
    for k, name in enumerate(cat_names):
        codes = arr[:, k].astype(np.int64)[cidx]
        cols[name] = pd.Categorical.from_codes(codes, categories=list(_spec_vocab(name)))
    for k, name in enumerate(num_names):
        cols[name] = arr[:, len(cat_names) + k].astype(np.float32)[cidx]
    cols["audience"] = _categorical(
        np.asarray(AUDIENCES, dtype=object)[rng.integers(0, len(AUDIENCES), size=m)], "audience"
    )
    cols["placement"] = _categorical(
        np.asarray(placements, dtype=object)[
            rng.choice(len(placements), size=m, p=[PLACEMENT_SHARE[x] for x in placements])
        ],
        "placement",
    )
    cols["position"] = np.minimum(rng.geometric(0.45, size=m), 6).astype(np.float32)
    cols["frequency"] = np.ones(m, dtype=np.float32)
    cols["age_days"] = np.zeros(m, dtype=np.float32)
    cols["hist_log_imps"] = np.zeros(m, dtype=np.float32)
    cols["hist_ctr"] = knn[cidx].astype(np.float32)
    cols["hist_ctcvr"] = np.full(m, g_ctcvr, dtype=np.float32)
    cols["hist_lift"] = np.zeros(m, dtype=np.float32)
    cols["hist_play_lift"] = np.zeros(m, dtype=np.float32)
    cols["content_ctr"] = content[cidx].astype(np.float32)
    cols["knn_ctr"] = knn[cidx].astype(np.float32)
    for name, left, right in CROSSES:
        cols[name] = _cross(cols[left], cols[right], name)
    rows = embeddings[cidx].astype(np.float32)
    for j in range(embeddings.shape[1]):
        cols[f"text_emb_{j}"] = rows[:, j]
    return pd.DataFrame(cols)
