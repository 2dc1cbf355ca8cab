"""Counts and lists as users read them, through the real handlers: "1 lid", "2 leden",
"1 komt", "1 open onderwerp", "`a` of `b`", in Dutch and English."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import membership, privacy
from handlers.privacy import summary_message
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, buttons, ethiek_with_a_meeting, texts

MEMBERS = ("U1", "U2", "U3")


@pytest.fixture
def ethiek(services: Services) -> None:
    ethiek_with_a_meeting(services, members=MEMBERS)


def _english(slack: CheckedSlack, user: str) -> None:
    assert "English" in slack.command(user, "taal en").json()["text"]


def _click(slack: CheckedSlack, standin: SlackStandIn, user: str, button: dict[str, Any]) -> str:
    """`user` clicks `button`; returns the text the app answered on the response_url."""
    before = len(standin.calls("response_url"))
    assert slack.click(user, button["action_id"], button["value"]).status == 200
    return str(standin.wait_for("response_url", before + 1)[-1].args["text"])


# -- /cop bijeenkomsten and the RSVP answer ----------------------------------------------


@pytest.mark.usefixtures("ethiek")
def test_who_comes_reads_0_1_and_2_in_dutch_and_english(
    slack: CheckedSlack, standin: SlackStandIn
) -> None:
    _english(slack, "U3")
    assert "0 komen, 0 niet" in texts(slack.command("U1", "bijeenkomsten").json())
    assert "0 coming, 0 not" in texts(slack.command("U3", "meetings").json())

    [yes, _no] = buttons(slack.command("U1", "bijeenkomsten").json())
    assert "(1 komt, 0 niet.)" in _click(slack, standin, "U1", yes)
    assert "1 komt, 0 niet" in texts(slack.command("U1", "bijeenkomsten").json())
    assert "1 coming, 0 not" in texts(slack.command("U3", "meetings").json())

    assert "(2 komen, 0 niet.)" in _click(slack, standin, "U2", yes)
    assert "2 komen, 0 niet" in texts(slack.command("U1", "bijeenkomsten").json())
    [_yes, no] = buttons(slack.command("U3", "meetings").json())
    assert "(2 coming, 1 not.)" in _click(slack, standin, "U3", no)


# -- /cop onderwerpen and its vote button --------------------------------------------------


@pytest.mark.usefixtures("ethiek")
def test_the_topics_footer_and_the_vote_answer_count_1_and_2_grammatically(
    slack: CheckedSlack, standin: SlackStandIn
) -> None:
    _english(slack, "U3")
    slack.command("U1", "onderwerp ethiek Algoritmeregister")
    assert "· 1 open onderwerp ·" in texts(slack.command("U1", "onderwerpen ethiek").json())
    assert "· 1 open topic ·" in texts(slack.command("U3", "topics ethiek").json())

    [vote] = [b for b in buttons(slack.command("U2", "onderwerpen ethiek").json())
              if b["action_id"].startswith("topic_vote")]  # fmt: skip
    assert _click(slack, standin, "U2", vote).endswith("Dit onderwerp heeft nu 1 stem.")
    assert _click(slack, standin, "U3", vote).endswith("This topic now has 2 votes.")
    assert _click(slack, standin, "U2", vote).endswith("Dit onderwerp heeft nu 1 stem.")
    assert _click(slack, standin, "U3", vote).endswith("This topic now has 0 votes.")
    assert _click(slack, standin, "U2", vote).endswith("Dit onderwerp heeft nu 1 stem.")
    assert _click(slack, standin, "U2", vote).endswith("Dit onderwerp heeft nu 0 stemmen.")

    slack.command("U2", "onderwerp ethiek Privacy bij camera's")
    assert "· 2 open onderwerpen ·" in texts(slack.command("U1", "onderwerpen ethiek").json())
    assert "· 2 open topics ·" in texts(slack.command("U3", "topics ethiek").json())


# -- /cop vragen ---------------------------------------------------------------------------


@pytest.mark.usefixtures("ethiek")
def test_the_questions_page_and_the_vote_answer_count_1_and_2_grammatically(
    slack: CheckedSlack, standin: SlackStandIn
) -> None:
    _english(slack, "U3")
    slack.command("U1", "vraag ethiek Hoe begin je een register?")
    assert "Pagina 1 van 1 · 1 vraag" in texts(slack.command("U1", "vragen ethiek").json())
    assert "Page 1 of 1 · 1 question" in texts(slack.command("U3", "questions ethiek").json())

    [vote] = [b for b in buttons(slack.command("U2", "vragen ethiek").json())
              if b["action_id"].startswith("question_vote")]  # fmt: skip
    assert _click(slack, standin, "U2", vote).endswith("De vraag heeft nu 1 stem.")
    assert _click(slack, standin, "U3", vote).endswith("It now has 2 votes.")
    assert _click(slack, standin, "U2", vote).endswith("De vraag heeft nu 1 stem.")
    assert _click(slack, standin, "U3", vote).endswith("It now has 0 votes.")

    slack.command("U2", "vraag ethiek Wie houdt het bij?")
    assert "Pagina 1 van 1 · 2 vragen" in texts(slack.command("U1", "vragen ethiek").json())
    assert "Page 1 of 1 · 2 questions" in texts(slack.command("U3", "questions ethiek").json())


# -- /cop lijst: members of a community without a limit -------------------------------------


def test_the_list_says_0_leden_1_lid_2_leden(slack: CheckedSlack, services: Services) -> None:
    for slug, joined in (("nul", ()), ("een", ("U1",)), ("twee", ("U1", "U2"))):
        add_community(services.db, slug, name=slug.capitalize())
        with services.db.write() as session:
            for user in joined:
                membership.join(session, query=slug, user_id=user, now=services.clock(),
                                tz=services.settings.timezone)  # fmt: skip
    _english(slack, "U3")
    dutch = texts(slack.command("U1", "info nul").json())
    assert "0 leden" in dutch
    assert "1 lid" in texts(slack.command("U1", "info een").json())
    assert "2 leden" in texts(slack.command("U1", "info twee").json())
    assert "0 members" in texts(slack.command("U3", "info nul").json())
    assert "1 member" in texts(slack.command("U3", "info een").json())
    assert "1 members" not in texts(slack.command("U3", "info een").json())
    assert "2 members" in texts(slack.command("U3", "info twee").json())


# -- suggestions are alternatives: "of" / "or" ---------------------------------------------


def test_suggestions_for_an_unknown_name_are_joined_with_of_and_or(
    slack: CheckedSlack, services: Services
) -> None:
    for slug in ("wijk-noord", "wijk-oost", "wijk-zuid"):
        add_community(services.db, slug, name=slug)
    _english(slack, "U3")
    dutch = slack.command("U1", "info wijk").json()["text"]
    english = slack.command("U3", "info wijk").json()["text"]
    assert "Bedoel je: `wijk-noord`, `wijk-oost` of `wijk-zuid`?" in dutch
    assert "Did you mean: `wijk-noord`, `wijk-oost` or `wijk-zuid`?" in english


# -- the summary of /cop mijn gegevens: counts as an and-list ------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "*Verder:* 1 aanmelding voor een bijeenkomst, 2 stemmen, 0 vragen, "
               "1 onderwerp, 2 lessen, 1 herinnering en 0 welkomstberichten."),
        ("en", "*Also:* 1 meeting answer, 2 votes, 0 questions, 1 topic, 2 lessons, "
               "1 reminder and 0 welcome messages."),
    ],
)  # fmt: skip
def test_the_data_summary_counts_each_kind_grammatically_in_one_list(
    services: Services, language: str, expected: str
) -> None:
    counts = {"rsvps": 1, "topic_votes": 1, "question_votes": 1, "questions": 0, "topics": 1,
              "lessons": 2, "deliveries": 1, "outbox": 0}  # fmt: skip
    summary = privacy.Summary(
        memberships=(("Ethiek", "member"), ("Data", "waitlist")), facilitator_of=("Ethiek",),
        counts=counts, language=None, has_feed=False, left_at=None,
    )  # fmt: skip
    t = Translator(language, services.settings.timezone)
    shown = texts(dataclasses.asdict(summary_message(t, summary, retention_days=1)))
    assert expected in shown
    member, waitlist = ("lid", "wachtlijst") if language == "nl" else ("member", "waitlist")
    conj = "en" if language == "nl" else "and"
    assert f"Ethiek ({member}) {conj} Data ({waitlist})" in shown
