"""Clear errors: bad model paths, sizes and frame counts the model cannot take, GPU-only options on CPU, OOM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.creative.video.buckets import bucket_size, check_frames, check_size, nearest_frames
from adloom.creative.video.camera import parse_camera
from adloom.creative.video.models import build_tiny, load_video_model, resolve_device
from adloom.creative.video.pipeline import VideoOutOfMemoryError, VideoPipeline, VideoRequest

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def wan():
    return build_tiny("wan", seed=0)


def _req(**kw) -> VideoRequest:
    base = dict(prompt="a red mug", width=16, height=16, num_frames=9, steps=2, seed=0)
    base.update(kw)
    return VideoRequest(**base)


def test_missing_and_wrong_model_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"model path '.*nowhere' does not exist.*model_index.json"):
        load_video_model(tmp_path / "nowhere")
    with pytest.raises(InputError, match="not a video model folder: no model_index.json"):
        load_video_model(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(InputError, match="StableDiffusionPipeline pipeline; supported pipelines are WanPipeline"):
        load_video_model(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    (tmp_path / "transformer").mkdir()
    with pytest.raises(InputError, match="lacks vae/, text_encoder/, tokenizer/"):
        load_video_model(tmp_path)
    (tmp_path / "model_index.json").write_text(
        json.dumps({"_class_name": "WanPipeline", "transformer_2": ["diffusers", "WanTransformer3DModel"]})
    )
    with pytest.raises(InputError, match="two-expert checkpoint"):
        load_video_model(tmp_path)
    (tmp_path / "model_index.json").write_text("{not json")
    with pytest.raises(InputError, match="not a readable JSON file"):
        load_video_model(tmp_path)


def test_unsupported_wan_layouts_are_refused_clearly(tmp_path: Path) -> None:
    from diffusers import WanTransformer3DModel

    m = build_tiny("wan", seed=0)
    m.transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=20, out_channels=16,
        text_dim=32, freq_dim=32, ffn_dim=32, num_layers=1, rope_max_seq_len=32,
    )  # fmt: skip
    m.save_pretrained(tmp_path / "odd")
    with pytest.raises(InputError, match="takes 20 input channels for 16 latent channels"):
        load_video_model(tmp_path / "odd")
    i2v = build_tiny("wan", seed=0, image_to_video=True)
    i2v.image_encoder = i2v.image_processor = None  # a folder saved without its CLIP image encoder
    i2v.save_pretrained(tmp_path / "i2v")
    with pytest.raises(InputError, match="expects CLIP image tokens .*no image_encoder/"):
        load_video_model(tmp_path / "i2v")


def test_image_to_video_checkpoint_needs_a_frame() -> None:
    pipe = VideoPipeline(build_tiny("wan", seed=0, image_to_video=True))
    with pytest.raises(InputError, match="is an image-to-video checkpoint: pass an image"):
        pipe(_req())


def test_sizes_the_model_cannot_take(wan) -> None:
    pipe = VideoPipeline(wan)
    with pytest.raises(InputError, match="width 20 cannot be taken by this wan model.*nearest valid width is 16"):
        pipe(_req(width=20))
    with pytest.raises(InputError, match="height 8 .*multiple of 16.*nearest valid height is 16"):
        pipe(_req(height=8))
    with pytest.raises(InputError, match="num_frames 10 .*4k\\+1.*nearest valid count is 9"):
        pipe(_req(num_frames=10))
    with pytest.raises(InputError, match="both width and height"):
        pipe(_req(height=None))
    with pytest.raises(InputError, match="aspect '4:3'"):
        pipe(_req(width=None, height=None, aspect="4:3"))
    with pytest.raises(InputError, match="steps 0"):
        pipe(_req(steps=0))
    with pytest.raises(InputError, match="2 seeds for 1 prompts"):
        pipe(_req(seed=[1, 2]))
    assert nearest_frames(80, 4) == 81 and nearest_frames(80, 8) == 81 and nearest_frames(36, 8) == 33
    assert bucket_size("9:16", "480p", multiple=16) == (480, 832)
    assert bucket_size("1:1", "480p", multiple=32) == (640, 640)
    check_size(832, 480, 16)
    check_frames(81, 4)
    with pytest.raises(InputError, match="nearest valid count is 97"):
        check_frames(100, 8, family="ltx")


def test_bad_mode_inputs(wan, tmp_path: Path) -> None:
    pipe = VideoPipeline(wan)
    with pytest.raises(InputError, match="image .*does not exist"):
        pipe(_req(image=tmp_path / "missing.png"))
    (tmp_path / "notimage.png").write_bytes(b"hello")
    with pytest.raises(InputError, match="not a readable image"):
        pipe(_req(image=tmp_path / "notimage.png"))
    clip = np.zeros((9, 16, 16, 3), dtype=np.uint8)
    with pytest.raises(InputError, match="do not also pass image"):
        pipe(_req(extend_frames=clip, image=clip[0]))
    with pytest.raises(InputError, match="extend_latent_frames 3 must be between 1 and 2"):
        pipe(_req(extend_frames=clip, extend_latent_frames=3))
    with pytest.raises(InputError, match="has 3 frames; conditioning on 2 latent frames needs 5"):
        pipe(_req(extend_frames=clip[:3]))
    with pytest.raises(InputError, match="camera preset 'zoom_sideways'"):
        pipe(_req(camera="zoom_sideways:0.5"))
    with pytest.raises(InputError, match=r"strength 1.5 is outside \[-1, 1\]"):
        parse_camera("pan:1.5")
    with pytest.raises(InputError, match="cache threshold -1"):
        pipe(_req(cache_threshold=-1.0))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_gpu_only_options_on_cpu(tmp_path: Path, wan) -> None:
    with pytest.raises(InputError, match="device 'cuda' was asked for but this machine has no usable CUDA GPU"):
        resolve_device("cuda")
    path = wan.save_pretrained(tmp_path / "m")
    with pytest.raises(InputError, match="no usable CUDA"):
        load_video_model(path, device="cuda:0")
    with pytest.raises(InputError, match="offload .* needs device cuda"):
        load_video_model(path, offload=True)


def test_out_of_memory_becomes_an_actionable_message(wan) -> None:
    """The device's OOM (simulated: no GPU here) surfaces as VideoOutOfMemoryError naming the knobs."""

    def boom(*_):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    handle = wan.transformer.blocks[0].register_forward_pre_hook(boom)
    try:
        with pytest.raises(VideoOutOfMemoryError, match=r"out of GPU memory generating 9 frames at 16x16.*--frames 33"):
            VideoPipeline(wan)(_req())
        assert issubclass(VideoOutOfMemoryError, BackendUnavailableError)
    finally:
        handle.remove()

    def cpu_oom(*_):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    handle = wan.vae.register_forward_pre_hook(cpu_oom)
    handle2 = wan.vae.decoder.register_forward_pre_hook(cpu_oom)
    try:
        with pytest.raises(VideoOutOfMemoryError, match="--vae-tiling"):
            VideoPipeline(wan)(_req())
    finally:
        handle.remove()
        handle2.remove()
    assert VideoPipeline(wan)(_req()).frames.shape == (1, 9, 16, 16, 3)  # hooks gone: back to normal
