"""Console page: Live rooms — define a room (presenter, voice, background, products, FAQ, script), preview 10 s,
go live, watch it, talk to it.

Every call goes through :func:`adloom.ui.conn.client` (the API), wrapped in :func:`adloom.ui.conn.attempt`.
All state lives in ``st.session_state`` under ``live.`` keys, so it survives reruns and page switches.

Stable widget keys (the end-to-end test and AppTest drive these):

====================================  =====================================================================
``live.open.<room id>``               button: open a room of the list
``live.name`` / ``live.language``     text input / selectbox (zh, en): the room's name and language on air
``live.industry``                     selectbox: the industry (advertising-law rules)
``live.avatar_pick``                  radio: ``rig:<look>`` or ``avatar:<id>`` (thumbnails above it)
``live.portrait``                     file uploader: a portrait; with ``live.consent_subject``,
                                      ``live.consent_granted_by``, ``live.consent_statement``, ``live.portrait_save``
``live.voice`` / ``live.voice_play``  selectbox of voices / button: ▶ preview (an ``st.audio`` appears)
``live.background``                   file uploader: background image
``live.n_products``                   number input; per product i (0-based): ``live.p<i>.name``,
                                      ``live.p<i>.price``, ``live.p<i>.points`` (one selling point a line)
``live.kb_file`` / ``live.kb_upload`` file uploader / button: read the FAQ (count or encoding message)
``live.script_generate``              button: write the script; each line ``live.seg.<line id>`` (text area),
                                      ``live.fix.<line id>`` (apply fix), ``live.script_check`` (check again)
``live.rtmp`` / ``live.local_preview`` password input (masked) / checkbox (HLS preview on the server)
``live.answer_llm``                   checkbox: answers by the LLM (off: grounded templates, instant)
``live.define``                       button: save the room (it becomes the open room)
``live.preview``                      button: render 10 s (an ``st.video`` appears)
``live.go_live`` / ``live.stop`` / ``live.restart`` / ``live.resume``   buttons
``live.comment_viewer`` / ``live.comment_text`` / ``live.comment_send``  a viewer comment
``live.say_text`` / ``live.say_send`` a line for the presenter
====================================  =====================================================================

Watching the room: the page shows the newest frame of the room's HLS preview (``snapshot.jpg``, fetched by the
server-side client and refreshed every 2 s by ``st.fragment(run_every=2)``), not an HLS player. Why: Chromium
plays no HLS natively, hls.js would have to be vendored and send the API key on every segment request, and the
API URL may be a loopback address the viewer's browser cannot reach; bytes fetched here work offline, behind any
proxy, with the key never leaving the server. The playlist URL is shown for players that can send the key.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from adloom.core.types import Industry
from adloom.ui.conn import attempt, client, t

S = "live."  # session-state prefix


def ss(name: str, default: Any = None) -> Any:
    return st.session_state.get(S + name, default)


def put(name: str, value: Any) -> None:
    st.session_state[S + name] = value


# -- rooms ----------------------------------------------------------------------------------------------------


def room_list() -> list[dict[str, Any]] | None:
    page = attempt(lambda: client().list_rooms(limit=50))
    return None if page is None else list(page["data"])


def show_rooms(rooms: list[dict[str, Any]]) -> None:
    st.subheader(t("live.rooms"))
    if not rooms:
        st.info(t("live.empty"), icon=":material/live_tv:")
        return
    for room in rooms:
        c1, c2, c3 = st.columns([5, 2, 1])
        c1.markdown(f"**{room['name']}**  \n`{room['id']}`")
        c2.markdown(
            (":green-badge[" + t("live.status_running") + "]")
            if room["running"]
            else (":gray-badge[" + t("live.status_stopped") + "]")
        )
        if c3.button(t("live.open"), key=f"live.open.{room['id']}"):
            put("room_id", room["id"])
            put("after", 0)
            put("events", [])


# -- the new-room form ----------------------------------------------------------------------------------------


def avatar_picker() -> None:
    st.markdown(f"**{t('live.avatar')}**")
    avatars = ss("avatars")
    if avatars is None:
        avatars = attempt(lambda: client().live_avatars()) or []
        put("avatars", avatars)
    thumbs: dict[str, bytes] = ss("thumbs", {})
    cols = st.columns(max(1, min(len(avatars), 5)))
    for i, av in enumerate(avatars[:5]):
        if av["id"] not in thumbs:
            data = attempt(lambda av=av: client().live_avatar_thumbnail(av["id"]))
            if data:
                thumbs[av["id"]] = data
        if av["id"] in thumbs:
            cols[i % len(cols)].image(thumbs[av["id"]], caption=av["name"], width=110)
    put("thumbs", thumbs)
    ids = [a["id"] for a in avatars] or ["rig:look1"]
    names = {
        a["id"]: a["name"] + ("" if a.get("ready", True) else t("live.avatar_not_ready", note=a.get("note", "")))
        for a in avatars
    }
    st.radio(t("live.avatar_pick"), ids, format_func=lambda i: names.get(i, i), key="live.avatar_pick", horizontal=True)
    with st.expander(t("live.portrait")):
        st.file_uploader(t("live.portrait_file"), type=["png", "jpg", "jpeg", "webp"], key="live.portrait")
        st.text_input(t("live.consent_subject"), key="live.consent_subject")
        st.text_input(t("live.consent_granted_by"), key="live.consent_granted_by")
        st.text_area(t("live.consent_statement"), key="live.consent_statement", height=80)
        if st.button(t("live.portrait_save"), key="live.portrait_save"):
            save_portrait()


def save_portrait() -> None:
    upload = st.session_state.get("live.portrait")
    if upload is None:
        st.warning(t("live.no_file"))
        return
    fields = {
        "subject": t("live.consent_subject"),
        "granted_by": t("live.consent_granted_by"),
        "statement": t("live.consent_statement"),
    }
    missing = [label for name, label in fields.items() if not str(ss("consent_" + name, "")).strip()]
    if missing:  # checked here too, so the photo never leaves the page without consent
        st.error(t("live.consent_missing", fields="、".join(missing)), icon=":material/gpp_bad:")
        return
    with st.spinner():
        made = attempt(
            lambda: client().create_live_avatar(
                upload.getvalue(),
                upload.name,
                subject=ss("consent_subject"),
                granted_by=ss("consent_granted_by"),
                statement=ss("consent_statement"),
            )
        )
    if made:
        put("avatars", None)  # listed again, the new one first
        if made["ready"]:
            st.success(t("live.portrait_saved", name=made["name"]))
        else:
            st.warning(t("live.portrait_pending", note=made["note"]))


def voice_picker(language: str) -> None:
    voices = ss("voices")
    if voices is None:
        voices = attempt(lambda: client().live_voices()) or []
        put("voices", voices)
    ids = ["default"] + [v["id"] for v in voices if v["language"] == language]
    labels = {v["id"]: v["name"] for v in voices}
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    c1.selectbox(t("live.voice"), ids, format_func=lambda i: labels.get(i, i), key="live.voice")
    if c2.button(t("live.voice_play"), key="live.voice_play"):
        voice = ss("voice") if ss("voice") != "default" else next((i for i in ids[1:]), None)
        if voice:
            with st.spinner():
                put("voice_audio", attempt(lambda: client().live_voice_preview(voice, language)))
    if ss("voice_audio"):
        st.audio(ss("voice_audio"), format="audio/wav")


def products_form(language: str) -> None:
    st.markdown(f"**{t('live.products')}**")
    n = int(st.number_input(t("live.product_count"), 1, 5, 1, key="live.n_products"))
    for i in range(n):
        c1, c2 = st.columns([3, 1])
        c1.text_input(t("live.product_name", n=i + 1), key=f"live.p{i}.name")
        c2.text_input(t("live.product_price", n=i + 1), key=f"live.p{i}.price")
        st.text_area(t("live.product_points", n=i + 1), key=f"live.p{i}.points", height=80)


def products(language: str) -> list[dict[str, Any]] | None:
    out = []
    for i in range(int(ss("n_products", 1))):
        name = str(ss(f"p{i}.name", "")).strip()
        if not name:
            continue
        product: dict[str, Any] = {"name": name, "currency": "CNY" if language == "zh" else "USD"}
        price = str(ss(f"p{i}.price", "")).strip().lstrip("¥$￥")
        if price:
            try:
                product["price"] = float(price)
            except ValueError:
                st.error(t("live.bad_price", n=i + 1, value=price))
                return None
        points = [p.strip() for p in str(ss(f"p{i}.points", "")).splitlines() if p.strip()]
        product["selling_points"] = points
        out.append(product)
    if not out:
        st.error(t("live.need_product"))
        return None
    return out


def knowledge(language: str) -> None:
    st.markdown(f"**{t('live.kb')}**")
    st.file_uploader(t("live.kb_file"), type=["txt", "md", "csv", "yaml", "yml", "json"], key="live.kb_file")
    if st.button(t("live.kb_upload"), key="live.kb_upload"):
        upload = st.session_state.get("live.kb_file")
        if upload is None:
            st.warning(t("live.no_file"))
        else:
            put("kb", None)
            put("kb_error", None)
            try:
                put("kb", client().create_live_knowledge(upload.getvalue(), upload.name, language=language))
            except Exception as exc:  # the encoding message is the API's, shown as it is
                from adloom.ui.conn import friendly

                put("kb_error", getattr(exc, "message", None) or friendly(exc))
    if ss("kb"):
        st.success(t("live.kb_count", count=ss("kb")["count"], encoding=ss("kb")["encoding"]))
    if ss("kb_error"):
        st.error(t("live.kb_error", detail=ss("kb_error")), icon=":material/text_snippet:")


def _script_request(language: str) -> dict[str, Any] | None:
    prods = products(language)
    if prods is None:
        return None
    return {"name": ss("name") or t("live.name_default"), "language": language,
            "industry": ss("industry"), "products": prods}  # fmt: skip


def script_editor(language: str) -> None:
    st.markdown(f"**{t('live.script')}**")
    c1, c2 = st.columns(2)
    if c1.button(t("live.script_generate"), key="live.script_generate"):
        body = _script_request(language)
        if body:
            with st.spinner():
                out = attempt(lambda: client().live_script(body))
            if out:
                put("segments", out["segments"])
                put("originals", {seg["id"]: seg["text"] for seg in out["segments"]})
                put("script_key", (body["name"], str(body["products"]), language, body["industry"]))
                for seg in out["segments"]:
                    st.session_state[f"live.seg.{seg['id']}"] = seg["text"]
    segments: list[dict[str, Any]] | None = ss("segments")
    if not segments:
        return
    if c2.button(t("live.script_check"), key="live.script_check"):
        recheck(segments, language)
        segments = ss("segments")
    st.caption(t("live.script_hint"))
    section = None
    for seg in segments:
        if seg["section"] != section:
            section = seg["section"]
            st.markdown(f"*{section}*")
        st.text_area(seg["id"], key=f"live.seg.{seg['id']}", height=68, label_visibility="collapsed")
        for f in seg["findings"]:
            msg = (
                t("live.finding", term=f["term"], rule=f["rule"], suggestion=f["suggestion"])
                if f["suggestion"]
                else t("live.finding_drop", term=f["term"], rule=f["rule"])
            )
            st.warning(msg, icon=":material/gavel:")
        if seg["findings"] and seg.get("fixed") is not None:
            st.button(t("live.apply_fix"), key=f"live.fix.{seg['id']}", on_click=apply_fix, args=(seg["id"],))
    if not any(s["findings"] for s in segments):
        st.caption(t("live.script_clean"))


def apply_fix(seg_id: str) -> None:
    segments = ss("segments") or []
    for seg in segments:
        if seg["id"] == seg_id and seg.get("fixed") is not None:
            st.session_state[f"live.seg.{seg_id}"] = seg["fixed"]
            seg["text"], seg["findings"] = seg["fixed"], []
    put("segments", segments)


def recheck(segments: list[dict[str, Any]], language: str) -> None:
    edited = [{**s, "text": st.session_state.get(f"live.seg.{s['id']}", s["text"])} for s in segments]
    body = {"language": language, "industry": ss("industry"), "segments": edited}
    out = attempt(lambda: client().check_live_script(body))
    if out:
        put("segments", out["segments"])


def new_room_form() -> None:
    with st.expander(t("live.new"), expanded=not ss("room_id"), icon=":material/add_circle:"):
        if "live.name" not in st.session_state:
            st.session_state["live.name"] = t("live.name_default")
        c1, c2, c3 = st.columns(3)
        c1.text_input(t("live.name"), key="live.name")
        language = c2.selectbox(t("live.language"), ["zh", "en"], key="live.language",
                                format_func=lambda c: {"zh": "中文", "en": "English"}[c])  # fmt: skip
        c3.selectbox(t("live.industry"), [i.value for i in Industry], key="live.industry")
        avatar_picker()
        voice_picker(language)
        st.file_uploader(t("live.background"), type=["png", "jpg", "jpeg", "webp"], key="live.background")
        products_form(language)
        knowledge(language)
        script_editor(language)
        st.markdown(f"**{t('live.outputs')}**")
        if ss("clear_rtmp"):
            st.session_state["live.rtmp"] = ""
            put("clear_rtmp", False)
        st.text_input(t("live.rtmp"), key="live.rtmp", type="password", placeholder="rtmp://host/app/KEY")
        st.checkbox(t("live.local_preview"), value=True, key="live.local_preview")
        st.checkbox(t("live.answer_llm"), value=False, key="live.answer_llm")
        if st.button(t("live.define"), key="live.define", type="primary"):
            define(language)


def _upload_background() -> str | None:
    upload = st.session_state.get("live.background")
    if upload is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        made = attempt(lambda: client().upload(path))
    return None if made is None else f"upload:{made.id}"


def define(language: str) -> None:
    body = _script_request(language)
    if body is None:
        return
    outputs = ([ss("rtmp").strip()] if str(ss("rtmp", "")).strip() else []) + (["hls"] if ss("local_preview") else [])
    body.update(avatar=ss("avatar_pick") or "rig:look1", voice=ss("voice") or "default", outputs=outputs,
                answer_llm=bool(ss("answer_llm")), knowledge_base=(ss("kb") or {}).get("lines", []))  # fmt: skip
    segments = ss("segments") or []
    same_script = ss("script_key") == (body["name"], str(body["products"]), language, body["industry"])
    edits = {s["id"]: st.session_state.get(f"live.seg.{s['id']}", s["text"]) for s in segments}
    originals = ss("originals") or {}
    edits = {k: v for k, v in edits.items() if v != originals.get(k)}
    if same_script and edits:
        body["script_edits"] = edits
    if st.session_state.get("live.background") is not None:
        background = _upload_background()
        if background is None:
            return
        body["background"] = background
    with st.spinner():
        room = attempt(lambda: client().define_room(body))
    if room:
        put("room_id", room["id"])
        put("events", [])
        put("after", 0)
        put("preview_mp4", None)
        put("clear_rtmp", True)  # the stream key is not kept on the page once saved (cleared on the next run)
        st.success(t("live.defined", name=room["name"]))


# -- the open room --------------------------------------------------------------------------------------------


def controls(room: dict[str, Any]) -> dict[str, Any]:
    rid = room["id"]
    st.subheader(t("live.room", name=room["name"]))
    if room["outputs"]:
        st.caption(t("live.outputs_now", outputs=", ".join(room["outputs"])))
    running = bool(room["running"])
    started_before = bool(room.get("counters"))
    c = st.columns(5)
    if c[0].button(t("live.preview"), key="live.preview", icon=":material/movie:"):
        with st.spinner(t("live.previewing")):
            made = attempt(lambda: client().preview_room(rid))
            if made:
                put("preview_mp4", attempt(lambda: client().room_preview_video(rid)))
    changed = None
    if c[1].button(t("live.go_live"), key="live.go_live", type="primary", disabled=running, icon=":material/sensors:"):
        with st.spinner(t("live.starting")):
            changed = attempt(lambda: client().start_room(rid))
    if c[2].button(t("live.stop"), key="live.stop", disabled=not running, icon=":material/stop_circle:"):
        with st.spinner():
            changed = attempt(lambda: client().stop_room(rid))
    if c[3].button(t("live.restart"), key="live.restart", disabled=not running, icon=":material/restart_alt:"):
        with st.spinner(t("live.starting")):
            if attempt(lambda: client().stop_room(rid)) is not None:
                changed = attempt(lambda: client().start_room(rid))
    if c[4].button(t("live.resume"), key="live.resume", disabled=running or not started_before,
                   icon=":material/play_circle:"):  # fmt: skip
        with st.spinner(t("live.starting")):
            changed = attempt(lambda: client().start_room(rid))
    if changed:
        room = changed
    if ss("preview_mp4"):
        st.video(ss("preview_mp4"), format="video/mp4")
    return room


@st.fragment(run_every=2)
def live_view(rid: str) -> None:
    """The stream's newest frame and the feed, refreshed every 2 s without rerunning the page."""
    events = ss("events", [])
    page = attempt(lambda: client().room_events(rid, after=int(ss("after", 0))))
    if page is None:
        return
    events = (events + page["data"])[-200:]
    put("events", events)
    put("after", page["last_seq"])
    left, right = st.columns([2, 3])
    with left:
        st.markdown(f"**{t('live.stream')}**")
        try:
            left.image(client().room_snapshot(rid), width=270)
        except Exception:  # no frame yet (the room just started), or a text-only room
            st.caption(t("live.stream_waiting"))
        if "hls" in (ss("room") or {}).get("outputs", []):
            st.caption(t("live.hls_link", url=f"/v1/live/rooms/{rid}/hls/index.m3u8"))
    with right:
        counters = page["counters"]
        m = st.columns(4)
        m[0].metric(t("live.counter_viewers"), counters["viewers"])
        m[1].metric(t("live.counter_comments"), counters["comments"])
        m[2].metric(t("live.counter_answers"), counters["answers"])
        uptime = counters.get("uptime_s")
        m[3].metric(t("live.counter_uptime"), f"{int(uptime // 60)}:{int(uptime % 60):02d}" if uptime else "–")
        st.markdown(f"**{t('live.feed')}**")
        feed = st.container(height=260, key="live.feed")
        lines = [feed_line(e) for e in reversed(events)]
        lines = [x for x in lines if x]
        if not lines:
            feed.caption(t("live.feed_empty"))
        for line in lines[:60]:
            feed.markdown(line)


