"""LTX-Video: ``LTXVideoTransformer3DModel`` over ``AutoencoderKLLTXVideo``, T5 text encoder.

Our forward re-states ``LTXVideoTransformer3DModel.forward`` (diffusers 0.42) so
the block loop is ours (step caching is diffusers' First Block Cache hooked onto
its blocks, see :mod:`.cache`). Latents stay (B, C, F, H, W) in the loop and are
packed into tokens only inside :func:`forward`.

Conditioning is native: LTX-Video was trained with per-token timesteps, so
anchored latent frames (the product image as frame 0, a last frame, the tail of
a clip being extended) get timestep 0 and keep their clean latents through the
loop, as diffusers' ``LTXImageToVideoPipeline`` does for its first frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from adloom.creative.video.models import VideoModel

FAMILY = "ltx"
FPS = 25
MAX_SEQUENCE_LENGTH = 128
LINSPACE_SIGMAS = True  # LTXPipeline passes σ = linspace(1, 1/n, n) with a dynamic shift
FLOAT_VELOCITY = True  # LTXPipeline upcasts the prediction before guidance


def spatial_factor(model: VideoModel) -> int:
    return int(model.vae.spatial_compression_ratio) * int(model.transformer.config.patch_size)


def temporal_factor(model: VideoModel) -> int:
    return int(model.vae.temporal_compression_ratio) * int(model.transformer.config.patch_size_t)


def latent_channels(model: VideoModel) -> int:
    return int(model.transformer.config.in_channels)


def latent_shape(model: VideoModel, batch: int, frames: int, height: int, width: int) -> tuple[int, ...]:
    s = int(model.vae.spatial_compression_ratio)
    t = int(model.vae.temporal_compression_ratio)
    return (batch, int(model.vae.config.latent_channels), (frames - 1) // t + 1, height // s, width // s)


def supports_token_timesteps(model: VideoModel) -> bool:
    return True


def concat_channels(model: VideoModel) -> int:
    return 0


def image_embeds(model: VideoModel, images: list, device: torch.device) -> None:
    return None


def check_supported(model: VideoModel) -> str | None:
    return None


def encode_prompt(
    model: VideoModel, prompts: list[str], max_sequence_length: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """T5 embeddings and the boolean token mask, as ``LTXPipeline._get_t5_prompt_embeds``."""
    inputs = model.tokenizer(
        prompts,
        padding="max_length",
        max_length=max_sequence_length,
        truncation=True,
        add_special_tokens=True,
        return_tensors="pt",
    )
    te_device = next(model.text_encoder.parameters()).device
    embeds = model.text_encoder(inputs.input_ids.to(te_device))[0]
    return embeds.to(dtype=model.transformer.dtype, device=device), inputs.attention_mask.bool().to(device)


def _stats(model: VideoModel, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = model.vae.latents_mean.view(1, -1, 1, 1, 1).to(z.device, z.dtype)
    std = model.vae.latents_std.view(1, -1, 1, 1, 1).to(z.device, z.dtype)
    return mean, std


@torch.no_grad()
def encode_frames(model: VideoModel, video: torch.Tensor) -> torch.Tensor:
    """Pixels in [-1, 1] (B, 3, F, H, W) → normalised latents; the posterior's mode (deterministic)."""
    vae = model.vae
    z = vae.encode(video.to(next(vae.parameters()).device, vae.dtype)).latent_dist.mode()
    mean, std = _stats(model, z)
    return ((z - mean) * float(vae.config.scaling_factor) / std).to(torch.float32)


@torch.no_grad()
def decode(model: VideoModel, latents: torch.Tensor) -> torch.Tensor:
    """Normalised latents → pixels in [-1, 1], (B, 3, F, H, W) (decode timestep 0, no decode noise)."""
    vae = model.vae
    latents = latents.to(next(vae.parameters()).device, dtype=vae.dtype)
    mean, std = _stats(model, latents)
    latents = latents * std / float(vae.config.scaling_factor) + mean
    temb = None
    if vae.config.timestep_conditioning:
        temb = torch.zeros(latents.shape[0], device=latents.device, dtype=latents.dtype)
    return vae.decode(latents, temb, return_dict=False)[0]


