"""Media preparation for the compose renderer: probing, salient cropping, generated backgrounds and music.

Salient crop: images are cropped to the frame's aspect around the region that
draws the eye, so faces and the product stay in frame. The saliency map is
cheap and deterministic: on a ~160 px copy, gradient magnitude (edges, texture,
facial features) plus colour distance from the image's mean colour (a product
on a plain backdrop), lightly blurred, times a mild centre prior. The crop
window of the target aspect with the most saliency wins (a sliding sum over
the one free axis), and the saliency centroid inside it is where slow zooms
head to.
"""

from __future__ import annotations

import math
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.paths import check_upload
from adloom.core.proc import run_tool, tool_timeout


def ffmpeg_exe() -> str:
    """Path of the static ffmpeg shipped by imageio-ffmpeg."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # noqa: BLE001 - any failure means no usable ffmpeg
        raise BackendUnavailableError(
            f"ffmpeg is not available ({exc}); reinstall adloom's core dependency imageio-ffmpeg==0.8.1"
        ) from exc


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg says about a file: duration, first video size, and which streams exist."""

    duration_s: float | None
    width: int | None
    height: int | None
    has_video: bool
    has_audio: bool
    metadata: dict[str, str]
    video_codec: str | None
    audio_codec: str | None
    fps: float | None


def probe(path: Path) -> MediaInfo:
    """Parse ``ffmpeg -i`` output (imageio-ffmpeg ships no ffprobe)."""
    proc = run_tool(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        purpose="ffmpeg probing the media file",
        subject=path,
        timeout_s=tool_timeout(),  # reads the header only
        capture_output=True,
        text=True,
        errors="replace",
    )
    err = proc.stderr
    dur = None
    m = re.search(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)", err)
    if m:
        dur = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    width = height = None
    vcodec = acodec = None
    fps = None
    vm = re.search(r"Stream #\S+.*?Video: (\w+).*?, (\d{2,5})x(\d{2,5})", err)
    if vm:
        vcodec, width, height = vm.group(1), int(vm.group(2)), int(vm.group(3))
        fm = re.search(r"Video: .*?([\d.]+) fps", err)
        fps = float(fm.group(1)) if fm else None
    am = re.search(r"Stream #\S+.*?Audio: (\w+)", err)
    if am:
        acodec = am.group(1)
    meta: dict[str, str] = {}
    block = re.search(r"Input #0.*?\n  Metadata:\n((?:    .*\n)+)", err)
    if block:
        for line in block.group(1).splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                meta[k.strip()] = v.strip()
    return MediaInfo(dur, width, height, vm is not None, am is not None, meta, vcodec, acodec, fps)


def media_kind(path: Path, field: str) -> str:
    """'image' or 'video' by content; raises :class:`InputError` naming ``field`` otherwise."""
    if not Path(path).is_file():
        raise InputError(f"{field}: {path} does not exist; pass an existing image or video file", field=field)
    kind, _fmt = check_upload(Path(path), {"image", "video"})
    return kind


def load_image(path: Path) -> Image.Image:
    """An RGB image with its EXIF orientation applied."""
    try:
        with Image.open(path) as im:
            return ImageOps.exif_transpose(im).convert("RGB")
    except OSError as exc:
        raise InputError(f"{path}: cannot decode this image ({exc}); re-export it as PNG or JPEG") from exc


def saliency_map(img: Image.Image, max_side: int = 160) -> np.ndarray:
    """A non-negative (h, w) float32 map of where the eye goes, at most ``max_side`` px on a side."""
    small = img.copy()
    small.thumbnail((max_side, max_side))
    a = np.asarray(small, dtype=np.float32) / 255.0  # (h, w, 3)
    gray = a.mean(axis=2)
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, 1:-1] = gray[:, 2:] - gray[:, :-2]
    gy[1:-1, :] = gray[2:, :] - gray[:-2, :]
    grad = np.hypot(gx, gy)
    contrast = np.linalg.norm(a - a.reshape(-1, 3).mean(axis=0), axis=2)
    sal = grad / (grad.mean() + 1e-6) + contrast / (contrast.mean() + 1e-6)
    sal_img = Image.fromarray(np.clip(sal * 40, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3))
    sal = np.asarray(sal_img, dtype=np.float32)
    h, w = sal.shape
    yy, xx = np.mgrid[0:h, 0:w]
    prior = np.exp(-(((xx - w / 2) / (0.6 * w)) ** 2 + ((yy - h / 2) / (0.6 * h)) ** 2))
    return (sal * (0.5 + 0.5 * prior)).astype(np.float32)


