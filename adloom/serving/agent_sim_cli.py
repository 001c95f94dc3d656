"""`adloom agent simulate`: the lead agent against seeded simulated users, two-agent vs lead-first (issue 15).

The same simulation and figures as ``bench/lead_agent.py`` (:mod:`adloom.scripts_gen.conversation.simulate`),
sized for a quick look: the sample agents under ``adloom/data/agent/bench_agents/``, personas from
``adloom/data/agent/personas.yaml``. The users follow written rules, not field data (see that module's
docstring). Registered on the ``agent`` group by ``agent_app.command("simulate")(simulate)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar, cast

import typer

F = TypeVar("F", bound=Callable[..., Any])

PolicyChoice = Literal["answer_first", "lead_first", "both"]


def _cli() -> Any:
    from adloom.serving import cli

    return cli


def _friendly(fn: F) -> F:
    """The CLI's error handler (adloom errors → a red message and an exit code), typed for this module."""
    return cast(F, _cli()._friendly(fn))


def _advance(bar: Any, task: Any, done: int) -> None:
    bar.update(task, completed=done)


def simulate(
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="Conversations per policy.")] = 100,
    policy: Annotated[
        str, typer.Option(help="answer_first (two-agent), lead_first (single-agent baseline) or both.")
    ] = "both",
    industry: Annotated[
        list[str] | None, typer.Option(help="Only these industries' sample agents (repeatable): auto, home, ...")
    ] = None,
    lang: Annotated[list[str] | None, typer.Option(help="Only these languages (repeatable): zh, en.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the users (same seed, same users, for every policy).")] = 0,
    show: Annotated[int, typer.Option(min=0, help="Print this many transcripts per policy.")] = 0,
    max_turns: Annotated[int, typer.Option(min=1, max=50, help="User messages per conversation, at most.")] = 12,
) -> None:
    """Simulate conversations with seeded rule-based users and print the lead-agent metrics."""

    @_friendly
    def go() -> None:
        from rich.markup import escape
        from rich.progress import Progress
        from rich.table import Table

        from adloom.core.errors import InputError
        from adloom.core.types import Industry, Language
        from adloom.scripts_gen.compliance import ComplianceChecker
        from adloom.scripts_gen.conversation import simulate as sim

        if policy not in ("answer_first", "lead_first", "both"):
            raise InputError(f"--policy {policy!r}: give answer_first, lead_first or both")
        try:
            industries = [Industry(i) for i in industry] if industry else None
            languages = [Language(x) for x in lang] if lang else None
        except ValueError as exc:
            raise InputError(f"{exc}; industries: {', '.join(i.value for i in Industry)}; languages: zh, en") from exc
        try:
            plan = sim.plan_conversations(n, seed=seed, industries=industries, languages=languages)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        profiles = {p.profile.id: p.profile for p in plan}
        checker = ComplianceChecker()
        resolve = sim.source_resolver(profiles.values())
        policies: list[Literal["answer_first", "lead_first"]] = (
            ["answer_first", "lead_first"] if policy == "both" else [cast(Any, policy)]
        )
        console = _cli().console
        results: dict[str, sim.Metrics] = {}
        records: dict[str, list[sim.ConversationRecord]] = {}
        for name in policies:
            with Progress(transient=True, console=console) as bar:
                task = bar.add_task(name, total=len(plan))
                records[name] = sim.simulate(
                    plan,
                    name,
                    checker=checker,
                    max_turns=max_turns,
                    progress=functools.partial(_advance, bar, task),
                )
            results[name] = sim.evaluate(records[name], profiles, checker=checker, source_text=resolve)

        cells = sorted({f"{p.profile.industry.value}/{p.profile.language.value}" for p in plan})
        table = Table(
            title=f"{n} simulated conversations per policy (seed {seed}; {', '.join(cells)})",
            caption="Users simulated by rules (adloom/scripts_gen/conversation/simulate.py): not field data.",
        )
        table.add_column("metric")
        table.add_column("two-agent", justify="right")
        table.add_column("lead-first", justify="right")
        table.add_column("delta", justify="right")
        for row in sim.comparison_rows(results):
            if row[1] or row[2]:
                table.add_row(*row)
        console.print(table)
        for name in policies:
            m = results[name]
            console.print(f"{name}: left because " + ", ".join(f"{k} {v}" for k, v in m.left.items()))
            for v in m.violation_examples[:10]:
                console.print(f"  [red]#{v.conversation} turn {v.turn} {v.rule}[/]: {escape(v.text)}")
            for rec in records[name][:show]:
                console.print(rec.transcript(), markup=False, highlight=False)

    go()
