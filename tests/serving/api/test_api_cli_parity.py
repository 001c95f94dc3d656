"""CLI parity of the batch API: every route of docs/openapi.json has an :class:`AdloomClient` method (a table
here, so a new route without one fails), and every ``adloom api …`` command is driven once against one real
``adloom serve --workers-in-process 0`` on loopback, with ``$ADLOOM_API_URL`` and ``$ADLOOM_API_KEY``.

No worker runs in the server; where a batch must move on, :func:`_work_through` stands in for ``adloom worker``
(which has its own tests) through the job queue's worker-side calls on the same database."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from adloom.core.client import KEY_ENV, URL_ENV, AdloomClient, ApiError
from adloom.core.settings import Settings
from adloom.core.storage import Store, open_store
from adloom.core.storage.queue import JobQueue
from adloom.core.storage.webhooks import enqueue_batch_event
from adloom.core.types import Creative, CreativeStatus
from adloom.serving.cli import app
from adloom.serving.tenant_files import tenant_root
from tests.serving.api.conftest import BRIEF, png_bytes, tiny_mp4
from tests.serving.api.test_api_live import room_body

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


@dataclass
class Server:
    url: str
    key: str
    other_key: str
    settings: Settings
    root: Store
    folder: Path


@dataclass
class World:
    """Objects of tenant ``acme`` made over the API (and one rendered creative saved as the worker would)."""

    brief_id: str
    upload_id: str
    script_id: str
    creative_id: str
    files: dict[str, Path]
    done_batch_id: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `adloom serve --workers-in-process 0` for the module (no webhook sender: nothing leaves loopback)."""
    folder = tmp_path_factory.mktemp("apicli")
    home = folder / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("ADLOOM_DATABASE_URL", "ADLOOM_CONFIG")}
    env.update(
        PYTHONPATH=str(REPO), ADLOOM_HOME=str(home), ADLOOM_EMBEDDER="hashing", ADLOOM_API_DEFAULT_WRITER="template"
    )
    port = _free_port()
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "adloom.serving.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        + ["--workers-in-process", "0", "--no-webhooks", "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("adloom serve did not answer /v1/health: " + (folder / "serve.log").read_text())
            time.sleep(0.2)
        settings = Settings(home=home, embedder="hashing")
        root = open_store(settings.db_url)
        _, key = root.create_api_key("acme")
        _, other_key = root.create_api_key("beta")
        yield Server(url, key, other_key, settings, root, folder)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _work_through(root: Store, creative_id: str) -> None:
    """Stand in for `adloom worker`: plan every pending item, finish every queued one with ``creative_id``,
    and end the finished batches with their webhook events (in the ending transaction, as the worker does)."""
    queue = JobQueue(root)
    while (plan := queue.lease_plan("cli-test")) is not None:
        pending = queue.pending_items(plan.batch.id, limit=1000)
        assert queue.queue_planned(plan, {i.id: i.request for i in pending})
        queue.release_plan(plan)
    while leases := queue.lease_items("cli-test", 50):
        for lease in leases:
            assert queue.complete_item(lease, {"status": "rendered"}, creative_id=creative_id)
    queue.finalize(on_end=lambda s, tenant, batch: enqueue_batch_event(root, tenant, batch, session=s))


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    with AdloomClient(server.url, server.key) as c:
        image = server.folder / "pack.png"
        image.write_bytes(png_bytes())
        upload = c.upload(image)
        brief = c.create_brief(
            {**BRIEF, "assets": [{"kind": "image", "path": f"upload:{upload.id}", "description": "pack shot"}]}
        )
        scripts = c.create_scripts(brief.id, 2, writer="template")
        folder = tenant_root(server.settings, "acme") / "batches" / "bat_seed" / "crv_seed"
        files = {"video": tiny_mp4(folder / "video.mp4"), "cover": folder / "cover.png"}
        files["cover"].write_bytes(png_bytes((64, 64)))
        files["subtitles"] = folder / "subtitles.srt"
        files["subtitles"].write_text("1\n00:00:00,000 --> 00:00:01,000\nOat Crunch Bar 🍫\n", encoding="utf-8")
        files["manifest"] = folder / "manifest.json"
        files["manifest"].write_text('{"aigc": true}\n', encoding="utf-8")
        creative = Creative(
            brief_id=brief.id,
            campaign_id=BRIEF["campaign_id"],
            script=scripts[0],
            status=CreativeStatus.rendered,
            **{f"{k}_path": str(p) for k, p in files.items()},
        )
        server.root.scoped("acme").save_creatives([creative])
        done = c.create_batch(brief.id, 2, writer="template")
        _work_through(server.root, creative.id)
        assert c.get_batch(done.id).status.value == "completed"
    return World(brief.id, upload.id, scripts[0].id, creative.id, files, done.id)


