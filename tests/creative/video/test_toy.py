"""The toy world: captions match the drawn pixels, the detector reads ground truth back, the shipped model samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adloom.core.errors import InputError
from adloom.creative.video.toy.dataset import (
    BACKGROUNDS,
    COLOURS,
    DIRECTIONS,
    HELD_OUT,
    PALETTE,
    SHAPES,
    ClipSpec,
    all_combinations,
    caption_of,
    make_clips,
    parse_caption,
    render_clip,
    sample_specs,
)
from adloom.creative.video.toy.detector.evaluate import detect, evaluate

CHECKPOINT = Path(__file__).resolve().parents[3] / "adloom" / "creative" / "video" / "toy" / "checkpoint"


def _exact_mask(clip: np.ndarray, colour: str) -> np.ndarray:
    """Pixels drawn fully in ``colour`` (interior of the shape), independent of the detector."""
    return np.abs(clip.astype(int) - np.array(PALETTE[colour])).sum(axis=-1) <= 3


def test_captions_match_the_drawn_pixels() -> None:
    specs = sample_specs(40, seed=3, split="all")
    for spec in specs:
        clip = render_clip(spec)
        assert clip.shape == (9, 32, 32, 3) and clip.dtype == np.uint8
        facts = parse_caption(spec.caption)
        assert facts == {"colour": spec.colour, "shape": spec.shape, "direction": spec.direction,
                         "background": spec.background}  # fmt: skip
        # Background: every corner pixel of every frame is exactly the captioned background colour.
        corners = clip[:, [0, 0, -1, -1], [0, -1, 0, -1]]
        assert (corners == np.array(PALETTE[spec.background], dtype=np.uint8)).all()
        # Colour: the shape's interior is exactly the captioned colour, with a plausible area.
        masks = np.stack([_exact_mask(f, spec.colour) for f in clip])
        areas = masks.sum(axis=(1, 2))
        assert (areas > 30).all() and (areas < 160).all(), areas
        # Direction: the interior's centroid moves the captioned way by about 12 px.
        ys, xs = np.mgrid[0:32, 0:32]
        cx = np.array([xs[m].mean() for m in masks])
        cy = np.array([ys[m].mean() for m in masks])
        dx, dy = cx[-1] - cx[0], cy[-1] - cy[0]
        expected = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[spec.direction]
        assert np.sign(round(dx)) == expected[0] and np.sign(round(dy)) == expected[1], (spec, dx, dy)
        assert 10 <= abs(dx) + abs(dy) <= 14


def test_shapes_differ_in_how_they_fill_their_box() -> None:
    fills = {}
    for shape in SHAPES:
        clip = render_clip(ClipSpec("red", shape, "right", "black", 16, 16))
        m = _exact_mask(clip[4], "red")
        rows, cols = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
        fills[shape] = m.sum() / ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))
    assert fills["square"] > fills["circle"] > fills["triangle"]


def test_sampling_is_seeded_and_splits_are_disjoint() -> None:
    assert sample_specs(5, seed=1) == sample_specs(5, seed=1)
    assert sample_specs(5, seed=1) != sample_specs(5, seed=2)
    train, held = set(all_combinations("train")), set(all_combinations("heldout"))
    assert train and held and not (train & held)
    assert len(train) + len(held) == len(all_combinations("all"))
    assert {(c, s, d) for c, s, d, _ in held} == set(HELD_OUT)
    for spec in sample_specs(300, seed=0, split="train"):
        assert spec.triple not in HELD_OUT and spec.colour != spec.background
    # Every single word still appears in training.
    for i, words in enumerate((COLOURS, SHAPES, DIRECTIONS, BACKGROUNDS)):
        assert {c[i] for c in train} == set(words)


def test_parse_caption_rejects_text_outside_the_grammar() -> None:
    assert parse_caption(caption_of("red", "circle", "left", "blue"))["background"] == "blue"
    for bad in ("a purple circle moves left on a blue background", "hello", "a red circle moves left"):
        with pytest.raises(InputError, match="toy-world caption"):
            parse_caption(bad)


def test_detector_reads_ground_truth_clips() -> None:
    specs = sample_specs(120, seed=11, split="all")
    report = evaluate([s.caption for s in specs], list(make_clips(specs)))
    assert report.found_rate == 1.0
    assert report.accuracy["all"] >= 0.97, report.summary()


def test_detector_reports_no_shape_on_a_plain_clip_and_rejects_bad_input() -> None:
    plain = np.broadcast_to(np.array(PALETTE["gray"], dtype=np.uint8), (9, 32, 32, 3)).copy()
    det = detect(plain)
    assert not det.found and det.background == "gray" and det.colour is None
    with pytest.raises(InputError, match="frames must be"):
        detect(plain[..., 0])


def test_detector_survives_blur_and_noise() -> None:
    """Generated frames are soft: the detector must still read a blurred, noisy clip."""
    rng = np.random.default_rng(0)
    specs = sample_specs(40, seed=4, split="all")
    clips = []
    for s in specs:
        c = render_clip(s).astype(np.float32)
        c = (c + np.roll(c, 1, 1) + np.roll(c, -1, 1) + np.roll(c, 1, 2) + np.roll(c, -1, 2)) / 5  # box blur
        clips.append(np.clip(c + rng.normal(0, 12, c.shape), 0, 255).astype(np.uint8))
    report = evaluate([s.caption for s in specs], clips)
    assert report.accuracy["colour"] >= 0.95 and report.accuracy["direction"] >= 0.95, report.summary()
    assert report.accuracy["shape"] >= 0.8, report.summary()


@pytest.mark.skipif(not (CHECKPOINT / "model_index.json").is_file(), reason="toy checkpoint not built")
def test_shipped_checkpoint_generates_through_the_video_pipeline() -> None:
    from adloom.creative.video.models import load_video_model
    from adloom.creative.video.pipeline import VideoPipeline, VideoRequest

    size = sum(f.stat().st_size for f in CHECKPOINT.rglob("*") if f.is_file())
    assert size < 50 * 1024 * 1024
    model = load_video_model(CHECKPOINT, device="cpu")
    prompt = "a yellow square moves up on a blue background"
    req = VideoRequest(prompt=prompt, width=32, height=32, num_frames=9, steps=12, guidance_scale=4.0, seed=0)
    result = VideoPipeline(model)(req)
    assert result.frames.shape == (1, 9, 32, 32, 3)
    again = VideoPipeline(model)(req)
    assert np.array_equal(result.frames, again.frames)  # seeded
    report = evaluate([prompt], list(result.frames))
    assert report.found_rate == 1.0, report.rows  # a shape stands out from the background
    assert set(report.accuracy) == {"colour", "shape", "background", "direction", "all"}
