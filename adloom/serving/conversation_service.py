"""The lead-capture agent as serving runs it: agent files, one engine per agent profile, and the glue that turns
:class:`~adloom.scripts_gen.conversation.engine.ConversationEngine` into the JSON callbacks the conversation
store runs inside its transaction (:mod:`adloom.core.storage.conversations`). The API routes and ``adloom agent
chat`` share it, so a chat in the terminal and a platform's webhook go through the same turn."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adloom.core.datafiles import load_data
from adloom.core.errors import NotFoundError
from adloom.core.protocols import Embedder
from adloom.core.settings import Settings, get_settings
from adloom.core.storage import Store
from adloom.core.storage import conversations as store_conv
from adloom.core.types import Language
from adloom.scripts_gen.conversation.model import AgentProfile, ConversationState, PolicyName

if TYPE_CHECKING:
    from adloom.scripts_gen.conversation.engine import ConversationEngine

log = logging.getLogger(__name__)

#: Engines kept built (one per distinct profile); building one indexes the advertiser's FAQ.
_ENGINES_KEPT = 64
_engines: OrderedDict[str, ConversationEngine] = OrderedDict()
_engines_lock = threading.Lock()


def load_agent_file(path: Path) -> AgentProfile:
    """An agent YAML file, validated; errors name the file, the key and the line."""
    return load_data(path, AgentProfile)


def build_engine(profile: AgentProfile, policy: PolicyName | None, settings: Settings) -> ConversationEngine:
    """A new engine for ``profile`` (imported here: the engine's parts load only when an agent first talks). With
    ``agent_answers = "llm"`` the configured LLM paraphrases answers (kept only when grounded)."""
    from adloom.scripts_gen.conversation.engine import ConversationEngine

    llm = None
    if settings.agent_answers == "llm":
        from adloom.scripts_gen.llm import get_backend

        llm = get_backend(settings)
    return ConversationEngine(profile, policy=policy, llm=llm, embedder=_embedder(settings))


def _embedder(settings: Settings) -> Embedder | None:
    """The deployment's embedder (``settings.embedder``), so answers find paraphrases by meaning; without one
    (the plugin missing) retrieval is by words alone, which is said once in the log."""
    from adloom.core.registry import registry

    try:
        embedder: Embedder = registry("embedder").create(settings.embedder)
    except Exception as exc:  # a missing optional extra must not stop an agent from answering
        log.warning("agents answer without embedder %r (%s): by shared words only", settings.embedder, exc)
        return None
    return embedder


def engine_for(
    profile: AgentProfile, *, policy: PolicyName | None = None, settings: Settings | None = None
) -> ConversationEngine:
    """The engine of ``profile`` (built once per distinct profile, policy and answer settings, then reused);
    ``settings`` default to the process's."""
    settings = settings or get_settings()
    parts = [profile.model_dump(mode="json"), policy, settings.embedder, settings.agent_answers]
    key = hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    with _engines_lock:
        engine = _engines.get(key)
        if engine is not None:
            _engines.move_to_end(key)
            return engine
    engine = build_engine(profile, policy, settings)
    with _engines_lock:
        _engines[key] = engine
        while len(_engines) > _ENGINES_KEPT:
            _engines.popitem(last=False)
    return engine


def callbacks(
    profile: AgentProfile,
    *,
    policy: PolicyName | None = None,
    language: Language | None = None,
    settings: Settings | None = None,
) -> tuple[store_conv.Start, store_conv.Respond]:
    """``start`` and ``respond`` for :func:`~adloom.core.storage.conversations.receive_message`."""
    engine = engine_for(profile, policy=policy, settings=settings)

    def start() -> tuple[dict[str, Any], str]:
        state = engine.start(language)
        return state.model_dump(mode="json"), str(state.language)

    def respond(state_json: dict[str, Any], text: str, now: datetime) -> store_conv.TurnOutput:
        state = ConversationState.model_validate(state_json)
        result = engine.respond(state, text, now=now)
        decision = result.decision.model_dump(mode="json") | {
            "new_fields": list(result.new_fields),
            "invalid_fields": list(result.invalid_fields),
            "fixes": list(result.fixes),
        }
        lead = result.state.lead
        return store_conv.TurnOutput(
            replies=[store_conv.PlannedReply(r.text, str(r.kind), r.delay_s) for r in result.replies],
            state=result.state.model_dump(mode="json"),
            decision=decision,
            language=str(result.state.language),
            lead=lead.model_dump(mode="json") if lead.reachable() else None,
            handover=result.handover,
        )

    return start, respond


def receive(
    store: Store,
    profile: AgentProfile,
    *,
    user_id: str,
    channel: str,
    text: str,
    message_id: str | None = None,
    now: datetime | None = None,
    policy: PolicyName | None = None,
    language: Language | None = None,
    settings: Settings | None = None,
) -> store_conv.TurnRecord:
    """Store and answer one user message for the stored agent ``profile.id``."""
    start, respond = callbacks(profile, policy=policy, language=language, settings=settings)
    return store_conv.receive_message(
        store,
        profile.id,
        user_id=user_id,
        channel=channel,
        text=text,
        message_id=message_id,
        start=start,
        respond=respond,
        now=now,
    )


def answer_held_in(
    store: Store, conversation_id: str, *, now: datetime | None = None, settings: Settings | None = None
) -> store_conv.TurnRecord | None:
    """Answer the held messages of one conversation of ``store``'s tenant, if they are due (see
    :func:`adloom.core.storage.conversations.answer_held`); None when there was nothing to answer or the
    conversation's agent is gone."""
    conv = store_conv.get_conversation(store, conversation_id, messages=False)
    try:
        agent = store_conv.get_agent(store, conv.agent_id)
    except NotFoundError:
        return None  # the agent was deleted: its conversations stay readable, nobody answers
    _, respond = callbacks(AgentProfile.model_validate(agent.profile), settings=settings)
    return store_conv.answer_held(store, conversation_id, respond=respond, now=now)


def sweep_held(root: Store, *, now: datetime | None = None, limit: int = 50, settings: Settings | None = None) -> int:
    """Answer every conversation (all tenants) whose held messages are due; returns how many were answered.
    One failing conversation is logged and skipped, never stops the others."""
    answered = 0
    for item in store_conv.held_due(root, now=now, limit=limit):
        try:
            held = answer_held_in(root.scoped(item.tenant_id), item.conversation_id, now=now, settings=settings)
            if held is not None:
                answered += 1
        except Exception:
            log.exception("answering held messages of %s failed", item.conversation_id)
    return answered


def run_sweeper(
    root: Store, stop: threading.Event, *, every_s: float = 1.0, settings: Settings | None = None
) -> threading.Thread:
    """A daemon thread that runs :func:`sweep_held` every ``every_s`` seconds until ``stop`` is set."""

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                sweep_held(root, settings=settings)
            except Exception:
                log.exception("the held-message sweep failed; retrying")

    thread = threading.Thread(target=loop, name="adloom-conversation-sweeper", daemon=True)
    thread.start()
    return thread
