"""The deadline of the request being answered: Slack shows the user an error when the
answer takes more than 3 seconds, so every Slack call made while a request is open must
end well before that (see the web client in bot/slack_notifier.py).

The deadline lives in a context variable of the thread that answers the request. Pools
(background work, deliveries, reminders) run in threads of their own, without one: there
calls take as long as they need and wait out every Retry-After.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# From receipt to the answer leaving: leaves half a second of Slack's 3 for the network.
REQUEST_BUDGET_SECONDS = 2.5
# Where the edge (bot/edge.py) puts the moment it got the request (time.monotonic()) in
# the Bolt context: Slack's 3 seconds run from there, not from a listener's start.
RECEIVED_AT = "cop_received_at"
# A call (or retry) is not started with less time than this left: it could not finish.
MIN_CALL_SECONDS = 0.1


@dataclass
class Deadline:
    at: float  # time.monotonic()
    # Retries that were not made because the deadline came first (see WithinDeadline).
    cuts: int = 0

    def remaining(self) -> float:
        return self.at - time.monotonic()


class SlackTooSlow(Exception):
    """A Slack call in a request could not end before the request's deadline (a slow
    answer, or a Retry-After longer than the time left). The user is asked to try again."""

    def __init__(self, method: str, why: str) -> None:
        super().__init__(f"{method}: {why}")
        self.method = method
        self.why = why


_current: ContextVar[Deadline | None] = ContextVar("cop_request_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the request this thread is answering; None outside a request."""
    return _current.get()


def from_receipt(received_at: object) -> Deadline:
    """The deadline of a request the edge got at `received_at` (time.monotonic()); counted
    from now when it did not say (Socket Mode)."""
    start = received_at if isinstance(received_at, float) else time.monotonic()
    return Deadline(start + REQUEST_BUDGET_SECONDS)


@contextmanager
def running(deadline: Deadline | None = None) -> Iterator[Deadline]:
    """Run the body under `deadline` (by default: REQUEST_BUDGET_SECONDS from now)."""
    if deadline is None:
        deadline = Deadline(time.monotonic() + REQUEST_BUDGET_SECONDS)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


@contextmanager
def resumed(deadline: Deadline | None) -> Iterator[None]:
    """Run the body under a request's deadline taken along to another thread (nothing
    changes when there was none)."""
    if deadline is None:
        yield
        return
    token = _current.set(deadline)
    try:
        yield
    finally:
        _current.reset(token)
