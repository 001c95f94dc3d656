"""Designed backdrops: the moving picture of a shot that has no usable image or clip.

Many briefs are text only. A smooth gradient under a slow zoom changes almost no pixels, so the quality gate
rightly calls it a frozen picture, and it looks like a screensaver. A designed backdrop is a small
motion-graphics card in the template's palette instead, drawn with Pillow as a few layers that ffmpeg moves:

* the base: a gradient between the palette's two ground colours, a soft accent glow and a vignette (static);
* a pattern (dots, diagonal stripes or a fine grid) drifting steadily; it is tiled one period larger than
  the frame and moved modulo that period, so its wrap-around never shows;
* a few shapes (soft discs, rings, rounded squares) floating at different speeds, the big soft ones slower
  than the small crisp ones (parallax);
* a light sweep crossing the frame every few seconds, the "shine" on a product card.

The pattern alone changes a few luma levels of the frame per second, which is real motion to the gate's
freeze test (a mean difference of under 0.8 levels from the still's first frame), calm to the eye, and
there from the first frame of every shot whatever its length.

Everything is seeded, so the same spec renders the same backdrop. The layers are plain images with
ffmpeg ``overlay`` position expressions in ``t`` (seconds from the shot's start); ``render`` composes them
in the same ffmpeg graph as the rest of the video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

RGB = tuple[int, int, int]

PATTERNS = ("dots", "stripes", "grid")
SHAPES = ("circles", "rings", "squares", "mixed")


@dataclass(frozen=True)
class BackdropStyle:
    """How a template's designed backdrop looks and moves.

    ``speed`` is the pattern's drift in frame short sides per second; shapes float at a fraction of it.
    """

    pattern: str = "dots"  # one of PATTERNS
    shapes: str = "circles"  # one of SHAPES
    sweep: bool = True
    speed: float = 0.05

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"BackdropStyle.pattern={self.pattern!r}: use one of {', '.join(PATTERNS)}")
        if self.shapes not in SHAPES:
            raise ValueError(f"BackdropStyle.shapes={self.shapes!r}: use one of {', '.join(SHAPES)}")
        if not self.speed > 0:
            raise ValueError(f"BackdropStyle.speed={self.speed}: the pattern must move (use a positive speed)")


@dataclass
class Sprite:
    """An RGBA layer and where it is at time ``t``: ffmpeg ``overlay`` expressions for its top-left corner."""

    image: Image.Image
    x: str
    y: str


@dataclass
class Backdrop:
    """A static RGB base and the moving layers drawn over it, bottom to top."""

    base: Image.Image
    sprites: list[Sprite]


def luma(c: RGB) -> float:
    """Rec. 601 luma of an sRGB colour, 0..255."""
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def is_light(palette: tuple[RGB, ...]) -> bool:
    """Whether the palette's ground (its first two colours) is light, so text and ink on it must be dark."""
    return (luma(palette[0]) + luma(palette[1 % len(palette)])) / 2 > 150


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        int(round(a[0] + (b[0] - a[0]) * t)),
        int(round(a[1] + (b[1] - a[1]) * t)),
        int(round(a[2] + (b[2] - a[2]) * t)),
    )


def _num(v: float) -> str:
    return f"{v:.2f}"


