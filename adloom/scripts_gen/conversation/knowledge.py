"""What the answer agent knows: the advertiser's FAQ and offers, and an industry knowledge pack shipped as data.

Retrieval is BM25 over Chinese character uni/bigrams and English words (:func:`~adloom.scripts_gen.live_answer.
tokens`): an agent knows a few hundred entries at most, so no vector index is needed.

Ranking rules:

* The advertiser's FAQ (``faq:N``) outranks the industry pack (``ind:<id>``) at equal relevance: it is the
  only source of their prices, terms and promises.
* Offers (``offer:N``) are returned only for a question about price, discounts or offers, and never once
  their ``until`` date has passed in the agent's timezone.
* Every source is searched in the user's language only: a reply never mixes languages. Pack entries exist
  in zh and en; each FAQ entry and offer is written in one language (detected from its text). An English
  question about a fact the advertiser wrote only in Chinese is answered from the industry pack in English,
  or honestly left to the advisor (:meth:`AgentKnowledge.other_language_match` tells the answer agent that
  the advertiser does have the facts, so it can say an advisor will give exact figures). A machine
  translation of the advertiser's prices or terms would be a claim they never approved.
* Paraphrases are bridged by query expansion (``adloom/data/agent/aliases.yaml``, per industry and for all):
  "量房要钱吗" is also searched as 免费/收费/费用…, "how long … flat" as duration/apartment/size…; the
  expansion words weigh less than the question's own words.
* Relevance needs a share of the question's idf-weighted terms. Terms no entry contains (a typo, a bigram
  across a word boundary such as "砖选") weigh less in that share, so a colloquial question is not lost to
  its filler; a question about something the agent does not know still covers too little.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from adloom.core.datafiles import load_package_data, package_data_path
from adloom.core.protocols import Embedder
from adloom.core.text import detect_language
from adloom.core.types import Industry, Language
from adloom.scripts_gen.conversation.intents import detect_topic, detect_topics
from adloom.scripts_gen.conversation.model import AgentProfile
from adloom.scripts_gen.live_answer import Terms, simplified, tokens

__all__ = [
    "AgentKnowledge",
    "AliasFile",
    "Hit",
    "IndustryPack",
    "PackEntry",
    "alias_groups",
    "industry_pack",
    "is_price_question",
]

Source = Literal["advertiser", "offer", "industry"]

_STRICT = ConfigDict(extra="forbid", frozen=True)
_Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class QA(BaseModel):
    model_config = _STRICT

    q: _Line
    a: _Line


class PackEntry(BaseModel):
    """One piece of general expert knowledge, in both languages."""

    model_config = _STRICT

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    topic: Annotated[str, StringConstraints(pattern=r"^[a-z_]+$")]
    zh: QA
    en: QA

    def qa(self, language: Language) -> QA:
        return self.zh if language == Language.zh else self.en


class IndustryPack(BaseModel):
    """``adloom/data/agent/industries/<industry>.yaml``."""

    model_config = _STRICT

    industry: Industry
    entries: list[PackEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> IndustryPack:
        seen: set[str] = set()
        for e in self.entries:
            if e.id in seen:
                raise ValueError(f"entry id {e.id!r} appears twice; ids must be unique")
            seen.add(e.id)
        return self


def industry_pack(industry: Industry) -> IndustryPack | None:
    """The shipped pack for ``industry``, or None where none is shipped (validated once per process)."""
    parts = ("agent", "industries", f"{industry.value}.yaml")
    if not package_data_path(*parts).is_file():
        return None
    pack = load_package_data(IndustryPack, *parts)
    if pack.industry != industry:
        raise ValueError(f"{parts[-1]} declares industry {pack.industry.value!r}; fix its industry key")
    return pack


class AliasFile(BaseModel):
    """``adloom/data/agent/aliases.yaml``: groups of interchangeable words per industry (and ``all``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: dict[str, list[Terms]]

    @model_validator(mode="after")
    def _known(self) -> AliasFile:
        allowed = {"all", *(i.value for i in Industry)}
        unknown = sorted(set(self.groups) - allowed)
        if unknown:
            raise ValueError(f"unknown industries {unknown}; use 'all' or one of {sorted(allowed - {'all'})}")
        for key, groups in self.groups.items():
            for g in groups:
                if len(g.zh) + len(g.en) < 2:
                    raise ValueError(f"{key}: an alias group needs at least two words, got {g.zh + g.en}")
        return self


def alias_groups(industry: Industry) -> list[Terms]:
    """The alias groups that apply to ``industry`` (its own, then the shared ones)."""
    groups = load_package_data(AliasFile, "agent", "aliases.yaml").groups
    return [*groups.get(industry.value, []), *groups.get("all", [])]


def _expansion_terms(term: str) -> list[str]:
    """Index terms a group word adds to a query: bigrams of a Chinese word (single characters are too
    vague to add), the words of an English one."""
    clean = simplified(term.rstrip("$"))
    return tokens(clean, unigrams=False) or tokens(clean)


_PRICE = re.compile(
    r"多少钱|价格|价钱|报价|优惠|折扣|打折|便宜|贵|活动|促销|补贴|赠品|送什么|福利|费用|收费"
    r"|\bprice|\bcost|\bhow much\b|\bdiscount|\bdeal|\boffer|\bpromo|\bcoupon|\bcheap|\bexpensive|\bsale\b|\bquote",
    re.IGNORECASE,
)


def is_price_question(text: str, topic: str | None = None) -> bool:
    """Whether ``text`` asks about price, discounts or offers (the only questions offers answer)."""
    return topic in {"price", "offer", "quote"} or bool(_PRICE.search(text))


@dataclass(frozen=True)
class Hit:
    id: str
    question: str
    answer: str
    score: float
    source: Source
    #: The entry's topic (pack entries: from the data; FAQ: detected from its question; offers: "offer").
    topic: str | None = None
    #: Whether the entry is about a topic the question is about (any of the topics both mention).
    on_topic: bool = False


@dataclass(frozen=True)
class _Doc:
    id: str
    question: str
    answer: str
    source: Source
    language: Language
    topic: str | None
    terms: Counter[str]
    length: int
    until: date | None = None
    #: Every topic the entry is about (FAQ: detected in its question and answer).
    topics: frozenset[str] = frozenset()
    #: Whether the answer states a figure (a price, a rate, a duration in numbers).
    figure: bool = False


_SOURCE_RANK: dict[Source, int] = {"advertiser": 0, "offer": 1, "industry": 2}
#: Relevance multipliers: the advertiser's own word first, also over a pack entry a little closer in words ("what
#: about trade-in" → their "Do you take trade-ins", not the pack's trade-in steps); the asked topic helps.
_ADVERTISER_BOOST = 1.5
_TOPIC_BOOST = 1.25
#: A question asking for a figure (how much, how long, what rate) prefers the advertiser's FAQ that states one.
_FIGURE_BOOST = 1.4
_DIGIT = re.compile(r"\d")
_FIGURE_QUESTION = re.compile(
    r"多少|几|多久|多长|多大|多快|价|贵|便宜|利率|利息|费|钱"
    r"|\bhow (?:much|many|long|big|fast|soon)\b|\bwhat(?:'s| is) the (?:rate|price|cost|fee)|\bprice|\bcost|\bfee"
    r"|\brate\b|\bcheap|\bexpensive|\bwhen\b",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3400-\u9fff]")
#: With an embedder: BM25 points per standard deviation (past one) an entry's meaning stands above the average
#: entry, and the closeness at which meaning alone makes an entry relevant.
_MEANING_WEIGHT = 3.0
_MEANING_ALONE = 1.0
#: Share of the question's (idf-weighted) terms a document must contain to count as relevant.
_MIN_COVERAGE = 0.3
#: Weight of an expansion term (from an alias group) against the question's own terms.
_ALIAS_WEIGHT = 0.6
#: Weight, in the coverage share, of a question term that no entry contains.
_UNSEEN_WEIGHT = 0.35
_K1, _B = 1.2, 0.75


def _terms(question: str, answer: str) -> Counter[str]:
    # The question names what the entry is about: counted twice.
    return Counter(tokens(simplified(question)) * 2 + tokens(simplified(answer)))


class AgentKnowledge:
    """Search over one agent's knowledge: :meth:`search` returns :class:`Hit` s, best first."""

    def __init__(self, profile: AgentProfile, *, embedder: Embedder | None = None) -> None:
        self.profile = profile
        self.embedder = embedder
        industry = profile.industry
        docs: list[_Doc] = []
        for i, faq in enumerate(profile.knowledge):
            terms = _terms(faq.question, faq.answer)
            docs.append(
                _Doc(
                    id=f"faq:{i}",
                    question=faq.question,
                    answer=faq.answer,
                    source="advertiser",
                    language=detect_language(faq.question + faq.answer),
                    topic=detect_topic(faq.question, industry),
                    terms=terms,
                    length=sum(terms.values()),
                    topics=detect_topics(faq.question + " " + faq.answer, industry),
                    figure=bool(_DIGIT.search(faq.answer)),
                )
            )
        for i, offer in enumerate(profile.offers):
            terms = _terms("", offer.text)
            docs.append(
                _Doc(
                    id=f"offer:{i}",
                    question=offer.text,
                    answer=offer.text,
                    source="offer",
                    language=detect_language(offer.text),
                    topic="offer",
                    terms=terms,
                    length=sum(terms.values()),
                    until=offer.until,
                    topics=frozenset({"offer", "price"}),
                )
            )
        pack = industry_pack(industry)
        for entry in pack.entries if pack is not None else []:
            for language in Language:
                qa = entry.qa(language)
                terms = _terms(qa.q, qa.a)
                docs.append(
                    _Doc(
                        id=f"ind:{entry.id}",
                        question=qa.q,
                        answer=qa.a,
                        source="industry",
                        language=language,
                        topic=entry.topic,
                        terms=terms,
                        length=sum(terms.values()),
                        topics=frozenset({entry.topic}),
                    )
                )
        self._docs = docs
        self._aliases = [
            (
                pattern,
                {
                    lang: [t for term in g.zh if lang == Language.zh for t in _expansion_terms(term)]
                    + [t for term in g.en if lang == Language.en for t in _expansion_terms(term)]
                    for lang in Language
                },
            )
            for g in alias_groups(industry)
            if (pattern := g.pattern()) is not None
        ]
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.terms.keys())
        n = max(1, len(docs))
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._unseen_idf = math.log(1 + (n + 0.5) / 0.5)
        self._avg_len = sum(d.length for d in docs) / n if docs else 1.0
        # With an embedder (multilingual e5 in a deployment), meaning counts beside shared words: a paraphrase
        # with no word in common ("装修的钱分几期给" / "装修款一般怎么付") still finds its entry.
        self._vectors = (
            embedder.embed_passages([f"{d.question} {d.answer}" for d in docs])
            if embedder is not None and docs
            else None
        )

    def today(self) -> date:
        """Today in the agent's timezone (offers end at the end of their ``until`` day there)."""
        return datetime.now(zoneinfo.ZoneInfo(self.profile.working_hours.timezone)).date()

    def _bm25(
        self, query: set[str], doc: _Doc, extra: frozenset[str] = frozenset(), *, need_strong: bool = False
    ) -> tuple[float, float]:
        """(BM25 score, idf-weighted share of the query's terms the document contains). ``extra`` are
        expansion terms: they add to both at :data:`_ALIAS_WEIGHT`, never to the share's denominator."""
        score = matched = total = 0.0
        strong = False
        norm = _K1 * (1 - _B + _B * doc.length / max(self._avg_len, 1.0))
        for t in query:
            idf = self._idf.get(t)
            total += idf if idf is not None else self._unseen_idf * _UNSEEN_WEIGHT
            tf = doc.terms.get(t, 0)
            if tf and idf is not None:
                matched += idf
                score += idf * tf * (_K1 + 1) / (tf + norm)
                strong = strong or not (len(t) == 1 and _CJK.match(t))
        for t in extra:
            tf = doc.terms.get(t, 0)
            idf = self._idf.get(t)
            if tf and idf is not None:
                matched += idf * _ALIAS_WEIGHT
                score += _ALIAS_WEIGHT * idf * tf * (_K1 + 1) / (tf + norm)
                strong = True
        if need_strong and not strong:
            return 0.0, 0.0  # single Chinese characters alone ("店", "车") are no evidence of relevance
        return score, (min(1.0, matched / total) if total else 0.0)

    def expansion(self, text: str, language: Language) -> frozenset[str]:
        """Terms the alias groups add to a question (those it does not already contain)."""
        clean = simplified(text)
        own = set(tokens(clean))
        extra = {t for pattern, terms in self._aliases if pattern.search(clean) for t in terms[language]}
        return frozenset(extra - own)

    def search(
        self, text: str, language: Language, topic: str | None = None, k: int = 3, *, today: date | None = None
    ) -> list[Hit]:
        """The ``k`` best entries for ``text`` (asked in ``language``, about ``topic`` when known)."""
        query = set(tokens(simplified(text)))
        if not query or k <= 0:
            return []
        extra = self.expansion(text, language)
        day = today if today is not None else self.today()
        price = is_price_question(text, topic)
        asked = detect_topics(simplified(text), self.profile.industry) | ({topic} if topic else set())
        figure = bool(_FIGURE_QUESTION.search(simplified(text)))
        # where the question has words the entries know, matching single characters only is no match;
        # where it has none ("怎么选课": 选课 is unknown), single characters are all the evidence there is
        need_strong = any(t in self._idf and not (len(t) == 1 and _CJK.match(t)) for t in query)
        meaning = self._meaning(text, language)
        scored: list[tuple[float, int, int, _Doc]] = []
        for order, doc in enumerate(self._docs):
            if doc.language != language:
                continue  # never quoted into a reply in the other language (see the module docstring)
            if doc.source == "offer":
                if not price or (doc.until is not None and doc.until < day):
                    continue
                score, _ = self._bm25(query, doc, extra)
                # any current offer answers "any discounts?"; a matching one ranks higher
                scored.append((0.5 + score, _SOURCE_RANK[doc.source], order, doc))
                continue
            score, coverage = self._bm25(query, doc, extra, need_strong=need_strong)
            close = meaning.get(order, 0.0)
            if close >= _MEANING_ALONE:
                score += close * _MEANING_WEIGHT  # clearly the closest in meaning: counts even with few shared words
            elif score <= 0 or coverage < _MIN_COVERAGE:
                continue
            else:
                score += close * _MEANING_WEIGHT
            if doc.topics & asked:
                score *= _TOPIC_BOOST
            if doc.source == "advertiser":
                score *= _ADVERTISER_BOOST * (_FIGURE_BOOST if figure and doc.figure else 1.0)
            scored.append((score, _SOURCE_RANK[doc.source], order, doc))
        scored.sort(key=lambda s: (-s[0], s[1], s[2]))
        return [
            Hit(
                id=d.id,
                question=d.question,
                answer=d.answer,
                score=round(s, 4),
                source=d.source,
                topic=d.topic,
                on_topic=bool(d.topics & asked),
            )
            for s, _, _, d in scored[:k]
        ]

    def _meaning(self, text: str, language: Language) -> dict[int, float]:
        """Per entry in ``language`` (by index), how far above the average entry its meaning is to ``text``,
        in standard deviations past one (0 for most entries); empty without an embedder. e5's cosines crowd
        together (0.85–0.93 for one domain), so the spread among this agent's own entries is what counts."""
        if self._vectors is None or self.embedder is None:
            return {}
        idx = [i for i, d in enumerate(self._docs) if d.language == language and d.source != "offer"]
        if len(idx) < 3:
            return {}
        sims = self._vectors[idx] @ self.embedder.embed_query(text)
        z = (sims - sims.mean()) / (float(sims.std()) + 1e-6)
        return {i: float(max(0.0, v - 1.0)) for i, v in zip(idx, z, strict=True)}

    def price_facts(self, language: Language) -> list[Hit]:
        """The advertiser's FAQ in ``language`` that state a price (their own figures, for "are you the
        cheapest?", which words alone rarely match)."""
        return [
            Hit(id=d.id, question=d.question, answer=d.answer, score=0.0, source=d.source, topic=d.topic, on_topic=True)
            for d in self._docs
            if d.source == "advertiser" and d.language == language and d.figure and "price" in d.topics
        ]

    def other_language_match(self, text: str, language: Language) -> bool:
        """Whether an advertiser FAQ written in the other language matches ``text`` (a brand, a model, a
        number): the advertiser has the facts, but not in a language this reply may quote."""
        query = set(tokens(simplified(text)))
        for doc in self._docs:
            if doc.source == "advertiser" and doc.language != language:
                score, coverage = self._bm25(query, doc)
                if score > 0 and coverage >= _MIN_COVERAGE:
                    return True
        return False

    def language_of(self, hit_id: str) -> Language | None:
        """The language an advertiser FAQ or offer is written in (None for pack entries: both exist)."""
        for d in self._docs:
            if d.id == hit_id and d.source != "industry":
                return d.language
        return None
