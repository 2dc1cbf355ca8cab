"""Reading a meeting's date and time from free Dutch or English text ("30 maart 14:00 online")."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_day_names, get_month_names
from dateutil import tz as dateutil_tz
from dateutil.parser import isoparse
from dateutil.relativedelta import relativedelta

from bot.services.errors import (
    AUTUMN_FOLD,
    DAY_MONTH_ORDER,
    HOUR_1_TO_7,
    NO_DATE,
    NO_TIME,
    WEEKDAY_MISMATCH,
    AmbiguousWhen,
    EndBeforeStart,
    PastWhen,
    UnreadableWhen,
)


@dataclass(frozen=True)
class ParsedWhen:
    starts_at: dt.datetime  # aware, UTC
    local: dt.datetime  # aware, in the requested time zone
    rest: str  # the words after the time expression, stripped
    ends_at: dt.datetime | None = None  # aware, UTC: "14:00-16:00" gives the end


# Our own reading: dateutil's parser only knows English and guesses too freely
# ("7 December 10.30" becomes the year 2010), so we read the words ourselves. The names
# come from Babel's locale data (CLDR), wide and abbreviated, for every language we speak.
_LANGUAGES = ("nl", "en")
# Spellings people write that CLDR does not list (its abbreviations are one per language):
# "febr" and "sept" are common Dutch abbreviations; "tues", "thur" and "thurs" common English.
_EXTRA_MONTHS = {"febr": 2, "sept": 9}
_EXTRA_WEEKDAYS = {"tues": 1, "thur": 3, "thurs": 3}


def _names(table: Callable[..., Mapping[int, str]], extra: dict[str, int]) -> dict[str, int]:
    """Every wide and abbreviated name in our languages, normalised as tokens are, to its number."""
    names = {
        _normalise(name): number
        for language in _LANGUAGES
        for width in ("wide", "abbreviated")
        for number, name in table(width, locale=language).items()
    }
    return names | extra


_RELATIVE_DAYS = {
    "vandaag": 0, "today": 0, "morgen": 1, "tomorrow": 1, "overmorgen": 2,
    # Read so that they are refused as past, saying so, rather than as unreadable.
    "gisteren": -1, "yesterday": -1, "eergisteren": -2,
}  # fmt: skip
_NEXT = {"volgende", "next", "komende", "aanstaande"}
_AFTER_WEEKDAY = {"a.s", "as", "aanstaande"}  # "dinsdag a.s.": the coming Tuesday
_BEFORE_DATE = {"op", "on"}
_BEFORE_TIME = {"om", "at", "@", "vanaf", "from", "van"}
# Between the start and the end of a range: "14:00-16:00", "van 14:00 tot 16:00".
_RANGE_WORDS = {"-", "\u2013", "\u2014", "tot", "to", "till", "until"}
_HOUR_WORDS = {"uur", "u", "h", "o'clock", "oclock"}
_MERIDIEMS = {"am": "am", "pm": "pm"}
# "'s middags" and friends: Dutch for am/pm.
_DAYPARTS = {
    "ochtends": "am",
    "morgens": "am",
    "nachts": "am",
    "middags": "pm",
    "avonds": "pm",
}

# ASCII digits only: int() would happily read Arabic-Indic or Devanagari digits.
_DAY = re.compile(r"([0-9]{1,2})(?:e|ste|de|st|nd|rd|th)?", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
_CLOCK = re.compile(
    r"(?P<h>[0-9]{1,2})"
    r"(?:[:.](?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?|[uh](?P<m2>[0-9]{2}))?"
    r"(?P<suffix>u|uur|h|am|pm)?",
    re.ASCII,
)
_YMD = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})", re.ASCII)
_DMY = re.compile(r"([0-9]{1,2})([-/.])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})", re.ASCII)
# No dot here: "10.30" is a time.
_DM = re.compile(r"([0-9]{1,2})[-/]([0-9]{1,2})", re.ASCII)
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}t\S+", re.ASCII)
# "14:00-16:00" written as one word: split at the dash so the range reader sees three.
_GLUED_RANGE = re.compile(r"[0-9]{1,2}[:.][0-9]{2}(?:u|h)?([-\u2013\u2014])[0-9]{1,2}[:.][0-9]{2}")

# No date-time expression needs more words than this; keeps junk input cheap.
_MAX_TOKENS = 12


@dataclass(frozen=True)
class _Date:
    """A date as written, before it is placed on the calendar."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_first_failed: bool = False  # "3/30": day and month only fit the other way round
    weekday: int | None = None
    after_today: bool = False  # "volgende dinsdag": never today
    next_week: bool = False  # "volgende week dinsdag"
    relative: int | None = None  # days from today
    iso: dt.datetime | None = None  # "2027-03-30T14:00", date and time in one


