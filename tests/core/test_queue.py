"""The job table: batches through their states, leases that expire and are taken over, completion only by the
lease holder, fairness between tenants, quotas, cancel, expiry, and concurrent leasing without double work."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from adloom.core.errors import InputError, NotFoundError, QuotaError
from adloom.core.storage import open_store
from adloom.core.storage.queue import JobQueue, Rejected
from adloom.core.storage.tables import BatchRow
from adloom.core.types import BatchStatus, Brief, Product, RenderRequest, TenantQuotas, utcnow


def _brief(store) -> Brief:
    brief = Brief(industry="food", product=Product(name="Oat bar", selling_points=["10 g protein"]))
    store.save_brief(brief)
    return brief


def _plan_all(q: JobQueue, worker: str = "planner") -> int:
    """What a worker's planner does, minus the writing: every pending item gets a (fake) script."""
    planned = 0
    while (lease := q.lease_plan(worker)) is not None:
        items = q.pending_items(lease.batch.id)
        assert q.queue_planned(lease, {i.id: {**i.request, "script": {"n": i.seq}} for i in items})
        planned += len(items)
        q.release_plan(lease)
    return planned


def _run_all(q: JobQueue, worker: str = "w") -> list[str]:
    done = []
    while leases := q.lease_items(worker, 4):
        for lease in leases:
            assert q.complete_item(lease, {"ok": True}, creative_id=f"crv_{lease.item.seq}")
            done.append(lease.item.custom_id)
    return done


def test_a_batch_runs_through_its_states_with_counts_and_results(db_url: str):
    root = open_store(db_url)
    acme = root.scoped("acme")
    brief = _brief(acme)
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=brief.id, n=5, defaults={"height": 360})
    assert batch.status == BatchStatus.validating and batch.request_counts.total == 5
    worker = JobQueue(root)  # workers see every tenant
    assert _plan_all(worker) == 5
    assert q.get_batch(batch.id).status == BatchStatus.queued
    first = worker.lease_items("w1", 2)
    assert [x.tenant_id for x in first] == ["acme", "acme"] and all(x.item.attempts == 1 for x in first)
    assert q.get_batch(batch.id).status == BatchStatus.in_progress
    for lease in first:
        assert lease.item.request["script"] == {"n": lease.item.seq} and lease.item.request["height"] == 360
        assert worker.complete_item(lease, {"video": "v.mp4"}, creative_id=f"crv_{lease.item.seq}")
    assert worker.finalize() == []  # three items still open
    assert len(_run_all(worker)) == 3
    ended = worker.finalize()
    assert [(t, b.id, b.status) for t, b in ended] == [("acme", batch.id, BatchStatus.completed)]
    got = q.get_batch(batch.id)
    assert got.request_counts.model_dump() == {"total": 5, "completed": 5, "failed": 0}
    assert {"validating", "queued", "in_progress", "finalizing", "completed"} <= set(got.timestamps)
    results = list(q.iter_results(batch.id))
    assert [r["custom_id"] for r in results] == [f"creative-{i}" for i in range(1, 6)]
    assert list(q.iter_errors(batch.id)) == []
    page = q.list_items(batch.id, limit=2)
    assert [i.seq for i in page.data] == [0, 1] and page.has_more
    page2 = q.list_items(batch.id, limit=10, after=page.last_id)
    assert [i.seq for i in page2.data] == [2, 3, 4] and not page2.has_more


def test_bad_lines_go_to_the_errors_file_and_the_rest_run(db_url: str):
    acme = open_store(db_url).scoped("acme")
    brief = _brief(acme)
    q = JobQueue(acme)
    lines = [RenderRequest(custom_id=f"line-{i}", brief_id=brief.id) for i in range(3)]
    lines.append(RenderRequest(custom_id="ghost", brief_id="brf_nope"))
    batch = q.create_batch(requests=lines, rejected=[Rejected("line-9", "invalid_json", "line 9: not JSON")])
    assert batch.request_counts.total == 5 and batch.request_counts.failed == 2
    _plan_all(q)
    _run_all(q)
    ((_, ended),) = q.finalize()
    assert ended.status == BatchStatus.partially_succeeded
    assert ended.request_counts.model_dump() == {"total": 5, "completed": 3, "failed": 2}
    errors = {e["custom_id"]: e["error"]["code"] for e in q.iter_errors(batch.id)}
    assert errors == {"ghost": "brief_not_found", "line-9": "invalid_json"}
    with pytest.raises(InputError, match="appears twice"):
        q.create_batch(requests=[lines[0], lines[0]])
    with pytest.raises(NotFoundError, match="POST /v1/briefs"):
        q.create_batch(brief_id="brf_nope", n=2)


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_complete(db_url: str):
    acme = open_store(db_url).scoped("acme")
    q = JobQueue(acme)
    q.create_batch(brief_id=_brief(acme).id, n=1)
    _plan_all(q)
    (dead,) = q.lease_items("dead-worker", 1, lease_s=60)
    assert q.lease_items("w2", 1) == []  # the live lease is respected
    _expire_leases(acme)
    (taken,) = q.lease_items("w2", 1)
    assert taken.item.id == dead.item.id and taken.item.attempts == 2
    assert not q.complete_item(dead, {}, creative_id="crv_x")  # lost its lease: not counted
    assert not q.heartbeat([dead])
    assert q.heartbeat([taken]) == 1
    assert q.complete_item(taken, {}, creative_id="crv_x")
    ((_, ended),) = q.finalize()
    assert ended.request_counts.completed == 1 and ended.request_counts.failed == 0


