"""Generated shots in the main job: the shots a creative's footage does not cover (or every shot) made by the
configured video model, through the storyboard renderer and its clip gate, then composed with the footage.

How a batch asks for them: ``ShotSource`` (``adloom render --generate-missing`` / ``--generate-all``, or the
batch API's ``shots``). :func:`generation_job` checks once, before any work, that the settings name a usable
video model and that it can run where the items run, and returns the plain-data part of each render job
(``job["generate"]``); :func:`generate_shots` runs inside the render item (a worker process or a Ray task) after
the voice-over has fixed every shot's length, so a generated clip is made as long as its shot.

Where it runs: a render item with generated shots on a CUDA device is submitted with ``gpu=True`` through the
same :class:`~adloom.serving.jobs.executors.Executor` as every render item, so the Ray executor places it on a
GPU node. Without a GPU only a tiny model (the toy checkpoint, test builds: under :data:`TINY_MODEL_BYTES` of
transformer weights) runs, on the CPU; a real model is refused with the fix, because a 1.3 B model on two CPU
cores would take hours per shot.

Every generated shot goes through the clip gate (flicker, frozen frames, blur, exposure, subject drift), retried
with new seeds; a shot that still fails keeps what it would have had without generation (its retrieved footage
or the template's designed backdrop) and the manifest says so. Finished clips are kept per shot beside a key of
what made them, so a render that is resumed after a crash does not generate them again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adloom.core.errors import InputError
from adloom.core.paths import write_atomic
from adloom.core.types import Aspect, Script

if TYPE_CHECKING:
    from adloom.core.settings import Settings

log = logging.getLogger(__name__)

#: A model whose transformer weights are smaller than this runs on the CPU (toy checkpoint, tiny test builds);
#: anything larger needs a CUDA device. The smallest real model we support, Wan 2.1 T2V 1.3B, is ~2.8 GB in bf16.
TINY_MODEL_BYTES = 64 * 1024 * 1024
#: Folder inside a creative's folder where its generated clips and their records are kept.
GENERATED_DIR = "generated"
#: Extensions a generated shot may take to cover its shot's length (each continues the clip from its tail); the
#: storyboard stops extending as soon as the shot is covered, so short shots never pay for them.
MAX_EXTENSIONS = 6


class ShotSource(StrEnum):
    """Where a creative's shots come from."""

    footage_only = "footage_only"  # the advertiser's footage and photos, the designed backdrop where none fits
    generate_missing = "generate_missing"  # generated where no footage fits the shot
    generate_all = "generate_all"  # every shot generated (the product photo still anchors the first frame)


def model_weight_bytes(path: Path) -> int:
    """Bytes of transformer weights in a diffusers folder (or a single weights file): how big the model is,
    read from the files without loading them."""
    if path.is_file():
        return path.stat().st_size
    folder = path / "transformer"
    files = [f for f in folder.rglob("*") if f.suffix in (".safetensors", ".bin", ".pt", ".pth")]
    return sum(f.stat().st_size for f in files)