def pack(latents: torch.Tensor, p: int, pt: int) -> torch.Tensor:
    """(B, C, F, H, W) → tokens (B, F/pt·H/p·W/p, C·pt·p·p), as ``LTXPipeline._pack_latents``."""
    b, _, f, h, w = latents.shape
    latents = latents.reshape(b, -1, f // pt, pt, h // p, p, w // p, p)
    return latents.permute(0, 2, 4, 6, 1, 3, 5, 7).flatten(4, 7).flatten(1, 3)


def unpack(tokens: torch.Tensor, f: int, h: int, w: int, p: int, pt: int) -> torch.Tensor:
    """Inverse of :func:`pack`; ``f, h, w`` are the token grid sizes."""
    b = tokens.size(0)
    x = tokens.reshape(b, f, h, w, -1, pt, p, p)
    return x.permute(0, 4, 1, 5, 2, 6, 3, 7).flatten(6, 7).flatten(4, 5).flatten(2, 3)


def forward(
    model: VideoModel,
    x: torch.Tensor,
    timestep: torch.Tensor,
    text: torch.Tensor,
    text_mask: torch.Tensor | None,
    *,
    frame_rate: float = FPS,
    **_: Any,
) -> torch.Tensor:
    """Velocity for latents ``x`` (B, C, F, H, W) at ``timestep`` (B,) or per token (B, L)."""
    tr = model.transformer
    p, pt = int(tr.config.patch_size), int(tr.config.patch_size_t)
    batch, _, frames, height, width = x.shape
    nf, nh, nw = frames // pt, height // p, width // p
    hidden = pack(x, p, pt)  # (B, L, C')
    rope_scale = (
        model.vae.temporal_compression_ratio / frame_rate,
        model.vae.spatial_compression_ratio,
        model.vae.spatial_compression_ratio,
    )
    rotary = tr.rope(hidden, nf, nh, nw, rope_scale, None)

    mask = None
    if text_mask is not None:
        mask = ((1 - text_mask.to(hidden.dtype)) * -10000.0).unsqueeze(1)  # (B, 1, T) additive bias

    h = tr.proj_in(hidden)  # (B, L, D)
    temb, embedded_t = tr.time_embed(timestep.flatten(), batch_size=batch, hidden_dtype=h.dtype)
    temb = temb.view(batch, -1, temb.size(-1))
    embedded_t = embedded_t.view(batch, -1, embedded_t.size(-1))
    text = tr.caption_projection(text).view(batch, -1, h.size(-1))

    for block in tr.transformer_blocks:  # step caching, when on, is diffusers' hooks on these blocks (see .cache)
        h = block(
            hidden_states=h,
            encoder_hidden_states=text,
            temb=temb,
            image_rotary_emb=rotary,
            encoder_attention_mask=mask,
        )

    ss = tr.scale_shift_table[None, None] + embedded_t[:, :, None]
    shift, scale = ss[:, :, 0], ss[:, :, 1]
    h = tr.norm_out(h) * (1 + scale) + shift
    out = tr.proj_out(h)  # (B, L, C')
    return unpack(out, nf, nh, nw, p, pt)


def token_timesteps(model: VideoModel, t: torch.Tensor, mask: torch.Tensor, batch: int) -> torch.Tensor:
    """Per-token timesteps (B, L): 0 for anchored latents marked in ``mask`` (1, 1, F, H, W)."""
    p, pt = int(model.transformer.config.patch_size), int(model.transformer.config.patch_size_t)
    m = pack(mask.to(torch.float32), p, pt)[..., 0]  # (1, L) (any element of a patch marks it)
    return ((1 - m) * t).expand(batch, -1)


def diffusers_pipeline(model: VideoModel, scheduler: Any) -> Any:
    from diffusers import LTXPipeline

    return LTXPipeline(
        scheduler=scheduler,
        vae=model.vae,
        text_encoder=model.text_encoder,
        tokenizer=model.tokenizer,
        transformer=model.transformer,
    )
