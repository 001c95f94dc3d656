"""The DiT/VAE video stack on diffusers: real open model families, our own denoising loop.

Modules: :mod:`.models` (load a local diffusers folder or single file, LoRA,
placement, tiny builds for tests), :mod:`.wan` and :mod:`.ltx` (one family per
file: text encoding, our transformer forward, latent normalisation),
:mod:`.sampler` (flow-matching Euler with shift), :mod:`.cache` (step caching),
:mod:`.pipeline` (the loop and its modes), :mod:`.camera`, :mod:`.buckets`,
:mod:`.storyboard` (shot-by-shot rendering for the compose renderer),
:mod:`.io` (images/clips in, mp4 out). ``train.py`` and ``toy/`` hold training
and the toy world.

Nothing heavy is imported here: torch and diffusers load when a function needs them.
"""

from __future__ import annotations

__all__ = [
    "VideoModel",
    "VideoPipeline",
    "VideoRequest",
    "VideoResult",
    "build_tiny",
    "load_video_model",
]


def __getattr__(name: str):  # lazy re-exports keep `import adloom.creative.video` free of torch
    if name in ("VideoModel", "build_tiny", "load_video_model"):
        from adloom.creative.video import models

        return getattr(models, name)
    if name in ("VideoPipeline", "VideoRequest", "VideoResult"):
        from adloom.creative.video import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
