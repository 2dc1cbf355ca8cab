"""Reminder rules the mutation run (`./dev mutants`) found unchecked: what `to_send`
says and when it says nothing, which later reminder supersedes an overdue one, and a
community's own offsets."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select, update

from bot.services import communities, reminders
from bot.services.reminders import ReminderMessage
from storage.db import Database
from storage.models import Community, Meeting, Reminder
from tests.factories import add_community, meeting
from tests.services.reminder_support import DAY, WEEK, join, local, plan, reminder, utc

STARTS = local(2027, 3, 30, 14)  # 12:00 UTC
DUE_WEEK = utc(2027, 3, 23, 13)
DUE_DAY = utc(2027, 3, 29, 12)
PLANNED = utc(2027, 3, 1, 9)


def _community(db: Database, *, channel: str | None = "CDATA") -> None:
    add_community(db, "data-cop", name="Data CoP", capacity=2, channel=channel,
                  meetings=(meeting(STARTS),))  # fmt: skip
    add_community(db, "ander", name="Ander")
    join(db, "data-cop", ("U1", "U2", "UWAIT"), PLANNED)  # UWAIT: on the waitlist
    join(db, "ander", ("UELDERS",), PLANNED)
    plan(db, PLANNED)


def _to_send(
    db: Database, reminder_id: int, recipient: str, *, dm: bool = True, now: dt.datetime
) -> ReminderMessage | None:
    with db.read() as session:
        return reminders.to_send(
            session, reminder_id=reminder_id, recipient=recipient, dm=dm, now=now
        )


def _set_state(db: Database, reminder_id: int, state: str) -> None:
    with db.write() as session:
        session.execute(update(Reminder).where(Reminder.id == reminder_id).values(state=state))


def test_to_send_says_everything_the_message_needs(db: Database) -> None:
    _community(db)
    with db.write() as session:
        row = session.scalars(select(Meeting)).one()
        row.agenda, row.agenda_speakers = "1. Welkom", "Ans"
    week = reminder(db, WEEK)
    message = _to_send(db, week.id, "U1", now=DUE_WEEK)
    assert message is not None
    assert dataclasses.replace(message, meeting=None) == ReminderMessage(  # type: ignore[arg-type]
        reminder_id=week.id,
        recipient="U1",
        kind="dm",
        offset_seconds=int(WEEK.total_seconds()),
        meeting=None,  # type: ignore[arg-type]
        community_name="Data CoP",
        community_slug="data-cop",
        agenda="1. Welkom",
        agenda_speakers="Ans",
        due_at=DUE_WEEK,
    )
    assert message.meeting.starts_at == STARTS
    channel = _to_send(db, week.id, "CDATA", dm=False, now=DUE_WEEK)
    assert channel is not None
    assert (channel.kind, channel.recipient) == ("channel", "CDATA")


def test_to_send_goes_to_members_of_that_community_only(db: Database) -> None:
    _community(db)
    week = reminder(db, WEEK).id
    assert _to_send(db, week, "U2", now=DUE_WEEK) is not None
    assert _to_send(db, week, "UWAIT", now=DUE_WEEK) is None  # waitlisted, not a member
    assert _to_send(db, week, "UELDERS", now=DUE_WEEK) is None  # member of another community


def test_to_send_says_nothing_once_the_meeting_begins_or_is_cancelled(db: Database) -> None:
    _community(db)
    week = reminder(db, WEEK).id
    starts = STARTS.astimezone(dt.UTC)
    assert _to_send(db, week, "U1", now=starts - dt.timedelta(seconds=1)) is not None
    assert _to_send(db, week, "U1", now=starts) is None  # begun at this very moment
    with db.write() as session:
        session.execute(update(Meeting).values(status=Meeting.CANCELLED))
    assert _to_send(db, week, "U1", now=DUE_WEEK) is None


def test_to_send_says_nothing_when_a_later_reminder_of_that_meeting_went_out(
    db: Database,
) -> None:
    _community(db)
    add_community(db, "tweede", meetings=(meeting(STARTS),))
    join(db, "tweede", ("U1",), PLANNED)
    plan(db, PLANNED)
    week, day = (
        reminder(db, WEEK, _meeting_id(db, "data-cop")),
        reminder(db, DAY, _meeting_id(db, "data-cop")),
    )
    other_day = reminder(db, DAY, _meeting_id(db, "tweede"))
    _set_state(db, other_day.id, Reminder.FANNED_OUT)  # another meeting's: no matter
    assert _to_send(db, week.id, "U1", now=DUE_DAY) is not None
    _set_state(db, day.id, Reminder.FANNED_OUT)
    assert _to_send(db, week.id, "U1", now=DUE_DAY) is None
    assert _to_send(db, day.id, "U1", now=DUE_DAY) is not None  # the later one itself goes


def test_to_send_of_a_reminder_that_is_gone_is_nothing(db: Database) -> None:
    _community(db)
    assert _to_send(db, 999_999, "U1", now=DUE_WEEK) is None


def _meeting_id(db: Database, slug: str) -> int:
    with db.read() as session:
        cid = communities.resolve(session, slug).id
        return session.scalars(select(Meeting.id).where(Meeting.community_id == cid)).one()


def _fan_out(db: Database, now: dt.datetime) -> dict[int, tuple[bool, int]]:
    with db.write() as session:
        return {
            f.reminder_id: (f.skipped, f.recipients)
            for f in reminders.fan_out_due(session, now=now)
        }


def test_an_overdue_reminder_is_superseded_by_a_later_one_due_at_this_very_moment(
    db: Database,
) -> None:
    _community(db)
    week, day = reminder(db, WEEK).id, reminder(db, DAY).id
    # Down since before the week reminder; back exactly when the day reminder is due.
    assert _fan_out(db, DUE_DAY) == {week: (True, 0), day: (False, 3)}  # U1, U2, channel


def test_a_later_reminder_not_yet_due_supersedes_nothing(db: Database) -> None:
    _community(db)
    week = reminder(db, WEEK).id
    assert _fan_out(db, DUE_DAY - dt.timedelta(seconds=1)) == {week: (False, 3)}


def test_a_later_reminder_that_was_skipped_or_cancelled_supersedes_nothing(db: Database) -> None:
    _community(db)
    week, day = reminder(db, WEEK).id, reminder(db, DAY).id
    _set_state(db, day, Reminder.CANCELLED)
    # The day reminder's moment has passed, but it will never go: the week one still does.
    assert _fan_out(db, DUE_DAY) == {week: (False, 3)}


def test_a_later_reminder_of_another_meeting_supersedes_nothing(db: Database) -> None:
    _community(db, channel=None)
    # Its day reminder is due on 24 March 13:00 UTC, after our week reminder (23 March).
    add_community(db, "tweede", meetings=(meeting(local(2027, 3, 25, 14)),))
    plan(db, PLANNED)
    week = reminder(db, WEEK, _meeting_id(db, "data-cop")).id
    for offset in (WEEK, DAY):
        _set_state(db, reminder(db, offset, _meeting_id(db, "tweede")).id, Reminder.FANNED_OUT)
    # Back a day late: our week reminder is overdue, but no later one of ours is due.
    assert _fan_out(db, utc(2027, 3, 24, 14)) == {week: (False, 2)}


def test_a_community_plans_with_its_own_offsets_from_the_catalogue(db: Database) -> None:
    add_community(db, "eigen", meetings=(meeting(STARTS),))
    with db.write() as session:
        session.execute(update(Community).values(reminder_offsets="3d,2h"))
    with db.read() as session:
        row = communities.resolve(session, "eigen")
        assert reminders.offsets_for(row, (WEEK, DAY)) == [
            dt.timedelta(days=3),
            dt.timedelta(hours=2),
        ]
    with db.write() as session:
        session.execute(update(Community).values(reminder_offsets=None))
    with db.read() as session:
        row = communities.resolve(session, "eigen")
        assert reminders.offsets_for(row, (WEEK, DAY)) == [WEEK, DAY]


def test_reminders_still_due_when_the_meeting_begins_are_skipped_naming_the_meeting(
    db: Database,
) -> None:
    _community(db)
    week, day = reminder(db, WEEK).id, reminder(db, DAY).id
    with db.write() as session:
        fanned = reminders.fan_out_due(session, now=STARTS.astimezone(dt.UTC))
    assert [(f.reminder_id, f.skipped, f.recipients) for f in fanned] == [
        (week, True, 0),
        (day, True, 0),
    ]
    assert {f.meeting.starts_at for f in fanned} == {STARTS}


def test_a_reminder_of_a_community_without_members_or_channel_goes_to_nobody(
    db: Database,
) -> None:
    add_community(db, "leeg", meetings=(meeting(STARTS),))
    plan(db, PLANNED)
    week = reminder(db, WEEK).id
    assert _fan_out(db, DUE_WEEK) == {week: (False, 0)}
