"""Simultaneous joins and leaves, really at once: capacity holds and the queue keeps its order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import catalog, communities, membership
from bot.services.catalog import CommunitySpec
from bot.services.errors import AlreadyMember
from bot.services.views import JoinResult, LeaveResult
from storage.db import Database
from storage.models import Community, Membership
from tests.conftest import NOW
from tests.factories import add_community

AMS = ZoneInfo("Europe/Amsterdam")
T = TypeVar("T")


def run_at_once(
    databases: Database | list[Database],
    tasks: list[Callable[..., T]],
    *,
    own_transaction: bool = False,
) -> tuple[list[T], list[BaseException]]:
    """Run every task in its own thread and write session, released together by a barrier.
    With `own_transaction`, a task is given the Database and opens its own transaction.

    With several Database objects the threads take turns over them, as the worker
    processes of one deployment would: each has its own engine and pool.
    """
    pool = databases if isinstance(databases, list) else [databases]
    barrier = threading.Barrier(len(tasks))
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(database: Database, task: Callable[..., T]) -> None:
        try:
            # The barrier comes before the session: on SQLite a Database lets one
            # writer of its process in at a time, so a thread holding a session
            # would keep the others from ever reaching the barrier.
            barrier.wait(timeout=30)
            if own_transaction:
                outcome = task(database)
            else:
                with database.write() as session:
                    outcome = task(session)
            with lock:
                results.append(outcome)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(pool[i % len(pool)], task))
        for i, task in enumerate(tasks)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results, errors


def in_write(fn: Callable[[Session], T]) -> Callable[[Database], T]:
    def task(database: Database) -> T:
        with database.write() as session:
            return fn(session)

    return task


def full_join(user: str, slug: str = "groot") -> Callable[[Database], JoinResult]:
    return in_write(
        lambda session: membership.join(session, query=slug, user_id=user, now=NOW, tz=AMS)
    )


def grouped_join(user: str, slug: str = "groot") -> Callable[[Database], JoinResult]:
    """The join as `/cop aanmelden` does it: the service's own join, through the process's
    group commit (written together with the joins that arrive beside it), the community's
    id from an index read before."""

    def task(database: Database) -> JoinResult:
        with database.read() as session:
            community_id = communities.resolve_id(session, slug)
        work = partial(
            membership.join, query=slug, user_id=user, now=NOW, tz=AMS, community_id=community_id
        )
        return database.group_commit.run(work, order=community_id)

    return task


@pytest.fixture(params=["full", "grouped"])
def joining(request: pytest.FixtureRequest) -> Callable[..., Callable[[Database], JoinResult]]:
    """Every way a join is written: in a write transaction of its own, and through the
    group commit, together with the joins that arrive beside it."""
    return {"full": full_join, "grouped": grouped_join}[request.param]


def leaving(user: str, slug: str = "groot") -> Callable[[Database], LeaveResult]:
    return in_write(
        lambda session: membership.leave(session, query=slug, user_id=user, now=NOW, tz=AMS)
    )


@contextmanager
def databases_for(db: Database, db_url: str, processes: int) -> Iterator[list[Database]]:
    """The Database objects the threads write through: `db` shared when `processes` is 1,
    or one per "process" (on engines of their own), disposed of afterwards."""
    extra = [Database(db_url) for _ in range(processes - 1)]
    try:
        yield [db, *extra]
    finally:
        for database in extra:
            database.dispose()


@pytest.fixture(params=[1, 4], ids=["one-process", "four-processes"])
def writers(request: pytest.FixtureRequest, db: Database, db_url: str) -> Iterator[list[Database]]:
    """The Database objects the threads write through: one shared, or one per "process"."""
    with databases_for(db, db_url, request.param) as made:
        yield made


def rows(db: Database) -> list[Membership]:
    with db.read() as session:
        return list(session.scalars(select(Membership).order_by(Membership.seq)))


def test_forty_simultaneous_joins_fill_25_seats_and_queue_15_in_order_of_arrival(
    db: Database, writers: list[Database], joining: Callable[..., Callable[[Database], JoinResult]]
) -> None:
    add_community(db, "groot", capacity=25)
    users = [f"U{i:03d}" for i in range(40)]

    results, errors = run_at_once(writers, [joining(u) for u in users], own_transaction=True)

    assert errors == []
    assert len(results) == 40
    assert sorted(r.user_id for r in results) == users
    members = [r for r in results if r.outcome == "member"]
    waitlisted = [r for r in results if r.outcome == "waitlist"]
    assert (len(members), len(waitlisted)) == (25, 15)
    assert sorted(r.position for r in waitlisted if r.position is not None) == list(range(1, 16))

    stored = rows(db)
    seq = {m.user_id: m.seq for m in stored}
    # Every join took its own place in the queue: 1..40, no gaps, no twins.
    assert sorted(seq.values()) == list(range(1, 41))
    # The order of arrival is the order of the waitlist.
    by_arrival = sorted(waitlisted, key=lambda r: seq[r.user_id])
    assert [r.position for r in by_arrival] == list(range(1, 16))
    # Everyone who got a seat arrived before everyone who did not.
    assert max(seq[r.user_id] for r in members) < min(seq[r.user_id] for r in waitlisted)

    assert [m.status for m in stored].count(Membership.MEMBER) == 25
    assert [m.status for m in stored].count(Membership.WAITLIST) == 15
    assert len({(m.community_id, m.user_id) for m in stored}) == len(stored) == 40
    with db.read() as session:
        counter = session.scalar(select(Community.join_counter).where(Community.slug == "groot"))
    assert counter == 40


def test_simultaneous_leaves_and_joins_never_push_members_over_capacity(
    db: Database, writers: list[Database], joining: Callable[..., Callable[[Database], JoinResult]]
) -> None:
    add_community(db, "groot", capacity=25)
    old = [f"UOLD{i:02d}" for i in range(30)]
    for user in old:
        joining(user)(db)
    leavers = old[:20]  # 20 of the 25 members
    newcomers = [f"UNEW{i:02d}" for i in range(20)]
    tasks: list[Callable[..., object]] = []
    for leaver, newcomer in zip(leavers, newcomers, strict=True):
        tasks += [leaving(leaver), joining(newcomer)]

    results, errors = run_at_once(writers, tasks, own_transaction=True)

    assert errors == []
    assert len(results) == 40
    stored = rows(db)
    statuses = [m.status for m in stored]
    # 30 - 20 + 20 people remain: a full house and a queue behind it.
    assert len(stored) == 30
    assert statuses.count(Membership.MEMBER) == 25
    assert statuses.count(Membership.WAITLIST) == 5
    assert not {m.user_id for m in stored} & set(leavers)
    # The five old members who stayed kept their seats.
    members = {m.user_id for m in stored if m.status == Membership.MEMBER}
    assert set(old[20:25]) <= members
    promoted = [r.promoted.user_id for r in results if isinstance(r, LeaveResult) and r.promoted]
    # Whoever was promoted is a member now and was promoted only once.
    assert len(promoted) == len(set(promoted))
    assert set(promoted) <= members
    with db.read() as session:
        listed = membership.member_list(
            session, query="groot", user_id="UADMIN", admins={"UADMIN"}, now=NOW, tz=AMS
        )
    waitlist_seqs = [m.seq for m in stored if m.status == Membership.WAITLIST]
    assert waitlist_seqs == sorted(waitlist_seqs)
    assert len(listed.waitlist) == 5
    # Nobody waits while there is a seat nobody took.
    assert listed.community.member_count == 25


def test_the_same_person_joining_ten_times_at_once_joins_once(
    db: Database, writers: list[Database], joining: Callable[..., Callable[[Database], JoinResult]]
) -> None:
    add_community(db, "groot", capacity=25)

    results, errors = run_at_once(
        writers, [joining("UDUBBEL") for _ in range(10)], own_transaction=True
    )

    assert len(results) == 1
    assert results[0].outcome == "member"
    assert len(errors) == 9
    assert all(isinstance(e, AlreadyMember) for e in errors)
    with db.read() as session:
        count = session.scalar(select(func.count()).select_from(Membership))
    assert count == 1


def test_a_catalogue_reload_raising_capacity_amid_joins_fills_exactly_the_new_seats(
    db: Database, writers: list[Database], joining: Callable[..., Callable[[Database], JoinResult]]
) -> None:
    add_community(db, "groot", capacity=25)
    for i in range(30):
        joining(f"UOLD{i:02d}")(db)
    raised = CommunitySpec(
        slug="groot",
        name="Groot",
        programme="Testprogramma",
        description="Over deze community.",
        capacity=30,
        registration_deadline=None,
        approval=False,
        channel=None,
        facilitators=(),
        reminders=None,
    )
    tasks: list[Callable[..., object]] = [joining(f"UNEW{i:02d}") for i in range(20)]
    tasks.insert(10, in_write(lambda session: catalog.apply(session, [raised], now=NOW)))

    results, errors = run_at_once(writers, tasks, own_transaction=True)

    assert errors == []
    assert len(results) == 21
    stored = rows(db)
    members = [m for m in stored if m.status == Membership.MEMBER]
    waiting = [m for m in stored if m.status == Membership.WAITLIST]
    assert (len(members), len(waiting)) == (30, 20)
    # Seats went strictly by arrival: every member came before everyone waiting.
    assert max(m.seq for m in members) < min(m.seq for m in waiting)
