"""How `/cop bijeenkomst` refuses a date and time it will not plan (issue 12): through the
signed command as Slack sends it, the reply the user reads (from the catalogue), and
nothing changed, in the database or in Slack."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clock import FrozenClock
from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from tests.conftest import AMS
from tests.handlers.state import changed_tables, database_state, slack_calls
from tests.handlers.support import CheckedSlack, ethiek_with_a_meeting

t = Translator("nl", AMS)


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    """Ethiek (facilitator UFAC, members U1 and U2) with one meeting and its reminders."""
    ethiek_with_a_meeting(services)


def refused(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, command: str
) -> str:
    """`/cop <command>` by `user`: its ephemeral answer's text, once it is certain that the
    command changed nothing in the database and sent nothing to Slack."""
    before = database_state(services)
    standin.clear()

    response = slack.command(user, command)

    assert response.status == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    assert services.wait_idle(5)
    assert changed_tables(before, database_state(services)) == []
    assert slack_calls(standin) == []
    return str(reply["text"])


def test_a_date_without_a_year_that_passed_yesterday_is_refused_as_past_not_next_year(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    clock.now = dt.datetime(2027, 3, 31, 8, 0, tzinfo=dt.UTC)  # 31 March, 10:00 in Amsterdam

    reply = refused(slack, services, standin, "UFAC", "bijeenkomst toevoegen ethiek 30 maart 14:00")

    assert reply == t(
        "when_past_yearless", text="30 maart 14:00", reading="dinsdag 30 maart 2027 om 14:00",
        example="30 maart 2028 14:00",
    )  # fmt: skip


def test_a_date_without_a_time_is_told_the_time_is_missing_with_an_example(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    reply = refused(slack, services, standin, "UFAC", "bijeenkomst toevoegen ethiek 20 april")

    assert reply == t("when_no_time", text="20 april", date="dinsdag 20 april 2027")
    assert "00:00" not in reply


@pytest.mark.parametrize(
    ("typed", "reading"),
    [("gisteren 10:00", "zondag 22 november 2026 om 10:00"),
     ("yesterday 10:00", "zondag 22 november 2026 om 10:00")],
)  # fmt: skip
def test_yesterday_is_refused_as_in_the_past(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, typed: str, reading: str
) -> None:
    reply = refused(slack, services, standin, "UFAC", f"bijeenkomst toevoegen ethiek {typed}")

    assert reply == t("when_past", text=typed, reading=reading)


@pytest.mark.parametrize(
    "command",
    ["bijeenkomst toevoegen ethiek 3x maart", "bijeenkomst verplaatsen ethiek 1 3x maart",
     "bijeenkomst toevoegen ethiek 30 maart"],
)  # fmt: skip
@pytest.mark.parametrize("user", ["U1", "U9"], ids=["member", "outsider"])
def test_someone_who_may_not_plan_hears_that_before_any_typo_in_the_date(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, command: str
) -> None:
    assert refused(slack, services, standin, user, command) == t("not_allowed")
