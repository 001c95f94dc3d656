"""What one user message says: its language, the needs in it, and the signals the policy acts on.

:func:`analyze` is pure and deterministic (no model): a private-message chat must answer in well under a
second, and the lead agent's decisions (ask now, never ask again, hand over) must be explainable. The
word lists live in ``adloom/data/agent/intents.yaml`` (zh and en), so a sales team can add a trigger
without touching code.

A message with two needs ("我想买这款SUV，但是我征信不好") is split on contrast and addition
connectives and on question marks; each part is kept when it carries a topic or asks something, so
both needs get an answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adloom.core.datafiles import load_package_data
from adloom.core.text import cjk_count, latin_words, normalise_space
from adloom.core.types import Industry, Language
from adloom.scripts_gen.live_answer import RegexTerms, Terms, simplified
from adloom.scripts_gen.safety import looks_like_injection, sanitize_field

__all__ = [
    "MAX_CHARS",
    "Analysis",
    "IntentsFile",
    "Need",
    "TopicRule",
    "analyze",
    "detect_topic",
    "detect_topics",
    "intent_rules",
]

#: Longest message analysed; the rest is cut off and the analysis says so (``truncated``).
MAX_CHARS = 2000

RiskKind = str  # "complaint" | "legal" | "self_harm" | "minor"
_RISKS: tuple[str, ...] = ("self_harm", "minor", "legal", "complaint")  # most serious first

_STRICT = ConfigDict(extra="forbid", frozen=True)


class TopicRule(BaseModel):
    model_config = _STRICT

    topic: str = Field(min_length=1, pattern=r"^[a-z_]+$")
    triggers: Terms


class IntentsFile(BaseModel):
    """``adloom/data/agent/intents.yaml``: topics per industry (and ``all``), signal words, connectives."""

    model_config = _STRICT

    topics: dict[str, list[TopicRule]]
    question: Terms
    greeting: Terms
    thanks: Terms
    wants_human: Terms
    abuse: Terms
    refuses_contact: Terms
    ready: Terms
    complaint: Terms
    legal: Terms
    self_harm: Terms
    minor: RegexTerms
    injection_extra: Terms
    placeholder: str
    connectives: RegexTerms

    @field_validator("topics")
    @classmethod
    def _known(cls, v: dict[str, list[TopicRule]]) -> dict[str, list[TopicRule]]:
        allowed = {"all", *(i.value for i in Industry)}
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise ValueError(f"unknown industries {unknown}; use 'all' or one of {sorted(allowed - {'all'})}")
        return v

    @field_validator("placeholder")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"placeholder {v!r} is not a valid regular expression ({exc})") from exc
        return v


def intent_rules() -> IntentsFile:
    """The shipped intent tables (validated once per process)."""
    return load_package_data(IntentsFile, "agent", "intents.yaml")


@dataclass(frozen=True)
class _Compiled:
    topics: dict[str, list[tuple[str, re.Pattern[str]]]]
    signals: dict[str, re.Pattern[str] | None]
    placeholder: re.Pattern[str]
    connectives: re.Pattern[str] | None


def _compiled(rules: IntentsFile) -> _Compiled:
    topics: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    shared = rules.topics.get("all", [])
    for industry in Industry:
        rows = [*rules.topics.get(industry.value, []), *shared]
        topics[industry.value] = [(r.topic, p) for r in rows if (p := r.triggers.pattern()) is not None]
    names = (
        "question greeting thanks wants_human abuse refuses_contact ready complaint legal self_harm minor "
        "injection_extra"
    ).split()
    signals = {n: getattr(rules, n).pattern() for n in names}
    return _Compiled(topics, signals, re.compile(rules.placeholder, re.IGNORECASE), rules.connectives.pattern())


_CACHE: dict[int, tuple[IntentsFile, _Compiled]] = {}


def _tables() -> _Compiled:
    """The compiled tables of the loaded file (recompiled when the file is reloaded)."""
    rules = intent_rules()
    cached = _CACHE.get(id(rules))
    if cached is None or cached[0] is not rules:
        cached = (rules, _compiled(rules))
        _CACHE.clear()
        _CACHE[id(rules)] = cached
    return cached[1]


@dataclass
class Need:
    """One thing the person wants to know or do, in their words."""

    text: str
    topic: str | None
    question: bool


@dataclass
class Analysis:
    """One message, read: see :func:`analyze`."""

    language: Language
    text: str  # cleaned (simplified Chinese, whitespace collapsed, injection sentences removed), ≤ MAX_CHARS
    needs: list[Need] = field(default_factory=list)
    greeting: bool = False
    thanks: bool = False
    wants_human: bool = False
    risk: RiskKind | None = None  # "complaint" | "legal" | "self_harm" | "minor" | None
    abuse: bool = False
    injection: bool = False
    placeholder: bool = False  # only a sticker/image/voice placeholder such as "[图片]"
    refuses_contact: bool = False
    ready: bool = False  # asks to book, visit, get a quote or be contacted
    empty: bool = False
    truncated: bool = False


def _hit(pattern: re.Pattern[str] | None, text: str) -> bool:
    return bool(pattern is not None and pattern.search(text))


def detect_topic(text: str, industry: Industry) -> str | None:
    """The first topic (in the data file's order: the industry's own, then shared ones) whose words occur."""
    for topic, pattern in _tables().topics[industry.value]:
        if pattern.search(text):
            return topic
    return None


def detect_topics(text: str, industry: Industry) -> frozenset[str]:
    """Every topic whose words occur in ``text`` ("保修多久" is about warranty and duration)."""
    return frozenset(topic for topic, pattern in _tables().topics[industry.value] if pattern.search(text))


def _language(text: str, default: Language) -> Language:
    """The majority language of ``text`` (CJK characters against Latin words); ``default`` when unclear."""
    zh, en = cjk_count(text), len(latin_words(text))
    if zh == en:
        return default
    return Language.zh if zh > en else Language.en


_QUESTION_END = re.compile(r"(?<=[?？])")
_SENTENCE_END = re.compile(r"(?<=[。！!；;\n])|(?<=[.])\s+")


def _parts(text: str) -> list[tuple[str, bool]]:
    """Parts of ``text`` split at sentence ends, question marks and connectives: (part, ends in "?")."""
    tables = _tables()
    out: list[tuple[str, bool]] = []
    for sentence in _SENTENCE_END.split(text):
        for chunk in _QUESTION_END.split(sentence):
            asked = chunk.rstrip().endswith(("?", "？"))
            pieces = tables.connectives.split(chunk) if tables.connectives is not None else [chunk]
            for i, piece in enumerate(pieces):
                piece = piece.strip(" ，,、；;。.!！")
                if piece:
                    out.append((piece, asked and i == len(pieces) - 1))
    return out


def _needs(text: str, industry: Industry) -> list[Need]:
    question = _tables().signals["question"]
    needs: list[Need] = []
    for part, asked in _parts(text):
        topic = detect_topic(part, industry)
        is_question = asked or _hit(question, part)
        if topic is None and not is_question:
            continue
        if needs and needs[-1].text == part:
            continue
        needs.append(Need(text=part, topic=topic, question=is_question))
    return needs


def analyze(
    text: str, *, default_language: Language, industry: Industry, extra_handover_words: Sequence[str] = ()
) -> Analysis:
    """Read one user message.

    ``default_language`` answers when the message has no clear majority language (digits, emoji,
    placeholders); ``extra_handover_words`` are the advertiser's own words for "get me a person".
    Sentences that try to instruct the agent are removed from ``text`` and ``needs`` (``injection`` says
    so); the legitimate rest of the message is still read.
    """
    tables = _tables()
    raw = text or ""
    truncated = len(raw) > MAX_CHARS
    clean = normalise_space(simplified(raw[:MAX_CHARS]))
    language = _language(clean, default_language)
    signals = tables.signals
    if not clean:
        return Analysis(language=language, text="", empty=True, truncated=truncated)
    if tables.placeholder.match(clean):
        return Analysis(language=language, text=clean, placeholder=True, truncated=truncated)

    injection = looks_like_injection(clean) or _hit(signals["injection_extra"], clean)
    body = clean
    if injection:
        kept, _ = sanitize_field(clean, max_chars=MAX_CHARS)
        extra = signals["injection_extra"]
        # sentences that ask for the prompt or a zero price go too, not only "ignore the instructions"
        sentences = re.findall(r"[^。！？!?.;；\n]+[。！？!?.;；]?", kept)
        body = normalise_space(" ".join(s for s in sentences if not _hit(extra, s)))

    human_words = [w.strip() for w in extra_handover_words if w.strip()]
    wants_human = _hit(signals["wants_human"], clean) or any(w.lower() in clean.lower() for w in human_words)
    risk = next((r for r in _RISKS if _hit(signals[r], clean)), None)
    refuses = _hit(signals["refuses_contact"], clean)
    return Analysis(
        language=language,
        text=body,
        needs=_needs(body, industry),
        greeting=_hit(signals["greeting"], clean),
        thanks=_hit(signals["thanks"], clean),
        wants_human=wants_human,
        risk=risk,
        abuse=_hit(signals["abuse"], clean),
        injection=injection,
        refuses_contact=refuses,
        ready=_hit(signals["ready"], body) and not refuses,
        truncated=truncated,
    )
