"""Bad input: each a 4xx in the one error shape naming the problem, and nothing stored half-way."""

from __future__ import annotations

import io
import json
import logging
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.types import Tenant, TenantQuotas
from tests.serving.api.conftest import BRIEF, Tenants, png_bytes

MB = 1_048_576


def _error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"type", "code", "message", "param"} and err["message"]
    if code is not None:
        assert err["code"] == code
    return err


def _nothing_stored(client: TestClient, headers: dict[str, str], settings: Settings, tenant: str = "acme") -> None:
    for path in ("/v1/briefs", "/v1/batches", "/v1/scripts"):
        assert client.get(path, headers=headers).json()["data"] == [], path
    uploads = settings.home / "tenants" / tenant / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_malformed_json_names_line_and_column(client: TestClient, tenants: Tenants, settings: Settings):
    body = b'{\n  "industry": "food",\n  "product": {"name": "x",}\n}'
    r = client.post("/v1/briefs", content=body, headers={**tenants.a, "Content-Type": "application/json"})
    err = _error(r, 400, "invalid_json")
    assert "line 3 column" in err["message"] and err["param"] == "body"
    r = client.post("/v1/batches", content=b'{"brief_id": ', headers={**tenants.a, "Content-Type": "application/json"})
    assert "line 1 column 14" in _error(r, 400, "invalid_json")["message"]
    r = client.post("/v1/feedback", content=b"[{]", headers={**tenants.a, "Content-Type": "application/json"})
    _error(r, 400, "invalid_json")
    _nothing_stored(client, tenants.a, settings)


@pytest.mark.parametrize(
    ("path", "body", "param", "words"),
    [
        ("/v1/briefs", {**BRIEF, "duration_s": "long"}, "duration_s", "valid number"),
        ("/v1/briefs", {**BRIEF, "product": {**BRIEF["product"], "price": [1]}}, "product.price", "valid number"),
        ("/v1/briefs", {**BRIEF, "industry": "toys"}, "industry", "'food'"),
        ("/v1/briefs", {**BRIEF, "product": {**BRIEF["product"], "selling_points": "x"}}, "product.selling_points", ""),
        ("/v1/batches", {"brief_id": "brf_x", "n": "ten"}, "n", "valid integer"),
        ("/v1/batches", {"brief_id": "brf_x", "n": 0}, "n", "greater than or equal to 1"),
        ("/v1/scripts", {"brief_id": 5, "n": 1}, "brief_id", "valid string"),
        ("/v1/reports", {"campaign_id": "c", "format": "docx"}, "format", "'html'"),
    ],
)
def test_wrong_types_name_the_field(
    client: TestClient, tenants: Tenants, settings: Settings, path: str, body: Any, param: str, words: str
):
    err = _error(client.post(path, json=body, headers=tenants.a), 400, "invalid_request")
    assert err["param"] == param and param in err["message"] and words in err["message"]
    _nothing_stored(client, tenants.a, settings)


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/briefs", {**BRIEF, "budget": 100}, "budget"),
        ("/v1/briefs", {**BRIEF, "product": {**BRIEF["product"], "colour": "red"}}, "product.colour"),
        ("/v1/batches", {"brief_id": "brf_x", "n": 1, "priority": "high"}, "priority"),
        ("/v1/scripts", {"brief_id": "brf_x", "n": 1, "temperature": 2}, "temperature"),
        ("/v1/ranking/score", {"creative_ids": ["crv_x"], "top": 3}, "top"),
    ],
)
def test_unknown_fields_are_rejected(
    client: TestClient, tenants: Tenants, settings: Settings, path: str, body: Any, param: str
):
    err = _error(client.post(path, json=body, headers=tenants.a), 400, "invalid_request")
    assert err["param"] == param and "unknown field" in err["message"]
    _nothing_stored(client, tenants.a, settings)


def test_a_100_mb_body_is_refused_on_its_declared_length(client: TestClient, tenants: Tenants, settings: Settings):
    big = b" " * (100 * MB)
    for path in ("/v1/briefs", "/v1/batches", "/v1/feedback"):
        r = client.post(path, content=big, headers={**tenants.a, "Content-Type": "application/json"})
        assert "50 MB" in _error(r, 413, "body_too_large")["message"]
    _nothing_stored(client, tenants.a, settings)


