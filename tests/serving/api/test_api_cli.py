"""The API's commands: `adloom keys create|list|revoke`, `adloom serve` as a real process on loopback, and the
`adloom api …` client commands against it (the minimal contract an outside check calls)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from adloom.core.settings import get_settings
from adloom.core.storage import open_store
from adloom.serving.cli import app
from tests.serving.api.conftest import BRIEF

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def _create_key(tenant: str) -> tuple[str, str]:
    result = runner.invoke(app, ["keys", "create", tenant, "--name", "ci"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    return lines[0], lines[-1]


def test_keys_create_prints_the_key_alone_on_the_last_line_list_and_revoke():
    first, key = _create_key("acme")
    assert "shown once" in first and key.startswith("adl_") and " " not in key and len(key) > 40
    store = open_store(get_settings().db_url)
    tenant = store.authenticate(key)
    assert tenant is not None and tenant.id == "acme"
    listed = runner.invoke(app, ["keys", "list", "--tenant", "acme"])
    assert listed.exit_code == 0 and key not in listed.output and key[:12] in listed.output
    key_id = store.list_api_keys("acme")[0].id
    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0 and key not in revoked.output
    assert store.authenticate(key) is None
    bad = runner.invoke(app, ["keys", "create", "Not A Tenant!"])
    assert bad.exit_code == 2 and "tenant" in bad.output
    missing = runner.invoke(app, ["keys", "revoke", "key_nope"])
    assert missing.exit_code == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`adloom serve --host 127.0.0.1 --port P` in its own process, on this test's home."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "ADLOOM_EMBEDDER": "hashing"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "adloom.serving.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        + ["--workers-in-process", "0", "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("adloom serve did not answer /v1/health: " + (tmp_path / "serve.log").read_text())
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_serve_and_the_api_client_commands(served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _, key = _create_key("acme")
    health = httpx.get(f"{served}/v1/health").json()
    assert health["status"] == "ok" and health["database"] == "ok"
    committed = json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert httpx.get(f"{served}/openapi.json").json() == committed
    assert httpx.get(f"{served}/v1/briefs").status_code == 401

    monkeypatch.setenv("ADLOOM_API_URL", served)
    monkeypatch.setenv("ADLOOM_API_KEY", key)
    r = runner.invoke(app, ["api", "health"])
    assert r.exit_code == 0 and json.loads(r.output)["status"] == "ok"
    brief_file = tmp_path / "brief.yaml"
    brief_file.write_text(yaml.safe_dump(BRIEF, allow_unicode=True), encoding="utf-8")
    r = runner.invoke(app, ["api", "briefs", "create", str(brief_file), "--json"])
    assert r.exit_code == 0, r.output
    brief_id = json.loads(r.output)["id"]
    create = ["api", "batches", "create", "--brief-id", brief_id, "--n", "2", "--idempotency-key", "k1", "--json"]
    r = runner.invoke(app, create)
    assert r.exit_code == 0, r.output
    batch = json.loads(r.output)
    assert batch["brief_id"] == brief_id and batch["request_counts"]["total"] == 2
    again = runner.invoke(app, create)
    assert json.loads(again.output)["id"] == batch["id"]
    r = runner.invoke(app, ["api", "batches", "get", batch["id"], "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["id"] == batch["id"]
    # the plain-HTTP contract: Bearer key, POST /v1/briefs returns the brief with its id, GET it back
    headers = {"Authorization": f"Bearer {key}"}
    created = httpx.post(f"{served}/v1/briefs", json=BRIEF, headers=headers)
    assert created.status_code == 201 and created.json()["id"].startswith("brf_")
    got = httpx.get(f"{served}/v1/briefs/{created.json()['id']}", headers=headers)
    assert got.json()["product"]["name"] == BRIEF["product"]["name"]
    # errors reach the command line as messages and exit codes, the key never among them
    monkeypatch.setenv("ADLOOM_API_KEY", "adl_wrong")
    r = runner.invoke(app, ["api", "batches", "get", batch["id"]])
    assert r.exit_code == 1 and "401" in r.output and "adl_wrong" not in r.output
    monkeypatch.setenv("ADLOOM_API_URL", f"http://127.0.0.1:{_free_port()}")
    r = runner.invoke(app, ["api", "health"])
    assert r.exit_code == 4 and "cannot reach" in r.output
