"""`/cop kalender`: what the .ics file says, and when there is nothing to put in a
calendar (issue 12 items 8 and 18), through the signed command as Slack sends it."""

from __future__ import annotations

from typing import Any

import icalendar
import pytest
from sqlalchemy import update

from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from storage.models import Meeting
from tests.conftest import AMS
from tests.handlers.state import changed_tables, database_state, slack_calls
from tests.handlers.support import CheckedSlack, drain_outbox, ethiek_with_a_meeting

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
    # Only the personal feed link is made (it fills itself once they join).
    assert changed_tables(before, database_state(services)) in ([], ["calendar_feeds"])


def _agenda(
    services: Services, agenda: str | None, *, title: str | None = "Startbijeenkomst"
) -> None:
    with services.db.write() as session:
        session.execute(update(Meeting).values(agenda=agenda, title=title))


def _event(services: Services, standin: SlackStandIn, slack: CheckedSlack, user: str) -> Any:
    standin.clear()
    slack.command(user, "kalender ethiek")
    assert services.wait_idle(5)
    [upload] = standin.calls("upload")
    [event] = icalendar.Calendar.from_ical(upload.args["content"]).walk("VEVENT")
    return event


def test_the_summary_names_the_community_once_when_the_meeting_has_no_title(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    _agenda(services, None, title=None)
    assert str(_event(services, standin, slack, "U1")["SUMMARY"]) == "CoP Ethiek"
    _agenda(services, None, title="Startbijeenkomst")
    assert str(_event(services, standin, slack, "U1")["SUMMARY"]) == "CoP Ethiek: Startbijeenkomst"


def test_a_member_gets_the_agenda_as_the_description_escaped_once_and_an_outsider_not(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    agenda = "1. Welkom; kennismaken, koffie\n2. R&D \\ <b>ethiek</b>"
    _agenda(services, agenda)

    member = _event(services, standin, slack, "U1")
    raw = member.to_ical().decode()

    assert str(member["DESCRIPTION"]) == agenda  # what the reader's calendar shows
    assert "Welkom\\; kennismaken\\, koffie\\n2. R&D \\\\ <b>" in raw.replace("\r\n ", "")
    assert "\\\\;" not in raw and "&amp;" not in raw  # escaped once, per iCalendar only
    assert "DESCRIPTION" not in _event(services, standin, slack, "U9")


def test_a_new_members_welcome_calendar_carries_the_agenda(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    _agenda(services, "1. Welkom; kennismaken")
    standin.clear()

    slack.command("U3", "aanmelden ethiek")
    assert services.wait_idle(5)
    drain_outbox(services)

    [upload] = standin.calls("upload")
    [event] = icalendar.Calendar.from_ical(upload.args["content"]).walk("VEVENT")
    assert str(event["DESCRIPTION"]) == "1. Welkom; kennismaken"
    assert str(event["SUMMARY"]) == "CoP Ethiek: Startbijeenkomst"
