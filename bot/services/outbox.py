"""The outbox: every message the bot sends on its own, kept until it is sent.

A change that makes the bot say something (a join's welcome, a promotion from the
waitlist, an answer to a question, a meeting moved, an agenda posted) writes the intent
here in the same transaction as the change, so neither is lost when Slack is down or the
process dies after the answer. The delivery worker (bot/outbox.py) claims items with a
lease that it renews while it works; an item is marked the moment its messages are out.
A worker that dies leaves its claims "sending" with a lease that runs out: another
worker takes them over LEASE + IN_FLIGHT later, marked `unsure`, and looks each message
up in Slack by its key before posting it, so nothing is lost and nothing comes twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from storage.models import OutboxItem

# Updates go through the table, not the ORM: no objects in the session to keep in step.
_TABLE = cast(Table, OutboxItem.__table__)
_INSERT = insert(_TABLE)
# A claim lasts this long unless its worker renews it (it does, every LEASE / 3).
LEASE = dt.timedelta(seconds=4)
# After a lease ran out, a post the dead worker had sent may still be on its way into
# Slack: an item is taken over only this much later, so that the lookup finds it.
IN_FLIGHT = dt.timedelta(seconds=3)
# A claim of this very worker that is still "sending" after this long lost its mark (the
# write after the post failed): it is taken again, unsure.
STUCK = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 8

# The kinds of message, each a lane of its own (see bot/outbox.py and the README's table).
WELCOME = "welcome"  # a new member: channel invite and welcome DM
WELCOME_CALENDAR = "welcome_calendar"  # a new member: the community's .ics, at the file API's pace
PROMOTED = "promoted"  # moved up from the waitlist: invite and welcome with the news
APPROVAL_REQUEST = "approval_request"  # a join that needs a facilitator's yes, to each of them
DECISION = "decision"  # approved or declined, to the person who asked
QUESTION_ANSWERED = "question_answered"  # to the asker and the followers
QUESTION_STATUS = "question_status"  # picked up (desk research, working group) or closed
MEETING_NOTICE = "meeting_notice"  # a meeting added, moved or cancelled, to each member
MINUTES_NUDGE = "minutes_nudge"  # the day after a meeting, to its facilitators
AGENDA_POST = "agenda_post"  # the agenda in the community's channel
MINUTES_POST = "minutes_post"  # the minutes in the community's channel
LESSON_POST = "lesson_post"  # a lesson in the programme's lessons channel
FORGET_NOTICE = "forget_notice"  # to each admin: a forgotten person's facilitator roles ended
MEMBER_REMOVED = "member_removed"  # to the person a facilitator took out of a community
# The App Home of one person, published again after a change that concerns them (subject:
# ""); a second refresh queued before the first went out is the same item (see
# `queue_home_refresh`), so a burst of changes costs one views.publish.
HOME_REFRESH = "home_refresh"
APPOINTED = "appointed"  # to a newly appointed facilitator: what they may do now
# A reminder before a meeting (subject: the reminder's id), to each member and in the
# community's channel. The kinds keep the names the reminders' own ledger counted them by.
REMINDER_DM = "reminder_dm"
REMINDER_CHANNEL = "reminder_channel"
REMINDERS = (REMINDER_DM, REMINDER_CHANNEL)
KINDS = (
    WELCOME,
    WELCOME_CALENDAR,
    PROMOTED,
    APPROVAL_REQUEST,
    DECISION,
    QUESTION_ANSWERED,
    QUESTION_STATUS,
    MEETING_NOTICE,
    MINUTES_NUDGE,
    AGENDA_POST,
    MINUTES_POST,
    LESSON_POST,
    FORGET_NOTICE,
    MEMBER_REMOVED,
    HOME_REFRESH,
    APPOINTED,
    REMINDER_DM,
    REMINDER_CHANNEL,
)
# Kinds whose items post one channel message and then update it (subject: the meeting):
# each waits until the items before it for the same subject are done, so that a second
# save never runs before the first post's ts is stored (it would post a second message).
IN_ORDER = frozenset({AGENDA_POST, MINUTES_POST})


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    recipient: str
    subject: str
    attempts: int
    payload: Mapping[str, Any] = field(default_factory=dict)
    # An earlier attempt may have reached Slack: look each message up before posting it.
    unsure: bool = False
    created_at: dt.datetime | None = None


def _row(
    kind: str, recipient: str, subject: str, now: dt.datetime, payload: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "kind": kind, "recipient": recipient, "subject": subject, "state": OutboxItem.PENDING,
        "attempts": 0, "not_before": now, "created_at": now, "unsure": False,
        "payload": json.dumps(dict(payload), separators=(",", ":")) if payload else None,
    }  # fmt: skip


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """The outbox's rows as one Core statement on the session's connection (in its
    transaction): no ORM object for the unit of work to flush, nor the ORM's bulk path."""
    session.connection().execute(_INSERT, rows)


