"""What a file is, by its content, and its stream facts: the gate every asset passes before analysis.

A file is recognised by its first bytes (:func:`adloom.core.paths.sniff`), never by its name: a PDF
renamed ``.jpg`` is refused as a PDF. Anything the decoders cannot open, a clip without a video
stream, a 1x1 image, an image bomb or a clip over the duration limit is an
:class:`~adloom.core.errors.InputError` that names the file and says what to do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adloom.core.errors import InputError, UnsupportedContentError
from adloom.core.paths import sniff
from adloom.creative.assets.model import AnalysisLimits, AssetKind

__all__ = ["Probe", "open_video", "probe_asset", "upright"]

#: First bytes of formats people mistake for media, for a message that says what the file really is.
_NOT_MEDIA = [
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"{", "JSON text"),
    (b"<", "HTML/XML text"),
]


@dataclass
class Probe:
    """Header facts of one asset (sizes are display sizes, after rotation)."""

    path: Path
    kind: AssetKind
    fmt: str
    size_bytes: int
    width: int
    height: int
    rotation: int = 0  # clockwise degrees applied for display
    duration_s: float = 0.0
    fps: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _what_it_is(head: bytes) -> str:
    for magic, what in _NOT_MEDIA:
        if head.lstrip()[: len(magic)] == magic:
            return what
    found = sniff(head)
    return f"{found[1]} {found[0]}" if found else "not a recognised image or video"


def upright(arr: Any, ccw_rotation: int) -> Any:
    """A decoded frame (H, W, C) turned the way the display matrix says (``ccw_rotation``: PyAV's
    ``frame.rotation``, degrees counter-clockwise), so it looks as the phone showed it."""
    import numpy as np

    k = (round(ccw_rotation / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(arr, k=k)) if k else arr


def _why(exc: BaseException, path: Path) -> str:
    """What FFmpeg or Pillow said, without the errno and the full path it adds (the message names the file)."""
    said = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return str(said).replace(f": '{path}'", "").replace(str(path), path.name)


def open_video(path: Path) -> Any:
    """A PyAV container for ``path``; a file FFmpeg cannot parse is an InputError naming it."""
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"{path.name}: cannot be read as a video ({_why(exc, path)}); the file is damaged or "
            "truncated (an interrupted upload or copy?): re-export or re-upload it"
        ) from exc


def _probe_image(path: Path, fmt: str, size: int, limits: AnalysisLimits) -> Probe:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = None  # our own limit below gives the readable message
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > limits.max_pixels:
                raise InputError(
                    f"{path.name}: image is {w}x{h} ({w * h / 1e6:.0f} MP), over the {limits.max_pixels / 1e6:.0f} MP "
                    "limit; downscale it (4096 px on the long side is plenty for an ad)"
                )
            exif_rot = {3: 180, 6: 90, 8: 270}.get(im.getexif().get(0x0112, 1), 0)
            im = ImageOps.exif_transpose(im)
            w, h = im.size
            im.load()  # decodes: a truncated or corrupt file fails here, not later
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            f"{path.name}: looks like a {fmt} image but cannot be decoded ({_why(exc, path)}); the file is damaged "
            "or truncated: re-export it as PNG or JPEG"
        ) from exc
    if min(w, h) < limits.min_side:
        raise InputError(
            f"{path.name}: image is only {w}x{h} px (a tracking pixel or a placeholder?); use a real photo at least "
            f"{limits.min_side} px on each side (1080 px or more looks good in an ad)"
        )
    return Probe(path=path, kind=AssetKind.photo, fmt=fmt, size_bytes=size, width=w, height=h, rotation=exif_rot)


def _probe_video(path: Path, fmt: str, size: int, limits: AnalysisLimits) -> Probe:
    import av

    with open_video(path) as container:
        if not container.streams.video:
            has_audio = bool(container.streams.audio)
            raise InputError(
                f"{path.name}: has no video stream{' (audio only)' if has_audio else ''}; "
                "upload it as music/voice-over, "
                "or pick the clip it belongs to"
            )
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        if duration <= 0 and container.duration:
            duration = container.duration / 1_000_000
        if not math.isfinite(duration) or duration < 0:
            duration = 0.0
        if duration > limits.max_duration_s:
            raise InputError(
                f"{path.name}: clip is {duration / 3600:.1f} h long, over the {limits.max_duration_s / 3600:g} h "
                "analysis limit; trim it to the parts you want in ads (ffmpeg -ss START -t LENGTH -i IN -c copy OUT), "
                "or raise the limit (setting asset_max_hours, env ADLOOM_ASSET_MAX_HOURS)"
            )
        try:
            first = next(container.decode(stream), None)
        except (av.error.FFmpegError, ValueError) as exc:
            raise InputError(
                f"{path.name}: its video cannot be decoded ({_why(exc, path)}); the file is damaged or uses a codec "
                "FFmpeg cannot read: re-export it as H.264 MP4"
            ) from exc
        if first is None:
            raise InputError(f"{path.name}: the video stream holds no frames; re-export the clip")
        w, h = first.width, first.height
        ccw = int(getattr(first, "rotation", 0) or 0)
    if w * h > limits.max_pixels:
        raise InputError(f"{path.name}: frames are {w}x{h}, over the pixel limit; downscale the clip (1080p is plenty)")
    if min(w, h) < limits.min_side:
        raise InputError(f"{path.name}: frames are only {w}x{h} px; use a real clip (720p or more looks good)")
    rotation = (-ccw) % 360
    if rotation in (90, 270):
        w, h = h, w
    return Probe(path=path, kind=AssetKind.clip, fmt=fmt, size_bytes=size, width=w, height=h, rotation=rotation,
                 duration_s=duration, fps=fps)  # fmt: skip


def probe_asset(path: Path, limits: AnalysisLimits | None = None) -> Probe:
    """Recognise ``path`` by content and read its stream facts; raises InputError (or its subclass
    UnsupportedContentError) naming the file and the fix for anything that is not an analysable asset."""
    limits = limits or AnalysisLimits()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; check the path")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({_why(exc, path)}); check its permissions") from exc
    if size == 0:
        raise InputError(f"{path.name}: is empty (0 bytes); re-upload it")
    if size > limits.max_file_bytes:
        raise InputError(
            f"{path.name}: is {size / 1024**3:.1f} GiB, over the {limits.max_file_bytes / 1024**3:.1f} GiB limit; "
            "trim or re-encode it"
        )
    found = sniff(head)
    if found is not None and found[0] == "audio":
        raise InputError(
            f"{path.name}: is {found[1]} audio with no picture; upload it as music/voice-over, not as footage"
        )
    if found is not None and found[0] == "image":
        return _probe_image(path, found[1], size, limits)
    if found is not None and found[0] == "video":
        return _probe_video(path, found[1], size, limits)
    what = _what_it_is(head)
    if what == "not a recognised image or video" and path.suffix.lower() in {".mov", ".mkv", ".avi", ".ts", ".m4v"}:
        return _probe_video(path, path.suffix.lower().lstrip("."), size, limits)  # FFmpeg knows more containers
    raise UnsupportedContentError(
        f"{path.name}: content is {what}, whatever its name says; upload a photo (PNG, JPEG, WebP) or a video "
        "(MP4/MOV, WebM)"
    )
