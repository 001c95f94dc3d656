"""The batch worker end to end at a tiny size (360p, 8-second scripts, espeak voices, the template writer, real
SQLite, real renders in real child processes): batches are scripted, rendered, recorded, ranked and ended per
tenant; a brief that cannot be written and a render the quality gate rejects land in the errors file; a render
that finished before its worker died is recorded, never redone; and a worker process SIGKILLed in the middle of
a 20-item batch leaves every item to a second worker with nothing lost and nothing rendered twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from adloom.core.settings import Settings, get_settings
from adloom.core.storage import Store, open_store
from adloom.core.storage.queue import JobQueue, Lease
from adloom.core.storage.tables import BatchItemRow, UploadRow
from adloom.core.storage.webhooks import create_endpoint, list_deliveries
from adloom.core.types import (
    AssetKind,
    Batch,
    BatchStatus,
    Brief,
    CreativeStatus,
    ItemStatus,
    RenderRequest,
    Script,
    utcnow,
)
from adloom.creative.compose.media import ffmpeg_exe
from adloom.creative.quality.probe import probe
from adloom.serving.jobs.executors import LocalExecutor
from adloom.serving.jobs.worker import Worker, _PlanKeeper, batch_dir, start_in_process, tenant_dir
from adloom.serving.render_pipeline import RENDERS_LOG, creative_id_for, creative_job, render_to_folder
from tests.ray_token import RAY_TEST_TOKEN

REPO = Path(__file__).resolve().parents[2]
WORKER = [sys.executable, "-m", "adloom.serving.cli", "worker", "--slots", "2", "--poll-s", "0.2"]
SAMPLES = REPO / "adloom" / "serving" / "samples"


def _settings(monkeypatch: pytest.MonkeyPatch, database_url: str | None) -> tuple[Settings, Store]:
    """Fast real parts: the hashing embedder, espeak voices, the template writer; the database at
    ``database_url`` (default: a SQLite file under the test's own ADLOOM_HOME). Child processes inherit all of it."""
    monkeypatch.setenv("ADLOOM_EMBEDDER", "hashing")
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "espeak")
    monkeypatch.setenv("ADLOOM_BATCH_WRITER", "template")
    if database_url is not None:
        monkeypatch.setenv("ADLOOM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    settings = get_settings()
    return settings, open_store(settings.db_url)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, real_models: Path, db_url: str) -> tuple[Settings, Store]:
    """Settings and store of a test that runs on SQLite and on PostgreSQL."""
    return _settings(monkeypatch, db_url)


@pytest.fixture
def sqlite_env(monkeypatch: pytest.MonkeyPatch, real_models: Path) -> tuple[Settings, Store]:
    """Settings and store of a test that runs on SQLite only (the worker processes and Ray tests: the job
    table's PostgreSQL paths are the ones the in-process tests already run there)."""
    return _settings(monkeypatch, None)


def _upload(settings: Settings, store: Store, image: Path) -> str:
    """What POST /v1/uploads leaves behind: the file in the tenant's uploads folder and its row."""
    upload_id = f"upl_{uuid.uuid4().hex[:12]}"
    folder = tenant_dir(settings, store.tenant_id) / "uploads"
    folder.mkdir(exist_ok=True)
    shutil.copy(image, folder / f"{upload_id}.png")
    with store.session() as s:
        s.add(
            UploadRow(
                id=upload_id,
                tenant_id=store.tenant_id,
                kind="image",
                filename=image.name,
                path=f"uploads/{upload_id}.png",
                sha256="0" * 64,
                size=image.stat().st_size,
                created_at=utcnow(),
            )
        )
    return f"upload:{upload_id}"


def _brief(settings: Settings, store: Store, *, image: Path | None = None, duration_s: float = 8, **extra) -> Brief:
    data = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text())
    data.pop("id")
    asset = _upload(settings, store, image or SAMPLES / "images" / "robot_vacuum.png")
    data.update(duration_s=duration_s, assets=[{"kind": "image", "path": asset}], **extra)
    brief = Brief.model_validate(data)
    store.save_brief(brief)
    return brief


def _worker(settings: Settings, store: Store, executor: LocalExecutor, **kw) -> Worker:
    return Worker(store, settings, executor, lease_s=kw.pop("lease_s", 30), poll_s=0.1, **kw)


