"""The quality gate judges real MP4s made by the ffmpeg binary: one good clip and one per kind of defect."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from adloom.core.errors import InputError
from adloom.creative.quality import QualityReport, check_video, probe

SIZE = "320x240"
FPS = 25


def _ffmpeg(out: Path, *args: str) -> Path:
    """Run the static ffmpeg with lavfi sources and return the written file."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args, str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return out


def _video(d: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=s={SIZE}:r={FPS}:d={d}"]


def _tone(d: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=f=440:r=48000:d={d}"]


H264_AAC = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every clip the tests judge, made once per module (each is a few seconds of 320x240)."""
    d = tmp_path_factory.mktemp("quality_clips")
    c: dict[str, Path] = {}
    c["good"] = _ffmpeg(d / "good.mp4", *_video(4), *_tone(4), *H264_AAC)
    c["mpeg4"] = _ffmpeg(d / "mpeg4.mp4", *_video(4), *_tone(4), "-c:v", "mpeg4", "-pix_fmt", "yuv420p", "-c:a", "aac")
    c["long"] = _ffmpeg(d / "long.mp4", *_video(4.5), *_tone(4.5), *H264_AAC)
    c["mute"] = _ffmpeg(d / "mute.mp4", *_video(4), "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p")
    c["silent"] = _ffmpeg(
        d / "silent.mp4", *_video(4), "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "4", *H264_AAC
    )
    c["offset"] = _ffmpeg(d / "offset.mp4", *_video(4), "-itsoffset", "0.2", *_tone(4), *H264_AAC)
    c["black"] = _ffmpeg(
        d / "black.mp4",
        *_video(5),
        *_tone(5),
        "-vf",
        "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,1.5,3.5)'",
        *H264_AAC,
    )
    # frame 25 is repeated 50 more times: a still lasting about 2 s inside a 5 s clip of moving test pattern
    c["frozen"] = _ffmpeg(
        d / "frozen.mp4",
        *_video(5),
        *_tone(5),
        "-vf",
        "trim=end_frame=75,loop=loop=50:size=1:start=25,setpts=N/25/TB",
        *H264_AAC,
    )
    text = d / "notes.txt"
    text.write_text("this is a brief, not a video\n")
    c["text"] = text
    truncated = d / "truncated.mp4"
    data = c["good"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    c["truncated"] = truncated
    return c


def _only_reason(report: QualityReport, word: str) -> str:
    """The report failed, and exactly one reason mentions ``word``; return it."""
    assert not report.passed, report
    hits = [r for r in report.reasons if word in r]
    assert len(hits) == 1, report.reasons
    return hits[0]


def test_good_clip_passes_with_its_measurements(clips: dict[str, Path]) -> None:
    report = check_video(clips["good"], expected_duration_s=4.0, expected_size=(320, 240))
    assert report.passed, report.reasons
    assert report.reasons == []
    m = report.metrics
    assert (m["video_codec"], m["audio_codec"], m["pix_fmt"]) == ("h264", "aac", "yuv420p")
    assert m["duration_s"] == pytest.approx(4.0, abs=0.05)
    assert m["fps"] == pytest.approx(25.0)
    assert (m["width"], m["height"]) == (320.0, 240.0)
    assert abs(float(m["av_offset_s"])) < 1 / 25
    assert m["longest_black_s"] == 0.0
    assert m["longest_freeze_s"] == 0.0
    assert float(m["audio_peak_dbfs"]) > -30.0  # a sine at about half scale


def test_probe_reports_streams_independently(clips: dict[str, Path]) -> None:
    facts = probe(clips["good"])
    assert facts["format"].startswith("mov")
    assert facts["duration_s"] == pytest.approx(4.0, abs=0.05)
    video = [s for s in facts["streams"] if s["type"] == "video"]
    audio = [s for s in facts["streams"] if s["type"] == "audio"]
    assert [s["codec"] for s in video] == ["h264"]
    assert (video[0]["width"], video[0]["height"], video[0]["fps"]) == (320, 240, 25.0)
    assert [s["codec"] for s in audio] == ["aac"]
    assert audio[0]["sample_rate"] == 48000


def test_wrong_codec_is_named(clips: dict[str, Path]) -> None:
    report = check_video(clips["mpeg4"], expected_duration_s=4.0)
    reason = _only_reason(report, "codec")
    assert "mpeg4" in reason and "h264" in reason
    assert report.metrics["video_codec"] == "mpeg4"


def test_duration_off_by_half_a_second_fails(clips: dict[str, Path]) -> None:
    report = check_video(clips["long"], expected_duration_s=4.0)
    reason = _only_reason(report, "duration")
    measured = float(report.metrics["duration_s"])
    assert measured == pytest.approx(4.5, abs=0.05)  # testsrc2 rounds 4.5 s at 25 fps up to whole frames
    assert f"duration {measured:.2f} s" in reason and "4.00 s" in reason and "0.3 s" in reason
    # the same clip is fine against a script of its own length, and a looser tolerance accepts it
    assert check_video(clips["long"], expected_duration_s=4.5).passed
    assert check_video(clips["long"], expected_duration_s=4.0, tolerance_s=0.6).passed


def test_missing_audio_fails(clips: dict[str, Path]) -> None:
    report = check_video(clips["mute"], expected_duration_s=4.0)
    assert "no audio" in _only_reason(report, "audio")
    assert report.metrics["audio_codec"] == "none"


def test_silent_audio_track_fails_unless_allowed(clips: dict[str, Path]) -> None:
    report = check_video(clips["silent"], expected_duration_s=4.0)
    assert "dBFS" in _only_reason(report, "silent")
    assert check_video(clips["silent"], expected_duration_s=4.0, require_sound=False).passed


def test_audio_offset_of_200_ms_fails(clips: dict[str, Path]) -> None:
    report = check_video(clips["offset"], expected_duration_s=4.0)
    reason = _only_reason(report, "audio starts")
    offset = float(report.metrics["av_offset_s"])
    # the demuxer places the first AAC frame (with its 1024 priming samples) up to 21 ms before 0.2 s
    assert 0.17 <= offset <= 0.21
    assert f"{offset:.3f} s after the video" in reason and "0.040 s" in reason


def test_two_seconds_of_black_fail(clips: dict[str, Path]) -> None:
    report = check_video(clips["black"], expected_duration_s=5.0)
    reason = _only_reason(report, "black")
    assert float(report.metrics["longest_black_s"]) == pytest.approx(2.0, abs=0.1)
    assert float(report.metrics["longest_black_start_s"]) == pytest.approx(1.5, abs=0.1)
    assert f"{report.metrics['longest_black_s']:.2f} s" in reason
    assert report.metrics["longest_freeze_s"] == 0.0  # black frames are not counted again as frozen
    assert check_video(clips["black"], expected_duration_s=5.0, allow_black_s=2.5).passed


def test_two_seconds_frozen_fail_unless_the_template_allows_a_still(clips: dict[str, Path]) -> None:
    report = check_video(clips["frozen"], expected_duration_s=5.0)
    reason = _only_reason(report, "frozen")
    still = float(report.metrics["longest_freeze_s"])
    assert still == pytest.approx(2.0, abs=0.1)
    assert f"{still:.2f} s" in reason
    allowed = check_video(clips["frozen"], expected_duration_s=5.0, allow_still_s=3.0)
    assert allowed.passed, allowed.reasons


def test_caption_boxes_must_stay_inside_the_safe_area(clips: dict[str, Path]) -> None:
    safe = (16, 24, 288, 192)
    inside = {"kind": "subtitle", "t0": 0.5, "t1": 2.0, "x": 20, "y": 180, "w": 280, "h": 30}
    outside = {"kind": "cta", "t0": 3.0, "t1": 4.0, "x": 20, "y": 200, "w": 280, "h": 30}  # bottom at 230 > 216
    assert check_video(clips["good"], expected_duration_s=4.0, caption_boxes=[inside], safe_area=safe).passed
    report = check_video(clips["good"], expected_duration_s=4.0, caption_boxes=[inside, outside], safe_area=safe)
    reason = _only_reason(report, "caption box")
    assert "caption box 1 (cta" in reason and "y=200" in reason and "safe area" in reason
    # without a safe area the frame itself is the limit
    off_frame = dict(outside, x=100, w=300)
    report = check_video(clips["good"], expected_duration_s=4.0, caption_boxes=[off_frame])
    assert "frame" in _only_reason(report, "caption box")


def test_frame_size_must_match_the_template(clips: dict[str, Path]) -> None:
    report = check_video(clips["good"], expected_duration_s=4.0, expected_size=(720, 1280))
    assert "320x240" in _only_reason(report, "frame size")


@pytest.mark.parametrize("name", ["text", "truncated"])
def test_unreadable_files_fail_cleanly(clips: dict[str, Path], name: str) -> None:
    report = check_video(clips[name], expected_duration_s=4.0)
    assert not report.passed
    assert len(report.reasons) == 1 and str(clips[name]) in report.reasons[0]


def test_folder_fails_cleanly(tmp_path: Path) -> None:
    report = check_video(tmp_path, expected_duration_s=4.0)
    assert not report.passed and "could not be read" in report.reasons[0]


def test_missing_path_and_bad_arguments_raise(clips: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        check_video(tmp_path / "nope.mp4", expected_duration_s=4.0)
    with pytest.raises(InputError, match="does not exist"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="expected_duration_s"):
        check_video(clips["good"], expected_duration_s=0)
    with pytest.raises(InputError, match=r"caption_boxes\[0\]"):
        check_video(clips["good"], expected_duration_s=4.0, caption_boxes=[{"kind": "subtitle", "x": 1}])
