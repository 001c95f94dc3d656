"""Exports: a ZIP of reviewed creatives (videos, covers, subtitles and a ``manifest.csv`` an ad platform's bulk
upload takes), built now and fetched by id.

Exports are files in the tenant's own folder (``exports/<export id>.zip``): another tenant's export id names no
file there, so it is a 404 like every other foreign id; so is a creative or batch id of another tenant."""

from __future__ import annotations

import re
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, status
from fastapi.responses import FileResponse

from adloom.core.errors import NotFoundError
from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage.queue import JobQueue
from adloom.core.types import Brief, Creative, new_id
from adloom.serving.api.deps import SettingsDep, StoreDep
from adloom.serving.api.errors import NOT_FOUND, ApiError, doc_error
from adloom.serving.api.models import Export, ExportRequest, ExportSkip, export_url
from adloom.serving.export import MANIFEST_COLUMNS, exportable, write_export
from adloom.serving.tenant_files import tenant_root, tenant_subdir

router = APIRouter(prefix="/v1/exports", tags=["exports"])

EXPORT_ID = r"^exp_[0-9a-f]{12}$"
_NOTHING = doc_error(422, "Nothing to export: the selection is empty, or none of it is approved and rendered.")
_ZIP_DOC = {
    **NOT_FOUND,
    200: {
        "description": "The ZIP.",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    },
}


def _selected(body: ExportRequest, store: Store) -> list[Creative]:
    if body.batch_id is not None:
        queue = JobQueue(store)
        queue.get_batch(body.batch_id)  # another tenant's batch: 404
        ids = list(dict.fromkeys(r["creative_id"] for r in queue.iter_results(body.batch_id) if r["creative_id"]))
    else:
        ids = list(dict.fromkeys(body.creative_ids or []))
    return [store.get_creative(cid) for cid in ids]  # another tenant's creative: 404


def build_export(body: ExportRequest, store: Store, settings: Settings) -> Export:
    creatives = _selected(body, store)
    if not creatives:
        where = f"batch {body.batch_id!r} has no delivered creatives" if body.batch_id else "creative_ids is empty"
        raise ApiError(422, "nothing_to_export", f"nothing to export: {where}; select at least one creative")
    roots = [tenant_root(settings, store.tenant_id), *settings.allowed_roots]
    chosen: list[Creative] = []
    skipped: list[ExportSkip] = []
    for c in creatives:
        why = exportable(c, roots, approved_only=body.review == "approved")
        if why is None:
            chosen.append(c)
        else:
            skipped.append(ExportSkip(creative_id=c.id, reason=why))
    if not chosen:
        hint = (
            'approve them first (POST /v1/creatives/{id}/review with {"decision": "approved"}), or send "review": "any"'
            if body.review == "approved"
            else "render them again"
        )
        raise ApiError(
            422,
            "nothing_to_export",
            f"none of the {len(creatives)} selected creatives can be exported ("
            + "; ".join(f"{s.creative_id}: {s.reason}" for s in skipped[:5])
            + f"); {hint}",
        )
    briefs: dict[str, Brief] = {}
    for c in chosen:
        if c.brief_id and c.brief_id not in briefs:
            try:
                briefs[c.brief_id] = store.get_brief(c.brief_id)
            except NotFoundError:
                pass
    export_id = new_id("exp")
    path = tenant_subdir(settings, store.tenant_id, "exports") / f"{export_id}.zip"
    rows = write_export(chosen, briefs, roots, path)
    return Export(
        id=export_id,
        count=len(chosen),
        creative_ids=[c.id for c in chosen],
        skipped=skipped,
        columns=list(MANIFEST_COLUMNS),
        manifest=rows,
        size_bytes=path.stat().st_size,
        url=export_url(export_id),
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Export, responses={**NOT_FOUND, **_NOTHING})
async def create_export(body: ExportRequest, store: StoreDep, settings: SettingsDep) -> Export:
    """Build a ZIP of the selected creatives (by default only the approved ones; the others are listed in
    ``skipped`` with why), then fetch it from ``url``. Unknown or another tenant's ids are a 404; a selection
    with nothing exportable is a 422 saying what to do."""
    return await anyio.to_thread.run_sync(lambda: build_export(body, store, settings))


@router.get("/{export_id}", response_class=FileResponse, responses=_ZIP_DOC)
def get_export(
    export_id: Annotated[str, Path(max_length=64, description="An export id from POST /v1/exports.")],
    store: StoreDep,
    settings: SettingsDep,
) -> FileResponse:
    """The export's ZIP."""
    if re.match(EXPORT_ID, export_id):
        path = tenant_subdir(settings, store.tenant_id, "exports") / f"{export_id}.zip"
        if path.is_file():
            return FileResponse(path, media_type="application/zip", filename=f"adloom-{export_id}.zip")
    raise NotFoundError(f"no export {export_id!r}; create one with POST /v1/exports")
