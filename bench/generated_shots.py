"""Generated shots in the main job on the toy checkpoint: one creative from the synthetic footage set rendered
footage-only, with ``generate_missing`` and with ``generate_all``; per run the render time, where each shot came
from, and each generated clip's gate verdict; a frame per shot of the generate-missing creative is written.

The toy model (a Wan-family DiT/VAE trained on coloured shapes, 32 px) is what runs on this CPU-only machine; its
clips fail the production clip gate, so the runs are made twice: with the production gate (failing clips are not
used) and with the gate loosened for 32-pixel clips (``--loose``) to show the composition. Synthetic media and a
toy model: the figures show the mechanics and the overhead, not what a real model's shots look like.

Run: ``ADLOOM_MEDIAPIPE_PYTHON=.venv-mediapipe/bin/python .venv/bin/python bench/generated_shots.py [--loose]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import yaml

from adloom.creative.video.toy import toy_gate_limits

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "adloom" / "creative" / "video" / "toy" / "checkpoint"
LOOSE_GATE = toy_gate_limits()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loose", action="store_true", help="Loosen the clip gate for the toy model's clips.")
    parser.add_argument("--frames", type=Path, default=None, help="Write the generate-missing frame sheet here.")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="adloom-generated-"))
    os.environ.update(
        ADLOOM_HOME=str(root / "home"), ADLOOM_MODEL_DIR=str(Path.home() / ".adloom" / "models"),
        ADLOOM_VIDEO_MODEL_PATH=str(TOY), ADLOOM_VIDEO_DEVICE="cpu", ADLOOM_VIDEO_BUCKET="tiny",
        ADLOOM_VIDEO_STEPS="8", ADLOOM_VIDEO_MAX_FRAMES="9",
    )  # fmt: skip
    if args.loose:
        os.environ["ADLOOM_VIDEO_GATE"] = json.dumps(LOOSE_GATE)
    from adloom.core.registry import registry
    from adloom.core.storage import open_store
    from adloom.core.types import Brief
    from adloom.creative.assets.synthetic import build_footage_set
    from adloom.scripts_gen.library.retrieval import LibraryRetriever
    from adloom.scripts_gen.writer import ScriptWriter
    from adloom.serving.render_pipeline import RenderOptions, render_batch
    from adloom.serving.scripts_service import ensure_library

    fs = build_footage_set(root / "footage", seed=0)
    store = open_store(f"sqlite:///{root / 'a.db'}")
    ensure_library(store)
    retriever = LibraryRetriever(registry("embedder").create("hashing"))
    retriever.build(store.list_library_items())
    data = yaml.safe_load((REPO / "adloom" / "serving" / "samples" / "brief_en.yaml").read_text())
    data["assets"] = [
        {"kind": "video", "path": fs.long_clip.name, "description": "factory tour, hands-on demos"},
        {"kind": "image", "path": fs.photos[0].name, "description": "product packshot", "role": "feature"},
    ]
    brief = Brief.model_validate(data)
    print(f"gate: {'loosened for 32-px toy clips' if args.loose else 'production limits'}")
    for mode in ("footage_only", "generate_missing", "generate_all"):
        started = time.perf_counter()
        (outcome,) = render_batch(
            brief, 1, root / mode, RenderOptions(height=720, workers=1, shots=mode), base_dir=fs.root,
            store=store, retriever=retriever, writer=ScriptWriter(None),
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        manifest = json.loads(Path(outcome.creative.manifest_path or "").read_text(encoding="utf-8"))
        sources = manifest.get("shot_sources") or ["retrieved" if p else "designed" for p in manifest["footage"]]
        print(f"{mode:<17} {elapsed:6.1f} s  {outcome.creative.status.value:<9} shots: {' '.join(sources)}")
        for g in (manifest.get("generation") or {}).get("shots", []):
            first_reason = g["gate"].splitlines()[1].split("failed: ")[-1][:90]
            verdict = "passed" if g["gate_passed"] else f"failed: {first_reason}"
            print(f"    shot {g['shot']}: {g['frames']} frames, {g['seconds']:.2f} s, gate {verdict}, used={g['used']}")
        if mode == "generate_missing" and args.frames is not None:
            import importlib.util

            spec = importlib.util.spec_from_file_location("footage_frames", REPO / "bench" / "footage_frames.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.sheet(Path(outcome.creative.video_path or ""), args.frames)
            print(f"    frames: {args.frames}")


if __name__ == "__main__":
    main()
