"""Claim-bearing spans of ad copy and whether a source text (the brief, an exemplar) states them.

A claim is anything a viewer could hold the advertiser to: a number with its unit ("30小时",
"thirty hours", "$49"), a spec token ("IPX7", "L3"), an ingredient, material, certification or
deal word from the lexicon, a "free from" claim (无香精, fragrance-free), what the product is
said to contain or be made of (含…, made from …), a comparison (比…更, better than) and a name
the brief never mentions (AirPods, Google). Numbers are compared as values with units, so
"三十小时", "30-hour" and "thirty hours" are the same claim.

Chinese numerals are parsed here rather than with ``cn2an``: the reviewer needs only integers
below 10^12 with 十/百/千/万/亿, cn2an is an optional (voice) dependency, and scripts_gen must run
without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from adloom.core.types import Language
from adloom.scripts_gen.review.lexicon import ReviewLexicon, term_pattern

__all__ = ["Claim", "Source", "claims_in", "cjk_bigrams", "content_words", "parse_zh_number"]

_CJK = "\u4e00-\u9fff"
_ZH_NUMERAL = "零〇一二两三四五六七八九十百千万亿"
_SPEC_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z\-]*\+?\d[A-Za-z0-9.+\-]*")
_DIGITS = re.compile(
    r"(?P<cur>[$¥€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<scale>\s?(?:万|亿|[kK](?![A-Za-z])|thousand\b|million\b|billion\b))?(?P<plus>\+)?"
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
_PUNCT = "，。！？,.!?；;：:、…\n"


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim-bearing span of a line.

    ``key`` is what support is judged on: ``(value, unit)`` for numbers, the lower-cased token
    for spec tokens and names, the claim group's index for lexicon terms, the phrase for the rest.
    """

    kind: str  # number | spec | term:<group kind> | free_from | contains | comparison | name
    text: str
    start: int
    end: int
    key: object


def parse_zh_number(text: str, lex: ReviewLexicon) -> float | None:
    """The value of a Chinese numeral ("三十" → 30, "两万五千" → 25000, "百" → 100); None if malformed."""
    digits, units, scales = lex.numbers.zh_digits, lex.numbers.zh_units, lex.numbers.zh_scales
    total, section, digit = 0.0, 0.0, None
    for ch in text:
        if ch in digits:
            if digit is not None:  # "一一", "三五": not a number
                return None
            digit = digits[ch]
        elif ch in units:
            section += (1 if digit is None else digit) * units[ch]
            digit = None
        elif ch in scales:
            section += digit or 0
            total += (section or 1) * scales[ch]
            section, digit = 0.0, None
        else:
            return None
    return total + section + (digit or 0)


def _parse_en_number(words: list[str], lex: ReviewLexicon) -> float:
    total, current = 0.0, 0.0
    for w in words:
        if w in lex.numbers.en_words:
            current += lex.numbers.en_words[w]
        elif w == "hundred":
            current = (current or 1) * 100
        else:
            total += (current or 1) * lex.numbers.en_scales[w]
            current = 0.0
    return total + current


def _unit_after(text: str, pos: int, lex: ReviewLexicon, *, zh_counters: bool) -> tuple[str | None, int]:
    """The canonical unit right after ``pos`` (after an optional space or hyphen) and where it ends."""
    i = pos
    while i < len(text) and i - pos < 2 and text[i] in " -":
        i += 1
    low = text.lower()
    for form, unit in lex.unit_forms:
        if low.startswith(form, i):
            end = i + len(form)
            if (
                form[-1].isascii()
                and form[-1].isalpha()
                and end < len(text)
                and text[end].isascii()
                and text[end].isalpha()
            ):
                continue  # "3XL" is not 3 litres
            return unit, end
    if zh_counters and i < len(text) and text[i] in lex.zh_counters:
        return "count", i + 1
    return None, pos


