"""Request and response bodies of the API that are not core types (briefs, scripts, creatives, batches and
uploads are sent as the core types themselves). Request models forbid unknown fields: a typo is a 400."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from adloom.core.types import (
    SHOTS_DESCRIPTION,
    Aspect,
    Industry,
    Language,
    Performance,
    Platform,
    ReviewDecision,
    Script,
    ShotsMode,
    utcnow,
)

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Writer = Literal["llm", "template"]

#: Scripts a synchronous POST /v1/scripts writes at most; more belong in a batch.
MAX_SYNC_SCRIPTS = 5


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unavailable"]


class ScriptsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brief_id: Id
    n: int = Field(
        3,
        ge=1,
        json_schema_extra={"maximum": MAX_SYNC_SCRIPTS},
        description=f"Variants to write now (1–{MAX_SYNC_SCRIPTS}); for more, submit a batch.",
    )
    writer: Writer | None = Field(None, description="llm or template; default: the server's.")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    exemplar_id: Id | None = Field(None, description="Library item to lead with (default: the best match).")

    @field_validator("n")
    @classmethod
    def _few(cls, n: int) -> int:
        if n > MAX_SYNC_SCRIPTS:
            raise ValueError(
                f"n={n} is more than the {MAX_SYNC_SCRIPTS} scripts written while you wait; submit a batch "
                'instead: POST /v1/batches with {"brief_id": ..., "n": ...}'
            )
        return n


class ScriptsResponse(BaseModel):
    """The scripts written now (each passed the copy review), newest first, and what the advertiser should know."""

    object: Literal["list"] = "list"
    data: list[Script]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
    brief_findings: list[str] = Field(
        default_factory=list, description="Claims in the brief the scripts leave out, and why."
    )
    dropped: list[str] = Field(default_factory=list, description="Variants not emitted because they failed review.")


class _LibraryItemKind(BaseModel):
    """What a library item is: the fields a search hit and a listing row share."""

    id: str
    title: str
    industry: Industry
    platform: Platform
    language: Language
    aspect: Aspect
    hook_type: str
    angle: str


class LibraryHit(_LibraryItemKind):
    ctr: float
    cvr: float
    impressions: int
    similarity: float
    prior: float
    score: float
    script: Script | None = Field(None, description="The creative's structured script (hook, shots, CTA).")
    has_media: bool = Field(False, description="Whether the library holds the creative's video.")


class LibrarySearchResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[LibraryHit]


class LibraryEntry(_LibraryItemKind):
    """A library item as a row of a listing: what it is and how it performed (rates derived from the counts)."""

    source: str
    impressions: int
    play_3s_rate: float
    ctr: float
    cvr: float
    ctcvr: float


class LibraryListResponse(BaseModel):
    """A page of the library, best performers first (``offset`` pages on; ``total`` counts every match)."""

    object: Literal["list"] = "list"
    data: list[LibraryEntry]
    total: int
    has_more: bool


class LibraryItemDetail(LibraryEntry):
    """One library item: its structured script shot by shot and its delivery counts."""

    object: Literal["library.item"] = "library.item"
    script: Script
    performance: Performance
    created_at: datetime
    has_media: bool = Field(description="The item has a video on the server (not served by the API yet).")


class CampaignSummary(BaseModel):
    id: str
    object: Literal["campaign"] = "campaign"
    creatives: int
    creatives_with_feedback: int
    impressions: int
    first_day: date | None = None
    last_day: date | None = None


class CampaignList(BaseModel):
    """The tenant's campaigns (every campaign id its creatives carry), with feedback ones first."""

    object: Literal["list"] = "list"
    data: list[CampaignSummary]


class ImportRowProblem(BaseModel):
    row: int
    field: str | None = None
    message: str


class LibraryImportResponse(BaseModel):
    object: Literal["library.import"] = "library.import"
    imported: int
    skipped: int
    library_size: int
    ignored_columns: list[str] = Field(default_factory=list)
    errors: list[ImportRowProblem] = Field(default_factory=list)


