"""The compose renderer end to end: real ffmpeg, real fonts, Pillow-made images, no mocks.

Videos are rendered at a tiny test size (short side 180 px, 3 s) so the module
stays fast on two cores; every check reads the written files back.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adloom.core.errors import InputError, UnsupportedContentError
from adloom.core.fonts import load_font, resolve_font
from adloom.core.paths import sniff
from adloom.core.types import Aspect, Language, ShotRole
from adloom.creative.compose import (
    TEMPLATES,
    Cue,
    RenderSpec,
    ShotSpec,
    frame_size,
    render,
    safe_area,
)
from adloom.creative.compose.media import ffmpeg_exe, probe, salient_crop
from adloom.creative.compose.text import TextStyle, fit_text

H = 180  # test-only short side
FPS = 30


def _ffmpeg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True)


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compose_assets")
    rng = np.random.default_rng(0)
    # A "product photo": plain backdrop, a textured red product far to the right.
    arr = np.full((600, 1200, 3), 205, np.uint8)
    arr[150:450, 900:1150] = (rng.integers(0, 255, (300, 250, 3)) // 2 + (120, 0, 0)).astype(np.uint8)
    Image.fromarray(arr).save(root / "product.jpg", quality=92)
    img = Image.new("RGB", (500, 800), (30, 80, 160))
    ImageDraw.Draw(img).rectangle((80, 100, 300, 420), fill=(250, 220, 0))
    img.save(root / "detail.png")
    # Narration: 3 s of a pulsed tone (24 kHz mono WAV, as the voice layer writes).
    sr = 24000
    t = np.arange(3 * sr) / sr
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0) * 32767).astype(np.int16)
    with wave.open(str(root / "narration.wav"), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(sr)
        wf.writeframes(pcm.tobytes())
    # A 1 s clip, shorter than its shot, so it must loop.
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=25:d=1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(root / "clip.mp4"),
    )
    assert (root / "clip.mp4").stat().st_size > 0
    return {
        "product": root / "product.jpg",
        "detail": root / "detail.png",
        "narration": root / "narration.wav",
        "clip": root / "clip.mp4",
    }


CUES = [Cue(0.0, 0.95, "这款保温杯真好用"), Cue(1.0, 1.95, "一杯热水保温一整天"), Cue(2.0, 3.0, "现在下单立减五十")]


def _spec(assets: dict[str, Path], template: str, aspect: Aspect, **kw) -> RenderSpec:
    shots = [
        ShotSpec(1.0, ShotRole.hook, assets["product"], "还在为喝水发愁？"),
        ShotSpec(1.0, ShotRole.demo, assets["detail"], "24小时保温保冷"),
        ShotSpec(1.0, ShotRole.cta, None, "限时特惠"),
    ]
    base = dict(
        template=template,
        aspect=aspect,
        height=H,
        fps=FPS,
        shots=shots,
        cues=list(CUES),
        narration_wav=assets["narration"],
        title="保温杯",
        product_name="星空保温杯",
        price_text="¥99",
        cta_text="立即抢购",
    )
    base.update(kw)
    return RenderSpec(**base)


@pytest.fixture(scope="module")
def showcase(assets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("compose_out")
    results = {}
    for aspect in Aspect:
        seen: list[float] = []
        res = render(
            _spec(assets, "product_showcase", aspect), out, name=f"showcase_{aspect.name}", progress=seen.append
        )
        results[aspect] = (res, seen)
    return results


def _decode_frame(video: Path, t: float, w: int, h: int) -> np.ndarray:
    proc = _ffmpeg("-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    assert proc.returncode == 0, proc.stderr[-500:]
    return np.frombuffer(proc.stdout, np.uint8).reshape(h, w, 3)


def _count_frames(video: Path) -> int:
    proc = _ffmpeg("-i", str(video), "-map", "0:v", "-f", "null", "-")
    return int(re.findall(rb"frame=\s*(\d+)", proc.stderr)[-1])


def _top_level_atoms(path: Path) -> list[tuple[str, int]]:
    data = path.read_bytes()
    atoms, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        atoms.append((kind.decode("latin-1"), pos))
        if size < 8:
            break
        pos += size
    return atoms


@pytest.mark.parametrize("aspect", list(Aspect))
def test_container_codecs_size_duration(showcase: dict, aspect: Aspect) -> None:
    res, _ = showcase[aspect]
    info = probe(res.video)
    w, h = frame_size(aspect, H)
    assert (info.width, info.height) == (w, h) == (res.width, res.height)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.has_audio
    assert abs(info.duration_s - 3.0) <= 0.1
    assert _count_frames(res.video) == 3 * FPS


def test_probe_names_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.mp4 does not exist"):
        probe(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 64)
    with pytest.raises(UnsupportedContentError, match="junk.mp4 could not be read as a media file"):
        probe(junk)


@pytest.mark.parametrize("aspect", list(Aspect))
def test_faststart_and_aigc_metadata(showcase: dict, aspect: Aspect) -> None:
    res, _ = showcase[aspect]
    atoms = dict(_top_level_atoms(res.video))
    assert "moov" in atoms and "mdat" in atoms
    assert atoms["moov"] < atoms["mdat"], "moov must precede mdat (+faststart)"
    meta = probe(res.video).metadata
    assert meta.get("aigc") == "1"
    assert meta.get("aigc_label") == "AI生成"
    assert meta.get("comment", "").startswith("AIGC")
    manifest = json.loads(res.manifest.read_text(encoding="utf-8"))
    assert manifest["aigc"]["label"] == "AI生成"
    assert manifest["aigc"]["label_position"] == "top-right"
    assert manifest["aigc"]["container_metadata"]["aigc"] == "1"
    assert manifest["fonts"][0]["path"] == str(resolve_font().path)
    assert manifest["caption_boxes"] == res.caption_boxes


@pytest.mark.parametrize("aspect", list(Aspect))
def test_every_text_box_inside_safe_area(showcase: dict, aspect: Aspect) -> None:
    res, _ = showcase[aspect]
    sx, sy, sw, sh = safe_area(aspect, res.width, res.height)
    kinds = {b["kind"] for b in res.caption_boxes}
    assert {"label", "hook", "headline", "subtitle"} <= kinds
    for b in res.caption_boxes:
        assert b["x"] >= sx and b["y"] >= sy, b
        assert b["x"] + b["w"] <= sx + sw and b["y"] + b["h"] <= sy + sh, b
    label = next(b for b in res.caption_boxes if b["kind"] == "label")
    assert label["x"] + label["w"] > res.width / 2 and label["y"] < res.height / 2  # top-right
    assert label["t0"] == 0 and label["t1"] == pytest.approx(3.0)


def test_cjk_text_is_drawn_in_the_video(showcase: dict) -> None:
    res, _ = showcase[Aspect.portrait]
    sub = next(b for b in res.caption_boxes if b["kind"] == "subtitle" and b["t0"] == 0)
    frame = _decode_frame(res.video, 0.5, res.width, res.height)
    region = frame[sub["y"] : sub["y"] + sub["h"], sub["x"] : sub["x"] + sub["w"]].astype(int)
    luma = region.mean(axis=2)
    assert luma.std() > 25, "subtitle region is nearly uniform: no text drawn"
    assert (luma > 200).mean() > 0.03 and (luma < 60).mean() > 0.03  # white glyphs with a black stroke


def test_font_has_real_cjk_glyphs() -> None:
    font = load_font(48)
    shapes = []
    for ch in "保温杯":
        img = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(img).text((4, 0), ch, font=font, fill=255)
        shapes.append(np.asarray(img))
    assert all(s.sum() > 0 for s in shapes)
    assert not np.array_equal(shapes[0], shapes[1]) and not np.array_equal(shapes[1], shapes[2])  # not tofu


def test_srt_matches_cues(showcase: dict) -> None:
    res, _ = showcase[Aspect.square]
    text = res.srt.read_text(encoding="utf-8")
    blocks = [b.splitlines() for b in text.strip().split("\n\n")]
    assert len(blocks) == len(CUES)

    def secs(stamp: str) -> float:
        hh, mm, rest = stamp.split(":")
        s, ms = rest.split(",")
        return int(hh) * 3600 + int(mm) * 60 + int(s) + int(ms) / 1000

    for n, (block, cue) in enumerate(zip(blocks, CUES, strict=True), start=1):
        assert block[0] == str(n)
        start, end = block[1].split(" --> ")
        assert secs(start) == pytest.approx(cue.start_s, abs=1e-3)
        assert secs(end) == pytest.approx(cue.end_s, abs=1e-3)
        assert block[2] == cue.text


def test_cover_progress_and_manifest(showcase: dict) -> None:
    res, seen = showcase[Aspect.landscape]
    assert sniff(res.cover.read_bytes()[:64]) == ("image", "jpeg")
    with Image.open(res.cover) as cover:
        assert cover.size == (res.width, res.height)
        hook = next(b for b in res.caption_boxes if b["kind"] == "hook")
        region = np.asarray(cover.convert("L"))[hook["y"] : hook["y"] + hook["h"], hook["x"] : hook["x"] + hook["w"]]
        assert region.std() > 20  # the hook text is on the cover
    assert seen and seen[-1] == 1.0 and all(0 <= p <= 1 for p in seen)
    assert seen == sorted(seen)
    m = json.loads(res.manifest.read_text(encoding="utf-8"))
    assert (m["width"], m["height"], m["fps"], m["frames"]) == (res.width, res.height, FPS, 90)
    assert m["music"]["kind"] == "generated"
    assert [s["caption"] for s in m["shots"]] == ["还在为喝水发愁？", "24小时保温保冷", "限时特惠"]
    assert "libx264" in m["ffmpeg"]["command"]
    assert not list(res.video.parent.glob(".*tmp*")) and not list(res.video.parent.glob(".compose-*"))


TEMPLATE_KINDS = {
    "product_showcase": {"hook", "cta", "product"},
    "hook_punch": {"hook", "headline"},
    "before_after": {"before", "after"},
    "testimonial": {"card", "price", "cta"},
    "feature_list": {"panel", "price", "cta"},
    "price_cta": {"price", "cta", "product"},
    "ugc_captions": {"hook", "subtitle"},
}


def test_template_table_is_complete() -> None:
    assert len(TEMPLATES) >= 6
    assert set(TEMPLATES) == set(TEMPLATE_KINDS)


@pytest.mark.parametrize("template", sorted(TEMPLATE_KINDS))
def test_each_template_renders(assets: dict[str, Path], tmp_path: Path, template: str) -> None:
    spec = _spec(assets, template, Aspect.square, height=144)
    spec.shots[1] = ShotSpec(1.0, ShotRole.proof, assets["detail"], "真的有效")
    if template == "before_after":  # the split needs media marked before/after (issue 14)
        spec.shots[0].contrast, spec.shots[1].contrast = "before", "after"
    res = render(spec, tmp_path, name=template)
    info = probe(res.video)
    assert (info.width, info.height) == (144, 144)
    assert abs(info.duration_s - 3.0) <= 0.1
    kinds = {b["kind"] for b in res.caption_boxes}
    assert TEMPLATE_KINDS[template] <= kinds, kinds
    sx, sy, sw, sh = safe_area(Aspect.square, 144, 144)
    for b in res.caption_boxes:
        assert sx <= b["x"] and b["x"] + b["w"] <= sx + sw and sy <= b["y"] and b["y"] + b["h"] <= sy + sh, b


def test_clip_shot_loops_and_english_label(assets: dict[str, Path], tmp_path: Path) -> None:
    spec = _spec(
        assets,
        "ugc_captions",
        Aspect.portrait,
        language=Language.en,
        label_position="bottom-left",
        use_music=False,
        cues=[Cue(0.0, 2.5, "Keep your coffee hot all day long.")],
    )
    spec.shots[1] = ShotSpec(1.6, ShotRole.demo, assets["clip"], "Real test")
    res = render(spec, tmp_path, name="clip")
    assert _count_frames(res.video) == round(3.6 * FPS)
    label = next(b for b in res.caption_boxes if b["kind"] == "label")
    assert label["x"] < res.width / 2 and label["y"] > res.height / 2
    m = json.loads(res.manifest.read_text(encoding="utf-8"))
    assert m["aigc"]["label"] == "AI-generated" and m["music"]["kind"] == "none"
    # The clip is shown (testsrc2 is colourful), and it moves: two frames 0.5 s apart differ.
    a = _decode_frame(res.video, 1.3, res.width, res.height).astype(int)
    b = _decode_frame(res.video, 1.8, res.width, res.height).astype(int)
    assert np.abs(a - b).mean() > 2


def test_music_bed_is_audible_without_narration(assets: dict[str, Path], tmp_path: Path) -> None:
    spec = _spec(assets, "price_cta", Aspect.square, height=144, narration_wav=None)
    res = render(spec, tmp_path, name="music")
    proc = _ffmpeg("-i", str(res.video), "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", "8000", "-")
    samples = np.frombuffer(proc.stdout, np.int16).astype(float)
    rms = np.sqrt((samples**2).mean())
    assert 30 < rms < 8000  # present but quiet


def test_salient_crop_keeps_the_product(assets: dict[str, Path]) -> None:
    with Image.open(assets["product"]) as img:
        box, (fx, _fy) = salient_crop(img.convert("RGB"), 9 / 16)
    left, _top, right, _bottom = box
    assert left <= 900 and right >= 1150  # the product (x 900..1150) is fully inside the portrait crop
    assert right - left == pytest.approx(600 * 9 / 16, abs=2)
    assert fx > 0.3


def test_fit_text_wraps_and_fits() -> None:
    style = TextStyle(max_size=60, min_size=12, max_lines=3, stroke_ratio=0.08)
    size, lines = fit_text("这款保温杯可以让你的咖啡一整天都保持温热 and it fits in every bag", 200, 90, style)
    font = load_font(size)
    assert 12 <= size < 60 and 1 < len(lines) <= 3
    assert all(font.getlength(ln) <= 200 for ln in lines)
    size2, lines2 = fit_text("字" * 400, 100, 40, style)
    assert size2 == 12 and lines2[-1].endswith("…")


def test_safe_area_numbers() -> None:
    assert safe_area(Aspect.portrait, 720, 1280) == (43, 154, 591, 870)  # 6% left, 12% top, 12% right, 20% bottom
    assert frame_size(Aspect.landscape, 1080) == (1920, 1080)
    assert frame_size(Aspect.portrait, 720) == (720, 1280)
    assert frame_size(Aspect.square, 720) == (720, 720)


def test_invalid_specs_raise_typed_errors(assets: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="template"):
        render(_spec(assets, "nope", Aspect.square), tmp_path)
    bad = _spec(assets, "price_cta", Aspect.square)
    bad.shots[0] = ShotSpec(1.0, ShotRole.hook, tmp_path / "missing.png", "x")
    with pytest.raises(InputError, match=r"shots\[0\]\.media"):
        render(bad, tmp_path)
    with pytest.raises(InputError, match="label_position"):
        render(_spec(assets, "price_cta", Aspect.square, label_position="middle"), tmp_path)
    with pytest.raises(InputError, match="height"):
        render(_spec(assets, "price_cta", Aspect.square, height=181), tmp_path)
    assert not list(tmp_path.glob("*.mp4"))


@pytest.mark.parametrize("aspect", [Aspect.portrait, Aspect.square, Aspect.landscape])
def test_punch_in_frames_stay_inside_their_zone(assets: dict[str, Path], aspect: Aspect) -> None:
    """A hook that fills the zone at 1x must not overshoot it in the 1.3x punch frames: the quality gate
    rejected a demo creative for a caption 1 px outside the safe area during the first two frames."""
    from adloom.creative.compose.templates import add_punch, make_layout

    hook = "质地清爽，涂抹后很快吸收，这就是水润保湿精华。"
    spec = _spec(assets, "hook_punch", aspect, shots=[ShotSpec(3.0, ShotRole.hook, assets["product"], hook)])
    lay = make_layout(spec, [0.0, 3.0])
    big = TextStyle(max_size=lay.px(0.085 * 1.3), min_size=lay.px(0.035), max_lines=3, stroke_ratio=0.08)
    add_punch(lay, 0, hook, lay.middle, big)
    assert len(lay.overlays) == 3
    for ov in lay.overlays:
        w, h = ov.image.size
        assert lay.middle.x <= ov.x and ov.x + w <= lay.middle.x + lay.middle.w, (ov.x, w, lay.middle)
        assert lay.middle.y <= ov.y and ov.y + h <= lay.middle.y + lay.middle.h, (ov.y, h, lay.middle)
