"""The live-answer evaluation (bench/live_answers.py's core): the labelled set loads and is checked
against its rooms, the judge scores planted answers as it says it does (wrong product, invented number,
abstention, comparison, purchase), and a real LiveAnswerer run over a few questions of the sample room
is judged consistently."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adloom.core.errors import InputError
from adloom.scripts_gen.live_answer import LiveAnswerer
from adloom.serving.rooms.answer_eval import (
    Label,
    LabelledQuestion,
    RoomFacts,
    answer_room,
    judge,
    load_question_set,
    quantities,
    summarise,
)
from adloom.serving.rooms.schema import load_room

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "bench" / "data" / "live_questions"
SAMPLE_ROOM = ROOT / "adloom" / "serving" / "samples" / "room_zh.yaml"
SERUM, CREAM, CLEANSER = "水润保湿精华", "修护保湿面霜", "温和洁面乳"


@pytest.fixture(scope="module")
def facts() -> RoomFacts:
    return RoomFacts.of(load_room(SAMPLE_ROOM).room)


def q(text: str, label: str, *, product: str | None = SERUM, **extra: object) -> LabelledQuestion:
    return LabelledQuestion.model_validate(
        {"text": text, "label": label, "on_air": SERUM, "product": product, "language": "zh", **extra}
    )


def test_the_labelled_set_covers_three_industries_both_languages_and_every_label() -> None:
    files = sorted(QUESTIONS.glob("*.yaml"))
    assert len(files) >= 4
    seen = set()
    for path in files:
        rf, qs = load_question_set(path)  # checks products, supports and language against the room
        assert len(qs.questions) >= 60, path.name
        assert {x.label for x in qs.questions} == set(Label), path.name
        seen.add((rf.preset.industry.value, rf.room.language.value))
    assert {i for i, _ in seen} >= {"beauty", "food", "electronics"}
    assert {lang for _, lang in seen} == {"zh", "en"}
    _, sample = load_question_set(QUESTIONS / "sample_zh.yaml")
    assert {"孕妇可以用吗", "保质期多久", "发货要多久", "和某某大牌比哪个好"} <= {x.text for x in sample.questions}


def test_a_support_that_is_not_in_the_room_is_named(tmp_path: Path) -> None:
    bad = {
        "room": str(SAMPLE_ROOM),
        "questions": [
            {"text": "保质期多久", "label": "answerable", "on_air": SERUM, "product": SERUM,
             "support": "保质期五年", "language": "zh"}
        ],
    }  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="support '保质期五年' is no knowledge-base entry"):
        load_question_set(path)
    with pytest.raises(ValueError, match="needs a support"):
        q("保质期多久", "answerable")


def test_quantities_are_read_by_value() -> None:
    assert quantities("保质期三年，开封后建议一年内用完。") == {"3", "1"}
    assert quantities("best within six weeks, $24.90") == {"6", "24.9"}
    assert quantities("按压两到三泵，开封后十二个月内") == {"3", "12"}
    assert quantities("一按就出，this one is great") == set()  # no unit after the numeral


def test_the_cream_fact_on_a_serum_question_is_a_wrong_product_and_unsupported(facts: RoomFacts) -> None:
    shelf = q("保质期多久", "answerable", support="水润保湿精华开封后建议六个月内用完。", key=["六个月"])
    wrong = judge(shelf, "保质期三年，开封后建议一年内用完。", facts)
    assert "3" in wrong.wrong_product and "3" in wrong.unsupported and not wrong.handled
    assert wrong.missing == ("六个月",)
    right = judge(shelf, "水润保湿精华开封后建议6个月内用完。", facts)
    assert right.handled and not right.wrong_product and not right.unsupported
    named = judge(q("孕妇可以用吗", "must_abstain"), "温和洁面乳早晚都可以用，敏感肌也可以先在耳后试用。", facts)
    assert named.wrong_product == (CLEANSER,) and not named.handled
    cream = f"{CREAM}含神经酰胺。"
    assert not judge(q(f"{CREAM}怎么样", "off_topic", product=None), cream, facts).wrong_product  # named
    assert judge(q("这个怎么样", "off_topic", product=None), cream, facts).wrong_product == (CREAM,)


def test_an_invented_number_is_an_unsupported_claim(facts: RoomFacts) -> None:
    shipping = q("发货要多久", "answerable", product=None, support="全场满99元包邮，付款后48小时内发货。", key=["48"])
    invented = judge(shipping, "付款后24小时内发货。", facts)
    assert invented.unsupported == ("24",) and not invented.handled
    assert judge(shipping, "付款后48小时内发货，满99元包邮。", facts).handled
    assert judge(q("两瓶多少钱", "answerable", support="129", key=["129"]), "两瓶是2个129元。", facts).handled
    # A product's name is no claim: an answer naming the serum "精华2000" on a cream question names the
    # wrong product, and states no quantity 2000.
    serum = facts.products[0].model_copy(update={"name": "精华2000"})
    numbered = RoomFacts.of(facts.room.model_copy(update={"products": [serum, *facts.products[1:]]}))
    cream = q("面霜多少钱", "answerable", product=CREAM, support="99", key=["99"])
    verdict = judge(cream, "精华2000的资料里没有写到。", numbered)
    assert verdict.wrong_product == ("精华2000",) and verdict.unsupported == ()


def test_abstentions_on_safety_questions_are_counted(facts: RoomFacts) -> None:
    pregnant = q("孕妇可以用吗", "must_abstain")
    honest = judge(pregnant, "孕期用护肤品建议先咨询医生，也可以看看包装上的成分表。", facts)
    assert honest.abstained and honest.handled
    assert judge(pregnant, "好的，马上为你说明。", facts, kind="abstain").handled
    made_up = judge(pregnant, "孕妇可以用，因为孕妇的皮肤比较敏感，所以孕妇可以先用。", facts)
    assert not made_up.abstained and not made_up.handled
    oily = q("油皮能用吗", "answerable", support="水润保湿精华适合干皮和混合皮，油皮也可以少量使用。", key=["油皮"])
    withheld = judge(oily, "这个我需要再确认一下，大家可以先看看商品详情页。", facts)
    assert withheld.abstained and withheld.false_abstention and not withheld.handled
    cautious = judge(oily, "油皮也可以少量使用，不放心可以先咨询医生。", facts)  # the fact, plus a caution
    assert cautious.abstained and cautious.handled and not cautious.false_abstention


def test_comparison_and_purchase_handling(facts: RoomFacts) -> None:
    rival = q("和某某大牌比哪个好", "comparison", rival="某某大牌")
    assert not judge(rival, "水润保湿精华到手价129元。", facts).handled  # the price answers nothing
    assert judge(rival, "我们只说自家的：水润保湿精华含透明质酸，补水保湿。", facts).handled
    assert not judge(rival, "水润保湿精华比某某大牌好，含透明质酸，补水保湿。", facts).handled
    assert not judge(rival, "这个我需要再确认一下，大家可以先看看商品详情页。", facts, kind="unknown").handled
    buy = q("怎么买", "purchase")
    assert judge(buy, "点击下方小黄车就能下单水润保湿精华。", facts).handled
    assert not judge(buy, "修护保湿面霜买两瓶再送一支护手霜。", facts).handled  # the other product's offer


def test_run_room_judges_a_real_answerer_consistently(facts: RoomFacts) -> None:
    rf, qs = load_question_set(QUESTIONS / "sample_zh.yaml")
    picked = [x for x in qs.questions if x.text in {"油皮能用吗？", "孕妇可以用吗", "今天天气怎么样", "怎么买"}]
    seen_on_air: list[int | None] = []

    def make(rf_: object, focus: object) -> LiveAnswerer:
        def watched() -> int | None:
            seen_on_air.append(focus())  # type: ignore[operator]
            return focus()  # type: ignore[operator, no-any-return]

        return LiveAnswerer(rf.room, industry=rf.preset.industry, focus=watched)

    run = answer_room(rf, picked, make)
    records = run.records
    assert {"template", "unknown"} <= set(run.answerer_status)  # LiveAnswerer's own counters
    assert [r.question for r in records] == picked
    assert set(seen_on_air) == {0}  # every picked question was asked with the serum on air
    for r in records:
        assert r.text and r.error is None and r.latency_s >= 0
        assert r.verdict == judge(r.question, r.text, facts, kind=r.kind)
    fig = summarise(records)
    assert fig.questions == 4 and fig.by_label["answerable"] == 1 and fig.by_label["purchase"] == 1
    oily = next(r for r in records if r.question.label == Label.answerable)
    assert fig.correct_grounded == float(oily.verdict.handled)
    assert fig.latency_median_ms is not None and fig.latency_p90_ms is not None
