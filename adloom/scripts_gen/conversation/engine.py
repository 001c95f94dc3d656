"""One turn of a lead-capture conversation: a user message in, paced replies out.

:class:`ConversationEngine` runs the parts in a fixed order for each message:

1. :func:`~.intents.analyze` — language, needs (split when there are two), signals;
2. safety first: a person takes over on request, on risk words (complaint, legal threat) or on self-harm, and
   the agent stays quiet from then on; a minor's contact details are never asked for or kept;
3. :class:`~.lead.LeadAgent` keeps the validated contact details the message gave (thanks, or a ``clarify``
   reply saying what was wrong), and notes a refusal;
4. :class:`~.answer.AnswerAgent` answers each need from the advertiser's knowledge and the industry pack;
5. the lead agent proposes an ask (or not, with the reason), and :func:`~.policy.order` orders acks, answers
   and ask for the configured policy;
6. every reply passes the compliance checker once more (rewritten, or dropped), whatever produced it;
7. :func:`~.pacing.delays` gives each reply its pause.

It never raises on any text and never mutates the state it is given: the new state is in the result. Seeded:
the same profile, seed, state and message give the same replies.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import UTC, date, datetime

from adloom.core.protocols import Embedder
from adloom.core.types import Language
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.conversation.answer import AnswerAgent, AnswerPiece
from adloom.scripts_gen.conversation.contacts import Extracted, extract_contacts, normalise_digits
from adloom.scripts_gen.conversation.intents import Analysis, analyze
from adloom.scripts_gen.conversation.lead import LeadAgent, LeadMove, Variants
from adloom.scripts_gen.conversation.model import (
    AgentProfile,
    ContactField,
    ConversationState,
    Decision,
    DecisionAction,
    LeadInfo,
    Message,
    PolicyName,
    Reply,
    TurnResult,
)
from adloom.scripts_gen.conversation.pacing import delays
from adloom.scripts_gen.conversation.policy import Planned, order
from adloom.scripts_gen.llm.base import LLMBackend

__all__ = ["ConversationEngine"]

#: Characters of a user message kept in the state's short history (the full text stays with serving).
_HISTORY_CHARS = 300
#: A message longer than this is read as a paste: only its last need is the person's question.
_PASTE_CHARS = 600
#: Closing characters two answers share when the second repeats the first.
_REPEAT_TAIL = 20
#: Characters of one need kept in the lead's summary for the sales team.
_NEED_CHARS = 80


_EMAILISH = re.compile(r"\S+@\S+")
_DIGIT_RUN = re.compile(r"\+?\d[\d\s\-()]{5,}\d")


def _without_contacts(text: str, found: Extracted) -> str:
    """A need as the sales team reads it: the contact details the message gave are in the lead's own fields
    (masked where the console shows them), so they are cut from the need's words."""
    clean = _DIGIT_RUN.sub("", _EMAILISH.sub("", normalise_digits(text)))
    for value in (found.wechat, found.email):
        if value:
            clean = clean.replace(value, "")
    label = r"(?:我的|my\s+)?(?:手机号?|电话|微信号?|邮箱|phone|mobile|email|wechat)\s*(?:是|:|：|is)?\s*(?=[，,。.]|$)"
    clean = re.sub(label, "", clean)
    return re.sub(r"\s{2,}", " ", re.sub(r"[，,]\s*[，,]", "，", clean))


