"""The webhook outbox: tenants' endpoints, and one delivery row per event and endpoint until it is delivered.

Two audiences, as with the job queue:

- **tenants** (the API, the CLI) register, list and delete endpoints and read their deliveries; these calls are
  scoped to ``store.tenant_id`` and another tenant's ids are a :class:`NotFoundError`. Whatever produces an event
  (a batch reaching its end state: :func:`enqueue_batch_event` with what ``JobQueue.finalize`` returns) calls
  :func:`enqueue_event`, best inside the transaction that made the change (``session=``), so the event is stored
  exactly when the change is: the transactional outbox.
- **dispatchers** (any number of threads or processes sharing the database) lease due deliveries across all
  tenants with :func:`lease_due`, send them, and end each attempt with :func:`mark_delivered` or
  :func:`mark_failed`. Only the holder of the current lease can end an attempt, so a dispatcher that lost its
  lease (it stalled past the expiry and another one took the row) changes nothing.

Leasing selects due rows and updates them in one transaction: on PostgreSQL the select takes ``FOR UPDATE SKIP
LOCKED``, so concurrent dispatchers pick disjoint rows without waiting; on SQLite the transaction begins with the
write lock (``BEGIN IMMEDIATE``), so leases are taken one dispatcher at a time. The update checks again that each
row is still due, so a row is never leased twice even where neither holds. A dispatcher that dies mid-send
leaves its rows to be leased again when the lease expires: delivery is at least once, and the ``webhook-id`` (the
delivery's id, the same on every attempt) lets a receiver drop a repeat.

Endpoint secrets (``whsec_`` + base64 of 24 random bytes, the Standard Webhooks format) are returned once by
:func:`create_endpoint`, are never part of :class:`WebhookEndpoint`, and only leave the store inside a
:class:`DeliveryLease` for signing (where ``repr`` hides them).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from adloom.core.errors import InputError, NotFoundError
from adloom.core.redact import mask_url
from adloom.core.storage.db import Store, _utc, check_page_limit, page_of
from adloom.core.storage.tables import WebhookDeliveryRow, WebhookEndpointRow
from adloom.core.types import (
    ALL_WEBHOOK_EVENTS,
    Batch,
    BatchStatus,
    Page,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEventType,
    utcnow,
)

#: The Standard Webhooks secret prefix; the rest is base64 of the HMAC key.
SECRET_PREFIX = "whsec_"
#: Endpoints one tenant may have at once (each event fans out to all of them).
MAX_ENDPOINTS_PER_TENANT = 16
MAX_URL_LENGTH = 2048
#: Which event a batch's end state sends (partially_succeeded is a completed batch with some failed lines).
_BATCH_EVENTS: dict[BatchStatus, WebhookEventType] = {
    BatchStatus.completed: WebhookEventType.batch_completed,
    BatchStatus.partially_succeeded: WebhookEventType.batch_completed,
    BatchStatus.failed: WebhookEventType.batch_failed,
    BatchStatus.cancelled: WebhookEventType.batch_cancelled,
    BatchStatus.expired: WebhookEventType.batch_expired,
}


@dataclass(frozen=True)
class DeliveryLease:
    """A delivery leased to one dispatcher: what to send, where, and the token that proves the lease.

    ``attempt`` counts this one (1 for the first try). ``secret`` signs the body; ``repr`` leaves it out so a
    lease in a log line or a traceback does not leak it.
    """

    id: str
    tenant_id: str
    endpoint_id: str
    url: str
    event_type: str
    payload: dict[str, Any]
    attempt: int
    token: str
    secret: str = field(repr=False)


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks format: ``whsec_`` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def validate_url(url: str) -> str:
    """``url`` if it can be a webhook endpoint: http(s), a host, no user name or password, no fragment.

    Messages show the URL masked (:func:`mask_url`), so a password someone put in it is not echoed back.
    """
    url = url.strip() if isinstance(url, str) else url
    if not isinstance(url, str) or not url:
        raise InputError("webhook url is empty; give the http(s) URL that should receive events", field="url")
    shown = mask_url(url)
    if len(url) > MAX_URL_LENGTH:
        raise InputError(f"webhook url is {len(url)} characters long; use at most {MAX_URL_LENGTH}", field="url")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise InputError(
            f"webhook url {shown!r} contains whitespace or control characters; percent-encode them", field="url"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check (it raises on "host:abc" or 99999)
    except ValueError as exc:
        raise InputError(
            f"webhook url {shown!r} is not a valid URL ({exc}); use https://host/path", field="url"
        ) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(
            f"webhook url {shown!r} has scheme {parts.scheme or '(none)'!r}; use an http:// or https:// URL",
            field="url",
        )
    if "@" in parts.netloc:
        raise InputError(
            f"webhook url {shown!r} carries a user name or password; remove them: every delivery is signed with "
            "the endpoint's secret (verify the webhook-signature header instead)",
            field="url",
        )
    if not parts.hostname:
        raise InputError(f"webhook url {shown!r} has no host; use e.g. https://example.com/hooks", field="url")
    if parts.fragment:
        raise InputError(
            f"webhook url {shown!r} has a #fragment, which is never sent to a server; remove it", field="url"
        )
    return url


def validate_events(events: Iterable[str]) -> list[str]:
    """The subscribed event types, deduplicated in order; ``"*"`` alone stands for all of them."""
    if isinstance(events, str):  # a bare string would iterate as characters
        events = [events]
    known = {e.value for e in WebhookEventType}
    out: list[str] = []
    for e in events:
        if e != ALL_WEBHOOK_EVENTS and e not in known:
            raise InputError(
                f"unknown webhook event type {e!r}; use one of {', '.join(sorted(known))} or '*' for all",
                field="events",
            )
        if e not in out:
            out.append(e)
    if not out:
        raise InputError("events is empty; list the event types to receive, or ['*'] for all", field="events")
    return [ALL_WEBHOOK_EVENTS] if ALL_WEBHOOK_EVENTS in out else out


def batch_event_type(status: BatchStatus) -> WebhookEventType | None:
    """The event a batch entering ``status`` sends, or None for a state that is not an end state."""
    return _BATCH_EVENTS.get(status)


# -- tenant side (scoped to store.tenant_id) ------------------------------------------------------------------


def create_endpoint(
    store: Store, url: str, events: Iterable[str] = (ALL_WEBHOOK_EVENTS,)
) -> tuple[WebhookEndpoint, str]:
    """Register ``url`` for ``events``; returns the endpoint and its signing secret, which is shown this once."""
    endpoint = WebhookEndpoint(url=validate_url(url), events=validate_events(events))
    secret = new_secret()
    with store.session() as s:
        live = s.scalars(
            select(WebhookEndpointRow.id).where(
                WebhookEndpointRow.tenant_id == store.tenant_id, WebhookEndpointRow.disabled_at.is_(None)
            )
        ).all()
        if len(live) >= MAX_ENDPOINTS_PER_TENANT:
            raise InputError(
                f"this account already has {len(live)} webhook endpoints (the most allowed); delete one first",
                field="url",
            )
        s.add(
            WebhookEndpointRow(
                id=endpoint.id,
                tenant_id=store.tenant_id,
                url=endpoint.url,
                secret=secret,
                events_json=[str(e) for e in endpoint.events],
                created_at=endpoint.created_at,
            )
        )
    return endpoint, secret


def get_endpoint(store: Store, endpoint_id: str) -> WebhookEndpoint:
    with store.session(write=False) as s:
        return _endpoint(_own_endpoint(s, store, endpoint_id))


def list_endpoints(store: Store, *, limit: int = 20, after: str | None = None) -> Page[WebhookEndpoint]:
    """This tenant's live endpoints, newest first (no secrets)."""
    check_page_limit(limit)
    stmt = select(WebhookEndpointRow).where(
        WebhookEndpointRow.tenant_id == store.tenant_id, WebhookEndpointRow.disabled_at.is_(None)
    )
    with store.session(write=False) as s:
        if after is not None:
            anchor = s.get(WebhookEndpointRow, after)
            if anchor is None or anchor.tenant_id != store.tenant_id:
                raise InputError(
                    f"after={after!r} is not a webhook endpoint of this account; pass a last_id", field="after"
                )
            stmt = stmt.where(
                or_(
                    WebhookEndpointRow.created_at < anchor.created_at,
                    and_(WebhookEndpointRow.created_at == anchor.created_at, WebhookEndpointRow.id < anchor.id),
                )
            )
        order = (WebhookEndpointRow.created_at.desc(), WebhookEndpointRow.id.desc())
        rows = list(s.scalars(stmt.order_by(*order).limit(limit + 1)))
        return page_of([_endpoint(r) for r in rows[:limit]], len(rows) > limit)