def api(server: Server, *args: str, key: str | None = None, code: int = 0) -> Result:
    """``adloom api ARGS`` with the server's address and a key in the environment."""
    result = runner.invoke(app, ["api", *args], env={URL_ENV: server.url, KEY_ENV: key or server.key})
    assert result.exit_code == code, result.output
    assert server.key not in result.output and server.other_key not in result.output
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


# -- every route has a client method ---------------------------------------------------------------------------
class Recorder(httpx.BaseTransport):
    """A real HTTP transport that notes each request's method and path."""

    def __init__(self) -> None:
        self.inner, self.seen = httpx.HTTPTransport(), []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


Call = Callable[[AdloomClient, World, Path], object]
_ROOMS: list[str] = []
_NO_ROOM = "room_000000000000"
_KB: list[dict[str, Any]] = []


def _refused(call: Callable[[], object], status: int) -> None:
    with pytest.raises(ApiError) as err:
        call()
    assert err.value.status == status, err.value


#: operationId in docs/openapi.json → a call of the client method that serves it. A new route needs a row here
#: (and so a client method), or test_every_route_has_a_client_method fails.
CLIENT_FOR: dict[str, Call] = {
    "health": lambda c, w, tmp: c.health(),
    "metrics": lambda c, w, tmp: c.metrics(),
    "create_brief": lambda c, w, tmp: c.create_brief(BRIEF),
    "list_briefs": lambda c, w, tmp: c.list_briefs(limit=2),
    "get_brief": lambda c, w, tmp: c.get_brief(w.brief_id),
    "create_upload": lambda c, w, tmp: c.upload(w.files["cover"]),
    "get_upload": lambda c, w, tmp: c.get_upload(w.upload_id),
    "create_scripts": lambda c, w, tmp: c.write_scripts(w.brief_id, 1, writer="template", seed=7),
    "list_scripts": lambda c, w, tmp: c.list_scripts(brief_id=w.brief_id),
    "get_script": lambda c, w, tmp: c.get_script(w.script_id),
    "structure_script": lambda c, w, tmp: c.structure_script(w.brief_id, text="Skipped breakfast? Grab one now."),
    "edit_script": lambda c, w, tmp: c.edit_script(w.script_id, [{"index": 0, "caption": "Breakfast in a pocket"}]),
    "check_compliance": lambda c, w, tmp: c.check_compliance("The best bar.", language="en", industry="food"),
    "get_capabilities": lambda c, w, tmp: c.capabilities(),
    "create_batch": lambda c, w, tmp: c.create_batch(w.brief_id, 1),
    "list_batches": lambda c, w, tmp: c.list_batches(),
    "get_batch": lambda c, w, tmp: c.get_batch(w.done_batch_id),
    "cancel_batch": lambda c, w, tmp: c.cancel_batch(w.done_batch_id),
    "list_items": lambda c, w, tmp: c.list_items(w.done_batch_id, status="succeeded"),
    "results": lambda c, w, tmp: list(c.results(w.done_batch_id)),
    "errors": lambda c, w, tmp: list(c.errors(w.done_batch_id)),
    "list_creatives": lambda c, w, tmp: c.list_creatives(brief_id=w.brief_id, status="rendered"),
    "get_creative": lambda c, w, tmp: c.get_creative(w.creative_id),
    "download": lambda c, w, tmp: c.download(w.creative_id, "manifest", tmp / "manifest.json"),
    "review_creative": lambda c, w, tmp: c.review_creative(w.creative_id, "approved"),
    "create_export": lambda c, w, tmp: c.create_export([w.creative_id], review="any"),
    "get_export": lambda c, w, tmp: c.download_export(
        c.create_export([w.creative_id], review="any")["id"], tmp / "x.zip"
    ),
    "search_library": lambda c, w, tmp: c.search_library("oat protein bar", limit=2, industry="food"),
    "import_library_file": lambda c, w, tmp: c.import_library(_library_csv(tmp)),
    "post_feedback": lambda c, w, tmp: c.post_feedback(_events(w.creative_id, "map")),
    "score": lambda c, w, tmp: c.score(creative_ids=[w.creative_id]),
    "create_report": lambda c, w, tmp: c.create_report(BRIEF["campaign_id"], "json"),
    "get_report": lambda c, w, tmp: c.get_report(c.create_report(BRIEF["campaign_id"], "json")["id"]),
    "list_campaigns": lambda c, w, tmp: c.list_campaigns(),
    "campaign_metrics": lambda c, w, tmp: c.campaign_metrics(BRIEF["campaign_id"], rank_by="ctr"),
    "list_library": lambda c, w, tmp: c.list_library(limit=2, industry="food", min_impressions=10),
    "get_library_item": lambda c, w, tmp: c.get_library_item(c.list_library(limit=1)["data"][0]["id"]),
    "create_endpoint": lambda c, w, tmp: c.create_webhook("https://hooks.example.com/map"),
    "list_endpoints": lambda c, w, tmp: c.list_webhooks(),
    "get_endpoint": lambda c, w, tmp: c.get_webhook(c.list_webhooks(limit=1).data[0].id),
    "delete_endpoint": lambda c, w, tmp: c.delete_webhook(c.create_webhook("https://hooks.example.com/gone")[0].id),
    "list_deliveries": lambda c, w, tmp: c.list_deliveries(c.list_webhooks(limit=1).data[0].id),
    # live rooms: defined, read and deleted for real; the calls that need a running room (or would start a room
    # process) reach their route and get the API's 404/409, which is all this table checks
    "define_room": lambda c, w, tmp: _ROOMS.append(c.define_room(room_body(engine="text"))["id"]),
    "list_rooms": lambda c, w, tmp: c.list_rooms(limit=1),
    "get_room": lambda c, w, tmp: c.get_room(_ROOMS[-1]),
    "start_room": lambda c, w, tmp: _refused(lambda: c.start_room(_NO_ROOM), 404),
    "stop_room": lambda c, w, tmp: _refused(lambda: c.stop_room(_ROOMS[-1]), 409),
    "post_comment": lambda c, w, tmp: _refused(lambda: c.room_comment(_ROOMS[-1], "v", "多少钱？"), 409),
    "say": lambda c, w, tmp: _refused(lambda: c.room_say(_ROOMS[-1], "欢迎来到直播间"), 409),
    # the live console: looks, voices, FAQ, script for real; room-scoped calls against a defined room (not started)
    "list_live_avatars": lambda c, w, tmp: c.live_avatars(),
    "get_live_avatar_thumbnail": lambda c, w, tmp: c.live_avatar_thumbnail("rig:look2"),
    "create_live_avatar": lambda c, w, tmp: _refused(
        lambda: c.create_live_avatar(png_bytes(), "me.png", subject="", granted_by="x", statement="y"), 422
    ),
    "list_live_voices": lambda c, w, tmp: c.live_voices(),
    "get_live_voice_preview": lambda c, w, tmp: c.live_voice_preview("en-us", "en"),
    "create_live_knowledge": lambda c, w, tmp: _KB.append(c.create_live_knowledge(b"Q: Size?\nA: 30 ml", "faq.txt")),
    "get_live_knowledge": lambda c, w, tmp: c.get_live_knowledge(_KB[-1]["id"]),
    "create_live_script": lambda c, w, tmp: c.live_script(
        {k: room_body()[k] for k in ("name", "language", "industry", "products")}
    ),
    "check_live_script": lambda c, w, tmp: c.check_live_script(
        {"industry": "beauty", "segments": [{"id": "x/1", "text": "全网最好的精华"}]}
    ),
    "create_live_room_preview": lambda c, w, tmp: _refused(lambda: c.preview_room(_NO_ROOM), 404),
    "get_live_room_preview": lambda c, w, tmp: _refused(lambda: c.room_preview_video(_ROOMS[-1]), 404),
    "get_live_room_hls": lambda c, w, tmp: _refused(lambda: c.room_hls_file(_ROOMS[-1], "index.m3u8"), 404),
    "get_live_room_snapshot": lambda c, w, tmp: _refused(lambda: c.room_snapshot(_ROOMS[-1]), 404),
    "list_live_room_events": lambda c, w, tmp: c.room_events(_ROOMS[-1]),
    "delete_room": lambda c, w, tmp: c.delete_room(_ROOMS[-1]),
    # lead-capture agents: defined, messaged, handed over and exported for real
    "put_agent": lambda c, w, tmp: c.put_agent("parity", _agent_profile()),
    "list_agents": lambda c, w, tmp: c.list_agents(limit=1),
    "get_agent": lambda c, w, tmp: c.get_agent("parity"),
    "post_message": lambda c, w, tmp: _CONVS.append(c.agent_message("parity", "u1", "装修多少钱？")["conversation_id"]),
    "list_conversations": lambda c, w, tmp: c.list_conversations(agent_id="parity"),
    "get_conversation": lambda c, w, tmp: c.get_conversation(_CONVS[-1]),
    "replies_due": lambda c, w, tmp: c.conversation_replies(_CONVS[-1]),
    "hand_over": lambda c, w, tmp: c.hand_over(_CONVS[-1]),
    "post_human_message": lambda c, w, tmp: c.human_message(_CONVS[-1], "您好，我是设计师小王"),
    "list_leads": lambda c, w, tmp: c.list_leads(agent_id="parity"),
    "export_leads": lambda c, w, tmp: c.export_leads_csv(agent_id="parity"),
    "delete_agent": lambda c, w, tmp: c.delete_agent("parity"),
}
_CONVS: list[str] = []


