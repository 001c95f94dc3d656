"""Live rooms over the API: a tenant defines a room, starts a real room process (media engine: rig avatar →
espeak-ng → H.264/AAC → an HLS preview in the tenant's folder, plus an RTMP push whose loopback server
refuses), reads its status, posts a comment, makes the presenter say a line (through the advertising-law
review), and stops it. Tenant B gets 404 for the room on every route; the stream key appears in no response
body, no server log and no room log; client file paths are refused.

SQLite only: rooms live in the tenant's folder, not in the database; the store's part (keys, uploads) runs on
PostgreSQL in the other API tests."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.serving.tenant_files import tenant_root
from tests.serving.api.conftest import Tenants, png_bytes

SAMPLES = Path(__file__).resolve().parents[3] / "adloom" / "serving" / "samples"
STREAM_KEY = "sk-LEAKCHECK-7c1d93ab52"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only (see the module notes)."""
    return f"sqlite:///{tmp_path}/adloom.db"


def room_body(**changes: Any) -> dict[str, Any]:
    """The bundled sample room as an API body: no id (the server assigns it), no file paths."""
    data = yaml.safe_load((SAMPLES / "room_zh.yaml").read_text(encoding="utf-8"))
    for name in ("id", "background"):
        data.pop(name)
    data.update(answer_llm=False, min_answer_gap_s=0.3, greet_every_s=0.5)
    data.update(changes)
    return data


