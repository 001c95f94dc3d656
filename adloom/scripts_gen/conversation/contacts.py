"""Contact details in a chat message: phone, WeChat ID, email, city, budget and timing (zh and en).

The lead agent (issue 15) stores only what validates, and tells the person when something they typed looks
like a phone number or an address but cannot be one ("13812345 67 has 10 digits; a mainland mobile number
has 11"). :func:`extract_contacts` returns an :class:`Extracted` with the valid values and those near misses.

People dodge platform filters and type on phones, so the text is normalised first: NFKC (full-width letters,
digits, "＠", "："), then :func:`normalise_digits` (Chinese digits inside digit runs, "138 1234 5678" joined).
Numbers are checked with ``phonenumbers`` and addresses with ``email-validator``; the words that announce a
detail (电话, 微信号, budget, ...), cities, timing phrases and Chinese digits are data
(``adloom/data/agent/contacts.yaml``), validated by :class:`ContactsFile`.

Known ambiguities (accepted, not silently wrong often): a zh city name inside a longer place name that is
not listed in the data ("南京" in "南京大排档" in Shanghai) counts as that city; timing phrases are read
wherever they appear ("下周" in "下周有活动吗" is the person's timing too). Every regex here is linear or
bounded per start position, so long messages cost little.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Literal, get_args

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from adloom.core.datafiles import load_package_data
from adloom.core.types import Language
from adloom.scripts_gen.conversation.model import CONTACT_FIELDS, ContactField

__all__ = ["ContactsFile", "Extracted", "contacts_data", "extract_contacts", "normalise_digits"]

# --------------------------------------------------------------------------- data file

_STRICT = ConfigDict(extra="forbid", frozen=True)


def _check_regexes(v: list[str]) -> list[str]:
    for expr in v:
        if re.match(r"\(\?[aiLmsux]+\)", expr):
            raise ValueError(f"{expr!r} starts with a global flag; scope it, e.g. (?i:...), as patterns are joined")
        try:
            re.compile(expr)
        except re.error as exc:
            raise ValueError(f"{expr!r} is not a valid regular expression ({exc}); fix or escape it") from exc
    return v


class Words(BaseModel):
    """Literal words per language: zh as substrings, en at word boundaries, case-insensitively."""

    model_config = _STRICT

    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)

    def pattern(self) -> re.Pattern[str] | None:
        return _words_pattern(self.zh, self.en)


class PhoneData(BaseModel):
    model_config = _STRICT

    keywords: Words
    #: Words right after a number that mark it as a phone number ("…, call me on that", "…，打这个就行").
    keywords_after: Words
    not_after: Words
    window: int = Field(default=16, ge=1, le=60)


class WechatData(BaseModel):
    model_config = _STRICT

    keywords: list[str] = Field(min_length=1)
    filler: list[str]
    strong: list[str]
    same_as_phone: Words

    _regexes = field_validator("keywords")(classmethod(lambda cls, v: _check_regexes(v)))


class EmailData(BaseModel):
    model_config = _STRICT

    at_words: list[str] = Field(min_length=1)
    dot_words: list[str] = Field(min_length=1)
    obfuscated_tlds: list[str] = Field(min_length=1)


class BudgetData(BaseModel):
    model_config = _STRICT

    keywords: Words
    not_after: Words
    not_before: Words
    zh_units: dict[str, str] = Field(min_length=1)
    zh_qualifiers: list[str]
    en_qualifiers: list[str]
    en_currency: list[str] = Field(min_length=1)
    en_scale: list[str]
    en_words: list[str]


class TimingData(BaseModel):
    model_config = _STRICT

    phrases: Words
    patterns: list[str] = Field(default_factory=list)

    _regexes = field_validator("patterns")(classmethod(lambda cls, v: _check_regexes(v)))


class City(BaseModel):
    """One city: its zh and en names (the canonical forms returned) and other ways to write it."""

    model_config = _STRICT

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    zh_aliases: list[str] = Field(default_factory=list)
    #: All-capital aliases ("HK", "NYC") match case-sensitively; others case-insensitively.
    en_aliases: list[str] = Field(default_factory=list)
    #: Phrases containing the zh name that are not about the city ("兰州拉面", "北京时间").
    not_in: list[str] = Field(default_factory=list)
    #: Outside mainland China: the en name needs a location word before it ("in Austin").
    world: bool = False


class CityData(BaseModel):
    model_config = _STRICT

    street_suffixes: Words
    cue_words: list[str] = Field(min_length=1)
    cities: list[City] = Field(min_length=1)


ReasonKey = Literal[
    "mobile_digits",
    "country_code",
    "us_digits",
    "cn_short",
    "phone_other",
    "email",
    "wechat_first_char",
    "wechat_shape",
]


def _reason(key: ReasonKey, lang: str, **slots: object) -> str:
    """What was wrong, in the person's language, from the data file (never the number itself)."""
    return contacts_data().reasons[key]["zh" if lang == "zh" else "en"].format(**slots)


