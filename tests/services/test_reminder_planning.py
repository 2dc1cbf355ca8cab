"""Planning reminders for many meetings a batch at a time: exactly the missing reminders
are added, what is right is left alone, and a new scheduler owner plans what nobody did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import and_, delete, select, update

from bot.clock import FrozenClock
from bot.sandbox.standin import SlackStandIn
from bot.scheduler import ReminderScheduler
from bot.services import catalog, meetings
from storage.db import Database
from storage.models import Community, Meeting, Reminder
from tests.conftest import NOW
from tests.factories import add_community, meeting
from tests.services.reminder_support import (
    AMS,
    DAY,
    OFFSETS,
    WEEK,
    local,
    private_lock_key,
    utc,
)

THREE_DAYS = dt.timedelta(days=3)
# Every upcoming meeting lies past its 7-day moment, so each reminder planned is pending.
FIRST = local(2027, 3, 1, 14)


def spread(count: int, start: int = 0) -> tuple[catalog.MeetingSpec, ...]:
    """`count` weekly meetings, across the spring switch to summer time."""
    return tuple(
        meeting(FIRST + dt.timedelta(weeks=i), key=f"m{i}") for i in range(start, start + count)
    )


def communities(db: Database) -> None:
    """Two communities: one with the configured offsets, one with its own (3 days)."""
    add_community(db, "ethiek", meetings=spread(5))
    with db.write() as session:
        catalog.apply(
            session,
            [
                catalog.CommunitySpec(
                    slug="meten", name="Meten", programme="P", description="", capacity=None,
                    registration_deadline=None, approval=False, channel=None, facilitators=(),
                    reminders="3d", meetings=spread(4, start=2),
                )
            ],
            now=NOW,
        )  # fmt: skip
        # One meeting already over: planning leaves it alone.
        ethiek = session.scalars(select(Community).where(Community.slug == "ethiek")).one()
        session.add(Meeting(community_id=ethiek.id, key="past", starts_at=NOW - DAY))


def reminders_of(slug: str, key: str, offset: dt.timedelta | None = None) -> Any:
    """A WHERE clause for the reminders of one meeting (and offset)."""
    meeting_id = (
        select(Meeting.id)
        .join(Community, Meeting.community_id == Community.id)
        .where(Community.slug == slug, Meeting.key == key)
        .scalar_subquery()
    )
    clause = Reminder.meeting_id == meeting_id
    if offset is not None:
        clause = and_(clause, Reminder.offset_seconds == int(offset.total_seconds()))
    return clause


def sync(db: Database, batch_size: int) -> int:
    with db.write() as session:
        return meetings.sync_reminders(
            session, offsets=OFFSETS, now=NOW, tz=AMS, batch_size=batch_size
        )


def rows(db: Database) -> dict[tuple[str, str, int], tuple[int, dt.datetime, str]]:
    """(community slug, meeting key, offset) -> (reminder id, due at, state)."""
    with db.read() as session:
        found = session.execute(
            select(Meeting, Reminder).join(Reminder, Reminder.meeting_id == Meeting.id)
        )
        return {
            (m.community.slug, m.key, r.offset_seconds): (r.id, r.due_at, r.state) for m, r in found
        }


# The reminders every upcoming meeting must have, written out: (community, meeting,
# offset in seconds) -> when due, in UTC. Whole days count on Amsterdam's calendar, so a
# reminder due before summer time began (28 March 2027) is at 13:00 UTC and one after it
# at 12:00 UTC, for meetings that are all at 14:00 Amsterdam time.
ETHIEK = {
    ("ethiek", "m0", 604800): utc(2027, 2, 22, 13),
    ("ethiek", "m0", 86400): utc(2027, 2, 28, 13),
    ("ethiek", "m1", 604800): utc(2027, 3, 1, 13),
    ("ethiek", "m1", 86400): utc(2027, 3, 7, 13),
    ("ethiek", "m2", 604800): utc(2027, 3, 8, 13),
    ("ethiek", "m2", 86400): utc(2027, 3, 14, 13),
    ("ethiek", "m3", 604800): utc(2027, 3, 15, 13),
    ("ethiek", "m3", 86400): utc(2027, 3, 21, 13),
    # 29 March 14:00 is 12:00 UTC; a week before, 22 March 14:00, is 13:00 UTC.
    ("ethiek", "m4", 604800): utc(2027, 3, 22, 13),
    ("ethiek", "m4", 86400): utc(2027, 3, 28, 12),
}
METEN = {  # its own offset: 3 days
    ("meten", "m2", 259200): utc(2027, 3, 12, 13),
    ("meten", "m3", 259200): utc(2027, 3, 19, 13),
    ("meten", "m4", 259200): utc(2027, 3, 26, 13),
    ("meten", "m5", 259200): utc(2027, 4, 2, 12),
}


def test_planning_in_batches_smaller_than_the_meetings_adds_exactly_the_missing_reminders(
    db: Database,
) -> None:
    communities(db)
    assert sync(db, batch_size=1000) == 9
    before = rows(db)
    assert {k: due for k, (_, due, _) in before.items()} == ETHIEK | METEN
    # Some reminders go missing (meetings written in bulk, a crash); one went out already.
    with db.write() as session:
        for slug, key in (("ethiek", "m1"), ("ethiek", "m2"), ("meten", "m3")):
            session.execute(delete(Reminder).where(reminders_of(slug, key)))
        session.execute(delete(Reminder).where(reminders_of("ethiek", "m3", DAY)))
        session.execute(
            update(Reminder).where(reminders_of("ethiek", "m0", WEEK)).values(state="fanned_out")
        )
    kept = rows(db)
    assert len(before) - len(kept) == 6

    assert sync(db, batch_size=2) == 9

    after = rows(db)
    assert {k: due for k, (_, due, _) in after.items()} == ETHIEK | METEN
    assert {k: state for k, (_, _, state) in after.items() if k != ("ethiek", "m0", 604800)} == (
        dict.fromkeys(set(after) - {("ethiek", "m0", 604800)}, Reminder.PENDING)
    )
    # What was there stays as it was (same rows, same states); only the missing are new.
    assert {k: after[k] for k in kept} == kept
    assert len(after) == len(before)


def test_planning_again_in_batches_changes_nothing(db: Database) -> None:
    communities(db)
    sync(db, batch_size=3)
    first = rows(db)

    sync(db, batch_size=1)
    sync(db, batch_size=4)

    assert rows(db) == first


def test_planning_in_batches_follows_moved_and_cancelled_meetings_and_changed_offsets(
    db: Database,
) -> None:
    communities(db)
    sync(db, batch_size=2)
    moved_to = local(2027, 10, 31, 10)  # the autumn switch day
    with db.write() as session:
        session.execute(update(Meeting).where(Meeting.key == "m1").values(starts_at=moved_to))
        session.execute(update(Meeting).where(Meeting.key == "m3").values(status="cancelled"))

    with db.write() as session:
        meetings.sync_reminders(session, offsets=(DAY,), now=NOW, tz=AMS, batch_size=2)

    after = rows(db)
    # A day before 31 October 10:00 (CET, 09:00 UTC) is 30 October 10:00 (CEST).
    assert after[("ethiek", "m1", 86400)][1:] == (utc(2027, 10, 30, 8), Reminder.PENDING)
    # The 7-day offset is no longer wanted: cancelled, as are the cancelled meeting's.
    assert after[("ethiek", "m1", 604800)][2] == Reminder.CANCELLED
    assert {state for (slug, key, _), (_, _, state) in after.items() if key == "m3"} == {
        Reminder.CANCELLED
    }
    # The community with its own offsets keeps them.
    assert {off for (slug, _, off) in after if slug == "meten"} == {259200}


def test_planning_only_some_communities_leaves_the_others_alone(db: Database) -> None:
    communities(db)
    with db.write() as session:
        meten = session.scalars(select(Community.id).where(Community.slug == "meten")).one()
        meetings.sync_reminders(
            session, offsets=OFFSETS, now=NOW, tz=AMS, batch_size=2, community_ids=[meten]
        )

    assert {slug for slug, _, _ in rows(db)} == {"meten"}


@pytest.fixture
def owner(
    db: Database, standin: SlackStandIn, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ReminderScheduler]:
    private_lock_key(monkeypatch)
    scheduler = ReminderScheduler(
        db=db,
        clock=clock,
        offsets=(WEEK, DAY),
        tz=AMS,
        plan_batch=2,
    )
    yield scheduler
    scheduler.stop()


def test_a_new_scheduler_owner_plans_the_meetings_nobody_planned_once_in_batches(
    db: Database, owner: ReminderScheduler
) -> None:
    add_community(db, "ethiek", meetings=spread(5))
    assert rows(db) == {}

    assert owner.plan_if_new_owner() == 0  # not the owner yet: plans nothing
    assert owner.become_owner()
    assert owner.plan_if_new_owner() == 5
    assert owner.plan_if_new_owner() == 0  # once per ownership

    assert {k: due for k, (_, due, _) in rows(db).items()} == ETHIEK


def test_a_new_owner_with_a_time_budget_plans_a_slice_per_call_and_goes_on_where_it_stopped(
    db: Database, owner: ReminderScheduler
) -> None:
    add_community(db, "ethiek", meetings=spread(5))
    assert owner.become_owner()

    slices = [owner.plan_if_new_owner(budget=0) for _ in range(4)]

    assert slices == [2, 2, 1, 0]
    assert {k: due for k, (_, due, _) in rows(db).items()} == ETHIEK