def _wait_ended(q: JobQueue, batch_id: str, timeout: float = 120) -> Batch:
    deadline = time.monotonic() + timeout
    while not (batch := q.get_batch(batch_id)).status.terminal:
        assert time.monotonic() < deadline, f"batch still {batch.status} after {timeout}s"
        time.sleep(0.2)
    return batch


def _run_until_ended(worker: Worker, q: JobQueue, batch_id: str, timeout: float = 120) -> Batch:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"grace_s": 5})
    thread.start()
    try:
        return _wait_ended(q, batch_id, timeout)
    finally:
        stop.set()
        thread.join(timeout=30)


def _render_log(folder: Path) -> Counter[str]:
    lines = (folder / RENDERS_LOG).read_text().splitlines() if (folder / RENDERS_LOG).is_file() else []
    return Counter(json.loads(line)["creative_id"] for line in lines)


def test_an_n_creative_batch_is_scripted_rendered_ranked_and_reported_for_its_tenant(env):
    settings, root = env
    acme = root.scoped("acme")
    brief = _brief(settings, acme)
    endpoint, _ = create_endpoint(acme, "http://127.0.0.1:9/hook", ["batch.completed"])
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=brief.id, n=3, defaults={"height": 360})
    heard: list[tuple[str, str, BatchStatus]] = []
    handle = start_in_process(root, settings, slots=2, on_batch_finished=lambda t, b: heard.append((t, b.id, b.status)))
    try:
        ended = _wait_ended(q, batch.id)
    finally:
        handle.stop()
    assert not handle.thread.is_alive()

    assert ended.status == BatchStatus.completed, list(q.iter_errors(batch.id))
    assert ended.request_counts.model_dump() == {"total": 3, "completed": 3, "failed": 0}
    assert heard == [("acme", batch.id, BatchStatus.completed)]
    (delivery,) = list_deliveries(acme, endpoint.id).data  # queued with the end state, for the dispatcher
    assert delivery.event_type == "batch.completed" and delivery.payload["data"] == {"id": batch.id}

    folder = batch_dir(settings, "acme", batch.id)
    creatives = acme.creatives_for_brief(brief.id)
    assert len(creatives) == 3 and root.creatives_for_brief(brief.id) == []  # the tenant's, invisible to others
    templates = set()
    for c in creatives:
        assert c.status in (CreativeStatus.rendered, CreativeStatus.pruned), c.reasons
        video = Path(c.video_path)
        assert video.parent == folder / c.id and Path(c.cover_path).is_file() and Path(c.subtitles_path).is_file()
        facts = probe(video)  # playable: our own decoder reads an h264 stream of the script's length
        (stream,) = [s for s in facts["streams"] if s["type"] == "video"]
        assert stream["codec"] == "h264" and (stream["width"], stream["height"]) == (360, 640)
        assert abs(facts["duration_s"] - c.script.duration_s) < 0.5
        assert "prior" in c.scores and any(r.startswith("launch:") for r in c.reasons)  # ranked at the end
        templates.add(json.loads(Path(c.manifest_path).read_text())["template"])
    assert len(templates) == 3  # the templates rotate through the batch

    results = list(q.iter_results(batch.id))
    assert [r["custom_id"] for r in results] == ["creative-1", "creative-2", "creative-3"]
    assert {r["creative_id"] for r in results} == {c.id for c in creatives}
    for r in results:
        response = r["response"]
        assert response["quality"]["passed"] and response["urls"]["video"] == f"/v1/creatives/{r['creative_id']}/video"
        assert str(settings.home) not in json.dumps(response)  # no server paths in what the client reads
    assert list(q.iter_errors(batch.id)) == []
    assert _render_log(folder) == Counter({c.id: 1 for c in creatives})
    ranking = json.loads((folder / "ranking.json").read_text())
    assert set(ranking[brief.id]["decisions"]) == {c.id for c in creatives}
    assert len(acme.scripts_for_brief(brief.id)) >= 3 and root.scripts_for_brief(brief.id) == []


