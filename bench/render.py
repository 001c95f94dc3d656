"""Render speed of the compose renderer and the batch pipeline.

1. One 15 s 1080×1920 creative with 4 scenes, narration (Kokoro) and subtitles:
   render wall time, real-time factor (wall ÷ video duration), and the ratio to
   the floor — one libx264 encode (same preset and CRF) of the same frames,
   pre-rendered to raw video, measured in the same run.
2. A batch of ``--batch`` creatives (default 20, 720p, template writer so the
   LLM's time is not counted) through voice → render → gate with ``--workers``
   processes: creatives per hour.

    .venv/bin/python bench/render.py [--batch 20] [--workers 2] [--skip-batch]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import yaml

from adloom.core.storage import open_store
from adloom.core.types import Aspect, Brief, Language, ShotRole

SAMPLES = Path(__file__).resolve().parents[1] / "adloom" / "serving" / "samples"


def single_creative(tmp: Path, repeats: int) -> None:
    from adloom.creative.compose import Cue, RenderSpec, ShotSpec, render
    from adloom.digital_human.voice import mix_lines, speak_lines

    lines = [
        "换季皮肤干到紧绷？",
        "水润保湿精华，含透明质酸，补水保湿。",
        "质地清爽，涂抹后很快吸收。",
        "到手价129元，点击下方链接。",
    ]
    speech = speak_lines(lines, language=Language.zh)
    starts = [0.15, 3.9, 7.65, 11.4]
    spans = mix_lines(speech, starts, 15.0, tmp / "narration.wav")
    cues = [Cue(a, b, t) for (a, b), t in zip(spans, lines, strict=True)]
    images = [SAMPLES / "images" / "serum.png", SAMPLES / "images" / "serum_lilac.png"]
    roles = [ShotRole.hook, ShotRole.feature, ShotRole.demo, ShotRole.cta]
    shots = [ShotSpec(duration_s=3.75, role=r, media=images[i % 2], caption=lines[i][:10]) for i, r in enumerate(roles)]
    spec = RenderSpec(
        template="showcase" if "showcase" in _templates() else next(iter(_templates())),
        aspect=Aspect.portrait,
        height=1080,
        language=Language.zh,
        shots=shots,
        cues=cues,
        narration_wav=tmp / "narration.wav",
        title=lines[0],
        product_name="水润保湿精华",
        price_text="到手价129元",
        cta_text="点击下方链接",
    )
    walls, floors = [], []
    for i in range(repeats):
        t0 = time.perf_counter()
        result = render(spec, tmp / f"r{i}", name="bench")
        walls.append(time.perf_counter() - t0)
        floors.append(_floor(result.video, tmp, 1080, 1920, spec.preset, spec.crf))
    wall, floor = statistics.median(walls), statistics.median(floors)
    print(
        f"# single creative: 15 s, 1080x1920, 4 scenes, narration + subtitles, template {spec.template!r}, "
        f"{repeats} runs, medians"
    )
    print(f"render wall time      {wall:6.2f} s   real-time factor {wall / 15.0:.2f}x (target <= 1.0x)")
    print(f"floor (x264 encode)   {floor:6.2f} s   render / floor   {wall / floor:.2f}x (target <= 2x)")


def _templates() -> dict:
    from adloom.creative.compose import TEMPLATES

    return TEMPLATES


def _floor(video: Path, tmp: Path, w: int, h: int, preset: str, crf: int) -> float:
    """Seconds for one libx264 encode of the same frames, pre-decoded to raw video (not timed)."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    raw = tmp / "frames.yuv"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)], check=True
    )
    t0 = time.perf_counter()
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-s",
            f"{w}x{h}",
            "-r",
            "30",
            "-i",
            str(raw),
            "-c:v",
            "libx264",
            "-preset",
            preset,
            "-crf",
            str(crf),
            str(tmp / "floor.mp4"),
        ],
        check=True,
    )
    elapsed = time.perf_counter() - t0
    raw.unlink()
    return elapsed


def batch(tmp: Path, n: int, workers: int) -> None:
    from adloom.core.registry import registry
    from adloom.scripts_gen.library.retrieval import LibraryRetriever
    from adloom.scripts_gen.writer import ScriptWriter
    from adloom.serving.render_pipeline import RenderOptions, render_batch
    from adloom.serving.scripts_service import ensure_library

    brief = Brief.model_validate(yaml.safe_load((SAMPLES / "brief_zh.yaml").read_text()))
    store = open_store(f"sqlite:///{tmp / 'bench.db'}")
    ensure_library(store)
    retriever = LibraryRetriever(registry("embedder").create("hashing"))
    retriever.build(store.list_library_items())
    t0 = time.perf_counter()
    outcomes = render_batch(
        brief,
        n,
        tmp / "batch",
        RenderOptions(height=720, workers=workers),
        base_dir=SAMPLES,
        store=store,
        retriever=retriever,
        writer=ScriptWriter(None),
    )
    wall = time.perf_counter() - t0
    video_s = sum(o.creative.script.duration_s for o in outcomes)
    print(f"# batch: {n} creatives, 720x1280, {workers} workers, template writer, voice + render + gate")
    print(
        f"wall {wall:.1f} s for {video_s:.0f} s of video; {n / wall * 3600:.0f} creatives/hour; "
        f"{sum(o.delivered for o in outcomes)}/{n} passed the gate"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-batch", action="store_true")
    args = ap.parse_args()
    ffmpeg_version = imageio_ffmpeg.get_ffmpeg_version()
    print(f"# conditions: {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}, ffmpeg {ffmpeg_version}")
    with tempfile.TemporaryDirectory() as d:
        single_creative(Path(d), args.repeats)
        if not args.skip_batch:
            batch(Path(d), args.batch, args.workers)


if __name__ == "__main__":
    main()
