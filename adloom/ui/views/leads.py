"""Console page: Leads — the lead-capture agent ("digital employee"): its agents, a chat to try one, the
conversations it had, and the leads it captured.

Every call goes through :func:`adloom.ui.conn.client` (the batch API), wrapped in :func:`adloom.ui.conn.attempt`.
State lives in ``st.session_state`` under ``leads.`` keys (the chat of each agent included), so it survives
reruns and page switches. An agent's profile is checked by the API (``PUT /v1/agents/{id}``), whose 400 names
the field; the console never imports the profile's schema.

Stable widget keys (tests drive these):

======================================  ===================================================================
``leads.section``                       segmented control: agents | chat | conversations | leads
``leads.upload`` / ``leads.save``       file uploader (an agent YAML) / button: create or replace the agent
``leads.sample`` / ``leads.load_sample``  selectbox of the bundled sample agents / button: load it
``leads.delete_pick`` / ``leads.delete``  selectbox / button: delete an agent
``leads.agent``                         selectbox: the agent the chat talks to
``leads.say`` / ``leads.new_chat``      chat input / button: start over as a new console user
``leads.poll``                          button: fetch replies to held messages
``leads.conv_agent`` / ``leads.conv_status`` / ``leads.conv_pick``  conversation filters / the one to read
``leads.handover`` / ``leads.reply_text`` / ``leads.reply_send``    take over / a person's reply
``leads.lead_agent`` / ``leads.since``  lead filters (agent, captured since a date)
``leads.unmask``                        toggle: show contact details in full
``leads.csv_prepare`` / ``leads.csv``   button: build the CSV export / download button
======================================  ===================================================================
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import yaml

import adloom
from adloom.core.client import AdloomClient, ApiError
from adloom.core.errors import InputError
from adloom.ui.conn import attempt, client, friendly, lang, t

S = "leads."  # session-state prefix
SECTIONS = ("agents", "chat", "conversations", "leads")
CHANNEL = "console"
#: The sample agents shipped with adloom (read as data files by path: the console does not import serving).
SAMPLES = {"agent_home_renovation.yaml": "home_renovation", "agent_auto_en.yaml": "auto_en"}
MAX_YAML_BYTES = 2_000_000
MAX_LEADS_SHOWN = 500
CONTACTS = ("phone", "wechat", "email")
_BAD_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_DIGITS = re.compile(r"\d{7,}")
#: Characters Streamlit's Markdown would act on ($ starts LaTeX: "$27,900 … $31,400" would turn into maths).
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$])")
#: Widgets whose values must outlive a run in which their section is not shown (Streamlit drops those).
KEPT = ("sample", "agent", "conv_agent", "conv_status", "conv_pick", "lead_agent", "since", "unmask")


def ss(name: str, default: Any = None) -> Any:
    return st.session_state.get(S + name, default)


def put(name: str, value: Any) -> None:
    st.session_state[S + name] = value


def sample_path(name: str) -> Path:
    return Path(adloom.__file__).resolve().parent / "serving" / "samples" / name


# -- agents ------------------------------------------------------------------------------------------------
def parse_agent_yaml(name: str, data: bytes) -> dict[str, Any]:
    """An uploaded agent YAML as a JSON-ready mapping; bad syntax or a non-mapping raises InputError."""
    if len(data) > MAX_YAML_BYTES:
        raise InputError(t("leads.agent.too_big", name=name, mb=f"{MAX_YAML_BYTES / 1e6:.0f}"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(t("leads.agent.not_utf8", name=name)) from None
    try:
        profile = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(t("leads.agent.bad_yaml", name=name, line=line, problem=problem)) from None
    if not isinstance(profile, dict):
        raise InputError(t("leads.agent.not_mapping", name=name))
    # dates and times YAML reads unquoted go as their ISO text, the way the API reads them
    parsed: dict[str, Any] = json.loads(json.dumps(profile, default=str, ensure_ascii=False))
    return parsed


def agent_id_for(name: str, profile: dict[str, Any]) -> str:
    given = profile.get("id")
    if isinstance(given, str) and given.strip():
        return given.strip()
    return _BAD_ID_CHARS.sub("-", Path(name).stem).strip("-._")[:64] or "agent"


def save_agent(c: AdloomClient, name: str, data: bytes) -> str | None:
    """Parse and send one agent YAML; show why it was refused (the API names the field). The agent id or None."""
    try:
        profile = parse_agent_yaml(name, data)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    agent_id = agent_id_for(name, profile)
    try:
        c.put_agent(agent_id, profile)
    except ApiError as exc:
        if exc.status in (400, 422):
            st.error(
                t("leads.agent.rejected", name=name, field=exc.param or "?", detail=exc.message),
                icon=":material/error:",
            )
        else:
            st.error(friendly(exc), icon=":material/error:")
        return None
    except Exception as exc:  # unreachable API and the like: a message, never a traceback
        st.error(friendly(exc), icon=":material/error:")
        return None
    return agent_id


def agents_table(agents: list[dict[str, Any]]) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("leads.col.agent"): a["id"],
                    t("leads.col.name"): a["profile"].get("name", ""),
                    t("leads.col.business"): a["profile"].get("business", ""),
                    t("leads.col.industry"): a["profile"].get("industry", ""),
                    t("leads.col.language"): a["profile"].get("language", ""),
                    t("leads.col.knowledge"): len(a["profile"].get("knowledge") or []),
                    t("leads.col.offers"): len(a["profile"].get("offers") or []),
                    t("leads.col.updated"): _when(a["updated_at"]),
                }
                for a in agents
            ]
        ),
        hide_index=True,
    )


def agents_section(c: AdloomClient, agents: list[dict[str, Any]]) -> None:
    if agents:
        agents_table(agents)
    else:
        st.info(t("leads.agents.none"), icon=":material/support_agent:")
    saved = ss("saved")
    if saved:
        st.success(t("leads.agent.saved", agent=saved), icon=":material/check_circle:")
        put("saved", None)

    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**{t('leads.sample.title')}**")
        st.caption(t("leads.sample.help"))
        labels = {n: t(f"leads.sample.{label}") for n, label in SAMPLES.items()}  # (format_func runs outside too)
        sample = st.selectbox(
            t("leads.sample.pick"),
            list(SAMPLES),
            format_func=lambda n: labels[n],
            key=S + "sample",
        )
        if st.button(t("leads.sample.load"), key=S + "load_sample", type="primary", icon=":material/play_arrow:"):
            path = sample_path(sample)
            if not path.is_file():
                st.error(t("leads.sample.missing", path=str(path)), icon=":material/error:")
            else:
                done = save_agent(c, path.name, path.read_bytes())
                if done:
                    _saved(done)
    with right, st.container(border=True):
        st.markdown(f"**{t('leads.upload.title')}**")
        st.caption(t("leads.upload.help"))
        upload = st.file_uploader(t("leads.upload.file"), type=["yaml", "yml"], key=S + "upload")
        if st.button(t("leads.upload.save"), key=S + "save", disabled=upload is None, icon=":material/upload:"):
            assert upload is not None
            done = save_agent(c, upload.name, upload.getvalue())
            if done:
                _saved(done)

    if agents:
        with st.expander(t("leads.agent.inspect_delete")):
            ids = [a["id"] for a in agents]
            pick = st.selectbox(t("leads.agent.pick"), ids, key=S + "delete_pick")
            profile = next(a["profile"] for a in agents if a["id"] == pick)
            st.json(profile, expanded=False)
            st.caption(t("leads.agent.delete_help"))
            if st.button(t("leads.agent.delete"), key=S + "delete", icon=":material/delete:"):
                if attempt(c.delete_agent, pick) is not None:
                    chats: dict[str, Any] = ss("chats", {})
                    for key in [k for k in chats if k.startswith(pick + "|")]:
                        chats.pop(key)
                    put("saved", None)
                    st.rerun()


def _saved(agent_id: str) -> None:
    put("saved", agent_id)
    put("agent", agent_id)  # the chat talks to the agent just saved
    st.rerun()


# -- try it ------------------------------------------------------------------------------------------------
def console_user() -> str:
    user = ss("user")
    if not user:
        user = f"console-{uuid.uuid4().hex[:8]}"
        put("user", user)
    return str(user)


def chat_of(agent_id: str) -> dict[str, Any]:
    """This session's chat with ``agent_id``: its turns (kept across reruns) and conversation id."""
    chats: dict[str, dict[str, Any]] = st.session_state.setdefault(S + "chats", {})
    key = f"{agent_id}|{console_user()}"
    return chats.setdefault(key, {"turns": [], "conversation_id": None, "seen": []})


