"""Checks every generated script must pass before anyone sees it.

Each check returns human-readable problems; an empty list means the script
is deliverable. The LLM path retries on any problem and falls back to the
template writer; the reasons are kept in the script's provenance.
"""

from __future__ import annotations

from collections.abc import Sequence

from adloom.core.text import DANGLING_EN, language_share, numbers_in, speech_seconds
from adloom.core.types import Brief, Language, Script, ShotRole
from adloom.scripts_gen.safety import looks_like_injection

#: Total duration may differ from the brief's target by this share (or 0.5 s, whichever is larger).
DURATION_TOLERANCE = 0.10
#: Narration may overrun its shot by this much speech time before it is "too long to say".
SPEECH_SLACK_S = 0.3
#: Minimum share of the script's words/characters in the brief's language (brand names aside).
MIN_LANGUAGE_SHARE = 0.75


def brief_text(brief: Brief) -> str:
    """All the text a script may take facts from."""
    p = brief.product
    parts = [p.name, p.brand, p.description, *p.selling_points, p.offer, brief.audience, brief.notes, brief.tone]
    parts.extend(sorted(p.price_numbers()))
    return "\n".join(x for x in parts if x)


def check_duration(script: Script, brief: Brief) -> list[str]:
    target = brief.duration_s
    tol = max(0.5, DURATION_TOLERANCE * target)
    if abs(script.duration_s - target) > tol:
        return [f"total duration {script.duration_s:.1f}s is not within ±{tol:.1f}s of the {target:g}s target"]
    return []


def check_speech_fits(script: Script) -> list[str]:
    problems = []
    for shot in script.shots:
        need = speech_seconds(shot.narration, script.language)
        if need > shot.duration_s + SPEECH_SLACK_S:
            problems.append(
                f"shots[{shot.index}] narration needs {need:.1f}s to say but the shot lasts {shot.duration_s:.1f}s"
            )
    return problems


def check_language(script: Script, language: Language) -> list[str]:
    text = script.full_text()
    share = language_share(text, language)
    if share < MIN_LANGUAGE_SHARE:
        return [f"only {share:.0%} of the copy is in {language.value}; the brief asks for {language.value}"]
    return []


def check_facts(script: Script, brief: Brief) -> list[str]:
    """Numbers (prices, percentages, quantities) must come from the brief."""
    allowed = numbers_in(brief_text(brief))
    invented = sorted(numbers_in(script.full_text()) - allowed)
    if invented:
        return [f"numbers not in the brief: {', '.join(invented)}"]
    return []


def check_mentions_product(script: Script, brief: Brief) -> list[str]:
    name = brief.product.name.lower()
    if name not in script.full_text().lower():
        return [f"the product name {brief.product.name!r} never appears in the copy"]
    return []


def check_repetition(script: Script, exemplars: Sequence[Script] = ()) -> list[str]:
    problems = []
    lines = [s.narration.strip().lower() for s in script.shots if s.narration.strip()]
    if len(lines) < max(2, len(script.shots) - 1):
        problems.append(f"only {len(lines)} of {len(script.shots)} shots have narration")
    if len(set(lines)) < len(lines):
        problems.append("narration repeats the same line")
    # Copying another product's specific lines carries its facts over; generic CTAs may repeat.
    exemplar_lines = {
        s.narration.strip().lower()
        for ex in exemplars
        for s in ex.shots
        if s.role != ShotRole.cta and len(s.narration) > 12
    }
    copied = [s.narration.strip().lower() for s in script.shots if s.role != ShotRole.cta]
    copied = [line for line in copied if line in exemplar_lines]
    if copied:
        problems.append(f"copies exemplar lines verbatim: {copied[0]!r}")
    return problems


def check_unfinished(script: Script) -> list[str]:
    """English lines that stop on a function word were cut off by the length limit."""
    if script.language != Language.en:
        return []
    problems = []
    for shot in script.shots:
        words = shot.narration.rstrip(" ,;:-").split()
        if words and words[-1].lower() in DANGLING_EN:
            problems.append(f"shots[{shot.index}] narration stops mid-sentence: {shot.narration!r}")
    return problems


def check_injection(script: Script) -> list[str]:
    if looks_like_injection(script.full_text()):
        return ["copy contains an instruction addressed to a model (possible prompt injection)"]
    return []


def validate_script(script: Script, brief: Brief, *, exemplars: Sequence[Script] = ()) -> list[str]:
    """All problems with ``script`` as a deliverable for ``brief`` (empty list: deliverable)."""
    return [
        *check_duration(script, brief),
        *check_speech_fits(script),
        *check_language(script, brief.language),
        *check_facts(script, brief),
        *check_mentions_product(script, brief),
        *check_repetition(script, exemplars),
        *check_unfinished(script),
        *check_injection(script),
    ]
