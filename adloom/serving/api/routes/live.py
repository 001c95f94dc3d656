"""Live rooms: define one (the room schema as JSON), list them, read a room's status, start and stop its
process, post a viewer comment, make the presenter say a line. The room service (:mod:`adloom.serving.rooms`)
does the work, exactly as ``adloom live`` does; this module only scopes it to the caller's tenant.

Scoping: every call runs the room service on a copy of the settings whose ``home`` is the tenant's folder
(``<home>/tenants/<tenant>/``, so rooms live in ``<tenant>/live/<room id>/``) and whose ``model_dir`` stays
the deployment's. Another tenant's room id is not in that folder: 404.

What a client may reference is narrowed to what the server controls: the background is an image uploaded by
this tenant (``upload:<id>``), the avatar a rig look (``rig:<look>``), outputs are ``rtmp://`` / ``rtmps://``
URLs or ``"hls"`` (a preview the server writes into the room's folder); no client file path reaches the room.
Stream keys are secrets: outputs are answered masked (``rtmp://host/app/***``), never echoed, never logged.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from adloom.core.errors import AdloomError, BackendUnavailableError, InputError, NotFoundError, QuotaError
from adloom.core.paths import safe_filename
from adloom.core.redact import mask_url, redact
from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.types import Industry, Language, LineText, Page, Product, ShortText, new_id, utcnow
from adloom.serving import live_console, rooms
from adloom.serving.api.deps import After, Limit, SettingsDep, StateDep, StoreDep
from adloom.serving.api.errors import NOT_FOUND, ApiError, ErrorBody, retry_after_header
from adloom.serving.rooms.schema import ROOM_FILE, RoomFile, RoomPreset, ScheduleSlot
from adloom.serving.tenant_files import asset_file, tenant_root, tenant_subdir

router = APIRouter(prefix="/v1/live/rooms", tags=["live"])
log = logging.getLogger("adloom.api")

#: Room definitions one tenant may keep (running or not); delete old ones with DELETE /v1/live/rooms/{id}.
MAX_DEFINED_ROOMS = 50
#: Where the server writes a room's HLS preview, inside the room's folder.
PREVIEW_DIR = "preview"
#: The API's own record of a room (when it was defined), beside room.yaml.
META_FILE = "api.json"
START_WAIT_S = 60.0

_RIG = re.compile(r"^(rig:)?[A-Za-z0-9_-]{1,40}$")
_PHOTO = re.compile(r"^avatar:avt_[0-9a-f]{12}$")
_VOICE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

STATE_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "The room is already running (start), or not running (stop, comments, say).",
    }
}


def _preset_default(name: str) -> Any:
    return RoomPreset.model_fields[name].default


class LiveRoomCreate(BaseModel):
    """A room as ``adloom live`` reads it from YAML (see ``adloom/serving/samples/room_zh.yaml``), less what
    names files on the server: the id is assigned here, the script is written by the room."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    language: Language = Language.zh
    avatar: ShortText = Field(
        "rig:default",
        description="The presenter: rig:<look> (e.g. rig:look2), or avatar:<id> of a photo avatar uploaded with its "
        "consent (POST /v1/live/avatars).",
    )
    voice: ShortText = Field("default", description="TTS voice name (letters, digits, - and _), or default.")
    background: str | None = Field(
        None, max_length=64, description="upload:<upload id> of an image uploaded with POST /v1/uploads."
    )
    products: list[Product] = Field(min_length=1, max_length=50)
    knowledge_base: list[LineText] = Field(default_factory=list, max_length=200)
    outputs: list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]] = Field(
        default_factory=list,
        max_length=4,
        description='rtmp://host/app/KEY or rtmps://… (the stream key is kept secret), or "hls": a preview the '
        "server writes. None: the text engine speaks into a transcript.",
    )
    industry: Industry = Field(description="Picks the advertising-law rules for the script and answers.")
    schedule: list[ScheduleSlot] = Field(default_factory=list, max_length=48, description="Which products when.")
    script_llm: bool = _preset_default("script_llm")
    answer_llm: bool = _preset_default("answer_llm")
    answer_timeout_s: float = Field(_preset_default("answer_timeout_s"), gt=0, le=30)
    ack_after_s: float = Field(_preset_default("ack_after_s"), ge=0, le=5)
    min_answer_gap_s: float = Field(_preset_default("min_answer_gap_s"), ge=0, le=600)
    greet_every_s: float = Field(_preset_default("greet_every_s"), ge=0, le=3600)
    opening_every: int = Field(_preset_default("opening_every"), ge=0, le=1000)
    variety_window_min: float = Field(_preset_default("variety_window_min"), ge=0, le=1440)
    banned_words: list[ShortText] = Field(default_factory=list, max_length=200)
    engine: Literal["auto", "media", "text"] = "auto"
    script_edits: dict[Annotated[str, StringConstraints(max_length=64)], LineText] = Field(
        default_factory=dict,
        max_length=400,
        description="Lines of the live script as edited (line id → text, ids from POST /v1/live/scripts with the "
        "same name, products, language and industry); the room speaks the script with these lines, after the same "
        "advertising-law review as any script.",
    )
    speech_rate: float = Field(_preset_default("speech_rate"), gt=0, le=100)
    width: Literal[720, 1080] = _preset_default("width")


