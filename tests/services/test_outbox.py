"""The outbox: follow-up work kept in the database and sent at Slack's pace."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.notifier import DeliveryError
from bot.outbox import Courier, OutboxSender
from bot.services import communities, membership, outbox
from storage.db import Database
from storage.models import OutboxItem
from tests.conftest import NOW
from tests.factories import add_community

AMS = ZoneInfo("Europe/Amsterdam")


def _quick_join(db: Database, user: str, slug: str) -> str | None:
    with db.read() as session:
        community_id = communities.resolve_id(session, slug)
    with db.raw_write() as cursor:
        result = membership.quick_join(
            partial(db.joins.join, cursor), community_id=community_id, user_id=user, now=NOW, tz=AMS
        )
    return None if result is None else result.outcome


def _items(db: Database) -> list[OutboxItem]:
    with db.read() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _queue(db: Database, count: int) -> None:
    with db.write() as session:
        for i in range(count):
            outbox.enqueue(
                session, kind="welcome_calendar", recipient=f"U{i}", subject="ethiek", now=NOW
            )


def test_a_new_member_s_welcome_and_calendar_file_are_queued_with_the_join_not_a_waitlister_s(
    db: Database,
) -> None:
    add_community(db, "klein", capacity=1)

    assert _quick_join(db, "U1", "klein") == "member"
    assert _quick_join(db, "U2", "klein") == "waitlist"

    assert sorted((i.kind, i.recipient, i.subject, i.state) for i in _items(db)) == [
        ("welcome", "U1", "klein", OutboxItem.PENDING),
        ("welcome_calendar", "U1", "klein", OutboxItem.PENDING),
    ]


def test_a_refused_join_queues_nothing(db: Database) -> None:
    add_community(db, "ethiek")
    assert _quick_join(db, "U1", "ethiek") == "member"

    assert _quick_join(db, "U1", "ethiek") is None  # already a member: the full path says so
    assert len(_items(db)) == 2


def test_the_sender_keeps_to_its_budget_and_sends_the_rest_later(db: Database) -> None:
    _queue(db, 5)
    sent: list[str] = []
    sender = OutboxSender(
        db, {"welcome_calendar": lambda item: sent.append(item.recipient)},
        owner="test", clock=lambda: NOW, rate_per_minute=60, burst=2,
    )  # fmt: skip

    assert sender.drain() == 2
    assert sent == ["U0", "U1"]
    assert [i.state for i in _items(db)] == ["done", "done", "pending", "pending", "pending"]
    sender._refilled -= 3.0  # three seconds later: three more tokens, but the burst caps at 2
    assert sender.drain() == 2
    assert sent == ["U0", "U1", "U2", "U3"]


def test_a_permanent_refusal_fails_the_item_and_a_passing_one_is_tried_later(
    db: Database,
) -> None:
    _queue(db, 2)

    def handler(item: outbox.Item) -> None:
        raise DeliveryError("user_not_found" if item.recipient == "U0" else "internal_error")

    sender = OutboxSender(db, {"welcome_calendar": handler}, owner="test", clock=lambda: NOW)
    assert sender.drain() == 2

    gone, later = _items(db)
    assert (gone.state, gone.error) == (OutboxItem.FAILED, "user_not_found")
    assert (later.state, later.error, later.attempts) == (OutboxItem.PENDING, "internal_error", 1)
    assert later.not_before == NOW + dt.timedelta(seconds=30)
    assert sender.drain() == 0  # not due yet


def test_an_item_claimed_by_a_process_that_died_is_taken_again(db: Database) -> None:
    _queue(db, 1)
    with db.write() as session:
        [claimed] = outbox.claim(session, kind="welcome_calendar", owner="dead", now=NOW, limit=10)
    sent: list[int] = []
    sender = OutboxSender(
        db, {"welcome_calendar": lambda item: sent.append(item.id)}, owner="alive",
        clock=lambda: NOW + outbox.CLAIM_TIMEOUT / 2,
    )  # fmt: skip
    assert sender.drain() == 0  # the claim is fresh: its process may still be at it

    sender.clock = lambda: NOW + outbox.CLAIM_TIMEOUT + dt.timedelta(seconds=1)
    assert sender.drain() == 1
    assert sent == [claimed.id]
    [item] = _items(db)
    assert (item.state, item.attempts) == (OutboxItem.DONE, 2)


def _queue_welcomes(db: Database, count: int, first: int = 0) -> None:
    with db.write() as session:
        for i in range(first, first + count):
            outbox.enqueue(session, kind=outbox.WELCOME, recipient=f"U{i}", subject="e", now=NOW)


def test_the_courier_sends_every_due_welcome_side_by_side_in_batches(db: Database) -> None:
    _queue_welcomes(db, 7)
    _queue(db, 2)  # calendar files: another lane, not the courier's
    sent: list[str] = []
    threads: set[str] = set()

    def send(item: outbox.Item) -> None:
        sent.append(item.recipient)
        threads.add(threading.current_thread().name)
        time.sleep(0.02)

    courier = Courier(db, {outbox.WELCOME: send}, owner="c", clock=lambda: NOW, batch=3)
    try:
        assert courier.drain() == 7
    finally:
        courier.close()

    assert sorted(sent) == [f"U{i}" for i in range(7)]
    assert len(threads) > 1
    states = {(i.kind, i.state) for i in _items(db)}
    assert states == {(outbox.WELCOME, OutboxItem.DONE), ("welcome_calendar", OutboxItem.PENDING)}
    assert courier.has_due() is False


def test_the_courier_fails_a_refused_welcome_and_tries_a_passing_failure_later(
    db: Database,
) -> None:
    _queue_welcomes(db, 3)

    def send(item: outbox.Item) -> None:
        if item.recipient == "U0":
            raise DeliveryError("user_not_found")
        if item.recipient == "U1":
            raise DeliveryError("ratelimited")

    courier = Courier(db, {outbox.WELCOME: send}, owner="c", clock=lambda: NOW)
    try:
        assert courier.drain() == 3
    finally:
        courier.close()

    gone, later, done = _items(db)
    assert (gone.state, gone.error) == (OutboxItem.FAILED, "user_not_found")
    assert (later.state, later.error) == (OutboxItem.PENDING, "ratelimited")
    assert later.not_before == NOW + dt.timedelta(seconds=30)
    assert done.state == OutboxItem.DONE


def test_kicks_during_a_drain_fold_into_one_more_round(db: Database) -> None:
    _queue_welcomes(db, 1)
    started = threading.Event()
    go_on = threading.Event()
    sent: list[str] = []

    def send(item: outbox.Item) -> None:
        started.set()
        go_on.wait(5)
        sent.append(item.recipient)

    courier = Courier(db, {outbox.WELCOME: send}, owner="c", clock=lambda: NOW)
    background: list[threading.Thread] = []
    drains: list[str] = []

    def run_in_background(what: str, fn: Callable[[], None]) -> None:
        drains.append(what)
        thread = threading.Thread(target=fn)
        background.append(thread)
        thread.start()

    try:
        courier.kick(run_in_background)
        assert started.wait(5)
        _queue_welcomes(db, 2, first=1)  # two more joins while the first welcome is underway
        courier.kick(run_in_background)
        courier.kick(run_in_background)
        go_on.set()
        for thread in background:
            thread.join(5)
    finally:
        courier.close()

    assert drains == ["outbox delivery"]  # one background task for all three kicks
    assert sorted(sent) == ["U0", "U1", "U2"]
    assert {i.state for i in _items(db)} == {OutboxItem.DONE}


def test_the_delivery_loop_sends_what_comes_in_and_what_is_due_when_stopped(
    db: Database,
) -> None:
    sent: list[str] = []
    courier = Courier(
        db, {outbox.WELCOME: lambda item: sent.append(item.recipient)}, owner="c",
        clock=lambda: NOW,
    )  # fmt: skip
    stop = threading.Event()
    loop = threading.Thread(target=courier.run, args=(stop,), kwargs={"poll_seconds": 0.05})
    loop.start()
    try:
        _queue_welcomes(db, 2)
        deadline = time.monotonic() + 5
        while len(sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(sent) == ["U0", "U1"]
    finally:
        stop.set()
        loop.join(5)
        courier.close()
    assert not loop.is_alive()


def test_the_delivery_loop_stops_when_the_process_that_started_it_is_gone(db: Database) -> None:
    courier = Courier(db, {outbox.WELCOME: lambda item: None}, owner="c", clock=lambda: NOW)
    loop = threading.Thread(
        target=courier.run,
        args=(threading.Event(),),
        kwargs={"poll_seconds": 0.01, "parent": os.getppid() + 1_000_000},
    )
    loop.start()
    loop.join(5)
    courier.close()
    assert not loop.is_alive()
