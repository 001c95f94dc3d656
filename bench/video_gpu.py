"""Video generation speed at the Wan 2.1 1.3B shape: diffusers' WanPipeline vs our loop, plain and fast.

Builds ``WanTransformer3DModel`` with the real Wan 2.1 T2V 1.3B config (30 layers, 12 heads × 128 = 1536
dim, ffn 8960, 16 latent channels, text_dim 4096, freq_dim 256, patch (1, 2, 2)) and the real
``AutoencoderKLWan`` config, all with random weights (no weights can be downloaded here). The text encoder
is a 1-layer UMT5 with the right output width (4096) instead of UMT5-XXL: it runs once per call, outside
the per-step numbers. Every variant shares the same modules, seed, prompt, negative prompt, guidance 5.0
and the same Euler sampler (``FlowMatchEulerDiscreteScheduler(shift=3)``, Wan 2.1's 480p flow shift).

Measured in one run, for each frame count (default 33 and 81 at 480×832):

* **(a) diffusers** — ``WanPipeline.__call__`` (two transformer forwards per step: cond, then uncond);
* **(b) ours** — ``VideoPipeline`` with no caching (one forward per step over the batched [uncond; cond]);
* **(c) ours fast** — (b) plus regional ``torch.compile`` of the transformer blocks and step caching
  (``--cache``, default 0.08).

Printed: median seconds per step, denoise and total seconds, peak GPU memory; max |a − b| and PSNR(a, b)
(the same video up to bf16 rounding of batched vs sequential CFG); PSNR(c, b) against ``--min-psnr``;
the cache hit rate; and the ratio (a)/(c) of per-step and denoise time (target ≥ 1.5×). Random weights
make PSNR(c, b) a property of this random model, not of trained Wan: quote it as such.

    .venv/bin/python bench/video_gpu.py                        # GPU: 480x832, 33 and 81 frames, 30 steps
    .venv/bin/python bench/video_gpu.py --device cpu --tiny    # CPU smoke run of the same code (tiny model)
    .venv/bin/python bench/video_gpu.py --frames 81 --ablate   # one frame count per call fits a 10-minute slot;
                                                               # --ablate adds cache-only and compile-only rows
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from typing import Any

import numpy as np

WAN_1_3B = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
)  # fmt: skip
PROMPT = "a matte black thermos on a sunny kitchen counter, steam rising, bright commercial look"
NEGATIVE = "blurry, low quality, watermark, static"


def build_model(device: Any, tiny: bool, seed: int = 0) -> Any:
    import torch

    from adloom.creative.video.models import VideoModel, build_tiny

    if tiny:
        m = build_tiny("wan", seed=seed, num_layers=4)
        m.device = device
        return m
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel
    from transformers import ByT5Tokenizer, UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    with torch.device(device):
        transformer = WanTransformer3DModel(**WAN_1_3B)
        vae = AutoencoderKLWan()  # the Wan 2.1 VAE config, float32 as diffusers recommends
        tokenizer = ByT5Tokenizer()
        text_encoder = UMT5EncoderModel(
            UMT5Config(vocab_size=len(tokenizer), d_model=4096, d_kv=64, d_ff=1024, num_layers=1, num_heads=4)
        ).to(torch.bfloat16)
    # bf16 as from_pretrained(torch_dtype=bf16) leaves it: the model's _keep_in_fp32_modules stay float32.
    keep = transformer._keep_in_fp32_modules or []
    for name, param in transformer.named_parameters():
        if not any(k in name.split(".") for k in keep):
            param.data = param.data.to(torch.bfloat16)
    for mod in (transformer, vae, text_encoder):
        mod.eval()
    sched = FlowMatchEulerDiscreteScheduler(shift=3.0)
    return VideoModel("wan", transformer, vae, text_encoder, tokenizer, dict(sched.config), device, torch.bfloat16)


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gib(device: Any) -> float:
    import torch

    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")


def run_diffusers(model: Any, width: int, height: int, frames: int, steps: int, seed: int) -> dict:
    import torch

    pipe = model.diffusers_pipeline()
    pipe.set_progress_bar_config(disable=True)
    marks: list[float] = []

    def on_step(_pipe: Any, i: int, t: Any, kwargs: dict) -> dict:
        _sync(model.device)
        marks.append(time.perf_counter())
        return kwargs

    _reset_peak(model.device)
    _sync(model.device)
    t0 = time.perf_counter()
    out = pipe(
        prompt=PROMPT, negative_prompt=NEGATIVE, height=height, width=width, num_frames=frames,
        num_inference_steps=steps, guidance_scale=5.0, generator=torch.Generator("cpu").manual_seed(seed),
        output_type="np", max_sequence_length=model.max_sequence_length, callback_on_step_end=on_step,
    )  # fmt: skip
    _sync(model.device)
    total = time.perf_counter() - t0
    # Step i ends at marks[i]; the first step starts after text encoding, which the callback cannot see:
    # take the median of the steps after the first, and denoise time as (steps − 1) × median + first ≈ marks span.
    step_times = np.diff(marks).tolist()
    return {
        "frames": np.asarray(out.frames, dtype=np.float32),
        "step_s": statistics.median(step_times) if step_times else float("nan"),
        "denoise_s": marks[-1] - marks[0] + (statistics.median(step_times) if step_times else 0.0),
        "total_s": total,
        "peak_gib": _peak_gib(model.device),
        "cache": None,
    }


def run_ours(
    model: Any, width: int, height: int, frames: int, steps: int, seed: int, cache: float, batched: bool = True
) -> dict:
    from adloom.creative.video.pipeline import VideoPipeline, VideoRequest

    _reset_peak(model.device)
    r = VideoPipeline(model)(
        VideoRequest(
            prompt=PROMPT, negative_prompt=NEGATIVE, width=width, height=height, num_frames=frames, steps=steps,
            guidance_scale=5.0, seed=seed, cache_threshold=cache, cfg_batched=batched,
        )
    )  # fmt: skip
    return {
        "frames": r.frames_float,
        "step_s": statistics.median(r.step_times[1:] or r.step_times),
        "denoise_s": r.timings["denoise_s"],
        "total_s": r.timings["total_s"],
        "peak_gib": _peak_gib(model.device),
        "cache": r.cache,
    }


def _median_of(runs: list[dict]) -> dict:
    """Median timings over repeated runs (outputs are identical run to run; the last one is kept)."""
    out = dict(runs[-1])
    for key in ("step_s", "denoise_s", "total_s", "peak_gib"):
        out[key] = statistics.median(r[key] for r in runs)
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="tiny random Wan (4 layers) — a CPU smoke run")
    ap.add_argument("--frames", default=None, help="comma list (default 33,81; tiny: 9,17)")
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--height", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None, help="default 30 (tiny: 10)")
    ap.add_argument("--cache", type=float, default=0.08, help="cache threshold of variant (c)")
    ap.add_argument("--no-compile", action="store_true", help="variant (c) without torch.compile")
    ap.add_argument("--min-psnr", type=float, default=30.0, help="stated PSNR floor for (c) vs (b), dB")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per variant, medians (default 1; tiny 3)")
    ap.add_argument("--ablate", action="store_true", help="also time cache-only and compile-only variants")
    args = ap.parse_args()

    import torch

    from adloom.creative.video.models import configure, resolve_device

    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    tiny = args.tiny
    width = args.width or (32 if tiny else 832)
    height = args.height or (32 if tiny else 480)
    frame_list = [int(f) for f in (args.frames or ("9,17" if tiny else "33,81")).split(",")]
    steps = args.steps or (10 if tiny else 30)
    repeats = args.repeats or (3 if tiny else 1)
    compile_c = not args.no_compile and device.type == "cuda"
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"# video_gpu: {'tiny Wan (4 layers)' if tiny else 'Wan 2.1 1.3B shape, random weights'}, {gpu}, "
          f"torch {torch.__version__}, {width}x{height}, {steps} steps, CFG 5.0, shift 3, "
          f"median of {repeats} run(s)")  # fmt: skip
    if not compile_c:
        print("# (c) runs WITHOUT torch.compile here" + (" (CPU: compile needs CUDA)" if device.type == "cpu" else ""))

    t0 = time.perf_counter()
    model = build_model(device, tiny, args.seed)
    from adloom.creative.video.models import place

    place(model, device)
    print(f"# model built in {time.perf_counter() - t0:.1f}s; "
          f"transformer {sum(p.numel() for p in model.transformer.parameters()) / 1e9:.3f}B params")  # fmt: skip

    rows = []
    for frames in frame_list:
        # Warm-up (kernels, allocator, autotuning) with 2 steps for each variant family before timing.
        run_diffusers(model, width, height, frames, 2, args.seed)
        a = _median_of([run_diffusers(model, width, height, frames, steps, args.seed) for _ in range(repeats)])
        run_ours(model, width, height, frames, 2, args.seed, 0.0)
        b = _median_of([run_ours(model, width, height, frames, steps, args.seed, 0.0) for _ in range(repeats)])
        # Exactness check: our loop with CFG as two forwards (diffusers' order) must reproduce (a) bit for bit.
        b["seq_diff"] = float(np.abs(run_ours(model, width, height, frames, steps, args.seed, 0.0, False)["frames"]
                                     - a["frames"]).max())  # fmt: skip
        if args.ablate:
            b["cache_only"] = _median_of(
                [run_ours(model, width, height, frames, steps, args.seed, args.cache) for _ in range(repeats)]
            )
        rows.append((frames, a, b))

    if compile_c:
        configure(model, compile=True)
    results = []
    for frames, a, b in rows:
        run_ours(model, width, height, frames, 3, args.seed, args.cache)  # compile / warm-up for this shape
        c = _median_of([run_ours(model, width, height, frames, steps, args.seed, args.cache) for _ in range(repeats)])
        if args.ablate and compile_c:
            c["compile_only"] = _median_of(
                [run_ours(model, width, height, frames, steps, args.seed, 0.0) for _ in range(repeats)]
            )
        results.append((frames, a, b, c))

    print()
    print(f"{'frames':>6} {'variant':<26} {'step_s':>8} {'denoise_s':>10} {'total_s':>8} {'peak_GiB':>9}  notes")
    for frames, a, b, c in results:
        diff_ab = float(np.abs(a["frames"] - b["frames"]).max())
        labels = [
            ("(a) diffusers WanPipeline", a, ""),
            (
                "(b) ours, no cache",
                b,
                f"max|a-b| {diff_ab:.2e}, PSNR(a,b) {psnr(a['frames'], b['frames']):.1f} dB; "
                f"sequential-CFG max|a-b| {b['seq_diff']:.2e}",
            ),
            (
                f"(c) ours{' +compile' if compile_c else ''} +cache {args.cache}",
                c,
                f"PSNR(c,b) {psnr(c['frames'], b['frames']):.1f} dB (floor {args.min_psnr}), cache {c['cache']}",
            ),
        ]
        if "cache_only" in b:
            r = b["cache_only"]
            labels.append((f"(b+) ours +cache {args.cache}", r, f"PSNR vs b {psnr(r['frames'], b['frames']):.1f} dB"))
        if "compile_only" in c:
            r = c["compile_only"]
            labels.append(("(b+) ours +compile", r, f"PSNR vs b {psnr(r['frames'], b['frames']):.1f} dB"))
        for name, r, note in labels:
            print(f"{frames:>6} {name:<26} {r['step_s']:>8.4f} {r['denoise_s']:>10.3f} {r['total_s']:>8.3f} "
                  f"{r['peak_gib']:>9.2f}  {note}")  # fmt: skip
        ratio_step = a["step_s"] / c["step_s"]
        ratio_denoise = a["denoise_s"] / c["denoise_s"]
        ok = "meets" if ratio_denoise >= 1.5 else "below"
        floor = ">=" if psnr(c["frames"], b["frames"]) >= args.min_psnr else "<"
        print(f"{frames:>6} ratio (a)/(c): per step {ratio_step:.2f}x, denoise {ratio_denoise:.2f}x "
              f"({ok} the 1.5x target); (a)/(b) denoise {a['denoise_s'] / b['denoise_s']:.2f}x; "
              f"PSNR(c,b) {floor} {args.min_psnr} dB")  # fmt: skip


if __name__ == "__main__":
    main()