class LiveRoomInfo(BaseModel):
    """A room of this tenant: its definition's headline, whether it runs, and its counters."""

    object: Literal["live_room"] = "live_room"
    id: str
    name: str
    industry: str
    language: str
    engine: str = Field(description="The engine asked for (auto, media, text); counters.engine is the one running.")
    outputs: list[str] = Field(description="The outputs, stream keys masked (rtmp://host/app/***).")
    running: bool
    created_at: datetime
    counters: dict[str, Any] = Field(
        description="Running: the room's live status (director, intake, interaction, answers, session). "
        "Stopped: the state saved at the last stop."
    )


class LiveRoomDeleted(BaseModel):
    object: Literal["live_room"] = "live_room"
    id: str
    deleted: Literal[True] = True


class LiveCommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    viewer: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class LiveComment(BaseModel):
    """How the room took the comment: questions are queued and answered on air, greetings batched, abuse logged."""

    comment_id: str
    kind: str = Field(description="question, purchase, greeting, chatter or abuse.")
    outcome: str = Field(description="queued, greetings, ignored, dropped, … (the room's intake decision).")
    reason: str | None = None


class LiveSayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(min_length=1, max_length=400)]


class ComplianceFix(BaseModel):
    term: str
    rule_id: str
    suggestion: str


class LiveSay(BaseModel):
    """The line as the presenter will say it, after the advertising-law review (each rewrite listed)."""

    text: str
    kind: str
    compliance: list[ComplianceFix]


# -- the tenant's room service -----------------------------------------------------------------------------


def tenant_settings(settings: Settings, tenant_id: str) -> Settings:
    """``settings`` as a tenant's rooms see them: home is the tenant's folder, the models stay the deployment's."""
    return settings.model_copy(update={"home": tenant_root(settings, tenant_id), "model_dir": settings.models})


def _child_env(settings: Settings) -> dict[str, str]:
    """The room process reads its settings from the environment with the tenant's folder as home, where no
    adloom.toml is: point it at the deployment's file, if there is one (ADLOOM_CONFIG, if set, is inherited)."""
    toml = settings.home / "adloom.toml"
    return {"ADLOOM_CONFIG": str(toml)} if toml.is_file() else {}


def _room_folder(ts: Settings, room_id: str) -> Path:
    """The folder of this tenant's room ``room_id``; 404 when the tenant has no such room."""
    if not room_id or room_id != safe_filename(room_id, max_len=64):
        raise NotFoundError(f"no live room {room_id[:80]!r}; list your rooms with GET /v1/live/rooms")
    folder = rooms.room_dir(room_id, ts)
    if not (folder / ROOM_FILE).is_file():
        raise NotFoundError(f"no live room {room_id!r}; list your rooms with GET /v1/live/rooms")
    return folder


