"""The live console's routes around a room (the advertiser console's Live rooms page calls them): presenter
looks and photo avatars with their consent, voices with a preview clip, FAQ files as a knowledge base, the live
script written and checked, a 10 s preview, and what a running room shows (HLS preview files, a snapshot
frame, its comments and answers). The work is in :mod:`adloom.serving.live_console`; every route runs on the
tenant's settings (:func:`~adloom.serving.api.routes.live.tenant_settings`), so another tenant's avatar, FAQ
or room is simply not there (404).

Content that cannot be used (a portrait without consent, a "portrait" that is a PDF, an FAQ file in an
encoding we cannot read) is a 422 naming the field, with what to do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from adloom.core.errors import InputError
from adloom.core.types import Industry, Language, Product, ShortText
from adloom.serving import live_console as lc
from adloom.serving.api.deps import SettingsDep, StoreDep
from adloom.serving.api.errors import NOT_FOUND, ApiError, ErrorBody
from adloom.serving.api.routes.live import PREVIEW_DIR, _room_folder, room_info, tenant_settings

router = APIRouter(prefix="/v1/live", tags=["live"])

UNUSABLE: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ErrorBody,
        "description": "The upload cannot be used: consent missing, not an image, an unreadable text encoding, no "
        "Q/A pairs; `param` names the field.",
    }
}


def _binary(*media: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {m: {"schema": {"type": "string", "format": "binary"}} for m in media}}}


def _unusable(exc: InputError) -> ApiError:
    field = getattr(exc, "field", None)
    code = "consent_required" if field in ("subject", "granted_by", "statement") else "unusable_content"
    return ApiError(422, code, str(exc), param=field)


# -- avatars --------------------------------------------------------------------------------------------------


class LiveAvatar(BaseModel):
    object: Literal["live_avatar"] = "live_avatar"
    id: str = Field(description="What a room's avatar field takes: rig:<look> or avatar:<avatar id>.")
    kind: Literal["rig", "photo"]
    name: str
    ready: bool = Field(True, description="A photo avatar is ready once its face landmarks are prepared.")
    note: str = ""
    thumbnail_url: str
    consent: dict[str, Any] | None = Field(None, description="Photo avatars: the consent record stored with it.")


class LiveAvatarList(BaseModel):
    object: Literal["list"] = "list"
    data: list[LiveAvatar]


def _avatar(row: dict[str, Any]) -> LiveAvatar:
    return LiveAvatar(**row, thumbnail_url=f"/v1/live/avatars/{row['id']}/thumbnail.png")


@router.get("/avatars", response_model=LiveAvatarList)
def list_live_avatars(store: StoreDep, settings: SettingsDep) -> LiveAvatarList:
    """The presenter looks (rig:<look>) and this tenant's photo avatars (avatar:<id>), each with a thumbnail."""
    ts = tenant_settings(settings, store.tenant_id)
    return LiveAvatarList(data=[_avatar(r) for r in lc.photo_avatars(ts) + lc.rig_looks()])


@router.get(
    "/avatars/{avatar_id}/thumbnail.png", response_class=FileResponse, responses={**NOT_FOUND, **_binary("image/png")}
)
def get_live_avatar_thumbnail(avatar_id: str, store: StoreDep, settings: SettingsDep) -> FileResponse:
    """A small PNG of the look or the portrait."""
    kind, _, value = avatar_id.partition(":")
    if kind == "rig":
        try:
            path = lc.rig_thumbnail(settings, value)
        except InputError:
            raise ApiError(404, "not_found", f"no presenter look {value[:40]!r}; see GET /v1/live/avatars") from None
    elif kind == "avatar":
        path = lc.photo_thumbnail(tenant_settings(settings, store.tenant_id), value)
    else:
        raise ApiError(404, "not_found", f"no avatar {avatar_id[:80]!r}; see GET /v1/live/avatars")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/avatars", status_code=status.HTTP_201_CREATED, response_model=LiveAvatar, responses=UNUSABLE)
def create_live_avatar(
    image: Annotated[UploadFile, File(description="The portrait: one face, png/jpeg/webp.")],
    store: StoreDep,
    settings: SettingsDep,
    subject: Annotated[str, Form(description="Consent: the person pictured.")] = "",
    granted_by: Annotated[str, Form(description="Consent: who agreed (the subject or their representative).")] = "",
    statement: Annotated[str, Form(description="Consent: what use was agreed to, by whom, until when.")] = "",
) -> LiveAvatar:
    """A photo avatar from a portrait, stored only with the pictured person's consent (kept beside it with the
    portrait's sha256); a room uses it as ``avatar:<id>``."""
    ts = tenant_settings(settings, store.tenant_id)
    data = image.file.read(lc.MAX_PORTRAIT_BYTES + 1)
    try:
        row = lc.save_portrait(
            ts, data, image.filename or "portrait", subject=subject, granted_by=granted_by, statement=statement
        )
    except InputError as exc:
        raise _unusable(exc) from None
    return _avatar(row)