def _agent_profile() -> dict[str, Any]:
    path = REPO / "adloom" / "serving" / "samples" / "agent_home_renovation.yaml"
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))) | {"id": "parity"}


def _library_csv(folder: Path) -> Path:
    path = folder / "library.csv"
    path.write_text(
        "title,industry,platform,language,aspect,script_text,impressions,clicks,conversions\n"
        'Oat bar morning,food,tiktok,en,9:16,"Skipped breakfast again? 10 g protein in your pocket. Grab one.",'
        "1000,30,3\n"
        "Broken row,food,nowhere,en,9:16,Hi there. Buy it.,10,1,0\n",
        encoding="utf-8",
    )
    return path


def _events(creative_id: str, tag: str) -> list[dict[str, Any]]:
    return [
        {"event_id": f"{tag}-1", "creative_id": creative_id, "kind": "impression", "ts": "2026-05-01T10:00:00Z"}
        | {"count": 100},
        {"event_id": f"{tag}-2", "creative_id": creative_id, "kind": "click", "ts": "2026-05-01T10:00:01Z", "count": 5},
        {"event_id": f"{tag}-3", "creative_id": "crv_nope", "kind": "click", "ts": "2026-05-01T10:00:01Z"},
    ]


def _routes() -> dict[str, tuple[str, re.Pattern[str]]]:
    doc = json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))
    return {
        op["operationId"]: (method.upper(), re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"))
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    }


def test_every_route_has_a_client_method(server: Server, world: World, tmp_path: Path):
    routes = _routes()
    missing, stale = sorted(set(routes) - set(CLIENT_FOR)), sorted(set(CLIENT_FOR) - set(routes))
    assert not missing, f"routes without an AdloomClient method (add one, and a row in CLIENT_FOR): {missing}"
    assert not stale, f"rows of CLIENT_FOR naming no route of docs/openapi.json: {stale}"
    recorder = Recorder()
    with AdloomClient(server.url, server.key, transport=recorder) as c:
        for op, call in CLIENT_FOR.items():
            recorder.seen.clear()
            call(c, world, tmp_path)  # raises ApiError if the call is wrong
            method, pattern = routes[op]
            assert any(m == method and pattern.match(p) for m, p in recorder.seen), (op, recorder.seen)


# -- the commands ----------------------------------------------------------------------------------------------
def test_briefs_uploads_and_scripts(server: Server, world: World, tmp_path: Path):
    brief_file = tmp_path / "brief.yaml"
    brief_file.write_text(yaml.safe_dump({**BRIEF, "campaign_id": "cmp_cli"}, allow_unicode=True), encoding="utf-8")
    r = api(server, "briefs", "create", str(brief_file), "--idempotency-key", "brief-1")
    made = re.search(r"brf_[0-9a-f]+", r.stdout)
    assert made and "Oat Crunch Bar" in r.stdout and "cmp_cli" in r.stdout
    again = as_json(api(server, "briefs", "create", str(brief_file), "--idempotency-key", "brief-1", "--json"))
    assert again["id"] == made.group(0)
    got = as_json(api(server, "briefs", "get", made.group(0), "--json"))
    assert got["campaign_id"] == "cmp_cli" and got["product"]["selling_points"] == BRIEF["product"]["selling_points"]
    assert "students who skip breakfast" in api(server, "briefs", "get", made.group(0)).stdout

    everything = as_json(api(server, "briefs", "list", "--limit", "100", "--json"))["data"]
    assert len(everything) >= 2 and everything[0]["id"] == made.group(0)  # newest first
    r = api(server, "briefs", "list", "--limit", "1")
    assert made.group(0) in r.stdout and "more: --after " + made.group(0) in r.output
    walked = as_json(api(server, "briefs", "list", "--limit", "1", "--all", "--json"))
    assert [b["id"] for b in walked["data"]] == [b["id"] for b in everything] and walked["has_more"] is False
    after = as_json(api(server, "briefs", "list", "--after", made.group(0), "--json"))["data"]
    assert [b["id"] for b in after] == [b["id"] for b in everything[1:]]

    image = tmp_path / "shot.png"
    image.write_bytes(png_bytes((48, 24)))
    r = api(server, "uploads", "create", str(image))
    upload_id = re.search(r"upl_[0-9a-f]+", r.stdout)
    assert upload_id and "png" in r.stdout and "shot.png" in r.stdout
    got = as_json(api(server, "uploads", "get", upload_id.group(0), "--json"))
    assert got["kind"] == "image" and got["size"] == image.stat().st_size
    page = tmp_path / "page.png"
    page.write_bytes(b"<html><body>not an image</body></html>")
    r = api(server, "uploads", "create", str(page), code=1)
    assert "HTML" in r.output and "param: file" in r.output and "Traceback" not in r.output

    r = api(server, "scripts", "create", "--brief-id", world.brief_id, "--n", "2", "--writer", "template", "--json")
    written = as_json(r)["data"]
    assert len(written) == 2 and all(s["brief_id"] == world.brief_id for s in written)
    r = api(server, "scripts", "list", "--brief-id", world.brief_id)
    assert all(s["id"] in r.stdout for s in written)
    r = api(server, "scripts", "get", written[0]["id"])
    assert written[0]["hook"][:20] in r.stdout and written[0]["cta"][:20] in r.stdout
    r = api(server, "scripts", "create", "--brief-id", world.brief_id, "--n", "9", code=2)  # 1–5 now; more: a batch
    assert "--n" in r.output


def test_batches(server: Server, world: World, tmp_path: Path):
    r = api(server, "batches", "create", "--brief-id", world.brief_id, "--n", "2", "--writer", "template")
    batch_id = re.search(r"bat_[0-9a-f]+", r.stdout)
    assert batch_id and "validating" in r.stdout
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        json.dumps({"custom_id": "a-1", "brief_id": world.brief_id, "height": 360})
        + "\n{not json\n"
        + json.dumps({"custom_id": "a-3", "brief_id": world.brief_id, "seed": 3})
        + "\n",
        encoding="utf-8",
    )
    jsonl = as_json(api(server, "batches", "create", "--file", str(requests), "--json"))
    assert jsonl["request_counts"] == {"total": 3, "completed": 0, "failed": 1}
    listed = as_json(api(server, "batches", "list", "--json"))["data"]
    assert [b["id"] for b in listed[:2]] == [jsonl["id"], batch_id.group(0)]
    assert batch_id.group(0) in api(server, "batches", "list").stdout

    r = api(server, "batches", "items", jsonl["id"])
    assert "a-1" in r.stdout and "a-3" in r.stdout and "line 2" in r.stdout  # the bad line: a failed item
    failed = as_json(api(server, "batches", "items", jsonl["id"], "--status", "failed", "--json"))["data"]
    assert [i["custom_id"] for i in failed] == ["line-2"] and failed[0]["error"]["code"] == "invalid_json"

    _work_through(server.root, world.creative_id)
    r = api(server, "batches", "wait", jsonl["id"], "--poll", "0.1")
    assert "partially_succeeded" in r.stdout and "3/3" in r.output  # the progress bar: completed+failed/total
    r = api(server, "batches", "results", jsonl["id"])
    results = [json.loads(x) for x in r.stdout.splitlines()]
    assert sorted(x["custom_id"] for x in results) == ["a-1", "a-3"]
    assert {x["creative_id"] for x in results} == {world.creative_id}
    out = tmp_path / "out" / "errors.jsonl"
    r = api(server, "batches", "errors", jsonl["id"], "--out", str(out))
    errors = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [e["custom_id"] for e in errors] == ["line-2"] and f"wrote 1 errors lines to {out}" in r.output

    fresh = as_json(api(server, "batches", "create", "--brief-id", world.brief_id, "--n", "3", "--json"))
    r = api(server, "batches", "cancel", fresh["id"])
    assert "cancel" in r.stdout
    _work_through(server.root, world.creative_id)
    assert as_json(api(server, "batches", "get", fresh["id"], "--json"))["status"] == "cancelled"
    r = api(server, "batches", "wait", fresh["id"], "--poll", "0.1", code=1)  # ended, but not completed
    assert "cancelled" in r.stdout
    assert len(list(api(server, "batches", "errors", fresh["id"]).stdout.splitlines())) == 3


