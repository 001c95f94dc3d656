"""Consent records: what a valid one needs, per-picture matching, and storage beside the avatar."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adloom.digital_human.avatar.consent import (
    CONSENT_FILE,
    ConsentRecord,
    ConsentRequiredError,
    load_consent,
    record_consent,
    require_consent,
)
from adloom.digital_human.avatar.landmarks import sha256_file
from adloom.digital_human.avatar.photo import SAMPLE_PORTRAIT

STATEMENT = "I agree that Acme may animate this photo as its live-stream presenter until 2027-12-31."


def test_record_hashes_the_portrait_and_round_trips_through_the_avatar_folder(tmp_path: Path) -> None:
    when = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    rec = record_consent(
        SAMPLE_PORTRAIT, subject="Jane Doe", granted_by="Jane Doe", statement=STATEMENT, granted_at=when
    )
    assert rec.portrait_sha256 == sha256_file(SAMPLE_PORTRAIT)
    assert rec.granted_at == "2026-11-21T09:30:00+00:00"
    path = rec.save(tmp_path / "avatar")
    assert path.name == CONSENT_FILE
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["subject"] == "Jane Doe" and stored["statement"] == STATEMENT
    assert load_consent(tmp_path / "avatar") == rec


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("subject", "  ", "subject is empty"),
        ("granted_by", "", "granted_by is empty"),
        ("statement", "ok", "too short"),
        ("portrait_sha256", "abc", "not a hex sha256"),
        ("granted_at", "yesterday", "not an ISO-8601"),
    ],
)
def test_incomplete_records_are_refused_naming_the_field(field: str, value: str, fragment: str) -> None:
    fields = {
        "subject": "Jane Doe",
        "granted_by": "Jane Doe",
        "statement": STATEMENT,
        "granted_at": "2026-11-21T09:30:00+00:00",
        "portrait_sha256": "0" * 64,
    }
    fields[field] = value
    with pytest.raises(ConsentRequiredError, match=fragment) as err:
        ConsentRecord(**fields)
    assert err.value.field == field


def test_require_consent_refuses_none_and_another_pictures_record(tmp_path: Path) -> None:
    digest = sha256_file(SAMPLE_PORTRAIT)
    with pytest.raises(ConsentRequiredError, match="needs the pictured person's consent"):
        require_consent(None, digest, portrait_name="me.jpg")
    other = tmp_path / "other.jpg"
    other.write_bytes(SAMPLE_PORTRAIT.read_bytes() + b"\x00")  # one byte more: another file
    rec = record_consent(other, subject="Jane Doe", granted_by="Jane Doe", statement=STATEMENT)
    with pytest.raises(ConsentRequiredError, match="consent is per picture"):
        require_consent(rec, digest, portrait_name="me.jpg")
    require_consent(record_consent(SAMPLE_PORTRAIT, subject="J", granted_by="J", statement=STATEMENT), digest)


def test_missing_or_corrupt_consent_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConsentRequiredError, match="has no consent.json"):
        load_consent(tmp_path)
    (tmp_path / CONSENT_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ConsentRequiredError, match="not a consent record"):
        load_consent(tmp_path)
