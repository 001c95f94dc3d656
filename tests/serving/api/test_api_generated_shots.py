"""Generated shots through the batch API: ``shots`` in a batch (JSON form and JSONL lines) is checked against the
server's video settings when it is submitted (no model, or a real model on the CPU: a 400 naming the setting and
nothing queued), and a ``generate_all`` batch runs through the real worker and LocalExecutor with the toy model
(SQLite, 360p, one creative, espeak voices): every shot of the creative comes from the model and passed the gate.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage.queue import JobQueue
from adloom.core.types import Batch
from adloom.creative.video.toy import toy_gate_limits
from adloom.serving.api import create_app
from adloom.serving.jobs.executors import LocalExecutor
from adloom.serving.jobs.worker import Worker
from tests.serving.api.conftest import BRIEF, Tenants

REPO = Path(__file__).resolve().parents[3]
TOY = REPO / "adloom" / "creative" / "video" / "toy" / "checkpoint"
LOOSE_GATE = toy_gate_limits()
TOY_SETTINGS: dict[str, Any] = {
    "video_model_path": TOY,
    "video_device": "cpu",
    "video_bucket": "tiny",
    "video_steps": 8,
    "video_max_frames": 9,
    "video_gate_attempts": 1,
    "video_gate": LOOSE_GATE,
}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: what is checked here is the submission and the render item, not the job table's SQL."""
    return f"sqlite:///{tmp_path}/adloom.db"


def _client(settings: Settings, root_store: Store) -> TestClient:
    return TestClient(create_app(settings, root_store))


def _brief(c: TestClient, tenants: Tenants) -> str:
    r = c.post("/v1/briefs", json={**BRIEF, "duration_s": 8}, headers=tenants.a)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _no_batches(root_store: Store) -> None:
    assert JobQueue(root_store.scoped("acme")).list_batches(limit=10).data == []


def _refused(c: TestClient, tenants: Tenants, brief_id: str, shots: str) -> dict[str, Any]:
    """The JSON form and a JSONL line asking for ``shots`` are both refused; the JSON form's error."""
    r = c.post("/v1/batches", json={"brief_id": brief_id, "n": 2, "shots": shots, "height": 360}, headers=tenants.a)
    assert r.status_code == 400, r.text
    line = {"custom_id": "one", "brief_id": brief_id, "height": 360, "shots": shots}
    jsonl = c.post(
        "/v1/batches",
        content=json.dumps(line) + "\n",
        headers={**tenants.a, "Content-Type": "application/jsonl"},
    )
    assert jsonl.status_code == 400, jsonl.text
    assert jsonl.json()["error"]["param"] == r.json()["error"]["param"]
    return dict(r.json()["error"])


def test_a_server_without_a_video_model_refuses_generated_shots_and_queues_nothing(
    settings: Settings, root_store: Store, tenants: Tenants
):
    assert settings.video_model_path is None
    with _client(settings, root_store) as c:
        brief_id = _brief(c, tenants)
        for shots in ("generate_missing", "generate_all"):
            error = _refused(c, tenants, brief_id, shots)
            assert error["param"] == "video_model_path", error
            assert "ADLOOM_VIDEO_MODEL_PATH" in error["message"] and f"shots={shots}" in error["message"]
            assert "footage_only" in error["message"]
        _no_batches(root_store)
        r = c.post("/v1/batches", json={"brief_id": brief_id, "n": 1, "shots": "generate_some"}, headers=tenants.a)
        assert r.status_code == 400 and r.json()["error"]["param"] == "shots", r.text
        _no_batches(root_store)

        r = c.post("/v1/batches", json={"brief_id": brief_id, "n": 1, "shots": "footage_only"}, headers=tenants.a)
        assert r.status_code == 201, r.text  # footage only needs no model
        (item,) = JobQueue(root_store.scoped("acme")).list_items(r.json()["id"], limit=5).data
        assert item.request["shots"] == "footage_only"


def test_a_real_model_on_the_cpu_is_refused_naming_the_device(
    settings: Settings, root_store: Store, tenants: Tenants, tmp_path: Path
):
    big = tmp_path / "big-model"
    (big / "transformer").mkdir(parents=True)
    shutil.copy(TOY / "model_index.json", big / "model_index.json")
    with open(big / "transformer" / "diffusion_pytorch_model.safetensors", "wb") as f:
        f.truncate(100 * 2**20)  # sparse: 100 MB on paper, nothing on disk
    cpu = settings.model_copy(update={"video_model_path": big, "video_device": "cpu"})
    with _client(cpu, root_store) as c:
        brief_id = _brief(c, tenants)
        error = _refused(c, tenants, brief_id, "generate_missing")
        assert error["param"] == "video_device" and "ADLOOM_VIDEO_DEVICE" in error["message"], error
        _no_batches(root_store)

    # On CUDA the same model is accepted at submission: whether the executor has a GPU is the worker's to check.
    cuda = settings.model_copy(update={"video_model_path": big, "video_device": "cuda"})
    with _client(cuda, root_store) as c:
        r = c.post("/v1/batches", json={"brief_id": brief_id, "n": 1, "shots": "generate_all"}, headers=tenants.a)
        assert r.status_code == 201, r.text


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch, real_models: Path) -> Iterator[None]:
    """What the render processes read from the environment: espeak voices (fast) and the assembled models."""
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "espeak")
    yield


