"""The Live rooms page (AppTest on the real API over loopback): define a room through the form (a rig look, an
espeak voice previewed, a product, a script edited with its finding fixed), preview 10 s, go live to the local
HLS preview, post a comment and see the answer in the feed; and the error states: a portrait without consent
(not stored), an FAQ file in an unreadable encoding, the API down."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from adloom.core.client import KEY_ENV, URL_ENV
from adloom.serving.tenant_files import tenant_root
from adloom.serving.ui_cli import LocalApi, free_port

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100"
    "c9fe92ef0000000049454e44ae426082"
)


def _button(at: Any, key: str) -> Any:
    return next(b for b in at.button if b.key == key)


def _texts(at: Any) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [s.value for s in at.success] + [w.value for w in at.warning]
    parts += [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def _upload(at: Any, key: str, name: str, data: bytes, mime: str) -> None:
    """Put a file into a file_uploader as the browser would (AppTest ≥1.56 exposes ``file_uploader``)."""
    [widget] = [w for w in at.get("file_uploader") if w.key == key]
    widget.upload(name, data, mime)


def test_define_preview_go_live_comment_and_see_the_answer(
    page_test: Callable[..., Any], local_api: LocalApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "espeak")  # instant and offline (the room process inherits it)
    at = page_test("live", timeout=120).run()
    assert not at.exception
    assert "No live rooms yet" in _texts(at)
    at.text_input(key="live.name").input("Glow live")
    at.selectbox(key="live.language").select("en")
    at.selectbox(key="live.industry").select("beauty").run()
    at.radio(key="live.avatar_pick").set_value("rig:look2")
    at.selectbox(key="live.voice").select("en-us").run()
    _button(at, "live.voice_play").click().run()
    assert at.get("audio"), "no audio player after ▶ preview"
    at.text_input(key="live.p0.name").input("Glow Serum")
    at.text_input(key="live.p0.price").input("29")
    at.text_area(key="live.p0.points").input("hyaluronic acid\nlight texture").run()
    _button(at, "live.script_generate").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    segs = at.session_state["live.segments"]
    line = next(s for s in segs if s["kind"] == "product")
    at.text_area(key=f"live.seg.{line['id']}").input("The best serum in the world.")
    _button(at, "live.script_check").click().run()
    assert any("best" in w.value for w in at.warning), [w.value for w in at.warning]
    _button(at, f"live.fix.{line['id']}").click().run()
    assert "best" not in at.text_area(key=f"live.seg.{line['id']}").value
    at.checkbox(key="live.local_preview").check()
    _button(at, "live.define").click().run()
    assert not at.error, [e.value for e in at.error]
    rid = at.session_state["live.room_id"]
    assert rid.startswith("room_")

    _button(at, "live.preview").click().run()
    assert not at.error, [e.value for e in at.error]
    assert at.get("video"), "no video after Preview 10 s"

    _button(at, "live.go_live").click().run()
    try:
        assert not at.error, [e.value for e in at.error]
        assert at.session_state["live.room"]["running"] is True
        at.text_input(key="live.comment_viewer").input("Amy")
        at.text_input(key="live.comment_text").input("How much is it?")
        _button(at, "live.comment_send").click().run()
        deadline = time.monotonic() + 60
        while "Presenter:" not in _texts(at):
            assert time.monotonic() < deadline, _texts(at)
            time.sleep(1)
            at.run()
        text = _texts(at)
        assert "Amy: How much is it?" in text
        answer = next(x for x in text.splitlines() if "Presenter:" in x)
        assert "29" in answer or "Amy" in answer, answer
    finally:
        _button(at, "live.stop").click().run()
    assert at.session_state["live.room"]["running"] is False


def test_portrait_without_consent_and_faq_in_an_unknown_encoding(
    page_test: Callable[..., Any], local_api: LocalApi
) -> None:
    zh = page_test("live", lang="zh").run()  # every string of the form exists in Chinese too
    assert not zh.exception and any("还没有直播间" in i.value for i in zh.info)
    at = page_test("live").run()
    _upload(at, "live.portrait", "me.png", PNG_1PX, "image/png")
    at.text_input(key="live.consent_subject").input("Li Na").run()
    _button(at, "live.portrait_save").click().run()
    assert any("Consent is missing" in e.value and "Consent given by" in e.value for e in at.error), at.error
    assert not (tenant_root(local_api.settings, "local") / "avatars").exists()  # the photo was not stored

    _upload(at, "live.kb_file", "faq.txt", "Q: size?\nA: 30 ml".encode("utf-32-le"), "text/plain")
    _button(at, "live.kb_upload").click().run()
    assert any("UTF-8" in e.value for e in at.error), [e.value for e in at.error]
    _upload(at, "live.kb_file", "faq.txt", "问：多大？\n答：30毫升\n".encode("gb18030"), "text/plain")
    _button(at, "live.kb_upload").click().run()
    assert any("1 question/answer" in s.value for s in at.success), [s.value for s in at.success]


def test_api_down_is_a_friendly_message(page_test: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_ENV, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv(KEY_ENV, "adl_nothing")
    at = page_test("live").run()
    assert not at.exception
    assert any("Cannot reach the adloom service" in e.value for e in at.error), [e.value for e in at.error]
