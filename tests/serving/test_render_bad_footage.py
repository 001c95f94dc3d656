"""``adloom render`` end to end with bad footage in the brief (issue: bad input): a 2-hour clip, a clip with no
video stream, a variable-frame-rate phone clip, a rotated phone clip, a corrupt file, a 1x1 image. Each is a clear
result, never a crash: the render goes on without an asset analysis cannot use and says which and why, a clip it can
use is shown the right way up, and content that is no media at all is refused naming the file.

The real CLI (typer's CliRunner on ``adloom.serving.cli.app``), the template writer, espeak, one creative per case at
720p of an 8-second brief; the bad files are made once per module with ffmpeg (a few seconds)."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner, Result

from adloom.creative.compose.media import ffmpeg_exe
from adloom.scripts_gen.writer import ScriptWriter
from adloom.serving import cli

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
GOOD = {"kind": "image", "path": "robot_vacuum.png", "description": "BreezeBot S2 on a wooden floor", "role": "feature"}


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder holding the good photo and every bad file (the briefs sit beside them)."""
    root = tmp_path_factory.mktemp("bad-footage")
    shutil.copy(SAMPLES / "images" / "robot_vacuum.png", root / "robot_vacuum.png")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    # 2 h at one frame per 2 s, 64x64: made in a second or two, analysed streaming in a few
    _ff("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=1/2", "-t", "7200", *x264, "-g", "30",
        str(root / "two_hours.mp4"))  # fmt: skip
    _ff("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(root / "voiceover.mp4"))
    _ff("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "6", "-vf",
        "select='lt(t\\,2)+not(mod(n\\,3))'", "-fps_mode", "vfr", *x264, str(root / "phone_vfr.mp4"))  # fmt: skip
    # Portrait content (white band on top, a pattern moving below), stored the way phones do: frames turned to
    # landscape, a display matrix turning them back (-display_rotation is counter-clockwise).
    _ff("-f", "lavfi", "-i", "color=c=0x202020:size=360x640:rate=25", "-f", "lavfi", "-i",
        "testsrc2=size=160x160:rate=25", "-filter_complex",
        "[0][1]overlay=x='mod(t*80\\,200)':y=400:shortest=1,drawbox=x=0:y=0:w=iw:h=200:color=white:t=fill,"
        "transpose=2", "-t", "6", *x264, str(root / "_stored.mp4"))  # fmt: skip
    _ff("-display_rotation", "-90", "-i", str(root / "_stored.mp4"), "-c", "copy", str(root / "phone_rotated.mp4"))
    whole = (root / "phone_vfr.mp4").read_bytes()
    (root / "upload_cut_short.mp4").write_bytes(whole[: len(whole) // 2])  # an interrupted upload
    (root / "garbage.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    cv2.imwrite(str(root / "pixel.png"), np.zeros((1, 1, 3), np.uint8))
    return root


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADLOOM_EMBEDDER", "hashing")
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "espeak")
    monkeypatch.setattr(cli, "_writer", lambda *a, **k: ScriptWriter(None))  # the template writer, no LLM


def _render(bad: Path, tmp_path: Path, asset: dict[str, Any]) -> tuple[Result, Path]:
    data = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text(encoding="utf-8"))
    data["duration_s"] = 8
    data["assets"] = [GOOD, asset]
    brief = bad / f"brief_{tmp_path.name}.yaml"
    brief.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    args = ["render", "--brief", str(brief), "-n", "1", "--height", "720", "--workers", "1", "--out", str(out)]
    result = CliRunner().invoke(cli.app, args, env={"COLUMNS": "200"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output  # never a crash
    return result, out


def _delivered(result: Result, out: Path) -> dict[str, Any]:
    """The one creative's result; it was delivered (passed the gate), with its video and manifest."""
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file() and "1/1 delivered" in result.output, result.output
    (folder,) = out.glob("crv_*")
    done = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert done["quality"]["passed"], done["quality"]
    assert Path(done["video"]).is_file() and Path(done["manifest"]).is_file()
    manifest: dict[str, Any] = json.loads(Path(done["manifest"]).read_text(encoding="utf-8"))
    return done | {"manifest_data": manifest}


def _skipped(result: Result, out: Path, name: str, words: str) -> None:
    """The render went on without ``name`` and a yellow line told the user which asset and why."""
    done = _delivered(result, out)
    line = next((x for x in result.output.splitlines() if f"asset {name} not used:" in x), None)
    assert line is not None and words in line and line.startswith("warning:"), result.output
    assert result.output.index(line) < result.output.index("embedding the creative library"), "told before the work"
    assert json.loads((out / "footage.json").read_text())["skipped"][0].startswith(f"asset {name} not used: ")
    assert not any(p and p["asset"] == name for p in done["manifest_data"].get("footage") or [])
    assert not any(s.get("media") and Path(s["media"]).name == name for s in done["manifest_data"]["shots"])


def test_two_hour_clip_is_analysed_streaming_and_the_render_goes_on(bad: Path, tmp_path: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result, out = _render(bad, tmp_path, {"kind": "video", "path": "two_hours.mp4", "description": "test pattern"})
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    _delivered(result, out)
    assert "warning:" not in result.output, result.output
    assert json.loads((out / "footage.json").read_text())["used"] == ["robot_vacuum.png", "two_hours.mp4"]
    assert grown_mb < 400, grown_mb  # the analysis (in this process) streamed the frames, never held them


def test_a_clip_with_no_video_stream_is_skipped_with_a_line_naming_it(bad: Path, tmp_path: Path) -> None:
    result, out = _render(bad, tmp_path, {"kind": "video", "path": "voiceover.mp4"})
    _skipped(result, out, "voiceover.mp4", "has no video stream (audio only); upload it as music/voice-over")


def test_a_variable_frame_rate_phone_clip_renders(bad: Path, tmp_path: Path) -> None:
    result, out = _render(bad, tmp_path, {"kind": "video", "path": "phone_vfr.mp4", "description": "test pattern"})
    _delivered(result, out)
    assert "warning:" not in result.output, result.output


def test_a_rotated_phone_clip_is_shown_upright(bad: Path, tmp_path: Path) -> None:
    asset = {"kind": "video", "path": "phone_rotated.mp4", "role": "demo",
             "description": "BreezeBot S2 robot vacuum cleaning under the sofa, filmed on a phone"}  # fmt: skip
    result, out = _render(bad, tmp_path, asset)
    done = _delivered(result, out)
    manifest = done["manifest_data"]
    shot = next(i for i, p in enumerate(manifest["footage"]) if p and p["asset"] == "phone_rotated.mp4")
    span = manifest["shots"][shot]
    frame = tmp_path / "frame.png"
    _ff("-ss", f"{(span['start_s'] + span['end_s']) / 2:.2f}", "-i", done["video"], "-frames:v", "1", str(frame))
    img = cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2GRAY).astype(float)
    h, w = img.shape
    assert h > w
    top, bottom = img[int(0.1 * h) : int(0.25 * h)].mean(), img[int(0.45 * h) : int(0.6 * h)].mean()
    assert top > bottom + 60, (top, bottom)  # the white band is on top, as the phone showed it


def test_a_truncated_clip_is_skipped_with_a_line_naming_it(bad: Path, tmp_path: Path) -> None:
    result, out = _render(bad, tmp_path, {"kind": "video", "path": "upload_cut_short.mp4"})
    _skipped(result, out, "upload_cut_short.mp4", "re-export or re-upload it")


def test_random_bytes_named_mp4_are_refused_naming_the_file(bad: Path, tmp_path: Path) -> None:
    result, out = _render(bad, tmp_path, {"kind": "video", "path": "garbage.mp4"})
    assert result.exit_code != 0
    assert "error:" in result.output and "garbage.mp4: content is not a recognised media file" in result.output
    assert "expected video" in result.output and not list(out.glob("crv_*"))


def test_a_one_pixel_image_is_skipped_not_stretched_into_a_shot(bad: Path, tmp_path: Path) -> None:
    result, out = _render(bad, tmp_path, {"kind": "image", "path": "pixel.png"})
    _skipped(result, out, "pixel.png", "image is only 1x1 px")


def test_assets_over_the_length_limit_or_all_bad_leave_no_media_to_stretch(bad: Path, tmp_path: Path) -> None:
    """Without a render (fast): a clip over the 3 h analysis limit is refused by the limit, and when no asset can be
    used the renderer gets no media at all (designed backdrops), never the bad files in turn."""
    from adloom.core.types import Brief
    from adloom.serving.render_pipeline import analyze_media, normalise_images, resolve_assets

    _ff("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=1/4", "-t", str(3.5 * 3600), "-c:v", "libx264", "-preset",
        "ultrafast", "-g", "30", str(tmp_path / "three_and_a_half_hours.mp4"))  # fmt: skip
    shutil.copy(bad / "pixel.png", tmp_path / "pixel.png")
    data = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text(encoding="utf-8"))
    data["assets"] = [{"kind": "video", "path": "three_and_a_half_hours.mp4"}, {"kind": "image", "path": "pixel.png"}]
    brief = Brief.model_validate(data)
    media = [str(p) for p in normalise_images(resolve_assets(brief, tmp_path), tmp_path / "work")]
    seen: list[str] = []
    found = analyze_media(brief, media, tmp_path / "cache", lambda done, total, what: seen.append(what))
    assert found.media == [] and found.footage == [] and found.used == []
    assert found.skipped == [
        "asset three_and_a_half_hours.mp4 not used: clip is 3.5 h long, over the 3 h analysis limit; trim it to "
        "the parts you want in ads (ffmpeg -ss START -t LENGTH -i IN -c copy OUT), or raise the limit (setting "
        "asset_max_hours, env ADLOOM_ASSET_MAX_HOURS)",
        "asset pixel.png not used: image is only 1x1 px (a tracking pixel or a placeholder?); use a real photo at "
        "least 16 px on each side (1080 px or more looks good in an ad)",
    ]
    assert "analysing footage: three_and_a_half_hours.mp4" in seen and "analysing footage: pixel.png" in seen
