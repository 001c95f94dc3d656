"""Briefs without a picture: every template and aspect renders a designed, moving creative that passes the gate.

A text-only brief (no image, no clip) used to fall back to a smooth gradient that the template's slow zoom
barely changed, so every creative failed the quality gate as a frozen picture; a flat single-colour image
did the same. These tests render each template x aspect at a tiny size with real ffmpeg and judge the files
with the real quality gate at its default 1 s freeze allowance.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adloom.core.types import Aspect, Language, ShotRole
from adloom.creative.compose import TEMPLATES, Cue, RenderResult, RenderSpec, ShotSpec, frame_size, render, safe_area
from adloom.creative.compose.backdrop import BackdropStyle, designed_backdrop
from adloom.creative.compose.media import FLAT_STD, ffmpeg_exe, flatness
from adloom.creative.compose.templates import make_layout, with_product_cards
from adloom.creative.quality import check_video

H = 180  # test-only short side
FPS = 30
ROLES = [ShotRole.hook, ShotRole.problem, ShotRole.feature, ShotRole.cta]
CAPTIONS = ["", "Still dusty?", "Maps every room", "Shop now"]
CUES = [
    Cue(0.1, 1.4, "My honest take on BreezeBot S2."),
    Cue(1.6, 2.9, "Not sure where to start?"),
    Cue(3.1, 4.4, "It maps every room with lidar."),
    Cue(4.6, 5.9, "BreezeBot S2 is one tap away."),
]


def _spec(template: str, aspect: Aspect, media: Path | None = None, **kw) -> RenderSpec:
    base = dict(
        template=template,
        aspect=aspect,
        height=H,
        fps=FPS,
        language=Language.en,
        shots=[ShotSpec(1.5, role, media, cap) for role, cap in zip(ROLES, CAPTIONS, strict=True)],
        cues=list(CUES),
        title="Tried vacuum after vacuum?",
        product_name="BreezeBot S2",
        tagline="Maps every room with lidar",
        price_text="$299",
        cta_text="Shop now",
    )
    base.update(kw)
    return RenderSpec(**base)


def _gate(res: RenderResult, spec: RenderSpec):
    w, h = frame_size(spec.aspect, spec.height)
    return check_video(
        res.video,
        expected_duration_s=res.duration_s,
        expected_size=(w, h),
        caption_boxes=res.caption_boxes,
        safe_area=safe_area(spec.aspect, w, h),
    )  # the default allow_still_s=1.0: no allowance for intended stills


def _frame(video: Path, t: float, w: int, h: int) -> np.ndarray:
    proc = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1"]
        + ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(proc.stdout, np.uint8).reshape(h, w, 3)


@pytest.fixture(scope="module")
def grey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flat") / "grey.jpg"
    Image.new("RGB", (640, 480), (128, 128, 128)).save(path, quality=90)
    return path


def _check_designed(res: RenderResult, spec: RenderSpec) -> None:
    report = _gate(res, spec)
    assert report.passed, report.reasons
    # Real motion, not a still the gate was told to accept: no frozen stretch anywhere near the 1 s limit.
    assert float(report.metrics["longest_freeze_s"]) < 0.8, report.metrics
    assert res.still_s == 0.0
    manifest = json.loads(res.manifest.read_text(encoding="utf-8"))
    assert [s["picture"]["kind"] for s in manifest["shots"]] == ["designed"] * len(spec.shots)
    cards = [b for b in res.caption_boxes if b["kind"] == "product_card"]
    assert cards, "no shot got the product card"
    sx, sy, sw, sh = safe_area(spec.aspect, res.width, res.height)
    for b in cards:
        assert sx <= b["x"] and b["x"] + b["w"] <= sx + sw and sy <= b["y"] and b["y"] + b["h"] <= sy + sh, b


@pytest.mark.parametrize("aspect", list(Aspect), ids=lambda a: a.name)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_no_media_passes_the_gate(tmp_path: Path, template: str, aspect: Aspect) -> None:
    spec = _spec(template, aspect)
    _check_designed(render(spec, tmp_path, name="nomedia"), spec)


@pytest.mark.parametrize("aspect", list(Aspect), ids=lambda a: a.name)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_flat_grey_image_passes_the_gate(tmp_path: Path, grey: Path, template: str, aspect: Aspect) -> None:
    spec = _spec(template, aspect, media=grey)
    res = render(spec, tmp_path, name="grey")
    _check_designed(res, spec)
    note = json.loads(res.manifest.read_text(encoding="utf-8"))["shots"][0]["picture"]["note"]
    assert "grey.jpg is near-uniform" in note


def test_card_is_legible_and_the_backdrop_moves(tmp_path: Path) -> None:
    spec = _spec("product_showcase", Aspect.portrait, height=360)
    res = render(spec, tmp_path, name="card")
    card = next(b for b in res.caption_boxes if b["kind"] == "product_card" and b["t0"] == 0)
    a = _frame(res.video, 0.3, res.width, res.height).astype(int)
    b = _frame(res.video, 0.9, res.width, res.height).astype(int)
    region = a[card["y"] : card["y"] + card["h"], card["x"] : card["x"] + card["w"]].mean(axis=2)
    assert (region > 200).mean() > 0.04 and (region < 80).mean() > 0.3  # white type on a dark card
    # The picture outside every text box changes between the two frames.
    mask = np.ones((res.height, res.width), bool)
    for box in res.caption_boxes:
        if box["t0"] <= 0.9 and box["t1"] > 0.3:
            mask[box["y"] : box["y"] + box["h"], box["x"] : box["x"] + box["w"]] = False
    assert np.abs(a - b).mean(axis=2)[mask].mean() > 2


def test_designed_render_is_reproducible(tmp_path: Path) -> None:
    spec = _spec("ugc_captions", Aspect.square, height=144, use_music=False)
    frames = []
    for name in ("a", "b"):
        res = render(spec, tmp_path / name, name=name)
        frames.append(hashlib.sha256(_frame(res.video, 1.0, 144, 144).tobytes()).hexdigest())
    assert frames[0] == frames[1]
    other = render(_spec("ugc_captions", Aspect.square, height=144, use_music=False, seed=1), tmp_path / "c")
    assert hashlib.sha256(_frame(other.video, 1.0, 144, 144).tobytes()).hexdigest() != frames[0]


def test_a_real_image_beside_a_flat_one_is_still_shown(tmp_path: Path, grey: Path) -> None:
    product = tmp_path / "product.png"
    img = Image.new("RGB", (600, 800), (235, 235, 235))
    ImageDraw.Draw(img).rounded_rectangle((200, 150, 400, 650), radius=40, fill=(200, 40, 60))
    img.save(product)
    spec = _spec("product_showcase", Aspect.square, media=grey)
    spec.shots[1] = ShotSpec(1.5, ShotRole.demo, product, "Still dusty?")
    res = render(spec, tmp_path, name="mixed")
    shots = json.loads(res.manifest.read_text(encoding="utf-8"))["shots"]
    assert [s["picture"]["kind"] for s in shots] == ["designed", "image", "designed", "designed"]
    cards = [b for b in res.caption_boxes if b["kind"] == "product_card"]
    assert {round(b["t0"], 1) for b in cards} == {0.0, 3.0, 4.5}  # not on the shot with the photo
    frame = _frame(res.video, 2.2, res.width, res.height).astype(int)
    red = (frame[..., 0] > 150) & (frame[..., 1] < 90) & (frame[..., 2] < 110)
    assert red.mean() > 0.05  # the product photo is on screen
    assert _gate(res, spec).passed


def test_flatness_tells_a_placeholder_from_a_product_shot() -> None:
    rng = np.random.default_rng(0)
    noisy = np.clip(128 + rng.normal(0, 1.5, (480, 640, 3)), 0, 255).astype(np.uint8)
    assert flatness(Image.fromarray(noisy)) < FLAT_STD
    assert flatness(Image.new("RGB", (300, 300), (250, 250, 250))) < FLAT_STD
    small_product = Image.new("RGB", (1000, 1000), (250, 250, 250))
    ImageDraw.Draw(small_product).ellipse((450, 450, 550, 550), fill=(30, 60, 200))  # under 1% of the picture
    assert flatness(small_product) > 2 * FLAT_STD


@pytest.mark.parametrize("aspect", list(Aspect), ids=lambda a: a.name)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_product_cards_never_cover_the_template_text(template: str, aspect: Aspect) -> None:
    """Planning only (no ffmpeg): a card sits in the middle zone, beside no other text of its shot."""
    spec = _spec(template, aspect, height=720)
    lay = make_layout(spec, [1.5 * k for k in range(len(spec.shots) + 1)])
    plan = TEMPLATES[template].plan(lay)
    overlays = with_product_cards(lay, plan, [True] * len(spec.shots))
    cards = [ov for ov in overlays if ov.kind == "product_card"]
    assert cards
    mid = lay.middle
    for card in cards:
        assert mid.x <= card.x and card.x + card.image.width <= mid.x + mid.w
        assert mid.y <= card.y and card.y + card.image.height <= mid.y + mid.h
        for ov in overlays:
            if ov is card or ov.t1 <= card.t0 or ov.t0 >= card.t1:
                continue
            apart_x = ov.x + ov.image.width <= card.x or card.x + card.image.width <= ov.x
            apart_y = ov.y + ov.image.height <= card.y or card.y + card.image.height <= ov.y
            assert apart_x or apart_y, (template, aspect, ov.kind, ov.box(), card.box())
        # The small name tag gives way to the card, which says the same larger.
        assert not any(ov.kind == "product" and ov.t0 == card.t0 and mid.y <= ov.y for ov in overlays)


def test_backdrop_style_names_a_bad_value() -> None:
    with pytest.raises(ValueError, match="pattern='waves'"):
        BackdropStyle(pattern="waves")
    with pytest.raises(ValueError, match="speed=0"):
        BackdropStyle(speed=0)
    light = designed_backdrop((64, 36), ((250, 214, 200), (240, 160, 150), (214, 64, 90)), BackdropStyle(), 3)
    assert light.base.size == (64, 36) and light.sprites
    assert all(s.image.mode == "RGBA" for s in light.sprites)
