"""bench/copy_quality.py's figures come from the scripts and findings it is given (template writer, 2 briefs)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from adloom.core.types import Brief, Language, Script
from adloom.scripts_gen.writer import ScriptWriter

BENCH = Path(__file__).resolve().parents[2] / "bench" / "copy_quality.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("copy_quality_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class _Finding:
    """A finding with the contract's fields (adloom.scripts_gen.review.Finding)."""

    rule: str
    field: str
    span: str
    start: int = -1
    end: int = -1
    why: str = ""
    fix: str = ""


PLANT = "Demo. Feature. Demo. Feature."


def _planted_review(bench: ModuleType):
    """Flags exactly the planted meta caption, so every expected figure is known."""

    def review(brief: Brief, scripts: Sequence[Script], exemplar: Script | None):
        per_script = []
        for script in scripts:
            found = []
            for path, text in bench.copy_lines(script):
                if PLANT in text:
                    i = text.index(PLANT)
                    found.append(_Finding("meta", path, PLANT, i, i + len(PLANT), "placeholder text", ""))
            per_script.append(found)
        return per_script, [], []

    return review


def _template_runs(bench: ModuleType, n: int = 2):
    briefs = bench.load_briefs("cb_food_zh_yogurt,cb_elec_en_earbuds")
    writer = ScriptWriter(None)

    def generate(brief: Brief, k: int) -> tuple[list[Script], Script | None]:
        return writer.generate(brief, k, seed=3), None

    return bench.collect(briefs, generate, n, progress=lambda _: None)


def test_a_script_with_a_planted_finding_is_not_shippable(bench: ModuleType) -> None:
    runs = _template_runs(bench)
    assert [r.brief.id for r in runs] == ["cb_elec_en_earbuds", "cb_food_zh_yogurt"]
    target = runs[1].scripts[1]
    target.shots[1].caption = PLANT
    bench.review_all(runs, _planted_review(bench))
    fig = bench.figures(runs, reviewed=True)

    assert fig["scripts"] == 4
    assert fig["shippable"]["overall"] == {"rate": 0.75, "shippable": 3, "of": 4}
    assert fig["shippable"]["template"] == {"rate": 0.75, "shippable": 3, "of": 4}
    assert fig["shippable"]["llm"] is None and fig["shippable"]["mixed"] is None
    lines = sum(len(bench.copy_lines(s)) for r in runs for s in r.scripts)
    assert fig["lines"] == lines
    assert fig["findings_per_100_lines"] == {"meta": pytest.approx(100 / lines)}
    assert fig["scripts_with_compliance_or_grounding"] == 0

    page = bench.render_html(runs, fig, "summary")
    assert f"<mark>{PLANT}</mark>" in page
    assert '<span class="rule">meta</span>' in page and "fix: drop it" in page
    assert page.count("class='script bad'") == 1 and page.count("class='script ok'") == 3


def test_variety_is_computed_from_the_variants(bench: ModuleType) -> None:
    runs = _template_runs(bench, n=3)
    scripts = runs[0].scripts
    one = bench.variety(scripts[:1])
    doubled = bench.variety([scripts[0], scripts[0]])
    assert doubled["distinct_2"] == pytest.approx(one["distinct_2"] / 2)  # the same copy twice: half the n-grams new
    assert doubled["hook_spread"] == 0.5 and one["hook_spread"] == 1.0
    spread = bench.variety(scripts)
    assert spread["hook_spread"] == len({s.hook_type for s in scripts}) / 3

    fig = bench.figures(runs, reviewed=False)
    assert "shippable" not in fig
    assert fig["variety"]["distinct_2"] == pytest.approx(
        sum(bench.variety(r.scripts)["distinct_2"] for r in runs) / len(runs)
    )
    ratios = bench.against_baseline(fig, fig)
    assert ratios["briefs_compared"] == 2 and ratios["distinct_2"] == pytest.approx(1.0)


def test_tokens_split_chinese_by_character_and_english_by_word(bench: ModuleType) -> None:
    assert bench.tokens("低糖燕麦 Yogurt 39.9元！", Language.zh) == ["低", "糖", "燕", "麦", "yogurt", "39.9", "元"]
    assert bench.tokens("Just $49, $49.", Language.en) == ["just", "$49", "$49"]


def test_highlight_escapes_and_marks_by_span_or_offsets(bench: ModuleType) -> None:
    text = "<b>最好的</b> earbuds"
    by_span = bench.highlight(text, [_Finding("compliance", "hook", "最好")])
    assert by_span == "&lt;b&gt;<mark>最好</mark>的&lt;/b&gt; earbuds"
    by_offsets = bench.highlight(text, [_Finding("grounding", "hook", "", 11, 18)])
    assert by_offsets.endswith("<mark>earbuds</mark>")


def test_the_real_reviewer_scores_the_bench(bench: ModuleType) -> None:
    """With adloom's Reviewer: shippable means review_script found nothing; a planted caption is caught."""
    from adloom.scripts_gen.review import Reviewer

    runs = _template_runs(bench)
    bench.review_all(runs, bench.reviewer_review)
    for run in runs:
        reviewer = Reviewer(run.brief)
        assert run.findings == [reviewer.review_script(s) for s in run.scripts]
        assert run.brief_findings == reviewer.brief_findings()
    before = bench.figures(runs, reviewed=True)
    clean = sum(not fs for r in runs for fs in r.findings)
    assert before["shippable"]["overall"]["shippable"] == clean

    run, i = next(((r, i) for r in runs for i, fs in enumerate(r.findings) if not fs), (runs[0], 0))
    was_clean = not run.findings[i]
    run.scripts[i].shots[1].caption = PLANT
    bench.review_all(runs, bench.reviewer_review)
    after = bench.figures(runs, reviewed=True)
    assert any(f.rule == "meta" and f.field == "shots[1].caption" for f in run.findings[i])
    assert after["shippable"]["overall"]["shippable"] == clean - was_clean
    assert after["findings_per_100_lines"]["meta"] > before["findings_per_100_lines"].get("meta", 0.0)
    # the yogurt brief's 降血糖 is reported to the advertiser, not silently dropped
    yogurt = next(r for r in runs if r.brief.id == "cb_food_zh_yogurt")
    assert any(f.rule == "brief" and "降血糖" in f.span for f in yogurt.brief_findings)
