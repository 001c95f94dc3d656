"""CTR / CVR / 3s-play predictors: LightGBM boosters, the logistic baseline, calibration, metrics, the store.

* pCTR and pPlay are plain binary LightGBM models over all impressions.
* pCVR is trained over the **entire impression space** (ESMM, Ma et al.
  2018, for trees): the CVR booster's loss is the log loss of
  ``pCTCVR = pCTR × sigmoid(f_cvr)`` against "converted" on every impression,
  with pCTR from the already-trained CTR booster. No model ever sees only
  clicked rows, so there is no sample-selection bias, and
  ``pCTCVR = pCTR × pCVR`` holds exactly by construction.
* Calibration (isotonic or Platt) is fitted on a held-out calibration slice
  and stored as numbers (no pickles); :func:`reliability_curve` and
  :func:`expected_calibration_error` measure it.
* Uncertainty for cold-start creatives: a small bag of CTR boosters on
  bootstrap halves of the data; the spread of their logits is reported.
* The model (booster) and the trainer (:func:`train_predictor`) are kept apart.

Saved models are versioned directories ``<root>/<version>/`` holding the
booster text files, the encoder state and ``card.json`` (version, config
hash, metrics, created_at). A database table of versions is a later step.
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

    num_leaves: int = 15
    learning_rate: float = 0.08
    n_estimators: int = 150
    min_child_samples: int = 1000  # clicks are rare: small leaves fit noise
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 10.0
    max_bin: int = 63
    cat_smooth: float = 20.0
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
) -> Any:
    """Train one binary LightGBM booster (plain log loss)."""
    import lightgbm as lgb

    ds = lgb.Dataset(x, label=y, categorical_feature=categorical or "auto", free_raw_data=True)
    return lgb.train(params.to_lgb(seed), ds, num_boost_round=n_estimators or params.n_estimators)


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

    rate = float(y_conversion.sum()) / max(float(p_ctr.sum()), 1e-9)
    init = float(_logit(min(max(rate, 1e-4), 0.5)))
    ds = lgb.Dataset(
        x,
        label=y_conversion,
        init_score=np.full(len(y_conversion), init),
        categorical_feature=categorical or "auto",
        free_raw_data=True,
    )
    p = params.to_lgb(seed)
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

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.coef is None:
            raise InputError("LogisticBaseline.predict called before fit: call fit(x, y) first")
        return _sigmoid(x @ self.coef + self.intercept)


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
    """The trained heads, their calibrators and the feature encoder; use :meth:`predict` on a feature frame."""

    encoder: FeatureEncoder
    play_booster: Any
    ctr_booster: Any
    cvr_booster: Any
    cvr_init: float
    calibrators: dict[str, Calibrator] = field(default_factory=dict)
    ctr_bags: list[Any] = field(default_factory=list)

    def predict_matrix(self, x: np.ndarray, calibrated: bool = True) -> Predictions:
        """Predict from an already-encoded tree matrix (the scoring hot path)."""
        play = self.play_booster.predict(x)
        ctr_raw = self.ctr_booster.predict(x)
        cvr = _sigmoid(self.cvr_booster.predict(x, raw_score=True) + self.cvr_init)
        if calibrated:
            play = self.calibrators.get("play_3s", Calibrator("none"))(play)
            ctr = self.calibrators.get("ctr", Calibrator("none"))(ctr_raw)
        else:
            ctr = ctr_raw
        if self.ctr_bags:
            logits = np.stack([b.predict(x, raw_score=True) for b in self.ctr_bags])
            std = logits.std(axis=0)
        else:
            std = np.zeros(len(ctr))
        return Predictions(play_3s=play, ctr=ctr, cvr=cvr, ctr_std=std)

    def predict(self, frame: Any, calibrated: bool = True) -> Predictions:
        """Encode ``frame`` (see :func:`adloom.analytics.features.build_feature_frame`) and predict."""
        return self.predict_matrix(self.encoder.tree_matrix(frame), calibrated)

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
        return cls(
            encoder=FeatureEncoder.from_dict(state["encoder"]),
            play_booster=lgb.Booster(model_file=str(path / "play_3s.txt")),
            ctr_booster=lgb.Booster(model_file=str(path / "ctr.txt")),
            cvr_booster=lgb.Booster(model_file=str(path / "cvr.txt")),
            cvr_init=float(state["cvr_init"]),
            calibrators={k: Calibrator.from_dict(v) for k, v in state["calibrators"].items()},
            ctr_bags=[lgb.Booster(model_file=str(path / f"ctr_bag{i}.txt")) for i in range(state["n_bags"])],
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


def train_predictor(
    encoder: FeatureEncoder,
    train_frame: Any,
    labels: Mapping[str, np.ndarray],
    params: LightGBMParams,
    seed: int = 0,
    calib_frame: Any = None,
    calib_labels: Mapping[str, np.ndarray] | None = None,
    calibration: Literal["isotonic", "platt", "none"] = "isotonic",
    n_bags: int = 0,
    bag_estimators: int = 100,
) -> CreativePredictor:
    """The trainer: fit play, CTR and ESMM-CVR heads, bags and calibrators; the encoder must be fitted.

    ``labels`` holds ``play_3s``, ``click`` and ``conversion`` 0/1 arrays aligned with ``train_frame``.
    """
    missing = [k for k in ("play_3s", "click", "conversion") if k not in labels]
    if missing:
        raise InputError(f"labels lack {missing}: pass play_3s, click and conversion arrays", field="labels")
    x = encoder.tree_matrix(train_frame)
    cat = encoder.categorical_indices
    play = train_binary_lgbm(x, labels["play_3s"], params, cat, seed)
    ctr = train_binary_lgbm(x, labels["click"], params, cat, seed + 1)
    cvr, init = train_esmm_cvr(x, labels["conversion"], ctr.predict(x), params, cat, seed + 2)
    bags: list[Any] = []
    rng = np.random.default_rng(seed + 3)
    for i in range(n_bags):
        idx = np.sort(rng.choice(len(x), size=len(x) // 2, replace=False))
        bags.append(train_binary_lgbm(x[idx], labels["click"][idx], params, cat, seed + 10 + i, bag_estimators))
    model = CreativePredictor(encoder, play, ctr, cvr, init, ctr_bags=bags)
    if calib_frame is not None and calib_labels is not None and calibration != "none":
        raw = model.predict(calib_frame, calibrated=False)
        model.calibrators = {
            "play_3s": Calibrator(calibration).fit(raw.play_3s, calib_labels["play_3s"]),
            "ctr": Calibrator(calibration).fit(raw.ctr, calib_labels["click"]),
        }
    return model
