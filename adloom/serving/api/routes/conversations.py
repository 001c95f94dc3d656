"""Conversations with an agent: the platform's private-message webhook (``POST /v1/agents/{id}/messages``), the
conversations and their messages, polling for replies that are due, and a person taking over.

Each agent reply has a planned ``send_at``: the time the message came in plus the typing pauses before it, so a
platform that sends replies on schedule looks like a person typing. Replies also go out as ``conversation.reply``
webhook events (with ``send_at``), a first captured lead as ``lead.created``.

Bursts: every message is stored, but a message that arrives while replies of the agent are still planned gets no
reply of its own (``status: held``); the next message after them is answered together with every held one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from adloom.core.storage import conversations
from adloom.core.types import Conversation, ConversationMessage, ConversationStatus, Page
from adloom.scripts_gen.conversation.model import AgentProfile
from adloom.serving import conversation_service
from adloom.serving.api.deps import After, Limit, SettingsDep, StoreDep
from adloom.serving.api.errors import NOT_FOUND, ApiError

router = APIRouter(tags=["conversations"])

_TEXT_DOC = (
    f"The message text (1–{conversations.MAX_MESSAGE_CHARS} characters; the agent reads the first 10 000). "
    "Stickers and pictures as the platform's placeholders (e.g. [图片]) are plain text."
)


def _text(v: str) -> str:
    if not v.strip():
        raise ValueError("text is empty; send the message text")
    return v


def _not_too_long(text: str) -> None:
    if len(text) > conversations.MAX_MESSAGE_CHARS:
        raise ApiError(
            413,
            "text_too_long",
            f"text is {len(text)} characters long; at most {conversations.MAX_MESSAGE_CHARS} are accepted: "
            "split it or shorten it",
            param="text",
        )


class IncomingMessage(BaseModel):
    """A private message a user sent to the advertiser's account, as the platform's webhook passes it on."""

    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="The platform's id of the person writing (one conversation per user, agent and channel)."
    )
    channel: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,32}$")] = Field(
        "default", description="Where the message came from, e.g. douyin, wechat, web."
    )
    text: str = Field(description=_TEXT_DOC)
    message_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        None, description="The platform's message id: a retried webhook with it is answered once."
    )

    _check_text = field_validator("text")(_text)


class ReplyOut(BaseModel):
    id: str
    text: str
    kind: str
    send_at: datetime = Field(description="When to send it: the message's arrival plus the typing pauses so far.")


class MessageAnswer(BaseModel):
    """What one incoming message produced."""

    conversation_id: str
    message: ConversationMessage = Field(description="The stored user message (status held, answered or quiet).")
    replies: list[ReplyOut]
    decision: dict[str, Any] | None = Field(None, description="The policy's action and reason for this turn.")
    lead_id: str | None = None
    lead_created: bool = False
    handed_over: bool = Field(description="A person has taken over: the agent stays quiet.")
    replayed: bool = Field(False, description="This message_id was seen before: the first answer, unchanged.")


class HumanMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The person's reply, stored as sent now.")
    role: Literal["human"] = "human"

    _check_text = field_validator("text")(_text)


class RepliesDue(BaseModel):
    object: Literal["list"] = "list"
    data: list[ConversationMessage]
    next_send_at: datetime | None = Field(None, description="When the next planned reply falls due, if any.")


@router.post("/v1/agents/{agent_id}/messages", response_model=MessageAnswer, responses=NOT_FOUND)
def post_message(agent_id: str, body: IncomingMessage, store: StoreDep, settings: SettingsDep) -> MessageAnswer:
    """The platform's private-message webhook: store the message, answer it, plan the replies' send times."""
    _not_too_long(body.text)
    agent = conversations.get_agent(store, agent_id)
    profile = AgentProfile.model_validate(agent.profile)
    turn = conversation_service.receive(
        store,
        profile,
        user_id=body.user_id,
        channel=body.channel,
        text=body.text,
        message_id=body.message_id,
        settings=settings,
    )
    return MessageAnswer(
        conversation_id=turn.conversation.id,
        message=turn.message,
        replies=[ReplyOut(id=r.id, text=r.text, kind=r.kind, send_at=r.send_at or r.created_at) for r in turn.replies],
        decision=turn.decision,
        lead_id=turn.lead_id,
        lead_created=turn.lead_created,
        handed_over=turn.handed_over or turn.conversation.status == "handed_over",
        replayed=turn.replayed,
    )


@router.get("/v1/conversations", response_model=Page[Conversation])
def list_conversations(
    store: StoreDep,
    limit: Limit = 20,
    after: After = None,
    agent_id: Annotated[str | None, Query(max_length=64, description="Only this agent's.")] = None,
    status: Annotated[ConversationStatus | None, Query(description="Only conversations in this state.")] = None,
) -> Page[Conversation]:
    """This tenant's conversations, newest first (without their messages)."""
    return conversations.list_conversations(store, agent_id=agent_id, status=status, limit=limit, after=after)


@router.get("/v1/conversations/{conversation_id}", response_model=Conversation, responses=NOT_FOUND)
def get_conversation(conversation_id: str, store: StoreDep) -> Conversation:
    """One conversation with all its messages in order."""
    return conversations.get_conversation(store, conversation_id)


@router.get("/v1/conversations/{conversation_id}/replies", response_model=RepliesDue, responses=NOT_FOUND)
def replies_due(
    conversation_id: str,
    store: StoreDep,
    settings: SettingsDep,
    after: Annotated[
        str | None,
        Query(max_length=64, description="The id of the last message you have; it and all before it count as sent."),
    ] = None,
) -> RepliesDue:
    """Replies (agent and human) after ``after`` whose send time has come, in order; poll again at next_send_at.
    Held messages whose turn has come are answered first, so a poll never waits on the background sweep."""
    conversation_service.answer_held_in(store, conversation_id, settings=settings)
    data, next_at = conversations.replies_due(store, conversation_id, after=after)
    return RepliesDue(data=data, next_send_at=next_at)


@router.post("/v1/conversations/{conversation_id}/handover", response_model=Conversation, responses=NOT_FOUND)
def hand_over(conversation_id: str, store: StoreDep) -> Conversation:
    """A person takes over: the agent answers no more messages, its replies not yet due are cancelled."""
    return conversations.hand_over(store, conversation_id)


@router.post(
    "/v1/conversations/{conversation_id}/messages",
    response_model=ConversationMessage,
    status_code=201,
    responses=NOT_FOUND,
)
def post_human_message(conversation_id: str, body: HumanMessage, store: StoreDep) -> ConversationMessage:
    """Store the reply of a person of the advertiser; writing takes the conversation over from the agent."""
    _not_too_long(body.text)
    return conversations.add_human_message(store, conversation_id, body.text)