@dataclass(frozen=True)
class _Time:
    hour: int
    minute: int = 0
    second: int = 0
    minutes_given: bool = True
    meridiem: str | None = None


def _normalise(token: str) -> str:
    """Lower case, no accents, no punctuation around the word."""
    decomposed = unicodedata.normalize("NFKD", token)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = plain.replace("\u2019", "'").replace("\u2018", "'")
    return plain.strip(',;!?()[]{}"').rstrip(".:")


_MONTHS: dict[str, int] = _names(get_month_names, _EXTRA_MONTHS)  # 1 = January
_WEEKDAYS: dict[str, int] = _names(get_day_names, _EXTRA_WEEKDAYS)  # 0 = Monday, as Babel


def _meridiem(word: str) -> str | None:
    return _MERIDIEMS.get(word.replace(".", ""))


# The grammar: each reader yields every way it can read tokens from position i,
# with the position after it; parse_when keeps the reading that gets furthest.


def _explicit_dates(toks: list[str], i: int) -> Iterator[tuple[_Date, int]]:
    if i >= len(toks):
        return
    word = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else ""
    if (m := _YMD.fullmatch(word)) is not None:
        yield _Date(year=int(m[1]), month=int(m[3]), day=int(m[4])), i + 1
    elif (m := _DMY.fullmatch(word)) is not None:
        year = int(m[4]) + (2000 if len(m[4]) == 2 else 0)
        yield _numeric_date(int(m[1]), int(m[3]), year), i + 1
    elif (m := _DM.fullmatch(word)) is not None:
        yield _numeric_date(int(m[1]), int(m[2]), None), i + 1
    elif (d := _DAY.fullmatch(word)) is not None and nxt in _MONTHS:
        yield from _with_year(toks, i + 2, int(d[1]), _MONTHS[nxt])
    elif word in _MONTHS and (d := _DAY.fullmatch(nxt)) is not None:
        yield from _with_year(toks, i + 2, int(d[1]), _MONTHS[word])


def _numeric_date(first: int, second: int, year: int | None) -> _Date:
    # Day first, as the Dutch write it; only when that cannot be a date but the
    # other order can ("3/30") do we read it month-first, and ask.
    if second > 12 and 1 <= first <= 12 and second <= 31:
        return _Date(year=year, month=first, day=second, day_first_failed=True)
    return _Date(year=year, month=second, day=first)


def _with_year(toks: list[str], i: int, day: int, month: int) -> Iterator[tuple[_Date, int]]:
    if i < len(toks) and _YEAR.fullmatch(toks[i]):
        yield _Date(year=int(toks[i]), month=month, day=day), i + 1
    yield _Date(month=month, day=day), i


def _dates(toks: list[str], i: int) -> Iterator[tuple[_Date, int]]:
    if i < len(toks) and toks[i] in _BEFORE_DATE:
        i += 1
    if i >= len(toks):
        return
    word = toks[i]
    if word in _RELATIVE_DAYS:
        yield _Date(relative=_RELATIVE_DAYS[word]), i + 1
        for explicit, j in _explicit_dates(toks, i + 1):
            yield _combine(explicit, relative=_RELATIVE_DAYS[word]), j
    elif word in _NEXT:
        j = i + 1
        next_week = j < len(toks) and toks[j] == "week"
        j += next_week
        if j < len(toks) and toks[j] in _WEEKDAYS:
            weekday = _WEEKDAYS[toks[j]]
            yield _Date(weekday=weekday, after_today=True, next_week=next_week), j + 1
            for explicit, k in _explicit_dates(toks, j + 1):
                yield _combine(explicit, weekday=weekday), k
    elif word in _WEEKDAYS:
        j = i + 1
        if j < len(toks) and toks[j] in _AFTER_WEEKDAY:
            j += 1
        yield _Date(weekday=_WEEKDAYS[word]), j
        for explicit, k in _explicit_dates(toks, j):
            yield _combine(explicit, weekday=_WEEKDAYS[word]), k
    else:
        yield from _explicit_dates(toks, i)


