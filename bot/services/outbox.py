"""The outbox: Slack work that follows a request, kept in the database until it is done.

A join answers at once and sends the welcome DM straight after; the community's calendar
file follows through here, because uploading a file takes four Slack calls on a rate
tier of its own. Items are claimed by the process that runs the scheduler, at most
`rate` a minute; a claim older than CLAIM_TIMEOUT (its process died) is taken again, so
an item is done at least once (a crash between Slack's answer and the mark can repeat
one upload, which for a calendar file does no harm).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import OutboxItem

CLAIM_TIMEOUT = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
WELCOME_CALENDAR = "welcome_calendar"


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    recipient: str
    subject: str
    attempts: int


def enqueue(session: Session, *, kind: str, recipient: str, subject: str, now: dt.datetime) -> None:
    """Keep one piece of follow-up work; it is done after this transaction commits."""
    session.add(
        OutboxItem(kind=kind, recipient=recipient, subject=subject, not_before=now, created_at=now)
    )


def claim(session: Session, *, owner: str, now: dt.datetime, limit: int) -> list[Item]:
    """Take up to `limit` items that are due (or whose claim went stale), oldest first."""
    if limit <= 0:
        return []
    stale = now - CLAIM_TIMEOUT
    ids = list(
        session.scalars(
            select(OutboxItem.id)
            .where(
                or_(
                    (OutboxItem.state == OutboxItem.PENDING) & (OutboxItem.not_before <= now),
                    (OutboxItem.state == OutboxItem.SENDING) & (OutboxItem.claimed_at < stale),
                )
            )
            .order_by(OutboxItem.not_before, OutboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    rows = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids))
        .values(
            state=OutboxItem.SENDING,
            claimed_by=owner,
            claimed_at=now,
            attempts=OutboxItem.attempts + 1,
        )
        .returning(
            OutboxItem.id,
            OutboxItem.kind,
            OutboxItem.recipient,
            OutboxItem.subject,
            OutboxItem.attempts,
        )
    )
    return sorted((Item(*row) for row in rows), key=lambda item: ids.index(item.id))


def mark_done(session: Session, item_id: int, *, now: dt.datetime) -> None:
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(state=OutboxItem.DONE, done_at=now, error=None)
    )


def mark_failed(session: Session, item_id: int, *, error: str, now: dt.datetime) -> None:
    """Give up on an item (Slack refused for good, or it kept failing)."""
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(state=OutboxItem.FAILED, done_at=now, error=error[:200])
    )


def mark_retry(session: Session, item: Item, *, error: str, now: dt.datetime) -> None:
    """Try again later: 30 s, 1, 2, 4 minutes; after MAX_ATTEMPTS it fails."""
    if item.attempts >= MAX_ATTEMPTS:
        mark_failed(session, item.id, error=error, now=now)
        return
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item.id)
        .values(
            state=OutboxItem.PENDING,
            not_before=now + dt.timedelta(seconds=30 * 2 ** (item.attempts - 1)),
            claimed_by=None,
            claimed_at=None,
            error=error[:200],
        )
    )