def test_a_brief_that_cannot_be_written_fails_its_items_with_the_reason(env):
    settings, root = env
    acme = root.scoped("acme")
    brief = _brief(settings, acme, duration_s=5)  # three shots cannot be said in five seconds
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=brief.id, n=2, defaults={"height": 360})
    once = subprocess.run(WORKER + ["--once"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert once.returncode == 0, once.stderr[-3000:]
    assert "2 failed" in once.stderr and "failed: 0/2 succeeded" in " ".join(once.stderr.split())
    ended = q.get_batch(batch.id)  # the scripts failed, then the batch ended in the same pass: nothing rendered
    assert ended.status == BatchStatus.failed and ended.request_counts.failed == 2
    errors = list(q.iter_errors(batch.id))
    assert [e["custom_id"] for e in errors] == ["creative-1", "creative-2"]
    for e in errors:
        assert e["error"]["code"] == "script_generation_failed" and e["error"]["param"] == "brief_id"
        assert brief.id in e["error"]["message"] and "passed the copy review" in e["error"]["message"]
    assert not (batch_dir(settings, "acme", batch.id) / RENDERS_LOG).exists()


def test_a_quality_gate_failure_and_a_bad_asset_land_in_the_errors_file(env, tmp_path: Path):
    settings, root = env
    acme = root.scoped("acme")
    good = _brief(settings, acme)
    # a clip that moves for 1 s and then hangs on its last frame for 9 s (a phone recording that froze): one
    # scene that moves on average, so a shot plays it and the gate sees the frozen stretch. (A clip that never
    # moves is shown as a still with a camera move, a flat one as the designed backdrop: both pass.)
    grey = tmp_path / "frozen.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=360x640:d=1,tpad=stop_mode=clone:stop_duration=9",
            "-pix_fmt",
            "yuv420p",
            str(grey),
        ],
        check=True,
    )
    blank = _brief(settings, acme, image=grey)
    blank.assets[0].kind = AssetKind.video
    acme.save_brief(blank)
    escape = Brief.model_validate(
        {**good.model_dump(exclude={"id"}), "assets": [{"kind": "image", "path": "../../../../etc/passwd"}]}
    )
    acme.save_brief(escape)
    lines = [
        RenderRequest(custom_id="good", brief_id=good.id, height=360, template="product_showcase"),
        RenderRequest(custom_id="blank", brief_id=blank.id, height=360, template="product_showcase"),
        RenderRequest(custom_id="escape", brief_id=escape.id, height=360),
    ]
    q = JobQueue(acme)
    batch = q.create_batch(requests=lines)
    executor = LocalExecutor(2)
    try:
        ended = _run_until_ended(_worker(settings, root, executor), q, batch.id)
    finally:
        executor.close()
    assert ended.status == BatchStatus.partially_succeeded
    assert ended.request_counts.model_dump() == {"total": 3, "completed": 1, "failed": 2}
    assert [r["custom_id"] for r in q.iter_results(batch.id)] == ["good"]
    errors = {e["custom_id"]: e["error"] for e in q.iter_errors(batch.id)}
    assert errors["blank"]["code"] == "quality_gate"
    assert any("frozen picture" in r for r in errors["blank"]["reasons"]), errors["blank"]
    rejected = acme.get_creative(errors["blank"]["creative_id"])
    assert rejected.status == CreativeStatus.rejected and rejected.reasons == errors["blank"]["reasons"]
    assert errors["escape"]["code"] == "invalid_input" and errors["escape"]["param"] == "assets[0].path"
    assert "outside the allowed folders" in errors["escape"]["message"]


def _plan_and_lease(settings: Settings, root: Store, worker_id: str) -> Lease:
    """Write the scripts of the queue's pending items (a worker that renders nothing), then lease one item as
    ``worker_id``."""
    executor = LocalExecutor(1)
    try:
        assert Worker(root, settings, executor, slots=1).plan_once()
    finally:
        executor.close()
    (lease,) = JobQueue(root).lease_items(worker_id, 1, lease_s=30)
    return lease


