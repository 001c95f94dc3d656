"""Our video pipeline: the denoising loop for every mode, written out in full.

Interface (stable; the training helper and the CLI rely on it)::

    model = load_video_model("models/wan2.1-t2v-1.3b")          # or build_tiny("wan")
    result = VideoPipeline(model)(VideoRequest(prompt="a red mug on a desk", aspect="9:16",
                                               num_frames=33, steps=30, seed=7))
    result.frames    # uint8 numpy (B, F, H, W, 3); B = number of prompts
    result.seeds     # one seed per video; result.timings (encode_s, denoise_s, decode_s, total_s, step_s)

:class:`VideoRequest` fields: ``prompt`` (str, or a list to batch several prompts
in one call), ``negative_prompt``, ``width``/``height`` (or ``aspect`` +
``bucket``), ``num_frames``, ``steps``, ``guidance_scale``, ``shift``, ``seed``
(int: seed, seed+1, … per prompt; or a list), ``image`` (first-frame anchor,
e.g. the product photo), ``last_image`` (last-frame anchor), ``extend_frames``
(a clip to continue: array (F, H, W, 3) or a path), ``extend_latent_frames``,
``camera`` ("push_in:0.5", see :mod:`.camera`), ``camera_guide``,
``cache_threshold`` (0 = off, see :mod:`.cache`).

The loop (one step): latents → per-token or per-sample timestep → ONE
transformer forward over [uncond; cond] (classifier-free guidance batched) →
v = v_u + g·(v_c − v_u) → Euler step (:mod:`.sampler`) → re-anchor conditioned
latent frames. Conditioning frames are VAE-encoded and used the way the
checkpoint can take them: on Wan image-to-video checkpoints natively as mask +
latent channels (+ CLIP image tokens), exactly as ``WanImageToVideoPipeline``;
on LTX-Video and Wan 2.2 TI2V natively by per-token timestep 0; on Wan 2.1 T2V
by latent anchoring (replacement with the re-noised anchor, see :mod:`.wan`).
Which way was used is listed in ``VideoResult.conditioning``.
``cfg_batched=False`` runs guidance as two forwards in diffusers' order (for
bit-exact comparisons with diffusers' Wan pipelines).

Errors: sizes/frames the model cannot take, missing images or clips and
conflicting modes raise :class:`InputError` naming the value and the fix; running
out of GPU memory raises :class:`VideoOutOfMemoryError` with what to change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.creative.video.buckets import bucket_size, check_frames, check_size
from adloom.creative.video.cache import cache_step, make_cache
from adloom.creative.video.camera import CameraMove, camera_prompt, parse_camera, warp_frames
from adloom.creative.video.io import load_image, read_video, resize_frames
from adloom.creative.video.models import VideoModel

ProgressFn = Callable[[int, int], None]


class VideoOutOfMemoryError(BackendUnavailableError):
    """The device ran out of memory; the message says which knobs lower the peak."""


@dataclass
class VideoRequest:
    """One generation call. See the module docstring for the meaning of each field."""

    prompt: str | list[str]
    negative_prompt: str | list[str] = ""
    width: int | None = None
    height: int | None = None
    aspect: str = "9:16"
    bucket: str = "480p"
    num_frames: int = 33
    steps: int = 30
    guidance_scale: float = 5.0
    shift: float | None = None
    seed: int | list[int] = 0
    image: Any = None
    last_image: Any = None
    extend_frames: Any = None
    extend_latent_frames: int = 2
    camera: str | CameraMove | None = None
    camera_guide: float = 0.3
    cache_threshold: float = 0.0
    cache_max_consecutive: int | None = 4
    cfg_batched: bool = True  # False: cond and uncond as two forwards (diffusers' order; for exact comparisons)
    max_sequence_length: int | None = None
    return_latents: bool = False


@dataclass
class VideoResult:
    """What a call returns: frames, the seeds and prompts used, how conditioning was applied, timings."""

    frames: np.ndarray  # (B, F, H, W, 3) uint8
    seeds: list[int]
    prompts: list[str]
    fps: int
    width: int
    height: int
    num_frames: int
    timings: dict[str, float]
    step_times: list[float] = field(default_factory=list)
    cache: dict[str, float] | None = None
    conditioning: list[str] = field(default_factory=list)
    overlap_frames: int = 0  # leading frames that reproduce the clip being extended
    frames_float: np.ndarray | None = None  # (B, F, H, W, 3) float32 in [0, 1], diffusers' "np" output
    latents: Any = None


def stitch_extension(original: np.ndarray, result: VideoResult, index: int = 0) -> np.ndarray:
    """The extended clip: the original frames, then the new frames after the overlap."""
    return np.concatenate([original, result.frames[index, result.overlap_frames :]], axis=0)


def _oom_message(req: VideoRequest, width: int, height: int, model: VideoModel) -> str:
    return (
        f"out of GPU memory generating {req.num_frames} frames at {width}x{height} "
        f"(batch {len(req.prompt) if isinstance(req.prompt, list) else 1}, guidance batch x2). Lower the peak: fewer "
        "frames (--frames 33), a smaller bucket (--bucket 256p), one prompt per call, VAE tiling (--vae-tiling), "
        f"CPU offload (--offload{', already on' if model.offload else ''}), or bf16 (--dtype bf16)"
    )


class VideoPipeline:
    """Text/image/first-last/extension-to-video over a :class:`VideoModel` with our own denoising loop."""

    def __init__(self, model: VideoModel, *, progress: ProgressFn | None = None) -> None:
        self.model = model
        self.progress = progress

    # -- placement -----------------------------------------------------------------------------------------------
    @contextmanager
    def _on_device(self, module: Any) -> Iterator[None]:
        """With offload, move one module to the GPU for one stage and back; otherwise nothing."""
        if not self.model.offload:
            yield
            return
        import torch

        module.to(self.model.device)
        try:
            yield
        finally:
            module.to("cpu")
            torch.cuda.empty_cache()

    def _sync(self) -> None:
        import torch

        if self.model.device.type == "cuda":
            torch.cuda.synchronize(self.model.device)

    # -- inputs --------------------------------------------------------------------------------------------------
    def _resolve(self, req: VideoRequest) -> tuple[list[str], list[str], int, int, list[int]]:
        model = self.model
        prompts = [req.prompt] if isinstance(req.prompt, str) else list(req.prompt)
        if not prompts or any(not isinstance(p, str) or not p.strip() for p in prompts):
            raise InputError("prompt must be a non-empty string or a list of them", field="prompt")
        neg = req.negative_prompt if req.negative_prompt is not None else ""
        negs = [neg] * len(prompts) if isinstance(neg, str) else list(neg)
        if len(negs) != len(prompts):
            raise InputError(
                f"{len(negs)} negative prompts for {len(prompts)} prompts; give one, or one per prompt",
                field="negative_prompt",
            )
        if (req.width is None) != (req.height is None):
            raise InputError("give both width and height, or neither (then aspect + bucket pick them)", field="width")
        if req.width is None:
            width, height = bucket_size(req.aspect, req.bucket, multiple=model.spatial_factor)
        else:
            width, height = int(req.width), int(req.height)
        check_size(width, height, model.spatial_factor, family=model.family)
        check_frames(req.num_frames, model.temporal_factor, family=model.family)
        if req.steps < 1:
            raise InputError(f"steps {req.steps} must be at least 1 (20–50 is typical)", field="steps")
        if req.guidance_scale < 0:
            raise InputError(f"guidance_scale {req.guidance_scale} must be >= 0 (5 is typical)", field="guidance_scale")
        if not 0.0 <= req.camera_guide <= 1.0:
            raise InputError(f"camera_guide {req.camera_guide} must be within [0, 1]", field="camera_guide")
        seeds = [req.seed + i for i in range(len(prompts))] if isinstance(req.seed, int) else list(req.seed)
        if len(seeds) != len(prompts):
            raise InputError(
                f"{len(seeds)} seeds for {len(prompts)} prompts; give one, or one per prompt", field="seed"
            )
        return prompts, negs, width, height, seeds

    def _pixels(self, frames: np.ndarray) -> Any:
        """(F, H, W, 3) uint8 → (1, 3, F, H, W) float in [-1, 1]."""
        import torch

        x = torch.from_numpy(np.array(frames, dtype=np.float32)) / 127.5 - 1.0
        return x.permute(3, 0, 1, 2).unsqueeze(0)

    def _encode(self, frames: np.ndarray) -> Any:
        with self._on_device(self.model.vae):
            return self.model.fam.encode_frames(self.model, self._pixels(frames)).to(self.model.device)

    # -- the call ------------------------------------------------------------------------------------------------
    def __call__(self, request: VideoRequest) -> VideoResult:
        import torch

        prompts, negs, width, height, seeds = self._resolve(request)
        try:
            return self._generate(request, prompts, negs, width, height, seeds)
        except torch.OutOfMemoryError as exc:
            raise VideoOutOfMemoryError(_oom_message(request, width, height, self.model)) from exc
        except RuntimeError as exc:
            text = str(exc).lower()
            if "out of memory" in text or "can't allocate memory" in text:
                raise VideoOutOfMemoryError(_oom_message(request, width, height, self.model)) from exc
            raise

    def _generate(
        self, req: VideoRequest, prompts: list[str], negs: list[str], width: int, height: int, seeds: list[int]
    ) -> VideoResult:
        import torch

        with torch.inference_mode():
            return self._loop(req, prompts, negs, width, height, seeds)

    def _loop(
        self, req: VideoRequest, prompts: list[str], negs: list[str], width: int, height: int, seeds: list[int]
    ) -> VideoResult:
        import torch

        model, fam, dev = self.model, self.model.fam, self.model.device
        t_start = time.perf_counter()
        notes: list[str] = []
        batch, frames = len(prompts), req.num_frames
        do_cfg = req.guidance_scale > 1.0

        # 1. Camera: prompt phrase always, image-warp guide when an image anchors frame 0.
        move = parse_camera(req.camera)
        if move is not None:
            phrase = camera_prompt(move)
            prompts = [f"{p.rstrip(' .')}. {phrase}." for p in prompts]
            notes.append(f"camera {move.preset}:{move.strength:+.2f}: prompt phrase {phrase!r}")

        # 2. Text: one encoder pass for [negatives; prompts].
        max_len = req.max_sequence_length or model.max_sequence_length
        with self._on_device(model.text_encoder):
            texts = (negs + prompts) if do_cfg else prompts
            text, text_mask = fam.encode_prompt(model, texts, max_len, dev)
        self._sync()
        t_text = time.perf_counter()

        # 3. Noise: one CPU generator per video, so a seed gives the same video on any device and batch position.
        shape1 = fam.latent_shape(model, 1, frames, height, width)
        noise = torch.cat(
            [
                torch.randn(shape1, generator=torch.Generator("cpu").manual_seed(int(s)), dtype=torch.float32)
                for s in seeds
            ]
        ).to(dev)
        lat_f = shape1[2]

        # 4. Conditioning frames: the product image, a last frame, or the tail of a clip being extended.
        if req.extend_frames is not None and (req.image is not None or req.last_image is not None):
            raise InputError("extension continues the given clip; do not also pass image/last_image", field="extend")
        first_img = load_image(req.image, width, height) if req.image is not None else None
        last_img = load_image(req.last_image, width, height) if req.last_image is not None else None
        tail, overlap, n_lat = None, 0, 0
        if req.extend_frames is not None:
            clip = req.extend_frames
            if isinstance(clip, str | Path):
                clip, _ = read_video(clip)
            n_lat = int(req.extend_latent_frames)
            overlap = model.temporal_factor * (n_lat - 1) + 1
            if n_lat < 1 or n_lat >= lat_f:
                raise InputError(
                    f"extend_latent_frames {n_lat} must be between 1 and {lat_f - 1} for {frames} frames; "
                    "ask for more frames or condition on fewer",
                    field="extend_latent_frames",
                )
            if len(clip) < overlap:
                raise InputError(
                    f"the clip to extend has {len(clip)} frames; conditioning on {n_lat} latent frames needs {overlap}",
                    field="extend",
                )
            tail = resize_frames(np.asarray(clip)[-overlap:], width, height)

        cond = torch.zeros((1, *shape1[1:]), dtype=torch.float32, device=dev)
        mask = torch.zeros((1, 1, *shape1[2:]), dtype=torch.bool, device=dev)
        concat, img_emb = None, None
        if fam.concat_channels(model):
            # Image-to-video checkpoint: mask + latents of a conditioning video go in as extra channels.
            video = torch.zeros((1, 3, frames, height, width), dtype=torch.float32)
            known = [False] * frames
            for index, img in ((0, first_img), (frames - 1, last_img)):
                if img is not None:
                    video[:, :, index : index + 1] = self._pixels(img[None])
                    known[index] = True
            if tail is not None:
                video[:, :, :overlap] = self._pixels(tail)
                known[:overlap] = [True] * overlap
            if not any(known):
                raise InputError(
                    f"{model.path or 'this model'} is an image-to-video checkpoint: pass an image (--image), a last "
                    "image or a clip to extend",
                    field="image",
                )
            with self._on_device(model.vae):
                concat = fam.concat_condition(model, video, known).to(dev).expand(batch, -1, -1, -1, -1)
            from PIL import Image

            refs = [x for x in (first_img, last_img) if x is not None] or [tail[-1]]
            if len(refs) == 2 and not getattr(model.transformer.config, "pos_embed_seq_len", None):
                refs = refs[:1]  # only FLF2V checkpoints take two images' CLIP tokens; I2V takes the first
            if model.image_encoder is not None:
                with self._on_device(model.image_encoder):
                    img_emb = fam.image_embeds(model, [Image.fromarray(x) for x in refs], dev)
            if img_emb is not None:
                img_emb = img_emb.repeat(batch, 1, 1).to(model.transformer.dtype)
            notes.append(
                f"native image-to-video conditioning: {sum(known)} known frames as mask + latent channels"
                + (" + CLIP image tokens" if img_emb is not None else "")
            )
        else:
            if first_img is not None:
                cond[:, :, :1] = self._encode(first_img[None])
                mask[:, :, :1] = True
                notes.append("image: first latent frame anchored to the product image")
            if last_img is not None:
                head = first_img if first_img is not None else last_img
                key = np.stack([head] + [last_img] * model.temporal_factor)  # 1 + T frames → 2 latent frames
                cond[:, :, -1:] = self._encode(key)[:, :, 1:2]
                mask[:, :, -1:] = True
                notes.append("last_image: last latent frame anchored")
            if tail is not None:
                cond[:, :, :n_lat] = self._encode(tail)
                mask[:, :, :n_lat] = True
                notes.append(f"extend: first {n_lat} latent frames ({overlap} frames) anchored to the clip's tail")
        anchored = bool(mask.any())
        token_mode = anchored and fam.supports_token_timesteps(model)
        if anchored:
            notes.append("anchoring: " + ("per-token timestep 0 (native)" if token_mode else "replacement (re-noised)"))
        guide = None
        if move is not None and req.camera_guide > 0:
            if first_img is not None and req.extend_frames is None:
                guide = self._encode(warp_frames(first_img, move, frames))
                notes.append(f"camera guide: warped product image guides sigma > {1 - req.camera_guide:.2f}")
            else:
                notes.append("camera guide: none (needs an image anchor); prompt phrase only")
        mask_b = mask.expand(batch, *mask.shape[1:])
        self._sync()
        t_cond = time.perf_counter()

        # 5. Schedule.
        sampler = model.sampler(req.shift)
        seq_len = int(np.prod(shape1[2:]))
        mu = sampler.mu(seq_len) if sampler.use_dynamic_shifting else None
        base = np.linspace(1.0, 1 / req.steps, req.steps) if getattr(fam, "LINSPACE_SIGMAS", False) else None
        sigmas = sampler.sigmas(req.steps, mu=mu, base_sigmas=base).to(dev)
        timesteps = sampler.timesteps(sigmas)

        def reanchor(x: Any, sigma: Any) -> Any:
            if guide is not None and float(sigma) > 1.0 - req.camera_guide:
                x = torch.where(mask_b, x, ((1 - sigma) * guide + sigma * noise).to(x.dtype))
            if not anchored:
                return x
            target = cond if token_mode else (1 - sigma) * cond + sigma * noise
            return torch.where(mask_b, target.to(x.dtype), x)

        # 6. Denoising loop.
        cache = make_cache(model.transformer, req.cache_threshold, max_consecutive_hits=req.cache_max_consecutive)
        tr_dtype = model.transformer.dtype
        g = req.guidance_scale
        latents = reanchor(noise.clone(), sigmas[0]) if (anchored or guide is not None) else noise.clone()
        step_times: list[float] = []

        def velocity(x: Any, ts: Any, txt: Any, txt_mask: Any, name: str, **kw: Any) -> Any:
            """One transformer forward; ``name`` keeps the cache states of CFG halves apart."""
            with cache_step(cache, name):
                return fam.forward(model, x, ts, txt, txt_mask, **kw)

        with self._on_device(model.transformer), cache if cache is not None else nullcontext():
            for i, t in enumerate(timesteps):
                t0 = time.perf_counter()
                x_in = (latents if concat is None else torch.cat([latents, concat], dim=1)).to(tr_dtype)
                ts = fam.token_timesteps(model, t, mask, batch) if token_mode else t.expand(batch)
                kw = {"frame_rate": model.fps, "image_embeds": img_emb}
                if do_cfg and req.cfg_batched:  # one forward over [uncond; cond]
                    x2, ts2 = torch.cat([x_in, x_in]), torch.cat([ts, ts])
                    if img_emb is not None:
                        kw["image_embeds"] = torch.cat([img_emb, img_emb])
                    v = velocity(x2, ts2, text, text_mask, "batch", **kw)
                elif do_cfg:  # two forwards, cond first, as diffusers' WanPipeline
                    n_mask, p_mask = (None, None) if text_mask is None else text_mask.chunk(2)
                    n_text, p_text = text.chunk(2)
                    v_c = velocity(x_in, ts, p_text, p_mask, "cond", **kw)
                    v_u = velocity(x_in, ts, n_text, n_mask, "uncond", **kw)
                    v = torch.cat([v_u, v_c])
                else:
                    v = velocity(x_in, ts, text, text_mask, "cond", **kw)
                if getattr(fam, "FLOAT_VELOCITY", False):
                    v = v.float()
                if do_cfg:
                    v_uncond, v_cond = v.chunk(2)
                    v = v_uncond + g * (v_cond - v_uncond)
                latents = sampler.step(latents, v, sigmas[i], sigmas[i + 1])
                if anchored or guide is not None:
                    latents = reanchor(latents, sigmas[i + 1])
                self._sync()
                step_times.append(time.perf_counter() - t0)
                if self.progress is not None:
                    self.progress(i + 1, req.steps)
        t_loop = time.perf_counter()

        # 7. Decode.
        from diffusers.video_processor import VideoProcessor

        with self._on_device(model.vae):
            video = fam.decode(model, latents)
            video_np = VideoProcessor(vae_scale_factor=model.spatial_factor).postprocess_video(video, output_type="np")
        frames_u8 = np.clip(np.round(video_np * 255.0), 0, 255).astype(np.uint8)
        self._sync()
        t_end = time.perf_counter()
        timings = {
            "text_s": t_text - t_start,
            "condition_s": t_cond - t_text,
            "denoise_s": t_loop - t_cond,
            "decode_s": t_end - t_loop,
            "total_s": t_end - t_start,
            "step_s": float(np.median(step_times)),
        }
        return VideoResult(
            frames=frames_u8,
            seeds=[int(s) for s in seeds],
            prompts=prompts,
            fps=model.fps,
            width=width,
            height=height,
            num_frames=frames,
            timings=timings,
            step_times=step_times,
            cache=cache.stats() if cache is not None else None,
            conditioning=notes,
            overlap_frames=overlap,
            frames_float=np.asarray(video_np, dtype=np.float32),
            latents=latents.float().cpu() if req.return_latents else None,
        )


def generate(model: VideoModel, **fields: Any) -> VideoResult:
    """One-call convenience: ``generate(model, prompt="…", num_frames=33, seed=1)``."""
    return VideoPipeline(model)(VideoRequest(**fields))
