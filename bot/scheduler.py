"""The alarm clock for reminders: APScheduler wakes up, the database says what is due.

Exactly one process owns the scheduler at a time, by a lock held in the database
(PostgreSQL advisory lock) or beside it (an flock next to the SQLite file). Every
other process keeps trying, so when the owner dies another takes over within a sweep.

The owner plans reminders and fans a due one out onto the delivery road: an outbox item
per member and one for the channel, written in the transaction that marks the reminder
fanned out (bot/services/reminders.py). The delivery worker (bot/outbox.py) sends them
with the road's protocol (a lease, a key per message, a lookup in Slack before posting
anything an earlier attempt may have sent), so nobody gets a reminder twice, and none
is lost.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from bot import metrics
from bot.clock import Clock, system_clock
from bot.services import reminders
from storage import health
from storage.db import Database

log = logging.getLogger("cop_bot.scheduler")

LOCK_KEY = 0x0C0B5CED
FAN_OUT_BATCH = 100
# A new owner plans every upcoming meeting in slices of about this long, sending what is
# due in between.
PLAN_BUDGET_SECONDS = 1.0


class SchedulerLock:
    """Who owns the scheduler: a PostgreSQL advisory lock, or an flock beside SQLite."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Connection | None = None
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self.db.is_sqlite:
            path = (make_url(self.db.url).database or "cop-bot.db") + ".scheduler-lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        conn = self.db.engine.connect()
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
        conn.commit()
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def still_held(self) -> bool:
        if self._fd is not None:
            return True
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # the connection (and with it the lock) is gone
            log.warning("lost the scheduler lock: its database connection broke")
            self._conn = None
            return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None


@dataclass(frozen=True)
class TickReport:
    fanned_out: int = 0
    skipped_reminders: int = 0
    # Outbox items written: the members' DMs and the channel posts.
    items: int = 0


