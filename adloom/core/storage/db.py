"""The store: one engine, migrations on open, and typed read/write methods.

Callers deal in ``core.types`` objects; rows never leave this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from adloom.core.errors import InputError, NotFoundError, StorageError
from adloom.core.storage.tables import BriefRow, CreativeRow, JobRow, LibraryItemRow, ScriptRow
from adloom.core.types import Brief, Creative, Job, LibraryItem, Performance, Script, utcnow

_MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects are untyped
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class Store:
    """Typed access to the adloom database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as s:
                yield s
        except SQLAlchemyError as exc:
            raise StorageError(f"database error on {self.engine.url.render_as_string()}: {exc}") from exc

    def migrate(self) -> str:
        """Upgrade the schema to the newest Alembic revision; returns that revision."""
        cfg = _alembic_config(self.engine.url.render_as_string(hide_password=False))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return self.revision()

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()

    # -- creative library -----------------------------------------------------------------
    def upsert_library_items(self, items: Iterable[LibraryItem]) -> int:
        """Insert or replace library items by id; returns how many were written."""
        n = 0
        with self.session() as s:
            for item in items:
                s.merge(_library_row(item))
                n += 1
        return n

    def library_count(self) -> int:
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(LibraryItemRow)) or 0

    def get_library_item(self, item_id: str) -> LibraryItem:
        with self.session() as s:
            row = s.get(LibraryItemRow, item_id)
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
        stmt = select(LibraryItemRow).order_by(LibraryItemRow.id)
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
            row = s.get(LibraryItemRow, item_id)
            if row is None:
                raise NotFoundError(f"no library item {item_id!r}")
            row.impressions, row.plays_3s = perf.impressions, perf.plays_3s
            row.clicks, row.conversions, row.spend = perf.clicks, perf.conversions, perf.spend

    # -- briefs and scripts ---------------------------------------------------------------
    def save_brief(self, brief: Brief) -> None:
        with self.session() as s:
            s.merge(
                BriefRow(
                    id=brief.id,
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
            if row is None:
                raise NotFoundError(f"no brief {brief_id!r}")
            return Brief.model_validate(row.body_json)

    def save_scripts(self, scripts: Sequence[Script]) -> None:
        with self.session() as s:
            for sc in scripts:
                s.merge(
                    ScriptRow(
                        id=sc.id,
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
            if row is None:
                raise NotFoundError(f"no script {script_id!r}")
            return Script.model_validate(row.body_json)

    def scripts_for_brief(self, brief_id: str) -> list[Script]:
        stmt = select(ScriptRow).where(ScriptRow.brief_id == brief_id).order_by(ScriptRow.created_at, ScriptRow.id)
        with self.session() as s:
            return [Script.model_validate(r.body_json) for r in s.scalars(stmt)]

    # -- creatives ------------------------------------------------------------------------
    def save_creatives(self, creatives: Sequence[Creative]) -> None:
        """Insert or replace creatives by id (a re-rendered creative keeps its row)."""
        with self.session() as s:
            for c in creatives:
                s.merge(
                    CreativeRow(
                        id=c.id,
                        brief_id=c.brief_id,
                        campaign_id=c.campaign_id,
                        script_id=c.script.id,
                        status=str(c.status),
                        body_json=c.model_dump(mode="json"),
                        created_at=c.created_at,
                    )
                )

    def get_creative(self, creative_id: str) -> Creative:
        with self.session() as s:
            row = s.get(CreativeRow, creative_id)
            if row is None:
                raise NotFoundError(f"no creative {creative_id!r}")
            return Creative.model_validate(row.body_json)

    def creatives_for_brief(self, brief_id: str) -> list[Creative]:
        stmt = select(CreativeRow).where(CreativeRow.brief_id == brief_id).order_by(CreativeRow.id)
        with self.session() as s:
            return [Creative.model_validate(r.body_json) for r in s.scalars(stmt)]

    # -- jobs -----------------------------------------------------------------------------
    def save_job(self, job: Job) -> Job:
        job = job.model_copy(update={"updated_at": utcnow()})
        with self.session() as s:
            s.merge(
                JobRow(
                    id=job.id,
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
            if row is None:
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


def _library_row(item: LibraryItem) -> LibraryItemRow:
    p = item.performance
    return LibraryItemRow(
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
    """SQLite returns naive datetimes; everything we store is UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the database at ``url`` (creating a SQLite file's folder) and migrate it to head."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the database folder {path.parent}: {exc}", field="database_url") from exc
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:  # bad URL, missing driver
        raise InputError(
            f"database URL {url!r} is not usable: {exc}; use e.g. sqlite:///path/to/adloom.db "
            "or postgresql+psycopg://user@host/db",
            field="database_url",
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    store = Store(engine)
    if migrate:
        try:
            store.migrate()
        except SQLAlchemyError as exc:
            raise StorageError(f"could not migrate the database at {url}: {exc}") from exc
    return store
