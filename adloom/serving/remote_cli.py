"""``adloom api …``: every route of the batch API as a command, calling a running server at ``$ADLOOM_API_URL``
with the key in ``$ADLOOM_API_KEY`` through the shared :class:`adloom.core.client.AdloomClient`.

Output is a table for people and, with ``--json``, the API's own JSON for scripts. Lists take ``--limit``
and ``--after`` (one page) or ``--all`` (every page). An error the API answers prints its message and param
and exits 1 (2 for a bad command line); the key never appears in any output.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.text import Text

    from adloom.core.client import AdloomClient, BatchFile, CreativeFile
    from adloom.core.types import Page

F = TypeVar("F", bound=Callable[..., Any])
#: A table column: its header and how to get the cell from an object.
Column = tuple[str, Callable[[Any], object]]

api_app = typer.Typer(help="Call a running adloom API ($ADLOOM_API_URL, key in $ADLOOM_API_KEY).", no_args_is_help=True)


def _group(name: str, text: str) -> typer.Typer:
    sub = typer.Typer(help=text, no_args_is_help=True)
    api_app.add_typer(sub, name=name)
    return sub


briefs_app = _group("briefs", "Briefs: create, list, get.")
uploads_app = _group("uploads", "Uploads: media files briefs name as upload:<id>.")
scripts_app = _group("scripts", "Scripts: write a few variants for a brief now, list, get.")
batches_app = _group("batches", "Render batches: submit, follow, cancel, read results and errors.")
creatives_app = _group("creatives", "Creatives: list, get, review, download their files.")
exports_app = _group("exports", "Exports: a ZIP of approved creatives with a manifest for bulk upload.")
library_app = _group("library", "The tenant's creative library: search, browse, show one, import.")
feedback_app = _group("feedback", "Delivery feedback: import events.")
ranking_app = _group("ranking", "Ranking: score candidate creatives or scripts.")
reports_app = _group("reports", "Campaign reports: create, fetch.")
campaigns_app = _group("campaigns", "Campaigns: list them, read one's metrics (the report's numbers).")
webhooks_app = _group("webhooks", "Webhook endpoints: register, list, get, delete, deliveries.")

# -- shared options --------------------------------------------------------------------------------------------
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")]
LimitOpt = Annotated[int, typer.Option(min=1, max=100, help="Objects per page (1–100).")]
AfterOpt = Annotated[str | None, typer.Option(help="Start after this id (a page's last_id).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Follow has_more and print every page.")]
IdemOpt = Annotated[str | None, typer.Option(help="Retry-safe key: the same key replays (default: a new UUID).")]
InFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="File to send.")]


def _cli() -> Any:
    from adloom.serving import cli

    return cli


def _remote(fn: F) -> F:
    """A command that calls the API: errors become one message and an exit code (cli._friendly), including
    the ones outside adloom's own (a local file that cannot be written, a wait that timed out)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError

        from adloom.core.errors import AdloomError, InputError

        try:
            return fn(*args, **kwargs)
        except TimeoutError as exc:
            raise AdloomError(str(exc)) from None
        except OSError as exc:
            where = exc.filename if exc.filename is not None else "a local file"
            raise InputError(f"{where}: {exc.strerror or exc}; check the path and its permissions") from None
        except ValidationError as exc:
            raise AdloomError(
                f"the API's answer does not have the shape this client expects ({exc.error_count()} problems, "
                "first at " + ".".join(str(p) for p in exc.errors()[0]["loc"]) + "); use a client of the server's "
                "version"
            ) from None

    return cast(F, _cli()._friendly(wrapper))


def _client() -> AdloomClient:
    from adloom.core.client import AdloomClient

    return AdloomClient.from_env()


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _note(text: str) -> None:
    """A line for the person (stderr), so stdout stays the data."""
    _cli().err_console.print(text, highlight=False, soft_wrap=True, markup=False)


def _cell(value: object) -> Text:
    """A table cell, as plain text (never markup: the values are the tenant's data): enums by value (they are
    ``str``), floats short, lists and dicts as compact JSON."""
    from rich.text import Text

    if value is None:
        return Text("")
    if isinstance(value, float):
        return Text(f"{value:.4g}")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False, default=str))
    return Text(str(value))


def _when(dt: Any) -> str:
    return f"{dt:%Y-%m-%d %H:%M:%S}" if dt is not None else ""


def _table(title: str, rows: Sequence[Any], cols: Sequence[Column]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title))
    for header, _ in cols:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(get(row)) for _, get in cols))
    _cli().console.print(table)


