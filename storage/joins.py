"""The busiest write there is, a plain join, as two SQL statements on the driver's cursor.

A join is the one write that many people do at once (a new community opens, everyone
signs up). Through the ORM it costs several statements and a lot of Python while the
database's write lock is held, and everyone else's join waits for that. Here it is two
statements: the INSERT decides member or waitlist from the community's counters in
the database, and the UPDATE moves the counters and returns what the reply needs.

Only the plain case is done here: an open community without approval, and a person who
is not in it yet. Everything else (already a member, deadline passed, approval needed,
unknown community) answers None, and the caller takes the full path, which explains why.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Dialect

from storage.errors import WriteBusy
from storage.models import Community, Membership


class RawWriter(Protocol):
    """What JoinQueue needs of storage.db.Database, named here so that this module does
    not import the one that builds it (db imports joins)."""

    @property
    def joins(self) -> JoinStatements: ...

    def raw_write(
        self, *, wait: float | None = None, hooks: bool = True
    ) -> AbstractContextManager[Any]: ...

    def bound_lock_wait(self, cursor: Any, seconds: float) -> None: ...


_INSERT = """
INSERT INTO memberships (community_id, user_id, status, seq, created_at, updated_at)
SELECT c.id, %(uid)s,
       CASE WHEN c.capacity IS NOT NULL AND c.member_count >= c.capacity
            THEN 'waitlist' ELSE 'member' END,
       c.join_counter + 1, %(now)s, %(now)s
FROM communities AS c
WHERE c.id = %(cid)s
  AND NOT c.approval
  AND (c.registration_deadline IS NULL OR c.registration_deadline >= %(today)s)
{lock}
ON CONFLICT (community_id, user_id) DO NOTHING
RETURNING status
"""

_COUNT = """
UPDATE communities
SET join_counter = join_counter + 1,
    member_count = member_count + %(members)s,
    waitlist_count = waitlist_count + %(waiting)s,
    updated_at = %(now)s
WHERE id = %(cid)s
RETURNING slug, name, programme, capacity, registration_deadline, approval, channel_id,
          member_count, waitlist_count, join_counter
"""

# A new member's welcome DM and calendar file follow through the outbox
# (bot/services/outbox.py), queued in the same transaction as the membership.
_QUEUE_WELCOME = """
INSERT INTO outbox (kind, recipient, subject, state, attempts, not_before, created_at)
SELECT lane.kind, %(uid)s, c.slug, 'pending', 0, %(now)s, %(now)s
FROM communities AS c,
     (SELECT 'welcome' AS kind UNION ALL SELECT 'welcome_calendar') AS lane
WHERE c.id = %(cid)s
"""


@dataclass(frozen=True)
class Joined:
    """The new membership and the community's row after it."""

    status: str
    seq: int
    slug: str
    name: str
    programme: str
    capacity: int | None
    registration_deadline: dt.date | None
    approval: bool
    channel_id: str | None
    member_count: int
    waitlist_count: int


class JoinStatements:
    """The two statements in the driver's own dialect, with SQLAlchemy's own converters
    for dates and times, so the rows are exactly what the ORM writes and reads."""

    def __init__(self, dialect: Dialect) -> None:
        postgres = dialect.name == "postgresql"
        # PostgreSQL: lock the community's row, so that joins to one community decide
        # member-or-waitlist one after the other (SQLite's write lock already does).
        insert = _INSERT.format(lock="FOR UPDATE OF c" if postgres else "")
        statements: tuple[str, ...] = (insert, _COUNT, _QUEUE_WELCOME)
        if not postgres:
            statements = tuple(re.sub(r"%\((\w+)\)s", r":\1", sql) for sql in statements)
        self.insert, self.count, self.queue_welcome = statements
        created = Membership.__table__.c.created_at.type
        deadline = Community.__table__.c.registration_deadline.type
        self._time = created.bind_processor(dialect) or (lambda v: v)
        self._date_in = deadline.bind_processor(dialect) or (lambda v: v)
        self._date_out = deadline.result_processor(dialect, None) or (lambda v: v)

    def join(
        self, cursor: Any, *, community_id: int, user_id: str, now: dt.datetime, today: dt.date
    ) -> Joined | None:
        """Join `user_id` to the community (a new member's welcome DM and calendar file are
        queued in the outbox), or None when this is not the plain case (the transaction is
        unchanged)."""
        stamp = self._time(now)
        cursor.execute(
            self.insert,
            {"cid": community_id, "uid": user_id, "now": stamp, "today": self._date_in(today)},
        )
        inserted = cursor.fetchone()
        if inserted is None:
            return None
        status = str(inserted[0])
        cursor.execute(
            self.count,
            {
                "cid": community_id,
                "members": int(status == Membership.MEMBER),
                "waiting": int(status == Membership.WAITLIST),
                "now": stamp,
            },
        )
        row = cursor.fetchone()
        if status == Membership.MEMBER:
            cursor.execute(self.queue_welcome, {"cid": community_id, "uid": user_id, "now": stamp})
        return Joined(
            status=status,
            seq=int(row[9]),
            slug=row[0],
            name=row[1],
            programme=row[2],
            capacity=row[3],
            registration_deadline=self._date_out(row[4]),
            approval=bool(row[5]),
            channel_id=row[6],
            member_count=int(row[7]),
            waitlist_count=int(row[8]),
        )


