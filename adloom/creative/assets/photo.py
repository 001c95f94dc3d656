"""What a still shows: where the subject is (saliency), whether the background is plain (and then a
cut-out of the product), and its dominant colours. Classical image processing (numpy + OpenCV), seeded
and deterministic; no model download.

Limits, stated once:

* Saliency is the spectral residual (Hou & Zhang 2007), computed with numpy's FFT because OpenCV's
  ``saliency`` module is only in the contrib build, not in ``opencv-python-headless``. It finds "what
  stands out" (contrast, edges), not "the product": on a busy scene it can pick a bright window or a
  logo. On a plain background the box is the cut-out's bounding box instead, which is far more precise.
* The cut-out is a flood fill of background-coloured pixels from the border plus morphology. It fails
  (and says nothing) where the product has the background's colour (a white bottle on white: holes or
  a missing side), keeps soft shadows as part of the product, and cannot do hair, glass or
  transparency. It is only attempted when the border is one near-uniform colour.
* Colours are k-means (k=5, seeded) on a downsampled copy; a plain background is excluded, a busy one
  is not (it is part of the picture's look).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ["PhotoFacts", "analyze_photo"]

#: Colour distance (CIELAB ΔE-ish, OpenCV's 8-bit Lab) under which a border pixel matches the background.
BG_TOLERANCE = 14.0


class PhotoFacts:
    """Plain results of :func:`analyze_photo` (the model's PhotoInfo is built from these)."""

    def __init__(self, box, plain, bg_hex, cutout, colours, shares) -> None:  # noqa: ANN001
        self.saliency_box: tuple[float, float, float, float] = box
        self.plain_background: bool = plain
        self.background_colour: str | None = bg_hex
        self.cutout: Path | None = cutout
        self.colours: list[str] = colours
        self.colour_shares: list[float] = shares


def _hex(bgr: np.ndarray) -> str:
    b, g, r = (int(round(float(v))) for v in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


def spectral_residual(gray: np.ndarray) -> np.ndarray:
    """Saliency map (same size as a 64-px-wide ``gray``), 0..1."""
    img = gray.astype(np.float32) / 255.0
    f = np.fft.fft2(img)
    log_amp = np.log(np.abs(f) + 1e-8)
    phase = np.angle(f)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 2.5)
    return sal / (float(sal.max()) or 1.0)


def _saliency_box(bgr_small: np.ndarray) -> tuple[float, float, float, float]:
    h, w = bgr_small.shape[:2]
    g = cv2.cvtColor(bgr_small, cv2.COLOR_BGR2GRAY)
    sw = 64
    sh = max(8, round(h * sw / w))
    sal = spectral_residual(cv2.resize(g, (sw, sh), interpolation=cv2.INTER_AREA))
    mask = (sal >= max(0.2, 3.0 * float(sal.mean()))).astype(np.uint8)
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if n <= 1:
        return (0.0, 0.0, 1.0, 1.0)
    # The box around every salient blob holding at least 10 % of the salient area.
    total = stats[1:, cv2.CC_STAT_AREA].sum()
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 0.1 * total]
    x0 = min(stats[i, 0] for i in keep)
    y0 = min(stats[i, 1] for i in keep)
    x1 = max(stats[i, 0] + stats[i, 2] for i in keep)
    y1 = max(stats[i, 1] + stats[i, 3] for i in keep)
    return _norm_box(x0, y0, x1, y1, sw, sh)


