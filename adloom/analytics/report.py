"""Campaign reports for marketers: data for the console, a self-contained HTML page, a PDF.

:func:`build_report` reads one campaign's creatives and their counted feedback
(:mod:`adloom.analytics.feedback`) and returns :class:`ReportData`, a pydantic
model the console shows as is (``model_dump(mode="json")``).
:func:`render_html` turns it into one HTML file with inline SVG charts (no
scripts, no CDN, nothing fetched when viewed); :func:`write_report` writes
HTML, or PDF through WeasyPrint (the ``report`` extra) when the path ends in
``.pdf``.

Statistics, all deterministic (no resampling, so nothing to seed):

* rates — 3 s play rate = plays/impressions, CTR = clicks/impressions,
  CVR = conversions/clicks (post-click), CTCVR = conversions/impressions —
  carry 95 % Wilson score intervals;
* lifts = campaign rate / baseline rate − 1, with a delta-method interval on
  the log ratio of two independent binomial proportions (0.5 added to zero
  counts); a baseline without counts (a documented reference rate) only
  contributes its point value;
* baselines — *account*: every other creative with feedback in this store
  (one store is one account); *industry*: the pooled performance of the
  creative library in the campaign's industries, or, when the library holds
  none, the reference base rates documented in
  :mod:`adloom.analytics.simulator` (point values, marked as such);
* calibration — per creative, the prediction in ``Creative.scores``
  (``pctr``, ``pcvr``, ``pctcvr``, ``pplay_3s``) against the observed rate:
  observed/expected events with a Poisson interval, and impression-weighted
  bins for a reliability plot;
* ranking — top creatives by the Wilson lower bound of the ranking rate,
  bottom by its upper bound, so a lucky creative with 40 impressions does
  not top the list.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from statistics import NormalDist
from typing import Literal

from pydantic import BaseModel, Field

from adloom.core.errors import InputError, NotFoundError
from adloom.core.storage import Store
from adloom.core.storage.db import FeedbackCounts
from adloom.core.types import Creative, Industry, utcnow

Metric = Literal["play_3s_rate", "ctr", "cvr", "ctcvr"]
METRICS: tuple[Metric, ...] = ("play_3s_rate", "ctr", "cvr", "ctcvr")
LABELS: dict[str, str] = {"play_3s_rate": "3s-play rate", "ctr": "CTR", "cvr": "CVR", "ctcvr": "CTCVR"}
#: (numerator, denominator) columns of each rate.
_FRACTION: dict[Metric, tuple[str, str]] = {
    "play_3s_rate": ("plays_3s", "impressions"),
    "ctr": ("clicks", "impressions"),
    "cvr": ("conversions", "clicks"),
    "ctcvr": ("conversions", "impressions"),
}
#: Creative.scores keys holding predictions, and the rate each predicts.
SCORE_KEYS: dict[str, Metric] = {"pplay_3s": "play_3s_rate", "pctr": "ctr", "pcvr": "cvr", "pctcvr": "ctcvr"}


# -- statistics -------------------------------------------------------------------------------
def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k/n; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio_lift(
    k1: int, n1: int, k2: float, n2: float | None, confidence: float = 0.95
) -> tuple[float, float, float] | None:
    """(lift, lo, hi) of p1/p2 − 1, delta method on log(p1/p2); n2 None means p2 = k2 is exact.

    Zero counts get 0.5 added (Haldane) so the interval stays finite; None when
    either denominator is empty or the baseline rate is 0.
    """
    if n1 <= 0 or (n2 is not None and n2 <= 0):
        return None
    z = _z(confidence)
    a = k1 if k1 > 0 else 0.5
    p1 = a / n1
    var = max(0.0, 1 / a - 1 / n1)
    if n2 is None:
        p2 = float(k2)
    else:
        b = k2 if k2 > 0 else 0.5
        p2 = b / n2
        var += max(0.0, 1 / b - 1 / n2)
    if p2 <= 0:
        return None
    point = (k1 / n1) / p2 - 1
    log_r = math.log(p1 / p2)
    se = math.sqrt(var)
    return point, math.exp(log_r - z * se) - 1, math.exp(log_r + z * se) - 1


# -- report data ------------------------------------------------------------------------------
class RateStat(BaseModel):
    """A rate with its counts and 95 % Wilson interval (value None when the denominator is 0)."""

    metric: Metric
    numerator: int
    denominator: int
    value: float | None
    lo: float
    hi: float


class Funnel(BaseModel):
    """Counts, costs and rates of a group of creatives."""

    impressions: int = 0
    plays_3s: int = 0
    completions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend: float = 0.0
    cpm: float | None = None
    cpc: float | None = None
    cpa: float | None = None
    rates: dict[str, RateStat] = Field(default_factory=dict)


class Baseline(BaseModel):
    name: Literal["account", "industry"]
    source: str = Field(description="What the baseline is made of, for the reader.")
    exact: bool = Field(False, description="True when rates are reference values without counts (no interval).")
    funnel: Funnel


class Lift(BaseModel):
    metric: Metric
    baseline: Literal["account", "industry"]
    baseline_value: float
    lift: float
    lo: float
    hi: float
    significant: bool = Field(description="The interval excludes zero.")


class CalibrationBin(BaseModel):
    predicted: float
    observed: float
    lo: float
    hi: float
    denominator: int
    creatives: int


class CalibrationPoint(BaseModel):
    creative_id: str
    predicted: float
    observed: float
    denominator: int


class Calibration(BaseModel):
    """Predicted vs actual for one rate over the campaign's scored creatives."""

    metric: Metric
    score_key: str
    creatives: int
    expected: float = Field(description="Σ predicted rate × denominator.")
    observed: int
    ratio: float | None = Field(description="observed / expected (1 = calibrated).")
    ratio_lo: float | None
    ratio_hi: float | None
    bins: list[CalibrationBin]
    points: list[CalibrationPoint]


