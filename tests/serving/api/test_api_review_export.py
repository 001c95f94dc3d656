"""Review, export and the library percentiles over the real API (SQLite, then PostgreSQL): a person approves or
rejects a creative (never another tenant's), the approved ones leave as a ZIP an ad platform's bulk upload takes,
and the ranking places each prediction in the library with an interval it only trusts with enough data."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.types import Creative, CreativeStatus, LibraryItem, Performance, Script
from adloom.serving.export import MANIFEST_COLUMNS
from tests.serving.api.conftest import Tenants
from tests.serving.api.seed import Seeded, seed_tenant


@pytest.fixture
def seeded(client: TestClient, tenants: Tenants, root_store: Store, settings: Settings) -> Seeded:
    return seed_tenant(client, tenants.a, root_store, settings, "acme")


def _second_creative(client: TestClient, tenants: Tenants, root: Store, seeded: Seeded, status: CreativeStatus) -> str:
    script = Script.model_validate(client.get(f"/v1/scripts/{seeded.script_ids[1]}", headers=tenants.a).json())
    first = root.scoped("acme").get_creative(seeded.creative_id)
    other = first.model_copy(update={"id": f"crv_{status.value}", "script": script, "status": status})
    root.scoped("acme").save_creatives([other])
    return other.id


def test_review_round_trip_filters_and_tenant_isolation(
    client: TestClient, tenants: Tenants, seeded: Seeded, root_store: Store
):
    cid = seeded.creative_id
    r = client.post(f"/v1/creatives/{cid}/review", json={"decision": "approved"}, headers=tenants.a)
    assert r.status_code == 200, r.text
    got = Creative.model_validate(client.get(f"/v1/creatives/{cid}", headers=tenants.a).json())
    assert got.review is not None and got.review.decision == "approved" and got.status == CreativeStatus.rendered
    listed = client.get("/v1/creatives", params={"review": "approved"}, headers=tenants.a).json()["data"]
    assert [c["id"] for c in listed] == [cid]
    assert client.get("/v1/creatives", params={"review": "none"}, headers=tenants.a).json()["data"] == []

    body = {"decision": "rejected", "reason": "price is wrong"}
    r = client.post(f"/v1/creatives/{cid}/review", json=body, headers=tenants.a)
    assert r.json()["review"]["decision"] == "rejected" and r.json()["review"]["reason"] == "price is wrong"
    assert client.get("/v1/creatives", params={"review": "approved"}, headers=tenants.a).json()["data"] == []
    # a re-rank saving the creative without a review keeps the person's verdict
    root_store.scoped("acme").save_creatives([got.model_copy(update={"review": None, "scores": {"prior": 1.0}})])
    assert root_store.scoped("acme").get_creative(cid).review.decision == "rejected"  # type: ignore[union-attr]

    r = client.post(f"/v1/creatives/{cid}/review", json={"decision": "approved"}, headers=tenants.b)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    assert client.get("/v1/creatives", params={"review": "rejected"}, headers=tenants.b).json()["data"] == []
    assert client.post(f"/v1/creatives/{cid}/review", json={"decision": "maybe"}, headers=tenants.a).status_code == 400

    failed = _second_creative(client, tenants, root_store, seeded, CreativeStatus.rejected)
    r = client.post(f"/v1/creatives/{failed}/review", json={"decision": "approved"}, headers=tenants.a)
    assert r.status_code == 409 and "quality gate" in r.json()["error"]["message"]


def test_export_zip_holds_the_approved_creatives_and_a_manifest(
    client: TestClient, tenants: Tenants, seeded: Seeded, root_store: Store, tmp_path: Path
):
    cid = seeded.creative_id
    unreviewed = _second_creative(client, tenants, root_store, seeded, CreativeStatus.rendered)
    r = client.post("/v1/exports", json={"creative_ids": [cid, unreviewed]}, headers=tenants.a)
    assert r.status_code == 422 and "approve" in r.json()["error"]["message"]
    client.post(f"/v1/creatives/{cid}/review", json={"decision": "approved", "reason": "good hook"}, headers=tenants.a)

    r = client.post("/v1/exports", json={"creative_ids": [cid, unreviewed]}, headers=tenants.a)
    assert r.status_code == 201, r.text
    export = r.json()
    assert export["count"] == 1 and export["creative_ids"] == [cid]
    assert [s["creative_id"] for s in export["skipped"]] == [unreviewed] and "not approved" in export["skipped"][0][
        "reason"
    ]
    zipped = client.get(export["url"], headers=tenants.a)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        names = set(zf.namelist())
        assert names == {"manifest.csv", f"videos/{cid}.mp4", f"covers/{cid}.png", f"subtitles/{cid}.srt"}
        stored = root_store.scoped("acme").get_creative(cid)
        assert zf.read(f"videos/{cid}.mp4") == Path(stored.video_path or "").read_bytes()
        rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8-sig"))))
    assert len(rows) == 1 and tuple(rows[0]) == MANIFEST_COLUMNS and rows == export["manifest"]
    row = rows[0]
    assert row["creative_id"] == cid and row["video_file"] == f"videos/{cid}.mp4"
    assert row["cover_file"] == f"covers/{cid}.png" and row["subtitle_file"] == f"subtitles/{cid}.srt"
    assert row["review"] == "approved" and row["review_reason"] == "good hook" and row["platform"] == "tiktok"
    assert row["call_to_action"] and row["ad_text"] == stored.script.hook and row["aigc_label"] == "true"

    assert client.get(export["url"], headers=tenants.b).status_code == 404  # another tenant's export
    r = client.post("/v1/exports", json={"creative_ids": [cid]}, headers=tenants.b)
    assert r.status_code == 404  # another tenant's creative
    r = client.post("/v1/exports", json={"creative_ids": ["crv_nope"]}, headers=tenants.a)
    assert r.status_code == 404
    r = client.post("/v1/exports", json={"creative_ids": []}, headers=tenants.a)
    assert r.status_code == 422 and "select at least one" in r.json()["error"]["message"]
    r = client.post("/v1/exports", json={"batch_id": seeded.batch_id}, headers=tenants.a)  # nothing rendered yet
    assert r.status_code == 422 and r.json()["error"]["code"] == "nothing_to_export"
    r = client.post("/v1/exports", json={"creative_ids": [cid], "batch_id": seeded.batch_id}, headers=tenants.a)
    assert r.status_code == 400 and "exactly one" in r.json()["error"]["message"]
    r = client.post("/v1/exports", json={"creative_ids": [unreviewed], "review": "any"}, headers=tenants.a)
    assert r.status_code == 201 and r.json()["creative_ids"] == [unreviewed]


def _check_percentiles(candidate: dict) -> None:
    for key in ("ctr", "cvr"):
        low, high = candidate[f"{key}_interval"]
        assert 0 <= low <= candidate[f"{key}_percentile"] <= high <= 100, candidate


def test_ranking_places_predictions_in_the_library_and_says_when_it_is_unsure(
    client: TestClient, tenants: Tenants, seeded: Seeded, root_store: Store
):
    r = client.post("/v1/ranking/score", json={"script_ids": seeded.script_ids}, headers=tenants.a)
    assert r.status_code == 200, r.text
    for candidate in r.json()["data"]:  # the seeded sample library: hundreds of items
        _check_percentiles(candidate)
        assert candidate["reference_n"] >= 20

    # tenant beta's library is three past creatives: too little to place anything
    script = Script.model_validate(client.get(f"/v1/scripts/{seeded.script_ids[0]}", headers=tenants.a).json())
    root_store.scoped("beta").upsert_library_items(
        [
            LibraryItem(
                title=f"Bar {i}", industry=script.industry, platform=script.platform, language=script.language,
                aspect=script.aspect, script=script,
                performance=Performance(impressions=5000 + i, clicks=100 + i, conversions=40 + i),
            )
            for i in range(3)
        ]
    )  # fmt: skip
    r = client.post("/v1/ranking/score", json={"scripts": [script.model_dump(mode="json")]}, headers=tenants.b)
    assert r.status_code == 200, r.text
    (candidate,) = r.json()["data"]
    _check_percentiles(candidate)
    assert candidate["confident"] is False and candidate["reference_n"] == 3
