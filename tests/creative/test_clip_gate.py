"""The generated-clip gate on synthetic clips: a clean one (a textured object moving smoothly over a background,
with grain) and one per defect, each made by changing only that property of the clean clip; plus the
regenerate loop driven by a seeded fake generator.

Each defect must be flagged by its own check and by no other, so every test compares the *set of checks* that
fired (the word before the colon of each reason) with the one expected.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from adloom.core.errors import GenerationError, InputError, UnsupportedContentError
from adloom.creative.quality.clips import (
    Attempt,
    ClipGateConfig,
    ClipVerdict,
    GateOutcome,
    check_clip,
    generate_until_ok,
)

F, H, W = 25, 240, 416
RED = ((200.0, 80.0, -30.0), (50.0, 40.0, 70.0))  # object colour = a * texture + b, per channel
TEAL = ((30.0, 40.0, 60.0), (60.0, 160.0, 120.0))


def _gauss(img: np.ndarray, sigma: float, axes: tuple[int, int]) -> np.ndarray:
    """Gaussian blur over two adjacent ``axes`` (wrapping at the edges), by multiplying in the Fourier domain."""
    a0, a1 = axes
    fy = np.fft.fftfreq(img.shape[a0])[:, None]
    fx = np.fft.rfftfreq(img.shape[a1])[None, :]
    gain = np.exp(-2 * (np.pi * sigma) ** 2 * (fy**2 + fx**2))
    gain = gain.reshape(gain.shape + (1,) * (img.ndim - a1 - 1))
    spec = np.fft.rfft2(img.astype(np.float32), axes=axes)
    return np.fft.irfft2(spec * gain, s=(img.shape[a0], img.shape[a1]), axes=axes).astype(np.float32)


def scene(
    seed: int = 0,
    *,
    frames: int = F,
    speed: float = 2.0,
    zoom: float = 0.0,
    textured_bg: bool = False,
    colours: tuple = RED,
    grain: float = 2.0,
    height: int = H,
    width: int = W,
) -> np.ndarray:
    """A textured disc moving right along a gentle wave over a coloured gradient, with fresh grain per frame.

    Returns float32 (frames, height, width, 3) so defects can be applied before :func:`u8`.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    bg = np.stack([60 + 80 * yy / height, 70 + 60 * yy / height + 20 * np.sin(xx / 40), 110 + 40 * xx / width], axis=-1)
    if textured_bg:
        bg = bg + _gauss(rng.normal(0, 40, (height, width, 1)), 3, (0, 1))
    radius = 0.18 * height
    tex = _gauss(rng.uniform(0, 1, (64, 64)), 1.5, (0, 1))
    tex = (tex - tex.min()) / (tex.max() - tex.min())
    (ar, ag, ab), (br, bgc, bb) = colours
    out = np.empty((frames, height, width, 3), np.float32)
    for t in range(frames):
        cx = width * 0.35 + speed * t * height / 240
        cy = height * 0.5 + 10 * np.sin(t / 6) * height / 240
        s = 1 + zoom * t / frames
        dx, dy = (xx - cx) / s, (yy - cy) / s
        inside = (dx**2 + dy**2) < radius**2
        tv = tex[((dy / radius + 1) * 31.5).clip(0, 63).astype(int), ((dx / radius + 1) * 31.5).clip(0, 63).astype(int)]
        obj = np.stack([ar * tv + br, ag * tv + bgc, ab * tv + bb], axis=-1)
        out[t] = np.where(inside[..., None], obj, bg) + rng.normal(0, grain, (height, width, 3))
    return out


def u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def checks(verdict: ClipVerdict) -> set[str]:
    """The names of the checks that failed: the word before the colon of each reason."""
    return {r.split(":", 1)[0] for r in verdict.reasons}


def only(verdict: ClipVerdict, check: str) -> str:
    """The verdict failed on ``check`` alone, with one reason; return it."""
    assert not verdict.passed
    assert checks(verdict) == {check}, verdict.reasons
    assert len(verdict.reasons) == 1, verdict.reasons
    return verdict.reasons[0]


@pytest.fixture(scope="module")
def base() -> np.ndarray:
    return scene(0)


@pytest.fixture(scope="module")
def teal() -> np.ndarray:
    """The clean clip's scene with another object: same motion, other colours and texture contrast."""
    return scene(0, colours=TEAL)


# --- the clean clip and legitimate changes pass ------------------------------------------------------------


