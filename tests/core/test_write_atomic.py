"""write_atomic: unique temporary names, nothing left behind on failure, the old content kept."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from adloom.core import paths
from adloom.core.paths import write_atomic


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_writer_that_starts_while_another_is_mid_rename_keeps_its_own_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second writer runs between the first one's write and its rename (the interleaving that
    made a shared ``.name.tmp`` lose the first write and crash the second rename)."""
    target = tmp_path / "state.json"
    real_replace = os.replace
    nested: list[bool] = []

    def replace_after_a_second_writer(src: str | Path, dst: str | Path) -> None:
        if not nested:
            nested.append(True)
            write_atomic(target, "second")  # lands first
        real_replace(src, dst)

    monkeypatch.setattr(paths.os, "replace", replace_after_a_second_writer)
    write_atomic(target, "first")
    assert target.read_text() == "first"  # the outer writer's own temp file, intact, renamed last
    assert _leftovers(tmp_path) == []


def test_concurrent_writers_leave_one_whole_payload_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(payloads))

    def writer(data: bytes) -> None:
        start.wait()
        try:
            for _ in range(5):
                write_atomic(target, data)
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes() in payloads
    assert _leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "room.yaml"
    target.write_text("old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(paths.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_mode_is_kept_or_set(tmp_path: Path) -> None:
    secret = write_atomic(tmp_path / "key.yaml", "k", mode=0o600)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    write_atomic(secret, "k2")  # a rewrite keeps 0600
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(write_atomic(tmp_path / "new.txt", "x").stat().st_mode) == paths.NEW_FILE_MODE
