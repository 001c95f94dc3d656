"""Shared fixtures. Every test gets its own ADLOOM_HOME so nothing touches the user's data."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from adloom.core.settings import Settings, get_settings
from adloom.core.types import Brief, LiveRoom, Product

REPO = Path(__file__).resolve().parents[1]
#: The assembled offline models (`adloom setup`), found before each test isolates ADLOOM_HOME.
REAL_MODELS = Settings().models
SAMPLES = REPO / "adloom" / "serving" / "samples"
#: pg_cluster, pg_url and db_url (each storage test on SQLite and on a throwaway PostgreSQL): tests/pg.py.
pytest_plugins = ["tests.pg"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the mypy check in the background when its test is selected (tests/background_mypy.py)."""
    from tests import background_mypy

    if any(item.name == background_mypy.TEST_NAME for item in session.items):
        background_mypy.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests import background_mypy

    background_mypy.stop()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADLOOM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ADLOOM_CONFIG", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def brief_en() -> Brief:
    return Brief(
        id="brf_test_en",
        industry="home",
        language="en",
        platform="tiktok",
        duration_s=20,
        audience="busy parents",
        notes="pet hair on the floor every day",
        product=Product(
            name="BreezeBot S2",
            brand="Breeze",
            description="A slim robot vacuum with lidar mapping.",
            selling_points=["maps every room with lidar", "self-emptying dock holds 60 days of dust", "8 cm tall"],
            price=299,
            currency="USD",
            offer="free spare brush kit",
        ),
    )


@pytest.fixture
def brief_zh() -> Brief:
    return Brief(
        id="brf_test_zh",
        industry="beauty",
        language="zh",
        duration_s=15,
        audience="25-35岁女性",
        notes="换季皮肤干燥紧绷",
        product=Product(
            name="水润保湿精华",
            selling_points=["含透明质酸，补水保湿", "质地清爽，很快吸收", "30毫升便携装"],
            price=129,
            offer="送5毫升小样",
        ),
    )


@pytest.fixture
def real_models(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the isolated settings at the assembled models (Kokoro voices, GGUF)."""
    monkeypatch.setenv("ADLOOM_MODEL_DIR", str(REAL_MODELS))
    get_settings.cache_clear()
    return REAL_MODELS


class LoopbackCompletions:
    """The far side of an LLM call: an OpenAI-compatible /completions endpoint on loopback that answers with
    the given texts in turn (the last one repeats)."""

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.calls = texts, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers["Content-Length"]))
                text = server.texts[min(server.calls, len(server.texts) - 1)]
                server.calls += 1
                data = json.dumps({"choices": [{"text": text, "index": 0}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def loopback_llm() -> Iterator[Callable[[list[str]], Any]]:
    """``start(texts)`` → a real OpenAIBackend talking to a :class:`LoopbackCompletions` server."""
    from adloom.scripts_gen.llm.openai_http import OpenAIBackend

    servers: list[LoopbackCompletions] = []

    def start(texts: list[str]) -> OpenAIBackend:
        servers.append(LoopbackCompletions(texts))
        return OpenAIBackend(servers[-1].url, "stub", retries=0)

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def room_zh() -> LiveRoom:
    """The bundled sample room (serum, cream, cleanser and their knowledge base) as a LiveRoom."""
    data = yaml.safe_load((SAMPLES / "room_zh.yaml").read_text(encoding="utf-8"))
    return LiveRoom(name=data["name"], products=data["products"], knowledge_base=data["knowledge_base"])
