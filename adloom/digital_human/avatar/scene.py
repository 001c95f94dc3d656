"""Live-room compositions: presenter over a background image, with product cards.

The session renders one :class:`~adloom.digital_human.avatar.base.Avatar`: the composed
scene. For the 2D rig the background and cards are baked into the rig's static frame (so
the per-frame cost stays that of the head and arm); any other avatar (a photo avatar) is
wrapped in :class:`SceneAvatar`, which draws the cards over its frames.

User-supplied files (background, product images) are resolved inside the allowed roots
and checked by content before they are decoded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.fonts import load_font
from adloom.core.paths import check_upload, resolve_inside
from adloom.digital_human.avatar.base import Avatar, MouthPose
from adloom.digital_human.avatar.presets import COMPOSITIONS, default_roots
from adloom.digital_human.avatar.rig import Overlay, RigPresenter, _blend_rgba

__all__ = [
    "COMPOSITIONS",
    "ProductCard",
    "SceneAvatar",
    "compose_rig_scene",
    "default_roots",
    "load_background",
    "render_card",
]

#: Largest image decoded, in pixels (a decompression bomb is refused first).
MAX_IMAGE_PIXELS = 60_000_000
_SS = 2


@dataclass(frozen=True)
class ProductCard:
    """What a card shows: the product's name, a price line ("¥99", "$29.90") and an optional image file."""

    name: str
    price: str | None = None
    image: str | os.PathLike[str] | None = None


