"""A storyboard renders shot by shot into clips the compose renderer takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from adloom.core.types import Aspect, Language, Shot, ShotPrompt, ShotRole, Storyboard, SubjectSheet
from adloom.creative.video.io import read_video
from adloom.creative.video.models import build_tiny
from adloom.creative.video.storyboard import StoryboardOptions, render_storyboard, shot_prompt, to_shot_specs

torch.set_num_threads(1)


def _board() -> Storyboard:
    def sp(action: str, camera: str) -> ShotPrompt:
        return ShotPrompt(
            subject="a matte black thermos", appearance="steel lid, gold logo", action=action,
            setting="a sunny kitchen counter", camera=camera, style="bright commercial look",
        )  # fmt: skip

    return Storyboard(
        script_id="scr_test",
        aspect=Aspect.square,
        subject_sheet=SubjectSheet(product="matte black thermos with a gold logo", brand_style="warm and clean"),
        shots=[
            Shot(index=0, role=ShotRole.hook, duration_s=0.5, visual="thermos on the counter", caption="Hot all day",
                 prompt=sp("steam rises from the open thermos", "slow push-in")),
            Shot(index=1, role=ShotRole.demo, duration_s=0.5, visual="pouring tea", caption="",
                 prompt=sp("tea is poured into the thermos", "pan left")),
            Shot(index=2, role=ShotRole.cta, duration_s=1.0, visual="thermos close-up", caption="Buy now",
                 prompt=sp("the thermos turns slowly", "static")),
        ],
        negative_prompt="blurry, watermark",
    )  # fmt: skip


@pytest.fixture(scope="module")
def wan():
    return build_tiny("wan", seed=0)


def _product() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.repeat(np.repeat(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), 4, 0), 4, 1)  # 32×32


def _opts(**kw) -> StoryboardOptions:
    base = dict(width=16, height=16, steps=2, seed=3, max_frames=9, max_extensions=2)
    base.update(kw)
    return StoryboardOptions(**base)


def test_shot_prompt_carries_the_subject_sheet() -> None:
    board = _board()
    text = shot_prompt(board.shots[0], board.subject_sheet)
    assert text.startswith("a matte black thermos. steel lid, gold logo. steam rises")
    assert "Product: matte black thermos with a gold logo" in text and "Style: warm and clean" in text


def test_render_storyboard_to_clips_and_compose(wan, tmp_path: Path) -> None:
    board = _board()
    done: list[int] = []
    clips = render_storyboard(
        wan, board, tmp_path / "shots", product_image=_product(), options=_opts(), progress=lambda d, t: done.append(d)
    )
    assert done == [1, 2, 3]
    assert [c.reference for c in clips] == ["product", "previous", "previous"]
    assert clips[0].camera == "push_in:0.5" and clips[1].camera == "pan:-0.5" and clips[2].camera is None
    assert [c.seed for c in clips] == [3, 4, 5]
    # 0.5 s at 16 fps → 9 frames (one clip); 1.0 s → 17 frames: 9 + two extensions of 4 new frames each.
    assert [c.num_frames for c in clips] == [9, 9, 17]
    for c in clips:
        frames, fps = read_video(c.path)
        assert frames.shape == (c.num_frames, 16, 16, 3) and fps == 16
    assert "Product: matte black thermos" in clips[1].prompt

    specs = to_shot_specs(board, clips)
    assert [s.media for s in specs] == [c.path for c in clips]
    assert [s.role for s in specs] == [ShotRole.hook, ShotRole.demo, ShotRole.cta]
    from adloom.creative.compose.render import render
    from adloom.creative.compose.spec import RenderSpec

    res = render(
        RenderSpec(template="ugc_captions", aspect=Aspect.square, height=96, fps=16, language=Language.en,
                   shots=specs, use_music=False),
        tmp_path / "video",
    )  # fmt: skip
    assert res.video.is_file() and abs(res.duration_s - 2.0) < 0.1


def test_reference_choice_changes_later_shots_only(wan, tmp_path: Path) -> None:
    board = _board()
    board.shots = board.shots[:2]
    prev = render_storyboard(wan, board, tmp_path / "a", product_image=_product(), options=_opts())
    none = render_storyboard(wan, board, tmp_path / "b", product_image=_product(), options=_opts(reference="none"))
    prod = render_storyboard(wan, board, tmp_path / "c", product_image=_product(), options=_opts(reference="product"))
    first = [read_video(c[0].path)[0] for c in (prev, none, prod)]
    assert np.array_equal(first[0], first[1]) and np.array_equal(first[0], first[2])
    second = [read_video(c[1].path)[0] for c in (prev, none, prod)]
    assert none[1].reference == "none" and prod[1].reference == "product"
    assert not np.array_equal(second[0], second[1]) and not np.array_equal(second[0], second[2])
    with pytest.raises(Exception, match="needs a product image"):
        render_storyboard(wan, board, tmp_path / "d", options=_opts(reference="product"))


def test_every_shot_passes_the_clip_gate_or_reports_why(wan, tmp_path: Path) -> None:
    """Gated: each shot carries the gate's verdict; a random tiny model's clips may fail, and then the summary
    lists every attempt (regenerated with new seeds up to the limit). Ungated: seeds are seed + i, no verdict."""
    board = _board()
    gated = render_storyboard(wan, board, tmp_path / "g", options=_opts(gate_attempts=2))
    for clip in gated:
        assert clip.gate_passed is not None
        assert clip.gate_summary
        if not clip.gate_passed:
            assert clip.gate_summary.count("seed") >= 2  # both attempts reported
            assert clip.seed in (3 + clip.index, 3 + clip.index + 100_003)
    plain = render_storyboard(wan, board, tmp_path / "p", options=_opts(gate=None))
    assert [c.seed for c in plain] == [3, 4, 5]
    assert all(c.gate_passed is None and c.gate_summary == "" for c in plain)
