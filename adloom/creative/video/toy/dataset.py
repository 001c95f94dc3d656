"""The toy world: procedural clips of a coloured shape moving on a plain background, with exact captions.

Why: real video weights cannot be downloaded here, so the claim "the DiT/VAE stack learns" is proved on a world
whose truth is known pixel for pixel. Every clip is drawn from a :class:`ClipSpec` (colour, shape, direction,
background, start position) and captioned ``"a red circle moves left on a blue background"``; the detector in
``toy.detector`` reads the same four facts back from generated frames.

Some (colour, shape, direction) triples are never shown in training (:data:`HELD_OUT`): a model that scores on
them has learned the words separately rather than memorised captions.

Pure numpy; no torch at import.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from adloom.core.errors import InputError

#: RGB of every colour word. Shape colours and backgrounds are drawn from this one palette so the detector
#: classifies a pixel by its nearest palette entry.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (40, 80, 230),
    "yellow": (235, 215, 40),
    "white": (235, 235, 235),
    "black": (20, 20, 20),
    "gray": (128, 128, 128),
}
COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow")
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")
BACKGROUNDS: tuple[str, ...] = ("black", "white", "gray", "blue")

#: (colour, shape, direction) triples kept out of training: each colour and each direction is held out twice,
#: with different shapes, so every single word is still seen in training in other combinations.
HELD_OUT: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("red", "circle", "left"),
        ("red", "triangle", "down"),
        ("green", "square", "up"),
        ("green", "circle", "right"),
        ("blue", "triangle", "right"),
        ("blue", "square", "left"),
        ("yellow", "circle", "down"),
        ("yellow", "triangle", "up"),
    }
)

_CAPTION = re.compile(r"^a (\w+) (\w+) moves (\w+) on a (\w+) background$")
_STEP = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines one clip: the four captioned facts and where the shape starts."""

    colour: str
    shape: str
    direction: str
    background: str
    cx: float  # centre of the path, pixels from the left
    cy: float  # centre of the path, pixels from the top

    @property
    def caption(self) -> str:
        return caption_of(self.colour, self.shape, self.direction, self.background)

    @property
    def triple(self) -> tuple[str, str, str]:
        return (self.colour, self.shape, self.direction)


def caption_of(colour: str, shape: str, direction: str, background: str) -> str:
    """The one caption format of the toy world."""
    return f"a {colour} {shape} moves {direction} on a {background} background"


def parse_caption(text: str) -> dict[str, str]:
    """The four facts of a toy caption; raises :class:`InputError` for text outside the toy grammar."""
    m = _CAPTION.match(text.strip().lower())
    if not m or m[1] not in COLOURS or m[2] not in SHAPES or m[3] not in DIRECTIONS or m[4] not in BACKGROUNDS:
        raise InputError(
            f"prompt {text!r} is not a toy-world caption; write 'a <colour> <shape> moves <direction> on a "
            f"<background> background' with colour in {COLOURS}, shape in {SHAPES}, direction in {DIRECTIONS}, "
            f"background in {BACKGROUNDS}",
            field="prompt",
        )
    return {"colour": m[1], "shape": m[2], "direction": m[3], "background": m[4]}


def all_combinations(split: str = "all") -> list[tuple[str, str, str, str]]:
    """Every valid (colour, shape, direction, background) in a split: ``train``, ``heldout`` or ``all``.

    A shape is never drawn in its background's colour (a blue square on blue is invisible)."""
    if split not in ("train", "heldout", "all"):
        raise InputError(f"split {split!r} is unknown; use 'train', 'heldout' or 'all'", field="split")
    out = []
    for c, s, d, b in itertools.product(COLOURS, SHAPES, DIRECTIONS, BACKGROUNDS):
        if c == b:
            continue
        held = (c, s, d) in HELD_OUT
        if split == "all" or (split == "heldout") == held:
            out.append((c, s, d, b))
    return out


def vocabulary() -> list[str]:
    """Every word any toy caption uses (for a word-level tokenizer)."""
    words = {"a", "moves", "on", "background", *COLOURS, *SHAPES, *DIRECTIONS, *BACKGROUNDS}
    return sorted(words)


