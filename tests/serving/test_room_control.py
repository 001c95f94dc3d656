"""The room's control API guard (token, schema pages, body size), its bounded fields, the pid check
before signalling a room, the operator's ``say`` line through the compliance checker, and room.log's
rotation with stream keys masked.

The app is the real control app around a real (not started) room runtime, called in process through
Starlette's test client; the lifecycle test in test_rooms.py calls the same guard over loopback.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from adloom.core.errors import ComplianceError, NotFoundError
from adloom.serving import rooms
from adloom.serving.rooms.control import MAX_BODY_BYTES, ROOM_LOG, configure_room_logging
from adloom.serving.rooms.process import TOKEN_HEADER, _signal_room

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
TOKEN = "tok-" + "a" * 28


def _room(tmp_path: Path, **changes: Any) -> rooms.RoomFile:
    data = yaml.safe_load((SAMPLES / "room_zh.yaml").read_text(encoding="utf-8"))
    data.update(id="c_room", background=None, engine="text", answer_llm=False, **changes)
    path = tmp_path / "room.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return rooms.load_room(path)


@pytest.fixture
def runtime(tmp_path: Path) -> rooms.RoomRuntime:
    return rooms.RoomRuntime(_room(tmp_path), tmp_path / "state")


@pytest.fixture
def client(runtime: rooms.RoomRuntime) -> Iterator[TestClient]:
    stops: list[bool] = []
    with TestClient(rooms.control_app(runtime, TOKEN, lambda: stops.append(True))) as c:
        yield c


def test_every_route_needs_the_token_and_the_schema_pages_are_off(client: TestClient) -> None:
    for path in ("/status", "/openapi.json", "/docs", "/redoc", "/nosuch"):
        assert client.get(path).status_code == 401, path
    assert client.get("/status", headers={TOKEN_HEADER: "wrong"}).status_code == 401
    # a token that is not ASCII is simply wrong (it was a 500 when compared as str)
    assert client.get("/status", headers={TOKEN_HEADER: "令牌".encode()}).status_code == 401
    good = {TOKEN_HEADER: TOKEN}
    assert client.get("/status", headers=good).json()["room_id"] == "c_room"
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(path, headers=good).status_code == 404, path


def test_body_size_is_limited_before_it_is_read(client: TestClient, runtime: rooms.RoomRuntime) -> None:
    good = {TOKEN_HEADER: TOKEN, "Content-Type": "application/json"}
    big = json.dumps({"viewer": "v", "text": "x" * (MAX_BODY_BYTES + 10)}).encode()
    assert client.post("/comment", content=big, headers=good).status_code == 413  # declared Content-Length
    chunks = iter([big[: len(big) // 2], big[len(big) // 2 :]])  # streamed: no Content-Length, chunked
    assert client.post("/comment", content=chunks, headers=good).status_code == 413
    lying = {**good, "Content-Length": "12abc"}
    assert client.post("/comment", content=b"{}", headers=lying).status_code == 400
    assert runtime.intake.snapshot()["received"] == 0  # nothing reached the room
    ok = client.post("/comment", json={"viewer": "小王", "text": "多少钱", "id": "c_1"}, headers=good)
    assert ok.status_code == 202 and ok.json()["comment_id"] == "c_1"


@pytest.mark.parametrize(
    "body",
    [
        {"viewer": "v", "text": "hi", "id": "x" * 65},
        {"viewer": "v", "text": "hi", "id": "../../etc"},
        {"viewer": "v" * 65, "text": "hi"},
        {"viewer": "v", "text": "x" * 2001},
        {"viewer": "v", "text": "hi", "extra": 1},
    ],
)
def test_comment_fields_are_bounded(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/comment", json=body, headers={TOKEN_HEADER: TOKEN}).status_code == 422


def test_say_goes_through_the_compliance_checker(client: TestClient, runtime: rooms.RoomRuntime) -> None:
    out = runtime.say("这款精华是全网最好的，快来买。")  # a superlative: rewritten per the suggestion
    assert out["text"] == "这款精华是全网很好的，快来买。"
    assert [(f["term"], f["rule_id"], f["suggestion"]) for f in out["compliance"]] == [
        ("最好的", "absolute_claim", "很好的")
    ]
    with pytest.raises(ComplianceError, match=r"过了今天再也没有.*misleading_price"):
        runtime.say("过了今天再也没有！")  # nothing compliant is left: refused, the finding named
    refused = client.post("/say", json={"text": "过了今天再也没有！"}, headers={TOKEN_HEADER: TOKEN})
    assert refused.status_code == 422 and "misleading_price" in refused.json()["detail"]
    assert runtime.interaction.counters.says == 1  # only the rewritten line was queued


def test_a_recycled_pid_is_not_signalled(tmp_path: Path) -> None:
    """run.json names a pid that now belongs to another process: the room counts as stopped and that
    process is never signalled; with the recorded identity matching, the same pid would be trusted."""
    folder = rooms.define_room(_room(tmp_path))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        died_room = f"12345 {sys.executable} -m adloom.serving.rooms run {folder / 'room.yaml'} {folder}"
        run = {"room_id": "c_room", "pid": other.pid, "identity": died_room, "port": 9, "token": TOKEN}
        (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
        info = rooms.process.read_run_file(folder)
        assert info is not None and not rooms.is_our_room(info)
        assert rooms.run_info("c_room") is None
        with pytest.raises(NotFoundError, match="not running"):
            rooms.stop_room("c_room")
        assert _signal_room(info, signal.SIGTERM) is False
        assert other.poll() is None  # still running: nobody signalled it
        same = rooms.RunInfo("c_room", other.pid, 9, TOKEN, folder, rooms.process_identity(other.pid))
        assert rooms.is_our_room(same)  # the check does trust a pid whose identity matches
    finally:
        other.kill()
        other.wait()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    for h in root.handlers:
        h.close()
    root.handlers[:], root.level = saved[0], saved[1]


def test_room_log_rotates_and_masks_stream_keys(tmp_path: Path, restore_logging: None) -> None:
    key = "sk-ROTATE-7f3a9c1e"
    configure_room_logging(tmp_path, [f"rtmp://127.0.0.1:1935/live/{key}"], console=False, max_bytes=2000)
    log = logging.getLogger("adloom.test.room")
    for i in range(60):
        log.warning("reconnecting rtmp://127.0.0.1:1935/live/%s (attempt %d); key %s", key, i, key)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [ROOM_LOG, f"{ROOM_LOG}.1", f"{ROOM_LOG}.2"]  # rotated, two backups kept
    for name in files:
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert (tmp_path / name).stat().st_size <= 2000
        assert key not in text and "live/***" in text
    assert "attempt 59" in (tmp_path / ROOM_LOG).read_text(encoding="utf-8")
