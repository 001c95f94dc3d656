"""The deterministic template writer: the floor under the LLM.

Used only when the model keeps failing validation. It writes every line from
the brief's own facts (name, selling points, price, offer, audience) through
per-language phrase banks keyed by hook type and shot role, so its output is
always on-brief, compliant and the right length — plain, but shippable.
"""

from __future__ import annotations

import random

from adloom.core.text import shorten, speech_seconds, upper_first
from adloom.core.types import Brief, CtaStrength, HookType, Language, ShotRole
from adloom.scripts_gen.planning import VariantPlan

#: Minimum length of any shot, seconds: shorter cuts read as flicker.
MIN_SHOT_S = 1.2
#: Breathing room added to each shot's speech time before scaling to the target.
SHOT_PAD_S = 0.35

_ZH_HOOKS: dict[HookType, tuple[str, ...]] = {
    HookType.question: ("还在为{pain}发愁吗？", "{audience}，你是不是也想要{sp0}？"),
    HookType.pain_point: ("{pain}，真的太难受了。", "每天都被{pain}困扰？"),
    HookType.surprising_fact: ("{sp0}，这一点很多人都不知道。", "你知道吗？{name}做到了{sp0}。"),
    HookType.before_after: ("用{name}之前和之后，差别一眼就能看出来。", "左边是以前，右边是现在。"),
    HookType.price_reveal: ("{price_line}，{name}带回家。", "先说价格：{price_line}。", "{name}，{price}。"),
    HookType.testimonial: ("用了{name}一个月，我想说说真实感受。", "朋友问我最近用的是什么，答案是{name}。"),
    HookType.demo: ("直接看效果：{name}，{sp0}。", "三秒看懂{name}怎么用。"),
    HookType.story: ("早上七点，小林又一次手忙脚乱。", "周末出门前，她打开了{name}。"),
    HookType.unboxing: ("拆开{name}，一起看看里面有什么。", "新到的{name}，开箱！"),
}
_EN_HOOKS: dict[HookType, tuple[str, ...]] = {
    HookType.question: ("Still dealing with {pain}?", "Want {sp0} without the hassle?"),
    HookType.pain_point: ("{Pain} again? You are not alone.", "Sick of {pain}?"),
    HookType.surprising_fact: ("Here is something most people miss: {sp0}.", "Did you know {name} gives you {sp0}?"),
    HookType.before_after: ("Before {name}, and after. See the difference.", "Left: last month. Right: today."),
    HookType.price_reveal: (
        "{price_line}. That is {name}.",
        "Let's talk price first: {price_line}.",
        "{name}: {price}.",
    ),
    HookType.testimonial: (
        "I have used {name} for a month. Here is my honest take.",
        "Everyone asks what I use. It is {name}.",
    ),
    HookType.demo: ("Watch this: {name}, {sp0}.", "Three seconds to see how {name} works."),
    HookType.story: ("Seven a.m., and Maya is running late again.", "Saturday morning, Sam grabs {name}."),
    HookType.unboxing: ("Unboxing {name}. Let's see what's inside.", "{name} just arrived. Let's open it."),
}

_ZH_ROLES: dict[ShotRole, tuple[str, ...]] = {
    ShotRole.problem: ("{pain}，试了很多办法都不理想。", "以前总觉得{pain}没办法解决。"),
    ShotRole.demo: ("看，{name}是这样用的。", "打开{name}，一起看看怎么用。"),
    ShotRole.feature: ("{sp}。", "{name}的亮点：{sp}。"),
    ShotRole.proof: ("{name}，为{audience}而来。", "适合{audience}的{name}。"),
    ShotRole.offer: ("{price_line}。", "现在下单，{price_line}。", "{price}。"),
}
_EN_ROLES: dict[ShotRole, tuple[str, ...]] = {
    ShotRole.problem: ("{Pain} used to slow everything down.", "Nothing seemed to fix {pain}."),
    ShotRole.demo: ("Here is {name} in use.", "Open {name} and see how it works."),
    ShotRole.feature: ("{Sp}.", "With {name}: {sp}."),
    ShotRole.proof: ("{name} is made for {audience}.", "Made for {audience}: {name}."),
    ShotRole.offer: ("{price_line}.", "Order now: {price_line}.", "{Price}."),
}

