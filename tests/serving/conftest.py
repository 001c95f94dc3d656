"""Fixtures of the serving tests. ``conversation_engine``: the real conversation engine where it imports, else a
tiny stand-in (the engine's parts land from parallel branches; the stand-in lives here only, never in adloom/)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from adloom.core.types import Language
from adloom.scripts_gen.conversation.model import (
    AgentProfile,
    ConversationState,
    Decision,
    Message,
    PolicyName,
    Reply,
    TurnResult,
)
from adloom.serving import conversation_service

_PHONE = re.compile(r"1[3-9]\d{9}")


class StandInEngine:
    """Answers every message with one reply (2 s typing); a mainland mobile number is a lead; "人工" or "human"
    hands over. Just enough of ConversationEngine's contract for the serving tests."""

    def __init__(self, profile: AgentProfile, *, policy: PolicyName | None = None) -> None:
        self.profile, self.policy = profile, policy or profile.lead.policy

    def start(self, language: Language | None = None) -> ConversationState:
        return ConversationState(language=language or self.profile.language)

    def respond(self, state: ConversationState, text: str, *, now: datetime | None = None) -> TurnResult:
        state = state.model_copy(deep=True)
        state.turns += 1
        state.remember(Message(role="user", text=text[:10_000]))
        new_fields: list[str] = []
        if (m := _PHONE.search(text)) and not state.lead.phone:
            state.lead.phone, state.captured = m.group(0), True
            new_fields.append("phone")
        handover = "人工" in text or "human" in text.lower()
        state.handed_over = state.handed_over or handover
        action, reply = (
            ("thanks", "收到，稍后联系您。") if new_fields else ("answer", f"{self.profile.name}：好的，了解。")
        )
        if handover:
            action, reply = "handover", "马上为您转人工。"
        return TurnResult(
            replies=[
                Reply(text=reply, kind=action, delay_s=2.0),
                Reply(text="还有什么想了解的？", kind="ask", delay_s=1.5),
            ],
            state=state,
            decision=Decision(policy=self.policy, action=action, reason="stand-in"),
            new_fields=new_fields,  # type: ignore[arg-type]
            lead_captured=bool(new_fields),
            handover=handover,
        )


def _real_engine_imports() -> bool:
    try:
        import adloom.scripts_gen.conversation.engine  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(autouse=True)
def conversation_engine(monkeypatch: pytest.MonkeyPatch) -> str:
    """Which engine answers in this test: "real" or "stand-in" (fresh engines per test either way)."""
    monkeypatch.setattr(conversation_service, "_engines", type(conversation_service._engines)())
    if _real_engine_imports():
        return "real"
    monkeypatch.setattr(
        conversation_service, "build_engine", lambda profile, policy: StandInEngine(profile, policy=policy)
    )
    return "stand-in"
