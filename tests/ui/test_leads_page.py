"""The Leads page in Streamlit's AppTest, against the real API on loopback (``local_api``): a bundled sample agent,
a chat that leaves a phone number, the lead in the table (masked, then shown) and its CSV export; the
conversation's transcript, taking it over and a person's reply; and the error states (bad YAML, a field the
API refuses, an empty message, the API unreachable)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import adloom
from adloom.core.client import URL_ENV

SAMPLE_ZH = Path(adloom.__file__).resolve().parent / "serving" / "samples" / "agent_home_renovation.yaml"
BOM = b"\xef\xbb\xbf"


def _texts(at: Any) -> str:
    kinds = ("markdown", "caption", "info", "warning", "success", "error")
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))


def _section(at: Any, name: str) -> Any:
    return at.segmented_control(key="leads.section").set_value(name).run()


def test_sample_agent_chat_lead_table_csv_and_take_over(page_test: Callable[..., Any]):
    at = page_test("leads", lang="zh").run()
    assert not at.exception, at.exception
    assert "还没有数字员工" in at.info[0].value
    at.selectbox(key="leads.sample").set_value("agent_home_renovation.yaml").run()
    at.button(key="leads.load_sample").click().run()
    assert not at.exception, at.exception
    assert "已保存数字员工 hz-renovation" in at.success[0].value
    assert list(at.dataframe[0].value["数字员工"]) == ["hz-renovation"]

    _section(at, "chat")
    assert at.selectbox(key="leads.agent").value == "hz-renovation"
    at.chat_input(key="leads.say").set_value("装修一平米大概多少钱").run()
    assert not at.exception, at.exception
    bubbles = at.chat_message
    assert [b.name for b in bubbles][:1] == ["user"] and any(b.name == "assistant" for b in bubbles)
    assert "680" in _texts(at) and "打字" in _texts(at)  # the advertiser's own figure, and the planned pause
    at.chat_input(key="leads.say").set_value("我的手机号是13812345678，下个月想开工").run()
    assert not at.exception, at.exception
    texts = _texts(at)
    assert "已获得一条新线索" in texts and "13812345678" in texts  # the lead panel beside the chat
    assert len([b for b in at.chat_message if b.name == "user"]) == 2
    assert at.expander and "决策" in at.expander[0].label

    _section(at, "leads")
    table = at.dataframe[0].value
    assert len(table) == 1 and table["手机"].iloc[0].endswith("5678")
    assert "1381234" not in table.to_csv()  # nor in the needs, which quote the person's own words
    at.toggle(key="leads.unmask").set_value(True).run()
    assert at.dataframe[0].value["手机"].iloc[0] == "13812345678"
    assert "1381234" not in at.dataframe[0].value["需求"].iloc[0]  # the engine keeps contacts out of the needs
    at.button(key="leads.csv_prepare").click().run()
    assert not at.exception, at.exception
    data = at.session_state["leads.csv_ready"]["data"]
    assert data.startswith(BOM) and b"13812345678" in data
    assert at.download_button(key="leads.csv").label == "下载 CSV（1 条）"

    _section(at, "conversations")
    convs = at.dataframe[0].value
    assert len(convs) == 1 and convs["轮数"].iloc[0] >= 2
    at.selectbox(key="leads.conv_pick").set_value(convs["id"].iloc[0]).run()
    assert not at.exception, at.exception
    assert "装修一平米大概多少钱" in _texts(at)
    at.button(key="leads.handover").click().run()
    assert "已接管" in at.success[0].value and at.button(key="leads.handover").disabled
    at.text_area(key="leads.reply_text.0").input("您好，我是设计师小王，明天上午给您回电。").run()
    at.button(key="leads.reply_send").click().run()
    assert not at.exception, at.exception
    assert "回复已保存" in at.success[0].value and "设计师小王" in _texts(at)

    _section(at, "chat")  # the chat is still there after switching sections
    assert len([b for b in at.chat_message if b.name == "user"]) == 2


def test_bad_yaml_refused_field_and_empty_message(page_test: Callable[..., Any]):
    at = page_test("leads").run()
    at.file_uploader(key="leads.upload").set_value(("broken.yaml", b"name: [Alex\nindustry: auto\n", "text/yaml"))
    at.run()
    at.button(key="leads.save").click().run()
    assert not at.exception, at.exception
    assert "broken.yaml is not valid YAML" in at.error[0].value and "line" in at.error[0].value

    extra = SAMPLE_ZH.read_bytes() + b"colour: red\n"
    at.file_uploader(key="leads.upload").set_value(("extra.yaml", extra, "text/yaml")).run()
    at.button(key="leads.save").click().run()
    assert not at.exception, at.exception
    assert "extra.yaml was not saved" in at.error[0].value and "colour" in at.error[0].value
    assert "Traceback" not in at.error[0].value and not at.dataframe  # nothing stored

    at.file_uploader(key="leads.upload").set_value(("list.yaml", b"- a\n- b\n", "text/yaml")).run()
    at.button(key="leads.save").click().run()
    assert "should hold fields" in at.error[0].value

    at.file_uploader(key="leads.upload").set_value(("ok.yaml", SAMPLE_ZH.read_bytes(), "text/yaml")).run()
    at.button(key="leads.save").click().run()
    assert "hz-renovation saved" in at.success[0].value
    _section(at, "chat")
    at.chat_input(key="leads.say").set_value("   ").run()
    assert not at.exception, at.exception
    assert "The message is empty" in at.warning[0].value and not at.chat_message


def test_api_down_is_a_friendly_message(page_test: Callable[..., Any], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9")
    at = page_test("leads").run()
    assert not at.exception
    assert at.error and "Cannot reach the adloom service" in at.error[0].value


@pytest.mark.slow
def test_screenshots_zh_chat_and_leads_table(console: str, browser_page: Any, shot: Callable[..., Path]):
    """Two screenshots at 1366 px in zh (``-m slow``; ~30 s): the chat after a phone number, and the leads table."""
    from tests.ui.e2e import open_page, wait_idle, wait_text

    page = browser_page
    open_page(page, f"{console}/leads")
    page.locator(".st-key-lang_choice button", has_text="中文").first.click()
    wait_idle(page)
    page.locator(".st-key-leads-load_sample button").first.click()
    wait_text(page, "已保存数字员工 hz-renovation", timeout_s=60)
    page.locator(".st-key-leads-section button", has_text="试聊").first.click()
    wait_idle(page)
    for message in ("装修一平米大概多少钱", "我家是90平的老房，手机13812345678，下个月想开工"):
        box = page.locator(".st-key-leads-say textarea").first
        box.fill(message)
        box.press("Enter")
        wait_idle(page)
    wait_text(page, "已获得一条新线索", timeout_s=60)
    chat = shot(page, "01_chat_zh", page.locator(".st-key-leads-say"), block="end")
    page.locator(".st-key-leads-section button", has_text="线索").first.click()
    wait_text(page, "共 1 条线索", timeout_s=60)
    table = shot(page, "02_leads_zh", page.locator('[data-testid="stDataFrame"]'))
    assert chat.stat().st_size > 10_000 and table.stat().st_size > 10_000
