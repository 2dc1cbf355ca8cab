"""Sends what waits in the outbox (bot/services/outbox.py), one lane per kind of item.

Two senders share the bookkeeping:

- `OutboxSender` keeps a pace: a token bucket allows up to `burst` items at once, then
  `rate_per_minute`. Calendar files go through it, run by the scheduler's owner only,
  so the pace holds across processes.
- `Courier` sends at once, several items side by side, for the welcome DM that a new
  member expects right after joining. Slack's answers set its pace: a 429 is waited out
  by the notifier. Any number of processes may run one; a claim is taken by one of them.
  `kick()` sends in the background of this process; `run()` is the loop of the delivery
  process that `cop-bot serve` starts next to its web workers (`cop-bot deliver`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from bot import metrics
from bot.clock import Clock, system_clock
from bot.notifier import DeliveryError
from bot.services import outbox
from storage.db import Database

log = logging.getLogger("cop_bot")

# Uploading a file takes conversations.open (Slack's tier 3, 50+ a minute) and the
# files.*UploadExternal calls (tier 4, 100+): 50 a minute stays inside both.
DEFAULT_RATE_PER_MINUTE = 50.0

Handler = Callable[[outbox.Item], None]


@dataclass
class _Outcome:
    """What became of a batch: written back in one transaction."""

    done: list[int] = field(default_factory=list)
    # The kind of each item done (appends are safe from the courier's threads).
    done_kinds: list[str] = field(default_factory=list)
    failed: list[tuple[outbox.Item, str]] = field(default_factory=list)
    retry: list[tuple[outbox.Item, str]] = field(default_factory=list)


class _Lanes:
    def __init__(
        self, db: Database, handlers: Mapping[str, Handler], *, owner: str, clock: Clock
    ) -> None:
        self.db = db
        self.handlers = handlers
        self.owner = owner
        self.clock = clock

    def _claim(self, kind: str, limit: int) -> list[outbox.Item]:
        with self.db.write() as session:
            return outbox.claim(session, kind=kind, owner=self.owner, now=self.clock(), limit=limit)

    def _run_one(self, item: outbox.Item, outcome: _Outcome) -> None:
        handler = self.handlers.get(item.kind)
        try:
            if handler is None:
                raise DeliveryError(f"no handler for {item.kind}")
            handler(item)
        except DeliveryError as exc:
            if exc.permanent or handler is None:
                log.warning(
                    "outbox item %s (%s) failed for good: %s", item.id, item.kind, exc.error
                )
                outcome.failed.append((item, exc.error))
            else:
                log.warning(
                    "outbox item %s (%s) %s for %s failed, tried again later: %s",
                    item.id, item.kind, item.subject, item.recipient, exc.error,
                )  # fmt: skip
                outcome.retry.append((item, exc.error))
        except Exception as exc:
            log.exception("outbox item %s (%s) failed; it will be tried again", item.id, item.kind)
            outcome.retry.append((item, repr(exc)))
        else:
            outcome.done.append(item.id)
            outcome.done_kinds.append(item.kind)

    def _record(self, outcome: _Outcome) -> None:
        now = self.clock()
        with self.db.write() as session:
            outbox.mark_done(session, *outcome.done, now=now)
            for item, error in outcome.failed:
                outbox.mark_failed(session, item.id, error=error, now=now)
            for item, error in outcome.retry:
                outbox.mark_retry(session, item, error=error, now=now)
        for kind, times in Counter(outcome.done_kinds).items():
            metrics.count_delivery(kind, "sent", times)
        for item, _ in outcome.failed:
            metrics.count_delivery(item.kind, "failed")
        for item, _ in outcome.retry:
            metrics.count_delivery(item.kind, "retry")


class OutboxSender(_Lanes):
    """Claims due items and runs the handler of their kind, at a pace: up to `burst` at
    once, then `rate_per_minute`. Run by the scheduler's owner only."""

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        owner: str,
        clock: Clock = system_clock,
        rate_per_minute: float = DEFAULT_RATE_PER_MINUTE,
        burst: int = 10,
    ) -> None:
        super().__init__(db, handlers, owner=owner, clock=clock)
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self._tokens = float(burst)
        self._refilled = time.monotonic()
        self._lock = threading.Lock()

    def _take_budget(self) -> int:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        return int(self._tokens)

    def drain(self) -> int:
        """Send what is due within the budget; returns how many items were handled."""
        if not self._lock.acquire(blocking=False):
            return 0  # another sweep of this process is at it
        try:
            handled = 0
            for kind in self.handlers:
                for item in self._claim(kind, self._take_budget()):
                    self._tokens -= 1
                    outcome = _Outcome()
                    self._run_one(item, outcome)
                    self._record(outcome)
                    handled += 1
            return handled
        finally:
            self._lock.release()


