"""Domain types shared by every adloom package.

These are the contract between packages and with users (API bodies, YAML
briefs, stored JSON). :data:`SCHEMA_VERSION` is bumped whenever a stored
shape changes incompatibly; :func:`export_schemas` writes the JSON Schemas.
Text fields carry length limits so a 50 KB paste fails validation with the
field's name instead of reaching a model.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field, model_validator

from adloom.core.money import format_price, price_numbers

#: 1.1: Brief gained voice and speech_speed (optional).
#: 1.2: Brief gained objective (optional; None = the industry's default), so 1.1 briefs still load.
SCHEMA_VERSION = "1.2"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def utcnow() -> datetime:
    return datetime.now(UTC)


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
LineText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=400)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


class Language(StrEnum):
    zh = "zh"
    en = "en"


class Aspect(StrEnum):
    portrait = "9:16"
    landscape = "16:9"
    square = "1:1"


class Industry(StrEnum):
    beauty = "beauty"
    apparel = "apparel"
    food = "food"
    electronics = "electronics"
    games = "games"
    education = "education"
    auto = "auto"
    home = "home"
    finance = "finance"
    travel = "travel"


class Platform(StrEnum):
    douyin = "douyin"
    kuaishou = "kuaishou"
    xiaohongshu = "xiaohongshu"
    wechat_channels = "wechat_channels"
    tiktok = "tiktok"
    youtube_shorts = "youtube_shorts"
    instagram_reels = "instagram_reels"
    facebook = "facebook"


class HookType(StrEnum):
    """How the first 1–3 seconds grab attention."""

    question = "question"  # "Still waking up tired?"
    pain_point = "pain_point"  # names the viewer's problem
    surprising_fact = "surprising_fact"  # a number or fact from the brief
    before_after = "before_after"  # contrast of two states
    price_reveal = "price_reveal"  # leads with the offer
    testimonial = "testimonial"  # a user's voice
    demo = "demo"  # product in action from frame one
    story = "story"  # a tiny scene with a character
    unboxing = "unboxing"


class Angle(StrEnum):
    """The main persuasive angle of a script."""

    value = "value"  # price / deal
    quality = "quality"  # materials, craft, specs
    convenience = "convenience"  # saves time or effort
    social_proof = "social_proof"  # others use and like it
    emotion = "emotion"  # how it feels, identity
    problem_solution = "problem_solution"
    novelty = "novelty"  # new, different


class Objective(StrEnum):
    """What the campaign wants the viewer to do; drives the call to action, the button and the hooks."""

    sales = "sales"  # buy online now
    app_install = "app_install"  # download an app or game
    leads = "leads"  # leave contact details, book a consultation, get a quote
    store_visit = "store_visit"  # come to a shop, showroom or venue
    awareness = "awareness"  # remember the brand; no direct response asked


class Pacing(StrEnum):
    slow = "slow"
    medium = "medium"
    fast = "fast"


class CtaStrength(StrEnum):
    none = "none"
    soft = "soft"  # "learn more"
    medium = "medium"  # "shop now"
    strong = "strong"  # "order today, offer ends Sunday"


class ShotRole(StrEnum):
    hook = "hook"
    problem = "problem"
    demo = "demo"
    feature = "feature"
    proof = "proof"
    offer = "offer"
    cta = "cta"


class AssetKind(StrEnum):
    image = "image"
    video = "video"
    audio = "audio"
    logo = "logo"


class Asset(BaseModel):
    """A user-supplied file: product image, clip, logo, music."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("ast"))
    kind: AssetKind
    path: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    description: LineText = ""
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    duration_s: float | None = Field(None, gt=0)
    license: LineText = ""
    role: ShotRole | None = Field(
        None, description="Which shot role the advertiser meant it for (footage retrieval favours it there)."
    )