class CreativeSummary(BaseModel):
    creative_id: str
    title: str
    industry: str
    hook: str
    hook_type: str
    angle: str
    cta: str
    narration: str
    thumbnail: str | None = Field(None, description="data: URI of the cover, small JPEG.")
    funnel: Funnel
    predicted: dict[str, float] = Field(default_factory=dict)
    rank_score: float | None = None


class GroupRow(BaseModel):
    """One line of a breakdown (industry, placement or segment)."""

    key: str
    creatives: int | None = None
    funnel: Funnel
    lifts: list[Lift] = Field(default_factory=list)


class TrendPoint(BaseModel):
    day: date
    funnel: Funnel


class ReportData(BaseModel):
    """Everything a campaign report shows; JSON-able for the console."""

    campaign_id: str
    generated_at: datetime
    confidence: float
    rank_by: Metric
    creatives: int
    creatives_with_feedback: int
    industries: list[str]
    first_day: date | None
    last_day: date | None
    totals: Funnel
    baselines: list[Baseline]
    lifts: list[Lift]
    calibration: list[Calibration]
    calibration_note: str = ""
    top: list[CreativeSummary]
    bottom: list[CreativeSummary]
    by_industry: list[GroupRow]
    by_placement: list[GroupRow]
    by_segment: list[GroupRow]
    by_attribute: dict[str, list[GroupRow]] = Field(
        default_factory=dict,
        description="Breakdowns by an attribute of the creatives' scripts (platform, aspect, hook_type, angle, "
        "writer), each row with its lifts against the industry baseline.",
    )
    trend: list[TrendPoint]
    held_events: int = Field(0, description="Events stored but not counted (funnel); see feedback ingestion.")
    notes: list[str] = Field(default_factory=list)


def _funnel(c: FeedbackCounts, confidence: float) -> Funnel:
    rates: dict[str, RateStat] = {}
    for m, (num, den) in _FRACTION.items():
        k, n = int(getattr(c, num)), int(getattr(c, den))
        lo, hi = wilson(k, n, confidence)
        rates[m] = RateStat(metric=m, numerator=k, denominator=n, value=k / n if n else None, lo=lo, hi=hi)
    return Funnel(
        impressions=c.impressions,
        plays_3s=c.plays_3s,
        completions=c.completions,
        clicks=c.clicks,
        conversions=c.conversions,
        spend=round(c.spend, 4),
        cpm=c.spend / c.impressions * 1000 if c.impressions else None,
        cpc=c.spend / c.clicks if c.clicks else None,
        cpa=c.spend / c.conversions if c.conversions else None,
        rates=rates,
    )


def _sum(items: list[FeedbackCounts]) -> FeedbackCounts:
    total = FeedbackCounts()
    for it in items:
        total.add(it)
    return total


def _lifts(f: Funnel, base: Baseline, confidence: float) -> list[Lift]:
    out = []
    for m in METRICS:
        r, b = f.rates[m], base.funnel.rates[m]
        if b.value is None:
            continue
        res = (
            ratio_lift(r.numerator, r.denominator, b.value, None, confidence)
            if base.exact
            else ratio_lift(r.numerator, r.denominator, b.numerator, b.denominator, confidence)
        )
        if res is None:
            continue
        lift, lo, hi = res
        out.append(
            Lift(
                metric=m,
                baseline=base.name,
                baseline_value=b.value,
                lift=lift,
                lo=lo,
                hi=hi,
                significant=lo > 0 or hi < 0,
            )
        )
    return out


