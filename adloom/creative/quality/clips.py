"""The quality gate for *generated* clips: catch the failures video models make, and regenerate with a new seed.

:func:`check_clip` judges one clip — frames as a uint8 ``(F, H, W, 3)`` RGB array, or an MP4 decoded with PyAV —
and returns a :class:`ClipVerdict` (a :class:`~adloom.creative.quality.gate.QualityReport` with a severity and
per-frame series). :func:`generate_until_ok` calls a ``generate(seed)`` callable until a clip passes or the
attempts run out; it is generic over the callable, so this module imports no torch and no video-model code.

What is measured, and why this way (all numpy, on block-averaged copies of each frame so a 480x832 clip costs a
few milliseconds a frame; frame numbers count from 0):

* **Flicker** — the *global brightness step* between consecutive frames is the median over pixels of
  ``Y[t+1] - Y[t]`` (luma). A moving subject changes only the pixels it covers, so the median ignores it; a
  brightness pop, a VAE chunk seam or an exposure pump moves every pixel and shows. A steady fade is allowed:
  each step is compared with the median of its neighbouring steps (two either side), so only the part of a
  step the local trend does not explain counts. Two limits: the largest such jump, and the RMS of them over
  the clip (sustained low-amplitude "high-frequency temporal energy"). The same is done for colour on the
  colour-difference channels (B-Y, R-Y), which catches white-balance pops that leave brightness alone.
* **Frozen frames** — runs of frames in which no region moved: each frame is compared with the *first frame
  of the current still run* (as ffmpeg's ``freezedetect`` and :mod:`.scan` do, so a slow drift adds up and
  counts as motion), region by region on an 8x8 grid, so a small moving subject in one cell is motion and
  grain, averaged away by the downsampling, is not. The still level shrinks for low-contrast frames, so slow
  motion in a dark or soft clip is not mistaken for a freeze.
* **Blur** — the no-reference blur index of Crété-Roffet et al. (2007, "The blur effect"): re-blur the frame
  with a 9-tap box filter and measure how much of its neighbour-to-neighbour variation survives. A sharp
  frame loses most of it, a blurred one almost none; the index is 0 (sharp) … 1 (flat blur), nearly
  independent of contrast. It is computed on a copy scaled to ``blur_height`` rows so one limit fits 480p and
  1080p (on photos: sharp 0.17–0.35; a Gaussian blur of 2 px at 480p 0.36–0.58, of 3 px 0.48–0.69), and
  differences under a noise floor are ignored so smooth gradients and grain neither hide nor fake blur.
  Frames too flat to judge (RMS contrast under 8 levels) are left out.
* **Exposure** — per frame mean luma, and the share of pixels clipped to white (luma >= 250) or crushed to
  black (luma <= 5).
* **Subject consistency** — no CLIP/DINO weights exist offline, so identity is followed on a tracked box
  with two cheap measures. The box is ``subject_box`` when the caller knows where the product is, else the
  region of frame 0 whose colours the frame's border lacks (the salient subject), else the central half. It
  is tracked frame to frame by template matching (FFT cross-correlation scored with SSIM's contrast-structure
  term, which stays defined on flat regions). (a) **Structure** is that score against the previous frame's
  box: an abrupt morph or a swapped object drops it, while motion, zoom and rotation change little between
  neighbouring frames. (b) **Colour** is the share of the box's chromaticity histogram (r, g of ``rgb / sum``
  after grey-world white balance of the whole frame) that frame 0's colours explain: a product drifting in
  colour drops it, while brightness changes and colour casts over the whole frame (flicker's and exposure's
  business) and the same colours in new proportions (zoom, motion) do not. Not caught: a slow change of
  shape or texture that keeps the colours (that needs learned features).

Each check has a limit in :class:`ClipGateConfig`; a verdict's ``reasons`` are sentences naming frames,
measured values and limits, e.g. ``"frozen: frames 12–20 are the same picture …"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from adloom.core.errors import GenerationError, InputError, UnsupportedContentError
from adloom.creative.quality.gate import QualityReport
from adloom.creative.quality.probe import require_av, require_file

Clip = np.ndarray | Path | str  # frames (F, H, W, 3) uint8 RGB, or the path of a video file
_CHUNK = 16  # frames reduced per vectorised step (bounds memory for long clips)
_BLUR_TAPS = 9  # re-blur filter length of the Crété-Roffet index
_BLUR_NOISE_FLOOR = 3.0  # neighbour differences below this (8-bit levels) are grain or gradient, not detail
_BLUR_CONTRAST = 30.0  # luma RMS contrast below which that floor shrinks in proportion (to half at most)
_BLUR_MIN_CONTRAST = 8.0  # frames of lower luma RMS contrast are too flat for the blur index to mean anything
_SSIM_C2 = (0.03 * 255) ** 2  # SSIM's contrast-structure constant for 8-bit data
_CHROMA_BINS = 16
_COLOUR_SLACK = 3.0  # a colour may grow to this multiple of its share in frame 0 and still count as explained
_FROZEN_GRID = 8
_FROZEN_CONTRAST = 20.0  # luma RMS contrast below which the still level shrinks in proportion


@dataclass(frozen=True)
class ClipGateConfig:
    """Limits of the generated-clip gate. Defaults suit 2–6 s ad shots at 480p–1080p, 16–30 fps.

    Levels are 8-bit luma (0–255). Raise ``frozen_max_s`` for a shot that is meant to hold still, and
    ``max_clipped_fraction`` for packshots on a pure white background.
    """

    analysis_height: int = 120  # rows of the block-averaged copy used for flicker, freezes and the subject
    blur_height: int = 240  # rows of the copy the blur index and exposure are measured on
    min_defect_frames: int = 3  # blur, exposure and subject defects shorter than this many frames are ignored

    flicker_max_jump: float = 10.0  # largest brightness step the local trend does not explain (levels)
    flicker_max_rms: float = 1.5  # RMS of those unexplained steps over the clip (levels)
    flicker_max_colour_jump: float = 8.0  # the same for colour: length of the (B-Y, R-Y) step (levels)
    flicker_max_colour_rms: float = 1.5

    # a frame is still when every grid cell differs by less than this mean |ΔY| (less for low-contrast frames)
    frozen_level: float = 1.0
    frozen_max_s: float = 0.3  # longest still stretch allowed, in seconds of frames showing one picture
    default_fps: float = 16.0  # frame rate assumed for frozen_max_s when the clip's is unknown (Wan's 16)

    blur_max_index: float = 0.6  # blur index above which a frame is blurred (0 sharp … 1 flat blur)

    min_mean_luma: float = 35.0
    max_mean_luma: float = 220.0
    max_clipped_fraction: float = 0.25  # share of pixels at luma >= 250
    max_crushed_fraction: float = 0.35  # share of pixels at luma <= 5

    # x, y, w, h as fractions of the frame where the product is; None finds the salient region of frame 0
    subject_box: tuple[float, float, float, float] | None = None
    subject_max_shift: float = 0.15  # furthest the box may move between frames, as a fraction of the frame
    subject_min_structure: float = 0.5  # SSIM contrast-structure of the box against the previous frame
    subject_min_colour: float = 0.6  # share of the box's chromaticity histogram that frame 0's colours explain

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "subject_box":
                ok = value is None or (
                    len(value) == 4
                    and all(isinstance(v, int | float) and math.isfinite(v) for v in value)
                    and value[0] >= 0
                    and value[1] >= 0
                    and value[2] > 0
                    and value[3] > 0
                    and value[0] + value[2] <= 1 + 1e-9
                    and value[1] + value[3] <= 1 + 1e-9
                )
                if not ok:
                    raise InputError(
                        f"subject_box: {value!r} must be (x, y, w, h) fractions of the frame with the box inside it, "
                        "e.g. (0.25, 0.25, 0.5, 0.5) for the central half",
                        field="subject_box",
                    )
                continue
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InputError(f"{f.name}: {value!r} must be a non-negative number", field=f.name)
        for name in ("analysis_height", "blur_height", "min_defect_frames"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise InputError(f"{name}: {getattr(self, name)!r} must be a whole number >= 1", field=name)
        if self.default_fps <= 0:
            raise InputError(f"default_fps: {self.default_fps!r} must be positive", field="default_fps")
        if self.min_mean_luma >= self.max_mean_luma:
            raise InputError(
                f"min_mean_luma {self.min_mean_luma} must be below max_mean_luma {self.max_mean_luma}",
                field="min_mean_luma",
            )


@dataclass
class ClipVerdict(QualityReport):
    """The verdict on one generated clip: ``passed`` only when ``reasons`` is empty.

    ``metrics`` holds the headline numbers (worst values, counts); ``series`` the per-frame measurements
    (``mean_luma``, ``clipped``, ``crushed``, ``blur``, ``colour`` with F values; ``brightness_step``,
    ``flicker``, ``colour_flicker``, ``structure`` with F-1, one per step t → t+1) for plots and for tuning
    limits; ``severity`` orders failed attempts (sum over failed checks of 1 + the share of frames affected;
    0 when passed).
    """

    severity: float = 0.0
    frames: int = 0
    series: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Attempt:
    """One call of the generator: its seed and the gate's verdict."""

    seed: int
    verdict: ClipVerdict


