"""The upper half of the Create page: the brief, the exemplar row, the structured script, variants and edits.

Everything the page knows lives in ``st.session_state`` under ``create.*`` keys (widget values included), so a
rerun, a failed call or a page switch loses nothing. Every call goes through the API client; a failure is a
message (``conn.attempt`` / ``conn.friendly``), never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from adloom.core.client import ApiError
from adloom.core.types import Aspect, Industry, Platform
from adloom.ui.conn import attempt, client, friendly, lang, t

S = st.session_state
CURRENCIES = ("CNY", "USD", "EUR", "GBP", "JPY", "HKD")
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "gif"]
CLIP_TYPES = ["mp4", "webm", "mov"]
FIELDS = ("narration", "caption", "visual")
MAX_SHOWN_EXEMPLARS = 4  # one row that still reads on a 1366 px screen (columns stack on a phone)


def _label(group: str, value: str) -> str:
    """The interface name of an enum value (``create.hook.demo`` → "Demo"); the value itself if none is written."""
    try:
        return t(f"{group}.{value}")
    except KeyError:
        return str(value)


def render_idempotency_key(brief_id: str, script_ids: list[str], aspect: str, height: int) -> str:
    """The Idempotency-Key of "render these scripts": the same choice pressed twice is one batch."""
    raw = json.dumps([brief_id, sorted(script_ids), aspect, int(height)])
    return "render-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _reset_from(stage: str) -> None:
    """Forget what was derived from an earlier stage (a new brief drops its exemplar, script and variants)."""
    keys = ["create.variants", "create.variant_notes"]
    if stage == "brief":
        keys += ["create.hits", "create.exemplar_id", "create.structured", "create.own_script"]
    for key in keys:
        S.pop(key, None)


# -- 1. the brief -------------------------------------------------------------------------------------------------
def _too_big(files: list[Any]) -> list[str]:
    cap_mb = float(st.get_option("server.maxUploadSize") or 200)
    return [f.name for f in files if f.size > cap_mb * 1_048_576]


def _upload(file: Any) -> dict[str, Any] | None:
    """Send one uploaded file to the API (once per content); ``None`` after showing why it was refused."""
    data = file.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    done: dict[str, dict[str, Any]] = S.setdefault("create.uploads", {})
    if digest in done:
        return done[digest]
    with tempfile.TemporaryDirectory(prefix="adloom-ui-") as folder:
        path = Path(folder) / (Path(file.name).name or "upload")
        path.write_bytes(data)
        try:
            upload = client().upload(path, idempotency_key=f"upload-{digest[:40]}")
        except Exception as exc:  # shown as a message naming the file; the rest of the form is kept
            st.error(t("create.upload.refused", name=file.name, detail=friendly(exc)), icon=":material/error:")
            return None
    done[digest] = upload.model_dump(mode="json")
    return done[digest]


def brief_form() -> None:
    # labels are looked up now, not in format_func (which may run outside this session, e.g. in AppTest)
    industries = {i.value: t(f"create.industry.{i.value}") for i in Industry}
    platforms = {p.value: t(f"create.platform.{p.value}") for p in Platform}
    languages = {"zh": "中文", "en": "English"}
    with st.form("create.brief_form", border=True):
        st.subheader(t("create.brief.title"))
        st.text_input(t("create.brief.name"), key="create.f.name", max_chars=120)
        st.text_area(t("create.brief.points"), key="create.f.points", help=t("create.brief.points_help"), height=110)
        left, right = st.columns(2)
        left.number_input(t("create.brief.price"), key="create.f.price", min_value=0.0, value=None, step=1.0)
        right.selectbox(t("create.brief.currency"), CURRENCIES, key="create.f.currency")
        st.text_input(t("create.brief.offer"), key="create.f.offer", max_chars=200)
        st.text_input(t("create.brief.audience"), key="create.f.audience", max_chars=300)
        left, right = st.columns(2)
        left.selectbox(
            t("create.brief.industry"),
            list(industries),
            key="create.f.industry",
            format_func=industries.__getitem__,
        )
        right.selectbox(
            t("create.brief.platform"),
            list(platforms),
            key="create.f.platform",
            format_func=platforms.__getitem__,
        )
        left, mid, right = st.columns(3)
        left.selectbox(
            t("create.brief.language"),
            list(languages),
            key="create.f.language",
            index=0 if lang() == "zh" else 1,
            format_func=languages.__getitem__,
        )
        mid.selectbox(t("create.brief.aspect"), [a.value for a in Aspect], key="create.f.aspect")
        right.number_input(
            t("create.brief.duration"), key="create.f.duration", min_value=5, max_value=120, value=15, step=5
        )
        st.file_uploader(t("create.brief.images"), type=IMAGE_TYPES, accept_multiple_files=True, key="create.f.images")
        st.file_uploader(t("create.brief.clips"), type=CLIP_TYPES, accept_multiple_files=True, key="create.f.clips")
        submitted = st.form_submit_button(t("create.brief.submit"), type="primary", key="create.f.submit")
    _previews()
    if submitted:
        _submit_brief()
    if S.get("create.brief_id"):
        st.success(t("create.brief.saved", name=S["create.brief"]["product"]["name"]), icon=":material/check:")


def _previews() -> None:
    images, clips = S.get("create.f.images") or [], S.get("create.f.clips") or []
    if not images and not clips:
        return
    with st.expander(t("create.brief.previews", n=len(images) + len(clips)), expanded=True):
        cols = st.columns(3)
        for i, f in enumerate(images):
            try:
                cols[i % 3].image(f.getvalue(), caption=f.name, width="stretch")
            except Exception:  # not a picture whatever its name says: the upload check will say what it is
                cols[i % 3].caption(t("create.brief.no_preview", name=f.name))
        for f in clips:
            st.video(f.getvalue())
            st.caption(f.name)


def _submit_brief() -> None:
    name = (S.get("create.f.name") or "").strip()
    points = [p.strip() for p in (S.get("create.f.points") or "").splitlines() if p.strip()]
    missing = [t("create.brief.name")] * (not name) + [t("create.brief.points")] * (not points)
    if missing:
        st.error(t("create.brief.missing", fields="、".join(missing) if lang() == "zh" else ", ".join(missing)))
        return
    if len(points) > 8:
        st.error(t("create.brief.too_many_points", n=len(points)))
        return
    images, clips = list(S.get("create.f.images") or []), list(S.get("create.f.clips") or [])
    oversize = _too_big(images + clips)
    if oversize:
        cap = f"{float(st.get_option('server.maxUploadSize') or 200):.0f}"
        st.error(t("create.upload.too_big", names=", ".join(oversize), mb=cap), icon=":material/error:")
        return
    assets = []
    with st.spinner(t("create.brief.uploading")):
        for kind, files in (("image", images), ("video", clips)):
            for f in files:
                upload = _upload(f)
                if upload is None:
                    return
                if upload["kind"] != kind:
                    st.error(t("create.upload.wrong_kind", name=f.name, kind=upload["kind"]), icon=":material/error:")
                    return
                assets.append({"kind": kind, "path": f"upload:{upload['id']}", "description": f.name[:200]})
    price = S.get("create.f.price")
    body: dict[str, Any] = {
        "product": {
            "name": name,
            "selling_points": points,
            "price": price,
            "currency": S.get("create.f.currency") or "CNY",
            "offer": (S.get("create.f.offer") or "").strip(),
        },
        "industry": S.get("create.f.industry"),
        "audience": (S.get("create.f.audience") or "").strip(),
        "platform": S.get("create.f.platform"),
        "language": S.get("create.f.language"),
        "aspect": S.get("create.f.aspect"),
        "duration_s": float(S.get("create.f.duration") or 15),
        "assets": assets,
    }
    key = "brief-" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:40]
    with st.spinner(t("create.brief.saving")):
        brief = attempt(lambda: client().create_brief(body, idempotency_key=key))
    if brief is None:
        return
    if brief.id != S.get("create.brief_id"):
        _reset_from("brief")
    S["create.brief_id"], S["create.brief"] = brief.id, brief.model_dump(mode="json")


# -- 2. exemplars -------------------------------------------------------------------------------------------------
def _query(brief: dict[str, Any]) -> str:
    p = brief["product"]
    return " ".join([p["name"], *p["selling_points"], brief.get("audience") or ""]).strip()[:500]


def _hits(brief: dict[str, Any]) -> list[dict[str, Any]] | None:
    cached = S.get("create.hits")
    if cached is not None and cached[0] == brief["id"]:
        return list(cached[1])

    def search() -> list[dict[str, Any]]:
        found = client().search_library(_query(brief), limit=MAX_SHOWN_EXEMPLARS, industry=brief["industry"])
        return found or client().search_library(_query(brief), limit=MAX_SHOWN_EXEMPLARS)

    with st.spinner(t("create.exemplars.searching")):
        hits = attempt(search)
    if hits is not None:
        S["create.hits"] = (brief["id"], hits)
    return hits


def _pick(brief_id: str, **source: str) -> None:
    with st.spinner(t("create.structured.working")):
        script = attempt(lambda: client().structure_script(brief_id, **source))
    if script is None:
        return
    _reset_from("exemplar")
    S["create.structured"] = script.model_dump(mode="json")
    S["create.exemplar_id"] = source.get("exemplar_id")
    S["create.own_script"] = "exemplar_id" not in source


def exemplar_row(brief: dict[str, Any]) -> None:
    st.subheader(t("create.exemplars.title"))
    library, paste = st.tabs([t("create.exemplars.tab_library"), t("create.exemplars.tab_paste")])
    with library:
        hits = _hits(brief)
        if hits is not None and not hits:
            st.info(t("create.exemplars.empty"), icon=":material/info:")
        if hits:
            st.caption(t("create.exemplars.hint"))
            cols = st.columns(min(len(hits), MAX_SHOWN_EXEMPLARS))
            for col, hit in zip(cols, hits, strict=False):
                with col.container(border=True):
                    _card(brief["id"], hit)
    with paste:
        st.text_area(t("create.paste.text"), key="create.paste.text", height=150, help=t("create.paste.text_help"))
        st.file_uploader(t("create.paste.srt"), type=["srt"], key="create.paste.srt")
        if st.button(t("create.paste.go"), key="create.paste.go"):
            _structure_pasted(brief["id"])


def _card(brief_id: str, hit: dict[str, Any]) -> None:
    chosen = S.get("create.exemplar_id") == hit["id"]
    script = hit.get("script") or {}
    st.markdown(f"**{hit['title']}**" + (" :material/check_circle:" if chosen else ""))
    if hit.get("has_media"):
        st.caption(t("create.exemplars.has_video"))
    else:
        hook = str(script.get("hook", "")).strip().strip("\"'“”「」")  # a quoted hook is not quoted twice
        st.caption(f"“{hook}”")
    st.caption(
        t(
            "create.exemplars.perf",
            ctr=f"{hit['ctr']:.2%}",
            cvr=f"{hit['cvr']:.2%}",
            impressions=f"{hit['impressions']:,}",
        )
    )
    st.caption(
        t(
            "create.exemplars.kind",
            hook=_label("create.hook", hit["hook_type"]),
            angle=_label("create.angle", hit["angle"]),
            platform=_label("create.platform", hit["platform"]),
        )
    )
    with st.expander(t("create.exemplars.script")):
        for shot in script.get("shots", []):
            st.markdown(f"{shot['index'] + 1}. {shot.get('narration') or shot.get('visual')}")
    if st.button(t("create.exemplars.pick"), key=f"create.pick.{hit['id']}", type="primary" if chosen else "secondary"):
        _pick(brief_id, exemplar_id=hit["id"])


def _structure_pasted(brief_id: str) -> None:
    srt = S.get("create.paste.srt")
    text = (S.get("create.paste.text") or "").strip()
    if srt is not None:
        try:
            content = srt.getvalue().decode("utf-8-sig")
        except UnicodeDecodeError:
            st.error(t("create.paste.not_utf8", name=srt.name), icon=":material/error:")
            return
        _pick(brief_id, srt=content)
    elif text:
        _pick(brief_id, text=text)
    else:
        st.error(t("create.paste.empty"), icon=":material/error:")


# -- 3. the structured script ----------------------------------------------------------------------------------------
def _role(role: str) -> str:
    return t(f"create.role.{role}")


def structured_view(script: dict[str, Any]) -> None:
    st.subheader(t("create.structured.title"))
    st.caption(
        t("create.structured.summary", hook=script["hook_type"], angle=script["angle"], seconds=script["duration_s"])
    )
    rows = [
        {
            t("create.shot.n"): s["index"] + 1,
            t("create.shot.role"): _role(s["role"]),
            t("create.shot.narration"): s["narration"],
            t("create.shot.caption"): s["caption"],
            t("create.shot.visual"): s["visual"],
            t("create.shot.seconds"): s["duration_s"],
        }
        for s in script["shots"]
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


# -- 4. variants ----------------------------------------------------------------------------------------------------
def variants_controls(brief_id: str) -> None:
    st.subheader(t("create.variants.title"))
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    left.number_input(t("create.variants.n"), min_value=1, max_value=5, value=3, step=1, key="create.n")
    if right.button(t("create.variants.generate"), key="create.generate", type="primary"):
        _generate(brief_id)
    notes = S.get("create.variant_notes") or []
    for note in notes:
        st.warning(note, icon=":material/info:")


def _generate(brief_id: str) -> None:
    n = int(S.get("create.n") or 3)
    exemplar_id = S.get("create.exemplar_id")

    def write() -> Any:
        if exemplar_id:
            return client().write_variants(brief_id, exemplar_id, n)
        return client().write_scripts(brief_id, n)

    with st.spinner(t("create.variants.working", n=n)):
        made = attempt(write)
    if made is None:
        return
    scripts = [s.model_dump(mode="json") for s in made.data]
    if S.get("create.own_script") and S.get("create.structured"):
        scripts.insert(0, S["create.structured"])  # the advertiser's own script renders too
    S["create.variants"] = scripts
    S["create.variant_notes"] = [*made.brief_findings, *made.dropped]


# -- 5. editing -----------------------------------------------------------------------------------------------------
def _field_key(sid: str, index: int, name: str) -> str:
    return f"create.edit.{sid}.{index}.{name}"


def _check(text: str, language: str, industry: str) -> dict[str, Any] | None:
    """The compliance check of one line, remembered per text (reruns do not call the API again)."""
    cache: dict[str, dict[str, Any]] = S.setdefault("create.checks", {})
    key = hashlib.sha256(f"{language}\0{industry}\0{text}".encode()).hexdigest()
    if key not in cache:
        found = attempt(lambda: client().check_compliance(text, language=language, industry=industry))
        if found is None:
            return None
        cache[key] = found
    return cache[key]


def _apply(key: str, fixed: str) -> Callable[[], None]:
    def apply() -> None:
        S[key] = fixed

    return apply


def _author(script: dict[str, Any], path: str) -> str:
    origin = script["provenance"].get("lines", {}).get(path)
    who = origin["author"] if origin else script["provenance"]["path"]
    return t(f"create.author.{who}") if who in ("llm", "template", "advertiser", "structured") else who


def variant_tabs() -> None:
    variants: list[dict[str, Any]] = S.get("create.variants") or []
    if not variants:
        return
    flash = S.pop("create.flash", None)
    if flash:
        st.success(flash, icon=":material/check:")
    labels = [
        t("create.variant.own") if S.get("create.own_script") and i == 0 else t("create.variant.tab", n=i + 1)
        for i in range(len(variants))
    ]
    for i, (tab, script) in enumerate(zip(st.tabs(labels), variants, strict=True)):
        with tab:
            _variant(i, script)


def _variant(pos: int, script: dict[str, Any]) -> None:
    sid = script["id"]
    st.checkbox(t("create.variant.render"), value=True, key=f"create.render.{sid}")
    st.caption(t("create.variant.summary", hook=script["hook"], cta=script["cta"], seconds=script["duration_s"]))
    for shot in script["shots"]:
        i = shot["index"]
        st.markdown(f"**{t('create.shot.heading', n=i + 1, role=_role(shot['role']), seconds=shot['duration_s'])}**")
        for name in FIELDS:
            key = _field_key(sid, i, name)
            S.setdefault(key, shot[name])
            label = t(f"create.shot.{name}")
            if name == "caption":
                st.text_input(label, key=key, max_chars=60)
            else:
                st.text_input(label, key=key, max_chars=400)
            value = S.get(key) or ""
            if value.strip() != shot[name]:
                _findings_under(key, value, script)
        st.caption(t("create.shot.author", who=_author(script, f"shots[{i}].narration")))
    if st.button(t("create.edit.save"), key=f"create.save.{sid}", type="primary"):
        _save(pos, script)


def _findings_under(key: str, value: str, script: dict[str, Any]) -> None:
    if not value.strip():
        return
    found = _check(value, script["language"], script["industry"])
    if not found or not found["findings"]:
        return
    for f in found["findings"]:
        shown = t(
            "create.finding",
            term=f["term"],
            rule=f["rule"],
            reason=f["reason"],
            suggestion=f["suggestion"] or t("create.finding.drop"),
        )
        (st.info if f["severity"] == "warn" else st.warning)(shown, icon=":material/gavel:")
    if found["fixed_text"] != value and any(f["severity"] == "fix" for f in found["findings"]):
        st.button(
            t("create.finding.apply") if found["fixed_text"].strip() else t("create.finding.apply_drop"),
            key=f"create.fix.{key.removeprefix('create.edit.')}",
            on_click=_apply(key, found["fixed_text"]),
        )


def _edits(script: dict[str, Any]) -> list[dict[str, Any]]:
    edits = []
    for shot in script["shots"]:
        changed = {
            name: (S.get(_field_key(script["id"], shot["index"], name)) or "").strip()
            for name in FIELDS
            if (S.get(_field_key(script["id"], shot["index"], name)) or "").strip() != shot[name]
        }
        if changed:
            edits.append({"index": shot["index"], **changed})
    return edits


def unsaved(script: dict[str, Any]) -> bool:
    return bool(_edits(script))


def _save(pos: int, script: dict[str, Any]) -> None:
    edits = _edits(script)
    if not edits:
        st.info(t("create.edit.nothing"))
        return
    try:
        with st.spinner(t("create.edit.saving")):
            saved = client().edit_script(script["id"], edits)
    except ApiError as exc:
        if exc.status == 422 and exc.details:
            lines = "\n".join(
                f"- {d.get('field', '')}: “{d['term']}” ({d['rule']}) → {d['suggestion'] or t('create.finding.drop')}"
                for d in exc.details
            )
            st.error(t("create.edit.refused") + "\n\n" + lines, icon=":material/gavel:")
        else:
            st.error(friendly(exc), icon=":material/error:")
        return
    except Exception as exc:  # the page must never show a traceback
        st.error(friendly(exc), icon=":material/error:")
        return
    variants = list(S["create.variants"])
    variants[pos] = saved.model_dump(mode="json")
    S["create.variants"] = variants
    S["create.flash"] = t("create.edit.saved", n=len(edits))
    st.rerun()  # show the stored script (authorship included), with the confirmation on top


def chosen_script_ids() -> list[str]:
    """The variants ticked for rendering, in tab order."""
    return [s["id"] for s in S.get("create.variants") or [] if S.get(f"create.render.{s['id']}", True)]