def _expire(store: Store, item_id: str) -> None:
    with store.session() as s:
        s.execute(
            update(BatchItemRow)
            .where(BatchItemRow.id == item_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def test_a_render_that_finished_before_its_worker_died_is_recorded_not_redone(env):
    settings, root = env
    acme = root.scoped("acme")
    brief = _brief(settings, acme)
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=brief.id, n=1, defaults={"height": 360})
    lease = _plan_and_lease(settings, root, "dead-worker")
    script = Script.model_validate(lease.item.request["script"])
    folder = batch_dir(settings, "acme", batch.id)
    media = [str(SAMPLES / "images" / "robot_vacuum.png")]
    job = creative_job(brief, script, folder, template="testimonial", aspect=brief.aspect, height=360, media=media)
    render_to_folder(job)  # the dead worker's render finished and wrote result.json; the worker never recorded it
    _expire(root, lease.item.id)
    executor = LocalExecutor(1)
    try:
        ended = _run_until_ended(_worker(settings, root, executor), q, batch.id)
    finally:
        executor.close()
    assert ended.status == BatchStatus.completed
    (result,) = q.iter_results(batch.id)
    assert result["creative_id"] == creative_id_for(script) and result["response"]["resumed"] is True
    assert _render_log(folder) == Counter({creative_id_for(script): 1})  # rendered once, by the dead worker
    assert acme.get_creative(creative_id_for(script)).status == CreativeStatus.rendered


def test_a_lost_lease_is_noticed_and_its_result_left_to_the_new_holder(env):
    settings, root = env
    acme = root.scoped("acme")
    brief = _brief(settings, acme)
    batch = JobQueue(acme).create_batch(brief_id=brief.id, n=1, defaults={"height": 360})
    q = JobQueue(root)
    executor = LocalExecutor(1)
    try:
        slow = _worker(settings, root, executor, slots=1)
        assert slow.plan_once() and slow.lease_once() and slow.running() == 1
        (item,) = JobQueue(acme).list_items(batch.id).data
        _expire(root, item.id)
        (stolen,) = q.lease_items("thief", 1, lease_s=300)  # another worker takes the item over
        assert stolen.item.id == item.id and stolen.item.attempts == 2
        assert slow.heartbeat_once() == 0  # the slow worker notices
        assert slow.wait_idle(120)
    finally:
        executor.close()
    now = JobQueue(acme).list_items(batch.id).data[0]
    assert now.status == ItemStatus.running and now.lease_owner == stolen.token  # not recorded by the slow worker
    folder = batch_dir(settings, "acme", batch.id)
    assert (folder / creative_id_for(Script.model_validate(now.request["script"])) / "result.json").is_file()
    assert acme.creatives_for_brief(brief.id) == []


def test_a_worker_killed_mid_batch_leaves_nothing_lost_and_nothing_rendered_twice(sqlite_env, tmp_path: Path):
    """The acceptance test of issue 12: SIGKILL `adloom worker` (its whole process group) while it renders a
    20-item batch; a second worker takes over the items whose leases expire, and the batch completes with
    exactly 20 creatives, each rendered once."""
    settings, root = sqlite_env
    acme = root.scoped("acme")
    brief = _brief(settings, acme)
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=brief.id, n=20, defaults={"height": 360, "aspect": "1:1"})
    folder = batch_dir(settings, "acme", batch.id)
    cmd = [*WORKER, "--lease-s", "4"]
    started = time.monotonic()
    log = tmp_path / "first-worker.log"
    with log.open("w") as err:
        first = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stderr=err)
    try:
        deadline = time.monotonic() + 180
        while True:
            done = list(folder.glob("crv_*/result.json"))
            begun = list(folder.glob("crv_*"))
            if len(done) >= 3 and len(begun) > len(done):  # some finished, some mid-render
                break
            assert first.poll() is None, f"the worker exited before it could be killed: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"only {len(done)} renders finished in 180s"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    killed_at = time.monotonic() - started
    finished_before = {p.parent.name: p.stat().st_mtime_ns for p in folder.glob("crv_*/result.json")}
    assert 3 <= len(finished_before) < 20
    assert not q.get_batch(batch.id).status.terminal

    second = subprocess.run([*cmd, "--until-done"], cwd=REPO, timeout=300, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    wall = time.monotonic() - started

    ended = q.get_batch(batch.id)
    assert ended.status == BatchStatus.completed, list(q.iter_errors(batch.id))
    assert ended.request_counts.model_dump() == {"total": 20, "completed": 20, "failed": 0}
    creatives = {c.id for c in acme.creatives_for_brief(brief.id)}
    results = list(q.iter_results(batch.id))
    assert len(creatives) == 20 and {r["creative_id"] for r in results} == creatives
    assert {p.parent.name for p in folder.glob("crv_*/result.json")} == creatives
    for name, mtime in finished_before.items():  # what the killed worker finished was not redone
        assert (folder / name / "result.json").stat().st_mtime_ns == mtime
    renders = _render_log(folder)
    assert set(renders) == creatives and set(renders.values()) == {1}, renders.most_common(3)
    resumed = [r for r in results if r["response"]["resumed"]]
    print(
        f"killed after {killed_at:.1f}s with {len(finished_before)} finished; batch done after {wall:.1f}s; "
        f"{len(resumed)} recorded from result.json"
    )


def test_sigterm_lets_running_items_finish_and_leaves_the_rest_queued(sqlite_env, tmp_path: Path):
    settings, root = sqlite_env
    acme = root.scoped("acme")
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=_brief(settings, acme).id, n=8, defaults={"height": 360, "aspect": "1:1"})
    folder = batch_dir(settings, "acme", batch.id)
    log = tmp_path / "worker.log"
    with log.open("w") as err:
        proc = subprocess.Popen([*WORKER, "--grace-s", "60"], cwd=REPO, start_new_session=True, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while not list(folder.glob("crv_*")):  # a render has begun
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)  # what a service manager sends the worker process
        assert proc.wait(timeout=90) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    items = q.list_items(batch.id, limit=100).data
    states = Counter(i.status for i in items)
    assert set(states) <= {ItemStatus.succeeded, ItemStatus.queued}, states  # nothing left holding a lease
    assert 1 <= states[ItemStatus.succeeded] < 8  # what was rendering finished; nothing new was started
    assert {p.parent.name for p in folder.glob("crv_*/result.json")} == {
        i.creative_id for i in items if i.status == ItemStatus.succeeded
    }
    assert "SIGTERM" in log.read_text()


