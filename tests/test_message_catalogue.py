"""The message catalogue: every text exists in Dutch and English with the same fields."""

from __future__ import annotations

import string
import zoneinfo

import pytest
from babel.core import Locale

from bot.i18n import MESSAGES, Translator
from bot.texts import Entry

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def _forms(entry: Entry) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry.values())


def _fields(entry: Entry) -> set[str]:
    return {
        name
        for template in _forms(entry)
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }


def test_dutch_and_english_have_the_same_keys() -> None:
    assert MESSAGES["nl"].keys() == MESSAGES["en"].keys()


def test_each_text_uses_the_same_fields_in_both_languages() -> None:
    different = {
        key: (_fields(MESSAGES["nl"][key]), _fields(MESSAGES["en"][key]))
        for key in MESSAGES["nl"]
        if _fields(MESSAGES["nl"][key]) != _fields(MESSAGES["en"][key])
    }
    assert different == {}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_plural_entries_have_exactly_the_languages_plural_forms_and_show_the_count(
    language: str,
) -> None:
    tags = Locale(language).plural_form.tags | {"other"}
    wrong = {
        key: sorted(entry)
        for key, entry in MESSAGES[language].items()
        if isinstance(entry, dict)
        and (set(entry) != tags or any("{count}" not in form for form in entry.values()))
    }
    assert wrong == {}


@pytest.mark.parametrize(
    ("language", "expected"),
    [("nl", ["0 leden", "1 lid", "2 leden"]), ("en", ["0 members", "1 member", "2 members"])],
)
def test_a_plural_entry_takes_the_form_for_its_count(language: str, expected: list[str]) -> None:
    t = Translator(language, AMS)
    assert [t("seats_unlimited", count=n) for n in (0, 1, 2)] == expected


def test_a_plural_entry_without_a_count_is_a_bug_not_a_guess() -> None:
    with pytest.raises(KeyError):
        Translator("nl", AMS)("seats_unlimited")


@pytest.mark.parametrize(
    ("language", "one", "two", "three"),
    [
        ("nl", "a", "a en b", "a, b en c"),
        ("en", "a", "a and b", "a, b and c"),
    ],
)
def test_and_list_names_all(language: str, one: str, two: str, three: str) -> None:
    t = Translator(language, AMS)
    assert [t.and_list(["a"]), t.and_list(["a", "b"]), t.and_list(["a", "b", "c"])] == [
        one,
        two,
        three,
    ]
    assert t.and_list([]) == ""


@pytest.mark.parametrize(
    ("language", "two", "three"),
    [("nl", "a of b", "a, b of c"), ("en", "a or b", "a, b or c")],
)
def test_or_list_names_alternatives(language: str, two: str, three: str) -> None:
    t = Translator(language, AMS)
    assert [t.or_list(["a", "b"]), t.or_list(iter(["a", "b", "c"]))] == [two, three]