class Product(BaseModel):
    """What is advertised. Facts a script may state come only from here and the brief."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    brand: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] = ""
    description: LongText = ""
    selling_points: list[ShortText] = Field(min_length=1, max_length=8)
    price: float | None = Field(None, ge=0, le=1e12)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    offer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""

    def price_text(self, language: Language) -> str:
        """The price as spoken in ``language`` ('' when there is none): 到手价129元, $19.90, 1,200 CHF.

        The one wording every writer uses (ad scripts, live scripts, live answers, purchase replies), so a
        price never reads one way in the ad and another in the live room."""
        return "" if self.price is None else format_price(self.price, self.currency, language)

    def price_numbers(self) -> set[str]:
        """The numbers a line may state for this price ({"1234567"}, {"19.90", "19.9"}; empty when none)."""
        return set() if self.price is None else price_numbers(self.price, self.currency)


class Brief(BaseModel):
    """A request for ad scripts/videos for one product."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: new_id("brf"))
    campaign_id: str | None = None
    product: Product
    industry: Industry
    audience: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    platform: Platform = Platform.douyin
    language: Language = Language.zh
    aspect: Aspect = Aspect.portrait
    duration_s: float = Field(15.0, ge=5, le=120, description="Target length of each video in seconds.")
    tone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = ""
    notes: LongText = ""
    assets: list[Asset] = Field(default_factory=list, max_length=50)
    voice: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] | None = Field(
        None, description="TTS voice for this brief's narration (default: settings, then the backend's per language)."
    )
    speech_speed: float = Field(1.0, ge=0.5, le=2.0, description="Narration speed multiplier for this brief.")
    objective: Objective | None = Field(
        None,
        description="Campaign objective: sales, app_install, leads, store_visit or awareness "
        "(default: by industry, see adloom.scripts_gen.objectives).",
    )


class ShotPrompt(BaseModel):
    """A shot described in the video model's structured caption format.

    Entities are named explicitly in every field (no pronouns) so each shot
    can be generated on its own and still show the same subject.
    """

    model_config = ConfigDict(extra="forbid")

    subject: LineText
    appearance: LineText
    action: LineText
    setting: LineText
    camera: LineText
    style: LineText

    def text(self) -> str:
        """One caption string in a fixed field order."""
        parts = [self.subject, self.appearance, self.action, self.setting, self.camera, self.style]
        return ". ".join(p.rstrip(". ") for p in parts if p) + "."


class SubjectSheet(BaseModel):
    """The shared description of recurring subjects, reused in every shot prompt."""

    model_config = ConfigDict(extra="forbid")

    product: LineText
    presenter: LineText = ""
    brand_style: LineText = ""


class Shot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    role: ShotRole
    duration_s: float = Field(gt=0, le=60)
    visual: LineText  # what the viewer sees, in the script's language
    narration: LineText = ""  # voiceover
    caption: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] = ""  # on-screen text
    prompt: ShotPrompt | None = None


class ComplianceFinding(BaseModel):
    """One advertising-law problem in a piece of copy."""

    model_config = ConfigDict(extra="forbid")

    term: str  # the offending text as it appears
    rule_id: str  # e.g. "absolute_claim", "medical_claim.beauty", "guaranteed_return"
    rule: str  # a human sentence naming the rule
    suggestion: str  # replacement text ("" means drop the sentence)
    field: str = ""  # where: "hook", "shots[2].narration", ...
    start: int = -1
    end: int = -1


class LineOrigin(BaseModel):
    """Who wrote one line of a script, and every rewrite it went through before it passed review.

    An advertiser approving a script needs to know which words a model chose, which came from our
    phrase grammar and which were changed after the fact (and why)."""

    model_config = ConfigDict(extra="forbid")

    author: Literal["llm", "template", "structured", "advertiser"]
    original: str = ""  # the text before any rewrite; "" if none
    rewrites: list[str] = Field(default_factory=list)  # why, e.g. "compliance: 最好 → 很好"


class Provenance(BaseModel):
    """How a script came to be: which backend and path produced it."""

    model_config = ConfigDict(extra="forbid")

    # "mixed": some lines by the LLM, the rest by the template writer after the LLM's lines failed review
    path: Literal["llm", "template", "mixed", "structured", "sample", "import"]
    backend: str = ""  # "llamacpp", "openai", "transformers", ""
    model: str = ""
    attempts: int = 0
    exemplar_ids: list[str] = Field(default_factory=list)
    seed: int | None = None
    elapsed_s: float | None = None
    notes: list[str] = Field(default_factory=list)  # why earlier attempts were rejected, rewrites applied
    #: Authorship per line, keyed by field path as findings name it: "hook", "cta", "shots[2].narration", ...
    lines: dict[str, LineOrigin] = Field(default_factory=dict)