class ContactsFile(BaseModel):
    """``adloom/data/agent/contacts.yaml``: the vocabulary of contact details (see the file's header)."""

    model_config = _STRICT

    digits: dict[str, str] = Field(min_length=1)
    digit_run_min: int = Field(default=5, ge=2, le=11)
    phone: PhoneData
    wechat: WechatData
    email: EmailData
    budget: BudgetData
    timing: TimingData
    city: CityData
    reasons: dict[ReasonKey, dict[Literal["zh", "en"], Annotated[str, StringConstraints(min_length=1)]]]

    @field_validator("reasons")
    @classmethod
    def _every_reason(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for key in get_args(ReasonKey):
            if set(v.get(key, {})) != {"zh", "en"}:
                raise ValueError(f"reasons.{key} needs a zh and an en wording")
        return v

    @field_validator("digits")
    @classmethod
    def _one_char_digits(cls, v: dict[str, str]) -> dict[str, str]:
        for k, d in v.items():
            if len(k) != 1 or len(d) != 1 or not d.isdigit() or k.isascii():
                raise ValueError(f"digits: {k!r}: {d!r} must map one non-ASCII character to one ASCII digit")
        return v


def contacts_data() -> ContactsFile:
    """The shipped contact vocabulary (validated once per process)."""
    return load_package_data(ContactsFile, "agent", "contacts.yaml")


def _by_length(words: Iterable[str]) -> list[str]:
    return sorted(set(words), key=lambda w: (-len(w), w))


def _words_pattern(zh: Iterable[str], en: Iterable[str]) -> re.Pattern[str] | None:
    parts = [re.escape(w) for w in _by_length(zh)]
    parts += [rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" for w in _by_length(en)]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Extracted:
    """The contact details one message gave, validated, and the ones it tried to give that did not validate."""

    phone: str | None = None  # CN mobile as 11 digits "13812345678"; other numbers E.164 "+14155550123"
    wechat: str | None = None  # WeChat ID as given (case kept), or the phone number when WeChat uses it
    email: str | None = None  # normalised by email-validator (domain lowercased)
    city: str | None = None  # canonical city name in the language it was said ("上海", "Shanghai")
    budget: str | None = None  # amount as said, normalised for display: "20万", "20-30万", "$30,000", "30k"
    timing: str | None = None  # phrase as said: "下个月", "年底前", "next month", "ASAP"
    #: (field, raw text, why) for things that look like a phone / email / WeChat ID but fail validation.
    invalid: tuple[tuple[ContactField, str, str], ...] = ()

    def fields(self) -> list[ContactField]:
        """The fields found, in :data:`CONTACT_FIELDS` order."""
        return [f for f in CONTACT_FIELDS if getattr(self, f) is not None]


# --------------------------------------------------------------------------- normalisation with an offset map


@dataclass
class _Mapped:
    """Text derived from the message, with the index in the message of each of its characters."""

    text: str
    src: list[int]

    def raw(self, original: str, start: int, end: int) -> str:
        """The message's own text behind ``self.text[start:end]``."""
        if start >= end:
            return ""
        return original[self.src[start] : self.src[end - 1] + 1].strip()

    def span(self, start: int, end: int) -> tuple[int, int]:
        return (self.src[start], self.src[end - 1] + 1) if start < end else (0, 0)


def _nfkc(text: str) -> _Mapped:
    out: list[str] = []
    src: list[int] = []
    for i, ch in enumerate(text):
        norm = unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        out.append(norm)
        src.extend([i] * len(norm))
    return _Mapped("".join(out), src)


_SEP = r"[ \t\u3000\-.·*_~—–]"
_MOBILE = re.compile(r"1[3-9]\d{9}")


@lru_cache(maxsize=4)
def _run_pattern(chars: str) -> re.Pattern[str]:
    d = f"[0-9{re.escape(chars)}]"
    return re.compile(rf"{d}(?:{_SEP}{{0,3}}{d})*")


def _looks_like_date(groups: list[str]) -> bool:
    return (
        len(groups) == 3
        and len(groups[0]) == 4
        and groups[0][:2] in ("19", "20")
        and all(1 <= len(g) <= 2 for g in groups[1:])
    )


def _normalise(m: _Mapped, digits: dict[str, str], run_min: int) -> _Mapped:
    """Chinese digits inside digit runs become ASCII; separated digit groups that add up to a phone-length
    number are joined (see :func:`normalise_digits`)."""
    out: list[str] = []
    src: list[int] = []
    pos = 0
    sep = re.compile(f"{_SEP}+")
    for run in _run_pattern("".join(sorted(digits))).finditer(m.text):
        out.append(m.text[pos : run.start()])
        src.extend(m.src[pos : run.start()])
        pos = run.end()
        text = run.group()
        # (digit group, its offsets in m) and the separators after each group
        pieces: list[tuple[str, list[int]]] = []
        seps: list[tuple[str, list[int]]] = []
        cursor = run.start()
        for s in sep.finditer(text):
            a, b = run.start() + s.start(), run.start() + s.end()
            pieces.append((m.text[cursor:a], m.src[cursor:a]))
            seps.append((m.text[a:b], m.src[a:b]))
            cursor = b
        pieces.append((m.text[cursor : run.end()], m.src[cursor : run.end()]))
        n_digits = sum(len(p) for p, _ in pieces)
        has_cjk = any(not c.isascii() for p, _ in pieces for c in p)
        convert = not has_cjk or n_digits >= run_min
        groups = ["".join(digits.get(c, c) for c in p) if convert else p for p, _ in pieces]
        if len(pieces) == 1 or not convert:
            join = [False] * len(seps)
        elif 7 <= n_digits <= 15 and not _looks_like_date(groups) and max(len(g) for g in groups) < 10:
            join = [True] * len(seps)
        else:
            join = _mobile_joins(groups)
        for i, (g, (_, offs)) in enumerate(zip(groups, pieces, strict=True)):
            out.append(g)
            src.extend(offs)
            if i < len(seps) and not join[i]:
                out.append(seps[i][0])
                src.extend(seps[i][1])
    out.append(m.text[pos:])
    src.extend(m.src[pos:])
    return _Mapped("".join(out), src)


def _mobile_joins(groups: list[str]) -> list[bool]:
    """For a long run of groups ("138 1234 5678 139 1234 5678"): join just the groups that make a mobile."""
    join = [False] * (len(groups) - 1)
    i = 0
    while i < len(groups):
        total, j = len(groups[i]), i
        while total < 11 and j + 1 < len(groups):
            j += 1
            total += len(groups[j])
        if j > i and total == 11 and _MOBILE.fullmatch("".join(groups[i : j + 1])):
            for k in range(i, j):
                join[k] = True
            i = j + 1
        else:
            i += 1
    return join


def normalise_digits(text: str) -> str:
    """``text`` with digits a person spelled out or spaced made plain: full-width digits become ASCII;
    Chinese digits (一…九, 零/〇, 幺, 两, 壹…玖) become ASCII only inside a run of digits (so "一下" and
    "三室两厅" stay words); groups separated by spaces, dashes, dots or "*" are joined when together they are
    phone-length (7–15 digits: "138 1234 5678" → "13812345678"), but not dates ("2025-01-15")."""
    data = contacts_data()
    m = _Mapped(
        "".join(chr(ord(c) - 0xFF10 + 0x30) if "０" <= c <= "９" else c for c in text),
        list(range(len(text))),
    )
    return _normalise(m, data.digits, data.digit_run_min).text


# --------------------------------------------------------------------------- compiled patterns


@dataclass(frozen=True)
class _Patterns:
    phone_kw: re.Pattern[str] | None
    phone_kw_after: re.Pattern[str] | None
    phone_not: re.Pattern[str] | None
    wechat_kw: re.Pattern[str]
    filler: list[str]
    strong: set[str]
    same_as_phone: re.Pattern[str] | None
    email: re.Pattern[str]
    at_words: frozenset[str]
    dot_words: frozenset[str]
    tlds: frozenset[str]
    budget_kw: re.Pattern[str] | None
    budget_not_after: re.Pattern[str] | None
    budget_not_before: re.Pattern[str] | None
    zh_budget: re.Pattern[str]
    en_budget: re.Pattern[str]
    timing: re.Pattern[str]
    cities: list[tuple[re.Pattern[str], str, City]] = field(default_factory=list)
    #: (lower-cased en name or alias, canonical en name), for a message that is only a city's name.
    city_names: list[tuple[str, str]] = field(default_factory=list)


_PHONE = re.compile(r"(?<![\d_])(?:(?:\+|00)\d{1,3} ?)?(?:\(\d{1,4}\) ?)?\d+(?!\d)")
_WECHAT_TOKEN = re.compile(r"\+?[A-Za-z0-9_\-]+")
_WECHAT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{5,19}")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_ZH_NUM = "零一二两三四五六七八九十百千"


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in _by_length(words))


_COMPILED: list[tuple[ContactsFile, _Patterns]] = []


def _compiled(data: ContactsFile) -> _Patterns:
    """The patterns of ``data``, compiled once per loaded data file (the loader reloads it when it changes)."""
    if _COMPILED and _COMPILED[0][0] is data:
        return _COMPILED[0][1]
    patterns = _compile(data)
    _COMPILED[:] = [(data, patterns)]
    return patterns


def _compile(data: ContactsFile) -> _Patterns:
    b = data.budget
    amt = rf"\d{{1,9}}(?:\.\d{{1,4}})?|[{_ZH_NUM}]{{1,6}}"
    unit = _alt(b.zh_units)
    zh_budget = re.compile(
        rf"(?<![\d.$£€¥{_ZH_NUM}])(?P<a>{amt})\s?(?:(?P<u1>{unit})(?![A-Za-z]))?"
        rf"(?:\s?(?:-|~|到|至|—)\s?(?P<b>{amt})\s?(?:(?P<u2>{unit})(?![A-Za-z]))?)?(?P<q>{_alt(b.zh_qualifiers)})?"
    )
    cur = _alt(b.en_currency)
    scale = _alt(b.en_scale)
    num = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?"
    en_budget = re.compile(
        rf"(?i:(?<![A-Za-z])(?P<q>{_alt(b.en_qualifiers)})\s+)?(?P<c1>{cur})?\s?(?P<a>{num})(?![\d,])"
        rf"(?:\s?(?P<k1>{scale})(?![A-Za-z]))?"
        rf"(?:\s?(?:-|~|to|and)\s?(?P<c2>{cur})?\s?(?P<b>{num})(?:\s?(?P<k2>{scale})(?![A-Za-z]))?)?"
        rf"(?:\s(?P<w>(?i:{_alt(b.en_words)}))(?![A-Za-z]))?"
    )
    e = data.email
    at = "|".join(["@", *(re.escape(w) for w in _by_length(e.at_words))])
    dot = "|".join([r"\.", *(re.escape(w) for w in _by_length(e.dot_words))])
    email = re.compile(
        rf"(?<![A-Za-z0-9._%+\-])(?P<local>[A-Za-z0-9._%+\-]{{1,64}})(?P<at>{at})"
        rf"(?P<domain>[A-Za-z0-9\-]{{1,63}}(?:(?:{dot})[A-Za-z0-9\-]{{1,63}}){{0,5}})(?![A-Za-z0-9\-])",
        re.IGNORECASE,
    )
    t = data.timing
    timing_parts = [re.escape(w) for w in _by_length(t.phrases.zh)]
    timing_parts += [rf"(?i:(?<![A-Za-z]){re.escape(w)}(?![A-Za-z]))" for w in _by_length(t.phrases.en)]
    timing_parts += [f"(?:{p})" for p in t.patterns]
    cities: list[tuple[re.Pattern[str], str, City]] = []
    street_zh = _alt(data.city.street_suffixes.zh)
    street_en = _alt(data.city.street_suffixes.en)
    cue = _alt(data.city.cue_words)
    for c in data.city.cities:
        for name in [c.zh, *c.zh_aliases]:
            cities.append((re.compile(rf"{re.escape(name)}(?!{street_zh})"), "zh", c))
        for name in [c.en, *c.en_aliases]:
            flags = 0 if name.isupper() else re.IGNORECASE
            body = rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])(?!\s+(?i:{street_en})\b)"
            if c.world:
                body = rf"(?:(?i:(?<![A-Za-z])(?:{cue}))\s+(?:the\s+)?(?:city\s+of\s+)?)(?P<n>{body})"
            else:
                body = f"(?P<n>{body})"
            cities.append((re.compile(body, flags), "en", c))
    return _Patterns(
        phone_kw=data.phone.keywords.pattern(),
        phone_kw_after=data.phone.keywords_after.pattern(),
        phone_not=data.phone.not_after.pattern(),
        wechat_kw=re.compile("|".join(f"(?:{k})" for k in data.wechat.keywords)),
        filler=_by_length([*data.wechat.filler, *data.wechat.strong]),
        strong={s.lower() for s in data.wechat.strong},
        same_as_phone=data.wechat.same_as_phone.pattern(),
        email=email,
        at_words=frozenset(w.lower() for w in e.at_words),
        dot_words=frozenset(w.lower() for w in e.dot_words),
        tlds=frozenset(t.lower() for t in e.obfuscated_tlds),
        budget_kw=b.keywords.pattern(),
        budget_not_after=_words_pattern(b.not_after.zh, b.not_after.en),
        budget_not_before=_words_pattern(b.not_before.zh, b.not_before.en),
        zh_budget=zh_budget,
        en_budget=en_budget,
        timing=re.compile("|".join(timing_parts)),
        cities=cities,
        city_names=[(n.lower(), c.en) for c in data.city.cities for n in [c.en, *c.en_aliases]],
    )


