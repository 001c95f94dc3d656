from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from adloom.core.errors import NotFoundError
from adloom.core.storage import open_store
from adloom.core.types import (
    Creative,
    FeedbackEvent,
    Job,
    JobStatus,
    LibraryItem,
    Performance,
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


def test_migrations_create_tables_and_are_idempotent(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/db/a.db"
    store = open_store(url)
    head = store.head_revision()
    assert head is not None and head >= "0004" and store.revision() == head
    tables = set(inspect(store.engine).get_table_names())
    assert {"library_items", "briefs", "scripts", "jobs", "creatives", "feedback_events", "feedback_daily"} <= tables
    assert {"ranking_decisions", "model_versions"} <= tables
    assert open_store(url).revision() == head  # second open: nothing to do, no error


def test_upgrade_from_first_revision_keeps_data(tmp_path: Path):
    from alembic import command

    import sqlalchemy as sa

    from adloom.core.storage.db import _alembic_config, _library_row
    from adloom.core.storage.tables import LibraryItemRow

    url = f"sqlite:///{tmp_path}/old.db"
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


def test_library_round_trip_filters_and_performance_update(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path}/a.db")
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


def test_scripts_briefs_and_jobs_round_trip(tmp_path: Path, brief_en):
    store = open_store(f"sqlite:///{tmp_path}/a.db")
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


def test_decisions_are_appended_with_reasons_and_filtered(tmp_path: Path):
    from adloom.core.errors import InputError
    from adloom.core.storage.db import DecisionRecord

    store = open_store(f"sqlite:///{tmp_path}/d.db")
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


def test_model_versions_register_once_and_latest_is_newest(tmp_path: Path):
    from datetime import UTC, datetime

    from adloom.core.errors import InputError
    from adloom.core.storage.db import ModelVersion

    store = open_store(f"sqlite:///{tmp_path}/m.db")
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


def test_feedback_counts_know_whether_they_are_one_creative_on_one_day(tmp_path: Path):
    """Daily rows carry their (creative, day) key, typed; a per-creative total has no day and says so."""
    store = open_store(f"sqlite:///{tmp_path}/fb.db")
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
