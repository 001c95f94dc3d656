"""The ground-truth response model: how an ad's attributes set its true rates.

adloom cannot see real ad-platform logs in tests, so predictors, rankers and
reports are measured against this documented model instead. Every effect is
written down here; later issues (the auction/delivery simulator, the CTR/CVR
predictor benchmarks) check their estimates against these numbers.

Three rates are modelled, each over its own denominator:

* ``play_3s`` — P(the viewer watches 3 s | impression)
* ``ctr``     — P(click | impression)
* ``cvr``     — P(convert | click); the post-click rate, so CTCVR = ctr × cvr
  is P(convert | impression) over the entire impression space.

Each rate is ``sigmoid(z)`` where ``z`` is the logit of the industry base rate
plus the additive logit effects below, passed through a smooth clamp that keeps
the rate inside its documented range. Effects are exact in logit space away
from the bounds (an effect of +0.10 multiplies a small rate by about 1.105).

Industry base rates (probabilities, converted to logits)
--------------------------------------------------------

=========== ======= ====== ======  =================================================
industry    play_3s ctr    cvr     why
=========== ======= ====== ======  =================================================
beauty      0.36    1.4%   4.0%    visual, impulse-friendly
apparel     0.33    1.6%   3.5%    browse-heavy, many clicks
food        0.38    1.5%   5.0%    appetite appeal holds viewers; cheap baskets convert
electronics 0.30    1.1%   2.5%    considered purchase
games       0.34    2.6%   1.5%    curiosity clicks, few installs-to-pay
education   0.27    0.9%   2.0%    low attention, slow decision
auto        0.28    0.6%   1.2%    lead forms, long decision
home        0.31    1.1%   3.0%
finance     0.24    0.5%   2.0%    low interest, trust barrier
travel      0.33    1.0%   2.5%    aspirational viewing, date-bound conversion
=========== ======= ====== ======  =================================================

Additive logit effects (Δ play_3s / Δ ctr / Δ cvr; 0 where not listed)
-----------------------------------------------------------------------

================================  =======  =======  =======  ==========================================
effect                            play_3s  ctr      cvr      note
================================  =======  =======  =======  ==========================================
platform douyin                   +0.10    0        0        reference for the rest: instagram_reels = 0
platform kuaishou                 +0.05    +0.05    -0.05
platform xiaohongshu              0        -0.10    +0.15    high-intent browsing
platform wechat_channels          -0.15    -0.10    +0.10    older, deliberate audience
platform tiktok                   +0.10    -0.05    -0.10
platform youtube_shorts           -0.05    -0.15    0
platform instagram_reels          0        0        0
platform facebook                 -0.25    +0.10    +0.05    feed placement: fewer holds, more clicks
hook question                     0        0        0        reference hook
hook pain_point                   +0.20    +0.10    0
hook surprising_fact              +0.25    0        0
hook before_after                 +0.30    +0.10    0        the strongest 3 s hold
hook price_reveal                 -0.05    +0.15    +0.05
hook testimonial                  -0.10    +0.05    +0.10
hook demo                         +0.15    +0.10    +0.05
hook story                        +0.10    -0.10    0
hook unboxing                     +0.05    0        0
angle value                       0        +0.10    +0.05
angle quality                     0        0        +0.10
angle convenience                 0        +0.05    0
angle social_proof                0        +0.05    +0.10
angle emotion                     +0.05    -0.05    -0.05
angle problem_solution            0        +0.10    +0.05
angle novelty                     0        +0.10    -0.10    curiosity clicks, weaker intent
price mentioned                   0        -0.05    +0.25    clicks arrive pre-qualified on price
price mentioned × angle value     0        +0.20    0        so value + price: ctr +0.15 in total
cta none                          0        0        0        reference
cta soft                          0        +0.15    +0.05
cta medium                        0        +0.25    +0.10
cta strong                        0        +0.30    +0.12    concave: diminishing returns
duration in [15, 25] s            0        0        0        the optimum plateau
  per second below 15 s           -0.015   -0.020   -0.020   too short to make the case
  per second above 25 s           -0.020   -0.015   0        45 s: play -0.40, ctr -0.30
avg shot length above 5 s         -0.030/s 0        0        static, under-cut footage
pacing fast on a swipe feed¹      +0.15    0        0
pacing slow on a swipe feed¹      -0.20    -0.05    0
pacing fast elsewhere             -0.05    0        0
pacing slow elsewhere             +0.05    -0.05    0        slow also costs ctr everywhere (-0.05)
aspect 16:9 on a swipe feed¹      -0.20    -0.10    0        letterboxed in a vertical feed
aspect 1:1 on a swipe feed¹       -0.05    0        0
aspect 1:1 on facebook            +0.05    0        0
language ≠ platform market²       -0.30    -0.30    -0.20    wrong-language audience
presenter on screen               +0.08    0        +0.05
caption coverage c ∈ [0, 1]       +0.10·c  0        0        sound-off viewing
price_reveal hook × value angle   0        +0.15    +0.10    interaction
testimonial hook × beauty         0        +0.10    +0.20    interaction
demo hook × electronics or home   0        +0.15    0        interaction
fast pacing × games               +0.15    0        0        interaction
price_reveal hook × finance       0        -0.15    0        hard sell erodes trust
execution quality q ~ N(0, 1)³    +0.15·q  +0.20·q  +0.15·q  one latent factor per creative
================================  =======  =======  =======  ==========================================

¹ swipe feeds: douyin, kuaishou, tiktok, youtube_shorts, instagram_reels;
  the others (xiaohongshu, wechat_channels, facebook) are "elsewhere".
² zh markets: douyin, kuaishou, xiaohongshu, wechat_channels; en markets:
  tiktok, youtube_shorts, instagram_reels, facebook.
³ q is drawn from a hash of (model seed, creative key), truncated to ±2.5, so
  a creative keeps its quality across calls and two creatives with identical
  attributes still differ. It is the part no attribute explains.

Bounds (smooth clamp in logit space, width 0.3): play_3s in (15%, 60%),
ctr in (0.3%, 6%), cvr in (0.5%, 15%). The clamp is strictly increasing, so
every effect keeps its sign even near a bound.

Delivery (:func:`simulate_performance`): plays ~ Binomial(impressions,
play_3s), clicks ~ Binomial(impressions, ctr) (a click may come before 3 s, so
clicks are not drawn from plays), conversions ~ Binomial(clicks, cvr); spend =
impressions / 1000 × CPM, in CNY, with CPM = platform CPM × industry
multiplier × LogNormal(0, 0.15) auction noise.

Extension: :meth:`ResponseModel.logit_terms` returns the named terms and
:meth:`ResponseModel.true_rates` takes :class:`LogitOffsets`, so a delivery
simulator adds audience, placement, fatigue and position-bias terms in logit
space without changing the creative model.

Delivery simulator (:class:`DeliverySimulator`, :func:`simulate_delivery`)
-------------------------------------------------------------------------

Turns a set of creatives (attributes + an ``(n, d)`` content-embedding matrix)
into columnar impression logs (pandas, numpy-vectorised: 1M impressions in
seconds). Per impression the true logit of each rate is the creative logit
above plus, all in logit space (numbers in :class:`DeliveryParams`):

* content ``e @ W``, ``W`` hidden and drawn from the seed (s.d. 0.15/0.30/0.15);
* audience (:data:`AUDIENCES`) × industry and × hook affinities, seeded;
* placement (:data:`PLACEMENT_OFFSETS`): search +0.40 ctr, profile -0.20 …;
* position bias ``(-0.15, -0.35, 0) × ln(position)``, position 1 = top;
* fatigue ``(-0.06, -0.12, -0.03) × (frequency - 1)``, with frequency growing
  with days since launch, so a creative's ctr decays over its life;
* day noise N(0, 0.08²) per (creative, day).

Requests are won in a small auction (best of 4 live candidates by
``log bid + ctr logit + Gumbel``). Outcomes are Bernoulli draws; the logged
``p_*`` columns are the oracle the predictors are scored against.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, TypeVar

import numpy as np

from adloom.core.types import (
    Angle,
    Aspect,
    CtaStrength,
    HookType,
    Industry,
    Language,
    Pacing,
    Performance,
    Platform,
    Script,
)

#: Outcome order used in every triple below: (play_3s, ctr, cvr).
Triple = tuple[float, float, float]

SWIPE_FEEDS: frozenset[Platform] = frozenset(
    {Platform.douyin, Platform.kuaishou, Platform.tiktok, Platform.youtube_shorts, Platform.instagram_reels}
)
PLATFORM_LANGUAGE: dict[Platform, Language] = {
    Platform.douyin: Language.zh,
    Platform.kuaishou: Language.zh,
    Platform.xiaohongshu: Language.zh,
    Platform.wechat_channels: Language.zh,
    Platform.tiktok: Language.en,
    Platform.youtube_shorts: Language.en,
    Platform.instagram_reels: Language.en,
    Platform.facebook: Language.en,
}


E = TypeVar("E")


def _pick(rng: np.random.Generator, values: list[E]) -> E:
    return values[int(rng.integers(len(values)))]


@dataclass(frozen=True)
class CreativeAttributes:
    """Everything the response model reads about one creative.

    ``key`` identifies the creative (its script id) and seeds its latent
    execution quality; attributes alone do not determine the rates.
    """

    industry: Industry
    platform: Platform
    language: Language
    aspect: Aspect
    hook_type: HookType
    angle: Angle
    pacing: Pacing
    cta_strength: CtaStrength
    price_mentioned: bool
    duration_s: float
    n_shots: int
    has_presenter: bool = False
    caption_coverage: float = 1.0  # share of shots with on-screen text, 0..1
    key: str = ""

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {self.duration_s}")
        if self.n_shots < 1:
            raise ValueError(f"n_shots must be at least 1, got {self.n_shots}")
        if not 0.0 <= self.caption_coverage <= 1.0:
            raise ValueError(f"caption_coverage must be within 0..1, got {self.caption_coverage}")

    @classmethod
    def from_script(cls, script: Script) -> CreativeAttributes:
        """Derive every attribute from a core :class:`Script` (key = script id)."""
        shots = script.shots
        captioned = sum(1 for s in shots if s.caption)
        presenter = bool(script.subject_sheet and script.subject_sheet.presenter)
        return cls(
            industry=script.industry,
            platform=script.platform,
            language=script.language,
            aspect=script.aspect,
            hook_type=script.hook_type,
            angle=script.angle,
            pacing=script.pacing,
            cta_strength=script.cta_strength,
            price_mentioned=script.price_mentioned,
            duration_s=float(script.duration_s),
            n_shots=len(shots),
            has_presenter=presenter,
            caption_coverage=captioned / len(shots),
            key=script.id,
        )

    @classmethod
    def random(cls, rng: np.random.Generator, key: str = "") -> CreativeAttributes:
        """Uniform draw over every attribute (for tests and exploration baselines)."""

        return cls(
            industry=_pick(rng, list(Industry)),
            platform=_pick(rng, list(Platform)),
            language=_pick(rng, list(Language)),
            aspect=_pick(rng, list(Aspect)),
            hook_type=_pick(rng, list(HookType)),
            angle=_pick(rng, list(Angle)),
            pacing=_pick(rng, list(Pacing)),
            cta_strength=_pick(rng, list(CtaStrength)),
            price_mentioned=bool(rng.integers(2)),
            duration_s=float(rng.uniform(5.0, 60.0)),
            n_shots=int(rng.integers(1, 13)),
            has_presenter=bool(rng.integers(2)),
            caption_coverage=float(rng.uniform(0.0, 1.0)),
            key=key or f"rnd_{int(rng.integers(1 << 62)):x}",
        )


@dataclass(frozen=True)
class TrueRates:
    """The true rates of one creative; ``cvr`` is post-click."""

    play_3s: float
    ctr: float
    cvr: float

    @property
    def ctcvr(self) -> float:
        """P(convert | impression) = ctr × cvr."""
        return self.ctr * self.cvr


@dataclass(frozen=True)
class LogitOffsets:
    """Extra logit terms from outside the creative (audience, placement, fatigue, position)."""

    play_3s: float = 0.0
    ctr: float = 0.0
    cvr: float = 0.0


@dataclass(frozen=True)
class Term:
    """One named additive logit effect."""

    name: str
    play_3s: float
    ctr: float
    cvr: float


def _t(a: float, b: float, c: float) -> Triple:
    return (a, b, c)


@dataclass(frozen=True)
class ResponseParams:
    """The numbers in the module's effect table; change them here, not in code."""

    base: dict[Industry, Triple] = field(
        default_factory=lambda: {
            Industry.beauty: _t(0.36, 0.014, 0.040),
            Industry.apparel: _t(0.33, 0.016, 0.035),
            Industry.food: _t(0.38, 0.015, 0.050),
            Industry.electronics: _t(0.30, 0.011, 0.025),
            Industry.games: _t(0.34, 0.026, 0.015),
            Industry.education: _t(0.27, 0.009, 0.020),
            Industry.auto: _t(0.28, 0.006, 0.012),
            Industry.home: _t(0.31, 0.011, 0.030),
            Industry.finance: _t(0.24, 0.005, 0.020),
            Industry.travel: _t(0.33, 0.010, 0.025),
        }
    )
    platform: dict[Platform, Triple] = field(
        default_factory=lambda: {
            Platform.douyin: _t(0.10, 0.0, 0.0),
            Platform.kuaishou: _t(0.05, 0.05, -0.05),
            Platform.xiaohongshu: _t(0.0, -0.10, 0.15),
            Platform.wechat_channels: _t(-0.15, -0.10, 0.10),
            Platform.tiktok: _t(0.10, -0.05, -0.10),
            Platform.youtube_shorts: _t(-0.05, -0.15, 0.0),
            Platform.instagram_reels: _t(0.0, 0.0, 0.0),
            Platform.facebook: _t(-0.25, 0.10, 0.05),
        }
    )
    hook: dict[HookType, Triple] = field(
        default_factory=lambda: {
            HookType.question: _t(0.0, 0.0, 0.0),
            HookType.pain_point: _t(0.20, 0.10, 0.0),
            HookType.surprising_fact: _t(0.25, 0.0, 0.0),
            HookType.before_after: _t(0.30, 0.10, 0.0),
            HookType.price_reveal: _t(-0.05, 0.15, 0.05),
            HookType.testimonial: _t(-0.10, 0.05, 0.10),
            HookType.demo: _t(0.15, 0.10, 0.05),
            HookType.story: _t(0.10, -0.10, 0.0),
            HookType.unboxing: _t(0.05, 0.0, 0.0),
        }
    )
    angle: dict[Angle, Triple] = field(
        default_factory=lambda: {
            Angle.value: _t(0.0, 0.10, 0.05),
            Angle.quality: _t(0.0, 0.0, 0.10),
            Angle.convenience: _t(0.0, 0.05, 0.0),
            Angle.social_proof: _t(0.0, 0.05, 0.10),
            Angle.emotion: _t(0.05, -0.05, -0.05),
            Angle.problem_solution: _t(0.0, 0.10, 0.05),
            Angle.novelty: _t(0.0, 0.10, -0.10),
        }
    )
    price_mentioned: Triple = (0.0, -0.05, 0.25)
    price_with_value_angle: Triple = (0.0, 0.20, 0.0)
    cta: dict[CtaStrength, Triple] = field(
        default_factory=lambda: {
            CtaStrength.none: _t(0.0, 0.0, 0.0),
            CtaStrength.soft: _t(0.0, 0.15, 0.05),
            CtaStrength.medium: _t(0.0, 0.25, 0.10),
            CtaStrength.strong: _t(0.0, 0.30, 0.12),
        }
    )
    duration_window_s: tuple[float, float] = (15.0, 25.0)
    per_second_short: Triple = (-0.015, -0.020, -0.020)
    per_second_long: Triple = (-0.020, -0.015, 0.0)
    avg_shot_limit_s: float = 5.0
    per_second_avg_shot: Triple = (-0.030, 0.0, 0.0)
    pacing_swipe: dict[Pacing, Triple] = field(
        default_factory=lambda: {
            Pacing.fast: _t(0.15, 0.0, 0.0),
            Pacing.medium: _t(0.0, 0.0, 0.0),
            Pacing.slow: _t(-0.20, -0.05, 0.0),
        }
    )
    pacing_other: dict[Pacing, Triple] = field(
        default_factory=lambda: {
            Pacing.fast: _t(-0.05, 0.0, 0.0),
            Pacing.medium: _t(0.0, 0.0, 0.0),
            Pacing.slow: _t(0.05, -0.05, 0.0),
        }
    )
    aspect_swipe: dict[Aspect, Triple] = field(
        default_factory=lambda: {
            Aspect.portrait: _t(0.0, 0.0, 0.0),
            Aspect.square: _t(-0.05, 0.0, 0.0),
            Aspect.landscape: _t(-0.20, -0.10, 0.0),
        }
    )
    square_on_facebook: Triple = (0.05, 0.0, 0.0)
    language_mismatch: Triple = (-0.30, -0.30, -0.20)
    presenter: Triple = (0.08, 0.0, 0.05)
    caption_full_coverage: Triple = (0.10, 0.0, 0.0)
    price_reveal_x_value: Triple = (0.0, 0.15, 0.10)
    testimonial_x_beauty: Triple = (0.0, 0.10, 0.20)
    demo_x_electronics_home: Triple = (0.0, 0.15, 0.0)
    fast_x_games: Triple = (0.15, 0.0, 0.0)
    price_reveal_x_finance: Triple = (0.0, -0.15, 0.0)
    quality_loading: Triple = (0.15, 0.20, 0.15)
    quality_clip: float = 2.5
    bounds: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = (
        (0.15, 0.60),
        (0.003, 0.06),
        (0.005, 0.15),
    )
    clamp_width: float = 0.3
    #: CPM in CNY per platform and a multiplier per industry (competition for the audience).
    cpm_cny: dict[Platform, float] = field(
        default_factory=lambda: {
            Platform.douyin: 40.0,
            Platform.kuaishou: 30.0,
            Platform.xiaohongshu: 60.0,
            Platform.wechat_channels: 45.0,
            Platform.tiktok: 45.0,
            Platform.youtube_shorts: 35.0,
            Platform.instagram_reels: 55.0,
            Platform.facebook: 60.0,
        }
    )
    cpm_industry: dict[Industry, float] = field(
        default_factory=lambda: {
            Industry.finance: 1.6,
            Industry.auto: 1.3,
            Industry.games: 1.2,
            Industry.education: 1.2,
            Industry.travel: 1.1,
        }
    )
    cpm_noise_sigma: float = 0.15


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _soft_clamp(z: float, lo: float, hi: float, width: float) -> float:
    """Strictly increasing map of ``z`` into (lo, hi); about the identity away from both."""
    return lo + width * _softplus((z - lo) / width) - width * _softplus((z - hi) / width)


