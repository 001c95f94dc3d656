"""A photo avatar: one portrait, animated by warping the image around its face landmarks.

Why warping and not a talking-head network: no lip-sync weights install offline (see
OFFLINE_MODELS.md), and a warp on a CPU costs a few milliseconds per frame. What moves:

* **Mouth** — per :class:`~adloom.digital_human.avatar.base.MouthPose`: the lip gap opens
  in a lens shape (widest at the centre, closed at the corners) to ``open × max_open`` of
  the mouth width; the upper lip rises a little and the lower lip and the whole chin drop,
  the stretch fading out towards the nose and down the neck; ``wide``/``round`` spread or
  purse the lips sideways. At rest and on ``closed_hard`` the lips meet, even when the photo
  shows them parted (so silence always reads as a closed mouth). Inside the opening: if
  the photo's lips were parted (a smile with teeth), its own inner mouth hangs from the
  upper lip, as upper teeth move with the skull; below that, or for a closed-mouth photo
  from the lip line, a mouth is painted — an upper-teeth band (closed-mouth photos), a dark
  cavity lightening towards the tongue, lower teeth on wide openings, shaded to the corners.
* **Blinks** — the upper lid skin slides down to the lower lid (a warp, so the lid has the
  person's own skin), about one blink every 4 s at seeded times.
* **Head** — a small seeded rotation/translation/scale about the neck, fading to nothing
  at the shoulders so the body stays still.

Speed: the portrait is composed onto the background once; each frame builds float32 maps
for the head region only (the head move from precomputed weighted grids, the mouth and eye
maths only inside their own boxes, each warp inverted in closed form), remaps a crop with
fixed-point maps and copies the result into the static frame: ~6–7 ms of one core per
720×1280 frame (``bench/lipsync.py``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from adloom.core.errors import InputError
from adloom.core.paths import check_upload, resolve_inside
from adloom.core.settings import get_settings
from adloom.digital_human.avatar.base import REST, MouthPose
from adloom.digital_human.avatar.consent import (
    ConsentRecord,
    load_consent,
    require_consent,
)
from adloom.digital_human.avatar.landmarks import FaceLandmarks, portrait_landmarks, sha256_file

__all__ = ["SAMPLES_DIR", "PhotoAvatar", "sample_consent", "save_photo_avatar"]

SAMPLES_DIR = Path(__file__).with_name("samples")
SAMPLE_PORTRAIT = SAMPLES_DIR / "astronaut.jpg"
SAMPLE_LANDMARKS = SAMPLES_DIR / "astronaut.landmarks.json"
PORTRAIT_FILE, LANDMARKS_FILE = "portrait", "landmarks.json"
MAX_PORTRAIT_BYTES = 25 * 1024 * 1024
MAX_PORTRAIT_PIXELS = 40_000_000  # refused before decoding (decompression bombs)

# Face-mesh indices.
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
             149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]  # fmt: skip
INNER_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
INNER_LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
NOSE_BASE, CHIN = 2, 152
EYE_OUTER_L, EYE_OUTER_R = 33, 263
# (corner a, corner b, upper-lid middle, lower-lid middle) per eye.
EYES = [(33, 133, 159, 145), (362, 263, 386, 374)]

#: Blink closure per frame at 25 fps (resampled for other rates).
_BLINK_CURVE = np.array([0.35, 0.8, 1.0, 0.9, 0.6, 0.3, 0.1])
_BLINK_PERIOD_S = 4.0


def sample_consent() -> ConsentRecord:
    """Consent basis of the bundled sample portrait (a public-domain NASA photograph)."""
    return ConsentRecord(
        subject="Eileen Collins (official NASA astronaut portrait, scikit-image sample 'astronaut')",
        granted_by="NASA — public-domain photograph, no known copyright restrictions",
        statement=(
            "Public-domain sample used only for adloom's tests, benchmarks and demos; it does not authorise "
            "presenting the pictured person in commercial streams."
        ),
        granted_at="2026-11-21T00:00:00+00:00",
        portrait_sha256=sha256_file(SAMPLE_PORTRAIT),
    )


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 below edge0, 1 above edge1, a smooth cubic between (edges may be reversed)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _mix64(x: int) -> int:
    """splitmix64: a fast, well-mixed integer hash (seeded, per-block blink times)."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


