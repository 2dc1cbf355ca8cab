"""Meetings from Slack: plan, list, move, cancel, RSVP, and the calendar file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from storage.models import Meeting, Reminder, Rsvp
from tests.handlers.support import (
    CheckedSlack,
    buttons,
    dms_to,
    ethiek_with_a_meeting,
    one_dm_each_saying,
    texts,
)

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam


@pytest.fixture
def ethiek(services: Services) -> None:
    ethiek_with_a_meeting(services)


def _rsvp(
    slack: CheckedSlack, standin: SlackStandIn, user: str, button: dict[str, Any], nth: int
) -> str:
    """Click an RSVP button as `user` and return the `nth` answer sent via response_url."""
    slack.click(user, button["action_id"], button["value"])
    return str(standin.wait_for("response_url", nth)[-1].args["text"])


@pytest.mark.usefixtures("ethiek")
def test_a_facilitator_plans_a_meeting_in_dutch_and_its_reminders_are_planned(
    slack: CheckedSlack, services: Services
) -> None:
    reply = slack.command(
        "UFAC", "bijeenkomst toevoegen ethiek 20 april 14:00 fysiek Stadhuis Utrecht"
    )
    body = texts(reply.json())
    assert "dinsdag 20 april 2027 van 14:00 tot 16:00" in body
    assert "Stadhuis Utrecht" in body
    with services.db.read() as session:
        added = session.scalars(select(Meeting).where(Meeting.source == "slack")).one()
        assert (added.kind, added.location) == ("fysiek", "Stadhuis Utrecht")
        assert added.starts_at == dt.datetime(2027, 4, 20, 12, 0, tzinfo=dt.UTC)
        dues = sorted(
            r.due_at
            for r in session.scalars(select(Reminder).where(Reminder.meeting_id == added.id))
        )
        assert dues == [
            dt.datetime(2027, 4, 13, 12, 0, tzinfo=dt.UTC),
            dt.datetime(2027, 4, 19, 12, 0, tzinfo=dt.UTC),
        ]


@pytest.mark.usefixtures("ethiek")
def test_a_member_who_is_no_facilitator_cannot_plan_a_meeting(
    slack: CheckedSlack, services: Services
) -> None:
    reply = slack.command("U1", "bijeenkomst toevoegen ethiek 20 april 14:00")
    assert "kartrekker" in texts(reply.json())
    with services.db.read() as session:
        assert session.scalars(select(Meeting).where(Meeting.source == "slack")).all() == []


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("1 januari 2020 14:00", "verleden"),
        ("om 3", "niet eenduidig"),
        ("blauwe maandag", "niet lezen"),
    ],
)
def test_a_time_in_the_past_ambiguous_or_unreadable_is_refused_saying_how_it_was_read(
    slack: CheckedSlack, services: Services, when: str, expected: str
) -> None:
    reply = slack.command("UFAC", f"bijeenkomst toevoegen ethiek {when}")
    assert expected in texts(reply.json())
    with services.db.read() as session:
        assert session.scalars(select(Meeting).where(Meeting.source == "slack")).all() == []


@pytest.mark.usefixtures("ethiek")
def test_moving_a_meeting_tells_every_member_the_old_and_the_new_time(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    reply = slack.command("UFAC", "bijeenkomst verplaatsen ethiek 1 6 april 10:00")
    assert "verplaatst" in texts(reply.json())
    services.wait_idle(5)
    one_dm_each_saying(
        standin, ("U1", "U2"), "dinsdag 30 maart 2027 om 14:00", "dinsdag 6 april 2027 om 10:00"
    )


@pytest.mark.usefixtures("ethiek")
def test_cancelling_a_meeting_tells_the_members_and_drops_its_reminders(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.command("UFAC", "bijeenkomst annuleren ethiek 1")
    services.wait_idle(5)
    assert "gaat niet door" in dms_to(standin, "U1")[0].args["text"]
    with services.db.read() as session:
        states = session.scalars(select(Reminder.state)).all()
    assert sorted(states) == ["cancelled", "cancelled"]


@pytest.mark.usefixtures("ethiek")
def test_meetings_list_shows_counts_and_the_rsvp_buttons_record_the_answer(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    listing = slack.command("U1", "bijeenkomsten").json()
    assert "Startbijeenkomst" in texts(listing)
    [yes, _no] = buttons(listing)
    assert "je komt" in _rsvp(slack, standin, "U1", yes, 1)
    no = buttons(listing)[1]
    _rsvp(slack, standin, "U1", no, 2)
    with services.db.read() as session:
        assert session.scalars(select(Rsvp.answer)).all() == ["no"]
    assert "0 komen, 1 niet" in texts(slack.command("U2", "bijeenkomsten").json())


@pytest.mark.usefixtures("ethiek")
def test_someone_outside_the_community_cannot_rsvp(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    listing = slack.command("U1", "bijeenkomsten ethiek").json()
    yes = buttons(listing)[0]
    assert _rsvp(slack, standin, "U9", yes, 1) == (
        ":lock: Alleen leden van *Ethiek* geven aan of ze komen. "
        "Word lid met `/cop aanmelden ethiek`."
    )
    with services.db.read() as session:
        assert session.scalars(select(Rsvp)).all() == []


@pytest.mark.usefixtures("ethiek")
def test_the_calendar_command_uploads_an_ics_file_to_the_dm(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.command("U1", "kalender ethiek")
    services.wait_idle(5)
    [upload] = standin.calls("upload")
    assert "BEGIN:VCALENDAR" in upload.args["content"]
    assert "TZID=Europe/Amsterdam:20270330T140000" in upload.args["content"]
    [done] = standin.calls("files.completeUploadExternal")
    assert done.args["channel_id"] == "DU1"


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    "command",
    [
        "bijeenkomst toevoegen ethiek 30 maart 2032 14:00",
        "bijeenkomst verplaatsen ethiek 1 2099-01-05 10:00",
    ],
)
def test_a_meeting_more_than_five_years_ahead_is_refused_and_nothing_changes(
    slack: CheckedSlack, services: Services, command: str
) -> None:
    with services.db.read() as session:
        before = [(m.id, m.starts_at) for m in session.scalars(select(Meeting))]

    reply = texts(slack.command("UFAC", command).json())

    assert "tot en met zaterdag 22 november 2031" in reply
    with services.db.read() as session:
        assert [(m.id, m.starts_at) for m in session.scalars(select(Meeting))] == before