class ResponseModel:
    """True rates of a creative from its attributes; see the module table.

    ``seed`` fixes every creative's latent execution quality, so one model
    gives the same rates for the same creative on every call and machine.
    """

    def __init__(self, params: ResponseParams | None = None, seed: int = 0) -> None:
        self.params = params or ResponseParams()
        self.seed = seed

    def execution_quality(self, key: str) -> float:
        """The creative's latent quality q ~ N(0, 1), clipped, from a hash of (seed, key)."""
        digest = hashlib.blake2b(f"{self.seed}\x1f{key}".encode(), digest_size=8).digest()
        u = (int.from_bytes(digest, "big") + 0.5) / 2.0**64  # in (0, 1)
        q = NormalDist().inv_cdf(u)
        clip = self.params.quality_clip
        return max(-clip, min(clip, q))

    def logit_terms(self, attrs: CreativeAttributes) -> list[Term]:
        """Every additive logit effect that applies to ``attrs``, named as in the table."""
        p = self.params
        terms: list[Term] = []

        def add(name: str, v: Triple, scale: float = 1.0) -> None:
            if scale and any(v):
                terms.append(Term(name, v[0] * scale, v[1] * scale, v[2] * scale))

        swipe = attrs.platform in SWIPE_FEEDS
        add(f"platform {attrs.platform.value}", p.platform[attrs.platform])
        add(f"hook {attrs.hook_type.value}", p.hook[attrs.hook_type])
        add(f"angle {attrs.angle.value}", p.angle[attrs.angle])
        if attrs.price_mentioned:
            add("price mentioned", p.price_mentioned)
            if attrs.angle is Angle.value:
                add("price mentioned × angle value", p.price_with_value_angle)
        add(f"cta {attrs.cta_strength.value}", p.cta[attrs.cta_strength])
        lo, hi = p.duration_window_s
        add("duration below window", p.per_second_short, max(0.0, lo - attrs.duration_s))
        add("duration above window", p.per_second_long, max(0.0, attrs.duration_s - hi))
        avg_shot = attrs.duration_s / attrs.n_shots
        add("avg shot too long", p.per_second_avg_shot, max(0.0, avg_shot - p.avg_shot_limit_s))
        pacing = p.pacing_swipe if swipe else p.pacing_other
        add(f"pacing {attrs.pacing.value} on {'swipe feed' if swipe else 'other feed'}", pacing[attrs.pacing])
        if swipe:
            add(f"aspect {attrs.aspect.value} on swipe feed", p.aspect_swipe[attrs.aspect])
        elif attrs.platform is Platform.facebook and attrs.aspect is Aspect.square:
            add("aspect 1:1 on facebook", p.square_on_facebook)
        if PLATFORM_LANGUAGE[attrs.platform] is not attrs.language:
            add("language ≠ platform market", p.language_mismatch)
        if attrs.has_presenter:
            add("presenter on screen", p.presenter)
        add("caption coverage", p.caption_full_coverage, attrs.caption_coverage)
        if attrs.hook_type is HookType.price_reveal and attrs.angle is Angle.value:
            add("price_reveal hook × value angle", p.price_reveal_x_value)
        if attrs.hook_type is HookType.testimonial and attrs.industry is Industry.beauty:
            add("testimonial hook × beauty", p.testimonial_x_beauty)
        if attrs.hook_type is HookType.demo and attrs.industry in (Industry.electronics, Industry.home):
            add("demo hook × electronics/home", p.demo_x_electronics_home)
        if attrs.pacing is Pacing.fast and attrs.industry is Industry.games:
            add("fast pacing × games", p.fast_x_games)
        if attrs.hook_type is HookType.price_reveal and attrs.industry is Industry.finance:
            add("price_reveal hook × finance", p.price_reveal_x_finance)
        add("execution quality", p.quality_loading, self.execution_quality(attrs.key))
        return terms

    def true_rates(self, attrs: CreativeAttributes, offsets: LogitOffsets | None = None) -> TrueRates:
        """The creative's true (play_3s, ctr, cvr); ``offsets`` add context terms in logit space."""
        p = self.params
        z = [_logit(b) for b in p.base[attrs.industry]]
        for term in self.logit_terms(attrs):
            z[0] += term.play_3s
            z[1] += term.ctr
            z[2] += term.cvr
        if offsets is not None:
            z[0] += offsets.play_3s
            z[1] += offsets.ctr
            z[2] += offsets.cvr
        rates = [
            _sigmoid(_soft_clamp(zi, _logit(lo), _logit(hi), p.clamp_width))
            for zi, (lo, hi) in zip(z, p.bounds, strict=True)
        ]
        return TrueRates(play_3s=rates[0], ctr=rates[1], cvr=rates[2])

    def cpm(self, attrs: CreativeAttributes) -> float:
        """Expected CPM in CNY before auction noise."""
        return self.params.cpm_cny[attrs.platform] * self.params.cpm_industry.get(attrs.industry, 1.0)


