"""Human pacing: when each reply is sent, so the agent reads like a person typing rather than a burst of text.

The first reply of a turn waits ``read_s`` (reading the message) plus its typing time; each further reply waits
only its own typing time. Typing time is characters / speed, with Chinese characters counted one each at
``chars_per_s_zh`` and everything else at ``chars_per_s_en``; each pause is stretched or shrunk by up to
``jitter`` (uniform, seeded), then clamped to ``[min_delay_s, max_delay_s]`` so a long answer never keeps a person
waiting too long and a short one never arrives instantly. Deterministic for a given seed and turn.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from adloom.core.text import cjk_count
from adloom.scripts_gen.conversation.model import PacingConfig

__all__ = ["delays", "typing_seconds"]


def typing_seconds(text: str, config: PacingConfig) -> float:
    """Seconds a person would take to type ``text`` at the configured speeds (no reading time, no jitter)."""
    zh = cjk_count(text)
    other = len(text.strip()) - zh
    return zh / config.chars_per_s_zh + max(other, 0) / config.chars_per_s_en


def delays(texts: Sequence[str], config: PacingConfig, rng: random.Random) -> list[float]:
    """The pause before each of ``texts`` (the first after the user's message, the others after the one before),
    in seconds, rounded to 0.1 s."""
    out = []
    for i, text in enumerate(texts):
        base = typing_seconds(text, config) + (config.read_s if i == 0 else 0.0)
        stretched = base * (1.0 + rng.uniform(-config.jitter, config.jitter))
        out.append(round(min(max(stretched, config.min_delay_s), config.max_delay_s), 1))
    return out
