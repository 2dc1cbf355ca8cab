"""The `/cop` command registry: one table of words, handlers, help lines, read or write."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.app import COMMAND_REGISTRY
from bot.i18n import MESSAGES, Translator
from handlers.registry import Command, HelpLine, Registry
from handlers.reply import Reply


def _nothing(*args: object) -> Reply:
    raise AssertionError("not called")


def test_a_word_two_commands_claim_is_refused_when_the_registry_is_built() -> None:
    with pytest.raises(ValueError, match="'join'"):
        Registry([Command("join", ("join",), _nothing)], [Command("enter", ("join",), _nothing)])


def test_a_command_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="'list'"):
        Registry([Command("list", ("lijst",), _nothing), Command("list", ("list",), _nothing)])


def test_words_are_matched_without_regard_to_case_and_an_empty_text_asks_for_help() -> None:
    assert COMMAND_REGISTRY.name_of("AANMELDEN ethiek") == "join"
    assert COMMAND_REGISTRY.name_of("   ") == "help"
    assert COMMAND_REGISTRY.name_of("zzz ethiek") == "unknown"
    assert not COMMAND_REGISTRY.writes("unknown")


def test_every_help_line_the_registry_names_is_in_both_catalogues() -> None:
    keys = [
        key
        for entry in COMMAND_REGISTRY.entries
        for key in (
            (entry.key,)
            if isinstance(entry, HelpLine)
            else (entry.help, entry.help_facilitator, entry.help_admin)
        )
        if key is not None
    ]
    assert keys
    for language in ("nl", "en"):
        assert [key for key in keys if key not in MESSAGES[language]] == []


def test_help_shows_the_lines_in_the_order_of_the_table() -> None:
    registry = Registry(
        [Command("b", ("b",), _nothing, help="help_join"), HelpLine("help_leave")],
        [Command("a", ("a",), _nothing, help="help_list", help_facilitator="help_facilitator")],
    )
    t = Translator("nl", ZoneInfo("Europe/Amsterdam"))

    message = registry.help_message(t, is_admin=False)

    lines = message.blocks[2]["text"]["text"].split("\n")
    assert lines == [t("help_join"), t("help_leave"), t("help_list")]
    assert message.blocks[3]["text"]["text"] == t("help_facilitator")
    assert t("help_admin") not in str(message.blocks)
