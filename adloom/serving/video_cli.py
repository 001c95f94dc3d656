"""`adloom video …`: generate clips with the DiT/VAE stack, render storyboards, train, and the toy-world demo.

torch and diffusers load inside the commands, so ``import adloom.serving.cli``
stays light. ``train`` and ``demo`` are registered by ``video_train_cli``
(imported at the bottom).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

video_app = typer.Typer(
    help="Generated video shots: DiT/VAE models, training, the toy-world demo.", no_args_is_help=True
)
F = TypeVar("F", bound=Callable[..., Any])


def _friendly(fn: F) -> F:
    """The CLI's error mapping (adloom errors → red message + exit code), looked up at call time (no import cycle)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from adloom.serving.cli import _friendly as friendly

        return friendly(fn)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


ModelOpt = Annotated[
    Path,
    typer.Option(
        "--model", help="Diffusers model folder (Wan 2.x, LTX-Video) or a .safetensors transformer file (with --base)."
    ),
]
BaseOpt = Annotated[
    Path | None,
    typer.Option("--base", help="Diffusers folder supplying VAE/text encoder/tokenizer for a single-file --model."),
]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="cuda, cuda:1 or cpu (default: cuda when present).")]
DtypeOpt = Annotated[
    str | None, typer.Option("--dtype", help="bf16, fp16 or fp32 (default: bf16 on GPU, fp32 on CPU).")
]
LoraOpt = Annotated[
    list[str] | None, typer.Option("--lora", help="LoRA file or folder, optionally PATH:SCALE; repeatable.")
]
CacheOpt = Annotated[
    float, typer.Option("--cache", help="Step-cache threshold: 0 off, 0.05–0.1 typical (faster, small drift).")
]
CompileOpt = Annotated[bool, typer.Option("--compile/--no-compile", help="torch.compile the transformer blocks (GPU).")]
TilingOpt = Annotated[bool, typer.Option("--vae-tiling/--no-vae-tiling", help="Decode the VAE in tiles (less memory).")]
AttentionOpt = Annotated[
    str | None, typer.Option("--attention", help="Attention: native (SDPA, default), _native_flash, flash, sage.")
]
OffloadOpt = Annotated[
    bool, typer.Option("--offload/--no-offload", help="Keep parts on CPU, move each to the GPU when used.")
]


def _split_lora(spec: str) -> tuple[Path, float]:
    path, sep, scale = spec.rpartition(":")
    if sep and path and not Path(spec).exists():
        try:
            return Path(path), float(scale)
        except ValueError:
            pass
    return Path(spec), 1.0


def _load(model: Path, base: Path | None, device: str | None, dtype: str | None, loras: list[str] | None,
          compile: bool, vae_tiling: bool, offload: bool, attention: str | None = None) -> Any:  # fmt: skip
    from adloom.creative.video.models import configure, load_lora, load_video_model

    vm = load_video_model(model, base=base, device=device, dtype=dtype, offload=offload)
    for spec in loras or []:
        path, scale = _split_lora(spec)
        load_lora(vm, path, scale=scale)
    return configure(vm, compile=compile, vae_tiling=vae_tiling, attention=attention)


def _media(path: Path | None, kind: str) -> Path | None:
    if path is None:
        return None
    from adloom.core.errors import InputError
    from adloom.core.paths import check_upload

    p = path.expanduser().resolve()
    if not p.is_file():
        raise InputError(f"{kind} {str(path)!r} does not exist", field=kind)
    check_upload(p, ["video" if kind == "extend" else "image"])
    return p


def _progress_bar() -> Any:
    """The CLI's rich progress display (looked up at call time, like ``_friendly``)."""
    from adloom.serving.cli import _progress

    return _progress()


