"""Closed-loop bench: generate → prune → launch in the simulator → learn, pruning on vs off.

Run: ``.venv/bin/python bench/closed_loop.py [--rounds 5] [--pool 300] [--k 60] [--seed 0]``.
Each round draws a pool of random candidate creatives (one campaign per
industry, each with its share of the ``k`` launch slots), launches the
predictor's picks (pruning on: top by pCTCVR relative to the industry
baseline, 10% exploration by Thompson sampling; round 1 has no model, so it is
all exploration) and a random ``k`` from the same pool and seeds (pruning off),
delivers the pruned arm in the simulator, appends its logs and retrains.
Prints per round and arm the mean TRUE CTR and CVR of the launched creatives
(the simulator's creative-level rates, not the noisy counts) and the lift of
on over off; the baseline is the unpruned arm measured in the same run.
"""

from __future__ import annotations

import argparse
import time

from adloom.analytics.loop import LoopConfig, RoundResult, run_closed_loop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pool", type=int, default=300, help="candidate creatives per round")
    ap.add_argument("--k", type=int, default=60, help="creatives launched per round and arm")
    ap.add_argument("--impressions", type=int, default=120_000, help="impressions delivered per round")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", choices=("thompson", "ucb"), default="thompson")
    args = ap.parse_args()
    cfg = LoopConfig(impressions_per_round=args.impressions, method=args.method)
    print(
        f"closed loop: {args.rounds} rounds, pool {args.pool}, k {args.k}, {args.impressions:,} impressions/round, "
        f"{len(cfg.industries)} campaigns (industries), bar {cfg.bar:.2f}× baseline, "
        f"explore {cfg.explore_share:.0%} ({cfg.method}), seed {args.seed}"
    )
    print(f"{'round':>5} {'arm':<4} {'true CTR':>9} {'true CVR':>9} {'CTR lift':>9} {'CVR lift':>9} {'CTCVR lift':>10}")
    t0 = time.perf_counter()

    def show(r: RoundResult) -> None:
        print(f"{r.round:>5} {'off':<4} {r.off.ctr:>9.4%} {r.off.cvr:>9.3%}")
        print(
            f"{r.round:>5} {'on':<4} {r.on.ctr:>9.4%} {r.on.cvr:>9.3%} {r.lift_ctr:>+9.1%} {r.lift_cvr:>+9.1%} "
            f"{r.lift_ctcvr:>+10.1%}   (launch {r.count('launch')}, explore {r.count('explore')}, "
            f"prune {r.count('prune')}; {time.perf_counter() - t0:.0f}s)",
            flush=True,
        )

    results = run_closed_loop(args.rounds, args.pool, args.k, args.seed, config=cfg, progress=show)
    later = results[2:] if len(results) > 2 else results
    mean = sum(r.lift_ctcvr for r in later) / len(later)
    print(f"mean CTCVR lift from round {later[0].round} on: {mean:+.1%}; wall {time.perf_counter() - t0:.0f}s")
    print("example reasons (last round):")
    for action in ("launch", "explore", "prune"):
        d = next((d for d in results[-1].decisions if d.action == action), None)
        if d is not None:
            print(f"  {d.creative_key}: {d.reason}")


if __name__ == "__main__":
    main()