# -- voices ---------------------------------------------------------------------------------------------------


class LiveVoice(BaseModel):
    object: Literal["live_voice"] = "live_voice"
    id: str = Field(description="What a room's voice field takes.")
    backend: str
    language: str
    name: str
    preview_url: str


class LiveVoiceList(BaseModel):
    object: Literal["list"] = "list"
    data: list[LiveVoice]


@router.get("/voices", response_model=LiveVoiceList)
def list_live_voices() -> LiveVoiceList:
    """The offline voices this server speaks with (Kokoro when set up, espeak-ng), zh and en."""
    return LiveVoiceList(
        data=[
            LiveVoice(
                id=v.id,
                backend=v.backend,
                language=v.language,
                name=v.name,
                preview_url=f"/v1/live/voices/{v.id}/preview?lang={v.language}",
            )  # fmt: skip
            for v in lc.list_voices()
        ]
    )


@router.get("/voices/{voice_id}/preview", response_class=FileResponse, responses={**NOT_FOUND, **_binary("audio/wav")})
def get_live_voice_preview(voice_id: str, settings: SettingsDep, lang: Language = Language.zh) -> FileResponse:
    """A few seconds of the voice saying a sample sentence (WAV, cached)."""
    path = lc.voice_preview(settings, voice_id, lang)
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "private, max-age=86400"})


# -- knowledge base -------------------------------------------------------------------------------------------


class LiveKnowledge(BaseModel):
    object: Literal["live_knowledge"] = "live_knowledge"
    id: str
    filename: str
    encoding: str = Field(description="The text encoding the file was read in.")
    count: int = Field(description="Question/answer pairs found.")
    truncated: bool
    pairs: list[dict[str, str]]
    lines: list[str] = Field(description="The pairs as a room's knowledge_base lines (pass them in the room body).")
    created_at: datetime


def _knowledge(kb: dict[str, Any]) -> LiveKnowledge:
    return LiveKnowledge(**{k: v for k, v in kb.items() if k != "object"}, count=len(kb["pairs"]))


@router.post("/knowledge", status_code=status.HTTP_201_CREATED, response_model=LiveKnowledge, responses=UNUSABLE)
def create_live_knowledge(
    file: Annotated[
        UploadFile, File(description="An FAQ: .txt/.md (Q:/A: lines), .csv (question,answer), .yaml, .json")
    ],
    store: StoreDep,
    settings: SettingsDep,
    language: Annotated[Language, Form(description="The room's language (how the lines are joined).")] = Language.zh,
) -> LiveKnowledge:
    """Read an FAQ file in any common encoding (UTF-8/16, GB18030, Big5…) into question/answer pairs for a
    room's knowledge base; an encoding it cannot read is a 422 saying to save the file as UTF-8."""
    ts = tenant_settings(settings, store.tenant_id)
    data = file.file.read(lc.MAX_KB_BYTES + 1)
    try:
        return _knowledge(lc.save_knowledge(ts, data, file.filename or "faq.txt", language))
    except InputError as exc:
        raise _unusable(exc) from None


@router.get("/knowledge/{kb_id}", response_model=LiveKnowledge, responses=NOT_FOUND)
def get_live_knowledge(kb_id: str, store: StoreDep, settings: SettingsDep) -> LiveKnowledge:
    return _knowledge(lc.get_knowledge(tenant_settings(settings, store.tenant_id), kb_id))


# -- live script ----------------------------------------------------------------------------------------------


class LiveScriptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    language: Language = Language.zh
    industry: Industry
    # Written while the page waits (~1 s a product on 2 cores): a longer show is written in parts.
    products: list[Product] = Field(min_length=1, max_length=5)
    seed: int = Field(0, ge=0)


class LiveSegmentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    text: Annotated[str, StringConstraints(max_length=400)]
    section: str = ""
    kind: str = ""


class LiveScriptCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language = Language.zh
    industry: Industry
    segments: list[LiveSegmentIn] = Field(min_length=1, max_length=400)


class LiveFinding(BaseModel):
    term: str
    rule_id: str
    rule: str
    suggestion: str
    start: int
    end: int


class LiveSegment(BaseModel):
    id: str
    section: str
    kind: str
    text: str
    findings: list[LiveFinding]
    fixed: str | None = Field(description="The line with every suggested rewrite applied; null: nothing is left.")


class LiveScriptSegments(BaseModel):
    object: Literal["live_script"] = "live_script"
    segments: list[LiveSegment]


@router.post("/scripts", response_model=LiveScriptSegments)
def create_live_script(body: LiveScriptCreate) -> LiveScriptSegments:
    """The live script a room with these products would speak (opening, then per product), each line with its
    advertising-law findings. Edited lines go into the room body as ``script_edits``."""
    out = lc.write_script(body.name, body.products, body.language, body.industry, body.seed)
    return LiveScriptSegments.model_validate(out)


