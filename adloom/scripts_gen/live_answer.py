"""Answers to live-room viewers, grounded in the room's product knowledge base.

:class:`LiveAnswerer` is what ``serving`` hands a live room as its
:class:`~adloom.core.protocols.Responder`. For each question it

1. retrieves the relevant facts from the room (each product's name, description sentences,
   selling points, price and offer, plus the room's ``knowledge_base`` lines) with BM25 over
   Chinese character uni/bigrams and English words — a few hundred facts need no vector index —
   optionally blended with an :class:`~adloom.core.protocols.Embedder`'s cosine similarity;
2. asks the LLM (few-shot, facts quoted as data, short) for a one- or two-sentence answer, under
   the caller's time budget;
3. keeps the LLM answer only if it is grounded: every number in it appears in the facts, most of
   its words appear in the facts or the question, it is in the room's language and short, and it
   echoes no instruction; otherwise (or when the model is slow or busy) it answers from the best
   fact with a template;
4. passes the answer through the compliance checker (rewritten, or ``ComplianceError``).

A question the facts do not cover gets an honest "I'll check" answer instead of a guess.

Issue 16 adds, before retrieval, the question's kind: a safety, health, legal or money question
(``adloom/data/live/abstain.yaml``, per industry) gets an honest reply unless the knowledge base of
the product asked about answers it explicitly; a comparison with other brands gets our product's own
selling points; a purchase question gets the price and offer. Retrieval only looks at the facts of the
product asked about (named by the viewer, else the one on air) and the room-wide entries, and an
intent table (``adloom/data/live/answers.yaml``) bridges paraphrases ("发货要多久" ↔ "付款后48小时内
发货", "shelf life" ↔ "保质期"). Every answer then passes the copy reviewer
(:class:`~adloom.scripts_gen.review.Reviewer`, grounding and compliance against that product's facts)
before it is returned; :meth:`LiveAnswerer.answer_detail` says what was answered, from which facts.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from string import Formatter
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adloom.core.datafiles import load_package_data
from adloom.core.errors import ComplianceError, InputError
from adloom.core.protocols import Embedder
from adloom.core.text import cjk_count, language_share, numbers_in, split_sentences, upper_first
from adloom.core.types import Brief, Industry, Language, LiveRoom, Product
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.live_script import product_id
from adloom.scripts_gen.llm.base import LLMBackend
from adloom.scripts_gen.review import Finding, Reviewer, Rule
from adloom.scripts_gen.safety import looks_like_injection, sanitize_field

__all__ = [
    "AbstainFile",
    "AnswerKind",
    "AnswerResult",
    "AnswersFile",
    "Fact",
    "KnowledgeBase",
    "LiveAnswerer",
    "Retrieved",
    "tokens",
]

_EN_STOP = frozenset(
    "a an the and or but of to with for in on at by from is are was were be it its this that these those i you "
    "your my we our do does did can could will would should how what which who when where why much many any some "
    "there have has had not no yes so if as about into than then just also very please me us".split()
)
_ZH_STOP = frozenset("的了吗呢吧啊呀哦嘛是在有和与就都也还很这那个我你他她它们么什怎样请问")
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


_ZH_STOP_BIGRAMS = frozenset("今天 现在 一下 这个 那个 这款 那款 什么 怎么 可以 主播 请问 一个 知道 大家".split())


def tokens(text: str, *, unigrams: bool = True) -> list[str]:
    """Index terms of zh/en text: English words (plural s stripped, stop words dropped), CJK bigrams
    (and, with ``unigrams``, single characters), skipping function words."""
    low = text.lower()
    out = []
    for w in _WORD.findall(low):
        if w in _EN_STOP:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    for run in _CJK_RUN.findall(low):
        if unigrams:
            out += [c for c in run if c not in _ZH_STOP]
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if pair not in _ZH_STOP_BIGRAMS and not (pair[0] in _ZH_STOP or pair[1] in _ZH_STOP):
                out.append(pair)
    return out


def _name_keys(products: Sequence[Product]) -> list[set[str]]:
    """Per product, the name terms no other product's name shares ("面霜" names 保湿面霜 beside 保湿精华)."""
    terms = [
        set(tokens(p.name, unigrams=False))
        | {p.name.lower()}
        | ({p.name[-3:]} if cjk_count(p.name[-3:]) == 3 else set())
        for p in products
    ]
    return [t - set().union(*(o for j, o in enumerate(terms) if j != i)) for i, t in enumerate(terms)]


def _overlap(a: str, b: str) -> bool:
    """Whether two facts share a phrase (three CJK characters or two English words): said together
    they would repeat it ("含透明质酸和积雪草提取物" then "含透明质酸，补水保湿")."""
    grams = {a[i : i + 3] for i in range(len(a) - 2) if cjk_count(a[i : i + 3]) == 3}
    words = _WORD.findall(a.lower())
    pairs = {f"{x} {y}" for x, y in zip(words, words[1:], strict=False) if x not in _EN_STOP or y not in _EN_STOP}
    low = " ".join(_WORD.findall(b.lower()))
    return any(g in b for g in grams) or any(f" {p} " in f" {low} " for p in pairs)


def _strong_key(key: str, name: str) -> bool:
    """Whether a unique name term names its product on its own: the full name, an English word, or
    the last two or three characters of a Chinese name (where the product type sits: 面霜, 洁面乳)."""
    low = name.lower()
    return key == low or not cjk_count(key) or (low.endswith(key) and len(key) >= 2)