def test_creatives_and_resumable_downloads(server: Server, world: World, tmp_path: Path):
    r = api(server, "creatives", "list", "--brief-id", world.brief_id, "--status", "rendered")
    assert world.creative_id in r.stdout
    assert as_json(api(server, "creatives", "list", "--status", "approved", "--json"))["data"] == []
    got = as_json(api(server, "creatives", "get", world.creative_id, "--json"))
    assert got["status"] == "rendered" and got["campaign_id"] == BRIEF["campaign_id"]
    assert "rendered" in api(server, "creatives", "get", world.creative_id).stdout

    video = world.files["video"].read_bytes()
    out = tmp_path / "dl" / "video.mp4"
    r = api(server, "creatives", "download", world.creative_id, "--what", "video", "--out", str(out))
    assert out.read_bytes() == video and f"({len(video)} bytes)" in r.output
    out.write_bytes(video[: len(video) // 2])  # an interrupted download: the rest is fetched with Range
    r = api(server, "creatives", "download", world.creative_id, "--out", str(out))
    assert out.read_bytes() == video and f"resumed after the {len(video) // 2} bytes" in r.output
    r = api(server, "creatives", "download", world.creative_id, "--out", str(out))  # complete already: unchanged
    assert out.read_bytes() == video and "nothing fetched" in r.output
    out.write_bytes(b"x" * (len(video) + 10))  # longer than the file: not a part of it, fetched again
    api(server, "creatives", "download", world.creative_id, "--out", str(out))
    assert out.read_bytes() == video
    for what in ("cover", "subtitles", "manifest"):
        dest = tmp_path / f"c-{what}"
        api(server, "creatives", "download", world.creative_id, "--what", what, "-o", str(dest))
        assert dest.read_bytes() == world.files[what].read_bytes()
    r = api(
        server, "creatives", "download", world.creative_id, "--what", "poster", "--out", str(tmp_path / "p"), code=2
    )
    assert "video, cover, subtitles, manifest" in r.output


def test_library_feedback_ranking_and_reports(server: Server, world: World, tmp_path: Path):
    hits = as_json(
        api(server, "library", "search", "protein snack bar", "--industry", "food", "--limit", "3", "--json")
    )
    assert 1 <= len(hits["data"]) <= 3 and all(h["industry"] == "food" for h in hits["data"])
    assert hits["data"][0]["title"] in api(server, "library", "search", "protein snack bar", "--limit", "3").stdout
    r = api(server, "library", "import", str(_library_csv(tmp_path)))
    assert "imported 1, skipped 1" in r.stdout and "platform" in r.stdout

    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in _events(world.creative_id, "cli")), encoding="utf-8")
    r = api(server, "feedback", "import", str(events))
    assert "3 rows: 2 counted, 0 duplicates, 0 held, 1 rejected" in r.stdout and "crv_nope" in r.stdout
    again = as_json(api(server, "feedback", "import", str(events), "--json"))
    assert again["duplicates"] == 2 and again["counted"] == 0
    r = api(server, "feedback", "import", str(_library_csv(tmp_path).rename(tmp_path / "events.txt")), code=2)
    assert ".csv" in r.output and ".jsonl" in r.output

    ranked = as_json(api(server, "ranking", "score", "--creative-id", world.creative_id, "--json"))
    assert [d["id"] for d in ranked["data"]] == [world.creative_id] and ranked["data"][0]["rank"] == 1
    r = api(server, "ranking", "score", "--creative-id", world.creative_id, "--seed", "3")
    assert world.creative_id in r.stdout and ranked["data"][0]["action"] in r.stdout
    assert "not both" in api(server, "ranking", "score", code=2).output

    camps = as_json(api(server, "campaigns", "list", "--json"))["data"]
    assert BRIEF["campaign_id"] in {c["id"] for c in camps}
    assert BRIEF["campaign_id"] in api(server, "campaigns", "list").stdout
    metrics = as_json(api(server, "campaigns", "metrics", BRIEF["campaign_id"], "--json"))
    assert metrics["campaign_id"] == BRIEF["campaign_id"] and metrics["totals"]["impressions"] >= 100
    assert "ctcvr" in api(server, "campaigns", "metrics", BRIEF["campaign_id"]).stdout
    listed = as_json(api(server, "library", "list", "--industry", "food", "--limit", "2", "--json"))
    assert len(listed["data"]) == 2 and all(d["industry"] == "food" for d in listed["data"])
    assert listed["data"][0]["id"] in api(server, "library", "show", listed["data"][0]["id"]).stdout
    assert "--offset 2" in api(server, "library", "list", "--limit", "2").output

    out = tmp_path / "report.json"
    r = api(server, "reports", "create", "--campaign-id", BRIEF["campaign_id"], "--format", "json", "--out", str(out))
    report_id = re.search(r"rep_[0-9a-f]{12}", r.stdout)
    assert report_id and json.loads(out.read_text(encoding="utf-8"))
    html = tmp_path / "report.html"
    made = as_json(api(server, "reports", "create", "--campaign-id", BRIEF["campaign_id"], "--json"))
    api(server, "reports", "get", made["id"], "--out", str(html))
    assert made["format"] == "html" and "<html" in html.read_text(encoding="utf-8").lower()


