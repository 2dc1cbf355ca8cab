"""Reminders and meetings as members live them: on the local hour across summer time,
only to whoever is a member when one goes out, through downtime, moves and
cancellations; and whether people come."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.outbox import item_key
from bot.sandbox.standin import SlackStandIn
from bot.services import meetings, reminders
from bot.services.errors import MeetingOver, NotAllowed, NotInCommunity
from storage.db import Database
from storage.models import Meeting, OutboxItem, Reminder, Rsvp
from tests.factories import add_community, meeting
from tests.services.reminder_support import (
    AMS,
    DAY,
    OFFSETS,
    WEEK,
    Road,
    item_to,
    items,
    join,
    key_of,
    leave,
    local,
    plan,
    posts,
    private_lock_key,
    reminder,
    utc,
)

TWO_HOURS = dt.timedelta(hours=2)
# 30 March 2027, 14:00 in Amsterdam: summer time began two days before (28 March).
STARTS = local(2027, 3, 30, 14)
DUE_WEEK = utc(2027, 3, 23, 13)
DUE_DAY = utc(2027, 3, 29, 12)
SLUG = "data-cop"
FACILITATOR = "UFAC"


@pytest.fixture
def scheduler(
    db: Database, standin: SlackStandIn, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Road]:
    """The scheduler and the delivery worker of the one process that runs them."""
    private_lock_key(monkeypatch)
    made = Road(db, standin, clock)
    assert made.become_owner()
    yield made
    made.close()


def community(db: Database, clock: FrozenClock, members: tuple[str, ...] = ("U1", "U2")) -> None:
    add_community(db, SLUG, facilitators=(FACILITATOR,), meetings=(meeting(STARTS),))
    join(db, SLUG, members, clock())
    plan(db, clock())


def meeting_row(db: Database) -> Meeting:
    with db.read() as session:
        return session.scalars(select(Meeting)).one()


def reminder_rows(db: Database) -> dict[int, Reminder]:
    with db.read() as session:
        return {r.offset_seconds: r for r in session.scalars(select(Reminder))}


def dm_count(standin: SlackStandIn) -> Counter[str]:
    return Counter(call.args["channel"] for call in posts(standin))


# Summer time -------------------------------------------------------------------------------


def test_whole_day_reminders_keep_the_local_hour_across_the_spring_switch_and_hours_are_exact(
    db: Database, clock: FrozenClock
) -> None:
    add_community(db, SLUG, meetings=(meeting(STARTS),))
    plan(db, clock(), offsets=(*OFFSETS, TWO_HOURS))

    assert meeting_row(db).starts_at == utc(2027, 3, 30, 12)
    week = reminder(db, WEEK)
    assert week.due_at == utc(2027, 3, 23, 13)  # 14:00 winter time, not 12:00 UTC
    assert week.due_at.astimezone(AMS).hour == 14
    assert reminder(db, DAY).due_at == utc(2027, 3, 29, 12)
    assert reminder(db, TWO_HOURS).due_at == utc(2027, 3, 30, 10)


def test_whole_day_reminders_keep_the_local_hour_across_the_autumn_switch(
    db: Database, clock: FrozenClock
) -> None:
    # 1 November 2027, 14:00 winter time (13:00 UTC); summer time ended on 31 October.
    add_community(db, SLUG, meetings=(meeting(local(2027, 11, 1, 14)),))
    plan(db, clock(), offsets=(*OFFSETS, TWO_HOURS))

    assert meeting_row(db).starts_at == utc(2027, 11, 1, 13)
    week = reminder(db, WEEK)
    # 25 October 14:00 is still summer time: 12:00 UTC, 169 hours before the meeting.
    assert week.due_at == utc(2027, 10, 25, 12)
    assert week.due_at.astimezone(AMS) == local(2027, 10, 25, 14)
    assert reminder(db, DAY).due_at == utc(2027, 10, 31, 13)
    assert reminder(db, TWO_HOURS).due_at == utc(2027, 11, 1, 11)


def test_the_week_reminder_goes_out_at_the_local_hour_not_168_hours_before(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)

    clock.now = STARTS.astimezone(dt.UTC) - WEEK  # 168 hours before: 13:00 local, an hour early
    scheduler.tick()
    assert posts(standin) == []

    clock.now = DUE_WEEK
    scheduler.tick()
    assert dm_count(standin) == {"U1": 1, "U2": 1}


# Who gets a reminder ------------------------------------------------------------------------


def test_a_member_who_joins_after_a_reminder_went_out_gets_only_the_later_ones(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)
    clock.now = DUE_WEEK
    scheduler.tick()
    join(db, SLUG, ["U3"], clock())

    clock.now = DUE_DAY
    scheduler.tick()

    assert dm_count(standin) == {"U1": 2, "U2": 2, "U3": 1}
    [late] = posts(standin, "U3")
    assert key_of(late) == item_key(item_to(db, "U3", DAY).id, 0)


def test_a_member_who_leaves_before_the_reminder_is_due_gets_none(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)
    leave(db, SLUG, "U2", clock())

    clock.now = DUE_WEEK
    scheduler.tick()

    assert dm_count(standin) == {"U1": 1}


def test_a_member_who_leaves_after_the_fan_out_but_before_sending_is_skipped(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)
    clock.now = DUE_WEEK
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())
    assert item_to(db, "U2").state == OutboxItem.PENDING
    leave(db, SLUG, "U2", clock())

    scheduler.tick()

    assert dm_count(standin) == {"U1": 1}
    # Settled without a message: the rule is read when it goes out (reminders.to_send).
    assert item_to(db, "U2").state == OutboxItem.DONE
    assert [c.args["channel"] for c in posts(standin)] == ["U1"]


# Downtime ------------------------------------------------------------------------------------


def test_a_reminder_that_fell_due_while_nobody_ticked_goes_out_at_the_next_tick_before_the_meeting(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)
    clock.now = DUE_WEEK
    scheduler.tick()
    clock.now = DUE_DAY + dt.timedelta(hours=20)  # down all night; the meeting is at 12:00 UTC
    plan(db, clock())  # a restart plans reminders again: the overdue one must survive it
    assert reminder(db, DAY).state == Reminder.PENDING

    report = scheduler.tick()

    assert (report.fanned_out, report.skipped_reminders, report.handled) == (1, 0, 2)
    assert reminder(db, DAY).state == Reminder.FANNED_OUT
    assert dm_count(standin) == {"U1": 2, "U2": 2}
    assert {item_to(db, u, DAY).state for u in ("U1", "U2")} == {OutboxItem.DONE}


def test_a_reminder_that_fell_due_while_nobody_ticked_is_skipped_once_the_meeting_has_begun(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)
    clock.now = STARTS.astimezone(dt.UTC) + dt.timedelta(minutes=1)

    report = scheduler.tick()

    assert (report.fanned_out, report.skipped_reminders, report.handled) == (0, 2, 0)
    assert {r.state for r in reminder_rows(db).values()} == {Reminder.SKIPPED}
    assert posts(standin) == []
    assert items(db) == []


def test_after_more_than_two_days_down_the_overdue_week_reminder_still_goes_out_before_the_meeting(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)
    clock.now = DUE_WEEK + dt.timedelta(days=3)  # down from before the 7-day moment
    plan(db, clock())  # the restart plans again: the overdue reminder survives it

    report = scheduler.tick()

    assert (report.fanned_out, report.skipped_reminders, report.handled) == (1, 0, 2)
    assert reminder(db, WEEK).state == Reminder.FANNED_OUT
    assert reminder(db, DAY).state == Reminder.PENDING
    assert dm_count(standin) == {"U1": 1, "U2": 1}


def test_after_more_than_two_days_down_only_the_latest_of_two_due_reminders_goes_out(
    db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    scheduler: Road,
    caplog: pytest.LogCaptureFixture,
) -> None:
    community(db, clock)
    clock.now = DUE_DAY + dt.timedelta(hours=1)  # down for six days: both fell due
    plan(db, clock())
    assert {r.state for r in reminder_rows(db).values()} == {Reminder.PENDING}

    report = scheduler.tick()
    clock.advance(dt.timedelta(minutes=30))
    scheduler.tick()

    assert (report.fanned_out, report.skipped_reminders, report.handled) == (1, 1, 2)
    assert reminder(db, WEEK).state == Reminder.SKIPPED
    assert reminder(db, DAY).state == Reminder.FANNED_OUT
    assert dm_count(standin) == {"U1": 1, "U2": 1}
    assert {key_of(call) for call in posts(standin)} == {
        item_key(item_to(db, user, DAY).id, 0) for user in ("U1", "U2")
    }
    assert "skipped: overdue, and the later reminder" in caplog.text


def test_week_reminder_items_still_waiting_when_the_day_reminder_goes_out_are_skipped(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)
    clock.now = DUE_WEEK
    with db.write() as session:  # fanned out, then the bot went down before sending
        reminders.fan_out_due(session, now=clock())
    clock.now = DUE_DAY + dt.timedelta(minutes=10)

    report = scheduler.tick()

    # The week's items are settled without a message, the day's are sent.
    assert (report.fanned_out, report.handled) == (1, 4)
    assert dm_count(standin) == {"U1": 1, "U2": 1}
    assert {key_of(call) for call in posts(standin)} == {
        item_key(item_to(db, user, DAY).id, 0) for user in ("U1", "U2")
    }
    assert {item_to(db, u, WEEK).state for u in ("U1", "U2")} == {OutboxItem.DONE}
    assert {item_to(db, u, DAY).state for u in ("U1", "U2")} == {OutboxItem.DONE}


def test_after_days_down_past_the_meeting_every_reminder_is_skipped_and_logged(
    db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    scheduler: Road,
    caplog: pytest.LogCaptureFixture,
) -> None:
    community(db, clock)
    clock.now = STARTS.astimezone(dt.UTC) + dt.timedelta(days=3)

    report = scheduler.tick()

    assert (report.fanned_out, report.skipped_reminders, report.handled) == (0, 2, 0)
    assert posts(standin) == []
    assert caplog.text.count("before it went out") == 2


# Moves and cancellations -----------------------------------------------------------------------


def test_moving_a_meeting_replans_pending_reminders_keeps_sent_ones_and_tells_the_members(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    add_community(db, SLUG, facilitators=(FACILITATOR,))
    join(db, SLUG, ["U1", "U2"], clock())
    with db.write() as session:
        added = meetings.add(
            session, query=SLUG, user_id=FACILITATOR, starts_at=STARTS, admins=(),
            offsets=OFFSETS, now=clock(), tz=AMS,
        )  # fmt: skip
    assert added.members == ("U1", "U2")
    assert reminder(db, DAY).due_at == DUE_DAY
    clock.now = DUE_WEEK
    scheduler.tick()
    assert dm_count(standin) == {"U1": 1, "U2": 1}

    clock.now = DUE_WEEK + dt.timedelta(hours=1)
    later = local(2027, 4, 6, 14)
    with db.write() as session:
        change = meetings.move(
            session, query=SLUG, number=1, user_id=FACILITATOR, starts_at=later, admins=(),
            offsets=OFFSETS, now=clock(), tz=AMS,
        )  # fmt: skip

    assert change.previous_starts_at == STARTS
    assert change.meeting.starts_at == later
    assert change.members == ("U1", "U2")
    week, day = reminder(db, WEEK), reminder(db, DAY)
    assert (week.state, week.due_at) == (Reminder.FANNED_OUT, DUE_WEEK)  # sent: history
    assert (day.state, day.due_at) == (Reminder.PENDING, utc(2027, 4, 5, 12))

    clock.now = DUE_DAY  # the old moment
    scheduler.tick()
    assert dm_count(standin) == {"U1": 1, "U2": 1}
    clock.now = utc(2027, 4, 5, 12)
    scheduler.tick()
    assert dm_count(standin) == {"U1": 2, "U2": 2}


def test_cancelling_a_meeting_cancels_its_reminders_and_nothing_goes_out_at_their_moment(
    db: Database, standin: SlackStandIn, clock: FrozenClock, scheduler: Road
) -> None:
    community(db, clock)
    clock.now = DUE_WEEK
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())  # the week reminder is on its way out

    with db.write() as session:
        change = meetings.cancel(
            session, query=SLUG, number=1, user_id=FACILITATOR, admins=(), offsets=OFFSETS,
            now=clock(), tz=AMS,
        )  # fmt: skip

    assert change.members == ("U1", "U2")
    assert change.meeting.cancelled
    assert meeting_row(db).status == Meeting.CANCELLED
    assert change.previous_starts_at is None
    assert reminder(db, DAY).state == Reminder.CANCELLED
    for moment in (DUE_WEEK, DUE_DAY, DUE_DAY + dt.timedelta(hours=1)):
        clock.now = moment
        scheduler.tick()
    assert posts(standin) == []
    assert {item_to(db, u).state for u in ("U1", "U2")} == {OutboxItem.DONE}  # not sent


def test_someone_who_is_not_a_facilitator_cannot_move_or_cancel_a_meeting(
    db: Database, clock: FrozenClock
) -> None:
    community(db, clock)
    before = meeting_row(db)
    planned = {s: (r.state, r.due_at) for s, r in reminder_rows(db).items()}

    with pytest.raises(NotAllowed), db.write() as session:
        meetings.move(
            session, query=SLUG, number=1, user_id="U1", starts_at=local(2027, 4, 6, 14),
            admins=(), offsets=OFFSETS, now=clock(), tz=AMS,
        )  # fmt: skip
    with pytest.raises(NotAllowed), db.write() as session:
        meetings.cancel(
            session, query=SLUG, number=1, user_id="U1", admins=(), offsets=OFFSETS,
            now=clock(), tz=AMS,
        )  # fmt: skip

    after = meeting_row(db)
    assert (after.starts_at, after.status, after.sequence) == (
        before.starts_at, Meeting.SCHEDULED, before.sequence,
    )  # fmt: skip
    assert {s: (r.state, r.due_at) for s, r in reminder_rows(db).items()} == planned


# Whether people come --------------------------------------------------------------------------


def test_an_rsvp_is_recorded_can_be_changed_and_the_counts_follow(
    db: Database, clock: FrozenClock
) -> None:
    community(db, clock, members=("U1", "U2", "U3"))
    meeting_id = meeting_row(db).id

    def answer(user: str, coming: bool) -> tuple[str, int, int]:
        with db.write() as session:
            result = meetings.rsvp(
                session, meeting_id=meeting_id, user_id=user, coming=coming, now=clock()
            )
        return result.answer, result.coming, result.not_coming

    assert answer("U1", True) == (Rsvp.YES, 1, 0)
    assert answer("U2", True) == (Rsvp.YES, 2, 0)
    assert answer("U1", False) == (Rsvp.NO, 1, 1)
    with db.read() as session:
        assert session.scalars(select(Rsvp.answer).where(Rsvp.user_id == "U1")).all() == [Rsvp.NO]
        assert meetings.attendees(session, meeting_id=meeting_id) == ["U2"]


def test_only_members_may_rsvp_and_only_before_the_meeting_begins(
    db: Database, clock: FrozenClock
) -> None:
    community(db, clock)
    meeting_id = meeting_row(db).id

    with pytest.raises(NotInCommunity) as refused, db.write() as session:
        meetings.rsvp(session, meeting_id=meeting_id, user_id="UOUT", coming=True, now=clock())
    assert (refused.value.slug, refused.value.part) == (SLUG, "rsvps")
    clock.now = STARTS.astimezone(dt.UTC)
    with pytest.raises(MeetingOver), db.write() as session:
        meetings.rsvp(session, meeting_id=meeting_id, user_id="U1", coming=True, now=clock())
    with db.read() as session:
        assert session.scalars(select(Rsvp)).all() == []


def test_upcoming_meetings_show_the_counts_and_my_own_answer(
    db: Database, clock: FrozenClock
) -> None:
    community(db, clock, members=("U1", "U2", "U3"))
    meeting_id = meeting_row(db).id
    with db.write() as session:
        for user, coming in (("U1", True), ("U2", False), ("U3", True)):
            meetings.rsvp(session, meeting_id=meeting_id, user_id=user, coming=coming, now=clock())

    with db.read() as session:
        [mine] = meetings.upcoming(session, user_id="U2", query=None, now=clock())
        [theirs] = meetings.upcoming(session, user_id="UOUT", query=SLUG, now=clock())
        [admin] = meetings.upcoming(
            session, user_id="UADMIN", query=SLUG, now=clock(), admins={"UADMIN"}
        )
        assert meetings.upcoming(session, user_id="UOUT", query=None, now=clock()) == []

    assert (mine.number, mine.community_slug, mine.meeting.id) == (1, SLUG, meeting_id)
    assert (mine.coming, mine.not_coming, mine.my_answer, mine.members_view) == (
        2,
        1,
        Rsvp.NO,
        True,
    )
    # Someone outside the community sees the meeting, not who comes (bot.services.visibility).
    assert (theirs.meeting.id, theirs.members_view) == (meeting_id, False)
    assert (theirs.coming, theirs.not_coming, theirs.my_answer) == (0, 0, None)
    assert (admin.coming, admin.not_coming, admin.members_view) == (2, 1, True)