def _name_patterns(products: Sequence[Product], name_keys: Sequence[set[str]]) -> list[re.Pattern[str] | None]:
    """Per product, one pattern for its full name and name terms: Chinese anywhere, English as whole
    words ("air" is not in "airpods")."""
    out: list[re.Pattern[str] | None] = []
    for p, keys in zip(products, name_keys, strict=True):
        terms = sorted({t for t in (p.name.lower(), *keys) if t}, key=len, reverse=True)
        parts = [re.escape(t) if cjk_count(t) else rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])" for t in terms]
        out.append(re.compile("|".join(parts)) if parts else None)
    return out


def _named(text: str, patterns: Sequence[re.Pattern[str] | None]) -> list[int]:
    """Indexes of the products whose name pattern ``text`` contains, earliest mention first."""
    low = text.lower()
    found = [(m.start(), i) for i, pat in enumerate(patterns) if pat is not None and (m := pat.search(low))]
    return [i for _, i in sorted(found)]


def _first_named(line: str, patterns: Sequence[re.Pattern[str] | None]) -> int | None:
    """The product a knowledge-base line is about: the first one it names (None: room-wide)."""
    named = _named(line, patterns)
    return named[0] if named else None


# --------------------------------------------------------------------------- data files

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Terms(BaseModel):
    """Trigger or evidence terms per language: zh as substrings, en at the start of a word."""

    model_config = _STRICT

    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)

    def pattern(self) -> re.Pattern[str] | None:
        """One case-insensitive pattern matching any of the terms (None when there are none)."""
        parts = [re.escape(t) for t in self.zh] + [rf"\b{re.escape(t)}" for t in self.en]
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None


class RegexTerms(Terms):
    """Terms that are regular expressions (checked to compile), for both languages alike."""

    @field_validator("zh", "en")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for expr in v:
            try:
                re.compile(expr)
            except re.error as exc:
                raise ValueError(f"{expr!r} is not a valid regular expression ({exc}); fix or escape it") from exc
        return v

    def pattern(self) -> re.Pattern[str] | None:
        parts = [*self.zh, *self.en]
        return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE) if parts else None


class Bilingual(BaseModel):
    """A template in zh and en; slots are ``{name}`` fields checked against the allowed ones."""

    model_config = _STRICT

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def text(self, language: Language) -> str:
        return self.zh if language == Language.zh else self.en

    def slots(self) -> set[str]:
        return {f for t in (self.zh, self.en) for _, f, _, _ in Formatter().parse(t) if f}


def _check_slots(template: Bilingual, allowed: set[str], where: str) -> None:
    extra = template.slots() - allowed
    if extra:
        raise ValueError(f"{where}: unknown slot(s) {sorted(extra)}; use only {sorted(allowed)}")


class AbstainTopic(BaseModel):
    """A must-abstain topic: its triggers and the honest reply (slots ``{product}``, ``{facts}``)."""

    model_config = _STRICT

    topic: str = Field(min_length=1)
    triggers: Terms
    reply: Bilingual

    @model_validator(mode="after")
    def _slots(self) -> AbstainTopic:
        _check_slots(self.reply, {"product", "facts"}, f"topic {self.topic!r} reply")
        return self


class AbstainFile(BaseModel):
    """``adloom/data/live/abstain.yaml``: topics the room must not answer from thin air, per industry."""

    model_config = _STRICT

    context_terms: Terms
    facts_intro: Bilingual
    no_product: Bilingual
    industries: dict[str, list[AbstainTopic]]

    @field_validator("industries")
    @classmethod
    def _known(cls, v: dict[str, list[AbstainTopic]]) -> dict[str, list[AbstainTopic]]:
        allowed = {"all", *(i.value for i in Industry)}
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise ValueError(f"unknown industries {unknown}; use 'all' or one of {sorted(allowed - {'all'})}")
        return v

    @model_validator(mode="after")
    def _intro_slot(self) -> AbstainFile:
        _check_slots(self.facts_intro, {"fact"}, "facts_intro")
        return self

    def topics(self, industry: Industry) -> list[AbstainTopic]:
        """The topics in force for ``industry``: the industry's own, then those for all rooms that it
        does not redefine (beauty's allergy reply suggests a patch test; food's does not)."""
        own = self.industries.get(industry.value, [])
        names = {t.topic for t in own}
        return [*own, *(t for t in self.industries.get("all", []) if t.topic not in names)]


class Intent(BaseModel):
    """What a question asks for (triggers) and the words a fact that answers it contains (evidence)."""

    model_config = _STRICT

    name: str = Field(min_length=1)
    triggers: Terms
    evidence: Terms


class Templates(BaseModel):
    model_config = _STRICT

    unknown: Bilingual
    unknown_product: Bilingual
    comparison: Bilingual
    comparison_ours: Bilingual
    purchase: Bilingual
    offer_join: Bilingual
    no_price: Bilingual

    @model_validator(mode="after")
    def _slots(self) -> Templates:
        allowed = {"product", "points", "price", "offer"}
        for name in type(self).model_fields:
            _check_slots(getattr(self, name), allowed, f"templates.{name}")
        return self


class AnswersFile(BaseModel):
    """``adloom/data/live/answers.yaml``: intents, comparison and purchase triggers, reply templates."""

    model_config = _STRICT

    blocking_rules: list[Rule] = Field(min_length=1)
    intents: list[Intent]
    comparison: RegexTerms
    purchase: RegexTerms
    describe: Terms
    brand: Terms
    off_topic: Terms
    templates: Templates


def abstain_topics() -> AbstainFile:
    """The shipped must-abstain topics (validated once per process)."""
    return load_package_data(AbstainFile, "live", "abstain.yaml")


def answer_rules() -> AnswersFile:
    """The shipped intents, triggers and templates (validated once per process)."""
    return load_package_data(AnswersFile, "live", "answers.yaml")


@dataclass(frozen=True, slots=True)
class Fact:
    """One retrievable statement. ``product`` is the index of the product it is about (None: the room)."""

    text: str
    product: int | None
    kind: str  # "name", "about", "point", "price", "offer", "kb"


