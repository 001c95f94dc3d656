"""Tests of the advertising-law compliance checker on real copy and real Script objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adloom.core.datafiles import package_data_path
from adloom.core.errors import InputError
from adloom.core.settings import get_settings
from adloom.core.types import Angle, HookType, Industry, Language, Provenance, Script, Shot, ShotRole
from adloom.scripts_gen.compliance import RULES, ComplianceChecker, load_extra_rules


@pytest.fixture(scope="module")
def checker() -> ComplianceChecker:
    return ComplianceChecker(extra_terms=None)


def terms(checker: ComplianceChecker, text: str, language: str, industry: str) -> list[tuple[str, str]]:
    return [(f.term, f.rule_id) for f in checker.check(text, language=language, industry=industry)]


# ----------------------------------------------------------------- absolute claims


@pytest.mark.parametrize(
    ("text", "term", "suggestion"),
    [
        ("这是最好的面霜", "最好的", "很好的"),
        ("全国销量第一", "第一", "领先"),
        ("国家级品质", "国家级", "专业级"),
        ("顶级原料", "顶级", "高端"),
        ("带来极致体验", "极致", "出色"),
        ("唯一的选择", "唯一", "独特"),
        ("100%有效", "100%", "非常"),
        ("最受欢迎的款式", "最", "很"),
    ],
)
def test_absolute_claims_zh_flagged(checker: ComplianceChecker, text: str, term: str, suggestion: str) -> None:
    [finding] = checker.check(text, language="zh", industry="home")
    assert (finding.term, finding.rule_id, finding.suggestion) == (term, "absolute_claim", suggestion)
    assert "absolute" in finding.rule


@pytest.mark.parametrize(
    "text",
    [
        "最近很多人问我",
        "最后一步，涂抹均匀",
        "最初的设计",
        "最终效果看个人",
        "最多三天发货",
        "最好在睡前使用",
        "第一次用就爱上",
        "第一步清洁",
        "第一，补水；第二，保湿",
        "100%纯棉面料",
    ],
)
def test_absolute_claims_zh_context_not_flagged(checker: ComplianceChecker, text: str) -> None:
    assert checker.check(text, language="zh", industry="apparel") == []


@pytest.mark.parametrize(
    ("text", "industry"),
    [
        ("置换补贴最高5000元", "auto"),
        ("最高可补贴5000元", "auto"),
        ("最高达2万元", "auto"),
        ("首付最低3成", "auto"),
        ("最低首付两成", "auto"),
        ("签约最高优惠3000元", "home"),
        ("最高减800元", "home"),
        ("最高¥500", "education"),
    ],
)
def test_offer_limits_are_not_superlatives(checker: ComplianceChecker, text: str, industry: str) -> None:
    """A stated ceiling or floor of the advertiser's own offer ("最高5000元") is a fact, not a ranking."""
    assert checker.check(text, language="zh", industry=industry) == []
    assert checker.rewrite(text, language="zh", industry=industry)[0] == text


@pytest.mark.parametrize("text", ["这是最高品质", "最高档次的装修", "最低的价格给您"])
def test_superlatives_next_to_limits_still_flagged(checker: ComplianceChecker, text: str) -> None:
    assert [f.rule_id for f in checker.check(text, language="zh", industry="home")] != []


def test_up_to_amount_is_fine_in_english(checker: ComplianceChecker) -> None:
    assert checker.check("Trade-in bonus of up to $500", language="en", industry="auto") == []


@pytest.mark.parametrize(
    ("text", "term", "suggestion"),
    [
        ("This is the best serum", "the best", "a great"),
        ("It is simply the best.", "the best", "great"),
        ("Our #1 formula", "#1", "leading"),
        ("The number one choice", "number one", "leading"),
        ("Results guaranteed", "guaranteed", ""),
        ("The only cream you need", "The only", "a unique"),
        ("From the world's leading lab", "the world's leading", "a trusted"),
        ("A best-selling classic", "best-selling", "popular"),
        ("The best-in-class cream", "best-in-class", "high-quality"),
    ],
)
def test_absolute_claims_en_flagged(checker: ComplianceChecker, text: str, term: str, suggestion: str) -> None:
    [finding] = checker.check(text, language="en", industry="home")
    assert (finding.term, finding.rule_id, finding.suggestion) == (term, "absolute_claim", suggestion)


