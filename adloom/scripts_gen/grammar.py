"""Phrase grammars for the deterministic script writer, kept as data (``adloom/data/copy/grammar_<lang>.yaml``).

A line of template copy is a phrase with slots, and every slot is a fact the brief gives: the
product name, a short reference derived from the product's category noun ("这副耳机", "these
earbuds"), a selling point verbatim, the price, the offer, the audience. A phrase whose slot the
brief cannot fill is never used, so no line states a price the brief does not have, an offer it
does not make, or a number it never gave. Measure words (这副耳机, 这门课) and English agreement
(an app, these earbuds are) come from the noun table, not from the phrases.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adloom.core.datafiles import load_package_data
from adloom.core.text import upper_first
from adloom.core.types import Brief, HookType, Industry, Language, Objective, ShotRole

__all__ = [
    "SLOTS",
    "BriefFacts",
    "GrammarFile",
    "Noun",
    "Phrase",
    "brief_facts",
    "fill",
    "load_grammar",
    "phrase_slots",
]

#: Every slot a phrase may use (capitalised forms are the same fact with its first letter upper-cased).
SLOTS = frozenset(
    {
        "name",
        "ref",
        "Ref",
        "noun",
        "a_noun",
        "measure",
        "it",
        "It",
        "is",
        "its",
        "them",
        "s",
        "point",
        "Point",
        "price",
        "Price",
        "offer",
        "Offer",
        "audience",
    }
)


def phrase_slots(text: str) -> set[str]:
    """The slot names a phrase uses (``{point}`` → ``point``)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


class Phrase(BaseModel):
    """One line pattern, with where it may be used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=200)
    objectives: list[Objective] = Field(default_factory=list, description="Empty: any objective.")
    industries: list[Industry] = Field(default_factory=list, description="Empty: any industry.")
    exclude_industries: list[Industry] = Field(default_factory=list)
    when: Literal["any", "first", "later"] = "any"
    plural_noun: bool | None = None  # only with a plural (True) or singular (False) category noun

    @model_validator(mode="after")
    def _known_slots(self) -> Phrase:
        unknown = phrase_slots(self.text) - SLOTS
        if unknown:
            raise ValueError(f"{self.text!r} uses unknown slot(s) {sorted(unknown)}; use only {sorted(SLOTS)}")
        return self

    def usable(self, *, objective: Objective, industry: Industry, plural: bool) -> bool:
        """Whether this phrase may be used for a brief with this objective, industry and noun number."""
        return (
            (not self.objectives or objective in self.objectives)
            and (not self.industries or industry in self.industries)
            and industry not in self.exclude_industries
            and (self.plural_noun is None or self.plural_noun == plural)
        )


class Noun(BaseModel):
    """A category noun: the words that identify it in a product name or description, and its grammar."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    words: list[str] = Field(default_factory=list)
    noun: str = Field(min_length=1, max_length=20)
    measure: str = Field("", max_length=2, description="zh measure word: 支, 副, 台, 件, 门 …")
    plural: bool = False  # en: earbuds, jeans
    article: Literal["", "a", "an"] = ""  # en: override the a/an guessed from the first letter


class GrammarFile(BaseModel):
    """Schema of ``adloom/data/copy/grammar_<lang>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    language: Language
    nouns: list[Noun] = Field(min_length=1)
    industry_nouns: dict[Industry, Noun]
    hooks: dict[HookType, list[Phrase]]
    roles: dict[ShotRole, list[Phrase]]
    #: Spoken CTAs per objective, used beside the objective profile's own (more choice per variant).
    ctas: dict[Objective, list[Phrase]] = Field(default_factory=dict)
    visuals: dict[ShotRole, list[str]]

    @model_validator(mode="after")
    def _complete(self) -> GrammarFile:
        missing = [i.value for i in Industry if i not in self.industry_nouns]
        if missing:
            raise ValueError(f"industry_nouns has no noun for {', '.join(missing)}; add them")
        missing = [h.value for h in HookType if not self.hooks.get(h)]
        if missing:
            raise ValueError(f"hooks has no phrase for {', '.join(missing)}; add at least one each")
        body = [r for r in ShotRole if r not in (ShotRole.hook, ShotRole.cta)]
        missing = [r.value for r in body if not self.roles.get(r)]
        if missing:
            raise ValueError(f"roles has no phrase for {', '.join(missing)}; add at least one each")
        missing = [r.value for r in ShotRole if not self.visuals.get(r)]
        if missing:
            raise ValueError(f"visuals has nothing for {', '.join(missing)}; add at least one each")
        for role, texts in self.visuals.items():
            bad = [t for t in texts if phrase_slots(t) - {"noun", "name"}]
            if bad:
                raise ValueError(f"visuals.{role.value}: {bad[0]!r} may use only {{noun}} and {{name}}")
        if self.language == Language.zh:
            unmeasured = [n.noun for n in [*self.nouns, *self.industry_nouns.values()] if not n.measure]
            if unmeasured:
                raise ValueError(f"Chinese nouns need a measure word (这支精华, 这副耳机): {', '.join(unmeasured)}")
        return self


def load_grammar(language: Language) -> GrammarFile:
    """The shipped phrase grammar of ``language``, validated (errors name the file, key and line)."""
    return load_package_data(GrammarFile, "copy", f"grammar_{Language(language).value}.yaml")


def _find(words: Sequence[str], text: str, *, ascii_words: bool) -> int:
    """Position of the earliest of ``words`` in ``text`` (-1 if none); English words match whole."""
    best = -1
    for w in sorted(words, key=len, reverse=True):
        if ascii_words and w.isascii():
            m = re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text, re.IGNORECASE)
            pos = m.start() if m else -1
        else:
            pos = text.find(w)
        if pos >= 0 and (best < 0 or pos < best):
            best = pos
    return best


def category_noun(brief: Brief, grammar: GrammarFile) -> Noun:
    """The product's category noun: the last one named in the product name (its head noun), else the
    first in the description, else the industry's default."""
    en = grammar.language == Language.en
    name, description = brief.product.name, brief.product.description
    in_name = [(pos, n) for n in grammar.nouns if (pos := _find(n.words, name, ascii_words=en)) >= 0]
    if in_name:
        return max(in_name, key=lambda x: x[0])[1]
    in_desc = [(pos, n) for n in grammar.nouns if (pos := _find(n.words, description, ascii_words=en)) >= 0]
    if in_desc:
        return min(in_desc, key=lambda x: x[0])[1]
    return grammar.industry_nouns[brief.industry]


