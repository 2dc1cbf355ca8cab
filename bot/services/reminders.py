"""Reminders before meetings: planning them, and fanning a due one out onto the delivery
road (bot/services/outbox.py): an item per member and one for the channel, written in
the transaction that marks the reminder fanned out."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from bot.services import outbox
from bot.services.communities import meeting_view
from bot.services.views import MeetingView
from storage.models import Community, Meeting, Membership, Reminder, Rsvp

log = logging.getLogger("cop_bot.reminders")


def offsets_for(community: Community, default: Sequence[dt.timedelta]) -> list[dt.timedelta]:
    """The community's own offsets from the catalogue, else the configured ones."""
    return _offsets(community.reminder_offsets, default)


def _offsets(own: str | None, default: Sequence[dt.timedelta]) -> list[dt.timedelta]:
    if own:
        from bot.config import parse_offsets

        return list(parse_offsets(own))
    return list(default)


def due_at(starts_at: dt.datetime, offset: dt.timedelta, tz: ZoneInfo) -> dt.datetime:
    """When a reminder `offset` before a meeting is due.

    Whole days count on the local calendar: "7 days before 30 March 14:00" is 23 March
    14:00 in Amsterdam, even though summer time began in between (13:00 UTC against the
    meeting's 12:00 UTC). Shorter offsets are exact durations.
    """
    if offset % dt.timedelta(days=1) == dt.timedelta(0):
        local = starts_at.astimezone(tz) - offset  # aware arithmetic is wall-clock arithmetic
        return local.astimezone(dt.UTC)
    return starts_at - offset


@dataclass(frozen=True)
class _Existing:
    id: int
    offset_seconds: int
    due_at: dt.datetime
    state: str