@dataclass
class GateOutcome:
    """What :func:`generate_until_ok` ends with.

    ``clip`` is the generator's output for ``seed`` (the first attempt that passed, or else the least bad one);
    ``passed`` says which. ``attempts`` lists every attempt in order, so a failure can be reported in full.
    """

    passed: bool
    seed: int
    clip: Any
    verdict: ClipVerdict
    attempts: list[Attempt]

    def summary(self) -> str:
        """A few lines a person reads: the outcome, then every attempt with its reasons."""
        n = len(self.attempts)
        if self.passed:
            head = f"clip passed the gate with seed {self.seed} (attempt {self._index() + 1} of {n})"
        else:
            head = (
                f"no clip passed the gate in {n} attempt{'s' if n != 1 else ''}; kept the least bad, seed {self.seed} "
                f"(severity {self.verdict.severity:.2f})"
            )
        lines = [head]
        for i, a in enumerate(self.attempts):
            state = "passed" if a.verdict.passed else "failed: " + "; ".join(a.verdict.reasons)
            lines.append(f"  attempt {i + 1}, seed {a.seed}: {state}")
        return "\n".join(lines)

    def _index(self) -> int:
        return next(i for i, a in enumerate(self.attempts) if a.seed == self.seed)


# ---------------------------------------------------------------------------------------------------------
# Frame reduction: block averages, luma, blur index and exposure, chunk by chunk.