@pytest.mark.parametrize(
    "text",
    [
        "Best before 2026-01-01",
        "Do your best every day",
        "All the best",
        "30-day money-back guarantee",
        "At best, mild",
    ],
)
def test_absolute_claims_en_context_not_flagged(checker: ComplianceChecker, text: str) -> None:
    assert checker.check(text, language="en", industry="food") == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_mixed_copy_checked_with_both_rule_sets(checker: ComplianceChecker, language: str) -> None:
    assert terms(checker, "全网No.1爆款，the best choice", language, "apparel") == [
        ("全网No.1", "absolute_claim"),
        ("the best", "absolute_claim"),
    ]


# ----------------------------------------------------------------- medical claims


def test_beauty_medical_claims_zh(checker: ComplianceChecker) -> None:
    text = "祛斑精华，永久美白，治疗痘痘，快速消炎，医用级配方"
    assert terms(checker, text, "zh", "beauty") == [
        ("祛斑", "medical_claim.beauty"),
        ("永久美白", "medical_claim.beauty"),
        ("治疗痘痘", "medical_claim"),  # treating acne is a disease claim (art. 17), never a cosmetic one
        ("消炎", "medical_claim.beauty"),
        ("医用级", "medical_claim.beauty"),
    ]
    # In another industry only the disease claims and medical framing remain (art. 17 applies to every ad),
    # and plain 美白 is allowed.
    assert terms(checker, text, "zh", "apparel") == [
        ("治疗痘痘", "medical_claim"),
        ("消炎", "medical_claim"),
        ("医用级", "medical_claim"),
    ]
    assert checker.check("美白保湿精华", language="zh", industry="beauty") == []


def test_beauty_medical_claims_en(checker: ComplianceChecker) -> None:
    text = "It cures acne, treats eczema and is clinically proven to heal. Anti-inflammatory formula."
    assert terms(checker, text, "en", "beauty") == [
        ("cures", "medical_claim.beauty"),
        ("treats", "medical_claim.beauty"),
        ("clinically proven to heal", "medical_claim.beauty"),
        ("Anti-inflammatory", "medical_claim.beauty"),
    ]
    assert checker.check("Treat yourself to a glow. Secure cap.", language="en", industry="beauty") == []


def test_food_medical_claims_zh(checker: ComplianceChecker) -> None:
    text = "每天一杯降血压，还能抗癌、减肥"
    found = checker.check(text, language="zh", industry="food")
    assert [(f.term, f.rule_id, f.suggestion) for f in found] == [
        ("降血压", "medical_claim.food", ""),
        ("抗癌", "medical_claim.food", ""),
        ("减肥", "medical_claim.food", ""),
    ]
    assert checker.check("香脆可口，每天一杯", language="zh", industry="food") == []


def test_food_medical_claims_en(checker: ComplianceChecker) -> None:
    text = "Lowers blood pressure and prevents cancer. A detox tea."
    assert terms(checker, text, "en", "food") == [
        ("Lowers blood pressure", "medical_claim.food"),
        ("prevents cancer", "medical_claim.food"),
        ("detox", "medical_claim.food"),
    ]
    assert checker.check("A sweet treat for tea time.", language="en", industry="food") == []
    # A disease claim is banned in every industry (art. 17); the food-only terms are not.
    assert terms(checker, text, "en", "electronics") == [("prevents cancer", "medical_claim")]


# ----------------------------------------------------------------- finance


def test_guaranteed_returns_zh(checker: ComplianceChecker) -> None:
    text = "保本保息，稳赚不赔，零风险，收益率保证，包赚"
    assert [t for t, _ in terms(checker, text, "zh", "finance")] == [
        "保本保息",
        "稳赚不赔",
        "零风险",
        "收益率保证",
        "包赚",
    ]
    assert {r for _, r in terms(checker, text, "zh", "finance")} == {"guaranteed_return"}
    assert checker.check("投资有风险，理财需谨慎", language="zh", industry="finance") == []


def test_guaranteed_returns_en(checker: ComplianceChecker) -> None:
    text = "Guaranteed returns, risk-free, no risk: you can't lose."
    assert [t for t, _ in terms(checker, text, "en", "finance")] == [
        "Guaranteed returns",
        "risk-free",
        "no risk",
        "can't lose",
    ]
    # A bare "guaranteed" is a finance rule in finance, an absolute claim elsewhere.
    assert terms(checker, "Guaranteed.", "en", "finance") == [("Guaranteed", "guaranteed_return")]
    assert terms(checker, "Guaranteed.", "en", "home") == [("Guaranteed", "absolute_claim")]
    assert checker.check("Low fees. Investing involves risk.", language="en", industry="finance") == []


