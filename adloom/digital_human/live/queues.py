"""Bounded queues with a stated drop policy, and the counters that make every drop visible.

A 24/7 room must not grow without bound when something downstream stalls or a comment
flood arrives, and must not hide what it threw away. Every queue here has a maximum
length fixed at construction and one of these policies:

- ``block``: the producer waits (used where dropping would break the timeline, e.g. the
  encoder's input: the clock then runs late and repeats frames instead);
- ``drop_newest``: the incoming item is refused (outputs' byte queues: a stalled sink
  loses the newest data, older data already queued still goes out in order);
- ``drop_oldest``: the oldest item is evicted to make room (freshest-wins feeds);
- :class:`PriorityDropQueue`: highest priority first, FIFO within a priority; when full,
  an incoming item evicts the oldest of the lowest priority if it outranks it, else it is
  refused (interjections: an operator's ``say`` outranks the hundredth "hi").
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from adloom.core.errors import InputError

__all__ = ["BoundedQueue", "DropPolicy", "PriorityDropQueue", "QueueStats"]

T = TypeVar("T")


class DropPolicy(StrEnum):
    block = "block"
    drop_newest = "drop_newest"
    drop_oldest = "drop_oldest"


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    maxsize: int
    length: int
    put: int  # items accepted
    dropped: int  # items refused or evicted
    max_length: int  # high-water mark


def _check_size(name: str, maxsize: int) -> None:
    if int(maxsize) != maxsize or maxsize < 1:
        raise InputError(f"queue {name!r}: maxsize must be a positive integer, got {maxsize!r}", field="maxsize")


class BoundedQueue(Generic[T]):
    """A thread-safe FIFO of at most ``maxsize`` items with a :class:`DropPolicy`.

    ``put`` returns True when the item was queued, False when it was dropped (or the
    queue was closed, or a blocking put timed out). ``get`` returns None when the queue
    is closed and empty, or on timeout.
    """

    def __init__(self, maxsize: int, policy: DropPolicy, *, name: str = "queue") -> None:
        _check_size(name, maxsize)
        self.name = name
        self.maxsize = int(maxsize)
        self.policy = DropPolicy(policy)
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._put = 0
        self._dropped = 0
        self._max_len = 0

    def put(self, item: T, timeout: float | None = None) -> bool:
        with self._cond:
            if self._closed:
                return False
            if len(self._items) >= self.maxsize:
                if self.policy is DropPolicy.drop_newest:
                    self._dropped += 1
                    return False
                if self.policy is DropPolicy.drop_oldest:
                    self._items.popleft()
                    self._dropped += 1
                else:
                    deadline = None if timeout is None else time.monotonic() + timeout
                    while len(self._items) >= self.maxsize and not self._closed:
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            return False
                        self._cond.wait(remaining)
                    if self._closed:
                        return False
            self._items.append(item)
            self._put += 1
            self._max_len = max(self._max_len, len(self._items))
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        with self._cond:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._items:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def drain(self) -> int:
        """Drop everything queued (counted as dropped); returns how many."""
        with self._cond:
            n = len(self._items)
            self._items.clear()
            self._dropped += n
            self._cond.notify_all()
            return n

    def close(self) -> None:
        """No more puts; ``get`` returns what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def stats(self) -> QueueStats:
        with self._cond:
            return QueueStats(self.name, self.maxsize, len(self._items), self._put, self._dropped, self._max_len)


class PriorityDropQueue(Generic[T]):
    """Bounded: highest ``priority`` out first, FIFO within a priority; the lowest-ranked item drops when full."""

    def __init__(self, maxsize: int, *, name: str = "priority queue") -> None:
        _check_size(name, maxsize)
        self.name = name
        self.maxsize = int(maxsize)
        self._items: list[tuple[int, int, T]] = []  # (priority, sequence, item), unsorted; small
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._put = 0
        self._dropped = 0
        self._max_len = 0

    def put(self, item: T, priority: int = 0) -> bool:
        """Queue ``item``; False when it was refused (full of items that rank at least as high)."""
        with self._lock:
            entry = (int(priority), next(self._seq), item)
            if len(self._items) >= self.maxsize:
                # the worst entry: lowest priority, and among those the oldest
                worst = min(range(len(self._items)), key=lambda i: (self._items[i][0], self._items[i][1]))
                if self._items[worst][0] >= entry[0]:
                    self._dropped += 1
                    return False
                self._items.pop(worst)
                self._dropped += 1
            self._items.append(entry)
            self._put += 1
            self._max_len = max(self._max_len, len(self._items))
            return True

    def pop(self) -> T | None:
        """The highest-priority, oldest item, or None when empty."""
        with self._lock:
            if not self._items:
                return None
            best = max(range(len(self._items)), key=lambda i: (self._items[i][0], -self._items[i][1]))
            return self._items.pop(best)[2]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def stats(self) -> QueueStats:
        with self._lock:
            return QueueStats(self.name, self.maxsize, len(self._items), self._put, self._dropped, self._max_len)
