"""One problem the copy reviewer found in a line, a script, a set of scripts or the brief."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Finding", "Rule"]

Rule = Literal[
    "grounding",
    "leakage",
    "repetition",
    "meta",
    "truncated",
    "language",
    "compliance",
    "grammar",
    "cta",
    "coverage",
    "brief",
]


class Finding(BaseModel):
    """A reviewer finding: which rule, where, the offending span, why, and a suggested replacement.

    ``field`` uses ComplianceFinding's paths ("hook", "shots[2].caption"); "" for script- or set-level
    findings; "product.selling_points[2]", "product.name", "product.offer" for the brief's own claims.
    ``fix`` is the suggested replacement for ``span``; "" means drop the span (or the line).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Rule
    field: str
    span: str
    start: int = -1
    end: int = -1
    why: str
    fix: str = ""
