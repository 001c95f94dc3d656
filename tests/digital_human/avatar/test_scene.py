"""Room compositions (background, product cards) and presets (look + voice + background → Avatar)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adloom.core.errors import InputError, PathOutsideRootError, UnsupportedContentError
from adloom.digital_human.avatar.base import REST, MouthPose
from adloom.digital_human.avatar.presets import AvatarPreset, load_preset, make_avatar, parse_spec
from adloom.digital_human.avatar.rig import RigPresenter
from adloom.digital_human.avatar.scene import (
    ProductCard,
    SceneAvatar,
    compose_rig_scene,
    load_background,
    render_card,
)


@pytest.fixture
def room(tmp_path: Path) -> Path:
    """A room folder with a striped background photo and a product photo."""
    bg = np.zeros((400, 300, 3), np.uint8)
    bg[:, :, 0] = np.linspace(0, 255, 300, dtype=np.uint8)[None, :]
    bg[:, :, 2] = 200
    Image.fromarray(bg).save(tmp_path / "studio.jpg", quality=95)
    product = np.full((200, 200, 3), (30, 160, 60), np.uint8)
    Image.fromarray(product).save(tmp_path / "bottle.png")
    (tmp_path / "notes.png").write_text("not really an image")
    return tmp_path


@pytest.mark.parametrize("size", [(720, 1280), (1080, 1920)])
def test_rig_scene_over_a_background_with_product_cards(room: Path, size: tuple[int, int]) -> None:
    cards = [ProductCard("Thermos bottle 500 ml", "¥99", room / "bottle.png"), ProductCard("保温杯 礼盒装", "¥129")]
    scene = compose_rig_scene("look1", size, background="studio.jpg", cards=cards, roots=[room])
    frame = scene.frame(0, MouthPose(0.5, 0.2, 0.0))
    w, h = size
    assert frame.shape == (h, w, 3)
    bg = load_background(room / "studio.jpg", size, roots=[room])
    assert np.abs(frame[:50, :50].astype(int) - bg[:50, :50].astype(int)).max() <= 1  # the user's photo shows
    # The first card sits at the right: white panel with the product's green photo inside it.
    card = frame[int(h * 0.56) : int(h * 0.8), int(w * 0.66) : int(w * 0.97)].astype(int)
    assert ((card > 235).all(axis=2)).mean() > 0.2
    green = (card[..., 1] > 130) & (card[..., 0] < 70) & (card[..., 2] < 100)
    assert green.sum() > 0.03 * card.shape[0] * card.shape[1]
    # The presenter stands left of centre and gestures toward the card.
    assert scene.anchor[0] < w // 2 and scene.side == 1


def test_bad_background_paths_are_clear_errors(room: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    with pytest.raises(InputError, match="does not exist") as missing:
        compose_rig_scene("look1", background="nope.jpg", roots=[room])
    assert "background" in str(missing.value)
    outside = tmp_path_factory.mktemp("elsewhere") / "bg.png"
    Image.new("RGB", (10, 10)).save(outside)
    with pytest.raises(PathOutsideRootError, match="outside the allowed folders"):
        compose_rig_scene("look1", background=outside, roots=[room])
    with pytest.raises(UnsupportedContentError, match="notes.png"):
        compose_rig_scene("look1", background="notes.png", roots=[room])


def test_cards_render_latin_and_chinese_names(room: Path) -> None:
    for card in (ProductCard("A very long product name that needs two lines or more to fit", "$29.90"),
                 ProductCard("水润保湿精华 含透明质酸", "¥129", room / "bottle.png")):  # fmt: skip
        rgba = render_card(card, 240, roots=[room])
        assert rgba.shape[1] >= 240 and rgba.shape[2] == 4
        text = (rgba[..., 3] > 200) & (rgba[..., :3].sum(axis=2) < 200)
        assert text.sum() > 200  # the name is drawn in dark ink
        red = (rgba[..., 0] > 180) & (rgba[..., 1] < 100) & (rgba[..., 3] > 200)
        assert red.sum() > 50  # the price is drawn in the accent colour
    with pytest.raises(InputError, match="name is empty"):
        render_card(ProductCard("  "), 240)


def test_scene_avatar_draws_cards_over_any_avatar() -> None:
    inner = RigPresenter("look2", (720, 1280), 25)
    wrapped = SceneAvatar(inner, [ProductCard("Robot vacuum", "$299")])
    assert wrapped.size == (720, 1280) and wrapped.fps == 25
    plain, carded = inner.frame(5, REST), wrapped.frame(5, REST)
    assert not np.array_equal(plain, carded)
    assert np.array_equal(plain[:400], carded[:400])  # only the card area changes


def test_presets_load_strictly_and_make_avatars(room: Path) -> None:
    (room / "preset.yaml").write_text(
        "name: evening\navatar: rig:look4\nvoice: zf_xiaoxiao\nbackground: studio.jpg\nsize: 1080x1920\n"
    )
    preset = load_preset("preset.yaml", roots=[room])
    assert preset.avatar == "rig:look4" and preset.voice == "zf_xiaoxiao" and preset.frame_size == (1080, 1920)
    avatar = make_avatar(preset, roots=[room])
    assert avatar.size == (1080, 1920) and avatar.frame(0, REST).shape == (1920, 1080, 3)
    assert make_avatar("rig:look2").size == (720, 1280)
    assert make_avatar("rig:default", size=(1080, 1920), fps=30).fps == 30
    assert parse_spec("photo:avatars/anna") == ("photo", "avatars/anna")

    (room / "typo.yaml").write_text("avatar: rig:look1\nbackgorund: studio.jpg\n")
    with pytest.raises(InputError, match="backgorund"):
        load_preset("typo.yaml", roots=[room])
    with pytest.raises(InputError, match="size"):
        load_preset({"avatar": "rig:look1", "size": "640x480"})
    with pytest.raises(InputError, match="unknown look"):
        make_avatar("rig:look9")
    with pytest.raises(InputError, match="not understood"):
        make_avatar("cartoon")
    with pytest.raises(InputError, match="saved photo-avatar folder"):
        make_avatar("photo:missing", roots=[room])
    with pytest.raises(ValueError):
        AvatarPreset(avatar="rig:look1", fps=500)


def test_photo_spec_builds_the_photo_avatar_lazily_with_cards(room: Path) -> None:
    """``photo:FOLDER`` goes through the photo-avatar module (imported only for this spec)."""
    from adloom.digital_human.avatar import landmarks, photo

    sample = Path(photo.SAMPLES_DIR)
    photo.save_photo_avatar(
        room / "anna",
        sample / "astronaut.jpg",
        photo.sample_consent(),
        landmarks=landmarks.FaceLandmarks.load(sample / "astronaut.landmarks.json"),
    )
    avatar = make_avatar("photo:anna", roots=[room], cards=[ProductCard("Robot vacuum", "$299")])
    assert isinstance(avatar, SceneAvatar) and isinstance(avatar.inner, photo.PhotoAvatar)
    assert avatar.frame(0, MouthPose(0.5, 0.2, 0.0)).shape == (1280, 720, 3)
