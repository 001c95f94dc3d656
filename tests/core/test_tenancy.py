"""Tenants in the store: every scoped read misses another tenant's rows, ids from users may repeat across
tenants, keys are kept only as hashes, and the migrations build exactly the tables the ORM declares."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from adloom.core.errors import InputError, NotFoundError
from adloom.core.storage import open_store
from adloom.core.storage.db import hash_api_key
from adloom.core.storage.tables import ApiKeyRow, Base
from adloom.core.types import Brief, Creative, FeedbackEvent, Product
from tests.core.test_storage import _item


def _brief() -> Brief:
    return Brief(industry="food", product=Product(name="Oat bar", selling_points=["10 g protein"]))


def _creative(brief: Brief) -> Creative:
    return Creative(brief_id=brief.id, script=_item(0).script)


def test_migrations_match_the_orm_tables(db_url: str):
    store = open_store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_another_tenants_rows_are_invisible(db_url: str):
    root = open_store(db_url)
    a, b = root.scoped("acme"), root.scoped("beta")
    brief = _brief()
    a.save_brief(brief)
    creative = _creative(brief)
    a.save_creatives([creative])
    a.upsert_library_items([_item(1)])
    assert a.get_brief(brief.id).id == brief.id
    with pytest.raises(NotFoundError):
        b.get_brief(brief.id)
    with pytest.raises(NotFoundError):
        b.get_creative(creative.id)
    with pytest.raises(NotFoundError):
        root.get_brief(brief.id)  # the CLI's tenant is a tenant like any other
    assert b.creatives_for_brief(brief.id) == [] and b.existing_creative_ids([creative.id]) == set()
    assert b.library_count() == 0 and b.list_library_items() == []
    with pytest.raises(NotFoundError):
        b.get_library_item("lib_1")
    # B may not take over A's id by writing it
    with pytest.raises(InputError, match="already in use"):
        b.save_brief(brief)
    with pytest.raises(InputError, match="already in use"):
        b.save_creatives([creative])
    assert a.get_brief(brief.id).product.name == "Oat bar"


def test_ids_from_users_may_repeat_across_tenants(db_url: str):
    root = open_store(db_url)
    a, b = root.scoped("acme"), root.scoped("beta")
    a.upsert_library_items([_item(1)])
    other = _item(1).model_copy(update={"title": "beta's own"})
    b.upsert_library_items([other])
    assert a.get_library_item("lib_1").title == "t1" and b.get_library_item("lib_1").title == "beta's own"
    # the same event id in two tenants counts once in each, for each tenant's own creative
    brief = _brief()
    ca, cb = _creative(brief), _creative(brief)
    a.save_brief(brief)
    a.save_creatives([ca])
    b.save_creatives([cb])
    ts = datetime(2026, 12, 1, 12, tzinfo=UTC)
    ev_a = FeedbackEvent(event_id="e1", creative_id=ca.id, kind="impression", ts=ts, count=10)
    ev_b = FeedbackEvent(event_id="e1", creative_id=cb.id, kind="impression", ts=ts, count=7)
    assert [d.status for d in a.ingest_feedback([ev_a])] == ["counted"]
    assert [d.status for d in b.ingest_feedback([ev_b])] == ["counted"]
    # B cannot post feedback onto A's creative
    ev_x = FeedbackEvent(event_id="e2", creative_id=ca.id, kind="impression", ts=ts, count=5)
    assert [d.status for d in b.ingest_feedback([ev_x])] == ["unknown_creative"]
    assert [c.impressions for c in a.feedback_daily()] == [10]
    assert [c.impressions for c in b.feedback_daily()] == [7]


def test_keys_are_stored_only_as_hashes_and_revocation_locks_out(db_url: str):
    store = open_store(db_url)
    info, key = store.create_api_key("acme", "ci")
    assert key.startswith("adl_") and len(key) > 40 and info.prefix == key[:12]
    assert store.get_tenant("acme").id == "acme"
    tenant = store.authenticate(key)
    assert tenant is not None and tenant.id == "acme"
    assert store.authenticate(key + "x") is None
    with store.engine.connect() as conn:
        rows = conn.execute(select(ApiKeyRow)).all()
        dump = repr([tuple(r) for r in rows])
    assert key not in dump and key[12:] not in dump and hash_api_key(key) in dump
    assert [k.id for k in store.list_api_keys("acme")] == [info.id]
    store.revoke_api_key(info.id)
    assert store.authenticate(key) is None
    with pytest.raises(NotFoundError, match="adloom keys list"):
        store.revoke_api_key("key_nope")
