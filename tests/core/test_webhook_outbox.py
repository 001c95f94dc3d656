"""The webhook outbox in the store: endpoint validation and scoping, event fan-out, leases and their tokens."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adloom.core.errors import InputError, NotFoundError
from adloom.core.storage import Store, open_store
from adloom.core.storage.tables import WebhookDeliveryRow, WebhookEndpointRow
from adloom.core.storage.webhooks import (
    MAX_ENDPOINTS_PER_TENANT,
    batch_event_type,
    create_endpoint,
    delete_endpoint,
    enqueue_event,
    get_delivery,
    get_endpoint,
    lease_due,
    list_deliveries,
    list_endpoints,
    mark_delivered,
    mark_failed,
    validate_url,
)
from adloom.core.types import BatchStatus, WebhookDeliveryStatus, WebhookEventType, utcnow

HOOK = "https://hooks.example.com/adloom"


@pytest.fixture
def store(db_url: str) -> Store:
    return open_store(db_url)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://files.example.com/in", "use an http:// or https:// URL"),
        ("example.com/hook", "use an http:// or https:// URL"),
        ("https://ops:hunter2pass@hooks.example.com/x", "carries a user name or password"),
        ("https:///no-host", "has no host"),
        ("https://hooks.example.com/x#frag", "#fragment"),
        ("https://hooks.example.com/a b", "whitespace"),
        ("https://hooks.example.com:99999/x", "not a valid URL"),
        ("https://hooks.example.com/" + "a" * 2100, "at most 2048"),
        ("   ", "is empty"),
    ],
)
def test_bad_endpoint_urls_are_refused_naming_the_fix(store: Store, url: str, says: str):
    with pytest.raises(InputError, match=says) as err:
        create_endpoint(store, url)
    assert err.value.field == "url"
    assert "hunter2pass" not in str(err.value)  # a password someone pasted is not echoed back
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEndpointRow)) == 0


def test_endpoint_secret_is_a_standard_webhooks_secret_shown_once(store: Store):
    endpoint, secret = create_endpoint(store, HOOK + "?team=growth", ["batch.completed", "batch.failed"])
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert create_endpoint(store, HOOK)[1] != secret
    assert endpoint.url == HOOK + "?team=growth" and endpoint.events == ["batch.completed", "batch.failed"]
    listed = list_endpoints(store).data
    assert [e.id for e in listed][-1] == endpoint.id and secret not in str([e.model_dump() for e in listed])
    assert get_endpoint(store, endpoint.id) == endpoint
    assert validate_url("  http://127.0.0.1:8080/h ") == "http://127.0.0.1:8080/h"


def test_event_lists_are_checked_and_star_means_all(store: Store):
    with pytest.raises(InputError, match=r"unknown webhook event type 'batch\.done'; use one of") as err:
        create_endpoint(store, HOOK, ["batch.done"])
    assert err.value.field == "events"
    with pytest.raises(InputError, match="events is empty"):
        create_endpoint(store, HOOK, [])
    assert create_endpoint(store, HOOK, ["batch.failed", "*"])[0].events == ["*"]
    assert create_endpoint(store, HOOK, "batch.failed")[0].events == ["batch.failed"]
    with pytest.raises(InputError, match="not an event type to send"):
        enqueue_event(store, "*", {"id": "bat_1"})
    with pytest.raises(InputError, match="unknown webhook event type"):
        enqueue_event(store, "batch.exploded", {"id": "bat_1"})


def test_events_fan_out_to_subscribed_live_endpoints_of_the_tenant_only(store: Store):
    acme, beta = store.scoped("acme"), store.scoped("beta")
    every, _ = create_endpoint(acme, HOOK + "/all")
    failures, _ = create_endpoint(acme, HOOK + "/failures", ["batch.failed"])
    gone, _ = create_endpoint(acme, HOOK + "/gone")
    delete_endpoint(acme, gone.id)
    create_endpoint(beta, HOOK + "/beta")

    done = enqueue_event(acme, WebhookEventType.batch_completed, {"id": "bat_1"})
    failed = enqueue_event(acme, "batch.failed", {"id": "bat_2"})
    assert len(done) == 1 and len(failed) == 2 and len(set(done + failed)) == 3
    assert get_delivery(acme, done[0]).endpoint_id == every.id
    assert {get_delivery(acme, i).endpoint_id for i in failed} == {every.id, failures.id}
    d = get_delivery(acme, done[0])
    assert d.payload["type"] == "batch.completed" and d.payload["data"] == {"id": "bat_1"}
    assert d.payload["timestamp"].endswith("Z") and d.status == WebhookDeliveryStatus.pending and d.attempts == 0

    with pytest.raises(NotFoundError):
        get_delivery(beta, done[0])
    for call in (lambda: delete_endpoint(beta, every.id), lambda: get_endpoint(beta, every.id)):
        with pytest.raises(NotFoundError):
            call()
    with pytest.raises(NotFoundError):
        list_deliveries(beta, every.id)
    with pytest.raises(InputError, match="not a webhook endpoint of this account"):
        list_endpoints(beta, after=every.id)
    assert [e.url for e in list_endpoints(beta).data] == [HOOK + "/beta"]


def test_enqueue_in_the_callers_transaction_rolls_back_with_it(store: Store):
    create_endpoint(store, HOOK)
    with pytest.raises(RuntimeError), store.session() as s:
        enqueue_event(store, "batch.completed", {"id": "bat_1"}, session=s)
        raise RuntimeError("the batch update failed")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDeliveryRow)) == 0
    with store.session() as s:
        [msg_id] = enqueue_event(store, "batch.completed", {"id": "bat_1"}, session=s)
    assert get_delivery(store, msg_id).status == WebhookDeliveryStatus.pending


def test_leases_are_exclusive_expire_and_only_the_holder_ends_an_attempt(store: Store):
    acme, beta = store.scoped("acme"), store.scoped("beta")
    create_endpoint(acme, HOOK + "/a")
    create_endpoint(beta, HOOK + "/b")
    ids = [enqueue_event(t, "batch.completed", {"id": f"bat_{i}"})[0] for i in range(3) for t in (acme, beta)]
    now = utcnow()

    first = lease_due(store, "w1", 4, 30, now=now)
    second = lease_due(store, "w2", 4, 30, now=now)
    assert len(first) == 4 and len(second) == 2  # across tenants; disjoint
    assert {x.id for x in first} | {x.id for x in second} == set(ids)
    assert {x.tenant_id for x in first + second} == {"acme", "beta"}
    assert all(x.attempt == 1 and x.secret.startswith("whsec_") for x in first)
    assert "whsec_" not in repr(first[0])
    assert lease_due(store, "w3", 10, 30, now=now) == []

    # w1 stalls past its lease: w3 takes its rows, and w1's late outcome changes nothing
    later = now + timedelta(seconds=31)
    taken = lease_due(store, "w3", 10, 30, now=later)
    assert {x.id for x in taken} == {x.id for x in first + second} and all(x.attempt == 2 for x in taken)
    assert mark_delivered(store, first[0], now=later) is False
    assert mark_failed(store, first[1], "HTTP 500", later) is False
    mine = next(x for x in taken if x.id == first[0].id)
    assert mark_delivered(store, mine, now=later) is True
    assert mark_delivered(store, mine, now=later) is False  # once ended, the lease is spent

    # a failed attempt waits for its next_attempt_at; None ends the delivery
    retry = next(x for x in taken if x.id == first[1].id)
    assert mark_failed(store, retry, "HTTP 500 Internal Server Error", later + timedelta(seconds=5)) is True
    assert lease_due(store, "w4", 10, 30, now=later + timedelta(seconds=4)) == []  # not due yet, others leased
    [again] = lease_due(store, "w4", 1, 30, now=later + timedelta(seconds=6))  # due first: the others' leases live
    assert again.id == first[1].id and again.attempt == 3
    assert mark_failed(store, again, "HTTP 500 Internal Server Error", None) is True
    ended = get_delivery(store.scoped(again.tenant_id), again.id)
    assert ended.status == WebhookDeliveryStatus.failed and ended.last_error == "HTTP 500 Internal Server Error"
    with pytest.raises(InputError, match="lease at least one"):
        lease_due(store, "w5", 0)


def test_deleting_an_endpoint_fails_its_pending_deliveries_and_wipes_its_secret(store: Store):
    endpoint, _ = create_endpoint(store, HOOK)
    [msg_id] = enqueue_event(store, "batch.completed", {"id": "bat_1"})
    [leased] = lease_due(store, "w1", 5, 30)
    delete_endpoint(store, endpoint.id)
    with pytest.raises(NotFoundError):
        delete_endpoint(store, endpoint.id)
    assert list_endpoints(store).data == []
    gone = get_delivery(store, msg_id)
    assert gone.status == WebhookDeliveryStatus.failed and gone.last_error == "endpoint deleted before delivery"
    assert mark_delivered(store, leased) is False  # the in-flight attempt cannot revive it
    assert [d.id for d in list_deliveries(store, endpoint.id).data] == [msg_id]  # history stays readable
    with store.session() as s:
        assert s.get(WebhookEndpointRow, endpoint.id).secret == ""  # type: ignore[union-attr]


def test_lists_page_newest_first_and_endpoints_are_capped(store: Store):
    made = [create_endpoint(store, f"{HOOK}/{i}")[0] for i in range(5)]
    first = list_endpoints(store, limit=2)
    assert [e.id for e in first.data] == [made[4].id, made[3].id] and first.has_more
    rest = list_endpoints(store, limit=10, after=first.last_id)
    assert [e.id for e in rest.data] == [e.id for e in reversed(made[:3])] and not rest.has_more
    with pytest.raises(InputError, match="limit=0: use 1 to 100"):
        list_endpoints(store, limit=0)
    for i in range(5, MAX_ENDPOINTS_PER_TENANT):
        create_endpoint(store, f"{HOOK}/{i}")
    with pytest.raises(InputError, match="delete one first"):
        create_endpoint(store, HOOK)
    assert len(create_endpoint(store.scoped("other"), HOOK)[1]) > 6  # the cap is per tenant

    ids = [enqueue_event(store, "batch.failed", {"id": f"bat_{i}"}) for i in range(3)]
    page = list_deliveries(store, made[0].id, limit=2)
    assert [d.id for d in page.data] == [ids[2][0], ids[1][0]] and page.has_more
    assert [d.id for d in list_deliveries(store, made[0].id, after=page.last_id).data] == [ids[0][0]]


def test_batch_end_states_map_to_events():
    assert batch_event_type(BatchStatus.completed) == WebhookEventType.batch_completed
    assert batch_event_type(BatchStatus.partially_succeeded) == WebhookEventType.batch_completed
    assert batch_event_type(BatchStatus.expired) == WebhookEventType.batch_expired
    assert all(batch_event_type(s) is None for s in BatchStatus if not s.terminal)
    assert all(batch_event_type(s) is not None for s in BatchStatus if s.terminal)
