"""The ``adloom`` command line.

Every command reports failures as one readable message and an exit code:
2 bad input, 3 not found, 4 a backend is unavailable, 1 anything else.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from textwrap import shorten
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from adloom.core.errors import AdloomError, BackendUnavailableError, InputError, NotFoundError
from adloom.core.settings import get_settings
from adloom.core.types import Aspect, Industry, Language, Platform, Script, export_schemas

app = typer.Typer(
    name="adloom",
    help="adloom: ad scripts from high-performing past creatives, ad videos and live-commerce rooms.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
library_app = typer.Typer(
    help="The creative library: import past creatives, search them, show one.", no_args_is_help=True
)
scripts_app = typer.Typer(
    help="Write ad scripts: N variants for a brief, or structure pasted copy.", no_args_is_help=True
)
schema_app = typer.Typer(help="JSON Schemas of adloom's public types.", no_args_is_help=True)
app.add_typer(library_app, name="library")
app.add_typer(scripts_app, name="scripts")
app.add_typer(schema_app, name="schema")
feedback_app = typer.Typer(help="Performance feedback from ad platforms: import events.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
predictor_app = typer.Typer(help="The CTR/CVR predictor: train, list versions.", no_args_is_help=True)
app.add_typer(predictor_app, name="predictor")
loop_app = typer.Typer(
    help="The learning loop: feedback → retrain → new scores → library priors; or simulate it.", no_args_is_help=True
)
app.add_typer(loop_app, name="loop")

# Piped output (logs, CI) gets a wide page so tables stay readable; a terminal keeps its own width.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)
F = TypeVar("F", bound=Callable[..., Any])

_EXIT = ((InputError, 2), (NotFoundError, 3), (BackendUnavailableError, 4), (AdloomError, 1))


def _friendly(fn: F) -> F:
    """Turn adloom errors into a red message and an exit code instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AdloomError as exc:
            code = next(c for t, c in _EXIT if isinstance(exc, t))
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        yield progress


def _services(progress: Progress) -> tuple[Any, Any]:
    """Open the store (seeding the sample library if empty) and build the retriever, with progress."""
    from adloom.serving.scripts_service import build_retriever, ensure_library, open_default_store

    settings = get_settings()
    store = open_default_store(settings)
    ensure_library(store)
    task = progress.add_task("embedding the creative library", total=store.library_count())
    retriever = build_retriever(
        store, settings, progress=lambda done, total: progress.update(task, completed=done, total=total)
    )
    progress.update(task, completed=len(retriever), total=len(retriever))
    return store, retriever


def _writer(offline_template: bool = False) -> Any:
    from adloom.scripts_gen.llm import get_backend
    from adloom.scripts_gen.writer import ScriptWriter

    settings = get_settings()
    backend = None if offline_template else get_backend(settings)
    return ScriptWriter(backend, attempts=settings.generation_attempts)


def _rewrites_note(script: Script) -> str:
    """How many of the script's lines were rewritten before they passed review ("" if none)."""
    count = sum(len(o.rewrites) for k, o in script.provenance.lines.items() if k.startswith("shots["))
    return f"\n{count} rewrite(s)" if count else ""


def _scripts_table(scripts: list[Script], title: str) -> Table:
    table = Table(title=title, show_lines=True, expand=True)
    table.add_column("#", justify="right", width=3)
    table.add_column("hook type / angle", width=18)
    table.add_column("hook → CTA", ratio=3)
    table.add_column("shots", justify="right", width=6)
    table.add_column("secs", justify="right", width=6)
    table.add_column("path", width=14)
    for i, s in enumerate(scripts, 1):
        table.add_row(
            str(i),
            f"{s.hook_type.value}\n{s.angle.value}",
            f"{s.hook}\n[dim]{' / '.join(x.narration for x in s.shots[1:-1])}[/]\n→ {s.cta}",
            str(len(s.shots)),
            f"{s.duration_s:.1f}",
            f"{s.provenance.path}\n{s.provenance.backend}×{s.provenance.attempts}" + _rewrites_note(s),
        )
    return table


