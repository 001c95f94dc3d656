"""The live console's routes on a real app and store: a portrait is refused without consent (422 naming the
field) and when it is a PDF; FAQ files in GB18030 are read and counted, undecodable ones are a 422 saying to
save as UTF-8; voices are listed and previewed as WAV; the live script is written and checked; a room with an
edited script renders a 10 s MP4; a running room's HLS files are served only to its tenant and only by plain
name; its events show a comment and the presenter's answer.

SQLite only, like test_api_live.py (rooms are files in the tenant's folder)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.serving.tenant_files import tenant_root
from tests.serving.api.conftest import Tenants, png_bytes
from tests.serving.api.test_api_live import room_body

CONSENT = {"subject": "Li Na", "granted_by": "Li Na", "statement": "I agree that Acme uses my photo as a presenter."}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/adloom.db"


@pytest.mark.parametrize("missing", ["subject", "granted_by", "statement"])
def test_a_portrait_without_consent_is_a_422_naming_the_field_and_is_not_stored(
    client: TestClient, tenants: Tenants, settings: Settings, missing: str
) -> None:
    form = {k: v for k, v in CONSENT.items() if k != missing}
    r = client.post("/v1/live/avatars", headers=tenants.a, files={"image": ("me.png", png_bytes())}, data=form)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["param"] == missing and err["code"] == "consent_required" and missing in err["message"]
    assert not (tenant_root(settings, "acme") / "avatars").exists()


def test_a_pdf_named_png_is_no_portrait(client: TestClient, tenants: Tenants) -> None:
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n"
    r = client.post("/v1/live/avatars", headers=tenants.a, files={"image": ("me.png", pdf)}, data=CONSENT)
    assert r.status_code == 422 and r.json()["error"]["param"] == "image", r.text
    assert "PDF" in r.json()["error"]["message"]


def test_a_portrait_with_consent_is_stored_with_its_record(
    client: TestClient, tenants: Tenants, settings: Settings
) -> None:
    """A flat test image has no face: the avatar is kept with its consent, marked not ready (no room can use it)."""
    r = client.post("/v1/live/avatars", headers=tenants.a, files={"image": ("me.png", png_bytes())}, data=CONSENT)
    assert r.status_code == 201, r.text
    avatar = r.json()
    assert avatar["id"].startswith("avatar:avt_") and avatar["ready"] is False and avatar["note"]
    assert avatar["consent"]["subject"] == "Li Na" and len(avatar["consent"]["portrait_sha256"]) == 64
    folder = tenant_root(settings, "acme") / "avatars" / avatar["id"].split(":")[1]
    assert (folder / "consent.json").is_file()
    listed = client.get("/v1/live/avatars", headers=tenants.a).json()["data"]
    assert listed[0]["id"] == avatar["id"] and {"rig:look1", "rig:look4"} <= {a["id"] for a in listed}
    assert avatar["id"] not in {a["id"] for a in client.get("/v1/live/avatars", headers=tenants.b).json()["data"]}
    assert client.get(avatar["thumbnail_url"], headers=tenants.a).content[:4] == b"\x89PNG"
    assert client.get(avatar["thumbnail_url"], headers=tenants.b).status_code == 404
    r = client.post("/v1/live/rooms", headers=tenants.a, json=room_body(avatar=avatar["id"]))
    assert r.status_code == 400 and r.json()["error"]["param"] == "avatar", r.text


def test_faq_files_in_gb18030_are_read_and_undecodable_ones_say_save_as_utf8(client: TestClient, tenants: Tenants):
    faq = "问：保质期多久？\n答：三年，开封后一年内用完。\n\n问：油皮能用吗？\n答：可以，少量使用。\n"
    r = client.post("/v1/live/knowledge", headers=tenants.a, files={"file": ("faq.txt", faq.encode("gb18030"))})
    assert r.status_code == 201, r.text
    kb = r.json()
    assert kb["count"] == 2 and kb["encoding"].lower() in ("gb18030", "gbk", "gb2312")
    assert kb["pairs"][0] == {"q": "保质期多久？", "a": "三年，开封后一年内用完。"}
    assert kb["lines"][1] == "油皮能用吗？可以，少量使用。"
    assert client.get(f"/v1/live/knowledge/{kb['id']}", headers=tenants.b).status_code == 404
    csv_sig = "question,answer\nHow big?,30 ml\nVegan?,Yes\n".encode("utf-8-sig")
    assert client.post("/v1/live/knowledge", headers=tenants.a, files={"file": ("f.csv", csv_sig)}).json()["count"] == 2
    rng = random.Random(7)
    for bad in (faq.encode("utf-32-le"), bytes(rng.randrange(128, 256) for _ in range(400))):
        r = client.post("/v1/live/knowledge", headers=tenants.a, files={"file": ("faq.txt", bad)})
        assert r.status_code == 422 and r.json()["error"]["param"] == "file", r.text
        assert "UTF-8" in r.json()["error"]["message"]


def test_voices_are_listed_and_previewed_as_wav(client: TestClient, tenants: Tenants) -> None:
    voices = client.get("/v1/live/voices", headers=tenants.a).json()["data"]
    espeak = [v for v in voices if v["backend"] == "espeak"]
    assert {"cmn", "en-us"} <= {v["id"] for v in espeak}
    r = client.get("/v1/live/voices/en-us/preview", params={"lang": "en"}, headers=tenants.a)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav" and r.content[:4] == b"RIFF"
    assert len(r.content) > 20_000  # a few seconds of speech
    assert client.get("/v1/live/voices/nosuch/preview", headers=tenants.a).status_code == 404


def test_script_checked_edited_into_a_room_and_previewed(
    client: TestClient, tenants: Tenants, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "espeak")
    base = room_body()
    body = {k: base[k] for k in ("name", "language", "industry", "products")}
    segs = client.post("/v1/live/scripts", headers=tenants.a, json=body).json()["segments"]
    assert segs[0]["section"] == "opening" and all(s["findings"] == [] for s in segs)
    line = next(s for s in segs if s["kind"] == "product")
    check = {"industry": "beauty", "segments": [{"id": line["id"], "text": "这款精华是全网最好的，快来买。"}]}
    [checked] = client.post("/v1/live/scripts/check", headers=tenants.a, json=check).json()["segments"]
    assert [f["rule_id"] for f in checked["findings"]] == ["absolute_claim"]
    assert checked["fixed"] == "这款精华是全网很好的，快来买。"
    r = client.post(
        "/v1/live/rooms",
        headers=tenants.a,
        json=room_body(avatar="rig:look3", script_edits={line["id"]: "全网最好的精华"}),
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    stored = (tenant_root(settings, "acme") / "live" / rid / "assets" / "script.yaml").read_text(encoding="utf-8")
    assert "全网很好的精华" in stored and "最好" not in stored
    r = client.post(f"/v1/live/rooms/{rid}/preview", headers=tenants.a)
    assert r.status_code == 201, r.text
    video = client.get(r.json()["url"], headers=tenants.a)
    assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
    assert client.get(r.json()["url"], headers=tenants.b).status_code == 404
    bad = room_body(script_edits={"nope/1": "你好"})
    assert client.post("/v1/live/rooms", headers=tenants.a, json=bad).json()["error"]["param"] == "script_edits"


def test_a_running_rooms_stream_and_feed(
    client: TestClient, tenants: Tenants, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "espeak")
    a, b = tenants.a, tenants.b
    rid = client.post("/v1/live/rooms", headers=a, json=room_body(engine="media", outputs=["hls"])).json()["id"]
    folder = tenant_root(settings, "acme") / "live" / rid
    r = client.post(f"/v1/live/rooms/{rid}/start", headers=a)
    assert r.status_code == 200, r.text + (folder / "room.out").read_text(errors="replace")
    try:
        deadline = time.monotonic() + 60
        while client.get(f"/v1/live/rooms/{rid}/hls/index.m3u8", headers=a).status_code != 200:
            assert time.monotonic() < deadline, "no HLS playlist"
            time.sleep(0.3)
        playlist = client.get(f"/v1/live/rooms/{rid}/hls/index.m3u8", headers=a)
        assert playlist.text.startswith("#EXTM3U")
        segment = next(ln for ln in playlist.text.splitlines() if ln.endswith(".ts"))
        assert client.get(f"/v1/live/rooms/{rid}/hls/{segment}", headers=a).status_code == 200
        for name in ("..%2Froom.yaml", "..%2F..%2F..%2Fadloom.db", "room.yaml", ".index.m3u8", "%2Fetc%2Fpasswd"):
            r = client.get(f"/v1/live/rooms/{rid}/hls/{name}", headers=a)
            assert r.status_code == 404, (name, r.text)
        assert client.get(f"/v1/live/rooms/{rid}/hls/index.m3u8", headers=b).status_code == 404
        assert client.get(f"/v1/live/rooms/{rid}/snapshot.jpg", headers=b).status_code == 404
        assert client.get(f"/v1/live/rooms/{rid}/events", headers=b).status_code == 404
        snap = client.get(f"/v1/live/rooms/{rid}/snapshot.jpg", headers=a)
        assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8", snap.text

        first = client.get(f"/v1/live/rooms/{rid}/events", headers=a).json()
        assert first["running"] is True and [e["type"] for e in first["data"]][:1] == ["started"]
        r = client.post(f"/v1/live/rooms/{rid}/comments", headers=a, json={"viewer": "小王", "text": "多少钱？"})
        assert r.status_code == 202, r.text
        after, seen = first["last_seq"], []
        while not any(e["type"] == "answer" and e.get("viewer") == "小王" for e in seen):
            assert time.monotonic() < deadline + 60, seen
            page = client.get(f"/v1/live/rooms/{rid}/events", params={"after": after}, headers=a).json()
            seen += page["data"]
            after = page["last_seq"]
            time.sleep(0.3)
        comment = next(e for e in seen if e["type"] == "comment")
        assert (comment["viewer"], comment["text"]) == ("小王", "多少钱？")
        answer = next(e for e in seen if e["type"] == "answer" and e.get("viewer") == "小王")
        assert answer["text"] and answer["comment_id"] == comment["comment_id"]
        assert page["counters"]["comments"] == 1 and page["counters"]["viewers"] == 1
        assert page["counters"]["answers"] >= 1 and page["counters"]["uptime_s"] > 0
    finally:
        client.post(f"/v1/live/rooms/{rid}/stop", headers=a)
    assert yaml.safe_load((folder / "room.yaml").read_text(encoding="utf-8"))["outputs"] == ["hls:preview"]