def _delays(start: datetime, replies: list[dict[str, Any]]) -> list[float]:
    """Seconds of "typing" before each reply: from the message (or the reply before) to its send time."""
    out, prev = [], start
    for r in replies:
        at = _dt(r["send_at"])
        out.append(max(0.0, (at - prev).total_seconds()))
        prev = at
    return out


def send(c: AdloomClient, agent_id: str, text: str) -> None:
    chat = chat_of(agent_id)
    answer = attempt(c.agent_message, agent_id, console_user(), text, channel=CHANNEL)
    if answer is None:
        return
    msg = answer["message"]
    replies = answer["replies"]
    turn = {
        "text": text,
        "status": msg["status"],
        "replies": [
            {"id": r["id"], "text": r["text"], "kind": r["kind"], "send_at": r["send_at"], "delay_s": d}
            for r, d in zip(replies, _delays(_dt(msg["created_at"]), replies), strict=True)
        ],
        "decision": answer.get("decision"),
        "lead_id": answer.get("lead_id"),
        "lead_created": answer.get("lead_created", False),
        "handed_over": answer.get("handed_over", False),
    }
    chat["conversation_id"] = answer["conversation_id"]
    chat["seen"].extend(r["id"] for r in replies)
    chat["turns"].append(turn)
    chat["pending"] = msg["status"] == "held"  # an answered message answers the held ones with it
    if replies:
        # The page shows the replies at once, so it acknowledges them as a platform does once it has sent
        # them: the next message is answered on its own instead of being held behind replies still "typing".
        attempt(c.conversation_replies, answer["conversation_id"], after=replies[-1]["id"])
    if turn["lead_id"]:
        lead = attempt(find_lead, c, agent_id, turn["lead_id"])
        if lead is not None:
            chat["lead"] = lead