def _run_until_ended(worker: Worker, queue: JobQueue, batch_id: str, timeout: float = 300) -> Batch:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"grace_s": 5})
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not (batch := queue.get_batch(batch_id)).status.terminal:
            assert time.monotonic() < deadline, f"batch still {batch.status} after {timeout}s"
            time.sleep(0.2)
        return batch
    finally:
        stop.set()
        thread.join(timeout=60)


def test_a_generate_all_batch_renders_every_shot_with_the_toy_model_through_the_worker(
    settings: Settings, root_store: Store, tenants: Tenants, worker_env: None
):
    toy = settings.model_copy(update={**TOY_SETTINGS, "batch_writer": "template", "tts_backend": "espeak"})
    with _client(toy, root_store) as c:
        brief_id = _brief(c, tenants)
        r = c.post(
            "/v1/batches",
            json={"brief_id": brief_id, "n": 1, "shots": "generate_all", "height": 360, "writer": "template"},
            headers=tenants.a,
        )
        assert r.status_code == 201, r.text
        batch_id = r.json()["id"]

        queue = JobQueue(root_store.scoped("acme"))
        executor = LocalExecutor(1)
        try:
            worker = Worker(root_store, toy, executor, slots=1, lease_s=60, poll_s=0.1)
            ended = _run_until_ended(worker, queue, batch_id)
        finally:
            executor.close()
        assert ended.status.value == "completed", list(queue.iter_errors(batch_id))
        (result,) = list(queue.iter_results(batch_id))
        creative = root_store.scoped("acme").get_creative(result["creative_id"])
        manifest = json.loads(Path(creative.manifest_path).read_text(encoding="utf-8"))
        n_shots = len(creative.script.shots)
        assert manifest["shot_sources"] == ["generated"] * n_shots, manifest.get("shot_sources")
        generation = manifest["generation"]
        assert generation["mode"] == "generate_all" and generation["device"] == "cpu"
        assert generation["model"] == TOY.name
        assert [g["shot"] for g in generation["shots"]] == list(range(n_shots))
        assert all(g["gate_passed"] is True and g["used"] for g in generation["shots"]), generation["shots"]
        assert c.get(f"/v1/creatives/{creative.id}", headers=tenants.a).status_code == 200


def test_the_worker_fails_generated_items_as_invalid_input_when_its_executor_has_no_gpu(
    settings: Settings, root_store: Store, tenants: Tenants, tmp_path: Path, worker_env: None
):
    """A CUDA model accepted by the API, on a worker whose executor has no GPU: the item fails at once as
    invalid input naming video_device (not retried, nothing rendered)."""
    big = tmp_path / "big-model"
    (big / "transformer").mkdir(parents=True)
    shutil.copy(TOY / "model_index.json", big / "model_index.json")
    with open(big / "transformer" / "diffusion_pytorch_model.safetensors", "wb") as f:
        f.truncate(100 * 2**20)
    cuda = settings.model_copy(update={"video_model_path": big, "video_device": "cuda", "batch_writer": "template"})
    with _client(cuda, root_store) as c:
        brief_id = _brief(c, tenants)
        r = c.post("/v1/batches", json={"brief_id": brief_id, "n": 1, "shots": "generate_missing"}, headers=tenants.a)
        assert r.status_code == 201, r.text
    executor = LocalExecutor(1)
    executor.has_gpu = lambda: False  # type: ignore[method-assign]  # as on a CPU-only machine, wherever this runs
    queue = JobQueue(root_store.scoped("acme"))
    try:
        ended = _run_until_ended(Worker(root_store, cuda, executor, slots=1, poll_s=0.1), queue, r.json()["id"], 120)
    finally:
        executor.close()
    assert ended.status.value == "failed"
    (error,) = list(queue.iter_errors(ended.id))
    assert error["error"]["code"] == "invalid_input" and error["error"]["param"] == "video_device", error
    (item,) = queue.list_items(ended.id, limit=5).data
    assert item.attempts == 1
