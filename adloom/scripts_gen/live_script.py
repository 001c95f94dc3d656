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
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from adloom.core.errors import AdloomError, BackendUnavailableError, ComplianceError, InputError
from adloom.core.paths import write_atomic
from adloom.core.text import language_share, numbers_in, upper_first
from adloom.core.types import ComplianceFinding, Industry, Language, LiveRoom, Product, Provenance, new_id
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.llm.base import LLMBackend
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
_LINE = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
#: Longest line the writer produces (characters zh / en); a line longer than this is hard to follow live.
MAX_LINE = {Language.zh: 80, Language.en: 200}


def product_id(product: Product) -> str:
    """A stable id for a product in a room (same name and brand → same id, whatever the list order)."""
    digest = hashlib.sha1(f"{product.brand}|{product.name}".encode()).hexdigest()[:8]
    return f"p_{digest}"


class LiveLine(BaseModel):
    """One line the presenter speaks. ``id`` is stable across edits and restarts (``p_1a2b3c4d/3``)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", max_length=64)]
    kind: LineKind
    text: _LINE


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


# --------------------------------------------------------------------------- phrase banks


def _first_sentence(text: str, language: Language, limit: int) -> str:
    for end in "。！？!?" if language == Language.zh else (". ", "! ", "? "):
        if end in text:
            text = text.split(end, 1)[0] + end.strip()
    text = text.strip()
    return text if len(text) <= limit else ""


_ZH_POINT = ("先说{name}的亮点：{sp}。", "再来看这一点：{sp}。", "还有，{sp}。", "另外，{sp}。")
_EN_POINT = ("Here's what stands out: {sp}.", "On top of that: {sp}.", "Plus: {sp}.", "And one more: {sp}.")


def _zh_point(i: int, sp: str, name: str) -> str:
    return _ZH_POINT[min(i, len(_ZH_POINT) - 1)].format(sp=sp.rstrip("。.!！"), name=name)


def _en_point(i: int, sp: str, name: str) -> str:
    return _EN_POINT[min(i, len(_EN_POINT) - 1)].format(sp=sp.rstrip(".!"), name=name)


def template_block(product: Product, language: Language) -> list[tuple[LineKind, str]]:
    """The template lines of one product block, in speaking order."""
    zh = language == Language.zh
    name = product.name
    brand = product.brand if product.brand and product.brand not in name else ""
    price = product.price_text(language)
    lines: list[tuple[LineKind, str]] = []
    if zh:
        lines.append(("product", f"接下来给大家介绍的是{brand}{name}。"))
        about = _first_sentence(product.description, language, 70)
        if about:
            lines.append(("product", about))
        lines += [("product", _zh_point(i, sp, name)) for i, sp in enumerate(product.selling_points)]
        if price:
            lines.append(("product", f"今天{name}在直播间{price}。"))
        if product.offer:
            lines.append(("offer", f"{product.offer.rstrip('。！!')}，数量有限，喜欢的朋友抓紧时间下单。"))
        else:
            lines.append(("offer", f"喜欢{name}的朋友，点击下方购物车就能下单。"))
        lines.append(("interaction", f"对{name}有任何问题，都可以打在评论区，我一个一个回答。"))
        lines.append(("interaction", f"想要{name}的朋友，在评论区打“想要”告诉我。"))
    else:
        lines.append(("product", f"Next up: {brand + ' ' if brand else ''}{name}."))
        about = _first_sentence(product.description, language, 180)
        if about:
            lines.append(("product", about))
        lines += [("product", _en_point(i, sp, name)) for i, sp in enumerate(product.selling_points)]
        if price:
            lines.append(("product", f"Today in this stream, {name} is {price}."))
        if product.offer:
            lines.append(("offer", f"{upper_first(product.offer.rstrip('.!'))}, while stocks last. Grab yours now."))
        else:
            lines.append(("offer", f"Like {name}? Tap the cart below to order."))
        lines.append(("interaction", f"Questions about {name}? Drop them in the comments and I'll answer each one."))
        lines.append(("interaction", f"Want {name}? Type “want” in the comments."))
    return lines


def template_opening(room_name: str, products: Sequence[Product], language: Language) -> list[str]:
    names = [p.name for p in products[:4]]
    if language == Language.zh:
        more = "等" if len(products) > len(names) else ""
        hall = room_name if room_name.endswith("直播间") else room_name + "直播间"
        return [
            f"欢迎来到{hall}！今天给大家带来{len(products)}款好物：{'、'.join(names)}{more}。",
            "有问题随时在评论区问我，我会一个一个回答。",
        ]
    picks = "pick" if len(products) == 1 else "picks"
    listed = ", ".join(names) + (" and more" if len(products) > len(names) else "")
    return [
        f"Welcome to {room_name}! Today we have {len(products)} {picks} for you: {listed}.",
        "Ask me anything in the comments and I'll answer as we go.",
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
        for i, text in enumerate(template_opening(room.name, room.products, lang)):
            clean = self._clean(text, lang, ind, f"opening/{i}", findings, notes)
            if clean:
                opening.append(LiveLine(id=f"open/{i}", kind="opening", text=clean))

        blocks = []
        for p_index, (product, pid) in enumerate(zip(room.products, ids, strict=True)):
            lines = template_block(product, lang)
            drafted = self._draft(product, lang, seed * 100 + p_index, notes)
            if drafted:
                used_llm = True
                point_slots = [
                    i for i, (k, t) in enumerate(lines) if k == "product" and self._is_point(t, product, lang)
                ]
                for slot, text in zip(point_slots, drafted, strict=False):
                    if text:
                        lines[slot] = ("product", text)
            out = []
            for j, (kind, text) in enumerate(lines):
                clean = self._clean(text, lang, ind, f"{pid}/{j}", findings, notes)
                if clean:
                    out.append(LiveLine(id=f"{pid}/{j}", kind=kind, text=clean))
            if not out:
                fallback = (
                    f"一起来看看{product.name}。" if lang == Language.zh else f"Let's take a look at {product.name}."
                )
                out.append(LiveLine(id=f"{pid}/0", kind="product", text=fallback))
            blocks.append(LiveProductBlock(product_id=pid, product_name=product.name, lines=out))

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

    @staticmethod
    def _is_point(text: str, product: Product, lang: Language) -> bool:
        core = [sp.rstrip("。.!！") for sp in product.selling_points]
        return any(c and (c in text or c.lower() in text.lower()) for c in core)

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

    def _clean(
        self,
        text: str,
        lang: Language,
        industry: Industry,
        field: str,
        findings: list[ComplianceFinding],
        notes: list[str],
    ) -> str | None:
        new, found = self.checker.rewrite(text, language=lang, industry=industry, field=field)
        findings.extend(found)
        for f in found:
            notes.append(
                f"compliance {f.rule_id} in {field}: {f.term!r} → {f.suggestion!r}"
                if f.suggestion
                else f"compliance {f.rule_id} in {field}: dropped the sentence with {f.term!r}"
            )
        return new

    def check(self, script: LiveScript, products: Sequence[Product] = ()) -> list[str]:
        """Problems in an (edited) script before a room adopts it: compliance and invented numbers.

        ``products`` are the room's products; a line in a product block may only state numbers
        from that product's data. Returns readable problems naming the line id (empty: adoptable)."""
        problems = []
        by_id = {product_id(p): p for p in products}
        for line in script.opening:
            for f in self.checker.check(line.text, language=script.language, industry=script.industry):
                problems.append(f"{line.id}: {f.term!r} breaks {f.rule_id} ({f.rule})")
        for block in script.products:
            product = by_id.get(block.product_id)
            if products and product is None:
                problems.append(
                    f"products: block {block.product_id} ({block.product_name}) is not a product of the room"
                )
            for line in block.lines:
                for f in self.checker.check(line.text, language=script.language, industry=script.industry):
                    problems.append(f"{line.id}: {f.term!r} breaks {f.rule_id} ({f.rule})")
                if product is not None:
                    invented = numbers_in(line.text) - product_numbers(product)
                    if invented:
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
