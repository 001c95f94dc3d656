"""Asset understanding on the synthetic footage set (adloom.creative.assets.synthetic): scene cuts, scores,
faces (mediapipe venv), rotation, VFR, the content-hash cache, and every kind of bad input.

The footage set and its analysis are built once per module (a few seconds); faces are checked only where
mediapipe's venv exists (skipped, saying so, where it does not).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import pytest

from adloom.core.errors import InputError, UnsupportedContentError
from adloom.creative.assets import AnalysisLimits, AssetAnalysis, AssetFailure, AssetKind
from adloom.creative.assets.analyze import CACHE_STATS, analyze_asset, analyze_assets, cache_folder
from adloom.creative.assets.describe import vocabulary
from adloom.creative.assets.synthetic import make_phone_clips


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("asset-cache")


@pytest.fixture(scope="module")
def long_clip(footage, cache) -> AssetAnalysis:
    return analyze_asset(footage.long_clip, cache_dir=cache)


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_phone_clips(tmp_path_factory.mktemp("phone"))


def test_cuts_of_the_long_clip_are_found_within_a_frame(footage, long_clip) -> None:
    truth = footage.cut_times(footage.long_clip)
    assert len(truth) >= 10
    found = [s.start_s for s in long_clip.scenes[1:]]
    assert len(long_clip.scenes) == len(truth) + 1, (found, truth)
    for f, t in zip(found, truth, strict=True):
        assert abs(f - t) <= 1.5 / 25, (f, t)
    assert long_clip.scenes[0].start_s == 0 and abs(long_clip.scenes[-1].end_s - long_clip.duration_s) < 1e-6
    ids = [s.id for s in long_clip.scenes]
    assert ids[0] == f"{long_clip.sha256[:12]}#s00" and len(set(ids)) == len(ids)
    for s in long_clip.scenes:
        assert 1 <= len(s.keyframes) <= 3 and all(Path(k).is_file() for k in s.keyframes)
        img = cv2.imread(s.keyframes[0])
        assert img is not None and img.shape[1] == 480


def _scene(footage, analysis: AssetAnalysis, label: str, camera: str | None = None):
    """The analysed scenes whose ground-truth label (and camera) match."""
    truth = [x for x in footage.labels if x.file == footage.long_clip.name]
    return [analysis.scenes[x.index] for x in truth if x.label == label and (camera is None or x.camera == camera)]


def test_scores_tell_pans_from_statics_blur_from_focus_shake_from_tripod(footage, long_clip) -> None:
    static = _scene(footage, long_clip, "product_still", "static")[0]
    panned = _scene(footage, long_clip, "product_still", "pan")[0]
    blurred = _scene(footage, long_clip, "product_still", "blurred")[0]
    shaky = _scene(footage, long_clip, "factory_broll", "shaky")[0]
    smooth = _scene(footage, long_clip, "factory_broll", "pan")[0]
    assert panned.motion > static.motion + 0.3
    assert blurred.sharpness < 0.5 * static.sharpness
    assert shaky.shake > smooth.shake + 0.3
    for card in _scene(footage, long_clip, "text_card"):
        assert card.text, card
    assert not any(s.text for s in _scene(footage, long_clip, "face_testimonial"))
    assert all(0 <= s.exposure <= 1 and s.exposure > 0.6 for s in long_clip.scenes)


def test_faces_are_found_on_the_portrait_scenes(footage, long_clip, has_mediapipe: bool) -> None:
    if not has_mediapipe:
        pytest.skip(".venv-mediapipe is absent, so faces and hands cannot be measured here (`make mediapipe`)")
    faces = _scene(footage, long_clip, "face_testimonial")
    assert faces and all(s.faces and s.faces >= 1 and s.face_boxes for s in faces)
    assert all(s.faces == 0 for s in _scene(footage, long_clip, "text_card"))
    assert all(s.hands is not None for s in long_clip.scenes)  # measured (drawn hands are not reliably found)
    assert "a person's face" in faces[0].description


def test_photos_get_saliency_cutout_and_colours(footage, cache) -> None:
    serum = analyze_asset(footage.root / "serum.png", cache_dir=cache)
    room = analyze_asset(footage.root / "robot_vacuum.png", cache_dir=cache, lang="zh")
    assert serum.kind is AssetKind.photo and len(serum.scenes) == 1 and (serum.width, serum.height) == (1200, 1500)
    info = serum.photo
    assert info is not None and info.plain_background and info.cutout
    x0, y0, x1, y1 = info.saliency_box
    assert 0.25 < x0 < 0.4 and 0.6 < x1 < 0.75 and y0 < 0.25 and y1 > 0.8  # the bottle, not the backdrop
    rgba = cv2.imread(info.cutout, cv2.IMREAD_UNCHANGED)
    assert rgba.shape[2] == 4 and rgba[..., 3].min() == 0 and rgba[..., 3].max() == 255
    assert 3 <= len(info.colours) <= 5 and info.colours[0] != info.background_colour
    assert room.photo is not None and not room.photo.plain_background and room.photo.cutout is None
    assert "照片" in room.scenes[0].description and "robot vacuum" in room.scenes[0].description


def test_caption_and_role_hint_win_and_the_cache_is_reused(footage, cache) -> None:
    path = footage.product_pan
    first = analyze_asset(path, cache_dir=cache)
    stored = cache_folder(cache, first.sha256, AnalysisLimits()) / "analysis.json"
    mtime = stored.stat().st_mtime_ns
    hits, misses = CACHE_STATS["hits"], CACHE_STATS["misses"]
    again = analyze_asset(path, cache_dir=cache, caption="Robot vacuum gliding past the sofa", role_hint="demo")
    assert (CACHE_STATS["hits"], CACHE_STATS["misses"]) == (hits + 1, misses)
    assert stored.stat().st_mtime_ns == mtime
    assert again.scenes[0].description == "Robot vacuum gliding past the sofa" and again.role_hint == "demo"
    assert [s.model_dump(exclude={"description"}) for s in again.scenes] == [
        s.model_dump(exclude={"description"}) for s in first.scenes
    ]
    assert json.loads(stored.read_text())["analyzer"] == first.analyzer


def test_rotated_phone_clip_is_upright(phone, cache) -> None:
    a = analyze_asset(phone["rotated"], cache_dir=cache)
    assert (a.width, a.height, a.rotation) == (360, 640, 90)
    img = cv2.imread(a.scenes[0].keyframes[0])
    h, w = img.shape[:2]
    assert h > w and img[: h // 4].mean() > img[3 * h // 4 :].mean() + 60  # the white block is on top


def test_variable_frame_rate_is_flagged(phone, cache) -> None:
    a = analyze_asset(phone["vfr"], cache_dir=cache)
    assert a.vfr and any("variable frame rate" in w for w in a.warnings)
    assert 2.5 < a.duration_s < 3.1


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("audio_only", InputError, "no video stream"),
        ("corrupt", InputError, "damaged or truncated"),
        ("garbage", UnsupportedContentError, "not a recognised image or video"),
        ("pdf_as_jpg", UnsupportedContentError, "PDF"),
        ("one_pixel", InputError, "1x1"),
    ],
)
def test_bad_input_is_a_clear_error_naming_the_file(phone, cache, name, error, words) -> None:
    with pytest.raises(error) as info:
        analyze_asset(phone[name], cache_dir=cache)
    assert words in str(info.value) and phone[name].name in str(info.value)


def test_a_batch_goes_on_past_bad_files(phone, footage, cache) -> None:
    out = analyze_assets([phone["pdf_as_jpg"], footage.root / "serum.png"], cache_dir=cache, keep_going=True)
    assert isinstance(out[0], AssetFailure) and out[0].error == "UnsupportedContentError"
    assert isinstance(out[1], AssetAnalysis)


def test_two_hour_clip_is_streamed_or_refused_by_the_limit(tmp_path: Path, cache) -> None:
    from adloom.creative.compose.media import ffmpeg_exe

    clip = tmp_path / "two_hours.mp4"
    src = "testsrc2=size=64x64:rate=1/2"  # 2 h at one frame per 2 s: made in a second, analysed in a few
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", src, "-t", "7200", "-c:v", "libx264",
                    "-preset", "ultrafast", "-g", "30", str(clip)], check=True, timeout=60)  # fmt: skip
    with pytest.raises(InputError, match=r"2\.0 h long, over the 1 h"):
        analyze_asset(clip, cache_dir=cache, limits=AnalysisLimits(max_duration_s=3600))
    seen: list[float] = []
    a = analyze_asset(clip, cache_dir=cache, progress=seen.append)
    assert abs(a.duration_s - 7200) < 2 and a.scenes
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 50  # streamed: the progress bar moved all along


def test_unreadable_and_truncated_tail(tmp_path: Path, footage, cache) -> None:
    data = footage.product_pan.read_bytes()
    moov_first = tmp_path / "cut.mp4"
    moov_first.write_bytes(data[: int(len(data) * 0.6)])
    try:
        a = analyze_asset(moov_first, cache_dir=cache)
    except InputError as exc:  # moov at the end: the container cannot be opened at all
        assert "cut.mp4" in str(exc)
    else:
        assert a.warnings


def test_vocabulary_has_both_languages() -> None:
    vocab = vocabulary()
    assert vocab.tags["hands"].zh and vocab.tags["hands"].en == "hands"


def test_cli_shows_scenes_and_reports_bad_files(tmp_path: Path, footage, phone) -> None:
    from typer.testing import CliRunner

    from adloom.serving.cli import app

    folder = tmp_path / "upload"
    folder.mkdir()
    for src in (footage.product_pan, footage.root / "serum.png", phone["pdf_as_jpg"], phone["audio_only"]):
        (folder / src.name).write_bytes(src.read_bytes())
    (tmp_path / "captions.yaml").write_text("vacuum_pan.mp4: {caption: Robot vacuum past the sofa, role: demo}\n")
    args = ["assets", "analyze", str(folder), "--captions", str(tmp_path / "captions.yaml"),
            "--cache", str(tmp_path / "cache")]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("[") :])
    by_name = {Path(d["path"]).name: d for d in data}
    assert by_name["vacuum_pan.mp4"]["role_hint"] == "demo"
    assert by_name["vacuum_pan.mp4"]["scenes"][0]["description"] == "Robot vacuum past the sofa"
    assert by_name["brochure.jpg"]["error"] == "UnsupportedContentError"
    assert "no video stream" in by_name["voiceover.m4a"]["message"]
    table = CliRunner().invoke(app, [*args, "--lang", "zh"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "纯色背景产品图" in table.output and "2 of 4 files" in table.output


def test_the_clip_length_limit_is_a_setting(tmp_path: Path, footage, monkeypatch: pytest.MonkeyPatch) -> None:
    """``asset_max_hours`` (ADLOOM_ASSET_MAX_HOURS) bounds the clips ``adloom assets analyze`` accepts, and the
    refusal names the setting, not a class of ours."""
    from typer.testing import CliRunner

    from adloom.core.settings import get_settings
    from adloom.serving.cli import app

    monkeypatch.setenv("ADLOOM_ASSET_MAX_HOURS", "0.0005")  # 1.8 s: the 3-s pan is over it
    get_settings.cache_clear()
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / footage.product_pan.name).write_bytes(footage.product_pan.read_bytes())
    result = CliRunner().invoke(app, ["assets", "analyze", str(folder), "--json", "--cache", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout[result.stdout.index("[") :])
    assert "message" in row, row.get("duration_s")
    assert "over the 0.0005 h analysis limit" in row["message"] and "ADLOOM_ASSET_MAX_HOURS" in row["message"]
    assert "AnalysisLimits" not in row["message"]
