"""Render speed of the 2D rigged presenter and the cost of lip-sync, on one core.

1. The composed rig scene (background, two product cards, presenter) at 720×1280 and
   1080×1920, pinned to one CPU with OpenCV on one thread: frames per second (median of
   ``--repeats`` runs of ``--frames`` frames after a warm-up), driven by a real mouth track,
   against the floor measured in the same run — a plain numpy copy of one full frame — and
   against the 25 fps a live room needs.
2. Mouth tracks per second of audio: espeak-ng timings → visemes, Kokoro (misaki G2P +
   per-phrase alignment, when the model is assembled), and the audio-driven path.

    .venv/bin/python bench/avatar_rig.py [--frames 250] [--repeats 5] [--cpu 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def _pin(cpu: int) -> str:
    try:
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError) as exc:  # not Linux, or the CPU is not ours
        return f"not pinned ({exc})"


def render(frames: int, repeats: int) -> None:
    import cv2

    from adloom.core.types import Language
    from adloom.digital_human.avatar.base import MouthPose
    from adloom.digital_human.avatar.scene import ProductCard, compose_rig_scene
    from adloom.digital_human.avatar.visemes import mouth_track
    from adloom.digital_human.voice.espeak import EspeakTTS

    cv2.setNumThreads(1)
    line = EspeakTTS().synthesize(
        "Welcome to the live room! This thermos keeps coffee hot for twenty-four hours, and today it is only "
        "ninety-nine yuan. Tap the card below to buy.",
        language=Language.en,
    )
    track = mouth_track(line, 25) or [MouthPose()]
    cards = [ProductCard("Thermos bottle 500 ml", "¥99"), ProductCard("保温杯 礼盒装", "¥129")]
    print(
        f"{'size':>10} {'look':>6} {'build s':>8} {'cache MB':>9} {'rig fps':>9} {'copy fps':>10} {'rig/copy':>9} "
        f"{'× 25 fps':>9}"
    )
    for size in ((720, 1280), (1080, 1920)):
        for look in ("look1", "look4"):
            t0 = time.perf_counter()
            scene = compose_rig_scene(look, size, cards=cards).prepare()
            build = time.perf_counter() - t0
            for i in range(50):  # warm-up: arm poses, caches, allocator
                scene.frame(i, track[i % len(track)])
            full = scene.frame(0, track[0])
            rig_fps, copy_fps = [], []
            for r in range(repeats):
                start = 1000 + r * frames
                t0 = time.perf_counter()
                for i in range(start, start + frames):
                    scene.frame(i, track[i % len(track)])
                rig_fps.append(frames / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                for _ in range(frames):
                    full.copy()
                copy_fps.append(frames / (time.perf_counter() - t0))
            rig, copy = statistics.median(rig_fps), statistics.median(copy_fps)
            name = f"{size[0]}x{size[1]}"
            mb = scene.memory_bytes() / 1e6
            print(
                f"{name:>10} {look:>6} {build:8.2f} {mb:9.1f} {rig:9.1f} {copy:10.1f} {copy / rig:8.1f}× "
                f"{rig / 25:8.1f}×"
            )


def mouth_cost(repeats: int) -> None:
    from adloom.core.settings import get_settings
    from adloom.core.types import Language
    from adloom.digital_human.avatar.audio_mouth import audio_mouth_track
    from adloom.digital_human.avatar.visemes import mouth_track
    from adloom.digital_human.voice.espeak import EspeakTTS

    text = (
        "Hello everyone, welcome back. This robot vacuum maps every room with lidar, "
        "and its dock holds sixty days of dust."
    )
    lines = {"espeak (phoneme timings)": EspeakTTS().synthesize(text, language=Language.en)}
    if (get_settings().models / "kokoro" / "kokoro-v1.0.int8.onnx").is_file():
        from adloom.digital_human.voice.kokoro import KokoroTTS

        lines["kokoro (G2P + alignment)"] = KokoroTTS(threads=1).synthesize(text, language=Language.en)
    else:
        print("kokoro: not assembled (adloom setup --only kokoro,voices); skipped")
    print(f"\n{'mouth track':>28} {'audio s':>8} {'ms per audio s':>15} {'real-time factor':>17}")
    for name, line in lines.items():
        mouth_track(line, 25)  # warm: G2P load
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            mouth_track(line, 25)
            times.append(time.perf_counter() - t0)
        per = statistics.median(times) / line.duration_s
        print(f"{name:>28} {line.duration_s:8.2f} {per * 1000:15.2f} {per:17.5f}")
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            audio_mouth_track(line.samples, line.sample_rate, 25)
            times.append(time.perf_counter() - t0)
        per = statistics.median(times) / line.duration_s
        print(f"{'audio-driven on ' + name.split()[0]:>28} {line.duration_s:8.2f} {per * 1000:15.2f} {per:17.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=250, help="frames per timed run (250 = 10 s of video)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cpu", type=int, default=0, help="the CPU to pin to")
    args = parser.parse_args()
    print(f"one core: {_pin(args.cpu)}, OpenCV threads 1; numpy {np.__version__}")
    render(args.frames, args.repeats)
    mouth_cost(args.repeats)


if __name__ == "__main__":
    main()
