"""The message catalogue: every text exists in Dutch and English with the same fields."""

from __future__ import annotations

import string

from bot.i18n import MESSAGES


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_dutch_and_english_have_the_same_keys() -> None:
    assert MESSAGES["nl"].keys() == MESSAGES["en"].keys()


def test_each_text_uses_the_same_fields_in_both_languages() -> None:
    different = {
        key: (_fields(MESSAGES["nl"][key]), _fields(MESSAGES["en"][key]))
        for key in MESSAGES["nl"]
        if _fields(MESSAGES["nl"][key]) != _fields(MESSAGES["en"][key])
    }
    assert different == {}