def _print_review_notes(brief_findings: list[Any], dropped: list[str]) -> None:
    """Tell the advertiser what the copy reviewer left out of the brief, and which variants it dropped."""
    from adloom.serving.scripts_service import describe_brief_finding

    for f in brief_findings:
        console.print(f"[yellow]brief:[/] {escape(describe_brief_finding(f))}", highlight=False)
    for why in dropped:
        console.print(f"[yellow]not emitted:[/] {escape(why)}", highlight=False)


def _run_generate(
    brief_path: Path, n: int, out: Path | None, exemplar: str | None, seed: int, template_only: bool
) -> Any:
    from adloom.serving.scripts_service import generate_scripts, load_brief, write_run

    brief = load_brief(brief_path)
    with _progress() as progress:
        store, retriever = _services(progress)
        writer = _writer(template_only)
        task = progress.add_task(
            f"writing {n} variants ({'template' if template_only else writer.backend.name})", total=n
        )

        def step(done: int, total: int, what: str) -> None:
            progress.update(task, completed=done, total=total, description=f"writing: {what}")

        run = generate_scripts(
            brief, n, store=store, retriever=retriever, writer=writer, exemplar_id=exemplar, seed=seed, progress=step
        )
    console.print(f"exemplars: {', '.join(f'{x.id} ({x.title})' for x in run.exemplars)}", highlight=False)
    title = f"{brief.product.name} — {len(run.scripts)} variants in {run.elapsed_s:.1f}s"
    console.print(_scripts_table(run.scripts, title))
    _print_review_notes(run.brief_findings, run.dropped)
    if out is not None:
        write_run(run, out)
        console.print(f"wrote {out}")
    return run


@app.command()
@_friendly
def setup(
    models_dir: Annotated[Path | None, typer.Option(help="Where to assemble models (default: <home>/models).")] = None,
    only: Annotated[str | None, typer.Option(help="Comma-separated subset, e.g. gemma,kokoro.")] = None,
) -> None:
    """Assemble the offline models (LLM, voices) into the model cache. Idempotent."""
    from adloom.serving.setup_models import main as setup_main

    argv = []
    if models_dir is not None:
        argv += ["--models-dir", str(models_dir)]
    if only:
        argv += ["--only", only]
    code = setup_main(argv)
    if code:
        raise typer.Exit(code)


@app.command()
@_friendly
def demo(
    out: Annotated[Path, typer.Option(help="Output folder for the demo's videos and gallery.")] = Path("out/demo"),
    n: Annotated[int, typer.Option("-n", help="Creatives per brief.")] = 3,
    height: Annotated[int, typer.Option(help="720 or 1080 (the short side).")] = 720,
    workers: Annotated[int, typer.Option(help="Parallel render processes.")] = 2,
) -> None:
    """Render the bundled sample campaign: a Chinese 9:16 and an English 16:9 brief, ranked, with a gallery page."""
    from adloom.serving.gallery import write_gallery
    from adloom.serving.render_pipeline import RenderOptions

    if height not in (720, 1080):
        raise InputError(f"--height {height}: render at 720 or 1080", field="height")
    samples = Path(__file__).with_name("samples")
    started = time.perf_counter()
    _ensure_predictor()
    sections = []
    for lang, aspect in (("zh", Aspect.portrait), ("en", Aspect.landscape)):
        opts = RenderOptions(aspect=aspect, height=height, workers=workers, replace_stale=True)
        sections.append(_run_render(samples / f"brief_{lang}.yaml", n, out / lang, opts))
    page = write_gallery(sections, out / "index.html", title="adloom demo — sample campaign")
    delivered = sum(o.delivered for _, outcomes in sections for o in outcomes)
    pruned = sum(o.pruned for _, outcomes in sections for o in outcomes)
    total = sum(len(outcomes) for _, outcomes in sections)
    console.print(
        f"demo finished in {time.perf_counter() - started:.1f}s: {delivered}/{total} creatives delivered "
        f"({delivered - pruned} to launch, {pruned} pruned by the predictor); open {page.resolve()}"
    )


