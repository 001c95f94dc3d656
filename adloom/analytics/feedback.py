"""Feedback ingestion: delivery events from ad platforms into per-creative daily aggregates.

An event is one of impression, 3-second play, completion, click, conversion or
spend for one creative, placement, audience segment and time
(:class:`~adloom.core.types.FeedbackEvent`). The rules, in one place:

* **Idempotent by event id.** An id seen before, in this import or any
  earlier one, is a duplicate and counts once.
* **Own day.** Every event counts into the UTC day of its own timestamp
  (naive timestamps are UTC). A late event, arriving after events of later
  days, still counts into its day; there is no lateness cut-off, and reports
  built afterwards include it.
* **Funnel per creative and day.** plays_3s ≤ impressions, completions ≤
  plays_3s, clicks ≤ impressions, conversions ≤ clicks. An event that would
  break this (a click with no impression, a conversion with no click) is not
  counted: by default it is *held* — stored with its reason and retried,
  in timestamp order, whenever that creative/day receives new events, so
  out-of-order delivery resolves itself once the parent events arrive
  (reported as ``released``). With ``hold=False`` it is rejected outright.
* **Rejected with reasons.** Malformed rows, negative spend or counts and
  unknown creative ids are rejected per row (``RowIssue``: row number, event
  id, reason code, message); the import goes on.
* **Streamed.** Files are read ``chunk_size`` rows at a time (default
  :data:`DEFAULT_CHUNK_SIZE`, 5,000 rows) and each chunk is one transaction;
  memory is bounded by the chunk, not the file (a 1 GB file needs the same
  memory as a 1 MB one). At most ``max_issues`` issues are kept in the
  returned report; ``issues_out`` streams every one of them to a JSONL file.

Formats: CSV (header row), JSONL (one object per line), Parquet (needs
``pyarrow``, the ``report`` extra). Columns: ``event_id, creative_id, kind,
ts`` (required), ``count`` (default 1), ``value`` (spend amount),
``placement``, ``segment``. An unknown column is an error for the whole file
(a typo must not silently drop data).
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from adloom.core.errors import InputError
from adloom.core.storage import Store
from adloom.core.types import FeedbackEvent, FeedbackKind

#: Rows per chunk (one transaction, one batch of lookups). 5,000 rows of ~150 bytes keep a
#: chunk's Python objects to a few MB while amortising the per-transaction cost.
DEFAULT_CHUNK_SIZE = 5_000
#: Issues kept in :class:`IngestReport` (all are counted; stream them all with ``issues_out``).
DEFAULT_MAX_ISSUES = 1_000

#: Longest placement or segment label stored (the column width in the feedback_events table).
MAX_LABEL = 64

Format = Literal["csv", "jsonl", "parquet"]
COLUMNS = ("event_id", "creative_id", "kind", "ts", "count", "value", "placement", "segment")
REQUIRED = ("event_id", "creative_id", "kind", "ts")
_SUFFIX_FORMAT: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

IssueReason = Literal["invalid", "negative_spend", "negative_count", "unknown_creative", "funnel"]


class RowIssue(BaseModel):
    """One event that was not counted, and why (``status`` held: may still count later)."""

    row: int = Field(description="1-based data row (line in JSONL; row after the header in CSV).")
    event_id: str | None = None
    status: Literal["rejected", "held"]
    reason: IssueReason
    message: str


class IngestReport(BaseModel):
    """What an ingestion did. Every input row lands in exactly one of the first five counts."""

    rows: int = 0
    counted: int = 0
    duplicates: int = 0
    held: int = 0
    rejected: int = 0
    released: int = Field(0, description="Events held earlier that now count.")
    reasons: dict[str, int] = Field(default_factory=dict, description="Issue counts by reason code.")
    issues: list[RowIssue] = Field(default_factory=list)
    issues_dropped: int = Field(0, description="Issues counted but not kept in `issues` (see max_issues).")
    chunks: int = 0


def parse_event(raw: Mapping[str, Any], row: int) -> FeedbackEvent | RowIssue:
    """Validate one raw row into an event, or say what is wrong with it.

    Empty strings (CSV cells) mean "not given". Negative spend and counts get
    their own reason codes because they are the usual upstream bugs (refunds
    and corrections sent as negative deltas are not supported: resend the day).
    """
    data = {k: v for k, v in raw.items() if v is not None and v != ""}
    event_id = str(data["event_id"]) if "event_id" in data else None
    for name, reason in (("value", "negative_spend"), ("count", "negative_count")):
        if name in data:
            try:
                number = float(data[name])
            except (TypeError, ValueError):
                continue  # pydantic names the bad type below
            if math.isnan(number) or number < 0:
                what = "spend" if name == "value" else "count"
                return RowIssue(
                    row=row,
                    event_id=event_id,
                    status="rejected",
                    reason=reason,  # type: ignore[arg-type]
                    message=f"{what} {data[name]!r} is negative or NaN; send non-negative amounts only",
                )
    for name in ("placement", "segment"):
        if len(str(data.get(name, ""))) > MAX_LABEL:
            return RowIssue(
                row=row,
                event_id=event_id,
                status="rejected",
                reason="invalid",
                message=f"{name} is longer than {MAX_LABEL} characters; shorten or map it to an id",
            )
    try:
        return FeedbackEvent.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()]
        return RowIssue(row=row, event_id=event_id, status="rejected", reason="invalid", message="; ".join(parts))


def detect_format(path: Path) -> Format:
    """Format from the file name's suffix; an unknown suffix is an :class:`InputError`."""
    fmt = _SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {path}: suffix {path.suffix!r} is not one of "
            f"{sorted(_SUFFIX_FORMAT)}; rename the file or pass format='csv'|'jsonl'|'parquet'",
            field="path",
        )
    return fmt


