"""Console page: campaign reports.

Pick a campaign, read its 3 s-play rate, CTR, CVR and CTCVR with 95 % intervals and lifts against the account
and industry baselines, predicted vs actual per creative, top and bottom creatives with their videos,
breakdowns and the daily trend; download the HTML or PDF report; import delivery feedback and see each bad
row. Every number comes from ``GET /v1/campaigns/{id}/metrics``, the data the downloaded report renders.
State lives in ``st.session_state`` under ``reports.*``.
"""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from adloom.core.client import AdloomClient, ApiError
from adloom.core.errors import InputError
from adloom.ui.conn import attempt, client, friendly, t

METRICS = ("play_3s_rate", "ctr", "cvr", "ctcvr")
#: Suffixes the feedback importer takes; parquet is turned into JSON Lines here (one line per row, same order).
FEEDBACK_SUFFIXES = ("csv", "jsonl", "ndjson", "json", "parquet")
S = "reports."  # session-state prefix


def label(metric: str) -> str:
    return t(f"reports.metric.{metric}")


def pct(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v * 100:.{digits}f}%"


# -- data --------------------------------------------------------------------------------------------------
def load_metrics(c: AdloomClient, campaign_id: str, rank_by: str) -> dict[str, Any] | None:
    """The campaign's metrics, fetched once per campaign, ranking and data version (an import bumps it)."""
    key = (campaign_id, rank_by, st.session_state.get(S + "version", 0))
    cache: dict[Any, dict[str, Any]] = st.session_state.setdefault(S + "metrics", {})
    if key not in cache:
        with st.spinner(t("reports.loading")):
            got = attempt(c.campaign_metrics, campaign_id, rank_by=rank_by)
        if got is None:
            return None
        cache.clear()  # one campaign's data at a time is enough
        cache[key] = got
    return cache[key]


def creative_media(c: AdloomClient, creative_id: str) -> tuple[str, bytes] | None:
    """("video", mp4) or ("cover", image) of a creative, fetched once per session; None when it has neither."""
    cache: dict[str, tuple[str, bytes] | None] = st.session_state.setdefault(S + "media", {})
    if creative_id not in cache:
        found: tuple[str, bytes] | None = None
        try:
            creative = c.get_creative(creative_id)
            for kind, path in (("video", creative.video_path), ("cover", creative.cover_path)):
                if path:
                    found = (kind, c.creative_file(creative_id, kind))  # type: ignore[arg-type]
                    break
        except ApiError:  # deleted, or its file is not served (outside the allowed folders): shown as a note
            found = None
        cache[creative_id] = found
    return cache[creative_id]


