"""Answer-quality evaluation of :class:`~.answer.AnswerAgent` on a labelled question set (issue 15).

The set (``tests/scripts_gen/data/conversation_answer_eval.yaml``) holds one fixture advertiser per
industry and, per industry and language, questions labelled with the acceptable sources of the reply:
``faq:N``/``offer:N`` of the profile, ``ind:<id>`` of the industry pack, or ``unknown`` (the honest "let me
check with our advisor"). :func:`evaluate` answers every question and reports, per question, whether the
first source of each reply piece is acceptable (top-1 source accuracy) and any problem with the reply
itself: not compliant, not in the user's language, too long, a number its sources do not hold.

Used by ``tests/scripts_gen/test_conversation_eval.py`` (floors) and ``bench/answer_eval.py`` (the table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from adloom.core.protocols import Embedder
from adloom.core.text import cjk_count, numbers_in
from adloom.core.types import Industry, Language
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.conversation.answer import AnswerAgent, AnswerPiece, fits
from adloom.scripts_gen.conversation.intents import analyze
from adloom.scripts_gen.conversation.knowledge import industry_pack
from adloom.scripts_gen.conversation.model import AgentProfile, ConversationState

__all__ = ["Case", "EvalSet", "Outcome", "accuracy", "evaluate", "load_eval_set", "reply_problems"]

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Case:
    industry: Industry
    language: Language
    question: str
    expected: frozenset[str]
    second: frozenset[str] | None = None


@dataclass(frozen=True)
class EvalSet:
    today: date
    profiles: dict[Industry, AgentProfile]
    cases: list[Case]


@dataclass
class Outcome:
    case: Case
    pieces: list[AnswerPiece]
    got: list[str]  # per piece: its first source, or "unknown"
    correct: bool
    problems: list[str] = field(default_factory=list)


def _ids(spec: str) -> frozenset[str]:
    return frozenset(s.strip() for s in spec.split("|") if s.strip())


def load_eval_set(path: Path) -> EvalSet:
    """The labelled set at ``path`` (see the module docstring for its format)."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    profiles = {Industry(k): AgentProfile.model_validate(v) for k, v in raw["profiles"].items()}
    cases = []
    for industry, by_language in raw["cases"].items():
        for language, rows in by_language.items():
            for row in rows:
                if not 2 <= len(row) <= 3:
                    raise ValueError(f"{industry}/{language}: {row!r} must be [question, expected, (second)]")
                cases.append(
                    Case(
                        industry=Industry(industry),
                        language=Language(language),
                        question=str(row[0]),
                        expected=_ids(str(row[1])),
                        second=_ids(str(row[2])) if len(row) == 3 else None,
                    )
                )
    return EvalSet(today=raw["today"], profiles=profiles, cases=cases)


def _source_texts(profile: AgentProfile, ids: list[str]) -> str:
    out = []
    pack = industry_pack(profile.industry)
    for sid in ids:
        kind, _, key = sid.partition(":")
        if kind == "faq":
            out.append(profile.knowledge[int(key)].answer)
        elif kind == "offer":
            out.append(profile.offers[int(key)].text)
        elif kind == "ind" and pack is not None:
            entry = next(e for e in pack.entries if e.id == key)
            out += [entry.zh.a, entry.en.a]
    return " ".join(out)


#: Three Latin words in a row in a Chinese reply is an English sentence, not a brand or model name.
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[\s,]+[A-Za-z][A-Za-z'’-]*){2,}")


def reply_problems(
    profile: AgentProfile, piece: AnswerPiece, language: Language, checker: ComplianceChecker
) -> list[str]:
    """What is wrong with one reply piece (empty: nothing): compliance, language, length, numbers."""
    problems = []
    text = piece.text
    if checker.check(text, language=language, industry=profile.industry):
        problems.append("not compliant")
    if language == Language.en and cjk_count(text):
        problems.append("Chinese in an English reply")
    if language == Language.zh and _LATIN_RUN.search(text):
        problems.append("English words in a Chinese reply")
    if not fits(text, language):
        problems.append("too long")
    invented = numbers_in(text) - numbers_in(_source_texts(profile, piece.sources))
    if invented:
        problems.append(f"numbers not in its sources: {sorted(invented)}")
    return problems


def evaluate(
    eval_set: EvalSet, checker: ComplianceChecker | None = None, *, embedder: Embedder | None = None
) -> list[Outcome]:
    """Every case answered by a fresh conversation of its industry's fixture agent (retrieval blended with
    ``embedder``'s meaning when given)."""
    checker = checker if checker is not None else ComplianceChecker()
    agents = {
        i: AnswerAgent(p, checker=checker, today=eval_set.today, embedder=embedder)
        for i, p in eval_set.profiles.items()
    }
    outcomes = []
    for n, case in enumerate(eval_set.cases):
        profile = eval_set.profiles[case.industry]
        analysis = analyze(case.question, default_language=profile.language, industry=case.industry)
        pieces = agents[case.industry].answer(analysis, ConversationState(language=profile.language, turns=n))
        got = [p.sources[0] if p.sources else UNKNOWN for p in pieces]
        correct = bool(got) and got[0] in case.expected
        if case.second is not None:
            correct = correct and len(got) > 1 and got[1] in case.second
        problems = [] if analysis.language == case.language else [f"read as {analysis.language.value}"]
        for piece in pieces:
            problems += reply_problems(profile, piece, case.language, checker)
        outcomes.append(Outcome(case=case, pieces=pieces, got=got, correct=correct, problems=problems))
    return outcomes


def accuracy(outcomes: list[Outcome]) -> float:
    """Share of cases whose reply came from an acceptable source (0.0 for none)."""
    return sum(o.correct for o in outcomes) / len(outcomes) if outcomes else 0.0
