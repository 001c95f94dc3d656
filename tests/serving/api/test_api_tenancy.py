"""Tenancy: tenant B gets 404 for every one of tenant A's objects on every route that takes an id — reading,
listing, downloading, ranking, cancelling — and nothing of A's changes; the keys table holds no plain key."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage.tables import ApiKeyRow
from tests.serving.api.conftest import BRIEF, Tenants, png_bytes
from tests.serving.api.seed import seed_tenant

REPO = Path(__file__).resolve().parents[3]


def test_tenant_b_gets_404_for_each_of_tenant_as_objects(
    client: TestClient, tenants: Tenants, root_store: Store, settings: Settings
):
    a = seed_tenant(client, tenants.a, root_store, settings, "acme")
    room = {"name": "Oaty live", "industry": "food", "products": [BRIEF["product"]], "engine": "text"}
    r = client.post("/v1/live/rooms", json=room, headers=tenants.a)
    assert r.status_code == 201, r.text
    room_id = r.json()["id"]
    own = "id,title,industry,platform,language,aspect,script_text\nlib_acme_only,Oaty,food,douyin,en,9:16,Hi. Buy.\n"
    r = client.post("/v1/library/import", files={"file": ("mine.csv", own.encode())}, headers=tenants.a)
    assert r.status_code == 200, r.text
    faq = b"Q: How much protein?\nA: 10 g per bar.\n"
    r = client.post("/v1/live/knowledge", files={"file": ("faq.txt", faq)}, data={"language": "en"}, headers=tenants.a)
    assert r.status_code == 201, r.text
    kb_id = r.json()["id"]
    consent = {"subject": "Ann Lee", "granted_by": "Ann Lee", "statement": "May be used as a live presenter."}
    portrait = {"image": ("me.png", png_bytes((64, 64)))}
    r = client.post("/v1/live/avatars", files=portrait, data=consent, headers=tenants.a)
    assert r.status_code == 201, r.text
    avatar_id = r.json()["id"]
    r = client.post("/v1/exports", json={"creative_ids": [a.creative_id], "review": "any"}, headers=tenants.a)
    assert r.status_code == 201, r.text
    export_id = r.json()["id"]
    agent = yaml.safe_load((REPO / "adloom/serving/samples/agent_home_renovation.yaml").read_text(encoding="utf-8"))
    assert client.put("/v1/agents/reno", json=agent | {"id": "reno"}, headers=tenants.a).status_code == 200
    r = client.post("/v1/agents/reno/messages", json={"user_id": "u1", "text": "电话13812345678"}, headers=tenants.a)
    assert r.status_code == 200, r.text
    conv_id = r.json()["conversation_id"]
    by_id = {
        "/v1/briefs/{brief_id}": [("GET", f"/v1/briefs/{a.brief_id}")],
        "/v1/uploads/{upload_id}": [("GET", f"/v1/uploads/{a.upload_id}")],
        "/v1/scripts/{script_id}": [("GET", f"/v1/scripts/{a.script_ids[0]}")],
        "/v1/batches/{batch_id}": [("GET", f"/v1/batches/{a.batch_id}")],
        "/v1/batches/{batch_id}/cancel": [("POST", f"/v1/batches/{a.batch_id}/cancel")],
        "/v1/batches/{batch_id}/items": [("GET", f"/v1/batches/{a.batch_id}/items")],
        "/v1/batches/{batch_id}/results": [("GET", f"/v1/batches/{a.batch_id}/results")],
        "/v1/batches/{batch_id}/errors": [("GET", f"/v1/batches/{a.batch_id}/errors")],
        "/v1/creatives/{creative_id}": [("GET", f"/v1/creatives/{a.creative_id}")],
        "/v1/creatives/{creative_id}/{kind}": [
            ("GET", f"/v1/creatives/{a.creative_id}/{kind}") for kind in ("video", "cover", "subtitles", "manifest")
        ],
        "/v1/reports/{report_id}": [("GET", f"/v1/reports/{a.report_id}")],
        "/v1/campaigns/{campaign_id}/metrics": [("GET", f"/v1/campaigns/{BRIEF['campaign_id']}/metrics")],
        "/v1/library/items/{item_id}": [("GET", "/v1/library/items/lib_acme_only")],
        "/v1/webhook_endpoints/{endpoint_id}": [
            ("GET", f"/v1/webhook_endpoints/{a.endpoint_id}"),
            ("DELETE", f"/v1/webhook_endpoints/{a.endpoint_id}"),
        ],
        "/v1/webhook_endpoints/{endpoint_id}/deliveries": [
            ("GET", f"/v1/webhook_endpoints/{a.endpoint_id}/deliveries")
        ],
        "/v1/live/rooms/{room_id}": [("GET", f"/v1/live/rooms/{room_id}"), ("DELETE", f"/v1/live/rooms/{room_id}")],
        "/v1/live/rooms/{room_id}/start": [("POST", f"/v1/live/rooms/{room_id}/start")],
        "/v1/live/rooms/{room_id}/stop": [("POST", f"/v1/live/rooms/{room_id}/stop")],
        "/v1/live/rooms/{room_id}/comments": [
            ("POST", f"/v1/live/rooms/{room_id}/comments", {"viewer": "b", "text": "Oat Crunch price?"})
        ],
        "/v1/live/rooms/{room_id}/say": [("POST", f"/v1/live/rooms/{room_id}/say", {"text": "hello"})],
        "/v1/creatives/{creative_id}/review": [
            ("POST", f"/v1/creatives/{a.creative_id}/review", {"decision": "approved"})
        ],
        "/v1/exports/{export_id}": [("GET", f"/v1/exports/{export_id}")],
        "/v1/live/knowledge/{kb_id}": [("GET", f"/v1/live/knowledge/{kb_id}")],
        "/v1/live/avatars/{avatar_id}/thumbnail.png": [("GET", f"/v1/live/avatars/{avatar_id}/thumbnail.png")],
        "/v1/live/rooms/{room_id}/preview": [("POST", f"/v1/live/rooms/{room_id}/preview")],
        "/v1/live/rooms/{room_id}/preview.mp4": [("GET", f"/v1/live/rooms/{room_id}/preview.mp4")],
        "/v1/live/rooms/{room_id}/hls/{name}": [("GET", f"/v1/live/rooms/{room_id}/hls/index.m3u8")],
        "/v1/live/rooms/{room_id}/snapshot.jpg": [("GET", f"/v1/live/rooms/{room_id}/snapshot.jpg")],
        "/v1/live/rooms/{room_id}/events": [("GET", f"/v1/live/rooms/{room_id}/events")],
        "/v1/agents/{agent_id}": [("GET", "/v1/agents/reno"), ("DELETE", "/v1/agents/reno")],
        "/v1/agents/{agent_id}/messages": [("POST", "/v1/agents/reno/messages", {"user_id": "b", "text": "hi"})],
        "/v1/conversations/{conversation_id}": [("GET", f"/v1/conversations/{conv_id}")],
        "/v1/conversations/{conversation_id}/replies": [("GET", f"/v1/conversations/{conv_id}/replies")],
        "/v1/conversations/{conversation_id}/handover": [("POST", f"/v1/conversations/{conv_id}/handover")],
        "/v1/conversations/{conversation_id}/messages": [
            ("POST", f"/v1/conversations/{conv_id}/messages", {"text": "hi"})
        ],
    }
    # the deployment's voices are shared by every tenant: no tenant object behind their ids
    shared = {"/v1/live/voices/{voice_id}/preview"}
    # every route with an id in its path is in the table above: a new one needs its tenancy check here
    templated = {p for p in client.get("/openapi.json").json()["paths"] if "{" in p}
    assert templated == set(by_id) | shared
    for calls in by_id.values():
        for method, url, *body in calls:
            for range_header in ({}, {"Range": "bytes=0-99"}):
                r = client.request(method, url, headers={**tenants.b, **range_header}, json=body[0] if body else None)
                assert r.status_code == 404, (method, url, r.text)
                assert r.json()["error"]["type"] == "not_found_error"
                assert b"ftyp" not in r.content and "Oat Crunch" not in r.text
    # ids inside bodies: ranking, scripts and batches for A's objects are 404s too
    for body in ({"creative_ids": [a.creative_id]}, {"script_ids": [a.script_ids[0]]}):
        assert client.post("/v1/ranking/score", json=body, headers=tenants.b).status_code == 404
    assert client.post("/v1/scripts", json={"brief_id": a.brief_id, "n": 1}, headers=tenants.b).status_code == 404
    assert client.post("/v1/batches", json={"brief_id": a.brief_id, "n": 2}, headers=tenants.b).status_code == 404
    line = json.dumps({"custom_id": "x", "brief_id": a.brief_id})
    r = client.post("/v1/batches", content=line, headers={**tenants.b, "Content-Type": "application/jsonl"})
    assert r.status_code == 400 and "no brief" in r.json()["error"]["message"]
    r = client.post("/v1/reports", json={"campaign_id": BRIEF["campaign_id"]}, headers=tenants.b)
    assert r.status_code == 404
    r = client.post(
        "/v1/briefs", json={**BRIEF, "assets": [{"kind": "image", "path": f"upload:{a.upload_id}"}]}, headers=tenants.b
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "assets[0].path"
    ev = {"event_id": "b1", "creative_id": a.creative_id, "kind": "impression", "ts": "2026-05-01T00:00:00Z"}
    assert client.post("/v1/feedback", json=[ev], headers=tenants.b).json()["rejected"] == 1
    # listing: B sees none of A's objects, and A's ids are no cursor for B
    for path in (
        "/v1/briefs",
        "/v1/scripts",
        "/v1/creatives",
        "/v1/batches",
        "/v1/webhook_endpoints",
        "/v1/live/rooms",
        "/v1/campaigns",
        "/v1/agents",
        "/v1/conversations",
        "/v1/leads",
    ):
        assert client.get(path, headers=tenants.b).json()["data"] == [], path
    for path, after in (
        ("/v1/briefs", a.brief_id),
        ("/v1/creatives", a.creative_id),
        ("/v1/batches", a.batch_id),
        ("/v1/live/rooms", room_id),
    ):
        r = client.get(path, params={"after": after}, headers=tenants.b)
        assert r.status_code == 400 and r.json()["error"]["param"] == "after"
    # nothing of A's changed: the batch B tried to cancel still waits
    assert client.get(f"/v1/batches/{a.batch_id}", headers=tenants.a).json()["status"] == "validating"
    assert client.get(f"/v1/creatives/{a.creative_id}/video", headers=tenants.a).status_code == 200
    assert client.get(f"/v1/webhook_endpoints/{a.endpoint_id}", headers=tenants.a).status_code == 200  # not deleted
    assert client.get(f"/v1/live/rooms/{room_id}", headers=tenants.a).json()["running"] is False  # kept, not started
    assert client.get(f"/v1/conversations/{conv_id}", headers=tenants.a).json()["status"] == "open"  # not taken over
    assert client.get("/v1/agents/reno", headers=tenants.a).status_code == 200  # not deleted


def test_keys_table_holds_no_plain_key(root_store: Store, tenants: Tenants, settings: Settings):
    with root_store.session() as s:
        rows = list(s.scalars(select(ApiKeyRow)))
    assert len(rows) == 2
    for row in rows:
        values = " ".join(str(v) for v in vars(row).values())
        assert tenants.a_key not in values and tenants.b_key not in values
        assert len(row.key_hash) == 64 and row.prefix in (tenants.a_key[:12], tenants.b_key[:12])
    if root_store.engine.dialect.name != "sqlite":
        return
    db_file = Path(settings.db_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))  # the file and its WAL
    assert tenants.a_key.encode() not in raw and tenants.b_key.encode() not in raw
