"""Campaign objectives: what a script asks the viewer to do, and which hooks it may open with.

An ad for a free-to-download game that ends on "立即购买", or a savings account that says
"Shop now", is wrong before any word is checked for law. The brief's
:class:`~adloom.core.types.Objective` (or its industry's default) fixes the call to action:
the button, the spoken CTA templates, the words a line must not use, and the hook types that
fit. The tables live in ``adloom/data/copy/objectives.yaml``; this module validates and
answers from them.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adloom.core.datafiles import load_package_data
from adloom.core.types import Brief, HookType, Industry, Language, Objective

__all__ = [
    "CTA_SLOTS",
    "ObjectiveProfile",
    "ObjectivesFile",
    "cta_templates",
    "fitting_hooks",
    "forbidden_cta_terms_in",
    "has_before_after_material",
    "hook_fits",
    "objective_profile",
    "resolve_objective",
]

#: Slots a CTA template may use: the product name, a short reference to it, the brief's offer.
CTA_SLOTS = frozenset({"name", "ref", "offer"})

_DATA_FILE = ("copy", "objectives.yaml")


def _slots(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


class ObjectiveProfile(BaseModel):
    """How scripts for one objective end: the button, spoken CTA templates, banned words, fitting hooks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    button: dict[Language, str]
    cta_lines: dict[Language, list[str]]
    forbidden_cta_terms: dict[Language, list[str]]
    cta_verbs: dict[Language, list[str]] = Field(
        default_factory=dict, description="Words of which a CTA line for this objective should contain one."
    )
    hooks: list[HookType] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> ObjectiveProfile:
        for name in ("button", "cta_lines", "forbidden_cta_terms"):
            missing = [lang.value for lang in Language if not getattr(self, name).get(lang)]
            if missing:
                raise ValueError(f"{name} has nothing for language(s) {', '.join(missing)}; add them")
        for lang, lines in self.cta_lines.items():
            for line in lines:
                unknown = _slots(line) - CTA_SLOTS
                if unknown:
                    raise ValueError(
                        f"cta_lines.{lang.value}: {line!r} uses unknown slot(s) {sorted(unknown)}; "
                        f"use only {sorted(CTA_SLOTS)}"
                    )
        return self


class ObjectivesFile(BaseModel):
    """Schema of ``adloom/data/copy/objectives.yaml``."""

    model_config = ConfigDict(extra="forbid")

    industry_defaults: dict[Industry, Objective]
    objectives: dict[Objective, ObjectiveProfile]
    industry_excluded_hooks: dict[Industry, list[HookType]] = Field(default_factory=dict)
    before_after_markers: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> ObjectivesFile:
        missing_ind = [i.value for i in Industry if i not in self.industry_defaults]
        if missing_ind:
            raise ValueError(f"industry_defaults has no objective for {', '.join(missing_ind)}; add them")
        missing_obj = [o.value for o in Objective if o not in self.objectives]
        if missing_obj:
            raise ValueError(f"objectives has no profile for {', '.join(missing_obj)}; add them")
        return self


def _data() -> ObjectivesFile:
    return load_package_data(ObjectivesFile, *_DATA_FILE)


def resolve_objective(brief: Brief) -> Objective:
    """The brief's objective, else its industry's default (games → app_install, finance → leads, …)."""
    if brief.objective is not None:
        return brief.objective
    return _data().industry_defaults[brief.industry]


def objective_profile(objective: Objective) -> ObjectiveProfile:
    """The button, CTA templates, forbidden words and fitting hooks of ``objective``."""
    return _data().objectives[Objective(objective)]


@lru_cache(maxsize=32)
def _marker_pattern(markers: tuple[str, ...]) -> re.Pattern[str]:
    parts = [rf"(?<![A-Za-z]){re.escape(m)}(?![A-Za-z])" if m.isascii() else re.escape(m) for m in markers]
    return re.compile("|".join(parts), re.IGNORECASE)


def has_before_after_material(brief: Brief) -> bool:
    """Whether an asset's description says it shows a before/after contrast (对比, 前后, before/after)."""
    pattern = _marker_pattern(tuple(_data().before_after_markers))
    return any(pattern.search(a.description) for a in brief.assets)


def hook_fits(brief: Brief, hook: HookType) -> bool:
    """Whether ``hook`` can open a script for ``brief``.

    The objective's hooks, minus those the industry can never carry (unboxing a savings plan,
    before/after for a game), minus before/after without before/after footage among the assets,
    minus a price reveal when there is neither a price nor an offer.
    """
    data = _data()
    hook = HookType(hook)
    if hook not in objective_profile(resolve_objective(brief)).hooks:
        return False
    if hook in data.industry_excluded_hooks.get(brief.industry, []):
        return False
    if hook == HookType.before_after and not has_before_after_material(brief):
        return False
    if hook == HookType.price_reveal and brief.product.price is None and not brief.product.offer:
        return False
    return True


def fitting_hooks(brief: Brief) -> list[HookType]:
    """Every hook type :func:`hook_fits` allows for ``brief``, in :class:`HookType` order."""
    return [h for h in HookType if hook_fits(brief, h)]


def cta_templates(objective: Objective, language: Language, *, has_offer: bool) -> list[str]:
    """The objective's spoken CTA templates in ``language``; those with an {offer} slot only if there is one."""
    lines = objective_profile(objective).cta_lines[Language(language)]
    return [line for line in lines if has_offer or "offer" not in _slots(line)]


@lru_cache(maxsize=64)
def _term_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    ordered = sorted(terms, key=len, reverse=True)  # "shop now" before "shop"
    parts = [rf"(?<![A-Za-z]){re.escape(t)}(?![A-Za-z])" if t.isascii() else re.escape(t) for t in ordered]
    return re.compile("|".join(parts), re.IGNORECASE)


def forbidden_cta_terms_in(text: str, objective: Objective, language: Language) -> list[tuple[str, int, int]]:
    """Spans of ``text`` that use a word the objective forbids (e.g. "buy" in an app-install ad).

    Both languages' lists apply, as mixed copy ("立即buy") is common; English terms match as whole
    words. Returns ``(term as written, start, end)`` in order of appearance.
    """
    profile = objective_profile(objective)
    first = Language(language)
    terms = [
        *profile.forbidden_cta_terms[first],
        *(t for lang, ts in profile.forbidden_cta_terms.items() if lang != first for t in ts),
    ]
    pattern = _term_pattern(tuple(terms))
    if pattern is None:
        return []
    return [(m.group(0), m.start(), m.end()) for m in pattern.finditer(text)]
