"""Lead-capture conversations: agents, conversations and their messages, and the leads they capture.

Core knows nothing of the conversation engine (``scripts_gen`` may not be imported here): an agent's profile and
a conversation's state are JSON, and one turn of the engine comes in as a callback (:data:`Respond`) that
:func:`receive_message` calls inside the transaction that stores its result.

**One writer per conversation.** :func:`receive_message` finds or opens the conversation (``INSERT … ON CONFLICT
DO NOTHING``, so two first messages of one user open one conversation) and locks its row (``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite every writing transaction holds the database's write lock from ``BEGIN
IMMEDIATE``) before it reads the state, runs the turn and writes it back. Two messages of one conversation at
once are therefore answered one after the other, each on the state the other left; the row's ``version``
(SQLAlchemy's version counter) refuses a write based on a stale read should a path ever skip the lock.

**Bursts.** Every user message is stored and, normally, answered at once: a message that arrives while replies
of the agent are still planned (their ``send_at`` not reached) gets its own turn, whose replies are planned after
the ones already waiting, so "你好" followed a second later by the real question gets both answered, in order. A
person who writes faster than that — :data:`BURST_TURNS` turns already within :data:`BURST_WINDOW_S` while
replies are still waiting — has further messages *held*: stored, not answered on their own. Held messages are
answered together in one turn (their texts joined in order, the most recent :data:`TURN_TEXT_CAP` characters)
by the next message that finds no reply waiting, or by :func:`answer_held` once the waiting replies are due
(``adloom serve`` runs it in a background thread; a replies poll runs it for its conversation). So 100 messages
in a second get a few turns, never 100, and none is left unanswered.

**Idempotency.** A user message with the platform's ``message_id`` is stored once per conversation; a retried
webhook with that id answers what the first delivery answered and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from adloom.core.errors import InputError, NotFoundError
from adloom.core.storage.db import Store, _utc, check_page_limit, page_of
from adloom.core.storage.tables import AgentRow, ConversationMessageRow, ConversationRow, LeadRow
from adloom.core.storage.webhooks import enqueue_event
from adloom.core.types import (
    AgentRecord,
    Conversation,
    ConversationMessage,
    ConversationStatus,
    Lead,
    Page,
    WebhookEventType,
    utcnow,
)

#: The longest user message kept (characters); longer ones are refused. The engine reads at most 10 000.
MAX_MESSAGE_CHARS = 20_000
#: Characters of held messages one turn reads together (the most recent ones).
TURN_TEXT_CAP = 10_000
#: Turns within :data:`BURST_WINDOW_S` while replies still wait, after which further messages are held.
BURST_TURNS = 2
BURST_WINDOW_S = 20.0
#: Leads one export reads at most.
MAX_EXPORT_LEADS = 100_000
LEAD_FIELDS = ("phone", "wechat", "email", "city", "budget", "timing")


@dataclass(frozen=True)
class PlannedReply:
    """One reply of a turn and the pause before it (after the user's message for the first, after the previous
    reply for the others)."""

    text: str
    kind: str
    delay_s: float


@dataclass(frozen=True)
class TurnOutput:
    """What the engine made of one turn's text, as plain data."""

    replies: Sequence[PlannedReply]
    state: dict[str, Any]
    decision: dict[str, Any]
    language: str
    #: The lead as the state now holds it (contact fields and ``needs``), or None while there is no way to reach
    #: the person.
    lead: dict[str, Any] | None = None
    handover: bool = False


#: ``respond(state_json, text, now)``: one turn of the engine (it must not raise).
Respond = Callable[[dict[str, Any], str, datetime], TurnOutput]
#: ``start()``: a new conversation's state JSON and language.
Start = Callable[[], tuple[dict[str, Any], str]]


@dataclass
class TurnRecord:
    """What storing one user message did: the message, the replies planned for it (none when it was held, the
    conversation was handed over, or this is a replay), the decision, the lead."""

    conversation: Conversation
    message: ConversationMessage
    replies: list[ConversationMessage] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    lead_id: str | None = None
    lead_created: bool = False
    handed_over: bool = False
    #: True when ``message_id`` was seen before: the first answer, nothing written.
    replayed: bool = False