# --------------------------------------------------------------------------- phones


def _near_before(pattern: re.Pattern[str] | None, text: str, start: int, window: int) -> int | None:
    """Distance from the end of the last match of ``pattern`` within ``window`` characters before ``start``."""
    if pattern is None:
        return None
    lo = max(0, start - window)
    best = None
    for hit in pattern.finditer(text, lo, start):
        best = start - hit.end()
    return best


def _near_after(pattern: re.Pattern[str] | None, text: str, end: int, window: int) -> int | None:
    """Distance to the first match of ``pattern`` starting within ``window`` characters after ``end``."""
    if pattern is None:
        return None
    hit = pattern.search(text, end, min(len(text), end + window + 40))
    return hit.start() - end if hit is not None and hit.start() - end <= window else None


def _national_mobile(n: phonenumbers.PhoneNumber) -> str | None:
    national = str(n.national_number)
    if n.country_code == 86 and _MOBILE.fullmatch(national) and phonenumbers.is_possible_number(n):
        return national
    return None


def _parse(number: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None


def _plausible_in(digits: str, region: str) -> bool:
    """Whether digits written without a country code read as a number of ``region`` other than the message's
    own: a mainland mobile or a landline with its trunk 0 for CN; ten digits (or 1 + ten) for the US/Canada."""
    if region == "CN":
        return bool(_MOBILE.fullmatch(digits)) or (digits.startswith("0") and 10 <= len(digits) <= 12)
    if region == "US":
        return len(digits) == 10 or (len(digits) == 11 and digits.startswith("1"))
    return True


def _phone_value(candidate: str, region: str, loose: bool) -> str | None:
    """The stored form of ``candidate`` if it is a valid number, else None. ``loose``: the number was
    formatted like a phone or came after a phone word, so regions other than ``region`` are tried too."""
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith(("+", "00")):
        n = _parse("+" + (digits[2:] if candidate.startswith("00") else digits), None)
        if n is None:
            return None
        if phonenumbers.is_valid_number(n) or _national_mobile(n):
            return _national_mobile(n) or phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
        return None
    if len(digits) == 13 and digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        digits = digits[2:]
    regions = [region] + ([r for r in ("CN", "US") if r != region] if loose else [])
    if region != "CN" and _MOBILE.fullmatch(digits) and "CN" not in regions:
        regions.append("CN")  # a mainland mobile in an English message is still one
    for r in regions:
        if not _plausible_in(digits, r):
            continue  # "415-956-223" (a US number missing a digit) is no landline in 丹东
        n = _parse(digits, r)
        if n is not None and phonenumbers.is_valid_number(n):
            return _national_mobile(n) or phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
    if _MOBILE.fullmatch(digits):
        n = _parse(digits, "CN")
        if n is not None and _national_mobile(n):
            return digits  # a new mainland prefix the metadata does not know yet
    return None


def _phone_reason(raw: str, digits: str, region: str, lang: str) -> str:
    n = len(digits)
    if re.match(r"1[3-9]", digits) and n in (9, 10, 12):
        return _reason("mobile_digits", lang, n=n)
    if raw.lstrip().startswith(("+", "00")):
        return _reason("country_code", lang)
    if region == "US" and n != 10:
        return _reason("us_digits", lang, n=n)
    if region == "CN" and n < 11:
        return _reason("cn_short", lang, n=n)
    return _reason("phone_other", lang)


# --------------------------------------------------------------------------- extraction


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in taken)


