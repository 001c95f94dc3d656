"""The Create page's lower half (render → progress → grid → review → export) as Streamlit AppTests on the real
API with its in-process worker: one creative rendered at 360p for real, reviewed, exported and unzipped; a reload
(a new session with ``?batch=<id>``) shows the same batch; a stale link is a plain message."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from adloom.core.client import KEY_ENV, URL_ENV, AdloomClient
from adloom.core.settings import Settings
from adloom.serving.ui_cli import LocalApi
from tests.serving.api.conftest import BRIEF
from tests.serving.api.test_api_generated_shots import TOY_SETTINGS

#: The page under test. The guard matters: the worker renders in spawned processes, and spawn re-runs the
#: ``__main__`` module of the moment (the script AppTest is running) as ``__mp_main__`` in each child.
DRIVER = """
if __name__ != "__mp_main__":
    from adloom.ui.create_results import results_section

    results_section({brief_id!r}, [], n=1)
"""


def _app(brief_id: str, tmp_path: Path, *, batch: str | None = None) -> AppTest:
    page = tmp_path / f"results_{brief_id}.py"
    page.write_text(DRIVER.format(brief_id=brief_id), encoding="utf-8")
    at = AppTest.from_file(str(page), default_timeout=120)
    at.session_state["lang"] = "en"
    if batch is not None:
        at.query_params["batch"] = batch
    return at.run()


def _texts(at: AppTest) -> str:
    parts: list[Any] = [*at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error]
    return "\n".join(str(p.value) for p in parts)


def test_render_once_follow_review_and_export(local_api: LocalApi, tmp_path: Path):
    api = AdloomClient(local_api.url, local_api.key)
    brief = api.create_brief({**BRIEF, "aspect": "16:9"})
    at = _app(brief.id, tmp_path)
    assert "Nothing rendered yet" in _texts(at) and not at.exception
    at.selectbox(key="create.render_height").set_value(360)
    at.button(key="create.render").click().run()
    batch_id = at.session_state["create.batch_id"]
    assert at.query_params["batch"] == batch_id
    at.button(key="create.render").click().run()  # pressed twice: the same batch, not a second one
    assert at.session_state["create.batch_id"] == batch_id
    assert [b.id for b in api.list_batches().data] == [batch_id]

    deadline = time.monotonic() + 240
    while not api.get_batch(batch_id).status.terminal:
        assert time.monotonic() < deadline, "the render did not finish in 4 minutes"
        time.sleep(0.25)  # a cheap GET; the wait ends as soon as the batch does
    at.run()
    assert not at.exception and not at.error, _texts(at)
    assert "Rendering finished: 1 succeeded" in _texts(at)
    (cid,) = [c.id for c in api.list_creatives(brief_id=brief.id).data]
    text = _texts(at)
    assert "Quality check passed" in text and ("Launch" in text or "Explore" in text)
    assert "beats " in text or "Not enough data" in text  # the library percentile, or why there is none
    assert at.button(key="create.export_button").disabled  # nothing approved yet

    at.button(key=f"create.reject.{cid}").click().run()  # no reason: asked for one, nothing sent
    assert "Add a reason first" in _texts(at) and api.get_creative(cid).review is None
    at.button(key=f"create.approve.{cid}").click().run()
    assert "Approved" in _texts(at) and api.get_creative(cid).review.decision == "approved"  # type: ignore[union-attr]

    at.button(key="create.export_button").click().run()
    assert not at.error, _texts(at)
    made = at.session_state["create.export"]
    assert made["count"] == 1 and "1 ads packed" in _texts(at)
    with zipfile.ZipFile(io.BytesIO(made["zip"])) as zf:
        names = set(zf.namelist())
        rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8-sig"))))
    assert {"manifest.csv", f"videos/{cid}.mp4", f"subtitles/{cid}.srt"} <= names
    assert any(n.startswith(f"covers/{cid}.") for n in names)
    assert [r["creative_id"] for r in rows] == [cid] and rows[0]["aspect"] == "16:9" and rows[0]["review"] == "approved"
    assert len(at.dataframe) >= 1  # the manifest preview

    reloaded = _app(brief.id, tmp_path, batch=batch_id)  # a reload: a fresh session, the batch from the URL
    assert reloaded.session_state["create.batch_id"] == batch_id
    assert "Rendering finished: 1 succeeded" in _texts(reloaded) and "Approved" in _texts(reloaded)


def test_a_stale_batch_link_is_a_plain_message(local_api: LocalApi, tmp_path: Path):
    api = AdloomClient(local_api.url, local_api.key)
    brief = api.create_brief(BRIEF)
    at = _app(brief.id, tmp_path, batch="bat_000000000000")
    assert not at.exception
    assert "cannot be found" in _texts(at) and "Traceback" not in _texts(at)
    assert "batch" not in at.query_params and "create.batch_id" not in at.session_state


def test_without_a_video_model_the_shots_control_is_footage_only_with_the_servers_reason(
    local_api: LocalApi, tmp_path: Path
):
    api = AdloomClient(local_api.url, local_api.key)
    brief = api.create_brief(BRIEF)
    at = _app(brief.id, tmp_path)
    assert not at.exception
    shots = at.selectbox(key="create.render_shots")
    assert shots.disabled and shots.options == ["From footage only"] and shots.value == "footage_only"
    assert "cannot generate shots" in str(shots.help) and "video_model_path" in str(shots.help)
    assert at.session_state["create.capabilities"]["available"] is False  # asked once, kept for the session


@pytest.fixture
def toy_api(ui_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalApi]:
    """The real API on loopback with the toy video model on the CPU and no render slots (nothing renders: the
    test checks what the console submits)."""
    api = LocalApi(workers_in_process=0, settings=ui_settings.model_copy(update=TOY_SETTINGS)).start()
    monkeypatch.setenv(URL_ENV, api.url)
    monkeypatch.setenv(KEY_ENV, api.key)
    try:
        yield api
    finally:
        api.stop()


def test_choosing_generate_missing_sends_shots_as_another_batch(toy_api: LocalApi, tmp_path: Path):
    api = AdloomClient(toy_api.url, toy_api.key)
    brief = api.create_brief(BRIEF)
    at = _app(brief.id, tmp_path)
    shots = at.selectbox(key="create.render_shots")
    assert not shots.disabled and shots.options == [
        "From footage only",
        "Generate the missing shots",
        "Generate every shot",
    ]
    assert "checkpoint" in str(shots.help) and "cpu" in str(shots.help)
    shots.set_value("generate_missing")
    at.button(key="create.render").click().run()
    assert not at.exception and not at.error, _texts(at)
    generated = at.session_state["create.batch_id"]
    (item,) = api.list_items(generated).data
    assert item.request["shots"] == "generate_missing"

    at.selectbox(key="create.render_shots").set_value("footage_only")
    at.button(key="create.render").click().run()  # another shot source: another batch, without shots
    footage = at.session_state["create.batch_id"]
    assert footage != generated
    (item,) = api.list_items(footage).data
    assert item.request.get("shots", "footage_only") == "footage_only"
    for batch_id in (generated, footage):
        api.cancel_batch(batch_id)


def _scores_page(scores: dict[str, float]) -> None:
    """A script for AppTest.from_function: one creative's score block."""
    from adloom.core.types import Creative
    from adloom.ui.create_results import _scores

    _scores(Creative.model_construct(scores=scores))


@pytest.mark.parametrize(
    ("lang", "metrics", "point", "interval"),
    [
        ("en", ["Top 1%", "Bottom 12%"], "beats 100% of past ads", "beats 8–18% of past ads"),
        ("zh", ["前 1%", "后 12%"], "超过 100% 的历史素材", "超过 8–18% 的历史素材"),
    ],
)
def test_a_weak_ad_reads_bottom_and_a_collapsed_range_one_number(
    lang: str, metrics: list[str], point: str, interval: str
):
    scores = {"percentile_confident": 1.0, "reference_n": 400.0}
    scores |= {"ctr_percentile": 99.8, "ctr_percentile_low": 99.7, "ctr_percentile_high": 100.0}
    scores |= {"cvr_percentile": 12.0, "cvr_percentile_low": 8.0, "cvr_percentile_high": 18.0}
    at = AppTest.from_function(_scores_page, kwargs={"scores": scores}, default_timeout=30)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric] == metrics
    captions = [c.value for c in at.caption]
    assert point in captions and interval in captions
    assert not any("100–100" in c for c in captions)