def _new(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


# -- agents ---------------------------------------------------------------------------------------------------


def put_agent(store: Store, agent_id: str, profile: dict[str, Any], *, now: datetime | None = None) -> AgentRecord:
    """Create or replace agent ``agent_id`` of this tenant (the profile is validated by the caller)."""
    now = now or utcnow()
    with store.session() as s:
        row = s.get(AgentRow, (store.tenant_id, agent_id))
        if row is None:
            row = AgentRow(tenant_id=store.tenant_id, id=agent_id, profile_json=profile, created_at=now, updated_at=now)
            s.add(row)
        else:
            row.profile_json, row.updated_at = profile, now
        s.flush()
        return _agent(row)


def get_agent(store: Store, agent_id: str) -> AgentRecord:
    with store.session(write=False) as s:
        return _agent(_own_agent(s, store, agent_id))


def delete_agent(store: Store, agent_id: str) -> AgentRecord:
    """Remove an agent: its conversations and leads stay readable, new messages to it are refused."""
    with store.session() as s:
        row = _own_agent(s, store, agent_id)
        gone = _agent(row)
        s.delete(row)
        return gone


def list_agents(store: Store, *, limit: int = 20, after: str | None = None) -> Page[AgentRecord]:
    check_page_limit(limit)
    stmt = select(AgentRow).where(AgentRow.tenant_id == store.tenant_id)
    with store.session(write=False) as s:
        if after is not None:
            anchor = s.get(AgentRow, (store.tenant_id, after))
            if anchor is None:
                raise InputError(f"after={after!r} is not an agent of this account; pass a last_id", field="after")
            stmt = stmt.where(_before(AgentRow, anchor.created_at, anchor.id))
        rows = list(s.scalars(stmt.order_by(AgentRow.created_at.desc(), AgentRow.id.desc()).limit(limit + 1)))
        return page_of([_agent(r) for r in rows[:limit]], len(rows) > limit)


# -- conversations --------------------------------------------------------------------------------------------


def receive_message(
    store: Store,
    agent_id: str,
    *,
    user_id: str,
    channel: str,
    text: str,
    message_id: str | None,
    start: Start,
    respond: Respond,
    now: datetime | None = None,
) -> TurnRecord:
    """Store a user message for ``agent_id`` and answer it (see the module notes: locking, bursts, retries)."""
    if not text.strip():
        raise InputError("text is empty; send the user's message text", field="text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"text is {len(text)} characters; at most {MAX_MESSAGE_CHARS} are kept", field="text")
    now = now or utcnow()
    with store.session() as s:
        _own_agent(s, store, agent_id)
        conv = _open_locked(s, store, agent_id, channel, user_id, start, now)
        if message_id is not None:
            seen = s.scalars(
                select(ConversationMessageRow).where(
                    ConversationMessageRow.conversation_id == conv.id, ConversationMessageRow.external_id == message_id
                )
            ).first()
            if seen is not None:
                return _replay(s, conv, seen)
        conv.last_seq += 1
        msg = ConversationMessageRow(
            id=_new("cmsg"),
            tenant_id=store.tenant_id,
            conversation_id=conv.id,
            seq=conv.last_seq,
            role="user",
            text=text,
            kind="user",
            external_id=message_id,
            status="held",
            created_at=now,
        )
        s.add(msg)
        conv.last_message_at = conv.updated_at = now
        if conv.status != "open":  # a person has taken over: the agent stays quiet
            msg.status = "quiet"
            s.flush()
            return TurnRecord(_conversation(s, conv), _message(msg), handed_over=conv.status == "handed_over")
        waiting = _last_planned(s, conv.id, now)
        if waiting is not None and _recent_turns(s, conv.id, now) >= BURST_TURNS:
            s.flush()  # a burst: answered together once the waiting replies are due
            return TurnRecord(_conversation(s, conv), _message(msg))
        s.flush()
        return _run_turn(s, store, conv, msg, respond, now, after=waiting)


def _last_planned(s: Session, conversation_id: str, now: datetime) -> datetime | None:
    """When the last agent reply still waiting to be sent is due (None when none waits)."""
    m = ConversationMessageRow
    last = s.scalar(
        select(func.max(m.send_at)).where(
            m.conversation_id == conversation_id, m.role == "agent", m.status == "planned", m.send_at > now
        )
    )
    return _utc(last) if last is not None else None


def _recent_turns(s: Session, conversation_id: str, now: datetime) -> int:
    """Turns answered within the burst window (by their user messages' arrival)."""
    m = ConversationMessageRow
    since = now - timedelta(seconds=BURST_WINDOW_S)
    return int(
        s.scalar(
            select(func.count(func.distinct(m.turn))).where(
                m.conversation_id == conversation_id, m.role == "user", m.status == "answered", m.created_at >= since
            )
        )
        or 0
    )


def _run_turn(
    s: Session,
    store: Store,
    conv: ConversationRow,
    msg: ConversationMessageRow | None,
    respond: Respond,
    now: datetime,
    *,
    after: datetime | None = None,
) -> TurnRecord:
    """One engine turn over every held user message of ``conv`` (``msg`` is the one that triggered it, or None
    for a sweep); replies are planned from ``after`` (the last waiting reply) or ``now``."""
    held = list(
        s.scalars(
            select(ConversationMessageRow)
            .where(
                ConversationMessageRow.conversation_id == conv.id,
                ConversationMessageRow.role == "user",
                ConversationMessageRow.status == "held",
            )
            .order_by(ConversationMessageRow.seq)
        )
    )
    if msg is None:
        msg = held[-1]
    joined = "\n".join(m.text for m in held)[-TURN_TEXT_CAP:]
    out = respond(dict(conv.state_json), joined, now)
    conv.turns += 1
    for m in held:
        m.status, m.turn = "answered", conv.turns
    replies: list[ConversationMessageRow] = []
    at = max(now, after) if after is not None else now
    for r in out.replies:
        at += timedelta(seconds=max(0.0, r.delay_s))
        conv.last_seq += 1
        row = ConversationMessageRow(
            id=_new("cmsg"),
            tenant_id=store.tenant_id,
            conversation_id=conv.id,
            seq=conv.last_seq,
            role="agent",
            text=r.text,
            kind=r.kind,
            turn=conv.turns,
            status="planned",
            created_at=now,
            send_at=at,
            decision_json=out.decision,
        )
        s.add(row)
        replies.append(row)
    conv.state_json, conv.language = out.state, out.language
    if replies:
        conv.last_message_at = replies[-1].send_at
    if out.handover:
        conv.status = "handed_over"
    lead, created = _save_lead(s, store, conv, out.lead, now)
    s.flush()
    record = TurnRecord(
        _conversation(s, conv),
        _message(msg),
        [_message(r) for r in replies],
        out.decision,
        lead.id if lead is not None else None,
        created,
        out.handover,
    )
    for planned_reply in record.replies:
        data = _reply_event(conv, planned_reply)
        enqueue_event(store, WebhookEventType.conversation_reply, data, session=s, now=now)
    if out.handover:
        enqueue_event(store, WebhookEventType.conversation_handed_over, _conv_event(conv), session=s, now=now)
    if created and lead is not None:
        data = {"id": lead.id, "conversation_id": conv.id, "agent_id": conv.agent_id}
        enqueue_event(store, WebhookEventType.lead_created, data, session=s, now=now)
    return record


@dataclass(frozen=True)
class HeldConversation:
    """A conversation with held messages and no reply left waiting: :func:`answer_held` should run on it."""

    tenant_id: str
    conversation_id: str
    agent_id: str


def held_due(store: Store, *, now: datetime | None = None, limit: int = 50) -> list[HeldConversation]:
    """Conversations of every tenant whose held messages can be answered now (the sweep's work list)."""
    now = now or utcnow()
    c, m = ConversationRow, ConversationMessageRow
    waiting = (
        select(m.id)
        .where(m.conversation_id == c.id, m.role == "agent", m.status == "planned", m.send_at > now)
        .exists()
    )
    has_held = select(m.id).where(m.conversation_id == c.id, m.role == "user", m.status == "held").exists()
    stmt = select(c.tenant_id, c.id, c.agent_id).where(c.status == "open", has_held, ~waiting).limit(limit)
    with store.session(write=False) as s:
        return [HeldConversation(t, i, a) for t, i, a in s.execute(stmt)]


def answer_held(
    store: Store, conversation_id: str, *, respond: Respond, now: datetime | None = None
) -> TurnRecord | None:
    """Answer the held messages of one conversation of this tenant in one turn, if no reply is still waiting
    (else, or when nothing is held or the conversation was handed over, None)."""
    now = now or utcnow()
    with store.session() as s:
        pick = select(ConversationRow).where(
            ConversationRow.tenant_id == store.tenant_id, ConversationRow.id == conversation_id
        )
        if s.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update()
        conv = s.scalars(pick).first()
        if conv is None:
            raise NotFoundError(f"conversation {conversation_id!r} not found")
        if conv.status != "open" or _last_planned(s, conv.id, now) is not None:
            return None
        held = s.scalar(
            select(func.count()).where(
                ConversationMessageRow.conversation_id == conv.id,
                ConversationMessageRow.role == "user",
                ConversationMessageRow.status == "held",
            )
        )
        if not held:
            return None
        return _run_turn(s, store, conv, None, respond, now)


def _open_locked(
    s: Session, store: Store, agent_id: str, channel: str, user_id: str, start: Start, now: datetime
) -> ConversationRow:
    """The conversation of this user, agent and channel, opened if new, its row locked for this transaction."""
    c = ConversationRow
    key = and_(c.tenant_id == store.tenant_id, c.agent_id == agent_id, c.channel == channel, c.user_id == user_id)
    pick = select(c).where(key)
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        pick = pick.with_for_update()
    row = s.scalars(pick).first()
    if row is not None:
        return row
    state, language = start()
    values = dict(
        id=_new("conv"),
        tenant_id=store.tenant_id,
        agent_id=agent_id,
        channel=channel,
        user_id=user_id,
        status="open",
        language=language,
        state_json=state,
        version=1,
        turns=0,
        last_seq=0,
        created_at=now,
        updated_at=now,
    )
    ins = (postgresql.insert(c) if dialect == "postgresql" else sqlite.insert(c)).values(**values)
    # two first messages at once: one inserts, the other waits on the unique key and then finds that row
    s.execute(ins.on_conflict_do_nothing(index_elements=["tenant_id", "agent_id", "channel", "user_id"]))
    row = s.scalars(pick.execution_options(populate_existing=True)).first()
    if row is None:  # pragma: no cover - the insert or the other writer's row is there
        raise NotFoundError(f"conversation of user {user_id!r} could not be opened")
    return row


def _replay(s: Session, conv: ConversationRow, msg: ConversationMessageRow) -> TurnRecord:
    replies: list[ConversationMessageRow] = []
    if msg.turn is not None:
        replies = list(
            s.scalars(
                select(ConversationMessageRow)
                .where(
                    ConversationMessageRow.conversation_id == conv.id,
                    ConversationMessageRow.role == "agent",
                    ConversationMessageRow.turn == msg.turn,
                )
                .order_by(ConversationMessageRow.seq)
            )
        )
    lead = s.scalars(select(LeadRow).where(LeadRow.conversation_id == conv.id)).first()
    return TurnRecord(
        _conversation(s, conv),
        _message(msg),
        [_message(r) for r in replies],
        replies[0].decision_json if replies else None,
        lead.id if lead is not None else None,
        handed_over=conv.status == "handed_over",
        replayed=True,
    )


def _save_lead(
    s: Session, store: Store, conv: ConversationRow, lead: dict[str, Any] | None, now: datetime
) -> tuple[LeadRow | None, bool]:
    """Create or update the conversation's lead from the state's; True when it was created now."""
    row = s.scalars(select(LeadRow).where(LeadRow.conversation_id == conv.id)).first()
    if lead is None or not any(lead.get(f) for f in ("phone", "wechat", "email")):
        return row, False
    created = row is None
    if row is None:
        row = LeadRow(
            id=_new("lead"),
            tenant_id=store.tenant_id,
            conversation_id=conv.id,
            agent_id=conv.agent_id,
            channel=conv.channel,
            user_id=conv.user_id,
            needs_json=[],
            created_at=now,
            updated_at=now,
        )
        s.add(row)
    changed = False
    lengths = {c.key: getattr(c.type, "length", None) for c in LeadRow.__table__.columns}
    for f in LEAD_FIELDS:
        value = lead.get(f)
        if value:
            value = str(value)[: lengths.get(f) or 80]
            if getattr(row, f) != value:
                setattr(row, f, value)
                changed = True
    needs = [str(n)[:200] for n in lead.get("needs") or []][:20]
    if needs != list(row.needs_json):
        row.needs_json, changed = needs, True
    if changed and not created:
        row.updated_at = now
    return row, created


def get_conversation(store: Store, conversation_id: str, *, messages: bool = True) -> Conversation:
    with store.session(write=False) as s:
        row = _own_conversation(s, store, conversation_id)
        conv = _conversation(s, row)
        if messages:
            rows = s.scalars(
                select(ConversationMessageRow)
                .where(ConversationMessageRow.conversation_id == row.id)
                .order_by(ConversationMessageRow.seq)
            )
            conv.messages = [_message(m) for m in rows]
        return conv


def list_conversations(
    store: Store,
    *,
    agent_id: str | None = None,
    status: ConversationStatus | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Conversation]:
    """This tenant's conversations, newest first."""
    check_page_limit(limit)
    c = ConversationRow
    stmt = select(c).where(c.tenant_id == store.tenant_id)
    if agent_id is not None:
        stmt = stmt.where(c.agent_id == agent_id)
    if status is not None:
        stmt = stmt.where(c.status == status)
    with store.session(write=False) as s:
        if after is not None:
            anchor = s.get(c, after)
            if anchor is None or anchor.tenant_id != store.tenant_id:
                raise InputError(f"after={after!r} is not a conversation of this account", field="after")
            stmt = stmt.where(_before(c, anchor.created_at, anchor.id))
        rows = list(s.scalars(stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)))
        return page_of([_conversation(s, r) for r in rows[:limit]], len(rows) > limit)


def replies_due(
    store: Store, conversation_id: str, *, after: str | None = None, now: datetime | None = None, limit: int = 100
) -> tuple[list[ConversationMessage], datetime | None]:
    """Agent and human messages after message ``after`` (by its id) whose send time has come, in order, and when
    the next planned one falls due (None if none is planned). Polling with ``after`` acknowledges every reply up
    to that message: the platform has it."""
    now = now or utcnow()
    m = ConversationMessageRow
    with store.session() as s:
        conv = _own_conversation(s, store, conversation_id)
        since = 0
        if after is not None:
            anchor = s.get(m, after)
            if anchor is None or anchor.conversation_id != conv.id:
                raise InputError(f"after={after!r} is not a message of conversation {conv.id}", field="after")
            since = anchor.seq
            s.execute(
                update(m)
                .where(m.conversation_id == conv.id, m.seq <= since, m.role != "user", m.acknowledged_at.is_(None))
                .values(acknowledged_at=now, status="acknowledged")
                .execution_options(synchronize_session=False)
            )
        mine = and_(m.conversation_id == conv.id, m.role != "user", m.seq > since, m.status != "cancelled")
        rows = list(s.scalars(select(m).where(mine, m.send_at <= now).order_by(m.seq).limit(limit)))
        next_at = s.scalar(select(func.min(m.send_at)).where(mine, m.send_at > now))
        return [_message(r) for r in rows], _utc(next_at) if next_at is not None else None


def hand_over(store: Store, conversation_id: str, *, now: datetime | None = None) -> Conversation:
    """A person takes over: the agent stays quiet from now on, and its replies not yet due are cancelled."""
    now = now or utcnow()
    with store.session() as s:
        row = _lock_conversation(s, store, conversation_id)
        _take_over(s, store, row, now)
        s.flush()
        return _conversation(s, row)


def add_human_message(
    store: Store, conversation_id: str, text: str, *, now: datetime | None = None
) -> ConversationMessage:
    """Store the reply of a person of the advertiser (sent now); writing in a conversation takes it over."""
    if not text.strip():
        raise InputError("text is empty; send the person's reply", field="text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"text is {len(text)} characters; at most {MAX_MESSAGE_CHARS} are kept", field="text")
    now = now or utcnow()
    with store.session() as s:
        row = _lock_conversation(s, store, conversation_id)
        _take_over(s, store, row, now)
        row.last_seq += 1
        msg = ConversationMessageRow(
            id=_new("cmsg"),
            tenant_id=store.tenant_id,
            conversation_id=row.id,
            seq=row.last_seq,
            role="human",
            text=text,
            kind="human",
            status="planned",
            created_at=now,
            send_at=now,
        )
        s.add(msg)
        row.last_message_at = row.updated_at = now
        s.flush()
        return _message(msg)


def _take_over(s: Session, store: Store, row: ConversationRow, now: datetime) -> None:
    if row.status == "handed_over":
        return
    if row.status == "closed":
        raise InputError(f"conversation {row.id} is closed", field="conversation_id")
    row.status, row.updated_at = "handed_over", now
    m = ConversationMessageRow
    s.execute(
        update(m)
        .where(m.conversation_id == row.id, m.role == "agent", m.status == "planned", m.send_at > now)
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    enqueue_event(store, WebhookEventType.conversation_handed_over, _conv_event(row), session=s, now=now)


# -- leads ----------------------------------------------------------------------------------------------------


def _lead_filter(store: Store, agent_id: str | None, since: datetime | None) -> list[Any]:
    where: list[Any] = [LeadRow.tenant_id == store.tenant_id]
    if agent_id is not None:
        where.append(LeadRow.agent_id == agent_id)
    if since is not None:
        where.append(LeadRow.created_at >= since)
    return where


def list_leads(
    store: Store,
    *,
    agent_id: str | None = None,
    since: datetime | None = None,
    limit: int = 20,
    after: str | None = None,
) -> Page[Lead]:
    """This tenant's leads, newest first; ``since`` keeps those captured at or after it."""
    check_page_limit(limit)
    stmt = select(LeadRow).where(*_lead_filter(store, agent_id, since))
    with store.session(write=False) as s:
        if after is not None:
            anchor = s.get(LeadRow, after)
            if anchor is None or anchor.tenant_id != store.tenant_id:
                raise InputError(f"after={after!r} is not a lead of this account; pass a last_id", field="after")
            stmt = stmt.where(_before(LeadRow, anchor.created_at, anchor.id))
        rows = list(s.scalars(stmt.order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(limit + 1)))
        return page_of([_lead(r) for r in rows[:limit]], len(rows) > limit)


def get_lead(store: Store, lead_id: str) -> Lead:
    with store.session(write=False) as s:
        row = s.get(LeadRow, lead_id)
        if row is None or row.tenant_id != store.tenant_id:
            raise NotFoundError(f"no lead {lead_id!r}; list them with GET /v1/leads")
        return _lead(row)


def iter_leads(
    store: Store, *, agent_id: str | None = None, since: datetime | None = None, chunk: int = 500
) -> Iterator[Lead]:
    """Every lead (oldest first, at most :data:`MAX_EXPORT_LEADS`), read a chunk at a time for an export."""
    where = _lead_filter(store, agent_id, since)
    last: tuple[datetime, str] | None = None
    seen = 0
    while seen < MAX_EXPORT_LEADS:
        stmt = select(LeadRow).where(*where)
        if last is not None:
            stmt = stmt.where(
                or_(LeadRow.created_at > last[0], and_(LeadRow.created_at == last[0], LeadRow.id > last[1]))
            )
        with store.session(write=False) as s:
            rows = list(s.scalars(stmt.order_by(LeadRow.created_at, LeadRow.id).limit(chunk)))
            leads = [_lead(r) for r in rows]
        if not leads:
            return
        yield from leads[: MAX_EXPORT_LEADS - seen]
        seen += len(leads)
        last = (rows[-1].created_at, rows[-1].id)


# -- rows to types --------------------------------------------------------------------------------------------


def _before(row_type: Any, created_at: datetime, row_id: str) -> Any:
    return or_(row_type.created_at < created_at, and_(row_type.created_at == created_at, row_type.id < row_id))


def _own_agent(s: Session, store: Store, agent_id: str) -> AgentRow:
    row = s.get(AgentRow, (store.tenant_id, agent_id))
    if row is None:
        raise NotFoundError(f"no agent {agent_id!r}; create it with PUT /v1/agents/{agent_id}")
    return row


def _own_conversation(s: Session, store: Store, conversation_id: str) -> ConversationRow:
    row = s.get(ConversationRow, conversation_id)
    if row is None or row.tenant_id != store.tenant_id:
        raise NotFoundError(f"no conversation {conversation_id!r}; list them with GET /v1/conversations")
    return row


def _lock_conversation(s: Session, store: Store, conversation_id: str) -> ConversationRow:
    stmt = select(ConversationRow).where(
        ConversationRow.id == conversation_id, ConversationRow.tenant_id == store.tenant_id
    )
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = s.scalars(stmt).first()
    if row is None:
        raise NotFoundError(f"no conversation {conversation_id!r}; list them with GET /v1/conversations")
    return row


def _agent(r: AgentRow) -> AgentRecord:
    return AgentRecord(
        id=r.id, profile=dict(r.profile_json), created_at=_utc(r.created_at), updated_at=_utc(r.updated_at)
    )


def _conversation(s: Session, r: ConversationRow) -> Conversation:
    lead_id = s.scalar(select(LeadRow.id).where(LeadRow.conversation_id == r.id))
    return Conversation(
        id=r.id,
        agent_id=r.agent_id,
        user_id=r.user_id,
        channel=r.channel,
        status=r.status,
        language=r.language,
        turns=r.turns,
        lead_id=lead_id,
        created_at=_utc(r.created_at),
        updated_at=_utc(r.updated_at),
        last_message_at=_utc(r.last_message_at) if r.last_message_at else None,
    )


def _message(r: ConversationMessageRow) -> ConversationMessage:
    return ConversationMessage(
        id=r.id,
        conversation_id=r.conversation_id,
        seq=r.seq,
        role=r.role,
        text=r.text,
        kind=r.kind,
        turn=r.turn,
        status=r.status,
        message_id=r.external_id,
        created_at=_utc(r.created_at),
        send_at=_utc(r.send_at) if r.send_at else None,
        acknowledged_at=_utc(r.acknowledged_at) if r.acknowledged_at else None,
        decision=dict(r.decision_json) if r.decision_json is not None else None,
    )


def _lead(r: LeadRow) -> Lead:
    return Lead(
        id=r.id,
        conversation_id=r.conversation_id,
        agent_id=r.agent_id,
        user_id=r.user_id,
        channel=r.channel,
        phone=r.phone,
        wechat=r.wechat,
        email=r.email,
        city=r.city,
        budget=r.budget,
        timing=r.timing,
        needs=list(r.needs_json),
        created_at=_utc(r.created_at),
        updated_at=_utc(r.updated_at),
    )


def _conv_event(conv: ConversationRow) -> dict[str, Any]:
    return {"id": conv.id, "agent_id": conv.agent_id, "user_id": conv.user_id, "channel": conv.channel}


def _reply_event(conv: ConversationRow, reply: ConversationMessage) -> dict[str, Any]:
    """A reply event carries what the platform needs to send it on time: the text and ``send_at``."""
    return {
        "id": reply.id,
        "conversation_id": conv.id,
        "agent_id": conv.agent_id,
        "user_id": conv.user_id,
        "channel": conv.channel,
        "text": reply.text,
        "kind": reply.kind,
        "send_at": reply.send_at.isoformat().replace("+00:00", "Z") if reply.send_at else None,
    }