# Every entry with plural forms, with what 1 and what 0 or 2 read like ({n} is the count).
PLURALS: dict[str, dict[str, tuple[str, str]]] = {
    "list_more": {
        "nl": ("En nog {n} community.", "En nog {n} communities."),
        "en": ("And {n} more community.", "And {n} more communities."),
    },
    "seats_unlimited": {"nl": ("{n} lid", "{n} leden"), "en": ("{n} member", "{n} members")},
    "joined_waitlist": {
        "nl": ("is vol ({n} lid).", "is vol ({n} leden)."),
        "en": ("is full ({n} member).", "is full ({n} members)."),
    },
    "reminder_in_days": {
        "nl": ("over {n} dag", "over {n} dagen"),
        "en": ("in {n} day", "in {n} days"),
    },
    "reminder_in_hours": {
        "nl": ("over {n} uur", "over {n} uur"),
        "en": ("in {n} hour", "in {n} hours"),
    },
    "reminder_in_minutes": {
        "nl": ("over {n} minuut", "over {n} minuten"),
        "en": ("in {n} minute", "in {n} minutes"),
    },
    "meetings_counts": {
        "nl": ("{n} komt, X niet", "{n} komen, X niet"),
        "en": ("{n} coming, X not", "{n} coming, X not"),
    },
    "agenda_topics_footer": {
        "nl": ("· {n} open onderwerp ·", "· {n} open onderwerpen ·"),
        "en": ("· {n} open topic ·", "· {n} open topics ·"),
    },
    "agenda_vote_cast": {
        "nl": ("heeft nu {n} stem.", "heeft nu {n} stemmen."),
        "en": ("now has {n} vote.", "now has {n} votes."),
    },
    "agenda_vote_taken_back": {
        "nl": ("heeft nu {n} stem.", "heeft nu {n} stemmen."),
        "en": ("now has {n} vote.", "now has {n} votes."),
    },
    "questions_page": {
        "nl": ("· {n} vraag", "· {n} vragen"),
        "en": ("· {n} question", "· {n} questions"),
    },
    "questions_voted": {
        "nl": ("heeft nu {n} stem.", "heeft nu {n} stemmen."),
        "en": ("now has {n} vote.", "now has {n} votes."),
    },
    "questions_unvoted": {
        "nl": ("heeft nu {n} stem.", "heeft nu {n} stemmen."),
        "en": ("now has {n} vote.", "now has {n} votes."),
    },
    "questions_answered_confirm": {
        "nl": ("naar {n} lid dat de vraag stelde", "naar {n} leden die de vraag stelden"),
        "en": ("to {n} member who asked", "to {n} members who asked"),
    },
    "lessons_page": {
        "nl": ("({n} les)", "({n} lessen)"),
        "en": ("({n} lesson)", "({n} lessons)"),
    },
    "meeting_form_end_hint": {
        "nl": ("duurt {n} uur.", "duurt {n} uur."),
        "en": ("lasts {n} hour.", "lasts {n} hours."),
    },
    "privacy_count_rsvps": {
        "nl": ("{n} aanmelding voor een bijeenkomst", "{n} aanmeldingen voor bijeenkomsten"),
        "en": ("{n} meeting answer", "{n} meeting answers"),
    },
    "privacy_count_votes": {"nl": ("{n} stem", "{n} stemmen"), "en": ("{n} vote", "{n} votes")},
    "privacy_count_questions": {
        "nl": ("{n} vraag", "{n} vragen"),
        "en": ("{n} question", "{n} questions"),
    },
    "privacy_count_topics": {
        "nl": ("{n} onderwerp", "{n} onderwerpen"),
        "en": ("{n} topic", "{n} topics"),
    },
    "privacy_count_lessons": {
        "nl": ("{n} les", "{n} lessen"),
        "en": ("{n} lesson", "{n} lessons"),
    },
    "privacy_count_deliveries": {
        "nl": ("{n} herinnering", "{n} herinneringen"),
        "en": ("{n} reminder", "{n} reminders"),
    },
    "privacy_count_outbox": {
        "nl": ("{n} welkomstbericht", "{n} welkomstberichten"),
        "en": ("{n} welcome message", "{n} welcome messages"),
    },
    "privacy_export_left": {
        "nl": ("wordt {n} dag daarna gewist", "wordt {n} dagen daarna gewist"),
        "en": ("removed {n} day later", "removed {n} days later"),
    },
    "privacy_forgotten": {
        "nl": ("({n} community verlaten)", "({n} communities verlaten)"),
        "en": ("({n} community left)", "({n} communities left)"),
    },
    "audit_page": {
        "nl": ("({n} regel)", "({n} regels)"),
        "en": ("({n} entry)", "({n} entries)"),
    },
    "home_open_questions": {
        "nl": ("{n} open vraag", "{n} open vragen"),
        "en": ("{n} open question", "{n} open questions"),
    },
}


def test_every_entry_with_plural_forms_is_in_the_table_below() -> None:
    plural = {k for lang in ("nl", "en") for k, e in MESSAGES[lang].items() if isinstance(e, dict)}
    assert plural == PLURALS.keys()


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("key", sorted(PLURALS))
@pytest.mark.parametrize("n", [0, 1, 2])
def test_each_plural_entry_reads_right_for_0_1_and_2(key: str, language: str, n: int) -> None:
    t = Translator(language, AMS)
    fields = {name: "X" for name in _fields(MESSAGES[language][key]) if name != "count"}
    text = t(key, count=n, **fields)
    one, other = PLURALS[key][language]
    assert (one if n == 1 else other).format(n=n) in text
    if n == 1 and one != other:
        assert other.format(n=n) not in text
