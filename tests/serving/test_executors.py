"""Executors for render items: local worker processes and Ray, with real child processes and a real
local Ray instance (2 CPUs, no GPU), and one real tiny render through Ray."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adloom.core.errors import BackendUnavailableError, InputError, WorkerCrashedError
from adloom.core.settings import Settings
from adloom.serving.jobs.executors import Executor, LocalExecutor, RayExecutor, local_cuda, make_executor
from tests.ray_token import RAY_TEST_TOKEN

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
WAIT_S = 60


# --- item functions: module level, so they pickle by reference into child processes and Ray workers ------


def square(job: dict[str, Any]) -> dict[str, Any]:
    return {"id": job["id"], "square": job["x"] * job["x"], "pid": os.getpid()}


def timed_sleep(job: dict[str, Any]) -> dict[str, Any]:
    start = time.time()
    time.sleep(job["sleep_s"])
    return {"id": job["id"], "start": start, "end": time.time(), "pid": os.getpid()}


def die(job: dict[str, Any]) -> dict[str, Any]:
    os.kill(os.getpid(), 9)
    time.sleep(30)  # never reached: SIGKILL cannot be caught
    return {}


def refuse(job: dict[str, Any]) -> dict[str, Any]:
    raise InputError(f"item {job['id']}: x={job['x']} is out of range; use 0..9", field="x")


# --- local processes ---------------------------------------------------------------------------------------


@pytest.fixture
def local() -> Iterator[LocalExecutor]:
    ex = LocalExecutor(workers=2)
    yield ex
    ex.close()


def test_local_executor_runs_the_function_in_a_child_process(local: LocalExecutor):
    assert isinstance(local, Executor) and local.name == "local" and local.capacity() == 2
    result = local.submit(square, {"id": "a", "x": 7}).result(timeout=WAIT_S)
    assert result["square"] == 49 and result["pid"] != os.getpid()
    err = local.submit(refuse, {"id": "b", "x": 12}).exception(timeout=WAIT_S)
    assert isinstance(err, InputError) and "x=12" in str(err) and err.field == "x"


def test_a_killed_child_fails_only_its_own_item(local: LocalExecutor):
    slow = local.submit(timed_sleep, {"id": "slow", "sleep_s": 2.0})
    time.sleep(0.5)  # the slow item is running in one slot when the other slot's process dies
    crashed = local.submit(die, {"id": "crv_doomed"})
    err = crashed.exception(timeout=WAIT_S)
    assert isinstance(err, WorkerCrashedError)
    assert "crv_doomed" in str(err) and "SIGKILL" in str(err) and "ADLOOM_EXECUTOR_WORKERS" in str(err)
    assert slow.result(timeout=WAIT_S)["id"] == "slow"  # the other slot's item is untouched
    after = [local.submit(square, {"id": f"n{i}", "x": i}) for i in range(3)]
    assert [f.result(timeout=WAIT_S)["square"] for f in after] == [0, 1, 4]


def test_a_gpu_item_runs_only_with_local_cuda(local: LocalExecutor):
    if local_cuda():
        assert local.has_gpu()
        assert local.submit(square, {"id": "g", "x": 3}, gpu=True).result(timeout=WAIT_S)["square"] == 9
        return
    assert not local.has_gpu()
    with pytest.raises(InputError, match="crv_gpu needs a GPU.*Ray executor") as info:
        local.submit(square, {"id": "crv_gpu", "x": 3}, gpu=True)
    assert info.value.field == "gpu"


def test_bad_worker_counts_and_a_closed_executor_are_explained():
    with pytest.raises(InputError, match="workers=0"):
        LocalExecutor(workers=0)
    ex = LocalExecutor(workers=1)
    ex.close()
    with pytest.raises(Exception, match="closed"):
        ex.submit(square, {"id": "late", "x": 1})


# --- settings ----------------------------------------------------------------------------------------------


def test_settings_choose_the_executor(monkeypatch: pytest.MonkeyPatch):
    s = Settings()
    assert (s.executor, s.ray_address, s.executor_workers) == ("local", None, 2)
    monkeypatch.setenv("ADLOOM_EXECUTOR", "ray")
    monkeypatch.setenv("ADLOOM_RAY_ADDRESS", "10.0.0.5:6379")
    monkeypatch.setenv("ADLOOM_EXECUTOR_WORKERS", "3")
    s = Settings()
    assert (s.executor, s.ray_address, s.executor_workers) == ("ray", "10.0.0.5:6379", 3)
    monkeypatch.setenv("ADLOOM_EXECUTOR", "dask")
    with pytest.raises(ValidationError, match="executor"):
        Settings()
    ex = make_executor(Settings(executor="local", executor_workers=3))
    try:
        assert isinstance(ex, LocalExecutor) and ex.capacity() == 3
    finally:
        ex.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_ray_head_fails_fast_with_the_password_masked():
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="does not answer") as info:
        RayExecutor(f"ray://admin:hunter22@127.0.0.1:{port}", connect_timeout_s=2)
    assert time.monotonic() - started < 10
    assert "hunter22" not in str(info.value) and f"127.0.0.1:{port}" in str(info.value)
    with pytest.raises(InputError, match="not HOST:PORT"):
        RayExecutor("head:notaport")


# --- Ray ---------------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]

DRIVER = """
import os, sys
from adloom.core.settings import Settings
from adloom.serving.jobs.executors import make_executor

def where(job):
    return {"id": job["id"], "pid": os.getpid()}

