"""Campaigns: the tenant's campaign ids, and one campaign's metrics as JSON for the console's charts.

The metrics are the report's own data (:func:`adloom.analytics.report.build_report`, the function the HTML and
PDF reports render), so a chart and the downloaded report never disagree. Another tenant's campaign holds no
creatives of this tenant: a 404 like every other foreign id."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from adloom.analytics.report import ReportData
from adloom.serving.api.deps import StoreDep
from adloom.serving.api.errors import NOT_FOUND
from adloom.serving.api.models import CampaignList, CampaignSummary

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])

RankBy = Literal["play_3s_rate", "ctr", "cvr", "ctcvr"]


@router.get("", response_model=CampaignList)
def list_campaigns(store: StoreDep) -> CampaignList:
    """Every campaign id this tenant's creatives carry, with how many creatives have feedback; campaigns with
    the most recent feedback first."""
    return CampaignList(
        data=[
            CampaignSummary(
                id=c.campaign_id,
                creatives=c.creatives,
                creatives_with_feedback=c.creatives_with_feedback,
                impressions=c.impressions,
                first_day=c.first_day,
                last_day=c.last_day,
            )
            for c in store.campaigns()
        ]
    )


@router.get("/{campaign_id}/metrics", response_model=ReportData, responses=NOT_FOUND)
def campaign_metrics(
    campaign_id: Annotated[str, Path(max_length=64, description="A campaign id from GET /v1/campaigns.")],
    store: StoreDep,
    rank_by: RankBy = "ctcvr",
    top_n: Annotated[int, Query(ge=1, le=20, description="Top and bottom creatives to list.")] = 3,
    min_impressions: Annotated[int, Query(ge=0, description="Creatives with fewer are not ranked.")] = 100,
    since: Annotated[date | None, Query(description="First day (UTC) counted.")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC) counted.")] = None,
) -> ReportData:
    """The campaign's report data: 3 s-play rate, CTR, CVR and CTCVR with 95 % intervals, lifts against the
    account and industry baselines, predicted vs actual per creative, top and bottom creatives, breakdowns and
    the daily trend — the numbers ``POST /v1/reports`` renders."""
    from adloom.analytics.report import build_report

    return build_report(
        store, campaign_id, rank_by=rank_by, top_n=top_n, min_impressions=min_impressions, since=since, until=until
    )
