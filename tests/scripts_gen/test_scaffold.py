"""Schema-scaffolded decoding: structure by construction, the model fills the leaves."""

import json

import pytest

from adloom.core.errors import GenerationError
from adloom.scripts_gen.llm.scaffold import clip, scaffold_json, supported

SCHEMA = {
    "type": "object",
    "properties": {
        "hook": {"type": "string", "maxLength": 20},
        "shots": {
            "type": "array",
            "prefixItems": [
                {"type": "object", "properties": {"narration": {"type": "string", "x-prefix": "Fast"}}},
                {"type": "object", "properties": {"narration": {"type": "string"}}},
            ],
        },
        "n": {"type": "integer"},
        "ok": {"type": "boolean"},
        "tone": {"type": "string", "enum": ["warm", "bold"]},
    },
}


def test_structure_is_built_and_leaves_are_filled_escaped_and_capped():
    seen = []

    def cont(text: str, tokens: int, stop: list[str], seed: int) -> str:
        seen.append(text)
        if text.endswith('"hook": "'):
            return 'A "quoted" \\ hook that is far too long for the limit"'
        if text.endswith('"Fast'):
            return ' charging, all day." trailing'
        if text.endswith('"n": '):
            return "42,"
        if text.endswith('"ok": '):
            return "true}"
        if text.endswith('"tone": "'):
            return "bo"
        return "plain line"

    out = scaffold_json("PROMPT ", SCHEMA, cont, max_tokens=500, seed=3)
    data = json.loads(out)
    assert data["hook"] == "A"  # cut at the quote the model wrote, then capped
    assert data["shots"][0]["narration"] == "Fast charging, all day."
    assert data["shots"][1]["narration"] == "plain line"
    assert data["n"] == 42 and data["ok"] is True and data["tone"] == "bold"
    assert all(t.startswith("PROMPT ") for t in seen)
    assert out.startswith('{"hook": "')  # json.dumps layout, as in few-shot examples


def test_budget_exhaustion_leaves_valid_json():
    out = scaffold_json("P", SCHEMA, lambda t, n, s, seed: "x" * 40, max_tokens=10, seed=0)
    json.loads(out)


def test_unsupported_schema_is_reported():
    assert not supported({"type": "object", "properties": {"a": {"type": "null"}}})
    with pytest.raises(GenerationError, match="unsupported"):
        scaffold_json("p", {"type": "null"}, lambda *a: "", max_tokens=5, seed=0)


def test_clip_prefers_clause_then_word_boundaries():
    assert clip("short", 10) == "short"
    assert clip("One clause, then another long one", 20) == "One clause"
    assert clip("no punctuation at all here", 15) == "no punctuation"
    assert clip("一二三四五，六七八九十", 8) == "一二三四五"


def test_clip_drops_dangling_function_words():
    assert clip("We keep your home spotless with our smart mapping", 40) == "We keep your home spotless"