def _ensure_predictor() -> None:
    """The demo scores and prunes with a trained predictor; on a fresh install there is none yet, so one is
    trained on simulated delivery (~20 s on 2 cores). Real feedback replaces it (`adloom loop run`)."""
    from adloom.serving.predictor_service import train_from_simulation
    from adloom.serving.scripts_service import open_default_store

    settings = get_settings()
    store = open_default_store(settings)
    if store.latest_model("predictor") is not None:
        return
    console.print(
        "no trained predictor yet: training one on simulated delivery so the demo can score and prune "
        "(`adloom loop run` retrains on real feedback once it is imported)"
    )
    with _progress() as progress:
        progress.add_task("training the predictor on simulated delivery", total=None)
        mv, result = train_from_simulation(store, settings)
    console.print(f"predictor {mv.version}: trained on {mv.n_train:,} rows; {_metrics_line(result.metrics)}")


def _run_render(
    brief_path: Path,
    n: int,
    out: Path,
    opts: Any,
    seed: int = 0,
) -> tuple[Any, list[Any]]:
    from adloom.serving.render_pipeline import check_render_options, render_batch
    from adloom.serving.scripts_service import load_brief

    brief = load_brief(brief_path)
    check_render_options(brief, opts)  # a bad option is refused before the library is embedded
    with _progress() as progress:
        store, retriever = _services(progress)
        writer = _writer()
        task = progress.add_task(f"{brief.product.name}: writing scripts", total=n)

        def step(done: int, total: int, what: str) -> None:
            progress.update(task, completed=done, total=total, description=f"{brief.product.name}: {what}")

        outcomes = render_batch(
            brief,
            n,
            out,
            opts,
            base_dir=brief_path.resolve().parent,
            store=store,
            retriever=retriever,
            writer=writer,
            seed=seed,
            progress=step,
            warn=lambda line: progress.console.print(
                f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True
            ),  # before the long part, so a user can stop and fix the file
        )
    batch = out / "batch.json"
    if batch.is_file():  # what the copy reviewer left out of the brief, and variants it never emitted
        notes = json.loads(batch.read_text(encoding="utf-8"))
        for line in notes.get("brief_findings", []):
            console.print(f"[yellow]brief:[/] {escape(line)}", highlight=False)
        for why in notes.get("dropped", []):
            console.print(f"[yellow]not emitted:[/] {escape(why)}", highlight=False)
    table = Table(title=f"{brief.product.name}: {sum(o.delivered for o in outcomes)}/{len(outcomes)} delivered")
    for col in ("rank", "creative", "hook / angle", "secs", "score", "gate / decision"):
        table.add_column(col)
    for i, o in enumerate(outcomes, 1):
        c = o.creative
        sc = c.scores
        shown = f"pCTCVR {sc['pctcvr']:.3%}" if "pctcvr" in sc else f"prior {sc.get('prior', 0):.2f}"
        decision = next((r for r in c.reasons if r.startswith(("launch:", "explore:", "prune:"))), "")
        table.add_row(
            str(i),
            c.id + (" (resumed)" if o.resumed else ""),
            f"{c.script.hook_type.value} / {c.script.angle.value}",
            f"{c.script.duration_s:.1f}",
            shown,
            ("PRUNED: " if o.pruned else "passed; ") + shorten(decision, 120, placeholder=" …")
            if o.delivered
            else shorten("; ".join(c.reasons), 120, placeholder=" …"),
        )
    console.print(table)
    for o in outcomes:
        _print_generation(o.creative)
    return brief, outcomes