_ZH_CTA = {
    CtaStrength.none: "{name}，了解一下。",
    CtaStrength.soft: "点击了解{name}。",
    CtaStrength.medium: "点击下方链接，马上入手{name}。",
    CtaStrength.strong: "现在下单{name}，{price_line}，别错过。",
}
_EN_CTA = {
    CtaStrength.none: "{name}. Take a look.",
    CtaStrength.soft: "Tap to learn more about {name}.",
    CtaStrength.medium: "Tap below and get {name} today.",
    CtaStrength.strong: "Order {name} now: {price_line}. Don't miss it.",
}

_ZH_VISUALS: dict[ShotRole, str] = {
    ShotRole.hook: "{name}特写，画面快速推进",
    ShotRole.problem: "人物面对日常困扰，表情无奈",
    ShotRole.demo: "双手演示使用{name}",
    ShotRole.feature: "{name}细节特写，突出卖点",
    ShotRole.proof: "用户拿着{name}微笑推荐",
    ShotRole.offer: "{name}居中展示，旁边是价格卡片",
    ShotRole.cta: "{name}居中，干净背景，留出文字区域",
}
_EN_VISUALS: dict[ShotRole, str] = {
    ShotRole.hook: "Fast push-in on {name}",
    ShotRole.problem: "A person frustrated by an everyday problem",
    ShotRole.demo: "Hands using {name}",
    ShotRole.feature: "Macro detail of {name} showing the selling point",
    ShotRole.proof: "A customer holding {name}, smiling",
    ShotRole.offer: "{name} centred beside a price card",
    ShotRole.cta: "{name} centred on a clean background with space for text",
}


def price_line(brief: Brief, *, offer: bool = True) -> str:
    """The brief's price (and offer) as one phrase in the brief's language ('' if none)."""
    p = brief.product
    zh = brief.language == Language.zh
    parts = []
    if p.price is not None:
        price = p.price_text(brief.language)
        parts.append(price if zh else f"just {price}")
    if p.offer and (offer or not parts):
        parts.append(p.offer)
    return ("，" if zh else ", ").join(parts)


def _pain(brief: Brief) -> str:
    """The problem the ad opens on: the brief's notes when short, else a neutral phrase."""
    zh = brief.language == Language.zh
    note = (brief.notes or "").strip().rstrip("。.!！")
    if note and len(note) <= 60 and "\n" not in note:
        return note
    return "选不到合适的" + brief.product.name if zh else "the daily hassle"


def _fields(brief: Brief, plan: VariantPlan, point: str) -> dict[str, str]:
    zh = brief.language == Language.zh
    pain = _pain(brief)
    sp0 = plan.focus[0]
    return {
        "name": brief.product.name,
        "sp0": sp0,
        "sp": point,
        "Sp": upper_first(point),
        "pain": pain,
        "Pain": upper_first(pain),
        "audience": brief.audience or ("你" if zh else "you"),
        "price_line": price_line(brief) or ("限时优惠" if zh else "a limited-time offer"),
        "price": price_line(brief, offer=False) or ("限时优惠" if zh else "a limited-time offer"),
        "Price": (price_line(brief, offer=False) or "A limited-time offer").capitalize(),
    }


def _caption(text: str, language: Language) -> str:
    """On-screen text: the gist of a selling point, short enough to read in a second."""
    text = text.strip().rstrip("。.!！?？")
    return shorten(text, language, 12 if language == Language.zh else 5)


def _shot_cost(text: str, language: Language) -> float:
    """Seconds a shot needs for this line: speech plus the pad, never under the minimum shot."""
    return max(MIN_SHOT_S, speech_seconds(text, language) + SHOT_PAD_S)


