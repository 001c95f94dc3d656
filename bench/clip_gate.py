"""Throughput of the generated-clip gate (``adloom.creative.quality.clips.check_clip``) at 480x832.

A synthetic clip (a textured disc moving over a gradient, with grain) of ``--frames`` frames is encoded once
with libx264 (16 fps, CRF 18). Measured in the same run, medians of ``--repeats`` runs:

* **decode** — the baseline: PyAV decodes the MP4 to RGB arrays and does nothing else;
* **gate on the file** — ``check_clip(path)``: decode plus every check (what a caller holding an MP4 pays);
* **gate on frames** — ``check_clip(frames)`` on the decoded array (what the pipeline pays when it hands
  frames straight from the VAE, with no decode at all).

Printed as wall time, frames per second and CPU time (this process, all threads), each also as a ratio to the
decode baseline; on a shared machine the CPU column is the steadier figure (the load average is printed).

    .venv/bin/python bench/clip_gate.py [--frames 81] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

H, W, FPS = 480, 832, 16


def synthetic_clip(frames: int, seed: int = 0) -> np.ndarray:
    """A textured disc moving right along a gentle wave over a coloured gradient, with grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    bg = np.stack([60 + 80 * yy / H, 70 + 60 * yy / H + 20 * np.sin(xx / 80), 110 + 40 * xx / W], axis=-1)
    tex = rng.uniform(0, 1, (64, 64)).astype(np.float32)
    radius = 0.18 * H
    out = np.empty((frames, H, W, 3), np.uint8)
    for t in range(frames):
        cx, cy = W * 0.3 + 3 * t, H * 0.5 + 20 * np.sin(t / 6)
        dx, dy = xx - cx, yy - cy
        inside = dx**2 + dy**2 < radius**2
        tv = tex[((dy / radius + 1) * 31.5).clip(0, 63).astype(int), ((dx / radius + 1) * 31.5).clip(0, 63).astype(int)]
        obj = np.stack([200 * tv + 50, 80 * tv + 40, 70 - 30 * tv], axis=-1)
        img = np.where(inside[..., None], obj, bg) + rng.normal(0, 2.0, (H, W, 3))
        out[t] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def encode(frames: np.ndarray, path: Path) -> Path:
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{W}x{H}", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "fast", "-crf", "18",
        "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, input=frames.tobytes(), check=True, capture_output=True)
    return path


def decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])


def median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time (all threads of this process) of ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from adloom.creative.quality.clips import check_clip

    with tempfile.TemporaryDirectory() as tmp:
        path = encode(synthetic_clip(args.frames), Path(tmp) / "clip.mp4")
        frames = decode(path)
        verdict = check_clip(frames)  # warm-up, and the verdict the figures belong to
        t_decode = median_time(lambda: decode(path), args.repeats)
        t_file = median_time(lambda: check_clip(path), args.repeats)
        t_frames = median_time(lambda: check_clip(frames), args.repeats)

    n = frames.shape[0]
    print(
        f"# clip gate, {n} frames {W}x{H} h264, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, medians of {args.repeats}; "
        f"verdict on the clip: {'passed' if verdict.passed else verdict.reasons}"
    )
    print("                          wall ms  frames/s  x decode |  CPU ms  x decode")
    for name, (wall, cpu) in (
        ("decode only (baseline)", t_decode),
        ("gate on the file", t_file),
        ("gate on frames (no I/O)", t_frames),
    ):
        print(
            f"{name:24s} {wall * 1000:8.0f} {n / wall:9.1f} {wall / t_decode[0]:9.2f} | "
            f"{cpu * 1000:7.0f} {cpu / t_decode[1]:9.2f}"
        )
    print(f"gate alone: {t_frames[0] / n * 1000:.1f} ms wall, {t_frames[1] / n * 1000:.1f} ms CPU per frame")


if __name__ == "__main__":
    main()