def _default_region(text: str, language: Language | None) -> str:
    if language is not None:
        return "CN" if language == Language.zh else "US"
    return "CN" if len(_CJK.findall(text)) >= len(_LATIN.findall(text)) and _CJK.search(text) else "US"


def extract_contacts(text: str, language: Language | None = None, *, region: str | None = None) -> Extracted:
    """The contact details in one message (see the module docstring). ``region`` (ISO 3166, "CN", "US", ...)
    reads numbers written without "+"; by default "CN" for Chinese messages and "US" otherwise."""
    if not text or not text.strip():
        return Extracted()
    data = contacts_data()
    p = _compiled(data)
    region = (region or _default_region(text, language)).upper()
    base = _nfkc(text)
    norm = _normalise(base, data.digits, data.digit_run_min)
    invalid: list[tuple[ContactField, str, str]] = []
    taken: list[tuple[int, int]] = []  # spans of the message already read as an email / WeChat ID

    lang = "zh" if _default_region(text, language) == "CN" else "en"
    email = _find_email(text, norm, p, invalid, taken, lang)
    phone: str | None = None
    wechat, wechat_phone = _find_wechat(text, norm, p, region, invalid, taken, lang)
    if wechat_phone:
        phone = wechat_phone
    phone_invalid: list[tuple[ContactField, str, str]] = []
    for hit in _PHONE.finditer(norm.text):
        span = norm.span(hit.start(), hit.end())
        if _overlaps(span, taken):
            continue
        kw = _near_before(p.phone_kw, norm.text, hit.start(), data.phone.window)
        if kw is None:
            kw = _near_after(p.phone_kw_after, norm.text, hit.end(), 8)
        neg = _near_before(p.phone_not, norm.text, hit.start(), 8)
        if neg is not None and (kw is None or kw > neg):
            continue
        candidate = hit.group()
        formatted = any(c in norm.raw(text, hit.start(), hit.end()) for c in "()-+ ")
        value = _phone_value(candidate, region, loose=kw is not None or formatted)
        if value:
            phone = phone or value
            taken.append(span)
        elif kw is not None:
            digits = re.sub(r"\D", "", candidate)
            if 7 <= len(digits) <= 15:
                raw = norm.raw(text, hit.start(), hit.end())
                phone_invalid.append(("phone", raw, _phone_reason(raw, digits, region, lang)))
    if phone is None:
        invalid.extend(phone_invalid)
    if wechat is None and phone and p.same_as_phone and p.same_as_phone.search(norm.text):
        wechat = phone
    if wechat is not None:
        invalid = [i for i in invalid if i[0] != "wechat"]

    masked = _masked(base, taken)
    return Extracted(
        phone=phone,
        wechat=wechat,
        email=email,
        city=_find_city(masked, p),
        budget=_find_budget(masked, p, zh_first=_default_region(text, language) == "CN"),
        timing=_find_timing(text, masked, base, p),
        invalid=tuple(invalid),
    )