def test_webhooks(server: Server, world: World):
    r = api(server, "webhooks", "create", "https://hooks.example.com/cli", "--event", "batch.cancelled")
    secret = r.stdout.strip().splitlines()[-1]
    endpoint_id = re.search(r"whe_[0-9a-f]+", r.stdout)
    assert secret.startswith("whsec_") and endpoint_id and "shown once" in r.stdout
    endpoint_id = endpoint_id.group(0)
    listed = api(server, "webhooks", "list")
    assert endpoint_id in listed.stdout and secret not in listed.stdout
    got = as_json(api(server, "webhooks", "get", endpoint_id, "--json"))
    assert got["events"] == ["batch.cancelled"] and "secret" not in got

    batch = as_json(api(server, "batches", "create", "--brief-id", world.brief_id, "--n", "1", "--json"))
    api(server, "batches", "cancel", batch["id"])
    _work_through(server.root, world.creative_id)
    deliveries = as_json(api(server, "webhooks", "deliveries", endpoint_id, "--json"))["data"]
    assert [(d["event_type"], d["payload"]["data"]) for d in deliveries] == [("batch.cancelled", {"id": batch["id"]})]
    r = api(server, "webhooks", "deliveries", endpoint_id, "--status", "pending")
    assert deliveries[0]["id"] in r.stdout and "batch.cancelled" in r.stdout

    r = api(server, "webhooks", "delete", endpoint_id)
    assert f"deleted webhook endpoint {endpoint_id}" in r.stdout
    assert endpoint_id not in api(server, "webhooks", "list").stdout
    r = api(server, "webhooks", "create", "ftp://hooks.example.com/x", code=1)
    assert "param: url" in r.output