@video_app.command("generate")
@_friendly
def generate(
    model: ModelOpt,
    prompt: Annotated[list[str], typer.Option("--prompt", help="Prompt; repeat to batch several in one call.")],
    out: Annotated[Path, typer.Option("--out", help="Output mp4 (several prompts: name_0.mp4, name_1.mp4, …).")],
    negative: Annotated[str, typer.Option("--negative", help="Negative prompt.")] = "",
    aspect: Annotated[str, typer.Option("--aspect", help="9:16, 16:9 or 1:1 (size from --bucket).")] = "9:16",
    bucket: Annotated[str, typer.Option("--bucket", help="Size bucket: 256p, 480p, 720p (tiny for tests).")] = "480p",
    width: Annotated[int | None, typer.Option("--width", help="Explicit width (with --height).")] = None,
    height: Annotated[int | None, typer.Option("--height", help="Explicit height (with --width).")] = None,
    frames: Annotated[int, typer.Option("--frames", help="Frame count: 4k+1 for Wan, 8k+1 for LTX-Video.")] = 33,
    steps: Annotated[int, typer.Option("--steps", help="Sampling steps.")] = 30,
    guidance: Annotated[float, typer.Option("--guidance", help="Classifier-free guidance scale (1 = off).")] = 5.0,
    shift: Annotated[float | None, typer.Option("--shift", help="Flow shift (default: the model's).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first video; the next prompts use seed+1, ….")] = 0,
    image: Annotated[Path | None, typer.Option("--image", help="First-frame anchor, e.g. the product photo.")] = None,
    last_image: Annotated[Path | None, typer.Option("--last-image", help="Last-frame anchor.")] = None,
    extend: Annotated[
        Path | None, typer.Option("--extend", help="Clip to continue; the output is clip + continuation.")
    ] = None,
    extend_latents: Annotated[
        int, typer.Option("--extend-latent-frames", help="Latent frames of the clip's tail to condition on.")
    ] = 2,
    camera: Annotated[
        str | None, typer.Option("--camera", help="push_in|pull_out|pan|tilt|orbit[:strength in -1..1].")
    ] = None,
    camera_guide: Annotated[
        float, typer.Option("--camera-guide", help="Share of steps the warped --image guides the move.")
    ] = 0.3,
    lora: LoraOpt = None,
    cache: CacheOpt = 0.0,
    base: BaseOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    compile: CompileOpt = False,
    vae_tiling: TilingOpt = False,
    offload: OffloadOpt = False,
    attention: AttentionOpt = None,
) -> None:
    """Generate clips: text-to-video, image-to-video, first+last frame, extension, camera moves."""
    from adloom.creative.video.io import read_video, write_video
    from adloom.creative.video.pipeline import VideoPipeline, VideoRequest, stitch_extension
    from adloom.serving.cli import console

    img, last, ext = _media(image, "image"), _media(last_image, "last_image"), _media(extend, "extend")
    clip = read_video(ext)[0] if ext is not None else None
    with _progress_bar() as progress:
        task = progress.add_task("loading the model", total=None)
        vm = _load(model, base, device, dtype, lora, compile, vae_tiling, offload, attention)
        progress.update(task, total=1, completed=1)
        gen = progress.add_task("denoising", total=steps)
        pipe = VideoPipeline(vm, progress=lambda done, total: progress.update(gen, completed=done, total=total))
        result = pipe(
            VideoRequest(
                prompt=prompt if len(prompt) > 1 else prompt[0], negative_prompt=negative, aspect=aspect,
                bucket=bucket, width=width, height=height, num_frames=frames, steps=steps, guidance_scale=guidance,
                shift=shift, seed=seed, image=img, last_image=last, extend_frames=clip,
                extend_latent_frames=extend_latents, camera=camera, camera_guide=camera_guide, cache_threshold=cache,
            )
        )  # fmt: skip
    paths = []
    for i in range(result.frames.shape[0]):
        video = stitch_extension(clip, result, i) if clip is not None else result.frames[i]
        path = out if result.frames.shape[0] == 1 else out.with_name(f"{out.stem}_{i}{out.suffix or '.mp4'}")
        paths.append(write_video(video, path, fps=result.fps))
    t = result.timings
    for path, s in zip(paths, result.seeds, strict=True):
        console.print(f"wrote {path} (seed {s}, {result.width}x{result.height}, {result.fps} fps)")
    console.print(
        f"{vm.family}: {result.num_frames} frames x{len(paths)}, {steps} steps; median step {t['step_s']:.3f}s, "
        f"denoise {t['denoise_s']:.2f}s, decode {t['decode_s']:.2f}s, total {t['total_s']:.2f}s"
        + (f"; cache {result.cache}" if result.cache else "")
    )
    for note in result.conditioning:
        console.print(f"  {note}", highlight=False)


