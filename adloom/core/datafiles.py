"""Validated data files: YAML that people edit (phrase grammars, rule tables, profiles), checked by a schema.

A reviewer who edits a rule table needs an error that names the file, the key and the line, not a
pydantic traceback. :func:`load_data` parses the YAML once into a node tree (which keeps each
value's line), validates the plain data against a pydantic model, and on failure maps every
error's location back to the line of the offending key::

    adloom/data/compliance/rules.yaml:212: rules[14].severity: Input should be 'block', 'rewrite' or 'warn'

Package data lives under ``adloom/data/`` (:func:`package_data_path`); user-supplied files go
through the same loader with the same schema, so a rule a legal reviewer writes for their
project has the same format as the ones we ship.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from adloom.core.errors import InputError

__all__ = ["DataFileError", "load_data", "load_package_data", "load_yaml_nodes", "package_data_path", "validate_data"]

M = TypeVar("M", bound=BaseModel)

_DATA_ROOT = Path(__file__).resolve().parent.parent / "data"


class DataFileError(InputError):
    """A data file that cannot be read or does not match its schema; the message names file, key and line."""


def package_data_path(*parts: str) -> Path:
    """Path of a data file shipped inside the package (``adloom/data/<parts>``)."""
    return _DATA_ROOT.joinpath(*parts)


def load_yaml_nodes(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (safe loader's composer), with a readable error on bad syntax."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataFileError(f"{where}: not valid YAML ({problem}); fix the syntax at that line") from exc


def _node_at(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """The deepest node along ``loc`` (keys and list indexes), for its line number."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                    found = k if v is None else v
                    break
            if found is None:
                return node
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
        else:
            return node
    return node


def _loc_text(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate_data(data: Any, model: type[M], *, nodes: yaml.Node | None, source: str) -> M:
    """``data`` validated against ``model``; errors name ``source``, the key path and its line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            node = _node_at(nodes, loc)
            line = f":{node.start_mark.line + 1}" if node is not None else ""
            lines.append(f"{source}{line}: {_loc_text(loc)}: {err['msg']}")
        raise DataFileError("; ".join(lines)) from exc


def load_data(path: Path, model: type[M]) -> M:
    """Read the YAML file at ``path`` and validate it against ``model`` (see the module docstring)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataFileError(f"{path}: no such data file; check the path") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    nodes = load_yaml_nodes(text, str(path))
    data = yaml.safe_load(text) if nodes is not None else None
    return validate_data(data, model, nodes=nodes, source=str(path))


@lru_cache(maxsize=64)
def _cached(path: Path, model: type[BaseModel], mtime_ns: int) -> BaseModel:
    return load_data(path, model)


def load_package_data(model: type[M], *parts: str) -> M:
    """A shipped data file, validated once per process (and again if the file changes on disk)."""
    path = package_data_path(*parts)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError as exc:
        raise DataFileError(f"{path}: shipped data file missing; reinstall adloom") from exc
    result = _cached(path, model, mtime)
    assert isinstance(result, model)
    return result
