"""Variant plans: what makes each of N scripts different before any word is written.

Variants must differ in substance — hook type, persuasive angle and shot
order — not only in wording, so the plan fixes those choices up front and the
writer (LLM or template) only fills in the words.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from adloom.core.types import Angle, Brief, CtaStrength, HookType, Pacing, Script, ShotRole
from adloom.scripts_gen.objectives import hook_fits

R = ShotRole

#: Shot orders (the hook first and the CTA last are implied). Each is a recognisable ad structure.
SHOT_ORDERS: dict[str, tuple[ShotRole, ...]] = {
    "problem_solution": (R.problem, R.demo, R.feature, R.proof, R.offer, R.feature),
    "demo_first": (R.demo, R.feature, R.proof, R.feature, R.offer, R.demo),
    "proof_led": (R.proof, R.feature, R.demo, R.offer, R.feature, R.proof),
    "feature_list": (R.feature, R.feature, R.feature, R.offer, R.feature, R.proof),
    "offer_led": (R.offer, R.feature, R.demo, R.proof, R.feature, R.offer),
}

#: Which angle and order suit each hook type best (first choice first).
HOOK_AFFINITY: dict[HookType, tuple[tuple[Angle, str], ...]] = {
    HookType.question: ((Angle.problem_solution, "problem_solution"), (Angle.convenience, "demo_first")),
    HookType.pain_point: ((Angle.problem_solution, "problem_solution"), (Angle.emotion, "proof_led")),
    HookType.surprising_fact: ((Angle.quality, "feature_list"), (Angle.novelty, "demo_first")),
    HookType.before_after: ((Angle.problem_solution, "demo_first"), (Angle.quality, "proof_led")),
    HookType.price_reveal: ((Angle.value, "offer_led"), (Angle.value, "feature_list")),
    HookType.testimonial: ((Angle.social_proof, "proof_led"), (Angle.emotion, "proof_led")),
    HookType.demo: ((Angle.convenience, "demo_first"), (Angle.novelty, "demo_first")),
    HookType.story: ((Angle.emotion, "problem_solution"), (Angle.social_proof, "proof_led")),
    HookType.unboxing: ((Angle.novelty, "demo_first"), (Angle.quality, "feature_list")),
}

_PACING_BY_DURATION = ((12.0, Pacing.fast), (25.0, Pacing.medium))


@dataclass(frozen=True)
class VariantPlan:
    """The substance of one variant: the writer fills in words, never changes these."""

    index: int
    hook_type: HookType
    angle: Angle
    order: str
    roles: tuple[ShotRole, ...]  # hook first, cta last
    pacing: Pacing
    cta_strength: CtaStrength
    mention_price: bool
    focus: tuple[str, ...]  # selling points in the order this variant stresses them

    @property
    def signature(self) -> tuple[str, str, str]:
        return (str(self.hook_type), str(self.angle), self.order)


def shot_count(duration_s: float) -> int:
    """3–8 shots, about one per 3.2 seconds."""
    return max(3, min(8, round(duration_s / 3.2)))


def plan_variants(
    brief: Brief,
    n: int,
    *,
    exemplar: Script | None = None,
    seed: int = 0,
    points: Sequence[str] | None = None,
) -> list[VariantPlan]:
    """N plans with pairwise-distinct (hook type, angle, shot order).

    The first plan follows the chosen exemplar's hook type (the advertiser
    picked it because it is close to what they want) when it fits the brief;
    the rest spread over the other hook types that fit (:func:`hook_fits`: the
    objective's hooks, no unboxing a savings plan, no before/after without
    before/after footage, no price reveal without a price or an offer).
    ``points`` are the selling points the scripts may state (default: all the
    brief's; the writer passes only those the reviewer allows).
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = random.Random(f"{brief.id}:{seed}")
    has_price = brief.product.price is not None or bool(brief.product.offer)
    hooks = [h for h in HookType if hook_fits(brief, h)] or [HookType.question]
    rng.shuffle(hooks)
    if exemplar is not None and exemplar.hook_type in hooks:
        hooks.remove(exemplar.hook_type)
        hooks.insert(0, exemplar.hook_type)

    candidates: list[tuple[HookType, Angle, str]] = []
    for affinity_rank in range(2):
        for hook in hooks:
            angle, order = HOOK_AFFINITY[hook][affinity_rank]
            candidates.append((hook, angle, order))
    for hook in hooks:  # fill-ins if n is large: every order for every hook
        for order in SHOT_ORDERS:
            candidates.append((hook, HOOK_AFFINITY[hook][0][0], order))

    chosen: list[tuple[HookType, Angle, str]] = []
    seen: set[tuple[HookType, Angle, str]] = set()
    for c in candidates:
        if c not in seen:
            seen.add(c)
            chosen.append(c)
        if len(chosen) == n:
            break

    n_shots = shot_count(brief.duration_s)
    pacing = next((p for limit, p in _PACING_BY_DURATION if brief.duration_s <= limit), Pacing.slow)
    points = list(brief.product.selling_points if points is None else points) or [""]
    plans = []
    for i, (hook, angle, order) in enumerate(chosen):
        middle = SHOT_ORDERS[order][: n_shots - 2]
        focus = tuple(points[i % len(points) :] + points[: i % len(points)])
        strength = CtaStrength.strong if (has_price and angle == Angle.value) or i % 3 == 0 else CtaStrength.medium
        plans.append(
            VariantPlan(
                index=i,
                hook_type=hook,
                angle=angle,
                order=order,
                roles=(ShotRole.hook, *middle, ShotRole.cta),
                pacing=pacing,
                cta_strength=strength,
                mention_price=has_price and (angle == Angle.value or ShotRole.offer in middle),
                focus=focus,
            )
        )
    return plans