def _created_at(folder: Path) -> datetime:
    try:
        return datetime.fromisoformat(json.loads((folder / META_FILE).read_text(encoding="utf-8"))["created_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return datetime.fromtimestamp((folder / ROOM_FILE).stat().st_mtime).astimezone()


def _masked_output(out: str) -> str:
    kind, value = rooms.parse_output(out, 0)
    if kind == "rtmp":
        return mask_url(value)
    return "hls" if kind == "hls" else kind


def _scrub(data: dict[str, Any], folder: Path, secrets: list[str]) -> dict[str, Any]:
    """The room's status as a tenant may see it: stream keys masked, server paths made relative to the room."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    for base in {str(folder.resolve()), str(folder)}:
        text = text.replace(json.dumps(base + "/", ensure_ascii=False)[1:-1], "")
    return dict(json.loads(redact(text, secrets)))


def room_info(ts: Settings, room_id: str) -> LiveRoomInfo:
    folder = _room_folder(ts, room_id)
    rf = _stored(folder)
    [row] = rooms.room_status(room_id, settings=ts)
    counters = {k: v for k, v in row.items() if k not in ("room_id", "running", "port", "pid", "name")}
    if not row.get("running"):
        counters = row.get("saved_state", {})
    secrets = rooms.stream_secrets(rf.room.outputs)
    return LiveRoomInfo(
        id=room_id,
        name=rf.room.name,
        industry=str(rf.preset.industry),
        language=str(rf.room.language),
        engine=rf.preset.engine,
        outputs=[_masked_output(o) for o in rf.room.outputs],
        running=bool(row.get("running")),
        created_at=_created_at(folder),
        counters=_scrub(counters, folder, secrets),
    )


def _stored(folder: Path) -> RoomFile:
    """The stored definition, parsed without resolving its asset paths (they are the room process's concern)."""
    data = yaml.safe_load((folder / ROOM_FILE).read_text(encoding="utf-8"))
    return rooms.parse_room(data, source=f"room {folder.name}")


def _running_rooms(ts: Settings) -> int:
    return sum(1 for rid in rooms.known_rooms(ts) if rooms.run_info(rid, ts) is not None)


def _outputs(outputs: list[str]) -> list[str]:
    """The client's outputs as the room file's: RTMP(S) URLs kept, ``"hls"`` → the server's preview folder."""
    stored: list[str] = []
    for i, out in enumerate(outputs):
        o = out.strip()
        field = f"outputs[{i}]"
        if o.lower() == "hls":
            if f"hls:{PREVIEW_DIR}" in stored:
                raise InputError(f'{field}: "hls" is listed twice; a room has one preview', field=field)
            stored.append(f"hls:{PREVIEW_DIR}")
            continue
        if o.startswith(("rtmp://", "rtmps://")):
            parts = urlsplit(o)
            if not parts.hostname or len([s for s in parts.path.split("/") if s]) < 2:
                raise InputError(
                    f"{field}: an RTMP output needs a host, an application and a stream key: "
                    "rtmp://host/app/KEY (or rtmps://…)",
                    field=field,
                )
            stored.append(o)
            continue
        # the value is not echoed: it may be a mistyped stream URL carrying a key
        raise InputError(
            f'{field}: not an output the API accepts; use an rtmp:// or rtmps:// URL (rtmp://host/app/KEY) or "hls" '
            "for a preview written on the server (file paths are not accepted)",
            field=field,
        )
    return stored


def _room_file(body: LiveRoomCreate, settings: Settings, store: Store) -> RoomFile:
    """The room file a body describes, its background resolved to this tenant's upload (every check done
    before anything is stored)."""
    avatar = body.avatar
    ts = tenant_settings(settings, store.tenant_id)
    if _PHOTO.match(avatar):
        avatar = f"photo:{live_console.photo_avatar_dir(ts, avatar)}"
    elif not _RIG.match(avatar):
        raise InputError(
            "avatar: use a rig look, rig:<look> (letters, digits, - and _), or avatar:<id> of a photo avatar "
            "uploaded with its consent (POST /v1/live/avatars)",
            field="avatar",
        )
    if body.voice != "default" and not _VOICE.match(body.voice):
        raise InputError("voice: a voice name uses letters, digits, - and _ only (or 'default')", field="voice")
    data = body.model_dump(mode="json", exclude={"background", "outputs", "script_edits"})
    data["avatar"] = avatar
    data["outputs"] = _outputs(body.outputs)
    if body.background is not None:
        path = asset_file(settings, store, body.background, field="background")
        upload, _ = store.get_upload(body.background.removeprefix("upload:"))
        if upload.kind != "image":
            raise InputError(
                f"background: upload {upload.id} is {upload.kind} ({upload.format}); the background is an image "
                "(png, jpeg, webp)",
                field="background",
            )
        data["background"] = str(path)
    rf = rooms.parse_room(data, source="body", default_id=new_id("room"))
    if body.script_edits:
        path = tenant_subdir(settings, store.tenant_id, "tmp") / f"{rf.room_id}_script.yaml"
        live_console.save_edited_script(rf, body.script_edits, path)
        rf = RoomFile(rf.room, rf.preset.model_copy(update={"script": str(path)}))
    return rf


# -- routes ---------------------------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, response_model=LiveRoomInfo)
def define_room(body: LiveRoomCreate, store: StoreDep, settings: SettingsDep, state: StateDep) -> LiveRoomInfo:
    """Define a room (not started yet): the room schema as JSON; the id is assigned here."""
    ts = tenant_settings(settings, store.tenant_id)
    rf = _room_file(body, settings, store)
    with state.room_lock(store.tenant_id):
        if len(rooms.known_rooms(ts)) >= MAX_DEFINED_ROOMS:
            raise QuotaError(
                f"this tenant has {MAX_DEFINED_ROOMS} live rooms defined, the most it may keep; delete rooms it no "
                "longer needs (DELETE /v1/live/rooms/{id})",
                retry_after_s=3600,
            )
        folder = rooms.define_room(rf, ts)
    (folder / META_FILE).write_text(json.dumps({"created_at": utcnow().isoformat()}), encoding="utf-8")
    return room_info(ts, rf.room_id)


@router.get("", response_model=Page[LiveRoomInfo])
def list_rooms(store: StoreDep, settings: SettingsDep, limit: Limit = 20, after: After = None) -> Page[LiveRoomInfo]:
    """This tenant's rooms, newest first, each with its status."""
    ts = tenant_settings(settings, store.tenant_id)
    ids = sorted(rooms.known_rooms(ts), key=lambda rid: (_created_at(rooms.room_dir(rid, ts)), rid), reverse=True)
    if after is not None:
        if after not in ids:
            raise InputError(
                f"after: {after[:80]!r} is not one of your rooms; pass the last_id of a page", field="after"
            )
        ids = ids[ids.index(after) + 1 :]
    page = [room_info(ts, rid) for rid in ids[:limit]]
    return Page[LiveRoomInfo](
        data=page,
        first_id=page[0].id if page else None,
        last_id=page[-1].id if page else None,
        has_more=len(ids) > limit,
    )


@router.get("/{room_id}", response_model=LiveRoomInfo, responses=NOT_FOUND)
def get_room(room_id: str, store: StoreDep, settings: SettingsDep) -> LiveRoomInfo:
    """The room's status: running or not, its counters, its outputs (stream keys masked)."""
    return room_info(tenant_settings(settings, store.tenant_id), room_id)


@router.delete("/{room_id}", response_model=LiveRoomDeleted, responses={**NOT_FOUND, **STATE_CONFLICT})
def delete_room(room_id: str, store: StoreDep, settings: SettingsDep) -> LiveRoomDeleted:
    """Remove a stopped room with its files (transcript, preview, saved position)."""
    ts = tenant_settings(settings, store.tenant_id)
    folder = _room_folder(ts, room_id)
    if rooms.run_info(room_id, ts) is not None:
        raise ApiError(409, "room_running", f"room {room_id} is running; stop it first (POST …/{room_id}/stop)")
    shutil.rmtree(folder)
    return LiveRoomDeleted(id=room_id)


@router.post("/{room_id}/start", response_model=LiveRoomInfo, responses={**NOT_FOUND, **STATE_CONFLICT})
def start_room(room_id: str, store: StoreDep, settings: SettingsDep, state: StateDep) -> LiveRoomInfo:
    """Start the room's process (it resumes its schedule where it stopped); answers once the room is live."""
    ts = tenant_settings(settings, store.tenant_id)
    folder = _room_folder(ts, room_id)
    with state.room_lock(store.tenant_id):
        if rooms.run_info(room_id, ts) is not None:
            raise ApiError(409, "room_running", f"room {room_id} is already running; stop it first to restart it")
        limit = settings.api_max_rooms_per_tenant
        if _running_rooms(ts) >= limit:
            raise QuotaError(
                f"this tenant runs {limit} live rooms, the most it may run at once; stop one "
                "(POST /v1/live/rooms/{id}/stop) and start this one again",
                retry_after_s=60,
            )
        try:
            rooms.start_room(
                rooms.load_room(folder / ROOM_FILE), settings=ts, wait_s=START_WAIT_S, extra_env=_child_env(settings)
            )
        except (InputError, BackendUnavailableError):
            raise
        except AdloomError as exc:  # the room process exited while starting: a server-side fault, told briefly
            secrets = rooms.stream_secrets(_stored(folder).room.outputs)
            text = redact(str(exc), secrets).replace(str(folder.resolve()), "").replace(str(folder), "")
            log.error("tenant %s: live room %s failed to start: %s", store.tenant_id, room_id, text)
            last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "no message")
            raise ApiError(
                503,
                "room_start_failed",
                f"room {room_id} stopped while starting ({last[:300]}); try again later, or report the room id to "
                "the operator",
                headers=retry_after_header(30),
            ) from None
    return room_info(ts, room_id)


def _require_running(ts: Settings, room_id: str) -> None:
    _room_folder(ts, room_id)
    if rooms.run_info(room_id, ts) is None:
        raise ApiError(409, "room_not_running", f"room {room_id} is not running; start it (POST …/{room_id}/start)")


@router.post("/{room_id}/stop", response_model=LiveRoomInfo, responses={**NOT_FOUND, **STATE_CONFLICT})
def stop_room(room_id: str, store: StoreDep, settings: SettingsDep) -> LiveRoomInfo:
    """Stop the room's process; its position in the schedule is saved for the next start."""
    ts = tenant_settings(settings, store.tenant_id)
    _require_running(ts, room_id)
    rooms.stop_room(room_id, settings=ts)
    return room_info(ts, room_id)


@router.post(
    "/{room_id}/comments",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LiveComment,
    responses={**NOT_FOUND, **STATE_CONFLICT},
)
def post_comment(room_id: str, body: LiveCommentCreate, store: StoreDep, settings: SettingsDep) -> LiveComment:
    """A viewer comment, as the platform's comment feed would post it; questions are answered on air."""
    ts = tenant_settings(settings, store.tenant_id)
    _require_running(ts, room_id)
    return LiveComment.model_validate(rooms.comment(room_id, body.viewer, body.text, settings=ts))


@router.post(
    "/{room_id}/say",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LiveSay,
    responses={**NOT_FOUND, **STATE_CONFLICT},
)
def say(room_id: str, body: LiveSayCreate, store: StoreDep, settings: SettingsDep) -> LiveSay:
    """A line the presenter says next, reviewed for advertising law like every line it speaks: a violation is
    rewritten (the fixes listed); a line with nothing compliant left is a 400 naming the claims."""
    ts = tenant_settings(settings, store.tenant_id)
    _require_running(ts, room_id)
    return LiveSay.model_validate(rooms.say(room_id, body.text, settings=ts))
