"""The compose templates: how each shot moves and which text boxes appear when.

A template turns a :class:`RenderSpec` into a :class:`Plan`: one
:class:`ShotLook` per shot (camera motion, blur/dim, split screen) and a list
of :class:`Overlay` text images with their times and positions. It draws
nothing into video itself; ``render`` turns the plan into one ffmpeg graph.

Every text box is fitted inside the frame's safe area (see ``spec.safe_area``):
the label row sits in one corner, headlines in the top zone, subtitles in the
bottom zone and cards/panels in the middle zone between them.

Templates (names are the keys of :data:`TEMPLATES`):

* ``product_showcase`` — slow Ken Burns zooms and pans over product images,
  headline per shot, product tag under the hook, CTA button on the last shot.
* ``hook_punch`` — a big hook line that punches in over a fast zoom, quick
  zoom transitions, punchy per-shot headlines.
* ``before_after`` — the "before" shot's picture and the "after" shot's
  picture side by side (stacked on 9:16) with labels, wipe transitions.
* ``testimonial`` — blurred product backdrop with a white review card: five
  stars, the quote, a "verified buyer" line.
* ``feature_list`` — a checklist panel that gains one ticked feature per shot.
* ``price_cta`` — showcase shots ending on a price + CTA end card with a
  pulsing button.
* ``ugc_captions`` — UGC look: handheld sway, hard cuts, big word-chunk
  captions timed to the narration, sticker-style headlines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter

from adloom.core.fonts import load_font
from adloom.core.types import Language, ShotRole
from adloom.creative.compose.backdrop import BackdropStyle, is_light
from adloom.creative.compose.media import draw_star
from adloom.creative.compose.spec import RenderSpec, frame_size, safe_area
from adloom.creative.compose.text import TextStyle, fit_text, render_text

RGB = tuple[int, int, int]


@dataclass
class ShotLook:
    """How one shot's picture is made: camera motion, treatment, optional split with another shot."""

    motion: str = "zoom_in"  # zoom_in | zoom_out | pan_lr | pan_rl | punch | shake | static
    blur: float = 0.0
    dim: float = 0.0
    split_with: int | None = None  # index of the shot shown as "before" beside this one
    zoom: float = 0.10  # how far zooms/pans travel, as a fraction of the frame


@dataclass
class Overlay:
    """A text image drawn at (x, y) while ``t0 <= t < t1`` (``pulse``: on for the first half of each second)."""

    image: Image.Image
    x: int
    y: int
    t0: float
    t1: float
    kind: str
    pulse: str = ""  # "" | "on" | "off"
    text: str = ""  # the words it shows ("" for pictures); not drawn, used to keep subtitles from repeating it

    def box(self) -> dict:
        return {
            "kind": self.kind,
            "t0": round(self.t0, 3),
            "t1": round(self.t1, 3),
            "x": self.x,
            "y": self.y,
            "w": self.image.width,
            "h": self.image.height,
        }


@dataclass
class Plan:
    """What a template asks for: one look per shot, the text overlays, the transition, its colours, and the
    designed backdrop shots without a picture get (see ``backdrop.py``)."""

    looks: list[ShotLook]
    overlays: list[Overlay]
    transition: str | None
    transition_s: float
    palette: tuple[RGB, ...]
    backdrop: BackdropStyle = BackdropStyle()
    #: What the template left out and why (e.g. a before/after split without before/after footage).
    notes: list[str] = field(default_factory=list)


@dataclass
class Zone:
    x: int
    y: int
    w: int
    h: int


@dataclass
class Layout:
    """Frame geometry, shot times and text zones for one render."""

    spec: RenderSpec
    width: int
    height: int
    safe: tuple[int, int, int, int]
    starts: list[float]
    ends: list[float]
    label: Overlay
    top: Zone
    middle: Zone
    bottom: Zone
    unit: int
    overlays: list[Overlay] = field(default_factory=list)

    @property
    def zh(self) -> bool:
        return self.spec.language == Language.zh

    def px(self, frac: float, floor: int = 8) -> int:
        return max(floor, int(round(self.unit * frac)))

    def add(
        self,
        img: Image.Image,
        zone: Zone,
        t0: float,
        t1: float,
        kind: str,
        *,
        valign: str = "top",
        halign: str = "center",
        pulse: str = "",
    ) -> Overlay:
        """Place ``img`` in ``zone`` (shrunk to fit and clamped inside it) and keep it as an overlay."""
        ov = place(img, zone, t0, t1, kind, valign=valign, halign=halign, pulse=pulse)
        ov.text = str(img.info.get("text", ""))
        self.overlays.append(ov)
        return ov


def place(
    img: Image.Image,
    zone: Zone,
    t0: float,
    t1: float,
    kind: str,
    *,
    valign: str = "top",
    halign: str = "center",
    pulse: str = "",
) -> Overlay:
    """An overlay of ``img`` aligned in ``zone``, shrunk to fit and clamped inside it."""
    img = _fit_within(img, zone)
    w, h = img.size
    if halign == "left":
        x = zone.x
    elif halign == "right":
        x = zone.x + zone.w - w
    else:
        x = zone.x + (zone.w - w) // 2
    if valign == "center":
        y = zone.y + (zone.h - h) // 2
    elif valign == "bottom":
        y = zone.y + zone.h - h
    else:
        y = zone.y
    x = max(zone.x, min(x, zone.x + zone.w - w))
    y = max(zone.y, min(y, zone.y + zone.h - h))
    return Overlay(img, int(x), int(y), t0, t1, kind, pulse)


