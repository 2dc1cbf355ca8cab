"""Outbox rules the mutation run found unchecked: when a claim of a gone (or stuck) worker
is taken over and by whom, the order a claim takes items in, which kinds a poll finds,
the debounce of App Home refreshes, and the rows a welcome and a payload are written as."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.services import outbox
from storage.db import Database
from storage.models import OutboxItem
from tests.conftest import NOW

SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)


def _enqueue(db: Database, kind: str, recipient: str, *, now: dt.datetime = NOW) -> None:
    with db.write() as session:
        outbox.enqueue(session, kind=kind, recipient=recipient, subject="s", now=now)


def _claim(db: Database, kind: str, *, owner: str, now: dt.datetime,
           limit: int = 10) -> list[outbox.Item]:  # fmt: skip
    with db.write() as session:
        return outbox.claim(session, kind=kind, owner=owner, now=now, limit=limit)


def _due_kinds(db: Database, kinds: list[str], *, owner: str, now: dt.datetime) -> set[str]:
    with db.read() as session:
        return outbox.due_kinds(session, kinds=kinds, owner=owner, now=now)


def _rows(db: Database) -> list[OutboxItem]:
    with db.read() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _claimed(items: list[outbox.Item]) -> list[tuple[str, int, bool]]:
    return [(i.recipient, i.attempts, i.unsure) for i in items]


# Claims of a gone worker: its lease (4 s) plus the in-flight bound (3 s) must have passed.


def test_another_worker_s_claim_is_taken_over_only_once_lease_and_in_flight_bound_passed(
    db: Database,
) -> None:
    _enqueue(db, outbox.WELCOME, "U1")
    assert len(_claim(db, outbox.WELCOME, owner="dead", now=NOW)) == 1  # lease until NOW + 4 s

    at_bound = NOW + 7 * SECOND  # the lease ran out exactly 3 s ago: a post may still land
    assert _due_kinds(db, [outbox.WELCOME], owner="alive", now=at_bound) == set()
    assert _claim(db, outbox.WELCOME, owner="alive", now=at_bound) == []

    later = NOW + 8 * SECOND
    assert _due_kinds(db, [outbox.WELCOME], owner="alive", now=later) == {outbox.WELCOME}
    assert _claimed(_claim(db, outbox.WELCOME, owner="alive", now=later)) == [("U1", 2, True)]
    [row] = _rows(db)
    assert (row.state, row.claimed_by, row.claimed_at) == (OutboxItem.SENDING, "alive", later)


def test_a_worker_does_not_take_over_its_own_expired_lease_before_it_is_stuck(
    db: Database,
) -> None:
    _enqueue(db, outbox.WELCOME, "U1")
    assert len(_claim(db, outbox.WELCOME, owner="me", now=NOW)) == 1

    later = NOW + 8 * SECOND  # lease and in-flight bound passed, but the claim is mine
    assert _due_kinds(db, [outbox.WELCOME], owner="me", now=later) == set()
    assert _claim(db, outbox.WELCOME, owner="me", now=later) == []
    assert _due_kinds(db, [outbox.WELCOME], owner="other", now=later) == {outbox.WELCOME}
    assert _claimed(_claim(db, outbox.WELCOME, owner="other", now=later)) == [("U1", 2, True)]


def test_a_worker_s_own_claim_still_sending_after_five_minutes_is_taken_again_unsure(
    db: Database,
) -> None:
    _enqueue(db, outbox.WELCOME, "U1")
    assert len(_claim(db, outbox.WELCOME, owner="me", now=NOW)) == 1

    at_five_minutes = NOW + 5 * MINUTE  # exactly STUCK: not yet
    assert _due_kinds(db, [outbox.WELCOME], owner="me", now=at_five_minutes) == set()
    assert _claim(db, outbox.WELCOME, owner="me", now=at_five_minutes) == []

    later = at_five_minutes + SECOND
    assert _due_kinds(db, [outbox.WELCOME], owner="me", now=later) == {outbox.WELCOME}
    assert _claimed(_claim(db, outbox.WELCOME, owner="me", now=later)) == [("U1", 2, True)]


def test_an_abandoned_claim_is_found_and_taken_only_by_its_own_lane(db: Database) -> None:
    _enqueue(db, outbox.WELCOME, "U1")
    assert len(_claim(db, outbox.WELCOME, owner="dead", now=NOW)) == 1

    later = NOW + 10 * MINUTE  # abandoned by every measure
    lanes = [outbox.WELCOME, outbox.DECISION]
    assert _due_kinds(db, lanes, owner="alive", now=later) == {outbox.WELCOME}
    assert _due_kinds(db, [outbox.DECISION], owner="alive", now=later) == set()
    assert _claim(db, outbox.DECISION, owner="alive", now=later) == []
    [row] = _rows(db)
    assert (row.state, row.claimed_by, row.attempts) == (OutboxItem.SENDING, "dead", 1)


# The order a claim takes items in: by when they are due, then by when they were written.


def test_a_claim_takes_the_item_due_first_even_when_it_was_written_later(db: Database) -> None:
    _enqueue(db, outbox.WELCOME, "U-late", now=NOW + SECOND)  # written first, due later
    _enqueue(db, outbox.WELCOME, "U-early", now=NOW)

    first = _claim(db, outbox.WELCOME, owner="me", now=NOW + SECOND, limit=1)
    assert [i.recipient for i in first] == ["U-early"]


def test_an_abandoned_item_goes_before_due_ones_written_after_it_at_the_same_moment(
    db: Database,
) -> None:
    for recipient in ("U1", "U2", "U3"):
        _enqueue(db, outbox.WELCOME, recipient)
    assert [i.recipient for i in _claim(db, outbox.WELCOME, owner="dead", now=NOW, limit=1)] == [
        "U1"
    ]

    taken = _claim(db, outbox.WELCOME, owner="alive", now=NOW + 10 * SECOND, limit=2)
    assert _claimed(taken) == [("U1", 2, True), ("U2", 1, False)]


# App Home refreshes: one waiting refresh per person draws every change until it goes out.


def test_refreshing_nobody_s_home_queues_nothing(db: Database) -> None:
    with db.write() as session:
        assert outbox.queue_home_refresh(session, users=[], now=NOW) == 0
    assert _rows(db) == []


def test_a_home_refresh_waits_two_seconds_and_a_waiting_one_draws_the_next_change(
    db: Database,
) -> None:
    with db.write() as session:
        assert outbox.queue_home_refresh(session, users=["U2", "U1", "U2"], now=NOW) == 2
    with db.write() as session:
        assert outbox.queue_home_refresh(session, users=["U1", "U3"], now=NOW + SECOND) == 1

    assert [(r.kind, r.recipient, r.subject, r.state, r.not_before) for r in _rows(db)] == [
        (outbox.HOME_REFRESH, "U1", "", OutboxItem.PENDING, NOW + 2 * SECOND),
        (outbox.HOME_REFRESH, "U2", "", OutboxItem.PENDING, NOW + 2 * SECOND),
        (outbox.HOME_REFRESH, "U3", "", OutboxItem.PENDING, NOW + 3 * SECOND),
    ]
    assert _claim(db, outbox.HOME_REFRESH, owner="me", now=NOW + SECOND) == []  # not yet due


def test_a_refresh_already_sent_or_being_sent_does_not_absorb_a_new_change(
    db: Database,
) -> None:
    with db.write() as session:
        assert outbox.queue_home_refresh(session, users=["U1", "U2"], now=NOW) == 2
    sent, sending = _claim(db, outbox.HOME_REFRESH, owner="me", now=NOW + 2 * SECOND)
    with db.write() as session:
        outbox.mark_done(session, sent.id, now=NOW + 2 * SECOND)

    with db.write() as session:  # it may have drawn the home before this change
        assert outbox.queue_home_refresh(session, users=["U1", "U2"], now=NOW + 3 * SECOND) == 2
    assert [(r.recipient, r.state) for r in _rows(db)] == [
        ("U1", OutboxItem.DONE),
        ("U2", OutboxItem.SENDING),
        ("U1", OutboxItem.PENDING),
        ("U2", OutboxItem.PENDING),
    ]
    assert sending.recipient == "U2"


def test_another_kind_of_message_waiting_for_someone_does_not_stand_in_for_their_refresh(
    db: Database,
) -> None:
    _enqueue(db, outbox.WELCOME, "U1")
    with db.write() as session:
        assert outbox.queue_home_refresh(session, users=["U1"], now=NOW) == 1
    assert [(r.kind, r.recipient) for r in _rows(db)] == [
        (outbox.WELCOME, "U1"),
        (outbox.HOME_REFRESH, "U1"),
    ]


# The rows a welcome and a payload are written as.


def test_a_welcome_without_an_intro_carries_no_payload_and_a_promotion_names_its_intro(
    db: Database,
) -> None:
    with db.write() as session:
        outbox.queue_welcome(session, slug="ethiek", user_id="U1", now=NOW)
        outbox.queue_welcome(session, slug="ethiek", user_id="U2", now=NOW, intro="promoted")

    assert [(r.kind, r.recipient, r.subject, r.payload) for r in _rows(db)] == [
        (outbox.WELCOME, "U1", "ethiek", None),
        (outbox.WELCOME_CALENDAR, "U1", "ethiek", None),
        (outbox.PROMOTED, "U2", "ethiek", '{"intro":"promoted"}'),
        (outbox.WELCOME_CALENDAR, "U2", "ethiek", None),
    ]
    [welcome] = _claim(db, outbox.WELCOME, owner="me", now=NOW)
    assert welcome.payload == {}


def test_a_payload_is_stored_as_compact_json(db: Database) -> None:
    with db.write() as session:
        outbox.enqueue(session, kind=outbox.MEETING_NOTICE, recipient="U1", subject="7", now=NOW,
                       payload={"change": "moved", "at": "2026-11-30T10:00:00+00:00"})  # fmt: skip

    [row] = _rows(db)
    assert row.payload == '{"change":"moved","at":"2026-11-30T10:00:00+00:00"}'
