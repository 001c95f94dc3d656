"""A/V mux and outputs: one encoder, several outputs (RTMP push, HLS preview, MP4 recording).

Design — encode once, copy to many:

    ticks (RGB + PCM, PTS) ──NUT──▶ ffmpeg #1: libx264 + AAC ──MPEG-TS──▶ fan-out ─┬─▶ ffmpeg -c copy → RTMP
                                                                                   ├─▶ ffmpeg -c copy → HLS
                                                                                   └─▶ ffmpeg -c copy → MP4

- The session's ticks are written into ffmpeg #1 as a NUT stream built with PyAV, so every
  raw frame and audio chunk enters the encoder with its PTS from the media clock (no
  count-based guessing on the ffmpeg side).
- Encoding happens once (the expensive part on a 2-core machine). The encoded MPEG-TS
  (self-synchronising 188-byte packets, SPS/PPS on every keyframe) is fanned out by a
  thread to one ``-c copy`` remuxer per output, which costs almost nothing.
- Outputs fail independently. A tee muxer in one process would take the recording down
  with the RTMP server, or (with ``onfail=ignore``) never bring RTMP back. Here the RTMP
  remuxer is restarted with exponential back-off while the server is away; the TS bytes
  produced meanwhile are dropped and the frames they held are counted from the shared
  :class:`~adloom.digital_human.live.clock.MediaPosition`; the media clock, HLS and MP4
  carry on. A restarted remuxer joins at the next keyframe (GOP = 2 s).
- Each output's byte queue is bounded with policy ``drop_newest`` (a stalled output
  loses the newest bytes, counted; it never stalls the encoder or the other outputs).
  The encoder's own input is never dropped from: the writer blocks, the session's clock
  runs late and repeats frames instead (see ``session.py``).
- MP4 is written fragmented (``frag_keyframe+empty_moov``) so a crash leaves a playable
  file, and never over an existing recording (a restarted room writes ``<name>-2.mp4``);
  HLS keeps a rolling window of 2-second segments.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.core.redact import mask_url, redact
from adloom.digital_human.live.clock import AVTick, MediaClock, MediaPosition
from adloom.digital_human.live.queues import BoundedQueue, DropPolicy

__all__ = ["EncoderSettings", "LiveOutputs", "OutputKind", "OutputSpec", "OutputStatus", "ffmpeg_exe"]

log = logging.getLogger(__name__)

TS_PACKET = 188
_CONNECTED_AFTER_S = 3.0  # > the remuxers' -analyzeduration (2.5 s)
_READ = TS_PACKET * 348  # ~64 KiB, whole TS packets


def ffmpeg_exe() -> str:
    """The ffmpeg binary bundled by imageio-ffmpeg."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise BackendUnavailableError(
            f"live: imageio-ffmpeg is not installed ({exc}); pip install imageio-ffmpeg"
        ) from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


class OutputKind(StrEnum):
    rtmp = "rtmp"
    hls = "hls"
    mp4 = "mp4"
    null = "null"  # encode and discard (benchmarks)


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where the room's stream goes. Build with :meth:`rtmp`, :meth:`hls`, :meth:`mp4` or :meth:`null`."""

    kind: OutputKind
    target: str = ""

    def __post_init__(self) -> None:
        kind = OutputKind(self.kind)
        object.__setattr__(self, "kind", kind)
        if kind is OutputKind.rtmp and not self.target.startswith(("rtmp://", "rtmps://")):
            raise InputError(
                f"live output: {self.target!r} is not an RTMP URL; pass rtmp://host[:port]/app/stream_key",
                field="outputs",
            )
        if kind in (OutputKind.hls, OutputKind.mp4) and not self.target:
            raise InputError(f"live output: a {kind.value} output needs a path", field="outputs")

    @classmethod
    def rtmp(cls, url: str) -> OutputSpec:
        return cls(OutputKind.rtmp, url)

    @classmethod
    def hls(cls, folder: str | Path) -> OutputSpec:
        """HLS preview: ``<folder>/index.m3u8`` and rolling 2-second segments."""
        return cls(OutputKind.hls, str(folder))

    @classmethod
    def mp4(cls, path: str | Path) -> OutputSpec:
        return cls(OutputKind.mp4, str(path))

    @classmethod
    def null(cls) -> OutputSpec:
        return cls(OutputKind.null, "")

    @property
    def name(self) -> str:
        """How logs and status name this output; an RTMP stream key is masked (``rtmp://host/live/***``)."""
        if not self.target:
            return self.kind.value
        return f"{self.kind.value}:{mask_url(self.target) if self.kind is OutputKind.rtmp else self.target}"

    def scrub(self, text: str) -> str:
        """``text`` (an ffmpeg error, a log line) with this output's URL and stream key masked."""
        return redact(text, [self.target] if self.kind is OutputKind.rtmp else [])


