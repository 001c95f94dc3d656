"""Advertising-law compliance checks for Chinese and English ad copy.

Every line a script generator writes passes through :class:`ComplianceChecker`
before it reaches a render or a user. The checker finds terms that advertising
law forbids or that regulators routinely penalise:

* absolute / superlative claims (PRC Advertising Law art. 9(3): 最, 第一, 国家级,
  "best", "#1", "guaranteed", ...), in every industry;
* medical or therapeutic claims (art. 17) for cosmetics and for food;
* promises of principal protection or returns for finance (art. 25);
* unverifiable price and urgency claims (全网最低价, "lowest price ever").

The rules are data: :data:`RULES` is a table of :class:`Rule` entries, each with
its patterns, the sentence a person reads, and the suggested rewrite (an empty
suggestion means the sentence cannot be saved and must be dropped). Projects add
their own banned terms per industry in a YAML or TOML file (see
:func:`load_extra_rules`).

Both languages' rules always apply, whatever language the copy declares: mixed
copy such as "全网No.1" or an English brand slogan inside Chinese narration is
common, and missing a violation costs more than checking a few extra patterns.
The declared language only breaks ties between two rules matching the same span
and picks the language of neutral replacement lines in :meth:`ComplianceChecker.clean_script`.

Context matters in Chinese: 最 inside words that are not claims (最近, 最后, 最初,
最多 as "at most", 最好 as "you had better") and 第一 as an ordinal (第一次, 第一步,
an enumeration "第一，...") are not flagged; likewise "best before", "do your best"
and "money-back guarantee" in English, and "100%纯棉" (a composition fact).
美白 on its own is a registered special-use cosmetics claim and is flagged only in
medical framing (永久美白, 美白针).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adloom.core.errors import ComplianceError, InputError
from adloom.core.settings import get_settings
from adloom.core.types import ComplianceFinding, Industry, Language, Script

__all__ = [
    "RULES",
    "ComplianceChecker",
    "Rule",
    "load_extra_rules",
]

_CJK = "\u4e00-\u9fff"
_MAX_PASSES = 4  # rewrite → re-check rounds before a line is given up as unfixable


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the rule table.

    Entries sharing an ``id`` form one rule family (e.g. ``absolute_claim``) and
    differ only in patterns and suggested rewrite, so each rewrite can read
    naturally for the words it replaces.

    Attributes:
        id: The ``rule_id`` reported in findings.
        language: The language the patterns are written in; English patterns are
            matched case-insensitively with ASCII word boundaries, so they also
            match inside Chinese text ("全网No.1").
        patterns: Regular expressions; the matched text is the reported term.
        rule: A sentence naming the rule, shown to people.
        suggestion: Replacement for the matched text; ``""`` means the sentence
            cannot be made compliant and must be dropped.
        industries: Industries the rule applies to; ``None`` means all.
    """

    id: str
    language: Language
    patterns: tuple[str, ...]
    rule: str
    suggestion: str
    industries: frozenset[Industry] | None = None

    def applies_to(self, industry: Industry) -> bool:
        """Whether the rule is in force for copy of ``industry``."""
        return self.industries is None or industry in self.industries


# --------------------------------------------------------------------------- rule table

_ABSOLUTE = (
    "Ads may not use absolute or superlative claims such as 'best', 'No. 1', 'only' or "
    "'national-level' (PRC Advertising Law art. 9(3); unsubstantiated superlatives elsewhere)."
)
_MED_BEAUTY = (
    "Cosmetics ads may not claim to treat, cure or prevent disease or use medical terms "
    "(PRC Advertising Law art. 17; cosmetics claims rules)."
)
_MED_FOOD = (
    "Food ads may not claim to treat or prevent disease, lower blood pressure or sugar, "
    "fight cancer or cause weight loss (PRC Advertising Law art. 17-18)."
)
_FINANCE = "Investment ads may not promise returns, principal protection or no risk (PRC Advertising Law art. 25)."
_PRICE = (
    "Price and urgency claims such as 'lowest price anywhere' must be verifiable; "
    "unsupported ones mislead consumers (PRC Advertising Law art. 28; Price Law)."
)

_BEAUTY = frozenset({Industry.beauty})
_FOOD = frozenset({Industry.food})
_FIN = frozenset({Industry.finance})

zh, en = Language.zh, Language.en