def _masked(base: _Mapped, taken: list[tuple[int, int]]) -> str:
    """The NFKC text with the characters of emails, WeChat IDs and phone numbers blanked out."""
    if not taken:
        return base.text
    return "".join(" " if _overlaps((s, s + 1), taken) else ch for ch, s in zip(base.text, base.src, strict=True))


def _find_email(
    text: str,
    norm: _Mapped,
    p: _Patterns,
    invalid: list[tuple[ContactField, str, str]],
    taken: list[tuple[int, int]],
    lang: str,
) -> str | None:
    found: str | None = None
    pos = 0
    while (hit := p.email.search(norm.text, pos)) is not None:
        pos = hit.start() + 1  # a rejected "me at anna.lee" must not hide "anna.lee@mail.co.uk"
        at = hit.group("at")
        real_at = at == "@"
        word_at = at.lower() == " at "
        domain = hit.group("domain")
        parts = re.split("|".join(re.escape(w) for w in _by_length([".", *p.dot_words])), domain, flags=re.I)
        dots = re.findall("|".join(re.escape(w) for w in _by_length([".", *p.dot_words])), domain, re.I)
        if not real_at:
            word_dot = any(d.lower() == " dot " for d in dots)
            if not dots or (word_at and not word_dot) or parts[-1].lower() not in p.tlds:
                continue
        address = f"{hit.group('local')}@{'.'.join(parts)}"
        raw = norm.raw(text, hit.start(), hit.end())
        try:
            checked = validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            if real_at:
                invalid.append(("email", raw, _reason("email", lang)))
            continue
        taken.append(norm.span(hit.start(), hit.end()))
        pos = hit.end()
        found = found or checked.normalized
    return found


