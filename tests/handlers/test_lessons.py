"""Lessons from Slack: /cop les, the publish button on answered questions, /cop lessen."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from storage.models import Community, Lesson, Question
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, buttons, texts

PROGRAMME_CHANNEL = "C0CITYDEAL"


@pytest.fixture
def ethiek(services: Services) -> None:
    add_community(services.db, "ethiek", name="Ethiek", programme="City Deal",
                  facilitators=("UFAC",))  # fmt: skip
    with services.db.write() as session:
        session.execute(update(Community).values(lessons_channel_id=PROGRAMME_CHANNEL))


def _next_number(session: Session, community_id: int) -> int:
    """The community's next question number, as questions.ask gives it."""
    latest = session.scalar(
        select(func.max(Question.number)).where(Question.community_id == community_id)
    )
    return (latest or 0) + 1


def _question(services: Services, *, answered: bool = True) -> int:
    with services.db.write() as session:
        community = session.scalars(select(Community).where(Community.slug == "ethiek")).one()
        question = Question(
            community_id=community.id, number=_next_number(session, community.id),
            text="Wie beheert het register?", asked_by="U1",
            status=Question.ANSWERED if answered else Question.OPEN,
            answer="De CIO, met <@U1> als vraagbaak." if answered else None,
        )  # fmt: skip
        session.add(question)
        session.flush()
        return question.id


def _channel_posts(standin: SlackStandIn) -> list[str]:
    return [
        texts(c.args) for c in standin.calls("chat.postMessage")
        if c.args["channel"] == PROGRAMME_CHANNEL
    ]  # fmt: skip


def _lessons(services: Services) -> list[Lesson]:
    with services.db.read() as session:
        found = list(session.scalars(select(Lesson).order_by(Lesson.id)))
        session.expunge_all()
        return found


@pytest.mark.usefixtures("ethiek")
def test_a_facilitators_lesson_is_posted_in_the_programme_channel_escaped(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    reply = slack.command("UFAC", "les ethiek Begin klein <!channel>\nén houd het register bij.")
    assert f"<#{PROGRAMME_CHANNEL}>" in texts(reply.json())
    assert services.wait_idle(5)
    [post] = _channel_posts(standin)
    assert "Begin klein &lt;!channel&gt;\nén houd het register bij." in post
    assert "<!channel>" not in post
    [lesson] = _lessons(services)
    assert lesson.text == "Begin klein <!channel>\nén houd het register bij."
    assert lesson.ts is not None


@pytest.mark.usefixtures("ethiek")
def test_a_member_cannot_publish_a_lesson(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    body = texts(slack.command("U1", "lesson ethiek Iets wat ik vind.").json())
    assert "kartrekker" in body
    assert services.wait_idle(5)
    assert _lessons(services) == [] and _channel_posts(standin) == []


@pytest.mark.usefixtures("ethiek")
def test_a_lesson_over_the_limit_is_refused_naming_it_and_echoed_back(
    slack: CheckedSlack, services: Services
) -> None:
    text = "woord " * 600  # 3600 characters
    body = texts(slack.command("UFAC", f"les ethiek {text}").json())
    assert "3000" in body
    assert body.count("woord") >= 590
    assert _lessons(services) == []


def test_without_a_channel_the_lesson_is_stored_and_the_facilitator_told_why(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "groen", name="Groen", facilitators=("UFAC",))
    body = texts(slack.command("UFAC", "les groen Samen inkopen scheelt.").json())
    assert "niet gepost" in body and "COP_COMMUNITY_CHANNEL" in body
    assert services.wait_idle(5)
    assert [lesson.text for lesson in _lessons(services)] == ["Samen inkopen scheelt."]
    assert standin.calls("chat.postMessage") == []


@pytest.mark.usefixtures("ethiek")
def test_an_answered_question_is_published_once_with_the_button(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    question = str(_question(services))
    slack.click("UFAC", "lesson_publish_question", question)
    assert services.wait_idle(5)
    [post] = _channel_posts(standin)
    assert "Wie beheert het register?" in post
    assert "&lt;@U1&gt;" in post and "<@U1>" not in post
    slack.click("UADMIN", "lesson_publish_question", question)
    assert services.wait_idle(5)
    assert len(_lessons(services)) == 1
    assert "al als les gedeeld" in texts(standin.calls("response_url")[-1].args)


@pytest.mark.usefixtures("ethiek")
def test_a_forged_publish_click_by_a_member_changes_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    slack.click("U1", "lesson_publish_question", str(_question(services)))
    assert services.wait_idle(5)
    assert _lessons(services) == [] and _channel_posts(standin) == []
    assert "kartrekker" in texts(standin.calls("response_url")[-1].args)


@pytest.mark.usefixtures("ethiek")
def test_an_unanswered_question_is_not_published(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    slack.click("UFAC", "lesson_publish_question", str(_question(services, answered=False)))
    assert services.wait_idle(5)
    assert _lessons(services) == []
    assert "beantwoorde vraag" in texts(standin.calls("response_url")[-1].args)


@pytest.mark.usefixtures("ethiek")
def test_everyone_reads_the_lessons_newest_first_page_by_page(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    # Posts to one channel go out at one a second (bot/outbox.py): this test is about
    # reading them, so its lessons are stored without a channel to post them in.
    with services.db.write() as session:
        session.execute(update(Community).values(lessons_channel_id=None))
    for number in range(1, 26):
        slack.command("UFAC", f"les ethiek Les nummer {number:02d}.")
    assert services.wait_idle(10)
    first = slack.command("U1", "lessen").json()
    assert len(first["blocks"]) <= 50
    body = texts(first)
    assert body.index("Les nummer 25.") < body.index("Les nummer 16.")
    assert "Les nummer 15." not in body
    [more] = buttons(first)
    assert more["action_id"] == "lessons_page-next"
    slack.click("U1", more["action_id"], more["value"])
    assert services.wait_idle(5)
    second = texts(standin.calls("response_url")[-1].args)
    assert "Les nummer 15." in second and "Les nummer 25." not in second
    assert "Lessen van Ethiek" in texts(slack.command("U1", "lessons ethiek").json())
    # A page number typed: of all lessons, or of one community's.
    for command in ("lessen 2", "lessen ethiek 2", "lessons 2"):
        typed = texts(slack.command("U1", command).json())
        assert "Les nummer 15." in typed and "Les nummer 25." not in typed, command
        assert "Ik ken geen community" not in typed