def test_a_batch_renders_through_ray_tasks_with_the_same_records(sqlite_env, monkeypatch: pytest.MonkeyPatch):
    """The Ray executor (a local instance, 2 CPUs): each item a Ray task that writes its own result.json and
    renders.log line; the worker records them exactly as with local processes."""
    from adloom.serving.jobs.executors import RayExecutor

    settings, root = sqlite_env
    acme = root.scoped("acme")
    brief = _brief(settings, acme)
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=brief.id, n=2, defaults={"height": 360, "aspect": "1:1"})
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must stay short
    monkeypatch.setenv("RAY_TMPDIR", str(ray_tmp))
    monkeypatch.setenv("RAY_AUTH_TOKEN", RAY_TEST_TOKEN)
    executor = RayExecutor(None, num_cpus=2, num_gpus=0)  # its processes inherit this test's environment
    try:
        assert executor.capacity() == 2
        ended = _run_until_ended(_worker(settings, root, executor), q, batch.id)
    finally:
        executor.close()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert ended.status == BatchStatus.completed, list(q.iter_errors(batch.id))
    folder = batch_dir(settings, "acme", batch.id)
    creatives = {c.id for c in acme.creatives_for_brief(brief.id)}
    assert len(creatives) == 2 and _render_log(folder) == Counter(dict.fromkeys(creatives, 1))
    pids = {json.loads(line)["pid"] for line in (folder / RENDERS_LOG).read_text().splitlines()}
    assert os.getpid() not in pids  # rendered in Ray's worker processes


def test_a_long_planning_step_keeps_its_batch_until_another_worker_takes_it(env):
    """The writer's progress renews the planning lease (an LLM chunk can outlast it); once lost, it stays lost."""
    settings, root = env
    acme = root.scoped("acme")
    JobQueue(acme).create_batch(brief_id=_brief(settings, acme).id, n=2)
    q = JobQueue(root)
    lease = q.lease_plan("slow-planner", lease_s=2)
    keeper = _PlanKeeper(q, lease, 2)
    keeper.step(0, 2, "writing")  # too soon to renew
    time.sleep(1)
    keeper.step(1, 2, "writing")  # past a third of the lease: renewed for another 2 s
    time.sleep(1.5)  # the first lease ran out half a second ago
    assert q.lease_plan("other", lease_s=30) is None and not keeper.lost
    time.sleep(2)  # no progress for longer than the lease: another worker takes the batch
    assert q.lease_plan("other", lease_s=30) is not None
    keeper.step(2, 2, "writing")
    assert keeper.lost and not q.queue_planned(lease, {})