def _find_wechat(
    text: str,
    norm: _Mapped,
    p: _Patterns,
    region: str,
    invalid: list[tuple[ContactField, str, str]],
    taken: list[tuple[int, int]],
    lang: str,
) -> tuple[str | None, str | None]:
    """(WeChat ID, phone number) from "微信号 xxx" / "wx: xxx"; a mobile number given as the ID is both."""
    s = norm.text
    scanned = 0
    for kw in p.wechat_kw.finditer(s):
        if kw.start() < scanned:
            continue  # "wechat" inside the ID just read
        pos = kw.end()
        strong = any(kw.group().lower().endswith(w) for w in p.strong)  # "微信号", "wechat id"
        for _ in range(4):  # words between the keyword and the ID
            while pos < len(s) and s[pos] in " \t:：,，=":
                strong = strong or s[pos] in ":：="
                pos += 1
            word = next((w for w in p.filler if s[pos : pos + len(w)].lower() == w.lower()), None)
            if word is None or (
                word.isascii() and word.isalpha() and s[pos + len(word) : pos + len(word) + 1].isalnum()
            ):
                break
            strong = strong or word.lower() in p.strong
            pos += len(word)
        tok = _WECHAT_TOKEN.match(s, pos)
        if tok is None:
            continue
        scanned = tok.end()
        span = norm.span(tok.start(), tok.end())
        if _overlaps(span, taken):
            continue
        value, raw = tok.group(), norm.raw(text, tok.start(), tok.end())
        if value.lstrip("+")[:1].isdigit():
            phone = _phone_value(value, region, loose=True)
            if phone:
                taken.append(span)
                return phone, phone
            invalid.append(("wechat", raw, _reason("wechat_first_char", lang)))
            continue
        marked = strong or any(c.isdigit() or c in "_-" for c in value)
        if _WECHAT_ID.fullmatch(value):
            if marked:
                taken.append(span)
                return value, None
            continue
        if not marked:
            continue
        invalid.append(("wechat", raw, _reason("wechat_shape", lang)))
    return None, None