def simulate_performance(
    attrs: CreativeAttributes,
    impressions: int,
    rng: np.random.Generator,
    model: ResponseModel | None = None,
) -> Performance:
    """Draw delivery counts for ``impressions`` impressions from the true rates.

    plays ~ Binomial(impressions, play_3s); clicks ~ Binomial(impressions, ctr);
    conversions ~ Binomial(clicks, cvr); spend from the platform CPM with noise.
    """
    if impressions < 0:
        raise ValueError(f"impressions must be >= 0, got {impressions}")
    model = model or ResponseModel()
    rates = model.true_rates(attrs)
    plays = int(rng.binomial(impressions, rates.play_3s))
    clicks = int(rng.binomial(impressions, rates.ctr))
    conversions = int(rng.binomial(clicks, rates.cvr))
    cpm = model.cpm(attrs) * float(rng.lognormal(0.0, model.params.cpm_noise_sigma))
    spend = round(impressions / 1000.0 * cpm, 2)
    return Performance(impressions=impressions, plays_3s=plays, clicks=clicks, conversions=conversions, spend=spend)


# ---------------------------------------------------------------------------
# Delivery simulator: creatives → columnar impression logs
# ---------------------------------------------------------------------------

#: Audience segments the delivery simulator targets.
AUDIENCES: tuple[str, ...] = ("gen_z", "young_women", "young_men", "parents", "professionals", "seniors")

