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

import numpy as np

from adloom.core.errors import ComplianceError, InputError
from adloom.core.protocols import Embedder
from adloom.core.text import cjk_count, language_share, numbers_in, split_sentences, upper_first
from adloom.core.types import Industry, Language, LiveRoom, Product
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.live_script import product_id
from adloom.scripts_gen.llm.base import LLMBackend
from adloom.scripts_gen.safety import looks_like_injection, sanitize_field

__all__ = ["Fact", "KnowledgeBase", "LiveAnswerer", "Retrieved", "tokens"]

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
    terms = [set(tokens(p.name, unigrams=False)) | {p.name.lower()} for p in products]
    return [t - set().union(*(o for j, o in enumerate(terms) if j != i)) for i, t in enumerate(terms)]


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


_PRICE_WORDS = re.compile(r"多少钱|价格|价钱|几块|多少|price|cost|how much|贵|便宜|cheap|expensive", re.IGNORECASE)


class KnowledgeBase:
    """BM25 over a room's facts, optionally blended with embedding similarity."""

    def __init__(self, room: LiveRoom, *, embedder: Embedder | None = None, k1: float = 1.2, b: float = 0.75) -> None:
        self.room = room
        self.language = Language(room.language)
        self.facts = self._facts(room)
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
        self._name_keys = _name_keys(room.products)
        self._vectors = embedder.embed_passages([f.text for f in self.facts]) if embedder and self.facts else None

    def _indexed(self, f: Fact) -> str:
        """The text a fact is found by: its own words plus its product's name (so "它" questions still match)."""
        name = self.room.products[f.product].name if f.product is not None else ""
        return f"{f.text} {name}"

    @staticmethod
    def _facts(room: LiveRoom) -> list[Fact]:
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
        names = [(i, p.name.lower()) for i, p in enumerate(room.products)]
        for line in room.knowledge_base:
            if not line.strip():
                continue
            about = next((i for i, n in names if n in line.lower()), None)
            facts.append(Fact(line.strip(), about, "kb"))
        return facts

    def coverage(self, question: str, fact: Fact) -> float:
        """Share of the question's weight (idf; unseen terms weigh the most) that ``fact`` contains.

        A question about something the room never mentions ("今天天气怎么样") shares a word or two
        with some fact; coverage keeps such a match from being passed off as an answer."""
        q = tokens(question, unigrams=False) or tokens(question)
        if not q:
            return 0.0
        unseen = max(self._idf.values(), default=1.0)
        doc = self._docs[self.facts.index(fact)]
        total = sum(self._idf.get(t, unseen) for t in q)
        hit = sum(self._idf.get(t, unseen) for t in q if t in doc)
        return hit / total if total else 0.0

    def search(self, question: str, *, k: int = 3, focus: int | None = None) -> list[Retrieved]:
        """Top ``k`` facts for ``question``; facts about ``focus`` (the product on air) get a small boost."""
        q = tokens(question)
        if not self.facts or not (q or _PRICE_WORDS.search(question)):
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
        asked = set(tokens(question, unigrams=False)) | {question.lower()}
        named = [
            i
            for i, keys in enumerate(self._name_keys)
            if keys & asked or self.room.products[i].name.lower() in question.lower()
        ]
        target = named[0] if named else focus
        if _PRICE_WORDS.search(question):
            lift = 1.0 + float(scores.max(initial=0.0))
            for j, f in enumerate(self.facts):
                if f.kind in ("price", "offer") and (target is None or f.product == target):
                    scores[j] += lift if f.kind == "price" else lift / 2
        if target is not None:
            for j, f in enumerate(self.facts):
                if f.product == target:
                    scores[j] *= 1.5
                elif f.product is not None and named:
                    scores[j] *= 0.3
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
_UNKNOWN = {
    Language.zh: "这个我需要再确认一下，大家可以先看看商品详情页，确认后马上告诉你。",
    Language.en: "Let me double-check that one; the product page has the full details, and I'll get back to you.",
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


@dataclass
class AnswerStats:
    llm: int = 0
    template: int = 0
    unknown: int = 0
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

    # ----------------------------------------------------------------- Responder

    def __call__(self, question: str, *, viewer: str | None, language: str, timeout_s: float) -> str:
        started = time.monotonic()
        if timeout_s <= 0:
            raise TimeoutError(f"no time to answer (timeout_s={timeout_s})")
        if Language(language) != self.language:
            raise InputError(f"room answers in {self.language.value}, asked for {language}", field="language")
        q = (question or "").strip()
        if not q:
            raise InputError("the question is empty", field="question")
        focus = self.focus() if self.focus else None
        hits = self.kb.search(q, k=3, focus=focus)
        covered = max((self.kb.coverage(q, h.fact) for h in hits), default=0.0)
        if hits and hits[0].fact.kind == "price" and _PRICE_WORDS.search(q):
            covered = 1.0  # "多少钱？" shares no word with "到手价129元", yet is answered by it
        if not hits or hits[0].score < self.min_score or covered < self.min_coverage:
            self.stats.unknown += 1
            return self._comply(_UNKNOWN[self.language])
        facts = [h.fact for h in hits]
        answer = None
        if self.backend is not None and not looks_like_injection(q):
            budget = timeout_s - (time.monotonic() - started) - 0.05
            answer = self._llm_answer(q, facts, budget)
        if answer is None:
            self.stats.template += 1
            answer = self.template_answer(hits)
        else:
            self.stats.llm += 1
        return self._comply(answer)

    def template_answer(self, hits: Sequence[Retrieved]) -> str:
        """An answer made from the best fact (and a close second about the same product)."""
        zh = self.language == Language.zh
        best = hits[0].fact
        chosen = [best]
        second = hits[1].fact if len(hits) > 1 else None
        if (
            second is not None
            and hits[1].score >= 0.7 * hits[0].score
            and second.product == best.product
            and "name" not in (best.kind, second.kind)
            and len(best.text) + len(second.text) <= self.max_chars * 0.6
        ):
            chosen.append(second)
        product = self.room.products[best.product] if best.product is not None else None
        parts = []
        for f in chosen:
            text = f.text.strip().rstrip("。.!！")
            if f.kind == "name":
                text = (f"这款是{text}" if zh else f"This is {text}") if product else text
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
