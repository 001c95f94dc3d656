"""The validated data-file loader names file, key path and line for every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict

from adloom.core.datafiles import DataFileError, load_data


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    severity: Literal["block", "rewrite", "warn"]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[_Rule]


def test_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: a\n    severity: block\n", encoding="utf-8")
    assert load_data(path, _Table).rules[0].severity == "block"


def test_errors_name_key_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - id: a\n    severity: block\n  - id: b\n    severity: nope\n  - id: c\n    sevrity: warn\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as info:
        load_data(path, _Table)
    message = str(info.value)
    assert f"{path}:5: rules[1].severity" in message
    assert f"{path}:7: rules[2].sevrity: Extra inputs are not permitted" in message


def test_bad_yaml_and_encoding_are_named(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: [a\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"rules.yaml:3: not valid YAML"):
        load_data(path, _Table)
    path.write_bytes("rules: 规则".encode("gb18030"))
    with pytest.raises(DataFileError, match="not UTF-8"):
        load_data(path, _Table)
    with pytest.raises(DataFileError, match="no such data file"):
        load_data(tmp_path / "missing.yaml", _Table)
