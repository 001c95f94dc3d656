"""The seeded sample library: coverage, valid scripts, compliant copy, timing and determinism."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from adloom.analytics.sample_library import generate_sample_library, write_sample_library
from adloom.analytics.simulator import CreativeAttributes, ResponseModel
from adloom.core.text import speech_seconds
from adloom.core.types import CtaStrength, HookType, Industry, Language, LibraryItem, Script, ShotRole

BANNED_ZH = ("最", "第一", "唯一", "顶级", "绝对", "100%", "保证", "稳赚", "保本", "零风险", "根治")
BANNED_EN = re.compile(r"\b(best|guaranteed?|risk-free|number one|perfect|cure[sd]?)\b|#1", re.IGNORECASE)
PRICE = re.compile(r"[$¥]\s?\d|\d+(\.\d+)?\s?(元|万)")


@pytest.fixture(scope="module")
def library() -> list[LibraryItem]:
    return generate_sample_library()


def _texts(item: LibraryItem) -> list[str]:
    s = item.script
    return [
        item.title,
        s.title,
        s.hook,
        s.cta,
        *s.selling_points,
        *(x.visual for x in s.shots),
        *(x.narration for x in s.shots),
        *(x.caption for x in s.shots),
    ]


def _units(text: str, language: Language) -> int:
    if language is Language.zh:
        return len(re.findall(r"\w", text))
    return len([w for w in text.split() if re.search(r"\w", w)])


def test_size_and_coverage(library: list[LibraryItem]) -> None:
    assert len(library) == 400
    assert len({i.industry for i in library}) == len(Industry)
    langs = Counter(i.language for i in library)
    assert 0.4 < langs[Language.zh] / len(library) < 0.6
    assert len({i.platform for i in library}) >= 6
    assert len({i.aspect for i in library}) == 3
    assert len({i.script.hook_type for i in library}) == len(HookType)
    assert len({i.script.angle for i in library}) >= 6
    assert len({i.script.cta_strength for i in library}) == len(CtaStrength)
    assert 0.25 < sum(i.script.price_mentioned for i in library) / len(library) < 0.75
    # several products per industry and language, so hooks differ
    assert len({i.script.hook for i in library}) > 150
    assert len({i.id for i in library}) == 400


def test_every_script_is_a_valid_core_script(library: list[LibraryItem]) -> None:
    for item in library:
        again = Script.model_validate(item.script.model_dump(exclude={"duration_s"}))
        assert again.provenance.path == "sample"
        assert item.source == "sample"
        assert (item.industry, item.language, item.platform, item.aspect) == (
            again.industry,
            again.language,
            again.platform,
            again.aspect,
        )
        assert 8.0 <= again.duration_s <= 45.0
        assert 3 <= len(again.shots) <= 8
        roles = [s.role for s in again.shots]
        assert roles[0] is ShotRole.hook and roles[-1] is ShotRole.cta
        assert ShotRole.hook not in roles[1:-1] and ShotRole.cta not in roles[1:-1]
        assert again.shots[0].narration == again.hook and again.shots[-1].narration.endswith(again.cta)
        assert all(s.visual for s in again.shots)
        assert item.created_at.year == 2026


def test_no_absolute_claims_anywhere(library: list[LibraryItem]) -> None:
    for item in library:
        for text in _texts(item):
            assert not any(w in text for w in BANNED_ZH), (item.id, text)
            assert not BANNED_EN.search(text), (item.id, text)


def test_narration_fits_each_shot_at_the_speaking_rate(library: list[LibraryItem]) -> None:
    fill = []
    for item in library:
        lang = item.language
        for shot in item.script.shots:
            seconds = speech_seconds(shot.narration, lang)
            assert seconds <= shot.duration_s, (item.id, shot.index, shot.narration, shot.duration_s)
            fill.append(seconds / shot.duration_s)
    # and it is not mostly silence either
    assert sum(fill) / len(fill) > 0.5


def test_captions_are_short(library: list[LibraryItem]) -> None:
    for item in library:
        for shot in item.script.shots:
            if item.language is Language.zh:
                assert len(shot.caption) <= 14, shot.caption
            else:
                assert len(shot.caption.split()) <= 6, shot.caption
    assert sum(1 for i in library for s in i.script.shots if s.caption) > 1000


def test_price_appears_exactly_when_mentioned_and_hook_matches(library: list[LibraryItem]) -> None:
    for item in library:
        s = item.script
        spoken = " ".join([s.hook, *(x.narration for x in s.shots)])
        assert bool(PRICE.search(spoken)) == s.price_mentioned, (item.id, spoken)
        if s.hook_type is HookType.price_reveal:
            assert PRICE.search(s.hook)
        if s.hook_type is HookType.question:
            assert s.hook.rstrip().endswith(("?", "？"))
        if s.hook_type is HookType.unboxing:
            assert re.search(r"开箱|提车|看看|Unboxing|first look", s.hook)


def test_cta_line_matches_strength(library: list[LibraryItem]) -> None:
    asks = re.compile(r"点击|点下方|点链接|点进|收藏|Tap|Hit the button|Learn more|Save this|today", re.IGNORECASE)
    for item in library:
        s = item.script
        if s.cta_strength is CtaStrength.none:
            assert not asks.search(s.cta), s.cta
        else:
            assert asks.search(s.cta) or "今天" in s.cta, s.cta
        if s.cta_strength is CtaStrength.strong:
            assert re.search(r"截止|结束|ends", s.cta), s.cta


def test_performance_comes_from_the_simulator(library: list[LibraryItem]) -> None:
    model = ResponseModel(seed=7)
    for item in library:
        p = item.performance
        assert 5_000 <= p.impressions <= 2_000_000
        assert p.conversions <= p.clicks <= p.impressions and p.plays_3s <= p.impressions and p.spend > 0
    big = [i for i in library if i.performance.impressions > 300_000]
    assert big
    for item in big[:20]:
        true = model.true_rates(CreativeAttributes.from_script(item.script))
        n = item.performance.impressions
        assert abs(item.performance.ctr - true.ctr) < 5 * (true.ctr * (1 - true.ctr) / n) ** 0.5


def test_same_seed_same_json_and_different_seed_differs(tmp_path: Path) -> None:
    a = [i.model_dump_json() for i in generate_sample_library(60, seed=7)]
    b = [i.model_dump_json() for i in generate_sample_library(60, seed=7)]
    c = [i.model_dump_json() for i in generate_sample_library(60, seed=8)]
    assert a == b
    assert a != c
    assert json.loads(a[0])["id"] == "lib_s7_0001"
    # a smaller library is a prefix of a larger one
    assert [i.model_dump_json() for i in generate_sample_library(5, seed=7)] == a[:5]

    path = write_sample_library(tmp_path / "lib.jsonl", n=30, seed=7)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == a[:30]
    assert write_sample_library(tmp_path / "again.jsonl", n=30, seed=7).read_bytes() == path.read_bytes()


def test_written_library_imports_back_unchanged(tmp_path: Path) -> None:
    from adloom.scripts_gen.library.importer import import_library

    path = write_sample_library(tmp_path / "sample.jsonl", n=40, seed=7)
    report = import_library(path)
    assert report.errors == []
    assert report.items == generate_sample_library(40, seed=7)


def test_phrase_banks_are_validated_data(tmp_path: Path) -> None:
    """The phrase banks are a data file; a broken edit names the file, the key path and the line."""
    from adloom.analytics.sample_library import _PhraseFile
    from adloom.core.datafiles import DataFileError, load_data, package_data_path

    shipped = package_data_path("library", "phrases.yaml")
    banks = load_data(shipped, _PhraseFile).languages
    assert all(len(bank.products[i]) == 3 for bank in banks.values() for i in Industry)
    lines = shipped.read_text(encoding="utf-8").splitlines()
    at = lines.index("    verb:") + 1  # the first verb entry
    lines[at] = lines[at].replace(":", "_typo:", 1)
    broken = tmp_path / "phrases.yaml"
    broken.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"{broken}:\d+: languages\.zh\.verb"):
        load_data(broken, _PhraseFile)
    lines = shipped.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("look:"))
    lines[at] = lines[at].split(":")[0] + ": ''"
    broken.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"{broken}:{at + 1}: languages\.zh\.products\.beauty\[0\]\.look"):
        load_data(broken, _PhraseFile)
