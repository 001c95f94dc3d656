"""Scripts: write a few variants for a stored brief now (more belong in a batch), list and get them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from adloom.core.errors import InputError
from adloom.core.types import Page, Script
from adloom.serving.api.deps import After, Limit, SettingsDep, StateDep, StoreDep
from adloom.serving.api.errors import CONFLICT, NOT_FOUND, UNPROCESSABLE, ApiError, _doc
from adloom.serving.api.models import ScriptPatch, ScriptsRequest, ScriptsResponse, StructureRequest

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


_CANNOT_STRUCTURE: dict[int | str, dict[str, Any]] = {
    422: _doc("The text or SRT holds no script that can be structured; the message says why.")
}
_REFUSED_EDIT: dict[int | str, dict[str, Any]] = {
    422: _doc("An edited line still breaks advertising rules: nothing was stored; error.details lists the findings.")
}


@router.post(
    "/structure",
    status_code=status.HTTP_201_CREATED,
    response_model=Script,
    responses={**NOT_FOUND, **CONFLICT, **_CANNOT_STRUCTURE},
)
def structure_script(body: StructureRequest, store: StoreDep) -> Script:
    """A stored script of the brief, shot by shot (role, narration, caption, visual, duration): a library
    item's script (``exemplar_id``), a pasted script (``text``) or an SRT file's text (``srt``)."""
    from adloom.serving.script_edit import structure_for_brief

    brief = store.get_brief(body.brief_id)
    try:
        return structure_for_brief(store, brief, exemplar_id=body.exemplar_id, text=body.text, srt=body.srt)
    except InputError as exc:
        raise ApiError(422, "cannot_structure", str(exc), param=exc.field) from None


@router.patch("/{script_id}", response_model=Script, responses={**NOT_FOUND, **_REFUSED_EDIT})
def edit_script(script_id: str, body: ScriptPatch, store: StoreDep, settings: SettingsDep) -> Script:
    """Edit shots' narration, caption or visual. Edited lines are checked against advertising law first: a
    line that still breaks a rule refuses the whole edit (422, findings in ``error.details``, nothing stored);
    otherwise the script is stored with each edited line marked as the advertiser's in ``provenance.lines``."""
    from adloom.serving.script_edit import EditRefused, ShotEdit, checker, edit_shots

    edits = [ShotEdit(s.index, s.narration, s.caption, s.visual) for s in body.shots]
    try:
        return edit_shots(store, checker(settings.compliance_terms), script_id, edits)
    except EditRefused as exc:
        details = [
            {
                "term": f.term,
                "rule": f.rule_id,
                "reason": f.rule,
                "suggestion": f.suggestion,
                "start": f.start,
                "end": f.end,
                "severity": "fix",
                "field": f.field,
            }
            for f in exc.findings
        ]
        raise ApiError(422, "compliance_findings", str(exc), param="shots", details=details) from None
