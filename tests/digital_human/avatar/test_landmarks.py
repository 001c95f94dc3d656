"""Face landmarks through the real mediapipe worker (its own venv), the cache, and the mouth-opening measure.

Tests that run mediapipe are skipped, saying so, when ``.venv-mediapipe`` is absent
(``make mediapipe`` builds it); the rest need nothing but numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.settings import get_settings
from adloom.digital_human.avatar.base import REST, MouthPose
from adloom.digital_human.avatar.landmarks import (
    N_POINTS,
    FaceLandmarks,
    landmarks_for_frames,
    mediapipe_python,
    mouth_opening,
    portrait_landmarks,
    sha256_file,
)
from adloom.digital_human.avatar.photo import SAMPLE_LANDMARKS, SAMPLE_PORTRAIT, PhotoAvatar


def _mediapipe_or_skip() -> Path:
    try:
        return mediapipe_python()
    except BackendUnavailableError as exc:
        pytest.skip(f".venv-mediapipe is absent, so face landmarks cannot run here ({exc})")


def test_worker_finds_478_points_with_the_lips_where_the_stored_landmarks_put_them() -> None:
    _mediapipe_or_skip()
    found = portrait_landmarks(SAMPLE_PORTRAIT)
    stored = FaceLandmarks.load(SAMPLE_LANDMARKS)
    assert found.points.shape == (N_POINTS, 3) and found.size == (512, 512)
    assert found.sha256 == stored.sha256 == sha256_file(SAMPLE_PORTRAIT)
    xy = found.xy
    upper, lower = xy[13], xy[14]
    assert upper[1] < lower[1]  # upper inner lip above the lower
    assert xy[61, 0] < upper[0] < xy[291, 0]  # between the mouth corners
    assert xy[2, 1] < upper[1] < xy[152, 1]  # below the nose, above the chin
    assert 200 < upper[0] < 250 and 130 < upper[1] < 160  # the astronaut's mouth in the 512² photo
    assert np.abs(xy - stored.xy).max() < 2.0  # same photo, same answer as the shipped JSON


def test_portrait_landmarks_are_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _mediapipe_or_skip()
    first = portrait_landmarks(SAMPLE_PORTRAIT)
    cached = get_settings().home / "cache" / "landmarks" / f"{first.sha256}.json"
    assert cached.is_file()
    monkeypatch.setenv("ADLOOM_MEDIAPIPE_PYTHON", str(tmp_path / "no-such-python"))
    with pytest.raises(BackendUnavailableError, match="ADLOOM_MEDIAPIPE_PYTHON"):
        mediapipe_python()
    again = portrait_landmarks(SAMPLE_PORTRAIT)  # served from the cache: mediapipe is now unreachable
    assert np.allclose(again.points, first.points, atol=1e-3)
    with pytest.raises(BackendUnavailableError):
        portrait_landmarks(SAMPLE_PORTRAIT, cache=False)


def test_a_picture_without_a_face_is_an_input_error(tmp_path: Path) -> None:
    _mediapipe_or_skip()
    from PIL import Image

    blank = tmp_path / "wall.png"
    Image.new("RGB", (256, 256), (180, 170, 160)).save(blank)
    with pytest.raises(InputError, match="no face found in wall.png"):
        portrait_landmarks(blank)


def test_mediapipe_sees_the_rendered_mouth_open_and_close() -> None:
    """The independent check in miniature: the face mesh on avatar frames, one worker call for the batch."""
    _mediapipe_or_skip()
    avatar = PhotoAvatar.sample(size=(360, 640), seed=1)
    poses = [REST, MouthPose(open=0.25), MouthPose(open=0.5), MouthPose(open=1.0), MouthPose(closed_hard=True)]
    frames = np.stack([avatar.frame(i, pose) for i, pose in enumerate(poses)])
    points = landmarks_for_frames(frames)
    assert points.shape == (5, N_POINTS, 3) and np.isfinite(points).all()
    rest, quarter, half, full, closed = mouth_opening(points)
    photo = mouth_opening(FaceLandmarks.load(SAMPLE_LANDMARKS).points)
    assert rest < 0.5 * photo and closed < 0.5 * photo  # the photo's parted smile is closed at rest
    assert rest + 0.03 < quarter < half < full  # measured 0.01 < 0.08 < 0.14 < 0.19 here
    assert full > 0.15  # max_open 0.4 of the mouth width; the mesh's inner-lip points sit a little inside


def test_mouth_opening_is_the_lip_gap_over_the_eye_span_and_nan_without_a_face() -> None:
    pts = np.zeros((N_POINTS, 3))
    pts[33, :2], pts[263, :2] = (100, 100), (200, 100)
    pts[13, :2], pts[14, :2] = (150, 180), (150, 200)
    assert mouth_opening(pts) == pytest.approx(0.2)
    scaled = pts * 3.0
    batch = np.stack([pts, scaled, np.full_like(pts, np.nan)])
    got = mouth_opening(batch)
    assert got[:2] == pytest.approx([0.2, 0.2]) and np.isnan(got[2])


def test_face_landmarks_round_trip_and_reject_bad_shapes(tmp_path: Path) -> None:
    stored = FaceLandmarks.load(SAMPLE_LANDMARKS)
    path = stored.save(tmp_path / "lm.json")
    again = FaceLandmarks.load(path)
    assert np.allclose(again.points, stored.points, atol=1e-3) and again.size == stored.size
    with pytest.raises(InputError, match="478 finite"):
        FaceLandmarks(points=np.zeros((68, 3)), size=(10, 10))
    with pytest.raises(InputError, match="not a face-landmarks JSON"):
        FaceLandmarks.from_json('{"points": 1}')
    with pytest.raises(InputError, match="uint8"):
        landmarks_for_frames(np.zeros((2, 8, 8, 3), np.float32))