def _fit(options: list[list[str]], language: Language, budget_s: float) -> list[str]:
    """Pick one line per slot (first option preferred) so all shots fit ``budget_s`` seconds.

    While over budget, the slot whose switch to its shortest option saves the
    most time is switched. Options are ordered preferred-first; each slot's
    last option is its shortest fallback.
    """
    chosen = [opts[0] for opts in options]
    while sum(_shot_cost(c, language) for c in chosen) > budget_s:
        best, saving = -1, 0.0
        for i, opts in enumerate(options):
            shortest = min(opts, key=lambda t: speech_seconds(t, language))
            gain = _shot_cost(chosen[i], language) - _shot_cost(shortest, language)
            if gain > saving:
                best, saving = i, gain
        if best < 0:
            break
        chosen[best] = min(options[best], key=lambda t: speech_seconds(t, language))
    return chosen


def template_draft(brief: Brief, plan: VariantPlan, *, seed: int = 0) -> dict:
    """A draft (hook, shots with narration/caption/visual, cta) written from phrase banks,
    with lines chosen so the narration can be spoken within the brief's duration."""
    rng = random.Random(f"{brief.id}:{plan.index}:{seed}")
    lang = brief.language
    zh = lang == Language.zh
    hooks, roles, ctas, visuals = (
        (_ZH_HOOKS, _ZH_ROLES, _ZH_CTA, _ZH_VISUALS) if zh else (_EN_HOOKS, _EN_ROLES, _EN_CTA, _EN_VISUALS)
    )
    points = list(plan.focus)

    def ordered(bank: tuple[str, ...], f: dict[str, str]) -> list[str]:
        lines = [t.format(**f) for t in bank]
        rng.shuffle(lines)
        return lines

    f = _fields(brief, plan, points[0])
    options = [ordered(hooks[plan.hook_type], f)]
    captions = [_caption(points[0], lang)]
    feature_i = 0
    spare = [ShotRole.demo, ShotRole.proof]  # stand-ins once every selling point has had its shot
    for role in plan.roles[1:-1]:
        point = points[feature_i % len(points)]
        if role == ShotRole.feature:
            feature_i += 1
            if feature_i > len(points):
                role = spare[feature_i % 2]
        f = _fields(brief, plan, point)
        opts = ordered(roles[role], f)
        if role == ShotRole.feature:
            opts.append(point.rstrip("。.!！") + "。" if zh else upper_first(point).rstrip(".!") + ".")
            captions.append(_caption(point, lang))
        elif role == ShotRole.offer:
            captions.append(_caption(f["price_line"], lang))
        else:
            captions.append("")
        options.append(opts)
    strength = plan.cta_strength if price_line(brief) or plan.cta_strength != CtaStrength.strong else CtaStrength.medium
    options.append(
        [
            ctas[strength].format(**f),
            ctas[CtaStrength.soft].format(**f),
            f"入手{f['name']}。" if zh else f"Get {f['name']}.",
        ]
    )
    captions.append("立即购买" if zh else "Shop now")

    for i, opts in enumerate(options):  # no line may repeat an earlier slot's first choice
        earlier = {o[0] for o in options[:i]}
        options[i] = [o for o in opts if o not in earlier] or opts
    lines = _fit(options, lang, brief.duration_s)
    shots = [
        {"narration": line, "caption": cap, "visual": visuals[role].format(name=brief.product.name)}
        for line, cap, role in zip(lines, captions, plan.roles, strict=True)
    ]
    return {"hook": lines[0], "shots": shots, "cta": lines[-1]}


def visual_for(role: ShotRole, brief: Brief) -> str:
    """The default visual description of a shot role, in the brief's language."""
    table = _ZH_VISUALS if brief.language == Language.zh else _EN_VISUALS
    return table[role].format(name=brief.product.name)
