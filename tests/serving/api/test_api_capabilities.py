"""``GET /v1/capabilities`` on a real app and store: whether generated shots are available is the batch route's own
check (no model → the refusal a batch gets, naming video_model_path; the toy model on the CPU → available; a real
model on the CPU → the refusal naming video_device), the model is named by its folder only, and the route needs a
key like every other /v1 route."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.serving.api import create_app
from tests.serving.api.conftest import BRIEF, Tenants
from tests.serving.api.test_api_generated_shots import TOY, TOY_SETTINGS


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the route reads settings, not tables."""
    return f"sqlite:///{tmp_path}/adloom.db"


def _video(c: TestClient, tenants: Tenants) -> dict[str, Any]:
    r = c.get("/v1/capabilities", headers=tenants.a)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"video_generation"}
    video = dict(r.json()["video_generation"])
    assert set(video) == {"available", "reason", "model", "device"}
    return video


def _batch_refusal(c: TestClient, tenants: Tenants) -> str:
    r = c.post("/v1/briefs", json=BRIEF, headers=tenants.a)
    assert r.status_code == 201, r.text
    body = {"brief_id": r.json()["id"], "n": 1, "shots": "generate_missing", "height": 360}
    r = c.post("/v1/batches", json=body, headers=tenants.a)
    assert r.status_code == 400, r.text
    return str(r.json()["error"]["message"])


def test_without_a_video_model_generation_is_unavailable_with_the_batch_routes_reason(
    settings: Settings, root_store: Store, tenants: Tenants
):
    assert settings.video_model_path is None
    with TestClient(create_app(settings, root_store)) as c:
        video = _video(c, tenants)
        assert video["available"] is False and video["model"] is None and video["device"] is None
        assert "video_model_path" in video["reason"] and "ADLOOM_VIDEO_MODEL_PATH" in video["reason"]
        assert video["reason"] == _batch_refusal(c, tenants)  # the same message a refused batch gets


def test_the_toy_model_on_the_cpu_is_available_named_by_its_folder(
    settings: Settings, root_store: Store, tenants: Tenants
):
    toy = settings.model_copy(update=TOY_SETTINGS)
    with TestClient(create_app(toy, root_store)) as c:
        r = c.get("/v1/capabilities", headers=tenants.a)
        video = _video(c, tenants)
    assert video == {"available": True, "reason": None, "model": TOY.name, "device": "cpu"}
    assert str(TOY.parent) not in r.text


def test_a_real_model_on_the_cpu_is_unavailable_naming_the_device_and_no_path(
    settings: Settings, root_store: Store, tenants: Tenants, tmp_path: Path
):
    big = tmp_path / "models" / "big-model"
    (big / "transformer").mkdir(parents=True)
    shutil.copy(TOY / "model_index.json", big / "model_index.json")
    with open(big / "transformer" / "diffusion_pytorch_model.safetensors", "wb") as f:
        f.truncate(100 * 2**20)  # sparse: 100 MB on paper, nothing on disk
    cpu = settings.model_copy(update={"video_model_path": big, "video_device": "CPU"})
    with TestClient(create_app(cpu, root_store)) as c:
        video = _video(c, tenants)
        refusal = _batch_refusal(c, tenants)
    assert video["available"] is False and video["model"] == "big-model" and video["device"] == "cpu"
    assert "video_device" in video["reason"] and "ADLOOM_VIDEO_DEVICE" in video["reason"]
    assert "big-model" in video["reason"] and str(tmp_path) not in video["reason"]
    assert video["reason"] == refusal and str(tmp_path) not in refusal  # the batch's 400 hides the path too

    missing = settings.model_copy(update={"video_model_path": tmp_path / "models" / "gone", "video_device": "cpu"})
    with TestClient(create_app(missing, root_store)) as c:
        video = _video(c, tenants)
    assert video["available"] is False and "'gone' does not exist" in video["reason"], video
    assert str(tmp_path) not in video["reason"]


def test_capabilities_need_an_api_key(settings: Settings, root_store: Store, tenants: Tenants):
    with TestClient(create_app(settings, root_store)) as c:
        r = c.get("/v1/capabilities")
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key", r.text
        r = c.get("/v1/capabilities", headers={"Authorization": "Bearer not-a-key"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key", r.text
