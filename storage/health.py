"""What the health checks and the metrics read: the scheduler's heartbeat and the backlog
of work that is due but not done. A few indexed aggregates, no rows are loaded."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from storage.models import OutboxItem, Reminder, SchedulerHeartbeat

if TYPE_CHECKING:
    from storage.db import Database

_UPDATE = "UPDATE scheduler_heartbeat SET owner = %(owner)s, beat_at = %(at)s WHERE id = 1"
_INSERT = "INSERT INTO scheduler_heartbeat (id, owner, beat_at) VALUES (1, %(owner)s, %(at)s)"


@dataclass(frozen=True)
class Beat:
    owner: str
    at: dt.datetime


def beat(db: Database, *, owner: str, at: dt.datetime) -> None:
    """Record that `owner` swept at `at`: one row, updated in place. On the driver's
    cursor, without after-write hooks, so that no cached read is dropped every sweep."""

    def own(sql: str) -> str:  # psycopg's %(name)s; sqlite3's :name
        return re.sub(r"%\((\w+)\)s", r":\1", sql) if db.is_sqlite else sql

    processor = SchedulerHeartbeat.__table__.c.beat_at.type.bind_processor(db.engine.dialect)
    values = {"owner": owner[:64], "at": processor(at) if processor else at}
    with db.raw_write(hooks=False) as cursor:
        cursor.execute(own(_UPDATE), values)
        if cursor.rowcount == 0:
            cursor.execute(own(_INSERT), values)


def last_beat(session: Session) -> Beat | None:
    row = session.get(SchedulerHeartbeat, 1)
    return None if row is None else Beat(row.owner, row.beat_at)


@dataclass(frozen=True)
class Queue:
    """Work of one kind that is due and not done: how many items, and since when the
    oldest has been due (None when there is none)."""

    name: str
    items: int
    oldest_due: dt.datetime | None


# The queues, by the name the metrics and /readyz give them.
REMINDERS = "reminders"  # reminders due, not yet fanned out to their members
# Their DMs and channel posts, like everything else the bot sends on its own, are the
# outbox's lanes (reminder_dm, reminder_channel, ...).


def backlog(
    session: Session,
    *,
    now: dt.datetime,
    kinds: Iterable[str] = (),
    in_order: Collection[str] = (),
) -> list[Queue]:
    """Every queue, also the empty ones (the outbox's lanes are `kinds`). "Due" is
    `not_before` (or a reminder's `due_at`) at or before `now`; items claimed and being
    sent count too. An item of an `in_order` lane that waits behind an earlier one of its
    subject is not due (that one is, once its retry is)."""
    queues: list[Queue] = []
    items, oldest = session.execute(
        select(func.count(), func.min(Reminder.due_at)).where(
            Reminder.state == Reminder.PENDING, Reminder.due_at <= now
        )
    ).one()
    queues.append(Queue(REMINDERS, int(items), oldest))
    found = {
        kind: (int(n), first)
        for kind, n, first in session.execute(
            select(OutboxItem.kind, func.count(), func.min(OutboxItem.not_before))
            .where(
                OutboxItem.state.in_((OutboxItem.PENDING, OutboxItem.SENDING)),
                OutboxItem.not_before <= now,
                ~(OutboxItem.kind.in_(in_order) & OutboxItem.waits_behind())
                if in_order
                else true(),
            )
            .group_by(OutboxItem.kind)
        )
    }
    for kind in sorted({*kinds, *found}):
        n, first = found.get(kind, (0, None))
        queues.append(Queue(kind, n, first))
    return queues
