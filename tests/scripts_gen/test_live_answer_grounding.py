"""Issue 16 items 1-3 on real rooms: answers grounded in the facts of the product they talk about,
honest abstentions on safety questions, and retrieval across zh/en paraphrases.

The first test is the issue's reproduction: the bundled sample room with the serum on air, and the
questions that today get a made-up pregnancy answer, the cream's shelf life, a missed shipping fact
and a price for a comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from adloom.core.datafiles import DataFileError, load_data, package_data_path
from adloom.core.text import numbers_in
from adloom.core.types import LiveRoom, Product
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.live_answer import (
    AbstainFile,
    AnswerResult,
    AnswersFile,
    LiveAnswerer,
    abstain_topics,
    focus_by_product_id,
)
from adloom.scripts_gen.live_script import product_id

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
SERUM, CREAM, CLEANSER = 0, 1, 2


@pytest.fixture
def room_en() -> LiveRoom:
    product = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text(encoding="utf-8"))["product"]
    kb = [
        "BreezeBot S2 works on carpets and hard floors.",
        "The battery runs 150 minutes per charge.",
        "Orders ship within 48 hours of payment.",
        "Unopened filters keep for two years.",
    ]
    return LiveRoom(name="Breeze Home", language="en", products=[product], knowledge_base=kb)


def on_air(room: LiveRoom, index: int) -> LiveAnswerer:
    """An answerer whose director has product ``index`` on air (the room's own focus wiring)."""
    pid = product_id(room.products[index])
    return LiveAnswerer(room, industry="beauty", focus=focus_by_product_id(room, lambda: pid))


def product_facts(room: LiveRoom, index: int | None) -> set[str]:
    """Every text an answer about product ``index`` may be built from: its fields, its KB lines, room-wide lines."""
    kb = LiveAnswerer(room, industry="beauty").kb
    return {f.text for f in kb.facts if f.product is None or f.product == index} | {
        sp for sp in (room.products[index].selling_points if index is not None else [])
    }


def assert_grounded(room: LiveRoom, r: AnswerResult) -> None:
    """The facts an answer cites belong to the product it names (or the room), and so do its numbers."""
    allowed = product_facts(room, r.product_index)
    assert set(r.facts) <= allowed, (r.text, set(r.facts) - allowed)
    name_numbers = numbers_in(" ".join(p.name for p in room.products))
    assert numbers_in(r.text) <= numbers_in(" ".join(r.facts)) | name_numbers, r.text
    if r.product_index is not None and len(room.products) > 1 and r.kind in ("answer", "purchase", "abstain"):
        assert room.products[r.product_index].name in r.text  # says which product it means


def test_the_issues_questions_with_the_serum_on_air(room_zh: LiveRoom) -> None:
    a = on_air(room_zh, SERUM)
    ask = a.answer_detail
    checker = ComplianceChecker()

    pregnant = ask("孕妇可以用吗")
    assert pregnant.kind == "abstain" and pregnant.product_index == SERUM
    assert "孕妇可以用" not in pregnant.text and "医生" in pregnant.text and "水润保湿精华" in pregnant.text

    shelf = ask("保质期多久")
    assert shelf.kind == "answer" and shelf.product_index == SERUM
    assert "六个月内用完" in shelf.text and "三年" not in shelf.text
    assert shelf.facts == ["水润保湿精华开封后建议六个月内用完。"]

    shipping = ask("发货要多久")
    assert shipping.kind == "answer" and "付款后48小时内发货" in shipping.text

    compare = ask("和某某大牌比哪个好")
    assert compare.kind == "comparison" and compare.product_index == SERUM
    assert "某某" not in compare.text and "129" not in compare.text
    assert set(compare.facts) <= set(room_zh.products[SERUM].selling_points) and compare.facts

    acne = ask("能治痘吗")
    assert acne.kind == "abstain" and "治" not in acne.text.replace("能治痘", "")

    allergy = ask("过敏体质能用吗")
    assert allergy.kind == "abstain" and "试用" in allergy.text

    buy = ask("怎么买")
    assert buy.kind == "purchase" and "到手价129元" in buy.text and "5毫升小样" in buy.text

    oily = ask("油皮能用吗")
    assert oily.kind == "answer" and "油皮也可以少量使用" in oily.text

    for r in (pregnant, shelf, shipping, compare, acne, allergy, buy, oily):
        assert_grounded(room_zh, r)
        assert r.findings == [] and r.latency_s >= 0
        assert checker.check(r.text, language="zh", industry="beauty") == []
    assert a("孕妇可以用吗", viewer="小王", language="zh", timeout_s=2.0) == pregnant.text  # the Responder path


@pytest.mark.parametrize("index", [SERUM, CREAM, CLEANSER])
def test_every_answer_is_about_the_product_on_air_or_the_one_named(room_zh: LiveRoom, index: int) -> None:
    a = on_air(room_zh, index)
    questions = [
        "保质期多久",
        "开封后能放多久",
        "适合什么肤质",
        "有什么成分",
        "多大容量",
        "怎么用",
        "多少钱",
        "有赠品吗",
    ]
    for q in questions:
        r = a.answer_detail(q)
        assert r.product_index in (index, None), (q, r)
        assert_grounded(room_zh, r)
    named = a.answer_detail("修护保湿面霜保质期多久")
    assert named.product_index == CREAM and "三年" in named.text


def test_a_fact_only_another_product_has_is_not_borrowed(room_zh: LiveRoom) -> None:
    r = on_air(room_zh, CLEANSER).answer_detail("保质期多久")
    assert r.kind == "unknown" and r.product_index == CLEANSER and "温和洁面乳" in r.text
    assert "三年" not in r.text and "六个月" not in r.text and r.facts == []


def test_knowledge_base_lines_belong_to_the_product_they_name(room_zh: LiveRoom) -> None:
    kb = LiveAnswerer(room_zh, industry="beauty").kb
    owner = {f.text: f.product for f in kb.facts if f.kind == "kb"}
    assert owner["水润保湿精华开封后建议六个月内用完。"] == SERUM
    assert owner["修护保湿面霜保质期三年，开封后建议一年内用完。"] == CREAM
    assert owner["温和洁面乳早晚都可以用，敏感肌也可以先在耳后试用。"] == CLEANSER
    assert owner["支持七天无理由退货。"] is None
    short = LiveRoom(name="t", products=room_zh.products, knowledge_base=["面霜冬天也不会搓泥。"])
    assert LiveAnswerer(short, industry="beauty").kb.facts[-1].product == CREAM  # "面霜" names only the cream


def test_a_safety_question_the_knowledge_base_answers_is_answered(room_zh: LiveRoom) -> None:
    kb = [*room_zh.knowledge_base, "水润保湿精华孕妇也可以使用，不含酒精。"]
    room = LiveRoom(name="t", products=room_zh.products, knowledge_base=kb)
    serum = on_air(room, SERUM).answer_detail("孕妇可以用吗")
    assert serum.kind == "answer" and "孕妇也可以使用" in serum.text
    cream = on_air(room, CREAM).answer_detail("孕妇可以用吗")  # the serum's line says nothing of the cream
    assert cream.kind == "abstain" and cream.product_index == CREAM and "孕妇也可以" not in cream.text


def test_abstention_topics_follow_the_industry() -> None:
    room = LiveRoom(
        name="零食铺",
        products=[Product(name="坚果燕麦脆", selling_points=["每袋30克", "低温烘焙"], price=39)],
        knowledge_base=["坚果燕麦脆常温保存，开封后两周内吃完。"],
    )
    food = LiveAnswerer(room, industry="food")
    assert food.answer_detail("吃了能减肥吗").kind == "abstain"
    assert food.answer_detail("小孩能吃吗").kind == "abstain"  # 'all' topics apply to every industry
    assert food.answer_detail("开封后能放多久").text == "坚果燕麦脆常温保存，开封后两周内吃完。"
    assert LiveAnswerer(room, industry="beauty").answer_detail("吃了能减肥吗").kind != "abstain"
    topics = {t.topic for t in abstain_topics().topics(food.industry)}
    assert {"pregnancy", "children", "allergy", "medical_efficacy", "drug_interaction", "diet_health"} <= topics


@pytest.mark.parametrize(
    ("question", "kind", "expect"),
    [
        ("how long does delivery take?", "answer", "ship within 48 hours"),
        ("when will my order arrive", "answer", "ship within 48 hours"),
        ("what's the shelf life of the filters", "answer", "keep for two years"),
        ("does it work on carpet?", "answer", "carpets and hard floors"),
        ("how much is it?", "purchase", "$299"),
        ("is it better than Dyson?", "comparison", "won't compare"),
        ("is it safe for my baby?", "abstain", "children"),
        ("can it cure my asthma", "abstain", "doctor"),
        ("I'm pregnant, is the dust bad for me?", "abstain", "pregnancy"),
        ("what's the weather like", "off_topic", "double-check"),
    ],
)
def test_english_paraphrases_and_kinds(room_en: LiveRoom, question: str, kind: str, expect: str) -> None:
    r = LiveAnswerer(room_en, industry="home").answer_detail(question)
    assert r.kind == kind and expect in r.text, r
    assert_grounded(room_en, r)


def test_an_english_question_in_a_chinese_room_finds_the_chinese_entry(room_zh: LiveRoom) -> None:
    r = on_air(room_zh, SERUM).answer_detail("shelf life?")
    assert r.facts == ["水润保湿精华开封后建议六个月内用完。"]


def test_a_comparison_of_our_own_products_describes_each(room_zh: LiveRoom) -> None:
    r = on_air(room_zh, SERUM).answer_detail("精华和面霜哪个好")
    assert r.kind == "comparison" and r.findings == []
    assert "含透明质酸" in r.text and "含神经酰胺" in r.text
    assert "最" not in r.text and "更好" not in r.text


def test_data_files_are_validated(tmp_path: Path) -> None:
    shipped = yaml.safe_load(package_data_path("live", "abstain.yaml").read_text(encoding="utf-8"))
    bad = dict(shipped, industries={"cosmetics": []})
    path = tmp_path / "abstain.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"abstain.yaml:\d+: industries.*unknown industries \['cosmetics'\]"):
        load_data(path, AbstainFile)
    slot = dict(shipped)
    slot["industries"] = {"all": [dict(shipped["industries"]["all"][0], reply={"zh": "{name}不行", "en": "no"})]}
    path.write_text(yaml.safe_dump(slot, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"unknown slot\(s\) \['name'\]"):
        load_data(path, AbstainFile)
    answers = yaml.safe_load(package_data_path("live", "answers.yaml").read_text(encoding="utf-8"))
    answers["comparison"]["zh"].append("比(")
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError, match="not a valid regular expression"):
        load_data(path, AnswersFile)


# --------------------------------------------------------------------------- the LLM may only rephrase


@pytest.fixture
def llm_answers(loopback_llm: Any) -> Any:
    """``start(texts)``: a real OpenAIBackend whose loopback server answers with these texts, in turn."""
    return loopback_llm


def test_a_grounded_clean_rephrasing_is_kept(room_zh: LiveRoom, llm_answers: Any) -> None:
    pid = product_id(room_zh.products[SERUM])
    backend = llm_answers(["水润保湿精华适合干皮和混合皮，油皮少量使用也可以。"])
    a = LiveAnswerer(room_zh, industry="beauty", backend=backend, focus=focus_by_product_id(room_zh, lambda: pid))
    try:
        r = a.answer_detail("油皮能用吗", timeout_s=10)
    finally:
        a.close()
    assert r.text == "水润保湿精华适合干皮和混合皮，油皮少量使用也可以。" and a.stats.llm == 1
    assert r.product_index == SERUM and "水润保湿精华适合干皮和混合皮，油皮也可以少量使用。" in r.facts


def test_a_rephrasing_that_adds_a_claim_is_replaced_by_the_template(room_zh: LiveRoom, llm_answers: Any) -> None:
    pid = product_id(room_zh.products[SERUM])
    backend = llm_answers(["水润保湿精华适合干皮和混合皮，油皮也可以少量使用，还能美白祛斑。"])
    a = LiveAnswerer(room_zh, industry="beauty", backend=backend, focus=focus_by_product_id(room_zh, lambda: pid))
    try:
        r = a.answer_detail("油皮能用吗", timeout_s=10)
    finally:
        a.close()
    assert a.stats.llm == 0 and a.stats.llm_rejected == 1 and a.stats.template == 1
    assert r.text == "水润保湿精华适合干皮和混合皮，油皮也可以少量使用。"
    assert any("美白" in n or "祛斑" in n for n in a.stats.notes), a.stats.notes


def test_two_facts_that_repeat_a_phrase_are_not_said_together(room_zh: LiveRoom) -> None:
    """Description and selling point both say "含透明质酸": the best fact alone is spoken."""
    r = on_air(room_zh, SERUM).answer_detail("有什么成分")
    assert r.kind == "answer" and "透明质酸" in r.text and r.text.count("透明质酸") == 1
    assert len(r.facts) == 1 and r.findings == []
    assert_grounded(room_zh, r)


def test_a_verbatim_fact_is_not_held_to_ad_copy_style() -> None:
    """ "含坚果，坚果过敏者…" repeats a word (an ad-copy finding), yet it is the advertiser's own safety line."""
    room = LiveRoom(
        name="零食铺",
        products=[Product(name="坚果燕麦脆", selling_points=["每袋30克"], price=39)],
        knowledge_base=["坚果燕麦脆含坚果，坚果过敏者请勿食用。"],
    )
    r = LiveAnswerer(room, industry="food").answer_detail("坚果过敏能吃吗")
    assert r.kind == "answer" and r.text == "坚果燕麦脆含坚果，坚果过敏者请勿食用。" and r.findings == []


def test_a_word_inside_another_products_name_does_not_switch_product() -> None:
    """ "坚果" is part of 坚果燕麦脆's name and an everyday word: asked while the strawberries are on air,
    "有坚果吗" is about the strawberries; "燕麦脆" (the name's ending) does name the other product."""
    room = LiveRoom(
        name="零食铺",
        products=[
            Product(name="坚果燕麦脆", selling_points=["每袋30克"], price=39),
            Product(name="冻干草莓块", selling_points=["每罐50克", "不额外加糖"], price=29),
        ],
        knowledge_base=["坚果燕麦脆含坚果，坚果过敏者请勿食用。"],
    )
    a = LiveAnswerer(room, industry="food", focus=lambda: 1)
    nuts = a.answer_detail("有坚果吗")
    assert nuts.product_index == 1 and nuts.kind == "unknown" and "冻干草莓块" in nuts.text
    assert a.answer_detail("燕麦脆多少钱").product_index == 0
    sweet = a.answer_detail("坚果燕麦脆甜吗")  # the name alone does not cover a question about taste
    assert sweet.kind == "unknown" and sweet.product_index == 0


def test_a_special_use_claim_is_not_promised(room_zh: LiveRoom) -> None:
    r = on_air(room_zh, SERUM).answer_detail("能美白吗")
    assert r.kind == "abstain" and "美白" not in r.text and "水润保湿精华" in r.text


@pytest.mark.parametrize(
    ("question", "kind", "expect"),
    [
        ("这个是什么", "answer", "水润保湿精华是一款清爽质地的面部保湿精华"),
        ("什么牌子", "answer", "澄光水润保湿精华"),
        ("主播多大了", "off_topic", "这个我需要再确认一下"),  # "多大" is not the serum's size here
        ("比兰蔻怎么样", "comparison", "别的品牌我不做比较"),
        ("吃着药能用吗", "abstain", "医生或药师"),
        ("会不会闷痘", "abstain", "试用"),
        ("今天有什么活动", "purchase", "5毫升小样"),
        ("晚上可以用吗", "answer", "适合早晚护肤使用"),
        ("适合什么人", "answer", "适合干皮和混合皮"),
    ],
)
def test_more_ways_to_ask_on_the_sample_room(room_zh: LiveRoom, question: str, kind: str, expect: str) -> None:
    r = on_air(room_zh, SERUM).answer_detail(question)
    assert r.kind == kind and expect in r.text, r
    assert_grounded(room_zh, r)


def test_electronics_room_travel_water_and_other_brands() -> None:
    room = LiveRoom(
        name="Volt Store",
        language="en",
        products=[
            Product(
                name="Pulse Air Earbuds", selling_points=["30 hours of battery with the case", "IPX4 splash resistant"]
            ),
            Product(name="Volt Power Bank 20K", selling_points=["20000 mAh capacity"], price=39, currency="USD"),
        ],
        knowledge_base=["The Volt Power Bank 20K is allowed in carry-on luggage on most airlines."],
    )
    bank = LiveAnswerer(room, industry="electronics", focus=lambda: 1)
    plane = bank.answer_detail("can I take it on a plane?")
    assert plane.kind == "answer" and "carry-on" in plane.text and plane.product_index == 1
    rival = bank.answer_detail("is it better than AirPods?")  # "Air" of Pulse Air Earbuds is not in "AirPods"
    assert rival.kind == "comparison" and rival.product_index == 1 and "20000 mAh" in rival.text
    buds = LiveAnswerer(room, industry="electronics", focus=lambda: 0)
    rain = buds.answer_detail("is it waterproof?")
    assert rain.kind == "answer" and rain.text == "Pulse Air Earbuds: IPX4 splash resistant."
    assert buds.answer_detail("can I take it on a plane?").kind == "unknown"  # the bank's line is not the buds'


def test_food_room_in_english_quotes_the_facts_a_safety_reply_can_stand_on() -> None:
    room = LiveRoom(
        name="Harvest Pantry",
        language="en",
        products=[
            Product(name="Maple Granola", selling_points=["400 g resealable bag"], price=8.5, currency="USD"),
            Product(
                name="Cold Brew Concentrate", selling_points=["makes 16 cups per bottle"], price=14, currency="USD"
            ),
        ],
        knowledge_base=["Maple Granola contains pecans and is made in a facility that handles peanuts."],
    )
    granola = LiveAnswerer(room, industry="food", focus=lambda: 0)
    peanut = granola.answer_detail("I have a peanut allergy, is it safe?")
    assert peanut.kind == "abstain" and "handles peanuts" in peanut.text and "doctor" in peanut.text
    assert peanut.facts == ["Maple Granola contains pecans and is made in a facility that handles peanuts."]
    coffee = LiveAnswerer(room, industry="food", focus=lambda: 1).answer_detail("I have a peanut allergy, is it safe?")
    assert coffee.kind == "abstain" and "peanut" not in coffee.text.lower()  # the granola's line is not the coffee's
    assert granola.answer_detail("how much caffeine?").kind != "purchase"  # "how much" is not always the price
    assert granola.answer_detail("how much is it?").text.startswith("Maple Granola is $8.50")


def test_a_word_of_the_product_name_is_not_evidence_for_an_intent() -> None:
    """ "防晒" is in 轻透防晒乳's name, so its price line says nothing about its sun protection."""
    room = LiveRoom(
        name="晴空防护",
        products=[Product(name="轻透防晒乳", selling_points=["SPF50+ PA++++", "40毫升"], price=89)],
        knowledge_base=["下单后48小时内发货。"],
    )
    a = LiveAnswerer(room, industry="beauty", focus=lambda: 0)
    for question in ("防晒指数多少", "SPF多少"):
        r = a.answer_detail(question)
        assert r.kind == "answer" and "SPF50+ PA++++" in r.text and "89" not in r.text, r
    assert a.answer_detail("晒黑了能变白吗").kind == "abstain"  # a whitening promise is not ours to make


# --------------------------------------------------------------------------- liveans2: failure classes
# Each class of miss found on the bench (issue 16) is checked here with new rooms and new questions,
# zh and en, so the fix is shown to be general rather than fitted to the bench's sentences.


def _room(language: str, products: list[dict[str, Any]], kb: list[str]) -> LiveRoom:
    return LiveRoom(name="test room", language=language, products=products, knowledge_base=kb)


@pytest.fixture
def audio_en() -> LiveRoom:
    return _room(
        "en",
        [
            {
                "name": "Orbit Sport Headphones",
                "price": 59,
                "currency": "USD",
                "selling_points": ["40 hours of playtime", "Comes with four ear tip sizes"],
            },
            {
                "name": "Pulse Charging Stand",
                "price": 29,
                "currency": "USD",
                "selling_points": ["15 W wireless charging pad"],
            },
        ],
        [
            "Pulse Charging Stand works with Qi phones in cases up to 4 mm.",
            "Pulse Charging Stand LEDs are rated for 30000 hours.",
            "Shipping is free on every order.",
            "Limit 3 units per customer.",
        ],
    )


@pytest.fixture
def beauty_zh() -> LiveRoom:
    return _room(
        "zh",
        [
            {"name": "晨雾哑光口红", "price": 79, "selling_points": ["八个色号可选，经典色是05豆沙"]},
            {"name": "云朵洁颜油", "price": 99, "selling_points": ["200毫升家庭装"]},
        ],
        [
            "晨雾哑光口红持妆约八小时，喝水后建议补涂。",
            "云朵洁颜油请用干手干脸，每次按压三泵。",
            "每个账号限购三件。",
            "付款后72小时内发货。",
        ],
    )


@pytest.fixture
def pantry() -> dict[str, LiveRoom]:
    en = _room(
        "en",
        [
            {"name": "Meadow Raw Honey", "price": 14, "currency": "USD", "selling_points": ["450 g jar"]},
            {"name": "Hillside Oat Bars", "price": 6, "currency": "USD", "selling_points": ["Box of 8 bars"]},
        ],
        [
            "Meadow Raw Honey can crystallise in the cold; stand the jar in warm water to soften it.",
            "Meadow Raw Honey is raw and never heated.",
            "Meadow Raw Honey comes from hives in Oregon.",
            "Hillside Oat Bars are best within 3 months of baking.",
        ],
    )
    zh = _room(
        "zh",
        [
            {"name": "云栖绿茶", "price": 68, "selling_points": ["明前采摘"]},
            {"name": "槐花蜂蜜", "price": 45, "selling_points": ["500克玻璃瓶"]},
        ],
        ["云栖绿茶产自浙江杭州。", "槐花蜂蜜低温下会结晶，隔水加热到40度以下即可化开。"],
    )
    return {"en": en, "zh": zh}


def _ask(room: LiveRoom, industry: str, on: int, question: str) -> AnswerResult:
    """The answer with product ``on`` on air; an answer about one product is checked grounded in its facts,
    a side-by-side comparison of our products in theirs."""
    pid = product_id(room.products[on])
    answerer = LiveAnswerer(room, industry=industry, focus=focus_by_product_id(room, lambda: pid))
    r = answerer.answer_detail(question)
    if r.kind == "comparison" and len(r.facts) > 1:
        allowed = set().union(*(product_facts(room, i) for i in range(len(room.products))))
        assert set(r.facts) <= allowed and numbers_in(r.text) <= numbers_in(" ".join(r.facts)), r
    else:
        assert_grounded(room, r)
    return r


def test_an_english_product_named_in_the_plural_or_singular(audio_en: LiveRoom) -> None:
    """Name terms are indexed singular: "the headphones" and "a headphone" both name Orbit Sport Headphones."""
    for q in ("the headphones, what's the price again", "how much is a headphone"):
        r = _ask(audio_en, "electronics", 1, q)
        assert r.product_index == 0 and "59" in r.text and "29" not in r.text, (q, r)
    stands = _ask(audio_en, "electronics", 0, "how much are the stands")
    assert stands.product_index == 1 and "29" in stands.text


def test_the_fact_showing_more_of_the_questions_intents_wins(audio_en: LiveRoom, beauty_zh: LiveRoom) -> None:
    """Charging through a case: the fact on charging AND what it works with, not the pad's wattage."""
    r = _ask(audio_en, "electronics", 1, "will charging work through my phone case")
    assert "4 mm" in r.text and r.kind == "answer", r
    room = _room(
        "zh",
        [{"name": "极光无线充电座", "price": 99, "selling_points": ["15瓦无线充电"]}],
        ["极光无线充电座充电兼容带壳手机，壳厚不超过4毫米。"],
    )
    zh = _ask(room, "electronics", 0, "充电支持带壳的手机吗")
    assert "4毫米" in zh.text, zh


@pytest.mark.parametrize(
    ("question", "expect"),
    [
        ("do you charge extra for delivery", "free"),  # 'charge' is a fee here, not the battery
        ("how many hours of playtime", "40 hours"),
        ("will they fall out when I run", "four ear tip"),
        ("how long will the stand's LEDs last", "30000"),
        ("is there a limit per person", "Limit 3"),
    ],
)
def test_english_electronics_intents(audio_en: LiveRoom, question: str, expect: str) -> None:
    on = 1 if "stand" in question else 0
    r = _ask(audio_en, "electronics", on, question)
    assert r.kind == "answer" and expect in r.text, (question, r)


@pytest.mark.parametrize(
    ("on", "question", "expect"),
    [
        (0, "涂一次能撑多久", "八小时"),
        (0, "有哪些颜色可以选", "色号"),
        (1, "湿着手能用吗", "干手"),
        (1, "每次要挤多少", "三泵"),
        (0, "每人最多买几件", "三件"),
        (0, "拍完多久能发", "72"),
    ],
)
def test_chinese_beauty_intents(beauty_zh: LiveRoom, on: int, question: str, expect: str) -> None:
    r = _ask(beauty_zh, "beauty", on, question)
    assert r.kind == "answer" and expect in r.text, (question, r)


@pytest.mark.parametrize(
    ("language", "on", "question", "expect"),
    [
        ("en", 0, "my honey turned grainy, is it ruined", "warm water"),
        ("en", 0, "is it pasteurised or raw", "never heated"),
        ("en", 0, "what's the origin of this honey", "Oregon"),
        ("en", 1, "how long do the bars stay fresh", "3 months"),
        ("zh", 1, "蜂蜜结晶了还能吃吗", "40"),
        ("zh", 0, "茶叶产地是哪里", "杭州"),
    ],
)
def test_food_intents(pantry: dict[str, LiveRoom], language: str, on: int, question: str, expect: str) -> None:
    r = _ask(pantry[language], "food", on, question)
    assert r.kind == "answer" and expect in r.text, (question, r)


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("zh", "在哪拍呀"),
        ("zh", "想拍三件"),
        ("zh", "加了购物车怎么结算"),
        ("zh", "今天有送东西吗"),
        ("en", "drop the link"),
        ("en", "where do I check out"),
        ("en", "how can i pay"),
        ("en", "any freebies with it"),
    ],
)
def test_purchase_phrasings(audio_en: LiveRoom, beauty_zh: LiveRoom, language: str, question: str) -> None:
    room, price = (beauty_zh, "79") if language == "zh" else (audio_en, "59")
    r = _ask(room, "beauty" if language == "zh" else "electronics", 0, question)
    assert r.kind == "purchase" and price in r.text, (question, r)


