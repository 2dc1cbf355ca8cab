"""A small read cache: answers valid until this process writes, or a few seconds pass."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class _Flight(Generic[V]):
    """One computation of a missing value that other threads may wait for."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.done = threading.Event()
        self.ok = False
        self.value: V | None = None


class ReadCache(Generic[V]):
    """Caches values computed from the database.

    A write in this process drops everything at once (`invalidate`); a write by another
    process (a second worker, `cop-bot catalog load`) is seen after at most `ttl` seconds.
    Bounded to `max_entries`, least recently used first out.
    """

    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        on_wait: Callable[[Hashable], None] | None = None,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        # Called with the key when a thread starts waiting for another's computation.
        self.on_wait = on_wait
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight[V]] = {}

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value, or `compute()`. When several threads miss the same key at
        once, one computes and the others wait for its value, instead of each of them
        doing the same work on a busy process."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                return entry[1]
            generation = self._generation
            flight = self._flights.get(key)
            leading = flight is None or flight.generation != generation
            if leading:
                flight = self._flights[key] = _Flight(generation)
        assert flight is not None
        if not leading:
            if self.on_wait is not None:
                self.on_wait(key)
            flight.done.wait()
            if flight.ok:
                return flight.value  # type: ignore[return-value]
            return compute()  # the one computing failed: its caller has the error
        try:
            value = compute()
            flight.value, flight.ok = value, True
        finally:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
            flight.done.set()
        with self._lock:
            # A write that happened while computing may have made `value` stale.
            if generation == self._generation and self.ttl > 0:
                self._entries[key] = (now + self.ttl, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)
