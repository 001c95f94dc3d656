"""The photo avatar on the bundled public-domain portrait with its stored landmarks (no mediapipe needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from adloom.core.errors import InputError, PathOutsideRootError, UnsupportedContentError
from adloom.digital_human.avatar.base import REST, Avatar, MouthPose
from adloom.digital_human.avatar.consent import ConsentRequiredError, record_consent
from adloom.digital_human.avatar.landmarks import FaceLandmarks
from adloom.digital_human.avatar.photo import (
    SAMPLE_LANDMARKS,
    SAMPLE_PORTRAIT,
    PhotoAvatar,
    sample_consent,
    save_photo_avatar,
)

STATEMENT = "I agree that Acme may animate this photo as its live-stream presenter until 2027-12-31."


@pytest.fixture(scope="module")
def still() -> PhotoAvatar:
    """No head motion, so frames differ only by mouth and blinks."""
    return PhotoAvatar.sample(head_motion=0.0)


@pytest.fixture(scope="module")
def moving() -> PhotoAvatar:
    return PhotoAvatar.sample(seed=3)


def _mouth_patch(avatar: PhotoAvatar, frame: np.ndarray) -> np.ndarray:
    """The lips and the space a fully open jaw can reach, from the portrait's own landmarks."""
    p = avatar.points
    x0, x1 = int(p[61, 0]), int(p[291, 0])
    y0, y1 = int(p[0, 1]), int(p[17, 1] + avatar.max_open * (p[291, 0] - p[61, 0]))
    return frame[y0:y1, x0:x1].astype(np.int32)


def _dark(patch: np.ndarray) -> np.ndarray:
    return patch.mean(axis=2) < 70  # the painted cavity is ~(58, 20, 24); skin and lips are far brighter


def test_is_an_avatar_with_deterministic_frames_of_its_size(moving: PhotoAvatar) -> None:
    assert isinstance(moving, Avatar)
    assert moving.size == (720, 1280) and moving.fps == 25
    pose = MouthPose(open=0.5, wide=0.3)
    a, b = moving.frame(17, pose), moving.frame(17, pose)
    assert a.shape == (1280, 720, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, moving.frame(18, pose))  # the head moves between frames