def _find_city(masked: str, p: _Patterns) -> str | None:
    best: tuple[int, str] | None = None
    for pattern, lang, city in p.cities:
        for hit in pattern.finditer(masked):
            start = hit.start("n") if lang == "en" else hit.start()
            if best is not None and start >= best[0]:
                break
            if lang == "zh" and any(_inside(masked, start, hit.end(), phrase) for phrase in city.not_in):
                continue
            best = (start, city.zh if lang == "zh" else city.en)
            break
    if best is None:
        # a message that is only a city's name ("London", "Austin.") answers "which city?"
        bare = masked.strip(" .!。！,，").lower()
        for c in p.city_names:
            if bare == c[0]:
                return c[1]
    return best[1] if best else None


def _inside(text: str, start: int, end: int, phrase: str) -> bool:
    """Whether ``text[start:end]`` is part of an occurrence of ``phrase``."""
    lo = max(0, end - len(phrase))
    for hit in re.finditer(re.escape(phrase), text[lo : start + len(phrase)]):
        if hit.start() + lo <= start and hit.end() + lo >= end:
            return True
    return False


def _zh_amount(s: str) -> str | None:
    """Display form of an amount written in Chinese numerals ("二十" → "20", "二三十" → "20-30", "两三" → "2-3")."""
    d = contacts_data().digits
    if m := re.fullmatch("([一二两三四五六七八九])([一二两三四五六七八九])([十百千]?)", s):
        scale = {"": 1, "十": 10, "百": 100, "千": 1000}[m.group(3)]
        return f"{int(d[m.group(1)]) * scale}-{int(d[m.group(2)]) * scale}"
    total, current = 0, 0
    for ch in s:
        if ch in "十百千":
            mult = {"十": 10, "百": 100, "千": 1000}[ch]
            total += (current or 1) * mult
            current = 0
        elif ch in d:
            current = current * 10 + int(d[ch]) if current and ch != "零" else int(d[ch])
        else:
            return None
    total += current
    return str(total) if total else None


