"""Structuring: an exemplar, a pasted script or a transcript becomes a :class:`Script`.

Three input shapes are recognised, most explicit first:

1. **SRT / timestamped transcripts** (``00:00:01,000 --> 00:00:03,500``): each
   cue is a line of narration with its real timing; cues shorter than a
   minimum shot are merged into the next.
2. **Marked shots** (``Shot 1: …``, ``[Shot 2]``, ``镜头1：…``, ``场景2``) with
   optional sub-fields ``Visual:/画面：``, ``VO:/Narration:/旁白：/口播：`` and
   ``Caption:/字幕：/花字：``.
3. **Plain copy**: one sentence per shot.

The hook is the first line, the CTA the last line when it reads as a call to
action. Hook type, angle, shot roles and CTA strength are classified by
keyword rules in both languages — deterministic and explainable, which
matters more here than the small gain a 270M model could add.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adloom.core.errors import InputError
from adloom.core.text import detect_language, normalise_space, speech_seconds, split_sentences
from adloom.core.types import (
    Angle,
    Aspect,
    CtaStrength,
    HookType,
    Industry,
    Language,
    LibraryItem,
    Pacing,
    Platform,
    Provenance,
    Script,
    Shot,
    ShotRole,
)

MAX_INPUT_CHARS = 20_000
MIN_SHOT_S = 1.2

_TIMESTAMP = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->\s*(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})")
_SHOT_MARK = re.compile(
    r"^\s*(?:\[?\s*(?:shot|scene)\s*(\d+)\s*\]?|\[?\s*(?:镜头|场景|分镜)\s*(\d+)\s*\]?)\s*[:：.\-]?\s*",
    re.IGNORECASE,
)
_SUBFIELD = re.compile(r"(visual|画面|narration|vo|voice ?over|旁白|口播|caption|字幕|花字)\s*[:：]\s*", re.IGNORECASE)
_FIELD_KIND = {
    "visual": "visual",
    "画面": "visual",
    "narration": "narration",
    "vo": "narration",
    "voice over": "narration",
    "voiceover": "narration",
    "旁白": "narration",
    "口播": "narration",
    "caption": "caption",
    "字幕": "caption",
    "花字": "caption",
}

# Keyword rules: (pattern, value). First match wins, so order expresses priority.
_CTA = re.compile(
    r"点击|下单|购买|链接|抢购|入手|领取|预约|下载|关注|tap|shop|buy|order|link|get yours|learn more|"
    r"download|sign up|book|subscribe|swipe up",
    re.IGNORECASE,
)
_URGENT = re.compile(
    r"限时|今天|今晚|马上|立即|仅剩|截止|别错过|now|today|tonight|ends|last chance|don't miss|"
    r"limited",
    re.IGNORECASE,
)
_SOFT = re.compile(r"了解|看看|learn more|take a look|check out", re.IGNORECASE)
_PRICE = re.compile(
    r"[¥$€£]\s?\d|\d+\s?(元|块|块钱|折)|价格|到手价|优惠|券|price|deal|off\b|discount|save \$?\d", re.IGNORECASE
)
_PAIN = re.compile(
    r"烦|难受|困扰|头疼|焦虑|受够|总是|又一次|累|tired|sick of|struggl|annoy|hate|frustrat|again\?", re.IGNORECASE
)
_SOCIAL = re.compile(
    r"好评|回购|推荐|大家|网友|用户|朋友|姐妹|review|rated|customers|people|everyone|friends", re.IGNORECASE
)
_DEMO = re.compile(
    r"看|演示|上手|用起来|一键|watch|see how|look at|here's how|in action|just (tap|press|pour)", re.IGNORECASE
)
_BEFORE_AFTER = re.compile(r"之前|之后|以前|现在|对比|before|after|used to", re.IGNORECASE)
_TESTIMONIAL = re.compile(r"我用了|我用过|亲测|我的|i('ve| have)? (used|tried)|my honest|i swear by", re.IGNORECASE)
_UNBOX = re.compile(r"开箱|拆开|unbox|just arrived|what's inside", re.IGNORECASE)
_NUMBER = re.compile(r"\d")
_CONVENIENCE = re.compile(
    r"方便|省时|省心|简单|轻松|秒|easy|quick|seconds|minutes|effortless|saves? time", re.IGNORECASE
)
_NOVELTY = re.compile(r"新品|全新|首发|黑科技|new|first|launch|meet the", re.IGNORECASE)
_QUALITY = re.compile(r"材质|面料|工艺|品质|成分|纯|premium|quality|crafted|materials?|leather|organic", re.IGNORECASE)


@dataclass
class _Line:
    narration: str
    visual: str = ""
    caption: str = ""
    duration_s: float | None = None


def classify_hook(text: str) -> HookType:
    if _UNBOX.search(text):
        return HookType.unboxing
    if _PRICE.search(text):
        return HookType.price_reveal
    if _TESTIMONIAL.search(text):
        return HookType.testimonial
    if _BEFORE_AFTER.search(text):
        return HookType.before_after
    if "?" in text or "？" in text:
        return HookType.question
    if _PAIN.search(text):
        return HookType.pain_point
    if _DEMO.search(text):
        return HookType.demo
    if _NUMBER.search(text):
        return HookType.surprising_fact
    return HookType.story


def classify_angle(text: str) -> Angle:
    """The dominant angle of the whole copy, by which keyword family occurs most."""
    counts = {
        Angle.value: len(_PRICE.findall(text)),
        Angle.social_proof: len(_SOCIAL.findall(text)),
        Angle.problem_solution: len(_PAIN.findall(text)),
        Angle.convenience: len(_CONVENIENCE.findall(text)),
        Angle.novelty: len(_NOVELTY.findall(text)),
        Angle.quality: len(_QUALITY.findall(text)),
    }
    best = max(counts, key=lambda a: counts[a])
    return best if counts[best] > 0 else Angle.emotion


def classify_role(text: str) -> ShotRole:
    if _PRICE.search(text):
        return ShotRole.offer
    if _SOCIAL.search(text):
        return ShotRole.proof
    if _PAIN.search(text):
        return ShotRole.problem
    if _DEMO.search(text):
        return ShotRole.demo
    return ShotRole.feature


def classify_cta(text: str) -> CtaStrength:
    if not _CTA.search(text):
        return CtaStrength.soft if _SOFT.search(text) else CtaStrength.none
    if _URGENT.search(text):
        return CtaStrength.strong
    return CtaStrength.soft if _SOFT.search(text) else CtaStrength.medium


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def _parse_srt(text: str) -> list[_Line] | None:
    blocks = re.split(r"\n\s*\n", text.strip())
    lines: list[_Line] = []
    for block in blocks:
        m = _TIMESTAMP.search(block)
        if not m:
            continue
        start, end = _seconds(*m.groups()[:4]), _seconds(*m.groups()[4:])
        body = normalise_space(block[m.end() :])
        if body and end > start:
            lines.append(_Line(narration=body, duration_s=end - start))
    if not lines:
        return None
    merged: list[_Line] = []
    for line in lines:  # merge cues too short to be a shot into the previous one
        if merged and (line.duration_s or 0) < MIN_SHOT_S:
            prev = merged[-1]
            prev.narration = normalise_space(prev.narration + " " + line.narration)
            prev.duration_s = (prev.duration_s or 0) + (line.duration_s or 0)
        else:
            merged.append(line)
    return merged


def _parse_marked(text: str) -> list[_Line] | None:
    chunks: list[list[str]] = []
    for raw in text.splitlines():
        m = _SHOT_MARK.match(raw)
        if m:
            chunks.append([raw[m.end() :]])
        elif chunks:
            chunks[-1].append(raw)
    if len(chunks) < 2:
        return None
    lines = []
    for chunk in chunks:
        body = " ".join(c.strip() for c in chunk if c.strip())
        parts = _SUBFIELD.split(body)
        fields = {"visual": "", "narration": "", "caption": ""}
        if len(parts) == 1:
            fields["narration"] = body
        else:
            if parts[0].strip():
                fields["visual"] = parts[0].strip()
            for key, value in zip(parts[1::2], parts[2::2], strict=False):
                kind = _FIELD_KIND.get(key.lower().strip(), "narration")
                fields[kind] = normalise_space(value).strip(" |/;；")
        if fields["narration"] or fields["visual"]:
            lines.append(_Line(**fields))
    return lines or None


def _parse_plain(text: str) -> list[_Line]:
    return [_Line(narration=s) for s in split_sentences(text)]


def structure_text(
    text: str,
    *,
    industry: Industry | str,
    language: Language | str | None = None,
    platform: Platform | str = Platform.douyin,
    aspect: Aspect | str = Aspect.portrait,
    title: str | None = None,
    duration_s: float | None = None,
) -> Script:
    """Structure pasted copy or a transcript into a Script (see the module doc for formats)."""
    if not text or not text.strip():
        raise InputError("the script text is empty; paste the ad's copy or transcript", field="text")
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(
            f"the script text is {len(text)} characters; the limit is {MAX_INPUT_CHARS} — paste one ad at a time",
            field="text",
        )
    try:
        industry = Industry(industry)
    except ValueError:
        raise InputError(
            f"industry {industry!r} is not one of {', '.join(i.value for i in Industry)}", field="industry"
        ) from None
    lang = Language(language) if language else detect_language(text)
    lines = _parse_srt(text) or _parse_marked(text) or _parse_plain(text)
    lines = [ln for ln in lines if ln.narration or ln.visual]
    if not lines:
        raise InputError("found no sentences in the script text", field="text")
    if len(lines) > 20:  # keep the shot list reviewable: merge neighbours
        step = -(-len(lines) // 20)
        lines = [
            _Line(
                narration=" ".join(x.narration for x in lines[i : i + step]).strip(),
                visual=lines[i].visual,
                caption=lines[i].caption,
                duration_s=sum(x.duration_s or 0 for x in lines[i : i + step]) or None,
            )
            for i in range(0, len(lines), step)
        ]

    for i, ln in enumerate(lines):
        for kind in ("narration", "visual"):
            if len(getattr(ln, kind)) > 400:
                raise InputError(
                    f"shot {i + 1} {kind} is {len(getattr(ln, kind))} characters, over the 400 characters a line may"
                    " have; split it into sentences",
                    field="text",
                )
    hook = lines[0].narration or lines[0].visual
    cta_line = lines[-1].narration if len(lines) > 1 and _CTA.search(lines[-1].narration) else ""
    full = " ".join(ln.narration for ln in lines)
    roles = [ShotRole.hook] + [classify_role(ln.narration) for ln in lines[1:]]
    if cta_line:
        roles[-1] = ShotRole.cta

    timed = [ln.duration_s for ln in lines]
    if all(t is not None for t in timed):
        durations = [float(t) for t in timed]  # type: ignore[arg-type]
    else:
        durations = [max(MIN_SHOT_S, speech_seconds(ln.narration, lang) + 0.35) for ln in lines]
    if duration_s:
        scale = duration_s / sum(durations)
        durations = [d * scale for d in durations]
    durations = [round(max(0.1, d), 2) for d in durations]

    points = [ln.narration.rstrip("。.!！")[:120] for ln, r in zip(lines, roles, strict=True) if r == ShotRole.feature][
        :8
    ]
    name = (title or hook)[:120]
    pacing_rate = len(lines) / max(sum(durations), 0.1)
    return Script(
        language=lang,
        industry=industry,
        platform=Platform(platform),
        aspect=Aspect(aspect),
        title=name,
        hook=hook[:400],
        hook_type=classify_hook(hook),
        angle=classify_angle(full),
        pacing=Pacing.fast if pacing_rate > 0.45 else Pacing.medium if pacing_rate > 0.25 else Pacing.slow,
        cta=cta_line,
        cta_strength=classify_cta(cta_line) if cta_line else CtaStrength.none,
        price_mentioned=bool(_PRICE.search(full)),
        selling_points=points,
        shots=[
            Shot(
                index=i,
                role=role,
                duration_s=d,
                visual=ln.visual or ln.narration,
                narration=ln.narration,
                caption=ln.caption[:60],
            )
            for i, (ln, role, d) in enumerate(zip(lines, roles, durations, strict=True))
        ],
        provenance=Provenance(path="structured", notes=[f"structured from {len(text)} characters of text"]),
    )


def structure_srt(text: str, **kwargs: object) -> Script:
    """Structure an SRT file's text: like :func:`structure_text`, but text without a single timed cue
    (``00:00:01,000 --> 00:00:03,500`` followed by a line) is refused instead of read as plain copy."""
    if not text or not text.strip():
        raise InputError("the SRT file is empty; export the subtitles of the ad again", field="srt")
    if _parse_srt(text) is None:
        raise InputError(
            "the SRT file has no subtitle cue: each cue needs a timing line like "
            "'00:00:01,000 --> 00:00:03,500' followed by its text; check the file is an .srt export",
            field="srt",
        )
    return structure_text(text, **kwargs)  # type: ignore[arg-type]


def structure_exemplar(item: LibraryItem) -> Script:
    """The exemplar's script as a starting point: library items are stored structured already;
    a copy with fresh provenance pointing back to the exemplar is returned."""
    script = item.script.model_copy(deep=True)
    script.provenance = Provenance(
        path="structured",
        exemplar_ids=[item.id],
        notes=[f"structured from library item {item.id} ({item.source})"],
    )
    return script
