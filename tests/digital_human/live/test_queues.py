"""Bounded queues: each drop policy keeps its bound and counts what it threw away."""

from __future__ import annotations

import threading

import pytest

from adloom.core.errors import InputError
from adloom.digital_human.live.queues import BoundedQueue, DropPolicy, PriorityDropQueue


def test_drop_newest_refuses_when_full_and_keeps_the_old_items_in_order() -> None:
    q: BoundedQueue[int] = BoundedQueue(3, DropPolicy.drop_newest, name="bytes")
    assert [q.put(i) for i in range(5)] == [True, True, True, False, False]
    assert [q.get(0), q.get(0), q.get(0), q.get(0)] == [0, 1, 2, None]
    s = q.stats()
    assert (s.put, s.dropped, s.max_length, s.length, s.name) == (3, 2, 3, 0, "bytes")


def test_drop_oldest_evicts_to_make_room() -> None:
    q: BoundedQueue[int] = BoundedQueue(3, DropPolicy.drop_oldest)
    assert all(q.put(i) for i in range(5))
    assert [q.get(0) for _ in range(3)] == [2, 3, 4]
    assert q.stats().dropped == 2 and len(q) == 0


def test_block_waits_for_room_and_times_out() -> None:
    q: BoundedQueue[int] = BoundedQueue(1, DropPolicy.block)
    assert q.put(1)
    assert not q.put(2, timeout=0.05)  # still full: the producer gave up, nothing dropped silently
    taker = threading.Timer(0.05, q.get)
    taker.start()
    assert q.put(3, timeout=5)  # room appeared
    taker.join()
    assert q.get(0) == 3 and q.stats().dropped == 0


def test_close_wakes_consumers_and_refuses_producers() -> None:
    q: BoundedQueue[int] = BoundedQueue(2, DropPolicy.block)
    q.put(7)
    got: list[int | None] = []
    q.close()
    assert not q.put(8)
    consumer = threading.Thread(target=lambda: got.extend([q.get(), q.get()]))
    consumer.start()
    consumer.join(5)
    assert got == [7, None] and q.closed


def test_a_blocked_producer_is_released_by_close() -> None:
    q: BoundedQueue[int] = BoundedQueue(1, DropPolicy.block)
    q.put(1)
    result: list[bool] = []
    producer = threading.Thread(target=lambda: result.append(q.put(2)))
    producer.start()
    q.close()
    producer.join(5)
    assert result == [False]


def test_drain_counts_as_dropped() -> None:
    q: BoundedQueue[str] = BoundedQueue(4, DropPolicy.drop_newest)
    for x in "abc":
        q.put(x)
    assert q.drain() == 3 and q.stats().dropped == 3 and len(q) == 0


def test_bounded_under_concurrent_producers() -> None:
    q: BoundedQueue[int] = BoundedQueue(10, DropPolicy.drop_newest)
    threads = [threading.Thread(target=lambda: [q.put(i) for i in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = q.stats()
    assert s.max_length == 10 and s.put + s.dropped == 4000 and s.put == 10


def test_priority_queue_serves_highest_first_then_fifo() -> None:
    q: PriorityDropQueue[str] = PriorityDropQueue(10)
    for item, prio in [("hi-1", 0), ("q-1", 5), ("hi-2", 0), ("say", 9), ("q-2", 5)]:
        assert q.put(item, prio)
    assert [q.pop() for _ in range(6)] == ["say", "q-1", "q-2", "hi-1", "hi-2", None]


def test_priority_queue_when_full_evicts_the_oldest_lowest_or_refuses() -> None:
    q: PriorityDropQueue[str] = PriorityDropQueue(3)
    assert q.put("a", 0) and q.put("b", 0) and q.put("c", 1)
    assert not q.put("d", 0)  # ranks no higher than anything queued: refused
    assert q.put("e", 2)  # outranks the oldest priority-0 item, which goes
    assert [q.pop() for _ in range(3)] == ["e", "c", "b"]
    s = q.stats()
    assert (s.put, s.dropped, s.max_length) == (4, 2, 3)


def test_sizes_must_be_positive() -> None:
    with pytest.raises(InputError):
        BoundedQueue(0, DropPolicy.block)
    with pytest.raises(InputError):
        PriorityDropQueue(-1)
