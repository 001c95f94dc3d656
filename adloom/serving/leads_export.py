"""Leads as files a sales team opens: CSV for Excel (UTF-8 with a BOM, so Chinese text shows; every cell that
a spreadsheet would run as a formula is quoted) and JSON lines. Shared by ``GET /v1/leads/export.csv`` and
``adloom leads export``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from adloom.core.types import Lead

BOM = "\ufeff"
COLUMNS = (
    "id",
    "created_at",
    "agent_id",
    "channel",
    "user_id",
    "phone",
    "wechat",
    "email",
    "city",
    "budget",
    "timing",
    "needs",
    "conversation_id",
)
#: A cell starting with one of these is a formula to Excel and LibreOffice (OWASP CSV injection): quote it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(lead: Lead) -> list[str]:
    values = lead.model_dump(mode="json")
    values["needs"] = "; ".join(lead.needs)
    return [safe_cell(values.get(c)) for c in COLUMNS]


def csv_chunks(leads: Iterable[Lead], *, chunk_rows: int = 200) -> Iterator[str]:
    """The CSV text in pieces (BOM and header first), one row per lead."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    buf.write(BOM)
    out.writerow(COLUMNS)
    n = 0
    for lead in leads:
        out.writerow(_row(lead))
        n += 1
        if n % chunk_rows == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def jsonl_chunks(leads: Iterable[Lead]) -> Iterator[str]:
    for lead in leads:
        yield json.dumps(lead.model_dump(mode="json"), ensure_ascii=False) + "\n"
