"""`adloom live …`: digital-human live rooms (start, stop, status, say, comment, script, simulate, run).

A room is a YAML file: the LiveRoom fields (name, language, avatar, voice, background,
products, knowledge_base, outputs) plus preset fields (industry, schedule, pacing, engine); see
``adloom/serving/samples/room_zh.yaml``. ``start`` runs it in the background and returns;
``run`` runs it in the foreground. Everything else talks to the running room over its
loopback control API. The service module (FastAPI, uvicorn, the room's parts) is imported
inside each command so ``adloom --help`` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer

F = TypeVar("F", bound=Callable[..., Any])

live_app = typer.Typer(help="Digital-human live-commerce rooms.", no_args_is_help=True)


def _cli() -> Any:
    from adloom.serving import cli

    return cli


def _friendly(fn: F) -> F:
    """The CLI's error handler (adloom errors → a red message and an exit code), typed for this module."""
    return cast(F, _cli()._friendly(fn))


def _service() -> Any:
    """The live-rooms package (``serving/rooms``); its web stack (FastAPI, uvicorn) comes with the ``live`` extra."""
    try:
        from adloom.serving import rooms
    except ImportError as exc:
        from adloom.core.errors import BackendUnavailableError

        raise BackendUnavailableError(f"live rooms need the live extra ({exc}); pip install 'adloom[live]'") from exc
    return rooms


def _print_json(data: Any) -> None:
    _cli().console.print_json(json.dumps(data, ensure_ascii=False, default=str))