@pytest.mark.parametrize("question", ["this or the Sennheiser ones?", "Jabra's or yours"])
def test_an_either_or_with_another_brand_is_a_comparison(audio_en: LiveRoom, question: str) -> None:
    r = _ask(audio_en, "electronics", 0, question)
    assert r.kind == "comparison" and "Sennheiser" not in r.text and "Jabra" not in r.text, r


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("en", "I have tinnitus, are loud headphones a problem"),
        ("en", "I'm epileptic, is the stand's blinking light ok"),
        ("en", "any side effects from wearing them all day"),
        ("en", "will these fix my insomnia"),
        ("zh", "我有耳鸣 能戴吗"),
        ("zh", "长期涂会不会有副作用"),
        ("zh", "有癫痫的人看闪光没事吧"),
        ("zh", "对身体有害吗"),
    ],
)
def test_health_questions_the_notes_do_not_answer_abstain(
    audio_en: LiveRoom, beauty_zh: LiveRoom, language: str, question: str
) -> None:
    room, industry = (beauty_zh, "beauty") if language == "zh" else (audio_en, "electronics")
    r = _ask(room, industry, 0, question)
    assert r.kind == "abstain", (question, r)


def test_a_room_policy_naming_a_product_as_an_exception_is_room_wide(audio_en: LiveRoom, beauty_zh: LiveRoom) -> None:
    """A returns line that names one product only as an exception answers for every product on air."""
    zh = beauty_zh.model_copy(
        update={"knowledge_base": [*beauty_zh.knowledge_base, "支持七天无理由退货，拆封的口红不退。"]}
    )
    r = _ask(zh, "beauty", 1, "不喜欢可以退吗")  # the cleansing oil on air
    assert r.kind == "answer" and "七天" in r.text, r
    en = audio_en.model_copy(
        update={
            "knowledge_base": [
                *audio_en.knowledge_base,
                "Free returns within 30 days, except opened Orbit Sport Headphones.",
            ]
        }
    )
    r = _ask(en, "electronics", 1, "can I send it back")  # the stand on air
    assert r.kind == "answer" and "30 days" in r.text, r


