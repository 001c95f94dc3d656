"""Objects of one tenant made through the API (and one rendered creative saved as the render job would)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.types import Creative, CreativeStatus, Script
from adloom.serving.tenant_files import tenant_root
from tests.serving.api.conftest import BRIEF, png_bytes, tiny_mp4


@dataclass
class Seeded:
    brief_id: str
    script_ids: list[str]
    creative_id: str
    upload_id: str
    batch_id: str
    report_id: str
    endpoint_id: str


def seed_tenant(client: TestClient, headers: dict[str, str], root: Store, settings: Settings, tenant: str) -> Seeded:
    r = client.post("/v1/uploads", files={"file": ("product.png", png_bytes(), "image/png")}, headers=headers)
    assert r.status_code == 201, r.text
    upload_id = r.json()["id"]
    brief = {**BRIEF, "assets": [{"kind": "image", "path": f"upload:{upload_id}", "description": "pack shot"}]}
    r = client.post("/v1/briefs", json=brief, headers=headers)
    assert r.status_code == 201, r.text
    brief_id = r.json()["id"]
    r = client.post("/v1/scripts", json={"brief_id": brief_id, "n": 2, "writer": "template"}, headers=headers)
    assert r.status_code == 201, r.text
    scripts = [Script.model_validate(x) for x in r.json()["data"]]
    folder = tenant_root(settings, tenant) / "batches" / "bat_seed" / "crv_seed"
    video = tiny_mp4(folder / "video.mp4")
    cover = folder / "cover.png"
    cover.write_bytes(png_bytes((64, 64)))
    subtitles = folder / "subtitles.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nOat Crunch Bar 🍫\n", encoding="utf-8")
    manifest = folder / "manifest.json"
    manifest.write_text('{"aigc": true}\n', encoding="utf-8")
    creative = Creative(
        brief_id=brief_id,
        campaign_id=BRIEF["campaign_id"],
        script=scripts[0],
        status=CreativeStatus.rendered,
        video_path=str(video),
        cover_path=str(cover),
        subtitles_path=str(subtitles),
        manifest_path=str(manifest),
    )
    root.scoped(tenant).save_creatives([creative])
    r = client.post("/v1/batches", json={"brief_id": brief_id, "n": 3}, headers=headers)
    assert r.status_code == 201, r.text
    batch_id = r.json()["id"]
    r = client.post("/v1/reports", json={"campaign_id": BRIEF["campaign_id"], "format": "json"}, headers=headers)
    assert r.status_code == 201, r.text
    report_id = r.json()["id"]
    hook = {"url": "https://hooks.example.com/adloom", "events": ["batch.completed"]}
    r = client.post("/v1/webhook_endpoints", json=hook, headers=headers)
    assert r.status_code == 201, r.text
    return Seeded(brief_id, [s.id for s in scripts], creative.id, upload_id, batch_id, report_id, r.json()["id"])


def video_path(settings: Settings, tenant: str) -> Path:
    return tenant_root(settings, tenant) / "batches" / "bat_seed" / "crv_seed" / "video.mp4"
