"""What the answer agent knows: the advertiser's FAQ and offers, and an industry knowledge pack shipped as data.

Retrieval is BM25 over Chinese character uni/bigrams and English words (:func:`~adloom.scripts_gen.live_answer.
tokens`): an agent knows a few hundred entries at most, so no vector index is needed.

Ranking rules:

* The advertiser's FAQ (``faq:N``) outranks the industry pack (``ind:<id>``) at equal relevance: it is the
  only source of their prices, terms and promises.
* Offers (``offer:N``) are returned only for a question about price, discounts or offers, and never once
  their ``until`` date has passed in the agent's timezone.
* The industry pack is searched in the user's language only (each entry exists in zh and en).
* The advertiser's FAQ is written in one language. A question in the other language can still match it
  (brand and model names, numbers), and such a hit is returned and may be quoted as written: the
  advertiser's own words are the only grounded source of their prices and terms, and a machine translation
  would be a claim they never approved. When the FAQ does not match, the industry entry in the user's
  language answers instead.
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
from adloom.core.text import detect_language
from adloom.core.types import Industry, Language
from adloom.scripts_gen.conversation.intents import detect_topic
from adloom.scripts_gen.conversation.model import AgentProfile
from adloom.scripts_gen.live_answer import simplified, tokens

__all__ = ["AgentKnowledge", "Hit", "IndustryPack", "PackEntry", "industry_pack", "is_price_question"]

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


_SOURCE_RANK: dict[Source, int] = {"advertiser": 0, "offer": 1, "industry": 2}
#: Relevance multipliers: the advertiser's own word first at equal relevance; the asked topic helps.
_ADVERTISER_BOOST = 1.15
_TOPIC_BOOST = 1.25
#: Share of the question's (idf-weighted) terms a document must contain to count as relevant.
_MIN_COVERAGE = 0.3
_K1, _B = 1.2, 0.75


def _terms(question: str, answer: str) -> Counter[str]:
    # The question names what the entry is about: counted twice.
    return Counter(tokens(simplified(question)) * 2 + tokens(simplified(answer)))


class AgentKnowledge:
    """Search over one agent's knowledge: :meth:`search` returns :class:`Hit` s, best first."""

    def __init__(self, profile: AgentProfile) -> None:
        self.profile = profile
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
                    )
                )
        self._docs = docs
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.terms.keys())
        n = max(1, len(docs))
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._unseen_idf = math.log(1 + (n + 0.5) / 0.5)
        self._avg_len = sum(d.length for d in docs) / n if docs else 1.0

    def today(self) -> date:
        """Today in the agent's timezone (offers end at the end of their ``until`` day there)."""
        return datetime.now(zoneinfo.ZoneInfo(self.profile.working_hours.timezone)).date()

    def _bm25(self, query: set[str], doc: _Doc) -> tuple[float, float]:
        """(BM25 score, idf-weighted share of the query's terms the document contains)."""
        score = matched = total = 0.0
        norm = _K1 * (1 - _B + _B * doc.length / max(self._avg_len, 1.0))
        for t in query:
            idf = self._idf.get(t, self._unseen_idf)
            total += idf
            tf = doc.terms.get(t, 0)
            if tf:
                matched += idf
                score += idf * tf * (_K1 + 1) / (tf + norm)
        return score, (matched / total if total else 0.0)

    def search(
        self, text: str, language: Language, topic: str | None = None, k: int = 3, *, today: date | None = None
    ) -> list[Hit]:
        """The ``k`` best entries for ``text`` (asked in ``language``, about ``topic`` when known)."""
        query = set(tokens(simplified(text)))
        if not query or k <= 0:
            return []
        day = today if today is not None else self.today()
        price = is_price_question(text, topic)
        scored: list[tuple[float, int, int, _Doc]] = []
        for order, doc in enumerate(self._docs):
            if doc.source == "industry" and doc.language != language:
                continue
            if doc.source == "offer":
                if not price or (doc.until is not None and doc.until < day):
                    continue
                score, _ = self._bm25(query, doc)
                # any current offer answers "any discounts?"; a matching one ranks higher
                scored.append((0.5 + score, _SOURCE_RANK[doc.source], order, doc))
                continue
            score, coverage = self._bm25(query, doc)
            if score <= 0 or coverage < _MIN_COVERAGE:
                continue
            if topic is not None and doc.topic == topic:
                score *= _TOPIC_BOOST
            if doc.source == "advertiser":
                score *= _ADVERTISER_BOOST
            scored.append((score, _SOURCE_RANK[doc.source], order, doc))
        scored.sort(key=lambda s: (-s[0], s[1], s[2]))
        return [
            Hit(id=d.id, question=d.question, answer=d.answer, score=round(s, 4), source=d.source, topic=d.topic)
            for s, _, _, d in scored[:k]
        ]

    def language_of(self, hit_id: str) -> Language | None:
        """The language an advertiser FAQ or offer is written in (None for pack entries: both exist)."""
        for d in self._docs:
            if d.id == hit_id and d.source != "industry":
                return d.language
        return None
