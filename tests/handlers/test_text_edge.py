"""Text in once, out once, through signed requests: numbers, NUL, invisible characters,
Slack's escaping undone once and every output escaped once."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import lessons, membership
from storage.models import Lesson, Meeting, Question, QuestionVote, Rsvp, Topic, TopicVote
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, sent, texts

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)
APOLOGY = "er ging iets mis"
INVISIBLE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060-\u2064\ufeff\u180e"
    "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]"
)
HUGE = "99999999999999999999"


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", facilitators=("UFAC",), channel="C0ETHIEK",
        meetings=(meeting(MARCH_30, key="maart"),),
    )  # fmt: skip
    with services.db.write() as session:
        for user in ("U1", "U2"):
            membership.join(session, query="ethiek", user_id=user, now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip


def _count(services: Services, model: Any) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _column(services: Services, column: Any) -> list[Any]:
    with services.db.read() as session:
        return list(session.scalars(select(column)))


def _everything(slack: CheckedSlack, standin: SlackStandIn, services: Services) -> str:
    assert services.wait_idle(5)
    return "\n".join(texts(p) for p in slack.replies() + sent(standin))


def _export(services: Services) -> str:
    with services.db.read() as session:
        everything = lessons.everything(session)
    return lessons.markdown(everything, Translator("nl", services.settings.timezone))


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "command", "answer"),
    [
        ("U1", "vragen ethiek ²", "Nog geen vragen in *Ethiek*"),
        ("U1", f"vragen ethiek {HUGE}", "Nog geen vragen in *Ethiek*"),
        ("U1", "onderwerpen ethiek ²", "nog geen open onderwerpen voor *Ethiek*"),
        ("U1", f"onderwerpen ethiek {HUGE}", "nog geen open onderwerpen voor *Ethiek*"),
        ("UFAC", "bijeenkomst annuleren ethiek ³", "geen komende bijeenkomst met nummer ³"),
        ("UFAC", f"bijeenkomst annuleren ethiek {HUGE}", f"met nummer {HUGE}"),
        ("UFAC", "bijeenkomst verplaatsen ethiek ² 31 maart 2027 14:00", "met nummer ²"),
    ],
)
def test_a_number_that_is_no_number_gets_the_answer_of_one_that_does_not_exist(
    slack: CheckedSlack, services: Services, user: str, command: str, answer: str
) -> None:
    reply = texts(slack.command(user, command).json())

    assert answer in reply
    assert APOLOGY not in reply
    assert _column(services, Meeting.status) == [Meeting.SCHEDULED]
    assert _column(services, Meeting.starts_at) == [MARCH_30]


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("question_vote-1", "abc"),
        ("question_vote-1", HUGE),
        ("question_vote-1", "²"),
        ("question_status_research-1", HUGE),
        ("question_answer_open-1", HUGE),
        ("topic_vote-1", HUGE),
        ("topic_vote-1", "³"),
        ("rsvp_yes-1", "abc"),
        ("rsvp_no-1", HUGE),
        ("minutes_open", HUGE),
        ("lesson_publish_question", "²"),
        ("lesson_publish_question", HUGE),
        ("question_page", "ethiek|²"),
        ("topics_page-more", f"ethiek|{HUGE}"),
        ("lessons_page-next", "|abc"),
        ("meeting_form_move-1", f"ethiek|{HUGE}"),
    ],
)
def test_a_button_value_that_is_no_id_gets_a_friendly_answer_and_changes_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, action_id: str, value: str
) -> None:
    assert slack.click("UFAC", action_id, value).status == 200
    assert services.wait_idle(5)

    [answer] = standin.calls("response_url")
    assert APOLOGY not in texts(answer.args)
    assert standin.calls("views.open") == []
    for model in (QuestionVote, TopicVote, Rsvp, Lesson):
        assert _count(services, model) == 0


def test_forged_metadata_with_a_huge_meeting_id_is_a_meeting_that_does_not_exist(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    slack.click("UFAC", "meeting_form_plan", "ethiek")
    view = slack.opened_view()
    view["private_metadata"] = f'{{"slug": "ethiek", "meeting": {HUGE}}}'

    answer = slack.submit(
        "UFAC", view, {"meeting_form_date": "2027-04-01", "meeting_form_start": "10:00"}
    ).json()

    assert answer["response_action"] == "errors"
    assert "voorbij, afgelast of niet meer" in answer["errors"]["date"]
    assert _count(services, Meeting) == 1


# -- NUL and invisible characters -------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "command", "model"),
    [
        ("U1", "onderwerp ethiek R&D\x00lab", Topic),
        ("U1", "vraag ethiek R&D\x00lab?", Question),
        ("UFAC", "les ethiek R&D\x00lab", Lesson),
    ],
)
def test_a_nul_in_a_command_is_refused_with_the_text_handed_back(
    slack: CheckedSlack, services: Services, user: str, command: str, model: Any
) -> None:
    reply = slack.command(user, command).json()

    shown = texts(reply)
    assert "onzichtbaar teken (NUL)" in shown
    assert command.replace("\x00", "").replace("&", "&amp;") in shown  # nothing lost
    assert APOLOGY not in shown
    assert _count(services, model) == 0


def test_a_nul_in_a_form_is_refused_at_its_field(slack: CheckedSlack, services: Services) -> None:
    shortcut = {"ts": "1700000000.000100", "text": "Een vraag", "user": "U9"}
    slack.shortcut("U1", "save_question", shortcut, "C0GENERAL")

    answer = slack.submit("U1", slack.opened_view(), {"question_text": "R&D\x00?"}).json()

    assert answer["response_action"] == "errors"
    assert "onzichtbaar teken (NUL)" in answer["errors"]["text"]
    assert _count(services, Question) == 0


def test_control_zero_width_and_bidi_characters_reach_no_storage_message_or_ics(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    dirty = "Stad\u200bhuis\u202e\x07 R&D\u2066zaal\u2069\x1b"
    slack.command("UFAC", f"bijeenkomst toevoegen ethiek 1 april 2027 10:00 fysiek {dirty}")
    slack.command("U1", f"onderwerp ethiek Over {dirty}")
    slack.command("U1", f"vraag ethiek Wat is {dirty}?")
    slack.command("U1", "kalender ethiek")

    shown = _everything(slack, standin, services)
    locations = [loc for loc in _column(services, Meeting.location) if loc]
    assert locations == ["Stadhuis R&Dzaal"]
    assert _column(services, Topic.text) == ["Over Stadhuis R&Dzaal"]
    assert _column(services, Question.text) == ["Wat is Stadhuis R&Dzaal?"]
    assert "Stadhuis R&amp;Dzaal" in shown
    assert not INVISIBLE.search(shown.replace("\n", ""))
    [upload] = standin.calls("upload")
    ics = str(upload.args["content"])
    assert "LOCATION:Stadhuis R&Dzaal\r\n" in ics
    assert not INVISIBLE.search(ics.replace("\r\n", ""))


# -- escaping: in once, out once --------------------------------------------------------


def test_r_and_d_is_stored_plain_and_escaped_once_in_each_output(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    topic = texts(slack.command("U1", "onderwerp ethiek R&D <b>").json())
    question = texts(slack.command("U1", "vraag ethiek Wie doet R&D?").json())
    slack.command("UFAC", "les ethiek R&D loont")
    slack.command("UFAC", "bijeenkomst toevoegen ethiek 1 april 2027 10:00 fysiek R&D lab")
    listed = texts(slack.command("U1", "vragen ethiek").json())
    topics = texts(slack.command("U1", "onderwerpen ethiek").json())
    lessons_shown = texts(slack.command("U1", "lessen").json())
    slack.command("U1", "kalender ethiek")

    assert _column(services, Topic.text) == ["R&D <b>"]
    assert _column(services, Question.text) == ["Wie doet R&D?"]
    assert _column(services, Lesson.text) == ["R&D loont"]
    assert "R&amp;D &lt;b&gt;" in topic and "R&amp;D &lt;b&gt;" in topics
    assert "Wie doet R&amp;D?" in listed
    assert "R&amp;D loont" in lessons_shown
    everything = _everything(slack, standin, services) + topic + question
    assert "&amp;amp;" not in everything and "&amp;lt;" not in everything
    # `/cop kalender`'s file, and the members' welcome files that the lesson post's
    # delivery took along from the outbox.
    files = [str(upload.args["content"]) for upload in standin.calls("upload")]
    assert any("LOCATION:R&D lab\r\n" in content for content in files)
    assert not any("&amp;" in content for content in files)
    assert "R&amp;D loont" in _export(services)


def test_broadcasts_and_mentions_typed_are_inert_everywhere(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    # Picked in Slack's client: sent as markup.
    slack.command("U1", "onderwerp ethiek <!channel> vraag <@U123|mallory>", raw=True)
    slack.command("UFAC", "les ethiek <!here> en <@U123> <https://evil.example|hier>", raw=True)
    # Typed literally: Slack escapes them.
    slack.command("U1", "vraag ethiek <!channel> en <@U123>?")
    slack.command("U1", "onderwerpen ethiek")
    slack.command("U1", "vragen ethiek")
    slack.command("U1", "lessen")

    assert _column(services, Topic.text) == ["@channel vraag @U123"]
    assert _column(services, Lesson.text) == ["@here en @U123 hier (https://evil.example)"]
    assert _column(services, Question.text) == ["<!channel> en <@U123>?"]
    shown = _everything(slack, standin, services)
    assert "<!" not in shown and "<@U123" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt; en &lt;@U123&gt;?" in shown
    document = _export(services)
    assert "<" not in document


def test_the_message_shortcut_prefills_the_message_as_plain_text(
    slack: CheckedSlack, services: Services
) -> None:
    message = {"ts": "1.2", "text": "<@U2> vraagt: R&amp;D &lt;b&gt; <!here>?", "user": "U9"}
    slack.shortcut("U1", "save_question", message, "C0GENERAL", raw=True)

    prefill = slack.opened_view()["blocks"][1]["element"]["initial_value"]
    assert prefill == "@U2 vraagt: R&D <b> @here?"


def test_the_markdown_export_publishes_user_text_as_text(
    slack: CheckedSlack, services: Services
) -> None:
    text = "<script>alert(1)</script>\n[klik](javascript:alert(1))\n## kop\n- item"
    slack.command("UFAC", f"les ethiek {text}")
    assert _column(services, Lesson.text) == [text]

    document = _export(services)

    assert "<script>" not in document and "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "\\[klik\\]\\(javascript:alert(1))" in document
    assert "](" not in document
    assert "\n\\## kop\n" in document and "\n## kop" not in document
    assert "\n\\- item\n" in document and "\n- item" not in document
