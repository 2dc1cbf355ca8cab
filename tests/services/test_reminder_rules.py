"""Reminder rules the mutation run (`./dev mutants`) found unchecked: how planning again
treats reminders whose moment has passed or come back, which meetings a planning batch
takes, what a fan-out result names, and which answer a DM reminder shows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from bot.services import communities, meetings, reminders
from storage.db import Database
from storage.models import Community, Meeting, Reminder
from tests.factories import add_community, meeting
from tests.services.reminder_support import AMS, DAY, OFFSETS, join, local, plan, utc

SLUG = "data-cop"
FACILITATOR = "UFAC"
STARTS = local(2027, 3, 30, 14)  # 12:00 UTC; summer time began on 28 March
DUE_WEEK = utc(2027, 3, 23, 13)  # 23 March 14:00, still winter time
DUE_DAY = utc(2027, 3, 29, 12)
PLANNED = utc(2027, 3, 1, 9)  # before every reminder's moment

Row = tuple[str, dt.datetime]  # (state, due at)


def _community(db: Database, *starts: dt.datetime) -> None:
    add_community(db, SLUG, facilitators=(FACILITATOR,),
                  meetings=tuple(meeting(s) for s in starts or (STARTS,)))  # fmt: skip


def _states(db: Database) -> dict[int, Row]:
    """Offset in seconds -> (state, due at) of the one meeting's reminders."""
    with db.read() as session:
        return {r.offset_seconds: (r.state, r.due_at) for r in session.scalars(select(Reminder))}


def _move(db: Database, to: dt.datetime, *, now: dt.datetime) -> None:
    with db.write() as session:
        meetings.move(
            session, query=SLUG, number=1, user_id=FACILITATOR, starts_at=to, admins=(),
            offsets=OFFSETS, now=now, tz=AMS,
        )  # fmt: skip


def _fan_out(db: Database, now: dt.datetime) -> list[reminders.FanOut]:
    with db.write() as session:
        return reminders.fan_out_due(session, now=now)


# Planning one meeting -----------------------------------------------------------------------


def test_reminders_planned_after_their_moment_are_skipped_and_all_record_when_planned(
    db: Database,
) -> None:
    _community(db)
    planned = utc(2027, 3, 25, 9)  # after the week reminder's moment, before the day's

    plan(db, planned)

    assert _states(db) == {
        604800: (Reminder.SKIPPED, DUE_WEEK),
        86400: (Reminder.PENDING, DUE_DAY),
    }
    with db.read() as session:
        assert set(session.scalars(select(Reminder.created_at))) == {planned}


def test_a_reminder_planned_at_its_very_moment_is_skipped(db: Database) -> None:
    _community(db)

    plan(db, DUE_DAY)

    assert _states(db) == {
        604800: (Reminder.SKIPPED, DUE_WEEK),
        86400: (Reminder.SKIPPED, DUE_DAY),
    }


def test_moving_a_meeting_earlier_skips_a_pending_reminder_whose_new_moment_has_passed(
    db: Database,
) -> None:
    _community(db)
    plan(db, PLANNED)

    # On 20 March, to 26 March 14:00 (13:00 UTC): a week before was 19 March.
    _move(db, local(2027, 3, 26, 14), now=utc(2027, 3, 20, 9))

    assert _states(db) == {
        604800: (Reminder.SKIPPED, utc(2027, 3, 19, 13)),
        86400: (Reminder.PENDING, utc(2027, 3, 25, 13)),
    }


def test_moving_a_meeting_so_a_pending_reminder_falls_due_at_this_very_moment_skips_it(
    db: Database,
) -> None:
    _community(db)
    plan(db, PLANNED)

    _move(db, local(2027, 3, 26, 14), now=utc(2027, 3, 19, 13))

    assert _states(db)[604800] == (Reminder.SKIPPED, utc(2027, 3, 19, 13))


def test_postponing_a_meeting_makes_a_skipped_reminder_pending_again_and_keeps_the_sent_one(
    db: Database,
) -> None:
    _community(db)
    plan(db, utc(2027, 3, 25, 9))  # too late for the week reminder: skipped
    [sent] = _fan_out(db, DUE_DAY)
    assert (sent.skipped, _states(db)[86400]) == (False, (Reminder.FANNED_OUT, DUE_DAY))

    # Two weeks later, in summer time: 13 April 14:00 is 12:00 UTC.
    _move(db, local(2027, 4, 13, 14), now=DUE_DAY + dt.timedelta(hours=1))

    assert _states(db) == {
        604800: (Reminder.PENDING, utc(2027, 4, 6, 12)),
        86400: (Reminder.FANNED_OUT, DUE_DAY),  # sent: history
    }


def test_an_overdue_reminder_stays_pending_when_the_offsets_change_and_a_dropped_one_is_cancelled(
    db: Database,
) -> None:
    _community(db)
    plan(db, PLANNED)

    # Down since before both moments; back, the week offset is no longer configured.
    plan(db, DUE_DAY + dt.timedelta(hours=1), offsets=(DAY,))

    assert _states(db) == {
        604800: (Reminder.CANCELLED, DUE_WEEK),
        86400: (Reminder.PENDING, DUE_DAY),  # still goes out: the meeting has not begun
    }