def test_clean_moving_object_passes(base: np.ndarray) -> None:
    v = check_clip(u8(base))
    assert v.passed, v.reasons
    assert v.reasons == [] and v.severity == 0.0 and v.frames == F
    m = v.metrics
    assert m["flicker_brightness_max_jump"] < 1 and m["flicker_colour_max_jump"] < 1
    assert m["longest_still_run_frames"] == 0
    assert float(m["blur_max"]) < 0.3 and float(m["subject_structure_min"]) > 0.9
    assert float(m["subject_colour_min"]) > 0.95 and 100 < float(m["mean_luma_min"]) < 110
    assert {len(v.series[k]) for k in ("mean_luma", "blur", "colour")} == {F}
    assert {len(v.series[k]) for k in ("flicker", "colour_flicker", "structure")} == {F - 1}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"speed": 6.0, "textured_bg": True},  # fast motion over a busy background
        {"zoom": 0.8, "textured_bg": True},  # a push-in: the subject grows by 80 %
        {"grain": 5.0},  # heavy grain: not flicker, not detail hiding blur, not a change of subject
    ],
    ids=["fast-over-texture", "push-in", "grainy"],
)
def test_legitimate_motion_passes(kwargs: dict) -> None:
    v = check_clip(u8(scene(1, **kwargs)))
    assert v.passed, v.reasons


def test_a_steady_fade_is_not_flicker(base: np.ndarray) -> None:
    fade = base * np.linspace(1.0, 0.45, F, dtype=np.float32)[:, None, None, None]
    v = check_clip(u8(fade))
    assert v.passed, v.reasons
    assert v.metrics["mean_luma_min"] < 50  # the fade really darkened the clip by more than half


# --- each defect is flagged by its own check, and only by it -----------------------------------------------


def test_brightness_pop_is_flicker(base: np.ndarray) -> None:
    x = base.copy()
    x[7:] += 38
    reason = only(check_clip(u8(x)), "flicker")
    assert "brightness jumps +38 levels between frames 6 and 7" in reason and "limit 10" in reason


def test_brightness_wavering_is_flicker(base: np.ndarray) -> None:
    x = base.copy()
    x[1::2] += 6  # every other frame 6 levels brighter: no single big jump, but sustained temporal energy
    reason = only(check_clip(u8(x)), "flicker")
    assert "brightness wavers" in reason and "RMS" in reason and "limit 1.5" in reason


def test_white_balance_pop_is_colour_flicker(base: np.ndarray) -> None:
    x = base.copy()
    x[10:, ..., 0] += 14  # warmer from frame 10 on: red up, blue down, brightness nearly unchanged
    x[10:, ..., 2] -= 14
    reason = only(check_clip(u8(x)), "flicker")
    assert "colour jumps" in reason and "frames 9 and 10" in reason


def test_colour_wavering_is_colour_flicker(base: np.ndarray) -> None:
    x = base.copy()
    x[1::2, ..., 1] += 5  # every other frame greener, the others unchanged
    x[1::2, ..., 0] -= 5
    reason = only(check_clip(u8(x)), "flicker")
    assert "colour wavers" in reason


def test_chunk_seams_every_four_frames_are_flicker(base: np.ndarray) -> None:
    x = base.copy()
    for a in range(4, F, 8):
        x[a : a + 4] += 5  # alternate 4-frame chunks 5 levels brighter, as a temporally tiled VAE decode may do
    assert checks(check_clip(u8(x))) == {"flicker"}


