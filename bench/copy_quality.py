"""Copy quality of the script writer on the team's own briefs (issue 11): would an advertiser ship it?

Runs the normal ``adloom scripts generate`` path (retrieve exemplars → structure → writer →
compliance → validation) on every brief of ``bench/data/copy_briefs/`` and reviews each script
with :class:`adloom.scripts_gen.review.Reviewer`. Prints:

* shippable rate: scripts with zero reviewer findings, overall and per path (llm / template / mixed);
* findings per 100 copy lines, by rule (copy lines: hook, narration, captions, CTA);
* variety between a brief's variants: distinct 2- and 3-grams over the pooled variants
  (characters for Chinese, words for English), and the spread of hook types and angles;
* seconds per variant (the writer's own time per variant, and wall time per brief / n);
* today's figures against ``bench/data/copy_baseline.json`` (measured on the writer before
  issue 11's changes), on the briefs both runs share.

With ``--html FILE`` it writes a page with every brief, its scripts line by line (each line's
author), and every finding highlighted in place with its rule, why and suggested fix.

    .venv/bin/python bench/copy_quality.py [-n 3] [--briefs 'cb_*_zh_*'] [--html out/copy.html]
    .venv/bin/python bench/copy_quality.py --template-only      # the deterministic writer alone
    .venv/bin/python bench/copy_quality.py --save-baseline bench/data/copy_baseline.json --no-review
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from adloom.core.types import Brief, Language, Script
from adloom.scripts_gen.objectives import objective_profile, resolve_objective

ROOT = Path(__file__).resolve().parents[1]
BRIEFS_DIR = ROOT / "bench" / "data" / "copy_briefs"
BASELINE = ROOT / "bench" / "data" / "copy_baseline.json"
PATHS = ("llm", "template", "mixed")


class FindingLike(Protocol):
    """What the bench reads of a reviewer finding (contract: adloom.scripts_gen.review.Finding)."""

    rule: str
    field: str
    span: str
    start: int
    end: int
    why: str
    fix: str


#: Reviews one brief's scripts: (brief, scripts, lead exemplar) → findings per script, set findings, brief findings.
ReviewFn = Callable[
    [Brief, Sequence[Script], Script | None],
    tuple[list[list[FindingLike]], list[FindingLike], list[FindingLike]],
]
#: Writes n scripts for a brief: → (scripts, lead exemplar or None).
GenerateFn = Callable[[Brief, int], tuple[list[Script], Script | None]]


@dataclass
class BriefRun:
    """One brief's variants, how long they took, and what the reviewer found."""

    brief: Brief
    scripts: list[Script]
    wall_s: float
    exemplar: Script | None = None
    findings: list[list[FindingLike]] = field(default_factory=list)  # per script
    set_findings: list[FindingLike] = field(default_factory=list)
    brief_findings: list[FindingLike] = field(default_factory=list)


# ---------------------------------------------------------------- briefs and scripts


def load_briefs(patterns: str = "*") -> list[Brief]:
    """The bench briefs whose file name (without .yaml) matches one of the comma-separated globs, sorted."""
    from adloom.serving.scripts_service import load_brief

    paths = sorted({p for pattern in patterns.split(",") for p in BRIEFS_DIR.glob(f"{pattern.strip()}.yaml")})
    if not paths:
        raise SystemExit(f"--briefs {patterns!r} matches no brief in {BRIEFS_DIR}; try 'cb_*' or 'cb_food_*,cb_*_en_*'")
    return [load_brief(p) for p in paths]


def copy_lines(script: Script) -> list[tuple[str, str]]:
    """(field path, text) of the lines a viewer hears or reads: hook, narration, captions, CTA.

    Every field counts, as the reviewer reviews every field: the hook and CTA are usually also the
    first and last shot's narration, so those texts count twice (for the baseline and today alike).
    """
    lines = [("hook", script.hook)]
    for shot in script.shots:
        lines.append((f"shots[{shot.index}].narration", shot.narration))
        lines.append((f"shots[{shot.index}].caption", shot.caption))
    lines.append(("cta", script.cta))
    return [(f, t) for f, t in lines if t.strip()]


def line_author(script: Script, field_path: str) -> str:
    """Who wrote a line: the per-line record when the writer keeps one, else the script's path."""
    lines = getattr(script.provenance, "lines", None) or {}
    origin = lines.get(field_path)
    return origin.author if origin is not None else script.provenance.path