def _print_generation(creative: Any) -> None:
    """Where a creative's shots came from when shots were generated, and each generated clip the gate refused."""
    if not creative.manifest_path or not Path(creative.manifest_path).is_file():
        return
    manifest = json.loads(Path(creative.manifest_path).read_text(encoding="utf-8"))
    generation = manifest.get("generation")
    if not generation:
        return
    sources = manifest.get("shot_sources") or []
    kinds = ("generated", "retrieved", "asset", "designed")
    counts = ", ".join(f"{sources.count(k)} {k}" for k in kinds if k in sources)
    console.print(f"{creative.id}: shots {counts} ({generation.get('model')} on {generation.get('device')})")
    for g in generation.get("shots") or []:
        if not g.get("used"):
            console.print(f"[yellow]  shot {g['shot']}: {escape(str(g.get('why_not_used', '')))}[/]", highlight=False)


@app.command()
@_friendly
def render(
    brief: Annotated[
        Path, typer.Option("--brief", "-b", help="Brief file (YAML or JSON); asset paths are relative to it.")
    ],
    n: Annotated[int, typer.Option("-n", help="How many creatives (1–200).")] = 10,
    aspect: Annotated[Aspect | None, typer.Option(help="9:16, 16:9 or 1:1 (default: the brief's).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder; rerun with the same folder to resume.")] = Path(
        "out/render"
    ),
    height: Annotated[int, typer.Option(help="720 or 1080 (the short side).")] = 720,
    workers: Annotated[int, typer.Option(help="Parallel render processes.")] = 2,
    template: Annotated[
        list[str] | None, typer.Option(help="Template(s) to use (default: rotate through all).")
    ] = None,
    voice: Annotated[str | None, typer.Option(help="TTS voice name (default per language).")] = None,
    music: Annotated[Path | None, typer.Option(help="Music bed (audio file next to the brief).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for script planning and sampling.")] = 0,
    footage_only: Annotated[
        bool, typer.Option("--footage-only", help="Shots from the brief's footage and photos only (the default).")
    ] = False,
    generate_missing: Annotated[
        bool,
        typer.Option("--generate-missing", help="Generate the shots no footage fits, with the video model."),
    ] = False,
    generate_all: Annotated[
        bool, typer.Option("--generate-all", help="Generate every shot (the product photo anchors the first frame).")
    ] = False,
    video_model: Annotated[
        Path | None,
        typer.Option(help="Video model folder for generated shots (default: ADLOOM_VIDEO_MODEL_PATH)."),
    ] = None,
    video_device: Annotated[
        str | None, typer.Option(help="cuda, cuda:N, or cpu for tiny models (default: ADLOOM_VIDEO_DEVICE).")
    ] = None,
) -> None:
    """Render N ranked, voiced, subtitled ad videos for a brief, with a gallery page."""
    from adloom.serving.gallery import write_gallery
    from adloom.serving.render_pipeline import RenderOptions

    if height not in (720, 1080):
        raise InputError(f"--height {height}: render at 720 or 1080", field="height")
    modes = [m for m, on in (("footage_only", footage_only), ("generate_missing", generate_missing),
                             ("generate_all", generate_all)) if on]  # fmt: skip
    if len(modes) > 1:
        raise InputError(
            "choose one of --footage-only, --generate-missing and --generate-all, not "
            + " and ".join("--" + m.replace("_", "-") for m in modes),
            field="shots",
        )
    opts = RenderOptions(
        aspect=aspect,
        height=height,
        workers=workers,
        templates=tuple(template or ()),
        voice=voice,
        music=str(music) if music else None,
        shots=modes[0] if modes else "footage_only",
        video_model=str(video_model) if video_model else None,
        video_device=video_device,
    )
    b, outcomes = _run_render(brief, n, out, opts, seed)
    page = write_gallery([(b, outcomes)], out / "index.html", title=f"adloom — {b.product.name}")
    console.print(f"gallery: {page}")


