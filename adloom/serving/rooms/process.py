"""Room processes seen from the CLI: start one in the background, find it, talk to it, stop it.

``start_room`` launches ``python -m adloom.serving.rooms run <state dir>/room.yaml <state dir>``
detached, and waits until its control API answers. The room writes ``run.json`` (pid, port, token, and
the process's identity: its start time and command line from ``/proc``). A pid is trusted only while
that identity still matches, so a room that died and whose pid the system gave to another process is
reported as stopped, and that other process is never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from adloom.core.errors import AdloomError, BackendUnavailableError, InputError, NotFoundError
from adloom.core.paths import safe_filename
from adloom.core.redact import redact
from adloom.core.settings import Settings, get_settings
from adloom.serving.rooms.outputs import stream_secrets
from adloom.serving.rooms.schema import (
    ROOM_FILE,
    RUN_FILE,
    STATE_FILE,
    RoomFile,
    define_room,
    load_room,
    room_dir,
    rooms_root,
)

TOKEN_HEADER = "X-Adloom-Token"
#: Where the room process's stdout/stderr go (truncated at each start): only what escapes its
#: rotating room.log, such as an interpreter crash before logging is set up.
ROOM_OUT = "room.out"


@dataclass(frozen=True)
class RunInfo:
    room_id: str
    pid: int
    port: int
    token: str
    folder: Path
    identity: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def process_identity(pid: int) -> str | None:
    """``"<start time> <command line>"`` of process ``pid`` from ``/proc``; None when it does not exist
    (or there is no ``/proc``). A recycled pid gets a new start time, so the pair names one process."""
    proc = Path("/proc") / str(pid)
    try:
        stat = (proc / "stat").read_text(encoding="utf-8", errors="replace")
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", errors="replace").strip()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) ": field 3 (state) onwards
    return f"{fields[19]} {cmdline}"  # field 22: start time in clock ticks since boot


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


def is_our_room(info: RunInfo) -> bool:
    """Whether ``info.pid`` is still the room process that wrote run.json (alive, same identity)."""
    if not _pid_alive(info.pid):
        return False
    if info.identity is None:  # only a system without /proc records none; there the pid is all we have
        return not Path("/proc/self").exists()
    return process_identity(info.pid) == info.identity


def _signal_room(info: RunInfo, sig: signal.Signals) -> bool:
    """Send ``sig`` to the room process only if its pid still belongs to it; returns whether it was sent."""
    if not is_our_room(info):
        return False
    os.kill(info.pid, sig)
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


def read_run_file(folder: Path) -> RunInfo | None:
    """What run.json in ``folder`` says, whether or not that process still runs."""
    try:
        data = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        identity = data.get("identity")
        return RunInfo(
            data["room_id"], int(data["pid"]), int(data["port"]), str(data["token"]), folder,
            str(identity) if identity is not None else None,
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def run_info(room_id: str, settings: Settings | None = None) -> RunInfo | None:
    """The running room's run.json, or None when it is not running (no file, or its pid is no longer it)."""
    info = read_run_file(room_dir(room_id, settings))
    return info if info is not None and is_our_room(info) else None


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
        field = None
        try:
            answer = json.loads(exc.read())
            detail, field = answer.get("detail"), answer.get("field")
        except (ValueError, AttributeError):
            detail = exc.reason
        if exc.code in (400, 422):
            raise InputError(
                f"room {info.room_id}: {detail}", field=field if isinstance(field, str) else None
            ) from None
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


def _start_failure_tail(folder: Path, outputs: list[str]) -> str:
    """The end of what the room wrote before it died, stream keys masked."""
    text = ""
    for name in (ROOM_OUT, "room.log"):
        try:
            text += (folder / name).read_text(encoding="utf-8", errors="replace")[-1500:]
        except OSError:
            pass
    return redact(text, stream_secrets(outputs))


def start_room(
    ref: str | Path | RoomFile,
    *,
    settings: Settings | None = None,
    wait_s: float = 60.0,
    progress: Callable[[str], None] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> RunInfo:
    """Validate the room, store it with its assets, launch its background process and wait until its API answers.

    The process gets ``settings.home`` and ``settings.models`` as ``ADLOOM_HOME`` / ``ADLOOM_MODEL_DIR``
    (a tenant's rooms run with the tenant's folder as home and still find the deployment's models), plus
    ``extra_env``."""
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
    cmd = [sys.executable, "-m", "adloom.serving.rooms", "run", str(folder / ROOM_FILE), str(folder)]
    if progress:
        progress(f"starting room {rf.room_id}")
    with (folder / ROOM_OUT).open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={
                **os.environ,
                "ADLOOM_HOME": str(settings.home),
                "ADLOOM_MODEL_DIR": str(settings.models),
                **(extra_env or {}),
            },
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = _start_failure_tail(folder, rf.room.outputs)
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
    raise BackendUnavailableError(
        f"room {rf.room_id} did not come up within {wait_s:.0f}s; see {folder / 'room.log'} and {folder / ROOM_OUT}"
    )


def stop_room(ref: str, *, settings: Settings | None = None, wait_s: float = 90.0) -> dict[str, Any]:
    """Ask a running room to stop (it saves its position), then make sure its process is gone.

    Signals go only to the process that is still our room (:func:`is_our_room`), checked right before
    each one."""
    room_id = resolve_room_ref(ref, settings)
    info = _require_running(room_id, settings)
    try:
        call(info, "POST", "/stop", {}, timeout=5.0)
    except AdloomError:
        _signal_room(info, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while is_our_room(info) and time.monotonic() < deadline:
        time.sleep(0.1)
    forced = _signal_room(info, signal.SIGKILL)
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
                out.append({"room_id": rid, "running": True, "error": redact(str(exc))})
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
    return cast(dict[str, Any], call(info, "POST", "/say", {"text": text}))


def comment(ref: str, viewer: str, text: str, *, settings: Settings | None = None) -> dict[str, Any]:
    info = _require_running(resolve_room_ref(ref, settings), settings)
    return cast(dict[str, Any], call(info, "POST", "/comment", {"viewer": viewer, "text": text}))
