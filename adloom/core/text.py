"""Text rules shared across packages: language detection and how long copy takes to say.

Used by the script writer (timing, validation), the sample library and, later,
voice and subtitles, so every package agrees on what fits in a shot.

Speaking rates are typical ad voice-over rates: Mandarin about 4.5 characters
per second, English about 2.6 words per second (≈155 wpm).
"""

from __future__ import annotations

import re

from adloom.core.types import Language

ZH_CHARS_PER_S = 4.5
EN_WORDS_PER_S = 2.6

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[。！？!?…；;])\s*|(?<=[.])\s+(?=[A-Z\"“0-9])|\n+")


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(text)


def detect_language(text: str) -> Language:
    """zh when CJK characters outweigh Latin words, else en."""
    return Language.zh if cjk_count(text) >= max(1, len(latin_words(text))) else Language.en


def language_share(text: str, language: Language | str) -> float:
    """Share of the text's units (CJK chars / Latin words) that belong to ``language``."""
    zh, en = cjk_count(text), len(latin_words(text))
    total = zh + en
    if total == 0:
        return 0.0
    return (zh if Language(language) == Language.zh else en) / total


def speech_seconds(text: str, language: Language | str) -> float:
    """How long a voice-over of ``text`` takes at the typical ad speaking rate."""
    digits = sum(len(n) for n in _NUMBER.findall(text))
    if Language(language) == Language.zh:
        # Latin words inside Chinese copy (brand names) take about as long as two characters;
        # a digit is read as about one syllable (129 → 一百二十九 is five, 30 → 三十 is two).
        return (cjk_count(text) + 2 * len(latin_words(text)) + 1.3 * digits) / ZH_CHARS_PER_S
    # A number is read as about one word per two digits ("two ninety-nine").
    return (len(latin_words(text)) + 0.5 * cjk_count(text) + 0.5 * digits) / EN_WORDS_PER_S


def split_sentences(text: str) -> list[str]:
    """Sentences of zh or en copy, punctuation kept, blanks dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def numbers_in(text: str) -> set[str]:
    """Numbers as written (commas removed), e.g. {"199", "1.2", "90"}."""
    return {m.replace(",", "") for m in _NUMBER.findall(text)}


def shorten(text: str, language: Language | str, max_units: int) -> str:
    """Cut text to ``max_units`` CJK characters (zh) or words (en), at a word boundary."""
    if Language(language) == Language.zh:
        return text if len(text) <= max_units else text[:max_units]
    words = text.split()
    return text if len(words) <= max_units else " ".join(words[:max_units])


def upper_first(text: str) -> str:
    """Capitalise the first character only (``str.capitalize`` would lower-case the rest, e.g. brand names)."""
    return text[:1].upper() + text[1:]


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


#: English words a finished line does not end on; a line ending on one was cut off mid-sentence.
DANGLING_EN = frozenset(
    "a an the and or but of to with for in on at by from our your my their its is are was were so that which who "
    "than as if it be".split()
)


def trim_dangling(text: str) -> str:
    """Drop trailing English function words left by a cut (``'spotless with our'`` → ``'spotless'``)."""
    words = text.rstrip(" ,;:-").split(" ")
    while len(words) > 1 and words[-1].lower().strip(",;:-") in DANGLING_EN:
        words.pop()
    return " ".join(words).rstrip(" ,;:-")
