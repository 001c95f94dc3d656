"""The tenant's creative library: search it, browse it with filters, inspect one item, import past creatives
(CSV or JSONL, bad rows reported)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi import Path as PathParam

from adloom.core.errors import InputError
from adloom.core.types import Aspect, Industry, Language, LibraryItem, Platform, new_id
from adloom.serving.api.deps import SettingsDep, StateDep, StoreDep
from adloom.serving.api.errors import CONFLICT, NOT_FOUND
from adloom.serving.api.models import (
    ImportRowProblem,
    LibraryEntry,
    LibraryHit,
    LibraryImportResponse,
    LibraryItemDetail,
    LibraryListResponse,
    LibrarySearchResponse,
)
from adloom.serving.tenant_files import tenant_subdir

router = APIRouter(prefix="/v1/library", tags=["library"])

_CHUNK = 1 << 20


@router.get("/search", response_model=LibrarySearchResponse)
def search_library(
    store: StoreDep,
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="What the product is, e.g. '保湿精华 干皮'.")],
    industry: Industry | None = None,
    platform: Platform | None = None,
    language: Language | None = None,
    aspect: Aspect | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 8,
) -> LibrarySearchResponse:
    """Past creatives like ``q`` in the tenant's library, ranked by similarity × observed performance (the
    sample library is seeded into the tenant's library on first use)."""
    if not q.strip():
        raise InputError("q is blank; describe the product to search for", field="q")
    retriever = state.retriever(store)
    hits = retriever.search(q, k=limit, industry=industry, platform=platform, language=language, aspect=aspect)
    return LibrarySearchResponse(
        data=[
            LibraryHit(
                id=h.item.id,
                title=h.item.title,
                industry=h.item.industry,
                platform=h.item.platform,
                language=h.item.language,
                aspect=h.item.aspect,
                hook_type=h.item.script.hook_type.value,
                angle=h.item.script.angle.value,
                ctr=h.item.performance.ctr,
                cvr=h.item.performance.cvr,
                impressions=h.item.performance.impressions,
                similarity=float(h.similarity),
                prior=float(h.prior),
                score=float(h.score),
                script=h.item.script,
                has_media=bool(h.item.media_path),
            )
            for h in hits
        ]
    )


LibrarySort = Literal["impressions", "ctr", "cvr", "ctcvr", "recent"]


def _entry_fields(item: LibraryItem) -> dict[str, object]:
    p = item.performance
    return {
        "id": item.id,
        "title": item.title,
        "industry": item.industry,
        "platform": item.platform,
        "language": item.language,
        "aspect": item.aspect,
        "hook_type": item.script.hook_type.value,
        "angle": item.script.angle.value,
        "source": item.source,
        "impressions": p.impressions,
        "play_3s_rate": p.play_3s_rate,
        "ctr": p.ctr,
        "cvr": p.cvr,
        "ctcvr": p.conversions / p.impressions if p.impressions else 0.0,
    }


