"""A room's ``outputs`` strings: parsing them, checking their paths, building the media session's specs.

``rtmp://…`` / ``rtmps://…`` push to a platform (the last path segments are the stream key, a secret:
:func:`stream_secrets` lists them so the room's logs can be scrubbed), ``hls:FOLDER`` is a preview,
``file:PATH.mp4`` a recording, ``null`` encodes and discards. Relative paths land in the room's state
folder (the first of ``roots``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from adloom.core.errors import InputError
from adloom.core.paths import resolve_inside

if TYPE_CHECKING:  # the media stack is imported only when a room streams
    from adloom.digital_human.live.outputs import OutputSpec

OutputKind = Literal["rtmp", "hls", "file", "null"]


def parse_output(out: str, index: int) -> tuple[OutputKind, str]:
    """``(kind, value)`` of ``outputs[index]``; an unknown form is an error naming the entry."""
    o = out.strip()
    if o.startswith(("rtmp://", "rtmps://")):
        return "rtmp", o
    if o.startswith("hls:") and o[4:]:
        return "hls", o[4:]
    if o.startswith("file:") and o[5:]:
        return "file", o[5:]
    if o == "null":
        return "null", ""
    raise InputError(
        f"outputs[{index}]: {out!r} is not an output; use rtmp://host/app/key, hls:FOLDER, file:PATH.mp4 or null",
        field=f"outputs[{index}]",
    )


def check_outputs(outputs: list[str], roots: list[Path]) -> list[tuple[OutputKind, str | Path]]:
    """Every output parsed, with its path resolved inside ``roots`` (nothing is created)."""
    checked: list[tuple[OutputKind, str | Path]] = []
    for i, out in enumerate(outputs):
        kind, value = parse_output(out, i)
        if kind in ("hls", "file"):
            checked.append((kind, resolve_inside(value, roots, field=f"outputs[{i}]")))
        else:
            checked.append((kind, value))
    return checked


def output_specs(outputs: list[str], roots: list[Path]) -> list[OutputSpec]:
    """The room's ``outputs`` as the media session's OutputSpecs; paths resolved inside ``roots``."""
    from adloom.digital_human.live.outputs import OutputSpec

    specs = []
    for kind, value in check_outputs(outputs, roots):
        if kind == "rtmp":
            specs.append(OutputSpec.rtmp(str(value)))
        elif kind == "hls":
            specs.append(OutputSpec.hls(value))
        elif kind == "file":
            Path(value).parent.mkdir(parents=True, exist_ok=True)
            specs.append(OutputSpec.mp4(value))
        else:
            specs.append(OutputSpec.null())
    return specs


def stream_secrets(outputs: list[str]) -> list[str]:
    """The secret parts of the room's RTMP outputs (each URL and its stream key), for log scrubbing."""
    found: list[str] = []
    for out in outputs:
        o = out.strip()
        if not o.startswith(("rtmp://", "rtmps://")):
            continue
        found.append(o)
        segments = [s for s in urlsplit(o).path.split("/") if s]
        if len(segments) >= 2:  # rtmp://host/app/<key>: everything after the application name
            found.append("/".join(segments[1:]))
    return found