class Courier(_Lanes):
    """Sends due items of its kinds at once, `threads` at a time, in batches of `batch`;
    each batch is claimed in one transaction and written back in one."""

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        owner: str,
        clock: Clock = system_clock,
        threads: int = 8,
        batch: int = 100,
    ) -> None:
        super().__init__(db, handlers, owner=owner, clock=clock)
        self.batch = batch
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cop-courier")
        self._drain_lock = threading.Lock()
        self._kick_lock = threading.Lock()
        self._kicked = False
        self._again = False

    def drain(self) -> int:
        """Send everything of these kinds that is due now, batch after batch; returns how
        many items were handled. One drain at a time per courier."""
        with self._drain_lock:
            handled = 0
            for kind in self.handlers:
                while True:
                    items = self._claim(kind, self.batch)
                    if not items:
                        break
                    outcome = _Outcome()
                    # list(): wait for every send of the batch before writing it back.
                    list(self._pool.map(partial(self._run_one, outcome=outcome), items))
                    self._record(outcome)
                    handled += len(items)
                    if len(items) < self.batch:
                        break
            return handled

    def has_due(self, *, stale: bool = False) -> bool:
        now = self.clock()
        with self.db.read() as session:
            return any(
                outbox.has_due(session, kind=kind, now=now, stale=stale) for kind in self.handlers
            )

    def kick(self, run_in_background: Callable[[str, Callable[[], None]], object]) -> None:
        """Drain soon, in the background; kicks that come while a drain is under way are
        folded into one more round, so a burst of joins costs a few drains, not one each."""
        with self._kick_lock:
            if self._kicked:
                self._again = True
                return
            self._kicked = True
        try:
            run_in_background("outbox delivery", self._drain_while_kicked)
        except RuntimeError:  # shutting down: the items wait in the outbox for the next run
            with self._kick_lock:
                self._kicked = False

    def _drain_while_kicked(self) -> None:
        try:
            while True:
                self.drain()
                with self._kick_lock:
                    if not self._again:
                        return
                    self._again = False
        finally:
            with self._kick_lock:
                self._kicked = False

    def run(
        self,
        stop: threading.Event,
        *,
        poll_seconds: float = 0.1,
        stale_every: float = 30.0,
        parent: int | None = None,
    ) -> None:
        """Deliver until `stop` is set (or the parent process is gone): a cheap read every
        `poll_seconds` finds new items; claims of a process that died are looked for every
        `stale_every` seconds. What is due when told to stop is still sent."""
        stale_at = 0.0
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                log.warning("the process that started this courier is gone; stopping")
                break
            stale = time.monotonic() >= stale_at
            if stale:
                stale_at = time.monotonic() + stale_every
            try:
                if self.has_due(stale=stale) and self.drain() >= self.batch:
                    continue  # more may be waiting right now
            except Exception:
                log.exception("outbox delivery failed; trying again in a second")
                stop.wait(1.0)  # the database may be down: no log line every poll
            # Items that arrive meanwhile go out together: one claim and one write-back
            # for all of them, and at most `poll_seconds` later than they could have.
            stop.wait(poll_seconds)
        try:
            self.drain()
        except Exception:
            log.exception("outbox delivery at stop failed; the items stay queued")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
