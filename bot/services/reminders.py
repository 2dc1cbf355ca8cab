"""Reminders before meetings: planning them, fanning them out to a ledger, and claiming
deliveries so that each (reminder, recipient) goes out exactly once."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from bot.services.communities import meeting_view
from bot.services.views import MeetingView
from storage.models import Community, Delivery, Meeting, Membership, Reminder

log = logging.getLogger("cop_bot.reminders")

# A claim older than this belongs to a process that died or hung: see `stale_claims`.
CLAIM_TIMEOUT = dt.timedelta(minutes=2)


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
    after: int = 0,
    limit: int = 2000,
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
    """When the scheduler must wake next: the earliest pending reminder or retry."""
    reminder = session.scalar(
        select(func.min(Reminder.due_at)).where(Reminder.state == Reminder.PENDING)
    )
    retry = session.scalar(
        select(func.min(Delivery.not_before)).where(Delivery.state == Delivery.PENDING)
    )
    candidates = [t for t in (reminder, retry) if t is not None]
    return min(candidates) if candidates else None


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
    """Turn up to `limit` due reminders into ledger rows, one per member (and one for the
    channel). Call it again while it returns `limit` results.

    The recipients are the members at this moment: who joins later gets only later
    reminders. A reminder that fell due while the bot was down is still sent if its
    meeting has not begun; otherwise it is skipped and logged. Of several reminders of
    one meeting that are due at once only the latest goes out; and when a reminder goes
    out, deliveries of earlier reminders of its meeting still waiting (retries,
    downtime) are skipped.
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
        rows = [Delivery(reminder_id=reminder.id, recipient=u, kind="dm", not_before=now)
                for u in members]  # fmt: skip
        channel = meeting.community.channel_id
        if channel:
            rows.append(
                Delivery(reminder_id=reminder.id, recipient=channel, kind="channel", not_before=now)
            )
        session.add_all(rows)
        earlier = select(Reminder.id).where(
            Reminder.meeting_id == meeting.id,
            Reminder.id != reminder.id,
            Reminder.due_at < reminder.due_at,
        )
        session.execute(
            update(Delivery)
            .where(Delivery.state == Delivery.PENDING, Delivery.reminder_id.in_(earlier))
            .values(state=Delivery.SKIPPED, error="superseded")
            .execution_options(synchronize_session=False)
        )
        reminder.state, reminder.done_at = Reminder.FANNED_OUT, now
        results.append(FanOut(reminder.id, meeting_view(meeting), False, len(rows)))
    session.flush()
    return results


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    reminder_id: int
    recipient: str
    kind: str
    attempts: int
    offset_seconds: int
    meeting: MeetingView
    community_name: str
    community_slug: str
    agenda: str | None
    agenda_speakers: str | None = None
    claimed_at: dt.datetime | None = None
    # When the reminder fell due: its lag until sent is measured from here.
    due_at: dt.datetime | None = None


# A delivery with what its message needs: reminder, meeting and community.
_IN_CONTEXT = (
    select(Delivery, Reminder, Meeting, Community)
    .join(Reminder, Delivery.reminder_id == Reminder.id)
    .join(Meeting, Reminder.meeting_id == Meeting.id)
    .join(Community, Meeting.community_id == Community.id)
)


def _claimed(
    delivery: Delivery, reminder: Reminder, meeting: Meeting, community: Community
) -> Claimed:
    return Claimed(
        delivery_id=delivery.id,
        reminder_id=reminder.id,
        recipient=delivery.recipient,
        kind=delivery.kind,
        attempts=delivery.attempts,
        offset_seconds=reminder.offset_seconds,
        meeting=meeting_view(meeting),
        community_name=community.name,
        community_slug=community.slug,
        agenda=meeting.agenda,
        agenda_speakers=meeting.agenda_speakers,
        claimed_at=delivery.claimed_at,
        due_at=reminder.due_at,
    )


def claim(session: Session, *, owner: str, now: dt.datetime, limit: int = 200) -> list[Claimed]:
    """Mark up to `limit` due deliveries as being sent by `owner`; they are recorded
    before anything is posted. Deliveries to people who left the community, and those
    whose meeting was cancelled or has begun, are skipped."""
    rows = list(
        session.execute(
            _IN_CONTEXT.where(Delivery.state == Delivery.PENDING, Delivery.not_before <= now)
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update(of=Delivery, skip_locked=True)
        )
    )
    if not rows:
        return []
    still_members = set(
        session.execute(
            select(Membership.community_id, Membership.user_id).where(
                Membership.status == Membership.MEMBER,
                Membership.user_id.in_([d.recipient for d, *_ in rows if d.kind == "dm"]),
            )
        )
    )
    claimed: list[Claimed] = []
    for delivery, reminder, meeting, community in rows:
        # A reminder that is still waiting (retries, downtime) when its meeting begins
        # has lost its point: skipped, as fan_out_due does with whole reminders.
        if meeting.status != Meeting.SCHEDULED or meeting.starts_at <= now:
            delivery.state = Delivery.SKIPPED
            continue
        if delivery.kind == "dm" and (community.id, delivery.recipient) not in still_members:
            delivery.state = Delivery.SKIPPED
            continue
        delivery.state = Delivery.SENDING
        delivery.claimed_by, delivery.claimed_at = owner, now
        delivery.attempts += 1
        claimed.append(_claimed(delivery, reminder, meeting, community))
    session.flush()
    return claimed


def mark_sent(session: Session, delivery_id: int, *, ts: str, now: dt.datetime) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(state=Delivery.SENT, ts=ts, sent_at=now, error=None)
    )


def mark_failed(session: Session, delivery_id: int, *, error: str) -> None:
    """Slack refused for good (the person left Slack, the channel is archived, ...)."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(state=Delivery.FAILED, error=error[:200])
    )


def mark_retry(session: Session, delivery_id: int, *, error: str, at: dt.datetime) -> None:
    """A passing failure (5xx, time-out): try again at `at`."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(state=Delivery.PENDING, error=error[:200], not_before=at, claimed_by=None)
    )


def stale_claims(
    session: Session, *, alive_owner: str, now: dt.datetime, everything_else: bool
) -> list[Claimed]:
    """Deliveries left in "sending" by a process that is gone.

    With `everything_else`, every claim not made by `alive_owner` counts (the caller
    holds the scheduler lock, so no other process can be sending); otherwise only
    claims older than CLAIM_TIMEOUT.
    """
    condition = Delivery.state == Delivery.SENDING
    if everything_else:
        condition = and_(condition, Delivery.claimed_by != alive_owner)
    else:
        condition = and_(condition, Delivery.claimed_at < now - CLAIM_TIMEOUT)
    rows = session.execute(_IN_CONTEXT.where(condition).order_by(Delivery.id))
    return [_claimed(d, r, m, c) for d, r, m, c in rows]
