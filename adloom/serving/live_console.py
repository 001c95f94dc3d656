"""What the advertiser console needs around a live room, beyond defining and running it: the presenter looks
with thumbnails, photo avatars from an uploaded portrait with its consent record, the offline voices with a
preview clip, FAQ files turned into a knowledge base, the live script written and checked for advertising law,
a 10 s preview of the room rendered offline, and what a running room shows its watchers (HLS files, a
snapshot frame, the event feed).

Everything a tenant makes is a file in its own folder (``ts.home`` is ``<home>/tenants/<tenant>/``):

* ``avatars/<avt id>/``: ``portrait.<ext>``, ``landmarks.json`` (when the face was found), ``consent.json``
  (who, when, what, the portrait's sha256) and ``avatar.json`` (name, state);
* ``live_kb/<kb id>.json``: the parsed Q/A pairs of one FAQ file;
* ``live/<room id>/preview.mp4``: the last 10 s preview of the room.

Voice previews and look thumbnails are the deployment's, cached under ``<home>/cache/live_console/``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from adloom.core.errors import (
    AdloomError,
    BackendUnavailableError,
    GenerationError,
    InputError,
    NotFoundError,
    UnsupportedContentError,
)
from adloom.core.paths import safe_filename, sniff, write_atomic
from adloom.core.settings import Settings
from adloom.core.types import Industry, Language, LiveRoom, Product, new_id, utcnow

log = logging.getLogger(__name__)

AVATARS_DIR = "avatars"
KB_DIR = "live_kb"
AVATAR_META = "avatar.json"
PREVIEW_MP4 = "preview.mp4"
#: A portrait upload is at most this big (the photo-avatar module's own limit).
MAX_PORTRAIT_BYTES = 25 * 1024 * 1024
MAX_KB_BYTES = 2 * 1024 * 1024
#: The room folder's knowledge base takes at most this many lines (LiveRoom.knowledge_base).
MAX_KB_PAIRS = 200
SAMPLE_LINES = {
    Language.zh: "大家好，欢迎来到直播间！今天给大家带来几款好物，有问题随时在评论区留言。",
    Language.en: "Hi everyone, welcome to the live room! Ask me anything in the comments.",
}
_AVATAR_ID = re.compile(r"^avt_[0-9a-f]{12}$")
_KB_ID = re.compile(r"^kb_[0-9a-f]{12}$")
_VOICE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def cache_dir(settings: Settings, name: str) -> Path:
    folder = settings.home / "cache" / "live_console" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- avatars --------------------------------------------------------------------------------------------------


def rig_looks() -> list[dict[str, str]]:
    """The 2D presenter's looks (``rig:<look>``), ``default`` left out (it is look1)."""
    from adloom.digital_human.avatar.looks import LOOKS

    return [
        {"id": f"rig:{name}", "kind": "rig", "name": look.title}
        for name, look in sorted(LOOKS.items())
        if name != "default"
    ]


