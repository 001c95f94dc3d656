"""Webhook delivery end to end: a real outbox in SQLite, real signed POSTs to a threaded receiver on loopback,
verified with the ``standardwebhooks`` package the way a customer's receiver would."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from adloom.core.settings import Settings
from adloom.core.storage import Store, open_store
from adloom.core.storage.queue import JobQueue
from adloom.core.storage.webhooks import (
    create_endpoint,
    delete_endpoint,
    enqueue_batch_event,
    enqueue_event,
    get_delivery,
    list_deliveries,
)
from adloom.core.types import BatchStatus, Brief, Product, WebhookDeliveryStatus, utcnow
from adloom.serving.jobs.webhooks import WebhookDispatcher


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A customer's webhook receiver on loopback. Paths choose the behaviour: ``/ok`` answers 204, ``/fail<k>/…``
    answers 500 to its first k requests and then 200, ``/down`` always 503, ``/slow`` answers after a second,
    ``/moved`` redirects to ``/ok``."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    seen = sum(1 for r in receiver.received if r.path == self.path)
                if delay_s:
                    time.sleep(delay_s)
                path = self.path.split("?")[0]
                if path.startswith("/fail"):
                    fails = int(path.removeprefix("/fail").split("/")[0])
                    status = 500 if seen <= fails else 200
                elif path == "/down":
                    status = 503
                elif path == "/slow":
                    time.sleep(1.0)
                    status = 200
                elif path == "/moved":
                    self.send_response(307)
                    self.send_header("Location", "/ok")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                else:
                    status = 204
                payload = b"" if status == 204 else b'{"detail": "a body the dispatcher must not keep"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def store(db_url: str) -> Store:
    return open_store(db_url)


def _dispatcher(store: Store, *, schedule: tuple[float, ...] = (0, 0.05, 0.05), **kw: Any) -> WebhookDispatcher:
    kw.setdefault("timeout_s", 2.0)
    return WebhookDispatcher(store, schedule=schedule, rng=random.Random(7), **kw)


def _drain(dispatcher: WebhookDispatcher, store: Store, ids: list[str], timeout_s: float = 10.0) -> None:
    """Run passes until every delivery in ``ids`` has ended (delivered or failed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(get_delivery(store, i).status != WebhookDeliveryStatus.pending for i in ids):
            return
        if dispatcher.run_once() == 0:
            time.sleep(0.02)
    raise AssertionError(f"deliveries still pending after {timeout_s} s: {[get_delivery(store, i) for i in ids]}")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_receiver_gets_a_signed_batch_completed_that_verifies(store: Store, receiver: Receiver):
    acme = store.scoped("acme")
    endpoint, secret = create_endpoint(acme, receiver.base + "/ok", ["batch.completed"])
    assert secret.startswith("whsec_") and secret not in repr(endpoint) + endpoint.model_dump_json()
    [msg_id] = enqueue_event(acme, "batch.completed", {"id": "bat_0001"})

    with _dispatcher(acme) as d:
        assert d.run_once() == 1
        assert d.run_once() == 0  # delivered: nothing is due any more

    [got] = receiver.on("/ok")
    assert got.headers["webhook-id"] == msg_id and msg_id.startswith("msg_")
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-signature"].startswith("v1,")
    event = Webhook(secret).verify(got.body, got.headers)
    assert event["type"] == "batch.completed" and event["data"] == {"id": "bat_0001"}
    assert datetime.fromisoformat(event["timestamp"]) <= utcnow()
    with pytest.raises(WebhookVerificationError):  # the signature is the endpoint's own, not any secret's
        Webhook(create_endpoint(acme, receiver.base + "/other")[1]).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):  # and covers the body
        Webhook(secret).verify(got.body.replace(b"bat_0001", b"bat_0002"), got.headers)

    delivery = get_delivery(acme, msg_id)
    assert delivery.status == WebhookDeliveryStatus.delivered and delivery.attempts == 1
    assert delivery.endpoint_id == endpoint.id and delivery.delivered_at is not None and delivery.last_error is None


