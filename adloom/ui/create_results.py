"""The lower half of the Create page: render the chosen scripts, follow the batch, review and export.

The batch being followed is kept in ``st.session_state["create.batch_id"]`` and in the URL (``?batch=<id>``), so a
reload, a page switch or a shared link shows the same batch and its progress. Render sends an ``Idempotency-Key``
made from the brief, the scripts and the format: pressing it twice (or in two tabs) makes one batch, not two.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import streamlit as st

from adloom.core.client import ApiError
from adloom.core.types import Aspect, Batch, Creative, CreativeStatus
from adloom.ui.conn import attempt, client, friendly, t

BATCH_KEY = "create.batch_id"
BATCH_PARAM = "batch"
HEIGHTS = (360, 720, 1080)
SHOTS = ("footage_only", "generate_missing", "generate_all")
#: This session's answer of ``GET /v1/capabilities`` (asked once per session, not on every rerun).
CAPABILITIES_KEY = "create.capabilities"
_ASPECT_LABEL = {Aspect.portrait: "portrait", Aspect.landscape: "landscape", Aspect.square: "square"}
_DECISIONS = ("launch", "explore", "prune")
#: Where played videos and covers are cached on the console's machine (fetched once per creative).
CACHE = Path(tempfile.gettempdir()) / "adloom-console"


def render_key(
    brief_id: str, script_ids: list[str], aspect: str, height: int, n: int, shots: str = "footage_only"
) -> str:
    """The Idempotency-Key of one render: the same brief, scripts, format and shot source always give the same key
    (another shot source is another batch)."""
    parts: list[Any] = [brief_id, sorted(script_ids), aspect, height, n if not script_ids else None]
    if shots != "footage_only":  # footage-only keys stay what they were before shots could be chosen
        parts.append(shots)
    payload = json.dumps(parts)
    return "console-render-" + hashlib.sha256(payload.encode()).hexdigest()[:40]


def current_batch() -> str | None:
    """The batch this page follows: this session's, else the one in the URL (a reload or a shared link)."""
    batch_id = st.session_state.get(BATCH_KEY) or st.query_params.get(BATCH_PARAM)
    if batch_id:
        st.session_state[BATCH_KEY] = batch_id
        if st.query_params.get(BATCH_PARAM) != batch_id:
            st.query_params[BATCH_PARAM] = batch_id
    return batch_id or None


def _forget_batch() -> None:
    st.session_state.pop(BATCH_KEY, None)
    if BATCH_PARAM in st.query_params:
        del st.query_params[BATCH_PARAM]


def results_section(brief_id: str, script_ids: list[str], *, n: int | None = None) -> None:
    """Render ``script_ids`` (stored scripts of ``brief_id``) and show the results grid.

    ``n``: with no script ids, how many creatives to render from scripts the server writes itself."""
    st.subheader(t("results.title"))
    _render_controls(brief_id, script_ids, n)
    batch_id = current_batch()
    if batch_id is None:
        st.info(t("results.empty"), icon=":material/movie:")
        return
    try:
        batch = client().get_batch(batch_id)
    except ApiError as exc:
        if exc.status == 404:
            _forget_batch()
            st.warning(t("results.batch_gone"), icon=":material/link_off:")
            return
        attempt(_raise, exc)
        return
    except Exception as exc:  # unreachable server, bad key: a plain message, never a traceback
        attempt(_raise, exc)
        return
    if not batch.status.terminal:
        _progress(batch_id)
        return
    _finished(batch)


def _raise(exc: BaseException) -> None:
    raise exc


