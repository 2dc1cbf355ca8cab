"""The reminder scheduler against a real database and the Slack stand-in: each reminder
reaches each member once, on time, through crashes, rate limits and errors, and only one
process sends."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.clock import FrozenClock
from bot.scheduler import ReminderScheduler, SchedulerLock
from bot.services import reminders
from bot.slack_notifier import SlackNotifier, make_web_client
from bot.standin import SlackStandIn
from storage.db import Database
from storage.models import Delivery, Reminder
from tests.factories import add_community, meeting
from tests.services.reminder_support import (
    DAY,
    SECOND,
    WEEK,
    deliveries,
    delivery_to,
    join,
    key_of,
    local,
    new_scheduler,
    plan,
    post_like_the_scheduler,
    posts,
    private_lock_key,
    reminder,
    render,
    utc,
)

# 30 March 2027, 14:00 in Amsterdam (12:00 UTC, summer time).
STARTS = local(2027, 3, 30, 14)
DUE_WEEK = utc(2027, 3, 23, 13)  # 14:00 local, still winter time
DUE_DAY = utc(2027, 3, 29, 12)
MEMBERS = ("U1", "U2", "U3")
CHANNEL = "CDATA"
HOUR = dt.timedelta(hours=1)

MakeScheduler = Callable[..., ReminderScheduler]


@pytest.fixture
def make_scheduler(
    db: Database, standin: SlackStandIn, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MakeScheduler]:
    """Builds schedulers (on `db`, or on another Database of the same file or server) and
    stops them all afterwards, so no lock outlives the test."""
    private_lock_key(monkeypatch)
    made: list[ReminderScheduler] = []

    def make(database: Database | None = None) -> ReminderScheduler:
        scheduler = new_scheduler(database or db, standin, clock)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.stop()


@pytest.fixture
def other_db(db_url: str) -> Iterator[Database]:
    """A second engine on the same database, as a second process would have."""
    database = Database(db_url)
    yield database
    database.dispose()


def community(
    db: Database,
    clock: FrozenClock,
    *,
    members: tuple[str, ...] = MEMBERS,
    channel: str | None = CHANNEL,
    slug: str = "data-cop",
) -> None:
    add_community(db, slug, channel=channel, meetings=(meeting(STARTS),))
    join(db, slug, members, clock())
    plan(db, clock())


def test_ticking_again_and_again_around_the_due_moment_sends_each_member_one_dm_and_one_post(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_scheduler: MakeScheduler
) -> None:
    community(db, clock)
    scheduler = make_scheduler()
    assert scheduler.become_owner()

    for moment in (DUE_WEEK, DUE_WEEK, DUE_WEEK + SECOND, DUE_WEEK + dt.timedelta(hours=1)):
        clock.now = moment
        scheduler.tick()
    week = Counter(call.args["channel"] for call in posts(standin))
    assert week == {"U1": 1, "U2": 1, "U3": 1, CHANNEL: 1}

    for moment in (DUE_DAY, DUE_DAY, DUE_DAY + dt.timedelta(minutes=5), STARTS):
        clock.now = moment
        scheduler.tick()
    calls = posts(standin)
    assert Counter(call.args["channel"] for call in calls) == {
        "U1": 2, "U2": 2, "U3": 2, CHANNEL: 2,
    }  # fmt: skip
    # One delivery key per (reminder, recipient): nothing went out under the same key twice.
    assert len({key_of(call) for call in calls}) == len(calls) == 8
    assert {d.state for d in deliveries(db)} == {Delivery.SENT}


def test_two_schedulers_ticking_at_once_still_send_each_reminder_once(
    db: Database,
    other_db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    make_scheduler: MakeScheduler,
) -> None:
    community(db, clock, members=tuple(f"U{i}" for i in range(40)))
    first, second = make_scheduler(), make_scheduler(other_db)
    clock.now = DUE_WEEK
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def tick(scheduler: ReminderScheduler) -> None:
        try:
            barrier.wait(timeout=10)
            scheduler.tick()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(s,)) for s in (first, second) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert Counter(call.args["channel"] for call in posts(standin)) == {
        **{f"U{i}": 1 for i in range(40)}, CHANNEL: 1,
    }  # fmt: skip


def test_a_tick_one_second_before_the_due_moment_sends_nothing_and_the_tick_at_it_sends(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_scheduler: MakeScheduler
) -> None:
    community(db, clock)
    scheduler = make_scheduler()
    assert scheduler.become_owner()

    clock.now = DUE_WEEK - SECOND
    report = scheduler.tick()
    assert (report.fanned_out, report.sent) == (0, 0)
    assert posts(standin) == []
    assert reminder(db, WEEK).state == Reminder.PENDING

    clock.now = DUE_WEEK
    report = scheduler.tick()
    assert (report.fanned_out, report.sent) == (1, 4)
    assert sorted(call.args["channel"] for call in posts(standin)) == [CHANNEL, *MEMBERS]


def test_a_post_that_reached_slack_before_a_crash_is_found_there_and_not_sent_again(
    db: Database,
    other_db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    make_scheduler: MakeScheduler,
) -> None:
    community(db, clock)
    crashed = make_scheduler()
    assert crashed.become_owner()
    clock.now = DUE_WEEK
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())
    with db.write() as session:
        claimed = reminders.claim(session, owner=crashed.owner, now=clock())
    posted = {c.recipient: post_like_the_scheduler(crashed, c) for c in claimed}
    # The process dies here: Slack has the messages, the ledger still says "sending".
    assert {d.state for d in deliveries(db)} == {Delivery.SENDING}
    crashed.lock.release()

    clock.advance(dt.timedelta(minutes=1))
    successor = make_scheduler(other_db)
    assert successor.become_owner()

    ledger = {d.recipient: d for d in deliveries(db)}
    assert {r: d.state for r, d in ledger.items()} == dict.fromkeys(posted, Delivery.SENT)
    assert {r: d.ts for r, d in ledger.items()} == posted
    for moment in (clock(), clock() + dt.timedelta(hours=1)):
        clock.now = moment
        assert successor.tick().sent == 0
    assert Counter(call.args["channel"] for call in posts(standin)) == {
        "U1": 1, "U2": 1, "U3": 1, CHANNEL: 1,
    }  # fmt: skip


def test_a_new_owner_settles_the_dead_owners_claims_only_after_the_in_flight_bound(
    db: Database,
    other_db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    make_scheduler: MakeScheduler,
) -> None:
    """A post the dead owner sent may land in Slack after the lock is free: the successor
    looks it up only once the in-flight bound has passed, then finds it and sends nothing."""
    community(db, clock)
    crashed = make_scheduler()
    assert crashed.become_owner()
    clock.now = DUE_WEEK
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())
    with db.write() as session:
        claimed = reminders.claim(session, owner=crashed.owner, now=clock())
    crashed.lock.release()  # died with its posts still on their way

    successor = make_scheduler(other_db)
    successor.in_flight_seconds = 0.5
    assert successor.become_owner()
    successor.sweep_now()  # within the bound: the claims are left alone
    assert {d.state for d in deliveries(db)} == {Delivery.SENDING}
    assert posts(standin) == []

    for c in claimed:  # ...and now they land in Slack
        post_like_the_scheduler(crashed, c)
    while successor._recover_at is not None:  # the bound passes (a monotonic deadline)
        time.sleep(0.05)
        successor.sweep_now()
    assert {d.state for d in deliveries(db)} == {Delivery.SENT}
    assert Counter(call.args["channel"] for call in posts(standin)) == {
        "U1": 1, "U2": 1, "U3": 1, CHANNEL: 1,
    }  # fmt: skip


def test_a_post_that_reached_slack_before_a_crash_and_five_days_down_is_found_and_not_resent(
    db: Database,
    other_db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    make_scheduler: MakeScheduler,
) -> None:
    community(db, clock)
    crashed = make_scheduler()
    assert crashed.become_owner()
    clock.now = DUE_WEEK
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())
    with db.write() as session:
        claimed = reminders.claim(session, owner=crashed.owner, now=clock())
    for c in claimed:
        post_like_the_scheduler(crashed, c)
    crashed.lock.release()  # died with everything "sending"; back five days later
    clock.advance(dt.timedelta(days=5))
    standin.backdate(dt.timedelta(days=5).total_seconds())

    successor = make_scheduler(other_db)
    assert successor.become_owner()
    assert successor.tick().sent == 0

    assert {d.state for d in deliveries(db)} == {Delivery.SENT}
    assert Counter(call.args["channel"] for call in posts(standin)) == {
        "U1": 1, "U2": 1, "U3": 1, CHANNEL: 1,
    }  # fmt: skip


def test_a_delivery_claimed_but_never_posted_before_a_crash_is_sent_once_by_the_next_owner(
    db: Database,
    other_db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    make_scheduler: MakeScheduler,
) -> None:
    community(db, clock)
    crashed = make_scheduler()
    assert crashed.become_owner()
    clock.now = DUE_WEEK
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())
    with db.write() as session:
        assert len(reminders.claim(session, owner=crashed.owner, now=clock())) == 4
    crashed.lock.release()  # died before posting anything

    clock.advance(dt.timedelta(minutes=1))
    successor = make_scheduler(other_db)
    assert successor.become_owner()
    assert posts(standin) == []
    assert {d.state for d in deliveries(db)} == {Delivery.PENDING}

    assert successor.tick().sent == 4
    clock.advance(dt.timedelta(hours=1))
    assert successor.tick().sent == 0
    assert Counter(call.args["channel"] for call in posts(standin)) == {
        "U1": 1, "U2": 1, "U3": 1, CHANNEL: 1,
    }  # fmt: skip
    assert {d.state for d in deliveries(db)} == {Delivery.SENT}


def test_only_one_of_two_schedulers_on_one_database_becomes_owner_until_the_owner_stops(
    db: Database, other_db: Database, make_scheduler: MakeScheduler
) -> None:
    first, second = make_scheduler(), make_scheduler(other_db)

    assert first.become_owner() is True
    assert second.become_owner() is False
    assert second.become_owner() is False  # trying again changes nothing while it is held
    assert first.become_owner() is True  # the owner keeps it

    first.stop()
    assert second.become_owner() is True
    third = make_scheduler(db)
    assert third.become_owner() is False


def test_a_rate_limited_dm_goes_out_after_retry_after_without_holding_up_the_others(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_scheduler: MakeScheduler
) -> None:
    community(db, clock, members=("U1", "U2", "U3", "U4"), channel=None)
    scheduler = make_scheduler()
    clock.now = DUE_WEEK
    standin.fail("chat.postMessage", status=429, retry_after=1)

    report = scheduler.tick()

    assert report.sent == 4
    [limited] = [c for c in standin.calls("chat.postMessage") if c.status == 429]
    held = limited.args["channel"]
    [late] = posts(standin, held)
    others = [call for call in posts(standin) if call.args["channel"] != held]
    assert sorted(call.args["channel"] for call in others) == sorted(
        {"U1", "U2", "U3", "U4"} - {held}
    )
    assert late.at - limited.at >= 1.0  # Retry-After was honoured
    assert max(call.at for call in others) < late.at  # and nobody else waited for it
    assert delivery_to(db, held).state == Delivery.SENT


@pytest.mark.parametrize("error", ["user_not_found", "account_inactive"])
def test_a_dm_that_slack_refuses_for_good_is_failed_and_not_tried_again(
    error: str,
    db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    make_scheduler: MakeScheduler,
) -> None:
    community(db, clock, members=("U1",), channel=None)
    scheduler = make_scheduler()
    standin.fail("chat.postMessage", error=error)

    for moment in (DUE_WEEK, DUE_WEEK + dt.timedelta(hours=1), DUE_WEEK + dt.timedelta(days=5)):
        clock.now = moment
        scheduler.tick()

    failed = delivery_to(db, "U1")
    assert (failed.state, failed.error, failed.attempts) == (Delivery.FAILED, error, 1)
    assert len(standin.calls("chat.postMessage")) == 1
    assert posts(standin) == []


def test_a_channel_post_to_a_channel_that_is_gone_is_failed_and_not_tried_again(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_scheduler: MakeScheduler
) -> None:
    community(db, clock, members=(), channel="CGONE")
    scheduler = make_scheduler()
    standin.fail("chat.postMessage", error="channel_not_found")

    for moment in (DUE_WEEK, DUE_WEEK + dt.timedelta(hours=2)):
        clock.now = moment
        scheduler.tick()

    failed = delivery_to(db, "CGONE")
    assert (failed.kind, failed.state, failed.error) == (
        "channel",
        Delivery.FAILED,
        "channel_not_found",
    )
    assert len(standin.calls("chat.postMessage")) == 1


def test_an_archived_channel_fails_the_channel_post_while_members_still_get_their_dm(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_scheduler: MakeScheduler
) -> None:
    standin.add_channel("CARCHIVED", archived=True)
    community(db, clock, members=("U1",), channel="CARCHIVED")
    scheduler = make_scheduler()

    for moment in (DUE_WEEK, DUE_WEEK + dt.timedelta(hours=2)):
        clock.now = moment
        scheduler.tick()

    assert delivery_to(db, "U1").state == Delivery.SENT
    archived = delivery_to(db, "CARCHIVED")
    assert (archived.state, archived.error) == (Delivery.FAILED, "is_archived")
    tried = [c for c in standin.calls("chat.postMessage") if c.args["channel"] == "CARCHIVED"]
    assert len(tried) == 1


def test_a_server_error_that_outlasts_slack_sdks_retries_backs_off_and_is_sent_after_it(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_scheduler: MakeScheduler
) -> None:
    community(db, clock, members=("U1",), channel=None)
    client = make_web_client("xoxb-test", standin.api_url)
    # Keep slack_sdk's three retries, without its seconds of sleeping between them.
    for handler in client.retry_handlers:
        if isinstance(handler, ServerErrorRetryHandler):
            handler.interval_calculator = FixedValueRetryIntervalCalculator(0.0)
    scheduler = ReminderScheduler(db=db, notifier=SlackNotifier(client), render=render, clock=clock)
    try:
        standin.fail("chat.postMessage", status=500, times=4)
        clock.now = DUE_WEEK

        assert scheduler.tick().retried == 1
        assert [c.status for c in standin.calls("chat.postMessage")] == [500] * 4
        waiting = delivery_to(db, "U1")
        assert waiting.state == Delivery.PENDING
        assert waiting.not_before > DUE_WEEK
        assert waiting.error

        clock.now = waiting.not_before - SECOND
        assert scheduler.tick().sent == 0
        assert posts(standin) == []

        clock.now = waiting.not_before
        assert scheduler.tick().sent == 1
        assert len(posts(standin, "U1")) == 1
        assert delivery_to(db, "U1").state == Delivery.SENT
    finally:
        scheduler.stop()


def test_a_delivery_still_waiting_when_its_meeting_begins_is_skipped_not_sent_late(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_scheduler: MakeScheduler
) -> None:
    community(db, clock, members=("U1",), channel=None)
    scheduler = make_scheduler()
    clock.now = DUE_WEEK
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())
    # The bot was down from the fan-out until after the meeting began.
    clock.now = STARTS.astimezone(dt.UTC) + dt.timedelta(minutes=5)

    assert scheduler.tick().sent == 0
    assert posts(standin) == []
    assert delivery_to(db, "U1").state == Delivery.SKIPPED


def test_a_fan_out_to_two_thousand_members_sends_two_thousand_dms_in_one_tick(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_scheduler: MakeScheduler
) -> None:
    members = tuple(f"U{i:05d}" for i in range(2000))
    community(db, clock, members=members, channel=None)
    scheduler = make_scheduler()
    clock.now = DUE_WEEK

    report = scheduler.tick()

    assert (report.fanned_out, report.sent, report.failed, report.retried) == (1, 2000, 0, 0)
    calls = posts(standin)
    assert len(calls) == 2000
    assert {call.args["channel"] for call in calls} == set(members)
    assert len({key_of(call) for call in calls}) == 2000
    assert Counter(d.state for d in deliveries(db)) == {Delivery.SENT: 2000}
    assert reminder(db, DAY).state == Reminder.PENDING


def test_stopping_during_a_sweep_finishes_the_sends_under_way_claims_no_more_then_frees_the_lock(
    db: Database,
    other_db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    make_scheduler: MakeScheduler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What SIGTERM to `cop-bot serve` does to the worker that owns the scheduler."""
    community(db, clock, members=tuple(f"U{i}" for i in range(10)))
    make_scheduler()  # only for the private lock key and the clean-up
    scheduler = ReminderScheduler(
        db=db,
        notifier=SlackNotifier(make_web_client("xoxb-test", standin.api_url)),
        render=render,
        clock=clock,
        workers=1,  # claims two at a time: one being sent, one waiting
        sweep_seconds=3600,
    )
    clock.now = DUE_WEEK
    held = standin.hold("chat.postMessage")
    scheduler.start()  # the first sweep runs at once
    assert held.arrived.wait(10)
    stopping = threading.Thread(target=scheduler.stop)
    stopping.start()
    stopping.join(0.5)

    # While the send is under way, the lock stays with the sweep that claimed it.
    assert stopping.is_alive()
    assert not SchedulerLock(other_db).try_acquire()
    held.release()
    stopping.join(20)

    assert not stopping.is_alive()
    states = Counter(d.state for d in deliveries(db))
    assert states[Delivery.SENDING] == 0  # nothing claimed and left unsent
    assert states[Delivery.SENT] == len(posts(standin)) == 2
    assert states[Delivery.PENDING] == 11 - 2  # the next owner sends these
    assert "reminder sweep failed" not in caplog.text
    lock = SchedulerLock(other_db)
    assert lock.try_acquire()
    lock.release()


