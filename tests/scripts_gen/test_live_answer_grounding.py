"""Issue 16 items 1-3 on real rooms: answers grounded in the facts of the product they talk about,
honest abstentions on safety questions, and retrieval across zh/en paraphrases.

The first test is the issue's reproduction: the bundled sample room with the serum on air, and the
questions that today get a made-up pregnancy answer, the cream's shelf life, a missed shipping fact
and a price for a comparison."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
def room_zh() -> LiveRoom:
    data = yaml.safe_load((SAMPLES / "room_zh.yaml").read_text(encoding="utf-8"))
    return LiveRoom(name=data["name"], products=data["products"], knowledge_base=data["knowledge_base"])


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


class _CompletionServer:
    """An OpenAI-compatible completions endpoint on loopback that replies with the given texts in turn."""

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.calls = texts, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers["Content-Length"]))
                text = server.texts[min(server.calls, len(server.texts) - 1)]
                server.calls += 1
                data = json.dumps({"choices": [{"text": text, "index": 0}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def llm_answers() -> Iterator[Any]:
    from adloom.scripts_gen.llm.openai_http import OpenAIBackend

    servers: list[_CompletionServer] = []

    def start(texts: list[str]) -> OpenAIBackend:
        servers.append(_CompletionServer(texts))
        return OpenAIBackend(servers[-1].url, "stub", retries=0)

    yield start
    for s in servers:
        s.close()


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
