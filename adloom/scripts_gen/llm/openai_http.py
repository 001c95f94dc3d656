"""Any OpenAI-compatible server over HTTP: llama-cpp-python's or llama.cpp's server, vLLM, Ollama, OpenAI.

Two modes, because servers and models differ:

- ``"completion"`` (default) posts the prompt as is to ``/completions``. It
  suits base models such as gemma-3-270m, whose GGUF has no chat template, and
  our few-shot completion prompts. There is no standard JSON constraint for
  this endpoint, so ``generate_json`` sends the llama.cpp-family extension
  ``grammar`` (GBNF compiled from the schema; needs llama-cpp-python on this
  side) or, without it, ``json_schema`` (llama.cpp's own server).
- ``"chat"`` wraps the prompt as one user message for ``/chat/completions``
  and asks for JSON with the standard ``response_format``: OpenAI's
  ``{"type": "json_schema", ...}`` first, then ``{"type": "json_object",
  "schema": ...}`` (what llama-cpp-python's server accepts), then plain
  ``{"type": "json_object"}``.

A server that rejects a constraint with 400/422 naming the field gets the next
form; the form that worked is remembered for later calls. A server that
ignores a field it does not know returns unconstrained text, which callers
validate anyway.

Transport failures, 5xx and 429 are retried with exponential back-off; other
4xx fail at once with the server's own error text.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Literal

import httpx

from adloom.core.errors import BackendUnavailableError, ConfigError, GenerationError
from adloom.core.redact import mask_url, redact
from adloom.scripts_gen.llm.base import check_generation_args, check_schema, truncate_at_stop

Mode = Literal["chat", "completion"]

#: Constraint forms per mode, tried in order.
_CHAT_FORMATS = ("json_schema", "json_object_schema", "json_object")
_COMPLETION_FORMATS = ("grammar", "json_schema", "none")
#: Words in a 400/422 body that mean "this constraint field was the problem".
_FORMAT_FIELDS = {
    "json_schema": ("response_format", "json_schema"),
    "json_object_schema": ("response_format", "schema"),
    "json_object": ("response_format",),
    "grammar": ("grammar",),
}
_RETRY_STATUS = {429, 500, 502, 503, 504}
_MAX_BACKOFF_S = 30.0


class OpenAIBackend:
    """Client for an OpenAI-compatible HTTP API; thread-safe (one pooled ``httpx.Client``)."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 2,
        *,
        mode: Mode = "completion",
        backoff_s: float = 0.5,
    ) -> None:
        """``base_url`` includes the API prefix, e.g. ``http://127.0.0.1:8080/v1`` (as ``ADLOOM_LLM_URL``).

        ``retries`` is how many times a failed request is tried again (so
        ``retries + 1`` attempts); waits are ``backoff_s * 2**n`` seconds, or
        longer if a 429 carries ``Retry-After`` (each wait at most 30 s).
        """
        if not re.match(r"^https?://[^/\s]+", base_url or ""):
            raise ConfigError(
                f"LLM URL {mask_url(base_url or '')!r} is not an http(s) URL; set ADLOOM_LLM_URL to e.g. http://127.0.0.1:8080/v1"
            )
        if mode not in ("chat", "completion"):
            raise ConfigError(f"OpenAI backend mode {mode!r} is not 'chat' or 'completion'")
        if timeout_s <= 0 or retries < 0 or backoff_s < 0:
            raise ConfigError(
                f"timeout_s={timeout_s}, retries={retries}, backoff_s={backoff_s}: need timeout_s > 0 and the"
                " others >= 0"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.mode: Mode = mode
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._headers = headers
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._format_index = 0  # first constraint form not yet rejected by this server

    @property
    def json_constraint(self) -> str:
        """The JSON constraint form the next ``generate_json`` tries first (the last one the server took)."""
        forms = _CHAT_FORMATS if self.mode == "chat" else _COMPLETION_FORMATS
        return forms[self._format_index]

    # -- transport -----------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    headers=self._headers,
                    timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0)),
                )
            return self._client

    def _post(self, path: str, body: dict[str, Any], reject_words: tuple[str, ...] = ()) -> httpx.Response:
        """POST with retries; returns any answer but 401/403/404 and retryable failures.

        An error answer (400, 422 or 500) whose body names one of
        ``reject_words`` is returned at once, not retried: it is the server
        refusing a constraint field (llama-cpp-python answers a
        ``response_format`` it does not know with a 500 validation error).
        Raises :class:`BackendUnavailableError` when the server cannot be
        reached or keeps failing, :class:`ConfigError` on 401/403/404 (key,
        URL or model name wrong).
        """
        url = f"{self.base_url}{path}"
        shown = mask_url(url)  # for messages: the URL may carry user:password
        client = self._http()
        last_problem = ""
        last_response: httpx.Response | None = None  # the retryable answer, for Retry-After
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._wait_s(attempt, last_response))
                last_response = None
            try:
                response = client.post(url, json=body)
            except httpx.TimeoutException as e:
                last_problem = (
                    f"no answer within {self.timeout_s:g} s ({type(e).__name__}); the server may be overloaded or"
                    " the model slow: raise ADLOOM_LLM_TIMEOUT_S or lower max_tokens"
                )
                continue
            except httpx.TransportError as e:
                last_problem = (
                    f"connection failed ({type(e).__name__}: {e}); check that the server is running and listening"
                    " there and that ADLOOM_LLM_URL is right"
                )
                continue
            if _rejects(response, reject_words):
                return response
            if response.status_code in _RETRY_STATUS:
                last_response = response
                last_problem = f"server answered {response.status_code}: {_error_text(response)}"
                continue
            if response.status_code in (401, 403):
                raise ConfigError(
                    f"LLM server at {shown} refused the request ({response.status_code}: {_error_text(response)});"
                    " check ADLOOM_LLM_API_KEY"
                )
            if response.status_code == 404:
                raise ConfigError(
                    f"LLM server at {shown} answered 404 ({_error_text(response)}); check that ADLOOM_LLM_URL ends"
                    f" with the API prefix (e.g. /v1), that the server offers {path}, and that model"
                    f" {self.model!r} exists there"
                )
            return response
        raise BackendUnavailableError(
            f"LLM server at {shown} failed after {self.retries + 1} attempt(s): {redact(str(last_problem))}"
        )

    def _wait_s(self, attempt: int, response: httpx.Response | None) -> float:
        wait = self.backoff_s * 2 ** (attempt - 1)
        if response is not None and response.status_code == 429:
            try:
                wait = max(wait, float(response.headers.get("retry-after", "")))
            except ValueError:
                pass
        return min(wait, _MAX_BACKOFF_S)

    # -- requests ------------------------------------------------------------------------------

    def _request(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float,
        seed: int,
        stop: list[str] | None,
        constraint: dict[str, Any] | None,
        reject_words: tuple[str, ...] = (),
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
        }
        if stop:
            body["stop"] = list(stop)
        if constraint:
            body.update(constraint)
        if self.mode == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
            return self._post("/chat/completions", body, reject_words)
        body["prompt"] = prompt
        return self._post("/completions", body, reject_words)

    def _text(self, response: httpx.Response) -> str:
        """The generated text of a 2xx response, or the server's error for a 4xx."""
        if response.status_code >= 400:
            raise GenerationError(
                f"LLM server at {mask_url(str(response.request.url))} rejected the request ({response.status_code}):"
                f" {_error_text(response)}"
            )
        try:
            choice = response.json()["choices"][0]
            text = choice["message"]["content"] if self.mode == "chat" else choice["text"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise GenerationError(
                f"LLM server at {mask_url(str(response.request.url))} returned no {self.mode} choice"
                f" ({type(e).__name__}: {e});"
                f" body starts {response.text[:200]!r}; is it OpenAI-compatible, and is mode={self.mode!r} right?"
            ) from e
        return text if isinstance(text, str) else ""

    def _constraint(self, form: str, schema: dict[str, Any]) -> dict[str, Any] | None:
        """The request fields for one constraint form, or ``None`` if it cannot be built here."""
        if form == "json_schema" and self.mode == "chat":
            title = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "response"))[:64]
            return {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": title, "schema": schema, "strict": True},
                }
            }
        if form == "json_object_schema":
            return {"response_format": {"type": "json_object", "schema": schema}}
        if form == "json_object":
            return {"response_format": {"type": "json_object"}}
        if form == "grammar":
            gbnf = _gbnf(schema)
            return {"grammar": gbnf} if gbnf is not None else None
        if form == "json_schema":  # completion mode: llama.cpp server's native field
            return {"json_schema": schema}
        return {}

    def generate_json(
        self,
        prompt: str,
        schema: dict[str, Any],
        *,
        max_tokens: int = 768,
        temperature: float = 0.8,
        seed: int = 0,
        stop: list[str] | None = None,
    ) -> str:
        """Ask the server for JSON constrained to ``schema`` (see the module docstring); raw, stripped text."""
        check_generation_args(prompt, max_tokens, temperature, stop)
        check_schema(schema)
        forms = _CHAT_FORMATS if self.mode == "chat" else _COMPLETION_FORMATS
        index = self._format_index
        while True:
            form = forms[index]
            constraint = self._constraint(form, schema)
            if constraint is None:  # cannot be built on this side: skip without asking the server
                index += 1
                continue
            words = _FORMAT_FIELDS.get(form, ()) if index < len(forms) - 1 else ()
            response = self._request(prompt, max_tokens, temperature, seed, stop, constraint, words)
            if _rejects(response, words):
                index += 1
                continue
            if response.status_code < 400:
                self._format_index = index
            return truncate_at_stop(self._text(response), stop).strip()

    def generate_text(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.7,
        seed: int = 0,
        stop: list[str] | None = None,
    ) -> str:
        """Continue ``prompt`` (or answer it, in chat mode) with free text."""
        check_generation_args(prompt, max_tokens, temperature, stop)
        response = self._request(prompt, max_tokens, temperature, seed, stop, None)
        return truncate_at_stop(self._text(response), stop)

    def close(self) -> None:
        """Close pooled connections; a later call opens new ones."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={mask_url(self.base_url)!r}, model={self.model!r}, mode={self.mode!r})"


def _rejects(response: httpx.Response, words: tuple[str, ...]) -> bool:
    """Whether ``response`` is an error that names one of ``words`` (a refused request field)."""
    return response.status_code in (400, 422, 500) and any(w in response.text for w in words)


def _error_text(response: httpx.Response) -> str:
    """The server's error message, short enough for a log line."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:500] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data))
        if isinstance(err, dict) and "message" in err:
            err = err["message"]
        return str(err)[:500]
    return str(data)[:500]


def _gbnf(schema: dict[str, Any]) -> str | None:
    """GBNF for ``schema`` via llama-cpp-python's pure-Python converter, or ``None`` if it is not installed."""
    try:
        from llama_cpp.llama_grammar import json_schema_to_gbnf
    except ImportError:
        return None
    try:
        return json_schema_to_gbnf(check_schema(schema))
    except Exception as e:  # the converter raises bare Exception/ValueError/KeyError
        raise GenerationError(
            f"cannot turn this JSON Schema into a grammar ({type(e).__name__}: {e}); simplify the schema"
        ) from e
