"""A live room's definition: the room file's schema, loading it, and storing it in the room's state folder.

A room file is the :class:`~adloom.core.types.LiveRoom` fields plus the :class:`RoomPreset` fields
(industry, product schedule, pacing, engine). :func:`load_room` validates one and resolves its file
references (background, ``photo:`` avatar folder, adopted script) inside the allowed folders, relative
to the room file. :func:`define_room` then stores it ONCE in ``ADLOOM_HOME/live/<room id>/``: every
referenced file is copied into the state folder's ``assets/`` and the stored ``room.yaml`` points at
the copies, so the room process (which loads the stored file) finds them inside its own folder
whatever folder the room file came from. ``room.yaml`` may hold RTMP stream keys, so it is created
with mode 0600.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from adloom.core.errors import InputError
from adloom.core.paths import resolve_inside, safe_filename
from adloom.core.settings import Settings, get_settings
from adloom.core.types import Industry, LiveRoom
from adloom.scripts_gen.live_script import product_id
from adloom.serving.rooms.outputs import check_outputs

MAX_ROOM_BYTES = 1_000_000
RUN_FILE = "run.json"
STATE_FILE = "state.json"
ROOM_FILE = "room.yaml"
SCRIPT_FILE = "live_script.yaml"
ASSETS_DIR = "assets"


class ScheduleSlot(BaseModel):
    """From ``start`` (HH:MM, local time) until the next slot, these products take turns."""

    model_config = ConfigDict(extra="forbid")

    start: Annotated[str, StringConstraints(pattern=r"^([01]?\d|2[0-3]):[0-5]\d$")]
    products: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(min_length=1)


class RoomPreset(BaseModel):
    """Fields of a room file beyond :class:`LiveRoom`: how the room runs."""

    model_config = ConfigDict(extra="forbid")

    industry: Industry = Field(description="Picks the advertising-law rules for the script and answers.")
    schedule: list[ScheduleSlot] = Field(default_factory=list, description="Which products when (24 h).")
    script: str | None = Field(None, description="An adopted live script (YAML/JSON); default: write one.")
    script_llm: bool = Field(False, description="Draft selling-point lines with the LLM when writing the script.")
    answer_llm: bool = Field(True, description="Answer questions with the LLM (grounding-checked); else templates.")
    answer_timeout_s: float = Field(4.0, gt=0, le=30)
    ack_after_s: float = Field(
        0.05,
        ge=0,
        le=5,
        description="Speak a short acknowledgement when an answer is not ready after this long, so the presenter "
        "stops promptly (bench/live.py: ~240 ms comment → stop with the embedded LLM); 0 = never.",
    )
    min_answer_gap_s: float = Field(8.0, ge=0, le=600, description="At most one answer per this many seconds.")
    greet_every_s: float = Field(30.0, ge=0, le=3600, description="Batched welcome for greeters; 0 = never.")
    opening_every: int = Field(6, ge=0, le=1000, description="Repeat the opening every N product blocks; 0 = never.")
    variety_window_min: float = Field(
        10.0,
        ge=0,
        le=1440,
        description="Variety budget: no script line is said word for word again within this many minutes "
        "(the director rotates each line's paraphrases; a breach is counted in status); 0 = off.",
    )
    banned_words: list[str] = Field(default_factory=list, description="Extra words that mark a comment abusive.")
    engine: Literal["auto", "media", "text"] = "auto"
    speech_rate: float = Field(1.0, gt=0, le=100, description="Text engine only: speaking pace × real time.")
    port: int = Field(0, ge=0, le=65535, description="Control API port on 127.0.0.1; 0 = any free port.")
    width: Literal[720, 1080] = Field(720, description="Media engine: frame width (720×1280 or 1080×1920).")

    @property
    def height(self) -> int:
        return 1280 if self.width == 720 else 1920


_PRESET_FIELDS = set(RoomPreset.model_fields)
_ROOM_FIELDS = set(LiveRoom.model_fields)


@dataclass(frozen=True)
class RoomFile:
    room: LiveRoom
    preset: RoomPreset
    source: Path | None = None

    @property
    def room_id(self) -> str:
        return self.room.id

    def to_yaml(self) -> str:
        data = self.room.model_dump(mode="json") | self.preset.model_dump(mode="json")
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def _describe(exc: ValidationError, source: str) -> tuple[str, str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {loc}: {err['msg']}" if loc else f"  {err['msg']}")
    first = ".".join(str(p) for p in exc.errors()[0]["loc"])
    return f"{source} is not a valid room:\n" + "\n".join(lines), first


def parse_room(data: object, *, source: str = "room", default_id: str | None = None) -> RoomFile:
    """A room from a mapping of LiveRoom + preset fields; errors name the field (unknown ones too)."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of room fields (name, products, industry, …)")
    unknown = sorted(k for k in data if k not in _PRESET_FIELDS | _ROOM_FIELDS)
    if unknown:
        known = ", ".join(sorted(_ROOM_FIELDS | _PRESET_FIELDS))
        raise InputError(f"{source}: unknown field(s) {', '.join(unknown)}; room fields are: {known}", field=unknown[0])
    room_part = {k: v for k, v in data.items() if k in _ROOM_FIELDS}
    if "id" not in room_part and default_id:
        room_part["id"] = default_id
    if "id" in room_part and room_part["id"] != safe_filename(str(room_part["id"]), max_len=64):
        raise InputError(f"{source}: id {room_part['id']!r} may use only letters, digits, - _ and .", field="id")
    try:
        room = LiveRoom.model_validate(room_part)
        preset = RoomPreset.model_validate({k: v for k, v in data.items() if k in _PRESET_FIELDS})
    except ValidationError as exc:
        msg, first = _describe(exc, source)
        raise InputError(msg, field=first) from None
    names = {p.name for p in room.products} | {product_id(p) for p in room.products}
    for i, slot in enumerate(preset.schedule):
        bad = [p for p in slot.products if p not in names]
        if bad:
            raise InputError(
                f"{source}: schedule[{i}] ({slot.start}) names unknown product(s) {', '.join(bad)}; "
                f"use product names from products: {', '.join(p.name for p in room.products)}",
                field=f"schedule[{i}].products",
            )
    return RoomFile(room, preset)


