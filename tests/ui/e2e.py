"""Playwright helpers for driving a running Streamlit console (used by the end-to-end tests)."""

from __future__ import annotations

import time
from typing import Any

#: Streamlit shows the status widget while a script run is in progress, and a spinner while a call of ours runs.
RUNNING = '[data-testid="stStatusWidget"], [data-testid="stSpinner"]'


def wait_idle(page: Any, timeout_s: float = 120.0, settle_ms: int = 400) -> None:
    """Wait until the app has finished its current run (twice in a row, so a rerun that follows is caught)."""
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while time.monotonic() < deadline:
        page.wait_for_timeout(settle_ms)
        running = any(el.is_visible() for el in page.locator(RUNNING).all())
        quiet = 0 if running else quiet + 1
        if quiet >= 2:
            return
    raise TimeoutError(f"the console was still running after {timeout_s:.0f} s")


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_selector('[data-testid="stMainBlockContainer"] [data-testid="stHeading"]')  # every page's title
    wait_idle(page)


def fill(page: Any, label: str, value: str, *, nth: int = 0) -> None:
    """Type into the text input or area labelled ``label`` and commit it (blur), as a user would."""
    box = page.get_by_label(label, exact=True).nth(nth)
    box.click()
    box.fill(value)
    box.press("Tab")
    wait_idle(page)


def click(page: Any, name: str, *, nth: int = 0, timeout_s: float = 120.0) -> None:
    page.get_by_role("button", name=name, exact=True).nth(nth).click()
    wait_idle(page, timeout_s)


def text(page: Any) -> str:
    return str(page.inner_text('[data-testid="stMain"]'))


def wait_text(page: Any, needle: str, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if needle in text(page):
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"{needle!r} did not appear in {timeout_s:.0f} s; the page says: {text(page)[:800]}")
