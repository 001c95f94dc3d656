"""Ranking bench: the predictor vs its own linear part vs plain logistic regression vs the oracle (simulated logs).

Run: ``.venv/bin/python bench/ranking.py [--impressions 1000000] [--config exp.yaml] [--store DIR]``.
Prints held-out (time split: last 3 of 14 days) AUC, log loss and calibration
error for pCTR and pCTCVR of the predictor (linear base + LightGBM), the plain
logistic baseline, the predictor's linear part alone, the oracle (the
simulator's true probabilities) and the observable oracle (the same without
the creative's latent execution quality and the day noise, which no feature
can see); training time; scoring throughput on 100k candidates (on encoded
matrices; from a feature frame, encoding included, with and without the
uncertainty bags; and for never-run candidates from attributes through the
cold-start frame), median of 5 repeats, wall and CPU seconds with the load
average; and the cold-vs-warm uncertainty. Needs the ``predict`` extra.
Quick check: ``--impressions 200000`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from adloom.analytics.experiment import ExperimentConfig, load_config, run_experiment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impressions", type=int, default=1_000_000)
    ap.add_argument("--config", type=Path, default=None, help="experiment YAML (overrides the defaults)")
    ap.add_argument("--store", type=Path, default=None, help="model store root (default: a temp dir)")
    args = ap.parse_args()
    if args.config:
        cfg = load_config(args.config)
    else:
        cfg = ExperimentConfig.model_validate(
            {
                "name": "ranking-bench",
                "seed": 11,
                "data": {"n_impressions": args.impressions},
                "uncertainty": {"n_bags": 3, "bag_estimators": 60},
            }
        )
    store = args.store or Path(tempfile.mkdtemp(prefix="adloom-ranking-"))
    t0 = time.perf_counter()
    res = run_experiment(cfg, store_root=store)
    total = time.perf_counter() - t0
    d = cfg.data
    print(
        f"simulator: {d.n_creatives} creatives, {d.n_impressions:,} impressions over {d.n_days} days; "
        f"time split -> train {res.n_train:,} rows, held-out {res.n_test:,} rows (last {cfg.split.test_days} days)"
    )
    print(f"{'model':28s} {'AUC':>7s} {'logloss':>9s} {'ECE':>9s}")
    for key, m in res.metrics.items():
        print(f"{key:28s} {m['auc']:7.4f} {m['log_loss']:9.5f} {m['ece']:9.5f}")
    a = {k: m["auc"] for k, m in res.metrics.items()}
    nan = float("nan")
    print(
        "AUC, held out: the predictor (linear base + LightGBM residual) vs its own linear part (the logistic base\n"
        "with the crosses and history features, no trees) vs plain logistic regression (same features, no crosses)\n"
        "vs the oracle (the simulator's true probabilities):"
    )
    print(
        f"  {'target':6s} {'predictor':>10s} {'its linear':>11s} {'plain logit':>12s} {'oracle':>8s}   "
        f"{'trees add':>10s} {'linear-plain':>12s} {'gap to oracle':>14s}"
    )
    for target in ("ctr", "ctcvr"):
        p, lin, plain = a[f"{target}/lightgbm"], a.get(f"{target}/linear_part_only", nan), a[f"{target}/logistic"]
        oracle = a.get(f"{target}/oracle", nan)
        print(
            f"  {target:6s} {p:10.4f} {lin:11.4f} {plain:12.4f} {oracle:8.4f}   "
            f"{p - lin:+10.4f} {lin - plain:+12.4f} {oracle - p:+14.4f}"
        )
    print(
        "  (trees add = predictor - its linear part: the LightGBM residual's own contribution. linear-plain = its\n"
        "   linear part - plain logistic: for CTR the crosses (the two also differ in regularisation C); for CTCVR\n"
        "   the linear part is the linear pCTR times the predictor's pCVR (the CVR head is trees only and has no\n"
        "   linear base), so there trees add shows the CTR trees and linear-plain also holds the CVR trees.\n"
        f"   Observable oracle CTR AUC {a.get('ctr/oracle_observable', nan):.4f}: the best any feature set can do.)"
    )
    t = res.timings
    print(
        f"timings: simulate {t['simulate_s']:.1f}s, features {t['features_s']:.1f}s, "
        f"predictor train (linear base + play + ctr + esmm cvr + {cfg.uncertainty.n_bags} bags, "
        f"{res.n_train:,} rows) {t['train_lgbm_s']:.1f}s, logistic baseline (ctr+ctcvr) "
        f"{t['train_baseline_s']:.1f}s, total {total:.1f}s"
    )
    # Scoring throughput on 100k candidates: median of 5 repeats, after a warm-up.
    from adloom.analytics.experiment import simulate_library_logs
    from adloom.analytics.features import build_feature_frame, cold_start_frame
    from adloom.analytics.simulator import CreativeAttributes

    pred = res.predictor
    small = simulate_library_logs(cfg.data.model_copy(update={"n_impressions": 100_000}), seed=99)
    frame = build_feature_frame(small)
    frame = frame.iloc[np.random.default_rng(0).permutation(len(frame))].reset_index(drop=True)
    x, x_lin = pred.encoder.tree_matrix(frame), pred.encoder.linear_matrix(frame)
    hist = np.expm1(frame["hist_log_imps"].to_numpy(np.float64))
    pred.predict_matrix(x[:1000], x_lin[:1000], hist[:1000])
    # Candidates that never ran (the pre-launch pruning case): attributes + embeddings -> cold-start frame -> scores.
    rng = np.random.default_rng(5)
    cand_attrs = [CreativeAttributes.random(rng) for _ in range(len(frame))]
    cand_emb = rng.standard_normal((len(frame), small.embeddings.shape[1])).astype(np.float32)
    imp = small.impressions
    n_ref = len(small.creatives)
    ref = [np.bincount(imp["creative"], weights=imp[k], minlength=n_ref) for k in ("click", "conversion")]
    ref_imps = np.bincount(imp["creative"], minlength=n_ref).astype(np.float64)

    def cold_path(with_bags: bool) -> None:
        f = cold_start_frame(cand_attrs, cand_emb, small.embeddings, ref_imps, ref[0], ref[1], n_contexts=1)
        pred.predict(f, with_bags=with_bags)

    def med(fn) -> tuple[float, float]:  # noqa: ANN001
        """Median wall and CPU seconds of 5 runs (CPU time is the fair figure on a shared, loaded machine)."""
        wall, cpu = [], []
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return float(np.median(wall)), float(np.median(cpu))

    load0 = os.getloadavg()[0]
    lean = med(lambda: pred.predict_matrix(x, x_lin, hist, with_bags=False))
    bags = med(lambda: pred.predict_matrix(x, x_lin, hist))
    full = med(lambda: pred.predict(frame, with_bags=False))
    full_bags = med(lambda: pred.predict(frame))
    cold = med(lambda: cold_path(True))
    threads = os.cpu_count() or 1
    pred.num_threads = threads
    full_mt = med(lambda: pred.predict(frame))
    pred.num_threads = cfg.lightgbm.num_threads
    load1 = os.getloadavg()[0]
    n_trees = {
        "play": pred.play_booster.current_iteration(),
        "ctr": pred.ctr_booster.current_iteration(),
        "cvr": pred.cvr_booster.current_iteration(),
        "bags": [b.current_iteration() for b in pred.ctr_bags],
    }
    print(
        f"scoring {len(x):,} candidates, median of 5, wall / CPU seconds (trees per head {n_trees}; "
        f"load average {load0:.1f} before, {load1:.1f} after, on {os.cpu_count()} cores shared with other work):"
    )
    print(f"  all heads on encoded matrices, 1 thread:               {lean[0]:.3f}s / {lean[1]:.3f}s")
    print(f"  + {len(pred.ctr_bags)} uncertainty bags:                              {bags[0]:.3f}s / {bags[1]:.3f}s")
    print(f"  from the feature frame (encoding included), no bags:    {full[0]:.3f}s / {full[1]:.3f}s (target <= 1 s)")
    print(f"  from the feature frame, with bags:                      {full_bags[0]:.3f}s / {full_bags[1]:.3f}s")
    print(f"  from the feature frame, with bags, {threads} threads:           {full_mt[0]:.3f}s / {full_mt[1]:.3f}s")
    print(
        f"  never-run candidates: attributes -> cold-start frame -> scores with bags: {cold[0]:.3f}s / {cold[1]:.3f}s"
    )
    if res.extras:
        print(
            f"uncertainty (s.d. of the CTR logit: bags + creative posterior, tau={pred.creative_sd:.3f}): "
            f"cold-start rows {res.extras['ctr_std_cold']:.3f} (n={res.extras['n_cold']:,}) "
            f"vs warm rows {res.extras['ctr_std_warm']:.3f}"
        )
    print(f"model saved: {res.model_dir}")


if __name__ == "__main__":
    main()
