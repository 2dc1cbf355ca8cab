"""The iCalendar export: local times with a VTIMEZONE, escaping, folding and stable output;
and what a person's calendar feed holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component, Timezone
from sqlalchemy import select

from bot.services import calendar_feed, meetings, membership
from bot.services.ical import CalendarEvent, calendar_bytes, vtimezone
from storage.db import Database
from storage.models import Meeting
from tests.factories import add_community, meeting

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
STAMP = dt.datetime(2027, 1, 5, 8, 0, tzinfo=dt.UTC)
UTC = dt.UTC

SUMMER = CalendarEvent(
    uid="meeting-1@cop-bot",
    sequence=0,
    starts_at=dt.datetime(2027, 3, 30, 12, 0, tzinfo=UTC),
    ends_at=dt.datetime(2027, 3, 30, 14, 0, tzinfo=UTC),
    summary="CoP Ethiek: Startbijeenkomst",
    description="Kennismaken en agenda vaststellen.",
    location="Stadhuis Utrecht",
    url="https://example.nl/cop/ethiek",
)
WINTER = CalendarEvent(
    uid="meeting-2@cop-bot",
    sequence=0,
    starts_at=dt.datetime(2027, 12, 7, 9, 30, tzinfo=UTC),
    ends_at=dt.datetime(2027, 12, 7, 11, 0, tzinfo=UTC),
    summary="CoP Data: Slotbijeenkomst",
    description="Terugblik.",
    location=None,
)


def export(*events: CalendarEvent, tz: ZoneInfo = AMSTERDAM) -> bytes:
    return calendar_bytes(events, tz=tz, name="CoP bot", stamp=STAMP)


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def event_by_uid(cal: Calendar, uid: str) -> Component:
    (found,) = [event for event in cal.walk("VEVENT") if str(event["UID"]) == uid]
    return found


def only_timezone(cal: Calendar) -> Timezone:
    (timezone,) = cal.walk("VTIMEZONE")
    assert isinstance(timezone, Timezone)
    return timezone


def prop(component: Component, name: str) -> Any:
    """A property as icalendar decoded it; its union type is too wide to be useful here."""
    return component[name]


def moment(component: Component, name: str) -> dt.datetime:
    value = prop(component, name).dt
    assert isinstance(value, dt.datetime)
    return value


def tzid(component: Component, name: str) -> str:
    return str(prop(component, name).params["TZID"])


@pytest.mark.parametrize(
    ("event", "wall_clock", "utc"),
    [
        (SUMMER, dt.datetime(2027, 3, 30, 14, 0), dt.datetime(2027, 3, 30, 12, 0, tzinfo=UTC)),
        (WINTER, dt.datetime(2027, 12, 7, 10, 30), dt.datetime(2027, 12, 7, 9, 30, tzinfo=UTC)),
    ],
    ids=["summer-time", "winter-time"],
)
def test_meetings_on_both_sides_of_summer_time_keep_their_amsterdam_wall_clock_time(
    event: CalendarEvent, wall_clock: dt.datetime, utc: dt.datetime
) -> None:
    cal = parse(export(SUMMER, WINTER))
    found = event_by_uid(cal, event.uid)

    assert tzid(found, "DTSTART") == "Europe/Amsterdam"
    assert moment(found, "DTSTART").replace(tzinfo=None) == wall_clock
    assert moment(found, "DTSTART").astimezone(UTC) == utc


@pytest.mark.parametrize(
    ("event", "utc"),
    [
        (SUMMER, dt.datetime(2027, 3, 30, 12, 0, tzinfo=UTC)),
        (WINTER, dt.datetime(2027, 12, 7, 9, 30, tzinfo=UTC)),
    ],
    ids=["summer-time", "winter-time"],
)
def test_the_exported_vtimezone_alone_turns_the_wall_clock_time_back_into_the_right_utc(
    event: CalendarEvent, utc: dt.datetime
) -> None:
    # Outlook reads the VTIMEZONE rather than its own tz database, so check it by itself.
    cal = parse(export(SUMMER, WINTER))
    own_rules = only_timezone(cal).to_tz(lookup_tzid=False)
    wall_clock = moment(event_by_uid(cal, event.uid), "DTSTART").replace(tzinfo=None)

    assert wall_clock.replace(tzinfo=own_rules).astimezone(UTC) == utc


def test_start_and_end_are_written_as_local_times_not_utc() -> None:
    data = export(SUMMER, WINTER)

    assert b"DTSTART;TZID=Europe/Amsterdam:20270330T140000\r\n" in data
    assert b"DTEND;TZID=Europe/Amsterdam:20270330T160000\r\n" in data
    assert b"DTSTART;TZID=Europe/Amsterdam:20271207T103000\r\n" in data
    assert b"DTEND;TZID=Europe/Amsterdam:20271207T120000\r\n" in data
    assert b"DTSTART:" not in data.split(b"END:VTIMEZONE")[1]


def test_vtimezone_has_standard_and_daylight_parts_with_the_amsterdam_offsets() -> None:
    timezone = only_timezone(parse(export(SUMMER, WINTER)))
    (standard,) = timezone.walk("STANDARD")
    (daylight,) = timezone.walk("DAYLIGHT")

    assert str(timezone["TZID"]) == "Europe/Amsterdam"
    assert prop(daylight, "TZOFFSETFROM").to_ical() == "+0100"
    assert prop(daylight, "TZOFFSETTO").to_ical() == "+0200"
    assert prop(standard, "TZOFFSETFROM").to_ical() == "+0200"
    assert prop(standard, "TZOFFSETTO").to_ical() == "+0100"
    assert str(daylight["TZNAME"]) == "CEST"
    assert str(standard["TZNAME"]) == "CET"


def test_vtimezone_uses_yearly_last_sunday_rules_that_outlook_understands() -> None:
    data = export(SUMMER, WINTER)
    timezone = only_timezone(parse(data))
    (standard,) = timezone.walk("STANDARD")
    (daylight,) = timezone.walk("DAYLIGHT")

    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n" in data
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" in data
    assert b"RDATE" not in data
    assert moment(daylight, "DTSTART").time() == dt.time(2, 0)
    assert moment(standard, "DTSTART").time() == dt.time(3, 0)


def test_vtimezone_matches_zoneinfo_every_half_hour_of_the_meeting_year() -> None:
    own_rules = only_timezone(parse(export(SUMMER, WINTER))).to_tz(lookup_tzid=False)
    instant = dt.datetime(2027, 1, 1, tzinfo=UTC)
    mismatches = []
    while instant.year == 2027:
        local = instant.astimezone(AMSTERDAM)
        wall = local.replace(tzinfo=None).replace(tzinfo=own_rules, fold=local.fold)
        if wall.utcoffset() != local.utcoffset():
            mismatches.append(local)
        instant += dt.timedelta(minutes=30)

    assert mismatches == []


def test_vtimezone_starts_before_a_meeting_early_in_january() -> None:
    new_year = replace(SUMMER, starts_at=dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC), ends_at=None)
    timezone = only_timezone(parse(export(new_year)))

    first_observance = min(moment(part, "DTSTART") for part in timezone.subcomponents)
    assert first_observance < dt.datetime(2027, 1, 4, 10, 0)


@pytest.mark.parametrize("key", ["Asia/Tokyo", "America/Sao_Paulo"])
def test_a_zone_without_a_steady_yearly_rule_still_gets_a_correct_vtimezone(key: str) -> None:
    zone = ZoneInfo(key)
    # Sao Paulo dropped summer time in 2019, so no single RRULE describes 2018-2019.
    own_rules = vtimezone(zone, first_year=2018, last_year=2019).to_tz(lookup_tzid=False)
    instant = dt.datetime(2019, 1, 1, tzinfo=UTC)
    while instant.year == 2019:
        local = instant.astimezone(zone)
        wall = local.replace(tzinfo=None).replace(tzinfo=own_rules, fold=local.fold)
        assert wall.utcoffset() == local.utcoffset(), local
        instant += dt.timedelta(hours=1)


def test_calendar_header_names_the_calendar_and_its_timezone() -> None:
    cal = parse(export(SUMMER))

    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]) == "-//CoP bot//NL"
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "CoP bot"
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Amsterdam"


def test_event_carries_uid_stamp_sequence_text_location_url_and_status() -> None:
    event = event_by_uid(parse(export(SUMMER)), SUMMER.uid)

    assert moment(event, "DTSTAMP") == STAMP
    assert prop(event, "DTSTAMP").to_ical() == b"20270105T080000Z"
    assert event["SEQUENCE"] == 0
    assert str(event["SUMMARY"]) == "CoP Ethiek: Startbijeenkomst"
    assert str(event["DESCRIPTION"]) == "Kennismaken en agenda vaststellen."
    assert str(event["LOCATION"]) == "Stadhuis Utrecht"
    assert str(event["URL"]) == "https://example.nl/cop/ethiek"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_event_without_location_or_url_leaves_them_out() -> None:
    event = event_by_uid(parse(export(WINTER)), WINTER.uid)

    assert "LOCATION" not in event
    assert "URL" not in event


def test_cancelled_meeting_has_status_cancelled() -> None:
    cancelled = replace(WINTER, sequence=1, cancelled=True)
    event = event_by_uid(parse(export(cancelled)), WINTER.uid)

    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 1


def test_moved_meeting_keeps_its_uid_with_a_higher_sequence() -> None:
    moved = replace(
        SUMMER,
        sequence=1,
        starts_at=dt.datetime(2027, 4, 6, 12, 0, tzinfo=UTC),
        ends_at=dt.datetime(2027, 4, 6, 14, 0, tzinfo=UTC),
    )
    before = parse(export(SUMMER)).walk("VEVENT")
    after = parse(export(moved)).walk("VEVENT")

    assert [str(e["UID"]) for e in before] == [str(e["UID"]) for e in after] == [SUMMER.uid]
    assert after[0]["SEQUENCE"] == 1
    assert moment(after[0], "DTSTART").replace(tzinfo=None) == dt.datetime(2027, 4, 6, 14, 0)


def test_commas_semicolons_newlines_and_accents_round_trip() -> None:
    tricky = replace(
        SUMMER,
        summary="CoP Ethiek: café, privacy; één – reëel",
        description="Agenda:\n1. Welkom, koffie; thee\n2. Casus – naïeve AI\n",
        location="Gemeentehuis Zoë, zaal 2; ingang achter",
    )
    data = export(tricky)
    event = event_by_uid(parse(data), SUMMER.uid)

    assert str(event["SUMMARY"]) == tricky.summary
    assert str(event["DESCRIPTION"]) == tricky.description
    assert str(event["LOCATION"]) == tricky.location
    assert b"caf\xc3\xa9\\, privacy\\; \xc3\xa9\xc3\xa9n \xe2\x80\x93 re\xc3\xabel" in data
    assert b"Agenda:\\n1. Welkom" in data


def test_meeting_without_end_lasts_two_hours() -> None:
    open_ended = replace(SUMMER, ends_at=None)
    event = event_by_uid(parse(export(open_ended)), SUMMER.uid)

    assert moment(event, "DTEND") - moment(event, "DTSTART") == dt.timedelta(hours=2)
    assert moment(event, "DTEND").replace(tzinfo=None) == dt.datetime(2027, 3, 30, 16, 0)
    assert tzid(event, "DTEND") == "Europe/Amsterdam"


# The whole file for SUMMER and WINTER, written out by hand: what a calendar app receives.
SUMMER_AND_WINTER = b"".join(
    line.encode() + b"\r\n"
    for line in (
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//CoP bot//NL",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:CoP bot",
        "X-WR-TIMEZONE:Europe/Amsterdam",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Amsterdam",
        "BEGIN:DAYLIGHT",
        "DTSTART:20260329T020000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "TZNAME:CEST",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "DTSTART:20261025T030000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "TZNAME:CET",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "SUMMARY:CoP Ethiek: Startbijeenkomst",
        "DTSTART;TZID=Europe/Amsterdam:20270330T140000",
        "DTEND;TZID=Europe/Amsterdam:20270330T160000",
        "DTSTAMP:20270105T080000Z",
        "UID:meeting-1@cop-bot",
        "SEQUENCE:0",
        "DESCRIPTION:Kennismaken en agenda vaststellen.",
        "LOCATION:Stadhuis Utrecht",
        "STATUS:CONFIRMED",
        "URL:https://example.nl/cop/ethiek",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "SUMMARY:CoP Data: Slotbijeenkomst",
        "DTSTART;TZID=Europe/Amsterdam:20271207T103000",
        "DTEND;TZID=Europe/Amsterdam:20271207T120000",
        "DTSTAMP:20270105T080000Z",
        "UID:meeting-2@cop-bot",
        "SEQUENCE:0",
        "DESCRIPTION:Terugblik.",
        "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    )
)


def test_the_output_is_exactly_the_expected_text_every_time() -> None:
    # Byte for byte, so a calendar app that polls sees an unchanged file as unchanged: no
    # clock, no set order, no random value may leak in.
    assert export(SUMMER, WINTER) == SUMMER_AND_WINTER
    assert export(SUMMER, WINTER) == SUMMER_AND_WINTER


def test_order_of_the_meetings_given_does_not_change_the_output() -> None:
    assert export(WINTER, SUMMER) == SUMMER_AND_WINTER


def test_every_line_is_at_most_75_octets_and_ends_with_crlf() -> None:
    wordy = replace(
        SUMMER,
        summary="CoP Ethiek: " + "één lange, zeer uitgebreide titel – " * 6,
        description="Regel met é, ë en – tekens; " * 40,
        location="Stadskantoor " + "ë" * 80,
        url="https://example.nl/" + "a" * 150,
    )
    data = export(wordy, WINTER)

    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75
    # Folding may not split a multi-byte character: every physical line is valid UTF-8.
    for line in lines:
        line.decode("utf-8")
    assert str(event_by_uid(parse(data), SUMMER.uid)["SUMMARY"]) == wordy.summary


def test_empty_export_is_still_a_valid_calendar_with_a_timezone() -> None:
    cal = parse(export())

    assert cal.walk("VEVENT") == []
    assert str(only_timezone(cal)["TZID"]) == "Europe/Amsterdam"


def test_naive_start_is_refused() -> None:
    naive = replace(SUMMER, starts_at=dt.datetime(2027, 3, 30, 14, 0))

    with pytest.raises(ValueError, match="timezone-aware"):
        export(naive)


def test_end_before_start_is_refused() -> None:
    backwards = replace(SUMMER, ends_at=SUMMER.starts_at - dt.timedelta(minutes=1))

    with pytest.raises(ValueError, match="after starts_at"):
        export(backwards)


def test_two_events_with_one_uid_are_refused() -> None:
    with pytest.raises(ValueError, match="UID appears twice"):
        export(SUMMER, replace(WINTER, uid=SUMMER.uid))


# -- The feed: which meetings a person's calendar feed holds, and its secret token ------------

FEED_NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def feed_db(db: Database) -> Database:
    """Ethiek (U1 member, with a past meeting, a recent one and two to come) and the full
    Data community (U2 member, U1 on its waitlist)."""
    add_community(
        db, "ethiek", name="Ethiek",
        meetings=(
            meeting(FEED_NOW - dt.timedelta(days=400), key="long-ago", title="Lang geleden"),
            meeting(FEED_NOW - dt.timedelta(days=30), key="recent", title="Vorige maand"),
            meeting(SUMMER.starts_at, key="start", title="Startbijeenkomst",
                    location="Stadhuis Utrecht"),
            meeting(WINTER.starts_at, key="slot"),
        ),
    )  # fmt: skip
    add_community(db, "data", name="Data", capacity=1, meetings=(meeting(WINTER.starts_at),))
    with db.write() as session:
        for user, slug in (("U1", "ethiek"), ("U2", "data"), ("U1", "data")):
            membership.join(session, query=slug, user_id=user, now=FEED_NOW, tz=AMSTERDAM)
    return db


def feed_of(db: Database, user_id: str) -> list[CalendarEvent]:
    with db.read() as session:
        return calendar_feed.feed_events(session, user_id=user_id, now=FEED_NOW)


def start_of(events: list[CalendarEvent]) -> CalendarEvent:
    (start,) = [e for e in events if e.summary.endswith("Startbijeenkomst")]
    return start


def test_a_feed_holds_the_meetings_of_member_communities_from_half_a_year_back(
    feed_db: Database,
) -> None:
    summaries = [event.summary for event in feed_of(feed_db, "U1")]

    # Not the Data meeting (U1 is only on its waitlist), not the one of last year.
    assert summaries == [
        "CoP Ethiek: Vorige maand",
        "CoP Ethiek: Startbijeenkomst",
        "CoP Ethiek",
    ]
    assert [event.summary for event in feed_of(feed_db, "U2")] == ["CoP Data"]
    assert feed_of(feed_db, "U9") == []


def test_a_feed_event_is_the_meeting_with_a_uid_that_survives_moves(feed_db: Database) -> None:
    start = start_of(feed_of(feed_db, "U1"))
    with feed_db.read() as session:
        row = session.scalars(select(Meeting).where(Meeting.key == "start")).one()

    assert start.uid == f"meeting-{row.id}@cop-bot"
    assert (start.starts_at, start.ends_at) == (
        SUMMER.starts_at,
        SUMMER.starts_at + dt.timedelta(hours=2),
    )
    assert start.location == "Stadhuis Utrecht"
    assert (start.sequence, start.cancelled) == (0, False)


def test_a_cancelled_meeting_stays_in_the_feed_cancelled_with_its_bumped_sequence(
    feed_db: Database,
) -> None:
    with feed_db.write() as session:
        meetings.cancel(
            session, query="ethiek", number=1, user_id="UADMIN", admins={"UADMIN"},
            offsets=(), now=FEED_NOW, tz=AMSTERDAM,
        )  # fmt: skip

    start = start_of(feed_of(feed_db, "U1"))
    assert (start.cancelled, start.sequence) == (True, 1)
    event = event_by_uid(parse(export(*feed_of(feed_db, "U1"))), start.uid)
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 1


def test_the_agenda_of_a_meeting_is_the_description_of_its_feed_event(feed_db: Database) -> None:
    with feed_db.write() as session:
        row = session.scalars(select(Meeting).where(Meeting.key == "start")).one()
        row.agenda = "1. Welkom\n2. Casus"

    start = start_of(feed_of(feed_db, "U1"))
    assert start.description == "1. Welkom\n2. Casus"


def test_a_feed_token_is_made_once_and_opens_only_its_owners_feed(db: Database) -> None:
    with db.write() as session:
        first = calendar_feed.ensure_token(session, user_id="U1")
        again = calendar_feed.ensure_token(session, user_id="U1")
        other = calendar_feed.ensure_token(session, user_id="U2")
    with db.read() as session:
        assert calendar_feed.owner_of(session, token=first) == "U1"
        assert calendar_feed.owner_of(session, token=other) == "U2"
        assert calendar_feed.owner_of(session, token=first[:-1]) is None
        assert calendar_feed.token_of(session, user_id="U3") is None

    assert first == again != other
    assert len(first) == 43


def test_resetting_a_token_makes_the_old_one_open_nothing(db: Database) -> None:
    with db.write() as session:
        old = calendar_feed.ensure_token(session, user_id="U1")
    with db.write() as session:
        new = calendar_feed.reset_token(session, user_id="U1", now=FEED_NOW)

    assert new != old
    with db.read() as session:
        assert calendar_feed.owner_of(session, token=old) is None
        assert calendar_feed.owner_of(session, token=new) == "U1"
        assert calendar_feed.token_of(session, user_id="U1") == new
