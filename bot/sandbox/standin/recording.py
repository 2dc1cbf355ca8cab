"""Every request the stand-in receives, recorded as a Call with the answer it got, for
tests to read and wait for."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.standin.misbehaviour import Misbehaviour
from bot.sandbox.standin.protocol import Answer

_LOG = logging.getLogger(__name__)
_TIMEOUT_MESSAGE_CALLS = 20


@dataclass(frozen=True)
class Call:
    """One request the stand-in received, with the answer it gave."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    status: int
    response: dict[str, Any]


class Recording(Misbehaviour):
    """The recorded calls; each is answered (or held, delayed, failed) in `_record`."""

    _changed: threading.Condition
    _calls: deque[Call]
    _counts: dict[str, int]
    _listeners: list[Callable[[Call], None]]

    def calls(self, method: str | None = None) -> list[Call]:
        """A snapshot of the recorded calls in arrival order, optionally of one method."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget the recorded calls (the simulated workspace stays as it is)."""
        with self._lock:
            self._calls.clear()
            self._counts.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least `count` calls of `method` arrived; return all of them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._counts.get(method, 0) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(method, count, timeout))
                self._changed.wait(remaining)
            return [c for c in self._calls if c.method == method]

    def add_listener(self, fn: Callable[[Call], None]) -> None:
        """Call `fn` in the server thread after each recorded call."""
        with self._lock:
            self._listeners.append(fn)

    def _record(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        at: float,
        compute: Callable[[], Answer],
    ) -> Answer:
        with self._lock:
            hold = self._holds.pop(method, None)
            gate = self._gates.get(method)
            stopped = gate is not None and not gate.admits(args)
        if hold is not None:
            hold.wait()
        if stopped and gate is not None:
            gate.wait()
        delay = self._method_delays.get(method, self._delay)
        if delay > 0:
            self._sleep(delay)
        with self._lock:
            injected = self._injected_answer(method)
            if injected is None:
                answer = compute()
            else:
                answer, done_anyway = injected
                if done_anyway:
                    compute()
            call = Call(method, args, token, at, answer.status, answer.response)
            self._calls.append(call)
            self._counts[method] = self._counts.get(method, 0) + 1
            self._changed.notify_all()
            listeners = tuple(self._listeners)
        # Listeners run outside the lock so they may call back into the stand-in.
        for listener in listeners:
            try:
                listener(call)
            except Exception:
                _LOG.exception("Slack stand-in listener %r failed", listener)
        return answer

    def _timeout_message(self, method: str, count: int, timeout: float) -> str:
        got = self._counts.get(method, 0)
        head = f"expected {count} call(s) of {method!r} within {timeout:g}s but got {got}"
        if not self._calls:
            return f"{head}; the stand-in received no calls at all"
        recent = list(self._calls)[-_TIMEOUT_MESSAGE_CALLS:]
        described = []
        for call in recent:
            outcome = "ok" if call.response.get("ok") else call.response.get("error", "failed")
            described.append(f"{call.method} ({call.status} {outcome})")
        skipped = len(self._calls) - len(recent)
        more = f" (and {skipped} earlier)" if skipped else ""
        return f"{head}; received {len(self._calls)} call(s){more}: " + ", ".join(described)