@dataclass(frozen=True, slots=True)
class Retrieved:
    fact: Fact
    score: float


def _price_phrase(p: Product, language: Language) -> str:
    if p.price is None:
        return ""
    return f"{p.name}{p.price_text(language)}" if language == Language.zh else f"{p.name} is {p.price_text(language)}"


_PRICE_WORDS = re.compile(r"多少钱|价格|价钱|几块钱|\bprice|\bcost\b|贵|便宜|\bcheap|\bexpensive", re.IGNORECASE)


class KnowledgeBase:
    """BM25 over a room's facts, optionally blended with embedding similarity."""

    def __init__(self, room: LiveRoom, *, embedder: Embedder | None = None, k1: float = 1.2, b: float = 0.75) -> None:
        self.room = room
        self.language = Language(room.language)
        self._name_keys = _name_keys(room.products)
        self._name_terms = {t for p in room.products for t in (*tokens(p.name, unigrams=False), *tokens(p.brand))}
        self._all_patterns = _name_patterns(room.products, self._name_keys)
        pairs = zip(self._name_keys, room.products, strict=True)
        strong = [{k for k in keys if _strong_key(k, p.name)} for keys, p in pairs]
        self._strong_patterns = _name_patterns(room.products, strong)
        self.facts = self._facts(room, self._all_patterns)
        names = sorted({n for p in room.products for n in (p.name, p.brand) if n}, key=len, reverse=True)
        self._names = re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE) if names else None
        self._unnamed: dict[str, str] = {}
        self.k1, self.b = k1, b
        self._docs = [Counter(tokens(self._indexed(f))) for f in self.facts]
        lengths = [sum(d.values()) for d in self._docs]
        self._avg = (sum(lengths) / len(lengths)) if lengths else 1.0
        self._len = lengths
        df: Counter[str] = Counter()
        for d in self._docs:
            df.update(d.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.embedder = embedder
        self._vectors = embedder.embed_passages([f.text for f in self.facts]) if embedder and self.facts else None

    def _indexed(self, f: Fact) -> str:
        """The text a fact is found by: its own words plus its product's name (so "它" questions still match)."""
        name = self.room.products[f.product].name if f.product is not None else ""
        return f"{f.text} {name}"

    @staticmethod
    def _facts(room: LiveRoom, name_patterns: Sequence[re.Pattern[str] | None]) -> list[Fact]:
        lang = Language(room.language)
        facts: list[Fact] = []
        for i, p in enumerate(room.products):
            facts.append(
                Fact(f"{p.brand}{p.name}" if lang == Language.zh else f"{p.brand} {p.name}".strip(), i, "name")
            )
            for s in split_sentences(p.description):
                facts.append(Fact(s, i, "about"))
            facts += [Fact(sp, i, "point") for sp in p.selling_points]
            price = _price_phrase(p, lang)
            if price:
                facts.append(Fact(price, i, "price"))
            if p.offer:
                facts.append(Fact(p.offer, i, "offer"))
        for line in room.knowledge_base:
            if line.strip():
                facts.append(Fact(line.strip(), _first_named(line, name_patterns), "kb"))
        return facts

    def named(self, question: str, *, on_air: bool = False) -> list[int]:
        """The room products ``question`` names, in order: by full name, an English name word no other
        product has, or a unique Chinese name ending ("面霜", "洁面乳"). A unique bigram from inside a
        Chinese name ("坚果" of 坚果燕麦脆) is also an everyday word: "有坚果吗" asked while the
        strawberries are on air is about the strawberries, so such a term names a product only when
        none is on air."""
        return _named(question, self._strong_patterns if on_air else self._all_patterns)

    def shows(self, fact: Fact, evidence: Sequence[re.Pattern[str]]) -> bool:
        """Whether ``fact`` contains an intent's evidence words outside the product names ("防晒" in
        "轻透防晒乳到手价89元" is the name, not a word about sun protection)."""
        if fact.kind == "name" or not evidence:
            return False
        text = self._unnamed.get(fact.text)
        if text is None:
            text = self._names.sub(" ", fact.text) if self._names is not None else fact.text
            self._unnamed[fact.text] = text
        return any(p.search(text) for p in evidence)

    def coverage(self, question: str, fact: Fact, *, evidence: Sequence[re.Pattern[str]] = ()) -> float:
        """Share of the question's weight (idf; unseen terms weigh the most) that ``fact`` contains.

        A question about something the room never mentions ("今天天气怎么样") shares a word or two
        with some fact; coverage keeps such a match from being passed off as an answer. A fact with
        the evidence words of the question's intent ("发货" for "多久到") covers it fully."""
        if self.shows(fact, evidence):
            return 1.0
        q = tokens(question, unigrams=False) or tokens(question)
        if not q:
            return 0.0
        asked = [t for t in q if t not in self._name_terms]  # "黑芝麻丸甜吗" is not covered by the name alone
        if not asked:
            return 1.0  # the question is only a product's name: anything about that product answers it
        q = asked
        unseen = max(self._idf.values(), default=1.0)
        doc = self._docs[self.facts.index(fact)]
        total = sum(self._idf.get(t, unseen) for t in q)
        hit = sum(self._idf.get(t, unseen) for t in q if t in doc)
        return hit / total if total else 0.0

    def search(
        self,
        question: str,
        *,
        k: int = 3,
        focus: int | None = None,
        evidence: Sequence[re.Pattern[str]] = (),
    ) -> list[Retrieved]:
        """Top ``k`` facts for ``question`` about the product it names, else ``focus`` (the one on air).

        Facts of the other products are left out (a question about the serum is never answered with
        the cream's shelf life); room-wide facts (shipping, returns) stay. Facts containing the
        ``evidence`` words of the question's intent are lifted above the rest."""
        q = tokens(question)
        if not self.facts or not (q or _PRICE_WORDS.search(question) or evidence):
            return []
        scores = np.zeros(len(self.facts), dtype=np.float64)
        for term in set(q):
            idf = self._idf.get(term)
            if idf is None:
                continue
            for j, doc in enumerate(self._docs):
                tf = doc.get(term, 0)
                if tf:
                    norm = self.k1 * (1 - self.b + self.b * self._len[j] / self._avg)
                    scores[j] += idf * tf * (self.k1 + 1) / (tf + norm)
        if self._vectors is not None and self.embedder is not None:
            sims = self._vectors @ self.embedder.embed_query(question)
            top = scores.max() if scores.max() > 0 else 1.0
            scores = scores + top * np.clip(sims, 0, None)
        named = self.named(question, on_air=focus is not None)
        target = named[0] if named else focus
        if evidence:
            lift = 1.0 + float(scores.max(initial=0.0))
            for j, f in enumerate(self.facts):
                if self.shows(f, evidence):
                    scores[j] += lift
        if _PRICE_WORDS.search(question):
            lift = 1.0 + float(scores.max(initial=0.0))
            for j, f in enumerate(self.facts):
                if f.kind in ("price", "offer") and (target is None or f.product == target):
                    scores[j] += lift if f.kind == "price" else lift / 2
        about = set(named) or ({target} if target is not None else set())
        for j, f in enumerate(self.facts):
            if f.product is not None and about and f.product not in about:
                scores[j] = 0.0  # another product's fact never answers for this one
            elif f.product is not None and f.product == target:
                scores[j] *= 1.5
        order = np.argsort(-scores, kind="stable")[:k]
        return [Retrieved(self.facts[j], float(scores[j])) for j in order if scores[j] > 0]


# --------------------------------------------------------------------------- answering

_FEW_SHOT = {
    Language.zh: (
        "### 资料\n- 轻薄羽绒服\n- 90%白鸭绒\n- 只有300克\n### 问题\n冬天穿冷不冷？\n"
        "### 回答\n这款是90%白鸭绒，保暖够用，而且只有300克，穿着很轻。\n\n"
    ),
    Language.en: (
        "### Facts\n- Trail Flask\n- keeps drinks cold for 24 hours\n- fits every cup holder\n"
        "### Question\nwill my water stay cold on a long hike?\n"
        "### Answer\nYes, Trail Flask keeps drinks cold for 24 hours, so a long hike is no problem.\n\n"
    ),
}
_HEADER = {
    Language.zh: "直播间回答观众提问：一两句话，只用资料里的事实，资料里没有的不回答。\n\n",
    Language.en: "Live-stream answers to viewers: one or two short sentences, only the facts listed.\n\n",
}

_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|can't|doesn't|don't|isn't|won't|without)\b|不|没|无|别", re.IGNORECASE
)


