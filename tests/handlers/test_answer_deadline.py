"""An answer within 3 s, always: a slow or rate-limiting Slack never holds up the HTTP
answer. Slack calls made while a request is open end at the request's deadline, and the
user is asked to try again; what can wait (a permalink) follows after the answer.

The test client gives up after 10 s (tests/conftest.py), so an answer that arrives at all
did not wait out the 20-s delays or the 8-s Retry-Afters injected here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import membership
from bot.slack_notifier import WithinDeadline
from storage.models import Question
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, buttons

SLOW_NL = ":hourglass: Slack reageert traag; probeer het zo nog eens."
SLOW_EN = ":hourglass: Slack is responding slowly; please try again in a moment."
FRIDAY = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.UTC)  # three days before NOW


@pytest.fixture
def ethiek(services: Services) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", channel="C0ETHIEK", facilitators=("UFAC",),
        meetings=(meeting(FRIDAY, key="friday"),),
    )  # fmt: skip
    with services.db.write() as session:
        membership.join(session, query="ethiek", user_id="U1", now=services.clock(),
                        tz=services.settings.timezone)  # fmt: skip


def _click_plan_button(slack: CheckedSlack, user: str = "UFAC") -> Any:
    """'Bijeenkomst plannen' under /cop info: a button that opens a modal."""
    info = slack.command(user, "info ethiek").json()
    [plan] = [b for b in buttons(info) if b["action_id"].startswith("meeting_form_plan")]
    return slack.click(user, plan["action_id"], plan["value"])


def _stored_questions(services: Services) -> list[Question]:
    with services.db.read() as session:
        found = list(session.scalars(select(Question)))
        for question in found:
            session.expunge(question)
        return found


@pytest.mark.usefixtures("ethiek")
def test_a_button_whose_modal_slack_opens_too_slowly_is_answered_and_asks_to_try_again(
    slack: CheckedSlack, standin: SlackStandIn
) -> None:
    standin.set_delay(20, method="views.open")  # a slow Slack, not waited for (not sync)

    response = _click_plan_button(slack)

    assert response.status == 200
    [told] = standin.wait_for("response_url", 1)
    assert told.args["text"] == SLOW_NL
    assert told.args.get("replace_original") is False
    assert standin.calls("views.open") == []  # still being "answered" by the slow Slack


@pytest.mark.usefixtures("ethiek")
def test_a_slash_command_whose_modal_slack_opens_too_slowly_asks_to_try_again_in_the_answer(
    slack: CheckedSlack, standin: SlackStandIn
) -> None:
    standin.set_delay(20, method="views.open")  # a slow Slack, not waited for (not sync)

    response = slack.command("UFAC", "verslag ethiek")

    assert response.status == 200
    assert response.json()["text"] == SLOW_NL
    assert response.json()["response_type"] == "ephemeral"


@pytest.mark.usefixtures("ethiek")
def test_the_try_again_message_comes_in_the_users_language(
    slack: CheckedSlack, standin: SlackStandIn
) -> None:
    slack.command("UFAC", "taal en")
    standin.set_delay(20, method="views.open")  # a slow Slack, not waited for (not sync)

    assert slack.command("UFAC", "verslag ethiek").json()["text"] == SLOW_EN


@pytest.mark.usefixtures("ethiek")
def test_a_rate_limited_modal_from_a_button_is_not_waited_for_nor_retried_after_its_trigger(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    standin.fail("views.open", status=429, retry_after=8)

    response = _click_plan_button(slack)

    assert response.status == 200
    # Waiting out Retry-After would have made a second attempt before the answer.
    assert [c.status for c in standin.calls("views.open")] == [429]
    [told] = standin.wait_for("response_url", 1)
    assert told.args["text"] == SLOW_NL
    assert services.wait_idle(5)
    assert len(standin.calls("views.open")) == 1  # the trigger is gone: never tried again


@pytest.mark.usefixtures("ethiek")
def test_a_rate_limited_modal_from_a_slash_command_is_answered_at_once(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    standin.fail("views.open", status=429, retry_after=8)

    response = slack.command("UFAC", "verslag ethiek")

    assert [c.status for c in standin.calls("views.open")] == [429]
    assert response.json()["text"] == SLOW_NL
    assert services.wait_idle(5)
    assert len(standin.calls("views.open")) == 1
    assert standin.calls("response_url") == []  # one answer, not a late second one


@pytest.mark.usefixtures("ethiek")
def test_a_modal_that_opens_in_time_still_opens(slack: CheckedSlack, standin: SlackStandIn) -> None:
    standin.set_delay(0.3, method="views.open")  # slow but in time; not synchronisation

    response = slack.command("UFAC", "verslag ethiek")

    assert (response.status, response.body) == (200, "")
    assert slack.opened_view()["callback_id"] == "minutes_form"


@pytest.mark.usefixtures("ethiek")
def test_a_rate_limited_permalink_does_not_hold_up_the_saved_question_and_follows_after(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[tuple[float, int]] = []  # what the retries waited, after how many calls
    monkeypatch.setattr(
        WithinDeadline,
        "sleep",
        staticmethod(lambda s: slept.append((s, len(standin.calls("chat.getPermalink"))))),
    )
    message = {"ts": "1700000000.000100", "text": "Hoe doet Utrecht dit?", "user": "U9"}
    assert slack.shortcut("U1", "save_question", message, "C0GENERAL").status == 200
    # Slack keeps saying "wait 8 s" to the next call too, as it does within the window.
    standin.fail("chat.getPermalink", status=429, retry_after=8, times=2)
    # What follows the answer waits until the test has looked at the answer: the retries'
    # sleep is instant here, so on a busy machine it could otherwise run ahead of the test.
    gate = standin.hold_after("chat.getPermalink", passing=1)

    response = slack.submit("U1", slack.opened_view(), {"question_text": "Hoe doet Utrecht dit?"})

    assert (response.status, response.body) == (200, "")
    # Answered after one refused attempt, not after waiting Retry-After for a second.
    [limited] = standin.calls("chat.getPermalink")
    assert limited.status == 429
    [question] = _stored_questions(services)
    assert (question.text, question.permalink) == ("Hoe doet Utrecht dit?", None)
    # After the answer, outside the request, Retry-After is honoured and the link follows.
    assert gate.wait_held(1)
    gate.release()
    [_, again, link] = standin.wait_for("chat.getPermalink", 3, timeout=30)
    assert (again.status, link.status) == (429, 200)
    [(wait, calls_before)] = slept
    assert 8 <= wait < 9 and calls_before == 2  # Retry-After waited out, between the two
    assert services.wait_idle(30)
    [question] = _stored_questions(services)
    assert question.permalink == link.response["permalink"]
