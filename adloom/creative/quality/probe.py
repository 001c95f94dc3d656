"""Container and stream facts of a media file, read by a decoder independent of the renderer.

The renderer writes MP4s with the static ffmpeg binary from imageio-ffmpeg. The gate must not trust that
same binary to judge its own output, and imageio-ffmpeg ships no ffprobe anyway. PyAV (``av`` on PyPI, the
``quality`` extra) bundles its own build of the FFmpeg libraries inside its wheel, so it is a second,
separately built demuxer and decoder; it installs from a binary wheel with no system packages. This module
reads only headers (no decoding); :mod:`adloom.creative.quality.scan` decodes the frames.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

from adloom.core.errors import BackendUnavailableError, InputError, UnsupportedContentError

INSTALL_HINT = "pip install 'adloom[quality]'  (installs av==18.1.0, PyAV with its own FFmpeg libraries)"


def require_av() -> ModuleType:
    """Import PyAV on first use, so importing adloom never loads it and a missing extra says what to install."""
    try:
        import av
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendUnavailableError(
            f"the quality gate needs PyAV (the 'av' package), which is not installed: {exc}. Run: {INSTALL_HINT}"
        ) from exc
    return av


def require_file(path: Path, *, field: str = "path") -> Path:
    """Resolve ``path`` and require that something exists there; a missing path is the caller's mistake."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise InputError(f"{field}: {path!s} does not exist; pass the path of the rendered video file", field=field)
    return resolved


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    """A stream timestamp in seconds, or None where the container does not state it."""
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _rate(value: Fraction | None) -> float | None:
    """A frame rate as a float, or None when unknown or zero."""
    if value is None or value == 0:
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def _stream_facts(stream: Any) -> dict[str, Any]:
    """What the headers say about one stream: codec, geometry or sample layout, timing."""
    ctx = stream.codec_context
    facts: dict[str, Any] = {
        "index": stream.index,
        "type": stream.type,
        "codec": ctx.name if ctx is not None else None,
        "profile": getattr(ctx, "profile", None),
        "time_base": str(stream.time_base) if stream.time_base is not None else None,
        "start_time_s": _seconds(stream.start_time, stream.time_base),
        "duration_s": _seconds(stream.duration, stream.time_base),
        "frames": int(stream.frames or 0),
        "bit_rate": getattr(ctx, "bit_rate", None) or None,
    }
    if stream.type == "video":
        facts.update(
            width=int(ctx.width or 0),
            height=int(ctx.height or 0),
            pix_fmt=ctx.pix_fmt,
            fps=_rate(stream.average_rate) or _rate(stream.guessed_rate),
        )
    elif stream.type == "audio":
        facts.update(
            sample_rate=int(ctx.sample_rate or 0),
            channels=int(ctx.channels or 0),
            sample_fmt=ctx.format.name if ctx.format is not None else None,
        )
    return facts


def probe(path: Path) -> dict[str, Any]:
    """Container and per-stream facts of ``path``, like ``ffprobe -show_format -show_streams``.

    Returns ``{"path", "format", "size_bytes", "duration_s", "bit_rate", "metadata", "streams": [...]}`` where
    ``metadata`` holds the container's tags (``title``, ``comment``, our ``aigc`` label…) and each
    stream has ``index, type, codec, profile, time_base, start_time_s, duration_s, frames, bit_rate`` plus
    ``width, height, pix_fmt, fps`` (video) or ``sample_rate, channels, sample_fmt`` (audio).

    Raises:
        InputError: nothing exists at ``path``.
        UnsupportedContentError: the file exists but no demuxer can read it (not a media file, truncated,
            a folder).
        BackendUnavailableError: PyAV is not installed.
    """
    resolved = require_file(path)
    av = require_av()
    try:
        container = av.open(str(resolved), mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise UnsupportedContentError(
            f"path: {path!s} could not be read as a media file ({exc}); pass an MP4 the renderer wrote",
            field="path",
        ) from exc
    try:
        duration = container.duration
        return {
            "path": str(resolved),
            "format": container.format.name,
            "size_bytes": resolved.stat().st_size if resolved.is_file() else 0,
            "duration_s": float(duration) / 1_000_000 if duration is not None else None,  # AV_TIME_BASE units
            "bit_rate": container.bit_rate or None,
            "metadata": {str(k): str(v) for k, v in container.metadata.items()},
            "streams": [_stream_facts(s) for s in container.streams],
        }
    finally:
        container.close()
