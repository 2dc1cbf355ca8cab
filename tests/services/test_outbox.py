"""The delivery road: outbox items claimed under a lease, keyed, marked one by one."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.notifier import DeliveryError, Message, Notifier, keyed
from bot.outbox import Courier, Lane, item_key
from bot.sandbox.standin import SlackStandIn
from bot.services import membership, outbox
from bot.services.errors import DomainError
from bot.slack_notifier import SlackNotifier, make_web_client
from storage.db import Database
from storage.models import OutboxItem
from tests.conftest import NOW
from tests.factories import add_community
from tests.waiting import wait_until

AMS = ZoneInfo("Europe/Amsterdam")


def _quick_join(db: Database, user: str, slug: str) -> str | None:
    """A join as `/cop aanmelden` writes it; None when it is refused."""
    try:
        result = db.group_commit.run(
            partial(membership.join, query=slug, user_id=user, now=NOW, tz=AMS)
        )
    except DomainError:
        return None
    return result.outcome


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

    assert _quick_join(db, "U1", "ethiek") is None  # already a member: refused, nothing queued
    assert len(_items(db)) == 2


def _notifier(standin: SlackStandIn) -> SlackNotifier:
    return SlackNotifier(make_web_client("xoxb-test", standin.api_url))


def _dms(standin: SlackStandIn) -> list[tuple[str, str]]:
    return [(c.args["channel"], c.args["text"]) for c in standin.calls("chat.postMessage")]


def _say_hello(item: outbox.Item, notifier: Notifier) -> None:
    """A kind that sends two messages, as a welcome with a warning does."""
    notifier.send_dm(item.recipient, Message(text=f"hallo {item.recipient}"))
    notifier.send_dm(item.recipient, Message(text=f"en nog iets {item.recipient}"))


def _courier(db: Database, standin: SlackStandIn, clock: FrozenClock, **kw: object) -> Courier:
    return Courier(
        db, _notifier(standin), {outbox.WELCOME: kw.pop("lane", _say_hello)},  # type: ignore[dict-item]
        owner=str(kw.pop("owner", "alive")), clock=clock, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _queue_welcomes(db: Database, count: int, first: int = 0) -> None:
    with db.write() as session:
        for i in range(first, first + count):
            outbox.enqueue(session, kind=outbox.WELCOME, recipient=f"U{i}", subject="e", now=NOW)


def test_every_message_carries_its_item_s_key_and_the_item_is_marked_with_the_ts(
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    _queue_welcomes(db, 1)
    courier = _courier(db, standin, clock)
    try:
        assert courier.drain() == 1
    finally:
        courier.close()
    [item] = _items(db)
    first, second = standin.calls("chat.postMessage")
    assert first.args["metadata"]["event_payload"] == {"key": item_key(item.id, 0)}
    assert second.args["metadata"]["event_payload"] == {"key": item_key(item.id, 1)}
    assert (item.state, item.ts, item.lease_until) == (OutboxItem.DONE, second.response["ts"], None)


def test_a_paced_lane_keeps_to_its_budget_and_sends_the_rest_later(
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    _queue(db, 5)
    sent: list[str] = []
    courier = Courier(
        db, _notifier(standin),
        {"welcome_calendar": Lane(lambda item, n: sent.append(item.recipient),
                                  rate_per_minute=60, burst=2)},
        owner="test", clock=clock,
    )  # fmt: skip
    try:
        assert courier.drain() == 2
        assert sorted(sent) == ["U0", "U1"]
        assert sorted(i.state for i in _items(db)) == [
            "done",
            "done",
            "pending",
            "pending",
            "pending",
        ]
        courier._buckets["welcome_calendar"].refilled -= 3.0  # 3 s later: the burst caps at 2
        assert courier.drain() == 2
    finally:
        courier.close()
    assert len(sent) == 4


def test_a_permanent_refusal_fails_the_item_and_a_passing_one_is_tried_later(
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    _queue_welcomes(db, 3)

    def send(item: outbox.Item, notifier: Notifier) -> None:
        if item.recipient == "U0":
            raise DeliveryError("user_not_found")
        if item.recipient == "U1":
            raise DeliveryError("ratelimited")

    courier = _courier(db, standin, clock, lane=send)
    try:
        assert courier.drain() == 3
        assert courier.drain() == 0  # the retry is not due yet
    finally:
        courier.close()

    gone, later, done = _items(db)
    assert (gone.state, gone.error) == (OutboxItem.FAILED, "user_not_found")
    assert (later.state, later.error, later.unsure) == (OutboxItem.PENDING, "ratelimited", True)
    assert later.not_before == NOW + dt.timedelta(seconds=30)
    assert done.state == OutboxItem.DONE
    with db.read() as session:
        [failure] = outbox.failures(session)
    assert (failure.recipient, failure.error) == ("U0", "user_not_found")


def test_a_dead_worker_s_claim_is_taken_over_after_its_lease_and_nothing_comes_twice(
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    """The dead worker had posted the first of the item's two messages: the one that takes
    over finds it in Slack by its key and posts only the second."""
    _queue_welcomes(db, 1)
    with db.write() as session:
        [claimed] = outbox.claim(session, kind=outbox.WELCOME, owner="dead", now=NOW, limit=10)
    notifier = _notifier(standin)
    notifier.send_dm("U0", keyed(Message(text="hallo U0"), item_key(claimed.id, 0)))
    courier = _courier(db, standin, clock)
    try:
        clock.now = NOW + outbox.LEASE  # the lease has just run out: a post may be in flight
        assert courier.drain() == 0
        clock.now = NOW + outbox.LEASE + outbox.IN_FLIGHT + dt.timedelta(seconds=1)
        assert courier.drain() == 1
    finally:
        courier.close()
    assert _dms(standin) == [("U0", "hallo U0"), ("U0", "en nog iets U0")]
    [item] = _items(db)
    assert (item.state, item.attempts, item.unsure) == (OutboxItem.DONE, 2, True)


def test_a_live_worker_renews_its_leases_so_nobody_takes_its_items(
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    _queue_welcomes(db, 1)
    started, go_on = threading.Event(), threading.Event()

    def slow(item: outbox.Item, notifier: Notifier) -> None:
        started.set()
        assert go_on.wait(10)
        notifier.send_dm(item.recipient, Message(text="hallo"))

    lease = dt.timedelta(seconds=0.3)
    busy = _courier(db, standin, clock, lane=slow, owner="busy", lease=lease)
    other = _courier(db, standin, clock, owner="other", lease=lease)
    worker = threading.Thread(target=busy.drain)
    worker.start()
    try:
        assert started.wait(5)
        with db.read() as session:
            first = session.scalars(select(OutboxItem.lease_until)).one()
        # Past the point where the first lease would be taken over ...
        clock.now = first + outbox.IN_FLIGHT + dt.timedelta(seconds=0.1)

        def renewed() -> bool:  # ... the worker renews it from the clock's now
            with db.read() as session:
                return session.scalars(select(OutboxItem.lease_until)).one() >= clock.now

        wait_until(renewed, "the lease to be renewed")
        assert other.drain() == 0  # a live worker's claim is not taken
        go_on.set()
        worker.join(5)
    finally:
        go_on.set()
        busy.close()
        other.close()
    assert _dms(standin) == [("U0", "hallo")]


def test_the_courier_sends_every_due_item_side_by_side_in_batches(
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    _queue_welcomes(db, 7)
    _queue(db, 2)  # calendar files: another lane, not this courier's
    threads: set[str] = set()
    # The first batch's three sends wait for each other: they only get past this if
    # they run side by side (one after the other, the barrier breaks and the test fails).
    side_by_side = threading.Barrier(3, timeout=30)
    started: list[str] = []
    lock = threading.Lock()

    def send(item: outbox.Item, notifier: Notifier) -> None:
        threads.add(threading.current_thread().name)
        with lock:
            started.append(item.recipient)
            first_batch = len(started) <= 3
        if first_batch:
            side_by_side.wait()
        notifier.send_dm(item.recipient, Message(text="hallo"))

    courier = _courier(db, standin, clock, lane=send, batch=3)
    try:
        assert courier.drain() == 7
        assert courier.has_due() is False
    finally:
        courier.close()
    assert sorted(c for c, _ in _dms(standin)) == [f"U{i}" for i in range(7)]
    assert len(threads) > 1
    states = {(i.kind, i.state) for i in _items(db)}
    assert states == {(outbox.WELCOME, OutboxItem.DONE), ("welcome_calendar", OutboxItem.PENDING)}


def test_kicks_during_a_drain_fold_into_one_more_round(
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    _queue_welcomes(db, 1)
    started = threading.Event()
    go_on = threading.Event()
    sent: list[str] = []

    def send(item: outbox.Item, notifier: Notifier) -> None:
        started.set()
        go_on.wait(5)
        sent.append(item.recipient)

    courier = Courier(db, _notifier(standin), {outbox.WELCOME: send}, owner="c", clock=clock)
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
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    sent: list[str] = []
    courier = Courier(
        db, _notifier(standin), {outbox.WELCOME: lambda item, n: sent.append(item.recipient)},
        owner="c", clock=clock,
    )  # fmt: skip
    stop = threading.Event()
    loop = threading.Thread(target=courier.run, args=(stop,), kwargs={"poll_seconds": 0.05})
    loop.start()
    try:
        _queue_welcomes(db, 2)
        wait_until(lambda: len(sent) >= 2, "the loop to send both welcomes")
        assert sorted(sent) == ["U0", "U1"]
    finally:
        stop.set()
        loop.join(5)
        courier.close()
    assert not loop.is_alive()


def test_the_delivery_loop_stops_when_the_process_that_started_it_is_gone(
    db: Database, standin: SlackStandIn, clock: FrozenClock
) -> None:
    courier = Courier(
        db, _notifier(standin), {outbox.WELCOME: lambda item, n: None}, owner="c", clock=clock
    )
    loop = threading.Thread(
        target=courier.run,
        args=(threading.Event(),),
        kwargs={"poll_seconds": 0.01, "parent": os.getppid() + 1_000_000},
    )
    loop.start()
    loop.join(5)
    courier.close()
    assert not loop.is_alive()


def outbox_failed_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> str:  # fmt: skip
    """`cop-bot outbox failed` on `db_url` (no Slack token, run from `tmp_path`, the
    environment kept for further commands): it exits 0 and prints one line, returned."""
    from bot import cli

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["outbox", "failed"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    return line


def test_admins_see_what_slack_refused_for_good_in_the_cli(
    db: Database, standin: SlackStandIn, clock: FrozenClock, db_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    from bot import cli

    _queue_welcomes(db, 2)
    standin.fail("chat.postMessage", error="user_not_found", times=1)
    courier = _courier(db, standin, clock)
    try:
        assert courier.drain() == 2
    finally:
        courier.close()
    line = outbox_failed_line(db_url, monkeypatch, tmp_path, capsys)
    assert "welcome  to U" in line and line.endswith(": user_not_found")
    assert cli.main(["outbox", "status"]) == 0
    assert capsys.readouterr().out.split() == ["welcome", "done", "1", "welcome", "failed", "1"]


def test_invites_and_lookups_keep_a_tier_3_pace_after_a_burst() -> None:
    from bot.outbox import _TierPace

    tiers = _TierPace()
    tier = ("test", 60.0, 2)  # a burst of two, then one a second
    tiers.wait(tier)
    tiers.wait(tier)
    bucket = tiers._buckets["test"]
    assert bucket.tokens < 1  # the burst is spent: the next call waits for a token
    bucket.refilled -= 1.0  # a second later
    tiers.wait(tier)  # takes the token that came in
    assert bucket.tokens < 1
