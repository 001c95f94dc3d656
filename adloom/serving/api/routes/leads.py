"""Leads the agents captured: a page at a time, or all of them as a CSV for Excel (UTF-8 with a BOM; cells a
spreadsheet would run as formulas are quoted)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from adloom.core.storage import conversations
from adloom.core.types import Lead, Page
from adloom.serving import leads_export
from adloom.serving.api.deps import After, Limit, StoreDep

router = APIRouter(prefix="/v1/leads", tags=["leads"])

AgentFilter = Annotated[str | None, Query(max_length=64, description="Only this agent's leads.")]
Since = Annotated[datetime | None, Query(description="Only leads captured at or after this time (ISO 8601).")]

_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "CSV, UTF-8 with a BOM.", "content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get("", response_model=Page[Lead])
def list_leads(
    store: StoreDep, limit: Limit = 20, after: After = None, agent_id: AgentFilter = None, since: Since = None
) -> Page[Lead]:
    """This tenant's leads, newest first."""
    return conversations.list_leads(store, agent_id=agent_id, since=since, limit=limit, after=after)


@router.get("/export.csv", response_class=StreamingResponse, responses=_CSV_DOC)
def export_leads(store: StoreDep, agent_id: AgentFilter = None, since: Since = None) -> StreamingResponse:
    """Every lead (oldest first), one row each, for Excel."""
    leads = conversations.iter_leads(store, agent_id=agent_id, since=since)
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in leads_export.csv_chunks(leads)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
    )
