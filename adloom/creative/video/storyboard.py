"""Render a Storyboard shot by shot into clips the compose renderer takes.

Every shot's prompt carries the shared :class:`SubjectSheet` (product,
presenter, brand style), so each shot names the same subject in the same words.
The product stays the same across shots through the image anchor: shot 0 starts
from the product image (when one is given); later shots start from the previous
shot's last frame (``reference="previous"``, continuity) or from the product
image again (``reference="product"``). A shot longer than one clip
(``max_frames``) is continued by extension (conditioning on the clip's last
latent frames) until it covers the shot's duration, up to ``max_extensions``.

The result is one mp4 per shot; :func:`to_shot_specs` turns them into the
compose renderer's ``ShotSpec`` list (``media`` = the clip). ``only`` renders a
subset of the shots (the main job generates just the shots the advertiser's
footage does not cover); each clip keeps its shot's index and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from adloom.core.errors import InputError
from adloom.core.types import Shot, Storyboard, SubjectSheet
from adloom.creative.quality.clips import ClipGateConfig, generate_until_ok
from adloom.creative.video.buckets import frames_for_seconds
from adloom.creative.video.camera import camera_from_text
from adloom.creative.video.io import write_video
from adloom.creative.video.models import VideoModel
from adloom.creative.video.pipeline import VideoPipeline, VideoRequest, stitch_extension

Reference = Literal["previous", "product", "none"]


@dataclass
class StoryboardOptions:
    """How shots are rendered. ``seed`` is the first shot's; shot i uses ``seed + i``."""

    reference: Reference = "previous"
    bucket: str = "480p"
    width: int | None = None
    height: int | None = None
    steps: int = 30
    guidance_scale: float = 5.0
    seed: int = 0
    max_frames: int = 81
    max_extensions: int = 2
    extend_latent_frames: int = 2
    cache_threshold: float = 0.0
    camera_guide: float = 0.3
    #: The generated-clip quality gate (flicker, frozen frames, blur, exposure, subject consistency); a shot that
    #: fails is regenerated with a new seed up to ``gate_attempts`` times, then the least bad attempt is kept and
    #: reported. ``None`` turns the gate off.
    gate: ClipGateConfig | None = field(default_factory=ClipGateConfig)
    gate_attempts: int = 3


@dataclass
class ShotClip:
    """One rendered shot: where its clip is and how it was made."""

    index: int
    path: Path
    duration_s: float
    num_frames: int
    fps: int
    seed: int
    prompt: str
    reference: str
    camera: str | None
    last_frame: np.ndarray
    gate_passed: bool | None = None  # None: not gated
    gate_summary: str = ""


def shot_prompt(shot: Shot, sheet: SubjectSheet) -> str:
    """The shot's caption (structured ShotPrompt when present, else its visual) plus the shared subject sheet."""
    text = shot.prompt.text() if shot.prompt is not None else shot.visual.rstrip(". ") + "."
    extras = [f"Product: {sheet.product}"]
    if sheet.presenter:
        extras.append(f"Presenter: {sheet.presenter}")
    if sheet.brand_style:
        extras.append(f"Style: {sheet.brand_style}")
    return f"{text} " + ". ".join(e.rstrip(". ") for e in extras) + "."