def _block_sum(x: np.ndarray, k: int) -> np.ndarray:
    """Sum ``k``x``k`` blocks of (n, H, W, C) data (H, W multiples of k) with strided adds.

    uint8 input sums in uint16 (exact up to k = 16, and fast); anything else sums in float32.
    """
    acc = np.uint16 if x.dtype == np.uint8 and k <= 16 else np.float32
    if k == 1:
        return x.astype(acc)
    rows = x[:, 0::k].astype(acc)
    for i in range(1, k):
        rows += x[:, i::k]
    out = rows[:, :, 0::k].copy()
    for i in range(1, k):
        out += rows[:, :, i::k]
    return out


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of (..., 3) RGB as float32, on the input's scale."""
    rgb = rgb.astype(np.float32, copy=False)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _blur_index(y: np.ndarray) -> np.ndarray:
    """Crété-Roffet blur index per frame of (n, h, w) luma: 0 sharp … 1 blurred; NaN for a frame with no detail.

    Per direction, with ``d_f`` the absolute neighbour differences of the frame and ``d_b`` those of the frame
    re-blurred by a ``_BLUR_TAPS`` box filter, the index is ``Σ min(d_f, d_b) / Σ d_f``: the share of the
    variation that re-blurring keeps (the paper's ``(s_F - s_V) / s_F``); the worse direction counts. The box
    filter's difference needs no filtering: ``B[i+1] - B[i] = (y[i+h+1] - y[i-h]) / taps`` (edges replicated).

    Neighbour differences under a noise floor (``_BLUR_NOISE_FLOOR`` levels, shrunk in proportion for frames
    whose RMS contrast is under ``_BLUR_CONTRAST``, so a dark or flat-lit frame keeps its edges) are ignored.
    A frame with RMS contrast under ``_BLUR_MIN_CONTRAST`` levels is not judged (NaN): in 8-bit data its
    quantisation steps are as large as its blurred edges, so no blur index means anything there (such frames
    are nearly uniform, and the exposure check reports the dark ones).
    """
    contrast = y.std(axis=(1, 2))
    floor = (_BLUR_NOISE_FLOOR * np.clip(contrast / _BLUR_CONTRAST, 0.5, 1.0)).astype(np.float32)[:, None, None]
    half = _BLUR_TAPS // 2
    worst = np.full(y.shape[0], -np.inf)
    any_detail = np.zeros(y.shape[0], dtype=bool)
    for axis in (1, 2):
        n = y.shape[axis]
        pad = [(0, 0)] * 3
        pad[axis] = (half, half + 1)
        yp = np.pad(y, pad, mode="edge")
        ahead = [slice(None)] * 3
        behind = [slice(None)] * 3
        ahead[axis] = slice(2 * half + 1, 2 * half + n)
        behind[axis] = slice(0, n - 1)
        d_b = np.abs(yp[tuple(ahead)] - yp[tuple(behind)])
        d_b *= 1.0 / _BLUR_TAPS
        d_f = np.abs(np.diff(y, axis=axis))
        keep = d_f >= floor
        d_f *= keep
        s_f = d_f.sum(axis=(1, 2), dtype=np.float64)
        kept = np.minimum(d_f, d_b, out=d_b).sum(axis=(1, 2), dtype=np.float64)  # d_f is 0 where not kept
        has = s_f > 0
        worst = np.maximum(worst, np.where(has, kept / np.where(has, s_f, 1), -np.inf))
        any_detail |= has
    return np.where(any_detail & (contrast >= _BLUR_MIN_CONTRAST), worst, np.nan)


@dataclass
class _Reduced:
    """Per-frame measurements and the small analysis copy of the clip."""

    rgb: np.ndarray  # (F, h, w, 3) float32, 0..255, block-averaged to about analysis_height rows
    blur: np.ndarray  # (F,)
    mean_luma: np.ndarray  # (F,)
    clipped: np.ndarray  # (F,)
    crushed: np.ndarray  # (F,)
    size: tuple[int, int]  # original (width, height)