class PhotoAvatar:
    """Animates a consented portrait. Implements :class:`~adloom.digital_human.avatar.base.Avatar`.

    ``portrait``: image path, resolved inside ``roots`` (default: the current folder,
    ``ADLOOM_HOME``, settings ``allowed_roots`` and the bundled samples) and checked by
    content. ``consent``: a :class:`ConsentRecord` for exactly this file (required).
    ``landmarks``: precomputed :class:`FaceLandmarks` or a path to their JSON; default:
    run mediapipe once (cached by the file's sha256). ``size``: (width, height) of the
    frames. ``background``: RGB tuple, image path (inside ``roots``) or (H, W, 3) array,
    shown where the portrait does not cover the frame. ``fit``: ``"cover"`` fills the
    frame with the portrait (zoomed by ``zoom``, panned to the face); ``"face"`` scales it so
    the face is ``face_width`` of the frame width and feathers its edges over the
    background. ``head_motion`` scales the idle head movement (0 = still), ``blinks``
    turns blinking on/off, ``max_open`` is the widest lip gap as a fraction of mouth width.
    """

    def __init__(
        self,
        portrait: str | os.PathLike[str],
        *,
        consent: ConsentRecord | None,
        landmarks: FaceLandmarks | str | os.PathLike[str] | None = None,
        roots: Sequence[str | os.PathLike[str]] | None = None,
        size: tuple[int, int] = (720, 1280),
        fps: int = 25,
        background: tuple[int, int, int] | str | os.PathLike[str] | np.ndarray | None = None,
        fit: Literal["cover", "face"] = "cover",
        zoom: float = 1.0,
        face_width: float = 0.42,
        face_y: float = 0.34,
        seed: int = 0,
        head_motion: float = 1.0,
        blinks: bool = True,
        max_open: float = 0.4,
    ) -> None:
        import cv2
        from PIL import Image, ImageOps

        width, height = int(size[0]), int(size[1])
        if not (64 <= width <= 4096 and 64 <= height <= 4096):
            raise InputError(f"photo avatar size {size} is out of range; use e.g. (720, 1280)", field="size")
        if not 1 <= int(fps) <= 120:
            raise InputError(f"photo avatar fps {fps} is out of range; use e.g. 25", field="fps")
        if fit not in ("cover", "face"):
            raise InputError(f"photo avatar fit {fit!r}: use 'cover' or 'face'", field="fit")
        self.size = (width, height)
        self.fps = int(fps)
        self.seed = int(seed)
        self.head_motion = float(head_motion)
        self.blinks = bool(blinks)
        self.max_open = float(max_open)
        self._phases = [float(x) for x in np.random.default_rng(self.seed).uniform(0, 2 * math.pi, 6)]

        settings = get_settings()
        allowed = (
            list(roots) if roots is not None else [Path.cwd(), settings.home, *settings.allowed_roots, SAMPLES_DIR]
        )
        self.portrait_path = resolve_inside(portrait, allowed, field="portrait")
        if not self.portrait_path.is_file():
            raise InputError(f"portrait {portrait} does not exist (resolved to {self.portrait_path})", field="portrait")
        check_upload(self.portrait_path, ["image"], max_bytes=MAX_PORTRAIT_BYTES)
        digest = sha256_file(self.portrait_path)
        require_consent(consent, digest, portrait_name=self.portrait_path.name)
        self.consent: ConsentRecord = consent  # type: ignore[assignment]

        if landmarks is None:
            landmarks = portrait_landmarks(self.portrait_path)
        elif not isinstance(landmarks, FaceLandmarks):
            landmarks = FaceLandmarks.load(resolve_inside(landmarks, allowed, field="landmarks"))
        if landmarks.sha256 and landmarks.sha256 != digest:
            raise InputError(
                f"the landmarks given are for another picture ({landmarks.sha256[:12]}…), not "
                f"{self.portrait_path.name} ({digest[:12]}…); omit landmarks= to compute them",
                field="landmarks",
            )
        self.landmarks = landmarks

        try:
            with Image.open(self.portrait_path) as im:
                if im.width * im.height > MAX_PORTRAIT_PIXELS:
                    raise InputError(
                        f"portrait {self.portrait_path.name} is {im.width}×{im.height}; portraits over "
                        f"{MAX_PORTRAIT_PIXELS} pixels are refused (a 2000-pixel side is plenty)",
                        field="portrait",
                    )
                photo = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        except (OSError, Image.DecompressionBombError) as exc:
            raise InputError(f"cannot decode portrait {self.portrait_path.name}: {exc}", field="portrait") from exc
        if (photo.shape[1], photo.shape[0]) != landmarks.size:
            raise InputError(
                f"landmarks were measured on a {landmarks.size[0]}×{landmarks.size[1]} image but "
                f"{self.portrait_path.name} is {photo.shape[1]}×{photo.shape[0]}; recompute them",
                field="landmarks",
            )

        # --- compose the static frame: background + scaled portrait -------------------------------------------
        pts = landmarks.xy.astype(np.float64)
        oval = pts[FACE_OVAL]
        face_w = float(oval[:, 0].max() - oval[:, 0].min())
        face_c = (oval.min(0) + oval.max(0)) / 2
        ph, pw = photo.shape[:2]
        if fit == "cover":
            scale = max(width / pw, height / ph) * max(1.0, float(zoom))
        else:
            scale = face_width * width / max(face_w, 1.0)
        tx, ty = width / 2 - face_c[0] * scale, face_y * height - face_c[1] * scale
        if fit == "cover":  # keep the frame covered
            tx = min(0.0, max(width - pw * scale, tx))
            ty = min(0.0, max(height - ph * scale, ty))
        affine = np.array([[scale, 0.0, tx], [0.0, scale, ty]], np.float64)
        placed = cv2.warpAffine(photo, affine, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        bg = self._background(background, allowed, width, height)
        feather = max(2, int(0.01 * width))
        alpha_src = np.zeros((ph, pw), np.float32)
        alpha_src[1:-1, 1:-1] = 1.0
        alpha_src = cv2.GaussianBlur(alpha_src, (0, 0), feather / scale) if fit == "face" else alpha_src
        alpha = cv2.warpAffine(alpha_src, affine, (width, height), flags=cv2.INTER_LINEAR)[..., None]
        if fit == "cover":
            alpha = np.ones_like(alpha)
        self._static = np.ascontiguousarray((placed * alpha + bg * (1.0 - alpha)).round().clip(0, 255).astype(np.uint8))
        self.points = pts * scale + np.array([tx, ty])  # (478, 2) in frame pixels
        self._build_rig()

    # ------------------------------------------------------------------------------------------------ setup
    @staticmethod
    def _background(spec: object, roots: Sequence[object], width: int, height: int) -> np.ndarray:
        import cv2
        from PIL import Image

        if spec is None:  # a soft studio gradient
            top, bottom = np.array([214, 220, 230], np.float32), np.array([150, 160, 178], np.float32)
            t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
            return np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3)).astype(np.float32)
        if isinstance(spec, tuple):
            if len(spec) != 3 or not all(0 <= int(c) <= 255 for c in spec):
                raise InputError(f"background colour {spec} must be an (r, g, b) tuple of 0–255", field="background")
            return np.broadcast_to(np.array(spec, np.float32), (height, width, 3)).astype(np.float32)
        if isinstance(spec, np.ndarray):
            img = spec
        else:
            path = resolve_inside(spec, roots, field="background")  # type: ignore[arg-type]
            check_upload(path, ["image"], max_bytes=MAX_PORTRAIT_BYTES)
            with Image.open(path) as im:
                img = np.asarray(im.convert("RGB"))
        if img.ndim != 3 or img.shape[2] != 3:
            raise InputError(f"background image must be (H, W, 3) RGB, got {img.shape}", field="background")
        s = max(width / img.shape[1], height / img.shape[0])
        resized = cv2.resize(
            img, (math.ceil(img.shape[1] * s), math.ceil(img.shape[0] * s)), interpolation=cv2.INTER_AREA
        )
        y0, x0 = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
        return resized[y0 : y0 + height, x0 : x0 + width].astype(np.float32)

    def _build_rig(self) -> None:
        """Precompute the face frame, the head region and its weights, and the mouth and eye boxes."""
        p = self.points
        width, height = self.size
        ex = p[EYE_OUTER_R] - p[EYE_OUTER_L]
        ex /= np.linalg.norm(ex)
        ey = np.array([-ex[1], ex[0]])  # points down the face
        self._ex, self._ey = ex, ey
        oval = p[FACE_OVAL]
        centre = oval.mean(0)
        u_oval, v_oval = (oval - centre) @ ex, (oval - centre) @ ey
        half_w, half_h = float(np.ptp(u_oval)) / 2, float(np.ptp(v_oval)) / 2
        self.face_width_px = 2 * half_w

        # Head region: an ellipse a little larger than the face (hair), weight 1 inside, 0 at 1.7× its radii.
        head_c = centre - 0.12 * half_h * ey
        ra, rb = 1.3 * half_w, 1.35 * half_h
        reach = 1.5 * max(ra, rb) + 4
        x0, x1 = max(0, int(head_c[0] - reach)), min(width, int(head_c[0] + reach) + 1)
        y0, y1 = max(0, int(head_c[1] - reach)), min(height, int(head_c[1] + reach) + 1)
        self._roi = (x0, y0, x1, y1)
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        self._gx, self._gy = gx, gy
        du, dv = (
            (gx - head_c[0]) * ex[0] + (gy - head_c[1]) * ex[1],
            (gx - head_c[0]) * ey[0] + (gy - head_c[1]) * ey[1],
        )
        r = np.sqrt((du / ra) ** 2 + (dv / rb) ** 2)
        self._head_w = (1.0 - _smoothstep(1.0, 1.5, r)).astype(np.float32)
        self._wgx, self._wgy = self._head_w * gx, self._head_w * gy
        margin = int(0.25 * self.face_width_px) + 8  # farther than any warp reaches
        sx0, sy0 = max(0, x0 - margin), max(0, y0 - margin)
        self._src_origin = (float(sx0), float(sy0))
        self._src = np.ascontiguousarray(self._static[sy0 : min(height, y1 + margin), sx0 : min(width, x1 + margin)])
        self._pivot = p[CHIN] + 0.35 * half_h * ey  # the neck

        # Mouth frame: origin between the inner corners, u along the eye line, v down the face.
        origin = (p[INNER_UPPER[0]] + p[INNER_UPPER[-1]]) / 2
        self._mouth_o = origin

        def uv(idx: list[int] | int) -> tuple[np.ndarray, np.ndarray]:
            q = p[idx] - origin
            return q @ ex, q @ ey

        uu, vu = uv(INNER_UPPER)
        ul, vl = uv(INNER_LOWER)
        order_u, order_l = np.argsort(uu), np.argsort(ul)
        self._top_u, self._top_v = uu[order_u], vu[order_u]
        self._bot_u, self._bot_v = ul[order_l], vl[order_l]
        self._hw = float(uu.max() - uu.min()) / 2  # half inner-mouth width
        outer_l, outer_r = uv(MOUTH_LEFT), uv(MOUTH_RIGHT)
        self._hw_out = float(abs(outer_r[0] - outer_l[0])) / 2
        self._v_nose = float(uv(NOSE_BASE)[1])
        self._v_chin = float(uv(CHIN)[1])
        self._g0_centre = float(np.interp(0.0, self._bot_u, self._bot_v) - np.interp(0.0, self._top_u, self._top_v))
        # Parted lips in the photo (a smile showing teeth): its own inner mouth is reused when speaking. A mesh gap
        # under 6 % of the mouth width is a closed mouth, and gets a painted one with teeth.
        self._photo_open = self._g0_centre >= 0.06 * 2 * self._hw
        lip_to_chin = max(self._v_chin - float(np.interp(0.0, self._bot_u, self._bot_v)), 4.0)
        self._lip_to_chin = lip_to_chin
        self._max_gap = self.max_open * 2 * self._hw
        self._ramp, self._fall = 0.5 * lip_to_chin, 1.1 * lip_to_chin
        # The mouth box: everything the mouth warp can touch, plus the head-motion slack.
        slack = 0.06 * self.face_width_px + 3
        half_u = 2.7 * self._hw_out + slack
        self._mouth_box = self._box(origin, half_u, self._v_nose - slack, self._v_chin + self._fall + slack)
        # Per-column lookup tables over the box's u range (1/4-pixel steps).
        n = int(8 * half_u) + 2
        self._u_grid = np.linspace(-half_u, half_u, n)
        self._u_inv_step = float((n - 1) / (2 * half_u))
        self._top_t = np.interp(self._u_grid, self._top_u, self._top_v)
        self._bot_t = np.maximum(np.interp(self._u_grid, self._bot_u, self._bot_v), self._top_t)  # never crossed
        self._jaw_w = 1.0 - _smoothstep(1.4 * self._hw_out, 2.6 * self._hw_out, np.abs(self._u_grid))
        self._cavity = np.array([52, 18, 22], np.float32)
        self._tongue = np.array([150, 62, 68], np.float32)
        self._tooth = np.array([226, 220, 208], np.float32)

        self._eyes = []
        for a, b, up, lo in EYES:
            c = (p[a] + p[b]) / 2
            q = p[[a, b, up, lo]] - c
            eu, ev = q @ ex, q @ ey
            half = abs(eu[1] - eu[0]) / 2
            h = max(float(ev[3] - ev[2]), 1.0)
            brow = float(ev[2]) - 2.2 * h - 0.25 * half
            box = self._box(c, 1.3 * half + slack, brow - slack, float(ev[3]) + 0.3 * h + slack)
            self._eyes.append((c, float(half), float(ev[2]), float(ev[3]), brow, box))

    def _box(self, origin: np.ndarray, half_u: float, v_min: float, v_max: float) -> tuple[slice, slice]:
        """ROI-relative (rows, cols) slices of the axis-aligned box around a face-frame rectangle."""
        corners = np.array(
            [origin + su * half_u * self._ex + v * self._ey for su in (-1, 1) for v in (v_min, v_max)], np.float64
        )
        x0, y0, x1, y1 = self._roi
        cx0, cy0 = np.floor(corners.min(0)).astype(int)
        cx1, cy1 = np.ceil(corners.max(0)).astype(int) + 1
        return slice(max(cy0, y0) - y0, min(cy1, y1) - y0), slice(max(cx0, x0) - x0, min(cx1, x1) - x0)

    # -------------------------------------------------------------------------------------------- animation
    def head_pose(self, index: int) -> tuple[float, float, float, float]:
        """(rotation rad, dx px, dy px, scale) of the idle head movement at frame ``index``."""
        if self.head_motion == 0.0:
            return 0.0, 0.0, 0.0, 1.0
        t = index / self.fps
        ph = self._phases
        a, fw = self.head_motion, self.face_width_px
        rot = (
            a
            * math.radians(1.4)
            * (0.65 * math.sin(2 * math.pi * t / 7.3 + ph[0]) + 0.35 * math.sin(2 * math.pi * t / 3.1 + ph[1]))
        )
        dx = a * 0.014 * fw * math.sin(2 * math.pi * t / 5.9 + ph[2])
        dy = (
            a
            * 0.009
            * fw
            * (0.6 * math.sin(2 * math.pi * t / 4.3 + ph[3]) + 0.4 * math.sin(2 * math.pi * t / 1.9 + ph[4]))
        )
        scale = 1.0 + a * 0.006 * math.sin(2 * math.pi * t / 6.7 + ph[5])
        return rot, dx, dy, scale  # fmt: skip

    def blink(self, index: int) -> float:
        """Eye closure in [0, 1] at frame ``index``: one blink at a seeded moment in most 4-second blocks."""
        if not self.blinks:
            return 0.0
        block_len = int(round(_BLINK_PERIOD_S * self.fps))
        curve_len = max(3, int(round(len(_BLINK_CURVE) * self.fps / 25)))
        block, offset = divmod(int(index), block_len)
        h = _mix64((self.seed << 32) ^ block)
        if h % 100 >= 85:  # some blocks have no blink
            return 0.0
        start = int((h >> 8) % max(1, block_len - curve_len))
        k = offset - start
        if not 0 <= k < curve_len:
            return 0.0
        return float(
            np.interp(k * (len(_BLINK_CURVE) - 1) / max(1, curve_len - 1), np.arange(len(_BLINK_CURVE)), _BLINK_CURVE)
        )

    def frame(self, index: int, mouth: MouthPose = REST) -> np.ndarray:
        """The RGB frame (height, width, 3) uint8 for frame ``index`` with mouth pose ``mouth``."""
        import cv2

        x0, y0, x1, y1 = self._roi
        mx, my = self._head_maps(index)
        paint = self._mouth(mx, my, mouth)
        closure = self.blink(index)
        if closure > 0.0:
            for eye in self._eyes:
                self._eyelid(mx, my, eye, closure)
        # Sample from a crop around the head (cache-friendly) with fixed-point maps (faster than float maps).
        sx0, sy0 = self._src_origin
        mx -= sx0
        my -= sy0
        map1, map2 = cv2.convertMaps(mx, my, cv2.CV_16SC2)
        roi = cv2.remap(self._src, map1, map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if paint is not None:
            (rows, cols), colour, alpha = paint
            region = roi[rows, cols].astype(np.float32)
            region += alpha[..., None] * (colour - region)
            roi[rows, cols] = (region + 0.5).astype(np.uint8)
        out = self._static.copy()
        out[y0:y1, x0:x1] = roi
        return out

    def _head_maps(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """float32 remap maps of the head region: where each output pixel was before the head moved.

        The head moves by a similarity about the neck; blending its inverse by the head weight
        ``w`` gives ``m = g + w·(A·g + b − g)``, written as ``g + a00·(w·gx) + a01·(w·gy) + c·w``
        with the products ``w·gx``, ``w·gy`` precomputed, so a frame costs a few fused passes.
        """
        gx, gy = self._gx, self._gy
        rot, dx, dy, sc = self.head_pose(index)
        if not (rot or dx or dy or sc != 1.0):
            return gx.copy(), gy.copy()
        c, s = math.cos(-rot) / sc, math.sin(-rot) / sc
        px, py = float(self._pivot[0]), float(self._pivot[1])
        # p_src = pivot + R(-rot)/sc · (p − pivot − t)  →  p_src − p = (M − I)·p + k
        kx = px - c * (px + dx) + s * (py + dy)
        ky = py - s * (px + dx) - c * (py + dy)
        wgx, wgy, w = self._wgx, self._wgy, self._head_w
        mx = wgx * (c - 1.0)
        mx += wgy * (-s)
        mx += w * kx
        mx += gx
        my = wgx * s
        my += wgy * (c - 1.0)
        my += w * ky
        my += gy
        return mx, my

    def _mouth(self, mx: np.ndarray, my: np.ndarray, pose: MouthPose):
        """Warp the mouth box of the maps in place; returns what to paint into the lip gap (or None).

        Per column ``u`` of the mouth frame the gap grows from the photo's own ``g0`` to
        ``g0 + open·max_gap·profile(u)``: the upper lip rises by 30 % of the growth and the
        lower lip drops by 70 %, the chin drops with the jaw. The forward displacement is
        piecewise linear in ``v``, so each piece is inverted exactly (no iteration).
        """
        open_ = 0.0 if pose.closed_hard else float(np.clip(pose.open, 0.0, 1.0))
        wide, rnd = float(np.clip(pose.wide, 0.0, 1.0)), float(np.clip(pose.round, 0.0, 1.0))
        if open_ == 0.0 and wide == 0.0 and rnd == 0.0 and self._g0_centre < 0.5:
            return None  # the photo's own (closed) mouth
        rows, cols = self._mouth_box
        o, ex, ey = self._mouth_o, self._ex, self._ey
        qx, qy = mx[rows, cols] - float(o[0]), my[rows, cols] - float(o[1])
        u = qx * float(ex[0]) + qy * float(ex[1])
        v = qx * float(ey[0]) + qy * float(ey[1])

        # Sideways: spread ("i") or purse ("o") the lips, fading out around the mouth.
        k0 = 0.12 * wide - 0.16 * rnd
        if k0:
            fade_u = 1.0 - _smoothstep(1.15 * self._hw_out, 2.3 * self._hw_out, np.abs(u))
            fade_v = 1.0 - _smoothstep(0.5, 1.2, np.abs(v) / np.where(v < 0, -self._v_nose, self._v_chin))
            u = u / (1.0 + k0 * fade_u * fade_v)

        # Per-column tables on the u grid, then looked up per pixel. The target gap depends on the pose only
        # (a photo with parted lips closes them at rest, so silence always shows a closed mouth).
        ug = self._u_grid
        top_t, bot_t = self._top_t, self._bot_t
        g0_t = bot_t - top_t
        hw_eff = self._hw * (1.0 + k0)
        prof_t = np.clip(1.0 - (ug / self._hw) ** 2, 0.0, 1.0) ** (0.5 - 0.2 * wide + 0.1 * rnd)
        delta_t = open_ * self._max_gap * prof_t - g0_t
        delta_c = open_ * self._max_gap - self._g0_centre
        jaw = (0.7 if delta_c >= 0 else 0.5) * delta_c
        up_t = np.where(delta_t >= 0, 0.3, 0.5) * delta_t
        down_t = np.where(delta_t >= 0, 0.7, 0.5) * delta_t
        jaw_t = jaw * self._jaw_w
        idx = np.clip(((u - float(ug[0])) * self._u_inv_step).astype(np.int32), 0, len(ug) - 1)
        tables = np.stack([top_t, bot_t, up_t, down_t, jaw_t, g0_t], axis=1).astype(np.float32)  # (n, 6)
        looked_up = np.take(tables, idx, axis=0)  # (H, W, 6): one gather instead of six
        top, bot, up, down, jw, g0 = (np.ascontiguousarray(looked_up[..., k]) for k in range(6))

        top_out, bot_out = top - up, bot + down
        vn, vc, ramp, fall = self._v_nose, self._v_chin, self._ramp, self._fall
        # Upper lip: v = vs − up·(vs − vn)/(top − vn) between the nose and the lip.
        k_up = up / np.maximum(top - vn, 1.0)
        vs_up = np.where(v > vn, (v - k_up * vn) / (1.0 - k_up), v)
        # Lower lip and jaw: displacement ramps from `down` at the lip to `jw` over `ramp`, holds to the chin,
        # then fades linearly to 0 over `fall` down the neck.
        slope = (jw - down) / ramp
        vs_a = (v - down + slope * bot) / (1.0 + slope)
        vs_b = v - jw
        vs_c = (v - jw - jw * (vc / fall)) / (1.0 - jw / fall)
        vs_low = np.where(v < bot + ramp + jw, vs_a, np.where(v < vc + jw, vs_b, np.where(v < vc + fall, vs_c, v)))
        # The gap: the photo's own inner mouth hangs from the upper lip (upper teeth move with the skull).
        hang = g0 if self._photo_open else np.zeros_like(g0)
        vs_gap = top + np.minimum(v - top_out, hang)
        vs = np.where(v >= bot_out, vs_low, np.where(v <= top_out, vs_up, vs_gap))
        mx[rows, cols] = float(o[0]) + u * float(ex[0]) + vs * float(ey[0])
        my[rows, cols] = float(o[1]) + u * float(ex[1]) + vs * float(ey[1])

        # Inner mouth below the photo's own: a dark cavity, upper teeth if the photo shows none, lower teeth
        # on wide openings.
        painted = delta_t if self._photo_open else delta_t + g0_t  # growth beyond the photo's interior / the gap
        if float(painted.max(initial=0.0)) < 0.75:
            return None
        reveal = top_out + hang  # where the photo's interior ends
        alpha = np.minimum(np.clip((v - reveal) * 0.5 + 0.5, 0.0, 1.0), np.clip(bot_out - v + 0.5, 0.0, 1.0))
        alpha *= np.clip(bot_out - reveal - 0.5, 0.0, 1.0)  # no hairline where the gap did not grow
        hit_r, hit_c = np.nonzero(alpha.any(axis=1))[0], np.nonzero(alpha.any(axis=0))[0]
        if hit_r.size == 0:
            return None
        sr, sc_ = slice(hit_r[0], hit_r[-1] + 1), slice(hit_c[0], hit_c[-1] + 1)
        alpha, v_, u_ = alpha[sr, sc_], v[sr, sc_], u[sr, sc_]
        top_o, bot_o, g0_, g1_ = top_out[sr, sc_], bot_out[sr, sc_], g0[sr, sc_], (bot_out - top_out)[sr, sc_]
        depth = v_ - top_o
        teeth_h = np.minimum(0.2 * self._hw, 0.4 * g1_) * (0.0 if self._photo_open else 1.0)
        low_h = 0.35 * 0.2 * self._hw * np.clip((g1_ - g0_ - 0.5 * self._max_gap) / (0.3 * self._max_gap), 0.0, 1.0)
        teeth = np.maximum(np.clip(teeth_h - depth + 0.5, 0.0, 1.0), np.clip(low_h - (bot_o - v_) + 0.5, 0.0, 1.0))
        shade = 0.55 + 0.45 * np.sqrt(np.clip(1.0 - (u_ / hw_eff) ** 2, 0.0, 1.0))
        shade *= 0.75 + 0.25 * np.clip(depth / 4.0, 0.0, 1.0)  # shadow under the upper lip
        # The cavity lightens towards the tongue near the lower lip on wide openings.
        tongue = 0.7 * np.clip((depth - 0.55 * g1_) / np.maximum(0.45 * g1_, 1.0), 0.0, 1.0)
        tongue *= np.clip(g1_ / (0.5 * self._max_gap), 0.0, 1.0)
        cavity = self._cavity + tongue[..., None] * (self._tongue - self._cavity)
        teeth *= 0.8 + 0.2 * np.abs(np.sin(np.pi * u_ / (0.3 * self._hw))) ** 0.25  # faint gaps between teeth
        colour = cavity + teeth[..., None] * (self._tooth - cavity)
        colour *= shade[..., None]
        r0, c0 = rows.start + sr.start, cols.start + sc_.start
        box = (slice(r0, r0 + alpha.shape[0]), slice(c0, c0 + alpha.shape[1]))
        return box, colour.astype(np.float32), alpha.astype(np.float32)

    def _eyelid(self, mx: np.ndarray, my: np.ndarray, eye: tuple, closure: float) -> None:
        """Slide the upper lid skin down to the lower lid (in place on the maps); exact inverse, no iteration."""
        c, half, v_up, v_lo, brow, (rows, cols) = eye
        ex, ey = self._ex, self._ey
        bx, by = mx[rows, cols], my[rows, cols]
        qx, qy = bx - float(c[0]), by - float(c[1])
        u = qx * float(ex[0]) + qy * float(ex[1])
        v = qx * float(ey[0]) + qy * float(ey[1])
        shape = np.clip(1.0 - (u / half) ** 2, 0.0, 1.0)  # parabolic lids meeting at the corners
        lid_lo = v_lo * shape
        h = (v_lo - v_up + 1.0) * shape  # the lid opening per column
        inside = (v <= lid_lo) & (v >= brow)
        # The lid moves most at the lash line and hardly at the brow (t**2.5), so the brow keeps its shape.
        t = np.clip((v - brow) / np.maximum(lid_lo - brow, 1.0), 0.0, 1.0)
        shift = np.where(inside, closure * h * t * t * np.sqrt(t), 0.0)
        mx[rows, cols] = bx - shift * float(ey[0])
        my[rows, cols] = by - shift * float(ey[1])

    # ------------------------------------------------------------------------------------------ constructors
    @classmethod
    def sample(cls, **kwargs: object) -> PhotoAvatar:
        """The bundled public-domain sample portrait with its precomputed landmarks (no mediapipe needed)."""
        kwargs.setdefault("roots", [SAMPLES_DIR])
        kwargs.setdefault("landmarks", FaceLandmarks.load(SAMPLE_LANDMARKS))
        return cls(SAMPLE_PORTRAIT, consent=sample_consent(), **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], **kwargs: object) -> PhotoAvatar:
        """An avatar saved by :func:`save_photo_avatar`: its portrait, landmarks and consent record."""
        folder = Path(folder)
        portraits = sorted(folder.glob(f"{PORTRAIT_FILE}.*"))
        if not portraits:
            raise InputError(f"{folder} holds no {PORTRAIT_FILE}.* file; save the avatar with save_photo_avatar()")
        consent = load_consent(folder)
        lm_path = folder / LANDMARKS_FILE
        landmarks = FaceLandmarks.load(lm_path) if lm_path.is_file() else None
        if "roots" not in kwargs:
            settings = get_settings()
            kwargs["roots"] = [folder, Path.cwd(), settings.home, *settings.allowed_roots, SAMPLES_DIR]
        return cls(portraits[0], consent=consent, landmarks=landmarks, **kwargs)  # type: ignore[arg-type]


def save_photo_avatar(
    folder: str | os.PathLike[str],
    portrait: str | os.PathLike[str],
    consent: ConsentRecord,
    *,
    landmarks: FaceLandmarks | None = None,
    roots: Sequence[str | os.PathLike[str]] | None = None,
) -> Path:
    """Store a photo avatar as a folder: ``portrait.<ext>``, ``landmarks.json`` and ``consent.json``.

    The consent must cover the portrait (same sha256). Landmarks are computed (mediapipe)
    when not given. Returns the folder; load it with :meth:`PhotoAvatar.from_folder`.
    """
    import shutil

    settings = get_settings()
    allowed = list(roots) if roots is not None else [Path.cwd(), settings.home, *settings.allowed_roots, SAMPLES_DIR]
    src = resolve_inside(portrait, allowed, field="portrait")
    _, fmt = check_upload(src, ["image"], max_bytes=MAX_PORTRAIT_BYTES)
    digest = sha256_file(src)
    require_consent(consent, digest, portrait_name=src.name)
    if landmarks is None:
        landmarks = portrait_landmarks(src)
    if landmarks.sha256 and landmarks.sha256 != digest:
        raise InputError(f"the landmarks given are for another picture, not {src.name}", field="landmarks")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ext = {"jpeg": "jpg"}.get(fmt, fmt)
    dest = folder / f"{PORTRAIT_FILE}.{ext}"
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    landmarks.save(folder / LANDMARKS_FILE)
    consent.save(folder)
    return folder
