from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import inspect, text

from adloom.core.errors import InputError, NotFoundError, StorageError
from adloom.core.storage import open_store
from adloom.core.storage.db import DecisionRecord, ModelVersion
from adloom.core.types import (
    Brief,
    Creative,
    FeedbackEvent,
    Job,
    JobStatus,
    LibraryItem,
    Performance,
    Product,
    Provenance,
    Script,
    Shot,
)


def _item(i: int, industry: str = "food", language: str = "en") -> LibraryItem:
    script = Script(
        language=language,
        industry=industry,
        title=f"t{i}",
        hook="h",
        hook_type="demo",
        angle="value",
        cta="c",
        shots=[Shot(index=0, role="hook", duration_s=2, visual="v", narration="n")],
        provenance=Provenance(path="sample"),
    )
    return LibraryItem(
        id=f"lib_{i}",
        title=f"t{i}",
        industry=industry,
        platform="douyin",
        language=language,
        aspect="9:16",
        script=script,
        performance=Performance(impressions=100, clicks=3),
    )


def test_migrations_create_tables_and_are_idempotent(db_url: str):
    url = db_url
    store = open_store(url)
    head = store.head_revision()
    assert head is not None and head >= "0004" and store.revision() == head
    tables = set(inspect(store.engine).get_table_names())
    assert {"library_items", "briefs", "scripts", "jobs", "creatives", "feedback_events", "feedback_daily"} <= tables
    assert {"ranking_decisions", "model_versions"} <= tables
    if store.engine.dialect.name == "postgresql":  # tables rebuilt by a migration keep the usual key names
        keys = {t: inspect(store.engine).get_pk_constraint(t)["name"] for t in tables - {"alembic_version"}}
        assert keys == {t: f"{t}_pkey" for t in keys}
    assert open_store(url).revision() == head  # second open: nothing to do, no error