def _factors(height: int, config: ClipGateConfig) -> tuple[int, int]:
    """Block sizes: ``kb`` for the blur copy, ``ka`` (a multiple of kb) for the analysis copy."""
    kb = max(1, height // config.blur_height)
    ka = kb * max(1, (height // kb) // config.analysis_height)
    return kb, ka


def _reduce(chunks: Iterable[np.ndarray], config: ClipGateConfig) -> _Reduced | None:
    """Reduce (n, H, W, 3) uint8 chunks to per-frame measurements and the analysis copy (None for no frames)."""
    parts: list[np.ndarray] = []
    blur: list[np.ndarray] = []
    mean: list[np.ndarray] = []
    clipped: list[np.ndarray] = []
    crushed: list[np.ndarray] = []
    size: tuple[int, int] | None = None
    kb = ka = 1
    for chunk in chunks:
        if size is None:
            size = (chunk.shape[2], chunk.shape[1])
            kb, ka = _factors(chunk.shape[1], config)
        h = chunk.shape[1] // ka * ka
        w = chunk.shape[2] // ka * ka
        small = _block_sum(chunk[:, :h, :w], kb)  # (n, h/kb, w/kb, 3), scale kb²
        y = _luma(small)
        if kb > 1:
            y /= kb * kb
        blur.append(_blur_index(y))
        mean.append(y.mean(axis=(1, 2)))
        clipped.append((y >= 250).mean(axis=(1, 2)))
        crushed.append((y <= 5).mean(axis=(1, 2)))
        m = ka // kb
        tiny = _block_sum(small.astype(np.float32), m) if m > 1 else small.astype(np.float32)
        tiny /= ka * ka
        parts.append(tiny)
    if size is None:
        return None
    return _Reduced(
        rgb=np.concatenate(parts),
        blur=np.concatenate(blur),
        mean_luma=np.concatenate(mean),
        clipped=np.concatenate(clipped),
        crushed=np.concatenate(crushed),
        size=size,
    )


def _array_chunks(frames: np.ndarray) -> Iterator[np.ndarray]:
    for i in range(0, frames.shape[0], _CHUNK):
        yield frames[i : i + _CHUNK]


def _video_chunks(path: Path, fps_out: list[float]) -> Iterator[np.ndarray]:
    """Decode the first video stream of ``path`` to RGB chunks; the stream's frame rate goes to ``fps_out``."""
    av = require_av()
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise UnsupportedContentError(
            f"clip: {path!s} could not be read as a video ({exc}); pass an MP4 the generator wrote", field="clip"
        ) from exc
    try:
        if not container.streams.video:
            raise UnsupportedContentError(f"clip: {path!s} has no video stream", field="clip")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.average_rate:
            fps_out.append(float(stream.average_rate))
        buf: list[np.ndarray] = []
        for frame in container.decode(stream):
            buf.append(frame.to_ndarray(format="rgb24"))
            if len(buf) == _CHUNK:
                yield np.stack(buf)
                buf = []
        if buf:
            yield np.stack(buf)
    finally:
        container.close()


# ---------------------------------------------------------------------------------------------------------
# Checks on the reduced clip.


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) index pairs of the runs of True in a 1-D boolean array."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def _frames_text(a: int, b: int, fps: float | None) -> str:
    """'frame 7' or 'frames 12–20', with times in seconds when the frame rate is known."""
    text = f"frame {a}" if a == b else f"frames {a}–{b}"
    if fps:
        text += f" ({a / fps:.2f} s)" if a == b else f" ({a / fps:.2f}–{(b + 1) / fps:.2f} s)"
    return text


def _flicker(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global brightness step between consecutive frames, and the part of it the local trend does not explain."""
    steps = np.median((y[1:] - y[:-1]).reshape(y.shape[0] - 1, -1), axis=1)  # (F-1,)
    n = steps.shape[0]
    if n < 3:
        return steps, np.abs(steps)  # too short for a trend: every step counts
    # Mirror the ends (g[-1] = g[1]) so a step near the start or end still has four neighbours of the right parity.
    padded = np.pad(steps, 2, mode="reflect")
    neigh = np.stack([padded[0:n], padded[1 : n + 1], padded[3 : n + 3], padded[4 : n + 4]])  # (4, F-1)
    return steps, np.abs(steps - np.median(neigh, axis=0))


def _still_frames(y: np.ndarray, level: float) -> np.ndarray:
    """For each frame, whether no grid cell differs from the current still run's first frame by the still level.

    The level is ``level`` for frames of ordinary contrast and shrinks in proportion below
    ``_FROZEN_CONTRAST`` levels RMS (to a quarter at most), so slow motion in a dark or soft, low-contrast
    clip, whose differences are small in absolute terms, is still seen as motion.
    """
    f, h, w = y.shape
    gh, gw = min(_FROZEN_GRID, h), min(_FROZEN_GRID, w)
    ch, cw = h // gh, w // gw
    cells = y[:, : gh * ch, : gw * cw]
    still = np.zeros(f, dtype=bool)

    def level_of(frame: np.ndarray) -> float:
        return level * float(np.clip(frame.std() / _FROZEN_CONTRAST, 0.25, 1.0))

    ref, ref_level = cells[0], level_of(cells[0])
    for t in range(1, f):
        diff = np.abs(cells[t] - ref).reshape(gh, ch, gw, cw).mean(axis=(1, 3))
        if float(diff.max()) < ref_level:
            still[t] = True
        else:
            ref, ref_level = cells[t], level_of(cells[t])
    return still


def _chroma_hist(rgb: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Normalised 2-D histogram of chromaticity (r, g) = (R, G) / (R + G + B) after dividing by ``gains``.

    ``gains`` are the frame's grey-world white balance (each channel's frame mean over the mean of all three),
    so a colour cast over the whole frame — flicker's business — leaves the subject's colours unchanged.
    Dark pixels, whose chromaticity is noise, are left out.
    """
    rgb = rgb / gains
    s = rgb.sum(axis=-1)
    keep = s > 30.0
    if not keep.any():
        return np.zeros(_CHROMA_BINS * _CHROMA_BINS)
    r = rgb[..., 0][keep] / s[keep]
    g = rgb[..., 1][keep] / s[keep]
    idx = np.minimum((r * _CHROMA_BINS).astype(np.int64), _CHROMA_BINS - 1) * _CHROMA_BINS + np.minimum(
        (g * _CHROMA_BINS).astype(np.int64), _CHROMA_BINS - 1
    )
    hist = np.bincount(idx, minlength=_CHROMA_BINS * _CHROMA_BINS).astype(np.float64)
    return hist / hist.sum()


def _match(template: np.ndarray, frame: np.ndarray, centre: tuple[int, int], reach: tuple[int, int]) -> tuple:
    """Best position of ``template`` in ``frame`` within ``reach`` of ``centre``, scored by SSIM contrast-structure.

    ``(2 cov + C2) / (var_t + var_w + C2)`` is SSIM's contrast-structure term: like normalised cross-correlation
    on textured windows, but near 1 for two flat windows instead of undefined. Cross-correlation by FFT over the
    search region only; window variances from integral images. Returns ((top, left), score).
    """
    th, tw = template.shape
    fh, fw = frame.shape
    top0, left0 = max(0, centre[0] - reach[0]), max(0, centre[1] - reach[1])
    top1, left1 = min(fh - th, centre[0] + reach[0]) + 1, min(fw - tw, centre[1] + reach[1]) + 1  # exclusive
    region = frame[top0 : top1 - 1 + th, left0 : left1 - 1 + tw].astype(np.float64)
    rh, rw = region.shape
    t0 = template - template.mean()
    var_t = float((t0 * t0).mean())
    corr = np.fft.irfft2(np.fft.rfft2(region) * np.conj(np.fft.rfft2(t0, (rh, rw))), (rh, rw))
    vh, vw = top1 - top0, left1 - left0
    n = th * tw
    cov = corr[:vh, :vw] / n  # Σ t0·window / n is the covariance, t0 having zero mean
    ii = np.pad(region.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ii2 = np.pad((region * region).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    s1 = ii[th:, tw:] - ii[:-th, tw:] - ii[th:, :-tw] + ii[:-th, :-tw]
    s2 = ii2[th:, tw:] - ii2[:-th, tw:] - ii2[th:, :-tw] + ii2[:-th, :-tw]
    var_w = np.maximum(s2 / n - (s1 / n) ** 2, 0.0)
    score = (2 * cov + _SSIM_C2) / (var_t + var_w + _SSIM_C2)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    return (top0 + int(i), left0 + int(j)), float(score[i, j])


def _salient_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, height, width) of the region of one frame whose colours the frame's border does not have.

    The border ring (outer tenth on each side) stands for the background. Colours are binned 16 levels wide
    per channel; a pixel is salient when no bin within 2 (about 32 levels per channel) holds ring pixels, so
    background gradients, whose inner colours lie between border colours, are not salient. The box spans the
    5th–95th percentiles of the salient pixels' coordinates, grown by a tenth, at least a fifth of the frame
    each way. None when salient pixels are under 1 % or over 60 % of the frame (no distinct subject).
    """
    h, w, _ = rgb.shape
    q = (np.clip(rgb, 0, 255) // 16).astype(np.int64)  # (h, w, 3) in 0..15
    idx = (q[..., 0] * 16 + q[..., 1]) * 16 + q[..., 2]
    rh, rw = max(1, h // 10), max(1, w // 10)
    ring = np.ones((h, w), dtype=bool)
    ring[rh : h - rh, rw : w - rw] = False
    occupied = np.zeros(16**3, dtype=bool)
    occupied[idx[ring]] = True
    grid = np.pad(occupied.reshape(16, 16, 16), 2)
    near = np.zeros((16, 16, 16), dtype=bool)
    for dr in range(5):
        for dg in range(5):
            for db in range(5):
                near |= grid[dr : dr + 16, dg : dg + 16, db : db + 16]
    salient = ~near.reshape(-1)[idx]
    salient[ring] = False
    share = float(salient.mean())
    if not 0.01 <= share <= 0.6:
        return None
    ys, xs = np.nonzero(salient)
    y0, y1 = np.percentile(ys, [5, 95])
    x0, x1 = np.percentile(xs, [5, 95])
    th = min(h, round(max((y1 - y0) * 1.2, h / 5)))
    tw = min(w, round(max((x1 - x0) * 1.2, w / 5)))
    top = int(np.clip(round((y0 + y1) / 2 - th / 2), 0, h - th))
    left = int(np.clip(round((x0 + x1) / 2 - tw / 2), 0, w - tw))
    return top, left, th, tw


def _subject(
    rgb: np.ndarray, y: np.ndarray, config: ClipGateConfig
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """Track the subject box; structure against the previous frame (F-1 values), colour against frame 0 (F).

    The box is ``config.subject_box`` when given, else the salient region of frame 0 (:func:`_salient_box`),
    else the central half. Colour is the share of the box's chromaticity histogram that frame 0 explains:
    ``Σ min(h_t, k · h_ref)`` with ``h_ref`` from frame 0's box grown by a quarter on each side, dilated by one
    bin (a 3x3 maximum, so a slight shift of hue or saturation is not a new colour), and ``k`` =
    ``_COLOUR_SLACK``, so a zoom or a subject moving within the box (the same colours in new proportions) keeps
    it near 1, while colours frame 0 did not have there pull it down. Also returns the first box (top, left,
    height, width) in analysis pixels.
    """
    f, h, w = y.shape
    box = None
    if config.subject_box is None:
        box = _salient_box(rgb[0])
    if box is None:
        bx, by, bw, bh = config.subject_box or (0.25, 0.25, 0.5, 0.5)
        th, tw = max(2, round(bh * h)), max(2, round(bw * w))
        box = (min(round(by * h), h - th), min(round(bx * w), w - tw), th, tw)
    top, left, th, tw = box
    reach = (max(1, round(config.subject_max_shift * h)), max(1, round(config.subject_max_shift * w)))
    gy, gx = th // 4, tw // 4
    means = rgb.mean(axis=(1, 2))  # (F, 3)
    gains = np.maximum(means, 1.0) / np.maximum(means.mean(axis=1, keepdims=True), 1.0)  # grey-world balance
    ref = _chroma_hist(rgb[0, max(0, top - gy) : top + th + gy, max(0, left - gx) : left + tw + gx], gains[0])
    grid = np.pad(ref.reshape(_CHROMA_BINS, _CHROMA_BINS), 1)
    near = np.max([grid[i : i + _CHROMA_BINS, j : j + _CHROMA_BINS] for i in range(3) for j in range(3)], axis=0)
    ref = _COLOUR_SLACK * near.reshape(-1)  # a colour one bin from one frame 0 had still counts as that colour
    structure = np.ones(f - 1)
    colour = np.ones(f)
    colour[0] = np.minimum(_chroma_hist(rgb[0, top : top + th, left : left + tw], gains[0]), ref).sum()
    for t in range(1, f):
        template = y[t - 1, top : top + th, left : left + tw]
        (top, left), structure[t - 1] = _match(template, y[t], (top, left), reach)
        colour[t] = np.minimum(_chroma_hist(rgb[t, top : top + th, left : left + tw], gains[t]), ref).sum()
    return structure, colour, box


def _judge(r: _Reduced, config: ClipGateConfig, fps: float | None) -> ClipVerdict:
    """Apply every check to a reduced clip and word the reasons."""
    f = r.rgb.shape[0]
    y = _luma(r.rgb)
    reasons: list[str] = []
    failed: list[float] = []  # share of frames affected, per failed check
    metrics: dict[str, float | str] = {"frames": float(f), "width": float(r.size[0]), "height": float(r.size[1])}
    if fps:
        metrics["fps"] = round(fps, 3)
    min_run = min(config.min_defect_frames, f)  # a clip shorter than the minimum is judged as a whole

    # Flicker: of brightness (luma) and of colour (the two colour-difference channels B-Y and R-Y together).
    steps, flicker = _flicker(y)
    cb_steps, cb_res = _flicker(r.rgb[..., 2] - y)
    cr_steps, cr_res = _flicker(r.rgb[..., 0] - y)
    colour_steps, colour_flicker = np.hypot(cb_steps, cr_steps), np.hypot(cb_res, cr_res)
    flickering = np.zeros(max(1, f - 1), dtype=bool)
    for what, step, res, max_jump, max_rms in (
        ("brightness", steps, flicker, config.flicker_max_jump, config.flicker_max_rms),
        ("colour", colour_steps, colour_flicker, config.flicker_max_colour_jump, config.flicker_max_colour_rms),
    ):
        worst = int(np.argmax(res))
        rms = float(np.sqrt(np.mean(res**2)))
        metrics[f"flicker_{what}_max_jump"] = round(float(res[worst]), 2)
        metrics[f"flicker_{what}_rms"] = round(rms, 3)
        jumps = np.flatnonzero(res > max_jump)
        if jumps.size:
            where = ", ".join(f"{int(t)}→{int(t) + 1}" for t in jumps[:5]) + (" …" if jumps.size > 5 else "")
            when = f" ({(worst + 1) / fps:.2f} s)" if fps else ""
            size = f"{step[worst]:+.0f}" if what == "brightness" else f"{step[worst]:.0f}"
            reasons.append(
                f"flicker: {what} jumps {size} levels between frames {worst} and {worst + 1}{when}, "
                f"{res[worst]:.0f} beyond the neighbouring frames' trend (limit {max_jump:g}); jumps at frames {where}"
            )
            flickering[jumps] = True
        elif rms > max_rms:
            top3 = sorted(int(t) for t in np.argsort(res)[::-1][:3])
            reasons.append(
                f"flicker: {what} wavers {rms:.1f} levels RMS from frame to frame (limit {max_rms:g}), "
                f"most between frames {', '.join(f'{t}→{t + 1}' for t in top3)}"
            )
            flickering |= res > max_rms
    if flickering.any():
        failed.append(float(flickering.mean()))

    # Frozen frames: a run of still frames plus the frame they repeat.
    still = _still_frames(y, config.frozen_level)
    rate = fps or config.default_fps
    max_run = max(1, math.floor(config.frozen_max_s * rate + 1e-9))  # frames one picture may be shown
    frozen = [(a - 1, b) for a, b in _runs(still) if b - a + 2 > max_run]
    longest = max((b - a + 1 for a, b in _runs(still)), default=0)
    metrics["longest_still_run_frames"] = float(longest + 1 if longest else 0)
    for a, b in frozen:
        assumed = "" if fps else f" at an assumed {rate:g} fps"
        reasons.append(
            f"frozen: {_frames_text(a, b, fps)} are the same picture ({b - a + 1} frames; at most {max_run} "
            f"allowed, {config.frozen_max_s:g} s{assumed}; no region changes by {config.frozen_level:g} luma levels)"
        )
    if frozen:
        failed.append(sum(b - a + 1 for a, b in frozen) / f)

    # Per-frame checks reported as runs of at least min_defect_frames.
    def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
        return [(a, b) for a, b in _runs(mask) if b - a + 1 >= min_run]

    blurry = np.nan_to_num(r.blur, nan=0.0) > config.blur_max_index
    metrics["blur_max"] = round(float(np.nanmax(r.blur)), 3) if np.isfinite(r.blur).any() else float("nan")
    metrics["blur_median"] = round(float(np.nanmedian(r.blur)), 3) if np.isfinite(r.blur).any() else float("nan")
    metrics["blur_unjudged_frames"] = float(np.isnan(r.blur).sum())  # too flat or too dark to judge
    spans = runs_of(blurry)
    for a, b in spans:
        reasons.append(
            f"blur: {_frames_text(a, b, fps)} are blurred (blur index up to {np.max(r.blur[a : b + 1]):.2f}, "
            f"limit {config.blur_max_index:g}; 0 is sharp, 1 is flat blur)"
        )
    if spans:
        failed.append(sum(b - a + 1 for a, b in spans) / f)

    metrics.update(
        mean_luma_min=round(float(r.mean_luma.min()), 1),
        mean_luma_max=round(float(r.mean_luma.max()), 1),
        clipped_max=round(float(r.clipped.max()), 3),
        crushed_max=round(float(r.crushed.max()), 3),
    )
    affected = np.zeros(f, dtype=bool)
    for a, b in runs_of(r.mean_luma < config.min_mean_luma):
        reasons.append(
            f"exposure: underexposed, mean luma down to {r.mean_luma[a : b + 1].min():.0f} in "
            f"{_frames_text(a, b, fps)} (limit >= {config.min_mean_luma:g})"
        )
        affected[a : b + 1] = True
    for a, b in runs_of(r.mean_luma > config.max_mean_luma):
        reasons.append(
            f"exposure: overexposed, mean luma up to {r.mean_luma[a : b + 1].max():.0f} in "
            f"{_frames_text(a, b, fps)} (limit <= {config.max_mean_luma:g})"
        )
        affected[a : b + 1] = True
    for values, limit, what in (
        (r.clipped, config.max_clipped_fraction, "of pixels clipped to white (luma >= 250)"),
        (r.crushed, config.max_crushed_fraction, "of pixels crushed to black (luma <= 5)"),
    ):
        for a, b in runs_of(values > limit):
            reasons.append(
                f"exposure: up to {values[a : b + 1].max():.0%} {what} in {_frames_text(a, b, fps)} (limit {limit:.0%})"
            )
            affected[a : b + 1] = True
    if affected.any():
        failed.append(float(affected.mean()))

    # Subject consistency.
    structure, colour, box = _subject(r.rgb, y, config)
    metrics["subject_box"] = "x={1} y={0} w={3} h={2} of {4}x{5} analysis pixels".format(*box, y.shape[2], y.shape[1])
    metrics.update(
        subject_structure_min=round(float(structure.min()), 3), subject_colour_min=round(float(colour.min()), 3)
    )
    affected = np.zeros(f, dtype=bool)
    low = np.concatenate([[False], structure < config.subject_min_structure])  # index = the frame that changed
    for a, b in _runs(low):
        t = a + int(np.argmin(structure[a - 1 : b]))
        reasons.append(
            f"subject: changes abruptly at {_frames_text(a, b, fps)} (its structure matches the previous frame "
            f"only {structure[t - 1]:.2f} at frame {t}, limit {config.subject_min_structure:g})"
        )
        affected[a : b + 1] = True
    for a, b in runs_of(colour < config.subject_min_colour):
        reasons.append(
            f"subject: colours drift from frame 0 in {_frames_text(a, b, fps)} (histogram overlap down to "
            f"{colour[a : b + 1].min():.2f}, limit {config.subject_min_colour:g})"
        )
        affected[a : b + 1] = True
    if affected.any():
        failed.append(float(affected.mean()))

    series = {
        "mean_luma": r.mean_luma,
        "clipped": r.clipped,
        "crushed": r.crushed,
        "blur": r.blur,
        "brightness_step": steps,
        "flicker": flicker,
        "colour_flicker": colour_flicker,
        "structure": structure,
        "colour": colour,
    }
    severity = float(sum(1.0 + s for s in failed))
    return ClipVerdict(passed=not reasons, reasons=reasons, metrics=metrics, severity=severity, frames=f, series=series)


# ---------------------------------------------------------------------------------------------------------
# Public API.


def _check_frames(frames: Any, field_name: str = "frames") -> np.ndarray:
    """Require a uint8 (F, H, W, 3) array with at least two frames, naming what was wrong."""
    if not isinstance(frames, np.ndarray):
        raise InputError(
            f"{field_name}: expected uint8 RGB frames (F, H, W, 3) or a video path, got {type(frames).__name__}",
            field=field_name,
        )
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InputError(
            f"{field_name}: expected uint8 RGB frames of shape (F, H, W, 3), got {frames.dtype} {frames.shape}; "
            "convert with (x.clip(0, 1) * 255).round().astype(np.uint8) and move channels last",
            field=field_name,
        )
    if frames.shape[0] < 2 or frames.shape[1] < 8 or frames.shape[2] < 8:
        raise InputError(
            f"{field_name}: a clip needs at least 2 frames of at least 8x8 pixels, got {frames.shape}",
            field=field_name,
        )
    return frames


def _check_fps(fps: float | None) -> None:
    if fps is not None and (
        isinstance(fps, bool) or not isinstance(fps, int | float) or not fps > 0 or fps == math.inf
    ):
        raise InputError(f"fps: {fps!r} must be a positive frame rate, or None to read it from the file", field="fps")


def check_clip(clip: Clip, *, config: ClipGateConfig | None = None, fps: float | None = None) -> ClipVerdict:
    """Judge a generated clip for flicker, frozen frames, blur, exposure and subject consistency.

    ``clip`` is a uint8 ``(F, H, W, 3)`` RGB array or the path of a video file (decoded with PyAV; its frame
    rate is used when ``fps`` is not given). ``fps`` only adds times in seconds to the reasons.

    Raises:
        InputError: the array is not uint8 (F, H, W, 3) with F >= 2, nothing exists at the path, or a
            config value is invalid.
        UnsupportedContentError: the file exists but holds no decodable video.
        BackendUnavailableError: a path was given and PyAV (the ``quality`` extra) is not installed.
    """
    config = config or ClipGateConfig()
    _check_fps(fps)
    if isinstance(clip, str | Path):
        resolved = require_file(Path(clip), field="clip")
        rates: list[float] = []
        av = require_av()
        try:
            reduced = _reduce(_video_chunks(resolved, rates), config)
        except av.FFmpegError as exc:
            raise UnsupportedContentError(f"clip: {clip!s} could not be decoded ({exc})", field="clip") from exc
        if reduced is None or reduced.rgb.shape[0] < 2:
            n = 0 if reduced is None else reduced.rgb.shape[0]
            raise UnsupportedContentError(
                f"clip: {clip!s} decodes to {n} frame{'s' if n != 1 else ''}; the gate needs 2 or more", field="clip"
            )
        return _judge(reduced, config, fps or (rates[0] if rates else None))
    frames = _check_frames(clip, "clip")
    reduced = _reduce(_array_chunks(frames), config)
    assert reduced is not None  # _check_frames requires frames
    return _judge(reduced, config, fps)


def generate_until_ok(
    generate: Callable[[int], Clip],
    *,
    first_seed: int,
    max_attempts: int = 3,
    seed_stride: int = 1,
    config: ClipGateConfig | None = None,
    fps: float | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> GateOutcome:
    """Call ``generate(seed)`` with seeds ``first_seed``, ``first_seed + seed_stride``, … until a clip passes.

    ``seed_stride`` (default 1) keeps retries off seeds the caller uses elsewhere, e.g. shot i of a storyboard
    seeded ``seed + i`` can retry with a stride of 1000 so its retries never repeat shot i+1's seed.

    Stops at the first clip that passes, or after ``max_attempts`` calls; then the least severe attempt (the
    earliest on a tie) is returned, marked failed, with every attempt's verdict in ``attempts`` so the caller
    can report them (:meth:`GateOutcome.summary`). Only the chosen clip is kept in memory. ``on_attempt`` is
    called after each attempt (e.g. to advance a progress bar or log the reasons).

    Raises:
        InputError: ``max_attempts`` or ``seed_stride`` is below 1, ``first_seed`` is not an integer, or ``fps``
            is not a positive number.
        GenerationError: ``generate`` returned something that is neither frames nor a video path.
        Whatever ``generate`` raises is passed on unchanged.
    """
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise InputError(f"max_attempts: {max_attempts!r} must be a whole number >= 1", field="max_attempts")
    if isinstance(first_seed, bool) or not isinstance(first_seed, int | np.integer):
        raise InputError(f"first_seed: {first_seed!r} must be an integer", field="first_seed")
    if isinstance(seed_stride, bool) or not isinstance(seed_stride, int) or seed_stride < 1:
        raise InputError(f"seed_stride: {seed_stride!r} must be a whole number >= 1", field="seed_stride")
    _check_fps(fps)
    config = config or ClipGateConfig()
    attempts: list[Attempt] = []
    best: tuple[float, int, Any, ClipVerdict] | None = None
    for i in range(max_attempts):
        seed = int(first_seed) + i * seed_stride
        clip = generate(seed)
        try:
            verdict = check_clip(clip, config=config, fps=fps)
        except InputError as exc:
            raise GenerationError(f"generate(seed={seed}) returned an unusable clip: {exc}") from exc
        attempt = Attempt(seed=seed, verdict=verdict)
        attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)
        if verdict.passed:
            return GateOutcome(passed=True, seed=seed, clip=clip, verdict=verdict, attempts=attempts)
        if best is None or verdict.severity < best[0]:
            best = (verdict.severity, seed, clip, verdict)
    assert best is not None
    _, seed, clip, verdict = best
    return GateOutcome(passed=False, seed=seed, clip=clip, verdict=verdict, attempts=attempts)
