"""Helper interpreters in venvs of their own, run as JSON-in/JSON-out worker subprocesses.

mediapipe 0.10.21 needs numpy<2 and protobuf<5 and brings its own cv2, so it cannot share adloom's
venv: ``make install`` builds ``.venv-mediapipe`` beside the project, and every package that needs
mediapipe (face landmarks for avatars, faces and hands in advertiser footage) runs a small worker
script of its own there. This module finds that interpreter and runs a worker with a deadline,
returning the JSON summary the worker prints as its last ``{...}`` line on stdout; it imports nothing
from other adloom packages, so both ``digital_human`` and ``creative`` use it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from adloom.core.errors import BackendUnavailableError
from adloom.core.proc import run_tool
from adloom.core.settings import get_settings

__all__ = ["REPO_ROOT", "mediapipe_python", "run_json_worker"]

#: The project source tree (where ``make install`` builds ``.venv-mediapipe``).
REPO_ROOT = Path(__file__).resolve().parents[2]


def mediapipe_python() -> Path:
    """The mediapipe venv's interpreter.

    Order: ``ADLOOM_MEDIAPIPE_PYTHON`` (settings ``mediapipe_python``), then
    ``.venv-mediapipe/bin/python`` beside the installed project source tree (where ``make install``
    builds it). Never the current folder: a command run from an untrusted folder must not execute
    whatever interpreter that folder holds. Raises :class:`BackendUnavailableError` saying how to get one.
    """
    configured = os.environ.get("ADLOOM_MEDIAPIPE_PYTHON") or get_settings().mediapipe_python
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise BackendUnavailableError(
                f"ADLOOM_MEDIAPIPE_PYTHON points at {path}, which does not exist; fix it or unset it to use "
                ".venv-mediapipe"
            )
        return path
    candidate = REPO_ROOT / ".venv-mediapipe" / "bin" / "python"
    if candidate.is_file():
        return candidate
    raise BackendUnavailableError(
        f"face and hand detection need mediapipe's own venv, and none was found ({candidate.parent.parent}); run "
        "`make mediapipe` (or `make install`) in the project, or set ADLOOM_MEDIAPIPE_PYTHON to its python"
    )


def run_json_worker(
    script: Path, args: list[str], *, python: Path | None = None, purpose: str, subject: str, timeout_s: float
) -> dict[str, Any]:
    """Run ``python script args...`` (default: :func:`mediapipe_python`) with a deadline and return the JSON object
    it printed last on stdout.

    The worker's environment drops ``PYTHON*`` variables (adloom's ``PYTHONPATH`` must not leak into the other
    venv) and quiets mediapipe's logging. A worker that cannot start, exits non-zero or prints no JSON raises
    :class:`BackendUnavailableError` with the tail of its output; one past ``timeout_s`` is killed and raises
    :class:`~adloom.core.errors.ToolTimeoutError` naming ``purpose`` and ``subject``."""
    cmd = [str(python or mediapipe_python()), str(script), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.setdefault("GLOG_minloglevel", "2")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        proc = run_tool(cmd, purpose=purpose, subject=subject, timeout_s=timeout_s,
                        capture_output=True, text=True, env=env)  # fmt: skip
    except OSError as exc:
        raise BackendUnavailableError(f"cannot start {purpose} ({cmd[0]}): {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        raise BackendUnavailableError(
            f"{purpose} failed (exit {proc.returncode}): {' | '.join(tail)}; check .venv-mediapipe (`make mediapipe`)"
        )
    lines = [ln for ln in (proc.stdout or "").splitlines() if ln.startswith("{")]
    if not lines:
        raise BackendUnavailableError(f"{purpose} printed no summary: {(proc.stdout or '')[-300:]!r}")
    try:
        summary = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise BackendUnavailableError(f"{purpose} printed a broken summary ({exc}): {lines[-1][:300]!r}") from exc
    if not isinstance(summary, dict):
        raise BackendUnavailableError(f"{purpose} printed {type(summary).__name__}, not a JSON object")
    return summary
