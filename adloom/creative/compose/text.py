"""Wrap, fit and draw caption text as transparent images, with Pillow and the CJK font.

Pillow measures every glyph with the real font, so wrapping and fitting are
exact for Chinese and English alike; the renderer overlays the resulting
images in the ffmpeg graph. Chinese wraps between characters with simple
line-breaking rules (no line starts with a closing mark, none ends with an
opening mark); English and numbers wrap between words.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from adloom.core.fonts import load_font

RGBA = tuple[int, int, int, int]

_CLOSING = set("，。、；：？！…）》」』】〉”’,.;:?!)]}%~～·—")
_OPENING = set("（《「『【〈“‘([{$¥￥#@")


@dataclass(frozen=True)
class TextStyle:
    """How a text box looks: font weight and size limits (px), colours, stroke, backdrop."""

    max_size: int
    min_size: int
    max_lines: int = 3
    weight: str = "Bold"
    fill: RGBA = (255, 255, 255, 255)
    stroke_ratio: float = 0.0  # stroke width as a fraction of the font size
    stroke_fill: RGBA = (0, 0, 0, 255)
    box_fill: RGBA | None = None  # a rounded backdrop behind the text
    pad_ratio: float = 0.25  # padding around the text, as a fraction of the font size
    radius_ratio: float = 0.3
    line_spacing: float = 1.0
    align: str = "center"


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def _words(text: str) -> list[str]:
    """Chinese text segmented into words by jieba (the segmenter misaki's Chinese G2P already uses; dictionary-based,
    offline), so neither a wrapped line nor a subtitle cue splits a word."""
    import logging

    import jieba

    logging.getLogger("jieba").setLevel(logging.WARNING)  # its import sets DEBUG: "Building prefix dict ..."
    return list(jieba.lcut(text))


def _units(text: str) -> list[str]:
    """Split text into unbreakable units: a Latin word/number run or one CJK character; ' ' marks a space."""
    units: list[str] = []
    word = ""
    for ch in text:
        if ch.isspace():
            if word:
                units.append(word)
                word = ""
            units.append(" ")
        elif ch.isascii() and (ch.isalnum() or ch in "'-_/&+.,:;!?%$"):
            word += ch
        else:
            if word:
                units.append(word)
                word = ""
            units.append(ch)
    if word:
        units.append(word)
    if any(_is_cjk(u) for u in units if len(u) == 1):  # Chinese characters of one word (jieba's, over the whole
        cuts, at = set(), 0  # text, so "5.99万起" keeps "万起") become one unit
        for w in _words(text):
            at += len(w)
            cuts.add(at)
        merged: list[str] = []
        at = 0
        for u in units:
            if merged and _is_cjk(u[0]) and _is_cjk(merged[-1][-1]) and at not in cuts:
                merged[-1] += u
            else:
                merged.append(u)
            at += len(u)
        units = merged
    # Glue closing marks to the unit before and opening marks to the unit after.
    glued: list[str] = []
    for u in units:
        if glued and u in _CLOSING and glued[-1] != " ":
            glued[-1] += u
        elif glued and glued[-1] != " " and glued[-1][-1] in _OPENING and len(glued[-1]) == 1:
            glued[-1] += u
        else:
            glued.append(u)
    return glued


_STRONG_END = set("。！？!?….")  # a cue that ends a sentence reads best
_WEAK_END = set("，、；：,;:—")  # a clause break is the next best place


def _cue_tokens(text: str) -> list[tuple[str, bool]]:
    """Words of ``text`` as ``(word, space_before)``: Chinese by jieba's word segmentation (so no cue splits a word),
    Latin by spaces; closing marks stay with the word before, opening marks with the word after."""
    if not any(_is_cjk(ch) for ch in text):
        return [(w, i > 0) for i, w in enumerate(text.split())]
    tokens: list[tuple[str, bool]] = []
    space = False
    for word in _words(text):
        if word.isspace():
            space = bool(tokens)
            continue
        if tokens and (all(ch in _CLOSING for ch in word) or (tokens[-1][0][-1] in _OPENING and not space)):
            tokens[-1] = (tokens[-1][0] + word, tokens[-1][1])
        else:
            tokens.append((word, space))
        space = False
    return _keep_titles_whole(tokens)


_PAIRS = {"《": "》", "「": "」", "『": "』", "“": "”", "【": "】"}


def _keep_titles_whole(tokens: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Merge the words of a quoted title (《云海录》, “…”) into one token, so no cue breaks inside it (an opening
    mark that is never closed merges nothing)."""
    out: list[tuple[str, bool]] = []
    closing = ""
    for k, (word, space) in enumerate(tokens):
        if closing:
            out[-1] = (out[-1][0] + (" " if space else "") + word, out[-1][1])
        else:
            out.append((word, space))
        last = out[-1][0]
        opened = [c for c in _PAIRS if c in last and last.rfind(c) > max(last.rfind(_PAIRS[c]), -1)]
        closing = _PAIRS[opened[0]] if opened else ""
        if closing and not any(closing in w for w, _ in tokens[k + 1 :]):
            closing = ""
    return out


