"""Every refusal of the meeting commands, through the signed command or click as Slack sends
it: the reply the user reads (from the catalogue), and nothing changed, in the database or
in Slack."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from storage.models import Meeting
from tests.conftest import AMS
from tests.handlers.state import changed_tables, database_state, slack_calls
from tests.handlers.support import MARCH_30, CheckedSlack, ethiek_with_a_meeting, settle_outbox

t = Translator("nl", AMS)
USAGE = t("meeting_usage")
HINT = t("not_found_hint")


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    """Ethiek (facilitator UFAC, members U1 and U2) with one meeting and its reminders."""
    ethiek_with_a_meeting(services, key="maart")


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


def not_found(query: str) -> str:
    return f"{t('not_found', query=query)}\n{HINT}"


# -- /cop bijeenkomst: usage ------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "bijeenkomst",
        "bijeenkomst ethiek",  # no action
        "bijeenkomst schuiven ethiek 1",  # an action it does not know
        "bijeenkomst verplaatsen ethiek morgen 10:00",  # no number
        "bijeenkomst annuleren ethiek eerste",  # a word for a number
    ],
)
def test_a_meeting_command_that_is_not_complete_gets_the_usage(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, command: str
) -> None:
    assert refused(slack, services, standin, "UFAC", command) == USAGE


@pytest.mark.parametrize("action", ["toevoegen", "verplaatsen", "annuleren"])
def test_a_meeting_command_with_only_the_community_gets_the_usage(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, action: str
) -> None:
    assert refused(slack, services, standin, "UFAC", f"bijeenkomst {action} ethiek") == USAGE


# -- /cop bijeenkomst: which meeting ----------------------------------------------------


@pytest.mark.parametrize(
    "command",
    ["bijeenkomst annuleren ethiek 2", "bijeenkomst verplaatsen ethiek 2 20 april 2027 15:00"],
)
def test_a_number_no_upcoming_meeting_has_is_answered_with_where_to_find_the_numbers(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, command: str
) -> None:
    assert refused(slack, services, standin, "UFAC", command) == t(
        "meeting_not_found", name="Ethiek", number="2", slug="ethiek"
    )


@pytest.mark.parametrize(
    "command",
    ["bijeenkomst annuleren ethiek 1", "bijeenkomst verplaatsen ethiek 1 20 april 2027 15:00"],
)
def test_a_meeting_that_has_begun_can_no_longer_be_moved_or_cancelled(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    clock: FrozenClock,
    command: str,
) -> None:
    clock.now = MARCH_30 + dt.timedelta(minutes=30)  # under way

    assert refused(slack, services, standin, "UFAC", command) == t(
        "meeting_not_found", name="Ethiek", number="1", slug="ethiek"
    )


@pytest.mark.parametrize(
    "command",
    ["bijeenkomst annuleren ethiek 1", "bijeenkomst verplaatsen ethiek 1 20 april 2027 15:00"],
)
def test_a_cancelled_meeting_can_no_longer_be_moved_or_cancelled(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, command: str
) -> None:
    first = slack.command("UFAC", "bijeenkomst annuleren ethiek 1").json()["text"]
    assert first.startswith(":x: Bijeenkomst van *Ethiek*")
    assert services.wait_idle(5)
    settle_outbox(services)

    assert refused(slack, services, standin, "UFAC", command) == t(
        "meeting_not_found", name="Ethiek", number="1", slug="ethiek"
    )
    with services.db.read() as session:
        assert session.scalars(select(Meeting.status)).all() == [Meeting.CANCELLED]


# -- /cop bijeenkomst: who and where ----------------------------------------------------


@pytest.mark.parametrize(
    "command",
    ["bijeenkomst annuleren ethiek 1", "bijeenkomst verplaatsen ethiek 1 20 april 2027 15:00"],
)
@pytest.mark.parametrize("user", ["U1", "U9"], ids=["member", "outsider"])
def test_someone_who_is_no_facilitator_cannot_move_or_cancel_a_meeting(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, command: str
) -> None:
    assert refused(slack, services, standin, user, command) == t("not_allowed")


@pytest.mark.parametrize(
    "command",
    [
        "bijeenkomst annuleren xyzzy 1",
        "bijeenkomst annuleren xyzzy",
    ],
)
def test_moving_or_cancelling_in_an_unknown_community_says_it_is_unknown(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, command: str
) -> None:
    assert refused(slack, services, standin, "UFAC", command) == not_found("xyzzy")


@pytest.mark.parametrize(
    "command",
    [
        "bijeenkomst toevoegen xyzzy 30 maart 14:00",
        "bijeenkomst verplaatsen xyzzy 1 20 april 2027 15:00",
    ],
)
def test_an_unknown_community_followed_by_a_time_is_named_as_typed(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, command: str
) -> None:
    assert refused(slack, services, standin, "UFAC", command) == not_found("xyzzy")


# -- /cop bijeenkomsten and /cop kalender of an unknown community ------------------------


@pytest.mark.parametrize("word", ["bijeenkomsten", "kalender"])
def test_listing_or_exporting_the_meetings_of_an_unknown_community_says_it_is_unknown(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, word: str
) -> None:
    # Not even the personal feed link is made: `/cop kalender` writes one on first use.
    assert refused(slack, services, standin, "U1", f"{word} xyzzy") == not_found("xyzzy")


@pytest.mark.parametrize("word", ["bijeenkomsten", "kalender"])
def test_a_typo_in_the_community_of_the_meetings_or_calendar_suggests_the_right_one(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, word: str
) -> None:
    expected = f"{t('not_found_suggest', query='etiek', suggestions='`ethiek`')}\n{HINT}"
    assert refused(slack, services, standin, "U1", f"{word} etiek") == expected


# -- the RSVP buttons of a meeting that began or was cancelled ---------------------------


def meeting_id(services: Services) -> int:
    with services.db.read() as session:
        return int(session.scalars(select(Meeting.id)).one())


@pytest.mark.parametrize("answer", ["rsvp_yes", "rsvp_no"])
@pytest.mark.parametrize("why", ["begun", "cancelled"])
def test_an_rsvp_click_after_the_meeting_began_or_was_cancelled_is_refused(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    clock: FrozenClock,
    answer: str,
    why: str,
) -> None:
    mid = meeting_id(services)
    if why == "begun":
        clock.now = MARCH_30 + dt.timedelta(minutes=1)
    else:
        slack.command("UFAC", "bijeenkomst annuleren ethiek 1")
        assert services.wait_idle(5)
        settle_outbox(services)
    before = database_state(services)
    standin.clear()

    assert slack.click("U1", f"{answer}-{mid}", str(mid)).status == 200
    assert services.wait_idle(5)

    [reply] = standin.calls("response_url")
    assert reply.args["text"] == t("meeting_over", name="Ethiek")
    assert slack_calls(standin) == ["response_url"]
    assert changed_tables(before, database_state(services)) == []
