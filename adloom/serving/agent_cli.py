"""`adloom agent …` and `adloom leads …`: talk to a lead-capture agent in the terminal, export captured leads.

``adloom agent chat AGENT.yaml`` runs the same turn as the API's webhook (:mod:`adloom.serving.conversation_service`)
on the local store under ``ADLOOM_HOME`` (tenant "local"), offline: the engine needs no LLM. Each reply waits its
planned typing pause (shown as "typing…") unless ``--no-wait``; the policy's decision is shown dimmed, and the lead
fields as they are captured. With ``--no-wait`` the conversation runs on a virtual clock that moves past each
planned reply, so what is stored is what a platform sending on schedule would have sent.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast

import typer
from rich.markup import escape

F = TypeVar("F", bound=Callable[..., Any])

agent_app = typer.Typer(
    help="Lead-capture agents: chat with one in the terminal, or measure them on simulated users.",
    no_args_is_help=True,
)
leads_app = typer.Typer(help="Leads captured by the agents: export them.", no_args_is_help=True)

_QUIT = {"/quit", "/exit", "/q"}


def _cli() -> Any:
    from adloom.serving import cli

    return cli


def _friendly(fn: F) -> F:
    return cast(F, _cli()._friendly(fn))


def _store() -> Any:
    from adloom.core.settings import get_settings
    from adloom.serving.scripts_service import open_default_store

    return open_default_store(get_settings())


@agent_app.command("chat")
def chat(
    agent_file: Annotated[Path, typer.Argument(help="Agent YAML file (see adloom/serving/samples/agent_*.yaml).")],
    lang: Annotated[
        Literal["zh", "en"] | None, typer.Option("--lang", help="Language of the greeting (default: the agent's).")
    ] = None,
    policy: Annotated[
        Literal["answer_first", "lead_first"] | None,
        typer.Option(help="Ordering policy (default: the agent file's lead.policy)."),
    ] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Print replies at once instead of typing them.")] = False,
    user: Annotated[str | None, typer.Option(help="User id of this chat (a new one by default).")] = None,
) -> None:
    """Talk to an agent: one message a line; /quit or end of input stops."""

    @_friendly
    def go() -> None:
        from adloom.core.storage import conversations
        from adloom.core.types import Language
        from adloom.serving import conversation_service

        console = _cli().console
        profile = conversation_service.load_agent_file(agent_file)
        store = _store()
        conversations.put_agent(store, profile.id, profile.model_dump(mode="json"))
        user_id = user or f"cli-{uuid.uuid4().hex[:8]}"
        language = Language(lang) if lang else None
        console.print(
            f"[bold]{escape(profile.name)}[/] · {escape(profile.business)} "
            f"[dim](agent {profile.id}, user {user_id}; /quit to stop)[/]"
        )
        clock = datetime.now(UTC)
        captured: dict[str, str] = {}
        interactive = sys.stdin.isatty()
        while True:
            try:
                line = input("you> " if interactive else "")
            except (EOFError, KeyboardInterrupt):
                break
            text = line.strip()
            if not text:
                continue
            if text in _QUIT:
                break
            if not interactive:
                console.print(f"[bold cyan]you>[/] {escape(text)}", highlight=False)
            now = datetime.now(UTC) if not no_wait else max(datetime.now(UTC), clock)
            turn = conversation_service.receive(
                store, profile, user_id=user_id, channel="cli", text=text, now=now, policy=policy, language=language
            )
            if turn.message.status == "quiet":
                console.print("[dim](a person has taken over: the agent stays quiet)[/]")
                continue
            if turn.message.status == "held":
                console.print("[dim](held: answered together with your next message)[/]")
                continue
            if turn.decision:
                d = turn.decision
                console.print(f"[dim]policy {d.get('policy')}: {d.get('action')} — {escape(str(d.get('reason')))}[/]")
            previous = now
            for reply in turn.replies:
                send_at = reply.send_at or now
                pause = max(0.0, (send_at - previous).total_seconds())
                previous = send_at
                if no_wait:
                    console.print(f"[dim]typing… {pause:.1f} s[/]")
                else:
                    with console.status(f"{escape(profile.name)} is typing…"):
                        time.sleep(pause)
                console.print(f"[bold green]{escape(profile.name)}>[/] {escape(reply.text)}", highlight=False)
            clock = previous + timedelta(milliseconds=1)
            if turn.lead_id:
                lead = conversations.get_lead(store, turn.lead_id).model_dump()
                fields = {k: str(lead[k]) for k in conversations.LEAD_FIELDS if lead.get(k)}
                if fields != captured:
                    captured = fields
                    shown = ", ".join(f"{k}={v}" for k, v in fields.items())
                    console.print(f"[yellow]lead {turn.lead_id}:[/] {escape(shown)}", highlight=False)
            if turn.handed_over:
                console.print("[dim](handed over to a person)[/]")
        console.print(f"[dim]conversation {_conversation_of(store, profile.id, user_id)}[/]")

    go()


def _conversation_of(store: Any, agent_id: str, user_id: str) -> str:
    """The id of the chat's conversation (or "none" when nothing was said)."""
    from adloom.core.storage import conversations

    page = conversations.list_conversations(store, agent_id=agent_id, limit=100)
    return next((c.id for c in page.data if c.user_id == user_id), "none")


def _since(value: str | None) -> datetime | None:
    from adloom.core.errors import InputError

    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"--since {value!r} is not a date or time; use e.g. 2026-05-01 or 2026-05-01T08:00:00+08:00",
            field="since",
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@leads_app.command("export")
def export(
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's leads.")] = None,
    since: Annotated[str | None, typer.Option(help="Only leads captured at or after this date/time (ISO).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
    fmt: Annotated[Literal["csv", "jsonl"], typer.Option("--format", help="csv (for Excel) or jsonl.")] = "csv",
) -> None:
    """Export the captured leads of the local store: CSV (UTF-8 with a BOM, formula-safe) or JSON lines."""

    @_friendly
    def go() -> None:
        from adloom.core.errors import InputError
        from adloom.core.storage import conversations
        from adloom.serving import leads_export

        leads = list(conversations.iter_leads(_store(), agent_id=agent, since=_since(since)))
        chunks = leads_export.csv_chunks(leads) if fmt == "csv" else leads_export.jsonl_chunks(leads)
        if out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
            return
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8", newline="") as f:
                for chunk in chunks:
                    f.write(chunk)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror or exc}", field="out") from None
        _cli().err_console.print(f"{len(leads)} leads → {out}")

    go()


def _register_simulate() -> None:
    from adloom.serving.agent_sim_cli import simulate

    agent_app.command("simulate")(simulate)


_register_simulate()
