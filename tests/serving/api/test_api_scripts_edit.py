"""The console's script editing over the API: structure an exemplar / pasted script / SRT into a stored script,
variants led by the picked exemplar, the compliance check with its one-click fix, shot edits (refused with the
findings while a line breaks a rule; stored as the advertiser's lines otherwise), and render batches from the
chosen stored scripts: one batch per Idempotency-Key, and the worker renders those scripts, not new ones."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage.queue import JobQueue
from adloom.serving.jobs.executors import LocalExecutor
from adloom.serving.jobs.worker import Worker
from adloom.ui.create_script import render_idempotency_key
from tests.serving.api.conftest import BRIEF, Tenants

SRT = """1
00:00:00,000 --> 00:00:02,500
Skipped breakfast again?

2
00:00:02,500 --> 00:00:05,000
Ten grams of protein in your pocket.

3
00:00:05,000 --> 00:00:07,000
Tap the link and grab a box today.
"""


def _brief(client: TestClient, tenants: Tenants) -> str:
    return str(client.post("/v1/briefs", json=BRIEF, headers=tenants.a).json()["id"])


def _exemplar(client: TestClient, tenants: Tenants) -> str:
    hits = client.get("/v1/library/search", params={"q": "oat protein bar", "industry": "food"}, headers=tenants.a)
    assert hits.status_code == 200, hits.text
    return str(hits.json()["data"][0]["id"])


def _structure(client: TestClient, tenants: Tenants, **body: Any) -> Any:
    return client.post("/v1/scripts/structure", json=body, headers=tenants.a)


def test_structure_an_exemplar_a_pasted_script_and_an_srt(client: TestClient, tenants: Tenants):
    brief_id, exemplar_id = _brief(client, tenants), _exemplar(client, tenants)
    r = _structure(client, tenants, brief_id=brief_id, exemplar_id=exemplar_id)
    assert r.status_code == 201, r.text
    script = r.json()
    assert script["brief_id"] == brief_id and script["provenance"]["exemplar_ids"] == [exemplar_id]
    assert len(script["shots"]) >= 2 and script["shots"][0]["role"] == "hook"
    assert all(s["narration"] or s["visual"] for s in script["shots"])
    stored = client.get(f"/v1/scripts/{script['id']}", headers=tenants.a).json()
    assert stored["shots"] == script["shots"]
    again = _structure(client, tenants, brief_id=brief_id, exemplar_id=exemplar_id).json()
    assert again["id"] != script["id"]  # every pick is a script of its own, never the library's copy

    pasted = (
        "Shot 1: Visual: a student yawns VO: Skipped breakfast again?\nShot 2: VO: Ten grams of protein. Caption: 10 g"
    )
    r = _structure(client, tenants, brief_id=brief_id, text=pasted)
    assert r.status_code == 201, r.text
    shots = r.json()["shots"]
    assert [s["narration"] for s in shots] == ["Skipped breakfast again?", "Ten grams of protein."]
    assert shots[0]["visual"] == "a student yawns" and shots[1]["caption"] == "10 g"

    r = _structure(client, tenants, brief_id=brief_id, srt=SRT)
    assert r.status_code == 201, r.text
    timed = r.json()
    assert [s["duration_s"] for s in timed["shots"]] == [2.5, 2.5, 2.0] and timed["cta"].startswith("Tap the link")


def test_structure_refusals_name_the_problem(client: TestClient, tenants: Tenants):
    brief_id = _brief(client, tenants)
    r = _structure(client, tenants, brief_id=brief_id, srt="just some words, no cue timings")
    assert r.status_code == 422 and r.json()["error"]["param"] == "srt"
    assert "00:00:01,000 --> 00:00:03,500" in r.json()["error"]["message"]
    r = _structure(client, tenants, brief_id=brief_id, text="   \n ")
    assert r.status_code == 422 and "empty" in r.json()["error"]["message"]
    r = _structure(client, tenants, brief_id=brief_id, exemplar_id="lib_nope")
    assert r.status_code == 404 and "lib_nope" in r.json()["error"]["message"]
    r = _structure(client, tenants, brief_id="brf_nope", text="Hi. Buy it.")
    assert r.status_code == 404
    r = _structure(client, tenants, brief_id=brief_id, text="Hi.", srt=SRT)
    assert r.status_code == 400 and "exactly one of exemplar_id, text or srt" in r.json()["error"]["message"]


def test_variants_follow_the_picked_exemplar(client: TestClient, tenants: Tenants):
    brief_id, exemplar_id = _brief(client, tenants), _exemplar(client, tenants)
    r = client.post("/v1/scripts", json={"brief_id": brief_id, "n": 2, "exemplar_id": exemplar_id}, headers=tenants.a)
    assert r.status_code == 201, r.text
    variants = r.json()["data"]
    assert len(variants) == 2 and len({v["id"] for v in variants}) == 2
    assert all(v["provenance"]["exemplar_ids"][0] == exemplar_id for v in variants)


def test_compliance_check_finds_terms_and_offers_the_fixed_text(client: TestClient, tenants: Tenants):
    text = "The best oat bar ever. It cures acne too."
    r = client.post(
        "/v1/compliance/check", json={"text": text, "language": "en", "industry": "food"}, headers=tenants.a
    )
    assert r.status_code == 200, r.text
    body = r.json()
    terms = {f["term"].lower(): f for f in body["findings"]}
    assert any("best" in t for t in terms) and any("cure" in t for t in terms), terms
    for f in body["findings"]:
        assert text[f["start"] : f["end"]] == f["term"] and f["reason"] and f["rule"]
    fixed = body["fixed_text"]
    assert "best" not in fixed.lower() and "cure" not in fixed.lower() and "oat bar" in fixed
    recheck = client.post(
        "/v1/compliance/check", json={"text": fixed, "language": "en", "industry": "food"}, headers=tenants.a
    ).json()
    assert [f for f in recheck["findings"] if f["severity"] == "fix"] == []

    zh = client.post(
        "/v1/compliance/check",
        json={"text": "全网最好的燕麦棒", "language": "zh", "industry": "food"},
        headers=tenants.a,
    ).json()
    assert zh["findings"] and "最好" not in zh["fixed_text"] and "燕麦棒" in zh["fixed_text"]
    clean = client.post(
        "/v1/compliance/check", json={"text": "Ten grams of protein.", "language": "en", "industry": "food"},
        headers=tenants.a,
    ).json()  # fmt: skip
    assert clean == {"object": "compliance.check", "findings": [], "fixed_text": "Ten grams of protein."}


def test_edits_are_checked_refused_with_findings_then_stored_as_the_advertisers(client: TestClient, tenants: Tenants):
    brief_id = _brief(client, tenants)
    script = client.post("/v1/scripts", json={"brief_id": brief_id, "n": 1}, headers=tenants.a).json()["data"][0]
    path = f"/v1/scripts/{script['id']}"

    bad = client.patch(path, json={"shots": [{"index": 1, "narration": "The best bar for busy mornings."}]},
                       headers=tenants.a)  # fmt: skip
    assert bad.status_code == 422, bad.text
    error = bad.json()["error"]
    assert error["code"] == "compliance_findings" and error["param"] == "shots"
    (finding,) = error["details"]
    assert finding["field"] == "shots[1].narration" and "best" in finding["term"].lower() and finding["suggestion"]
    assert client.get(path, headers=tenants.a).json()["shots"] == script["shots"]  # nothing stored

    line = "A great bar for busy mornings."
    ok = client.patch(path, json={"shots": [{"index": 1, "narration": line, "caption": "Busy mornings"}]},
                      headers=tenants.a)  # fmt: skip
    assert ok.status_code == 200, ok.text
    edited = ok.json()
    assert edited["shots"][1]["narration"] == line and edited["shots"][1]["caption"] == "Busy mornings"
    origin = edited["provenance"]["lines"]["shots[1].narration"]
    assert origin["author"] == "advertiser" and origin["original"] == script["shots"][1]["narration"]
    assert edited["provenance"]["lines"]["shots[1].caption"]["author"] == "advertiser"
    assert edited["shots"][0] == script["shots"][0]  # untouched shots stay as written
    assert client.get(path, headers=tenants.a).json()["shots"][1]["narration"] == line

    r = client.patch(path, json={"shots": [{"index": 19, "narration": "Hi."}]}, headers=tenants.a)
    assert r.status_code == 400 and "shot index 19" in r.json()["error"]["message"]
    assert client.patch(path, json={"shots": [{"index": 0}]}, headers=tenants.b).status_code == 404


def test_render_chosen_scripts_once_per_key_and_the_worker_uses_them(
    client: TestClient, tenants: Tenants, settings: Settings, root_store: Store
):
    brief_id = _brief(client, tenants)
    written = client.post("/v1/scripts", json={"brief_id": brief_id, "n": 3}, headers=tenants.a).json()["data"]
    chosen = [written[0]["id"], written[2]["id"]]
    line = "A great bar for busy mornings."
    client.patch(f"/v1/scripts/{chosen[1]}", json={"shots": [{"index": 1, "narration": line}]}, headers=tenants.a)
    body = {"brief_id": brief_id, "script_ids": chosen, "aspect": "1:1", "height": 360}
    key = render_idempotency_key(brief_id, chosen, "1:1", 360)  # the key the console sends with Render
    assert (
        key
        == render_idempotency_key(brief_id, chosen[::-1], "1:1", 360)
        != render_idempotency_key(brief_id, chosen, "9:16", 360)
    )
    headers = {**tenants.a, "Idempotency-Key": key}
    first = client.post("/v1/batches", json=body, headers=headers)
    second = client.post("/v1/batches", json=body, headers=headers)
    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
    assert first.json()["id"] == second.json()["id"] and first.json()["request_counts"]["total"] == 2
    assert [b["id"] for b in client.get("/v1/batches", headers=tenants.a).json()["data"]] == [first.json()["id"]]

    executor = LocalExecutor(1)
    try:
        assert Worker(root_store, settings, executor, slots=1).plan_once()
    finally:
        executor.close()
    items = JobQueue(root_store.scoped("acme")).list_items(first.json()["id"], limit=10).data
    assert [i.status.value for i in items] == ["queued", "queued"]
    assert [i.request["script"]["id"] for i in items] == chosen  # the stored scripts, not newly written ones
    assert items[1].request["script"]["shots"][1]["narration"] == line and items[0].request["aspect"] == "1:1"

    other = _brief(client, tenants)
    r = client.post("/v1/batches", json={"brief_id": other, "script_ids": chosen}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "script_ids"
    r = client.post("/v1/batches", json={"brief_id": brief_id, "script_ids": ["scr_nope"]}, headers=tenants.a)
    assert r.status_code == 404 and "scr_nope" in r.json()["error"]["message"]
    r = client.post("/v1/batches", json={"brief_id": brief_id, "n": 3, "script_ids": chosen}, headers=tenants.a)
    assert r.status_code == 400 and "leave n out" in r.json()["error"]["message"]
    r = client.post("/v1/batches", json={"brief_id": brief_id}, headers=tenants.a)
    assert r.status_code == 400 and "script_ids" in r.json()["error"]["message"]
