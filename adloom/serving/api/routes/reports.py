"""Marketer reports: generate one for a campaign (HTML, JSON or PDF), then fetch the file.

Reports are files in the tenant's own folder (``reports/<report id>.<format>``): an id of another tenant
names no file there, so it is a 404 like every other foreign id."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import FileResponse

from adloom.core.errors import NotFoundError
from adloom.core.paths import write_atomic
from adloom.core.types import new_id
from adloom.serving.api.deps import SettingsDep, StoreDep
from adloom.serving.api.errors import CONFLICT, NOT_FOUND
from adloom.serving.api.models import Report, ReportRequest, report_url
from adloom.serving.tenant_files import tenant_subdir

router = APIRouter(prefix="/v1/reports", tags=["reports"])

REPORT_ID = r"^rep_[0-9a-f]{12}$"
_DOC_TYPES = ("text/html", "application/json", "application/pdf")
_MEDIA = {"html": "text/html; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Report, responses={**NOT_FOUND, **CONFLICT})
def create_report(body: ReportRequest, store: StoreDep, settings: SettingsDep) -> Report:
    """Build the campaign's report now (rates with intervals, lifts, predicted vs actual, top and bottom
    creatives), as ``adloom report`` does. A campaign with no creatives of this tenant is a 404."""
    from adloom.analytics.report import build_report, render_html, write_pdf

    data = build_report(store, body.campaign_id)
    report_id = new_id("rep")
    path = tenant_subdir(settings, store.tenant_id, "reports") / f"{report_id}.{body.format}"
    if body.format == "json":
        write_atomic(path, data.model_dump_json(indent=2) + "\n")
    elif body.format == "html":
        write_atomic(path, render_html(data))
    else:
        write_pdf(data, path)
    return Report(id=report_id, campaign_id=body.campaign_id, format=body.format, url=report_url(report_id))


@router.get(
    "/{report_id}",
    response_class=FileResponse,
    responses={
        **NOT_FOUND,
        200: {
            "description": "The report file.",
            "content": {
                t: {"schema": {"type": "string"}} for t in ("text/html", "application/json", "application/pdf")
            },
        },
    },
)
def get_report(
    report_id: Annotated[str, Path(max_length=64, description="A report id from POST /v1/reports.")],
    store: StoreDep,
    settings: SettingsDep,
) -> FileResponse:
    if re.match(REPORT_ID, report_id):
        folder = tenant_subdir(settings, store.tenant_id, "reports")
        for fmt, media in _MEDIA.items():
            path = folder / f"{report_id}.{fmt}"
            if path.is_file():
                return FileResponse(path, media_type=media, filename=path.name)
    raise NotFoundError(f"no report {report_id!r}; generate one with POST /v1/reports")
