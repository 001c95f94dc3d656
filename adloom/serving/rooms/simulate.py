"""A room's live script over a simulated day: what the presenter would say, and how often it repeats itself.

:func:`simulate_script` wires the room's real parts — the script writer's paraphrase sets, the
:class:`~adloom.digital_human.live.director.ScriptDirector` with the room's schedule and variety
budget, and the :class:`~adloom.digital_human.live.text_engine.TextSession` — and runs them on a
simulated clock (the text engine at infinite rate: nothing sleeps, the schedule reads the media
clock), so 24 hours take seconds. :func:`variety_report` measures the result: verbatim repeats
per hour and the shortest gap between two identical lines. ``adloom live simulate`` prints both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adloom.core.errors import InputError
from adloom.core.types import Language
from adloom.digital_human.live.director import ScriptDirector
from adloom.digital_human.live.text_engine import TextSession
from adloom.serving.rooms.runtime import build_schedule, room_script, to_loop_script
from adloom.serving.rooms.schema import RoomFile, load_room

__all__ = ["VarietyReport", "simulate_script", "variety_report"]

#: The simulated day starts at midnight, so every slot of the room's 24-hour schedule is played.
SIM_START = datetime(2026, 1, 1)


def simulate_script(room: RoomFile | Path | str, hours: float, *, seed: int = 0) -> list[tuple[float, str]]:
    """Every script line the room would speak in ``hours`` of simulated time, as (seconds since start, line).

    ``room`` is a room file (path) or a loaded :class:`RoomFile`; its industry, schedule, opening cadence
    and ``variety_window_min`` apply. The same room and ``seed`` give the same lines."""
    if not 0 < hours <= 24 * 14:
        raise InputError(f"simulate: hours={hours} is out of range; give 0 < hours ≤ 336", field="hours")
    rf = room if isinstance(room, RoomFile) else load_room(Path(room))
    script = room_script(rf, None, seed=seed)
    clock: list[TextSession] = []  # the session, once built: the director's wall clock follows its media clock

    def now() -> datetime:
        return SIM_START + timedelta(seconds=clock[0].media_s if clock else 0.0)

    director = ScriptDirector(
        to_loop_script(script, rf.room),
        schedule=build_schedule(rf),
        opening_every=rf.preset.opening_every,
        now=now,
        variety_window_s=rf.preset.variety_window_min * 60,
        seed=seed,
    )
    spoken: list[tuple[float, str]] = []

    def listen(record: dict[str, Any]) -> None:
        if record.get("completed"):
            spoken.append((float(record["start"]), str(record["text"])))

    session = TextSession(director, Language(rf.room.language), transcript=None, rate=math.inf, listener=listen)
    clock.append(session)
    session.run_until(hours * 3600)
    return spoken


@dataclass(frozen=True)
class VarietyReport:
    """How much a spoken script repeats itself word for word."""

    lines: int
    distinct: int
    #: Per hour of the run: the share of its lines already said earlier in the same hour.
    repeat_rate_per_hour: list[float]
    #: Shortest time between the starts of two identical lines (None when no line repeats).
    min_gap_s: float | None
    window_s: float

    @property
    def repeated_within_window(self) -> bool:
        return self.min_gap_s is not None and self.min_gap_s < self.window_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "distinct": self.distinct,
            "repeat_rate_per_hour": [round(r, 4) for r in self.repeat_rate_per_hour],
            "min_gap_s": None if self.min_gap_s is None else round(self.min_gap_s, 1),
            "window_s": self.window_s,
            "repeated_within_window": self.repeated_within_window,
        }


def variety_report(spoken: Sequence[tuple[float, str]], *, window_s: float = 600.0) -> VarietyReport:
    """Verbatim repeats in ``spoken`` (as :func:`simulate_script` returns it)."""
    last: dict[str, float] = {}
    min_gap: float | None = None
    hours: dict[int, tuple[int, int]] = {}  # hour → (lines, lines already said earlier that hour)
    seen_in_hour: dict[int, set[str]] = {}
    for t, text in spoken:
        if text in last:
            gap = t - last[text]
            min_gap = gap if min_gap is None else min(min_gap, gap)
        last[text] = t
        hour = int(t // 3600)
        seen = seen_in_hour.setdefault(hour, set())
        n, repeats = hours.get(hour, (0, 0))
        hours[hour] = (n + 1, repeats + (text in seen))
        seen.add(text)
    rates = [hours[h][1] / hours[h][0] if h in hours else 0.0 for h in range(max(hours, default=-1) + 1)]
    return VarietyReport(len(spoken), len(last), rates, min_gap, window_s)