@pytest.mark.parametrize(
    "starts",
    [
        # Our clock far ahead of the wall clock (the console after `:tijd 2099-...`).
        local(2099, 3, 30, 14),
        # Our clock far behind it (a simulation of 2020).
        local(2020, 3, 30, 14),
    ],
    ids=["clock-ahead", "clock-behind"],
)
def test_the_wake_up_is_armed_when_the_injected_clock_reaches_the_next_reminder(
    db: Database, clock: FrozenClock, make_scheduler: MakeScheduler, starts: dt.datetime
) -> None:
    """APScheduler keeps the wall clock, the database our clock: the date job waits as
    long as our clock has to go to the week reminder (an hour), not until the wall clock
    reaches that moment (decades off), nor at once (that moment has long passed)."""
    clock.now = starts - WEEK - 2 * HOUR
    add_community(db, "data-cop", channel=CHANNEL, meetings=(meeting(starts),))
    join(db, "data-cop", MEMBERS, clock())
    plan(db, clock())
    clock.now += HOUR  # an hour before the week reminder
    scheduler = make_scheduler()
    before = dt.datetime.now(dt.UTC)
    scheduler.start()  # the first sweep runs at once and arms the wake-up
    wake = None
    for _ in range(500):
        assert scheduler._aps is not None
        wake = scheduler._aps.get_job("wake")
        if wake is not None:
            break
        threading.Event().wait(0.01)
    after = dt.datetime.now(dt.UTC)

    assert wake is not None, "the first sweep armed no wake-up"
    assert before + HOUR <= wake.next_run_time <= after + HOUR
    assert reminder(db, WEEK).state == Reminder.PENDING  # nothing went out early
