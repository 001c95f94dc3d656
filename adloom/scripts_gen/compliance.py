"""Advertising-law compliance checks for Chinese and English ad copy.

Every line a script generator writes passes through :class:`ComplianceChecker`
before it reaches a render or a user. The checker finds terms that advertising
law forbids or that regulators routinely penalise: absolute claims (PRC
Advertising Law art. 9), medical claims outside medicine (art. 17), promised
returns (art. 25), unverifiable price and urgency claims (art. 28), and more.

The rules are data, not code: ``adloom/data/compliance/rules.yaml`` is the table
a legal reviewer edits, one entry per rule with its ``patterns`` (zh/en regular
expressions), context ``exceptions``, ``severity`` (block / rewrite / warn),
``why`` (the article) and ``suggestion`` (the compliant rewrite; ``''`` drops the
sentence; ``\\g<name>`` keeps a named group of the match and ``{a}`` becomes the article the
following noun needs, per the file's ``articles`` section). A suggestion never turns one claim
into another: a claim that cannot stand is dropped or reported. A project's own rules file
(setting ``compliance_terms``) has the same format and goes through the same loader,
:func:`load_rules_file`; the older ``terms:`` table of banned words per industry still loads
through it.
Regular expressions are compiled when a file is loaded, and a bad one is
reported with its file, key path and line.

Both languages' rules always apply, whatever language the copy declares: mixed
copy such as "全网No.1" or an English brand slogan inside Chinese narration is
common, and missing a violation costs more than checking a few extra patterns.
The declared language only breaks ties between two rules matching the same span
and picks the language of neutral replacement lines in :meth:`ComplianceChecker.clean_script`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from adloom.core.datafiles import DataFileError, load_yaml_nodes, package_data_path, validate_data
from adloom.core.errors import ComplianceError, InputError
from adloom.core.settings import get_settings
from adloom.core.types import ComplianceFinding, Industry, Language, Script

__all__ = [
    "Articles",
    "ComplianceChecker",
    "Rule",
    "RuleEntry",
    "RulesFile",
    "builtin_rules",
    "load_extra_rules",
    "load_rules_file",
]

_CJK = "\u4e00-\u9fff"
_MAX_PASSES = 4  # rewrite → re-check rounds before a line is given up as unfixable
_RULES_FILE = ("compliance", "rules.yaml")

Severity = Literal["block", "rewrite", "warn"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled-ready rule in one language, as the checker applies it.

    A :class:`RuleEntry` of the data file with patterns in both languages becomes
    two of these. Entries sharing an ``id`` form one rule family (e.g.
    ``absolute_claim``) and differ in patterns and suggested rewrite, so each
    rewrite can read naturally for the words it replaces.

    Attributes:
        id: The ``rule_id`` reported in findings.
        language: The language the patterns are written in; English patterns are
            matched case-insensitively with ASCII word boundaries, so they also
            match inside Chinese text ("全网No.1").
        patterns: Regular expressions; the matched text is the reported term.
        rule: A sentence naming the rule (the article), shown to people.
        suggestion: Replacement for the matched text; ``""`` means the sentence
            cannot be made compliant and must be dropped.
        industries: Industries the rule applies to; ``None`` means all.
        exceptions: Regular expressions for context that is not a claim; a match
            inside an exception's match is not flagged.
        negatable: Whether a negation right before a match makes it a disclaimer.
        severity: ``block`` drops the sentence, ``rewrite`` replaces the words,
            ``warn`` reports without changing the copy.
        jurisdiction: Where the rule comes from (``CN``, ``US``, ``EU``).
    """

    id: str
    language: Language
    patterns: tuple[str, ...]
    rule: str
    suggestion: str
    industries: frozenset[Industry] | None = None
    exceptions: tuple[str, ...] = ()
    negatable: bool = False
    severity: Severity = "rewrite"
    jurisdiction: tuple[str, ...] = ("CN",)

    def applies_to(self, industry: Industry) -> bool:
        """Whether the rule is in force for copy of ``industry``."""
        return self.industries is None or industry in self.industries


# --------------------------------------------------------------------------- the rules file schema


def _compiles(pattern: str) -> str:
    """A regular expression that compiles (checked at load, so a reviewer's typo names its line)."""
    if "{{" in pattern:
        name = pattern.split("{{", 1)[1].split("}}", 1)[0]
        raise ValueError(f"{{{{{name}}}}} names no entry of 'fragments'; add it there or fix the name")
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"regex {pattern!r} does not compile ({exc}); fix it or escape special characters") from None
    return pattern