def _render_controls(brief_id: str, script_ids: list[str], n: int | None) -> None:
    brief = st.session_state.get(f"create.brief.{brief_id}")
    if brief is None:
        brief = attempt(client().get_brief, brief_id)
        if brief is None:
            return
        st.session_state[f"create.brief.{brief_id}"] = brief
    # labels computed now, in this run's language (a format_func may also be called outside the run)
    aspects = {a.value: t(f"results.aspect_{_ASPECT_LABEL[a]}") for a in Aspect}
    heights = {h: t("results.height_option", height=h) for h in HEIGHTS}
    video = _video_generation()
    shot_labels = {mode: t(f"results.shots_{mode}") for mode in SHOTS}
    shot_options = list(SHOTS) if video.get("available") else ["footage_only"]
    shots_help = (
        t("results.shots_help", model=video.get("model") or "—", device=video.get("device") or "—")
        if video.get("available")
        else t("results.shots_unavailable", reason=video.get("reason") or "—")
    )
    left, mid, shots_col, right = st.columns([2, 1.5, 2.5, 1.5], vertical_alignment="bottom")
    aspect = left.selectbox(
        t("results.aspect"),
        list(aspects),
        index=list(aspects).index(brief.aspect.value),
        format_func=aspects.__getitem__,
        key="create.render_aspect",
    )
    height = mid.selectbox(
        t("results.height"), list(heights), index=1, format_func=heights.__getitem__, key="create.render_height"
    )
    shots = shots_col.selectbox(
        t("results.shots"),
        shot_options,
        index=0,
        format_func=shot_labels.__getitem__,
        disabled=not video.get("available"),
        help=shots_help,
        key="create.render_shots",
    )
    shots = str(shots) if shots in shot_options else "footage_only"
    count = len(script_ids) or (n or 0)
    pressed = right.button(
        t("results.render"),
        type="primary",
        disabled=count == 0,
        help=t("results.render_help"),
        key="create.render",
        icon=":material/play_arrow:",
        width="stretch",
    )
    if count == 0:
        st.caption(t("results.pick_scripts"))
    if not pressed:
        return
    kwargs: dict[str, Any] = {
        "n": count,
        "aspect": str(aspect),
        "height": int(height),
        "idempotency_key": render_key(brief_id, script_ids, str(aspect), int(height), count, shots),
    }
    if shots != "footage_only":
        kwargs["shots"] = shots
    if script_ids:
        kwargs["script_ids"] = sorted(script_ids)
    batch = attempt(client().create_batch, brief_id, **kwargs)
    if batch is not None:
        st.session_state[BATCH_KEY] = batch.id
        st.query_params[BATCH_PARAM] = batch.id
        st.session_state.pop("create.export", None)
        st.toast(t("results.started", count=count), icon=":material/movie:")


def _video_generation() -> dict[str, Any]:
    """``video_generation`` of the server's capabilities, asked once per session. A server that answers with an
    error (an older one without the route) offers footage only, with that error as the reason; an unreachable
    one is asked again on the next run."""
    cached = st.session_state.get(CAPABILITIES_KEY)
    if isinstance(cached, dict):
        return cached
    try:
        video = dict(client().capabilities().get("video_generation") or {})
    except ApiError as exc:
        video = {"available": False, "reason": friendly(exc)}
    except Exception as exc:  # unreachable: not cached, the page's other calls say what is wrong
        return {"available": False, "reason": friendly(exc)}
    st.session_state[CAPABILITIES_KEY] = video
    return video


def _progress_bar(batch: Batch) -> None:
    counts = batch.request_counts
    done = counts.completed + counts.failed
    total = max(counts.total, 1)
    if done == 0 and batch.status.value in ("validating", "queued"):
        st.progress(0.0, text=t("results.status_queued"))
    else:
        st.progress(
            min(done / total, 1.0), text=t("results.progress", done=counts.completed, total=total, failed=counts.failed)
        )


@st.fragment(run_every=2)
def _progress(batch_id: str) -> None:
    """Polls the batch every 2 s without blocking the rest of the page; reruns the page once it has ended."""
    batch = attempt(client().get_batch, batch_id)
    if batch is None:
        return
    _progress_bar(batch)
    if batch.status.terminal:
        st.rerun(scope="app")


# -- the grid ---------------------------------------------------------------------------------------------------
def _creatives(batch: Batch) -> list[Creative]:
    ids: list[str] = []
    after = None
    while True:
        page = attempt(client().list_items, batch.id, limit=100, after=after)
        if page is None:
            return []
        for item in page.data:
            cid = item.creative_id or (item.error or {}).get("creative_id")
            if cid and cid not in ids:
                ids.append(cid)
        if not page.has_more or not page.last_id:
            break
        after = page.last_id
    reviewed: dict[str, Creative] = st.session_state.setdefault("create.reviewed", {})
    out = []
    for cid in ids:
        creative = attempt(client().get_creative, cid)
        if creative is not None:
            out.append(reviewed.get(cid, creative) if _newer(reviewed.get(cid), creative) else creative)
    return out


def _newer(mine: Creative | None, server: Creative) -> bool:
    """Whether the review this session just gave is newer than what the server answered (never, normally)."""
    if mine is None or mine.review is None:
        return False
    return server.review is None or server.review.at < mine.review.at


