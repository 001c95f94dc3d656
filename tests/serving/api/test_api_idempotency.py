"""Idempotency-Key against a real uvicorn server on loopback with real threads: five concurrent identical
POSTs make one batch; a replay answers the first response with Idempotent-Replayed; another body is a 409;
a 5xx releases the key; keys expire after 24 h."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from adloom.core.storage import Store, idempotency
from tests.serving.api.conftest import BRIEF, Tenants


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.025)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _post_many(url: str, json: dict[str, object], headers: dict[str, str], n: int) -> list[httpx.Response]:
    barrier = threading.Barrier(n)

    def one(_: int) -> httpx.Response:
        with httpx.Client(timeout=30) as c:
            barrier.wait()
            return c.post(url, json=json, headers=headers)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_five_concurrent_identical_posts_make_one_batch(base_url: str, tenants: Tenants):
    with httpx.Client(base_url=base_url, headers=tenants.a) as c:
        brief_id = c.post("/v1/briefs", json=BRIEF).json()["id"]
    headers = {**tenants.a, "Idempotency-Key": "order-2026-05-01-a"}
    body = {"brief_id": brief_id, "n": 4}
    responses = _post_many(f"{base_url}/v1/batches", body, headers, 5)
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.content for r in responses}) == 1  # byte-identical answers
    replayed = [r.headers.get("idempotent-replayed") for r in responses]
    assert replayed.count("true") == 4 and replayed.count(None) == 1
    with httpx.Client(base_url=base_url, headers=tenants.a) as c:
        batches = c.get("/v1/batches").json()["data"]
        assert [b["id"] for b in batches] == [responses[0].json()["id"]]
        later = c.post("/v1/batches", json=body, headers={"Idempotency-Key": "order-2026-05-01-a"})
        assert later.status_code == 201 and later.headers["idempotent-replayed"] == "true"
        assert later.json() == responses[0].json()
        other = c.post("/v1/batches", json={**body, "n": 5}, headers={"Idempotency-Key": "order-2026-05-01-a"})
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        assert other.json()["error"]["param"] == "Idempotency-Key"
        assert len(c.get("/v1/batches").json()["data"]) == 1
    # the same key is another tenant's own: it does not collide with A's
    with httpx.Client(base_url=base_url, headers=tenants.b) as c:
        b_brief = c.post("/v1/briefs", json=BRIEF).json()["id"]
        r = c.post("/v1/batches", json={"brief_id": b_brief, "n": 1}, headers={"Idempotency-Key": "order-2026-05-01-a"})
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers


def test_a_server_error_releases_the_key_and_4xx_answers_are_replayed(base_url: str, app: FastAPI, tenants: Tenants):
    calls = {"n": 0}

    def flaky() -> dict[str, int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk on fire")
        return {"call": calls["n"]}

    app.add_api_route("/v1/test/flaky", flaky, methods=["POST"])
    headers = {**tenants.a, "Idempotency-Key": "flaky-1"}
    with httpx.Client(base_url=base_url, headers=headers) as c:
        first = c.post("/v1/test/flaky", json={})
        assert first.status_code == 500 and first.json()["error"]["code"] == "internal_error"
        assert "disk on fire" not in first.text and first.headers["x-request-id"] in first.json()["error"]["message"]
        second = c.post("/v1/test/flaky", json={})
        assert second.status_code == 200 and second.json() == {"call": 2}  # ran again: the 500 released the key
        third = c.post("/v1/test/flaky", json={})
        assert third.json() == {"call": 2} and third.headers["idempotent-replayed"] == "true"
        bad = c.post("/v1/briefs", json={"industry": "food"}, headers={"Idempotency-Key": "bad-brief"})
        assert bad.status_code == 400
        again = c.post("/v1/briefs", json={"industry": "food"}, headers={"Idempotency-Key": "bad-brief"})
        assert again.status_code == 400 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == bad.json()
        r = c.post("/v1/briefs", json=BRIEF, headers={"Idempotency-Key": "x" * 256})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_idempotency_key"
    assert calls["n"] == 2


def test_keys_expire_after_their_ttl_and_concurrent_claims_have_one_winner(root_store: Store):
    store = root_store.scoped("acme")
    kw = {"method": "POST", "path": "/v1/batches", "body_hash": "h1"}
    first = idempotency.claim(store, "k", ttl=timedelta(seconds=-1), **kw)  # already expired
    assert first.state == "first"
    assert idempotency.claim(store, "k", **kw).state == "first"  # the expired row was purged
    assert idempotency.claim(store, "k", **kw).state == "in_progress"
    assert idempotency.claim(store, "k", **{**kw, "body_hash": "h2"}).state == "mismatch"
    idempotency.complete(store, "k", idempotency.StoredResponse(201, {"content-type": "application/json"}, "{}"))
    replay = idempotency.claim(store, "k", **kw)
    assert replay.state == "replay" and replay.response is not None and replay.response.status_code == 201
    assert idempotency.claim(root_store.scoped("beta"), "k", **kw).state == "first"
    # eight threads race for a fresh key: exactly one is first
    barrier = threading.Barrier(8)

    def race(_: int) -> str:
        barrier.wait()
        return idempotency.claim(store, "race", **kw).state

    with ThreadPoolExecutor(8) as pool:
        states = list(pool.map(race, range(8)))
    assert states.count("first") == 1 and states.count("in_progress") == 7
