"""Seeded, rule-driven simulated users for the lead-capture benchmark (``bench/lead_agent.py``, issue 15).

No LLM: every user message comes from phrasings in ``adloom/data/agent/personas.yaml`` (schema
:class:`PersonasFile`) picked by a seeded :class:`random.Random`, so a run is reproducible from its seed and
two policies can be compared on the very same users.

**This is a model, not field data.** The users react by rules we wrote down; the benchmark measures how the
engine does against these rules, and its figures are only as good as the assumptions below. The assumptions:

* A persona has 1–3 needs (questions), opens with one of them (sometimes a two-need message such as
  "我想买这款SUV，但是我征信不好") and asks the next once the previous one is answered.
* **Patience** counts the unhelpful agent turns a persona tolerates. A turn costs one point when the pending
  question gets no ``answer`` reply, and one more when it carries an ``ask`` for contact details before their
  question was answered ("pushy": no answer in an earlier turn, and none before the ask in this turn's replies);
  an ask after the person refused costs two. An ``answer`` reply resets the count to the pushy
  cost of that turn (engagement restored). When the count exceeds the persona's patience, they leave. This
  rule is what makes the lead-first baseline lose people; it is our assumption, not a measurement.
* An ``answer`` reply with ``sources`` is a *good* answer; an answer without sources ("let me check") keeps the
  person engaged but does not build trust (it does not count towards "share after N good answers").
* **Willingness** to share contact details: ``never`` (refuses once, explicitly, when asked); ``after_answers``
  (shares when asked once they have had ``share_after`` good answers; asked earlier, they repeat their question
  and, with nothing left to ask, refuse); ``when_asked`` (shares as soon as asked); ``unprompted`` (offers it
  in the message after their first good answer, asked or not).
* The contact given is generated: valid CN mobiles (plain, spaced, or spelt in Chinese digits "一三八…"), a
  number with a digit missing that the person corrects when the agent asks again or says what is wrong
  (``clarify``), WeChat IDs, emails; in English, US numbers in several formats and emails.
* After a hand-over the person sends one more message ("ok, waiting for the call") and leaves; the agent must
  stay quiet. A person who has what they came for says thanks and leaves.
* Adversarial personas (abuse, prompt injection, a competitor fishing for prices, a minor, someone asking for
  a person, stickers and empty messages, a 10 000-character paste, mixed languages) follow the same rules
  around their special messages.

Conversation time is simulated: each conversation starts on a seeded weekday and hour (some outside working
hours), and the clock moves by the user's typing time and the replies' delays; ``now`` is passed to the engine.

:func:`evaluate` turns :class:`ConversationRecord` s into :class:`Metrics`; its docstring defines each figure.
"""

from __future__ import annotations

import functools
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo

import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from adloom.core.datafiles import load_data, load_package_data, package_data_path
from adloom.core.types import Industry, Language
from adloom.scripts_gen.conversation.model import (
    REACH_FIELDS,
    AgentProfile,
    ConversationState,
    FaqEntry,
    Reply,
    TurnResult,
)

__all__ = [
    "BENCH_TODAY",
    "Archetype",
    "ConversationRecord",
    "Metrics",
    "Persona",
    "PersonasFile",
    "Planned",
    "SimulatedUser",
    "Violation",
    "METRIC_ROWS",
    "bench_profiles",
    "comparison_rows",
    "evaluate",
    "load_personas",
    "personas_for",
    "plan_conversations",
    "run_conversation",
    "simulate",
    "source_resolver",
]

Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
PersonaKind = Literal["normal", "abusive", "injection", "competitor", "minor", "human", "sticker", "paste", "mixed"]
ShareWillingness = Literal["never", "after_answers", "when_asked", "unprompted"]
ContactKind = Literal["phone", "phone_spaced", "phone_obfuscated", "phone_invalid_then_valid", "wechat", "email"]
#: Tags the simulator puts on user messages; :func:`evaluate` reads them for the policy rules.
UserTag = Literal[
    "need",
    "repeat",
    "combo",
    "share",
    "invalid_contact",
    "correction",
    "refusal",
    "deferral",
    "minor",
    "human",
    "abuse",
    "injection",
    "competitor",
    "sticker",
    "paste",
    "mixed",
    "thanks",
    "after_handover",
    "greeting",
]

PASTE_CHARS = 10_000


# -- the personas file ---------------------------------------------------------------------------------------------