def poll(c: AdloomClient, agent_id: str) -> None:
    """Replies due in this chat's conversation that it has not shown yet (held messages answered by now)."""
    chat = chat_of(agent_id)
    if not chat["conversation_id"]:
        return
    due = attempt(c.conversation_replies, chat["conversation_id"])
    if due is None:
        return
    new = [m for m in due["data"] if m["id"] not in chat["seen"] and m["role"] == "agent"]
    if not new:
        put("poll_note", t("leads.chat.nothing_new"))
        return
    start = _dt(new[0].get("created_at") or new[0]["send_at"])
    late = {
        "text": None,
        "status": "answered",
        "replies": [
            {"id": m["id"], "text": m["text"], "kind": m["kind"], "send_at": m["send_at"], "delay_s": d}
            for m, d in zip(new, _delays(start, new), strict=True)
        ],
        "decision": new[0].get("decision"),
        "lead_id": None,
        "lead_created": False,
        "handed_over": False,
    }
    chat["seen"].extend(m["id"] for m in new)
    chat["turns"].append(late)
    chat["pending"] = False
    conv = attempt(c.get_conversation, chat["conversation_id"])
    if conv is not None and conv.lead_id:
        lead = attempt(find_lead, c, agent_id, conv.lead_id)
        if lead is not None:
            chat["lead"] = lead


