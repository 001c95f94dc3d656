"""Closed-loop bench: generate → prune → launch in the simulator → learn, pruning vs prior ranking vs random.

Run: ``.venv/bin/python bench/closed_loop.py [--rounds 5] [--pool 300] [--k 60] [--seed 0]``.
Each round draws a pool of random candidate creatives (one campaign per
industry, each with its share of the ``k`` launch slots), launches the
predictor's picks (pruning on: top by pCTCVR relative to the industry
baseline, 10% exploration by Thompson sampling; round 1 has no model, so it is
all exploration), a random ``k`` from the same pool and seeds (pruning off),
and the top ``k`` of each campaign by the performance prior that ``adloom
render`` ranks by when no predictor is trained (the mean prior of the seeded
sample library's items of the same industry and hook type: prior), delivers
the pruned arm in the simulator, appends its logs and retrains. Prints per
round and arm the mean TRUE CTR and CVR of the launched creatives (the
simulator's creative-level rates, not the noisy counts) and the lift of on
over off and over prior; both baselines are measured in the same run.

``--report docs/report_example.html`` also stores the simulation the way
serving would (launched creatives with their scripts, covers and predicted
scores, every ranking decision with its reason, the delivery as feedback
events) in a scratch database and renders the marketer report of one
campaign, plus ``.png`` of its first page (WeasyPrint PDF → pdftoppm).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from adloom.analytics.loop import LoopConfig, PriorRanker, RoundResult, run_closed_loop

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
_HOOK_COLOURS = {
    "question": (52, 101, 164),
    "pain_point": (170, 57, 57),
    "surprising_fact": (160, 100, 20),
    "before_after": (46, 125, 50),
    "price_reveal": (123, 31, 162),
    "testimonial": (0, 121, 107),
    "demo": (69, 90, 100),
    "story": (141, 110, 99),
    "unboxing": (230, 81, 0),
}


def _cover(path: Path, script: Any) -> str:
    """A small 9:16 card standing in for a rendered cover: hook-type colour, hook text, CTA."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (120, 214), _HOOK_COLOURS.get(script.hook_type.value, (90, 90, 90)))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    words, lines, line = script.hook.split(), [], ""
    for w in words:
        if len(line) + len(w) > 16:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    for i, text in enumerate(lines[:6]):
        d.text((8, 20 + 14 * i), text, fill=(255, 255, 255), font=font)
    d.rectangle((8, 180, 112, 202), fill=(255, 255, 255))
    d.text((14, 186), script.hook_type.value[:16], fill=(20, 20, 20), font=font)
    img.save(path)
    return str(path)


def write_example_report(results: list[RoundResult], out: Path, industry: str) -> Path:
    """Store the loop's launched creatives, decisions and delivery; render ``industry``'s campaign report."""
    from adloom.analytics.feedback import ingest_events
    from adloom.analytics.report import build_report, write_report
    from adloom.analytics.simulator import PLACEMENT_OFFSETS, CreativeAttributes, ResponseModel
    from adloom.core.storage import open_store
    from adloom.core.storage.db import DecisionRecord
    from adloom.core.types import Creative, CreativeStatus

    work = Path(tempfile.mkdtemp(prefix="adloom-loop-report-"))
    store = open_store(f"sqlite:///{work}/loop.db")
    model = ResponseModel()
    placements = list(PLACEMENT_OFFSETS)
    day_offset = 0
    events: list[dict[str, Any]] = []
    for r in results:
        log = r.log
        assert log is not None
        keys = log.creatives["key"].tolist()
        creatives, decisions = [], []
        for d in r.decisions:
            script = r.scripts[d.creative_key]
            campaign = f"loop-{script.industry.value}"
            decisions.append(
                DecisionRecord(
                    creative_id=d.creative_key,
                    action=d.action,
                    score=d.score,
                    baseline=d.baseline,
                    reason=d.reason,
                    uncertainty=d.uncertainty,
                    scores=r.predictions.get(d.creative_key, {}),
                    batch_id=f"round-{r.round}",
                    campaign_id=campaign,
                    model_version=None if r.round == 1 else f"loop-round-{r.round - 1}",
                )
            )
            if d.action == "prune":
                continue
            creatives.append(
                Creative(
                    id=d.creative_key,
                    campaign_id=campaign,
                    script=script,
                    status=CreativeStatus.launched,
                    cover_path=_cover(work / f"{d.creative_key}.png", script),
                    scores={k: v for k, v in r.predictions.get(d.creative_key, {}).items() if k in ("pctr", "pcvr")},
                    reasons=[d.reason],
                    created_at=T0 + timedelta(days=day_offset),
                )
            )
        store.save_creatives(creatives)
        store.save_decisions(decisions)
        imp = log.impressions
        cpm = {k: model.cpm(CreativeAttributes.from_script(r.scripts[k])) for k in keys}
        grouped = (
            imp.assign(placement=imp["placement"].astype(str), audience=imp["audience"].astype(str))
            .groupby(["creative", "day", "placement", "audience"], observed=True)[["play_3s", "click", "conversion"]]
            .agg(["sum", "count"])
        )
        for (ci, day, placement, audience), row in grouped.iterrows():
            key = keys[ci]
            n = int(row[("click", "count")])
            ts = T0 + timedelta(days=day_offset + int(day), hours=9 + placements.index(placement))
            base = {"creative_id": key, "ts": ts, "placement": placement, "segment": audience}
            eid = f"{key}-{day}-{placement}-{audience}"
            for kind, count in (
                ("impression", n),
                ("play_3s", int(row[("play_3s", "sum")])),
                ("click", int(row[("click", "sum")])),
                ("conversion", int(row[("conversion", "sum")])),
            ):
                if count:
                    events.append({**base, "event_id": f"{eid}-{kind}", "kind": kind, "count": count})
            events.append({**base, "event_id": f"{eid}-spend", "kind": "spend", "value": round(n / 1000 * cpm[key], 2)})
        day_offset += int(imp["day"].max()) + 1
    report = ingest_events(store, events)
    print(f"stored {len(events):,} feedback events: {report.counted:,} counted, {report.rejected} rejected")
    data = build_report(store, f"loop-{industry}")
    html = write_report(data, out)
    png = out.with_suffix(".png")
    pdf = work / "report.pdf"
    write_report(data, pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(png.with_suffix(""))],
            check=True,
        )
        print(
            f"report: {html} ({html.stat().st_size / 1024:.0f} KiB); "
            f"first page: {png} ({png.stat().st_size / 1024:.0f} KiB)"
        )
    else:
        print(f"report: {html}; pdftoppm not found, no PNG written")
    shutil.rmtree(work, ignore_errors=True)
    return html


