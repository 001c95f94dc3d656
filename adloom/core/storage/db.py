"""The store: one engine, migrations on open, and typed read/write methods.

Callers deal in ``core.types`` objects; rows never leave this module.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Insert,
    String,
    Table,
    Update,
    and_,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.base import Executable

from adloom.core.errors import InputError, NotFoundError, StorageError
from adloom.core.redact import mask_url, redact
from adloom.core.storage.tables import (
    ApiKeyRow,
    Base,
    BatchItemRow,
    BatchRow,
    BriefRow,
    CreativeRow,
    FeedbackDailyRow,
    FeedbackEventRow,
    JobRow,
    LibraryItemRow,
    ModelVersionRow,
    RankingDecisionRow,
    ScriptRow,
    TenantRow,
    UploadRow,
)
from adloom.core.types import (
    DEFAULT_TENANT,
    ApiKeyInfo,
    Brief,
    Creative,
    CreativeReview,
    FeedbackEvent,
    FeedbackKind,
    Job,
    LibraryItem,
    Page,
    Performance,
    Script,
    Tenant,
    Upload,
    utcnow,
)

_MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves: _sqlite_begin


def _sqlite_begin(conn: Connection) -> None:
    """Transactions that may write take SQLite's write lock when they start (``BEGIN IMMEDIATE``), waiting up to
    the busy timeout; otherwise one that reads, then writes fails at once when another process (the API, a
    worker) committed in between. Read-only sessions begin deferred and never wait for writers (WAL)."""
    mode = "DEFERRED" if conn.get_execution_options().get("adloom_read_only") else "IMMEDIATE"
    conn.exec_driver_sql(f"BEGIN {mode}")


def _check_string_lengths(
    _conn: Connection,
    statement: Executable,
    multiparams: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    _options: Mapping[str, Any],
) -> None:
    """Refuse a string longer than its ``VARCHAR(n)`` column before any database sees it.

    PostgreSQL refuses such a row (the whole statement fails with a driver error), SQLite stores it whole: without
    this check data that imports on a laptop fails in production. Both now refuse it with the same
    :class:`InputError`, naming the column and the row. Checks the values passed as parameters (every ORM write
    and executemany); constants written inline with ``.values(...)`` are the code's own and are not checked.
    """
    if not isinstance(statement, Insert | Update) or not isinstance(statement.table, Table):
        return
    table = statement.table
    lengths = {c.key: c.type.length for c in table.columns if isinstance(c.type, String) and c.type.length}
    for row in multiparams or (params,):
        for key, value in row.items():
            limit = lengths.get(key)
            if limit is not None and isinstance(value, str) and len(value) > limit:
                ids = [f"{c.key}={str(row[c.key])[:40]!r}" for c in table.primary_key if row.get(c.key) is not None]
                of = f" for {', '.join(ids)}" if ids and key not in {c.key for c in table.primary_key} else ""
                raise InputError(
                    f"{table.name}.{key} holds at most {limit} characters, but the value{of} is {len(value)} long: "
                    f"shorten the {key}",
                    field=key,
                )


#: Bound parameters per ``IN (...)`` query; SQLite's historic limit is 999.
_IN_BATCH = 400
_T = TypeVar("_T")
_R = TypeVar("_R", BriefRow, ScriptRow, CreativeRow, JobRow)
#: Rows listed a page at a time, newest first (each has tenant_id, id and created_at).
_P = TypeVar("_P", BriefRow, ScriptRow, CreativeRow, UploadRow)

#: Which daily column each event kind adds to (spend adds ``value``, the others ``count``).
_KIND_COLUMN: dict[FeedbackKind, str] = {
    FeedbackKind.impression: "impressions",
    FeedbackKind.play_3s: "plays_3s",
    FeedbackKind.completion: "completions",
    FeedbackKind.click: "clicks",
    FeedbackKind.conversion: "conversions",
    FeedbackKind.spend: "spend",
}
#: The funnel: a kind's daily total may not exceed its parent's (per creative and day).
_FUNNEL_PARENT: dict[FeedbackKind, FeedbackKind] = {
    FeedbackKind.play_3s: FeedbackKind.impression,
    FeedbackKind.completion: FeedbackKind.play_3s,
    FeedbackKind.click: FeedbackKind.impression,
    FeedbackKind.conversion: FeedbackKind.click,
}
#: Order within one timestamp so an impression and its click in the same second both count.
_KIND_RANK = {k: i for i, k in enumerate(_KIND_COLUMN)}
_COUNT_COLUMNS = ("impressions", "plays_3s", "completions", "clicks", "conversions")


@dataclass
class FeedbackCounts:
    """Summed feedback: of one creative on one day, or of any group (then the ids are None)."""

    creative_id: str | None = None
    day: date | None = None
    impressions: int = 0
    plays_3s: int = 0
    completions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend: float = 0.0

    @classmethod
    def of(cls, creative_id: str | None, day: date | None, values: Sequence[Any]) -> FeedbackCounts:
        """Counts from ``values`` in ``(*_COUNT_COLUMNS, "spend")`` order, e.g. a daily row's columns or SQL sums
        (a sum over no rows is NULL: counted as 0)."""
        impressions, plays_3s, completions, clicks, conversions, spend = values
        return cls(
            creative_id,
            day,
            int(impressions or 0),
            int(plays_3s or 0),
            int(completions or 0),
            int(clicks or 0),
            int(conversions or 0),
            float(spend or 0.0),
        )

    @classmethod
    def of_row(cls, r: FeedbackDailyRow) -> FeedbackCounts:
        """The counts of one stored creative/day row."""
        return cls(r.creative_id, r.day, r.impressions, r.plays_3s, r.completions, r.clicks, r.conversions, r.spend)

    @property
    def creative_day(self) -> tuple[str, date]:
        """The (creative id, day) of a per-creative, per-day count (what :meth:`Store.feedback_daily` returns)."""
        if self.creative_id is None or self.day is None:
            raise ValueError(
                f"these counts are a group total (creative {self.creative_id!r}, day {self.day}), not one creative "
                "on one day; take per-day counts from Store.feedback_daily"
            )
        return self.creative_id, self.day

    def add(self, other: FeedbackCounts) -> None:
        for col in (*_COUNT_COLUMNS, "spend"):
            setattr(self, col, getattr(self, col) + getattr(other, col))


FeedbackStatus = Literal["counted", "held", "released", "duplicate", "unknown_creative", "rejected"]


@dataclass(frozen=True)
class CampaignCounts:
    """One campaign of a tenant: how many creatives it holds, how many have counted feedback, and the span."""

    campaign_id: str
    creatives: int
    creatives_with_feedback: int
    impressions: int
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class FeedbackDecision:
    """What :meth:`Store.ingest_feedback` did with one event, and why.

    ``counted``: added to its creative/day aggregate. ``held``: stored but not
    counted because it would break the funnel (``reason`` says how); it is
    retried whenever its creative/day gets new events and then reported as
    ``released``. ``duplicate``: its event id was seen before (counted once).
    ``unknown_creative``: no such creative. ``rejected``: funnel violation
    with holding switched off; nothing stored.
    """

    event_id: str
    status: FeedbackStatus
    reason: str = ""


DecisionAction = Literal["launch", "prune", "explore"]


@dataclass(frozen=True)
class DecisionRecord:
    """A stored ranking decision on one creative (see :meth:`Store.save_decisions`).

    ``score`` is the ranked metric (``metric``, e.g. pCTCVR or the performance
    prior when no predictor was trained), ``baseline`` what it was compared
    with, ``uncertainty`` its logit-scale spread, ``scores`` every score the
    ranker saw (pctr, pcvr, …) and ``reason`` the sentence a marketer reads.
    """

    creative_id: str
    action: DecisionAction
    score: float
    baseline: float
    reason: str
    metric: str = "pCTCVR"
    uncertainty: float = 0.0
    scores: dict[str, float] | None = None
    batch_id: str | None = None
    campaign_id: str | None = None
    model_version: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ModelVersion:
    """A registered trained model: its files live at ``path``; metrics are the held-out ones from training."""

    version: str
    path: str
    kind: str = "predictor"
    config_hash: str = ""
    metrics: dict[str, Any] | None = None
    n_train: int = 0
    created_at: datetime | None = None


def event_day(ts: datetime) -> date:
    """The UTC day an event belongs to (naive timestamps are taken as UTC)."""
    return (ts if ts.tzinfo is None else ts.astimezone(UTC)).date()


def _funnel_violation(totals: FeedbackCounts, ev: FeedbackEvent) -> str | None:
    parent = _FUNNEL_PARENT.get(ev.kind)
    if parent is None:
        return None
    col, pcol = _KIND_COLUMN[ev.kind], _KIND_COLUMN[parent]
    after, limit = getattr(totals, col) + ev.count, getattr(totals, pcol)
    if after <= limit:
        return None
    return (
        f"{ev.kind.value} x{ev.count} would make {col} ({after}) exceed {pcol} ({limit}) "
        f"for creative {ev.creative_id!r} on {event_day(ev.ts)}; send the {parent.value} events first "
        "(held events are retried when more events for that creative and day arrive)"
    )


def _batches(items: Sequence[_T], n: int = _IN_BATCH) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _table(mapped: type[Base]) -> Table:
    """The Core table of a mapped class, for plain executemany inserts (``__table__`` is typed as any FROM clause)."""
    return Base.metadata.tables[mapped.__tablename__]


def _event_from_row(r: FeedbackEventRow) -> FeedbackEvent:
    return FeedbackEvent(
        event_id=r.event_id,
        creative_id=r.creative_id,
        kind=r.kind,
        ts=_utc(r.ts),
        count=r.count,
        value=r.value,
        placement=r.placement,
        segment=r.segment,
    )


class Store:
    """Typed access to the adloom database."""

    def __init__(self, engine: Engine, tenant_id: str = DEFAULT_TENANT) -> None:
        self.engine = engine
        #: Every read and write of this store is scoped to this tenant (the CLI's is "local").
        self.tenant_id = tenant_id
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._readers = sessionmaker(engine.execution_options(adloom_read_only=True), expire_on_commit=False)

    def scoped(self, tenant_id: str) -> Store:
        """The same database seen as ``tenant_id``: another tenant's rows are invisible (reads miss, ids 404)."""
        other = Store.__new__(Store)
        other.engine, other.tenant_id = self.engine, tenant_id
        other._sessions, other._readers = self._sessions, self._readers
        return other

    def _own(self, s: Session, row_type: type[_R], row_id: str, what: str) -> _R | None:
        """The row with this id if this tenant owns it; None if there is none; an error if another tenant does
        (ids of briefs, scripts and creatives are global, so a write must never take over another tenant's row)."""
        row = s.get(row_type, row_id)
        if row is not None and row.tenant_id != self.tenant_id:
            raise InputError(f"{what} id {row_id!r} is already in use; leave the id out to get a new one", field="id")
        return row

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A transaction; ``write=False`` for one that only reads (on SQLite it then never waits for writers)."""
        try:
            with (self._sessions if write else self._readers).begin() as s:
                yield s
        except SQLAlchemyError as exc:
            raise StorageError(f"database error on {self.engine.url.render_as_string()}: {exc}") from exc

    def migrate(self) -> str:
        """Upgrade the schema to the newest Alembic revision; returns that revision."""
        cfg = _alembic_config(self.engine.url.render_as_string(hide_password=False))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        revision = self.revision()
        if revision is None:
            raise StorageError(
                f"the database at {self.engine.url.render_as_string()} has no schema revision "
                f"after migrating to head; check that the migrations in {_MIGRATIONS} are installed"
            )
        return revision

    def _refresh_statistics(self, table: str, inserted: int) -> None:
        """After a bulk write on PostgreSQL, refresh ``table``'s planner statistics when it grew by over a fifth.

        Autovacuum refreshes them about once a minute; until then a young table keeps plans made for an empty one.
        The event-id lookup of :meth:`ingest_feedback` then read every stored event of the tenant per batch of ids
        (not the primary key), so a file import slowed quadratically: 8x slower than SQLite at 185k events.
        """
        if self.engine.dialect.name != "postgresql" or inserted == 0:
            return
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")  # ANALYZE commits at once, holding no row locks
            rows = conn.scalar(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table})
            if rows is None or rows < 0 or inserted * 5 > rows:  # -1: never analysed
                conn.exec_driver_sql(f'ANALYZE "{table}"')

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def ping(self) -> None:
        """Raise :class:`StorageError` unless the database answers a trivial query."""
        with self.session(write=False) as s:
            s.execute(text("SELECT 1"))

    def _page(
        self,
        row_type: type[_P],
        convert: Callable[[_P], _T],
        *,
        limit: int,
        after: str | None,
        where: Sequence[Any] = (),
    ) -> Page[_T]:
        """One page of this tenant's rows, newest first (created_at, then id); ``after`` is the last id of the
        previous page and must be one of this tenant's rows."""
        check_page_limit(limit)
        stmt = select(row_type).where(row_type.tenant_id == self.tenant_id, *where)
        with self.session(write=False) as s:
            if after is not None:
                cursor = s.get(row_type, after)
                if cursor is None or cursor.tenant_id != self.tenant_id:
                    raise InputError(
                        f"after={after!r} is not an id of this list; pass the last_id of the previous page",
                        field="after",
                    )
                stmt = stmt.where(
                    or_(
                        row_type.created_at < cursor.created_at,
                        and_(row_type.created_at == cursor.created_at, row_type.id < cursor.id),
                    )
                )
            stmt = stmt.order_by(row_type.created_at.desc(), row_type.id.desc()).limit(limit + 1)
            rows = list(s.scalars(stmt))
            data = [convert(r) for r in rows[:limit]]
            return Page[_T](
                data=data,
                first_id=rows[0].id if rows else None,
                last_id=rows[:limit][-1].id if rows else None,
                has_more=len(rows) > limit,
            )

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()

    # -- creative library -----------------------------------------------------------------
    def upsert_library_items(self, items: Iterable[LibraryItem]) -> int:
        """Insert or replace library items by id; returns how many were written."""
        n = 0
        with self.session() as s:
            for item in items:
                s.merge(_library_row(item, self.tenant_id))
                n += 1
        return n

    def library_count(self) -> int:
        with self.session() as s:
            stmt = select(func.count()).select_from(LibraryItemRow).where(LibraryItemRow.tenant_id == self.tenant_id)
            return s.scalar(stmt) or 0

    def get_library_item(self, item_id: str) -> LibraryItem:
        with self.session() as s:
            row = s.get(LibraryItemRow, (self.tenant_id, item_id))
            if row is None:
                raise NotFoundError(f"no library item {item_id!r}; list ids with `adloom library search`")
            return _library_item(row)

    def list_library_items(
        self,
        *,
        industry: str | None = None,
        language: str | None = None,
        platform: str | None = None,
        aspect: str | None = None,
        limit: int | None = None,
    ) -> list[LibraryItem]:
        stmt = select(LibraryItemRow).where(LibraryItemRow.tenant_id == self.tenant_id).order_by(LibraryItemRow.id)
        for col, value in (
            (LibraryItemRow.industry, industry),
            (LibraryItemRow.language, language),
            (LibraryItemRow.platform, platform),
            (LibraryItemRow.aspect, aspect),
        ):
            if value is not None:
                stmt = stmt.where(col == str(value))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.session() as s:
            return [_library_item(r) for r in s.scalars(stmt)]

    def update_performance(self, item_id: str, perf: Performance) -> None:
        with self.session() as s:
            row = s.get(LibraryItemRow, (self.tenant_id, item_id))
            if row is None:
                raise NotFoundError(f"no library item {item_id!r}")
            row.impressions, row.plays_3s = perf.impressions, perf.plays_3s
            row.clicks, row.conversions, row.spend = perf.clicks, perf.conversions, perf.spend

    # -- briefs and scripts ---------------------------------------------------------------
    def save_brief(self, brief: Brief) -> None:
        with self.session() as s:
            self._own(s, BriefRow, brief.id, "brief")
            s.merge(
                BriefRow(
                    id=brief.id,
                    tenant_id=self.tenant_id,
                    campaign_id=brief.campaign_id,
                    industry=str(brief.industry),
                    language=str(brief.language),
                    body_json=brief.model_dump(mode="json"),
                    created_at=utcnow(),
                )
            )

    def get_brief(self, brief_id: str) -> Brief:
        with self.session() as s:
            row = s.get(BriefRow, brief_id)
            if row is None or row.tenant_id != self.tenant_id:
                raise NotFoundError(f"no brief {brief_id!r}")
            return Brief.model_validate(row.body_json)

    def list_briefs(self, *, limit: int = 20, after: str | None = None) -> Page[Brief]:
        """This tenant's briefs, newest first."""
        return self._page(BriefRow, lambda r: Brief.model_validate(r.body_json), limit=limit, after=after)

    def save_scripts(self, scripts: Sequence[Script]) -> None:
        with self.session() as s:
            for sc in scripts:
                self._own(s, ScriptRow, sc.id, "script")
                s.merge(
                    ScriptRow(
                        id=sc.id,
                        tenant_id=self.tenant_id,
                        brief_id=sc.brief_id,
                        language=str(sc.language),
                        industry=str(sc.industry),
                        hook_type=str(sc.hook_type),
                        angle=str(sc.angle),
                        path=sc.provenance.path,
                        backend=sc.provenance.backend,
                        body_json=sc.model_dump(mode="json"),
                        created_at=utcnow(),
                    )
                )

    def get_script(self, script_id: str) -> Script:
        with self.session() as s:
            row = s.get(ScriptRow, script_id)
            if row is None or row.tenant_id != self.tenant_id:
                raise NotFoundError(f"no script {script_id!r}")
            return Script.model_validate(row.body_json)

    def list_scripts(self, *, limit: int = 20, after: str | None = None, brief_id: str | None = None) -> Page[Script]:
        """This tenant's scripts, newest first, optionally of one brief."""
        where = [] if brief_id is None else [ScriptRow.brief_id == brief_id]
        return self._page(
            ScriptRow, lambda r: Script.model_validate(r.body_json), limit=limit, after=after, where=where
        )

    def scripts_for_brief(self, brief_id: str) -> list[Script]:
        stmt = (
            select(ScriptRow)
            .where(ScriptRow.tenant_id == self.tenant_id, ScriptRow.brief_id == brief_id)
            .order_by(ScriptRow.created_at, ScriptRow.id)
        )
        with self.session() as s:
            return [Script.model_validate(r.body_json) for r in s.scalars(stmt)]

    # -- creatives ------------------------------------------------------------------------
    def save_creatives(self, creatives: Sequence[Creative]) -> None:
        """Insert or replace creatives by id (a re-rendered creative keeps its row).

        A creative saved without a review keeps the one stored (a re-rank or a re-render must not drop a person's
        verdict given meanwhile); reviews are given with :meth:`review_creative`."""
        with self.session() as s:
            for c in creatives:
                existing = self._own(s, CreativeRow, c.id, "creative")
                if c.review is None and existing is not None and existing.body_json.get("review"):
                    c = c.model_copy(update={"review": CreativeReview.model_validate(existing.body_json["review"])})
                s.merge(
                    CreativeRow(
                        id=c.id,
                        tenant_id=self.tenant_id,
                        brief_id=c.brief_id,
                        campaign_id=c.campaign_id,
                        script_id=c.script.id,
                        status=str(c.status),
                        review=c.review.decision if c.review is not None else None,
                        body_json=c.model_dump(mode="json"),
                        created_at=c.created_at,
                    )
                )

    def review_creative(self, creative_id: str, review: CreativeReview) -> Creative:
        """Record a person's approve/reject verdict on one of this tenant's creatives (replacing an earlier one)."""
        with self.session() as s:
            row = s.get(CreativeRow, creative_id)
            if row is None or row.tenant_id != self.tenant_id:
                raise NotFoundError(f"no creative {creative_id!r}")
            creative = Creative.model_validate(row.body_json).model_copy(update={"review": review})
            row.review = review.decision
            row.body_json = creative.model_dump(mode="json")
            return creative

    def get_creative(self, creative_id: str) -> Creative:
        with self.session() as s:
            row = s.get(CreativeRow, creative_id)
            if row is None or row.tenant_id != self.tenant_id:
                raise NotFoundError(f"no creative {creative_id!r}")
            return Creative.model_validate(row.body_json)

    def list_creatives(
        self,
        *,
        limit: int = 20,
        after: str | None = None,
        brief_id: str | None = None,
        status: str | None = None,
        review: str | None = None,
    ) -> Page[Creative]:
        """This tenant's creatives, newest first, optionally of one brief, in one status and/or with one review
        decision (``review="none"``: not reviewed yet)."""
        where = [
            cond
            for cond, value in ((CreativeRow.brief_id == brief_id, brief_id), (CreativeRow.status == status, status))
            if value is not None
        ]
        if review == "none":
            where.append(CreativeRow.review.is_(None))
        elif review is not None:
            where.append(CreativeRow.review == review)
        return self._page(
            CreativeRow, lambda r: Creative.model_validate(r.body_json), limit=limit, after=after, where=where
        )

    def creatives_for_brief(self, brief_id: str) -> list[Creative]:
        stmt = (
            select(CreativeRow)
            .where(CreativeRow.tenant_id == self.tenant_id, CreativeRow.brief_id == brief_id)
            .order_by(CreativeRow.id)
        )
        with self.session() as s:
            return [Creative.model_validate(r.body_json) for r in s.scalars(stmt)]

    def creatives_for_campaign(self, campaign_id: str) -> list[Creative]:
        stmt = (
            select(CreativeRow)
            .where(CreativeRow.tenant_id == self.tenant_id, CreativeRow.campaign_id == campaign_id)
            .order_by(CreativeRow.id)
        )
        with self.session() as s:
            return [Creative.model_validate(r.body_json) for r in s.scalars(stmt)]

    def campaigns(self) -> list[CampaignCounts]:
        """The tenant's campaigns (creatives with a campaign id), newest feedback first, then by id."""
        daily = (
            select(
                FeedbackDailyRow.creative_id.label("cid"),
                func.sum(FeedbackDailyRow.impressions).label("impressions"),
                func.min(FeedbackDailyRow.day).label("first_day"),
                func.max(FeedbackDailyRow.day).label("last_day"),
            )
            .where(FeedbackDailyRow.tenant_id == self.tenant_id)
            .group_by(FeedbackDailyRow.creative_id)
            .subquery()
        )
        stmt = (
            select(
                CreativeRow.campaign_id,
                func.count(CreativeRow.id),
                func.count(daily.c.cid),
                func.sum(daily.c.impressions),
                func.min(daily.c.first_day),
                func.max(daily.c.last_day),
            )
            .outerjoin(daily, daily.c.cid == CreativeRow.id)
            .where(CreativeRow.tenant_id == self.tenant_id, CreativeRow.campaign_id.is_not(None))
            .group_by(CreativeRow.campaign_id)
        )
        with self.session(write=False) as s:
            rows = [
                CampaignCounts(str(cid), int(n), int(n_fb or 0), int(impr or 0), first, last)
                for cid, n, n_fb, impr, first, last in s.execute(stmt)
            ]
        rows.sort(key=lambda c: (c.last_day is None, -(c.last_day.toordinal() if c.last_day else 0), c.campaign_id))
        return rows

    def existing_creative_ids(self, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` that name stored creatives."""
        wanted = sorted(set(ids))
        found: set[str] = set()
        with self.session() as s:
            for batch in _batches(wanted):
                found.update(
                    s.scalars(
                        select(CreativeRow.id).where(CreativeRow.tenant_id == self.tenant_id, CreativeRow.id.in_(batch))
                    )
                )
        return found

    # -- feedback -------------------------------------------------------------------------
    def ingest_feedback(self, events: Sequence[FeedbackEvent], *, hold: bool = True) -> list[FeedbackDecision]:
        """Count a chunk of events into the per-creative daily aggregates, in one transaction.

        Idempotent by event id: an id already stored (counted or held), or
        repeated inside the chunk, is a ``duplicate`` and changes nothing.
        Events are applied per creative and UTC day of their own timestamp, so
        a late event (arriving after later days) still counts into its day.
        Inside the chunk and against held events of the same creative/day,
        events are tried in timestamp order, impressions first, until nothing
        more fits: out-of-order arrival inside a chunk, or across chunks once
        the missing parent arrives, ends up counted. Returns one decision per
        input event (input order), then one ``released`` per earlier-held event
        that now counts. Callers validate fields (spend >= 0 is enforced by
        :class:`FeedbackEvent`); this method enforces identity and the funnel.
        """
        decisions: dict[int, FeedbackDecision] = {}
        now = utcnow()
        tenant = self.tenant_id
        with self.session() as s:
            ids = [e.event_id for e in events]
            known: set[str] = set()
            for batch in _batches(sorted(set(ids))):
                known.update(
                    s.scalars(
                        select(FeedbackEventRow.event_id).where(
                            FeedbackEventRow.tenant_id == tenant, FeedbackEventRow.event_id.in_(batch)
                        )
                    )
                )
            creatives: set[str] = set()
            for batch in _batches(sorted({e.creative_id for e in events})):
                creatives.update(
                    s.scalars(select(CreativeRow.id).where(CreativeRow.tenant_id == tenant, CreativeRow.id.in_(batch)))
                )

            fresh: list[tuple[int, FeedbackEvent]] = []
            for i, ev in enumerate(events):
                if ev.event_id in known:
                    decisions[i] = FeedbackDecision(ev.event_id, "duplicate", "event id already ingested")
                elif ev.creative_id not in creatives:
                    decisions[i] = FeedbackDecision(
                        ev.event_id,
                        "unknown_creative",
                        f"no creative {ev.creative_id!r}; save the creative before posting its feedback",
                    )
                else:
                    known.add(ev.event_id)
                    fresh.append((i, ev))

            keys = sorted({(ev.creative_id, event_day(ev.ts)) for _, ev in fresh})
            totals: dict[tuple[str, date], FeedbackCounts] = {}
            held_rows: list[FeedbackEventRow] = []
            for key_batch in _batches(keys, _IN_BATCH // 2):
                key_in = tuple_(FeedbackDailyRow.creative_id, FeedbackDailyRow.day).in_(key_batch)
                for r in s.scalars(select(FeedbackDailyRow).where(FeedbackDailyRow.tenant_id == tenant, key_in)):
                    totals[(r.creative_id, r.day)] = FeedbackCounts.of_row(r)
                held_in = tuple_(FeedbackEventRow.creative_id, FeedbackEventRow.day).in_(key_batch)
                held_rows.extend(
                    s.scalars(
                        select(FeedbackEventRow).where(
                            FeedbackEventRow.tenant_id == tenant, FeedbackEventRow.status == "held", held_in
                        )
                    )
                )
            existing_keys = set(totals)

            # candidates: (event, input index or None for an earlier-held event)
            pending: list[tuple[FeedbackEvent, int | None]] = [(ev, i) for i, ev in fresh]
            pending += [(_event_from_row(r), None) for r in held_rows]
            pending.sort(
                key=lambda p: (
                    p[0].ts.timestamp() if p[0].ts.tzinfo else p[0].ts.replace(tzinfo=UTC).timestamp(),
                    _KIND_RANK[p[0].kind],
                    p[0].event_id,
                )
            )
            counted: list[tuple[FeedbackEvent, int | None]] = []
            reasons: dict[str, str] = {}
            progress = True
            while progress and pending:
                progress = False
                left: list[tuple[FeedbackEvent, int | None]] = []
                for ev, at in pending:
                    key = (ev.creative_id, event_day(ev.ts))
                    t = totals.setdefault(key, FeedbackCounts(*key))
                    why = _funnel_violation(t, ev)
                    if why is None:
                        col = _KIND_COLUMN[ev.kind]
                        setattr(t, col, getattr(t, col) + (ev.value if ev.kind is FeedbackKind.spend else ev.count))
                        counted.append((ev, at))
                        progress = True
                    else:
                        reasons[ev.event_id] = why
                        left.append((ev, at))
                pending = left

            def row(ev: FeedbackEvent, status: str, reason: str | None) -> dict[str, Any]:
                return {
                    "tenant_id": tenant,
                    "event_id": ev.event_id,
                    "creative_id": ev.creative_id,
                    "kind": ev.kind.value,
                    "ts": ev.ts if ev.ts.tzinfo else ev.ts.replace(tzinfo=UTC),
                    "day": event_day(ev.ts),
                    "count": ev.count,
                    "value": ev.value,
                    "placement": ev.placement,
                    "segment": ev.segment,
                    "status": status,
                    "reason": reason,
                    "received_at": now,
                }

            new_rows: list[dict[str, Any]] = []
            released: list[str] = []
            for ev, at in counted:
                if at is None:
                    released.append(ev.event_id)
                else:
                    decisions[at] = FeedbackDecision(ev.event_id, "counted")
                    new_rows.append(row(ev, "counted", None))
            for ev, at in pending:
                if at is None:
                    continue  # still held, already stored
                if hold:
                    decisions[at] = FeedbackDecision(ev.event_id, "held", reasons[ev.event_id])
                    new_rows.append(row(ev, "held", reasons[ev.event_id]))
                else:
                    decisions[at] = FeedbackDecision(ev.event_id, "rejected", reasons[ev.event_id])
            if new_rows:
                s.execute(insert(_table(FeedbackEventRow)), new_rows)  # Core executemany: no ORM bookkeeping
            for batch in _batches(released):
                s.execute(
                    update(FeedbackEventRow)
                    .where(FeedbackEventRow.tenant_id == tenant, FeedbackEventRow.event_id.in_(batch))
                    .values(status="counted", reason=None)
                )
            touched = {(ev.creative_id, event_day(ev.ts)) for ev, _ in counted}
            daily = [
                {
                    **{c: getattr(totals[k], c) for c in (*_COUNT_COLUMNS, "spend")},
                    "tenant_id": tenant,
                    "creative_id": k[0],
                    "day": k[1],
                    "updated_at": now,
                }
                for k in sorted(touched)
            ]
            if ups := [d for d in daily if (d["creative_id"], d["day"]) in existing_keys]:
                s.execute(update(FeedbackDailyRow), ups)
            if ins := [d for d in daily if (d["creative_id"], d["day"]) not in existing_keys]:
                s.execute(insert(_table(FeedbackDailyRow)), ins)
        self._refresh_statistics(FeedbackEventRow.__tablename__, len(new_rows))
        return [decisions[i] for i in range(len(events))] + [FeedbackDecision(e, "released") for e in released]

    def feedback_daily(
        self, creative_ids: Sequence[str] | None = None, *, since: date | None = None, until: date | None = None
    ) -> list[FeedbackCounts]:
        """Counted feedback per creative and day (all creatives when ``creative_ids`` is None)."""
        base = (
            select(FeedbackDailyRow)
            .where(FeedbackDailyRow.tenant_id == self.tenant_id)
            .order_by(FeedbackDailyRow.day, FeedbackDailyRow.creative_id)
        )
        if since is not None:
            base = base.where(FeedbackDailyRow.day >= since)
        if until is not None:
            base = base.where(FeedbackDailyRow.day <= until)
        stmts = (
            [base]
            if creative_ids is None
            else [base.where(FeedbackDailyRow.creative_id.in_(b)) for b in _batches(sorted(set(creative_ids)))]
        )
        out: list[FeedbackCounts] = []
        with self.session() as s:
            for stmt in stmts:
                out += [FeedbackCounts.of_row(r) for r in s.scalars(stmt)]
        out.sort(key=lambda c: (c.day, c.creative_id))
        return out

    def feedback_totals_by_creative(self, *, exclude_campaign_id: str | None = None) -> dict[str, FeedbackCounts]:
        """Counted feedback summed per creative over all days (optionally leaving one campaign out)."""
        cols = [func.sum(getattr(FeedbackDailyRow, c)) for c in (*_COUNT_COLUMNS, "spend")]
        stmt = (
            select(FeedbackDailyRow.creative_id, *cols)
            .where(FeedbackDailyRow.tenant_id == self.tenant_id)
            .group_by(FeedbackDailyRow.creative_id)
        )
        if exclude_campaign_id is not None:
            stmt = stmt.join(CreativeRow, CreativeRow.id == FeedbackDailyRow.creative_id).where(
                or_(CreativeRow.campaign_id.is_(None), CreativeRow.campaign_id != exclude_campaign_id)
            )
        with self.session() as s:
            return {cid: FeedbackCounts.of(cid, None, vals) for cid, *vals in s.execute(stmt)}

    def feedback_breakdown(
        self, creative_ids: Sequence[str], by: Literal["placement", "segment"]
    ) -> dict[str, FeedbackCounts]:
        """Counted feedback of some creatives summed per placement or audience segment."""
        col = getattr(FeedbackEventRow, by)
        stmt_base = (
            select(col, FeedbackEventRow.kind, func.sum(FeedbackEventRow.count), func.sum(FeedbackEventRow.value))
            .where(FeedbackEventRow.tenant_id == self.tenant_id, FeedbackEventRow.status == "counted")
            .group_by(col, FeedbackEventRow.kind)
        )
        out: dict[str, FeedbackCounts] = {}
        with self.session() as s:
            for batch in _batches(sorted(set(creative_ids))):
                for name, kind, n, value in s.execute(stmt_base.where(FeedbackEventRow.creative_id.in_(batch))):
                    c = out.setdefault(name, FeedbackCounts())
                    attr = _KIND_COLUMN[FeedbackKind(kind)]
                    inc = float(value or 0.0) if attr == "spend" else int(n or 0)
                    setattr(c, attr, getattr(c, attr) + inc)
        return out

    def held_feedback(self, creative_id: str | None = None) -> list[tuple[FeedbackEvent, str]]:
        """Events stored but not counted (funnel would break), with the reason, oldest first."""
        stmt = (
            select(FeedbackEventRow)
            .where(FeedbackEventRow.tenant_id == self.tenant_id, FeedbackEventRow.status == "held")
            .order_by(FeedbackEventRow.ts, FeedbackEventRow.event_id)
        )
        if creative_id is not None:
            stmt = stmt.where(FeedbackEventRow.creative_id == creative_id)
        with self.session() as s:
            return [(_event_from_row(r), r.reason or "") for r in s.scalars(stmt)]

    # -- ranking decisions ------------------------------------------------------------------
    def save_decisions(self, records: Sequence[DecisionRecord]) -> int:
        """Append decisions (with their reasons) in one transaction; returns how many were written."""
        now = utcnow()
        bad = [r.creative_id for r in records if r.action not in ("launch", "prune", "explore")]
        if bad:
            raise InputError(f"decision action must be launch, prune or explore; bad rows for {bad[:5]}")
        with self.session() as s:
            s.add_all(
                RankingDecisionRow(
                    tenant_id=self.tenant_id,
                    creative_id=r.creative_id,
                    batch_id=r.batch_id,
                    campaign_id=r.campaign_id,
                    model_version=r.model_version,
                    action=r.action,
                    metric=r.metric,
                    score=float(r.score),
                    baseline=float(r.baseline),
                    uncertainty=float(r.uncertainty),
                    scores_json=dict(r.scores or {}),
                    reason=r.reason,
                    created_at=r.created_at or now,
                )
                for r in records
            )
        return len(records)

    def decisions(
        self, *, creative_id: str | None = None, batch_id: str | None = None, campaign_id: str | None = None
    ) -> list[DecisionRecord]:
        """Stored decisions, oldest first, filtered by creative, batch and/or campaign."""
        stmt = (
            select(RankingDecisionRow)
            .where(RankingDecisionRow.tenant_id == self.tenant_id)
            .order_by(RankingDecisionRow.created_at, RankingDecisionRow.id)
        )
        for col, value in (
            (RankingDecisionRow.creative_id, creative_id),
            (RankingDecisionRow.batch_id, batch_id),
            (RankingDecisionRow.campaign_id, campaign_id),
        ):
            if value is not None:
                stmt = stmt.where(col == value)
        with self.session() as s:
            return [
                DecisionRecord(
                    creative_id=r.creative_id,
                    action=r.action,  # type: ignore[arg-type]
                    score=r.score,
                    baseline=r.baseline,
                    reason=r.reason,
                    metric=r.metric,
                    uncertainty=r.uncertainty,
                    scores=dict(r.scores_json or {}),
                    batch_id=r.batch_id,
                    campaign_id=r.campaign_id,
                    model_version=r.model_version,
                    created_at=_utc(r.created_at),
                )
                for r in s.scalars(stmt)
            ]

    # -- model versions ---------------------------------------------------------------------
    def register_model(self, model: ModelVersion) -> ModelVersion:
        """Record a trained model version; a version id is written once (re-registering it is an error)."""
        created = model.created_at or utcnow()
        with self.session() as s:
            if s.get(ModelVersionRow, model.version) is not None:
                raise InputError(
                    f"model version {model.version!r} is already registered: train under a new version id",
                    field="version",
                )
            s.add(
                ModelVersionRow(
                    version=model.version,
                    kind=model.kind,
                    path=model.path,
                    config_hash=model.config_hash,
                    metrics_json=dict(model.metrics or {}),
                    n_train=model.n_train,
                    created_at=created,
                )
            )
        return ModelVersion(
            model.version, model.path, model.kind, model.config_hash, dict(model.metrics or {}), model.n_train, created
        )

    def list_models(self, kind: str = "predictor") -> list[ModelVersion]:
        """Registered versions of ``kind``, newest first."""
        stmt = (
            select(ModelVersionRow)
            .where(ModelVersionRow.kind == kind)
            .order_by(ModelVersionRow.created_at.desc(), ModelVersionRow.version.desc())
        )
        with self.session() as s:
            return [
                ModelVersion(
                    r.version, r.path, r.kind, r.config_hash, dict(r.metrics_json or {}), r.n_train, _utc(r.created_at)
                )
                for r in s.scalars(stmt)
            ]

    def latest_model(self, kind: str = "predictor") -> ModelVersion | None:
        """The newest registered version of ``kind``, or None when none was trained yet."""
        models = self.list_models(kind)
        return models[0] if models else None

    # -- jobs -----------------------------------------------------------------------------
    def save_job(self, job: Job) -> Job:
        job = job.model_copy(update={"updated_at": utcnow()})
        with self.session() as s:
            self._own(s, JobRow, job.id, "job")
            s.merge(
                JobRow(
                    id=job.id,
                    tenant_id=self.tenant_id,
                    kind=job.kind,
                    status=str(job.status),
                    progress=job.progress,
                    params_json=job.params,
                    result_json=job.result,
                    error=job.error,
                    created_at=job.created_at,
                    updated_at=job.updated_at,
                )
            )
        return job

    def get_job(self, job_id: str) -> Job:
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is None or row.tenant_id != self.tenant_id:
                raise NotFoundError(f"no job {job_id!r}")
            return Job(
                id=row.id,
                kind=row.kind,
                status=row.status,
                progress=row.progress,
                params=row.params_json,
                result=row.result_json,
                error=row.error,
                created_at=_utc(row.created_at),
                updated_at=_utc(row.updated_at),
            )

    # -- uploads ----------------------------------------------------------------------------
    def save_upload(self, upload: Upload, path: str) -> Upload:
        """Record an uploaded file; ``path`` is where it lies relative to the tenant's folder."""
        with self.session() as s:
            if s.get(UploadRow, upload.id) is not None:
                raise InputError(f"upload id {upload.id!r} is already in use", field="id")
            s.add(
                UploadRow(
                    id=upload.id,
                    tenant_id=self.tenant_id,
                    kind=upload.kind,
                    filename=upload.filename,
                    path=path,
                    sha256=upload.sha256,
                    size=upload.size,
                    created_at=upload.created_at,
                )
            )
        return upload

    def get_upload(self, upload_id: str) -> tuple[Upload, str]:
        """An upload of this tenant and its path relative to the tenant's folder."""
        with self.session(write=False) as s:
            row = s.get(UploadRow, upload_id)
            if row is None or row.tenant_id != self.tenant_id:
                raise NotFoundError(f"no upload {upload_id!r}; upload the file with POST /v1/uploads first")
            upload = Upload(
                id=row.id,
                kind=row.kind,
                format=Path(row.path).suffix.lstrip("."),
                filename=row.filename,
                size=row.size,
                sha256=row.sha256,
                created_at=_utc(row.created_at),
            )
            return upload, row.path

    # -- batch counts for monitoring (all tenants) -------------------------------------------
    def batch_state_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """How many batches, and batch items, are in each state, over every tenant (for ``/metrics``)."""
        with self.session(write=False) as s:
            batches = {
                st: int(n) for st, n in s.execute(select(BatchRow.status, func.count()).group_by(BatchRow.status))
            }
            items = {
                st: int(n)
                for st, n in s.execute(select(BatchItemRow.status, func.count()).group_by(BatchItemRow.status))
            }
        return batches, items

    # -- tenants and API keys (not scoped: these define the scopes) --------------------------
    def create_tenant(self, tenant: Tenant) -> Tenant:
        """Add a tenant; an existing id is an error (quotas change with :meth:`update_tenant`)."""
        with self.session() as s:
            if s.get(TenantRow, tenant.id) is not None:
                raise InputError(f"tenant {tenant.id!r} already exists", field="tenant")
            s.add(_tenant_row(tenant))
        return tenant

    def update_tenant(self, tenant: Tenant) -> Tenant:
        with self.session() as s:
            if s.get(TenantRow, tenant.id) is None:
                raise NotFoundError(f"no tenant {tenant.id!r}; create it with `adloom keys create {tenant.id}`")
            s.merge(_tenant_row(tenant))
        return tenant

    def get_tenant(self, tenant_id: str) -> Tenant:
        with self.session() as s:
            row = s.get(TenantRow, tenant_id)
            if row is None:
                raise NotFoundError(f"no tenant {tenant_id!r}; create it with `adloom keys create {tenant_id}`")
            return Tenant(id=row.id, name=row.name, quotas=row.quotas_json, created_at=_utc(row.created_at))

    def list_tenants(self) -> list[Tenant]:
        with self.session() as s:
            rows = s.scalars(select(TenantRow).order_by(TenantRow.id))
            return [Tenant(id=r.id, name=r.name, quotas=r.quotas_json, created_at=_utc(r.created_at)) for r in rows]

    def create_api_key(self, tenant_id: str, name: str = "default") -> tuple[ApiKeyInfo, str]:
        """A new key for ``tenant_id`` (the tenant is created on first use): the stored info and the key itself,
        which is returned this once and never stored (only its SHA-256 is)."""
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        info = ApiKeyInfo(tenant_id=tenant_id, name=name, prefix=key[:12])
        with self.session() as s:
            if s.get(TenantRow, tenant_id) is None:
                s.add(_tenant_row(Tenant(id=tenant_id, name=tenant_id)))
            s.add(
                ApiKeyRow(
                    id=info.id,
                    tenant_id=tenant_id,
                    name=info.name,
                    prefix=info.prefix,
                    key_hash=hash_api_key(key),
                    created_at=info.created_at,
                )
            )
        return info, key

    def list_api_keys(self, tenant_id: str | None = None) -> list[ApiKeyInfo]:
        stmt = select(ApiKeyRow).order_by(ApiKeyRow.tenant_id, ApiKeyRow.created_at, ApiKeyRow.id)
        if tenant_id is not None:
            stmt = stmt.where(ApiKeyRow.tenant_id == tenant_id)
        with self.session() as s:
            return [_key_info(r) for r in s.scalars(stmt)]

    def revoke_api_key(self, key_id: str) -> ApiKeyInfo:
        with self.session() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFoundError(f"no API key {key_id!r}; list them with `adloom keys list`")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _key_info(row)

    def authenticate(self, key: str) -> Tenant | None:
        """The tenant a live key belongs to, or None (unknown or revoked key). ``last_used_at`` is written at
        most once a minute per key, so polling clients do not turn every read into a write."""
        digest = hash_api_key(key)
        now = utcnow()
        with self.session(write=False) as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
            if row is None or row.revoked_at is not None:
                return None
            tenant = s.get(TenantRow, row.tenant_id)
            if tenant is None:
                return None
            stale = row.last_used_at is None or (now - _utc(row.last_used_at)).total_seconds() > 60
            found = Tenant(
                id=tenant.id, name=tenant.name, quotas=tenant.quotas_json, created_at=_utc(tenant.created_at)
            )
        if stale:
            with self.session() as s:
                s.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=now))
        return found


def check_page_limit(limit: int) -> None:
    """Every list of the store pages 1 to 100 items at a time."""
    if not 1 <= limit <= 100:
        raise InputError(f"limit={limit}: use 1 to 100", field="limit")


def page_of(data: Sequence[Any], has_more: bool) -> Page[Any]:
    """A page of items that have ids (the cursor for the next page is the last one's)."""
    return Page(
        data=list(data),
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=has_more,
    )


#: Every API key starts with this, so a leaked one is recognisable (and secret scanners can match it).
API_KEY_PREFIX = "adl_"


def hash_api_key(key: str) -> str:
    """SHA-256 of a key: keys are 256 random bits, so a slow password hash would add nothing but latency."""
    return hashlib.sha256(key.encode()).hexdigest()


def _tenant_row(t: Tenant) -> TenantRow:
    return TenantRow(id=t.id, name=t.name, quotas_json=t.quotas.model_dump(mode="json"), created_at=t.created_at)


def _key_info(r: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=r.id,
        tenant_id=r.tenant_id,
        name=r.name,
        prefix=r.prefix,
        created_at=_utc(r.created_at),
        revoked_at=_utc(r.revoked_at) if r.revoked_at else None,
        last_used_at=_utc(r.last_used_at) if r.last_used_at else None,
    )


def _library_row(item: LibraryItem, tenant_id: str = DEFAULT_TENANT) -> LibraryItemRow:
    p = item.performance
    return LibraryItemRow(
        tenant_id=tenant_id,
        id=item.id,
        title=item.title,
        industry=str(item.industry),
        platform=str(item.platform),
        language=str(item.language),
        aspect=str(item.aspect),
        hook_type=str(item.script.hook_type),
        source=item.source,
        impressions=p.impressions,
        plays_3s=p.plays_3s,
        clicks=p.clicks,
        conversions=p.conversions,
        spend=p.spend,
        script_json=item.script.model_dump(mode="json"),
        media_path=item.media_path,
        created_at=item.created_at,
    )


def _library_item(row: LibraryItemRow) -> LibraryItem:
    return LibraryItem(
        id=row.id,
        title=row.title,
        industry=row.industry,
        platform=row.platform,
        language=row.language,
        aspect=row.aspect,
        script=Script.model_validate(row.script_json),
        performance=Performance(
            impressions=row.impressions,
            plays_3s=row.plays_3s,
            clicks=row.clicks,
            conversions=row.conversions,
            spend=row.spend,
        ),
        source=row.source,
        media_path=row.media_path,
        created_at=_utc(row.created_at),
    )


def _utc(dt: datetime) -> datetime:
    """Everything we store is UTC: SQLite returns naive datetimes, PostgreSQL aware ones in the session's time
    zone (e.g. +08:00), which would reach API answers as local times."""
    return dt.astimezone(UTC) if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _url_secrets(url: str) -> list[str]:
    """The password inside ``url`` (if any), for :func:`redact` of messages that may quote it bare."""
    try:
        password = make_url(url).password
    except Exception:  # unparsable: mask_url already hides what it can
        return []
    return [str(password)] if password else []


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the database at ``url`` (creating a SQLite file's folder) and migrate it to head."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the database folder {path.parent}: {exc}", field="database_url") from exc
    shown = mask_url(url)  # messages name the database, never its password
    try:
        # hide_parameters: a failed statement's message never quotes the row (keys' hashes, webhook secrets, briefs)
        engine = create_engine(url, future=True, hide_parameters=True)
    except Exception as exc:  # bad URL, missing driver
        # from None: the cause's own text (and so a printed traceback) may echo the URL with its password.
        raise InputError(
            f"database URL {shown!r} is not usable: {redact(str(exc), _url_secrets(url))}; use e.g. "
            "sqlite:///path/to/adloom.db or postgresql+psycopg://user@host/db",
            field="database_url",
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    event.listen(engine, "before_execute", _check_string_lengths)
    store = Store(engine)
    if migrate:
        try:
            store.migrate()
        except SQLAlchemyError as exc:
            raise StorageError(
                f"could not migrate the database at {shown}: {redact(str(exc), _url_secrets(url))}"
            ) from None
    return store
