"""The training entry point on tiny real models: config schema, VAE and DiT runs, exact resume, LoRA on clips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from adloom.core.errors import ConfigError, InputError, NotFoundError
from adloom.creative.video.train import (
    FlowConfig,
    VAEConfig,
    build_vae,
    load_config,
    parse_config,
    sample_sigmas,
    train,
)

TINY_DATA = {"kind": "toy", "num_clips": 8, "height": 16, "width": 16, "frames": 5, "seed": 0}
TINY_TRANSFORMER = {"num_layers": 1, "num_attention_heads": 2, "attention_head_dim": 12, "ffn_dim": 32, "freq_dim": 32}
TINY_VAE = {"base_dim": 4, "z_dim": 4}


@pytest.fixture(autouse=True)
def _threads() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny Wan VAE folder (4× spatial, 2× temporal) with its latent statistics."""
    torch.manual_seed(0)
    vae = build_vae(VAEConfig(**TINY_VAE))
    vae.register_to_config(latents_mean=[0.1, 0.0, -0.1, 0.0], latents_std=[1.0, 2.0, 1.0, 0.5])
    path = tmp_path_factory.mktemp("vae") / "vae"
    vae.save_pretrained(path)
    return path


def _dit_cfg(out: Path, vae: Path, **over: Any) -> Any:
    raw = {
        "mode": "dit",
        "output_dir": str(out),
        "num_threads": 1,
        "checkpoint_every": 2,
        "log_every": 1,
        "data": TINY_DATA,
        "vae": {"path": str(vae)},
        "transformer": TINY_TRANSFORMER,
        "flow": {"shift": 2.0, "max_sequence_length": 12},
        "optim": {"batch_size": 2, "max_steps": 4, "warmup_steps": 1, "lr": 1e-3},
    }
    raw.update(over)
    return parse_config(raw, base_dir=out.parent)


