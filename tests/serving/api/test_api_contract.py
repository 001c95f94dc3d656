"""Contract tests: every route of the batch API on a real app over a real SQLite store, answered in the
documented shapes (the core types, pages, the one error shape)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from adloom.core.settings import Settings
from adloom.core.storage import Store, webhooks
from adloom.core.types import Batch, BatchItem, Brief, Creative, Page, Script, Upload
from adloom.serving.api.app import openapi_json
from tests.serving.api.conftest import BRIEF, Tenants
from tests.serving.api.seed import Seeded, seed_tenant

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def seeded(client: TestClient, tenants: Tenants, root_store: Store, settings: Settings) -> Seeded:
    return seed_tenant(client, tenants.a, root_store, settings, "acme")


def test_health_needs_no_key_and_reports_the_database(client: TestClient):
    r = client.get("/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": "0.1.0", "database": "ok"}
    assert r.headers["x-request-id"].startswith("req_")


def test_openapi_served_equals_the_committed_file(client: TestClient):
    committed = json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))
    served = client.get("/openapi.json").json()
    assert served == committed, "regenerate it: python -m adloom.serving.api openapi > docs/openapi.json"
    assert json.loads(openapi_json()) == committed
    # every error answer is documented in the one error shape, never FastAPI's 422 body
    for path, item in committed["paths"].items():
        for method, op in item.items():
            assert "422" not in op["responses"] or "ErrorBody" in json.dumps(op["responses"]["422"]), (path, method)
            if path.startswith("/v1/") and path != "/v1/health":
                assert op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")


def test_briefs_create_get_list_paginate(client: TestClient, tenants: Tenants):
    ids = []
    for i in range(3):
        body = {**BRIEF, "id": "brf_mine", "notes": f"variant {i}"}
        r = client.post("/v1/briefs", json=body, headers=tenants.a)
        assert r.status_code == 201, r.text
        brief = Brief.model_validate(r.json())
        assert brief.id.startswith("brf_") and brief.id != "brf_mine"  # the server assigns ids
        assert brief.product.name == "Oat Crunch Bar" and brief.notes == f"variant {i}"
        ids.append(brief.id)
    assert Brief.model_validate(client.get(f"/v1/briefs/{ids[1]}", headers=tenants.a).json()).id == ids[1]
    page = Page[Brief].model_validate(client.get("/v1/briefs", params={"limit": 2}, headers=tenants.a).json())
    assert [b.id for b in page.data] == [ids[2], ids[1]] and page.has_more  # newest first
    assert page.first_id == ids[2] and page.last_id == ids[1]
    rest = Page[Brief].model_validate(
        client.get("/v1/briefs", params={"limit": 2, "after": page.last_id}, headers=tenants.a).json()
    )
    assert [b.id for b in rest.data] == [ids[0]] and not rest.has_more
    r = client.get("/v1/briefs", params={"limit": 101}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"
    r = client.get("/v1/briefs", params={"after": "brf_nope"}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "after"


def test_uploads_and_briefs_naming_them(client: TestClient, tenants: Tenants, seeded: Seeded, settings: Settings):
    up = Upload.model_validate(client.get(f"/v1/uploads/{seeded.upload_id}", headers=tenants.a).json())
    assert (up.kind, up.format, up.filename) == ("image", "png", "product.png")
    stored = settings.home / "tenants" / "acme" / "uploads" / f"{up.id}.png"
    assert stored.is_file() and stored.stat().st_size == up.size
    brief = client.get(f"/v1/briefs/{seeded.brief_id}", headers=tenants.a).json()
    assert brief["assets"][0]["path"] == f"upload:{up.id}"
    # an image upload used as a video asset is refused, naming the asset
    bad = {**BRIEF, "assets": [{"kind": "video", "path": f"upload:{up.id}"}]}
    r = client.post("/v1/briefs", json=bad, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "assets[0].path"


def test_scripts_written_now_stored_and_listed(client: TestClient, tenants: Tenants, seeded: Seeded):
    r = client.post("/v1/scripts", json={"brief_id": seeded.brief_id, "n": 3, "seed": 5}, headers=tenants.a)
    assert r.status_code == 201, r.text
    body = r.json()
    scripts = [Script.model_validate(x) for x in body["data"]]
    assert len(scripts) == 3 and all(s.brief_id == seeded.brief_id for s in scripts)
    assert isinstance(body["brief_findings"], list) and isinstance(body["dropped"], list)
    got = Script.model_validate(client.get(f"/v1/scripts/{scripts[0].id}", headers=tenants.a).json())
    assert got.hook == scripts[0].hook
    page = client.get("/v1/scripts", params={"brief_id": seeded.brief_id, "limit": 100}, headers=tenants.a).json()
    assert {s.id for s in scripts} | set(seeded.script_ids) == {x["id"] for x in page["data"]}
    r = client.post("/v1/scripts", json={"brief_id": seeded.brief_id, "n": 6}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "n"
    assert "POST /v1/batches" in r.json()["error"]["message"]


def test_batches_json_jsonl_multipart_items_results_errors_cancel(client: TestClient, tenants: Tenants, seeded: Seeded):
    batch = Batch.model_validate(client.get(f"/v1/batches/{seeded.batch_id}", headers=tenants.a).json())
    assert batch.brief_id == seeded.brief_id and batch.request_counts.total == 3
    assert batch.status.value == "validating" and "validating" in batch.timestamps
    items = Page[BatchItem].model_validate(
        client.get(f"/v1/batches/{seeded.batch_id}/items", params={"limit": 2}, headers=tenants.a).json()
    )
    assert [i.custom_id for i in items.data] == ["creative-1", "creative-2"] and items.has_more
    lines = [
        {"custom_id": "a", "brief_id": seeded.brief_id, "height": 360},
        {"custom_id": "b", "brief_id": seeded.brief_id, "aspect": "1:1"},
        {"custom_id": "c", "brief_id": "brf_unknown000"},
    ]
    data = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n"
    r = client.post("/v1/batches", content=data, headers={**tenants.a, "Content-Type": "application/jsonl"})
    assert r.status_code == 201, r.text
    jb = Batch.model_validate(r.json())
    assert (jb.request_counts.total, jb.request_counts.failed) == (4, 2)
    r = client.post(
        "/v1/batches",
        files={"file": ("reqs.jsonl", json.dumps(lines[0]).encode(), "application/jsonl")},
        headers=tenants.a,
    )
    assert r.status_code == 201 and r.json()["request_counts"]["total"] == 1
    r = client.get(f"/v1/batches/{jb.id}/errors", headers=tenants.a)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/jsonl")
    errors = [json.loads(x) for x in r.text.splitlines()]
    assert {e["custom_id"] for e in errors} == {"c", "line-4"}
    assert {e["error"]["code"] for e in errors} == {"brief_not_found", "invalid_json"}
    r = client.get(f"/v1/batches/{jb.id}/results", headers=tenants.a)
    assert r.status_code == 200 and r.text == ""  # nothing rendered yet (no worker in this test)
    listed = client.get("/v1/batches", headers=tenants.a).json()
    assert [b["id"] for b in listed["data"]][-1] == seeded.batch_id and len(listed["data"]) == 3
    r = client.post(f"/v1/batches/{jb.id}/cancel", headers=tenants.a)
    assert r.status_code == 200 and r.json()["status"] in ("cancelling", "cancelled")
    pending = client.get(f"/v1/batches/{jb.id}/items", params={"status": "cancelled"}, headers=tenants.a).json()
    assert {i["custom_id"] for i in pending["data"]} == {"a", "b"}


def test_creatives_list_get_and_downloads_with_range(client: TestClient, tenants: Tenants, seeded: Seeded):
    page = Page[Creative].model_validate(
        client.get(
            "/v1/creatives", params={"brief_id": seeded.brief_id, "status": "rendered"}, headers=tenants.a
        ).json()
    )
    assert [c.id for c in page.data] == [seeded.creative_id]
    assert client.get("/v1/creatives", params={"status": "launched"}, headers=tenants.a).json()["data"] == []
    c = Creative.model_validate(client.get(f"/v1/creatives/{seeded.creative_id}", headers=tenants.a).json())
    full = client.get(f"/v1/creatives/{c.id}/video", headers=tenants.a)
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    assert full.content[4:8] == b"ftyp" and len(full.content) == Path(str(c.video_path)).stat().st_size
    part = client.get(f"/v1/creatives/{c.id}/video", headers={**tenants.a, "Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100 and part.content == full.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(full.content)}"
    assert client.get(f"/v1/creatives/{c.id}/cover", headers=tenants.a).content.startswith(b"\x89PNG")
    srt = client.get(f"/v1/creatives/{c.id}/subtitles", headers=tenants.a)
    assert "Oat Crunch Bar 🍫" in srt.content.decode("utf-8")
    assert client.get(f"/v1/creatives/{c.id}/manifest", headers=tenants.a).json() == {"aigc": True}
    r = client.get(f"/v1/creatives/{c.id}/thumbnail", headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "kind"


def test_download_refuses_a_path_outside_the_tenant_folder(
    client: TestClient, tenants: Tenants, seeded: Seeded, root_store: Store, tmp_path: Path
):
    store = root_store.scoped("acme")
    c = store.get_creative(seeded.creative_id)
    outside = tmp_path / "elsewhere.mp4"
    outside.write_bytes(b"\x00\x00\x00\x18ftypmp42secret")
    store.save_creatives([c.model_copy(update={"video_path": str(outside)})])
    r = client.get(f"/v1/creatives/{c.id}/video", headers=tenants.a)
    assert r.status_code == 404 and "ADLOOM_ALLOWED_ROOTS" in r.json()["error"]["message"]
    assert b"secret" not in r.content


def test_library_search_and_import(client: TestClient, tenants: Tenants):
    r = client.get("/v1/library/search", params={"q": "protein snack bar", "industry": "food"}, headers=tenants.a)
    assert r.status_code == 200
    hits = r.json()["data"]
    assert 1 <= len(hits) <= 8 and all(h["industry"] == "food" for h in hits)
    rows = (
        "title,industry,platform,language,aspect,script_text,impressions,clicks,conversions\n"
        'Oat bar morning,food,tiktok,en,9:16,"Skipped breakfast again? 10 g protein in your pocket. Grab one today.",'
        "1000,30,3\n"
        "Broken row,food,nowhere,en,9:16,Hi there. Buy it.,10,1,0\n"
    )
    r = client.post("/v1/library/import", files={"file": ("lib.csv", rows.encode(), "text/csv")}, headers=tenants.a)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["imported"] == 1 and body["skipped"] == 1
    assert body["errors"][0]["row"] == 2 and "platform" in body["errors"][0]["message"]
    assert body["library_size"] == 401  # the sample library (400, seeded by the search) + 1
    r = client.get("/v1/library/search", params={"q": "Skipped breakfast oat bar", "limit": 3}, headers=tenants.a)
    assert "Oat bar morning" in [h["title"] for h in r.json()["data"]]
    r = client.post("/v1/library/import", files={"file": ("lib.txt", b"x", "text/plain")}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"


def test_feedback_json_jsonl_and_csv(client: TestClient, tenants: Tenants, seeded: Seeded):
    cid = seeded.creative_id
    events = [
        {"event_id": "e1", "creative_id": cid, "kind": "impression", "ts": "2026-05-01T10:00:00Z", "count": 100},
        {"event_id": "e2", "creative_id": cid, "kind": "click", "ts": "2026-05-01T10:00:01Z", "count": 5},
        {"event_id": "e3", "creative_id": "crv_nope", "kind": "click", "ts": "2026-05-01T10:00:01Z"},
        {"event_id": "e4", "creative_id": cid, "kind": "conversion", "ts": "2026-05-01T10:00:02Z", "count": 9},
    ]
    r = client.post("/v1/feedback", json=events, headers=tenants.a)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["counted"], body["rejected"], body["held"]) == (4, 2, 1, 1)
    assert {i["reason"] for i in body["issues"]} == {"unknown_creative", "funnel"}
    again = client.post("/v1/feedback", json={"events": events[:2]}, headers=tenants.a).json()
    assert again["duplicates"] == 2 and again["counted"] == 0
    jsonl = json.dumps({**events[0], "event_id": "e5"}) + "\n"
    r = client.post("/v1/feedback", content=jsonl, headers={**tenants.a, "Content-Type": "application/jsonl"})
    assert r.json()["counted"] == 1
    csv = f"event_id,creative_id,kind,ts,count\ne6,{cid},impression,2026-05-02T00:00:00Z,7\n"
    r = client.post("/v1/feedback", content=csv, headers={**tenants.a, "Content-Type": "text/csv"})
    assert r.json()["counted"] == 1
    r = client.post("/v1/feedback", content="x", headers={**tenants.a, "Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"]["param"] == "Content-Type"


def test_ranking_scores_creatives_scripts_and_inline_scripts(client: TestClient, tenants: Tenants, seeded: Seeded):
    for body in (
        {"creative_ids": [seeded.creative_id]},
        {"script_ids": seeded.script_ids},
        {"scripts": [client.get(f"/v1/scripts/{seeded.script_ids[0]}", headers=tenants.a).json()]},
    ):
        r = client.post("/v1/ranking/score", json=body, headers=tenants.a)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["method"] == "prior" and "no trained predictor" in out["note"]
        assert [c["rank"] for c in out["data"]] == list(range(1, len(out["data"]) + 1))
        assert all(c["reason"] and c["action"] == "launch" for c in out["data"])
    r = client.post(
        "/v1/ranking/score", json={"creative_ids": [seeded.creative_id], "script_ids": ["x"]}, headers=tenants.a
    )
    assert r.status_code == 400 and "exactly one" in r.json()["error"]["message"]


def test_reports_generate_and_fetch(client: TestClient, tenants: Tenants, seeded: Seeded):
    r = client.get(f"/v1/reports/{seeded.report_id}", headers=tenants.a)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["campaign_id"] == BRIEF["campaign_id"]
    r = client.post("/v1/reports", json={"campaign_id": BRIEF["campaign_id"], "format": "html"}, headers=tenants.a)
    assert r.status_code == 201 and r.json()["url"] == f"/v1/reports/{r.json()['id']}"
    html = client.get(r.json()["url"], headers=tenants.a)
    assert html.headers["content-type"].startswith("text/html") and "<html" in html.text.lower()
    r = client.post("/v1/reports", json={"campaign_id": BRIEF["campaign_id"], "format": "pdf"}, headers=tenants.a)
    assert r.status_code == 201, r.text
    pdf = client.get(r.json()["url"], headers=tenants.a)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    r = client.post("/v1/reports", json={"campaign_id": "cmp_none"}, headers=tenants.a)
    assert r.status_code == 404


def test_metrics_count_requests_by_route_template_and_batches_by_state(
    client: TestClient, tenants: Tenants, seeded: Seeded
):
    client.get(f"/v1/batches/{seeded.batch_id}", headers=tenants.a)
    text = client.get("/metrics").text
    assert 'adloom_http_requests_total{method="GET",route="/v1/batches/{batch_id}",status="200"}' in text
    assert seeded.batch_id not in text  # templates, never raw ids
    assert 'adloom_batches{state="validating"} 1.0' in text
    assert 'adloom_batch_items{state="pending"} 3.0' in text
    assert "adloom_http_request_duration_seconds_bucket" in text


def test_webhook_endpoints_secret_shown_once_list_deliveries_delete(
    client: TestClient, tenants: Tenants, seeded: Seeded, root_store: Store
):
    r = client.post("/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=tenants.a)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["events"] == ["*"] and created["secret"].startswith("whsec_")
    listed = client.get("/v1/webhook_endpoints", headers=tenants.a)
    assert [e["id"] for e in listed.json()["data"]] == [created["id"], seeded.endpoint_id]
    assert created["secret"] not in listed.text and "secret" not in listed.json()["data"][0]
    got = client.get(f"/v1/webhook_endpoints/{created['id']}", headers=tenants.a).json()
    assert got == {k: v for k, v in created.items() if k != "secret"}
    webhooks.enqueue_event(root_store.scoped("acme"), "batch.completed", {"id": seeded.batch_id})
    deliveries = client.get(f"/v1/webhook_endpoints/{created['id']}/deliveries", headers=tenants.a).json()["data"]
    assert len(deliveries) == 1 and deliveries[0]["status"] == "pending"
    assert deliveries[0]["id"].startswith("msg_")
    r = client.delete(f"/v1/webhook_endpoints/{created['id']}", headers=tenants.a)
    assert r.status_code == 200 and r.json()["id"] == created["id"]
    assert client.get(f"/v1/webhook_endpoints/{created['id']}", headers=tenants.a).status_code == 404
    r = client.post("/v1/webhook_endpoints", json={"url": "https://user:hunter2@example.com/h"}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "url" and "hunter2" not in r.text
    r = client.post("/v1/webhook_endpoints", json={"url": "ftp://example.com", "events": ["x"]}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"].startswith("events")


def test_scripts_with_the_llm_writer_call_the_configured_server(
    settings: Settings, root_store: Store, tenants: Tenants
):
    """writer=llm goes to the OpenAI-compatible server in the settings (here a loopback stand-in answering
    text the reviewer refuses, so every line falls back to the grammar): the model was asked, a script came back."""
    from adloom.serving.api import create_app
    from tests.conftest import LoopbackCompletions

    server = LoopbackCompletions(["not json at all"])
    try:
        llm_settings = settings.model_copy(
            update={"llm_backend": "openai", "llm_url": SecretStr(server.url), "llm_retries": 0}
        )
        with TestClient(create_app(llm_settings, root_store)) as c:
            brief_id = c.post("/v1/briefs", json=BRIEF, headers=tenants.a).json()["id"]
            r = c.post("/v1/scripts", json={"brief_id": brief_id, "n": 1, "writer": "llm"}, headers=tenants.a)
        assert r.status_code == 201, r.text
        script = Script.model_validate(r.json()["data"][0])
        assert server.calls >= 1 and script.provenance.backend == "openai"
    finally:
        server.close()
