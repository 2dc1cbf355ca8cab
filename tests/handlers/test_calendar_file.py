"""`/cop kalender`: what the .ics file says, and when there is nothing to put in a
calendar (issue 12 items 8 and 18), through the signed command as Slack sends it."""

from __future__ import annotations

import pytest

from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from tests.conftest import AMS
from tests.handlers.state import changed_tables, database_state, slack_calls
from tests.handlers.support import CheckedSlack, ethiek_with_a_meeting

t = Translator("nl", AMS)


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    """Ethiek (facilitator UFAC, members U1 and U2) with one meeting, "Startbijeenkomst"."""
    ethiek_with_a_meeting(services)


def test_someone_without_communities_is_told_there_is_nothing_and_gets_no_file(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    before = database_state(services)
    standin.clear()

    reply = slack.command("U9", "kalender").json()

    assert services.wait_idle(5)
    assert reply["text"] == t("calendar_nothing")
    assert slack_calls(standin) == []  # no upload, no file
    assert changed_tables(before, database_state(services)) == []  # no feed link made
