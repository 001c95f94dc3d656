"""Features as data, LightGBM vs baseline vs oracle, ESMM identity, calibration, config schema, store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adloom.analytics.experiment import ExperimentConfig, load_config, parse_config, run_experiment
from adloom.analytics.features import FeatureEncoder, FeatureKind, FeatureSpec, select_features
from adloom.analytics.models import Calibrator, CreativePredictor, expected_calibration_error, read_card
from adloom.core.errors import ConfigError, InputError

SMALL = {
    "name": "tiny",
    "seed": 3,
    "data": {"n_creatives": 200, "n_impressions": 300_000, "n_days": 10},
    "split": {"test_days": 3, "calibration_days": 1},
    "lightgbm": {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 500},
    "uncertainty": {"n_bags": 2, "bag_estimators": 20},
    "store": {"version": "v1"},
}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    return run_experiment(parse_config(SMALL), store_root=store)


def test_lightgbm_beats_baseline_and_approaches_oracle(result) -> None:
    m = result.metrics
    assert m["ctr/oracle"]["auc"] - m["ctr/lightgbm"]["auc"] < 0.04
    assert m["ctr/lightgbm"]["auc"] > m["ctr/logistic"]["auc"] - 0.005
    assert m["ctr/lightgbm"]["auc"] > 0.6
    assert m["ctcvr/lightgbm"]["auc"] > 0.55


def test_pctcvr_is_pctr_times_pcvr(result) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, len(result.predictor.encoder.tree_columns))).astype(np.float32)
    pred = result.predictor.predict_matrix(x)
    assert np.allclose(pred.ctcvr, pred.ctr * pred.cvr)
    assert ((pred.cvr > 0) & (pred.cvr < 1)).all()


def test_save_load_round_trip_identical(result) -> None:
    assert result.model_dir is not None
    loaded = CreativePredictor.load(result.model_dir)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, len(loaded.encoder.tree_columns))).astype(np.float32)
    a, b = result.predictor.predict_matrix(x), loaded.predict_matrix(x)
    for k in ("play_3s", "ctr", "cvr", "ctr_std"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    card = read_card(result.model_dir)
    assert card["version"] == "v1" and card["config_hash"] == result.config.config_hash()
    assert "ctr/lightgbm" in card["metrics"] and card["created_at"]


def test_calibration_reduces_ece_on_miscalibrated_model() -> None:
    rng = np.random.default_rng(1)
    true_p = rng.uniform(0.005, 0.08, 100_000)
    y = (rng.random(len(true_p)) < true_p).astype(int)
    skewed = np.clip(true_p * 2.5 + 0.01, 0, 1)  # deliberately over-confident
    for method in ("isotonic", "platt"):
        cal = Calibrator(method).fit(skewed[:50_000], y[:50_000])
        before = expected_calibration_error(y[50_000:], skewed[50_000:])
        after = expected_calibration_error(y[50_000:], cal(skewed[50_000:]))
        assert after < before / 3, (method, before, after)
        assert Calibrator.from_dict(cal.to_dict())(np.array([0.03]))[0] == pytest.approx(cal(np.array([0.03]))[0])


def test_features_declared_as_data_and_unknown_categories() -> None:
    specs = (
        FeatureSpec("colour", FeatureKind.categorical, vocab=("red", "blue")),
        FeatureSpec("size", FeatureKind.numeric),
        FeatureSpec("frame_emb", FeatureKind.embedding, required=False),
    )
    train = pd.DataFrame({"colour": ["red", "blue", "red"], "size": [1.0, 2.0, 3.0]})
    enc = FeatureEncoder(specs).fit(train)
    assert [s.name for s in enc.specs] == ["colour", "size"]  # optional embedding absent → dropped
    test = pd.DataFrame({"colour": ["green", "blue"], "size": [2.0, 2.0]})
    tree = enc.tree_matrix(test)
    assert np.isnan(tree[0, 0]) and tree[1, 0] == 1.0
    lin = enc.linear_matrix(test)
    assert lin[0, :2].sum() == 0 and lin[1, :2].tolist() == [0.0, 1.0]
    assert FeatureEncoder.from_dict(enc.to_dict()).tree_matrix(test).tobytes() == tree.tobytes()
    with pytest.raises(InputError, match="text_emb"):
        FeatureEncoder((FeatureSpec("text_emb", FeatureKind.embedding),)).fit(train)
    with pytest.raises(InputError, match="nope"):
        select_features(["hook_type", "nope"])


def test_yaml_typo_names_the_key(tmp_path) -> None:
    good = tmp_path / "ok.yaml"
    good.write_text("name: a\nlightgbm:\n  num_leaves: 7\n", encoding="utf-8")
    assert load_config(good).lightgbm.num_leaves == 7
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: a\nlightgbm:\n  num_leafs: 7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lightgbm\.num_leafs"):
        load_config(bad)
    with pytest.raises(ConfigError, match="calibration.method"):
        parse_config({"name": "a", "calibration": {"method": "beta"}})
    assert ExperimentConfig(name="a").config_hash() == ExperimentConfig(name="a").config_hash()
