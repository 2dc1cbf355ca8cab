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