def generation_job(source: ShotSource | str, settings: Settings, *, executor_has_gpu: Any = None) -> dict[str, Any]:
    """The ``generate`` part of every render job of a batch (``{}`` for footage only), checked before any work.

    Raises InputError naming the setting to change when: no video model is configured; the folder is not a
    supported model; the model is real (not tiny) and the device is the CPU; or the device is CUDA and neither
    this machine nor the executor (``executor_has_gpu()``) has a GPU."""
    try:
        source = ShotSource(source)
    except ValueError as exc:
        raise InputError(
            f"shots {source!r} is not one of {', '.join(s.value for s in ShotSource)}", field="shots"
        ) from exc
    if source == ShotSource.footage_only:
        return {}
    flag = "--" + source.value.replace("_", "-")
    if settings.video_model_path is None:
        raise InputError(
            f"{flag} needs a video model: set ADLOOM_VIDEO_MODEL_PATH (or --video-model) to a diffusers folder of "
            "Wan 2.x or LTX-Video; the toy model that tests use is adloom/creative/video/toy/checkpoint. Without "
            "one, render with --footage-only",
            field="video_model_path",
        )
    from adloom.creative.video.models import detect_family

    model = Path(settings.video_model_path).expanduser().resolve()
    if not model.exists():
        raise InputError(
            f"video model {str(model)!r} does not exist (ADLOOM_VIDEO_MODEL_PATH)", field="video_model_path"
        )
    if not model.is_dir():
        raise InputError(
            f"video model {str(model)!r} is a file; ADLOOM_VIDEO_MODEL_PATH takes a diffusers pipeline folder "
            "(model_index.json, transformer/, vae/, text_encoder/, tokenizer/, scheduler/)",
            field="video_model_path",
        )
    family = detect_family(model)
    size = model_weight_bytes(model)
    device = settings.video_device.strip().lower()
    on_cpu = device == "cpu"
    if on_cpu and size >= TINY_MODEL_BYTES:
        raise InputError(
            f"the video model at {model} has {size / 1e9:.1f} GB of transformer weights; generating shots with it on "
            "the CPU would take hours per shot. Set ADLOOM_VIDEO_DEVICE=cuda (or --video-device cuda) on a machine "
            "with a GPU, or run the batch on a Ray cluster with a GPU node (ADLOOM_EXECUTOR=ray); only tiny models "
            f"(under {TINY_MODEL_BYTES // 2**20} MB, e.g. the toy checkpoint) run on the CPU",
            field="video_device",
        )
    if not on_cpu and not device.startswith("cuda"):
        raise InputError(f"video device {device!r}: use cuda, cuda:N or cpu", field="video_device")
    if not on_cpu and executor_has_gpu is not None and not executor_has_gpu():
        raise InputError(
            f"{flag} with ADLOOM_VIDEO_DEVICE={device} needs a CUDA GPU, and neither this machine nor the executor "
            "has one: run on a GPU machine, join a Ray cluster with a GPU node (ADLOOM_EXECUTOR=ray, "
            "ADLOOM_RAY_ADDRESS=HEAD:6379), or use --footage-only (a tiny model may run with --video-device cpu)",
            field="video_device",
        )
    gate = _gate_limits(settings.video_gate)
    return {
        "mode": source.value,
        "model": str(model),
        "family": family,
        "device": device,
        "gpu": not on_cpu,
        "bucket": settings.video_bucket,
        "steps": settings.video_steps,
        "max_frames": settings.video_max_frames,
        "gate_attempts": settings.video_gate_attempts,
        "gate": gate,
    }