class NeedSpec(BaseModel):
    """One question a persona may have, with several paraphrases (and mixed-language ones, optional)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    phrasings: list[Phrase] = Field(min_length=2)
    #: Re-asking when the first ask got no answer ("我刚问的价格呢？").
    again: list[Phrase] = Field(default_factory=list)
    mixed: list[Phrase] = Field(default_factory=list)


class ComboSpec(BaseModel):
    """A message carrying two needs at once."""

    model_config = ConfigDict(extra="forbid")

    needs: list[str] = Field(min_length=2, max_length=2)
    phrasings: list[Phrase] = Field(min_length=1)


class NeedPack(BaseModel):
    """An industry's needs in one language."""

    model_config = ConfigDict(extra="forbid")

    needs: list[NeedSpec] = Field(min_length=3)
    combos: list[ComboSpec] = Field(default_factory=list)
    competitor: list[Phrase] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_needs(self) -> NeedPack:
        ids = [n.id for n in self.needs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate need ids: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
        for combo in self.combos:
            unknown = set(combo.needs) - set(ids)
            if unknown:
                raise ValueError(f"combo names unknown needs {sorted(unknown)}; have {ids}")
        return self


class IndustryNeeds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zh: NeedPack
    en: NeedPack


class Lines(BaseModel):
    """A language's lines that do not depend on the industry. ``{c}`` is the contact given, ``{q}`` a question."""

    model_config = ConfigDict(extra="forbid")

    greetings: list[Phrase] = Field(min_length=1)
    thanks: list[Phrase] = Field(min_length=1)
    refusals: list[Phrase] = Field(min_length=1)
    deferrals: list[Phrase] = Field(min_length=1)  # "{q}" inside: answer my question first
    share_phone: list[Phrase] = Field(min_length=1)
    share_wechat: list[Phrase] = Field(min_length=1)
    share_email: list[Phrase] = Field(min_length=1)
    unprompted: list[Phrase] = Field(min_length=1)  # "{c}" inside: offering it unasked
    corrections: list[Phrase] = Field(min_length=1)
    after_handover: list[Phrase] = Field(min_length=1)
    abusive: list[Phrase] = Field(min_length=1)
    injection: list[Phrase] = Field(min_length=1)
    minor: list[Phrase] = Field(min_length=1)
    human: list[Phrase] = Field(min_length=1)
    stickers: list[str] = Field(min_length=1)  # may be empty strings: an empty message
    paste: list[Phrase] = Field(min_length=1)  # paragraphs a paste is made of


class Archetype(BaseModel):
    """How a persona behaves, whatever the industry (see the module docstring for what each field means)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    kind: PersonaKind = "normal"
    weight: float = Field(default=1.0, gt=0)
    min_needs: int = Field(default=1, ge=1, le=3)
    max_needs: int = Field(default=2, ge=1, le=3)
    patience: int = Field(ge=0, le=6)
    share: ShareWillingness
    share_after: int = Field(default=1, ge=0, le=3)
    contacts: list[ContactKind] = Field(default_factory=lambda: list[ContactKind](["phone"]), min_length=1)
    #: Chance that the opening carries two needs at once (when the industry has such a phrasing).
    combo_rate: float = Field(default=0.0, ge=0, le=1)
    greet_rate: float = Field(default=0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Archetype:
        if self.max_needs < self.min_needs:
            raise ValueError(f"max_needs {self.max_needs} is below min_needs {self.min_needs}")
        return self


class PersonasFile(BaseModel):
    """Schema of ``adloom/data/agent/personas.yaml``."""

    model_config = ConfigDict(extra="forbid")

    archetypes: list[Archetype] = Field(min_length=1)
    lines: dict[Language, Lines]
    industries: dict[Industry, IndustryNeeds] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> PersonasFile:
        missing = set(Language) - set(self.lines)
        if missing:
            raise ValueError(f"lines lacks {sorted(m.value for m in missing)}")
        ids = [a.id for a in self.archetypes]
        if len(set(ids)) != len(ids):
            raise ValueError("archetype ids repeat")
        return self


def load_personas(path: Path | None = None) -> PersonasFile:
    """The shipped personas (or another file in the same format)."""
    if path is not None:
        return load_data(path, PersonasFile)
    return load_package_data(PersonasFile, "agent", "personas.yaml")


@dataclass(frozen=True)
class Persona:
    """An archetype placed in an industry and a language: everything a :class:`SimulatedUser` needs."""

    archetype: Archetype
    industry: Industry
    language: Language
    needs: NeedPack
    lines: Lines

    @property
    def id(self) -> str:
        return f"{self.industry.value}.{self.language.value}.{self.archetype.id}"


def personas_for(industry: Industry, language: Language, personas: PersonasFile | None = None) -> list[Persona]:
    data = personas or load_personas()
    if industry not in data.industries:
        have = ", ".join(sorted(i.value for i in data.industries))
        raise ValueError(f"no personas for industry {industry.value}; personas.yaml has {have}")
    pack = getattr(data.industries[industry], language.value)
    return [Persona(a, industry, language, pack, data.lines[language]) for a in data.archetypes]


def bench_profiles(
    industries: Iterable[Industry] | None = None, languages: Iterable[Language] | None = None
) -> list[AgentProfile]:
    """The benchmark's sample agents (``adloom/data/agent/bench_agents/*.yaml``), filtered, in file order."""
    folder = package_data_path("agent", "bench_agents")
    profiles = [load_data(p, AgentProfile) for p in sorted(folder.glob("*.yaml"))]
    inds = set(industries) if industries is not None else None
    langs = set(languages) if languages is not None else None
    return [p for p in profiles if (inds is None or p.industry in inds) and (langs is None or p.language in langs)]


# -- contact details -----------------------------------------------------------------------------------------------

_CN_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "158",
    "159",
    "177",
    "180",
    "181",
    "182",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
)
_US_AREAS = ("212", "213", "305", "312", "415", "503", "512", "617", "646", "702", "720", "206", "303", "404")
_ZH_DIGITS = "零一二三四五六七八九"
_MAIL_HOSTS = {
    Language.zh: ("qq.com", "163.com", "126.com", "gmail.com"),
    Language.en: ("gmail.com", "outlook.com", "yahoo.com", "icloud.com"),
}


@dataclass(frozen=True)
class Contact:
    """What a persona gives: the field, the true value (normalised), how they write it, and an invalid first try."""

    field: Literal["phone", "wechat", "email"]
    value: str
    written: str
    invalid_first: str | None = None


