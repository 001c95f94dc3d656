"""``Idempotency-Key`` records: one per (tenant, key), holding the request's hash and, once answered, the response.

The first request inserts its row with ``status_code`` 0; the primary key makes a concurrent duplicate's
insert fail, so exactly one request does the work and the others wait for its answer and replay it.
A key is kept :data:`TTL` (24 h); expired rows are purged on every claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from adloom.core.errors import StorageError
from adloom.core.storage.db import Store
from adloom.core.storage.tables import IdempotencyRow
from adloom.core.types import utcnow

TTL = timedelta(hours=24)

ClaimState = Literal["first", "replay", "mismatch", "in_progress"]


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class Claim:
    """What to do with a request carrying a key: do the work (``first``), answer with ``response`` (``replay``),
    refuse (``mismatch``: the key was used for another request), or wait (``in_progress``)."""

    state: ClaimState
    response: StoredResponse | None = None


def claim(store: Store, key: str, *, method: str, path: str, body_hash: str, ttl: timedelta = TTL) -> Claim:
    """Claim ``key`` for this request of ``store.tenant_id`` (see :class:`Claim`)."""
    now = utcnow()
    with store.session() as s:
        s.execute(delete(IdempotencyRow).where(IdempotencyRow.expires_at < now))
    for _ in range(3):  # the row may be released between our failed insert and our read
        try:
            with store.session() as s:
                s.add(
                    IdempotencyRow(
                        tenant_id=store.tenant_id,
                        key=key,
                        method=method,
                        path=path,
                        body_hash=body_hash,
                        status_code=0,
                        response_json=None,
                        created_at=now,
                        expires_at=now + ttl,
                    )
                )
            return Claim("first")
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        found = peek(store, key, method=method, path=path, body_hash=body_hash)
        if found is not None:
            return found
    return Claim("in_progress")


def peek(store: Store, key: str, *, method: str, path: str, body_hash: str) -> Claim | None:
    """The state of an existing key for this request, or None when there is no (live) row for it."""
    with store.session(write=False) as s:
        row = s.scalar(
            select(IdempotencyRow).where(IdempotencyRow.tenant_id == store.tenant_id, IdempotencyRow.key == key)
        )
        if row is None:
            return None
        if (row.method, row.path, row.body_hash) != (method, path, body_hash):
            return Claim("mismatch")
        if row.status_code == 0 or row.response_json is None:
            return Claim("in_progress")
        data: dict[str, Any] = row.response_json
        return Claim(
            "replay", StoredResponse(row.status_code, dict(data.get("headers", {})), str(data.get("body", "")))
        )


def complete(store: Store, key: str, response: StoredResponse) -> None:
    """Store the answer of the request that claimed ``key``; later requests with the key replay it."""
    with store.session() as s:
        s.execute(
            update(IdempotencyRow)
            .where(IdempotencyRow.tenant_id == store.tenant_id, IdempotencyRow.key == key)
            .values(
                status_code=response.status_code,
                response_json={"headers": response.headers, "body": response.body},
            )
        )


def release(store: Store, key: str) -> None:
    """Forget ``key`` (its request failed on the server's side): a retry with it runs the request again."""
    with store.session() as s:
        s.execute(delete(IdempotencyRow).where(IdempotencyRow.tenant_id == store.tenant_id, IdempotencyRow.key == key))
