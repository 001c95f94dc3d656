"""Importing a user's library from CSV and JSONL: good rows, one error per bad row, file-level errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adloom.core.errors import ImportRowError, InputError
from adloom.core.types import (
    Angle,
    HookType,
    Industry,
    Language,
    LibraryItem,
    Performance,
    Platform,
    Provenance,
    Script,
    Shot,
    ShotRole,
)
from adloom.scripts_gen.library.importer import _script_from_text, import_library

HEADER = [
    "title",
    "industry",
    "platform",
    "language",
    "aspect",
    "script_text",
    "hook_type",
    "angle",
    "impressions",
    "plays_3s",
    "clicks",
    "conversions",
    "spend",
]
GOOD_ZH = {
    "title": "保湿精华 痛点",
    "industry": "beauty",
    "platform": "douyin",
    "language": "zh",
    "aspect": "9:16",
    "script_text": "换季脸干到起皮？这瓶精华有三种玻尿酸。质地清爽不黏。今天下单129元，点击下方链接。",
    "hook_type": "",
    "angle": "",
    "impressions": "12,000",
    "plays_3s": "4000",
    "clicks": "240",
    "conversions": "12",
    "spend": "480.5",
}
GOOD_EN = {
    "title": "Robot vacuum demo",
    "industry": "Home",
    "platform": "tiktok",
    "language": "en",
    "aspect": "portrait",
    "script_text": "Cat hair everywhere again? It vacuums and mops in one pass. Tap the link to shop.",
    "hook_type": "demo",
    "angle": "convenience",
    "impressions": "5000",
    "plays_3s": "1500",
    "clicks": "60",
    "conversions": "3",
    "spend": "210",
}


def _csv(tmp_path: Path, rows: list[dict[str, str]], header: list[str] = HEADER, name: str = "lib.csv") -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _full_item() -> LibraryItem:
    script = Script(
        id="scr_full",
        language=Language.en,
        industry=Industry.food,
        platform=Platform.instagram_reels,
        title="Granola",
        hook="No time for breakfast?",
        hook_type=HookType.question,
        angle=Angle.convenience,
        cta="Tap to order.",
        shots=[
            Shot(index=0, role=ShotRole.hook, duration_s=2.5, visual="a jar", narration="No time for breakfast?"),
            Shot(index=1, role=ShotRole.cta, duration_s=2.0, visual="a jar", narration="Tap to order."),
        ],
        provenance=Provenance(path="sample"),
    )
    return LibraryItem(
        id="lib_full",
        title="Granola",
        industry=Industry.food,
        platform=Platform.instagram_reels,
        language=Language.en,
        aspect="9:16",
        script=script,
        performance=Performance(impressions=1000, plays_3s=300, clicks=20, conversions=2, spend=40.0),
        source="sample",
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def _only_error(errors: list[ImportRowError]) -> ImportRowError:
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_csv_good_rows_become_library_items(tmp_path: Path) -> None:
    report = import_library(_csv(tmp_path, [GOOD_ZH, GOOD_EN]))
    assert report.errors == []
    zh, en = report.items
    assert (zh.industry, zh.language, zh.source) == (Industry.beauty, Language.zh, "import")
    assert zh.performance == Performance(impressions=12000, plays_3s=4000, clicks=240, conversions=12, spend=480.5)
    assert zh.script.hook == "换季脸干到起皮？" and zh.script.hook_type is HookType.question
    assert zh.script.cta == "今天下单129元，点击下方链接。"
    assert zh.script.price_mentioned and zh.script.angle is Angle.value
    assert [s.role for s in zh.script.shots] == [ShotRole.hook, ShotRole.feature, ShotRole.feature, ShotRole.cta]
    assert zh.script.provenance.path == "import"
    assert (en.industry, en.aspect.value, en.script.hook_type, en.script.angle) == (
        Industry.home,
        "9:16",
        HookType.demo,
        Angle.convenience,
    )
    # ids are stable across re-imports of the same file
    again = import_library(_csv(tmp_path, [GOOD_ZH, GOOD_EN], name="again.csv"))
    assert [i.id for i in again.items] == [zh.id, en.id]


def test_structured_shots_are_timed_at_the_speaking_rate() -> None:
    script = _script_from_text(
        "Cat hair everywhere again? It vacuums and mops in one pass, even under the sofa. Shop now.",
        language=Language.en,
        industry=Industry.home,
        platform=Platform.tiktok,
        aspect="9:16",
        title="t",
    )
    middle = script.shots[1]
    assert middle.narration == "It vacuums and mops in one pass, even under the sofa."
    assert middle.duration_s == pytest.approx(11 / 2.6 + 0.35, abs=0.06)
    zh = _script_from_text(
        "你好。这是一句十个字的话啊。再见。",
        language=Language.zh,
        industry=Industry.home,
        platform=Platform.douyin,
        aspect="9:16",
        title="t",
    )
    assert zh.shots[1].duration_s == pytest.approx(10 / 4.5 + 0.35, abs=0.06)
    one = _script_from_text(
        "Just one line",
        language=Language.en,
        industry=Industry.home,
        platform=Platform.tiktok,
        aspect="9:16",
        title="t",
    )
    assert len(one.shots) == 1 and one.cta == "" and one.hook_type is HookType.story


def test_long_text_is_merged_into_at_most_twenty_shots() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    script = _script_from_text(
        text, language=Language.en, industry=Industry.home, platform=Platform.tiktok, aspect="9:16", title="t"
    )
    assert len(script.shots) <= 20
    assert "Sentence number 30 is here." in script.full_text()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"industry": "cars"}, "industry", ["industry 'cars' is not one of beauty, apparel", "use one of those"]),
        ({"platform": "myspace"}, "platform", ["platform 'myspace'", "douyin"]),
        ({"language": "fr"}, "language", ["language 'fr'", "zh, en"]),
        ({"aspect": "4:3"}, "aspect", ["aspect '4:3'", "9:16"]),
        ({"hook_type": "shock"}, "hook_type", ["hook_type 'shock'"]),
        (
            {"clicks": "50", "impressions": "10", "plays_3s": "5", "conversions": "1"},
            "clicks",
            ["clicks (50) exceeds impressions (10)"],
        ),
        ({"plays_3s": "20000"}, "plays_3s", ["plays_3s (20000) exceeds impressions (12000)"]),
        ({"conversions": "300"}, "conversions", ["conversions (300) exceeds clicks (240)"]),
        ({"impressions": "lots"}, "impressions", ["impressions 'lots' is not a number"]),
        ({"clicks": "-5"}, "clicks", ["clicks (-5) is negative"]),
        ({"clicks": "2.5"}, "clicks", ["not a whole number"]),
        ({"spend": "nan"}, "spend", ["spend 'nan' is not a number"]),
        ({"title": ""}, "title", ["title is empty"]),
        ({"title": "x" * 130}, "title", ["title is 130 characters long"]),
        ({"script_text": "   "}, "script_text", ["script_text is empty"]),
        ({"script_text": "y" * 500}, "script_text", ["script_text gives an invalid script", "400 characters"]),
    ],
)
def test_each_bad_csv_row_gives_one_error_with_row_and_field(
    tmp_path: Path, change: dict[str, str], field: str, words: list[str]
) -> None:
    rows = [GOOD_EN, GOOD_EN, {**GOOD_ZH, **change}, GOOD_ZH]
    report = import_library(_csv(tmp_path, rows))
    assert len(report.items) == 3
    err = _only_error(report.errors)
    assert isinstance(err, ImportRowError)
    assert err.row == 3 and err.field == field
    message = str(err)
    assert message.startswith("row 3: ")
    assert "header not counted" in message
    for w in words:
        assert w in message


def test_csv_row_with_wrong_cell_count(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    good = ",".join(f'"{GOOD_EN[h]}"' for h in HEADER)
    path.write_text(",".join(HEADER) + "\n" + good + "\n" + good + ",surplus\n" + "a,beauty\n", encoding="utf-8")
    report = import_library(path)
    assert len(report.items) == 1
    assert [(e.row, e.field) for e in report.errors] == [(2, None), (3, None)]
    assert "has 14 cells but the header has 13" in str(report.errors[0])
    assert "has 2 cells but the header has 13" in str(report.errors[1])


def test_csv_without_performance_columns_and_with_unknown_ones(tmp_path: Path) -> None:
    header = ["title", "industry", "platform", "language", "aspect", "script_text", "hook_typ"]
    report = import_library(_csv(tmp_path, [{**GOOD_EN, "hook_typ": "demo"}], header=header))
    assert report.errors == []
    assert report.items[0].performance == Performance()
    assert report.ignored_columns == ["hook_typ"]


def test_jsonl_full_and_flat_rows(tmp_path: Path) -> None:
    full = _full_item()
    flat = {
        **GOOD_EN,
        "impressions": 5000,
        "plays_3s": 1500,
        "clicks": 60,
        "conversions": 3,
        "spend": 210.0,
        "created_at": "2026-02-01T08:00:00Z",
    }
    path = tmp_path / "lib.jsonl"
    path.write_text(full.model_dump_json() + "\n\n" + json.dumps(flat, ensure_ascii=False) + "\n", encoding="utf-8")
    report = import_library(path)
    assert report.errors == []
    got_full, got_flat = report.items
    assert got_full == full  # round-trips, including the computed script duration in the dump
    assert got_flat.performance.clicks == 60 and got_flat.source == "import"
    assert got_flat.created_at == datetime(2026, 2, 1, 8, tzinfo=UTC)


def test_jsonl_bad_rows_are_numbered_by_line(tmp_path: Path) -> None:
    full = json.loads(_full_item().model_dump_json())
    bad_full = {**full, "script": {**full["script"], "hook_type": "shock"}}
    lines = [
        json.dumps(GOOD_EN),  # 1 good
        "{not json",  # 2
        "[1, 2]",  # 3
        "",  # 4 blank, skipped but counted
        json.dumps(bad_full),  # 5
        json.dumps({**GOOD_EN, "clicks": 9000}),  # 6
        json.dumps({**GOOD_EN, "impressions": True}),  # 7
        json.dumps({k: v for k, v in GOOD_EN.items() if k != "industry"}),  # 8
        json.dumps({**GOOD_EN, "created_at": "last tuesday"}),  # 9
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_library(path)
    assert len(report.items) == 1
    got = [(e.row, e.field) for e in report.errors]
    assert got == [
        (2, None),
        (3, None),
        (5, "script.hook_type"),
        (6, "clicks"),
        (7, "impressions"),
        (8, "industry"),
        (9, "created_at"),
    ]
    messages = [str(e) for e in report.errors]
    assert "is not valid JSON" in messages[0] and messages[0].startswith("row 2: ")
    assert "is a JSON list, not an object" in messages[1]
    assert "script.hook_type" in messages[2] and "'shock'" in messages[2]
    assert "clicks (9000) exceeds impressions (5000)" in messages[3]
    assert "industry is empty" in messages[5]
    assert "ISO 8601" in messages[6]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("lib.xlsx", b"PK\x03\x04", ["extension '.xlsx'", ".csv or .jsonl"]),
        ("lib.csv", b"title,industry\n", ["missing the column(s) platform, language, aspect, script_text"]),
        ("lib.csv", (b"title;industry\n"), ["missing the column(s)"]),
        ("lib.csv", b"", ["is empty"]),
        ("lib.jsonl", b"\n  \n", ["is empty"]),
        ("lib.csv", (",".join(HEADER) + "\n").encode(), ["header but no data rows"]),
        ("lib.csv", "title,industry\n".encode("utf-16"), ["not UTF-8", "CSV UTF-8"]),
        ("lib.csv", ",".join(HEADER).encode() + b"\n\xb1\xa3\n", ["not UTF-8", "offset"]),
    ],
)
def test_file_level_problems_raise_input_error_naming_the_path(
    tmp_path: Path, name: str, content: bytes, words: list[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        import_library(path)
    assert not isinstance(info.value, ImportRowError)
    assert str(path) in str(info.value)
    for w in words:
        assert w in str(info.value)


def test_missing_file_directory_and_size_cap(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        import_library(tmp_path / "nope.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(InputError, match="is not a file"):
        import_library(tmp_path / "dir.csv")
    big = tmp_path / "big.jsonl"
    with big.open("wb") as f:  # sparse: 201 MB on paper, nothing on disk
        f.truncate(201 * 1024 * 1024)
    with pytest.raises(InputError, match="over the 200 MB import limit"):
        import_library(big)
    small = _csv(tmp_path, [GOOD_EN])
    with pytest.raises(InputError, match="import limit"):
        import_library(small, max_bytes=10)


def test_utf8_bom_from_excel_is_accepted(tmp_path: Path) -> None:
    path = _csv(tmp_path, [GOOD_ZH])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    report = import_library(path)
    assert report.errors == [] and report.items[0].title == GOOD_ZH["title"]
