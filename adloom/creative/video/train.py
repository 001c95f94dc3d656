"""One flow-matching training entry point for the video stack: VAE, DiT from scratch, and LoRA fine-tuning.

A run is one YAML file validated by :class:`TrainConfig` (``extra="forbid"``: a typo is an error, not a silently
ignored key). Three modes share one loop, one checkpoint format and one log:

* ``vae`` — train a small :class:`diffusers.AutoencoderKLWan` from scratch on pixel clips (L1 + MSE + a small KL),
  then store per-channel latent statistics in its config so the DiT sees unit-scale latents.
* ``dit`` — train a :class:`diffusers.WanTransformer3DModel` from scratch with rectified flow over the latents of a
  trained VAE; the text encoder is a small frozen one (built from config, saved beside it). Exports a complete
  diffusers pipeline folder (``WanPipeline.save_pretrained`` layout) that ``load_video_model`` reads.
* ``lora`` — fine-tune an existing pipeline folder on an advertiser's own (clip, caption) pairs: peft LoRA on the
  transformer's attention projections, base weights frozen; exports ``pytorch_lora_weights.safetensors``.

The flow-matching objective: ``x_t = (1 - σ) x_0 + σ ε`` and the transformer predicts ``v = ε - x_0`` at timestep
``1000 σ`` — the convention of Wan and diffusers' ``FlowMatchEulerDiscreteScheduler``. σ is drawn logit-normal
(or uniform) and then shifted, ``σ' = s σ / (1 + (s - 1) σ)``, the same shift the sampler uses.

Resume is exact: a checkpoint holds the trainable weights, the optimizer, the step and the state of the one
generator that draws batches, noise, timesteps and caption dropout, so ``2 steps + resume 2 steps`` equals
``4 steps`` bit for bit on the same machine.

Heavy imports (torch, diffusers, transformers, peft) happen inside functions.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adloom.core.errors import ConfigError, InputError, NotFoundError
from adloom.core.paths import write_atomic
from adloom.core.proc import run_tool, tool_timeout

if TYPE_CHECKING:
    import torch


# ----------------------------------------------------------------------------------------------------------------------
# Config schema
# ----------------------------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where clips come from and the shape every clip is brought to."""

    kind: Literal["toy", "folder"] = "toy"
    path: str | None = Field(None, description="folder: clips + manifest.jsonl ({video, caption}) or clip.txt pairs")
    num_clips: int = Field(2000, ge=1, description="toy: size of the pre-rendered pool")
    split: Literal["train", "all"] = Field("train", description="toy: 'train' leaves the held-out combos out")
    height: int = Field(32, ge=8)
    width: int = Field(32, ge=8)
    frames: int = Field(9, ge=1)
    frame_stride: int = Field(1, ge=1, description="folder: keep every n-th decoded frame")
    seed: int = 0


class VAEConfig(_Strict):
    """A Wan-family VAE: built from these sizes (mode vae) or loaded from ``path`` (modes dit, lora)."""

    path: str | None = None
    base_dim: int = 16
    z_dim: int = 8
    dim_mult: list[int] = Field(default_factory=lambda: [1, 1])
    num_res_blocks: int = 1
    temperal_downsample: list[bool] = Field(default_factory=lambda: [True])
    patch_size: int | None = Field(
        2, ge=1, description="pixel patchify before the encoder (as Wan 2.2's VAE): spatial factor × patch_size"
    )
    is_residual: bool = Field(True, description="Wan 2.2 residual down/up blocks (learn much faster when small)")
    kl_weight: float = Field(1e-6, ge=0)
    sample_posterior: bool = Field(False, description="decode μ+σε in training (True) or μ (False, faster to learn)")
    mse_weight: float = Field(1.0, ge=0)
    l1_weight: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _levels(self) -> VAEConfig:
        if len(self.temperal_downsample) != len(self.dim_mult) - 1:
            raise ValueError(
                f"temperal_downsample has {len(self.temperal_downsample)} entries but dim_mult {self.dim_mult} "
                f"has {len(self.dim_mult) - 1} downsampling levels; give one flag per level"
            )
        return self


class TransformerConfig(_Strict):
    """A Wan-family transformer built from these sizes (mode dit)."""

    patch_size: list[int] = Field(default_factory=lambda: [1, 2, 2])
    num_attention_heads: int = 4
    attention_head_dim: int = 24
    ffn_dim: int = 256
    num_layers: int = 4
    freq_dim: int = 64
    rope_max_seq_len: int = 64