# 最 in words that are not superlative claims: 最近 (recently), 最后 (last), 最初,
# 最终, 最早/晚/迟, 最多/少 (at most/least), 最起码, 最低限度, and advisory 最好 ("best to ...").
_ZUI = r"最(?!近|后|初|终|早|晚|迟|多|少|起码|低限度|好(?:在|先|不要|别|提前|每天|早晚|搭配|配合|还是|能))"
# 第一 as an ordinal (第一次, 第一步, 第一眼, ...) is not a ranking claim.
_DIYI_ORDINAL = (
    r"(?!次|步|天|眼|时间|口|周|个|年|集|章|节|课|季|批|波|单|件|款|期|轮|层|道|条|阶段|部分|印象|感觉|反应|手|线)"
)
# Diseases and conditions after "treat(s)", in English.
_CONDITIONS = (
    r"(?:acne|eczema|rosacea|psoriasis|dermatitis|melasma|scars?|wrinkles|pigmentation|dark\s+spots|"
    r"inflammation|infections?|allergies|diabetes|hypertension|cancer|disease|illness)"
)

#: The built-in rule table. Order breaks ties between equal matches.
RULES: tuple[Rule, ...] = (
    # ---- absolute claims, Chinese
    Rule("absolute_claim", zh, (r"最好的",), _ABSOLUTE, "很好的"),
    Rule("absolute_claim", zh, (r"最佳",), _ABSOLUTE, "理想"),
    Rule("absolute_claim", zh, (r"最新",), _ABSOLUTE, "全新"),
    Rule("absolute_claim", zh, (r"最先进",), _ABSOLUTE, "先进"),
    Rule("absolute_claim", zh, (r"最高级", r"最顶级"), _ABSOLUTE, "高端"),
    Rule("absolute_claim", zh, (rf"{_ZUI}(?=[{_CJK}])",), _ABSOLUTE, "很"),
    Rule(
        "absolute_claim",
        zh,
        (rf"(?:(?<=[{_CJK}A-Za-z0-9])第一|第一(?![，,、：:\s])){_DIYI_ORDINAL}",),
        _ABSOLUTE,
        "领先",
    ),
    Rule(
        "absolute_claim",
        zh,
        (r"(?:全网|全国|全球|世界|行业|销量|同类)\s*(?:NO|No|no|#)\s*\.?\s*1(?!\d)",),
        _ABSOLUTE,
        "领先",
    ),
    Rule("absolute_claim", zh, (r"国家级",), _ABSOLUTE, "专业级"),
    Rule("absolute_claim", zh, (r"世界级",), _ABSOLUTE, "高水准"),
    Rule("absolute_claim", zh, (r"顶级",), _ABSOLUTE, "高端"),
    Rule("absolute_claim", zh, (r"顶尖", r"极致", r"无与伦比", r"无敌"), _ABSOLUTE, "出色"),
    Rule("absolute_claim", zh, (r"独一无二", r"唯一"), _ABSOLUTE, "独特"),
    Rule("absolute_claim", zh, (r"首选",), _ABSOLUTE, "优选"),
    Rule("absolute_claim", zh, (r"绝对",), _ABSOLUTE, "非常"),
    Rule("absolute_claim", zh, (r"100\s*[%％](?=有效|满意|安全|放心|见效|成功)",), _ABSOLUTE, "非常"),
    # ---- absolute claims, English
    Rule("absolute_claim", en, (r"(?<!\ball )\bthe\s+(?:very\s+)?best\b(?=\s*(?:[.!?,;:]|$))",), _ABSOLUTE, "great"),
    Rule(
        "absolute_claim",
        en,
        (r"(?<!\ball )\bthe\s+(?:very\s+)?best\b(?![- ]?sell|[- ]in[- ]class)(?!\s+(?:before|by)\b)",),
        _ABSOLUTE,
        "a great",
    ),
    Rule("absolute_claim", en, (r"\bbest[- ]?selling\b",), _ABSOLUTE, "popular"),
    Rule("absolute_claim", en, (r"\bbest[- ]?seller(?=s?\b)",), _ABSOLUTE, "favorite"),
    Rule("absolute_claim", en, (r"\bbest[- ]in[- ]class\b",), _ABSOLUTE, "high-quality"),
    Rule(
        "absolute_claim",
        en,
        (
            r"(?<!\bat )(?<!\bdo )(?<!your )(?<!\ball the )\bbest\b"
            r"(?![- ]?sell|[- ]in[- ]class)(?!\s+(?:before|by|regards|wishes)\b)",
        ),
        _ABSOLUTE,
        "great",
    ),
    Rule("absolute_claim", en, (r"\b(?:the\s+)?world['’]?s\s+(?:best|finest)\b",), _ABSOLUTE, "a great"),
    Rule(
        "absolute_claim",
        en,
        (r"\b(?:the\s+)?world['’]?s\s+(?:leading|no\.?\s?1|number\s+one|#\s?1)(?!\d)",),
        _ABSOLUTE,
        "a trusted",
    ),
    Rule("absolute_claim", en, (r"\b(?:industry|market|world)[- ]leading\b",), _ABSOLUTE, "trusted"),
    Rule(
        "absolute_claim",
        en,
        (r"(?<![\w#])#\s?1(?!\d)", r"\bno\.\s?1(?!\d)", r"\bno1\b", r"\bnumber\s+one\b"),
        _ABSOLUTE,
        "leading",
    ),
    Rule(
        "absolute_claim",
        en,
        (r"\bthe\s+only\b(?!\s+(?:thing|way|time|catch|difference|question|one\s+who)\b)",),
        _ABSOLUTE,
        "a unique",
    ),
    Rule(
        "absolute_claim",
        en,
        (r"(?<!money-back )(?<!money back )(?:\b100\s*%\s*)?\bguarantee[ds]?\b",),
        _ABSOLUTE,
        "",
    ),
    Rule(
        "absolute_claim",
        en,
        (r"\bunbeatable\b", r"\bunrivall?ed\b", r"\bunmatched\b", r"\bunparalleled\b", r"\bsecond\s+to\s+none\b"),
        _ABSOLUTE,
        "outstanding",
    ),
    Rule("absolute_claim", en, (r"\bworld[- ]class\b",), _ABSOLUTE, "high-quality"),
    Rule("absolute_claim", en, (r"\b100\s*%(?=\s*(?:effective|safe|successful)\b)",), _ABSOLUTE, "highly"),
    # ---- medical claims, cosmetics
    Rule("medical_claim.beauty", zh, (r"祛斑",), _MED_BEAUTY, "焕亮", _BEAUTY),
    Rule("medical_claim.beauty", zh, (r"(?:永久|彻底|根治性?)美白",), _MED_BEAUTY, "提亮肤色", _BEAUTY),
    Rule("medical_claim.beauty", zh, (r"美白(?:针|丸)",), _MED_BEAUTY, "", _BEAUTY),
    Rule("medical_claim.beauty", zh, (r"治疗", r"治愈", r"根治"), _MED_BEAUTY, "改善", _BEAUTY),
    Rule("medical_claim.beauty", zh, (r"疗效",), _MED_BEAUTY, "效果", _BEAUTY),
    Rule(
        "medical_claim.beauty", zh, (r"消炎抗敏", r"消炎", r"抗炎", r"抗过敏", r"抗敏感?"), _MED_BEAUTY, "舒缓", _BEAUTY
    ),
    Rule("medical_claim.beauty", zh, (r"医(?:用|学|疗)级",), _MED_BEAUTY, "专业级", _BEAUTY),
    Rule("medical_claim.beauty", zh, (r"医用",), _MED_BEAUTY, "专业", _BEAUTY),
    Rule("medical_claim.beauty", zh, (r"祛痘",), _MED_BEAUTY, "控油", _BEAUTY),
    Rule("medical_claim.beauty", zh, (r"杀菌", r"抑菌"), _MED_BEAUTY, "清洁", _BEAUTY),
    Rule("medical_claim.beauty", zh, (r"药妆",), _MED_BEAUTY, "护肤品", _BEAUTY),
    Rule("medical_claim.beauty", en, (r"\bclinically\s+proven(?:\s+to\s+\w+)?",), _MED_BEAUTY, "", _BEAUTY),
    Rule("medical_claim.beauty", en, (r"\bcur(?:e|es|ed|ing)\b",), _MED_BEAUTY, "", _BEAUTY),
    Rule("medical_claim.beauty", en, (r"\bheals\b",), _MED_BEAUTY, "soothes", _BEAUTY),
    Rule("medical_claim.beauty", en, (r"\bheal\b",), _MED_BEAUTY, "soothe", _BEAUTY),
    Rule("medical_claim.beauty", en, (r"\bhealing\b",), _MED_BEAUTY, "soothing", _BEAUTY),
    Rule("medical_claim.beauty", en, (rf"\btreats\b(?=\s+{_CONDITIONS})",), _MED_BEAUTY, "cares for", _BEAUTY),
    Rule("medical_claim.beauty", en, (rf"\btreat\b(?=\s+{_CONDITIONS})",), _MED_BEAUTY, "care for", _BEAUTY),
    Rule("medical_claim.beauty", en, (r"\banti-?inflammatory\b",), _MED_BEAUTY, "soothing", _BEAUTY),
    Rule(
        "medical_claim.beauty",
        en,
        (r"\banti-?bacterial\b", r"\bantimicrobial\b", r"\bantiseptic\b"),
        _MED_BEAUTY,
        "cleansing",
        _BEAUTY,
    ),
    Rule(
        "medical_claim.beauty",
        en,
        (r"\b(?:medical|pharmaceutical)[- ]grade\b",),
        _MED_BEAUTY,
        "professional-grade",
        _BEAUTY,
    ),
    Rule("medical_claim.beauty", en, (r"\bprescription[- ]strength\b",), _MED_BEAUTY, "concentrated", _BEAUTY),
    Rule(
        "medical_claim.beauty",
        en,
        (r"\bpermanent(?:ly)?\s+whiten(?:ing|s)?\b",),
        _MED_BEAUTY,
        "brightening",
        _BEAUTY,
    ),
    # ---- medical claims, food: a disease claim cannot be reworded, the sentence goes
    Rule(
        "medical_claim.food",
        zh,
        (
            r"治病",
            r"治疗",
            r"治愈",
            r"根治",
            r"疗效",
            r"药效",
            r"降(?:血压|血糖|血脂|三高)",
            r"抗癌",
            r"防癌",
            r"治癌",
            r"减肥",
            r"瘦身",
            r"燃脂",
            r"刮油",
            r"排毒",
            r"清肠",
            r"(?:增强|提高|提升)免疫力",
        ),
        _MED_FOOD,
        "",
        _FOOD,
    ),
    Rule(
        "medical_claim.food",
        en,
        (
            r"\bcur(?:e|es|ed|ing)\b",
            rf"\btreats?\b(?=\s+{_CONDITIONS})",
            r"\b(?:lowers?|lowering|reduces?|reducing)\s+(?:your\s+)?"
            r"(?:blood\s+(?:pressure|sugar|glucose)|cholesterol)\b",
            r"\b(?:prevents?|preventing|fights?|fighting|beats?)\s+cancer\b",
            r"\banti-?cancer\b",
            r"\bcancer[- ]fighting\b",
            r"\bdetox\w*",
            r"\bweight[- ]loss\b",
            r"\blose\s+weight\b",
            r"\bburns?\s+fat\b",
            r"\bfat[- ]burning\b",
            r"\bslimming\b",
            r"\bboosts?\s+(?:your\s+)?immun\w*",
            r"\bimmun(?:e|ity)[- ]boosting\b",
        ),
        _MED_FOOD,
        "",
        _FOOD,
    ),
    # ---- finance: promised returns cannot be reworded, the sentence goes
    Rule(
        "guaranteed_return",
        zh,
        (
            r"保本(?:保息)?",
            r"保息",
            r"稳赚(?:不赔)?",
            r"包赚",
            r"只赚不赔",
            r"零风险",
            r"无风险",
            r"没有风险",
            r"收益率?保证",
            r"保证收益率?",
            r"保收益",
            r"保底收益",
            r"刚性兑付",
            r"刚兑",
        ),
        _FINANCE,
        "",
        _FIN,
    ),
    Rule(
        "guaranteed_return",
        en,
        (
            r"(?:\b100\s*%\s*)?\bguarantee[ds]?(?:\s+(?:returns?|profits?|income|yields?|interest|gains?))?\b",
            r"\brisk[- ]free\b",
            r"\b(?:no|zero)[- ]risk\b",
            r"\bwithout\s+(?:any\s+)?risk\b",
            r"\bcan(?:['’]?t|not|\s+not)\s+lose\b",
            r"\bnever\s+lose\b",
            r"\b(?:principal|capital)[- ]protected\b",
        ),
        _FINANCE,
        "",
        _FIN,
    ),
    # ---- misleading price and urgency
    Rule("misleading_price", zh, (r"(?:全网|史上|全年|历史)最低价",), _PRICE, "超值价"),
    Rule("misleading_price", zh, (r"(?:全网|史上|全年|历史)最(?:低|便宜)",), _PRICE, "超值"),
    Rule("misleading_price", zh, (r"最低价", r"跳楼价"), _PRICE, "优惠价"),
    Rule("misleading_price", zh, (r"价格最低", r"价格最便宜"), _PRICE, "价格实惠"),
    Rule("misleading_price", zh, (r"最便宜",), _PRICE, "实惠"),
    Rule("misleading_price", zh, (r"错过(?:再)?等一年", r"过了今天再也没有"), _PRICE, ""),
    Rule(
        "misleading_price",
        en,
        (r"\b(?:the\s+)?lowest\s+price(?:\s+(?:ever|anywhere|online|in\s+town))?\b",),
        _PRICE,
        "a great price",
    ),
    Rule(
        "misleading_price",
        en,
        (r"\b(?:the\s+)?lowest\s+prices(?:\s+(?:ever|anywhere|online|in\s+town))?\b",),
        _PRICE,
        "great prices",
    ),
    Rule("misleading_price", en, (r"\bcheapest(?:\s+(?:ever|anywhere|online))?\b",), _PRICE, "affordable"),
    Rule("misleading_price", en, (r"\bonce[- ]in[- ]a[- ]lifetime\b",), _PRICE, "special"),
    Rule(
        "misleading_price",
        en,
        (
            r"\b(?:last|final)\s+chance\s+ever\b",
            r"\bprices?\s+will\s+never\s+be\s+this\s+low\b",
            r"\bnever\s+(?:this|so)\s+cheap\b",
        ),
        _PRICE,
        "",
    ),
)