def _find_budget(masked: str, p: _Patterns, *, zh_first: bool) -> str | None:
    """The first amount said with a budget word, a unit (万, k, $) or a qualifier (左右, under); Chinese
    amount forms are tried first in a Chinese message, English ones first otherwise."""
    order = (_zh_budget, _en_budget) if zh_first else (_en_budget, _zh_budget)
    for find in order:
        found = find(masked, p)
        if found:
            return found
    return None


def _zh_budget(masked: str, p: _Patterns) -> str | None:
    b = contacts_data().budget
    for hit in p.zh_budget.finditer(masked):
        unit_raw = hit.group("u2") or hit.group("u1")
        unit = b.zh_units.get(unit_raw, "") if unit_raw else ""
        after = masked[hit.end() : hit.end() + 4]
        if p.budget_not_before is not None and p.budget_not_before.match(after):
            continue
        if _near_before(p.budget_not_after, masked, hit.start(), 6) is not None:
            continue
        keyword = _near_before(p.budget_kw, masked, hit.start(), 8) is not None
        if not (unit in ("万", "千", "k") or keyword or (unit and hit.group("q"))):
            continue
        amounts = []
        for g in ("a", "b"):
            v = hit.group(g)
            if v is None:
                continue
            amounts.append(v if v[0].isdigit() else _zh_amount(v))
        if any(a is None for a in amounts) or not amounts:
            continue
        shown = "-".join(a for a in amounts if a)
        return f"{shown}{unit}{hit.group('q') or ''}"
    return None


def _en_budget(masked: str, p: _Patterns) -> str | None:
    for hit in p.en_budget.finditer(masked):
        cur = hit.group("c1") or hit.group("c2")
        scale = hit.group("k1") or hit.group("k2")
        after = masked[hit.end() : hit.end() + 12]
        if p.budget_not_before is not None and p.budget_not_before.match(after.lstrip()):
            continue
        if _near_before(p.budget_not_after, masked, hit.start(), 20) is not None:
            continue
        keyword = _near_before(p.budget_kw, masked, hit.start(), 24) is not None
        if not (cur or scale or hit.group("w") or keyword):
            continue
        left = f"{hit.group('c1') or ''}{hit.group('a')}{hit.group('k1') or ''}"
        shown = left
        if hit.group("b"):
            shown += f"-{hit.group('c2') or ''}{hit.group('b')}{hit.group('k2') or ''}"
        if hit.group("w"):
            shown += f" {hit.group('w')}"
        q = hit.group("q")
        return f"{q.lower()} {shown}" if q and q.lower() != "between" else shown
    return None


def _find_timing(text: str, masked: str, base: _Mapped, p: _Patterns) -> str | None:
    hit = p.timing.search(masked)
    return base.raw(text, hit.start(), hit.end()) if hit else None
