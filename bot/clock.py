"""Injected time: everything that depends on "now" asks a Clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock for tests and simulations that only moves when told to."""

    def __init__(self, now: dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now = self.now + delta


class ShiftedClock:
    """Another clock moved by a fixed offset: the console's "what if it were then"."""

    def __init__(self, base: Clock = system_clock) -> None:
        self.base = base
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return self.base() + self.offset

    def jump_to(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("jump_to needs an aware datetime")
        self.offset = moment - self.base()
