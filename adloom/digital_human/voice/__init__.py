"""Text-to-speech with timings: Kokoro ONNX (default), espeak-ng (fallback, phoneme events), edge-tts (online).

Use :func:`speak_lines` to voice caption lines (with failover) and :func:`mix_lines`
to lay them on one loudness-normalised track and get the subtitle timings. Backends
load their models on first use, so importing this package is cheap.
"""

from adloom.digital_human.voice.base import LineAudio, TTSBackend
from adloom.digital_human.voice.loudness import integrated_loudness, normalise_loudness
from adloom.digital_human.voice.narrate import get_tts, mix_lines, speak_lines

__all__ = [
    "LineAudio",
    "TTSBackend",
    "get_tts",
    "integrated_loudness",
    "mix_lines",
    "normalise_loudness",
    "speak_lines",
]