def test_frozen_run_is_named(base: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    x = base.copy()
    for t in range(13, 21):  # frames 13–20 repeat frame 12, each with fresh grain (not bit-identical)
        x[t] = base[12] + rng.normal(0, 2.0, base[12].shape)
    reason = only(check_clip(u8(x)), "frozen")
    assert "frames 12–20" in reason and "9 frames; at most 4 allowed, 0.3 s at an assumed 16 fps" in reason


def test_short_hold_is_allowed_and_limit_is_a_knob(base: np.ndarray) -> None:
    x = base.copy()
    x[11:14] = base[10]  # 4 frames showing one picture: 0.25 s at 16 fps, under the default 0.3 s
    assert check_clip(u8(x)).passed
    assert "frames 10–13" in only(check_clip(u8(x), fps=8), "frozen")  # 0.5 s at 8 fps
    strict = check_clip(u8(x), config=ClipGateConfig(frozen_max_s=0.2))
    assert "frames 10–13" in only(strict, "frozen")


def test_defocused_clip_is_blur(base: np.ndarray) -> None:
    x = _gauss(base, 4.0, (1, 2))
    reason = only(check_clip(u8(x)), "blur")
    assert f"frames 0–{F - 1}" in reason and "limit 0.6" in reason


def test_blurred_stretch_is_located(base: np.ndarray) -> None:
    x = base.copy()
    x[10:21] = _gauss(base[10:21], 4.0, (1, 2))
    reason = only(check_clip(u8(x)), "blur")
    assert "frames 10–20" in reason


def test_underexposed_clip(base: np.ndarray) -> None:
    reason = only(check_clip(u8(base * 0.2)), "exposure")
    assert "underexposed" in reason and f"frames 0–{F - 1}" in reason


def test_overexposed_clip_reports_level_and_clipping(base: np.ndarray) -> None:
    v = check_clip(u8(base * 2.2 + 30))
    assert checks(v) == {"exposure"}
    text = " ".join(v.reasons)
    assert "overexposed" in text and "clipped to white" in text


def test_crushed_shadows(base: np.ndarray) -> None:
    x = base.copy()
    x[:, : int(H * 0.45)] = 0  # the top 45 % of every frame crushed to black; the mean stays above the limit
    assert "crushed to black" in only(check_clip(u8(x)), "exposure")


def test_subject_box_can_be_given(base: np.ndarray) -> None:
    v = check_clip(u8(base), config=ClipGateConfig(subject_box=(0.25, 0.25, 0.5, 0.5)))
    assert v.passed and v.metrics["subject_box"] == "x=52 y=30 w=104 h=60 of 208x120 analysis pixels"
    found = check_clip(u8(base)).metrics["subject_box"]  # the salient region: about the disc, 43 px across
    assert found != v.metrics["subject_box"] and "w=42 h=42" in str(found)


def test_subject_swapped_mid_clip(base: np.ndarray, teal: np.ndarray) -> None:
    x = base.copy()
    x[16:] = teal[16:]  # from frame 16 the disc is another object: other colours, other texture contrast
    v = check_clip(u8(x))
    assert checks(v) == {"subject"}, v.reasons
    assert any("abruptly at frame 16" in r for r in v.reasons)


def test_subject_colour_drift(base: np.ndarray, teal: np.ndarray) -> None:
    w = np.clip((np.arange(F) - 8) / (F - 9), 0, 1).astype(np.float32)[:, None, None, None]
    x = base * (1 - w) + teal * w  # the object slides from red to teal from frame 8 to the end, no single jump
    reason = only(check_clip(u8(x)), "subject")
    assert "colours drift from frame 0" in reason
    assert "abruptly" not in reason


def test_severity_grows_with_defects(base: np.ndarray) -> None:
    x = _gauss(base, 4.0, (1, 2))
    one = check_clip(u8(x))
    x[13:21] = x[12]
    two = check_clip(u8(x))
    assert checks(one) == {"blur"} and checks(two) == {"blur", "frozen"}
    assert 1.0 < one.severity < two.severity


def test_blur_is_not_judged_on_nearly_flat_frames(base: np.ndarray) -> None:
    v = check_clip(u8(base * 0.2))  # RMS contrast about 5 levels: 8-bit steps are as big as the edges
    assert checks(v) == {"exposure"} and v.metrics["blur_unjudged_frames"] == F


# --- video files --------------------------------------------------------------------------------------------


def _encode(frames: np.ndarray, out: Path, fps: int = 16) -> Path:
    n, h, w, _ = frames.shape
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18",
        "-pix_fmt", "yuv420p", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, input=frames.tobytes(), check=True, capture_output=True, timeout=60)
    return out


def test_mp4_clips_are_decoded_and_times_reported(base: np.ndarray, tmp_path: Path) -> None:
    good = _encode(u8(base), tmp_path / "good.mp4")
    v = check_clip(good)
    assert v.passed, v.reasons
    assert v.metrics["fps"] == 16 and v.frames == F and (v.metrics["width"], v.metrics["height"]) == (W, H)
    x = base.copy()
    x[13:21] = base[12]
    frozen = _encode(u8(x), tmp_path / "frozen.mp4")
    reason = only(check_clip(str(frozen)), "frozen")
    assert "frames 12–20 (0.75–1.31 s)" in reason


