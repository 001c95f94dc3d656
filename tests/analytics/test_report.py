"""Campaign reports on a real SQLite store: statistics, baselines, calibration, HTML and PDF."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adloom.analytics.feedback import ingest_events
from adloom.analytics.report import build_report, ratio_lift, render_html, wilson, write_report
from adloom.core.errors import InputError, NotFoundError
from adloom.core.storage import Store, open_store
from adloom.core.types import Creative, LibraryItem, Performance, Provenance, Script, Shot

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _script(i: int, industry: str = "food") -> Script:
    return Script(
        language="en",
        industry=industry,
        title=f"Creative {i} <b>",
        hook=f"Hook {i}?",
        hook_type="demo",
        angle="value",
        cta="Order now",
        shots=[Shot(index=0, role="hook", duration_s=15, visual="v", narration=f"narration {i}")],
        provenance=Provenance(path="template"),
    )


def _deliver(store: Store, cid: str, ctr: float, rng: np.random.Generator, days: int = 5, impr: int = 4000) -> None:
    evs = []
    for d in range(days):
        ts = T0 + timedelta(days=d)
        plays = int(rng.binomial(impr, 0.35))
        clicks = int(rng.binomial(impr, ctr))
        conv = int(rng.binomial(clicks, 0.05))
        for kind, n in (("impression", impr), ("play_3s", plays), ("click", clicks), ("conversion", conv)):
            evs.append(
                {
                    "event_id": f"{cid}-{d}-{kind}",
                    "creative_id": cid,
                    "kind": kind,
                    "ts": ts,
                    "count": n,
                    "placement": "feed" if d % 2 else "search",
                    "segment": "f25",
                }
            )
        evs.append({"event_id": f"{cid}-{d}-spend", "creative_id": cid, "kind": "spend", "ts": ts, "value": 160.0})
    assert ingest_events(store, evs).rejected == 0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    rng = np.random.default_rng(7)
    st = open_store(f"sqlite:///{tmp_path}/rep.db")
    cover = tmp_path / "cover.png"
    Image.new("RGB", (90, 160), (200, 30, 30)).save(cover)
    ours = [
        Creative(
            id=f"crv_{i}",
            campaign_id="cmp_x",
            script=_script(i),
            scores={"pctr": 0.01 + 0.004 * i},
            cover_path=str(cover),
        )
        for i in range(6)
    ]
    other = [Creative(id=f"crv_o{i}", campaign_id="cmp_other", script=_script(10 + i)) for i in range(3)]
    st.save_creatives(ours + other)
    for i, c in enumerate(ours):
        _deliver(st, c.id, ctr=0.01 + 0.004 * i, rng=rng)  # true CTR 1.0% .. 3.0%: mean 2.0%
    for c in other:
        _deliver(st, c.id, ctr=0.01, rng=rng)
    lib = [
        LibraryItem(
            title="lib",
            industry="food",
            platform="douyin",
            language="en",
            aspect="9:16",
            script=_script(99),
            performance=Performance(impressions=100_000, plays_3s=38_000, clicks=1_500, conversions=75, spend=4000.0),
        )
    ]
    st.upsert_library_items(lib)
    return st


def test_wilson_and_ratio_intervals_against_known_values() -> None:
    lo, hi = wilson(10, 100)
    assert lo == pytest.approx(0.05523, abs=1e-4) and hi == pytest.approx(0.17437, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0) and wilson(0, 50)[0] == 0.0
    lift, lo, hi = ratio_lift(200, 10_000, 100, 10_000)
    se = math.sqrt(1 / 200 - 1 / 10_000 + 1 / 100 - 1 / 10_000)
    assert lift == pytest.approx(1.0) and lo == pytest.approx(2 * math.exp(-1.959964 * se) - 1, rel=1e-4)
    assert hi > 1.0 > lo > 0
    exact = ratio_lift(200, 10_000, 0.01, None)
    assert exact[0] == pytest.approx(1.0) and exact[2] - exact[1] < hi - lo  # exact baseline: narrower
    assert ratio_lift(5, 0, 1, 10) is None


def test_build_report_totals_lifts_and_ranking(store: Store) -> None:
    data = build_report(store, "cmp_x")
    assert data.creatives == data.creatives_with_feedback == 6
    assert data.totals.impressions == 6 * 5 * 4000 and data.totals.spend == pytest.approx(6 * 5 * 160.0)
    ctr = data.totals.rates["ctr"]
    assert ctr.lo < ctr.value < ctr.hi and ctr.value == pytest.approx(0.02, abs=0.002)
    acc = {lf.metric: lf for lf in data.lifts if lf.baseline == "account"}
    assert acc["ctr"].significant and acc["ctr"].lo > 0.5  # ~2.0% vs ~1.0%: about +100%
    assert not acc["play_3s_rate"].significant  # same true play rate
    ind = {lf.metric: lf for lf in data.lifts if lf.baseline == "industry"}
    assert ind["ctr"].baseline_value == pytest.approx(0.015)
    # ranked by CTCVR lower bound: the best true CTR should be on top, the worst at the bottom
    data_ctr = build_report(store, "cmp_x", rank_by="ctr", top_n=2)
    assert [c.creative_id for c in data_ctr.top] == ["crv_5", "crv_4"]
    assert [c.creative_id for c in data_ctr.bottom] == ["crv_0", "crv_1"]
    assert data_ctr.top[0].thumbnail.startswith("data:image/jpeg;base64,")
    assert len(data.trend) == 5 and {r.key for r in data.by_placement} == {
        "feed",
        "search",
        "(none)",
    }  # spend carried no placement
    assert json.loads(data.model_dump_json())["campaign_id"] == "cmp_x"  # JSON-able for the console


def test_calibration_reports_observed_over_expected(store: Store) -> None:
    data = build_report(store, "cmp_x")
    cal = {c.score_key: c for c in data.calibration}
    assert set(cal) == {"pctr"}
    c = cal["pctr"]
    assert c.expected == pytest.approx(0.02 * 120_000) and c.ratio_lo < 1.0 < c.ratio_hi  # predictions = true rates
    assert len(c.bins) == 5 and c.creatives == 6
    assert [b.observed for b in c.bins] == sorted(b.observed for b in c.bins)  # reliability rises with prediction
    assert all(b.lo <= b.predicted <= b.hi for b in c.bins)
    assert sum(b.denominator for b in c.bins) == 120_000
    none = build_report(store, "cmp_other")
    assert none.calibration == [] and "no predictions yet" in none.calibration_note


def test_html_is_self_contained_and_escaped(store: Store, tmp_path: Path) -> None:
    data = build_report(store, "cmp_x")
    page = render_html(data)
    assert page.count("<svg") >= 6 and "Predicted vs actual" in page and "Creative 5 &lt;b&gt;" in page
    assert "<script" not in page and not re.search(r"(src|href)=\"(https?:)?//", page)
    out = write_report(data, tmp_path / "r" / "report.html")
    assert out.read_text(encoding="utf-8") == page


def test_pdf_export(store: Store, tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    out = write_report(build_report(store, "cmp_x"), tmp_path / "report.pdf")
    assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 5_000


def test_errors_are_typed(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="cmp_nope"):
        build_report(store, "cmp_nope")
    with pytest.raises(InputError, match="rank_by"):
        build_report(store, "cmp_x", rank_by="roas")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=".html or .pdf"):
        write_report(build_report(store, "cmp_x"), tmp_path / "r.docx")