def _norm_box(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> tuple[float, float, float, float]:
    box = (max(0.0, x0 / w), max(0.0, y0 / h), min(1.0, x1 / w), min(1.0, y1 / h))
    if box[2] - box[0] < 1e-3 or box[3] - box[1] < 1e-3:
        return (0.0, 0.0, 1.0, 1.0)
    return tuple(round(v, 4) for v in box)  # type: ignore[return-value]


def _border(lab: np.ndarray) -> np.ndarray:
    h, w = lab.shape[:2]
    m = max(2, round(0.04 * min(h, w)))
    return np.concatenate(
        [lab[:m].reshape(-1, 3), lab[-m:].reshape(-1, 3), lab[:, :m].reshape(-1, 3), lab[:, -m:].reshape(-1, 3)]
    ).astype(np.float32)


def _plain(lab: np.ndarray) -> np.ndarray | None:
    """The background's Lab colour when >= 90 % of the border is within BG_TOLERANCE of its median, else None."""
    border = _border(lab)
    med = np.median(border, axis=0)
    close = np.linalg.norm(border - med, axis=1) <= BG_TOLERANCE
    return med if float(close.mean()) >= 0.9 else None


def _background_mask(lab: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Pixels of the background colour connected to the border (flood fill from the border), 255 = background."""
    near = (np.linalg.norm(lab.astype(np.float32) - bg, axis=2) <= BG_TOLERANCE * 1.3).astype(np.uint8)
    n, labels = cv2.connectedComponents(near, connectivity=4)
    edge_labels = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))) - {0}
    mask = np.isin(labels, list(edge_labels)) & (near > 0)
    m = mask.astype(np.uint8) * 255
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, k)  # specks of background colour inside the product stay product
    return m


def _kmeans_colours(pixels: np.ndarray, k: int = 5) -> tuple[list[str], list[float]]:
    if len(pixels) < k:
        return [], []
    cv2.setRNGSeed(7)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _c, labels, centres = cv2.kmeans(pixels.astype(np.float32), k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    counts = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
    order = np.argsort(-counts)
    shares = counts / counts.sum()
    colours: list[str] = []
    out_shares: list[float] = []
    for i in order:
        hexa = _hex(centres[i])
        if hexa in colours or (shares[i] < 0.03 and len(colours) >= 3):
            continue
        colours.append(hexa)
        out_shares.append(round(float(shares[i]), 4))
    return colours[:5], out_shares[:5]


def analyze_photo(bgr: np.ndarray, cutout_path: Path | None) -> PhotoFacts:
    """Saliency box, plain background, cut-out (written to ``cutout_path`` as RGBA PNG when the background is
    plain and a subject was separated) and dominant colours of an upright BGR image."""
    h, w = bgr.shape[:2]
    scale = min(1.0, 512.0 / max(h, w))
    small = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
    bg = _plain(lab)
    box = _saliency_box(small)
    cut: Path | None = None
    bg_hex: str | None = None
    pixels = small.reshape(-1, 3)
    if bg is not None:
        bg_bgr = cv2.cvtColor(np.uint8([[bg]]), cv2.COLOR_LAB2BGR)[0, 0]
        bg_hex = _hex(bg_bgr.astype(np.float32))
        mask_bg = _background_mask(lab, bg)
        fg = (mask_bg == 0).astype(np.uint8)
        share = float(fg.mean())
        if 0.01 <= share <= 0.95:
            ys, xs = np.nonzero(fg)
            sh, sw = fg.shape
            box = _norm_box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, sw, sh)
            pixels = small[fg > 0]
            if cutout_path is not None:
                full_fg = cv2.resize(fg * 255, (w, h), interpolation=cv2.INTER_LINEAR)
                alpha = cv2.GaussianBlur(full_fg, (0, 0), max(0.8, 0.6 / scale))
                rgba = np.dstack([bgr, alpha])
                x0, y0 = int(box[0] * w), int(box[1] * h)
                x1, y1 = int(np.ceil(box[2] * w)), int(np.ceil(box[3] * h))
                cutout_path.parent.mkdir(parents=True, exist_ok=True)
                if cv2.imwrite(str(cutout_path), rgba[y0:y1, x0:x1]):
                    cut = cutout_path
    step = max(1, len(pixels) // 20000)
    colours, shares = _kmeans_colours(pixels[::step])
    return PhotoFacts(box, bg is not None, bg_hex, cut, colours, shares)