ex = make_executor(Settings(executor="ray", ray_address=sys.argv[1]))
result = ex.submit(where, {"id": "crv_joined"}).result(timeout=60)
print("capacity", ex.capacity(), "gpu", ex.has_gpu(), "item", result["id"], "remote", result["pid"] != os.getpid())
ex.close()
"""


def test_a_worker_joins_a_running_cluster_by_address_with_token_auth(tmp_path: Path):
    """The production path: `ray start --head` (token authentication on) and a worker process that joins
    it by HEAD:PORT, as ADLOOM_EXECUTOR=ray ADLOOM_RAY_ADDRESS=... would."""
    token = secrets.token_hex(16)
    ray_tmp = Path(tempfile.mkdtemp(prefix="rayh", dir="/tmp"))
    env = {
        **os.environ,
        "RAY_TMPDIR": str(ray_tmp),
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        "PYTHONPATH": str(REPO),  # the head's workers import this checkout's adloom, as the driver does
        "ADLOOM_HOME": str(tmp_path / "home"),
    }
    port, client_port, agent_port = _closed_port(), _closed_port(), _closed_port()
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", f"--port={port}", f"--ray-client-server-port={client_port}",
         f"--dashboard-agent-listen-port={agent_port}", "--num-cpus=1", "--num-gpus=0", "--include-dashboard=false",
         "--disable-usage-stats"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _answers("127.0.0.1", port):
            assert head.poll() is None and time.monotonic() < deadline, "ray start --head did not come up"
            time.sleep(0.2)
        run = subprocess.run(
            [sys.executable, "-c", DRIVER, f"127.0.0.1:{port}"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert "capacity 1 gpu False item crv_joined remote True" in run.stdout
        assert token not in run.stdout + run.stderr
    finally:
        head.terminate()  # `ray start --block` stops the head's processes when it is told to stop
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, 9)
            head.wait()
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _answers(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def ray_executor() -> Iterator[RayExecutor]:
    """A local Ray instance with 2 CPUs and no GPU. Its processes inherit this environment, so the
    session files go to a short temporary folder (Ray's socket paths have a length limit), the token is
    this run's own (nothing written to ~/.ray) and adloom's home is a throwaway one."""
    import ray.cloudpickle

    # Ray's workers do not have tests/ on their path: this module's item functions travel by value.
    # (render_creative, like any adloom function, travels by reference: every node has adloom installed.)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_TMPDIR", str(tmp))
        mp.setenv("RAY_AUTH_TOKEN", RAY_TEST_TOKEN)
        mp.setenv("ADLOOM_HOME", str(tmp / "home"))
        ex = RayExecutor(None, num_cpus=2, num_gpus=0)
        try:
            yield ex
        finally:
            ex.close()
            ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
            shutil.rmtree(tmp, ignore_errors=True)


def test_ray_runs_items_two_at_once(ray_executor: RayExecutor):
    assert isinstance(ray_executor, Executor) and ray_executor.name == "ray"
    assert ray_executor.capacity() == 2 and not ray_executor.has_gpu()
    assert ray_executor.submit(square, {"id": "a", "x": 5}).result(timeout=WAIT_S)["square"] == 25
    futures = [ray_executor.submit(timed_sleep, {"id": f"t{i}", "sleep_s": 1.5}) for i in range(2)]
    a, b = (f.result(timeout=WAIT_S) for f in futures)
    assert a["pid"] != b["pid"]
    assert max(a["start"], b["start"]) < min(a["end"], b["end"]), (a, b)  # the two ran at the same time


def test_ray_hands_back_the_items_own_error_and_survives_a_dead_worker(ray_executor: RayExecutor):
    err = ray_executor.submit(refuse, {"id": "r", "x": 11}).exception(timeout=WAIT_S)
    assert type(err) is InputError and "x=11 is out of range" in str(err)
    crashed = ray_executor.submit(die, {"id": "crv_doomed"}).exception(timeout=WAIT_S)
    assert isinstance(crashed, WorkerCrashedError) and "crv_doomed" in str(crashed)
    assert ray_executor.submit(square, {"id": "next", "x": 4}).result(timeout=WAIT_S)["square"] == 16


def test_a_gpu_item_on_a_cpu_only_cluster_is_refused_at_once(ray_executor: RayExecutor):
    started = time.monotonic()
    with pytest.raises(InputError, match=r"crv_gpu needs a GPU.*0 GPUs.*ray start --address") as info:
        ray_executor.submit(square, {"id": "crv_gpu", "x": 2}, gpu=True)
    assert info.value.field == "gpu" and time.monotonic() - started < 5


def test_a_real_tiny_render_through_ray_is_a_playable_mp4(ray_executor: RayExecutor, tmp_path: Path):
    import imageio_ffmpeg

    from adloom.analytics.sample_library import generate_sample_library
    from adloom.serving.render_pipeline import render_creative

    script = min((it.script for it in generate_sample_library(3, seed=7)), key=lambda s: s.duration_s)
    job = {
        "id": "crv_ray_tiny",
        "dir": str(tmp_path / "crv_ray_tiny"),
        "script": script.model_dump(mode="json"),
        "template": "ugc_captions",
        "aspect": "1:1",
        "height": 180,
        "media": [str(SAMPLES / "images" / "serum.png")],
        "music": None,
        "voice": None,
        "speed": 1.0,
        "tts": "espeak",
        "product_name": "水润保湿精华",
        "price_text": "¥129",
    }
    future: Future[dict[str, Any]] = ray_executor.submit(render_creative, job)
    result = future.result(timeout=120)
    assert result["id"] == "crv_ray_tiny" and result["quality"]["passed"], result["quality"]["reasons"]
    assert result["tts"] == ["espeak"]
    video = Path(result["video"])
    assert video.is_file() and video.suffix == ".mp4" and video.parent == tmp_path / "crv_ray_tiny"
    decoded = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr
    metrics = result["quality"]["metrics"]
    assert metrics["video_codec"] == "h264" and metrics["duration_s"] >= script.duration_s - 0.3