def closed_port() -> int:
    """A loopback port nobody listens on: every RTMP connect to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """Every response body the test saw, to check that the stream key is in none of them."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.bodies = client, []

    def __call__(self, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
        r = self.client.request(method, url, headers=headers, **kwargs)
        self.bodies.append(f"{method} {url} {r.status_code} {r.text}")
        return r


def wait_for(get: Callable[[], dict[str, Any]], pred: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        row = get()
        if pred(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened: {json.dumps(row, ensure_ascii=False)[:1200]}")
        time.sleep(0.25)


def test_room_lifecycle_scoped_to_the_tenant(
    client: TestClient,
    tenants: Tenants,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "espeak")  # instant, offline; Kokoro is the session's own subject
    caplog.set_level(logging.DEBUG)
    call = Recorder(client)
    a, b = tenants.a, tenants.b
    r = call("POST", "/v1/uploads", a, files={"file": ("bg.png", (SAMPLES / "images" / "serum.png").read_bytes())})
    assert r.status_code == 201, r.text
    rtmp = f"rtmp://127.0.0.1:{closed_port()}/live/{STREAM_KEY}"
    body = room_body(engine="media", outputs=[rtmp, "hls"], background=f"upload:{r.json()['id']}")
    r = call("POST", "/v1/live/rooms", a, json=body)
    assert r.status_code == 201, r.text
    room = r.json()
    rid = room["id"]
    assert rid.startswith("room_") and room["running"] is False and room["engine"] == "media"
    assert room["outputs"] == [rtmp.replace(STREAM_KEY, "***").rsplit("/", 1)[0] + "/***", "hls"]
    folder = tenant_root(settings, "acme") / "live" / rid
    stored = yaml.safe_load((folder / "room.yaml").read_text(encoding="utf-8"))
    assert stored["outputs"] == [rtmp, "hls:preview"] and stored["background"] == "assets/background.png"
    assert (folder / "room.yaml").stat().st_mode & 0o777 == 0o600  # the one place the stream key is kept
    assert call("GET", "/v1/live/rooms", b, params={"limit": 5}).json()["data"] == []
    listed = call("GET", "/v1/live/rooms", a).json()
    assert [x["id"] for x in listed["data"]] == [rid] and listed["has_more"] is False

    r = call("POST", f"/v1/live/rooms/{rid}/start", a)
    assert r.status_code == 200, r.text + (folder / "room.out").read_text(errors="replace")
    try:
        assert r.json()["running"] is True and r.json()["counters"]["engine"] == "media"
        assert call("POST", f"/v1/live/rooms/{rid}/start", a).json()["error"]["code"] == "room_running"
        # the room process runs with the tenant's folder as home and the deployment's models
        pid = json.loads((folder / "run.json").read_text())["pid"]
        env = dict(x.split("=", 1) for x in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in x)
        assert Path(env["ADLOOM_HOME"]) == tenant_root(settings, "acme")
        assert Path(env["ADLOOM_MODEL_DIR"]) == settings.models
        # tenant B: every id route answers 404, and the room runs on untouched
        for method, url, extra in [
            ("GET", f"/v1/live/rooms/{rid}", {}),
            ("DELETE", f"/v1/live/rooms/{rid}", {}),
            ("POST", f"/v1/live/rooms/{rid}/start", {}),
            ("POST", f"/v1/live/rooms/{rid}/stop", {}),
            ("POST", f"/v1/live/rooms/{rid}/comments", {"json": {"viewer": "x", "text": "多少钱"}}),
            ("POST", f"/v1/live/rooms/{rid}/say", {"json": {"text": "大家好"}}),
        ]:
            r = call(method, url, b, **extra)
            assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error", (method, url, r.text)
        # the preview is written into the tenant's folder
        preview = folder / "preview"
        wait_for(
            lambda: {"files": sorted(p.name for p in preview.glob("*"))},
            lambda row: "index.m3u8" in row["files"] and any(f.endswith(".ts") for f in row["files"]),
            "an HLS segment in the tenant's folder",
        )
        r = call("POST", f"/v1/live/rooms/{rid}/comments", a, json={"viewer": "小王", "text": "多少钱"})
        assert r.status_code == 202 and r.json()["outcome"] == "queued", r.text
        r = call("POST", f"/v1/live/rooms/{rid}/say", a, json={"text": "这款精华是全网最好的，快来买。"})
        assert r.status_code == 202, r.text
        assert r.json()["text"] == "这款精华是全网很好的，快来买。"  # rewritten by the advertising-law review
        assert [f["rule_id"] for f in r.json()["compliance"]] == ["absolute_claim"]
        r = call("POST", f"/v1/live/rooms/{rid}/say", a, json={"text": "过了今天再也没有！"})
        assert r.status_code == 400 and r.json()["error"]["param"] == "text", r.text
        assert "misleading_price" in r.json()["error"]["message"]
        row = wait_for(
            lambda: call("GET", f"/v1/live/rooms/{rid}", a).json(),
            lambda row: (
                row["counters"]["interaction"]["says"] == 1
                and row["counters"]["interaction"]["purchase_replies"] == 1
                and row["counters"]["session"]["segments_completed"] >= 1
                and any(o["reconnects"] + o["attempts"] >= 2 for o in row["counters"]["session"]["outputs"])
            ),
            "the answer, the line and an RTMP retry",
        )
        assert row["running"] is True and row["counters"]["intake"]["received"] == 1
        assert str(folder) not in json.dumps(row, ensure_ascii=False)  # no server path in what the tenant reads
        # the room limit (a setting): a second room of this tenant cannot start while one runs
        settings.api_max_rooms_per_tenant = 1
        other = call("POST", "/v1/live/rooms", a, json=room_body(engine="text")).json()["id"]
        r = call("POST", f"/v1/live/rooms/{other}/start", a)
        assert r.status_code == 429 and r.headers["Retry-After"] == "60", r.text
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert call("DELETE", f"/v1/live/rooms/{rid}", a).status_code == 409  # running: stop it first
        assert call("DELETE", f"/v1/live/rooms/{other}", a).json()["deleted"] is True
    finally:
        r = call("POST", f"/v1/live/rooms/{rid}/stop", a)
    assert r.status_code == 200, r.text
    stopped = r.json()
    assert stopped["running"] is False and stopped["counters"]["segments_completed"] >= 1
    assert stopped["counters"]["extra"]["interaction"]["purchase_replies"] == 1
    for path in ("stop", "say"):
        r = call("POST", f"/v1/live/rooms/{rid}/{path}", a, json={"text": "还在吗"} if path == "say" else None)
        assert r.status_code == 409 and r.json()["error"]["code"] == "room_not_running", r.text

    room_log = (folder / "room.log").read_text(encoding="utf-8")
    assert "/live/***" in room_log  # the refused RTMP connects were logged, masked
    logs = {
        "responses": "\n".join(call.bodies),
        "server log": caplog.text,
        **{p.name: p.read_text(errors="replace") for p in folder.rglob("*") if p.name.startswith("room.")},
    }
    logs.pop("room.yaml")
    assert [name for name, text in logs.items() if STREAM_KEY in text] == []


@pytest.mark.parametrize(
    ("change", "param", "words"),
    [
        ({"outputs": ["file:/tmp/room.mp4"]}, "outputs[0]", "file paths are not accepted"),
        ({"outputs": ["hls:/etc/adloom"]}, "outputs[0]", "rtmp://"),
        ({"outputs": ["/srv/www/preview"]}, "outputs[0]", '"hls"'),
        ({"outputs": ["hls", "hls"]}, "outputs[1]", "twice"),
        ({"outputs": ["rtmp://127.0.0.1/"]}, "outputs[0]", "stream key"),
        ({"background": "/etc/passwd"}, "background", "POST /v1/uploads"),
        ({"background": "upload:upl_000000000000"}, "background", "upload"),
        ({"avatar": "photo:../../etc"}, "avatar", "rig:<look>"),
        ({"voice": "../../models/x"}, "voice", "letters, digits"),
        ({"script": "live_script.yaml"}, "script", "unknown field"),
        ({"port": 8080}, "port", "unknown field"),
        ({"id": "mine"}, "id", "unknown field"),
        ({"industry": "toys"}, "industry", "industry"),
    ],
)
def test_bad_room_definitions_are_400s_naming_the_field(
    client: TestClient, tenants: Tenants, settings: Settings, change: dict[str, Any], param: str, words: str
) -> None:
    r = client.post("/v1/live/rooms", json=room_body(**change), headers=tenants.a)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == param and words in err["message"], err
    rooms_folder = tenant_root(settings, "acme") / "live"
    assert not rooms_folder.exists() or not any(rooms_folder.iterdir())  # nothing stored half-way


def test_another_tenants_upload_is_no_background_and_keys_in_bad_input_are_masked(
    client: TestClient, tenants: Tenants
) -> None:
    r = client.post("/v1/uploads", files={"file": ("bg.png", png_bytes(), "image/png")}, headers=tenants.b)
    assert r.status_code == 201, r.text
    r = client.post("/v1/live/rooms", json=room_body(background=f"upload:{r.json()['id']}"), headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "background", r.text
    # a stream URL in the wrong place is echoed by no error message (pydantic would quote a short value)
    key_url = f"rtmp://h/a/{STREAM_KEY}"
    for bad in ({"outputs": key_url}, {"outputs": [key_url.replace("rtmp", "rtmpx")]}):
        r = client.post("/v1/live/rooms", json=room_body(**bad), headers=tenants.a)
        assert r.status_code == 400 and r.json()["error"]["param"] == "outputs" + ("[0]" if "rtmpx" in str(bad) else "")
        assert STREAM_KEY not in r.text, r.text


def test_a_room_that_dies_while_starting_is_a_503_naming_no_server_path(
    client: TestClient, tenants: Tenants, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "nosuch")  # the room process cannot build its voice and exits
    rtmp = f"rtmp://127.0.0.1:{closed_port()}/live/{STREAM_KEY}"
    rid = client.post("/v1/live/rooms", json=room_body(engine="media", outputs=[rtmp]), headers=tenants.a).json()["id"]
    r = client.post(f"/v1/live/rooms/{rid}/start", headers=tenants.a)
    assert r.status_code == 503 and r.headers["Retry-After"] == "30", r.text
    err = r.json()["error"]
    assert err["code"] == "room_start_failed" and rid in err["message"]
    assert str(tenant_root(settings, "acme")) not in r.text and STREAM_KEY not in r.text
    assert client.get(f"/v1/live/rooms/{rid}", headers=tenants.a).json()["running"] is False
