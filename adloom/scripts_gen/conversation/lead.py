"""The lead agent: when to ask for contact details, how, and what to keep of what the person gives.

It never answers questions (that is :mod:`.answer`'s job) and never decides the order of a turn (that is
:mod:`.policy`'s). Per turn it

1. stores the contact details the message gave, validated (:func:`~.contacts.extract_contacts`); a detail that
   looked like a phone number or email but failed validation becomes a ``clarify`` reply saying what is wrong;
2. says whether an ask is allowed now and which one fits (:meth:`LeadAgent.plan`). The manners are rules, not
   weights: never to a minor, never after a refusal, never twice in a row (at least ``turns_between_asks`` agent
   turns apart), at most ``max_asks`` per conversation, never once a way to reach the person is stored (then at
   most one optional extra detail, e.g. the city, asked once).

The wording lives in ``adloom/data/agent/lead.yaml`` (schema :class:`LeadFile`): every ask says what the number
is for and that declining is fine (consent), and variants rotate, seeded by the conversation.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adloom.core.datafiles import load_package_data
from adloom.core.types import Language
from adloom.scripts_gen.conversation.contacts import Extracted
from adloom.scripts_gen.conversation.model import (
    REACH_FIELDS,
    AgentProfile,
    ContactField,
    ConversationState,
)

__all__ = ["AskKind", "LeadAgent", "LeadFile", "LeadMove", "Variants", "lead_phrases"]

AskKind = Literal["after_answer", "after_unknown", "ready", "closing", "first", "extra"]


class Variants(BaseModel):
    """Wordings of one line per language (at least one each)."""

    model_config = ConfigDict(extra="forbid")

    zh: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)

    def pick(self, language: Language, rng: random.Random) -> str:
        options = self.zh if language == Language.zh else self.en
        return rng.choice(options)


class _Asks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_answer: Variants
    after_unknown: Variants
    ready: Variants
    closing: Variants
    first: Variants
    extra: Variants


class _OpenClosed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    open: Variants
    closed: Variants


class _Handover(_OpenClosed):
    risk: Variants
    self_harm: Variants


class LeadFile(BaseModel):
    """Schema of ``adloom/data/agent/lead.yaml``."""

    model_config = ConfigDict(extra="forbid")

    field_names: dict[Literal["zh", "en"], dict[ContactField, str]]
    ask: _Asks
    thanks: _OpenClosed
    clarify: Variants
    refused: Variants
    greeting: Variants
    you_are_welcome: Variants
    placeholder: Variants
    steer: Variants
    repeat: Variants
    listening: Variants
    minor_contact: Variants
    abuse: Variants
    minor: Variants
    handover: _Handover

    @model_validator(mode="after")
    def _every_field_named(self) -> LeadFile:
        for lang in ("zh", "en"):
            missing = set(REACH_FIELDS + ("city", "budget", "timing")) - set(self.field_names.get(lang, {}))
            if missing:
                raise ValueError(f"field_names.{lang} lacks {sorted(missing)}")
        return self


@functools.cache
def lead_phrases() -> LeadFile:
    return load_package_data(LeadFile, "agent", "lead.yaml")


@dataclass(frozen=True)
class LeadMove:
    """The lead agent's proposal for this turn: an ask (or None) and why."""

    ask: AskKind | None
    reason: str
    field: ContactField | None = None  # the extra detail asked for (kind "extra")


class LeadAgent:
    """Decides asks and keeps validated contact details; see the module docstring for the rules."""

    def __init__(self, profile: AgentProfile) -> None:
        self.profile = profile
        self.phrases = lead_phrases()

    # -- keeping what the person gave -------------------------------------------------------------------------

    def absorb(self, state: ConversationState, found: Extracted) -> tuple[list[ContactField], list[ContactField]]:
        """Store the valid details of ``found`` in ``state.lead`` (never for a minor); returns (new fields,
        invalid fields). A detail already stored is replaced by a newer valid one (people correct themselves)."""
        if state.minor:
            return [], []
        new: list[ContactField] = []
        for name in found.fields():
            value = getattr(found, name)
            if getattr(state.lead, name) != value:
                setattr(state.lead, name, value)
                new.append(name)
        invalid = [f for f, _raw, _why in found.invalid if f not in found.fields()]
        return new, invalid

    # -- asking ------------------------------------------------------------------------------------------------

    def blocked(self, state: ConversationState) -> str | None:
        """Why no ask is allowed at all this turn, or None."""
        cfg = self.profile.lead
        if state.minor:
            return "the person is a minor: no contact details are asked for"
        if state.refused:
            return "the person declined to share contact details"
        if state.handed_over:
            return "a person has taken over"
        if not state.captured and state.asks >= cfg.max_asks:
            return f"already asked {state.asks} times (at most {cfg.max_asks})"
        if state.last_ask_turn is not None and state.turns - state.last_ask_turn < cfg.turns_between_asks:
            return f"asked {state.turns - state.last_ask_turn} turn(s) ago (at least {cfg.turns_between_asks} apart)"
        return None

    def plan(
        self,
        state: ConversationState,
        *,
        answered: bool,
        unknown: bool,
        ready: bool,
        policy_first: bool,
        closing: bool = False,
    ) -> LeadMove:
        """Whether to ask this turn. ``answered``: a need was answered from knowledge this turn; ``unknown``: a need
        could not be answered (a person can); ``ready``: the person asked how to book, visit or be contacted;
        ``policy_first``: the lead-first baseline, which asks from the first reply on; ``closing``: the person is
        saying thanks with no new question (the natural moment for a last, easy offer once they were helped)."""
        why_not = self.blocked(state)
        if why_not:
            return LeadMove(None, why_not)
        cfg = self.profile.lead
        if state.captured:
            wanted = [f for f in cfg.extra_fields if not getattr(state.lead, f)]
            if wanted and not state.asked_extra and (answered or ready):
                return LeadMove("extra", f"contact stored; one optional detail: {wanted[0]}", wanted[0])
            return LeadMove(None, "contact stored; nothing more to ask")
        if policy_first:
            return LeadMove("first", "lead-first baseline: ask before anything else")
        if ready:
            return LeadMove("ready", "the person asked how to book or be contacted")
        if closing and state.answered_turns >= 1:
            return LeadMove("closing", "the person is wrapping up after being helped: one last, easy offer")
        if unknown and state.answered_turns + (1 if answered else 0) >= 1:
            return LeadMove("after_unknown", "a question only an advisor can answer, after an answered one")
        if answered and state.answered_turns + 1 > cfg.answers_before_ask:
            return LeadMove(
                "after_answer",
                f"{state.answered_turns + 1} turn(s) answered (asks after {cfg.answers_before_ask})",
            )
        if unknown and cfg.answers_before_ask == 0:
            return LeadMove("after_unknown", "a question only an advisor can answer")
        return LeadMove(None, "answering first: the person has not had an answer yet")

    def ask_text(self, move: LeadMove, language: Language, rng: random.Random) -> str:
        assert move.ask is not None
        variants: Variants = getattr(self.phrases.ask, move.ask)
        text = variants.pick(language, rng)
        if move.field is not None:
            text = text.replace("{field}", self.field_name(move.field, language))
        return text

    def field_name(self, name: ContactField, language: Language) -> str:
        return self.phrases.field_names["zh" if language == Language.zh else "en"][name]