def test_a_batch_that_ends_sends_batch_completed_to_its_tenant(store: Store, receiver: Receiver):
    """The job table's finalizer reports the batches it ended; their events reach the tenant's receiver."""
    acme = store.scoped("acme")
    _, secret = create_endpoint(acme, receiver.base + "/ok")
    create_endpoint(store.scoped("beta"), receiver.base + "/ok?who=beta")
    brief = Brief(industry="food", product=Product(name="Oat bar", selling_points=["10 g protein"]))
    acme.save_brief(brief)
    batch = JobQueue(acme).create_batch(brief_id=brief.id, n=2)
    worker = JobQueue(store)
    while (plan := worker.lease_plan("planner")) is not None:
        items = worker.pending_items(plan.batch.id)
        assert worker.queue_planned(plan, {i.id: {**i.request, "script": {"n": i.seq}} for i in items})
        worker.release_plan(plan)
    first, second = worker.lease_items("w", 2)
    assert worker.complete_item(first, {"video": "a.mp4"}, creative_id="crv_a")
    assert worker.fail_item(second, {"code": "render_failed", "message": "ffmpeg exited 1"})
    assert enqueue_batch_event(store, "acme", batch) == []  # still open: not an end state
    [(tenant, ended)] = worker.finalize()
    assert (tenant, ended.id, ended.status) == ("acme", batch.id, BatchStatus.partially_succeeded)
    [msg_id] = enqueue_batch_event(store, tenant, ended)

    with _dispatcher(store) as d:
        _drain(d, acme, [msg_id])

    assert receiver.on("/ok?who=beta") == []
    [got] = receiver.on("/ok")
    event = Webhook(secret).verify(got.body, got.headers)
    assert (event["type"], event["data"]) == ("batch.completed", {"id": batch.id})


def test_receiver_that_fails_twice_gets_it_on_the_third_try_with_the_same_id(store: Store, receiver: Receiver):
    endpoint, secret = create_endpoint(store, receiver.base + "/fail2/hook")
    [msg_id] = enqueue_event(store, "batch.completed", {"id": "bat_0002"})

    with _dispatcher(store) as d:
        _drain(d, store, [msg_id])

    tries = receiver.on("/fail2/hook")
    assert len(tries) == 3
    assert {t.headers["webhook-id"] for t in tries} == {msg_id}
    assert len({t.body for t in tries}) == 1  # the same event; only the signature's timestamp may move
    for t in tries:
        assert Webhook(secret).verify(t.body, t.headers)["data"] == {"id": "bat_0002"}
    delivery = get_delivery(store, msg_id)
    assert delivery.status == WebhookDeliveryStatus.delivered and delivery.attempts == 3


def test_retries_wait_for_their_step_of_the_schedule(store: Store, receiver: Receiver):
    """With a clock under the test's control: a failed attempt is not retried before its back-off has passed."""
    t0 = utcnow()
    now = [t0]
    create_endpoint(store, receiver.base + "/down")
    [msg_id] = enqueue_event(store, "batch.failed", {"id": "bat_0003"}, now=t0)
    with _dispatcher(store, schedule=(0, 5, 30), jitter=0.2, clock=lambda: now[0]) as d:
        assert d.run_once() == 1
        first_retry = get_delivery(store, msg_id).next_attempt_at
        assert first_retry is not None and t0 + timedelta(seconds=4) <= first_retry <= t0 + timedelta(seconds=6)
        now[0] = t0 + timedelta(seconds=3.9)
        assert d.run_once() == 0  # not due yet
        now[0] = first_retry
        assert d.run_once() == 1
        second_retry = get_delivery(store, msg_id).next_attempt_at
        assert second_retry is not None
        assert first_retry + timedelta(seconds=24) <= second_retry <= first_retry + timedelta(seconds=36)
        now[0] = second_retry + timedelta(seconds=1)
        assert d.run_once() == 1
        assert d.run_once() == 0
    delivery = get_delivery(store, msg_id)
    assert delivery.status == WebhookDeliveryStatus.failed and delivery.attempts == 3
    assert delivery.next_attempt_at is None and delivery.last_error == "HTTP 503 Service Unavailable"
    assert len(receiver.on("/down")) == 3


