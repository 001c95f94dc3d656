"""Scripts the advertiser shapes by hand: structure an exemplar, a pasted script or an SRT into a stored
:class:`Script`; check a line against advertising law (with the one-click rewrite); apply shot edits, which
must pass the same check before they are stored, each edited line marked as the advertiser's.

Pure functions over a store and a checker, so the API (and later the CLI) share one path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from adloom.core.errors import InputError
from adloom.core.storage import Store
from adloom.core.types import Brief, ComplianceFinding, Industry, Language, LineOrigin, Script, new_id
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.structure import structure_exemplar, structure_srt, structure_text
from adloom.serving.scripts_service import describe_validation_error

ShotField = Literal["narration", "caption", "visual"]
SHOT_FIELDS: tuple[ShotField, ...] = ("narration", "caption", "visual")


@lru_cache(maxsize=4)
def checker(extra_terms: Path | None) -> ComplianceChecker:
    """One checker per rules setup (building one compiles the rule table)."""
    return ComplianceChecker(extra_terms)


def structure_for_brief(
    store: Store, brief: Brief, *, exemplar_id: str | None = None, text: str | None = None, srt: str | None = None
) -> Script:
    """A stored script of ``brief``: the library item's script, or pasted copy / an SRT structured shot by shot."""
    if exemplar_id is not None:
        script = structure_exemplar(store.get_library_item(exemplar_id))
    elif srt is not None:
        script = structure_srt(srt, industry=brief.industry, platform=brief.platform, aspect=brief.aspect)
    else:
        script = structure_text(text or "", industry=brief.industry, platform=brief.platform, aspect=brief.aspect)
    script = script.model_copy(update={"id": new_id("scr"), "brief_id": brief.id})
    store.save_scripts([script])
    return script


@dataclass
class LineCheck:
    """What the checker found in one line, and the line with every rewritable finding rewritten."""

    findings: list[ComplianceFinding]
    severities: list[Literal["fix", "warn"]]
    fixed_text: str


def check_line(
    chk: ComplianceChecker, text: str, *, language: Language | str, industry: Industry | str, field: str = ""
) -> LineCheck:
    """Findings in ``text`` (``warn`` ones are told, never rewritten) and its compliant rewrite ("" when the
    whole line has to go)."""
    findings = chk.check(text, language=language, industry=industry, field=field)
    warned = {(w.start, w.end, w.rule_id) for w in chk.warnings(text, language=language, industry=industry)}
    severities: list[Literal["fix", "warn"]] = [
        "warn" if (f.start, f.end, f.rule_id) in warned else "fix" for f in findings
    ]
    fixed, _ = chk.rewrite(text, language=language, industry=industry, field=field, keep_clauses=True)
    return LineCheck(findings, severities, fixed if fixed is not None else "")


@dataclass(frozen=True)
class ShotEdit:
    index: int
    narration: str | None = None
    caption: str | None = None
    visual: str | None = None


class EditRefused(InputError):
    """Edited lines that still break advertising rules; nothing was stored."""

    def __init__(self, findings: Sequence[ComplianceFinding]) -> None:
        where = "; ".join(
            f"{f.field}: {f.term!r} ({f.rule_id}) → {f.suggestion or '(drop the sentence)'}" for f in findings
        )
        super().__init__(
            f"the edited lines break advertising rules, so nothing was saved: {where}; apply the suggested "
            "rewrites (POST /v1/compliance/check gives fixed_text) and save again",
            field="shots",
        )
        self.findings = list(findings)


def _mark(script: Script, key: str, before: str) -> None:
    """Record that the advertiser wrote line ``key`` (what it was before, and who wrote that)."""
    previous = script.provenance.lines.get(key)
    was = previous.author if previous else script.provenance.path
    script.provenance.lines[key] = LineOrigin(
        author="advertiser",
        original=(previous.original or before) if previous else before,
        rewrites=[*(previous.rewrites if previous else []), f"edited by the advertiser (was {was})"],
    )


def edit_shots(store: Store, chk: ComplianceChecker, script_id: str, edits: Sequence[ShotEdit]) -> Script:
    """Apply ``edits`` to the stored script ``script_id`` and store it, or raise :class:`EditRefused` (a
    finding left in an edited line) or :class:`InputError` (an unknown shot, a line too long)."""
    script = store.get_script(script_id)
    data = script.model_dump(mode="python", exclude={"duration_s"})
    shots = {s["index"]: s for s in data["shots"]}
    changed: list[tuple[str, str, str]] = []  # (field path, before, after)
    seen: set[int] = set()
    for edit in edits:
        if edit.index not in shots:
            raise InputError(
                f"shot index {edit.index}: script {script_id} has shots 0–{len(shots) - 1}", field="shots.index"
            )
        if edit.index in seen:
            raise InputError(f"shot index {edit.index} is edited twice; send one entry per shot", field="shots.index")
        seen.add(edit.index)
        shot = shots[edit.index]
        for name in SHOT_FIELDS:
            new = getattr(edit, name)
            if new is None or new.strip() == shot[name]:
                continue
            if name == "visual" and not new.strip():
                raise InputError(f"shots[{edit.index}].visual is empty; say what the viewer sees", field="visual")
            changed.append((f"shots[{edit.index}].{name}", shot[name], new.strip()))
            shot[name] = new.strip()
    # the hook and the CTA are the first and last spoken lines: keep them with their shots
    last = len(data["shots"]) - 1
    for key, path in (("hook", "shots[0].narration"), ("cta", f"shots[{last}].narration")):
        for p, before, after in list(changed):
            if p == path and data[key] == before and after:
                data[key] = after
                changed.append((key, before, after))
    try:
        edited = Script.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]["loc"]
        raise InputError(
            describe_validation_error(exc, prefix="script"), field=".".join(str(p) for p in first)
        ) from None
    left: list[ComplianceFinding] = []
    for path, _, after in changed:
        line = check_line(chk, after, language=edited.language, industry=edited.industry, field=path)
        left += [f for f, sev in zip(line.findings, line.severities, strict=True) if sev == "fix"]
    if left:
        raise EditRefused(left)
    for path, before, _ in changed:
        _mark(edited, path, before)
    if changed:
        edited.provenance.notes.append(f"{len(changed)} line(s) edited by the advertiser")
        store.save_scripts([edited])
    return edited
