"""The 2D rigged presenter, drawn by the project: a :class:`~adloom.digital_human.avatar.base.Avatar`.

Everything is drawn once, antialiased (Pillow at 3× then box-reduced, premultiplied alpha),
and per frame only a small region is composited, so one core renders 720×1280 far above
25 fps:

* **static**: the background, the torso with the far arm, and any overlays (product cards)
  are composited into one full frame per breathing offset (a handful of pixels);
* **head** (face, back and front hair): one premultiplied RGBA sprite. The eye/brow region
  and the mouth region are rectangular *patches* of that sprite, pre-rendered per state
  (blink phase × gaze × brow raise; mouth pose quantised to 7 openings × 3 spreads × 3
  roundings + a pressed-lips closure) and copied in with a slice. The head is then rotated
  and moved (idle sway, tilt, breathing) with one ``cv2.warpAffine`` and alpha-blended;
* **gesture arm**: drawn per pose (two segments: upper arm, forearm, hand), cached by
  quantised progress, blended last, so a hand raise or a point toward the product card is
  a cached sprite per frame.

Blinks, gaze shifts, brow raises and gestures are scheduled by a hash of (seed, slot), so
``frame(index, mouth)`` is a pure function of its arguments: any frame can be rendered in
any order, and the same inputs give the same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from adloom.core.errors import InputError
from adloom.digital_human.avatar.base import MouthPose
from adloom.digital_human.avatar.looks import Look, get_look

__all__ = ["Overlay", "RigPresenter", "mouth_key", "studio_background"]

SS = 3  # supersampling factor of every drawing
RGB = tuple[int, int, int]
Point = tuple[float, float]

# Design units: the neck base is (0, 0), y grows down; at scale 1 one unit is one pixel of a 720×1280 frame.
_FACE_CY, _FACE_RX, _FACE_RY, _CHIN = -240.0, 95.0, 125.0, -118.0
_EYE_X, _EYE_Y = 40.0, -238.0
_MOUTH_Y = -170.0
_HEAD_PIVOT = (0.0, -130.0)
_EYE_BOX = (-78.0, -296.0, 78.0, -218.0)  # x0, y0, x1, y1: eyes and brows
_MOUTH_BOX = (-58.0, -196.0, 58.0, -119.0)
_SHOULDER = (205.0, 62.0)
_UPPER_ARM, _FOREARM = 225.0, 205.0
# Parts are drawn in their own design units, then placed by (k, dx, dy): (x, y) → (k·x + dx, k·y + dy).
_HEAD_T = (1.12, 0.0, 65.0)
_TORSO_T = (0.88, 0.0, 0.0)

# Quantisation of mouth poses into cached patches.
_OPEN_STEPS, _SHAPE_STEPS = 6, 2


def mouth_key(pose: MouthPose) -> tuple[int, int, int, int]:
    """The cached mouth shape a pose is drawn with: (open 0..6, wide 0..2, round 0..2, pressed 0/1)."""
    if pose.closed_hard:
        return (0, 0, 0, 1)
    o = int(round(min(max(pose.open, 0.0), 1.0) * _OPEN_STEPS))
    w = int(round(min(max(pose.wide, 0.0), 1.0) * _SHAPE_STEPS))
    r = int(round(min(max(pose.round, 0.0), 1.0) * _SHAPE_STEPS))
    return (o, w, r, 0)


def _shade(c: RGB, f: float) -> tuple[int, int, int, int]:
    return (*(int(max(0, min(255, round(v * f)))) for v in c), 255)  # type: ignore[return-value]


def _rgba(c: RGB, a: int = 255) -> tuple[int, int, int, int]:
    return (int(c[0]), int(c[1]), int(c[2]), a)


def _hash01(seed: int, kind: int, slot: int) -> float:
    """A deterministic uniform number in [0, 1) for (seed, kind, slot): splitmix64."""
    z = (seed * 0x9E3779B97F4A7C15 + kind * 0xBF58476D1CE4E5B9 + slot * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return ((z ^ (z >> 31)) >> 11) / float(1 << 53)


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


@dataclass(frozen=True)
class Overlay:
    """A premultiplied RGBA image placed at (x, y) frame pixels over the torso (a product card)."""

    rgba: np.ndarray  # (h, w, 4) uint8, premultiplied
    x: int
    y: int


class _Sprite:
    """A premultiplied image cropped to its visible pixels: colour, 255 − alpha (3 channels), and its pixel
    origin relative to an anchor. Kept in the two forms :func:`_blend` reads, so a frame does no conversion."""

    __slots__ = ("x", "y", "rgb", "inv3")

    def __init__(self, rgba: np.ndarray, x: int, y: int) -> None:
        ys, xs = np.nonzero(rgba[..., 3])
        if ys.size:
            rgba = rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
            x, y = x + int(xs.min()), y + int(ys.min())
        rgba = np.ascontiguousarray(rgba)
        self.x, self.y = x, y
        self.rgb = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
        self.inv3 = cv2.cvtColor(cv2.bitwise_not(cv2.extractChannel(rgba, 3)), cv2.COLOR_GRAY2RGB)


def _blend(frame: np.ndarray, rgb: np.ndarray, inv3: np.ndarray, x: int, y: int) -> None:
    """Premultiplied over: frame[y:, x:] = rgb + frame × (255 − α)/255, clipped to the frame."""
    h, w = rgb.shape[:2]
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, fw), min(y + h, fh)
    if x0 >= x1 or y0 >= y1:
        return
    sx, sy = x0 - x, y0 - y
    roi = frame[y0:y1, x0:x1]
    under = cv2.multiply(roi, inv3[sy : sy + y1 - y0, sx : sx + x1 - x0], scale=1.0 / 255)
    roi[...] = cv2.add(under, rgb[sy : sy + y1 - y0, sx : sx + x1 - x0])


def _blend_rgba(frame: np.ndarray, rgba: np.ndarray, x: int, y: int) -> None:
    """Premultiplied RGBA over ``frame`` at (x, y); channel splits by OpenCV (numpy strided copies are slow)."""
    rgba = np.ascontiguousarray(rgba)
    inv = cv2.bitwise_not(cv2.extractChannel(rgba, 3))
    _blend(frame, cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), cv2.cvtColor(inv, cv2.COLOR_GRAY2RGB), x, y)


class _Pen:
    """Draws in design units onto a supersampled RGBA canvas covering a pixel-aligned box."""

    def __init__(self, box: Sequence[float], scale: float, t: tuple[float, float, float] = (1.0, 0.0, 0.0)) -> None:
        self.k, self.dx, self.dy = t
        x0, y0 = box[0] * self.k + self.dx, box[1] * self.k + self.dy
        x1, y1 = box[2] * self.k + self.dx, box[3] * self.k + self.dy
        self.s = scale
        self.px0, self.py0 = math.floor(x0 * scale), math.floor(y0 * scale)
        self.w = max(1, math.ceil(x1 * scale) - self.px0)
        self.h = max(1, math.ceil(y1 * scale) - self.py0)
        self.image = Image.new("RGBA", (self.w * SS, self.h * SS), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def p(self, x: float, y: float) -> tuple[float, float]:
        x, y = x * self.k + self.dx, y * self.k + self.dy
        return ((x * self.s - self.px0) * SS, (y * self.s - self.py0) * SS)

    def pts(self, points: Sequence[Point]) -> list[tuple[float, float]]:
        return [self.p(x, y) for x, y in points]

    def u(self, v: float) -> float:
        """A length in design units → canvas pixels."""
        return v * self.k * self.s * SS

    def poly(self, points: Sequence[Point], fill: tuple[int, ...], outline: tuple[int, ...] | None = None, width=0):
        self.draw.polygon(self.pts(points), fill=fill, outline=outline, width=max(0, int(round(self.u(width)))))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: tuple[int, ...]) -> None:
        (ax, ay), (bx, by) = self.p(cx - rx, cy - ry), self.p(cx + rx, cy + ry)
        self.draw.ellipse([ax, ay, bx, by], fill=fill)

    def line(self, points: Sequence[Point], fill: tuple[int, ...], width: float) -> None:
        pw = max(1, int(round(self.u(width))))
        pts = self.pts(points)
        self.draw.line(pts, fill=fill, width=pw, joint="curve")
        r = pw / 2.0
        for x, y in (pts[0], pts[-1]):
            self.draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)

    def capsule(self, a: Point, b: Point, wa: float, wb: float, fill: tuple[int, ...]) -> None:
        """A limb: a tapered quad with round ends."""
        (ax, ay), (bx, by) = a, b
        length = math.hypot(bx - ax, by - ay) or 1.0
        nx, ny = -(by - ay) / length, (bx - ax) / length
        quad = [(ax + nx * wa / 2, ay + ny * wa / 2), (bx + nx * wb / 2, by + ny * wb / 2)]
        quad += [(bx - nx * wb / 2, by - ny * wb / 2), (ax - nx * wa / 2, ay - ny * wa / 2)]
        self.poly(quad, fill)
        self.ellipse(ax, ay, wa / 2, wa / 2, fill)
        self.ellipse(bx, by, wb / 2, wb / 2, fill)

    def paste(self, other: Image.Image) -> None:
        self.image.alpha_composite(other)

    def layer(self) -> Image.Image:
        return Image.new("RGBA", self.image.size, (0, 0, 0, 0))

    def to_array(self) -> np.ndarray:
        """(h, w, 4) uint8 premultiplied, reduced from the supersampled canvas."""
        return _reduce(self.image)


def _reduce(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBa").reduce(SS), dtype=np.uint8).copy()


def _superellipse(cx: float, cy: float, rx: float, ry_top: float, ry_bottom: float, n: float, k: int = 48):
    pts = []
    for i in range(k):
        t = 2 * math.pi * i / k
        c, s = math.cos(t), math.sin(t)
        x = cx + rx * math.copysign(abs(c) ** (2 / n), c)
        ry = ry_bottom if s > 0 else ry_top
        y = cy + ry * math.copysign(abs(s) ** (2 / n), s)
        pts.append((x, y))
    return pts


def _face_outline(k: int = 72) -> list[Point]:
    pts = []
    for i in range(k):
        t = 2 * math.pi * i / k
        c, s = math.cos(t), math.sin(t)
        if s < 0:  # crown
            pts.append((_FACE_RX * c, _FACE_CY + _FACE_RY * s))
        else:  # cheeks narrowing to the chin
            narrow = 1.0 - 0.38 * s**2
            pts.append((_FACE_RX * c * narrow, _FACE_CY + (_CHIN - _FACE_CY) * s))
    return pts


def _mirror(points: Sequence[Point]) -> list[Point]:
    return [(-x, y) for x, y in points]


# --------------------------------------------------------------------------- the parts, drawn in design units


def _draw_back_hair(pen: _Pen, look: Look) -> None:
    hair = _rgba(look.hair)
    style = look.hair_style
    if style == "long":
        pen.ellipse(0, -262, 122, 138, hair)
        side = [(-122, -270), (-60, -250), (-52, -130), (-50, 40), (-62, 118), (-118, 126), (-138, 20), (-134, -150)]
        pen.poly(side, hair)
        pen.poly(_mirror(side), hair)
    elif style == "bob":
        pen.ellipse(0, -262, 126, 136, hair)
        pen.poly([(-126, -262), (126, -262), (122, -150), (60, -140), (-60, -140), (-122, -150)], hair)
    elif style == "bun":
        pen.ellipse(0, -402, 46, 42, _shade(look.hair, 1.1))
        pen.ellipse(0, -266, 104, 122, hair)
    else:  # short
        pen.ellipse(0, -270, 106, 120, hair)


def _draw_face(pen: _Pen, look: Look) -> None:
    skin = _rgba(look.skin)
    for side in (-1, 1):
        pen.ellipse(side * 93, -236, 15, 25, _shade(look.skin, 0.93))
        pen.ellipse(side * 95, -236, 8, 15, _shade(look.skin, 0.85))
    pen.poly(_face_outline(), skin, outline=_shade(look.skin, 0.82), width=1.2)
    blush = pen.layer()
    bd = ImageDraw.Draw(blush)
    for side in (-1, 1):
        (ax, ay), (bx, by) = pen.p(side * 52 - 17, -196 - 9), pen.p(side * 52 + 17, -196 + 9)
        bd.ellipse([min(ax, bx), ay, max(ax, bx), by], fill=(232, 120, 120, 60))
    pen.paste(blush)
    # Nose: a soft shadow line and the tip.
    pen.line([(-3, -224), (-7, -200), (-2, -196)], _shade(look.skin, 0.8), 2.2)
    pen.line([(-8, -197), (0, -194), (8, -197)], _shade(look.skin, 0.78), 2.0)


def _draw_front_hair(pen: _Pen, look: Look) -> None:
    hair = _rgba(look.hair)
    style = look.hair_style
    if style == "long":
        left = [(-2, -372), (-60, -360), (-100, -320), (-112, -250), (-96, -262), (-78, -300), (-40, -318), (-4, -338)]
        pen.poly(left, hair)
        pen.poly(_mirror(left), hair)
    elif style == "bob":
        bang = [(-112, -300), (-90, -350), (-30, -378), (50, -370), (104, -330), (112, -270), (88, -300)]
        bang += [(40, -318), (-20, -300), (-70, -282), (-104, -262)]
        pen.poly(bang, hair)
    elif style == "bun":
        pen.poly(
            [(-96, -310), (-60, -362), (0, -376), (60, -362), (96, -310), (70, -330), (0, -345), (-70, -330)], hair
        )
    else:  # short: a swept fringe with some volume
        fringe = [(-104, -282), (-100, -340), (-50, -384), (20, -388), (80, -360), (106, -300), (98, -280)]
        fringe += [(84, -312), (40, -326), (0, -316), (-40, -330), (-80, -300)]
        pen.poly(fringe, hair)
        pen.line([(-30, -370), (10, -346), (50, -350)], _shade(look.hair, 1.35), 2.0)


def _draw_eyes(pen: _Pen, look: Look, blink: int, gaze: int, brow: int) -> None:
    lid = _shade(look.hair, 0.55) if look.hair[0] + look.hair[1] > 120 else (30, 22, 22, 255)
    openness = (1.0, 0.45, 0.0)[blink]
    for side in (-1, 1):
        cx, cy = side * _EYE_X, _EYE_Y
        xs = np.linspace(-22, 22, 17)
        bell = (1 - (xs / 22) ** 2) ** 0.8
        upper = [(cx + x, cy - 13 * openness * b + 2 * (1 - openness)) for x, b in zip(xs, bell, strict=True)]
        lower = [(cx + x, cy + 8 * b) for x, b in zip(xs, bell, strict=True)]
        if openness > 0:
            white = pen.layer()
            wd = ImageDraw.Draw(white)
            wd.polygon(pen.pts(upper + lower[::-1]), fill=(250, 250, 248, 255))
            iris = pen.layer()
            idraw = ImageDraw.Draw(iris)
            ix, iy = pen.p(cx + gaze * 6, cy - 1)
            for r, col in ((11.5, _rgba(look.iris)), (5.2, (18, 14, 14, 255))):
                rr = pen.u(r)
                idraw.ellipse([ix - rr, iy - rr, ix + rr, iy + rr], fill=col)
            hx, hy = pen.p(cx + gaze * 6 + 3.5, cy - 5)
            hr = pen.u(2.6)
            idraw.ellipse([hx - hr, hy - hr, hx + hr, hy + hr], fill=(255, 255, 255, 255))
            white.paste(iris, (0, 0), white.getchannel("A"))  # the iris only inside the eye white
            pen.paste(white)
            pen.line(upper, lid, 3.4)
            pen.line(lower[3:-3], _shade(look.skin, 0.78), 1.2)
        else:
            closed = [(cx + x, cy + 3 * b) for x, b in zip(xs, bell, strict=True)]
            pen.line(closed, lid, 3.0)
        if look.lashes:
            ox, oy = upper[-1] if side > 0 else upper[0]
            pen.line([(ox, oy), (ox + side * 7, oy - 5 - 3 * openness)], lid, 2.2)
        # Brow: an arc above the eye, raised by ``brow`` steps.
        by = -270 - 4.5 * brow
        brow_pts = [(side * 20, by + 1), (side * 40, by - 4), (side * 62, by + 3)]  # a soft arch, not a frown
        pen.line(brow_pts, _shade(look.hair, 0.85), 5.2)


def _draw_mouth(pen: _Pen, look: Look, key: tuple[int, int, int, int]) -> None:
    o, w, r, pressed = key
    opening, wide, rnd = o / _OPEN_STEPS, w / _SHAPE_STEPS, r / _SHAPE_STEPS
    lips = _rgba(look.lips)
    line_col = _shade(look.lips, 0.5)
    half_w = 28.0 * (1 + 0.28 * wide - 0.34 * rnd)
    cx, cy = 0.0, _MOUTH_Y
    if pressed or opening == 0:
        half_w *= 0.92 if pressed else 1.0
        upper_t, lower_t = (3.0, 4.0) if pressed else (5.5, 7.5)
        xs = np.linspace(-half_w, half_w, 25)
        bell = 1 - (xs / half_w) ** 2
        smile = -2.5 * (xs / half_w) ** 2 * (1 - rnd)
        mid = [(cx + x, cy + s) for x, s in zip(xs, smile, strict=True)]
        dip = 1.6 * np.exp(-((xs / 5) ** 2))  # cupid's bow
        top = [(cx + x, cy + s - upper_t * b**0.6 + d) for x, s, b, d in zip(xs, smile, bell, dip, strict=True)]
        bot = [(cx + x, cy + s + lower_t * b**0.6) for x, s, b in zip(xs, smile, bell, strict=True)]
        pen.poly(top + bot[::-1], lips)
        pen.line(mid, line_col, 2.6 if pressed else 2.0)
        return
    inner_h = 44.0 * opening * (1 + 0.15 * rnd)
    inner_w = half_w * (0.86 - 0.12 * rnd)
    n = 2.2 + 1.0 * wide - 0.3 * rnd
    top_y = cy - 0.3 * inner_h
    inner = _superellipse(cx, top_y + inner_h * 0.45, inner_w, inner_h * 0.45, inner_h * 0.55, n)
    outer = _superellipse(cx, top_y + inner_h * 0.45, inner_w + 5.5, inner_h * 0.45 + 6.0, inner_h * 0.55 + 8.5, n)
    # Cupid's bow: a dip at the top middle of the upper lip.
    outer = [(x, y + 2.2 * math.exp(-((x / 6) ** 2)) if y < top_y else y) for x, y in outer]
    pen.poly(outer, lips)
    cavity = pen.layer()
    cd = ImageDraw.Draw(cavity)
    cd.rectangle([0, 0, *cavity.size], fill=(74, 22, 30, 255))
    if opening >= 0.15:  # upper teeth
        teeth_h = min(inner_h * 0.3, 8.0)
        (ax, ay), (bx, by) = pen.p(-inner_w, top_y - 4), pen.p(inner_w, top_y + teeth_h)
        cd.rounded_rectangle([ax, ay, bx, by], radius=pen.u(3), fill=(246, 244, 238, 255))
    if opening >= 0.5:  # lower teeth peek
        (ax, ay), (bx, by) = pen.p(-inner_w * 0.7, top_y + inner_h - 4), pen.p(inner_w * 0.7, top_y + inner_h + 4)
        cd.rectangle([ax, ay, bx, by], fill=(230, 226, 220, 255))
    if opening >= 0.3:  # tongue
        (ax, ay) = pen.p(-inner_w * 0.62, top_y + inner_h * 0.55)
        (bx, by) = pen.p(inner_w * 0.62, top_y + inner_h * 1.3)
        cd.ellipse([ax, ay, bx, by], fill=(214, 96, 104, 255))
    mask = Image.new("L", cavity.size, 0)
    ImageDraw.Draw(mask).polygon(pen.pts(inner), fill=255)
    cavity.putalpha(mask)
    pen.paste(cavity)


def _arm_joints(shoulder: Point, side: int, theta1: float, theta2: float) -> tuple[Point, Point]:
    """Elbow and wrist for angles (degrees from straight down, positive away from the body)."""
    a1, a2 = math.radians(theta1), math.radians(theta2)
    elbow = (shoulder[0] + side * _UPPER_ARM * math.sin(a1), shoulder[1] + _UPPER_ARM * math.cos(a1))
    wrist = (elbow[0] + side * _FOREARM * math.sin(a2), elbow[1] + _FOREARM * math.cos(a2))
    return elbow, wrist


def _draw_arm(pen: _Pen, look: Look, side: int, theta1: float, theta2: float, hand: str) -> None:
    shoulder = (side * _SHOULDER[0], _SHOULDER[1])
    elbow, wrist = _arm_joints(shoulder, side, theta1, theta2)
    edge = _shade(look.outfit, 0.7)
    pen.capsule(shoulder, elbow, 68, 58, edge)
    pen.capsule(elbow, wrist, 58, 48, edge)
    pen.capsule(shoulder, elbow, 63, 53, _rgba(look.outfit))
    pen.capsule(elbow, wrist, 53, 43, _rgba(look.outfit))
    a2 = math.radians(theta2)
    d = (side * math.sin(a2), math.cos(a2))  # forearm direction
    skin, skin_edge = _rgba(look.skin), _shade(look.skin, 0.8)
    cuff = (wrist[0] + d[0] * 4, wrist[1] + d[1] * 4)
    palm = (wrist[0] + d[0] * 24, wrist[1] + d[1] * 24)
    pen.capsule(cuff, palm, 30, 40, skin_edge)
    pen.capsule(cuff, palm, 27, 37, skin)
    if hand == "point":
        tip = (palm[0] + d[0] * 40, palm[1] + d[1] * 40)
        pen.capsule(palm, tip, 13, 11, skin_edge)
        pen.capsule(palm, tip, 11, 9, skin)
    elif hand == "open":
        for k in (-1.5, -0.5, 0.5, 1.5):
            ang = a2 + math.radians(k * 12) * side
            dd = (side * math.sin(ang), math.cos(ang))
            tip = (palm[0] + dd[0] * 34, palm[1] + dd[1] * 34)
            pen.capsule(palm, tip, 11, 9, skin)
    pen.line([(cuff[0] - d[1] * 14, cuff[1] + d[0] * 14), (cuff[0] + d[1] * 14, cuff[1] - d[0] * 14)], edge, 3)


def _draw_torso(pen: _Pen, look: Look, far_side: int) -> None:
    skin = look.skin
    outfit, edge = _rgba(look.outfit), _shade(look.outfit, 0.72)
    pen.poly([(-33, -150), (33, -150), (37, 20), (-37, 20)], _shade(skin, 0.94))
    pen.ellipse(0, -70, 33, 14, _shade(skin, 0.82))
    right = [(40, 2), (120, 14), (182, 30), (214, 58), (232, 110), (240, 720)]
    body = [*_mirror(right)[::-1], *right]
    # The far arm (not the gesturing one) hangs at the side, under the body's edge.
    _draw_arm(pen, look, far_side, 7, 3, "rest")
    pen.poly(body, outfit, outline=edge, width=2.0)
    if look.outfit_style == "blazer":
        pen.poly([(-42, 2), (42, 2), (0, 170)], _rgba(look.inner))
        lapel = [(-42, 2), (-6, 160), (-22, 290), (-84, 130), (-70, 28)]
        pen.poly(lapel, _shade(look.outfit, 0.82), outline=edge, width=1.5)
        pen.poly(_mirror(lapel), _shade(look.outfit, 0.82), outline=edge, width=1.5)
        for y in (330, 420):
            pen.ellipse(0, y, 7, 7, _shade(look.outfit, 0.5))
    elif look.outfit_style == "tee":
        pen.ellipse(0, 4, 44, 24, _shade(skin, 0.94))
        pen.line([(x, 4 + 24 * math.sqrt(max(0.0, 1 - (x / 44) ** 2))) for x in np.linspace(-44, 44, 21)], edge, 6)
    else:  # blouse: collar flaps and a placket
        flap = [(-40, 0), (0, 58), (-18, 82), (-78, 30)]
        pen.poly(flap, _rgba(look.inner), outline=_shade(look.inner, 0.75), width=1.5)
        pen.poly(_mirror(flap), _rgba(look.inner), outline=_shade(look.inner, 0.75), width=1.5)
        pen.line([(0, 60), (0, 700)], _shade(look.outfit, 0.85), 2.5)
        for y in (140, 230, 320):
            pen.ellipse(0, y, 5, 5, _shade(look.inner, 0.7))


def studio_background(size: tuple[int, int], look: Look) -> np.ndarray:
    """A soft studio backdrop (vertical gradient, a floor band and a vignette), (H, W, 3) uint8."""
    w, h = size
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    top, bottom = np.array(look.background_top, np.float32), np.array(look.background_bottom, np.float32)
    column = top[None, :] * (1 - t) + bottom[None, :] * t  # (H, 3)
    column = np.where(t > 0.78, column * 0.9, column)
    img = np.repeat(column[:, None, :], w, axis=1)  # (H, W, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vignette = 1.0 - 0.18 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h * 0.45) / h) ** 2)
    return np.clip(img * vignette[..., None], 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- the presenter


class RigPresenter:
    """The project's 2D presenter as an :class:`~adloom.digital_human.avatar.base.Avatar`.

    ``look`` is a look name ("look1".."look4") or a :class:`Look`; ``size`` is (width,
    height) of the frames; ``background`` an (H, W, 3) uint8 image of that size (default: a
    studio gradient in the look's colours); ``overlays`` are drawn over the torso (product
    cards); ``point_at`` is the frame point gestures point to (default: beside the
    presenter); ``centre_x`` (fraction of the width) and ``scale`` place the presenter;
    ``gesture_every_s`` is the slot length of the gesture schedule (0 disables gestures).
    """

    def __init__(
        self,
        look: str | Look = "look1",
        size: tuple[int, int] = (720, 1280),
        fps: int = 25,
        *,
        seed: int = 0,
        background: np.ndarray | None = None,
        overlays: Sequence[Overlay] = (),
        point_at: tuple[float, float] | None = None,
        centre_x: float = 0.5,
        scale: float = 0.95,
        gesture_every_s: float = 9.0,
    ) -> None:
        self.look = get_look(look) if isinstance(look, str) else look
        w, h = int(size[0]), int(size[1])
        if w < 64 or h < 64 or w > 4096 or h > 4096:
            raise InputError(f"avatar size must be between 64 and 4096 pixels a side, got {w}×{h}", field="size")
        if fps <= 0:
            raise InputError(f"fps must be positive, got {fps}", field="fps")
        self.size = (w, h)
        self.fps = int(fps)
        self.seed = int(seed)
        self.scale = h / 1280.0 * float(scale)
        self.anchor = (int(round(w * centre_x)), int(round(h * 0.52)))
        if background is None:
            background = studio_background(self.size, self.look)
        background = np.asarray(background)
        if background.shape != (h, w, 3) or background.dtype != np.uint8:
            raise InputError(
                f"background must be a ({h}, {w}, 3) uint8 image for a {w}×{h} avatar, got "
                f"{background.shape} {background.dtype}",
                field="background",
            )
        self._background = background
        self._overlays = list(overlays)
        px, _ = point_at if point_at is not None else (w, h)
        self.side = 1 if px >= self.anchor[0] else -1  # the arm on the card's side gestures
        self.point_at = point_at if point_at is not None else (w * 0.9, h * 0.85)
        self.gesture_every_s = float(gesture_every_s)
        self._breath_amp = max(1, int(round(3 * self.scale)))
        self._bases: dict[int, np.ndarray] = {}
        self._eye_patches: dict[tuple[int, int, int], np.ndarray] = {}
        self._mouth_patches: dict[tuple[int, int, int, int], np.ndarray] = {}
        self._arms: dict[tuple[str, int], _Sprite] = {}  # at most 2 kinds × 17 progress steps
        self._build_head()
        self._torso = self._render(self._torso_box(), lambda pen: _draw_torso(pen, self.look, -self.side))

    # ------------------------------------------------------------------ build-time drawing

    def _render(self, box: Sequence[float], paint, t: tuple[float, float, float] = _TORSO_T) -> _Sprite:
        pen = _Pen(box, self.scale, t)
        paint(pen)
        return _Sprite(pen.to_array(), pen.px0, pen.py0)

    def _torso_box(self) -> tuple[float, float, float, float]:
        bottom = (self.size[1] - self.anchor[1]) / self.scale / _TORSO_T[0] + 10
        return (-300.0, -160.0, 300.0, max(bottom, 0.0))

    def _head_box(self) -> tuple[float, float, float, float]:
        bottom = 135.0 if self.look.hair_style == "long" else -100.0
        return (-150.0, -455.0, 150.0, bottom)

    def _build_head(self) -> None:
        look = self.look
        box = self._head_box()
        back = _Pen(box, self.scale, _HEAD_T)
        _draw_back_hair(back, look)
        _draw_face(back, look)
        front = _Pen(box, self.scale, _HEAD_T)
        _draw_front_hair(front, look)
        self._head_back, self._head_front = back.image, front.image
        base = back.image.copy()
        pen = _Pen(box, self.scale, _HEAD_T)
        pen.image = base
        pen.draw = ImageDraw.Draw(base)
        _draw_eyes(pen, look, 0, 0, 0)
        _draw_mouth(pen, look, (0, 0, 0, 0))
        base.alpha_composite(front.image)
        self._head = _reduce(base)
        self._head_origin = (back.px0, back.py0)
        self._eye_rect = self._patch_rect(_EYE_BOX)
        self._mouth_rect = self._patch_rect(_MOUTH_BOX)
        k, dx, dy = _HEAD_T
        px, py = _HEAD_PIVOT
        self._pivot = ((px * k + dx) * self.scale - back.px0, (py * k + dy) * self.scale - back.py0)

    def _patch_rect(self, box: Sequence[float]) -> tuple[int, int, int, int]:
        """A design box → (x0, y0, x1, y1) pixels inside the head sprite."""
        ox, oy = self._head_origin
        s = self.scale
        k, dx, dy = _HEAD_T
        x0, y0 = math.floor((box[0] * k + dx) * s) - ox, math.floor((box[1] * k + dy) * s) - oy
        x1, y1 = math.ceil((box[2] * k + dx) * s) - ox, math.ceil((box[3] * k + dy) * s) - oy
        h, w = self._head.shape[:2]
        return max(0, x0), max(0, y0), min(w, x1), min(h, y1)

    def _patch(self, rect: tuple[int, int, int, int], paint) -> np.ndarray:
        """The head sprite's ``rect`` re-rendered with ``paint`` drawing the feature (hair in front kept)."""
        x0, y0, x1, y1 = rect
        crop = (x0 * SS, y0 * SS, x1 * SS, y1 * SS)
        back = self._head_back.crop(crop)
        pen = _Pen(self._head_box(), self.scale, _HEAD_T)
        pen.image = Image.new("RGBA", self._head_back.size, (0, 0, 0, 0))
        pen.image.paste(back, crop[:2])
        pen.draw = ImageDraw.Draw(pen.image)
        paint(pen)
        region = pen.image.crop(crop)
        region.alpha_composite(self._head_front.crop(crop))
        return _reduce(region)

    def eye_patch(self, blink: int, gaze: int, brow: int) -> np.ndarray:
        key = (blink, gaze, brow)
        if key not in self._eye_patches:
            self._eye_patches[key] = self._patch(self._eye_rect, lambda pen: _draw_eyes(pen, self.look, *key))
        return self._eye_patches[key]

    def mouth_patch(self, key: tuple[int, int, int, int]) -> np.ndarray:
        if key not in self._mouth_patches:
            self._mouth_patches[key] = self._patch(self._mouth_rect, lambda pen: _draw_mouth(pen, self.look, key))
        return self._mouth_patches[key]

    def prepare(self) -> RigPresenter:
        """Pre-render every cached state (mouths, eyes, breathing bases, arm poses) so no frame pays for
        drawing, then free the supersampled drawing layers. After this, :meth:`frame` only reads shared
        state, so one prepared presenter can serve several render threads."""
        for o in range(_OPEN_STEPS + 1):
            for w in range(_SHAPE_STEPS + 1):
                for r in range(_SHAPE_STEPS + 1):
                    self.mouth_patch((o, w, r, 0))
        self.mouth_patch((0, 0, 0, 1))
        for blink in range(3):
            for gaze in (-1, 0, 1):
                for brow in range(3):
                    self.eye_patch(blink, gaze, brow)
        for b in range(self._breath_amp + 1):
            self._base(b)
        for kind in ("point", "raise"):
            for progress in range(17):
                self._arm(kind, progress)
        self._head_back = self._head_front = None  # type: ignore[assignment]  # every patch is rendered
        self._torso = None  # type: ignore[assignment]  # baked into every base
        return self

    def memory_bytes(self) -> int:
        """Bytes held by the cached layers (bases, head, patches, arm poses), for capacity planning."""
        arrays = [*self._bases.values(), self._head, *self._eye_patches.values(), *self._mouth_patches.values()]
        total = sum(a.nbytes for a in arrays) + sum(sp.rgb.nbytes + sp.inv3.nbytes for sp in self._arms.values())
        if self._torso is not None:
            total += self._torso.rgb.nbytes + self._torso.inv3.nbytes
        for layer in (self._head_back, self._head_front):
            if layer is not None:
                total += layer.width * layer.height * 4
        return total

    def _base(self, breath: int) -> np.ndarray:
        if breath not in self._bases:
            frame = self._background.copy()
            ax, ay = self.anchor
            t = self._torso
            _blend(frame, t.rgb, t.inv3, ax + t.x, ay + t.y - breath)
            for ov in self._overlays:
                _blend_rgba(frame, ov.rgba, ov.x, ov.y)
            self._bases[breath] = frame
        return self._bases[breath]

    def _arm(self, kind: str, progress: int) -> _Sprite:
        key = (kind, progress)
        sprite = self._arms.get(key)
        if sprite is not None:
            return sprite
        p = _smooth(progress / 16.0)
        side = self.side
        rest1, rest2 = 7.0, 3.0
        if kind == "point":
            goal1 = 16.0
            elbow, _ = _arm_joints((side * _SHOULDER[0], _SHOULDER[1]), side, goal1, 0.0)
            unit = self.scale * _TORSO_T[0]
            ex, ey = self.anchor[0] + elbow[0] * unit, self.anchor[1] + elbow[1] * unit
            tx, ty = self.point_at
            aim = math.degrees(math.atan2(side * (tx - ex), ty - ey))
            goal2 = min(max(aim, 25.0), 80.0)  # down and out toward the card, never out of the frame
            hand = "point"
        else:  # "raise": forearm up, open palm beside the shoulder
            goal1, goal2, hand = 28.0, 170.0, "open"
        t1, t2 = rest1 + (goal1 - rest1) * p, rest2 + (goal2 - rest2) * p
        shoulder = (side * _SHOULDER[0], _SHOULDER[1])
        elbow, wrist = _arm_joints(shoulder, side, t1, t2)
        reach = 90.0
        xs = [shoulder[0], elbow[0], wrist[0]]
        ys = [shoulder[1], elbow[1], wrist[1]]
        box = (min(xs) - reach, min(ys) - reach, max(xs) + reach, max(ys) + reach)
        sprite = self._render(box, lambda pen: _draw_arm(pen, self.look, side, t1, t2, hand if p > 0.2 else "rest"))
        self._arms[key] = sprite
        return sprite

    # ------------------------------------------------------------------ the schedule (pure functions of time)

    def _blink(self, t: float) -> int:
        period = 3.6
        slot = math.floor(t / period)
        start = slot * period + _hash01(self.seed, 1, slot) * (period - 0.3)
        dt = t - start
        if 0 <= dt < 0.05 or 0.13 <= dt < 0.21:
            return 1
        return 2 if 0.05 <= dt < 0.13 else 0

    def _gaze(self, t: float) -> int:
        slot = math.floor(t / 2.4)
        return (0, 0, -1, 1)[int(_hash01(self.seed, 2, slot) * 4)]

    def _gesture(self, t: float) -> tuple[str, float]:
        """(kind, progress 0..1) of the gesture at time ``t``: raise 0.5 s, hold 1.6 s, lower 0.6 s."""
        period = self.gesture_every_s
        if period <= 0:
            return "point", 0.0
        slot = math.floor(t / period)
        if slot == 0 or _hash01(self.seed, 3, slot) > 0.8:  # a calm start, and some slots rest
            return "point", 0.0
        length = 2.7
        start = slot * period + _hash01(self.seed, 4, slot) * max(0.0, period - length)
        kind = "point" if _hash01(self.seed, 5, slot) < 0.7 else "raise"
        dt = t - start
        if dt < 0 or dt >= length:
            return kind, 0.0
        if dt < 0.5:
            return kind, dt / 0.5
        if dt < 2.1:
            return kind, 1.0
        return kind, 1.0 - (dt - 2.1) / 0.6

    def motion(self, index: int) -> dict[str, float]:
        """The idle motion at frame ``index``: head offset (px), tilt (degrees), breath (px), blink, gaze, gesture."""
        t = index / self.fps
        ph = [2 * math.pi * _hash01(self.seed, 10 + k, 0) for k in range(5)]
        s = self.scale
        breath = int(round(self._breath_amp * (0.5 - 0.5 * math.cos(2 * math.pi * t / 4.2 + ph[0]))))
        dx = s * (5.0 * math.sin(2 * math.pi * t / 7.3 + ph[1]) + 2.0 * math.sin(2 * math.pi * t / 3.1 + ph[2]))
        dy = s * 2.0 * math.sin(2 * math.pi * t / 4.7 + ph[3]) - breath
        tilt = 1.8 * math.sin(2 * math.pi * t / 6.1 + ph[4]) + 0.7 * math.sin(2 * math.pi * t / 2.9 + ph[2])
        kind, progress = self._gesture(t)
        return {
            "dx": dx,
            "dy": dy,
            "tilt": tilt,
            "breath": breath,
            "blink": self._blink(t),
            "gaze": self._gaze(t),
            "gesture": progress,
            "gesture_kind": 0.0 if kind == "point" else 1.0,
        }

    # ------------------------------------------------------------------ per frame

    def frame(self, index: int, mouth: MouthPose) -> np.ndarray:
        """The RGB frame at ``index`` with ``mouth``: (H, W, 3) uint8, a new array."""
        m = self.motion(index)
        breath = int(m["breath"])
        out = self._base(breath).copy()
        progress = int(round(m["gesture"] * 16))
        brow = 2 if progress >= 12 else (1 if mouth.open > 0.7 else 0)

        head = self._head.copy()
        ex0, ey0, ex1, ey1 = self._eye_rect
        head[ey0:ey1, ex0:ex1] = self.eye_patch(int(m["blink"]), int(m["gaze"]), brow)
        mx0, my0, mx1, my1 = self._mouth_rect
        head[my0:my1, mx0:mx1] = self.mouth_patch(mouth_key(mouth))

        # Rotate about the neck pivot and move: one warp into the head's bounding box in the frame.
        ox, oy = self._head_origin
        ax, ay = self.anchor
        px, py = self._pivot
        fx, fy = ax + ox + px + m["dx"], ay + oy + py + m["dy"]  # where the pivot lands in the frame
        a = math.radians(m["tilt"])
        c, s = math.cos(a), math.sin(a)
        hh, hw = head.shape[:2]
        corners = np.array([[0, 0], [hw, 0], [0, hh], [hw, hh]], np.float64) - (px, py)
        rx = corners[:, 0] * c + corners[:, 1] * s + fx
        ry = -corners[:, 0] * s + corners[:, 1] * c + fy
        x0, y0 = max(0, math.floor(rx.min())), max(0, math.floor(ry.min()))
        x1, y1 = min(self.size[0], math.ceil(rx.max()) + 1), min(self.size[1], math.ceil(ry.max()) + 1)
        if x1 > x0 and y1 > y0:
            matrix = np.array(
                [[c, s, fx - x0 - (c * px + s * py)], [-s, c, fy - y0 - (-s * px + c * py)]], dtype=np.float32
            )
            warped = cv2.warpAffine(
                head, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
            )
            _blend_rgba(out, warped, x0, y0)

        arm = self._arm("point" if m["gesture_kind"] == 0.0 else "raise", progress if progress > 0 else 0)
        _blend(out, arm.rgb, arm.inv3, ax + arm.x, ay + arm.y - breath)
        return out
