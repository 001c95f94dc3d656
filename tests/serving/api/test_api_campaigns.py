"""Campaign metrics and library browsing over the real API (SQLite, then PostgreSQL). Campaign figures are
synthetic: creatives from sample-library scripts, delivery drawn by the delivery simulator (campaign_seed)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from adloom.analytics.report import build_report
from adloom.core.storage import Store
from tests.serving.api.campaign_seed import seed_campaign
from tests.serving.api.conftest import Tenants

CAMPAIGN = "cmp_spring"


@pytest.fixture
def seeded(root_store: Store) -> list[str]:
    acme = root_store.scoped("acme")
    ids = [c.id for c in seed_campaign(acme, CAMPAIGN, n=5)]
    seed_campaign(acme, "cmp_other", n=3, seed=11, n_impressions=20_000)  # the account baseline
    return ids


def _numbers(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at"}


def test_campaigns_list_and_metrics_equal_the_report(client: TestClient, tenants: Tenants, seeded: list[str]):
    listed = client.get("/v1/campaigns", headers=tenants.a).json()["data"]
    mine = {c["id"]: c for c in listed}
    assert set(mine) == {CAMPAIGN, "cmp_other"}
    assert mine[CAMPAIGN]["creatives"] == mine[CAMPAIGN]["creatives_with_feedback"] == 5
    assert mine[CAMPAIGN]["impressions"] == 60_000 and mine[CAMPAIGN]["first_day"] == "2026-04-01"

    r = client.get(f"/v1/campaigns/{CAMPAIGN}/metrics", headers=tenants.a)
    assert r.status_code == 200, r.text
    metrics = r.json()
    made = client.post("/v1/reports", json={"campaign_id": CAMPAIGN, "format": "json"}, headers=tenants.a).json()
    report = client.get(made["url"], headers=tenants.a).json()
    assert _numbers(metrics) == _numbers(report)  # one function behind the charts and the downloaded report

    tot = metrics["totals"]["rates"]
    for m in ("play_3s_rate", "ctr", "cvr", "ctcvr"):
        assert tot[m]["lo"] <= tot[m]["value"] <= tot[m]["hi"]
    assert {lf["baseline"] for lf in metrics["lifts"]} == {"account", "industry"}
    assert {c["creative_id"] for c in metrics["top"] + metrics["bottom"]} <= set(seeded)
    assert {c["score_key"] for c in metrics["calibration"]} == {"pplay_3s", "pctr", "pcvr", "pctcvr"}
    assert len(metrics["trend"]) == 7 and {r["key"] for r in metrics["by_placement"]} >= {"feed", "search"}
    assert set(metrics["by_attribute"]) == {"platform", "aspect", "hook_type", "angle", "writer"}
    shares = sum(r["funnel"]["impressions"] for r in metrics["by_attribute"]["platform"])
    assert shares == metrics["totals"]["impressions"]

    ranked = client.get(
        f"/v1/campaigns/{CAMPAIGN}/metrics", params={"rank_by": "ctr", "top_n": 1}, headers=tenants.a
    ).json()
    assert ranked["rank_by"] == "ctr" and len(ranked["top"]) == 1
    assert (
        ranked["top"][0]["creative_id"]
        == build_report(client.app.state.api.store.scoped("acme"), CAMPAIGN, rank_by="ctr", top_n=1).top[0].creative_id
    )


def test_campaigns_of_another_tenant_and_unknown_ones_are_404(client: TestClient, tenants: Tenants, seeded: list[str]):
    assert client.get("/v1/campaigns", headers=tenants.b).json()["data"] == []
    for headers, campaign in ((tenants.b, CAMPAIGN), (tenants.a, "cmp_nope")):
        r = client.get(f"/v1/campaigns/{campaign}/metrics", headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
        assert campaign in r.json()["error"]["message"]
    r = client.get(f"/v1/campaigns/{CAMPAIGN}/metrics", params={"rank_by": "likes"}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "rank_by"


def test_library_browse_filters_and_inspect(client: TestClient, tenants: Tenants):
    page = client.get("/v1/library/items", params={"limit": 5}, headers=tenants.a).json()
    assert page["total"] >= 100 and len(page["data"]) == 5 and page["has_more"]  # the sample library, seeded
    shown = [d["impressions"] for d in page["data"]]
    assert shown == sorted(shown, reverse=True)
    food = client.get(
        "/v1/library/items",
        params={"industry": "food", "min_impressions": 50_000, "sort": "ctr", "limit": 100},
        headers=tenants.a,
    ).json()
    assert food["data"] and all(d["industry"] == "food" and d["impressions"] >= 50_000 for d in food["data"])
    assert [d["ctr"] for d in food["data"]] == sorted((d["ctr"] for d in food["data"]), reverse=True)
    rest = client.get("/v1/library/items", params={"limit": 5, "offset": 5}, headers=tenants.a).json()
    assert not {d["id"] for d in rest["data"]} & {d["id"] for d in page["data"]}

    csv = "id,title,industry,platform,language,aspect,script_text,impressions,clicks,conversions\n"
    csv += 'lib_acme1,Oat bar,food,douyin,en,9:16,"Skipped breakfast? 10 g protein. Grab one.",1000,30,3\n'
    r = client.post("/v1/library/import", files={"file": ("lib.csv", csv.encode())}, headers=tenants.a)
    assert r.status_code == 200, r.text
    own = client.get("/v1/library/items", params={"source": "import"}, headers=tenants.a).json()
    assert [d["id"] for d in own["data"]] == ["lib_acme1"] and own["total"] == 1
    item = client.get("/v1/library/items/lib_acme1", headers=tenants.a).json()
    assert item["title"] == "Oat bar" and item["ctr"] == pytest.approx(0.03) and item["cvr"] == pytest.approx(0.1)
    assert item["script"]["shots"] and item["performance"]["impressions"] == 1000 and item["has_media"] is False
    assert "media_path" not in item  # no server path leaves the API
    for headers, item_id in ((tenants.b, "lib_acme1"), (tenants.a, "lib_nope")):
        r = client.get(f"/v1/library/items/{item_id}", headers=headers)
        assert r.status_code == 404 and item_id in r.json()["error"]["message"]
    r = client.get("/v1/library/items", params={"platform": "myspace"}, headers=tenants.a)
    assert r.status_code == 400 and r.json()["error"]["param"] == "platform"
