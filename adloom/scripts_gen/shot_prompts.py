"""Shot prompts: each shot of a script rewritten into the video model's caption format.

Open video models (Wan 2.x, LTX-Video) are trained on long English captions
that name every entity and describe it the same way each time. A script's
``visual`` lines are the opposite: short, in the script's language, full of
"she holds it up". This module bridges the two:

* :func:`subject_sheet_for` writes one description of the product, one of the
  presenter and one look per industry. Every shot reuses these strings word
  for word, so separately generated shots show the same bottle and the same
  person.
* :func:`shot_prompt` turns one :class:`~adloom.core.types.Shot` into a
  :class:`~adloom.core.types.ShotPrompt` driven by the shot's role, with a
  camera move from a fixed vocabulary and a composition hint for the aspect.
* :func:`find_pronouns` and :func:`replace_pronouns` keep pronouns out, since
  a shot generated on its own has no earlier sentence for "it" to point at.

Everything is deterministic: choices that need variety (the presenter's look)
come from a stable hash of the brief id, never from a random generator.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adloom.core.datafiles import load_package_data
from adloom.core.errors import GenerationError, InputError
from adloom.core.types import (
    Aspect,
    Brief,
    Industry,
    Language,
    Script,
    Shot,
    ShotPrompt,
    ShotRole,
    SubjectSheet,
)

__all__ = [
    "CAMERA_MOVES",
    "camera_move_of",
    "find_pronouns",
    "replace_pronouns",
    "shot_prompt",
    "subject_sheet_for",
    "write_shot_prompts",
]

#: The camera moves a prompt may ask for; the video stack maps each to a motion preset.
CAMERA_MOVES: tuple[str, ...] = (
    "slow push in",
    "pull out",
    "pan left",
    "pan right",
    "tilt up",
    "orbit",
    "static close-up",
    "handheld",
)

_FIELD_LIMIT = 400  # LineText max length on ShotPrompt and SubjectSheet fields
_VISUAL_LIMIT = 180  # the most of a reused visual line that goes into an action


# --------------------------------------------------------------------------- pronouns

_PRODUCT_NOUNS = r"(?:products?|ones?|items?|things?|stuff)"
_EN_PERSONAL = (
    "it", "its", "itself", "they", "them", "their", "theirs", "themselves",
    "he", "him", "his", "himself", "she", "her", "hers", "herself",
)  # fmt: skip
# Words after which "this"/"that" stands alone as a pronoun ("hold that up").
_STANDALONE_AFTER = (
    "up", "down", "on", "off", "out", "in", "again", "here", "there", "with", "to", "into",
    "onto", "over", "under", "is", "was", "and", "or", "but", "for", "from", "at", "as",
)  # fmt: skip
_APOS = "['\u2019]"

_EN_PRONOUN_RE = re.compile(
    r"\b(?:"
    rf"(?:this|that|these|those)\s+{_PRODUCT_NOUNS}\b"  # "this product"
    rf"|(?:{'|'.join(_EN_PERSONAL)})\b"  # it, her, them ...
    r"|(?:this|these|those)\b"  # demonstratives: a caption names the thing instead
    rf"|that(?=\s*(?:[.,;:!?)]|$)|\s+(?:{'|'.join(_STANDALONE_AFTER)})\b)"  # "that" used as a pronoun only
    r")",
    re.IGNORECASE,
)
_ZH_PRONOUN_RE = re.compile(
    r"(?<![其])它们|她们|他们|(?<![其])它|她|(?<![其吉])他"
    r"|这款|那款|此款|该款|这个|那个|这些|那些|这件|那件|该产品|此产品|本产品|本品"
)
_ZH_PERSON = ("她们", "他们", "她", "他")


def _masked(text: str, allow: Iterable[str]) -> str:
    """Blank out allowed names (a product called "Love It") so their words are not flagged."""
    for name in sorted({a for a in allow if a}, key=len, reverse=True):
        text = text.replace(name, " " * len(name))
    return text


def find_pronouns(text: str, *, allow: Iterable[str] = ()) -> list[str]:
    """Return the pronouns in ``text`` (English and Chinese), in order of appearance.

    Covers third-person personal pronouns (it, her, them, 它, 她们 ...), the
    demonstratives this/these/those, "that" where it stands for a thing
    ("hold that up", not "a serum that glows"), and product references such as
    "this product", 这款 or 该产品. Strings in ``allow`` (the product name,
    the brand) are skipped, so a product named "Love It" is not a pronoun.
    """
    scan = _masked(text, allow)
    hits = [(m.start(), m.group(0)) for m in _EN_PRONOUN_RE.finditer(scan)]
    hits += [(m.start(), m.group(0)) for m in _ZH_PRONOUN_RE.finditer(scan)]
    return [word for _, word in sorted(hits)]


def _possessive(ref: str) -> str:
    return ref + ("'" if ref.endswith("s") else "'s")


def _is_plural_noun(ref: str) -> bool:
    last = ref.split()[-1].lower() if ref.split() else ""
    return last.endswith("s") and not last.endswith("ss")


def _match_case(word: str, replacement: str) -> str:
    return replacement[:1].upper() + replacement[1:] if word[:1].isupper() else replacement


_CONTRACTION_VERB = {"s": "is", "re": "are", "ll": "will", "d": "would", "ve": "have"}
# Words that follow an object "her" ("hand her the bottle") rather than a possessive one ("her hair").
_AFTER_OBJECT = frozenset(
    "the a an up down to in on at with and or but out off over into from for as again back away "
    "this that these those".split()
)

_REPLACE_RE = re.compile(
    r"\b(?:"
    rf"(?P<phrase>(?:this|that|these|those)\s+{_PRODUCT_NOUNS})\b"
    rf"|(?P<contr>it|he|she|they){_APOS}(?P<tail>s|re|ll|d|ve)\b"
    rf"|(?P<personal>{'|'.join(_EN_PERSONAL)})\b"
    r"|(?P<demo>this|these|those)\b"
    rf"|(?P<that>that)(?=\s*(?:[.,;:!?)]|$)|\s+(?:{'|'.join(_STANDALONE_AFTER)})\b)"
    r")",
    re.IGNORECASE,
)
_NEXT_WORD_RE = re.compile(r"\s*([A-Za-z]+)")


def _replace_en(text: str, product_ref: str, presenter_ref: str) -> str:
    plural_product = _is_plural_noun(product_ref)
    group_ref = product_ref if plural_product else presenter_ref  # who "they" most likely are

    def target(word: str) -> str:
        w = word.lower()
        if w in ("it", "its", "itself"):
            return product_ref
        if w in ("they", "them", "their", "theirs", "themselves"):
            return group_ref
        return presenter_ref

    def sub(m: re.Match[str]) -> str:
        word = m.group(0)
        if m.group("phrase"):
            return _match_case(word, product_ref)
        if m.group("contr"):
            ref = target(m.group("contr"))
            verb = _CONTRACTION_VERB[m.group("tail").lower()]
            if m.group("contr").lower() == "they" and verb in ("is", "are"):
                verb = "are" if plural_product else "is"  # agree with the entity "they" became
            return _match_case(word, f"{ref} {verb}")
        if m.group("personal"):
            w = word.lower()
            ref = target(w)
            if w in ("its", "their", "his", "hers", "theirs"):
                return _match_case(word, _possessive(ref))
            if w == "her":
                nxt = _NEXT_WORD_RE.match(text, m.end())
                if nxt and nxt.group(1).lower() not in _AFTER_OBJECT and nxt.start(1) == m.end() + 1:
                    return _match_case(word, _possessive(ref))
            return _match_case(word, ref)
        if m.group("demo"):
            nxt = _NEXT_WORD_RE.match(text, m.end())
            if nxt is None or nxt.start(1) != m.end() + 1 or nxt.group(1).lower() in _STANDALONE_AFTER:
                return _match_case(word, product_ref)
            return _match_case(word, "the")  # "this morning" -> "the morning"
        return _match_case(word, product_ref)  # standalone "that"

    return _REPLACE_RE.sub(sub, text)


def _replace_zh(text: str, product_ref: str, presenter_ref: str) -> str:
    def sub(m: re.Match[str]) -> str:
        return f" {presenter_ref} " if m.group(0) in _ZH_PERSON else f" {product_ref} "

    return _ZH_PRONOUN_RE.sub(sub, text)


def replace_pronouns(text: str, *, product_ref: str, presenter_ref: str, keep: Iterable[str] = ()) -> str:
    """Rewrite ``text`` with every pronoun replaced by the explicit entity it stands for.

    "it"/"its"/"this product"/它/这款 become ``product_ref``; he/she/her/他/她
    become ``presenter_ref``; "they" means the product when ``product_ref``
    is plural ("the Aura earbuds") and the presenter otherwise. Possessives
    and contractions keep their grammar ("her hand" -> "the woman's hand",
    "it's" -> "the bottle is"). Occurrences of the strings in ``keep`` (the
    product name) are left untouched.
    """
    keep_list = sorted({k for k in keep if k}, key=len, reverse=True)
    # Stand-in words keep the grammar around a kept name visible ("her Love It serum" is possessive).
    stand_ins = {f"Keepname{chr(ord('A') + i)}q": k for i, k in enumerate(keep_list[:26])}
    for token, name in stand_ins.items():
        text = text.replace(name, token)
    out = _replace_zh(_replace_en(text, product_ref, presenter_ref), product_ref, presenter_ref)
    for token, name in stand_ins.items():
        out = out.replace(token, name)
    return re.sub(r"\s{2,}", " ", out).strip()


# --------------------------------------------------------------------------- industry profiles


class _Category(BaseModel):
    """An English category noun for a product and the generic form a video model can draw."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords: tuple[str, ...] = ()  # zh substrings or en whole words found in the product's text
    noun: str = Field(min_length=1)  # "serum bottle": follows the product name
    form: str = Field(min_length=1)  # "a glass dropper bottle": what the object looks like, without specs


