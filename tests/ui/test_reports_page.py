"""The Reports page in Streamlit's AppTest, against the real API on loopback (``local_api``).

Campaign figures are synthetic: creatives from sample-library scripts with delivery drawn by the delivery
simulator (tests/serving/api/campaign_seed.py); nothing here is real delivery."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from adloom.core.client import URL_ENV
from adloom.core.settings import Settings
from adloom.core.storage import Store, open_store
from adloom.serving.tenant_files import tenant_root
from adloom.serving.ui_cli import LocalApi
from tests.serving.api.campaign_seed import as_csv, seed_campaign, synthetic_creatives, synthetic_feedback
from tests.serving.api.conftest import tiny_mp4

CAMPAIGN = "cmp_spring"


@pytest.fixture
def store(local_api: LocalApi, ui_settings: Settings) -> Store:
    return open_store(ui_settings.db_url).scoped("local")


def _texts(at: Any) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "success", "error") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def _charts(at: Any) -> list[dict[str, Any]]:
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


def test_campaign_tiles_charts_players_and_downloads(
    page_test: Callable[..., Any], store: Store, ui_settings: Settings
):
    creatives = seed_campaign(store, CAMPAIGN, n=5)
    best = creatives[0]  # give every creative a video so whichever ranks first has a player
    for c in creatives:
        c.video_path = str(tiny_mp4(tenant_root(ui_settings, "local") / "batches" / "b" / c.id / "video.mp4"))
    store.save_creatives(creatives)
    at = page_test("reports").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="reports.campaign").value == CAMPAIGN
    tiles = {m.label: m for m in at.metric}
    assert set(tiles) == {"3 s-play rate", "CTR", "CVR", "CTCVR"}
    assert all(m.value.endswith("%") and (m.delta or "").endswith("%") for m in tiles.values())
    assert "95% interval" in _texts(at) and "Change vs industry baseline" in _texts(at)
    marks = [json.dumps(spec) for spec in _charts(at)]
    assert len(marks) == 3 and all('"tooltip"' in m for m in marks)  # trend, predicted vs actual, breakdown
    assert len(at.get("video")) >= 2 and best.id  # top and bottom creatives play their mp4
    html = at.download_button(key="reports.download.html")
    assert html.label == "Download HTML report"
    # another metric and dimension: the charts follow, nothing breaks
    at.segmented_control(key="reports.chart_metric").set_value("cvr").run()
    at.selectbox(key="reports.dimension").set_value("placement").run()
    assert not at.exception and len(_charts(at)) == 3
    assert "Placement" in json.dumps(_charts(at)[-1])


def test_empty_state_then_feedback_import_with_bad_rows(page_test: Callable[..., Any], store: Store):
    at = page_test("reports").run()
    assert not at.exception
    assert "No campaign has data yet" in at.info[0].value and "import feedback below" in at.info[0].value

    creatives = synthetic_creatives("cmp_new", n=3)
    store.save_creatives(creatives)
    events = synthetic_feedback(creatives, n_impressions=5000, n_days=3)
    good = as_csv(events).decode()
    bad_rows = "bad-1,crv_nope,click,2026-04-02T10:00:00Z,1,,feed,x\nbad-2,{cid},teleport,2026-04-02T10:00:00Z,1,,,\n"
    body = (good + bad_rows.format(cid=creatives[0].id)).encode()
    at = page_test("reports").run()
    assert "Campaign cmp_new has no feedback yet" in _texts(at)
    at.file_uploader(key="reports.feedback_file").set_value(("delivery.csv", body, "text/csv")).run()
    at.button(key="reports.import").click().run()
    assert not at.exception, at.exception
    assert "delivery.csv" in at.warning[0].value and "2 rejected" in at.warning[0].value
    issues = at.dataframe[-1].value
    assert list(issues["Row"]) == [len(events) + 1, len(events) + 2]
    assert "crv_nope" in issues["Reason"].iloc[0] and issues["Outcome"].iloc[0] == "Rejected"
    assert len(at.metric) == 4  # the new campaign's tiles appear after the import


def test_parquet_feedback_is_imported(page_test: Callable[..., Any], store: Store):
    creatives = synthetic_creatives("cmp_pq", n=2)
    store.save_creatives(creatives)
    frame = pd.DataFrame(synthetic_feedback(creatives, n_impressions=2000, n_days=2))
    buf = io.BytesIO()
    frame.to_parquet(buf)
    at = page_test("reports", lang="zh").run()
    at.file_uploader(key="reports.feedback_file").set_value(
        ("回传.parquet", buf.getvalue(), "application/octet-stream")
    )
    at.run()
    at.button(key="reports.import").click().run()
    assert not at.exception, at.exception
    assert f"计入 {len(frame)} 行" in at.success[0].value
    assert {m.label for m in at.metric} == {"3秒播放率", "点击率(CTR)", "转化率(CVR)", "点击转化率(CTCVR)"}


def test_api_down_is_a_friendly_message(page_test: Callable[..., Any], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9")  # nothing listens on the discard port
    at = page_test("reports").run()
    assert not at.exception
    assert "Cannot reach the adloom service" in at.error[0].value and "Traceback" not in at.error[0].value
