"""Render batches: N creatives for a brief, or a JSONL of RenderRequest lines; status with per-item progress,
cancel, and the results and errors files (JSONL, joined to the input on ``custom_id``).

A JSONL line that is malformed, has wrong types or names a brief this tenant does not have does not fail the
batch: it becomes a failed item in the errors file (under its ``custom_id``, or ``line-<n>`` when it has
none) and the other lines run. A file in which every line is bad is a 400 and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from adloom.core.errors import InputError, NotFoundError
from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage.queue import JobQueue, Rejected
from adloom.core.types import Batch, BatchItem, ItemStatus, Page, RenderRequest, Tenant
from adloom.serving.api.deps import After, Limit, SettingsDep, StoreDep, TenantDep
from adloom.serving.api.errors import CONFLICT, NOT_FOUND, UNSUPPORTED, ApiError, describe_errors
from adloom.serving.api.models import BatchCreate, Writer

router = APIRouter(prefix="/v1/batches", tags=["batches"])

JSONL_TYPES = ("application/jsonl", "application/x-ndjson", "application/ndjson", "application/x-jsonlines")
_SHOWN_PROBLEMS = 5

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'Either JSON `{"brief_id", "n"}` (N creatives for one brief), or JSON Lines of '
        "RenderRequest objects (`Content-Type: application/jsonl`, or a multipart form with a `file`).",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BatchCreate"}},
            "application/jsonl": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON Lines.", "content": {"application/jsonl": {"schema": {"type": "string"}}}},
    **NOT_FOUND,
}


def _line_col(text: str, pos: int) -> str:
    before = text[:pos]
    return f"line {before.count(chr(10)) + 1} column {pos - (before.rfind(chr(10)) + 1) + 1}"


def parse_jsonl(data: bytes) -> tuple[list[RenderRequest], list[Rejected]]:
    """Request lines and the lines refused (each with its custom_id, or ``line-<n>``, and why)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the JSONL body is not UTF-8 text; save it as UTF-8", field="body") from None
    good: list[RenderRequest] = []
    bad: list[Rejected] = []
    seen: set[str] = set()

    def refuse(raw_id: object, n: int, code: str, message: str) -> None:
        cid = raw_id if isinstance(raw_id, str) and 1 <= len(raw_id) <= 64 and raw_id not in seen else f"line-{n}"
        while cid in seen:
            cid += "_"
        seen.add(cid)
        bad.append(Rejected(custom_id=cid, code=code, message=f"line {n}: {message}"))

    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            refuse(None, n, "invalid_json", f"not JSON: {exc.msg} at column {exc.pos + 1}")
            continue
        if not isinstance(raw, dict):
            refuse(None, n, "invalid_request", "a line must be a JSON object (a RenderRequest)")
            continue
        try:
            req = RenderRequest.model_validate(raw)
        except ValidationError as exc:
            problems, _ = describe_errors(exc.errors(), limit=3)
            refuse(raw.get("custom_id"), n, "invalid_request", problems)
            continue
        if req.custom_id in seen:
            refuse(None, n, "duplicate_custom_id", f"custom_id {req.custom_id!r} is used by an earlier line")
            continue
        seen.add(req.custom_id)
        good.append(req)
    return good, bad


def _known_briefs(store: Store, ids: set[str]) -> set[str]:
    known = set()
    for bid in ids:
        try:
            store.get_brief(bid)
            known.add(bid)
        except NotFoundError:
            pass
    return known


def check_shots(settings: Settings, modes: set[str]) -> None:
    """Generated shots (``shots`` other than footage_only) need a video model this server's settings name and
    can run: without one the submission is refused now (400, ``param`` naming the setting) instead of queueing
    items that would all fail. Whether the executor has a GPU is the worker's to check: the API process may not
    be where the items run. The message names the model by its folder's name only, never the server's paths
    (``GET /v1/capabilities`` gives the same message before anything is submitted)."""
    from adloom.serving.generated_shots import generation_job

    for mode in sorted(modes - {"footage_only"}):
        try:
            generation_job(mode, settings)
        except InputError as exc:
            field = "video_model_path" if exc.field in (None, "model") else exc.field
            raise InputError(
                f"shots={mode} cannot run on this server ({field}): {hide_model_path(str(exc), settings)}. Submit "
                "with shots=footage_only, or ask the operator to configure the video model",
                field=field,
            ) from None


