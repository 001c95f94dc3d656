"""Briefs: create one (the server assigns its id), list them, get one."""

from __future__ import annotations

from fastapi import APIRouter, status

from adloom.core.errors import InputError
from adloom.core.types import Brief, Page, new_id
from adloom.serving.api.deps import After, Limit, SettingsDep, StoreDep
from adloom.serving.api.errors import CONFLICT, NOT_FOUND
from adloom.serving.tenant_files import asset_file

router = APIRouter(prefix="/v1/briefs", tags=["briefs"])

#: Which uploaded kinds each asset kind accepts.
_ASSET_UPLOADS = {"image": "image", "logo": "image", "video": "video", "audio": "audio"}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Brief, responses=CONFLICT)
def create_brief(brief: Brief, store: StoreDep, settings: SettingsDep) -> Brief:
    """Store a brief. Its ``id`` is always assigned here (an id sent in the body is replaced); every asset's
    ``path`` must be ``upload:<upload id>`` of a file uploaded with POST /v1/uploads."""
    for i, asset in enumerate(brief.assets):
        field = f"assets[{i}].path"
        asset_file(settings, store, asset.path, field=field)  # an upload of this tenant, its file in place
        upload, _ = store.get_upload(asset.path.removeprefix("upload:"))
        wanted = _ASSET_UPLOADS[asset.kind.value]
        if upload.kind != wanted:
            raise InputError(
                f"{field}: upload {upload.id} is {upload.kind} ({upload.format}); a {asset.kind.value} asset "
                f"needs an {wanted} upload: fix the asset's kind or upload the right file",
                field=field,
            )
    fresh = brief.model_copy(update={"id": new_id("brf")})
    store.save_brief(fresh)
    return fresh


@router.get("", response_model=Page[Brief])
def list_briefs(store: StoreDep, limit: Limit = 20, after: After = None) -> Page[Brief]:
    """This tenant's briefs, newest first."""
    return store.list_briefs(limit=limit, after=after)


@router.get("/{brief_id}", response_model=Brief, responses=NOT_FOUND)
def get_brief(brief_id: str, store: StoreDep) -> Brief:
    return store.get_brief(brief_id)
