"""Fixtures of the serving tests."""

from __future__ import annotations

import pytest

from adloom.serving import conversation_service


@pytest.fixture(autouse=True)
def _fresh_conversation_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test builds its own conversation engines (none is kept from another test's profile)."""
    monkeypatch.setattr(conversation_service, "_engines", type(conversation_service._engines)())