def _open_image(path: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]] | None, field: str):
    resolved = resolve_inside(path, roots if roots is not None else default_roots(), field=field)
    if not resolved.is_file():
        raise InputError(f"{field}: {path} does not exist (resolved to {resolved}); give an image file", field=field)
    check_upload(resolved, ["image"], max_bytes=100 * 1024 * 1024)
    try:
        with Image.open(resolved) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise InputError(
                    f"{field}: {path} is {im.width}×{im.height}; images over {MAX_IMAGE_PIXELS} pixels are refused",
                    field=field,
                )
            return im.convert("RGB")
    except OSError as exc:
        raise InputError(f"{field}: {path} could not be decoded as an image ({exc})", field=field) from exc


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to cover ``size`` and centre-crop."""
    w, h = size
    k = max(w / image.width, h / image.height)
    scaled = image.resize((max(w, round(image.width * k)), max(h, round(image.height * k))), Image.LANCZOS)
    x0, y0 = (scaled.width - w) // 2, (scaled.height - h) // 2
    return scaled.crop((x0, y0, x0 + w, y0 + h))


def load_background(
    path: str | os.PathLike[str], size: tuple[int, int], *, roots: Sequence[str | os.PathLike[str]] | None = None
) -> np.ndarray:
    """A user's background image, checked and cover-fitted to ``size``: (H, W, 3) uint8."""
    return np.asarray(_cover(_open_image(path, roots, "background"), size), dtype=np.uint8).copy()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The ad renderer's CJK font (``adloom.core.fonts``); Pillow's built-in font when none is installed."""
    try:
        return load_font(size)
    except BackendUnavailableError:
        return ImageFont.load_default(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, max_lines: int) -> list[str]:
    """Greedy wrap by words (Latin) or characters (CJK); the last line gets an ellipsis if cut."""
    tokens = re.findall(r"[A-Za-z0-9'’.-]+\s*|\s+|.", text.strip())
    lines, line = [], ""
    for tok in tokens:
        trial = line + tok
        if draw.textlength(trial.rstrip(), font=font) <= width or not line:
            line = trial
        else:
            lines.append(line.rstrip())
            line = tok.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def render_card(
    card: ProductCard, width: int, *, roots: Sequence[str | os.PathLike[str]] | None = None, accent=(226, 48, 64)
) -> np.ndarray:
    """A product card ``width`` pixels wide: image, name (two lines at most), price. Premultiplied RGBA."""
    if not card.name.strip():
        raise InputError("product card: the product name is empty", field="name")
    w = width * _SS
    pad = int(w * 0.06)
    image_h = int((w - 2 * pad) * 0.8) if card.image is not None else 0
    name_font, price_font = _font(int(w * 0.085)), _font(int(w * 0.12))
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    lines = _wrap(probe, card.name, name_font, w - 2 * pad, 2)
    line_h = int(w * 0.11)
    h = pad + image_h + (pad if image_h else 0) + line_h * len(lines) + (int(w * 0.16) if card.price else 0) + pad
    shadow = int(w * 0.03)
    img = Image.new("RGBA", (w + shadow, h + shadow), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    radius = int(w * 0.07)
    d.rounded_rectangle([shadow, shadow, w + shadow - 1, h + shadow - 1], radius, fill=(0, 0, 0, 60))
    d.rounded_rectangle([0, 0, w - 1, h - 1], radius, fill=(255, 255, 255, 242))
    y = pad
    if card.image is not None:
        photo = _cover(_open_image(card.image, roots, "product image"), (w - 2 * pad, image_h)).convert("RGBA")
        mask = Image.new("L", photo.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle([0, 0, photo.width - 1, photo.height - 1], int(radius * 0.7), fill=255)
        img.paste(photo, (pad, y), mask)
        y += image_h + pad
    for line in lines:
        d.text((pad, y), line, font=name_font, fill=(34, 30, 34, 255))
        y += line_h
    if card.price:
        d.text((pad, y), card.price, font=price_font, fill=(*accent, 255))
    small = img.convert("RGBa").reduce(_SS)
    return np.asarray(small, dtype=np.uint8).copy()


def _card_overlays(
    cards: Sequence[ProductCard], size: tuple[int, int], roots: Sequence[str | os.PathLike[str]] | None
) -> list[Overlay]:
    """Cards stacked down the right-hand side, from 56% of the height."""
    w, h = size
    out: list[Overlay] = []
    card_w = int(w * 0.32)
    x, y = int(w * 0.655), int(h * 0.56)
    for card in cards:
        rgba = render_card(card, card_w, roots=roots)
        if y + rgba.shape[0] > h - int(h * 0.02):
            break  # no room left: a room shows the first cards; the director rotates them
        out.append(Overlay(rgba, x, y))
        y += rgba.shape[0] + int(h * 0.015)
    return out


def compose_rig_scene(
    look: str = "look1",
    size: tuple[int, int] = (720, 1280),
    *,
    fps: int = 25,
    seed: int = 0,
    background: str | os.PathLike[str] | np.ndarray | None = None,
    cards: Sequence[ProductCard] = (),
    roots: Sequence[str | os.PathLike[str]] | None = None,
    gesture_every_s: float = 9.0,
) -> RigPresenter:
    """The 2D presenter in a room: over ``background`` (file or array; default the look's studio), with
    ``cards`` on the right; the presenter stands left of centre and points toward the first card."""
    size = (int(size[0]), int(size[1]))
    bg = (
        load_background(background, size, roots=roots)
        if isinstance(background, str | os.PathLike)
        else (None if background is None else np.asarray(background, dtype=np.uint8))
    )
    overlays = _card_overlays(cards, size, roots)
    point_at = None
    if overlays:
        first = overlays[0]
        point_at = (first.x + first.rgba.shape[1] * 0.3, first.y + first.rgba.shape[0] * 0.35)
    return RigPresenter(
        look,
        size,
        fps,
        seed=seed,
        background=bg,
        overlays=overlays,
        point_at=point_at,
        centre_x=0.36 if overlays else 0.5,
        scale=0.9 if overlays else 0.95,
        gesture_every_s=gesture_every_s,
    )


class SceneAvatar:
    """Any avatar with product cards drawn over its frames (for avatars that render their own background)."""

    def __init__(
        self,
        inner: Avatar,
        cards: Sequence[ProductCard] = (),
        *,
        roots: Sequence[str | os.PathLike[str]] | None = None,
    ) -> None:
        self.inner = inner
        self.size = tuple(inner.size)  # type: ignore[assignment]
        self.fps = inner.fps
        self._overlays = _card_overlays(cards, self.size, roots)  # type: ignore[arg-type]

    def frame(self, index: int, mouth: MouthPose) -> np.ndarray:
        out = np.array(self.inner.frame(index, mouth), dtype=np.uint8, copy=True)
        for ov in self._overlays:
            _blend_rgba(out, ov.rgba, ov.x, ov.y)
        return out
