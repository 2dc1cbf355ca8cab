"""An agenda gets one channel message, however its first saves and their deliveries meet.

The saves come in as Slack sends them (signed view submissions, to the real app), and the
delivery worker is a process of its own, as under `cop-bot serve`: these services have no
courier, the test runs one. Two saves of one meeting's agenda are two AGENDA_POST items;
the first posts, and every later one must update that post, also when it comes before the
first post's ts is stored (a double submit of the form, an edit while the first post is
on its way or waiting for a retry)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.outbox import Courier
from bot.runtime import Services
from bot.sandbox.standin import Call, SlackStandIn
from bot.services import outbox
from bot.slack_notifier import SlackNotifier, make_web_client
from handlers import deliveries
from storage.models import Meeting, OutboxItem
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, buttons, dms_to, texts

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)
CHANNEL = "C0ETHIEK"


@pytest.fixture
def services(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    """The web side without a courier (`cop-bot serve`'s workers): saves only queue."""
    svc = build_services(settings, clock=clock, courier=False)
    yield svc
    svc.shutdown()


@pytest.fixture
def courier(services: Services, standin: SlackStandIn, clock: FrozenClock) -> Iterator[Courier]:
    """The delivery process. Its Slack client gives up on an answer after a second, so a
    post that Slack accepted but answered late is a time-out, tried again later."""
    notifier = SlackNotifier(make_web_client("xoxb-test", standin.api_url, timeout=1))
    worker = Courier(
        services.db, notifier, deliveries.lanes(services), owner="deliverer", clock=clock
    )
    yield worker
    worker.close()


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", facilitators=("UFAC",), channel=CHANNEL,
        meetings=(meeting(MARCH_30, key="maart"),),
    )  # fmt: skip


def open_form(slack: CheckedSlack) -> dict[str, Any]:
    reply = slack.command("UFAC", "agenda ethiek").json()
    [compose] = [b for b in buttons(reply) if b["action_id"] == "agenda_open"]
    slack.click("UFAC", compose["action_id"], compose["value"])
    return slack.opened_view()


def channel_posts(standin: SlackStandIn, method: str = "chat.postMessage") -> list[Call]:
    """What Slack accepted in the community's channel."""
    return [
        c for c in standin.calls(method) if c.args.get("channel") == CHANNEL and c.response["ok"]
    ]


def stored(services: Services) -> Meeting:
    with services.db.read() as session:
        found = session.scalars(select(Meeting)).one()
        session.expunge(found)
        return found


def agenda_items(services: Services) -> list[str]:
    with services.db.read() as session:
        return list(
            session.scalars(
                select(OutboxItem.state)
                .where(OutboxItem.kind == outbox.AGENDA_POST)
                .order_by(OutboxItem.id)
            )
        )


def drain_all(courier: Courier) -> None:
    """What the delivery process does by itself, poll after poll: drain until idle."""
    while courier.drain():
        pass


def test_a_double_submit_of_the_form_posts_the_agenda_once(
    slack: CheckedSlack, standin: SlackStandIn, services: Services, courier: Courier
) -> None:
    view = open_form(slack)
    # The same form submitted twice (a double click on Opslaan): two signed requests.
    for _ in range(2):
        answer = slack.submit("UFAC", view, {"agenda_text": "1. Welkom\n2. Casus Utrecht"})
        assert (answer.status, answer.body) == (200, "")
    assert agenda_items(services) == [OutboxItem.PENDING, OutboxItem.PENDING]
    # A slow Slack: the first post is still on its way when the second item is handled.
    standin.set_delay(0.3, method="chat.postMessage")

    drain_all(courier)

    [post] = channel_posts(standin)
    assert stored(services).agenda_ts == post.response["ts"]
    [update] = channel_posts(standin, "chat.update")
    assert update.args["ts"] == post.response["ts"]
    assert agenda_items(services) == [OutboxItem.DONE, OutboxItem.DONE]


def test_an_edit_while_the_first_post_waits_for_its_retry_updates_that_post(
    slack: CheckedSlack,
    standin: SlackStandIn,
    services: Services,
    courier: Courier,
    clock: FrozenClock,
) -> None:
    # The first post reaches Slack, but its answer does not reach the bot in time: the
    # item waits for a retry, and the bot has no ts for the post.
    held = standin.hold("chat.postMessage")
    slack.submit("UFAC", open_form(slack), {"agenda_text": "1. Welkom"})
    courier.drain()
    assert held.arrived.is_set()
    held.release()
    [first] = standin.wait_for("chat.postMessage")
    assert first.args["channel"] == CHANNEL
    assert stored(services).agenda_ts is None
    assert agenda_items(services) == [OutboxItem.PENDING]

    # Meanwhile the facilitator edits the agenda.
    slack.submit("UFAC", open_form(slack), {"agenda_text": "1. Welkom\n2. Casus Zwolle"})
    drain_all(courier)
    clock.advance(dt.timedelta(minutes=1))  # the first item's retry is due
    drain_all(courier)

    [post] = channel_posts(standin)
    assert post.response["ts"] == first.response["ts"]
    assert stored(services).agenda_ts == post.response["ts"]
    updates = channel_posts(standin, "chat.update")
    assert updates and {u.args["ts"] for u in updates} == {post.response["ts"]}
    assert "Casus Zwolle" in texts(updates[-1].args)
    assert agenda_items(services) == [OutboxItem.DONE, OutboxItem.DONE]
    notes = [c.args["text"] for c in dms_to(standin, "UFAC")]
    assert len(notes) == 2 and "geplaatst" in notes[0] and "bijgewerkt" in notes[1]