del zh, en


# --------------------------------------------------------------------------- compiled rules


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    regexes: tuple[re.Pattern[str], ...]
    order: int


def _flags(language: Language) -> int:
    # English: case-insensitive, and ASCII so \b sees CJK as a boundary ("全网No.1").
    return re.IGNORECASE | re.ASCII if language is Language.en else re.IGNORECASE


def _compile(rules: tuple[Rule, ...], start: int = 0) -> tuple[_Compiled, ...]:
    return tuple(
        _Compiled(r, tuple(re.compile(p, _flags(r.language)) for p in r.patterns), start + i)
        for i, r in enumerate(rules)
    )


@lru_cache(maxsize=1)
def _builtin() -> tuple[_Compiled, ...]:
    """The built-in table, compiled once on first use (not at import)."""
    return _compile(RULES)


# --------------------------------------------------------------------------- extra terms file


class _ExtraTerm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: str = Field(min_length=1, description="Literal text to flag (a regex when regex=true).")
    suggestion: str = Field("", description="Replacement; empty drops the sentence.")
    rule: str = Field("", description="Sentence shown to people; a default names the file.")
    regex: bool = False


class _TermsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: dict[str, list[str | _ExtraTerm]]


def _has_cjk(text: str) -> bool:
    return re.search(f"[{_CJK}]", text) is not None


