"""Stable references in the fast lane: the list of meetings shows each meeting's `#ref`,
and `/cop bijeenkomst verplaatsen|annuleren <community> #ref` always means that meeting,
however the list shifted since (a number is its place in today's list)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.runtime import Services
from storage.models import Meeting
from tests.factories import add_community, meeting
from tests.handlers.support import MARCH_30, CheckedSlack, settle_outbox


@pytest.fixture(autouse=True)
def two_meetings(services: Services) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", facilitators=("UFAC",),
        meetings=(meeting(MARCH_30, key="maart"),
                  meeting(MARCH_30 + dt.timedelta(days=21), key="april")),
    )  # fmt: skip
    settle_outbox(services)


def ids(services: Services) -> dict[str, int]:
    with services.db.read() as session:
        return {m.key: m.id for m in session.scalars(select(Meeting))}


def status(services: Services, key: str) -> str:
    with services.db.read() as session:
        return session.scalars(select(Meeting.status).where(Meeting.key == key)).one()


def test_the_list_shows_each_meetings_ref(slack: CheckedSlack, services: Services) -> None:
    listing = slack.command("UFAC", "bijeenkomsten ethiek").json()
    shown = str(listing["blocks"])
    for ref in ids(services).values():
        assert f"`#{ref}`" in shown


def test_a_ref_keeps_meaning_the_same_meeting_after_the_list_shifted(
    slack: CheckedSlack, services: Services
) -> None:
    april = ids(services)["april"]
    # Cancel the first by its place: the April meeting is now number 1 in the list.
    slack.command("UFAC", "bijeenkomst annuleren ethiek 1")
    assert status(services, "maart") == "cancelled"
    # Its ref still names it; a second cancel by that ref cancels nothing else.
    reply = slack.command("UFAC", f"bijeenkomst annuleren ethiek #{april}").json()
    assert "afgelast" in reply["text"]
    assert status(services, "april") == "cancelled"
    again = slack.command("UFAC", f"bijeenkomst annuleren ethiek #{april}").json()
    assert "afgelast" not in again["text"]


def test_a_meeting_moves_by_its_ref(slack: CheckedSlack, services: Services) -> None:
    april = ids(services)["april"]
    reply = slack.command("UFAC", f"bijeenkomst verplaatsen ethiek #{april} 4 mei 2027 10:00")
    assert "verplaatst" in reply.json()["text"]
    with services.db.read() as session:
        moved = session.get(Meeting, april)
        assert moved is not None
        assert moved.starts_at == dt.datetime(2027, 5, 4, 8, 0, tzinfo=dt.UTC)


def test_a_ref_of_another_community_is_not_found_here(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "anders", name="Anders", facilitators=("UFAC",),
                  meetings=(meeting(MARCH_30, key="x"),))  # fmt: skip
    other = ids(services)["x"]
    reply = slack.command("UFAC", f"bijeenkomst annuleren ethiek #{other}").json()
    assert "afgelast" not in reply["text"]
    assert status(services, "x") == "scheduled"
