"""Questions are numbered per community: a community's first question is #1, whatever
other communities asked before (issue 12 item 10). Through the signed command as Slack
sends it; the buttons keep carrying the question's id."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.i18n import Translator
from bot.runtime import Services
from storage.models import Question
from tests.conftest import AMS
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, buttons, settle_outbox, texts

t = Translator("nl", AMS)


@pytest.fixture(autouse=True)
def two_communities(slack: CheckedSlack, services: Services) -> None:
    """Ethiek and Voorspellen, U1 a member of both."""
    add_community(services.db, "ethiek", name="Ethiek", facilitators=("UFAC",))
    add_community(services.db, "voorspellen", name="Voorspellen", facilitators=("UFAC",))
    for slug in ("ethiek", "voorspellen"):
        slack.command("U1", f"aanmelden {slug}")
    assert services.wait_idle(5)
    settle_outbox(services)


def test_the_first_question_of_a_community_is_number_one(
    slack: CheckedSlack, services: Services
) -> None:
    for n in range(3):
        slack.command("U1", f"vraag ethiek Vraag {n} over ethiek?")

    reply = slack.command("U1", "vraag voorspellen Wie voorspelt er al?").json()

    assert reply["text"].startswith(
        ":question: Je vraag staat genoteerd als *#1* in *Voorspellen*."
    )
    listing = slack.command("U1", "vragen voorspellen").json()
    assert "*#1* · _open_" in texts(listing)
    assert "#4" not in texts(listing)
    # The buttons still name the question by its id, which is not its number.
    with services.db.read() as session:
        [asked] = session.scalars(
            select(Question).where(Question.text == "Wie voorspelt er al?")
        ).all()
    assert (asked.id, asked.number) == (4, 1)
    assert {b["value"] for b in buttons(listing)} == {"4"}


def test_a_vote_names_the_questions_number_in_its_community(
    slack: CheckedSlack, services: Services
) -> None:
    slack.command("U1", "vraag ethiek Eerste?")
    slack.command("U1", "vraag voorspellen Eerste hier?")
    listing = slack.command("UFAC", "vragen voorspellen").json()
    [vote] = [b for b in buttons(listing) if b["action_id"].startswith("question_vote")]

    slack.click("UFAC", vote["action_id"], vote["value"])
    assert services.wait_idle(5)

    [answer] = slack.standin.calls("response_url")
    assert answer.args["text"] == t("questions_voted", id=1, count=1)
