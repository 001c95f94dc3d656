"""Ranking bench: LightGBM vs the logistic baseline vs the oracle on simulated delivery logs.

Run: ``.venv/bin/python bench/ranking.py [--impressions 1000000] [--config exp.yaml] [--store DIR]``.
Prints held-out (time split: last 3 of 14 days) AUC, log loss and calibration
error for pCTR and pCTCVR, the oracle being the simulator's true
probabilities; training time; scoring throughput on 100k candidates; and the
cold-vs-warm uncertainty of the bagged CTR heads. Needs the ``predict`` extra.
"""

from __future__ import annotations

import argparse
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
    gap = res.metrics["ctr/oracle"]["auc"] - res.metrics["ctr/lightgbm"]["auc"]
    lift = res.metrics["ctr/lightgbm"]["auc"] - res.metrics["ctr/logistic"]["auc"]
    print(f"CTR AUC: oracle - LightGBM = {gap:+.4f} (target <= 0.01); LightGBM - logistic = {lift:+.4f}")
    t = res.timings
    print(
        f"timings: simulate {t['simulate_s']:.1f}s, features {t['features_s']:.1f}s, "
        f"LightGBM train (play+ctr+esmm cvr+{cfg.uncertainty.n_bags} bags, {res.n_train:,} rows) "
        f"{t['train_lgbm_s']:.1f}s, logistic baseline (ctr+ctcvr) {t['train_baseline_s']:.1f}s, total {total:.1f}s"
    )
    # Scoring throughput: 100k candidates, encoded matrix, all heads incl. bags and calibration.
    enc = res.predictor.encoder
    rng = np.random.default_rng(0)
    from adloom.analytics.experiment import simulate_library_logs
    from adloom.analytics.features import build_feature_frame

    small = simulate_library_logs(cfg.data.model_copy(update={"n_impressions": 100_000}), seed=99)
    x = enc.tree_matrix(build_feature_frame(small))
    x = x[rng.permutation(len(x))]
    res.predictor.predict_matrix(x[:1000])
    t0 = time.perf_counter()
    res.predictor.predict_matrix(x)
    dt = time.perf_counter() - t0
    lean = type(res.predictor)(
        enc,
        res.predictor.play_booster,
        res.predictor.ctr_booster,
        res.predictor.cvr_booster,
        res.predictor.cvr_init,
        res.predictor.calibrators,
    )
    t0 = time.perf_counter()
    lean.predict_matrix(x)
    dt_lean = time.perf_counter() - t0
    print(
        f"scoring 100k candidates: {dt:.2f}s all heads + {cfg.uncertainty.n_bags} bags "
        f"({len(x) / dt:,.0f}/s); {dt_lean:.2f}s without bags ({len(x) / dt_lean:,.0f}/s) (target <= 1 s)"
    )
    if res.extras:
        print(
            f"uncertainty (bag s.d. of CTR logit): cold-start rows {res.extras['ctr_std_cold']:.3f} "
            f"(n={res.extras['n_cold']:,}) vs warm rows {res.extras['ctr_std_warm']:.3f}"
        )
    print(f"model saved: {res.model_dir}")


if __name__ == "__main__":
    main()
