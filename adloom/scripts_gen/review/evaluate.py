"""Scoring the reviewer on a labelled set of ad lines: precision and recall per rule.

The set is YAML (``tests/scripts_gen/data/copy_review_set.yaml``): cases, each a brief, an optional
exemplar (its lines) and labelled lines (``text``, ``field``, ``role``, ``defects``), plus the
brief's own expected findings (``brief_findings``: fields such as ``product.selling_points[3]``).
``bench/copy_review.py`` prints the scores; the tests hold them to the issue's target.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field

from adloom.core.datafiles import load_data
from adloom.core.types import Brief, Industry, Provenance, Script, Shot, ShotRole
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.review.finding import Finding, Rule
from adloom.scripts_gen.review.reviewer import Reviewer

__all__ = ["Evaluation", "LabelledSet", "LineResult", "RuleScore", "evaluate", "exemplar_script", "load_labelled_set"]

#: Rules a single line can be labelled with (coverage is per script or set, brief per brief).
LINE_RULES: tuple[str, ...] = tuple(r for r in get_args(Rule) if r not in ("coverage", "brief"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelledLine(_Strict):
    text: str = Field(min_length=1)
    field: str
    role: ShotRole | None = None
    defects: list[Rule] = Field(default_factory=list)


class ExemplarLines(_Strict):
    """An exemplar given as its lines: the first is the hook, the last the CTA, the rest narration."""

    industry: Industry
    lines: list[str] = Field(min_length=3)


class LabelledCase(_Strict):
    id: str
    brief: Brief
    exemplar: ExemplarLines | None = None
    brief_findings: list[str] = Field(default_factory=list)
    lines: list[LabelledLine] = Field(min_length=1)


class LabelledSet(_Strict):
    version: int
    cases: list[LabelledCase] = Field(min_length=1)


def load_labelled_set(path: Path) -> LabelledSet:
    """The labelled set at ``path``, validated (errors name the file, key and line)."""
    return load_data(path, LabelledSet)


def exemplar_script(spec: ExemplarLines, brief: Brief) -> Script:
    """A library-style Script holding the exemplar's lines (hook, one narrated shot per line, CTA)."""
    body = spec.lines[1:-1]
    shots = [
        Shot(index=i, role=ShotRole.feature, duration_s=2.0, visual="product close-up", narration=t)
        for i, t in enumerate(body)
    ]
    return Script(
        language=brief.language,
        industry=spec.industry,
        title="exemplar",
        hook=spec.lines[0],
        hook_type="demo",
        angle="quality",
        cta=spec.lines[-1],
        shots=shots,
        provenance=Provenance(path="sample"),
    )


@dataclass
class RuleScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class LineResult:
    case: str
    line: LabelledLine
    findings: list[Finding]

    @property
    def predicted(self) -> set[str]:
        return {f.rule for f in self.findings}

    @property
    def expected(self) -> set[str]:
        return set(self.line.defects)


@dataclass
class Evaluation:
    lines: list[LineResult] = field(default_factory=list)
    per_rule: dict[str, RuleScore] = field(default_factory=lambda: {r: RuleScore() for r in LINE_RULES})
    brief: RuleScore = field(default_factory=RuleScore)
    #: (expected rule or "clean", predicted rule or "clean") → count, over lines.
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def overall(self) -> RuleScore:
        total = RuleScore()
        for s in self.per_rule.values():
            total.tp, total.fp, total.fn = total.tp + s.tp, total.fp + s.fp, total.fn + s.fn
        return total

    @property
    def line_accuracy(self) -> float:
        """Share of lines whose predicted rule set equals the labelled one."""
        return sum(r.predicted == r.expected for r in self.lines) / len(self.lines)


def evaluate(labelled: LabelledSet, *, checker: ComplianceChecker | None = None) -> Evaluation:
    """Run the reviewer over every labelled line and brief; count hits, false alarms and misses per rule."""
    checker = checker if checker is not None else ComplianceChecker(extra_terms=None)
    out = Evaluation()
    for case in labelled.cases:
        exemplar = exemplar_script(case.exemplar, case.brief) if case.exemplar else None
        reviewer = Reviewer(case.brief, exemplar=exemplar, checker=checker)
        found = {f.field for f in reviewer.brief_findings()}
        expected = set(case.brief_findings)
        out.brief.tp += len(found & expected)
        out.brief.fp += len(found - expected)
        out.brief.fn += len(expected - found)
        for line in case.lines:
            result = LineResult(case.id, line, reviewer.review_line(line.text, field=line.field, role=line.role))
            out.lines.append(result)
            for rule in LINE_RULES:
                score = out.per_rule[rule]
                hit, want = rule in result.predicted, rule in result.expected
                score.tp += hit and want
                score.fp += hit and not want
                score.fn += want and not hit
            for e in result.expected or {"clean"}:
                for p in result.predicted or {"clean"}:
                    out.confusion[(e, p)] += 1
    return out
