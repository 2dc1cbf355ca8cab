"""iCalendar (.ics) export of meetings, in local time with a VTIMEZONE that Outlook understands."""

from __future__ import annotations

import calendar as gregorian
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard

from bot.text import clean

PRODID = "-//CoP bot//NL"
DEFAULT_DURATION = dt.timedelta(hours=2)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class CalendarEvent:
    """One meeting as a calendar entry; the UID stays the same when the meeting moves."""

    uid: str
    sequence: int
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    summary: str
    description: str
    location: str | None
    cancelled: bool = False
    url: str | None = None


@dataclass(frozen=True)
class _Transition:
    """A change of UTC offset, described the way a yearly VTIMEZONE rule needs it."""

    local_start: dt.datetime  # naive wall-clock time, in the offset before the change
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    is_dst: bool
    name: str

    def rule_key(self) -> tuple[object, ...]:
        """What must be equal every year for one RRULE to describe this transition."""
        return (
            self.local_start.month,
            _byday(self.local_start.date()),
            self.local_start.time(),
            self.offset_from,
            self.offset_to,
            self.is_dst,
            self.name,
        )


def calendar_bytes(
    events: Sequence[CalendarEvent], *, tz: ZoneInfo, name: str, stamp: dt.datetime
) -> bytes:
    """Render meetings as one VCALENDAR (METHOD:PUBLISH) with times local to `tz`.

    Events are ordered by start and UID, so the same set of meetings always gives the
    same bytes. Raises ValueError for naive datetimes, an end not after the start, or
    two events sharing a UID.
    """
    _require_aware(stamp, "stamp")
    ordered = sorted(events, key=lambda event: (event.starts_at, event.uid))
    _check(ordered)

    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", ical_text(name))
    cal.add("x-wr-timezone", tz.key)

    years = [event.starts_at.astimezone(tz).year for event in ordered]
    years += [_end(event).astimezone(tz).year for event in ordered]
    if not years:
        years = [stamp.astimezone(tz).year]
    # One year back so that an event in January still falls after the first observance.
    cal.add_component(vtimezone(tz, first_year=min(years) - 1, last_year=max(years)))

    utc_stamp = stamp.astimezone(dt.UTC)
    for event in ordered:
        cal.add_component(_vevent(event, tz=tz, stamp=utc_stamp))
    return bytes(cal.to_ical())


def ical_text(text: str) -> str:
    """Plain text for an iCalendar TEXT value: RFC 5545 allows no control characters but
    the line break, and a reader's calendar shows no markup. icalendar itself escapes
    `\\`, `;`, `,` and line breaks, and folds long lines."""
    return clean(text)


def vtimezone(tz: ZoneInfo, *, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for `tz` valid from `first_year` through `last_year`.

    When the zone follows the same yearly rule throughout (Europe/Amsterdam: last
    Sunday of March and of October), each observance gets an RRULE. icalendar's own
    Timezone.from_tzinfo lists the changes as RDATEs instead, which desktop Outlook is
    known to misread (events in summer time shift by an hour), so that form is only the
    fallback for zones without a steady rule.
    """
    yearly = [_transitions(tz, year) for year in range(first_year, last_year + 1)]
    first = yearly[0]
    keys = [t.rule_key() for t in first]
    steady = bool(first) and all([t.rule_key() for t in year] == keys for year in yearly)
    if not steady:
        return Timezone.from_tzinfo(
            tz,
            tzid=tz.key,
            first_date=dt.date(first_year, 1, 1),
            last_date=dt.date(last_year + 1, 1, 1),
        )

    component = Timezone()
    component.add("tzid", tz.key)
    for transition in first:
        observance = TimezoneDaylight() if transition.is_dst else TimezoneStandard()
        observance.add("dtstart", transition.local_start)
        observance.add("tzoffsetfrom", transition.offset_from)
        observance.add("tzoffsetto", transition.offset_to)
        observance.add("tzname", transition.name)
        observance.add(
            "rrule",
            {
                "freq": "YEARLY",
                "bymonth": transition.local_start.month,
                "byday": _byday(transition.local_start.date()),
            },
        )
        component.add_component(observance)
    return component


def _vevent(event: CalendarEvent, *, tz: ZoneInfo, stamp: dt.datetime) -> Event:
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", stamp)
    vevent.add("sequence", event.sequence)
    # Local time with a TZID rather than UTC "Z": the meeting is tied to Amsterdam's clock,
    # as it is in real life, and apps show and edit it in that zone.
    tzid = {"TZID": tz.key}
    vevent.add("dtstart", event.starts_at.astimezone(tz), parameters=tzid)
    vevent.add("dtend", _end(event).astimezone(tz), parameters=tzid)
    vevent.add("summary", ical_text(event.summary))
    if event.description:  # the agenda, for those who may read it; no empty property
        vevent.add("description", ical_text(event.description))
    if event.location:
        vevent.add("location", ical_text(event.location))
    if event.url:
        vevent.add("url", event.url)
    vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    return vevent


def _end(event: CalendarEvent) -> dt.datetime:
    return event.ends_at if event.ends_at is not None else event.starts_at + DEFAULT_DURATION


def _check(events: Sequence[CalendarEvent]) -> None:
    seen: set[str] = set()
    for event in events:
        _require_aware(event.starts_at, f"{event.uid}: starts_at")
        if event.ends_at is not None:
            _require_aware(event.ends_at, f"{event.uid}: ends_at")
            if event.ends_at <= event.starts_at:
                raise ValueError(f"{event.uid}: ends_at must be after starts_at")
        if event.uid in seen:
            raise ValueError(f"{event.uid}: UID appears twice in one calendar")
        seen.add(event.uid)


def _require_aware(moment: dt.datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment!r}")


def _transitions(tz: ZoneInfo, year: int) -> list[_Transition]:
    """Offset changes of `tz` during `year`, found by probing the zone itself."""
    found: list[_Transition] = []
    cursor = dt.datetime(year, 1, 1, tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=tz).astimezone(dt.UTC)
    day = dt.timedelta(days=1)
    while cursor < end:
        step = min(day, end - cursor)
        before = _offset(tz, cursor)
        if _offset(tz, cursor + step) != before:
            instant = _first_change(tz, cursor, cursor + step)
            after = instant.astimezone(tz)
            found.append(
                _Transition(
                    local_start=(instant + before).replace(tzinfo=None),
                    offset_from=before,
                    offset_to=_offset(tz, instant),
                    is_dst=bool(after.dst()),
                    name=after.tzname() or "",
                )
            )
        cursor += step
    return found


def _first_change(tz: ZoneInfo, low: dt.datetime, high: dt.datetime) -> dt.datetime:
    """The first UTC second in (low, high] with a different offset than `low`."""
    before = _offset(tz, low)
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if _offset(tz, middle) == before:
            low = middle
        else:
            high = middle
    return high


def _offset(tz: ZoneInfo, instant: dt.datetime) -> dt.timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


def _byday(day: dt.date) -> str:
    """BYDAY value for `day` within its month: "-1SU" for a last Sunday, "2SU" for a second."""
    days_in_month = gregorian.monthrange(day.year, day.month)[1]
    ordinal = -1 if day.day > days_in_month - 7 else (day.day - 1) // 7 + 1
    return f"{ordinal}{_WEEKDAYS[day.weekday()]}"
