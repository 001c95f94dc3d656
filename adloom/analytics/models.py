"""CTR / CVR / 3s-play predictors: LightGBM boosters, the logistic baseline, calibration, metrics, the store.

* pCTR is a logistic model on the linear features (one-hot attributes and
  context, the content embedding, audience crosses) whose logit is the
  ``init_score`` of a LightGBM booster that fits what the linear part misses
  (non-linear history, position and fatigue shapes, further interactions).
  Why both: the delivery logs are close to additive in logit space, where a
  linear model is hard to beat and trees waste splits approximating lines;
  the trees then only learn the residual.
* pPlay is a plain binary LightGBM model over all impressions.
* pCVR is trained over the **entire impression space** (ESMM, Ma et al.
  2018, for trees): the CVR booster's loss is the log loss of
  ``pCTCVR = pCTR × sigmoid(f_cvr)`` against "converted" on every impression,
  with pCTR from the already-trained CTR booster. No model ever sees only
  clicked rows, so there is no sample-selection bias, and
  ``pCTCVR = pCTR × pCVR`` holds exactly by construction.
* Calibration (isotonic or Platt) is fitted on a held-out calibration slice
  and stored as numbers (no pickles); :func:`reliability_curve` and
  :func:`expected_calibration_error` measure it.
* Uncertainty: the spread of a small bag of CTR boosters (model
  uncertainty) combined with the posterior s.d. of the creative's own effect,
  ``1 / sqrt(1/τ² + expected clicks so far)``, where τ (the between-creative
  s.d. the features do not explain) is estimated at training time. A cold
  creative (no impressions yet) carries the full τ; it shrinks as feedback
  arrives, which is what exploration needs.
* The model (booster) and the trainer (:func:`train_predictor`) are kept apart.

Saved models are versioned directories ``<root>/<version>/`` holding the
booster text files, the encoder state, the linear base and ``card.json``
(version, config hash, metrics, created_at); serving registers each version
in the store's ``model_versions`` table (``adloom predictor list``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from adloom.analytics.features import FeatureEncoder
from adloom.core.errors import InputError, NotFoundError, StorageError

CARD_NAME = "card.json"


class LightGBMParams(BaseModel):
    """LightGBM settings shared by the three heads (strict: unknown keys are an error)."""

    model_config = ConfigDict(extra="forbid")

    num_leaves: int = 7
    learning_rate: float = 0.05
    n_estimators: int = 100
    min_child_samples: int = 2000  # clicks are rare: small leaves fit noise
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 10.0
    max_bin: int = 63
    cat_smooth: float = 20.0
    #: The ESMM CVR head learns from ~1 conversion per 2,000 impressions: smaller trees, bigger leaves.
    cvr_num_leaves: int = 3
    cvr_min_child_samples: int = 5000
    #: The 3s-play head has ~15x more positives than clicks and no linear base: bigger trees, faster steps.
    #: (Measured on the 1M-impression bench log: 15 leaves at 0.3 early-stop at 31 trees, held-out play AUC 0.5889,
    #: vs 7 leaves at 0.05 still improving at the 100-tree cap, 0.5856, and it scores 2.3x faster. On the 300k test
    #: set it is 0.5826 vs 0.5877: with little data the fast steps early-stop on noise; lower it there.)
    play_num_leaves: int = 15
    play_learning_rate: float = 0.3
    #: 1 is fastest on a shared 2-core box; 0 (= all cores) pays off on a dedicated machine.
    num_threads: int = 1

    def to_lgb(self, seed: int) -> dict[str, Any]:
        """The native LightGBM parameter dict."""
        return {
            "objective": "binary",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1 if self.bagging_fraction < 1.0 else 0,
            "lambda_l2": self.lambda_l2,
            "max_bin": self.max_bin,
            "cat_smooth": self.cat_smooth,
            "num_threads": self.num_threads,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _logit(p: np.ndarray | float, eps: float = 1e-7) -> np.ndarray:
    q = np.clip(p, eps, 1 - eps)
    return np.log(q / (1 - q))


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC; NaN when ``y`` has one class only."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy, probabilities clipped to [1e-7, 1 - 1e-7]."""
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


@dataclass(frozen=True)
class ReliabilityCurve:
    """Per-bin mean prediction, observed positive rate and count (equal-count bins)."""

    mean_pred: np.ndarray
    frac_pos: np.ndarray
    count: np.ndarray