def test_a_safety_line_naming_another_product_is_not_an_answer_for_this_one(beauty_zh: LiveRoom) -> None:
    """'哺乳期可以使用，晨雾哑光口红除外' is room-wide by its first clause, but it is not quoted as a safety
    answer for a product it does not name: that product gets the honest abstention."""
    room = beauty_zh.model_copy(
        update={"knowledge_base": [*beauty_zh.knowledge_base, "哺乳期可以使用，晨雾哑光口红除外。"]}
    )
    lipstick = _ask(room, "beauty", 0, "哺乳期能涂吗")
    assert lipstick.kind == "answer" and "除外" in lipstick.text, lipstick  # the line, verbatim, with its exception
    oil = _ask(room, "beauty", 1, "哺乳期能用吗")
    assert oil.kind == "abstain", oil


@pytest.mark.parametrize(
    ("on", "question", "kind", "expect"),
    [
        (0, "這款口紅多少錢", "purchase", "79"),
        (0, "是哪個牌子的口紅", "answer", "晨雾哑光口红"),
        (1, "孕婦可以用嗎", "abstain", "医生"),  # a Traditional safety question still meets its trigger
        (1, "手是濕的能用嗎", "answer", "干手"),
    ],
)
def test_traditional_chinese_questions_read_as_simplified(
    beauty_zh: LiveRoom, on: int, question: str, kind: str, expect: str
) -> None:
    r = _ask(beauty_zh, "beauty", on, question)
    assert r.kind == kind and expect in r.text, (question, r)


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("zh", "孕晚期涂口红要紧吗"),  # 孕 is the root: 孕晚期, 孕中期, 备孕
        ("zh", "生理期可以用洁颜油吗"),
        ("zh", "给家里长辈用合适吗"),
        ("zh", "血糖高的人能用吗"),
        ("zh", "甲状腺不好有影响吗"),
        ("zh", "能去掉闭口吗"),
        ("zh", "口红含铅吗"),
        ("en", "my grandpa wants a pair, is that ok for him"),
        ("en", "I have a thyroid issue, fine to use?"),
        ("en", "I'm on isotretinoin, does that matter"),
        ("en", "does the stand have any lead or mercury in it"),
        ("en", "ok for my 9 month old to hold"),
    ],
)
def test_more_health_phrasings_abstain(audio_en: LiveRoom, beauty_zh: LiveRoom, language: str, question: str) -> None:
    room, industry = (beauty_zh, "beauty") if language == "zh" else (audio_en, "electronics")
    r = _ask(room, industry, 0, question)
    assert r.kind == "abstain", (question, r)