Regex = Annotated[str, Field(min_length=1), AfterValidator(_compiles)]


class RuleEntry(BaseModel):
    """One rule of a rules file, as AD_LAW.md's last section describes it (see rules.yaml's header)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$", description="rule_id reported in findings")
    jurisdiction: list[Literal["CN", "US", "EU"]] = Field(default_factory=lambda: ["CN"])
    industries: Literal["all"] | list[Industry] = "all"
    patterns: dict[Language, list[Regex]] = Field(min_length=1)
    exceptions: list[Regex] = Field(default_factory=list)
    negatable: bool = False
    severity: Severity
    why: str = Field(min_length=1, description="the article: a key of 'reasons' or the sentence itself")
    suggestion: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> RuleEntry:
        if not any(self.patterns.values()):
            raise ValueError("patterns lists no regular expression; give at least one under zh or en")
        if self.severity == "block" and self.suggestion:
            raise ValueError("severity 'block' drops the sentence, so suggestion must be ''; use 'rewrite' to replace")
        if self.severity == "rewrite" and not self.suggestion:
            raise ValueError("severity 'rewrite' needs a suggestion; use 'block' to drop the sentence instead")
        for name in re.findall(r"\\g<(\w+)>", self.suggestion):
            for pattern in (p for ps in self.patterns.values() for p in ps):
                if name not in re.compile(pattern).groupindex:
                    raise ValueError(
                        f"suggestion inserts group \\g<{name}> but pattern {pattern!r} has no (?P<{name}>...); "
                        "name the group in every pattern or drop it from the suggestion"
                    )
        return self


class _ExtraTerm(BaseModel):
    """An entry of the older ``terms:`` table (still accepted)."""

    model_config = ConfigDict(extra="forbid")

    term: str = Field(min_length=1, description="Literal text to flag (a regex when regex=true).")
    suggestion: str = Field("", description="Replacement; empty drops the sentence.")
    rule: str = Field("", description="Sentence shown to people; a default names the file.")
    regex: bool = False


class Articles(BaseModel):
    """How the rewriter picks "a", "an" or no article for a suggestion's ``{a}`` (English only).

    "the best earbuds" becomes "great earbuds" and "the best phone" "a great phone": ``{a}`` is
    dropped before a plural noun or after a determiner ("our best serum"), and is "a" or "an" by
    the sound of the next word otherwise.
    """

    model_config = ConfigDict(extra="forbid")

    a_before: list[str] = Field(default_factory=list, description="vowel-letter word starts that take 'a' (uni, one)")
    an_before: list[str] = Field(default_factory=list, description="consonant-letter starts that take 'an' (hour)")
    singular_s: list[str] = Field(default_factory=list, description="words ending in s that are singular (glass)")
    phrase_end: list[str] = Field(default_factory=list, description="words that end a noun phrase (in, for, that)")
    verbs: list[str] = Field(default_factory=list, description="verbs that may follow the noun (keeps, built)")
    determiners: list[str] = Field(default_factory=list, description="words after which no article goes (our)")


class RulesFile(BaseModel):
    """A rules file: the shipped table and a project's own file have this one schema.

    ``terms`` is the older format (industry or ``all`` → banned terms); it is
    converted to rule entries on load, so old files keep working.
    """

    model_config = ConfigDict(extra="forbid")

    reasons: dict[str, str] = Field(default_factory=dict, description="short key → sentence, used by 'why'")
    fragments: dict[str, str] = Field(default_factory=dict, description="name → regex, inserted as {{name}}")
    negations: dict[Language, list[str]] = Field(default_factory=dict, description="words that negate a claim")
    rules: list[RuleEntry] = Field(default_factory=list)
    terms: dict[str, list[str | _ExtraTerm]] = Field(default_factory=dict)
    articles: Articles | None = Field(None, description="article choice for '{a}' in English suggestions")


# --------------------------------------------------------------------------- loading


def _has_cjk(text: str) -> bool:
    return re.search(f"[{_CJK}]", text) is not None


def _read_mapping(path: Path) -> tuple[Any, yaml.Node | None]:
    """The parsed content of a YAML or TOML rules file, with the YAML node tree for line numbers."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"compliance rules file {path} does not exist; fix the path (ADLOOM_COMPLIANCE_TERMS "
            "or the extra_terms argument) or remove the setting",
            field="compliance_terms",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"compliance rules file {path} cannot be read as UTF-8 text ({exc}); check the file",
            field="compliance_terms",
        ) from exc
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        nodes = load_yaml_nodes(raw, str(path))
        return yaml.safe_load(raw), nodes
    if suffix == ".toml":
        try:
            return tomllib.loads(raw), None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(
                f"compliance rules file {path} is not valid TOML: {exc}; fix the syntax", field="compliance_terms"
            ) from exc
    raise InputError(
        f"compliance rules file {path} has extension {suffix or '(none)'!r}; use .yaml, .yml or .toml",
        field="compliance_terms",
    )


