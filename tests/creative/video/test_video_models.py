"""Model loading, family detection, our forward vs diffusers' forward, single-file and LoRA loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from diffusers import (
    AutoencoderKLLTXVideo,
    AutoencoderKLWan,
    LTXVideoTransformer3DModel,
    WanTransformer3DModel,
)

from adloom.core.errors import InputError
from adloom.creative.video.models import build_tiny, configure, detect_family, load_lora, load_video_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny() -> dict:
    return {fam: build_tiny(fam, seed=0) for fam in ("wan", "ltx")}


@pytest.fixture(scope="module")
def saved(tiny: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for fam, model in tiny.items():
        out[fam] = model.save_pretrained(tmp_path_factory.mktemp(fam))
    return out


def test_tiny_builds_use_the_real_classes(tiny: dict) -> None:
    wan, ltx = tiny["wan"], tiny["ltx"]
    assert isinstance(wan.transformer, WanTransformer3DModel) and isinstance(wan.vae, AutoencoderKLWan)
    assert isinstance(ltx.transformer, LTXVideoTransformer3DModel) and isinstance(ltx.vae, AutoencoderKLLTXVideo)
    assert (wan.spatial_factor, wan.temporal_factor, wan.fps) == (16, 4, 16)
    assert (ltx.spatial_factor, ltx.temporal_factor, ltx.fps) == (4, 4, 25)
    assert len(wan.transformer.blocks) == 2 and len(ltx.transformer.transformer_blocks) == 2
    # Seeded: the same seed builds the same weights.
    again = build_tiny("wan", seed=0)
    pairs = zip(wan.transformer.parameters(), again.transformer.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def _inputs(model, frames: int = 3, hw: int = 4, per_token: bool = False):
    g = torch.Generator().manual_seed(3)
    c = model.fam.latent_channels(model)
    x = torch.randn(2, c, frames, hw, hw, generator=g)
    text, mask = model.fam.encode_prompt(model, ["a red mug", "blue sky"], 16, torch.device("cpu"))
    t = torch.tensor([900.0, 250.0])
    return x, t, text, mask


def test_our_wan_forward_equals_diffusers_forward(tiny: dict) -> None:
    m = tiny["wan"]
    x, t, text, _ = _inputs(m)
    with torch.no_grad():
        ref = m.transformer(hidden_states=x, timestep=t, encoder_hidden_states=text, return_dict=False)[0]
        ours = m.fam.forward(m, x, t, text, None)
        assert torch.equal(ours, ref)
        # Per-token timesteps (Wan 2.2 TI2V path): the same as diffusers with a (B, L) timestep.
        mask = torch.zeros(1, 1, 3, 4, 4, dtype=torch.bool)
        mask[:, :, 0] = True
        tt = m.fam.token_timesteps(m, torch.tensor(700.0), mask, 2)
        assert tt.shape == (2, 3 * 2 * 2) and float(tt[0, 0]) == 0.0 and float(tt[0, -1]) == 700.0
        ref_tt = m.transformer(hidden_states=x, timestep=tt, encoder_hidden_states=text, return_dict=False)[0]
        assert torch.equal(m.fam.forward(m, x, tt, text, None), ref_tt)


def test_our_ltx_forward_equals_diffusers_forward(tiny: dict) -> None:
    m, fam = tiny["ltx"], tiny["ltx"].fam
    x, t, text, mask = _inputs(m)
    with torch.no_grad():
        ref = m.transformer(
            hidden_states=fam.pack(x, 1, 1), encoder_hidden_states=text, timestep=t, encoder_attention_mask=mask,
            num_frames=3, height=4, width=4, rope_interpolation_scale=(4 / 25, 4, 4), return_dict=False,
        )[0]  # fmt: skip
        ours = fam.forward(m, x, t, text, mask, frame_rate=25)
    assert torch.equal(ours, fam.unpack(ref, 3, 4, 4, 1, 1))
    assert torch.equal(fam.unpack(fam.pack(x, 1, 1), 3, 4, 4, 1, 1), x)


def test_save_and_load_roundtrip(tiny: dict, saved: dict[str, Path]) -> None:
    for fam, path in saved.items():
        index = json.loads((path / "model_index.json").read_text())
        assert index["_class_name"] == {"wan": "WanPipeline", "ltx": "LTXPipeline"}[fam]
        assert detect_family(path) == fam
        loaded = load_video_model(path, device="cpu")
        assert loaded.family == fam and loaded.dtype == torch.float32 and loaded.path == path
        ref = tiny[fam].transformer.state_dict()
        assert all(torch.equal(v, ref[k]) for k, v in loaded.transformer.state_dict().items())
        assert loaded.max_sequence_length == 32  # tokenizer's model_max_length travels with the folder
        assert loaded.sampler().use_dynamic_shifting == (fam == "ltx")


def test_dtype_placement(saved: dict[str, Path]) -> None:
    m = load_video_model(saved["wan"], device="cpu", dtype="bf16")
    assert m.transformer.dtype == torch.bfloat16 and m.text_encoder.dtype == torch.bfloat16
    assert m.vae.dtype == torch.float32  # the Wan VAE stays float32
    with pytest.raises(InputError, match="dtype 'fp8'"):
        load_video_model(saved["wan"], device="cpu", dtype="fp8")


def test_single_file_transformer_on_a_base_folder(tiny: dict, saved: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.torch import save_file

    other = build_tiny("wan", seed=5).transformer
    file = tmp_path / "wan_transformer.safetensors"
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(file))
    m = load_video_model(file, base=saved["wan"], device="cpu")
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in m.transformer.state_dict().items())
    assert not torch.equal(m.transformer.proj_out.weight, tiny["wan"].transformer.proj_out.weight)
    with pytest.raises(InputError, match="--base"):
        load_video_model(file)


@pytest.mark.parametrize("fam", ["wan", "ltx"])
def test_lora_loads_from_save_lora_weights(fam: str, tmp_path: Path) -> None:
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    trained = build_tiny(fam, seed=0)
    trained.transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in trained.transformer.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    # What a LoRA trainer writes: the family pipeline's save_lora_weights (keys prefixed "transformer.").
    type(trained.diffusers_pipeline()).save_lora_weights(
        str(tmp_path / "lora"), transformer_lora_layers=get_peft_model_state_dict(trained.transformer)
    )
    x, t, text, mask = _inputs(trained)
    with torch.no_grad():
        want = trained.fam.forward(trained, x, t, text, mask)
        fresh = build_tiny(fam, seed=0)
        base_out = fresh.fam.forward(fresh, x, t, text, mask)
        name = load_lora(fresh, tmp_path / "lora")
        got = fresh.fam.forward(fresh, x, t, text, mask)
        assert name == "lora0" and fresh.loras == {"lora0": 1.0}
        assert not torch.allclose(want, base_out, atol=1e-3)
        assert torch.allclose(got, want, atol=1e-5)
        load_lora(fresh, tmp_path / "lora" / "pytorch_lora_weights.safetensors", scale=0.0, adapter_name="off")
        fresh.transformer.set_adapters(["lora0", "off"], weights=[0.0, 0.0])
        assert torch.allclose(fresh.fam.forward(fresh, x, t, text, mask), base_out, atol=1e-6)
    with pytest.raises(InputError, match="does not exist"):
        load_lora(fresh, tmp_path / "nope")
    with pytest.raises(InputError, match="already loaded"):
        load_lora(fresh, tmp_path / "lora", adapter_name="off")


def test_gpu_only_options_refuse_on_cpu(tiny: dict) -> None:
    with pytest.raises(InputError, match="compile"):
        configure(tiny["wan"], compile=True)
    with pytest.raises(InputError, match="offload"):
        configure(tiny["wan"], offload=True)
    with pytest.raises(InputError, match="attention backend '_native_flash' is GPU-only"):
        configure(tiny["wan"], attention="_native_flash")
    configure(tiny["wan"], attention="native")  # PyTorch SDPA, the default, works everywhere
    configure(tiny["wan"], vae_tiling=True, vae_slicing=True)
    assert tiny["wan"].vae.use_tiling and tiny["wan"].vae.use_slicing
    tiny["wan"].vae.disable_tiling()
    tiny["wan"].vae.disable_slicing()
