"""Safe paths and content checks for everything a user hands us.

Every user-supplied path is resolved (symlinks followed) and must land inside
one of the allowed roots; uploads are recognised by their first bytes, never
by their name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from adloom.core.errors import InputError, PathOutsideRootError, UnsupportedContentError


def resolve_inside(
    path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]], *, field: str = "path"
) -> Path:
    """Resolve ``path`` (relative paths against the first root) and require it inside a root."""
    root_list = [Path(r).expanduser().resolve() for r in roots]
    if not root_list:
        raise PathOutsideRootError(f"{field}: no allowed roots are configured for {path!s}", field=field)
    raw = Path(path).expanduser()
    if "\x00" in str(path):
        raise PathOutsideRootError(f"{field}: path contains a NUL byte", field=field)
    candidate = (raw if raw.is_absolute() else root_list[0] / raw).resolve()
    for root in root_list:
        if candidate == root or candidate.is_relative_to(root):
            return candidate
    raise PathOutsideRootError(
        f"{field}: {path!s} resolves to {candidate}, outside the allowed folders "
        f"({', '.join(map(str, root_list))}); move the file inside one of them or add its folder "
        "to ADLOOM_ALLOWED_ROOTS",
        field=field,
    )


#: Permission bits of a file :func:`write_atomic` creates (an existing file keeps its own).
NEW_FILE_MODE = 0o644


def write_atomic(path: Path, data: str | bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` via a uniquely named temporary sibling and a rename, so
    readers never see a half-written file, two writers never share a temporary file, and a failed write
    leaves the old content in place and no temporary file behind.

    ``mode``: permission bits of the result (e.g. ``0o600`` for a file holding a secret); by default an
    existing file keeps its mode and a new one gets :data:`NEW_FILE_MODE`."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if mode is None:
        mode = path.stat().st_mode & 0o7777 if path.exists() else NEW_FILE_MODE
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def safe_filename(name: str, *, max_len: int = 100) -> str:
    """A filesystem-safe name made from user text (ids, titles) — no separators, no dots first."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".")
    return cleaned[:max_len] or "unnamed"


# (kind, signature check) pairs: first bytes of each accepted format.
_SIGNATURES: list[tuple[str, str, object]] = [
    ("image", "png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image", "jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("image", "webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("image", "gif", lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    ("video", "mp4", lambda b: b[4:8] == b"ftyp"),
    ("video", "webm", lambda b: b.startswith(b"\x1a\x45\xdf\xa3")),
    ("audio", "wav", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
    ("audio", "mp3", lambda b: b.startswith(b"ID3") or b[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")),
    ("audio", "ogg", lambda b: b.startswith(b"OggS")),
    ("audio", "flac", lambda b: b.startswith(b"fLaC")),
]


def sniff(data: bytes) -> tuple[str, str] | None:
    """(kind, format) of a file from its first bytes, or None if unrecognised."""
    for kind, fmt, check in _SIGNATURES:
        if check(data):  # type: ignore[operator]
            return kind, fmt
    return None


def check_upload(path: Path, allowed_kinds: Iterable[str], *, max_bytes: int = 500 * 1024 * 1024) -> tuple[str, str]:
    """Require the file at ``path`` to be one of ``allowed_kinds`` by content; returns (kind, format)."""
    allowed = set(allowed_kinds)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if size > max_bytes:
        raise UnsupportedContentError(f"{path} is {size} bytes; the limit is {max_bytes}")
    found = sniff(head)
    if found is None or found[0] not in allowed:
        what = f"{found[1]} {found[0]}" if found else "not a recognised media file"
        raise UnsupportedContentError(
            f"{path.name}: content is {what}; expected {' or '.join(sorted(allowed))} "
            "(png, jpeg, webp, gif images; mp4/mov, webm video; wav, mp3, ogg, flac audio)"
        )
    return found
