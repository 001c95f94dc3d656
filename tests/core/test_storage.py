from pathlib import Path

import pytest
from sqlalchemy import inspect

from adloom.core.errors import NotFoundError
from adloom.core.storage import open_store
from adloom.core.types import Creative, Job, JobStatus, LibraryItem, Performance, Provenance, Script, Shot


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
    assert store.revision() == store.head_revision() == "0003"
    tables = set(inspect(store.engine).get_table_names())
    assert {"library_items", "briefs", "scripts", "jobs", "creatives", "feedback_events", "feedback_daily"} <= tables
    assert open_store(url).revision() == "0003"  # second open: nothing to do, no error


def test_upgrade_from_first_revision_keeps_data(tmp_path: Path):
    from alembic import command

    from adloom.core.storage.db import _alembic_config

    url = f"sqlite:///{tmp_path}/old.db"
    store = open_store(url, migrate=False)
    cfg = _alembic_config(url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    store.upsert_library_items([_item(1)])
    assert store.revision() == "0001"
    upgraded = open_store(url)
    assert upgraded.revision() == "0003" and upgraded.library_count() == 1


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