def _lavfi(out: Path, vf: str | None) -> Path:
    """33 frames of ffmpeg's Mandelbrot zoom (dense detail, smooth motion) at 416x240, 16 fps, through ``vf``."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "mandelbrot=s=416x240:rate=16"]
    cmd += ["-frames:v", "33", *(["-vf", vf] if vf else [])]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return out


@pytest.mark.parametrize(
    ("vf", "check", "words"),
    [
        (None, None, ""),
        ("gblur=sigma=4", "blur", "frames 0–32"),
        # the loop filter shows source frame 11 nine times (checked by frame differences: 11–19 are one picture)
        ("trim=end_frame=25,loop=loop=8:size=1:start=12,setpts=N/16/TB", "frozen", "frames 11–19 (0.69–1.25 s)"),
        ("eq=brightness=0.15*gte(n\\,7):eval=frame", "flicker", "between frames 6 and 7"),
        ("eq=brightness=-0.4:contrast=0.5", "exposure", "underexposed"),
    ],
    ids=["clean", "gblur", "loop", "eq-pop", "eq-dark"],
)
def test_ffmpeg_made_clips(tmp_path: Path, vf: str | None, check: str | None, words: str) -> None:
    """The same checks on clips made by ffmpeg's own sources and filters, through a real encode."""
    v = check_clip(_lavfi(tmp_path / "clip.mp4", vf))
    if check is None:
        assert v.passed, v.reasons
    else:
        assert words in only(v, check)


def test_large_frames_are_judged_like_small_ones(tmp_path: Path) -> None:
    big = scene(2, frames=5, height=480, width=832)
    assert check_clip(u8(big)).passed
    assert checks(check_clip(u8(_gauss(big, 8.0, (1, 2))))) == {"blur"}  # the same relative blur as 4 px at 240


def test_4k_frames_are_averaged_without_overflow() -> None:
    x = np.full((2, 2160, 3840, 3), 200, np.uint8)  # 9x9 then 2x2 blocks: sums far beyond uint16's range
    x[:, :, :, 2] = 120
    v = check_clip(x)
    assert v.metrics["mean_luma_min"] == pytest.approx(0.299 * 200 + 0.587 * 200 + 0.114 * 120, abs=0.1)
    assert v.metrics["blur_unjudged_frames"] == 2  # a flat frame has no edges to judge


# --- errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clip", "words"),
    [
        (np.zeros((5, 32, 32, 3), np.float32), "uint8"),
        (np.zeros((5, 3, 32, 32), np.uint8), "(F, H, W, 3)"),
        (np.zeros((1, 32, 32, 3), np.uint8), "at least 2 frames"),
        ([[0]], "got list"),
    ],
)
def test_bad_frames_are_input_errors(clip: object, words: str) -> None:
    with pytest.raises(InputError, match="clip") as err:
        check_clip(clip)  # type: ignore[arg-type]
    assert words in str(err.value)


def test_bad_fps_is_input_error(base: np.ndarray) -> None:
    with pytest.raises(InputError, match="fps"):
        check_clip(u8(base[:3]), fps=0)


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        check_clip(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    with pytest.raises(UnsupportedContentError, match="notes.mp4"):
        check_clip(text)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"blur_max_index": -1.0},
        {"frozen_max_s": -0.1},
        {"default_fps": 0.0},
        {"min_defect_frames": 1.5},
        {"subject_box": (0.5, 0.5, 0.6, 0.2)},
        {"min_mean_luma": 200.0, "max_mean_luma": 100.0},
        {"flicker_max_jump": float("nan")},
    ],
)
def test_bad_config_is_input_error(kwargs: dict) -> None:
    with pytest.raises(InputError):
        ClipGateConfig(**kwargs)


# --- regenerate until a clip passes ---------------------------------------------------------------------------


SMALL = {"frames": 17, "height": 120, "width": 208}


class FakeGenerator:
    """A seeded stand-in for the video model: ``defects[seed]`` names what goes wrong for that seed.

    It is what the gate is given, not what is tested; it records the seeds it was called with.
    """

    def __init__(self, defects: dict[int, tuple[str, ...]]) -> None:
        self.defects = defects
        self.calls: list[int] = []

    def __call__(self, seed: int) -> np.ndarray:
        self.calls.append(seed)
        x = scene(seed, **SMALL)
        for d in self.defects.get(seed, ()):
            if d == "dark":
                x = x * 0.2
            elif d == "frozen":
                x[4:14] = x[3]
            elif d == "blur":
                x = _gauss(x, 3.0, (1, 2))
        return u8(x)


