"""Import a user's own creative library from CSV or JSONL.

Two row shapes are accepted:

* **full** (JSONL only): a :class:`LibraryItem` as JSON, e.g. a line written
  by ``adloom.analytics.sample_library.write_sample_library``;
* **flat** (CSV rows, or JSONL objects without a ``script`` object): the
  columns in :data:`REQUIRED_COLUMNS` plus any of :data:`OPTIONAL_COLUMNS`.
  The plain ``script_text`` is turned into a :class:`Script` by
  :func:`_script_from_text`, a deliberately small structurer that a better
  one will replace.

A bad row never stops the import: it becomes one :class:`ImportRowError`
(the first problem found in the row) and the good rows still come back.
Rows are numbered from 1: for CSV the data rows, the header not counted; for
JSONL the lines of the file, blank ones included. Problems with the file as a
whole (missing, too big, wrong extension, not UTF-8, empty, missing CSV
columns) raise :class:`InputError`.

Callers that take the path from a user resolve it inside the allowed roots
first (``adloom.core.paths.resolve_inside``); this module reads what it is given.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from adloom.core.errors import ImportRowError, InputError
from adloom.core.types import (
    Angle,
    Aspect,
    HookType,
    Industry,
    Language,
    LibraryItem,
    Performance,
    Platform,
    Provenance,
    Script,
)
from adloom.scripts_gen.structure import structure_text

#: Files larger than this are refused before reading.
MAX_IMPORT_BYTES = 200 * 1024 * 1024
REQUIRED_COLUMNS: tuple[str, ...] = ("title", "industry", "platform", "language", "aspect", "script_text")
COUNT_COLUMNS: tuple[str, ...] = ("impressions", "plays_3s", "clicks", "conversions")
OPTIONAL_COLUMNS: tuple[str, ...] = ("id", "hook_type", "angle", *COUNT_COLUMNS, "spend", "created_at")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

#: Speaking rate used to time shots: zh characters or en words per second.
_SPEAKING_RATE: dict[Language, float] = {Language.zh: 4.5, Language.en: 2.6}
_MAX_SHOTS = 20

E = TypeVar("E", bound=StrEnum)
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$")


@dataclass
class ImportReport:
    """What an import produced: the items that validated and one error per rejected row."""

    items: list[LibraryItem] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    #: CSV columns (or flat JSONL keys) that adloom does not read, so a typo is visible.
    ignored_columns: list[str] = field(default_factory=list)


class _RowProblem(Exception):
    """One problem in one row; turned into an :class:`ImportRowError` with the row's number."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def import_library(path: Path, *, max_bytes: int = MAX_IMPORT_BYTES) -> ImportReport:
    """Read a CSV or JSONL library file at ``path``; bad rows are reported, not fatal."""
    path = Path(path)
    kind = _check_file(path, max_bytes)
    text = _read_text(path)
    if not text.strip():
        raise InputError(f"{path} is empty; export at least one row of your library into it", field="path")
    if kind == "csv":
        return _import_csv(path, text)
    return _import_jsonl(path, text)


# ---------------------------------------------------------------------------
# File level
# ---------------------------------------------------------------------------


def _check_file(path: Path, max_bytes: int) -> str:
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path and try again", field="path")
    if not path.is_file():
        raise InputError(f"{path} is not a file; give the path of a .csv or .jsonl file", field="path")
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"{path} has extension '{path.suffix or '(none)'}', which cannot be imported; "
            "save the library as .csv or .jsonl",
            field="path",
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{path} is {size / 1024 / 1024:.0f} MB, over the {max_bytes / 1024 / 1024:.0f} MB import limit; "
            "split it into smaller files",
            field="path",
        )
    return kind


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 (in Excel: 'CSV UTF-8') and import again",
            field="path",
        ) from exc