def library_prior_ranker() -> PriorRanker:
    """Scores candidates as ``adloom render`` does without a model: the seeded library's performance prior
    by (industry, hook type), from the same sample library a fresh install seeds (hashing embedder: the
    priors do not depend on embeddings)."""
    from adloom.analytics.sample_library import generate_sample_library
    from adloom.scripts_gen.library.embeddings import HashingEmbedder
    from adloom.scripts_gen.library.retrieval import LibraryRetriever
    from adloom.serving.render_pipeline import prior_means
    from adloom.serving.scripts_service import SAMPLE_LIBRARY_SEED, SAMPLE_LIBRARY_SIZE

    retriever = LibraryRetriever(HashingEmbedder(dim=64))
    retriever.build(generate_sample_library(SAMPLE_LIBRARY_SIZE, seed=SAMPLE_LIBRARY_SEED))
    means = prior_means(retriever)

    def rank(attrs: Any) -> np.ndarray:
        return np.array([means.get((a.industry.value, a.hook_type.value), 1.0) for a in attrs])

    return rank


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pool", type=int, default=300, help="candidate creatives per round")
    ap.add_argument("--k", type=int, default=60, help="creatives launched per round and arm")
    ap.add_argument("--impressions", type=int, default=120_000, help="impressions delivered per round")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", choices=("thompson", "ucb"), default="thompson")
    ap.add_argument("--candidates", choices=("random", "library"), default="random")
    ap.add_argument("--report", type=Path, default=None, help="also write the example report (implies library)")
    ap.add_argument("--report-industry", default="beauty", help="whose campaign the report shows")
    args = ap.parse_args()
    candidates = "library" if args.report else args.candidates
    cfg = LoopConfig(impressions_per_round=args.impressions, method=args.method, candidates=candidates)
    print(
        f"closed loop: {args.rounds} rounds, pool {args.pool}, k {args.k}, {args.impressions:,} impressions/round, "
        f"{len(cfg.industries)} campaigns (industries), bar {cfg.bar:.2f}× baseline, "
        f"explore {cfg.explore_share:.0%} ({cfg.method}), seed {args.seed}"
    )
    print(
        "arms: off = random k per campaign; prior = top k by the library performance prior (adloom render's "
        "ranking without a model); on = the predictor's launch/explore picks"
    )
    print(
        f"{'round':>5} {'arm':<5} {'true CTR':>9} {'true CVR':>9} {'CTR lift':>9} {'CVR lift':>9} "
        f"{'CTCVR lift':>10} {'vs prior':>9}"
    )
    t0 = time.perf_counter()

    def show(r: RoundResult) -> None:
        assert r.prior is not None
        print(f"{r.round:>5} {'off':<5} {r.off.ctr:>9.4%} {r.off.cvr:>9.3%}")
        print(
            f"{r.round:>5} {'prior':<5} {r.prior.ctr:>9.4%} {r.prior.cvr:>9.3%} {r.prior.ctr / r.off.ctr - 1:>+9.1%} "
            f"{r.prior.cvr / r.off.cvr - 1:>+9.1%} {r.prior.ctcvr / r.off.ctcvr - 1:>+10.1%}"
        )
        print(
            f"{r.round:>5} {'on':<5} {r.on.ctr:>9.4%} {r.on.cvr:>9.3%} {r.lift_ctr:>+9.1%} {r.lift_cvr:>+9.1%} "
            f"{r.lift_ctcvr:>+10.1%} {r.lift_ctcvr_vs_prior:>+9.1%}   (launch {r.count('launch')}, "
            f"explore {r.count('explore')}, prune {r.count('prune')}; {time.perf_counter() - t0:.0f}s)",
            flush=True,
        )

    results = run_closed_loop(
        args.rounds, args.pool, args.k, args.seed, config=cfg, progress=show, prior_ranker=library_prior_ranker()
    )
    later = results[2:] if len(results) > 2 else results
    mean = sum(r.lift_ctcvr for r in later) / len(later)
    mean_prior = sum(r.lift_ctcvr_vs_prior or 0.0 for r in later) / len(later)
    print(
        f"mean CTCVR lift from round {later[0].round} on: {mean:+.1%} over random launches, "
        f"{mean_prior:+.1%} over the prior ranking; wall {time.perf_counter() - t0:.0f}s"
    )
    print("example reasons (last round):")
    for action in ("launch", "explore", "prune"):
        d = next((d for d in results[-1].decisions if d.action == action), None)
        if d is not None:
            print(f"  {d.creative_key}: {d.reason}")
    if args.report:
        write_example_report(results, args.report, args.report_industry)


if __name__ == "__main__":
    main()
