"""Kokoro-82M (int8 ONNX) text-to-speech: the default voice, Mandarin and English.

The model and voice styles are assembled by ``adloom setup`` into ``<models>/kokoro``::

    kokoro-v1.0.int8.onnx   inputs: tokens int64 (1, n+2), style float32 (1, 256), speed float32 (1,)
    vocab.json              {"vocab": {phoneme character: token id}}
    voices/<name>.bin       float32 style table, (510, 256): row i is the style for i+1 phonemes

Text becomes phonemes with misaki: ``misaki.zh.ZHG2P`` for Chinese (English words
inside Chinese copy go through espeak) and ``misaki.espeak.EspeakG2P`` for English.
``misaki.en`` is avoided because it downloads a spaCy model at run time.
Kokoro returns audio only, no timings; :class:`LineAudio` durations are exact anyway.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from adloom.core.errors import BackendUnavailableError, GenerationError, InputError
from adloom.core.settings import get_settings
from adloom.core.types import Language
from adloom.digital_human.voice.base import LineAudio, check_speed, silence, trim_silence

__all__ = ["DEFAULT_VOICES", "KokoroTTS", "MAX_PHONEMES"]

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
#: The model's context is 512 tokens including the two 0 pads.
MAX_PHONEMES = 510
DEFAULT_VOICES: dict[Language, str] = {Language.zh: "zf_xiaoxiao", Language.en: "af_heart"}
#: Voice-name prefixes per language: Mandarin female/male; US and UK English female/male.
_PREFIXES: dict[Language, tuple[str, ...]] = {Language.zh: ("zf_", "zm_"), Language.en: ("af_", "am_", "bf_", "bm_")}
_SETUP_FIX = "run `adloom setup --only kokoro,voices` (or point ADLOOM_MODEL_DIR at an assembled model folder)"
_PIP_FIX = "pip install 'adloom[voice]' (misaki[zh], phonemizer-fork, espeakng-loader)"
_BREAK = re.compile(r"[.,!?;:…—]")
_LATIN_RUN = re.compile(r"([A-Za-z][A-Za-z '-]*[A-Za-z]|[A-Za-z])|([^A-Za-z]+)")


class KokoroTTS:
    """Kokoro ONNX backend. Loads nothing until the first :meth:`synthesize`.

    ``model_dir`` is the folder holding ``kokoro-v1.0.int8.onnx`` (default
    ``<settings.models>/kokoro``); ``threads`` caps onnxruntime's intra-op threads.
    """

    name = "kokoro"
    sample_rate = SAMPLE_RATE

    def __init__(self, model_dir: Path | None = None, *, threads: int | None = None) -> None:
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._vocab: dict[str, int] | None = None
        self._styles: dict[str, np.ndarray] = {}
        self._g2p: dict[str, Callable[[str], str]] = {}

    @property
    def model_dir(self) -> Path:
        return self._model_dir if self._model_dir is not None else get_settings().models / "kokoro"

    # ------------------------------------------------------------------ voices

    def voices(self, language: Language | None = None) -> list[str]:
        """Voice names found in ``<model_dir>/voices`` (only ``language``'s prefixes when given)."""
        folder = self.model_dir / "voices"
        names = sorted(p.stem for p in folder.glob("*.bin")) if folder.is_dir() else []
        if language is not None:
            names = [n for n in names if n.startswith(_PREFIXES[Language(language)])]
        return names

    def default_voice(self, language: Language) -> str:
        """Kokoro's voice for ``language`` when none is asked for (settings are applied by the caller)."""
        return DEFAULT_VOICES[Language(language)]

    def _style(self, voice: str) -> np.ndarray:
        if voice not in self._styles:
            path = self.model_dir / "voices" / f"{voice}.bin"
            if not path.is_file():
                available = self.voices()
                if not available:
                    raise BackendUnavailableError(f"kokoro: no voice files in {path.parent}; {_SETUP_FIX}")
                raise InputError(f"kokoro: unknown voice {voice!r}; available: {', '.join(available)}", field="voice")
            styles = np.fromfile(path, dtype=np.float32)
            if styles.size == 0 or styles.size % 256:
                raise BackendUnavailableError(
                    f"kokoro: voice file {path} is not a (n, 256) float32 table; {_SETUP_FIX}"
                )
            self._styles[voice] = styles.reshape(-1, 256)  # (510, 256)
        return self._styles[voice]

    # ------------------------------------------------------------------ model and G2P

    def _load(self) -> tuple[Any, dict[str, int]]:
        with self._lock:
            if self._session is None:
                model = self.model_dir / "kokoro-v1.0.int8.onnx"
                vocab_path = self.model_dir / "vocab.json"
                for path in (model, vocab_path):
                    if not path.is_file():
                        raise BackendUnavailableError(f"kokoro: model file {path} is missing; {_SETUP_FIX}")
                try:
                    import onnxruntime as ort
                except ImportError as exc:
                    raise BackendUnavailableError(
                        f"kokoro: onnxruntime is not installed ({exc}); pip install 'onnxruntime>=1.17,<2'"
                    ) from exc
                options = ort.SessionOptions()
                if self._threads:
                    options.intra_op_num_threads = self._threads
                try:
                    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
                except Exception as exc:  # onnxruntime raises its own untyped errors on corrupt files
                    raise BackendUnavailableError(f"kokoro: cannot load {model}: {exc}; {_SETUP_FIX}") from exc
                self._vocab = json.loads(vocab_path.read_text(encoding="utf-8"))["vocab"]
                self._session = session
            assert self._vocab is not None
            return self._session, self._vocab

    def _phonemizer(self, language: Language, voice: str) -> Callable[[str], str]:
        """misaki G2P for the line's language; UK voices (bf_/bm_) get British English."""
        key = "zh" if language == Language.zh else ("en-gb" if voice.startswith("b") else "en-us")
        with self._lock:
            if key not in self._g2p:
                try:
                    from misaki.espeak import EspeakG2P

                    english = EspeakG2P(language="en-gb" if key == "en-gb" else "en-us")
                    if key == "zh":
                        from misaki.zh import ZHG2P

                        logging.getLogger("jieba").setLevel(logging.WARNING)  # after the import, which sets DEBUG

                        chinese = ZHG2P()
                        self._g2p[key] = lambda s: _mixed_g2p(s, chinese, english)
                    else:
                        self._g2p[key] = lambda s: english(s)[0]
                except ImportError as exc:
                    raise BackendUnavailableError(f"kokoro: G2P is not installed ({exc}); {_PIP_FIX}") from exc
            return self._g2p[key]

    # ------------------------------------------------------------------ synthesis

    def phonemize(self, text: str, *, language: Language, voice: str | None = None) -> str:
        """The phoneme string Kokoro speaks ``text`` from (misaki G2P): what lip-sync aligns to the audio."""
        return self._phonemizer(language, voice or self.default_voice(language))(text.strip())

    def synthesize(self, text: str, *, language: Language, voice: str | None = None, speed: float = 1.0) -> LineAudio:
        """Speak one line; lines over 510 phonemes are split at punctuation and joined."""
        language = Language(language)
        speed = check_speed(speed, self.name)
        voice = voice or self.default_voice(language)
        styles = self._style(voice)
        if not text.strip():
            return silence(text, SAMPLE_RATE, self.name, voice)
        session, vocab = self._load()
        phonemes = self._phonemizer(language, voice)(text.strip())
        ids = [vocab[ch] for ch in phonemes if ch in vocab]
        if not ids:
            raise GenerationError(f"kokoro: line {text!r} gave no speakable phonemes ({phonemes!r}); rewrite it")
        pieces: list[np.ndarray] = []
        for chunk in _chunks(phonemes, vocab):
            tokens = np.array([[0, *chunk, 0]], dtype=np.int64)  # (1, n+2)
            style = styles[min(len(chunk), len(styles)) - 1][None, :]  # (1, 256)
            (audio,) = session.run(
                None, {"tokens": tokens, "style": style, "speed": np.array([speed], dtype=np.float32)}
            )
            pieces.append(np.asarray(audio, dtype=np.float32).reshape(-1))
        samples, _ = trim_silence(np.concatenate(pieces), SAMPLE_RATE)
        if samples.size == 0:
            raise GenerationError(f"kokoro: line {text!r} came out silent; try another voice or backend")
        return LineAudio(
            text=text, samples=np.clip(samples, -1.0, 1.0), sample_rate=SAMPLE_RATE, backend=self.name, voice=voice
        )


def _mixed_g2p(text: str, chinese: Callable[[str], Any], english: Callable[[str], Any]) -> str:
    """Chinese copy with Latin runs (brand names) spoken by the English G2P.

    misaki's default ZHG2P ignores its ``en_callable`` and passes Latin letters through
    as if they were phonemes, so the runs are split out here.
    """
    parts = [
        (english(latin)[0] if latin.strip() else chinese(other)[0]).strip()
        for latin, other in _LATIN_RUN.findall(text)
        if latin.strip() or other.strip()
    ]
    return " ".join(p for p in parts if p)


def _chunks(phonemes: str, vocab: dict[str, int]) -> list[list[int]]:
    """Token lists of at most MAX_PHONEMES, cut after punctuation, else at a space, else hard."""
    chunks: list[list[int]] = []
    rest = phonemes.strip()
    while rest:
        if len(rest) <= MAX_PHONEMES:
            head, rest = rest, ""
        else:
            window = rest[:MAX_PHONEMES]
            cuts = [m.end() for m in _BREAK.finditer(window)] or [i for i, c in enumerate(window) if c == " "]
            cut = cuts[-1] if cuts and cuts[-1] > MAX_PHONEMES // 4 else MAX_PHONEMES
            head, rest = window[:cut], rest[cut:].strip()
        ids = [vocab[ch] for ch in head if ch in vocab]
        if ids:
            chunks.append(ids)
    return chunks
