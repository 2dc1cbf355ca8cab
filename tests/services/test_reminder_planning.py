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
from bot.services import catalog, meetings, reminders
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


def expected(db: Database) -> dict[tuple[str, str, int], dt.datetime]:
    """What the reminders of every upcoming scheduled meeting must be, from first principles."""
    with db.read() as session:
        upcoming = session.scalars(
            select(Meeting).where(Meeting.starts_at > NOW, Meeting.status == Meeting.SCHEDULED)
        )
        result = {}
        for m in upcoming:
            offsets = (THREE_DAYS,) if m.community.slug == "meten" else OFFSETS
            for offset in offsets:
                key = (m.community.slug, m.key, int(offset.total_seconds()))
                result[key] = reminders.due_at(m.starts_at, offset, AMS)
        return result


def test_planning_in_batches_smaller_than_the_meetings_adds_exactly_the_missing_reminders(
    db: Database,
) -> None:
    communities(db)
    assert sync(db, batch_size=1000) == 9
    before = rows(db)
    assert {k: due for k, (_, due, _) in before.items()} == expected(db)
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
    assert {k: due for k, (_, due, _) in after.items()} == expected(db)
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
    assert after[("ethiek", "m1", 86400)][1:] == (
        reminders.due_at(moved_to, DAY, AMS),
        Reminder.PENDING,
    )
    assert after[("ethiek", "m1", 86400)][1] == local(2027, 10, 30, 10).astimezone(dt.UTC)
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

    assert {k: due for k, (_, due, _) in rows(db).items()} == expected(db)


def test_a_new_owner_with_a_time_budget_plans_a_slice_per_call_and_goes_on_where_it_stopped(
    db: Database, owner: ReminderScheduler
) -> None:
    add_community(db, "ethiek", meetings=spread(5))
    assert owner.become_owner()

    slices = [owner.plan_if_new_owner(budget=0) for _ in range(4)]

    assert slices == [2, 2, 1, 0]
    assert {k: due for k, (_, due, _) in rows(db).items()} == expected(db)