def _gate_limits(overrides: dict[str, int | float]) -> dict[str, int | float]:
    """The clip gate's limits the settings change, checked against :class:`ClipGateConfig` (an unknown name or a
    bad value is an InputError naming it)."""
    from dataclasses import fields

    from adloom.creative.quality.clips import ClipGateConfig

    known = {f.name for f in fields(ClipGateConfig)} - {"subject_box"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(
            f"ADLOOM_VIDEO_GATE: unknown limit(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            field="video_gate",
        )
    try:
        ClipGateConfig(**overrides)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise InputError(f"ADLOOM_VIDEO_GATE: {exc}", field="video_gate") from exc
    return dict(overrides)


# --- inside the render item ----------------------------------------------------------------------------------

_MODELS: dict[tuple[str, str], Any] = {}
_MODELS_LOCK = threading.Lock()


def _model(path: str, device: str) -> Any:
    """The video model, loaded once per process (render processes are reused between items)."""
    with _MODELS_LOCK:
        key = (path, device)
        if key not in _MODELS:
            from adloom.creative.video.models import load_video_model

            started = time.perf_counter()
            _MODELS[key] = load_video_model(path, device=device)
            log.info("loaded video model %s on %s in %.1fs", path, device, time.perf_counter() - started)
        return _MODELS[key]


def shots_to_generate(mode: str, covered: list[bool]) -> list[int]:
    """Indexes of the shots to generate: every one (``generate_all``) or those no footage covers."""
    if mode == ShotSource.generate_all.value:
        return list(range(len(covered)))
    return [i for i, has_media in enumerate(covered) if not has_media]


def _shot_key(gen: dict[str, Any], prompt: str, duration_s: float, seed: int, anchor: str | None) -> str:
    what = [gen["model"], gen["bucket"], gen["steps"], gen["max_frames"], gen["gate_attempts"], gen.get("gate"), prompt,
            round(duration_s, 3), seed, _file_digest(anchor) if anchor else None]  # fmt: skip
    return hashlib.sha256(json.dumps(what, ensure_ascii=False).encode()).hexdigest()[:16]


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def generate_shots(
    gen: dict[str, Any],
    script: Script,
    indexes: list[int],
    out_dir: Path,
    *,
    anchor: str | None,
    seed: int,
    aspect: str | None = None,
) -> list[dict[str, Any]]:
    """Generate the clips of ``script``'s shots ``indexes`` (their lengths already fitted to the voice-over) into
    ``out_dir/generated/``; one record per shot: the clip, seed, prompt, anchor and the gate's verdict.

    A shot whose clip and record are already there with the same key (model, sampling, prompt, length, seed,
    anchor) is not generated again."""
    from adloom.core.types import Storyboard
    from adloom.creative.quality.clips import ClipGateConfig
    from adloom.creative.video.storyboard import StoryboardOptions, render_storyboard, shot_prompt

    if not indexes:
        return []
    try:
        board = Storyboard.from_script(script)
    except ValueError as exc:
        raise InputError(f"{exc}; generated shots are prompted from the script's shot prompts", field="script") from exc
    if aspect is not None:
        board = board.model_copy(update={"aspect": Aspect(aspect)})
    folder = out_dir / GENERATED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    keys = {
        i: _shot_key(gen, shot_prompt(board.shots[i], board.subject_sheet), board.shots[i].duration_s, seed + i, anchor)
        for i in indexes
    }
    records: dict[int, dict[str, Any]] = {}
    for i in indexes:
        rec_path = folder / f"shot_{i:02d}.json"
        if rec_path.is_file() and (folder / f"shot_{i:02d}.mp4").is_file():
            rec = json.loads(rec_path.read_text(encoding="utf-8"))
            if rec.get("key") == keys[i]:
                records[i] = rec | {"reused": True}
    todo = [i for i in indexes if i not in records]
    if todo:
        started = time.perf_counter()
        model = _model(gen["model"], gen["device"])
        opts = StoryboardOptions(
            reference="product" if anchor else "none",
            bucket=gen["bucket"],
            steps=int(gen["steps"]),
            seed=seed,
            max_frames=int(gen["max_frames"]),
            max_extensions=MAX_EXTENSIONS,
            gate_attempts=int(gen["gate_attempts"]),
            gate=ClipGateConfig(**gen.get("gate", {})),
        )
        clips = render_storyboard(model, board, folder, product_image=anchor, options=opts, only=todo)
        per_shot = round((time.perf_counter() - started) / len(todo), 2)
        for clip in clips:
            rec = {
                "shot": clip.index,
                "clip": str(clip.path),
                "clip_s": round(clip.duration_s, 3),
                "frames": clip.num_frames,
                "fps": clip.fps,
                "seed": clip.seed,
                "prompt": clip.prompt,
                "anchor": Path(anchor).name if anchor else None,
                "camera": clip.camera,
                "gate_passed": clip.gate_passed,
                "gate": clip.gate_summary,
                "seconds": per_shot,
                "key": keys[clip.index],
            }
            write_atomic(folder / f"shot_{clip.index:02d}.json", json.dumps(rec, ensure_ascii=False, indent=2))
            records[clip.index] = rec
    return [records[i] for i in indexes]


__all__ = [
    "GENERATED_DIR",
    "TINY_MODEL_BYTES",
    "ShotSource",
    "generate_shots",
    "generation_job",
    "model_weight_bytes",
    "shots_to_generate",
]
