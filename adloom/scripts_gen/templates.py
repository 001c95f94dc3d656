"""The deterministic template writer: every line from the phrase grammar, filled only with brief facts.

It writes the floor under the LLM and every line the LLM's draft could not keep. Lines come from
:mod:`adloom.scripts_gen.grammar` (per language × hook type × shot role, filtered by the brief's
objective and industry), the call to action from the objective's profile
(:func:`adloom.scripts_gen.objectives.objective_profile`). A phrase is a candidate only when the
brief has a fact for each of its slots, and a candidate is kept only when ``accept`` (the copy
reviewer) passes it, so a line never states a price, an offer, a number or a before/after the
brief does not give. Variants differ by the plan (hook type, angle, shot order) and by a seeded
choice among the phrases that fit each shot.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from adloom.core.text import speech_seconds, upper_first
from adloom.core.types import Brief, Language, ShotRole
from adloom.scripts_gen.grammar import BriefFacts, GrammarFile, Phrase, fill, load_grammar
from adloom.scripts_gen.objectives import cta_templates, objective_profile
from adloom.scripts_gen.planning import VariantPlan

#: Minimum length of any shot, seconds: shorter cuts read as flicker.
MIN_SHOT_S = 1.2
#: Breathing room added to each shot's speech time before scaling to the target.
SHOT_PAD_S = 0.35
#: Longest on-screen caption: characters (zh) or characters incl. spaces (en). Longer clauses are not cut
#: mid-phrase; the caption is left empty instead.
CAPTION_MAX = {Language.zh: 16, Language.en: 32}

#: A name that takes longer than this share of the ad to say is shown on screen, never spoken.
MAX_NAME_SHARE = 0.3

#: ``accept(text, field, role)``: whether a candidate line may be used (the reviewer passes it).
Accept = Callable[[str, str, ShotRole], bool]


@dataclass
class TemplateLine:
    """One shot's words as the template writer chose them."""

    role: ShotRole
    narration: str
    caption: str
    visual: str
    point: str = ""  # the selling point this line states ("" if none)


@dataclass
class _Slot:
    role: ShotRole
    field: str
    options: list[tuple[str, str]] = field(default_factory=list)  # (line, phrase pattern it came from)
    point: str = ""


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


#: Where a clause ends: CJK punctuation, or , . : ; ! ? not inside a number (4.5%, 10,000, 3:1).
_CLAUSE_END = re.compile(r"[，；：。！？]|[,.:;!?](?!\d)\s*")


def caption_for(text: str, language: Language) -> str:
    """On-screen text for a fact: its first clause when that is short enough, else nothing.

    Never a cut: "a great earbuds in the" on screen is worse than no caption."""
    first = _CLAUSE_END.split(text.strip(), maxsplit=1)[0].strip()
    if language == Language.en:
        first = upper_first(first.strip(" -"))
    return first if 0 < len(first) <= CAPTION_MAX[language] else ""


def _shot_cost(text: str, language: Language) -> float:
    """Seconds a shot needs for this line: speech plus the pad, never under the minimum shot."""
    return max(MIN_SHOT_S, speech_seconds(text, language) + SHOT_PAD_S)


def fit_to_time(options: list[list[str]], language: Language, budget_s: float) -> list[str]:
    """Pick one line per slot (first option preferred) so all shots fit ``budget_s`` seconds.

    While over budget, the slot whose switch to its shortest option saves the most time is switched.
    """
    chosen = [opts[0] for opts in options]

    def shortest(i: int) -> str:  # the slot's shortest option that no other slot already says
        free = [t for t in options[i] if t == chosen[i] or t not in chosen]
        return min(free, key=lambda t: speech_seconds(t, language))

    while sum(_shot_cost(c, language) for c in chosen) > budget_s:
        best, saving = -1, 0.0
        for i in range(len(options)):
            gain = _shot_cost(chosen[i], language) - _shot_cost(shortest(i), language)
            if gain > saving:
                best, saving = i, gain
        if best < 0:
            break
        chosen[best] = shortest(best)
    return chosen


def _usable(phrases: Sequence[Phrase], facts: BriefFacts, *, when: str = "any") -> list[Phrase]:
    plural = facts.noun.plural
    return [
        p
        for p in phrases
        if p.usable(objective=facts.objective, industry=facts.industry, plural=plural) and p.when in ("any", when)
    ]