def _industry_baseline(store: Store, industries: list[str], confidence: float) -> Baseline:
    pooled = FeedbackCounts()
    n_items = 0
    for ind in industries:
        for item in store.list_library_items(industry=ind):
            p = item.performance
            if p.impressions:
                n_items += 1
                pooled.add(
                    FeedbackCounts(
                        impressions=p.impressions,
                        plays_3s=p.plays_3s,
                        clicks=p.clicks,
                        conversions=p.conversions,
                        spend=p.spend,
                    )
                )
    names = ", ".join(industries) or "none"
    if pooled.impressions:
        return Baseline(
            name="industry",
            source=f"creative library, {n_items} items in {names}",
            funnel=_funnel(pooled, confidence),
        )
    from adloom.analytics.simulator import ResponseParams  # reference rates, read only when the library is empty

    base = ResponseParams().base
    triples = [base[Industry(i)] for i in industries if i in Industry.__members__] or [base[Industry.food]]
    play, ctr, cvr = (sum(t[j] for t in triples) / len(triples) for j in range(3))
    rates = {
        m: RateStat(metric=m, numerator=0, denominator=0, value=v, lo=v, hi=v)
        for m, v in zip(METRICS, (play, ctr, cvr, ctr * cvr), strict=True)
    }
    return Baseline(
        name="industry",
        source=f"reference base rates for {names} (adloom.analytics.simulator; no library data)",
        exact=True,
        funnel=Funnel(rates=rates),
    )


def _thumbnail(path: str | None, notes: list[str]) -> str | None:
    if not path:
        return None
    try:
        from PIL import Image

        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((120, 214))
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=80)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    except (OSError, ValueError) as exc:
        notes.append(f"cover {path} could not be read ({exc}); shown without a thumbnail")
        return None


def _summary(c: Creative, f: Funnel, notes: list[str], score: float | None) -> CreativeSummary:
    s = c.script
    narration = " ".join(sh.narration for sh in s.shots if sh.narration)
    return CreativeSummary(
        creative_id=c.id,
        title=s.title,
        industry=str(s.industry),
        hook=s.hook,
        hook_type=str(s.hook_type),
        angle=str(s.angle),
        cta=s.cta,
        narration=narration[:600],
        thumbnail=_thumbnail(c.cover_path, notes),
        funnel=f,
        predicted={k: v for k, v in c.scores.items() if k in SCORE_KEYS},
        rank_score=score,
    )


#: Script attributes the report breaks the campaign down by (name → how to read it from a creative).
ATTRIBUTES: dict[str, Callable[[Creative], str]] = {
    "platform": lambda c: str(c.script.platform),
    "aspect": lambda c: str(c.script.aspect),
    "hook_type": lambda c: str(c.script.hook_type),
    "angle": lambda c: str(c.script.angle),
    "writer": lambda c: str(c.script.provenance.path),
}


def _by_attribute(
    creatives: list[Creative], per: dict[str, FeedbackCounts], base: Baseline, confidence: float
) -> dict[str, list[GroupRow]]:
    out: dict[str, list[GroupRow]] = {}
    for name, read in ATTRIBUTES.items():
        groups: dict[str, list[str]] = defaultdict(list)
        for c in creatives:
            groups[read(c) or "(none)"].append(c.id)
        rows = []
        for key, members in sorted(groups.items()):
            f = _funnel(_sum([per[i] for i in members if i in per]), confidence)
            rows.append(GroupRow(key=key, creatives=len(members), funnel=f, lifts=_lifts(f, base, confidence)))
        out[name] = rows
    return out


