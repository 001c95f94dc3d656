"""A running room's parts wired together, in the room process.

    live script (scripts_gen) → LoopScript → ScriptDirector ─▶ session (media or text engine)
    comments → CommentIntake → InteractionLoop ─(Responder: LiveAnswerer from scripts_gen)─▶ session.interject

Engines: ``media`` is the digital-human session (avatar, TTS, A/V mux, RTMP/HLS/MP4 outputs) from
``digital_human.live.session``; ``text`` is :class:`~adloom.digital_human.live.text_engine.TextSession`,
the same segments spoken into a transcript at speaking pace. ``auto`` picks ``media`` when the room has
outputs and the session is installed. This is the serving layer: it passes the scripts_gen parts (script
writer, answerer, compliance checker) into the digital_human parts, which never import them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

from adloom.core.errors import BackendUnavailableError, ComplianceError, InputError
from adloom.core.redact import redact
from adloom.core.types import Language, LiveRoom
from adloom.digital_human.live.comments import Comment, CommentIntake, IntakeLimits, RuleClassifier
from adloom.digital_human.live.director import (
    InteractionLoop,
    LoopScript,
    ProductBlock,
    ProductSchedule,
    ScheduleEntry,
    ScriptDirector,
)
from adloom.digital_human.live.text_engine import TextSession
from adloom.digital_human.live.types import Segment, SegmentKind
from adloom.scripts_gen.live_script import (
    LiveLine,
    LiveScript,
    LiveScriptWriter,
    load_live_script,
    product_id,
    save_live_script,
)
from adloom.serving.rooms.outputs import output_specs, stream_secrets
from adloom.serving.rooms.schema import SCRIPT_FILE, STATE_FILE, RoomFile, room_roots

log = logging.getLogger(__name__)

#: What a room tells its watchers, one JSON object a line: comments as they arrive, every line spoken out of
#: the script (answers, acknowledgements, welcomes, the operator's says). The console's feed reads it.
EVENTS_FILE = "events.jsonl"
#: The event log rolls over to ``events.1.jsonl`` past this size, like the transcript.
EVENTS_MAX_BYTES = 2_000_000


class EventLog:
    """Append-only ``events.jsonl`` with a sequence number per event (continuing across restarts), so a
    reader asks for the events after the last one it saw. Thread-safe: comments arrive on the control API's
    thread, answers on the interaction thread."""

    def __init__(self, path: Path) -> None:
        import threading

        self.path = path
        self._lock = threading.Lock()
        self.seq = self._last_seq()

    def _last_seq(self) -> int:
        for path in (self.path, self.path.with_suffix(".1.jsonl")):
            try:
                lines = path.read_bytes().splitlines()
            except OSError:
                continue
            for raw in reversed(lines):
                try:
                    return int(json.loads(raw)["seq"])
                except (ValueError, KeyError, TypeError):
                    continue
        return 0

    def add(self, event: str, **fields: Any) -> None:
        with self._lock:
            self.seq += 1
            row = {"seq": self.seq, "ts": round(time.time(), 3), "type": event, **fields}
            try:
                if self.path.exists() and self.path.stat().st_size > EVENTS_MAX_BYTES:
                    os.replace(self.path, self.path.with_suffix(".1.jsonl"))
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            except OSError as exc:  # a full disk must not stop the room talking
                log.warning("room event log %s not written: %s", self.path, exc)


def _segment(line: LiveLine, product: str | None) -> Segment:
    """A script line as the director's segment, its paraphrases kept for the variety budget."""
    return Segment(line.id, line.text, SegmentKind(line.kind), product, tuple(line.variants), line.role or "")


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
        segs = tuple(_segment(line, b.product_id) for line in b.lines)
        blocks.append(ProductBlock(b.product_id, product, segs))
    opening = tuple(_segment(line, None) for line in script.opening)
    return LoopScript(Language(script.language), opening, tuple(blocks))


def build_schedule(rf: RoomFile) -> ProductSchedule:
    by_name = {p.name: product_id(p) for p in rf.room.products}
    ids = [product_id(p) for p in rf.room.products]
    entries = [ScheduleEntry(s.start, tuple(by_name.get(n, n) for n in s.products)) for s in rf.preset.schedule]
    return ProductSchedule(ids, entries)