def find_lead(c: AdloomClient, agent_id: str, lead_id: str) -> dict[str, Any] | None:
    after = None
    for _ in range(10):
        page = c.list_leads(agent_id=agent_id, limit=100, after=after)
        for lead in page.data:
            if lead.id == lead_id:
                return lead.model_dump(mode="json")
        if not page.has_more:
            return None
        after = page.last_id
    return None


def show_turn(turn: dict[str, Any]) -> None:
    if turn["text"] is not None:
        with st.chat_message("user"):
            st.markdown(_plain(turn["text"]))
            if turn["status"] == "held":
                st.caption(t("leads.chat.held"))
            elif turn["status"] == "quiet":
                st.caption(t("leads.chat.quiet"))
    for reply in turn["replies"]:
        with st.chat_message("assistant", avatar=":material/support_agent:"):
            st.markdown(_plain(reply["text"]))
            st.caption(t("leads.chat.typing", seconds=f"{reply['delay_s']:.1f}", kind=_kind(reply["kind"])))
    decision = turn.get("decision")
    if decision:
        with st.expander(t("leads.chat.why", action=_action(decision.get("action", "?"))), expanded=False):
            st.caption(t("leads.chat.policy", policy=decision.get("policy", "?")))
            st.caption(t("leads.chat.reason", reason=decision.get("reason", "")))
            if decision.get("new_fields"):
                st.caption(t("leads.chat.new_fields", fields=", ".join(_field(f) for f in decision["new_fields"])))
            if decision.get("invalid_fields"):
                st.caption(
                    t("leads.chat.invalid_fields", fields=", ".join(_field(f) for f in decision["invalid_fields"]))
                )
    if turn.get("lead_created"):
        st.success(t("leads.chat.lead_created"), icon=":material/person_add:")
    if turn.get("handed_over"):
        st.info(t("leads.chat.handed_over"), icon=":material/support_agent:")


def chat_section(c: AdloomClient, agents: list[dict[str, Any]]) -> None:
    if not agents:
        st.info(t("leads.chat.no_agent"), icon=":material/support_agent:")
        return
    ids = [a["id"] for a in agents]
    if ss("agent") not in ids:
        put("agent", ids[0])
    names = {
        a["id"]: f"{a['profile'].get('name', '')} · {a['profile'].get('business', '')} ({a['id']})" for a in agents
    }
    top, new = st.columns([4, 1], vertical_alignment="bottom")
    agent_id = top.selectbox(t("leads.chat.agent"), ids, format_func=lambda i: names[i], key=S + "agent")
    if new.button(t("leads.chat.new"), key=S + "new_chat", icon=":material/restart_alt:"):
        put("user", None)
        put("poll_note", None)
        st.rerun()
    st.caption(t("leads.chat.as_user", user=console_user(), channel=CHANNEL))

    talk, side = st.columns([3, 1])
    with talk:
        box = st.container(height=520, border=True)
        typed = st.chat_input(t("leads.chat.placeholder"), key=S + "say", max_chars=2000)
        if typed is not None:
            if not typed.strip():
                st.warning(t("leads.chat.empty"), icon=":material/edit_off:")
            else:
                with st.spinner(t("leads.chat.thinking")):
                    send(c, agent_id, typed)
        chat = chat_of(agent_id)
        with box:
            if not chat["turns"]:
                st.caption(t("leads.chat.start"))
            for turn in chat["turns"]:
                show_turn(turn)
        if chat.get("pending"):
            if st.button(t("leads.chat.poll"), key=S + "poll", icon=":material/refresh:"):
                poll(c, agent_id)
                st.rerun()
            note = ss("poll_note")
            if note:
                st.caption(note)
                put("poll_note", None)
    with side:  # after the turn above, so a lead it captured shows at once
        lead_panel(chat_of(agent_id).get("lead"))


