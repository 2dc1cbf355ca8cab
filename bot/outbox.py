"""Sends what waits in the outbox (bot/services/outbox.py), at a pace Slack allows."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from bot.clock import Clock, system_clock
from bot.notifier import DeliveryError
from bot.services import outbox
from storage.db import Database

log = logging.getLogger("cop_bot")

# Uploading a file takes conversations.open (Slack's tier 3, 50+ a minute) and the
# files.*UploadExternal calls (tier 4, 100+): 50 a minute stays inside both.
DEFAULT_RATE_PER_MINUTE = 50.0

Handler = Callable[[outbox.Item], None]


class OutboxSender:
    """Claims due items and runs the handler of their kind. A token bucket keeps the pace:
    up to `burst` at once, then `rate_per_minute`. Run by the scheduler's owner only."""

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
        self.db = db
        self.handlers = handlers
        self.owner = owner
        self.clock = clock
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
            with self.db.write() as session:
                items = outbox.claim(
                    session, owner=self.owner, now=self.clock(), limit=self._take_budget()
                )
            for item in items:
                self._tokens -= 1
                self._send(item)
            return len(items)
        finally:
            self._lock.release()

    def _send(self, item: outbox.Item) -> None:
        handler = self.handlers.get(item.kind)
        try:
            if handler is None:
                raise DeliveryError(f"no handler for {item.kind}")
            handler(item)
        except DeliveryError as exc:
            with self.db.write() as session:
                if exc.permanent or handler is None:
                    log.warning(
                        "outbox item %s (%s) failed for good: %s", item.id, item.kind, exc.error
                    )
                    outbox.mark_failed(session, item.id, error=exc.error, now=self.clock())
                else:
                    log.warning(
                        "outbox item %s (%s) %s for %s failed, tried again later: %s",
                        item.id, item.kind, item.subject, item.recipient, exc.error,
                    )  # fmt: skip
                    outbox.mark_retry(session, item, error=exc.error, now=self.clock())
            return
        except Exception as exc:
            log.exception("outbox item %s (%s) failed; it will be tried again", item.id, item.kind)
            with self.db.write() as session:
                outbox.mark_retry(session, item, error=repr(exc), now=self.clock())
            return
        with self.db.write() as session:
            outbox.mark_done(session, item.id, now=self.clock())
