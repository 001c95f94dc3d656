"""The closed loop: pruning beats random launches by round 3, priors, log history, retrain schedule."""

from __future__ import annotations

import numpy as np
import pytest

from adloom.analytics.loop import (
    LoopConfig,
    RetrainSchedule,
    concat_logs,
    industry_baselines,
    lift_table,
    run_closed_loop,
    updated_priors,
)
from adloom.analytics.simulator import (
    CreativeAttributes,
    DeliverySimulator,
    ResponseModel,
    hashed_text_embedding,
    simulate_delivery,
)
from adloom.core.errors import InputError
from adloom.core.types import Industry

TINY = LoopConfig(industries=(Industry.beauty, Industry.apparel, Industry.food), impressions_per_round=60_000)


@pytest.fixture(scope="module")
def results():
    return run_closed_loop(rounds=3, pool_size=120, launch_k=30, seed=0, config=TINY)


def test_pruned_arm_beats_unpruned_arm_by_round_3(results) -> None:
    last = results[-1]
    assert last.round == 3
    assert last.lift_ctr > 0, (last.on, last.off)
    assert last.lift_ctcvr > 0, (last.on, last.off)
    assert 0.003 < last.on.ctr < 0.06 and 0.005 < last.on.cvr < 0.15  # true rates, inside the documented bounds


def test_round_one_explores_then_the_model_prunes(results) -> None:
    first, later = results[0], results[1:]
    assert first.count("explore") == 30 and first.count("launch") == 0
    assert all("Thompson" in d.reason for d in first.decisions if d.action == "explore")
    assert [r.retrained for r in results] == [True, True, False]  # none after the last round
    for r in later:
        assert r.count("launch") > 0 and r.count("launch") + r.count("explore") == 30
        assert r.count("prune") == 90
        assert all(d.reason for d in r.decisions)
    assert results[2].n_history_impressions == 3 * 60_000


def test_priors_are_posterior_ctr_relative_to_mean(results) -> None:
    launched = {d.creative_key for d in results[-1].decisions if d.action != "prune"}
    priors = results[-1].priors
    assert set(priors) == launched
    assert all(p > 0 for p in priors.values()) and np.std(list(priors.values())) > 0.01


def test_lift_table_has_two_arms_per_round(results) -> None:
    rows = lift_table(results)
    assert [(r["round"], r["arm"]) for r in rows][:4] == [(1, "off"), (1, "on"), (2, "off"), (2, "on")]
    assert rows[-1]["lift"]["ctr"] == pytest.approx(results[-1].lift_ctr)


@pytest.fixture(scope="module")
def small_log():
    rng = np.random.default_rng(4)
    attrs = [CreativeAttributes.random(rng, key=f"p{i}") for i in range(12)]
    emb = hashed_text_embedding([f"text {i}" for i in range(12)], dim=16)
    return simulate_delivery(attrs, emb, 120_000, n_days=4, seed=2)


def test_updated_priors_shrink_toward_one_and_order_by_observed_ctr(small_log) -> None:
    imp = small_log.impressions
    ctr = imp.groupby("creative")["click"].mean()
    priors = updated_priors(small_log)
    keys = small_log.creatives["key"]
    best, worst = keys[ctr.idxmax()], keys[ctr.idxmin()]
    assert priors[best] > 1.0 > priors[worst]
    weak = updated_priors(small_log, strength=1e9)
    assert all(abs(v - 1.0) < 1e-3 for v in weak.values())
    with pytest.raises(InputError):
        updated_priors([])


def test_concat_logs_shifts_creatives_and_days(small_log) -> None:
    both = concat_logs(small_log, small_log)
    n_cre, n_imp = len(small_log.creatives), len(small_log)
    assert len(both) == 2 * n_imp and len(both.creatives) == 2 * n_cre
    second = both.impressions.iloc[n_imp:]
    assert second["creative"].min() >= n_cre
    assert second["day"].min() == small_log.impressions["day"].max() + 1
    assert both.embeddings.shape == (2 * n_cre, 16)


def test_industry_baselines_prior_then_observed(small_log) -> None:
    prior = industry_baselines(None)
    assert prior["food"] == pytest.approx(0.015 * 0.05)
    observed = industry_baselines(small_log)
    assert set(observed) == {i.value for i in Industry} and all(v > 0 for v in observed.values())


def test_retrain_schedule() -> None:
    s = RetrainSchedule(every_rounds=2, min_new_impressions=1000)
    assert not s.due(1, 5000)
    assert s.due(2, 5000)
    assert not s.due(2, 10)
    assert s.due(0, 0, requested=True)
    with pytest.raises(InputError):
        RetrainSchedule(every_rounds=0)


def test_run_closed_loop_rejects_bad_sizes() -> None:
    with pytest.raises(InputError, match="launch_k"):
        run_closed_loop(rounds=1, pool_size=10, launch_k=11)


def test_prior_arm_launches_the_top_k_per_campaign_by_the_ranker() -> None:
    """A ranker that knows the attribute part of the true CTR logit must beat random launches on CTR."""
    sim = DeliverySimulator(ResponseModel(seed=TINY.response_seed), embedding_dim=TINY.embedding_dim)

    def by_true_attribute_ctr(attrs):
        return sim.creative_logits(list(attrs))[:, 1]

    res = run_closed_loop(
        rounds=1, pool_size=120, launch_k=30, seed=3, config=TINY, prior_ranker=by_true_attribute_ctr
    )[0]
    assert res.prior is not None and res.prior.ctr > res.off.ctr * 1.05, (res.prior, res.off)
    assert res.lift_ctcvr_vs_prior == pytest.approx(res.on.ctcvr / res.prior.ctcvr - 1.0)
    with pytest.raises(InputError, match="prior_ranker returned shape"):
        run_closed_loop(rounds=1, pool_size=30, launch_k=6, config=TINY, prior_ranker=lambda attrs: np.zeros(3))


def test_without_a_ranker_there_is_no_prior_arm(results) -> None:
    assert all(r.prior is None and r.lift_ctcvr_vs_prior is None for r in results)
