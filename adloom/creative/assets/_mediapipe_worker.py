"""Face and hand detector run by the mediapipe venv's Python (not by adloom's): faces and hands in keyframes.

mediapipe 0.10.21 needs numpy<2 and brings its own cv2, so it lives in ``.venv-mediapipe``;
:mod:`adloom.creative.assets.people` runs this file there through
:func:`adloom.core.helper_venv.run_json_worker`. It imports only mediapipe, cv2 and the standard
library (nothing from adloom), so it runs from a plain file path. Both models (BlazeFace full-range
and the hand landmarker) are bundled in the mediapipe wheel: nothing is downloaded.

Usage::

    python _mediapipe_worker.py IMAGE.jpg [IMAGE.jpg ...]

Prints one JSON line: ``{"images": [{"faces": [[x0, y0, x1, y1], ...], "hands": N}, ...], "seconds": S,
"mediapipe": VERSION}`` with face boxes normalised to 0..1, or ``{"error": ...}`` per unreadable image.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    import cv2
    import mediapipe as mp

    t0 = time.perf_counter()
    out = []
    with (
        mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as faces,
        mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=4, min_detection_confidence=0.5) as hands,
    ):
        for path in argv:
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                out.append({"error": f"cannot read {path}", "faces": [], "hands": 0})
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            boxes = []
            for det in faces.process(rgb).detections or []:
                b = det.location_data.relative_bounding_box
                x0, y0 = max(0.0, b.xmin), max(0.0, b.ymin)
                x1, y1 = min(1.0, b.xmin + b.width), min(1.0, b.ymin + b.height)
                if x1 > x0 and y1 > y0:
                    boxes.append([round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4)])
            found = hands.process(rgb).multi_hand_landmarks or []
            out.append({"faces": boxes, "hands": len(found)})
    summary = {"images": out, "seconds": round(time.perf_counter() - t0, 3), "mediapipe": mp.__version__}
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