def enqueue(
    session: Session,
    *,
    kind: str,
    recipient: str,
    subject: str,
    now: dt.datetime,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Keep one message to send; it goes out after this transaction commits."""
    _insert(session, [_row(kind, recipient, subject, now, payload)])


def enqueue_many(
    session: Session,
    *,
    kind: str,
    recipients: Sequence[str],
    subject: str,
    now: dt.datetime,
    payload: Mapping[str, Any] | None = None,
) -> int:
    """One item of `kind` per recipient (a fan-out), as one statement executed many: no
    ORM object per recipient. Returns how many."""
    if not recipients:
        return 0
    _insert(session, [_row(kind, recipient, subject, now, payload) for recipient in recipients])
    return len(recipients)


# How long a refresh of someone's App Home waits, so that a burst of changes (approving
# five requests) is drawn once.
HOME_DEBOUNCE = dt.timedelta(seconds=2)


def queue_home_refresh(session: Session, *, users: Sequence[str], now: dt.datetime) -> int:
    """Publish the App Home of each of `users` again shortly after this transaction
    commits, unless a refresh of theirs is still waiting (then that one draws this change
    too). Returns how many were queued."""
    wanted = sorted(set(users))
    if not wanted:
        return 0
    waiting = set(
        session.scalars(
            select(OutboxItem.recipient).where(
                OutboxItem.kind == HOME_REFRESH,
                OutboxItem.state == OutboxItem.PENDING,
                OutboxItem.recipient.in_(wanted),
            )
        )
    )
    rows = [_row(HOME_REFRESH, u, "", now, None) for u in wanted if u not in waiting]
    for row in rows:
        row["not_before"] = now + HOME_DEBOUNCE
    if rows:
        _insert(session, rows)
    return len(rows)


def queue_welcome(
    session: Session, *, slug: str, user_id: str, now: dt.datetime, intro: str | None = None
) -> None:
    """A new member's channel invite and welcome DM (with `intro`, a catalogue key, as its
    opening line: "promoted", "outcome_member"), then the community's calendar file, sent
    by the delivery worker once this transaction commits. One statement for both."""
    kind = PROMOTED if intro == "promoted" else WELCOME
    _insert(
        session,
        [
            _row(kind, user_id, slug, now, {"intro": intro} if intro else None),
            _row(WELCOME_CALENDAR, user_id, slug, now, None),
        ],
    )


def _due(kind: str, now: dt.datetime) -> ColumnElement[bool]:
    due = (
        (OutboxItem.kind == kind)
        & (OutboxItem.state == OutboxItem.PENDING)
        & (OutboxItem.not_before <= now)
    )
    if kind not in IN_ORDER:
        return due
    # Not while another item of its subject is being sent, or an earlier one waits (for
    # its retry, say): one at a time per subject, in the order they were written.
    return due & ~OutboxItem.waits_behind()


def _abandoned(kind: str, owner: str, now: dt.datetime) -> ColumnElement[bool]:
    """Claims whose worker is gone (another's lease ran out, and the in-flight bound
    passed since), or this worker's own claims that lost their mark long ago."""
    return and_(
        OutboxItem.kind == kind,
        OutboxItem.state == OutboxItem.SENDING,
        or_(
            and_(OutboxItem.claimed_by != owner, OutboxItem.lease_until < now - IN_FLIGHT),
            OutboxItem.claimed_at < now - STUCK,
        ),
    )


def due_kinds(
    session: Session, *, kinds: Collection[str], owner: str, now: dt.datetime
) -> set[str]:
    """The kinds of which a claim would find something (due, or abandoned by a dead
    worker): one cheap read for every lane, which keeps idle polls off the write lock."""
    if not kinds:
        return set()
    found = union_all(
        *(
            select(literal(kind).label("kind")).where(
                exists(
                    select(OutboxItem.id).where(or_(_due(kind, now), _abandoned(kind, owner, now)))
                )
            )
            for kind in kinds
        )
    )
    return set(session.scalars(select(found.subquery().c.kind)))


