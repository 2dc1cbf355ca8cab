"""The day-after nudge on the delivery road: a DM that fails for a while is tried again
with backoff and arrives once; one that Slack refuses for good is recorded and shown to
admins; a worker that dies mid-send leaves it to another, which sends it at most once.

As under `cop-bot serve`: the scheduler's owner (start_scheduler, swept by hand) claims
the meeting and queues the nudges, and a delivery worker of its own sends them, with a
Slack client that gives up on an answer after a second."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.app import build_services, start_scheduler
from bot.clock import FrozenClock
from bot.config import Settings
from bot.outbox import Courier, Sending
from bot.runtime import Services
from bot.sandbox.standin import Call, SlackStandIn
from bot.scheduler import ReminderScheduler
from bot.services import outbox
from bot.slack_notifier import SlackNotifier, make_web_client
from handlers import deliveries
from storage.models import OutboxItem
from tests.factories import add_community, meeting
from tests.services.test_outbox import outbox_failed_line

# NOW (tests/conftest.py) is Monday 23 November 2026, 11:00 in Amsterdam: Friday's
# meeting has been due for its nudge since Saturday 09:00.
FRIDAY = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.UTC)
TAKE_OVER = outbox.LEASE + outbox.IN_FLIGHT + dt.timedelta(seconds=1)


@pytest.fixture
def services(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    svc = build_services(settings, clock=clock, courier=False)
    add_community(
        svc.db, "ethiek", name="Ethiek", channel="C0ETHIEK", facilitators=("UFAC",),
        meetings=(meeting(FRIDAY, key="friday"),),
    )  # fmt: skip
    yield svc
    svc.shutdown()


@pytest.fixture
def scheduler(services: Services) -> ReminderScheduler:
    # Swept by hand below; the interval sweep stays out of the way.
    return start_scheduler(services, sweep_seconds=3600)


def _worker(services: Services, standin: SlackStandIn, clock: FrozenClock, owner: str) -> Courier:
    notifier = SlackNotifier(make_web_client("xoxb-test", standin.api_url, timeout=1))
    return Courier(services.db, notifier, deliveries.lanes(services), owner=owner, clock=clock)


@pytest.fixture
def courier(services: Services, standin: SlackStandIn, clock: FrozenClock) -> Iterator[Courier]:
    worker = _worker(services, standin, clock, "deliverer")
    yield worker
    worker.close()


def _nudge(services: Services) -> dict[str, Any]:
    with services.db.read() as session:
        [row] = session.execute(
            select(
                OutboxItem.state, OutboxItem.attempts, OutboxItem.not_before, OutboxItem.error
            ).where(OutboxItem.kind == outbox.MINUTES_NUDGE)
        ).all()
    return dict(row._mapping)


def _nudges_to(standin: SlackStandIn, user: str) -> list[Call]:
    """The nudge DMs Slack accepted for `user` (its button opens the minutes form)."""
    return [
        c
        for c in standin.calls("chat.postMessage")
        if c.args.get("channel") == user and c.response["ok"] and "minutes_open" in str(c.args)
    ]


TRANSIENT = {
    # A keyed post is not retried by the Slack client on a 5xx (Slack may have taken it):
    # the road tries it again later, after looking it up.
    "server error": {"status": 500},
    "service unavailable": {"status": 503},
    # Slack answers 200 with ok: false; the client does not retry that.
    "internal_error": {"status": 200, "error": "internal_error"},
    # 429 beyond the client's own five waits for Retry-After.
    "rate limited": {"status": 429, "retry_after": 0, "times": 6},
}


@pytest.mark.parametrize("failure", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_a_nudge_that_fails_for_a_while_is_tried_again_with_backoff_and_arrives_once(
    services: Services,
    scheduler: ReminderScheduler,
    courier: Courier,
    standin: SlackStandIn,
    clock: FrozenClock,
    failure: dict[str, Any],
) -> None:
    standin.fail("chat.postMessage", **failure)
    scheduler.sweep_now()  # claims Friday's meeting, queues its nudge
    courier.drain()
    waiting = _nudge(services)
    assert (waiting["state"], waiting["attempts"]) == (OutboxItem.PENDING, 1)
    assert waiting["not_before"] == clock() + dt.timedelta(seconds=30)
    assert _nudges_to(standin, "UFAC") == []

    assert courier.drain() == 0  # not before its backoff
    clock.advance(dt.timedelta(seconds=30))
    scheduler.sweep_now()  # the meeting stays claimed: no second nudge is queued
    courier.drain()

    assert len(_nudges_to(standin, "UFAC")) == 1
    assert _nudge(services)["state"] == OutboxItem.DONE


@pytest.mark.parametrize("status", [500, 503])
def test_a_nudge_that_slack_took_but_answered_with_a_server_error_is_not_sent_again(
    services: Services,
    scheduler: ReminderScheduler,
    courier: Courier,
    standin: SlackStandIn,
    clock: FrozenClock,
    status: int,
) -> None:
    standin.fail("chat.postMessage", status=status, done_anyway=True)
    scheduler.sweep_now()
    courier.drain()  # one attempt, no blind retry by the client: tried again later
    assert len(standin.calls("chat.postMessage")) == 1
    assert _nudge(services)["state"] == OutboxItem.PENDING

    clock.advance(dt.timedelta(seconds=30))
    courier.drain()  # the retry looks the DM up by its key first, and finds it

    assert len(standin.calls("chat.postMessage")) == 1
    assert len([m for m in standin.history("UFAC") if "minutes_open" in str(m)]) == 1
    assert _nudge(services)["state"] == OutboxItem.DONE


def test_a_nudge_whose_answer_times_out_after_slack_took_it_is_not_sent_again(
    services: Services,
    scheduler: ReminderScheduler,
    courier: Courier,
    standin: SlackStandIn,
    clock: FrozenClock,
) -> None:
    held = standin.hold("chat.postMessage")
    scheduler.sweep_now()
    courier.drain()  # the client gives up after a second: tried again later
    held.release()
    standin.wait_for("chat.postMessage")  # Slack did take it
    assert _nudge(services)["state"] == OutboxItem.PENDING

    clock.advance(dt.timedelta(seconds=30))
    courier.drain()  # the retry looks the DM up by its key first, and finds it

    assert len(_nudges_to(standin, "UFAC")) == 1
    assert _nudge(services)["state"] == OutboxItem.DONE


@pytest.mark.parametrize("reached_slack", [False, True], ids=["before", "after the DM"])
def test_a_worker_that_dies_mid_send_leaves_the_nudge_to_another_which_sends_it_once(
    services: Services,
    scheduler: ReminderScheduler,
    standin: SlackStandIn,
    clock: FrozenClock,
    reached_slack: bool,
) -> None:
    scheduler.sweep_now()
    with services.db.write() as session:
        [item] = outbox.claim(
            session, kind=outbox.MINUTES_NUDGE, owner="dead", now=clock(), limit=10
        )
    if reached_slack:  # its DM went out; the worker died before it marked the item
        lanes = deliveries.lanes(services)
        dead = _worker(services, standin, clock, "dead")
        try:
            lanes[outbox.MINUTES_NUDGE].handler(item, Sending(dead.notifier, item, now=clock()))
        finally:
            dead.close()
        assert len(_nudges_to(standin, "UFAC")) == 1

    heir = _worker(services, standin, clock, "heir")
    try:
        assert heir.drain() == 0  # the dead worker's lease has not run out yet
        clock.advance(TAKE_OVER)
        assert heir.drain() == 1
    finally:
        heir.close()
    assert len(_nudges_to(standin, "UFAC")) == 1
    assert _nudge(services)["state"] == OutboxItem.DONE


def test_a_nudge_slack_refuses_for_good_is_recorded_and_admins_see_it(
    services: Services,
    scheduler: ReminderScheduler,
    courier: Courier,
    standin: SlackStandIn,
    clock: FrozenClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    standin.fail("chat.postMessage", error="user_not_found")
    scheduler.sweep_now()
    courier.drain()
    failed = _nudge(services)
    assert (failed["state"], failed["error"]) == (OutboxItem.FAILED, "user_not_found")
    clock.advance(dt.timedelta(hours=2))
    scheduler.sweep_now()
    assert courier.drain() == 0  # given up: not tried again, and no new nudge queued
    assert _nudges_to(standin, "UFAC") == []

    line = outbox_failed_line(db_url, monkeypatch, tmp_path, capsys)
    assert "minutes_nudge  to UFAC" in line and line.endswith(": user_not_found")


def test_a_nudge_whose_mark_the_database_refused_is_marked_later_and_never_sent_again(
    services: Services,
    scheduler: ReminderScheduler,
    courier: Courier,
    standin: SlackStandIn,
    clock: FrozenClock,
) -> None:
    """Slack took the DM, but the database would not take its mark: the worker keeps the
    claim (and its lease) and writes the mark on its next round, instead of leaving the
    item claimed until the five-minute stuck bound."""
    held = standin.hold("chat.postMessage")
    scheduler.sweep_now()
    sending = threading.Thread(target=courier.drain)
    sending.start()
    assert held.arrived.wait(30)  # claimed, and on its way to Slack
    with services.db.write() as session:  # the outbox is out of reach for a while
        session.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))
    held.release()
    sending.join(30)
    assert not sending.is_alive()
    with services.db.write() as session:
        session.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))
    assert _nudge(services)["state"] == OutboxItem.SENDING  # sent, not marked

    clock.advance(TAKE_OVER)  # past the bound after which a dead worker's claim is taken
    courier.drain()

    assert _nudge(services)["state"] == OutboxItem.DONE
    assert len(_nudges_to(standin, "UFAC")) == 1