def _grounding(answer: str, facts: Sequence[Fact], question: str, allowed_numbers: set[str]) -> list[str]:
    """Why an LLM answer is not grounded in the retrieved facts (empty: it is).

    Numbers must come from the facts (or the question); most content words must too; a negation the
    facts do not contain ("No, it does not work on carpet" against "works on carpets") is a
    contradiction; words of the prompt's worked example that the facts lack mean it was copied."""
    problems = []
    invented = numbers_in(answer) - allowed_numbers
    if invented:
        problems.append(f"numbers not in the facts: {', '.join(sorted(invented))}")
    fact_text = " ".join(f.text for f in facts)
    support = Counter(tokens(fact_text + " " + question))
    terms = tokens(answer)
    if terms:
        covered = sum(1 for t in terms if t in support) / len(terms)
        if covered < 0.55:
            problems.append(f"only {covered:.0%} of its words come from the facts or the question")
    else:
        problems.append("no content words")
    if _NEGATION.search(answer) and not _NEGATION.search(fact_text):
        problems.append("negates what the facts say")
    example = {t for shot in _FEW_SHOT.values() for t in tokens(shot, unigrams=False)} - set(support)
    copied = sorted({t for t in tokens(answer, unigrams=False) if t in example})
    if copied:
        problems.append(f"copies the prompt's example ({', '.join(copied[:4])})")
    return problems


AnswerKind = Literal["answer", "abstain", "purchase", "comparison", "off_topic", "unknown"]


@dataclass
class AnswerResult:
    """One answer and its provenance: what kind of reply it is, which room product it talks about,
    the facts it was built from (verbatim), and the reviewer/compliance findings that forced a
    rewrite or replacement (empty when the first wording was clean)."""

    text: str
    kind: AnswerKind
    product_index: int | None
    facts: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    latency_s: float = 0.0


@dataclass
class AnswerStats:
    llm: int = 0
    template: int = 0
    unknown: int = 0
    abstain: int = 0
    comparison: int = 0
    purchase: int = 0
    llm_rejected: int = 0
    llm_timeouts: int = 0
    llm_busy: int = 0
    notes: list[str] = field(default_factory=list)


