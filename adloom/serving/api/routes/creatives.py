"""Creatives: list with filters, get one, review it (approve / reject before launch), download its video, cover,
subtitles or manifest (Range supported).

A file's path comes from the stored creative and is resolved again at download time: it must lie inside the
tenant's own folder or a folder the operator allowed (``ADLOOM_ALLOWED_ROOTS``), else it is not served."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from adloom.core.errors import NotFoundError, PathOutsideRootError
from adloom.core.paths import resolve_inside
from adloom.core.types import Creative, CreativeReview, CreativeStatus, Page
from adloom.serving.api.deps import After, Limit, SettingsDep, StoreDep
from adloom.serving.api.errors import NOT_FOUND, ApiError, doc_error
from adloom.serving.api.models import ReviewRequest
from adloom.serving.tenant_files import tenant_root

router = APIRouter(prefix="/v1/creatives", tags=["creatives"])

FileKind = Literal["video", "cover", "subtitles", "manifest"]
_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
}
_FILE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file (Range requests answer 206 with the asked bytes).",
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(set(_MEDIA_TYPES.values()))},
    },
    206: {"description": "Part of the file, as asked with a Range header."},
    416: {"description": "The Range lies outside the file."},
}


@router.get("", response_model=Page[Creative])
def list_creatives(
    store: StoreDep,
    limit: Limit = 20,
    after: After = None,
    brief_id: Annotated[str | None, Query(max_length=64, description="Only this brief's creatives.")] = None,
    status: Annotated[CreativeStatus | None, Query(description="Only creatives in this status.")] = None,
    review: Annotated[
        Literal["approved", "rejected", "none"] | None,
        Query(description="Only creatives with this review decision (none: not reviewed yet)."),
    ] = None,
) -> Page[Creative]:
    """This tenant's creatives, newest first."""
    return store.list_creatives(
        limit=limit, after=after, brief_id=brief_id, status=status.value if status is not None else None, review=review
    )


@router.get("/{creative_id}", response_model=Creative, responses=NOT_FOUND)
def get_creative(creative_id: str, store: StoreDep) -> Creative:
    return store.get_creative(creative_id)


_UNREVIEWABLE = doc_error(409, "The creative has no video that passed the quality gate, so it cannot be approved.")


@router.post("/{creative_id}/review", response_model=Creative, responses={**NOT_FOUND, **_UNREVIEWABLE})
def review_creative(creative_id: str, body: ReviewRequest, store: StoreDep) -> Creative:
    """Approve or reject a rendered creative before launch (a later review replaces an earlier one). Only
    approved creatives are exported by default (POST /v1/exports). A creative that failed the quality gate or
    was never rendered can be rejected but not approved."""
    creative = store.get_creative(creative_id)
    if body.decision == "approved" and creative.status in (CreativeStatus.rejected, CreativeStatus.draft):
        why = "failed the quality gate" if creative.status == CreativeStatus.rejected else "was never rendered"
        raise ApiError(
            409,
            "not_approvable",
            f"creative {creative_id!r} {why} (status {creative.status.value}), so it cannot be approved; render "
            "the script again",
            param="decision",
        )
    return store.review_creative(creative_id, CreativeReview(decision=body.decision, reason=body.reason))


@router.get("/{creative_id}/{kind}", response_class=FileResponse, responses={**NOT_FOUND, **_FILE_DOC})
def download(creative_id: str, kind: FileKind, store: StoreDep, settings: SettingsDep) -> FileResponse:
    """Stream one of the creative's files."""
    creative = store.get_creative(creative_id)
    stored = getattr(creative, f"{kind}_path")
    if not stored:
        raise NotFoundError(f"creative {creative_id!r} has no {kind} file (status {creative.status.value})")
    roots = [tenant_root(settings, store.tenant_id), *settings.allowed_roots]
    try:
        path = resolve_inside(stored, roots, field=f"{kind}_path")
    except PathOutsideRootError:
        raise NotFoundError(
            f"creative {creative_id!r}'s {kind} file is not in a folder this server serves; an operator can "
            "add its folder to ADLOOM_ALLOWED_ROOTS"
        ) from None
    if not path.is_file():
        raise NotFoundError(f"creative {creative_id!r}'s {kind} file is missing on this server; render it again")
    media_type = _MEDIA_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media_type, filename=f"{creative_id}{path.suffix.lower()}")
