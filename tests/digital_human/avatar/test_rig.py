"""The 2D rigged presenter: looks, determinism, mouth shapes per viseme, blinks, sway, gestures, sizes."""

from __future__ import annotations

import numpy as np
import pytest

from adloom.core.errors import InputError
from adloom.digital_human.avatar.base import REST, Avatar, MouthPose
from adloom.digital_human.avatar.looks import LOOKS
from adloom.digital_human.avatar.rig import RigPresenter, mouth_key
from adloom.digital_human.avatar.visemes import VISEME_POSES


@pytest.fixture(scope="module")
def rig() -> RigPresenter:
    return RigPresenter("look3", (720, 1280), 25, seed=7)


def _head_box(r: RigPresenter, margin: int = 24) -> tuple[int, int, int, int]:
    """Where the head sprite can land in the frame (sway and tilt included)."""
    h, w = r._head.shape[:2]
    ox, oy = r._head_origin
    ax, ay = r.anchor
    return ax + ox - margin, ay + oy - margin, ax + ox + w + margin, ay + oy + h + margin


def _mouth_box(r: RigPresenter, margin: int = 14) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = r._mouth_rect
    ox, oy = r._head_origin
    ax, ay = r.anchor
    return ax + ox + x0 - margin, ay + oy + y0 - margin, ax + ox + x1 + margin, ay + oy + y1 + margin