class Script(BaseModel):
    """A complete ad script: hook, timed shots, selling points and CTA."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: new_id("scr"))
    brief_id: str | None = None
    language: Language
    industry: Industry
    platform: Platform = Platform.douyin
    aspect: Aspect = Aspect.portrait
    title: ShortText
    hook: LineText
    hook_type: HookType
    angle: Angle
    pacing: Pacing = Pacing.medium
    cta: LineText
    cta_strength: CtaStrength = CtaStrength.medium
    price_mentioned: bool = False
    selling_points: list[ShortText] = Field(default_factory=list, max_length=8)
    shots: list[Shot] = Field(min_length=1, max_length=20)
    subject_sheet: SubjectSheet | None = None
    compliance: list[ComplianceFinding] = Field(default_factory=list, description="Findings fixed by rewriting.")
    provenance: Provenance

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float:
        return round(sum(s.duration_s for s in self.shots), 3)

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        """Accept our own JSON back: ``duration_s`` is derived from the shots, never stored."""
        if isinstance(data, dict) and "duration_s" in data:
            data = {k: v for k, v in data.items() if k != "duration_s"}
        return data

    @model_validator(mode="after")
    def _shots_indexed(self) -> Script:
        if [s.index for s in self.shots] != list(range(len(self.shots))):
            raise ValueError("shots must be indexed 0..n-1 in order")
        return self

    def full_text(self) -> str:
        """Hook, narration, captions and CTA as one text (for embeddings and checks)."""
        lines = [self.hook, *(s.narration for s in self.shots), *(s.caption for s in self.shots), self.cta]
        return "\n".join(x for x in lines if x)


class Storyboard(BaseModel):
    """The shots of one script as the video stack consumes them."""

    model_config = ConfigDict(extra="forbid")

    script_id: str
    aspect: Aspect
    subject_sheet: SubjectSheet
    shots: list[Shot] = Field(min_length=1)
    negative_prompt: LineText = ""

    @classmethod
    def from_script(cls, script: Script, negative_prompt: str = "") -> Storyboard:
        if script.subject_sheet is None or any(s.prompt is None for s in script.shots):
            raise ValueError(f"script {script.id} has no shot prompts; run the shot prompt writer first")
        return cls(
            script_id=script.id,
            aspect=script.aspect,
            subject_sheet=script.subject_sheet,
            shots=script.shots,
            negative_prompt=negative_prompt,
        )


class Performance(BaseModel):
    """Delivery counts of one creative. Rates are derived, never stored."""

    model_config = ConfigDict(extra="forbid")

    impressions: int = Field(0, ge=0)
    plays_3s: int = Field(0, ge=0)
    clicks: int = Field(0, ge=0)
    conversions: int = Field(0, ge=0)
    spend: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _funnel(self) -> Performance:
        if self.plays_3s > self.impressions:
            raise ValueError(f"plays_3s ({self.plays_3s}) exceeds impressions ({self.impressions})")
        if self.clicks > self.impressions:
            raise ValueError(f"clicks ({self.clicks}) exceeds impressions ({self.impressions})")
        if self.conversions > self.clicks:
            raise ValueError(f"conversions ({self.conversions}) exceeds clicks ({self.clicks})")
        return self

    @property
    def play_3s_rate(self) -> float:
        return self.plays_3s / self.impressions if self.impressions else 0.0

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def cvr(self) -> float:
        return self.conversions / self.clicks if self.clicks else 0.0


class LibraryItem(BaseModel):
    """A past creative in the library: its structured script and how it performed."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("lib"), min_length=1, max_length=64)
    title: ShortText
    industry: Industry
    platform: Platform
    language: Language
    aspect: Aspect
    script: Script
    performance: Performance = Field(default_factory=Performance)
    source: Literal["sample", "import", "generated"] = "import"
    media_path: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CreativeStatus(StrEnum):
    draft = "draft"
    rendered = "rendered"
    rejected = "rejected"
    approved = "approved"
    launched = "launched"
    pruned = "pruned"


ReviewDecision = Literal["approved", "rejected"]


class CreativeReview(BaseModel):
    """A person's verdict on a rendered creative before launch (generated ads are reviewed, never launched
    unseen). Kept apart from ``status``, which the pipeline owns (``rejected`` there is the quality gate's)."""

    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    at: datetime = Field(default_factory=utcnow)