# ----------------------------------------------------------------- price


def test_misleading_price(checker: ComplianceChecker) -> None:
    assert terms(checker, "全网最低价，手慢无", "zh", "home") == [
        ("全网最低价", "misleading_price"),
        ("手慢无", "false_urgency"),
    ]
    assert terms(checker, "The lowest price ever!", "en", "home") == [("The lowest price ever", "misleading_price")]
    assert checker.check("Now at a lower price", language="en", industry="home") == []


# ----------------------------------------------------------------- offsets, inputs

CORPUS = [
    ("zh", "beauty", "最近上新！这是最好的面霜，销量第一，祛斑又消炎。"),
    ("en", "beauty", "New in. The best serum, #1 in Japan. It treats acne."),
    ("en", "food", "Crunchy and fresh. Lowers blood sugar. The best snack."),
    ("zh", "finance", "专业团队管理。保本理财，稳赚不赔！"),
    ("zh", "home", "全网No.1，全网最低价，顶级做工"),
]


@pytest.mark.parametrize(("language", "industry", "text"), CORPUS)
def test_offsets_and_field(checker: ComplianceChecker, language: str, industry: str, text: str) -> None:
    found = checker.check(text, language=language, industry=industry, field="hook")
    assert found
    for f in found:
        assert text[f.start : f.end] == f.term
        assert f.field == "hook"
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))


def test_exact_offsets(checker: ComplianceChecker) -> None:
    [f] = checker.check("买它！最好的礼物", language=Language.zh, industry=Industry.home)
    assert (f.start, f.end) == (3, 6)


def test_unknown_language_or_industry_raises(checker: ComplianceChecker) -> None:
    with pytest.raises(InputError, match="'fr'"):
        checker.check("x", language="fr", industry="home")
    with pytest.raises(InputError, match="'pets'"):
        checker.check("x", language="en", industry="pets")


HOUSE_RULE = {
    "id": "house.hype",
    "industries": ["home"],
    "patterns": {"zh": ["爆款"], "en": [r"\bmust-have\b"]},
    "exceptions": ["爆款清单"],
    "severity": "rewrite",
    "why": "Our brand guide bans hype words.",
    "suggestion": "热门",
}


def test_rules_are_data(tmp_path: Path) -> None:
    """The shipped table is a data file: an edited copy changes what is flagged and suggested."""
    assert {r.id for r in RULES} >= {"absolute_claim", "medical_claim.beauty", "guaranteed_return"}
    base = ComplianceChecker(extra_terms=None)
    found = base.check("最佳拍档", language="zh", industry="home")
    assert [(f.term, f.suggestion) for f in found] == [("最佳", "理想")]

    table = yaml.safe_load(package_data_path("compliance", "rules.yaml").read_text(encoding="utf-8"))
    [best] = [r for r in table["rules"] if r["patterns"].get("zh") == ["最佳"]]
    best["suggestion"] = "出色"  # a reviewer changes one rewrite ...
    table["rules"].append(HOUSE_RULE)  # ... and adds one rule
    edited = tmp_path / "rules.yaml"
    edited.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")

    checker = ComplianceChecker(extra_terms=None, rules_file=edited)
    assert [(f.term, f.suggestion) for f in checker.check("最佳拍档", language="zh", industry="home")] == [
        ("最佳", "出色")
    ]
    assert terms(checker, "今年的爆款", "zh", "home") == [("爆款", "house.hype")]
    assert terms(checker, "今年的爆款", "zh", "food") == []  # industries: [home]
    assert terms(checker, "我的爆款清单", "zh", "home") == []  # exception
    assert checker.rewrite("A must-have vacuum.", language="en", industry="home")[0] == "A 热门 vacuum."
    assert terms(base, "今年的爆款", "zh", "home") == []  # the shipped table is untouched

    # the same entry in a project's own rules file goes through the same loader, shipped reasons usable
    own = tmp_path / "own.yaml"
    own.write_text(yaml.safe_dump({"rules": [{**HOUSE_RULE, "why": "art9_absolute"}]}, allow_unicode=True))
    [found] = ComplianceChecker(extra_terms=own).check("今年的爆款", language="zh", industry="home")
    assert (found.rule_id, found.suggestion) == ("house.hype", "热门")
    assert "art. 9" in found.rule

    # a malformed edit fails naming the file, the key path and the line
    lines = edited.read_text(encoding="utf-8").splitlines()
    at = lines.index("  severity: rewrite")
    lines[at] = "  severity: forbid"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"{edited}:{at + 1}: rules\[\d+\]\.severity"):
        ComplianceChecker(extra_terms=None, rules_file=edited)


