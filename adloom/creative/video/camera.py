"""Camera-move presets for ad shots: push in, pull out, pan, tilt, orbit, with a signed strength.

Neither Wan 2.x T2V nor LTX-Video takes a camera input, so a move is applied in
the two ways these models can take it:

* **prompt** (always): a camera phrase both families were captioned with
  ("the camera slowly pushes in towards the subject") is appended to the prompt;
* **guide** (when a product image anchors the first frame): the image is warped
  along the move's trajectory (zoom, shift, rotation per frame), encoded by the
  VAE, and the early, high-noise steps of the non-anchored frames are replaced
  by the re-noised guide (SDEdit-style), so the layout follows the move while
  the later steps are free to render real motion. ``camera_guide`` is the share
  of the σ range guided (0 = prompt only).

Strength is in [-1, 1]; its sign flips the direction: ``push_in:-0.5`` equals
``pull_out:0.5``; pan > 0 moves right, tilt > 0 moves up, orbit > 0 circles
clockwise seen from above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adloom.core.errors import InputError

PRESETS = ("static", "push_in", "pull_out", "pan", "tilt", "orbit")
_ALIASES = {"push": "push_in", "zoom_in": "push_in", "dolly_in": "push_in", "pull": "pull_out",
            "zoom_out": "pull_out", "dolly_out": "pull_out", "pan_right": "pan", "tilt_up": "tilt",
            "pan_left": "pan", "tilt_down": "tilt", "arc": "orbit", "none": "static"}  # fmt: skip
_NEGATED = {"pan_left", "tilt_down"}


@dataclass(frozen=True)
class CameraMove:
    """A preset and a signed strength in [-1, 1] (normalised so pull_out is push_in with negative strength)."""

    preset: str
    strength: float = 0.5

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise InputError(f"camera preset {self.preset!r} is not one of {', '.join(PRESETS)}", field="camera")
        if not -1.0 <= self.strength <= 1.0:
            raise InputError(
                f"camera strength {self.strength} is outside [-1, 1]; e.g. push_in:0.5 or pan:-0.3", field="camera"
            )

    def normalised(self) -> CameraMove:
        if self.preset == "pull_out":
            return CameraMove("push_in", -self.strength)
        return self


def parse_camera(text: str | CameraMove | None) -> CameraMove | None:
    """``"push_in:0.5"``, ``"pan:-0.3"``, ``"orbit"`` (strength 0.5) → CameraMove; None/"" → None."""
    if text is None or isinstance(text, CameraMove):
        return text
    raw = text.strip().lower()
    if not raw:
        return None
    name, _, value = raw.partition(":")
    name = name.strip().replace("-", "_").replace(" ", "_")
    value = value.strip()
    try:
        strength = float(value) if value else 0.5
    except ValueError:
        raise InputError(
            f"camera {text!r}: strength {value!r} is not a number; e.g. push_in:0.5", field="camera"
        ) from None
    preset = _ALIASES.get(name, name)
    if name in _NEGATED:
        strength = -strength
    return CameraMove(preset, strength)


def camera_from_text(text: str) -> CameraMove | None:
    """Best-effort move from a free-text camera line of a storyboard shot ("slow push-in", "镜头推进")."""
    t = text.lower()
    table = [
        (("push in", "push-in", "zoom in", "dolly in", "推进", "推近", "拉近"), "push_in", 0.5),
        (("pull out", "pull-out", "zoom out", "dolly out", "拉远", "拉出"), "pull_out", 0.5),
        (("orbit", "arc", "环绕"), "orbit", 0.5),
        (("pan left", "左摇"), "pan", -0.5),
        (("pan", "右摇", "摇镜"), "pan", 0.5),
        (("tilt down", "下摇"), "tilt", -0.5),
        (("tilt", "上摇"), "tilt", 0.5),
    ]
    for words, preset, strength in table:
        if any(w in t for w in words):
            return CameraMove(preset, strength)
    return None


def _speed(strength: float) -> str:
    a = abs(strength)
    return "slowly" if a < 0.34 else ("steadily" if a < 0.67 else "quickly")


def camera_prompt(move: CameraMove | None) -> str:
    """The camera phrase appended to the prompt (empty for None)."""
    if move is None:
        return ""
    m = move.normalised()
    s = m.strength
    if m.preset == "static" or s == 0:
        return "static camera, locked-off shot"
    if m.preset == "push_in":
        return f"the camera {_speed(s)} " + (
            "pushes in towards the subject" if s > 0 else "pulls out away from the subject"
        )
    if m.preset == "pan":
        return f"the camera {_speed(s)} pans to the " + ("right" if s > 0 else "left")
    if m.preset == "tilt":
        return f"the camera {_speed(s)} tilts " + ("up" if s > 0 else "down")
    return f"the camera {_speed(s)} orbits around the subject " + ("clockwise" if s > 0 else "counterclockwise")


def trajectory(move: CameraMove, num_frames: int) -> np.ndarray:
    """Per-frame (scale, shift_x, shift_y, angle_deg), frame 0 the identity; shifts are fractions of the frame."""
    m = move.normalised()
    s = m.strength
    t = np.linspace(0.0, 1.0, num_frames)
    out = np.zeros((num_frames, 4), dtype=np.float64)
    out[:, 0] = 1.0
    if m.preset == "push_in":
        out[:, 0] = 1.0 + 0.5 * s * t if s >= 0 else 1.0 / (1.0 + 0.5 * -s * t)
    elif m.preset == "pan":
        out[:, 1] = -0.3 * s * t  # the camera moves right → the content moves left
    elif m.preset == "tilt":
        out[:, 2] = 0.3 * s * t  # the camera tilts up → the content moves down
    elif m.preset == "orbit":
        out[:, 0] = 1.0 + 0.1 * abs(s) * t
        out[:, 1] = -0.2 * s * t
        out[:, 3] = 8.0 * s * t
    return out


def warp_frames(image: np.ndarray, move: CameraMove, num_frames: int) -> np.ndarray:
    """The image (H, W, 3) uint8 moved along the trajectory: (num_frames, H, W, 3) uint8 (edges reflected)."""
    import cv2

    h, w = image.shape[:2]
    frames = []
    for scale, dx, dy, angle in trajectory(move, num_frames):
        mat = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(angle), float(scale)).astype(np.float32)
        mat[0, 2] += np.float32(dx * w)
        mat[1, 2] += np.float32(dy * h)
        frames.append(cv2.warpAffine(image, mat, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return np.stack(frames)
