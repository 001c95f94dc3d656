"""`adloom video generate` and `adloom video storyboard` end to end on a tiny saved Wan model (CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from adloom.serving.cli import app

runner = CliRunner()
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adloom.creative.video.models import build_tiny

    return build_tiny("wan", seed=0).save_pretrained(tmp_path_factory.mktemp("wan_tiny"))


@pytest.fixture(scope="module")
def product_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("img") / "product.png"
    Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(path)
    return path


def _gen(model_dir: Path, out: Path, *extra: str):
    args = ["video", "generate", "--model", str(model_dir), "--prompt", "a red mug on a desk", "--width", "16",
            "--height", "16", "--frames", "9", "--steps", "2", "--seed", "1", "--device", "cpu",
            "--out", str(out)]  # fmt: skip
    return runner.invoke(app, [*args, *extra])


def test_generate_text_to_video(model_dir: Path, tmp_path: Path) -> None:
    from adloom.creative.video.io import read_video

    res = _gen(model_dir, tmp_path / "clip.mp4")
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and "wan: 9 frames" in res.output
    frames, fps = read_video(tmp_path / "clip.mp4")
    assert frames.shape == (9, 16, 16, 3) and fps == 16
    again = _gen(model_dir, tmp_path / "again.mp4")
    assert again.exit_code == 0 and np.array_equal(read_video(tmp_path / "again.mp4")[0], frames)


def test_generate_modes(model_dir: Path, product_png: Path, tmp_path: Path) -> None:
    from adloom.creative.video.io import read_video

    res = _gen(model_dir, tmp_path / "i2v.mp4", "--image", str(product_png), "--camera", "push_in:0.5",
               "--cache", "0.1", "--last-image", str(product_png))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "first latent frame anchored" in res.output and "pushes in" in res.output
    ext = _gen(model_dir, tmp_path / "longer.mp4", "--extend", str(tmp_path / "i2v.mp4"))
    assert ext.exit_code == 0, ext.output
    assert read_video(tmp_path / "longer.mp4")[0].shape[0] == 9 + 9 - 5
    two = _gen(model_dir, tmp_path / "b.mp4", "--prompt", "a blue bottle")
    assert two.exit_code == 0, two.output
    assert (tmp_path / "b_0.mp4").is_file() and (tmp_path / "b_1.mp4").is_file()


def test_generate_errors(model_dir: Path, tmp_path: Path) -> None:
    res = _gen(tmp_path / "nope", tmp_path / "x.mp4")
    assert res.exit_code == 2 and "does not exist" in res.output
    res = _gen(model_dir, tmp_path / "x.mp4", "--width", "20")
    assert res.exit_code == 2 and "nearest valid width is 16" in res.output
    res = _gen(model_dir, tmp_path / "x.mp4", "--frames", "12")
    assert res.exit_code == 2 and "nearest valid count is 13" in res.output
    (tmp_path / "fake.png").write_text("not an image")
    res = _gen(model_dir, tmp_path / "x.mp4", "--image", str(tmp_path / "fake.png"))
    assert res.exit_code == 2 and "expected image" in res.output
    if not torch.cuda.is_available():
        res = runner.invoke(app, ["video", "generate", "--model", str(model_dir), "--prompt", "x", "--device", "cuda",
                                  "--out", str(tmp_path / "x.mp4")])  # fmt: skip
        assert res.exit_code == 2 and "no usable CUDA GPU" in res.output
        res = _gen(model_dir, tmp_path / "x.mp4", "--compile")
        assert res.exit_code == 2 and "compile" in res.output
    assert not (tmp_path / "x.mp4").exists()


def test_storyboard_command(model_dir: Path, product_png: Path, tmp_path: Path) -> None:
    board = {
        "script_id": "scr_cli",
        "aspect": "1:1",
        "subject_sheet": {"product": "a red mug"},
        "shots": [
            {"index": 0, "role": "hook", "duration_s": 0.5, "visual": "a red mug on a desk", "caption": "Hi"},
            {"index": 1, "role": "cta", "duration_s": 0.5, "visual": "the mug close up"},
        ],
    }
    path = tmp_path / "board.json"
    path.write_text(json.dumps(board))
    res = runner.invoke(app, ["video", "storyboard", "--model", str(model_dir), "--storyboard", str(path),
                              "--out", str(tmp_path / "shots"), "--image", str(product_png), "--width", "16",
                              "--height", "16", "--steps", "2", "--max-frames", "9", "--device", "cpu"])  # fmt: skip
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "shots" / "shots.json").read_text())
    assert [m["reference"] for m in manifest] == ["product", "previous"]
    assert all(Path(m["media"]).is_file() for m in manifest) and manifest[0]["caption"] == "Hi"
    assert all(isinstance(m["gate_passed"], bool) and "attempt 1, seed" in m["gate"] for m in manifest)
    path.write_text(json.dumps({"script_id": "x"}))
    bad = runner.invoke(app, ["video", "storyboard", "--model", str(model_dir), "--storyboard", str(path),
                              "--out", str(tmp_path / "o")])  # fmt: skip
    assert bad.exit_code == 2 and "not a valid Storyboard" in bad.output


def test_cli_import_stays_free_of_torch() -> None:
    code = "import sys, adloom.serving.cli; print('torch' in sys.modules, 'diffusers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