def load_room(path: Path) -> RoomFile:
    """Read a room YAML/JSON file; the room id defaults to the file's name.

    File references (``background``, ``script``, a ``photo:`` avatar folder) are resolved relative to
    the room file and must lie inside its folder, ``ADLOOM_HOME`` or ``ADLOOM_ALLOWED_ROOTS``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read room file {path}: {exc.strerror or exc}", field="room") from exc
    if size > MAX_ROOM_BYTES:
        raise InputError(f"room file {path} is {size} bytes; a room file is at most {MAX_ROOM_BYTES}", field="room")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"room file {path} is not UTF-8 text; save it as UTF-8", field="room") from None
    except yaml.YAMLError as exc:
        raise InputError(f"room file {path} is not valid YAML/JSON: {exc}", field="room") from None
    rf = parse_room(data, source=str(path), default_id=safe_filename(path.stem, max_len=64))
    settings = get_settings()
    roots = [path.parent.resolve(), settings.home, *settings.allowed_roots]
    resolved = _map_assets(rf, lambda ref, field, _name: str(resolve_inside(ref, roots, field=field)))
    return RoomFile(resolved.room, resolved.preset, path)


def _map_assets(rf: RoomFile, fn: Callable[[str, str, str], str]) -> RoomFile:
    """``rf`` with each file reference (background, ``photo:`` avatar folder, adopted script) replaced by
    ``fn(reference, field, copy name)``; URLs and rig avatars are left alone. The one list of a room's assets."""
    room, preset = rf.room, rf.preset
    if room.background and "://" not in room.background:
        name = f"background{Path(room.background).suffix.lower()}"
        room = room.model_copy(update={"background": fn(room.background, "background", name)})
    kind, _, value = room.avatar.partition(":")
    if kind == "photo" and value:
        room = room.model_copy(update={"avatar": f"photo:{fn(value, 'avatar', 'avatar_photo')}"})
    if preset.script:
        name = f"script{Path(preset.script).suffix.lower() or '.yaml'}"
        preset = preset.model_copy(update={"script": fn(preset.script, "script", name)})
    return RoomFile(room, preset, rf.source)


def rooms_root(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).home / "live"


def room_dir(room_id: str, settings: Settings | None = None) -> Path:
    return rooms_root(settings) / safe_filename(room_id, max_len=64)


def room_roots(folder: Path, settings: Settings | None = None) -> list[Path]:
    """The folders a running room may read and write: its state folder first (relative paths land
    there), then ``ADLOOM_HOME`` and ``ADLOOM_ALLOWED_ROOTS``."""
    settings = settings or get_settings()
    return [folder.resolve(), settings.home, *settings.allowed_roots]


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` readable by its owner only (mode 0600 from creation, never a chmod
    afterwards), via a unique temporary sibling and a rename; the temporary file is removed on failure."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _copy_asset(source: Path, folder: Path, name: str) -> str:
    """Copy a file or folder into ``folder/assets/name`` (replacing an older copy); returns the
    reference relative to ``folder``. A source already inside ``folder`` is used where it is."""
    folder = folder.resolve()
    if source.is_relative_to(folder):
        return str(source.relative_to(folder))
    dest = folder / ASSETS_DIR / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(f".{name}.{secrets.token_hex(4)}")
    try:
        if source.is_dir():
            shutil.copytree(source, staging)
        else:
            shutil.copyfile(source, staging)
        if dest.is_dir():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    finally:
        if staging.is_dir():
            shutil.rmtree(staging)
        else:
            staging.unlink(missing_ok=True)
    return f"{ASSETS_DIR}/{name}"


def localise_assets(rf: RoomFile, folder: Path, settings: Settings | None = None) -> RoomFile:
    """``rf`` with every file it references copied into ``folder`` and referenced relative to it.

    References are resolved inside the room file's folder (when it came from a file), ``ADLOOM_HOME``
    and ``ADLOOM_ALLOWED_ROOTS``; outputs are checked against the folders the running room may write
    (:func:`room_roots`), so a bad path fails here, when the room is defined, not in the room process."""
    settings = settings or get_settings()
    base = [rf.source.parent.resolve()] if rf.source is not None else []
    roots = [*base, folder.resolve(), settings.home, *settings.allowed_roots]

    def local(ref: str, field: str, name: str) -> str:
        path = resolve_inside(ref, roots, field=field)
        if not path.exists():
            raise InputError(f"{field}: {ref} ({path}) does not exist; fix the path in the room file", field=field)
        return _copy_asset(path, folder, name)

    stored = _map_assets(rf, local)
    check_outputs(stored.room.outputs, room_roots(folder, settings))
    return RoomFile(stored.room, stored.preset, folder / ROOM_FILE)


def define_room(rf: RoomFile, settings: Settings | None = None, *, folder: Path | None = None) -> Path:
    """Store a room definition (from a file or the API) as ``<state dir>/room.yaml`` with its assets
    copied beside it (:func:`localise_assets`); returns the folder."""
    folder = folder or room_dir(rf.room_id, settings)
    folder.mkdir(parents=True, exist_ok=True)
    stored = localise_assets(rf, folder, settings)
    write_private(folder / ROOM_FILE, stored.to_yaml())
    return folder