@router.get("/items", response_model=LibraryListResponse)
def list_library(
    store: StoreDep,
    industry: Industry | None = None,
    platform: Platform | None = None,
    language: Language | None = None,
    aspect: Aspect | None = None,
    min_impressions: Annotated[int, Query(ge=0, description="Only items delivered at least this often.")] = 0,
    source: Annotated[
        Literal["sample", "import", "generated"] | None,
        Query(description="Only the bundled sample items, the tenant's imported ones, or generated ones."),
    ] = None,
    sort: Annotated[LibrarySort, Query(description="Best first by this rate, by impressions, or newest.")] = (
        "impressions"
    ),
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> LibraryListResponse:
    """Browse the tenant's library without a query (the sample library is seeded on first use), filtered and
    sorted; search ranks by similarity instead."""
    from adloom.serving.scripts_service import ensure_library

    ensure_library(store)
    items = [
        i
        for i in store.list_library_items(industry=industry, platform=platform, language=language, aspect=aspect)
        if i.performance.impressions >= min_impressions and (source is None or i.source == source)
    ]
    rows = [LibraryEntry.model_validate(_entry_fields(i)) for i in items]
    if sort == "recent":
        order = sorted(range(len(items)), key=lambda j: (items[j].created_at, items[j].id), reverse=True)
        rows = [rows[j] for j in order]
    else:
        rows.sort(key=lambda r: (-float(getattr(r, sort)), r.id))
    return LibraryListResponse(data=rows[offset : offset + limit], total=len(rows), has_more=offset + limit < len(rows))


@router.get("/items/{item_id}", response_model=LibraryItemDetail, responses=NOT_FOUND)
def get_library_item(
    item_id: Annotated[str, PathParam(max_length=64, description="A library item id (from search or the list).")],
    store: StoreDep,
) -> LibraryItemDetail:
    """One library item: its structured script shot by shot, its delivery counts and rates."""
    item = store.get_library_item(item_id)
    return LibraryItemDetail.model_validate(
        _entry_fields(item)
        | {
            "script": item.script,
            "performance": item.performance,
            "created_at": item.created_at,
            "has_media": bool(item.media_path),
        }
    )


def spool_upload(file: UploadFile, folder: Path, suffix: str, limit: int) -> Path:
    """Copy an uploaded file to a fresh file in ``folder`` (the caller deletes it)."""
    path = folder / f"{new_id('tmp')}{suffix}"
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := file.file.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InputError(f"the file is over the limit of {limit / 1_048_576:.0f} MB", field="file")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def text_suffix(file: UploadFile, allowed: dict[str, str], what: str) -> str:
    """The suffix to store a text upload under, from its name (the importers read the format from it)."""
    name = file.filename or ""
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in allowed:
        raise InputError(
            f"{name[:80]!r}: name the file with one of {', '.join(sorted(allowed))} so its format is known ({what})",
            field="file",
        )
    return suffix


def _own_name(message: str, path: Path, name: str) -> str:
    """A message naming the client's file instead of our temporary copy of it."""
    return message.replace(str(path), name).replace(path.name, name)


@router.post("/import", response_model=LibraryImportResponse, responses=CONFLICT)
def import_library_file(
    file: Annotated[UploadFile, File(description="CSV or JSONL of past creatives (as `adloom library import`).")],
    store: StoreDep,
    state: StateDep,
    settings: SettingsDep,
) -> LibraryImportResponse:
    """Import past creatives into the tenant's library; bad rows are listed with their row number and skipped.
    When no row is valid nothing is stored and the answer is a 400 naming the first problems."""
    from adloom.scripts_gen.library.importer import import_library

    suffix = text_suffix(file, {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}, "CSV or JSONL")
    folder = tenant_subdir(settings, store.tenant_id, "tmp")
    path = spool_upload(file, folder, suffix, int(settings.api_max_body_mb * 1_048_576))
    shown_name = repr((file.filename or "file")[:80])
    try:
        report = import_library(path)
    except InputError as exc:  # a file-level problem: name the client's file, not our copy of it
        raise InputError(_own_name(str(exc), path, shown_name), field="file") from None
    finally:
        path.unlink(missing_ok=True)
    problems = [
        ImportRowProblem(row=e.row, field=e.field, message=_own_name(str(e), path, shown_name)) for e in report.errors
    ]
    if not report.items:
        shown = "; ".join(p.message for p in problems[:5]) or "no rows"
        raise InputError(f"no row of the file could be imported: {shown}", field="file")
    # the sample library is seeded first, so importing into a new tenant adds to it as the CLI does
    from adloom.serving.scripts_service import ensure_library

    ensure_library(store)
    store.upsert_library_items(report.items)
    state.forget_library(store.tenant_id)
    return LibraryImportResponse(
        imported=len(report.items),
        skipped=len(report.errors),
        library_size=store.library_count(),
        ignored_columns=report.ignored_columns,
        errors=problems,
    )
