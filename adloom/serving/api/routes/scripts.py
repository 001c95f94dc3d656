"""Scripts: write a few variants for a stored brief now (more belong in a batch), list and get them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from adloom.core.types import Page, Script
from adloom.serving.api.deps import After, Limit, StateDep, StoreDep
from adloom.serving.api.errors import CONFLICT, NOT_FOUND, UNPROCESSABLE
from adloom.serving.api.models import ScriptsRequest, ScriptsResponse

router = APIRouter(prefix="/v1/scripts", tags=["scripts"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScriptsResponse,
    responses={**NOT_FOUND, **CONFLICT, **UNPROCESSABLE},
)
def create_scripts(body: ScriptsRequest, store: StoreDep, state: StateDep) -> ScriptsResponse:
    """Write ``n`` (1–5) script variants for a stored brief, few-shot from the tenant's best-matching library
    creatives (the sample library is seeded into the tenant's own library on first use)."""
    from adloom.serving.scripts_service import describe_brief_finding, generate_scripts

    brief = store.get_brief(body.brief_id)
    retriever = state.retriever(store)
    writer = state.writer(body.writer)

    def run() -> ScriptsResponse:
        result = generate_scripts(
            brief, body.n, store=store, retriever=retriever, writer=writer, exemplar_id=body.exemplar_id, seed=body.seed
        )
        scripts = result.scripts
        return ScriptsResponse(
            data=scripts,
            first_id=scripts[0].id if scripts else None,
            last_id=scripts[-1].id if scripts else None,
            brief_findings=[describe_brief_finding(f) for f in result.brief_findings],
            dropped=result.dropped,
        )

    if writer.backend is None:
        return run()
    with state.llm_lock:  # one embedded model: one generation at a time
        return run()


@router.get("", response_model=Page[Script])
def list_scripts(
    store: StoreDep,
    limit: Limit = 20,
    after: After = None,
    brief_id: Annotated[str | None, Query(max_length=64, description="Only this brief's scripts.")] = None,
) -> Page[Script]:
    """This tenant's scripts, newest first."""
    return store.list_scripts(limit=limit, after=after, brief_id=brief_id)


@router.get("/{script_id}", response_model=Script, responses=NOT_FOUND)
def get_script(script_id: str, store: StoreDep) -> Script:
    return store.get_script(script_id)
