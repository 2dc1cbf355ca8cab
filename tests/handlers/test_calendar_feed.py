"""Calendar feeds over real HTTP: the secret link, what the feed holds, moves, cancellations,
resets, and the calendar file that follows a welcome DM."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from icalendar import Calendar, Component
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import Settings
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import membership
from bot.services.ical import calendar_bytes
from handlers import deliveries
from storage.models import CalendarFeed, Membership, OutboxItem
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, dms_to, drain_outbox, texts

PUBLIC_URL = "https://cop.example.org"
MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam
MAY_11 = dt.datetime(2027, 5, 11, 8, 0, tzinfo=dt.UTC)  # 10:00 in Amsterdam
LINK = re.compile(r"https://cop\.example\.org(/calendar/[A-Za-z0-9_-]+\.ics)")


@pytest.fixture
def public_url() -> str | None:
    return PUBLIC_URL


@pytest.fixture
def settings(settings: Settings, public_url: str | None) -> Settings:
    return dataclasses.replace(settings, public_url=public_url)


@pytest.fixture
def communities(services: Services, standin: SlackStandIn) -> None:
    """U1 is a member of Ethiek and on the waitlist of the full Data community (their
    welcomes sent, and the stand-in's record cleared of them)."""
    add_community(
        services.db, "ethiek", name="Ethiek", facilitators=("UFAC",),
        meetings=(meeting(MARCH_30, key="start", title="Startbijeenkomst"),),
    )  # fmt: skip
    add_community(
        services.db, "data", name="Data", capacity=1,
        meetings=(meeting(MAY_11, key="data-1", title="Datadag"),),
    )  # fmt: skip
    with services.db.write() as session:
        for user, slug in (("U1", "ethiek"), ("U2", "data"), ("U1", "data")):
            membership.join(session, query=slug, user_id=user, now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip
    drain_outbox(services)
    standin.clear()


def feed_path(slack: CheckedSlack, user_id: str = "U1") -> str:
    """The path of `user_id`'s feed, from the link `/cop kalender` gives them."""
    found = LINK.search(texts(slack.command(user_id, "kalender").json()))
    assert found is not None
    return found.group(1)


def fetch(slack: CheckedSlack, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET over real HTTP: status, headers and the raw body."""
    try:
        with urllib.request.urlopen(slack.base_url + path, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def feed(slack: CheckedSlack, path: str) -> Calendar:
    status, headers, body = fetch(slack, path)
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["Cache-Control"].startswith("private")  # one person's data
    return Calendar.from_ical(body)


def events(cal: Calendar) -> dict[str, Component]:
    """VEVENTs by summary."""
    return {str(event["SUMMARY"]): event for event in cal.walk("VEVENT")}


def prop(component: Component, name: str) -> Any:
    return component[name]


def start_meeting_around(slack: CheckedSlack, command: str) -> tuple[Component, Component]:
    """The Startbijeenkomst event in U1's feed before and after a facilitator's `command`."""
    path = feed_path(slack)
    before = events(feed(slack, path))["CoP Ethiek: Startbijeenkomst"]
    slack.command("UFAC", command)
    after = events(feed(slack, path))["CoP Ethiek: Startbijeenkomst"]
    return before, after


@pytest.mark.usefixtures("communities")
def test_the_calendar_command_gives_a_private_subscribe_link_and_still_uploads_the_file(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    shown = texts(slack.command("U1", "kalender").json())

    with services.db.read() as session:
        token = session.get(CalendarFeed, "U1")
        assert token is not None
    assert f"{PUBLIC_URL}/calendar/{token.token}.ics" in shown
    assert f"webcal://cop.example.org/calendar/{token.token}.ics" in shown
    assert "persoonlijk" in shown and "Deel hem niet" in shown
    assert services.wait_idle(5)
    [done] = standin.calls("files.completeUploadExternal")
    assert done.args["channel_id"] == "DU1"
    # Asking again gives the same link: it is made once.
    assert feed_path(slack) == f"/calendar/{token.token}.ics"


@pytest.mark.usefixtures("communities")
def test_the_feed_holds_the_members_meetings_in_amsterdam_time_with_a_vtimezone(
    slack: CheckedSlack,
) -> None:
    cal = feed(slack, feed_path(slack))

    [timezone] = cal.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Amsterdam"
    start = events(cal)["CoP Ethiek: Startbijeenkomst"]
    assert prop(start, "DTSTART").params["TZID"] == "Europe/Amsterdam"
    assert prop(start, "DTSTART").dt.replace(tzinfo=None) == dt.datetime(2027, 3, 30, 14, 0)
    assert prop(start, "DTSTART").dt == MARCH_30
    assert str(start["STATUS"]) == "CONFIRMED"
    assert str(cal["X-WR-CALNAME"]) == "CoP-bijeenkomsten"


@pytest.mark.usefixtures("communities")
def test_meetings_of_a_community_where_one_is_only_on_the_waitlist_are_not_in_the_feed(
    slack: CheckedSlack,
) -> None:
    mine = events(feed(slack, feed_path(slack, "U1")))
    theirs = events(feed(slack, feed_path(slack, "U2")))

    assert list(mine) == ["CoP Ethiek: Startbijeenkomst"]
    assert list(theirs) == ["CoP Data: Datadag"]


@pytest.mark.usefixtures("communities")
def test_a_moved_meeting_shows_at_its_new_time_with_a_higher_sequence(
    slack: CheckedSlack,
) -> None:
    before, after = start_meeting_around(
        slack, "bijeenkomst verplaatsen ethiek 1 20 april 2027 15:00"
    )

    assert str(after["UID"]) == str(before["UID"])
    assert prop(after, "DTSTART").dt.replace(tzinfo=None) == dt.datetime(2027, 4, 20, 15, 0)
    assert prop(after, "DTSTART").params["TZID"] == "Europe/Amsterdam"
    assert int(prop(after, "SEQUENCE")) > int(prop(before, "SEQUENCE"))


@pytest.mark.usefixtures("communities")
def test_a_cancelled_meeting_stays_in_the_feed_as_cancelled_so_calendars_drop_it(
    slack: CheckedSlack,
) -> None:
    before, after = start_meeting_around(slack, "bijeenkomst annuleren ethiek 1")

    assert str(after["STATUS"]) == "CANCELLED"
    assert str(after["UID"]) == str(before["UID"])
    assert int(prop(after, "SEQUENCE")) == int(prop(before, "SEQUENCE")) + 1


@pytest.mark.usefixtures("communities")
def test_leaving_a_community_takes_its_meetings_out_of_the_feed(slack: CheckedSlack) -> None:
    path = feed_path(slack)
    assert events(feed(slack, path))

    slack.command("U1", "afmelden ethiek")

    assert events(feed(slack, path)) == {}


@pytest.mark.usefixtures("communities")
@pytest.mark.parametrize(
    "path",
    [
        "/calendar/" + "A" * 43 + ".ics",
        "/calendar/nope.ics",
        "/calendar/../healthz.ics",
        "/calendar/",
    ],
    ids=["unknown-token", "short-token", "traversal", "no-token"],
)
def test_a_wrong_token_gets_a_bare_404_that_tells_nothing(slack: CheckedSlack, path: str) -> None:
    feed_path(slack)  # someone does have a feed

    status, headers, body = fetch(slack, path)

    assert status == 404
    assert body == b"Not Found"
    assert "calendar" not in headers.get("Content-Type", "")


@pytest.mark.usefixtures("communities")
def test_a_new_link_turns_the_old_one_off(slack: CheckedSlack, services: Services) -> None:
    old = feed_path(slack)
    assert fetch(slack, old)[0] == 200

    reply = texts(slack.command("U1", "kalender nieuw").json())

    assert "De oude werkt niet meer" in reply
    found = LINK.search(reply)
    assert found is not None
    new = found.group(1)
    assert new != old
    assert fetch(slack, old)[0] == 404
    assert events(feed(slack, new))
    with services.db.read() as session:
        assert session.scalars(select(CalendarFeed.token)).all() == [new[10:-4]]


@pytest.mark.usefixtures("communities")
def test_the_reset_works_in_english_too(slack: CheckedSlack) -> None:
    slack.command("U1", "taal en")
    old = feed_path(slack)

    reply = texts(slack.command("U1", "calendar reset").json())

    assert "The old one no longer works" in reply
    assert old not in reply
    assert fetch(slack, old)[0] == 404


@pytest.mark.usefixtures("communities")
@pytest.mark.parametrize("public_url", [None])
def test_without_a_public_url_there_is_no_link_but_still_the_file(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    shown = texts(slack.command("U1", "kalender").json())

    assert "/calendar/" not in shown
    assert "webcal" not in shown
    assert services.wait_idle(5)
    assert len(standin.calls("files.completeUploadExternal")) == 1
    with services.db.read() as session:
        assert session.scalars(select(CalendarFeed)).all() == []


@pytest.mark.usefixtures("communities")
def test_a_welcome_dm_is_followed_by_the_communitys_calendar_file(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    slack.command("U3", "aanmelden ethiek")

    assert services.wait_idle(5)
    [welcome] = dms_to(standin, "U3")
    assert "Welkom bij *Ethiek*" in texts(welcome.args)
    # The file follows through the outbox, on a lane of its own, after the welcome.
    [asked] = standin.calls("files.getUploadURLExternal")
    [done] = standin.calls("files.completeUploadExternal")
    assert welcome.at <= asked.at <= done.at
    assert done.args["channel_id"] == "DU3"
    assert "Ethiek" in done.args["initial_comment"]
    [upload] = standin.calls("upload")
    cal = Calendar.from_ical(upload.args["content"])
    [start] = cal.walk("VEVENT")
    assert str(start["SUMMARY"]) == "CoP Ethiek: Startbijeenkomst"
    assert prop(start, "DTSTART").dt == MARCH_30
    assert prop(start, "DTSTART").params["TZID"] == "Europe/Amsterdam"


@pytest.mark.usefixtures("communities")
def test_two_members_joining_in_the_same_minute_get_the_same_file(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same bytes alone would not show the cache: with the clock frozen, two builds
    # give the same file too. So count the builds, through the real renderer.
    builds: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> bytes:
        builds.append(str(kwargs["name"]))
        return calendar_bytes(*args, **kwargs)

    monkeypatch.setattr(deliveries, "calendar_bytes", counted)
    # A minute after the fixture's own welcomes, whose file is in the cache for theirs.
    clock.advance(dt.timedelta(minutes=1))

    slack.command("U3", "aanmelden ethiek")
    slack.command("U4", "aanmelden ethiek")

    assert services.wait_idle(5)
    assert drain_outbox(services) == 0  # both went out after the answers, from the outbox
    first, second = standin.calls("upload")
    assert first.args["content"] == second.args["content"]
    assert builds == ["CoP Ethiek"]  # built for the first member, reused for the second
    # A minute later the file is built anew (and so shows any change since).
    clock.advance(dt.timedelta(minutes=1))
    slack.command("U5", "aanmelden ethiek")
    assert services.wait_idle(5)
    drain_outbox(services)
    assert len(standin.calls("upload")) == 3
    assert builds == ["CoP Ethiek", "CoP Ethiek"]


@pytest.mark.usefixtures("communities")
def test_a_failed_calendar_upload_is_kept_for_a_retry_and_the_membership_and_welcome_stand(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    standin.fail("files.getUploadURLExternal", error="not_allowed_token_type")

    with caplog.at_level(logging.WARNING, logger="cop_bot"):
        reply = slack.command("U3", "aanmelden ethiek").json()
        assert services.wait_idle(5)
        drain_outbox(services)

    assert "Je bent lid van *Ethiek*" in reply["text"]
    [welcome] = dms_to(standin, "U3")
    assert "Welkom bij *Ethiek*" in texts(welcome.args)
    assert standin.calls("files.completeUploadExternal") == []
    assert "(welcome_calendar) ethiek for U3 failed" in caplog.text
    with services.db.read() as session:
        welcome, item = session.scalars(
            select(OutboxItem).where(OutboxItem.recipient == "U3").order_by(OutboxItem.kind)
        ).all()
    assert (welcome.kind, welcome.state) == ("welcome", OutboxItem.DONE)
    assert (item.state, item.error) == (OutboxItem.PENDING, "not_allowed_token_type")
    assert item.not_before > services.clock()  # tried again later
    with services.db.read() as session:
        status = session.scalar(select(Membership.status).where(Membership.user_id == "U3"))
    assert status == Membership.MEMBER


def test_a_community_without_meetings_sends_no_calendar_file(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "leeg", name="Leeg")

    slack.command("U1", "aanmelden leeg")

    assert services.wait_idle(5)
    drain_outbox(services)
    assert len(dms_to(standin, "U1")) == 1
    assert standin.calls("files.getUploadURLExternal") == []