_ACTION = r"^[^{}]*(?:\{(?:product|presenter)\}[^{}]*)*$"  # only {product} and {presenter} placeholders


class _Profile(BaseModel):
    """What ads of one industry look like: objects, places, actions and grade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: _Category
    categories: tuple[_Category, ...]
    setting: str = Field(min_length=1)  # the lifestyle scene where people use the product
    studio: str = Field(min_length=1)  # the clean backdrop for hero and call-to-action shots
    style: str = Field(min_length=1)  # lighting, palette and grade: the brand style line
    wardrobe: str = Field(min_length=1)  # what the presenter wears
    hook: str = Field(pattern=_ACTION)  # templates: {product} is the product reference, {presenter} the presenter's
    problem: str = Field(pattern=_ACTION)
    demo: str = Field(pattern=_ACTION)
    detail: str = Field(min_length=1)  # what a macro shot lingers on


class _Profiles(BaseModel):
    """``adloom/data/prompts/industry_profiles.yaml``: one profile for every industry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profiles: dict[Industry, _Profile]

    @model_validator(mode="after")
    def _every_industry(self) -> _Profiles:
        missing = [i.value for i in Industry if i not in self.profiles]
        if missing:
            raise ValueError(f"profiles lacks industries {', '.join(missing)}; add one profile for each")
        return self


