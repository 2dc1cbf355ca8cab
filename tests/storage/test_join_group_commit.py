"""Group commit of joins (storage/group_commit.py): joins that come together run the
membership service's own join in one transaction, in order, each in a savepoint of its
own; a hurried join gives up without writing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import membership
from bot.services.errors import AlreadyMember, RegistrationClosed
from bot.services.views import JoinResult
from storage.db import Database
from storage.errors import WriteBusy
from storage.models import Membership, OutboxItem
from tests.conftest import NOW
from tests.factories import add_community, write_lock_held
from tests.waiting import wait_until

AMS = ZoneInfo("Europe/Amsterdam")


def _join(user: str, slug: str = "ethiek") -> Callable[[Session], JoinResult]:
    return partial(membership.join, query=slug, user_id=user, now=NOW, tz=AMS)


def _waiting(db: Database, count: int) -> None:
    """Until `count` joins queue behind the busy lock (nothing signals a queued write)."""
    wait_until(lambda: db.group_commit.waiting >= count, f"{count} joins to queue up")


def _queued_behind_the_lock(
    db: Database, works: list[tuple[str, Callable[[Session], JoinResult]]]
) -> tuple[dict[str, JoinResult], dict[str, BaseException], int]:
    """Run `works` through the group commit one after the other while another writer holds
    the lock; the results, the errors, and how many commits followed the holder's."""
    commits: list[int] = []
    results: dict[str, JoinResult] = {}
    errors: dict[str, BaseException] = {}

    def run(name: str, work: Callable[[Session], JoinResult]) -> None:
        try:
            results[name] = db.group_commit.run(work)
        except Exception as exc:
            errors[name] = exc

    with write_lock_held(db) as release:
        threads = []
        for number, (name, work) in enumerate(works, start=1):
            threads.append(threading.Thread(target=run, args=(name, work)))
            threads[-1].start()
            _waiting(db, number)  # one after the other: the order of arrival is known
        db.after_write.append(lambda: commits.append(1))
        release.set()
        for thread in threads:
            thread.join(10)
    return results, errors, len(commits) - 1


def test_joins_that_come_while_the_lock_is_busy_are_written_in_one_commit_in_order(
    db: Database,
) -> None:
    add_community(db, "ethiek", capacity=3)
    users = [f"U{i}" for i in range(6)]

    results, errors, batches = _queued_behind_the_lock(db, [(u, _join(u)) for u in users])

    # After the holder's commit, the six joins in one transaction on SQLite (the first
    # join had the lock before it took the others). On PostgreSQL the first may take the
    # batch before the rest arrive and then wait for the row inside its statement: then
    # the other five go in one after it.
    assert errors == {}
    assert batches == 1 if db.is_sqlite else 1 <= batches <= 2
    with db.read() as session:
        rows = session.execute(
            select(Membership.user_id, Membership.status).order_by(Membership.seq)
        )
        assert [tuple(row) for row in rows] == [
            ("U0", "member"), ("U1", "member"), ("U2", "member"),
            ("U3", "waitlist"), ("U4", "waitlist"), ("U5", "waitlist"),
        ]  # fmt: skip
    assert {user: (r.outcome, r.position) for user, r in results.items()} == {
        "U0": ("member", None), "U1": ("member", None), "U2": ("member", None),
        "U3": ("waitlist", 1), "U4": ("waitlist", 2), "U5": ("waitlist", 3),
    }  # fmt: skip


def test_a_refused_join_in_a_batch_is_undone_alone_and_its_caller_gets_the_refusal(
    db: Database,
) -> None:
    add_community(db, "ethiek", capacity=2)
    add_community(db, "dicht", deadline=NOW.date().replace(year=NOW.year - 1))

    results, errors, batches = _queued_behind_the_lock(
        db,
        [
            ("first", _join("U1")),
            ("twice", _join("U1")),  # the same person again, in the same transaction
            ("closed", _join("U2", "dicht")),
            ("second", _join("U3")),
        ],
    )

    if db.is_sqlite:
        assert batches == 1
    assert isinstance(errors.pop("twice"), AlreadyMember)
    assert isinstance(errors.pop("closed"), RegistrationClosed)
    assert errors == {}
    assert (results["first"].outcome, results["second"].outcome) == ("member", "member")
    with db.read() as session:
        rows = session.execute(
            select(Membership.user_id, Membership.seq).order_by(Membership.seq)
        ).all()
        queued = session.scalars(select(OutboxItem.recipient).order_by(OutboxItem.id)).all()
    # The refusals' counter bumps were rolled back with their savepoints: no gap in seq.
    assert [tuple(row) for row in rows] == [("U1", 1), ("U3", 2)]
    # Each new member's welcome and calendar file, queued in the same transaction.
    assert list(queued) == ["U1", "U1", "U3", "U3"]


def test_a_hurried_join_gives_up_and_writes_nothing_while_a_patient_one_waits_its_turn(
    db: Database,
) -> None:
    add_community(db, "ethiek")
    patient: list[JoinResult] = []

    with write_lock_held(db) as release:
        waiter = threading.Thread(target=lambda: patient.append(db.group_commit.run(_join("U1"))))
        waiter.start()
        _waiting(db, 1)
        with pytest.raises(WriteBusy):
            db.group_commit.run(_join("U2"), wait=0.2)
        # It gave up while the lock was still held and the patient one still waited.
        assert release.held
        assert patient == []
        assert db.group_commit.waiting == 1
    waiter.join(30)

    [joined] = patient
    assert joined.outcome == "member"
    with db.read() as session:
        assert list(session.scalars(select(Membership.user_id))) == ["U1"]


def test_a_leader_that_cannot_reach_the_database_gets_the_error_instead_of_hanging(
    tmp_path: Path,
) -> None:
    unreachable = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    errors: list[BaseException] = []

    def join() -> None:
        try:
            unreachable.group_commit.run(_join("U1"))
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=join)
    thread.start()
    thread.join(10)
    unreachable.dispose()

    assert not thread.is_alive()
    assert len(errors) == 1
    assert unreachable.group_commit.waiting == 0
