"""The script-writing pipeline: brief → retrieve exemplars → structure → N variants → store.

Pure functions over explicit dependencies (store, retriever, writer), so the
CLI, the batch API and the console share one path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from adloom.core.errors import GenerationError, InputError, NotFoundError
from adloom.core.paths import write_atomic
from adloom.core.registry import registry
from adloom.core.settings import Settings
from adloom.core.storage import Store, open_store
from adloom.core.types import Brief, LibraryItem, Script
from adloom.scripts_gen.library.retrieval import Hit, LibraryRetriever
from adloom.scripts_gen.review import Finding
from adloom.scripts_gen.structure import structure_exemplar
from adloom.scripts_gen.writer import ScriptWriter

MAX_BRIEF_BYTES = 1_000_000
SAMPLE_LIBRARY_SIZE = 400
SAMPLE_LIBRARY_SEED = 7

ProgressFn = Callable[[int, int], None]
StepFn = Callable[[int, int, str], None]


def describe_validation_error(exc: ValidationError, *, prefix: str) -> str:
    """One line per problem, each naming the field path: ``brief.product.name: Field required``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "string_too_long":
            msg += " (shorten the text)"
        lines.append(f"{prefix}.{loc}: {msg}" if loc else f"{prefix}: {msg}")
    return "\n".join(lines)


def parse_brief(data: object, *, source: str = "brief") -> Brief:
    if not isinstance(data, dict):
        raise InputError(
            f"{source}: expected a mapping of brief fields (product, industry, …), got {type(data).__name__}"
        )
    try:
        return Brief.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]["loc"]
        raise InputError(
            f"{source} is not a valid brief:\n" + describe_validation_error(exc, prefix="brief"),
            field=".".join(str(p) for p in first),
        ) from None


def load_brief(path: Path) -> Brief:
    """Read a brief from YAML or JSON, with errors that name the file and the field."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read brief file {path}: {exc.strerror or exc}") from exc
    if size > MAX_BRIEF_BYTES:
        raise InputError(f"brief file {path} is {size} bytes; a brief is at most {MAX_BRIEF_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"brief file {path} is not UTF-8 text; save it as UTF-8") from None
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise InputError(f"brief file {path} is not valid YAML/JSON: {exc}") from None
    return parse_brief(data, source=str(path))


def brief_query(brief: Brief) -> str:
    """The text a brief is searched by: what the product is and who it is for."""
    p = brief.product
    return " ".join(x for x in [p.name, p.brand, *p.selling_points, p.description[:300], brief.audience] if x)


def open_default_store(settings: Settings) -> Store:
    return open_store(settings.db_url)


def ensure_library(store: Store, *, progress: StepFn | None = None) -> int:
    """Seed the sample creative library into an empty store; returns the library size."""
    count = store.library_count()
    if count:
        return count
    from adloom.analytics.sample_library import generate_sample_library

    if progress:
        progress(0, 1, "seeding the sample creative library")
    items = generate_sample_library(SAMPLE_LIBRARY_SIZE, seed=SAMPLE_LIBRARY_SEED)
    store.upsert_library_items(items)
    if progress:
        progress(1, 1, "sample library seeded")
    return len(items)


def build_retriever(store: Store, settings: Settings, *, progress: ProgressFn | None = None) -> LibraryRetriever:
    """A retriever over the whole library; embeddings are cached under ``<home>/cache``."""
    embedder = registry("embedder").create(settings.embedder)
    retriever = LibraryRetriever(embedder, cache_dir=settings.home / "cache" / "embeddings")
    retriever.build(store.list_library_items(), progress=progress)
    return retriever


def find_exemplars(retriever: LibraryRetriever, brief: Brief, *, k: int = 6) -> list[Hit]:
    """Top library creatives for a brief: same industry first, any industry if that finds none."""
    hits = retriever.search(brief_query(brief), k=k, industry=brief.industry)
    return hits or retriever.search(brief_query(brief), k=k)


@dataclass
class ScriptRun:
    """One run's scripts (each passed the copy reviewer), and what the advertiser must be told:
    claims in the brief the scripts leave out, and variants dropped because they never passed review."""

    brief: Brief
    scripts: list[Script]
    exemplars: list[LibraryItem]
    hits: list[Hit] = field(default_factory=list)
    elapsed_s: float = 0.0
    brief_findings: list[Finding] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def describe_brief_finding(finding: Finding) -> str:
    """One line an advertiser can act on: where in the brief, what, the rule and what the scripts did
    (the reviewer's ``why`` says both), and the reviewer's suggested wording if it has one."""
    line = f"{finding.field}: {finding.span!r} ({finding.rule}) — {finding.why.rstrip('. ')}."
    return line + (f" Suggested wording for the brief: {finding.fix!r}." if finding.fix else "")


def generate_scripts(
    brief: Brief,
    n: int,
    *,
    store: Store,
    retriever: LibraryRetriever,
    writer: ScriptWriter,
    exemplar_id: str | None = None,
    seed: int = 0,
    progress: StepFn | None = None,
) -> ScriptRun:
    """Retrieve, let the chosen exemplar lead, write ``n`` variants and store brief and scripts.

    The chosen exemplar (``exemplar_id``, else the top hit) is structured and
    leads; a second same-language hit joins it as a further few-shot example.
    """
    if not 1 <= n <= 50:
        raise InputError(f"n={n}: ask for between 1 and 50 variants", field="n")
    started = time.perf_counter()
    hits = find_exemplars(retriever, brief)
    if exemplar_id is not None:
        chosen = store.get_library_item(exemplar_id)
    elif hits:
        chosen = hits[0].item
    else:
        raise NotFoundError("the creative library is empty; import one with `adloom library import FILE`")
    others = [h.item for h in hits if h.item.id != chosen.id and h.item.language == brief.language]
    exemplars = [chosen, *others[:1]]
    result = writer.write(brief, n, exemplars=[structure_exemplar(x) for x in exemplars], seed=seed, progress=progress)
    if not result.scripts:
        raise GenerationError(
            "no script variant passed the copy review, so none is emitted: "
            + "; ".join(result.dropped)
            + "".join(f"; brief {describe_brief_finding(f)}" for f in result.brief_findings)
            + ". Add selling points the scripts can state, or check the brief's claims."
        )
    store.save_brief(brief)
    store.save_scripts(result.scripts)
    return ScriptRun(
        brief,
        result.scripts,
        exemplars,
        hits,
        round(time.perf_counter() - started, 2),
        brief_findings=result.brief_findings,
        dropped=result.dropped,
    )


def write_run(run: ScriptRun, out: Path) -> Path:
    """Write the run as JSON: the brief, the exemplars used, every script (with per-line authorship and
    rewrites in ``provenance.lines``), the brief's own findings and any dropped variant."""
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "brief": run.brief.model_dump(mode="json"),
        "exemplars": [{"id": x.id, "title": x.title} for x in run.exemplars],
        "elapsed_s": run.elapsed_s,
        "brief_findings": [
            {**f.model_dump(mode="json"), "message": describe_brief_finding(f)} for f in run.brief_findings
        ],
        "dropped": run.dropped,
        "scripts": [s.model_dump(mode="json") for s in run.scripts],
    }
    return write_atomic(out, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
