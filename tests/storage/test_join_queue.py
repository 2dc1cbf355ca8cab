"""Group commit of plain joins (storage/joins.py JoinQueue): joins that come together are
written in one transaction, in order, and a hurried join gives up without writing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services import communities
from storage.db import Database
from storage.errors import WriteBusy
from storage.joins import Joined
from storage.models import Membership
from tests.conftest import NOW
from tests.factories import add_community, write_lock_held


def _community(db: Database, slug: str = "ethiek", capacity: int | None = None) -> int:
    add_community(db, slug, capacity=capacity)
    with db.read() as session:
        return communities.resolve_id(session, slug)


def _waiting(db: Database, count: int) -> None:
    deadline = time.monotonic() + 5
    while db.join_queue.waiting < count:  # the joins queued behind the busy lock
        assert time.monotonic() < deadline, "the joins did not queue up"
        time.sleep(0.005)


def test_joins_that_come_while_the_lock_is_busy_are_written_in_one_commit_in_order(
    db: Database,
) -> None:
    community_id = _community(db, capacity=3)
    commits: list[int] = []
    results: dict[str, Joined | None] = {}

    def join(user: str) -> None:
        results[user] = db.join_queue.join(
            community_id=community_id, user_id=user, now=NOW, today=NOW.date()
        )

    users = [f"U{i}" for i in range(6)]
    with write_lock_held(db) as release:
        threads = []
        for number, user in enumerate(users, start=1):
            threads.append(threading.Thread(target=join, args=(user,)))
            threads[-1].start()
            _waiting(db, number)  # one after the other: the order of arrival is known
        db.after_write.append(lambda: commits.append(1))
        release.set()
        for thread in threads:
            thread.join(10)

    # After the holder's commit, the six joins in one transaction on SQLite (the first
    # join had the lock before it took the others). On PostgreSQL the first may take the
    # batch before the rest arrive and then wait for the row inside its statement: then
    # the other five go in one after it.
    batches = len(commits) - 1
    assert batches == 1 if db.is_sqlite else 1 <= batches <= 2
    with db.read() as session:
        rows = session.execute(
            select(Membership.user_id, Membership.status).order_by(Membership.seq)
        )
        assert [tuple(row) for row in rows] == [
            ("U0", "member"), ("U1", "member"), ("U2", "member"),
            ("U3", "waitlist"), ("U4", "waitlist"), ("U5", "waitlist"),
        ]  # fmt: skip
    assert {user: joined.status for user, joined in results.items() if joined} == {
        "U0": "member", "U1": "member", "U2": "member",
        "U3": "waitlist", "U4": "waitlist", "U5": "waitlist",
    }  # fmt: skip


def test_a_hurried_join_gives_up_and_writes_nothing_while_a_patient_one_waits_its_turn(
    db: Database,
) -> None:
    community_id = _community(db)
    patient: list[Joined | None] = []

    with write_lock_held(db):
        waiter = threading.Thread(
            target=lambda: patient.append(
                db.join_queue.join(
                    community_id=community_id, user_id="U1", now=NOW, today=NOW.date()
                )
            )
        )
        waiter.start()
        _waiting(db, 1)
        started = time.monotonic()
        with pytest.raises(WriteBusy):
            db.join_queue.join(
                community_id=community_id, user_id="U2", now=NOW, today=NOW.date(), wait=0.2
            )
        assert time.monotonic() - started < 2.0
    waiter.join(10)

    [joined] = patient
    assert joined is not None and joined.status == "member"
    with db.read() as session:
        assert list(session.scalars(select(Membership.user_id))) == ["U1"]


def test_a_leader_that_cannot_reach_the_database_gets_the_error_instead_of_hanging(
    tmp_path: Path,
) -> None:
    unreachable = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    errors: list[BaseException] = []

    def join() -> None:
        try:
            unreachable.join_queue.join(community_id=1, user_id="U1", now=NOW, today=NOW.date())
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=join)
    thread.start()
    thread.join(10)
    unreachable.dispose()

    assert not thread.is_alive()
    assert len(errors) == 1
    assert unreachable.join_queue.waiting == 0
