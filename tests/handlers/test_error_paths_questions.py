"""The question buttons on a question that is gone, was deleted or is answered already,
clicked as Slack sends the click: the reply the user reads (from the catalogue) and
nothing changed, in the database or in Slack."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import membership
from storage.models import Question, QuestionVote
from tests.conftest import AMS
from tests.factories import add_community
from tests.handlers.state import changed_tables, database_state, slack_calls
from tests.handlers.support import CheckedSlack, drain_outbox

t = Translator("nl", AMS)
# Every button a question shows someone, by who sees it (the facilitator: all of them).
OPEN_BUTTONS = (
    ("U2", "question_vote"),
    ("UFAC", "question_status_research"),
    ("UFAC", "question_status_working_group"),
    ("UFAC", "question_answer_open"),
)


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    add_community(services.db, "ethiek", name="Ethiek", facilitators=("UFAC",))
    with services.db.write() as session:
        for user in ("U1", "U2"):
            membership.join(session, query="ethiek", user_id=user, now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip
    drain_outbox(services)


def ask(slack: CheckedSlack, services: Services) -> int:
    reply = slack.command("U1", "vraag ethiek Wie heeft ervaring met een ethische commissie?")
    assert reply.status == 200
    with services.db.read() as session:
        return int(session.scalars(select(Question.id)).one())


def click(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, action: str, qid: int
) -> str:
    """Click `action` on question `qid` as `user` (its action_id carries the id, as the
    list draws it, but for the lesson button); the one answer, sent to response_url, once
    it is certain that the click changed nothing and opened no form."""
    before = database_state(services)
    standin.clear()
    action_id = action if action == "lesson_publish_question" else f"{action}-{qid}"

    assert slack.click(user, action_id, str(qid)).status == 200
    assert services.wait_idle(5)

    assert slack_calls(standin) == ["response_url"]
    assert changed_tables(before, database_state(services)) == []
    [answer] = standin.calls("response_url")
    assert answer.args.get("replace_original") is not True  # the list it came from stays
    return str(answer.args["text"])


@pytest.mark.parametrize(("user", "action"), OPEN_BUTTONS)
def test_a_button_of_a_question_that_never_existed_says_it_does_not_exist(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, action: str
) -> None:
    ask(slack, services)
    gone = 4242

    assert click(slack, services, standin, user, action, gone) == t("questions_not_found", id=gone)


@pytest.mark.parametrize(("user", "action"), OPEN_BUTTONS)
def test_a_button_of_a_question_deleted_since_the_list_was_shown_says_it_is_gone(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, action: str
) -> None:
    qid = ask(slack, services)
    slack.click("U2", f"question_vote-{qid}", str(qid))  # a vote, deleted with it
    assert services.wait_idle(5)
    with services.db.write() as session:
        session.execute(delete(QuestionVote).where(QuestionVote.question_id == qid))
        session.execute(delete(Question).where(Question.id == qid))

    assert click(slack, services, standin, user, action, qid) == t("questions_not_found", id=qid)


def test_sharing_a_deleted_question_as_a_lesson_says_it_is_gone(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    qid = ask(slack, services)
    with services.db.write() as session:
        session.execute(delete(Question).where(Question.id == qid))

    reply = click(slack, services, standin, "UFAC", "lesson_publish_question", qid)
    assert reply == t("lesson_question_missing")


def answer_form(slack: CheckedSlack, services: Services, qid: int) -> dict[str, Any]:
    """The answer form of question `qid`, opened by the facilitator (not yet submitted)."""
    slack.click("UFAC", f"question_answer_open-{qid}", str(qid))
    assert services.wait_idle(5)
    view = slack.opened_view()
    assert view["private_metadata"] == str(qid)
    return view


@pytest.mark.parametrize(("user", "action"), OPEN_BUTTONS)
def test_a_button_of_an_open_question_clicked_after_it_was_answered_says_it_is_answered(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, action: str
) -> None:
    qid = ask(slack, services)
    view = answer_form(slack, services, qid)
    assert slack.submit("UFAC", view, {"answer_text": "Met een commissie."}).body == ""
    assert services.wait_idle(5)
    drain_outbox(services)

    reply = click(slack, services, standin, user, action, qid)
    assert reply == t("questions_already_answered", id=qid)


def test_a_second_answer_to_a_question_answered_meanwhile_is_refused_in_its_form(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    # Two facilitators open the form at the same time; the first to submit answers.
    qid = ask(slack, services)
    first = answer_form(slack, services, qid)
    second = answer_form(slack, services, qid)
    assert slack.submit("UFAC", first, {"answer_text": "Met een commissie."}).body == ""
    assert services.wait_idle(5)
    drain_outbox(services)
    before = database_state(services)
    standin.clear()

    late = slack.submit("UFAC", second, {"answer_text": "Met een adviesraad."}).json()

    # The form stays open with the refusal at its field: the text typed is not lost.
    assert late == {
        "response_action": "errors",
        "errors": {"answer": t("questions_already_answered", id=qid)},
    }
    assert services.wait_idle(5)
    assert changed_tables(before, database_state(services)) == []
    assert slack_calls(standin) == []
    with services.db.read() as session:
        stored = session.get(Question, qid)
        assert stored is not None
        assert (stored.status, stored.answer) == (Question.ANSWERED, "Met een commissie.")