@pytest.mark.parametrize("idempotency", [False, True])
def test_a_streamed_100_mb_body_is_cut_off_without_being_buffered(
    app: FastAPI, tenants: Tenants, settings: Settings, idempotency: bool
):
    """No Content-Length: the bytes are counted as they arrive and the server stops reading at the limit."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b" " * MB, "more_body": pulled < 100}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"authorization", tenants.a["Authorization"].encode())]
    if idempotency:
        headers.append((b"idempotency-key", b"big-1"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/briefs",
        "raw_path": b"/v1/briefs",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "body_too_large"
    assert pulled == 51  # stopped at the first chunk past 50 MB, never read the other 49


def test_an_image_upload_that_is_html_is_refused_by_content(client: TestClient, tenants: Tenants, settings: Settings):
    html = b"<!doctype html><html><script>alert(1)</script></html>"
    r = client.post("/v1/uploads", files={"file": ("cute-cat.png", html, "image/png")}, headers=tenants.a)
    err = _error(r, 415, "unsupported_content")
    assert "'cute-cat.png'" in err["message"] and "HTML" in err["message"] and err["param"] == "file"
    _nothing_stored(client, tenants.a, settings)


def test_a_zip_bomb_is_refused_before_anything_unpacks_it(client: TestClient, tenants: Tenants, settings: Settings):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("inner.png", b"\0" * (64 * MB))  # 64 MB of zeros in ~64 KB
    data = buf.getvalue()
    assert len(data) < MB
    for name in ("bomb.zip", "photo.png"):
        r = client.post("/v1/uploads", files={"file": (name, data, "application/zip")}, headers=tenants.a)
        assert "zip archive" in _error(r, 415, "unsupported_content")["message"]
    r = client.post("/v1/library/import", files={"file": ("lib.csv", data, "text/csv")}, headers=tenants.a)
    _error(r, 400)
    _nothing_stored(client, tenants.a, settings)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` pixels (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_a_decompression_bomb_image_is_refused_by_its_pixel_count(
    client: TestClient, tenants: Tenants, settings: Settings
):
    r = client.post(
        "/v1/uploads", files={"file": ("huge.png", _png_header_only(100_000, 100_000), "image/png")}, headers=tenants.a
    )
    assert "pixel limit" in _error(r, 400)["message"]
    r = client.post(
        "/v1/uploads", files={"file": ("broken.png", _png_header_only(64, 64), "image/png")}, headers=tenants.a
    )
    assert "cannot be decoded" in _error(r, 400)["message"]
    r = client.post("/v1/uploads", files={"file": ("empty.png", b"", "image/png")}, headers=tenants.a)
    assert "empty" in _error(r, 400)["message"]
    _nothing_stored(client, tenants.a, settings)


@pytest.mark.parametrize(
    "path",
    ["../../etc/passwd", "/etc/passwd", "upload:../../etc/passwd", "file:///etc/passwd", "upload:upl_000000000000"],
)
def test_a_path_in_an_asset_field_must_name_an_upload(
    client: TestClient, tenants: Tenants, settings: Settings, path: str
):
    body = {**BRIEF, "assets": [{"kind": "image", "path": path}]}
    err = _error(client.post("/v1/briefs", json=body, headers=tenants.a), 400)
    assert err["param"] == "assets[0].path" and "POST /v1/uploads" in err["message"]
    assert "root:" not in err["message"]
    _nothing_stored(client, tenants.a, settings)


TEXT = "Ωmega 速干 🧴🫧👩🏽‍🔬 עברית ﷺ e\u0301 🇨🇳"


def test_unicode_and_emoji_survive_every_text_field(client: TestClient, tenants: Tenants, root_store: Store):
    r = client.post("/v1/uploads", files={"file": (f"{TEXT}.png", png_bytes(), "image/png")}, headers=tenants.a)
    assert r.status_code == 201 and r.json()["filename"] == f"{TEXT}.png"
    upload_id = r.json()["id"]
    brief = {
        "industry": "beauty",
        "campaign_id": "🎯 春季",
        "audience": TEXT,
        "tone": TEXT,
        "notes": TEXT,
        "voice": "🎙️ voice",
        "product": {
            "name": "速干 Ωmega 🧴",
            "brand": "品牌 ✨",
            "description": TEXT,
            "selling_points": [TEXT, "保湿 💧"],
            "offer": TEXT,
        },
        "assets": [{"kind": "image", "path": f"upload:{upload_id}", "description": TEXT, "license": TEXT}],
    }
    r = client.post("/v1/briefs", json=brief, headers=tenants.a)
    assert r.status_code == 201, r.text
    got = client.get(f"/v1/briefs/{r.json()['id']}", headers=tenants.a).json()
    for key in ("campaign_id", "audience", "tone", "notes", "voice"):
        assert got[key] == brief[key]
    assert got["product"] == {**brief["product"], "price": None, "currency": "CNY"}
    assert got["assets"][0]["description"] == TEXT and got["assets"][0]["license"] == TEXT
    r = client.post("/v1/scripts", json={"brief_id": got["id"], "n": 1}, headers=tenants.a)
    assert r.status_code == 201, r.text
    meta = {"客户": TEXT, "🏷️": "✓"}
    r = client.post("/v1/batches", json={"brief_id": got["id"], "n": 1, "metadata": meta}, headers=tenants.a)
    assert r.status_code == 201 and r.json()["metadata"] == meta
    line = json.dumps({"custom_id": "行-🧪-1", "brief_id": got["id"]}, ensure_ascii=False).encode()
    r = client.post("/v1/batches", content=line, headers={**tenants.a, "Content-Type": "application/jsonl"})
    bid = r.json()["id"]
    items = client.get(f"/v1/batches/{bid}/items", headers=tenants.a).json()["data"]
    assert items[0]["custom_id"] == "行-🧪-1"
    r = client.get("/v1/library/search", params={"q": TEXT}, headers=tenants.a)
    assert r.status_code == 200
    assert root_store.scoped("acme").get_brief(got["id"]).product.description == TEXT


def test_unknown_revoked_and_malformed_keys_are_401_and_never_echoed(
    client: TestClient, tenants: Tenants, root_store: Store, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    fake = "adl_" + "x" * 43
    info, real = root_store.create_api_key("gamma")
    root_store.revoke_api_key(info.id)
    for headers in (
        {},
        {"Authorization": f"Bearer {fake}"},
        {"Authorization": f"Bearer {real}"},
        {"Authorization": f"Basic {fake}"},
        {"Authorization": "Bearer "},
    ):
        r = client.get("/v1/briefs", headers=headers)
        err = _error(r, 401)
        assert err["type"] == "authentication_error" and r.headers["www-authenticate"] == "Bearer"
        assert fake not in r.text and real not in r.text
        r = client.post("/v1/briefs", json=BRIEF, headers=headers)
        assert r.status_code == 401
    assert fake not in caplog.text and real not in caplog.text
    assert client.get("/v1/briefs", headers=tenants.b).json()["data"] == []


def test_rate_limit_answers_429_with_retry_after(client: TestClient, root_store: Store):
    _, key = root_store.create_api_key("slow")
    root_store.update_tenant(Tenant(id="slow", name="slow", quotas=TenantQuotas(requests_per_minute=3)))
    headers = {"Authorization": f"Bearer {key}"}
    codes = [client.get("/v1/briefs", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/v1/briefs", headers=headers)
    err = _error(r, 429, "rate_limited")
    assert err["type"] == "rate_limit_error" and 1 <= int(r.headers["retry-after"]) <= 20
    assert client.get("/v1/health").status_code == 200  # health is not rate limited


def test_quota_of_concurrent_batches_answers_429(client: TestClient, root_store: Store, settings: Settings):
    _, key = root_store.create_api_key("small")
    root_store.update_tenant(Tenant(id="small", name="small", quotas=TenantQuotas(concurrent_batches=1)))
    headers = {"Authorization": f"Bearer {key}"}
    brief_id = client.post("/v1/briefs", json=BRIEF, headers=headers).json()["id"]
    assert client.post("/v1/batches", json={"brief_id": brief_id, "n": 2}, headers=headers).status_code == 201
    r = client.post("/v1/batches", json={"brief_id": brief_id, "n": 2}, headers=headers)
    err = _error(r, 429, "quota_exceeded")
    assert "at once" in err["message"] and int(r.headers["retry-after"]) >= 1
    assert len(client.get("/v1/batches", headers=headers).json()["data"]) == 1


def test_jsonl_with_one_bad_line_among_1000_runs_the_rest(client: TestClient, tenants: Tenants):
    brief_id = client.post("/v1/briefs", json=BRIEF, headers=tenants.a).json()["id"]
    lines = [json.dumps({"custom_id": f"req-{i}", "brief_id": brief_id, "seed": i}) for i in range(1000)]
    lines[417] = json.dumps({"custom_id": "req-417", "brief_id": brief_id, "height": "tall"})
    r = client.post(
        "/v1/batches", content="\n".join(lines).encode(), headers={**tenants.a, "Content-Type": "application/jsonl"}
    )
    assert r.status_code == 201, r.text
    counts = r.json()["request_counts"]
    assert counts == {"total": 1000, "completed": 0, "failed": 1}
    errors = [
        json.loads(x) for x in client.get(f"/v1/batches/{r.json()['id']}/errors", headers=tenants.a).text.splitlines()
    ]
    assert len(errors) == 1 and errors[0]["custom_id"] == "req-417"
    assert "line 418" in errors[0]["error"]["message"] and "height" in errors[0]["error"]["message"]
    pending = client.get(
        f"/v1/batches/{r.json()['id']}/items", params={"status": "pending", "limit": 100}, headers=tenants.a
    ).json()
    assert len(pending["data"]) == 100 and pending["has_more"]


def test_jsonl_where_every_line_is_bad_is_400_and_stores_nothing(
    client: TestClient, tenants: Tenants, settings: Settings, tmp_path: Path
):
    body = b'{"custom_id": "a"}\nnot json\n{"custom_id": "c", "brief_id": "brf_nope"}\n'
    r = client.post("/v1/batches", content=body, headers={**tenants.a, "Content-Type": "application/jsonl"})
    err = _error(r, 400)
    assert "no line" in err["message"] and "line 2" in err["message"] and err["param"] == "body"
    r = client.post("/v1/batches", content=b"\n\n", headers={**tenants.a, "Content-Type": "application/jsonl"})
    _error(r, 400)
    r = client.post("/v1/batches", content=b"brief_id=x", headers={**tenants.a, "Content-Type": "text/plain"})
    _error(r, 415)
    _nothing_stored(client, tenants.a, settings)


def test_text_longer_than_its_column_is_a_400_on_every_database(client: TestClient, tenants: Tenants):
    """PostgreSQL enforces VARCHAR lengths that SQLite ignores: the limits are checked before storage."""
    err = _error(client.post("/v1/briefs", json={**BRIEF, "campaign_id": "c" * 65}, headers=tenants.a), 400)
    assert err["param"] == "campaign_id" and "64 characters" in err["message"]
    rows = "id,title,industry,platform,language,aspect,script_text\n" + "x" * 65 + ",T,food,tiktok,en,9:16,Hi. Buy.\n"
    r = client.post("/v1/library/import", files={"file": ("mine.csv", rows.encode(), "text/csv")}, headers=tenants.a)
    err = _error(r, 400)
    assert "row 1: id" in err["message"] and "'mine.csv'" in err["message"] and "tmp_" not in err["message"]


def test_an_unexpected_failure_is_a_500_with_a_request_id_and_no_secret_in_answer_or_log(
    app: FastAPI, client: TestClient, tenants: Tenants, caplog: pytest.LogCaptureFixture
):
    def leaky() -> None:
        raise RuntimeError(
            f"upstream refused Authorization: Bearer {tenants.a_key} at rtmp://cdn.example/live/sk_live_9"
        )

    app.add_api_route("/v1/test/leaky", leaky, methods=["GET"])
    caplog.set_level(logging.ERROR, logger="adloom.api")
    r = client.get("/v1/test/leaky", headers=tenants.a)
    err = _error(r, 500, "internal_error")
    assert r.headers["x-request-id"] in err["message"] and "upstream" not in r.text
    assert "RuntimeError" in caplog.text and r.headers["x-request-id"] in caplog.text
    assert tenants.a_key not in caplog.text and "sk_live_9" not in caplog.text
