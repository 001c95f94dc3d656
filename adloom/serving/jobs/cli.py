"""`adloom worker`: render batches from the job table, without the API (scale out by starting more).

Every worker process leases work from the shared database, so any number of them, on any machines that share
the database and the data folder (``ADLOOM_HOME``), split the batches between them. SIGTERM or Ctrl-C stops
leasing, lets running items finish for ``--grace-s`` and hands the rest back.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from adloom.core.errors import InputError
from adloom.core.redact import redact

if TYPE_CHECKING:
    from adloom.serving.jobs.worker import Worker

log = logging.getLogger("adloom.worker")


class _Redacting(logging.Filter):
    """Masks URLs (database passwords, LLM keys in URLs) and known secrets in every record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(record.getMessage(), self.secrets), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def _configure_logging(secrets: list[str]) -> None:
    from rich.logging import RichHandler

    from adloom.serving.cli import err_console

    handler = RichHandler(console=err_console, show_path=False, markup=False, rich_tracebacks=False)
    handler.addFilter(_Redacting(secrets))
    logging.basicConfig(level=logging.WARNING, format="%(message)s", datefmt="[%X]", handlers=[handler], force=True)
    logging.getLogger("adloom").setLevel(logging.INFO)  # our progress lines; libraries only when they warn


def worker(
    slots: Annotated[
        int | None, typer.Option(help="Items rendered at once (default: ADLOOM_EXECUTOR_WORKERS, or Ray's CPUs).")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="local (processes here) or ray (ADLOOM_RAY_ADDRESS); default ADLOOM_EXECUTOR.")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="One pass: plan, render what can be leased now, finalize, exit.")
    ] = False,
    until_done: Annotated[
        bool, typer.Option("--until-done", help="Exit once no batch is left open (instead of waiting for more).")
    ] = False,
    lease_s: Annotated[
        float, typer.Option(help="Seconds a lease lasts without a heartbeat: how soon a dead worker's items move on.")
    ] = 60.0,
    poll_s: Annotated[float, typer.Option(help="Seconds between looks at the queue when idle.")] = 0.5,
    grace_s: Annotated[float, typer.Option(help="On SIGTERM/Ctrl-C: seconds running items get to finish.")] = 30.0,
) -> None:
    """Run a batch worker: write scripts, render, record and finalize batches from the database."""
    from adloom.core.settings import get_settings
    from adloom.serving.cli import _friendly

    @_friendly
    def go() -> None:
        from adloom.serving.jobs.executors import make_executor
        from adloom.serving.jobs.worker import Worker
        from adloom.serving.scripts_service import open_default_store

        settings = get_settings()
        if executor is not None:
            if executor not in ("local", "ray"):
                raise InputError(f"--executor {executor!r}: use local or ray", field="executor")
            settings = settings.model_copy(update={"executor": executor})
        if slots is not None:
            if slots < 1:
                raise InputError(f"--slots {slots}: a worker renders at least 1 item at a time", field="slots")
            settings = settings.model_copy(update={"executor_workers": slots})
        _configure_logging([settings.db_url])
        store = open_default_store(settings)
        runner = make_executor(settings)
        w = Worker(store, settings, runner, slots=slots, lease_s=lease_s, poll_s=poll_s)
        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            log.info("%s: finishing running items (up to %gs), leasing nothing new", name, grace_s)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            if once:
                w.run_once()
                w.wait_idle()
                w.finalize_once()
            elif until_done:
                watcher = threading.Thread(target=_stop_when_done, args=(w, stop), daemon=True)
                watcher.start()
                w.run(stop, grace_s=grace_s)
            else:
                w.run(stop, grace_s=grace_s)
        finally:
            for child in multiprocessing.active_children():  # renders still going after the grace period
                child.terminate()
            runner.close()

    go()


def _stop_when_done(w: Worker, stop: threading.Event) -> None:
    """Set ``stop`` once no batch is open anywhere and this worker runs nothing (``--until-done``)."""
    while not stop.wait(max(w.poll_s, 0.5)):
        if w.open_batches() == 0 and w.running() == 0:
            stop.set()
