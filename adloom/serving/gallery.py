"""A self-contained HTML gallery of rendered creatives that opens from disk.

Video players, the script of each creative, its score, quality-gate result
and compliance fixes. Paths are written relative to the page, so the folder
can be zipped and sent as is. Everything user-written is HTML-escaped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape
from pathlib import Path

from adloom.core.paths import write_atomic
from adloom.core.types import Brief, Script
from adloom.serving.render_pipeline import CreativeOutcome

_CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC",sans-serif;margin:24px;background:#f6f5f3;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px} .sub{color:#666;margin-bottom:18px}
.grid{display:flex;flex-wrap:wrap;gap:18px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 4px #0002;padding:12px;width:340px}
.card.rejected{opacity:.75;border:2px solid #c44}
.card.pruned{opacity:.6;border:2px dashed #b3261e}
video{width:100%;max-height:520px;background:#000;border-radius:6px}
.meta{font-size:13px;color:#444;margin:6px 0} .ok{color:#17803d;font-weight:600} .bad{color:#b3261e;font-weight:600}
ol{padding-left:18px;font-size:13px;margin:6px 0} li{margin:3px 0} .cap{color:#777}
details{font-size:12px;color:#555}
.by{font-size:10px;border-radius:3px;padding:0 3px;color:#fff;background:#888} .by-llm{background:#5b5bd6}
.by-template{background:#2f7d6d} .rw{font-size:11px;color:#8a5a00}
"""


def _rel(path: str | None, page_dir: Path) -> str:
    return escape(os.path.relpath(path, page_dir)) if path else ""


def _origin(script: Script, path: str) -> str:
    """Who wrote the line at ``path`` (llm / template / …) and, if it was rewritten, the original and why."""
    origin = script.provenance.lines.get(path)
    if origin is None:
        return ""
    tag = f' <span class="by by-{escape(origin.author)}">{escape(origin.author)}</span>'
    if origin.rewrites:
        tag += (
            f' <span class="rw" title="{escape(origin.original)}">rewritten: '
            + escape("; ".join(origin.rewrites))
            + f" (was: {escape(origin.original)})</span>"
        )
    return tag


def _card(o: CreativeOutcome, rank: int, page_dir: Path) -> str:
    c = o.creative
    s = c.script
    gate = o.quality or {}
    passed = o.delivered
    gate_reasons = [r for r in c.reasons if not r.startswith(("launch:", "explore:", "prune:"))]
    decision = next((r for r in c.reasons if r.startswith(("launch:", "explore:", "prune:"))), "")
    verdict = (
        '<span class="ok">passed</span>'
        if passed
        else '<span class="bad">not delivered</span>: ' + escape("; ".join(gate_reasons) or "render failed")
    )
    sc = c.scores
    if "pctcvr" in sc:
        score = (
            f"pCTCVR {sc['pctcvr']:.3%} (pCTR {sc.get('pctr', 0):.2%} × pCVR {sc.get('pcvr', 0):.2%}, "
            f"±{sc.get('uncertainty', 0):.2f} logit)"
        )
    else:
        score = f"score {sc.get('prior', 0):.2f} (performance prior; no trained predictor)"
    pruned = '<div class="meta"><span class="bad">PRUNED</span> — not to launch</div>' if o.pruned else ""
    why = f'<div class="meta">decision: {escape(decision)}</div>' if decision else ""
    shots = "".join(
        f"<li><b>{escape(sh.role.value)}</b> {sh.duration_s:.1f}s — {escape(sh.narration)}"
        + _origin(s, f"shots[{sh.index}].narration")
        + (
            f' <span class="cap">[{escape(sh.caption)}]</span>' + _origin(s, f"shots[{sh.index}].caption")
            if sh.caption
            else ""
        )
        + "</li>"
        for sh in s.shots
    )
    fixes = "".join(
        f"<li>{escape(f.term)} → {escape(f.suggestion or '(dropped)')} ({escape(f.rule_id)})</li>" for f in s.compliance
    )
    metrics = gate.get("metrics", {})
    video = (
        f'<video controls preload="metadata" poster="{_rel(c.cover_path, page_dir)}" '
        f'src="{_rel(c.video_path, page_dir)}"></video>'
        if c.video_path
        else ""
    )
    return f"""
<div class="card{"" if passed else " rejected"}{" pruned" if o.pruned else ""}">
  {video}
  <div class="meta">#{rank} · <b>{escape(s.hook_type.value)}</b> / {escape(s.angle.value)} · {s.duration_s:.1f}s ·
   {escape(score)}</div>
  {pruned}
  <div class="meta">quality gate: {verdict}</div>
  {why}
  <div class="meta">written by {escape(s.provenance.path)} ({escape(s.provenance.backend or "no model")}) ·
   {escape(str(metrics.get("video_codec", "")))} {metrics.get("width", "")}×{metrics.get("height", "")}</div>
  <ol>{shots}</ol>
  <div class="meta">CTA: {escape(s.cta)}{_origin(s, "cta")}</div>
  <details><summary>compliance: {len(s.compliance)} fix(es)</summary>
    <ul>{fixes or "<li>none needed</li>"}</ul></details>
  <details><summary>subtitles &amp; manifest</summary>
    <a href="{_rel(c.subtitles_path, page_dir)}">SRT</a> ·
    <a href="{_rel(c.manifest_path, page_dir)}">manifest</a></details>
</div>"""


def write_gallery(sections: Sequence[tuple[Brief, Sequence[CreativeOutcome]]], out: Path, *, title: str) -> Path:
    """Write ``out`` (an HTML file) with one section per brief; returns its path."""
    page_dir = out.parent
    parts = []
    for brief, outcomes in sections:
        delivered = sum(o.delivered for o in outcomes)
        cards = "".join(_card(o, i + 1, page_dir) for i, o in enumerate(outcomes))
        parts.append(
            f"<h2>{escape(brief.product.name)} <span class='sub'>({escape(brief.language.value)}, "
            f"{escape(brief.industry.value)}, {delivered}/{len(outcomes)} delivered)</span></h2>"
            f'<div class="grid">{cards}</div>'
        )
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>"
        "<div class='sub'>Ranked by predicted performance (pCTCVR from the trained predictor; the performance "
        "prior of similar library creatives until one is trained, as each card says). Pruned creatives are "
        "marked and ranked last. Every video carries a visible AIGC label and an AIGC mark in its metadata.</div>"
        + "".join(parts)
        + "</body></html>\n"
    )
    return write_atomic(out, html)