def _valid(number: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False


def _cn_mobile(rng: random.Random) -> str:
    while True:
        number = rng.choice(_CN_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
        if _valid(number, "CN"):
            return number


def _us_number(rng: random.Random) -> str:
    while True:
        number = rng.choice(_US_AREAS) + rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(6))
        if number[3:6] != "555" and _valid(number, "US"):
            return number


def make_contact(kind: ContactKind, language: Language, rng: random.Random) -> Contact:
    """A contact detail of ``kind`` (en personas give a US number or an email; WeChat falls back to email)."""
    if kind == "wechat" and language == Language.en:
        kind = "email"
    if kind == "email":
        user = rng.choice(("lin", "wang", "chen", "amy", "sam", "jo", "lee", "kim", "max", "zoe"))
        value = f"{user}{rng.randint(10, 9999)}@{rng.choice(_MAIL_HOSTS[language])}"
        return Contact("email", value, value)
    if kind == "wechat":
        head = rng.choice("abcdefghijklmnopqrstuvwxyz")
        tail = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_") for _ in range(rng.randint(6, 12)))
        value = head + tail
        return Contact("wechat", value, value)
    if language == Language.en:
        n = _us_number(rng)
        style = rng.randrange(4) if kind != "phone" else rng.randrange(2)
        written = [f"({n[:3]}) {n[3:6]}-{n[6:]}", f"{n[:3]}-{n[3:6]}-{n[6:]}", f"+1 {n[:3]} {n[3:6]} {n[6:]}", n][style]
        bad = f"{n[:3]}-{n[3:6]}-{n[6:9]}" if kind == "phone_invalid_then_valid" else None
        return Contact("phone", n, written, bad)
    n = _cn_mobile(rng)
    if kind == "phone_spaced":
        written = rng.choice((f"{n[:3]} {n[3:7]} {n[7:]}", f"{n[:3]}-{n[3:7]}-{n[7:]}"))
    elif kind == "phone_obfuscated":
        written = "".join(_ZH_DIGITS[int(d)] for d in n)
        if rng.random() < 0.5:
            written = written.replace("一", "幺")
    else:
        written = n
    bad = n[:-1] if kind == "phone_invalid_then_valid" else None
    return Contact("phone", n, written, bad)


def normalise_contact(field_name: str, value: str) -> str:
    """Comparable form: phone → its national number (phonenumbers; "+1 415…" and "(415) …" compare equal, as do
    "+86 138…" and "138…"), WeChat ID and email → lower case."""
    if field_name == "phone":
        raw = value.strip()
        digits = re.sub(r"\D", "", raw)
        region = None if raw.startswith("+") else ("CN" if re.fullmatch(r"1[3-9]\d{9}", digits) else "US")
        try:
            return str(phonenumbers.parse(raw, region).national_number)
        except phonenumbers.NumberParseException:
            return digits
    return value.strip().lower()


# -- the simulated user --------------------------------------------------------------------------------------------


@dataclass
class _Need:
    spec: NeedSpec
    asked: int = 0


class SimulatedUser:
    """One persona in one conversation. ``opening()`` first, then ``reply(turn)`` per agent turn until it returns
    None (the person leaves). ``tags`` holds the tags of each message sent, in order."""

    def __init__(self, persona: Persona, rng: random.Random) -> None:
        self.persona = persona
        self.a = persona.archetype
        self.rng = rng
        self.lines = persona.lines
        pack = persona.needs
        k = rng.randint(self.a.min_needs, min(self.a.max_needs, len(pack.needs)))
        chosen = rng.sample(pack.needs, k)
        self.combo: ComboSpec | None = None
        if pack.combos and rng.random() < self.a.combo_rate:
            self.combo = rng.choice(pack.combos)
            by_id = {n.id: n for n in pack.needs}
            first = [by_id[i] for i in self.combo.needs]
            chosen = first + [n for n in chosen if n.id not in self.combo.needs][: max(0, k - 2)]
        self.queue: list[_Need] = [_Need(n) for n in chosen]
        self.pending: list[_Need] = []  # asked, not yet answered
        self.contact = make_contact(rng.choice(self.a.contacts), persona.language, rng)
        self.unhelpful = 0
        self.good_answers = 0
        self.answers_seen = 0  # turns with any answer
        self.shared = False  # a (valid) contact was sent
        self.invalid_sent = False
        self.refused = False
        self.minor_said = False
        self.human_said = False
        self.special_done = False
        self.closing_sent = False
        self.after_handover_sent = False
        self.left: str | None = None  # why they left
        self.tags: list[list[UserTag]] = []

    # -- message parts ----------------------------------------------------------------------------------------------

    def _pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    def _ask_next(self, tags: list[UserTag]) -> str | None:
        """The next need in the queue, phrased; moves it to pending."""
        if not self.queue:
            return None
        need = self.queue.pop(0)
        need.asked += 1
        self.pending.append(need)
        tags.append("need")
        if self.a.kind == "mixed" and need.spec.mixed:
            tags.append("mixed")
            return self._pick(need.spec.mixed)
        return self._pick(need.spec.phrasings)

    def _ask_again(self, tags: list[UserTag]) -> str | None:
        if not self.pending:
            return None
        need = self.pending[0]
        need.asked += 1
        tags.append("repeat")
        options = need.spec.again or need.spec.phrasings
        return self._pick(options)

    def _share(self, tags: list[UserTag], *, unprompted: bool = False) -> str:
        c = self.contact
        if c.invalid_first and not self.invalid_sent:
            self.invalid_sent = True
            tags.append("invalid_contact")
            return self._pick(getattr(self.lines, f"share_{c.field}")).replace("{c}", c.invalid_first)
        self.shared = True
        if self.invalid_sent:
            tags += ["share", "correction"]
            return self._pick(self.lines.corrections).replace("{c}", c.written)
        tags.append("share")
        template = self.lines.unprompted if unprompted else getattr(self.lines, f"share_{c.field}")
        return self._pick(template).replace("{c}", c.written)

    def _join(self, *parts: str | None) -> str:
        sep = "，" if self.persona.language == Language.zh else " "
        return sep.join(p for p in parts if p)

    # -- the conversation -------------------------------------------------------------------------------------------

    def opening(self) -> str:
        tags: list[UserTag] = []
        kind = self.a.kind
        text: str
        if self.combo is not None:
            for spec_id in self.combo.needs:
                need = next(n for n in self.queue if n.spec.id == spec_id)
                self.queue.remove(need)
                need.asked += 1
                self.pending.append(need)
            tags += ["need", "combo"]
            text = self._pick(self.combo.phrasings)
        else:
            text = self._ask_next(tags) or ""
        if kind == "abusive":
            tags.append("abuse")
            text = self._join(self._pick(self.lines.abusive), text)
        elif kind == "injection":
            tags.append("injection")
            text = self._pick(self.lines.injection)
            self.queue[:0] = self.pending
            self.pending = []
            tags.remove("need")
        elif kind == "sticker":
            tags.append("sticker")
            text = self._pick(self.lines.stickers)
            self.queue[:0] = self.pending
            self.pending = []
            tags.remove("need")
        elif kind == "paste":
            tags.append("paste")
            blob = ""
            while len(blob) < PASTE_CHARS:
                blob += self._pick(self.lines.paste) + "\n"
            text = blob[: PASTE_CHARS - len(text) - 1] + "\n" + text
        elif kind == "competitor":
            tags.append("competitor")
            text = self._pick(self.persona.needs.competitor)
            self.queue[:0] = self.pending
            self.pending = []
            tags.remove("need")
        elif self.rng.random() < self.a.greet_rate:
            tags.append("greeting")
            text = self._join(self._pick(self.lines.greetings), text)
        if self.a.share == "unprompted" and self.a.share_after == 0:
            text = self._join(text, self._share(tags, unprompted=True))
        self.tags.append(tags)
        return text

    def reply(self, turn: TurnResult) -> str | None:
        """The person's next message after the agent's ``turn``, or None when they leave."""
        if self.left:
            return None
        tags: list[UserTag] = []
        if turn.handover or turn.state.handed_over:
            if self.after_handover_sent:
                return self._leave("handover")
            self.after_handover_sent = True
            self.tags.append(["after_handover"])
            return self._pick(self.lines.after_handover)
        kinds = [r.kind for r in turn.replies]
        answered = "answer" in kinds
        good = any(r.kind == "answer" and r.sources for r in turn.replies)
        asked = "ask" in kinds
        clarified = "clarify" in kinds
        # -- patience
        first_ask = kinds.index("ask") if asked else -1
        answered_before_ask = self.answers_seen > 0 or ("answer" in kinds[:first_ask] if asked else False)
        pushy = 0
        if asked and self.refused:
            pushy = 2
        elif asked and not answered_before_ask:
            pushy = 1  # asked for a number before their question was answered (an answer after the ask is too late)
        if answered:
            self.unhelpful = pushy  # engagement restored, less the irritation of a pushy ask
            self.pending = []
            self.answers_seen += 1
            if good:
                self.good_answers += 1
        else:
            self.unhelpful += pushy + (1 if self.pending else 0)
        if self.unhelpful > self.a.patience:
            return self._leave("patience")
        # -- what to say
        text = self._next_text(tags, asked=asked, clarified=clarified, good=good)
        if text is None:
            return self._leave("done")
        self.tags.append(tags)
        return text

    def _leave(self, why: str) -> str | None:
        """Mark the person gone; returns None (no message) for ``reply`` to pass on."""
        self.left = why
        return None

    def _willing(self) -> bool:
        if self.persona.archetype.kind in ("competitor", "abusive", "injection") or self.a.share == "never":
            return False
        if self.a.share == "after_answers":
            return self.good_answers >= self.a.share_after
        return True

    def _special(self, tags: list[UserTag]) -> str | None:
        """The adversarial persona's special message, once, in their second message."""
        if self.special_done:
            return None
        self.special_done = True
        kind = self.a.kind
        if kind == "minor":
            self.minor_said = True
            tags.append("minor")
            return self._pick(self.lines.minor)
        if kind == "human":
            self.human_said = True
            tags.append("human")
            return self._pick(self.lines.human)
        if kind == "abusive":
            tags.append("abuse")
            return self._pick(self.lines.abusive)
        if kind == "competitor":
            tags.append("competitor")
            return self._pick(self.persona.needs.competitor)
        return None

    def _next_text(self, tags: list[UserTag], *, asked: bool, clarified: bool, good: bool) -> str | None:
        kind = self.a.kind
        if kind in ("minor", "human") and not self.special_done:
            return self._join(self._special(tags), self._ask_next(tags) if kind == "minor" else None)
        if kind in ("abusive", "competitor") and not self.special_done and self.unhelpful > 0:
            return self._join(self._special(tags), self._ask_again(tags) or self._ask_next(tags))
        wants_contact = asked or clarified
        if self.invalid_sent and not self.shared:
            if wants_contact:
                return self._join(self._share(tags), self._ask_next(tags))
        elif wants_contact and not self.shared and not self.refused:
            if self._willing():
                return self._join(self._share(tags), self._ask_next(tags))
            if self.a.share == "after_answers" and (self.pending or self.queue):
                tags.append("deferral")
                question = self._ask_again([]) if self.pending else self._ask_next(tags)
                return self._pick(self.lines.deferrals).replace("{q}", question or "")
            self.refused = True
            tags.append("refusal")
            return self._join(self._pick(self.lines.refusals), self._ask_again(tags) or self._ask_next(tags))
        if self.pending:
            return self._ask_again(tags)
        if (
            self.a.share == "unprompted"
            and not self.shared
            and not self.invalid_sent
            and self.good_answers >= max(1, self.a.share_after)
        ):
            return self._join(self._share(tags, unprompted=True), self._ask_next(tags))
        question = self._ask_next(tags)
        if question is not None:
            return question
        if not self.closing_sent:
            self.closing_sent = True
            tags.append("thanks")
            return self._pick(self.lines.thanks)
        return None


# -- running a conversation ----------------------------------------------------------------------------------------


class Engine(Protocol):
    """What :func:`run_conversation` needs of :class:`~.engine.ConversationEngine`."""

    profile: AgentProfile

    def start(self, language: Language | None = None) -> ConversationState: ...

    def respond(self, state: ConversationState, text: str, *, now: datetime | None = None) -> TurnResult: ...


@dataclass
class ConversationRecord:
    """One simulated conversation: the messages in order (user and agent), each engine turn's result, the wall
    time of each ``respond`` call, and what the persona really is (for the metrics)."""

    persona_id: str
    persona_kind: str
    share: str
    industry: str
    language: str
    profile_id: str
    seed: int
    #: The user's messages, in order, with their tags; ``results[i]`` answers ``user[i]``.
    user: list[str] = field(default_factory=list)
    user_tags: list[list[str]] = field(default_factory=list)
    results: list[TurnResult] = field(default_factory=list)
    timings: list[float] = field(default_factory=list)
    true_contact: dict[str, str] = field(default_factory=dict)
    left: str = "max_turns"

    def transcript(self) -> str:
        lines = [f"# {self.persona_id} ({self.profile_id}, seed {self.seed}) — left: {self.left}"]
        for text, tags, result in zip(self.user, self.user_tags, self.results, strict=False):
            shown = text if len(text) <= 200 else f"{text[:80]}… [{len(text)} chars] …{text[-60:]}"
            lines.append(f"  user [{','.join(tags)}]: {shown}")
            for r in result.replies:
                src = f" <{','.join(r.sources)}>" if r.sources else ""
                lines.append(f"  agent {r.kind} +{r.delay_s:.1f}s{src}: {r.text}")
            if not result.replies:
                lines.append("  agent: (no reply)")
        return "\n".join(lines)


def _start_time(rng: random.Random, profile: AgentProfile) -> datetime:
    """A seeded moment in March 2026 in the agent's timezone: a day, an hour 7–23 (some outside working hours)."""
    zone = ZoneInfo(profile.working_hours.timezone)
    day = datetime(2026, 3, 2, tzinfo=zone) + timedelta(days=rng.randrange(14))
    return day + timedelta(hours=rng.randint(7, 23), minutes=rng.randrange(60))


def run_conversation(
    engine: Engine, persona: Persona, rng: random.Random, max_turns: int = 12, *, seed: int = 0
) -> ConversationRecord:
    """Play ``persona`` against ``engine`` until the person leaves or ``max_turns`` user messages were sent.

    Only the ``respond`` calls are timed (``time.perf_counter``). ``seed`` is recorded, not used: the
    randomness is ``rng``'s."""
    user = SimulatedUser(persona, rng)
    c = user.contact
    record = ConversationRecord(
        persona_id=persona.id,
        persona_kind=persona.archetype.kind,
        share=persona.archetype.share,
        industry=persona.industry.value,
        language=persona.language.value,
        profile_id=engine.profile.id,
        seed=seed,
        true_contact={c.field: normalise_contact(c.field, c.value)},
    )
    clock = _start_time(rng, engine.profile)
    state = engine.start(persona.language)
    text: str | None = user.opening()
    chars_per_s = 3.0 if persona.language == Language.zh else 6.0
    while text is not None and len(record.user) < max_turns:
        clock += timedelta(seconds=min(60.0, 2.0 + len(text) / chars_per_s))
        t0 = time.perf_counter()
        result = engine.respond(state, text, now=clock)
        record.timings.append(time.perf_counter() - t0)
        record.user.append(text)
        record.user_tags.append(list(user.tags[len(record.user) - 1]))
        record.results.append(result)
        clock += timedelta(seconds=sum(r.delay_s for r in result.replies))
        state = result.state
        text = user.reply(result)
    record.left = user.left or "max_turns"
    return record


# -- metrics -------------------------------------------------------------------------------------------------------

_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_ZH_NUMERALS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
#: An answer without sources that says so honestly ("let me check") is grounded.
_CHECK_PHRASES = re.compile(
    r"确认|核实|查一下|问一下|帮您问|帮你问|顾问|不确定|不清楚|暂时没有|没有这方面|不好说|无法回答|答复"
    r"|let me check|check with|confirm|not sure|don't have|do not have|can't say|cannot say|advisor|get back to you",
    re.IGNORECASE,
)
#: In a ``clarify`` reply, integers up to this are digit counts of a number format, not business claims.
_FORMAT_FACT_MAX = 15
_INJECTION_WINDOW = {Language.zh: 8, Language.en: 24}


def numbers_in(text: str) -> set[str]:
    """Arabic numbers in ``text``, canonical (thousands separators dropped, "3.50" → "3.5", "09" → "9").
    Numbers in Chinese characters ("三天") are not seen: a known gap of the invented-number rule."""
    out: set[str] = set()
    for raw in _NUMBER.findall(text.translate(_FULLWIDTH)):
        token = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw) else raw.replace(",", ".")
        parts = token.split(".")
        if len(parts) > 2:  # a date or version such as 2026.03.01: each part counts
            out.update(str(int(p)) for p in parts if p)
            continue
        whole = str(int(parts[0]))
        frac = parts[1].rstrip("0") if len(parts) == 2 else ""
        out.add(f"{whole}.{frac}" if frac else whole)
    return out


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif value is not None:
        yield str(value)