#: Placement logit offsets (Δ play_3s, Δ ctr, Δ cvr); ``feed`` is the reference.
PLACEMENT_OFFSETS: dict[str, Triple] = {
    "feed": (0.0, 0.0, 0.0),
    "search": (-0.10, 0.40, 0.25),  # the viewer asked for it: more clicks, better intent
    "profile": (-0.20, -0.20, 0.0),  # shown on a creator's page, off the main feed
    "live_adjacent": (0.05, -0.10, -0.10),  # between live-room slots: watched, rarely clicked
}
#: Share of impressions per placement.
PLACEMENT_SHARE: dict[str, float] = {"feed": 0.70, "search": 0.10, "profile": 0.10, "live_adjacent": 0.10}


@dataclass(frozen=True)
class DeliveryParams:
    """Every number of the delivery simulator; documented in :func:`simulate_delivery`.

    Content: each creative carries an embedding row ``e`` (unit L2 norm); its
    logit effect is ``e @ W`` with hidden ``W[:, k] ~ N(0, content_scale[k]²)``
    drawn from the model seed, so content shifts a rate by about
    ``content_scale`` logits (1 s.d.) and is invisible from attributes alone.
    """

    content_scale: Triple = (0.15, 0.30, 0.15)
    #: s.d. of the audience × industry affinity, drawn once from the model seed.
    audience_industry_sd: Triple = (0.10, 0.30, 0.20)
    #: s.d. of the audience × hook affinity, drawn once from the model seed.
    audience_hook_sd: Triple = (0.05, 0.15, 0.0)
    #: Position bias: Δ logit = coef × ln(position), position 1 = top slot.
    position_coef: Triple = (-0.15, -0.35, 0.0)
    max_position: int = 6
    #: Fatigue: Δ logit = coef × (frequency − 1), frequency = this viewer's n-th exposure.
    fatigue_coef: Triple = (-0.06, -0.12, -0.03)
    #: Mean extra exposures per day since launch (frequency − 1 ~ Poisson(rate × age_days)).
    frequency_rate: float = 0.35
    #: Day-to-day noise per (creative, day), in logits, shared by the three rates.
    daily_noise_sd: float = 0.08
    #: Auction: candidates per request; winner = argmax(log bid + creative ctr logit + Gumbel).
    auction_candidates: int = 4
    #: Bid multiplier s.d. (lognormal) per creative.
    bid_sd: float = 0.3