def _import_csv(path: Path, text: str) -> ImportReport:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{path} is missing the column(s) {', '.join(missing)}; the header must include "
            f"{', '.join(REQUIRED_COLUMNS)} (found: {', '.join(header) or 'nothing'})",
            field="columns",
        )
    reader.fieldnames = header
    report = ImportReport(ignored_columns=[h for h in header if h not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)])
    where = f"in {path.name}; data rows are counted from 1, header not counted"
    n_rows = 0
    for n_rows, record in enumerate(reader, start=1):
        try:
            extra = record.pop(None, None)  # type: ignore[call-overload]  # DictReader's surplus cells
            short = sum(1 for v in record.values() if v is None)  # and its filler for missing ones
            if extra or short:
                cells = len(header) + len(extra or []) - short
                raise _RowProblem(
                    f"has {cells} cells but the header has {len(header)}; "
                    "quote cells that contain commas and give every row one cell per column",
                    None,
                )
            report.items.append(_item_from_flat(record, n_rows))
        except _RowProblem as problem:
            report.errors.append(ImportRowError(f"{problem.message} ({where})", row=n_rows, field=problem.field))
    if n_rows == 0:
        raise InputError(f"{path} has a header but no data rows; add one row per creative", field="path")
    return report


def _import_jsonl(path: Path, text: str) -> ImportReport:
    report = ImportReport()
    ignored: set[str] = set()
    where = f"in {path.name}; rows are line numbers"
    for line_no, line in enumerate(text.split("\n"), start=1):  # not splitlines(): JSON may hold U+2028
        if not line.strip():
            continue
        try:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _RowProblem(
                    f"is not valid JSON ({exc.msg} at column {exc.colno}); write one JSON object per line", None
                ) from exc
            if not isinstance(record, dict):
                raise _RowProblem(f"is a JSON {type(record).__name__}, not an object; write one object per line", None)
            if isinstance(record.get("script"), dict):
                report.items.append(_item_from_full(record))
            else:
                ignored.update(k for k in record if k not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
                report.items.append(_item_from_flat(record, line_no))
        except _RowProblem as problem:
            report.errors.append(ImportRowError(f"{problem.message} ({where})", row=line_no, field=problem.field))
    report.ignored_columns = sorted(ignored)
    return report


# ---------------------------------------------------------------------------
# Row level
# ---------------------------------------------------------------------------


def _item_from_full(record: dict[str, Any]) -> LibraryItem:
    """A full :class:`LibraryItem` JSON object, as the library itself writes it."""
    script = dict(record["script"])
    script.pop("duration_s", None)  # computed from the shots; dumped JSON carries it, the model rejects it
    try:
        return LibraryItem.model_validate({**record, "script": script})
    except ValidationError as exc:
        raise _validation_problem(exc, prefix="") from exc


def _item_from_flat(record: Mapping[str, Any], row: int) -> LibraryItem:
    """A flat record (CSV row or JSONL object) → :class:`LibraryItem`; raises on the first problem."""
    for name in REQUIRED_COLUMNS:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _RowProblem(f"{name} is empty; every row needs {', '.join(REQUIRED_COLUMNS)}", name)
    title = str(record["title"]).strip()
    if len(title) > 120:
        raise _RowProblem(f"title is {len(title)} characters long; shorten it to 120 or fewer", "title")
    industry = _enum(record, "industry", Industry)
    platform = _enum(record, "platform", Platform)
    language = _enum(record, "language", Language)
    aspect = _enum(record, "aspect", Aspect)
    hook_type = _enum(record, "hook_type", HookType, required=False)
    angle = _enum(record, "angle", Angle, required=False)
    counts = {name: _count(record, name) for name in COUNT_COLUMNS}
    spend = _amount(record, "spend")
    if counts["plays_3s"] > counts["impressions"]:
        raise _RowProblem(
            f"plays_3s ({counts['plays_3s']}) exceeds impressions ({counts['impressions']}); "
            "3-second plays are counted within impressions, check both columns",
            "plays_3s",
        )
    if counts["clicks"] > counts["impressions"]:
        raise _RowProblem(
            f"clicks ({counts['clicks']}) exceeds impressions ({counts['impressions']}); "
            "clicks are counted within impressions, check both columns",
            "clicks",
        )
    if counts["conversions"] > counts["clicks"]:
        raise _RowProblem(
            f"conversions ({counts['conversions']}) exceeds clicks ({counts['clicks']}); "
            "conversions are counted after a click, check both columns",
            "conversions",
        )
    created_at = _timestamp(record)

    text = str(record["script_text"])
    digest = hashlib.sha1(f"{row}\x1f{title}\x1f{text}".encode()).hexdigest()[:12]
    item_id = str(record.get("id") or "").strip() or f"lib_{digest}"
    try:
        script = _script_from_text(
            text,
            language=language,
            industry=industry,
            platform=platform,
            aspect=aspect,
            title=title,
            hook_type=hook_type,
            angle=angle,
            script_id=f"scr_{digest}",
        )
    except ValidationError as exc:
        raise _validation_problem(exc, prefix="script_text gives an invalid script: ", field="script_text") from exc
    except InputError as exc:
        raise _RowProblem(f"script_text gives an invalid script: {exc}", "script_text") from exc
    try:
        return LibraryItem(
            id=item_id,
            title=title,
            industry=industry,
            platform=platform,
            language=language,
            aspect=aspect,
            script=script,
            performance=Performance(**counts, spend=spend),
            source="import",
            **({"created_at": created_at} if created_at else {}),
        )
    except ValidationError as exc:
        raise _validation_problem(exc, prefix="") from exc


def _enum(record: Mapping[str, Any], name: str, enum: type[E], *, required: bool = True) -> E | None:
    raw = record.get(name)
    if raw is None or str(raw).strip() == "":
        if required:
            raise _RowProblem(f"{name} is empty; use one of {', '.join(e.value for e in enum)}", name)
        return None
    text = str(raw).strip()
    for member in enum:
        if text.lower() in (member.value.lower(), member.name.lower()):
            return member
    raise _RowProblem(f"{name} '{text}' is not one of {', '.join(e.value for e in enum)}; use one of those", name)


def _number(record: Mapping[str, Any], name: str) -> float | None:
    raw = record.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise _RowProblem(f"{name} is {raw}, not a number; write a plain number", name)
    if isinstance(raw, int | float):
        value = float(raw)
    elif _PLAIN_NUMBER.match(str(raw).strip()):
        value = float(str(raw).strip().replace(",", ""))
    else:
        raise _RowProblem(f"{name} '{raw}' is not a number; write a plain number like 12000", name)
    if not math.isfinite(value):
        raise _RowProblem(f"{name} '{raw}' is not a finite number; write a plain number like 12000", name)
    if value < 0:
        raise _RowProblem(f"{name} ({raw}) is negative; counts and spend are 0 or more", name)
    return value


def _count(record: Mapping[str, Any], name: str) -> int:
    """A delivery count; a missing column or empty cell means 0 (no data)."""
    value = _number(record, name)
    if value is None:
        return 0
    if value != int(value):
        raise _RowProblem(f"{name} ({record[name]}) is not a whole number; counts are whole numbers", name)
    return int(value)


def _amount(record: Mapping[str, Any], name: str) -> float:
    value = _number(record, name)
    return 0.0 if value is None else value


def _timestamp(record: Mapping[str, Any]) -> datetime | None:
    raw = record.get("created_at")
    if raw is None or str(raw).strip() == "":
        return None
    try:
        return datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        raise _RowProblem(
            f"created_at '{raw}' is not a date; write it as ISO 8601, e.g. 2026-03-01 or 2026-03-01T09:30:00Z",
            "created_at",
        ) from None


def _validation_problem(exc: ValidationError, *, prefix: str, field: str | None = None) -> _RowProblem:
    """The first pydantic error as a row problem naming the field (``field`` overrides its location)."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    shown = repr(first.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return _RowProblem(f"{prefix}{loc}: {first['msg']} (got {shown}); fix this value", field or loc or None)


# ---------------------------------------------------------------------------
# Plain text → Script (placeholder structurer)
# ---------------------------------------------------------------------------

_PRICE = re.compile(r"[$¥€£]\s?\d|\d+(?:\.\d+)?\s?(?:元|块|万)")


def _script_from_text(
    text: str,
    *,
    language: Language,
    industry: Industry,
    platform: Platform,
    aspect: Aspect,
    title: str,
    hook_type: HookType | None = None,
    angle: Angle | None = None,
    script_id: str | None = None,
) -> Script:
    """A Script from a row's plain text via the structurer; explicit hook_type/angle columns win."""
    script = structure_text(text, industry=industry, language=language, platform=platform, aspect=aspect, title=title)
    update: dict[str, Any] = {
        "provenance": Provenance(path="import", notes=["structured from the row's script_text"]),
    }
    if script_id:
        update["id"] = script_id
    if hook_type is not None:
        update["hook_type"] = hook_type
    if angle is not None:
        update["angle"] = angle
    return script.model_copy(update=update)
