"""``adloom ui``: the advertiser console (Streamlit, :mod:`adloom.ui`).

The console only speaks HTTP to the batch API through :class:`adloom.core.client.AdloomClient` (import-linter
keeps ``adloom.ui`` off the service packages). Two ways to run it:

* **local (the default)**: with no ``ADLOOM_API_URL`` set, this process hosts the API itself on a free loopback
  port (the same app as ``adloom serve``, with an in-process worker), creates an API key for the local tenant
  (the CLI's data) that is revoked again on exit, and starts Streamlit as a child process pointed at it. The
  console and the CLI therefore share one library, one set of briefs and one render queue.
* **remote**: with ``ADLOOM_API_URL`` and ``ADLOOM_API_KEY`` set, only Streamlit starts, talking to that server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from adloom.core.client import KEY_ENV, URL_ENV
from adloom.core.errors import BackendUnavailableError, InputError

#: Streamlit's own upload cap in MB (the console's server-side checks apply per kind of file beneath it).
MAX_UPLOAD_MB = 200
_KEY_NAME = "console (adloom ui)"


def app_path() -> Path:
    """The console's Streamlit entry point, found by path (serving must not import :mod:`adloom.ui`)."""
    import adloom

    path = Path(adloom.__file__).resolve().parent / "ui" / "app.py"
    if not path.is_file():
        raise BackendUnavailableError(f"the console is missing from this install ({path})")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def streamlit_command(port: int, host: str) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(app_path()),
        "--server.port", str(port),
        "--server.address", host,
        "--server.headless", "true",
        "--server.maxUploadSize", str(MAX_UPLOAD_MB),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
        "--theme.primaryColor", "#D9480F",
    ]  # fmt: skip


class LocalApi:
    """The batch API served from this process on a loopback port, with a console key for the local tenant."""

    def __init__(self, workers_in_process: int = 2, settings: Any = None) -> None:
        self.workers_in_process = workers_in_process
        self.settings = settings
        self.url = ""
        self.key = ""
        self._key_id = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._store: Any = None

    def start(self, timeout_s: float = 60.0) -> LocalApi:
        try:
            import uvicorn

            from adloom.serving.api import create_app
        except ImportError as exc:
            raise InputError(f"the console needs the API extra: pip install 'adloom[api,ui]' ({exc})") from None
        from adloom.core.settings import get_settings
        from adloom.core.types import DEFAULT_TENANT
        from adloom.serving.api_cli import background_services
        from adloom.serving.scripts_service import ensure_library, open_default_store

        settings = self.settings or get_settings()
        self._store = open_default_store(settings)
        # A fresh install has an empty library; the console's first page retrieves exemplars from it, so seed the
        # bundled sample library as `adloom demo` does (a no-op once anything is imported).
        ensure_library(self._store)
        info, self.key = self._store.create_api_key(DEFAULT_TENANT, _KEY_NAME)
        self._key_id = info.id
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        app = create_app(settings, self._store, background=background_services(self.workers_in_process))
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="adloom-ui-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise BackendUnavailableError(f"the local API did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._store is not None and self._key_id:
            try:
                self._store.revoke_api_key(self._key_id)
            except Exception:  # the key is harmless once the server is gone; never fail the exit on it
                pass
            self._key_id = ""


def ui(
    port: Annotated[int, typer.Option(help="Port the console listens on.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 to open it to your network).")] = (
        "127.0.0.1"
    ),
    workers_in_process: Annotated[
        int, typer.Option(help="Render slots of the local API's worker (local mode only).")
    ] = 2,
    lang: Annotated[str, typer.Option(help="Default interface language: zh or en (switchable in the page).")] = "zh",
) -> None:
    """Open the advertiser console in your browser at http://HOST:PORT (Ctrl+C stops it).

    Without ADLOOM_API_URL it serves its own API on loopback over the CLI's data; with ADLOOM_API_URL and
    ADLOOM_API_KEY it works against that server."""
    if not 1 <= port <= 65535:
        raise InputError(f"--port {port}: use 1–65535", field="port")
    if lang not in ("zh", "en"):
        raise InputError(f"--lang {lang!r}: use zh or en", field="lang")
    if workers_in_process < 0:
        raise InputError(f"--workers-in-process {workers_in_process}: use 0 or more", field="workers_in_process")
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise InputError("the console needs its extra: pip install 'adloom[ui]'") from None
    env = dict(os.environ)
    env["ADLOOM_UI_LANG"] = lang
    local: LocalApi | None = None
    if not env.get(URL_ENV):
        local = LocalApi(workers_in_process).start()
        env.update({URL_ENV: local.url, KEY_ENV: local.key, "ADLOOM_UI_LOCAL": "1"})
    elif not env.get(KEY_ENV):
        raise InputError(f"{URL_ENV} is set but {KEY_ENV} is not: set both, or neither for local mode", field=KEY_ENV)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    typer.echo(f"adloom console on http://{shown}:{port} (Ctrl+C to stop)", err=True)
    child = subprocess.Popen(streamlit_command(port, host), env=env)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the console like Ctrl+C: child first, then the local API

    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        try:
            code = child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
    finally:
        if local is not None:
            local.stop()
    if code not in (0, -signal.SIGINT, -signal.SIGTERM):
        raise typer.Exit(code)
