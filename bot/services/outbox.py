"""The outbox: Slack work that follows a request, kept in the database until it is done.

A join answers at once; the new member's welcome DM and the community's calendar file are
queued in the same transaction as the membership, so neither is lost when Slack is down
or the process dies after the answer. Each kind is a lane of its own (see bot/outbox.py):
welcomes go out at once, calendar files at the pace of Slack's file API (four calls on a
rate tier of their own). A claim older than CLAIM_TIMEOUT (its process died) is taken
again, so an item is done at least once: a crash between Slack's answer and the mark can
repeat one message, never lose it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Table, or_, select, update
from sqlalchemy.orm import Session

from storage.models import OutboxItem

# Updates go through the table, not the ORM: no objects in the session to keep in step.
_TABLE = cast(Table, OutboxItem.__table__)
CLAIM_TIMEOUT = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
WELCOME = "welcome"
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


def _due(kind: str, now: dt.datetime) -> ColumnElement[bool]:
    return (
        (OutboxItem.kind == kind)
        & (OutboxItem.state == OutboxItem.PENDING)
        & (OutboxItem.not_before <= now)
    )


def _stale(kind: str, now: dt.datetime) -> ColumnElement[bool]:
    return (
        (OutboxItem.kind == kind)
        & (OutboxItem.state == OutboxItem.SENDING)
        & (OutboxItem.claimed_at < now - CLAIM_TIMEOUT)
    )


def has_due(session: Session, *, kind: str, now: dt.datetime, stale: bool = False) -> bool:
    """Whether a claim would find something: a cheap read that keeps idle polls off the
    write lock. With `stale`, claims whose process died count too."""
    condition = or_(_due(kind, now), _stale(kind, now)) if stale else _due(kind, now)
    return session.scalar(select(OutboxItem.id).where(condition).limit(1)) is not None


def claim(session: Session, *, kind: str, owner: str, now: dt.datetime, limit: int) -> list[Item]:
    """Take up to `limit` items of one kind that are due (or whose claim went stale),
    oldest first."""
    if limit <= 0:
        return []
    ids = list(
        session.scalars(
            select(OutboxItem.id)
            .where(or_(_due(kind, now), _stale(kind, now)))
            .order_by(OutboxItem.not_before, OutboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    rows = session.execute(
        update(_TABLE)
        .where(_TABLE.c.id.in_(ids))
        .values(
            state=OutboxItem.SENDING,
            claimed_by=owner,
            claimed_at=now,
            attempts=_TABLE.c.attempts + 1,
        )
        .returning(
            _TABLE.c.id, _TABLE.c.kind, _TABLE.c.recipient, _TABLE.c.subject, _TABLE.c.attempts
        )
    )
    order = {item_id: position for position, item_id in enumerate(ids)}
    return sorted((Item(*row) for row in rows), key=lambda item: order[item.id])


def mark_done(session: Session, *item_ids: int, now: dt.datetime) -> None:
    if item_ids:
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.id.in_(item_ids))
            .values(state=OutboxItem.DONE, done_at=now, error=None)
        )


def mark_failed(session: Session, item_id: int, *, error: str, now: dt.datetime) -> None:
    """Give up on an item (Slack refused for good, or it kept failing)."""
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == item_id)
        .values(state=OutboxItem.FAILED, done_at=now, error=error[:200])
    )


def mark_retry(session: Session, item: Item, *, error: str, now: dt.datetime) -> None:
    """Try again later: 30 s, 1, 2, 4 minutes; after MAX_ATTEMPTS it fails."""
    if item.attempts >= MAX_ATTEMPTS:
        mark_failed(session, item.id, error=error, now=now)
        return
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == item.id)
        .values(
            state=OutboxItem.PENDING,
            not_before=now + dt.timedelta(seconds=30 * 2 ** (item.attempts - 1)),
            claimed_by=None,
            claimed_at=None,
            error=error[:200],
        )
    )
