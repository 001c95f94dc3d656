"""Looping live-commerce scripts: what the presenter says, product by product, around the clock.

A :class:`LiveScript` is an opening (welcome, what is on today, "ask me anything") and one
block per product: an intro, one line per selling point, the price, an offer/urgency line and
an interaction prompt. The room's director loops it and a schedule picks which product block
comes next, so the script itself has no times in it.

Lines are written from the product data only — every number in a line must appear in the
product's own fields, so no price or figure is ever invented. The deterministic template path
writes every line from per-language phrase banks; with an LLM backend the selling-point lines
are drafted by the model (seeded with the selling point itself, as the ad-script writer does)
and each draft line is kept only if it passes the same checks a template line passes
(language, length, numbers, no echoed instructions); otherwise the template line stands.
Every line then goes through the advertising-law :class:`ComplianceChecker` (rewritten, or
dropped when it cannot be saved).

The result is meant to be adopted and edited: :func:`save_live_script` writes YAML (or JSON),
:func:`load_live_script` reads it back with errors that name the bad field, and
:meth:`LiveScriptWriter.check` re-checks an edited script before a room adopts it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from adloom.core.datafiles import load_package_data
from adloom.core.errors import AdloomError, BackendUnavailableError, ComplianceError, InputError
from adloom.core.paths import write_atomic
from adloom.core.text import language_share, numbers_in, upper_first
from adloom.core.types import (
    Brief,
    ComplianceFinding,
    Industry,
    Language,
    LiveRoom,
    Product,
    Provenance,
    ShotRole,
    new_id,
)
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.grammar import SLOTS, brief_facts, fill, phrase_slots
from adloom.scripts_gen.llm.base import LLMBackend
from adloom.scripts_gen.objectives import resolve_objective
from adloom.scripts_gen.review import Reviewer
from adloom.scripts_gen.safety import looks_like_injection, sanitize_field

__all__ = [
    "LiveLine",
    "LiveProductBlock",
    "LiveScript",
    "LiveScriptWriter",
    "load_live_script",
    "product_id",
    "product_numbers",
    "save_live_script",
]

LIVE_SCRIPT_VERSION = "1"
LineKind = Literal["opening", "product", "offer", "interaction"]
#: Paraphrase sets per line role; a product block speaks one line of each role (one ``point`` line per
#: selling point; ``offer`` and ``cart`` phrasings share the block's offer line).
LineRole = Literal["welcome", "invite", "intro", "about", "point", "price", "offer", "prompt"]
_LINE = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
#: Longest line the writer produces (characters zh / en); a line longer than this is hard to follow live.
MAX_LINE = {Language.zh: 80, Language.en: 200}


def product_id(product: Product) -> str:
    """A stable id for a product in a room (same name and brand → same id, whatever the list order)."""
    digest = hashlib.sha1(f"{product.brand}|{product.name}".encode()).hexdigest()[:8]
    return f"p_{digest}"


class LiveLine(BaseModel):
    """One line the presenter speaks. ``id`` is stable across edits and restarts (``p_1a2b3c4d/3``).

    ``text`` is the first phrasing; ``variants`` are the other reviewed phrasings of the same line, which
    the room's director rotates so a 24-hour room does not say the same words every few minutes."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", max_length=64)]
    kind: LineKind
    text: _LINE
    role: LineRole | None = None
    variants: list[_LINE] = Field(default_factory=list, max_length=100)

    def phrasings(self) -> list[str]:
        return [self.text, *self.variants]


class LiveProductBlock(BaseModel):
    """The lines about one product, in speaking order."""

    model_config = ConfigDict(extra="forbid")

    product_id: str
    product_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    lines: list[LiveLine] = Field(min_length=1, max_length=40)