def _reconcile(
    meeting_id: int,
    starts_at: dt.datetime,
    scheduled: bool,
    wanted: set[int],
    existing: Sequence[_Existing],
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What must change for one meeting: rows to insert and (id, state, due_at) updates.

    Pending reminders follow the meeting; reminders already sent stay as they are. A
    reminder whose moment has already passed when it is planned is skipped, not sent late:
    nobody wants a "next week" reminder for tomorrow's meeting. Nothing that is already
    right is touched, so planning again is cheap.
    """
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for reminder in existing:
        if reminder.state == Reminder.FANNED_OUT:
            continue  # sent: history, whatever happens to the meeting now
        due = due_at(starts_at, dt.timedelta(seconds=reminder.offset_seconds), tz)
        if not scheduled or reminder.offset_seconds not in wanted:
            state, due = Reminder.CANCELLED, reminder.due_at
        elif due > now:
            state = Reminder.PENDING
        elif reminder.state == Reminder.PENDING and reminder.due_at == due:
            continue  # fell due while nobody sent it (the bot was down): it goes out now
        else:
            state = Reminder.SKIPPED
        if (state, due) != (reminder.state, reminder.due_at):
            updates.append({"id": reminder.id, "state": state, "due_at": due})
    if scheduled:
        have = {r.offset_seconds for r in existing}
        for seconds in sorted(wanted - have):
            due = due_at(starts_at, dt.timedelta(seconds=seconds), tz)
            inserts.append(
                {
                    "meeting_id": meeting_id,
                    "offset_seconds": seconds,
                    "due_at": due,
                    "state": Reminder.PENDING if due > now else Reminder.SKIPPED,
                    "created_at": now,
                }
            )
    return inserts, updates


def _apply(session: Session, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
    # Core statements, executed many: no ORM object per reminder is ever built.
    table = Reminder.__table__
    assert isinstance(table, Table)
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("rid"))
            .values(state=bindparam("new_state"), due_at=bindparam("new_due")),
            [{"rid": u["id"], "new_state": u["state"], "new_due": u["due_at"]} for u in updates],
        )


def _existing(session: Session, where: Any) -> list[tuple[int, _Existing]]:
    rows = session.execute(
        select(
            Reminder.meeting_id,
            Reminder.id,
            Reminder.offset_seconds,
            Reminder.due_at,
            Reminder.state,
        ).where(where)
    )
    return [(mid, _Existing(rid, off, due, state)) for mid, rid, off, due, state in rows]


def plan(
    session: Session,
    meeting: Meeting,
    offsets: Sequence[dt.timedelta],
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> None:
    """Make the reminder rows of `meeting` match `offsets` and its (possibly new) time.

    Pending reminders follow the meeting; reminders already sent stay as they are. A
    reminder whose moment has already passed when it is planned is skipped, not sent late.
    """
    session.flush()
    existing = [e for _, e in _existing(session, Reminder.meeting_id == meeting.id)]
    inserts, updates = _reconcile(
        meeting.id,
        meeting.starts_at,
        meeting.status == Meeting.SCHEDULED,
        {int(o.total_seconds()) for o in offsets},
        existing,
        now=now,
        tz=tz,
    )
    _apply(session, inserts, updates)
    session.flush()


def plan_batch(
    session: Session,
    *,
    offsets: Sequence[dt.timedelta],
    now: dt.datetime,
    tz: ZoneInfo,
    after: int,
    limit: int,
    community_ids: Collection[int] | None = None,
) -> tuple[int, int] | None:
    """Plan the reminders of up to `limit` meetings that have not begun, those with an id
    above `after` (keyset pagination), as plain rows: no ORM object per meeting or
    reminder. Returns (the last meeting id, how many meetings) looked at, or None when
    none were left."""
    meetings = select(Meeting.id, Meeting.community_id, Meeting.starts_at, Meeting.status).where(
        Meeting.starts_at > now, Meeting.id > after
    )
    communities = select(Community.id, Community.reminder_offsets)
    if community_ids is not None:
        meetings = meetings.where(Meeting.community_id.in_(community_ids))
        communities = communities.where(Community.id.in_(community_ids))
    batch = list(session.execute(meetings.order_by(Meeting.id).limit(limit)))
    if not batch:
        return None
    wanted = {
        cid: {int(o.total_seconds()) for o in _offsets(own, offsets)}
        for cid, own in session.execute(
            communities.where(Community.id.in_({cid for _, cid, _, _ in batch}))
        )
    }
    first, last = batch[0][0], batch[-1][0]
    existing: dict[int, list[_Existing]] = {}
    for mid, row in _existing(
        session, and_(Reminder.meeting_id >= first, Reminder.meeting_id <= last)
    ):
        existing.setdefault(mid, []).append(row)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for mid, cid, starts_at, status in batch:
        more, changed = _reconcile(
            mid,
            starts_at,
            status == Meeting.SCHEDULED,
            wanted[cid],
            existing.get(mid, ()),
            now=now,
            tz=tz,
        )
        inserts.extend(more)
        updates.extend(changed)
    _apply(session, inserts, updates)
    return int(last), len(batch)


def next_due(session: Session) -> dt.datetime | None:
    """When the scheduler must wake next: the earliest pending reminder. (What is fanned
    out waits in the outbox, whose delivery worker wakes by itself.)"""
    return session.scalar(
        select(func.min(Reminder.due_at)).where(Reminder.state == Reminder.PENDING)
    )


@dataclass(frozen=True)
class FanOut:
    reminder_id: int
    meeting: MeetingView
    skipped: bool
    recipients: int


def _superseded_by(session: Session, reminder: Reminder, now: dt.datetime) -> int | None:
    """The offset of a later reminder of the same meeting that is due as well (or already
    went out), if any: after downtime the 7-day reminder can be overdue while the 1-day
    one is due, and members should get one reminder for one meeting, not two at once."""
    return session.scalar(
        select(Reminder.offset_seconds)
        .where(
            Reminder.meeting_id == reminder.meeting_id,
            Reminder.id != reminder.id,
            Reminder.state.in_((Reminder.PENDING, Reminder.FANNED_OUT)),
            Reminder.due_at > reminder.due_at,
            Reminder.due_at <= now,
        )
        .order_by(Reminder.due_at.desc())
        .limit(1)
    )


def fan_out_due(session: Session, *, now: dt.datetime, limit: int = 100) -> list[FanOut]:
    """Turn up to `limit` due reminders into outbox items, one per member (and one for the
    channel), in the transaction that marks them fanned out. Call it again while it
    returns `limit` results.

    The recipients are the members at this moment: who joins later gets only later
    reminders. A reminder that fell due while the bot was down is still sent if its
    meeting has not begun; otherwise it is skipped and logged. Of several reminders of
    one meeting that are due at once only the latest goes out; and once a reminder went
    out, items of earlier reminders of its meeting still waiting (retries, downtime) are
    not sent (see `to_send`).
    """
    due = list(
        session.scalars(
            select(Reminder)
            .where(Reminder.state == Reminder.PENDING, Reminder.due_at <= now)
            .order_by(Reminder.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    results: list[FanOut] = []
    for reminder in due:
        meeting = reminder.meeting
        if meeting.status != Meeting.SCHEDULED or meeting.starts_at <= now:
            reminder.state, reminder.done_at = Reminder.SKIPPED, now
            log.warning(
                "reminder %s for meeting %s skipped: the meeting began at %s, before it went out",
                reminder.id, meeting.id, meeting.starts_at.isoformat(),
            )  # fmt: skip
            results.append(FanOut(reminder.id, meeting_view(meeting), True, 0))
            continue
        later = _superseded_by(session, reminder, now)
        if later is not None:
            reminder.state, reminder.done_at = Reminder.SKIPPED, now
            log.warning(
                "reminder %s for meeting %s (%s s before) skipped: overdue, and the later "
                "reminder (%s s before) is due as well",
                reminder.id, meeting.id, reminder.offset_seconds, later,
            )  # fmt: skip
            results.append(FanOut(reminder.id, meeting_view(meeting), True, 0))
            continue
        members = list(
            session.scalars(
                select(Membership.user_id)
                .where(
                    Membership.community_id == meeting.community_id,
                    Membership.status == Membership.MEMBER,
                )
                .order_by(Membership.seq)
            )
        )
        subject = str(reminder.id)
        count = outbox.enqueue_many(
            session, kind=outbox.REMINDER_DM, recipients=members, subject=subject, now=now
        )
        channel = meeting.community.channel_id
        if channel:
            outbox.enqueue(
                session, kind=outbox.REMINDER_CHANNEL, recipient=channel, subject=subject, now=now
            )
            count += 1
        reminder.state, reminder.done_at = Reminder.FANNED_OUT, now
        results.append(FanOut(reminder.id, meeting_view(meeting), False, count))
    session.flush()
    return results


@dataclass(frozen=True)
class ReminderMessage:
    """What one reminder says to one recipient, read when it is sent."""

    reminder_id: int
    recipient: str
    kind: str  # "dm" or "channel"
    offset_seconds: int
    meeting: MeetingView
    community_name: str
    community_slug: str
    agenda: str | None
    agenda_speakers: str | None = None
    # When the reminder fell due: its lag until sent is measured from here.
    due_at: dt.datetime | None = None
    # A DM's recipient's answer so far ("yes", "no"), so the reminder shows it.
    my_answer: str | None = None


def to_send(
    session: Session, *, reminder_id: int, recipient: str, dm: bool, now: dt.datetime
) -> ReminderMessage | None:
    """What the reminder `reminder_id` says to `recipient` now, or None when it must not go
    out any more: the reminder or its meeting is gone, the meeting was cancelled or has
    begun (a reminder still waiting then has lost its point), a later reminder of the
    same meeting went out meanwhile, or the recipient of a DM is no longer a member."""
    row = session.execute(
        select(Reminder, Meeting, Community)
        .join(Meeting, Reminder.meeting_id == Meeting.id)
        .join(Community, Meeting.community_id == Community.id)
        .where(Reminder.id == reminder_id)
    ).one_or_none()
    if row is None:
        return None
    reminder, meeting, community = row
    if meeting.status != Meeting.SCHEDULED or meeting.starts_at <= now:
        return None
    later = session.scalar(
        select(Reminder.id)
        .where(
            Reminder.meeting_id == meeting.id,
            Reminder.state == Reminder.FANNED_OUT,
            Reminder.due_at > reminder.due_at,
        )
        .limit(1)
    )
    if later is not None:
        return None
    answer = None
    if dm:
        found = session.execute(
            select(Membership.id, Rsvp.answer)
            .outerjoin(Rsvp, (Rsvp.meeting_id == meeting.id) & (Rsvp.user_id == recipient))
            .where(
                Membership.community_id == community.id,
                Membership.user_id == recipient,
                Membership.status == Membership.MEMBER,
            )
        ).first()
        if found is None:
            return None
        answer = found.answer
    return ReminderMessage(
        reminder_id=reminder.id,
        recipient=recipient,
        kind="dm" if dm else "channel",
        offset_seconds=reminder.offset_seconds,
        meeting=meeting_view(meeting),
        community_name=community.name,
        community_slug=community.slug,
        agenda=meeting.agenda,
        agenda_speakers=meeting.agenda_speakers,
        due_at=reminder.due_at,
        my_answer=answer,
    )