@live_app.command("start")
def start(
    room: Annotated[str, typer.Argument(help="Room YAML file, or the id of a room started before.")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for the room to come up.")] = 90.0,
) -> None:
    """Start a room in the background (one process per room); resumes its schedule if it ran before."""

    @_friendly
    def go() -> None:
        rooms = _service()

        with _cli().err_console.status(f"starting {room} …"):
            info = rooms.start_room(room, wait_s=wait)
        _cli().console.print(
            f"room [bold]{info.room_id}[/] is live: pid {info.pid}, control API {info.url} (state in {info.folder})",
            highlight=False,
        )

    go()


@live_app.command("run")
def run(
    room: Annotated[Path, typer.Argument(help="Room YAML file.", exists=True, dir_okay=False)],
    state_dir: Annotated[Path | None, typer.Option(help="State folder (default ADLOOM_HOME/live/<room id>).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Control API port on 127.0.0.1 (default: the room's, else any).")
    ] = None,
) -> None:
    """Run a room in the foreground until Ctrl-C (what `start` runs in the background)."""

    @_friendly
    def go() -> None:
        rooms = _service()

        rooms.run_room(room, state_dir=state_dir, port=port)  # logs to the console and the room's room.log

    go()


@live_app.command("stop")
def stop(room: Annotated[str, typer.Argument(help="Room id (or its YAML file).")]) -> None:
    """Stop a running room; its position in the schedule is saved for the next start."""

    @_friendly
    def go() -> None:
        rooms = _service()

        with _cli().err_console.status(f"stopping {room} …"):
            out = rooms.stop_room(room)
        forced = " (had to be killed)" if out["forced"] else ""
        _cli().console.print(f"room {out['room_id']} stopped{forced}", highlight=False)

    go()


@live_app.command("status")
def status(
    room: Annotated[str | None, typer.Argument(help="Room id or YAML file; default: every known room.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full status as JSON.")] = False,
) -> None:
    """What a room is doing: product on air, position, comments and answers counted."""

    @_friendly
    def go() -> None:
        from rich.table import Table

        rooms = _service()

        rows = rooms.room_status(room)
        if as_json or room:
            _print_json(rows if room is None else rows[0])
            return
        table = Table(title="live rooms")
        for col in ("room", "running", "engine", "on air", "lines", "comments", "answers", "canned"):
            table.add_column(col)
        for r in rows:
            if r.get("running") and "director" in r:
                d, i, a = r["director"], r["intake"], r["interaction"]
                table.add_row(
                    r["room_id"],
                    "yes",
                    r.get("engine", ""),
                    d["product"],
                    str(d["segments_completed"]),
                    str(i["received"]),
                    str(a["answers"] + a["purchase_replies"]),
                    str(a["canned"]),
                )
            else:
                saved = r.get("saved_state", {})
                table.add_row(
                    r["room_id"],
                    "no" if not r.get("running") else "?",
                    "",
                    "",
                    str(saved.get("segments_completed", "")),
                    "",
                    "",
                    "",
                )
        _cli().console.print(table)

    go()


@live_app.command("say")
def say(
    room: Annotated[str, typer.Argument(help="Room id.")],
    text: Annotated[str, typer.Argument(help="The line the presenter says next (interrupts the script).")],
) -> None:
    """Make the presenter say a line now; the script resumes after it."""

    @_friendly
    def go() -> None:
        rooms = _service()

        out = rooms.say(room, text)
        for fix in out.get("compliance", []):  # the line was rewritten to comply with advertising law
            _cli().err_console.print(f"compliance {fix['rule_id']}: {fix['term']!r} → {fix['suggestion']!r}")
        _cli().console.print(f"queued: {out['text']}", highlight=False)

    go()


@live_app.command("comment")
def comment(
    room: Annotated[str, typer.Argument(help="Room id.")],
    text: Annotated[str, typer.Argument(help="The comment text.")],
    viewer: Annotated[str, typer.Option("--viewer", "-v", help="Viewer name (greeted as @name).")] = "viewer",
) -> None:
    """Post a viewer comment to a running room (as the platform's comment feed would)."""

    @_friendly
    def go() -> None:
        rooms = _service()

        out = rooms.comment(room, viewer, text)
        _cli().console.print(f"{out['kind']}: {out['outcome']}", highlight=False)

    go()


@live_app.command("script")
def script(
    room: Annotated[Path, typer.Option("--room", help="Room YAML file.", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="Where to write the script (.yaml or .json).")] = Path(
        "live_script.yaml"
    ),
    llm: Annotated[bool, typer.Option("--llm/--no-llm", help="Draft selling-point lines with the LLM.")] = False,
    seed: Annotated[int, typer.Option(help="Seed for the LLM drafts.")] = 0,
) -> None:
    """Write the room's looping live script to adopt or edit (set `script: FILE` in the room to use it)."""

    @_friendly
    def go() -> None:
        from adloom.scripts_gen.live_script import LiveScriptWriter, save_live_script

        rooms = _service()

        rf = rooms.load_room(room)
        backend = None
        if llm:
            from adloom.scripts_gen.llm import get_backend

            backend = get_backend()
        with _cli().err_console.status(f"writing the live script for {len(rf.room.products)} product(s) …"):
            written = LiveScriptWriter(backend).write(rf.room, industry=rf.preset.industry, seed=seed)
        save_live_script(written, out)
        n = len(written.lines())
        _cli().console.print(
            f"{out}: {n} lines ({written.provenance.path}), {len(written.compliance)} compliance fixes", highlight=False
        )

    go()


@live_app.command("simulate")
def simulate(
    room: Annotated[Path, typer.Argument(help="Room YAML file.", exists=True, dir_okay=False)],
    hours: Annotated[float, typer.Option(help="Simulated hours (from midnight, so the schedule plays out).")] = 24.0,
    seed: Annotated[int, typer.Option(help="Seed for the phrasings and selling-point order.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Run the room's script with the text engine on a simulated clock and report how much it repeats itself."""

    @_friendly
    def go() -> None:
        from adloom.serving.rooms.simulate import simulate_script, variety_report

        rf = _service().load_room(room)
        with _cli().err_console.status(f"simulating {hours:g} h of {rf.room.name} …"):
            spoken = simulate_script(rf, hours, seed=seed)
        report = variety_report(spoken, window_s=rf.preset.variety_window_min * 60)
        if as_json:
            _print_json(report.as_dict())
            return
        out = _cli().console
        out.print(f"{rf.room.name}: {hours:g} h simulated (text engine, seed {seed})", highlight=False)
        out.print(f"lines spoken: {report.lines}, distinct lines: {report.distinct}", highlight=False)
        rates = ", ".join(f"h{h}: {r:.1%}" for h, r in enumerate(report.repeat_rate_per_hour))
        out.print(f"verbatim-repeat rate per hour (already said earlier that hour): {rates}", highlight=False)
        gap = "no line repeated" if report.min_gap_s is None else f"{report.min_gap_s / 60:.1f} min"
        out.print(f"min gap between two identical lines: {gap}", highlight=False)
        if not report.window_s:
            out.print("variety budget off (variety_window_min: 0): nothing to check against", highlight=False)
            return
        verdict = "yes" if report.repeated_within_window else "no"
        out.print(f"any line repeated within {report.window_s / 60:g} min: {verdict}", highlight=False)

    go()