class LiveScript(BaseModel):
    """A looping live script for one room. Edit the ``text`` of any line; keep the ids."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = LIVE_SCRIPT_VERSION
    id: str = Field(default_factory=lambda: new_id("lsc"))
    room_id: str | None = None
    room_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    language: Language
    industry: Industry
    opening: list[LiveLine] = Field(default_factory=list, max_length=10)
    products: list[LiveProductBlock] = Field(min_length=1, max_length=50)
    compliance: list[ComplianceFinding] = Field(default_factory=list)
    provenance: Provenance

    @model_validator(mode="after")
    def _unique_ids(self) -> LiveScript:
        seen: set[str] = set()
        for line in self.lines():
            if line.id in seen:
                raise ValueError(f"line id {line.id!r} appears twice; every line needs its own id")
            seen.add(line.id)
        return self

    def lines(self) -> list[LiveLine]:
        return [*self.opening, *(line for b in self.products for line in b.lines)]

    def block(self, pid: str) -> LiveProductBlock:
        for b in self.products:
            if b.product_id == pid:
                return b
        raise InputError(f"live script has no product {pid!r}", field="products")


def product_numbers(product: Product, *extra: str) -> set[str]:
    """Every number a line about ``product`` may state: those in its own fields (and ``extra`` text)."""
    text = " ".join([product.name, product.brand, product.description, *product.selling_points, product.offer, *extra])
    return numbers_in(text) | product.price_numbers()


# --------------------------------------------------------------------------- phrase grammar

#: Slots a live phrase may use: the ad grammar's product facts, the brand, the description's first
#: sentence ({about}), and for the opening the room's name, product count and product names.
LIVE_SLOTS = SLOTS | {"brand", "about", "Name"}
OPENING_SLOTS = frozenset({"room", "count", "names"})
#: The slot each product role's phrases must use (so a price line always states the product's price).
_REQUIRED = {"about": "about", "point": "point", "price": "price", "offer": "offer"}
#: Most phrasings kept per line (leads × phrases can be many); the director needs only enough to fill its window.
MAX_VARIANTS = 80


class OpeningPhrases(BaseModel):
    """The opening's paraphrase sets: the welcome (room, count, names) and the invitation to ask."""

    model_config = ConfigDict(extra="forbid")

    welcome: list[str] = Field(min_length=1)
    invite: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _slots(self) -> OpeningPhrases:
        for text in [*self.welcome, *self.invite]:
            unknown = phrase_slots(text) - OPENING_SLOTS
            if unknown:
                raise ValueError(
                    f"{text!r} uses {sorted(unknown)}; opening phrases may use only {sorted(OPENING_SLOTS)}"
                )
        return self


class LivePhraseFile(BaseModel):
    """Schema of ``adloom/data/live/script_<lang>.yaml``: the live script's paraphrase sets."""

    model_config = ConfigDict(extra="forbid")

    language: Language
    leads: list[str] = Field(default_factory=lambda: [""], description="Spoken openers; '' = none.")
    opening: OpeningPhrases
    intro: list[str] = Field(min_length=1)
    about: list[str] = Field(min_length=1)
    point: list[str] = Field(min_length=1)
    price: list[str] = Field(min_length=1)
    offer: list[str] = Field(min_length=1)
    cart: list[str] = Field(min_length=1)
    prompt: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _slots(self) -> LivePhraseFile:
        for lead in self.leads:
            if phrase_slots(lead):
                raise ValueError(f"lead {lead!r} uses a slot; leads are fixed openers without facts")
        for role in ("intro", "about", "point", "price", "offer", "cart", "prompt"):
            for text in getattr(self, role):
                unknown = phrase_slots(text) - LIVE_SLOTS
                if unknown:
                    raise ValueError(
                        f"{role}: {text!r} uses unknown slot(s) {sorted(unknown)}; use {sorted(LIVE_SLOTS)}"
                    )
                need = _REQUIRED.get(role)
                if need and not {need, need.capitalize()} & phrase_slots(text):
                    raise ValueError(f"{role}: {text!r} must use {{{need}}} (the fact this line states)")
        return self


def load_live_phrases(language: Language | str) -> LivePhraseFile:
    """The shipped live-script phrase grammar of ``language``, validated (errors name file, key and line)."""
    return load_package_data(LivePhraseFile, "live", f"script_{Language(language).value}.yaml")


