"""The copy reviewer: precision/recall on the labelled set, and each check in zh and en."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from adloom.core.datafiles import DataFileError, load_data, package_data_path
from adloom.core.types import Brief, Language, Product, Provenance, Script, Shot, ShotRole
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.objectives import cta_templates, resolve_objective
from adloom.scripts_gen.review import Finding, Reviewer
from adloom.scripts_gen.review.evaluate import LINE_RULES, ExemplarLines, evaluate, exemplar_script, load_labelled_set
from adloom.scripts_gen.review.lexicon import ReviewLexicon

SET_PATH = Path(__file__).parent / "data" / "copy_review_set.yaml"
TARGET = 0.9  # the aim for every defect, precision and recall alike


@pytest.fixture(scope="module")
def labelled():
    return load_labelled_set(SET_PATH)


@pytest.fixture(scope="module")
def evaluation(labelled):
    return evaluate(labelled)


# --------------------------------------------------------------------------- the labelled set


def test_labelled_set_is_big_balanced_and_covers_every_industry_and_rule(labelled):
    lines = [(case, line) for case in labelled.cases for line in case.lines]
    assert len(lines) >= 300
    good = sum(1 for _, line in lines if not line.defects)
    assert good / len(lines) >= 0.4
    assert {case.brief.language for case in labelled.cases} == set(Language)
    assert len({case.brief.industry for case in labelled.cases}) == 10
    tagged = Counter(d for _, line in lines for d in line.defects)
    assert set(LINE_RULES) <= set(tagged), f"no labelled example of {set(LINE_RULES) - set(tagged)}"


@pytest.mark.parametrize("rule", LINE_RULES)
def test_reviewer_precision_and_recall_per_rule(evaluation, rule):
    score = evaluation.per_rule[rule]
    assert score.precision >= TARGET, f"{rule}: precision {score.precision:.3f} ({score.fp} false alarms)"
    assert score.recall >= TARGET, f"{rule}: recall {score.recall:.3f} ({score.fn} misses)"


def test_brief_findings_on_the_labelled_set(evaluation):
    assert evaluation.brief.tp == 3
    assert evaluation.brief.precision >= TARGET and evaluation.brief.recall >= TARGET


# --------------------------------------------------------------------------- helpers


def zh_brief(**kw) -> Brief:
    product = {
        "name": "声悦Air3 无线降噪蓝牙耳机",
        "brand": "声悦",
        "selling_points": ["主动降噪，深度达42dB", "配合充电盒续航30小时", "蓝牙5.3，连接稳定"],
        "price": 299,
        "offer": "首发赠保护套",
        **kw.pop("product", {}),
    }
    return Brief(product=Product(**product), industry=kw.pop("industry", "electronics"), language="zh", **kw)


def en_brief(**kw) -> Brief:
    product = {
        "name": "Pulse Buds Pro",
        "brand": "Pulse",
        "selling_points": [
            "30-hour battery with the charging case",
            "Active noise cancellation",
            "IPX4 sweat resistance",
        ],
        "price": 49,
        "currency": "USD",
        **kw.pop("product", {}),
    }
    return Brief(product=Product(**product), industry=kw.pop("industry", "electronics"), language="en", **kw)


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def line(reviewer: Reviewer, text: str, field: str = "shots[1].narration", role: ShotRole = ShotRole.feature):
    return reviewer.review_line(text, field=field, role=role)


def script(brief: Brief, hook: str, narrations: list[str], cta: str, captions: list[str] | None = None) -> Script:
    roles = [ShotRole.hook, *[ShotRole.feature] * (len(narrations) - 2), ShotRole.cta]
    captions = captions or [""] * len(narrations)
    shots = [
        Shot(
            index=i,
            role=r,
            duration_s=3,
            visual="产品特写" if brief.language == "zh" else "product close-up",
            narration=n,
            caption=c,
        )
        for i, (r, n, c) in enumerate(zip(roles, narrations, captions, strict=True))
    ]
    return Script(
        language=brief.language,
        industry=brief.industry,
        title="t",
        hook=hook,
        hook_type="demo",
        angle="quality",
        cta=cta,
        shots=shots,
        provenance=Provenance(path="template"),
    )


# --------------------------------------------------------------------------- grounding


def test_grounding_accepts_brief_numbers_in_other_forms():
    zh, en = Reviewer(zh_brief()), Reviewer(en_brief())
    assert line(zh, "加上充电盒能用三十小时。") == []
    assert line(zh, "降噪深度达42分贝。") == []
    assert line(en, "Thirty hours of battery with the charging case.") == []
    assert line(en, "A 30-hour battery, IPX4 sweat resistance.") == []


def test_grounding_flags_invented_numbers_specs_and_ingredients():
    zh, en = Reviewer(zh_brief()), Reviewer(en_brief())
    found = line(zh, "续航长达50小时，支持IPX7防水。")
    assert [(f.rule, f.span) for f in found] == [("grounding", "50小时"), ("grounding", "IPX7"), ("grounding", "防水")]
    assert "brief" in found[0].why
    assert [f.span for f in line(en, "Three hundred grams per bud.")] == ["Three hundred grams"]
    assert rules(line(en, "Bluetooth 5.3 with hyaluronic acid.")) == {"grounding"}


def test_grounding_flags_deals_and_urgency_the_brief_does_not_offer():
    en = Reviewer(en_brief())
    assert rules(line(en, "This deal ends this week.", role=ShotRole.offer)) == {"grounding"}
    with_offer = Reviewer(en_brief(product={"offer": "Free carrying pouch with every order"}))
    assert line(with_offer, "Grab the deal: a free carrying pouch with every order.", role=ShotRole.offer) == []


def test_ordinals_clock_times_and_plain_measure_words_are_not_claims():
    zh, en = Reviewer(zh_brief()), Reviewer(en_brief())
    assert line(en, "Saturday morning, and Sam grabs Pulse Buds Pro.", field="hook", role=ShotRole.hook) == []
    assert rules(line(en, "Made by Sony engineers.")) == {"grounding"}  # a brand the brief never names
    assert line(zh, "第一次戴上就不想摘，一整天都舒服。") == []
    assert line(zh, "早上七点，戴上一副耳机出门。") == []
    assert line(en, "Your first commute with them: this one fits in any pocket.") == []


def test_template_lines_built_from_brief_facts_pass(labelled):
    """The deterministic writer fills slots with brief facts only; such lines must never be flagged."""
    for case in labelled.cases:
        reviewer = Reviewer(case.brief)
        product, zh = case.brief.product, case.brief.language == Language.zh
        texts = []
        for point in reviewer.usable_selling_points():
            texts += [
                f"{point}。" if zh else f"{point}.",
                f"{product.name}，{point}。" if zh else f"With {product.name}: {point}.",
            ]
        if product.price is not None:
            texts.append(f"{product.price_text(case.brief.language)}{'。' if zh else '.'}")
        for text in texts:
            assert reviewer.review_line(text, field="shots[1].narration", role=ShotRole.feature) == [], (case.id, text)


def test_objective_cta_templates_filled_from_the_brief_pass(labelled):
    """Every spoken CTA template of the brief's objective, filled with its name and offer, may ship;
    "免费下载" ("free download") only when the brief says the product is free."""
    for case in labelled.cases:
        brief, zh = case.brief, case.brief.language == Language.zh
        reviewer = Reviewer(brief)
        ref = "这款产品" if zh else "it"
        for template in cta_templates(resolve_objective(brief), brief.language, has_offer=bool(brief.product.offer)):
            text = template.format(name=brief.product.name, ref=ref, offer=brief.product.offer)
            found = rules(reviewer.review_line(text, field="cta", role=ShotRole.cta))
            claims_free = "免费下载" in text and brief.product.price != 0
            assert found == ({"grounding"} if claims_free else set()), (case.id, text)


# --------------------------------------------------------------------------- leakage


def test_exemplar_phrases_and_claims_are_leakage_not_grounding():
    brief = zh_brief()
    ex = exemplar_script(
        ExemplarLines(
            industry="electronics",
            lines=["音乐随身听。", "挤一下耳柄就能切歌，轻轻一点就暂停。", "续航8小时。", "点击下方链接。"],
        ),
        brief,
    )
    reviewer = Reviewer(brief, exemplar=ex)
    found = line(reviewer, "挤一下耳柄就能切歌，轻轻一点就暂停。")
    assert rules(found) == {"leakage"}
    assert [f.rule for f in line(reviewer, "续航8小时。")] == ["leakage"]
    assert line(reviewer, "点击下方链接，马上入手。", field="cta", role=ShotRole.cta) == []  # generic, not leaked
    assert rules(line(Reviewer(brief), "续航8小时。")) == {"grounding"}


def test_english_exemplar_wording_is_leakage():
    brief = en_brief()
    ex = exemplar_script(
        ExemplarLines(industry="electronics", lines=["Music moves.", "Bass you can feel in your chest.", "Tap below."]),
        brief,
    )
    reviewer = Reviewer(brief, exemplar=ex)
    assert rules(line(reviewer, "Bass you can feel in your chest.")) == {"leakage"}
    assert line(reviewer, "Active noise cancellation for your chest pocket commute.") == []


# --------------------------------------------------------------------------- repetition


def test_repetition_within_a_line():
    zh, en = Reviewer(zh_brief()), Reviewer(en_brief())
    assert rules(line(zh, "降噪耳机，降噪耳机，首发赠保护套。")) == {"repetition"}
    assert rules(line(en, "Just $49, $49.", role=ShotRole.offer)) == {"repetition"}
    assert line(zh, "说得多、听得多，戴得久。") == []
    assert line(en, "Loud trains, loud gyms, loud everything.") == []


def test_repetition_across_a_script_and_long_names():
    brief = zh_brief(
        product={"name": "极客坊十二合一扩展坞双网口快充铝合金转接器", "selling_points": ["十二合一接口", "铝合金外壳"]}
    )
    reviewer = Reviewer(brief)
    name = brief.product.name
    s = script(
        brief,
        f"{name}来了。",
        [
            f"{name}来了。",
            f"{name}，十二合一接口。",
            f"{name}，铝合金外壳。",
            "十二合一接口，一根线全搞定。",
            f"入手{name}。",
        ],
        f"入手{name}。",
    )
    found = reviewer.review_script(s)
    long_name = [f for f in found if f.rule == "repetition" and f.span == name]
    assert [f.field for f in long_name] == ["shots[2].narration", "shots[4].narration"]  # after the first two
    assert long_name[0].fix == "这款" + name[-2:]
    same = Reviewer(en_brief()).review_script(
        script(
            en_brief(),
            "Quiet commute.",
            ["Quiet commute.", "Active noise cancellation.", "Active noise cancellation.", "Tap Shop now."],
            "Tap Shop now.",
        )
    )
    assert [(f.rule, f.field) for f in same] == [("repetition", "shots[2].narration")]


# --------------------------------------------------------------------------- meta, truncation, language


def test_meta_labels_and_placeholders():
    zh, en = Reviewer(zh_brief()), Reviewer(en_brief())
    assert rules(line(zh, "镜头一：耳机特写", field="shots[1].caption")) == {"meta"}
    assert rules(line(zh, "旁白：地铁里也安静。")) == {"meta"}
    assert rules(line(en, "Demo. Feature.", field="shots[1].caption")) == {"meta"}
    assert rules(line(en, "Shot 3: earbuds close-up", field="shots[1].caption")) == {"meta"}
    assert rules(line(en, "{name} for your commute.")) == {"meta"}
    assert line(en, "Watch the demo: noise cancellation on a loud train.") == []  # words, not labels
    assert line(zh, "特写镜头：耳机放在桌上", field="shots[1].visual") == []  # a visual describes the shot
    assert rules(line(zh, "XXX耳机放在桌上", field="shots[1].visual")) == {"meta"}


def test_truncated_lines():
    zh, en = Reviewer(zh_brief()), Reviewer(en_brief())
    assert rules(line(zh, "降噪深度达42dB，让你在地铁里也能在", field="shots[1].caption")) == {"truncated"}
    assert rules(line(zh, "配合充电盒续航30小时，", field="shots[1].caption")) == {"truncated"}
    assert rules(line(en, "30-hour battery with the", field="shots[1].caption")) == {"truncated"}
    assert rules(line(en, "Active noise cancellation and a new", field="shots[1].caption")) == {"truncated"}
    assert line(en, "What are you waiting for?") == []
    assert line(zh, "地铁里也安静，一直都在。") == []


def test_wrong_language_fragments():
    zh, en = Reviewer(zh_brief()), Reviewer(en_brief())
    found = line(zh, "降噪效果真的很nice，戴着超comfortable。")
    assert [(f.rule, f.span) for f in found] == [("language", "nice"), ("language", "comfortable")]
    assert line(zh, "声悦Air3，蓝牙5.3连接稳定，app里就能调降噪。") == []  # brand, name and accepted tokens
    assert [(f.rule, f.span) for f in line(en, "Noise cancellation 超强 on the subway.")] == [("language", "超强")]


# --------------------------------------------------------------------------- compliance and grammar


def test_compliance_counts_efficacy_synonyms_the_checker_misses():
    food = Reviewer(
        zh_brief(
            industry="food", product={"name": "低糖燕麦酸奶", "brand": "牧谷", "selling_points": ["每杯含糖3.5克"]}
        )
    )
    assert rules(line(food, "降糖效果好。")) == {"compliance"}
    assert rules(line(food, "喝了能调节血糖。")) == {"compliance"}
    beauty = Reviewer(
        en_brief(
            industry="beauty",
            product={"name": "ClearDay Serum", "brand": "ClearDay", "selling_points": ["2% salicylic acid"]},
        )
    )
    assert rules(line(beauty, "Fights acne while you sleep.")) == {"compliance"}
    assert rules(line(beauty, "It heals breakouts.")) == {"compliance"}
    assert rules(line(beauty, "One of the most popular serums.")) == {"compliance"}


def test_disease_claims_count_in_every_industry():
    home = Reviewer(
        en_brief(
            industry="home",
            product={"name": "CloudRest Pillow", "brand": "CloudRest", "selling_points": ["medium-firm support"]},
        )
    )
    assert rules(line(home, "Cures neck pain in a week.")) == {"compliance"}
    assert rules(line(home, "Kills 99.9% of viruses.")) == {"compliance", "grounding"}
    assert line(home, "Medium-firm support, all night.") == []


def test_disclaimers_are_not_claims():
    fin_en = Reviewer(
        en_brief(
            industry="finance",
            product={"name": "Harbor Savings", "brand": "Harbor", "selling_points": ["4.10% APY"], "price": None},
        )
    )
    assert line(fin_en, "Returns are not guaranteed; APY is variable.") == []
    fin_zh = Reviewer(
        zh_brief(
            industry="finance",
            product={"name": "稳盈宝", "brand": "华信", "selling_points": ["1元起投"], "price": None, "offer": ""},
        )
    )
    assert line(fin_zh, "收益不保证，过往业绩不代表未来表现。") == []
    assert rules(line(fin_zh, "保本保息，零风险。")) == {"compliance"}


def test_a_banned_claim_in_the_name_is_a_brief_finding_not_a_rename():
    brief = zh_brief(
        industry="beauty",
        product={
            "name": "净颜祛痘精华",
            "brand": "净颜",
            "selling_points": ["含2%水杨酸", "7天祛痘", "医院同款"],
            "offer": "",
        },
    )
    reviewer = Reviewer(brief)
    fields = {f.field for f in reviewer.brief_findings()}
    assert {"product.name", "product.selling_points[1]", "product.selling_points[2]"} <= fields
    assert all(f.rule == "brief" and f.why and f.fix == "" for f in reviewer.brief_findings())  # never 祛痘 → 控油
    assert reviewer.usable_selling_points() == ["含2%水杨酸"]
    assert line(reviewer, "净颜祛痘精华，含2%水杨酸。") == []  # the name is said as given
    found = [f for f in line(reviewer, "7天祛痘，含2%水杨酸。") if f.rule == "compliance"]
    assert [(f.span, f.fix) for f in found] == [("7天祛痘", "")]  # the time-bound claim is dropped, not reworded


def test_rewrite_grammar():
    zh, en = Reviewer(zh_brief()), Reviewer(en_brief())
    assert [f.span for f in line(en, "A great earbuds in the world.")] == ["A great earbuds"]
    assert line(en, "A great earbuds in the world.")[0].fix == "great earbuds"
    assert rules(line(en, "A excellent pair for the gym.")) == {"grammar"}
    assert line(en, "An upgrade for a unique commute, an hour at a time.") == []
    assert line(en, "A pair of earbuds, a few colour options and a lot of bass.") == []
    assert line(en, "A heat pump comes with it.") == []
    assert line(en, "Finding a pair that suits you takes time.") == []
    assert rules(line(zh, "重磅面料，非常不会变形。")) == {"grammar"}
    assert line(zh, "一个耳机盒，一款好物。") == []


# --------------------------------------------------------------------------- CTA and coverage


def test_cta_must_fit_the_objective():
    game = Reviewer(
        zh_brief(
            industry="games",
            product={
                "name": "山海御灵录",
                "brand": "青梧",
                "selling_points": ["国风水墨画面"],
                "price": None,
                "offer": "",
            },
        )
    )
    found = line(game, "现在下单，立即购买山海御灵录。", field="cta", role=ShotRole.cta)
    assert rules(found) == {"cta"}
    assert found[0].fix == "立即下载"
    assert line(game, "点击下方立即下载，开启山海之旅。", field="cta", role=ShotRole.cta) == []
    assert line(game, "国风水墨画面，购买皮肤也好看。", role=ShotRole.feature) == []  # only CTA and offer lines
    assert line(Reviewer(en_brief()), "Tap Shop now and get yours.", field="cta", role=ShotRole.cta) == []


def test_coverage_per_script_and_per_set():
    brief = en_brief()
    reviewer = Reviewer(brief)
    none = script(
        brief,
        "Your commute, minus the noise.",
        ["Your commute, minus the noise.", "Made for the train.", "Tap Shop now."],
        "Tap Shop now.",
    )
    assert [f.rule for f in reviewer.review_script(none)] == ["coverage"]
    one = script(
        brief, "Quiet.", ["Quiet.", "Active noise cancellation blocks the train.", "Tap Shop now."], "Tap Shop now."
    )
    assert reviewer.review_script(one) == []
    missing = reviewer.review_set([one])
    assert [f.span for f in missing] == ["30-hour battery with the charging case", "IPX4 sweat resistance"]


def test_empty_feature_shot_is_a_finding():
    brief = en_brief()
    s = script(
        brief, "Quiet.", ["Quiet.", "", "Active noise cancellation blocks the train.", "Tap Shop now."], "Tap Shop now."
    )
    assert [(f.rule, f.field) for f in Reviewer(brief).review_script(s)] == [("coverage", "shots[1].narration")]


# --------------------------------------------------------------------------- data files


@pytest.mark.parametrize(
    ("language", "industry", "text", "term"),
    [
        ("zh", "food", "喝了能调节血糖。", "调节血糖"),
        ("zh", "food", "控糖效果好。", "控糖"),
        ("zh", "beauty", "医院同款配方。", "医院同款"),
        ("zh", "beauty", "用了能改善痤疮。", "改善痤疮"),
        ("zh", "education", "名师授课，保证一次考过。", "保证一次考过"),
        ("en", "beauty", "It fights acne overnight.", "fights acne"),
        ("en", "home", "It heals sore muscles.", "heals"),
        ("en", "home", "Curing back pain at last.", "Curing"),
        ("en", "beauty", "One of the most popular serums.", "One of the most popular"),
    ],
)
def test_efficacy_synonyms_live_in_the_main_rule_table(language, industry, text, term):
    """The reviewer's former extra terms are folded into rules.yaml: the plain checker flags them."""
    found = ComplianceChecker(extra_terms=None).check(text, language=language, industry=industry)
    assert term in [f.term for f in found]
    assert not package_data_path("copy").joinpath("review_compliance_terms.yaml").exists()