def collect(
    briefs: Sequence[Brief], generate: GenerateFn, n: int, *, progress: Callable[[str], None] = print
) -> list[BriefRun]:
    """Write ``n`` variants for every brief, timing each brief."""
    runs = []
    for i, brief in enumerate(briefs, 1):
        started = time.perf_counter()
        scripts, exemplar = generate(brief, n)
        wall = time.perf_counter() - started
        progress(f"[{i}/{len(briefs)}] {brief.id}: {len(scripts)} variants in {wall:.1f}s")
        runs.append(BriefRun(brief, scripts, wall, exemplar))
    return runs


def review_all(runs: Sequence[BriefRun], review: ReviewFn) -> None:
    """Fill each run's findings with ``review``."""
    for run in runs:
        run.findings, run.set_findings, run.brief_findings = review(run.brief, run.scripts, run.exemplar)


def reviewer_review(
    brief: Brief, scripts: Sequence[Script], exemplar: Script | None
) -> tuple[list[list[FindingLike]], list[FindingLike], list[FindingLike]]:
    """The contract's reviewer: every script, the set, and the brief itself."""
    from adloom.scripts_gen.review import Reviewer

    reviewer = Reviewer(brief, exemplar=exemplar)
    return (
        [list(reviewer.review_script(s)) for s in scripts],
        list(reviewer.review_set(scripts)),
        list(reviewer.brief_findings()),
    )


# ---------------------------------------------------------------- figures


def tokens(text: str, language: Language) -> list[str]:
    """Chinese: one token per CJK character, ASCII words whole; English: lower-case words."""
    out: list[str] = []
    word = ""
    for ch in text.lower():
        if ch.isascii() and (ch.isalnum() or ch in "'%$.") and not (ch == "." and not word):
            word += ch
            continue
        if word:
            out.append(word.strip("."))
            word = ""
        if language == Language.zh and "\u4e00" <= ch <= "\u9fff":
            out.append(ch)
    if word:
        out.append(word.strip("."))
    return [t for t in out if t]