@video_app.command("storyboard")
@_friendly
def storyboard(
    model: ModelOpt,
    board: Annotated[Path, typer.Option("--storyboard", help="Storyboard JSON, or a Script JSON with shot prompts.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for shot_NN.mp4 and shots.json.")],
    image: Annotated[Path | None, typer.Option("--image", help="Product image: first shot's anchor.")] = None,
    reference: Annotated[
        str, typer.Option("--reference", help="Later shots start from: previous, product, none.")
    ] = "previous",
    bucket: Annotated[str, typer.Option("--bucket", help="Size bucket: 256p, 480p, 720p.")] = "480p",
    width: Annotated[int | None, typer.Option("--width")] = None,
    height: Annotated[int | None, typer.Option("--height")] = None,
    steps: Annotated[int, typer.Option("--steps")] = 30,
    guidance: Annotated[float, typer.Option("--guidance")] = 5.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    max_frames: Annotated[
        int, typer.Option("--max-frames", help="Frames per generated clip; longer shots extend.")
    ] = 81,
    max_extensions: Annotated[int, typer.Option("--max-extensions")] = 2,
    lora: LoraOpt = None,
    cache: CacheOpt = 0.0,
    base: BaseOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    compile: CompileOpt = False,
    vae_tiling: TilingOpt = False,
    offload: OffloadOpt = False,
    attention: AttentionOpt = None,
) -> None:
    """Render a storyboard shot by shot (shared subject sheet, product/previous-frame anchors) to clips."""
    from pydantic import ValidationError

    from adloom.core.errors import InputError
    from adloom.core.paths import write_atomic
    from adloom.core.types import Script, Storyboard
    from adloom.creative.video.storyboard import StoryboardOptions, render_storyboard
    from adloom.serving.cli import console

    if reference not in ("previous", "product", "none"):
        raise InputError(f"--reference {reference!r} is not one of previous, product, none", field="reference")
    try:
        data = json.loads(board.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"--storyboard {board}: not a readable JSON file ({exc})", field="storyboard") from exc
    try:
        sb = (
            Storyboard.model_validate(data)
            if "script_id" in data
            else Storyboard.from_script(Script.model_validate(data))
        )
    except (ValidationError, ValueError) as exc:
        raise InputError(f"--storyboard {board}: not a valid Storyboard or Script with shot prompts: {exc}") from exc
    img = _media(image, "image")
    opts = StoryboardOptions(
        reference=reference, bucket=bucket, width=width, height=height, steps=steps, guidance_scale=guidance,  # type: ignore[arg-type]
        seed=seed, max_frames=max_frames, max_extensions=max_extensions, cache_threshold=cache,
    )  # fmt: skip
    with _progress_bar() as progress:
        vm = _load(model, base, device, dtype, lora, compile, vae_tiling, offload, attention)
        task = progress.add_task("rendering shots", total=len(sb.shots))
        clips = render_storyboard(
            vm, sb, out, product_image=img, options=opts, progress=lambda d, t: progress.update(task, completed=d)
        )
    manifest = [
        {"index": c.index, "media": str(c.path), "duration_s": sb.shots[c.index].duration_s, "clip_s": c.duration_s,
         "role": sb.shots[c.index].role.value, "caption": sb.shots[c.index].caption, "seed": c.seed,
         "reference": c.reference, "camera": c.camera, "prompt": c.prompt,
         "gate_passed": c.gate_passed, "gate": c.gate_summary}
        for c in clips
    ]  # fmt: skip
    write_atomic(Path(out) / "shots.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    for c in clips:
        console.print(f"shot {c.index}: {c.path} ({c.num_frames} frames, ref {c.reference}, camera {c.camera})")
        if c.gate_passed is False:
            console.print(f"[yellow]shot {c.index}: {c.gate_summary}[/yellow]")
    console.print(f"wrote {Path(out) / 'shots.json'}")


from adloom.serving import video_train_cli  # noqa: E402,F401
