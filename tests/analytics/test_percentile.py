"""The library percentile rule: mid-rank placement, Wilson and logit intervals, and when it is not trusted."""

from __future__ import annotations

import pytest

from adloom.analytics.percentile import (
    MAX_WIDTH,
    MIN_REFERENCE,
    percentile_of,
    place_by_similar,
    place_prediction,
    wilson,
)

REFERENCE = sorted(0.01 + 0.001 * i for i in range(100))  # CTRs 1.0 % … 10.9 %


def test_percentile_is_the_mid_rank():
    assert percentile_of(0.0, REFERENCE) == 0.0 and percentile_of(1.0, REFERENCE) == 100.0
    assert percentile_of(REFERENCE[10], REFERENCE) == pytest.approx(10.5)
    assert percentile_of(0.05, []) == 50.0


def test_wilson_interval_narrows_with_evidence():
    lo3, hi3 = wilson(0.6, 3)
    lo300, hi300 = wilson(0.6, 300)
    assert 0 <= lo3 < lo300 < 0.6 < hi300 < hi3 <= 1
    assert wilson(0.5, 0) == (0.0, 1.0)


def test_a_sharp_prediction_in_a_big_library_is_confident_a_vague_one_is_not():
    sharp = place_prediction(0.03, 0.05, REFERENCE)
    assert sharp.confident and sharp.low <= sharp.percentile <= sharp.high and sharp.high - sharp.low <= MAX_WIDTH
    vague = place_prediction(0.03, 2.0, REFERENCE)
    assert not vague.confident and vague.low == 0.0
    small = place_prediction(0.03, 0.05, REFERENCE[: MIN_REFERENCE - 1])
    assert not small.confident


def test_placement_by_similar_items_needs_enough_of_them():
    few = place_by_similar(REFERENCE[80:83], REFERENCE)
    many = place_by_similar(REFERENCE[60:100], REFERENCE)
    assert few.percentile == pytest.approx(81.5) and not few.confident
    assert many.confident and many.low <= many.percentile <= many.high
    assert not place_by_similar([], REFERENCE).confident
