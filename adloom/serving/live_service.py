"""Live rooms as long-running processes: define, start, stop, status, say, comment.

A room is a YAML file (or a definition posted through :func:`define_room`): the
:class:`~adloom.core.types.LiveRoom` fields plus the preset fields of :class:`RoomPreset`
(industry, product schedule, pacing, answer timeout, engine). ``start`` validates it, copies
it into the room's state folder ``ADLOOM_HOME/live/<room id>/`` and launches one detached
background process per room (``python -m adloom.serving.live_service run …``, the same code as
``adloom live run``). That process wires the parts together —

    live script (scripts_gen) → LoopScript → ScriptDirector ─▶ session (media or text engine)
    comments → CommentIntake → InteractionLoop ─(Responder: LiveAnswerer from scripts_gen)─▶ session.interject

— and serves a small control API on a loopback port (``/status``, ``/say``, ``/comment``,
``/stop``), guarded by a random token. ``run.json`` in the state folder records pid, port and
token for the CLI; ``state.json`` holds the director's position and the counters, so a
restarted room resumes its schedule.

Engines: ``media`` is the digital-human session (avatar, TTS, A/V mux, RTMP/HLS/MP4 outputs)
from ``digital_human.live.session``; ``text`` is :class:`TextSession`, which speaks the same
segments into a transcript at speaking pace with the same interrupt-at-a-word-boundary and
resume semantics — for rehearsing a room's script and answers without rendering, and for
machines without the media stack. ``auto`` picks ``media`` when the room has outputs and the
session is installed.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from adloom.core.errors import AdloomError, BackendUnavailableError, InputError, NotFoundError
from adloom.core.paths import resolve_inside, safe_filename, write_atomic
from adloom.core.settings import Settings, get_settings
from adloom.core.text import speech_seconds
from adloom.core.types import Industry, Language, LiveRoom
from adloom.digital_human.live.comments import Comment, CommentIntake, IntakeLimits, RuleClassifier
from adloom.digital_human.live.director import (
    InteractionLoop,
    LoopScript,
    ProductBlock,
    ProductSchedule,
    ScheduleEntry,
    ScriptDirector,
)
from adloom.digital_human.live.types import Interjection, Segment, SegmentKind, SegmentSource, Spoken
from adloom.digital_human.live.words import join_words, split_words
from adloom.scripts_gen.live_script import (
    LiveScript,
    LiveScriptWriter,
    load_live_script,
    product_id,
    save_live_script,
)

log = logging.getLogger(__name__)

MAX_ROOM_BYTES = 1_000_000
RUN_FILE = "run.json"
STATE_FILE = "state.json"
ROOM_FILE = "room.yaml"
SCRIPT_FILE = "live_script.yaml"
TOKEN_HEADER = "X-Adloom-Token"


# --------------------------------------------------------------------------- room definition


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
    """Read a room YAML/JSON file; the room id defaults to the file's name."""
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
    preset, room = rf.preset, rf.room
    if preset.script:  # relative to the room file, and inside the allowed folders
        preset = preset.model_copy(update={"script": str(resolve_inside(preset.script, roots, field="script"))})
    if room.background and "://" not in room.background:
        room = room.model_copy(update={"background": str(resolve_inside(room.background, roots, field="background"))})
    return RoomFile(room, preset, path)


def rooms_root(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).home / "live"


def room_dir(room_id: str, settings: Settings | None = None) -> Path:
    return rooms_root(settings) / safe_filename(room_id, max_len=64)


def define_room(rf: RoomFile, settings: Settings | None = None) -> Path:
    """Store a room definition (from a file or the API) as ``<state dir>/room.yaml``; returns the folder."""
    folder = room_dir(rf.room_id, settings)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / ROOM_FILE, rf.to_yaml())
    return folder


# --------------------------------------------------------------------------- wiring


def to_loop_script(script: LiveScript, room: LiveRoom) -> LoopScript:
    """The director's view of a live script: segments with stable ids, blocks tied to the room's products."""
    by_id = {product_id(p): p for p in room.products}
    blocks = []
    for b in script.products:
        product = by_id.get(b.product_id)
        if product is None:
            raise InputError(
                f"live script block {b.product_id} ({b.product_name}) is not a product of room {room.id}; "
                "write the script again with `adloom live script`",
                field="script",
            )
        segs = tuple(Segment(line.id, line.text, SegmentKind(line.kind), b.product_id) for line in b.lines)
        blocks.append(ProductBlock(b.product_id, product, segs))
    opening = tuple(Segment(line.id, line.text, SegmentKind(line.kind)) for line in script.opening)
    return LoopScript(Language(script.language), opening, tuple(blocks))


