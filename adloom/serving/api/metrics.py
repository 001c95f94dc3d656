"""Prometheus metrics of one API app (a registry per app, so tests can build many apps in one process).

Requests are counted and timed by method, route template (``/v1/batches/{batch_id}``, never the raw path,
so ids do not explode the label set) and status. Batches and batch items by state are read from the
database at scrape time, over every tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adloom.core.errors import StorageError
from adloom.core.storage import Store
from adloom.core.types import BatchStatus, ItemStatus

log = logging.getLogger("adloom.api")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _BatchStates(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        try:
            batches, items = self.store.batch_state_counts()
        except StorageError as exc:
            log.warning("metrics: cannot count batches: %s", exc)
            return
        b = GaugeMetricFamily("adloom_batches", "Batches by state (all tenants).", labels=["state"])
        for st in BatchStatus:
            b.add_metric([st.value], batches.get(st.value, 0))
        yield b
        i = GaugeMetricFamily("adloom_batch_items", "Batch items by state (all tenants).", labels=["state"])
        for ist in ItemStatus:
            i.add_metric([ist.value], items.get(ist.value, 0))
        yield i


class ApiMetrics:
    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "adloom_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "adloom_http_request_duration_seconds",
            "Time to answer a request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.registry.register(_BatchStates(store))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