def _profile(industry: Industry) -> _Profile:
    """The industry's profile from the shipped data file (validated once per process)."""
    return load_package_data(_Profiles, "prompts", "industry_profiles.yaml").profiles[Industry(industry)]


def _has_keyword(text: str, keyword: str) -> bool:
    """Chinese keywords match as substrings; Latin ones as whole words, ignoring case."""
    if not keyword:
        return False
    if re.search(r"[\u4e00-\u9fff]", keyword):
        return keyword in text
    return re.search(rf"(?<![A-Za-z]){re.escape(keyword)}(?![A-Za-z])", text, re.IGNORECASE) is not None


def _category_for(industry: Industry, text: str) -> _Category:
    """The first category of the industry whose keyword occurs in ``text``, else the default."""
    prof = _profile(industry)
    for cat in prof.categories:
        if any(_has_keyword(text, k) for k in cat.keywords):
            return cat
    return prof.default


# --------------------------------------------------------------------------- subject sheet

_COLOURS = {
    "玫瑰金": "rose gold", "香槟金": "champagne gold", "红色": "red", "粉色": "pink", "白色": "white",
    "黑色": "black", "金色": "gold", "银色": "silver", "蓝色": "blue", "绿色": "green", "紫色": "purple",
    "黄色": "yellow", "橙色": "orange", "灰色": "grey", "米色": "beige", "棕色": "brown", "咖啡色": "brown",
    "rose gold": "rose gold", "red": "red", "pink": "pink", "white": "white", "black": "black",
    "gold": "gold", "golden": "gold", "silver": "silver", "blue": "blue", "green": "green", "purple": "purple",
    "yellow": "yellow", "orange": "orange", "grey": "grey", "gray": "grey", "beige": "beige", "brown": "brown",
    "navy": "navy", "teal": "teal", "ivory": "ivory",
}  # fmt: skip
_MATERIALS = {
    "玻璃": "glass", "铝合金": "aluminium", "金属": "metal", "不锈钢": "stainless steel", "真皮": "leather",
    "皮革": "leather", "纯棉": "cotton", "棉质": "cotton", "羊毛": "wool", "羊绒": "cashmere", "真丝": "silk",
    "实木": "solid wood", "木质": "wood", "陶瓷": "ceramic", "碳纤维": "carbon fibre", "亚麻": "linen",
    "glass": "glass", "aluminium": "aluminium", "aluminum": "aluminium", "metal": "metal",
    "stainless steel": "stainless steel", "leather": "leather", "cotton": "cotton", "wool": "wool",
    "cashmere": "cashmere", "silk": "silk", "wood": "wood", "wooden": "wood", "bamboo": "bamboo",
    "ceramic": "ceramic", "carbon fibre": "carbon fibre", "carbon fiber": "carbon fibre", "linen": "linen",
}  # fmt: skip
_FINISHES = {
    "透明": "transparent", "哑光": "matte", "磨砂": "frosted", "亮面": "glossy", "珠光": "pearlescent",
    "transparent": "transparent", "matte": "matte", "matt": "matte",
    "frosted": "frosted", "glossy": "glossy", "pearlescent": "pearlescent",
}  # fmt: skip


