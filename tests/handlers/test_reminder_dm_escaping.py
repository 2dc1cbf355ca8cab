"""A facilitator's agenda reaches every member in the reminder DM: whatever markup it holds
must arrive there as text, never as a `<!channel>` that pings everyone or a mention."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.clock import FrozenClock
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import meetings, membership, reminders
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, buttons, dms_to, drain_outbox, texts

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam
AGENDA = "<!channel> kom allemaal & <@U123> spreekt"
SPEAKERS = "<!here> & <@U456>"


@pytest.fixture
def ethiek(services: Services) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", facilitators=("UFAC",), channel="C0ETHIEK",
        meetings=(meeting(MARCH_30, key="maart", title="Startbijeenkomst"),),
    )  # fmt: skip
    with services.db.write() as session:
        membership.join(session, query="ethiek", user_id="U1", now=services.clock(),
                        tz=services.settings.timezone)  # fmt: skip
        meetings.sync_reminders(
            session, offsets=services.settings.reminder_offsets, now=services.clock(),
            tz=services.settings.timezone,
        )  # fmt: skip


def write_agenda(slack: CheckedSlack, services: Services) -> None:
    """The facilitator writes the agenda in the form, as Slack sends the submission: the
    text exactly as typed (a plain-text input does not escape it)."""
    reply = slack.command("UFAC", "agenda ethiek").json()
    [compose] = [b for b in buttons(reply) if b["action_id"] == "agenda_open"]
    slack.click("UFAC", compose["action_id"], compose["value"])
    answer = slack.submit(
        "UFAC", slack.opened_view(), {"agenda_text": AGENDA, "agenda_speakers": SPEAKERS}
    )
    assert (answer.status, answer.body) == (200, "")
    assert services.wait_idle(5)


@pytest.mark.usefixtures("ethiek")
def test_markup_in_the_agenda_arrives_escaped_in_the_reminder_dm(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    write_agenda(slack, services)
    drain_outbox(services)
    standin.clear()

    clock.now = MARCH_30 - dt.timedelta(days=6)  # the 7-day reminder is due
    with services.db.write() as session:
        assert len(reminders.fan_out_due(session, now=clock())) == 1
    assert drain_outbox(services) >= 1

    [dm] = dms_to(standin, "U1")
    shown = texts(dm.args)
    assert "*Agenda*\n&lt;!channel&gt; kom allemaal &amp; &lt;@U123&gt; spreekt" in shown
    assert "&lt;!here&gt; &amp; &lt;@U456&gt;" in shown
    # Nowhere in the DM as posted (blocks and fallback text) is the markup active.
    raw = json.dumps({"text": dm.args["text"], "blocks": dm.args["blocks"]})
    for active in ("<!channel>", "<!here>", "<@U123>", "<@U456>"):
        assert active not in raw
    assert dm.args["text"] == "Herinnering: Ethiek: dinsdag 30 maart 2027 om 14:00"
    # Nor in anything else the reminder posted (the community's channel gets one too).
    posts = standin.calls("chat.postMessage")
    assert {post.args["channel"] for post in posts} == {"U1", "C0ETHIEK"}
    everything = json.dumps([post.args for post in posts])
    for active in ("<!channel>", "<!here>", "<@U123>", "<@U456>"):
        assert active not in everything