def _expand_fragments(data: Any) -> Any:
    """``{{name}}`` in patterns and exceptions replaced by the file's ``fragments`` (before validation,
    so a bad result is reported at the pattern's own line). Unknown names are left for the schema."""
    if not isinstance(data, dict) or not isinstance(data.get("fragments"), dict):
        return data
    fragments = {str(k): str(v) for k, v in data["fragments"].items()}

    def expand(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        for name, fragment in fragments.items():
            value = value.replace("{{" + name + "}}", fragment)
        return value

    for entry in data.get("rules") or []:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("patterns"), dict):
            entry["patterns"] = {
                k: [expand(p) for p in v] if isinstance(v, list) else v for k, v in entry["patterns"].items()
            }
        if isinstance(entry.get("exceptions"), list):
            entry["exceptions"] = [expand(p) for p in entry["exceptions"]]
    return data


def _flags(language: Language) -> int:
    # English: case-insensitive, and ASCII so \b sees CJK as a boundary ("全网No.1").
    return re.IGNORECASE | re.ASCII if language is Language.en else re.IGNORECASE


def _legacy_terms(parsed: RulesFile, path: Path) -> list[Rule]:
    """Rules from the older ``terms:`` table: one rule per term, dropped or replaced where found."""
    valid = ", ".join(["all", *(i.value for i in Industry)])
    rules: list[Rule] = []
    for key, entries in parsed.terms.items():
        if key == "all":
            industries: frozenset[Industry] | None = None
            rule_id = "extra_term"
        elif key in {i.value for i in Industry}:
            industries = frozenset({Industry(key)})
            rule_id = f"extra_term.{key}"
        else:
            raise InputError(
                f"compliance rules file {path} names unknown industry {key!r} under terms; use one of: {valid}",
                field="compliance_terms",
            )
        for i, entry in enumerate(entries):
            item = _ExtraTerm(term=entry) if isinstance(entry, str) else entry
            if not item.term.strip():
                raise InputError(
                    f"compliance rules file {path}: terms.{key}[{i}] is blank; give the text to flag",
                    field="compliance_terms",
                )
            language = Language.zh if _has_cjk(item.term) else Language.en
            if item.regex:
                pattern = item.term
            else:
                pattern = re.escape(item.term)
                if language is Language.en:  # whole words only, so "cure" does not hit "secure"
                    pattern = (r"\b" if item.term[0].isalnum() else "") + pattern
                    pattern += r"\b" if item.term[-1].isalnum() else ""
            try:
                re.compile(pattern, _flags(language))
            except re.error as exc:
                raise InputError(
                    f"compliance rules file {path}: terms.{key}[{i}] regex {item.term!r} is invalid ({exc}); "
                    "fix it or set regex: false",
                    field="compliance_terms",
                ) from exc
            rules.append(
                Rule(
                    id=rule_id,
                    language=language,
                    patterns=(pattern,),
                    rule=item.rule or f"Term banned for {key} by the project's compliance terms file {path.name}.",
                    suggestion=item.suggestion,
                    industries=industries,
                    severity="rewrite" if item.suggestion else "block",
                )
            )
    return rules


def _entry_rules(entry: RuleEntry, reasons: dict[str, str]) -> list[Rule]:
    """The checker's rules for one entry: one per language it has patterns in (zh first)."""
    industries = None if entry.industries == "all" else frozenset(entry.industries)
    return [
        Rule(
            id=entry.id,
            language=language,
            patterns=tuple(entry.patterns[language]),
            rule=reasons.get(entry.why, entry.why),
            suggestion=entry.suggestion,
            industries=industries,
            exceptions=tuple(entry.exceptions),
            negatable=entry.negatable,
            severity=entry.severity,
            jurisdiction=tuple(entry.jurisdiction),
        )
        for language in (Language.zh, Language.en)
        if entry.patterns.get(language)
    ]