def test_a_whole_word_trigger_does_not_fire_inside_a_longer_word() -> None:
    """'kid$' is kid or kids, not kidney; 'lead$' is not 'leading' (a kidney question still abstains: a condition)."""
    room = _room(
        "en",
        [{"name": "Trail Snack Mix", "price": 5, "currency": "USD", "selling_points": ["Leading brand of trail mix"]}],
        ["Trail Snack Mix contains almonds and cashew nuts."],
    )
    kids = _ask(room, "food", 0, "are these ok for kids")
    kidney = _ask(room, "food", 0, "I have kidney stones, ok to eat?")
    assert kids.kind == kidney.kind == "abstain"
    assert "children" in kids.text and "children" not in kidney.text, (kids.text, kidney.text)
    assert _ask(room, "food", 0, "does it contain nuts").kind == "answer"


def test_comparing_the_product_on_air_with_another_of_ours_describes_both(
    audio_en: LiveRoom, beauty_zh: LiveRoom
) -> None:
    """'Is it better than the stand?' with the headphones on air compares our two products, each by its own facts."""
    zh = _ask(beauty_zh, "beauty", 0, "比洁颜油好用吗")
    assert zh.kind == "comparison" and "晨雾哑光口红" in zh.text and "云朵洁颜油" in zh.text, zh
    assert "别的品牌" not in zh.text
    en = _ask(audio_en, "electronics", 0, "is it better than the charging stand")
    assert en.kind == "comparison" and "Orbit Sport Headphones" in en.text and "Pulse Charging Stand" in en.text, en


