"""edge-tts: Microsoft's online neural voices, for users who have the network.

Offline it fails within milliseconds (a DNS error) and leaves a 0-byte mp3 behind;
this backend deletes its temporary file whatever happens and raises
:class:`~adloom.core.errors.BackendUnavailableError`, on which ``speak_lines`` fails
over to Kokoro. The mp3 is decoded with the ffmpeg from imageio-ffmpeg.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from adloom.core.errors import BackendUnavailableError, GenerationError, InputError
from adloom.core.proc import run_tool, tool_timeout
from adloom.core.types import Language
from adloom.digital_human.voice.base import LineAudio, check_speed, silence

__all__ = ["DEFAULT_VOICES", "EdgeTTS"]

SAMPLE_RATE = 24_000
#: edge-tts speaks 24 kHz 48 kbit/s mono mp3: bytes per second of speech, to size the decode's deadline.
EDGE_MP3_BYTES_PER_S = 48_000 / 8
DEFAULT_VOICES: dict[Language, str] = {Language.zh: "zh-CN-XiaoxiaoNeural", Language.en: "en-US-AriaNeural"}
#: A few well-known voices; the service has hundreds, which cannot be listed offline.
KNOWN_VOICES: dict[Language, tuple[str, ...]] = {
    Language.zh: ("zh-CN-XiaoxiaoNeural", "zh-CN-XiaoyiNeural", "zh-CN-YunxiNeural", "zh-CN-YunjianNeural"),
    Language.en: ("en-US-AriaNeural", "en-US-JennyNeural", "en-US-GuyNeural", "en-GB-SoniaNeural"),
}
_VOICE_NAME = re.compile(r"^[a-z]{2,3}-[A-Z][A-Za-z]{1,3}-[A-Za-z]+Neural$")


class EdgeTTS:
    """edge-tts backend. ``tmp_dir`` is where the mp3 is written (default: the system temp dir)."""

    name = "edge"
    sample_rate = SAMPLE_RATE

    def __init__(self, tmp_dir: Path | None = None, *, timeout_s: float = 30.0) -> None:
        self.tmp_dir = Path(tmp_dir) if tmp_dir is not None else None
        self.timeout_s = timeout_s

    def voices(self, language: Language | None = None) -> list[str]:
        """Well-known voice names; any ``xx-XX-NameNeural`` name is accepted."""
        if language is None:
            return [v for names in KNOWN_VOICES.values() for v in names]
        return list(KNOWN_VOICES[Language(language)])

    def default_voice(self, language: Language) -> str:
        return DEFAULT_VOICES[Language(language)]

    def synthesize(self, text: str, *, language: Language, voice: str | None = None, speed: float = 1.0) -> LineAudio:
        language = Language(language)
        speed = check_speed(speed, self.name)
        voice = voice or self.default_voice(language)
        if not _VOICE_NAME.match(voice):
            raise InputError(
                f"edge: {voice!r} is not an edge-tts voice name (like zh-CN-XiaoxiaoNeural); "
                f"known: {', '.join(self.voices())}",
                field="voice",
            )
        if not text.strip():
            return silence(text, SAMPLE_RATE, self.name, voice)
        try:
            import edge_tts
        except ImportError as exc:
            raise BackendUnavailableError(
                f"edge: edge-tts is not installed ({exc}); pip install 'adloom[voice]'"
            ) from exc
        rate = f"{round((speed - 1.0) * 100):+d}%"
        fd, name = tempfile.mkstemp(prefix="adloom-edge-", suffix=".mp3", dir=self.tmp_dir)
        path = Path(name)
        try:
            os.close(fd)
            communicate = edge_tts.Communicate(text.strip(), voice, rate=rate)
            try:
                _run(asyncio.wait_for(communicate.save(str(path)), self.timeout_s))
            except Exception as exc:  # aiohttp DNS/connection errors, timeouts, service errors
                raise BackendUnavailableError(
                    f"edge: the edge-tts service could not speak {text[:40]!r} ({type(exc).__name__}: {exc}); "
                    "check the network, or use the offline backend 'kokoro'"
                ) from exc
            if path.stat().st_size == 0:
                raise BackendUnavailableError(f"edge: the service returned no audio for {text[:40]!r}")
            samples = _decode(path)
        finally:
            path.unlink(missing_ok=True)
        if samples.size == 0:
            raise GenerationError(f"edge: the audio for {text[:40]!r} decoded to nothing")
        return LineAudio(text=text, samples=samples, sample_rate=SAMPLE_RATE, backend=self.name, voice=voice)


def _run(coro: object) -> None:
    """Run a coroutine to completion, from sync code or from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)  # type: ignore[arg-type]
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


def _decode(path: Path) -> np.ndarray:
    """mp3 → float32 mono at SAMPLE_RATE via ffmpeg."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1"]
    media_s = path.stat().st_size / EDGE_MP3_BYTES_PER_S
    proc = run_tool([*cmd, "-ar", str(SAMPLE_RATE), "-"], purpose="ffmpeg decoding edge-tts speech", subject=path,
                    timeout_s=tool_timeout(media_s), capture_output=True)  # fmt: skip
    if proc.returncode != 0:
        raise GenerationError(f"edge: ffmpeg could not decode {path}: {proc.stderr.decode(errors='replace')[-300:]}")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()
