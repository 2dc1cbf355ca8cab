"""One visibility rule on every surface: what a non-member, a member, a facilitator and an
admin see of a community (bot/services/visibility.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bot.config import Settings
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import agenda, membership, outbox, questions
from storage.models import Community, Meeting, QuestionVote, Rsvp, TopicVote
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, buttons, dms_to, drain_outbox, texts

PUBLIC_URL = "https://cop.example.org"
LINK = re.compile(r"https://cop\.example\.org(/calendar/[A-Za-z0-9_-]+\.ics)")
# NOW in the fixtures is Monday 23 November 2026.
PAST = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.UTC)  # Friday 20 November, 14:00
MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)
AGENDA = "1. Algoritmeregister: hoe begin je?"
MINUTES = "Besproken: het register van Utrecht."
# UMEM is a member; UWAIT is on the waitlist (capacity 1); UOUT is in no community.
OUTSIDERS = ("UOUT", "UWAIT")
READERS = ("UMEM", "UFAC", "UADMIN")
EVERYONE = OUTSIDERS + READERS


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, public_url=PUBLIC_URL)


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    """Ethiek, full with one member, one on its waitlist; a past meeting with minutes, the
    next one with an agenda, an open topic and an open question."""
    add_community(
        services.db, "ethiek", name="Ethiek", capacity=1, facilitators=("UFAC",),
        meetings=(meeting(PAST, key="past"), meeting(MARCH_30, key="next", title="Start")),
    )  # fmt: skip
    now, tz = services.clock(), services.settings.timezone
    with services.db.write() as session:
        for user in ("UMEM", "UWAIT"):
            membership.join(session, query="ethiek", user_id=user, now=now, tz=tz)
        for found in session.scalars(select(Meeting)):
            if found.key == "past":
                found.minutes, found.minutes_by = MINUTES, "UFAC"
            else:
                found.agenda, found.agenda_by = AGENDA, "UFAC"
        agenda.propose(session, query="ethiek", user_id="UMEM", text="Een open onderwerp",
                       admins=(), now=now)  # fmt: skip
        questions.ask(session, query="ethiek", user_id="UMEM", text="Een open vraag?",
                      admins=(), now=now)  # fmt: skip
        upcoming = session.scalars(select(Meeting).where(Meeting.key == "next")).one()
        session.add(Rsvp(meeting_id=upcoming.id, user_id="UMEM", answer=Rsvp.YES))


def _refused(text: str, what: str) -> None:
    assert what in text, text
    assert "`/cop aanmelden ethiek`" in text, text


# -- /cop leden ---------------------------------------------------------------------------


@pytest.mark.parametrize("user", OUTSIDERS)
def test_the_member_list_is_closed_to_non_members_and_the_waitlist(
    slack: CheckedSlack, user: str
) -> None:
    reply = slack.command(user, "leden ethiek").json()
    shown = texts(reply)
    _refused(shown, "De ledenlijst van *Ethiek* is alleen voor leden en kartrekkers")
    assert "<@UMEM>" not in shown and "<@UWAIT>" not in shown


@pytest.mark.parametrize("user", READERS)
def test_members_facilitators_and_admins_read_the_member_list(
    slack: CheckedSlack, user: str
) -> None:
    shown = texts(slack.command(user, "leden ethiek").json())
    assert "<@UMEM>" in shown
    assert "1. <@UWAIT>" in shown


# -- /cop verslag and /cop info -----------------------------------------------------------


@pytest.mark.parametrize("user", OUTSIDERS)
def test_minutes_are_not_shown_to_non_members(
    slack: CheckedSlack, standin: SlackStandIn, user: str
) -> None:
    shown = texts(slack.command(user, "verslag ethiek").json())
    assert "Een verslag schrijven kan alleen een kartrekker" in shown
    _refused(shown, "De verslagen van *Ethiek* zijn alleen voor leden en kartrekkers")
    assert MINUTES not in shown
    assert standin.calls("views.open") == []


def test_a_member_reads_the_latest_minutes(slack: CheckedSlack) -> None:
    shown = texts(slack.command("UMEM", "verslag ethiek").json())
    assert MINUTES in shown


@pytest.mark.parametrize("user", ("UFAC", "UADMIN"))
def test_facilitators_and_admins_get_the_minutes_form_with_the_text(
    slack: CheckedSlack, user: str
) -> None:
    slack.command(user, "verslag ethiek")
    view = slack.opened_view()
    assert view["blocks"][2]["element"]["initial_value"] == MINUTES


@pytest.mark.parametrize("user", EVERYONE)
def test_info_shows_everyone_the_public_part_and_only_readers_the_minutes(
    slack: CheckedSlack, user: str
) -> None:
    shown = texts(slack.command(user, "info ethiek").json())
    # The public part: facilitators, seats, meetings.
    assert "<@UFAC>" in shown
    assert "1/1 leden, vol (1 op de wachtlijst)" in shown
    assert "Start" in shown
    assert "<@UMEM>" not in shown  # never member names
    minutes_link = "verslag van vrijdag 20 november 2026: `/cop verslag ethiek`"
    assert (minutes_link in shown) is (user in READERS)


# -- /cop bijeenkomsten and RSVPs -----------------------------------------------------------


@pytest.mark.parametrize("user", OUTSIDERS)
def test_non_members_see_dates_and_places_but_not_who_comes(slack: CheckedSlack, user: str) -> None:
    reply = slack.command(user, "bijeenkomsten ethiek").json()
    shown = texts(reply)
    assert "dinsdag 30 maart 2027" in shown and "Start" in shown
    assert "komen" not in shown.replace("Wie er komt", "")
    assert buttons(reply) == []
    _refused(shown, "Wie er komt en de agenda van *Ethiek* zien alleen leden")


@pytest.mark.parametrize("user", READERS)
def test_readers_see_who_comes_with_the_rsvp_buttons(slack: CheckedSlack, user: str) -> None:
    reply = slack.command(user, "bijeenkomsten ethiek").json()
    assert "1 komt, 0 niet" in texts(reply)
    actions = {b["action_id"].split("-")[0] for b in buttons(reply)}
    assert {"rsvp_yes", "rsvp_no"} <= actions


@pytest.mark.parametrize("user", OUTSIDERS)
def test_an_rsvp_click_by_a_non_member_is_refused_and_changes_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str
) -> None:
    with services.db.read() as session:
        meeting_id = session.scalars(select(Meeting.id).where(Meeting.key == "next")).one()
    slack.click(user, f"rsvp_yes-{meeting_id}", str(meeting_id))
    [answer] = standin.wait_for("response_url", 1)
    _refused(answer.args["text"], "Alleen leden van *Ethiek* geven aan of ze komen")
    with services.db.read() as session:
        assert session.execute(select(Rsvp.user_id, Rsvp.answer)).all() == [("UMEM", "yes")]


# -- the one-off calendar file and the feed --------------------------------------------------


def _descriptions(content: str | bytes) -> list[str]:
    return [
        str(event.get("DESCRIPTION", "")) for event in Calendar.from_ical(content).walk("VEVENT")
    ]


@pytest.mark.parametrize("user", EVERYONE)
def test_the_calendar_file_holds_the_agenda_for_readers_only(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str
) -> None:
    slack.command(user, "kalender ethiek")
    assert services.wait_idle(5)
    [upload] = standin.calls("upload")
    content = upload.args["content"]
    assert "SUMMARY:CoP Ethiek: Start" in content  # the meeting itself is public
    assert (AGENDA in _descriptions(content)) is (user in READERS)
    assert "Algoritmeregister" in content if user in READERS else "Algoritmeregister" not in content


def _feed(slack: CheckedSlack, user: str) -> bytes:
    found = LINK.search(texts(slack.command(user, "kalender").json()))
    assert found is not None
    response = slack.get(found.group(1))
    assert response.status == 200
    return response.body.encode()


def test_the_feed_of_a_member_holds_the_agenda(slack: CheckedSlack) -> None:
    assert AGENDA in _descriptions(_feed(slack, "UMEM"))


@pytest.mark.parametrize("user", OUTSIDERS)
def test_the_feed_of_a_non_member_holds_nothing_of_the_community(
    slack: CheckedSlack, user: str
) -> None:
    body = _feed(slack, user)
    assert b"Ethiek" not in body and b"Algoritmeregister" not in body


# -- agenda, topics, questions, lessons -------------------------------------------------------


@pytest.mark.parametrize("user", EVERYONE)
@pytest.mark.parametrize(
    ("command", "secret", "refusal"),
    [
        ("agenda ethiek", "Algoritmeregister", "Alleen leden van *Ethiek* doen mee"),
        ("onderwerpen ethiek", "Een open onderwerp", "Alleen leden van *Ethiek* doen mee"),
        ("vragen ethiek", "Een open vraag?", "Alleen leden en kartrekkers van *Ethiek*"),
    ],
)
def test_agenda_topics_and_questions_are_for_readers_only(
    slack: CheckedSlack, user: str, command: str, secret: str, refusal: str
) -> None:
    shown = texts(slack.command(user, command).json())
    if user in READERS:
        assert secret in shown
    else:
        assert secret not in shown
        _refused(shown, refusal)


@pytest.mark.parametrize("user", OUTSIDERS)
def test_votes_by_non_members_are_refused_and_change_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str
) -> None:
    reader = slack.command("UMEM", "onderwerpen ethiek").json()
    vote = buttons(reader)[0]
    question = next(b for b in buttons(slack.command("UMEM", "vragen ethiek").json())
                    if b["action_id"].startswith("question_vote"))  # fmt: skip
    slack.click(user, vote["action_id"], vote["value"])
    slack.click(user, question["action_id"], question["value"])
    answers = standin.wait_for("response_url", 2)
    assert all("`/cop aanmelden ethiek`" in a.args["text"] for a in answers)
    with services.db.read() as session:
        assert session.scalars(select(TopicVote)).all() == []
        assert session.scalars(select(QuestionVote)).all() == []


@pytest.mark.parametrize("user", EVERYONE)
def test_published_lessons_are_for_everyone(slack: CheckedSlack, user: str) -> None:
    slack.command("UFAC", "les ethiek Begin klein: één register.")
    assert "Begin klein: één register." in texts(slack.command(user, "lessen ethiek").json())
    assert "Begin klein: één register." in texts(slack.command(user, "lessen").json())


# -- DMs ----------------------------------------------------------------------------------


def test_an_answer_is_not_sent_to_a_voter_who_left_the_community(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    now, tz = services.clock(), services.settings.timezone
    with services.db.write() as session:
        [question_id] = [q.id for q in questions.list_questions(
            session, query="ethiek", user_id="UMEM", admins=()).questions]  # fmt: skip
        questions.toggle_vote(session, question_id=question_id, user_id="UFAC", admins=())
        membership.leave(session, query="ethiek", user_id="UMEM", now=now, tz=tz)
    with services.db.write() as session:
        answered = questions.answer(
            session, question_id=question_id, text="Zo.", user_id="UFAC", admins=(), now=now
        )
    # The asker left: only the voter who still reads the community hears the answer.
    assert answered.recipients == ("UFAC",)


def test_a_queued_welcome_is_dropped_when_the_person_left_before_it_went_out(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    with services.db.write() as session:
        community = session.scalars(select(Community).where(Community.slug == "ethiek")).one()
        community.channel_id = "C0ETHIEK"
        for kind in (outbox.WELCOME, outbox.WELCOME_CALENDAR):
            outbox.enqueue(session, kind=kind, recipient="UOUT", subject="ethiek",
                           now=services.clock())  # fmt: skip
    drain_outbox(services)
    assert services.wait_idle(5)
    assert dms_to(standin, "UOUT") == []
    assert [c for c in standin.calls("conversations.invite") if c.args["users"] == "UOUT"] == []
    assert [c for c in standin.calls("files.completeUploadExternal")
            if c.args["channel_id"] == "DUOUT"] == []  # fmt: skip
