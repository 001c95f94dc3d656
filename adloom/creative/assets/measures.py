"""Per-frame measures on small frames (OpenCV + numpy): sharpness, exposure, on-screen text, change and
global shift between frames. Each maps to 0..1 with a fixed, documented curve so scores compare across
assets; the constants were set on the synthetic footage set (:mod:`.synthetic`) and real phone clips'
typical ranges, and are part of :data:`~adloom.creative.assets.model.ANALYZER_VERSION`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["exposure", "frame_change", "global_shift", "gray", "sharpness", "text_likely"]

#: Variance of the Laplacian (on a 480-px-wide grey frame) at which sharpness is 0.5.
SHARPNESS_HALF = 120.0


def gray(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr


def sharpness(g: np.ndarray) -> float:
    """Variance of the Laplacian mapped to 0..1 (v / (v + SHARPNESS_HALF)). Measured on the frame as scaled
    for analysis, so it judges focus/motion blur at the size an ad shows it, not sensor detail. A flat frame
    (a plain card, a wall) reads as soft: there is nothing to be sharp."""
    v = float(cv2.Laplacian(g, cv2.CV_64F).var())
    return v / (v + SHARPNESS_HALF)


def exposure(g: np.ndarray) -> float:
    """1 = well exposed. Penalties: share of clipped pixels beyond 10 % (<= 3 or >= 252, white studio
    backgrounds up to that share are fine), and a mean luma outside 50..210 (a dark or washed-out frame)."""
    n = g.size
    hist = np.bincount(g.ravel(), minlength=256)
    clipped = (hist[:4].sum() + hist[252:].sum()) / n
    mean = float((hist * np.arange(256)).sum() / n)
    penalty = max(0.0, clipped - 0.10) * 1.2
    if mean < 50:
        penalty += (50 - mean) / 50 * 0.8
    elif mean > 210:
        penalty += (mean - 210) / 45 * 0.8
    return float(min(1.0, max(0.0, 1.0 - penalty)))


def text_likely(g: np.ndarray) -> bool:
    """Whether on-screen text (a caption, a title card, a label) is likely visible.

    Classical heuristic: text is rows of small high-contrast strokes. A morphological gradient shows
    strokes, Otsu keeps the strong ones, a wide closing joins letters into line blobs; a blob counts as a
    text line when it is wide and short (w >= 2.5 h, h within 2-15 % of the frame) and densely filled with
    strokes, and two such lines, or one long one, make the frame "text likely".

    What it cannot do: read (no OCR, no language); tell a caption from a barcode, a striped shirt, blinds
    or a keyboard (regular fine texture gives false positives); find tiny text (< ~2 % of frame height,
    a product label seen from afar), text at a strong angle, or low-contrast/decorative lettering.
    """
    h, w = g.shape
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    grad = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, kernel)
    if int(grad.max()) < 60:
        return False
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if float(bw.mean()) / 255.0 > 0.35:  # busy texture everywhere: not text on a background
        return False
    joined = cv2.morphologyEx(bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 40), 1)))
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    lines = 0
    long_line = False
    for x, y, bw_, bh, area in stats[1:]:
        if not (0.02 * h <= bh <= 0.15 * h) or bw_ < 2.5 * bh or bw_ > 0.98 * w:
            continue
        fill = float(bw[y : y + bh, x : x + bw_].mean()) / 255.0
        if 0.2 <= fill <= 0.75 and area / float(bw_ * bh) > 0.45:
            lines += 1
            long_line = long_line or bw_ >= 6 * bh
    return lines >= 2 or long_line


def frame_change(prev: np.ndarray, cur: np.ndarray) -> float:
    """Mean absolute grey difference between two consecutive small frames, in 0..255 units."""
    return float(cv2.absdiff(prev, cur).mean())


def global_shift(prev: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Whole-frame translation (dx, dy) in pixels from ``prev`` to ``cur`` (phase correlation with a Hann
    window): camera pan/tilt and hand-held jitter, not subject motion."""
    scale = 1.0
    if prev.shape[1] > 128:  # phase correlation at 128 px wide: 4x faster, shifts still sub-pixel there
        scale = prev.shape[1] / 128.0
        size = (128, max(8, round(prev.shape[0] / scale)))
        prev = cv2.resize(prev, size, interpolation=cv2.INTER_AREA)
        cur = cv2.resize(cur, size, interpolation=cv2.INTER_AREA)
    a = prev.astype(np.float32)
    b = cur.astype(np.float32)
    win = _hann(a.shape)
    (dx, dy), response = cv2.phaseCorrelate(a, b, win)
    if not (math.isfinite(dx) and math.isfinite(dy)) or response < 0.05:
        return 0.0, 0.0
    return float(dx) * scale, float(dy) * scale


_HANN: dict[tuple[int, int], np.ndarray] = {}


def _hann(shape: tuple[int, ...]) -> np.ndarray:
    key = (int(shape[1]), int(shape[0]))
    if key not in _HANN:
        _HANN[key] = cv2.createHanningWindow(key, cv2.CV_32F)
    return _HANN[key]
