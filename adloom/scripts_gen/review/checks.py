"""Checks on one line's wording that need no facts from the brief: meta text, truncation, wrong
language, broken grammar and repetition. Each returns ``(start, end, why, fix)`` spans."""

from __future__ import annotations

import re

from adloom.core.types import Language
from adloom.scripts_gen.review.lexicon import ReviewLexicon, term_pattern

__all__ = ["Span", "broken_grammar", "meta_text", "repeated", "truncation", "wrong_language"]

Span = tuple[int, int, str, str]  # start, end, why, suggested fix ("" = drop)

_CJK = "\u4e00-\u9fff"
_CJK_RE = re.compile(f"[{_CJK}]")
_DETERMINERS = frozenset("a an the your our my their its this these those every each".split())
_SEP = r"[\s，,、。！!？?；;:：.·…\-–—]*"


def is_zh(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def meta_text(text: str, language: Language, *, visual: bool, lex: ReviewLexicon) -> list[Span]:
    """Production labels and unfilled placeholders ("Demo. Feature.", "镜头一：", "{name}", "XXX").

    A visual describes the shot, so only placeholders count there."""
    spans: list[Span] = []
    for pattern in lex.placeholder_patterns:
        spans.extend(
            (m.start(), m.end(), f"placeholder {m.group(0)!r} left unfilled", "") for m in pattern.finditer(text)
        )
    if visual:
        return spans
    labels = "|".join(re.escape(w) for w in sorted(lex.meta.en_labels, key=len, reverse=True))
    if language == Language.zh:
        label_re = re.compile(rf"(?<![A-Za-z])(?:{labels})(?![A-Za-z])", re.IGNORECASE)
    else:
        label_re = re.compile(
            rf"(?:^|(?<=[.!?])|(?<=[.!?]\s)|(?<=\[)|(?<=\())\s*(?:{labels})(?:\s*\d+)?(?=\s*(?:[.:：\]\)\-–—]|$))",
            re.IGNORECASE,
        )
    spans.extend(
        (m.start(), m.end(), f"production label {m.group(0).strip()!r} in viewer-facing copy", "")
        for m in label_re.finditer(text)
    )
    zh_terms = term_pattern(tuple(lex.meta.zh_terms))
    if zh_terms is not None:
        for m in zh_terms.finditer(text):
            end = m.end() + len(re.match(r"[\s0-9一二三四五六七八九十]*", text[m.end() :]).group(0))  # type: ignore[union-attr]
            spans.append((m.start(), end, f"production term {m.group(0)!r} in viewer-facing copy", ""))
    colon = "|".join(re.escape(w) for w in lex.meta.zh_label_colon)
    spans.extend(
        (m.start(), m.end(), f"script label {m.group(0)!r} in viewer-facing copy", "")
        for m in re.finditer(rf"(?:{colon})\s*[：:]", text)
    )
    return _dedupe(spans)


def truncation(text: str, language: Language, lex: ReviewLexicon) -> list[Span]:
    """A line cut mid-sentence: ends on a comma, a conjunction, a preposition or an article."""
    body = text.rstrip()
    body = re.sub(r"(?:…|\.\.\.)+$", "", body).rstrip()
    if not body:
        return []
    if language == Language.zh:
        t = lex.truncation
        if any(body.endswith(x) for x in t.zh_ending_exceptions):
            return []
        for ending in sorted(t.zh_endings, key=len, reverse=True):
            if body.endswith(ending):
                return [(len(body) - len(ending), len(body), f"line ends on {ending!r}: cut off mid-sentence", "")]
        return []
    punctuated = body[-1] in ".!?"
    if body[-1] == "?":
        return []
    words = re.findall(r"[A-Za-z']+", body.rstrip(".!"))
    if not words or not re.search(r"[A-Za-z']$", body.rstrip(".!")):
        return []
    last = words[-1].lower()
    t = lex.truncation
    open_words = set(t.en_open) | (set() if punctuated else set(t.en_open_unpunctuated))
    why = ""
    if last in open_words:
        why = f"line ends on {words[-1]!r}: cut off mid-sentence"
    elif (
        len(words) > 1
        and last in t.en_adjectives
        and (
            words[-2].lower() in _DETERMINERS
            or (not punctuated and words[-2].lower() in {"with", "for", "of", "to", *t.en_open_unpunctuated})
        )
    ):
        why = f"line ends on {words[-2]} {words[-1]!r} with no noun: cut off mid-phrase"
    if not why:
        return []
    start = body.rstrip(".!").rfind(words[-1])
    return [(start, start + len(words[-1]), why, "")]


def wrong_language(text: str, language: Language, allowed: frozenset[str], lex: ReviewLexicon) -> list[Span]:
    """English words in zh copy (beyond names, brief words and accepted tokens); Chinese in en copy.

    Capitalised Latin words in zh copy are names (grounding judges them), so only lower-case words count."""
    spans: list[Span] = []
    if language == Language.en:
        for m in re.finditer(f"[{_CJK}][{_CJK}\\s]*", text):
            if m.group(0).strip().lower() not in allowed:
                spans.append(
                    (
                        m.start(),
                        m.start() + len(m.group(0).rstrip()),
                        f"Chinese {m.group(0).strip()!r} in English copy",
                        "",
                    )
                )
        return spans
    accepted = {w.lower() for w in lex.accepted_latin} | {w.lower() for w in lex.meta.en_labels}
    run: list[tuple[int, int]] = []
    for m in re.finditer(r"(?<![A-Za-z0-9+\-])[A-Za-z][A-Za-z'’\-]*[A-Za-z](?![A-Za-z0-9+])", text):
        word = m.group(0)
        if word.lower() in allowed or word.lower() in accepted or any(ch.isupper() for ch in word):
            continue
        if run and re.fullmatch(r"\s+", text[run[-1][1] : m.start()]):
            run[-1] = (run[-1][0], m.end())
        else:
            run.append(m.span())
    return [(s, e, f"English {text[s:e]!r} in Chinese copy", "") for s, e in run]


def broken_grammar(text: str, language: Language, lex: ReviewLexicon) -> list[Span]:
    """Grammar a rewrite typically breaks: "a great earbuds", "a electric", "非常不会", "一款时间"."""
    g = lex.grammar
    spans: list[Span] = []
    if language == Language.zh:
        for p in g.zh_broken:
            spans.extend(
                (m.start(), m.end(), f"{m.group(0)!r} is not grammatical Chinese", "") for m in re.finditer(p, text)
            )
        return spans
    adjectives = set(g.en_adjectives)
    not_plural = set(g.en_not_plural)
    follow = r"(?=\s*(?:[.,!?;:]|$|\b(?:in|on|for|with|that|from|at|to|of|by|and|you|is|are|which|who|than)\b))"
    for m in re.finditer(rf"\b(an?)\s+(?:([A-Za-z\-]+)\s+)?([A-Za-z]+s)\b{follow}", text, re.IGNORECASE):
        adj, noun = (m.group(2) or "").lower(), m.group(3).lower()
        if noun in not_plural or noun.endswith(("ss", "us", "is", "ous")) or (adj and adj not in adjectives):
            continue
        spans.append(
            (
                m.start(),
                m.end(),
                f"{m.group(0)!r}: a singular article before a plural noun",
                m.group(0)[len(m.group(1)) :].strip(),
            )
        )
    for m in re.finditer(r"\b(a|an)\s+([A-Za-z][A-Za-z\-]*)", text, re.IGNORECASE):
        article, word = m.group(1).lower(), m.group(2)
        low = word.lower()
        if word.isupper() and len(word) > 1:
            continue  # acronyms: "an EV", "a USB cable"
        if article == "a" and low[0] in "aeio" + "u" and not low.startswith(tuple(g.en_a_ok_prefixes)):
            spans.append((m.start(), m.end(), f"{m.group(0)!r}: 'an' goes before a vowel sound", f"an {word}"))
        elif article == "an" and low[0] not in "aeiou" and not low.startswith(tuple(g.en_an_ok_prefixes)):
            spans.append((m.start(), m.end(), f"{m.group(0)!r}: 'a' goes before a consonant sound", f"a {word}"))
    return _dedupe(spans)


def repeated(text: str, language: Language, lex: ReviewLexicon) -> list[Span]:
    """The same phrase twice in one line: back to back ("国风画面，国风画面", "$49, $49"), or a longer one anywhere."""
    spans: list[Span] = []
    if language == Language.zh:
        for m in re.finditer(rf"([{_CJK}A-Za-z0-9$¥€£.%]{{2,}}){_SEP}\1", text):
            if not re.search(f"[{_CJK}A-Za-z]", m.group(1)):  # "10000", "1.1": digits, not words
                continue
            spans.append((m.start(), m.end(), f"{m.group(1)!r} said twice in a row", m.group(1)))
        if not spans:
            chars = re.sub(f"[^{_CJK}A-Za-z0-9]", "", text)
            for i in range(len(chars) - 3):
                chunk = chars[i : i + 4]
                if re.search(f"[{_CJK}A-Za-z]", chunk) and chars.find(chunk, i + 4) >= 0:
                    s = text.find(chunk)
                    spans.append((s, s + len(chunk), f"{chunk!r} appears twice in one line", ""))
                    break
        return spans
    tokens = [
        (m.group(0).lower().strip(".,!?;:"), m.start(), m.end())
        for m in re.finditer(r"[$€£¥]?[A-Za-z0-9][\w'’.,%\-]*", text)
    ]
    words = [t[0] for t in tokens]
    for n in range(1, 6):
        for i in range(len(words) - 2 * n + 1):
            if words[i : i + n] == words[i + n : i + 2 * n] and (n > 1 or words[i] not in lex.en_stopwords):
                s, e = tokens[i][1], tokens[i + 2 * n - 1][2]
                phrase = " ".join(words[i : i + n])
                return [(s, e, f"{phrase!r} said twice in a row", text[tokens[i][1] : tokens[i + n - 1][2]])]
    for n in range(5, 2, -1):
        seen: dict[tuple[str, ...], int] = {}
        for i in range(len(words) - n + 1):
            gram = tuple(words[i : i + n])
            if sum(1 for w in gram if w not in lex.en_stopwords) < 2:
                continue
            if gram in seen and seen[gram] + n <= i:
                s, e = tokens[i][1], tokens[i + n - 1][2]
                return [(s, e, f"{' '.join(gram)!r} appears twice in one line", "")]
            seen.setdefault(gram, i)
    return spans


def _dedupe(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s in sorted(spans):
        if not any(s[0] < o[1] and o[0] < s[1] for o in out):
            out.append(s)
    return out
