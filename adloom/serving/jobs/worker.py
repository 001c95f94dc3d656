"""The batch worker: writes the scripts of pending items, renders leased items, keeps their leases, ends batches.

One loop (:meth:`Worker.run_once`, repeated by :meth:`Worker.run`) does four things against the job table
(:class:`adloom.core.storage.queue.JobQueue`), for every tenant:

1. **plan** — lease a batch with pending items, write scripts for up to :data:`PLAN_CHUNK` of them (grouped by
   brief, with the tenant's own library and the batch's writer) and queue them; a brief whose scripts cannot be
   written fails its items with the reason;
2. **render** — lease as many queued items as there are free slots and hand each to the executor; an item whose
   folder already holds ``result.json`` (a previous holder finished but died before recording it) is recorded
   from that file and never rendered again;
3. **heartbeat** — a thread renews the leases of running items every ``lease_s / 3``; an item whose lease was
   lost still gets its ``result.json`` (the render writes it where it ran) but is not recorded by this worker;
4. **finalize** — batches with no open item end; each one's delivered creatives are ranked first (decisions
   stored, pruned ones marked), its ``batch.*`` webhook event is queued in the transaction that sets its end
   state, and ``on_batch_finished`` hears of it after.

A creative's files live in ``<home>/tenants/<tenant>/batches/<batch id>/<creative id>/``; the batch folder's
``renders.log`` has one line per finished render. Only the worker process writes to the database; renders run in
the executor's processes (or Ray tasks) and answer with plain dicts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adloom.core.errors import (
    AdloomError,
    BackendUnavailableError,
    ConfigError,
    GenerationError,
    InputError,
    NotFoundError,
)
from adloom.core.paths import check_upload, resolve_inside, write_atomic
from adloom.core.redact import redact
from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage.queue import JobQueue, Lease, PlanLease
from adloom.core.storage.tables import BatchItemRow, BatchRow
from adloom.core.storage.webhooks import enqueue_batch_event
from adloom.core.types import (
    AssetKind,
    Batch,
    BatchItem,
    BatchStatus,
    Brief,
    Creative,
    CreativeStatus,
    ItemStatus,
    RenderRequest,
    Script,
)
from adloom.serving.generated_shots import ShotSource, generation_job
from adloom.serving.jobs.executors import Executor, make_executor
from adloom.serving.render_pipeline import (
    RESULT_FILE,
    analyze_media,
    check_templates,
    creative_from_result,
    creative_id_for,
    creative_job,
    finished_result,
    normalise_images,
    prior_score,
    rank_batch,
    render_to_folder,
)
from adloom.serving.scripts_service import build_retriever, ensure_library, generate_scripts
from adloom.serving.tenant_files import tenant_root

if TYPE_CHECKING:
    from adloom.scripts_gen.library.retrieval import LibraryRetriever
    from adloom.scripts_gen.writer import ScriptWriter

log = logging.getLogger(__name__)

#: Pending items whose scripts one planning step writes (``generate_scripts`` writes at most 50 at once).
PLAN_CHUNK = 50
#: Shortest planning lease, seconds (renewed while a chunk is written).
PLAN_LEASE_S = 120.0
#: Calls to the writer per brief and chunk: the first, then top-ups for variants the copy reviewer dropped.
SCRIPT_TRIES = 3
#: Largest asset file a render reads.
MAX_ASSET_BYTES = 500 * 1024 * 1024

Job = dict[str, Any]
BatchFinished = Callable[[str, Batch], None]


# -- tenant folders ------------------------------------------------------------------------------------------


def tenant_dir(settings: Settings, tenant_id: str) -> Path:
    """``<home>/tenants/<tenant>/``, created on first use (the API's layout: :mod:`adloom.serving.tenant_files`)."""
    return tenant_root(settings, tenant_id)


def batch_dir(settings: Settings, tenant_id: str, batch_id: str) -> Path:
    """``<home>/tenants/<tenant>/batches/<batch id>/``, created on first use."""
    batches = tenant_dir(settings, tenant_id) / "batches"
    batches.mkdir(exist_ok=True)
    path = resolve_inside(batch_id, [batches], field="batch_id")
    if path.parent != batches.resolve():
        raise InputError(f"batch id {batch_id!r} is not a plain folder name", field="batch_id")
    path.mkdir(exist_ok=True)
    return path


def _upload_path(store: Store, upload_id: str, field_name: str) -> str:
    """Where an upload of ``store``'s tenant lies, relative to the tenant's folder."""
    try:
        return store.get_upload(upload_id)[1]
    except NotFoundError:
        raise InputError(
            f"{field_name}: there is no upload {upload_id!r}; upload the file with POST /v1/uploads and name "
            "it as 'upload:<upload id>'",
            field=field_name,
        ) from None


def resolve_tenant_assets(brief: Brief, store: Store, root: Path) -> list[Path]:
    """The brief's image and video assets as checked files inside the tenant's folder ``root``.

    An asset path is ``upload:<upload id>`` (a file the tenant uploaded) or a path inside the tenant's folder;
    anything resolving elsewhere, a missing file or content of the wrong kind is an InputError naming the asset.
    """
    paths = []
    for i, asset in enumerate(brief.assets):
        if asset.kind not in (AssetKind.image, AssetKind.video):
            continue
        field_name = f"assets[{i}].path"
        if asset.path.startswith("upload:"):
            rel = _upload_path(store, asset.path.removeprefix("upload:"), field_name)
            path = resolve_inside(rel, [root], field=field_name)
        else:
            path = resolve_inside(asset.path, [root], field=field_name)
        if not path.is_file():
            raise InputError(
                f"{field_name}: {asset.path[:80]!r} names no file on this server; upload it again", field=field_name
            )
        check_upload(path, [asset.kind.value], max_bytes=MAX_ASSET_BYTES)
        paths.append(path)
    return paths


# -- the worker ----------------------------------------------------------------------------------------------


@dataclass
class _Running:
    """An item handed to the executor: its lease, brief and job, and whether its lease was lost meanwhile."""

    lease: Lease
    brief: Brief
    job: Job
    started: float = field(default_factory=time.monotonic)
    lost: bool = False
    answered: bool = False  # the executor answered: the lease ends by our own hand now, not by losing it


class _PlanKeeper:
    """Renews a batch's planning lease while its chunk is written (an LLM may take minutes per chunk): without
    it, another worker would take the batch over mid-chunk and the two would keep undoing each other's work."""

    def __init__(self, queue: JobQueue, lease: PlanLease, lease_s: float) -> None:
        self.queue, self.lease, self.lease_s = queue, lease, lease_s
        self.renewed = time.monotonic()
        self.lost = False

    def step(self, _done: int, _total: int, _what: str) -> None:
        """The writer's progress callback: renew once a third of the lease has passed."""
        if self.lost or time.monotonic() - self.renewed < self.lease_s / 3:
            return
        self.lost = not self.queue.queue_planned(self.lease, {}, lease_s=self.lease_s)
        self.renewed = time.monotonic()


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, **extra}


