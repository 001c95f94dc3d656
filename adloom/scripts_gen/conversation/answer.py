"""The answer agent: a warm, short, grounded reply to each need in a message.

For each need (at most :data:`MAX_PIECES`, in the order asked) the agent searches the agent's knowledge
(:class:`~.knowledge.AgentKnowledge`) and answers from the best entry:

* **Template** (default, deterministic): the entry's answer quoted, with a light opener from the phrase bank
  (``adloom/data/agent/answer.yaml``) chosen by the turn number so consecutive replies vary.
* **LLM** (when one is given): the model may paraphrase the entry; the paraphrase is kept only when it is
  grounded (every number appears in the sources, most words come from them or the question, the right
  language and length) — otherwise the template stands.

Nothing is invented: a need the knowledge does not cover gets an honest "let me check with our advisor"
(``grounded=True, sources=[]``), which is also the lead agent's moment to offer a call-back. A question
fishing for competitors' prices gets only the advertiser's own published information. Loan and investment
answers carry the reminder the law asks for. Every piece passes the :class:`ComplianceChecker` for the
agent's industry: rewritten when possible (the rule ids go in ``fixes``), replaced by the honest line when not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from adloom.core.datafiles import load_package_data
from adloom.core.protocols import Embedder
from adloom.core.text import language_share, numbers_in, split_sentences
from adloom.core.types import Language
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.conversation.intents import Analysis, Need
from adloom.scripts_gen.conversation.knowledge import AgentKnowledge, Hit, is_price_question
from adloom.scripts_gen.conversation.model import AgentProfile, ConversationState
from adloom.scripts_gen.live_answer import Bilingual, Terms, tokens
from adloom.scripts_gen.llm.base import LLMBackend
from adloom.scripts_gen.safety import looks_like_injection

__all__ = ["MAX_EN_WORDS", "MAX_PIECES", "MAX_ZH_CHARS", "AnswerAgent", "AnswerPiece", "PhraseBank", "fits"]

MAX_PIECES = 3
MAX_ZH_CHARS = 80
MAX_EN_WORDS = 45

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Phrases(BaseModel):
    model_config = _STRICT

    zh: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)

    def of(self, language: Language) -> list[str]:
        return self.zh if language == Language.zh else self.en


class Reminders(BaseModel):
    model_config = _STRICT

    loan: Bilingual
    invest: Bilingual


class PhraseBank(BaseModel):
    """``adloom/data/agent/answer.yaml``."""

    model_config = _STRICT

    openers: Phrases
    unknown: Bilingual
    abuse: Bilingual
    steer: Bilingual
    competitor: Bilingual
    competitor_none: Bilingual
    cheapest: Bilingual
    offer_intro: Bilingual
    cheapest_none: Bilingual
    exact_note: Bilingual
    exact_unknown: Bilingual
    reminders: Reminders
    loan_terms: Terms
    invest_terms: Terms
    competitor_terms: Terms
    cheapest_terms: Terms


def phrase_bank() -> PhraseBank:
    """The shipped phrase bank (validated once per process)."""
    return load_package_data(PhraseBank, "agent", "answer.yaml")


@dataclass
class AnswerPiece:
    """One reply message answering one need."""

    text: str
    grounded: bool
    sources: list[str] = field(default_factory=list)
    topic: str | None = None
    fixes: list[str] = field(default_factory=list)


def fits(text: str, language: Language) -> bool:
    """Whether ``text`` is short enough for one chat message (zh ≤ 80 characters, en ≤ 45 words)."""
    return len(text) <= MAX_ZH_CHARS if language == Language.zh else len(text.split()) <= MAX_EN_WORDS


def _join(language: Language, *parts: str) -> str:
    """Parts as one message: zh parts run together, en parts with a space."""
    parts = tuple(p for p in parts if p)
    if language == Language.zh:
        return "".join(parts)
    return " ".join(p.strip() for p in parts)


def _ended(text: str, language: Language) -> str:
    """``text`` with a closing full stop when it has no end punctuation (an offer written as a bare phrase)."""
    text = text.rstrip()
    if not text or text[-1] in "。！？.!?…）)":
        return text
    return text + ("。" if language == Language.zh else ".")


def _shortened(text: str, language: Language, budget_zh: int, budget_en: int) -> str:
    """``text`` cut to whole sentences (then clauses) within the budget; "" when not even one clause fits."""

    def ok(t: str) -> bool:
        return len(t) <= budget_zh if language == Language.zh else len(t.split()) <= budget_en

    if ok(text):
        return text
    kept = ""
    for sentence in split_sentences(text):
        candidate = _join(language, kept, sentence)
        if not ok(candidate):
            break
        kept = candidate
    if kept:
        return kept
    clauses = re.split(r"(?<=[，,；;])", split_sentences(text)[0] if split_sentences(text) else text)
    for clause in clauses:
        candidate = kept + clause
        if not ok(candidate):
            break
        kept = candidate
    kept = kept.rstrip("，,；; ")
    if not kept:
        return ""
    return kept + ("。" if language == Language.zh else ".")


#: Pack topics that may answer a price question in general terms (how quotes, fees and rates work).
_PRICE_TOPICS = frozenset({"price", "quote", "offer", "package", "fees", "rate"})

#: Topics only the advertiser's own FAQ answers (the industry pack knows no address or opening hours).
_OWN_TOPICS = frozenset({"location", "hours"})

_COMMA_LIKE = re.compile(r"[，,；;：:]$")


class AnswerAgent:
    """Answers the needs of one message for one advertiser's agent (see the module docstring)."""

    def __init__(
        self,
        profile: AgentProfile,
        *,
        checker: ComplianceChecker | None = None,
        llm: LLMBackend | None = None,
        today: date | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.profile = profile
        self.checker = checker if checker is not None else ComplianceChecker()
        self.llm = llm
        self.today = today
        self.knowledge = AgentKnowledge(profile, embedder=embedder)
        self.phrases = phrase_bank()
        self._loan = self.phrases.loan_terms.pattern()
        self._invest = self.phrases.invest_terms.pattern()
        self._competitor = self.phrases.competitor_terms.pattern()
        self._cheapest = self.phrases.cheapest_terms.pattern()

    # ------------------------------------------------------------------ public

    def answer(self, analysis: Analysis, state: ConversationState) -> list[AnswerPiece]:
        """One piece per need (at most three), in order, in ``analysis.language``."""
        language = analysis.language
        if analysis.abuse:
            return [self._fixed(self.phrases.abuse.text(language), language, topic=None)]
        needs = [n for n in analysis.needs if not looks_like_injection(n.text)]
        if not needs:
            if analysis.injection:
                steer = self.phrases.steer.text(language).format(business=self.profile.business)
                return [self._fixed(steer, language, topic=None)]
            return []
        pieces: list[AnswerPiece] = []
        used: set[str] = set()
        for index, need in enumerate(needs):
            if len(pieces) == MAX_PIECES:
                break
            piece = self._answer_need(need, language, state.turns + index, used)
            if piece is not None:
                pieces.append(piece)
        return pieces

    # ------------------------------------------------------------------ one need

    def _answer_need(self, need: Need, language: Language, seed: int, used: set[str]) -> AnswerPiece | None:
        competitor = bool(self._competitor and self._competitor.search(need.text))
        # "are you the cheapest?": the advertiser's own prices, honestly, never a comparison
        cheapest = not competitor and bool(self._cheapest and self._cheapest.search(need.text))
        price = is_price_question(need.text, need.topic)
        hits = self.knowledge.search(need.text, language, need.topic, k=5, today=self.today)
        if competitor or cheapest:
            # only the advertiser's own published information, never a comparison
            hits = [h for h in hits if h.source in ("advertiser", "offer")]
        elif need.topic in _OWN_TOPICS:
            # where the business is and when it opens: only the advertiser knows, never general knowledge
            hits = [h for h in hits if h.source == "advertiser"]
        elif price:
            # a price question is not answered by general knowledge on another subject ("雅思课多少钱" is no
            # question about pass rates): the advertiser's facts, or a pack entry on what was asked
            hits = [h for h in hits if h.source != "industry" or h.on_topic or h.topic in _PRICE_TOPICS]
        # the advertiser has the facts, in the other language only: they are not quoted (see .knowledge)
        elsewhere = self.knowledge.other_language_match(need.text, language)
        hit = self._choose(hits, need.topic, used)
        if cheapest and (hit is None or hit.source != "advertiser"):
            hit = next((h for h in self.knowledge.price_facts(language) if h.id not in used), hit)
        if hit is not None and hit.source == "industry" and elsewhere and price:
            hit = None  # general knowledge would dodge a question the advertiser's own figures answer
        if hit is None:
            if any(h.id in used for h in hits):
                return None  # the same entry already answered an earlier need of this message
            if competitor:
                return self._fixed(self.phrases.competitor_none.text(language), language, need.topic)
            if cheapest:
                return self._fixed(self.phrases.cheapest_none.text(language), language, need.topic)
            if elsewhere:
                return self._fixed(self.phrases.exact_unknown.text(language), language, need.topic)
            return self._unknown(need, language)
        used.add(hit.id)
        offer = None
        if hit.source != "offer" and price:
            offer = next((h for h in hits if h.source == "offer" and h.id not in used), None)
        sources = [hit] + ([offer] if offer is not None else [])
        reminder = self._reminder(need.text + " " + hit.answer, language)
        if hit.source == "industry" and (price or elsewhere):
            # general knowledge stands in for the advertiser's figures: say who gives the exact ones
            reminder = _join(language, self.phrases.exact_note.text(language), reminder)
        body = hit.answer
        if offer is not None:
            body = _join(language, _ended(body, language), self.phrases.offer_intro.text(language) + offer.answer)
        body = _ended(body, language)
        if reminder and reminder.rstrip("。.") in body:
            reminder = ""  # the advertiser's answer already carries it
        if competitor:
            frame = self.phrases.competitor.text(language)
        elif cheapest:
            frame = self.phrases.cheapest.text(language)
        else:
            frame = self._opener(language, seed)
        text, how = self._compose(frame, body, reminder, language)
        if text is None:
            return self._unknown(need, language)
        fixes: list[str] = []
        if self.llm is not None and not competitor:
            paraphrase = self._paraphrase(need.text, sources, language, seed, reminder)
            if paraphrase is not None:
                text, how = paraphrase, "llm"
        checked, rule_ids = self._compliant(text, language)
        fixes += rule_ids
        if checked is None or not fits(checked, language):
            piece = self._unknown(need, language)
            piece.fixes = fixes + piece.fixes + (["dropped: not compliant"] if checked is None else ["dropped: long"])
            return piece
        if how == "llm":
            fixes.append("llm paraphrase kept (grounded)")
        return AnswerPiece(
            text=checked,
            grounded=True,
            sources=[s.id for s in sources],
            topic=need.topic,
            fixes=fixes,
        )

    def _choose(self, hits: list[Hit], topic: str | None, used: set[str]) -> Hit | None:
        """The best hit not used yet: one on a topic of the question first, then by rank; an offer only
        when nothing else answers, or first when the question is about offers ("有什么优惠")."""
        fresh = [h for h in hits if h.id not in used]
        offers = [h for h in fresh if h.source == "offer"]
        if topic == "offer" and offers:
            return offers[0]
        ranked = [h for h in fresh if h.source != "offer"] or fresh
        on_topic = [h for h in ranked if h.on_topic]
        best = on_topic or ranked
        return best[0] if best else None

    # ------------------------------------------------------------------ wording

    def _opener(self, language: Language, seed: int) -> str:
        openers = self.phrases.openers.of(language)
        return openers[seed % len(openers)]

    def _reminder(self, text: str, language: Language) -> str:
        """The risk reminder the law asks for on loan and investment answers ("" when none applies)."""
        if self._loan is not None and self._loan.search(text):
            return self.phrases.reminders.loan.text(language)
        if self.profile.industry.value == "finance" or (self._invest is not None and self._invest.search(text)):
            return self.phrases.reminders.invest.text(language)
        return ""

    def _compose(self, frame: str, body: str, reminder: str, language: Language) -> tuple[str | None, str]:
        """``frame + body + reminder`` within one message's length; the body is cut at sentence or clause
        ends, the opener dropped first. None when the body cannot be made to fit."""
        full = _join(language, frame, body, reminder)
        if fits(full, language):
            return full, "template"
        without = _join(language, body, reminder) if not _COMMA_LIKE.search(frame.strip()) else None
        if without is not None and fits(without, language):
            return without, "template"
        rem_zh = len(reminder) + len(frame)
        rem_en = len(reminder.split()) + len(frame.split())
        cut = _shortened(body, language, MAX_ZH_CHARS - rem_zh, MAX_EN_WORDS - rem_en)
        if cut:
            return _join(language, frame, cut, reminder), "template"
        cut = _shortened(body, language, MAX_ZH_CHARS - len(reminder), MAX_EN_WORDS - len(reminder.split()))
        return (_join(language, cut, reminder), "template") if cut else (None, "template")

    def _unknown(self, need: Need, language: Language) -> AnswerPiece:
        return self._fixed(self.phrases.unknown.text(language), language, need.topic)

    def _fixed(self, text: str, language: Language, topic: str | None) -> AnswerPiece:
        """A line from the phrase bank (no facts): grounded by construction, still checked."""
        checked, rule_ids = self._compliant(text, language)
        return AnswerPiece(text=checked or text, grounded=True, sources=[], topic=topic, fixes=rule_ids)

    def _compliant(self, text: str, language: Language) -> tuple[str | None, list[str]]:
        new, findings = self.checker.rewrite(text, language=language, industry=self.profile.industry)
        return new, [f.rule_id for f in findings]

    # ------------------------------------------------------------------ the model

    def _paraphrase(
        self, question: str, sources: list[Hit], language: Language, seed: int, reminder: str
    ) -> str | None:
        """The model's warmer wording of the sources, or None when it is not grounded."""
        assert self.llm is not None
        facts = "\n".join(f"- {h.answer}" for h in sources)
        if language == Language.zh:
            prompt = (
                f"你是{self.profile.business}的顾问，热情、专业、简短（不超过60字）。只用资料里的事实，"
                f"不要添加任何数字、价格或承诺。\n资料：\n{facts}\n客户问：{question}\n回答："
            )
        else:
            prompt = (
                f"You are an advisor for {self.profile.business}: warm, expert, brief (under 35 words). Use only "
                f"the facts below; add no numbers, prices or promises.\nFacts:\n{facts}\n"
                f"Customer: {question}\nAnswer:"
            )
        try:
            raw = self.llm.generate_text(prompt, max_tokens=160, temperature=0.4, seed=seed, stop=["\n"])
        except Exception:  # noqa: BLE001 - a failing model must not cost the user an answer
            return None
        text = raw.strip().strip('"“”')
        if reminder and reminder not in text:
            text = _join(language, text, reminder)
        if not text or not fits(text, language) or looks_like_injection(text):
            return None
        support = question + " " + reminder
        return text if not grounding_problems(text, sources, support, language) else None


_NEGATION = re.compile(r"\b(?:not|no|never|cannot|can't|won't)\b|不|没|无|别", re.IGNORECASE)


def grounding_problems(text: str, sources: list[Hit], question: str, language: Language) -> list[str]:
    """Why ``text`` is not grounded in ``sources`` (empty: it is): numbers, words, language, negations."""
    source_text = " ".join(h.answer for h in sources)
    problems = []
    invented = numbers_in(text) - numbers_in(source_text)
    if invented:
        problems.append(f"numbers not in the sources: {', '.join(sorted(invented))}")
    support = set(tokens(source_text + " " + question))
    terms = tokens(text)
    if not terms:
        problems.append("no content words")
    elif sum(t in support for t in terms) / len(terms) < 0.55:
        problems.append("most words do not come from the sources")
    if language_share(text, language) < 0.6:
        problems.append("not in the user's language")
    if _NEGATION.search(text) and not _NEGATION.search(source_text):
        problems.append("negates what the sources say")
    return problems