class ConversationEngine:
    """The digital employee for one advertiser profile; see the module docstring."""

    def __init__(
        self,
        profile: AgentProfile,
        *,
        checker: ComplianceChecker | None = None,
        llm: LLMBackend | None = None,
        seed: int = 0,
        policy: PolicyName | None = None,
        today: date | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.profile = profile
        self.policy: PolicyName = policy or profile.lead.policy
        self.checker = checker or ComplianceChecker()
        self.answers = AnswerAgent(profile, checker=self.checker, llm=llm, today=today, embedder=embedder)
        self.lead = LeadAgent(profile)
        self.seed = seed

    def start(self, language: Language | None = None) -> ConversationState:
        return ConversationState(language=language or self.profile.language)

    # -- one turn ----------------------------------------------------------------------------------------------

    def respond(self, state: ConversationState, text: str, *, now: datetime | None = None) -> TurnResult:
        """The replies to ``text`` and the new state; ``now`` (aware) decides working hours."""
        moment = now or datetime.now(UTC)
        st = state.model_copy(deep=True)
        rng = random.Random(f"{self.seed}:{st.turns}:{text[:200]}")
        phrases = self.lead.phrases
        a = analyze(
            text if isinstance(text, str) else "",
            default_language=st.language,
            industry=self.profile.industry,
            extra_handover_words=self.profile.handover.words,
        )
        st.turns += 1
        if not (a.empty or a.placeholder):
            st.language = a.language
        lang = st.language
        st.remember(Message(role="user", text=a.text[:_HISTORY_CHARS]))
        if st.handed_over:
            return self._finish(st, [], "handover", "a person has taken over; the agent stays quiet", rng)
        if a.empty:
            return self._finish(st, [], "notice", "an empty message: nothing to answer", rng)

        open_now = self.profile.working_hours.open_at(moment)
        acks: list[Planned] = []
        reasons: list[str] = []

        if a.risk == "minor" and not st.minor:
            st.minor = True
            st.lead = LeadInfo(needs=st.lead.needs)  # nothing they gave is kept
            st.captured = False
            acks.append(Planned(self._fill(phrases.minor, lang, rng), "notice"))
            reasons.append("the person is a minor: contact details are neither asked for nor kept")

        found = extract_contacts(a.text, lang)
        if st.minor and not acks and (found.fields() or found.invalid):
            acks.append(Planned(self._fill(phrases.minor_contact, lang, rng), "notice"))
            reasons.append("a minor shared contact details: not kept")
        new_fields, invalid = self.lead.absorb(st, found)

        handover = self._handover(a, lang, open_now, rng)
        if handover is not None:
            planned, why = handover
            st.handed_over = True
            captured = self._capture(st)
            return self._finish(
                st,
                [planned],
                "handover",
                why,
                rng,
                new_fields=new_fields,
                invalid=invalid,
                captured=captured,
                handed_over_now=True,
            )

        captured = self._capture(st)
        if captured:
            variants = phrases.thanks.open if open_now else phrases.thanks.closed
            acks.append(Planned(self._fill(variants, lang, rng), "thanks"))
            reasons.append(f"contact stored ({', '.join(new_fields)})")
        elif invalid:
            why = next((w for f, _raw, w in found.invalid if f in invalid), "")
            acks.append(Planned(self._fill(phrases.clarify, lang, rng, why=why.rstrip("。. ")), "clarify"))
            reasons.append(f"{invalid[0]} did not validate")
        if a.refuses_contact and not st.refused:
            st.refused = True
            if not captured:
                acks.append(Planned(self._fill(phrases.refused, lang, rng), "notice"))
            reasons.append("the person declined to share contact details")
        if a.abuse:
            acks.append(Planned(self._fill(phrases.abuse, lang, rng), "decline"))
            reasons.append("abusive message: one calm line")
        if a.placeholder and not a.needs:
            acks.append(Planned(self._fill(phrases.placeholder, lang, rng), "notice"))
            reasons.append("an image, sticker or voice message the agent cannot read")
        if a.injection and not a.needs:
            acks.append(Planned(self._fill(phrases.steer, lang, rng), "decline"))
            reasons.append("an instruction to the agent, not a question: not followed")
        if a.greeting and not a.needs and st.turns == 1:
            acks.append(Planned(self._fill(phrases.greeting, lang, rng), "greeting"))
        elif a.thanks and not a.needs and not captured and not a.refuses_contact:
            acks.append(Planned(self._fill(phrases.you_are_welcome, lang, rng), "notice"))

        if len(a.needs) > 1 and len(a.text) > _PASTE_CHARS:
            # a long paste ends with the person's own question; the pasted text's "needs" are not theirs
            a = replace(a, needs=a.needs[-1:])
        # the calm line for abuse is the engine's (above); a real question in the same message still gets answered
        pieces = self.answers.answer(replace(a, abuse=False), st) if a.needs else []
        first: dict[str, AnswerPiece] = {}
        for piece in pieces:
            first.setdefault(piece.text, piece)  # one "let me check" per turn, however many needs it answers
        pieces = list(first.values())
        answers = [
            Planned(self._unrepeated(p.text, st, lang, rng), "answer", list(p.sources))
            for p in pieces
            if p.text.strip()
        ]
        fixes = [f for p in pieces for f in p.fixes]
        answered = any(p.sources for p in pieces)
        unknown = any(not p.sources for p in pieces)
        for need in a.needs:
            short = _without_contacts(need.text, found).strip(" ，,。.")[:_NEED_CHARS]
            if short and short not in st.lead.needs and len(st.lead.needs) < 20:
                st.lead.needs.append(short)

        move = self._move(st, a, answered=answered, unknown=unknown, captured=captured, clarifying=bool(invalid))
        ask = Planned(self.lead.ask_text(move, lang, rng), "ask") if move.ask else None
        if not answers and not acks and ask is None:
            # Something was said that no part handles (small talk, a statement): say we are listening.
            acks.append(Planned(self._fill(phrases.listening, lang, rng), "notice"))
        if move.ask == "closing":
            acks = [p for p in acks if p.text not in phrases.you_are_welcome.zh + phrases.you_are_welcome.en]
        replies, action = order(self.policy, acks=acks, answers=answers, ask=ask)

        if answered:
            st.answered_turns += 1
        if ask is not None:
            st.asks += 1
            st.last_ask_turn = st.turns
            st.asked_extra = st.asked_extra or move.ask == "extra"
        reasons.append(move.reason)
        return self._finish(
            st,
            replies,
            action,
            "; ".join(reasons),
            rng,
            new_fields=new_fields,
            invalid=invalid,
            captured=captured,
            fixes=fixes,
        )

    # -- parts -------------------------------------------------------------------------------------------------

    def _handover(self, a: Analysis, lang: Language, open_now: bool, rng: random.Random) -> tuple[Planned, str] | None:
        cfg = self.profile.handover
        phrases = self.lead.phrases.handover
        if a.risk == "self_harm":
            return Planned(self._fill(phrases.self_harm, lang, rng), "handover"), "self-harm words: a person takes over"
        if cfg.on_risk and a.risk in ("complaint", "legal"):
            return Planned(
                self._fill(phrases.risk, lang, rng), "handover"
            ), f"risk words ({a.risk}): a person takes over"
        if cfg.on_request and a.wants_human:
            variants = phrases.open if open_now else phrases.closed
            return Planned(self._fill(variants, lang, rng), "handover"), "the person asked for a human"
        return None

    @staticmethod
    def _capture(st: ConversationState) -> bool:
        """Mark the lead captured the first time a way to reach the person is stored; True on that turn."""
        if st.captured or not st.lead.reachable():
            return False
        st.captured = True
        return True

    def _move(
        self, st: ConversationState, a: Analysis, *, answered: bool, unknown: bool, captured: bool, clarifying: bool
    ) -> LeadMove:
        if captured:
            return LeadMove(None, "contact just stored: thanks, no ask")
        if clarifying:
            return LeadMove(None, "the person is sharing a detail: no ask while it is being corrected")
        if a.abuse or a.injection:
            return LeadMove(None, "abuse or an injection attempt: no ask this turn")
        closing = a.thanks and not a.needs
        if self.policy == "answer_first" and not (a.needs or a.ready or closing):
            return LeadMove(None, "nothing asked: no ask")
        return self.lead.plan(
            st,
            answered=answered,
            unknown=unknown,
            ready=a.ready,
            policy_first=self.policy == "lead_first",
            closing=closing,
        )

    def _unrepeated(self, text: str, st: ConversationState, lang: Language, rng: random.Random) -> str:
        """An answer the person already had (same closing words as an earlier answer) said as a reminder."""
        tail = text.strip()[-_REPEAT_TAIL:]
        said = [m.text for m in st.history if m.role == "agent" and m.kind == "answer"]
        if len(tail) < _REPEAT_TAIL or not any(tail in m for m in said):
            return text
        body = text
        for opener in self.answers.phrases.openers.of(lang):
            if opener and body.startswith(opener):
                body = body[len(opener) :]
                break
        lead = self._fill(self.lead.phrases.repeat, lang, rng)
        return lead + (body[:1].lower() + body[1:] if lang == Language.en else body)

    def _fill(self, variants: Variants, lang: Language, rng: random.Random, **slots: str) -> str:
        text = variants.pick(lang, rng)
        hours = self.profile.working_hours
        values = {
            "name": self.profile.name,
            "business": self.profile.business,
            "hours": f"{hours.start:%H:%M}–{hours.end:%H:%M}",
            **slots,
        }
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text

    def _comply(self, planned: list[Planned], lang: Language, fixes: list[str]) -> list[Planned]:
        """Every reply through the checker once more: rewritten where the rules allow, else dropped."""
        kept = []
        for p in planned:
            findings = self.checker.check(p.text, language=lang, industry=self.profile.industry)
            if not findings:
                kept.append(p)
                continue
            fixed, applied = self.checker.rewrite(p.text, language=lang, industry=self.profile.industry)
            fixes.extend(f.rule_id for f in applied or findings)
            if fixed and not self.checker.check(fixed, language=lang, industry=self.profile.industry):
                kept.append(Planned(fixed, p.kind, p.sources))
        return kept

    def _finish(
        self,
        st: ConversationState,
        planned: list[Planned],
        action: DecisionAction,
        reason: str,
        rng: random.Random,
        *,
        new_fields: list[ContactField] | None = None,
        invalid: list[ContactField] | None = None,
        captured: bool = False,
        handed_over_now: bool = False,
        fixes: list[str] | None = None,
    ) -> TurnResult:
        fix_log = list(fixes or [])
        planned = self._comply(planned, st.language, fix_log)
        pauses = delays([p.text for p in planned], self.profile.pacing, rng)
        replies = [
            Reply(text=p.text, kind=p.kind, delay_s=d, sources=p.sources) for p, d in zip(planned, pauses, strict=True)
        ]
        for r in replies:
            st.remember(Message(role="agent", text=r.text[:_HISTORY_CHARS], kind=r.kind))
        return TurnResult(
            replies=replies,
            state=st,
            decision=Decision(policy=self.policy, action=action, reason=reason),
            new_fields=new_fields or [],
            invalid_fields=invalid or [],
            lead_captured=captured,
            handover=handed_over_now,
            fixes=fix_log,
        )