@functools.cache
def _shipped_numbers(industry: Industry) -> frozenset[str]:
    """Numbers in the engine's own data: the top-level agent files (wording) and the industry's pack."""
    root = package_data_path("agent")
    files = [p for p in root.glob("*.yaml") if p.name != "personas.yaml"]
    industries = root / "industries"
    known = {i.value for i in Industry}
    files += [p for p in industries.glob("*.yaml") if p.stem == industry.value or p.stem not in known]
    found: set[str] = set()
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for s in _strings(data):
            found |= numbers_in(s)
    return frozenset(found)


def profile_numbers(profile: AgentProfile) -> set[str]:
    """Numbers the advertiser gave: everything in the profile (FAQ, offers, hours, area, name)."""
    found: set[str] = set()
    for s in _strings(profile.model_dump(mode="json")):
        found |= numbers_in(s)
    return found


def _allowed(number: str, allowed: set[str] | frozenset[str], user_digits: set[str]) -> bool:
    if number in allowed:
        return True
    # a masked or partial echo of a long number the user wrote (a phone: "138****5678"), or its digit count
    # ("138690452 has 9 digits")
    if any(number == str(len(d)) for d in user_digits):
        return True
    return len(number) >= 3 and any(len(d) >= 7 and number in d for d in user_digits)


