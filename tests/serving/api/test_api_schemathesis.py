"""Property-based tests from the committed OpenAPI (docs/openapi.json) against the app on SQLite: for every
operation, generated requests — valid and invalid — never get a 5xx, and every answer matches the documented
status codes, content types, headers and schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serving.api.conftest import Tenants

OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the property-based run is the slow one, and the other API tests cover PostgreSQL."""
    return f"sqlite:///{tmp_path}/adloom.db"


# Loaded eagerly: schemathesis' fixture-based lazy loader does not work with pytest 9; each generated case is
# sent to the test's own app (a fresh store per operation) through the ASGI transport.
schemathesis.serializer.alias("application/jsonl", "text/plain")  # JSON Lines bodies go on the wire as text
schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text(encoding="utf-8")))


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors_and_responses_match_the_schema(case: Any, app: FastAPI, tenants: Tenants) -> None:
    case.call_and_validate(headers=tenants.a, checks=CHECKS, app=app)
