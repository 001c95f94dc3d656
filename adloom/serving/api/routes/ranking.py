"""Ranking: score candidate creatives or scripts with the newest trained predictor (pCTCVR against the
industry benchmark, launch / explore / prune with reasons), or by the performance prior of similar library
creatives when no predictor is trained yet. The same scoring ``adloom render`` ranks a batch with; nothing
is stored. Each candidate's predicted CTR and CVR also come as percentiles of the library's observed rates, with
a 90 % interval and ``confident`` (see :mod:`adloom.analytics.percentile`)."""

from __future__ import annotations

from fastapi import APIRouter

from adloom.core.errors import InputError
from adloom.core.types import Script
from adloom.serving.api.deps import StateDep, StoreDep
from adloom.serving.api.errors import NOT_FOUND
from adloom.serving.api.models import RankedCandidate, RankingRequest, RankingResponse

router = APIRouter(prefix="/v1/ranking", tags=["ranking"])


def _candidates(body: RankingRequest, store: StoreDep) -> dict[str, Script]:
    if body.creative_ids is not None:
        keys, field = body.creative_ids, "creative_ids"
        found = {cid: store.get_creative(cid).script for cid in keys}
    elif body.script_ids is not None:
        keys, field = body.script_ids, "script_ids"
        found = {sid: store.get_script(sid) for sid in keys}
    else:
        scripts = body.scripts or []
        keys, field = [s.id for s in scripts], "scripts"
        found = {s.id: s for s in scripts}
    if len(found) != len(keys):
        raise InputError(f"{field} names the same candidate twice; send each once", field=field)
    return found


@router.post("/score", response_model=RankingResponse, responses=NOT_FOUND)
def score(body: RankingRequest, store: StoreDep, state: StateDep) -> RankingResponse:
    """Scores with reasons, best first. Another tenant's creative or script id is a 404."""
    import numpy as np

    from adloom.analytics.ranking import rank_and_prune
    from adloom.serving.predictor_service import industry_baseline, load_latest, score_scripts
    from adloom.serving.render_pipeline import library_placements, prior_scores

    scripts = _candidates(body, store)
    ids = list(scripts)
    retriever = state.retriever(store)
    found = load_latest(store)
    if found is None:
        priors = prior_scores([scripts[i] for i in ids], retriever)
        placed = dict(zip(ids, library_placements([scripts[i] for i in ids], retriever), strict=True))
        ranked = sorted(zip(ids, priors, strict=True), key=lambda p: -p[1])
        return RankingResponse(
            method="prior",
            note="ranked by the performance prior of similar library creatives (1.0 = industry average): no "
            "trained predictor yet, so nothing is pruned",
            data=[
                RankedCandidate(
                    id=cid,
                    rank=n,
                    action="launch",
                    metric="prior",
                    score=p,
                    baseline=1.0,
                    scores={"prior": p},
                    reason=f"launch: no trained predictor, so nothing is pruned; performance prior {p:.2f} "
                    "(1.00 = industry average)",
                    **RankedCandidate.percentiles(placed[cid]),
                )
                for n, (cid, p) in enumerate(ranked, 1)
            ],
        )
    predictor, mv = found
    sc = score_scripts(predictor, [scripts[i] for i in ids], retriever.items, seed=body.seed)
    placements = library_placements(
        [scripts[i] for i in ids], retriever, pctr=list(sc.pctr), pcvr=list(sc.pcvr), std=list(sc.std)
    )
    baselines = [industry_baseline(scripts[i].industry.value) for i in ids]
    decisions = rank_and_prune(
        ids,
        np.clip(sc.pctcvr, 1e-9, 1 - 1e-9),
        baselines,
        std=sc.std,
        rng=np.random.default_rng(body.seed),
        baseline_name="industry benchmark",
    )
    by_id = {d.creative_key: d for d in decisions}
    order = sorted(range(len(ids)), key=lambda i: -float(sc.pctcvr[i]))
    return RankingResponse(
        method="predictor",
        model_version=mv.version,
        note=f"ranked by predicted pCTCVR (model {mv.version}); pruned below 0.90× the industry benchmark",
        data=[
            RankedCandidate(
                id=ids[i],
                rank=n,
                action=by_id[ids[i]].action,
                metric="pCTCVR",
                score=float(sc.pctcvr[i]),
                baseline=float(baselines[i]),
                scores={
                    "pctr": float(sc.pctr[i]),
                    "pcvr": float(sc.pcvr[i]),
                    "pctcvr": float(sc.pctcvr[i]),
                    "uncertainty": float(sc.std[i]),
                },
                reason=by_id[ids[i]].reason,
                **RankedCandidate.percentiles(placements[i]),
            )
            for n, i in enumerate(order, 1)
        ],
    )