#: Names longer than this are spoken once per script; people say "this hub", "这款中枢".
LONG_NAME_CHARS = {Language.zh: 12, Language.en: 28}


@dataclass(frozen=True)
class BriefFacts:
    """The facts a template line may state, each taken from the brief (never invented).

    ``name`` is "" when the product name itself carries a claim the reviewer rejects: then every
    line refers to the product by its category noun and nothing renames it.
    """

    language: Language
    industry: Industry
    objective: Objective
    name: str
    noun: Noun
    points: tuple[str, ...]
    price: str
    offer: str
    audience: str

    @property
    def ref(self) -> str:
        """The short reference: 这副耳机 / this serum / these earbuds."""
        if self.language == Language.zh:
            return f"这{self.noun.measure}{self.noun.noun}"
        return f"{'these' if self.noun.plural else 'this'} {self.noun.noun}"

    @property
    def long_name(self) -> bool:
        return len(self.name) > LONG_NAME_CHARS[self.language]

    def slots(self, point: str = "") -> dict[str, str]:
        """Slot values for one line; a missing fact is absent, so a phrase needing it cannot be filled."""
        n = self.noun
        values = {
            "ref": self.ref,
            "Ref": upper_first(self.ref),
            "noun": n.noun,
            "measure": n.measure,
        }
        if self.language == Language.en:
            article = n.article or ("an" if n.noun[:1].lower() in "aeiou" else "a")
            values |= {
                "a_noun": n.noun if n.plural else f"{article} {n.noun}",
                "it": "they" if n.plural else "it",
                "It": "They" if n.plural else "It",
                "is": "are" if n.plural else "is",
                "its": "their" if n.plural else "its",
                "s": "" if n.plural else "s",
                "them": "them" if n.plural else "it",
            }
        optional = {
            "name": self.name,
            "point": point.strip().rstrip("。.!！；;，,"),
            "price": self.price,
            "offer": self.offer.strip().rstrip("。.!！"),
            "audience": self.audience.strip().rstrip("。.!！"),
        }
        for key, value in optional.items():
            if value:
                values[key] = value
                values[key.capitalize()] = upper_first(value)
        return values


def brief_facts(
    brief: Brief,
    *,
    objective: Objective,
    points: Sequence[str],
    name_usable: bool = True,
    offer_usable: bool = True,
    audience_usable: bool = True,
    grammar: GrammarFile | None = None,
) -> BriefFacts:
    """The facts of ``brief`` a template may use: only the usable selling points; the name, offer and
    audience only when usable (the caller passes False for one the reviewer found a claim in)."""
    grammar = grammar or load_grammar(brief.language)
    p = brief.product
    return BriefFacts(
        language=brief.language,
        industry=brief.industry,
        objective=Objective(objective),
        name=p.name if name_usable else "",
        noun=category_noun(brief, grammar),
        points=tuple(points),
        price=_price(brief),
        offer=p.offer if offer_usable else "",
        audience=brief.audience if audience_usable and "\n" not in brief.audience else "",
    )


def _price(brief: Brief) -> str:
    """The price as spoken; a price of 0 is said as free (免费 / free), never "到手价0元"."""
    if brief.product.price == 0:
        return "免费" if brief.language == Language.zh else "free"
    return brief.product.price_text(brief.language)


def fill(text: str, slots: Mapping[str, str]) -> str | None:
    """``text`` with its slots filled, or None when a slot has no fact to fill it."""
    needed = phrase_slots(text)
    if not needed <= slots.keys():
        return None
    return text.format_map(dict(slots))