def _combine(explicit: _Date, *, relative: int | None = None, weekday: int | None = None) -> _Date:
    return _Date(
        year=explicit.year,
        month=explicit.month,
        day=explicit.day,
        day_first_failed=explicit.day_first_failed,
        relative=relative,
        weekday=weekday,
    )


def _iso_datetimes(toks: list[str], i: int) -> Iterator[tuple[_Date, int]]:
    if i < len(toks) and toks[i] in _BEFORE_DATE:
        i += 1
    if i < len(toks) and _ISO_DATETIME.fullmatch(toks[i]):
        try:
            value = isoparse(toks[i].upper())
        except (ValueError, OverflowError):
            return
        yield _Date(iso=value), i + 1


def _times(toks: list[str], i: int) -> Iterator[tuple[_Time, int]]:
    introduced = i < len(toks) and toks[i] in _BEFORE_TIME
    if introduced:
        i += 1
    if i >= len(toks):
        return
    m = _CLOCK.fullmatch(toks[i])
    if m is None:
        return
    hour = int(m["h"])
    minute_text = m["m"] or m["m2"]
    suffix = m["suffix"]
    j = i + 1
    meridiem = suffix if suffix in ("am", "pm") else None
    if meridiem is None and j < len(toks) and toks[j] in _HOUR_WORDS:
        j += 1  # "14 uur", "14:00 uur"
    if meridiem is None and j < len(toks):
        if (word := _meridiem(toks[j])) is not None:
            meridiem, j = word, j + 1
        else:
            part, width = _daypart(toks, j)
            if part is not None:
                meridiem, j = part, j + width
    if minute_text is None and suffix is None and j == i + 1 and not introduced:
        # A bare number is a time only with a word that says so: "14 uur", "om 3", "2 pm".
        return
    yield (
        _Time(
            hour=hour,
            minute=int(minute_text or 0),
            second=int(m["s"] or 0),
            minutes_given=minute_text is not None,
            meridiem=meridiem,
        ),
        j,
    )


def _daypart(toks: list[str], i: int) -> tuple[str | None, int]:
    """("pm", 2) for "'s middags", ("pm", 1) for "smiddags"."""
    if i >= len(toks):
        return None, 0
    if toks[i] == "'s" and i + 1 < len(toks) and toks[i + 1] in _DAYPARTS:
        return _DAYPARTS[toks[i + 1]], 2
    for prefix in ("'s", "s"):
        if toks[i].startswith(prefix) and toks[i][len(prefix) :] in _DAYPARTS:
            return _DAYPARTS[toks[i][len(prefix) :]], 1
    return None, 0


def _ends(toks: list[str], i: int) -> Iterator[tuple[_Time | None, int]]:
    """No end, or the end of a range after its start: "- 16:00", "tot 16:00", "to 4 pm"."""
    yield None, i
    if i < len(toks) and toks[i] in _RANGE_WORDS:
        yield from _times(toks, i + 1)


_Reading = tuple[_Date | None, _Time | None, _Time | None, int]


def _readings(toks: list[str]) -> Iterator[_Reading]:
    """(date, start time, end time, tokens used) for every way to read the start of `toks`."""
    for iso, i in _iso_datetimes(toks, 0):
        for end, j in _ends(toks, i):
            yield iso, None, end, j
    for date, i in _dates(toks, 0):
        yield date, None, None, i
        for time, j in _times(toks, i):
            for end, k in _ends(toks, j):
                yield date, time, end, k
    for time, i in _times(toks, 0):
        for end, j in _ends(toks, i):
            yield None, time, end, j
            for date, k in _dates(toks, j):
                yield date, time, end, k


def _longest_reading(toks: list[str]) -> _Reading:
    best: _Reading = (None, None, None, 0)
    for reading in _readings(toks):
        if reading[3] > best[3]:
            best = reading
    return best


def _tokens(text: str) -> list[tuple[int, int]]:
    """The spans of the words of `text`, a glued range "14:00-16:00" as three words."""
    spans: list[tuple[int, int]] = []
    for m in re.finditer(r"\S+", text):
        glued = _GLUED_RANGE.match(m.group())
        if glued is None:
            spans.append(m.span())
            continue
        dash = m.start() + glued.start(1)
        spans.extend([(m.start(), dash), (dash, dash + 1), (dash + 1, m.end())])
    return spans[:_MAX_TOKENS]