class TextEncoderConfig(_Strict):
    """The frozen text encoder of a from-scratch model.

    ``words``: a word-level tokenizer over the training captions' vocabulary (the toy world's choice: each word is one
    token, so the DiT only has to learn which token means what). ``bytes``: ByT5's byte tokenizer (any text)."""

    kind: Literal["words", "bytes"] = "words"
    d_model: int = 32
    num_layers: int = 1
    num_heads: int = 4
    d_ff: int = 64
    seed: int = 0


class LoraSettings(_Strict):
    rank: int = Field(8, ge=1)
    alpha: float = Field(8.0, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["to_q", "to_k", "to_v", "to_out.0"])


class FlowConfig(_Strict):
    """Rectified-flow training: timestep distribution, shift and caption dropout (for classifier-free guidance)."""

    timestep_sampling: Literal["logit_normal", "uniform"] = "logit_normal"
    logit_mean: float = 0.0
    logit_std: float = Field(1.0, gt=0)
    shift: float = Field(1.0, gt=0, description="σ' = sσ/(1+(s-1)σ); saved in the exported scheduler")
    caption_dropout: float = Field(0.1, ge=0, le=1)
    max_sequence_length: int | None = Field(
        None, ge=1, description="text tokens prompts are padded to; default: 16 for dit, the model's own for lora"
    )


class OptimConfig(_Strict):
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_steps: int = Field(50, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="cosine decay floor as a fraction of lr")
    grad_clip: float = Field(1.0, gt=0)
    batch_size: int = Field(16, ge=1)
    max_steps: int = Field(1000, ge=1)


