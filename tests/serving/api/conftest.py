"""Fixtures of the API tests: a real app on a real store in the test's home (each test on SQLite, then on
PostgreSQL: ``db_url`` from tests/pg.py), two tenants with keys."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adloom.core.settings import Settings
from adloom.core.storage import Store, open_store
from adloom.serving.api import create_app

BRIEF = {
    "industry": "food",
    "language": "en",
    "platform": "tiktok",
    "campaign_id": "cmp_launch",
    "audience": "students who skip breakfast",
    "product": {
        "name": "Oat Crunch Bar",
        "brand": "Oaty",
        "selling_points": ["10 g protein per bar", "no added sugar", "fits in a pocket"],
        "price": 2.5,
        "currency": "USD",
    },
}


@dataclass
class Tenants:
    """Two tenants of one deployment, each with a key (``a`` owns the objects, ``b`` must never see them)."""

    a: dict[str, str]
    b: dict[str, str]
    a_key: str
    b_key: str


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """The API's settings on this test's database: a SQLite file, then a PostgreSQL database (``db_url``)."""
    return Settings(home=tmp_path / "home", embedder="hashing", api_default_writer="template", database_url=db_url)


@pytest.fixture
def root_store(settings: Settings) -> Store:
    return open_store(settings.db_url)


@pytest.fixture
def app(settings: Settings, root_store: Store) -> FastAPI:
    return create_app(settings, root_store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def tenants(root_store: Store) -> Tenants:
    _, a_key = root_store.create_api_key("acme")
    _, b_key = root_store.create_api_key("beta")
    return Tenants({"Authorization": f"Bearer {a_key}"}, {"Authorization": f"Bearer {b_key}"}, a_key, b_key)


def tiny_mp4(path: Path) -> Path:
    """A real one-second H.264 file made by ffmpeg."""
    from adloom.creative.compose.media import ffmpeg_exe

    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=red:s=64x64:d=1:r=10"]
        + ["-pix_fmt", "yuv420p", "-c:v", "libx264", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def png_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, "PNG")
    return out.getvalue()
