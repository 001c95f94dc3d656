"""The room's director: which line the presenter says next, and what to say back to viewers.

Two parts, both fed to the live session:

* :class:`ScriptDirector` is the room's :class:`~adloom.digital_human.live.types.SegmentSource`.
  It plays a looping live script (an opening, then one block of lines per product) and picks
  the product of each block from a 24-hour :class:`ProductSchedule` (which products when).
  Each line comes with paraphrases; under a *variety budget* no phrasing is handed out again
  within ``variety_window_s`` of media time (a bounded memory of what was said when, on the
  session's media clock), and the selling points of a block are spoken in a new order on each
  visit. When every phrasing of a line is inside the window, the least recently said one is used
  and the breach is counted and logged (``status()["variety"]``), never hidden.
  What the session reports as spoken is written to a small JSON state file (atomically), so a
  room that restarts resumes the schedule at the line after the last one completed instead of
  opening the show again.
* :class:`InteractionLoop` takes comments from the :class:`~adloom.digital_human.live.comments.CommentIntake`
  and turns each into an :class:`~adloom.digital_human.live.types.Interjection`: questions are
  answered by the injected :class:`~adloom.core.protocols.Responder` under a timeout (a timeout,
  any failure or a compliance rejection gives a safe canned reply instead — the presenter never
  goes silent waiting for a model); purchase intent gets a templated price-and-link line;
  greetings are welcomed by name in one batched line. Answers are paced (at most one every
  ``min_gap_s``) so a comment flood cannot starve the script.

Neither part imports ``scripts_gen``: the script arrives as :class:`LoopScript` (built by
``serving`` from the script writer's output) and the answers through the ``Responder`` Protocol.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from adloom.core.errors import ComplianceError, InputError
from adloom.core.paths import write_atomic
from adloom.core.protocols import Responder
from adloom.core.types import Language, Product
from adloom.digital_human.live.comments import CommentIntake, CommentKind, PendingComment, clean_viewer_name
from adloom.digital_human.live.types import Interjection, Segment, SegmentKind, Spoken

__all__ = [
    "InteractionLoop",
    "LoopScript",
    "ProductBlock",
    "ProductSchedule",
    "ScheduleEntry",
    "ScriptDirector",
    "canned_reply",
    "purchase_reply",
    "welcome_line",
]

log = logging.getLogger(__name__)
STATE_VERSION = 1
#: Phrasings the variety memory holds at most (oldest forgotten first); a room's script has a few hundred.
VARIETY_MEMORY = 4096


# --------------------------------------------------------------------------- the script and the schedule


@dataclass(frozen=True, slots=True)
class ProductBlock:
    """The lines about one product, spoken in order (intro, selling points, price, offer, prompt)."""

    product_id: str
    product: Product
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class LoopScript:
    """A looping live script: the opening (spoken at start and every few blocks) and the product blocks."""

    language: Language
    opening: tuple[Segment, ...]
    blocks: tuple[ProductBlock, ...]

    def __post_init__(self) -> None:
        if not self.blocks:
            raise InputError("a live script needs at least one product block", field="blocks")
        seen: set[str] = set()
        for seg in [*self.opening, *(s for b in self.blocks for s in b.segments)]:
            if seg.id in seen:
                raise InputError(f"live script segment id {seg.id!r} appears twice; ids must be unique", field="id")
            seen.add(seg.id)
        for b in self.blocks:
            if not b.segments:
                raise InputError(f"product block {b.product_id!r} has no lines", field="segments")

    def block(self, product_id: str) -> ProductBlock:
        for b in self.blocks:
            if b.product_id == product_id:
                return b
        raise InputError(
            f"no product {product_id!r} in the live script; products: {', '.join(b.product_id for b in self.blocks)}",
            field="product",
        )


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """From ``start`` (``"HH:MM"``, local time) until the next entry, rotate through ``product_ids``."""

    start: str
    product_ids: tuple[str, ...]

    @property
    def minute(self) -> int:
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", self.start.strip())
        if not m:
            raise InputError(f"schedule start {self.start!r} is not a time of day HH:MM (00:00–23:59)", field="start")
        return int(m.group(1)) * 60 + int(m.group(2))


class ProductSchedule:
    """Which product each block presents, over a 24-hour day.

    Entries are windows of the day; within a window the products take turns block by block.
    With no entries every product takes its turn all day. Times wrap at midnight: before the
    first entry's start, the last entry of the previous day is in force.
    """

    def __init__(self, product_ids: Sequence[str], entries: Sequence[ScheduleEntry] = ()) -> None:
        if not product_ids:
            raise InputError("a schedule needs at least one product", field="schedule")
        known = set(product_ids)
        for e in entries:
            if not e.product_ids:
                raise InputError(f"schedule entry at {e.start} names no products", field="schedule")
            unknown = [p for p in e.product_ids if p not in known]
            if unknown:
                raise InputError(
                    f"schedule entry at {e.start} names unknown product(s) {', '.join(unknown)}; "
                    f"known: {', '.join(product_ids)}",
                    field="schedule",
                )
        self.product_ids = tuple(product_ids)
        self.entries = tuple(sorted(entries, key=lambda e: e.minute)) or (ScheduleEntry("00:00", self.product_ids),)

    def window(self, when: datetime) -> ScheduleEntry:
        minute = when.hour * 60 + when.minute
        current = self.entries[-1]
        for e in self.entries:
            if e.minute <= minute:
                current = e
        return current

    def product_at(self, when: datetime, turn: int) -> str:
        ids = self.window(when).product_ids
        return ids[turn % len(ids)]


# --------------------------------------------------------------------------- the segment source


class ScriptDirector:
    """Plays a :class:`LoopScript` block by block, products picked by the schedule; persists position.

    ``next_segment`` is called by the session's thread and ``spoken`` reports back what was
    actually said; the position written to ``state_path`` is the line after the last one
    *completed*, so a crash mid-line repeats that line rather than skipping it. ``extra_state``
    adds the caller's counters to the file; what a previous run saved there is in
    :attr:`restored_extra`.

    ``variety_window_s`` is the variety budget (0 turns it off: always the first phrasing, the
    script's order); ``seed`` makes the choice of phrasings and the selling-point order repeatable.
    The memory of what was said lives on the media clock the session reports (``Spoken.pts_end_s``)
    and is not persisted: a restarted session starts a new clock.
    """

    def __init__(
        self,
        script: LoopScript,
        *,
        schedule: ProductSchedule | None = None,
        state_path: Path | None = None,
        opening_every: int = 6,
        now: Callable[[], datetime] = datetime.now,
        extra_state: Callable[[], Mapping[str, Any]] | None = None,
        variety_window_s: float = 600.0,
        seed: int = 0,
    ) -> None:
        if variety_window_s < 0:
            raise InputError(
                f"variety window {variety_window_s} s is negative; give the minutes before a line may repeat (0 = off)",
                field="variety_window_min",
            )
        self.script = script
        self.schedule = schedule or ProductSchedule([b.product_id for b in script.blocks])
        self.state_path = state_path
        self.opening_every = max(0, opening_every)
        self.now = now
        self.extra_state = extra_state
        self.variety_window_s = variety_window_s
        self.seed = seed
        self._rng = random.Random(seed)
        self._said: dict[str, float] = {}  # phrasing → media time it was last said (oldest first)
        self._media_s = 0.0  # the session's media clock, as last reported
        self.variety_violations = 0
        self.last_violation: str | None = None
        self._visits: dict[str, int] = {}  # product id → blocks entered (picks the selling-point order)
        self._lock = threading.Lock()
        self._where: dict[str, tuple[str | None, int]] = {s.id: (None, i) for i, s in enumerate(script.opening)}
        for b in script.blocks:
            self._where.update({s.id: (b.product_id, i) for i, s in enumerate(b.segments)})
        # Hand-out cursor: what next_segment returns next.
        self._product = ""
        self._order: tuple[Segment, ...] = ()  # the current block's lines in this visit's speaking order
        self._index = 0
        self._enter(self.schedule.product_at(now(), 0))
        self._in_opening = bool(script.opening)
        self._turn = 0
        # Counters (persisted).
        self.loops = 0
        self.segments_completed = 0
        self.segments_interrupted = 0
        self.restarts = 0
        self.resumed_from: str | None = None
        self.restored_extra: dict[str, Any] = {}
        self._last_completed: str | None = None
        self._completed_turn = 0
        self._handed: dict[str, tuple[int, str]] = {}  # segment id → (turn, phrasing) of its last hand-out
        self._load()

    # ----------------------------------------------------------------- SegmentSource

    def next_segment(self) -> Segment:
        with self._lock:
            while True:
                if self._in_opening:
                    if self._index < len(self.script.opening):
                        self._index += 1
                        return self._hand_out(self.script.opening[self._index - 1])
                    self._in_opening, self._index = False, 0
                if self._index < len(self._order):
                    self._index += 1
                    return self._hand_out(self._order[self._index - 1])
                self._advance_block()

    def _hand_out(self, seg: Segment) -> Segment:
        """The line in the phrasing the variety budget picks (lock held). Remembers the turn each handed-out
        line belongs to: the session reads a few lines ahead, so the turn to persist is that of the last
        line *spoken*, not of the last handed out."""
        text = self._phrase(seg)
        self._handed[seg.id] = (self._turn, text)
        while len(self._handed) > 64:
            self._handed.pop(next(iter(self._handed)))
        return seg if text == seg.text else replace(seg, text=text)

    def _phrase(self, seg: Segment) -> str:
        """A phrasing of ``seg`` not said within the variety window: the line's own text the first time, then
        one never said if any, else one of the less recently said half, picked by the seeded generator.
        When all were said within the window, the least recently said one, and the breach is counted and
        logged. The choice is remembered at once (the session reads ahead), then stamped with the real time
        when the session reports it spoken."""
        options = seg.phrasings()
        if not self.variety_window_s:
            return seg.text
        now = self._media_s
        never = [t for t in options if t not in self._said]
        fresh = sorted(
            (t for t in options if t in self._said and now - self._said[t] >= self.variety_window_s),
            key=self._said.__getitem__,
        )
        if seg.text in never:  # the script as written (or as a person edited it) is said first
            text = seg.text
        elif never or fresh:
            text = self._rng.choice(never or fresh[: max(1, len(fresh) // 2)])
        else:
            text = min(options, key=self._said.__getitem__)
            gap = now - self._said[text]
            self.variety_violations += 1
            self.last_violation = (
                f"{seg.id}: all {len(options)} phrasing(s) said within the last {self.variety_window_s:g} s; "
                f"repeated {text[:40]!r} after {gap:.0f} s"
            )
            log.warning("variety budget breached: %s", self.last_violation)
        self._remember(text, now)
        return text

    def _remember(self, text: str, at: float) -> None:
        self._said.pop(text, None)
        self._said[text] = at
        while len(self._said) > VARIETY_MEMORY:
            self._said.pop(next(iter(self._said)))

    def _arrange(self, product_id: str, visit: int) -> tuple[Segment, ...]:
        """The block's lines for one visit: the selling-point lines in an order drawn from (seed, product,
        visit), every other line in its place. Recomputable, so a restart resumes inside the same order."""
        segments = list(self.script.block(product_id).segments)
        slots = [i for i, seg in enumerate(segments) if seg.role == "point"]
        if len(slots) > 1 and self.variety_window_s:
            points = [segments[i] for i in slots]
            random.Random(f"{self.seed}/{product_id}/{visit}").shuffle(points)
            for i, seg in zip(slots, points, strict=True):
                segments[i] = seg
        return tuple(segments)

    def _enter(self, product_id: str) -> None:
        """Start a block of ``product_id`` (lock held, or during construction)."""
        self._visits[product_id] = self._visits.get(product_id, 0) + 1
        self._product = product_id
        self._order = self._arrange(product_id, self._visits[product_id])
        self._index = 0

    def _advance_block(self) -> None:
        """The current block is done (lock held): next turn, product from the schedule, maybe re-open."""
        self._turn += 1
        if self._turn % max(1, len(self.schedule.window(self.now()).product_ids)) == 0:
            self.loops += 1
        self._enter(self.schedule.product_at(self.now(), self._turn))
        if self.script.opening and self.opening_every and self._turn % self.opening_every == 0:
            self._in_opening = True  # welcome the viewers who joined since, then the block

    def spoken(self, report: Spoken) -> None:
        where = self._where.get(report.segment_id)
        if where is None:
            return  # an interjection or a line from another script: nothing to persist
        with self._lock:
            self._media_s = max(self._media_s, report.pts_end_s)
            turn, text = self._handed.get(report.segment_id, (self._turn, ""))
            if report.completed:
                self.segments_completed += 1
                self._last_completed = report.segment_id
                self._completed_turn = turn
                if text:
                    self._remember(text, report.pts_end_s)
            else:
                self.segments_interrupted += 1
            state = self._state()
        self._save(state)

    # ----------------------------------------------------------------- queries

    @property
    def current_product(self) -> Product:
        with self._lock:
            return self._current_block().product

    @property
    def current_product_id(self) -> str:
        with self._lock:
            return self._product

    def products(self) -> list[tuple[str, Product]]:
        return [(b.product_id, b.product) for b in self.script.blocks]

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "product_id": self._product,
                "product": self._current_block().product.name,
                "in_opening": self._in_opening,
                "index": self._index,
                "turn": self._turn,
                "loops": self.loops,
                "segments_completed": self.segments_completed,
                "segments_interrupted": self.segments_interrupted,
                "last_completed": self._last_completed,
                "restarts": self.restarts,
                "resumed_from": self.resumed_from,
                "variety": {
                    "window_s": self.variety_window_s,
                    "violations": self.variety_violations,
                    "last_violation": self.last_violation,
                    "phrasings_remembered": len(self._said),
                },
            }

    def save(self) -> None:
        """Write the state file now (also done after every completed line)."""
        with self._lock:
            state = self._state()
        self._save(state)

    # ----------------------------------------------------------------- persistence

    def _current_block(self) -> ProductBlock:
        return self.script.block(self._product)

    def _state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "last_completed": self._last_completed,
            "turn": self._completed_turn,
            "visits": dict(self._visits),
            "loops": self.loops,
            "segments_completed": self.segments_completed,
            "segments_interrupted": self.segments_interrupted,
            "restarts": self.restarts,
            "saved_at": time.time(),
        }

    def _save(self, state: dict[str, Any]) -> None:
        if self.state_path is None:
            return
        if self.extra_state is not None:
            state = {**state, "extra": dict(self.extra_state())}
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.state_path, json.dumps(state, ensure_ascii=False, indent=1, default=str) + "\n")
        except OSError as exc:  # the show goes on; the next save may succeed
            log.warning("could not save room state to %s: %s", self.state_path, exc)

    def _load(self) -> None:
        if self.state_path is None or not self.state_path.is_file():
            return
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("room state %s is unreadable (%s); starting the script from the opening", self.state_path, exc)
            return
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            return
        self.restarts = int(state.get("restarts", 0)) + 1
        self.loops = int(state.get("loops", 0))
        self.segments_completed = int(state.get("segments_completed", 0))
        self.segments_interrupted = int(state.get("segments_interrupted", 0))
        self._turn = self._completed_turn = int(state.get("turn", 0))
        visits = state.get("visits")
        if isinstance(visits, dict):
            self._visits.update({k: int(v) for k, v in visits.items() if isinstance(v, int)})
        self.restored_extra = dict(state.get("extra") or {})
        last = state.get("last_completed")
        where = self._where.get(last) if isinstance(last, str) else None
        if where is None:
            return  # nothing completed yet, or the script changed: open the show again
        product_id, index = where
        self._last_completed = last
        self.resumed_from = last
        self._in_opening = False
        if product_id is None:  # stopped inside the opening: finish it
            self._in_opening, self._index = True, index + 1
            return
        scheduled = self.schedule.product_at(self.now(), self._turn)
        if scheduled == product_id:  # the same visit: its order, from the line after the last one spoken
            self._product = product_id
            self._order = self._arrange(product_id, self._visits.get(product_id, 1))
            self._index = next(i for i, seg in enumerate(self._order) if seg.id == last) + 1  # len → next block
        else:  # the schedule moved on while the room was down
            self._enter(scheduled)


# --------------------------------------------------------------------------- replies


def _at(viewer: str | None) -> str:
    name = clean_viewer_name(viewer or "")
    return f"@{name} " if name else ""


def canned_reply(language: Language | str, viewer: str | None = None) -> str:
    """The safe reply when no answer can be given in time (or at all). Contains no claim and no number."""
    if Language(language) == Language.zh:
        return f"{_at(viewer)}这个问题我记下了，稍后详细回复你，也可以先看看商品详情页哦。"
    return f"{_at(viewer)}Good question! I'll come back to it shortly; the product page has the details too."


def ack_line(language: Language | str, viewer: str | None = None) -> str:
    """Said at once when an answer takes a moment: the presenter stops the script right away."""
    if Language(language) == Language.zh:
        return f"{_at(viewer)}好问题，我看一下。"
    return f"{_at(viewer)}Good question, one second."


def purchase_reply(product: Product, language: Language | str, viewer: str | None = None) -> str:
    """Price (from the product data only), the offer, and where to tap — the purchase-intent template."""
    lang = Language(language)
    price = product.price_text(lang)
    if lang == Language.zh:
        parts = [f"{_at(viewer)}{product.name}"]
        parts.append(f"{price}" if price else "价格以下方链接为准")
        if product.offer:
            parts.append(product.offer.rstrip("。！!"))
        return "，".join(parts) + "。点击下方购物车链接就能下单。"
    head = f"{_at(viewer)}{product.name} is {price}" if price else f"{_at(viewer)}{product.name}: price is in the cart"
    offer = f", {product.offer.rstrip('.!')}" if product.offer else ""
    return f"{head}{offer}. Tap the cart link below to order."


def welcome_line(names: Sequence[str], total: int, language: Language | str) -> str:
    """One welcome for many greeters: names the first few and counts the rest."""
    lang = Language(language)
    names = [n for n in (clean_viewer_name(x) for x in names) if n]
    if lang == Language.zh:
        who = "、".join(names) or "新来的朋友"
        more = f"等{total}位朋友" if total > len(names) and names else ""
        return f"欢迎{who}{more}来到直播间！有问题随时在评论区问我。"
    if not names:
        return "Welcome, everyone who just joined! Ask me anything in the comments."
    others = total - len(names)
    if others > 0:
        who = ", ".join(names)
    else:
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    more = f" and {others} more" if others > 0 else ""
    return f"Welcome {who}{more}! Ask me anything in the comments."


_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=[.])\s")


def tidy_answer(text: str, language: Language | str, *, max_chars: int) -> str:
    """An answer fit to speak: one line, no leading @mention, cut at a sentence end under ``max_chars``.

    Returns "" when nothing speakable is left (the caller then uses the canned reply)."""
    t = re.sub(r"\s+", " ", text or "").strip()
    t = re.sub(r"^(?:@\S+\s*)+", "", t).strip()
    if len(t) <= max_chars:
        return t
    kept = ""
    for piece in _SENTENCE_END.split(t):
        if not piece:
            continue
        if len(kept) + len(piece) > max_chars:
            break
        kept += piece
    return kept.strip()


# --------------------------------------------------------------------------- the interaction loop


@dataclass
class InteractionCounters:
    answers: int = 0
    purchase_replies: int = 0
    welcomes: int = 0
    acks: int = 0
    canned: int = 0
    timeouts: int = 0
    responder_errors: int = 0
    compliance_rejections: int = 0
    empty_answers: int = 0
    responder_busy: int = 0
    says: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        return {**d, **self.extra}


class InteractionLoop:
    """Comments in, interjections out, on a background thread (``start``/``stop``).

    A question whose answer is not ready after ``ack_after_s`` gets a short acknowledgement at once
    ("@小王 好问题，我看一下。"), so the presenter stops the script promptly; the answer follows, or the
    canned reply when ``timeout_s`` passes. The responder is given a little less than ``timeout_s`` so
    its own fallback (a template answer) arrives in time.

    ``interject`` is the session's ``interject``. ``vet`` is an optional last check of every
    answer (e.g. the compliance checker, passed in by ``serving``): it returns the text to speak
    or ``None`` to reject it. ``current_product`` tells the purchase template which product is on.
    """

    def __init__(
        self,
        intake: CommentIntake,
        *,
        language: Language | str,
        current_product: Callable[[], Product],
        products: Sequence[Product] = (),
        interject: Callable[[Interjection], None] | None = None,
        responder: Responder | None = None,
        timeout_s: float = 4.0,
        ack_after_s: float = 0.05,
        min_gap_s: float = 8.0,
        greet_every_s: float = 30.0,
        max_answer_chars: int | None = None,
        vet: Callable[[str], str | None] | None = None,
    ) -> None:
        self.intake = intake
        self.language = Language(language)
        self.current_product = current_product
        self.products = list(products)
        self.interject_fn = interject
        self.responder = responder
        self.timeout_s = timeout_s
        self.ack_after_s = ack_after_s
        self.min_gap_s = min_gap_s
        self.greet_every_s = greet_every_s
        self.max_answer_chars = max_answer_chars or (90 if self.language == Language.zh else 240)
        self.vet = vet
        self.counters = InteractionCounters()
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="responder")
        self._busy: cf.Future[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_interjection = -1e9
        self._last_welcome = time.monotonic()
        self.last_error: str | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if self.interject_fn is None:
            raise InputError("the interaction loop has nowhere to speak: pass interject= (the session's)")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="interaction", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.min_gap_s - (time.monotonic() - self._last_interjection)
            if wait > 0:
                self._stop.wait(min(wait, 0.5))
                continue
            if self.greet_every_s and time.monotonic() - self._last_welcome >= self.greet_every_s:
                self._last_welcome = time.monotonic()
                line = self.welcome()
                if line is not None:
                    self._emit(line)
                    continue
            pending = self.intake.take(timeout=0.2)
            if pending is None:
                continue
            try:
                self.handle(pending, emit=self._emit)
            except Exception as exc:  # a bug in one reply must not end the room's interaction
                log.exception("interaction failed for comment %s", pending.comment.id)
                self.last_error = f"{type(exc).__name__}: {exc}"

    def _emit(self, j: Interjection) -> None:
        assert self.interject_fn is not None
        self._last_interjection = time.monotonic()
        self.interject_fn(j)

    # ----------------------------------------------------------------- replies

    def welcome(self) -> Interjection | None:
        """The batched welcome for everyone who greeted since the last one (None if nobody did)."""
        names, total = self.intake.take_greetings()
        if not total:
            return None
        self.counters.welcomes += 1
        return Interjection(welcome_line(names, total, self.language), kind=SegmentKind.answer, priority=1)

    def say(self, text: str) -> Interjection:
        """An operator's line, spoken next (highest priority)."""
        clean = re.sub(r"\s+", " ", text or "").strip()
        if not clean:
            raise InputError("say: the text is empty; give the line to speak", field="text")
        if len(clean) > 400:
            raise InputError(f"say: the text is {len(clean)} characters; keep a line under 400", field="text")
        j = Interjection(clean, kind=SegmentKind.say, priority=10, created_at=time.monotonic())
        self.counters.says += 1
        if self.interject_fn is not None:
            self._emit(j)
        return j

    def handle(self, pending: PendingComment, *, emit: Callable[[Interjection], None]) -> Interjection:
        """Reply to one queued comment; ``emit`` receives the acknowledgement (if any) and the reply."""
        c = pending.comment
        viewer = c.viewer
        base = {"viewer": viewer, "comment_id": c.id, "created_at": c.received_at}
        if pending.kind == CommentKind.purchase:
            product = self._product_named(c.text) or self.current_product()
            j = Interjection(
                purchase_reply(product, self.language, viewer), kind=SegmentKind.answer, priority=3, **base
            )
            self.counters.purchase_replies += 1
            emit(j)
            return j
        text, kind = self._answer(c.text, viewer, base, emit)
        j = Interjection(text, kind=kind, priority=2, **base)
        emit(j)
        return j

    def _answer(
        self, question: str, viewer: str, base: dict[str, Any], emit: Callable[[Interjection], None]
    ) -> tuple[str, SegmentKind]:
        if self.responder is None:
            return self._canned(viewer)
        if self._busy is not None and not self._busy.done():
            self.counters.responder_busy += 1  # the last call overran its timeout and still holds the model
            return self._canned(viewer)
        responder = self.responder
        language = self.language.value
        timeout = self.timeout_s
        # The responder gets a little less than we wait, so its own fallback (a template answer) arrives in time.
        budget = max(0.05, timeout - min(0.5, 0.2 * timeout))
        future = self._pool.submit(lambda: responder(question, viewer=viewer, language=language, timeout_s=budget))
        self._busy = future
        deadline = time.monotonic() + timeout
        try:
            if self.ack_after_s and self.ack_after_s < timeout:
                try:
                    raw = future.result(timeout=self.ack_after_s)
                except cf.TimeoutError:
                    self.counters.acks += 1
                    emit(Interjection(ack_line(self.language, viewer), kind=SegmentKind.answer, priority=2, **base))
                    raw = future.result(timeout=max(0.0, deadline - time.monotonic()))
            else:
                raw = future.result(timeout=timeout)
        except (cf.TimeoutError, TimeoutError):
            self.counters.timeouts += 1
            return self._canned(viewer)
        except ComplianceError as exc:
            self.counters.compliance_rejections += 1
            self.last_error = f"ComplianceError: {exc}"
            return self._canned(viewer)
        except Exception as exc:  # any responder failure: the room answers safely and goes on
            self.counters.responder_errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("responder failed (%s); canned reply", self.last_error)
            return self._canned(viewer)
        text = tidy_answer(str(raw or ""), self.language, max_chars=self.max_answer_chars)
        if text and self.vet is not None:
            try:
                text = self.vet(text) or ""
            except ComplianceError:
                text = ""
            if not text:
                self.counters.compliance_rejections += 1
                return self._canned(viewer)
        if not text:
            self.counters.empty_answers += 1
            return self._canned(viewer)
        self.counters.answers += 1
        return _at(viewer) + text, SegmentKind.answer

    def _canned(self, viewer: str) -> tuple[str, SegmentKind]:
        self.counters.canned += 1
        return canned_reply(self.language, viewer), SegmentKind.canned

    def _product_named(self, text: str) -> Product | None:
        low = text.lower()
        for p in self.products:
            if p.name.lower() in low:
                return p
        return None

    def status(self) -> dict[str, Any]:
        return {
            **self.counters.as_dict(),
            "running": self._thread is not None and self._thread.is_alive(),
            "last_error": self.last_error,
        }

    def restore_counters(self, saved: Mapping[str, Any]) -> None:
        for k, v in saved.items():
            if hasattr(self.counters, k) and k != "extra" and isinstance(v, int):
                setattr(self.counters, k, v)