class TrainConfig(_Strict):
    """One training run. Relative paths are relative to the working directory the run starts in."""

    mode: Literal["vae", "dit", "lora"]
    output_dir: str
    base_model: str | None = Field(None, description="lora: the pipeline folder to fine-tune")
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    mixed_precision: Literal["auto", "no", "bf16"] = Field("auto", description="auto: bf16 autocast on CUDA only")
    gradient_checkpointing: bool = False
    num_threads: int | None = Field(2, ge=1, description="torch CPU threads; null leaves torch's default")
    checkpoint_every: int = Field(200, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(10, ge=1)
    data: DataConfig = Field(default_factory=DataConfig)
    vae: VAEConfig = Field(default_factory=VAEConfig)
    transformer: TransformerConfig = Field(default_factory=TransformerConfig)
    text_encoder: TextEncoderConfig = Field(default_factory=TextEncoderConfig)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    flow: FlowConfig = Field(default_factory=FlowConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)

    @model_validator(mode="after")
    def _mode_needs(self) -> TrainConfig:
        if self.mode == "dit" and not self.vae.path:
            raise ValueError("mode dit needs vae.path: the folder of a trained VAE (train one with mode vae first)")
        if self.mode == "lora" and not self.base_model:
            raise ValueError("mode lora needs base_model: the diffusers pipeline folder to fine-tune")
        if self.mode == "vae" and self.gradient_checkpointing:
            raise ValueError("gradient_checkpointing: diffusers' AutoencoderKLWan does not support it; set it false")
        if self.data.kind == "folder" and not self.data.path:
            raise ValueError("data.kind folder needs data.path: a folder of clips with captions")
        return self


def load_config(path: str | os.PathLike[str]) -> tuple[TrainConfig, Path]:
    """Read and validate a YAML training config; returns it (relative paths made absolute against the working
    directory, like most trainers) and the config's own resolved path."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise NotFoundError(f"training config {p} does not exist; pass the path of a YAML file")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(f"training config {p} is not valid YAML: {e}", field="config") from e
    if not isinstance(raw, dict):
        raise InputError(f"training config {p} must be a mapping of settings, got {type(raw).__name__}")
    return parse_config(raw, base_dir=Path.cwd()), p.resolve()


def parse_config(raw: dict[str, Any], *, base_dir: Path) -> TrainConfig:
    """Validate a config mapping and resolve its relative paths against ``base_dir``."""
    try:
        cfg = TrainConfig.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(x) for x in err['loc']) or 'config'}: {err['msg']}" for err in e.errors())
        raise InputError(f"training config is invalid: {problems}", field="config") from e

    def absolute(v: str | None) -> str | None:
        return None if v is None else str((base_dir / Path(v).expanduser()).resolve())

    cfg.output_dir = absolute(cfg.output_dir) or ""
    cfg.base_model = absolute(cfg.base_model)
    cfg.vae.path = absolute(cfg.vae.path)
    cfg.data.path = absolute(cfg.data.path)
    return cfg


# ----------------------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------------------

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi")


def read_clip_folder(folder: Path) -> list[tuple[Path, str]]:
    """(clip, caption) pairs of a folder: ``manifest.jsonl`` lines ``{"video": ..., "caption": ...}`` or, without a
    manifest, each ``name.mp4`` with its caption in ``name.txt``."""
    if not folder.is_dir():
        raise NotFoundError(f"data.path {folder} is not a folder; point it at a folder of clips and captions")
    pairs: list[tuple[Path, str]] = []
    manifest = folder / "manifest.jsonl"
    if manifest.is_file():
        for n, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                video, caption = row["video"], row["caption"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise InputError(
                    f"{manifest} line {n} is not {{'video': ..., 'caption': ...}}: {e}", field="manifest"
                ) from e
            clip = (folder / video).resolve()
            if not clip.is_relative_to(folder.resolve()):
                raise InputError(f"{manifest} line {n}: {video!r} points outside {folder}", field="manifest")
            if not clip.is_file():
                raise NotFoundError(f"{manifest} line {n}: clip {clip} does not exist")
            pairs.append((clip, str(caption)))
    else:
        for clip in sorted(folder.iterdir()):
            if clip.suffix.lower() in VIDEO_SUFFIXES:
                txt = clip.with_suffix(".txt")
                if not txt.is_file():
                    raise NotFoundError(f"clip {clip.name} has no caption file {txt.name}; add one or a manifest.jsonl")
                pairs.append((clip, txt.read_text(encoding="utf-8").strip()))
    if not pairs:
        raise InputError(
            f"data.path {folder} holds no clips; add .mp4 files with .txt captions or a manifest.jsonl", field="data"
        )
    return pairs


def decode_clip(path: Path, *, height: int, width: int, frames: int, stride: int = 1) -> np.ndarray:
    """Decode a clip with ffmpeg to uint8 (frames, height, width, 3): scaled to cover, centre-cropped, the first
    ``frames`` frames taken every ``stride``; a short clip repeats its last frame."""
    from adloom.core.paths import check_upload

    check_upload(path, ["video"])
    import imageio_ffmpeg

    vf = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"
    if stride > 1:
        vf = f"select='not(mod(n\\,{stride}))',{vf}"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-vf", vf, "-fps_mode", "passthrough"]
    cmd += ["-frames:v", str(frames), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = run_tool(cmd, purpose="ffmpeg decoding a training clip", subject=path,
                    timeout_s=tool_timeout(frames=frames * stride), capture_output=True)  # fmt: skip
    if proc.returncode != 0:
        raise InputError(f"clip {path} could not be decoded: {proc.stderr.decode(errors='replace')[-300:]}")
    raw = np.frombuffer(proc.stdout, dtype=np.uint8)
    n = raw.size // (height * width * 3)
    if n == 0:
        raise InputError(f"clip {path} has no frames", field="data")
    clip = raw[: n * height * width * 3].reshape(n, height, width, 3)
    if n < frames:
        clip = np.concatenate([clip, np.repeat(clip[-1:], frames - n, axis=0)])
    return clip


def load_pixel_pool(cfg: TrainConfig) -> tuple[np.ndarray, list[str]]:
    """All training clips as uint8 (N, F, H, W, 3) with their captions."""
    d = cfg.data
    if d.kind == "toy":
        from adloom.creative.video.toy.dataset import make_clips, sample_specs

        if d.height != d.width:
            raise ConfigError(f"toy data is square; set data.height == data.width (got {d.height}×{d.width})")
        specs = sample_specs(d.num_clips, seed=d.seed, split=d.split, size=d.height)
        return make_clips(specs, size=d.height, frames=d.frames), [s.caption for s in specs]
    pairs = read_clip_folder(Path(d.path or ""))
    clips = [decode_clip(p, height=d.height, width=d.width, frames=d.frames, stride=d.frame_stride) for p, _ in pairs]
    return np.stack(clips), [c for _, c in pairs]


def to_model_pixels(clips: np.ndarray) -> torch.Tensor:
    """uint8 (N, F, H, W, 3) → float (N, 3, F, H, W) in [-1, 1], the VAE's input."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(clips)).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)


# ----------------------------------------------------------------------------------------------------------------------
# Model pieces
# ----------------------------------------------------------------------------------------------------------------------


def build_vae(cfg: VAEConfig) -> Any:
    """A fresh Wan VAE of the configured size with its scale factors written into its config."""
    from diffusers import AutoencoderKLWan

    p = cfg.patch_size or 1
    return AutoencoderKLWan(
        base_dim=cfg.base_dim,
        z_dim=cfg.z_dim,
        dim_mult=cfg.dim_mult,
        num_res_blocks=cfg.num_res_blocks,
        temperal_downsample=cfg.temperal_downsample,
        is_residual=cfg.is_residual,
        in_channels=3 * p * p,
        out_channels=3 * p * p,
        patch_size=cfg.patch_size,
        latents_mean=[0.0] * cfg.z_dim,
        latents_std=[1.0] * cfg.z_dim,
        scale_factor_temporal=2 ** sum(cfg.temperal_downsample),
        scale_factor_spatial=2 ** len(cfg.temperal_downsample) * p,
    )


def build_text_encoder(cfg: TextEncoderConfig, captions: list[str], max_len: int) -> tuple[Any, Any]:
    """A small frozen UMT5 encoder and its tokenizer, seeded; both save with ``save_pretrained``."""
    import torch
    from transformers import UMT5Config, UMT5EncoderModel

    if cfg.kind == "bytes":
        from transformers import ByT5Tokenizer

        tokenizer = ByT5Tokenizer()
        tokenizer.model_max_length = max_len
    else:
        from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
        from tokenizers.models import WordLevel
        from transformers import PreTrainedTokenizerFast

        words = sorted({w for c in captions for w in c.lower().split()})
        vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2} | {w: i + 3 for i, w in enumerate(words)}
        tok = Tokenizer(WordLevel(vocab=vocab, unk_token="<unk>"))
        tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=max_len
        )
    config = UMT5Config(
        vocab_size=len(tokenizer),
        d_model=cfg.d_model,
        d_kv=cfg.d_model // cfg.num_heads,
        d_ff=cfg.d_ff,
        num_layers=cfg.num_layers,
        num_heads=cfg.num_heads,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
        dropout_rate=0.0,
        feed_forward_proj="gated-gelu",
        pad_token_id=0,
        eos_token_id=1,
    )
    torch.manual_seed(cfg.seed)
    encoder = UMT5EncoderModel(config).eval().requires_grad_(False)
    return tokenizer, encoder