def _base(size: tuple[int, int], palette: tuple[RGB, ...], rng: np.random.Generator) -> Image.Image:
    """Gradient along a seeded diagonal, a soft light glow near one top corner, a gentle vignette.

    The glow is a lightened ground colour, not the accent: a yellow accent glowing over a dark ground
    turns olive. The accent is left to the shapes and the card's rule."""
    w, h = size
    c0 = np.array(palette[0], dtype=np.float32)
    c1 = np.array(palette[1 % len(palette)], dtype=np.float32)
    glow_color = np.array(_mix(palette[1 % len(palette)], (255, 255, 255), 0.3), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / max(1, w - 1), yy / max(1, h - 1)  # (h, w) each, 0..1
    ang = rng.uniform(0.25, 0.75) * math.pi / 2
    t = (u * math.cos(ang) + v * math.sin(ang)) / (math.cos(ang) + math.sin(ang))
    arr = c0 * (1 - t[..., None]) + c1 * t[..., None]  # (h, w, 3)
    gx, gy = rng.choice([0.15, 0.85]), rng.uniform(0.1, 0.35)
    d2 = ((u - gx) * w) ** 2 + ((v - gy) * h) ** 2
    r = 0.45 * max(w, h)
    glow = np.exp(-d2 / (2 * r * r))[..., None]
    arr = arr * (1 - 0.35 * glow) + glow_color * 0.35 * glow
    vignette = 1 - 0.18 * (((u - 0.5) ** 2 + (v - 0.5) ** 2) / 0.5)[..., None]
    return Image.fromarray(np.clip(arr * vignette, 0, 255).astype(np.uint8), "RGB")


def _pattern_cell(kind: str, period: int, ink: RGB, alpha: int) -> Image.Image:
    """One seamless period of the pattern (RGBA), drawn 4x larger and reduced so edges are smooth."""
    ss = 4
    p = period * ss
    cw, ch = (period, 2 * int(round(period * math.sqrt(3) / 2))) if kind == "dots" else (period, period)
    big = Image.new("RGBA", (3 * cw * ss, 3 * ch * ss), (*ink, 0))
    d = ImageDraw.Draw(big)
    fill = (*ink, alpha)
    if kind == "dots":  # a hexagonal dot grid: two rows per cell, the second offset by half a period
        r = 0.12 * p
        for gx in range(-1, 4):
            for gy in range(-1, 4):
                for ox, oy in ((0.0, 0.0), (0.5, 0.5)):
                    cx, cy = (gx + ox) * cw * ss, (gy + oy) * ch * ss
                    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif kind == "stripes":  # 45° stripes, a third of a period wide: periodic in x and y alike
        sw = p / 3
        for k in range(-4, 8):
            x0 = k * p
            d.polygon([(x0, 0), (x0 + sw, 0), (x0 + sw - 3 * p, 3 * p), (x0 - 3 * p, 3 * p)], fill=fill)
    else:  # a fine grid with a brighter dot at each crossing
        lw = max(ss, int(round(0.05 * p)))
        for k in range(0, 4):
            d.rectangle((k * p - lw // 2, 0, k * p + lw // 2, 3 * p), fill=(*ink, alpha * 2 // 3))
            d.rectangle((0, k * p - lw // 2, 3 * p, k * p + lw // 2), fill=(*ink, alpha * 2 // 3))
        r = 0.07 * p
        for gx in range(0, 4):
            for gy in range(0, 4):
                d.ellipse((gx * p - r, gy * p - r, gx * p + r, gy * p + r), fill=fill)
    cell = big.crop((cw * ss, ch * ss, 2 * cw * ss, 2 * ch * ss))
    return cell.resize((cw, ch), Image.Resampling.LANCZOS)


def _pattern(size: tuple[int, int], style: BackdropStyle, ink: RGB, alpha: int, rng: np.random.Generator) -> Sprite:
    """The pattern tiled one period larger than ``size``, drifting along a seeded diagonal, modulo its period."""
    w, h = size
    unit = min(w, h)
    period = max(6, int(round(unit * {"dots": 0.075, "stripes": 0.09, "grid": 0.11}[style.pattern])))
    cell = _pattern_cell(style.pattern, period, ink, alpha)
    cw, ch = cell.size
    nx, ny = w // cw + 2, h // ch + 2
    tile = Image.fromarray(np.tile(np.asarray(cell), (ny, nx, 1)), "RGBA")
    speed = style.speed * unit
    ang = rng.uniform(0.15, 0.35) * math.pi + rng.integers(0, 4) * math.pi / 2
    vx, vy = speed * math.cos(ang), speed * math.sin(ang)
    ox, oy = rng.uniform(0, cw), rng.uniform(0, ch)
    # mod() in ffmpeg's evaluator floors, so these stay in (-period, 0] and the tile always covers the frame.
    return Sprite(tile, f"-mod({_num(ox)}+({_num(vx)})*t,{cw})", f"-mod({_num(oy)}+({_num(vy)})*t,{ch})")


def _shape(kind: str, radius: int, color: RGB, alpha: int, soft: bool, angle: float) -> Image.Image:
    """One floating shape on a transparent square image (drawn 2x larger and reduced)."""
    ss = 2
    blur = radius * 0.25 if soft else 0.0
    side = 2 * radius + 4 + 2 * int(math.ceil(3 * blur))  # room for the blur to fade out inside the image
    big = Image.new("RGBA", (side * ss, side * ss), (*color, 0))
    d = ImageDraw.Draw(big)
    c = side * ss / 2
    r = radius * ss
    fill = (*color, alpha)
    if kind == "circle":
        d.ellipse((c - r, c - r, c + r, c + r), fill=fill)
    elif kind == "ring":
        d.ellipse((c - r, c - r, c + r, c + r), outline=fill, width=max(2, int(r * 0.12)))
    else:  # a rounded square, turned by ``angle``
        q = r * 0.7
        d.rounded_rectangle((c - q, c - q, c + q, c + q), radius=q * 0.3, fill=fill)
        big = big.rotate(angle, resample=Image.Resampling.BICUBIC)
    img = big.resize((side, side), Image.Resampling.LANCZOS)
    if soft:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    return img


def _shapes(
    size: tuple[int, int], style: BackdropStyle, palette: tuple[RGB, ...], light: bool, rng: np.random.Generator
) -> list[Sprite]:
    """Three to five shapes, big soft ones drifting slowly and small crisp ones faster, each bobbing gently."""
    w, h = size
    unit = min(w, h)
    accent = palette[2 % len(palette)]
    second = _mix(palette[1 % len(palette)], (255, 255, 255), 0.35) if not light else _mix(accent, palette[1], 0.5)
    kinds = {
        "circles": ["circle", "circle", "ring"],
        "rings": ["ring", "ring", "circle"],
        "squares": ["square", "square", "ring"],
        "mixed": ["circle", "square", "ring"],
    }[style.shapes]
    out = []
    n = int(rng.integers(3, 6))
    for k in range(n):
        big = k < 2
        kind = kinds[k % len(kinds)]
        radius = int(unit * (rng.uniform(0.16, 0.28) if big else rng.uniform(0.05, 0.11)))
        color = accent if k % 2 == 0 else second
        alpha = int(rng.uniform(60, 95) if big else rng.uniform(110, 170))
        if kind == "ring":
            alpha = min(255, alpha + 40)
        img = _shape(kind, radius, color, alpha, soft=big, angle=float(rng.uniform(0, 90)))
        # Spread the shapes over the frame's edges and corners, where text rarely sits.
        x0 = rng.uniform(-0.1, 0.35) * w if k % 2 == 0 else rng.uniform(0.65, 1.1) * w
        y0 = rng.uniform(-0.05, 1.05) * h
        speed = style.speed * unit * (0.25 if big else 0.6)
        ang = rng.uniform(0, 2 * math.pi)
        vx, vy = speed * math.cos(ang), speed * math.sin(ang)
        amp, period, phase = unit * rng.uniform(0.01, 0.03), rng.uniform(2.5, 4.5), rng.uniform(0, 2 * math.pi)
        half = img.width / 2
        x = f"{_num(x0 - half)}+({_num(vx)})*t+{_num(amp)}*sin(2*PI*t/{_num(period)}+{_num(phase)})"
        y = f"{_num(y0 - half)}+({_num(vy)})*t+{_num(amp)}*cos(2*PI*t/{_num(period)}+{_num(phase)})"
        out.append(Sprite(img, x, y))
    return out


def _sweep(size: tuple[int, int], light: bool, rng: np.random.Generator) -> Sprite:
    """A soft slanted band of light crossing the frame left to right in ~1.2 s, every ~3.5 s."""
    w, h = size
    unit = min(w, h)
    band = max(4, int(unit * 0.22))
    slant = int(h * math.tan(math.radians(18)))
    soft = band * 0.3
    edge = int(math.ceil(3 * soft))  # room for the blur to fade out inside the image
    sw = band + slant + 2 * edge
    mask = Image.new("L", (sw, h), 0)
    ImageDraw.Draw(mask).polygon([(edge + slant, 0), (edge + slant + band, 0), (edge + band, h), (edge, h)], fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(soft))
    peak = 0.10 if light else 0.15
    alpha = Image.fromarray((np.asarray(mask, dtype=np.float32) * peak).astype(np.uint8), "L")
    img = Image.new("RGBA", (sw, h), (255, 255, 255, 0))
    img.putalpha(alpha)
    cross, every = 1.2, float(rng.uniform(3.2, 3.8))
    phase = float(rng.uniform(0, every))
    x = f"-{sw}+{w + sw}*min(1,mod(t+{_num(phase)},{_num(every)})/{cross})"
    return Sprite(img, x, "0")


def designed_backdrop(
    size: tuple[int, int],
    palette: tuple[RGB, ...],
    style: BackdropStyle,
    seed: int,
    *,
    dim: float = 0.0,
    calm: bool = False,
    muted: bool = False,
) -> Backdrop:
    """A seeded moving backdrop of ``size`` in ``palette`` (see the module docstring).

    ``dim`` darkens every layer (0..1), as the template dims a picture under a card; ``calm`` takes 30% off the
    pattern's strength where the template would blur a picture so a card on top reads well (the pattern
    keeps moving); ``muted`` drains most of the colour (the "before" half of a before/after split).
    """
    rng = np.random.default_rng(seed)
    light = is_light(palette)
    accent = palette[2 % len(palette)]
    ink = _mix(accent, (0, 0, 0), 0.35) if light else (255, 255, 255)
    alpha = int((48 if light else 34) * (0.7 if calm else 1.0))
    base = _base(size, palette, rng)
    sprites = [_pattern(size, style, ink, alpha, rng), *_shapes(size, style, palette, light, rng)]
    if style.sweep:
        sprites.append(_sweep(size, light, rng))
    if muted:
        base = ImageEnhance.Color(base).enhance(0.3)
        for s in sprites:
            a = s.image.getchannel("A")
            s.image = ImageEnhance.Color(s.image.convert("RGB")).enhance(0.3).convert("RGBA")
            s.image.putalpha(a)
    if dim > 0:
        base = Image.blend(base, Image.new("RGB", base.size, (0, 0, 0)), dim)
        for s in sprites:
            a = s.image.getchannel("A")
            s.image = Image.blend(s.image.convert("RGB"), Image.new("RGB", s.image.size, (0, 0, 0)), dim).convert(
                "RGBA"
            )
            s.image.putalpha(a)
    return Backdrop(base, sprites)
