"""The ground-truth response model: documented signs, ranges, funnel and determinism."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from adloom.analytics.simulator import (
    CreativeAttributes,
    LogitOffsets,
    ResponseModel,
    TrueRates,
    simulate_performance,
)
from adloom.core.types import (
    Angle,
    Aspect,
    CtaStrength,
    HookType,
    Industry,
    Language,
    Pacing,
    Platform,
    Provenance,
    Script,
    Shot,
    ShotRole,
    SubjectSheet,
)


def _base(**overrides: object) -> CreativeAttributes:
    attrs = CreativeAttributes(
        industry=Industry.beauty,
        platform=Platform.douyin,
        language=Language.zh,
        aspect=Aspect.portrait,
        hook_type=HookType.question,
        angle=Angle.quality,
        pacing=Pacing.medium,
        cta_strength=CtaStrength.medium,
        price_mentioned=False,
        duration_s=20.0,
        n_shots=5,
        has_presenter=False,
        caption_coverage=1.0,
        key="crv_fixed",
    )
    return dataclasses.replace(attrs, **overrides)


MODEL = ResponseModel(seed=3)


def _rates(**overrides: object) -> TrueRates:
    return MODEL.true_rates(_base(**overrides))


def test_base_rates_match_the_documented_industry_table_without_effects() -> None:
    # instagram_reels / question / medium pacing / portrait: no terms but cta, coverage and quality
    model = ResponseModel(seed=0)
    attrs = _base(
        platform=Platform.instagram_reels,
        language=Language.en,
        cta_strength=CtaStrength.none,
        caption_coverage=0.0,
        angle=Angle.convenience,
    )
    terms = {t.name for t in model.logit_terms(attrs)}
    assert terms <= {"angle convenience", "execution quality"}
    q = model.execution_quality(attrs.key)
    z_ctr = math.log(0.014 / 0.986) + 0.05 + 0.20 * q
    assert model.true_rates(attrs).ctr == pytest.approx(1 / (1 + math.exp(-z_ctr)), rel=0.02)


def test_cta_strength_raises_ctr_with_diminishing_returns() -> None:
    none, soft, medium, strong = (_rates(cta_strength=c).ctr for c in CtaStrength)
    assert none < soft < medium < strong
    assert (soft - none) > (strong - medium)


def test_price_mention_raises_cvr_and_raises_ctr_only_with_the_value_angle() -> None:
    assert _rates(price_mentioned=True).cvr > _rates(price_mentioned=False).cvr
    assert _rates(price_mentioned=True, angle=Angle.value).ctr > _rates(price_mentioned=False, angle=Angle.value).ctr
    assert _rates(price_mentioned=True, angle=Angle.quality).ctr < _rates(price_mentioned=False).ctr


def test_duration_has_an_optimum_and_long_videos_lose_3s_play() -> None:
    play = {d: _rates(duration_s=d, n_shots=max(1, round(d / 4))).play_3s for d in (8.0, 20.0, 45.0)}
    assert play[45.0] < play[20.0]
    assert play[8.0] < play[20.0]
    assert _rates(duration_s=15.0).play_3s == pytest.approx(_rates(duration_s=25.0, n_shots=5).play_3s)


def test_hook_effects_on_3s_play_are_strong_and_signed_as_documented() -> None:
    question = _rates(hook_type=HookType.question).play_3s
    assert _rates(hook_type=HookType.before_after).play_3s > question
    assert _rates(hook_type=HookType.testimonial).play_3s < question
    spread = _rates(hook_type=HookType.before_after).play_3s - _rates(hook_type=HookType.testimonial).play_3s
    assert spread > 0.05  # 0.40 logits around 35%: about 9 points


def test_pacing_interacts_with_platform() -> None:
    assert _rates(pacing=Pacing.fast).play_3s > _rates(pacing=Pacing.slow).play_3s  # douyin: swipe feed
    xhs = {"platform": Platform.xiaohongshu}
    assert _rates(pacing=Pacing.slow, **xhs).play_3s > _rates(pacing=Pacing.fast, **xhs).play_3s


def test_interactions_add_on_top_of_main_effects() -> None:
    # testimonial × beauty lifts cvr more in beauty than the same hook does in apparel
    beauty = _rates(hook_type=HookType.testimonial).cvr / _rates().cvr
    apparel = (
        _rates(hook_type=HookType.testimonial, industry=Industry.apparel).cvr / _rates(industry=Industry.apparel).cvr
    )
    assert beauty > apparel
    pr_value = _rates(hook_type=HookType.price_reveal, angle=Angle.value, price_mentioned=True).ctr
    pr_quality = _rates(hook_type=HookType.price_reveal, angle=Angle.quality, price_mentioned=True).ctr
    assert pr_value > pr_quality


def test_industry_bases_have_the_documented_order() -> None:
    games, finance, food = (_rates(industry=i) for i in (Industry.games, Industry.finance, Industry.food))
    assert games.ctr > food.ctr > finance.ctr
    assert games.cvr < food.cvr
    assert food.play_3s > finance.play_3s


def test_language_platform_mismatch_hurts() -> None:
    assert _rates(language=Language.en).ctr < _rates(language=Language.zh).ctr


def test_execution_quality_differs_by_key_and_is_stable() -> None:
    a, b = _rates(key="crv_a"), _rates(key="crv_b")
    assert a != b
    assert ResponseModel(seed=3).true_rates(_base(key="crv_a")) == a
    assert ResponseModel(seed=4).true_rates(_base(key="crv_a")) != a
    draws = np.array([MODEL.execution_quality(f"k{i}") for i in range(4000)])
    assert abs(draws.mean()) < 0.08 and 0.9 < draws.std() < 1.1


def test_rates_stay_in_documented_ranges_over_random_attributes() -> None:
    rng = np.random.default_rng(11)
    rates = [MODEL.true_rates(CreativeAttributes.random(rng)) for _ in range(3000)]
    play = np.array([r.play_3s for r in rates])
    ctr = np.array([r.ctr for r in rates])
    cvr = np.array([r.cvr for r in rates])
    assert 0.15 < play.min() and play.max() < 0.60
    assert 0.003 < ctr.min() and ctr.max() < 0.06
    assert 0.005 < cvr.min() and cvr.max() < 0.15
    assert all(r.ctcvr == pytest.approx(r.ctr * r.cvr) for r in rates[:50])
    # not collapsed onto the bounds: the middle of the distribution is well inside
    assert 0.008 < float(np.median(ctr)) < 0.03


def test_offsets_shift_rates_in_logit_space() -> None:
    attrs = _base()
    plain = MODEL.true_rates(attrs)
    shifted = MODEL.true_rates(attrs, LogitOffsets(ctr=-0.5))
    assert shifted.ctr < plain.ctr
    assert shifted.play_3s == plain.play_3s and shifted.cvr == plain.cvr


def test_from_script_derives_every_attribute() -> None:
    shots = [
        Shot(index=0, role=ShotRole.hook, duration_s=3.0, visual="v", narration="n", caption="c"),
        Shot(index=1, role=ShotRole.demo, duration_s=9.5, visual="v", narration="n"),
        Shot(index=2, role=ShotRole.cta, duration_s=2.5, visual="v", narration="n", caption="c"),
    ]
    script = Script(
        id="scr_x",
        language=Language.en,
        industry=Industry.home,
        platform=Platform.facebook,
        aspect=Aspect.square,
        title="t",
        hook="h",
        hook_type=HookType.demo,
        angle=Angle.convenience,
        pacing=Pacing.slow,
        cta="c",
        cta_strength=CtaStrength.strong,
        price_mentioned=True,
        shots=shots,
        subject_sheet=SubjectSheet(product="a vacuum", presenter="a presenter"),
        provenance=Provenance(path="sample"),
    )
    attrs = CreativeAttributes.from_script(script)
    assert (attrs.industry, attrs.platform, attrs.language, attrs.aspect) == (
        Industry.home,
        Platform.facebook,
        Language.en,
        Aspect.square,
    )
    assert (attrs.hook_type, attrs.angle, attrs.pacing, attrs.cta_strength) == (
        HookType.demo,
        Angle.convenience,
        Pacing.slow,
        CtaStrength.strong,
    )
    assert attrs.price_mentioned is True and attrs.has_presenter is True
    assert attrs.duration_s == pytest.approx(15.0) and attrs.n_shots == 3
    assert attrs.caption_coverage == pytest.approx(2 / 3)
    assert attrs.key == "scr_x"


def test_attributes_reject_impossible_values() -> None:
    with pytest.raises(ValueError, match="duration_s"):
        _base(duration_s=0.0)
    with pytest.raises(ValueError, match="caption_coverage"):
        _base(caption_coverage=1.5)


def test_simulated_funnel_is_consistent_and_ctr_within_binomial_ci() -> None:
    attrs = _base()
    true = MODEL.true_rates(attrs)
    n = 1_000_000
    perf = simulate_performance(attrs, n, np.random.default_rng(5), MODEL)
    assert perf.impressions == n
    assert perf.plays_3s <= n and perf.clicks <= n and perf.conversions <= perf.clicks
    for observed, p, denom in ((perf.ctr, true.ctr, n), (perf.play_3s_rate, true.play_3s, n)):
        assert abs(observed - p) < 4 * math.sqrt(p * (1 - p) / denom)
    assert abs(perf.cvr - true.cvr) < 4 * math.sqrt(true.cvr * (1 - true.cvr) / perf.clicks)
    # spend: impressions / 1000 × CPM (douyin 40 CNY, beauty ×1.0) with ~15% noise
    assert 25.0 < perf.spend / (n / 1000) < 65.0


def test_simulation_is_seeded() -> None:
    attrs = _base()
    a = simulate_performance(attrs, 50_000, np.random.default_rng(9), MODEL)
    b = simulate_performance(attrs, 50_000, np.random.default_rng(9), MODEL)
    c = simulate_performance(attrs, 50_000, np.random.default_rng(10), MODEL)
    assert a == b
    assert a != c
    zero = simulate_performance(attrs, 0, np.random.default_rng(9), MODEL)
    assert (zero.plays_3s, zero.clicks, zero.conversions, zero.spend) == (0, 0, 0, 0.0)
    with pytest.raises(ValueError, match="impressions"):
        simulate_performance(attrs, -1, np.random.default_rng(9), MODEL)