def test_config_is_strict_and_names_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: vae\noutput_dir: out\noptim:\n  learning_rate: 0.1\n")
    with pytest.raises(InputError, match="optim.learning_rate"):
        load_config(bad)
    bad.write_text("mode: dit\noutput_dir: out\n")
    with pytest.raises(InputError, match="vae.path"):
        load_config(bad)
    bad.write_text("mode: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(NotFoundError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad.write_text("mode: vae\noutput_dir: out\ngradient_checkpointing: true\n")
    with pytest.raises(InputError, match="does not support"):
        load_config(bad)
    bad.write_text("mode: vae\noutput_dir: out\nvae: {dim_mult: [1, 2], temperal_downsample: [false, true]}\n")
    with pytest.raises(InputError, match="one flag per level"):
        load_config(bad)


def test_shipped_toy_configs_validate() -> None:
    root = Path(__file__).resolve().parents[3] / "adloom" / "creative" / "video" / "toy" / "configs"
    modes = {load_config(p)[0].mode for p in root.glob("*.yaml")}
    assert modes == {"vae", "dit", "lora"}


def test_sigma_sampling_is_shifted_and_bounded() -> None:
    g = torch.Generator().manual_seed(0)
    plain = sample_sigmas(FlowConfig(shift=1.0), 4000, g)
    g = torch.Generator().manual_seed(0)
    shifted = sample_sigmas(FlowConfig(shift=3.0), 4000, g)
    assert 0 < float(plain.min()) and float(plain.max()) < 1
    assert abs(float(plain.mean()) - 0.5) < 0.03  # logit-normal(0, 1) is symmetric about 0.5
    assert float(shifted.mean()) > float(plain.mean()) + 0.1  # the shift moves training towards noise
    assert torch.all(shifted >= plain)


def test_vae_two_steps_checkpoint_and_export(tmp_path: Path) -> None:
    from diffusers import AutoencoderKLWan

    cfg = parse_config(
        {"mode": "vae", "output_dir": "run", "num_threads": 1, "checkpoint_every": 1, "keep_checkpoints": 1,
         "log_every": 1, "data": TINY_DATA, "vae": TINY_VAE,
         "optim": {"batch_size": 2, "max_steps": 2, "warmup_steps": 0}},
        base_dir=tmp_path,
    )  # fmt: skip
    result = train(cfg)
    assert result.step == 2 and np.isfinite(result.last_loss)
    rows = [json.loads(line) for line in result.log_path.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(np.isfinite(r["loss"]) for r in rows)
    assert (tmp_path / "run" / "checkpoints" / "step_0000002" / "trainable.safetensors").is_file()
    assert not (tmp_path / "run" / "checkpoints" / "step_0000001").exists()  # pruned: keep_checkpoints=1
    vae = AutoencoderKLWan.from_pretrained(result.export_dir)
    assert len(vae.config.latents_mean) == 4 and all(s > 0 for s in vae.config.latents_std)
    assert vae.config.scale_factor_spatial == 4 and vae.config.scale_factor_temporal == 2


def test_dit_resume_continues_exactly(tmp_path: Path, tiny_vae: Path) -> None:
    from safetensors.torch import load_file

    straight = train(_dit_cfg(tmp_path / "a", tiny_vae))
    cfg_b = _dit_cfg(tmp_path / "b", tiny_vae)
    first = train(cfg_b, stop_at=2)
    assert first.step == 2
    with pytest.raises(InputError, match="--resume"):
        train(cfg_b)
    resumed = train(cfg_b, resume=True)
    assert resumed.resumed_from == 2 and resumed.step == 4
    wa = load_file(str(tmp_path / "a" / "checkpoints" / "step_0000004" / "trainable.safetensors"))
    wb = load_file(str(tmp_path / "b" / "checkpoints" / "step_0000004" / "trainable.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    la = {r["step"]: r["loss"] for r in map(json.loads, straight.log_path.read_text().splitlines())}
    lb = {r["step"]: r["loss"] for r in map(json.loads, resumed.log_path.read_text().splitlines())}
    assert la == lb and len(la) == 4
    # A changed model under the same run folder is refused, not silently mixed.
    changed = _dit_cfg(tmp_path / "b", tiny_vae, transformer={**TINY_TRANSFORMER, "ffn_dim": 48})
    with pytest.raises(ConfigError, match="different config"):
        train(changed, resume=True, max_steps=6)
    # A tampered state.pt that would run code when unpickled is refused, and its code never runs.
    marker = tmp_path / "code-ran"
    torch.save({"optimizer": _RunsCode(marker), "generator": torch.zeros(1)},
               tmp_path / "b" / "checkpoints" / "step_0000004" / "state.pt")  # fmt: skip
    with pytest.raises(ConfigError, match="state.pt holds objects other than tensors"):
        train(cfg_b, resume=True, max_steps=6)
    assert not marker.exists()


class _RunsCode:
    """Pickles to a call of ``Path.touch(marker)``: what a hostile checkpoint could do on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


def test_gradient_checkpointing_trains_the_same_weights(tmp_path: Path, tiny_vae: Path) -> None:
    from safetensors.torch import load_file

    plain = train(_dit_cfg(tmp_path / "plain", tiny_vae, optim={"batch_size": 2, "max_steps": 2}))
    ckpt = train(
        _dit_cfg(tmp_path / "ckpt", tiny_vae, gradient_checkpointing=True, optim={"batch_size": 2, "max_steps": 2})
    )
    assert plain.last_loss == pytest.approx(ckpt.last_loss, rel=1e-5)
    wa = load_file(str(tmp_path / "plain" / "checkpoints" / "step_0000002" / "trainable.safetensors"))
    wb = load_file(str(tmp_path / "ckpt" / "checkpoints" / "step_0000002" / "trainable.safetensors"))
    assert all(torch.allclose(wa[k], wb[k], atol=1e-5) for k in wa)


def test_dit_export_samples_through_the_video_pipeline(tmp_path: Path, tiny_vae: Path) -> None:
    from adloom.creative.video.models import load_video_model
    from adloom.creative.video.pipeline import VideoPipeline, VideoRequest

    result = train(_dit_cfg(tmp_path / "run", tiny_vae, optim={"batch_size": 2, "max_steps": 2}))
    assert (result.export_dir / "model_index.json").is_file()
    model = load_video_model(result.export_dir, device="cpu")
    assert model.max_sequence_length == 12  # the tokenizer carries the training length to the sampler
    assert model.sampler().shift == 2.0
    out = VideoPipeline(model)(VideoRequest(prompt="a red circle moves left on a black background", width=16,
                                            height=16, num_frames=5, steps=2, seed=0))  # fmt: skip
    assert out.frames.shape == (1, 5, 16, 16, 3) and out.frames.dtype == np.uint8


def test_lora_on_a_clip_folder(tmp_path: Path) -> None:
    from adloom.creative.video.io import write_video
    from adloom.creative.video.models import build_tiny, load_lora, load_video_model
    from adloom.creative.video.pipeline import VideoPipeline, VideoRequest
    from adloom.creative.video.toy.dataset import make_clips, sample_specs

    base = tmp_path / "base"
    build_tiny("wan").diffusers_pipeline().save_pretrained(base)
    clips_dir = tmp_path / "clips"
    specs = sample_specs(3, seed=0, size=16)
    for i, (spec, clip) in enumerate(zip(specs, make_clips(specs, size=16, frames=5), strict=True)):
        write_video(clip, clips_dir / f"c{i}.mp4", fps=8)
        (clips_dir / f"c{i}.txt").write_text(spec.caption)
    cfg = parse_config(
        {"mode": "lora", "output_dir": "run", "base_model": str(base), "num_threads": 1, "log_every": 1,
         "gradient_checkpointing": True,
         "data": {"kind": "folder", "path": str(clips_dir), "height": 16, "width": 16, "frames": 5},
         "lora": {"rank": 4, "alpha": 4}, "optim": {"batch_size": 2, "max_steps": 2, "warmup_steps": 0, "lr": 1e-2}},
        base_dir=tmp_path,
    )  # fmt: skip
    result = train(cfg)
    assert np.isfinite(result.last_loss)
    assert (result.export_dir / "pytorch_lora_weights.safetensors").is_file()
    req = VideoRequest(prompt=specs[0].caption, width=16, height=16, num_frames=5, steps=2, seed=0, return_latents=True)
    plain = VideoPipeline(load_video_model(base, device="cpu"))(req)
    model = load_video_model(base, device="cpu")
    load_lora(model, result.export_dir)
    tuned = VideoPipeline(model)(req)
    assert not torch.equal(plain.latents, tuned.latents)  # the trained adapter changes what is sampled

    bad = parse_config({**cfg.model_dump(), "output_dir": str(tmp_path / "bad"),
                        "data": {**cfg.data.model_dump(), "frames": 4}}, base_dir=tmp_path)  # fmt: skip
    with pytest.raises(ConfigError, match="4k\\+1"):
        train(bad)


def test_folder_data_errors_name_the_fix(tmp_path: Path) -> None:
    from adloom.creative.video.train import read_clip_folder

    with pytest.raises(NotFoundError, match="not a folder"):
        read_clip_folder(tmp_path / "nope")
    (tmp_path / "a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with pytest.raises(NotFoundError, match="a.txt"):
        read_clip_folder(tmp_path)
    (tmp_path / "manifest.jsonl").write_text('{"video": "../etc/passwd", "caption": "x"}\n')
    with pytest.raises(InputError, match="outside"):
        read_clip_folder(tmp_path)