def render_storyboard(
    model: VideoModel,
    storyboard: Storyboard,
    out_dir: str | Path,
    *,
    product_image: Any = None,
    options: StoryboardOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    only: Collection[int] | None = None,
) -> list[ShotClip]:
    """Render every shot (or the shot indexes in ``only``) to ``out_dir/shot_NN.mp4`` in order; returns the
    clips (see module doc for references). With ``only``, "previous" means the previous rendered shot."""
    opts = options or StoryboardOptions()
    wanted_shots = set(range(len(storyboard.shots))) if only is None else set(only)
    bad = sorted(i for i in wanted_shots if not 0 <= i < len(storyboard.shots))
    if bad:
        raise InputError(
            f"shots {bad} are not in the storyboard (it has {len(storyboard.shots)} shots, 0-based)", field="only"
        )
    if opts.reference == "product" and product_image is None:
        raise InputError("reference 'product' needs a product image (--image)", field="reference")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pipe = VideoPipeline(model)
    sheet = storyboard.subject_sheet
    clips: list[ShotClip] = []
    product = product_image  # a path, PIL image or array; the pipeline loads and fits it per request
    fps, temporal = model.fps, model.temporal_factor
    for i, shot in enumerate(storyboard.shots):
        if i not in wanted_shots:
            continue
        prompt = shot_prompt(shot, sheet)
        move = camera_from_text(shot.prompt.camera) if shot.prompt is not None else None
        if not clips or opts.reference == "product":
            image, ref = product, ("product" if product is not None else "none")
        elif opts.reference == "previous":
            image, ref = clips[-1].last_frame, "previous"
        else:
            image, ref = None, "none"
        wanted = frames_for_seconds(shot.duration_s, fps, temporal)
        first = min(wanted, (opts.max_frames - 1) // temporal * temporal + 1)
        base = dict(
            negative_prompt=storyboard.negative_prompt,
            aspect=storyboard.aspect.value,
            bucket=opts.bucket,
            width=opts.width,
            height=opts.height,
            steps=opts.steps,
            guidance_scale=opts.guidance_scale,
            cache_threshold=opts.cache_threshold,
        )
        generate = partial(
            _generate_shot, pipe, opts, prompt=prompt, first=first, wanted=wanted, image=image, move=move, base=base
        )
        gate_passed, gate_summary = None, ""
        if opts.gate is None:
            seed = opts.seed + i
            frames = generate(seed)
        else:
            # Seeds for retries stride past the ones extensions use (seed + 1000·k) and the other shots' seeds.
            outcome = generate_until_ok(
                generate, first_seed=opts.seed + i, max_attempts=opts.gate_attempts, seed_stride=100_003,
                config=opts.gate, fps=fps,
            )  # fmt: skip
            seed, frames = outcome.seed, outcome.clip
            gate_passed, gate_summary = outcome.passed, outcome.summary()
        path = write_video(frames, out / f"shot_{i:02d}.mp4", fps=fps)
        clips.append(
            ShotClip(
                index=i, path=path, duration_s=len(frames) / fps, num_frames=len(frames), fps=fps, seed=seed,
                prompt=prompt, reference=ref, camera=f"{move.preset}:{move.strength}" if move else None,
                last_frame=frames[-1], gate_passed=gate_passed, gate_summary=gate_summary,
            )
        )  # fmt: skip
        if progress is not None:
            progress(len(clips), len(wanted_shots))
    return clips


def _generate_shot(
    pipe: VideoPipeline,
    opts: StoryboardOptions,
    seed: int,
    *,
    prompt: str,
    first: int,
    wanted: int,
    image: Any,
    move: Any,
    base: dict[str, Any],
) -> np.ndarray:
    """One shot's frames for one seed: a first clip of ``first`` frames, extended until it covers ``wanted``."""
    result = pipe(
        VideoRequest(
            prompt=prompt, num_frames=first, seed=seed, image=image, camera=move,
            camera_guide=opts.camera_guide, **base,
        )
    )  # fmt: skip
    frames = result.frames[0]
    for k in range(opts.max_extensions):
        if len(frames) >= wanted:
            break
        ext = pipe(
            VideoRequest(
                prompt=prompt, num_frames=first, seed=seed + 1000 * (k + 1), extend_frames=frames,
                extend_latent_frames=opts.extend_latent_frames, **base,
            )
        )  # fmt: skip
        frames = stitch_extension(frames, ext)
    return frames


def to_shot_specs(storyboard: Storyboard, clips: list[ShotClip]) -> list[Any]:
    """The compose renderer's ``ShotSpec`` per shot, with the generated clip as its media."""
    from adloom.creative.compose.spec import ShotSpec

    if len(clips) != len(storyboard.shots):
        raise InputError(f"{len(clips)} clips for {len(storyboard.shots)} shots", field="clips")
    return [
        ShotSpec(duration_s=shot.duration_s, role=shot.role, media=clip.path, caption=shot.caption)
        for shot, clip in zip(storyboard.shots, clips, strict=True)
    ]


__all__ = ["ShotClip", "StoryboardOptions", "render_storyboard", "shot_prompt", "to_shot_specs"]