def _calibration(
    creatives: list[Creative], per: dict[str, FeedbackCounts], confidence: float, n_bins: int
) -> list[Calibration]:
    out = []
    z = _z(confidence)
    for key, metric in SCORE_KEYS.items():
        num, den = _FRACTION[metric]
        pts = []
        for c in creatives:
            counts = per.get(c.id)
            if key in c.scores and counts is not None and getattr(counts, den) > 0:
                n = int(getattr(counts, den))
                pts.append((c.id, float(c.scores[key]), int(getattr(counts, num)), n))
        if not pts:
            continue
        expected = sum(p * n for _, p, _, n in pts)
        observed = sum(k for _, _, k, _ in pts)
        ratio = observed / expected if expected > 0 else None
        if ratio is not None and observed > 0:
            se = 1 / math.sqrt(observed)
            r_lo, r_hi = ratio * math.exp(-z * se), ratio * math.exp(z * se)
        else:
            r_lo = r_hi = None
        pts.sort(key=lambda t: t[1])
        bins = []
        k_bins = min(n_bins, len(pts))
        edges = [round(j * len(pts) / k_bins) for j in range(k_bins + 1)]  # near-equal creatives per bin
        for a, b in zip(edges, edges[1:], strict=False):
            chunk = pts[a:b]
            n = sum(t[3] for t in chunk)
            k = sum(t[2] for t in chunk)
            lo, hi = wilson(k, n, confidence)
            pred = sum(t[1] * t[3] for t in chunk) / n
            bins.append(
                CalibrationBin(predicted=pred, observed=k / n, lo=lo, hi=hi, denominator=n, creatives=len(chunk))
            )
        out.append(
            Calibration(
                metric=metric,
                score_key=key,
                creatives=len(pts),
                expected=expected,
                observed=observed,
                ratio=ratio,
                ratio_lo=r_lo,
                ratio_hi=r_hi,
                bins=bins,
                points=[
                    CalibrationPoint(creative_id=i, predicted=p, observed=k / n, denominator=n) for i, p, k, n in pts
                ],
            )
        )
    return out


def build_report(
    store: Store,
    campaign_id: str,
    *,
    rank_by: Metric = "ctcvr",
    top_n: int = 3,
    min_impressions: int = 100,
    confidence: float = 0.95,
    calibration_bins: int = 5,
    since: date | None = None,
    until: date | None = None,
) -> ReportData:
    """Gather one campaign's report from the store (see the module notes for the statistics).

    Raises :class:`NotFoundError` when the campaign has no creatives and
    :class:`InputError` for an impossible option.
    """
    if rank_by not in _FRACTION:
        raise InputError(f"rank_by must be one of {', '.join(METRICS)}, got {rank_by!r}", field="rank_by")
    if not 0.5 <= confidence < 1:
        raise InputError(f"confidence must be in [0.5, 1), got {confidence}", field="confidence")
    if top_n < 1:
        raise InputError(f"top_n must be at least 1, got {top_n}", field="top_n")
    creatives = store.creatives_for_campaign(campaign_id)
    if not creatives:
        raise NotFoundError(f"no creatives in campaign {campaign_id!r}; check the id or save the campaign's creatives")
    notes: list[str] = []
    ids = [c.id for c in creatives]
    by_id = {c.id: c for c in creatives}
    daily = store.feedback_daily(ids, since=since, until=until)
    per: dict[str, FeedbackCounts] = defaultdict(FeedbackCounts)
    per_day: dict[date, FeedbackCounts] = defaultdict(FeedbackCounts)
    for d in daily:
        per[d.creative_id].add(d)
        per_day[d.day].add(d)
    total = _sum(list(per.values()))
    totals = _funnel(total, confidence)
    industries = sorted({str(c.script.industry) for c in creatives})

    account = _sum(list(store.feedback_totals_by_creative(exclude_campaign_id=campaign_id).values()))
    baselines = []
    if account.impressions:
        n_other = len(store.feedback_totals_by_creative(exclude_campaign_id=campaign_id))
        baselines.append(
            Baseline(
                name="account",
                source=f"all other creatives in this account ({n_other} with feedback, all dates)",
                funnel=_funnel(account, confidence),
            )
        )
    else:
        notes.append("no other creatives in this account have feedback yet: no account baseline")
    baselines.append(_industry_baseline(store, industries, confidence))
    lifts = [lift for b in baselines for lift in _lifts(totals, b, confidence)]

    calibration = _calibration(creatives, per, confidence, calibration_bins)
    cal_note = (
        "" if calibration else "no predictions yet: no creative in this campaign has pctr/pcvr scores with feedback"
    )

    num, den = _FRACTION[rank_by]
    eligible = []
    for cid, counts in per.items():
        n = int(getattr(counts, den))
        if counts.impressions >= min_impressions and n > 0:
            lo, hi = wilson(int(getattr(counts, num)), n, confidence)
            eligible.append((cid, lo, hi))
    if len(eligible) < len(per):
        notes.append(
            f"{len(per) - len(eligible)} creative(s) with fewer than {min_impressions} impressions "
            f"(or no {den}) are not ranked"
        )
    top_ids = [cid for cid, lo, _ in sorted(eligible, key=lambda t: (-t[1], t[0]))[:top_n]]
    bottom_pool = [t for t in eligible if t[0] not in top_ids]
    bottom_ids = [cid for cid, _, hi in sorted(bottom_pool, key=lambda t: (t[2], t[0]))[:top_n]]
    scores = {cid: (lo, hi) for cid, lo, hi in eligible}
    top = [_summary(by_id[i], _funnel(per[i], confidence), notes, scores[i][0]) for i in top_ids]
    bottom = [_summary(by_id[i], _funnel(per[i], confidence), notes, scores[i][1]) for i in bottom_ids]

    industry_base = {b.name: b for b in baselines}
    by_industry = []
    for ind in industries:
        members = [c.id for c in creatives if str(c.script.industry) == ind]
        f = _funnel(_sum([per[i] for i in members if i in per]), confidence)
        ib = _industry_baseline(store, [ind], confidence) if len(industries) > 1 else industry_base["industry"]
        by_industry.append(GroupRow(key=ind, creatives=len(members), funnel=f, lifts=_lifts(f, ib, confidence)))
    by_attribute = _by_attribute(creatives, per, industry_base["industry"], confidence)
    by_placement = [
        GroupRow(key=k or "(none)", funnel=_funnel(v, confidence))
        for k, v in sorted(store.feedback_breakdown(ids, "placement").items())
    ]
    by_segment = [
        GroupRow(key=k or "(none)", funnel=_funnel(v, confidence))
        for k, v in sorted(store.feedback_breakdown(ids, "segment").items())
    ]
    if since or until:
        notes.append("placement and segment breakdowns cover all dates; the rest covers the selected dates")
    trend = [TrendPoint(day=d, funnel=_funnel(per_day[d], confidence)) for d in sorted(per_day)]
    held = sum(len(store.held_feedback(i)) for i in ids)
    if held:
        notes.append(f"{held} event(s) are held (they would break the funnel) and not counted")
    return ReportData(
        campaign_id=campaign_id,
        generated_at=utcnow(),
        confidence=confidence,
        rank_by=rank_by,
        creatives=len(creatives),
        creatives_with_feedback=len(per),
        industries=industries,
        first_day=min(per_day) if per_day else None,
        last_day=max(per_day) if per_day else None,
        totals=totals,
        baselines=baselines,
        lifts=lifts,
        calibration=calibration,
        calibration_note=cal_note,
        top=top,
        bottom=bottom,
        by_industry=by_industry,
        by_placement=by_placement,
        by_segment=by_segment,
        by_attribute=by_attribute,
        trend=trend,
        held_events=held,
        notes=notes,
    )


