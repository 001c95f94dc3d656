import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from adloom.core.types import (
    SCHEMA_VERSION,
    Brief,
    Performance,
    Product,
    Provenance,
    Script,
    Shot,
    Storyboard,
    export_schemas,
)


def _script(**kw) -> Script:
    shots = [
        Shot(index=0, role="hook", duration_s=3, visual="v", narration="Hello"),
        Shot(index=1, role="cta", duration_s=2.5, visual="v", narration="Buy"),
    ]
    base = dict(
        language="en",
        industry="home",
        title="t",
        hook="Hello",
        hook_type="question",
        angle="value",
        cta="Buy",
        shots=shots,
        provenance=Provenance(path="template"),
    )
    base.update(kw)
    return Script(**base)


def test_script_json_round_trip_keeps_everything():
    s = _script()
    again = Script.model_validate_json(s.model_dump_json())
    assert again == s
    assert again.duration_s == 5.5


def test_shots_must_be_indexed_in_order():
    shots = [Shot(index=1, role="hook", duration_s=3, visual="v")]
    with pytest.raises(ValidationError, match="indexed"):
        _script(shots=shots)


def test_brief_rejects_oversized_field_naming_it():
    with pytest.raises(ValidationError) as exc:
        Brief.model_validate(
            {"industry": "food", "product": {"name": "x", "selling_points": ["a"], "description": "y" * 50_000}}
        )
    assert exc.value.errors()[0]["loc"] == ("product", "description")


def test_brief_rejects_empty_selling_points_and_unknown_fields():
    with pytest.raises(ValidationError) as exc:
        Brief(industry="food", product=Product(name="x", selling_points=[]))
    assert "selling_points" in str(exc.value)
    with pytest.raises(ValidationError, match="extra"):
        Brief.model_validate({"industry": "food", "product": {"name": "x", "selling_points": ["a"]}, "colour": 1})


def test_performance_funnel_is_checked():
    with pytest.raises(ValidationError, match="clicks"):
        Performance(impressions=10, clicks=11)
    p = Performance(impressions=1000, plays_3s=300, clicks=20, conversions=2)
    assert (p.play_3s_rate, p.ctr, p.cvr) == (0.3, 0.02, 0.1)


def test_storyboard_requires_shot_prompts():
    with pytest.raises(ValueError, match="shot prompts"):
        Storyboard.from_script(_script())


def test_export_schemas_is_versioned(tmp_path: Path):
    paths = export_schemas(tmp_path)
    names = {p.name for p in paths}
    assert f"Script.v{SCHEMA_VERSION}.schema.json" in names and f"Brief.v{SCHEMA_VERSION}.schema.json" in names
    schema = json.loads((tmp_path / f"Brief.v{SCHEMA_VERSION}.schema.json").read_text())
    assert schema["x-schema-version"] == SCHEMA_VERSION
    assert "product" in schema["required"]