def test_errors_are_the_apis_message_and_exit_1(server: Server, world: World, tmp_path: Path):
    """An unknown id (or another tenant's) prints the API's own 404 message; never a traceback or the key."""
    unknown = {
        ("briefs", "get", "brf_nope"): "/v1/briefs/brf_nope",
        ("uploads", "get", "upl_nope"): "/v1/uploads/upl_nope",
        ("scripts", "get", "scr_nope"): "/v1/scripts/scr_nope",
        ("batches", "get", "bat_nope"): "/v1/batches/bat_nope",
        ("batches", "items", "bat_nope"): "/v1/batches/bat_nope/items",
        ("batches", "cancel", "bat_nope"): "/v1/batches/bat_nope",
        ("batches", "wait", "bat_nope"): "/v1/batches/bat_nope",
        ("batches", "results", "bat_nope"): "/v1/batches/bat_nope/results",
        ("batches", "errors", "bat_nope"): "/v1/batches/bat_nope/errors",
        ("creatives", "get", "crv_nope"): "/v1/creatives/crv_nope",
        ("creatives", "download", "crv_nope", "--out", str(tmp_path / "x")): "/v1/creatives/crv_nope/video",
        ("ranking", "score", "--creative-id", "crv_nope"): "/v1/creatives/crv_nope",
        ("reports", "get", "rep_0123456789ab", "--out", str(tmp_path / "r")): "/v1/reports/rep_0123456789ab",
        ("campaigns", "metrics", "cmp_nope"): "/v1/campaigns/cmp_nope/metrics",
        ("library", "show", "lib_nope"): "/v1/library/items/lib_nope",
        ("webhooks", "get", "whe_nope"): "/v1/webhook_endpoints/whe_nope",
        ("webhooks", "delete", "whe_nope"): "/v1/webhook_endpoints/whe_nope",
        ("webhooks", "deliveries", "whe_nope"): "/v1/webhook_endpoints/whe_nope/deliveries",
    }
    headers = {"Authorization": f"Bearer {server.key}"}
    for args, path in unknown.items():
        error = httpx.get(server.url + path, headers=headers).json()["error"]
        r = api(server, *args, code=1)
        assert "404 not_found" in r.output and error["message"] in r.output, (args, r.output)
        assert "Traceback" not in r.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "r").exists()  # nothing written for a 404
    r = api(server, "briefs", "get", world.brief_id, key=server.other_key, code=1)  # another tenant's brief
    assert "404 not_found" in r.output and world.brief_id in r.output
    r = api(server, "briefs", "list", key="adl_not_a_real_key", code=1)
    assert "401" in r.output and "adl_not_a_real_key" not in r.output
    r = api(server, "ranking", "score", "--creative-id", "crv_[/]x", code=1)  # shown as text, not rich markup
    assert "no creative 'crv_[/]x'" in r.output and "Traceback" not in r.output
    r = api(server, "briefs", "get", "../batches", code=1)  # one path segment: never another route
    assert "404" in r.output and "bat_" not in r.output
    r = api(server, "scripts", "create", "--brief-id", "brf_nope", code=1)
    assert "404 not_found" in r.output
    assert "--limit" in api(server, "batches", "list", "--limit", "0", code=2).output  # usage: 2
    assert api(server, "uploads", "create", str(tmp_path / "missing.png"), code=2).output
    r = api(server, "batches", "create", "--brief-id", world.brief_id, code=2)
    assert "--n" in r.output


def test_review_and_export(server: Server, world: World, tmp_path: Path):
    import zipfile

    r = api(server, "creatives", "review", world.creative_id, "--decision", "approved", "--reason", "good hook")
    assert world.creative_id in r.stdout and "approved" in r.stdout
    out = tmp_path / "export" / "ads.zip"
    r = api(server, "exports", "create", "--creative-id", world.creative_id, "--out", str(out))
    assert "saved 1 creatives" in r.output
    with zipfile.ZipFile(out) as zf:
        assert "manifest.csv" in zf.namelist() and f"videos/{world.creative_id}.mp4" in zf.namelist()
    r = api(server, "creatives", "review", world.creative_id, "--decision", "maybe", code=2)  # usage error
    assert "approved or rejected" in r.output and "Traceback" not in r.output
    r = api(server, "exports", "create", "--out", str(tmp_path / "none.zip"), code=1)
    assert "select at least one" in r.output
