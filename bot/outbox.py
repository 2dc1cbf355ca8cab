"""The delivery worker: sends what waits in the outbox (bot/services/outbox.py), exactly once.

Every message the bot sends on its own travels this road. The protocol is the reminders'
(bot/scheduler.py):

- an item is claimed ("sending") under a lease before anything is posted, and the worker
  renews its leases while it works, so a dead worker's claims are taken over within
  seconds (LEASE + IN_FLIGHT), never after minutes;
- every message an item posts carries a key in its metadata (`outbox-<item>-<n>`, the
  n-th message of the item);
- an item taken over, or tried again after a failure, is `unsure`: each of its messages
  is first looked up in Slack by its key and posted only when it is not there;
- each item is marked the moment its messages are out, one by one, never per batch.

Retry-After is the Slack client's (slack_sdk's retry handler, see bot/slack_notifier.py);
5xx back-off too, except for a keyed post, which Slack may have taken before it failed:
that fails the attempt, and the item's next is unsure (looked up first). Errors Slack
gives for good (`user_not_found`, `channel_not_found`, `is_archived`, ...) fail the item,
which admins see in `cop-bot outbox failed`. Pace: a lane may have a rate (calendar
files: the file API's tier), posts to one channel keep Slack's one-per-second, and
invites keep tier 3 (50 a minute after a burst of 20).

`kick()` sends in the background of this process (Socket Mode, the console); `run()` is
the loop of the delivery process that `cop-bot serve` starts next to its web workers
(`cop-bot deliver`). Any number of workers may run: a claim is taken by one of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot import metrics
from bot.clock import Clock, system_clock
from bot.notifier import EVENT_TYPE, DeliveryError, Message, Notifier, keyed, look_back_to
from bot.services import outbox
from storage.db import Database

log = logging.getLogger("cop_bot")

# Uploading a file takes conversations.open (Slack's tier 3, 50+ a minute) and the
# files.*UploadExternal calls (tier 4, 100+): 50 a minute stays inside both.
DEFAULT_RATE_PER_MINUTE = 50.0
# chat.postMessage allows about one message a second per channel (short bursts pass).
CHANNEL_INTERVAL = 1.0

# A kind's handler: sends the item's messages through the notifier it is given.
Handler = Callable[[outbox.Item, Notifier], None]


def item_key(item_id: int, n: int) -> str:
    return f"outbox-{item_id}-{n}"


class _ChannelPace:
    """At most one post a second per channel, in this process."""

    def __init__(self, interval: float = CHANNEL_INTERVAL) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(channel, 0.0))
            self._next[channel] = at + self.interval
            if len(self._next) > 10_000:  # forget channels long quiet
                self._next = {c: t for c, t in self._next.items() if t > now}
        if at > now:
            time.sleep(at - now)


class _TierPace:
    """Slack's rate tiers for the calls the road makes besides posts: a token bucket per
    tier in this process, which a call waits for (Slack's 429s are still honoured per call
    by the client's retry handlers, should several processes share a tier)."""

    # Tier 3 (50+ a minute): conversations.invite. Burst of 20, then 50 a minute.
    TIER_3 = ("tier3", 50.0, 20)

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def wait(self, tier: tuple[str, float, int]) -> None:
        name, per_minute, burst = tier
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = _Bucket(per_minute, burst)
        while (short := bucket.take_one()) > 0:
            time.sleep(short)


class Sending:
    """A Notifier for one item: each message it posts carries the item's key and its
    number; when the item is unsure, each message is looked up in Slack first. Channel
    invites and message updates are safe to repeat; a file upload cannot carry a key, so a
    calendar file may come twice after a crash in the middle of its upload (the README's
    table says so)."""

    def __init__(
        self,
        notifier: Notifier,
        item: outbox.Item,
        *,
        now: dt.datetime,
        pace: _ChannelPace | None = None,
        tiers: _TierPace | None = None,
    ) -> None:
        self.notifier = notifier
        self.item = item
        self.now = now
        self.pace = pace or _ChannelPace()
        self.tiers = tiers or _TierPace()
        self.count = 0
        self.ts: str | None = None

    def _post(self, channel: str, message: Message, *, dm: bool) -> str:
        key = item_key(self.item.id, self.count)
        self.count += 1
        if self.item.unsure:
            # Not paced: lookups come only after a crash, and a 429 is waited out per call;
            # pacing them at tier 3 held a taken-over fan-out back by a minute.
            since = look_back_to(self.item.created_at, self.now)
            found = self.notifier.find_posted(channel, EVENT_TYPE, key, since)
            if found:
                self.ts = found
                return found
        if not dm:
            self.pace.wait(channel)
        message = keyed(message, key)
        ts = self.notifier.send_dm(channel, message) if dm else self.notifier.post(channel, message)
        self.ts = ts
        return ts

    def send_dm(self, user_id: str, message: Message) -> str:
        return self._post(user_id, message, dm=True)

    def post(self, channel_id: str, message: Message) -> str:
        return self._post(channel_id, message, dm=False)

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        self.notifier.update(channel_id, ts, message)

    def permalink(self, channel_id: str, ts: str) -> str | None:
        return self.notifier.permalink(channel_id, ts)

    def invite(self, channel_id: str, user_id: str) -> bool:
        self.tiers.wait(_TierPace.TIER_3)
        return self.notifier.invite(channel_id, user_id)

    def upload(self, user_id: str, filename: str, content: bytes, comment: str) -> None:
        self.notifier.upload(user_id, filename, content, comment)

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        self.notifier.publish_home(user_id, view)

    def find_posted(self, recipient: str, event_type: str, key: str, since: float) -> str | None:
        return self.notifier.find_posted(recipient, event_type, key, since)


@dataclass(frozen=True)
class Lane:
    """A kind of item: its handler, and optionally a pace (items a minute, after a burst)."""

    handler: Handler
    rate_per_minute: float | None = None
    burst: int = 10


class _Bucket:
    def __init__(self, rate_per_minute: float, burst: int) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self.tokens = float(burst)
        self.refilled = time.monotonic()
        self.lock = threading.Lock()

    def _refill(self) -> None:  # under self.lock
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now

    def budget(self) -> int:
        with self.lock:
            self._refill()
            return int(self.tokens)

    def take_one(self) -> float:
        """Take a token: 0 when one was there, else how long until one will be."""
        with self.lock:
            self._refill()
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate

    def spend(self, n: int) -> None:
        with self.lock:
            self.tokens -= n


class Courier:
    """The delivery worker: claims due items lane by lane, `threads` at a time in batches of
    `batch`, sends each and marks it at once; renews its leases while it holds any."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        lanes: Mapping[str, Lane | Handler],
        *,
        owner: str | None = None,
        clock: Clock = system_clock,
        threads: int = 8,
        batch: int = 100,
        lease: dt.timedelta = outbox.LEASE,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.lanes = {
            kind: lane if isinstance(lane, Lane) else Lane(lane) for kind, lane in lanes.items()
        }
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self._buckets = {
            kind: _Bucket(lane.rate_per_minute, lane.burst)
            for kind, lane in self.lanes.items()
            if lane.rate_per_minute is not None
        }
        self._pace = _ChannelPace()
        self._tiers = _TierPace()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cop-courier")
        self._drain_lock = threading.Lock()
        self._kick_lock = threading.Lock()
        self._kicked = False
        self._again = False
        self._held = 0
        self._held_lock = threading.Lock()
        # Items sent (or failed) whose mark the database did not take: written again first.
        self._unmarked: dict[int, Callable[[Session], None]] = {}
        self._closed = threading.Event()
        self._renewer: threading.Thread | None = None

    # Leases ----------------------------------------------------------------------------
    def _hold(self, n: int) -> None:
        with self._held_lock:
            self._held += n
            if n > 0 and (self._renewer is None or not self._renewer.is_alive()):
                self._renewer = threading.Thread(
                    target=self._renew_leases, name="cop-lease", daemon=True
                )
                self._renewer.start()

    def _renew_leases(self) -> None:
        every = self.lease.total_seconds() / 3
        while not self._closed.wait(every):
            with self._held_lock:
                if self._held <= 0:
                    self._renewer = None
                    return
            try:
                with self.db.write() as session:
                    outbox.renew(session, owner=self.owner, now=self.clock(), lease=self.lease)
            except Exception:
                log.warning("could not renew the outbox leases; trying again", exc_info=True)

    # Sending -----------------------------------------------------------------------------
    def _claim(self, kind: str, limit: int) -> list[outbox.Item]:
        bucket = self._buckets.get(kind)
        if bucket is not None:
            limit = min(limit, bucket.budget())
        if limit <= 0:
            return []
        with self.db.write() as session:
            items = outbox.claim(
                session, kind=kind, owner=self.owner, now=self.clock(), limit=limit,
                lease=self.lease,
            )  # fmt: skip
        if bucket is not None:
            bucket.spend(len(items))
        self._hold(len(items))
        return items

    def _run_one(self, item: outbox.Item) -> str:
        lane = self.lanes.get(item.kind)
        sending = Sending(self.notifier, item, now=self.clock(), pace=self._pace, tiers=self._tiers)
        try:
            if lane is None:
                raise DeliveryError(f"no handler for {item.kind}", permanent=True)
            lane.handler(item, sending)
        except DeliveryError as exc:
            if exc.permanent:
                log.warning(
                    "outbox item %s (%s) for %s failed for good: %s",
                    item.id, item.kind, item.recipient, exc.error,
                )  # fmt: skip
                return self._record(item, "failed", error=exc.error)
            log.warning(
                "outbox item %s (%s) %s for %s failed, tried again later: %s",
                item.id, item.kind, item.subject, item.recipient, exc.error,
            )  # fmt: skip
            return self._record(item, "retry", error=exc.error)
        except Exception as exc:  # time-outs, broken connections after slack_sdk's retries
            log.exception("outbox item %s (%s) failed; it will be tried again", item.id, item.kind)
            return self._record(item, "retry", error=repr(exc))
        return self._record(item, "sent", ts=sending.ts)

    def _record(
        self, item: outbox.Item, outcome: str, *, error: str = "", ts: str | None = None
    ) -> str:
        now = self.clock()

        def mark(session: Session) -> None:
            if outcome == "sent":
                outbox.mark_done(session, item.id, now=now, ts=ts)
            elif outcome == "failed":
                outbox.mark_failed(session, item.id, error=error, now=now)
            else:
                outbox.mark_retry(session, item, error=error, now=now)

        # Each item is marked the moment it is sent, in a transaction of its own: one row,
        # so it never deadlocks with a lease renewal (which locks all this worker's rows).
        # Sharing a commit with other marks did, on PostgreSQL (measured in the bench). A
        # mark that meets a deadlock or a serialisation failure is tried again at once.
        metrics.count_delivery(item.kind, outcome)
        self._write_mark(item, outcome, mark)
        return outcome

    def _write_mark(self, item: outbox.Item, outcome: str, mark: Callable[[Session], None]) -> None:
        """Write `item`'s mark and let its claim go. When the database will not take it,
        the mark is kept and written again at the start of each drain; meanwhile the claim
        is held, its lease renewed, so that no worker sends the item again."""
        try:
            self.db.write_retrying(mark)
        except Exception:
            log.exception(
                "outbox item %s (%s) was %s but could not be marked; it will be marked later",
                item.id, item.kind, outcome,
            )  # fmt: skip
            with self._held_lock:
                self._unmarked[item.id] = mark
            return
        self._hold(-1)

    def _mark_left_over(self) -> None:
        """Write the marks that the database did not take before, oldest first."""
        with self._held_lock:
            left = list(self._unmarked.items())
        for item_id, mark in left:
            self.db.write_retrying(mark)  # still failing: the drain fails, and is retried
            with self._held_lock:
                del self._unmarked[item_id]
            self._hold(-1)

    def drain(self) -> int:
        """Send everything that is due now, lane by lane, batch after batch; returns how
        many items were handled. One drain at a time per courier."""
        with self._drain_lock:
            self._mark_left_over()
            handled = 0
            due = self.due_kinds()  # one read, not a claim (a write) per lane
            for kind in self.lanes:
                if kind not in due:
                    continue
                while True:
                    items = self._claim(kind, self.batch)
                    if not items:
                        break
                    # Each item is marked as it finishes; the batch only bounds the claim.
                    list(self._pool.map(self._run_one, items))
                    handled += len(items)
                    if len(items) < self.batch:
                        break
            return handled

    def due_kinds(self) -> set[str]:
        with self.db.read() as session:
            return outbox.due_kinds(session, kinds=self.lanes, owner=self.owner, now=self.clock())

    def has_due(self) -> bool:
        return bool(self.due_kinds())

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
        parent: int | None = None,
    ) -> None:
        """Deliver until `stop` is set (or the parent process is gone): a cheap read every
        `poll_seconds` finds new items and abandoned claims. What is due when told to stop
        is still sent."""
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                log.warning("the process that started this courier is gone; stopping")
                break
            try:
                if (self._unmarked or self.has_due()) and self.drain() >= self.batch:
                    continue  # more may be waiting right now
            except Exception:
                log.exception("outbox delivery failed; trying again in a second")
                stop.wait(1.0)  # the database may be down: no log line every poll
            stop.wait(poll_seconds)
        try:
            self.drain()
        except Exception:
            log.exception("outbox delivery at stop failed; the items stay queued")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._closed.set()