def shape_radius(size: int) -> float:
    """Half the shape's extent in pixels: 3/16 of the frame (6 px at 32×32)."""
    return size * 3 / 16


def travel(size: int) -> float:
    """How far the shape moves over the clip: 3/8 of the frame (12 px at 32×32)."""
    return size * 3 / 8


def sample_specs(n: int, *, seed: int, split: str = "train", size: int = 32) -> list[ClipSpec]:
    """``n`` clip specs drawn uniformly over the split's combinations with jittered positions, seeded."""
    combos = all_combinations(split)
    rng = np.random.default_rng(seed)
    r, span = shape_radius(size), travel(size)
    # The path centre moves at most this far from the frame centre along the motion axis (shape stays in frame).
    along = max(0.0, size / 2 - r - 1 - span / 2)
    across = max(0.0, size / 2 - r - 1)
    specs = []
    for _ in range(n):
        c, s, d, b = combos[int(rng.integers(len(combos)))]
        ja = float(rng.uniform(-along, along))
        jc = float(rng.uniform(-across, across)) * 0.8
        horizontal = d in ("left", "right")
        cx = size / 2 + (ja if horizontal else jc)
        cy = size / 2 + (jc if horizontal else ja)
        specs.append(ClipSpec(c, s, d, b, cx, cy))
    return specs


def spec_for_caption(text: str, *, size: int = 32) -> ClipSpec:
    """A centred clip spec for a caption (ground truth for a prompt)."""
    f = parse_caption(text)
    return ClipSpec(f["colour"], f["shape"], f["direction"], f["background"], size / 2, size / 2)


def _inside(shape: str, x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    """Boolean mask of points (x, y) inside the shape centred at (cx, cy) with half-extent r."""
    dx, dy = x - cx, y - cy
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        return (np.abs(dx) <= r * 0.92) & (np.abs(dy) <= r * 0.92)
    if shape == "triangle":  # apex up, base down: fills half its bounding box
        t = (dy + r) / (2 * r)  # 0 at the apex, 1 at the base
        return (t >= 0) & (t <= 1) & (np.abs(dx) <= t * r)
    raise InputError(f"shape {shape!r} is unknown; use one of {SHAPES}", field="shape")


def render_clip(spec: ClipSpec, *, size: int = 32, frames: int = 9, supersample: int = 4) -> np.ndarray:
    """Draw a clip: uint8 (frames, size, size, 3). Edges are anti-aliased by supersampling."""
    if frames < 2:
        raise InputError(f"frames={frames} is too few to show motion; use at least 2", field="frames")
    ss = supersample
    grid = (np.arange(size * ss, dtype=np.float32) + 0.5) / ss
    x, y = np.meshgrid(grid, grid)
    r, span = shape_radius(size), travel(size)
    ux, uy = _STEP[spec.direction]
    bg = np.array(PALETTE[spec.background], dtype=np.float32)
    fg = np.array(PALETTE[spec.colour], dtype=np.float32)
    out = np.empty((frames, size, size, 3), dtype=np.uint8)
    for i in range(frames):
        p = i / (frames - 1) - 0.5  # -0.5 … 0.5 along the path
        m = _inside(spec.shape, x, y, spec.cx + ux * span * p, spec.cy + uy * span * p, r).astype(np.float32)
        cover = m.reshape(size, ss, size, ss).mean(axis=(1, 3))[..., None]  # (size, size, 1) area coverage
        out[i] = np.clip(bg * (1 - cover) + fg * cover + 0.5, 0, 255).astype(np.uint8)
    return out


def make_clips(specs: list[ClipSpec], *, size: int = 32, frames: int = 9) -> np.ndarray:
    """Render many specs: uint8 (N, frames, size, size, 3)."""
    return np.stack([render_clip(s, size=size, frames=frames) for s in specs])


def prompts_for(split: str = "heldout", *, per_combo: int = 1) -> list[str]:
    """The captions of every combination in a split (each ``per_combo`` times) — the evaluation prompt set."""
    return [caption_of(*c) for c in all_combinations(split) for _ in range(per_combo)]
