"""LLM backends behind one interface (:class:`LLMBackend`), picked by ``settings.llm_backend``.

Importing this package registers the three built-in backends in
``registry("llm")`` by ``"module:attribute"`` name only, so llama_cpp,
transformers and torch are imported when a backend is first built, not here.
"""

from __future__ import annotations

from typing import Any

from adloom.core.errors import ConfigError
from adloom.core.registry import registry
from adloom.core.settings import Settings, get_settings
from adloom.scripts_gen.llm.base import LLMBackend

__all__ = ["LLMBackend", "get_backend"]

_llm = registry("llm")
_llm.register_lazy("llamacpp", "adloom.scripts_gen.llm.llamacpp:LlamaCppBackend")
_llm.register_lazy("openai", "adloom.scripts_gen.llm.openai_http:OpenAIBackend")
_llm.register_lazy("transformers", "adloom.scripts_gen.llm.transformers_local:TransformersBackend")


def backend_kwargs(settings: Settings) -> dict[str, Any]:
    """Constructor arguments for the backend ``settings.llm_backend`` names, taken from ``settings``."""
    name = settings.llm_backend
    if name == "llamacpp":
        return {
            "model_path": settings.llm_model_path,
            "n_threads": settings.llm_threads,
            "n_ctx": settings.llm_context,
            "models_dir": settings.models,
        }
    if name == "openai":
        kwargs: dict[str, Any] = {
            "base_url": settings.llm_url.get_secret_value(),
            "model": settings.llm_model,
            "api_key": settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            "timeout_s": settings.llm_timeout_s,
            "retries": settings.llm_retries,
        }
        kwargs["mode"] = settings.llm_mode
        return kwargs
    if name == "transformers":
        if settings.llm_model_path is None:
            raise ConfigError(
                "llm_backend is 'transformers' but no model folder is set; set ADLOOM_LLM_MODEL_PATH to a folder"
                " written by save_pretrained"
            )
        return {"model_path": settings.llm_model_path}
    return {}  # a plugin backend: it reads what it needs itself


def get_backend(settings: Settings | None = None) -> LLMBackend:
    """Build the backend ``settings.llm_backend`` names (default: the process settings).

    Each call builds a new instance; the embedded backends load their model
    on first use, so callers keep and share the instance they get.
    """
    settings = settings if settings is not None else get_settings()
    backend: LLMBackend = _llm.create(settings.llm_backend, **backend_kwargs(settings))
    return backend