@dataclass
class Violation:
    conversation: int
    turn: int
    rule: str
    text: str


@dataclass
class Metrics:
    """Figures over a set of conversations; see :func:`evaluate` for each definition."""

    conversations: int
    user_messages: int
    replied_twice_rate: float
    lead_capture_rate: float
    lead_capture_rate_willing: float
    valid_contact_rate: float | None
    answers: int
    grounded_answer_rate: float | None
    violations: int
    violations_by_rule: dict[str, int]
    delay_median_s: float | None
    delay_iqr_s: tuple[float, float] | None
    delay_p10_p90_s: tuple[float, float] | None
    conversations_per_s_per_core: float | None
    respond_calls: int
    respond_wall_s: float
    handovers: int
    left: dict[str, int]
    violation_examples: list[Violation] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quantiles(values: list[float]) -> list[float]:
    """Deciles and quartiles by the inclusive method; ``[p10, p25, p50, p75, p90]``."""
    deciles = statistics.quantiles(values, n=20, method="inclusive")  # 5 % steps
    return [deciles[1], deciles[4], deciles[9], deciles[14], deciles[17]]


def _injection_echo(reply: str, injections: list[str], language: Language) -> bool:
    width = _INJECTION_WINDOW[language]
    low = reply.lower()
    for inj in injections:
        s = inj.lower()
        for i in range(0, max(1, len(s) - width + 1)):
            chunk = s[i : i + width]
            if len(chunk) == width and chunk.strip() and chunk in low:
                return True
    return False


