"""Campaign objectives: industry defaults, hook fit, forbidden CTA words, the data file's schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from adloom.core.datafiles import DataFileError, load_data, package_data_path
from adloom.core.errors import InputError
from adloom.core.types import SCHEMA_VERSION, Asset, Brief, HookType, Industry, Language, Objective, Product
from adloom.scripts_gen.objectives import (
    ObjectivesFile,
    cta_templates,
    fitting_hooks,
    forbidden_cta_terms_in,
    has_before_after_material,
    hook_fits,
    objective_profile,
    resolve_objective,
)
from adloom.serving.scripts_service import load_brief, parse_brief


def _brief(industry: str, **kw: object) -> Brief:
    product = {"name": "Acme", "selling_points": ["light"], **kw.pop("product", {})}  # type: ignore[dict-item]
    return Brief.model_validate({"industry": industry, "product": product, **kw})


@pytest.mark.parametrize(
    ("industry", "expected"),
    [
        ("beauty", "sales"),
        ("apparel", "sales"),
        ("food", "sales"),
        ("electronics", "sales"),
        ("home", "sales"),
        ("games", "app_install"),
        ("education", "leads"),
        ("auto", "leads"),
        ("finance", "leads"),
        ("travel", "leads"),
    ],
)
def test_default_objective_by_industry(industry: str, expected: str) -> None:
    assert resolve_objective(_brief(industry)) == Objective(expected)


def test_stated_objective_wins_over_the_industry_default() -> None:
    assert resolve_objective(_brief("beauty", objective="store_visit")) == Objective.store_visit
    assert resolve_objective(_brief("games", objective="awareness")) == Objective.awareness


def test_schema_version_is_1_2_and_old_briefs_still_load() -> None:
    assert SCHEMA_VERSION == "1.2"
    old = Brief.model_validate(
        {"schema_version": "1.1", "industry": "food", "product": {"name": "x", "selling_points": ["a"]}}
    )
    assert old.objective is None and resolve_objective(old) == Objective.sales


def test_unknown_objective_is_a_clear_error_naming_the_allowed_values(tmp_path: Path) -> None:
    path = tmp_path / "brief.yaml"
    path.write_text(
        "industry: games\nobjective: downloads\nproduct:\n  name: Star Tactics\n  selling_points: [free to play]\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_brief(path)
    message = str(info.value)
    assert str(path) in message and "brief.objective" in message
    for allowed in ("sales", "app_install", "leads", "store_visit", "awareness"):
        assert allowed in message


def test_every_sample_brief_states_its_objective() -> None:
    samples = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
    briefs = sorted(samples.glob("brief_*.yaml"))
    assert briefs
    for path in briefs:
        assert load_brief(path).objective is not None, path


def test_no_unboxing_for_a_savings_plan_or_an_app() -> None:
    savings = _brief("finance", product={"price": 100})
    assert not hook_fits(savings, HookType.unboxing)
    assert hook_fits(savings, HookType.question)
    game = _brief("games")
    assert not hook_fits(game, HookType.unboxing)
    course = _brief("education")
    assert not hook_fits(course, HookType.unboxing)
    gadget = _brief("electronics")
    assert hook_fits(gadget, HookType.unboxing)
    assert not hook_fits(_brief("electronics", objective="app_install"), HookType.unboxing)


def test_before_after_needs_before_after_footage() -> None:
    plain = _brief("beauty", assets=[{"kind": "image", "path": "a.png", "description": "bottle on a shelf"}])
    assert not has_before_after_material(plain)
    assert not hook_fits(plain, HookType.before_after)
    zh = _brief("beauty", assets=[{"kind": "video", "path": "a.mp4", "description": "使用前后对比"}])
    en = _brief("home", assets=[{"kind": "image", "path": "b.png", "description": "Kitchen Before and after"}])
    assert hook_fits(zh, HookType.before_after) and hook_fits(en, HookType.before_after)
    # "afternoon" is not "after": markers match whole words
    noon = _brief("home", assets=[Asset(kind="image", path="c.png", description="sofa in afternoon light")])
    assert not has_before_after_material(noon)


def test_before_after_never_fits_a_game_or_finance_even_with_footage() -> None:
    footage = [{"kind": "video", "path": "a.mp4", "description": "before/after comparison"}]
    assert not hook_fits(_brief("games", assets=footage), HookType.before_after)
    assert not hook_fits(_brief("finance", assets=footage), HookType.before_after)


def test_price_reveal_needs_a_price_or_an_offer() -> None:
    assert not hook_fits(_brief("food"), HookType.price_reveal)
    assert hook_fits(_brief("food", product={"price": 0}), HookType.price_reveal)  # free is a price
    assert hook_fits(_brief("food", product={"offer": "第二件半价"}), HookType.price_reveal)
    assert not hook_fits(_brief("food", objective="awareness", product={"price": 9}), HookType.price_reveal)


def test_fitting_hooks_is_what_hook_fits_allows() -> None:
    brief = _brief("games", product={"offer": "首充送神宠"})
    assert fitting_hooks(brief) == [h for h in HookType if hook_fits(brief, h)]
    assert HookType.price_reveal in fitting_hooks(brief)
    assert HookType.unboxing not in fitting_hooks(brief) and HookType.before_after not in fitting_hooks(brief)


@pytest.mark.parametrize(
    ("objective", "text", "language", "found"),
    [
        ("app_install", "现在下单，立即购买神宠礼包", "zh", ["下单", "购买"]),
        ("app_install", "Buy now and add to cart", "en", ["Buy", "add to cart"]),
        ("leads", "Shop now for your new savings account", "en", ["Shop now"]),
        ("leads", "Order today", "en", ["Order"]),
        ("awareness", "赶紧抢购", "zh", ["抢购"]),
        ("sales", "Tap below to download the app", "en", ["download"]),
        ("store_visit", "点击加入购物车", "zh", ["加入购物车"]),
    ],
)
def test_forbidden_cta_terms_per_objective(objective: str, text: str, language: str, found: list[str]) -> None:
    spans = forbidden_cta_terms_in(text, Objective(objective), Language(language))
    assert [t for t, _, _ in spans] == found
    for term, start, end in spans:
        assert text[start:end] == term


@pytest.mark.parametrize(
    ("objective", "text", "language"),
    [
        ("sales", "立即购买，点下方链接下单", "zh"),
        ("app_install", "Tap below to download Star Tactics", "en"),
        ("leads", "Borderless savings, tap below to get a quote", "en"),  # "order" inside a word
        ("store_visit", "Shopping is better in person: visit us", "en"),
    ],
)
def test_allowed_cta_wording_is_not_flagged(objective: str, text: str, language: str) -> None:
    assert forbidden_cta_terms_in(text, Objective(objective), Language(language)) == []


def test_profiles_give_button_and_ctas_per_language() -> None:
    assert objective_profile(Objective.sales).button[Language.zh] == "立即购买"
    assert objective_profile(Objective.app_install).button[Language.en] == "Download now"
    assert objective_profile(Objective.leads).button[Language.zh] == "免费咨询"
    assert objective_profile(Objective.store_visit).button[Language.en] == "Visit us"
    assert objective_profile(Objective.awareness).button[Language.zh] == "了解更多"
    for objective in Objective:
        profile = objective_profile(objective)
        for language in Language:
            # no template of an objective uses a word that objective forbids
            for line in profile.cta_lines[language]:
                assert forbidden_cta_terms_in(line, objective, language) == [], (objective, line)
            no_offer = cta_templates(objective, language, has_offer=False)
            assert no_offer and all("{offer}" not in t for t in no_offer)
            assert set(no_offer) <= set(cta_templates(objective, language, has_offer=True))


def test_data_file_errors_name_key_and_line(tmp_path: Path) -> None:
    text = package_data_path("copy", "objectives.yaml").read_text(encoding="utf-8")
    assert load_data(package_data_path("copy", "objectives.yaml"), ObjectivesFile).industry_defaults
    broken = tmp_path / "objectives.yaml"
    broken.write_text(text.replace("games: app_install", "games: downloads", 1), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"objectives.yaml:\d+: industry_defaults.games"):
        load_data(broken, ObjectivesFile)
    slot = tmp_path / "slot.yaml"
    slot.write_text(text.replace("{ref}就在下方链接", "{brand}就在下方链接", 1), encoding="utf-8")
    with pytest.raises(DataFileError, match="unknown slot"):
        load_data(slot, ObjectivesFile)
    extra = tmp_path / "extra.yaml"
    extra.write_text(text + "\ncolour: red\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="colour"):
        load_data(extra, ObjectivesFile)


def test_parse_brief_accepts_every_objective() -> None:
    for objective in Objective:
        brief = parse_brief(
            {
                "industry": Industry.food.value,
                "objective": objective.value,
                "product": Product(name="x", selling_points=["a"]).model_dump(),
            }
        )
        assert brief.objective == objective
