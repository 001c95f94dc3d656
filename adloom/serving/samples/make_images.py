"""Draws the sample product images the demo briefs use (made by the project; CC0).

Run ``python -m adloom.serving.samples.make_images`` to regenerate them; the
committed PNGs are its output. Drawn, not photographed, so they carry no
third-party rights.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).with_name("images")


def _backdrop(w: int, h: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / (h - 1)
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return img


def serum(w: int = 1200, h: int = 1500, tint: tuple[int, int, int] = (236, 180, 190)) -> Image.Image:
    """A glass dropper bottle of serum on a soft pastel backdrop."""
    img = _backdrop(w, h, (250, 238, 236), (236, 214, 210))
    shadow = Image.new("L", (w, h), 0)
    ImageDraw.Draw(shadow).ellipse([w * 0.30, h * 0.80, w * 0.70, h * 0.86], fill=90)
    img.paste((150, 120, 118), mask=shadow.filter(ImageFilter.GaussianBlur(18)))
    d = ImageDraw.Draw(img)
    bx0, bx1, by0, by1 = w * 0.36, w * 0.64, h * 0.38, h * 0.83
    d.rounded_rectangle([bx0, by0, bx1, by1], radius=int(w * 0.05), fill=tint, outline=(200, 140, 150), width=6)
    d.rounded_rectangle([bx0 + 20, by0 + 30, bx0 + 60, by1 - 40], radius=18, fill=(250, 225, 230))  # highlight
    d.rectangle([w * 0.42, h * 0.30, w * 0.58, h * 0.385], fill=(60, 55, 60))  # collar
    d.rounded_rectangle([w * 0.45, h * 0.16, w * 0.55, h * 0.31], radius=30, fill=(40, 36, 40))  # bulb
    d.rectangle([bx0 + 30, h * 0.55, bx1 - 30, h * 0.70], fill=(255, 250, 248))  # label
    d.line([bx0 + 60, h * 0.60, bx1 - 60, h * 0.60], fill=(200, 150, 160), width=8)
    d.line([bx0 + 80, h * 0.645, bx1 - 80, h * 0.645], fill=(220, 190, 195), width=5)
    return img


def robot_vacuum(w: int = 1600, h: int = 1200) -> Image.Image:
    """A slim round robot vacuum on a wooden floor in front of a sofa."""
    img = _backdrop(w, h, (232, 236, 238), (214, 220, 224))
    d = ImageDraw.Draw(img)
    d.rectangle([0, h * 0.62, w, h], fill=(196, 160, 120))  # floor
    for x in range(0, w, 160):
        d.line([x, h * 0.62, x - 80, h], fill=(180, 144, 104), width=3)
    d.rounded_rectangle([w * 0.05, h * 0.25, w * 0.95, h * 0.58], radius=40, fill=(120, 140, 130))  # sofa
    d.rectangle([w * 0.08, h * 0.55, w * 0.92, h * 0.64], fill=(90, 108, 100))
    cx, cy, rx, ry = w * 0.5, h * 0.80, w * 0.22, h * 0.09
    d.ellipse([cx - rx, cy - ry + 22, cx + rx, cy + ry + 22], fill=(40, 40, 44))  # side
    d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=(235, 236, 240), outline=(60, 60, 66), width=5)
    d.ellipse([cx - rx * 0.18, cy - ry * 0.75, cx + rx * 0.18, cy - ry * 0.15], fill=(60, 62, 70))  # lidar
    d.arc([cx - rx * 0.8, cy - ry * 0.8, cx + rx * 0.8, cy + ry * 0.8], 200, 340, fill=(90, 160, 220), width=6)
    return img


def main() -> None:
    OUT.mkdir(exist_ok=True)
    serum().save(OUT / "serum.png", optimize=True)
    serum(tint=(226, 200, 240)).save(OUT / "serum_lilac.png", optimize=True)
    robot_vacuum().save(OUT / "robot_vacuum.png", optimize=True)
    (OUT / "LICENSE.txt").write_text(
        "The images in this folder were drawn by adloom's make_images.py "
        "and are dedicated to the public domain (CC0).\n"
    )


if __name__ == "__main__":
    main()