@dataclass(eq=False)
class _Request:
    community_id: int
    user_id: str
    now: dt.datetime
    today: dt.date
    deadline: float | None  # time.monotonic() by which it gives up; None: it waits
    done: bool = False
    joined: Joined | None = None
    error: BaseException | None = None


class JoinQueue:
    """Group commit for plain joins: whoever finds no join being written becomes the
    leader, takes the write lock and then every join waiting by then, and writes them in
    one transaction; the others wait for their answer. On SQLite a commit writes whole
    pages to the log, so ten joins in one commit cost about a third of the CPU of ten
    commits (measured), and the write lock changes hands once per batch, not per join.

    The order of arrival is kept (a batch is written in the order joins came in). When a
    batch fails, each of its joins gets the error: IntegrityError sends the caller to the
    full path, as for a single join. A join given `wait` gives up with WriteBusy when it
    was not written within about that long; one without leads again."""

    MAX_BATCH = 64

    def __init__(self, db: RawWriter) -> None:
        self.db = db
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._in_flight = 0
        self._leading = False

    @property
    def waiting(self) -> int:
        """Joins given to this queue and not written yet."""
        with self._cond:
            return len(self._pending) + self._in_flight

    def join(
        self,
        *,
        community_id: int,
        user_id: str,
        now: dt.datetime,
        today: dt.date,
        wait: float | None = None,
    ) -> Joined | None:
        """As JoinStatements.join, in a transaction shared with the joins waiting beside
        it. With `wait`, raises WriteBusy when the lock was not had within about that long."""
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            request = _Request(community_id, user_id, now, today, deadline)
            self._run(request)
            if request.error is None:
                return request.joined
            if isinstance(request.error, WriteBusy) and deadline is None:
                continue  # written with a hurried leader that gave up; this one may wait
            raise request.error

    def _run(self, request: _Request) -> None:
        deadline = request.deadline
        with self._cond:
            self._pending.append(request)
            while not request.done:
                if not self._leading:
                    self._leading = True
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    if request in self._pending:
                        self._pending.remove(request)  # not taken into a batch yet: give up
                        request.error = WriteBusy()
                        return
                    left = None  # in a batch being written: its answer comes soon
                self._cond.wait(left)
            else:
                return
        try:
            while not request.done:
                self._write_batch(request)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()

    def _write_batch(self, leader: _Request) -> None:
        """Take the write lock, then every join waiting by then (so that the joins that
        came while the lock was busy go in too), and write them in one transaction."""
        batch: list[_Request] = []
        wait = None if leader.deadline is None else max(0.0, leader.deadline - time.monotonic())
        try:
            with self.db.raw_write(wait=wait) as cursor:
                with self._cond:
                    batch = self._pending[: self.MAX_BATCH]
                    del self._pending[: self.MAX_BATCH]
                    self._in_flight = len(batch)
                # On PostgreSQL the wait is for row locks, inside the statements: bound it
                # by the most hurried join of the batch (SQLite's lock is had by now).
                deadlines = [r.deadline for r in batch if r.deadline is not None]
                if deadlines:
                    self.db.bound_lock_wait(cursor, min(deadlines) - time.monotonic())
                for r in batch:
                    r.joined = self.db.joins.join(
                        cursor,
                        community_id=r.community_id,
                        user_id=r.user_id,
                        now=r.now,
                        today=r.today,
                    )
        except Exception as exc:
            if not batch:  # before any join was taken (the lock did not come, no
                # connection): only the leader gets the error, the others lead in turn
                with self._cond:
                    if leader in self._pending:
                        self._pending.remove(leader)
                batch = [leader]
            for r in batch:
                r.joined, r.error = None, exc
        with self._cond:
            for r in batch:
                r.done = True
            self._in_flight = 0
            self._cond.notify_all()
