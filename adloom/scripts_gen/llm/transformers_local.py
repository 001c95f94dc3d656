"""A local Hugging Face causal language model loaded from a folder (no hub access).

For users who have a model in Hugging Face format but no GGUF of it, or who
want to run a fine-tune straight from its checkpoint folder. There is no
constrained decoding here: ``generate_json`` samples freely and cuts the
first balanced ``{...}`` out of the text, and callers validate it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adloom.core.errors import BackendUnavailableError, GenerationError
from adloom.scripts_gen.llm.base import check_generation_args, check_schema, extract_json_object, truncate_at_stop

if TYPE_CHECKING:  # pragma: no cover - typing only; torch/transformers are imported lazily
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class TransformersBackend:
    """``AutoModelForCausalLM`` + ``AutoTokenizer`` from ``model_path``, loaded on first use with
    ``local_files_only=True``; one generation at a time per instance.
    """

    name = "transformers"

    def __init__(self, model_path: Path, device: str = "cpu") -> None:
        """Raises :class:`BackendUnavailableError` at once if ``model_path`` is not a model folder."""
        path = Path(model_path).expanduser()
        if not path.is_dir():
            raise BackendUnavailableError(
                f"transformers model folder {path} does not exist; set ADLOOM_LLM_MODEL_PATH to a folder written"
                " by save_pretrained (config.json, weights, tokenizer files)"
            )
        if not (path / "config.json").is_file():
            raise BackendUnavailableError(
                f"{path} is not a Hugging Face model folder (no config.json); point ADLOOM_LLM_MODEL_PATH at the"
                " folder save_pretrained wrote, or use the llamacpp backend for a .gguf file"
            )
        self.model_path = path
        self.model = str(path)
        self.device = device
        self._lock = threading.Lock()
        self._loaded: tuple[PreTrainedModel, PreTrainedTokenizerBase] | None = None

    def _load(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        """Model and tokenizer; call with ``self._lock`` held."""
        if self._loaded is None:
            try:
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as e:
                raise BackendUnavailableError(
                    f"transformers/torch are not installed ({e}); install adloom[transformers] and the CPU torch"
                    " build (`make install`)"
                ) from e
            try:
                tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(self.model_path, local_files_only=True)
                model = model.to(self.device).eval()
            except (OSError, ValueError, KeyError, RuntimeError) as e:
                raise BackendUnavailableError(
                    f"cannot load a causal LM from {self.model_path} on device {self.device!r}"
                    f" ({type(e).__name__}: {e}); check the folder holds config, weights and tokenizer files"
                    " of a causal language model, and that the device exists"
                ) from e
            self._loaded = (model, tokenizer)
        return self._loaded

    def _generate(self, prompt: str, max_tokens: int, temperature: float, seed: int, stop: list[str] | None) -> str:
        import torch

        with self._lock:
            model, tokenizer = self._load()
            inputs = tokenizer(prompt, return_tensors="pt").to(self.device)
            n_prompt = int(inputs["input_ids"].shape[1])
            limit = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
            if limit is not None:
                if n_prompt >= limit:
                    raise GenerationError(
                        f"prompt is {n_prompt} tokens but {self.model_path} takes at most {limit}; shorten the"
                        " prompt (fewer few-shot examples)"
                    )
                max_tokens = min(max_tokens, limit - n_prompt)
            pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
            sampling: dict[str, Any] = (
                {"do_sample": True, "temperature": temperature, "top_k": 40, "top_p": 0.95}  # llama.cpp defaults
                if temperature > 0
                else {"do_sample": False}
            )
            if stop:  # end generation early; the text is still cut at the stop string below
                sampling.update(stop_strings=list(stop), tokenizer=tokenizer)
            # A private RNG stream: seeded output without moving the caller's global torch RNG.
            device_type = torch.device(self.device).type
            rng = torch.random.fork_rng(devices=[] if device_type == "cpu" else None, device_type=device_type)
            with rng, torch.inference_mode():
                torch.manual_seed(seed)
                output = model.generate(**inputs, max_new_tokens=max_tokens, pad_token_id=pad_id, **sampling)
        new_tokens = output[0, n_prompt:]  # (T_new,)
        return truncate_at_stop(tokenizer.decode(new_tokens, skip_special_tokens=True), stop)

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
        """Sample freely and return the first balanced ``{...}`` in the continuation, else the whole (stripped) text.

        ``schema`` is not enforced here (only checked to be a schema object);
        put it, or an example, in the prompt.
        """
        check_generation_args(prompt, max_tokens, temperature, stop)
        check_schema(schema)
        text = self._generate(prompt, max_tokens, temperature, seed, stop)
        found = extract_json_object(text)
        return found if found is not None else text.strip()

    def generate_text(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.7,
        seed: int = 0,
        stop: list[str] | None = None,
    ) -> str:
        """Continue ``prompt``; the text after the first stop string is dropped."""
        check_generation_args(prompt, max_tokens, temperature, stop)
        return self._generate(prompt, max_tokens, temperature, seed, stop)

    def __repr__(self) -> str:
        return f"TransformersBackend(model_path={self.model!r}, device={self.device!r})"