def room_script(rf: RoomFile, folder: Path | None, *, backend: Any = None, seed: int = 0) -> LiveScript:
    """The room's live script: the adopted file if the room names one, else one written now (and saved in
    ``folder`` unless it is None)."""
    writer = LiveScriptWriter(backend)
    if rf.preset.script:
        script = load_live_script(Path(rf.preset.script))
        return writer.adopt(script, rf.room.products)
    script = writer.write(rf.room, industry=rf.preset.industry, seed=seed)
    if folder is not None:
        save_live_script(script, folder / SCRIPT_FILE)
    return script


def _media_session(rf: RoomFile, director: ScriptDirector, folder: Path) -> Any:
    """The digital-human media session (avatar → TTS → A/V → outputs) for the room; None if not installed."""
    try:
        from adloom.digital_human.avatar.presets import make_avatar
        from adloom.digital_human.avatar.scene import ProductCard
        from adloom.digital_human.live.session import LiveConfig, LiveSession
    except ImportError as exc:
        log.warning("media engine unavailable (%s); using the text engine", exc)
        return None
    roots = room_roots(folder)
    room = rf.room
    language = Language(room.language)
    # the card shows the price as the presenter says it (Product.price_text, the one price wording)
    cards = [ProductCard(p.name, p.price_text(language) or None) for p in room.products[:3]]
    spec = room.avatar if ":" in room.avatar else f"rig:{room.avatar}"
    avatar = make_avatar(
        spec, size=(rf.preset.width, rf.preset.height), fps=25, cards=cards, background=room.background, roots=roots
    )
    config = LiveConfig(fps=25, language=language, voice=None if room.voice == "default" else room.voice)
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
            variety_window_s=preset.variety_window_min * 60,
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
        self.events = EventLog(folder / EVENTS_FILE)
        self.interaction.interject_fn = self._interject
        self.started_at = time.time()
        self.events.add("started", engine=self.engine)

    def _interject(self, j: Any) -> None:
        """The session's ``interject``, with the line logged for the room's watchers first."""
        kind = getattr(j.kind, "value", str(j.kind))
        self.events.add(kind, text=j.text, viewer=j.viewer, comment_id=j.comment_id)
        self.session.interject(j)

    def _counters(self) -> dict[str, Any]:
        return {"intake": self.intake.snapshot(), "interaction": self.interaction.counters.as_dict()}

    def session_status(self) -> dict[str, Any]:
        raw = self.session.status()
        out = dataclasses.asdict(raw) if dataclasses.is_dataclass(raw) and not isinstance(raw, type) else dict(raw)
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
        self.events.add("stopped")
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
        self.events.add(
            "comment", comment_id=adm.comment_id, viewer=viewer, text=text, kind=adm.kind.value, outcome=adm.outcome
        )
        return {"comment_id": adm.comment_id, "kind": adm.kind.value, "outcome": adm.outcome, "reason": adm.reason}

    def say(self, text: str) -> dict[str, Any]:
        """Queue the operator's line, checked for advertising law like every other line the presenter
        speaks: a violation is rewritten per the checker's suggestion (the fixes are returned), and a line
        with nothing compliant left is refused with the findings named."""
        new, found = self.answerer.checker.rewrite(
            text, language=self.language, industry=self.rf.preset.industry, field="say"
        )
        if new is None:
            named = "; ".join(f"{f.term!r} ({f.rule_id}: {f.rule})" for f in found)
            raise ComplianceError(
                f"say: the line cannot be spoken in a {self.rf.preset.industry} room: {named}; "
                "reword it without these claims"
            )
        j = self.interaction.say(new)
        fixes = [{"term": f.term, "rule_id": f.rule_id, "suggestion": f.suggestion} for f in found]
        return {"text": j.text, "kind": j.kind.value, "compliance": fixes}

    def status(self) -> dict[str, Any]:
        """What ``/status`` answers; stream keys are masked wherever they might appear (output names, errors)."""
        status = {
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
        secrets_ = stream_secrets(self.rf.room.outputs)
        return json.loads(redact(json.dumps(status, ensure_ascii=False, default=str), secrets_)) if secrets_ else status
