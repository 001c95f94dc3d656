"""Sending the webhook outbox: signed POSTs per the Standard Webhooks spec, retried on a back-off schedule.

A :class:`WebhookDispatcher` leases due deliveries (:func:`adloom.core.storage.webhooks.lease_due`), signs each
body with the endpoint's secret (``standardwebhooks.Webhook.sign``), POSTs it with the ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` headers, and records the outcome: a 2xx answer delivers it; any
other status, a timeout or a connection error schedules the next attempt of the retry schedule (with jitter, so
a receiver coming back up is not hit by every retry at once), and the last failed attempt fails the delivery.

Redirects are never followed (a receiver that moved must be registered again: following one would send signed
events to a URL nobody registered), and answers are not read: only a short status line is kept of a failure.
Several dispatchers (threads, processes, machines) can run on one database; leases keep them from sending the
same message twice, and the ``webhook-id`` lets a receiver drop the rare repeat after a dispatcher died mid-send.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import TracebackType

import httpx
from standardwebhooks import Webhook

from adloom import __version__
from adloom.core.errors import InputError
from adloom.core.redact import mask_url, redact
from adloom.core.settings import WEBHOOK_RETRY_SCHEDULE_S, Settings
from adloom.core.storage.db import Store
from adloom.core.storage.webhooks import DeliveryLease, lease_due, mark_delivered, mark_failed
from adloom.core.types import utcnow

log = logging.getLogger(__name__)

USER_AGENT = f"adloom-webhooks/{__version__}"


class WebhookDispatcher:
    """Delivers due webhook messages of every tenant; :meth:`run_once` for one pass, :meth:`run_forever` to poll.

    ``schedule`` is the retry schedule in seconds (``schedule[0]`` must be 0: the first attempt goes at once;
    ``schedule[i]`` is the wait after failed attempt ``i``); ``jitter`` spreads each wait by ±that fraction,
    drawn from ``rng`` (seed it in tests). ``clock`` is the time for leases, signatures and the schedule.
    ``concurrency`` deliveries are sent at once, so one slow receiver does not hold up the others.
    """

    def __init__(
        self,
        store: Store,
        *,
        timeout_s: float = 10.0,
        schedule: Sequence[float] = WEBHOOK_RETRY_SCHEDULE_S,
        jitter: float = 0.2,
        batch_size: int = 32,
        concurrency: int = 8,
        lease_s: float | None = None,
        worker: str | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not schedule or schedule[0] != 0 or any(s < 0 for s in schedule):
            raise InputError(
                f"retry schedule {list(schedule)} must list seconds >= 0 starting with 0 (the first attempt is sent "
                "at once), e.g. [0, 5, 30, 120]",
                field="webhook_retry_schedule_s",
            )
        if not 0 <= jitter < 1:
            raise InputError(f"jitter={jitter}: use a fraction from 0 to below 1, e.g. 0.2", field="jitter")
        if timeout_s <= 0:
            raise InputError(f"timeout_s={timeout_s}: give the seconds a receiver has to answer", field="timeout_s")
        if batch_size < 1 or concurrency < 1:
            raise InputError(f"batch_size={batch_size}, concurrency={concurrency}: both must be at least 1")
        self.store = store
        self.timeout_s = timeout_s
        self.schedule = tuple(float(s) for s in schedule)
        self.jitter = jitter
        self.batch_size = batch_size
        self.concurrency = concurrency
        # A lease outlives the slowest send (httpx's timeout is per phase: connect, write, read) with room to spare.
        self.lease_s = lease_s if lease_s is not None else 4 * timeout_s + 30
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:webhooks"
        self._rng = rng or random.Random()
        self._clock = clock
        self._client = httpx.Client(
            timeout=timeout_s,
            follow_redirects=False,
            transport=transport,
            headers={"user-agent": USER_AGENT},
        )
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> WebhookDispatcher:
        return cls(store, timeout_s=settings.webhook_timeout_s, schedule=settings.webhook_retry_schedule_s)

    # -- the loop ---------------------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Lease the due deliveries (up to ``batch_size``), send them and record each outcome; returns how many
        were attempted."""
        leases = lease_due(self.store, self.worker, self.batch_size, self.lease_s, now=self._clock())
        if len(leases) <= 1 or self.concurrency == 1:
            for lease in leases:
                self._attempt(lease)
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhook-send")
            list(self._pool.map(self._attempt, leases))
        return len(leases)

    def run_forever(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Deliver until ``stop`` is set, polling every ``poll_s`` seconds while nothing is due. A database error
        is logged and retried on the next poll: the dispatcher outlives a database restart."""
        while not stop.is_set():
            try:
                n = self.run_once()
            except Exception as exc:  # noqa: BLE001 - a poll loop must survive; the next poll retries
                log.error("webhook dispatch pass failed, retrying in %.1f s: %s", poll_s, redact(str(exc)))
                n = 0
            if n < self.batch_size:
                stop.wait(poll_s)

    def run_in_thread(self, stop: threading.Event, poll_s: float = 1.0) -> threading.Thread:
        """:meth:`run_forever` in a daemon thread (for ``adloom serve`` and ``adloom worker``); set ``stop`` and
        join the thread to end it."""
        thread = threading.Thread(target=self.run_forever, args=(stop, poll_s), name="webhooks", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._client.close()

    def __enter__(self) -> WebhookDispatcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- one attempt ------------------------------------------------------------------------------------------
    def next_attempt_at(self, attempt: int, now: datetime) -> datetime | None:
        """When to try again after failed attempt number ``attempt`` (1-based), or None when it was the last."""
        if attempt >= len(self.schedule):
            return None
        wait = self.schedule[attempt] * self._rng.uniform(1 - self.jitter, 1 + self.jitter)
        return now + timedelta(seconds=wait)

    def _attempt(self, lease: DeliveryLease) -> None:
        try:
            ok, line = self._send(lease)
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the others; it is retried
            ok, line = False, f"could not send: {type(exc).__name__}: {redact(str(exc), [lease.secret])}"
        done = self._clock()
        shown = mask_url(lease.url)
        if ok:
            kept = mark_delivered(self.store, lease, now=done)
            log.info("webhook %s (%s) delivered to %s on attempt %d", lease.id, lease.event_type, shown, lease.attempt)
        else:
            retry_at = self.next_attempt_at(lease.attempt, done)
            kept = mark_failed(self.store, lease, line, retry_at)
            log.warning(
                "webhook %s (%s) to %s: attempt %d failed (%s); %s",
                lease.id,
                lease.event_type,
                shown,
                lease.attempt,
                line,
                f"next attempt at {retry_at.isoformat()}" if retry_at else "no attempts left: failed",
            )
        if not kept:
            log.warning("webhook %s: the lease ran out before the attempt ended; another dispatcher owns it", lease.id)

    def _send(self, lease: DeliveryLease) -> tuple[bool, str]:
        """POST one signed message; (accepted, a short status line). The answer's body is never read."""
        if not lease.secret:
            return False, "endpoint deleted before delivery"
        body = json.dumps(lease.payload, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = self._clock()
        headers = {
            "webhook-id": lease.id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": Webhook(lease.secret).sign(lease.id, timestamp, body),
            "content-type": "application/json",
        }
        try:
            with self._client.stream("POST", lease.url, content=body, headers=headers) as r:
                line = f"HTTP {r.status_code} {r.reason_phrase}".strip()
                if r.is_redirect:
                    line += " (redirects are not followed: register the URL the receiver moved to)"
                return r.is_success, line
        except httpx.TimeoutException:
            return False, f"no answer within {self.timeout_s:g} s"
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {redact(str(exc), [lease.secret])}"
