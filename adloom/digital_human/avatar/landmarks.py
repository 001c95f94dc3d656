"""Face landmarks (mediapipe's 478-point face mesh) through a worker in mediapipe's own venv.

mediapipe 0.10.21 needs numpy<2 and brings its own cv2, which cannot share adloom's venv,
so :mod:`~adloom.digital_human.avatar._mediapipe_worker` runs in ``.venv-mediapipe`` as a
subprocess. Every call hands it a whole batch (image files, an ``.npy`` stack or a video)
so the ~1 s interpreter and model start-up is paid once per batch, never per frame.

Portrait landmarks are needed once per picture: :func:`portrait_landmarks` caches them
under ``<ADLOOM_HOME>/cache/landmarks/<sha256 of the file>.json``, so a photo avatar
starts without mediapipe after its first use (and tests can ship a precomputed JSON).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adloom.core.errors import InputError
from adloom.core.helper_venv import REPO_ROOT, mediapipe_python, run_json_worker
from adloom.core.paths import write_atomic
from adloom.core.proc import tool_timeout
from adloom.core.settings import get_settings

__all__ = [
    "N_POINTS",
    "FaceLandmarks",
    "landmarks_for_frames",
    "landmarks_for_images",
    "landmarks_for_video",
    "mediapipe_python",
    "mouth_opening",
    "portrait_landmarks",
    "sha256_file",
]

N_POINTS = 478
#: Inner-lip midpoints (upper, lower) and outer eye corners (left, right) in the face mesh.
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 33, 263
_WORKER = Path(__file__).with_name("_mediapipe_worker.py")
_REPO_ROOT = REPO_ROOT  # where .venv-mediapipe is looked for (adloom.core.helper_venv)


@dataclass(frozen=True)
class FaceLandmarks:
    """478 face-mesh points of one image, in pixels (x right, y down; z scaled like x).

    ``size`` is the (width, height) of the image they were measured on and
    ``sha256`` the hash of its file, so landmarks can be matched to their picture.
    """

    points: np.ndarray
    size: tuple[int, int]
    sha256: str = ""

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float32)
        if pts.shape != (N_POINTS, 3) or not np.isfinite(pts).all():
            raise InputError(f"face landmarks must be {N_POINTS} finite (x, y, z) points, got shape {pts.shape}")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))

    @property
    def xy(self) -> np.ndarray:
        """The (478, 2) pixel positions."""
        return self.points[:, :2]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": "adloom.face_landmarks/1",
                "size": list(self.size),
                "sha256": self.sha256,
                "points": np.round(self.points, 3).tolist(),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> FaceLandmarks:
        try:
            data = json.loads(text)
            return cls(points=np.array(data["points"], np.float32), size=tuple(data["size"]), sha256=data["sha256"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not a face-landmarks JSON ({exc}); regenerate it with portrait_landmarks()") from exc

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> FaceLandmarks:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (what caches and consent records key on)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: Deadline of a whole-video worker call when the caller does not give one (about 9 minutes of 25 fps video).
VIDEO_WORKER_TIMEOUT_S = 600.0


def _run_worker(args: list[str], *, timeout_s: float) -> dict:
    """Run the worker with ``args`` (inputs and --out); returns its JSON summary."""
    subject = " ".join([args[0].lstrip("-"), *args[1:2]]) + (f" and {len(args) - 2} more" if len(args) > 2 else "")
    return run_json_worker(
        _WORKER, args, python=mediapipe_python(), purpose="the mediapipe face-landmark worker", subject=subject,
        timeout_s=timeout_s,
    )  # fmt: skip


def _worker_batch(inputs: list[str], *, track: bool = False, timeout_s: float | None = None) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="adloom-mp-") as tmp:
        out = Path(tmp) / "landmarks.npy"
        args = [*inputs, "--out", str(out)] + (["--track"] if track else [])
        _run_worker(args, timeout_s=timeout_s or tool_timeout())
        return np.load(out)


def landmarks_for_images(paths: list[Path], *, timeout_s: float | None = None) -> np.ndarray:
    """Landmarks of image files, one worker call: (N, 478, 3) pixels, NaN rows where no face."""
    if not paths:
        return np.zeros((0, N_POINTS, 3), np.float32)
    return _worker_batch(["--images", *map(str, paths)], timeout_s=timeout_s or tool_timeout(frames=len(paths)))


def landmarks_for_frames(frames: np.ndarray, *, track: bool = False, timeout_s: float | None = None) -> np.ndarray:
    """Landmarks of RGB uint8 frames ``(N, H, W, 3)``, one worker call via a temporary ``.npy``.

    Each frame is detected on its own unless ``track`` (mediapipe's video mode).
    Returns (N, 478, 3) pixels with NaN rows where no face was found.
    """
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InputError(f"frames must be uint8 (N, H, W, 3) RGB, got {frames.dtype} {frames.shape}")
    with tempfile.TemporaryDirectory(prefix="adloom-mp-") as tmp:
        src = Path(tmp) / "frames.npy"
        np.save(src, np.ascontiguousarray(frames))
        return _worker_batch(["--npy", str(src)], track=track, timeout_s=timeout_s or tool_timeout(frames=len(frames)))


def landmarks_for_video(path: Path, *, track: bool = False, timeout_s: float | None = None) -> np.ndarray:
    """Landmarks of every frame of a video file (as decoded by the worker's OpenCV), one worker call.

    The frame count is not known before the worker opens the file, so the deadline is
    :data:`VIDEO_WORKER_TIMEOUT_S` unless the caller, who knows the clip, passes ``timeout_s``
    (e.g. :func:`adloom.core.proc.tool_timeout` of its frame count)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    return _worker_batch(["--video", str(path)], track=track, timeout_s=timeout_s or VIDEO_WORKER_TIMEOUT_S)


def portrait_landmarks(path: Path, *, cache: bool = True) -> FaceLandmarks:
    """Landmarks of one portrait file, cached by its sha256 under ``<home>/cache/landmarks``.

    Raises :class:`InputError` when no face is found (the fix is a frontal, well-lit,
    unobstructed portrait) and :class:`BackendUnavailableError` when mediapipe cannot run.
    """
    path = Path(path)
    digest = sha256_file(path)
    cached = get_settings().home / "cache" / "landmarks" / f"{digest}.json"
    if cache and cached.is_file():
        return FaceLandmarks.load(cached)
    pts = landmarks_for_images([path])[0]
    if not np.isfinite(pts).all():
        raise InputError(
            f"no face found in {path.name}; use a frontal, well-lit portrait with the whole face visible",
            field="portrait",
        )
    from PIL import Image

    with Image.open(path) as im:
        size = im.size
    found = FaceLandmarks(points=pts, size=size, sha256=digest)
    if cache:
        found.save(cached)
    return found


def mouth_opening(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap (points 13–14) over the outer-eye-corner distance (33–263), per frame.

    The eye corners do not move with the jaw, so the ratio tracks the mouth alone and is
    independent of the face's size in the frame. ``points``: (478, ≥2) or (N, 478, ≥2);
    frames without a face (NaN) give NaN.
    """
    pts = np.asarray(points, dtype=np.float64)
    single = pts.ndim == 2
    if single:
        pts = pts[None]
    gap = np.linalg.norm(pts[:, UPPER_INNER_LIP, :2] - pts[:, LOWER_INNER_LIP, :2], axis=1)
    eyes = np.linalg.norm(pts[:, LEFT_EYE_OUTER, :2] - pts[:, RIGHT_EYE_OUTER, :2], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = gap / eyes
    return ratio[0] if single else ratio
