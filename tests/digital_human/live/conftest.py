"""A real RTMP server on loopback: Debian's nginx with its RTMP module, started per test.

The server records every published stream (``record all``) into a folder per start
(``rec1``, ``rec2`` after a restart ...), so tests read back exactly what the server
received, and can kill it (SIGKILL to its process group) and start it again on the same
port. Skipped with the install command when nginx or the module is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from live_helpers import free_port

RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
INSTALL = "apt-get install -y nginx-light libnginx-mod-rtmp"


@dataclass
class RtmpServer:
    """nginx-rtmp on 127.0.0.1:``port`` with application ``live``; ``generation`` counts starts."""

    root: Path
    port: int
    nginx: str
    generation: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{key}"

    def record_dir(self, generation: int | None = None) -> Path:
        return self.root / f"rec{generation or self.generation}"

    def recordings(self, generation: int | None = None) -> list[Path]:
        folder = self.record_dir(generation)
        return sorted(folder.glob("*.flv")) if folder.is_dir() else []

    def _config(self) -> Path:
        rec = self.record_dir()
        rec.mkdir(parents=True, exist_ok=True)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        conf = self.root / "nginx.conf"
        conf.write_text(
            f"load_module {RTMP_MODULE};\n"
            "daemon off;\nmaster_process on;\nworker_processes 1;\n"
            f"{user}"
            f"pid {self.root / 'nginx.pid'};\n"
            f"error_log {self.root / 'error.log'} info;\n"
            "events { worker_connections 64; }\n"
            "rtmp {\n  server {\n"
            f"    listen 127.0.0.1:{self.port};\n"
            "    application live {\n      live on;\n      record all;\n"
            f"      record_path {rec};\n      record_unique on;\n    }}\n"
            "  }\n}\n"
        )
        return conf

    def start(self, timeout: float = 10.0) -> None:
        self.generation += 1
        conf = self._config()
        self.proc = subprocess.Popen(
            [self.nginx, "-p", str(self.root), "-c", str(conf), "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: kill() takes master and worker together
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.root / "error.log").read_text(errors="replace")[-800:]
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.port} within {timeout} s")

    def kill(self) -> None:
        """SIGKILL the whole server (master and worker): the publisher's connection drops."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """Graceful stop (SIGQUIT), so recordings are finalised; SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None


@pytest.fixture
def rtmp_server(tmp_path: Path) -> Iterator[RtmpServer]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip(f"nginx is not installed: {INSTALL}")
    if not RTMP_MODULE.is_file():
        pytest.skip(f"nginx's RTMP module {RTMP_MODULE} is missing: {INSTALL}")
    server = RtmpServer(root=tmp_path / "nginx", port=free_port(), nginx=nginx)
    server.root.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()
