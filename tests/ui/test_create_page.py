"""The Create page (upper half) in Streamlit's AppTest against the real API on loopback: brief → exemplar cards →
pick → structured shots → variants → an edit with a compliance finding → apply the fix → saved as the advertiser's
line; and the error states: an empty brief, a PDF posing as an image, a file over the upload cap, a bad SRT, the
API down — each a message, nothing sent, nothing lost, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import streamlit as st

from adloom.core.client import URL_ENV, AdloomClient
from adloom.serving.ui_cli import LocalApi, free_port
from tests.serving.api.conftest import png_bytes

SRT = "1\n00:00:00,000 --> 00:00:02,000\nSkipped breakfast again?\n\n2\n00:00:02,000 --> 00:00:05,000\nGrab one now.\n"


def _fill(at: Any, *, name: str = "Oat Crunch Bar", points: str = "10 g protein per bar\nno added sugar") -> None:
    at.text_input(key="create.f.name").input(name)
    at.text_area(key="create.f.points").input(points)
    at.selectbox(key="create.f.industry").select("food")
    at.selectbox(key="create.f.language").select("en")


def _submit(at: Any) -> None:
    at.button(key="create.f.submit").click()
    at.run()
    assert not at.exception, at.exception


def _briefs(api: LocalApi) -> int:
    with AdloomClient(api.url, api.key) as c:
        return len(c.list_briefs(limit=100).data)


def _texts(elements: Any) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_brief_pick_variants_edit_fix_and_save(page_test: Callable[..., Any], local_api: LocalApi):
    at = page_test("create", lang="en")
    at.run()
    assert not at.exception and at.text_input(key="create.f.name").label == "Product name"
    _fill(at)
    at.file_uploader(key="create.f.images").set_value(("pack.png", png_bytes((64, 48)), "image/png"))
    _submit(at)
    assert "Brief saved: Oat Crunch Bar" in _texts(at.success)
    brief_id = at.session_state["create.brief_id"]
    with AdloomClient(local_api.url, local_api.key) as c:
        assets = c.get_brief(brief_id).assets
    assert [a.kind.value for a in assets] == ["image"] and assets[0].path.startswith("upload:upl_")
    assert len(at.image) == 1 and at.image[0].captions == ["pack.png"]  # the preview

    picks = [b for b in at.button if (b.key or "").startswith("create.pick.")]
    assert 1 <= len(picks) <= 4 and all(b.label == "This one is closest" for b in picks)
    assert "CTR" in _texts(at.caption) and "impressions" in _texts(at.caption)
    exemplar_id = picks[0].key.removeprefix("create.pick.")
    picks[0].click()
    at.run()
    assert not at.exception, at.exception
    shots = at.dataframe[0].value
    assert len(shots) >= 2 and list(shots.columns)[:3] == ["Shot", "Role", "Narration"]
    assert shots["Role"].iloc[0] == "Hook"

    at.number_input(key="create.n").set_value(2)
    at.button(key="create.generate").click()
    at.run()
    assert not at.exception, at.exception
    variants = at.session_state["create.variants"]
    assert len(variants) == 2 and all(v["provenance"]["exemplar_ids"][0] == exemplar_id for v in variants)
    assert {"Variant 1", "Variant 2"} <= {tab.label for tab in at.tabs}
    sid = variants[0]["id"]
    assert at.checkbox(key=f"create.render.{sid}").value is True

    key = f"create.edit.{sid}.1.narration"
    at.text_input(key=key).input("The best bar for busy mornings. It cures acne.")
    at.run()
    warnings = _texts(at.warning)
    assert "“best”" in warnings or "“The best”" in warnings.replace("the best", "The best"), warnings
    assert "cure" in warnings.lower() and "Suggested" in warnings

    at.button(key=f"create.save.{sid}").click()  # saving before fixing: refused, the text stays
    at.run()
    assert "nothing was saved" in _texts(at.error) and "shots[1].narration" in _texts(at.error)
    assert at.text_input(key=key).value == "The best bar for busy mornings. It cures acne."

    fix = at.button(key=f"create.fix.{sid}.1.narration")
    assert fix.label == "Apply fix"
    fix.click()
    at.run()
    fixed = at.text_input(key=key).value
    assert "best" not in fixed.lower() and "cure" not in fixed.lower() and fixed
    at.button(key=f"create.save.{sid}").click()
    at.run()
    assert not at.exception, at.exception
    assert "Saved the edits of 1 shot(s)." in _texts(at.success)
    with AdloomClient(local_api.url, local_api.key) as c:
        stored = c.get_script(sid)
    assert stored.shots[1].narration == fixed
    assert stored.provenance.lines["shots[1].narration"].author == "advertiser"
    assert "Narration written by: you" in _texts(at.caption)

    at.checkbox(key=f"create.render.{variants[1]['id']}").uncheck()
    at.run()
    assert not at.exception and at.session_state[f"create.render.{variants[1]['id']}"] is False


def test_paste_a_script_or_an_srt(page_test: Callable[..., Any], local_api: LocalApi):
    at = page_test("create", lang="en")
    at.run()
    _fill(at)
    _submit(at)
    at.file_uploader(key="create.paste.srt").set_value(("ad.srt", b"no cues in here", "application/x-subrip"))
    at.button(key="create.paste.go").click()
    at.run()
    assert not at.exception and "00:00:01,000 --> 00:00:03,500" in _texts(at.error)
    at.file_uploader(key="create.paste.srt").set_value(("ad.srt", SRT.encode(), "application/x-subrip"))
    at.button(key="create.paste.go").click()
    at.run()
    assert not at.exception, at.exception
    shots = at.dataframe[0].value
    assert list(shots["Seconds"]) == [2.0, 3.0] and shots["Narration"].iloc[1] == "Grab one now."
    at.button(key="create.generate").click()  # variants of a pasted script keep it, first, as "Your script"
    at.run()
    assert not at.exception and "Your script" in {tab.label for tab in at.tabs}


def test_empty_brief_names_the_missing_fields_and_sends_nothing(page_test, local_api: LocalApi):
    at = page_test("create", lang="zh")
    at.run()
    at.text_input(key="create.f.audience").input("上班族")
    _submit(at)
    assert "还缺少：产品名称、卖点" in _texts(at.error)
    assert _briefs(local_api) == 0 and at.text_input(key="create.f.audience").value == "上班族"
    assert at.button(key="create.f.submit").label == "保存简报"


def test_a_pdf_posing_as_an_image_is_refused_by_content(page_test, local_api: LocalApi):
    at = page_test("create", lang="en")
    at.run()
    _fill(at)
    at.file_uploader(key="create.f.images").set_value(
        ("spec.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "image/png")
    )
    _submit(at)
    errors = _texts(at.error)
    assert "“spec.png” was not uploaded" in errors and "PDF" in errors
    assert _briefs(local_api) == 0 and at.text_input(key="create.f.name").value == "Oat Crunch Bar"
    assert not at.success


def test_a_file_over_the_upload_cap_is_refused_and_the_form_kept(page_test, local_api: LocalApi):
    at = page_test("create", lang="en")
    at.run()
    _fill(at)
    at.file_uploader(key="create.f.clips").set_value(("launch.mp4", b"\0" * (1_048_576 + 10), "video/mp4"))
    before = st.get_option("server.maxUploadSize")
    st.config.set_option("server.maxUploadSize", 1)  # the cap `adloom ui` gives Streamlit (200 MB), scaled down
    try:
        _submit(at)
    finally:
        st.config.set_option("server.maxUploadSize", before)
    assert "Too large (over 1 MB): launch.mp4" in _texts(at.error)
    assert _briefs(local_api) == 0 and at.text_area(key="create.f.points").value.startswith("10 g protein")


def test_api_down_is_a_message_not_a_traceback(page_test, local_api: LocalApi, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(URL_ENV, f"http://127.0.0.1:{free_port()}")
    at = page_test("create", lang="en")
    at.run()
    _fill(at)
    _submit(at)
    assert "Cannot reach the adloom service" in _texts(at.error)
    assert "Traceback" not in _texts(at.error) and at.text_input(key="create.f.name").value == "Oat Crunch Bar"