class Creative(BaseModel):
    """A rendered (or to-be-rendered) ad: one script, its media and its scores."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: new_id("crv"))
    brief_id: str | None = None
    campaign_id: str | None = None
    script: Script
    status: CreativeStatus = CreativeStatus.draft
    video_path: str | None = None
    cover_path: str | None = None
    subtitles_path: str | None = None
    manifest_path: str | None = None
    aigc_label: bool = True
    scores: dict[str, float] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    review: CreativeReview | None = Field(None, description="The advertiser's approve/reject verdict, if given.")
    created_at: datetime = Field(default_factory=utcnow)


class FeedbackKind(StrEnum):
    impression = "impression"
    play_3s = "play_3s"
    completion = "completion"
    click = "click"
    conversion = "conversion"
    spend = "spend"


class FeedbackEvent(BaseModel):
    """One delivery event from an ad platform. Idempotent by ``event_id``."""

    model_config = ConfigDict(extra="forbid")

    # The lengths are the store's columns (feedback_events): a longer value is a per-row issue on import.
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    creative_id: Annotated[str, StringConstraints(max_length=64)]
    kind: FeedbackKind
    ts: datetime
    count: int = Field(1, ge=0)
    value: float = Field(0.0, ge=0, description="Spend amount for kind=spend.")
    placement: Annotated[str, StringConstraints(max_length=64)] = ""
    segment: Annotated[str, StringConstraints(max_length=64)] = ""


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class Job(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("job"))
    kind: str
    status: JobStatus = JobStatus.queued
    progress: float = Field(0.0, ge=0, le=1)
    params: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LiveRoom(BaseModel):
    """A digital-human live-commerce room."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: new_id("room"))
    name: ShortText
    language: Language = Language.zh
    avatar: ShortText = "rig:default"
    voice: ShortText = "default"
    background: str | None = None
    products: list[Product] = Field(min_length=1, max_length=50)
    knowledge_base: list[LineText] = Field(default_factory=list)
    script_id: str | None = None
    outputs: list[str] = Field(default_factory=list, description="rtmp://..., hls:DIR, file:PATH")


# -- the batch API: tenants, keys, batches and their items ------------------------------------------------

#: The tenant the CLI and every pre-API row belong to.
DEFAULT_TENANT = "local"
TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class TenantQuotas(BaseModel):
    """Per-tenant limits; the API answers 429 with ``Retry-After`` when one is reached."""

    model_config = ConfigDict(extra="forbid")

    creatives_per_day: int = Field(100_000, ge=0, description="Render items accepted per UTC day.")
    concurrent_batches: int = Field(20, ge=0, description="Batches not yet finished at one time.")
    requests_per_minute: int = Field(1200, ge=1, description="API requests per minute (token bucket).")
    max_batch_items: int = Field(50_000, ge=1, description="Lines (creatives) in one batch.")


class Tenant(BaseModel):
    """An advertiser (or agency) sharing a deployment; every row the API reaches carries its id."""

    model_config = ConfigDict(extra="forbid")

    id: TenantId
    name: ShortText
    quotas: TenantQuotas = Field(default_factory=TenantQuotas)
    created_at: datetime = Field(default_factory=utcnow)


class ApiKeyInfo(BaseModel):
    """What is kept of an API key: never the key itself, only its hash (in the store) and a prefix to recognise it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("key"))
    tenant_id: TenantId
    name: ShortText = "default"
    prefix: str = Field(description="The key's first characters, enough to tell keys apart in a list.")
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class BatchStatus(StrEnum):
    """The batch life cycle (the large batch APIs' states)."""

    validating = "validating"
    queued = "queued"
    in_progress = "in_progress"
    finalizing = "finalizing"
    completed = "completed"
    partially_succeeded = "partially_succeeded"
    failed = "failed"
    cancelling = "cancelling"
    cancelled = "cancelled"
    expired = "expired"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_BATCH


_TERMINAL_BATCH = frozenset(
    {
        BatchStatus.completed,
        BatchStatus.partially_succeeded,
        BatchStatus.failed,
        BatchStatus.cancelled,
        BatchStatus.expired,
    }
)


class ItemStatus(StrEnum):
    pending = "pending"  # accepted, its script not yet written
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class RequestCounts(BaseModel):
    total: int = 0
    completed: int = 0
    failed: int = 0


#: Where a batch's shots come from (``adloom.serving.generated_shots.ShotSource``): the advertiser's footage only,
#: generated where no footage fits, or every shot generated by the server's video model.
ShotsMode = Literal["footage_only", "generate_missing", "generate_all"]
SHOTS_DESCRIPTION = (
    "Where the shots come from: footage_only (the brief's footage and photos; the template's backdrop where none "
    "fits), generate_missing (the server's video model makes the shots no footage fits) or generate_all (every "
    "shot generated; the product photo anchors the first frame). Generating needs a video model configured on "
    "the server; without one the submission is refused (400, param video_model_path)."
)


class RenderRequest(BaseModel):
    """One line of a batch: one creative for a stored brief. ``custom_id`` joins the results and errors files."""

    model_config = ConfigDict(extra="forbid")

    custom_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    brief_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    aspect: Aspect | None = Field(None, description="Default: the brief's aspect.")
    height: Literal[360, 720, 1080] = 720
    template: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        None, description="Compose template; default: rotate through all."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1)
    script_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="Render this stored script of the brief instead of writing a new one."
    )
    shots: ShotsMode = Field("footage_only", description=SHOTS_DESCRIPTION)


