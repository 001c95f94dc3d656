"""The PostgreSQL test fixture's contract (tests/pg.py): without PostgreSQL the PostgreSQL runs are skipped with
the fix in the reason, but under CI they fail; with it, the cluster is a real server on loopback only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[2]
_ONE_TEST = "tests/core/test_storage.py::test_library_round_trip_filters_and_performance_update"


def _env(ci: bool, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {
        "ADLOOM_TEST_PG_BINDIR": str(tmp / "none"),
        "ADLOOM_HOME": str(tmp / "home"),  # module-scoped: set up before the per-test home is
    }
    if ci:
        env["CI"] = "true"
    return env


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, tuple[int, str]]:
    """The inner pytest run without CI and with CI set, started together (each is mostly interpreter start-up and
    imports): {ci: (exit status, stdout + stderr)}."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", _ONE_TEST]
    procs = {}
    for ci in (False, True):
        tmp = tmp_path_factory.mktemp("ci" if ci else "local")
        procs[ci] = subprocess.Popen(
            cmd, cwd=REPO, env=_env(ci, tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    out = {}
    for ci, proc in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for p in procs.values():
                p.kill()
            raise
        out[ci] = (proc.returncode, stdout + stderr)
    return out


@pytest.mark.parametrize("ci", [False, True], ids=["local", "ci"])
def test_without_postgresql_its_runs_skip_naming_the_fix_or_fail_under_ci(runs, ci: bool):
    returncode, log = runs[ci]
    if ci:
        assert returncode != 0 and "1 passed" in log and "1 error" in log, log
        assert "CI is set, so PostgreSQL must be installed" in log
    else:
        assert returncode == 0 and "1 passed, 1 skipped" in log, log
        assert "apt-get install postgresql" in log and "make install" in log


def test_the_cluster_listens_on_loopback_only_with_its_socket_in_its_folder(pg_cluster, pg_url: str):
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            settings = dict(conn.execute(text("SELECT name, setting FROM pg_settings")).all())
            assert conn.scalar(text("SELECT current_database()")) == pg_url.rsplit("/", 1)[1]
    finally:
        engine.dispose()
    assert settings["listen_addresses"] == "127.0.0.1" and settings["port"] == str(pg_cluster.port)
    assert settings["unix_socket_directories"] == str(pg_cluster.root) and settings["fsync"] == "off"
    assert pg_cluster.startup_s < 30, pg_cluster.startup_s