@dataclass(frozen=True, slots=True)
class EncoderSettings:
    """The one encoder's parameters. ``threads`` caps libx264's threads (0 = ffmpeg's choice)."""

    width: int
    height: int
    fps: int = 25
    sample_rate: int = 48_000
    preset: str = "veryfast"
    video_bitrate: str = "2000k"
    audio_bitrate: str = "128k"
    gop_s: float = 2.0
    threads: int = 0

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or self.width < 16 or self.height < 16:
            raise InputError(
                f"live encoder: frame size {self.width}x{self.height} must be even and at least 16x16 (yuv420p)",
                field="size",
            )


@dataclass(slots=True)
class OutputStatus:
    name: str
    kind: str
    state: str = "starting"  # starting | up | down (waiting to reconnect) | closed | failed
    reconnects: int = 0  # successful restarts after a failure
    attempts: int = 0  # processes started
    bytes_written: int = 0
    bytes_dropped: int = 0
    # ticks emitted while this output had no connected pusher: from a pusher's exit to the next start, plus all
    # that an attempt which never connected was fed. Not counted: what a pusher held in its buffers when its
    # connection broke (ffmpeg notices a killed server only after ~1-2 s; the server-side loss is that much higher)
    frames_dropped: int = 0
    last_error: str = ""


def _unused(path: Path) -> Path:
    """``path``, or ``<stem>-2<suffix>``, ``-3`` ... when a recording is already there (a restarted room
    must not overwrite what it recorded before)."""
    if not path.exists():
        return path
    n = 2
    while (candidate := path.with_name(f"{path.stem}-{n}{path.suffix}")).exists():
        n += 1
    return candidate


def _tail_stderr(proc: subprocess.Popen[bytes], sink: deque[str]) -> None:
    assert proc.stderr is not None
    for raw in iter(proc.stderr.readline, b""):
        sink.append(raw.decode("utf-8", "replace").rstrip())


def _spawn(cmd: list[str], *, stdout: Any = subprocess.DEVNULL) -> tuple[subprocess.Popen[bytes], deque[str]]:
    tail: deque[str] = deque(maxlen=20)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE)
    threading.Thread(target=_tail_stderr, args=(proc, tail), name="ffmpeg-stderr", daemon=True).start()
    return proc, tail


