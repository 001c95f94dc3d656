"""Ranking and pruning: reasons on every decision, the bar, the exploration share, seeded Thompson, UCB."""

from __future__ import annotations

import numpy as np
import pytest

from adloom.analytics.ranking import rank_and_prune
from adloom.core.errors import InputError

BASE = 0.002


def _pool(n: int = 50, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    keys = [f"c{i:03d}" for i in range(n)]
    scores = BASE * np.exp(rng.normal(0.0, 0.4, size=n))
    std = rng.uniform(0.05, 0.8, size=n)
    return keys, scores, std


def test_every_decision_has_a_reason_naming_ratio_baseline_and_bar() -> None:
    keys, scores, std = _pool()
    decisions = rank_and_prune(keys, scores, BASE, std=std, launch_k=10, rng=np.random.default_rng(1))
    assert [d.creative_key for d in decisions] == keys
    for d in decisions:
        assert d.reason.startswith(d.action + ":"), d.reason
        assert f"{d.ratio:.2f}" in d.reason and "0.90× bar" in d.reason and "industry baseline" in d.reason
    [edge] = rank_and_prune(["edge"], [0.000897], 0.001, explore_share=0.0)
    assert "0.897× the industry baseline" in edge.reason and "below the 0.90× bar" in edge.reason
    below = next(d for d in decisions if d.action == "prune" and d.ratio < 0.9)
    assert "below the 0.90× bar" in below.reason


def test_exact_reason_wording() -> None:
    [d] = rank_and_prune(["weak"], [0.0021], 0.0029, explore_share=0.0)
    assert d.action == "prune"
    assert d.reason == "prune: pCTCVR 0.0021 is 0.72× the industry baseline 0.0029, below the 0.90× bar"


@pytest.mark.parametrize("bar", [0.5, 0.9, 1.2])
def test_launches_respect_the_bar_and_prunes_below_it_are_never_launched(bar: float) -> None:
    keys, scores, std = _pool(80)
    decisions = rank_and_prune(keys, scores, BASE, std=std, bar=bar, explore_share=0.0)
    ratio = scores / BASE
    launched = {d.creative_key for d in decisions if d.action == "launch"}
    assert launched == {k for k, r in zip(keys, ratio, strict=True) if r >= bar}
    assert all(d.action == "prune" for d in decisions if d.ratio < bar)


def test_launch_k_takes_the_best_above_the_bar() -> None:
    keys, scores, std = _pool(60)
    decisions = rank_and_prune(keys, scores, BASE, std=std, launch_k=12, explore_share=0.25)
    launched = sorted((d.score for d in decisions if d.action == "launch"), reverse=True)
    assert len(launched) == 9 and sum(d.action == "explore" for d in decisions) == 3
    best_rest = max(d.score for d in decisions if d.action != "launch" and d.ratio >= 0.9)
    assert min(launched) >= best_rest
    outranked = [d for d in decisions if d.action == "prune" and d.ratio >= 0.9]
    assert outranked and all("launch slots are taken" in d.reason for d in outranked)


@pytest.mark.parametrize(("share", "launch_k", "expected"), [(0.1, 20, 2), (0.25, 20, 5), (0.0, 20, 0), (1.0, 7, 7)])
def test_explore_share_is_honoured(share: float, launch_k: int, expected: int) -> None:
    keys, scores, std = _pool(100)
    decisions = rank_and_prune(keys, scores, BASE, std=std, launch_k=launch_k, explore_share=share)
    assert sum(d.action == "explore" for d in decisions) == expected
    assert sum(d.action != "prune" for d in decisions) == launch_k


def test_explore_share_without_launch_k_is_a_share_of_everything_launched() -> None:
    keys, scores, std = _pool(200)
    decisions = rank_and_prune(keys, scores, BASE, std=std, explore_share=0.2)
    n_launch = sum(d.action == "launch" for d in decisions)
    n_explore = sum(d.action == "explore" for d in decisions)
    assert n_launch == int((scores / BASE >= 0.9).sum())
    assert n_explore == round(0.2 / 0.8 * n_launch)


def test_thompson_is_deterministic_per_seed_and_varies_across_seeds() -> None:
    keys, scores, std = _pool(100)

    def picks(seed: int) -> list[str]:
        ds = rank_and_prune(
            keys, scores, BASE, std=std, launch_k=30, explore_share=0.3, rng=np.random.default_rng(seed)
        )
        return [d.creative_key for d in ds if d.action == "explore"]

    assert picks(7) == picks(7)
    assert len({tuple(picks(s)) for s in range(5)}) > 1


def test_ucb_explores_the_most_uncertain_when_scores_tie() -> None:
    keys = [f"k{i}" for i in range(10)]
    std = np.linspace(0.1, 1.0, 10)
    ds = rank_and_prune(keys, np.full(10, 0.001), BASE, std=std, launch_k=3, explore_share=1.0, method="ucb")
    assert [d.creative_key for d in ds if d.action == "explore"] == ["k7", "k8", "k9"]
    assert all("UCB" in d.reason for d in ds if d.action == "explore")


def test_exploration_favours_uncertain_candidates_under_thompson() -> None:
    rng = np.random.default_rng(0)
    n = 400
    keys = [f"k{i}" for i in range(n)]
    std = np.where(np.arange(n) < n // 2, 0.05, 1.0)  # second half: new kinds the model knows little about
    ds = rank_and_prune(keys, np.full(n, 0.0015), BASE, std=std, launch_k=40, explore_share=1.0, rng=rng)
    explored = [int(d.creative_key[1:]) for d in ds if d.action == "explore"]
    assert sum(i >= n // 2 for i in explored) > 0.9 * len(explored)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scores": [0.1, 0.2]}, "scores"),
        ({"scores": [0.0, 0.1, 0.2]}, "scores"),
        ({"baseline": -1.0}, "baseline"),
        ({"explore_share": 1.5}, "explore_share"),
        ({"method": "greedy"}, "method"),
        ({"bar": -0.1}, "bar"),
    ],
)
def test_bad_inputs_raise_typed_errors_naming_the_field(kwargs: dict, field: str) -> None:
    args = {"keys": ["a", "b", "c"], "scores": [0.001, 0.002, 0.003], "baseline": 0.002} | kwargs
    with pytest.raises(InputError) as err:
        rank_and_prune(**args)
    assert err.value.field == field


def test_duplicate_keys_are_rejected() -> None:
    with pytest.raises(InputError, match="duplicates"):
        rank_and_prune(["a", "a"], [0.001, 0.002], 0.002)
