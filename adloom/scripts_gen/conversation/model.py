"""Types of a lead-capture conversation: the advertiser's agent profile, one conversation's state, one turn's result.

These are the seams between the parts of :mod:`adloom.scripts_gen.conversation`:

* :class:`AgentProfile` — what an advertiser configures (YAML or the API): business, industry, their FAQ and
  offers, working hours, hand-over rules, the ordering policy between the answer agent and the lead agent, and
  the pacing model. ``extra="forbid"``: a typo in an agent file is an error that names the key.
* :class:`ConversationState` — everything the engine needs to carry from one user message to the next. It is
  plain JSON (serving stores it in a column), bounded in size (the last :data:`HISTORY_KEPT` messages only).
* :class:`TurnResult` — what one user message produced: the replies in sending order, each with its pause
  before sending; the policy's decision and its reason; what contact details the message gave; whether a lead
  was captured or the conversation handed over to a person.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from adloom.core.types import Industry, Language

__all__ = [
    "CONTACT_FIELDS",
    "HISTORY_KEPT",
    "AgentProfile",
    "ContactField",
    "ConversationState",
    "Decision",
    "DecisionAction",
    "FaqEntry",
    "HandoverConfig",
    "LeadConfig",
    "LeadInfo",
    "Message",
    "Offer",
    "PacingConfig",
    "PolicyName",
    "Reply",
    "ReplyKind",
    "TurnResult",
    "WorkingHours",
]

#: Messages a conversation's state keeps for context (the full log lives with serving).
HISTORY_KEPT = 12

ContactField = Literal["phone", "wechat", "email", "city", "budget", "timing"]
CONTACT_FIELDS: tuple[ContactField, ...] = ("phone", "wechat", "email", "city", "budget", "timing")
#: Ways to reach the person; a lead needs at least one of them.
REACH_FIELDS: tuple[ContactField, ...] = ("phone", "wechat", "email")

#: ``answer_first``: the two-agent design — answer every need first, ask for contact details only once the
#: person is engaged (or in the same turn when they signal they are ready). ``lead_first``: the single-agent
#: baseline that asks for a phone number from the first reply on (kept for the benchmark and A/B tests).
PolicyName = Literal["answer_first", "lead_first"]

#: ``ask``: the lead agent asks for contact details; ``clarify``: a detail the person gave did not validate and
#: the agent says what is wrong (not an ask: the person is already sharing); ``thanks``: a lead was captured;
#: ``notice``: anything else that is not an answer (stickers, empty messages, off-hours, a refusal accepted);
#: ``decline``: abuse or an instruction the agent will not follow.
ReplyKind = Literal["greeting", "answer", "ask", "clarify", "thanks", "handover", "notice", "decline"]
DecisionAction = Literal[
    "greet", "answer", "ask", "answer_then_ask", "thanks", "answer_then_thanks", "handover", "decline", "notice"
]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class FaqEntry(BaseModel):
    """One question the advertiser answers, and their answer (the only source of their prices and promises)."""

    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Offer(BaseModel):
    """A current offer the agent may mention, word for word; ``until`` ends it (inclusive, the agent's timezone)."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    until: date | None = None


class WorkingHours(BaseModel):
    """When people are at work to take over; outside these hours the agent still answers and says when a person
    will call back. Days are ISO weekdays (1 = Monday)."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "Asia/Shanghai"
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1)
    start: time = time(9, 0)
    end: time = time(21, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {v!r}; use an IANA name such as Asia/Shanghai") from exc
        return v

    @field_validator("start", "end")
    @classmethod
    def _local(cls, v: time) -> time:
        if v.tzinfo is not None:
            raise ValueError(f"{v.isoformat()} carries a zone; give a local time such as 09:00 (zone: `timezone`)")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}; give hours within one day")
        return self

    def open_at(self, moment: datetime) -> bool:
        """Whether ``moment`` (aware) falls inside working hours in this timezone."""
        local = moment.astimezone(zoneinfo.ZoneInfo(self.timezone))
        return local.isoweekday() in self.days and self.start <= local.time() < self.end


class HandoverConfig(BaseModel):
    """When a person takes over: the user asks for one (always), or writes a risk word (complaint, legal threat,
    self-harm, a minor) when ``on_risk``. ``words`` adds the advertiser's own trigger words to the shipped ones."""

    model_config = ConfigDict(extra="forbid")

    on_request: bool = True
    on_risk: bool = True
    words: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=200
    )


ExtraField = Literal["city", "budget", "timing"]


def _city_only() -> list[ExtraField]:
    return ["city"]


class LeadConfig(BaseModel):
    """The lead agent's manners: when it may ask, how often, and what a complete lead holds."""

    model_config = ConfigDict(extra="forbid")

    policy: PolicyName = "answer_first"
    #: Turns with an answered question before the turn of the first ask (answer_first only). 0: the first ask may
    #: follow the first answer, in the same turn — after it, never before. With 1, people with a single question
    #: leave before any ask (bench/lead_agent.py, simulated users: 66 % vs 97 % reply twice; capture 36 % vs 61 %).
    answers_before_ask: int = Field(default=0, ge=0, le=10)
    #: Agent turns that must pass between two asks; an ask is never followed by another ask.
    turns_between_asks: int = Field(default=2, ge=1, le=10)
    #: Asks in one conversation, at most; after a refusal, none.
    max_asks: int = Field(default=2, ge=1, le=5)
    #: Details worth asking for after a way to reach the person (one at a time, never pressed).
    extra_fields: list[ExtraField] = Field(default_factory=_city_only, max_length=3)


