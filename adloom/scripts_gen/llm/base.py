"""The one interface every LLM backend implements, and small text helpers they share.

Script writing, structuring, shot prompts and live Q&A all go through
:class:`LLMBackend`, so the embedded llama.cpp model, a remote
OpenAI-compatible server and a local Hugging Face model are interchangeable
and chosen by ``settings.llm_backend``.

The interface is a :class:`typing.Protocol` rather than an abstract base class:
a third-party plugin registered in ``registry("llm")`` only has to have the
right attributes and methods, not inherit from adloom. It is
``runtime_checkable`` so tests and ``serving`` can check a plugin with
``isinstance``.

Prompts are plain completion prompts (the default model, gemma-3-270m, is a
base model with no chat template), usually few-shot: the backend continues the
text. ``generate_json`` returns *raw text*; callers parse and validate it
against their schema, because no backend can promise valid output (a
constrained decode can still be cut off by ``max_tokens``).
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from adloom.core.errors import InputError


@runtime_checkable
class LLMBackend(Protocol):
    """A text generator that can be asked for free text or for JSON shaped by a schema."""

    #: Backend kind: ``"llamacpp"``, ``"openai"`` or ``"transformers"`` (plugins pick their own).
    name: str
    #: Model id or path; recorded in every script's provenance.
    model: str

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
        """Continue ``prompt`` with text the backend tried to constrain to the JSON Schema ``schema``.

        Returns the raw text (stripped of surrounding whitespace); callers
        ``json.loads`` and validate it. The same ``seed`` and arguments give
        the same text on the same backend and machine where the backend
        allows it (llama.cpp and transformers do; remote servers may not).
        """
        ...

    def generate_text(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.7,
        seed: int = 0,
        stop: list[str] | None = None,
    ) -> str:
        """Continue ``prompt`` with free text, stopping at any string in ``stop``."""
        ...


def check_generation_args(prompt: str, max_tokens: int, temperature: float, stop: list[str] | None) -> None:
    """Reject arguments no backend can honour, with the same messages everywhere."""
    if not isinstance(prompt, str) or not prompt:
        raise InputError("prompt is empty; pass the text the model should continue", field="prompt")
    if max_tokens < 1:
        raise InputError(f"max_tokens={max_tokens} must be at least 1", field="max_tokens")
    if temperature < 0:
        raise InputError(f"temperature={temperature} must be 0 (greedy) or more", field="temperature")
    if stop is not None and any(not s for s in stop):
        raise InputError(f"stop={stop!r} contains an empty string; remove it", field="stop")


def check_schema(schema: dict[str, Any]) -> str:
    """Return ``schema`` as canonical JSON (a cache key), or raise if it is not a JSON-serialisable object."""
    if not isinstance(schema, dict) or not schema:
        raise InputError(f"schema must be a non-empty JSON Schema object, got {schema!r}", field="schema")
    try:
        return json.dumps(schema, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise InputError(
            f"schema is not JSON-serialisable ({e}); use plain dicts, lists, str, numbers", field="schema"
        ) from e


def truncate_at_stop(text: str, stop: list[str] | None) -> str:
    """Cut ``text`` at the earliest occurrence of any stop string (the stop string itself is dropped)."""
    if not stop:
        return text
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return text if cut < 0 else text[:cut]


def extract_json_object(text: str) -> str | None:
    """The substring from the first ``{`` to the ``}`` that closes it, or ``None`` if it never closes.

    Braces inside JSON strings (and escaped quotes within them) are skipped,
    so ``{"a": "}"}`` is returned whole. Used by backends that cannot
    constrain decoding and so may wrap JSON in other text.
    """
    start = text.find("{")
    if start < 0:
        return None
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None
