"""Uploads: one image, video or audio file per request, recognised by its content (never its name or its
declared type), images decoded under a pixel cap, stored as ``<tenant>/uploads/<upload id>.<format>``."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Annotated, BinaryIO

from fastapi import APIRouter, File, UploadFile, status

from adloom.core.errors import InputError, UnsupportedContentError
from adloom.core.paths import sniff
from adloom.core.types import Upload, new_id
from adloom.serving.api.deps import SettingsDep, StoreDep
from adloom.serving.api.errors import CONFLICT, NOT_FOUND, UNSUPPORTED
from adloom.serving.render_pipeline import MAX_IMAGE_PIXELS
from adloom.serving.tenant_files import tenant_subdir

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

_CHUNK = 1 << 20
ACCEPTED = ("image", "video", "audio")


def _what(head: bytes) -> str:
    """A name for content we refuse, for the error message."""
    text = head.lstrip()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "a zip archive (archives are not accepted: upload each media file on its own)"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf")):
        return "a compressed archive (archives are not accepted: upload each media file on its own)"
    if text[:1] == b"<":
        return "HTML/XML text"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    return "not a recognised image, video or audio file"


def _copy(src: BinaryIO, dest: Path, limit: int) -> tuple[int, str, bytes]:
    """Copy ``src`` to ``dest`` with its size, SHA-256 and first bytes; over ``limit`` bytes is an error."""
    digest, size, head = hashlib.sha256(), 0, b""
    with dest.open("wb") as out:
        while chunk := src.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise InputError(
                    f"the file is over the upload limit of {limit / 1_048_576:.0f} MB; upload a smaller file",
                    field="file",
                )
            if len(head) < 64:
                head += chunk[: 64 - len(head)]
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest(), head


_STRICT = threading.Lock()


def _check_image(path: Path, name: str) -> None:
    from PIL import Image, ImageFile, UnidentifiedImageError

    def too_big(size: str) -> InputError:
        return InputError(
            f"{name}: the image is {size} pixels, over the {MAX_IMAGE_PIXELS:,}-pixel limit (a decompression "
            "bomb, or far larger than an ad needs); scale it down and upload it again",
            field="file",
        )

    try:
        with Image.open(path) as im:  # reads the header only
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise too_big(f"{w}×{h}")
        # WeasyPrint (imported for PDF reports) turns ImageFile.LOAD_TRUNCATED_IMAGES on process-wide, and then
        # a cut file decodes without error; the check decodes strictly
        with _STRICT, Image.open(path) as im:
            lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
            try:
                im.load()
            finally:
                ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    except Image.DecompressionBombError:  # Pillow's own, larger cap, met while opening
        raise too_big("far more than 100 million") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(
            f"{name}: the image cannot be decoded ({type(exc).__name__}); export it again as PNG or JPEG",
            field="file",
        ) from None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Upload, responses={**UNSUPPORTED, **CONFLICT})
def create_upload(
    file: Annotated[UploadFile, File(description="One image (png, jpeg, webp, gif), video (mp4, webm) or audio file.")],
    store: StoreDep,
    settings: SettingsDep,
) -> Upload:
    """Upload one media file; use it in a brief as an asset with ``path: "upload:<id>"``."""
    name = (file.filename or "upload")[:255]
    shown = repr(name[:80])
    folder = tenant_subdir(settings, store.tenant_id, "uploads")
    upload_id = new_id("upl")
    part = folder / f".{upload_id}.part"
    try:
        size, digest, head = _copy(file.file, part, int(settings.api_max_upload_mb * 1_048_576))
        if size == 0:
            raise InputError(f"{shown} is empty; upload the file's content", field="file")
        found = sniff(head)
        if found is None or found[0] not in ACCEPTED:
            what = f"{found[1]} {found[0]}" if found else _what(head)
            raise UnsupportedContentError(
                f"{shown}: the content is {what}; upload an image (png, jpeg, webp, gif), a video (mp4, webm) "
                "or an audio file (wav, mp3, ogg, flac)",
                field="file",
            )
        kind, fmt = found
        if kind == "image":
            _check_image(part, shown)
        final = folder / f"{upload_id}.{fmt}"
        os.replace(part, final)
        upload = Upload(id=upload_id, kind=kind, format=fmt, filename=name, size=size, sha256=digest)
        try:
            return store.save_upload(upload, f"uploads/{final.name}")
        except BaseException:
            final.unlink(missing_ok=True)
            raise
    finally:
        part.unlink(missing_ok=True)


@router.get("/{upload_id}", response_model=Upload, responses=NOT_FOUND)
def get_upload(upload_id: str, store: StoreDep) -> Upload:
    upload, _ = store.get_upload(upload_id)
    return upload
