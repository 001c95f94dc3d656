"""Per-tenant request rate limits: a token bucket per tenant, in this process.

A bucket holds up to ``requests_per_minute`` tokens and refills at that rate; each request takes one.
An empty bucket answers how long until the next token, which the API sends as ``Retry-After``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float
    per_minute: int


class RateLimiter:
    """Token buckets keyed by tenant id; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, tenant_id: str, per_minute: int) -> float | None:
        """Take one token for ``tenant_id``: None when the request may go ahead, else the seconds to wait."""
        now = self._clock()
        rate = per_minute / 60.0
        with self._lock:
            b = self._buckets.get(tenant_id)
            if b is None or b.per_minute != per_minute:  # first request, or the tenant's quota changed
                b = self._buckets[tenant_id] = _Bucket(float(per_minute), now, per_minute)
            b.tokens = min(float(per_minute), b.tokens + (now - b.updated) * rate)
            b.updated = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return None
            return (1.0 - b.tokens) / rate