def test_bad_regex_in_rules_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "own.yaml"
    path.write_text(
        "rules:\n  - id: x\n    patterns:\n      en: ['ok', '(unclosed']\n    severity: block\n    why: test\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=rf"{path}:4: rules\[0\]\.patterns\.en\[1\]: .*does not compile"):
        ComplianceChecker(extra_terms=path)


# ----------------------------------------------------------------- rewrite


@pytest.mark.parametrize(
    ("language", "industry", "text", "expected"),
    [
        ("zh", "home", "这是最好的面霜，销量第一", "这是很好的面霜，销量领先"),
        ("en", "home", "The best serum. It is the best.", "A great serum. It is great."),
        ("en", "finance", "Our fund is simple. Guaranteed returns!", "Our fund is simple."),
        ("zh", "finance", "保本理财，稳赚不赔！", None),
        ("zh", "home", "最近很受欢迎", "最近很受欢迎"),
    ],
)
def test_rewrite(checker: ComplianceChecker, language: str, industry: str, text: str, expected: str | None) -> None:
    new, fixed = checker.rewrite(text, language=language, industry=industry, field="cta")
    assert new == expected
    assert bool(fixed) == (new != text)
    assert all(f.field == "cta" for f in fixed)


@pytest.mark.parametrize(("language", "industry", "text"), CORPUS)
def test_rewrite_output_rechecks_clean(checker: ComplianceChecker, language: str, industry: str, text: str) -> None:
    new, fixed = checker.rewrite(text, language=language, industry=industry)
    assert fixed
    if new is not None:
        assert new
        assert checker.check(new, language=language, industry=industry) == []


# ----------------------------------------------------------------- scripts


def make_script(language: Language, industry: Industry) -> Script:
    if language is Language.zh:
        title, hook, cta = "最好的面霜", "销量第一的面霜来了", "全网最低价，快下单"
        points = ["祛斑美白", "温和保湿"]
        shots = [
            Shot(
                index=0, role=ShotRole.hook, duration_s=3, visual="顶级实验室", narration="治疗痘痘。", caption="国家级"
            ),
            Shot(index=1, role=ShotRole.demo, duration_s=4, visual="手部涂抹", narration="最近很多人问我。"),
        ]
    else:
        title, hook, cta = "The best serum", "Guaranteed results.", "The lowest price ever, shop now"
        points = ["Cures acne", "Gentle"]
        shots = [
            Shot(
                index=0,
                role=ShotRole.hook,
                duration_s=3,
                visual="World-class lab",
                narration="It heals skin.",
                caption="#1 in Japan",
            ),
            Shot(index=1, role=ShotRole.demo, duration_s=4, visual="Hands applying cream", narration="Soft texture."),
        ]
    return Script(
        language=language,
        industry=industry,
        title=title,
        hook=hook,
        hook_type=HookType.demo,
        angle=Angle.quality,
        cta=cta,
        selling_points=points,
        shots=shots,
        provenance=Provenance(path="template", notes=["first note"]),
    )


def test_check_script_names_fields(checker: ComplianceChecker) -> None:
    found = checker.check_script(make_script(Language.zh, Industry.beauty))
    fields = {f.field for f in found}
    assert fields == {
        "title",
        "hook",
        "cta",
        "selling_points[0]",
        "shots[0].narration",
        "shots[0].caption",
        "shots[0].visual",
    }


@pytest.mark.parametrize("language", [Language.zh, Language.en])
def test_clean_script_is_clean(checker: ComplianceChecker, language: Language) -> None:
    script = make_script(language, Industry.beauty)
    before = checker.check_script(script)
    cleaned = checker.clean_script(script)
    assert checker.check_script(cleaned) == []
    assert len(cleaned.compliance) >= len(before)
    assert cleaned.provenance.notes[0] == "first note"
    assert len(cleaned.provenance.notes) == 1 + len(cleaned.compliance)
    assert checker.check_script(script) == before  # the input is untouched
    assert cleaned.id == script.id


def test_clean_script_rewrites_and_drops(checker: ComplianceChecker) -> None:
    cleaned = checker.clean_script(make_script(Language.en, Industry.beauty))
    assert cleaned.title == "A great serum"
    assert cleaned.hook == "Here is something worth a look."  # dropped hook → neutral line
    assert cleaned.cta == "A great price, shop now"
    assert cleaned.selling_points == ["Gentle"]  # "Cures acne" dropped
    assert cleaned.shots[0].narration == ""  # "heals" is a medical claim: dropped, never reworded to "soothes"
    assert cleaned.shots[0].caption == "Leading in Japan"
    assert cleaned.shots[0].visual == "High-quality lab"
    assert cleaned.shots[1].narration == "Soft texture."


def test_clean_script_zh_drop_narration(checker: ComplianceChecker) -> None:
    cleaned = checker.clean_script(make_script(Language.zh, Industry.food))
    assert cleaned.shots[0].narration == ""  # a disease claim in food cannot be reworded
    assert cleaned.selling_points == ["祛斑美白", "温和保湿"]  # 祛斑 is a cosmetics rule only
    cleaned = checker.clean_script(make_script(Language.zh, Industry.beauty))
    assert cleaned.shots[0].narration == ""  # 治疗痘痘 is a disease claim: no honest rewrite
    assert cleaned.shots[1].narration == "最近很多人问我。"
    assert cleaned.title == "很好的面霜"


def test_clean_script_finance_drops_lines(checker: ComplianceChecker) -> None:
    script = make_script(Language.zh, Industry.finance).model_copy(update={"cta": "稳赚不赔，立即购买"})
    cleaned = checker.clean_script(script)
    assert cleaned.cta == "点击了解更多。"
    assert any(f.rule_id == "guaranteed_return" and f.field == "cta" for f in cleaned.compliance)
    assert checker.check_script(cleaned) == []


# ----------------------------------------------------------------- extra terms file


def test_extra_terms_yaml_apply_to_one_industry(tmp_path: Path) -> None:
    path = tmp_path / "terms.yaml"
    path.write_text(
        "terms:\n  beauty:\n    - 速效\n    - {term: instant results, suggestion: visible care}\n",
        encoding="utf-8",
    )
    checker = ComplianceChecker(extra_terms=path)
    [f] = checker.check("速效补水", language="zh", industry="beauty")
    assert (f.term, f.rule_id, f.suggestion) == ("速效", "extra_term.beauty", "")
    assert checker.check("速效补水", language="zh", industry="food") == []
    new, _ = checker.rewrite("See instant results today", language="en", industry="beauty")
    assert new == "See visible care today"


def test_extra_terms_toml(tmp_path: Path) -> None:
    path = tmp_path / "terms.toml"
    path.write_text('[terms]\nall = ["爆款"]\n', encoding="utf-8")
    checker = ComplianceChecker(extra_terms=path)
    assert terms(checker, "今日爆款", "zh", "travel") == [("爆款", "extra_term")]


def test_extra_terms_default_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "terms.yml"
    path.write_text("terms:\n  food:\n    - 神奇\n", encoding="utf-8")
    monkeypatch.setenv("ADLOOM_COMPLIANCE_TERMS", str(path))
    get_settings.cache_clear()
    try:
        checker = ComplianceChecker()
    finally:
        get_settings.cache_clear()
    assert terms(checker, "神奇的味道", "zh", "food") == [("神奇", "extra_term.food")]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("bad.yaml", "terms: [unclosed\n", "not valid YAML"),
        ("bad.toml", "terms = \n", "not valid TOML"),
        ("shape.yaml", "beauty:\n  - 速效\n", "shape.yaml:2: beauty: Extra inputs are not permitted"),
        ("industry.yaml", "terms:\n  pets:\n    - 速效\n", "unknown industry 'pets'"),
        ("regex.yaml", "terms:\n  all:\n    - {term: '(', regex: true}\n", "invalid"),
        ("terms.json", "{}", "extension"),
    ],
)
def test_malformed_extra_terms_raise_naming_file(tmp_path: Path, name: str, content: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        ComplianceChecker(extra_terms=path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)


def test_missing_extra_terms_file_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_extra_rules(tmp_path / "nope.yaml")
