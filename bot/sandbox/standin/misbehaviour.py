"""Slack misbehaving on purpose: injected failures, rate limits (a token bucket per method),
slow answers and calls held in flight (the next one, or every one after the first few)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from bot.sandbox.standin.protocol import Answer, err, json_answer, rate_limited, text_answer


@dataclass
class Failure:
    status: int
    error: str | None
    retry_after: int | None
    remaining: int
    done_anyway: bool = False  # Slack did the work, then answered with the failure

    def answer(self) -> Answer:
        if self.status == 429:
            return rate_limited(self.retry_after or 1, self.error or "ratelimited")
        if self.status == 200:
            return json_answer(err(self.error or "internal_error"))
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        return text_answer(self.error or phrase, self.status, headers)


class Hold:
    """The next call of one method, kept waiting unanswered until `release()`: a Slack
    call caught in flight. `arrived` is set once it is waiting."""

    def __init__(self, method: str, timeout: float) -> None:
        self.method = method
        self.timeout = timeout
        self.arrived = threading.Event()
        self._released = threading.Event()

    def wait(self) -> None:
        self.arrived.set()
        self._released.wait(self.timeout)

    def release(self) -> None:
        self._released.set()


class Gate:
    """Calls of one method answered as usual for the first `passing`, and every later one
    kept waiting unanswered until `release()` (at most `timeout` seconds each): Slack
    stalling in the middle of a burst, so that a test can act (kill the sender) with
    exactly that much out and the rest in flight. Only calls for which `where(args)` is
    true count or wait. `held` is the number of calls waiting now; `wait_held(n)` waits
    until at least n are."""

    def __init__(
        self, method: str, passing: int, where: Callable[[dict[str, Any]], bool], timeout: float
    ) -> None:
        self.method = method
        self.passing = passing
        self.where = where
        self.timeout = timeout
        self.passed = 0
        self.held = 0
        self._changed = threading.Condition()
        self._released = threading.Event()

    def admits(self, args: dict[str, Any]) -> bool:
        """Whether this call goes through without waiting (under the stand-in's lock)."""
        if self._released.is_set() or not self.where(args):
            return True
        if self.passed < self.passing:
            self.passed += 1
            return True
        return False

    def wait(self) -> None:
        with self._changed:
            self.held += 1
            self._changed.notify_all()
        self._released.wait(self.timeout)
        with self._changed:
            self.held -= 1
            self._changed.notify_all()

    def wait_held(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Wait until at least `count` calls are held; False when they were not in time."""
        with self._changed:
            return self._changed.wait_for(lambda: self.held >= count, timeout)

    def release(self) -> None:
        """Answer the held calls, and every later one at once."""
        self._released.set()


@dataclass
class Bucket:
    rate: float
    capacity: float
    tokens: float
    updated: float
    retry_after: int

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Misbehaviour:
    """What the stand-in does wrong, and when; SlackStandIn applies it to every call."""

    _lock: threading.Lock
    _monotonic: Callable[[], float]
    _sleep: Callable[[float], None]

    def _reset_misbehaviour(self) -> None:
        self._delay = 0.0
        self._method_delays: dict[str, float] = {}
        for hold in getattr(self, "_holds", {}).values():
            hold.release()
        self._holds: dict[str, Hold] = {}
        for gate in getattr(self, "_gates", {}).values():
            gate.release()
        self._gates: dict[str, Gate] = {}
        self._failures: dict[str, deque[Failure]] = {}
        self._buckets: dict[str, Bucket] = {}

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        done_anyway: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` with an error instead; with
        `done_anyway`, after doing what they asked (a message posted, say), as Slack
        sometimes does when it answers a 500 or times out.

        429 answers carry Retry-After (default 1) and ``{"ok": false, "error": "ratelimited"}``;
        other non-200 statuses answer with a text body; 200 answers ``{"ok": false, "error"}``.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if status == 200 and not error:
            raise ValueError("an HTTP 200 failure needs an error code such as 'channel_not_found'")
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.append(Failure(status, error, retry_after, times, done_anyway))

    def throttle(self, method: str, *, per_second: float, retry_after: int = 1) -> None:
        """Answer 429 + Retry-After to calls of `method` beyond `per_second` (a token bucket
        that refills by the stand-in's `monotonic` clock)."""
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        capacity = max(1.0, per_second)
        with self._lock:
            self._buckets[method] = Bucket(
                per_second, capacity, capacity, self._monotonic(), retry_after
            )

    def set_delay(self, seconds: float, *, method: str | None = None) -> None:
        """Make every answer (or only those to `method`) wait `seconds` first, like a slow
        Slack (with the stand-in's `sleep`). A call is recorded once its answer is ready,
        after the wait."""
        if seconds < 0:
            raise ValueError("the delay cannot be negative")
        with self._lock:
            if method is None:
                self._delay = seconds
            else:
                self._method_delays[method] = seconds

    def hold(self, method: str, *, timeout: float = 30.0) -> Hold:
        """Keep the next call of `method` waiting until the returned hold is released (at
        most `timeout` seconds); its `arrived` event tells when the call came in."""
        hold = Hold(method, timeout)
        with self._lock:
            self._holds[method] = hold
        return hold

    def hold_after(
        self,
        method: str,
        passing: int,
        *,
        where: Callable[[dict[str, Any]], bool] = lambda args: True,
        timeout: float = 60.0,
    ) -> Gate:
        """Answer the first `passing` calls of `method` (of those `where` accepts), then keep
        every later one waiting until the returned gate is released (each at most `timeout`
        seconds): see Gate."""
        if passing < 0:
            raise ValueError("passing cannot be negative")
        gate = Gate(method, passing, where, timeout)
        with self._lock:
            self._gates[method] = gate
        return gate

    def _injected_answer(self, method: str) -> tuple[Answer, bool] | None:
        """The answer that replaces this call's, and whether the call is carried out
        anyway; None: it is answered as it should be."""
        queue = self._failures.get(method)
        if queue:
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            return failure.answer(), failure.done_anyway
        bucket = self._buckets.get(method)
        if bucket is not None and not bucket.take(self._monotonic()):
            return rate_limited(bucket.retry_after), False
        return None
