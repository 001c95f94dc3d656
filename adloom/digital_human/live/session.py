"""The live session: script segments → TTS → mouth track → avatar frames → A/V mux → outputs.

Three threads, one media clock (:mod:`.clock`):

- **voice** pulls :class:`Segment` s from the :class:`SegmentSource` and synthesises them
  clause by clause (:func:`clause_end`; ``lookahead`` clauses ahead), answers and resumed
  remainders first, so an answer waits at most for one clause in synthesis and its first
  audio comes after its first clause. Each clause becomes an *utterance*: PCM at the session
  rate (loudness-normalised), the sample where each word ends (:mod:`.words`), and one mouth
  pose per frame (:mod:`.mouth`). When the TTS backend raises, the next one in the chain
  speaks the clause (Kokoro → espeak-ng by default) and the primary rests for
  ``primary_retry_s``; when none can, the clause is skipped with a growing back-off.
- **clock** emits tick ``n`` (frame ``n`` + its audio chunk, both stamped from the integer
  timeline) at wall time ``t0 + n/fps`` in real time, or flat out in faster-than-real-time
  mode. It picks what is spoken, cuts the script at the next word boundary when an
  interjection waits, renders the avatar, and repeats the last frame instead of rendering
  when the tick is already late (25 fps out whatever the render cost; counted).
- **writer** feeds ticks to :class:`~.outputs.LiveOutputs` through a bounded queue with
  policy ``block``: the encoder's input never loses a tick (that would break the
  timeline); back-pressure makes the clock late, which it absorbs by repeating frames.

Interruption: :meth:`LiveSession.interject` queues an :class:`Interjection` (bounded,
priority-ordered; the lowest-ranked drops when full). The clock lets the current script
clause run to the end of the word being spoken, stops there, speaks the answer, then the
voice thread re-synthesises the rest of that clause from the next word and the script
resumes (clauses after it were synthesised already and stay valid). After
``max_consecutive_interjections`` answers in a row the script gets one uninterrupted clause,
so a comment flood cannot starve it. What was spoken is reported to the source
(:class:`Spoken`: at a cut, at a segment's end, and at stop) so a restarted room resumes its
schedule where it stopped.

Nothing here holds a reference back to its owner: outputs see only the shared
:class:`~.clock.MediaPosition`, and the source is called under one lock, so it need not
be thread-safe.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.types import Language
from adloom.digital_human.avatar.base import REST, Avatar, MouthPose
from adloom.digital_human.live.clock import AVTick, FrameCounters, MediaClock, MediaPosition, Pacer
from adloom.digital_human.live.mouth import MouthTrack, default_mouth_track
from adloom.digital_human.live.outputs import EncoderSettings, LiveOutputs, OutputSpec, OutputStatus
from adloom.digital_human.live.queues import BoundedQueue, DropPolicy, PriorityDropQueue, QueueStats
from adloom.digital_human.live.types import Interjection, Segment, SegmentKind, SegmentSource, Spoken
from adloom.digital_human.live.words import join_words, split_words, word_ends
from adloom.digital_human.voice.base import LineAudio, TTSBackend, resample
from adloom.digital_human.voice.loudness import integrated_loudness

__all__ = ["InterruptLatency", "LiveConfig", "LiveSession", "LiveStatus", "SYNC_TONE_HZ", "sync_burst"]

log = logging.getLogger(__name__)

#: The sync test signal: a white frame and a 10 ms tone burst at the same PTS (``sync_mark_every_s``).
SYNC_TONE_HZ = 2000.0
_SYNC_BURST_S = 0.010


def sync_burst(sample_rate: int) -> np.ndarray:
    """The audio half of a sync mark (float, amplitude 0.9), for detectors to correlate against."""
    t = np.arange(int(round(_SYNC_BURST_S * sample_rate))) / sample_rate
    return 0.9 * np.sin(2 * np.pi * SYNC_TONE_HZ * t)


def loudness_gain(samples: np.ndarray, rate: int, target_lufs: float, *, peak: float = 0.98) -> float:
    """Gain bringing a line to ``target_lufs`` (BS.1770), lowered if needed so no sample passes ``peak``."""
    x = np.asarray(samples, dtype=np.float32)
    if len(x) == 0:
        return 1.0
    measured = integrated_loudness(x, rate)
    gain = 10 ** ((target_lufs - measured) / 20) if math.isfinite(measured) else 1.0
    top = float(np.abs(x).max())
    return min(gain, peak / top) if top > 0 else gain


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """How a session runs. Sizes, rates and limits; defaults suit a 720×1280 room at 25 fps.

    ``realtime=False`` runs the clock as fast as the machine allows and, instead of idling
    while speech is being synthesised, waits for it (tests, benchmarks). ``max_frames``
    ends the session after that many ticks. ``sync_mark_every_s`` inserts a white frame and
    a tone burst at the same PTS (an A/V sync test signal; off by default).
    """

    fps: int = 25
    sample_rate: int = 48_000
    language: Language = Language.en
    voice: str | None = None
    speed: float = 1.0
    realtime: bool = True
    lookahead: int = 2
    max_interjections: int = 16
    max_consecutive_interjections: int = 3
    gap_s: float = 0.35  # pause after a segment or an answer
    clause_gap_s: float = 0.04  # pause between the clauses of one (synthesised separately)
    target_lufs: float = -18.0
    max_frames: int | None = None
    sync_mark_every_s: float | None = None
    late_frames: float = 1.0  # a tick this many frames behind the wall clock repeats the last frame
    writer_queue: int = 6
    primary_retry_s: float = 30.0
    warm_tts: bool = True  # start() speaks one word with the primary voice first (loads its model)
    preset: str = "veryfast"
    video_bitrate: str = "2000k"
    encoder_threads: int = 0
    rtmp_backoff_s: float = 0.5
    rtmp_max_backoff_s: float = 8.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "language", Language(self.language))
        for name in ("lookahead", "max_interjections", "max_consecutive_interjections", "writer_queue"):
            if getattr(self, name) < 1:
                raise InputError(f"live config: {name} must be at least 1, got {getattr(self, name)}", field=name)
        if self.max_frames is not None and self.max_frames < 1:
            raise InputError(f"live config: max_frames must be positive, got {self.max_frames}", field="max_frames")
        if self.sync_mark_every_s is not None and self.sync_mark_every_s * self.fps < 2:
            raise InputError("live config: sync_mark_every_s must span at least 2 frames", field="sync_mark_every_s")


@dataclass(slots=True)
class InterruptLatency:
    """For one interjection: from its arrival to the presenter stopping, and to its first audio.

    Media times are on the session's clock (PTS differences); wall times use
    ``time.monotonic`` from ``Interjection.created_at`` (or the ``interject`` call). In real time
    the arrival is placed on the media clock at ``created_at`` too, so both include the time the
    answer took to write. ``stop_*`` are None when the presenter was not speaking the script when
    it arrived. Both end where the session hands the tick to the encoder: add the encoder's and
    the network's delay (constant) for what a viewer sees.
    """

    comment_id: str | None
    arrival_sample: int
    arrival_wall: float
    stop_media_s: float | None = None
    stop_wall_s: float | None = None
    first_audio_media_s: float | None = None
    first_audio_wall_s: float | None = None


@dataclass(frozen=True, slots=True)
class LiveStatus:
    state: str  # idle | running | stopping | stopped | failed
    frame: int  # ticks handed to the encoder
    media_s: float
    behind_s: float  # how late the last tick was against the wall clock
    speaking: str | None  # segment id being spoken
    speaking_kind: str | None
    frames: FrameCounters
    idle_ticks: int  # ticks with nothing spoken
    interjections: QueueStats
    interjections_spoken: int
    segments_completed: int
    segments_cut: int
    tts_fallbacks: int  # lines spoken by a fallback backend
    tts_failures: int  # clauses no backend could speak, or the source failed to give (skipped, with back-off)
    backend: str | None  # the backend that spoke the last line
    outputs: list[OutputStatus]
    error: str = ""


@dataclass(slots=True)
class _Pending:
    item: Interjection
    latency: InterruptLatency


@dataclass(slots=True)
class _Utterance:
    """One synthesised clause: words ``all_words[start:stop]`` of a segment (script) or an answer."""

    segment: Segment
    all_words: list[str]  # words of the whole segment / answer
    start: int
    stop: int
    pcm: np.ndarray  # int16 at the session rate
    ends: np.ndarray  # sample where each of its words ends
    poses: list[MouthPose]
    backend: str
    pending: _Pending | None = None  # set for interjections
    start_frame: int = 0
    pos: int = 0
    cut_at: int | None = None
    cut_words: int = 0

    @property
    def is_script(self) -> bool:
        return self.pending is None

    @property
    def final(self) -> bool:
        return self.stop >= len(self.all_words)

    @property
    def words(self) -> list[str]:
        return self.all_words[self.start : self.stop]


def clause_end(words: list[str], start: int, *, min_units: float = 4.0, max_units: float = 16.0) -> int:
    """Where the clause starting at ``words[start]`` ends (exclusive): after punctuation once it has
    ``min_units`` (a Latin word is 1, a Chinese character 0.5), or at ``max_units``; a short tail is kept
    with it. Speech is synthesised clause by clause so an answer's first audio comes early and the
    voice thread can put an answer ahead of the script between clauses."""
    n, units, end = len(words), 0.0, start
    while end < n:
        word = words[end]
        end += 1
        units += 0.5 * max(1, len(_CJK_RE.findall(word))) if _CJK_RE.match(word) else 1.0
        if units >= max_units or (units >= min_units and _CLAUSE_END.search(word)):
            break
    rest = sum(0.5 if _CJK_RE.match(w) else 1.0 for w in words[end:])
    return n if rest < min_units / 2 else end


_WAIT = object()
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CLAUSE_END = re.compile(r"[,.!?;:，。！？；：、…]$")


class LiveSession:
    """A live room's media engine. See the module docstring for the threads and policies.

    ``source`` supplies the script; ``avatar`` renders frames (its ``size`` and ``fps`` set
    the stream); ``outputs`` are where the encoded stream goes. ``tts`` is the backend
    chain, primary first (names or instances; default: settings' backend, then espeak-ng).
    ``mouth_track`` maps a spoken line to per-frame mouth poses (default: the lip-sync
    layer). ``on_spoken(report, interjection)`` is called, from the clock thread and outside its
    lock, with every report the source gets (``interjection`` None) and when an answer has been
    spoken in full (``interjection`` the one spoken); keep it quick.
    """

    def __init__(
        self,
        source: SegmentSource,
        avatar: Avatar,
        outputs: Sequence[OutputSpec],
        config: LiveConfig | None = None,
        *,
        tts: Sequence[TTSBackend | str] | None = None,
        mouth_track: MouthTrack | None = None,
        on_spoken: Callable[[Spoken, Interjection | None], None] | None = None,
    ) -> None:
        self.config = config or LiveConfig()
        if not isinstance(source, SegmentSource):
            raise InputError("live session: source must have next_segment() and spoken(report)", field="source")
        if int(avatar.fps) != self.config.fps:
            raise InputError(
                f"live session: the avatar renders at {avatar.fps} fps but the session runs at {self.config.fps}; "
                "build the avatar with the session's fps",
                field="fps",
            )
        self.clock = MediaClock(self.config.fps, self.config.sample_rate)
        self._source = source
        self._avatar = avatar
        self._specs = list(outputs)
        self._tts_spec = list(tts) if tts is not None else None
        self._backends: list[TTSBackend] = []
        self._mouth = mouth_track or default_mouth_track
        self._on_spoken = on_spoken
        width, height = (int(v) for v in avatar.size)
        self._encoder_settings = EncoderSettings(
            width=width, height=height, fps=self.config.fps, sample_rate=self.config.sample_rate,
            preset=self.config.preset, video_bitrate=self.config.video_bitrate, threads=self.config.encoder_threads,
        )  # fmt: skip
        self.position = MediaPosition()
        self._outputs: LiveOutputs | None = None
        self._pacer = Pacer(self.config.fps, realtime=self.config.realtime)

        self._cond = threading.Condition()
        self._source_lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._interjections: PriorityDropQueue[_Pending] = PriorityDropQueue(
            self.config.max_interjections, name="interjections"
        )
        # voice thread → clock: synthesised clauses, in the order they will be spoken
        self._ready_answers: deque[_Utterance] = deque()
        self._ready_resume: deque[_Utterance] = deque()
        self._ready_script: deque[_Utterance] = deque()
        # clauses still to synthesise: (segment or answer, its words, next word, stop word [, pending])
        self._answer_next: tuple[_Pending, Segment, list[str], int] | None = None
        self._resume: tuple[Segment, list[str], int, int] | None = None
        self._script_next: tuple[Segment, list[str], int] | None = None
        self._answer_busy = False
        self._resume_busy = False
        self._answer_open = False  # an answer's first clause is on air and its last is not yet done
        self._writer: BoundedQueue[AVTick] = BoundedQueue(self.config.writer_queue, DropPolicy.block, name="encoder")
        self._threads: list[threading.Thread] = []

        self._state = "idle"
        self._error = ""
        self._counters = FrameCounters()
        self._current: _Utterance | None = None
        self._consecutive = 0
        self._idle_ticks = 0
        self._spoken_answers = 0
        self._completed = 0
        self._cut = 0
        self._fallbacks = 0
        self._tts_failures = 0
        self._last_backend: str | None = None
        self._behind = 0.0
        self._primary_down_until = 0.0
        self._unstopped: list[InterruptLatency] = []
        self._gap_until = 0
        self._clock_frame = 0
        self._outbox: list[tuple[Spoken, Interjection | None]] = []
        self._voice_failures = 0  # consecutive clauses the voice thread could not prepare
        self._progress: Spoken | None = None  # the segment in progress, when between its clauses
        self._latencies: deque[InterruptLatency] = deque(maxlen=10_000)
        self._seq = itertools.count(1)

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        """Start the encoder, outputs and the three threads; returns at once."""
        with self._cond:
            if self._state != "idle":
                raise InputError(f"live session: cannot start a session that is {self._state}")
            self._state = "running"
        try:
            self._render(0, REST)  # fail fast on a wrong frame size, and warm the avatar's caches before t0
            self._backends = self._resolve_tts()
            if self.config.warm_tts:
                self._warm_tts()
        except BaseException:
            with self._cond:
                self._state = "idle"
            raise
        self._outputs = LiveOutputs(
            self._specs, self._encoder_settings, self.position,
            rtmp_backoff_s=self.config.rtmp_backoff_s, rtmp_max_backoff_s=self.config.rtmp_max_backoff_s,
        )  # fmt: skip
        try:
            self._outputs.start()
        except BaseException as exc:
            self._outputs.close(5)
            with self._cond:
                self._state, self._error = "failed", f"outputs: {type(exc).__name__}: {exc}"
            self._done.set()
            raise
        for name, target in (("live-voice", self._voice_loop), ("live-clock", self._clock_loop)):
            self._threads.append(threading.Thread(target=target, name=name, daemon=True))
        self._threads.append(threading.Thread(target=self._writer_loop, name="live-writer", daemon=True))
        self._pacer.start()
        for thread in self._threads:
            thread.start()

    def interject(self, item: Interjection) -> bool:
        """Queue speech that interrupts the script at the next word boundary; False when it was dropped.

        Thread-safe and non-blocking. When ``max_interjections`` are already waiting, the
        lowest-priority (then oldest) one is dropped, which may be this one.
        """
        if not item.text or not item.text.strip():
            raise InputError("live session: an interjection needs text", field="text")
        now = time.monotonic()
        arrival_wall = item.created_at or now
        with self._cond:
            arrival = self.clock.frame_start_sample(self._clock_frame)
            if self.config.realtime:  # the comment arrived before this call (e.g. while the answer was written)
                arrival = max(0, arrival - int(round(max(0.0, now - arrival_wall) * self.config.sample_rate)))
            latency = InterruptLatency(comment_id=item.comment_id, arrival_sample=arrival, arrival_wall=arrival_wall)
            accepted = self._interjections.put(_Pending(item, latency), priority=item.priority)
            if accepted:
                if self._current is not None and self._current.is_script and len(self._unstopped) < 1000:
                    self._unstopped.append(latency)
                self._cond.notify_all()
        return accepted

    def status(self) -> LiveStatus:
        with self._cond:
            current = self._current
            counters = replace(self._counters)
            return LiveStatus(
                state=self._state,
                frame=self.position.frame,
                media_s=self.clock.frame_time_s(self.position.frame),
                behind_s=round(self._behind, 4),
                speaking=current.segment.id if current else None,
                speaking_kind=current.segment.kind.value if current else None,
                frames=counters,
                idle_ticks=self._idle_ticks,
                interjections=self._interjections.stats(),
                interjections_spoken=self._spoken_answers,
                segments_completed=self._completed,
                segments_cut=self._cut,
                tts_fallbacks=self._fallbacks,
                tts_failures=self._tts_failures,
                backend=self._last_backend,
                outputs=self._outputs.status() if self._outputs else [],
                error=self._error,
            )

    def latencies(self) -> list[InterruptLatency]:
        """Latency records of the interjections spoken (or cut into) so far, oldest first."""
        with self._cond:
            return list(self._latencies)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session has ended (``max_frames`` reached, stopped, or failed)."""
        return self._done.wait(timeout)

    def stop(self, timeout: float = 60.0) -> LiveStatus:
        """Stop the clock, flush the encoder and outputs (MP4 finalised), join the threads."""
        with self._cond:
            if self._state == "running":
                self._state = "stopping"
            self._cond.notify_all()
        self._stop.set()
        self._writer.close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self._done.set()
        return self.status()

    # ------------------------------------------------------------------ voice thread

    def _resolve_tts(self) -> list[TTSBackend]:
        from adloom.core.settings import get_settings
        from adloom.digital_human.voice import get_tts

        spec = self._tts_spec if self._tts_spec is not None else [get_settings().tts_backend, "espeak"]
        chain: list[TTSBackend] = []
        for entry in spec:
            backend = get_tts(entry) if isinstance(entry, str) else entry
            if all(b is not backend for b in chain):
                chain.append(backend)
        if not chain:
            raise InputError("live session: the TTS chain is empty; pass at least one backend", field="tts")
        return chain

    def _warm_tts(self) -> None:
        """Speak one short word with the primary voice before t0, so its model load is not paid on air.

        A primary that fails here rests for ``primary_retry_s`` (the fallback speaks meanwhile)."""
        word = "好" if self.config.language == Language.zh else "OK"
        primary = self._backends[0]
        try:
            primary.synthesize(word, language=self.config.language, voice=self.config.voice, speed=self.config.speed)
        except Exception as exc:  # noqa: BLE001 - reported, then the chain fails over on air
            log.warning("live tts %r failed to warm up (%s); the fallback voice starts", primary, exc)
            if len(self._backends) > 1:
                self._primary_down_until = time.monotonic() + self.config.primary_retry_s

    def _synthesize(self, text: str) -> tuple[LineAudio, bool]:
        """The line spoken by the first backend that can; (line, spoken by a fallback)."""
        errors: list[str] = []
        for i, backend in enumerate(self._backends):
            if i == 0 and len(self._backends) > 1 and time.monotonic() < self._primary_down_until:
                errors.append(f"{backend.name}: resting after a failure")
                continue
            try:
                line = backend.synthesize(
                    text, language=self.config.language, voice=self.config.voice if i == 0 else None,
                    speed=self.config.speed,
                )  # fmt: skip
                return line, i > 0
            except Exception as exc:  # noqa: BLE001 - any backend failure fails over; the stream goes on
                errors.append(f"{getattr(backend, 'name', backend)}: {type(exc).__name__}: {exc}")
                log.warning("live tts %r failed on %r (%s); trying the next voice", backend, text[:40], exc)
                if i == 0:
                    self._primary_down_until = time.monotonic() + self.config.primary_retry_s
        raise BackendUnavailableError(f"live session: no TTS backend could speak {text[:60]!r}: {'; '.join(errors)}")

    def _utterance(
        self, segment: Segment, all_words: list[str], start: int, stop: int, pending: _Pending | None
    ) -> _Utterance:
        words = all_words[start:stop]
        line, fell_back = self._synthesize(join_words(words))
        rate = self.config.sample_rate
        samples = resample(line.samples, line.sample_rate, rate) * loudness_gain(
            line.samples, line.sample_rate, self.config.target_lufs
        )
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype(np.int16)
        with self._cond:
            self._last_backend = line.backend
            self._fallbacks += int(fell_back)
        return _Utterance(
            segment=segment, all_words=all_words, start=start, stop=stop, pcm=pcm,
            ends=word_ends(samples, rate, words), poses=self._mouth(line, self.config.fps), backend=line.backend,
            pending=pending,
        )  # fmt: skip

    def _next_job(self) -> tuple[str, tuple] | None:
        """Under the lock: the next clause to synthesise.

        Order: the rest of the answer on air; the interrupted segment's remainder when the script
        is due (``max_consecutive_interjections`` reached); a new answer; the remainder; the script.
        """
        while not self._stop.is_set():
            if self._answer_next is not None and not self._answer_busy:
                self._answer_busy = True
                return "answer", self._answer_next
            script_due = self._consecutive >= self.config.max_consecutive_interjections
            resume_free = self._resume is not None and not self._resume_busy
            if script_due and resume_free:
                self._resume_busy = True
                return "resume", self._resume  # type: ignore[return-value]
            if (
                not self._ready_answers
                and self._answer_next is None
                and not self._answer_busy
                and len(self._interjections)
            ):
                pending = self._interjections.pop()
                if pending is not None:
                    item = pending.item
                    seg_id = f"{item.kind.value}:{item.comment_id or next(self._seq)}"
                    self._answer_busy = True
                    return "answer", (
                        pending,
                        Segment(seg_id, item.text, SegmentKind(item.kind)),
                        split_words(item.text),
                        0,
                    )
            if resume_free:
                self._resume_busy = True
                return "resume", self._resume  # type: ignore[return-value]
            if len(self._ready_script) < self.config.lookahead:
                return "script", ()
            self._cond.wait(0.1)
        return None

    def _voice_loop(self) -> None:
        while True:
            with self._cond:
                job = self._next_job()
            if job is None:
                return
            kind, payload = job
            pause = 0.0
            try:
                if kind == "answer":
                    pending, segment, words, start = payload
                    stop = clause_end(words, start)
                    utt = self._utterance(segment, words, start, stop, pending)
                    with self._cond:
                        self._ready_answers.append(utt)
                        self._answer_next = (pending, segment, words, stop) if stop < len(words) else None
                elif kind == "resume":
                    segment, words, start, stop = payload
                    end = min(clause_end(words, start), stop)
                    utt = self._utterance(segment, words, start, end, None)
                    with self._cond:
                        self._ready_resume.append(utt)
                        self._resume = (segment, words, end, stop) if end < stop else None
                else:
                    with self._cond:
                        cursor = self._script_next
                    if cursor is None:
                        with self._source_lock:
                            segment = self._source.next_segment()
                        cursor = (segment, split_words(segment.text), 0)
                        if not cursor[1]:
                            continue
                    segment, words, start = cursor
                    stop = clause_end(words, start)
                    with self._cond:  # advance first: a failing clause is skipped, not retried forever
                        self._script_next = (segment, words, stop) if stop < len(words) else None
                    utt = self._utterance(segment, words, start, stop, None)
                    with self._cond:
                        self._ready_script.append(utt)
            except Exception as exc:  # noqa: BLE001 - one bad line must not stop the room
                log.error("live session: could not prepare %s (%s); skipping it", kind, exc)
                with self._cond:
                    self._tts_failures += 1
                    self._voice_failures += 1
                    if kind == "resume":
                        self._resume = None
                    elif kind == "answer":
                        self._answer_next = None
                        self._answer_open = self._answer_open and bool(self._ready_answers)
                # back off (0.5 s doubling to 8 s) so a dead voice or source does not race through the script
                pause = min(8.0, 0.5 * 2 ** min(self._voice_failures - 1, 4))
            else:
                with self._cond:
                    self._voice_failures = 0
            finally:
                with self._cond:
                    if kind == "answer":
                        self._answer_busy = False
                    elif kind == "resume":
                        self._resume_busy = False
                    self._cond.notify_all()
            if pause:
                self._stop.wait(pause)

    # ------------------------------------------------------------------ clock thread

    def _answer_waiting(self) -> bool:
        return bool(self._ready_answers or len(self._interjections) or self._answer_busy or self._answer_next)

    def _choose(self) -> _Utterance | object | None:
        """Under the lock: the next clause to speak, or ``_WAIT`` while the one due is being synthesised."""
        if self._answer_open:  # the rest of the answer on air comes first, whatever else waits
            return self._ready_answers.popleft() if self._ready_answers else _WAIT
        answers_allowed = self._consecutive < self.config.max_consecutive_interjections
        if answers_allowed and self._ready_answers:
            self._consecutive += 1
            return self._ready_answers.popleft()
        if answers_allowed and self._answer_waiting():
            return _WAIT
        if self._ready_resume:
            return self._ready_resume.popleft()
        if self._resume is not None or self._resume_busy:
            return _WAIT
        if self._ready_script:
            return self._ready_script.popleft()
        return _WAIT

    def _maybe_cut(self, utt: _Utterance) -> None:
        """Under the lock: set the cut point of a script utterance when an interjection waits."""
        if utt.cut_at is not None or not utt.is_script:
            return
        if self._consecutive >= self.config.max_consecutive_interjections:
            return
        if not self._answer_waiting():
            return
        if utt.pos == 0:  # nothing spoken yet: put it back whole, no re-synthesis needed
            utt.cut_at, utt.cut_words = 0, 0
            return
        k = int(np.searchsorted(utt.ends, utt.pos, side="left"))
        if k >= len(utt.ends) - 1:
            return  # already in the last word: let it finish
        utt.cut_at, utt.cut_words = int(utt.ends[k]), k + 1

    def _finish(self, utt: _Utterance, end_sample: int, wall: float) -> None:
        """Under the lock: the clause has stopped (cut, or at its end) at absolute sample ``end_sample``."""
        cut = utt.cut_at is not None and utt.cut_at < len(utt.pcm)
        report = Spoken(
            segment_id=utt.segment.id,
            completed=utt.final and not cut,
            words_spoken=utt.start + (utt.cut_words if cut else len(utt.words)),
            pts_end_s=self.clock.sample_time_s(end_sample),
        )
        if not utt.is_script:
            if utt.final:
                self._answer_open = False
                self._spoken_answers += 1
                self._outbox.append((report, utt.pending.item if utt.pending else None))
            return
        for latency in self._unstopped:  # the presenter stopped speaking the script (cut, or a clause end)
            latency.stop_media_s = self.clock.sample_time_s(max(0, end_sample - latency.arrival_sample))
            latency.stop_wall_s = max(0.0, wall - latency.arrival_wall)
        self._unstopped.clear()
        if cut:
            self._cut += 1
            self._progress = None  # reported now
            if utt.pos == 0:  # cut before its first sample: replay it whole, no re-synthesis
                self._ready_resume.appendleft(replace(utt, cut_at=None, cut_words=0, pos=0))
            else:
                self._resume = (utt.segment, utt.all_words, report.words_spoken, utt.stop)
            self._outbox.append((report, None))
            return
        self._consecutive = 0  # a clause of the script went out uninterrupted: answers may cut in again
        if utt.final:
            self._completed += 1
            self._outbox.append((report, None))
            self._progress = None
        else:
            self._progress = report  # reported only if the session stops before the segment's end

    def _dispatch(self) -> None:
        """Outside the lock: hand finished reports to the source (script) and ``on_spoken`` (all)."""
        with self._cond:
            reports, self._outbox = self._outbox, []
        for report, item in reports:
            if item is None:
                with self._source_lock:
                    try:
                        self._source.spoken(report)  # may persist state (disk): never under the session lock
                    except Exception as exc:  # noqa: BLE001 - a source bug must not stop the stream
                        log.error("live session: source.spoken(%s) failed: %s", report, exc)
            if self._on_spoken is not None:
                try:
                    self._on_spoken(report, item)
                except Exception as exc:  # noqa: BLE001
                    log.error("live session: on_spoken failed: %s", exc)

    def _begin(self, utt: _Utterance, frame: int, wall: float) -> None:
        """Under the lock: ``utt`` starts at tick ``frame``."""
        utt.start_frame, utt.pos = frame, 0
        if not utt.is_script:
            self._answer_open = not utt.final
        if utt.pending is not None and utt.start == 0:
            latency = utt.pending.latency
            start = self.clock.frame_start_sample(frame)
            latency.first_audio_media_s = self.clock.sample_time_s(max(0, start - latency.arrival_sample))
            latency.first_audio_wall_s = max(0.0, wall - latency.arrival_wall)
            self._latencies.append(latency)
        self._current = utt

    def _tick_audio(self, frame: int, wall: float) -> tuple[np.ndarray, MouthPose]:
        """Under the lock: this tick's audio chunk and mouth pose (silence and rest when nothing is spoken)."""
        n = self.clock.chunk_samples(frame)
        chunk = np.zeros(n, dtype=np.int16)
        utt = self._current
        if utt is None:
            return chunk, REST
        self._maybe_cut(utt)
        end = utt.cut_at if utt.cut_at is not None else len(utt.pcm)
        take = max(0, min(n, end - utt.pos))
        chunk[:take] = utt.pcm[utt.pos : utt.pos + take]
        j = frame - utt.start_frame
        pose = utt.poses[j] if take and j < len(utt.poses) else REST
        utt.pos += take
        if utt.pos >= end:
            if utt.cut_at is not None and take:
                fade = min(take, self.config.sample_rate // 200)  # 5 ms against a click at the cut
                chunk[take - fade : take] = (chunk[take - fade : take] * np.linspace(1, 0, fade)).astype(np.int16)
            was_cut = utt.cut_at is not None
            self._finish(utt, self.clock.frame_start_sample(frame) + take, wall + take / self.config.sample_rate)
            self._current = None
            gap_s = 0.0 if was_cut else (self.config.gap_s if utt.final else self.config.clause_gap_s)
            if self._answer_waiting():
                gap_s = min(gap_s, 0.12)  # an answer is waiting: a short breath, not the full pause
            self._gap_until = frame + 1 + self.clock.frames_for(gap_s)
        return chunk, pose

    def _clock_loop(self) -> None:
        cfg = self.config
        mark_every = self.clock.frames_for(cfg.sync_mark_every_s) if cfg.sync_mark_every_s else 0
        white = np.full((self._encoder_settings.height, self._encoder_settings.width, 3), 255, np.uint8)
        burst = (sync_burst(cfg.sample_rate) * 32767).astype(np.int16)
        last_frame: np.ndarray | None = None
        self._gap_until = 0
        frame = 0
        try:
            while not self._stop.is_set() and (cfg.max_frames is None or frame < cfg.max_frames):
                late = self._pacer.wait(frame, self._stop)
                if self._stop.is_set():
                    break
                wall = time.monotonic()
                with self._cond:
                    if self._current is None and frame >= self._gap_until:
                        chosen = self._choose()
                        if chosen is _WAIT and not cfg.realtime and not self._voice_failures:
                            # faster than real time: wait for speech rather than emit idle ticks
                            self._cond.wait(0.5)
                            chosen = self._choose()
                        if isinstance(chosen, _Utterance):
                            self._begin(chosen, frame, wall)
                    if self._current is None:
                        self._idle_ticks += 1
                    self._clock_frame = frame
                    audio, pose = self._tick_audio(frame, wall)
                    self._behind = late
                    counters = self._counters
                    counters.ticks += 1
                    counters.max_late_s = max(counters.max_late_s, late)
                    if late > cfg.late_frames / cfg.fps:
                        counters.late_ticks += 1
                if self._outbox:
                    self._dispatch()
                mark = mark_every and frame % mark_every == mark_every // 2
                if mark:
                    video = white
                    audio = np.zeros_like(audio)
                    audio[: len(burst)] = burst[: len(audio)]
                elif late > cfg.late_frames / cfg.fps and last_frame is not None:
                    video = last_frame
                    with self._cond:
                        self._counters.repeated += 1
                else:
                    video = self._render(frame, pose)
                    last_frame = video
                    with self._cond:
                        self._counters.rendered += 1
                tick = AVTick(frame=frame, audio_pts=self.clock.frame_start_sample(frame), video=video, audio=audio)
                while not self._writer.put(tick, timeout=0.2):
                    if self._stop.is_set() or self._writer.closed:
                        return
                frame += 1
        except Exception as exc:  # noqa: BLE001 - recorded in status; the session ends cleanly
            log.exception("live session: the clock failed")
            with self._cond:
                self._error = f"clock: {type(exc).__name__}: {exc}"
                self._state = "failed"
        finally:
            self._dispatch()
            with self._cond:  # tell the source how far the segment on air got, so a restart resumes there
                utt, report = self._current, None
                if utt is not None and utt.is_script and utt.pos < len(utt.pcm):
                    k = int(np.searchsorted(utt.ends, utt.pos, side="right"))
                    end = self.clock.sample_time_s(self.clock.frame_start_sample(frame))
                    report = Spoken(utt.segment.id, False, utt.start + k, end)
                elif self._progress is not None and not self._progress.completed:
                    report = self._progress
            if report is not None:
                with self._source_lock:
                    try:
                        self._source.spoken(report)
                    except Exception as exc:  # noqa: BLE001
                        log.error("live session: source.spoken failed at stop: %s", exc)
            self._writer.close()

    def _render(self, frame: int, pose: MouthPose) -> np.ndarray:
        image = self._avatar.frame(frame, pose)
        expected = (self._encoder_settings.height, self._encoder_settings.width, 3)
        if image.shape != expected or image.dtype != np.uint8:
            raise InputError(
                f"live session: the avatar returned {image.dtype} {image.shape} for frame {frame}; "
                f"expected uint8 {expected} (its size is {self._avatar.size})"
            )
        return image

    # ------------------------------------------------------------------ writer thread

    def _writer_loop(self) -> None:
        assert self._outputs is not None
        try:
            while (tick := self._writer.get()) is not None:
                self._outputs.write(tick)
                self.position.advance_to(tick.frame + 1)
        except Exception as exc:  # noqa: BLE001 - recorded in status
            log.exception("live session: the encoder failed")
            with self._cond:
                self._error = f"encoder: {type(exc).__name__}: {exc}"
                self._state = "failed"
            self._stop.set()
            self._writer.close()
            self._writer.drain()
        finally:
            try:
                self._outputs.close()
            finally:
                with self._cond:
                    if self._state in ("running", "stopping"):
                        self._state = "stopped"
                    self._cond.notify_all()
                self._stop.set()
                self._done.set()