# Placing the reading on the calendar.


class _Unreadable(Exception):
    """Internal: the words had the right shape but no such moment exists."""


def _clock(time: _Time) -> tuple[dt.time, bool]:
    """The wall-clock time, and whether the hour could as well be 12 hours later."""
    hour = time.hour
    ambiguous = False
    if time.meridiem == "am":
        if not 1 <= hour <= 12:
            raise _Unreadable
        hour %= 12
    elif time.meridiem == "pm":
        if hour == 0 or hour > 23:
            raise _Unreadable
        if hour < 12:
            hour += 12
    elif not time.minutes_given and 1 <= hour <= 7:
        # Nobody meets at 3 in the night: guess the afternoon, but ask.
        hour += 12
        ambiguous = True
    try:
        return dt.time(hour, time.minute, time.second), ambiguous
    except ValueError as exc:
        raise _Unreadable from exc


def _next_occurrence(month: int, day: int, today: dt.date) -> dt.date:
    """The day a date written without a year means: this year's while it is still to
    come; once it has passed, the nearer of this year's and next year's. So "30 maart"
    typed on 31 March is yesterday (the caller refuses it as past, showing the reading),
    while in November it is next March, and "5 januari" in December next January. A day
    this year does not have ("29 februari") is the next one that exists."""
    this = _date_or_none(today.year, month, day)
    if this is not None and this >= today:
        return this
    # Eight years always include a leap year, for "29 februari".
    ahead = next(
        (d for year in range(today.year + 1, today.year + 9)
         if (d := _date_or_none(year, month, day)) is not None),
        None,
    )  # fmt: skip
    if this is not None and (ahead is None or today - this < ahead - today):
        return this
    if ahead is None:
        raise _Unreadable
    return ahead


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _calendar_date(
    date: _Date, today: dt.date, clock: dt.time | None, now_wall: dt.datetime
) -> tuple[dt.date, bool]:
    """The calendar day, and whether a weekday or "morgen" disagrees with the written date."""
    if date.month is not None and date.day is not None:
        if date.year is not None:
            try:
                day = dt.date(date.year, date.month, date.day)
            except ValueError as exc:
                raise _Unreadable from exc
        else:
            day = _next_occurrence(date.month, date.day, today)
        mismatch = (date.weekday is not None and day.weekday() != date.weekday) or (
            date.relative is not None and day != today + dt.timedelta(days=date.relative)
        )
        return day, mismatch
    if date.relative is not None:
        return today + dt.timedelta(days=date.relative), False
    assert date.weekday is not None
    if date.next_week:
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
        return monday + dt.timedelta(days=date.weekday), False
    day = today + relativedelta(weekday=date.weekday)
    if day == today and (
        date.after_today or (clock is not None and dt.datetime.combine(today, clock) <= now_wall)
    ):
        day += dt.timedelta(days=7)
    return day, False


def _local(day: dt.date, clock: dt.time, tz: ZoneInfo) -> tuple[dt.datetime, bool]:
    """The aware local moment, and whether the clock shows it twice that night."""
    moment = dt.datetime.combine(day, clock, tzinfo=tz)
    if not dateutil_tz.datetime_exists(moment):
        raise _Unreadable  # the spring-forward gap: that wall-clock time is skipped
    return moment, dateutil_tz.datetime_ambiguous(moment)


def wall_clock(day: dt.date, clock: dt.time, tz: ZoneInfo) -> dt.datetime | None:
    """The aware moment a date and time picker mean in `tz` (the first one on the night
    summer time ends), or None when the clock skips that time (summer time starts)."""
    try:
        return _local(day, clock.replace(tzinfo=None), tz)[0]
    except _Unreadable:
        return None