def delete_endpoint(store: Store, endpoint_id: str) -> WebhookEndpoint:
    """Stop sending to an endpoint: it leaves the list, its secret is wiped, and its pending deliveries fail
    (the delivery history stays readable by id)."""
    now = utcnow()
    with store.session() as s:
        row = _own_endpoint(s, store, endpoint_id)
        row.disabled_at, row.secret = now, ""
        s.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.endpoint_id == endpoint_id,
                WebhookDeliveryRow.status == WebhookDeliveryStatus.pending.value,
            )
            .values(
                status=WebhookDeliveryStatus.failed.value,
                last_error="endpoint deleted before delivery",
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        return _endpoint(row)


def enqueue_event(
    store: Store,
    event_type: WebhookEventType | str,
    data: Mapping[str, Any],
    *,
    session: Session | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Queue ``event_type`` for every live endpoint of this tenant subscribed to it (or to ``"*"``); returns
    the message ids (``msg_…``, one per endpoint, each the ``webhook-id`` of all its attempts).

    The body is thin: ``{"type", "timestamp", "data"}`` with ``data`` naming the object (e.g. ``{"id":
    "bat_…"}``). Pass ``session`` to write the rows in the caller's transaction, so the event exists exactly
    when the change it announces is committed.
    """
    kind = validate_events([str(event_type)])[0]
    if kind == ALL_WEBHOOK_EVENTS:
        raise InputError("'*' subscribes to events; it is not an event type to send", field="event_type")
    now = now or utcnow()
    payload = {"type": kind, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": dict(data)}
    if session is not None:
        return _enqueue(session, store.tenant_id, kind, payload, now)
    with store.session() as s:
        return _enqueue(s, store.tenant_id, kind, payload, now)


def _enqueue(s: Session, tenant_id: str, kind: str, payload: dict[str, Any], now: datetime) -> list[str]:
    endpoints = s.scalars(
        select(WebhookEndpointRow)
        .where(WebhookEndpointRow.tenant_id == tenant_id, WebhookEndpointRow.disabled_at.is_(None))
        .order_by(WebhookEndpointRow.created_at, WebhookEndpointRow.id)
    )
    ids: list[str] = []
    for ep in endpoints:
        if ALL_WEBHOOK_EVENTS not in ep.events_json and kind not in ep.events_json:
            continue
        msg_id = f"msg_{uuid.uuid4().hex}"
        s.add(
            WebhookDeliveryRow(
                id=msg_id,
                tenant_id=tenant_id,
                endpoint_id=ep.id,
                event_type=kind,
                payload_json=payload,
                status=WebhookDeliveryStatus.pending.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        ids.append(msg_id)
    return ids


def enqueue_batch_event(
    store: Store, tenant_id: str, batch: Batch, *, session: Session | None = None, now: datetime | None = None
) -> list[str]:
    """Queue the event of ``batch`` reaching its end state (nothing for a state that is not an end state) for
    the endpoints of ``tenant_id``: what a finalizer calls with each batch it ended (best with its ``session``)."""
    kind = batch_event_type(batch.status)
    if kind is None:
        return []
    return enqueue_event(store.scoped(tenant_id), kind, {"id": batch.id}, session=session, now=now)


def get_delivery(store: Store, delivery_id: str) -> WebhookDelivery:
    with store.session(write=False) as s:
        row = s.get(WebhookDeliveryRow, delivery_id)
        if row is None or row.tenant_id != store.tenant_id:
            raise NotFoundError(f"no webhook delivery {delivery_id!r}")
        return _delivery(row)


def list_deliveries(
    store: Store,
    endpoint_id: str,
    *,
    limit: int = 20,
    after: str | None = None,
    status: WebhookDeliveryStatus | None = None,
) -> Page[WebhookDelivery]:
    """The deliveries to one of this tenant's endpoints (deleted ones included), newest first."""
    check_page_limit(limit)
    stmt = select(WebhookDeliveryRow).where(
        WebhookDeliveryRow.tenant_id == store.tenant_id, WebhookDeliveryRow.endpoint_id == endpoint_id
    )
    if status is not None:
        stmt = stmt.where(WebhookDeliveryRow.status == WebhookDeliveryStatus(status).value)
    with store.session(write=False) as s:
        ep = s.get(WebhookEndpointRow, endpoint_id)
        if ep is None or ep.tenant_id != store.tenant_id:
            raise NotFoundError(f"no webhook endpoint {endpoint_id!r}; list them with GET /v1/webhook_endpoints")
        if after is not None:
            anchor = s.get(WebhookDeliveryRow, after)
            if anchor is None or anchor.endpoint_id != endpoint_id or anchor.tenant_id != store.tenant_id:
                raise InputError(f"after={after!r} is not a delivery of endpoint {endpoint_id}", field="after")
            stmt = stmt.where(
                or_(
                    WebhookDeliveryRow.created_at < anchor.created_at,
                    and_(WebhookDeliveryRow.created_at == anchor.created_at, WebhookDeliveryRow.id < anchor.id),
                )
            )
        order = (WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id.desc())
        rows = list(s.scalars(stmt.order_by(*order).limit(limit + 1)))
        return page_of([_delivery(r) for r in rows[:limit]], len(rows) > limit)


# -- dispatcher side (every tenant) ---------------------------------------------------------------------------


def lease_due(
    store: Store, worker: str, n: int = 20, lease_s: float = 60.0, *, now: datetime | None = None
) -> list[DeliveryLease]:
    """Up to ``n`` due deliveries of any tenant (pending, ``next_attempt_at`` passed, no live lease), leased to
    ``worker`` for ``lease_s`` seconds, oldest due first. Each lease counts as an attempt."""
    if n < 1:
        raise InputError(f"n={n}: lease at least one delivery", field="n")
    if lease_s <= 0:
        raise InputError(f"lease_s={lease_s}: a lease must last longer than 0 s", field="lease_s")
    now = now or utcnow()
    token = f"{worker}:{uuid.uuid4().hex[:12]}"[-128:]
    d = WebhookDeliveryRow
    due = and_(
        d.status == WebhookDeliveryStatus.pending.value,
        d.next_attempt_at <= now,
        or_(d.lease_expires_at.is_(None), d.lease_expires_at < now),
    )
    pick = select(d.id).where(due).order_by(d.next_attempt_at, d.id).limit(n)
    if store.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    with store.session() as s:
        # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED): PostgreSQL may run
        # that subquery again for each row it updates, and rows updated by the statement itself no longer match,
        # so the LIMIT slides on and more than n rows are leased. Picked rows are locked (PostgreSQL) or the
        # transaction holds the write lock (SQLite: BEGIN IMMEDIATE); ``due`` is checked again all the same.
        picked = list(s.scalars(pick))
        if not picked:
            return []
        s.execute(
            update(d)
            .where(d.id.in_(picked), due)
            .values(lease_owner=token, lease_expires_at=now + timedelta(seconds=lease_s), attempts=d.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        rows = s.execute(
            select(d, WebhookEndpointRow.url, WebhookEndpointRow.secret)
            .join(WebhookEndpointRow, WebhookEndpointRow.id == d.endpoint_id)
            .where(d.lease_owner == token)
            .order_by(d.next_attempt_at, d.id)
        ).all()
        return [
            DeliveryLease(
                id=r.id,
                tenant_id=r.tenant_id,
                endpoint_id=r.endpoint_id,
                url=url,
                event_type=r.event_type,
                payload=dict(r.payload_json),
                attempt=r.attempts,
                token=token,
                secret=secret,
            )
            for r, url, secret in rows
        ]


def mark_delivered(store: Store, lease: DeliveryLease, *, now: datetime | None = None) -> bool:
    """The endpoint accepted ``lease``'s message (it answered 2xx). False when the lease was lost (nothing is
    written: the dispatcher that holds it now ends the delivery)."""
    return _end_attempt(
        store, lease, status=WebhookDeliveryStatus.delivered, last_error=None, delivered_at=now or utcnow()
    )


def mark_failed(store: Store, lease: DeliveryLease, error: str, next_attempt_at: datetime | None) -> bool:
    """The attempt failed with ``error`` (a short status line, never a response body): try again at
    ``next_attempt_at``, or give up (status ``failed``) when it is None. False when the lease was lost."""
    if next_attempt_at is None:
        return _end_attempt(store, lease, status=WebhookDeliveryStatus.failed, last_error=error)
    return _end_attempt(
        store, lease, status=WebhookDeliveryStatus.pending, last_error=error, next_attempt_at=next_attempt_at
    )


def _end_attempt(
    store: Store,
    lease: DeliveryLease,
    *,
    status: WebhookDeliveryStatus,
    last_error: str | None,
    delivered_at: datetime | None = None,
    next_attempt_at: datetime | None = None,
) -> bool:
    values: dict[str, Any] = {
        "status": status.value,
        "lease_owner": None,
        "lease_expires_at": None,
        "last_error": _short(last_error) if last_error is not None else None,
    }
    if delivered_at is not None:
        values["delivered_at"] = delivered_at
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    d = WebhookDeliveryRow
    with store.session() as s:
        res = s.execute(
            update(d)
            .where(d.id == lease.id, d.lease_owner == lease.token, d.status == WebhookDeliveryStatus.pending.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(res, "rowcount", 0))


# -- rows to types --------------------------------------------------------------------------------------------


def _own_endpoint(s: Session, store: Store, endpoint_id: str) -> WebhookEndpointRow:
    row = s.get(WebhookEndpointRow, endpoint_id)
    if row is None or row.tenant_id != store.tenant_id or row.disabled_at is not None:
        raise NotFoundError(f"no webhook endpoint {endpoint_id!r}; list them with GET /v1/webhook_endpoints")
    return row


def _endpoint(r: WebhookEndpointRow) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=r.id,
        url=r.url,
        events=list(r.events_json),  # validated on the way in
        created_at=_utc(r.created_at),
    )


def _delivery(r: WebhookDeliveryRow) -> WebhookDelivery:
    pending = r.status == WebhookDeliveryStatus.pending.value
    return WebhookDelivery(
        id=r.id,
        endpoint_id=r.endpoint_id,
        event_type=r.event_type,
        payload=dict(r.payload_json),
        status=WebhookDeliveryStatus(r.status),
        attempts=r.attempts,
        next_attempt_at=_utc(r.next_attempt_at) if pending else None,
        last_error=r.last_error,
        created_at=_utc(r.created_at),
        delivered_at=_utc(r.delivered_at) if r.delivered_at else None,
    )


def _short(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
