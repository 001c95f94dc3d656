"""Schema-scaffolded JSON decoding: we write the structure, the model writes only the leaves.

A JSON Schema fixes everything but the values: braces, keys, commas, array
lengths (when ``minItems == maxItems``). So instead of filtering every
sampled token through a grammar, we emit the structure ourselves and ask the
model to continue only inside each string (stopping at the closing quote),
number or boolean. The output is valid JSON of the schema's shape by
construction; string lengths are capped at ``maxLength`` and values are
escaped with :func:`json.dumps`.

Why not the llama.cpp grammar: with gemma-3's 262k-token vocabulary the
grammar check over every candidate token dominated decoding on this CPU
(measured in ``bench/generation.py``: several times slower per token), and a
270M base model spends most grammar-constrained tokens fighting the grammar.
Scaffolding keeps the model inside the same few-shot JSON it sees in the
prompt, so it writes copy rather than syntax. The grammar path stays
available (``constrain="grammar"``).

A string may carry ``"x-prefix"``: text the value must start with, written
by us and continued by the model (e.g. a selling point from the brief that the
model then elaborates). Other backends ignore the keyword.

Supported schema subset: objects with ``properties`` (emitted in order),
arrays (``prefixItems``, else ``minItems`` copies of ``items``, at least one),
strings (``maxLength``, ``enum``, ``x-prefix``),
integers, numbers, booleans. Anything else raises ``GenerationError`` so a
caller can fall back to the grammar.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from adloom.core.errors import GenerationError
from adloom.core.text import trim_dangling

#: Continue ``text`` with at most ``max_tokens`` tokens, stopping at any of ``stop``; returns the continuation.
Continue = Callable[[str, int, list[str], int], str]

#: Rough characters per token for sizing a string's token budget from its maxLength.
_CHARS_PER_TOKEN = 1.5
QUOTE, BACKSLASH = '"', "\\"
_STRING_STOP = [QUOTE, "\n"]
_SCALAR_STOP = [",", "}", "]", "\n"]


def supported(schema: dict[str, Any]) -> bool:
    try:
        _check(schema)
    except GenerationError:
        return False
    return True


def _check(node: dict[str, Any]) -> None:
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties")
        if not isinstance(props, dict) or not props:
            raise GenerationError("scaffold: objects need non-empty 'properties'")
        for sub in props.values():
            _check(sub)
    elif kind == "array":
        if isinstance(node.get("prefixItems"), list) and node["prefixItems"]:
            for sub in node["prefixItems"]:
                _check(sub)
        elif isinstance(node.get("items"), dict):
            _check(node["items"])
        else:
            raise GenerationError("scaffold: arrays need an 'items' schema or 'prefixItems'")
    elif kind not in ("string", "integer", "number", "boolean"):
        raise GenerationError(f"scaffold: unsupported schema type {kind!r}")


_CLAUSE_END = "。！？；，、.!?;,"


def clip(text: str, max_len: int) -> str:
    """Cut ``text`` to ``max_len`` characters at the last clause or word boundary, never mid-word."""
    if len(text) <= max_len:
        return text
    head = text[:max_len]
    cut = max(head.rfind(c) for c in _CLAUSE_END)
    if cut >= max_len // 2:
        return head[: cut + 1].rstrip("，、,;；") if head[cut] in "，、,;；" else head[: cut + 1]
    space = head.rfind(" ")
    return trim_dangling(head[:space]) if space >= max_len // 2 else head


def _before_stop(text: str) -> str:
    """Scalar text up to the first delimiter (backends usually cut there already)."""
    cut = min((i for i in (text.find(c) for c in _SCALAR_STOP) if i >= 0), default=len(text))
    return text[:cut]


def scaffold_json(prompt: str, schema: dict[str, Any], cont: Continue, *, max_tokens: int, seed: int) -> str:
    """Decode one JSON value of ``schema`` after ``prompt`` with ``cont`` filling the leaves.

    The text is laid out like ``json.dumps`` with default separators (", " and
    ": "), matching few-shot examples written that way. ``max_tokens`` bounds
    the whole value; when it runs out, remaining strings are left empty (and
    fail the caller's validation rather than the JSON parse).
    """
    _check(schema)
    out: list[str] = []
    budget = [max_tokens]
    calls = [0]

    def ask(stop: list[str], tokens: int) -> str:
        tokens = max(1, min(tokens, budget[0]))
        if budget[0] <= 0:
            return ""
        calls[0] += 1
        text = cont(prompt + "".join(out), tokens, stop, seed + calls[0])
        budget[0] -= max(1, int(len(text) / _CHARS_PER_TOKEN))
        return text

    def emit(node: dict[str, Any]) -> None:
        kind = node["type"]
        if kind == "object":
            out.append("{")
            for i, (key, sub) in enumerate(node["properties"].items()):
                out.append((", " if i else "") + json.dumps(key, ensure_ascii=False) + ": ")
                emit(sub)
            out.append("}")
        elif kind == "array":
            items = node.get("prefixItems") or [node["items"]] * max(1, int(node.get("minItems", 1)))
            out.append("[")
            for i, sub in enumerate(items):
                if i:
                    out.append(", ")
                emit(sub)
            out.append("]")
        elif kind == "string":
            prefix = str(node.get("x-prefix", ""))
            max_len = max(int(node.get("maxLength", 200)), len(prefix))
            out.append(QUOTE + json.dumps(prefix, ensure_ascii=False)[1:-1])
            room = max_len - len(prefix)
            text = ask(_STRING_STOP, int(room / _CHARS_PER_TOKEN) + 4) if room > 0 else ""
            text = clip(prefix + text.split(QUOTE)[0].replace(BACKSLASH, "").rstrip(), max_len).strip()
            out.pop()
            out.append(QUOTE)
            enum = node.get("enum")
            if enum:
                text = next((e for e in enum if str(e).startswith(text) and text), str(enum[0]))
            out.append(json.dumps(text, ensure_ascii=False)[1:-1])
            out.append('"')
        elif kind in ("integer", "number"):
            raw = _before_stop(ask(_SCALAR_STOP, 8)).strip()
            try:
                value: float | int = int(float(raw)) if kind == "integer" else float(raw)
            except ValueError:
                value = node.get("minimum", 0)
            out.append(json.dumps(value))
        else:  # boolean
            raw = _before_stop(ask(_SCALAR_STOP, 3)).strip().lower()
            out.append("true" if raw.startswith("t") else "false")

    emit(schema)
    return "".join(out)