def salient_crop(img: Image.Image, aspect: float) -> tuple[tuple[int, int, int, int], tuple[float, float]]:
    """The largest (left, top, right, bottom) crop of ``aspect`` (w/h) holding the most saliency.

    Also returns the saliency centroid inside that crop as fractions (cx, cy) in [0, 1].
    """
    W, H = img.size
    sal = saliency_map(img)
    sh, sw = sal.shape
    if W / H > aspect:  # too wide: choose x
        cw = H * aspect
        win = max(1, int(round(cw / W * sw)))
        cols = sal.sum(axis=0)
        sums = np.convolve(cols, np.ones(win), mode="valid")
        best = int(np.argmax(sums))
        left = int(round(best / sw * W))
        left = min(max(0, left), W - int(round(cw)))
        box = (left, 0, left + int(round(cw)), H)
    else:  # too tall: choose y
        ch = W / aspect
        win = max(1, int(round(ch / H * sh)))
        rows = sal.sum(axis=1)
        sums = np.convolve(rows, np.ones(win), mode="valid")
        best = int(np.argmax(sums))
        top = int(round(best / sh * H))
        top = min(max(0, top), H - int(round(ch)))
        box = (0, top, W, top + int(round(ch)))
    # Centroid of saliency inside the crop.
    x0, y0 = int(box[0] / W * sw), int(box[1] / H * sh)
    x1, y1 = max(x0 + 1, int(math.ceil(box[2] / W * sw))), max(y0 + 1, int(math.ceil(box[3] / H * sh)))
    sub = sal[y0:y1, x0:x1]
    total = float(sub.sum())
    if total <= 0:
        return box, (0.5, 0.5)
    yy, xx = np.mgrid[0 : sub.shape[0], 0 : sub.shape[1]]
    cx = float((sub * (xx + 0.5)).sum() / total / sub.shape[1])
    cy = float((sub * (yy + 0.5)).sum() / total / sub.shape[0])
    return box, (cx, cy)


def prepare_image(
    img: Image.Image, size: tuple[int, int], *, blur: float = 0.0, dim: float = 0.0
) -> tuple[Image.Image, tuple[float, float]]:
    """``img`` salient-cropped to ``size``'s aspect and resized to ``size``; returns it and the focus point."""
    box, focus = salient_crop(img, size[0] / size[1])
    out = img.crop(box).resize(size, Image.Resampling.LANCZOS)
    if blur > 0:
        out = out.filter(ImageFilter.GaussianBlur(blur))
    if dim > 0:
        out = Image.blend(out, Image.new("RGB", size, (0, 0, 0)), dim)
    return out, focus


def branded_background(size: tuple[int, int], colors: tuple[tuple[int, int, int], ...], seed: int) -> Image.Image:
    """A diagonal gradient in the template's palette with a few soft light blobs (seeded)."""
    w, h = size
    rng = np.random.default_rng(seed)
    c0 = np.array(colors[0], dtype=np.float32)
    c1 = np.array(colors[1 % len(colors)], dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = ((xx / max(1, w - 1)) * 0.4 + (yy / max(1, h - 1)) * 0.6)[..., None]
    arr = c0 * (1 - t) + c1 * t
    for _ in range(4):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.2, 0.5) * max(w, h)
        blob = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))[..., None]
        arr = arr + blob * rng.uniform(18, 40)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def write_music_bed(path: Path, duration_s: float, *, seed: int = 0, sample_rate: int = 48000) -> Path:
    """Write adloom's generated default music bed: a soft, slow chord pad (stereo 16-bit WAV).

    Generated here from sine partials, so it is ours to ship under the project's
    licence (Apache-2.0); it is mixed quietly under narration.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    t = np.arange(n, dtype=np.float64) / sample_rate
    # I–V–vi–IV in C major, one chord every 2 s, root notes around 130–220 Hz.
    chords = [(130.81, 164.81, 196.00), (196.00, 246.94, 293.66), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63)]
    bar = 2.0
    out = np.zeros((n, 2), dtype=np.float64)
    for k in range(int(math.ceil(duration_s / bar)) + 1):
        start = int(k * bar * sample_rate)
        if start >= n:
            break
        end = min(n, int((k + 1) * bar * sample_rate + 0.5 * sample_rate))
        seg = t[start:end] - k * bar
        env = np.minimum(1.0, seg / 0.6) * np.exp(-seg / 3.0)
        for j, f in enumerate(chords[k % len(chords)]):
            detune = 1.0 + rng.uniform(-0.002, 0.002)
            tone = np.sin(2 * np.pi * f * detune * seg) + 0.3 * np.sin(2 * np.pi * 2 * f * seg)
            pan = 0.35 + 0.3 * j / 2
            out[start:end, 0] += tone * env * (1 - pan)
            out[start:end, 1] += tone * env * pan
    peak = float(np.abs(out).max()) or 1.0
    pcm = (out / peak * 0.5 * 32767).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(2)
        wf.setsampwidth(2)
        wf.setframerate(sample_rate)
        wf.writeframes(pcm.tobytes())
    return path


def draw_star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: tuple[int, ...]) -> None:
    """A filled five-point star (drawn, so it never depends on a glyph being in the font)."""
    pts = []
    for i in range(10):
        ang = -math.pi / 2 + i * math.pi / 5
        rr = r if i % 2 == 0 else r * 0.45
        pts.append((cx + rr * math.cos(ang), cy + rr * math.sin(ang)))
    draw.polygon(pts, fill=fill)
