"""`adloom serve`'s background services, started and stopped by the app's lifespan: the in-process batch worker
renders a batch submitted over the API (to results a client downloads), and the webhook dispatcher delivers the
batch's signed event to a receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.serving.api import create_app
from adloom.serving.api_cli import background_services
from tests.serving.api.conftest import Tenants

SAMPLES = Path(__file__).resolve().parents[3] / "adloom" / "serving" / "samples"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the worker's own tests run the job table on PostgreSQL; this one checks serve's wiring."""
    return f"sqlite:///{tmp_path}/adloom.db"


class Receiver:
    """A webhook receiver on loopback that keeps what it got."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.httpd.shutdown()
    r.httpd.server_close()


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.is_alive()}


def test_serve_renders_a_batch_in_process_and_delivers_its_signed_webhook(
    settings: Settings, root_store: Store, tenants: Tenants, receiver: Receiver, real_models: Path
):
    fast = settings.model_copy(
        update={
            "tts_backend": "espeak",
            "batch_writer": "template",
            "model_dir": real_models,
            "webhook_retry_schedule_s": [0, 1],
        }
    )
    app = create_app(fast, root_store, background=background_services(1))
    with TestClient(app) as client:
        assert {"adloom-worker", "webhooks"} <= _threads()
        hook = client.post("/v1/webhook_endpoints", json={"url": receiver.url}, headers=tenants.a).json()
        image = SAMPLES / "images" / "robot_vacuum.png"
        up = client.post(
            "/v1/uploads", files={"file": (image.name, image.read_bytes(), "image/png")}, headers=tenants.a
        )
        brief = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text(encoding="utf-8"))
        brief.update(duration_s=8, assets=[{"kind": "image", "path": f"upload:{up.json()['id']}"}])
        brief_id = client.post("/v1/briefs", json=brief, headers=tenants.a).json()["id"]
        r = client.post("/v1/batches", json={"brief_id": brief_id, "n": 1, "height": 360}, headers=tenants.a)
        assert r.status_code == 201, r.text
        batch_id = r.json()["id"]
        deadline = time.monotonic() + 240
        while (batch := client.get(f"/v1/batches/{batch_id}", headers=tenants.a).json())["status"] not in (
            "completed",
            "partially_succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, batch
            time.sleep(0.5)
        errors = client.get(f"/v1/batches/{batch_id}/errors", headers=tenants.a).text
        assert batch["status"] == "completed" and batch["request_counts"]["completed"] == 1, errors
        results = [
            json.loads(x) for x in client.get(f"/v1/batches/{batch_id}/results", headers=tenants.a).text.splitlines()
        ]
        video = client.get(f"/v1/creatives/{results[0]['creative_id']}/video", headers=tenants.a)
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        deadline = time.monotonic() + 30
        while not receiver.got:
            assert time.monotonic() < deadline, "no webhook arrived"
            time.sleep(0.1)
    headers, body = receiver.got[0]
    event = Webhook(hook["secret"]).verify(body, headers)
    assert event["type"] == "batch.completed" and event["data"] == {"id": batch_id}
    assert not {"adloom-worker", "webhooks"} & _threads()  # the lifespan stopped both
