"""Evaluating a live room's answers on a labelled question set (issue 16; run by ``bench/live_answers.py``).

The labelled set is data: rooms (room files like ``adloom/serving/samples/room_zh.yaml``) and, per room,
a question file (:class:`QuestionSet`) whose questions carry a label (answerable, must_abstain,
off_topic, purchase, comparison), the product on air when asked, the product they are about and, for
answerable ones, the knowledge-base entry or product field that answers them.

:func:`answer_room` puts each question to the room's answerer with the labelled product on air (using
``answer_detail`` when the answerer has it, else its Responder ``__call__``) and :func:`judge` scores
each answer. The judge is deterministic and reads the answer text only (plus the answer's ``kind`` when
the answerer reports one):

* **quantities** are numbers as stated: Arabic numerals anywhere, Chinese numerals and English number
  words before a unit ("三年" → 3, "six weeks" → 6), compared by value ("24.90" = "24.9", "七天" = "7天");
* **allowed facts** of a question are those of its product (the labelled product, else the one on
  air): name, brand, description, selling points, price, offer and the knowledge-base entries naming it,
  plus the room-wide entries (naming no product) and the question itself;
* **unsupported claim**: a quantity in the answer that no allowed fact states (product names are read
  out first: "PowerCube 20000" names a product, it states no quantity);
* **wrong product**: the answer names another product of the room that the question did not name, or
  states a quantity that only another product's facts state;
* **abstained**: ``kind`` is abstain/unknown, or the text carries an abstention marker (defers to a
  doctor, the label, says it will check; ``adloom/data/live_eval/judge.yaml``);
* **correct and grounded** (answerable): no unsupported claim, not the wrong product, and every key
  term is in the answer (the question's ``key`` terms, else the support's quantities, else at least half
  of the support's content terms), a key quantity matching by value. An answer that gives the fact and
  adds a caution ("contains tree nuts …; ask your doctor if unsure") is correct;
* **false abstention** (answerable): abstained without giving the key terms;
* **purchase handled**: not abstained, clean (no unsupported claim or wrong product), and it states the
  product's price or offer or a purchase word (link, cart, 下单…);
* **comparison handled**: clean, not declined (``kind`` abstain/unknown), the rival brand unnamed, no
  superlative or disparaging comparison, and it restates one of the product's own statements (shares
  a third of the content terms of a description sentence, selling point or entry of its own);
* **off-topic clean**: no unsupported claim and no wrong product.

What the judge cannot see: a false claim with no quantity and no product name in it ("孕妇可以用" on a
question labelled answerable would pass the grounding part, not the key terms). Safety questions are
covered by the abstention recall instead.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adloom.core.datafiles import load_data, load_package_data
from adloom.core.errors import AdloomError, InputError
from adloom.core.text import numbers_in
from adloom.core.types import Language, LiveRoom, Product
from adloom.serving.rooms.schema import RoomFile, load_room

__all__ = [
    "AnswerRecord",
    "Figures",
    "JUDGE_VERSION",
    "JudgeLexicon",
    "Label",
    "LabelledQuestion",
    "QuestionSet",
    "RoomFacts",
    "RoomRun",
    "Verdict",
    "answer_room",
    "judge",
    "load_question_set",
    "quantities",
    "summarise",
]


#: Bumped whenever a check changes, so figures judged differently are never compared silently. 2: product
#: names are not quantities; an answerable answer with the key terms and a caution is correct, and a false
#: abstention is one without the key terms.
JUDGE_VERSION = 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(StrEnum):
    answerable = "answerable"
    must_abstain = "must_abstain"
    off_topic = "off_topic"
    purchase = "purchase"
    comparison = "comparison"


class LabelledQuestion(_Strict):
    """One viewer question and what a good answer to it is."""

    text: str = Field(min_length=1)
    label: Label
    on_air: str = Field(min_length=1, description="Name of the product on air when the question is asked.")
    product: str | None = Field(None, description="Name of the product the question is about, if any.")
    support: str | list[str] | None = Field(None, description="Answerable: the entry or field that answers it.")
    key: list[str] = Field(default_factory=list, description="Terms a correct answer must contain (else derived).")
    rival: str | None = Field(None, description="Comparison: the other brand the viewer named.")
    language: Language

    @model_validator(mode="after")
    def _support_for_answerable(self) -> LabelledQuestion:
        if self.label == Label.answerable and not self.supports:
            raise ValueError(f"answerable question {self.text!r} needs a support (the entry or field that answers it)")
        return self

    @property
    def supports(self) -> list[str]:
        if self.support is None:
            return []
        return [self.support] if isinstance(self.support, str) else list(self.support)


class QuestionSet(_Strict):
    """A question file: the room it is for (path relative to the file) and its labelled questions."""

    room: str = Field(min_length=1)
    questions: list[LabelledQuestion] = Field(min_length=1)


class _PerLanguage(_Strict):
    zh: list[str]
    en: list[str]

    def of(self, language: Language) -> list[str]:
        return self.zh if language == Language.zh else self.en


class JudgeLexicon(_Strict):
    """Schema of ``adloom/data/live_eval/judge.yaml`` (see the comments in that file)."""

    version: int
    units: _PerLanguage
    number_words: dict[str, float]
    abstain: _PerLanguage
    purchase: _PerLanguage
    superlative: _PerLanguage
    stopwords: _PerLanguage

    @cached_property
    def _patterns(self) -> dict[tuple[str, Language], re.Pattern[str]]:
        out = {}
        for name in ("abstain", "purchase", "superlative"):
            table: _PerLanguage = getattr(self, name)
            for lang in Language:
                words = table.of(lang)
                if name == "purchase" and lang == Language.en:
                    words = [rf"\b{re.escape(w)}\b" for w in words]
                elif name == "abstain":
                    words = [re.escape(w) for w in words]
                out[(name, lang)] = re.compile("|".join(words), re.IGNORECASE)
        return out

    def matches(self, table: str, text: str) -> bool:
        """Whether ``text`` has a word of ``table`` (abstain, purchase, superlative) in either language."""
        return any(self._patterns[(table, lang)].search(text) for lang in Language)

    @cached_property
    def quantity_pattern(self) -> re.Pattern[str]:
        zh_units = "|".join(sorted(map(re.escape, self.units.zh), key=len, reverse=True))
        en_units = "|".join(sorted(map(re.escape, self.units.en), key=len, reverse=True))
        words = "|".join(sorted(map(re.escape, self.number_words), key=len, reverse=True))
        return re.compile(
            rf"(?P<zh>[零〇一二两三四五六七八九十百千万半]+)(?=(?:{zh_units}))"
            rf"|\b(?P<en>{words})(?:[\s-]+)(?={en_units}\b)",
            re.IGNORECASE,
        )

    @cached_property
    def stop(self) -> frozenset[str]:
        return frozenset(self.stopwords.zh) | frozenset(self.stopwords.en)


def lexicon() -> JudgeLexicon:
    return load_package_data(JudgeLexicon, "live_eval", "judge.yaml")


# --------------------------------------------------------------------------- reading answers

_ZH_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_ZH_SCALE = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def _zh_value(numeral: str) -> float | None:
    """The value of a Chinese numeral ("十二" → 12, "两" → 2, "半" → 0.5); None when it is not one."""
    if numeral == "半":
        return 0.5
    total, section, digit = 0, 0, None
    for ch in numeral:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
        elif ch in _ZH_SCALE:
            scale = _ZH_SCALE[ch]
            if scale == 10000:
                total += (section + (digit or 0)) * scale
                section = 0
            else:
                section += (1 if digit is None else digit) * scale
            digit = None
        else:
            return None
    return float(total + section + (digit or 0))


def _canon(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def quantities(text: str, lex: JudgeLexicon | None = None) -> set[str]:
    """The quantities ``text`` states, by value ("保质期三年" → {"3"}, "$24.90" → {"24.9"}, "six weeks" → {"6"})."""
    lex = lex or lexicon()
    out = set()
    for raw in numbers_in(text):
        try:
            out.add(_canon(float(raw)))
        except ValueError:
            continue
    for m in lex.quantity_pattern.finditer(text):
        if m.group("zh"):
            value = _zh_value(m.group("zh"))
        else:
            value = lex.number_words.get(m.group("en").lower())
        if value is not None:
            out.add(_canon(value))
    return out


_WORD = re.compile(r"[a-z0-9]+(?:[.'-][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


def terms(text: str, lex: JudgeLexicon | None = None) -> set[str]:
    """Content terms: English words (a plural s dropped) and Chinese character bigrams, function words out."""
    lex = lex or lexicon()
    low = text.lower()
    out = set()
    for w in _WORD.findall(low):
        if w in lex.stop:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    for run in _CJK_RUN.findall(low):
        chars = [c for c in run if c not in lex.stop]
        out.update(chars[i] + chars[i + 1] for i in range(len(chars) - 1))
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


# --------------------------------------------------------------------------- the room's facts


@dataclass(frozen=True)
class RoomFacts:
    """A room's facts split by product: what each product's answers may state."""

    room: LiveRoom
    per_product: list[list[str]]
    room_wide: list[str]

    @classmethod
    def of(cls, room: LiveRoom) -> RoomFacts:
        language = Language(room.language)
        per_product: list[list[str]] = []
        for p in room.products:
            fields = [p.name, p.brand, p.description, *p.selling_points, p.offer, p.price_text(language)]
            fields += sorted(p.price_numbers())
            per_product.append([f for f in fields if f])
        room_wide = []
        for line in room.knowledge_base:
            named = [i for i, p in enumerate(room.products) if p.name.lower() in line.lower()]
            for i in named:
                per_product[i].append(line)
            if not named:
                room_wide.append(line)
        return cls(room, per_product, room_wide)

    @property
    def products(self) -> list[Product]:
        return self.room.products

    def index(self, name: str) -> int:
        """The index of the product called ``name``; an unknown name is an InputError."""
        for i, p in enumerate(self.products):
            if p.name == name:
                return i
        raise InputError(
            f"no product {name!r} in room {self.room.name!r}; products are: {', '.join(p.name for p in self.products)}",
            field="product",
        )

    def all_texts(self) -> list[str]:
        return [t for texts in self.per_product for t in texts] + self.room_wide

    def allowed(self, product: int) -> list[str]:
        return self.per_product[product] + self.room_wide

    def says_something_about(self, product: int, answer: str, lex: JudgeLexicon) -> bool:
        """Whether ``answer`` restates one of the product's own statements (a description sentence, selling
        point or entry of its own; not its name, brand, price or offer): it shares at least a third of
        that statement's content terms (its name's terms aside). "可以" alone restates nothing."""
        p = self.products[product]
        skip = {p.name, p.brand, p.offer, p.price_text(Language(self.room.language)), *p.price_numbers()}
        said = terms(answer, lex)
        name = terms(p.name, lex) | terms(p.brand, lex)
        for statement in self.per_product[product]:
            if statement in skip:
                continue
            own = terms(statement, lex) - name
            if own and len(own & said) >= max(1, math.ceil(len(own) / 3)):
                return True
        return False


# --------------------------------------------------------------------------- loading the labelled set


def load_question_set(path: Path) -> tuple[RoomFile, QuestionSet]:
    """A question file and its room, checked against each other: products named, supports present, language."""
    qs = load_data(path, QuestionSet)
    room_path = (path.parent / qs.room).resolve()
    rf = load_room(room_path)
    facts = RoomFacts.of(rf.room)
    texts = [_norm(t) for t in facts.all_texts()]
    for n, q in enumerate(qs.questions):
        where = f"{path}: questions[{n}] ({q.text!r})"
        try:
            for name in (q.on_air, q.product):
                if name is not None:
                    facts.index(name)
        except InputError as exc:
            raise InputError(f"{where}: {exc}", field=f"questions[{n}]") from None
        if q.language != rf.room.language:
            raise InputError(
                f"{where}: language {q.language.value} but room {rf.room.id} answers in {rf.room.language.value}; "
                "label the language the answer must be in",
                field=f"questions[{n}].language",
            )
        for s in q.supports:
            if not any(_norm(s) in t for t in texts):
                raise InputError(
                    f"{where}: support {s!r} is no knowledge-base entry or product field of room {rf.room.id}; "
                    "copy the entry's text exactly",
                    field=f"questions[{n}].support",
                )
    return rf, qs


# --------------------------------------------------------------------------- judging one answer


@dataclass(frozen=True)
class Verdict:
    """What the judge found in one answer (see the module docstring for each check)."""

    abstained: bool
    unsupported: tuple[str, ...]  # quantities no allowed fact states
    wrong_product: tuple[str, ...]  # other products named, or quantities only they state
    missing: tuple[str, ...]  # key terms of the support the answer lacks (answerable)
    handled: bool  # the label's own criterion: correct and grounded / abstained / handled / clean
    false_abstention: bool = False  # answerable: abstained without the key terms


def _key_terms(q: LabelledQuestion, lex: JudgeLexicon) -> list[list[str]]:
    """Per support alternative, the terms a correct answer must contain (the question's ``key`` for all)."""
    if q.key:
        return [q.key]
    out = []
    for s in q.supports:
        qty = sorted(quantities(s, lex))
        out.append(qty or sorted(terms(s, lex)))
    return out


def _has(answer: str, key: str, answer_qty: set[str], lex: JudgeLexicon) -> bool:
    if _norm(key) in _norm(answer):
        return True
    qty = quantities(key, lex)
    return bool(qty) and qty <= answer_qty


def judge(
    q: LabelledQuestion, answer: str, facts: RoomFacts, *, kind: str | None = None, lex: JudgeLexicon | None = None
) -> Verdict:
    """Score one answer to the labelled question ``q`` in the room whose facts are ``facts``."""
    lex = lex or lexicon()
    product = facts.index(q.product or q.on_air)
    named_in_question = {i for i, p in enumerate(facts.products) if p.name.lower() in q.text.lower()}
    said = answer
    for p in facts.products:  # a product's name is no claim ("PowerCube 20000 Power Bank")
        said = re.sub(re.escape(p.name), " ", said, flags=re.IGNORECASE)
    answer_qty = quantities(said, lex)
    allowed_qty = set().union(*(quantities(t, lex) for t in facts.allowed(product)), quantities(q.text, lex))
    unsupported = sorted(answer_qty - allowed_qty)
    wrong = []
    for i, p in enumerate(facts.products):
        if i == product or i in named_in_question:
            continue
        if p.name.lower() in answer.lower():
            wrong.append(p.name)
        theirs = set().union(*(quantities(t, lex) for t in facts.per_product[i]))
        wrong += sorted((answer_qty & theirs) - allowed_qty)
    abstained = kind in ("abstain", "unknown") or lex.matches("abstain", answer)
    clean = not unsupported and not wrong
    missing: list[str] = []
    if q.label == Label.answerable:
        alternatives = _key_terms(q, lex)
        misses = [[k for k in keys if not _has(answer, k, answer_qty, lex)] for keys in alternatives]
        if q.key or any(quantities(s, lex) for s in q.supports):
            best = min(misses, key=len)
            ok = not best
        else:  # content terms: at least half of one alternative's
            ok = any(len(m) * 2 <= len(keys) for m, keys in zip(misses, alternatives, strict=True))
            best = min(misses, key=len)
        missing = best
        handled = ok and clean
    elif q.label == Label.must_abstain:
        handled = abstained
    elif q.label == Label.purchase:
        p = facts.products[product]
        offer = bool(p.offer) and bool(terms(p.offer, lex) & terms(answer, lex))
        price = bool(p.price_numbers() and {_canon(float(x)) for x in p.price_numbers()} & answer_qty)
        handled = clean and not abstained and (price or offer or lex.matches("purchase", answer))
    elif q.label == Label.comparison:
        rival = q.rival is not None and q.rival.lower() in answer.lower()
        about_ours = facts.says_something_about(product, answer, lex)
        declined = kind in ("abstain", "unknown")
        handled = clean and not declined and not rival and not lex.matches("superlative", answer) and about_ours
    else:
        handled = clean
    withheld = q.label == Label.answerable and abstained and bool(missing)
    return Verdict(abstained, tuple(unsupported), tuple(wrong), tuple(missing), handled, withheld)


# --------------------------------------------------------------------------- running a room


class AnswerFn(Protocol):
    def __call__(self, question: str, *, viewer: str | None, language: str, timeout_s: float) -> str: ...


@dataclass(frozen=True)
class AnswerRecord:
    """One question put to the room's answerer: what it said and how the judge scored it."""

    question: LabelledQuestion
    text: str
    kind: str | None
    latency_s: float
    verdict: Verdict
    error: str | None = None


@dataclass(frozen=True)
class RoomRun:
    """One room's answers, and the answerer's own counters (``status()``, e.g. LLM vs template answers)."""

    records: list[AnswerRecord]
    answerer_status: dict[str, Any]


def _ask(answerer: Any, q: LabelledQuestion, timeout_s: float) -> tuple[str, str | None]:
    """The answer text and kind; ``answer_detail`` (issue 16's contract) when the answerer has it."""
    detail = getattr(answerer, "answer_detail", None)
    if callable(detail):
        result = detail(q.text, viewer="viewer", language=q.language.value, timeout_s=timeout_s)
        return str(result.text), str(result.kind)
    return str(answerer(q.text, viewer="viewer", language=q.language.value, timeout_s=timeout_s)), None


def answer_room(
    rf: RoomFile,
    questions: Sequence[LabelledQuestion],
    make_answerer: Callable[[RoomFile, Callable[[], int | None]], Any],
    *,
    timeout_s: float | None = None,
    gap_s: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> RoomRun:
    """Ask every question with its labelled product on air; one answerer per room, as a running room has.

    ``make_answerer(room file, focus)`` builds the answerer; ``focus()`` returns the product on air. A
    question the answerer fails on (a typed adloom error, a timeout) is recorded with an empty answer.
    ``gap_s`` pauses between questions, as a room spaces its answers (``min_answer_gap_s``): with an LLM,
    a call that overran its budget keeps the model busy and a question asked at once gets a template."""
    facts = RoomFacts.of(rf.room)
    on_air: dict[str, int | None] = {"index": None}
    answerer = make_answerer(rf, lambda: on_air["index"])
    budget = timeout_s if timeout_s is not None else rf.preset.answer_timeout_s
    lex = lexicon()
    records = []
    status: dict[str, Any] = {}
    try:
        for n, q in enumerate(questions):
            if n and gap_s > 0:
                time.sleep(gap_s)
            on_air["index"] = facts.index(q.on_air)
            error = None
            started = time.perf_counter()
            try:
                text, kind = _ask(answerer, q, budget)
            except (AdloomError, TimeoutError) as exc:
                text, kind, error = "", "error", f"{type(exc).__name__}: {exc}"
            latency = time.perf_counter() - started
            records.append(AnswerRecord(q, text, kind, latency, judge(q, text, facts, kind=kind, lex=lex), error))
            if progress is not None:
                progress(n + 1)
        report = getattr(answerer, "status", None)
        status = dict(report()) if callable(report) else {}
    finally:
        close = getattr(answerer, "close", None)
        if callable(close):
            close()
    return RoomRun(records, status)


# --------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """The evaluation's figures over a set of answer records (rates are 0–1; None when nothing to rate)."""

    questions: int = 0
    by_label: dict[str, int] = field(default_factory=dict)
    correct_grounded: float | None = None
    wrong_product: float | None = None
    unsupported_claim: float | None = None
    abstention_recall: float | None = None
    false_abstention: float | None = None
    purchase_handled: float | None = None
    comparison_handled: float | None = None
    off_topic_clean: float | None = None
    errors: int = 0
    latency_median_ms: float | None = None
    latency_p90_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _rate(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return sum(values) / len(values) if values else None


def summarise(records: Sequence[AnswerRecord]) -> Figures:
    """The figures of ``records`` (one room or several)."""

    def of(label: Label) -> list[AnswerRecord]:
        return [r for r in records if r.question.label == label]

    answerable = of(Label.answerable)
    latencies = sorted(r.latency_s * 1000 for r in records)
    p90 = statistics.quantiles(latencies, n=10, method="inclusive")[-1] if len(latencies) > 1 else None
    return Figures(
        questions=len(records),
        by_label={label.value: len(of(label)) for label in Label},
        correct_grounded=_rate(r.verdict.handled for r in answerable),
        wrong_product=_rate(bool(r.verdict.wrong_product) for r in records),
        unsupported_claim=_rate(bool(r.verdict.unsupported) for r in records),
        abstention_recall=_rate(r.verdict.handled for r in of(Label.must_abstain)),
        false_abstention=_rate(r.verdict.false_abstention for r in answerable),
        purchase_handled=_rate(r.verdict.handled for r in of(Label.purchase)),
        comparison_handled=_rate(r.verdict.handled for r in of(Label.comparison)),
        off_topic_clean=_rate(r.verdict.handled for r in of(Label.off_topic)),
        errors=sum(1 for r in records if r.error),
        latency_median_ms=statistics.median(latencies) if latencies else None,
        latency_p90_ms=p90 if p90 is not None else (latencies[0] if latencies else None),
    )