@scripts_app.command("generate")
@_friendly
def scripts_generate(
    brief: Annotated[Path, typer.Option("--brief", "-b", help="Brief file (YAML or JSON).", exists=False)],
    n: Annotated[int, typer.Option("-n", help="How many variants (1–50).")] = 5,
    out: Annotated[Path | None, typer.Option(help="Write brief, exemplars and scripts as JSON here.")] = None,
    exemplar: Annotated[str | None, typer.Option(help="Library item id to lead with (default: best match).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for planning and sampling.")] = 0,
    template_only: Annotated[
        bool, typer.Option("--template-only", help="Skip the LLM; use the template writer.")
    ] = False,
) -> None:
    """Write N script variants for a brief, few-shot from the best-matching past creatives."""
    _run_generate(brief, n, out, exemplar, seed, template_only)


@scripts_app.command("structure")
@_friendly
def scripts_structure(
    text_file: Annotated[Path, typer.Argument(help="Pasted script, marked shots or an SRT transcript.")],
    industry: Annotated[Industry, typer.Option(help="Industry of the ad.")],
    language: Annotated[Language | None, typer.Option(help="zh or en (default: detected).")] = None,
    duration: Annotated[float | None, typer.Option(help="Scale shots to this total length.")] = None,
) -> None:
    """Structure pasted copy or a transcript into a Script (printed as JSON)."""
    from adloom.scripts_gen.structure import structure_text

    try:
        text = text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {text_file} as UTF-8 text: {exc}") from None
    script = structure_text(text, industry=industry, language=language, duration_s=duration)
    console.print_json(script.model_dump_json())


@library_app.command("import")
@_friendly
def library_import(path: Annotated[Path, typer.Argument(help="CSV or JSONL file of past creatives.")]) -> None:
    """Import past creatives; bad rows are listed with their row number and skipped."""
    from adloom.scripts_gen.library.importer import import_library
    from adloom.serving.scripts_service import open_default_store

    report = import_library(path)
    store = open_default_store(get_settings())
    store.upsert_library_items(report.items)
    for err in report.errors:
        err_console.print(f"[yellow]skipped[/] {err}", highlight=False, soft_wrap=True)
    console.print(
        f"imported {len(report.items)} creatives, skipped {len(report.errors)} rows; "
        f"library has {store.library_count()}"
    )
    if report.errors and not report.items:
        raise typer.Exit(2)


@library_app.command("search")
@_friendly
def library_search(
    query: Annotated[str, typer.Argument(help="What the product is, e.g. '保湿精华 干皮' or 'robot vacuum'.")],
    k: Annotated[int, typer.Option("-k", help="How many results.")] = 8,
    industry: Annotated[Industry | None, typer.Option()] = None,
    platform: Annotated[Platform | None, typer.Option()] = None,
    language: Annotated[Language | None, typer.Option()] = None,
    aspect: Annotated[Aspect | None, typer.Option()] = None,
) -> None:
    """Find past creatives like the query, ranked by similarity × observed performance."""
    with _progress() as progress:
        _, retriever = _services(progress)
    hits = retriever.search(query, k=k, industry=industry, platform=platform, language=language, aspect=aspect)
    table = Table(title=f"{len(hits)} creatives for {query!r}")
    table.add_column("id", no_wrap=True)
    table.add_column("title", min_width=12)
    table.add_column("industry · lang · hook")
    table.add_column("CTR", justify="right")
    table.add_column("sim · prior → score", justify="right")
    for h in hits:
        it = h.item
        table.add_row(
            it.id,
            it.title,
            f"{it.industry.value} · {it.language.value} · {it.script.hook_type.value}",
            f"{it.performance.ctr:.2%}",
            f"{h.similarity:.3f} · {h.prior:.2f} → {h.score:.3f}",
        )
    console.print(table)


@library_app.command("show")
@_friendly
def library_show(item_id: Annotated[str, typer.Argument(help="Library item id.")]) -> None:
    """Show one past creative: its script and performance."""
    from adloom.serving.scripts_service import ensure_library, open_default_store

    store = open_default_store(get_settings())
    ensure_library(store)
    item = store.get_library_item(item_id)
    p = item.performance
    console.print(
        f"[bold]{item.title}[/] ({item.id}) — {item.industry.value}, {item.platform.value}, "
        f"{item.language.value}, {item.aspect.value}"
    )
    console.print(
        f"impressions {p.impressions:,}  3s-play {p.play_3s_rate:.1%}  CTR {p.ctr:.2%}  "
        f"CVR {p.cvr:.2%}  spend {p.spend:,.0f}",
        highlight=False,
    )
    console.print(_scripts_table([item.script], "script"))


