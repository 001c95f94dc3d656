"""The Library page in Streamlit's AppTest, against the real API on loopback (``local_api``, which seeds the
synthetic sample library; its performance figures come from the simulator, not real delivery)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adloom.core.client import URL_ENV
from adloom.core.datafiles import package_data_path


def _texts(at: Any) -> str:
    kinds = ("markdown", "caption", "info", "warning", "success", "error")
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))


def test_browse_filter_search_and_inspect(page_test: Callable[..., Any]):
    at = page_test("library").run()
    assert not at.exception, at.exception
    # only the sample library so far: the page says to import one's own, with the template to download
    assert "Import a CSV/JSONL" in at.info[0].value
    assert at.download_button(key="library.template.empty").label == "Download the template (CSV)"
    table = at.dataframe[0].value
    assert len(table) == 20 and list(table["Impressions"]) == sorted(table["Impressions"], reverse=True)
    assert "1–20 of" in _texts(at)

    at.button(key="library.next").click().run()
    assert "21–40 of" in _texts(at)
    at.selectbox(key="library.industry").set_value("food").run()
    at.number_input(key="library.min_impr").set_value(20_000).run()
    table = at.dataframe[0].value
    assert set(table["Industry"]) == {"food"} and table["Impressions"].min() >= 20_000
    assert "1–" in _texts(at)  # a new filter starts at the first page

    at.text_input(key="library.q").input("protein snack bar for breakfast").run()
    assert not at.exception
    hits = at.dataframe[0].value
    assert len(hits) >= 1 and "Match" in hits.columns and set(hits["Industry"]) == {"food"}
    first = hits["id"].iloc[0]
    at.selectbox(key="library.inspect").set_value(first).run()
    assert not at.exception, at.exception
    assert {m.label for m in at.metric} == {"Impressions", "3 s-play rate", "CTR", "CVR"}
    shots = at.dataframe[1].value
    assert list(shots["#"]) == list(range(1, len(shots) + 1)) and shots["Narration"].str.len().sum() > 0
    assert "**Hook**" in _texts(at) and "script only" in _texts(at)


def test_import_with_bad_rows_lists_each_and_the_template_imports(page_test: Callable[..., Any]):
    template = (package_data_path("ui") / "library_template.csv").read_text(encoding="utf-8")
    body = template + "my_002,Broken row,food,nowhere,en,9:16,Hi there. Buy it.,,,10,1,1,0,0\n"
    body += 'my_003,No clicks left,food,douyin,en,9:16,"Hungry? Grab a bar.",,,100,10,5,9,1\n'
    at = page_test("library").run()
    at.file_uploader(key="library.import_file").set_value(("mine.csv", body.encode(), "text/csv")).run()
    at.button(key="library.import").click().run()
    assert not at.exception, at.exception
    assert "mine.csv: imported 1, skipped 2" in at.warning[0].value
    errors = at.dataframe[-1].value
    assert list(errors["Row"]) == [2, 3] and "platform" in errors["Reason"].iloc[0]
    assert "conversions" in errors["Reason"].iloc[1]
    assert not any("Import a CSV/JSONL" in i.value for i in at.info)  # one's own creative is in now

    at.selectbox(key="library.industry").set_value("food").run()
    at.text_input(key="library.q").input("燕麦棒 早餐 蛋白质").run()
    assert "my_001" in list(at.dataframe[0].value["id"])


def test_import_of_a_file_with_no_good_row(page_test: Callable[..., Any]):
    at = page_test("library", lang="zh").run()
    at.file_uploader(key="library.import_file").set_value(("bad.csv", b"title,industry\nx,food\n", "text/csv")).run()
    at.button(key="library.import").click().run()
    assert not at.exception
    assert at.error and "script_text" in at.error[0].value and "Traceback" not in at.error[0].value
    assert at.error[0].value.startswith("输入有误") and not at.warning and not at.success


def test_api_down_is_a_friendly_message(page_test: Callable[..., Any], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9")
    at = page_test("library").run()
    assert not at.exception
    assert at.error and "Cannot reach the adloom service" in at.error[0].value
