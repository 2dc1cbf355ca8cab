"""A meeting the community already has at that moment is not planned twice (issue 12
item 9): through the signed command and the meeting form, the refusal the user reads
(from the catalogue), and nothing changed."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from tests.conftest import AMS
from tests.handlers.state import changed_tables, database_state, slack_calls
from tests.handlers.support import MARCH_30, CheckedSlack, buttons, ethiek_with_a_meeting

t = Translator("nl", AMS)
DATE, START = "meeting_form_date", "meeting_form_start"


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    """Ethiek (facilitator UFAC) with one meeting, on 30 March 2027 at 14:00."""
    ethiek_with_a_meeting(services)


@pytest.mark.parametrize(
    "command",
    ["bijeenkomst toevoegen ethiek 30 maart 14:00",
     "bijeenkomst toevoegen ethiek 30 maart 2027 14:00-15:00 fysiek Stadhuis"],
)  # fmt: skip
def test_a_second_meeting_at_the_same_moment_is_refused(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, command: str
) -> None:
    before = database_state(services)
    standin.clear()

    reply = slack.command("UFAC", command).json()

    assert services.wait_idle(5)
    assert reply["text"] == t(
        "meeting_duplicate", name="Ethiek", when=t.datetime(MARCH_30), slug="ethiek"
    )
    assert changed_tables(before, database_state(services)) == []
    assert slack_calls(standin) == []


def test_the_same_command_twice_plans_one_meeting_and_refuses_the_second(
    slack: CheckedSlack, services: Services
) -> None:
    first = slack.command("UFAC", "bijeenkomst toevoegen ethiek 20 april 14:00").json()
    assert first["text"].startswith(":calendar:")
    assert services.wait_idle(5)
    before = database_state(services)

    second = slack.command("UFAC", "bijeenkomst toevoegen ethiek 20 april 14:00").json()

    assert services.wait_idle(5)
    april_20 = dt.datetime(2027, 4, 20, 12, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam
    assert second["text"] == t(
        "meeting_duplicate", name="Ethiek", when=t.datetime(april_20), slug="ethiek"
    )
    assert changed_tables(before, database_state(services)) == []


def test_the_meeting_form_refuses_the_same_moment_under_the_date(
    slack: CheckedSlack, services: Services
) -> None:
    info = slack.command("UFAC", "info ethiek").json()
    [plan] = [b for b in buttons(info) if b["action_id"].startswith("meeting_form_plan")]
    slack.click("UFAC", plan["action_id"], plan["value"])
    view = slack.opened_view()
    before = database_state(services)

    answer = slack.submit("UFAC", view, {DATE: "2027-03-30", START: "14:00"}).json()

    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "date": t("meeting_form_duplicate", name="Ethiek", when=t.datetime(MARCH_30), slug="ethiek")
    }
    assert changed_tables(before, database_state(services)) == []