def _first_sentence(text: str, language: Language, limit: int) -> str:
    for end in "。！？!?" if language == Language.zh else (". ", "! ", "? "):
        if end in text:
            text = text.split(end, 1)[0] + end.strip()
    text = text.strip()
    return text if len(text) <= limit else ""


def _expand(phrases: Sequence[str], leads: Sequence[str], slots: Mapping[str, str], language: Language) -> list[str]:
    """Every phrase filled from ``slots`` (those a missing fact leaves unfillable dropped), each with every
    lead, bare phrasings first; duplicates removed."""
    bodies = [" ".join(t.split()) for p in phrases if (t := fill(p, slots))]
    joiner = "" if language == Language.zh else " "
    out = [f"{lead}{joiner}{body}" if lead else body for lead in leads for body in bodies]
    return list(dict.fromkeys(out))


def product_slots(product: Product, language: Language, industry: Industry) -> dict[str, str]:
    """The facts a live line about ``product`` may state, as grammar slots (absent when the product lacks one).

    Reuses the ad grammar's facts (category noun with its measure word or article, price as
    :meth:`Product.price_text` says it, offer and selling points verbatim) and adds the brand
    (empty when the name already carries it) and the description's first sentence."""
    brief = Brief(product=product, industry=industry, language=language)
    facts = brief_facts(brief, objective=resolve_objective(brief), points=product.selling_points)
    slots = facts.slots()
    slots["brand"] = product.brand if product.brand and product.brand not in product.name else ""
    about = _first_sentence(product.description, language, MAX_LINE[language] - 10)
    if about:
        slots["about"] = about
    return slots


@dataclass(frozen=True)
class LineDraft:
    """One line of a product block before review: its kind, role and every candidate phrasing."""

    kind: LineKind
    role: LineRole
    phrasings: list[str]


def template_block(product: Product, language: Language, industry: Industry | str = Industry.home) -> list[LineDraft]:
    """The lines of one product block in speaking order, each with its paraphrase set (unreviewed).

    A role whose fact the product lacks is left out: no price → no price line; no offer → the offer
    line only points to the cart; no description → no ``about`` line."""
    lang, ind = Language(language), Industry(industry)
    grammar = load_live_phrases(lang)
    base = product_slots(product, lang, ind)

    def phrasings(phrases: Sequence[str], **extra: str) -> list[str]:
        return _expand(phrases, grammar.leads, {**base, **extra}, lang)

    lines = [LineDraft("product", "intro", phrasings(grammar.intro))]
    if "about" in base:
        lines.append(LineDraft("product", "about", phrasings(grammar.about)))
    for sp in product.selling_points:
        point = sp.strip().rstrip("。.!！；;，,")
        lines.append(LineDraft("product", "point", phrasings(grammar.point, point=point, Point=upper_first(point))))
    if "price" in base:
        lines.append(LineDraft("product", "price", phrasings(grammar.price)))
    offers = phrasings(grammar.offer) if "offer" in base else []
    lines.append(LineDraft("offer", "offer", offers + phrasings(grammar.cart)))
    lines.append(LineDraft("interaction", "prompt", phrasings(grammar.prompt)))
    return [line for line in lines if line.phrasings]


def template_opening(room_name: str, products: Sequence[Product], language: Language) -> list[LineDraft]:
    """The opening's two lines (welcome, invitation to ask), each with its paraphrase set."""
    lang = Language(language)
    grammar = load_live_phrases(lang)
    names = [p.name for p in products[:4]]
    if lang == Language.zh:
        hall = room_name if room_name.endswith("直播间") else room_name + "直播间"
        listed = "、".join(names) + ("等" if len(products) > len(names) else "")
    else:
        hall = room_name
        listed = ", ".join(names) + (" and more" if len(products) > len(names) else "")
    slots = {"room": hall, "count": str(len(products)), "names": listed}
    welcome = _expand(grammar.opening.welcome, grammar.leads, slots, lang)
    if lang == Language.en and len(products) == 1:
        welcome = [t.replace("1 picks", "1 pick") for t in welcome]
    return [
        LineDraft("opening", "welcome", welcome),
        LineDraft("opening", "invite", _expand(grammar.opening.invite, grammar.leads, {}, lang)),
    ]