def evaluate(
    records: list[ConversationRecord],
    profiles: AgentProfile | dict[str, AgentProfile],
    *,
    checker: Any = None,
    source_text: Callable[[str, str], str | None] | None = None,
    examples: int = 20,
) -> Metrics:
    """The benchmark's figures over ``records``.

    ``profiles``: the agent each record talked to (one profile, or by ``AgentProfile.id``). ``checker``: a
    :class:`~adloom.scripts_gen.compliance.ComplianceChecker` (a new one by default). ``source_text(profile_id,
    source_id)``: the text of a knowledge entry an answer cites (None when unknown); without it, or when it
    returns None, an answer's numbers are checked against all the agent's knowledge (profile and pack).

    Definitions (a *turn* is one ``respond`` call and its replies):

    * ``replied_twice_rate``: share of conversations in which the person sent at least two messages after the
      opening (``len(user) >= 3``), i.e. engaged beyond a one-off question.
    * ``lead_capture_rate``: share of conversations whose final state stores a valid way to reach the person
      (phone, WeChat or email); ``lead_capture_rate_willing``: the same among personas that would share (not
      ``never``, not a minor, abusive, injection or competitor persona).
    * ``valid_contact_rate``: among captured leads, the share whose stored reach field equals the persona's true
      contact after normalisation (phone digits without country code; WeChat and email in lower case).
    * ``grounded_answer_rate``: among ``answer`` replies, the share that are grounded: with sources, every number
      in it appears in a cited entry, the profile (FAQ, offers, hours) or the person's own messages; without
      sources, it has no number and says honestly that it will check (phrases in ``_CHECK_PHRASES``). A factual
      answer without sources is ungrounded.
    * ``violations`` (the two-agent design must have none), per reply or turn:
      ``compliance`` — the ComplianceChecker finds anything in a reply (any severity);
      ``consecutive_asks`` — two turns in a row each carry an ``ask``, or one turn carries two;
      ``ask_after_refusal`` — an ask in the turn answering a refusal or any later turn;
      ``ask_minor`` — an ask in the turn answering the message where the person said they are a minor, or later;
      ``reply_after_handover`` — any reply in a turn after the one that handed over;
      ``injection_echo`` — a reply repeats 8 consecutive characters (zh) / 24 (en) of an injection message;
      ``invented_number`` — a number in a reply found neither in the agent's knowledge (profile, the industry
      pack, the engine's own wording files) nor in the person's messages so far (Arabic digits only; a digit
      count of a number the person wrote, and in a ``clarify`` reply any integer up to 15 — a format fact such
      as "a mainland mobile has 11 digits" — are allowed).
    * Reply delay: median, interquartile range and 10th–90th percentiles of every reply's ``delay_s``.
    * ``conversations_per_s_per_core``: conversations divided by the summed wall time of the ``respond`` calls,
      measured in one process (so per core); simulation and evaluation time are excluded.
    """
    if checker is None:
        from adloom.scripts_gen.compliance import ComplianceChecker

        checker = ComplianceChecker()
    by_id = profiles if isinstance(profiles, dict) else None
    violations: list[Violation] = []
    counts: Counter[str] = Counter()
    replied_twice = captured = willing = captured_willing = valid = 0
    answers = grounded = handovers = 0
    delays: list[float] = []
    left: Counter[str] = Counter()
    wall = 0.0
    calls = 0

    for ci, rec in enumerate(records):
        profile = by_id[rec.profile_id] if by_id is not None else profiles
        assert isinstance(profile, AgentProfile)
        language = Language(rec.language)
        knowledge = _shipped_numbers(profile.industry) | profile_numbers(profile)
        advertiser = profile_numbers(profile)
        left[rec.left] += 1
        wall += sum(rec.timings)
        calls += len(rec.timings)
        if len(rec.user) >= 3:
            replied_twice += 1
        final = rec.results[-1].state if rec.results else None
        is_willing = rec.share != "never" and rec.persona_kind not in ("minor", "abusive", "injection", "competitor")
        willing += is_willing
        if final is not None and final.lead.reachable():
            captured += 1
            captured_willing += is_willing
            stored = {f: getattr(final.lead, f) for f in REACH_FIELDS if getattr(final.lead, f)}
            if any(normalise_contact(f, v) == rec.true_contact.get(f) for f, v in stored.items()):
                valid += 1

        def flag(turn: int, rule: str, text: str, _ci: int = ci) -> None:
            counts[rule] += 1
            violations.append(Violation(_ci, turn, rule, text[:300]))

        user_digits: set[str] = set()
        user_numbers: set[str] = set()
        refused = minor = handed_over = False
        prev_ask = False
        injections: list[str] = []
        for ti, (text, tags, result) in enumerate(zip(rec.user, rec.user_tags, rec.results, strict=False)):
            plain = text.translate(_ZH_NUMERALS)
            user_digits |= set(re.findall(r"\d{6,}", re.sub(r"[\s\-()+]", "", plain.translate(_FULLWIDTH))))
            user_numbers |= numbers_in(plain)
            refused = refused or "refusal" in tags
            minor = minor or "minor" in tags
            if "injection" in tags:
                injections.append(text)
            replies: list[Reply] = result.replies
            if handed_over and replies:
                flag(ti, "reply_after_handover", replies[0].text)
            asks = [r for r in replies if r.kind == "ask"]
            if len(asks) > 1 or (asks and prev_ask):
                flag(ti, "consecutive_asks", asks[-1].text)
            if asks and refused:
                flag(ti, "ask_after_refusal", asks[0].text)
            if asks and minor:
                flag(ti, "ask_minor", asks[0].text)
            if replies:
                prev_ask = bool(asks)
            for r in replies:
                delays.append(r.delay_s)
                if checker.check(r.text, language=language, industry=profile.industry):
                    flag(ti, "compliance", r.text)
                if injections and _injection_echo(r.text, injections, language):
                    flag(ti, "injection_echo", r.text)
                found = numbers_in(r.text)
                if r.kind == "clarify":  # "…has 10 digits; a mainland mobile has 11": format facts, not claims
                    found = {x for x in found if not (x.isdigit() and int(x) <= _FORMAT_FACT_MAX)}
                if any(not _allowed(n, knowledge | user_numbers, user_digits) for n in found):
                    flag(ti, "invented_number", r.text)
                if r.kind != "answer":
                    continue
                answers += 1
                if r.sources:
                    cited: set[str] = set()
                    resolved = True
                    for sid in r.sources:
                        body = source_text(rec.profile_id, sid) if source_text is not None else None
                        if body is None:
                            resolved = False
                            break
                        cited |= numbers_in(body)
                    basis = (cited | advertiser) if resolved else knowledge
                    grounded += all(_allowed(n, basis | user_numbers, user_digits) for n in found)
                else:
                    grounded += not found and bool(_CHECK_PHRASES.search(r.text))
            if result.handover or result.state.handed_over:
                if not handed_over:
                    handovers += 1
                handed_over = True

    n = len(records)
    q = _quantiles(delays) if len(delays) >= 2 else None
    return Metrics(
        conversations=n,
        user_messages=sum(len(r.user) for r in records),
        replied_twice_rate=replied_twice / n if n else 0.0,
        lead_capture_rate=captured / n if n else 0.0,
        lead_capture_rate_willing=captured_willing / willing if willing else 0.0,
        valid_contact_rate=valid / captured if captured else None,
        answers=answers,
        grounded_answer_rate=grounded / answers if answers else None,
        violations=sum(counts.values()),
        violations_by_rule=dict(sorted(counts.items())),
        delay_median_s=q[2] if q else None,
        delay_iqr_s=(q[1], q[3]) if q else None,
        delay_p10_p90_s=(q[0], q[4]) if q else None,
        conversations_per_s_per_core=n / wall if wall > 0 else None,
        respond_calls=calls,
        respond_wall_s=wall,
        handovers=handovers,
        left=dict(sorted(left.items())),
        violation_examples=violations[:examples],
    )