def encode_prompts(tokenizer: Any, text_encoder: Any, prompts: list[str], max_len: int) -> torch.Tensor:
    """Prompt embeddings exactly as Wan pipelines make them: tokens padded to ``max_len``, encoded with the mask,
    positions past each prompt's length zeroed. (B, max_len, d)."""
    import torch
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    ids = tokenizer(
        [prompt_clean(p) for p in prompts],
        padding="max_length",
        max_length=max_len,
        truncation=True,
        add_special_tokens=True,
        return_attention_mask=True,
        return_tensors="pt",
    )
    device = next(text_encoder.parameters()).device
    with torch.no_grad():
        out = text_encoder(ids.input_ids.to(device), ids.attention_mask.to(device)).last_hidden_state.float()
    keep = ids.attention_mask.to(device).unsqueeze(-1).bool()
    return torch.where(keep, out, torch.zeros_like(out))


def build_transformer(cfg: TransformerConfig, *, in_channels: int, text_dim: int) -> Any:
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(
        patch_size=tuple(cfg.patch_size),
        num_attention_heads=cfg.num_attention_heads,
        attention_head_dim=cfg.attention_head_dim,
        in_channels=in_channels,
        out_channels=in_channels,
        text_dim=text_dim,
        freq_dim=cfg.freq_dim,
        ffn_dim=cfg.ffn_dim,
        num_layers=cfg.num_layers,
        rope_max_seq_len=cfg.rope_max_seq_len,
    )


def latent_stats(vae: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) per latent channel from the VAE config, shaped (1, C, 1, 1, 1)."""
    import torch

    c = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean, dtype=torch.float32).view(1, c, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std, dtype=torch.float32).view(1, c, 1, 1, 1)
    return mean, std


def encode_latents(vae: Any, pixels: torch.Tensor, *, batch: int = 16, normalise: bool = True) -> torch.Tensor:
    """Posterior means of pixel clips (N, 3, F, H, W) → latents (N, C, f, h, w), normalised by the VAE's stats."""
    import torch

    device = next(vae.parameters()).device
    outs = []
    with torch.no_grad():
        for i in range(0, pixels.shape[0], batch):
            outs.append(vae.encode(pixels[i : i + batch].to(device)).latent_dist.mean.float().cpu())
    z = torch.cat(outs)
    if normalise:
        mean, std = latent_stats(vae)
        z = (z - mean) / std
    return z


def sample_sigmas(flow: FlowConfig, n: int, generator: torch.Generator) -> torch.Tensor:
    """Noise levels σ ∈ (0, 1) for a batch: logit-normal or uniform, then shifted towards noise by ``flow.shift``."""
    import torch

    if flow.timestep_sampling == "logit_normal":
        u = torch.randn(n, generator=generator) * flow.logit_std + flow.logit_mean
        sigma = torch.sigmoid(u)
    else:
        sigma = torch.rand(n, generator=generator)
    s = flow.shift
    return (s * sigma / (1 + (s - 1) * sigma)).clamp(1e-4, 1 - 1e-4)


