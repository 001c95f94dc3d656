"""Wan 2.x: ``WanTransformer3DModel`` over the ``AutoencoderKLWan`` latent, UMT5 text encoder.

Our forward re-states ``WanTransformer3DModel.forward`` (diffusers 0.42) layer by
layer so the block loop is ours (anchoring, per-token timesteps); step caching
(:mod:`.cache`) is diffusers' First Block Cache hooked onto the blocks. With no
cache it computes exactly what the diffusers forward computes (``test_models.py`` checks ``torch.equal``).

Conditioning. Wan 2.1 T2V checkpoints take no image input, so image-to-video,
first+last frame, extension and the camera guide use *latent anchoring by
replacement*: the anchored latent frames are re-noised to the current σ of the
flow path (x_σ = (1 − σ)·z + σ·ε, with the same ε the sample started from) after
every step, and set to z at σ = 0. Checkpoints saved with ``expand_timesteps``
(Wan 2.2 TI2V) take per-token timesteps natively: anchored tokens get t = 0 and
keep their clean latent, as diffusers' Wan 2.2 pipeline does. Image-to-video
checkpoints (Wan 2.1 I2V/FLF2V: 36 input channels = latents + 4 mask channels +
the VAE latents of a conditioning video, plus CLIP image tokens when
``image_dim`` is set) are conditioned natively through that channel concat, as
``WanImageToVideoPipeline`` does; we build the conditioning video from whatever
frames are known (first image, last image, or the tail of a clip to extend).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from adloom.creative.video.models import VideoModel

FAMILY = "wan"
FPS = 16
MAX_SEQUENCE_LENGTH = 512
DEFAULT_SHIFT = 3.0  # Wan 2.1 at 480p (its scheduler's flow_shift); 5.0 is recommended at 720p


def spatial_factor(model: VideoModel) -> int:
    """Pixels per token side: VAE spatial downsampling × transformer patch."""
    return int(model.vae.config.scale_factor_spatial) * int(model.transformer.config.patch_size[1])


def temporal_factor(model: VideoModel) -> int:
    return int(model.vae.config.scale_factor_temporal)


def latent_channels(model: VideoModel) -> int:
    return int(model.transformer.config.out_channels or model.transformer.config.in_channels)


def latent_shape(model: VideoModel, batch: int, frames: int, height: int, width: int) -> tuple[int, ...]:
    s = int(model.vae.config.scale_factor_spatial)
    return (batch, latent_channels(model), (frames - 1) // temporal_factor(model) + 1, height // s, width // s)


def token_grid(model: VideoModel, latent_hw: tuple[int, int]) -> tuple[int, int]:
    p = model.transformer.config.patch_size
    return latent_hw[0] // p[1], latent_hw[1] // p[2]


def supports_token_timesteps(model: VideoModel) -> bool:
    """True for Wan 2.2 TI2V-style checkpoints trained with per-token timesteps (``expand_timesteps``)."""
    return bool(model.extra.get("expand_timesteps", False))


def concat_channels(model: VideoModel) -> int:
    """Extra input channels of an image-to-video checkpoint (4 mask + C latent), 0 for text-to-video."""
    cfg = model.transformer.config
    return int(cfg.in_channels) - latent_channels(model)


def check_supported(model: VideoModel) -> str | None:
    """A reason this checkpoint cannot run through our loop, or None."""
    cfg = model.transformer.config
    extra = concat_channels(model)
    if extra not in (0, temporal_factor(model) + latent_channels(model)):
        return (
            f"this Wan checkpoint takes {cfg.in_channels} input channels for {latent_channels(model)} latent "
            f"channels; only text-to-video (equal) and image-to-video (+{temporal_factor(model)} mask "
            f"+{latent_channels(model)} condition) layouts are supported"
        )
    if cfg.image_dim is not None and model.image_encoder is None:
        return (
            f"this Wan image-to-video checkpoint expects CLIP image tokens (image_dim={cfg.image_dim}) but the folder "
            "has no image_encoder/ and image_processor/; use the complete diffusers folder"
        )
    return None


@torch.no_grad()
def image_embeds(model: VideoModel, images: list, device: torch.device) -> torch.Tensor | None:
    """CLIP penultimate hidden states of the conditioning images (Wan 2.1 I2V), or None for other checkpoints."""
    if model.transformer.config.image_dim is None or model.image_encoder is None:
        return None
    enc_device = next(model.image_encoder.parameters()).device
    inputs = model.image_processor(images=images, return_tensors="pt").to(enc_device)
    return model.image_encoder(**inputs, output_hidden_states=True).hidden_states[-2].to(device)


@torch.no_grad()
def concat_condition(model: VideoModel, video: torch.Tensor, known: list[bool]) -> torch.Tensor:
    """(1, 4 + C, F', h, w): the latent mask and latents of ``video`` (pixels in [-1, 1], unknown frames 0), as
    ``WanImageToVideoPipeline.prepare_latents`` builds them, generalised to any set of ``known`` frames."""
    z = encode_frames(model, video)  # (1, C, F', h, w), normalised
    t = temporal_factor(model)
    frames = video.shape[2]
    m = torch.tensor([1.0 if k else 0.0 for k in known]).view(1, 1, frames, 1, 1).expand(1, 1, frames, *z.shape[3:])
    m = torch.cat([m[:, :, :1].repeat_interleave(t, dim=2), m[:, :, 1:]], dim=2)  # first frame ×T: (1, 1, T·F', h, w)
    m = m.reshape(1, -1, t, *z.shape[3:]).transpose(1, 2)  # (1, T, F', h, w)
    return torch.cat([m.to(z.device, z.dtype), z], dim=1)


def encode_prompt(
    model: VideoModel, prompts: list[str], max_sequence_length: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """UMT5 embeddings zero-padded after each prompt's length, as ``WanPipeline._get_t5_prompt_embeds``."""
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    prompts = [prompt_clean(p) for p in prompts]
    inputs = model.tokenizer(
        prompts,
        padding="max_length",
        max_length=max_sequence_length,
        truncation=True,
        add_special_tokens=True,
        return_attention_mask=True,
        return_tensors="pt",
    )
    ids, mask = inputs.input_ids, inputs.attention_mask
    seq_lens = mask.gt(0).sum(dim=1).long()
    te_device = next(model.text_encoder.parameters()).device
    embeds = model.text_encoder(ids.to(te_device), mask.to(te_device)).last_hidden_state
    embeds = embeds.to(dtype=model.transformer.dtype, device=device)
    embeds = torch.stack(
        [
            torch.cat([u[:v], u.new_zeros(max_sequence_length - int(v), u.size(1))])
            for u, v in zip(embeds, seq_lens, strict=True)
        ]
    )
    return embeds, None


def _stats(model: VideoModel, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    c = model.vae.config
    mean = torch.tensor(c.latents_mean).view(1, c.z_dim, 1, 1, 1).to(z.device, z.dtype)
    inv_std = 1.0 / torch.tensor(c.latents_std).view(1, c.z_dim, 1, 1, 1).to(z.device, z.dtype)
    return mean, inv_std


@torch.no_grad()
def encode_frames(model: VideoModel, video: torch.Tensor) -> torch.Tensor:
    """Pixels in [-1, 1], (B, 3, F, H, W) → normalised latents (B, C, F', H/s, W/s), the VAE posterior's mode."""
    vae = model.vae
    dev = next(vae.parameters()).device
    z = vae.encode(video.to(dev, vae.dtype)).latent_dist.mode()
    mean, inv_std = _stats(model, z)
    return ((z - mean) * inv_std).to(torch.float32)


@torch.no_grad()
def decode(model: VideoModel, latents: torch.Tensor) -> torch.Tensor:
    """Normalised latents → pixels in [-1, 1], (B, 3, F, H, W); the same arithmetic as ``WanPipeline``."""
    vae = model.vae
    latents = latents.to(next(vae.parameters()).device, dtype=vae.dtype)
    mean, inv_std = _stats(model, latents)
    latents = latents / inv_std + mean
    return vae.decode(latents, return_dict=False)[0]


def forward(
    model: VideoModel,
    x: torch.Tensor,
    timestep: torch.Tensor,
    text: torch.Tensor,
    text_mask: torch.Tensor | None,
    *,
    image_embeds: torch.Tensor | None = None,
    **_: Any,
) -> torch.Tensor:
    """Velocity for latents ``x`` (B, C, F, H, W) at ``timestep`` (B,) or per token (B, L).

    Image-to-video checkpoints take ``x`` with the conditioning channels already concatenated and,
    for Wan 2.1 I2V, the CLIP ``image_embeds`` (B, L_img, D_clip)."""
    tr = model.transformer
    batch, _, frames, height, width = x.shape
    p_t, p_h, p_w = tr.config.patch_size
    pf, ph, pw = frames // p_t, height // p_h, width // p_w

    rotary = tr.rope(x)
    h = tr.patch_embedding(x).flatten(2).transpose(1, 2).contiguous()  # (B, L, D)
    ts_seq_len = None
    if timestep.ndim == 2:
        ts_seq_len = timestep.shape[1]
        timestep = timestep.flatten()  # (B·L,)
    temb, tproj, text, img = tr.condition_embedder(timestep, text, image_embeds, timestep_seq_len=ts_seq_len)
    tproj = tproj.unflatten(2, (6, -1)) if ts_seq_len is not None else tproj.unflatten(1, (6, -1))  # (B[,L], 6, D)
    if img is not None:
        text = torch.concat([img, text], dim=1)  # image tokens first, as diffusers

    for block in tr.blocks:  # step caching, when on, is diffusers' hooks on these blocks (see .cache)
        h = block(h, text, tproj, rotary)

    if temb.ndim == 3:  # per-token timesteps: (B, L, D)
        shift, scale = (tr.scale_shift_table.unsqueeze(0).to(temb.device) + temb.unsqueeze(2)).chunk(2, dim=2)
        shift, scale = shift.squeeze(2), scale.squeeze(2)
    else:
        shift, scale = (tr.scale_shift_table.to(temb.device) + temb.unsqueeze(1)).chunk(2, dim=1)
    shift, scale = shift.to(h.device), scale.to(h.device)
    h = (tr.norm_out(h.float()) * (1 + scale) + shift).type_as(h)
    h = tr.proj_out(h)  # (B, L, C·p_t·p_h·p_w)
    h = h.reshape(batch, pf, ph, pw, p_t, p_h, p_w, -1).permute(0, 7, 1, 4, 2, 5, 3, 6)
    return h.flatten(6, 7).flatten(4, 5).flatten(2, 3)  # (B, C, F, H, W)


def token_timesteps(model: VideoModel, t: torch.Tensor, mask: torch.Tensor, batch: int) -> torch.Tensor:
    """Per-token timesteps (B, L): ``t`` everywhere, 0 where ``mask`` (1, 1, F, H, W) marks anchored latents."""
    p = model.transformer.config.patch_size
    m = mask[0, 0][:: p[0], :: p[1], :: p[2]].to(torch.float32)
    return ((1 - m) * t).flatten().unsqueeze(0).expand(batch, -1)


def diffusers_pipeline(model: VideoModel, scheduler: Any) -> Any:
    """A ``WanPipeline`` sharing this model's modules (for the reference comparison and saving)."""
    if concat_channels(model):
        from diffusers import WanImageToVideoPipeline

        return WanImageToVideoPipeline(
            tokenizer=model.tokenizer,
            text_encoder=model.text_encoder,
            vae=model.vae,
            scheduler=scheduler,
            image_processor=model.image_processor,
            image_encoder=model.image_encoder,
            transformer=model.transformer,
            expand_timesteps=bool(model.extra.get("expand_timesteps", False)),
        )
    from diffusers import WanPipeline

    return WanPipeline(
        tokenizer=model.tokenizer,
        text_encoder=model.text_encoder,
        vae=model.vae,
        scheduler=scheduler,
        transformer=model.transformer,
        expand_timesteps=bool(model.extra.get("expand_timesteps", False)),
    )
