"""Speed of the footage remix path (issue 14): scene analysis throughput and per-creative render time.

1. **Scene analysis** — ``adloom.creative.assets.analyze.analyze_asset`` on a synthetic clip of ``--seconds``
   (default 20 s, 25 fps, libx264) with hard cuts between moving lavfi sources (testsrc2, mandelbrot, life,
   gradients, cellauto), at 1280x720 and 1920x1080. Each repeat uses a FRESH cache folder (a real analysis:
   scene cuts, scores, keyframes, and faces/hands when the mediapipe venv is found); printed as seconds of
   footage per second of analysis (higher is better; >= 1 means faster than real time), plus the cache-hit
   time (same bytes analysed again: hash + JSON load) as the baseline measured in the same run.
2. **Render** — ``adloom.serving.render_pipeline.render_batch`` (template writer, hashing embedder, 720p,
   one worker, voice + render + gate) of ``--n`` creatives from the English sample brief with (a) the three
   sample still photos only and (b) the project's synthetic footage set (``build_footage_set``: a 25 s clip
   with 12 scenes, a pan clip, the three photos). Seconds per creative, median of ``--render-repeats`` runs,
   and the ratio footage / stills. Asset analysis (cached by content under ``$ADLOOM_HOME``) is done once
   before the timed runs and printed separately, so the render figures exclude it.

All media are synthetic (generated in the run, seeded); figures are for this machine only (the load average
and core count are printed). ``ADLOOM_HOME`` is a temp folder; Kokoro voices are used when
``~/.adloom/models`` exists (``ADLOOM_MODEL_DIR``), else the espeak fallback — the TTS used is printed.

    .venv/bin/python bench/remix.py [--seconds 20] [--repeats 3] [--n 2] [--render-repeats 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

SAMPLES = Path(__file__).resolve().parents[1] / "adloom" / "serving" / "samples"
FPS = 25


def make_clip(out: Path, w: int, h: int, seconds: float, seed: int = 0) -> tuple[Path, int]:
    """``seconds`` of video at ``w``x``h`` made of moving lavfi sources joined with hard cuts; returns the path
    and the number of cuts."""
    from adloom.creative.compose.media import ffmpeg_exe

    size = f"{w}x{h}"
    sources = [
        f"testsrc2=s={size}:r={FPS}",
        f"mandelbrot=s={size}:r={FPS}",
        f"life=s={w // 4}x{h // 4}:r={FPS}:seed={seed}:mold=10:ratio=0.2,scale={size}:flags=neighbor",
        f"gradients=s={size}:r={FPS}:seed={seed}:speed=0.05",
        f"cellauto=s={w // 4}x{h // 4}:r={FPS}:rule=110:seed={seed},scale={size}:flags=neighbor",
        f"testsrc2=s={size}:r={FPS},hue=h=120,hflip",
    ]
    seg = seconds / len(sources)
    chains = [
        f"{src},trim=duration={seg:.3f},setpts=PTS-STARTPTS,format=yuv420p[v{i}]" for i, src in enumerate(sources)
    ]
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(sources)))
    graph += f"concat=n={len(sources)}:v=1:a=0[out]"
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264",
           "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True)
    return out, len(sources) - 1


def analysis_bench(tmp: Path, seconds: float, repeats: int) -> None:
    from adloom.creative.assets.analyze import analyze_asset

    print(f"# scene analysis: {seconds:g} s synthetic clip, {FPS} fps, hard cuts, fresh cache per run, "
          f"{repeats} runs, medians")  # fmt: skip
    print(f"{'size':>10} {'analysis s':>10} {'footage s/s':>11} {'scenes':>6} {'cache hit s':>11} {'miss/hit':>9}")
    people_note = None
    for w, h in ((1280, 720), (1920, 1080)):
        clip, cuts = make_clip(tmp / f"clip_{h}p.mp4", w, h, seconds)
        walls = []
        found = None
        for r in range(repeats):
            cache = tmp / f"cache_{h}_{r}"
            t0 = time.perf_counter()
            found = analyze_asset(clip, cache_dir=cache)
            walls.append(time.perf_counter() - t0)
        assert found is not None
        hits = []
        for _ in range(max(3, repeats)):
            t0 = time.perf_counter()
            analyze_asset(clip, cache_dir=tmp / f"cache_{h}_0")
            hits.append(time.perf_counter() - t0)
        wall, hit = statistics.median(walls), statistics.median(hits)
        dur = found.duration_s or seconds
        print(f"{w:>5}x{h:<4} {wall:10.2f} {dur / wall:11.2f} {len(found.scenes):>3}/{cuts + 1:<2} {hit:11.3f} "
              f"{wall / hit:8.0f}x")  # fmt: skip
        people = [x for x in found.warnings if "faces and hands" in x]
        people_note = people[0] if people else "measured (mediapipe venv found)"
    print(f"faces/hands: {people_note}")


def _brief(assets: list[dict]) -> object:
    from adloom.core.types import Brief

    data = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text())
    data["assets"] = assets
    return Brief.model_validate(data)


def render_bench(tmp: Path, n: int, repeats: int) -> None:
    from adloom.core.registry import registry
    from adloom.core.storage import open_store
    from adloom.creative.assets.analyze import CACHE_STATS
    from adloom.creative.assets.synthetic import build_footage_set
    from adloom.scripts_gen.library.retrieval import LibraryRetriever
    from adloom.scripts_gen.writer import ScriptWriter
    from adloom.serving.render_pipeline import (
        RenderOptions,
        analyze_footage,
        footage_cache,
        normalise_images,
        render_batch,
        resolve_assets,
    )
    from adloom.serving.scripts_service import ensure_library

    footage = build_footage_set(tmp / "footage", seed=0)
    stills = [
        {"kind": "image", "path": p.name, "description": f"{p.stem.replace('_', ' ')} product photo"}
        for p in footage.photos
    ]
    clips = [
        {"kind": "video", "path": footage.long_clip.name, "description": "factory tour, hands-on demos"},
        {"kind": "video", "path": footage.product_pan.name, "description": "robot vacuum, pan"},
    ]
    cases = {"stills": _brief(stills), "footage": _brief(clips + stills)}
    store = open_store(f"sqlite:///{tmp / 'bench.db'}")
    ensure_library(store)
    retriever = LibraryRetriever(registry("embedder").create("hashing"))
    retriever.build(store.list_library_items())
    opts = RenderOptions(height=720, workers=1)
    per: dict[str, float] = {}
    prep: dict[str, float] = {}
    cold: dict[str, int] = {}
    tts: set[str] = set()
    took_footage = 0
    for name, brief in cases.items():
        # the analysis render_batch does first, timed here so the render runs below are cache hits
        t0 = time.perf_counter()
        media = [str(p) for p in normalise_images(resolve_assets(brief, footage.root), tmp / f"prep_{name}")]
        analyze_footage(brief, media, footage_cache())
        prep[name] = time.perf_counter() - t0
        walls = []
        misses = CACHE_STATS["misses"]
        for r in range(repeats):
            t0 = time.perf_counter()
            outcomes = render_batch(brief, n, tmp / f"out_{name}_{r}", opts, base_dir=footage.root, store=store,
                                    retriever=retriever, writer=ScriptWriter(None))  # fmt: skip
            walls.append((time.perf_counter() - t0) / n)
            for o in outcomes:
                result = Path(o.creative.manifest_path or "").parent / "result.json"
                if result.is_file():
                    tts.update(json.loads(result.read_text(encoding="utf-8")).get("tts", []))
                if name == "footage":
                    manifest = json.loads(Path(o.creative.manifest_path or "").read_text(encoding="utf-8"))
                    took_footage += sum(1 for p in manifest.get("footage", []) if p and p.get("kind") == "clip")
        per[name] = statistics.median(walls)
        cold[name] = CACHE_STATS["misses"] - misses  # analyses redone inside the timed runs (expected 0)
    print(f"# render: {n} creatives per run, 720x1280, 1 worker, template writer, voice + render + gate, "
          f"{repeats} runs, median seconds per creative (asset analysis excluded, printed apart)")  # fmt: skip
    print(f"{'brief assets':>28} {'s/creative':>10} {'analysis s':>10}")
    print(f"{'stills only (3 photos)':>28} {per['stills']:10.2f} {prep['stills']:10.2f}")
    print(f"{'footage (2 clips + 3 photos)':>28} {per['footage']:10.2f} {prep['footage']:10.2f}")
    print(f"footage / stills: {per['footage'] / per['stills']:.2f}x per creative; "
          f"{took_footage} shots took clip scenes over {repeats * n} footage creatives; tts: "
          f"{', '.join(sorted(tts)) or 'unknown'}; analyses redone in timed runs: {sum(cold.values())}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the analysis clip")
    ap.add_argument("--repeats", type=int, default=3, help="analysis runs per size")
    ap.add_argument("--n", type=int, default=2, help="creatives per render run")
    ap.add_argument("--render-repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smoke: 6 s clip, 1 repeat, 1 creative")
    ap.add_argument("--skip-render", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.repeats, args.render_repeats, args.n = 6.0, 1, 1, 1
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["ADLOOM_HOME"] = str(tmp / "home")
        models = Path("~/.adloom/models").expanduser()
        if models.is_dir() and not os.environ.get("ADLOOM_MODEL_DIR"):
            os.environ["ADLOOM_MODEL_DIR"] = str(models)
        mp = os.environ.get("ADLOOM_MEDIAPIPE_PYTHON") or (
            "auto (.venv-mediapipe)" if (Path(__file__).resolve().parents[1] / ".venv-mediapipe").is_dir() else "none"
        )
        print(f"# conditions: {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}, "
              f"ffmpeg {imageio_ffmpeg.get_ffmpeg_version()}, models {os.environ.get('ADLOOM_MODEL_DIR', 'none')}, "
              f"mediapipe python {mp}; synthetic media")  # fmt: skip
        analysis_bench(tmp, args.seconds, args.repeats)
        if not args.skip_render:
            render_bench(tmp, args.n, args.render_repeats)


if __name__ == "__main__":
    main()