def lead_panel(lead: dict[str, Any] | None) -> None:
    with st.container(border=True):
        st.markdown(f"**{t('leads.chat.lead_title')}**")
        if not lead:
            st.caption(t("leads.chat.no_lead"))
            return
        for name in (*CONTACTS, "city", "budget", "timing"):
            if lead.get(name):
                st.markdown(f"{_field(name)}：`{lead[name]}`" if _zh() else f"{_field(name)}: `{lead[name]}`")
        if lead.get("needs"):
            st.caption(t("leads.chat.needs", needs="；".join(lead["needs"]) if _zh() else "; ".join(lead["needs"])))


# -- conversations -----------------------------------------------------------------------------------------
def conversations_section(c: AdloomClient, agents: list[dict[str, Any]]) -> None:
    any_option = t("leads.any")
    f1, f2 = st.columns(2)
    agent = f1.selectbox(
        t("leads.filter.agent"),
        [""] + [a["id"] for a in agents],
        format_func=lambda v: v or any_option,
        key=S + "conv_agent",
    )
    statuses = {v: _status(v) if v else any_option for v in ("", "open", "handed_over", "closed")}
    status = f2.selectbox(
        t("leads.filter.status"),
        list(statuses),
        format_func=lambda v: statuses[v],
        key=S + "conv_status",
    )
    page = attempt(c.list_conversations, agent_id=agent or None, status=status or None, limit=100)
    if page is None:
        return
    convs = page.data
    if not convs:
        st.info(t("leads.conv.none"), icon=":material/forum:")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("leads.col.agent"): cv.agent_id,
                    t("leads.col.user"): cv.user_id,
                    t("leads.col.channel"): cv.channel,
                    t("leads.col.status"): _status(cv.status),
                    t("leads.col.language"): cv.language,
                    t("leads.col.turns"): cv.turns,
                    t("leads.col.lead"): "✓" if cv.lead_id else "",
                    t("leads.col.last_message"): _when(cv.last_message_at or cv.updated_at),
                    "id": cv.id,
                }
                for cv in convs
            ]
        ),
        hide_index=True,
    )
    if page.has_more:
        st.caption(t("leads.conv.more", n=len(convs)))
    labels = {cv.id: f"{cv.user_id} · {cv.agent_id} · {_when(cv.last_message_at or cv.updated_at)}" for cv in convs}
    chosen = st.selectbox(
        t("leads.conv.pick"), [""] + list(labels), format_func=lambda i: labels.get(i, "—"), key=S + "conv_pick"
    )
    if chosen:
        transcript(c, chosen)


def transcript(c: AdloomClient, conversation_id: str) -> None:
    done = ss("conv_done")
    if done:
        st.success(done, icon=":material/check_circle:")
        put("conv_done", None)
    conv = attempt(c.get_conversation, conversation_id)
    if conv is None:
        return
    with st.container(border=True):
        st.markdown(
            t(
                "leads.conv.header",
                user=conv.user_id,
                agent=conv.agent_id,
                status=_status(conv.status),
                turns=conv.turns,
            )
        )
        for m in conv.messages or []:
            who = {"user": "user", "agent": "assistant", "human": t("leads.conv.human")}[m.role]
            avatar = {"user": None, "agent": ":material/support_agent:", "human": ":material/person:"}[m.role]
            with st.chat_message(who, avatar=avatar):
                st.markdown(_plain(m.text))
                when = m.send_at or m.created_at
                label = "user" if m.role == "user" else ("human" if m.role == "human" else m.kind)
                st.caption(t("leads.conv.meta", kind=_kind(label), when=_when(when), status=_msg_status(m.status)))
        a, b = st.columns([1, 3])
        if a.button(
            t("leads.conv.handover"),
            key=S + "handover",
            disabled=conv.status != "open",
            icon=":material/front_hand:",
        ):
            if attempt(c.hand_over, conversation_id) is not None:
                put("conv_done", t("leads.conv.handed_over"))
                st.rerun()
        b.caption(t("leads.conv.handover_help"))
        n = ss("reply_n", 0)  # a new box after each sent reply (a widget's value can't be reset once shown)
        reply = st.text_area(t("leads.conv.reply"), key=f"{S}reply_text.{n}", height=80)
        if st.button(t("leads.conv.send"), key=S + "reply_send", icon=":material/send:"):
            if not reply.strip():
                st.warning(t("leads.conv.reply_empty"), icon=":material/edit_off:")
            elif attempt(c.human_message, conversation_id, reply.strip()) is not None:
                put("conv_done", t("leads.conv.sent"))
                put("reply_n", n + 1)
                st.rerun()