def _read_mapping(path: Path) -> Any:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"compliance terms file {path} does not exist; fix the path (ADLOOM_COMPLIANCE_TERMS "
            "or the extra_terms argument) or remove the setting",
            field="compliance_terms",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"compliance terms file {path} cannot be read as UTF-8 text ({exc}); check the file",
            field="compliance_terms",
        ) from exc
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(raw)
        if suffix == ".toml":
            return tomllib.loads(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise InputError(
            f"compliance terms file {path} is not valid {suffix[1:].upper()}: {exc}; fix the syntax",
            field="compliance_terms",
        ) from exc
    raise InputError(
        f"compliance terms file {path} has extension {suffix or '(none)'!r}; use .yaml, .yml or .toml",
        field="compliance_terms",
    )


def load_extra_rules(path: Path) -> tuple[Rule, ...]:
    """Read a project's extra banned terms per industry as :class:`Rule` entries.

    The file (YAML or TOML) holds a ``terms`` table keyed by industry name or
    ``all``; each entry is a plain term (dropped when found) or a table with
    ``term``, optional ``suggestion``, ``rule`` and ``regex``::

        terms:
          beauty:
            - 速效
            - {term: "instant results", suggestion: "visible care"}
          all:
            - {term: "爆款", suggestion: "热门"}

    Raises:
        InputError: naming the file and the problem when it is missing,
            unparsable, has unknown keys or industries, or an invalid regex.
    """
    data = _read_mapping(path)
    try:
        parsed = _TermsFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise InputError(
            f"compliance terms file {path} is malformed ({problems}); expected a 'terms' table of "
            "industry → list of terms or {term, suggestion, rule, regex} tables",
            field="compliance_terms",
        ) from None

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
                f"compliance terms file {path} names unknown industry {key!r}; use one of: {valid}",
                field="compliance_terms",
            )
        for i, entry in enumerate(entries):
            item = _ExtraTerm(term=entry) if isinstance(entry, str) else entry
            if not item.term.strip():
                raise InputError(
                    f"compliance terms file {path}: terms.{key}[{i}] is blank; give the text to flag",
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
                    f"compliance terms file {path}: terms.{key}[{i}] regex {item.term!r} is invalid ({exc}); "
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
                )
            )
    return tuple(rules)


