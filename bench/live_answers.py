"""Live-room answers on the team's labelled questions, and the live script's verbatim repeats (issue 16).

Data. Rooms under ``bench/data/live_rooms/`` (zh beauty, en food, en electronics) and the bundled sample
room ``adloom/serving/samples/room_zh.yaml``; per room, ``bench/data/live_questions/<room>.yaml`` holds at
least 60 viewer questions labelled answerable (with the supporting entry), must_abstain (pregnancy,
babies, allergies, conditions, drugs, efficacy, legal or financial advice the knowledge base does not
answer), off_topic, purchase and comparison. The set was written before the new answerer and is held
out from its engineers.

Measured. Each question is put to ``LiveAnswerer`` (``answer_detail`` when it has it, else its Responder
call) with the labelled product on air, one answerer per room as a running room has, under the room's
answer timeout. The deterministic judge (``adloom.serving.rooms.answer_eval``; its docstring defines each
check) gives per room and overall: correct-and-grounded rate on answerable questions, wrong-product
rate and unsupported-claim rate (over all questions), abstention recall on must-abstain questions,
false abstentions on answerable ones, purchase and comparison handling, off-topic answers free of
invented claims, and answer latency (median, p90, wall clock around the call). Figures are printed
beside the saved baseline (today's answerer before issue 16, ``bench/data/live_answers_baseline.json``).

Then the live script: ``simulate_script(room, hours, seed=...)`` (issue 16's contract; the live-script
work provides it in ``adloom.serving.rooms.simulate``) over ``--hours`` simulated hours of the sample
room, measured by that module's ``variety_report``: the per-hour share of lines spoken word for word
earlier in the hour, and the shortest gap between two sayings of a line (target: none within 10
minutes). Where no ``simulate_script`` exists yet the bench says so.

Run: ``.venv/bin/python bench/live_answers.py [--no-llm] [--errors] [--rooms sample_zh,food_en_coffee]
[--hours 24] [--questions DIR] [--save-baseline]`` (default: the room's own setting, i.e. with the embedded LLM).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.progress import Progress

from adloom.serving.rooms.answer_eval import (
    JUDGE_VERSION,
    AnswerRecord,
    Figures,
    answer_room,
    load_question_set,
    summarise,
)
from adloom.serving.rooms.schema import RoomFile

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "bench" / "data" / "live_questions"
BASELINE = ROOT / "bench" / "data" / "live_answers_baseline.json"
SCRIPT_ROOM = ROOT / "adloom" / "serving" / "samples" / "room_zh.yaml"

#: (figure, how it prints, higher is better?)
ROWS: list[tuple[str, str, bool]] = [
    ("correct_grounded", "correct & grounded (answerable)", True),
    ("wrong_product", "wrong-product answers (all)", False),
    ("unsupported_claim", "unsupported claims (all)", False),
    ("abstention_recall", "abstention recall (must_abstain)", True),
    ("false_abstention", "false abstentions (answerable)", False),
    ("purchase_handled", "purchase handled", True),
    ("comparison_handled", "comparison handled", True),
    ("off_topic_clean", "off-topic without invented claims", True),
    ("latency_median_ms", "latency median (ms)", False),
    ("latency_p90_ms", "latency p90 (ms)", False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--questions",
        type=Path,
        default=QUESTIONS,
        help="folder of labelled question files (default: the team's set; bench/data/live_questions_extra holds "
        "a second held-out check)",
    )
    parser.add_argument("--rooms", help="comma-separated question files (stems) to run; default: all")
    llm = parser.add_mutually_exclusive_group()
    llm.add_argument("--llm", dest="llm", action="store_true", default=None, help="answer with the embedded LLM")
    llm.add_argument("--no-llm", dest="llm", action="store_false", help="template answers only")
    parser.add_argument("--errors", action="store_true", help="list every answer the judge does not accept")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours of live script (0: skip)")
    parser.add_argument(
        "--gap",
        type=float,
        default=0.0,
        help="seconds between questions (a room spaces answers by min_answer_gap_s; with the LLM, a call that "
        "overran keeps the model busy and the next question at once gets a template)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help=f"saved figures to print beside (default: {BASELINE.name} for the team's set, none for another set)",
    )
    parser.add_argument("--save-baseline", action="store_true", help="write these figures as the baseline")
    args = parser.parse_args()

    if not args.questions.is_dir():
        parser.error(f"--questions {args.questions}: not a folder; give a folder of question files like {QUESTIONS}")
    files = sorted(args.questions.glob("*.yaml"))
    if not files:
        parser.error(f"--questions {args.questions}: no *.yaml question files in it; see {QUESTIONS} for the format")
    if args.rooms:
        wanted = set(args.rooms.split(","))
        unknown = wanted - {f.stem for f in files}
        if unknown:
            parser.error(f"no question file {', '.join(sorted(unknown))}; have: {', '.join(f.stem for f in files)}")
        files = [f for f in files if f.stem in wanted]
    mode = "llm" if args.llm or args.llm is None else "template"
    backend = _backend() if mode == "llm" else None
    if mode == "llm" and backend is None:
        mode = "template"
    if args.baseline is None:
        args.baseline = BASELINE if args.questions.resolve() == QUESTIONS.resolve() else None
    if args.save_baseline and args.baseline is None:
        parser.error("--save-baseline with another question set needs --baseline FILE to write to")
    baseline = _load_baseline(args.baseline).get(mode, {}) if args.baseline else {}
    if baseline and baseline.get("judge_version", 1) != JUDGE_VERSION:
        print(
            f"note: the {mode} baseline was judged by judge v{baseline.get('judge_version', 1)}, these figures by "
            f"v{JUDGE_VERSION}; re-measure the baseline (--save-baseline on its commit) before comparing"
        )
    print(f"answerer: {_answerer_name()}, {mode} answers" + (f" ({type(backend).__name__})" if backend else ""))

    all_records: list[AnswerRecord] = []
    per_room: dict[str, Figures] = {}
    for path in files:
        rf, qs = load_question_set(path)
        with Progress(transient=True) as bar:
            task = bar.add_task(f"{path.stem}", total=len(qs.questions))
            advance = lambda n, t=task: bar.update(t, completed=n)  # noqa: E731
            run = answer_room(rf, qs.questions, _factory(backend), gap_s=args.gap, progress=advance)
        records = run.records
        all_records += records
        per_room[path.stem] = summarise(records)
        _print_figures(
            f"{path.stem} ({rf.room.language.value}, {rf.preset.industry.value})",
            per_room[path.stem],
            baseline.get("rooms", {}).get(path.stem),
        )
        counters = {k: v for k, v in run.answerer_status.items() if isinstance(v, int | float)}
        if counters:
            print("  answerer: " + ", ".join(f"{k} {v}" for k, v in counters.items()))
        if args.errors:
            _print_errors(records)
    overall = summarise(all_records)
    _print_figures("overall", overall, baseline.get("overall"))

    script = _script_variety(args.hours, args.seed) if args.hours > 0 else None
    if args.save_baseline:
        _save_baseline(args.baseline, mode, per_room, overall, script)


def _backend() -> Any:
    """The LLM backend a room with ``answer_llm: true`` gets (None, with a note, when it cannot load)."""
    from adloom.core.errors import AdloomError
    from adloom.scripts_gen.llm import get_backend

    try:
        return get_backend()
    except AdloomError as exc:
        print(f"LLM backend unavailable ({exc}); measuring template answers", file=sys.stderr)
        return None


def _factory(backend: Any) -> Callable[[RoomFile, Callable[[], int | None]], Any]:
    from adloom.scripts_gen.live_answer import LiveAnswerer

    def make(rf: RoomFile, focus: Callable[[], int | None]) -> Any:
        return LiveAnswerer(rf.room, industry=rf.preset.industry, backend=backend, focus=focus)

    return make


def _answerer_name() -> str:
    from adloom.scripts_gen.live_answer import LiveAnswerer

    return "LiveAnswerer.answer_detail" if hasattr(LiveAnswerer, "answer_detail") else "LiveAnswerer.__call__ (text)"


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if name.endswith("_ms") else f"{value:.1%}"


def _print_figures(title: str, fig: Figures, base: dict[str, Any] | None) -> None:
    labels = ", ".join(f"{k} {v}" for k, v in fig.by_label.items())
    print(f"\n{title}: {fig.questions} questions ({labels}); {fig.errors} answer errors")
    print(f"  {'figure':<36}{'now':>9}{'baseline':>10}")
    for name, text, _ in ROWS:
        now = getattr(fig, name)
        then = base.get(name) if base else None
        print(f"  {text:<36}{_fmt(name, now):>9}{_fmt(name, then):>10}")


def _print_errors(records: list[AnswerRecord]) -> None:
    print("  answers the judge does not accept:")
    for r in records:
        v = r.verdict
        if v.handled and not v.unsupported and not v.wrong_product:
            continue
        why = []
        if v.missing:
            why.append(f"missing {', '.join(v.missing)}")
        if v.unsupported:
            why.append(f"unsupported {', '.join(v.unsupported)}")
        if v.wrong_product:
            why.append(f"wrong product {', '.join(v.wrong_product)}")
        if v.abstained:
            why.append("abstained")
        if r.error:
            why.append(r.error)
        q = r.question
        print(f"    [{q.label.value}] ({q.on_air}) {q.text!r} → {r.text!r}  [{'; '.join(why) or 'not handled'}]")


def _script_variety(hours: float, seed: int) -> dict[str, Any] | None:
    """The sample room's script over ``hours`` simulated hours: issue 16's ``simulate_script`` (in
    ``adloom.serving.rooms.simulate``, from the live-script work) and its ``variety_report``."""
    print(f"\nlive script over {hours:g} simulated hours of {SCRIPT_ROOM.name}:")
    try:
        from adloom.serving.rooms.simulate import simulate_script, variety_report
    except ImportError:
        print("  simulate_script is not available yet (issue 16's live-script work provides it); not measured")
        return None
    lines = simulate_script(SCRIPT_ROOM, hours, seed=seed)
    report = variety_report(lines, window_s=600.0)
    rates = report.repeat_rate_per_hour
    print(f"  (adloom.serving.rooms.simulate) {report.lines} lines spoken, {report.distinct} distinct, seed {seed}")
    print(f"  verbatim-repeat rate per hour: mean {sum(rates) / len(rates):.1%}, max {max(rates):.1%}")
    print(f"  per hour: {' '.join(f'{r:.0%}' for r in rates)}")
    gap = report.min_gap_s
    print(
        f"  shortest gap between two sayings of a line: {'—' if gap is None else f'{gap / 60:.1f} min'}; "
        f"a line repeated within {report.window_s / 60:.0f} min: {'yes' if report.repeated_within_window else 'no'}"
    )
    return report.as_dict() | {"hours": hours, "seed": seed}


def _load_baseline(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _save_baseline(
    path: Path, mode: str, rooms: dict[str, Figures], overall: Figures, script: dict[str, Any] | None
) -> None:
    """Write (or update, per answer mode) the baseline file with the commit, date and command."""
    data = _load_baseline(path)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    data[mode] = {
        "commit": commit,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/live_answers.py", *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} CPUs (shared), {platform.processor() or platform.machine()}",
        "answerer": _answerer_name(),
        "judge_version": JUDGE_VERSION,
        "rooms": {k: v.as_dict() for k, v in rooms.items()},
        "overall": overall.as_dict(),
        "script": script,
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nbaseline ({mode}) written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
