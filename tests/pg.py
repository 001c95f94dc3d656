"""A throwaway PostgreSQL cluster for the tests: started once per session, a fresh database per test.

``pg_url`` is an empty database of its own; ``db_url`` runs a test twice, on a SQLite file and on PostgreSQL, for
tests about storage behaviour (SQLite forgives what PostgreSQL refuses: VARCHAR overflows, naive datetimes, …).
Without PostgreSQL's binaries the PostgreSQL runs are skipped with the fix in the reason, except under CI (env
``CI`` set), where they fail: CI installs PostgreSQL (``make install`` as root), so missing binaries are a bug there.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

#: The database superuser initdb creates; trust auth on loopback, so no password.
PG_USER = "postgres"
#: The one role that must log in with a password (scram-sha-256), for tests of what errors show of a password.
PASSWORD_ROLE = "adloom_pw"
_INSTALL_HINT = "install PostgreSQL: `apt-get install postgresql` (or `make install` as root)"


def _missing(reason: str) -> NoReturn:
    """Skip a PostgreSQL run, or fail it under CI, where PostgreSQL is installed on purpose."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so PostgreSQL must be installed)", pytrace=False)
    pytest.skip(reason)


def pg_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: ``$ADLOOM_TEST_PG_BINDIR`` when set (and then only it), else
    ``pg_config --bindir``, else the newest Debian /usr/lib/postgresql/*/bin, else wherever ``initdb`` is on PATH."""
    if chosen := os.environ.get("ADLOOM_TEST_PG_BINDIR"):
        d = Path(chosen)
        return d if (d / "initdb").is_file() and (d / "pg_ctl").is_file() else None
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    debian = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    candidates += sorted(debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    return next((d for d in candidates if (d / "initdb").is_file() and (d / "pg_ctl").is_file()), None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """A running cluster: its data folder, the loopback port, and how to run its binaries (as ``postgres`` when
    we are root, since initdb and the server refuse to run as root)."""

    bindir: Path
    root: Path
    port: int
    as_user: list[str]
    #: Seconds from initdb to accepting connections.
    startup_s: float = 0.0

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [*self.as_user, str(self.bindir / tool), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{tool} failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}\n{tail}"
            )
        return proc

    def admin(self, sql: str, database: str = "postgres") -> None:
        """Run one statement as the superuser outside a transaction (CREATE/DROP DATABASE, roles, grants)."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=PG_USER, dbname=database, autocommit=True) as c:
            c.execute(sql)  # type: ignore[arg-type]  # our own identifiers, never user input

    def password_role(self, password: str) -> str:
        """(Re)create :data:`PASSWORD_ROLE`: may log in (with ``password`` only), owns nothing, may create nothing."""
        self.admin(f"DO $$BEGIN CREATE ROLE {PASSWORD_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$")
        self.admin(f"ALTER ROLE {PASSWORD_ROLE} PASSWORD '{password}'")
        return PASSWORD_ROLE


def start_cluster(bindir: Path) -> PgCluster:
    """initdb into a fresh temporary folder and start the server on a free loopback port (no TCP elsewhere,
    its unix socket inside the folder, durability off: the data is thrown away)."""
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="adloom-pg-"))
    if os.getuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            _missing(
                "running as root, and initdb refuses root, but there is no `postgres` user to run it as; "
                + _INSTALL_HINT
            )
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    cluster = PgCluster(bindir, root, 0, as_user)
    cluster.run(
        "initdb", "-D", str(cluster.data), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"
    )
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{root}'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "shared_buffers": "'16MB'",
        "max_connections": "200",
        "dynamic_shared_memory_type": "mmap",  # containers often have a tiny /dev/shm
        "log_min_messages": "warning",
        "timezone": "'Asia/Shanghai'",  # not UTC, as many servers are: naive datetimes must not drift
    }
    with (cluster.data / "postgresql.conf").open("a", encoding="utf-8") as conf:  # appended: the file keeps its owner
        conf.write("\n# adloom test cluster\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    hba = cluster.data / "pg_hba.conf"
    rules = hba.read_text(encoding="utf-8")  # first match wins: the password role's rule goes before initdb's trust
    hba.write_text(f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n{rules}", encoding="utf-8")
    for attempt in range(3):  # the port was free a moment ago; another process may have taken it since
        cluster.port = _free_port()
        try:
            cluster.run(
                "pg_ctl", "-D", str(cluster.data), "-l", str(root / "server.log"), "-w", "-t", "60",
                "-o", f"-p {cluster.port}", "start",
            )  # fmt: skip
            return cluster
        except RuntimeError:
            if attempt == 2:
                stop_cluster(cluster)
                raise
    raise AssertionError("unreachable")


def stop_cluster(cluster: PgCluster) -> None:
    try:
        cluster.run("pg_ctl", "-D", str(cluster.data), "-m", "immediate", "-w", "stop")
    except (RuntimeError, subprocess.SubprocessError):
        pass  # never started, or already gone
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's PostgreSQL cluster, started on first use (skipped, or failed under CI, when not installed)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("the PostgreSQL driver is not installed: pip install 'adloom[postgres]'")
    bindir = pg_bindir()
    if bindir is None:
        _missing(
            "PostgreSQL's initdb and pg_ctl are not in $ADLOOM_TEST_PG_BINDIR, pg_config's bindir, "
            "/usr/lib/postgresql/*/bin or PATH; " + _INSTALL_HINT
        )
    t0 = time.perf_counter()
    cluster = start_cluster(bindir)
    cluster.startup_s = time.perf_counter() - t0
    yield cluster
    stop_cluster(cluster)


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards (connections left open are cut)."""
    name = f"adloom_{uuid.uuid4().hex}"
    pg_cluster.admin(f'CREATE DATABASE "{name}"')
    yield pg_cluster.url(name)
    pg_cluster.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test runs once on a SQLite file and once on a PostgreSQL database of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/adloom.db"
    url: str = request.getfixturevalue("pg_url")
    return url