def _traits(texts: Iterable[str], table: dict[str, str], limit: int = 3) -> list[str]:
    """English trait words found in ``texts``, in order of first appearance, without repeats."""
    found: list[tuple[int, int, str]] = []
    for i, text in enumerate(texts):
        for key, word in table.items():
            if _has_keyword(text, key):
                pos = text.lower().find(key.lower())
                found.append((i, pos, word))
    out: list[str] = []
    for _, _, word in sorted(found):
        if word not in out and not any(word in o or o in word for o in out):
            out.append(word)
    return out[:limit]


def _join_and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _name_with_noun(name: str, noun: str) -> str:
    """Join name and category noun without repeating a word ("HydraGlow Serum" + "serum bottle")."""
    noun_words = noun.split()
    name_words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]*", name)}
    while noun_words and noun_words[0].lower() in name_words:
        noun_words.pop(0)
    return f"{name} {' '.join(noun_words)}".strip()


def _with_the(phrase: str) -> str:
    return phrase if phrase.lower().startswith("the ") else f"the {phrase}"


def _stable_int(*parts: str) -> int:
    """A hash of ``parts`` that is the same in every process (``hash()`` is salted per run)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _product_description(brief: Brief) -> str:
    product = brief.product
    text = " ".join([product.name, product.description, *product.selling_points])
    cat = _category_for(brief.industry, text)
    head = _with_the(_name_with_noun(product.name, cat.noun))
    head = head[:1].upper() + head[1:]
    if product.brand and product.brand.lower() not in product.name.lower():
        head += f" by {product.brand}"
    points = product.selling_points[:3]
    colours = _traits(points, _COLOURS)
    materials = [m for m in _traits(points, _MATERIALS) if m not in cat.form]
    finishes = [f for f in _traits(points, _FINISHES) if f not in cat.form]
    pieces = [head, f", {cat.form}"]
    if colours:
        pieces.append(f" in {_join_and(colours)}")
    if materials:
        pieces.append(f", made of {_join_and(materials)}")
    if finishes:
        pieces.append(f", with a {_join_and(finishes)} finish")
    while len("".join(pieces)) > _FIELD_LIMIT and len(pieces) > 1:
        pieces.pop()  # drop the least important detail first; the name always stays
    return "".join(pieces)[:_FIELD_LIMIT]


_WOMAN_WORDS = ("women", "woman", "female", "females", "girls", "girl", "ladies", "lady", "mom", "moms", "mums",
                "mother", "mothers", "女", "妈", "姐", "闺蜜")  # fmt: skip
_MAN_WORDS = ("men", "man", "male", "males", "boys", "guys", "dad", "dads", "father", "fathers",
              "男", "爸", "先生", "兄弟")  # fmt: skip
_STUDENT_WORDS = ("student", "students", "college", "teen", "teens", "gen z", "学生", "大学", "校园", "z世代")
_THIRTIES_WORDS = ("parent", "parents", "mom", "moms", "dad", "dads", "mother", "father", "family", "families",
                   "professional", "professionals", "office", "宝妈", "妈妈", "爸爸", "家长", "家庭", "白领",
                   "上班族", "职场")  # fmt: skip
_SENIOR_WORDS = ("senior", "seniors", "elderly", "retiree", "retirees", "older", "老人", "中老年", "退休", "长辈")

_HAIR = {
    "woman": ("shoulder-length black hair", "a sleek low ponytail", "a short bob haircut",
              "long wavy dark brown hair"),
    "man": ("short neat black hair", "a textured crop haircut", "short side-parted hair", "a clean buzz cut"),
    "senior": ("short silver-grey hair", "neatly combed grey hair"),
}  # fmt: skip
_ETHNICITIES = ("East Asian", "Black", "white", "South Asian", "Latin American", "Middle Eastern")


def _age_group(audience: str) -> str:
    """The age group (student, young, thirties, senior) from the audience's words or first age."""
    if any(_has_keyword(audience, w) for w in _SENIOR_WORDS):
        return "senior"
    if any(_has_keyword(audience, w) for w in _STUDENT_WORDS):
        return "student"
    if any(_has_keyword(audience, w) for w in _THIRTIES_WORDS):
        return "thirties"
    age = re.search(r"(?<!\d)(\d{2})(?!\d)", audience)
    if age:
        n = int(age.group(1))
        return "student" if n < 22 else "young" if n < 30 else "thirties" if n < 50 else "senior"
    return "young"


