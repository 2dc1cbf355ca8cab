"""The reminder road against a real database and the Slack stand-in: the scheduler fans a
due reminder out onto the outbox, the delivery worker sends it; each reminder reaches
each member once, on time, through crashes, rate limits and errors, and only one
process fans out."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.clock import FrozenClock
from bot.sandbox.standin import SlackStandIn
from bot.scheduler import SchedulerLock
from bot.services import outbox, reminders
from bot.slack_notifier import WithinDeadline, make_web_client
from storage.db import Database
from storage.models import OutboxItem, Reminder
from tests.factories import add_community, meeting
from tests.services.reminder_support import (
    DAY,
    SECOND,
    TAKEOVER,
    WEEK,
    Road,
    claim_and_post,
    item_to,
    items,
    join,
    key_of,
    local,
    plan,
    posts,
    private_lock_key,
    reminder,
    utc,
)
from tests.waiting import wait_until

# 30 March 2027, 14:00 in Amsterdam (12:00 UTC, summer time).
STARTS = local(2027, 3, 30, 14)
DUE_WEEK = utc(2027, 3, 23, 13)  # 14:00 local, still winter time
DUE_DAY = utc(2027, 3, 29, 12)
MEMBERS = ("U1", "U2", "U3")
CHANNEL = "CDATA"
HOUR = dt.timedelta(hours=1)

MakeRoad = Callable[..., Road]


@pytest.fixture
def make_road(
    db: Database, standin: SlackStandIn, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MakeRoad]:
    """Builds roads (on `db`, or on another Database of the same file or server) and
    closes them all afterwards, so no lock outlives the test."""
    private_lock_key(monkeypatch)
    made: list[Road] = []

    def make(database: Database | None = None, **kw: object) -> Road:
        road = Road(database or db, standin, clock, **kw)  # type: ignore[arg-type]
        made.append(road)
        return road

    yield make
    for road in made:
        road.close()


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


def reminder_posts(standin: SlackStandIn) -> Counter[str]:
    return Counter(call.args["channel"] for call in posts(standin))


def test_ticking_again_and_again_around_the_due_moment_sends_each_member_one_dm_and_one_post(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_road: MakeRoad
) -> None:
    community(db, clock)
    road = make_road()
    assert road.become_owner()

    for moment in (DUE_WEEK, DUE_WEEK, DUE_WEEK + SECOND, DUE_WEEK + dt.timedelta(hours=1)):
        clock.now = moment
        road.tick()
    assert reminder_posts(standin) == {"U1": 1, "U2": 1, "U3": 1, CHANNEL: 1}

    for moment in (DUE_DAY, DUE_DAY, DUE_DAY + dt.timedelta(minutes=5), STARTS):
        clock.now = moment
        road.tick()
    calls = posts(standin)
    assert reminder_posts(standin) == {"U1": 2, "U2": 2, "U3": 2, CHANNEL: 2}
    # One key per outbox item: nothing went out under the same key twice.
    assert len({key_of(call) for call in calls}) == len(calls) == 8
    assert Counter((i.kind, i.state) for i in items(db)) == {
        (outbox.REMINDER_DM, OutboxItem.DONE): 6,
        (outbox.REMINDER_CHANNEL, OutboxItem.DONE): 2,
    }


def test_the_fan_out_writes_one_item_per_member_and_one_for_the_channel_with_the_reminder(
    db: Database, clock: FrozenClock
) -> None:
    """In the transaction that marks the reminder fanned out; nothing is sent by it."""
    community(db, clock)
    clock.now = DUE_WEEK
    with db.write() as session:
        [fanned] = reminders.fan_out_due(session, now=clock())
    week = reminder(db, WEEK)
    assert (fanned.reminder_id, fanned.recipients, week.state) == (week.id, 4, Reminder.FANNED_OUT)
    assert sorted((i.kind, i.recipient, i.subject, i.state) for i in items(db)) == [
        (outbox.REMINDER_CHANNEL, CHANNEL, str(week.id), OutboxItem.PENDING),
        *((outbox.REMINDER_DM, u, str(week.id), OutboxItem.PENDING) for u in MEMBERS),
    ]


def test_two_roads_ticking_at_once_still_send_each_reminder_once(
    db: Database, other_db: Database, standin: SlackStandIn, clock: FrozenClock,
    make_road: MakeRoad,
) -> None:  # fmt: skip
    community(db, clock, members=tuple(f"U{i}" for i in range(40)))
    first, second = make_road(owner="one"), make_road(other_db, owner="two")
    clock.now = DUE_WEEK
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def tick(road: Road) -> None:
        try:
            barrier.wait(timeout=10)
            road.tick()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(r,)) for r in (first, second) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert reminder_posts(standin) == {**{f"U{i}": 1 for i in range(40)}, CHANNEL: 1}


def test_a_tick_one_second_before_the_due_moment_sends_nothing_and_the_tick_at_it_sends(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_road: MakeRoad
) -> None:
    community(db, clock)
    road = make_road()
    assert road.become_owner()

    clock.now = DUE_WEEK - SECOND
    done = road.tick()
    assert (done.fanned_out, done.handled) == (0, 0)
    assert posts(standin) == []
    assert reminder(db, WEEK).state == Reminder.PENDING

    clock.now = DUE_WEEK
    done = road.tick()
    assert (done.fanned_out, done.items, done.handled) == (1, 4, 4)
    assert sorted(call.args["channel"] for call in posts(standin)) == [CHANNEL, *MEMBERS]


def test_a_reminder_that_reached_slack_before_a_crash_is_found_there_after_the_takeover(
    db: Database, other_db: Database, standin: SlackStandIn, clock: FrozenClock,
    make_road: MakeRoad,
) -> None:  # fmt: skip
    """The dead worker had posted every DM and the channel post, and marked none. The
    worker that takes over waits out the lease and the in-flight bound, then finds each
    in Slack by its key and posts nothing."""
    community(db, clock)
    crashed = make_road(owner="dead")
    assert crashed.become_owner()
    clock.now = DUE_WEEK
    crashed.scheduler.tick()
    claimed = claim_and_post(crashed)
    assert len(claimed) == 4 and len(posts(standin)) == 4
    crashed.scheduler.lock.release()  # the process is gone

    successor = make_road(other_db)
    assert successor.become_owner()
    clock.now = DUE_WEEK + outbox.LEASE  # the lease has just run out: a post may be in flight
    assert successor.tick().handled == 0
    clock.now = DUE_WEEK + TAKEOVER
    assert successor.tick().handled == 4

    assert reminder_posts(standin) == {"U1": 1, "U2": 1, "U3": 1, CHANNEL: 1}
    posted = {call.args["channel"]: call.response["ts"] for call in posts(standin)}
    assert {i.recipient: (i.state, i.unsure, i.ts) for i in items(db)} == {
        r: (OutboxItem.DONE, True, ts) for r, ts in posted.items()
    }
    clock.advance(HOUR)
    assert successor.tick().handled == 0
    assert len(posts(standin)) == 4


def test_a_reminder_that_reached_slack_before_a_crash_and_five_days_down_is_not_resent(
    db: Database, other_db: Database, standin: SlackStandIn, clock: FrozenClock,
    make_road: MakeRoad,
) -> None:  # fmt: skip
    community(db, clock, members=("U1",), channel=None)
    crashed = make_road(owner="dead")
    clock.now = STARTS.astimezone(dt.UTC) - 6 * DAY  # a week reminder, a day late
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())
    claim_and_post(crashed)
    clock.advance(5 * DAY - HOUR)  # back five days later, the meeting an hour away
    standin.backdate((5 * DAY - HOUR).total_seconds())

    successor = make_road(other_db)
    assert successor.tick().handled == 1

    assert [i.state for i in items(db)] == [OutboxItem.DONE]
    assert reminder_posts(standin) == {"U1": 1}


def test_a_reminder_claimed_but_never_posted_before_a_crash_is_sent_once_after_the_takeover(
    db: Database, other_db: Database, standin: SlackStandIn, clock: FrozenClock,
    make_road: MakeRoad,
) -> None:  # fmt: skip
    community(db, clock)
    crashed = make_road(owner="dead")
    clock.now = DUE_WEEK
    crashed.scheduler.tick()
    assert len(claim_and_post(crashed, post=False)) == 4  # died before posting anything

    successor = make_road(other_db)
    clock.now = DUE_WEEK + TAKEOVER
    assert successor.tick().handled == 4
    clock.advance(HOUR)
    assert successor.tick().handled == 0
    assert reminder_posts(standin) == {"U1": 1, "U2": 1, "U3": 1, CHANNEL: 1}
    assert {i.state for i in items(db)} == {OutboxItem.DONE}


def test_only_one_of_two_schedulers_on_one_database_becomes_owner_until_the_owner_stops(
    db: Database, other_db: Database, make_road: MakeRoad
) -> None:
    first, second = make_road().scheduler, make_road(other_db).scheduler

    assert first.become_owner() is True
    assert second.become_owner() is False
    assert second.become_owner() is False  # trying again changes nothing while it is held
    assert first.become_owner() is True  # the owner keeps it

    first.stop()
    assert second.become_owner() is True
    third = make_road(db).scheduler
    assert third.become_owner() is False


def test_a_rate_limited_dm_goes_out_after_retry_after_without_holding_up_the_others(
    db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    make_road: MakeRoad,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    community(db, clock, members=("U1", "U2", "U3", "U4"), channel=None)
    road = make_road()
    clock.now = DUE_WEEK
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        # Waiting out Retry-After ends only once the three other DMs are out: had they
        # waited for this one, it would never end (and the test fails, naming the calls).
        slept.append(seconds)
        standin.wait_for("chat.postMessage", 4, timeout=30)

    monkeypatch.setattr(WithinDeadline, "sleep", staticmethod(sleep))
    standin.fail("chat.postMessage", status=429, retry_after=1)

    assert road.tick().handled == 4

    [limited] = [c for c in standin.calls("chat.postMessage") if c.status == 429]
    held = limited.args["channel"]
    [late] = posts(standin, held)
    others = [call for call in posts(standin) if call.args["channel"] != held]
    assert sorted(call.args["channel"] for call in others) == sorted(
        {"U1", "U2", "U3", "U4"} - {held}
    )
    [wait] = slept
    assert 1.0 <= wait < 2.0  # Retry-After (plus slack_sdk's jitter) was honoured
    assert max(call.at for call in others) < late.at  # and nobody else waited for it
    assert item_to(db, held).state == OutboxItem.DONE


@pytest.mark.parametrize("error", ["user_not_found", "account_inactive"])
def test_a_dm_that_slack_refuses_for_good_is_failed_and_not_tried_again(
    error: str, db: Database, standin: SlackStandIn, clock: FrozenClock, make_road: MakeRoad
) -> None:
    community(db, clock, members=("U1",), channel=None)
    road = make_road()
    standin.fail("chat.postMessage", error=error)

    for moment in (DUE_WEEK, DUE_WEEK + dt.timedelta(hours=1), DUE_WEEK + dt.timedelta(days=5)):
        clock.now = moment
        road.tick()

    failed = item_to(db, "U1")
    assert (failed.state, failed.error, failed.attempts) == (OutboxItem.FAILED, error, 1)
    assert len(standin.calls("chat.postMessage")) == 1
    assert posts(standin) == []


def test_a_channel_post_to_a_channel_that_is_gone_is_failed_and_not_tried_again(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_road: MakeRoad
) -> None:
    community(db, clock, members=(), channel="CGONE")
    road = make_road()
    standin.fail("chat.postMessage", error="channel_not_found")

    for moment in (DUE_WEEK, DUE_WEEK + dt.timedelta(hours=2)):
        clock.now = moment
        road.tick()

    failed = item_to(db, "CGONE")
    assert (failed.kind, failed.state, failed.error) == (
        outbox.REMINDER_CHANNEL,
        OutboxItem.FAILED,
        "channel_not_found",
    )
    assert len(standin.calls("chat.postMessage")) == 1


def test_an_archived_channel_fails_the_channel_post_while_members_still_get_their_dm(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_road: MakeRoad
) -> None:
    standin.add_channel("CARCHIVED", archived=True)
    community(db, clock, members=("U1",), channel="CARCHIVED")
    road = make_road()

    for moment in (DUE_WEEK, DUE_WEEK + dt.timedelta(hours=2)):
        clock.now = moment
        road.tick()

    assert item_to(db, "U1").state == OutboxItem.DONE
    archived = item_to(db, "CARCHIVED")
    assert (archived.state, archived.error) == (OutboxItem.FAILED, "is_archived")
    tried = [c for c in standin.calls("chat.postMessage") if c.args["channel"] == "CARCHIVED"]
    assert len(tried) == 1


def test_a_server_error_is_not_retried_blindly_the_reminder_backs_off_and_is_sent_after_it(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_road: MakeRoad
) -> None:
    """Slack may have taken a post it answered 500 to: the client does not post it again
    (slack_sdk's server-error retries are for calls without the road's key), the road
    tries it later, unsure, looking it up first."""
    community(db, clock, members=("U1",), channel=None)
    client = make_web_client("xoxb-test", standin.api_url)
    # Were slack_sdk's server-error retries used, they would not even sleep.
    for handler in client.retry_handlers:
        if isinstance(handler, ServerErrorRetryHandler):
            handler.interval_calculator = FixedValueRetryIntervalCalculator(0.0)
    road = make_road(client=client)
    standin.fail("chat.postMessage", status=500)
    clock.now = DUE_WEEK

    assert road.tick().handled == 1
    assert [c.status for c in standin.calls("chat.postMessage")] == [500]
    waiting = item_to(db, "U1")
    assert (waiting.state, waiting.unsure) == (OutboxItem.PENDING, True)
    assert waiting.not_before > DUE_WEEK
    assert waiting.error

    clock.now = waiting.not_before - SECOND
    assert road.tick().handled == 0
    assert posts(standin) == []

    clock.now = waiting.not_before
    assert road.tick().handled == 1
    assert len(standin.calls("conversations.history")) >= 1  # looked up first
    assert len(posts(standin, "U1")) == 1
    assert item_to(db, "U1").state == OutboxItem.DONE


def test_a_reminder_still_waiting_when_its_meeting_begins_is_dropped_not_sent_late(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_road: MakeRoad
) -> None:
    community(db, clock, members=("U1",), channel=None)
    road = make_road()
    clock.now = DUE_WEEK
    with db.write() as session:
        reminders.fan_out_due(session, now=clock())
    # The bot was down from the fan-out until after the meeting began.
    clock.now = STARTS.astimezone(dt.UTC) + dt.timedelta(minutes=5)

    assert road.tick().handled == 1
    assert posts(standin) == []
    assert item_to(db, "U1").state == OutboxItem.DONE  # settled: nothing to send


# Two thousand DMs through the stand-in: 25 s with --cov on a loaded machine.
@pytest.mark.timeout(180)
def test_a_fan_out_to_two_thousand_members_sends_two_thousand_dms_in_one_tick(
    db: Database, standin: SlackStandIn, clock: FrozenClock, make_road: MakeRoad
) -> None:
    members = tuple(f"U{i:05d}" for i in range(2000))
    community(db, clock, members=members, channel=None)
    road = make_road()
    clock.now = DUE_WEEK

    done = road.tick()

    assert (done.fanned_out, done.items, done.handled) == (1, 2000, 2000)
    calls = posts(standin)
    assert len(calls) == 2000
    assert {call.args["channel"] for call in calls} == set(members)
    assert len({key_of(call) for call in calls}) == 2000
    assert Counter(i.state for i in items(db)) == {OutboxItem.DONE: 2000}
    assert reminder(db, DAY).state == Reminder.PENDING


def test_a_sweep_fans_out_and_hands_the_items_to_the_courier_and_stopping_frees_the_lock(
    db: Database, other_db: Database, standin: SlackStandIn, clock: FrozenClock,
    make_road: MakeRoad,
) -> None:  # fmt: skip
    """What a process's scheduler does on its own: the first sweep takes the lock, fans
    the due reminder out and calls `deliver` (the process's courier); stopping it
    releases the lock for the next owner."""
    community(db, clock)
    road = make_road(sweep_seconds=3600)
    delivered = threading.Event()
    road.scheduler.deliver = lambda: (road.courier.drain(), delivered.set())
    clock.now = DUE_WEEK
    road.scheduler.start()  # the first sweep runs at once
    assert delivered.wait(20)
    road.scheduler.stop()

    assert reminder(db, WEEK).state == Reminder.FANNED_OUT
    assert reminder_posts(standin) == {"U1": 1, "U2": 1, "U3": 1, CHANNEL: 1}
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
    db: Database, clock: FrozenClock, make_road: MakeRoad, starts: dt.datetime
) -> None:
    """APScheduler keeps the wall clock, the database our clock: the date job waits as
    long as our clock has to go to the week reminder (an hour), not until the wall clock
    reaches that moment (decades off), nor at once (that moment has long passed)."""
    clock.now = starts - WEEK - 2 * HOUR
    add_community(db, "data-cop", channel=CHANNEL, meetings=(meeting(starts),))
    join(db, "data-cop", MEMBERS, clock())
    plan(db, clock())
    clock.now += HOUR  # an hour before the week reminder
    scheduler = make_road().scheduler
    before = dt.datetime.now(dt.UTC)
    scheduler.start()  # the first sweep runs at once and arms the wake-up
    assert scheduler._aps is not None
    aps = scheduler._aps
    wait_until(lambda: aps.get_job("wake") is not None, "the first sweep to arm a wake-up")
    after = dt.datetime.now(dt.UTC)
    wake = aps.get_job("wake")
    assert before + HOUR <= wake.next_run_time <= after + HOUR
    assert reminder(db, WEEK).state == Reminder.PENDING  # nothing went out early