class RankingRequest(BaseModel):
    """Candidates to score: stored creatives, stored scripts, or scripts sent inline (exactly one of them)."""

    model_config = ConfigDict(extra="forbid")

    creative_ids: list[Id] | None = Field(None, min_length=1, max_length=100)
    script_ids: list[Id] | None = Field(None, min_length=1, max_length=100)
    scripts: list[Script] | None = Field(None, min_length=1, max_length=100)
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _one_kind(self) -> RankingRequest:
        given = [n for n in ("creative_ids", "script_ids", "scripts") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "send exactly one of creative_ids, script_ids or scripts"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class RankedCandidate(BaseModel):
    id: str = Field(description="The creative or script id as sent.")
    rank: int = Field(ge=1)
    action: Literal["launch", "explore", "prune"]
    metric: str = Field(description="pCTCVR with a trained predictor, else prior (1.0 = industry average).")
    score: float
    baseline: float
    scores: dict[str, float]
    reason: str
    ctr_percentile: float = Field(
        ge=0, le=100, description="Predicted CTR as a percentile of the library's observed CTRs (0–100)."
    )
    ctr_interval: tuple[float, float] = Field(description="Low and high percentile of the CTR (90 % interval).")
    cvr_percentile: float = Field(ge=0, le=100, description="Predicted CVR as a percentile of the library's CVRs.")
    cvr_interval: tuple[float, float] = Field(description="Low and high percentile of the CVR (90 % interval).")
    reference_n: int = Field(ge=0, description="Library items the percentiles are measured against.")
    confident: bool = Field(
        description="False when the library is too small or an interval too wide to trust the percentiles "
        "(show 'not enough data')."
    )

    @staticmethod
    def percentiles(scores: dict[str, float]) -> dict[str, Any]:
        """The percentile fields from a creative's ``scores`` (see serving.render_pipeline.library_placements)."""
        return {
            "ctr_percentile": scores["ctr_percentile"],
            "ctr_interval": (scores["ctr_percentile_low"], scores["ctr_percentile_high"]),
            "cvr_percentile": scores["cvr_percentile"],
            "cvr_interval": (scores["cvr_percentile_low"], scores["cvr_percentile_high"]),
            "reference_n": int(scores["reference_n"]),
            "confident": scores["percentile_confident"] >= 0.5,
        }


class RankingResponse(BaseModel):
    object: Literal["ranking"] = "ranking"
    method: Literal["predictor", "prior"]
    model_version: str | None = None
    note: str
    data: list[RankedCandidate]


class BatchCreate(BaseModel):
    """N creatives for one stored brief, or one creative per stored script of the brief (``script_ids``, as the
    console sends after the advertiser picked and edited them). (A JSONL body of RenderRequest lines is the
    other way to submit.)"""

    model_config = ConfigDict(extra="forbid")

    brief_id: Id
    n: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="How many creatives (the tenant's max_batch_items caps it); with script_ids, their count.",
    )
    script_ids: list[Id] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Render these stored scripts of the brief (one creative each) instead of writing new ones.",
    )
    writer: Writer | None = Field(None, description="Script writer: llm or template; default: the server's.")
    metadata: dict[
        Annotated[str, StringConstraints(max_length=64)], Annotated[str, StringConstraints(max_length=512)]
    ] = Field(default_factory=dict, max_length=16, description="Your own labels, returned with the batch.")
    aspect: Aspect | None = Field(None, description="Default: the brief's aspect.")
    height: Literal[360, 720, 1080] = 720
    template: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        None, description="Compose template; default: rotate through all."
    )
    shots: ShotsMode = Field("footage_only", description=SHOTS_DESCRIPTION)

    @model_validator(mode="after")
    def _count(self) -> BatchCreate:
        if self.script_ids is None:
            if self.n is None:
                raise ValueError("give n (how many creatives), or script_ids (which stored scripts to render)")
            return self
        if len(set(self.script_ids)) != len(self.script_ids):
            raise ValueError("script_ids names a script twice; list each script once")
        if self.n is not None and self.n != len(self.script_ids):
            raise ValueError(f"n={self.n} but script_ids has {len(self.script_ids)} scripts; leave n out")
        self.n = len(self.script_ids)
        return self


# -- what this server can do ------------------------------------------------------------------------------------
class VideoGeneration(BaseModel):
    """Whether batches on this server may ask for generated shots (``shots`` generate_missing / generate_all)."""

    available: bool = Field(
        description="A batch with shots=generate_missing or generate_all is accepted: the server's settings name a "
        "video model it can run (the same check POST /v1/batches makes; whether a worker has the GPU a CUDA model "
        "needs is checked when the items run)."
    )
    reason: str | None = Field(
        None,
        description="Why not, as a batch asking for generated shots would be told (it names the setting to change); "
        "null when available.",
    )
    model: str | None = Field(
        None, description="The configured video model's folder name (never its path); null when none is set."
    )
    device: str | None = Field(
        None, description="Where the model runs: cpu, cuda or cuda:N (ADLOOM_VIDEO_DEVICE); null when no model is set."
    )


class Capabilities(BaseModel):
    """What this server can do beyond the basics, so a client can offer only what will be accepted."""

    video_generation: VideoGeneration = Field(description="Generated shots in render batches.")


# -- the console's script editing -------------------------------------------------------------------------------
ScriptSource = Annotated[str, StringConstraints(max_length=20_000)]


