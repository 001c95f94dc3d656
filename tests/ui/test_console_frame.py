"""The console's frame without a browser: the strings catalogue, the connection helpers, and ``adloom ui``'s
local API (started, reachable with its key, key revoked on exit) and its refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adloom.core.client import KEY_ENV, URL_ENV, AdloomClient
from adloom.core.errors import BackendUnavailableError
from adloom.core.settings import Settings
from adloom.core.storage import open_store
from adloom.core.types import DEFAULT_TENANT
from adloom.serving.cli import app
from adloom.serving.ui_cli import LocalApi, app_path, streamlit_command
from adloom.ui.i18n import catalogue, text

UI = Path(__file__).resolve().parents[2] / "adloom" / "ui"
_CJK = re.compile(r"[\u4e00-\u9fff]")
runner = CliRunner()


def test_every_string_a_page_asks_for_exists_in_both_languages() -> None:
    strings = catalogue()
    asked: set[str] = set()
    for path in UI.rglob("*.py"):
        asked |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']\s*[,)]""", path.read_text("utf-8")))
    assert asked, "no t('…') call found: the pattern no longer matches the pages"
    missing = sorted(asked - set(strings))
    assert not missing, f"pages ask for strings nobody wrote: {missing}"
    # A string the same in both languages is a proper name or a unit (TikTok, 9:16); every other zh string is
    # written in Chinese.
    for key, entry in strings.items():
        words = re.sub(r"\{[^}]*\}", "", entry.zh)
        if entry.zh != entry.en and any(ch.isalpha() for ch in words):
            assert _CJK.search(words), f"{key}: the zh string has no Chinese in it: {entry.zh!r}"
    same = [key for key, entry in strings.items() if entry.zh == entry.en]
    assert len(same) < 0.1 * len(strings), f"too many strings left untranslated: {same}"


def test_text_fills_placeholders_in_either_language() -> None:
    assert "http://x" in text("conn.mode_remote", "en", url="http://x")
    assert "http://x" in text("conn.mode_remote", "zh", url="http://x")
    with pytest.raises(KeyError):
        text("no.such_key", "en")


def test_local_api_serves_the_local_tenant_and_revokes_its_key_on_exit(ui_settings: Settings) -> None:
    api = LocalApi(workers_in_process=0, settings=ui_settings).start()
    try:
        with AdloomClient(api.url, api.key) as client:
            assert client.health()["status"] in ("ok", "degraded")
            # the sample library was seeded for the exemplar row of the first page
            assert client.search_library("skincare serum", limit=3)
    finally:
        api.stop()
    keys = [k for k in open_store(ui_settings.db_url).list_api_keys(DEFAULT_TENANT) if k.name.startswith("console")]
    assert keys and all(k.revoked_at is not None for k in keys)


def test_ui_refuses_a_url_without_a_key_and_a_bad_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9")
    monkeypatch.delenv(KEY_ENV, raising=False)
    result = runner.invoke(app, ["ui", "--port", "8599"])
    assert result.exit_code != 0 and KEY_ENV in result.output
    result = runner.invoke(app, ["ui", "--port", "70000"])
    assert result.exit_code != 0 and "--port 70000" in result.output


def test_streamlit_is_started_headless_on_the_given_port_with_the_upload_cap() -> None:
    cmd = streamlit_command(8610, "127.0.0.1")
    assert str(app_path()) in cmd and app_path().is_file()
    pairs = dict(zip(cmd[::1], cmd[1::1], strict=False))
    assert pairs["--server.port"] == "8610" and pairs["--server.headless"] == "true"
    assert pairs["--server.maxUploadSize"] == "200" and pairs["--browser.gatherUsageStats"] == "false"


def test_a_page_with_the_api_down_shows_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection helper turns a refused connection into the console's message."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9")
    monkeypatch.setenv(KEY_ENV, "adl_not_a_real_key")

    def page() -> None:
        from adloom.ui.conn import attempt, client

        attempt(lambda: client().health())

    at = AppTest.from_function(page, default_timeout=30)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert at.error and "Cannot reach the adloom service" in at.error[0].value
    with pytest.raises(BackendUnavailableError):  # and the same call outside the helper does fail
        AdloomClient("http://127.0.0.1:9", "adl_x", timeout_s=2).health()
