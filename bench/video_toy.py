"""Toy world: does the small Wan-class DiT follow its prompt on combinations it never saw?

Generates one clip per held-out prompt (every (colour, shape, direction) triple in ``HELD_OUT`` on every background)
through :class:`adloom.creative.video.pipeline.VideoPipeline` from

* the trained checkpoint shipped in ``adloom/creative/video/toy/checkpoint``, and
* the same model with its transformer re-initialised at random (same size, same VAE and text encoder — so the gap is
  what the DiT learned),

and prints the pixel detector's prompt-match accuracy (colour, shape, background, direction, all four) for each, next
to the detector's accuracy on the ground-truth clips of the same prompts (its ceiling), on the VAE's reconstructions of
them (the ceiling the DiT can reach through this VAE), and chance. Also the generation time per clip (median over
calls). Target: trained ≥ 80% on colour and direction, untrained near chance.

    .venv/bin/python bench/video_toy.py [--per-combo 1] [--steps 20] [--guidance 4] [--train-split]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from adloom.creative.video.toy.dataset import make_clips, prompts_for, spec_for_caption
from adloom.creative.video.toy.detector.evaluate import CHANCE, FACTS, evaluate

CHECKPOINT = Path(__file__).resolve().parents[1] / "adloom" / "creative" / "video" / "toy" / "checkpoint"


def generate(model, prompts: list[str], *, steps: int, guidance: float, seed: int, batch: int):  # noqa: ANN001, ANN201
    """Clips for all prompts (batched calls) and the seconds per clip of each call."""
    from adloom.creative.video.pipeline import VideoPipeline, VideoRequest

    pipe = VideoPipeline(model)
    clips, per_clip = [], []
    for i in range(0, len(prompts), batch):
        chunk = prompts[i : i + batch]
        t0 = time.perf_counter()
        res = pipe(VideoRequest(prompt=chunk, width=32, height=32, num_frames=9, steps=steps,
                                guidance_scale=guidance, seed=seed + i))  # fmt: skip
        per_clip.append((time.perf_counter() - t0) / len(chunk))
        clips.extend(res.frames)
    return clips, per_clip


def vae_roundtrip(model, clips: np.ndarray) -> list[np.ndarray]:  # noqa: ANN001
    import torch

    fam = model.fam
    x = torch.from_numpy(clips).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)
    with torch.no_grad():
        video = fam.decode(model, fam.encode_frames(model, x))
    return list(((video.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 4, 1).byte().numpy())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    ap.add_argument("--per-combo", type=int, default=1, help="clips per held-out combination (different seeds)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--train-split", action="store_true", help="also score prompts seen in training")
    args = ap.parse_args()

    import torch
    from diffusers import WanTransformer3DModel

    from adloom.creative.video.models import load_video_model

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    prompts = prompts_for("heldout", per_combo=args.per_combo)
    print(f"held-out prompts: {len(prompts)} ({len(set(prompts))} combinations never seen in training); "
          f"{args.steps} steps, guidance {args.guidance}, 32x32, 9 frames, CPU threads {args.threads}")  # fmt: skip

    trained = load_video_model(args.checkpoint, device="cpu")
    untrained = load_video_model(args.checkpoint, device="cpu")
    torch.manual_seed(0)
    untrained.transformer = WanTransformer3DModel.from_config(trained.transformer.config).eval()
    n_params = sum(p.numel() for p in trained.transformer.parameters())

    truth = make_clips([spec_for_caption(p) for p in prompts])
    rows = {
        "ground truth (detector ceiling)": evaluate(prompts, list(truth)),
        "VAE reconstruction (ceiling via this VAE)": evaluate(prompts, vae_roundtrip(trained, truth)),
    }
    times = {}
    for name, model in (("trained DiT", trained), ("untrained DiT (same size)", untrained)):
        clips, per_clip = generate(model, prompts, steps=args.steps, guidance=args.guidance, seed=args.seed,
                                   batch=args.batch)  # fmt: skip
        rows[name] = evaluate(prompts, clips)
        times[name] = statistics.median(per_clip)
    if args.train_split:
        seen = prompts_for("train")[:: max(1, len(prompts_for("train")) // len(prompts))][: len(prompts)]
        clips, _ = generate(trained, seen, steps=args.steps, guidance=args.guidance, seed=args.seed, batch=args.batch)
        rows["trained DiT, prompts seen in training"] = evaluate(seen, clips)

    cols = [*FACTS, "all"]
    print(f"\ntransformer parameters: {n_params:,}")
    print(f"{'':44s}" + "".join(f"{c:>12s}" for c in cols) + f"{'found':>8s}")
    for name, rep in rows.items():
        print(f"{name:44s}" + "".join(f"{rep.accuracy[c]:12.0%}" for c in cols) + f"{rep.found_rate:8.0%}")
    chance_all = float(np.prod(list(CHANCE.values())))
    print(f"{'chance':44s}" + "".join(f"{CHANCE[c]:12.0%}" for c in FACTS) + f"{chance_all:12.1%}")
    tr, un = rows["trained DiT"].accuracy, rows["untrained DiT (same size)"].accuracy
    ratio = [f"{c} {tr[c] / un[c]:.1f}x" if un[c] else f"{c} {tr[c]:.0%} vs 0%" for c in cols]
    print("\ntrained / untrained accuracy: " + ", ".join(ratio))
    for name, t in times.items():
        print(f"generation time per clip, {name}: {t * 1000:.0f} ms (median over calls of {args.batch})")
    target = tr["colour"] >= 0.8 and tr["direction"] >= 0.8
    print(f"target (trained >= 80% colour and direction on held-out): {'MET' if target else 'NOT MET'}")


if __name__ == "__main__":
    main()
