"""Delivery feedback: a JSON list of events, or a JSONL or CSV body, imported by the same code path as
``adloom feedback import`` (duplicates count once; impossible funnels are held with reasons; per-row issues)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request

from adloom.core.errors import InputError
from adloom.core.types import new_id
from adloom.serving.api.deps import SettingsDep, StoreDep
from adloom.serving.api.errors import CONFLICT, UNSUPPORTED, ApiError
from adloom.serving.api.models import FeedbackResponse
from adloom.serving.tenant_files import tenant_subdir

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])

_JSONL_TYPES = ("application/jsonl", "application/x-ndjson", "application/ndjson", "application/x-jsonlines")
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'Events as a JSON list (or {"events": [...]}), JSON Lines, or CSV with a header row '
        "(event_id, creative_id, kind, ts, count, value, placement, segment).",
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackEvent"}, "maxItems": 100000}
            },
            "application/jsonl": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def _line_col(text: str, pos: int) -> str:
    before = text[:pos]
    return f"line {before.count(chr(10)) + 1} column {pos - (before.rfind(chr(10)) + 1) + 1}"


def _as_jsonl(body: bytes) -> bytes:
    """A JSON list of events (or ``{"events": [...]}``) as JSON Lines, for the file importer."""
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise InputError("the body is not UTF-8 text; send UTF-8 JSON", field="body") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_json",
            f"request body is not valid JSON: {exc.msg} at {_line_col(exc.doc, exc.pos)}; send a JSON list of events",
            param="body",
        ) from None
    if isinstance(data, dict) and set(data) == {"events"}:
        data = data["events"]
    if not isinstance(data, list):
        raise InputError(
            'the body must be a JSON list of events (or {"events": [...]}); got ' + type(data).__name__,
            field="body",
        )
    return b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in data)


@router.post("", response_model=FeedbackResponse, responses={**CONFLICT, **UNSUPPORTED}, openapi_extra=_BODY_DOC)
async def post_feedback(request: Request, store: StoreDep, settings: SettingsDep) -> FeedbackResponse:
    """Import delivery events for this tenant's creatives; the answer counts them per decision and lists
    per-row issues (an unknown creative, a broken funnel, a bad field)."""
    from adloom.analytics.feedback import import_feedback

    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if ctype == "application/json":
        data, fmt, suffix = _as_jsonl(body), "jsonl", ".jsonl"
    elif ctype in _JSONL_TYPES:
        data, fmt, suffix = body, "jsonl", ".jsonl"
    elif ctype == "text/csv":
        data, fmt, suffix = body, "csv", ".csv"
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {ctype or '(none)'!r} is not accepted here; send application/json (a list of events), "
            "application/jsonl or text/csv",
            param="Content-Type",
        )
    if not data.strip():
        raise InputError("the body holds no events; send at least one", field="body")
    folder = tenant_subdir(settings, store.tenant_id, "tmp")
    path: Path = folder / f"{new_id('fbk')}{suffix}"
    path.write_bytes(data)
    try:
        report = await anyio.to_thread.run_sync(lambda: import_feedback(store, path, fmt=fmt))  # type: ignore[arg-type]
    except InputError as exc:
        raise InputError(str(exc).replace(str(path), "the body"), field=exc.field) from None
    finally:
        path.unlink(missing_ok=True)
    return FeedbackResponse.model_validate(report.model_dump(mode="json"), from_attributes=False)
