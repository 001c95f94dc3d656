"""Shared fixtures of the asset tests: the synthetic footage set (built once per run, read-only to its users) and
whether mediapipe's venv is there to measure faces and hands."""

from __future__ import annotations

from pathlib import Path

import pytest

from adloom.core.errors import BackendUnavailableError
from adloom.core.helper_venv import mediapipe_python
from adloom.creative.assets.synthetic import FootageSet, build_footage_set

PORTRAIT = Path(__file__).resolve().parents[2] / "adloom" / "digital_human" / "avatar" / "samples" / "astronaut.jpg"


@pytest.fixture(scope="session")
def has_mediapipe() -> bool:
    try:
        mediapipe_python()
        return True
    except BackendUnavailableError:
        return False


@pytest.fixture(scope="session")
def footage(tmp_path_factory: pytest.TempPathFactory) -> FootageSet:
    return build_footage_set(tmp_path_factory.mktemp("footage"), portrait=PORTRAIT)