def _numbers(text: str, lex: ReviewLexicon, taken: list[tuple[int, int]]) -> Iterator[Claim]:
    for m in _SPEC_TOKEN.finditer(text):
        token = m.group(0).rstrip(".-+")
        if not _overlaps(m.start(), m.start() + len(token), taken):
            taken.append((m.start(), m.start() + len(token)))
            yield Claim("spec", token, m.start(), m.start() + len(token), token.lower())
    for m in _DIGITS.finditer(text):
        s = m.start("num") if m.group("cur") is None else m.start()
        if _overlaps(s, m.end(), taken) or (s > 0 and text[s - 1].isascii() and text[s - 1].isalpha()):
            continue
        if any(text.startswith(p, s - len(p)) for p in lex.numbers.zh_ordinal_prefixes if s >= len(p)):
            continue
        rest = text[m.end() :]
        if re.match(r"(?:st|nd|rd|th)\b", rest) or any(
            rest.lstrip().lower().startswith(c)
            for c in (*lex.numbers.zh_clock_suffixes, *lex.numbers.en_clock_suffixes)
        ):
            continue
        value = float(m.group("num").replace(",", ""))
        scale = (m.group("scale") or "").strip().lower()
        if scale:
            value *= lex.numbers.zh_scales.get(scale) or lex.numbers.en_scales[scale]
        unit, end = _unit_after(text, m.end(), lex, zh_counters=True)
        if m.group("cur"):
            unit = "money"
        elif unit is None and end < len(text) and text[end].isascii() and text[end].isalpha():
            tail = re.match(r"[A-Za-z]+\d*", text[end:])
            assert tail is not None
            end += tail.end()
            taken.append((s, end))
            yield Claim("spec", text[s:end], s, end, text[s:end].lower())
            continue
        taken.append((s, end))
        yield Claim("number", text[s:end], s, end, (round(value, 4), unit))
    for m in re.finditer(f"百分之([{_ZH_NUMERAL}]+)", text):
        value = parse_zh_number(m.group(1), lex)
        if value is not None and not _overlaps(*m.span(), taken):
            taken.append(m.span())
            yield Claim("number", m.group(0), m.start(), m.end(), (round(value, 4), "percent"))
    for m in re.finditer(f"[{_ZH_NUMERAL}]+", text):
        s, e = m.span()
        if _overlaps(s, e, taken) or (s > 0 and (text[s - 1].isdigit())):
            continue
        if any(text.startswith(p, s - len(p)) for p in lex.numbers.zh_ordinal_prefixes if s >= len(p)):
            continue
        if any(text.startswith(c, e) for c in lex.numbers.zh_clock_suffixes):
            continue
        value = parse_zh_number(m.group(0), lex)
        if value is None or value <= 1:  # 一个, 一款, 一天下来: plain speech, not a claim
            continue
        unit, end = _unit_after(text, e, lex, zh_counters=True)
        if unit is None:
            continue
        taken.append((s, end))
        yield Claim("number", text[s:end], s, end, (round(value, 4), unit))
    yield from _en_numbers(text, lex, taken)