class StructureRequest(BaseModel):
    """What to structure into a stored script of the brief: a library item, pasted copy, or an SRT's text."""

    model_config = ConfigDict(extra="forbid")

    brief_id: Id
    exemplar_id: Id | None = Field(None, description="A library item (from GET /v1/library/search).")
    text: ScriptSource | None = Field(None, description="A pasted script: shots marked or one sentence per shot.")
    srt: ScriptSource | None = Field(None, description="The text of an SRT subtitle file.")

    @model_validator(mode="after")
    def _one_source(self) -> StructureRequest:
        given = [n for n in ("exemplar_id", "text", "srt") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "send exactly one of exemplar_id, text or srt" + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class ComplianceCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(max_length=4000)]
    language: Language
    industry: Industry


class ComplianceHit(BaseModel):
    """One advertising-law problem in the text: where it is, which rule, why, and the compliant rewrite."""

    term: str = Field(description="The offending words as they appear in the text.")
    rule: str = Field(description="The rule's id, e.g. absolute_claim, medical_claim.")
    reason: str = Field(description="The rule in a sentence, naming the law's article.")
    suggestion: str = Field(description="Replacement for the term; empty: the sentence has to go.")
    start: int
    end: int
    severity: Literal["fix", "warn"] = Field(description="fix: must change before saving; warn: told, not blocked.")
    field: str = Field("", description="Which line, e.g. shots[2].narration (in a PATCH refusal).")


class ComplianceCheckResponse(BaseModel):
    object: Literal["compliance.check"] = "compliance.check"
    findings: list[ComplianceHit]
    fixed_text: str = Field(description="The text with every 'fix' finding rewritten (empty: nothing can stay).")


class ShotPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0, le=19)
    narration: Annotated[str, StringConstraints(max_length=400)] | None = None
    caption: Annotated[str, StringConstraints(max_length=60)] | None = None
    visual: Annotated[str, StringConstraints(max_length=400)] | None = None


class ScriptPatch(BaseModel):
    """Edited lines of a stored script; each must pass the compliance check, or nothing is stored (422)."""

    model_config = ConfigDict(extra="forbid")

    shots: list[ShotPatch] = Field(min_length=1, max_length=20)


class ReviewRequest(BaseModel):
    """A person's verdict on a rendered creative."""

    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = Field(
        "", description="Why (shown to the team; useful on a rejection)."
    )


class ExportRequest(BaseModel):
    """What to export: named creatives, or a batch's creatives; by default only the approved ones."""

    model_config = ConfigDict(extra="forbid")

    creative_ids: list[Id] | None = Field(None, max_length=500)
    batch_id: Id | None = None
    review: Literal["approved", "any"] = Field(
        "approved", description="approved: only creatives approved in review; any: every delivered creative."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> ExportRequest:
        if (self.creative_ids is None) == (self.batch_id is None):
            raise ValueError("send exactly one of creative_ids or batch_id")
        return self


class ExportSkip(BaseModel):
    creative_id: str
    reason: str


class Export(BaseModel):
    """A ZIP of videos, covers, subtitles and manifest.csv, ready for an ad platform's bulk upload."""

    id: str
    object: Literal["export"] = "export"
    created_at: datetime = Field(default_factory=utcnow)
    count: int = Field(ge=1, description="Creatives in the ZIP.")
    creative_ids: list[str]
    skipped: list[ExportSkip] = Field(default_factory=list, description="Selected creatives left out, and why.")
    columns: list[str] = Field(description="The manifest's columns.")
    manifest: list[dict[str, str]] = Field(description="The manifest's rows, as in manifest.csv.")
    size_bytes: int
    url: str = Field(description="Where to fetch the ZIP.")


def export_url(export_id: str) -> str:
    return f"/v1/exports/{export_id}"


ReportFormat = Literal["html", "json", "pdf"]


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: Id
    format: ReportFormat = "html"


class Report(BaseModel):
    id: str
    object: Literal["report"] = "report"
    campaign_id: str
    format: ReportFormat
    created_at: datetime = Field(default_factory=utcnow)
    url: str = Field(description="Where to fetch the report file.")


class FeedbackRowIssue(BaseModel):
    row: int
    event_id: str | None = None
    status: Literal["rejected", "held"]
    reason: str
    message: str


class FeedbackResponse(BaseModel):
    """What the import did: every row lands in exactly one of counted, duplicates, held or rejected."""

    object: Literal["feedback.import"] = "feedback.import"
    rows: int
    counted: int
    duplicates: int
    held: int
    rejected: int
    released: int
    reasons: dict[str, int]
    issues: list[FeedbackRowIssue]
    issues_dropped: int


def report_url(report_id: str) -> str:
    return f"/v1/reports/{report_id}"