def test_a_tenants_event_never_goes_to_another_tenants_endpoint(store: Store, receiver: Receiver):
    acme, beta = store.scoped("acme"), store.scoped("beta")
    _, acme_secret = create_endpoint(acme, receiver.base + "/ok?who=acme")
    beta_endpoint, _ = create_endpoint(beta, receiver.base + "/ok?who=beta")
    ids = enqueue_event(acme, "batch.completed", {"id": "bat_acme"})
    assert len(ids) == 1
    assert enqueue_event(store, "batch.completed", {"id": "bat_local"}) == []  # the CLI's tenant has no endpoint

    with _dispatcher(store) as d:  # a dispatcher serves every tenant: scoping comes from the rows, not the store
        _drain(d, store.scoped("acme"), ids)
        assert d.run_once() == 0

    assert receiver.on("/ok?who=beta") == []
    [got] = receiver.on("/ok?who=acme")
    assert Webhook(acme_secret).verify(got.body, got.headers)["data"] == {"id": "bat_acme"}
    assert list_deliveries(beta, beta_endpoint.id).data == []


def test_a_dead_endpoint_ends_failed_after_the_schedule_and_no_secret_is_logged(
    store: Store, caplog: pytest.LogCaptureFixture
):
    url = f"http://127.0.0.1:{_closed_port()}/hook?token=tok_8f3a2c91d0"
    endpoint, secret = create_endpoint(store, url)
    [msg_id] = enqueue_event(store, "batch.expired", {"id": "bat_0004"})

    with caplog.at_level(logging.INFO, logger="adloom"), _dispatcher(store, schedule=(0, 0.05, 0.05, 0.05)) as d:
        _drain(d, store, [msg_id])

    delivery = get_delivery(store, msg_id)
    assert delivery.status == WebhookDeliveryStatus.failed and delivery.attempts == 4
    assert delivery.last_error is not None and "ConnectError" in delivery.last_error
    assert "no attempts left" in caplog.text and msg_id in caplog.text
    for secret_text in (secret, secret.removeprefix("whsec_"), "tok_8f3a2c91d0"):
        assert secret_text not in caplog.text
        assert secret_text not in delivery.model_dump_json()
    assert list_deliveries(store, endpoint.id, status=WebhookDeliveryStatus.failed).data == [delivery]


def test_redirects_are_not_followed_and_slow_receivers_time_out(store: Store, receiver: Receiver):
    create_endpoint(store, receiver.base + "/moved")
    create_endpoint(store, receiver.base + "/slow")
    ids = enqueue_event(store, "batch.cancelled", {"id": "bat_0005"})
    assert len(ids) == 2

    with _dispatcher(store, schedule=(0, 60), timeout_s=0.3) as d:
        assert d.run_once() == 2

    errors = {get_delivery(store, i).last_error for i in ids}
    assert errors == {
        "HTTP 307 Temporary Redirect (redirects are not followed: register the URL the receiver moved to)",
        "no answer within 0.3 s",
    }
    assert receiver.on("/ok") == []  # the redirect's target never saw the signed event
    assert all(get_delivery(store, i).status == WebhookDeliveryStatus.pending for i in ids)  # retried later


