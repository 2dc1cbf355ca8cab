"""Waiting for a state in tests, never for a moment.

Where no event says that something happened (another process's database, a subprocess's
log, a counter another thread bumps), a test looks at the state until it is there and
fails after a generous timeout. The pause between two looks is not what the test relies
on: a slow machine only makes it look more often before the state arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Generous: a loaded machine (two cores shared by several runs) is slow, not broken.
TIMEOUT = 30.0


def wait_until(
    condition: Callable[[], T],
    what: str | Callable[[], str],
    *,
    timeout: float = TIMEOUT,
    pause: float = 0.01,
) -> T:
    """Return the first true `condition()`; fail saying `what` after `timeout` seconds.

    `what` may be a function, so that what the failure shows (a log, say) is read when the
    wait fails, not when it starts. The one `time.sleep` of the suite is here
    (tests/test_suite_guards.py keeps it so)."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for: " + _said(what))
        time.sleep(pause)  # between two looks at the state (see above), not synchronisation
    return found


def _said(what: str | Callable[[], str]) -> str:
    return what if isinstance(what, str) else what()
