"""A room's loopback control API (``/status``, ``/say``, ``/comment``, ``/stop``) and the process that serves it.

Every request passes :class:`ControlGuard` before any route sees it: the ``X-Adloom-Token`` header is
compared with the room's token as bytes in constant time (``hmac.compare_digest``; a header that is not
ASCII is simply wrong, 401), and the body is limited to :data:`MAX_BODY_BYTES` on its declared
``Content-Length`` and again while it streams in (413), before anything parses it. The schema pages
(``/openapi.json``, ``/docs``, ``/redoc``) are off. Body fields are bounded by their models.
"""

from __future__ import annotations

import hmac
import json
import logging
import logging.handlers
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from adloom.core.errors import AdloomError, ComplianceError, InputError
from adloom.core.redact import redact
from adloom.core.settings import get_settings
from adloom.serving.rooms.outputs import stream_secrets
from adloom.serving.rooms.process import TOKEN_HEADER, process_identity
from adloom.serving.rooms.runtime import RoomRuntime
from adloom.serving.rooms.schema import ROOM_FILE, RUN_FILE, define_room, load_room, room_dir, write_private

log = logging.getLogger(__name__)

#: Largest request body accepted: a comment of 2000 characters, JSON-escaped, fits with room to spare.
MAX_BODY_BYTES = 32_768
#: room.log rolls over to room.log.1 … past this size, like the room's other logs (transcript, abuse log).
ROOM_LOG_MAX_BYTES = 5_000_000
ROOM_LOG_BACKUPS = 2
ROOM_LOG = "room.log"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(min_length=1, max_length=400)]


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    viewer: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ControlGuard:
    """ASGI middleware in front of the whole control app: token check, then body size limit.

    The body is read here, up to ``max_body`` bytes, and handed on only when it fits, so no route
    (and no JSON parser) ever sees an oversized request."""

    def __init__(self, app: ASGIApp, *, token: str, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.token = token.encode("ascii")
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {k.lower(): v for k, v in scope.get("headers", [])}
        if not hmac.compare_digest(headers.get(TOKEN_HEADER.lower().encode(), b""), self.token):
            await _reply(send, 401, f"missing or wrong {TOKEN_HEADER} (see run.json)")
            return
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _reply(send, 400, "Content-Length is not a number")
                return
            if int(declared) > self.max_body:
                await _reply(send, 413, f"request body over {self.max_body} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _reply(send, 413, f"request body over {self.max_body} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def control_app(runtime: RoomRuntime, token: str, on_stop: Callable[[], None]) -> FastAPI:
    """The room's loopback control API. Every call needs the ``X-Adloom-Token`` header from run.json."""
    app = FastAPI(title=f"adloom live room {runtime.rf.room_id}", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(ControlGuard, token=token)

    @app.exception_handler(InputError)
    def _bad(_: Any, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc), "field": exc.field})

    @app.exception_handler(ComplianceError)
    def _refused(_: Any, exc: ComplianceError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc), "field": "text"})

    @app.get("/status")
    def status() -> dict[str, Any]:
        return runtime.status()

    @app.post("/say", status_code=202)
    def say(body: SayBody) -> dict[str, Any]:
        return runtime.say(body.text)

    @app.post("/comment", status_code=202)
    def comment(body: CommentBody) -> dict[str, Any]:
        return runtime.comment(body.viewer, body.text, body.id)

    @app.post("/stop", status_code=202)
    def stop() -> dict[str, str]:
        on_stop()
        return {"status": "stopping"}

    return app


class RedactingFilter(logging.Filter):
    """Masks URLs (passwords, stream keys) and the room's known secrets in every record it passes."""

    def __init__(self, secrets_: list[str]) -> None:
        super().__init__()
        self.secrets = secrets_

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def configure_room_logging(
    folder: Path | None, outputs: list[str], *, console: bool, max_bytes: int = ROOM_LOG_MAX_BYTES
) -> None:
    """Log the room to ``folder/room.log`` (rotating past ``max_bytes``) and/or the console, stream keys masked."""
    handlers: list[logging.Handler] = []
    if folder is not None:
        handlers.append(
            logging.handlers.RotatingFileHandler(
                folder / ROOM_LOG, maxBytes=max_bytes, backupCount=ROOM_LOG_BACKUPS, encoding="utf-8"
            )
        )
    if console:
        handlers.append(logging.StreamHandler())
    scrub = RedactingFilter(stream_secrets(outputs))
    for h in handlers:
        h.addFilter(scrub)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )


def run_room(
    room_path: Path, *, state_dir: Path | None = None, port: int | None = None, log_to_console: bool = True
) -> None:
    """Run a room in this process until ``/stop``, SIGTERM or Ctrl-C (``adloom live run``).

    A room file outside its state folder is defined first (assets copied, :func:`define_room`), and the
    stored definition is what runs, exactly as ``adloom live start`` runs it."""
    import uvicorn

    rf = load_room(room_path)
    folder = state_dir or room_dir(rf.room_id)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / ROOM_FILE).resolve() != room_path.resolve():  # `adloom live run FILE`: known to status/stop too
        define_room(rf, folder=folder)
        rf = load_room(folder / ROOM_FILE)
    configure_room_logging(folder, rf.room.outputs, console=log_to_console)
    settings = get_settings()
    backend = None
    if rf.preset.answer_llm or rf.preset.script_llm:
        from adloom.scripts_gen.llm import get_backend

        try:
            backend = get_backend(settings)
        except AdloomError as exc:  # the room still runs: template answers and script
            log.warning("LLM backend unavailable (%s); answering from templates", exc)
    runtime = RoomRuntime(
        rf,
        folder,
        responder_backend=backend if rf.preset.answer_llm else None,
        script_backend=backend if rf.preset.script_llm else None,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", rf.preset.port if port is None else port))
    token = secrets.token_urlsafe(24)
    server: Any = None

    def request_stop() -> None:
        if server is not None:
            server.should_exit = True

    app = control_app(runtime, token, request_stop)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    run_path = folder / RUN_FILE
    runtime.start()
    info = {
        "room_id": rf.room_id,
        "pid": os.getpid(),
        "identity": process_identity(os.getpid()),
        "port": sock.getsockname()[1],
        "token": token,
        "started_at": time.time(),
        "engine": runtime.engine,
    }
    write_private(run_path, json.dumps(info))
    try:
        server.run(sockets=[sock])
    finally:
        runtime.stop()
        try:
            current = json.loads(run_path.read_text())
            if current.get("pid") == os.getpid():
                run_path.unlink()
        except (OSError, ValueError):
            pass
