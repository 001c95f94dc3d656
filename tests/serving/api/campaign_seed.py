"""A synthetic campaign for report and console tests: creatives made from sample-library scripts, and delivery
feedback drawn by the delivery simulator (:class:`adloom.analytics.simulator.DeliverySimulator`, the generator
behind ``adloom loop simulate``). Every figure is synthetic and seeded; nothing here is real delivery."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from adloom.analytics.sample_library import generate_sample_library
from adloom.analytics.simulator import CreativeAttributes, DeliverySimulator, ResponseModel, hashed_text_embedding
from adloom.core.storage import Store
from adloom.core.types import Creative, CreativeStatus

#: The first simulated day (UTC).
DAY0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
FEEDBACK_COLUMNS = ("event_id", "creative_id", "kind", "ts", "count", "value", "placement", "segment")


def synthetic_creatives(campaign_id: str, n: int = 6, seed: int = 3, *, id_prefix: str = "crv_syn") -> list[Creative]:
    """``n`` creatives of one campaign from sample-library scripts, each scored with a noisy prediction of its
    true simulated rates (so predicted vs actual has something to show)."""
    rng = np.random.default_rng(seed)
    model = ResponseModel()
    out = []
    for i, item in enumerate(generate_sample_library(n, seed=seed)):
        rates = model.true_rates(CreativeAttributes.from_script(item.script))
        noise = rng.lognormal(0.0, 0.15, size=3)
        scores = {
            "pplay_3s": float(min(0.99, rates.play_3s * noise[0])),
            "pctr": float(min(0.5, rates.ctr * noise[1])),
            "pcvr": float(min(0.5, rates.cvr * noise[2])),
        }
        scores["pctcvr"] = scores["pctr"] * scores["pcvr"]
        out.append(
            Creative(
                id=f"{id_prefix}_{i}",
                campaign_id=campaign_id,
                script=item.script,
                status=CreativeStatus.launched,
                scores=scores,
            )
        )
    return out


def synthetic_feedback(
    creatives: list[Creative], n_impressions: int = 60_000, n_days: int = 7, seed: int = 5
) -> list[dict[str, Any]]:
    """Delivery events (one row per creative × day × placement × audience × kind, with counts, plus spend at the
    simulated CPM) for ``creatives``, drawn by the delivery simulator."""
    attrs = [CreativeAttributes.from_script(c.script) for c in creatives]
    emb = hashed_text_embedding([" ".join(s.narration for s in c.script.shots) for c in creatives])
    sim = DeliverySimulator(embedding_dim=int(emb.shape[1]))
    log = sim.simulate(
        attrs, emb, n_impressions, n_days, rng=np.random.default_rng(seed), launch_days=np.zeros(len(attrs), dtype=int)
    )
    imp = log.impressions
    grouped = imp.groupby(["creative", "day", "placement", "audience"], observed=True).agg(
        impression=("play_3s", "size"),
        play_3s=("play_3s", "sum"),
        click=("click", "sum"),
        conversion=("conversion", "sum"),
    )
    model = ResponseModel()
    events: list[dict[str, Any]] = []
    for (ci, day, placement, audience), row in grouped.iterrows():
        c = creatives[int(ci)]
        ts = (DAY0 + timedelta(days=int(day))).isoformat()
        base = f"{c.id}-{int(day)}-{placement}-{audience}"
        for kind in ("impression", "play_3s", "click", "conversion"):
            n = int(row[kind])
            if n:
                events.append(
                    {"event_id": f"{base}-{kind}", "creative_id": c.id, "kind": kind, "ts": ts, "count": n}
                    | {"placement": str(placement), "segment": str(audience)}
                )
        spend = round(int(row["impression"]) / 1000 * model.cpm(attrs[int(ci)]), 2)
        events.append(
            {"event_id": f"{base}-spend", "creative_id": c.id, "kind": "spend", "ts": ts, "value": spend}
            | {"placement": str(placement), "segment": str(audience)}
        )
    return events


def as_csv(events: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=FEEDBACK_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for e in events:
        w.writerow(e)
    return out.getvalue().encode("utf-8")


def as_jsonl(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e, ensure_ascii=False).encode() + b"\n" for e in events)


def seed_campaign(store: Store, campaign_id: str, n: int = 6, seed: int = 3, **kw: Any) -> list[Creative]:
    """Save a synthetic campaign's creatives and ingest its synthetic feedback into ``store``'s tenant."""
    from adloom.analytics.feedback import ingest_events

    creatives = synthetic_creatives(campaign_id, n, seed, id_prefix=kw.pop("id_prefix", f"crv_{campaign_id[-6:]}"))
    store.save_creatives(creatives)
    report = ingest_events(store, synthetic_feedback(creatives, seed=seed + 2, **kw))
    assert report.rejected == 0 and report.held == 0, report
    return creatives