def test_a_broken_lexicon_names_file_key_and_line(tmp_path):
    text = package_data_path("copy", "review.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "review.yaml"
    bad.write_text(text.replace('zh_broken: ["非常不会"', 'zh_broken: ["非常(不会"'), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"review\.yaml:\d+: grammar\.zh_broken: .*invalid"):
        load_data(bad, ReviewLexicon)


# --------------------------------------------------------------------------- held-out lines

HELDOUT_PATHS = [Path(__file__).parent / "data" / f"copy_review_{name}.yaml" for name in ("heldout", "blind")]
# Lines on 16 of copybench's briefs, labelled before the reviewer was run on them ("heldout" was then used
# once to fix gaps; "blind" was measured after that: grounding recall 0.864, truncated 0.667, compliance 0.700,
# grammar 0.333 before the last fixes). Measured shortfalls that remain, both sets together: grounding misses
# features no lexicon lists ("Hot tub on every deck", "自动烘干滚刷", "Twice the caffeine"); truncation misses
# captions cut after a noun ("孩子专注力", "Mix one part with two parts"). Strict: fails once the target is met.
_HELDOUT_SHORT = {("grounding", "recall"), ("truncated", "recall")}


@pytest.fixture(scope="module")
def heldout():
    sets = [load_labelled_set(p) for p in HELDOUT_PATHS]
    return evaluate(sets[0].model_copy(update={"cases": [c for s in sets for c in s.cases]}))


@pytest.mark.parametrize(
    ("rule", "measure"),
    [
        pytest.param(r, m, marks=pytest.mark.xfail(strict=True, reason="measured shortfall, see _HELDOUT_SHORT"))
        if (r, m) in _HELDOUT_SHORT
        else (r, m)
        for r in LINE_RULES
        for m in ("precision", "recall")
    ],
)
def test_heldout_lines_meet_the_target(heldout, rule, measure):
    """Precision and recall per rule on the held-out lines (see HELDOUT_PATHS)."""
    score = heldout.per_rule[rule]
    assert getattr(score, measure) >= TARGET, f"{rule} {measure}: {getattr(score, measure):.3f}"


def test_free_offers_are_claims_unless_the_brief_makes_them() -> None:
    """'free trial', 'free to play' are offers: grounded only when the brief's price or offer says free."""
    paid = en_brief(industry="games", product={"name": "Star Tactics", "selling_points": ["5-minute matches"]})
    reviewer = Reviewer(paid)
    for text in ("Start your free trial today.", "It's free to play, tap below."):
        assert any(f.rule == "grounding" for f in line(reviewer, text)), text
    free = en_brief(
        industry="games", product={"name": "Star Tactics", "selling_points": ["5-minute matches"], "price": 0}
    )
    assert not [f for f in line(Reviewer(free), "It's free to play, tap below.") if f.rule == "grounding"]


def test_a_clause_said_again_in_another_line_is_repetition():
    """The hook folds a selling point into a longer sentence and a feature line says it again: a viewer hears
    the same clause twice in 15 s (seen in a demo creative); a short shared clause ("点下方链接") is not."""
    brief = zh_brief(product={"name": "水润保湿精华", "selling_points": ["质地清爽，涂抹后很快吸收", "30毫升便携装"]})
    s = script(
        brief,
        "质地清爽，涂抹后很快吸收，这就是水润保湿精华。",
        ["质地清爽，涂抹后很快吸收，这就是水润保湿精华。", "质地清爽，涂抹后很快吸收。", "30毫升便携装，点下方链接。"],
        "喜欢就点下方链接。",
    )
    found = [f for f in Reviewer(brief).review_script(s) if f.rule == "repetition"]
    assert [(f.field, f.span) for f in found] == [("shots[1].narration", "涂抹后很快吸收")]
