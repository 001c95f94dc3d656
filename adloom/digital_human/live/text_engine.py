"""The text engine: a live room's presenter speaking into a transcript at speaking pace, no media.

It honours the media session's contract (:class:`~adloom.digital_human.live.types.SegmentSource` in,
:class:`~adloom.digital_human.live.types.Spoken` back, ``interject`` cutting the current segment at its
next word boundary and resuming it from that word), so a room's script, answers and interruptions can
be rehearsed without rendering, and a machine without the media stack still runs a room. It lives
beside the media session and, like it, imports nothing outside ``core`` and ``digital_human.live``.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adloom.core.errors import InputError
from adloom.core.text import speech_seconds
from adloom.core.types import Language
from adloom.digital_human.live.types import Interjection, Segment, SegmentSource, Spoken
from adloom.digital_human.live.words import join_words, split_words

log = logging.getLogger(__name__)

#: Interjections waiting at most; past it the least important, newest waiting line is dropped.
MAX_PENDING = 16
#: The transcript rolls over to ``<name>.1.jsonl`` past this size, so a 24/7 room cannot fill the disk.
TRANSCRIPT_MAX_BYTES = 5_000_000


class TextSession:
    """The text engine: speaks segments into a transcript at speaking pace, no media.

    Same contract as the media session: pulls segments from a :class:`SegmentSource`,
    ``interject`` cuts the current segment at its next word boundary, speaks the interjection
    (highest priority first), then resumes the cut segment from the word where it stopped, and
    reports :class:`Spoken` back. ``rate`` speeds the clock up (tests, rehearsals); ``math.inf`` never
    waits, and :meth:`run_until` then runs a simulated day in seconds on the caller's thread.
    ``listener`` receives every transcript record (also when there is no transcript file).
    """

    def __init__(
        self,
        source: SegmentSource,
        language: Language,
        *,
        transcript: Path | None,
        rate: float = 1.0,
        listener: Callable[[dict[str, Any]], None] | None = None,
    ):
        if not rate > 0:
            raise InputError(f"speech rate {rate} must be above 0 (1 = real time, math.inf = no waiting)", field="rate")
        self.source = source
        self.language = language
        self.transcript = transcript
        self.rate = rate
        self.listener = listener
        self._pending: list[tuple[int, int, Interjection]] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.media_s = 0.0  # speech time spoken so far (the text engine's media clock)
        self.current: str = ""
        self.segments = 0
        self.interjections = 0
        self.interrupted = 0
        self.latencies_ms: list[float] = []  # interject() → presenter stops, last 100
        self._asked: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="text-session", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def interject(self, j: Interjection) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(self._pending, (-j.priority, self._seq, j))
            if len(self._pending) > MAX_PENDING:  # bounded: drop the least important, newest waiting line
                self._pending.remove(max(self._pending))
                heapq.heapify(self._pending)
            self._asked = time.monotonic()
        self._wake.set()

    def status(self) -> dict[str, Any]:
        with self._lock:
            waiting = len(self._pending)
        lat = sorted(self.latencies_ms)
        return {
            "engine": "text",
            "media_s": round(self.media_s, 2),
            "speaking": self.current,
            "segments": self.segments,
            "interjections": self.interjections,
            "interrupted": self.interrupted,
            "interjections_waiting": waiting,
            "interrupt_latency_ms_p50": round(lat[len(lat) // 2], 1) if lat else None,
        }

    def _word_s(self, word: str) -> float:
        """How long ``word`` takes to say, in media seconds (the wall clock waits that divided by ``rate``)."""
        return max(0.08, speech_seconds(word, self.language))

    def _pop(self) -> Interjection | None:
        with self._lock:
            return heapq.heappop(self._pending)[2] if self._pending else None

    def _write(self, record: dict[str, Any]) -> None:
        if self.listener is not None:
            self.listener(record)
        if self.transcript is None:
            return
        try:
            if self.transcript.exists() and self.transcript.stat().st_size > TRANSCRIPT_MAX_BYTES:
                os.replace(self.transcript, self.transcript.with_suffix(".1.jsonl"))
            with self.transcript.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:
            log.warning("transcript write failed: %s", exc)

    def _speak(self, words: list[str], *, interruptible: bool) -> int:
        """Speak ``words``; returns how many were spoken (fewer when an interjection arrived)."""
        for i, w in enumerate(words):
            media = self._word_s(w)
            if self._stop.wait(0 if math.isinf(self.rate) else media / self.rate):
                return i
            self.media_s += media
            if interruptible and self._pending:
                if self._asked is not None:
                    self.latencies_ms = [*self.latencies_ms[-99:], (time.monotonic() - self._asked) * 1000]
                return i + 1
        return len(words)

    def run_until(self, media_s: float) -> None:
        """Speak on the caller's thread until the media clock reaches ``media_s`` (simulations, with
        ``rate=math.inf``: a simulated day takes seconds and nothing sleeps). Not while :meth:`start`ed."""
        if self._thread is not None and self._thread.is_alive():
            raise InputError("run_until: the session is already running on its own thread; stop it first")
        resume: tuple[Segment, int] | None = None
        while self.media_s < media_s and not self._stop.is_set():
            resume = self._step(resume)

    def _run(self) -> None:
        resume: tuple[Segment, int] | None = None
        while not self._stop.is_set():
            resume = self._step(resume)

    def _step(self, resume: tuple[Segment, int] | None) -> tuple[Segment, int] | None:
        """Speak the next interjection, or the next (or resumed) segment; returns the segment to resume."""
        j = self._pop()
        if j is not None:
            self.current = j.text
            words = split_words(j.text)
            start = self.media_s
            n = self._speak(words, interruptible=False)
            self.interjections += 1
            record = {"t": round(self.media_s, 2), "start": round(start, 2), "kind": j.kind.value}
            self._write(record | {"viewer": j.viewer, "text": j.text})
            return resume if n >= len(words) else None  # cut short only when stopping
        if resume is not None:
            seg, first = resume
        else:
            seg, first = self.source.next_segment(), 0
        self.current = seg.text
        words = split_words(seg.text)
        start = self.media_s
        n = first + self._speak(words[first:], interruptible=True)
        done = n >= len(words)
        said = join_words(words[first:n])
        record = {"t": round(self.media_s, 2), "start": round(start, 2), "kind": seg.kind.value, "id": seg.id}
        self._write(record | {"text": said, "completed": done})
        self.source.spoken(Spoken(seg.id, done, n, self.media_s))
        if done:
            self.segments += 1
            return None
        if self._stop.is_set():
            return None
        self.interrupted += 1
        return (seg, n)