def cue_pieces(text: str, limit: int) -> list[str]:
    """Split one spoken line into subtitle cues of at most ``limit`` characters (a single longer word stays whole).

    Greedy filling leaves orphans ("…every" / "day."), so this chooses the breaks by dynamic programming over word
    boundaries: each cue costs its squared slack (balanced cues) plus the price of the break after it (nothing at a
    sentence end, little at a clause mark, much mid-clause), so cues follow the sentence where they can."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return [text] if text else []
    tokens = _cue_tokens(text)
    n = len(tokens)

    def joined(i: int, j: int) -> str:
        return "".join((" " if k > i and tokens[k][1] else "") + tokens[k][0] for k in range(i, j))

    best: list[float] = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            piece = joined(i, j)
            if len(piece) > limit and j - i > 1:
                break
            cost = (limit - len(piece)) ** 2 if len(piece) <= limit else 10 * (len(piece) - limit) ** 2
            if j < n:  # the break after this cue: free at a sentence end, cheap at a clause mark, dear mid-clause
                cost += limit**2 * (0.0 if piece[-1] in _STRONG_END else 0.1 if piece[-1] in _WEAK_END else 1.0)
                if tokens[j - 1][0].isascii() and tokens[j - 1][0].isalpha() and len(tokens[j - 1][0]) <= 3:
                    cost += 0.5 * limit**2  # a cue ending on "the", "a", "for" leaves the reader hanging
                if tokens[j][0].isascii() and len(tokens[j][0]) <= 3 and any(c.isdigit() for c in tokens[j][0]):
                    cost += 0.15 * limit**2  # a model number ("S2") stays with the name before it
            ends = [k for k in range(i, j - 1) if tokens[k][0][-1] in _STRONG_END]
            if ends and ((j < n and j - 1 - ends[-1] <= 3) or (i > 0 and ends[0] - i <= 2)):
                cost += limit**2  # a sentence's first or last few words stranded in the next or previous cue
            if best[i] + cost < best[j]:
                best[j], back[j] = best[i] + cost, i
    pieces: list[str] = []
    j = n
    while j > 0:
        pieces.append(joined(back[j], j))
        j = back[j]
    return pieces[::-1]


def _greedy_wrap(units: list[str], font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for unit in units:
        candidate = line + unit
        if line.strip() and font.getlength(candidate.rstrip()) > max_width:
            lines.append(line.rstrip())
            line = "" if unit == " " else unit
        else:
            line = candidate
    lines.append(line.rstrip())
    return lines


def wrap_lines(text: str, font: ImageFont.FreeTypeFont, max_width: float, *, balance: bool = True) -> list[str]:
    """Wrap ``text`` (explicit newlines kept) into lines no wider than ``max_width`` where possible, between words
    (Chinese words by jieba), and balanced: the narrowest width that keeps greedy wrapping's line count, or a
    wider one when its lines end at clause marks, so no caption leaves one character alone on its last line."""
    lines: list[str] = []
    for para in text.split("\n"):
        units = _units(para)
        wrapped = _greedy_wrap(units, font, max_width)
        if balance and len(wrapped) > 1:
            widest = max(max_width, *(font.getlength(ln) for ln in wrapped))
            lo, hi, best = max_width / 2, max_width, wrapped
            for _ in range(10):  # bisect the width: about 1/1000 of the box after 10 halvings
                mid = (lo + hi) / 2
                trial = _greedy_wrap(units, font, mid)
                if len(trial) <= len(wrapped) and all(font.getlength(ln) <= widest for ln in trial):
                    hi, best = mid, trial
                else:
                    lo = mid
            # between the balanced and the full width, prefer the wrap whose lines end at clause marks
            tries = [best] + [_greedy_wrap(units, font, hi + (max_width - hi) * k / 8) for k in range(1, 9)]
            fits = [t for t in tries if len(t) <= len(wrapped)]
            wrapped = max(fits, key=lambda t: sum(ln[-1] in _STRONG_END | _WEAK_END for ln in t[:-1] if ln))
        lines.extend(wrapped)
    return [ln for ln in lines if ln] or [""]


def _line_height(font: ImageFont.FreeTypeFont, style: TextStyle) -> int:
    ascent, descent = font.getmetrics()
    return int(round((ascent + descent) * 0.9 * style.line_spacing))


def _block_size(lines: list[str], font: ImageFont.FreeTypeFont, style: TextStyle, size: int) -> tuple[int, int]:
    stroke = int(round(size * style.stroke_ratio))
    pad = int(round(size * style.pad_ratio)) if style.box_fill else 0
    width = max((font.getlength(ln) for ln in lines), default=0) + 2 * stroke + 2 * pad
    height = _line_height(font, style) * len(lines) + 2 * stroke + 2 * pad
    return int(round(width)) + 2, int(round(height)) + 2


def fit_text(text: str, box_w: int, box_h: int, style: TextStyle) -> tuple[int, list[str]]:
    """The largest font size (and its lines) at which ``text`` fits in ``box_w`` x ``box_h``.

    Below ``min_size`` the text is cut to ``max_lines`` with an ellipsis rather than overflow.
    """
    size = style.max_size
    while size >= style.min_size:
        font = load_font(size, style.weight)
        stroke = int(round(size * style.stroke_ratio))
        pad = int(round(size * style.pad_ratio)) if style.box_fill else 0
        # the size search needs only the line count and width, which balancing never makes worse: wrap greedily,
        # and balance once, at the size that fits
        lines = wrap_lines(text, font, box_w - 2 * stroke - 2 * pad - 2, balance=False)
        w, h = _block_size(lines, font, style, size)
        if len(lines) <= style.max_lines and w <= box_w and h <= box_h:
            return size, wrap_lines(text, font, box_w - 2 * stroke - 2 * pad - 2)
        size = max(style.min_size - 1, int(size * 0.92)) if size > style.min_size else size - 1
    size = style.min_size
    font = load_font(size, style.weight)
    stroke = int(round(size * style.stroke_ratio))
    pad = int(round(size * style.pad_ratio)) if style.box_fill else 0
    inner = box_w - 2 * stroke - 2 * pad - 2
    lines = wrap_lines(text, font, inner)
    max_lines = max(1, min(style.max_lines, (box_h - 2 * stroke - 2 * pad) // max(1, _line_height(font, style))))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > inner:
            last = last[:-1]
        lines[-1] = last + "…"
    lines = [ln if font.getlength(ln) <= inner else _cut(ln, font, inner) for ln in lines]
    return size, lines


def _cut(line: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    while line and font.getlength(line + "…") > width:
        line = line[:-1]
    return line + "…"


def render_text(text: str, box_w: int, box_h: int, style: TextStyle, *, scale: float = 1.0) -> Image.Image:
    """``text`` fitted into ``box_w`` x ``box_h`` and drawn on a tight transparent RGBA image.

    ``scale`` > 1 draws the same lines larger (for punch-in animation frames); the
    caller keeps such frames inside its own bounds.
    """
    size, lines = fit_text(text, box_w, box_h, style)
    size = max(4, int(round(size * scale)))
    font = load_font(size, style.weight)
    stroke = int(round(size * style.stroke_ratio))
    pad = int(round(size * style.pad_ratio)) if style.box_fill else 0
    w, h = _block_size(lines, font, style, size)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    if style.box_fill:
        draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=int(size * style.radius_ratio), fill=style.box_fill)
    line_h = _line_height(font, style)
    ascent, descent = font.getmetrics()
    # Centre the glyphs' em box inside each line slot.
    y0 = pad + stroke + (line_h - (ascent + descent)) // 2 + 1
    for i, line in enumerate(lines):
        if style.align == "left":
            x, anchor = pad + stroke + 1, "la"
        else:
            x, anchor = w / 2, "ma"
        draw.text(
            (x, y0 + i * line_h),
            line,
            font=font,
            fill=style.fill,
            anchor=anchor,
            stroke_width=stroke,
            stroke_fill=style.stroke_fill,
        )
    img.info["text"] = text  # what it says, so subtitles can leave out a line already on screen
    return img