def distinct_ngrams(scripts: Sequence[Script], n: int) -> float:
    """Distinct n-grams / all n-grams over a brief's variants (n-grams never cross a line)."""
    grams: list[tuple[str, ...]] = []
    for script in scripts:
        for _, text in copy_lines(script):
            toks = tokens(text, script.language)
            grams += [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def variety(scripts: Sequence[Script]) -> dict[str, float]:
    """Variety between one brief's variants: distinct-2, distinct-3, hook type and angle spread (distinct / n)."""
    k = len(scripts) or 1
    return {
        "distinct_2": distinct_ngrams(scripts, 2),
        "distinct_3": distinct_ngrams(scripts, 3),
        "hook_spread": len({s.hook_type for s in scripts}) / k,
        "angle_spread": len({s.angle for s in scripts}) / k,
    }


def _mean(xs: Sequence[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


def figures(runs: Sequence[BriefRun], *, reviewed: bool) -> dict[str, Any]:
    """All printed figures, computed from the runs' scripts and findings."""
    scripts = [(run, s, run.findings[i] if reviewed else []) for run in runs for i, s in enumerate(run.scripts)]
    per_variant = [s.provenance.elapsed_s or 0.0 for _, s, _ in scripts]
    out: dict[str, Any] = {
        "briefs": len(runs),
        "scripts": len(scripts),
        "variety": {k: _mean([variety(r.scripts)[k] for r in runs]) for k in variety([])},
        "variety_by_brief": {r.brief.id: variety(r.scripts) for r in runs},
        "seconds_per_variant": {
            "writer_median": statistics.median(per_variant) if per_variant else 0.0,
            "writer_mean": _mean(per_variant),
            "wall_mean": sum(r.wall_s for r in runs) / max(1, len(scripts)),
        },
        "seconds_by_brief": {r.brief.id: r.wall_s / max(1, len(r.scripts)) for r in runs},
        "paths": dict(Counter(s.provenance.path for _, s, _ in scripts)),
    }
    if not reviewed:
        return out
    n_lines = sum(len(copy_lines(s)) for _, s, _ in scripts)
    by_rule = Counter(f.rule for _, _, fs in scripts for f in fs)
    out["shippable"] = {
        "overall": _rate([not fs for _, _, fs in scripts]),
        **{p: _rate([not fs for _, s, fs in scripts if s.provenance.path == p]) for p in PATHS},
    }
    out["lines"] = n_lines
    out["findings_per_100_lines"] = {rule: 100 * c / max(1, n_lines) for rule, c in sorted(by_rule.items())}
    out["set_findings"] = dict(Counter(f.rule for r in runs for f in r.set_findings))
    out["brief_findings"] = dict(Counter(f.rule for r in runs for f in r.brief_findings))
    out["scripts_with_compliance_or_grounding"] = sum(
        any(f.rule in ("compliance", "grounding") for f in fs) for _, _, fs in scripts
    )
    return out


def _rate(flags: Sequence[bool]) -> dict[str, float | int] | None:
    return {"rate": sum(flags) / len(flags), "shippable": sum(flags), "of": len(flags)} if flags else None


def against_baseline(now: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float]:
    """Today / baseline for variety and seconds per variant, over the briefs both runs measured."""
    common = sorted(set(now["variety_by_brief"]) & set(baseline["variety_by_brief"]))
    if not common:
        return {}
    ratios = {}
    for key in ("distinct_2", "distinct_3", "hook_spread", "angle_spread"):
        base = _mean([baseline["variety_by_brief"][b][key] for b in common])
        ratios[key] = _mean([now["variety_by_brief"][b][key] for b in common]) / base if base else float("nan")
    base_s = _mean([baseline["seconds_by_brief"][b] for b in common])
    ratios["seconds_per_variant"] = _mean([now["seconds_by_brief"][b] for b in common]) / base_s
    ratios["briefs_compared"] = len(common)
    return ratios


def format_figures(fig: dict[str, Any], ratios: dict[str, float], baseline: dict[str, Any] | None) -> str:
    """The figures as the lines the bench prints (and the HTML page shows at its top)."""
    out: list[str] = []
    line = out.append
    line(f"{fig['briefs']} briefs, {fig['scripts']} scripts; paths: {fig['paths']}")
    if "shippable" in fig:
        line("shippable (zero findings):")
        for key, val in fig["shippable"].items():
            if val is not None:
                line(f"  {key:9} {val['rate']:6.1%}  ({val['shippable']}/{val['of']})")
        line(f"  scripts with a compliance or grounding finding: {fig['scripts_with_compliance_or_grounding']}")
        line(f"findings per 100 copy lines ({fig['lines']} lines):")
        for rule, rate in fig["findings_per_100_lines"].items():
            line(f"  {rule:11} {rate:6.1f}")
        line(f"set-level findings: {fig['set_findings'] or 'none'}; brief findings: {fig['brief_findings'] or 'none'}")
    v = fig["variety"]
    line(
        f"variety: distinct-2 {v['distinct_2']:.3f}, distinct-3 {v['distinct_3']:.3f}, "
        f"hook spread {v['hook_spread']:.2f}, angle spread {v['angle_spread']:.2f}"
    )
    s = fig["seconds_per_variant"]
    line(
        f"seconds per variant: writer median {s['writer_median']:.2f}, writer mean {s['writer_mean']:.2f}, "
        f"wall mean {s['wall_mean']:.2f}"
    )
    if ratios:
        line(
            f"today / baseline ({baseline['commit'][:10]} {baseline['date'][:10]}, "
            f"{ratios['briefs_compared']} briefs in common):"
        )
        for key in ("distinct_2", "distinct_3", "hook_spread", "angle_spread", "seconds_per_variant"):
            line(f"  {key:20} {ratios[key]:.2f}x")
    elif baseline is not None:
        line("no brief in common with the baseline; no ratios")
    return "\n".join(out)


# ---------------------------------------------------------------- html


_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
  "Noto Sans","Noto Color Emoji",sans-serif;margin:24px;color:#1d1d1f;background:#fafafa;max-width:1200px}
h1{font-size:22px} h2{font-size:18px;margin:28px 0 4px;border-top:2px solid #ccc;padding-top:12px}
.meta{color:#555;font-size:13px;margin-bottom:8px;overflow-wrap:anywhere}
.script{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin:12px 0}
.script.ok{border-left:6px solid #2e9d4f} .script.bad{border-left:6px solid #d2452f}
table{border-collapse:collapse;width:100%;table-layout:fixed} td{vertical-align:top;padding:4px 6px;
  border-bottom:1px solid #eee;font-size:14px;overflow-wrap:anywhere;word-break:break-word}
td.f{width:150px;color:#666;font-family:monospace;font-size:12px} td.a{width:80px;color:#666;font-size:12px}
mark{background:#ffd7d1;border-bottom:2px solid #d2452f;padding:0 1px}
.finding{font-size:12px;color:#a12c1c;margin:2px 0} .fix{color:#2e6d3f}
.rule{display:inline-block;background:#d2452f;color:#fff;border-radius:3px;padding:0 4px;margin-right:4px}
.brieff{background:#fff4e5;border:1px solid #f0b46a;padding:6px 10px;border-radius:4px;font-size:13px}
.summary{background:#fff;border:1px solid #ddd;padding:8px 12px;white-space:pre-wrap;font-size:13px;
  overflow-wrap:anywhere}
.script.unreviewed{border-left:6px solid #999}
"""


def _spans(text: str, findings: Sequence[FindingLike]) -> list[tuple[int, int]]:
    """Character spans of ``text`` to highlight: each finding's start/end, else its span found in the text."""
    spans = []
    for f in findings:
        if 0 <= f.start < f.end <= len(text):
            spans.append((f.start, f.end))
        elif f.span and f.span in text:
            i = text.index(f.span)
            spans.append((i, i + len(f.span)))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def highlight(text: str, findings: Sequence[FindingLike]) -> str:
    """``text`` as HTML with every finding's span in a <mark>."""
    out, pos = [], 0
    for a, b in _spans(text, findings):
        out += [html.escape(text[pos:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        pos = b
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _finding_html(f: FindingLike) -> str:
    fix = f' <span class="fix">fix: {html.escape(f.fix) if f.fix else "drop it"}</span>'
    where = f" [{html.escape(f.field)}]" if f.field else ""
    span = f" “{html.escape(f.span)}”" if f.span else ""
    rule = f'<span class="rule">{html.escape(f.rule)}</span>'
    return f'<div class="finding">{rule}{where}{span}: {html.escape(f.why)}{fix}</div>'


def shown_as(script: Script) -> dict[str, str]:
    """Fields the page folds into another because they hold the same text (first shot = hook, last = CTA)."""
    first, last = script.shots[0], script.shots[-1]
    folded = {}
    if first.narration.strip() == script.hook.strip():
        folded[f"shots[{first.index}].narration"] = "hook"
    if last.narration.strip() == script.cta.strip():
        folded[f"shots[{last.index}].narration"] = "cta"
    return folded


def _script_rows(script: Script, findings: Sequence[FindingLike]) -> str:
    roles = {f"shots[{s.index}]": s.role.value for s in script.shots}
    roles |= {"hook": f"{script.shots[0].role.value} (shot 0)", "cta": f"{script.shots[-1].role.value} (last shot)"}
    folded = shown_as(script)
    rows = []
    for path, text in copy_lines(script):
        if path in folded:
            continue
        here = [f for f in findings if folded.get(f.field, f.field) == path]
        role = roles.get(path.split(".")[0], path)
        rows.append(
            f'<tr><td class="f">{html.escape(path)}<br>{html.escape(role)}</td>'
            f'<td class="a">{html.escape(line_author(script, path))}</td>'
            f"<td>{highlight(text, here)}{''.join(_finding_html(f) for f in here)}</td></tr>"
        )
    lines = getattr(script.provenance, "lines", None) or {}
    for path, origin in lines.items():
        if origin.rewrites:
            rows.append(
                f'<tr><td class="f">{html.escape(path)}</td><td class="a">rewrite</td><td class="finding">'
                f"{html.escape('; '.join(origin.rewrites))}"
                f"{' — was: ' + html.escape(origin.original) if origin.original else ''}</td></tr>"
            )
    return "<table>" + "".join(rows) + "</table>"


def render_html(runs: Sequence[BriefRun], fig: dict[str, Any], summary: str) -> str:
    """The page a person reads: every brief, its scripts line by line, findings highlighted in place."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>adloom copy quality</title>",
        f"<style>{_CSS}</style></head><body><h1>adloom copy quality — {fig['scripts']} scripts, "
        f"{fig['briefs']} briefs</h1><div class='summary'>{html.escape(summary)}</div>",
    ]
    for run in runs:
        b = run.brief
        objective = resolve_objective(b)
        button = objective_profile(objective).button[b.language]
        p = b.product
        price = p.price_text(b.language) or "no price"
        parts.append(
            f"<h2>{html.escape(p.name)}</h2><div class='meta'>{html.escape(b.id)} · {b.industry.value} · "
            f"{b.language.value} · objective {objective.value} (button “{html.escape(button)}”) · "
            f"{html.escape(price)} · offer: {html.escape(p.offer or 'none')}<br>selling points: "
            f"{html.escape(' | '.join(p.selling_points))}</div>"
        )
        if run.brief_findings:
            parts.append("<div class='brieff'><b>for the advertiser:</b>")
            parts += [_finding_html(f) for f in run.brief_findings]
            parts.append("</div>")
        for i, script in enumerate(run.scripts):
            reviewed = bool(run.findings)
            findings = run.findings[i] if reviewed else []
            cls = "unreviewed" if not reviewed else ("ok" if not findings else "bad")
            verdict = f"{len(findings)} finding(s)" if reviewed else "not reviewed"
            shown = {p for p, _ in copy_lines(script)} - set(shown_as(script))
            elsewhere = [f for f in findings if shown_as(script).get(f.field, f.field) not in shown]
            parts.append(
                f"<div class='script {cls}'><b>variant {i + 1}</b> · {script.hook_type.value} / "
                f"{script.angle.value} · path {script.provenance.path} · "
                f"{script.provenance.elapsed_s or 0:.1f}s · {verdict}"
                + _script_rows(script, findings)
                + "".join(_finding_html(f) for f in elsewhere)
                + "</div>"
            )
        if run.set_findings:
            parts.append("<div class='brieff'><b>across the variants:</b>")
            parts += [_finding_html(f) for f in run.set_findings]
            parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------- the normal generate path


def service_generator(*, template_only: bool, seed: int, workdir: Path) -> GenerateFn:
    """``adloom scripts generate``'s path: sample library, retriever, writer from settings; a scratch store."""
    from adloom.core.settings import get_settings
    from adloom.core.storage import open_store
    from adloom.scripts_gen.llm import get_backend
    from adloom.scripts_gen.structure import structure_exemplar
    from adloom.scripts_gen.writer import ScriptWriter
    from adloom.serving.scripts_service import build_retriever, ensure_library, generate_scripts

    settings = get_settings()
    store = open_store(f"sqlite:///{workdir / 'bench.db'}")
    ensure_library(store)
    retriever = build_retriever(store, settings)
    backend = None if template_only else get_backend(settings)
    writer = ScriptWriter(backend, attempts=settings.generation_attempts)
    if backend is not None:
        backend.generate_text("warm up", max_tokens=1)  # load the model outside the timing

    def generate(brief: Brief, n: int) -> tuple[list[Script], Script | None]:
        run = generate_scripts(brief, n, store=store, retriever=retriever, writer=writer, seed=seed)
        return run.scripts, structure_exemplar(run.exemplars[0]) if run.exemplars else None

    return generate


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=3, help="variants per brief (default 3)")
    ap.add_argument(
        "--briefs", default="*", help="comma-separated globs over file names in bench/data/copy_briefs (no .yaml)"
    )
    ap.add_argument("--html", type=Path, help="write a page with every script and its findings here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--template-only", action="store_true", help="the deterministic writer alone (no LLM)")
    ap.add_argument("--no-review", action="store_true", help="skip the reviewer (variety and time only)")
    ap.add_argument("--baseline", type=Path, default=BASELINE, help="baseline JSON to compare against")
    ap.add_argument("--save-baseline", type=Path, help="write this run's figures as a baseline JSON here")
    ap.add_argument("--json", type=Path, help="write this run's figures as JSON here")
    ap.add_argument("--scripts", type=Path, help="write every script (JSON lines: brief id, script, findings) here")
    args = ap.parse_args(argv)

    briefs = load_briefs(args.briefs)
    conditions = (
        f"{platform.machine()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}, "
        f"{'template writer' if args.template_only else 'embedded default LLM'}, n={args.n}, seed={args.seed}"
    )
    print(f"# conditions: {conditions}")
    with tempfile.TemporaryDirectory(prefix="adloom-copybench-") as tmp:
        generate = service_generator(template_only=args.template_only, seed=args.seed, workdir=Path(tmp))
        runs = collect(briefs, generate, args.n)
    reviewed = not args.no_review
    if reviewed:
        review_all(runs, reviewer_review)
    fig = figures(runs, reviewed=reviewed)
    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline.is_file() else None
    ratios = against_baseline(fig, baseline) if baseline else {}
    report = format_figures(fig, ratios, baseline)
    print("\n" + report)
    command = "python bench/copy_quality.py " + " ".join(sys.argv[1:] if argv is None else argv)
    record = {
        "commit": _commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command.strip(),
        "conditions": conditions,
        "brief_ids": [b.id for b in briefs],
        **fig,
        "vs_baseline": ratios,
    }
    for path in (args.save_baseline, args.json):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            print(f"wrote {path}")
    if args.scripts is not None:
        args.scripts.parent.mkdir(parents=True, exist_ok=True)
        with args.scripts.open("w", encoding="utf-8") as out:
            for run in runs:
                for i, script in enumerate(run.scripts):
                    found = run.findings[i] if i < len(run.findings) else []
                    row = {
                        "brief_id": run.brief.id,
                        "script": script.model_dump(mode="json"),
                        "findings": [f"{f.rule} {f.field}: {f.span}" for f in found],
                    }
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"wrote {args.scripts}")
    if args.html is not None:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render_html(runs, fig, f"{command}\n{conditions}\n\n{report}"), encoding="utf-8")
        print(f"wrote {args.html}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
