"""Reading meeting times from free Dutch and English: formats, rest words, summer time, errors."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from babel.dates import get_day_names, get_month_names

from bot.services.errors import (
    AUTUMN_FOLD,
    DAY_MONTH_ORDER,
    HOUR_1_TO_7,
    NO_DATE,
    NO_TIME,
    WEEKDAY_MISMATCH,
    AmbiguousWhen,
    DomainError,
    EndBeforeStart,
    PastWhen,
    UnreadableWhen,
    WhenError,
)
from bot.services.when import ParsedWhen, describe, parse_when

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC
# Monday 23 November 2026, 11:00 in Amsterdam (winter time, UTC+1).
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
E = TypeVar("E", bound=WhenError)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=AMS)


def parse(text: str, now: dt.datetime = NOW) -> ParsedWhen:
    return parse_when(text, now=now, tz=AMS)


def refused(kind: type[E], text: str, now: dt.datetime = NOW) -> E:
    with pytest.raises(kind) as caught:
        parse(text, now)
    assert caught.value.text == text
    return caught.value


@pytest.mark.parametrize(
    ("text", "starts_at"),
    [
        # Dutch, written out
        ("30 maart 14:00", utc(2027, 3, 30, 12, 0)),
        ("30 maart 2027 14:00", utc(2027, 3, 30, 12, 0)),
        ("dinsdag 30 maart om 14:00", utc(2027, 3, 30, 12, 0)),
        ("di 30 mrt 14u", utc(2027, 3, 30, 12, 0)),
        ("30 maart 14 uur", utc(2027, 3, 30, 12, 0)),
        ("30 maart 14u30", utc(2027, 3, 30, 12, 30)),
        ("7 december 10.30", utc(2026, 12, 7, 9, 30)),
        ("30 maart 3 uur 's middags", utc(2027, 3, 30, 13, 0)),
        ("om 14:00 op dinsdag 30 maart", utc(2027, 3, 30, 12, 0)),
        # Numeric
        ("2027-03-30 14:00", utc(2027, 3, 30, 12, 0)),
        ("2027-03-30T14:00", utc(2027, 3, 30, 12, 0)),
        ("2027-03-30T14:00:00", utc(2027, 3, 30, 12, 0)),
        ("2027-03-30T14:00+00:00", utc(2027, 3, 30, 14, 0)),
        ("30-03-2027 14:00", utc(2027, 3, 30, 12, 0)),
        ("30.03.2027 14:00", utc(2027, 3, 30, 12, 0)),
        ("30-3-27 14:00", utc(2027, 3, 30, 12, 0)),
        ("30/3 14.00", utc(2027, 3, 30, 12, 0)),
        # Relative days and weekdays (NOW is a Monday)
        ("volgende dinsdag 9:30", utc(2026, 11, 24, 8, 30)),
        ("dinsdag 9:30", utc(2026, 11, 24, 8, 30)),
        ("dinsdag a.s. 9:30", utc(2026, 11, 24, 8, 30)),
        ("volgende week dinsdag 9:30", utc(2026, 12, 1, 8, 30)),
        ("vrijdag 13:00", utc(2026, 11, 27, 12, 0)),
        ("morgen 10:00", utc(2026, 11, 24, 9, 0)),
        ("overmorgen 10:00", utc(2026, 11, 25, 9, 0)),
        ("vandaag 16:00", utc(2026, 11, 23, 15, 0)),
        # English
        ("March 30 14:00", utc(2027, 3, 30, 12, 0)),
        ("30 March 2:00 pm", utc(2027, 3, 30, 12, 0)),
        ("Tuesday, March 30th, 2027 at 2 p.m.", utc(2027, 3, 30, 12, 0)),
        ("next tuesday 9:30", utc(2026, 11, 24, 8, 30)),
        ("next week tuesday 9:30", utc(2026, 12, 1, 8, 30)),
        ("tomorrow 10am", utc(2026, 11, 24, 9, 0)),
        ("tomorrow 12am", utc(2026, 11, 23, 23, 0)),
        ("tomorrow 12pm", utc(2026, 11, 24, 11, 0)),
    ],
)
def test_parse_when_reads_each_supported_format_as_the_right_utc_moment(
    text: str, starts_at: dt.datetime
) -> None:
    parsed = parse(text)
    assert parsed.starts_at == starts_at
    assert parsed.starts_at.utcoffset() == dt.timedelta(0)
    assert parsed.local == starts_at
    assert parsed.local.tzinfo == AMS
    assert parsed.rest == ""


@pytest.mark.parametrize(
    "text",
    [
        "Dinsdag 30 Maart 14:00",
        "DINSDAG 30 MAART 14:00",
        "dínsdag 30 máárt 14:00",
        "Di. 30 Mrt. 14:00",
        "dinsdag, 30 maart, 14:00",
    ],
)
def test_case_accents_and_punctuation_do_not_matter(text: str) -> None:
    assert parse(text).starts_at == utc(2027, 3, 30, 12, 0)


@pytest.mark.parametrize(
    ("month", "number"),
    [
        ("januari", 1), ("jan", 1), ("februari", 2), ("feb", 2), ("maart", 3), ("mrt", 3),
        ("april", 4), ("apr", 4), ("mei", 5), ("juni", 6), ("jun", 6), ("juli", 7),
        ("jul", 7), ("augustus", 8), ("aug", 8), ("september", 9), ("sep", 9), ("sept", 9),
        ("oktober", 10), ("okt", 10), ("november", 11), ("nov", 11), ("december", 12),
        ("dec", 12),
    ],
)  # fmt: skip
def test_every_dutch_month_name_and_abbreviation_is_known(month: str, number: int) -> None:
    assert parse(f"10 {month} 2027 14:00").local.month == number


@pytest.mark.parametrize(
    ("weekday", "day"),
    [
        ("maandag", 30), ("ma", 30), ("dinsdag", 24), ("di", 24), ("woensdag", 25), ("wo", 25),
        ("donderdag", 26), ("do", 26), ("vrijdag", 27), ("vr", 27), ("zaterdag", 28),
        ("za", 28), ("zondag", 29), ("zo", 29),
    ],
)  # fmt: skip
def test_every_dutch_day_name_means_its_next_occurrence(weekday: str, day: int) -> None:
    # NOW is Monday 11:00, so "maandag 10:00" is already past today: next week.
    assert parse(f"{weekday} 10:00").local == local(2026, 11, day, 10, 0)


def _babel_names(table: Callable[..., Mapping[int, str]]) -> list[tuple[str, str, int]]:
    return [
        (language, name, number)
        for language in ("nl", "en")
        for width in ("wide", "abbreviated")
        for number, name in table(width, locale=language).items()
    ]


@pytest.mark.parametrize(("language", "month", "number"), _babel_names(get_month_names))
def test_every_month_name_babel_gives_is_read(language: str, month: str, number: int) -> None:
    assert parse(f"10 {month} 2027 14:00").local.month == number
    assert parse(f"{month.upper()} 10 2027 14:00").local.month == number


@pytest.mark.parametrize(("language", "weekday", "number"), _babel_names(get_day_names))
def test_every_weekday_name_babel_gives_is_read(language: str, weekday: str, number: int) -> None:
    # NOW is Monday 23 November 2026; Babel numbers Monday 0, so the day is 23 + number,
    # except Monday itself: 10:00 is past, so next week.
    day = 23 + number if number else 30
    assert parse(f"{weekday} 10:00").local == local(2026, 11, day, 10, 0)


@pytest.mark.parametrize(("text", "month"), [("10 febr 2027 14:00", 2), ("10 sept. 2027 14:00", 9)])
def test_month_abbreviations_babel_lacks_are_still_read(text: str, month: int) -> None:
    assert parse(text).local.month == month


@pytest.mark.parametrize(("weekday", "day"), [("tues", 24), ("thur", 26), ("thurs", 26)])
def test_weekday_abbreviations_babel_lacks_are_still_read(weekday: str, day: int) -> None:
    assert parse(f"{weekday} 10:00").local == local(2026, 11, day, 10, 0)


def test_numeric_dates_are_day_first_even_when_both_parts_could_be_a_month() -> None:
    assert parse("5/2 14:00").local == local(2027, 2, 5, 14, 0)
    assert parse("06/05/2027 14:00").local == local(2027, 5, 6, 14, 0)


def test_iso_dates_stay_year_month_day() -> None:
    assert parse("2027-05-06 14:00").local == local(2027, 5, 6, 14, 0)


def test_a_date_without_a_year_is_the_nearest_one_still_to_come_this_year_or_next() -> None:
    assert parse("30 maart 14:00").local.year == 2027
    assert parse("30 december 14:00").local.year == 2026
    december = utc(2026, 12, 20, 9, 0)
    assert parse("5 januari 14:00", december).local == local(2027, 1, 5, 14, 0)


def test_a_date_without_a_year_that_passed_lately_is_past_not_next_year() -> None:
    # On 31 March, "30 maart" is yesterday, not 30 March of next year.
    error = refused(PastWhen, "30 maart 14:00", utc(2027, 3, 31, 8, 0))
    assert error.reading == local(2027, 3, 30, 14, 0)
    assert error.yearless
    assert not refused(PastWhen, "30 maart 2027 14:00", utc(2027, 3, 31, 8, 0)).yearless


def test_29_february_without_a_year_is_the_next_leap_day() -> None:
    assert parse("29 feb 10:00").local == local(2028, 2, 29, 10, 0)


def test_today_later_on_is_today_not_next_year() -> None:
    assert parse("23 november 15:00").local == local(2026, 11, 23, 15, 0)


# The rest of the words


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("30 maart 14:00 online Stadhuis", "online Stadhuis"),
        ("30 maart 14:00 online Stadhuis Utrecht", "online Stadhuis Utrecht"),
        (
            "dinsdag 30 maart om 14:00 fysiek Raadzaal, Stadskantoor",
            "fysiek Raadzaal, Stadskantoor",
        ),
        ("2027-03-30T14:00 hybride", "hybride"),
        ("30 maart 2027 14:00   online  ", "online"),
        ("30 maart, 14:00, online", "online"),
        ("morgen om 10:00 Teams", "Teams"),
        ("om 14:00 op 30 maart Zaal 2", "Zaal 2"),
        ("30 maart 14:00 2 uur online", "2 uur online"),
        ("tomorrow 10am at the town hall", "at the town hall"),
    ],
)
def test_the_words_after_the_time_come_back_as_rest_in_their_own_spelling(
    text: str, rest: str
) -> None:
    assert parse(text).rest == rest


def test_the_time_expression_is_taken_as_long_as_it_goes() -> None:
    parsed = parse("30 maart 2027 om 14:00 uur online")
    assert parsed.local == local(2027, 3, 30, 14, 0)
    assert parsed.rest == "online"


# Time ranges


@pytest.mark.parametrize(
    "text",
    [
        "30 maart 14:00-16:00 fysiek Stadhuis",
        "30 maart 14:00 - 16:00 fysiek Stadhuis",
        "30 maart 14.00-16.00 fysiek Stadhuis",
        "30 maart 14:00\u201316:00 fysiek Stadhuis",
        "30 maart van 14:00 tot 16:00 fysiek Stadhuis",
        "30 maart 14:00 tot 16:00 uur fysiek Stadhuis",
        "March 30 14:00 to 16:00 fysiek Stadhuis",
        "30 March 2 pm to 4 pm fysiek Stadhuis",
        "van 14:00 tot 16:00 op 30 maart fysiek Stadhuis",
        "2027-03-30T14:00 - 16:00 fysiek Stadhuis",
    ],
)
def test_a_time_range_sets_the_end_and_leaves_the_rest(text: str) -> None:
    parsed = parse(text)
    assert parsed.starts_at == utc(2027, 3, 30, 12, 0)
    assert parsed.ends_at == utc(2027, 3, 30, 14, 0)
    assert parsed.rest == "fysiek Stadhuis"


def test_without_a_range_there_is_no_end() -> None:
    assert parse("30 maart 14:00 online").ends_at is None


def test_a_range_in_winter_time_ends_one_hour_ahead_of_utc() -> None:
    parsed = parse("7 december 2027 10:30-12:00")
    assert (parsed.starts_at, parsed.ends_at) == (utc(2027, 12, 7, 9, 30), utc(2027, 12, 7, 11, 0))


def test_a_dash_not_followed_by_a_time_is_part_of_the_rest() -> None:
    parsed = parse("30 maart 14:00 - Stadhuis")
    assert parsed.ends_at is None
    assert parsed.rest == "- Stadhuis"


def test_an_end_hour_without_minutes_is_read_in_the_afternoon_after_an_afternoon_start() -> None:
    assert parse("30 maart 14:00 tot 5 uur").ends_at == utc(2027, 3, 30, 15, 0)


def test_an_end_hour_that_could_be_morning_or_afternoon_after_the_start_is_ambiguous() -> None:
    assert refused(AmbiguousWhen, "30 maart 1:00 tot 3 uur").reason == HOUR_1_TO_7


@pytest.mark.parametrize("text", ["30 maart 16:00-14:00", "30 maart 14:00 tot 14:00"])
def test_an_end_not_after_the_start_is_refused_with_both_readings(text: str) -> None:
    error = refused(EndBeforeStart, text)
    assert error.reading == local(2027, 3, 30, int(text.split()[2][:2]), 0)
    assert error.end == local(2027, 3, 30, 14, 0)
    assert isinstance(error, WhenError)


# Summer time


def test_a_summer_time_meeting_is_two_hours_ahead_of_utc() -> None:
    assert parse("30 maart 2027 14:00").starts_at == utc(2027, 3, 30, 12, 0)


def test_a_winter_time_meeting_is_one_hour_ahead_of_utc() -> None:
    assert parse("7 december 2027 10:30").starts_at == utc(2027, 12, 7, 9, 30)


def test_the_days_around_the_clock_change_use_their_own_offset() -> None:
    assert parse("27 maart 2027 14:00").starts_at == utc(2027, 3, 27, 13, 0)
    assert parse("28 maart 2027 14:00").starts_at == utc(2027, 3, 28, 12, 0)
    assert parse("30 oktober 2027 14:00").starts_at == utc(2027, 10, 30, 12, 0)
    assert parse("31 oktober 2027 14:00").starts_at == utc(2027, 10, 31, 13, 0)


def test_a_time_skipped_when_summer_time_starts_is_unreadable() -> None:
    error = refused(UnreadableWhen, "28 maart 2027 02:30")
    assert error.reading is None


def test_a_time_that_happens_twice_when_summer_time_ends_is_ambiguous() -> None:
    error = refused(AmbiguousWhen, "31 oktober 2027 02:30")
    assert error.reason == AUTUMN_FOLD
    # Our guess is the first 02:30, still in summer time.
    assert error.reading == local(2027, 10, 31, 2, 30)
    assert error.reading is not None
    assert error.reading.astimezone(UTC) == utc(2027, 10, 31, 0, 30)


# Weekdays relative to now


def test_a_weekday_today_is_today_while_the_time_is_still_ahead() -> None:
    tuesday_morning = utc(2026, 11, 24, 8, 0)  # 09:00 in Amsterdam
    assert parse("dinsdag 9:30", tuesday_morning).starts_at == utc(2026, 11, 24, 8, 30)


def test_a_weekday_today_is_next_week_once_the_time_has_passed() -> None:
    tuesday_late_morning = utc(2026, 11, 24, 9, 0)  # 10:00 in Amsterdam
    assert parse("dinsdag 9:30", tuesday_late_morning).starts_at == utc(2026, 12, 1, 8, 30)


def test_next_weekday_said_on_that_weekday_is_never_today() -> None:
    tuesday_morning = utc(2026, 11, 24, 8, 0)
    assert parse("volgende dinsdag 9:30", tuesday_morning).starts_at == utc(2026, 12, 1, 8, 30)


# Errors and their readings


@pytest.mark.parametrize(
    "text",
    ["", "   ", "hallo", "online Stadhuis 30 maart 14:00", "om", "31 april 14:00",
     "30 februari 2027 14:00", "30 maart 25:00", "30 maart 14:75", "14 am morgen",
     "2027-13-45T10:00"],
)  # fmt: skip
def test_text_without_a_possible_date_or_time_is_unreadable(text: str) -> None:
    assert refused(UnreadableWhen, text).reading is None


def test_a_date_without_a_time_is_ambiguous_read_at_midnight() -> None:
    error = refused(AmbiguousWhen, "30 maart online")
    assert error.reason == NO_TIME
    assert error.reading == local(2027, 3, 30, 0, 0)


def test_today_without_a_time_is_ambiguous_not_past() -> None:
    error = refused(AmbiguousWhen, "vandaag")
    assert error.reason == NO_TIME
    assert error.reading == local(2026, 11, 23, 0, 0)


def test_a_time_without_a_date_is_ambiguous_read_as_its_next_occurrence() -> None:
    later_today = refused(AmbiguousWhen, "14:00")
    assert later_today.reason == NO_DATE
    assert later_today.reading == local(2026, 11, 23, 14, 0)
    already_past = refused(AmbiguousWhen, "9:00 online")
    assert already_past.reading == local(2026, 11, 24, 9, 0)


@pytest.mark.parametrize("text", ["30 maart om 3", "30 maart 3 uur", "30 maart om 7"])
def test_an_hour_from_1_to_7_without_minutes_is_ambiguous_guessing_the_afternoon(
    text: str,
) -> None:
    error = refused(AmbiguousWhen, text)
    assert error.reason == HOUR_1_TO_7
    assert error.reading is not None
    assert error.reading.date() == dt.date(2027, 3, 30)
    assert error.reading.hour in (15, 19)


@pytest.mark.parametrize(
    ("text", "hour"),
    [("30 maart om 3:00", 3), ("30 maart 3 pm", 15), ("30 maart 3 am", 3), ("30 maart om 8", 8)],
)
def test_an_hour_with_minutes_am_pm_or_from_8_is_taken_as_written(text: str, hour: int) -> None:
    assert parse(text).local.hour == hour


def test_a_date_that_only_fits_month_first_is_ambiguous() -> None:
    error = refused(AmbiguousWhen, "3/30 14:00")
    assert error.reason == DAY_MONTH_ORDER
    assert error.reading == local(2027, 3, 30, 14, 0)


def test_a_weekday_that_does_not_match_the_date_is_ambiguous() -> None:
    error = refused(AmbiguousWhen, "maandag 30 maart 2027 14:00")
    assert error.reason == WEEKDAY_MISMATCH
    assert error.reading == local(2027, 3, 30, 14, 0)


def test_a_moment_before_now_is_past_with_its_reading() -> None:
    error = refused(PastWhen, "30 maart 2020 14:00")
    assert error.reading == local(2020, 3, 30, 14, 0)


def test_earlier_today_is_past_not_next_year() -> None:
    error = refused(PastWhen, "23 november 09:00")
    assert error.reading == local(2026, 11, 23, 9, 0)


def test_a_whole_day_in_the_past_without_a_time_is_past() -> None:
    error = refused(PastWhen, "1 januari 2020")
    assert error.reading == local(2020, 1, 1, 0, 0)


def test_errors_are_domain_errors_for_the_shared_handler() -> None:
    assert issubclass(WhenError, DomainError)
    for kind in (UnreadableWhen, AmbiguousWhen, PastWhen):
        assert issubclass(kind, WhenError)


# Saying back what we read


def test_describe_says_the_reading_in_dutch() -> None:
    assert describe(local(2027, 3, 30, 14, 0), "nl") == "dinsdag 30 maart 2027 om 14:00"


def test_describe_says_the_reading_in_english() -> None:
    assert describe(local(2027, 3, 30, 14, 0), "en") == "Tuesday 30 March 2027 at 14:00"


def test_describe_shows_the_wall_clock_of_a_parsed_reading() -> None:
    parsed = parse("7 december 2027 9:05")
    assert describe(parsed.local, "nl") == "dinsdag 7 december 2027 om 09:05"


# Junk in, only our errors out


_JUNK_WORDS = [
    "30", "maart", "14:00", "om", "at", "op", "dinsdag", "di", "volgende", "next", "week",
    "morgen", "vandaag", "uur", "u", "pm", "am", "'s", "middags", "2027", "0000", "9999", "0",
    "31", "29", "feb", "2027-03-30", "2027-03-30T14:00", "2027-03-30t14:00+02:00", "5/6",
    "3/30", "14.00", "14u", "14u30", "10am", "a.s.", "12", "7", ",", ".", "-", "online",
    "٣", "１４:００", "ß", "İ", "\u0301", "\x00", "\n", "0001-01-01", "9999-12-31T23:59",
    "31-12-9999", "1-1-0001", "99/99", "24:00", "23:59:59", "x" * 200,
]  # fmt: skip
_JUNK_CHARS = "0123456789:./-ut apmhsjfmadnowz'’,é\u00a0\u2028\u0660"


def _junk(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return " ".join(rng.choice(_JUNK_WORDS) for _ in range(rng.randint(0, 9)))
    return "".join(rng.choice(_JUNK_CHARS) for _ in range(rng.randint(0, 40)))


def test_junk_input_gives_a_parsed_when_or_a_when_error_and_nothing_else() -> None:
    rng = random.Random(20261123)
    nows = [NOW, utc(2027, 3, 28, 0, 59), utc(2027, 10, 31, 1, 0), utc(9999, 12, 31, 0, 0)]
    outcomes: set[type] = set()
    for _ in range(5000):
        text = _junk(rng)
        now = rng.choice(nows)
        try:
            parsed = parse(text, now)
        except WhenError as error:
            outcomes.add(type(error))
            assert error.text == text
            assert error.reading is None or error.reading.tzinfo is not None
            continue
        outcomes.add(ParsedWhen)
        assert parsed.starts_at.utcoffset() == dt.timedelta(0)
        assert parsed.starts_at >= now
        assert parsed.rest == parsed.rest.strip()
    # The junk reached every outcome, so it did exercise the parser.
    assert outcomes == {ParsedWhen, UnreadableWhen, AmbiguousWhen, PastWhen}