class _Sink:
    """One output: a bounded queue of TS bytes and a thread feeding a ``-c copy`` ffmpeg.

    RTMP outputs reconnect: when the remuxer exits or its pipe breaks, the sink goes
    ``down``, drops what arrives (counting bytes, and frames via ``position``), and starts a
    new remuxer after ``backoff`` seconds, doubling up to ``max_backoff_s``; the back-off
    resets once a remuxer has stayed up for ``healthy_s``.
    """

    def __init__(
        self,
        spec: OutputSpec,
        position: MediaPosition,
        *,
        max_queue: int = 256,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        healthy_s: float = 5.0,
    ) -> None:
        self.spec = spec
        self.status = OutputStatus(name=spec.name, kind=spec.kind.value)
        self._position = position
        self._queue: BoundedQueue[bytes] = BoundedQueue(max_queue, DropPolicy.drop_newest, name=spec.name)
        self._reconnect = spec.kind is OutputKind.rtmp
        self._backoff0, self._max_backoff, self._healthy_s = backoff_s, max_backoff_s, healthy_s
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"out-{spec.kind.value}", daemon=True)
        self.path = Path(spec.target)

    # ------------------------------------------------------------------ public (fan-out thread)

    def start(self) -> None:
        if self.spec.kind is OutputKind.hls:
            Path(self.spec.target).mkdir(parents=True, exist_ok=True)
        elif self.spec.kind is OutputKind.mp4:
            path = Path(self.spec.target)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path = _unused(path)
            self.status.name = f"mp4:{self.path}"
        self._thread.start()

    def feed(self, data: bytes) -> None:
        if not self._queue.put(data):
            with self._lock:
                self.status.bytes_dropped += len(data)

    def close(self, timeout: float = 15.0) -> None:
        self._queue.close()
        self._thread.join(timeout)

    def snapshot(self) -> OutputStatus:
        with self._lock:
            s = self.status
            return OutputStatus(
                s.name, s.kind, s.state, s.reconnects, s.attempts, s.bytes_written, s.bytes_dropped,
                s.frames_dropped, s.last_error,
            )  # fmt: skip

    # ------------------------------------------------------------------ worker

    def _command(self) -> list[str] | None:
        # probe at most 2.5 s of stream (> one GOP, so a remuxer joining mid-stream finds a keyframe): the
        # default 5 s would hold every RTMP (re)connection attempt back by 5 s
        probe = ["-analyzeduration", "2500000", "-probesize", "2000000"]
        head = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *probe, "-f", "mpegts", "-i", "pipe:0", "-map", "0"]
        head += ["-c", "copy"]
        kind, target = self.spec.kind, self.spec.target
        if kind is OutputKind.null:
            return None
        if kind is OutputKind.rtmp:
            flv = ["-bsf:a", "aac_adtstoasc", "-f", "flv", "-flvflags", "no_duration_filesize"]
            return [*head, "-rw_timeout", "5000000", *flv, target]
        if kind is OutputKind.hls:
            folder = Path(target)
            return [
                *head, "-f", "hls", "-hls_time", "2", "-hls_list_size", "10",
                "-hls_flags", "delete_segments+independent_segments+omit_endlist",
                "-hls_segment_filename", str(folder / "seg_%06d.ts"), str(folder / "index.m3u8"),
            ]  # fmt: skip
        mp4_flags = "+frag_keyframe+empty_moov+default_base_moof"
        return [*head, "-bsf:a", "aac_adtstoasc", "-f", "mp4", "-movflags", mp4_flags, "-n", str(self.path)]

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self.status, key, value)

    def _run(self) -> None:
        cmd = self._command()
        if cmd is None:  # null output: count and discard
            self._set(state="up")
            while (chunk := self._queue.get()) is not None:
                with self._lock:
                    self.status.bytes_written += len(chunk)
            self._set(state="closed")
            return
        backoff = self._backoff0
        while True:
            proc, tail = _spawn(cmd)
            started, started_frame = time.monotonic(), self._position.frame
            with self._lock:
                self.status.attempts += 1
                self.status.state = "up"
            error = self._pump(proc)
            closing = self._queue.closed and len(self._queue) == 0
            if error is None or closing:
                self._finish(proc, tail)
                return
            # the remuxer died or its pipe broke
            self._kill(proc)
            message = self.spec.scrub(f"{error}; ffmpeg: {' | '.join(list(tail)[-3:])}")
            alive = time.monotonic() - started
            healthy = alive >= self._healthy_s
            # a remuxer opens its output after probing (≤ 2.5 s of stream; a refused connection then fails at
            # once), so one that lived longer had connected and loses from now; a shorter one never delivered
            down_frame = self._position.frame if alive >= _CONNECTED_AFTER_S else started_frame
            self._set(state="down" if self._reconnect else "failed", last_error=message)
            log.warning("live output %s failed (%s)", self.spec.name, message)
            if not self._reconnect:
                self._discard_until_closed()
                return
            if healthy:
                backoff = self._backoff0
            if not self._wait_dropping(backoff):
                return
            backoff = min(backoff * 2, self._max_backoff)
            with self._lock:
                self.status.frames_dropped += max(0, self._position.frame - down_frame)
                self.status.reconnects += 1

    def _pump(self, proc: subprocess.Popen[bytes]) -> str | None:
        """Feed the queue into ``proc``; None when the queue closed, else why the process failed."""
        assert proc.stdin is not None
        while True:
            chunk = self._queue.get(timeout=0.2)
            if proc.poll() is not None:
                if chunk is not None:
                    with self._lock:
                        self.status.bytes_dropped += len(chunk)
                return f"ffmpeg exited with code {proc.returncode}"
            if chunk is None:
                if self._queue.closed:
                    return None
                continue
            try:
                proc.stdin.write(chunk)
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                with self._lock:
                    self.status.bytes_dropped += len(chunk)
                return f"pipe to ffmpeg broke ({exc})"
            with self._lock:
                self.status.bytes_written += len(chunk)

    def _wait_dropping(self, seconds: float) -> bool:
        """Drop incoming bytes for ``seconds``; False when the output was closed meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            chunk = self._queue.get(timeout=min(0.1, max(0.0, deadline - time.monotonic())))
            if chunk is None and self._queue.closed:
                self._set(state="closed")
                return False
            if chunk is not None:
                with self._lock:
                    self.status.bytes_dropped += len(chunk)
        return True

    def _discard_until_closed(self) -> None:
        while True:
            chunk = self._queue.get(timeout=0.5)
            if chunk is None and self._queue.closed:
                return
            if chunk is not None:
                with self._lock:
                    self.status.bytes_dropped += len(chunk)

    def _finish(self, proc: subprocess.Popen[bytes], tail: deque[str]) -> None:
        try:
            assert proc.stdin is not None
            proc.stdin.close()
        except OSError:
            pass
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            code = -9
        if code == 0:
            self._set(state="closed")
        else:
            tail_text = " | ".join(list(tail)[-3:])
            self._set(state="failed", last_error=self.spec.scrub(f"ffmpeg exited with code {code}: {tail_text}"))

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass


@dataclass(slots=True)
class _EncoderState:
    ticks_in: int = 0
    bytes_out: int = 0
    error: str = ""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=20))


class LiveOutputs:
    """The encoder process, the fan-out thread and one sink per :class:`OutputSpec`.

    ``write(tick)`` is called from one thread (the session's writer) with consecutive
    ticks; it blocks while ffmpeg's pipe is full. ``close()`` flushes everything, so MP4
    files are finalised and HLS playlists complete.
    """

    def __init__(
        self,
        outputs: list[OutputSpec],
        settings: EncoderSettings,
        position: MediaPosition,
        *,
        rtmp_backoff_s: float = 0.5,
        rtmp_max_backoff_s: float = 8.0,
    ) -> None:
        if not outputs:
            raise InputError("live outputs: give at least one output (rtmp, hls, mp4 or null)", field="outputs")
        self.settings = settings
        self.clock = MediaClock(settings.fps, settings.sample_rate)
        self._sinks = [
            _Sink(spec, position, backoff_s=rtmp_backoff_s, max_backoff_s=rtmp_max_backoff_s) for spec in outputs
        ]
        self._state = _EncoderState()
        self._proc: subprocess.Popen[bytes] | None = None
        self._container: Any = None
        self._vstream: Any = None
        self._astream: Any = None
        self._fanout: threading.Thread | None = None

    def _encoder_command(self) -> list[str]:
        s = self.settings
        gop = max(1, int(round(s.gop_s * s.fps)))
        return [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "nut", "-i", "pipe:0",
            "-map", "0:v", "-map", "0:a",
            "-c:v", "libx264", "-preset", s.preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-b:v", s.video_bitrate, "-maxrate", s.video_bitrate, "-bufsize", s.video_bitrate,
            "-threads", str(s.threads),
            "-c:a", "aac", "-b:a", s.audio_bitrate, "-ar", str(s.sample_rate), "-ac", "1",
            "-f", "mpegts", "-flush_packets", "1", "-muxdelay", "0", "-muxpreload", "0", "pipe:1",
        ]  # fmt: skip

    def start(self) -> None:
        try:
            import av
        except ImportError as exc:
            raise BackendUnavailableError(
                f"live encoder: PyAV is not installed ({exc}); pip install 'adloom[live]' (av==18.1.0)"
            ) from exc
        for sink in self._sinks:
            sink.start()
        tail: deque[str] = self._state.tail
        self._proc = subprocess.Popen(
            self._encoder_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        threading.Thread(target=_tail_stderr, args=(self._proc, tail), name="encoder-stderr", daemon=True).start()
        self._fanout = threading.Thread(target=self._fan_out, name="encoder-fanout", daemon=True)
        self._fanout.start()
        s = self.settings
        self._container = av.open(self._proc.stdin, "w", format="nut")
        self._vstream = self._container.add_stream("rawvideo", rate=s.fps)
        self._vstream.width, self._vstream.height, self._vstream.pix_fmt = s.width, s.height, "rgb24"
        self._astream = self._container.add_stream("pcm_s16le", rate=s.sample_rate, layout="mono")
        self._vtb, self._atb = Fraction(1, s.fps), Fraction(1, s.sample_rate)

    def _fan_out(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        pending = b""
        while True:
            data = os.read(fd, _READ)
            if not data:
                break
            pending += data
            cut = len(pending) - len(pending) % TS_PACKET
            if cut:
                chunk, pending = pending[:cut], pending[cut:]
                self._state.bytes_out += len(chunk)
                for sink in self._sinks:
                    sink.feed(chunk)
        if pending:
            for sink in self._sinks:
                sink.feed(pending)

    def write(self, tick: AVTick) -> None:
        """Mux one tick (video frame + its audio chunk) into the encoder, with their PTS."""
        import av

        if self._container is None:
            raise RuntimeError("LiveOutputs.start() must be called before write()")
        h, w = self.settings.height, self.settings.width
        if tick.video.shape != (h, w, 3):
            raise InputError(f"live outputs: frame {tick.frame} is {tick.video.shape}, expected ({h}, {w}, 3)")
        if self._proc is not None and self._proc.poll() is not None:
            raise BackendUnavailableError(
                f"live encoder: ffmpeg exited with code {self._proc.returncode}: {' | '.join(self._state.tail)}"
            )
        frame = av.VideoFrame.from_ndarray(tick.video, format="rgb24")
        frame.pts, frame.time_base = tick.frame, self._vtb
        audio = av.AudioFrame.from_ndarray(tick.audio.reshape(1, -1), format="s16", layout="mono")
        audio.sample_rate, audio.pts, audio.time_base = self.settings.sample_rate, tick.audio_pts, self._atb
        try:
            for packet in self._vstream.encode(frame):
                self._container.mux(packet)
            for packet in self._astream.encode(audio):
                self._container.mux(packet)
        except (BrokenPipeError, OSError) as exc:
            raise BackendUnavailableError(
                f"live encoder: the pipe to ffmpeg broke ({exc}): {' | '.join(self._state.tail)}"
            ) from exc
        self._state.ticks_in += 1

    def close(self, timeout: float = 30.0) -> None:
        """Flush the encoder and every output; safe to call twice."""
        if self._container is not None:
            try:
                for packet in self._vstream.encode():
                    self._container.mux(packet)
                for packet in self._astream.encode():
                    self._container.mux(packet)
                self._container.close()
            except (OSError, ValueError) as exc:
                self._state.error = f"flushing the encoder: {exc}"
            self._container = None
        if self._proc is not None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.close()
            except OSError:
                pass
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            if self._fanout is not None:
                self._fanout.join(timeout)
            self._proc = None
        for sink in self._sinks:
            sink.close(timeout)

    def status(self) -> list[OutputStatus]:
        return [sink.snapshot() for sink in self._sinks]

    @property
    def ticks_in(self) -> int:
        return self._state.ticks_in
