"""The ASGI layers in front of every route, outermost first.

1. :class:`RequestContext` — a request id (``X-Request-Id``), metrics by route template, and the last word
   on failures: an unexpected exception becomes a 500 in the error shape (logged with secrets redacted).
2. :class:`BodyLimit` — the declared ``Content-Length`` and then the bytes actually streamed are held to
   the limit (``api_max_body_mb``; ``api_max_upload_mb`` on ``/v1/uploads``); 413 without buffering.
3. :class:`TenantGate` — ``Authorization: Bearer KEY`` → the tenant (401 otherwise), its rate limit (429
   with ``Retry-After``), then ``Idempotency-Key`` on POSTs: the first request runs, a concurrent duplicate
   waits for its answer, a replay gets the stored answer with ``Idempotent-Replayed: true``, the same key on
   another request is a 409.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request

from adloom.core.errors import AdloomError
from adloom.core.redact import redact
from adloom.core.storage import idempotency
from adloom.core.types import Tenant
from adloom.serving.api.errors import BodyTooLarge, adloom_error, error_payload, retry_after_header, too_large_message
from adloom.serving.api.state import ApiState

log = logging.getLogger("adloom.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATHS = ("/v1/uploads",)
#: Paths under /v1 that need no key.
PUBLIC_PATHS = ("/v1/health",)
IDEMPOTENCY_HEADER = "idempotency-key"
#: How long a duplicate waits for the first request with its key to answer.
IDEMPOTENCY_WAIT_S = 10.0
#: Responses larger than this are not kept for replay (the key is then released).
MAX_STORED_RESPONSE = 16 * 1024 * 1024


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def send_error(
    send: Send, status: int, code: str, message: str, *, param: str | None = None, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(error_payload(status, code, message, param)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def bearer_key(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, key = value.partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


class RequestContext:
    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BodyTooLarge as exc:
            if not response_started:
                await send_error(send_with_id, 413, "body_too_large", too_large_message(exc.limit))
        except AdloomError as exc:  # raised outside a route (e.g. by the tenant gate's database calls)
            if not response_started:
                await adloom_error(Request(scope), exc)(scope, receive, send_with_id)
        except Exception as exc:
            secrets = [k for k in [bearer_key(_headers(scope))] if k]
            text = redact("".join(traceback.format_exception(exc)), secrets)
            log.error("request %s %s %s failed:\n%s", request_id, scope.get("method"), scope.get("path"), text)
            if not response_started:
                await send_error(
                    send_with_id,
                    500,
                    "internal_error",
                    f"the server failed (request {request_id}); report the request id",
                )
        finally:
            route = scope.get("route")
            template = str(getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched")
            self.state.metrics.observe(str(scope.get("method", "")), template, status, time.perf_counter() - started)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if scope.get("path", "") in UPLOAD_PATHS else self.max_body
        declared = _headers(scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await send_error(send, 400, "bad_content_length", "Content-Length is not a number of bytes")
                return
            if int(declared) > limit:
                await send_error(send, 413, "body_too_large", too_large_message(limit))
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


class TenantGate:
    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/v1/") or path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        key = bearer_key(headers)
        auth_header = {"WWW-Authenticate": "Bearer"}
        if key is None:
            await send_error(
                send,
                401,
                "missing_api_key",
                "send your API key as 'Authorization: Bearer KEY' (an operator creates one with "
                "`adloom keys create TENANT`)",
                headers=auth_header,
            )
            return
        tenant: Tenant | None = await anyio.to_thread.run_sync(self.state.store.authenticate, key)
        if tenant is None:
            await send_error(
                send,
                401,
                "invalid_api_key",
                "the API key is unknown or revoked; check it, or ask an operator for a new one "
                "(`adloom keys create TENANT`)",
                headers=auth_header,
            )
            return
        wait = self.state.limiter.take(tenant.id, tenant.quotas.requests_per_minute)
        if wait is not None:
            await send_error(
                send,
                429,
                "rate_limited",
                f"over {tenant.quotas.requests_per_minute} requests a minute for this tenant; retry after the "
                "Retry-After seconds, or ask an operator to raise the quota",
                headers=retry_after_header(wait),
            )
            return
        scope.setdefault("state", {})["tenant"] = tenant
        idem_key = headers.get(IDEMPOTENCY_HEADER)
        if scope.get("method") == "POST" and idem_key is not None:
            await self._idempotent(scope, receive, send, tenant, idem_key)
            return
        await self.app(scope, receive, send)

    async def _idempotent(self, scope: Scope, receive: Receive, send: Send, tenant: Tenant, key: str) -> None:
        if not 1 <= len(key) <= 255 or not key.isprintable() or not key.isascii():
            await send_error(
                send,
                400,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID is a good key)",
                param="Idempotency-Key",
            )
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        method, target = str(scope["method"]), str(scope.get("path", ""))
        if scope.get("query_string"):
            target += "?" + bytes(scope["query_string"]).decode("latin-1")
        body_hash = hashlib.sha256(method.encode() + b"\0" + target.encode() + b"\0" + body).hexdigest()
        store = self.state.store.scoped(tenant.id)
        deadline = time.monotonic() + IDEMPOTENCY_WAIT_S
        while True:
            found = await anyio.to_thread.run_sync(
                lambda: idempotency.claim(store, key, method=method, path=target, body_hash=body_hash)
            )
            while found.state == "in_progress" and time.monotonic() < deadline:
                await anyio.sleep(0.05)
                peeked = await anyio.to_thread.run_sync(
                    lambda: idempotency.peek(store, key, method=method, path=target, body_hash=body_hash)
                )
                if peeked is None:  # the first request failed and released the key: claim it again
                    break
                found = peeked
            else:
                break
        if found.state == "mismatch":
            await send_error(
                send,
                409,
                "idempotency_key_reused",
                "this Idempotency-Key was used in the last 24 h for a different request (method, path or body); "
                "use a new key for a new request",
                param="Idempotency-Key",
            )
            return
        if found.state == "in_progress":
            await send_error(
                send,
                409,
                "idempotency_request_in_progress",
                "the first request with this Idempotency-Key is still running; retry after Retry-After",
                param="Idempotency-Key",
                headers=retry_after_header(1),
            )
            return
        if found.state == "replay" and found.response is not None:
            stored = found.response
            data = stored.body.encode()
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers.items()]
            raw += [(b"content-length", str(len(data)).encode()), (b"idempotent-replayed", b"true")]
            await send({"type": "http.response.start", "status": stored.status_code, "headers": raw})
            await send({"type": "http.response.body", "body": data})
            return
        await self._first(scope, receive, send, store, key, body)

    async def _first(self, scope: Scope, receive: Receive, send: Send, store: Any, key: str, body: bytes) -> None:
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0
        kept: dict[str, str] = {}
        parts: list[bytes] = []
        size = 0

        async def recording(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for k, v in message.get("headers", []):
                    name = k.decode("latin-1").lower()
                    if name in ("content-type", "location"):
                        kept[name] = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_STORED_RESPONSE:
                    parts.append(chunk)
            await send(message)

        try:
            await self.app(scope, replay_body, recording)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: idempotency.release(store, key))
            raise
        text: str | None = None
        if size <= MAX_STORED_RESPONSE:
            try:
                text = b"".join(parts).decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if status >= 500 or status in (0, 429) or text is None:
            await anyio.to_thread.run_sync(lambda: idempotency.release(store, key))
            return
        response = idempotency.StoredResponse(status, kept, text)
        await anyio.to_thread.run_sync(lambda: idempotency.complete(store, key, response))
