"""Settings keep secrets secret and never come from the current folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adloom.core.errors import BackendUnavailableError, InputError, StorageError
from adloom.core.settings import Settings
from adloom.core.storage.db import open_store

PASSWORD = "hunter2-Sup3rSecret"


def test_repr_and_str_of_settings_never_show_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADLOOM_DATABASE_URL", f"postgresql+psycopg://ads:{PASSWORD}@db.internal/adloom")
    monkeypatch.setenv("ADLOOM_LLM_URL", f"https://bot:{PASSWORD}@llm.internal/v1")
    monkeypatch.setenv("ADLOOM_LLM_API_KEY", f"sk-{PASSWORD}")
    s = Settings()
    for shown in (repr(s), str(s), s.model_dump_json()):
        assert PASSWORD not in shown
    # The readers that need the values still get them.
    assert PASSWORD in s.db_url
    assert s.llm_api_key is not None and s.llm_api_key.get_secret_value() == f"sk-{PASSWORD}"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+nosuchdriver://ads:{PASSWORD}@127.0.0.1:9/adloom",  # create_engine fails: no such driver
        f"postgresql+psycopg://ads:{PASSWORD}@127.0.0.1:9/adloom",  # connect fails (or psycopg is absent)
    ],
)
def test_database_errors_never_print_the_password(url: str) -> None:
    with pytest.raises((InputError, StorageError)) as info:
        open_store(url)
    err = info.value
    assert PASSWORD not in str(err)
    assert err.__cause__ is None or PASSWORD not in str(err.__cause__)


def test_cli_database_error_is_masked(tmp_path: Path) -> None:
    """The CLI a user runs prints the error (and any traceback) without the password."""
    env = {"ADLOOM_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin",
           "ADLOOM_DATABASE_URL": f"postgresql+nosuchdriver://ads:{PASSWORD}@127.0.0.1:9/adloom"}  # fmt: skip
    code = "from adloom.core.settings import get_settings\nfrom adloom.core.storage.db import open_store\n" \
           "open_store(get_settings().db_url)\n"  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0 and "not usable" in proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr


def test_a_hostile_adloom_toml_in_the_current_folder_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = tmp_path / "untrusted"
    hostile.mkdir()
    (hostile / "adloom.toml").write_text('llm_backend = "openai"\nllm_url = "http://attacker.example/v1"\n')
    monkeypatch.chdir(hostile)
    s = Settings()
    assert s.llm_backend == "llamacpp" and s.llm_url.get_secret_value() == "http://127.0.0.1:8080/v1"


def test_adloom_toml_in_home_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "adloom.toml").write_text('llm_backend = "openai"\n')
    monkeypatch.setenv("ADLOOM_HOME", str(home))
    assert Settings().llm_backend == "openai"
    other = tmp_path / "other"
    other.mkdir()
    (other / "adloom.toml").write_text('llm_backend = "transformers"\n')
    assert Settings(home=other).llm_backend == "transformers"  # an explicit home brings its own file


def test_a_venv_mediapipe_in_the_current_folder_is_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from adloom.digital_human.avatar import landmarks

    fake = tmp_path / ".venv-mediapipe" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho pwned\n")
    fake.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADLOOM_MEDIAPIPE_PYTHON", raising=False)
    try:
        chosen = landmarks.mediapipe_python()
    except BackendUnavailableError as exc:
        assert str(tmp_path) not in str(exc)
    else:
        assert chosen.resolve() != fake.resolve()
        assert chosen.is_relative_to(landmarks._REPO_ROOT)