def _parse(path: Path, data: Any, nodes: yaml.Node | None) -> RulesFile:
    try:
        return validate_data(_expand_fragments(data), RulesFile, nodes=nodes, source=str(path))
    except DataFileError as exc:
        raise DataFileError(
            f"{exc} (a compliance rules file holds 'rules:' entries in the format of "
            "adloom/data/compliance/rules.yaml, or the older 'terms:' table of industry → terms)",
            field="compliance_terms",
        ) from exc


@dataclass(frozen=True, slots=True)
class _RuleSet:
    rules: tuple[Rule, ...]
    negations: dict[Language, tuple[str, ...]]
    articles: Articles | None = None


def _load(path: Path, base_reasons: dict[str, str]) -> tuple[_RuleSet, dict[str, str]]:
    data, nodes = _read_mapping(path)
    if data is None:
        data = {}
    parsed = _parse(path, data, nodes)
    reasons = {**base_reasons, **parsed.reasons}
    rules = [r for entry in parsed.rules for r in _entry_rules(entry, reasons)]
    rules += _legacy_terms(parsed, path)
    negations = {lang: tuple(words) for lang, words in parsed.negations.items()}
    return _RuleSet(tuple(rules), negations, parsed.articles), reasons


@lru_cache(maxsize=1)
def _shipped() -> tuple[_RuleSet, dict[str, str]]:
    """The shipped table (``adloom/data/compliance/rules.yaml``), read once on first use (not at import)."""
    path = package_data_path(*_RULES_FILE)
    if not path.is_file():
        raise DataFileError(f"{path}: shipped compliance rules missing; reinstall adloom")
    return _load(path, {})


def builtin_rules() -> tuple[Rule, ...]:
    """The shipped rule table, in file order."""
    return _shipped()[0].rules


def load_rules_file(path: Path) -> tuple[Rule, ...]:
    """Rules from a project's rules file (YAML or TOML), in the shipped table's format.

    The file may hold ``rules:`` entries exactly like ``adloom/data/compliance/rules.yaml``
    (their ``why`` may use the shipped ``reasons`` keys) and/or the older ``terms:`` table::

        rules:
          - id: house_style.hype
            industries: [beauty]
            patterns: {zh: ['速效'], en: ['\\binstant results\\b']}
            severity: rewrite
            why: Our brand guide bans hype words.
            suggestion: 看得见的
        terms:                       # older format: industry or all → terms
          all:
            - {term: "爆款", suggestion: "热门"}

    Raises:
        InputError: naming the file, the key path and its line when the file is
            missing, unparsable, has unknown keys or industries, or a bad regex.
    """
    ruleset, _ = _load(Path(path), _shipped()[1])
    return ruleset.rules


def load_extra_rules(path: Path) -> tuple[Rule, ...]:
    """Older name of :func:`load_rules_file`, kept for callers of the extra-terms API."""
    return load_rules_file(path)


def __getattr__(name: str) -> Any:
    """``RULES`` (the shipped table) is read lazily: no file reads at import."""
    if name == "RULES":
        return builtin_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- compiled rules


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    regexes: tuple[re.Pattern[str], ...]
    exceptions: tuple[re.Pattern[str], ...]
    order: int


def _compile(rules: tuple[Rule, ...], start: int = 0) -> tuple[_Compiled, ...]:
    def flags_for(pattern: str) -> int:
        return _flags(Language.zh if _has_cjk(pattern) else Language.en)

    return tuple(
        _Compiled(
            r,
            tuple(re.compile(p, _flags(r.language)) for p in r.patterns),
            tuple(re.compile(p, flags_for(p)) for p in r.exceptions),
            start + i,
        )
        for i, r in enumerate(rules)
    )


@lru_cache(maxsize=1)
def _builtin() -> tuple[_Compiled, ...]:
    """The built-in table, compiled once on first use (not at import)."""
    return _compile(builtin_rules())