class Batch(BaseModel):
    """A render batch: N creatives for one brief, or a JSONL of :class:`RenderRequest` lines."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("bat"))
    object: Literal["batch"] = "batch"
    status: BatchStatus = BatchStatus.validating
    brief_id: str | None = Field(None, description="Set for an N-creatives-for-one-brief batch.")
    request_counts: RequestCounts = Field(default_factory=RequestCounts)
    writer: Literal["llm", "template"] | None = Field(None, description="Script writer; default: the server's.")
    metadata: dict[str, Annotated[str, StringConstraints(max_length=512)]] = Field(default_factory=dict, max_length=16)
    errors: list[str] = Field(default_factory=list, description="Why the batch as a whole failed, if it did.")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    timestamps: dict[str, datetime] = Field(default_factory=dict, description="When each state was entered.")


class BatchItem(BaseModel):
    """One creative of a batch, as the job table tracks it (attempts and leases included)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("itm"))
    batch_id: str
    seq: int = Field(ge=0)
    custom_id: str
    status: ItemStatus = ItemStatus.queued
    attempts: int = 0
    request: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    creative_id: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Upload(BaseModel):
    """A file a tenant uploaded, recognised by its content; briefs name it as ``upload:<id>`` in an asset path."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("upl"))
    object: Literal["upload"] = "upload"
    kind: Literal["image", "video", "audio"]
    format: str = Field(description="What the content is: png, jpeg, mp4, wav, ...")
    filename: str = Field(description="The name the client gave the file (shown only; never used as a path).")
    size: int = Field(ge=0, description="Bytes.")
    sha256: str
    created_at: datetime = Field(default_factory=utcnow)


# -- webhooks (Standard Webhooks: thin events, signed, retried, deduplicable by webhook-id) -------------------


class WebhookEventType(StrEnum):
    """Events a tenant's endpoint can subscribe to (``"*"`` subscribes to all). Events are thin: the body
    names the object (``{"id": "bat_..."}``); receivers fetch its current state from the API."""

    batch_completed = "batch.completed"  # completed or partially_succeeded: read request_counts for failures
    batch_failed = "batch.failed"
    batch_cancelled = "batch.cancelled"
    batch_expired = "batch.expired"
    #: One planned agent reply of a lead-capture conversation; the payload carries the text and ``send_at`` so a
    #: platform can send it on schedule without a read back.
    conversation_reply = "conversation.reply"
    #: A person took over a conversation (asked for by the user, a risk word, or POST …/handover).
    conversation_handed_over = "conversation.handed_over"
    #: A conversation first gave a way to reach the person (``{"id": "lead_…", "conversation_id", "agent_id"}``).
    lead_created = "lead.created"


#: Subscribes an endpoint to every event type, including ones added later.
ALL_WEBHOOK_EVENTS: Final = "*"
#: What an endpoint subscribes to: an event type, or "*".
WebhookEventFilter = WebhookEventType | Literal["*"]


def _all_webhook_events() -> list[WebhookEventFilter]:
    return [ALL_WEBHOOK_EVENTS]


class WebhookEndpoint(BaseModel):
    """A URL a tenant registered to receive events; its signing secret is shown once, at creation, and never
    again (it is not part of this object)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: new_id("whe"))
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str = Field(description="http(s) URL, no user name or password in it.")
    events: list[WebhookEventFilter] = Field(default_factory=_all_webhook_events)
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt (or being attempted now)
    delivered = "delivered"  # the endpoint answered 2xx
    failed = "failed"  # every attempt of the retry schedule failed, or the endpoint was deleted