# --------------------------------------------------------------------------- LLM drafting

_FEW_SHOT = {
    Language.zh: (
        "产品: 轻薄羽绒服\n卖点: 90%白鸭绒; 只有300克\n"
        '### 台词\n{"lines": ["90%白鸭绒，穿上就暖和，冬天出门不用裹好几层。", '
        '"只有300克，轻到几乎感觉不到，通勤逛街都方便。"]}'
    ),
    Language.en: (
        "Product: Trail Flask\nSelling points: keeps drinks cold for 24 hours; fits every cup holder\n"
        '### Lines\n{"lines": ["Keeps drinks cold for 24 hours, so your water is still icy after a long hike.", '
        '"Fits every cup holder, from your car to your bike frame."]}'
    ),
}


def _draft_prompt(product: Product, language: Language) -> str:
    zh = language == Language.zh
    name, _ = sanitize_field(product.name, max_chars=80)
    points = "; ".join(sanitize_field(sp, max_chars=80)[0] for sp in product.selling_points)
    header = (
        "直播带货台词，每个卖点一句，口语化，只用产品资料里的事实，不编数字。\n\n"
        if zh
        else "Live-stream selling lines, one per selling point, spoken style, only facts from the product data.\n\n"
    )
    block = (
        f"产品: {name}\n卖点: {points}\n### 台词\n" if zh else f"Product: {name}\nSelling points: {points}\n### Lines\n"
    )
    return header + _FEW_SHOT[language] + "\n\n" + block


def _draft_schema(product: Product, language: Language) -> dict[str, Any]:
    limit = 40 if language == Language.zh else 100
    items = []
    for sp in product.selling_points:
        prefix = sp.rstrip("。.!！") if language == Language.zh else upper_first(sp.rstrip(".!"))
        items.append({"type": "string", "minLength": 2, "maxLength": max(limit, len(prefix) + 12), "x-prefix": prefix})
    return {
        "type": "object",
        "properties": {
            "lines": {
                "type": "array",
                "prefixItems": items,
                "minItems": len(items),
                "maxItems": len(items),
                "items": False,
            }
        },
        "required": ["lines"],
        "additionalProperties": False,
    }


def line_problems(text: str, product: Product, language: Language, *, allowed_extra: str = "") -> list[str]:
    """Why a drafted line may not be spoken (empty list: it may)."""
    language = Language(language)
    problems = []
    if not text.strip():
        return ["empty"]
    if len(text) > MAX_LINE[language]:
        problems.append(f"{len(text)} characters, over {MAX_LINE[language]}")
    if language_share(text, language) < 0.75:
        problems.append(f"not in {language.value}")
    invented = numbers_in(text) - product_numbers(product, allowed_extra)
    if invented:
        problems.append(f"numbers not in the product data: {', '.join(sorted(invented))}")
    if looks_like_injection(text):
        problems.append("echoes an instruction")
    if "{" in text or "}" in text or "###" in text:
        problems.append("prompt syntax in the line")
    return problems


#: Words a spoken elaboration may add without stating a product fact (connectives, how it feels to use).
_GENERIC = {
    Language.zh: (
        "使用 用起来 方便 日常 每天 轻松 舒服 舒适 适合 感觉 朋友 大家 真的 非常 特别 一下 就能 可以 不用 随时 "
        "简单 安心 放心 喜欢 一起 我们 这款 这个 马上 直接 很多 更加 而且 还有 所以 平时 省心 好用 感受"
    ),
    Language.en: (
        "so you can your use using every day daily easy easily simply great feel need want keep just even more "
        "really very this it that one all time without any way home life make makes lets help helps enjoy while "
        "relax worry free busy save saves hassle around anywhere everywhere"
    ),
}


