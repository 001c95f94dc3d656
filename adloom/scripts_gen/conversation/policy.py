"""The ordering policy between the answer agent and the lead agent: which replies go out this turn, in what order.

``answer_first`` (the two-agent design): acknowledge what the person just did (thanks for a number, what was
wrong with one, a refusal accepted), then answer every need, then, only if the lead agent proposed one, the ask
— so an ask always follows help. ``lead_first`` (the single-agent baseline the issue describes): the ask goes
first and only the first need is answered after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adloom.scripts_gen.conversation.model import DecisionAction, PolicyName, ReplyKind

__all__ = ["Planned", "order"]


@dataclass
class Planned:
    """A reply before pacing: its text, kind and the knowledge it rests on."""

    text: str
    kind: ReplyKind
    sources: list[str] = field(default_factory=list)


_ACTIONS: tuple[tuple[ReplyKind, DecisionAction], ...] = (
    ("thanks", "thanks"),
    ("greeting", "greet"),
    ("decline", "decline"),
)


def order(
    policy: PolicyName, *, acks: list[Planned], answers: list[Planned], ask: Planned | None
) -> tuple[list[Planned], DecisionAction]:
    """The replies in sending order and the decision's action name."""
    if policy == "lead_first" and ask is not None:
        return [ask, *acks, *answers[:1]], "ask"
    replies = [*acks, *answers, *([ask] if ask else [])]
    kinds = {r.kind for r in replies}
    if "answer" in kinds:
        if ask is not None:
            return replies, "answer_then_ask"
        return replies, "answer_then_thanks" if "thanks" in kinds else "answer"
    if ask is not None:
        return replies, "ask"
    for kind, action in _ACTIONS:
        if kind in kinds:
            return replies, action
    return replies, "notice"
