"""The reviewer's lexicon: ``adloom/data/copy/review.yaml`` validated and compiled once.

Everything the checks match against (units, claim words, generic phrases, meta labels, truncation
and grammar cues) is data a person can edit; this module only checks its shape and builds the
regular expressions.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adloom.core.datafiles import load_package_data
from adloom.core.types import Language

__all__ = ["ClaimGroup", "ReviewLexicon", "lexicon", "term_pattern"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _regexes_valid(patterns: list[str]) -> list[str]:
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"regex {p!r} is invalid ({exc}); fix it") from exc
    return patterns


class Numbers(_Strict):
    zh_digits: dict[str, float]
    zh_units: dict[str, float]
    zh_scales: dict[str, float]
    en_words: dict[str, float]
    en_scales: dict[str, float]
    zh_ordinal_prefixes: list[str]
    zh_clock_suffixes: list[str]
    en_clock_suffixes: list[str]


class ClaimGroup(_Strict):
    """Surface forms of one claim ("玻尿酸", "hyaluronic acid"); any form in the brief supports all."""

    kind: str
    terms: list[str] = Field(min_length=1)
    supported_by_offer: bool = False
    supported_by_price_zero: bool = False


class Meta(_Strict):
    en_labels: list[str]
    zh_terms: list[str]
    zh_label_colon: list[str]
    placeholders: list[str]

    _check = field_validator("placeholders")(_regexes_valid)


class Truncation(_Strict):
    zh_endings: list[str]
    zh_ending_exceptions: list[str]
    en_open: list[str]
    en_open_unpunctuated: list[str]
    en_adjectives: list[str]


class Grammar(_Strict):
    en_adjectives: list[str]
    en_not_plural: list[str]
    en_a_ok_prefixes: list[str]
    en_an_ok_prefixes: list[str]
    zh_broken: list[str]

    _check = field_validator("zh_broken")(_regexes_valid)


class ReviewLexicon(_Strict):
    """Schema of ``adloom/data/copy/review.yaml`` (see the comments in that file)."""

    numbers: Numbers
    units: dict[str, list[str]]
    zh_counters: list[str]
    claim_terms: list[ClaimGroup]
    claim_introducers: dict[Language, list[str]]
    comparisons: dict[Language, list[str]]
    generic_phrases: dict[Language, list[str]]
    accepted_latin: list[str]
    accepted_capitalised: list[str]
    meta: Meta
    truncation: Truncation
    grammar: Grammar
    compliance_not_claims: list[str]
    negations: dict[Language, list[str]]
    free_from: dict[Language, str]
    en_stopwords: frozenset[str]

    @field_validator("comparisons")
    @classmethod
    def _comparisons_valid(cls, value: dict[Language, list[str]]) -> dict[Language, list[str]]:
        for patterns in value.values():
            _regexes_valid(patterns)
        return value

    @field_validator("free_from")
    @classmethod
    def _free_from_valid(cls, value: dict[Language, str]) -> dict[Language, str]:
        _regexes_valid(list(value.values()))
        return value

    @cached_property
    def unit_forms(self) -> list[tuple[str, str]]:
        """``(surface form, canonical unit)``, longest form first so "个小时" wins over "小时"."""
        pairs = [(form.lower(), unit) for unit, forms in self.units.items() for form in forms]
        return sorted(pairs, key=lambda p: len(p[0]), reverse=True)

    @cached_property
    def comparison_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p, re.IGNORECASE) for ps in self.comparisons.values() for p in ps)

    @cached_property
    def placeholder_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in self.meta.placeholders)


def term_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex matching any of ``terms``: CJK as substrings, Latin as whole words, longest first."""
    return _term_pattern(tuple(sorted(set(terms), key=len, reverse=True)))


@lru_cache(maxsize=256)
def _term_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    parts = []
    for t in terms:
        body = re.escape(t)
        if t[:1].isascii() and t[:1].isalnum():
            body = r"(?<![A-Za-z0-9])" + body
        if t[-1:].isascii() and t[-1:].isalnum():
            body += r"(?![A-Za-z0-9])"
        parts.append(body)
    return re.compile("|".join(parts), re.IGNORECASE)


def lexicon() -> ReviewLexicon:
    """The shipped lexicon, validated once per process (again if the file changes)."""
    return load_package_data(ReviewLexicon, "copy", "review.yaml")
