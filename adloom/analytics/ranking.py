"""Ranking, pruning and exploration of candidate creatives before launch.

A batch of candidates arrives with a predicted score each (pCTCVR by default:
P(convert | impression)), an uncertainty in logits (the spread of the bagged
CTR heads, or a prior width when there is no model yet) and a baseline (the
campaign's or industry's observed rate). :func:`rank_and_prune` decides, for
every candidate, one of three actions and says why in words a marketer reads:

* ``launch``  — at or above the bar (``score >= bar × baseline``) and among the
  best-scored candidates that fit the launch slots;
* ``explore`` — picked for a reserved share of the slots by Thompson sampling
  or UCB on the uncertainty, whatever its point estimate, so new kinds of
  creatives keep being tried and the predictor keeps learning about them;
* ``prune``   — below the bar, or above it but out-ranked once the slots are full.

Pure functions of their inputs and a seeded ``numpy`` generator: the same
inputs and seed give the same decisions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from adloom.core.errors import InputError

Action = Literal["launch", "prune", "explore"]
Method = Literal["thompson", "ucb"]


@dataclass(frozen=True)
class Decision:
    """What happens to one candidate, and the reason in plain words (stored with the creative)."""

    creative_key: str
    action: Action
    score: float
    baseline: float
    reason: str
    uncertainty: float = 0.0  # logit-scale s.d. used for exploration

    @property
    def ratio(self) -> float:
        """Score relative to the baseline (1.0 = as good as the baseline)."""
        return self.score / self.baseline


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(q / (1 - q))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _as_array(name: str, values: float | Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(
            f"{name} has shape {arr.shape}, expected ({n},): give one value per candidate key (or one scalar)",
            field=name,
        )
    if not np.isfinite(arr).all():
        raise InputError(f"{name} contains NaN or infinite values: score every candidate first", field=name)
    return arr


def rank_and_prune(
    keys: Sequence[str],
    scores: Sequence[float] | np.ndarray,
    baseline: float | Sequence[float] | np.ndarray,
    *,
    std: float | Sequence[float] | np.ndarray = 0.0,
    bar: float = 0.9,
    explore_share: float = 0.1,
    launch_k: int | None = None,
    method: Method = "thompson",
    rng: np.random.Generator | None = None,
    ucb_c: float = 1.0,
    min_std: float = 0.05,
    metric: str = "pCTCVR",
    baseline_name: str = "industry baseline",
) -> list[Decision]:
    """Decide launch / explore / prune for every candidate; decisions come back in the order of ``keys``.

    ``scores`` are predicted probabilities (``metric``), ``baseline`` a rate
    on the same scale (scalar or per candidate), ``std`` the uncertainty of
    each score in logits (floored at ``min_std``). Slots: ``launch_k`` when
    given: ``round(explore_share × launch_k)`` of them are exploration picks,
    the rest go to the best scores at or above the bar, and slots the bar
    leaves empty are explored too. Without ``launch_k`` every candidate at or
    above the bar launches and exploration adds picks until they are
    ``explore_share`` of everything launched. Exploration picks are drawn from
    the candidates not launched on merit, by
    Thompson sampling (a draw from N(logit score − logit baseline, std)) or
    UCB (logit score − logit baseline + ``ucb_c`` × std). Why a share and not only the bar: a predictor trained on
    what was launched cannot learn about kinds it never sees.
    """
    n = len(keys)
    if n == 0:
        return []
    if len(set(keys)) != n:
        raise InputError("keys has duplicates: give every candidate creative a unique key", field="keys")
    s = _as_array("scores", scores, n)
    b = _as_array("baseline", baseline, n)
    sd = np.maximum(_as_array("std", std, n), min_std)
    if ((s <= 0) | (s >= 1)).any():
        raise InputError(f"scores must be probabilities in (0, 1), got min {s.min():g} max {s.max():g}", field="scores")
    if (b <= 0).any():
        raise InputError(f"baseline must be positive, got min {b.min():g}: pass the observed rate", field="baseline")
    if not bar >= 0:
        raise InputError(f"bar={bar} must be >= 0 (a multiple of the baseline, e.g. 0.9)", field="bar")
    if not 0.0 <= explore_share <= 1.0:
        raise InputError(f"explore_share={explore_share} must be within [0, 1], e.g. 0.1", field="explore_share")
    if method not in ("thompson", "ucb"):
        raise InputError(f"method={method!r} is unknown: use 'thompson' or 'ucb'", field="method")
    if launch_k is not None and launch_k < 0:
        raise InputError(f"launch_k={launch_k} must be >= 0 (or None for every candidate above the bar)")
    rng = rng if rng is not None else np.random.default_rng(0)

    ratio = s / b
    passing = ratio >= bar
    n_pass = int(passing.sum())
    if launch_k is not None:
        slots = min(n, launch_k)
        n_explore = int(math.floor(explore_share * slots + 0.5))
        n_exploit = min(slots - n_explore, n_pass)
        n_explore = slots - n_exploit  # slots the bar leaves empty go to exploration too
    else:
        n_exploit = n_pass
        share = explore_share / (1.0 - explore_share) if explore_share < 1.0 else math.inf
        n_explore = min(n - n_pass, int(math.floor(share * n_pass + 0.5)) if share != math.inf else n - n_pass)
        slots = n_exploit + n_explore

    order = np.argsort(-ratio, kind="stable")  # best first, ties in input order
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    exploit = [i for i in order if passing[i]][:n_exploit]
    action = np.array(["prune"] * n, dtype=object)
    action[exploit] = "launch"

    rest = np.flatnonzero(action == "prune")
    # Draws are made on the logit of the score relative to its own baseline, so exploration favours
    # candidates that may beat their baseline, not those from industries with high base rates.
    rel = _logit(s[rest]) - _logit(b[rest])
    z = rel + (rng.standard_normal(rest.size) * sd[rest] if method == "thompson" else ucb_c * sd[rest])
    picked = rest[np.argsort(-z, kind="stable")[:n_explore]]
    drawn = dict(zip(rest.tolist(), _sigmoid(z + _logit(b[rest])).tolist(), strict=True))
    action[picked] = "explore"

    def compare(i: int) -> str:
        where = "at or above" if passing[i] else "below"
        shown = f"{ratio[i]:.2f}" if f"{ratio[i]:.2f}" != f"{bar:.2f}" else f"{ratio[i]:.3f}"  # 0.897, not 0.90
        return f"{metric} {s[i]:.4g} is {shown}× the {baseline_name} {b[i]:.4g}, {where} the {bar:.2f}× bar"

    draw_name = "Thompson draw" if method == "thompson" else f"UCB (c={ucb_c:g})"
    out: list[Decision] = []
    for i in range(n):
        if action[i] == "launch":
            reason = f"launch: {compare(i)}; rank {rank[i]} of {n}"
        elif action[i] == "explore":
            reason = (
                f"explore: {draw_name} {drawn[i]:.4g} (±{sd[i]:.2f} logit) won one of {n_explore} exploration "
                f"slots; {compare(i)}"
            )
        elif not passing[i]:
            reason = f"prune: {compare(i)}"
        else:
            reason = f"prune: {compare(i)}, but ranks {rank[i]} of {n} and the {slots} launch slots are taken"
        out.append(Decision(keys[i], action[i], float(s[i]), float(b[i]), reason, float(sd[i])))
    return out
