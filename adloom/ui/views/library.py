"""Console page: the creative library.

Search it (by meaning, ranked with observed performance) or browse it with filters (industry, platform,
language, aspect, minimum impressions); inspect one item's script shot by shot with its performance; import a
CSV or JSONL of past creatives and see each bad row. State lives in ``st.session_state`` under ``library.*``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from adloom.core.client import AdloomClient
from adloom.core.datafiles import package_data_path
from adloom.core.errors import InputError
from adloom.core.types import Aspect, Industry, Language, Platform
from adloom.ui.conn import attempt, client, t

S = "library."  # session-state prefix
PAGE = 20
IMPORT_SUFFIXES = ("csv", "jsonl", "ndjson")
#: A CSV the importer takes (the columns of ``adloom library import``) with one example row; tested to import.
TEMPLATE = "library_template.csv"


def pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.2f}%"


def _filters() -> dict[str, str | None]:
    return {k: st.session_state.get(S + k) or None for k in ("industry", "platform", "language", "aspect")}


def fetch_rows(c: AdloomClient, q: str, filters: dict[str, str | None], min_impr: int, offset: int) -> Any:
    """(rows, total, has_more): search hits for ``q``, else a page of the library, best performers first."""
    if q.strip():
        hits = c.search_library(q.strip(), limit=50, **filters)
        hits = [h for h in hits if h["impressions"] >= min_impr]
        return hits, len(hits), False
    page = c.list_library(limit=PAGE, offset=offset, min_impressions=min_impr, **filters)
    return page["data"], page["total"], page["has_more"]


def import_library_file(c: AdloomClient, name: str, data: bytes) -> dict[str, Any]:
    """Send an uploaded CSV/JSONL of past creatives to the API (bad rows come back with their row number)."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in IMPORT_SUFFIXES:
        raise InputError(t("library.import.bad_suffix", name=name))
    with tempfile.TemporaryDirectory(prefix="adloom-ui-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        return c.import_library(path)


def template_button(where: str) -> None:
    st.download_button(
        t("library.template"),
        b"\xef\xbb\xbf" + (package_data_path("ui") / TEMPLATE).read_bytes(),  # a BOM: Excel opens the Chinese
        file_name="adloom-library-template.csv",
        mime="text/csv",
        icon=":material/download:",
        key=S + "template." + where,
    )


def results(rows: list[dict[str, Any]], searching: bool) -> None:
    frame = pd.DataFrame(
        [
            {
                t("library.col.title"): r["title"],
                t("library.col.industry"): r["industry"],
                t("library.col.platform"): r["platform"],
                t("library.col.language"): r["language"],
                t("library.col.aspect"): r["aspect"],
                t("library.col.hook"): r["hook_type"],
                t("library.col.impressions"): r["impressions"],
                t("library.col.ctr"): r["ctr"] * 100,
                t("library.col.cvr"): r["cvr"] * 100,
                **({t("library.col.match"): r["score"]} if searching else {}),
                "id": r["id"],
            }
            for r in rows
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            t("library.col.ctr"): st.column_config.NumberColumn(format="%.2f%%"),
            t("library.col.cvr"): st.column_config.NumberColumn(format="%.2f%%"),
            t("library.col.impressions"): st.column_config.NumberColumn(format="localized"),
            t("library.col.match"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
        },
    )


def inspect(c: AdloomClient, item_id: str) -> None:
    cache: dict[str, dict[str, Any]] = st.session_state.setdefault(S + "items", {})
    if item_id not in cache:
        with st.spinner(t("library.inspect.loading")):
            got = attempt(c.get_library_item, item_id)
        if got is None:
            return
        cache[item_id] = got
    item = cache[item_id]
    script = item["script"]
    with st.container(border=True):
        st.subheader(item["title"])
        st.caption(
            " · ".join(
                [
                    item["id"],
                    item["industry"],
                    item["platform"],
                    item["language"],
                    item["aspect"],
                    t(f"library.source.{item['source']}"),
                ]
            )  # fmt: skip
        )
        cols = st.columns(4)
        cols[0].metric(t("library.col.impressions"), f"{item['impressions']:,}")
        cols[1].metric(t("library.metric.play_3s_rate"), pct(item["play_3s_rate"]))
        cols[2].metric(t("library.col.ctr"), pct(item["ctr"]))
        cols[3].metric(t("library.col.cvr"), pct(item["cvr"]))
        perf = item["performance"]
        st.caption(
            t(
                "library.inspect.counts",
                plays=f"{perf['plays_3s']:,}",
                clicks=f"{perf['clicks']:,}",
                conversions=f"{perf['conversions']:,}",
                spend=f"{perf['spend']:,.2f}",
            )
        )
        meta, shots = st.columns([1, 2])
        with meta:
            st.markdown(t("library.inspect.hook", hook=script["hook"], hook_type=script["hook_type"]))
            st.markdown(t("library.inspect.angle", angle=script["angle"], pacing=script["pacing"]))
            st.markdown(t("library.inspect.cta", cta=script["cta"]))
            if script.get("selling_points"):
                st.markdown(t("library.inspect.points") + "\n" + "\n".join(f"- {p}" for p in script["selling_points"]))
            st.caption(t("library.inspect.media") if item["has_media"] else t("library.inspect.no_media"))
        with shots:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "#": s["index"] + 1,
                            t("library.shot.role"): s["role"],
                            t("library.shot.duration"): s["duration_s"],
                            t("library.shot.narration"): s.get("narration") or "",
                            t("library.shot.caption"): s.get("caption") or "",
                            t("library.shot.visual"): s.get("visual") or "",
                        }
                        for s in script["shots"]
                    ]
                ),
                hide_index=True,
            )


