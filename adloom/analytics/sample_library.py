"""The sample creative library: seeded, compliant exemplar ads with simulated results.

A fresh install has no past creatives to retrieve from, and tests need a
library whose ground truth is known. This module writes one: every item is a
full core :class:`Script` built from per-industry phrase banks in Chinese and
English (``adloom/data/library/phrases.yaml``, a validated data file; see
:class:`_Bank`), and its :class:`Performance` is drawn from the documented response
model in :mod:`adloom.analytics.simulator`.

Guarantees, each checked by ``tests/analytics/test_sample_library.py``:

* all ten industries (round-robin) and both languages (alternating blocks of
  ten), so item ``i`` is the same whatever ``n`` is;
* durations 8–45 s, 3–8 shots, roles hook → problem/demo/feature/proof/offer
  → cta; narration never longer than its shot at the speaking rate
  (:data:`SPEAKING_RATE`), captions within :data:`CAPTION_LIMIT`;
* the price appears in the copy exactly when ``price_mentioned`` is set, and
  the CTA line matches ``cta_strength``;
* no absolute claims (最, 第一, best, #1, guaranteed …) and no promised
  returns in finance copy: the library is meant to be imitated;
* the same seed gives byte-identical JSON, ids included (``lib_s<seed>_<i>``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from adloom.analytics.simulator import CreativeAttributes, ResponseModel, simulate_performance
from adloom.core.datafiles import load_package_data
from adloom.core.text import EN_WORDS_PER_S, ZH_CHARS_PER_S, speech_seconds, upper_first
from adloom.core.types import (
    Angle,
    Aspect,
    CtaStrength,
    HookType,
    Industry,
    Language,
    LibraryItem,
    Pacing,
    Platform,
    Provenance,
    Script,
    Shot,
    ShotRole,
    SubjectSheet,
)

#: Speaking rate used to fit narration into shots: zh characters or en words per second.
SPEAKING_RATE: dict[Language, float] = {Language.zh: ZH_CHARS_PER_S, Language.en: EN_WORDS_PER_S}
#: Longest on-screen caption: zh characters or en words.
CAPTION_LIMIT: dict[Language, int] = {Language.zh: 14, Language.en: 6}
#: Breath between narration lines, added to every shot's spoken time.
_PAD_S = 0.3
_MIN_S, _MAX_S = 8.0, 45.0
_MIN_SHOTS, _MAX_SHOTS = 3, 8
T = TypeVar("T")


def speech_units(text: str, language: Language) -> int:
    """How much there is to say: word characters for zh, words for en."""
    if language is Language.zh:
        return len(re.findall(r"\w", text))
    return sum(1 for tok in text.split() if re.search(r"\w", tok))


def speaking_time_s(text: str, language: Language) -> float:
    """Seconds needed to read ``text`` aloud (the shared rule in :mod:`adloom.core.text`)."""
    return speech_seconds(text, language)


def caption_fits(text: str, language: Language) -> bool:
    """Whether a caption is short enough to read in a glance."""
    size = len(text) if language is Language.zh else len(text.split())
    return size <= CAPTION_LIMIT[language]


# ---------------------------------------------------------------------------
# Phrase banks: adloom/data/library/phrases.yaml, three products per industry and language.
# ---------------------------------------------------------------------------


class _Phrase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Line = Annotated[str, Field(min_length=1)]


class _Product(_Phrase):
    """Copy for one product in one language; every line is a full sentence."""

    name: Line  # as used inside a sentence ("the hydrating serum", "《云海录》")
    look: Line  # what the camera sees
    pain: Line
    question: Line
    fact: Line
    before_after: Line
    quote: Line
    demo: Line
    story: Line
    features: tuple[Line, ...] = Field(min_length=1)
    proof: Line
    price_hook: Line  # a hook that leads with the price
    offer: Line  # an offer sentence that states the price
    price_cap: Line  # short caption with the price
    points: tuple[Line, ...] = Field(min_length=1)  # short selling points, also used as captions


class _Cta(_Phrase):
    lines: tuple[Line, ...] = Field(min_length=1)  # narration templates with {name}, {verb}, {Verb}
    caption: str  # "" for none


class _Offer(_Phrase):
    line: Line
    caption: Line


class _RoleVisual(_Phrase):
    plain: Line  # without a presenter
    presenter: Line  # with one


def _complete(mapping: dict[Any, Any], keys: Iterable[Any], what: str) -> None:
    missing = [k.value for k in keys if k not in mapping]
    if missing:
        raise ValueError(f"{what} lacks {', '.join(missing)}; add an entry for each")


class _Bank(_Phrase):
    """Every phrase of one language."""

    products: dict[Industry, tuple[_Product, ...]]
    verb: dict[Industry, Line]  # what each industry's call to action asks for
    cta: dict[CtaStrength, _Cta]  # ``none`` signs off without asking
    generic_offer: _Offer
    proof_caption: Line
    unboxing: dict[Literal["goods", "auto", "digital"], Line]
    hook_visual: dict[HookType, Line]
    unboxing_visual_digital: Line
    demo_visual_digital: Line
    role_visual: dict[ShotRole, _RoleVisual]  # every role but the hook
    presenters: tuple[Line, ...] = Field(min_length=1)
    styles: tuple[Line, ...] = Field(min_length=1)
    hook_label: dict[HookType, Line]

    @model_validator(mode="after")
    def _complete_tables(self) -> _Bank:
        _complete(self.products, Industry, "products")
        if any(not items for items in self.products.values()):
            raise ValueError("products lists an industry with no product; give at least one")
        _complete(self.verb, Industry, "verb")
        _complete(self.cta, CtaStrength, "cta")
        _complete(self.hook_visual, HookType, "hook_visual")
        _complete(self.hook_label, HookType, "hook_label")
        _complete(self.role_visual, [r for r in ShotRole if r is not ShotRole.hook], "role_visual")
        if set(self.unboxing) != {"goods", "auto", "digital"}:
            raise ValueError("unboxing needs lines for goods, auto and digital")
        return self


class _PhraseFile(_Phrase):
    languages: dict[Language, _Bank]

    @model_validator(mode="after")
    def _both_languages(self) -> _PhraseFile:
        _complete(self.languages, Language, "languages")
        return self


def _bank(language: Language) -> _Bank:
    """The phrases of ``language`` from the shipped data file (validated once per process)."""
    return load_package_data(_PhraseFile, "library", "phrases.yaml").languages[language]


_DIGITAL = frozenset({Industry.games, Industry.education, Industry.finance, Industry.travel})

#: Middle-shot roles in order of preference for each angle (cut to the shot count).
_MIDDLE_ROLES: dict[Angle, tuple[ShotRole, ...]] = {
    Angle.value: (ShotRole.feature, ShotRole.demo, ShotRole.proof, ShotRole.feature, ShotRole.feature, ShotRole.offer),
    Angle.quality: (
        ShotRole.feature,
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
        ShotRole.feature,
    ),
    Angle.convenience: (
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
        ShotRole.demo,
    ),
    Angle.social_proof: (
        ShotRole.proof,
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
    ),
    Angle.emotion: (
        ShotRole.problem,
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
        ShotRole.feature,
    ),
    Angle.problem_solution: (
        ShotRole.problem,
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
        ShotRole.feature,
    ),
    Angle.novelty: (ShotRole.demo, ShotRole.feature, ShotRole.feature, ShotRole.demo, ShotRole.proof, ShotRole.feature),
}

_PLATFORMS: dict[Language, tuple[tuple[Platform, ...], tuple[float, ...]]] = {
    Language.zh: (
        (Platform.douyin, Platform.kuaishou, Platform.xiaohongshu, Platform.wechat_channels),
        (0.40, 0.20, 0.25, 0.15),
    ),
    Language.en: (
        (Platform.tiktok, Platform.instagram_reels, Platform.youtube_shorts, Platform.facebook),
        (0.40, 0.25, 0.20, 0.15),
    ),
}
_AVG_SHOT_S: dict[Pacing, tuple[float, float]] = {
    Pacing.fast: (2.5, 3.5),
    Pacing.medium: (3.5, 5.0),
    Pacing.slow: (5.0, 7.0),
}


def _join(parts: list[str], language: Language) -> str:
    return ("" if language is Language.zh else " ").join(parts)


def _needed_s(text: str, language: Language) -> float:
    """Shortest shot that fits ``text`` at the speaking rate, rounded up to 0.1 s."""
    if not text:
        return 1.0
    return math.ceil((speaking_time_s(text, language) + _PAD_S) * 10) / 10


def _clause(text: str, language: Language) -> str:
    """The first clause of a line (of the quote, for a testimonial), or "" if too long for a caption."""
    quoted = re.search(r"[\"“](.+?)[\"”]", text)
    if quoted:
        text = quoted.group(1)
    elif "：" in text:
        text = text.split("：", 1)[1]
    first = re.split(r"[，,。.？?！!：:]", text, maxsplit=1)[0].strip()
    substantial = speech_units(first, language) >= (3 if language is Language.zh else 2)
    return first if substantial and caption_fits(first, language) else ""


def _caption_for(line: str, points: tuple[str, ...], language: Language) -> str:
    """A caption for a spoken line: its first clause if short, else the selling point it shares most with."""
    clause = _clause(line, language)
    if clause:
        return clause

    def tokens(text: str) -> set[str]:
        if language is Language.zh:
            return set(re.findall(r"\w", text))
        return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}

    said = tokens(line)
    overlap, best = max((len(said & tokens(p)), p) for p in points)
    return best if overlap >= 2 or (language is Language.en and overlap >= 1) else ""


def _hook_line(product: _Product, hook_type: HookType, industry: Industry, language: Language) -> str:
    if hook_type is HookType.unboxing:
        kind = "auto" if industry is Industry.auto else "digital" if industry in _DIGITAL else "goods"
        return upper_first(_bank(language).unboxing[kind].format(name=product.name))
    return {
        HookType.question: product.question,
        HookType.pain_point: product.pain,
        HookType.surprising_fact: product.fact,
        HookType.before_after: product.before_after,
        HookType.price_reveal: product.price_hook,
        HookType.testimonial: product.quote,
        HookType.demo: product.demo,
        HookType.story: product.story,
    }[hook_type]


def _choice(rng: np.random.Generator, items: Sequence[T], p: Sequence[float] | None = None) -> T:
    return items[int(rng.choice(len(items), p=p))]


def _make_item(index: int, seed: int, model: ResponseModel) -> LibraryItem:
    """Item ``index`` of the library for ``seed``; independent of how many items are made."""
    rng = np.random.default_rng([seed, index])
    industry = list(Industry)[index % len(Industry)]
    language = (Language.zh, Language.en)[(index // len(Industry)) % 2]
    bank = _bank(language)
    product: _Product = _choice(rng, bank.products[industry])
    platforms, weights = _PLATFORMS[language]
    platform: Platform = _choice(rng, platforms, weights)
    aspect: Aspect = _choice(rng, (Aspect.portrait, Aspect.square, Aspect.landscape), (0.75, 0.15, 0.10))
    hook_type: HookType = _choice(rng, list(HookType))
    angle: Angle = _choice(rng, list(Angle))
    pacing: Pacing = _choice(rng, list(Pacing), (0.30, 0.45, 0.25))
    cta_strength: CtaStrength = _choice(rng, list(CtaStrength), (0.10, 0.25, 0.40, 0.25))
    price_mentioned = hook_type is HookType.price_reveal or bool(rng.random() < 0.45)
    has_presenter = bool(rng.random() < (0.7 if hook_type in (HookType.testimonial, HookType.story) else 0.35))
    caption_policy = _choice(rng, ("full", "most", "light"), (0.5, 0.3, 0.2))

    # Shot plan: target length and count follow pacing.
    target_s = float(np.clip(rng.lognormal(math.log(20.0), 0.4), _MIN_S, _MAX_S))
    avg_shot = float(rng.uniform(*_AVG_SHOT_S[pacing]))
    n_shots = int(np.clip(round(target_s / avg_shot), _MIN_SHOTS, _MAX_SHOTS))
    middle = list(_MIDDLE_ROLES[angle][: n_shots - 2])
    if hook_type is HookType.pain_point:  # the hook already names the problem
        middle = [ShotRole.demo if r is ShotRole.problem else r for r in middle]
    if (price_mentioned and hook_type is not HookType.price_reveal) or angle is Angle.value:
        if ShotRole.offer not in middle:
            middle[-1] = ShotRole.offer
    roles = [ShotRole.hook, *middle, ShotRole.cta]

    # Lines: each sentence is used at most once per script.
    verb = bank.verb[industry]
    cta_lines, cta_caption = bank.cta[cta_strength].lines, bank.cta[cta_strength].caption
    fmt = {"name": product.name, "verb": verb, "Verb": upper_first(verb)}
    cta = upper_first(_choice(rng, cta_lines).format(**fmt))
    hook = _hook_line(product, hook_type, industry, language)
    features = list(product.features)
    rng.shuffle(features)
    pools: dict[ShotRole, list[str]] = {
        ShotRole.hook: [],
        ShotRole.offer: [],
        ShotRole.cta: [],
        ShotRole.problem: [product.pain],
        ShotRole.demo: [product.demo],
        ShotRole.feature: features,
        ShotRole.proof: [product.proof, product.quote],
    }
    used = {hook}
    offer = bank.generic_offer
    offer_line, offer_cap = (product.offer, product.price_cap) if price_mentioned else (offer.line, offer.caption)

    def peek(role: ShotRole, fallback: bool = True) -> tuple[list[str], str] | None:
        """The next unused line for ``role`` (then features, then proof, if ``fallback``) and its pool."""
        order = (pools[role], pools[ShotRole.feature], pools[ShotRole.proof]) if fallback else (pools[role],)
        for pool in order:
            while pool and pool[0] in used:
                pool.pop(0)
            if pool:
                return pool, pool[0]
        return None

    def spare_lines() -> int:
        return len({line for r in (ShotRole.feature, ShotRole.proof) for line in pools[r]} - used)

    def take(found: tuple[list[str], str]) -> str:
        pool, line = found
        pool.pop(0)
        used.add(line)
        return line

    # Hook and CTA get their spoken time plus a beat; the middle shots share the rest of the target.
    hook_s = _needed_s(hook, language) + float(rng.uniform(0.0, 0.8))
    cta_s = _needed_s(cta, language) + float(rng.uniform(0.0, 1.0))
    mid_w = rng.uniform(0.8, 1.2, size=len(middle))
    mid_plan = max(target_s - hook_s - cta_s, 0.0) * mid_w / mid_w.sum()
    planned = [hook_s, *(float(x) for x in mid_plan), cta_s]

    narrations: list[str] = []
    captions: list[str] = []
    needed: list[float] = []
    durations: list[float] = []
    for role, plan in zip(roles, planned, strict=True):
        if role is ShotRole.hook:
            lines, caption = [hook], _caption_for(hook, product.points, language) or product.points[0]
        elif role is ShotRole.cta:
            lines, caption = [cta], cta_caption.format(**fmt)
        elif role is ShotRole.offer:
            lines, caption = [offer_line], offer_cap
        else:
            found = peek(role)
            lines = [take(found)] if found else []
            # Extra lines only for feature/demo shots (problem and proof stay on topic), and only
            # while every later middle shot still has a line of its own.
            more = role in (ShotRole.feature, ShotRole.demo)
            while lines and (found := peek(role, fallback=more)) is not None:
                later = sum(1 for r in roles[len(narrations) + 1 : -1] if r is not ShotRole.offer)
                if spare_lines() <= later:
                    break
                if _needed_s(_join([*lines, found[1]], language), language) > plan:
                    break
                lines.append(take(found))
            if role is ShotRole.proof:
                caption = bank.proof_caption
            elif role is ShotRole.problem:
                caption = _clause(lines[0], language) if lines else ""
            else:
                caption = _caption_for(lines[0], product.points, language) if lines else ""
        text = _join(lines, language)
        narrations.append(text)
        captions.append(caption if caption_fits(caption, language) else "")
        needed.append(_needed_s(text, language))
        longest = max(needed[-1] + 3.0, 2 * needed[-1])  # more picture than this reads as dead air
        durations.append(max(needed[-1], math.ceil(min(plan, longest) * 10) / 10))

    # Keep the total inside 8–45 s: trim slack when long, give middle shots more picture when short.
    total = sum(durations)
    if total > _MAX_S:
        slack = [d - m for d, m in zip(durations, needed, strict=True)]
        cut = (total - _MAX_S) / max(sum(slack), 1e-9)
        durations = [math.floor((d - s * min(cut, 1.0)) * 10) / 10 for d, s in zip(durations, slack, strict=True)]
        durations = [max(d, m) for d, m in zip(durations, needed, strict=True)]
    elif total < _MIN_S:
        extra = math.ceil((_MIN_S - total) / (len(roles) - 2) * 10) / 10
        durations = [d + extra if 0 < i < len(roles) - 1 else d for i, d in enumerate(durations)]

    # Captions: "most" drops every third middle caption, "light" keeps only hook and CTA.
    for i in range(1, len(roles) - 1):
        if caption_policy == "light" or (caption_policy == "most" and i % 3 == 0):
            captions[i] = ""

    presenter = _choice(rng, bank.presenters) if has_presenter else ""
    look = product.look
    shots = []
    for i, role in enumerate(roles):
        if role is ShotRole.hook:
            template = bank.hook_visual[hook_type]
            if hook_type is HookType.unboxing and industry in _DIGITAL:
                template = bank.unboxing_visual_digital
        elif role is ShotRole.demo and industry in _DIGITAL and not presenter:
            template = bank.demo_visual_digital
        else:
            template = bank.role_visual[role].presenter if presenter else bank.role_visual[role].plain
        shots.append(
            Shot(
                index=i,
                role=role,
                duration_s=round(durations[i], 1),
                visual=upper_first(template.format(look=look)),
                narration=narrations[i],
                caption=captions[i],
            )
        )

    title_name = product.name.removeprefix("the ")
    sep = "｜" if language is Language.zh else " – "
    title = upper_first(f"{title_name}{sep}{bank.hook_label[hook_type]}")
    script = Script(
        id=f"scr_s{seed}_{index + 1:04d}",
        language=language,
        industry=industry,
        platform=platform,
        aspect=aspect,
        title=title,
        hook=hook,
        hook_type=hook_type,
        angle=angle,
        pacing=pacing,
        cta=cta,
        cta_strength=cta_strength,
        price_mentioned=price_mentioned,
        selling_points=list(product.points),
        shots=shots,
        subject_sheet=SubjectSheet(product=look, presenter=presenter, brand_style=_choice(rng, bank.styles)),
        provenance=Provenance(path="sample", seed=seed),
    )

    impressions = int(np.clip(round(rng.lognormal(math.log(80_000), 1.2)), 5_000, 2_000_000))
    performance = simulate_performance(CreativeAttributes.from_script(script), impressions, rng, model)
    created_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=int(rng.integers(0, 365 * 86_400)))
    return LibraryItem(
        id=f"lib_s{seed}_{index + 1:04d}",
        title=title,
        industry=industry,
        platform=platform,
        language=language,
        aspect=aspect,
        script=script,
        performance=performance,
        source="sample",
        created_at=created_at,
    )


def generate_sample_library(n: int = 400, seed: int = 7, model: ResponseModel | None = None) -> list[LibraryItem]:
    """``n`` sample creatives for ``seed``; the performance comes from ``model`` (default seeded by ``seed``).

    Item ``i`` depends only on ``(seed, i)``, so a smaller library is a prefix of a larger one.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    model = model or ResponseModel(seed=seed)
    return [_make_item(i, seed, model) for i in range(n)]


def write_sample_library(path: Path, n: int = 400, seed: int = 7) -> Path:
    """Write the sample library as JSONL (one :class:`LibraryItem` per line); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [item.model_dump_json() for item in generate_sample_library(n, seed)]
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return path