def elaboration_problems(text: str, prefix: str, product: Product, language: Language | str) -> list[str]:
    """Why the words a model added after a selling point are not acceptable (empty: they are).

    A 270M model, asked to elaborate, copies its few-shot example ("so your water is still icy
    after a long hike") or invents uses and claims ("可以用来洗澡"). What it adds may only be
    connective, generic words or words from the product's own data; anything else is treated as an
    unsupported claim and the template line is used instead."""
    from adloom.scripts_gen.live_answer import tokens  # the answerer's tokenizer (imports this module)

    lang = Language(language)
    added = text[len(prefix) :] if text.lower().startswith(prefix.lower()) else text
    new = tokens(added, unigrams=False) if lang == Language.zh else tokens(added)
    if not new:
        return []
    data = " ".join([product.name, product.brand, product.description, *product.selling_points, product.offer])
    support = set(tokens(data, unigrams=False)) | set(tokens(data)) | set(tokens(_GENERIC[lang], unigrams=False))
    support |= set(tokens(_GENERIC[lang]))
    example = set(tokens(_FEW_SHOT[lang])) - support
    copied = sorted({t for t in new if t in example})
    problems = [f"copies the prompt's example ({', '.join(copied[:4])})"] if copied else []
    others = [
        sp.rstrip("。.!！").lower() for sp in product.selling_points if sp.rstrip("。.!！").lower() != prefix.lower()
    ]
    if any(o and o in added.lower() for o in others):
        problems.append("repeats another selling point")
    unsupported = [t for t in new if t not in support]
    if len(unsupported) > 0.4 * len(new):
        problems.append(f"adds words the product data does not support ({', '.join(unsupported[:4])})")
    return problems


# --------------------------------------------------------------------------- the writer


