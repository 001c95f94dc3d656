"""Faces and hands in keyframes, through the mediapipe worker in its own venv (one call for a whole batch,
so the ~1 s model start-up is paid once per batch, not per frame)."""

from __future__ import annotations

from pathlib import Path

from adloom.core.errors import BackendUnavailableError
from adloom.core.helper_venv import mediapipe_python, run_json_worker
from adloom.core.proc import tool_timeout

__all__ = ["Detections", "detect_people"]

_WORKER = Path(__file__).with_name("_mediapipe_worker.py")

#: Per image: (face boxes normalised (x0, y0, x1, y1), number of hands).
Detections = dict[Path, tuple[list[tuple[float, float, float, float]], int]]


def detect_people(images: list[Path], *, timeout_s: float | None = None) -> Detections:
    """Faces and hands in each image. Raises BackendUnavailableError when mediapipe's venv is absent or the
    worker fails (the caller turns that into "not measured" and a warning)."""
    if not images:
        return {}
    python = mediapipe_python()
    summary = run_json_worker(
        _WORKER, [str(p) for p in images], python=python, purpose="the mediapipe face/hand worker",
        subject=f"{images[0].name} and {len(images) - 1} more keyframes",
        timeout_s=timeout_s or tool_timeout(frames=len(images)),
    )  # fmt: skip
    rows = summary.get("images")
    if not isinstance(rows, list) or len(rows) != len(images):
        raise BackendUnavailableError(f"the mediapipe face/hand worker answered {len(rows or [])} of {len(images)}")
    out: Detections = {}
    for path, row in zip(images, rows, strict=True):
        if "error" in row:
            continue
        boxes = [tuple(float(v) for v in b) for b in row.get("faces", []) if len(b) == 4]
        out[path] = (boxes, int(row.get("hands", 0)))  # type: ignore[assignment]
    return out