def _crop(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return frame[max(0, y0) : y1, max(0, x0) : x1]


def test_every_look_renders_a_frame_of_the_right_size() -> None:
    frames = {}
    for name in ("look1", "look2", "look3", "look4"):
        r = RigPresenter(name, (720, 1280), 25)
        assert isinstance(r, Avatar)
        f = r.frame(0, REST)
        assert f.shape == (1280, 720, 3) and f.dtype == np.uint8
        frames[name] = f
    names = list(frames)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            assert np.abs(frames[names[a]].astype(int) - frames[names[b]].astype(int)).mean() > 5  # looks differ
    assert set(LOOKS) >= {"look1", "look2", "look3", "look4", "default"}


def test_frames_are_deterministic_and_returned_fresh(rig: RigPresenter) -> None:
    pose = MouthPose(0.6, 0.3, 0.1)
    a = rig.frame(123, pose)
    b = rig.frame(123, pose)
    assert np.array_equal(a, b) and a is not b
    a[:] = 0  # the caller owns the array: the rig's cached layers are untouched
    assert np.array_equal(rig.frame(123, pose), b)
    other = RigPresenter("look3", (720, 1280), 25, seed=7)
    assert np.array_equal(other.frame(123, pose), b)  # a fresh instance draws the same pixels


def test_frames_differ_by_viseme_only_around_the_mouth(rig: RigPresenter) -> None:
    index = 40
    frames = {name: rig.frame(index, pose) for name, pose in VISEME_POSES.items()}
    keys = {name: mouth_key(pose) for name, pose in VISEME_POSES.items()}
    assert len(set(keys.values())) >= 10  # the 14 visemes land on at least 10 distinct mouth shapes
    x0, y0, x1, y1 = _head_box(rig)
    reference = frames["SIL"].copy()
    reference[max(0, y0) : y1, max(0, x0) : x1] = 0
    for name, frame in frames.items():
        outside = frame.copy()
        outside[max(0, y0) : y1, max(0, x0) : x1] = 0
        assert np.array_equal(outside, reference), name  # nothing outside the head changes with the mouth
    crops = {name: _crop(frame, _mouth_box(rig)) for name, frame in frames.items()}
    for a in crops:
        for b in crops:
            if keys[a] != keys[b]:
                assert not np.array_equal(crops[a], crops[b]), (a, b)  # each shape is drawn differently


def test_a_wider_opening_shows_more_of_the_dark_mouth_cavity(rig: RigPresenter) -> None:
    dark = []
    for o in (0.0, 0.35, 0.7, 1.0):
        region = _crop(rig.frame(10, MouthPose(o, 0.2, 0.0)), _mouth_box(rig)).astype(int)
        cavity = (region[..., 0] < 110) & (region[..., 1] < 60) & (region[..., 2] < 70)  # dark red inner mouth
        dark.append(int(cavity.sum()))
    assert dark == sorted(dark) and dark[-1] > dark[1] > dark[0]
    teeth = _crop(rig.frame(10, MouthPose(0.7, 0.2, 0.0)), _mouth_box(rig)).astype(int)
    assert ((teeth > 225).all(axis=2)).sum() > 20  # teeth show in an open mouth
    pressed, relaxed = rig.frame(10, MouthPose(0, 0, 0, True)), rig.frame(10, REST)
    assert not np.array_equal(pressed, relaxed)  # p/b/m press the lips, distinct from rest


def test_blinks_happen_and_close_the_eyes(rig: RigPresenter) -> None:
    states = [int(rig.motion(i)["blink"]) for i in range(25 * 20)]
    closed = [i for i, s in enumerate(states) if s == 2]
    starts = [i for i in closed if i == 0 or states[i - 1] != 2]
    assert 3 <= len(starts) <= 12  # a blink every few seconds over 20 s
    assert not np.array_equal(rig.eye_patch(0, 0, 0), rig.eye_patch(2, 0, 0))

    def dark_eye_pixels(index: int) -> int:
        x0, y0, x1, y1 = rig._eye_rect
        ox, oy = rig._head_origin
        ax, ay = rig.anchor
        region = _crop(rig.frame(index, REST), (ax + ox + x0 - 12, ay + oy + y0 - 12, ax + ox + x1 + 12, ay + oy + y1))
        return int((region.astype(int).sum(axis=2) < 150).sum())  # pupils, irises, lid lines

    open_index = next(i for i in range(closed[0] - 30, closed[0]) if states[i] == 0)
    assert dark_eye_pixels(closed[0]) < 0.5 * dark_eye_pixels(open_index)


def test_idle_sway_moves_the_head_but_not_the_background(rig: RigPresenter) -> None:
    a, b = rig.frame(0, REST), rig.frame(60, REST)
    if rig.motion(60)["blink"] or rig.motion(0)["blink"]:
        b = rig.frame(61, REST)
    assert not np.array_equal(_crop(a, _head_box(rig)), _crop(b, _head_box(rig)))
    assert np.array_equal(a[:120], b[:120])  # the top of the backdrop is static


def test_gestures_raise_the_arm_on_a_schedule() -> None:
    r = RigPresenter("look1", (720, 1280), 25, seed=3, gesture_every_s=6.0)
    progress = np.array([r.motion(i)["gesture"] for i in range(25 * 60)])
    assert (progress > 0.99).sum() > 25  # at least one full gesture held over a minute
    assert (progress == 0).sum() > 25 * 20  # and the arms rest most of the time
    rest_i = int(np.flatnonzero(progress == 0)[30])
    up_i = int(np.flatnonzero(progress > 0.99)[0])
    pose = MouthPose(0.3, 0.3, 0.0)
    # The gesturing arm is on the presenter's left (viewer's right): pixels change outside the head there.
    diff = np.any(r.frame(rest_i, pose) != r.frame(up_i, pose), axis=2)
    head = _head_box(r)
    outside_head = diff.copy()
    outside_head[max(0, head[1]) : head[3], max(0, head[0]) : head[2]] = False
    assert outside_head[:, r.anchor[0] :].sum() > 2000
    still = RigPresenter("look1", (720, 1280), 25, gesture_every_s=0)
    assert all(still.motion(i)["gesture"] == 0 for i in range(0, 25 * 60, 5))


def test_large_composition_and_bad_arguments() -> None:
    big = RigPresenter("look2", (1080, 1920), 30)
    assert big.frame(0, MouthPose(0.5, 0.5, 0)).shape == (1920, 1080, 3) and big.fps == 30
    with pytest.raises(InputError, match="unknown presenter look"):
        RigPresenter("look9")
    with pytest.raises(InputError, match="size"):
        RigPresenter("look1", (10, 10))
    with pytest.raises(InputError, match="background"):
        RigPresenter("look1", (720, 1280), background=np.zeros((10, 10, 3), np.uint8))


def test_mouth_key_quantises_poses() -> None:
    assert mouth_key(REST) == (0, 0, 0, 0)
    assert mouth_key(MouthPose(0.0, 0.9, 0.0, True)) == (0, 0, 0, 1)
    assert mouth_key(MouthPose(1.0, 1.0, 0.0)) == (6, 2, 0, 0)
    assert mouth_key(MouthPose(2.0, -1.0, 0.5)) == (6, 0, 1, 0)  # out-of-range values are clamped


def test_prepare_renders_the_same_pixels_and_frees_the_drawing_layers() -> None:
    lazy = RigPresenter("look1", (720, 1280), 25, seed=2, gesture_every_s=5.0)
    poses = [MouthPose(o / 6, w / 2, r / 2) for o in range(7) for w in range(3) for r in range(3)]
    indices = [0, 137, 260, 401, 777]
    expected = [lazy.frame(i, poses[(7 * i) % len(poses)]) for i in indices]
    before = lazy.memory_bytes()
    prepared = RigPresenter("look1", (720, 1280), 25, seed=2, gesture_every_s=5.0).prepare()
    assert prepared._head_back is None and prepared._torso is None
    for i, frame in zip(indices, expected, strict=True):
        assert np.array_equal(prepared.frame(i, poses[(7 * i) % len(poses)]), frame)
    assert len(prepared._mouth_patches) == 64 and len(prepared._eye_patches) == 27 and len(prepared._arms) == 34
    assert 0 < before and prepared.memory_bytes() < 80e6  # a 720p presenter's caches stay small