@router.post("/scripts/check", response_model=LiveScriptSegments)
def check_live_script(body: LiveScriptCheck) -> LiveScriptSegments:
    """Check (edited) script lines for advertising law: findings and the rewritten line, per segment."""
    segs = [s.model_dump() for s in body.segments]
    return LiveScriptSegments.model_validate({"segments": lc.check_segments(segs, body.language, body.industry)})


# -- a room's preview, stream and feed ----------------------------------------------------------------------------


class LivePreview(BaseModel):
    object: Literal["live_preview"] = "live_preview"
    room_id: str
    seconds: float
    size: int
    url: str


@router.post("/rooms/{room_id}/preview", status_code=status.HTTP_201_CREATED, response_model=LivePreview,
             responses=NOT_FOUND)  # fmt: skip
def create_live_room_preview(room_id: str, store: StoreDep, settings: SettingsDep) -> LivePreview:
    """Render ~10 s of the room (its avatar, voice, background and cards, speaking its script) to an MP4."""
    ts = tenant_settings(settings, store.tenant_id)
    folder = _room_folder(ts, room_id)
    path = lc.render_preview(folder, seconds=10.0)
    url = f"/v1/live/rooms/{room_id}/preview.mp4"
    return LivePreview(room_id=room_id, seconds=10.0, size=path.stat().st_size, url=url)


@router.get("/rooms/{room_id}/preview.mp4", response_class=FileResponse,
            responses={**NOT_FOUND, **_binary("video/mp4")})  # fmt: skip
def get_live_room_preview(room_id: str, store: StoreDep, settings: SettingsDep) -> FileResponse:
    folder = _room_folder(tenant_settings(settings, store.tenant_id), room_id)
    path = folder / lc.PREVIEW_MP4
    if not path.is_file():
        raise ApiError(404, "not_found", f"room {room_id} has no preview yet; POST /v1/live/rooms/{room_id}/preview")
    return FileResponse(path, media_type="video/mp4")


_HLS_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".m4s": "video/iso.segment",
              ".mp4": "video/mp4"}  # fmt: skip


@router.get("/rooms/{room_id}/hls/{name}", response_class=FileResponse,
            responses={**NOT_FOUND, **_binary(*sorted(set(_HLS_TYPES.values())))})  # fmt: skip
def get_live_room_hls(room_id: str, name: str, store: StoreDep, settings: SettingsDep) -> FileResponse:
    """A file of the room's HLS preview (``index.m3u8`` and its segments), while the room writes one."""
    folder = _room_folder(tenant_settings(settings, store.tenant_id), room_id)
    path = lc.hls_file(folder, PREVIEW_DIR, name)
    return FileResponse(path, media_type=_HLS_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("/rooms/{room_id}/snapshot.jpg", response_class=Response,
            responses={**NOT_FOUND, **_binary("image/jpeg")})  # fmt: skip
def get_live_room_snapshot(room_id: str, store: StoreDep, settings: SettingsDep) -> Response:
    """The newest frame of the room's preview stream as a JPEG (poll it to watch the room without HLS)."""
    folder = _room_folder(tenant_settings(settings, store.tenant_id), room_id)
    return Response(lc.snapshot(folder, PREVIEW_DIR), media_type="image/jpeg", headers={"Cache-Control": "no-store"})


class LiveEvents(BaseModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]] = Field(
        description="Events after `after`, oldest first: {seq, ts, type: comment|answer|canned|say|started|stopped, "
        "viewer, text, …}."
    )
    last_seq: int = Field(description="Pass it as `after` on the next call.")
    running: bool
    counters: dict[str, Any] = Field(description="viewers, comments, answers, says, uptime_s.")


@router.get("/rooms/{room_id}/events", response_model=LiveEvents, responses=NOT_FOUND)
def list_live_room_events(
    room_id: str,
    store: StoreDep,
    settings: SettingsDep,
    after: Annotated[int, Query(ge=0, description="The last seq seen; 0: from the start.")] = 0,
) -> LiveEvents:
    """What the room's watchers see: incoming comments, the presenter's answers and says, and counters."""
    ts = tenant_settings(settings, store.tenant_id)
    folder = _room_folder(ts, room_id)
    every = lc.read_events(folder, 0, limit=1_000_000)
    new = [e for e in every if int(e["seq"]) > after][:200]
    info = room_info(ts, room_id)
    comments = [e for e in every if e["type"] == "comment"]
    counters = {
        "viewers": len({e.get("viewer") for e in comments}),
        "comments": len(comments),
        "answers": sum(1 for e in every if e["type"] in ("answer", "canned")),
        "says": sum(1 for e in every if e["type"] == "say"),
        "uptime_s": info.counters.get("uptime_s") if info.running else None,
    }
    last = int(new[-1]["seq"]) if new else after
    return LiveEvents(data=new, last_seq=last, running=info.running, counters=counters)