def reliability_curve(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> ReliabilityCurve:
    """Reliability diagram data with equal-count (quantile) bins, which suit rare events like clicks."""
    if len(y) != len(p) or len(y) == 0:
        raise InputError(f"y and p must be non-empty and of equal length, got {len(y)} and {len(p)}")
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, n_bins)
    bins = [b for b in bins if len(b)]
    return ReliabilityCurve(
        mean_pred=np.array([p[b].mean() for b in bins]),
        frac_pos=np.array([y[b].mean() for b in bins]),
        count=np.array([len(b) for b in bins]),
    )


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE: count-weighted mean |mean prediction − observed rate| over equal-count bins."""
    c = reliability_curve(y, p, n_bins)
    return float(np.sum(c.count * np.abs(c.mean_pred - c.frac_pos)) / np.sum(c.count))


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------


@dataclass
class Calibrator:
    """Maps raw probabilities to calibrated ones; ``method`` is ``isotonic``, ``platt`` or ``none``.

    Stored as plain numbers (isotonic knots, or Platt's slope and intercept
    on the logit), so a saved model loads without pickles.
    """

    method: Literal["isotonic", "platt", "none"] = "isotonic"
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    a: float = 1.0
    b: float = 0.0

    def fit(self, p: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit on held-out predictions ``p`` and labels ``y``."""
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6).fit(p, y)
            self.x = [float(v) for v in iso.X_thresholds_]
            self.y = [float(v) for v in iso.y_thresholds_]
        elif self.method == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e6, max_iter=200).fit(_logit(p)[:, None], y)
            self.a, self.b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        elif self.method != "none":
            raise InputError(f"calibration method {self.method!r} unknown: use isotonic, platt or none")
        return self

    def __call__(self, p: np.ndarray) -> np.ndarray:
        if self.method == "isotonic" and self.x:
            return np.interp(p, self.x, self.y)
        if self.method == "platt":
            return _sigmoid(self.a * _logit(p) + self.b)
        return p

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": self.x, "y": self.y, "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibrator:
        return cls(method=d["method"], x=list(d["x"]), y=list(d["y"]), a=d["a"], b=d["b"])


# ---------------------------------------------------------------------------
# Boosters and the baseline
# ---------------------------------------------------------------------------


def train_binary_lgbm(
    x: np.ndarray,
    y: np.ndarray,
    params: LightGBMParams,
    categorical: list[int] | None = None,
    seed: int = 0,
    n_estimators: int | None = None,
    init_score: np.ndarray | None = None,
    valid: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None,
    early_stopping_rounds: int = 20,
) -> Any:
    """Train one binary LightGBM booster (plain log loss), optionally boosting from a per-row ``init_score`` logit.

    ``valid`` = (x, y, init_score) of held-out rows: boosting stops once their
    log loss has not improved for ``early_stopping_rounds`` rounds, and the
    best iteration is kept, so the trees only add what helps on unseen days.
    """
    import lightgbm as lgb

    ds = lgb.Dataset(x, label=y, init_score=init_score, categorical_feature=categorical or "auto", free_raw_data=False)
    p = params.to_lgb(seed)
    rounds = n_estimators or params.n_estimators
    if valid is None:
        return lgb.train(p, ds, num_boost_round=rounds)
    vx, vy, vinit = valid
    vds = lgb.Dataset(vx, label=vy, init_score=vinit, reference=ds, categorical_feature=categorical or "auto")
    p["metric"] = "binary_logloss"
    booster = lgb.train(
        p,
        ds,
        num_boost_round=rounds,
        valid_sets=[vds],
        callbacks=[lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False)],
    )
    if booster.best_iteration and booster.best_iteration < booster.current_iteration():
        booster = booster.model_from_string(booster.model_to_string(num_iteration=booster.best_iteration))
    return booster


