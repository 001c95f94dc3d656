"""Executors: where a worker's leased render items actually run.

A worker leases an item from the job table and hands it to an executor,
which runs ``fn(job)`` (normally :func:`adloom.serving.render_pipeline.render_creative`)
somewhere else and answers with a :class:`concurrent.futures.Future`. Two kinds:

- :class:`LocalExecutor` — worker processes on this machine (spawned, never
  forked from a parent holding model threads). A process that dies (SIGKILL,
  the out-of-memory killer, a crash in native code) fails only its own item
  with :class:`~adloom.core.errors.WorkerCrashedError`; its slot gets a fresh
  process and the executor runs on.
- :class:`RayExecutor` — each item a Ray task on a cluster (or a Ray instance
  started here), so GPU items go only to nodes that have a GPU.

Neither retries: a failed item's future fails once, and whether it runs again
is the job table's lease/attempt logic. ``fn`` and ``job`` cross a process
(and, with Ray, a machine) boundary: ``fn`` must be a module-level function
(pickled by reference, so every node needs adloom installed the same way) and
``job`` plain JSON-able data; paths in it must mean the same on every node.

An item that can never run here (``gpu=True`` without a GPU) is refused by
``submit`` with an :class:`~adloom.core.errors.InputError` rather than left
waiting forever on a lease: :meth:`Executor.has_gpu` lets a worker check first.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from adloom.core.errors import BackendUnavailableError, ConfigError, InputError, WorkerCrashedError
from adloom.core.redact import mask_url, redact

if TYPE_CHECKING:
    from adloom.core.settings import Settings

log = logging.getLogger(__name__)

Job = dict[str, Any]
ItemFn = Callable[[Job], Job]

#: ``ray_address`` values that mean "start a Ray instance on this machine" rather than join a cluster.
LOCAL_RAY = frozenset({"", "local"})


@runtime_checkable
class Executor(Protocol):
    """Runs one item at a time per slot; ``capacity()`` slots run at once."""

    name: str

    def submit(self, fn: ItemFn, job: Job, *, gpu: bool = False) -> Future[Job]:
        """Start ``fn(job)`` elsewhere; the future holds its result or the exception it raised.

        Raises :class:`InputError` at once when this executor can never run the item (``gpu=True``
        and no GPU), so a worker does not wait on an item that would never start."""
        ...

    def capacity(self) -> int:
        """How many items may run at once (a worker leases no more than this)."""
        ...

    def has_gpu(self) -> bool:
        """Whether ``gpu=True`` items can run here."""
        ...

    def close(self) -> None:
        """Drop items not yet started, wait for running ones, release the processes or the cluster."""
        ...


def _item_name(job: Job) -> str:
    return str(job.get("id", "<no id>"))


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "its exit status is unknown"
    if exitcode < 0:
        try:
            sig = signal.Signals(-exitcode).name
        except ValueError:
            sig = f"signal {-exitcode}"
        oom = " (often the out-of-memory killer)" if -exitcode == signal.SIGKILL else ""
        return f"it was killed by {sig}{oom}"
    return f"it exited with status {exitcode}"


class LocalExecutor:
    """``workers`` worker processes on this machine, one item at a time each.

    Each slot owns a one-process pool (spawn context), so a process that dies
    breaks only that slot: its item fails with :class:`WorkerCrashedError`,
    the slot starts a fresh process for the next item, and items running in
    the other slots are untouched (one shared pool would fail them all).
    Processes are reused between items, so models a process loaded stay loaded.

    ``gpu=True`` items need local CUDA (``torch.cuda.is_available()``, asked
    on the first GPU item, never at import) and run one at a time, since every
    slot would share the same device.
    """

    name = "local"

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise InputError(
                f"workers={workers}: the local executor needs at least 1 (set ADLOOM_EXECUTOR_WORKERS)",
                field="executor_workers",
            )
        self._workers = workers
        self._slots = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="adloom-item")
        self._slot = threading.local()
        self._pools: list[ProcessPoolExecutor] = []
        self._lock = threading.Lock()
        self._gpu_turn = threading.Semaphore(1)
        self._cuda: bool | None = None
        self._closed = False

    def capacity(self) -> int:
        return self._workers

    def has_gpu(self) -> bool:
        if self._cuda is None:
            self._cuda = local_cuda()
        return self._cuda

    def submit(self, fn: ItemFn, job: Job, *, gpu: bool = False) -> Future[Job]:
        if self._closed:
            raise ConfigError("this LocalExecutor was closed; make a new one (make_executor) to run more items")
        if gpu and not self.has_gpu():
            raise InputError(
                f"item {_item_name(job)} needs a GPU, but this machine has no CUDA device torch can use; "
                "run GPU items with the Ray executor on a cluster with a GPU node "
                "(ADLOOM_EXECUTOR=ray, ADLOOM_RAY_ADDRESS=HEAD:6379), or on a machine with CUDA",
                field="gpu",
            )
        return self._slots.submit(self._run, fn, job, gpu)

    def close(self) -> None:
        self._closed = True
        self._slots.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            pools, self._pools = self._pools, []
        for pool in pools:
            pool.shutdown(wait=True)

    # --- inside a slot's thread -----------------------------------------------------------------

    def _run(self, fn: ItemFn, job: Job, gpu: bool) -> Job:
        pool = self._slot_pool()
        with self._gpu_only_one(gpu):
            processes: list[multiprocessing.process.BaseProcess] = []
            try:
                future = pool.submit(fn, job)
                processes = list(getattr(pool, "_processes", {}).values())  # the slot's one process, for its exit
                return future.result()
            except BrokenProcessPool as exc:
                for process in processes:
                    process.join(timeout=1.0)
                exits = [p.exitcode for p in processes if p.exitcode]
                self._replace_slot_pool(pool)
                raise WorkerCrashedError(
                    f"the worker process running item {_item_name(job)} died before it answered: "
                    f"{_describe_exit(exits[0] if exits else None)}; only this item failed and the next one gets a "
                    "fresh process. If it keeps happening, give the machine more memory or lower "
                    "ADLOOM_EXECUTOR_WORKERS"
                ) from exc

    def _slot_pool(self) -> ProcessPoolExecutor:
        pool: ProcessPoolExecutor | None = getattr(self._slot, "pool", None)
        if pool is None:
            pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint
            )
            with self._lock:
                self._pools.append(pool)
            self._slot.pool = pool
        return pool

    def _replace_slot_pool(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if broken in self._pools:
                self._pools.remove(broken)
        broken.shutdown(wait=False)
        self._slot.pool = None

    @contextmanager
    def _gpu_only_one(self, gpu: bool) -> Iterator[None]:
        if not gpu:
            yield
            return
        with self._gpu_turn:
            yield


def local_cuda() -> bool:
    """Whether torch sees a CUDA device here. torch is imported only now, and its absence means no."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _check_reachable(address: str, shown: str, timeout_s: float) -> None:
    """Fail in seconds when the head's port does not answer: ``ray.init`` itself retries an unreachable
    head for minutes. ``auto`` and addresses without a port are left to Ray."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise InputError(
            f"ADLOOM_RAY_ADDRESS {mask_url(address)!r} is not HOST:PORT or ray://HOST:PORT; e.g. 10.0.0.5:6379",
            field="ray_address",
        ) from exc
    if not host or port is None:
        return
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise BackendUnavailableError(
            f"{shown} does not answer ({exc.strerror or type(exc).__name__} within {timeout_s:g} s); start the head "
            "with `ray start --head` (port 6379; 10001 for ray://), check ADLOOM_RAY_ADDRESS and the firewall"
        ) from exc


def _call_item(fn: ItemFn, job: Job) -> Job:
    """The Ray task every item runs as: ``fn`` travels as an argument, by reference, so one remote
    function serves every ``fn`` and Ray exports it once."""
    return fn(job)


class RayExecutor:
    """Each item a Ray task: ``num_cpus=cpus_per_item``, and ``num_gpus=1`` for GPU items, so those
    are scheduled only on nodes that advertise a GPU. ``max_retries=0``: a task whose process or node
    dies fails its future with :class:`WorkerCrashedError`; retrying is the job table's decision.

    ``address``: ``None``/``"local"`` starts a Ray instance on this machine with ``num_cpus`` CPUs
    and ``num_gpus`` GPUs (``None``: what Ray detects), shut down again by :meth:`close`; ``"auto"``,
    ``HEAD:6379`` or ``ray://HEAD:10001`` joins a running cluster (an unreachable head fails within
    ``connect_timeout_s``). If this process is already connected to Ray, that connection is used and
    left open on close.

    A GPU item on a cluster that advertises no GPU is refused at once (:class:`InputError`) rather
    than left pending: Ray would keep an infeasible task waiting forever, holding the item's lease.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        cpus_per_item: float = 1.0,
        *,
        num_cpus: int | None = None,
        num_gpus: int | None = None,
        connect_timeout_s: float = 5.0,
    ) -> None:
        if cpus_per_item <= 0:
            raise InputError(f"cpus_per_item={cpus_per_item}: give a positive number of CPUs", field="cpus_per_item")
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "the Ray executor needs Ray: pip install 'adloom[ray]' (on every node of the cluster), "
                "or set ADLOOM_EXECUTOR=local"
            ) from exc
        self._ray = ray
        self._cpus_per_item = cpus_per_item
        local = address is None or address.strip().lower() in LOCAL_RAY
        self._shown = "a local Ray instance" if local else f"the Ray cluster at {mask_url(str(address))}"
        self._owns = False
        if ray.is_initialized():
            log.info("Ray executor: this process is already connected to Ray; using that connection")
        else:
            if not local:
                _check_reachable(str(address), self._shown, connect_timeout_s)
            try:
                if local:
                    ray.init(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False)
                else:
                    ray.init(address=address)
            except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
                detail = redact(str(exc), [os.environ.get("RAY_AUTH_TOKEN", "")])
                raise BackendUnavailableError(
                    f"could not start or join {self._shown}: {type(exc).__name__}: {detail}; check ADLOOM_RAY_ADDRESS "
                    "(HEAD:6379 of a node started with `ray start --head`), that this machine reaches it and runs "
                    "the same Ray version, and that RAY_AUTH_TOKEN matches the cluster's (token authentication)"
                ) from exc
            self._owns = True
            log.info("Ray executor: connected to %s", self._shown)
        self._task = ray.remote(_call_item)
        self._closed = False

    def _resources(self) -> dict[str, float]:
        found: dict[str, Any] = self._ray.cluster_resources()  # type: ignore[no-untyped-call]
        return {k: float(v) for k, v in found.items()}

    def capacity(self) -> int:
        return int(self._resources().get("CPU", 0.0) // self._cpus_per_item)

    def has_gpu(self) -> bool:
        return self._resources().get("GPU", 0.0) >= 1.0

    def submit(self, fn: ItemFn, job: Job, *, gpu: bool = False) -> Future[Job]:
        if self._closed:
            raise ConfigError("this RayExecutor was closed; make a new one (make_executor) to run more items")
        if gpu and not self.has_gpu():
            cpus = self._resources().get("CPU", 0.0)
            raise InputError(
                f"item {_item_name(job)} needs a GPU, but {self._shown} has none ({cpus:g} CPUs, 0 GPUs); "
                "start Ray on a machine with CUDA and join it (`ray start --address=HEAD:6379`: Ray finds its GPUs), "
                "then resubmit",
                field="gpu",
            )
        ref = self._task.options(
            num_cpus=self._cpus_per_item,
            num_gpus=1 if gpu else 0,
            max_retries=0,
            name=f"adloom item {_item_name(job)}",
        ).remote(fn, job)
        outer: Future[Job] = Future()
        outer.set_running_or_notify_cancel()  # running as soon as Ray has it: not cancellable from here
        ref.future().add_done_callback(lambda inner: self._settle(outer, inner, job))
        return outer

    def _settle(self, outer: Future[Job], inner: Future[Any], job: Job) -> None:
        """The task's answer as the item's: the function's own exception unwrapped from Ray's wrapper,
        a dead process or node as :class:`WorkerCrashedError`."""
        try:
            self._translate(outer, inner, job)
        except BaseException as exc:  # noqa: BLE001 - a callback's error would be swallowed and the item hang
            if not outer.done():
                outer.set_exception(exc)

    def _translate(self, outer: Future[Job], inner: Future[Any], job: Job) -> None:
        exc = inner.exception()
        if exc is None:
            outer.set_result(inner.result())
            return
        errors = self._ray.exceptions
        if isinstance(exc, errors.RayTaskError) and isinstance(exc.cause, Exception):
            outer.set_exception(exc.cause)
        elif isinstance(exc, errors.WorkerCrashedError | errors.NodeDiedError | errors.OutOfMemoryError):
            crashed = WorkerCrashedError(
                f"the Ray worker running item {_item_name(job)} died before it answered "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}); only this "
                "item failed. If it keeps happening, give the nodes more memory or raise cpus_per_item"
            )
            crashed.__cause__ = exc
            outer.set_exception(crashed)
        else:
            outer.set_exception(exc)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns:
            self._ray.shutdown()


def make_executor(settings: Settings) -> Executor:
    """The executor the settings choose (``ADLOOM_EXECUTOR``): local processes or Ray."""
    if settings.executor == "ray":
        return RayExecutor(settings.ray_address, num_cpus=settings.executor_workers)
    return LocalExecutor(settings.executor_workers)


def _ignore_sigint() -> None:
    """Render processes ignore Ctrl-C: it reaches the whole process group, and the worker decides what stops
    (it lets running items finish, or hands them back)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