def _show(obj: BaseModel | dict[str, Any], cols: Sequence[Column], json_out: bool, *, title: str) -> None:
    """One object: its JSON, or a field/value table."""
    if json_out:
        _echo_json(obj if isinstance(obj, dict) else obj.model_dump(mode="json"))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for header, get in cols:
        table.add_row(header, _cell(get(obj)))
    _cli().console.print(table)


def _list(
    fetch: Callable[..., Page[Any]],
    cols: Sequence[Column],
    *,
    title: str,
    limit: int,
    after: str | None,
    every: bool,
    json_out: bool,
    **filters: Any,
) -> None:
    """One page (or, with ``every``, all pages) of a list as a table or the API's list JSON."""
    from adloom.core.client import iter_pages
    from adloom.core.types import Page

    if every:
        data = list(iter_pages(fetch, limit=limit, after=after, **filters))
        page: Page[Any] = Page[Any](
            data=data, first_id=data[0].id if data else None, last_id=data[-1].id if data else None
        )
    else:
        page = fetch(limit=limit, after=after, **filters)
    if json_out:
        _echo_json(page.model_dump(mode="json"))
        return
    _table(title, page.data, cols)
    if page.has_more:
        _note(f"more: --after {page.last_id} (or --all)")


def _out_path(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


# -- column sets -----------------------------------------------------------------------------------------------
BRIEF_COLS: list[Column] = [
    ("id", lambda b: b.id),
    ("campaign", lambda b: b.campaign_id),
    ("product", lambda b: b.product.name),
    ("industry", lambda b: b.industry),
    ("platform", lambda b: b.platform),
    ("language", lambda b: b.language),
    ("aspect", lambda b: b.aspect),
]
UPLOAD_COLS: list[Column] = [
    ("id", lambda u: u.id),
    ("kind", lambda u: u.kind),
    ("format", lambda u: u.format),
    ("filename", lambda u: u.filename),
    ("bytes", lambda u: u.size),
    ("sha256", lambda u: u.sha256),
    ("created", lambda u: _when(u.created_at)),
]
SCRIPT_COLS: list[Column] = [
    ("id", lambda s: s.id),
    ("brief", lambda s: s.brief_id),
    ("title", lambda s: s.title),
    ("hook type", lambda s: s.hook_type),
    ("angle", lambda s: s.angle),
    ("seconds", lambda s: s.duration_s),
    ("hook", lambda s: s.hook),
]
BATCH_COLS: list[Column] = [
    ("id", lambda b: b.id),
    ("status", lambda b: b.status),
    ("brief", lambda b: b.brief_id),
    ("total", lambda b: b.request_counts.total),
    ("completed", lambda b: b.request_counts.completed),
    ("failed", lambda b: b.request_counts.failed),
    ("created", lambda b: _when(b.created_at)),
]
ITEM_COLS: list[Column] = [
    ("#", lambda i: i.seq),
    ("id", lambda i: i.id),
    ("custom_id", lambda i: i.custom_id),
    ("status", lambda i: i.status),
    ("attempts", lambda i: i.attempts),
    ("creative", lambda i: i.creative_id),
    ("error", lambda i: (i.error or {}).get("message")),
]
CREATIVE_COLS: list[Column] = [
    ("id", lambda c: c.id),
    ("status", lambda c: c.status),
    ("brief", lambda c: c.brief_id),
    ("campaign", lambda c: c.campaign_id),
    ("title", lambda c: c.script.title),
    ("video", lambda c: "yes" if c.video_path else ""),
    ("created", lambda c: _when(c.created_at)),
]
HIT_COLS: list[Column] = [
    ("id", lambda h: h["id"]),
    ("title", lambda h: h["title"]),
    ("industry", lambda h: h["industry"]),
    ("platform", lambda h: h["platform"]),
    ("language", lambda h: h["language"]),
    ("CTR", lambda h: h["ctr"]),
    ("CVR", lambda h: h["cvr"]),
    ("similarity", lambda h: h["similarity"]),
    ("score", lambda h: h["score"]),
]
RANK_COLS: list[Column] = [
    ("rank", lambda r: r["rank"]),
    ("id", lambda r: r["id"]),
    ("action", lambda r: r["action"]),
    ("metric", lambda r: r["metric"]),
    ("score", lambda r: r["score"]),
    ("baseline", lambda r: r["baseline"]),
    ("reason", lambda r: r["reason"]),
]
ENDPOINT_COLS: list[Column] = [
    ("id", lambda e: e.id),
    ("url", lambda e: e.url),
    ("events", lambda e: ", ".join(str(x) for x in e.events)),
    ("created", lambda e: _when(e.created_at)),
]
DELIVERY_COLS: list[Column] = [
    ("id", lambda d: d.id),
    ("event", lambda d: d.event_type),
    ("status", lambda d: d.status),
    ("attempts", lambda d: d.attempts),
    ("next attempt", lambda d: _when(d.next_attempt_at)),
    ("last error", lambda d: d.last_error),
    ("created", lambda d: _when(d.created_at)),
]
REPORT_COLS: list[Column] = [
    ("id", lambda r: r["id"]),
    ("campaign", lambda r: r["campaign_id"]),
    ("format", lambda r: r["format"]),
    ("url", lambda r: r["url"]),
]


# -- health ----------------------------------------------------------------------------------------------------
@api_app.command("health")
@_remote
def api_health() -> None:
    """The API's health: status, version, database (JSON)."""
    with _client() as c:
        _echo_json(c.health())


@api_app.command("metrics")
@_remote
def api_metrics() -> None:
    """The server's Prometheus metrics (text)."""
    with _client() as c:
        sys.stdout.write(c.metrics())


@api_app.command("openapi")
@_remote
def api_openapi() -> None:
    """Print this version's OpenAPI document (what docs/openapi.json holds; no server needed)."""
    from adloom.serving.api.app import openapi_json

    sys.stdout.write(openapi_json())


# -- briefs ----------------------------------------------------------------------------------------------------
@briefs_app.command("create")
@_remote
def briefs_create(
    brief: Annotated[Path, typer.Argument(help="Brief file (YAML or JSON); asset paths must be upload:<id>.")],
    idempotency_key: IdemOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a brief on the API; prints it with its new id."""
    from adloom.serving.scripts_service import load_brief

    data = load_brief(brief).model_dump(mode="json", exclude={"id"})
    with _client() as c:
        _show(c.create_brief(data, idempotency_key=idempotency_key), BRIEF_COLS, json_out, title="brief")


@briefs_app.command("list")
@_remote
def briefs_list(limit: LimitOpt = 20, after: AfterOpt = None, every: AllOpt = False, json_out: JsonOpt = False) -> None:
    """This tenant's briefs, newest first."""
    with _client() as c:
        _list(c.list_briefs, BRIEF_COLS, title="briefs", limit=limit, after=after, every=every, json_out=json_out)


@briefs_app.command("get")
@_remote
def briefs_get(brief_id: Annotated[str, typer.Argument(help="Brief id (brf_…).")], json_out: JsonOpt = False) -> None:
    """One brief."""
    with _client() as c:
        brief = c.get_brief(brief_id)
    cols = [*BRIEF_COLS, ("audience", lambda b: b.audience), ("selling points", lambda b: b.product.selling_points)]
    _show(brief, cols, json_out, title=f"brief {brief_id}")


# -- uploads ---------------------------------------------------------------------------------------------------
@uploads_app.command("create")
@_remote
def uploads_create(file: InFile, idempotency_key: IdemOpt = None, json_out: JsonOpt = False) -> None:
    """Upload one image, video or audio file; name it in a brief's asset as upload:<id>."""
    with _client() as c:
        _show(c.upload(file, idempotency_key=idempotency_key), UPLOAD_COLS, json_out, title="upload")


@uploads_app.command("get")
@_remote
def uploads_get(
    upload_id: Annotated[str, typer.Argument(help="Upload id (upl_…).")], json_out: JsonOpt = False
) -> None:
    """One upload's kind, format, size and checksum."""
    with _client() as c:
        _show(c.get_upload(upload_id), UPLOAD_COLS, json_out, title=f"upload {upload_id}")


# -- scripts ---------------------------------------------------------------------------------------------------
@scripts_app.command("create")
@_remote
def scripts_create(
    brief_id: Annotated[str, typer.Option("--brief-id", help="The stored brief to write for.")],
    n: Annotated[int, typer.Option("--n", "-n", min=1, max=5, help="Variants to write now (1–5; more: a batch).")] = 3,
    writer: Annotated[str | None, typer.Option(help="llm or template (default: the server's).")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed of the variants.")] = None,
    idempotency_key: IdemOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write script variants for a brief now; prints them, then what the brief's claims left out and why."""
    with _client() as c:
        made = c.write_scripts(brief_id, n, writer=writer, seed=seed, idempotency_key=idempotency_key)
    if json_out:
        _echo_json(made.model_dump(mode="json"))
        return
    _table("scripts", made.data, SCRIPT_COLS)
    for line in made.brief_findings:
        _note(f"brief: {line}")
    for line in made.dropped:
        _note(f"dropped: {line}")


@scripts_app.command("list")
@_remote
def scripts_list(
    brief_id: Annotated[str | None, typer.Option("--brief-id", help="Only this brief's scripts.")] = None,
    limit: LimitOpt = 20,
    after: AfterOpt = None,
    every: AllOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """This tenant's scripts, newest first."""
    with _client() as c:
        _list(
            c.list_scripts,
            SCRIPT_COLS,
            title="scripts",
            limit=limit,
            after=after,
            every=every,
            json_out=json_out,
            brief_id=brief_id,
        )


@scripts_app.command("get")
@_remote
def scripts_get(
    script_id: Annotated[str, typer.Argument(help="Script id (scr_…).")], json_out: JsonOpt = False
) -> None:
    """One script: hook, shots, CTA."""
    with _client() as c:
        script = c.get_script(script_id)
    cols = [
        *SCRIPT_COLS,
        ("cta", lambda s: s.cta),
        ("shots", lambda s: " | ".join(f"{x.index}: {x.narration}" for x in s.shots)),
    ]
    _show(script, cols, json_out, title=f"script {script_id}")


# -- batches ---------------------------------------------------------------------------------------------------
@batches_app.command("create")
@_remote
def batches_create(
    brief_id: Annotated[str | None, typer.Option("--brief-id", help="N creatives for this brief.")] = None,
    n: Annotated[int | None, typer.Option("--n", "-n", min=1, help="How many creatives.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "--jsonl", exists=True, dir_okay=False, help="Or a JSONL file of RenderRequest lines."),
    ] = None,
    writer: Annotated[str | None, typer.Option(help="llm or template (default: the server's).")] = None,
    shots: Annotated[
        str | None,
        typer.Option(
            help="With --brief-id: footage_only (default), generate_missing or generate_all (the server's video "
            "model makes the shots). In a --file, each line's own 'shots'."
        ),
    ] = None,
    idempotency_key: IdemOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Submit a render batch: --brief-id with --n, or --file requests.jsonl; prints the batch with its id."""
    from adloom.core.errors import InputError

    with _client() as c:
        if file is not None:
            if brief_id or n or shots:
                raise InputError(
                    "give --file, or --brief-id with --n (and --shots), not both; a file's lines carry their own shots",
                    field="file",
                )
            batch = c.create_batch_jsonl(file, writer=writer, idempotency_key=idempotency_key)
        else:
            if not brief_id or not n:
                raise InputError("give --brief-id and --n (or --file requests.jsonl)", field="brief_id")
            batch = c.create_batch(brief_id, n, writer=writer, shots=shots, idempotency_key=idempotency_key)
    _show(batch, BATCH_COLS, json_out, title="batch")


@batches_app.command("list")
@_remote
def batches_list(
    limit: LimitOpt = 20, after: AfterOpt = None, every: AllOpt = False, json_out: JsonOpt = False
) -> None:
    """This tenant's batches, newest first."""
    with _client() as c:
        _list(c.list_batches, BATCH_COLS, title="batches", limit=limit, after=after, every=every, json_out=json_out)


@batches_app.command("get")
@_remote
def batches_get(batch_id: Annotated[str, typer.Argument(help="Batch id (bat_…).")], json_out: JsonOpt = False) -> None:
    """A batch's state and counts."""
    with _client() as c:
        batch = c.get_batch(batch_id)
    cols = [*BATCH_COLS, ("timestamps", lambda b: {k: _when(v) for k, v in b.timestamps.items()})]
    _show(batch, [*cols, ("errors", lambda b: b.errors)], json_out, title=f"batch {batch_id}")


@batches_app.command("wait")
@_remote
def batches_wait(
    batch_id: Annotated[str, typer.Argument(help="Batch id.")],
    timeout: Annotated[float, typer.Option(min=0, help="Give up after this many seconds.")] = 3600,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between polls.")] = 2,
    json_out: JsonOpt = False,
) -> None:
    """Wait until the batch is finished, with a progress bar of (completed + failed) / total; prints the
    batch (exit 1 when it failed, expired or was cancelled)."""
    with _client() as c, _cli()._progress() as progress:
        task = progress.add_task(f"batch {batch_id}", total=None)

        def shown(batch: Any) -> None:
            counts = batch.request_counts
            progress.update(
                task,
                completed=counts.completed + counts.failed,
                total=counts.total or None,
                description=f"batch {batch_id} {batch.status.value}",
            )

        batch = c.wait_batch(batch_id, timeout_s=timeout, poll_s=poll, on_poll=shown)
    _show(batch, BATCH_COLS, json_out, title=f"batch {batch_id}")
    if batch.status.value not in ("completed", "partially_succeeded"):
        raise typer.Exit(1)


@batches_app.command("cancel")
@_remote
def batches_cancel(batch_id: Annotated[str, typer.Argument(help="Batch id.")], json_out: JsonOpt = False) -> None:
    """Cancel a batch: items not started are cancelled now, running ones finish."""
    with _client() as c:
        _show(c.cancel_batch(batch_id), BATCH_COLS, json_out, title=f"batch {batch_id}")


@batches_app.command("items")
@_remote
def batches_items(
    batch_id: Annotated[str, typer.Argument(help="Batch id.")],
    status: Annotated[
        str | None, typer.Option(help="Only items in this state (pending, queued, running, succeeded, failed, …).")
    ] = None,
    limit: LimitOpt = 20,
    after: AfterOpt = None,
    every: AllOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Per-item progress in input order: state, attempts, creative, error."""
    with _client() as c:
        fetch = functools.partial(c.list_items, batch_id)
        _list(
            fetch,
            ITEM_COLS,
            title=f"items of {batch_id}",
            limit=limit,
            after=after,
            every=every,
            json_out=json_out,
            status=status,
        )


def _batch_file(batch_id: str, which: BatchFile, out: Path | None) -> None:
    with _client() as c:
        if out is None:
            sys.stdout.flush()
            c.copy_batch_file(batch_id, which, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        with _out_path(out).open("wb") as f:
            lines = c.copy_batch_file(batch_id, which, f)
    _note(f"wrote {lines} {which} lines to {out}")


OutOpt = Annotated[Path | None, typer.Option("--out", "-o", dir_okay=False, help="Write here (default: stdout).")]


@batches_app.command("results")
@_remote
def batches_results(batch_id: Annotated[str, typer.Argument(help="Batch id.")], out: OutOpt = None) -> None:
    """The results file (JSONL): one line per succeeded item {id, custom_id, creative_id, response}."""
    _batch_file(batch_id, "results", out)


@batches_app.command("errors")
@_remote
def batches_errors(batch_id: Annotated[str, typer.Argument(help="Batch id.")], out: OutOpt = None) -> None:
    """The errors file (JSONL): one line per failed or cancelled item {id, custom_id, error: {code, message}}."""
    _batch_file(batch_id, "errors", out)


# -- creatives -------------------------------------------------------------------------------------------------
@creatives_app.command("list")
@_remote
def creatives_list(
    brief_id: Annotated[str | None, typer.Option("--brief-id", help="Only this brief's creatives.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status (draft, rendered, approved, …).")] = None,
    limit: LimitOpt = 20,
    after: AfterOpt = None,
    every: AllOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """This tenant's creatives, newest first."""
    with _client() as c:
        _list(
            c.list_creatives,
            CREATIVE_COLS,
            title="creatives",
            limit=limit,
            after=after,
            every=every,
            json_out=json_out,
            brief_id=brief_id,
            status=status,
        )


@creatives_app.command("get")
@_remote
def creatives_get(
    creative_id: Annotated[str, typer.Argument(help="Creative id (crv_…).")], json_out: JsonOpt = False
) -> None:
    """One creative: status, script, scores."""
    with _client() as c:
        creative = c.get_creative(creative_id)
    cols = [*CREATIVE_COLS, ("scores", lambda x: x.scores), ("reasons", lambda x: "; ".join(x.reasons))]
    _show(creative, cols, json_out, title=f"creative {creative_id}")


@creatives_app.command("download")
@_remote
def creatives_download(
    creative_id: Annotated[str, typer.Argument(help="Creative id (crv_…).")],
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="File to write.")],
    what: Annotated[str, typer.Option(help="video, cover, subtitles or manifest.")] = "video",
) -> None:
    """Download one of a creative's files; a partly downloaded --out file is resumed (HTTP Range)."""
    from adloom.core.errors import InputError

    kinds = ("video", "cover", "subtitles", "manifest")
    if what not in kinds:
        raise InputError(f"--what {what!r}: use one of {', '.join(kinds)}", field="what")
    had = out.stat().st_size if out.is_file() else 0
    with _client() as c:
        c.download(creative_id, cast("CreativeFile", what), _out_path(out))
    size = out.stat().st_size
    if had == size:
        _note(f"{out} already holds all of {creative_id}'s {what} ({size} bytes); nothing fetched")
        return
    resumed = f", resumed after the {had} bytes already there" if 0 < had < size else ""
    _note(f"saved {creative_id}'s {what} to {out} ({size} bytes{resumed})")


@creatives_app.command("review")
@_remote
def creatives_review(
    creative_id: Annotated[str, typer.Argument(help="Creative id (crv_…).")],
    decision: Annotated[str, typer.Option(help="approved or rejected.")],
    reason: Annotated[str, typer.Option(help="Why (useful on a rejection).")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Approve or reject a rendered creative before launch; only approved ones are exported by default."""
    from adloom.core.errors import InputError

    if decision not in ("approved", "rejected"):
        raise InputError(f"--decision {decision!r}: use approved or rejected", field="decision")
    with _client() as c:
        creative = c.review_creative(creative_id, cast(Literal["approved", "rejected"], decision), reason)
    cols = [*CREATIVE_COLS, ("review", lambda x: x.review.decision if x.review else ""), ("reason", lambda x: reason)]
    _show(creative, cols, json_out, title=f"creative {creative_id}")


@exports_app.command("create")
@_remote
def exports_create(
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="Where to save the ZIP.")],
    creative_id: Annotated[
        list[str] | None, typer.Option("--creative-id", help="A creative to export (repeat).")
    ] = None,
    batch_id: Annotated[str | None, typer.Option("--batch-id", help="Export this batch's creatives.")] = None,
    any_review: Annotated[bool, typer.Option("--any", help="Also creatives not approved in review.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Build a ZIP of approved creatives (videos, covers, subtitles, manifest.csv) and save it to --out."""
    with _client() as c:
        made = c.create_export(creative_id or [], batch_id=batch_id, review="any" if any_review else "approved")
        c.download_export(made["id"], _out_path(out))
    if json_out:
        _echo_json(made)
    else:
        cols: list[Column] = [
            ("creative", lambda r: r["creative_id"]),
            ("video", lambda r: r["video_file"]),
            ("title", lambda r: r["title"]),
            ("decision", lambda r: r["decision"]),
        ]
        _table(f"export {made['id']}", made["manifest"], cols)
        for skip in made["skipped"]:
            _note(f"left out {skip['creative_id']}: {skip['reason']}")
    _note(f"saved {made['count']} creatives to {out} ({out.stat().st_size} bytes)")


# -- library, feedback, ranking, reports -----------------------------------------------------------------------
@library_app.command("search")
@_remote
def library_search(
    q: Annotated[str, typer.Argument(help="What the product is, e.g. '保湿精华 干皮'.")],
    industry: Annotated[str | None, typer.Option(help="Only this industry.")] = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    language: Annotated[str | None, typer.Option(help="Only this language.")] = None,
    aspect: Annotated[str | None, typer.Option(help="Only this aspect (9:16, 16:9, 1:1).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="Hits (1–50).")] = 8,
    json_out: JsonOpt = False,
) -> None:
    """Past creatives like Q in the tenant's library, by similarity × observed performance."""
    with _client() as c:
        hits = c.search_library(q, limit=limit, industry=industry, platform=platform, language=language, aspect=aspect)
    if json_out:
        _echo_json({"object": "list", "data": hits})
    else:
        _table(f"library: {q}", hits, HIT_COLS)


ENTRY_COLS: list[Column] = [
    ("id", lambda h: h["id"]),
    ("title", lambda h: h["title"]),
    ("industry", lambda h: h["industry"]),
    ("platform", lambda h: h["platform"]),
    ("aspect", lambda h: h["aspect"]),
    ("impressions", lambda h: h["impressions"]),
    ("CTR", lambda h: h["ctr"]),
    ("CVR", lambda h: h["cvr"]),
]


@library_app.command("list")
@_remote
def library_list(
    industry: Annotated[str | None, typer.Option(help="Only this industry.")] = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    language: Annotated[str | None, typer.Option(help="Only this language.")] = None,
    aspect: Annotated[str | None, typer.Option(help="Only this aspect (9:16, 16:9, 1:1).")] = None,
    min_impressions: Annotated[int, typer.Option(min=0, help="Only items delivered at least this often.")] = 0,
    sort: Annotated[str, typer.Option(help="impressions, ctr, cvr, ctcvr or recent.")] = "impressions",
    limit: LimitOpt = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many (the next page).")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Browse the library without a query, best first."""
    with _client() as c:
        page = c.list_library(
            limit=limit, offset=offset, min_impressions=min_impressions, sort=sort,
            industry=industry, platform=platform, language=language, aspect=aspect,
        )  # fmt: skip
    if json_out:
        _echo_json(page)
        return
    _table(f"library ({page['total']} match)", page["data"], ENTRY_COLS)
    if page["has_more"]:
        _note(f"more: --offset {offset + limit}")


@library_app.command("show")
@_remote
def library_show(item_id: Annotated[str, typer.Argument(help="Library item id.")], json_out: JsonOpt = False) -> None:
    """One library item: performance and its script shot by shot."""
    with _client() as c:
        item = c.get_library_item(item_id)
    if json_out:
        _echo_json(item)
        return
    _show(item, ENTRY_COLS, False, title="library item")
    shots = item["script"]["shots"]
    _table(
        "shots",
        shots,
        [("#", lambda s: s["index"]), ("role", lambda s: s["role"]), ("narration", lambda s: s.get("narration", ""))],
    )


@library_app.command("import")
@_remote
def library_import(file: InFile, idempotency_key: IdemOpt = None, json_out: JsonOpt = False) -> None:
    """Import past creatives (CSV or JSONL) into the tenant's library; bad rows are listed and skipped."""
    with _client() as c:
        report = c.import_library(file, idempotency_key=idempotency_key)
    if json_out:
        _echo_json(report)
        return
    typer.echo(
        f"imported {report['imported']}, skipped {report['skipped']}; the library holds {report['library_size']}"
    )
    if report.get("errors"):
        _table("rows skipped", report["errors"], [("row", lambda e: e["row"]), ("problem", lambda e: e["message"])])


@feedback_app.command("import")
@_remote
def feedback_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Events: .csv, .jsonl or a .json list.")
    ],
    idempotency_key: IdemOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import delivery events for this tenant's creatives (duplicates count once; impossible funnels held)."""
    with _client() as c:
        report = c.import_feedback(file, idempotency_key=idempotency_key)
    if json_out:
        _echo_json(report)
        return
    typer.echo(
        f"{report['rows']} rows: {report['counted']} counted, {report['duplicates']} duplicates, "
        f"{report['held']} held, {report['rejected']} rejected"
    )
    if report.get("issues"):
        cols: list[Column] = [
            ("row", lambda i: i["row"]),
            ("event", lambda i: i.get("event_id")),
            ("status", lambda i: i["status"]),
            ("problem", lambda i: i["message"]),
        ]
        _table("rows with issues", report["issues"], cols)


@ranking_app.command("score")
@_remote
def ranking_score(
    creative_id: Annotated[
        list[str] | None, typer.Option("--creative-id", help="A stored creative to score (repeat the option).")
    ] = None,
    script_id: Annotated[
        list[str] | None, typer.Option("--script-id", help="Or a stored script to score (repeat the option).")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed of the explore/prune draw.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Score candidates (launch / explore / prune, with reasons), best first."""
    from adloom.core.errors import InputError

    if bool(creative_id) == bool(script_id):
        raise InputError("give --creative-id (one or more) or --script-id (one or more), not both", field="creative_id")
    with _client() as c:
        ranked = c.score(creative_ids=creative_id or None, script_ids=script_id or None, seed=seed)
    if json_out:
        _echo_json(ranked)
        return
    _table(f"ranking ({ranked['method']})", ranked["data"], RANK_COLS)
    _note(ranked["note"])


@reports_app.command("create")
@_remote
def reports_create(
    campaign_id: Annotated[str, typer.Option("--campaign-id", help="The campaign to report on.")],
    fmt: Annotated[str, typer.Option("--format", help="html, json or pdf.")] = "html",
    out: Annotated[Path | None, typer.Option("--out", "-o", dir_okay=False, help="Also save the file here.")] = None,
    idempotency_key: IdemOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Build a campaign's report now; with --out, save the file too."""
    from adloom.core.errors import InputError

    if fmt not in ("html", "json", "pdf"):
        raise InputError(f"--format {fmt!r}: use html, json or pdf", field="format")
    with _client() as c:
        report = c.create_report(campaign_id, fmt, idempotency_key=idempotency_key)
        if out is not None:
            c.download_report(report["id"], _out_path(out))
    _show(report, REPORT_COLS, json_out, title="report")
    if out is not None:
        _note(f"saved report {report['id']} to {out} ({out.stat().st_size} bytes)")


@reports_app.command("get")
@_remote
def reports_get(
    report_id: Annotated[str, typer.Argument(help="Report id (rep_…).")],
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="File to write.")],
) -> None:
    """Fetch a report file made by `reports create`."""
    with _client() as c:
        c.download_report(report_id, _out_path(out))
    _note(f"saved report {report_id} to {out} ({out.stat().st_size} bytes)")


# -- campaigns -------------------------------------------------------------------------------------------------
@campaigns_app.command("list")
@_remote
def campaigns_list(json_out: JsonOpt = False) -> None:
    """The tenant's campaigns, with how many creatives have feedback."""
    with _client() as c:
        data = c.list_campaigns()
    if json_out:
        _echo_json({"object": "list", "data": data})
        return
    cols: list[Column] = [
        ("id", lambda x: x["id"]),
        ("creatives", lambda x: x["creatives"]),
        ("with feedback", lambda x: x["creatives_with_feedback"]),
        ("impressions", lambda x: x["impressions"]),
        ("first day", lambda x: x["first_day"] or ""),
        ("last day", lambda x: x["last_day"] or ""),
    ]
    _table("campaigns", data, cols)


@campaigns_app.command("metrics")
@_remote
def campaigns_metrics(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    rank_by: Annotated[str, typer.Option(help="play_3s_rate, ctr, cvr or ctcvr.")] = "ctcvr",
    json_out: JsonOpt = False,
) -> None:
    """A campaign's rates with 95 % intervals and lifts (the numbers of its report; --json for all of it)."""
    with _client() as c:
        data = c.campaign_metrics(campaign_id, rank_by=rank_by)
    if json_out:
        _echo_json(data)
        return
    rates = data["totals"]["rates"]
    cols: list[Column] = [
        ("metric", lambda m: m),
        ("value", lambda m: rates[m]["value"]),
        ("95% low", lambda m: rates[m]["lo"]),
        ("95% high", lambda m: rates[m]["hi"]),
        ("events / base", lambda m: f"{rates[m]['numerator']}/{rates[m]['denominator']}"),
    ]
    _table(f"campaign {campaign_id}: {data['totals']['impressions']} impressions", list(rates), cols)
    lift_cols: list[Column] = [
        ("metric", lambda x: x["metric"]),
        ("baseline", lambda x: x["baseline"]),
        ("lift", lambda x: x["lift"]),
        ("95% CI", lambda x: f"[{x['lo']:.3f}, {x['hi']:.3f}]"),
    ]
    if data["lifts"]:
        _table("lifts", data["lifts"], lift_cols)


# -- webhooks --------------------------------------------------------------------------------------------------
@webhooks_app.command("create")
@_remote
def webhooks_create(
    url: Annotated[str, typer.Argument(help="http(s) URL that receives the events.")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="An event type, e.g. batch.completed (repeat; default: all, '*')."),
    ] = None,
    idempotency_key: IdemOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Register a webhook endpoint. Its signing secret is printed alone on the last line, this once."""
    with _client() as c:
        endpoint, secret = c.create_webhook(url, event or None, idempotency_key=idempotency_key)
    if json_out:
        _echo_json(endpoint.model_dump(mode="json") | {"secret": secret})
        return
    _show(endpoint, ENDPOINT_COLS, False, title="webhook endpoint")
    typer.echo("signing secret (shown once; verify each delivery's webhook-signature with it):")
    typer.echo(secret)


@webhooks_app.command("list")
@_remote
def webhooks_list(
    limit: LimitOpt = 20, after: AfterOpt = None, every: AllOpt = False, json_out: JsonOpt = False
) -> None:
    """This tenant's webhook endpoints (no secrets)."""
    with _client() as c:
        _list(
            c.list_webhooks,
            ENDPOINT_COLS,
            title="webhook endpoints",
            limit=limit,
            after=after,
            every=every,
            json_out=json_out,
        )


@webhooks_app.command("get")
@_remote
def webhooks_get(
    endpoint_id: Annotated[str, typer.Argument(help="Endpoint id (whe_…).")], json_out: JsonOpt = False
) -> None:
    """One webhook endpoint."""
    with _client() as c:
        _show(c.get_webhook(endpoint_id), ENDPOINT_COLS, json_out, title=f"webhook endpoint {endpoint_id}")


@webhooks_app.command("delete")
@_remote
def webhooks_delete(
    endpoint_id: Annotated[str, typer.Argument(help="Endpoint id (whe_…).")], json_out: JsonOpt = False
) -> None:
    """Stop sending to an endpoint; its pending deliveries fail, its history stays readable."""
    with _client() as c:
        endpoint = c.delete_webhook(endpoint_id)
    if json_out:
        _echo_json(endpoint.model_dump(mode="json"))
    else:
        typer.echo(f"deleted webhook endpoint {endpoint.id} ({endpoint.url})")


@webhooks_app.command("deliveries")
@_remote
def webhooks_deliveries(
    endpoint_id: Annotated[str, typer.Argument(help="Endpoint id (whe_…).")],
    status: Annotated[str | None, typer.Option(help="Only pending, delivered or failed.")] = None,
    limit: LimitOpt = 20,
    after: AfterOpt = None,
    every: AllOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Deliveries to one endpoint, newest first: status, attempts, last error."""
    with _client() as c:
        fetch = functools.partial(c.list_deliveries, endpoint_id)
        _list(
            fetch,
            DELIVERY_COLS,
            title=f"deliveries to {endpoint_id}",
            limit=limit,
            after=after,
            every=every,
            json_out=json_out,
            status=status,
        )
