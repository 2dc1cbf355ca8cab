"""An RSVP redraws the message it was clicked in: the list of meetings (ephemeral) and the
reminder in the DM show the answer on their buttons and the counts; a post in a channel,
which every member sees, is left alone and the answer comes to the clicker alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services.communities import meeting_view
from bot.services.reminders import ReminderMessage, to_send
from handlers import render
from storage.models import Meeting, Reminder, Rsvp
from tests.conftest import AMS
from tests.handlers.support import CheckedSlack, buttons, ethiek_with_a_meeting, texts

t = Translator("nl", AMS)


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    ethiek_with_a_meeting(services)


def _answer(standin: SlackStandIn, nth: int = 1) -> dict[str, Any]:
    return dict(standin.wait_for("response_url", nth)[-1].args)


def _answers(services: Services) -> list[tuple[str, str]]:
    with services.db.read() as session:
        return [(u, a) for u, a in session.execute(select(Rsvp.user_id, Rsvp.answer))]


def test_an_rsvp_in_the_list_of_meetings_redraws_that_list(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    listing = slack.command("U1", "bijeenkomsten ethiek").json()
    yes = buttons(listing)[0]
    block = next(b for b in listing["blocks"] if b.get("type") == "actions")
    assert block["block_id"].endswith("-ethiek")

    slack.click("U1", yes["action_id"], yes["value"], block_id=block["block_id"])

    answer = _answer(standin)
    assert answer["replace_original"] is True
    redrawn = buttons(answer)
    assert redrawn[0]["text"]["text"] == t("button_yes_chosen")
    assert redrawn[1]["text"]["text"] == t("button_no")
    assert "jij komt" in texts(answer) and "1 komt, 0 niet" in texts(answer)
    assert _answers(services) == [("U1", "yes")]


def test_an_rsvp_in_the_reminder_dm_redraws_the_reminder(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    with services.db.read() as session:
        m = meeting_view(session.scalars(select(Meeting)).one())
    reminder = render.reminder(t, ReminderMessage(
        reminder_id=1, recipient="U1", kind="dm", offset_seconds=7 * 86400, meeting=m,
        community_name="Ethiek", community_slug="ethiek", agenda=None,
    ), now=services.clock())  # fmt: skip
    message = {"ts": "1700000000.000100", "text": reminder.text, "blocks": reminder.blocks}
    no = next(
        b for b in buttons({"blocks": reminder.blocks}) if b["action_id"].startswith("rsvp_no")
    )

    slack.click("U1", no["action_id"], no["value"], block_id=f"rsvp-{m.id}",
                channel_id="D0U1", message=message)  # fmt: skip

    answer = _answer(standin)
    assert answer["replace_original"] is True
    assert "Je komt niet (0 komen, 1 niet)" in texts(answer)
    redrawn = {b["action_id"]: b for b in buttons(answer)}
    assert redrawn[f"rsvp_no-{m.id}"]["text"]["text"] == t("button_no_chosen")
    # The rest of the reminder is as it was.
    assert texts({"blocks": reminder.blocks[:2]}) in texts(answer)
    assert _answers(services) == [("U1", "no")]


def test_an_rsvp_on_a_channel_post_answers_the_clicker_alone(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    with services.db.read() as session:
        m = meeting_view(session.scalars(select(Meeting)).one())
    post = render.reminder(t, ReminderMessage(
        reminder_id=1, recipient="C0ETHIEK", kind="channel", offset_seconds=86400, meeting=m,
        community_name="Ethiek", community_slug="ethiek", agenda=None,
    ), now=services.clock())  # fmt: skip
    message = {"ts": "1700000000.000200", "text": post.text, "blocks": post.blocks}
    yes = buttons({"blocks": post.blocks})[0]

    slack.click("U1", yes["action_id"], yes["value"], block_id=f"rsvp-{m.id}",
                channel_id="C0ETHIEK", message=message)  # fmt: skip

    answer = _answer(standin)
    assert answer.get("replace_original") is False
    assert answer["response_type"] == "ephemeral"
    assert "je komt" in answer["text"]


def test_a_reminder_to_someone_who_answered_shows_that_answer(services: Services) -> None:
    with services.db.read() as session:
        meeting = session.scalars(select(Meeting)).one()
        reminder_id = session.scalars(select(Reminder.id)).first()
    with services.db.write() as session:
        session.add(Rsvp(meeting_id=meeting.id, user_id="U1", answer="yes"))
    assert reminder_id is not None
    with services.db.read() as session:
        mine = to_send(session, reminder_id=reminder_id, recipient="U1", dm=True,
                       now=services.clock())  # fmt: skip
        theirs = to_send(session, reminder_id=reminder_id, recipient="U2", dm=True,
                         now=services.clock())  # fmt: skip
    assert mine is not None and theirs is not None
    assert (mine.my_answer, theirs.my_answer) == ("yes", None)
    shown = render.reminder(t, mine, now=services.clock())
    assert t("reminder_answered_yes") in texts({"blocks": shown.blocks})
    assert buttons({"blocks": shown.blocks})[0]["text"]["text"] == t("button_yes_chosen")
    other = render.reminder(t, theirs, now=services.clock())
    assert t("reminder_question") in texts({"blocks": other.blocks})


def test_a_question_vote_in_the_list_redraws_that_list(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.command("U1", "vraag ethiek Wie heeft een ethische commissie?")
    assert services.wait_idle(5)
    listing = slack.command("U2", "vragen ethiek").json()
    vote = buttons(listing)[0]
    block = next(b for b in listing["blocks"] if b.get("type") == "actions")
    assert block["block_id"].endswith("-1")  # the list's page

    slack.click("U2", vote["action_id"], vote["value"], block_id=block["block_id"])

    answer = _answer(standin)
    assert answer["replace_original"] is True
    assert buttons(answer)[0]["text"]["text"] == t("questions_button_unvote")
    assert t("questions_votes", count=1) in texts(answer)
