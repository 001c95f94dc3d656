"""Shot prompts: explicit entities, one shared subject, varied camera, deterministic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adloom.core.errors import InputError
from adloom.core.types import (
    Angle,
    Aspect,
    Brief,
    HookType,
    Industry,
    Language,
    Product,
    Provenance,
    Script,
    Shot,
    ShotRole,
    SubjectSheet,
)
from adloom.scripts_gen.shot_prompts import (
    CAMERA_MOVES,
    camera_move_of,
    find_pronouns,
    replace_pronouns,
    shot_prompt,
    subject_sheet_for,
    write_shot_prompts,
)

ZH_NAME = "水润保湿精华"
EN_NAME = "HydraGlow Serum"

ZH_VISUALS = {
    ShotRole.hook: "精华滴落特写，水滴飞溅",
    ShotRole.problem: "她在浴室镜子前皱眉，它放在台面上",
    ShotRole.demo: "手拿这款精华在手背上涂抹",
    ShotRole.feature: "质地特写",
    ShotRole.proof: "她微笑着说他们都爱用",
    ShotRole.offer: "该产品和价格卡",
    ShotRole.cta: "产品居中，手机下单",
}
EN_VISUALS = {
    ShotRole.hook: "A drop falls from the dropper in slow motion",
    ShotRole.problem: "She frowns at her dull skin in the bathroom mirror",
    ShotRole.demo: "she holds it up to the light",
    ShotRole.feature: "Close-up of its silky texture",
    ShotRole.proof: "They're smiling; this product changed their routine",
    ShotRole.offer: 'The bottle with a "50% OFF" tag beside it',
    ShotRole.cta: "Hold that up and tap to shop",
}


def _brief(lang: Language, *, brief_id: str, industry: Industry = Industry.beauty, audience: str = "") -> Brief:
    zh = lang == Language.zh
    return Brief(
        id=brief_id,
        product=Product(
            name=ZH_NAME if zh else EN_NAME,
            brand="润研" if zh else "Lumen",
            selling_points=["粉色玻璃瓶身", "48小时补水"] if zh else ["Pink glass bottle", "48-hour hydration"],
        ),
        industry=industry,
        language=lang,
        audience=audience or ("25-35岁女性" if zh else "busy dads"),
    )


def _script(lang: Language, brief: Brief, visuals: dict[ShotRole, str], aspect: Aspect = Aspect.portrait) -> Script:
    shots = [Shot(index=i, role=role, duration_s=2.0, visual=text) for i, (role, text) in enumerate(visuals.items())]
    return Script(
        brief_id=brief.id,
        language=lang,
        industry=brief.industry,
        aspect=aspect,
        title="补水精华" if lang == Language.zh else "Glow serum",
        hook="h",
        hook_type=HookType.demo,
        angle=Angle.quality,
        cta="buy",
        shots=shots,
        provenance=Provenance(path="template"),
    )


@pytest.fixture(params=[Language.zh, Language.en], ids=["zh", "en"])
def written(request: pytest.FixtureRequest) -> tuple[Brief, Script]:
    lang = request.param
    brief = _brief(lang, brief_id=f"brf_test_{lang}")
    visuals = ZH_VISUALS if lang == Language.zh else EN_VISUALS
    return brief, write_shot_prompts(_script(lang, brief, visuals), brief)


def test_every_field_is_filled(written: tuple[Brief, Script]) -> None:
    _, script = written
    assert script.subject_sheet is not None
    assert script.subject_sheet.product and script.subject_sheet.presenter and script.subject_sheet.brand_style
    for shot in script.shots:
        assert shot.prompt is not None
        for field, value in shot.prompt.model_dump().items():
            assert value.strip(), f"shot {shot.index} {field} is empty"


def test_product_name_in_every_shot(written: tuple[Brief, Script]) -> None:
    brief, script = written
    for shot in script.shots:
        assert shot.prompt is not None
        assert brief.product.name in shot.prompt.text()


def test_no_pronouns_in_any_field(written: tuple[Brief, Script]) -> None:
    _, script = written
    assert script.subject_sheet is not None
    for value in script.subject_sheet.model_dump().values():
        assert find_pronouns(value) == []
    for shot in script.shots:
        assert shot.prompt is not None
        for field, value in shot.prompt.model_dump().items():
            assert find_pronouns(value) == [], f"shot {shot.index} {field}: {value}"


def test_prompts_are_english_apart_from_names(written: tuple[Brief, Script]) -> None:
    brief, script = written
    for shot in script.shots:
        assert shot.prompt is not None
        rest = shot.prompt.text().replace(brief.product.name, "").replace(brief.product.brand, "")
        assert not re.search(r"[\u4e00-\u9fff]", rest), rest


def test_same_subject_description_in_every_shot(written: tuple[Brief, Script]) -> None:
    _, script = written
    sheet = script.subject_sheet
    assert sheet is not None
    for shot in script.shots:
        assert shot.prompt is not None
        assert shot.prompt.appearance == sheet.product
        if shot.role in (ShotRole.problem, ShotRole.demo, ShotRole.proof):
            assert sheet.presenter in shot.prompt.subject


def test_consecutive_shots_change_camera_move() -> None:
    brief = _brief(Language.en, brief_id="brf_camera")
    roles = [ShotRole.demo] * 4 + [ShotRole.feature] * 3 + [ShotRole.cta] * 3
    shots = [Shot(index=i, role=r, duration_s=1.5, visual="the bottle on a table") for i, r in enumerate(roles)]
    script = _script(Language.en, brief, {ShotRole.hook: "x"}).model_copy(update={"shots": shots})
    out = write_shot_prompts(script, brief)
    moves = [camera_move_of(s.prompt) for s in out.shots if s.prompt is not None]
    assert len(moves) == len(roles)
    assert all(m in CAMERA_MOVES for m in moves)
    assert all(a != b for a, b in zip(moves, moves[1:], strict=False)), moves


def test_deterministic_for_the_same_brief() -> None:
    brief = _brief(Language.zh, brief_id="brf_repeat")
    again = Brief.model_validate(brief.model_dump())
    first = write_shot_prompts(_script(Language.zh, brief, ZH_VISUALS), brief)
    second = write_shot_prompts(_script(Language.zh, again, ZH_VISUALS), again)
    assert first.subject_sheet == second.subject_sheet
    assert [s.prompt for s in first.shots] == [s.prompt for s in second.shots]


def test_presenter_varies_with_brief_id_and_follows_audience() -> None:
    presenters = {subject_sheet_for(_brief(Language.en, brief_id=f"brf_{i}")).presenter for i in range(12)}
    assert len(presenters) > 1  # the hash picks different looks for different briefs
    assert all(" man " in p for p in presenters)  # "busy dads"
    women = subject_sheet_for(_brief(Language.zh, brief_id="brf_w", audience="25-35岁女性")).presenter
    assert " woman " in women and "East Asian" in women
    students = subject_sheet_for(_brief(Language.en, brief_id="brf_s", audience="college students, women")).presenter
    assert students.startswith("A college-age") and " woman " in students


def test_zh_product_keeps_name_with_english_category_noun() -> None:
    sheet = subject_sheet_for(_brief(Language.zh, brief_id="brf_zh_sheet"))
    assert sheet.product.startswith(f"The {ZH_NAME} serum bottle by 润研")
    assert "pink" in sheet.product and "glass" in sheet.product  # from the first selling point
    assert "soft diffused daylight" in sheet.brand_style


def test_sheet_invents_no_visual_traits() -> None:
    brief = Brief(
        id="brf_plain",
        product=Product(name="Aura Buds", selling_points=["30-hour battery", "Noise cancelling"]),
        industry=Industry.electronics,
        language=Language.en,
    )
    product = subject_sheet_for(brief).product
    assert product.startswith("The Aura Buds earbuds")
    for word in ("pink", "black", "white", "gold", "metal", "leather", "matte"):
        assert word not in product


def test_pronoun_replacement_in_reused_visual() -> None:
    brief = _brief(Language.en, brief_id="brf_pronoun")
    script = write_shot_prompts(_script(Language.en, brief, EN_VISUALS), brief)
    demo = next(s for s in script.shots if s.role == ShotRole.demo)
    assert demo.prompt is not None
    sheet = script.subject_sheet
    assert sheet is not None
    presenter_ref = "the " + sheet.presenter.split(" with ")[0].removeprefix("A ").removeprefix("An ")
    assert f"{presenter_ref} holds the {EN_NAME} bottle up to the light" in demo.prompt.action
    offer = next(s for s in script.shots if s.role == ShotRole.offer)
    assert offer.prompt is not None and "50% OFF" not in offer.prompt.text()  # quoted on-screen text dropped


def test_replace_pronouns_grammar() -> None:
    product, person = "the Glow serum bottle", "the young woman"
    out = replace_pronouns(
        "She holds it up; her hand lifts its cap. It's light.", product_ref=product, presenter_ref=person
    )
    assert out == (
        "The young woman holds the Glow serum bottle up; the young woman's hand lifts "
        "the Glow serum bottle's cap. The Glow serum bottle is light."
    )
    assert replace_pronouns("they slip them in", product_ref="the Aura earbuds", presenter_ref=person) == (
        "the Aura earbuds slip the Aura earbuds in"
    )
    zh = replace_pronouns("她拿起它", product_ref=product, presenter_ref=person)
    assert find_pronouns(zh) == [] and product in zh and person in zh
    kept = replace_pronouns("she opens Love It serum", product_ref=product, presenter_ref=person, keep=["Love It"])
    assert kept == "the young woman opens Love It serum"


def test_find_pronouns_flags_and_spares() -> None:
    assert find_pronouns("She holds it; this product and their kit, hold that up") == [
        "She",
        "it",
        "this product",
        "their",
        "that",
    ]
    assert find_pronouns("它们和这款，她说该产品好") == ["它们", "这款", "她", "该产品"]
    assert find_pronouns("a serum that glows beside the Aura earbuds; 其他 吉他 其它") == []
    assert find_pronouns("Love It serum bottle", allow=["Love It"]) == []


def test_zh_visual_contributes_keywords_only() -> None:
    brief = _brief(Language.zh, brief_id="brf_kw")
    sheet = subject_sheet_for(brief)
    shot = Shot(index=0, role=ShotRole.demo, duration_s=2, visual="厨房里手拿手机特写")
    prompt = shot_prompt(shot, sheet, industry=Industry.beauty, aspect=Aspect.portrait, product_name=ZH_NAME)
    assert "kitchen" in prompt.setting
    assert "hands in sharp focus" in prompt.action and "smartphone" in prompt.action


def test_composition_and_text_space_follow_aspect_and_role() -> None:
    brief = _brief(Language.en, brief_id="brf_wide")
    out = write_shot_prompts(_script(Language.en, brief, EN_VISUALS, aspect=Aspect.landscape), brief)
    for shot in out.shots:
        assert shot.prompt is not None and "16:9" in shot.prompt.camera
    by_role = {s.role: s.prompt for s in out.shots}
    assert "price card" in by_role[ShotRole.offer].camera  # type: ignore[union-attr]
    assert "call-to-action" in by_role[ShotRole.cta].camera  # type: ignore[union-attr]
    assert "Macro detail" in by_role[ShotRole.feature].subject  # type: ignore[union-attr]


@pytest.mark.parametrize("industry", list(Industry))
def test_every_industry_profile_is_explicit(industry: Industry) -> None:
    for lang in Language:
        brief = _brief(lang, brief_id=f"brf_{industry}_{lang}", industry=industry)
        visuals = ZH_VISUALS if lang == Language.zh else EN_VISUALS
        out = write_shot_prompts(_script(lang, brief, visuals), brief)
        for shot in out.shots:
            assert shot.prompt is not None
            assert brief.product.name in shot.prompt.text()
            assert all(find_pronouns(v) == [] for v in shot.prompt.model_dump().values())


def test_input_script_is_not_modified() -> None:
    brief = _brief(Language.en, brief_id="brf_copy")
    script = _script(Language.en, brief, EN_VISUALS)
    out = write_shot_prompts(script, brief)
    assert script.subject_sheet is None and all(s.prompt is None for s in script.shots)
    assert out.subject_sheet is not None and out.id == script.id


def test_sheet_with_pronouns_is_rejected() -> None:
    sheet = SubjectSheet(product=f"The {EN_NAME} bottle", presenter="A woman in her twenties")
    shot = Shot(index=0, role=ShotRole.proof, duration_s=2, visual="smiling")
    with pytest.raises(InputError) as err:
        shot_prompt(shot, sheet, industry=Industry.beauty, aspect=Aspect.square, product_name=EN_NAME)
    assert err.value.field == "subject_sheet.presenter"


def test_script_for_another_brief_is_rejected() -> None:
    brief = _brief(Language.en, brief_id="brf_a")
    script = _script(Language.en, brief, EN_VISUALS)
    with pytest.raises(InputError, match="brf_a"):
        write_shot_prompts(script, _brief(Language.en, brief_id="brf_b"))


def test_industry_profiles_are_validated_data(tmp_path: Path) -> None:
    """A profile typo in the data file names the file, the key path and the line."""
    from adloom.core.datafiles import DataFileError, load_data, package_data_path
    from adloom.scripts_gen.shot_prompts import _Profiles

    text = package_data_path("prompts", "industry_profiles.yaml").read_text(encoding="utf-8")
    assert len(load_data(package_data_path("prompts", "industry_profiles.yaml"), _Profiles).profiles) == len(Industry)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("    hook:"))
    lines[at] = lines[at].replace("{product}", "{prodcut}")
    broken = tmp_path / "profiles.yaml"
    broken.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"{broken}:{at + 1}: profiles\.beauty\.hook"):
        load_data(broken, _Profiles)
    dropped = tmp_path / "dropped.yaml"
    dropped.write_text(text.replace("\n  travel:", "\n  travel_x:"), encoding="utf-8")
    with pytest.raises(DataFileError, match="travel_x"):
        load_data(dropped, _Profiles)