# -- rendering --------------------------------------------------------------------------------
def _pct(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v * 100:.{digits}f}%"


def _num(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _svg_trend(points: list[TrendPoint], metric: Metric, width: int = 520, height: int = 180) -> str:
    """Daily rate with its interval as a band; days without a denominator are skipped."""
    data = [(p.day, p.funnel.rates[metric]) for p in points if p.funnel.rates[metric].value is not None]
    title = f"{LABELS[metric]} per day"
    if not data:
        return f'<p class="muted">{_e(title)}: no data yet.</p>'
    pad_l, pad_r, pad_t, pad_b = 48, 10, 22, 26
    ymax = max(r.hi for _, r in data) * 1.1 or 1e-6
    n = len(data)

    def x(i: int) -> float:
        return pad_l + (width - pad_l - pad_r) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - v / ymax)

    band = " ".join(f"{x(i):.1f},{y(r.hi):.1f}" for i, (_, r) in enumerate(data))
    band += " " + " ".join(f"{x(i):.1f},{y(r.lo):.1f}" for i, (_, r) in reversed(list(enumerate(data))))
    line = " ".join(f"{x(i):.1f},{y(r.value or 0):.1f}" for i, (_, r) in enumerate(data))
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(r.value or 0):.1f}" r="2.5"><title>{d}: {_pct(r.value)} '
        f"({r.numerator}/{r.denominator})</title></circle>"
        for i, (d, r) in enumerate(data)
    )
    ticks = "".join(
        f'<text x="{pad_l - 4}" y="{y(ymax * f) + 4:.1f}" text-anchor="end">{_pct(ymax * f, 1)}</text>'
        f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(ymax * f):.1f}" y2="{y(ymax * f):.1f}" class="grid"/>'
        for f in (0, 0.5, 1)
    )
    labels = f'<text x="{x(0):.1f}" y="{height - 8}" text-anchor="middle">{data[0][0]}</text>'
    if n > 1:
        labels += f'<text x="{x(n - 1):.1f}" y="{height - 8}" text-anchor="end">{data[-1][0]}</text>'
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e(title)}"><text x="{pad_l}" y="14" class="title">{_e(title)}</text>{ticks}'
        f'<polygon points="{band}" class="band"/><polyline points="{line}" class="line"/>{dots}{labels}</svg>'
    )


