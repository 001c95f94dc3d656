"""Templates report the stills they intend, so the gate can tell them from a frozen picture."""

from pathlib import Path

import pytest

from adloom.core import proc
from adloom.core.errors import ToolTimeoutError
from adloom.core.types import Aspect, Language, ShotRole
from adloom.creative.compose import RenderSpec, ShotSpec, render
from adloom.creative.quality import check_video

IMAGE = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples" / "images" / "serum.png"


def _spec(template: str) -> RenderSpec:
    roles = [ShotRole.hook, ShotRole.proof, ShotRole.feature, ShotRole.cta]
    return RenderSpec(
        template=template,
        aspect=Aspect.square,
        height=144,
        language=Language.en,
        shots=[ShotSpec(duration_s=1.6, role=r, media=IMAGE, caption="Soft skin") for r in roles],
        title="Dry skin?",
        product_name="Serum",
        price_text="$20",
        cta_text="Shop now",
    )


def test_intended_stills_are_reported_and_accepted_by_the_gate(tmp_path: Path):
    moving = render(_spec("product_showcase"), tmp_path / "a", name="a")
    assert moving.still_s == 0.0
    spec = _spec("before_after")
    spec.shots[0].contrast, spec.shots[1].contrast = "before", "after"  # the split needs marked media
    still = render(spec, tmp_path / "b", name="b")
    assert still.still_s >= 1.0
    report = check_video(still.video, expected_duration_s=still.duration_s, allow_still_s=max(1.0, still.still_s + 0.1))
    assert not any("frozen" in r for r in report.reasons), report.reasons


def test_a_render_past_its_deadline_is_stopped_with_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The render's ffmpeg runs under tool_timeout(duration); shrunk to almost nothing, it is killed and named."""
    monkeypatch.setattr(proc, "TOOL_FLOOR_S", 0.05)
    monkeypatch.setattr(proc, "TOOL_S_PER_MEDIA_S", 0.0)
    with pytest.raises(ToolTimeoutError, match=r"ffmpeg rendering the video \(slow\.mp4 in "):
        render(_spec("product_showcase"), tmp_path / "slow", name="slow")
    assert not (tmp_path / "slow" / "slow.mp4").exists()
