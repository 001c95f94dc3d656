"""Registers digital_human's vendors in the core registry (loaded via the ``adloom.plugins`` entry point).

Only ``module:attribute`` strings are registered, so neither onnxruntime, misaki nor
libespeak-ng is loaded until a backend is built.
"""

from adloom.core.registry import registry

registry("tts").register_lazy("kokoro", "adloom.digital_human.voice.kokoro:KokoroTTS")
registry("tts").register_lazy("espeak", "adloom.digital_human.voice.espeak:EspeakTTS")
registry("tts").register_lazy("edge", "adloom.digital_human.voice.edge:EdgeTTS")