def _stored_script(scoped: Store, item: BatchItem) -> Job:
    """The item's request with its stored script, or the error that fails it (the script was deleted, or is
    another brief's)."""
    script_id, brief_id = str(item.request["script_id"]), str(item.request["brief_id"])
    try:
        script = scoped.get_script(script_id)
    except NotFoundError as exc:
        return _error("script_not_found", f"script {script_id!r}: {exc}", param="script_id")
    if script.brief_id != brief_id:
        message = f"script {script_id} belongs to brief {script.brief_id}, not {brief_id}"
        return _error("script_not_of_brief", message, param="script_id")
    return {**item.request, "script": script.model_dump(mode="json")}


def _derived_seed(batch_id: str, first_seq: int, seed: int) -> int:
    """A script seed per batch, chunk and request seed: a rerun of the same chunk writes the same variants."""
    digest = hashlib.sha256(f"{batch_id}:{first_seq}:{seed}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _generation_seed(batch_id: str, seed: int) -> int:
    """The seed of a batch's generated shots: one per batch and request seed, stable across retries (a resumed
    item finds its clips under the same key); ``variant`` (the item's sequence) spreads its creatives apart."""
    return _derived_seed(batch_id, 0, seed) % 1_000_000


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker:
    """Plans, renders and finalizes batches of every tenant (see the module doc).

    ``store``: the database (any tenant's view; the worker scopes a store per tenant). ``slots``: items rendered
    at once (default: the executor's capacity). ``lease_s``: how long a lease lasts without a heartbeat, so how
    long a dead worker's items wait before another worker takes them. ``poll_s``: the idle wait between loops.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        executor: Executor,
        *,
        worker_id: str | None = None,
        slots: int | None = None,
        lease_s: float = 60,
        poll_s: float = 0.5,
        on_batch_finished: BatchFinished | None = None,
    ) -> None:
        if lease_s <= 0 or poll_s <= 0:
            raise InputError(f"lease_s={lease_s}, poll_s={poll_s}: both must be positive seconds", field="lease_s")
        self.root = store
        self.settings = settings
        self.executor = executor
        self.worker_id = worker_id or default_worker_id()
        self.slots = slots if slots is not None else executor.capacity()
        if self.slots < 1:
            raise InputError(f"slots={self.slots}: a worker renders at least 1 item at a time", field="slots")
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.on_batch_finished = on_batch_finished
        self.queue = JobQueue(store)
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()  # guards _running
        self._wake = threading.Event()  # set when an item ends, so the loop leases the next one at once
        self._cache_lock = threading.Lock()
        self._retrievers: dict[str, tuple[int, LibraryRetriever]] = {}
        self._writers: dict[str, ScriptWriter] = {}
        #: Per (tenant, batch, brief): the normalised media and their analyses, made once per batch, not per item.
        self._media: dict[tuple[str, str, str], tuple[list[str], list[dict[str, Any]]]] = {}
        #: Per (batch, shots): the checked ``generate`` part of its render jobs (reads the model folder, may ask
        #: the executor for a GPU), made once per batch.
        self._generate: dict[tuple[str, str], Job] = {}

    # -- the loop ------------------------------------------------------------------------------------------
    def run_once(self) -> bool:
        """One pass: plan a chunk if the queue runs low, lease items for free slots, end finished batches.
        Returns whether anything happened (renders started here finish in the background)."""
        did = self.plan_once()
        did = self.lease_once() or did
        return self.finalize_once() or did

    def run(self, stop: threading.Event, *, grace_s: float = 30.0) -> None:
        """Loop until ``stop`` is set; then lease nothing more, give running items ``grace_s`` to finish and
        hand back the rest (queued again, or left to their lease's expiry once out of attempts)."""
        beat_stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat_loop, args=(beat_stop,), name="adloom-heartbeat", daemon=True)
        beat.start()
        log.info(
            "worker %s: %d slots on the %s executor, leases of %gs",
            self.worker_id,
            self.slots,
            self.executor.name,
            self.lease_s,
        )
        try:
            while not stop.is_set():
                try:
                    did = self.run_once()
                except AdloomError as exc:  # a database hiccup must not end the worker: log it, try again
                    log.error("worker loop: %s", redact(str(exc), self._secrets()))
                    did = False
                if not did:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
            self._drain(grace_s)
        finally:
            beat_stop.set()
            beat.join(timeout=5)
        log.info("worker %s stopped", self.worker_id)

    def running(self) -> int:
        """Items handed to the executor and not yet recorded."""
        with self._lock:
            return len(self._running)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no item of this worker is running; False when ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._wake.wait(0.1)
            self._wake.clear()
        return True

    def open_batches(self) -> int:
        """Batches of any tenant not yet in an end state (0: there is nothing left to do anywhere)."""
        open_states = [s.value for s in BatchStatus if not s.terminal]
        with self.root.session(write=False) as s:
            return int(
                s.scalar(select(func.count()).select_from(BatchRow).where(BatchRow.status.in_(open_states))) or 0
            )

    def _drain(self, grace_s: float) -> None:
        if not self.wait_idle(grace_s):
            with self._lock:
                left = list(self._running.values())
            for run in left:
                run.lost = True  # a late answer is still written to result.json, but no longer recorded here
                if run.lease.item.attempts < self.queue.max_attempts:
                    self.queue.fail_item(
                        run.lease,
                        _error("worker_stopped", "the worker stopped before this item finished; it runs again"),
                        retry=True,
                    )
            log.warning(
                "worker %s: %d item(s) still rendering after %gs; handed back", self.worker_id, len(left), grace_s
            )

    def _secrets(self) -> list[str]:
        return [self.settings.db_url]

    # -- 1. plan -------------------------------------------------------------------------------------------
    def _backlog(self) -> int:
        with self.root.session(write=False) as s:
            n = s.scalar(
                select(func.count()).select_from(BatchItemRow).where(BatchItemRow.status == ItemStatus.queued.value)
            )
            return int(n or 0)

    def plan_once(self) -> bool:
        """Write scripts for the next chunk of pending items, unless enough items already wait to be rendered."""
        if self._backlog() >= max(2 * self.slots, PLAN_CHUNK):
            return False
        lease_s = max(self.lease_s, PLAN_LEASE_S)
        lease = self.queue.lease_plan(self.worker_id, lease_s=lease_s)
        if lease is None:
            return False
        try:
            items = self.queue.pending_items(lease.batch.id, limit=PLAN_CHUNK)
            if not items:
                return False
            planned, failed = self._plan(lease, items, _PlanKeeper(self.queue, lease, lease_s))
            if not self.queue.queue_planned(lease, planned, failed, lease_s=lease_s):
                log.warning(
                    "batch %s: another worker took over its planning; these scripts are dropped", lease.batch.id
                )
            else:
                log.info(
                    "batch %s (%s): %d item(s) scripted, %d failed",
                    lease.batch.id,
                    lease.tenant_id,
                    len(planned),
                    len(failed),
                )
            return True
        finally:
            self.queue.release_plan(lease)

    def _plan(
        self, lease: PlanLease, items: Sequence[BatchItem], keeper: _PlanKeeper
    ) -> tuple[dict[str, Job], dict[str, Job]]:
        scoped = self.root.scoped(lease.tenant_id)
        groups: dict[tuple[str, int], list[BatchItem]] = {}
        planned: dict[str, Job] = {}
        failed: dict[str, Job] = {}
        for item in items:
            if item.request.get("script_id"):  # a stored script the advertiser chose (and maybe edited)
                outcome = _stored_script(scoped, item)
                (planned if "script" in outcome else failed)[item.id] = outcome
                continue
            groups.setdefault((str(item.request["brief_id"]), int(item.request.get("seed", 0))), []).append(item)
        writer_name = lease.batch.writer or self.settings.batch_writer
        for (brief_id, seed), group in groups.items():
            try:
                brief = scoped.get_brief(brief_id)
                scripts, dropped = self._write(
                    brief,
                    len(group),
                    scoped,
                    lease.tenant_id,
                    writer_name,
                    _derived_seed(lease.batch.id, group[0].seq, seed),
                    keeper,
                )
            except NotFoundError as exc:
                error = _error("brief_not_found", f"brief {brief_id!r}: {exc}", param="brief_id")
                failed.update({it.id: error for it in group})
                continue
            except (GenerationError, InputError) as exc:
                error = _error(
                    "script_generation_failed",
                    f"no script could be written for brief {brief_id!r}: {redact(str(exc), self._secrets())}",
                    param="brief_id",
                )
                failed.update({it.id: error for it in group})
                continue
            except (BackendUnavailableError, ConfigError) as exc:
                error = _error(
                    "script_writer_unavailable",
                    f"the {writer_name} script writer is not available on this server "
                    f"({redact(str(exc), self._secrets())}); submit the batch with writer=template, or ask the "
                    "operator to fix the LLM settings",
                )
                failed.update({it.id: error for it in group})
                continue
            for item, script in zip(group, scripts, strict=False):
                planned[item.id] = {**item.request, "script": script.model_dump(mode="json")}
            for item in group[len(scripts) :]:
                failed[item.id] = _error(
                    "script_rejected",
                    f"the copy reviewer passed only {len(scripts)} of {len(group)} variants for brief {brief_id!r}: "
                    + ("; ".join(dropped) or "variants repeated each other")
                    + ". Add selling points the scripts can state, or ask for fewer creatives.",
                )
        return planned, failed

    def _write(
        self, brief: Brief, k: int, scoped: Store, tenant_id: str, writer_name: str, seed: int, keeper: _PlanKeeper
    ) -> tuple[list[Script], list[str]]:
        """``k`` scripts for ``brief`` (fewer when the reviewer keeps dropping variants), and why any were dropped."""
        retriever = self.retriever(tenant_id)
        writer = self._writer(writer_name)
        scripts: list[Script] = []
        dropped: list[str] = []
        for attempt in range(SCRIPT_TRIES):
            need = k - len(scripts)
            if need <= 0:
                break
            try:
                run = generate_scripts(
                    brief,
                    need,
                    store=scoped,
                    retriever=retriever,
                    writer=writer,
                    seed=seed + attempt,
                    progress=keeper.step,
                )
            except GenerationError:
                if not scripts and attempt == 0:
                    raise  # the brief cannot be written at all
                break
            seen = {s.id for s in scripts}
            scripts += [s for s in run.scripts if s.id not in seen][:need]
            dropped += run.dropped
        return scripts, dropped

    def retriever(self, tenant_id: str) -> LibraryRetriever:
        """The tenant's library retriever (the sample library is seeded on first use); rebuilt when the
        tenant's library changed size."""
        scoped = self.root.scoped(tenant_id)
        with self._cache_lock:
            count = ensure_library(scoped)
            cached = self._retrievers.get(tenant_id)
            if cached is not None and cached[0] == count:
                return cached[1]
            retriever = build_retriever(scoped, self.settings)
            self._retrievers[tenant_id] = (count, retriever)
            return retriever

    def _writer(self, name: str) -> ScriptWriter:
        from adloom.scripts_gen.writer import ScriptWriter

        with self._cache_lock:
            if name not in self._writers:
                backend = None
                if name == "llm":
                    from adloom.scripts_gen.llm import get_backend

                    backend = get_backend(self.settings)
                self._writers[name] = ScriptWriter(backend, attempts=self.settings.generation_attempts)
            return self._writers[name]

    # -- 2. render -----------------------------------------------------------------------------------------
    def lease_once(self) -> bool:
        """Lease queued items for the free slots and start them."""
        with self._lock:
            free = self.slots - len(self._running)
        if free <= 0:
            return False
        leases = self.queue.lease_items(self.worker_id, free, lease_s=self.lease_s)
        for lease in leases:
            self._start(lease)
        return bool(leases)

    def _start(self, lease: Lease) -> None:
        item = lease.item
        try:
            scoped = self.root.scoped(lease.tenant_id)
            request = RenderRequest.model_validate({k: v for k, v in item.request.items() if k != "script"})
            script = Script.model_validate(item.request["script"])
            brief = scoped.get_brief(request.brief_id)
            folder = batch_dir(self.settings, lease.tenant_id, item.batch_id)
            done = finished_result(folder / creative_id_for(script))
            if done is not None:
                log.info("%s %s: already rendered by an earlier worker; recording it", item.batch_id, done["id"])
                self._record(lease, brief, done, resumed=True)
                return
            templates = check_templates((request.template,) if request.template else ())
            generate = self._generation_for(item.batch_id, request.shots)
            media, footage = self._media_for(lease.tenant_id, item.batch_id, brief, scoped)
            job = creative_job(
                brief,
                script,
                folder,
                template=templates[item.seq % len(templates)],
                aspect=request.aspect or brief.aspect,
                height=request.height,
                media=media,
                footage=footage,
                variant=item.seq,
                generate=generate,
                seed=_generation_seed(item.batch_id, request.seed),
            )
        except NotFoundError as exc:
            self._fail(lease, _error("brief_not_found", str(exc), param="brief_id"), retry=False)
            return
        except InputError as exc:
            self._fail(lease, _error("invalid_input", str(exc), param=exc.field), retry=False)
            return
        except Exception as exc:  # noqa: BLE001 - one item's trouble must not stop the worker
            self._fail(lease, self._crash_error(exc), retry=True)
            return
        job["worker"] = self.worker_id
        run = _Running(lease, brief, job)
        with self._lock:
            self._running[item.id] = run
        log.info(
            "%s %s: rendering (%s, %sp, attempt %d)",
            item.batch_id,
            job["id"],
            job["template"],
            job["height"],
            item.attempts,
        )
        try:
            future = self.executor.submit(render_to_folder, job, gpu=bool(generate.get("gpu")))
        except Exception as exc:  # noqa: BLE001 - e.g. a GPU item on a CPU-only executor
            with self._lock:
                self._running.pop(item.id, None)
            retry = not isinstance(exc, InputError)
            self._fail(lease, _error("invalid_input", str(exc)) if not retry else self._crash_error(exc), retry=retry)
            return
        future.add_done_callback(lambda f: self._finished(run, f))

    def _generation_for(self, batch_id: str, shots: str) -> Job:
        """The ``generate`` part of the batch's render jobs (``{}`` for footage only), checked once per batch:
        an InputError (no video model, a real model on the CPU, CUDA with no GPU in the executor) fails the item
        as invalid input, not retried."""
        if shots == ShotSource.footage_only.value:
            return {}
        key = (batch_id, shots)
        with self._cache_lock:
            if key in self._generate:
                return self._generate[key]
        generate = generation_job(shots, self.settings, executor_has_gpu=self.executor.has_gpu)
        with self._cache_lock:
            self._generate[key] = generate
        return generate

    def _media_for(
        self, tenant_id: str, batch_id: str, brief: Brief, scoped: Store
    ) -> tuple[list[str], list[dict[str, Any]]]:
        key = (tenant_id, batch_id, brief.id)
        with self._cache_lock:
            if key in self._media:
                return self._media[key]
        folder = batch_dir(self.settings, tenant_id, batch_id)
        paths = resolve_tenant_assets(brief, scoped, tenant_dir(self.settings, tenant_id))
        media = [str(p) for p in normalise_images(paths, folder / "assets")]
        found = analyze_media(
            brief, media, self.settings.home / "cache" / "assets", max_hours=self.settings.asset_max_hours
        )
        media, footage = found.media, found.footage  # an asset analysis could not use is never shown
        with self._cache_lock:
            self._media[key] = (media, footage)
        return media, footage

    def _finished(self, run: _Running, future: Future[Job]) -> None:
        """The executor's answer for one item (runs on the executor's thread)."""
        item = run.lease.item
        with self._lock:
            run.answered = True
        try:
            try:
                result = future.result()
            except InputError as exc:
                self._fail(run.lease, _error("invalid_input", str(exc), param=exc.field), retry=False, run=run)
            except BaseException as exc:  # noqa: BLE001 - a render error, a dead or interrupted process: again
                self._fail(run.lease, self._crash_error(exc), retry=True, run=run)
            else:
                folder = Path(run.job["dir"])
                if finished_result(folder) is None:  # an executor that ran render_creative itself
                    write_atomic(folder / RESULT_FILE, json.dumps(result, ensure_ascii=False, default=str) + "\n")
                if run.lost:
                    log.warning(
                        "%s %s: finished, but its lease went to another worker; not recorded here",
                        item.batch_id,
                        run.job["id"],
                    )
                else:
                    self._record(run.lease, run.brief, result, resumed=False)
        except Exception:  # noqa: BLE001 - an exception in a future's callback would vanish silently
            log.exception("%s %s: recording the finished item failed", item.batch_id, run.job["id"])
        finally:
            with self._lock:
                self._running.pop(item.id, None)
            self._wake.set()

    def _record(self, lease: Lease, brief: Brief, result: Job, *, resumed: bool) -> None:
        """Store the creative a render made and end its item: succeeded, or failed by the quality gate."""
        item = lease.item
        scoped = self.root.scoped(lease.tenant_id)
        script = Script.model_validate(result["script"])
        creative = creative_from_result(brief, result, {"prior": prior_score(script, self.retriever(lease.tenant_id))})
        scoped.save_creatives([creative])
        if creative.status == CreativeStatus.rendered:
            ok = self.queue.complete_item(lease, _summary(creative, result, resumed), creative_id=creative.id)
            outcome = f"done in {result.get('elapsed_s', 0)}s" + (" (recorded from result.json)" if resumed else "")
        else:
            error = _error(
                "quality_gate",
                f"creative {creative.id} failed the quality gate: " + "; ".join(creative.reasons),
                reasons=creative.reasons,
                creative_id=creative.id,
            )
            ok = self.queue.fail_item(lease, error, retry=False)
            outcome = "failed the quality gate: " + "; ".join(creative.reasons)[:200]
        if ok:
            log.info("%s %s: %s", item.batch_id, creative.id, outcome)
        else:
            log.warning(
                "%s %s: %s, but its lease was lost; another worker records it", item.batch_id, creative.id, outcome
            )

    def _crash_error(self, exc: BaseException) -> Job:
        return _error("render_failed", f"{type(exc).__name__}: {redact(str(exc), self._secrets())}"[:2000])

    def _fail(self, lease: Lease, error: Job, *, retry: bool, run: _Running | None = None) -> None:
        if run is not None and run.lost:
            return
        item = lease.item
        again = retry and item.attempts < self.queue.max_attempts
        if again:
            error = {**error, "message": error["message"] + f" (attempt {item.attempts}; it will be tried again)"}
        self.queue.fail_item(lease, error, retry=retry)
        log.warning("%s %s: %s: %s", item.batch_id, item.custom_id, error["code"], error["message"][:300])

    # -- 3. heartbeat --------------------------------------------------------------------------------------
    def heartbeat_once(self) -> int:
        """Renew the leases of running items; marks the ones another worker took over. Returns how many held."""
        with self._lock:
            runs = [r for r in self._running.values() if not (r.lost or r.answered)]
        if not runs:
            return 0
        held = self.queue.heartbeat([r.lease for r in runs], lease_s=self.lease_s)
        if held < len(runs):
            for run in runs:
                if not self.queue.heartbeat([run.lease], lease_s=self.lease_s):
                    with self._lock:
                        if run.answered:  # it ended meanwhile (recorded by us): not a lost lease
                            continue
                        run.lost = True
                    log.warning(
                        "%s %s: lease lost (expired and taken over); its result will not be recorded here",
                        run.lease.item.batch_id,
                        run.job["id"],
                    )
        return held

    def _heartbeat_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.lease_s / 3):
            try:
                self.heartbeat_once()
            except Exception as exc:  # noqa: BLE001 - keep beating: a missed beat only shortens the lease
                log.error("heartbeat: %s", redact(str(exc), self._secrets()))

    # -- 4. finalize ---------------------------------------------------------------------------------------
    def finalize_once(self) -> bool:
        """End finished batches: each one's delivered creatives are ranked first, its ``batch.*`` webhook event
        is queued in the transaction that sets its end state, and ``on_batch_finished`` hears of it after."""
        ended = self.queue.finalize(before_end=self._before_end, on_end=self._on_end)
        for tenant_id, batch in ended:
            counts = batch.request_counts
            log.info(
                "batch %s (%s) %s: %d/%d succeeded, %d failed",
                batch.id,
                tenant_id,
                batch.status.value,
                counts.completed,
                counts.total,
                counts.failed,
            )
            if self.on_batch_finished is not None:
                try:
                    self.on_batch_finished(tenant_id, batch)
                except Exception:  # noqa: BLE001 - a listener's failure must not stop the worker
                    log.exception("batch %s: the batch-finished listener failed", batch.id)
            with self._cache_lock:
                for key in [k for k in self._media if k[1] == batch.id]:
                    del self._media[key]
        return bool(ended)

    def _before_end(self, tenant_id: str, batch: Batch) -> None:
        try:
            self.rank(tenant_id, batch)
        except Exception:  # noqa: BLE001 - ranking is advice: the batch's creatives are delivered either way
            log.exception("batch %s: ranking its creatives failed; it ends unranked", batch.id)

    def _on_end(self, session: Session, tenant_id: str, batch: Batch) -> None:
        enqueue_batch_event(self.root, tenant_id, batch, session=session)

    def rank(self, tenant_id: str, batch: Batch) -> None:
        """Rank a batch's delivered creatives per brief (decisions stored, pruned ones marked) and write
        ``ranking.json`` into the batch folder."""
        scoped = self.root.scoped(tenant_id)
        ids = [r["creative_id"] for r in JobQueue(scoped).iter_results(batch.id) if r["creative_id"]]
        if not ids:
            return
        by_brief: dict[str, list[Creative]] = {}
        for cid in ids:
            creative = scoped.get_creative(cid)
            by_brief.setdefault(creative.brief_id or "", []).append(creative)
        retriever = self.retriever(tenant_id)
        report: dict[str, Any] = {}
        for brief_id, creatives in by_brief.items():
            brief = scoped.get_brief(brief_id)
            ranking = rank_batch(brief, {c.id: c.script for c in creatives}, scoped, retriever, batch_id=batch.id)
            updated = []
            for c in creatives:
                d = ranking.decisions.get(c.id)
                kept = [r for r in c.reasons if not r.startswith(("launch:", "explore:", "prune:"))]
                updated.append(
                    c.model_copy(
                        update={
                            "status": CreativeStatus.pruned if d and d.action == "prune" else c.status,
                            "scores": ranking.scores.get(c.id, c.scores),
                            "reasons": kept + ([d.reason] if d else []),
                        }
                    )
                )
            scoped.save_creatives(updated)
            report[brief_id] = {
                "method": ranking.method,
                "model_version": ranking.model_version,
                "note": ranking.note,
                "decisions": {cid: {"action": d.action, "reason": d.reason} for cid, d in ranking.decisions.items()},
                "scores": ranking.scores,
            }
        folder = batch_dir(self.settings, tenant_id, batch.id)
        write_atomic(folder / "ranking.json", json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")


def _summary(creative: Creative, result: Job, resumed: bool) -> Job:
    """The ``response`` of an item in the results file: what was made and where to fetch it (API routes, not
    server paths), the gate's measurements and how long it took."""
    quality = result.get("quality") or {}
    metrics = {k: v for k, v in (quality.get("metrics") or {}).items() if isinstance(v, int | float | str)}
    base = f"/v1/creatives/{creative.id}"
    return {
        "creative_id": creative.id,
        "script_id": creative.script.id,
        "status": creative.status.value,
        "template": result.get("template"),
        "duration_s": creative.script.duration_s,
        "urls": {
            "video": f"{base}/video",
            "cover": f"{base}/cover",
            "subtitles": f"{base}/subtitles",
            "manifest": f"{base}/manifest",
        },
        "quality": {"passed": bool(quality.get("passed")), "metrics": metrics},
        "scores": creative.scores,
        "tts": result.get("tts"),
        "elapsed_s": result.get("elapsed_s"),
        "resumed": resumed,
    }


# -- the embedded worker of `adloom serve` ---------------------------------------------------------------------


@dataclass
class WorkerHandle:
    """A worker running on a thread of this process; :meth:`stop` ends it and closes its executor."""

    worker: Worker
    thread: threading.Thread
    stop_event: threading.Event
    grace_s: float = 30.0

    def stop(self, timeout: float | None = None) -> None:
        self.stop_event.set()
        self.thread.join(timeout=timeout if timeout is not None else self.grace_s + 10)
        self.worker.executor.close()


def start_in_process(
    store: Store,
    settings: Settings,
    *,
    slots: int | None = None,
    on_batch_finished: BatchFinished | None = None,
    executor: Executor | None = None,
    lease_s: float = 60,
    grace_s: float = 30.0,
) -> WorkerHandle:
    """Start a worker on a background thread (``adloom serve`` embeds one): ``slots`` render processes of the
    executor the settings choose, unless ``executor`` is given."""
    if executor is None:
        if slots is not None:
            settings = settings.model_copy(update={"executor_workers": slots})
        executor = make_executor(settings)
    worker = Worker(store, settings, executor, slots=slots, lease_s=lease_s, on_batch_finished=on_batch_finished)
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run, args=(stop,), kwargs={"grace_s": grace_s}, name="adloom-worker", daemon=True
    )
    thread.start()
    return WorkerHandle(worker, thread, stop, grace_s)
