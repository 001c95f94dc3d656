"""Precision and recall of the copy reviewer on the team's labelled set (issue 11).

Data. ``tests/scripts_gen/data/copy_review_set.yaml``: 20 briefs (10 industries × zh/en) and
410 ad lines written for this purpose, about half of them shippable, each bad one tagged with
its defects; three briefs carry a banned selling point (brief-level findings). Not the sample
library.

Measured. Per rule: true positives, false alarms and misses over lines (a line counts once per
rule, however many spans), precision and recall; overall (micro-averaged over rules); the brief
findings; a confusion summary (labelled rule → predicted rule, off-diagonal pairs) and, with
``--errors``, every line whose predicted rules differ from its labels. The baseline every ratio is
against is "flag nothing" (precision undefined, recall 0), so only absolute figures are printed.

Run: ``.venv/bin/python bench/copy_review.py [--set PATH] [--errors]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from adloom.scripts_gen.review.evaluate import LINE_RULES, evaluate, load_labelled_set

DEFAULT_SET = Path(__file__).resolve().parents[1] / "tests" / "scripts_gen" / "data" / "copy_review_set.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled set (YAML)")
    parser.add_argument("--errors", action="store_true", help="list every line the reviewer gets wrong")
    args = parser.parse_args()

    labelled = load_labelled_set(args.set)
    t0 = time.perf_counter()
    ev = evaluate(labelled)
    elapsed = time.perf_counter() - t0
    n = len(ev.lines)
    good = sum(1 for r in ev.lines if not r.expected)
    briefs = len(labelled.cases)
    print(f"labelled set: {args.set.name}: {briefs} briefs, {n} lines ({good} good, {n - good} with defects)")
    print(f"reviewed in {elapsed:.2f} s ({1000 * elapsed / n:.2f} ms per line, including reviewer set-up per brief)\n")
    print(f"{'rule':<12}{'labelled':>9}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}")
    for rule in LINE_RULES:
        s = ev.per_rule[rule]
        print(f"{rule:<12}{s.tp + s.fn:>9}{s.tp:>5}{s.fp:>5}{s.fn:>5}{s.precision:>11.3f}{s.recall:>8.3f}")
    o = ev.overall
    print(f"{'overall':<12}{o.tp + o.fn:>9}{o.tp:>5}{o.fp:>5}{o.fn:>5}{o.precision:>11.3f}{o.recall:>8.3f}")
    b = ev.brief
    row = f"{b.tp + b.fn:>9}{b.tp:>5}{b.fp:>5}{b.fn:>5}{b.precision:>11.3f}{b.recall:>8.3f}"
    print(f"{'brief':<12}{row}  (per brief field)")
    clean_ok = sum(1 for r in ev.lines if not r.expected and not r.predicted)
    print(f"\ngood lines passed: {clean_ok}/{good}; lines with exactly the labelled rules: {ev.line_accuracy:.3f}")
    print("\nconfusion (labelled → predicted, mismatches only):")
    for (e, p), count in sorted(ev.confusion.items(), key=lambda kv: -kv[1]):
        if e != p:
            print(f"  {e:>11} → {p:<11} {count}")
    if args.errors:
        print("\nlines the reviewer gets wrong:")
        for r in ev.lines:
            if r.predicted != r.expected:
                got = "; ".join(f"{f.rule}:{f.span!r}" for f in r.findings) or "clean"
                print(f"  [{r.case}] {r.line.text!r}\n      labelled {sorted(r.expected) or 'clean'}, got {got}")


if __name__ == "__main__":
    main()