def feedback_body(name: str, data: bytes) -> tuple[str, bytes]:
    """The name and bytes to send for an uploaded feedback file; parquet becomes JSON Lines (row n = line n)."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in FEEDBACK_SUFFIXES:
        raise InputError(t("reports.import.bad_suffix", name=name, allowed=", ".join(FEEDBACK_SUFFIXES)))
    if suffix != "parquet":
        return name, data
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(t("reports.import.bad_parquet", name=name, detail=str(exc)[:200])) from None
    text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    return f"{Path(name).stem}.jsonl", text.encode("utf-8")


def import_feedback_file(c: AdloomClient, name: str, data: bytes) -> dict[str, Any]:
    """Send an uploaded feedback file to the API (the same import as ``adloom feedback import``)."""
    send_name, body = feedback_body(name, data)
    with tempfile.TemporaryDirectory(prefix="adloom-ui-") as folder:
        path = Path(folder) / Path(send_name).name
        path.write_bytes(body)
        return c.import_feedback(path)


# -- sections ----------------------------------------------------------------------------------------------
def tiles(data: dict[str, Any]) -> None:
    totals = data["totals"]
    lifts = {(lf["metric"], lf["baseline"]): lf for lf in data["lifts"]}
    baseline = "account" if any(b == "account" for _, b in lifts) else "industry"
    cols = st.columns(4)
    for col, m in zip(cols, METRICS, strict=True):
        r = totals["rates"][m]
        lf = lifts.get((m, baseline))
        delta = pct(lf["lift"], 1) if lf else None  # the tile is narrow: its baseline is named under it
        col.metric(
            label(m),
            pct(r["value"]),
            delta=delta,
            delta_color="normal" if lf and lf["significant"] else "off",
            help=t("reports.tile.help", num=f"{r['numerator']:,}", den=f"{r['denominator']:,}"),
            border=True,
        )
        col.caption(t("reports.tile.interval", lo=pct(r["lo"]), hi=pct(r["hi"])))
        if lf:
            col.caption(t("reports.tile.delta", baseline=t(f"reports.baseline.{baseline}")))
    st.caption(
        t(
            "reports.summary",
            impressions=f"{totals['impressions']:,}",
            spend=f"{totals['spend']:,.2f}",
            creatives=data["creatives"],
            with_feedback=data["creatives_with_feedback"],
            first=data["first_day"] or "–",
            last=data["last_day"] or "–",
        )
    )


def lifts_table(data: dict[str, Any]) -> None:
    if not data["lifts"]:
        st.info(t("reports.lifts.none"))
        return
    rows = [
        {
            t("reports.col.metric"): label(lf["metric"]),
            t("reports.col.baseline"): t(f"reports.baseline.{lf['baseline']}"),
            t("reports.col.baseline_rate"): pct(lf["baseline_value"]),
            t("reports.col.lift"): pct(lf["lift"], 1),
            t("reports.col.interval"): f"[{pct(lf['lo'], 1)}, {pct(lf['hi'], 1)}]",
            t("reports.col.significant"): "✓" if lf["significant"] else "",
        }
        for lf in data["lifts"]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(" · ".join(t("reports.baseline." + b["name"]) + ": " + b["source"] for b in data["baselines"]))


def calibration_chart(data: dict[str, Any], metric: str) -> None:
    cal = next((c for c in data["calibration"] if c["metric"] == metric), None)
    if cal is None:
        st.info(t("reports.calibration.none", metric=label(metric)))
        return
    pts = pd.DataFrame(cal["points"])
    top = float(max(pts["predicted"].max(), pts["observed"].max())) * 1.1 or 1e-6
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, top], "y": [0.0, top]})).mark_line(strokeDash=[4, 4], color="gray")
    scatter = (
        alt.Chart(pts)
        .mark_circle(size=80)
        .encode(
            x=alt.X("predicted:Q", title=t("reports.calibration.predicted"), axis=alt.Axis(format="%")),
            y=alt.Y("observed:Q", title=t("reports.calibration.observed"), axis=alt.Axis(format="%")),
            size=alt.Size("denominator:Q", title=t("reports.col.base"), legend=None),
            tooltip=[
                alt.Tooltip("creative_id:N", title=t("reports.col.creative")),
                alt.Tooltip("predicted:Q", format=".2%", title=t("reports.calibration.predicted")),
                alt.Tooltip("observed:Q", format=".2%", title=t("reports.calibration.observed")),
                alt.Tooltip("denominator:Q", format=",", title=t("reports.col.base")),
            ],
        )
    )
    st.altair_chart(
        (diagonal.encode(x="x:Q", y="y:Q") + scatter).interactive(), width="stretch", key=S + "chart.calibration"
    )
    ratio = cal["ratio"]
    st.caption(
        t(
            "reports.calibration.ratio",
            ratio="–" if ratio is None else f"{ratio:.2f}",
            lo="–" if cal["ratio_lo"] is None else f"{cal['ratio_lo']:.2f}",
            hi="–" if cal["ratio_hi"] is None else f"{cal['ratio_hi']:.2f}",
            n=cal["creatives"],
        )
    )


def creative_cards(c: AdloomClient, items: list[dict[str, Any]], rank_by: str) -> None:
    if not items:
        st.info(t("reports.creatives.none"))
        return
    cols = st.columns(min(3, len(items)))
    for i, item in enumerate(items):
        with cols[i % len(cols)].container(border=True):
            st.markdown(f"**{item['title']}**")
            st.caption(f"{item['creative_id']} · {item['hook_type']} · {item['angle']}")
            media = creative_media(c, item["creative_id"])
            if media and media[0] == "video":
                st.video(media[1])
            elif media:
                st.image(media[1], width="stretch")
            elif item.get("thumbnail"):
                st.image(base64.b64decode(item["thumbnail"].split(",", 1)[1]), width="stretch")
                st.caption(t("reports.creatives.no_video"))
            else:
                st.caption(t("reports.creatives.no_media"))
            r = item["funnel"]["rates"]
            st.markdown(
                t(
                    "reports.creatives.line",
                    metric=label(rank_by),
                    value=pct(r[rank_by]["value"]),
                    lo=pct(r[rank_by]["lo"]),
                    hi=pct(r[rank_by]["hi"]),
                    impressions=f"{item['funnel']['impressions']:,}",
                    ctr=pct(r["ctr"]["value"]),
                    cvr=pct(r["cvr"]["value"]),
                )
            )
            st.caption(t("reports.creatives.hook", hook=item["hook"]))


def breakdown_chart(data: dict[str, Any], metric: str) -> None:
    dims: dict[str, list[dict[str, Any]]] = {
        **{k: v for k, v in data["by_attribute"].items()},
        "placement": data["by_placement"],
        "segment": data["by_segment"],
        "industry": data["by_industry"],
    }
    dims = {k: v for k, v in dims.items() if v}
    if not dims:
        st.info(t("reports.breakdown.none"))
        return
    names = {d: t(f"reports.dim.{d}") for d in dims}  # format_func must not read the session (AppTest calls it)
    dim = st.selectbox(t("reports.breakdown.by"), list(dims), format_func=names.__getitem__, key=S + "dimension")
    rows = [
        {
            "key": r["key"],
            "value": r["funnel"]["rates"][metric]["value"],
            "lo": r["funnel"]["rates"][metric]["lo"],
            "hi": r["funnel"]["rates"][metric]["hi"],
            "impressions": r["funnel"]["impressions"],
        }
        for r in dims[dim]
        if r["funnel"]["rates"][metric]["value"] is not None
    ]
    if not rows:
        st.info(t("reports.breakdown.none"))
        return
    frame = pd.DataFrame(rows)
    tips = [
        alt.Tooltip("key:N", title=t(f"reports.dim.{dim}")),
        alt.Tooltip("value:Q", format=".2%", title=label(metric)),
        alt.Tooltip("lo:Q", format=".2%", title=t("reports.col.lo")),
        alt.Tooltip("hi:Q", format=".2%", title=t("reports.col.hi")),
        alt.Tooltip("impressions:Q", format=",", title=t("reports.col.impressions")),
    ]
    base = alt.Chart(frame).encode(y=alt.Y("key:N", title=None, sort="-x"))
    bars = base.mark_bar().encode(x=alt.X("value:Q", title=label(metric), axis=alt.Axis(format="%")), tooltip=tips)
    whiskers = base.mark_rule(color="black").encode(x="lo:Q", x2="hi:Q", tooltip=tips)
    st.altair_chart(bars + whiskers, width="stretch", key=S + "chart.breakdown")


def trend_chart(data: dict[str, Any], metric: str) -> None:
    rows = [
        {"day": p["day"], "value": r["value"], "lo": r["lo"], "hi": r["hi"], "base": r["denominator"]}
        for p in data["trend"]
        if (r := p["funnel"]["rates"][metric])["value"] is not None
    ]
    if not rows:
        st.info(t("reports.trend.none"))
        return
    frame = pd.DataFrame(rows)
    tips = [
        alt.Tooltip("day:T", title=t("reports.col.day")),
        alt.Tooltip("value:Q", format=".2%", title=label(metric)),
        alt.Tooltip("lo:Q", format=".2%", title=t("reports.col.lo")),
        alt.Tooltip("hi:Q", format=".2%", title=t("reports.col.hi")),
        alt.Tooltip("base:Q", format=",", title=t("reports.col.base")),
    ]
    base = alt.Chart(frame).encode(x=alt.X("day:T", title=None))
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("lo:Q", axis=alt.Axis(format="%"), title=label(metric)), y2="hi:Q"
    )
    line = base.mark_line(point=True).encode(y="value:Q", tooltip=tips)
    st.altair_chart((band + line).interactive(), width="stretch", key=S + "chart.trend")


def downloads(c: AdloomClient, campaign_id: str) -> None:
    """HTML report ready at once; the PDF on request (WeasyPrint takes a few seconds)."""
    files: dict[tuple[str, str], bytes] = st.session_state.setdefault(S + "files", {})
    version = st.session_state.get(S + "version", 0)

    def fetch(fmt: str) -> bytes | None:
        key = (f"{campaign_id}@{version}", fmt)
        if key not in files:
            with st.spinner(t("reports.download.making", fmt=fmt.upper())):
                made = attempt(c.create_report, campaign_id, fmt)
                body = attempt(c.get_report, made["id"]) if made else None
            if body is None:
                return None
            files[key] = body
        return files[key]

    col_html, col_pdf = st.columns(2)
    with col_html:
        html = fetch("html")
        if html is not None:
            st.download_button(
                t("reports.download.html"), html, file_name=f"{campaign_id}.html", mime="text/html",
                icon=":material/download:", key=S + "download.html",
            )  # fmt: skip
    with col_pdf:
        key = (f"{campaign_id}@{version}", "pdf")
        if key in files:
            st.download_button(
                t("reports.download.pdf"), files[key], file_name=f"{campaign_id}.pdf", mime="application/pdf",
                icon=":material/picture_as_pdf:", key=S + "download.pdf",
            )  # fmt: skip
        elif st.button(t("reports.download.make_pdf"), key=S + "make_pdf", icon=":material/picture_as_pdf:"):
            try:
                with st.spinner(t("reports.download.making", fmt="PDF")):
                    made = c.create_report(campaign_id, "pdf")
                    files[key] = c.get_report(made["id"])
                st.rerun()
            except ApiError as exc:
                if "WeasyPrint" in exc.message or "Pango" in exc.message:
                    st.warning(t("reports.download.pdf_unavailable"), icon=":material/info:")
                else:
                    st.error(friendly(exc), icon=":material/error:")
            except Exception as exc:  # never a traceback on the page
                st.error(friendly(exc), icon=":material/error:")


def feedback_import(c: AdloomClient) -> None:
    st.subheader(t("reports.import.title"))
    st.caption(t("reports.import.help"))
    upload = st.file_uploader(t("reports.import.file"), type=list(FEEDBACK_SUFFIXES), key=S + "feedback_file")
    if upload is not None and st.button(t("reports.import.go"), key=S + "import", type="primary"):
        with st.spinner(t("reports.import.running", name=upload.name)):
            result = attempt(import_feedback_file, c, upload.name, upload.getvalue())
        if result is not None:
            st.session_state[S + "import_result"] = {"name": upload.name, **result}
            st.session_state[S + "version"] = st.session_state.get(S + "version", 0) + 1  # new data: fetch again
            st.session_state.pop(S + "campaigns", None)
            st.rerun()  # the campaign list and charts above now include the new feedback
    result = st.session_state.get(S + "import_result")
    if not result:
        return
    message = t(
        "reports.import.done",
        name=result["name"],
        rows=result["rows"],
        counted=result["counted"],
        duplicates=result["duplicates"],
        held=result["held"],
        rejected=result["rejected"],
    )
    (st.warning if result["issues"] else st.success)(message)
    if result["issues"]:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("reports.import.col.row"): i["row"],
                        t("reports.import.col.event"): i.get("event_id") or "",
                        t("reports.import.col.status"): t(f"reports.import.status.{i['status']}"),
                        t("reports.import.col.reason"): i["message"],
                    }
                    for i in sorted(result["issues"], key=lambda i: i["row"])
                ]
            ),
            hide_index=True,
            key=S + "import_issues",
        )
        if result.get("issues_dropped"):
            st.caption(t("reports.import.more", n=result["issues_dropped"]))


# -- page --------------------------------------------------------------------------------------------------
st.title(t("nav.reports"))
api = attempt(client)
if api is None:
    st.stop()
assert api is not None  # for the type checker: st.stop() ends the run

if S + "campaigns" not in st.session_state:
    st.session_state[S + "campaigns"] = attempt(api.list_campaigns)
campaigns: list[dict[str, Any]] | None = st.session_state[S + "campaigns"]
if campaigns is None:
    st.session_state.pop(S + "campaigns")  # try again on the next run
    st.stop()
assert campaigns is not None

if not campaigns:
    st.info(t("reports.empty"), icon=":material/insights:")
else:
    by_id = {c["id"]: c for c in campaigns}
    pick, rank = st.columns([3, 2])
    shown = {i: t("reports.campaign_option", id=i, impressions=f"{c['impressions']:,}") for i, c in by_id.items()}
    labels = {m: label(m) for m in METRICS}
    campaign_id = pick.selectbox(t("reports.campaign"), list(by_id), format_func=shown.__getitem__, key=S + "campaign")
    rank_by = rank.selectbox(t("reports.rank_by"), METRICS, index=3, format_func=labels.__getitem__, key=S + "rank_by")
    data = None
    if by_id[campaign_id]["creatives_with_feedback"] == 0:
        st.info(t("reports.no_feedback", id=campaign_id), icon=":material/hourglass_empty:")
    else:
        data = load_metrics(api, campaign_id, rank_by)
    if data is not None:
        tiles(data)
        st.subheader(t("reports.lifts.title"))
        lifts_table(data)
        chart_metric = (
            st.segmented_control(
                t("reports.chart_metric"),
                METRICS,
                format_func=labels.__getitem__,
                default="ctr",
                key=S + "chart_metric",
            )
            or "ctr"
        )
        left, right = st.columns(2)
        with left:
            st.subheader(t("reports.trend.title"))
            trend_chart(data, chart_metric)
        with right:
            st.subheader(t("reports.calibration.title"))
            calibration_chart(data, chart_metric)
        st.subheader(t("reports.breakdown.title"))
        breakdown_chart(data, chart_metric)
        st.subheader(t("reports.top.title", metric=label(rank_by)))
        creative_cards(api, data["top"], rank_by)
        st.subheader(t("reports.bottom.title", metric=label(rank_by)))
        creative_cards(api, data["bottom"], rank_by)
        for note in data["notes"]:
            st.caption(f"· {note}")
        st.subheader(t("reports.download.title"))
        downloads(api, campaign_id)

st.divider()
feedback_import(api)