def hide_model_path(message: str, settings: Settings) -> str:
    """``message`` with the configured video model's path (as set, and resolved) shown as its folder's name: a
    caller of the API learns which model, never where the server keeps it."""
    if settings.video_model_path is None:
        return message
    raw = Path(settings.video_model_path)
    shown = [str(raw), str(raw.expanduser())]
    try:
        shown.append(str(raw.expanduser().resolve()))
    except OSError:
        pass
    for path in sorted({p for p in shown if p not in ("", ".")}, key=len, reverse=True):
        message = message.replace(path, raw.name or path)
    return message


def create_from_jsonl(
    store: Store,
    tenant: Tenant,
    data: bytes,
    *,
    writer: Writer | None,
    metadata: dict[str, str],
    settings: Settings,
) -> Batch:
    if not data.strip():
        raise InputError("the JSONL body is empty; send one RenderRequest per line", field="body")
    good, bad = parse_jsonl(data)
    check_shots(settings, {r.shots for r in good})
    known = _known_briefs(store, {r.brief_id for r in good})
    runnable = [r for r in good if r.brief_id in known]
    if not runnable:
        problems = [x.message for x in bad[:_SHOWN_PROBLEMS]]
        problems += [f"custom_id {r.custom_id!r}: no brief {r.brief_id!r}" for r in good[:_SHOWN_PROBLEMS]]
        raise InputError(
            f"no line of the JSONL can run ({len(bad) + len(good)} lines, all bad): "
            + "; ".join(problems[:_SHOWN_PROBLEMS])
            + "; fix the lines (each a RenderRequest naming a brief from POST /v1/briefs) and submit again",
            field="body",
        )
    return JobQueue(store).create_batch(
        requests=good, rejected=bad, writer=writer, metadata=metadata, quotas=tenant.quotas
    )


