"""mypy over core/ and serving/ as a child process started as soon as collection selects its test
(tests/conftest.py: ``pytest_collection_finish``), so its minute of single-core type checking overlaps the rest of
the run instead of adding to it; tests/test_architecture.py waits for the result. Same command, same config."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "mypy", "adloom/core", "adloom/serving"]
TEST_NAME = "test_mypy_strict_on_core_and_serving"

_proc: subprocess.Popen[bytes] | None = None
_out: IO[bytes] | None = None
_err: IO[bytes] | None = None


def start() -> None:
    """Start mypy once (output to temporary files, so a long report never blocks on a full pipe)."""
    global _proc, _out, _err
    if _proc is None:
        _out, _err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        _proc = subprocess.Popen(COMMAND, cwd=REPO, stdout=_out, stderr=_err)


def result(timeout: float) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of the run, starting it now if nothing started it before."""
    start()
    assert _proc is not None and _out is not None and _err is not None
    try:
        code = _proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop()
        raise
    _out.seek(0)
    _err.seek(0)
    return code, _out.read().decode(errors="replace"), _err.read().decode(errors="replace")


def stop() -> None:
    """End a run nobody waited for (an interrupted session) and close its files."""
    global _proc, _out, _err
    if _proc is not None and _proc.poll() is None:
        _proc.kill()
        _proc.wait()
    for f in (_out, _err):
        if f is not None:
            f.close()
    _proc = _out = _err = None