@app.command()
@_friendly
def report(
    campaign: Annotated[
        str, typer.Option("--campaign", "-c", help="Campaign id (creatives carry it from their brief).")
    ],
    out: Annotated[Path, typer.Option(help="Report file: .html (self-contained) or .pdf.")] = Path("report.html"),
) -> None:
    """Write a marketer report for a campaign: rates with intervals, lifts, predicted vs actual, top/bottom."""
    from adloom.analytics.report import build_report, write_report
    from adloom.serving.scripts_service import open_default_store

    path = write_report(build_report(open_default_store(get_settings()), campaign), out)
    console.print(f"wrote {path}")


@feedback_app.command("import")
@_friendly
def feedback_import(
    path: Annotated[Path, typer.Argument(help="CSV, JSONL or Parquet file of feedback events.")],
) -> None:
    """Import delivery events; duplicates count once, impossible funnels are held or rejected with reasons."""
    from adloom.analytics.feedback import import_feedback
    from adloom.serving.scripts_service import open_default_store

    store = open_default_store(get_settings())
    with _progress() as progress:
        task = progress.add_task(f"importing {path.name}", total=None)
        result = import_feedback(store, path, on_chunk=lambda r: progress.update(task, completed=r.rows))
    console.print(
        f"{result.rows} rows: {result.counted} counted, {result.duplicates} duplicates, {result.held} held, "
        f"{result.rejected} rejected, {result.released} released"
    )
    for reason, count in sorted(result.reasons.items()):
        console.print(f"  {reason}: {count}")


def _metrics_line(metrics: dict[str, dict[str, float]]) -> str:
    parts = [
        f"{k} AUC {m['auc']:.4f}" for k, m in metrics.items() if k in ("ctr/lightgbm", "ctr/logistic", "ctcvr/lightgbm")
    ]
    return "; ".join(parts)


@predictor_app.command("train")
@_friendly
def predictor_train(
    from_feedback: Annotated[
        bool, typer.Option("--from-feedback/--simulate", help="Train on stored feedback, or on simulated delivery.")
    ] = True,
    config: Annotated[Path | None, typer.Option(help="Experiment YAML (with --simulate).")] = None,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
) -> None:
    """Train a new predictor version (pCTR, ESMM pCVR, pPlay, uncertainty), save it and register it in the store."""
    from adloom.serving.predictor_service import train_from_feedback, train_from_simulation
    from adloom.serving.scripts_service import open_default_store

    settings = get_settings()
    store = open_default_store(settings)
    with _progress() as progress:
        progress.add_task("training the predictor", total=None)
        if from_feedback:
            mv, result = train_from_feedback(store, settings, seed=seed)
        else:
            from adloom.analytics.experiment import load_config

            mv, result = train_from_simulation(store, settings, load_config(config) if config else None)
    console.print(f"model {mv.version}: trained on {mv.n_train:,} rows; {_metrics_line(result.metrics)}")
    console.print(f"saved to {mv.path}")


@predictor_app.command("list")
@_friendly
def predictor_list() -> None:
    """Registered predictor versions, newest first."""
    from adloom.serving.scripts_service import open_default_store

    table = Table(title="predictor versions")
    for col in ("version", "created", "rows", "CTR AUC", "CTCVR AUC"):
        table.add_column(col)
    for mv in open_default_store(get_settings()).list_models("predictor"):
        m = mv.metrics or {}
        table.add_row(
            mv.version,
            f"{mv.created_at:%Y-%m-%d %H:%M}" if mv.created_at else "",
            f"{mv.n_train:,}",
            f"{m.get('ctr/lightgbm', {}).get('auc', float('nan')):.4f}",
            f"{m.get('ctcvr/lightgbm', {}).get('auc', float('nan')):.4f}",
        )
    console.print(table)