def build_schedule(rf: RoomFile) -> ProductSchedule:
    by_name = {p.name: product_id(p) for p in rf.room.products}
    ids = [product_id(p) for p in rf.room.products]
    entries = [ScheduleEntry(s.start, tuple(by_name.get(n, n) for n in s.products)) for s in rf.preset.schedule]
    return ProductSchedule(ids, entries)


def room_script(rf: RoomFile, folder: Path, *, backend: Any = None) -> LiveScript:
    """The room's live script: the adopted file if the room names one, else one written now (and saved)."""
    writer = LiveScriptWriter(backend)
    if rf.preset.script:
        script = load_live_script(Path(rf.preset.script))
        return writer.adopt(script, rf.room.products)
    script = writer.write(rf.room, industry=rf.preset.industry)
    save_live_script(script, folder / SCRIPT_FILE)
    return script


class TextSession:
    """The text engine: speaks segments into a transcript at speaking pace, no media.

    Same contract as the media session: pulls segments from a :class:`SegmentSource`,
    ``interject`` cuts the current segment at its next word boundary, speaks the interjection
    (highest priority first), then resumes the cut segment from the word where it stopped, and
    reports :class:`Spoken` back. ``rate`` speeds the clock up (tests, rehearsals).
    """

    def __init__(self, source: SegmentSource, language: Language, *, transcript: Path | None, rate: float = 1.0):
        self.source = source
        self.language = language
        self.transcript = transcript
        self.rate = rate
        self._pending: list[tuple[int, int, Interjection]] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.media_s = 0.0  # speech time spoken so far (the text engine's media clock)
        self.current: str = ""
        self.segments = 0
        self.interjections = 0
        self.interrupted = 0
        self.latencies_ms: list[float] = []  # interject() → presenter stops, last 100
        self._asked: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="text-session", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def interject(self, j: Interjection) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(self._pending, (-j.priority, self._seq, j))
            if len(self._pending) > 16:  # bounded: the least important, newest waiting line is dropped
                self._pending.remove(max(self._pending))
                heapq.heapify(self._pending)
            self._asked = time.monotonic()
        self._wake.set()

    def status(self) -> dict[str, Any]:
        with self._lock:
            waiting = len(self._pending)
        lat = sorted(self.latencies_ms)
        return {
            "engine": "text",
            "media_s": round(self.media_s, 2),
            "speaking": self.current,
            "segments": self.segments,
            "interjections": self.interjections,
            "interrupted": self.interrupted,
            "interjections_waiting": waiting,
            "interrupt_latency_ms_p50": round(lat[len(lat) // 2], 1) if lat else None,
        }

    def _word_s(self, word: str) -> float:
        return max(0.08, speech_seconds(word, self.language)) / self.rate

    def _pop(self) -> Interjection | None:
        with self._lock:
            return heapq.heappop(self._pending)[2] if self._pending else None

    def _write(self, record: dict[str, Any]) -> None:
        if self.transcript is None:
            return
        try:
            if self.transcript.exists() and self.transcript.stat().st_size > 5_000_000:
                os.replace(self.transcript, self.transcript.with_suffix(".1.jsonl"))
            with self.transcript.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:
            log.warning("transcript write failed: %s", exc)

    def _speak(self, words: list[str], *, interruptible: bool) -> int:
        """Speak ``words``; returns how many were spoken (fewer when an interjection arrived)."""
        for i, w in enumerate(words):
            if self._stop.wait(self._word_s(w)):
                return i
            self.media_s += self._word_s(w) * self.rate
            if interruptible and self._pending:
                if self._asked is not None:
                    self.latencies_ms = [*self.latencies_ms[-99:], (time.monotonic() - self._asked) * 1000]
                return i + 1
        return len(words)

    def _run(self) -> None:
        resume: tuple[Segment, int] | None = None
        while not self._stop.is_set():
            j = self._pop()
            if j is not None:
                self.current = j.text
                words = split_words(j.text)
                n = self._speak(words, interruptible=False)
                self.interjections += 1
                self._write({"t": round(self.media_s, 2), "kind": j.kind.value, "viewer": j.viewer, "text": j.text})
                if n < len(words):
                    return
                continue
            if resume is not None:
                seg, start = resume
                resume = None
            else:
                seg, start = self.source.next_segment(), 0
            self.current = seg.text
            words = split_words(seg.text)
            n = start + self._speak(words[start:], interruptible=True)
            done = n >= len(words)
            said = join_words(words[start:n])
            self._write(
                {"t": round(self.media_s, 2), "kind": seg.kind.value, "id": seg.id, "text": said, "completed": done}
            )
            self.source.spoken(Spoken(seg.id, done, n, self.media_s))
            if done:
                self.segments += 1
            elif not self._stop.is_set():
                self.interrupted += 1
                resume = (seg, n)


def output_specs(outputs: list[str], roots: list[Path]) -> list[Any]:
    """The room's ``outputs`` strings as the media session's OutputSpecs; paths resolved inside ``roots``.

    ``rtmp://…`` / ``rtmps://…`` push, ``hls:FOLDER`` preview, ``file:PATH.mp4`` recording, ``null``
    (encode and discard)."""
    from adloom.digital_human.live.outputs import OutputSpec

    specs = []
    for i, out in enumerate(outputs):
        o = out.strip()
        if o.startswith(("rtmp://", "rtmps://")):
            specs.append(OutputSpec.rtmp(o))
        elif o.startswith("hls:"):
            specs.append(OutputSpec.hls(resolve_inside(o[4:], roots, field=f"outputs[{i}]")))
        elif o.startswith("file:"):
            path = resolve_inside(o[5:], roots, field=f"outputs[{i}]")
            path.parent.mkdir(parents=True, exist_ok=True)
            specs.append(OutputSpec.mp4(path))
        elif o == "null":
            specs.append(OutputSpec.null())
        else:
            raise InputError(
                f"outputs[{i}]: {out!r} is not an output; use rtmp://host/app/key, hls:FOLDER, file:PATH.mp4 or null",
                field=f"outputs[{i}]",
            )
    return specs


def _media_session(rf: RoomFile, director: ScriptDirector, folder: Path) -> Any:
    """The digital-human media session (avatar → TTS → A/V → outputs) for the room; None if not installed."""
    try:
        from adloom.digital_human.avatar.presets import make_avatar
        from adloom.digital_human.avatar.scene import ProductCard
        from adloom.digital_human.live.session import LiveConfig, LiveSession
    except ImportError as exc:
        log.warning("media engine unavailable (%s); using the text engine", exc)
        return None
    settings = get_settings()
    roots = [folder, settings.home, *settings.allowed_roots]
    if rf.source is not None:
        roots.insert(1, rf.source.parent.resolve())
    room = rf.room
    zh = Language(room.language) == Language.zh
    cards = []
    for p in room.products[:3]:
        price = None
        if p.price is not None:
            price = f"¥{p.price:g}" if p.currency == "CNY" else f"{p.price:g} {p.currency}"
        cards.append(ProductCard(p.name, price))
    spec = room.avatar if ":" in room.avatar else f"rig:{room.avatar}"
    avatar = make_avatar(
        spec, size=(rf.preset.width, rf.preset.height), fps=25, cards=cards, background=room.background, roots=roots
    )
    config = LiveConfig(
        fps=25,
        language=Language.zh if zh else Language.en,
        voice=None if room.voice == "default" else room.voice,
    )
    return LiveSession(director, avatar, output_specs(room.outputs, roots), config)


class RoomRuntime:
    """Everything one running room holds: script, director, intake, answers, session."""

    def __init__(self, rf: RoomFile, folder: Path, *, responder_backend: Any = None, script_backend: Any = None):
        self.rf = rf
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        room, preset = rf.room, rf.preset
        self.language = Language(room.language)
        self.script = room_script(rf, folder, backend=script_backend)
        loop = to_loop_script(self.script, room)
        self.intake = CommentIntake(
            limits=IntakeLimits(),
            classifier=RuleClassifier(preset.banned_words),
            abuse_log=folder / "abuse.jsonl",
        )
        self.director = ScriptDirector(
            loop,
            schedule=build_schedule(rf),
            state_path=folder / STATE_FILE,
            opening_every=preset.opening_every,
            extra_state=self._counters,
        )
        from adloom.scripts_gen.live_answer import LiveAnswerer, focus_by_product_id

        self.answerer = LiveAnswerer(
            room,
            industry=preset.industry,
            backend=responder_backend,
            focus=focus_by_product_id(room, lambda: self.director.current_product_id),
        )
        self.interaction = InteractionLoop(
            self.intake,
            language=self.language,
            current_product=lambda: self.director.current_product,
            products=room.products,
            responder=self.answerer,
            timeout_s=preset.answer_timeout_s,
            ack_after_s=preset.ack_after_s,
            min_gap_s=preset.min_answer_gap_s,
            greet_every_s=preset.greet_every_s,
        )
        saved = self.director.restored_extra
        self.intake.restore_counters(saved.get("intake", {}))
        self.interaction.restore_counters(saved.get("interaction", {}))
        self.session: Any = None
        self.engine = preset.engine
        if preset.engine in ("auto", "media") and (room.outputs or preset.engine == "media"):
            self.session = _media_session(rf, self.director, folder)
            if self.session is None and preset.engine == "media":
                raise BackendUnavailableError(
                    "engine: media needs the digital-human live session (adloom.digital_human.live.session), which "
                    "is not installed here; install adloom[live] or set engine: text"
                )
        if self.session is None:
            self.engine = "text"
            self.session = TextSession(
                self.director, self.language, transcript=folder / "transcript.jsonl", rate=preset.speech_rate
            )
        else:
            self.engine = "media"
        self.interaction.interject_fn = self.session.interject
        self.started_at = time.time()

    def _counters(self) -> dict[str, Any]:
        return {"intake": self.intake.snapshot(), "interaction": self.interaction.counters.as_dict()}

    def session_status(self) -> dict[str, Any]:
        raw = self.session.status()
        out = dataclasses.asdict(raw) if dataclasses.is_dataclass(raw) else dict(raw)
        latencies = getattr(self.session, "latencies", None)
        if callable(latencies):  # the media session: comment arrival → presenter stops / first answer audio
            recent = latencies()[-50:]

            def median(name: str) -> float | None:
                values = sorted(v for r in recent if (v := getattr(r, name, None)) is not None)
                return round(values[len(values) // 2] * 1000, 1) if values else None

            out["interrupt_latency_ms_p50"] = median("stop_wall_s")
            out["first_answer_audio_ms_p50"] = median("first_audio_wall_s")
        return out

    def start(self) -> None:
        self.session.start()
        self.interaction.start()

    def stop(self) -> None:
        """Stop answering, save the position, then stop the session (the media engine flushes its outputs,
        which can take a while) and save again with what it reported while stopping."""
        self.interaction.stop()
        self.director.save()
        try:
            self.session.stop()
        finally:
            self.director.save()
            self.answerer.close()

    def comment(self, viewer: str, text: str, comment_id: str | None = None) -> dict[str, Any]:
        if not text or not text.strip():
            raise InputError("comment: the text is empty", field="text")
        cid = comment_id or f"c_{secrets.token_hex(6)}"
        adm = self.intake.submit(Comment(cid, viewer, text, time.monotonic()))
        return {"comment_id": adm.comment_id, "kind": adm.kind.value, "outcome": adm.outcome, "reason": adm.reason}

    def say(self, text: str) -> dict[str, Any]:
        j = self.interaction.say(text)
        return {"text": j.text, "kind": j.kind.value}

    def status(self) -> dict[str, Any]:
        return {
            "room_id": self.rf.room_id,
            "name": self.rf.room.name,
            "pid": os.getpid(),
            "engine": self.engine,
            "uptime_s": round(time.time() - self.started_at, 1),
            "script": {"id": self.script.id, "path": self.script.provenance.path},
            "director": self.director.status(),
            "intake": self.intake.snapshot(),
            "interaction": self.interaction.status(),
            "answers": self.answerer.status(),
            "session": self.session_status(),
        }


# --------------------------------------------------------------------------- the control API (in the room process)


class SayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(min_length=1, max_length=400)]


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    viewer: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    id: str | None = None


def control_app(runtime: RoomRuntime, token: str, on_stop: Callable[[], None]) -> Any:
    """The room's loopback control API. Every call needs the ``X-Adloom-Token`` header from run.json."""
    app = FastAPI(title=f"adloom live room {runtime.rf.room_id}", docs_url=None, redoc_url=None)

    def auth(x_adloom_token: Annotated[str | None, Header()] = None) -> None:
        if x_adloom_token is None or not secrets.compare_digest(x_adloom_token, token):
            raise HTTPException(status_code=401, detail="missing or wrong X-Adloom-Token (see run.json)")

    @app.exception_handler(InputError)
    def _bad(_: Any, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc), "field": exc.field})

    @app.get("/status", dependencies=[Depends(auth)])
    def status() -> dict[str, Any]:
        return runtime.status()

    @app.post("/say", dependencies=[Depends(auth)], status_code=202)
    def say(body: SayBody) -> dict[str, Any]:
        return runtime.say(body.text)

    @app.post("/comment", dependencies=[Depends(auth)], status_code=202)
    def comment(body: CommentBody) -> dict[str, Any]:
        return runtime.comment(body.viewer, body.text, body.id)

    @app.post("/stop", dependencies=[Depends(auth)], status_code=202)
    def stop() -> dict[str, str]:
        on_stop()
        return {"status": "stopping"}

    return app


def run_room(room_path: Path, *, state_dir: Path | None = None, port: int | None = None) -> None:
    """Run a room in this process until ``/stop``, SIGTERM or Ctrl-C (``adloom live run``)."""
    import uvicorn

    rf = load_room(room_path)
    folder = state_dir or room_dir(rf.room_id)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / ROOM_FILE).resolve() != room_path.resolve():  # `adloom live run FILE`: known to status/stop too
        write_atomic(folder / ROOM_FILE, rf.to_yaml())
    settings = get_settings()
    backend = None
    if rf.preset.answer_llm or rf.preset.script_llm:
        from adloom.scripts_gen.llm import get_backend

        try:
            backend = get_backend(settings)
        except AdloomError as exc:  # the room still runs: template answers and script
            log.warning("LLM backend unavailable (%s); answering from templates", exc)
    runtime = RoomRuntime(
        rf,
        folder,
        responder_backend=backend if rf.preset.answer_llm else None,
        script_backend=backend if rf.preset.script_llm else None,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", rf.preset.port if port is None else port))
    token = secrets.token_urlsafe(24)
    server: Any = None

    def request_stop() -> None:
        if server is not None:
            server.should_exit = True

    app = control_app(runtime, token, request_stop)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    run_path = folder / RUN_FILE
    runtime.start()
    info = {
        "room_id": rf.room_id,
        "pid": os.getpid(),
        "port": sock.getsockname()[1],
        "token": token,
        "started_at": time.time(),
        "engine": runtime.engine,
    }
    fd = os.open(run_path.with_name(f".{RUN_FILE}.tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(info))
    os.replace(run_path.with_name(f".{RUN_FILE}.tmp"), run_path)
    try:
        server.run(sockets=[sock])
    finally:
        runtime.stop()
        try:
            current = json.loads(run_path.read_text())
            if current.get("pid") == os.getpid():
                run_path.unlink()
        except (OSError, ValueError):
            pass


# --------------------------------------------------------------------------- the client side (CLI)


@dataclass(frozen=True)
class RunInfo:
    room_id: str
    pid: int
    port: int
    token: str
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def known_rooms(settings: Settings | None = None) -> list[str]:
    root = rooms_root(settings)
    return sorted(p.name for p in root.iterdir() if (p / ROOM_FILE).is_file()) if root.is_dir() else []


def resolve_room_ref(ref: str, settings: Settings | None = None) -> str:
    """A room id from ``ref``: a room id, or the path of a room file."""
    path = Path(ref).expanduser()
    if path.suffix.lower() in (".yaml", ".yml", ".json") and path.is_file():
        return load_room(path).room_id
    rid = safe_filename(ref, max_len=64)
    if not (room_dir(rid, settings) / ROOM_FILE).is_file():
        rooms = known_rooms(settings)
        raise NotFoundError(
            f"unknown room {ref!r}; known rooms: {', '.join(rooms) or 'none'} "
            "(start one with `adloom live start ROOM.yaml`)"
        )
    return rid


def run_info(room_id: str, settings: Settings | None = None) -> RunInfo | None:
    folder = room_dir(room_id, settings)
    try:
        data = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        info = RunInfo(data["room_id"], int(data["pid"]), int(data["port"]), str(data["token"]), folder)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if _pid_alive(info.pid) else None


def call(info: RunInfo, method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float = 10.0) -> Any:
    """One request to a room's control API; errors become typed adloom errors."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(info.url + path, data=data, method=method)
    req.add_header(TOKEN_HEADER, info.token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail")
        except (ValueError, AttributeError):
            detail = exc.reason
        if exc.code in (400, 422):
            raise InputError(f"room {info.room_id}: {detail}") from None
        raise AdloomError(f"room {info.room_id} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise BackendUnavailableError(
            f"room {info.room_id} (pid {info.pid}) does not answer on port {info.port} ({exc}); "
            f"see {info.folder / 'room.log'}"
        ) from None


def _require_running(room_id: str, settings: Settings | None = None) -> RunInfo:
    info = run_info(room_id, settings)
    if info is None:
        raise NotFoundError(f"room {room_id} is not running; start it with `adloom live start {room_id}`")
    return info


def start_room(
    ref: str | Path | RoomFile,
    *,
    settings: Settings | None = None,
    wait_s: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> RunInfo:
    """Validate the room, store it, launch its background process and wait until its API answers."""
    settings = settings or get_settings()
    if isinstance(ref, RoomFile):
        rf = ref
    else:
        path = Path(ref).expanduser()
        if path.is_file():
            rf = load_room(path)
        else:
            rid = resolve_room_ref(str(ref), settings)
            rf = load_room(room_dir(rid, settings) / ROOM_FILE)
            rf = RoomFile(rf.room.model_copy(update={"id": rid}), rf.preset, rf.source)
    existing = run_info(rf.room_id, settings)
    if existing is not None:
        raise InputError(
            f"room {rf.room_id} is already running (pid {existing.pid}, port {existing.port}); "
            f"stop it first with `adloom live stop {rf.room_id}`",
            field="room",
        )
    folder = define_room(rf, settings)
    (folder / RUN_FILE).unlink(missing_ok=True)
    log_path = folder / "room.log"
    cmd = [sys.executable, "-m", "adloom.serving.live_service", "run", str(folder / ROOM_FILE), str(folder)]
    if progress:
        progress(f"starting room {rf.room_id}")
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "ADLOOM_HOME": str(settings.home)},
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-1500:]
            raise AdloomError(f"room {rf.room_id} exited at start (code {proc.returncode}):\n{tail}")
        info = run_info(rf.room_id, settings)
        if info is not None and info.pid == proc.pid:
            try:
                call(info, "GET", "/status", timeout=2.0)
                return info
            except AdloomError:
                pass
        time.sleep(0.1)
    proc.terminate()
    raise BackendUnavailableError(f"room {rf.room_id} did not come up within {wait_s:.0f}s; see {log_path}")


def stop_room(ref: str, *, settings: Settings | None = None, wait_s: float = 90.0) -> dict[str, Any]:
    """Ask a running room to stop (it saves its position), then make sure its process is gone."""
    room_id = resolve_room_ref(ref, settings)
    info = _require_running(room_id, settings)
    try:
        call(info, "POST", "/stop", {}, timeout=5.0)
    except AdloomError:
        os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while _pid_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    forced = False
    if _pid_alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
        forced = True
    (info.folder / RUN_FILE).unlink(missing_ok=True)
    return {"room_id": room_id, "stopped": True, "forced": forced}


def room_status(ref: str | None = None, *, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Status of one room (or every known room): live figures when running, the saved state when not."""
    ids = [resolve_room_ref(ref, settings)] if ref else known_rooms(settings)
    out = []
    for rid in ids:
        info = run_info(rid, settings)
        if info is not None:
            try:
                out.append({"running": True, "port": info.port, **call(info, "GET", "/status", timeout=5.0)})
                continue
            except AdloomError as exc:
                out.append({"room_id": rid, "running": True, "error": str(exc)})
                continue
        state: dict[str, Any] = {}
        try:
            state = json.loads((room_dir(rid, settings) / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        out.append({"room_id": rid, "running": False, "saved_state": state})
    return out


def say(ref: str, text: str, *, settings: Settings | None = None) -> dict[str, Any]:
    info = _require_running(resolve_room_ref(ref, settings), settings)
    return call(info, "POST", "/say", {"text": text})


def comment(ref: str, viewer: str, text: str, *, settings: Settings | None = None) -> dict[str, Any]:
    info = _require_running(resolve_room_ref(ref, settings), settings)
    return call(info, "POST", "/comment", {"viewer": viewer, "text": text})


def main(argv: list[str]) -> int:
    """``python -m adloom.serving.live_service run ROOM.yaml [STATE_DIR]`` (what ``start`` launches)."""
    if len(argv) < 2 or argv[0] != "run":
        print("usage: python -m adloom.serving.live_service run ROOM.yaml [STATE_DIR]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_room(Path(argv[1]), state_dir=Path(argv[2]) if len(argv) > 2 else None)
    except AdloomError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, InputError) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