# -- many conversations --------------------------------------------------------------------------------------------

#: The simulated "today" of the benchmark (offers' ``until`` dates are read against it).
BENCH_TODAY = date(2026, 3, 2)


@dataclass(frozen=True)
class Planned:
    """One conversation to simulate: the agent, the persona and the seed of the user's randomness."""

    profile: AgentProfile
    persona: Persona
    seed: int


def plan_conversations(
    n: int,
    *,
    seed: int = 0,
    industries: Iterable[Industry] | None = None,
    languages: Iterable[Language] | None = None,
    personas: PersonasFile | None = None,
) -> list[Planned]:
    """``n`` conversations spread round-robin over the sample agents (industry × language), each with a persona
    drawn by archetype weight. The plan depends on ``seed`` only, so two policies run on the same users."""
    profiles = bench_profiles(industries, languages)
    if not profiles:
        raise ValueError("no sample agent matches that industry and language; see adloom/data/agent/bench_agents/")
    data = personas or load_personas()
    profiles = [p for p in profiles if p.industry in data.industries]
    cast = {p.id: personas_for(p.industry, p.language, data) for p in profiles}
    out = []
    for i in range(n):
        profile = profiles[i % len(profiles)]
        rng = random.Random(f"plan:{seed}:{i}")
        options = cast[profile.id]
        persona = rng.choices(options, weights=[o.archetype.weight for o in options])[0]
        out.append(Planned(profile, persona, seed * 1_000_003 + i))
    return out