# Planning in batches ------------------------------------------------------------------------


def _sync(db: Database, now: dt.datetime, batch_size: int = 2000) -> int:
    with db.write() as session:
        return meetings.sync_reminders(
            session, offsets=OFFSETS, now=now, tz=AMS, batch_size=batch_size
        )


def _per_meeting(db: Database) -> dict[str, set[int]]:
    """Meeting key -> the offsets (in seconds) of its reminders."""
    with db.read() as session:
        found = session.execute(
            select(Meeting.key, Reminder.offset_seconds).join(
                Reminder, Reminder.meeting_id == Meeting.id
            )
        )
        result: dict[str, set[int]] = {}
        for key, seconds in found:
            result.setdefault(key, set()).add(seconds)
        return result


def test_a_meeting_that_begins_at_this_very_moment_is_not_planned(db: Database) -> None:
    _community(db)

    assert _sync(db, STARTS.astimezone(dt.UTC)) == 0
    assert _states(db) == {}


def test_batches_of_one_plan_every_meeting_even_when_they_were_added_or_moved_out_of_time_order(
    db: Database,
) -> None:
    add_community(db, SLUG)
    with db.write() as session:
        cid = communities.resolve(session, SLUG).id
        for key, starts in (("late", local(2027, 4, 27, 14)), ("early", local(2027, 3, 2, 14)),
                            ("mid", local(2027, 4, 6, 14))):  # fmt: skip
            session.add(Meeting(community_id=cid, key=key, starts_at=starts))
    with db.write() as session:  # the first one added is moved later still
        session.execute(
            update(Meeting).where(Meeting.key == "late").values(starts_at=local(2027, 5, 4, 14))
        )

    assert _sync(db, PLANNED, batch_size=1) == 3

    both = {604800, 86400}
    assert _per_meeting(db) == {"late": both, "early": both, "mid": both}


def test_planning_again_changes_nothing_when_a_community_was_created_after_others(
    db: Database,
) -> None:
    for slug in ("een", "twee", "drie"):
        add_community(db, slug)
    _community(db, STARTS, local(2027, 4, 6, 14))
    with db.read() as session:
        community_ids = set(session.scalars(select(Community.id)))
        meeting_ids = set(session.scalars(select(Meeting.id)))
    assert max(meeting_ids) < max(community_ids)  # the meetings' ids are lower than their own
    assert _sync(db, PLANNED) == 2
    with db.read() as session:
        first = {(r.id, r.meeting_id, r.offset_seconds) for r in session.scalars(select(Reminder))}
    assert len(first) == 4

    assert _sync(db, PLANNED) == 2

    with db.read() as session:
        again = {(r.id, r.meeting_id, r.offset_seconds) for r in session.scalars(select(Reminder))}
    assert again == first


# Fanning out --------------------------------------------------------------------------------


def test_each_fan_out_result_names_its_meeting_whether_sent_or_superseded(db: Database) -> None:
    _community(db)
    plan(db, PLANNED)

    # Down since before the week reminder: at the day reminder's moment, it supersedes it.
    fanned = _fan_out(db, DUE_DAY)

    assert [(f.skipped, f.meeting.key, f.meeting.starts_at) for f in fanned] == [
        (True, STARTS.isoformat(), STARTS),
        (False, STARTS.isoformat(), STARTS),
    ]


# What a DM says -----------------------------------------------------------------------------


def test_a_reminder_shows_each_member_their_own_answer_for_that_meeting_only(
    db: Database,
) -> None:
    second = local(2027, 4, 6, 14)
    _community(db, STARTS, second)
    join(db, SLUG, ("U1", "U2", "U3"), PLANNED)
    plan(db, PLANNED)
    with db.write() as session:
        first_id, second_id = session.scalars(select(Meeting.id).order_by(Meeting.starts_at))
        for meeting_id, user, coming in (
            (first_id, "U1", True),
            (first_id, "U2", False),
            (second_id, "U1", False),
            (second_id, "U3", True),  # U3 answered only for the other meeting
        ):
            meetings.rsvp(session, meeting_id=meeting_id, user_id=user, coming=coming,
                          now=PLANNED)  # fmt: skip
        week = session.scalars(
            select(Reminder.id).where(
                Reminder.meeting_id == first_id, Reminder.offset_seconds == 604800
            )
        ).one()

    def answer(recipient: str, *, dm: bool = True) -> str | None:
        with db.read() as session:
            message = reminders.to_send(
                session, reminder_id=week, recipient=recipient, dm=dm, now=DUE_WEEK
            )
        assert message is not None
        return message.my_answer

    assert answer("U1") == "yes"
    assert answer("U2") == "no"
    assert answer("U3") is None
    assert answer("CCHANNEL", dm=False) is None  # a channel has no answer of its own