def _finished(batch: Batch) -> None:
    counts = batch.request_counts
    if batch.status.value in ("failed", "expired", "cancelled") and counts.completed == 0:
        st.error(t("results.batch_failed", status=batch.status.value, detail="; ".join(batch.errors) or "—"))
    else:
        st.success(t("results.finished", done=counts.completed, failed=counts.failed), icon=":material/check:")
    creatives = _creatives(batch)
    if not creatives:
        st.info(t("results.none_delivered"))
        return
    order = sorted(creatives, key=lambda c: (c.status == CreativeStatus.rejected, -_rank_score(c)))
    for start in range(0, len(order), 3):
        cols = st.columns(3)
        for col, (i, creative) in zip(cols, enumerate(order[start : start + 3], start + 1), strict=False):
            with col.container(border=True):
                _card(i, creative)
    _export(order)


def _rank_score(c: Creative) -> float:
    return float(c.scores.get("pctcvr", c.scores.get("prior", 0.0)))


def _cached(creative: Creative, kind: str, suffix: str) -> Path | None:
    dest = CACHE / f"{creative.id}.{kind}{suffix}"
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        return client().download(creative.id, kind, dest)  # type: ignore[arg-type]
    except Exception:  # a missing file is shown as a message on the card, not an error banner
        dest.unlink(missing_ok=True)
        return None


def _card(n: int, creative: Creative) -> None:
    st.markdown(f"**{t('results.card_title', n=n, title=creative.script.title)}**")
    if creative.video_path:
        video = _cached(creative, "video", ".mp4")
        if video is not None:
            st.video(str(video))
        else:
            st.caption(t("results.no_video"))
    _scores(creative)
    _decision(creative)
    _gate(creative)
    _authors(creative)
    _review(creative)


def _pct(value: float) -> str:
    return f"{value:.0f}"


def _scores(creative: Creative) -> None:
    s = creative.scores
    if "ctr_percentile" not in s:
        st.caption(t("results.no_score"))
        return
    if s.get("percentile_confident", 0.0) < 0.5:
        st.markdown(f":material/help: {t('results.not_enough_data')}")
        st.caption(t("results.not_enough_help", n=int(s.get("reference_n", 0))))
        return
    # one above the other: a card in a three-wide grid has no room for two metrics side by side
    for col, key, label in ((st.container(), "ctr", "results.ctr"), (st.container(), "cvr", "results.cvr")):
        p, low, high = s[f"{key}_percentile"], s[f"{key}_percentile_low"], s[f"{key}_percentile_high"]
        # short enough for a narrow card; a weak ad reads "Bottom 10%", not "Top 90%"
        value = (
            t("results.percentile", top=f"{max(1.0, 100.0 - p):.0f}")
            if p >= 50
            else t("results.percentile_bottom", bottom=f"{max(1.0, p):.0f}")
        )
        col.metric(
            t(label), value, help=t("results.percentile_help", p=_pct(p), low=_pct(low), high=_pct(high)), border=False
        )
        if _pct(low) == _pct(high):  # "beats 100–100%" says one number twice
            col.caption(t("results.interval_point", p=_pct(low)))
        else:
            col.caption(t("results.interval", low=_pct(low), high=_pct(high)))


def _decision(creative: Creative) -> None:
    for reason in reversed(creative.reasons):
        head = reason.split(":", 1)[0]
        if head in _DECISIONS:
            icon = {"launch": ":material/rocket_launch:", "explore": ":material/science:", "prune": ":material/cut:"}
            st.markdown(f"{icon[head]} **{t('results.decision_' + head)}**")
            st.caption(reason.split(":", 1)[1].strip())
            return
    if creative.status != CreativeStatus.rejected:
        st.caption(t("results.decision_none"))


def _gate(creative: Creative) -> None:
    if creative.status == CreativeStatus.rejected:
        reasons = [r for r in creative.reasons if r.split(":", 1)[0] not in _DECISIONS]
        st.error(t("results.gate_failed", reasons="; ".join(reasons) or "—"), icon=":material/report:")
    else:
        st.markdown(f":material/verified: {t('results.gate_passed')}")