def flow_matching_loss(
    forward: Callable[[Any, Any, Any], Any], latents: torch.Tensor, text: Any, sigma: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """Rectified-flow loss: MSE between the predicted and the true velocity ``ε - x_0`` at ``x_t``.

    ``forward(x_t, timesteps, text)`` is the transformer call; timesteps are ``1000 σ``."""
    s = sigma.view(-1, 1, 1, 1, 1).to(latents.dtype)
    x_t = (1 - s) * latents + s * noise
    pred = forward(x_t, sigma * 1000, text)
    return (pred.float() - (noise - latents).float()).pow(2).mean()


def transformer_forward(transformer: Any) -> Callable[[Any, Any, Any], Any]:
    """The plain diffusers call of a Wan transformer as a ``forward(x, t, text)`` for :func:`flow_matching_loss`."""

    def forward(x: Any, t: Any, text: Any) -> Any:
        return transformer(hidden_states=x, timestep=t, encoder_hidden_states=text, return_dict=False)[0]

    return forward


def vae_loss(vae: Any, pixels: torch.Tensor, cfg: VAEConfig, generator: torch.Generator) -> torch.Tensor:
    """Reconstruction (L1 + MSE) plus a small KL towards N(0, 1).

    With ``sample_posterior`` the decoder sees ``μ + σ ε``; without it, ``μ`` (an autoencoder with a KL-regularised
    code — what the DiT is trained on anyway, since training and sampling use the posterior mean)."""
    import torch

    post = vae.encode(pixels).latent_dist
    z = post.mean
    if cfg.sample_posterior:
        eps = torch.randn(post.mean.shape, generator=generator).to(post.mean.device, post.mean.dtype)
        z = post.mean + post.std * eps
    rec = vae.decode(z).sample
    diff = rec.float() - pixels.float()
    kl = 0.5 * (post.mean.pow(2) + post.var - 1 - post.logvar).mean()
    return cfg.l1_weight * diff.abs().mean() + cfg.mse_weight * diff.pow(2).mean() + cfg.kl_weight * kl


def lr_at(step: int, o: OptimConfig) -> float:
    """Linear warm-up then cosine decay to ``min_lr_ratio``."""
    if o.warmup_steps and step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    t = (step - o.warmup_steps) / max(1, o.max_steps - o.warmup_steps)
    return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


# ----------------------------------------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------------------------------------


def config_fingerprint(cfg: TrainConfig) -> str:
    """Hash of everything that must not change across a resume (all but step count, logging and checkpointing)."""
    d = cfg.model_dump(mode="json")
    for k in ("checkpoint_every", "keep_checkpoints", "log_every", "num_threads"):
        d.pop(k, None)
    d["optim"].pop("max_steps", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def latest_checkpoint(out: Path) -> Path | None:
    ckpts = sorted((out / "checkpoints").glob("step_*")) if (out / "checkpoints").is_dir() else []
    return ckpts[-1] if ckpts else None


def _save_checkpoint(
    out: Path, step: int, trainable: dict[str, Any], opt: Any, gen: Any, fingerprint: str, keep: int
) -> Path:
    """Write ``checkpoints/step_NNNNNN`` via a temporary folder and a rename; prune old ones."""
    import torch
    from safetensors.torch import save_file

    root = out / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:07d}"
    tmp = root / f".tmp_step_{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.detach().contiguous().cpu() for k, v in trainable.items()}, str(tmp / "trainable.safetensors"))
    torch.save({"optimizer": opt.state_dict(), "generator": gen.get_state()}, tmp / "state.pt")
    write_atomic(tmp / "state.json", json.dumps({"step": step, "fingerprint": fingerprint}))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in sorted(root.glob("step_*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _load_state(path: Path) -> dict[str, Any]:
    """The optimizer and generator state of a checkpoint, loaded as tensors and plain containers only
    (``weights_only=True``): a tampered ``state.pt`` cannot run code when a run is resumed."""
    import pickle

    import torch

    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise ConfigError(
            f"{path} holds objects other than tensors and plain values, so it is not loaded ({exc}); "
            "it was not written by adloom: delete that checkpoint folder to resume from the one before"
        ) from exc
    return state


# ----------------------------------------------------------------------------------------------------------------------
# The loop
# ----------------------------------------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What a run left behind."""

    mode: str
    output_dir: Path
    step: int
    last_loss: float
    export_dir: Path
    log_path: Path
    resumed_from: int


ProgressFn = Callable[[int, int, float], None]


@dataclass
class _Task:
    """The mode-specific parts of a run: the module whose parameters train, the loss of one batch, the export."""

    module: Any
    trainable: Callable[[], dict[str, Any]]
    load_trainable: Callable[[dict[str, Any]], None]
    batch_loss: Callable[[Any], Any]
    export: Callable[[Path], Path]


def _device(cfg: TrainConfig) -> str:
    import torch

    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for but no CUDA GPU is visible; set device: cpu (or auto)")
    return "cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu"


def _load_vae(path: str) -> Any:
    from diffusers import AutoencoderKLWan

    p = Path(path)
    sub = p / "vae" if (p / "vae" / "config.json").is_file() else p
    if not (sub / "config.json").is_file():
        raise NotFoundError(f"vae.path {p} holds no VAE (no config.json); train one with mode vae or fix the path")
    return AutoencoderKLWan.from_pretrained(sub)


def _vae_task(cfg: TrainConfig, device: str, gen: Any, pixels: Any) -> _Task:
    vae = build_vae(cfg.vae).to(device)

    def batch_loss(idx: Any) -> Any:
        return vae_loss(vae, pixels[idx].to(device), cfg.vae, gen)

    def export(out: Path) -> Path:
        z = encode_latents(vae, pixels[: min(len(pixels), 256)], normalise=False)
        mean = z.mean(dim=(0, 2, 3, 4))
        std = z.std(dim=(0, 2, 3, 4)).clamp_min(1e-3)
        vae.register_to_config(latents_mean=mean.tolist(), latents_std=std.tolist())
        target = out / "vae"
        vae.save_pretrained(target)
        return target

    def trainable() -> dict[str, Any]:
        return dict(vae.state_dict())

    def load(sd: dict[str, Any]) -> None:
        vae.load_state_dict(sd)

    return _Task(vae, trainable, load, batch_loss, export)


def _text_parts(cfg: TrainConfig, out: Path, captions: list[str], max_len: int) -> tuple[Any, Any]:
    """The frozen text encoder of a from-scratch model, built once and stored in the run folder so resume reuses it."""
    from transformers import AutoTokenizer, UMT5EncoderModel

    store = out / "text_init"
    if (store / "text_encoder" / "config.json").is_file():
        return AutoTokenizer.from_pretrained(store / "tokenizer"), UMT5EncoderModel.from_pretrained(
            store / "text_encoder"
        ).eval().requires_grad_(False)
    from adloom.creative.video.toy.dataset import vocabulary

    extra = [" ".join(vocabulary())] if cfg.data.kind == "toy" else []
    tokenizer, encoder = build_text_encoder(cfg.text_encoder, captions + extra, max_len)
    tokenizer.save_pretrained(store / "tokenizer")
    encoder.save_pretrained(store / "text_encoder")
    return tokenizer, encoder


def _dit_task(cfg: TrainConfig, device: str, gen: Any, pixels: Any, captions: list[str], out: Path) -> _Task:
    """A Wan transformer from scratch over a trained VAE, with a small frozen text encoder."""
    import torch

    vae = _load_vae(cfg.vae.path or "").eval().requires_grad_(False)
    max_len = cfg.flow.max_sequence_length or 16
    tokenizer, text_encoder = _text_parts(cfg, out, captions, max_len)
    torch.manual_seed(cfg.seed)
    transformer = build_transformer(cfg.transformer, in_channels=vae.config.z_dim, text_dim=text_encoder.config.d_model)
    latents = encode_latents(vae, pixels)  # (N, C, f, h, w), unit-scale
    uniq = sorted(set(captions))
    table = encode_prompts(tokenizer, text_encoder, uniq + [""], max_len).cpu()
    cap_idx = torch.tensor([uniq.index(c) for c in captions])
    transformer.to(device)
    if cfg.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    transformer.train()
    forward = transformer_forward(transformer)

    def batch_loss(idx: Any) -> Any:
        text_idx = _drop_captions(cfg, gen, cap_idx[idx], len(uniq))
        return _flow_batch(cfg, gen, forward, latents[idx], table[text_idx].to(device), device)

    def trainable() -> dict[str, Any]:
        return dict(transformer.state_dict())

    def load(sd: dict[str, Any]) -> None:
        transformer.load_state_dict(sd)

    def export(out: Path) -> Path:
        from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

        target = out / "pipeline"
        transformer.eval()
        pipe = WanPipeline(
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            transformer=transformer.to("cpu"),
            vae=vae,
            scheduler=FlowMatchEulerDiscreteScheduler(shift=cfg.flow.shift),
        )
        pipe.save_pretrained(target, safe_serialization=True)
        transformer.to(device).train()
        return target

    return _Task(transformer, trainable, load, batch_loss, export)


def _drop_captions(cfg: TrainConfig, gen: Any, idx: Any, empty: int) -> Any:
    """Caption indices with a ``flow.caption_dropout`` share replaced by the empty prompt (trains the unconditional
    branch classifier-free guidance needs)."""
    import torch

    drop = torch.rand(len(idx), generator=gen) < cfg.flow.caption_dropout
    return torch.where(drop, torch.full_like(idx, empty), idx)


def _flow_batch(cfg: TrainConfig, gen: Any, forward: Any, x0: Any, text: Any, device: str) -> Any:
    """Draw noise and σ for a batch of clean latents and return its flow-matching loss."""
    import torch

    noise = torch.randn(x0.shape, generator=gen)
    sigma = sample_sigmas(cfg.flow, x0.shape[0], gen)
    return flow_matching_loss(forward, x0.to(device), text, sigma.to(device), noise.to(device))


def _checkpoint_blocks(transformer: Any) -> None:
    """Recompute each transformer block's activations in backward. The family forward in :mod:`.wan`/:mod:`.ltx`
    calls the blocks itself (not ``transformer.forward``), so diffusers' own gradient-checkpointing flag would not
    reach them; wrapping each block's ``forward`` does."""
    from torch.utils.checkpoint import checkpoint

    blocks = getattr(transformer, "blocks", None) or getattr(transformer, "transformer_blocks", None)
    if blocks is None:
        raise ConfigError(f"gradient_checkpointing: {type(transformer).__name__} has no block list to checkpoint")
    for block in blocks:
        inner = block.forward

        def forward(*args: Any, _inner: Any = inner, **kwargs: Any) -> Any:
            return checkpoint(_inner, *args, use_reentrant=False, **kwargs)

        block.forward = forward


def _lora_task(cfg: TrainConfig, device: str, gen: Any, pixels: Any, captions: list[str]) -> _Task:
    """peft LoRA on the attention projections of a loaded model's transformer; everything else frozen.

    Latents, prompt embeddings and the transformer call go through the model family's own functions (the ones
    :class:`VideoPipeline` samples with), so what is trained is exactly what is sampled."""
    import torch
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

    from adloom.creative.video.models import load_video_model

    vm = load_video_model(cfg.base_model or "", device=device, dtype="fp32")
    fam = vm.fam
    f, h, w = pixels.shape[2:]
    if (f - 1) % vm.temporal_factor or h % vm.spatial_factor or w % vm.spatial_factor:
        raise ConfigError(
            f"data is {f} frames of {w}×{h}, which this {vm.family} model cannot take: frames must be "
            f"{vm.temporal_factor}k+1 and sides multiples of {vm.spatial_factor}; change data.frames/height/width"
        )
    latents = torch.cat([fam.encode_frames(vm, pixels[i : i + 8]).cpu() for i in range(0, len(pixels), 8)])
    uniq = sorted(set(captions))
    max_len = cfg.flow.max_sequence_length or vm.max_sequence_length
    with torch.no_grad():
        table, table_mask = fam.encode_prompt(vm, uniq + [""], max_len, torch.device(device))
    cap_idx = torch.tensor([uniq.index(c) for c in captions])
    transformer = vm.transformer
    transformer.requires_grad_(False)
    transformer.add_adapter(
        LoraConfig(
            r=cfg.lora.rank,
            lora_alpha=cfg.lora.alpha,
            lora_dropout=cfg.lora.dropout,
            init_lora_weights=True,
            target_modules=cfg.lora.target_modules,
        )
    )
    if cfg.gradient_checkpointing:
        _checkpoint_blocks(transformer)
    transformer.train()

    def batch_loss(idx: Any) -> Any:
        text_idx = _drop_captions(cfg, gen, cap_idx[idx], len(uniq))
        mask = None if table_mask is None else table_mask[text_idx.to(table_mask.device)]

        def forward(x: Any, t: Any, text: Any) -> Any:
            return fam.forward(vm, x, t, text, mask, frame_rate=vm.fps)

        return _flow_batch(cfg, gen, forward, latents[idx], table[text_idx.to(table.device)], device)

    def trainable() -> dict[str, Any]:
        return get_peft_model_state_dict(transformer)

    def load(sd: dict[str, Any]) -> None:
        set_peft_model_state_dict(transformer, sd)

    def export(out: Path) -> Path:
        target = out / "lora"
        target.mkdir(parents=True, exist_ok=True)
        pipe_cls = type(vm.diffusers_pipeline())
        pipe_cls.save_lora_weights(target, transformer_lora_layers=get_peft_model_state_dict(transformer))
        write_atomic(target / "lora_config.json", cfg.lora.model_dump_json(indent=2))
        return target

    return _Task(transformer, trainable, load, batch_loss, export)


def train(
    config: TrainConfig | str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: ProgressFn | None = None,
    max_steps: int | None = None,
    stop_at: int | None = None,
) -> TrainResult:
    """Run (or resume) one training run; returns where its export and log are.

    ``progress(step, total, loss)`` is called after every step (the CLI draws a bar with it). ``max_steps``
    overrides the config's (a resumed run may be extended). ``stop_at`` ends the run early at that step, after a
    checkpoint, without changing the schedule — an interruption you can resume from (tests use it)."""
    import torch

    cfg = config if isinstance(config, TrainConfig) else load_config(config)[0]
    if max_steps is not None:
        cfg = cfg.model_copy(update={"optim": cfg.optim.model_copy(update={"max_steps": max_steps})})
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch.set_flush_denormal(True)  # denormals slowed a CPU run 6× (OFFLINE_MODELS.md)
    device = _device(cfg)
    use_bf16 = cfg.mixed_precision == "bf16" or (cfg.mixed_precision == "auto" and device == "cuda")
    if use_bf16 and device != "cuda":
        raise ConfigError("mixed_precision: bf16 autocast is for CUDA; set mixed_precision: no (or auto) on CPU")

    out = Path(cfg.output_dir)
    ckpt = latest_checkpoint(out)
    if ckpt is not None and not resume:
        raise InputError(
            f"{out} already holds checkpoints (latest {ckpt.name}); pass --resume to continue it or choose another "
            "output_dir",
            field="output_dir",
        )
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = config_fingerprint(cfg)
    write_atomic(out / "config.yaml", yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    clips, captions = load_pixel_pool(cfg)
    pixels = to_model_pixels(clips)
    if cfg.mode == "vae":
        task = _vae_task(cfg, device, gen, pixels)
    elif cfg.mode == "dit":
        task = _dit_task(cfg, device, gen, pixels, captions, out)
    else:
        task = _lora_task(cfg, device, gen, pixels, captions)
    params = [p for p in task.module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.optim.lr, betas=cfg.optim.betas, weight_decay=cfg.optim.weight_decay)

    start = 0
    if resume and ckpt is not None:
        from safetensors.torch import load_file

        meta = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
        if meta["fingerprint"] != fingerprint:
            raise ConfigError(
                f"{ckpt} was written by a different config (model, data or optimiser settings changed); "
                "restore the original config or train into a new output_dir"
            )
        task.load_trainable({k: v.to(device) for k, v in load_file(str(ckpt / "trainable.safetensors")).items()})
        state = _load_state(ckpt / "state.pt")
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        start = int(meta["step"])

    log_path = out / "loss.jsonl"
    n, bs = len(pixels), cfg.optim.batch_size
    loss_val = float("nan")
    window: list[float] = []
    t0 = time.perf_counter()
    with log_path.open("a", encoding="utf-8") as log:
        for step in range(start, cfg.optim.max_steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg.optim)
            idx = torch.randint(0, n, (bs,), generator=gen)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
                loss = task.batch_loss(idx)
            if not torch.isfinite(loss):
                raise ConfigError(
                    f"loss became {loss.item()} at step {step}; lower optim.lr (now {cfg.optim.lr}) or resume from "
                    "the last checkpoint"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
            opt.step()
            loss_val = float(loss.detach())
            window.append(loss_val)
            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.optim.max_steps:
                row = {
                    "step": done,
                    "loss": loss_val,
                    "loss_avg": sum(window) / len(window),
                    "lr": lr_at(step, cfg.optim),
                    "clips_per_s": len(window) * bs / max(1e-9, time.perf_counter() - t0),
                    "time": time.time(),
                }
                log.write(json.dumps(row) + "\n")
                log.flush()
                window.clear()
                t0 = time.perf_counter()
            interrupted = stop_at is not None and done >= stop_at
            if done % cfg.checkpoint_every == 0 or done == cfg.optim.max_steps or interrupted:
                _save_checkpoint(out, done, task.trainable(), opt, gen, fingerprint, cfg.keep_checkpoints)
            if progress is not None:
                progress(done, cfg.optim.max_steps, loss_val)
            if interrupted:
                return TrainResult(cfg.mode, out, done, loss_val, out / "checkpoints", log_path, start)
    export_dir = task.export(out)
    return TrainResult(cfg.mode, out, max(start, cfg.optim.max_steps), loss_val, export_dir, log_path, start)
