"""Export reviewed creatives for an ad platform's bulk upload: one ZIP of videos, covers, subtitles and a
``manifest.csv``.

The manifest follows what the big platforms' bulk-creation sheets ask for (TikTok Ads Manager's and Meta Ads
Manager's bulk import: an ad name, the video and thumbnail file names, the ad text, the call-to-action button,
a destination URL) and adds what our own review knows (the predictions, the launch/explore/prune decision, the
reviewer's verdict). It is written as UTF-8 with a byte-order mark so spreadsheet programs open Chinese text
correctly. ``landing_page`` is left empty: the brief carries no URL, and the advertiser fills it in.

Paths in the ZIP are relative (``videos/<creative id>.mp4``, ``covers/…``, ``subtitles/…``) and are the values
of the manifest's file columns.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from adloom.core.errors import PathOutsideRootError
from adloom.core.paths import resolve_inside
from adloom.core.types import Brief, Creative, CreativeStatus

#: The manifest's columns, in order.
MANIFEST_COLUMNS = (
    "ad_name",
    "creative_id",
    "video_file",
    "cover_file",
    "subtitle_file",
    "title",
    "ad_text",
    "call_to_action",
    "landing_page",
    "platform",
    "language",
    "aspect",
    "duration_s",
    "campaign_id",
    "brief_id",
    "aigc_label",
    "predicted_ctr",
    "predicted_cvr",
    "ctr_percentile",
    "cvr_percentile",
    "percentile_confident",
    "decision",
    "decision_reason",
    "review",
    "review_reason",
    "reviewed_at",
)
_DECISIONS = ("launch", "explore", "prune")


def _file(stored: str | None, roots: Sequence[Path]) -> Path | None:
    """A creative's stored file if it lies inside ``roots`` and exists (else None: it is not exported)."""
    if not stored:
        return None
    try:
        path = resolve_inside(stored, list(roots), field="path")
    except PathOutsideRootError:
        return None
    return path if path.is_file() else None


def _decision(creative: Creative) -> tuple[str, str]:
    for reason in reversed(creative.reasons):
        head = reason.split(":", 1)[0]
        if head in _DECISIONS:
            return head, reason
    return "", ""


def _score(creative: Creative, key: str, digits: int = 5) -> str:
    value = creative.scores.get(key)
    return "" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _button(brief: Brief | None, creative: Creative) -> str:
    if brief is None:
        return ""
    from adloom.scripts_gen.objectives import objective_profile, resolve_objective

    return objective_profile(resolve_objective(brief)).button.get(creative.script.language, "")


def exportable(creative: Creative, roots: Sequence[Path], *, approved_only: bool) -> str | None:
    """Why ``creative`` cannot be exported (None when it can)."""
    if approved_only and (creative.review is None or creative.review.decision != "approved"):
        verdict = creative.review.decision if creative.review else "not reviewed"
        return f"not approved ({verdict}); approve it first"
    if creative.status in (CreativeStatus.rejected, CreativeStatus.draft):
        return f"status {creative.status.value}: it has no video that passed the quality gate"
    if _file(creative.video_path, roots) is None:
        return "its video file is missing on this server; render it again"
    return None


def manifest_row(creative: Creative, brief: Brief | None, files: dict[str, str]) -> dict[str, str]:
    s = creative.script
    decision, why = _decision(creative)
    review = creative.review
    return {
        "ad_name": f"{s.title[:80]} · {creative.id}",
        "creative_id": creative.id,
        "video_file": files.get("video", ""),
        "cover_file": files.get("cover", ""),
        "subtitle_file": files.get("subtitles", ""),
        "title": s.title,
        "ad_text": s.hook,
        "call_to_action": _button(brief, creative),
        "landing_page": "",
        "platform": s.platform.value,
        "language": s.language.value,
        "aspect": s.aspect.value,
        "duration_s": f"{s.duration_s:g}",
        "campaign_id": creative.campaign_id or "",
        "brief_id": creative.brief_id or "",
        "aigc_label": "true" if creative.aigc_label else "false",
        "predicted_ctr": _score(creative, "pctr"),
        "predicted_cvr": _score(creative, "pcvr"),
        "ctr_percentile": _score(creative, "ctr_percentile", 1),
        "cvr_percentile": _score(creative, "cvr_percentile", 1),
        "percentile_confident": {1.0: "true", 0.0: "false"}.get(creative.scores.get("percentile_confident", -1), ""),
        "decision": decision,
        "decision_reason": why,
        "review": review.decision if review else "",
        "review_reason": review.reason if review else "",
        "reviewed_at": review.at.isoformat() if review else "",
    }


def write_export(
    creatives: Sequence[Creative], briefs: dict[str, Brief], roots: Sequence[Path], dest: Path
) -> list[dict[str, str]]:
    """Write the ZIP of ``creatives`` (each already checked with :func:`exportable`) to ``dest`` atomically;
    returns the manifest rows."""
    rows: list[dict[str, str]] = []
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for c in creatives:
            files: dict[str, str] = {}
            for kind, folder, stored in (
                ("video", "videos", c.video_path),
                ("cover", "covers", c.cover_path),
                ("subtitles", "subtitles", c.subtitles_path),
            ):
                path = _file(stored, roots)
                if path is None:
                    continue
                name = f"{folder}/{c.id}{path.suffix.lower()}"
                # video and images are compressed already: stored as they are
                method = zipfile.ZIP_DEFLATED if kind == "subtitles" else zipfile.ZIP_STORED
                zf.write(path, name, compress_type=method)
                files[kind] = name
            rows.append(manifest_row(c, briefs.get(c.brief_id or ""), files))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        zf.writestr("manifest.csv", "\ufeff" + text.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    os.replace(tmp, dest)
    return rows
