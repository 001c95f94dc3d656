"""The Create page's lower half (render → progress → grid → review → export) as Streamlit AppTests on the real
API with its in-process worker: one creative rendered at 360p for real, reviewed, exported and unzipped; a reload
(a new session with ``?batch=<id>``) shows the same batch; a stale link is a plain message."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from adloom.core.client import AdloomClient
from adloom.serving.ui_cli import LocalApi
from tests.serving.api.conftest import BRIEF

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