class LiveScriptWriter:
    """Writes a :class:`LiveScript` for a room's products; ``backend=None`` is the template path."""

    def __init__(
        self,
        backend: LLMBackend | None = None,
        *,
        checker: ComplianceChecker | None = None,
        max_tokens: int = 160,
    ) -> None:
        self.backend = backend
        self.checker = checker or ComplianceChecker()
        self.max_tokens = max_tokens

    def write(self, room: LiveRoom, *, industry: Industry | str, seed: int = 0) -> LiveScript:
        started = time.perf_counter()
        lang = Language(room.language)
        ind = Industry(industry)
        notes: list[str] = []
        findings: list[ComplianceFinding] = []
        used_llm = False

        ids = [product_id(p) for p in room.products]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            names = [p.name for p, i in zip(room.products, ids, strict=True) if i in dup]
            raise InputError(f"room {room.name!r} lists the same product twice: {', '.join(names)}", field="products")

        opening = []
        room_reviewer = self._room_reviewer(room, ind)
        for i, draft in enumerate(template_opening(room.name, room.products, lang)):
            line = self._reviewed(draft, f"open/{i}", room_reviewer, lang, ind, findings, notes)
            if line is not None:
                opening.append(line)

        blocks = []
        for p_index, (product, pid) in enumerate(zip(room.products, ids, strict=True)):
            drafts = template_block(product, lang, ind)
            drafted = self._draft(product, lang, seed * 100 + p_index, notes)
            if drafted:
                used_llm = True
                points = [d for d in drafts if d.role == "point"]
                for draft, text in zip(points, drafted, strict=False):
                    if text:  # the model's rephrasing leads the set; the template phrasings stay as variants
                        draft.phrasings.insert(0, text)
            reviewer = self.reviewer(product, lang, ind)
            out = []
            for j, draft in enumerate(drafts):
                line = self._reviewed(draft, f"{pid}/{j}", reviewer, lang, ind, findings, notes)
                if line is not None:
                    out.append(line)
            if not out:
                fallback = (
                    f"一起来看看{product.name}。" if lang == Language.zh else f"Let's take a look at {product.name}."
                )
                out.append(LiveLine(id=f"{pid}/0", kind="product", text=fallback))
            blocks.append(LiveProductBlock(product_id=pid, product_name=product.name, lines=out))
        findings = list({(f.field, f.rule_id, f.term): f for f in findings}.values())
        notes = list(dict.fromkeys(notes))

        provenance = Provenance(
            path="llm" if used_llm else "template",
            backend=self.backend.name if self.backend else "",
            model=self.backend.model if self.backend else "",
            attempts=len(room.products) if self.backend else 0,
            seed=seed,
            elapsed_s=round(time.perf_counter() - started, 3),
            notes=notes,
        )
        return LiveScript(
            room_id=room.id,
            room_name=room.name,
            language=lang,
            industry=ind,
            opening=opening,
            products=blocks,
            compliance=findings,
            provenance=provenance,
        )

    def reviewer(self, product: Product, language: Language | str, industry: Industry | str) -> Reviewer:
        """The copy reviewer for lines about ``product``: its facts are all a line may claim."""
        brief = Brief(product=product, industry=Industry(industry), language=Language(language))
        return Reviewer(brief, checker=self.checker)

    def _room_reviewer(self, room: LiveRoom, industry: Industry) -> Reviewer:
        """The reviewer for the opening, whose facts are the room's name, how many products it has, and their
        names and brands."""
        names = [p.name for p in room.products]
        brands = [p.brand for p in room.products if p.brand]
        zh = Language(room.language) == Language.zh
        count = f"{len(names)}款" if zh else f"{len(names)} picks"
        about = ("、" if zh else ", ").join([count, *names, *brands])[:2000]
        facts = Product(name=room.name, description=about, selling_points=names[:8])
        return self.reviewer(facts, room.language, industry)

    def review_script(self, script: LiveScript, room: LiveRoom) -> list[str]:
        """Every phrasing of ``script`` (variants included) that the copy reviewer would not let through,
        as readable problems naming the line id (empty: every phrasing is clean)."""
        ind = Industry(script.industry)
        by_id = {product_id(p): p for p in room.products}
        checks = [(self._room_reviewer(room, ind), script.opening)]
        checks += [(self.reviewer(by_id[b.product_id], script.language, ind), b.lines) for b in script.products]
        problems = []
        for reviewer, lines in checks:
            for line in lines:
                role = ShotRole.offer if line.kind == "offer" else None
                for text in line.phrasings():
                    for f in reviewer.review_line(text, field=line.id, role=role):
                        problems.append(f"{line.id}: {f.rule} {f.span!r} in {text!r} ({f.why})")
        return problems

    def _reviewed(
        self,
        draft: LineDraft,
        line_id: str,
        reviewer: Reviewer,
        lang: Language,
        industry: Industry,
        findings: list[ComplianceFinding],
        notes: list[str],
    ) -> LiveLine | None:
        """The line with the phrasings of ``draft`` that pass the copy reviewer (grounding, repetition,
        language, compliance, CTA fit …); None when none does. Rejections are noted, compliance findings kept."""
        role = ShotRole.offer if draft.kind == "offer" else None
        kept: list[str] = []
        rejected: list[str] = []
        for text in draft.phrasings:
            found = self.checker.check(text, language=lang, industry=industry, field=line_id)
            findings.extend(found)
            notes.extend(f"compliance {f.rule_id} in {line_id}: dropped the phrasing with {f.term!r}" for f in found)
            problems = reviewer.review_line(text, field=line_id, role=role)
            if found or problems:
                why = problems[0].rule if problems else found[0].rule_id
                rejected.append(f"{why} {problems[0].span if problems else found[0].term!r}")
            elif text not in kept:
                kept.append(text)
        if rejected:
            notes.append(f"{line_id}: {len(rejected)} of {len(draft.phrasings)} phrasings rejected ({rejected[0]})")
        if not kept:
            notes.append(f"{line_id}: no clean phrasing of the {draft.role} line; left out")
            return None
        kept = kept[:MAX_VARIANTS]
        return LiveLine(id=line_id, kind=draft.kind, role=draft.role, text=kept[0], variants=kept[1:])

    def _draft(self, product: Product, lang: Language, seed: int, notes: list[str]) -> list[str]:
        """LLM lines for the selling points ("" where a draft line was rejected); [] without a backend."""
        if self.backend is None:
            return []
        try:
            raw = self.backend.generate_json(
                _draft_prompt(product, lang),
                _draft_schema(product, lang),
                max_tokens=self.max_tokens,
                temperature=0.5,
                seed=seed,
                stop=["\n###", "\n\n"],
            )
            data = json.loads(raw)
            lines = data["lines"] if isinstance(data, dict) else None
            if not isinstance(lines, list):
                raise ValueError("no 'lines' list")
        except BackendUnavailableError:
            raise
        except (AdloomError, ValueError, KeyError, TypeError) as exc:
            notes.append(f"{product.name}: LLM draft unusable ({type(exc).__name__}: {str(exc)[:120]}); template lines")
            return []
        out = []
        for i, text in enumerate(lines[: len(product.selling_points)]):
            text = str(text).strip()
            if text and text[-1] not in "。！？.!?":
                text += "。" if lang == Language.zh else "."
            problems = line_problems(text, product, lang)
            sp = product.selling_points[i].rstrip("。.!！")
            if len(text.rstrip("。.!！")) <= len(sp) + 1:
                problems.append("adds nothing to the selling point")
            problems += elaboration_problems(text, sp, product, lang)
            if problems:
                notes.append(f"{product.name}: drafted line {i} rejected ({'; '.join(problems)}): {text[:60]!r}")
                out.append("")
            else:
                out.append(text)
        return out

    def check(self, script: LiveScript, products: Sequence[Product] = ()) -> list[str]:
        """Problems in an (edited) script before a room adopts it: compliance and invented numbers.

        ``products`` are the room's products; a line in a product block may only state numbers
        from that product's data. Returns readable problems naming the line id (empty: adoptable)."""
        problems = []
        by_id = {product_id(p): p for p in products}
        for line in script.opening:
            for text in line.phrasings():
                for f in self.checker.check(text, language=script.language, industry=script.industry):
                    problems.append(f"{line.id}: {f.term!r} breaks {f.rule_id} ({f.rule})")
        for block in script.products:
            product = by_id.get(block.product_id)
            if products and product is None:
                problems.append(
                    f"products: block {block.product_id} ({block.product_name}) is not a product of the room"
                )
            for line in block.lines:
                for text in line.phrasings():
                    for f in self.checker.check(text, language=script.language, industry=script.industry):
                        problems.append(f"{line.id}: {f.term!r} breaks {f.rule_id} ({f.rule})")
                    invented = numbers_in(text) - product_numbers(product) if product is not None else set()
                    if invented:
                        assert product is not None
                        problems.append(
                            f"{line.id}: numbers {', '.join(sorted(invented))} are not in the data of {product.name}"
                        )
        return problems

    def adopt(self, script: LiveScript, products: Sequence[Product]) -> LiveScript:
        """Return ``script`` if it may be spoken in a room selling ``products``; raise naming each bad line."""
        problems = self.check(script, products)
        if problems:
            raise ComplianceError("live script cannot be adopted:\n" + "\n".join(problems[:20]))
        return script


# --------------------------------------------------------------------------- files


def save_live_script(script: LiveScript, path: Path) -> Path:
    """Write the script as YAML (``.yaml``/``.yml``) or JSON (anything else), atomically."""
    data = script.model_dump(mode="json")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    else:
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return write_atomic(path, text)


def load_live_script(path: Path) -> LiveScript:
    """Read a (possibly hand-edited) live script; errors name the file and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read live script {path}: {exc.strerror or exc}", field="script") from exc
    except UnicodeDecodeError:
        raise InputError(f"live script {path} is not UTF-8 text; save it as UTF-8", field="script") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"live script {path} is not valid YAML/JSON: {exc}", field="script") from None
    if not isinstance(data, dict):
        raise InputError(f"live script {path}: expected a mapping with opening/products, got {type(data).__name__}")
    try:
        return LiveScript.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        first = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise InputError(f"live script {path} is invalid:\n" + "\n".join(lines), field=first or "script") from None
