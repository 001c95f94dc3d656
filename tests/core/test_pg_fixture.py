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


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", _ONE_TEST]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", [False, True], ids=["local", "ci"])
def test_without_postgresql_its_runs_skip_naming_the_fix_or_fail_under_ci(tmp_path, ci: bool):
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"ADLOOM_TEST_PG_BINDIR": str(tmp_path / "none")}
    if ci:
        env["CI"] = "true"
    out = _pytest(env)
    log = out.stdout + out.stderr
    if ci:
        assert out.returncode != 0 and "1 passed" in log and "1 error" in log, log
        assert "CI is set, so PostgreSQL must be installed" in log
    else:
        assert out.returncode == 0 and "1 passed, 1 skipped" in log, log
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