def test_only_the_head_region_ever_changes(moving: PhotoAvatar) -> None:
    x0, y0, x1, y1 = moving._roi
    rest = moving.frame(0, REST)
    outside = np.ones(rest.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert outside.sum() > 0.5 * outside.size  # the body and background are most of the frame
    for i, pose in [(5, MouthPose(open=1.0)), (61, MouthPose(open=0.4, round=1.0)), (140, MouthPose(closed_hard=True))]:
        frame = moving.frame(i, pose)
        assert np.array_equal(frame[outside], rest[outside])
        assert not np.array_equal(frame[y0:y1, x0:x1], rest[y0:y1, x0:x1])


def test_opening_grows_a_dark_inner_mouth_and_drops_the_jaw(still: PhotoAvatar) -> None:
    dark = [int(_dark(_mouth_patch(still, still.frame(1, MouthPose(open=o)))).sum()) for o in (0.0, 0.3, 0.6, 1.0)]
    assert dark[0] < 0.2 * dark[3]
    assert dark == sorted(dark) and dark[3] > 1000  # strictly more cavity as the mouth opens (values checked above)
    assert dark[1] < dark[2] < dark[3]
    # The chin moves down: the row where the skin below the mouth meets the dark collar is lower when open.
    x = int(still.points[152, 0])
    col_rest = still.frame(1, REST)[:, x].mean(axis=1)
    col_open = still.frame(1, MouthPose(open=1.0))[:, x].mean(axis=1)
    chin_y = int(still.points[152, 1])
    edge_rest = chin_y + int(np.argmax(col_rest[chin_y:] < 60))
    edge_open = chin_y + int(np.argmax(col_open[chin_y:] < 60))
    assert edge_open > edge_rest


def test_rest_and_bilabial_closure_close_the_photos_parted_lips(still: PhotoAvatar) -> None:
    photo_frame = still._static  # the portrait as photographed: a smile showing teeth
    rest = still.frame(1, REST)
    closed = still.frame(1, MouthPose(open=0.7, closed_hard=True))
    assert np.array_equal(rest, closed)  # closed_hard wins over any opening
    p = still.points
    gap = (slice(int(p[13, 1]) + 1, int(p[14, 1])), slice(int(p[13, 0]) - 10, int(p[13, 0]) + 10))
    teeth_photo = photo_frame[gap].mean()
    teeth_rest = rest[gap].mean()
    assert teeth_photo - teeth_rest > 20  # bright teeth replaced by (darker) lips


def test_wide_spreads_and_round_purses_the_opening(still: PhotoAvatar) -> None:
    def width(pose: MouthPose) -> int:
        cols = np.flatnonzero(_dark(_mouth_patch(still, still.frame(1, pose))).sum(axis=0) >= 3)
        return int(cols.max() - cols.min())

    assert width(MouthPose(open=0.6, wide=1.0)) > width(MouthPose(open=0.6)) > width(MouthPose(open=0.6, round=1.0))


def test_blinks_close_the_eyes_at_seeded_times(still: PhotoAvatar) -> None:
    closures = np.array([still.blink(i) for i in range(25 * 60)])
    assert closures.min() == 0.0 and closures.max() == 1.0
    blinks = int(((closures[1:] > 0) & (closures[:-1] == 0)).sum())
    assert 8 <= blinks <= 15  # ~0.85 per 4 s block over a minute
    other_seed = PhotoAvatar.sample(head_motion=0.0, seed=9)
    assert [other_seed.blink(i) for i in range(500)] != list(closures[:500])
    shut = int(np.flatnonzero(closures == 1.0)[0])
    open_ = int(np.flatnonzero(closures == 0.0)[0])
    a, b = still.frame(shut, REST), still.frame(open_, REST)
    diff = np.abs(a.astype(np.int32) - b.astype(np.int32)).sum(axis=2) > 30
    ys, xs = np.nonzero(diff)
    p = still.points
    eye_top, eye_bottom = min(p[159, 1], p[386, 1]), max(p[145, 1], p[374, 1])
    assert diff.sum() > 200
    assert ys.min() > eye_top - 60 and ys.max() < eye_bottom + 5  # only around the eyes
    assert xs.min() > p[33, 0] - 20 and xs.max() < p[263, 0] + 20
    assert not PhotoAvatar.sample(blinks=False).blink(shut)


def test_a_portrait_without_consent_is_refused(tmp_path: Path) -> None:
    shutil.copy(SAMPLE_PORTRAIT, tmp_path / "me.jpg")
    lm = FaceLandmarks.load(SAMPLE_LANDMARKS)
    with pytest.raises(ConsentRequiredError, match="needs the pictured person's consent"):
        PhotoAvatar(tmp_path / "me.jpg", consent=None, landmarks=lm, roots=[tmp_path])
    consent = record_consent(tmp_path / "me.jpg", subject="Jane Doe", granted_by="Jane Doe", statement=STATEMENT)
    avatar = PhotoAvatar("me.jpg", consent=consent, landmarks=lm, roots=[tmp_path], size=(360, 640))
    assert avatar.consent == consent and avatar.frame(0).shape == (640, 360, 3)
    (tmp_path / "edited.jpg").write_bytes((tmp_path / "me.jpg").read_bytes() + b"\x00")
    with pytest.raises(ConsentRequiredError, match="consent is per picture"):
        PhotoAvatar("edited.jpg", consent=consent, landmarks=lm, roots=[tmp_path])


def test_paths_are_confined_and_checked_by_content(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    inside = tmp_path / "inside"
    outside.mkdir()
    inside.mkdir()
    shutil.copy(SAMPLE_PORTRAIT, outside / "me.jpg")
    with pytest.raises(PathOutsideRootError):
        PhotoAvatar("../outside/me.jpg", consent=sample_consent(), roots=[inside])
    (inside / "fake.jpg").write_text("not an image at all", encoding="utf-8")
    with pytest.raises(UnsupportedContentError, match="fake.jpg"):
        PhotoAvatar("fake.jpg", consent=sample_consent(), roots=[inside])


def test_landmarks_of_another_picture_or_size_are_refused(tmp_path: Path) -> None:
    lm = FaceLandmarks.load(SAMPLE_LANDMARKS)
    wrong = FaceLandmarks(points=lm.points, size=lm.size, sha256="f" * 64)
    with pytest.raises(InputError, match="for another picture"):
        PhotoAvatar.sample(landmarks=wrong)
    resized = tmp_path / "small.png"
    from PIL import Image

    with Image.open(SAMPLE_PORTRAIT) as im:
        im.resize((256, 256)).save(resized)
    consent = record_consent(resized, subject="J", granted_by="J", statement=STATEMENT)
    unhashed = FaceLandmarks(points=lm.points, size=lm.size)
    with pytest.raises(InputError, match="512×512 image"):
        PhotoAvatar(resized, consent=consent, landmarks=unhashed, roots=[tmp_path])


def test_saved_avatar_folder_keeps_portrait_landmarks_and_consent(tmp_path: Path) -> None:
    folder = save_photo_avatar(
        tmp_path / "avatars" / "jane", SAMPLE_PORTRAIT, sample_consent(), landmarks=FaceLandmarks.load(SAMPLE_LANDMARKS)
    )
    assert sorted(p.name for p in folder.iterdir()) == ["consent.json", "landmarks.json", "portrait.jpg"]
    loaded = PhotoAvatar.from_folder(folder, head_motion=0.0)
    assert loaded.consent == sample_consent()
    pose = MouthPose(open=0.8)
    assert np.array_equal(loaded.frame(3, pose), PhotoAvatar.sample(head_motion=0.0).frame(3, pose))
    (folder / "consent.json").unlink()
    with pytest.raises(ConsentRequiredError, match="has no consent.json"):
        PhotoAvatar.from_folder(folder)


def test_face_fit_composes_over_the_background_at_1080x1920() -> None:
    avatar = PhotoAvatar.sample(size=(1080, 1920), fit="face", face_width=0.15, background=(10, 200, 30))
    frame = avatar.frame(0, MouthPose(open=0.5))
    assert frame.shape == (1920, 1080, 3)
    assert np.array_equal(frame[0, 0], [10, 200, 30]) and np.array_equal(frame[-1, -1], [10, 200, 30])
    face_px = avatar.points[263, 0] - avatar.points[33, 0]
    assert 0.08 * 1080 < face_px < 0.15 * 1080  # eye corners span part of the requested face width


def test_bad_settings_are_input_errors() -> None:
    with pytest.raises(InputError, match="size"):
        PhotoAvatar.sample(size=(10, 10))
    with pytest.raises(InputError, match="fit"):
        PhotoAvatar.sample(fit="stretch")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="background colour"):
        PhotoAvatar.sample(background=(0, 0, 999))


def test_a_closed_mouth_portrait_gets_painted_teeth_and_cavity() -> None:
    """Landmarks with the lower inner lip on the upper one: the photo counts as closed-mouthed, so opening
    paints an upper-teeth band under the upper lip and a dark cavity below it."""
    lm = FaceLandmarks.load(SAMPLE_LANDMARKS)
    points = lm.points.copy()
    lower = [95, 88, 178, 87, 14, 317, 402, 318, 324]
    upper = [191, 80, 81, 82, 13, 312, 311, 310, 415]
    points[lower] = points[upper]
    closed = PhotoAvatar.sample(landmarks=FaceLandmarks(points=points, size=lm.size, sha256=lm.sha256), head_motion=0.0)
    assert not closed._photo_open and PhotoAvatar.sample()._photo_open
    frame = closed.frame(1, MouthPose(open=0.8)).astype(np.int32)
    x = int(closed.points[13, 0])
    column = frame[int(closed.points[13, 1]) - 15 : int(closed.points[13, 1]) + 45, x - 2 : x + 3].mean(axis=1)
    lum = column.mean(axis=1)
    grey = column.max(axis=1) - column.min(axis=1) < 30  # teeth are near-grey; skin and lips are warm
    tooth = (lum > 190) & grey
    assert tooth.any() and (lum < 70).any()
    first_tooth, first_dark = int(np.argmax(tooth)), int(np.argmax(lum < 70))
    assert first_tooth < first_dark < first_tooth + 12  # teeth hang under the upper lip, the cavity is below them
    assert not tooth[:first_tooth].any()  # nothing tooth-like above the upper lip


def test_head_motion_is_subtle_smooth_and_seeded(moving: PhotoAvatar) -> None:
    poses = np.array([moving.head_pose(i) for i in range(25 * 30)])  # (frames, [rot, dx, dy, scale])
    fw = moving.face_width_px
    assert np.abs(poses[:, 0]).max() <= np.radians(1.5)
    assert np.abs(poses[:, 1:3]).max() <= 0.02 * fw
    assert np.abs(poses[:, 3] - 1.0).max() <= 0.01
    assert np.abs(np.diff(poses[:, 1:3], axis=0)).max() < 0.005 * fw  # no jumps between frames
    assert np.ptp(poses[:, 0]) > np.radians(0.5)  # but it does move
    other = PhotoAvatar.sample(seed=4)
    assert not np.allclose(poses, [other.head_pose(i) for i in range(25 * 30)])
    assert PhotoAvatar.sample(head_motion=0.0).head_pose(123) == (0.0, 0.0, 0.0, 1.0)