def test_how_long_it_can_be_used_is_shelf_life_for_skin_care(room_zh: LiveRoom) -> None:
    r = on_air(room_zh, CREAM).answer_detail("这瓶能用多久")
    assert r.kind == "answer" and "一年" in r.text, r


def test_a_product_named_by_its_everyday_name(audio_en: LiveRoom, beauty_zh: LiveRoom) -> None:
    """'唇膏' names 晨雾哑光口红 and 'earphones' the headphones, from answers.yaml's aliases."""
    zh = _ask(beauty_zh, "beauty", 1, "唇膏多少钱")  # the cleansing oil on air
    assert zh.product_index == 0 and "79" in zh.text, zh
    en = _ask(audio_en, "electronics", 1, "what do the earphones cost")  # the stand on air
    assert en.product_index == 0 and "59" in en.text, en


def test_an_alias_two_products_could_answer_to_names_neither() -> None:
    """With a lipstick and a lip glaze in the room, '唇彩' (an alias of both) switches to neither."""
    room = _room(
        "zh",
        [
            {"name": "晨雾哑光口红", "price": 79, "selling_points": ["八个色号可选"]},
            {"name": "水光唇釉", "price": 59, "selling_points": ["镜面水光"]},
        ],
        [],
    )
    answerer = LiveAnswerer(room, industry="beauty")
    assert answerer.kb.named("唇彩多少钱") == []
    assert answerer.kb.named("口红多少钱") == [0]  # the lipstick's own name word, not an alias