class PacingConfig(BaseModel):
    """The typing model: a pause to "read" the user's message, then typing time per character, with jitter, within
    bounds; consecutive messages of one turn are spaced the same way."""

    model_config = ConfigDict(extra="forbid")

    read_s: float = Field(default=1.2, ge=0, le=30)
    chars_per_s_zh: float = Field(default=5.0, gt=0, le=100)
    chars_per_s_en: float = Field(default=14.0, gt=0, le=200)
    jitter: float = Field(default=0.25, ge=0, lt=1)
    min_delay_s: float = Field(default=1.5, ge=0, le=60)
    max_delay_s: float = Field(default=18.0, gt=0, le=300)

    @model_validator(mode="after")
    def _bounds(self) -> PacingConfig:
        if self.max_delay_s < self.min_delay_s:
            raise ValueError(f"max_delay_s {self.max_delay_s} is below min_delay_s {self.min_delay_s}")
        return self


class AgentProfile(BaseModel):
    """An advertiser's digital employee: who it speaks for and what it knows (``adloom agent chat AGENT.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] = "agent"
    #: The name the agent signs with ("小林", "Alex").
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    #: The advertiser's business as customers know it.
    business: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    industry: Industry
    #: The language of the first message; each reply follows the language the user writes in.
    language: Language = Language.zh
    #: City or area served, when the business is local (used in answers, never invented).
    area: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] | None = None
    knowledge: list[FaqEntry] = Field(default_factory=list, max_length=2000)
    offers: list[Offer] = Field(default_factory=list, max_length=50)
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    handover: HandoverConfig = Field(default_factory=HandoverConfig)
    lead: LeadConfig = Field(default_factory=LeadConfig)
    pacing: PacingConfig = Field(default_factory=PacingConfig)


class Message(BaseModel):
    """One message of the conversation as the engine remembers it."""

    role: Literal["user", "agent"]
    text: str
    kind: ReplyKind | Literal["user"] = "user"


class LeadInfo(BaseModel):
    """What the person told us about reaching them and what they need; only validated values are stored."""

    phone: str | None = None
    wechat: str | None = None
    email: str | None = None
    city: str | None = None
    budget: str | None = None
    timing: str | None = None
    #: The needs heard so far, in the person's words (short, de-duplicated), for the sales team.
    needs: list[str] = Field(default_factory=list, max_length=20)

    def reachable(self) -> bool:
        return any(getattr(self, f) for f in REACH_FIELDS)

    def missing(self, fields: list[ContactField] | tuple[ContactField, ...]) -> list[ContactField]:
        return [f for f in fields if not getattr(self, f)]


class ConversationState(BaseModel):
    """What the engine carries between messages. JSON-serialisable; bounded."""

    language: Language
    turns: int = 0  # user messages answered
    answered_turns: int = 0  # turns in which at least one need was answered
    asks: int = 0
    last_ask_turn: int | None = None
    asked_extra: bool = False  # the one optional detail after a contact (city, budget or timing) was asked
    refused: bool = False  # the person declined to share contact details: never ask again
    captured: bool = False  # a way to reach them is stored
    handed_over: bool = False  # a person has taken over: the agent stays quiet
    minor: bool = False  # the person said they are under 18: never ask for, or keep, their contact details
    history: list[Message] = Field(default_factory=list)
    lead: LeadInfo = Field(default_factory=LeadInfo)

    def remember(self, message: Message) -> None:
        self.history.append(message)
        del self.history[:-HISTORY_KEPT]


class Reply(BaseModel):
    """One outgoing message and the pause before it is sent (after the user's message for the first, after the
    previous reply for the others)."""

    text: str
    kind: ReplyKind
    delay_s: float = Field(ge=0)
    #: Ids of the knowledge entries an answer rests on (empty for asks, thanks, notices).
    sources: list[str] = Field(default_factory=list)


class Decision(BaseModel):
    """What the ordering policy decided for this turn, and why (logged with the turn)."""

    policy: PolicyName
    action: DecisionAction
    reason: str


class TurnResult(BaseModel):
    replies: list[Reply]
    state: ConversationState
    decision: Decision
    #: Contact fields this message gave (validated) and ones it tried to give but that did not validate.
    new_fields: list[ContactField] = Field(default_factory=list)
    invalid_fields: list[ContactField] = Field(default_factory=list)
    #: True on the turn a way to reach the person was first stored.
    lead_captured: bool = False
    handover: bool = False
    #: Compliance or grounding fixes made to the replies (rule ids / short notes), for the log.
    fixes: list[str] = Field(default_factory=list)