def make_layout(spec: RenderSpec, boundaries_s: list[float]) -> Layout:
    """Zones inside the safe area, leaving the label's corner row free."""
    width, height = frame_size(spec.aspect, spec.height)
    sx, sy, sw, sh = safe_area(spec.aspect, width, height)
    unit = min(width, height)
    duration = boundaries_s[-1]
    label_style = TextStyle(
        max_size=max(10, int(unit * 0.032)),
        min_size=8,
        max_lines=1,
        weight="Medium",
        fill=(255, 255, 255, 235),
        box_fill=(0, 0, 0, 120),
        pad_ratio=0.35,
    )
    label_img = render_text(spec.label_text, sw // 2, max(12, int(sh * 0.08)), label_style)
    lw, lh = label_img.size
    top_side = spec.label_position.startswith("top")
    lx = sx if spec.label_position.endswith("left") else sx + sw - lw
    ly = sy if top_side else sy + sh - lh
    label = Overlay(label_img, lx, ly, 0.0, duration, "label")
    gap = max(2, int(unit * 0.015))
    inner_top = sy + (lh + gap if top_side else 0)
    inner_bottom = sy + sh - (0 if top_side else lh + gap)
    inner_h = inner_bottom - inner_top
    top = Zone(sx, inner_top, sw, int(inner_h * 0.27))
    bottom_h = int(inner_h * 0.22)
    bottom = Zone(sx, inner_bottom - bottom_h, sw, bottom_h)
    middle = Zone(sx, top.y + top.h + gap, sw, bottom.y - gap - (top.y + top.h + gap))
    return Layout(
        spec=spec,
        width=width,
        height=height,
        safe=(sx, sy, sw, sh),
        starts=boundaries_s[:-1],
        ends=boundaries_s[1:],
        label=label,
        top=top,
        middle=middle,
        bottom=bottom,
        unit=unit,
    )


# ---------------------------------------------------------------- shared pieces


def _luminance(c: RGB) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def lin(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])