# --------------------------------------------------------------------------- helpers

_TERMINATORS = "。！？!?；;…\n"


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
        ends = ch in _TERMINATORS or (ch == "." and (i + 1 == n or text[i + 1].isspace()))
        i += 1
        if ends:
            while i < n and (text[i] in _TERMINATORS or text[i] in "\"'”’)）" or text[i].isspace()):
                i += 1
            spans.append((start, i))
            start = i
    if start < n:
        spans.append((start, n))
    return spans


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
        extra_terms: A YAML or TOML file of project-specific banned terms per
            industry (see :func:`load_extra_rules`); defaults to
            ``settings.compliance_terms``. Read once, here.
    """

    def __init__(self, extra_terms: Path | None = None) -> None:
        path = extra_terms if extra_terms is not None else get_settings().compliance_terms
        self.extra_terms: Path | None = path
        extra = load_extra_rules(Path(path)) if path is not None else ()
        self._rules: tuple[_Compiled, ...] = _builtin() + _compile(extra, start=len(RULES))

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
        table order.
        """
        lang, ind = _as_language(language), _as_industry(industry)
        candidates: list[tuple[tuple[int, int, int, int, int], int, int, Rule]] = []
        for compiled in self._rules:
            rule = compiled.rule
            if not rule.applies_to(ind):
                continue
            for regex in compiled.regexes:
                for m in regex.finditer(text):
                    s, e = m.span()
                    if e == s:
                        continue
                    key = (s, s - e, rule.industries is None, rule.language is not lang, compiled.order)
                    candidates.append((key, s, e, rule))
        candidates.sort(key=lambda c: c[0])
        findings: list[ComplianceFinding] = []
        taken_until = 0
        for _, s, e, rule in candidates:
            if s < taken_until:
                continue
            taken_until = e
            findings.append(
                ComplianceFinding(
                    term=text[s:e],
                    rule_id=rule.id,
                    rule=rule.rule,
                    suggestion=rule.suggestion,
                    field=field,
                    start=s,
                    end=e,
                )
            )
        return findings

    def rewrite(
        self, text: str, *, language: Language | str, industry: Industry | str, field: str = ""
    ) -> tuple[str | None, list[ComplianceFinding]]:
        """Apply the suggestions to ``text`` until it checks clean.

        A finding whose suggestion is empty drops its whole sentence; the rest of
        the line is kept. Returns ``(new_text, fixed_findings)``, where new_text
        is ``None`` when nothing compliant is left (the line must be dropped) or
        when it does not converge. Offsets of findings from a second pass refer
        to the text as rewritten by the first.
        """
        current = text
        fixed: list[ComplianceFinding] = []
        for _ in range(_MAX_PASSES):
            findings = self.check(current, language=language, industry=industry, field=field)
            if not findings:
                return current, fixed
            fixed.extend(findings)
            pieces: list[str] = []
            for s_start, s_end in _sentence_spans(current):
                inside = [f for f in findings if s_start <= f.start < s_end]
                if any(f.suggestion == "" for f in inside):
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
        if self.check(current, language=language, industry=industry, field=field):
            return None, fixed
        return current, fixed

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

        left = self.check_script(result)
        if left:
            where = ", ".join(f"{f.field}: {f.term!r} ({f.rule_id})" for f in left)
            raise ComplianceError(
                f"script {script.id} still violates advertising rules after cleaning ({where}); "
                "the extra compliance terms likely ban a neutral replacement line; relax that term"
            )
        return result
