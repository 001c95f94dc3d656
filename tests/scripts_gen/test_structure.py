import pytest

from adloom.core.errors import InputError
from adloom.core.types import Angle, CtaStrength, HookType, Language, ShotRole
from adloom.scripts_gen.structure import structure_text

SRT = """1
00:00:00,000 --> 00:00:02,500
Still waking up tired?

2
00:00:02,500 --> 00:00:03,000
Yes.

3
00:00:03,000 --> 00:00:06,000
The LumaLamp wakes you with soft light.

4
00:00:06,000 --> 00:00:09,000
Tap below and order yours today.
"""

MARKED = """镜头1 画面：女生对着镜子皱眉 旁白：换季皮肤又干又紧？ 字幕：换季干皮
镜头2 画面：精华滴在手背 旁白：一滴就能吸收，质地清爽。
镜头3 画面：产品和价格卡 旁白：到手价129元，送小样。
镜头4 旁白：点击下方链接，今天下单。
"""


def test_srt_keeps_real_timing_and_merges_tiny_cues():
    s = structure_text(SRT, industry="home")
    assert s.language == Language.en
    assert [sh.duration_s for sh in s.shots] == [3.0, 3.0, 3.0]  # the 0.5 s cue merged into the first
    assert s.hook_type == HookType.question
    assert s.shots[-1].role == ShotRole.cta and s.cta_strength == CtaStrength.strong


def test_marked_shots_with_subfields_zh():
    s = structure_text(MARKED, industry="beauty")
    assert s.language == Language.zh and len(s.shots) == 4
    assert s.shots[0].visual == "女生对着镜子皱眉" and s.shots[0].caption == "换季干皮"
    assert s.shots[0].narration == "换季皮肤又干又紧？"
    assert s.shots[2].role == ShotRole.offer and s.price_mentioned
    assert s.cta.startswith("点击")


def test_plain_copy_and_scaling():
    text = "Meet the new TrailMax boots. Waterproof leather keeps feet dry. Grippy soles on wet rock. Shop now."
    s = structure_text(text, industry="apparel", duration_s=12)
    assert len(s.shots) == 4 and abs(s.duration_s - 12) < 0.05
    assert s.angle in (Angle.quality, Angle.novelty) and s.provenance.path == "structured"


def test_bad_input_is_named():
    with pytest.raises(InputError, match="empty"):
        structure_text("   ", industry="food")
    with pytest.raises(InputError, match="industry"):
        structure_text("Hello.", industry="cars")
    with pytest.raises(InputError, match="limit"):
        structure_text("a. " * 20_000, industry="food")
