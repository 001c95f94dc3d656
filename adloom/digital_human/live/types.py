"""What flows through a live room: script segments in, interjections on top.

A :class:`SegmentSource` (the room's director: looping live script, product schedule)
hands the session one :class:`Segment` at a time. An :class:`Interjection` (an answer to a
viewer, an operator's ``say``) interrupts the segment being spoken at its next word
boundary; when the interjection has been spoken, the session resumes the interrupted
segment from the word where it stopped. The session reports what it actually spoke back
to the source, so a restart resumes the schedule instead of starting over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = ["Interjection", "Segment", "SegmentKind", "SegmentSource", "Spoken"]


class SegmentKind(StrEnum):
    opening = "opening"
    product = "product"
    offer = "offer"  # urgency / offer lines
    interaction = "interaction"  # prompts for viewers to comment
    answer = "answer"  # an answer to a viewer's comment
    say = "say"  # an operator's line
    canned = "canned"  # a safe fallback reply (LLM timed out, answer rejected)


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of speech. ``id`` is stable across restarts (e.g. ``"p3/s2"``); the phrasing may vary."""

    id: str
    text: str
    kind: SegmentKind
    product_id: str | None = None
    #: Other phrasings of the same line; the director picks one per hand-out (variety budget).
    variants: tuple[str, ...] = ()
    #: What the line does in its block ("intro", "point", "price", "offer", "prompt", …); "" if unknown.
    role: str = ""

    def phrasings(self) -> tuple[str, ...]:
        return (self.text, *self.variants)


@dataclass(frozen=True, slots=True)
class Interjection:
    """Speech that interrupts the script. Higher ``priority`` is spoken first."""

    text: str
    kind: SegmentKind = SegmentKind.answer
    priority: int = 0
    viewer: str | None = None
    comment_id: str | None = None
    created_at: float = field(default=0.0)  # time.monotonic() when the comment arrived (latency accounting)


@dataclass(frozen=True, slots=True)
class Spoken:
    """What the session reports after speaking (part of) a segment."""

    segment_id: str
    completed: bool  # False when interrupted; the session then resumes it itself
    words_spoken: int
    pts_end_s: float  # media-clock time when the speech ended


@runtime_checkable
class SegmentSource(Protocol):
    """Supplies the script, one segment at a time; never runs dry (a live script loops)."""

    def next_segment(self) -> Segment: ...

    def spoken(self, report: Spoken) -> None:
        """Called by the session as segments finish (or are cut); lets the source persist its position."""
        ...