@loop_app.command("run")
@_friendly
def loop_run(seed: Annotated[int, typer.Option(help="Training seed.")] = 0) -> None:
    """On demand: retrain on the stored feedback, register the new version, push performance into the library."""
    from adloom.serving.predictor_service import run_loop_once
    from adloom.serving.scripts_service import open_default_store

    settings = get_settings()
    store = open_default_store(settings)
    with _progress() as progress:
        task = progress.add_task("loop", total=None)
        res = run_loop_once(store, settings, seed=seed, progress=lambda what: progress.update(task, description=what))
    console.print(
        f"new model {res.model.version} ({_metrics_line(res.metrics)}); "
        f"{res.n_library_items} library items updated with their delivery; {res.elapsed_s:.1f}s"
    )


@loop_app.command("simulate")
@_friendly
def loop_simulate(
    rounds: Annotated[int, typer.Option(help="Rounds of generate → prune → launch → learn.")] = 4,
    pool: Annotated[int, typer.Option(help="Candidates per round.")] = 200,
    k: Annotated[int, typer.Option(help="Creatives launched per round and arm.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    impressions: Annotated[int, typer.Option(help="Impressions delivered per round.")] = 120_000,
) -> None:
    """Run the closed-loop simulation and print per round the true CTR/CVR of launched creatives, pruning on vs off."""
    from adloom.analytics.loop import LoopConfig, run_closed_loop

    table = Table(title=f"closed loop: pool {pool}, k {k}, seed {seed}")
    for col in ("round", "CTR off", "CTR on", "CVR off", "CVR on", "CTCVR lift", "launch/explore/prune"):
        table.add_column(col, justify="right")
    with _progress() as progress:
        task = progress.add_task("simulating rounds", total=rounds)
        results = run_closed_loop(
            rounds,
            pool,
            k,
            seed,
            config=LoopConfig(impressions_per_round=impressions),
            progress=lambda r: progress.update(task, completed=r.round),
        )
    for r in results:
        table.add_row(
            str(r.round),
            f"{r.off.ctr:.3%}",
            f"{r.on.ctr:.3%}",
            f"{r.off.cvr:.2%}",
            f"{r.on.cvr:.2%}",
            f"{r.lift_ctcvr:+.1%}",
            f"{r.count('launch')}/{r.count('explore')}/{r.count('prune')}",
        )
    console.print(table)


@schema_app.command("export")
@_friendly
def schema_export(
    out: Annotated[Path, typer.Argument(help="Folder to write the schemas into.")] = Path("schemas"),
) -> None:
    """Write the versioned JSON Schemas of the public types."""
    for path in export_schemas(out):
        console.print(str(path))


# Sub-commands that live in modules of their own (they import helpers defined above, so they come last).
from adloom.serving.agent_cli import agent_app, leads_app  # noqa: E402
from adloom.serving.api_cli import keys_app, serve  # noqa: E402
from adloom.serving.assets_cli import assets_app  # noqa: E402
from adloom.serving.jobs.cli import worker as worker_command  # noqa: E402
from adloom.serving.live_cli import live_app  # noqa: E402
from adloom.serving.remote_cli import api_app  # noqa: E402
from adloom.serving.ui_cli import ui as ui_command  # noqa: E402
from adloom.serving.video_cli import video_app  # noqa: E402

app.add_typer(video_app, name="video")
app.add_typer(assets_app, name="assets")
app.add_typer(live_app, name="live")
app.add_typer(keys_app, name="keys")
app.add_typer(api_app, name="api")
app.add_typer(agent_app, name="agent")
app.add_typer(leads_app, name="leads")
app.command("serve")(_friendly(serve))
app.command("worker")(worker_command)
app.command("ui")(_friendly(ui_command))


if __name__ == "__main__":
    app()