def parse_when(text: str, *, now: dt.datetime, tz: ZoneInfo) -> ParsedWhen:
    """Read the leading date and time of `text` in `tz`; the words after it come back as `rest`.

    Raises UnreadableWhen, AmbiguousWhen (with our best guess) or PastWhen (before `now`).
    """
    spans = _tokens(text)
    toks = [_normalise(text[a:b]) for a, b in spans]
    date, time, end, used = _longest_reading(toks)
    if used == 0:
        raise UnreadableWhen(text)
    rest = text[spans[used - 1][1] :].strip().lstrip(",;").strip()
    try:
        return _place(text, date, time, end, rest, now=now, tz=tz)
    except (_Unreadable, ValueError, OverflowError):
        # OverflowError: a year so far out that converting it to UTC falls off the calendar.
        raise UnreadableWhen(text) from None


def _place(
    text: str,
    date: _Date | None,
    time: _Time | None,
    end: _Time | None,
    rest: str,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> ParsedWhen:
    now_wall = now.astimezone(tz).replace(tzinfo=None)  # naive: compared with wall clocks
    today = now_wall.date()
    unclear: list[str] = []
    if date is not None and date.iso is not None:
        moment = date.iso
        if moment.tzinfo is None:
            moment, fold = _local(moment.date(), moment.time(), tz)
            if fold:
                unclear.append(AUTUMN_FOLD)
        else:
            moment = moment.astimezone(tz)
        past = moment < now
    elif time is None:
        assert date is not None
        day, mismatch = _calendar_date(date, today, None, now_wall)
        # No time yet: a day is past only once it is over.
        moment = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        moment = moment.astimezone(dt.UTC).astimezone(tz)
        day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        past = day_end <= now
        unclear.append(NO_TIME)
        if mismatch:
            unclear.append(WEEKDAY_MISMATCH)
        if date.day_first_failed:
            unclear.append(DAY_MONTH_ORDER)
    else:
        clock, hour_unclear = _clock(time)
        if hour_unclear:
            unclear.append(HOUR_1_TO_7)
        if date is None:
            later_today = dt.datetime.combine(today, clock) > now_wall
            day = today if later_today else today + dt.timedelta(days=1)
            unclear.append(NO_DATE)
        else:
            day, mismatch = _calendar_date(date, today, clock, now_wall)
            if mismatch:
                unclear.append(WEEKDAY_MISMATCH)
            if date.day_first_failed:
                unclear.append(DAY_MONTH_ORDER)
        moment, fold = _local(day, clock, tz)
        if fold:
            unclear.append(AUTUMN_FOLD)
        past = moment < now
    if past:
        yearless = date is not None and date.month is not None and date.year is None
        raise PastWhen(text, moment, yearless=yearless)
    if unclear:
        raise AmbiguousWhen(text, moment, unclear[0])
    ends_at = _end(text, moment, end, tz) if end is not None else None
    return ParsedWhen(starts_at=moment.astimezone(dt.UTC), local=moment, rest=rest, ends_at=ends_at)


def _end(text: str, start: dt.datetime, end: _Time, tz: ZoneInfo) -> dt.datetime:
    """The end of a range, on the start's day, in UTC; it must lie after the start."""
    clock, hour_unclear = _clock(end)
    day = start.astimezone(tz).date()
    moment, _ = _local(day, clock, tz)
    if hour_unclear:
        # "14:00 tot 5 uur": the afternoon guess is right when only it follows the start;
        # "1:00 tot 3 uur" could be either, so ask.
        morning, _ = _local(day, clock.replace(hour=clock.hour - 12), tz)
        if morning > start:
            raise AmbiguousWhen(text, start, HOUR_1_TO_7)
    if moment <= start:
        raise EndBeforeStart(text, start, moment)
    return moment.astimezone(dt.UTC)


def describe(reading: dt.datetime, language: str) -> str:
    """How we read it: "dinsdag 30 maart 2027 om 14:00" / "Tuesday 30 March 2027 at 14:00".

    Shows the wall clock of `reading` itself; the readings in our errors are already local.
    """
    locale = "en" if language.lower().startswith("en") else "nl"
    joiner = "at" if locale == "en" else "om"
    return f"{format_date(reading, 'EEEE d MMMM y', locale=locale)} {joiner} {reading:%H:%M}"


def example_when(reading: dt.datetime, language: str) -> str:
    """`reading` as the user may type it: "30 maart 2028 14:00" / "30 March 2028 14:00"
    (the date alone when it was read at midnight, i.e. without a time)."""
    locale = "en" if language.lower().startswith("en") else "nl"
    day = format_date(reading, "d MMMM y", locale=locale)
    return day if reading.time() == dt.time() else f"{day} {reading:%H:%M}"