def _en_numbers(text: str, lex: ReviewLexicon, taken: list[tuple[int, int]]) -> Iterator[Claim]:
    vocab = {*lex.numbers.en_words, *lex.numbers.en_scales}
    words = [(m.group(0).lower(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+", text)]
    i = 0
    while i < len(words):
        if words[i][0] not in lex.numbers.en_words:
            i += 1
            continue
        first, j = i, i + 1
        while (
            j < len(words)
            and words[j][0] in vocab
            and re.fullmatch(r"[\s-]+(?:and\s+)?", text[words[j - 1][2] : words[j][1]])
        ):
            j += 1
        i = j
        s, e = words[first][1], words[j - 1][2]
        value = _parse_en_number([w for w, _, _ in words[first:j]], lex)
        rest = text[e:].lstrip().lower()
        if value <= 1 or _overlaps(s, e, taken) or any(rest.startswith(c) for c in lex.numbers.en_clock_suffixes):
            continue
        unit, end = _unit_after(text, e, lex, zh_counters=False)
        end = max(end, e)
        taken.append((s, end))
        yield Claim("number", text[s:end], s, end, (round(value, 4), unit))


def _overlaps(s: int, e: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s < b and a < e for a, b in spans)


def cjk_bigrams(text: str) -> set[str]:
    """Character bigrams of the CJK and alphanumeric runs of ``text`` (for phrase overlap in zh)."""
    runs = re.findall(f"[{_CJK}A-Za-z0-9]+", text)
    return {r[i : i + 2] for r in runs for i in range(len(r) - 1)} | {
        r for r in runs if len(r) == 1 and re.match(f"[{_CJK}]", r)
    }


def content_words(text: str, lex: ReviewLexicon) -> list[str]:
    """Lower-cased English content words of ``text`` with a plural s dropped (for phrase overlap in en)."""
    out = []
    for w in re.findall(r"[a-z0-9][a-z0-9'\-]*", text.lower()):
        if w not in lex.en_stopwords and len(w) > 2:
            out.append(w[:-1] if w.endswith("s") and not w.endswith("ss") else w)
    return out


class Source:
    """A text that may support claims (the brief's facts, or an exemplar's lines), indexed once."""

    def __init__(
        self, texts: Iterable[str], lex: ReviewLexicon, *, offer: str = "", price: float | None = None
    ) -> None:
        self.lex = lex
        self.text = "\n".join(t for t in texts if t)
        self.low = self.text.lower()
        self.offer = offer
        self.price = price
        self.numbers: set[tuple[float, str | None]] = set()
        self.tokens: set[str] = set()
        for c in claims_in(self.text, lex):
            if c.kind == "number":
                assert isinstance(c.key, tuple)
                self.numbers.add(c.key)
            elif c.kind == "spec":
                self.tokens.add(str(c.key))
        if price is not None:
            self.numbers.add((round(float(price), 4), "money"))
        self.words = {w.lower() for w in _LATIN_WORD.findall(self.text)}
        self.stems = set(content_words(self.text, lex))
        self.bigrams = cjk_bigrams(self.text)

    def has_number(self, key: tuple[float, str | None]) -> bool:
        value, unit = key
        return any(v == value and (unit is None or u is None or u == unit) for v, u in self.numbers)

    def has_term(self, term: str) -> bool:
        pattern = term_pattern((term,))
        return pattern is not None and pattern.search(self.text) is not None

    def mostly_states(self, phrase: str, language: Language, share: float = 0.5) -> bool:
        """Whether at least ``share`` of ``phrase``'s content (bigrams in zh, words in en) is in this text."""
        if re.search(f"[{_CJK}]", phrase):
            units = cjk_bigrams(re.sub(f"[{_ZH_NUMERAL}0-9.%]+", "", phrase))
            found = sum(1 for u in units if u in self.bigrams)
        else:
            words = content_words(phrase, self.lex)
            units = set(words)
            found = sum(1 for u in units if u in self.stems)
        return bool(units) and found / len(units) >= share

    def supports(self, claim: Claim, language: Language) -> bool:
        """Whether this text states ``claim`` (in any of its forms)."""
        kind = claim.kind
        if kind == "number":
            assert isinstance(claim.key, tuple)
            return self.has_number(claim.key)
        if kind in ("spec", "name"):
            return str(claim.key) in self.tokens or str(claim.key) in self.low
        if kind.startswith("term:"):
            assert isinstance(claim.key, int)
            group = self.lex.claim_terms[claim.key]
            if group.supported_by_offer and self.offer:
                return True
            if group.supported_by_price_zero and self.price == 0:
                return True
            return any(self.has_term(t) for t in group.terms)
        if kind == "free_from":
            return str(claim.key) in self.low
        if kind == "contains":
            return self.mostly_states(str(claim.key), language)
        if kind == "comparison":
            return str(claim.key).lower() in self.low
        raise ValueError(f"unknown claim kind {kind!r}")


def claims_in(
    text: str,
    lex: ReviewLexicon,
    *,
    language: Language = Language.zh,
    skip: Iterable[tuple[int, int]] = (),
    brand_words: frozenset[str] = frozenset(),
) -> list[Claim]:
    """Every claim-bearing span of ``text``, in order, outside the ``skip`` spans (names, generic phrases, meta)."""
    taken = list(skip)
    found = list(_numbers(text, lex, taken))
    for i, group in enumerate(lex.claim_terms):
        pattern = term_pattern(tuple(group.terms))
        assert pattern is not None
        for m in pattern.finditer(text):
            if not _overlaps(*m.span(), taken):
                taken.append(m.span())
                found.append(Claim(f"term:{group.kind}", m.group(0), m.start(), m.end(), i))
    for regex in lex.free_from.values():
        for m in re.finditer(regex, text, re.IGNORECASE):
            if not _overlaps(*m.span(), taken):
                taken.append(m.span())
                found.append(Claim("free_from", m.group(0), m.start(), m.end(), m.group(1).lower()))
    for lang, words in lex.claim_introducers.items():
        pattern = term_pattern(tuple(words))
        assert pattern is not None
        for m in pattern.finditer(text):
            stop = m.end()
            while stop < len(text) and text[stop] not in _PUNCT:
                stop += 1
            phrase = text[m.end() : stop].strip()
            if lang == Language.zh:
                phrase = phrase[:12]
            else:
                phrase = " ".join(phrase.split()[:6])
            if phrase and not _overlaps(m.start(), m.end(), taken):
                end = m.end() + len(text[m.end() : stop]) - len(text[m.end() : stop].lstrip()) + len(phrase)
                taken.append((m.start(), m.end()))
                found.append(Claim("contains", text[m.start() : end], m.start(), end, phrase))
    for pattern in lex.comparison_patterns:
        for m in pattern.finditer(text):
            if not _overlaps(*m.span(), taken):
                taken.append(m.span())
                found.append(Claim("comparison", m.group(0), m.start(), m.end(), m.group(0)))
    found.extend(_names(text, lex, taken, brand_words, language))
    return sorted(found, key=lambda c: c.start)


def _names(
    text: str, lex: ReviewLexicon, taken: list[tuple[int, int]], brand_words: frozenset[str], language: Language
) -> Iterator[Claim]:
    """Capitalised Latin words that are not sentence openers: brands, institutions, certifying bodies."""
    accepted = term_pattern(tuple(lex.accepted_capitalised))
    skip = list(taken)
    if accepted is not None:
        skip.extend(m.span() for m in accepted.finditer(text))
    for m in _LATIN_WORD.finditer(text):
        word = m.group(0)
        if (
            len(word) < 2
            or not any(ch.isupper() for ch in word)
            or _overlaps(*m.span(), skip)
            or word.lower() in brand_words
        ):
            continue
        if word.lower() in {w.lower() for w in lex.accepted_latin}:
            continue
        before = text[: m.start()].rstrip(" \"'“‘(")
        if language == Language.en and (
            not before or before[-1] in ".!?:;—–" or (before[-1] == "-" and not before[-2:-1].isalpha())
        ):
            continue  # a sentence opener is capitalised anyway
        yield Claim("name", word, m.start(), m.end(), word.lower())