def import_section(c: AdloomClient) -> None:
    st.subheader(t("library.import.title"))
    st.caption(t("library.import.help"))
    template_button("import")
    upload = st.file_uploader(t("library.import.file"), type=list(IMPORT_SUFFIXES), key=S + "import_file")
    if upload is not None and st.button(t("library.import.go"), key=S + "import", type="primary"):
        with st.spinner(t("library.import.running", name=upload.name)):
            result = attempt(import_library_file, c, upload.name, upload.getvalue())
        if result is not None:
            st.session_state[S + "import_result"] = {"name": upload.name, **result}
            st.session_state.pop(S + "items", None)
            st.session_state.pop(S + "own", None)
            st.rerun()  # the listing above now holds the new items
    result = st.session_state.get(S + "import_result")
    if not result:
        return
    message = t(
        "library.import.done",
        name=result["name"],
        imported=result["imported"],
        skipped=result["skipped"],
        size=result["library_size"],
    )
    (st.warning if result["errors"] else st.success)(message)
    if result.get("ignored_columns"):
        st.caption(t("library.import.ignored", columns=", ".join(result["ignored_columns"])))
    if result["errors"]:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("library.import.col.row"): e["row"],
                        t("library.import.col.field"): e.get("field") or "",
                        t("library.import.col.reason"): e["message"],
                    }
                    for e in sorted(result["errors"], key=lambda e: e["row"])
                ]
            ),
            hide_index=True,
        )


# -- page --------------------------------------------------------------------------------------------------
st.title(t("nav.library"))
api = attempt(client)
if api is None:
    st.stop()
assert api is not None  # st.stop() ends the run

any_option = t("library.any")
with st.container():
    q = st.text_input(t("library.search"), placeholder=t("library.search_hint"), key=S + "q")
    f1, f2, f3, f4, f5 = st.columns(5)
    for col, name, values in (
        (f1, "industry", [e.value for e in Industry]),
        (f2, "platform", [e.value for e in Platform]),
        (f3, "language", [e.value for e in Language]),
        (f4, "aspect", [e.value for e in Aspect]),
    ):
        col.selectbox(t(f"library.filter.{name}"), [""] + values, format_func=lambda v: v or any_option, key=S + name)
    min_impr = int(f5.number_input(t("library.filter.min_impressions"), min_value=0, step=1000, key=S + "min_impr"))

filters = _filters()
query_key = (q, tuple(filters.items()), min_impr)
if st.session_state.get(S + "query") != query_key:  # a new search starts at the first page
    st.session_state[S + "query"] = query_key
    st.session_state[S + "offset"] = 0
offset = int(st.session_state.get(S + "offset", 0))

if S + "own" not in st.session_state:  # how many of the tenant's own creatives the library holds
    own = attempt(api.list_library, limit=1, source="import")
    st.session_state[S + "own"] = None if own is None else own["total"]
if st.session_state[S + "own"] == 0:
    st.info(t("library.empty"), icon=":material/video_library:")
    template_button("empty")
    st.session_state.pop(S + "own")  # asked again next run, so an import elsewhere shows at once

with st.spinner(t("library.searching")):
    found = attempt(fetch_rows, api, q, filters, min_impr, offset)
if found is not None:
    rows, total, has_more = found
    no_filter = not q.strip() and not any(filters.values()) and not min_impr
    if not rows and no_filter:
        st.info(t("library.none"), icon=":material/video_library:")
    elif not rows:
        st.info(t("library.no_match"), icon=":material/search_off:")
    else:
        st.caption(
            t("library.count_search", n=total)
            if q.strip()
            else t("library.count", first=offset + 1, last=offset + len(rows), total=total)
        )
        results(rows, searching=bool(q.strip()))
        if not q.strip() and (offset or has_more):
            prev, _, nxt = st.columns([1, 3, 1])
            if prev.button(t("library.prev"), disabled=offset == 0, key=S + "prev"):
                st.session_state[S + "offset"] = max(0, offset - PAGE)
                st.rerun()
            if nxt.button(t("library.next"), disabled=not has_more, key=S + "next"):
                st.session_state[S + "offset"] = offset + PAGE
                st.rerun()
        titles = {r["id"]: f"{r['title']} · {r['id']}" for r in rows}
        chosen = st.selectbox(
            t("library.inspect.pick"), [""] + list(titles), format_func=lambda i: titles.get(i, "—"), key=S + "inspect"
        )
        if chosen:
            inspect(api, chosen)

st.divider()
import_section(api)