def _expire_leases(store) -> None:
    from adloom.core.storage.tables import BatchItemRow

    with store.session() as s:
        s.execute(update(BatchItemRow).values(lease_expires_at=utcnow() - timedelta(seconds=1)))


def test_an_item_that_kills_every_worker_fails_after_max_attempts(db_url: str):
    acme = open_store(db_url).scoped("acme")
    q = JobQueue(acme, max_attempts=2)
    batch = q.create_batch(brief_id=_brief(acme).id, n=1)
    _plan_all(q)
    for _ in range(2):
        assert len(q.lease_items("w", 1)) == 1
        _expire_leases(acme)
    assert q.lease_items("w", 1) == []
    ((_, ended),) = q.finalize()
    assert ended.status == BatchStatus.failed
    (err,) = q.iter_errors(batch.id)
    assert err["error"]["code"] == "worker_lost"


def test_retryable_failure_requeues_then_fails(db_url: str):
    acme = open_store(db_url).scoped("acme")
    q = JobQueue(acme, max_attempts=2)
    q.create_batch(brief_id=_brief(acme).id, n=1)
    _plan_all(q)
    (lease,) = q.lease_items("w", 1)
    assert q.fail_item(lease, {"code": "render_error", "message": "boom"}, retry=True)
    (again,) = q.lease_items("w", 1)
    assert again.item.attempts == 2
    assert q.fail_item(again, {"code": "render_error", "message": "boom"}, retry=True)  # out of attempts: failed
    ((_, ended),) = q.finalize()
    assert ended.status == BatchStatus.failed and ended.request_counts.failed == 1


def test_cancel_stops_what_has_not_started_and_keeps_what_finishes(db_url: str):
    acme = open_store(db_url).scoped("acme")
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=_brief(acme).id, n=4)
    _plan_all(q)
    (running,) = q.lease_items("w", 1)
    assert q.cancel_batch(batch.id).status == BatchStatus.cancelling
    assert q.lease_items("w", 4) == []
    assert q.finalize() == []  # one still running
    assert q.complete_item(running, {}, creative_id="crv_0")
    ((_, ended),) = q.finalize()
    assert ended.status == BatchStatus.cancelled
    assert q.cancel_batch(batch.id).status == BatchStatus.cancelled  # again: no change
    assert len(list(q.iter_results(batch.id))) == 1 and len(list(q.iter_errors(batch.id))) == 3


def test_a_batch_past_its_window_expires(db_url: str):
    acme = open_store(db_url).scoped("acme")
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=_brief(acme).id, n=2)
    with acme.session() as s:
        s.execute(update(BatchRow).values(expires_at=utcnow() - timedelta(seconds=1)))
    ((_, ended),) = q.finalize()
    assert ended.id == batch.id and ended.status == BatchStatus.expired


def test_tenants_never_reach_each_others_batches(db_url: str):
    root = open_store(db_url)
    a, b = JobQueue(root.scoped("acme")), JobQueue(root.scoped("beta"))
    batch = a.create_batch(brief_id=_brief(a.store).id, n=2)
    for call in (b.get_batch, b.cancel_batch, b.list_items, lambda i: list(b.iter_results(i))):
        with pytest.raises(NotFoundError):
            call(batch.id)
    assert b.list_batches().data == [] and [x.id for x in a.list_batches().data] == [batch.id]
    with pytest.raises(NotFoundError):  # nor use each other's briefs
        b.create_batch(brief_id=a.get_batch(batch.id).brief_id, n=1)


def test_fairness_serves_the_tenant_with_less_running_first(db_url: str):
    root = open_store(db_url)
    a, b = JobQueue(root.scoped("acme")), JobQueue(root.scoped("beta"))
    a.create_batch(brief_id=_brief(a.store).id, n=50)
    b.create_batch(brief_id=_brief(b.store).id, n=2)
    w = JobQueue(root)
    _plan_all(w)
    tenants = [w.lease_items("w", 1)[0].tenant_id for _ in range(4)]
    assert tenants == ["acme", "beta", "acme", "beta"]


