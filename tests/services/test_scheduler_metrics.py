"""What the reminder road and the Slack client report: deliveries by kind and outcome, the lag
of a reminder from its due moment, Slack's 429s by method, who owns the scheduler, and
the heartbeat that /readyz reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from bot.clock import FrozenClock
from bot.notifier import Message
from bot.sandbox.standin import SlackStandIn
from bot.slack_notifier import SlackNotifier, make_web_client
from storage import health
from storage.db import Database
from tests.factories import add_community, meeting
from tests.services.reminder_support import (
    Road,
    join,
    local,
    plan,
    private_lock_key,
    utc,
)

STARTS = local(2027, 3, 30, 14)
DUE_WEEK = utc(2027, 3, 23, 13)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def road(
    db: Database, standin: SlackStandIn, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Road]:
    private_lock_key(monkeypatch)
    made = Road(db, standin, clock)
    yield made
    made.close()


def _community(db: Database, clock: FrozenClock, members: tuple[str, ...]) -> None:
    add_community(db, "data-cop", channel="CDATA", meetings=(meeting(STARTS),))
    join(db, "data-cop", members, clock())
    plan(db, clock())


def test_sent_reminders_are_counted_by_kind_and_their_lag_observed(
    db: Database, clock: FrozenClock, road: Road
) -> None:
    _community(db, clock, ("U1", "U2", "U3"))
    dm, channel = ("cop_deliveries_total", {"kind": "reminder_dm", "outcome": "sent"}), (
        "cop_deliveries_total", {"kind": "reminder_channel", "outcome": "sent"})  # fmt: skip
    before = (_value(dm[0], **dm[1]), _value(channel[0], **channel[1]))
    lags = (_value("cop_reminder_lag_seconds_count"), _value("cop_reminder_lag_seconds_sum"))
    assert road.become_owner()

    clock.now = DUE_WEEK + dt.timedelta(seconds=40)  # the bot was 40 s late
    assert road.tick().handled == 4

    assert _value(dm[0], **dm[1]) == before[0] + 3
    assert _value(channel[0], **channel[1]) == before[1] + 1
    assert _value("cop_reminder_lag_seconds_count") == lags[0] + 4
    assert _value("cop_reminder_lag_seconds_sum") == pytest.approx(lags[1] + 4 * 40)
    within = _value("cop_reminder_lag_seconds_bucket", le="60.0")
    assert within - _value("cop_reminder_lag_seconds_bucket", le="30.0") >= 4


def test_a_delivery_slack_refuses_for_good_is_counted_as_failed(
    db: Database, clock: FrozenClock, road: Road, standin: SlackStandIn
) -> None:
    _community(db, clock, ("U1",))
    kinds = ("reminder_dm", "reminder_channel")

    def failed() -> float:
        return sum(_value("cop_deliveries_total", kind=k, outcome="failed") for k in kinds)

    before = failed()
    standin.fail("chat.postMessage", error="user_not_found")
    sent = sum(_value("cop_deliveries_total", kind=k, outcome="sent") for k in kinds)
    assert road.become_owner()
    clock.now = DUE_WEEK
    # Channel post first or DM first: one of the two calls is refused.
    assert road.tick().handled == 2

    assert failed() == before + 1
    assert sum(_value("cop_deliveries_total", kind=k, outcome="sent") for k in kinds) == sent + 1


def test_slack_429s_are_counted_by_method_on_both_client_paths(standin: SlackStandIn) -> None:
    client = make_web_client("xoxb-test", standin.api_url)
    notifier = SlackNotifier(client)
    posted = _value("cop_slack_rate_limited_total", method="chat.postMessage")
    invited = _value("cop_slack_rate_limited_total", method="conversations.invite")
    standin.fail("chat.postMessage", status=429, retry_after=0, times=2)
    standin.fail("conversations.invite", status=429, retry_after=0)

    notifier.post("C1", Message(text="hallo"))
    notifier.invite("C1", "U1")  # slack_sdk's own request machinery and retry handlers

    assert _value("cop_slack_rate_limited_total", method="chat.postMessage") == posted + 2
    assert _value("cop_slack_rate_limited_total", method="conversations.invite") == invited + 1


def test_the_owner_gauge_and_the_heartbeat_follow_the_lock(
    db: Database, road: Road, standin: SlackStandIn, clock: FrozenClock
) -> None:
    scheduler = road.scheduler
    with db.read() as session:
        assert health.last_beat(session) is None
    began = dt.datetime.now(dt.UTC)

    scheduler.sweep_now()

    assert _value("cop_scheduler_owner") == 1
    with db.read() as session:
        beat = health.last_beat(session)
    assert beat is not None
    assert beat.owner == scheduler.owner
    assert beat.at >= began - dt.timedelta(seconds=1)  # the wall clock, not the frozen one
    scheduler.stop()
    assert _value("cop_scheduler_owner") == 0


def test_a_process_that_does_not_own_the_scheduler_writes_no_heartbeat(
    db: Database, db_url: str, standin: SlackStandIn, clock: FrozenClock,
    road: Road,
) -> None:  # fmt: skip
    road.scheduler.sweep_now()
    with db.read() as session:
        first = health.last_beat(session)
    other_db = Database(db_url)
    other = Road(other_db, standin, clock)
    try:
        other.scheduler.sweep_now()
        with db.read() as session:
            after = health.last_beat(session)
        assert other.scheduler.is_owner is False
        assert after == first
    finally:
        other.close()
        other_db.dispose()
