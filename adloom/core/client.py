"""A typed HTTP client of the adloom batch API, shared by the ``adloom api`` commands and the console's
HTTP mode (``ui`` may import only ``core``, hence here). Every route of ``docs/openapi.json`` has a method
(tests/serving/api/test_api_cli_parity.py holds the table and fails on a route without one).

Errors come back as :class:`ApiError` carrying the API's error body (type, code, message, param) and the
status; a server that cannot be reached is a :class:`~adloom.core.errors.BackendUnavailableError`. The API
key is sent as ``Authorization: Bearer`` and never appears in an error message.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from adloom.core.errors import AdloomError, BackendUnavailableError, ConfigError, InputError
from adloom.core.redact import MASK, redact
from adloom.core.types import (
    AgentRecord,
    Batch,
    BatchItem,
    Brief,
    Conversation,
    ConversationMessage,
    Creative,
    Lead,
    Page,
    Script,
    Upload,
    WebhookDelivery,
    WebhookEndpoint,
)

#: Environment variables the ``adloom api`` commands read.
URL_ENV, KEY_ENV = "ADLOOM_API_URL", "ADLOOM_API_KEY"
#: A creative's downloadable files (``GET /v1/creatives/{id}/{kind}``).
CreativeFile = Literal["video", "cover", "subtitles", "manifest"]
#: A batch's two output files, joined to the input on ``custom_id``.
BatchFile = Literal["results", "errors"]
#: Feedback bodies by file suffix (``POST /v1/feedback``).
FEEDBACK_TYPES = {
    ".csv": "text/csv",
    ".jsonl": "application/jsonl",
    ".ndjson": "application/jsonl",
    ".json": "application/json",
}

T = TypeVar("T")


class ApiError(AdloomError):
    """The API answered with an error: ``status``, and the body's ``type``, ``code``, ``message``, ``param``;
    ``retry_after_s`` from ``Retry-After`` on a 429 or 503."""

    def __init__(
        self,
        status: int,
        type_: str,
        code: str,
        message: str,
        param: str | None = None,
        *,
        retry_after_s: float | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        text = f"{status} {code}: {message}" + (f" (param: {param})" if param else "")
        if retry_after_s is not None:
            text += f"; retry after {retry_after_s:.0f} s"
        super().__init__(text)
        self.status, self.type, self.code, self.message, self.param = status, type_, code, message, param
        self.retry_after_s = retry_after_s
        #: structured problems the API sent along (e.g. the compliance findings of a refused script edit)
        self.details: list[dict[str, Any]] = list(details or [])


class ScriptsCreated(BaseModel):
    """What ``POST /v1/scripts`` answers: the scripts written now, claims of the brief they leave out (and
    why), and variants dropped because they failed review."""

    data: list[Script]
    brief_findings: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)


def iter_pages(
    list_fn: Callable[..., Page[T]], /, *, limit: int = 100, after: str | None = None, **filters: Any
) -> Iterator[T]:
    """Every object of a list, page after page (``after`` = the last page's ``last_id``) while ``has_more``."""
    while True:
        page = list_fn(limit=limit, after=after, **filters)
        yield from page.data
        if not page.has_more or not page.last_id:
            return
        after = page.last_id


class AdloomClient:
    """``AdloomClient(base_url, key)``; use as a context manager or call :meth:`close`."""

    def __init__(
        self, base_url: str, key: str | None, *, timeout_s: float = 60.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._key = key or ""
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport, follow_redirects=False
        )

    @classmethod
    def from_env(cls, *, timeout_s: float = 60.0) -> AdloomClient:
        """A client for ``$ADLOOM_API_URL`` with ``$ADLOOM_API_KEY``."""
        url = os.environ.get(URL_ENV)
        if not url:
            raise ConfigError(f"set {URL_ENV} to the API's address, e.g. http://127.0.0.1:8000")
        return cls(url, os.environ.get(KEY_ENV), timeout_s=timeout_s)

    def __enter__(self) -> AdloomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing -----------------------------------------------------------------------------------------
    def _unreachable(self, exc: httpx.HTTPError, doing: str = "reach") -> BackendUnavailableError:
        return BackendUnavailableError(
            f"cannot {doing} the adloom API at {self.base_url} ({type(exc).__name__}: "
            f"{redact(str(exc), [self._key])}); check {URL_ENV} and that `adloom serve` is running"
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.status_code >= 400:
            raise _error(response, self._key)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                response.status_code,
                "api_error",
                "invalid_response",
                f"{method} {path} answered {response.headers.get('content-type') or 'something'} that is not JSON; "
                f"check that {URL_ENV} ({self.base_url}) is the adloom API",
            ) from None

    @contextmanager
    def _stream(self, path: str, headers: Mapping[str, str] | None = None) -> Iterator[httpx.Response]:
        """A streamed GET; an error status raises :class:`ApiError` before any byte reaches the caller."""
        try:
            with self._http.stream("GET", path, headers=headers) as response:
                if response.status_code >= 400 and response.status_code != 416:
                    response.read()
                    raise _error(response, self._key)
                yield response
        except httpx.HTTPError as exc:
            raise self._unreachable(exc, "read from") from None

    @staticmethod
    def _idem(key: str | None) -> dict[str, str]:
        return {"Idempotency-Key": key or str(uuid.uuid4())}

    # -- health -------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", "/v1/health")
        return data

    def metrics(self) -> str:
        """The Prometheus text exposition of ``/metrics``."""
        return self._send("GET", "/metrics").text

    def openapi(self) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", "/openapi.json")
        return data

    # -- briefs, uploads, scripts -------------------------------------------------------------------------
    def create_brief(self, brief: Brief | Mapping[str, Any], *, idempotency_key: str | None = None) -> Brief:
        body = brief.model_dump(mode="json") if isinstance(brief, Brief) else dict(brief)
        return Brief.model_validate(self._json("POST", "/v1/briefs", json=body, headers=self._idem(idempotency_key)))

    def get_brief(self, brief_id: str) -> Brief:
        return Brief.model_validate(self._json("GET", f"/v1/briefs/{_seg(brief_id)}"))

    def list_briefs(self, *, limit: int = 20, after: str | None = None) -> Page[Brief]:
        return Page[Brief].model_validate(self._json("GET", "/v1/briefs", params=_page(limit, after)))

    def upload(self, path: Path, *, idempotency_key: str | None = None) -> Upload:
        with Path(path).open("rb") as f:
            data = self._json(
                "POST", "/v1/uploads", files={"file": (Path(path).name, f)}, headers=self._idem(idempotency_key)
            )
        return Upload.model_validate(data)

    def get_upload(self, upload_id: str) -> Upload:
        return Upload.model_validate(self._json("GET", f"/v1/uploads/{_seg(upload_id)}"))

    def write_scripts(
        self,
        brief_id: str,
        n: int = 3,
        *,
        writer: str | None = None,
        seed: int | None = None,
        idempotency_key: str | None = None,
    ) -> ScriptsCreated:
        """Write ``n`` (1–5) script variants for a stored brief now."""
        body: dict[str, Any] = {"brief_id": brief_id, "n": n}
        if writer:
            body["writer"] = writer
        if seed is not None:
            body["seed"] = seed
        data = self._json("POST", "/v1/scripts", json=body, headers=self._idem(idempotency_key))
        return ScriptsCreated.model_validate(data)

    def create_scripts(
        self, brief_id: str, n: int = 3, *, writer: str | None = None, idempotency_key: str | None = None
    ) -> list[Script]:
        return self.write_scripts(brief_id, n, writer=writer, idempotency_key=idempotency_key).data

    def get_script(self, script_id: str) -> Script:
        return Script.model_validate(self._json("GET", f"/v1/scripts/{_seg(script_id)}"))

    def list_scripts(self, *, brief_id: str | None = None, limit: int = 20, after: str | None = None) -> Page[Script]:
        params = _page(limit, after) | _given(brief_id=brief_id)
        return Page[Script].model_validate(self._json("GET", "/v1/scripts", params=params))

    # -- batches ------------------------------------------------------------------------------------------
    def capabilities(self) -> dict[str, Any]:
        """What this server can do: ``{"video_generation": {"available", "reason", "model", "device"}}``, i.e.
        whether :meth:`create_batch` may ask for ``shots`` other than footage_only and, if not, why."""
        data: dict[str, Any] = self._json("GET", "/v1/capabilities")
        return data

    def create_batch(
        self,
        brief_id: str,
        n: int,
        *,
        writer: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        script_ids: Sequence[str] | None = None,
        aspect: str | None = None,
        height: int | None = None,
        shots: str | None = None,
    ) -> Batch:
        """``n`` creatives for a brief; with ``script_ids``, one per stored script (``n`` must be their count).
        ``shots``: footage_only (the server's default), generate_missing or generate_all (the server's video
        model makes the shots; a server without one answers 400)."""
        body: dict[str, Any] = {"brief_id": brief_id, "n": n}
        if script_ids is not None:
            body["script_ids"] = list(script_ids)
        if aspect is not None:
            body["aspect"] = aspect
        if height is not None:
            body["height"] = height
        if shots is not None:
            body["shots"] = shots
        if writer:
            body["writer"] = writer
        if metadata:
            body["metadata"] = dict(metadata)
        return Batch.model_validate(self._json("POST", "/v1/batches", json=body, headers=self._idem(idempotency_key)))

    def create_batch_jsonl(
        self, lines: bytes | Path, *, writer: str | None = None, idempotency_key: str | None = None
    ) -> Batch:
        """A batch from JSON Lines of RenderRequest objects (a file, or its bytes)."""
        data = Path(lines).read_bytes() if isinstance(lines, Path) else lines
        headers = {**self._idem(idempotency_key), "Content-Type": "application/jsonl"}
        params = _given(writer=writer)
        return Batch.model_validate(self._json("POST", "/v1/batches", content=data, headers=headers, params=params))

    def get_batch(self, batch_id: str) -> Batch:
        return Batch.model_validate(self._json("GET", f"/v1/batches/{_seg(batch_id)}"))

    def list_batches(self, *, limit: int = 20, after: str | None = None) -> Page[Batch]:
        return Page[Batch].model_validate(self._json("GET", "/v1/batches", params=_page(limit, after)))

    def cancel_batch(self, batch_id: str, *, idempotency_key: str | None = None) -> Batch:
        path = f"/v1/batches/{_seg(batch_id)}/cancel"
        return Batch.model_validate(self._json("POST", path, headers=self._idem(idempotency_key)))

    def list_items(
        self, batch_id: str, *, limit: int = 20, after: str | None = None, status: str | None = None
    ) -> Page[BatchItem]:
        params = _page(limit, after) | _given(status=status)
        data = self._json("GET", f"/v1/batches/{_seg(batch_id)}/items", params=params)
        return Page[BatchItem].model_validate(data)

    def wait_batch(
        self,
        batch_id: str,
        *,
        timeout_s: float = 3600.0,
        poll_s: float = 2.0,
        on_poll: Callable[[Batch], None] | None = None,
    ) -> Batch:
        """Poll until the batch reaches a final state (``on_poll`` sees each state); a TimeoutError after
        ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            batch = self.get_batch(batch_id)
            if on_poll is not None:
                on_poll(batch)
            if batch.status.terminal:
                return batch
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"batch {batch_id} is still {batch.status.value} after {timeout_s:.0f} s; wait again, or "
                    "raise --timeout"
                )
            time.sleep(poll_s)

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """The results file, one dict per succeeded item: {id, custom_id, creative_id, response}."""
        yield from self._lines(batch_id, "results")

    def errors(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """The errors file, one dict per failed or cancelled item: {id, custom_id, error: {code, message}}."""
        yield from self._lines(batch_id, "errors")

    def _lines(self, batch_id: str, which: BatchFile) -> Iterator[dict[str, Any]]:
        with self._stream(f"/v1/batches/{_seg(batch_id)}/{which}") as response:
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)

    def copy_batch_file(self, batch_id: str, which: BatchFile, out: BinaryIO) -> int:
        """Stream the batch's results or errors file (JSONL) into ``out``; returns the lines written."""
        lines = 0
        with self._stream(f"/v1/batches/{_seg(batch_id)}/{which}") as response:
            for chunk in response.iter_bytes():
                out.write(chunk)
                lines += chunk.count(b"\n")
        return lines

    # -- creatives ----------------------------------------------------------------------------------------
    def get_creative(self, creative_id: str) -> Creative:
        return Creative.model_validate(self._json("GET", f"/v1/creatives/{_seg(creative_id)}"))

    def list_creatives(
        self, *, brief_id: str | None = None, status: str | None = None, limit: int = 20, after: str | None = None
    ) -> Page[Creative]:
        params = _page(limit, after) | _given(brief_id=brief_id, status=status)
        return Page[Creative].model_validate(self._json("GET", "/v1/creatives", params=params))

    def download(self, creative_id: str, kind: CreativeFile, dest: Path, *, resume: bool = True) -> Path:
        """Stream a creative's video, cover, subtitles or manifest to ``dest``. When ``dest`` already holds
        the start of the file (an interrupted download), only the rest is fetched (``Range``)."""
        try:
            return self._download(f"/v1/creatives/{_seg(creative_id)}/{_seg(kind)}", Path(dest), resume=resume)
        except BackendUnavailableError as exc:
            raise BackendUnavailableError(
                f"{exc}; what arrived is kept in {dest}: run the same download again to fetch the rest"
            ) from None

    def _download(self, path: str, dest: Path, *, resume: bool) -> Path:
        have = dest.stat().st_size if resume and dest.is_file() else 0
        with self._stream(path, headers={"Range": f"bytes={have}-"} if have else None) as response:
            if response.status_code == 416:  # nothing after byte `have`: complete already, or another file
                if have and _total_size(response.headers.get("content-range")) == have:
                    return dest
                if not have:
                    response.read()
                    raise _error(response, self._key)
                start = -1
            else:
                start = _range_start(response.headers.get("content-range")) if response.status_code == 206 else 0
                if start in (0, have):
                    with dest.open("ab" if start else "wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
                        return dest
        # the local part does not match the server's file: fetch all of it
        return self._download(path, dest, resume=False)

    # -- review and export (console) ----------------------------------------------------------------------
    def review_creative(
        self, creative_id: str, decision: Literal["approved", "rejected"], reason: str = ""
    ) -> Creative:
        """Approve or reject a rendered creative (a later review replaces an earlier one)."""
        body = {"decision": decision, "reason": reason}
        return Creative.model_validate(self._json("POST", f"/v1/creatives/{_seg(creative_id)}/review", json=body))

    def list_reviewed(
        self, review: Literal["approved", "rejected", "none"], *, brief_id: str | None = None, limit: int = 100
    ) -> Page[Creative]:
        """Creatives with this review decision (``none``: not reviewed yet), newest first."""
        params = _page(limit, None) | _given(review=review, brief_id=brief_id)
        return Page[Creative].model_validate(self._json("GET", "/v1/creatives", params=params))

    def create_export(
        self,
        creative_ids: Sequence[str] | None = None,
        *,
        batch_id: str | None = None,
        review: Literal["approved", "any"] = "approved",
    ) -> dict[str, Any]:
        """Build a ZIP of the creatives (only approved ones unless ``review="any"``); the answer names it (``id``,
        ``url``), counts it, lists the manifest rows and the creatives ``skipped`` with why."""
        body: dict[str, Any] = {"review": review}
        body |= {"batch_id": batch_id} if batch_id is not None else {"creative_ids": list(creative_ids or [])}
        data: dict[str, Any] = self._json("POST", "/v1/exports", json=body)
        return data

    def download_export(self, export_id: str, dest: Path) -> Path:
        """Stream an export's ZIP to ``dest``."""
        return self._download(f"/v1/exports/{_seg(export_id)}", Path(dest), resume=False)

    def export_creatives(self, ids: Sequence[str], dest: Path) -> Path:
        """The approved creatives among ``ids`` as one ZIP at ``dest`` (videos, covers, subtitles, manifest.csv)."""
        return self.download_export(str(self.create_export(ids)["id"]), dest)

    # -- library, feedback, ranking, reports --------------------------------------------------------------
    def search_library(self, q: str, *, limit: int = 8, **filters: str | None) -> list[dict[str, Any]]:
        """Past creatives like ``q``; filters: industry, platform, language, aspect."""
        data = self._json("GET", "/v1/library/search", params={"q": q, "limit": limit} | _given(**filters))
        return list(data["data"])

    def import_library(self, path: Path, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Import a CSV or JSONL of past creatives; the answer counts imported and skipped rows, with each
        bad row's problem."""
        with Path(path).open("rb") as f:
            data: dict[str, Any] = self._json(
                "POST", "/v1/library/import", files={"file": (Path(path).name, f)}, headers=self._idem(idempotency_key)
            )
        return data

    def post_feedback(self, events: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None) -> Any:
        return self._json("POST", "/v1/feedback", json=list(events), headers=self._idem(idempotency_key))

    def import_feedback(self, path: Path, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Send a feedback file (CSV, JSONL, or a JSON list of events), typed by its suffix."""
        path = Path(path)
        ctype = FEEDBACK_TYPES.get(path.suffix.lower())
        if ctype is None:
            raise InputError(
                f"{path.name}: name the file with one of {', '.join(sorted(FEEDBACK_TYPES))} so its format is known",
                field="file",
            )
        headers = {**self._idem(idempotency_key), "Content-Type": ctype}
        data: dict[str, Any] = self._json("POST", "/v1/feedback", content=path.read_bytes(), headers=headers)
        return data

    def score(
        self,
        *,
        creative_ids: Sequence[str] | None = None,
        script_ids: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = (
            {"creative_ids": list(creative_ids)} if creative_ids is not None else {"script_ids": script_ids}
        )
        if seed is not None:
            body["seed"] = seed
        data: dict[str, Any] = self._json("POST", "/v1/ranking/score", json=body, headers=self._idem(None))
        return data

    def create_report(
        self, campaign_id: str, fmt: str = "html", *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        body = {"campaign_id": campaign_id, "format": fmt}
        data: dict[str, Any] = self._json("POST", "/v1/reports", json=body, headers=self._idem(idempotency_key))
        return data

    def get_report(self, report_id: str) -> bytes:
        return self._send("GET", f"/v1/reports/{_seg(report_id)}").content

    def download_report(self, report_id: str, dest: Path) -> Path:
        """Stream a report file (HTML, JSON or PDF) to ``dest``."""
        return self._download(f"/v1/reports/{_seg(report_id)}", Path(dest), resume=False)

    # -- webhooks -----------------------------------------------------------------------------------------
    def create_webhook(
        self, url: str, events: Sequence[str] | None = None, *, idempotency_key: str | None = None
    ) -> tuple[WebhookEndpoint, str]:
        """Register ``url`` for ``events`` (default: all); returns the endpoint and its signing secret, which
        the API shows this once."""
        body: dict[str, Any] = {"url": url} | ({"events": list(events)} if events else {})
        data = dict(self._json("POST", "/v1/webhook_endpoints", json=body, headers=self._idem(idempotency_key)))
        secret = str(data.pop("secret"))
        return WebhookEndpoint.model_validate(data), secret

    def list_webhooks(self, *, limit: int = 20, after: str | None = None) -> Page[WebhookEndpoint]:
        data = self._json("GET", "/v1/webhook_endpoints", params=_page(limit, after))
        return Page[WebhookEndpoint].model_validate(data)

    def get_webhook(self, endpoint_id: str) -> WebhookEndpoint:
        return WebhookEndpoint.model_validate(self._json("GET", f"/v1/webhook_endpoints/{_seg(endpoint_id)}"))

    def delete_webhook(self, endpoint_id: str) -> WebhookEndpoint:
        return WebhookEndpoint.model_validate(self._json("DELETE", f"/v1/webhook_endpoints/{_seg(endpoint_id)}"))

    def list_deliveries(
        self, endpoint_id: str, *, limit: int = 20, after: str | None = None, status: str | None = None
    ) -> Page[WebhookDelivery]:
        params = _page(limit, after) | _given(status=status)
        data = self._json("GET", f"/v1/webhook_endpoints/{_seg(endpoint_id)}/deliveries", params=params)
        return Page[WebhookDelivery].model_validate(data)

    # -- live rooms (answers as dicts: their models live in the serving layer) ----------------------------
    def define_room(self, room: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Define a live room (the room schema as JSON: name, products, industry, outputs …); not started yet."""
        data: dict[str, Any] = self._json(
            "POST", "/v1/live/rooms", json=dict(room), headers=self._idem(idempotency_key)
        )
        return data

    def list_rooms(self, *, limit: int = 20, after: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", "/v1/live/rooms", params=_page(limit, after))
        return data

    def get_room(self, room_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", f"/v1/live/rooms/{room_id}")
        return data

    def delete_room(self, room_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json("DELETE", f"/v1/live/rooms/{room_id}")
        return data

    def start_room(self, room_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = self._json(
            "POST", f"/v1/live/rooms/{room_id}/start", headers=self._idem(idempotency_key)
        )
        return data

    def stop_room(self, room_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json("POST", f"/v1/live/rooms/{room_id}/stop")
        return data

    def room_comment(self, room_id: str, viewer: str, text: str) -> dict[str, Any]:
        body = {"viewer": viewer, "text": text}
        data: dict[str, Any] = self._json("POST", f"/v1/live/rooms/{room_id}/comments", json=body)
        return data

    def room_say(self, room_id: str, text: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json("POST", f"/v1/live/rooms/{room_id}/say", json={"text": text})
        return data

    # -- reports and library (console) --------------------------------------------------------------------
    def list_campaigns(self) -> list[dict[str, Any]]:
        """The tenant's campaigns: id, creatives, creatives_with_feedback, impressions, first_day, last_day."""
        return list(self._json("GET", "/v1/campaigns")["data"])

    def campaign_metrics(
        self,
        campaign_id: str,
        *,
        rank_by: str = "ctcvr",
        top_n: int = 3,
        min_impressions: int = 100,
        since: str | None = None,
        until: str | None = None,
    ) -> dict[str, Any]:
        """One campaign's report data as JSON (the numbers the HTML/PDF report shows)."""
        params = {"rank_by": rank_by, "top_n": top_n, "min_impressions": min_impressions} | _given(
            since=since, until=until
        )
        data: dict[str, Any] = self._json("GET", f"/v1/campaigns/{_seg(campaign_id)}/metrics", params=params)
        return data

    def list_library(
        self,
        *,
        limit: int = 20,
        offset: int = 0,
        min_impressions: int = 0,
        sort: str = "impressions",
        **filters: str | None,
    ) -> dict[str, Any]:
        """Browse the library without a query; filters: industry, platform, language, aspect, source (sample,
        import, generated). The answer holds
        ``data``, ``total`` and ``has_more``."""
        params = {"limit": limit, "offset": offset, "min_impressions": min_impressions, "sort": sort}
        data: dict[str, Any] = self._json("GET", "/v1/library/items", params=params | _given(**filters))
        return data

    def get_library_item(self, item_id: str) -> dict[str, Any]:
        """One library item with its script, performance counts and rates."""
        data: dict[str, Any] = self._json("GET", f"/v1/library/items/{_seg(item_id)}")
        return data

    def creative_file(self, creative_id: str, kind: CreativeFile) -> bytes:
        """A creative's video, cover, subtitles or manifest in memory (for a page that shows it)."""
        return self._send("GET", f"/v1/creatives/{_seg(creative_id)}/{_seg(kind)}").content

    # -- scripts editing (console) ------------------------------------------------------------------------
    def structure_script(
        self,
        brief_id: str,
        *,
        exemplar_id: str | None = None,
        text: str | None = None,
        srt: str | None = None,
        idempotency_key: str | None = None,
    ) -> Script:
        """A stored script of the brief, shot by shot, from a library item, pasted copy or an SRT's text (one)."""
        body = {"brief_id": brief_id} | _given(exemplar_id=exemplar_id, text=text, srt=srt)
        data = self._json("POST", "/v1/scripts/structure", json=body, headers=self._idem(idempotency_key))
        return Script.model_validate(data)

    def write_variants(
        self, brief_id: str, exemplar_id: str, n: int = 3, *, seed: int = 0, writer: str | None = None
    ) -> ScriptsCreated:
        """``n`` (1–5) variants led by the library item the advertiser picked."""
        body: dict[str, Any] = {"brief_id": brief_id, "n": n, "exemplar_id": exemplar_id, "seed": seed}
        if writer:
            body["writer"] = writer
        return ScriptsCreated.model_validate(self._json("POST", "/v1/scripts", json=body, headers=self._idem(None)))

    def check_compliance(self, text: str, *, language: str, industry: str) -> dict[str, Any]:
        """``{findings: [{term, rule, reason, suggestion, start, end, severity}], fixed_text}`` for one line."""
        body = {"text": text, "language": language, "industry": industry}
        data: dict[str, Any] = self._json("POST", "/v1/compliance/check", json=body)
        return data

    def edit_script(self, script_id: str, shots: Sequence[Mapping[str, Any]]) -> Script:
        """Store edited shots (``{index, narration?, caption?, visual?}``); a line that breaks a rule is an
        :class:`ApiError` 422 whose ``details`` are the findings, and nothing is stored."""
        data = self._json("PATCH", f"/v1/scripts/{_seg(script_id)}", json={"shots": [dict(s) for s in shots]})
        return Script.model_validate(data)

    # -- live console ---------------------------------------------------------------------------------------
    def live_avatars(self) -> list[dict[str, Any]]:
        """Presenter looks (rig:<look>) and this tenant's photo avatars (avatar:<id>), with thumbnail URLs."""
        return list(self._json("GET", "/v1/live/avatars")["data"])

    def live_avatar_thumbnail(self, avatar_id: str) -> bytes:
        return self._send("GET", f"/v1/live/avatars/{_seg(avatar_id)}/thumbnail.png").content

    def create_live_avatar(
        self, image: bytes, filename: str, *, subject: str, granted_by: str, statement: str
    ) -> dict[str, Any]:
        """A photo avatar from a portrait, with the pictured person's consent (every field required)."""
        form = {"subject": subject, "granted_by": granted_by, "statement": statement}
        data: dict[str, Any] = self._json("POST", "/v1/live/avatars", files={"image": (filename, image)}, data=form)
        return data

    def live_voices(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/v1/live/voices")["data"])

    def live_voice_preview(self, voice_id: str, lang: str = "zh") -> bytes:
        """A WAV of the voice saying a sample sentence."""
        return self._send("GET", f"/v1/live/voices/{_seg(voice_id)}/preview", params={"lang": lang}).content

    def create_live_knowledge(self, data: bytes, filename: str, *, language: str = "zh") -> dict[str, Any]:
        """An FAQ file (txt/md/csv/yaml/json, any common encoding) read into Q/A pairs and knowledge-base lines."""
        files = {"file": (filename, data)}
        out: dict[str, Any] = self._json("POST", "/v1/live/knowledge", files=files, data={"language": language})
        return out

    def get_live_knowledge(self, kb_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", f"/v1/live/knowledge/{_seg(kb_id)}")
        return data

    def live_script(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The live script for ``{name, language, industry, products}`` as segments with compliance findings."""
        data: dict[str, Any] = self._json("POST", "/v1/live/scripts", json=dict(body))
        return data

    def check_live_script(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``{language, industry, segments: [{id, text}]}`` checked: findings and the fixed line per segment."""
        data: dict[str, Any] = self._json("POST", "/v1/live/scripts/check", json=dict(body))
        return data

    def preview_room(self, room_id: str) -> dict[str, Any]:
        """Render ~10 s of the room to an MP4 (fetch it with :meth:`room_preview_video`)."""
        data: dict[str, Any] = self._json("POST", f"/v1/live/rooms/{_seg(room_id)}/preview")
        return data

    def room_preview_video(self, room_id: str) -> bytes:
        return self._send("GET", f"/v1/live/rooms/{_seg(room_id)}/preview.mp4").content

    def room_hls_file(self, room_id: str, name: str) -> bytes:
        return self._send("GET", f"/v1/live/rooms/{_seg(room_id)}/hls/{_seg(name)}").content

    def room_snapshot(self, room_id: str) -> bytes:
        """The newest frame of the room's preview stream (JPEG)."""
        return self._send("GET", f"/v1/live/rooms/{_seg(room_id)}/snapshot.jpg").content

    def room_events(self, room_id: str, *, after: int = 0) -> dict[str, Any]:
        """Comments, answers and says after ``after`` (a seq), with the room's counters."""
        data: dict[str, Any] = self._json("GET", f"/v1/live/rooms/{_seg(room_id)}/events", params={"after": after})
        return data

    # -- lead-capture agents, conversations, leads --------------------------------------------------------
    def put_agent(self, agent_id: str, profile: Mapping[str, Any]) -> AgentRecord:
        """Create or replace agent ``agent_id`` (the profile: the same schema as an agent YAML file)."""
        data = self._json("PUT", f"/v1/agents/{_seg(agent_id)}", json=dict(profile))
        return AgentRecord.model_validate(data)

    def get_agent(self, agent_id: str) -> AgentRecord:
        return AgentRecord.model_validate(self._json("GET", f"/v1/agents/{_seg(agent_id)}"))

    def list_agents(self, *, limit: int = 20, after: str | None = None) -> Page[AgentRecord]:
        return Page[AgentRecord].model_validate(self._json("GET", "/v1/agents", params=_page(limit, after)))

    def delete_agent(self, agent_id: str) -> AgentRecord:
        return AgentRecord.model_validate(self._json("DELETE", f"/v1/agents/{_seg(agent_id)}"))

    def agent_message(
        self,
        agent_id: str,
        user_id: str,
        text: str,
        *,
        channel: str | None = None,
        message_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Pass on a user's private message (the platform's webhook): the replies with their ``send_at``."""
        body = {"user_id": user_id, "text": text} | _given(channel=channel, message_id=message_id)
        data: dict[str, Any] = self._json(
            "POST", f"/v1/agents/{_seg(agent_id)}/messages", json=body, headers=self._idem(idempotency_key)
        )
        return data

    def list_conversations(
        self, *, agent_id: str | None = None, status: str | None = None, limit: int = 20, after: str | None = None
    ) -> Page[Conversation]:
        params = _page(limit, after) | _given(agent_id=agent_id, status=status)
        return Page[Conversation].model_validate(self._json("GET", "/v1/conversations", params=params))

    def get_conversation(self, conversation_id: str) -> Conversation:
        return Conversation.model_validate(self._json("GET", f"/v1/conversations/{_seg(conversation_id)}"))

    def conversation_replies(self, conversation_id: str, *, after: str | None = None) -> dict[str, Any]:
        """Replies due after message ``after`` (``data``) and ``next_send_at``; ``after`` acknowledges them."""
        data: dict[str, Any] = self._json(
            "GET", f"/v1/conversations/{_seg(conversation_id)}/replies", params=_given(after=after)
        )
        return data

    def hand_over(self, conversation_id: str) -> Conversation:
        data = self._json("POST", f"/v1/conversations/{_seg(conversation_id)}/handover")
        return Conversation.model_validate(data)

    def human_message(self, conversation_id: str, text: str) -> ConversationMessage:
        """A person's reply in a conversation (which takes it over from the agent)."""
        data = self._json(
            "POST", f"/v1/conversations/{_seg(conversation_id)}/messages", json={"text": text, "role": "human"}
        )
        return ConversationMessage.model_validate(data)

    def list_leads(
        self, *, agent_id: str | None = None, since: str | None = None, limit: int = 20, after: str | None = None
    ) -> Page[Lead]:
        params = _page(limit, after) | _given(agent_id=agent_id, since=since)
        return Page[Lead].model_validate(self._json("GET", "/v1/leads", params=params))

    def export_leads_csv(self, *, agent_id: str | None = None, since: str | None = None) -> bytes:
        """Every lead as CSV (UTF-8 with a BOM, for Excel)."""
        return self._send("GET", "/v1/leads/export.csv", params=_given(agent_id=agent_id, since=since)).content


def _page(limit: int, after: str | None) -> dict[str, Any]:
    return {"limit": limit, **({"after": after} if after else {})}


def _given(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


def _seg(value: str) -> str:
    """One URL path segment: an id with a ``/`` or ``?`` in it must not reach another route."""
    return quote(value, safe="")


def _range_start(content_range: str | None) -> int:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``; -1 when the header is missing or odd."""
    try:
        return int((content_range or "").split(" ", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return -1


def _total_size(content_range: str | None) -> int:
    """The TOTAL of ``Content-Range: bytes …/TOTAL``; -1 when unknown."""
    try:
        return int((content_range or "").rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return -1


def _error(response: httpx.Response, key: str = "") -> ApiError:
    retry = response.headers.get("retry-after")
    retry_after_s = float(retry) if retry and retry.isdigit() else None

    def clean(text: str) -> str:
        return text.replace(key, MASK) if len(key) >= 4 else text

    try:
        err = response.json()["error"]
        return ApiError(
            response.status_code,
            str(err["type"]),
            str(err["code"]),
            clean(str(err["message"])),
            err.get("param"),
            retry_after_s=retry_after_s,
            details=err.get("details") if isinstance(err.get("details"), list) else None,
        )
    except (ValueError, KeyError, TypeError):
        text = clean(response.text[:300]) or response.reason_phrase
        return ApiError(response.status_code, "api_error", "http_error", text, retry_after_s=retry_after_s)
