"""Media preparation for the compose renderer: probing, salient cropping, flatness, generated music.

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
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.paths import check_upload
from adloom.creative.quality.probe import probe as probe_facts


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
    """A file's duration, first video stream's size, codecs and rate, and container tags."""

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
    """What the container says about ``path``, read with PyAV (its own FFmpeg libraries; headers only).

    A typed summary of :func:`adloom.creative.quality.probe.probe`, the one probe the renderer's checks and
    the quality gate share (imageio-ffmpeg ships no ffprobe, and its ``-i`` stderr is no stable format).

    Raises:
        InputError: nothing exists at ``path``.
        UnsupportedContentError: the file is not a readable media file.
        BackendUnavailableError: PyAV (the ``quality`` extra) is not installed.
    """
    facts = probe_facts(path)
    video = next((s for s in facts["streams"] if s["type"] == "video"), None)
    audio = next((s for s in facts["streams"] if s["type"] == "audio"), None)
    return MediaInfo(
        duration_s=facts["duration_s"],
        width=video["width"] if video else None,
        height=video["height"] if video else None,
        has_video=video is not None,
        has_audio=audio is not None,
        metadata=facts["metadata"],
        video_codec=video["codec"] if video else None,
        audio_codec=audio["codec"] if audio else None,
        fps=video["fps"] if video else None,
    )


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


#: A picture whose colour channels all vary less than this (standard deviation, 0..255 levels, on a small
#: copy) is near-uniform: a placeholder, a blank export or a colour swatch, with nothing to zoom into.
FLAT_STD = 5.0


def flatness(img: Image.Image) -> float:
    """The largest per-channel standard deviation of ``img`` on a copy at most 128 px on a side (0..255).

    A product on a plain backdrop still scores well above :data:`FLAT_STD` (a product covering 1% of the
    picture in a contrasting colour gives about 20); a single flat colour, JPEG noise included, scores
    about 1.
    """
    small = img.convert("RGB")
    small.thumbnail((128, 128))
    return float(np.asarray(small, dtype=np.float32).reshape(-1, 3).std(axis=0).max())


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


#: The generated music bed's beat grid: its chords change every ``BED_BEAT_S`` seconds from 0 (a slow pad
#: with no percussion, so the chord onsets are the only accents a cut can land on; see write_music_bed).
BED_BEAT_S = 2.0

#: A photo is cropped to the frame only if the crop keeps at least this share of its subject box's area;
#: otherwise it is shown whole (see :func:`subject_crop` and ``render``).
SUBJECT_KEEP_MIN = 0.95

#: A photo shown whole spans at most this share of the frame's width and height, so the template's slow
#: zoom (capped for such shots in ``render``) never pushes the subject out of frame.
FIT_SHARE = 0.9

Box = tuple[float, float, float, float]


def subject_crop(img: Image.Image, aspect: float, subject: Box) -> tuple[tuple[int, int, int, int], float]:
    """The crop of ``aspect`` (w/h) centred on the ``subject`` box (normalised) and the share of the subject's
    area it keeps (1.0 = all of it)."""
    W, H = img.size
    x0, y0, x1, y1 = subject
    if W / H > aspect:
        cw = int(round(H * aspect))
        left = int(round((x0 + x1) / 2 * W - cw / 2))
        left = min(max(0, left), W - cw)
        box = (left, 0, left + cw, H)
        kept = max(0.0, min(x1 * W, box[2]) - max(x0 * W, box[0])) / max(1e-6, (x1 - x0) * W)
    else:
        ch = int(round(W / aspect))
        top = int(round((y0 + y1) / 2 * H - ch / 2))
        top = min(max(0, top), H - ch)
        box = (0, top, W, top + ch)
        kept = max(0.0, min(y1 * H, box[3]) - max(y0 * H, box[1])) / max(1e-6, (y1 - y0) * H)
    return box, float(min(1.0, kept))


def fit_inside(src: tuple[int, int], size: tuple[int, int], share: float = FIT_SHARE) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a ``src``-sized picture scaled to fit ``share`` of ``size`` and centred in it."""
    scale = min(size[0] * share / src[0], size[1] * share / src[1])
    w, h = max(1, int(round(src[0] * scale))), max(1, int(round(src[1] * scale)))
    return (size[0] - w) // 2, (size[1] - h) // 2, w, h


def blurred_fill(
    img: Image.Image, size: tuple[int, int], *, blur: float = 0.0, dim: float = 0.0
) -> tuple[Image.Image, Box]:
    """The whole of ``img`` fitted into ``size`` over a blurred, darkened, scaled-up copy of itself.

    Returns the picture and where the sharp copy lies, normalised (x0, y0, x1, y1) of ``size``. ``blur`` and
    ``dim`` are the template's treatment (a card over the shot), applied to the whole picture on top.
    """
    box, _ = salient_crop(img, size[0] / size[1])
    back = img.crop(box).resize(size, Image.Resampling.BILINEAR)
    back = back.filter(ImageFilter.GaussianBlur(max(4.0, size[0] / 24)))
    back = Image.blend(back, Image.new("RGB", size, (0, 0, 0)), 0.45)
    x, y, w, h = fit_inside(img.size, size)
    back.paste(img.resize((w, h), Image.Resampling.LANCZOS), (x, y))
    if blur > 0:
        back = back.filter(ImageFilter.GaussianBlur(blur))
    if dim > 0:
        back = Image.blend(back, Image.new("RGB", size, (0, 0, 0)), dim)
    return back, (x / size[0], y / size[1], (x + w) / size[0], (y + h) / size[1])