class WebhookDelivery(BaseModel):
    """One event on its way to one endpoint. ``id`` is the ``webhook-id`` header: the same on every retry, so
    a receiver that saw it before can drop the duplicate."""

    model_config = ConfigDict(extra="forbid")

    id: str
    object: Literal["webhook_delivery"] = "webhook_delivery"
    endpoint_id: str
    event_type: str
    payload: dict[str, Any]
    status: WebhookDeliveryStatus
    attempts: int = Field(0, ge=0)
    next_attempt_at: datetime | None = Field(None, description="When it is tried next (pending only).")
    last_error: str | None = Field(None, description="The last failed attempt's status line, never a body.")
    created_at: datetime
    delivered_at: datetime | None = None


_PageItem = TypeVar("_PageItem")


class Page(BaseModel, Generic[_PageItem]):
    """One page of a list, newest first unless the list says otherwise; pass ``last_id`` as ``after`` for the
    next page while ``has_more``."""

    object: Literal["list"] = "list"
    data: list[_PageItem]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


# -- lead-capture conversations (the serving side; the engine's own types live in scripts_gen.conversation) ------

ConversationStatus = Literal["open", "handed_over", "closed"]
#: ``user``: the person writing to the advertiser; ``agent``: the digital employee; ``human``: a person of the
#: advertiser who took over.
MessageRole = Literal["user", "agent", "human"]


class AgentRecord(BaseModel):
    """A stored agent: its profile (the AgentProfile JSON, the same schema as an agent YAML file)."""

    id: str
    object: Literal["agent"] = "agent"
    profile: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ConversationMessage(BaseModel):
    """One message of a conversation. Agent replies carry ``send_at`` (the planned send time: the turn's time
    plus the typing pauses so far) and the turn's decision; a user message is ``held`` while it waits to be
    answered together with the next one (a burst), ``answered`` once a turn took it, ``quiet`` when a person had
    taken over."""

    id: str
    object: Literal["conversation.message"] = "conversation.message"
    conversation_id: str
    seq: int = Field(description="Order within the conversation (1, 2, …).")
    role: MessageRole
    text: str
    kind: str = Field(description="user, human, or the reply kind (greeting, answer, ask, …).")
    turn: int | None = Field(None, description="The agent turn that answered (user) or produced (agent) it.")
    status: str = Field(description="user: held | answered | quiet; agent/human: planned | acknowledged.")
    message_id: str | None = Field(None, description="The platform's id of a user message (idempotency key).")
    created_at: datetime
    send_at: datetime | None = None
    acknowledged_at: datetime | None = None
    decision: dict[str, Any] | None = None


class Conversation(BaseModel):
    id: str
    object: Literal["conversation"] = "conversation"
    agent_id: str
    user_id: str
    channel: str
    status: ConversationStatus
    language: str
    turns: int
    lead_id: str | None = None
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None = None
    messages: list[ConversationMessage] | None = Field(None, description="Only when one conversation is read.")


class Lead(BaseModel):
    """What a conversation captured: at least one way to reach the person, and their needs in their words."""

    id: str
    object: Literal["lead"] = "lead"
    conversation_id: str
    agent_id: str
    user_id: str
    channel: str
    phone: str | None = None
    wechat: str | None = None
    email: str | None = None
    city: str | None = None
    budget: str | None = None
    timing: str | None = None
    needs: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


#: Types whose JSON Schema is exported (the public, versioned shapes).
SCHEMA_TYPES: dict[str, type[BaseModel]] = {
    t.__name__: t
    for t in (
        Brief,
        Product,
        Asset,
        Script,
        Shot,
        ShotPrompt,
        Storyboard,
        LibraryItem,
        Creative,
        FeedbackEvent,
        Job,
        LiveRoom,
        Batch,
        RenderRequest,
    )
}


def export_schemas(out_dir: Path) -> list[Path]:
    """Write ``<Type>.v<version>.schema.json`` for every public type; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMA_TYPES.items():
        schema = model.model_json_schema()
        schema["$id"] = f"https://adloom.dev/schema/{name}.v{SCHEMA_VERSION}.json"
        schema["x-schema-version"] = SCHEMA_VERSION
        path = out_dir / f"{name}.v{SCHEMA_VERSION}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
