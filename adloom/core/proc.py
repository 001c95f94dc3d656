"""Running external tools (ffmpeg, helper venvs) with a deadline proportional to their work.

A hung ffmpeg (a stalled pipe, a pathological input) must not hang a render job or a worker forever.
Every bounded call goes through :func:`run_tool` (or :func:`deadline` for a process whose output is read
while it runs) with a timeout from :func:`tool_timeout`: a floor for starting up plus a share per second
of media and per frame handled. On timeout the process is killed and :class:`ToolTimeoutError` names
what the call was for and on which input. Long-running streaming encoders (live RTMP/HLS outputs, the
room process) are not bounded here: they run for as long as the room and are supervised by it.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adloom.core.errors import ToolTimeoutError

#: Every tool call gets at least this long: starting the process, probing and opening files on a busy machine.
TOOL_FLOOR_S = 60.0
#: Seconds allowed per second of media handled. A CPU encode of our renders runs ~0.5-3x real time on a
#: shared two-core machine; 20x leaves room for a far slower one while still catching a hang.
TOOL_S_PER_MEDIA_S = 20.0
#: Seconds allowed per video frame decoded or analysed when the media's duration is unknown.
TOOL_S_PER_FRAME = 1.0


def tool_timeout(media_s: float = 0.0, *, frames: int = 0) -> float:
    """The deadline for a tool call handling ``media_s`` seconds of media and/or ``frames`` frames."""
    return TOOL_FLOOR_S + TOOL_S_PER_MEDIA_S * max(0.0, media_s) + TOOL_S_PER_FRAME * max(0, frames)


def run_tool(
    cmd: Sequence[str | Path], *, purpose: str, subject: str | Path, timeout_s: float, **kwargs: Any
) -> subprocess.CompletedProcess[Any]:
    """:func:`subprocess.run` (``check=False``) that kills the tool after ``timeout_s`` and raises
    :class:`ToolTimeoutError` naming ``purpose`` (e.g. "ffmpeg encoding the video") and ``subject``
    (the input). ``kwargs`` go to :func:`subprocess.run` (``capture_output``, ``input``, ``text`` ...)."""
    try:
        return subprocess.run([str(c) for c in cmd], timeout=timeout_s, check=False, **kwargs)
    except subprocess.TimeoutExpired:
        # from None: the TimeoutExpired text repeats the whole command line, inputs and all.
        raise ToolTimeoutError(purpose, str(subject), timeout_s) from None


@contextmanager
def deadline(proc: subprocess.Popen[Any], *, purpose: str, subject: str | Path, timeout_s: float) -> Iterator[None]:
    """Kill ``proc`` if the ``with`` body (reading its output, waiting for it) outlasts ``timeout_s``; then
    raise :class:`ToolTimeoutError`. For a tool whose progress is read while it runs."""
    fired = threading.Event()

    def _kill() -> None:
        fired.set()
        proc.kill()

    timer = threading.Timer(timeout_s, _kill)
    timer.daemon = True
    timer.start()
    try:
        yield
    except BaseException:
        if fired.is_set():  # the kill broke the body's read or wait: report the timeout, not that
            raise ToolTimeoutError(purpose, str(subject), timeout_s) from None
        raise
    finally:
        timer.cancel()
    if fired.is_set():
        proc.wait()
        raise ToolTimeoutError(purpose, str(subject), timeout_s)