def _png(frame: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def rig_thumbnail(settings: Settings, look: str) -> Path:
    """A 180×320 PNG of the look (drawn once, then cached)."""
    from adloom.digital_human.avatar.base import REST
    from adloom.digital_human.avatar.looks import get_look
    from adloom.digital_human.avatar.scene import compose_rig_scene

    get_look(look)
    path = cache_dir(settings, "thumbs") / f"{look}.png"
    if not path.is_file():
        write_atomic(path, _png(compose_rig_scene(look, (180, 320)).frame(0, REST)))
    return path


def _avatar_folder(ts: Settings, avatar_id: str) -> Path:
    if not _AVATAR_ID.match(avatar_id):
        raise NotFoundError(f"no avatar {avatar_id[:80]!r}; list them with GET /v1/live/avatars")
    folder = ts.home / AVATARS_DIR / avatar_id
    if not (folder / AVATAR_META).is_file():
        raise NotFoundError(f"no avatar {avatar_id!r}; list them with GET /v1/live/avatars")
    return folder


def photo_avatars(ts: Settings) -> list[dict[str, Any]]:
    root = ts.home / AVATARS_DIR
    out = []
    for meta in sorted(root.glob(f"avt_*/{AVATAR_META}"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append({"id": f"avatar:{meta.parent.name}", "kind": "photo", "name": data["name"], "ready": data["ready"]})
    return out


def photo_thumbnail(ts: Settings, avatar_id: str) -> Path:
    from PIL import Image

    folder = _avatar_folder(ts, avatar_id)
    thumb = folder / "thumbnail.png"
    if not thumb.is_file():
        [portrait] = sorted(folder.glob("portrait.*"))[:1]
        with Image.open(portrait) as im:
            im.thumbnail((180, 320))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="PNG")
        write_atomic(thumb, buf.getvalue())
    return thumb


def save_portrait(
    ts: Settings, data: bytes, filename: str, *, subject: str, granted_by: str, statement: str
) -> dict[str, Any]:
    """Store a portrait as a photo avatar of this tenant, with the consent record that covers it.

    Consent is checked before anything is written (every field given, the statement saying what was agreed);
    the file is checked by its content (an image Pillow decodes). The face landmarks are found now (the
    mediapipe worker, a few seconds); when the worker is not installed the avatar is stored without them and
    marked not ready, so a room cannot use it until they are added."""
    from adloom.digital_human.avatar.consent import ConsentRecord

    for name, value in (("subject", subject), ("granted_by", granted_by), ("statement", statement)):
        if not value or not value.strip():
            raise InputError(
                f"consent: {name} is missing; a portrait is only stored with the pictured person's consent "
                "(subject, granted_by and statement)",
                field=name,
            )
    if not data:
        raise InputError("image: the file is empty", field="image")
    if len(data) > MAX_PORTRAIT_BYTES:
        raise InputError(f"image: a portrait is at most {MAX_PORTRAIT_BYTES // 1_048_576} MB", field="image")
    found = sniff(data[:64])
    if found is None or found[0] != "image":
        what = "a PDF document" if data.startswith(b"%PDF") else (f"{found[1]} {found[0]}" if found else "not an image")
        raise UnsupportedContentError(
            f"image: {filename[:80]!r} is {what}; upload a photo (png, jpeg or webp) of one face", field="image"
        )
    fmt = found[1]
    _decode_image(data, filename)
    digest = hashlib.sha256(data).hexdigest()
    consent = ConsentRecord(
        subject=subject.strip(),
        granted_by=granted_by.strip(),
        statement=statement.strip(),
        granted_at=utcnow().isoformat(timespec="seconds"),
        portrait_sha256=digest,
    )  # raises ConsentRequiredError (an InputError naming the field) for a statement too short to mean anything
    avatar_id = new_id("avt")
    folder = ts.home / AVATARS_DIR / avatar_id
    folder.mkdir(parents=True, exist_ok=True)
    ext = {"jpeg": "jpg"}.get(fmt, fmt)
    portrait = folder / f"portrait.{ext}"
    write_atomic(portrait, data)
    consent.save(folder)
    ready, note = _landmarks(portrait, folder)
    meta = {"name": subject.strip(), "ready": ready, "note": note, "created_at": utcnow().isoformat()}
    write_atomic(folder / AVATAR_META, json.dumps(meta, ensure_ascii=False))
    return {"id": f"avatar:{avatar_id}", "kind": "photo", "name": meta["name"], "ready": ready, "note": note,
            "consent": json.loads(consent.to_json())}  # fmt: skip


def _decode_image(data: bytes, filename: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size[0] * im.size[1] > 40_000_000:
                raise InputError(f"image: {filename[:80]!r} is too large ({im.size[0]}×{im.size[1]})", field="image")
            im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedContentError(
            f"image: {filename[:80]!r} cannot be decoded as an image ({type(exc).__name__}); export it again as "
            "PNG or JPEG",
            field="image",
        ) from None


def _landmarks(portrait: Path, folder: Path) -> tuple[bool, str]:
    """Find the face now; ``(False, why)`` when the worker is not installed or finds no face (the avatar is
    kept, with its consent, and can be prepared again later)."""
    from adloom.digital_human.avatar.landmarks import portrait_landmarks

    try:
        portrait_landmarks(portrait).save(folder / "landmarks.json")
    except BackendUnavailableError as exc:
        log.warning("photo avatar %s stored without landmarks: %s", folder.name, exc)
        return False, "face landmarks not prepared: the mediapipe worker is not installed on this server"
    except AdloomError as exc:
        return False, f"no usable face found: {str(exc)[:200]}"
    return True, ""


def photo_avatar_dir(ts: Settings, ref: str) -> Path:
    """The folder of ``avatar:<id>`` if it is ready for a room (InputError naming ``avatar`` otherwise)."""
    avatar_id = ref.removeprefix("avatar:")
    try:
        folder = _avatar_folder(ts, avatar_id)
    except NotFoundError as exc:
        raise InputError(f"avatar: {exc}", field="avatar") from None
    meta = json.loads((folder / AVATAR_META).read_text(encoding="utf-8"))
    if not meta.get("ready"):
        raise InputError(
            f"avatar: {ref} cannot present yet ({meta.get('note') or 'not prepared'}); pick a rig look",
            field="avatar",
        )
    return folder


# -- voices ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Voice:
    id: str
    backend: str
    language: str
    name: str


def _backend_voices(name: str) -> list[Voice]:
    from adloom.digital_human.voice import get_tts

    try:
        tts = get_tts(name)
        out = []
        for lang in (Language.zh, Language.en):
            out += [Voice(v, name, lang.value, f"{v} ({name})") for v in tts.voices(lang) if _VOICE.match(v)]
        return out
    except (BackendUnavailableError, InputError, OSError) as exc:
        log.info("voices of %s not listed: %s", name, exc)
        return []


def list_voices() -> list[Voice]:
    """The offline voices this server can speak with: Kokoro's (when its model is set up), then espeak-ng's
    zh and en voices. (Piper's model may be set up, but no Piper TTS backend is registered yet.)"""
    seen: set[str] = set()
    out = []
    for voice in _backend_voices("kokoro") + _backend_voices("espeak"):
        if voice.id not in seen:
            seen.add(voice.id)
            out.append(voice)
    return out


def voice_preview(settings: Settings, voice_id: str, language: Language) -> Path:
    """A WAV of the sample sentence in ``voice_id`` (synthesised once, then cached)."""
    match = next((v for v in list_voices() if v.id == voice_id), None)
    if match is None:
        raise NotFoundError(f"no voice {voice_id[:80]!r}; list them with GET /v1/live/voices")
    path = cache_dir(settings, "voices") / f"{match.backend}-{voice_id}-{language.value}.wav"
    if path.is_file():
        return path
    from adloom.digital_human.voice import get_tts

    audio = get_tts(match.backend).synthesize(SAMPLE_LINES[language], language=language, voice=voice_id)
    write_atomic(path, _wav(audio.samples, audio.sample_rate))
    return path


def _wav(samples: np.ndarray, rate: int) -> bytes:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


# -- knowledge base -------------------------------------------------------------------------------------------

KB_FORMATS = ("txt", "md", "csv", "yaml", "yml", "json")
UTF8_HINT = (
    "save the file as UTF-8 (in Excel: Save As → CSV UTF-8; in Notepad: Save As → Encoding UTF-8) and upload it again"
)


def decode_text(data: bytes, filename: str) -> tuple[str, str]:
    """``data`` as text and the encoding it was in: a BOM first (UTF-8/16/32), then UTF-8, then what
    charset-normalizer finds among the encodings FAQ files come in (GB18030 family, Big5, UTF-16, Latin-1 for
    Western text); anything else is an InputError telling the person to save the file as UTF-8."""
    boms = [(b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
            (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")]  # fmt: skip
    for bom, enc in boms:
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                break
    bad = InputError(f"file: the text encoding of {filename[:80]!r} was not recognised; {UTF8_HINT}", field="file")
    if b"\x00" in data:  # UTF-16/32 without a BOM, or a binary file
        raise bad
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "gbk", "gb2312", "big5", "cp1252", "latin_1"]).best()
    if best is None or best.chaos > 0.2:
        raise bad
    text = str(best)
    if sum(1 for c in text if not c.isprintable() and c not in "\r\n\t") > max(2, len(text) // 100):
        raise bad
    return text, best.encoding


_Q = re.compile(r"^\s*(?:[-*#>\d.)\s]*)(?:Q|问题?|question)\s*[:：.、]\s*(.+)$", re.I)
_A = re.compile(r"^\s*(?:[-*>\s]*)(?:A|答案?|answer)\s*[:：.、]\s*(.+)$", re.I)
_HEAD = re.compile(r"^\s*#{1,6}\s+(.+?)\s*$")


def _pairs_from_data(data: Any) -> list[tuple[str, str]]:
    if isinstance(data, dict):
        if "faq" in data or "questions" in data:
            return _pairs_from_data(data.get("faq", data.get("questions")))
        return [(str(q), str(a)) for q, a in data.items() if not isinstance(a, dict | list)]
    pairs = []
    if isinstance(data, list):
        for row in data:
            if isinstance(row, dict):
                q = next((row[k] for k in ("q", "question", "问", "问题") if k in row), None)
                a = next((row[k] for k in ("a", "answer", "答", "答案") if k in row), None)
                if q is not None and a is not None:
                    pairs.append((str(q), str(a)))
            elif isinstance(row, list | tuple) and len(row) >= 2:
                pairs.append((str(row[0]), str(row[1])))
    return pairs


def _pairs_from_text(text: str) -> list[tuple[str, str]]:
    """``Q: … / A: …`` (or 问：/答：) lines, markdown headings followed by their paragraph, or one
    ``question<TAB|｜|  |>answer`` per line."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    answer: list[str] = []

    def close() -> None:
        nonlocal question, answer
        if question and " ".join(answer).strip():
            pairs.append((question.strip(), " ".join(answer).strip()))
        question, answer = None, []

    for line in text.splitlines():
        if (m := _Q.match(line)) or (m := _HEAD.match(line)):
            close()
            question = m.group(1)
        elif m := _A.match(line):
            answer.append(m.group(1))
        elif question is not None and line.strip():
            answer.append(line.strip())
        elif question is None and line.strip():
            parts = re.split(r"\t|\s*[|｜]\s*", line.strip(), maxsplit=1)
            if len(parts) == 2 and all(p.strip() for p in parts):
                pairs.append((parts[0].strip(), parts[1].strip()))
    close()
    return pairs


def parse_faq(text: str, fmt: str) -> list[tuple[str, str]]:
    if fmt in ("json", "yaml", "yml"):
        try:
            data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise InputError(f"file: not valid {fmt.upper()} ({str(exc)[:200]})", field="file") from None
        return _pairs_from_data(data)
    if fmt == "csv":
        rows = [r for r in csv.reader(io.StringIO(text)) if len(r) >= 2 and r[0].strip() and r[1].strip()]
        if rows and rows[0][0].strip().lower() in ("q", "question", "问", "问题"):
            rows = rows[1:]
        return [(r[0].strip(), r[1].strip()) for r in rows]
    return _pairs_from_text(text)


def kb_line(question: str, answer: str, language: Language) -> str:
    """One knowledge-base line of the room (the answerer grounds on these): the question, then the answer."""
    sep = "？" if language == Language.zh else "? "
    q = question.rstrip("?？ ")
    return f"{q}{sep}{answer}"[:400]


def save_knowledge(ts: Settings, data: bytes, filename: str, language: Language) -> dict[str, Any]:
    """Decode and parse an FAQ file, store its pairs as ``live_kb/<kb id>.json``; the answer lists them with
    the room's knowledge-base lines."""
    fmt = Path(filename or "faq.txt").suffix.lower().lstrip(".") or "txt"
    if fmt not in KB_FORMATS:
        raise InputError(
            f"file: {filename[:80]!r} is not an FAQ file; upload .txt, .md, .csv, .yaml or .json", field="file"
        )
    if not data.strip():
        raise InputError("file: the file is empty", field="file")
    if len(data) > MAX_KB_BYTES:
        raise InputError(f"file: an FAQ file is at most {MAX_KB_BYTES // 1_048_576} MB", field="file")
    text, encoding = decode_text(data, filename)
    pairs = [(q[:200], a[:380]) for q, a in parse_faq(text, fmt) if q.strip() and a.strip()]
    if not pairs:
        raise InputError(
            f"file: no question/answer pairs found in {filename[:80]!r}; write 'Q: question' and 'A: answer' lines "
            "(or 问：/答：), or a CSV of question,answer",
            field="file",
        )
    kept = pairs[:MAX_KB_PAIRS]
    kb: dict[str, Any] = {
        "id": new_id("kb"),
        "filename": safe_filename(filename or "faq", max_len=120),
        "encoding": encoding,
        "created_at": utcnow().isoformat(),
        "pairs": [{"q": q, "a": a} for q, a in kept],
        "truncated": len(pairs) > MAX_KB_PAIRS,
        "lines": [kb_line(q, a, language) for q, a in kept],
    }
    folder = ts.home / KB_DIR
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{kb['id']}.json", json.dumps(kb, ensure_ascii=False))
    return kb


def get_knowledge(ts: Settings, kb_id: str) -> dict[str, Any]:
    path = ts.home / KB_DIR / f"{kb_id}.json"
    if not _KB_ID.match(kb_id) or not path.is_file():
        raise NotFoundError(f"no knowledge base {kb_id[:80]!r}; upload one with POST /v1/live/knowledge")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# -- live script ----------------------------------------------------------------------------------------------


def write_script(
    name: str, products: list[Product], language: Language, industry: Industry, seed: int = 0
) -> dict[str, Any]:
    """The room's live script as the room writes it (the template writer), as editable segments, each with
    its advertising-law findings."""
    from adloom.scripts_gen.live_script import LiveScriptWriter

    room = LiveRoom(id="room_script", name=name, language=language, products=products)
    script = LiveScriptWriter(None).write(room, industry=industry, seed=seed)
    segments = [
        {"id": line.id, "section": "opening", "kind": str(line.kind), "text": line.text} for line in script.opening
    ]
    for block in script.products:
        segments += [
            {"id": line.id, "section": block.product_name, "kind": str(line.kind), "text": line.text}
            for line in block.lines
        ]
    return {"segments": check_segments(segments, language, industry)}


def check_segments(segments: list[dict[str, Any]], language: Language, industry: Industry) -> list[dict[str, Any]]:
    """Each segment with ``findings`` (term, rule, suggestion) and ``fixed``: the line with every suggestion
    applied (``None`` when nothing compliant is left of it; equal to the text when it is clean)."""
    from adloom.scripts_gen.compliance import ComplianceChecker

    checker = ComplianceChecker()
    out = []
    for seg in segments:
        text = str(seg["text"])
        found = checker.check(text, language=language, industry=industry, field=str(seg["id"]))
        fixed = checker.rewrite(text, language=language, industry=industry)[0] if found else text
        findings = [f.model_dump(include={"term", "rule_id", "rule", "suggestion", "start", "end"}) for f in found]
        out.append({**seg, "findings": findings, "fixed": fixed})
    return out


def save_edited_script(rf: Any, edits: dict[str, str], path: Path) -> Path:
    """The room's script as the room would write it, with ``edits`` (line id → text) applied, each edited
    line rewritten by the advertising-law checker, adopted (so it would be spoken), saved at ``path``."""
    from adloom.scripts_gen.compliance import ComplianceChecker
    from adloom.scripts_gen.live_script import LiveScriptWriter, save_live_script

    writer = LiveScriptWriter(None)
    script = writer.write(rf.room, industry=rf.preset.industry, seed=0)
    language, industry = Language(rf.room.language), Industry(rf.preset.industry)
    checker = ComplianceChecker()
    known = {line.id for line in script.lines()}
    unknown = sorted(set(edits) - known)
    if unknown:
        raise InputError(
            f"script_edits: no line {unknown[0]!r} in this room's script; take the ids from POST /v1/live/scripts "
            "with the room's name, products, language and industry",
            field="script_edits",
        )

    def edit(line: Any) -> Any:
        if line.id not in edits:
            return line
        text, _ = checker.rewrite(edits[line.id], language=language, industry=industry)
        if not text or not text.strip():
            raise InputError(
                f"script_edits.{line.id}: nothing of the line may be said under advertising law; reword it",
                field=f"script_edits.{line.id}",
            )
        return line.model_copy(update={"text": text.strip(), "variants": []})

    opening = [edit(line) for line in script.opening]
    blocks = [b.model_copy(update={"lines": [edit(line) for line in b.lines]}) for b in script.products]
    script = script.model_copy(update={"opening": opening, "products": blocks})
    try:
        writer.adopt(script, rf.room.products)
    except AdloomError as exc:
        raise InputError(f"script_edits: {exc}", field="script_edits") from None
    return save_live_script(script, path)


# -- 10 s preview ---------------------------------------------------------------------------------------------


def render_preview(room_folder: Path, seconds: float = 10.0) -> Path:
    """About ``seconds`` of the room rendered offline into ``preview.mp4`` in its folder: the room's avatar
    (look or photo) over its background with its product cards, speaking the script's first lines in its
    voice, lip-synced from the audio. The same parts the live session uses, without its real-time loop."""
    from adloom.digital_human.avatar.audio_mouth import audio_mouth_track
    from adloom.digital_human.avatar.base import REST
    from adloom.digital_human.avatar.presets import make_avatar
    from adloom.digital_human.avatar.scene import ProductCard
    from adloom.digital_human.live.outputs import ffmpeg_exe
    from adloom.digital_human.voice import speak_lines
    from adloom.serving.rooms.runtime import room_script
    from adloom.serving.rooms.schema import ROOM_FILE, load_room, room_roots

    rf = load_room(room_folder / ROOM_FILE)
    room = rf.room
    language = Language(room.language)
    script = room_script(rf, None)
    lines = [line.text for line in script.lines()][:4]
    audios = speak_lines(lines, language=language, voice=None if room.voice == "default" else room.voice)
    rate = 24_000
    from adloom.digital_human.voice.base import resample

    gap = np.zeros(int(rate * 0.25), dtype=np.float32)
    parts: list[np.ndarray] = []
    for a in audios:
        parts += [resample(a.samples, a.sample_rate, rate), gap]
    samples = np.concatenate(parts)[: int(rate * seconds)] if parts else np.zeros(int(rate * seconds), np.float32)
    if len(samples) < rate * seconds:
        samples = np.concatenate([samples, np.zeros(int(rate * seconds) - len(samples), np.float32)])
    fps, size = 25, (360, 640)
    cards = [ProductCard(p.name, p.price_text(language) or None) for p in room.products[:3]]
    spec = room.avatar if ":" in room.avatar else f"rig:{room.avatar}"
    avatar = make_avatar(spec, size=size, fps=fps, cards=cards, background=room.background,
                         roots=room_roots(room_folder))  # fmt: skip
    mouths = audio_mouth_track(samples, rate, fps)
    n = int(seconds * fps)
    out = room_folder / PREVIEW_MP4
    with tempfile.TemporaryDirectory(dir=room_folder) as tmp:
        wav = Path(tmp) / "voice.wav"
        wav.write_bytes(_wav(samples, rate))
        part = Path(tmp) / "preview.mp4"
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", str(fps), "-i", "-",
               "-i", str(wav), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", "96k", "-shortest", "-movflags", "+faststart", str(part)]  # fmt: skip
        log_path = Path(tmp) / "ffmpeg.log"
        with log_path.open("wb") as err_log:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=err_log)
            assert proc.stdin is not None
            try:
                for i in range(n):
                    pose = mouths[i] if i < len(mouths) else REST
                    proc.stdin.write(np.ascontiguousarray(avatar.frame(i, pose), dtype=np.uint8).tobytes())
                proc.stdin.close()
                proc.wait(timeout=120)
            except BaseException:
                proc.kill()
                raise
        if proc.returncode != 0:
            err = log_path.read_text(errors="replace")[-300:]
            raise GenerationError(f"the preview could not be encoded: {err}")
        part.replace(out)
    return out


# -- what a running room shows ----------------------------------------------------------------------------------

_HLS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(m3u8|ts|m4s|mp4)$")


def hls_file(room_folder: Path, preview_dir: str, name: str) -> Path:
    """A file of the room's HLS preview; only plain names of playlist/segment files inside the preview
    folder (no path, no dot files): anything else is not there (NotFoundError)."""
    if not _HLS_NAME.match(name):
        raise NotFoundError(f"no preview file {name[:80]!r}; the playlist is index.m3u8")
    folder = (room_folder / preview_dir).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise NotFoundError(f"no preview file {name!r} (yet); the room writes index.m3u8 once it is live")
    return path


def snapshot(room_folder: Path, preview_dir: str, width: int = 360) -> bytes:
    """A JPEG of the newest frame the room has streamed: the first frame of its newest HLS segment (a segment
    is 1–2 s, so it is that old at most)."""
    from adloom.digital_human.live.outputs import ffmpeg_exe

    folder = room_folder / preview_dir
    segments = sorted(folder.glob("*.ts"), key=lambda p: p.stat().st_mtime)
    for seg in reversed(segments[-3:]):  # the newest may still be being written
        try:
            proc = subprocess.run(
                [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(seg),
                 "-frames:v", "1", "-vf", f"scale={width}:-2", "-f", "image2", "-c:v", "mjpeg", "-"],
                capture_output=True, timeout=15, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0 and proc.stdout.startswith(b"\xff\xd8"):
            return proc.stdout
    raise NotFoundError("the room has not streamed a frame yet; its preview starts a few seconds after it goes live")


def read_events(room_folder: Path, after: int, limit: int = 200) -> list[dict[str, Any]]:
    """The room's events with ``seq > after`` (oldest first, at most ``limit``)."""
    from adloom.serving.rooms.runtime import EVENTS_FILE

    rows: list[dict[str, Any]] = []
    path = room_folder / EVENTS_FILE
    for p in (path.with_suffix(".1.jsonl"), path):
        try:
            raw = p.read_bytes().splitlines()
        except OSError:
            continue
        for line in raw:
            try:
                row = json.loads(line)
            except ValueError:  # a line being written
                continue
            if isinstance(row, dict) and int(row.get("seq", 0)) > after:
                rows.append(row)
    rows.sort(key=lambda r: int(r["seq"]))
    return rows[:limit]