class LiveAnswerer:
    """The room's :class:`~adloom.core.protocols.Responder`: retrieval → LLM (optional) → grounding → compliance.

    ``focus`` returns the index of the product on air (the director knows), so a question that
    names no product ("多少钱？") is answered about that one. ``industry`` picks the compliance
    rules. ``backend=None`` answers from the template only (fast, always grounded).
    """

    def __init__(
        self,
        room: LiveRoom,
        *,
        industry: Industry | str,
        backend: LLMBackend | None = None,
        checker: ComplianceChecker | None = None,
        embedder: Embedder | None = None,
        focus: Callable[[], int | None] | None = None,
        max_tokens: int = 64,
        min_score: float = 0.5,
        min_coverage: float = 0.3,
        seed: int = 0,
        abstain: AbstainFile | None = None,
        rules: AnswersFile | None = None,
        prereview: bool = True,
        min_rephrase: float = 0.85,
    ) -> None:
        self.room = room
        self.language = Language(room.language)
        self.industry = Industry(industry)
        self.kb = KnowledgeBase(room, embedder=embedder)
        self.backend = backend
        self.checker = checker or ComplianceChecker()
        self.focus = focus
        self.max_tokens = max_tokens
        self.min_score = min_score
        self.min_coverage = min_coverage
        self.seed = seed
        self.stats = AnswerStats()
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-llm") if backend else None
        self._running: cf.Future[str] | None = None
        self._lock = threading.Lock()
        self.max_chars = 90 if self.language == Language.zh else 240
        self.min_rephrase = min_rephrase
        self.abstain = abstain or abstain_topics()
        self.rules = rules or answer_rules()
        self._abstain = [(t, p) for t in self.abstain.topics(self.industry) if (p := t.triggers.pattern())]
        self._intents = [
            (trig, ev) for i in self.rules.intents if (trig := i.triggers.pattern()) and (ev := i.evidence.pattern())
        ]
        self._comparison = self.rules.comparison.pattern()
        self._purchase = self.rules.purchase.pattern()
        self._describe = self.rules.describe.pattern()
        self._brand = self.rules.brand.pattern()
        self._off_topic = self.rules.off_topic.pattern()
        self._reviewers: dict[int, Reviewer] = {}
        for i in range(len(room.products)):
            self._reviewer(i)  # built now, at room start, not on the first viewer's question
        self._verdicts: dict[tuple[str, int | None], tuple[str | None, list[str]]] = {}
        if prereview:
            self.prereview()

    # ----------------------------------------------------------------- Responder

    def __call__(self, question: str, *, viewer: str | None, language: str, timeout_s: float) -> str:
        return self.answer_detail(question, viewer=viewer, language=language, timeout_s=timeout_s).text

    def answer_detail(
        self, question: str, *, viewer: str | None = None, language: str | None = None, timeout_s: float = 4.0
    ) -> AnswerResult:
        """The answer to ``question`` with what it is (kind), which product, the facts it used and the
        reviewer findings that forced a rewrite (see the module docstring for the order of decisions)."""
        started = time.monotonic()
        if timeout_s <= 0:
            raise TimeoutError(f"no time to answer (timeout_s={timeout_s})")
        if language is not None and Language(language) != self.language:
            raise InputError(f"room answers in {self.language.value}, asked for {language}", field="language")
        q = (question or "").strip()
        if not q:
            raise InputError("the question is empty", field="question")
        focus = self.focus() if self.focus else None
        named = self.kb.named(q, on_air=focus is not None)
        target = named[0] if named else focus
        if target is None and len(self.room.products) == 1:
            target = 0
        result = self._decide(q, named, focus, target, started, timeout_s)
        result.latency_s = time.monotonic() - started
        return result

    def _decide(
        self, q: str, named: list[int], focus: int | None, target: int | None, started: float, timeout_s: float
    ) -> AnswerResult:
        topic = next((t for t, p in self._abstain if p.search(q)), None)
        if topic is not None:
            explicit = self._explicit(q, topic, named, target)
            answered = self._template_checked(explicit) if explicit else None
            if answered is not None and answered.kind == "answer":
                return answered
            reply = self._abstain_reply(topic, target, q)  # no entry says it, or the one that does breaks a rule
            reply.findings = (answered.findings if answered else []) + reply.findings
            return reply
        if self._comparison is not None and self._comparison.search(q):
            return self._comparison_reply(q, named, target)
        evidence = [p for trig, p in self._intents if trig.search(q)]
        if not evidence:
            if self._purchase is not None and self._purchase.search(q):
                return self._purchase_reply(target)
            if target is not None and (own := self._own_facts(q, target)):
                return self._template_checked(own)
            if not named and self._off_topic is not None and self._off_topic.search(q):
                return self._unknown(q, [], None, [], off_topic=True)
        hits = self.kb.search(q, k=3, focus=focus, evidence=evidence)
        covered = max((self.kb.coverage(q, h.fact, evidence=evidence) for h in hits), default=0.0)
        if hits and hits[0].fact.kind == "price" and _PRICE_WORDS.search(q):
            covered = 1.0  # "多少钱？" shares no word with "到手价129元", yet is answered by it
        if not hits or hits[0].score < self.min_score or covered < self.min_coverage:
            return self._unknown(q, named, target, evidence)
        answer = None
        if self.backend is not None and not looks_like_injection(q):
            budget = timeout_s - (time.monotonic() - started) - 0.05
            answer = self._llm_answer(q, [h.fact for h in hits], budget)
        if answer is not None:
            about = hits[0].fact.product if hits[0].fact.product is not None else target
            spoken, findings = self._verdict(answer, about)
            if spoken is not None and not findings:  # the model may only rephrase, cleanly
                self.stats.llm += 1
                return AnswerResult(spoken, "answer", about, [h.fact.text for h in hits])
            self.stats.llm_rejected += 1
            self._note(f"LLM answer failed review ({findings[0]}): {answer[:80]!r}")
        return self._template_checked(hits)

    def prereview(self) -> None:
        """Review, at room start, the replies the room can give without a question's own words: each
        fact's template answer, each product's abstentions, price and comparison replies. A viewer's
        question then usually finds its answer's verdict ready instead of waiting for the reviewer."""
        for f in self.kb.facts:
            self._template_checked([Retrieved(f, 1.0)])
        for i in range(len(self.room.products)):
            for topic, _ in self._abstain:
                self._abstain_reply(topic, i)
            self._purchase_reply(i)
            self._comparison_reply("", [], i)
        for target in (None, *range(len(self.room.products))):
            for t in (self.rules.templates.unknown, self.rules.templates.unknown_product):
                self._verdict(
                    t.text(self.language).format(product=self._product_name(target, self.abstain.no_product)), target
                )
        self.stats = AnswerStats()

    # ----------------------------------------------------------------- kinds of reply

    def _template_checked(self, hits: Sequence[Retrieved]) -> AnswerResult:
        """The template answer from the best facts; if the pair fails review, the best fact alone."""
        used = self.chosen(hits)
        result = self._checked(self.template_answer(hits), "answer", used)
        if result.kind != "answer" and len(used) > 1:
            single = self._checked(self.template_answer(hits[:1]), "answer", hits[:1])
            if single.kind == "answer":
                single.findings = result.findings + single.findings
                return single
        return result

    def _explicit(self, q: str, topic: AbstainTopic, named: list[int], target: int | None) -> list[Retrieved] | None:
        """Facts of the product asked about that speak to ``topic`` themselves ("孕妇也可以使用"), or None."""
        pattern = topic.triggers.pattern()
        assert pattern is not None
        about = set(named) or ({target} if target is not None else None)
        hits = [
            Retrieved(f, 1.0)
            for f in self.kb.facts
            if pattern.search(f.text) and (about is None or f.product is None or f.product in about)
        ]
        ranked = sorted(hits, key=lambda h: -self.kb.coverage(q, h.fact))
        return ranked or None

    def _product_name(self, target: int | None, rules: Bilingual) -> str:
        return self.room.products[target].name if target is not None else rules.text(self.language)

    def _abstain_reply(self, topic: AbstainTopic, target: int | None, q: str = "") -> AnswerResult:
        """The topic's honest reply, quoting what the product's facts do say: the product's fact that
        matches the question ("peanut" → "made in a facility that handles peanuts"), else one about its
        ingredients or use."""
        self.stats.abstain += 1
        ab = self.abstain
        quoted = self._relevant(q, target) if q and target is not None else None
        if quoted is None:
            context = ab.context_terms.pattern()
            own = [f for f in self.kb.facts if target is not None and f.product == target]
            facts = [f for f in own if f.kind == "point"] + [f for f in own if f.kind == "about"]  # shortest first
            quoted = next((f for f in facts if context is not None and context.search(f.text)), None)
        said = ab.facts_intro.text(self.language).format(fact=quoted.text.rstrip("。.!！")) if quoted else ""
        text = topic.reply.text(self.language).format(product=self._product_name(target, ab.no_product), facts=said)
        used = [quoted] if quoted else []
        result = self._checked(text, "abstain", [Retrieved(f, 1.0) for f in used], product=target)
        if result.kind != "abstain":  # the quoted fact itself breaks a rule: the reply without it
            bare = topic.reply.text(self.language).format(product=self._product_name(target, ab.no_product), facts="")
            return AnswerResult(self._comply(bare), "abstain", target, [], result.findings)
        return result

    def _relevant(self, q: str, target: int) -> Fact | None:
        """The product's own fact that the question's words point to, if one clearly does."""
        hits = [h for h in self.kb.search(q, k=3, focus=target) if h.fact.product == target and h.fact.kind != "name"]
        if hits and hits[0].score >= self.min_score and self.kb.coverage(q, hits[0].fact) >= self.min_coverage:
            return hits[0].fact
        return None

    def _comparison_reply(self, q: str, named: list[int], target: int | None) -> AnswerResult:
        """Our product's own selling points, never a word about the other brand."""
        self.stats.comparison += 1
        t = self.rules.templates
        ours = named if len(named) > 1 else ([target] if target is not None else list(range(len(self.room.products))))
        picked = [(i, self._reviewer(i).usable_selling_points()[:2]) for i in ours[:3]]
        zh = self.language == Language.zh
        if len(picked) > 1:  # our own products side by side: each one's first selling point
            segments = [
                (f"{self.room.products[i].name}{'：' if zh else ': '}{ps[0].rstrip('。.')}", i) for i, ps in picked
            ]
            found = [f"{f.rule}: {f.why}" for seg, i in segments for f in self._review(seg, i)]
            text = t.comparison_ours.text(self.language).format(
                points=("；" if zh else "; ").join(s for s, _ in segments)
            )
            if not found:
                facts = [ps[0] for _, ps in picked]
                return AnswerResult(self._comply(text), "comparison", picked[0][0], facts)
            picked = picked[:1]
        i, ps = picked[0]
        text = t.comparison.text(self.language).format(
            product=self.room.products[i].name, points=("，" if zh else "; ").join(p.rstrip("。.") for p in ps)
        )
        return self._checked(text, "comparison", [Retrieved(Fact(p, i, "point"), 1.0) for p in ps], product=i)

    def _purchase_reply(self, target: int | None) -> AnswerResult:
        """The price (``Product.price_text``) and offer of the product asked about."""
        self.stats.purchase += 1
        t = self.rules.templates
        i = target if target is not None else 0
        p = self.room.products[i]
        price = _price_phrase(p, self.language)
        if not price:
            return self._checked(t.no_price.text(self.language).format(product=p.name), "purchase", [], product=i)
        offer = t.offer_join.text(self.language).format(offer=p.offer.rstrip("。.")) if p.offer else ""
        text = t.purchase.text(self.language).format(price=price, offer=offer)
        facts = [Fact(price, i, "price")] + ([Fact(p.offer, i, "offer")] if p.offer else [])
        return self._checked(upper_first(text), "purchase", [Retrieved(f, 1.0) for f in facts], product=i)

    def _own_facts(self, q: str, target: int) -> list[Retrieved]:
        """For "什么牌子" the product's name fact; for "这个是什么" its description (or first selling point)."""
        kinds: tuple[str, ...] = ()
        if self._brand is not None and self._brand.search(q):
            kinds = ("name",)
        elif self._describe is not None and self._describe.search(q):
            kinds = ("about", "point")
        for kind in kinds:
            facts = [f for f in self.kb.facts if f.product == target and f.kind == kind]
            if facts:
                return [Retrieved(facts[0], 1.0)]
        return []

    def _unknown(
        self,
        q: str,
        named: list[int],
        target: int | None,
        evidence: list[re.Pattern[str]],
        *,
        off_topic: bool = False,
    ) -> AnswerResult:
        """The honest "I'll check": about the product when the question concerns one, else off-topic."""
        self.stats.unknown += 1
        t = self.rules.templates
        on_topic = not off_topic and bool(named or evidence or set(tokens(q, unigrams=False)) & set(self.kb._idf))
        if on_topic and target is not None and len(self.room.products) > 1:
            text = t.unknown_product.text(self.language).format(product=self.room.products[target].name)
        else:
            text = t.unknown.text(self.language)
        spoken = self._verdict(text, target)[0] or self._comply(text)  # the room's own line, reviewed once
        return AnswerResult(spoken, "unknown" if on_topic else "off_topic", target if on_topic else None)

    # ----------------------------------------------------------------- review

    def _reviewer(self, index: int) -> Reviewer:
        """The copy reviewer for product ``index``: its fields, its knowledge-base entries and the room-wide ones."""
        if index not in self._reviewers:
            p = self.room.products[index]
            entries = [f.text for f in self.kb.facts if f.kind == "kb" and f.product in (index, None)]
            description = " ".join([p.description, *entries]).strip()[:2000]
            brief = Brief(
                product=p.model_copy(update={"description": description}),
                industry=self.industry,
                language=self.language,
            )
            self._reviewers[index] = Reviewer(brief, checker=self.checker)
        return self._reviewers[index]

    def _review(self, text: str, product: int | None) -> list[Finding]:
        """Reviewer findings that block an answer about ``product`` (room-wide answers: against the first
        product): the rules in ``answers.yaml``'s ``blocking_rules`` (grounding, compliance, meta); a
        knowledge-base line quoted verbatim is not held to ad-copy style (repetition, CTA fit)."""
        found = self._reviewer(product if product is not None else 0).review_line(text, field="answer")
        return [f for f in found if f.rule in self.rules.blocking_rules]

    def _rewritten(self, text: str, product: int | None) -> tuple[str | None, list[str]]:
        """``text`` after the compliance checker's rewrite, reviewed again (see :meth:`_verdict`)."""
        new, fixed = self.checker.rewrite(text, language=self.language, industry=self.industry, field="answer")
        rewrites = [f"compliance: {f.rule_id}: {f.rule} ({f.term!r})" for f in fixed]
        if new is None or not new.strip():
            return None, rewrites or [f"compliance: {text[:60]!r} cannot be rewritten"]
        found = [f"{f.rule}: {f.why}" for f in self._review(new, product)]
        return (None, rewrites + found) if found else (new, rewrites)

    def _verdict(self, text: str, product: int | None) -> tuple[str | None, list[str]]:
        """``text`` after the compliance rewrite and the reviewer: (what may be spoken, or None; the findings).

        Deterministic in (text, product), and a room says the same few answers over and over, so the
        verdicts are kept (bounded): the reviewer's cost is paid once per distinct answer."""
        key = (text, product)
        verdict = self._verdicts.get(key)
        if verdict is None:
            first = self._review(text, product)  # its compliance check is the checker's, plus synonyms
            if not first:
                verdict = (text, [])
            elif any(f.rule == "compliance" for f in first):
                verdict = self._rewritten(text, product)
            else:
                verdict = (None, [f"{f.rule}: {f.why}" for f in first])
            if len(self._verdicts) >= 1024:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict[0], list(verdict[1])

    def _checked(
        self, text: str, kind: AnswerKind, used: Sequence[Retrieved], *, product: int | None = None
    ) -> AnswerResult:
        """``text`` made compliant and reviewed; one that still fails is replaced by the honest "I'll check"."""
        if product is None:
            product = next((h.fact.product for h in used if h.fact.product is not None), None)
        about = product
        facts = [h.fact.text for h in used]
        spoken, findings = self._verdict(text, about)
        if spoken is not None:
            if kind == "answer":
                self.stats.template += 1
            return AnswerResult(spoken, kind, about, facts, findings)
        self._note(f"answer replaced ({findings[0]}): {text[:80]!r}")
        t = self.rules.templates
        name = self.room.products[about].name if about is not None else ""
        fallback = t.unknown_product.text(self.language).format(product=name) if name else t.unknown.text(self.language)
        return AnswerResult(self._comply(fallback), "unknown", about, [], findings)

    def chosen(self, hits: Sequence[Retrieved]) -> list[Retrieved]:
        """The facts a template answer uses: the best one, and a close second about the same product."""
        best = hits[0].fact
        second = hits[1].fact if len(hits) > 1 else None
        if (
            second is not None
            and hits[1].score >= 0.7 * hits[0].score
            and second.product == best.product
            and "name" not in (best.kind, second.kind)
            and len(best.text) + len(second.text) <= self.max_chars * 0.6
            and not _overlap(best.text, second.text)
        ):
            return list(hits[:2])
        return list(hits[:1])

    def template_answer(self, hits: Sequence[Retrieved]) -> str:
        """An answer made from the best fact (and a close second about the same product), verbatim."""
        zh = self.language == Language.zh
        chosen = [h.fact for h in self.chosen(hits)]
        product = self.room.products[chosen[0].product] if chosen[0].product is not None else None
        parts = []
        for f in chosen:
            text = f.text.strip().rstrip("。.!！")
            if f.kind == "name":
                text = (f"这款是{text}" if zh else f"This is {text}") if product else text
            elif zh and product is not None and not parts and re.match(r"一[款个种瓶支套]", text):
                text = f"是{text}"  # "水润保湿精华是一款…", not "水润保湿精华一款…"
            parts.append(text)
        body = ("，" if zh else "; ").join(parts)
        if product is not None and product.name.lower() not in body.lower():
            body = (
                f"{product.name}{body}"
                if zh and cjk_count(body[:1])
                else (f"{product.name}：{body}" if zh else f"{product.name}: {body}")
            )
        if not zh:
            body = upper_first(body)
        end = "。" if zh else "."
        if len(body) > self.max_chars:
            body = parts[0] if len(parts[0]) <= self.max_chars else parts[0][: self.max_chars]
        return body + end

    # ----------------------------------------------------------------- the LLM path

    def prompt(self, question: str, facts: Sequence[Fact]) -> str:
        zh = self.language == Language.zh
        lines = []
        for f in facts:
            name = self.room.products[f.product].name if f.product is not None else ""
            text, _ = sanitize_field(f.text, max_chars=160)
            if name and name.lower() not in text.lower():
                text = f"{name}: {text}"
            lines.append(f"- {text}")
        q, _ = sanitize_field(question, max_chars=160)
        if zh:
            block = "### 资料\n" + "\n".join(lines) + f"\n### 问题\n{q}\n### 回答\n"
        else:
            block = "### Facts\n" + "\n".join(lines) + f"\n### Question\n{q}\n### Answer\n"
        return _HEADER[self.language] + _FEW_SHOT[self.language] + block

    def _llm_answer(self, question: str, facts: Sequence[Fact], budget_s: float) -> str | None:
        """The model's answer if it arrives within ``budget_s`` and is grounded; else None (template)."""
        assert self._pool is not None and self.backend is not None
        if budget_s <= 0.05:
            self.stats.llm_timeouts += 1
            return None
        with self._lock:
            if self._running is not None and not self._running.done():
                self.stats.llm_busy += 1  # an earlier, overrun call still holds the model
                return None
            backend = self.backend
            prompt = self.prompt(question, facts)
            self.seed += 1
            seed = self.seed
            self._running = self._pool.submit(
                lambda: backend.generate_text(
                    prompt, max_tokens=self.max_tokens, temperature=0.2, seed=seed, stop=["\n", "###"]
                )
            )
            future = self._running
        try:
            raw = future.result(timeout=budget_s)
        except cf.TimeoutError:
            self.stats.llm_timeouts += 1
            return None
        except Exception as exc:  # a failing backend is answered by the template
            self._note(f"LLM failed ({type(exc).__name__}: {str(exc)[:100]})")
            self.stats.llm_rejected += 1
            return None
        text = re.sub(r"\s+", " ", raw or "").strip()
        problems = self.judge(text, question, facts)
        if problems:
            self.stats.llm_rejected += 1
            self._note(f"LLM answer rejected ({'; '.join(problems)}): {text[:80]!r}")
            return None
        return text

    def judge(self, text: str, question: str, facts: Sequence[Fact]) -> list[str]:
        """Why a model's answer to ``question`` may not be spoken, given the facts it was shown (empty: it may)."""
        if not text:
            return ["empty"]
        problems = []
        if len(text) > self.max_chars:
            problems.append(f"{len(text)} characters")
        if language_share(text, self.language) < 0.6:
            problems.append(f"not in {self.language.value}")
        if looks_like_injection(text):
            problems.append("echoes an instruction")
        # Numbers may come only from the facts the model was shown (or the question it was asked).
        allowed = numbers_in(" ".join(f.text for f in facts) + " " + question)
        problems += _grounding(text, facts, question, allowed)
        # The best fact shares words with the question ("保质期"); an answer that drops all of them
        # answers something else (the model quoted a neighbouring fact).
        names = {t for p in self.room.products for t in tokens(p.name, unigrams=False) + tokens(p.name)}
        key = set(tokens(question, unigrams=False)) & set(tokens(facts[0].text, unigrams=False)) - names
        if key and not key & set(tokens(text, unigrams=False)):
            problems.append(f"does not answer the question (says nothing of {', '.join(sorted(key)[:3])})")
        # The model may only rephrase: nearly every word pair it says is one of the facts', the
        # question's or a name's ("吸收快，但保湿效果差" adds a verdict nobody wrote).
        said = tokens(text, unigrams=False)
        support = set(tokens(" ".join([*(f.text for f in facts), question]), unigrams=False)) | names
        support |= {t for p in self.room.products for t in tokens(p.brand, unigrams=False)}
        if said:
            new = [t for t in said if t not in support]
            if len(new) / len(said) > 1 - self.min_rephrase:
                problems.append(f"says what the facts do not ({', '.join(dict.fromkeys(new[:4]))})")
        return problems

    def _comply(self, text: str) -> str:
        new, _ = self.checker.rewrite(text, language=self.language, industry=self.industry, field="answer")
        if new is None or not new.strip():
            raise ComplianceError(f"answer {text[:60]!r} breaks advertising rules and cannot be rewritten")
        return new

    def _note(self, note: str) -> None:
        self.stats.notes.append(note)
        del self.stats.notes[:-20]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def status(self) -> dict[str, object]:
        return {k: v for k, v in self.stats.__dict__.items() if k != "notes"} | {"last_notes": self.stats.notes[-3:]}


def focus_by_product_id(room: LiveRoom, current_id: Callable[[], str]) -> Callable[[], int | None]:
    """Turn the director's current product id into the product index :class:`LiveAnswerer` wants."""
    ids = [product_id(p) for p in room.products]

    def focus() -> int | None:
        try:
            return ids.index(current_id())
        except ValueError:
            return None

    return focus