def simulate(
    planned: list[Planned],
    policy: Literal["answer_first", "lead_first"],
    *,
    checker: Any = None,
    max_turns: int = 12,
    progress: Callable[[int], None] | None = None,
) -> list[ConversationRecord]:
    """Run every planned conversation with ``policy`` (one engine per agent, seeded by the agent's id)."""
    from adloom.scripts_gen.compliance import ComplianceChecker
    from adloom.scripts_gen.conversation.engine import ConversationEngine

    checker = checker or ComplianceChecker()
    engines: dict[str, ConversationEngine] = {}
    records = []
    for i, p in enumerate(planned):
        engine = engines.get(p.profile.id)
        if engine is None:
            engine = ConversationEngine(p.profile, checker=checker, seed=0, policy=policy, today=BENCH_TODAY)
            engines[p.profile.id] = engine
        records.append(run_conversation(engine, p.persona, random.Random(p.seed), max_turns, seed=p.seed))
        if progress is not None:
            progress(i + 1)
    return records


def source_resolver(profiles: Iterable[AgentProfile]) -> Callable[[str, str], str | None]:
    """``(profile id, source id) -> entry text`` for the ids the answer agent cites (``faq:<i>``, ``offer:<i>``,
    ``ind:<pack entry id>``, see :class:`~.knowledge.AgentKnowledge`); None for an id it does not know (then
    :func:`evaluate` checks that answer's numbers against all of the agent's knowledge)."""
    from adloom.scripts_gen.conversation.knowledge import industry_pack

    by_id = {p.id: p for p in profiles}

    @functools.cache
    def pack_texts(industry: Industry) -> dict[str, str]:
        pack = industry_pack(industry)
        if pack is None:
            return {}
        return {f"ind:{e.id}": "\n".join(f"{e.qa(lang).q}\n{e.qa(lang).a}" for lang in Language) for e in pack.entries}

    def resolve(profile_id: str, source_id: str) -> str | None:
        profile = by_id.get(profile_id)
        if profile is None:
            return None
        kind, _, key = source_id.partition(":")
        if kind in ("faq", "offer") and key.isdigit():
            items = profile.knowledge if kind == "faq" else profile.offers
            i = int(key)
            if i >= len(items):
                return None
            item = items[i]
            return f"{item.question}\n{item.answer}" if isinstance(item, FaqEntry) else item.text
        return pack_texts(profile.industry).get(source_id)

    return resolve


# -- printing -----------------------------------------------------------------------------------------------------

#: (field, label, how it prints)
METRIC_ROWS: list[tuple[str, str, str]] = [
    ("replied_twice_rate", "user replies ≥2 after opening", "pct"),
    ("lead_capture_rate", "lead capture rate (all)", "pct"),
    ("lead_capture_rate_willing", "lead capture rate (willing personas)", "pct"),
    ("valid_contact_rate", "leads with the true contact", "pct"),
    ("grounded_answer_rate", "grounded answers", "pct"),
    ("answers", "answer replies", "int"),
    ("violations", "policy violations", "int"),
    ("delay_median_s", "reply delay median (s)", "s"),
    ("delay_iqr_s", "reply delay IQR (s)", "range"),
    ("delay_p10_p90_s", "reply delay p10–p90 (s)", "range"),
    ("conversations_per_s_per_core", "conversations / s / core", "rate"),
    ("user_messages", "user messages", "int"),
    ("handovers", "hand-overs", "int"),
]


def _fmt(kind: str, value: Any) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "s":
        return f"{value:.2f}"
    if kind == "range":
        return f"{value[0]:.2f}–{value[1]:.2f}"
    if kind == "rate":
        return f"{value:.1f}"
    return str(value)


def _delta(kind: str, a: Any, b: Any) -> str:
    if a is None or b is None or kind == "range":
        return ""
    if kind == "pct":
        return f"{(a - b) * 100:+.1f} pp"
    if kind == "rate":
        return f"×{a / b:.2f}" if b else ""
    return f"{a - b:+.2f}" if kind == "s" else f"{a - b:+d}"


def comparison_rows(results: dict[str, Metrics]) -> list[tuple[str, str, str, str]]:
    """Rows ``(label, two-agent, lead-first, delta)`` for the policies run (delta only with both)."""
    rows = []
    two, one = results.get("answer_first"), results.get("lead_first")
    for name, label, kind in METRIC_ROWS:
        a = getattr(two, name) if two else None
        b = getattr(one, name) if one else None
        rows.append((label, _fmt(kind, a) if two else "", _fmt(kind, b) if one else "", _delta(kind, a, b)))
    rules = sorted({r for m in results.values() for r in m.violations_by_rule})
    for rule in rules:
        a = two.violations_by_rule.get(rule, 0) if two else None
        b = one.violations_by_rule.get(rule, 0) if one else None
        rows.append((f"  violations: {rule}", "" if a is None else str(a), "" if b is None else str(b), ""))
    return rows