def test_a_deleted_endpoint_gets_nothing_more(store: Store, receiver: Receiver):
    endpoint, _ = create_endpoint(store, receiver.base + "/ok")
    [msg_id] = enqueue_event(store, "batch.completed", {"id": "bat_0006"})
    delete_endpoint(store, endpoint.id)
    with _dispatcher(store) as d:
        assert d.run_once() == 0
    assert receiver.on("/ok") == []
    assert get_delivery(store, msg_id).status == WebhookDeliveryStatus.failed
    assert enqueue_event(store, "batch.completed", {"id": "bat_0007"}) == []


def test_two_dispatchers_on_one_database_never_deliver_a_message_twice(db_url: str):
    receiver = Receiver(delay_s=0.005)  # a little latency, so the two dispatchers' passes overlap
    try:
        tenants = [open_store(db_url).scoped(t) for t in ("acme", "beta")]
        ids: list[str] = []
        for t in tenants:
            create_endpoint(t, f"{receiver.base}/ok?tenant={t.tenant_id}")
            for i in range(20):
                ids += enqueue_event(t, "batch.completed", {"id": f"bat_{t.tenant_id}_{i}"})
        assert len(ids) == 40

        attempted = Counter[str]()
        errors: list[BaseException] = []
        stop = threading.Event()
        # separate Store objects: separate engines and connection pools, as two processes would have
        stores = {f"d{i}": open_store(db_url) for i in range(2)}

        def work(name: str) -> None:
            try:
                with _dispatcher(stores[name], batch_size=3, concurrency=2, worker=name) as d:
                    while not stop.is_set():
                        n = d.run_once()
                        attempted[name] += n
                        if n == 0:
                            time.sleep(0.01)
            except BaseException as exc:  # the test thread asserts on it
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(name,)) for name in stores]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(receiver.received) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # a duplicate, were there one, would arrive now
        stop.set()
        for t in threads:
            t.join(10)

        assert errors == []
        per_id = Counter(r.headers["webhook-id"] for r in receiver.received)
        assert sorted(per_id) == sorted(ids) and set(per_id.values()) == {1}
        assert sum(attempted.values()) == 40  # no message was leased twice either
        assert min(attempted[name] for name in stores) > 0  # and both dispatchers took part
        for t in tenants:
            for r in receiver.on(f"/ok?tenant={t.tenant_id}"):
                assert get_delivery(t, r.headers["webhook-id"]).status == WebhookDeliveryStatus.delivered
    finally:
        receiver.close()


def test_schedule_comes_from_settings_and_bad_schedules_are_refused(store: Store):
    settings = Settings(webhook_retry_schedule_s=[0, 1, 2], webhook_timeout_s=3)
    with WebhookDispatcher.from_settings(store, settings) as d:
        assert d.schedule == (0, 1, 2) and d.timeout_s == 3
        now = utcnow()
        waits = [(d.next_attempt_at(1, now) - now).total_seconds() for _ in range(50)]  # type: ignore[operator]
        assert 0.8 <= min(waits) < max(waits) <= 1.2  # jittered around the step
        assert d.next_attempt_at(3, now) is None
    with pytest.raises(ValueError, match="starting with 0"):
        Settings(webhook_retry_schedule_s=[5, 30])
    with pytest.raises(ValueError, match="starting with 0"):
        WebhookDispatcher(store, schedule=[])


def test_run_in_thread_delivers_until_stopped(store: Store, receiver: Receiver):
    """What ``adloom serve`` and ``adloom worker`` start: a polling thread that ends when asked."""
    _, secret = create_endpoint(store, receiver.base + "/ok")
    stop = threading.Event()
    with _dispatcher(store) as d:
        thread = d.run_in_thread(stop, poll_s=0.02)
        [msg_id] = enqueue_event(store, "batch.completed", {"id": "bat_0008"})  # sent while the thread polls
        deadline = time.monotonic() + 10
        while not receiver.on("/ok") and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        thread.join(5)
        assert not thread.is_alive()
    [got] = receiver.on("/ok")
    assert got.headers["webhook-id"] == msg_id and Webhook(secret).verify(got.body, got.headers)