def _presenter_description(brief: Brief) -> str:
    audience = brief.audience
    woman = any(_has_keyword(audience, w) for w in _WOMAN_WORDS)
    man = any(_has_keyword(audience, w) for w in _MAN_WORDS)
    if woman == man:  # neither or both named: a stable coin flip per brief
        woman = _stable_int(brief.id, "gender") % 2 == 0
    gender = "woman" if woman else "man"
    age = _age_group(audience)
    age_adj = {"student": "college-age", "young": "young", "thirties": "thirty-something", "senior": "older"}[age]
    if brief.language == Language.zh:
        ethnicity = "East Asian"
    else:
        ethnicity = _ETHNICITIES[_stable_int(brief.id, "ethnicity") % len(_ETHNICITIES)]
    hair_bank = _HAIR["senior" if age == "senior" else gender]
    hair = hair_bank[_stable_int(brief.id, "hair") % len(hair_bank)]
    article = "An" if age_adj[0] in "aeiou" else "A"
    wardrobe = _profile(brief.industry).wardrobe
    return f"{article} {age_adj} {ethnicity} {gender} with {hair}, wearing {wardrobe}"


def subject_sheet_for(brief: Brief) -> SubjectSheet:
    """Describe the recurring subjects of every shot for ``brief``, once.

    ``product`` names the product, its brand, an English category noun and
    the colour, material and finish words found in the first selling points;
    nothing else is claimed. ``presenter`` is one person chosen from a small
    bank by the audience (gender and age words) and the industry (wardrobe),
    with the remaining choices fixed by a hash of the brief id, so the same
    brief always gets the same presenter. ``brand_style`` is the industry's
    lighting, palette and grade.
    """
    return SubjectSheet(
        product=_product_description(brief),
        presenter=_presenter_description(brief),
        brand_style=_profile(brief.industry).style,
    )


# --------------------------------------------------------------------------- shot prompts

_ROLE_CAMERAS: dict[ShotRole, tuple[str, ...]] = {
    ShotRole.hook: ("slow push in", "orbit", "handheld", "tilt up"),
    ShotRole.problem: ("handheld", "pan left", "slow push in"),
    ShotRole.demo: ("static close-up", "pan right", "tilt up"),
    ShotRole.feature: ("orbit", "static close-up", "slow push in"),
    ShotRole.proof: ("slow push in", "handheld", "pan left"),
    ShotRole.offer: ("orbit", "pull out", "pan right"),
    ShotRole.cta: ("pull out", "static close-up", "slow push in"),
}
_ROLE_SIZE: dict[ShotRole, str] = {
    ShotRole.hook: "extreme close-up",
    ShotRole.problem: "medium shot",
    ShotRole.demo: "close-up on the hands",
    ShotRole.feature: "macro shot",
    ShotRole.proof: "medium close-up",
    ShotRole.offer: "medium product shot",
    ShotRole.cta: "centred product shot",
}
_ROLE_MOOD: dict[ShotRole, str] = {
    ShotRole.hook: "high energy, bold contrast",
    ShotRole.problem: "slightly desaturated, muted mood",
    ShotRole.demo: "natural and clear",
    ShotRole.feature: "crisp macro detail, shallow depth of field",
    ShotRole.proof: "warm and authentic",
    ShotRole.offer: "bright and premium",
    ShotRole.cta: "clean and confident",
}
_COMPOSITION: dict[Aspect, str] = {
    Aspect.portrait: "vertical 9:16 framing, subject centred with headroom for captions",
    Aspect.landscape: "horizontal 16:9 framing, subject on the left third",
    Aspect.square: "square 1:1 framing, subject centred",
}
_ROLE_SPACE: dict[ShotRole, str] = {
    ShotRole.offer: "empty lower third reserved for a price card",
    ShotRole.cta: "clean negative space above and below for call-to-action text",
}
_PRESENTER_ROLES = frozenset({ShotRole.problem, ShotRole.demo, ShotRole.proof})
_STUDIO_ROLES = frozenset({ShotRole.hook, ShotRole.feature, ShotRole.offer, ShotRole.cta})

