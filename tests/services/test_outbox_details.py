"""Outbox rules the mutation run (`./dev mutants`) found unchecked: the admins' list of
failures, the counts per lane and state, the back-off between attempts, and what a claim
hands over."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from bot.services import outbox
from storage.db import Database
from storage.models import OutboxItem
from tests.conftest import NOW

SECOND = dt.timedelta(seconds=1)


def _enqueue(
    db: Database, kind: str, recipient: str, subject: str = "s", **payload: object
) -> None:
    with db.write() as session:
        outbox.enqueue(session, kind=kind, recipient=recipient, subject=subject, now=NOW,
                       payload=payload or None)  # fmt: skip


def _claim(db: Database, kind: str, *, limit: int = 10, owner: str = "me",
           now: dt.datetime = NOW) -> list[outbox.Item]:  # fmt: skip
    with db.write() as session:
        return outbox.claim(session, kind=kind, owner=owner, now=now, limit=limit)


def _row(db: Database, item_id: int) -> OutboxItem:
    with db.read() as session:
        row = session.get(OutboxItem, item_id)
        assert row is not None
        return row


def test_failures_list_what_failed_newest_first_with_who_what_and_why(db: Database) -> None:
    for recipient in ("U1", "U2", "U3", "U4"):
        _enqueue(db, "welcome", recipient, subject=f"cop-{recipient}")
    items = _claim(db, "welcome")
    with db.write() as session:
        outbox.mark_failed(session, items[0].id, error="user_not_found", now=NOW)
        outbox.mark_failed(session, items[1].id, error="x" * 250, now=NOW + SECOND)
        outbox.mark_failed(session, items[2].id, error="channel_not_found", now=NOW + SECOND)
        outbox.mark_done(session, items[3].id, now=NOW)
        session.execute(update(OutboxItem).where(OutboxItem.id == items[2].id).values(error=None))
    with db.read() as session:
        listed = outbox.failures(session)
        newest = outbox.failures(session, limit=1)
    assert [(f.id, f.kind, f.recipient, f.subject, f.error, f.at) for f in listed] == [
        (items[2].id, "welcome", "U3", "cop-U3", "", NOW + SECOND),  # same moment: higher id first
        (items[1].id, "welcome", "U2", "cop-U2", "x" * 200, NOW + SECOND),
        (items[0].id, "welcome", "U1", "cop-U1", "user_not_found", NOW),
    ]
    assert [f.id for f in newest] == [items[2].id]
    assert {_row(db, i.id).lease_until for i in items[:3]} == {None}  # a failure holds no lease


def test_counts_are_per_lane_and_state(db: Database) -> None:
    for recipient in ("U1", "U2", "U3"):
        _enqueue(db, "welcome", recipient)
    _enqueue(db, "decision", "U1")
    first = _claim(db, "welcome", limit=1)
    with db.write() as session:
        outbox.mark_done(session, first[0].id, now=NOW)
        counts = outbox.counts(session)
    assert counts == {("welcome", "done"): 1, ("welcome", "pending"): 2, ("decision", "pending"): 1}


def test_a_retry_waits_30_seconds_doubling_each_attempt_up_to_an_hour_then_fails(
    db: Database,
) -> None:
    _enqueue(db, "welcome", "U1")
    [item] = _claim(db, "welcome")
    waits = []
    now = NOW
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        with db.write() as session:
            outbox.mark_retry(session, item, error="ratelimited" + "!" * 300, now=now)
        row = _row(db, item.id)
        assert (row.state, row.claimed_by, row.claimed_at, row.lease_until, row.unsure) == (
            "pending",
            None,
            None,
            None,
            True,
        )
        assert row.error == ("ratelimited" + "!" * 300)[:200]
        waits.append(row.not_before - now)
        now = row.not_before
        assert _claim(db, "welcome", now=now - SECOND) == []  # not before its time
        [item] = _claim(db, "welcome", now=now)
    assert [int(w.total_seconds()) for w in waits] == [30, 60, 120, 240, 480, 960, 1920]
    assert item.attempts == outbox.MAX_ATTEMPTS
    with db.write() as session:
        outbox.mark_retry(session, item, error="still", now=now)
    row = _row(db, item.id)
    assert (row.state, row.error, row.done_at) == ("failed", "still", now)


def test_a_claim_hands_over_the_oldest_due_items_of_its_lane_with_their_payload(
    db: Database,
) -> None:
    _enqueue(db, "decision", "U1", outcome="member")
    _enqueue(db, "decision", "U2")
    _enqueue(db, "welcome", "U3")
    assert _claim(db, "decision", limit=0) == []
    items = _claim(db, "decision", limit=5, owner="worker-1")
    assert [(i.kind, i.recipient, i.payload, i.attempts, i.unsure) for i in items] == [
        ("decision", "U1", {"outcome": "member"}, 1, False),
        ("decision", "U2", {}, 1, False),
    ]
    assert all(i.created_at == NOW for i in items)
    row = _row(db, items[0].id)
    assert (row.state, row.claimed_by, row.claimed_at, row.lease_until) == (
        "sending", "worker-1", NOW, NOW + outbox.LEASE,
    )  # fmt: skip
    with db.read() as session:
        assert set(session.scalars(select(OutboxItem.state))) == {"sending", "pending"}


def test_renewing_extends_only_the_owners_claims_and_counts_them(db: Database) -> None:
    for recipient in ("U1", "U2", "U3"):
        _enqueue(db, "welcome", recipient)
    mine = _claim(db, "welcome", limit=2, owner="me")
    theirs = _claim(db, "welcome", limit=1, owner="them")
    with db.write() as session:
        outbox.mark_done(session, mine[1].id, now=NOW)
        held = outbox.renew(session, owner="me", now=NOW + 2 * SECOND)
    assert held == 1
    assert _row(db, mine[0].id).lease_until == NOW + 2 * SECOND + outbox.LEASE
    assert _row(db, mine[1].id).lease_until is None  # done: no lease
    assert _row(db, theirs[0].id).lease_until == NOW + outbox.LEASE


def test_done_clears_the_error_and_lease_and_keeps_the_ts(db: Database) -> None:
    _enqueue(db, "welcome", "U1")
    [item] = _claim(db, "welcome")
    with db.write() as session:
        outbox.mark_retry(session, item, error="eerst mis", now=NOW)
    [item] = _claim(db, "welcome", now=NOW + dt.timedelta(minutes=1))
    assert item.unsure is True
    with db.write() as session:
        outbox.mark_done(session, item.id, now=NOW + dt.timedelta(minutes=2), ts="1.5")
    row = _row(db, item.id)
    assert (row.state, row.error, row.ts, row.lease_until, row.done_at) == (
        "done", None, "1.5", None, NOW + dt.timedelta(minutes=2),
    )  # fmt: skip


def test_failures_come_by_when_they_failed_not_by_when_they_were_queued(db: Database) -> None:
    for recipient in ("U1", "U2"):
        _enqueue(db, "welcome", recipient)
    first, second = _claim(db, "welcome")
    with db.write() as session:
        outbox.mark_failed(session, second.id, error="eerst", now=NOW)
        outbox.mark_failed(session, first.id, error="later", now=NOW + SECOND)
        listed = outbox.failures(session)
    assert [f.id for f in listed] == [first.id, second.id]


def test_the_failures_list_holds_the_latest_hundred(db: Database) -> None:
    with db.write() as session:
        outbox.enqueue_many(session, kind="welcome", recipients=[f"U{i}" for i in range(101)],
                            subject="s", now=NOW)  # fmt: skip
    items = _claim(db, "welcome", limit=101)
    with db.write() as session:
        for n, item in enumerate(items):
            outbox.mark_failed(session, item.id, error="weg", now=NOW + n * SECOND)
        listed = outbox.failures(session)
    assert len(listed) == 100
    assert listed[-1].id == items[1].id  # the oldest failure is left out


def test_renewing_with_nothing_held_renews_nothing(db: Database) -> None:
    _enqueue(db, "welcome", "U1")
    with db.write() as session:
        assert outbox.renew(session, owner="nobody", now=NOW) == 0


def test_a_fan_out_queues_one_item_per_recipient_with_the_payload(db: Database) -> None:
    with db.write() as session:
        assert outbox.enqueue_many(session, kind="reminder_dm", recipients=[], subject="7",
                                   now=NOW) == 0  # fmt: skip
        assert outbox.enqueue_many(session, kind="reminder_dm", recipients=["U1", "U2"],
                                   subject="7", now=NOW, payload={"n": 1}) == 2  # fmt: skip
    assert [(i.recipient, i.payload) for i in _claim(db, "reminder_dm")] == [
        ("U1", {"n": 1}),
        ("U2", {"n": 1}),
    ]
