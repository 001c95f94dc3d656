"""`adloom video train` and `adloom video demo`, registered on the ``video`` sub-app of :mod:`.video_cli`.

``train CONFIG.yaml [--resume]`` runs one flow-matching training run (VAE, DiT from scratch or LoRA; see
:mod:`adloom.creative.video.train`) with a progress bar. ``demo`` samples a few clips from the small toy-world model
shipped in the package, on CPU, through the same :class:`VideoPipeline` real models use, and writes mp4s plus an
``index.json`` with what the toy detector reads back from each clip.

torch and diffusers load inside the commands: importing this module stays light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from adloom.serving.video_cli import _friendly, video_app

#: The shipped toy-world checkpoint (diffusers pipeline folder).
TOY_CHECKPOINT = Path(__file__).resolve().parents[1] / "creative" / "video" / "toy" / "checkpoint"

TOY_SIZE, TOY_FRAMES = 32, 9  # the resolution and clip length the toy model was trained at
DEMO_PROMPTS = (
    "a red circle moves left on a black background",
    "a yellow square moves up on a blue background",
    "a green triangle moves right on a white background",
    "a blue circle moves down on a gray background",
)


@video_app.command("train")
@_friendly
def train_cmd(
    config: Annotated[Path, typer.Argument(help="YAML training config (see adloom/creative/video/toy/configs/).")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the run folder's latest checkpoint.")] = False,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Override optim.max_steps (e.g. to extend a resumed run).")
    ] = None,
) -> None:
    """Train a video VAE, a DiT from scratch, or a LoRA on your own (clip, caption) pairs, from one YAML config."""
    from adloom.core.paths import resolve_inside
    from adloom.core.settings import get_settings
    from adloom.creative.video.train import load_config, train
    from adloom.serving.cli import _progress, console

    settings = get_settings()
    path = resolve_inside(config, [Path.cwd(), settings.home, *settings.allowed_roots], field="config")
    cfg, _ = load_config(path)
    total = max_steps or cfg.optim.max_steps
    with _progress() as progress:
        task = progress.add_task(f"training {cfg.mode} → {cfg.output_dir}", total=total)

        def step(done: int, total_steps: int, loss: float) -> None:
            progress.update(
                task, completed=done, total=total_steps, description=f"training {cfg.mode} · loss {loss:.4f}"
            )

        result = train(cfg, resume=resume, progress=step, max_steps=max_steps)
    console.print(
        f"[green]trained[/] {result.mode} to step {result.step} (resumed from {result.resumed_from}), "
        f"last loss {result.last_loss:.4f}\n  model: {result.export_dir}\n  log:   {result.log_path}",
        highlight=False,
    )


def run_demo(
    out: Path,
    *,
    model_path: Path = TOY_CHECKPOINT,
    prompts: tuple[str, ...] | list[str] = DEMO_PROMPTS,
    steps: int = 20,
    guidance: float = 4.0,
    seed: int = 0,
    scale: int = 8,
    progress: Any = None,
) -> dict[str, Any]:
    """Generate one clip per prompt from a toy-world model on CPU; write mp4s and ``index.json``; return the index.

    The mp4s are enlarged ``scale`` times with nearest-neighbour pixels (32×32 is too small to watch); the detector
    judges the native frames."""
    import time

    import numpy as np

    from adloom.core.errors import InputError, NotFoundError
    from adloom.core.paths import safe_filename, write_atomic
    from adloom.creative.video.io import write_video
    from adloom.creative.video.models import load_video_model
    from adloom.creative.video.pipeline import VideoPipeline, VideoRequest
    from adloom.creative.video.toy.detector.evaluate import evaluate

    if not (model_path / "model_index.json").is_file():
        raise NotFoundError(
            f"the toy-world checkpoint {model_path} is missing; reinstall adloom or train it with "
            "`adloom video train adloom/creative/video/toy/configs/vae.yaml` then `.../dit.yaml`"
        )
    if not 1 <= scale <= 32:
        raise InputError(f"scale {scale} must be between 1 and 32", field="scale")
    model = load_video_model(model_path, device="cpu")
    out.mkdir(parents=True, exist_ok=True)
    pipe = VideoPipeline(model)
    clips, rows = [], []
    for i, prompt in enumerate(prompts):
        t0 = time.perf_counter()
        res = pipe(
            VideoRequest(
                prompt=prompt,
                width=TOY_SIZE,
                height=TOY_SIZE,
                num_frames=TOY_FRAMES,
                steps=steps,
                guidance_scale=guidance,
                seed=seed + i,
            )
        )
        clip = res.frames[0]
        name = f"{i:02d}_{safe_filename(prompt.replace(' ', '_'))}.mp4"
        big = np.repeat(np.repeat(clip, scale, axis=1), scale, axis=2) if scale > 1 else clip
        write_video(big, out / name, fps=8)
        clips.append(clip)
        rows.append({"file": name, "prompt": prompt, "seed": seed + i, "seconds": round(time.perf_counter() - t0, 3)})
        if progress is not None:
            progress(i + 1, len(prompts))
    report = evaluate(list(prompts), clips)
    for row, det in zip(rows, report.rows, strict=True):
        row["detected"] = {k: det[f"pred_{k}"] for k in ("colour", "shape", "background", "direction")}
        row["matches"] = {k: bool(det[k]) for k in ("colour", "shape", "background", "direction")}
    index = {"model": str(model_path), "steps": steps, "guidance": guidance, "size": TOY_SIZE, "scale": scale,
             "clips": rows, "accuracy": report.accuracy}  # fmt: skip
    write_atomic(out / "index.json", json.dumps(index, indent=2))
    return index


@video_app.command("demo")
@_friendly
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's mp4s and index.json.")] = Path(
        "out/video_demo"
    ),
    steps: Annotated[int, typer.Option("--steps", help="Sampling steps per clip.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first clip; the next use seed+1, ….")] = 0,
    scale: Annotated[int, typer.Option("--scale", help="Enlarge the 32×32 clips this many times in the mp4s.")] = 8,
    prompt: Annotated[
        list[str] | None,
        typer.Option("--prompt", help="Toy caption, e.g. 'a red circle moves left on a blue background'; repeatable."),
    ] = None,
) -> None:
    """Generate a few clips from the shipped toy-world model on CPU (mp4s + index.json with the detector's verdict)."""
    from adloom.creative.video.toy.dataset import parse_caption
    from adloom.serving.cli import _progress, console

    prompts = list(prompt) if prompt else list(DEMO_PROMPTS)
    for p in prompts:
        parse_caption(p)  # the toy model only knows its own grammar: say so before loading anything
    with _progress() as progress:
        task = progress.add_task("generating toy clips", total=len(prompts))
        index = run_demo(
            out,
            prompts=prompts,
            steps=steps,
            seed=seed,
            scale=scale,
            progress=lambda d, t: progress.update(task, completed=d),
        )
    for row in index["clips"]:
        ok = all(row["matches"].values())
        console.print(
            f"{'[green]✓[/]' if ok else '[yellow]~[/]'} {out / row['file']}  {row['prompt']}", highlight=False
        )
    console.print(f"index: {out / 'index.json'}", highlight=False)
