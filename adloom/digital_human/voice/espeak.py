"""espeak-ng text-to-speech through ctypes: the always-available fallback, with phoneme timings.

It sounds robotic but is instant and reports every phoneme with its sample position
(event type 7), which the live room turns into visemes. The library is Debian's
``libespeak-ng.so.1`` (``apt-get install -y espeak-ng``); the pip package
``espeakng-loader`` (installed with the ``voice`` extra) is used when apt's is absent.

Chinese is spoken by the ``cmn-latn-pinyin`` voice from tone-numbered pinyin
(pypinyin ``TONE3``), since plain ``cmn`` misreads characters mixed with digits;
numbers are first written out in characters (cn2an).

espeak-ng keeps global state, so one process-wide engine serialises all calls.
"""

from __future__ import annotations

import ctypes
import re
import sysconfig
import threading
from pathlib import Path

import numpy as np

from adloom.core.errors import BackendUnavailableError, GenerationError, InputError
from adloom.core.types import Language
from adloom.digital_human.voice.base import LineAudio, check_speed, silence, trim_silence

__all__ = ["APT_INSTALL", "DEFAULT_VOICES", "EspeakTTS", "to_pinyin"]

APT_INSTALL = "apt-get install -y espeak-ng"
DEFAULT_VOICES: dict[Language, str] = {Language.zh: "cmn-latn-pinyin", Language.en: "en-us"}
_BASE_WPM = 175  # espeak-ng's default rate; speed multiplies it

# espeak-ng API constants (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_RATE = 1
_EE_OK = 0


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT``: ``sample`` is the event's position in samples from the start of the text."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _Engine:
    """The one initialised libespeak-ng of this process."""

    def __init__(self) -> None:
        lib, data_root = _open_library()
        self.lib = lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        path = str(data_root).encode() if data_root else None
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, path, _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA)
        if rate <= 0:
            raise BackendUnavailableError(f"espeak-ng failed to initialise (code {rate}); reinstall: {APT_INSTALL}")
        self.sample_rate = rate
        self.lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._callback = _Callback(self._on_audio)  # kept referenced: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        voices = lib.espeak_ListVoices(None)
        self.voices: list[str] = []
        i = 0
        while voices[i]:
            # ``languages`` is a priority byte then the voice's primary language code ("en-us",
            # "cmn-latn-pinyin"): the name `espeak-ng --voices` shows and SetVoiceByName accepts.
            languages = voices[i].contents.languages or b""
            if len(languages) > 1:
                self.voices.append(languages[1:].decode("utf-8", "replace"))
            i += 1
        self.voices = sorted(set(self.voices))

    def _on_audio(self, wav: ctypes._Pointer, n: int, events: ctypes._Pointer) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                self._events.append((event.id.string.decode("utf-8", "replace"), int(event.sample)))
            i += 1
        return 0

    def speak(self, text: str, voice: str, wpm: int) -> tuple[np.ndarray, list[tuple[str, int]]]:
        """Samples (float32) and (phoneme, sample index) events for ``text``; callers hold ``lock``."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise InputError(f"espeak: unknown voice {voice!r}; available: {', '.join(self.voices)}", field="voice")
        self.lib.espeak_SetParameter(_RATE, wpm, 0)
        self._chunks, self._events = [], []
        data = ctypes.create_string_buffer(text.encode("utf-8"))
        code = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if code != _EE_OK:
            raise GenerationError(f"espeak: synthesis of {text!r} failed with code {code}")
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        return samples, list(self._events)


def _open_library() -> tuple[ctypes.CDLL, Path | None]:
    """Debian's libespeak-ng first, then the wheel from espeakng-loader; a typed error naming apt if neither."""
    # By full path: phonemizer (misaki's English G2P) loads espeakng-loader's copy, whose soname is also
    # libespeak-ng.so.1, and a dlopen by bare name would return that already-loaded copy.
    for path in _system_library_paths():
        try:
            return ctypes.CDLL(str(path)), None
        except OSError:
            continue
    try:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        return lib, Path(espeakng_loader.get_data_path()).parent
    except (ImportError, OSError) as exc:
        raise BackendUnavailableError(
            f"espeak: the library libespeak-ng.so.1 is not installed ({exc}); install it with `{APT_INSTALL}` "
            "(or pip install 'adloom[voice]' for the espeakng-loader wheel)"
        ) from exc


def _system_library_paths() -> list[Path]:
    """Where the distribution's libespeak-ng.so.1 may live (Debian multiarch first)."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = [Path("/usr/lib") / multiarch, Path("/usr/lib"), Path("/usr/lib64"), Path("/usr/local/lib")]
    return [d / "libespeak-ng.so.1" for d in dirs if (d / "libespeak-ng.so.1").is_file()]


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


_PUNCT = str.maketrans(
    {"，": ", ", "、": ", ", "；": "; ", "：": ": ", "。": ". ", "！": "! ", "？": "? ", "…": "... "}
)


def to_pinyin(text: str) -> str:
    """Chinese copy as tone-numbered pinyin for ``cmn-latn-pinyin`` (24 → 二十四 → er4 shi2 si4)."""
    try:
        import cn2an
        from pypinyin import Style, lazy_pinyin
    except ImportError as exc:
        raise BackendUnavailableError(
            f"espeak: Chinese needs pypinyin and cn2an ({exc}); pip install 'adloom[voice]'"
        ) from exc
    try:
        text = cn2an.transform(text, "an2cn")
    except Exception:  # cn2an rejects some odd number formats; digits are then read one by one
        pass
    syllables = lazy_pinyin(text.translate(_PUNCT), style=Style.TONE3, neutral_tone_with_five=True)
    return re.sub(r"\s+", " ", " ".join(syllables)).strip()


class EspeakTTS:
    """espeak-ng backend; ``phonemes`` holds IPA phonemes with start times ("_" marks a pause)."""

    name = "espeak"

    def voices(self, language: Language | None = None) -> list[str]:
        """espeak-ng voice names (Mandarin or English ones only when ``language`` is given)."""
        names = _get_engine().voices
        if language is None:
            return list(names)
        prefix = ("cmn", "yue") if Language(language) == Language.zh else ("en",)
        return [n for n in names if n.startswith(prefix)]

    def default_voice(self, language: Language) -> str:
        return DEFAULT_VOICES[Language(language)]

    def synthesize(self, text: str, *, language: Language, voice: str | None = None, speed: float = 1.0) -> LineAudio:
        language = Language(language)
        speed = check_speed(speed, self.name)
        engine = _get_engine()
        voice = voice or self.default_voice(language)
        if voice not in engine.voices:
            raise InputError(f"espeak: unknown voice {voice!r}; available: {', '.join(self.voices())}", field="voice")
        if not text.strip():
            return silence(text, engine.sample_rate, self.name, voice)
        spoken = to_pinyin(text) if voice.startswith("cmn-latn-pinyin") else text.strip()
        wpm = int(round(_BASE_WPM * speed))
        with engine.lock:
            raw, events = engine.speak(spoken, voice, wpm)
        samples, offset_s = trim_silence(raw, engine.sample_rate)
        if samples.size == 0:
            raise GenerationError(f"espeak: line {text!r} came out silent")
        duration = len(samples) / engine.sample_rate
        phonemes = [
            (name or "_", min(max(at / engine.sample_rate - offset_s, 0.0), duration))
            for name, at in sorted(events, key=lambda e: e[1])
        ]
        return LineAudio(
            text=text,
            samples=samples,
            sample_rate=engine.sample_rate,
            backend=self.name,
            voice=voice,
            phonemes=phonemes,
        )