def _soft_clamp_np(z: np.ndarray, lo: float, hi: float, width: float) -> np.ndarray:
    """Vectorised :func:`_soft_clamp`."""
    return lo + width * np.logaddexp(0.0, (z - lo) / width) - width * np.logaddexp(0.0, (z - hi) / width)


def _sigmoid_np(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


_TOKEN = re.compile(r"[A-Za-z0-9]+|[\u3400-\u9fff]")


def _tokens(text: str) -> list[str]:
    """Lower-cased latin words plus CJK character unigrams and bigrams (no segmenter needed)."""
    toks = [t.lower() for t in _TOKEN.findall(text)]
    cjk = [t for t in toks if len(t) == 1 and "\u3400" <= t <= "\u9fff"]
    return toks + [a + b for a, b in zip(cjk, cjk[1:], strict=False)]


def hashed_text_embedding(texts: list[str], dim: int = 32, n_buckets: int = 4096, seed: int = 0) -> np.ndarray:
    """Deterministic content embeddings: a hashed bag of words times a seeded random projection.

    Used where no learned :class:`adloom.core.protocols.Embedder` is passed in
    (the simulator, benches, tests); the rows have unit L2 norm, shape
    ``(len(texts), dim)``, and depend only on the text, ``dim``, ``n_buckets`` and ``seed``.
    """
    if dim < 1 or n_buckets < 1:
        raise ValueError(f"dim and n_buckets must be positive, got dim={dim}, n_buckets={n_buckets}")
    bow = np.zeros((len(texts), n_buckets), dtype=np.float64)
    for i, text in enumerate(texts):
        for tok in _tokens(text):
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=4).digest(), "big")
            bow[i, h % n_buckets] += 1.0
    bow = np.log1p(bow)
    proj = np.random.default_rng(seed).standard_normal((n_buckets, dim))
    emb = bow @ proj
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return (emb / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass
class ImpressionLog:
    """Columnar delivery logs: one row per impression, one row per creative.

    ``impressions`` columns: ``creative`` (row index into ``creatives``),
    ``day``, ``audience``, ``placement``, ``position`` (1 = top), ``frequency``
    (n-th exposure of this viewer to this creative), the true probabilities
    ``p_play_3s``, ``p_ctr``, ``p_cvr`` (post-click), the observable oracle
    ``p_ctr_observable`` and ``p_cvr_observable`` (the same without the
    creative's latent execution quality and the day noise: the best any
    model can do from features alone before launch) and the drawn outcomes
    ``play_3s``, ``click``, ``conversion`` (0/1; a conversion needs a click).
    ``creatives`` holds each creative's attributes as columns plus
    ``launch_day``, ``bid`` and the hidden ``quality`` (never a feature);
    ``embeddings`` is the ``(n_creatives, d)`` content matrix the truth used.
    """

    impressions: Any  # pandas.DataFrame
    creatives: Any  # pandas.DataFrame
    embeddings: np.ndarray

    def __len__(self) -> int:
        return len(self.impressions)


def attribute_columns(attrs: Sequence[CreativeAttributes]) -> dict[str, list[Any]]:
    """The creatives table's attribute columns, one list per column (the simulator's logs and the predictor's
    frames from stored feedback share this layout)."""
    return {
        "industry": [a.industry.value for a in attrs],
        "platform": [a.platform.value for a in attrs],
        "language": [a.language.value for a in attrs],
        "aspect": [a.aspect.value for a in attrs],
        "hook_type": [a.hook_type.value for a in attrs],
        "angle": [a.angle.value for a in attrs],
        "pacing": [a.pacing.value for a in attrs],
        "cta_strength": [a.cta_strength.value for a in attrs],
        "price_mentioned": [int(a.price_mentioned) for a in attrs],
        "duration_s": [a.duration_s for a in attrs],
        "n_shots": [a.n_shots for a in attrs],
        "has_presenter": [int(a.has_presenter) for a in attrs],
        "caption_coverage": [a.caption_coverage for a in attrs],
    }


class DeliverySimulator:
    """Turns creatives into impression logs whose true rates come from :class:`ResponseModel`.

    True logit per impression and outcome = creative logit (industry base +
    every documented term, execution quality included) + content ``e @ W`` +
    audience × industry and audience × hook affinity + placement
    (:data:`PLACEMENT_OFFSETS`) + position ``coef × ln(position)`` + fatigue
    ``coef × (frequency − 1)`` + day noise; then the smooth clamp to the
    documented bounds and a sigmoid. Outcomes are Bernoulli draws of those
    probabilities (conversion only after a click), so ``p_*`` is the oracle.
    All hidden weights come from ``seed`` (the response model's seed if not given).
    """

    def __init__(
        self,
        model: ResponseModel | None = None,
        params: DeliveryParams | None = None,
        embedding_dim: int = 32,
        seed: int | None = None,
    ) -> None:
        self.model = model or ResponseModel()
        self.params = params or DeliveryParams()
        self.embedding_dim = embedding_dim
        self.seed = self.model.seed if seed is None else seed
        rng = np.random.default_rng([self.seed, 0xDE11])
        p = self.params
        self.content_weights = rng.standard_normal((embedding_dim, 3)) * np.asarray(p.content_scale)
        self.audience_industry = rng.standard_normal((len(AUDIENCES), len(Industry), 3)) * np.asarray(
            p.audience_industry_sd
        )
        self.audience_hook = rng.standard_normal((len(AUDIENCES), len(HookType), 3)) * np.asarray(p.audience_hook_sd)

    def creative_logits(self, attrs: list[CreativeAttributes]) -> np.ndarray:
        """``(n, 3)`` unclamped logits of each creative alone (no context, no content)."""
        out = np.empty((len(attrs), 3))
        for i, a in enumerate(attrs):
            z = [_logit(b) for b in self.model.params.base[a.industry]]
            for term in self.model.logit_terms(a):
                z[0] += term.play_3s
                z[1] += term.ctr
                z[2] += term.cvr
            out[i] = z
        return out

    def clamp(self, z: np.ndarray) -> np.ndarray:
        """Apply the documented bounds to ``(n, 3)`` logits and return probabilities."""
        p = self.model.params
        cols = [
            _sigmoid_np(_soft_clamp_np(z[:, k], _logit(lo), _logit(hi), p.clamp_width))
            for k, (lo, hi) in enumerate(p.bounds)
        ]
        return np.stack(cols, axis=1)

    def simulate(
        self,
        attrs: list[CreativeAttributes],
        embeddings: np.ndarray,
        n_impressions: int,
        n_days: int = 14,
        rng: np.random.Generator | None = None,
        launch_days: np.ndarray | None = None,
    ) -> ImpressionLog:
        """Deliver ``n_impressions`` impressions over ``n_days`` days; see the class docstring.

        Each request picks ``auction_candidates`` live creatives (launched on or
        before its day) and the winner of ``log bid + creative ctr logit +
        Gumbel`` is shown, so better creatives win more traffic, as in an
        eCPM auction. Creatives launch on ``launch_days`` (default: uniform over
        the first ``n_days - 2`` days, a quarter of them on day 0).
        """
        import pandas as pd

        n = len(attrs)
        if n == 0:
            raise ValueError("attrs is empty: pass at least one creative to deliver")
        if embeddings.shape != (n, self.embedding_dim):
            raise ValueError(
                f"embeddings has shape {embeddings.shape}, expected ({n}, {self.embedding_dim}): "
                "one row per creative, embedding_dim columns"
            )
        if n_impressions < 1 or n_days < 1:
            raise ValueError(f"n_impressions and n_days must be positive, got {n_impressions}, {n_days}")
        rng = rng or np.random.default_rng(self.seed)
        p = self.params
        base = self.creative_logits(attrs) + embeddings.astype(np.float64) @ self.content_weights
        if launch_days is None:
            launch_days = rng.integers(0, max(1, n_days - 2), size=n)
            launch_days[rng.random(n) < 0.25] = 0
        launch_days = np.asarray(launch_days, dtype=np.int64)
        bid = np.exp(rng.normal(0.0, p.bid_sd, size=n))

        day = np.sort(rng.integers(0, n_days, size=n_impressions))
        # Auction: sample candidates among creatives live on that day.
        order = np.argsort(launch_days, kind="stable")
        n_live = np.searchsorted(launch_days[order], day, side="right")
        n_live = np.maximum(n_live, 1)  # a day before every launch still shows the earliest creative
        k = max(1, p.auction_candidates)
        cand = order[(rng.random((n_impressions, k)) * n_live[:, None]).astype(np.int64)]
        score = np.log(bid)[cand] + base[cand, 1] + rng.gumbel(size=cand.shape)
        creative = cand[np.arange(n_impressions), np.argmax(score, axis=1)]

        audience = rng.integers(0, len(AUDIENCES), size=n_impressions)
        placements = list(PLACEMENT_OFFSETS)
        placement = rng.choice(len(placements), size=n_impressions, p=[PLACEMENT_SHARE[x] for x in placements])
        position = np.minimum(rng.geometric(0.45, size=n_impressions), p.max_position)
        age = np.maximum(day - launch_days[creative], 0)
        frequency = 1 + rng.poisson(p.frequency_rate * age)

        industry_idx = np.array([list(Industry).index(a.industry) for a in attrs])
        hook_idx = np.array([list(HookType).index(a.hook_type) for a in attrs])
        place_off = np.array([PLACEMENT_OFFSETS[x] for x in placements])
        daily = rng.normal(0.0, p.daily_noise_sd, size=(n, n_days))

        quality = np.array([self.model.execution_quality(a.key) for a in attrs])
        z = base[creative].copy()
        z += self.audience_industry[audience, industry_idx[creative]]
        z += self.audience_hook[audience, hook_idx[creative]]
        z += place_off[placement]
        z += np.log(position)[:, None] * np.asarray(p.position_coef)
        z += (frequency - 1)[:, None] * np.asarray(p.fatigue_coef)
        # The oracle restricted to what can be known before launch: the same logit without the
        # creative's latent execution quality and without the day noise (neither is a feature).
        latent = quality[creative][:, None] * np.asarray(self.model.params.quality_loading)
        probs_obs = self.clamp(z - latent)
        z += daily[creative, day][:, None]
        probs = self.clamp(z)

        play = rng.random(n_impressions) < probs[:, 0]
        click = rng.random(n_impressions) < probs[:, 1]
        conversion = click & (rng.random(n_impressions) < probs[:, 2])

        impressions = pd.DataFrame(
            {
                "creative": creative.astype(np.int32),
                "day": day.astype(np.int16),
                "audience": pd.Categorical.from_codes(audience, categories=list(AUDIENCES)),
                "placement": pd.Categorical.from_codes(placement, categories=placements),
                "position": position.astype(np.int8),
                "frequency": frequency.astype(np.int16),
                "p_play_3s": probs[:, 0],
                "p_ctr": probs[:, 1],
                "p_cvr": probs[:, 2],
                "p_ctr_observable": probs_obs[:, 1],
                "p_cvr_observable": probs_obs[:, 2],
                "play_3s": play.astype(np.int8),
                "click": click.astype(np.int8),
                "conversion": conversion.astype(np.int8),
            }
        )
        creatives = pd.DataFrame(
            {
                "key": [a.key for a in attrs],
                **attribute_columns(attrs),
                "launch_day": launch_days,
                "bid": bid,
                "quality": quality,
            }
        )
        return ImpressionLog(impressions=impressions, creatives=creatives, embeddings=embeddings.astype(np.float32))


def simulate_delivery(
    attrs: list[CreativeAttributes],
    embeddings: np.ndarray,
    n_impressions: int,
    n_days: int = 14,
    seed: int = 0,
    model: ResponseModel | None = None,
    params: DeliveryParams | None = None,
) -> ImpressionLog:
    """Seeded one-call form of :meth:`DeliverySimulator.simulate` (hidden weights from ``model.seed``)."""
    sim = DeliverySimulator(model, params, embedding_dim=int(embeddings.shape[1]))
    return sim.simulate(attrs, embeddings, n_impressions, n_days, rng=np.random.default_rng(seed))
