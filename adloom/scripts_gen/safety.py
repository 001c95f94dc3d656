"""Prompt-injection defence for brief text that reaches a model.

Brief fields are data. Before they enter a prompt, sentences that read as
instructions to a model are removed and delimiters that could end the data
block are neutralised; after generation, output that echoes such an
instruction is rejected.
"""

from __future__ import annotations

import re

_INJECTION = re.compile(
    r"(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|preceding|system)?\s*"
    r"(instructions?|prompts?|rules?|directions?)"
    r"|you\s+are\s+now\b|system\s*prompt|output\s*\{\s*\}|\brespond\s+only\s+with\b|\bjailbreak\b"
    r"|忽略(之前|以上|上面|前面|所有)?(的)?(所有)?(指令|指示|提示|规则|要求)"
    r"|无视(之前|以上|上面|前面)?(的)?(指令|指示|规则)|系统提示|你现在是",
    re.IGNORECASE,
)
_SENTENCES = re.compile(r"[^。！？!?.;；\n]+[。！？!?.;；]?")


def looks_like_injection(text: str) -> bool:
    return bool(_INJECTION.search(text))


def sanitize_field(text: str, *, max_chars: int) -> tuple[str, bool]:
    """Brief text made safe to quote in a prompt: (clean text, whether anything was removed).

    Sentences that address the model are dropped, prompt delimiters and JSON
    braces are replaced, whitespace is collapsed and the result is capped.
    """
    removed = False
    kept = []
    for sentence in _SENTENCES.findall(text):
        if looks_like_injection(sentence):
            removed = True
            continue
        kept.append(sentence.strip())
    clean = " ".join(s for s in kept if s)
    clean = clean.replace("###", " ").replace("{", "(").replace("}", ")")
    clean = re.sub(r"\s+", " ", clean).strip()
    if len(clean) > max_chars:
        clean, removed = clean[:max_chars].rstrip() + "…", True
    return clean, removed