def test_quotas_refuse_with_a_retry_hint(db_url: str):
    acme = open_store(db_url).scoped("acme")
    q = JobQueue(acme)
    brief = _brief(acme)
    q.create_batch(brief_id=brief.id, n=3, quotas=TenantQuotas(creatives_per_day=5))
    with pytest.raises(QuotaError, match="per UTC day") as per_day:
        q.create_batch(brief_id=brief.id, n=3, quotas=TenantQuotas(creatives_per_day=5))
    assert per_day.value.retry_after_s > 0
    with pytest.raises(QuotaError, match="at once"):
        q.create_batch(brief_id=brief.id, n=1, quotas=TenantQuotas(concurrent_batches=1))
    with pytest.raises(QuotaError, match="per batch"):
        q.create_batch(brief_id=brief.id, n=3, quotas=TenantQuotas(max_batch_items=2))


def test_list_batches_pages_newest_first(db_url: str):
    acme = open_store(db_url).scoped("acme")
    q = JobQueue(acme)
    brief = _brief(acme)
    ids = [q.create_batch(brief_id=brief.id, n=1).id for _ in range(5)]
    seen, after = [], None
    while True:
        page = q.list_batches(limit=2, after=after)
        seen += [b.id for b in page.data]
        if not page.has_more:
            break
        after = page.last_id
    assert seen == ids[::-1]
    with pytest.raises(InputError, match="limit"):
        q.list_batches(limit=0)


def test_concurrent_workers_never_lease_the_same_item(db_url: str):
    acme = open_store(db_url).scoped("acme")
    JobQueue(acme).create_batch(brief_id=_brief(acme).id, n=60)
    _plan_all(JobQueue(acme))
    got: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        q = JobQueue(open_store(db_url, migrate=False))  # its own engine, as a separate process would have
        while leases := q.lease_items(name, 3):
            for lease in leases:
                assert q.complete_item(lease, {}, creative_id=None)
                with lock:
                    got.append(lease.item.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 60 and len(set(got)) == 60
    ((_, ended),) = JobQueue(acme).finalize()
    assert ended.request_counts.completed == 60


def test_a_lease_takes_exactly_as_many_items_as_asked(db_url: str):
    acme = open_store(db_url).scoped("acme")
    q = JobQueue(acme)
    q.create_batch(brief_id=_brief(acme).id, n=10)
    _plan_all(q)
    assert [len(q.lease_items(f"w{i}", 4)) for i in range(4)] == [4, 4, 2, 0]


def test_finalize_ranks_before_the_end_state_and_writes_the_event_in_the_same_transaction(db_url: str):
    from adloom.core.storage.webhooks import create_endpoint, enqueue_batch_event, list_deliveries

    root = open_store(db_url)
    acme = root.scoped("acme")
    endpoint, _secret = create_endpoint(acme, "http://127.0.0.1:9/hook", ["batch.completed"])
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=_brief(acme).id, n=2)
    _plan_all(q)
    _run_all(q)
    seen: list[BatchStatus] = []

    def crash(tenant: str, b) -> None:
        seen.append(JobQueue(root.scoped(tenant)).get_batch(b.id).status)
        raise RuntimeError("finalizer died while ranking")

    with pytest.raises(RuntimeError):
        q.finalize(before_end=crash)
    assert seen == [BatchStatus.finalizing] and q.get_batch(batch.id).status == BatchStatus.finalizing
    assert q.finalize() == []  # the dead finalizer's lease still holds
    with acme.session() as s:
        s.execute(update(BatchRow).values(lease_expires_at=utcnow() - timedelta(seconds=1)))

    def on_end(session, tenant: str, b) -> None:
        enqueue_batch_event(root, tenant, b, session=session)

    ranked: list[str] = []
    ((_, ended),) = q.finalize(before_end=lambda t, b: ranked.append(b.id), on_end=on_end)
    assert ranked == [batch.id] and ended.status == BatchStatus.completed
    (delivery,) = list_deliveries(acme, endpoint.id).data
    assert delivery.event_type == "batch.completed"


def test_a_new_batch_is_planned_before_one_that_already_has_work_waiting(db_url: str):
    root = open_store(db_url)
    a, b = JobQueue(root.scoped("acme")), JobQueue(root.scoped("beta"))
    big = a.create_batch(brief_id=_brief(a.store).id, n=120)
    w = JobQueue(root)
    lease = w.lease_plan("p1")
    assert lease is not None and lease.batch.id == big.id
    items = w.pending_items(big.id)
    assert w.queue_planned(lease, {i.id: {**i.request, "script": {}} for i in items})
    w.release_plan(lease)  # 50 queued, 70 still pending
    small = b.create_batch(brief_id=_brief(b.store).id, n=2)
    nxt = w.lease_plan("p2")
    assert nxt is not None and nxt.batch.id == small.id
