"""The durable job table behind render batches: batches, their items, leases, attempts and heartbeats.

Two audiences use one :class:`JobQueue`:

- **tenants** (the API, the CLI) create, read, list and cancel batches; those calls are scoped to the
  store's tenant, and another tenant's batch id is a :class:`NotFoundError`;
- **workers** (any number of processes, on any machine sharing the database) lease work across all
  tenants: a batch's pending items to write scripts for (``lease_plan``), then items to render
  (``lease_items``), renewing leases with ``heartbeat`` and ending each item with ``complete_item`` or
  ``fail_item``; ``finalize`` moves finished batches to their end state.

A lease is a token written into the row with an expiry. A worker that dies stops renewing it; once it
expires the item is leased again (its ``attempts`` counts every lease, and an item that used up
``max_attempts`` fails instead of killing workers forever). Completion is accepted only from the holder of
the current lease, so an item is counted once even if a slow worker finishes after losing its lease.

Leasing is one ``UPDATE … WHERE id IN (SELECT … LIMIT n)``: on PostgreSQL the inner select takes
``FOR UPDATE SKIP LOCKED``, so concurrent workers pick disjoint rows without waiting; SQLite has a single
writer, so the statement runs alone and is atomic as it stands. Items are handed out fairly: each lease
serves the tenant with the fewest running items first, so one tenant's 100 000-item batch does not starve
another's ten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from adloom.core.errors import InputError, NotFoundError, QuotaError
from adloom.core.storage.db import Store, _utc, check_page_limit, page_of
from adloom.core.storage.tables import BatchItemRow, BatchRow, BriefRow
from adloom.core.types import (
    Batch,
    BatchItem,
    BatchStatus,
    ItemStatus,
    Page,
    RenderRequest,
    RequestCounts,
    TenantQuotas,
    utcnow,
)

#: How long a batch has to finish before it expires (the large batch APIs' completion window).
COMPLETION_WINDOW = timedelta(hours=24)
#: Leases a dead worker can take with it before its item fails instead of being tried again.
MAX_ATTEMPTS = 3
_OPEN_ITEM = (ItemStatus.pending, ItemStatus.queued, ItemStatus.running)


@dataclass(frozen=True)
class Lease:
    """An item leased to a worker: who owns it (the tenant), the item, and the token that proves the lease."""

    tenant_id: str
    item: BatchItem
    token: str


@dataclass(frozen=True)
class PlanLease:
    """A batch leased for writing the scripts of its pending items."""

    tenant_id: str
    batch: Batch
    token: str


@dataclass(frozen=True)
class Rejected:
    """An input line refused before it became work (malformed, unknown brief): it lands in the errors file."""

    custom_id: str
    code: str
    message: str


class JobQueue:
    """Batches and items in the store (see the module doc)."""

    def __init__(self, store: Store, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.store = store
        self.tenant_id = store.tenant_id
        self.max_attempts = max_attempts
        self._pg = store.engine.dialect.name == "postgresql"

    # -- tenant side ------------------------------------------------------------------------------------
    def create_batch(
        self,
        *,
        brief_id: str | None = None,
        n: int | None = None,
        requests: Sequence[RenderRequest] = (),
        rejected: Sequence[Rejected] = (),
        writer: Literal["llm", "template"] | None = None,
        metadata: Mapping[str, str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        quotas: TenantQuotas | None = None,
        script_ids: Sequence[str] | None = None,
    ) -> Batch:
        """A new batch: ``n`` creatives for ``brief_id``, or one creative per request line.

        Lines naming a brief this tenant does not have, and ``rejected`` lines, become failed items (in the
        errors file); the rest wait as ``pending`` until a worker writes their scripts. Quotas are checked
        here, in the same transaction that stores the batch, so two racing submissions cannot both slip
        under a limit. ``defaults`` (aspect, height, template) apply to every line of an N-form batch;
        ``script_ids`` (N-form only, ``n`` of them) gives each line a stored script to render instead of a new one.
        """
        quotas = quotas or TenantQuotas()
        if brief_id is not None:
            if requests:
                raise InputError("give either brief_id with n, or request lines, not both", field="brief_id")
            if n is None or n < 1:
                raise InputError("n: ask for at least 1 creative with brief_id", field="n")
            if script_ids is not None and len(script_ids) != n:
                raise InputError(f"n={n} but {len(script_ids)} script ids; give one per creative", field="script_ids")
            lines = [
                RenderRequest.model_validate(
                    {**(defaults or {}), "custom_id": f"creative-{i + 1}", "brief_id": brief_id}
                    | ({"script_id": script_ids[i]} if script_ids is not None else {})
                )
                for i in range(n)
            ]
        else:
            if n is not None:
                raise InputError("n goes with brief_id; a request file has one creative per line", field="n")
            lines = list(requests)
        if not lines and not rejected:
            raise InputError("the batch is empty: give brief_id and n, or at least one request line", field="input")
        seen: set[str] = set()
        for cid in [*(x.custom_id for x in lines), *(x.custom_id for x in rejected)]:
            if cid in seen:
                raise InputError(
                    f"custom_id {cid!r} appears twice; every line needs its own custom_id", field="custom_id"
                )
            seen.add(cid)
        size = len(lines) + len(rejected)
        if size > quotas.max_batch_items:
            raise QuotaError(
                f"the batch has {size} lines; this account allows {quotas.max_batch_items} per batch: split it",
                field="input",
                retry_after_s=0,
            )
        now = utcnow()
        batch = Batch(
            brief_id=brief_id,
            writer=writer,
            metadata=dict(metadata or {}),
            created_at=now,
            expires_at=now + COMPLETION_WINDOW,
            timestamps={BatchStatus.validating.value: now},
        )
        with self.store.session() as s:
            self._check_quotas(s, quotas, len(lines), now)
            wanted = sorted({r.brief_id for r in lines})
            known = set(
                s.scalars(select(BriefRow.id).where(BriefRow.tenant_id == self.tenant_id, BriefRow.id.in_(wanted)))
            )
            if brief_id is not None and brief_id not in known:
                raise NotFoundError(f"no brief {brief_id!r}; create it with POST /v1/briefs first")
            rows: list[dict[str, Any]] = []
            failed = 0
            for seq, r in enumerate(lines):
                error: dict[str, Any] | None = None
                if r.brief_id not in known:
                    error = {"code": "brief_not_found", "message": f"no brief {r.brief_id!r}", "param": "brief_id"}
                    failed += 1
                rows.append(self._item_row(batch.id, seq, r.custom_id, r.model_dump(mode="json"), error, now))
            for k, x in enumerate(rejected):
                refused = {"code": x.code, "message": x.message, "param": None}
                rows.append(self._item_row(batch.id, len(lines) + k, x.custom_id, {}, refused, now))
                failed += 1
            s.add(
                BatchRow(
                    id=batch.id,
                    tenant_id=self.tenant_id,
                    status=batch.status.value,
                    brief_id=brief_id,
                    body_json=batch.model_dump(mode="json"),
                    total=size,
                    completed=0,
                    failed=failed,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                    expires_at=batch.expires_at,
                )
            )
            s.flush()
            for chunk in _chunks(rows, 500):
                s.execute(insert(BatchItemRow), chunk)
        return batch.model_copy(update={"request_counts": RequestCounts(total=size, completed=0, failed=failed)})

    def _item_row(
        self,
        batch_id: str,
        seq: int,
        custom_id: str,
        request: dict[str, Any],
        error: dict[str, Any] | None,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "id": f"itm_{uuid.uuid4().hex[:16]}",
            "tenant_id": self.tenant_id,
            "batch_id": batch_id,
            "seq": seq,
            "custom_id": custom_id,
            "status": (ItemStatus.failed if error else ItemStatus.pending).value,
            "attempts": 0,
            "request_json": request,
            "result_json": None,
            "error_json": error,
            "creative_id": None,
            "created_at": now,
            "updated_at": now,
            "finished_at": now if error else None,
        }

    def _check_quotas(self, s: Session, quotas: TenantQuotas, adding: int, now: datetime) -> None:
        open_batches = s.scalar(
            select(func.count())
            .select_from(BatchRow)
            .where(BatchRow.tenant_id == self.tenant_id, BatchRow.status.in_(_OPEN_BATCH))
        )
        if (open_batches or 0) >= quotas.concurrent_batches:
            raise QuotaError(
                f"{open_batches} batches are still running and this account allows {quotas.concurrent_batches} "
                "at once; wait for one to finish or cancel one",
                retry_after_s=60,
            )
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        today = s.scalar(
            select(func.count())
            .select_from(BatchItemRow)
            .where(BatchItemRow.tenant_id == self.tenant_id, BatchItemRow.created_at >= day_start)
        )
        if (today or 0) + adding > quotas.creatives_per_day:
            retry = int((day_start + timedelta(days=1) - now).total_seconds()) + 1
            raise QuotaError(
                f"this batch would bring today's creatives to {(today or 0) + adding}; this account allows "
                f"{quotas.creatives_per_day} per UTC day",
                retry_after_s=retry,
                field="n",
            )

    def get_batch(self, batch_id: str) -> Batch:
        with self.store.session(write=False) as s:
            row = s.get(BatchRow, batch_id)
            if row is None or row.tenant_id != self.tenant_id:
                raise NotFoundError(f"no batch {batch_id!r}")
            return _batch(row)

    def list_batches(self, *, limit: int = 20, after: str | None = None) -> Page[Batch]:
        """This tenant's batches, newest first."""
        check_page_limit(limit)
        stmt = select(BatchRow).where(BatchRow.tenant_id == self.tenant_id)
        with self.store.session(write=False) as s:
            if after is not None:
                anchor = s.get(BatchRow, after)
                if anchor is None or anchor.tenant_id != self.tenant_id:
                    raise InputError(f"after={after!r} is not a batch of this account; pass a last_id", field="after")
                stmt = stmt.where(
                    or_(
                        BatchRow.created_at < anchor.created_at,
                        and_(BatchRow.created_at == anchor.created_at, BatchRow.id < anchor.id),
                    )
                )
            rows = list(s.scalars(stmt.order_by(BatchRow.created_at.desc(), BatchRow.id.desc()).limit(limit + 1)))
            return page_of([_batch(r) for r in rows[:limit]], len(rows) > limit)

    def list_items(
        self, batch_id: str, *, limit: int = 20, after: str | None = None, status: ItemStatus | None = None
    ) -> Page[BatchItem]:
        """A batch's items in input order, with state, attempts and creative id (per-item progress)."""
        check_page_limit(limit)
        self.get_batch(batch_id)
        stmt = select(BatchItemRow).where(BatchItemRow.batch_id == batch_id)
        if status is not None:
            stmt = stmt.where(BatchItemRow.status == status.value)
        with self.store.session(write=False) as s:
            if after is not None:
                anchor = s.get(BatchItemRow, after)
                if anchor is None or anchor.batch_id != batch_id:
                    raise InputError(f"after={after!r} is not an item of batch {batch_id}", field="after")
                stmt = stmt.where(BatchItemRow.seq > anchor.seq)
            rows = list(s.scalars(stmt.order_by(BatchItemRow.seq).limit(limit + 1)))
            return page_of([_item(r) for r in rows[:limit]], len(rows) > limit)

    def iter_results(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """Lines of the results file: one per succeeded item, joined to the input on ``custom_id``."""
        for r in self._iter_rows(batch_id, [ItemStatus.succeeded]):
            yield {"id": r.id, "custom_id": r.custom_id, "creative_id": r.creative_id, "response": r.result_json}

    def iter_errors(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """Lines of the errors file: one per failed or cancelled item, with the error's code and message."""
        for r in self._iter_rows(batch_id, [ItemStatus.failed, ItemStatus.cancelled]):
            error = r.error_json or {"code": "cancelled", "message": "the batch was cancelled before this item ran"}
            yield {"id": r.id, "custom_id": r.custom_id, "error": error}

    def _iter_rows(self, batch_id: str, statuses: Sequence[ItemStatus]) -> Iterator[BatchItemRow]:
        self.get_batch(batch_id)
        last = -1
        while True:  # pages of 500 so a 100 000-line file streams without loading every row
            stmt = (
                select(BatchItemRow)
                .where(
                    BatchItemRow.batch_id == batch_id,
                    BatchItemRow.status.in_([x.value for x in statuses]),
                    BatchItemRow.seq > last,
                )
                .order_by(BatchItemRow.seq)
                .limit(500)
            )
            with self.store.session(write=False) as s:
                rows = list(s.scalars(stmt))
            yield from rows
            if len(rows) < 500:
                return
            last = rows[-1].seq

    def cancel_batch(self, batch_id: str) -> Batch:
        """Stop a batch: items not started are cancelled at once, running ones finish (their creatives are
        kept), then the batch ends ``cancelled``. Cancelling a finished batch changes nothing."""
        now = utcnow()
        with self.store.session() as s:
            row = s.get(BatchRow, batch_id, with_for_update=self._pg)
            if row is None or row.tenant_id != self.tenant_id:
                raise NotFoundError(f"no batch {batch_id!r}")
            if BatchStatus(row.status).terminal or row.status == BatchStatus.cancelling:
                return _batch(row)
            s.execute(
                update(BatchItemRow)
                .where(
                    BatchItemRow.batch_id == batch_id,
                    BatchItemRow.status.in_([ItemStatus.pending.value, ItemStatus.queued.value]),
                )
                .values(status=ItemStatus.cancelled.value, updated_at=now, finished_at=now)
            )
            _set_status(row, BatchStatus.cancelling, now)
            return _batch(row)

    # -- worker side (every tenant) -----------------------------------------------------------------------
    def lease_plan(self, worker: str, *, lease_s: float = 120) -> PlanLease | None:
        """A batch with pending items and no live planning lease, leased to ``worker`` (oldest first)."""
        now = utcnow()
        token = f"{worker}:{uuid.uuid4().hex[:12]}"
        has_pending = (
            select(BatchItemRow.id)
            .where(BatchItemRow.batch_id == BatchRow.id, BatchItemRow.status == ItemStatus.pending.value)
            .exists()
        )
        # a batch with nothing written yet goes before one that already has work queued, so a tenant's new
        # ten-creative batch is not held back until another tenant's 100 000 are all written
        waiting = (
            select(func.count())
            .where(BatchItemRow.batch_id == BatchRow.id, BatchItemRow.status == ItemStatus.queued.value)
            .correlate(BatchRow)
            .scalar_subquery()
        )
        pick = (
            select(BatchRow.id)
            .where(
                BatchRow.status.in_(_PLANNABLE),
                or_(BatchRow.lease_expires_at.is_(None), BatchRow.lease_expires_at < now),
                has_pending,
            )
            .order_by(waiting.asc(), BatchRow.created_at, BatchRow.id)
            .limit(1)
        )
        if self._pg:
            pick = pick.with_for_update(skip_locked=True)
        with self.store.session() as s:
            # select, then update: on PostgreSQL an UPDATE … IN (SELECT … LIMIT … SKIP LOCKED) may re-run the
            # subquery per row and lease more than asked; SQLite sessions that write hold the lock from BEGIN
            ids = list(s.scalars(pick))
            if not ids:
                return None
            s.execute(
                update(BatchRow)
                .where(BatchRow.id.in_(ids))
                .values(
                    lease_owner=token,
                    lease_expires_at=now + timedelta(seconds=lease_s),
                    attempts=BatchRow.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            row = s.scalar(select(BatchRow).where(BatchRow.lease_owner == token))
            if row is None:
                return None
            return PlanLease(row.tenant_id, _batch(row), token)

    def pending_items(self, batch_id: str, *, limit: int = 50) -> list[BatchItem]:
        """The next pending items of a batch (in input order) for its planner."""
        stmt = (
            select(BatchItemRow)
            .where(BatchItemRow.batch_id == batch_id, BatchItemRow.status == ItemStatus.pending.value)
            .order_by(BatchItemRow.seq)
            .limit(limit)
        )
        with self.store.session(write=False) as s:
            return [_item(r) for r in s.scalars(stmt)]

    def queue_planned(
        self,
        lease: PlanLease,
        planned: Mapping[str, dict[str, Any]],
        failed: Mapping[str, dict[str, Any]] | None = None,
        *,
        lease_s: float = 120,
    ) -> bool:
        """Store the planner's work: ``planned`` maps item id → its request with the script added (the item
        becomes ``queued``), ``failed`` maps item id → error. Renews the planning lease; False when the lease
        was lost (another planner took the batch; nothing is written)."""
        now = utcnow()
        with self.store.session() as s:
            row = s.get(BatchRow, lease.batch.id, with_for_update=self._pg)
            if row is None or row.lease_owner != lease.token:
                return False
            for item_id, request in planned.items():
                s.execute(
                    update(BatchItemRow)
                    .where(BatchItemRow.id == item_id, BatchItemRow.status == ItemStatus.pending.value)
                    .values(status=ItemStatus.queued.value, request_json=request, updated_at=now)
                )
            n_failed = 0
            for item_id, error in (failed or {}).items():
                res = s.execute(
                    update(BatchItemRow)
                    .where(BatchItemRow.id == item_id, BatchItemRow.status == ItemStatus.pending.value)
                    .values(status=ItemStatus.failed.value, error_json=error, updated_at=now, finished_at=now)
                )
                n_failed += res.rowcount  # type: ignore[attr-defined]
            row.failed += n_failed
            row.lease_expires_at = now + timedelta(seconds=lease_s)
            if row.status == BatchStatus.validating.value and planned:
                _set_status(row, BatchStatus.queued, now)
            return True

    def release_plan(self, lease: PlanLease) -> None:
        with self.store.session() as s:
            s.execute(
                update(BatchRow)
                .where(BatchRow.id == lease.batch.id, BatchRow.lease_owner == lease.token)
                .values(lease_owner=None, lease_expires_at=None)
            )

    def lease_items(self, worker: str, n: int = 1, *, lease_s: float = 120) -> list[Lease]:
        """Up to ``n`` queued items (or running ones whose lease expired), for the tenant with the fewest
        items running; each lease counts as an attempt."""
        if n < 1:
            return []
        now = utcnow()
        token = f"{worker}:{uuid.uuid4().hex[:12]}"
        due = or_(
            BatchItemRow.status == ItemStatus.queued.value,
            and_(
                BatchItemRow.status == ItemStatus.running.value,
                BatchItemRow.lease_expires_at < now,
                BatchItemRow.attempts < self.max_attempts,
            ),
        )
        with self.store.session(write=False) as s:  # which tenant to serve: a read, no lock taken
            tenants = list(
                s.execute(
                    select(BatchItemRow.tenant_id, func.min(BatchItemRow.created_at))
                    .where(due)
                    .group_by(BatchItemRow.tenant_id)
                )
            )
            if not tenants:
                return []
            running: dict[str, int] = {
                t: int(c)
                for t, c in s.execute(
                    select(BatchItemRow.tenant_id, func.count())
                    .where(BatchItemRow.status == ItemStatus.running.value, BatchItemRow.lease_expires_at >= now)
                    .group_by(BatchItemRow.tenant_id)
                )
            }
        tenant = min(tenants, key=lambda t: (running.get(t[0], 0), _utc(t[1]), t[0]))[0]
        with self.store.session() as s:  # the lease itself re-checks `due`, so a race only leases fewer rows
            pick = (
                select(BatchItemRow.id)
                .where(due, BatchItemRow.tenant_id == tenant)
                .order_by(BatchItemRow.created_at, BatchItemRow.seq)
                .limit(n)
            )
            if self._pg:
                pick = pick.with_for_update(skip_locked=True)
            ids = list(s.scalars(pick))  # then update by id (see lease_plan)
            if not ids:
                return []
            s.execute(
                update(BatchItemRow)
                .where(BatchItemRow.id.in_(ids), due)
                .values(
                    status=ItemStatus.running.value,
                    lease_owner=token,
                    lease_expires_at=now + timedelta(seconds=lease_s),
                    heartbeat_at=now,
                    attempts=BatchItemRow.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            rows = list(s.scalars(select(BatchItemRow).where(BatchItemRow.lease_owner == token)))
            batch_ids = {r.batch_id for r in rows}
            for b in s.scalars(select(BatchRow).where(BatchRow.id.in_(batch_ids))):
                if b.status in (BatchStatus.validating.value, BatchStatus.queued.value):
                    _set_status(b, BatchStatus.in_progress, now)
            return [Lease(r.tenant_id, _item(r), token) for r in rows]

    def heartbeat(self, leases: Sequence[Lease], *, lease_s: float = 120) -> int:
        """Extend the leases still held; returns how many were."""
        if not leases:
            return 0
        now = utcnow()
        held = 0
        with self.store.session() as s:
            for lease in leases:
                res = s.execute(
                    update(BatchItemRow)
                    .where(
                        BatchItemRow.id == lease.item.id,
                        BatchItemRow.lease_owner == lease.token,
                        BatchItemRow.status == ItemStatus.running.value,
                    )
                    .values(lease_expires_at=now + timedelta(seconds=lease_s), heartbeat_at=now)
                )
                held += res.rowcount  # type: ignore[attr-defined]
        return held

    def complete_item(self, lease: Lease, result: dict[str, Any], *, creative_id: str | None) -> bool:
        """Record a finished item; False (and nothing changes) when the lease was lost meanwhile."""
        return self._finish(lease, ItemStatus.succeeded, result=result, creative_id=creative_id)

    def fail_item(self, lease: Lease, error: dict[str, Any], *, retry: bool = False) -> bool:
        """Record a failure: ``retry`` puts the item back in the queue while attempts are left."""
        if retry and lease.item.attempts < self.max_attempts:
            now = utcnow()
            with self.store.session() as s:
                res = s.execute(
                    update(BatchItemRow)
                    .where(BatchItemRow.id == lease.item.id, BatchItemRow.lease_owner == lease.token)
                    .values(
                        status=ItemStatus.queued.value,
                        lease_owner=None,
                        lease_expires_at=None,
                        error_json=error,
                        updated_at=now,
                    )
                )
                return bool(res.rowcount)  # type: ignore[attr-defined]
        return self._finish(lease, ItemStatus.failed, error=error)

    def _finish(
        self,
        lease: Lease,
        status: ItemStatus,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        creative_id: str | None = None,
    ) -> bool:
        now = utcnow()
        with self.store.session() as s:
            res = s.execute(
                update(BatchItemRow)
                .where(
                    BatchItemRow.id == lease.item.id,
                    BatchItemRow.lease_owner == lease.token,
                    BatchItemRow.status == ItemStatus.running.value,
                )
                .values(
                    status=status.value,
                    result_json=result,
                    error_json=error,
                    creative_id=creative_id,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                    finished_at=now,
                )
            )
            if not res.rowcount:  # type: ignore[attr-defined]
                return False
            column = BatchRow.completed if status is ItemStatus.succeeded else BatchRow.failed
            s.execute(
                update(BatchRow)
                .where(BatchRow.id == lease.item.batch_id)
                .values({column: column + 1, BatchRow.updated_at: now})
            )
            return True

    def finalize(
        self,
        *,
        before_end: Callable[[str, Batch], None] | None = None,
        on_end: Callable[[Session, str, Batch], None] | None = None,
        lease_s: float = 300,
    ) -> list[tuple[str, Batch]]:
        """End what is finished, in two steps. First: items out of attempts fail, items of batches past their
        window are cancelled, and every batch with no open item moves to ``finalizing`` under a lease. Then, per
        batch: ``before_end(tenant, batch)`` runs (ranking its creatives), and the batch takes its end state —
        completed / partially_succeeded / failed, or cancelled / expired — with ``on_end(session, tenant,
        batch)`` called in that same transaction (the webhook outbox, so the event exists exactly when the
        state does). A finalizer that dies in between leaves the batch ``finalizing`` until its lease expires
        and another takes it over. Returns the batches ended by this call, with their tenants."""
        now = utcnow()
        self._reap_dead_items(now)
        token = f"finalizer:{uuid.uuid4().hex[:12]}"
        picked: list[tuple[str, str]] = []
        with self.store.session() as s:
            stmt = select(BatchRow).where(BatchRow.status.in_(_OPEN_BATCH)).order_by(BatchRow.created_at)
            if self._pg:
                stmt = stmt.with_for_update(skip_locked=True)
            for row in s.scalars(stmt):
                if (
                    row.status == BatchStatus.finalizing.value
                    and row.lease_expires_at
                    and _utc(row.lease_expires_at) >= now
                ):
                    continue  # another finalizer holds it
                if _expired(row, now):
                    s.execute(
                        update(BatchItemRow)
                        .where(
                            BatchItemRow.batch_id == row.id,
                            BatchItemRow.status.in_([ItemStatus.pending.value, ItemStatus.queued.value]),
                        )
                        .values(status=ItemStatus.cancelled.value, updated_at=now, finished_at=now)
                    )
                    if self._open_items(s, row.id, running_only=True):
                        continue
                elif self._open_items(s, row.id):
                    continue
                if row.status != BatchStatus.finalizing.value:
                    _set_status(row, BatchStatus.finalizing, now)
                row.lease_owner, row.lease_expires_at = token, now + timedelta(seconds=lease_s)
                picked.append((row.tenant_id, row.id))
        ended: list[tuple[str, Batch]] = []
        for tenant_id, batch_id in picked:
            with self.store.session(write=False) as s:
                found = s.get(BatchRow, batch_id)
                if found is None:
                    continue
                batch, end = _batch(found), _end_state(found, now)
            if before_end is not None and end is None:
                before_end(tenant_id, batch)
            with self.store.session() as s:
                mine = s.get(BatchRow, batch_id, with_for_update=self._pg)
                if mine is None or mine.lease_owner != token:
                    continue  # our lease ran out while before_end worked; the new holder ends it
                counts = self._counts(s, batch_id)
                mine.completed, mine.failed = counts.completed, counts.failed
                if end is None:
                    if counts.completed == counts.total:
                        end = BatchStatus.completed
                    elif counts.completed == 0:
                        end = BatchStatus.failed
                    else:
                        end = BatchStatus.partially_succeeded
                _set_status(mine, end, utcnow())
                batch = _batch(mine)
                if on_end is not None:
                    on_end(s, tenant_id, batch)
                ended.append((tenant_id, batch))
        return ended

    def _reap_dead_items(self, now: datetime) -> None:
        """Items whose worker died ``max_attempts`` times fail instead of being leased again."""
        with self.store.session() as s:
            dead = list(
                s.scalars(
                    select(BatchItemRow).where(
                        BatchItemRow.status == ItemStatus.running.value,
                        BatchItemRow.lease_expires_at < now,
                        BatchItemRow.attempts >= self.max_attempts,
                    )
                )
            )
            for r in dead:
                r.status, r.finished_at, r.updated_at = ItemStatus.failed.value, now, now
                r.lease_owner = r.lease_expires_at = None
                r.error_json = {
                    "code": "worker_lost",
                    "message": f"the worker rendering this item stopped {r.attempts} times; it is not tried again",
                }
                s.execute(update(BatchRow).where(BatchRow.id == r.batch_id).values(failed=BatchRow.failed + 1))

    def _open_items(self, s: Session, batch_id: str, *, running_only: bool = False) -> int:
        states = [ItemStatus.running] if running_only else list(_OPEN_ITEM)
        n = s.scalar(
            select(func.count())
            .select_from(BatchItemRow)
            .where(BatchItemRow.batch_id == batch_id, BatchItemRow.status.in_([x.value for x in states]))
        )
        return int(n or 0)

    def _counts(self, s: Session, batch_id: str) -> RequestCounts:
        succeeded: ColumnElement[int] = case((BatchItemRow.status == ItemStatus.succeeded.value, 1), else_=0)
        failed: ColumnElement[int] = case(
            (BatchItemRow.status.in_([ItemStatus.failed.value, ItemStatus.cancelled.value]), 1), else_=0
        )
        total, done, bad = s.execute(
            select(func.count(), func.sum(succeeded), func.sum(failed)).where(BatchItemRow.batch_id == batch_id)
        ).one()
        return RequestCounts(total=int(total or 0), completed=int(done or 0), failed=int(bad or 0))


_PLANNABLE = [BatchStatus.validating.value, BatchStatus.queued.value, BatchStatus.in_progress.value]
_OPEN_BATCH = [
    BatchStatus.validating.value,
    BatchStatus.queued.value,
    BatchStatus.in_progress.value,
    BatchStatus.finalizing.value,
    BatchStatus.cancelling.value,
]


def _expired(row: BatchRow, now: datetime) -> bool:
    return row.expires_at is not None and _utc(row.expires_at) < now


def _end_state(row: BatchRow, now: datetime) -> BatchStatus | None:
    """The end a finalizing batch must take regardless of its items (None: from its counts)."""
    if BatchStatus.cancelling.value in (row.body_json.get("timestamps") or {}):
        return BatchStatus.cancelled
    if _expired(row, now):
        return BatchStatus.expired
    return None


def _set_status(row: BatchRow, status: BatchStatus, now: datetime) -> None:
    body = dict(row.body_json)
    body["status"] = status.value
    body["timestamps"] = {**body.get("timestamps", {}), status.value: now.isoformat()}
    row.body_json = body
    row.status = status.value
    row.updated_at = now
    if status.terminal:
        row.lease_owner = row.lease_expires_at = None


def _batch(row: BatchRow) -> Batch:
    batch = Batch.model_validate(row.body_json)
    return batch.model_copy(
        update={
            "status": BatchStatus(row.status),
            "request_counts": RequestCounts(total=row.total, completed=row.completed, failed=row.failed),
        }
    )


def _item(r: BatchItemRow) -> BatchItem:
    return BatchItem(
        id=r.id,
        batch_id=r.batch_id,
        seq=r.seq,
        custom_id=r.custom_id,
        status=ItemStatus(r.status),
        attempts=r.attempts,
        request=r.request_json or {},
        result=r.result_json,
        error=r.error_json,
        creative_id=r.creative_id,
        lease_owner=r.lease_owner,
        lease_expires_at=_utc(r.lease_expires_at) if r.lease_expires_at else None,
        created_at=_utc(r.created_at),
        updated_at=_utc(r.updated_at),
    )


def _chunks(rows: list[dict[str, Any]], n: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), n):
        yield rows[i : i + n]
