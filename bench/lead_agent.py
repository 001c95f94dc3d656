"""The lead-capture digital employee against simulated users: two-agent (answer first) vs lead-first (issue 15).

Data. The sample agents under ``adloom/data/agent/bench_agents/`` (invented car dealer, renovation company,
tutoring school and bank desk, each in zh and en) and the personas of ``adloom/data/agent/personas.yaml``:
ordinary prospects with 1–3 needs, patience and a willingness to share contact details, and hard cases
(abuse, prompt injection, a competitor, a minor, a request for a person, stickers, a 10 000-character paste,
mixed languages). **The users are simulated by rules** (``adloom.scripts_gen.conversation.simulate``; its
docstring lists the assumptions, e.g. that an ask before any answer costs patience): the figures compare
policies under those assumptions and are not field data.

Measured. ``--n`` conversations (default 600) spread round-robin over the agents with personas drawn by
weight, run once with policy ``answer_first`` (the two-agent design) and once with ``lead_first`` (the
single-agent baseline that asks for a phone number from the first reply), same seeds, same users. Per policy
(definitions in ``simulate.evaluate``'s docstring): share of conversations where the person sent at least two
messages after the opening, lead capture rate (all; among personas willing to share), share of leads whose
stored contact is the persona's true one, grounded-answer rate, policy violations by rule, reply delay
(median, IQR, p10–p90), and conversations per second per core (wall time of ``respond`` calls only, one
process). The baseline is measured in the same run; the delta column is two-agent minus lead-first.

Exit status 1 when the two-agent run has any policy violation.

Run: ``.venv/bin/python bench/lead_agent.py [--n 600] [--seed 0] [--industry auto,home] [--lang zh]
[--show 3] [--violations] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.progress import Progress

from adloom.core.types import Industry, Language
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.conversation.simulate import (
    ConversationRecord,
    Metrics,
    comparison_rows,
    evaluate,
    plan_conversations,
    simulate,
    source_resolver,
)

POLICIES = ("answer_first", "lead_first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="conversations per policy (default 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--industry", help="comma-separated industries (default: every sample agent's)")
    parser.add_argument("--lang", help="comma-separated languages zh,en (default both)")
    parser.add_argument("--max-turns", type=int, default=12, help="user messages per conversation, at most")
    parser.add_argument("--show", type=int, default=0, help="print this many transcripts per policy")
    parser.add_argument("--violations", action="store_true", help="list the violations found (up to 20 per policy)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args()
    if args.n < 1:
        parser.error(f"--n {args.n}: give at least 1 conversation (the benchmark's figures use ≥500)")
    try:
        industries = [Industry(i) for i in args.industry.split(",")] if args.industry else None
        languages = [Language(x) for x in args.lang.split(",")] if args.lang else None
    except ValueError as exc:
        parser.error(f"{exc}; industries: {', '.join(i.value for i in Industry)}; languages: zh, en")

    plan = plan_conversations(args.n, seed=args.seed, industries=industries, languages=languages)
    profiles = {p.profile.id: p.profile for p in plan}
    checker = ComplianceChecker()
    resolve = source_resolver(profiles.values())
    results: dict[str, Metrics] = {}
    records: dict[str, list[ConversationRecord]] = {}
    for policy in POLICIES:
        with Progress(transient=True, disable=args.json) as bar:
            task = bar.add_task(policy, total=len(plan))
            records[policy] = simulate(
                plan,
                policy,  # type: ignore[arg-type]
                checker=checker,
                max_turns=args.max_turns,
                progress=lambda k, t=task: bar.update(t, completed=k),
            )
        results[policy] = evaluate(records[policy], profiles, checker=checker, source_text=resolve)

    if args.json:
        out = {
            "n": args.n,
            "seed": args.seed,
            "agents": sorted(profiles),
            "grounding_sources": "cited entries",
            "policies": {k: v.as_dict() for k, v in results.items()},
        }
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        cells = sorted({(p.profile.industry.value, p.profile.language.value) for p in plan})
        print(
            f"{args.n} simulated conversations per policy, seed {args.seed}, agents: "
            + ", ".join(f"{i}/{lang}" for i, lang in cells)
        )
        print("simulated users (rules in adloom/scripts_gen/conversation/simulate.py), not field data\n")
        rows = [("metric", "two-agent", "lead-first", "delta"), *comparison_rows(results)]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            print(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}")
        for policy in POLICIES:
            print(f"\n{policy}: left because " + ", ".join(f"{k} {v}" for k, v in results[policy].left.items()))
            if args.violations:
                for v in results[policy].violation_examples:
                    print(f"  #{v.conversation} turn {v.turn} {v.rule}: {v.text}")
            for rec in records[policy][: args.show]:
                print(rec.transcript())
    if results["answer_first"].violations:
        print(f"\nFAIL: {results['answer_first'].violations} policy violations in the two-agent run", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
