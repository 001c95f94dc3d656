"""Delivery simulator: logs reproduce the true rates; fatigue and position bias act as documented."""

from __future__ import annotations

import numpy as np
import pytest

from adloom.analytics.simulator import (
    CreativeAttributes,
    DeliverySimulator,
    ResponseModel,
    hashed_text_embedding,
    simulate_delivery,
)


@pytest.fixture(scope="module")
def logs():
    rng = np.random.default_rng(3)
    attrs = [CreativeAttributes.random(rng, key=f"c{i}") for i in range(60)]
    emb = hashed_text_embedding([f"creative number {i} with words {i % 7}" for i in range(60)], dim=16)
    return attrs, emb, simulate_delivery(attrs, emb, 400_000, n_days=10, seed=5)


def test_empirical_rates_within_binomial_ci(logs) -> None:
    _, _, log = logs
    im = log.impressions
    n = len(im)
    for p_col, y_col in (("p_ctr", "click"), ("p_play_3s", "play_3s")):
        p = im[p_col].to_numpy()
        y = im[y_col].to_numpy()
        se = np.sqrt(np.sum(p * (1 - p))) / n
        assert abs(y.mean() - p.mean()) < 4 * se, (p_col, y.mean(), p.mean(), se)
    # conversions only after clicks, at the post-click rate
    assert (im["conversion"] <= im["click"]).all()
    clicked = im[im["click"] == 1]
    p = clicked["p_cvr"].to_numpy()
    assert abs(clicked["conversion"].mean() - p.mean()) < 4 * np.sqrt(np.sum(p * (1 - p))) / len(p)


def test_fatigue_lowers_ctr_over_time(logs) -> None:
    _, _, log = logs
    im = log.impressions
    by_freq = im.groupby("frequency")["p_ctr"].mean()
    assert by_freq.iloc[0] > by_freq.iloc[min(3, len(by_freq) - 1)]
    age = im["day"].to_numpy() - log.creatives["launch_day"].to_numpy()[im["creative"].to_numpy()]
    early, late = im[age <= 1], im[age >= 6]
    assert early["click"].mean() > late["click"].mean()


def test_position_bias_lowers_ctr_at_lower_positions(logs) -> None:
    _, _, log = logs
    im = log.impressions
    top, low = im[im["position"] == 1], im[im["position"] >= 4]
    assert top["p_ctr"].mean() > low["p_ctr"].mean() * 1.3
    assert top["click"].mean() > low["click"].mean()


def test_content_matters_and_is_deterministic(logs) -> None:
    attrs, emb, log = logs
    sim = DeliverySimulator(ResponseModel(seed=0), embedding_dim=16)
    assert np.allclose(sim.content_weights, DeliverySimulator(ResponseModel(seed=0), embedding_dim=16).content_weights)
    assert np.abs(emb @ sim.content_weights).max() > 0.05
    again = simulate_delivery(attrs, emb, 400_000, n_days=10, seed=5)
    assert (again.impressions["click"].to_numpy() == log.impressions["click"].to_numpy()).all()
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_bad_embedding_shape_is_named(logs) -> None:
    attrs, emb, _ = logs
    with pytest.raises(ValueError, match="embeddings has shape"):
        simulate_delivery(attrs, emb[:5], 1000)