def _svg_lifts(lifts: list[Lift], width: int = 560) -> str:
    """Forest plot: one row per metric × baseline, point and interval around zero lift."""
    if not lifts:
        return '<p class="muted">No baseline to compare with yet.</p>'
    row_h, pad_l, pad_r, pad_t = 22, 210, 20, 20  # labels such as "3s-play rate vs industry" fit in PDF fonts too
    height = pad_t + row_h * len(lifts) + 24
    lo = min(min(lf.lo for lf in lifts), -0.1)
    hi = max(max(lf.hi for lf in lifts), 0.1)
    lo, hi = max(lo, -1.0), min(hi, 5.0)

    def x(v: float) -> float:
        v = min(max(v, lo), hi)
        return pad_l + (width - pad_l - pad_r) * (v - lo) / (hi - lo)

    rows = []
    for i, lf in enumerate(lifts):
        yy = pad_t + row_h * i + row_h / 2
        cls = "pos" if lf.significant and lf.lift > 0 else "neg" if lf.significant else "ns"
        rows.append(
            f'<text x="{pad_l - 6}" y="{yy + 4:.1f}" text-anchor="end">{_e(LABELS[lf.metric])} vs {lf.baseline}</text>'
            f'<line x1="{x(lf.lo):.1f}" x2="{x(lf.hi):.1f}" y1="{yy:.1f}" y2="{yy:.1f}" class="ci {cls}"/>'
            f'<circle cx="{x(lf.lift):.1f}" cy="{yy:.1f}" r="4" class="{cls}"><title>{_pct(lf.lift, 1)} '
            f"[{_pct(lf.lo, 1)}, {_pct(lf.hi, 1)}]</title></circle>"
        )
    axis_y = pad_t + row_h * len(lifts)
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="Lifts"><text x="{pad_l}" y="13" class="title">Lift vs baselines (95% CI)</text>'
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{pad_t}" y2="{axis_y}" class="zero"/>{"".join(rows)}'
        f'<text x="{x(lo):.1f}" y="{axis_y + 16}">{_pct(lo, 0)}</text>'
        + (f'<text x="{x(0):.1f}" y="{axis_y + 16}" text-anchor="middle">0</text>' if x(0) - x(lo) > 34 else "")
        + f'<text x="{x(hi):.1f}" y="{axis_y + 16}" text-anchor="end">{_pct(hi, 0)}</text></svg>'
    )