def contrast(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio of two colours (1 .. 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


#: An accent must reach this WCAG contrast with the text drawn on or around it (3:1, AA for large text:
#: accents carry headlines, buttons and strokes, all large and bold).
ACCENT_CONTRAST = 3.0


def _hex(c: str) -> RGB:
    c = c.strip().lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", c):
        raise ValueError(f"brand colour {c!r} is not #rrggbb")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


def brand_accent(accent: RGB, brand: list[str] | None, text: RGB = (255, 255, 255)) -> RGB:
    """The template ``accent`` replaced by the closest legible brand colour.

    ``text`` is the colour the template draws on or around its accent: white letters on accent boxes and
    buttons in most templates, a black stroke around accent-coloured letters in ``hook_punch`` and
    ``ugc_captions``. Brand colours are tried in the order given (the first is the primary); the first that
    reaches :data:`ACCENT_CONTRAST` against ``text`` wins. When none does, the primary is darkened (white
    text) or lightened (black text) by the smallest step that does -- the closest legible version of the
    brand's own colour. Invalid entries are ignored; with none left the template's accent stays.
    """
    colours = []
    for c in brand or []:
        try:
            colours.append(_hex(c))
        except ValueError:
            continue
    if not colours:
        return accent
    for c in colours:
        if contrast(c, text) >= ACCENT_CONTRAST:
            return c
    base = colours[0]
    toward = (0, 0, 0) if _luminance(text) > 0.5 else (255, 255, 255)
    for step in range(1, 101):
        f = step / 100
        c = (
            int(round(base[0] + (toward[0] - base[0]) * f)),
            int(round(base[1] + (toward[1] - base[1]) * f)),
            int(round(base[2] + (toward[2] - base[2]) * f)),
        )
        if contrast(c, text) >= ACCENT_CONTRAST:
            return c
    return accent


def _brand(lay: Layout, palette: tuple[RGB, ...], text: RGB = (255, 255, 255)) -> tuple[RGB, ...]:
    """``palette`` with its accent (index 2) set by :func:`brand_accent` from ``spec.brand_colours``."""
    if not lay.spec.brand_colours:
        return palette
    return (*palette[:2], brand_accent(palette[2], lay.spec.brand_colours, text), *palette[3:])


def _rgba(c: RGB, a: int = 255) -> tuple[int, int, int, int]:
    return (c[0], c[1], c[2], a)


def hook_text(spec: RenderSpec) -> str:
    """The line the video opens on (and the cover shows): the first shot's caption, else the title."""
    return (spec.shots[0].caption or spec.title or spec.product_name).strip()


def _tokens(text: str) -> str:
    """``text`` as its words (each CJK character one word), lower case, without punctuation, space-separated."""
    return " ".join(re.findall(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+", text.lower()))


def on_screen(lay: Layout, t0: float, t1: float) -> str:
    """The words of the text overlays (not subtitles, not the AIGC label) shown for at least half of t0..t1."""
    need = 0.5 * max(t1 - t0, 1e-6)
    shown = [
        o.text
        for o in lay.overlays
        if o.text and o.kind not in ("subtitle", "label") and min(o.t1, t1) - max(o.t0, t0) >= need
    ]
    return " | ".join(_tokens(t) for t in shown)


def add_subtitles(lay: Layout, *, style: TextStyle | None = None) -> None:
    """Narration cues as burnt-in subtitles in the bottom zone. A cue whose words are already on screen while it is
    spoken (the hook caption, the CTA button saying the line) is left out: the same sentence twice in one frame
    reads as a mistake, and a sound-off viewer still reads it once."""
    style = style or TextStyle(
        max_size=lay.px(0.055), min_size=lay.px(0.03), max_lines=2, stroke_ratio=0.09, weight="Bold"
    )
    for cue in lay.spec.cues:
        if not cue.text.strip():
            continue
        said = _tokens(cue.text)
        if said and f" {said} " in f" {on_screen(lay, cue.start_s, cue.end_s)} ":
            continue
        img = render_text(cue.text.strip(), lay.bottom.w, lay.bottom.h, style)
        lay.add(img, lay.bottom, cue.start_s, cue.end_s, "subtitle", valign="bottom")


def headline_style(lay: Layout, box: RGB | None, fill: RGB = (255, 255, 255), scale: float = 1.0) -> TextStyle:
    return TextStyle(
        max_size=lay.px(0.085 * scale),
        min_size=lay.px(0.035),
        max_lines=3,
        fill=_rgba(fill),
        stroke_ratio=0.0 if box else 0.08,
        box_fill=_rgba(box, 225) if box else None,
        pad_ratio=0.3,
    )


def add_headline(lay: Layout, i: int, text: str, style: TextStyle, kind: str = "headline") -> Overlay | None:
    if not text.strip():
        return None
    img = render_text(text.strip(), lay.top.w, lay.top.h, style)
    return lay.add(img, lay.top, lay.starts[i], lay.ends[i], kind)


def add_punch(lay: Layout, i: int, text: str, zone: Zone, style: TextStyle, kind: str = "hook") -> None:
    """``text`` popping in: drawn 1.3x, 1.15x then 1x over the shot's first frames, centred in ``zone``."""
    if not text.strip():
        return
    fps = lay.spec.fps
    t0, t1 = lay.starts[i], lay.ends[i]
    inner_w, inner_h = int(zone.w / 1.3), int(zone.h / 1.3)
    steps = [(1.3, 2), (1.15, 2), (1.0, None)]
    t = t0
    for scale, frames in steps:
        end = t1 if frames is None else min(t1, t + frames / fps)
        if end <= t:
            continue
        img = render_text(text.strip(), inner_w, inner_h, style, scale=scale)
        lay.add(img, zone, t, end, kind, valign="center")
        t = end


def _fit_within(img: Image.Image, zone: Zone) -> Image.Image:
    """``img`` shrunk (never grown) to fit ``zone``: a scaled frame (the 1.3x punch-in, a pulsing button) of a
    text that already fills the zone can overshoot it by the stroke and rounding, which put a caption outside
    the safe area for two frames of a demo creative."""
    factor = min(zone.w / img.width, zone.h / img.height, 1.0)
    if factor >= 1.0:
        return img
    size = (max(1, int(img.width * factor)), max(1, int(img.height * factor)))
    return img.resize(size, Image.Resampling.LANCZOS)


def cta_button(lay: Layout, text: str, accent: RGB, max_w: int, max_h: int, scale: float = 1.0) -> Image.Image:
    style = TextStyle(
        max_size=lay.px(0.06),
        min_size=lay.px(0.03),
        max_lines=1,
        fill=(255, 255, 255, 255),
        box_fill=_rgba(accent, 255),
        pad_ratio=0.55,
        radius_ratio=0.9,
    )
    return render_text(text, int(max_w / 1.1), int(max_h / 1.1), style, scale=scale)


def add_cta(lay: Layout, i: int, text: str, zone: Zone, accent: RGB) -> None:
    """A CTA button that pulses (1x / 1.08x, switching every half second)."""
    if not text.strip():
        return
    t0, t1 = lay.starts[i], lay.ends[i]
    lay.add(cta_button(lay, text, accent, zone.w, zone.h), zone, t0, t1, "cta", valign="center", pulse="on")
    lay.add(cta_button(lay, text, accent, zone.w, zone.h, 1.08), zone, t0, t1, "cta", valign="center", pulse="off")


def split_zone(zone: Zone, fractions: list[float], gap: int) -> list[Zone]:
    """Cut ``zone`` top to bottom into parts of the given height fractions."""
    out: list[Zone] = []
    y = zone.y
    usable = zone.h - gap * (len(fractions) - 1)
    for f in fractions:
        h = int(usable * f)
        out.append(Zone(zone.x, y, zone.w, h))
        y += h + gap
    return out


def end_card(lay: Layout, i: int, accent: RGB) -> None:
    """Product name, big price, the shot caption and a pulsing CTA in the middle of the frame."""
    spec = lay.spec
    name_style = headline_style(lay, None)
    add_headline(lay, i, spec.product_name or spec.title, name_style, "product")
    parts = split_zone(lay.middle, [0.42, 0.26, 0.32], lay.px(0.01, 2))
    t0, t1 = lay.starts[i], lay.ends[i]
    if spec.price_text.strip():
        price_style = TextStyle(
            max_size=lay.px(0.16),
            min_size=lay.px(0.05),
            max_lines=1,
            fill=_rgba(accent),
            stroke_ratio=0.06,
            stroke_fill=(255, 255, 255, 255),
        )
        lay.add(
            render_text(spec.price_text.strip(), parts[0].w, parts[0].h, price_style),
            parts[0],
            t0,
            t1,
            "price",
            valign="center",
        )
    cap = spec.shots[i].caption.strip()
    if cap:
        cap_style = TextStyle(max_size=lay.px(0.05), min_size=lay.px(0.028), max_lines=2, stroke_ratio=0.08)
        lay.add(render_text(cap, parts[1].w, parts[1].h, cap_style), parts[1], t0, t1, "caption", valign="center")
    add_cta(lay, i, spec.cta_text or ("立即购买" if lay.zh else "Shop now"), parts[2], accent)


def _final_shot_is_offer(spec: RenderSpec) -> bool:
    return len(spec.shots) > 1 and spec.shots[-1].role in (ShotRole.offer, ShotRole.cta)


# ---------------------------------------------------------------- product cards (shots without a picture)


def product_card(lay: Layout, name: str, tagline: str, zone: Zone, palette: tuple[RGB, ...]) -> Image.Image:
    """The product set large as the shot's visual: its name, a short accent rule and its key selling point on
    a frosted card with a soft shadow; light text on a tinted dark card for dark palettes, dark text on a
    white card for light ones, so it reads over the moving backdrop."""
    light = is_light(palette)
    accent = palette[2 % len(palette)]
    ink = (34, 28, 32, 255) if light else (255, 255, 255, 255)
    soft_ink = (88, 72, 80, 255) if light else (232, 232, 238, 255)
    pad = lay.px(0.04, 5)
    margin = lay.px(0.02, 2)  # room for the shadow inside the image
    gap = lay.px(0.02, 2)
    rule_h = lay.px(0.009, 2)
    if zone.h < lay.px(0.32):  # a short band: the name alone, large, rather than two lines squeezed small
        tagline = ""
    inner_w = zone.w - 2 * pad - 2 * margin
    budget = zone.h - 2 * pad - 2 * margin - rule_h - gap * (2 if tagline else 1)
    name_h = int(budget * (0.62 if tagline else 1.0))
    # One line when it still sets the name large; two only when it must (a one-character orphan such as
    # "水润保湿精 / 华" reads as a mistake).
    name_style = TextStyle(max_size=lay.px(0.12), min_size=lay.px(0.07), max_lines=1, fill=ink)
    _size, lines = fit_text(name, inner_w, name_h, name_style)
    if len(lines) > 1 or lines[0] != name:
        name_style = TextStyle(max_size=lay.px(0.12), min_size=lay.px(0.045), max_lines=2, fill=ink)
    name_img = render_text(name, inner_w, name_h, name_style)
    parts = [name_img]
    if tagline:
        tag_style = TextStyle(
            max_size=lay.px(0.05), min_size=lay.px(0.028), max_lines=2, weight="Medium", fill=soft_ink
        )
        parts.append(render_text(tagline, inner_w, budget - name_img.height, tag_style))
    rule_w = max(lay.px(0.1), name_img.width // 4)
    card_w = max(rule_w, *(p.width for p in parts)) + 2 * pad
    card_h = 2 * pad + sum(p.height for p in parts) + rule_h + gap * len(parts)
    img = Image.new("RGBA", (card_w + 2 * margin, card_h + 2 * margin), (0, 0, 0, 0))
    radius = lay.px(0.035, 4)
    shadow = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ImageDraw.Draw(shadow).rounded_rectangle(
        (margin, margin + margin // 2, margin + card_w - 1, margin + card_h - 1), radius=radius, fill=(0, 0, 0, 70)
    )
    img.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(max(1, margin // 2))))
    d = ImageDraw.Draw(img)
    box = (margin, margin, margin + card_w - 1, margin + card_h - 1)
    if light:
        d.rounded_rectangle(box, radius=radius, fill=(255, 255, 255, 215))
    else:
        tint = tuple(int(c * 0.35) for c in palette[0])
        d.rounded_rectangle(
            box, radius=radius, fill=(*tint, 175), outline=(255, 255, 255, 70), width=max(1, lay.px(0.003, 1))
        )
    y = margin + pad
    img.alpha_composite(name_img, (margin + (card_w - name_img.width) // 2, y))
    y += name_img.height + gap
    rx = margin + (card_w - rule_w) // 2
    d.rounded_rectangle((rx, y, rx + rule_w - 1, y + rule_h - 1), radius=rule_h // 2, fill=_rgba(accent))
    y += rule_h + gap
    for p in parts[1:]:
        img.alpha_composite(p, (margin + (card_w - p.width) // 2, y))
    return img


def _free_band(lay: Layout, blocking: list[Overlay]) -> Zone:
    """The tallest horizontal band of the middle zone that no overlay in ``blocking`` touches."""
    mid = lay.middle
    gap = lay.px(0.02, 2)
    spans = sorted(
        (max(mid.y, ov.y - gap), min(mid.y + mid.h, ov.y + ov.image.height + gap))
        for ov in blocking
        if ov.y < mid.y + mid.h and ov.y + ov.image.height > mid.y
    )
    best, y = Zone(mid.x, mid.y, mid.w, 0), mid.y
    for a, b in [*spans, (mid.y + mid.h, mid.y + mid.h)]:
        if a - y > best.h:
            best = Zone(mid.x, y, mid.w, a - y)
        y = max(y, b)
    return best


def with_product_cards(lay: Layout, plan: Plan, designed: list[bool]) -> list[Overlay]:
    """``plan``'s overlays plus a :func:`product_card` on every shot that shows a designed backdrop.

    A shot has a designed backdrop when it has no usable picture (see ``render``); there the product's
    name and key selling point (``spec.tagline``) become the visual. The card goes in the tallest band of
    the middle zone left free by the template's own text in that shot, and only when that band is at least
    two fifths of the zone: a review card, a feature panel, an end card or a split screen keeps the middle
    to itself. A small product-name tag in that shot gives way to the card, which says the same larger.
    """
    spec = lay.spec
    name, tagline = (spec.product_name or spec.title).strip(), spec.tagline.strip()
    if not name:
        name, tagline = tagline, ""
    if not name:
        return list(plan.overlays)
    mid = lay.middle
    dropped: set[int] = set()
    cards: list[Overlay] = []
    for i, show in enumerate(designed):
        if not show or plan.looks[i].split_with is not None:
            continue
        t0, t1 = lay.starts[i], lay.ends[i]
        active = [ov for ov in plan.overlays if ov.kind != "label" and ov.t0 < t1 - 1e-3 and ov.t1 > t0 + 1e-3]
        tags = [ov for ov in active if ov.kind == "product" and mid.y <= ov.y <= mid.y + mid.h - ov.image.height]
        band = _free_band(lay, [ov for ov in active if all(ov is not tag for tag in tags)])
        if band.h < max(0.4 * mid.h, lay.px(0.13)):
            continue
        card = product_card(lay, name, tagline, band, plan.palette)
        cards.append(place(card, band, t0, t1, "product_card", valign="center"))
        dropped.update(id(tag) for tag in tags)
    return [*cards, *(ov for ov in plan.overlays if id(ov) not in dropped)]


# ---------------------------------------------------------------- templates


def plan_product_showcase(lay: Layout) -> Plan:
    palette = _brand(lay, ((24, 32, 64), (92, 52, 140), (255, 94, 58)))
    accent = palette[2]
    spec = lay.spec
    motions = ["zoom_in", "pan_lr", "zoom_out", "pan_rl"]
    looks = [ShotLook(motion=motions[i % len(motions)], zoom=0.10) for i in range(len(spec.shots))]
    style = headline_style(lay, accent)
    for i, shot in enumerate(spec.shots):
        text = hook_text(spec) if i == 0 else shot.caption
        add_headline(lay, i, text, style, "hook" if i == 0 else "headline")
    if spec.product_name.strip():
        tag_zone = split_zone(lay.middle, [0.8, 0.2], 0)[1]
        tag_style = TextStyle(
            max_size=lay.px(0.045),
            min_size=lay.px(0.025),
            max_lines=1,
            fill=(20, 20, 20, 255),
            box_fill=(255, 255, 255, 230),
            pad_ratio=0.4,
        )
        lay.add(
            render_text(spec.product_name, tag_zone.w, tag_zone.h, tag_style),
            tag_zone,
            lay.starts[0],
            lay.ends[0],
            "product",
            valign="bottom",
        )
    last = len(spec.shots) - 1
    if last > 0 and spec.cta_text.strip():
        add_cta(lay, last, spec.cta_text, split_zone(lay.middle, [0.75, 0.25], 0)[1], accent)
    add_subtitles(lay)
    return Plan(looks, lay.overlays, "fade", 0.4, palette, BackdropStyle("dots", "circles"))


def plan_hook_punch(lay: Layout) -> Plan:
    palette = _brand(lay, ((10, 10, 10), (60, 20, 20), (255, 214, 0)), text=(0, 0, 0))
    accent = palette[2]
    spec = lay.spec
    looks = [ShotLook(motion="punch" if i == 0 else "zoom_in", zoom=0.18) for i in range(len(spec.shots))]
    big = TextStyle(
        max_size=lay.px(0.13),
        min_size=lay.px(0.045),
        max_lines=3,
        fill=_rgba(accent),
        stroke_ratio=0.1,
        stroke_fill=(0, 0, 0, 255),
    )
    hook_zone = Zone(lay.middle.x, lay.top.y, lay.middle.w, lay.middle.y + lay.middle.h - lay.top.y)
    add_punch(lay, 0, hook_text(spec), hook_zone, big)
    style = TextStyle(
        max_size=lay.px(0.09), min_size=lay.px(0.035), max_lines=3, fill=(255, 255, 255, 255), stroke_ratio=0.1
    )
    for i in range(1, len(spec.shots)):
        add_punch(lay, i, spec.shots[i].caption, lay.top, style, "headline")
    if _final_shot_is_offer(spec) and spec.cta_text.strip():
        cta = brand_accent((230, 30, 50), spec.brand_colours)
        add_cta(lay, len(spec.shots) - 1, spec.cta_text, split_zone(lay.middle, [0.7, 0.3], 0)[1], cta)
    add_subtitles(lay)
    return Plan(looks, lay.overlays, "zoomin", 0.25, palette, BackdropStyle("stripes", "squares", speed=0.1))


def _before_after_pair(spec: RenderSpec, notes: list[str]) -> tuple[int, int | None]:
    """(before, after) shots of the split screen; ``after`` ``None`` drops the split (reason in ``notes``).

    A split screen promises the same thing shown before and after; only the footage can keep that promise.
    So: when any shot's media is marked (``ShotSpec.contrast``), the split shows the first "before" beside
    the first "after", and is dropped if either is missing. When no shot is marked but some shot has media,
    the split is dropped: an unmarked product photo beside another proves nothing. When no shot has media
    (every picture is the template's designed backdrop: a drained "before" beside a coloured "after"), the
    split is the template's own illustration and stays as it always was: the first problem shot (else shot
    0) beside the next demo, proof or feature shot (else the shot after it).
    """
    n = len(spec.shots)
    marks = [s.contrast for s in spec.shots]
    if any(marks):
        b = next((i for i, m in enumerate(marks) if m == "before"), None)
        a = next((i for i, m in enumerate(marks) if m == "after"), None)
        if b is None or a is None:
            notes.append("before/after split dropped: media is marked only " + ("after" if b is None else "before"))
            return b or 0, None
        return b, a
    if any(s.media is not None for s in spec.shots):
        notes.append("before/after split dropped: no shot's media is marked before/after (ShotSpec.contrast)")
        return 0, None
    before = next((i for i, s in enumerate(spec.shots) if s.role == ShotRole.problem), 0)
    after = next(
        (i for i in range(before + 1, n) if spec.shots[i].role in (ShotRole.demo, ShotRole.proof, ShotRole.feature)),
        before + 1,
    )
    return before, after if after < n else None


def plan_before_after(lay: Layout) -> Plan:
    palette = _brand(lay, ((30, 60, 80), (40, 120, 140), (0, 200, 150)))
    spec = lay.spec
    n = len(spec.shots)
    looks = [ShotLook(motion="zoom_in", zoom=0.06) for _ in range(n)]
    notes: list[str] = []
    before, split_i = _before_after_pair(spec, notes)
    style = headline_style(lay, palette[0])
    for i, shot in enumerate(spec.shots):
        if i == split_i:
            continue
        add_headline(lay, i, hook_text(spec) if i == 0 else shot.caption, style, "hook" if i == 0 else "headline")
    if split_i is not None:
        looks[split_i] = ShotLook(motion="static", split_with=before)
        t0, t1 = lay.starts[split_i], lay.ends[split_i]
        tag = TextStyle(
            max_size=lay.px(0.05),
            min_size=lay.px(0.025),
            max_lines=1,
            fill=(255, 255, 255, 255),
            box_fill=(0, 0, 0, 170),
            pad_ratio=0.4,
        )
        words = ("使用前", "使用后") if lay.zh else ("BEFORE", "AFTER")
        portrait = lay.height > lay.width
        gap = lay.px(0.02, 2)
        if portrait:
            z_before = Zone(lay.top.x, lay.top.y, lay.top.w // 2, lay.top.h // 2)
            z_after = Zone(lay.top.x, lay.height // 2 + gap, lay.top.w // 2, lay.top.h // 2)
        else:
            z_before = Zone(lay.top.x, lay.top.y, lay.width // 2 - lay.top.x - gap, lay.top.h // 2)
            z_after = Zone(
                lay.width // 2 + gap, lay.top.y, lay.top.x + lay.top.w - lay.width // 2 - gap, lay.top.h // 2
            )
        for word, zone, kind in ((words[0], z_before, "before"), (words[1], z_after, "after")):
            lay.add(render_text(word, zone.w, zone.h, tag), zone, t0, t1, kind, halign="left")
        cap = spec.shots[split_i].caption.strip()
        if cap:
            cap_zone = split_zone(lay.middle, [0.3, 0.4, 0.3], 0)[2] if portrait else lay.middle
            cap_style = TextStyle(
                max_size=lay.px(0.065),
                min_size=lay.px(0.03),
                max_lines=2,
                fill=(255, 255, 255, 255),
                box_fill=_rgba(palette[2], 230),
                pad_ratio=0.35,
            )
            lay.add(render_text(cap, cap_zone.w, cap_zone.h, cap_style), cap_zone, t0, t1, "headline", valign="bottom")
    add_subtitles(lay)
    return Plan(looks, lay.overlays, "wipeleft", 0.4, palette, BackdropStyle("grid", "rings", sweep=False), notes)


def review_card(lay: Layout, quote: str, zone: Zone) -> Image.Image:
    """A white rounded card with five stars, the quote and a verified-buyer line."""
    pad = lay.px(0.04, 4)
    star_r = lay.px(0.03, 4)
    attribution = "— 真实买家评价" if lay.zh else "— Verified buyer"
    attr_style = TextStyle(
        max_size=lay.px(0.035), min_size=lay.px(0.022), max_lines=1, weight="Regular", fill=(110, 110, 110, 255)
    )
    quote_style = TextStyle(
        max_size=lay.px(0.065), min_size=lay.px(0.03), max_lines=4, weight="Bold", fill=(25, 25, 25, 255)
    )
    inner_w = zone.w - 2 * pad
    attr = render_text(attribution, inner_w, lay.px(0.06), attr_style)
    quote_h = max(10, zone.h - 2 * pad - 2 * star_r - attr.height - 2 * pad // 2)
    q = render_text(f"“{quote}”", inner_w, quote_h, quote_style)
    card_w = zone.w
    card_h = min(zone.h, 2 * pad + 2 * star_r + pad // 2 + q.height + pad // 2 + attr.height)
    card = Image.new("RGBA", (card_w, card_h), (0, 0, 0, 0))
    d = ImageDraw.Draw(card)
    d.rounded_rectangle((0, 0, card_w - 1, card_h - 1), radius=lay.px(0.03), fill=(255, 255, 255, 240))
    cx0 = card_w // 2 - 4 * star_r * 1.2 // 1
    for k in range(5):
        draw_star(d, cx0 + k * star_r * 2.4, pad + star_r, star_r, (255, 176, 0, 255))
    y = pad + 2 * star_r + pad // 2
    card.alpha_composite(q, ((card_w - q.width) // 2, y))
    y += q.height + pad // 2
    card.alpha_composite(attr, (max(0, card_w - pad - attr.width), min(y, card_h - attr.height)))
    return card


def plan_testimonial(lay: Layout) -> Plan:
    palette = _brand(lay, ((250, 214, 200), (240, 160, 150), (214, 64, 90)))
    spec = lay.spec
    n = len(spec.shots)
    looks = [ShotLook(motion="zoom_in", zoom=0.05) for _ in range(n)]
    style = headline_style(lay, palette[2])
    add_headline(lay, 0, hook_text(spec), style, "hook")
    end_i = n - 1 if _final_shot_is_offer(spec) and (spec.price_text or spec.cta_text) else None
    for i in range(1, n):
        if i == end_i:
            looks[i] = ShotLook(motion="zoom_in", zoom=0.04, blur=6.0, dim=0.45)
            end_card(lay, i, palette[2])
            continue
        quote = spec.shots[i].caption.strip()
        if not quote:
            continue
        looks[i] = ShotLook(motion="zoom_out", zoom=0.05, blur=8.0, dim=0.35)
        lay.add(review_card(lay, quote, lay.middle), lay.middle, lay.starts[i], lay.ends[i], "card", valign="center")
    add_subtitles(lay)
    return Plan(looks, lay.overlays, "fade", 0.5, palette, BackdropStyle("dots", "circles", speed=0.05))


def feature_panel(lay: Layout, items: list[str], current: int, zone: Zone, accent: RGB) -> Image.Image:
    """A translucent panel listing ``items`` with ticks; the current item is highlighted."""
    pad = lay.px(0.03, 4)
    n = max(1, len(items))
    row_h = min(lay.px(0.11), (zone.h - 2 * pad) // n)
    tick = int(row_h * 0.55)
    text_w = zone.w - 2 * pad - tick - pad
    style = TextStyle(
        max_size=int(row_h * 0.55),
        min_size=max(8, int(row_h * 0.25)),
        max_lines=2,
        align="left",
        fill=(255, 255, 255, 255),
    )
    panel_h = 2 * pad + row_h * n
    panel = Image.new("RGBA", (zone.w, panel_h), (0, 0, 0, 0))
    d = ImageDraw.Draw(panel)
    d.rounded_rectangle((0, 0, zone.w - 1, panel_h - 1), radius=lay.px(0.03), fill=(0, 0, 0, 150))
    for k, item in enumerate(items):
        y = pad + k * row_h
        if k == current:
            d.rounded_rectangle(
                (pad // 2, y, zone.w - 1 - pad // 2, y + row_h - 2), radius=lay.px(0.02), fill=_rgba(accent, 200)
            )
        cx, cy = pad + tick // 2, y + row_h // 2
        d.ellipse((cx - tick // 2, cy - tick // 2, cx + tick // 2, cy + tick // 2), fill=(255, 255, 255, 255))
        lw = max(2, tick // 7)
        d.line(
            [(cx - tick * 0.25, cy), (cx - tick * 0.05, cy + tick * 0.2), (cx + tick * 0.28, cy - tick * 0.22)],
            fill=_rgba(accent),
            width=lw,
        )
        img = render_text(item, text_w, row_h - 4, style)
        panel.alpha_composite(img, (pad + tick + pad, y + max(0, (row_h - img.height) // 2)))
    return panel


def plan_feature_list(lay: Layout) -> Plan:
    palette = _brand(lay, ((16, 40, 48), (20, 90, 110), (0, 150, 255)))
    spec = lay.spec
    n = len(spec.shots)
    looks = [ShotLook(motion="pan_lr" if i % 2 else "zoom_in", zoom=0.08) for i in range(n)]
    add_headline(lay, 0, hook_text(spec), headline_style(lay, palette[2]), "hook")
    end_i = n - 1 if _final_shot_is_offer(spec) and (spec.price_text or spec.cta_text) else None
    feats = [i for i in range(1, n) if i != end_i and spec.shots[i].caption.strip()]
    items = [spec.shots[i].caption.strip() for i in feats]
    title = spec.product_name or spec.title
    for k, i in enumerate(feats):
        looks[i].dim = 0.25
        if title:
            add_headline(lay, i, title, headline_style(lay, None, scale=0.8), "headline")
        panel = feature_panel(lay, items[: k + 1], k, lay.middle, palette[2])
        lay.add(panel, lay.middle, lay.starts[i], lay.ends[i], "panel", valign="center")
    if end_i is not None:
        looks[end_i] = ShotLook(motion="zoom_in", zoom=0.04, blur=6.0, dim=0.45)
        end_card(lay, end_i, palette[2])
    add_subtitles(lay)
    return Plan(looks, lay.overlays, "slideup", 0.35, palette, BackdropStyle("grid", "squares"))


def plan_price_cta(lay: Layout) -> Plan:
    palette = _brand(lay, ((120, 10, 20), (200, 30, 40), (255, 60, 50)))
    spec = lay.spec
    n = len(spec.shots)
    motions = ["zoom_in", "pan_rl", "zoom_out", "pan_lr"]
    looks = [ShotLook(motion=motions[i % 4], zoom=0.10) for i in range(n)]
    style = headline_style(lay, palette[1])
    end_i = n - 1
    for i in range(n - 1 if n > 1 else n):
        add_headline(
            lay, i, hook_text(spec) if i == 0 else spec.shots[i].caption, style, "hook" if i == 0 else "headline"
        )
    if n > 1:
        looks[end_i] = ShotLook(motion="zoom_in", zoom=0.05, blur=6.0, dim=0.5)
        end_card(lay, end_i, palette[2])
    add_subtitles(lay)
    return Plan(looks, lay.overlays, "smoothleft", 0.35, palette, BackdropStyle("stripes", "circles", speed=0.07))


def caption_chunks(text: str, zh: bool) -> list[str]:
    """Cut a narration line into short on-screen chunks: ≤8 characters (Chinese) or ≤3 words (English)."""
    pieces = [p.strip() for p in re.split(r"(?<=[，。！？；、,.!?;])\s*", text) if p.strip()]
    out: list[str] = []
    for p in pieces:
        units: list[str] = list(p) if zh else p.split()
        limit = 8 if zh else 3
        parts = -(-len(units) // limit)  # ceil: as few chunks as the limit allows, evenly sized
        size = -(-len(units) // parts)
        joiner = "" if zh else " "
        out.extend(joiner.join(units[k : k + size]) for k in range(0, len(units), size))
    return out


def plan_ugc_captions(lay: Layout) -> Plan:
    palette = _brand(lay, ((60, 50, 40), (120, 100, 80), (255, 230, 0)), text=(0, 0, 0))
    spec = lay.spec
    looks = [ShotLook(motion="shake", zoom=0.06) for _ in spec.shots]
    sticker = TextStyle(
        max_size=lay.px(0.06),
        min_size=lay.px(0.03),
        max_lines=2,
        fill=(0, 0, 0, 255),
        box_fill=(255, 255, 255, 240),
        pad_ratio=0.35,
        radius_ratio=0.2,
    )
    for i, shot in enumerate(spec.shots):
        add_headline(lay, i, hook_text(spec) if i == 0 else shot.caption, sticker, "hook" if i == 0 else "headline")
    zone = Zone(lay.middle.x, lay.middle.y + lay.middle.h // 2, lay.middle.w, lay.middle.h // 2)
    colors = [(255, 255, 255, 255), _rgba(palette[2])]
    k = 0
    for cue in spec.cues:
        chunks = caption_chunks(cue.text, lay.zh)
        total = sum(len(c) for c in chunks) or 1
        t = cue.start_s
        for chunk in chunks:
            dt = (cue.end_s - cue.start_s) * len(chunk) / total
            style = TextStyle(
                max_size=lay.px(0.1), min_size=lay.px(0.04), max_lines=2, fill=colors[k % 2], stroke_ratio=0.12
            )
            lay.add(render_text(chunk, zone.w, zone.h, style), zone, t, t + dt, "subtitle", valign="center")
            t += dt
            k += 1
    return Plan(looks, lay.overlays, None, 0.0, palette, BackdropStyle("dots", "mixed", sweep=False, speed=0.06))


@dataclass(frozen=True)
class Template:
    """A named template: a one-line description and the function that plans a render."""

    name: str
    description: str
    plan: Callable[[Layout], Plan]


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "product_showcase", "Product showcase: slow zoom/pan, headline per shot, CTA button", plan_product_showcase
        ),
        Template("hook_punch", "Hook-text punch-in over a fast zoom, punchy headlines", plan_hook_punch),
        Template("before_after", "Before/after split screen with labels", plan_before_after),
        Template("testimonial", "Review/testimonial cards with stars over a blurred product", plan_testimonial),
        Template("feature_list", "Checklist that gains one ticked feature per shot", plan_feature_list),
        Template("price_cta", "Showcase ending on a price + pulsing CTA end card", plan_price_cta),
        Template("ugc_captions", "UGC style: handheld sway, hard cuts, big word-chunk captions", plan_ugc_captions),
    )
}

__all__ = ["TEMPLATES", "Template", "Plan", "ShotLook", "Overlay", "Layout", "make_layout", "fit_text", "load_font"]
