"""Agents: an advertiser's lead-capture "digital employees". The body of ``PUT`` is an AgentProfile, the same
schema as an agent YAML file (``adloom agent chat AGENT.yaml``); the id in the path names it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import StringConstraints

from adloom.core.storage import conversations
from adloom.core.types import AgentRecord, Page
from adloom.scripts_gen.conversation.model import AgentProfile
from adloom.serving.api.deps import After, Limit, StoreDep
from adloom.serving.api.errors import NOT_FOUND, ApiError

router = APIRouter(prefix="/v1/agents", tags=["agents"])

AGENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
AgentId = Annotated[
    str,
    StringConstraints(pattern=AGENT_ID_PATTERN),
    Path(description="Your name for the agent: letters, digits, _ . - (1–64)."),
]


@router.put("/{agent_id}", response_model=AgentRecord)
def put_agent(agent_id: AgentId, body: AgentProfile, store: StoreDep) -> AgentRecord:
    """Create the agent, or replace its profile (conversations already open go on with the new one)."""
    if "id" in body.model_fields_set and body.id != agent_id:
        raise ApiError(
            400,
            "invalid_request",
            f"the body's id {body.id!r} differs from the path's {agent_id!r}; leave id out or make them equal",
            param="id",
        )
    profile = body.model_copy(update={"id": agent_id})
    return conversations.put_agent(store, agent_id, profile.model_dump(mode="json"))


@router.get("", response_model=Page[AgentRecord])
def list_agents(store: StoreDep, limit: Limit = 20, after: After = None) -> Page[AgentRecord]:
    """This tenant's agents, newest first."""
    return conversations.list_agents(store, limit=limit, after=after)


@router.get("/{agent_id}", response_model=AgentRecord, responses=NOT_FOUND)
def get_agent(agent_id: str, store: StoreDep) -> AgentRecord:
    return conversations.get_agent(store, agent_id)


@router.delete("/{agent_id}", response_model=AgentRecord, responses=NOT_FOUND)
def delete_agent(agent_id: str, store: StoreDep) -> AgentRecord:
    """Remove the agent: new messages to it are refused; its conversations and leads stay readable."""
    return conversations.delete_agent(store, agent_id)
