"""Predicted CTR and CVR placed against the library: a percentile with an interval, and whether to trust it.

A marketer reads "better than 72 % of our past creatives (55–85)" more easily than "pCTR 0.0213". The
reference is the library's observed rates: each item's clicks / impressions (CTR) and conversions / clicks
(CVR), counting only items with enough delivery for their rate to mean something (``MIN_IMPRESSIONS``,
``MIN_CLICKS``). The percentile of a value is its mid-rank in that reference: the share of items below it plus
half the share equal to it, × 100.

Where the interval comes from:

* **a trained predictor** (:func:`place_prediction`): the predicted rate's interval on the logit scale,
  ``sigmoid(logit(p) ± z·sd)`` with the predictor's uncertainty ``sd`` (the spread of its bagged CTR heads plus
  the prior width of a new creative's own effect); the predictor has no separate CVR spread, so the CVR
  interval uses the same logit width. Both ends are placed in the reference like the point.
* **no predictor, the performance prior** (:func:`place_by_similar`): the point is the mean percentile of the
  library items most like the candidate (same industry and hook type), and the interval is the Wilson score
  interval of that share with the number of those items as the trials — three similar items say little, thirty
  say a lot.

The placement is ``confident`` only when the reference holds at least ``MIN_REFERENCE`` items and the interval
spans at most ``MAX_WIDTH`` percentile points; otherwise the console shows "not enough data" rather than a
number that would be read as more than it is.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

#: Library items with at least this many impressions count in the CTR reference.
MIN_IMPRESSIONS = 1000
#: Library items with at least this many clicks count in the CVR reference.
MIN_CLICKS = 30
#: Fewer reference items than this: never confident.
MIN_REFERENCE = 20
#: Widest interval, in percentile points, still shown as a number.
MAX_WIDTH = 50.0
#: Two-sided 90 % normal quantile.
Z90 = 1.6448536269514722


@dataclass(frozen=True)
class Placement:
    """One rate placed in the library: percentile (0–100) with its interval, and whether it is trustworthy."""

    percentile: float
    low: float
    high: float
    reference_n: int
    confident: bool

    def as_scores(self, prefix: str) -> dict[str, float]:
        """The keys stored in ``Creative.scores``: ``<prefix>_percentile``, ``…_low``, ``…_high``."""
        return {
            f"{prefix}_percentile": round(self.percentile, 2),
            f"{prefix}_percentile_low": round(self.low, 2),
            f"{prefix}_percentile_high": round(self.high, 2),
        }


def percentile_of(value: float, reference: Sequence[float]) -> float:
    """Mid-rank percentile of ``value`` in the sorted ``reference`` (50 when the reference is empty)."""
    n = len(reference)
    if n == 0 or not math.isfinite(value):
        return 50.0
    below, upto = bisect_left(reference, value), bisect_right(reference, value)
    return 100.0 * (below + 0.5 * (upto - below)) / n


def wilson(share: float, trials: int, z: float = Z90) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``share`` observed over ``trials`` (0–1; (0, 1) for none)."""
    if trials <= 0:
        return 0.0, 1.0
    p = min(max(share, 0.0), 1.0)
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _confident(low: float, high: float, reference_n: int) -> bool:
    return reference_n >= MIN_REFERENCE and high - low <= MAX_WIDTH


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def place_prediction(value: float, logit_sd: float, reference: Sequence[float], z: float = Z90) -> Placement:
    """A predicted rate with a logit-scale uncertainty ``logit_sd``, placed in the sorted ``reference``."""
    p = min(max(value, 1e-9), 1 - 1e-9)
    centre = math.log(p / (1 - p))
    lo_rate, hi_rate = _sigmoid(centre - z * max(logit_sd, 0.0)), _sigmoid(centre + z * max(logit_sd, 0.0))
    low, high = percentile_of(lo_rate, reference), percentile_of(hi_rate, reference)
    return Placement(percentile_of(p, reference), low, high, len(reference), _confident(low, high, len(reference)))


def place_by_similar(similar: Sequence[float], reference: Sequence[float], z: float = Z90) -> Placement:
    """A candidate with no prediction, placed by the observed rates of ``similar`` library items: the mean of
    their percentiles, with a Wilson interval over their count (no similar items: 50, from 0 to 100)."""
    if not similar or not reference:
        return Placement(50.0, 0.0, 100.0, len(reference), False)
    share = sum(percentile_of(v, reference) for v in similar) / len(similar) / 100.0
    lo, hi = wilson(share, len(similar), z)
    low, high = 100.0 * lo, 100.0 * hi
    return Placement(100.0 * share, low, high, len(reference), _confident(low, high, len(reference)))