# -- leads -------------------------------------------------------------------------------------------------
def mask(value: str | None, field: str) -> str:
    """``value`` with all but its last 4 characters hidden (an email keeps its domain; a short local part
    shows at most half of itself)."""
    if not value:
        return ""
    if field == "email" and "@" in value:
        local, domain = value.rsplit("@", 1)
        keep = min(4, len(local) // 2)
        return "•" * (len(local) - keep) + local[len(local) - keep :] + "@" + domain
    keep = min(4, len(value) // 2) if len(value) < 8 else 4
    return "•" * (len(value) - keep) + value[len(value) - keep :]


def mask_needs(needs: list[str], lead: dict[str, Any]) -> list[str]:
    """``needs`` (the person's own words) with the lead's contact details, and any long run of digits, masked:
    "手机13812345678" must not show in full beside a masked phone column."""
    out = []
    for need in needs:
        for field in CONTACTS:
            if lead.get(field):
                need = need.replace(lead[field], mask(lead[field], field))
        out.append(_DIGITS.sub(lambda m: mask(m.group(0), "phone"), need))
    return out


def since_iso(day: date | None) -> str | None:
    """The start of ``day`` in this machine's time zone, as the API's ``since``."""
    return None if day is None else datetime.combine(day, time.min).astimezone().isoformat()


def all_leads(c: AdloomClient, agent_id: str | None, since: str | None) -> tuple[list[dict[str, Any]], bool]:
    rows: list[dict[str, Any]] = []
    after = None
    while len(rows) < MAX_LEADS_SHOWN:
        page = c.list_leads(agent_id=agent_id, since=since, limit=100, after=after)
        rows.extend(lead.model_dump(mode="json") for lead in page.data)
        if not page.has_more:
            return rows, False
        after = page.last_id
    return rows, True


def leads_section(c: AdloomClient, agents: list[dict[str, Any]]) -> None:
    any_option = t("leads.any")
    f1, f2, f3 = st.columns([3, 3, 2], vertical_alignment="bottom")
    agent = f1.selectbox(
        t("leads.filter.agent"),
        [""] + [a["id"] for a in agents],
        format_func=lambda v: v or any_option,
        key=S + "lead_agent",
    )
    day = f2.date_input(t("leads.filter.since"), value=None, key=S + "since", format="YYYY-MM-DD")
    unmask = f3.toggle(t("leads.unmask"), key=S + "unmask", help=t("leads.unmask_help"))
    since = since_iso(day if isinstance(day, date) else None)
    found = attempt(all_leads, c, agent or None, since)
    if found is None:
        return
    rows, more = found
    if not rows:
        st.info(t("leads.none"), icon=":material/contact_phone:")
        return
    show = (lambda v, f: v or "") if unmask else mask
    sep = "；" if _zh() else "; "
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("leads.col.created"): _when(r["created_at"]),
                    t("leads.col.agent"): r["agent_id"],
                    t("leads.col.phone"): show(r.get("phone"), "phone"),
                    t("leads.col.wechat"): show(r.get("wechat"), "wechat"),
                    t("leads.col.email"): show(r.get("email"), "email"),
                    t("leads.col.city"): r.get("city") or "",
                    t("leads.col.budget"): r.get("budget") or "",
                    t("leads.col.timing"): r.get("timing") or "",
                    t("leads.col.needs"): sep.join(
                        (r.get("needs") or []) if unmask else mask_needs(r.get("needs") or [], r)
                    ),
                    t("leads.col.user"): r["user_id"],
                    t("leads.col.channel"): r["channel"],
                }
                for r in rows
            ]
        ),
        hide_index=True,
    )
    st.caption(t("leads.count_more", n=len(rows)) if more else t("leads.count", n=len(rows)))
    export(c, agent or None, since)


