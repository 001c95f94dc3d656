"""`adloom assets analyze DIR`: the scenes and scores of an advertiser's footage folder, as a table or JSON.

OpenCV, PyAV and PySceneDetect load inside the command, so ``import adloom.serving.cli`` stays light.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adloom.core.errors import InputError
from adloom.core.settings import get_settings

assets_app = typer.Typer(help="Advertiser footage and photos: scenes, scores, descriptions.", no_args_is_help=True)
console = Console()
F = TypeVar("F", bound=Callable[..., Any])


def _friendly(fn: F) -> F:
    """The CLI's error mapping (adloom errors → red message + exit code), looked up at call time (no import cycle)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from adloom.serving.cli import _friendly as friendly

        return friendly(fn)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: Files the command looks at in DIR (content is still checked: a PDF named .jpg is reported, not analysed).
MEDIA_SUFFIXES = {
    ".mp4",
    ".mov",
    ".m4v",
    ".webm",
    ".mkv",
    ".avi",
    ".png",
    ".jpg",
    ".jpeg",
    ".webp",
    ".gif",
    ".m4a",
    ".mp3",
    ".wav",
}


def _captions(path: Path | None) -> dict[str, dict[str, str]]:
    """``{file name: {"caption": ..., "role": ...}}`` from a YAML mapping of file name to a caption string or
    to ``{caption: ..., role: ...}``."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"--captions {path}: cannot read it ({exc}); give a YAML file: `name.mp4: caption`") from exc
    if not isinstance(data, dict):
        raise InputError(f"--captions {path}: expected a mapping of file name to caption", field="captions")
    out: dict[str, dict[str, str]] = {}
    for name, value in data.items():
        if isinstance(value, str):
            out[str(name)] = {"caption": value}
        elif isinstance(value, dict):
            out[str(name)] = {k: str(v) for k, v in value.items() if k in ("caption", "role") and v}
        else:
            raise InputError(f"--captions {path}: {name}: give a caption string or {{caption, role}}")
    return out


def _score(v: float) -> str:
    colour = "green" if v >= 0.6 else "yellow" if v >= 0.3 else "red"
    return f"[{colour}]{v:.2f}[/]"


@assets_app.command("analyze")
@_friendly
def analyze(
    folder: Annotated[Path, typer.Argument(help="Folder of clips and photos (not searched recursively).")],
    captions: Annotated[
        Path | None, typer.Option("--captions", help="YAML: file name -> caption, or {caption, role}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the analyses as JSON instead of a table.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="Language of the derived descriptions: en or zh.")] = "en",
    cache_dir: Annotated[
        Path | None, typer.Option("--cache", help="Analysis cache folder (default: <ADLOOM_HOME>/cache/assets).")
    ] = None,
) -> None:
    """Cut clips into scenes and score them (motion, sharpness, exposure, shake, faces, hands, text); photos get
    saliency, a cut-out on plain backgrounds and colours. Bad files are reported; the others are still analysed."""
    from adloom.creative.assets.analyze import analyze_assets
    from adloom.creative.assets.model import AnalysisLimits, AssetAnalysis, AssetFailure

    if lang not in ("en", "zh"):
        raise InputError(f"--lang {lang}: use en or zh", field="lang")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; pass the folder holding the clips and photos", field="folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
    if not files:
        raise InputError(f"{folder}: no clips or photos ({', '.join(sorted(MEDIA_SUFFIXES))})", field="folder")
    notes = _captions(captions)
    items: list[tuple[Path, str | None, str | None]] = [
        (p, notes.get(p.name, {}).get("caption"), notes.get(p.name, {}).get("role")) for p in files
    ]
    settings = get_settings()
    cache = cache_dir or settings.home / "cache" / "assets"
    limits = AnalysisLimits(max_duration_s=settings.asset_max_hours * 3600)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=as_json) as bar:  # fmt: skip
        task = bar.add_task("analysing", total=1.0)
        results = analyze_assets(
            items, cache_dir=cache, limits=limits, lang=lang, keep_going=True,
            progress=lambda f: bar.update(task, completed=f),
            on_file=lambda i, p: bar.update(task, description=f"{i + 1}/{len(files)} {escape(p.name)}"),
        )  # fmt: skip
    if as_json:
        payload: list[dict[str, Any]] = [r.model_dump(mode="json") for r in results]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=1))
        return
    table = Table(title=f"{folder} — {len(files)} files", show_lines=False)
    for col in ("asset / scene", "start", "end", "motion", "sharp", "expo", "shake", "faces", "hands", "text",
                "description"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for r in results:
        if isinstance(r, AssetFailure):
            table.add_row(f"[red]{escape(Path(r.path).name)}[/]", "", "", "", "", "", "", "", "", "",
                          f"[red]{escape(r.message)}[/]")  # fmt: skip
            continue
        assert isinstance(r, AssetAnalysis)
        head = f"[bold]{escape(Path(r.path).name)}[/] {r.kind.value} {r.width}x{r.height}"
        if r.kind.value == "clip":
            head += f" {r.duration_s:.1f}s {r.fps:.0f}fps{' VFR' if r.vfr else ''}"
        if r.rotation:
            head += f" rot {r.rotation}"
        table.add_row(head, "", "", "", "", "", "", "", "", "", escape("; ".join(r.warnings)))
        for s in r.scenes:
            table.add_row(
                f"  {s.id}", f"{s.start_s:.2f}", f"{s.end_s:.2f}", _score(s.motion), _score(s.sharpness),
                _score(s.exposure), _score(s.shake), "?" if s.faces is None else str(s.faces),
                "?" if s.hands is None else str(s.hands), "yes" if s.text else "", escape(s.description),
            )  # fmt: skip
    console.print(table)
    failed = sum(isinstance(r, AssetFailure) for r in results)
    if failed:
        console.print(f"[yellow]{failed} of {len(files)} files could not be analysed (see the table).[/]")