class ReminderScheduler:
    """Fans out what is due. `tick()` does one round and can be called directly (tests);
    `deliver` is called after a tick that wrote items (the process's courier)."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock = system_clock,
        deliver: Callable[[], object] | None = None,
        sweep_seconds: float = 5.0,
        offsets: Sequence[dt.timedelta] | None = None,
        tz: ZoneInfo | None = None,
        plan_batch: int = 2000,
    ) -> None:
        self.db = db
        self.clock = clock
        self.deliver = deliver
        self.sweep_seconds = sweep_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lock = SchedulerLock(db)
        self.is_owner = False
        self._aps: BackgroundScheduler | None = None
        self._tick_lock = threading.Lock()
        self._stopping = threading.Event()
        # Held for a whole sweep: stop() waits on it before it shuts APScheduler down, for
        # a sweep that arms a job while APScheduler shuts down deadlocks on its job store.
        self._sweep_lock = threading.RLock()
        # With offsets and a time zone, a new owner plans every upcoming meeting's
        # reminders (in batches, after its first tick) before it settles into sweeping.
        self.offsets, self.tz, self.plan_batch = offsets, tz, plan_batch
        self._must_plan = False
        self._planned_to = 0  # keyset cursor: the last meeting id planned
        self._plan_lock = threading.Lock()
        # Other work only the lock's owner does, after each sweep: the day-after minutes
        # nudge, the outbox.
        self.chores: list[Callable[[], object]] = []

    # Ownership ------------------------------------------------------------------
    def become_owner(self) -> bool:
        """Take the lock if it is free. What a dead owner left half sent waits in the
        outbox, whose workers take it over by its lease."""
        if self.is_owner:
            self.is_owner = self.lock.still_held()
        elif self.lock.try_acquire():
            self.is_owner = True
            metrics.SCHEDULER_OWNER.set(1)
            log.info("this process (%s) now runs the reminder scheduler", self.owner)
            self._must_plan, self._planned_to = self.offsets is not None, 0
        metrics.SCHEDULER_OWNER.set(1 if self.is_owner else 0)
        return self.is_owner

    def heartbeat(self) -> None:
        """Tell /readyz that the owner sweeps: the wall clock's time, whatever `clock` says
        (the console moves that one)."""
        try:
            health.beat(self.db, owner=self.owner, at=system_clock())
        except Exception:
            log.warning("could not record the scheduler's heartbeat", exc_info=True)

    # Running ----------------------------------------------------------------------
    def tick(self) -> TickReport:
        """Fan out what is due onto the delivery road, then hand it to `deliver`."""
        with self._tick_lock:
            report = self._tick()
        if report.items and self.deliver is not None:
            self.deliver()
        return report

    def _tick(self) -> TickReport:
        now = self.clock()
        report = TickReport()
        while True:  # a batch of reminders per transaction: after downtime there may be many
            with self.db.write() as session:
                fanned = reminders.fan_out_due(session, now=now, limit=FAN_OUT_BATCH)
            report = replace(
                report,
                fanned_out=report.fanned_out + sum(1 for f in fanned if not f.skipped),
                skipped_reminders=report.skipped_reminders + sum(1 for f in fanned if f.skipped),
                items=report.items + sum(f.recipients for f in fanned),
            )
            if len(fanned) < FAN_OUT_BATCH:
                break
        return report

    # The alarm clock ------------------------------------------------------------------
    def start(self) -> None:
        """Sweep every few seconds (take the lock when free, fan out what is due) and keep
        one date job armed at the next due moment, so reminders go out on time."""
        self._aps = BackgroundScheduler(timezone=dt.UTC)
        self._aps.add_job(
            self._sweep, "interval", seconds=self.sweep_seconds, id="sweep",
            # APScheduler runs on the wall clock, not on our injected one.
            next_run_time=system_clock(), max_instances=1, coalesce=True,
        )  # fmt: skip
        self._aps.start()

    def poke(self) -> None:
        """Something changed in this process (a meeting added or moved): re-arm now."""
        aps = self._aps  # stop() may clear it meanwhile
        if aps is not None:
            aps.add_job(self._sweep, id="poke", replace_existing=True)

    def sweep_now(self) -> None:
        """One sweep in the caller's thread (the console, after moving its clock)."""
        self._sweep()

    def _sweep(self) -> None:
        with self._sweep_lock:
            self._sweep_locked()

    def _sweep_locked(self) -> None:
        try:
            if self._stopping.is_set() or not self.become_owner():
                return
            self.heartbeat()
            self.tick()
            while not self._stopping.is_set() and self.plan_if_new_owner(
                budget=PLAN_BUDGET_SECONDS
            ):
                self.heartbeat()
                self.tick()  # what falls due while a new owner plans goes out in between
            if self._stopping.is_set():
                return
            self._arm()
            for chore in self.chores:
                chore()
        except Exception:
            log.exception("reminder sweep failed; the next sweep tries again")

    def plan_if_new_owner(self, budget: float | None = None) -> int:
        """Once per ownership: plan the reminders of every upcoming meeting (the offsets
        may have changed, meetings may have been written by another process or a bulk
        load), a batch of meetings per transaction so that memory stays bounded and
        requests get the database in between. With a `budget` (seconds) it stops after
        that long and goes on where it left off at the next call, so that sweeps keep
        sending meanwhile. Returns how many meetings it looked at."""
        if not self._must_plan or not self._plan_lock.acquire(blocking=False):
            return 0
        try:
            assert self.offsets is not None and self.tz is not None
            began, seen = time.monotonic(), 0
            while self.is_owner and not self._stopping.is_set():
                with self.db.write() as session:
                    batch = reminders.plan_batch(
                        session, offsets=self.offsets, now=self.clock(), tz=self.tz,
                        after=self._planned_to, limit=self.plan_batch,
                    )  # fmt: skip
                if batch is None:
                    self._must_plan = False
                    log.info("reminders planned for every upcoming meeting, up to id %d",
                             self._planned_to)  # fmt: skip
                    break
                self._planned_to, seen = batch[0], seen + batch[1]
                if budget is not None and time.monotonic() - began > budget:
                    break
            return seen
        finally:
            self._plan_lock.release()

    def _arm(self) -> None:
        aps = self._aps  # stop() may clear it meanwhile: arm the one we had, or none
        if aps is None:
            return
        with self.db.read() as session:
            due = reminders.next_due(session)
        if due is None:
            return
        # `due` is on our clock, APScheduler's run_date on the wall clock: wake when our
        # clock reaches `due` (at once if it already has). A clock moved ahead (the
        # console's :tijd, a FrozenClock) keeps the wait, not the moment.
        wait = max(due - self.clock(), dt.timedelta(0))
        run_at = system_clock() + wait
        aps.add_job(
            self._sweep, "date", run_date=run_at, id="wake", replace_existing=True,
            misfire_grace_time=None,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop sweeping: a sweep under way finishes its fan-out, and only then is the lock
        released, so the next owner takes over cleanly."""
        self._stopping.set()
        with self._sweep_lock:  # a sweep under way ends first; later ones see _stopping
            aps, self._aps = self._aps, None
        if aps is not None:
            aps.shutdown(wait=True)  # no sweep left that could arm a job meanwhile
        was_owner = self.is_owner
        self.lock.release()
        self.is_owner = False
        metrics.SCHEDULER_OWNER.set(0)
        if aps is not None:
            log.info("the reminder scheduler stopped%s", " (lock released)" if was_owner else "")
