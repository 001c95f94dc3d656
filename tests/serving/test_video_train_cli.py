"""`adloom video train` and `adloom video demo` through the real CLI (tiny configs; the shipped toy model on CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adloom.serving import video_train_cli  # registers train/demo on the video sub-app
from adloom.serving.video_cli import video_app

runner = CliRunner()
TINY_VAE_RUN = {
    "mode": "vae",
    "output_dir": "run",
    "num_threads": 1,
    "log_every": 1,
    "data": {"kind": "toy", "num_clips": 4, "height": 16, "width": 16, "frames": 5},
    "vae": {"base_dim": 4, "z_dim": 4},
    "optim": {"batch_size": 2, "max_steps": 2, "warmup_steps": 0},
}


def test_importing_the_module_loads_no_torch() -> None:
    code = "import sys, adloom.serving.video_train_cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_train_runs_resumes_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vae.yaml").write_text(yaml.safe_dump(TINY_VAE_RUN))
    result = runner.invoke(video_app, ["train", "vae.yaml"])
    assert result.exit_code == 0, result.output
    assert "trained vae to step 2" in result.output
    assert (tmp_path / "run" / "vae" / "config.json").is_file()
    assert len((tmp_path / "run" / "loss.jsonl").read_text().splitlines()) == 2
    again = runner.invoke(video_app, ["train", "vae.yaml"])
    assert again.exit_code == 2 and "--resume" in again.output
    more = runner.invoke(video_app, ["train", "vae.yaml", "--resume", "--max-steps", "3"])
    assert more.exit_code == 0, more.output
    assert "to step 3 (resumed from 2)" in more.output


def test_train_rejects_a_bad_config_with_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**TINY_VAE_RUN, "optim": {"learnig_rate": 1}}))
    result = runner.invoke(video_app, ["train", "bad.yaml"])
    assert result.exit_code == 2 and "optim.learnig_rate" in result.output
    missing = runner.invoke(video_app, ["train", "nope.yaml"])
    assert missing.exit_code == 3 and "nope.yaml" in missing.output
    outside = runner.invoke(video_app, ["train", "/etc/hostname"])
    assert outside.exit_code == 2 and "outside the allowed folders" in outside.output


def test_demo_rejects_a_prompt_outside_the_toy_grammar(tmp_path: Path) -> None:
    result = runner.invoke(video_app, ["demo", "--out", str(tmp_path), "--prompt", "a cat on a sofa"])
    assert result.exit_code == 2 and "toy-world caption" in result.output


@pytest.mark.skipif(
    not (video_train_cli.TOY_CHECKPOINT / "model_index.json").is_file(), reason="toy checkpoint not built"
)
def test_demo_writes_clips_and_an_index(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    prompts = ["a red circle moves left on a black background", "a blue square moves down on a white background"]
    args = ["demo", "--out", str(out), "--steps", "6"] + [x for p in prompts for x in ("--prompt", p)]
    result = runner.invoke(video_app, args)
    assert result.exit_code == 0, result.output
    index = json.loads((out / "index.json").read_text())
    assert [c["prompt"] for c in index["clips"]] == prompts
    for clip in index["clips"]:
        data = (out / clip["file"]).read_bytes()
        assert data[4:8] == b"ftyp" and len(data) > 500
        assert set(clip["detected"]) == {"colour", "shape", "background", "direction"}
    assert set(index["accuracy"]) == {"colour", "shape", "background", "direction", "all"}