def export(c: AdloomClient, agent_id: str | None, since: str | None) -> None:
    """A CSV of every lead matching the filters (the API's export: UTF-8 with a BOM, so Excel reads Chinese)."""
    want = (agent_id, since)
    ready = ss("csv_ready")
    if ready and tuple(ready["filters"]) != want:  # the filters changed: the file no longer matches
        put("csv_ready", None)
        ready = None
    a, b = st.columns([1, 3], vertical_alignment="center")
    if a.button(t("leads.csv.prepare"), key=S + "csv_prepare", icon=":material/table_view:"):
        with st.spinner(t("leads.csv.preparing")):
            data = attempt(c.export_leads_csv, agent_id=agent_id, since=since)
        if data is not None:
            rows = max(0, len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) - 1)
            ready = {"filters": list(want), "data": data, "rows": rows}
            put("csv_ready", ready)
    if ready:
        b.download_button(
            t("leads.csv.download", rows=ready["rows"]),
            ready["data"],
            file_name=f"leads-{agent_id or 'all'}.csv",
            mime="text/csv",
            key=S + "csv",
            icon=":material/download:",
            on_click="ignore",
        )
    else:
        b.caption(t("leads.csv.help"))


# -- small helpers -----------------------------------------------------------------------------------------
def _zh() -> bool:
    return lang() == "zh"


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _when(value: Any) -> str:
    if value is None:
        return ""
    return _dt(value).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _plain(text: str) -> str:
    """Message text shown as written (no Markdown from a stranger's message)."""
    return _MARKDOWN.sub(r"\\\1", text)


def _lookup(prefix: str, value: str) -> str:
    try:
        return t(f"{prefix}.{value}")
    except KeyError:
        return value


def _kind(kind: str) -> str:
    return _lookup("leads.kind", kind)


def _action(action: str) -> str:
    return _lookup("leads.action", action)


def _field(name: str) -> str:
    return _lookup("leads.field", name)


def _status(status: str) -> str:
    return _lookup("leads.status", status)


def _msg_status(status: str) -> str:
    return _lookup("leads.msg_status", status)


# -- page --------------------------------------------------------------------------------------------------
st.title(t("nav.leads"))
st.caption(t("leads.intro"))
api = attempt(client)
if api is None:
    st.stop()
assert api is not None  # st.stop() ends the run

for name in KEPT:
    if S + name in st.session_state:
        st.session_state[S + name] = st.session_state[S + name]

listed = attempt(api.list_agents, limit=100)
if listed is None:
    st.stop()
assert listed is not None
agent_rows = [a.model_dump(mode="json") for a in listed.data]

if ss("section") not in SECTIONS:
    put("section", "chat" if agent_rows else "agents")
section_labels = {s: t(f"leads.section.{s}") for s in SECTIONS}
section = st.segmented_control(
    t("leads.section"),
    list(SECTIONS),
    format_func=lambda s: section_labels[s],
    key=S + "section",
    label_visibility="collapsed",
)
if section == "agents":
    agents_section(api, agent_rows)
elif section == "chat":
    chat_section(api, agent_rows)
elif section == "conversations":
    conversations_section(api, agent_rows)
elif section == "leads":
    leads_section(api, agent_rows)
else:  # a segmented control can be cleared by clicking the chosen option again
    st.caption(t("leads.pick_section"))