def test_upgrade_from_first_revision_keeps_data(db_url: str):
    import sqlalchemy as sa
    from alembic import command

    from adloom.core.storage.db import _alembic_config, _library_row
    from adloom.core.storage.tables import LibraryItemRow

    url = db_url
    store = open_store(url, migrate=False)
    cfg = _alembic_config(url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    # a row as revision 0001 stored it (today's ORM row has columns 0001 lacks, e.g. tenant_id)
    row = {c: v for c, v in _library_row(_item(1)).__dict__.items() if not c.startswith("_") and c != "tenant_id"}
    columns = LibraryItemRow.__table__.c
    old_table = sa.table("library_items", *[sa.column(c, columns[c].type) for c in row])
    with store.engine.begin() as conn:
        conn.execute(old_table.insert().values(**row))
    assert store.revision() == "0001"
    upgraded = open_store(url)
    assert upgraded.revision() == store.head_revision() and upgraded.library_count() == 1
    # rows from before tenants belong to the CLI's tenant, and read back whole
    with upgraded.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT tenant_id FROM library_items")).scalar_one() == "local"
    assert upgraded.get_library_item("lib_1").title == _item(1).title


def test_library_round_trip_filters_and_performance_update(db_url: str):
    store = open_store(db_url)
    items = [_item(1), _item(2, "beauty", "zh"), _item(3, "beauty", "en")]
    assert store.upsert_library_items(items) == 3
    assert store.upsert_library_items(items[:1]) == 1  # upsert, not duplicate
    assert store.library_count() == 3
    assert store.get_library_item("lib_2") == items[1]
    assert [x.id for x in store.list_library_items(industry="beauty", language="en")] == ["lib_3"]
    store.update_performance("lib_1", Performance(impressions=500, clicks=50, conversions=5))
    assert store.get_library_item("lib_1").performance.clicks == 50
    with pytest.raises(NotFoundError, match="lib_9"):
        store.get_library_item("lib_9")


def test_scripts_briefs_and_jobs_round_trip(db_url: str, brief_en):
    store = open_store(db_url)
    store.save_brief(brief_en)
    assert store.get_brief(brief_en.id) == brief_en
    s = _item(1).script.model_copy(update={"brief_id": brief_en.id})
    store.save_scripts([s])
    assert store.scripts_for_brief(brief_en.id) == [s]
    job = store.save_job(Job(kind="scripts"))
    job.status, job.progress = JobStatus.running, 0.5
    store.save_job(job)
    got = store.get_job(job.id)
    assert got.status == JobStatus.running and got.progress == 0.5
    creative = Creative(brief_id=brief_en.id, script=s, scores={"prior": 1.2})
    store.save_creatives([creative])
    store.save_creatives([creative])  # idempotent
    assert store.creatives_for_brief(brief_en.id) == [creative]
    assert store.get_creative(creative.id).scores == {"prior": 1.2}


def test_decisions_are_appended_with_reasons_and_filtered(db_url: str):
    from adloom.core.errors import InputError
    from adloom.core.storage.db import DecisionRecord

    store = open_store(db_url)
    rows = [
        DecisionRecord("crv_a", "launch", 0.002, 0.001, "launch: 2.0x", batch_id="b1", model_version="v1"),
        DecisionRecord("crv_b", "prune", 0.0005, 0.001, "prune: 0.5x", batch_id="b1", scores={"pctr": 0.01}),
        DecisionRecord("crv_a", "explore", 0.002, 0.001, "explore: draw", batch_id="b2", campaign_id="c"),
    ]
    assert store.save_decisions(rows) == 3
    b1 = store.decisions(batch_id="b1")
    assert [(d.creative_id, d.action) for d in b1] == [("crv_a", "launch"), ("crv_b", "prune")]
    assert b1[1].reason == "prune: 0.5x" and b1[1].scores == {"pctr": 0.01} and b1[0].model_version == "v1"
    assert [d.batch_id for d in store.decisions(creative_id="crv_a")] == ["b1", "b2"]  # history kept, oldest first
    assert store.decisions(campaign_id="c")[0].action == "explore"
    with pytest.raises(InputError, match="launch, prune or explore"):
        store.save_decisions([DecisionRecord("crv_c", "ship", 0.1, 0.1, "?")])  # type: ignore[arg-type]
    assert len(store.decisions()) == 3  # the bad batch wrote nothing


def test_model_versions_register_once_and_latest_is_newest(db_url: str):
    from datetime import UTC, datetime

    from adloom.core.errors import InputError
    from adloom.core.storage.db import ModelVersion

    store = open_store(db_url)
    assert store.latest_model() is None
    store.register_model(ModelVersion("v1", "/m/v1", created_at=datetime(2026, 1, 1, tzinfo=UTC), n_train=10))
    store.register_model(
        ModelVersion(
            "v2", "/m/v2", metrics={"ctr/lightgbm": {"auc": 0.66}}, created_at=datetime(2026, 1, 2, tzinfo=UTC)
        )
    )
    store.register_model(ModelVersion("other", "/m/o", kind="play"))
    latest = store.latest_model()
    assert latest is not None and latest.version == "v2" and latest.metrics == {"ctr/lightgbm": {"auc": 0.66}}
    assert [m.version for m in store.list_models()] == ["v2", "v1"]
    with pytest.raises(InputError, match="already registered"):
        store.register_model(ModelVersion("v1", "/elsewhere"))


def test_feedback_counts_know_whether_they_are_one_creative_on_one_day(db_url: str):
    """Daily rows carry their (creative, day) key, typed; a per-creative total has no day and says so."""
    store = open_store(db_url)
    creative = Creative(id="crv_a", script=_item(0).script)
    store.save_creatives([creative])
    ts = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    events = [
        FeedbackEvent(event_id="i1", creative_id="crv_a", kind="impression", ts=ts, count=4),
        FeedbackEvent(event_id="c1", creative_id="crv_a", kind="click", ts=ts, count=1),
        FeedbackEvent(event_id="i2", creative_id="crv_a", kind="impression", ts=ts + timedelta(hours=1), count=2),
    ]
    assert [d.status for d in store.ingest_feedback(events)] == ["counted"] * 3

    daily = store.feedback_daily()
    assert [(d.creative_day, d.impressions, d.clicks) for d in daily] == [
        (("crv_a", date(2026, 3, 1)), 4, 1),
        (("crv_a", date(2026, 3, 2)), 2, 0),
    ]
    total = store.feedback_totals_by_creative()["crv_a"]
    assert (total.impressions, total.clicks) == (6, 1)
    with pytest.raises(ValueError, match="group total"):
        _ = total.creative_day


def test_open_store_creates_the_sqlite_folder(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path}/new/folder/a.db")
    assert (tmp_path / "new" / "folder" / "a.db").is_file() and store.revision() == store.head_revision()


def test_a_value_longer_than_its_column_is_refused_alike_on_every_database(db_url: str):
    """PostgreSQL refuses a string over VARCHAR(n), SQLite would store it: both refuse it up front, naming the
    column and the row, and write nothing; n characters (not bytes) fit exactly."""
    store = open_store(db_url)
    product = Product(name="Oat bar", selling_points=["10 g protein"])
    brief = Brief(id="brf_long", campaign_id="c" * 65, industry="food", product=product)
    with pytest.raises(InputError, match=r"briefs\.campaign_id holds at most 64 characters, .*'brf_long'.* 65 long"):
        store.save_brief(brief)
    with pytest.raises(NotFoundError):
        store.get_brief("brf_long")
    with pytest.raises(InputError, match=r"jobs\.kind holds at most 32"):
        store.save_job(Job(kind="k" * 33))
    with pytest.raises(InputError, match=r"ranking_decisions\.metric") as info:
        store.save_decisions([DecisionRecord("crv_a", "launch", 0.2, 0.1, "ok"), *[
            DecisionRecord("crv_b", "prune", 0.1, 0.2, "no", metric="m" * 17)]])  # fmt: skip
    assert info.value.field == "metric" and store.decisions() == []  # the batch is one transaction
    fits = brief.model_copy(update={"campaign_id": "营销活动" * 16})  # 64 characters, 192 bytes in UTF-8
    store.save_brief(fits)
    assert store.get_brief("brf_long").campaign_id == "营销活动" * 16


def test_timestamps_read_back_in_utc_whatever_offset_they_were_written_with(db_url: str):
    """The test cluster runs in Asia/Shanghai (tests/pg.py): an aware time keeps its instant, a naive one is
    UTC, both come back in UTC, and ordering follows the instant, not the wall-clock."""
    store = open_store(db_url)
    cst = timezone(timedelta(hours=8))
    store.upsert_library_items(
        [
            _item(1).model_copy(update={"created_at": datetime(2026, 1, 1, 10, tzinfo=cst)}),
            _item(2).model_copy(update={"created_at": datetime(2026, 1, 1, 10)}),
        ]
    )
    aware, naive = store.get_library_item("lib_1").created_at, store.get_library_item("lib_2").created_at
    assert aware == datetime(2026, 1, 1, 2, tzinfo=UTC) and aware.utcoffset() == timedelta(0)
    assert naive == datetime(2026, 1, 1, 10, tzinfo=UTC) and naive.utcoffset() == timedelta(0)
    # 09:00 in Shanghai is 01:00 UTC: older than 05:00 UTC although its wall-clock is later
    store.register_model(ModelVersion("v_cst", "/m/a", created_at=datetime(2026, 1, 1, 9, tzinfo=cst)))
    store.register_model(ModelVersion("v_utc", "/m/b", created_at=datetime(2026, 1, 1, 5, tzinfo=UTC)))
    assert [m.version for m in store.list_models()] == ["v_utc", "v_cst"]
    job = store.save_job(Job(kind="scripts"))
    assert store.get_job(job.id).model_dump(mode="json")["updated_at"] == job.model_dump(mode="json")["updated_at"]


def test_id_lists_longer_than_one_query_batch(db_url: str):
    """Lookups by id go out in batches of bound parameters (SQLite's limit); 1,000 ids find the 3 that exist."""
    store = open_store(db_url)
    script = _item(0).script
    store.save_creatives([Creative(id=f"crv_{i:04d}", script=script) for i in (7, 512, 999)])
    wanted = [f"crv_{i:04d}" for i in range(1000)]
    assert store.existing_creative_ids(wanted) == {"crv_0007", "crv_0512", "crv_0999"}
    ts = datetime(2026, 3, 1, tzinfo=UTC)
    events = [FeedbackEvent(event_id=f"i{i}", creative_id=f"crv_{i:04d}", kind="impression", ts=ts) for i in (7, 999)]
    # two clicks at the same second before any impression: held, and listed in a stable order
    events += [FeedbackEvent(event_id=e, creative_id="crv_0512", kind="click", ts=ts) for e in ("c2", "c1")]
    assert [d.status for d in store.ingest_feedback(events)] == ["counted", "counted", "held", "held"]
    assert [e.event_id for e, _ in store.held_feedback()] == ["c1", "c2"]
    assert [(c.creative_id, c.impressions) for c in store.feedback_daily(wanted)] == [("crv_0007", 1), ("crv_0999", 1)]


def test_a_failed_statement_never_quotes_its_values(db_url: str):
    """Rows carry key hashes, webhook secrets and briefs: a database error names the statement, not the values."""
    store = open_store(db_url)
    with pytest.raises(StorageError, match="no_such_table") as info, store.session() as s:
        s.execute(text("SELECT * FROM no_such_table WHERE secret = :v"), {"v": "whsec_do-not-print"})
    assert "whsec_do-not-print" not in str(info.value)


def test_postgresql_errors_never_show_the_password(pg_cluster, pg_url: str):
    """A real server refusing a wrong password, a role that may not create the schema, a failing statement:
    each message names the database with its password masked, in plain and URL-encoded form."""
    password = "s3cr%t@pw-0xD1"  # '%' and '@' must be URL-encoded, and '%' also escaped for Alembic's config
    role = pg_cluster.password_role(password)
    database = pg_url.rsplit("/", 1)[1]
    url = f"postgresql+psycopg://{role}:{quote(password, safe='')}@127.0.0.1:{pg_cluster.port}/{database}"
    wrong = url.replace(quote(password, safe=""), "not-" + quote(password, safe=""))

    def shown(exc: BaseException) -> str:
        text_ = str(exc)
        assert password not in text_ and quote(password, safe="") not in text_, text_
        assert exc.__cause__ is None or password not in str(exc.__cause__)
        return text_

    with pytest.raises(StorageError) as info:
        open_store(wrong)
    assert "password authentication failed" in shown(info.value) and f"{role}:***@" in str(info.value)
    with pytest.raises(StorageError) as info:  # PostgreSQL 15+: only the owner may create in schema public
        open_store(url)
    assert "permission denied for schema public" in shown(info.value)

    pg_cluster.admin(f"GRANT CREATE ON SCHEMA public TO {role}", database=database)
    store = open_store(url)
    assert store.revision() == store.head_revision()
    with pytest.raises(StorageError) as info, store.session() as s:
        s.execute(text("SELECT * FROM no_such_table"))
    assert "no_such_table" in shown(info.value)


def test_a_bulk_feedback_write_refreshes_postgresql_statistics(pg_url: str):
    """Autovacuum lags a bulk load; planning the event-id lookup for an empty table made imports quadratic."""
    store = open_store(pg_url)
    store.save_creatives([Creative(id="crv_a", script=_item(0).script)])
    ts = datetime(2026, 3, 1, tzinfo=UTC)
    store.ingest_feedback(
        [FeedbackEvent(event_id=f"e{i}", creative_id="crv_a", kind="impression", ts=ts) for i in range(3000)]
    )
    with store.engine.connect() as conn:
        planned = conn.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'feedback_events'"))
        plan = conn.execute(
            text("EXPLAIN SELECT event_id FROM feedback_events WHERE tenant_id = 'local' AND event_id IN ('e1', 'e2')")
        ).scalars()
        assert planned == 3000 and "feedback_events_pkey" in " ".join(plan)
