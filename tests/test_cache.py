"""ReadCache: reuse until a local write or the TTL, never cache a value computed across a write."""

from __future__ import annotations

import threading

from bot.cache import ReadCache


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_reused_until_its_ttl_passes() -> None:
    tick = Ticker()
    cache: ReadCache[int] = ReadCache(ttl=2.0, clock=tick)
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    assert cache.get("k", compute) == 1
    tick.now = 1.9
    assert cache.get("k", compute) == 1
    tick.now = 2.1
    assert cache.get("k", compute) == 2


def test_invalidate_drops_everything_at_once() -> None:
    cache: ReadCache[str] = ReadCache(ttl=60)
    cache.get("a", lambda: "old")
    cache.invalidate()
    assert cache.get("a", lambda: "new") == "new"


def test_a_value_computed_while_a_write_happened_is_not_kept() -> None:
    cache: ReadCache[str] = ReadCache(ttl=60)

    def compute_during_write() -> str:
        cache.invalidate()  # a write commits while this read is under way
        return "maybe stale"

    assert cache.get("a", compute_during_write) == "maybe stale"
    assert cache.get("a", lambda: "fresh") == "fresh"


def test_the_least_recently_used_entry_goes_first_when_full() -> None:
    cache: ReadCache[str] = ReadCache(ttl=60, max_entries=2)
    cache.get("a", lambda: "A")
    cache.get("b", lambda: "B")
    cache.get("a", lambda: "A2")  # touch a
    cache.get("c", lambda: "C")  # evicts b
    assert cache.get("a", lambda: "A3") == "A"
    assert cache.get("b", lambda: "B2") == "B2"


def test_threads_that_miss_the_same_key_at_once_share_one_computation() -> None:
    waiting = threading.Semaphore(0)
    cache: ReadCache[str] = ReadCache(ttl=60, on_wait=lambda key: waiting.release())
    started, finish = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        assert finish.wait(5)
        return "value"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", slow)))
    first.start()
    assert started.wait(5)
    others = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(5)
    ]
    for thread in others:
        thread.start()
    for _ in others:  # each of them missed and waits for the first one, not computing
        assert waiting.acquire(timeout=30)
    assert len(calls) == 1
    finish.set()
    for thread in [first, *others]:
        thread.join(30)

    assert results == ["value"] * 6
    assert len(calls) == 1


def test_when_the_shared_computation_fails_its_caller_sees_the_error_and_a_waiter_retries() -> None:
    waiting = threading.Semaphore(0)
    cache: ReadCache[str] = ReadCache(ttl=60, on_wait=lambda key: waiting.release())
    started, finish = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        assert finish.wait(5)
        raise RuntimeError("database down")

    errors: list[BaseException] = []

    def first_caller() -> None:
        try:
            cache.get("k", failing)
        except RuntimeError as exc:
            errors.append(exc)

    first = threading.Thread(target=first_caller)
    first.start()
    assert started.wait(5)
    waited: list[str] = []
    waiter = threading.Thread(target=lambda: waited.append(cache.get("k", lambda: "fresh")))
    waiter.start()
    assert waiting.acquire(timeout=30)  # it waits for the failing computation
    finish.set()
    first.join(30)
    waiter.join(30)

    assert [str(e) for e in errors] == ["database down"]
    assert waited == ["fresh"]