# Common visual words of Chinese (and English) scripts; nothing else of a zh visual is reused.
_ZH_SETTINGS = {
    "厨房": "kitchen", "浴室": "bathroom", "卫生间": "bathroom", "洗手间": "bathroom", "户外": "outdoors",
    "室外": "outdoors", "公园": "outdoors", "办公室": "office", "卧室": "bedroom", "客厅": "living room",
    "街头": "street", "街道": "street", "海边": "beach", "沙滩": "beach", "车内": "car interior",
    "健身房": "gym", "咖啡馆": "cafe", "咖啡厅": "cafe",
}  # fmt: skip
_EN_SETTINGS = {
    "kitchen": "kitchen", "bathroom": "bathroom", "outdoors": "outdoors", "outdoor": "outdoors",
    "park": "outdoors", "office": "office", "bedroom": "bedroom", "living room": "living room",
    "street": "street", "beach": "beach", "car interior": "car interior", "gym": "gym", "cafe": "cafe",
    "café": "cafe",
}  # fmt: skip
_SETTING_PHRASES = {
    "kitchen": "a bright modern kitchen with a marble countertop",
    "bathroom": "a bright bathroom with a large mirror and white tiles",
    "outdoors": "a sunny outdoor scene with fresh greenery",
    "office": "a modern office with large windows",
    "bedroom": "a cosy bedroom with soft bedding",
    "living room": "a sunlit living room with a sofa",
    "street": "a lively city street",
    "beach": "a sunny beach with turquoise water",
    "car interior": "the interior of a modern car with the dashboard in view",
    "gym": "a bright gym with training equipment",
    "cafe": "a cosy cafe with a wooden table",
}
_ZH_DETAILS = {
    "特写": "close-up", "手机": "a smartphone in view", "手": "hands in sharp focus", "镜子": "a mirror reflection",
    "微笑": "a relaxed smile", "笑": "a relaxed smile", "阳光": "warm sunlight", "夜晚": "night-time ambience",
    "夜": "night-time ambience", "开箱": "an unboxing moment", "对比": "a side-by-side before-and-after comparison",
    "慢动作": "slow motion", "水滴": "water droplets", "热气": "rising steam", "蒸汽": "rising steam",
}  # fmt: skip


@dataclass(frozen=True)
class _VisualCues:
    """What a script's visual line contributes to a prompt."""

    setting: str | None  # a key of _SETTING_PHRASES
    close_up: bool
    details: tuple[str, ...]  # English phrases (from zh keywords)
    text: str  # a cleaned English visual with pronouns replaced, or ""


_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_QUOTED_RE = re.compile(r"[\"\u201c\u300c][^\"\u201c\u201d\u300c\u300d]*[\"\u201d\u300d]")


def _zh_cues(visual: str) -> tuple[str | None, bool, list[str]]:
    """Settings and details of a Chinese visual by keyword, longest keyword first."""
    rest = visual
    setting: str | None = None
    close_up = False
    details: list[str] = []
    for key in sorted([*_ZH_SETTINGS, *_ZH_DETAILS], key=len, reverse=True):
        if key not in rest:
            continue
        rest = rest.replace(key, " ")
        if key in _ZH_SETTINGS:
            setting = setting or _ZH_SETTINGS[key]
        elif _ZH_DETAILS[key] == "close-up":
            close_up = True
        elif _ZH_DETAILS[key] not in details:
            details.append(_ZH_DETAILS[key])
    return setting, close_up, details


