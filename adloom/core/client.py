"""A typed HTTP client of the adloom batch API, shared by the ``adloom api`` commands and the console's
HTTP mode (``ui`` may import only ``core``, hence here).

Errors come back as :class:`ApiError` carrying the API's error body (type, code, message, param) and the
status; a server that cannot be reached is a :class:`~adloom.core.errors.BackendUnavailableError`. The API
key is sent as ``Authorization: Bearer`` and never appears in an error message.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from adloom.core.errors import AdloomError, BackendUnavailableError, ConfigError
from adloom.core.redact import redact
from adloom.core.types import Batch, BatchItem, Brief, Creative, Page, Script, Upload

#: Environment variables the ``adloom api`` commands read.
URL_ENV, KEY_ENV = "ADLOOM_API_URL", "ADLOOM_API_KEY"


class ApiError(AdloomError):
    """The API answered with an error: ``status``, and the body's ``type``, ``code``, ``message``, ``param``."""

    def __init__(self, status: int, type_: str, code: str, message: str, param: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (param: {param})" if param else ""))
        self.status, self.type, self.code, self.message, self.param = status, type_, code, message, param


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
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"cannot reach the adloom API at {self.base_url} ({type(exc).__name__}: "
                f"{redact(str(exc), [self._key])}); check {URL_ENV} and that `adloom serve` is running"
            ) from None
        if response.status_code >= 400:
            raise _error(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    @staticmethod
    def _idem(key: str | None) -> dict[str, str]:
        return {"Idempotency-Key": key or str(uuid.uuid4())}

    # -- routes -------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", "/v1/health")
        return data

    def openapi(self) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", "/openapi.json")
        return data

    def create_brief(self, brief: Brief | Mapping[str, Any], *, idempotency_key: str | None = None) -> Brief:
        body = brief.model_dump(mode="json") if isinstance(brief, Brief) else dict(brief)
        return Brief.model_validate(self._json("POST", "/v1/briefs", json=body, headers=self._idem(idempotency_key)))

    def get_brief(self, brief_id: str) -> Brief:
        return Brief.model_validate(self._json("GET", f"/v1/briefs/{brief_id}"))

    def list_briefs(self, *, limit: int = 20, after: str | None = None) -> Page[Brief]:
        return Page[Brief].model_validate(self._json("GET", "/v1/briefs", params=_page(limit, after)))

    def upload(self, path: Path, *, idempotency_key: str | None = None) -> Upload:
        with Path(path).open("rb") as f:
            data = self._json(
                "POST", "/v1/uploads", files={"file": (Path(path).name, f)}, headers=self._idem(idempotency_key)
            )
        return Upload.model_validate(data)

    def create_scripts(
        self, brief_id: str, n: int = 3, *, writer: str | None = None, idempotency_key: str | None = None
    ) -> list[Script]:
        body: dict[str, Any] = {"brief_id": brief_id, "n": n}
        if writer:
            body["writer"] = writer
        data = self._json("POST", "/v1/scripts", json=body, headers=self._idem(idempotency_key))
        return [Script.model_validate(x) for x in data["data"]]

    def create_batch(
        self,
        brief_id: str,
        n: int,
        *,
        writer: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Batch:
        body: dict[str, Any] = {"brief_id": brief_id, "n": n}
        if writer:
            body["writer"] = writer
        if metadata:
            body["metadata"] = dict(metadata)
        return Batch.model_validate(self._json("POST", "/v1/batches", json=body, headers=self._idem(idempotency_key)))

    def create_batch_jsonl(self, lines: bytes | Path, *, idempotency_key: str | None = None) -> Batch:
        data = Path(lines).read_bytes() if isinstance(lines, Path) else lines
        headers = {**self._idem(idempotency_key), "Content-Type": "application/jsonl"}
        return Batch.model_validate(self._json("POST", "/v1/batches", content=data, headers=headers))

    def get_batch(self, batch_id: str) -> Batch:
        return Batch.model_validate(self._json("GET", f"/v1/batches/{batch_id}"))

    def list_batches(self, *, limit: int = 20, after: str | None = None) -> Page[Batch]:
        return Page[Batch].model_validate(self._json("GET", "/v1/batches", params=_page(limit, after)))

    def cancel_batch(self, batch_id: str) -> Batch:
        return Batch.model_validate(self._json("POST", f"/v1/batches/{batch_id}/cancel"))

    def list_items(self, batch_id: str, *, limit: int = 20, after: str | None = None) -> Page[BatchItem]:
        data = self._json("GET", f"/v1/batches/{batch_id}/items", params=_page(limit, after))
        return Page[BatchItem].model_validate(data)

    def wait_batch(self, batch_id: str, *, timeout_s: float = 3600.0, poll_s: float = 2.0) -> Batch:
        """Poll until the batch reaches a final state; a TimeoutError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            batch = self.get_batch(batch_id)
            if batch.status.terminal:
                return batch
            if time.monotonic() >= deadline:
                raise TimeoutError(f"batch {batch_id} is still {batch.status.value} after {timeout_s:.0f} s")
            time.sleep(poll_s)

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]:
        yield from self._lines(f"/v1/batches/{batch_id}/results")

    def errors(self, batch_id: str) -> Iterator[dict[str, Any]]:
        yield from self._lines(f"/v1/batches/{batch_id}/errors")

    def _lines(self, path: str) -> Iterator[dict[str, Any]]:
        for line in self._send("GET", path).text.splitlines():
            if line.strip():
                yield json.loads(line)

    def get_creative(self, creative_id: str) -> Creative:
        return Creative.model_validate(self._json("GET", f"/v1/creatives/{creative_id}"))

    def list_creatives(
        self, *, brief_id: str | None = None, status: str | None = None, limit: int = 20, after: str | None = None
    ) -> Page[Creative]:
        params = _page(limit, after) | {k: v for k, v in (("brief_id", brief_id), ("status", status)) if v}
        return Page[Creative].model_validate(self._json("GET", "/v1/creatives", params=params))

    def download(self, creative_id: str, kind: str, dest: Path) -> Path:
        """Stream a creative's video, cover, subtitles or manifest to ``dest``."""
        try:
            with self._http.stream("GET", f"/v1/creatives/{creative_id}/{kind}") as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error(response)
                with Path(dest).open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(f"download from {self.base_url} failed: {type(exc).__name__}") from None
        return Path(dest)

    def search_library(self, q: str, *, limit: int = 8, **filters: str) -> list[dict[str, Any]]:
        data = self._json("GET", "/v1/library/search", params={"q": q, "limit": limit, **filters})
        return list(data["data"])

    def post_feedback(self, events: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None) -> Any:
        return self._json("POST", "/v1/feedback", json=list(events), headers=self._idem(idempotency_key))

    def score(
        self, *, creative_ids: Sequence[str] | None = None, script_ids: Sequence[str] | None = None
    ) -> dict[str, Any]:
        body = {"creative_ids": creative_ids} if creative_ids is not None else {"script_ids": script_ids}
        data: dict[str, Any] = self._json("POST", "/v1/ranking/score", json=body)
        return data

    def create_report(self, campaign_id: str, fmt: str = "html") -> dict[str, Any]:
        data: dict[str, Any] = self._json("POST", "/v1/reports", json={"campaign_id": campaign_id, "format": fmt})
        return data

    def get_report(self, report_id: str) -> bytes:
        return self._send("GET", f"/v1/reports/{report_id}").content

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


def _page(limit: int, after: str | None) -> dict[str, Any]:
    return {"limit": limit, **({"after": after} if after else {})}


def _error(response: httpx.Response) -> ApiError:
    try:
        err = response.json()["error"]
        return ApiError(response.status_code, err["type"], err["code"], err["message"], err.get("param"))
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "api_error", "http_error", response.text[:300] or response.reason_phrase)