def _check_columns(path: Path, columns: Iterable[str]) -> None:
    cols = [c for c in columns if c is not None]
    unknown = sorted(set(cols) - set(COLUMNS))
    missing = [c for c in REQUIRED if c not in cols]
    if unknown or missing:
        raise InputError(
            f"{path}: columns must be {', '.join(COLUMNS)} (first four required); "
            f"unknown {unknown or 'none'}, missing {missing or 'none'}",
            field="columns",
        )


def iter_rows(
    path: Path, fmt: Format | None = None, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[tuple[int, Any]]:
    """Stream ``(row number, raw row)`` from a file without reading it whole.

    A JSONL line that is not a JSON object yields a :class:`RowIssue` in place
    of the row, so the caller reports it and goes on.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"feedback file {path} does not exist or is not a file", field="path")
    fmt = fmt or detect_format(path)
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            _check_columns(path, reader.fieldnames or [])
            for i, rec in enumerate(reader, start=1):
                if None in rec:  # more cells than header columns
                    yield i, RowIssue(row=i, status="rejected", reason="invalid", message="more cells than columns")
                else:
                    yield i, rec
    elif fmt == "jsonl":
        with path.open(encoding="utf-8") as f:
            yield from _jsonl_rows(f)
    elif fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise InputError(
                f"reading {path} needs pyarrow: pip install 'adloom[report]' (or convert the file to CSV/JSONL)",
                field="path",
            ) from exc
        pf = pq.ParquetFile(path)
        _check_columns(path, pf.schema_arrow.names)
        i = 0
        for batch in pf.iter_batches(batch_size=chunk_size):
            for rec in batch.to_pylist():
                i += 1
                yield i, rec
    else:
        raise InputError(f"unknown feedback format {fmt!r}; use csv, jsonl or parquet", field="format")


def _jsonl_rows(f: IO[str]) -> Iterator[tuple[int, Any]]:
    for i, line in enumerate(f, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            yield i, RowIssue(row=i, status="rejected", reason="invalid", message=f"not JSON: {exc.msg}")
            continue
        if not isinstance(rec, dict):
            yield i, RowIssue(row=i, status="rejected", reason="invalid", message="a line must be a JSON object")
            continue
        if unknown := sorted(set(rec) - set(COLUMNS)):
            msg = f"unknown fields {unknown}; allowed: {', '.join(COLUMNS)}"
            yield (
                i,
                RowIssue(row=i, event_id=str(rec.get("event_id")), status="rejected", reason="invalid", message=msg),
            )
            continue
        yield i, rec


class _Collector:
    """Accumulates a report with bounded memory, optionally streaming every issue to a file."""

    def __init__(self, max_issues: int, sink: IO[str] | None) -> None:
        self.report = IngestReport()
        self.max_issues = max_issues
        self.sink = sink
        self._reasons: Counter[str] = Counter()

    def issue(self, item: RowIssue) -> None:
        if item.status == "held":
            self.report.held += 1
        else:
            self.report.rejected += 1
        self._reasons[item.reason] += 1
        if len(self.report.issues) < self.max_issues:
            self.report.issues.append(item)
        else:
            self.report.issues_dropped += 1
        if self.sink is not None:
            self.sink.write(item.model_dump_json() + "\n")

    def finish(self) -> IngestReport:
        self.report.reasons = dict(sorted(self._reasons.items()))
        return self.report


def _flush(store: Store, chunk: list[tuple[int, FeedbackEvent]], col: _Collector, hold: bool) -> None:
    decisions = store.ingest_feedback([ev for _, ev in chunk], hold=hold)
    col.report.chunks += 1
    for k, d in enumerate(decisions):
        if d.status == "released":
            col.report.released += 1
            continue
        row = chunk[k][0]
        if d.status == "counted":
            col.report.counted += 1
        elif d.status == "duplicate":
            col.report.duplicates += 1
        elif d.status == "unknown_creative":
            col.issue(
                RowIssue(row=row, event_id=d.event_id, status="rejected", reason="unknown_creative", message=d.reason)
            )
        else:  # held or rejected by the funnel
            col.issue(RowIssue(row=row, event_id=d.event_id, status=d.status, reason="funnel", message=d.reason))  # type: ignore[arg-type]


def ingest_events(
    store: Store,
    events: Iterable[FeedbackEvent | Mapping[str, Any] | tuple[int, Any]],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    hold: bool = True,
    max_issues: int = DEFAULT_MAX_ISSUES,
    issues_out: Path | None = None,
    on_chunk: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest events (objects, raw mappings, or ``(row, raw)`` pairs) in chunks; see the module rules.

    ``on_chunk`` is called with the running report after every chunk (for a
    progress bar). Storage failures raise :class:`~adloom.core.errors.StorageError`;
    chunks committed before the failure stay committed, and re-running the
    same import is safe because events are idempotent by id.
    """
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, got {chunk_size}", field="chunk_size")
    sink = issues_out.open("w", encoding="utf-8") if issues_out is not None else None
    try:
        col = _Collector(max_issues, sink)
        chunk: list[tuple[int, FeedbackEvent]] = []
        for n, item in enumerate(events, start=1):
            row, raw = item if isinstance(item, tuple) else (n, item)
            col.report.rows += 1
            parsed = raw if isinstance(raw, FeedbackEvent | RowIssue) else parse_event(raw, row)
            if isinstance(parsed, RowIssue):
                col.issue(parsed)
                continue
            chunk.append((row, parsed))
            if len(chunk) >= chunk_size:
                _flush(store, chunk, col, hold)
                chunk = []
                if on_chunk is not None:
                    on_chunk(col.report)
        if chunk:
            _flush(store, chunk, col, hold)
            if on_chunk is not None:
                on_chunk(col.report)
        return col.finish()
    finally:
        if sink is not None:
            sink.close()


def import_feedback(
    store: Store,
    path: Path | str,
    *,
    fmt: Format | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    hold: bool = True,
    max_issues: int = DEFAULT_MAX_ISSUES,
    issues_out: Path | None = None,
    on_chunk: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Stream a CSV, JSONL or Parquet file of events into the store with per-row issues.

    File-level problems (missing file, unknown suffix or column) raise
    :class:`~adloom.core.errors.InputError` before anything is written.
    """
    rows = iter_rows(Path(path), fmt, chunk_size=chunk_size)
    return ingest_events(
        store,
        rows,
        chunk_size=chunk_size,
        hold=hold,
        max_issues=max_issues,
        issues_out=issues_out,
        on_chunk=on_chunk,
    )


__all__ = [
    "COLUMNS",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_ISSUES",
    "FeedbackKind",
    "IngestReport",
    "RowIssue",
    "detect_format",
    "import_feedback",
    "ingest_events",
    "iter_rows",
    "parse_event",
]
