"""A simple pixel detector for toy-world clips, and prompt-match accuracy over generated clips.

It reads back the four captioned facts from frames alone, with no learned parts, so it can judge any generator:

* **background** — the median colour of the frame border, snapped to the nearest background colour;
* **colour** — the median colour of the pixels that differ from the background, snapped to the nearest shape colour;
* **shape** — how much of its bounding box the shape fills corner patches
  (a square fills them, a circle does not) and whether its mass sits low in its box (an apex-up triangle's does);
* **direction** — the least-squares slope of the shape's centroid over time along x and y; the larger wins.

The foreground mask marks a pixel when it is closer to the estimated shape colour than to the background colour, so
a blurred edge splits at its midpoint and areas stay right for soft generated frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from adloom.core.errors import InputError
from adloom.creative.video.toy.dataset import BACKGROUNDS, COLOURS, PALETTE, parse_caption

FACTS = ("colour", "shape", "background", "direction")


@dataclass(frozen=True)
class Detection:
    """What the detector read from one clip. ``found`` is False when no shape stands out from the background."""

    colour: str | None
    shape: str | None
    background: str
    direction: str | None
    found: bool
    fill: float  # fraction of the bounding box the shape covers (median over frames)
    corner: float  # fraction of the box's four corner patches covered (square ≈ 1, circle ≈ 0)
    low: float  # centroid height within the box, 0 top … 1 bottom (triangle ≈ 0.67)
    travel_px: float  # centroid displacement over the clip along the winning axis

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _nearest(rgb: np.ndarray, names: Iterable[str]) -> str:
    names = list(names)
    pal = np.array([PALETTE[n] for n in names], dtype=np.float32)
    return names[int(np.argmin(((pal - rgb[None, :]) ** 2).sum(axis=1)))]


def detect(frames: np.ndarray, *, min_pixels: int = 6) -> Detection:
    """Read colour, shape, background and direction from uint8 frames (F, H, W, 3)."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(f"frames must be (F, H, W, 3) RGB, got shape {frames.shape}", field="frames")
    f = frames.astype(np.float32)
    nf, h, w, _ = f.shape
    border = np.concatenate([f[:, 0], f[:, -1], f[:, 1:-1, 0], f[:, 1:-1, -1]], axis=1).reshape(-1, 3)
    bg_rgb = np.median(border, axis=0)
    background = _nearest(bg_rgb, BACKGROUNDS)
    dist_bg = np.sqrt(((f - bg_rgb) ** 2).sum(axis=-1))  # (F, H, W)
    rough = dist_bg > 60.0
    if rough.sum() < min_pixels * nf:
        return Detection(None, None, background, None, False, 0.0, 0.0, 0.0, 0.0)
    fg_rgb = np.median(f[rough], axis=0)
    colour = _nearest(fg_rgb, [c for c in COLOURS if c != background] or COLOURS)
    dist_fg = np.sqrt(((f - fg_rgb) ** 2).sum(axis=-1))
    mask = dist_fg < dist_bg  # (F, H, W): nearer the shape colour than the background
    ys, xs = np.mgrid[0:h, 0:w]
    cx, cy, fills, lows, corners, ts = [], [], [], [], [], []
    for i in range(nf):
        m = mask[i]
        if m.sum() < min_pixels:
            continue
        y0, y1 = np.nonzero(m.any(axis=1))[0][[0, -1]]
        x0, x1 = np.nonzero(m.any(axis=0))[0][[0, -1]]
        box = (y1 - y0 + 1) * (x1 - x0 + 1)
        fills.append(m.sum() / box)
        k = max(1, round(min(y1 - y0 + 1, x1 - x0 + 1) * 0.2))  # corner patch side
        corners.append(np.mean([m[a : a + k, b : b + k].mean() for a in (y0, y1 - k + 1) for b in (x0, x1 - k + 1)]))
        my = ys[m].mean()
        lows.append((my - y0) / max(1, y1 - y0))  # 0.5 for symmetric shapes, ≈ 0.67 for an apex-up triangle
        cx.append(xs[m].mean())
        cy.append(my)
        ts.append(i)
    if len(ts) < 2:
        return Detection(colour, None, background, None, False, 0.0, 0.0, 0.0, 0.0)
    fill, low, corner = float(np.median(fills)), float(np.median(lows)), float(np.median(corners))
    if low > 0.58:
        shape = "triangle"  # mass sits low in the box: apex up
    elif corner > 0.5:
        shape = "square"  # fills its box's corners
    else:
        shape = "circle"
    t = np.array(ts, dtype=np.float32)
    sx = float(np.polyfit(t, np.array(cx), 1)[0])
    sy = float(np.polyfit(t, np.array(cy), 1)[0])
    if abs(sx) >= abs(sy):
        direction = "right" if sx > 0 else "left"
        moved = abs(sx) * (nf - 1)
    else:
        direction = "down" if sy > 0 else "up"
        moved = abs(sy) * (nf - 1)
    return Detection(colour, shape, background, direction, True, fill, corner, low, moved)


@dataclass
class Report:
    """Prompt-match accuracy over a set of (prompt, clip) pairs."""

    n: int
    accuracy: dict[str, float]  # per fact and "all" (every fact right)
    found_rate: float
    rows: list[dict[str, object]]

    def summary(self) -> str:
        parts = " ".join(f"{k}={v:.0%}" for k, v in self.accuracy.items())
        return f"n={self.n} found={self.found_rate:.0%} {parts}"


def evaluate(prompts: list[str], clips: Iterable[np.ndarray]) -> Report:
    """Detect every clip and compare it with the facts of its prompt."""
    rows: list[dict[str, object]] = []
    for prompt, clip in zip(prompts, clips, strict=True):
        truth = parse_caption(prompt)
        det = detect(clip)
        hits = {k: getattr(det, k) == truth[k] for k in FACTS}
        rows.append({"prompt": prompt, **{f"pred_{k}": getattr(det, k) for k in FACTS}, **hits, "found": det.found})
    n = len(rows)
    if n == 0:
        raise InputError("evaluate needs at least one (prompt, clip) pair", field="prompts")
    acc = {k: sum(bool(r[k]) for r in rows) / n for k in FACTS}
    acc["all"] = sum(all(bool(r[k]) for k in FACTS) for r in rows) / n
    return Report(n, acc, sum(bool(r["found"]) for r in rows) / n, rows)


#: Accuracy of guessing each fact uniformly at random (for the bench's "~chance" line).
CHANCE = {"colour": 1 / 4, "shape": 1 / 3, "background": 1 / 4, "direction": 1 / 4}
