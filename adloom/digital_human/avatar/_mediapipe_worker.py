"""Face-mesh worker run by the mediapipe venv's Python (not by adloom's).

mediapipe 0.10.21 needs numpy<2 and protobuf<5 and brings its own cv2, so it lives in a
venv of its own; :mod:`adloom.digital_human.avatar.landmarks` runs this file there as a
subprocess. It imports only mediapipe, numpy, cv2 and the standard library — nothing from
adloom — so it runs from a plain file path.

Usage::

    python _mediapipe_worker.py --out OUT.npy (--images A.jpg B.png ... | --npy FRAMES.npy | --video CLIP.mp4)
        [--track] [--max-frames N]

Writes ``OUT.npy``: float32 ``(N, 478, 3)`` landmarks in pixels of each input (x, y; z
scaled by the image width like x), a row of NaN where no face was found. Prints one JSON
line on stdout: ``{"frames": N, "faces": K, "width": W, "height": H, "seconds": S,
"mediapipe": VERSION}``. ``--track`` uses the video (tracking) mode instead of detecting
every frame independently (``static_image_mode=True``, the default).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

N_POINTS = 478


def _frames(args: argparse.Namespace):
    """Yield RGB uint8 frames from whichever input was given."""
    import cv2
    import numpy as np

    if args.images:
        for path in args.images:
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                raise SystemExit(f"cannot read image {path}")
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    elif args.npy:
        arr = np.load(args.npy, mmap_mode="r")
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
            raise SystemExit(f"{args.npy}: expected uint8 (N, H, W, 3) RGB frames, got {arr.dtype} {arr.shape}")
        for frame in arr:
            yield np.ascontiguousarray(frame)
    else:
        cap = cv2.VideoCapture(args.video)
        if not cap.isOpened():
            raise SystemExit(f"cannot open video {args.video}")
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", nargs="+")
    src.add_argument("--npy")
    src.add_argument("--video")
    parser.add_argument("--out", required=True)
    parser.add_argument("--track", action="store_true")
    parser.add_argument("--max-frames", type=int, default=0)
    args = parser.parse_args(argv)

    import mediapipe as mp
    import numpy as np

    t0 = time.perf_counter()
    rows: list[np.ndarray] = []
    faces = 0
    width = height = 0
    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=not args.track, refine_landmarks=True, max_num_faces=1, min_detection_confidence=0.5
    ) as mesh:
        for frame in _frames(args):
            if args.max_frames and len(rows) >= args.max_frames:
                break
            height, width = frame.shape[:2]
            result = mesh.process(frame)
            if result.multi_face_landmarks:
                lm = result.multi_face_landmarks[0].landmark
                pts = np.array([(p.x * width, p.y * height, p.z * width) for p in lm], dtype=np.float32)
                faces += 1
            else:
                pts = np.full((N_POINTS, 3), np.nan, dtype=np.float32)
            rows.append(pts)
    out = np.stack(rows) if rows else np.zeros((0, N_POINTS, 3), np.float32)
    np.save(args.out, out)
    summary = {
        "frames": len(rows),
        "faces": faces,
        "width": width,
        "height": height,
        "seconds": round(time.perf_counter() - t0, 3),
        "mediapipe": getattr(mp, "__version__", "?"),
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