def claim(
    session: Session,
    *,
    kind: str,
    owner: str,
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta = LEASE,
) -> list[Item]:
    """Take up to `limit` items of one kind that are due or abandoned, oldest first, under
    a lease of `lease` from `now`. An abandoned item comes back `unsure`."""
    if limit <= 0:
        return []
    found = list(
        session.execute(
            select(OutboxItem.id, OutboxItem.state)
            .where(or_(_due(kind, now), _abandoned(kind, owner, now)))
            .order_by(OutboxItem.not_before, OutboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not found:
        return []
    ids = [item_id for item_id, _ in found]
    abandoned = [item_id for item_id, state in found if state == OutboxItem.SENDING]
    if abandoned:
        session.execute(update(_TABLE).where(_TABLE.c.id.in_(abandoned)).values(unsure=True))
    rows = session.execute(
        update(_TABLE)
        .where(_TABLE.c.id.in_(ids))
        .values(
            state=OutboxItem.SENDING,
            claimed_by=owner,
            claimed_at=now,
            lease_until=now + lease,
            attempts=_TABLE.c.attempts + 1,
        )
        .returning(
            _TABLE.c.id,
            _TABLE.c.kind,
            _TABLE.c.recipient,
            _TABLE.c.subject,
            _TABLE.c.attempts,
            _TABLE.c.payload,
            _TABLE.c.unsure,
            _TABLE.c.created_at,
        )
    )
    order = {item_id: position for position, item_id in enumerate(ids)}
    items = [
        Item(
            id=row[0],
            kind=row[1],
            recipient=row[2],
            subject=row[3],
            attempts=row[4],
            payload=json.loads(row[5]) if row[5] else {},
            unsure=bool(row[6]),
            created_at=row[7],  # UTCDateTime hands it back aware, on every database
        )
        for row in rows
    ]
    return sorted(items, key=lambda item: order[item.id])


def renew(session: Session, *, owner: str, now: dt.datetime, lease: dt.timedelta = LEASE) -> int:
    """Extend the lease of everything `owner` holds; returns how many claims it holds."""
    result = session.execute(
        update(_TABLE)
        .where((_TABLE.c.claimed_by == owner) & (_TABLE.c.state == OutboxItem.SENDING))
        .values(lease_until=now + lease)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_done(session: Session, item_id: int, *, now: dt.datetime, ts: str | None = None) -> None:
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == item_id)
        .values(state=OutboxItem.DONE, done_at=now, error=None, ts=ts, lease_until=None)
    )


def mark_failed(session: Session, item_id: int, *, error: str, now: dt.datetime) -> None:
    """Give up on an item (Slack refused for good, or it kept failing): admins see it in
    `cop-bot outbox failed`."""
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == item_id)
        .values(state=OutboxItem.FAILED, done_at=now, error=error[:200], lease_until=None)
    )


def mark_retry(session: Session, item: Item, *, error: str, now: dt.datetime) -> None:
    """Try again later: 30 s, 1, 2, 4 minutes and so on; after MAX_ATTEMPTS it fails. Part
    of it may have reached Slack, so the next attempt looks before it posts."""
    if item.attempts >= MAX_ATTEMPTS:
        mark_failed(session, item.id, error=error, now=now)
        return
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == item.id)
        .values(
            state=OutboxItem.PENDING,
            not_before=now + dt.timedelta(seconds=min(30 * 2 ** (item.attempts - 1), 3600)),
            claimed_by=None,
            claimed_at=None,
            lease_until=None,
            unsure=True,
            error=error[:200],
        )
    )


@dataclass(frozen=True)
class Failure:
    id: int
    kind: str
    recipient: str
    subject: str
    error: str
    at: dt.datetime | None


def failures(session: Session, *, limit: int = 100) -> list[Failure]:
    """What could not be delivered, newest first, for admins."""
    rows = session.execute(
        select(
            OutboxItem.id,
            OutboxItem.kind,
            OutboxItem.recipient,
            OutboxItem.subject,
            OutboxItem.error,
            OutboxItem.done_at,
        )
        .where(OutboxItem.state == OutboxItem.FAILED)
        .order_by(OutboxItem.done_at.desc(), OutboxItem.id.desc())
        .limit(limit)
    )
    return [Failure(r[0], r[1], r[2], r[3], r[4] or "", r[5]) for r in rows]


def counts(session: Session) -> dict[tuple[str, str], int]:
    """How many items there are per (kind, state)."""
    rows = session.execute(
        select(OutboxItem.kind, OutboxItem.state, func.count()).group_by(
            OutboxItem.kind, OutboxItem.state
        )
    )
    return {(kind, state): int(n) for kind, state, n in rows}
