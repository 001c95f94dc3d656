"""Frames in and out: images and clips in, H.264 mp4 out, through the imageio-ffmpeg binary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from adloom.core.errors import InputError
from adloom.core.proc import run_tool, tool_timeout


def load_image(image: Any, width: int, height: int) -> np.ndarray:
    """A path, PIL image or (H, W, 3) uint8 array → (height, width, 3) uint8, scaled to cover then centre-cropped."""
    from PIL import Image

    if isinstance(image, str | os.PathLike):
        p = Path(image).expanduser()
        if not p.is_file():
            raise InputError(f"image {str(image)!r} does not exist", field="image")
        try:
            img = Image.open(p)
            img.load()
        except OSError as exc:
            raise InputError(f"image {p} is not a readable image ({exc})", field="image") from exc
    elif isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise InputError(f"image array has shape {image.shape}; expected (H, W, 3) uint8", field="image")
        img = Image.fromarray(image.astype(np.uint8))
    elif isinstance(image, Image.Image):
        img = image
    else:
        raise InputError(f"image of type {type(image).__name__} is not a path, PIL image or array", field="image")
    img = img.convert("RGB")
    scale = max(width / img.width, height / img.height)
    new = (max(width, round(img.width * scale)), max(height, round(img.height * scale)))
    img = img.resize(new, Image.Resampling.LANCZOS)
    left, top = (new[0] - width) // 2, (new[1] - height) // 2
    return np.asarray(img.crop((left, top, left + width, top + height)), dtype=np.uint8)


def resize_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(F, H, W, 3) uint8 → (F, height, width, 3), each frame scaled to cover and centre-cropped."""
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([load_image(f, width, height) for f in frames])


def read_video(path: str | Path) -> tuple[np.ndarray, float]:
    """All frames of a clip as (F, H, W, 3) uint8, and its frame rate."""
    import imageio_ffmpeg

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"clip {str(path)!r} does not exist", field="extend")
    try:
        # The header only (size, fps, duration): imageio's reader stops ffmpeg on close. The frames are then
        # decoded by one bounded ffmpeg call, so a stalled decode cannot hang the caller.
        reader = imageio_ffmpeg.read_frames(str(p), pix_fmt="rgb24")
        meta = next(reader)
        reader.close()
    except (RuntimeError, OSError, StopIteration) as exc:
        raise InputError(f"{p} is not a readable video clip ({exc})", field="extend") from exc
    w, h = meta["size"]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(p), "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-"]  # fmt: skip
    duration = float(meta.get("duration") or 0.0)
    proc = run_tool(cmd, purpose="ffmpeg decoding the clip", subject=p, timeout_s=tool_timeout(duration),
                    capture_output=True)  # fmt: skip
    if proc.returncode != 0:
        raise InputError(f"{p} is not a readable video clip ({proc.stderr.decode(errors='replace')[-300:]})",
                         field="extend")  # fmt: skip
    raw = np.frombuffer(proc.stdout, dtype=np.uint8)
    n = raw.size // (h * w * 3)
    if n == 0:
        raise InputError(f"{p} holds no video frames", field="extend")
    return raw[: n * h * w * 3].reshape(n, h, w, 3).copy(), float(meta.get("fps") or 0.0)


def write_video(frames: np.ndarray, path: str | Path, fps: float = 16, *, crf: int = 17) -> Path:
    """Encode (F, H, W, 3) uint8 to an H.264 mp4 (yuv420p; odd sizes padded by one pixel). Atomic rename."""
    import imageio_ffmpeg

    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InputError(f"frames must be (F, H, W, 3) uint8, got {frames.shape} {frames.dtype}", field="frames")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix or '.mp4'}")
    f, h, w, _ = frames.shape
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{w}x{h}", "-r", f"{fps}", "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", str(tmp),
    ]  # fmt: skip
    proc = run_tool(cmd, purpose="ffmpeg encoding the clip", subject=out, timeout_s=tool_timeout(f / fps, frames=f),
                    input=np.ascontiguousarray(frames).tobytes(), capture_output=True)  # fmt: skip
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed writing {out}: {proc.stderr.decode(errors='replace')[-500:]}")
    os.replace(tmp, out)
    return out
