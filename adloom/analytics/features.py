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
  and that of its nearest content neighbours in the library (cold start).

Unknown categories (a value not in the declared vocabulary) never raise:
trees see a missing value, the linear model an all-zero one-hot block.
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
    FeatureSpec("text_emb", E, "content", description="script text embedding"),
    FeatureSpec("frame_emb", E, "content", required=False, description="key-frame embedding, when rendered"),
    FeatureSpec("audio_emb", E, "content", required=False, description="voice/music embedding, when rendered"),
    FeatureSpec("hist_log_imps", N, "history", description="log1p impressions before today"),
    FeatureSpec("hist_ctr", N, "history", description="smoothed CTR before today (prior: neighbours)"),
    FeatureSpec("hist_ctcvr", N, "history", description="smoothed conversions per impression before today"),
    FeatureSpec("knn_ctr", N, "history", description="CTR of the k nearest library creatives"),
    FeatureSpec("content_ctr", N, "history", description="ridge map of text_emb to past creative CTR logit"),
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
    e = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    sim = e @ e[ok].T
    sim[ok, np.arange(ok.size)] = -np.inf  # a creative is not its own neighbour
    kk = min(k, ok.size)
    top = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
    nb = ok[top]
    return clicks[nb].sum(axis=1) / np.maximum(imps[nb].sum(axis=1), 1)


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


def build_feature_frame(
    log: ImpressionLog,
    embeddings: Mapping[str, np.ndarray] | None = None,
    history_until_day: int | None = None,
    knn_k: int = 10,
    prior_strength: float = 200.0,
) -> Any:
    """One row of features per impression of ``log`` (a pandas DataFrame, columns per :data:`CREATIVE_FEATURES`).

    ``embeddings`` maps content feature names to ``(n_creatives, d)`` arrays
    (default: ``{"text_emb": log.embeddings}``). History is strictly causal:
    a row on day ``t`` sees its creative's logs of days ``< t`` only.
    Neighbour rates use days ``< history_until_day`` (the training window) so
    held-out outcomes never leak into them.
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

    hi, hc, hv = h_imps[cidx, day], h_clk[cidx, day], h_cnv[cidx, day]
    cols: dict[str, Any] = {}
    for name in ("industry", "platform", "language", "aspect", "hook_type", "angle", "pacing", "cta_strength"):
        cols[name] = cre[name].to_numpy()[cidx]
    for name in ("price_mentioned", "duration_s", "n_shots", "has_presenter", "caption_coverage"):
        cols[name] = cre[name].to_numpy()[cidx].astype(np.float32)
    cols["audience"] = imp["audience"].astype(str).to_numpy()
    cols["placement"] = imp["placement"].astype(str).to_numpy()
    cols["position"] = imp["position"].to_numpy().astype(np.float32)
    cols["frequency"] = imp["frequency"].to_numpy().astype(np.float32)
    cols["age_days"] = (day - cre["launch_day"].to_numpy()[cidx]).astype(np.float32)
    cols["hist_log_imps"] = np.log1p(hi).astype(np.float32)
    cols["hist_ctr"] = _smoothed(hc, hi, knn[cidx], prior_strength).astype(np.float32)
    cols["hist_ctcvr"] = _smoothed(hv, hi, g_ctcvr, 20 * prior_strength).astype(np.float32)
    cols["content_ctr"] = content_scores(embeddings.get("text_emb", log.embeddings), train_clk, train_imps)[
        cidx
    ].astype(np.float32)
    cols["knn_ctr"] = np.where(np.isfinite(knn), knn, g_ctr)[cidx].astype(np.float32)
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
        import pandas as pd

        codes = pd.Index(self.vocab[name]).get_indexer(frame[name].astype(str).to_numpy())
        return np.asarray(codes, dtype=np.int64)  # -1 = unknown

    @property
    def tree_columns(self) -> list[str]:
        """Column order of :meth:`tree_matrix`."""
        out: list[str] = []
        for s in self.specs:
            out += s.columns(self.dims.get(s.name))
        return out

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of categorical columns in :meth:`tree_matrix` (for LightGBM)."""
        cols = self.tree_columns
        return [cols.index(s.name) for s in self.specs if s.kind is FeatureKind.categorical]

    def tree_matrix(self, frame: Any) -> np.ndarray:
        """float32 matrix for LightGBM: category codes (NaN when unknown), raw numerics, embeddings."""
        parts: list[np.ndarray] = []
        for s in self.specs:
            if s.kind is FeatureKind.categorical:
                c = self._codes(frame, s.name).astype(np.float32)
                c[c < 0] = np.nan
                parts.append(c[:, None])
            elif s.kind is FeatureKind.numeric:
                parts.append(frame[s.name].to_numpy(dtype=np.float32)[:, None])
            else:
                parts.append(frame[s.columns(self.dims[s.name])].to_numpy(dtype=np.float32))
        return np.ascontiguousarray(np.hstack(parts))

    def linear_matrix(self, frame: Any) -> np.ndarray:
        """float32 matrix for the logistic baseline: one-hot (unknown = zeros), z-scored numerics, embeddings."""
        parts: list[np.ndarray] = []
        for s in self.specs:
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