def _lines(creative: Creative) -> list[tuple[str, str, str]]:
    """(where, text, author key) of every line of the script, in reading order."""
    s = creative.script
    origin = s.provenance.lines
    default = {"llm": "llm", "mixed": "template", "structured": "structured"}.get(s.provenance.path, "template")

    def author(key: str) -> str:
        found = origin.get(key)
        return found.author if found is not None else default

    rows = [(t("results.line_hook"), s.hook, author("hook"))]
    for shot in s.shots:
        if shot.narration:
            key = f"shots[{shot.index}].narration"
            rows.append((t("results.line_narration", n=shot.index + 1), shot.narration, author(key)))
        if shot.caption:
            key = f"shots[{shot.index}].caption"
            rows.append((t("results.line_caption", n=shot.index + 1), shot.caption, author(key)))
    rows.append((t("results.line_cta"), s.cta, author("cta")))
    return rows


def _authors(creative: Creative) -> None:
    rows = _lines(creative)
    tally = Counter(a for _, _, a in rows)
    summary = t(
        "results.author_summary",
        llm=tally["llm"],
        template=tally["template"],
        structured=tally["structured"],
        advertiser=tally["advertiser"],
    )
    with st.expander(f"{t('results.authors')}: {summary}"):
        st.dataframe(
            [
                {t("results.line"): where, t("results.text"): text, t("results.author"): t(f"results.author_{who}")}
                for where, text, who in rows
            ],
            hide_index=True,
            width="stretch",
        )


def _do_review(creative_id: str, decision: str) -> None:
    """Button callback: runs before the page reruns, so the card shows the new state at once."""
    reason = str(st.session_state.get(f"create.reason.{creative_id}", "")).strip()
    if decision == "rejected" and not reason:
        st.session_state[f"create.reason_missing.{creative_id}"] = True
        return
    st.session_state.pop(f"create.reason_missing.{creative_id}", None)
    done = attempt(client().review_creative, creative_id, decision, reason)
    if done is not None:
        st.session_state.setdefault("create.reviewed", {})[creative_id] = done
        st.session_state.pop("create.export", None)  # the approved set changed: a new export is needed


def _review(creative: Creative) -> None:
    review = creative.review
    if review is None:
        st.caption(f":material/pending: {t('results.unreviewed')}")
    elif review.decision == "approved":
        st.markdown(f":green[:material/check_circle: **{t('results.approved')}**]")
    else:
        st.markdown(f":red[:material/cancel: **{t('results.rejected', reason=review.reason or '—')}**]")
    cid = creative.id
    can_approve = creative.status != CreativeStatus.rejected
    left, right = st.columns(2)
    left.button(
        t("results.approve"),
        key=f"create.approve.{cid}",
        on_click=_do_review,
        args=(cid, "approved"),
        disabled=not can_approve or (review is not None and review.decision == "approved"),
        icon=":material/thumb_up:",
        width="stretch",
    )
    right.button(
        t("results.reject"),
        key=f"create.reject.{cid}",
        on_click=_do_review,
        args=(cid, "rejected"),
        icon=":material/thumb_down:",
        width="stretch",
    )
    st.text_input(
        t("results.reject_reason"),
        key=f"create.reason.{cid}",
        placeholder=t("results.reject_reason_placeholder"),
        max_chars=500,
    )
    if st.session_state.get(f"create.reason_missing.{cid}"):
        st.warning(t("results.reject_needs_reason"))


# -- export -----------------------------------------------------------------------------------------------------
def _export(creatives: list[Creative]) -> None:
    st.subheader(t("results.export_title"))
    approved = [c.id for c in creatives if c.review is not None and c.review.decision == "approved"]
    if st.button(
        t("results.export"),
        key="create.export_button",
        disabled=not approved,
        icon=":material/archive:",
        type="primary",
    ):
        made = attempt(client().create_export, approved)
        if made is not None:
            dest = CACHE / f"{made['id']}.zip"
            dest.parent.mkdir(parents=True, exist_ok=True)
            if attempt(client().download_export, made["id"], dest) is not None:
                st.session_state["create.export"] = {**made, "zip": dest.read_bytes()}
    if not approved:
        st.caption(t("results.export_none"))
    made = st.session_state.get("create.export")
    if not made:
        return
    st.success(t("results.export_ready", count=made["count"]), icon=":material/inventory_2:")
    if made.get("skipped"):
        detail = "; ".join(f"{s['creative_id']}: {s['reason']}" for s in made["skipped"])
        st.caption(t("results.export_skipped", count=len(made["skipped"]), detail=detail))
    st.download_button(
        t("results.download"),
        data=made["zip"],
        file_name=f"adloom-{made['id']}.zip",
        mime="application/zip",
        key="create.download",
        icon=":material/download:",
    )
    st.dataframe(made["manifest"], hide_index=True, width="stretch", column_order=made["columns"])
