"""Advertising-law check of one line of copy, as the console calls it while the advertiser types."""

from __future__ import annotations

from fastapi import APIRouter

from adloom.serving.api.deps import SettingsDep
from adloom.serving.api.models import ComplianceCheckRequest, ComplianceCheckResponse, ComplianceHit

router = APIRouter(prefix="/v1/compliance", tags=["compliance"])


@router.post("/check", response_model=ComplianceCheckResponse)
def check_compliance(body: ComplianceCheckRequest, settings: SettingsDep) -> ComplianceCheckResponse:
    """Findings in ``text`` for an ad of ``industry`` (term, rule, reason, suggested rewrite, offsets), and
    ``fixed_text``: the text with every finding that must change rewritten, ready to apply in one click.
    Stores nothing."""
    from adloom.serving.script_edit import check_line, checker

    line = check_line(checker(settings.compliance_terms), body.text, language=body.language, industry=body.industry)
    return ComplianceCheckResponse(
        findings=[
            ComplianceHit(
                term=f.term,
                rule=f.rule_id,
                reason=f.rule,
                suggestion=f.suggestion,
                start=f.start,
                end=f.end,
                severity=sev,
            )
            for f, sev in zip(line.findings, line.severities, strict=True)
        ],
        fixed_text=line.fixed_text,
    )