def _check_scripts(store: Store, brief_id: str, script_ids: list[str]) -> None:
    """Every script exists for this tenant and belongs to the brief (a 404 or a 400 naming the first that does
    not), so a batch never starts with a line that cannot render."""
    store.get_brief(brief_id)
    for sid in script_ids:
        script = store.get_script(sid)
        if script.brief_id != brief_id:
            raise InputError(
                f"script {sid} belongs to brief {script.brief_id}, not {brief_id}; render each brief's scripts "
                "in its own batch",
                field="script_ids",
            )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Batch,
    responses={**NOT_FOUND, **CONFLICT, **UNSUPPORTED},
    openapi_extra=_BODY_DOC,
)
async def create_batch(
    request: Request,
    store: StoreDep,
    tenant: TenantDep,
    settings: SettingsDep,
    writer: Annotated[Writer | None, Query(description="JSONL form only: the script writer.")] = None,
) -> Batch:
    """Submit a render batch; poll GET /v1/batches/{id} (or wait for the batch.completed webhook), then read
    its results and errors files. Quotas (concurrent batches, creatives per day, lines per batch) answer 429."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = _line_col(exc.doc, exc.pos) if isinstance(exc, json.JSONDecodeError) else "the start"
            raise ApiError(
                400,
                "invalid_json",
                f'request body is not valid JSON: {exc} at {where}; send {{"brief_id": ..., "n": ...}}, or a '
                "JSONL file with Content-Type: application/jsonl",
                param="body",
            ) from None
        try:
            body = BatchCreate.model_validate(data)
        except ValidationError as exc:
            message, param = describe_errors(exc.errors())
            raise InputError(message, field=param) from None
        if writer is not None:
            raise InputError("the writer query parameter is for JSONL bodies; put writer in the JSON", field="writer")
        if body.script_ids is not None:
            await anyio.to_thread.run_sync(lambda: _check_scripts(store, body.brief_id, body.script_ids or []))
        if body.shots != "footage_only":
            await anyio.to_thread.run_sync(lambda: check_shots(settings, {body.shots}))
        defaults: dict[str, Any] = {"height": body.height, "shots": body.shots}
        if body.aspect is not None:
            defaults["aspect"] = body.aspect.value
        if body.template is not None:
            defaults["template"] = body.template
        return await anyio.to_thread.run_sync(
            lambda: JobQueue(store).create_batch(
                brief_id=body.brief_id,
                n=body.n,
                writer=body.writer,
                metadata=body.metadata,
                defaults=defaults,
                quotas=tenant.quotas,
                script_ids=body.script_ids,
            )
        )
    if ctype in JSONL_TYPES:
        data_bytes = await request.body()
    elif ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InputError("the form needs a 'file' field holding the JSONL of RenderRequest lines", field="file")
        data_bytes = await upload.read()
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {ctype or '(none)'!r} is not accepted here; send application/json ({{brief_id, n}}), "
            "application/jsonl, or multipart/form-data with a 'file'",
            param="Content-Type",
        )
    return await anyio.to_thread.run_sync(
        lambda: create_from_jsonl(store, tenant, data_bytes, writer=writer, metadata={}, settings=settings)
    )


@router.get("", response_model=Page[Batch])
def list_batches(store: StoreDep, limit: Limit = 20, after: After = None) -> Page[Batch]:
    """This tenant's batches, newest first."""
    return JobQueue(store).list_batches(limit=limit, after=after)


@router.get("/{batch_id}", response_model=Batch, responses=NOT_FOUND)
def get_batch(batch_id: str, store: StoreDep) -> Batch:
    """The batch's state, a timestamp per state entered, and request_counts {total, completed, failed}."""
    return JobQueue(store).get_batch(batch_id)


@router.post("/{batch_id}/cancel", response_model=Batch, responses={**NOT_FOUND, **CONFLICT})
def cancel_batch(batch_id: str, store: StoreDep) -> Batch:
    """Cancel: items not started are cancelled now, running ones finish; a finished batch is unchanged."""
    return JobQueue(store).cancel_batch(batch_id)


@router.get("/{batch_id}/items", response_model=Page[BatchItem], responses=NOT_FOUND)
def list_items(
    batch_id: str,
    store: StoreDep,
    limit: Limit = 20,
    after: After = None,
    status: Annotated[ItemStatus | None, Query(description="Only items in this state.")] = None,
) -> Page[BatchItem]:
    """Per-item progress in input order: state, attempts, creative id, error."""
    return JobQueue(store).list_items(batch_id, limit=limit, after=after, status=status)


def _jsonl(lines: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for line in lines:
        yield json.dumps(line, ensure_ascii=False, default=str).encode() + b"\n"


@router.get("/{batch_id}/results", response_class=StreamingResponse, responses=_STREAM_DOC)
def results(batch_id: str, store: StoreDep) -> StreamingResponse:
    """One line per succeeded item: {id, custom_id, creative_id, response}."""
    queue = JobQueue(store)
    queue.get_batch(batch_id)  # a 404 now, before the stream starts
    return StreamingResponse(_jsonl(queue.iter_results(batch_id)), media_type="application/jsonl")


@router.get("/{batch_id}/errors", response_class=StreamingResponse, responses=_STREAM_DOC)
def errors(batch_id: str, store: StoreDep) -> StreamingResponse:
    """One line per failed or cancelled item: {id, custom_id, error: {code, message}}."""
    queue = JobQueue(store)
    queue.get_batch(batch_id)
    return StreamingResponse(_jsonl(queue.iter_errors(batch_id)), media_type="application/jsonl")
