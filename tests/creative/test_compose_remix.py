"""Remix quality in the compose renderer (issue 14, part 3): footage fields on ShotSpec honoured.

Real ffmpeg at tiny sizes; every picture is drawn here, so each check knows what it should see.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adloom.core.types import Aspect, Language, ShotRole
from adloom.creative.compose import TEMPLATES, Cue, RenderSpec, ShotSpec, render
from adloom.creative.compose.media import ffmpeg_exe
from adloom.creative.compose.render import cut_times
from adloom.creative.compose.templates import brand_accent, contrast, make_layout

RED = (220, 30, 30)
#: The drawn product's extent in the wide photo (normalised x0, y0, x1, y1).
PRODUCT = (0.30, 0.30, 0.70, 0.80)


def wide_product_photo(path: Path, size: tuple[int, int] = (640, 360)) -> Path:
    """A 16:9 packshot: a red product, wider than a 9:16 crop of the photo, on a textured wall."""
    W, H = size
    yy, xx = np.mgrid[0:H, 0:W]
    wall = np.stack([200 + 15 * np.sin(xx / 9.0), 190 + 10 * np.cos(yy / 7.0), 170 + 0 * xx], axis=2)
    img = Image.fromarray(wall.astype(np.uint8))
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = PRODUCT
    d.rounded_rectangle((x0 * W, y0 * H, x1 * W, y1 * H), radius=12, fill=RED)
    d.rectangle((0.45 * W, 0.4 * H, 0.55 * W, 0.5 * H), fill=(250, 250, 250))  # a label on the product
    img.save(path)
    return path


def grab(video: Path, t: float) -> np.ndarray:
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-ss", f"{t}", "-i", str(video)]
        + ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, np.uint8)


def red_columns(frame: np.ndarray, w: int, h: int) -> tuple[int, int]:
    a = frame.reshape(h, w, 3).astype(int)
    mask = (a[..., 0] > 170) & (a[..., 1] < 80) & (a[..., 2] < 80)
    cols = np.flatnonzero(mask.any(axis=0))
    assert cols.size, "no product pixels in the frame"
    return int(cols[0]), int(cols[-1])


def _one_shot(shot: ShotSpec, aspect: Aspect = Aspect.portrait, **kw) -> RenderSpec:
    base = dict(
        template="product_showcase",
        aspect=aspect,
        height=180,
        fps=10,
        language=Language.en,
        shots=[shot],
        use_music=False,
    )
    base.update(kw)
    return RenderSpec(**base)


def test_wide_photo_in_a_tall_frame_keeps_the_whole_product(tmp_path: Path) -> None:
    photo = wide_product_photo(tmp_path / "wide.png")
    before = render(_one_shot(ShotSpec(1.0, ShotRole.feature, photo, "")), tmp_path / "old", name="old")
    left, right = red_columns(grab(before.video, 0.5), 180, 320)
    assert left == 0 and right == 179, "today's salient crop cuts the product at both sides"

    shot = ShotSpec(1.0, ShotRole.feature, photo, "", subject_box=PRODUCT)
    after = render(_one_shot(shot), tmp_path / "new", name="new")
    for t in (0.05, 0.5, 0.85):
        left, right = red_columns(grab(after.video, t), 180, 320)
        assert left > 2 and right < 177, (t, left, right)
    m = json.loads(after.manifest.read_text(encoding="utf-8"))
    assert m["shots"][0]["framing"]["mode"] == "fit"


def test_tall_photo_in_a_wide_frame_is_shown_whole(tmp_path: Path) -> None:
    photo = tmp_path / "tall.png"
    Image.open(wide_product_photo(tmp_path / "w.png")).transpose(Image.Transpose.ROTATE_90).save(photo)
    x0, y0, x1, y1 = PRODUCT
    shot = ShotSpec(1.0, ShotRole.feature, photo, "", subject_box=(y0, 1 - x1, y1, 1 - x0))
    res = render(_one_shot(shot, Aspect.landscape), tmp_path / "o", name="tall")
    a = grab(res.video, 0.5).reshape(180, 320, 3).astype(int)
    rows = np.flatnonzero(((a[..., 0] > 170) & (a[..., 1] < 80) & (a[..., 2] < 80)).any(axis=1))
    assert rows.size and rows[0] > 2 and rows[-1] < 177


def test_a_cutout_is_set_over_the_designed_backdrop(tmp_path: Path) -> None:
    photo = wide_product_photo(tmp_path / "wide.png")
    cut = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(cut).rounded_rectangle((20, 20, 380, 280), radius=12, fill=(*RED, 255))
    cut.save(tmp_path / "cut.png")
    shot = ShotSpec(1.0, ShotRole.feature, photo, "", subject_box=PRODUCT, cutout=tmp_path / "cut.png")
    res = render(_one_shot(shot, product_name="Red box"), tmp_path / "o", name="cut")
    m = json.loads(res.manifest.read_text(encoding="utf-8"))
    assert m["shots"][0]["framing"]["mode"] == "cutout"
    assert not [b for b in res.caption_boxes if b["kind"] == "product_card"]
    left, right = red_columns(grab(res.video, 0.5), 180, 320)
    assert left > 2 and right < 177


def test_subtitle_moves_off_a_face(tmp_path: Path) -> None:
    photo = tmp_path / "tall.png"
    Image.effect_noise((180, 320), 60).convert("RGB").save(photo)
    cues = [Cue(0.0, 0.9, "A line the face must not wear")]
    plain = ShotSpec(1.0, ShotRole.proof, photo, "")
    face = (0.2, 0.55, 0.8, 0.8)  # a face low in the picture, where subtitles go
    faced = ShotSpec(1.0, ShotRole.proof, photo, "", avoid_boxes=[face])
    a = render(_one_shot(plain, cues=cues), tmp_path / "a", name="a")
    b = render(_one_shot(faced, cues=cues), tmp_path / "b", name="b")
    sub_a = next(x for x in a.caption_boxes if x["kind"] == "subtitle")
    sub_b = next(x for x in b.caption_boxes if x["kind"] == "subtitle")
    fy0, fy1 = face[1] * 320, face[3] * 320
    assert sub_a["y"] + sub_a["h"] > fy0, "the default subtitle place covers the face (else the test shows nothing)"
    assert sub_b["y"] + sub_b["h"] <= fy0 or sub_b["y"] >= fy1, sub_b
    m = json.loads(b.manifest.read_text(encoding="utf-8"))
    assert m["caption_moves"] and m["caption_moves"][0]["kind"] == "subtitle"


@pytest.fixture(scope="module")
def second_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 s clip, 10 fps, a different flat colour each second."""
    path = tmp_path_factory.mktemp("clip") / "seconds.mp4"
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
    frames = b"".join(bytes(colours[k // 10]) * (160 * 90) for k in range(60))
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "160x90"]
        + ["-r", "10", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", str(path)],
        input=frames,
        capture_output=True,
        check=True,
    )
    return path


def _centre(frame: np.ndarray) -> tuple[int, ...]:
    a = frame.reshape(180, 320, 3).astype(int)
    return tuple(int(v) for v in a[80:100, 150:170].reshape(-1, 3).mean(axis=0))


def _near(c: tuple[int, ...], ref: tuple[int, int, int]) -> bool:
    return max(abs(x - y) for x, y in zip(c, ref, strict=True)) < 60


@pytest.mark.parametrize(
    ("start", "end", "speed", "expect"),
    [
        (0.0, None, 1.0, [(255, 0, 0), (0, 255, 0)]),  # today's default: from the clip's start
        (2.0, 4.0, 1.0, [(0, 0, 255), (255, 255, 0)]),  # seconds 2 and 3
        (1.0, 5.0, 2.0, [(0, 255, 0), (0, 255, 255)]),  # 1..5 at 2x: second 1, then second 4
    ],
)
def test_clip_plays_its_span(second_clip: Path, tmp_path: Path, start, end, speed, expect) -> None:
    shot = ShotSpec(2.0, ShotRole.demo, second_clip, "", media_start_s=start, media_end_s=end, speed=speed)
    res = render(_one_shot(shot, Aspect.landscape), tmp_path, name="span")
    assert _near(_centre(grab(res.video, 0.3)), expect[0]), _centre(grab(res.video, 0.3))
    assert _near(_centre(grab(res.video, 1.6)), expect[1]), _centre(grab(res.video, 1.6))


def test_too_short_span_is_slowed_not_frozen(second_clip: Path, tmp_path: Path) -> None:
    shot = ShotSpec(2.0, ShotRole.demo, second_clip, "", media_start_s=2.0, media_end_s=3.0)
    res = render(_one_shot(shot, Aspect.landscape), tmp_path, name="slow")
    m = json.loads(res.manifest.read_text(encoding="utf-8"))
    assert "slowed to 0.50x" in m["shots"][0]["framing"]["clip"]
    assert _near(_centre(grab(res.video, 1.8)), (0, 0, 255))  # still second 2 at half speed


def test_brand_colour_becomes_the_accent() -> None:
    # A legible brand blue is taken as it is; a pale yellow under white text is darkened until legible.
    assert brand_accent((255, 94, 58), ["#1a73e8"]) == (0x1A, 0x73, 0xE8)
    pale = brand_accent((255, 94, 58), ["#ffee00"])
    assert pale != (255, 238, 0) and contrast(pale, (255, 255, 255)) >= 3.0
    assert pale[0] >= pale[2] and pale[1] >= pale[2]  # still a yellow, only darker
    # hook_punch pairs its yellow with black: a pale brand colour is fine there as it is.
    assert brand_accent((255, 214, 0), ["#ffee00"], text=(0, 0, 0)) == (255, 238, 0)
    spec = _one_shot(ShotSpec(1.0, ShotRole.hook, None, "Hi"), brand_colours=["#ffee00", "#1a73e8"])
    for name, template in TEMPLATES.items():
        spec.template = name
        plan = template.plan(make_layout(spec, [0.0, 1.0]))
        want = (255, 238, 0) if name in ("hook_punch", "ugc_captions") else (0x1A, 0x73, 0xE8)
        assert plan.palette[2] == want, name


def test_before_after_split_needs_marked_media(tmp_path: Path) -> None:
    photo = wide_product_photo(tmp_path / "p.png")
    shots = [ShotSpec(1.0, ShotRole.problem, photo, "Dull"), ShotSpec(1.0, ShotRole.demo, photo, "Bright")]
    spec = _one_shot(shots[0], template="before_after", shots=shots)
    plan = TEMPLATES["before_after"].plan(make_layout(spec, [0.0, 1.0, 2.0]))
    assert all(look.split_with is None for look in plan.looks) and "dropped" in plan.notes[0]
    shots[0].contrast, shots[1].contrast = "before", "after"
    plan = TEMPLATES["before_after"].plan(make_layout(spec, [0.0, 1.0, 2.0]))
    assert plan.looks[1].split_with == 0 and not plan.notes


def test_beat_snap_keeps_narration_lines_whole() -> None:
    shots = [ShotSpec(d, ShotRole.demo, None, "") for d in (1.8, 2.3, 1.9)]  # cuts at 1.8 and 4.1 s
    cues = [Cue(0.1, 1.7, "one"), Cue(1.9, 3.9, "two")]  # snapping 1.8 -> 2.0 would cut line two
    spec = _one_shot(shots[0], shots=shots, cues=cues, use_music=True, beat_snap=True, fps=10)
    bounds, moved = cut_times(spec)
    assert bounds == [0, 18, 40, 60] and moved == [None, None, 4.1, None]
    t = [b / 10 for b in bounds]
    for c in cues:
        assert any(t[i] <= c.start_s and c.end_s <= t[i + 1] for i in range(3)), c
    spec.beat_snap = False
    assert cut_times(spec)[0] == [0, 18, 41, 60]
    spec.beat_snap, spec.music = True, Path("user.wav")  # a user's music has no known beat grid
    assert cut_times(spec)[0] == [0, 18, 41, 60]


def test_pacing_transitions_and_cuts_in_the_result(tmp_path: Path) -> None:
    shots = [ShotSpec(d, ShotRole.demo, None, "") for d in (1.0, 2.9, 2.1)]  # cuts at 1.0 and 3.9 s
    spec = _one_shot(shots[0], shots=shots, height=96, use_music=True, beat_snap=True, pacing_transitions=True)
    res = render(spec, tmp_path, name="cuts")
    assert res.cuts[0] == {"t": 1.0, "kind": "cut", "duration_s": 0.0, "snapped_from": None}
    assert res.cuts[1]["kind"] == "fade" and 0.2 <= res.cuts[1]["duration_s"] <= 0.3
    assert res.cuts[1]["snapped_from"] == 3.9 and res.cuts[1]["t"] == 4.0  # onto the bed's beat at 4 s
    assert abs(res.duration_s - 6.0) < 1e-6
    m = json.loads(res.manifest.read_text(encoding="utf-8"))
    assert m["cuts"] == res.cuts and m["duration_s"] == 6.0


@pytest.mark.parametrize("language", [Language.en, Language.zh])
def test_a_line_already_on_screen_is_not_subtitled_again(language: Language) -> None:
    """The hook caption and the CTA button often say the spoken line word for word; the subtitle then repeats it
    in the same frame. Such a cue is left out; a cue with anything new (or on another shot) is kept."""
    zh = language is Language.zh
    hook = "还在为拖地发愁？" if zh else "Tried vacuum after vacuum and still not happy?"
    cta = "点击下方链接购买" if zh else "Shop BreezeBot S2 from the link below."
    shots = [ShotSpec(2.0, ShotRole.hook, None, hook), ShotSpec(2.0, ShotRole.demo, None, "Maps every room"),
             ShotSpec(2.0, ShotRole.cta, None, "")]  # fmt: skip
    cues = [
        Cue(0.1, 1.1, hook[:4] if zh else "Tried vacuum after vacuum"),  # part of the caption: left out
        Cue(1.1, 1.9, hook[4:] if zh else "and still not happy?"),
        Cue(2.1, 3.9, "它能画出每个房间的地图" if zh else "Here's the thing: it maps every room"),  # more words: kept
        Cue(4.1, 5.9, cta),  # the CTA button says it: left out
    ]
    for name in ("product_showcase", "price_cta", "hook_punch"):
        spec = _one_shot(shots[0], template=name, shots=shots, cues=cues, cta_text=cta, language=language)
        plan = TEMPLATES[name].plan(make_layout(spec, [0.0, 2.0, 4.0, 6.0]))
        subs = [o for o in plan.overlays if o.kind == "subtitle"]
        assert [o.text for o in subs] == [cues[2].text], (name, [(o.kind, o.text) for o in plan.overlays])
        assert any(o.text == hook for o in plan.overlays), name  # the words are on screen once, not zero times