def test_regenerates_until_a_clip_passes() -> None:
    gen = FakeGenerator({10: ("frozen",), 11: ("dark", "frozen")})
    seen: list[Attempt] = []
    out = generate_until_ok(gen, first_seed=10, max_attempts=5, on_attempt=seen.append)
    assert isinstance(out, GateOutcome)
    assert out.passed and out.seed == 12 and gen.calls == [10, 11, 12]
    assert [a.seed for a in out.attempts] == [10, 11, 12] and seen == out.attempts
    assert checks(out.attempts[0].verdict) == {"frozen"}
    assert checks(out.attempts[1].verdict) == {"exposure", "frozen"}
    np.testing.assert_array_equal(out.clip, gen(12))
    summary = out.summary()
    assert "passed the gate with seed 12 (attempt 3 of 3)" in summary and "frozen:" in summary


def test_gives_up_after_max_attempts_and_keeps_the_least_bad() -> None:
    gen = FakeGenerator({s: ("dark", "frozen") for s in range(20)} | {3: ("blur",)})
    out = generate_until_ok(gen, first_seed=2, max_attempts=3)
    assert gen.calls == [2, 3, 4]  # exactly max_attempts calls
    assert not out.passed and out.seed == 3  # one defect beats two
    assert out.verdict is out.attempts[1].verdict and not out.verdict.passed
    summary = out.summary()
    assert summary.startswith("no clip passed the gate in 3 attempts; kept the least bad, seed 3")
    assert summary.count("failed:") == 3 and "underexposed" in summary and "frozen:" in summary and "blur:" in summary


def test_seed_stride_spaces_the_retries() -> None:
    gen = FakeGenerator({s: ("frozen",) for s in range(0, 3000, 1000)})
    out = generate_until_ok(gen, first_seed=0, max_attempts=3, seed_stride=1000)
    assert gen.calls == [0, 1000, 2000] and not out.passed and out.seed == 0  # equal severities: the earliest


def test_first_clip_passing_stops_the_loop() -> None:
    gen = FakeGenerator({})
    out = generate_until_ok(gen, first_seed=7, max_attempts=4)
    assert out.passed and gen.calls == [7] and len(out.attempts) == 1


def test_generator_may_return_video_paths(tmp_path: Path) -> None:
    gen = FakeGenerator({0: ("frozen",)})

    def to_file(seed: int) -> Path:
        return _encode(gen(seed), tmp_path / f"seed{seed}.mp4")

    out = generate_until_ok(to_file, first_seed=0, max_attempts=2)
    assert out.passed and out.clip == tmp_path / "seed1.mp4"
    assert "frozen" in checks(out.attempts[0].verdict) and "s)" in out.attempts[0].verdict.reasons[0]


def test_loop_errors() -> None:
    with pytest.raises(InputError, match="max_attempts"):
        generate_until_ok(FakeGenerator({}), first_seed=0, max_attempts=0)
    with pytest.raises(InputError, match="fps"):  # the caller's mistake, raised before anything is generated
        generate_until_ok(FakeGenerator({}), first_seed=0, max_attempts=2, fps=float("nan"))
    with pytest.raises(InputError, match="seed_stride"):
        generate_until_ok(FakeGenerator({}), first_seed=0, max_attempts=2, seed_stride=0)
    with pytest.raises(InputError, match="first_seed"):
        generate_until_ok(FakeGenerator({}), first_seed="1", max_attempts=1)  # type: ignore[arg-type]
    with pytest.raises(GenerationError, match=r"generate\(seed=4\)"):
        generate_until_ok(lambda s: np.zeros((3, 8, 8), np.uint8), first_seed=4, max_attempts=2)

    def broken(seed: int) -> np.ndarray:
        raise GenerationError(f"out of memory at seed {seed}")

    with pytest.raises(GenerationError, match="seed 9"):  # the generator's own errors pass through unchanged
        generate_until_ok(broken, first_seed=9, max_attempts=2)


def test_tracker_score_matches_a_brute_force_ssim_search() -> None:
    """The FFT template match returns the same position and score as scoring every window directly."""
    from adloom.creative.quality.clips import _SSIM_C2, _match

    rng = np.random.default_rng(1)
    frame = rng.normal(100, 30, (60, 90))
    template = frame[20:40, 30:55] + rng.normal(0, 2, (20, 25))
    pos, score = _match(template, frame, (22, 28), (6, 8))
    t0 = template - template.mean()
    best = max(
        (
            (2 * (t0 * (w - w.mean())).mean() + _SSIM_C2) / ((t0 * t0).mean() + w.var() + _SSIM_C2),
            (i, j),
        )
        for i in range(16, 29)
        for j in range(20, 37)
        for w in [frame[i : i + 20, j : j + 25]]
    )
    assert pos == best[1] == (20, 30)
    assert score == pytest.approx(best[0], abs=1e-9)