def _effective_roles(plan: VariantPlan, facts: BriefFacts) -> list[ShotRole]:
    """The plan's shot roles, with a shot the brief cannot fill given a role it can.

    An offer shot needs a price or an offer; a proof shot needs an audience; a feature shot needs a
    selling point not yet stated. Stand-ins follow the same order of preference every time.
    """
    roles = list(plan.roles)
    # a price-reveal hook has already said the price or the offer: an offer shot would say it again
    has_offer = bool(facts.price or facts.offer) and plan.hook_type.value != "price_reveal"
    features_left = len(facts.points) - (1 if plan.hook_type.value == "surprising_fact" else 0)
    for i, role in enumerate(roles[1:-1], start=1):
        if role == ShotRole.feature:
            if features_left > 0:
                features_left -= 1
                continue
            role = ShotRole.proof if facts.audience and ShotRole.proof not in roles else ShotRole.demo
        if role == ShotRole.offer and not has_offer:
            role = ShotRole.feature if features_left > 0 else ShotRole.demo
            features_left -= role == ShotRole.feature
        if role == ShotRole.proof and not facts.audience:
            role = ShotRole.demo
        roles[i] = role
    states_point = ShotRole.feature in roles[1:-1] or plan.hook_type.value == "surprising_fact"
    if facts.points and not states_point:  # every script states at least one selling point
        swap = next((i for i, r in enumerate(roles[1:-1], start=1) if r != ShotRole.offer), 1)
        roles[swap] = ShotRole.feature
    return roles


def _place_name(hook: _Slot, cta: _Slot, facts: BriefFacts) -> None:
    """Narrow the hook's and the CTA's options so the full name is said at least once and at most twice
    (once when it is long): people say "this hub" after hearing the name once."""

    def named(slot: _Slot, want: bool) -> list[tuple[str, str]]:
        return [o for o in slot.options if (facts.name in o[0]) == want]

    if hook.options and facts.name in hook.options[0][0]:
        hook.options = named(hook, True)
        if facts.long_name:
            cta.options = named(cta, False) or cta.options
    elif named(cta, True):
        hook.options = named(hook, False) or hook.options
        cta.options = named(cta, True)
    else:
        hook.options = named(hook, True) or hook.options


#: What a shot becomes when no phrase of its role fits the brief and passes review.
_STAND_INS: dict[ShotRole, tuple[ShotRole, ...]] = {
    ShotRole.problem: (ShotRole.demo,),
    ShotRole.proof: (ShotRole.demo, ShotRole.problem),
    ShotRole.offer: (ShotRole.demo,),
    ShotRole.feature: (ShotRole.demo, ShotRole.problem),
    ShotRole.demo: (ShotRole.problem,),
}


def template_lines(
    brief: Brief,
    plan: VariantPlan,
    facts: BriefFacts,
    *,
    seed: int = 0,
    accept: Accept | None = None,
    grammar: GrammarFile | None = None,
) -> list[TemplateLine]:
    """One line per shot of ``plan`` from the phrase grammar, each passed by ``accept``.

    A shot whose role has no phrase that the brief's facts fill and ``accept`` passes takes a
    stand-in role (a proof shot whose audience carries a banned word becomes a demo shot). A name
    too long to say within the ad, or one that would not fit with the rest, is shown on screen in
    the first shot instead. Raises ValueError when a shot still has no line (the caller drops or
    regenerates the variant rather than emit a line that fails review).
    """
    grammar = grammar or load_grammar(brief.language)
    spoken = bool(facts.name) and speech_seconds(facts.name, brief.language) <= MAX_NAME_SHARE * brief.duration_s

    def cost(lines: list[TemplateLine]) -> float:
        return sum(_shot_cost(x.narration, brief.language) for x in lines)

    if not spoken:
        return _choose(brief, plan, facts, seed, accept, grammar, spoken_name=False)
    said = _choose(brief, plan, facts, seed, accept, grammar, spoken_name=True)
    if cost(said) <= brief.duration_s and any(facts.name in x.narration for x in said):
        return said
    shown = _choose(brief, plan, facts, seed, accept, grammar, spoken_name=False)
    return shown if cost(shown) <= brief.duration_s or cost(shown) < cost(said) else said