def _negation_regex(words: dict[Language, tuple[str, ...]]) -> dict[Language, re.Pattern[str]]:
    """Per language, a regex matching text that ENDS in a negation (the context right before a claim).

    Chinese: a negation word right before the claim ("不保证", "并不能保证", "不承诺保本"), so that
    "不错的保本理财" stays a claim; English: a negation word at most two words before it ("returns
    are not guaranteed", "no promise it will appreciate").
    """

    def alternatives(language: Language) -> str:
        ordered = sorted(words.get(language, ()), key=len, reverse=True)
        # English words whole ("no" not inside "know"); "n't" and Chinese words as they are ("can't", "并不")
        return "|".join(rf"\b{re.escape(w)}\b" if w.isascii() and w.isalpha() else re.escape(w) for w in ordered)

    out: dict[Language, re.Pattern[str]] = {}
    if zh := alternatives(Language.zh):
        out[Language.zh] = re.compile(rf"(?:{zh})$")
    if en := alternatives(Language.en):
        out[Language.en] = re.compile(rf"(?:{en})(?:\s+[\w'-]+){{0,2}}\s+$", re.IGNORECASE | re.ASCII)
    return out


# --------------------------------------------------------------------------- helpers

_TERMINATORS = "。！？!?；;…\n"


_CLAUSE_END = re.compile(r"(?<=[,，;；])")
_SENTENCE_END = re.compile(r"[.!?。！？…]+[\"'”’)）]*$")