def _esmm_objective(p_ctr: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
    """Gradient and Hessian of logloss(y_conv, p_ctr · sigmoid(f)) with respect to f."""

    def fobj(f: np.ndarray, _ds: Any) -> tuple[np.ndarray, np.ndarray]:
        s = _sigmoid(f)
        q = np.clip(p_ctr * s, 1e-12, 1 - 1e-12)
        g_pos = -(1.0 - s)
        h_pos = s * (1.0 - s)
        g_neg = p_ctr * s * (1.0 - s) / (1.0 - q)
        h_neg = p_ctr * s * (1.0 - s) * ((1.0 - 2.0 * s) * (1.0 - q) + p_ctr * s * (1.0 - s)) / (1.0 - q) ** 2
        g = np.where(y > 0, g_pos, g_neg)
        h = np.maximum(np.where(y > 0, h_pos, h_neg), 1e-6)
        return g, h

    return fobj


def train_esmm_cvr(
    x: np.ndarray,
    y_conversion: np.ndarray,
    p_ctr: np.ndarray,
    params: LightGBMParams,
    categorical: list[int] | None = None,
    seed: int = 0,
) -> tuple[Any, float]:
    """Train the post-click CVR booster over all impressions; returns (booster, init logit).

    The booster's raw score plus the init logit is ``logit(pCVR)``.
    """
    import lightgbm as lgb

    rate = float(y_conversion.sum()) / max(float(p_ctr.sum()), 1e-9)  # conversions per expected click
    init = float(_logit(min(max(rate, 1e-4), 0.5)))
    ds = lgb.Dataset(
        x,
        label=y_conversion,
        init_score=np.full(len(y_conversion), init),
        categorical_feature=categorical or "auto",
        free_raw_data=True,
    )
    p = params.to_lgb(seed)
    p["num_leaves"], p["min_child_samples"] = params.cvr_num_leaves, params.cvr_min_child_samples
    p["objective"] = _esmm_objective(p_ctr.astype(np.float64), y_conversion.astype(np.float64))
    p["min_sum_hessian_in_leaf"] = 1e-4
    booster = lgb.train(p, ds, num_boost_round=params.n_estimators)
    return booster, init


@dataclass
class LogisticBaseline:
    """L2 logistic regression on one-hot categoricals, z-scored numerics and embeddings."""

    c: float = 1.0
    max_iter: int = 200
    coef: np.ndarray | None = None
    intercept: float = 0.0

    def fit(self, x: np.ndarray, y: np.ndarray) -> LogisticBaseline:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=self.c, max_iter=self.max_iter, tol=1e-5).fit(x, y)
        self.coef = lr.coef_[0].astype(np.float64)
        self.intercept = float(lr.intercept_[0])
        return self

    def logit(self, x: np.ndarray) -> np.ndarray:
        """The linear score ``x @ coef + intercept``."""
        if self.coef is None:
            raise InputError("LogisticBaseline used before fit: call fit(x, y) first")
        if x.shape[1] != self.coef.shape[0]:
            raise InputError(
                f"linear matrix has {x.shape[1]} columns, the model was fitted on {self.coef.shape[0]}: "
                "encode with the predictor's own FeatureEncoder"
            )
        return x @ self.coef + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        return _sigmoid(self.logit(x))

    def to_dict(self) -> dict[str, Any]:
        return {"c": self.c, "coef": [] if self.coef is None else self.coef.tolist(), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LogisticBaseline:
        return cls(c=d["c"], coef=np.asarray(d["coef"], dtype=np.float64), intercept=float(d["intercept"]))


# ---------------------------------------------------------------------------
# The predictor
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Predictions:
    """Calibrated probabilities per row; ``ctr_std`` is the bag spread in logits (0 without bagging)."""

    play_3s: np.ndarray
    ctr: np.ndarray
    cvr: np.ndarray
    ctr_std: np.ndarray

    @property
    def ctcvr(self) -> np.ndarray:
        """P(convert | impression) = pCTR × pCVR."""
        return self.ctr * self.cvr


@dataclass
class CreativePredictor:
    """The trained heads, their calibrators and the feature encoder; use :meth:`predict` on a feature frame.

    ``ctr_linear`` is the linear base of the CTR head (None: trees only);
    ``creative_sd`` is τ, the between-creative logit s.d. left unexplained by
    the features, used for the cold-start part of the uncertainty.
    """

    encoder: FeatureEncoder
    play_booster: Any
    ctr_booster: Any
    cvr_booster: Any
    cvr_init: float
    calibrators: dict[str, Calibrator] = field(default_factory=dict)
    ctr_bags: list[Any] = field(default_factory=list)
    ctr_linear: LogisticBaseline | None = None
    creative_sd: float = 0.3
    num_threads: int = 1

    def ctr_logit(self, x: np.ndarray, x_lin: np.ndarray | None) -> np.ndarray:
        """Uncalibrated CTR logit: linear base (when trained with one) plus the boosted residual."""
        raw = self.ctr_booster.predict(x, raw_score=True, num_threads=self.num_threads)
        if self.ctr_linear is not None:
            if x_lin is None:
                raise InputError("this predictor has a linear CTR base: pass x_lin = encoder.linear_matrix(frame)")
            raw = raw + self.ctr_linear.logit(x_lin)
        return raw

    def predict_matrix(
        self,
        x: np.ndarray,
        x_lin: np.ndarray | None = None,
        hist_imps: np.ndarray | None = None,
        calibrated: bool = True,
        with_bags: bool = True,
        linear_logit: np.ndarray | None = None,
    ) -> Predictions:
        """Predict from already-encoded matrices (the scoring hot path).

        ``x`` is :meth:`FeatureEncoder.tree_matrix`, ``x_lin`` the
        :meth:`FeatureEncoder.linear_matrix` of the same rows (or pass the
        linear base's logit directly as ``linear_logit``, see
        :meth:`FeatureEncoder.linear_logit`), ``hist_imps`` each row's
        creative's impressions so far (None: all cold).
        """
        nt = self.num_threads
        play = self.play_booster.predict(x, num_threads=nt)
        if linear_logit is not None and self.ctr_linear is not None:
            base = self.ctr_booster.predict(x, raw_score=True, num_threads=nt) + linear_logit
        else:
            base = self.ctr_logit(x, x_lin)
        ctr_raw = _sigmoid(base)
        cvr = _sigmoid(self.cvr_booster.predict(x, raw_score=True, num_threads=nt) + self.cvr_init)
        if calibrated:
            play = self.calibrators.get("play_3s", Calibrator("none"))(play)
            ctr = self.calibrators.get("ctr", Calibrator("none"))(ctr_raw)
        else:
            ctr = ctr_raw
        var = np.zeros(len(ctr))
        if self.ctr_bags and with_bags:
            logits = np.stack([b.predict(x, raw_score=True, num_threads=nt) for b in self.ctr_bags])
            var += logits.var(axis=0)
        seen = np.zeros(len(ctr)) if hist_imps is None else np.asarray(hist_imps, dtype=np.float64)
        var += 1.0 / (1.0 / self.creative_sd**2 + seen * ctr_raw)  # posterior variance of the creative's own effect
        return Predictions(play_3s=play, ctr=ctr, cvr=cvr, ctr_std=np.sqrt(var))

    def predict(self, frame: Any, calibrated: bool = True, with_bags: bool = True) -> Predictions:
        """Encode ``frame`` (see :func:`adloom.analytics.features.build_feature_frame`) and predict."""
        hist = np.expm1(frame["hist_log_imps"].to_numpy(np.float64)) if "hist_log_imps" in frame.columns else None
        base = None
        if self.ctr_linear is not None:  # gathered coefficients, not a one-hot matrix product (same numbers)
            if self.ctr_linear.coef is None:
                raise InputError("the predictor's linear CTR base is unfitted: train it with train_predictor")
            base = self.encoder.linear_logit(frame, self.ctr_linear.coef, self.ctr_linear.intercept)
        return self.predict_matrix(
            self.encoder.tree_matrix(frame), None, hist, calibrated, with_bags, linear_logit=base
        )

    def save(self, root: Path, version: str, card: Mapping[str, Any]) -> Path:
        """Write ``<root>/<version>/`` (boosters, encoder, calibrators, card.json); refuses to overwrite."""
        out = Path(root) / version
        if out.exists():
            raise StorageError(f"model version {version!r} already exists at {out}: choose a new version")
        try:
            out.mkdir(parents=True)
            self.play_booster.save_model(str(out / "play_3s.txt"))
            self.ctr_booster.save_model(str(out / "ctr.txt"))
            self.cvr_booster.save_model(str(out / "cvr.txt"))
            for i, b in enumerate(self.ctr_bags):
                b.save_model(str(out / f"ctr_bag{i}.txt"))
            state = {
                "encoder": self.encoder.to_dict(),
                "cvr_init": self.cvr_init,
                "calibrators": {k: c.to_dict() for k, c in self.calibrators.items()},
                "n_bags": len(self.ctr_bags),
                "ctr_linear": None if self.ctr_linear is None else self.ctr_linear.to_dict(),
                "creative_sd": self.creative_sd,
            }
            (out / "state.json").write_text(json.dumps(state), encoding="utf-8")
            full_card = {"version": version, "created_at": datetime.now(UTC).isoformat(), **card}
            (out / CARD_NAME).write_text(json.dumps(full_card, indent=2, default=_json_default), encoding="utf-8")
        except OSError as exc:
            raise StorageError(f"could not write model version {version!r} to {out}: {exc}") from exc
        return out

    @classmethod
    def load(cls, path: Path) -> CreativePredictor:
        """Load a directory written by :meth:`save`."""
        import lightgbm as lgb

        path = Path(path)
        if not (path / "state.json").is_file():
            raise NotFoundError(f"no saved predictor at {path}: expected state.json written by CreativePredictor.save")
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        lin = state.get("ctr_linear")
        return cls(
            encoder=FeatureEncoder.from_dict(state["encoder"]),
            play_booster=lgb.Booster(model_file=str(path / "play_3s.txt")),
            ctr_booster=lgb.Booster(model_file=str(path / "ctr.txt")),
            cvr_booster=lgb.Booster(model_file=str(path / "cvr.txt")),
            cvr_init=float(state["cvr_init"]),
            calibrators={k: Calibrator.from_dict(v) for k, v in state["calibrators"].items()},
            ctr_bags=[lgb.Booster(model_file=str(path / f"ctr_bag{i}.txt")) for i in range(state["n_bags"])],
            ctr_linear=None if lin is None else LogisticBaseline.from_dict(lin),
            creative_sd=float(state.get("creative_sd", 0.3)),
        )


def read_card(path: Path) -> dict[str, Any]:
    """The JSON card of a saved model version."""
    f = Path(path) / CARD_NAME
    if not f.is_file():
        raise NotFoundError(f"no model card at {f}: is {path} a saved predictor version?")
    return json.loads(f.read_text(encoding="utf-8"))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and math.isnan(o):
        return None
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def _as_cold_start(frame: Any, global_ctcvr: float) -> Any:
    """``frame`` with the own-history columns set to what a creative on its launch day has."""
    cols: dict[str, Any] = {}
    if "hist_log_imps" in frame.columns:
        cols["hist_log_imps"] = np.zeros(len(frame), dtype=np.float32)
    if "hist_ctr" in frame.columns and "knn_ctr" in frame.columns:
        cols["hist_ctr"] = frame["knn_ctr"].to_numpy()
    for name in ("hist_lift", "hist_play_lift"):
        if name in frame.columns:
            cols[name] = np.zeros(len(frame), dtype=np.float32)
    if "hist_ctcvr" in frame.columns:
        cols["hist_ctcvr"] = np.full(len(frame), global_ctcvr, dtype=np.float32)
    return frame.assign(**cols)


def estimate_creative_sd(groups: np.ndarray, y: np.ndarray, p: np.ndarray, min_expected: float = 5.0) -> float:
    """τ: the s.d. of creatives' log(observed / expected clicks) beyond Poisson noise (method of moments).

    ``groups`` is each row's creative, ``p`` the model's in-sample CTR. Bounded
    to [0.05, 1.0]; 0.3 when fewer than 5 creatives have ``min_expected`` clicks.
    """
    n = int(groups.max()) + 1 if len(groups) else 0
    o = np.bincount(groups, weights=y, minlength=n)
    e = np.bincount(groups, weights=p, minlength=n)
    ok = e >= min_expected
    if ok.sum() < 5:
        return 0.3
    r = np.log((o[ok] + 0.5) / (e[ok] + 0.5))
    tau2 = float(r.var() - np.mean(1.0 / (e[ok] + 0.5)))
    return float(np.clip(math.sqrt(max(tau2, 0.0)), 0.05, 1.0))


def train_predictor(
    encoder: FeatureEncoder,
    train_frame: Any,
    labels: Mapping[str, np.ndarray],
    params: LightGBMParams,
    seed: int = 0,
    calib_frame: Any = None,
    calib_labels: Mapping[str, np.ndarray] | None = None,
    calibration: Literal["isotonic", "platt", "none"] = "platt",
    n_bags: int = 0,
    bag_estimators: int = 100,
    linear_c: float = 1.0,
    groups: np.ndarray | None = None,
) -> CreativePredictor:
    """The trainer: fit the linear CTR base, the boosted heads (play, CTR residual, ESMM CVR), bags and calibrators.

    ``labels`` holds ``play_3s``, ``click`` and ``conversion`` 0/1 arrays
    aligned with ``train_frame``; the encoder must be fitted. ``groups``
    (each row's creative index) lets the trainer estimate τ for the
    cold-start uncertainty; without it τ = 0.3. ``linear_c <= 0`` trains the
    CTR head on trees alone.
    """
    missing = [k for k in ("play_3s", "click", "conversion") if k not in labels]
    if missing:
        raise InputError(f"labels lack {missing}: pass play_3s, click and conversion arrays", field="labels")
    x = encoder.tree_matrix(train_frame)
    cat = encoder.categorical_indices
    has_calib = calib_frame is not None and calib_labels is not None and len(calib_frame) > 0
    x_cal = encoder.tree_matrix(calib_frame) if has_calib else None
    play_params = params.model_copy(
        update={"num_leaves": params.play_num_leaves, "learning_rate": params.play_learning_rate}
    )
    # Without a calibration slice there is no early stopping: keep the shared step budget (rounds × learning rate).
    play_rounds = (
        None if has_calib else max(1, math.ceil(params.n_estimators * params.learning_rate / play_params.learning_rate))
    )
    play = train_binary_lgbm(
        x,
        labels["play_3s"],
        play_params,
        cat,
        seed,
        n_estimators=play_rounds,
        valid=(x_cal, calib_labels["play_3s"], None) if has_calib else None,
    )
    linear: LogisticBaseline | None = None
    base: np.ndarray | None = None
    base_cal: np.ndarray | None = None
    if linear_c > 0:
        x_lin = encoder.linear_matrix(train_frame)
        linear = LogisticBaseline(linear_c).fit(x_lin, labels["click"])
        base = linear.logit(x_lin)
        del x_lin
        if has_calib:
            base_cal = linear.logit(encoder.linear_matrix(calib_frame))
    ctr = train_binary_lgbm(
        x,
        labels["click"],
        params,
        cat,
        seed + 1,
        init_score=base,
        valid=(x_cal, calib_labels["click"], base_cal) if has_calib else None,
    )
    p_ctr = _sigmoid(ctr.predict(x, raw_score=True) + (0.0 if base is None else base))
    cvr, init = train_esmm_cvr(x, labels["conversion"], p_ctr, params, cat, seed + 2)
    bags: list[Any] = []
    rng = np.random.default_rng(seed + 3)
    # A bag replicates the deployed CTR head's recipe on a half sample, so it gets the same number of rounds
    # the early-stopped head kept (more rounds would measure the spread of a more over-fitted model, and
    # cost scoring time for nothing); ``bag_estimators`` caps it.
    bag_rounds = min(bag_estimators, ctr.current_iteration()) if has_calib else bag_estimators
    for i in range(n_bags):
        idx = np.sort(rng.choice(len(x), size=len(x) // 2, replace=False))
        bags.append(
            train_binary_lgbm(
                x[idx],
                labels["click"][idx],
                params,
                cat,
                seed + 10 + i,
                max(bag_rounds, 1),
                init_score=None if base is None else base[idx],
            )
        )
    tau = 0.3
    if groups is not None:
        # τ is what a creative's own effect can still be before it has run, so it is measured against the
        # model's cold-start prediction: every row re-scored as if its creative had no history yet.
        cold = _as_cold_start(train_frame, float(np.mean(labels["conversion"])))
        x_cold = encoder.tree_matrix(cold)
        z_cold = ctr.predict(x_cold, raw_score=True)
        if linear is not None and linear.coef is not None:
            z_cold = z_cold + encoder.linear_logit(cold, linear.coef, linear.intercept)  # no one-hot matrix
        tau = estimate_creative_sd(np.asarray(groups), labels["click"], _sigmoid(z_cold))
    model = CreativePredictor(
        encoder, play, ctr, cvr, init, ctr_bags=bags, ctr_linear=linear, creative_sd=tau, num_threads=params.num_threads
    )
    if calib_frame is not None and calib_labels is not None and calibration != "none":
        raw = model.predict(calib_frame, calibrated=False, with_bags=False)
        model.calibrators = {
            "play_3s": Calibrator(calibration).fit(raw.play_3s, calib_labels["play_3s"]),
            "ctr": Calibrator(calibration).fit(raw.ctr, calib_labels["click"]),
        }
    return model