def _svg_calibration(cal: Calibration, size: int = 260) -> str:
    """Predicted (x) vs observed (y) per creative and per bin, with the y = x diagonal."""
    pad = 40
    top = max([p.predicted for p in cal.points] + [p.observed for p in cal.points] + [b.hi for b in cal.bins]) * 1.1
    top = top or 1e-6

    def sx(v: float) -> float:
        return pad + (size - pad - 10) * min(v, top) / top

    def sy(v: float) -> float:
        return size - pad + (10 - (size - pad)) * min(v, top) / top + 0

    pts = "".join(
        f'<circle cx="{sx(p.predicted):.1f}" cy="{sy(p.observed):.1f}" r="2" class="pt"><title>{_e(p.creative_id)}: '
        f"predicted {_pct(p.predicted)}, observed {_pct(p.observed)} (n={p.denominator})</title></circle>"
        for p in cal.points
    )
    bins = "".join(
        f'<line x1="{sx(b.predicted):.1f}" x2="{sx(b.predicted):.1f}" '
        f'y1="{sy(b.lo):.1f}" y2="{sy(b.hi):.1f}" class="ci"/>'
        f'<rect x="{sx(b.predicted) - 3:.1f}" y="{sy(b.observed) - 3:.1f}" width="6" height="6" class="bin"/>'
        for b in cal.bins
    )
    title = f"{LABELS[cal.metric]}: predicted vs observed"
    return (
        f'<svg class="chart" viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img" '
        f'aria-label="{_e(title)}"><text x="{pad}" y="12" class="title">{_e(title)}</text>'
        f'<line x1="{sx(0):.1f}" y1="{sy(0):.1f}" x2="{sx(top):.1f}" y2="{sy(top):.1f}" class="zero"/>'
        f'<line x1="{sx(0):.1f}" y1="{sy(0):.1f}" x2="{sx(top):.1f}" y2="{sy(0):.1f}" class="grid"/>'
        f"{pts}{bins}"
        f'<text x="{sx(top):.1f}" y="{size - pad + 16}" text-anchor="end">{_pct(top, 1)} predicted</text>'
        f'<text x="{pad - 4}" y="{sy(top) + 10:.1f}" text-anchor="end">{_pct(top, 1)}</text></svg>'
    )


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;margin:24px;color:#1d1d1f;
max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.muted{color:#777}table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:right}th{background:#f6f6f6}
td:first-child,th:first-child{text-align:left}.kpis{display:flex;flex-wrap:wrap;gap:10px}
.kpi{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}.kpi b{font-size:18px;display:block}
.chart{font-size:11px;margin:6px 12px 6px 0}.chart .title{font-weight:600;font-size:12px}
.grid{stroke:#eee}.zero{stroke:#999;stroke-dasharray:3 3}.band{fill:#4a7bd0;opacity:.18}
.line{fill:none;stroke:#2457b3;stroke-width:1.6}circle{fill:#2457b3}.ci{stroke:#888;stroke-width:2}
.pos{fill:#1a7f37;stroke:#1a7f37}.neg{fill:#c0392b;stroke:#c0392b}.ns{fill:#888;stroke:#888}
.pt{fill:#2457b3;opacity:.55}.bin{fill:#e67e22}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;border-radius:6px;padding:10px;width:320px;
font-size:12px;page-break-inside:avoid}.card img{float:left;margin:0 10px 6px 0;border-radius:4px;max-width:90px}
.card h3{font-size:14px;margin:0 0 4px}.sig{font-weight:600}
"""


def _funnel_table(rows: list[GroupRow], head: str) -> str:
    if not rows:
        return '<p class="muted">No data.</p>'
    out = [
        f"<table><tr><th>{_e(head)}</th><th>creatives</th><th>impressions</th><th>spend</th>"
        + "".join(f"<th>{LABELS[m]}</th>" for m in METRICS)
        + "<th>lifts vs industry</th></tr>"
    ]
    for r in rows:
        lifts = ", ".join(f"{LABELS[lf.metric]} {_pct(lf.lift, 1)}" for lf in r.lifts if lf.baseline == "industry")
        out.append(
            f"<tr><td>{_e(r.key)}</td><td>{'' if r.creatives is None else r.creatives}</td>"
            f"<td>{r.funnel.impressions:,}</td><td>{_num(r.funnel.spend)}</td>"
            + "".join(f"<td>{_pct(r.funnel.rates[m].value)}</td>" for m in METRICS)
            + f"<td>{_e(lifts) or '–'}</td></tr>"
        )
    return "".join(out) + "</table>"


def _cards(items: list[CreativeSummary], rank_by: Metric) -> str:
    if not items:
        return '<p class="muted">Not enough delivery to rank creatives yet.</p>'
    cards = []
    for c in items:
        img = f'<img src="{c.thumbnail}" alt="cover of {_e(c.creative_id)}">' if c.thumbnail else ""
        r = c.funnel.rates
        pred = ", ".join(f"{k} {_pct(v)}" for k, v in sorted(c.predicted.items())) or "no predictions"
        cards.append(
            f'<div class="card">{img}<h3>{_e(c.title)}</h3><div class="muted">{_e(c.creative_id)} · '
            f"{_e(c.industry)} · hook {_e(c.hook_type)} · angle {_e(c.angle)}</div>"
            f"<p><b>Hook:</b> {_e(c.hook)}<br><b>CTA:</b> {_e(c.cta)}</p>"
            f'<p class="muted">{_e(c.narration[:240])}</p>'
            f"<p>{c.funnel.impressions:,} impressions · {LABELS[rank_by]} <b>{_pct(r[rank_by].value)}</b> "
            f"[{_pct(r[rank_by].lo)}, {_pct(r[rank_by].hi)}] · CTR {_pct(r['ctr'].value)} · "
            f"3s {_pct(r['play_3s_rate'].value)} · CVR {_pct(r['cvr'].value)}<br>{_e(pred)}</p></div>"
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML document (inline CSS and SVG; no scripts, no links out)."""
    t = data.totals
    kpis = [
        ("Impressions", f"{t.impressions:,}"),
        ("Spend", _num(t.spend)),
        *(
            (LABELS[m], f"{_pct(t.rates[m].value)}<br><small>[{_pct(t.rates[m].lo)}, {_pct(t.rates[m].hi)}]</small>")
            for m in METRICS
        ),
        ("CPM", _num(t.cpm)),
        ("CPA", _num(t.cpa)),
    ]
    period = f"{data.first_day} – {data.last_day}" if data.first_day else "no delivery yet"
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Campaign {_e(data.campaign_id)} report'
        f"</title><style>{_CSS}</style></head><body>",
        f"<h1>Campaign {_e(data.campaign_id)}</h1>",
        f'<div class="muted">{data.creatives} creatives ({data.creatives_with_feedback} with feedback) · '
        f"{_e(', '.join(data.industries))} · {period} · generated {data.generated_at:%Y-%m-%d %H:%M} UTC · "
        f"intervals {data.confidence:.0%}</div>",
        '<h2>Summary</h2><div class="kpis">'
        + "".join(f'<div class="kpi"><span class="muted">{k}</span><b>{v}</b></div>' for k, v in kpis)
        + "</div>",
        "<h2>Lift versus baselines</h2>",
        _svg_lifts(data.lifts),
        "<table><tr><th>metric</th><th>baseline</th><th>baseline rate</th><th>lift</th><th>95% CI</th></tr>"
        + "".join(
            f"<tr><td>{LABELS[lf.metric]}</td><td>{lf.baseline}</td><td>{_pct(lf.baseline_value)}</td>"
            f'<td class="{"sig" if lf.significant else ""}">{_pct(lf.lift, 1)}</td>'
            f"<td>[{_pct(lf.lo, 1)}, {_pct(lf.hi, 1)}]</td></tr>"
            for lf in data.lifts
        )
        + "</table>",
        '<ul class="muted">' + "".join(f"<li>{b.name}: {_e(b.source)}</li>" for b in data.baselines) + "</ul>",
        "<h2>Trend</h2>",
        "".join(_svg_trend(data.trend, m) for m in METRICS),
        "<h2>Predicted vs actual</h2>",
    ]
    if data.calibration:
        parts.append(
            "<table><tr><th>prediction</th><th>creatives</th><th>expected</th><th>observed</th>"
            "<th>observed / expected</th><th>95% CI</th></tr>"
            + "".join(
                f"<tr><td>{c.score_key} → {LABELS[c.metric]}</td><td>{c.creatives}</td><td>{c.expected:,.1f}</td>"
                f"<td>{c.observed:,}</td><td>{_num(c.ratio)}</td><td>[{_num(c.ratio_lo)}, {_num(c.ratio_hi)}]</td></tr>"
                for c in data.calibration
            )
            + "</table>"
        )
        parts.append("".join(_svg_calibration(c) for c in data.calibration))
    else:
        parts.append(f'<p class="muted">{_e(data.calibration_note)}</p>')
    parts += [
        f"<h2>Top creatives by {LABELS[data.rank_by]}</h2>",
        _cards(data.top, data.rank_by),
        f"<h2>Bottom creatives by {LABELS[data.rank_by]}</h2>",
        _cards(data.bottom, data.rank_by),
        "<h2>By industry</h2>",
        _funnel_table(data.by_industry, "industry"),
        "<h2>By placement</h2>",
        _funnel_table(data.by_placement, "placement"),
        "<h2>By audience segment</h2>",
        _funnel_table(data.by_segment, "segment"),
    ]
    for name, rows in data.by_attribute.items():
        if len(rows) > 1:  # one group is the campaign itself
            parts += [f"<h2>By {_e(name.replace('_', ' '))}</h2>", _funnel_table(rows, name.replace("_", " "))]
    if data.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in data.notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_pdf(data: ReportData, path: Path) -> Path:
    """Render the HTML report to PDF with WeasyPrint (offline; needs the ``report`` extra and Pango)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: the Pango system library is missing
        raise InputError(
            f"PDF export to {path} needs WeasyPrint and Pango: pip install 'adloom[report]' and "
            f"apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 ({exc}); or write .html instead",
            field="out",
        ) from exc
    HTML(string=render_html(data)).write_pdf(str(path))
    return path


def write_report(data: ReportData, path: Path | str) -> Path:
    """Write the report as HTML, or PDF when ``path`` ends in ``.pdf``; returns the path written."""
    path = Path(path)
    if path.suffix.lower() not in {".html", ".htm", ".pdf"}:
        raise InputError(f"report path {path} must end in .html or .pdf", field="out")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder for {path}: {exc}", field="out") from exc
    if path.suffix.lower() == ".pdf":
        return write_pdf(data, path)
    path.write_text(render_html(data), encoding="utf-8")
    return path


__all__ = [
    "ATTRIBUTES",
    "METRICS",
    "SCORE_KEYS",
    "Baseline",
    "Calibration",
    "CreativeSummary",
    "Funnel",
    "GroupRow",
    "Lift",
    "RateStat",
    "ReportData",
    "TrendPoint",
    "build_report",
    "ratio_lift",
    "render_html",
    "wilson",
    "write_pdf",
    "write_report",
]