def _choose(
    brief: Brief,
    plan: VariantPlan,
    facts: BriefFacts,
    seed: int,
    accept: Accept | None,
    grammar: GrammarFile,
    *,
    spoken_name: bool,
) -> list[TemplateLine]:
    lang = brief.language
    rng = random.Random(f"{brief.id}:{plan.index}:{seed}")
    ok = accept or (lambda text, field_, role: True)
    on_screen = not spoken_name and bool(facts.name) and len(facts.name) <= 60
    if not spoken_name:  # people say "这台中枢", and read the full name on screen
        facts = replace(facts, name="")
    roles = _effective_roles(plan, facts)
    points = list(facts.points)
    hook_point = points[0] if points and plan.hook_type.value == "surprising_fact" else ""
    next_point = 1 if hook_point and len(points) > 1 else 0
    features = 1 if hook_point else 0  # a surprising-fact hook has stated the first point
    stated_points = min(len(points), roles[1:-1].count(ShotRole.feature) + bool(hook_point))

    def fill_slot(slot: _Slot, phrases: Sequence[Phrase | str], *, with_name: bool) -> None:
        values = facts.slots(slot.point)
        if not with_name:
            values.pop("name", None)  # the full name only in the hook and the CTA
        slot.options = []
        for phrase in phrases:
            text = phrase if isinstance(phrase, str) else phrase.text
            line = fill(text, values)
            if line is not None and ok(line, slot.field, slot.role):
                slot.options.append((line, text))
        rng.shuffle(slot.options)

    slots: list[_Slot] = []
    for i, role in enumerate(roles):
        last = i == len(roles) - 1
        slot = _Slot(role=role, field="hook" if i == 0 else ("cta" if last else f"shots[{i}].narration"))
        if i == 0:
            slot.point = hook_point
            fill_slot(slot, _usable(grammar.hooks[plan.hook_type], facts), with_name=True)
        elif last:
            ctas = [*cta_templates(facts.objective, lang, has_offer=bool(facts.offer))]
            ctas += _usable(grammar.ctas.get(facts.objective, []), facts)
            fill_slot(slot, ctas, with_name=True)
        else:
            for candidate in (role, *_STAND_INS.get(role, ())):
                slot.role, slot.point = candidate, ""
                if candidate == ShotRole.feature:
                    if not points:
                        continue
                    slot.point = points[next_point % len(points)]
                # "First up" / "还有一点" only make sense when the script states more than one point
                when = "" if stated_points < 2 else ("first" if features == 0 else "later")
                fill_slot(slot, _usable(grammar.roles[candidate], facts, when=when), with_name=False)
                if slot.options:
                    break
            if slot.role == ShotRole.feature:
                next_point += 1
                features += 1
        slots.append(slot)
    if facts.name:
        _place_name(slots[0], slots[-1], facts)

    chosen_patterns: set[str] = set()
    chosen_lines: set[str] = set()
    options: list[list[str]] = []

    def unused(slot: _Slot) -> list[tuple[str, str]]:
        fresh = [o for o in slot.options if o[1] not in chosen_patterns and o[0] not in chosen_lines]
        return fresh or [o for o in slot.options if o[0] not in chosen_lines]

    for slot in slots:
        pick = unused(slot)
        for candidate in _STAND_INS.get(slot.role, ()) if not pick and slot.field.startswith("shots[") else ():
            if candidate == ShotRole.feature:
                continue  # every point already has its shot
            slot.role, slot.point = candidate, ""  # every line of this role is already said: another role
            fill_slot(slot, _usable(grammar.roles[candidate], facts), with_name=False)
            if pick := unused(slot):
                break
        if not pick:
            raise ValueError(f"{slot.field} ({slot.role.value}): no phrase fits this brief and passes review")
        chosen_patterns.add(pick[0][1])
        chosen_lines.add(pick[0][0])
        options.append([line for line, _ in pick])
    lines = fit_to_time(options, lang, brief.duration_s)

    button = objective_profile(facts.objective).button[lang]
    stated = {s.point for s in slots}
    unstated = [p for p in points if p not in stated]
    shown: set[str] = set()
    out = []
    for i, (slot, line) in enumerate(zip(slots, lines, strict=True)):
        if slot.role == ShotRole.cta:
            caption = button
        elif slot.role == ShotRole.offer:
            caption = caption_for(facts.price or facts.offer, lang)
        elif i == 0 and on_screen:
            caption = brief.product.name
        elif i == 0:  # the opening frame shows a point no later shot states, if there is one
            caption = caption_for(unstated[0], lang) if unstated else ""
        else:
            caption = caption_for(slot.point, lang) if slot.point else ""
        if caption in shown or (caption and not ok(caption, f"shots[{i}].caption", slot.role)):
            caption = ""
        shown.add(caption)
        visuals = grammar.visuals[slot.role]
        visual = visuals[rng.randrange(len(visuals))].format(noun=facts.noun.noun, name=facts.name or facts.ref)
        out.append(TemplateLine(slot.role, line, caption, visual, slot.point))
    return out


def visual_for(role: ShotRole, brief: Brief, facts: BriefFacts | None = None) -> str:
    """The default visual description of a shot role, in the brief's language."""
    grammar = load_grammar(brief.language)
    noun = facts.noun.noun if facts else grammar.industry_nouns[brief.industry].noun
    return grammar.visuals[role][0].format(noun=noun, name=brief.product.name)
