"""One error shape for every failure the API answers: ``{"error": {"type", "code", "message", "param"}}``.

Typed errors from :mod:`adloom.core.errors` are mapped to HTTP status codes here (and only here): bad
input 400 (415 for content of a kind we do not accept), a missing or foreign id 404, a quota 429 with
``Retry-After``, a backend that is down 503. Messages name the field (``param``) and the fix. Anything
unexpected is a 500 carrying the request id; its details go to the server log, secrets redacted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from adloom.core.errors import (
    AdloomError,
    BackendUnavailableError,
    ComplianceError,
    ConfigError,
    GenerationError,
    InputError,
    NotFoundError,
    PathOutsideRootError,
    QuotaError,
    StorageError,
    UnsupportedContentError,
)
from adloom.core.redact import redact

log = logging.getLogger("adloom.api")

ErrorType = Literal[
    "invalid_request_error",
    "authentication_error",
    "not_found_error",
    "conflict_error",
    "rate_limit_error",
    "api_error",
]

_TYPE_BY_STATUS: dict[int, ErrorType] = {
    401: "authentication_error",
    404: "not_found_error",
    409: "conflict_error",
    429: "rate_limit_error",
}


class ErrorDetail(BaseModel):
    type: ErrorType = Field(description="The class of error: what kind of fix it needs.")
    code: str = Field(description="A stable machine-readable code, e.g. invalid_json, not_found, rate_limited.")
    message: str = Field(description="What was wrong, naming the field, and what to do.")
    param: str | None = Field(None, description="The request field at fault (a dotted path), if one is.")
    details: list[dict[str, Any]] | None = Field(
        None, description="Structured problems where a message is not enough, e.g. compliance findings of a 422."
    )


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of the API."""

    error: ErrorDetail


class ApiError(Exception):
    """An HTTP answer raised from anywhere in the API (routes, dependencies, middleware helpers)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.headers = dict(headers or {})
        self.details = [dict(d) for d in details] if details is not None else None


class BodyTooLarge(StarletteHTTPException):
    """The request body passed its limit while it streamed in (raised from ``receive``).

    An HTTPException so FastAPI's body reader passes it on unchanged instead of calling it a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is over the limit of {limit} bytes")
        self.limit = limit


def error_status_type(status: int) -> ErrorType:
    if status in _TYPE_BY_STATUS:
        return _TYPE_BY_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_payload(
    status: int, code: str, message: str, param: str | None = None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": error_status_type(status), "code": code, "message": message, "param": param}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_payload(status, code, message, param, details), status_code=status, headers=dict(headers or {})
    )


def too_large_message(limit: int) -> str:
    return (
        f"request body is over the limit of {limit / 1_048_576:.0f} MB; send a smaller body, split a JSONL "
        "batch into several batches, or upload large media with POST /v1/uploads"
    )


def retry_after_header(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


# -- validation errors ----------------------------------------------------------------------------------------

_SOURCES = {"body", "query", "path", "header", "cookie"}


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "product", "selling_points", 0)`` → ``product.selling_points[0]``."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "body"


def _explain(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", "invalid"))
    if kind == "extra_forbidden":
        return "unknown field: remove it (see the request schema in /openapi.json)"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_too_long":
        return msg + " (shorten the text)"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 40):
        return f"{msg} (got {value!r})"
    return msg


def _line_col(doc: str, pos: int) -> tuple[int, int]:
    before = doc[:pos]
    return before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1


def validation_error(exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        loc = bad_json.get("loc", ())
        pos = loc[-1] if loc and isinstance(loc[-1], int) else 0
        doc = exc.body if isinstance(exc.body, str) else ""
        line, col = _line_col(doc, pos)
        why = str(bad_json.get("ctx", {}).get("error", "not JSON"))
        return error_response(
            400,
            "invalid_json",
            f"request body is not valid JSON: {why} at line {line} column {col}; send one JSON object "
            "with Content-Type: application/json",
            param="body",
        )
    message, param = describe_errors(errors)
    return error_response(400, "invalid_request", message, param=param)


def describe_errors(errors: Sequence[Mapping[str, Any]], *, limit: int = 8) -> tuple[str, str | None]:
    """pydantic errors as one message (each naming its field path and what was expected) and the first field."""
    lines = [f"{field_path(e.get('loc', ()))}: {_explain(e)}" for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more problems")
    first = field_path(errors[0].get("loc", ())) if errors else None
    return redact("; ".join(lines)), first  # an echoed value may be a URL carrying a stream key or a token


# -- handlers ---------------------------------------------------------------------------------------------------

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
}


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "unknown"))


def adloom_error(request: Request, exc: AdloomError) -> JSONResponse:
    """The response for a typed adloom error (see the module notes for the mapping)."""
    field = getattr(exc, "field", None)
    if isinstance(exc, UnsupportedContentError):
        return error_response(415, "unsupported_content", str(exc), param=field)
    if isinstance(exc, PathOutsideRootError):
        return error_response(400, "path_outside_root", str(exc), param=field)
    if isinstance(exc, InputError):
        return error_response(400, "invalid_request", str(exc), param=field)
    if isinstance(exc, NotFoundError):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, QuotaError):
        headers = retry_after_header(exc.retry_after_s)
        return error_response(429, "quota_exceeded", str(exc), param=exc.field, headers=headers)
    if isinstance(exc, ComplianceError | GenerationError):
        return error_response(422, "generation_failed", str(exc))
    if isinstance(exc, BackendUnavailableError):
        return error_response(503, "backend_unavailable", redact(str(exc)), headers=retry_after_header(30))
    rid = _request_id(request)
    log.error("request %s failed: %s: %s", rid, type(exc).__name__, redact(str(exc)))
    if isinstance(exc, StorageError | ConfigError):
        return error_response(
            503,
            "service_unavailable",
            f"the server's storage or configuration failed (request {rid}); retry later, or report the request id",
            headers=retry_after_header(5),
        )
    return error_response(500, "internal_error", f"the server failed (request {rid}); report the request id")


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(
            exc.status, exc.code, exc.message, param=exc.param, headers=exc.headers, details=exc.details
        )

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error(exc)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc, BodyTooLarge):
            return error_response(413, "body_too_large", too_large_message(exc.limit))
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 404:
            message = f"no such route: {request.method} {request.url.path}; see /openapi.json for the routes"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /openapi.json for the methods"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, code, message, headers=exc.headers)

    async def on_adloom(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AdloomError)
        return adloom_error(request, exc)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(AdloomError, on_adloom)


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


def doc_error(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    """One documented error answer of a route (in the one error shape), for its ``responses``."""
    return {status: _doc(description)}


#: Error answers every authenticated route may give, documented in the OpenAPI.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _doc("Bad input: malformed JSON, a wrong type, an unknown field; `param` names the field."),
    401: _doc("Missing, unknown or revoked API key (`Authorization: Bearer KEY`)."),
    413: _doc("The request body is over the size limit."),
    429: _doc("Rate limit or quota reached; `Retry-After` says when to try again."),
    500: _doc("The server failed; the message carries a request id."),
    503: _doc("Storage or a model backend is unavailable; retry after `Retry-After`."),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _doc("No such object for this tenant.")}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _doc("The Idempotency-Key was used with a different request, or that request is still running.")
}
UNSUPPORTED: dict[int | str, dict[str, Any]] = {415: _doc("The uploaded content is not of an accepted kind.")}
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: _doc("The input was valid but nothing passing review could be generated from it.")
}