def _without_clauses(sentence: str, offsets: list[int], language: Language | str) -> str | None:
    """``sentence`` without the clauses (split at , ， ; ；) holding ``offsets``, closed with its own end mark;
    ``None`` when nothing with a word would be left."""
    lead = sentence[: len(sentence) - len(sentence.lstrip())]
    body = sentence.strip()
    trail = sentence[len(lead) + len(body) :]
    end_mark = _SENTENCE_END.search(body)
    end = end_mark.group(0) if end_mark else ""
    core = body[: len(body) - len(end)]
    kept, pos, dropped = [], len(lead), False
    for part in _CLAUSE_END.split(core):
        a, b = pos, pos + len(part)
        pos = b
        if any(a <= o < b for o in offsets):
            dropped = True
            continue
        kept.append(part)
    rest = "".join(kept).strip().rstrip(",，;； ")
    if not dropped or not kept or not re.search(r"\w", rest):
        return None
    if rest[0].islower() and body[0].isupper():
        rest = rest[0].upper() + rest[1:]
    zh = str(getattr(language, "value", language)).startswith("zh")
    return lead + rest + (end or ("。" if zh else ".")) + trail


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into sentences as ``(start, end)`` spans covering it entirely.

    A sentence ends after a run of terminators (and the whitespace after it);
    a "." ends one only when followed by whitespace or the end, so "No.1" and
    "3.5" stay whole.
    """
    spans: list[tuple[int, int]] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        ends = ch in _TERMINATORS or (ch == "." and (i + 1 == n or text[i + 1].isspace()) and not _numbered(text, i))
        i += 1
        if ends:
            while i < n and (text[i] in _TERMINATORS or text[i] in "\"'”’)）" or text[i].isspace()):
                i += 1
            spans.append((start, i))
            start = i
    if start < n:
        spans.append((start, n))
    return spans


def _numbered(text: str, dot: int) -> bool:
    """Whether the "." at ``dot`` abbreviates "number" ("No. 1"), so it ends no sentence."""
    return text[max(0, dot - 3) : dot].lower().lstrip() in ("no", " no") and text[dot + 1 :].lstrip()[:1].isdigit()


def _as_language(value: Language | str) -> Language:
    try:
        return Language(value)
    except ValueError:
        raise InputError(
            f"language {value!r} is not supported by the compliance checker; use one of: "
            + ", ".join(lang.value for lang in Language),
            field="language",
        ) from None


def _as_industry(value: Industry | str) -> Industry:
    try:
        return Industry(value)
    except ValueError:
        raise InputError(
            f"industry {value!r} is unknown to the compliance checker; use one of: "
            + ", ".join(i.value for i in Industry),
            field="industry",
        ) from None


def _article(own: str, after: str, previous: str, articles: Articles, modifiers: int) -> str:
    """The article ("a", "an" or "") before a suggestion's words ``own`` and the copy ``after`` them.

    None after a determiner (``previous`` is the word before), before a plural head noun, or when
    nothing but the suggestion's own ``modifiers`` (its words not taken from the match) follows:
    "this is the cheapest." becomes "this is affordable.", not "an affordable".
    """
    if previous.lower().strip(",") in articles.determiners or previous.endswith(("'s", "’s")):
        return ""
    stops = {*articles.phrase_end, *articles.determiners, *articles.verbs}
    words: list[str] = []
    for m in re.finditer(r"[A-Za-z][\w'’-]*|[^\sA-Za-z]", f"{own} {after}"):
        word = m.group(0)
        if not word[0].isalpha() or (words and word.lower() in stops):
            break
        words.append(word)
    if len(words) <= modifiers:  # an adjective with no noun after it takes no article
        return ""
    head = words[-1].lower()
    plural = head.endswith("s") and not head.endswith(("ss", "us", "is")) and head not in articles.singular_s
    if plural:
        return ""
    first = words[0].lower()
    vowel = first[0] in "aeiou" and not first.startswith(tuple(articles.a_before))
    return "an" if vowel or first.startswith(tuple(articles.an_before)) else "a"


def _match_case(suggestion: str, term: str, at_sentence_start: bool) -> str:
    """Capitalise an English suggestion that opens a sentence ("The best" → "A great", "#1" → "Leading")."""
    opener = term[:1].isupper() or not term[:1].isalpha()  # "The best", "#1 in Japan"
    if at_sentence_start and suggestion and opener and suggestion[0].islower():
        return suggestion[0].upper() + suggestion[1:]
    return suggestion


# Neutral lines that replace a required field whose copy had to be dropped.
_NEUTRAL: dict[Language, dict[str, str]] = {
    Language.zh: {
        "title": "好物推荐",
        "hook": "一起来看看这款好物。",
        "cta": "点击了解更多。",
        "visual": "产品特写镜头",
    },
    Language.en: {
        "title": "Product highlights",
        "hook": "Here is something worth a look.",
        "cta": "Tap to learn more.",
        "visual": "Close-up of the product",
    },
}
# Length limits of Script text fields (core.types); a rewrite that outgrows one is dropped.
_LIMITS = {"title": 120, "selling_points": 120, "caption": 60}
_DEFAULT_LIMIT = 400


def _script_fields(script: Script) -> Iterator[tuple[str, str]]:
    """Every user-visible text field of ``script`` as ``(field name, text)``."""
    yield "title", script.title
    yield "hook", script.hook
    yield "cta", script.cta
    for i, point in enumerate(script.selling_points):
        yield f"selling_points[{i}]", point
    for shot in script.shots:
        yield f"shots[{shot.index}].narration", shot.narration
        yield f"shots[{shot.index}].caption", shot.caption
        yield f"shots[{shot.index}].visual", shot.visual


# --------------------------------------------------------------------------- the checker


class ComplianceChecker:
    """Finds and fixes advertising-law problems in ad copy.

    Args:
        extra_terms: A project's rules file (YAML or TOML, the shipped table's
            format or the older ``terms:`` table; see :func:`load_rules_file`);
            defaults to ``settings.compliance_terms``. Read once, here.
        rules_file: A replacement for the shipped table (same format), e.g. a
            legal reviewer's edited copy of ``adloom/data/compliance/rules.yaml``
            being tried out; ``None`` uses the shipped table.
    """

    def __init__(self, extra_terms: Path | None = None, *, rules_file: Path | None = None) -> None:
        path = extra_terms if extra_terms is not None else get_settings().compliance_terms
        self.extra_terms: Path | None = path
        shipped, reasons = _shipped() if rules_file is None else _load(Path(rules_file), {})
        base = _builtin() if rules_file is None else _compile(shipped.rules)
        negations = dict(shipped.negations)
        extra: tuple[Rule, ...] = ()
        if path is not None:
            own, _ = _load(Path(path), reasons)
            extra = own.rules
            for language, words in own.negations.items():
                negations[language] = negations.get(language, ()) + words
        self._rules: tuple[_Compiled, ...] = base + _compile(extra, start=len(shipped.rules))
        self._negation = _negation_regex(negations)
        self._articles = shipped.articles or Articles()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule in force: the built-in table, then the extra terms."""
        return tuple(c.rule for c in self._rules)

    def check(
        self, text: str, *, language: Language | str, industry: Industry | str, field: str = ""
    ) -> list[ComplianceFinding]:
        """Findings in ``text``, ordered by position, never overlapping.

        Rules of both languages apply (mixed copy is common). Where matches
        overlap, the earliest wins, then the longest, then an industry-specific
        rule over a general one, then a rule in the declared ``language``, then
        table order. A match inside one of its rule's exceptions, or (for a
        negatable rule) right after a negation, is not a finding.
        """
        return [f for f, _ in self._scan(text, language=language, industry=industry, field=field)]

    def _negated(self, text: str, start: int) -> bool:
        """Whether the clause before ``start`` ends in a negation ("不保证", "are not guaranteed")."""
        before = re.split(r"[。！？!?；;，,：:\n]|\.\s", text[max(0, start - 40) : start])[-1]
        return any(regex.search(before) for regex in self._negation.values())

    def _scan(
        self, text: str, *, language: Language | str, industry: Industry | str, field: str = ""
    ) -> list[tuple[ComplianceFinding, Rule]]:
        """:meth:`check`'s findings, each with the rule that produced it (for its severity)."""
        lang, ind = _as_language(language), _as_industry(industry)
        candidates: list[tuple[tuple[int, int, int, int, int], int, int, Rule, re.Match[str]]] = []
        for compiled in self._rules:
            rule = compiled.rule
            if not rule.applies_to(ind):
                continue
            excepted = [m.span() for ex in compiled.exceptions for m in ex.finditer(text)]
            for regex in compiled.regexes:
                for m in regex.finditer(text):
                    s, e = m.span()
                    if e == s or any(a <= s and e <= b for a, b in excepted):
                        continue
                    if rule.negatable and self._negated(text, s):
                        continue
                    key = (s, s - e, rule.industries is None, rule.language is not lang, compiled.order)
                    candidates.append((key, s, e, rule, m))
        candidates.sort(key=lambda c: c[0])
        found: list[tuple[ComplianceFinding, Rule]] = []
        taken_until = 0
        for _, s, e, rule, m in candidates:
            if s < taken_until:
                continue
            taken_until = e
            finding = ComplianceFinding(
                term=text[s:e],
                rule_id=rule.id,
                rule=rule.rule,
                suggestion=self._suggestion(rule, m, text),
                field=field,
                start=s,
                end=e,
            )
            found.append((finding, rule))
        return found

    def _suggestion(self, rule: Rule, match: re.Match[str], text: str) -> str:
        """The rule's suggestion for one match: ``\\g<name>`` groups filled in from the match (so a
        rewrite of a whole phrase keeps its noun) and ``{a}`` turned into the article the words
        after it need ("a great phone", "great earbuds", "our great serum")."""
        suggestion = rule.suggestion
        if "\\g<" in suggestion:
            suggestion = match.expand(suggestion)
        if "{a}" not in suggestion:
            return suggestion
        head, tail = suggestion.split("{a}", 1)
        before = (text[: match.start()] + head).split()
        modifiers = len(re.sub(r"\\g<\w+>", "", rule.suggestion.split("{a}", 1)[1]).split())
        article = _article(tail, text[match.end() :], before[-1] if before else "", self._articles, modifiers)
        return re.sub(r"\s{2,}", " ", f"{head}{article}{tail}").strip()

    def _to_fix(
        self, text: str, *, language: Language | str, industry: Industry | str, field: str = ""
    ) -> list[ComplianceFinding]:
        """Findings the copy must change for: every severity but ``warn``."""
        scanned = self._scan(text, language=language, industry=industry, field=field)
        return [f for f, rule in scanned if rule.severity != "warn"]

    def warnings(
        self, text: str, *, language: Language | str, industry: Industry | str, field: str = ""
    ) -> list[ComplianceFinding]:
        """Findings of ``warn`` rules: reported to the advertiser, never rewritten."""
        scanned = self._scan(text, language=language, industry=industry, field=field)
        return [f for f, rule in scanned if rule.severity == "warn"]

    def rewrite(
        self,
        text: str,
        *,
        language: Language | str,
        industry: Industry | str,
        field: str = "",
        keep_clauses: bool = False,
    ) -> tuple[str | None, list[ComplianceFinding]]:
        """Apply the suggestions to ``text`` until it checks clean.

        A finding whose suggestion is empty drops its whole sentence; the rest of
        the line is kept. With ``keep_clauses`` (the console's one-click fix of a
        line a person typed) only the clauses holding such findings go, when the
        sentence has others: "The best serum, it cures dry skin" becomes "A great
        serum." rather than nothing. Findings of ``warn`` rules are left in place (see
        :meth:`warnings`). Returns ``(new_text, fixed_findings)``, where new_text
        is ``None`` when nothing compliant is left (the line must be dropped) or
        when it does not converge. Offsets of findings from a second pass refer
        to the text as rewritten by the first.
        """
        current = text
        fixed: list[ComplianceFinding] = []
        for _ in range(_MAX_PASSES):
            findings = self._to_fix(current, language=language, industry=industry, field=field)
            if not findings:
                return current, fixed
            fixed.extend(findings)
            pieces: list[str] = []
            for s_start, s_end in _sentence_spans(current):
                inside = [f for f in findings if s_start <= f.start < s_end]
                if any(f.suggestion == "" for f in inside):
                    drop = [f.start - s_start for f in inside if f.suggestion == ""]
                    kept = _without_clauses(current[s_start:s_end], drop, language) if keep_clauses else None
                    if kept is not None:
                        pieces.append(kept)  # the other findings in it are fixed on the next pass
                    continue
                sentence = current[s_start:s_end]
                lead = len(sentence) - len(sentence.lstrip())
                for f in sorted(inside, key=lambda f: f.start, reverse=True):
                    a, b = f.start - s_start, f.end - s_start
                    sentence = sentence[:a] + _match_case(f.suggestion, f.term, a == lead) + sentence[b:]
                pieces.append(sentence)
            current = "".join(pieces).strip()
            if not re.search(r"\w", current):
                return None, fixed
        if self._to_fix(current, language=language, industry=industry, field=field):
            return None, fixed
        return current, fixed

    def _warnings_of(self, script: Script) -> list[ComplianceFinding]:
        found: list[ComplianceFinding] = []
        for name, text in _script_fields(script):
            if text:
                found += self.warnings(text, language=script.language, industry=script.industry, field=name)
        return found

    def check_script(self, script: Script) -> list[ComplianceFinding]:
        """Findings in every text field of ``script``, each with ``field`` set (e.g. ``shots[2].narration``)."""
        findings: list[ComplianceFinding] = []
        for name, text in _script_fields(script):
            if text:
                findings.extend(self.check(text, language=script.language, industry=script.industry, field=name))
        return findings

    def clean_script(self, script: Script) -> Script:
        """A compliant copy of ``script``: violating lines rewritten or dropped.

        Dropped narration and captions become ``""``; dropped selling points are
        removed; a dropped title, hook, CTA or shot visual gets a neutral line in
        the script's language. The fixed findings are appended to
        ``compliance`` and one note per fix to ``provenance.notes``. The input is
        not modified.

        Raises:
            ComplianceError: if the result still has findings (only possible when
                extra terms ban the neutral replacement lines themselves).
        """
        neutral = _NEUTRAL[script.language]
        fixed: list[ComplianceFinding] = []
        notes: list[str] = []

        def clean(name: str, text: str, kind: str) -> str | None:
            if not text:
                return text
            new, found = self.rewrite(text, language=script.language, industry=script.industry, field=name)
            if new is not None and len(new) > _LIMITS.get(kind, _DEFAULT_LIMIT):
                new = None
            replacement = neutral.get(kind) if new is None else None
            for f in found:
                if f.suggestion:
                    action = f"{f.term!r} → {f.suggestion!r}"
                else:
                    action = f"dropped the sentence with {f.term!r}"
                if new is None:
                    action += f"; line replaced by {replacement!r}" if replacement else "; line dropped"
                notes.append(f"compliance {f.rule_id} in {name}: {action}")
            fixed.extend(found)
            if new:  # warn rules: the copy stays, the advertiser is told
                for w in self.warnings(new, language=script.language, industry=script.industry, field=name):
                    notes.append(f"compliance warning {w.rule_id} in {name}: {w.term!r} kept; {w.rule}")
                    fixed.append(w)
            return replacement if new is None else new

        data = script.model_dump(exclude={"duration_s"})
        for key in ("title", "hook", "cta"):
            data[key] = clean(key, data[key], key)
        points = [clean(f"selling_points[{i}]", p, "selling_points") for i, p in enumerate(data["selling_points"])]
        data["selling_points"] = [p for p in points if p]
        for shot in data["shots"]:
            i = shot["index"]
            shot["narration"] = clean(f"shots[{i}].narration", shot["narration"], "narration") or ""
            shot["caption"] = clean(f"shots[{i}].caption", shot["caption"], "caption") or ""
            shot["visual"] = clean(f"shots[{i}].visual", shot["visual"], "visual") or ""
        data["compliance"] = [*data["compliance"], *(f.model_dump() for f in fixed)]
        data["provenance"]["notes"] = [*data["provenance"]["notes"], *notes]
        result = Script.model_validate(data)

        left = [f for f in self.check_script(result) if f not in self._warnings_of(result)]
        if left:
            where = ", ".join(f"{f.field}: {f.term!r} ({f.rule_id})" for f in left)
            raise ComplianceError(
                f"script {script.id} still violates advertising rules after cleaning ({where}); "
                "the extra compliance terms likely ban a neutral replacement line; relax that term"
            )
        return result