def _clip(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-")


def _visual_cues(visual: str, *, product_name: str, product_ref: str, presenter_ref: str) -> _VisualCues:
    without_name = visual.replace(product_name, " ") if product_name else visual
    if _CJK_RE.search(without_name):
        setting, close_up, details = _zh_cues(without_name)
        return _VisualCues(setting, close_up, tuple(details), "")
    setting = next((v for k, v in _EN_SETTINGS.items() if _has_keyword(visual, k)), None)
    close_up = _has_keyword(visual, "close-up") or _has_keyword(visual, "close up")
    text = _QUOTED_RE.sub(" ", visual)  # quoted on-screen text: video models draw letters badly
    text = re.sub(r"[\[\]{}<>|#*_~`]", " ", text)  # markup and on-screen-text brackets
    text = replace_pronouns(text, product_ref=product_ref, presenter_ref=presenter_ref, keep=[product_name])
    text = _clip(re.sub(r"\s+", " ", text).strip(" .;,"), _VISUAL_LIMIT)
    if find_pronouns(text, allow=[product_name]):
        text = ""  # a pronoun the rewriter could not resolve: use the role alone
    return _VisualCues(setting, close_up, (), text)


def _product_ref(sheet: SubjectSheet, industry: Industry, product_name: str) -> str:
    """The product's short reference as the sheet spells it ("the 水润保湿精华 serum bottle")."""
    for article in ("The ", "the "):
        prefix = article + product_name
        if product_name and sheet.product.startswith(prefix):
            rest = sheet.product[len(prefix) :]
            if rest == "" or rest[0] in " ,":
                noun = re.split(r",| by ", rest, maxsplit=1)[0].strip()
                return f"the {product_name} {noun}".strip()
    return _with_the(_name_with_noun(product_name, _category_for(industry, product_name).noun))


def _presenter_ref(sheet: SubjectSheet) -> str:
    """The presenter's short reference ("the young East Asian woman"): the sheet's text before any detail."""
    head = re.split(r" with |,| wearing ", sheet.presenter, maxsplit=1)[0].strip()
    head = re.sub(r"^(?:a|an|the)\s+", "", head, flags=re.IGNORECASE)
    return f"the {head}" if head else "the presenter"


def _camera_for(role: ShotRole, index: int, previous: str | None) -> str:
    prefs = _ROLE_CAMERAS[role]
    start = index % len(prefs)
    for move in prefs[start:] + prefs[:start]:
        if move != previous:
            return move
    return next(m for m in CAMERA_MOVES if m != previous)  # unreachable: every role has two or more moves


def camera_move_of(prompt: ShotPrompt) -> str | None:
    """The move from :data:`CAMERA_MOVES` that ``prompt.camera`` asks for, if any."""
    camera = prompt.camera.lower()
    return next((m for m in sorted(CAMERA_MOVES, key=len, reverse=True) if camera.startswith(m)), None)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _check_sheet(sheet: SubjectSheet, product_name: str) -> None:
    for field in ("product", "presenter", "brand_style"):
        found = find_pronouns(getattr(sheet, field), allow=[product_name])
        if found:
            raise InputError(
                f"subject sheet {field} uses pronouns {found}: {getattr(sheet, field)!r}. "
                "Name the entity explicitly (e.g. 'a woman aged about 25', not 'a woman in her twenties'), "
                "since every shot is generated on its own.",
                field=f"subject_sheet.{field}",
            )


def shot_prompt(
    shot: Shot,
    sheet: SubjectSheet,
    *,
    industry: Industry,
    aspect: Aspect,
    product_name: str,
    previous_camera: str | None = None,
) -> ShotPrompt:
    """Write the caption-format prompt of one shot.

    The shot's role picks the framing and action (hook: bold dynamic close-up;
    problem: the presenter frustrated; demo: hands using the product;
    feature: macro detail; proof: the presenter's smiling testimonial; offer:
    hero shot with room for a price card; cta: product centred with room for
    text). ``appearance`` is ``sheet.product`` verbatim and presenter shots
    carry ``sheet.presenter`` verbatim, so every shot shows the same subjects.
    English visual text is reused with pronouns replaced; Chinese visual text
    contributes only keyword cues (特写, 手, 厨房 ...), never a translation.
    ``previous_camera`` is the move of the preceding shot, which this shot
    will not repeat.

    Raises :class:`InputError` if the sheet itself contains pronouns.
    """
    role = ShotRole(shot.role)
    _check_sheet(sheet, product_name)
    prof = _profile(industry)
    product = _product_ref(sheet, industry, product_name)
    presenter = _presenter_ref(sheet)
    presenter_full = sheet.presenter or "A presenter in simple neutral clothes"
    cues = _visual_cues(shot.visual, product_name=product_name, product_ref=product, presenter_ref=presenter)

    fill = {"product": product, "presenter": presenter}
    if role == ShotRole.hook:
        subject = f"Bold close-up of {product}"
        action = prof.hook.format(**fill)
    elif role == ShotRole.problem:
        subject = presenter_full
        action = prof.problem.format(**fill)
    elif role == ShotRole.demo:
        subject = f"{presenter_full}, shown from the hands with {product}"
        action = prof.demo.format(**fill)
    elif role == ShotRole.feature:
        subject = f"Macro detail of {product}"
        action = f"light glides slowly across {product}, revealing {prof.detail}"
    elif role == ShotRole.proof:
        subject = f"{presenter_full}, with {product}"
        action = (
            f"{presenter} smiles warmly at the camera and nods, giving a short testimonial "
            f"with {product} clearly in view"
        )
    elif role == ShotRole.offer:
        subject = f"{_cap(product)} as the hero product"
        action = f"{product} stands on a low pedestal and turns slowly in a pool of light"
    else:  # cta
        subject = f"{_cap(product)}, centred"
        action = f"{product} stands centred and still, catching one soft highlight"

    extras = [*cues.details]
    if cues.text:
        extras.append(cues.text)
    for extra in extras:
        room = _FIELD_LIMIT - len(action) - 2
        if room < 20:
            break
        action = f"{action}; {_clip(extra, room)}"

    if role in (ShotRole.offer, ShotRole.cta):
        setting = prof.studio  # a clean background keeps room for the price card and CTA text
    elif cues.setting:
        setting = _SETTING_PHRASES[cues.setting]
    elif role in _STUDIO_ROLES:
        setting = prof.studio
    else:
        setting = prof.setting

    move = _camera_for(role, shot.index, previous_camera)
    size = _ROLE_SIZE[role]
    if cues.close_up and role in (ShotRole.problem, ShotRole.proof, ShotRole.offer, ShotRole.cta):
        size = "close-up"
    camera_parts = [move] if move == "static close-up" else [move, size]
    camera_parts.append(_COMPOSITION[Aspect(aspect)])
    if role in _ROLE_SPACE:
        camera_parts.append(_ROLE_SPACE[role])

    style = f"{sheet.brand_style}, {_ROLE_MOOD[role]}" if sheet.brand_style else _ROLE_MOOD[role]

    fields = {
        "subject": _cap(subject),
        "appearance": sheet.product,
        "action": _cap(action),
        "setting": _cap(setting),
        "camera": _cap(", ".join(camera_parts)),
        "style": _cap(style),
    }
    return ShotPrompt(**{k: _clip(v, _FIELD_LIMIT) for k, v in fields.items()})


def write_shot_prompts(script: Script, brief: Brief) -> Script:
    """Return a copy of ``script`` with its subject sheet and every shot's prompt set.

    Consecutive shots never share a camera move. The result is checked: a
    pronoun left in any field (outside the product and brand names) raises
    :class:`GenerationError`, since a downstream video model would draw the
    wrong subject.
    """
    if script.brief_id is not None and script.brief_id != brief.id:
        raise InputError(
            f"script {script.id} was written for brief {script.brief_id}, not {brief.id}; "
            "pass the brief the script was generated from",
            field="brief_id",
        )
    sheet = subject_sheet_for(brief)
    names = [brief.product.name, brief.product.brand]
    shots: list[Shot] = []
    previous: str | None = None
    for shot in script.shots:
        prompt = shot_prompt(
            shot,
            sheet,
            industry=brief.industry,
            aspect=script.aspect,
            product_name=brief.product.name,
            previous_camera=previous,
        )
        for field, value in prompt.model_dump().items():
            found = find_pronouns(value, allow=names)
            if found:
                raise GenerationError(f"shot {shot.index} prompt {field} still contains pronouns {found}: {value!r}")
        previous = camera_move_of(prompt)
        shots.append(shot.model_copy(update={"prompt": prompt}))
    return script.model_copy(deep=True, update={"subject_sheet": sheet, "shots": shots})
