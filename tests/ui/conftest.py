"""Fixtures of the console tests.

* ``local_api``: the real batch API (the same app ``adloom ui`` hosts) on a loopback port over this test's store,
  with a console key for the local tenant; ``$ADLOOM_API_URL``/``$ADLOOM_API_KEY`` point at it so the pages'
  :class:`AdloomClient` reaches it exactly as in production.
* ``page_test(name)``: a Streamlit :class:`AppTest` of ``adloom/ui/views/<name>.py`` (AppTest runs the page
  script in this process; only its HTTP calls leave it).
* ``console`` / ``browser_page``: ``adloom ui --port P`` as a real child process and headless Debian chromium driven
  by Playwright (end-to-end tests); screenshots go to ``$ADLOOM_TEST_ARTIFACTS`` (default
  ``test-artifacts/ui``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adloom.core.client import KEY_ENV, URL_ENV
from adloom.core.settings import Settings, get_settings
from adloom.serving.ui_cli import LocalApi, free_port

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "adloom" / "ui"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("ADLOOM_TEST_ARTIFACTS", REPO / "test-artifacts" / "ui"))


@pytest.fixture
def ui_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Fast, offline settings: the hashing embedder and the template writer (the LLM paths have their own tests)."""
    monkeypatch.setenv("ADLOOM_EMBEDDER", "hashing")
    monkeypatch.setenv("ADLOOM_API_DEFAULT_WRITER", "template")
    monkeypatch.setenv("ADLOOM_BATCH_WRITER", "template")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def local_api(ui_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalApi]:
    api = LocalApi(workers_in_process=1, settings=ui_settings).start()
    monkeypatch.setenv(URL_ENV, api.url)
    monkeypatch.setenv(KEY_ENV, api.key)
    monkeypatch.setenv("ADLOOM_UI_LOCAL", "1")
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def page_test(local_api: LocalApi) -> Callable[..., Any]:
    from streamlit.testing.v1 import AppTest

    def make(name: str, *, lang: str = "en", timeout: float = 60.0) -> AppTest:
        at = AppTest.from_file(str(UI / "views" / f"{name}.py"), default_timeout=timeout)
        at.session_state["lang"] = lang
        return at

    return make


def wait_http(url: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout_s:.0f} s ({last})")


@pytest.fixture
def console(tmp_path: Path, ui_settings: Settings) -> Iterator[str]:
    """``adloom ui --port P --lang en`` as a child process over this test's home; yields the console's URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in (URL_ENV, KEY_ENV)}
    log = (tmp_path / "console.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "adloom.serving.cli", "ui", "--port", str(port), "--lang", "en",
         "--workers-in-process", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_stcore/health")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        _end_rooms_under(os.environ["ADLOOM_HOME"])


def _end_rooms_under(home: str) -> None:
    """Live rooms outlive the API that started them (a 24/7 room survives a console restart), so a test that
    went live ends the room processes of its own home, and their encoders, however it ended."""
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if "adloom.serving.rooms" in cmdline and home in cmdline:
            try:
                family = [proc, *proc.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for member in family:
                try:
                    member.kill()
                except psutil.NoSuchProcess:
                    pass


def _fontconfig_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The browser's environment with the render's packaged CJK font added to fontconfig: a machine without
    Debian's fonts-noto-cjk would draw the console's Chinese (the 中文 switch, zh pages) as empty boxes."""
    from adloom.core.fonts import resolve_font

    env = dict(os.environ)
    folder = tmp_path_factory.mktemp("fontconfig")
    (folder / "fonts.conf").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{resolve_font().path.parent}</dir><cachedir>{folder}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    env["FONTCONFIG_FILE"] = str(folder / "fonts.conf")
    return env


@pytest.fixture
def browser_page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Playwright page in headless Debian chromium (never a downloaded browser), 1366×768."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make install installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=_fontconfig_env(tmp_path_factory)
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``shot(page, "01_brief", focus=locator)`` saves a screenshot of the window under the artefacts folder, per
    test, scrolled so ``focus`` is in view (Streamlit scrolls inside its main block, so a "full page" screenshot
    would only ever show the top)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str, focus: Any = None, block: str = "center") -> Path:
        if focus is not None:
            focus.first.scroll_into_view_if_needed()
            focus.first.evaluate(f"e => e.scrollIntoView({{block: '{block}'}})")
            page.wait_for_timeout(300)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take
