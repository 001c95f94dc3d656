"""Parts the live tests share: a plain avatar, a looping script source, sync-mark and stream readers."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from adloom.digital_human.avatar.base import MouthPose
from adloom.digital_human.live.session import sync_burst
from adloom.digital_human.live.types import Segment, SegmentKind, Spoken


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BarAvatar:
    """A real (if plain) avatar: a flat background and the mouth opening drawn as a bar."""

    def __init__(self, width: int = 256, height: int = 448, fps: int = 25) -> None:
        self.size = (width, height)
        self.fps = fps

    def frame(self, index: int, mouth: MouthPose) -> np.ndarray:
        w, h = self.size
        image = np.empty((h, w, 3), np.uint8)
        image[:] = (30, 60, 90)
        bar = int(round(mouth.open * h * 0.25))
        image[h // 2 : h // 2 + bar, w // 3 : 2 * w // 3] = (220, 60, 60)
        image[8:16, (index * 4) % (w - 8) : (index * 4) % (w - 8) + 8] = 200  # a moving tick mark
        return image


LINE = "Line {i}. This steel bottle keeps water cold for a whole day, only nineteen dollars."


class LoopSource:
    """A looping script of numbered product lines; records every :class:`Spoken` report."""

    def __init__(self, text: str = LINE) -> None:
        self.text = text
        self.served = 0
        self.reports: list[Spoken] = []

    def next_segment(self) -> Segment:
        self.served += 1
        return Segment(f"p1/s{self.served}", self.text.format(i=self.served), SegmentKind.product, "p1")

    def spoken(self, report: Spoken) -> None:
        self.reports.append(report)


def espeak_ready() -> bool:
    try:
        from adloom.digital_human.voice import get_tts

        get_tts("espeak").voices()
        return True
    except Exception:  # noqa: BLE001
        return False


needs_espeak = pytest.mark.skipif(not espeak_ready(), reason="espeak-ng missing: apt-get install -y espeak-ng")


@dataclass
class StreamReadback:
    """What a recorded/pulled stream holds, decoded with PyAV (no ffprobe needed)."""

    video_codec: str
    audio_codec: str
    frames: int
    fps: float  # from the decoded frames' timestamps: (frames - 1) / (last pts - first pts)
    video_times: np.ndarray  # pts of every decoded frame, seconds
    flashes: np.ndarray  # pts of white frames (sync marks), seconds
    audio: np.ndarray  # decoded mono float audio
    audio_start: float  # pts of the first audio sample, seconds
    sample_rate: int

    @property
    def fps_after_first(self) -> float:
        """Frame rate from the second frame on. ffmpeg's MP4 muxer starts video at 0 by stretching the first
        frame by the AAC priming (21 ms) when remuxing from MPEG-TS; the other frames are evenly spaced."""
        t = self.video_times
        return (len(t) - 2) / (t[-1] - t[1]) if len(t) > 2 else 0.0

    @property
    def audio_seconds(self) -> float:
        return len(self.audio) / self.sample_rate


def read_stream(path: Path) -> StreamReadback:
    import av

    with av.open(str(path)) as container:
        vcodec = container.streams.video[0].codec_context.name
        acodec = container.streams.audio[0].codec_context.name
        times, flashes = [], []
        for frame in container.decode(video=0):
            t = float(frame.pts * frame.time_base)
            times.append(t)
            if frame.to_ndarray(format="gray").mean() > 235:
                flashes.append(t)
    with av.open(str(path)) as container:
        chunks, start, rate = [], None, 48_000
        for frame in container.decode(audio=0):
            if start is None:
                start, rate = float(frame.pts * frame.time_base), frame.sample_rate
            chunks.append(frame.to_ndarray().reshape(len(frame.layout.channels), -1).mean(axis=0))
    t = np.array(times)
    fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else 0.0
    audio = np.concatenate(chunks) if chunks else np.zeros(0)
    return StreamReadback(vcodec, acodec, len(t), fps, t, np.array(flashes), audio, start or 0.0, rate)


def av_offsets(stream: StreamReadback, window_s: float = 0.3) -> list[float]:
    """For each white flash, audio burst time minus flash time (s), found by matched filtering near the flash."""
    template = sync_burst(stream.sample_rate)
    score = np.abs(np.correlate(stream.audio, template, mode="valid"))
    out = []
    for t in stream.flashes:
        lo = max(0, int((t - stream.audio_start - window_s) * stream.sample_rate))
        hi = min(len(score), int((t - stream.audio_start + window_s) * stream.sample_rate))
        if hi - lo < len(template):
            continue
        k = lo + int(np.argmax(score[lo:hi]))
        out.append(stream.audio_start + k / stream.sample_rate - t)
    return out