def feed_line(event: dict[str, Any]) -> str | None:
    kind, text = event.get("type"), event.get("text") or ""
    if kind == "comment":
        return t("live.ev_comment", viewer=event.get("viewer") or "?", text=text)
    if kind in ("answer", "canned"):
        return t("live.ev_answer", text=text)
    if kind == "say":
        return t("live.ev_say", text=text)
    return None


def talk(rid: str, running: bool) -> None:
    c1, c2 = st.columns(2)
    with c1:
        if "live.comment_viewer" not in st.session_state:
            st.session_state["live.comment_viewer"] = t("live.comment_viewer_default")
        st.text_input(t("live.comment_viewer"), key="live.comment_viewer")
        st.text_input(t("live.comment_text"), key="live.comment_text")
        if st.button(t("live.comment_send"), key="live.comment_send", disabled=not running):
            text = str(ss("comment_text", "")).strip()
            if text:
                out = attempt(lambda: client().room_comment(rid, ss("comment_viewer") or "viewer", text))
                if out:
                    st.toast(t("live.comment_sent", outcome=out["outcome"]))
    with c2:
        st.text_input(t("live.say_text"), key="live.say_text")
        if st.button(t("live.say_send"), key="live.say_send", disabled=not running):
            text = str(ss("say_text", "")).strip()
            if text:
                out = attempt(lambda: client().room_say(rid, text))
                if out:
                    st.success(t("live.said", text=out["text"]))
                    if out["compliance"]:
                        st.info(t("live.said_fixed", terms=", ".join(f["term"] for f in out["compliance"])))
    if not running:
        st.caption(t("live.not_running"))


# -- the page -------------------------------------------------------------------------------------------------

st.title(t("nav.live"))
st.caption(t("live.intro"))
rooms = room_list()
if rooms is not None:
    show_rooms(rooms)
    new_room_form()
    rid = ss("room_id")
    if rid:
        room = attempt(lambda: client().get_room(rid))
        if room:
            st.divider()
            room = controls(room)
            put("room", room)
            if room["running"]:
                live_view(rid)
            talk(rid, bool(room["running"]))
