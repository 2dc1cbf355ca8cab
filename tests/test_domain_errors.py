"""Errors once: every domain error lives in bot/services/errors.py and has a message, in
Dutch and in English, in every context it can be told in (handlers/errors.py)."""

from __future__ import annotations

import datetime as dt
import inspect
import typing
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import bot.app  # noqa: F401  (imports every service and handler: all errors are defined)
from bot.i18n import MESSAGES, Translator
from bot.services import errors
from bot.services.errors import (
    AgendaInvalid,
    AlreadyMember,
    CommunityNotFound,
    DomainError,
    NotAllowed,
    QuestionNotFound,
)
from handlers.errors import CONTEXTS, Context, message_for

AMS = ZoneInfo("Europe/Amsterdam")
LANGUAGES = ("nl", "en")

# A sample value for each type an error's attribute has.
SAMPLES: dict[Any, Any] = {
    str: "ethiek",
    int: 7,
    bool: True,
    dt.date: dt.date(2027, 3, 30),
    dt.datetime: dt.datetime(2027, 3, 30, 14, 0, tzinfo=AMS),
    list[str]: ["ethiek", "lokaal meten"],
    dict[str, str]: {"name": "community_form_name_missing"},
}


def _all_subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    for sub in cls.__subclasses__():
        found.extend([sub, *_all_subclasses(sub)])
    return found


DOMAIN_ERRORS = sorted(set(_all_subclasses(DomainError)), key=lambda cls: cls.__name__)


def _sample(annotation: Any) -> Any:
    if annotation in SAMPLES:
        return SAMPLES[annotation]
    options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if len(options) == 1 and options[0] in SAMPLES:  # X | None
        return SAMPLES[options[0]]
    raise AssertionError(f"no sample value for {annotation!r}: add one to SAMPLES")


def sample(cls: type[DomainError]) -> DomainError:
    """An instance with a sample value for each of its attributes."""
    if cls.__init__ is Exception.__init__:
        return cls()
    hints = typing.get_type_hints(cls.__init__)
    names = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    return cls(**{name: _sample(hints[name]) for name in names})


# Values that take another branch of a message than the sample does.
VARIANTS: list[DomainError] = [
    AlreadyMember("Ethiek", "waitlist", 3),
    AlreadyMember("Ethiek", "pending"),
    CommunityNotFound("ethik", []),
    NotAllowed("agenda"),
    NotAllowed("audit"),
    AgendaInvalid("text", "empty"),
    AgendaInvalid("speakers", "too_long", limit=500, length=600),
    errors.RegistrationClosed("Ethiek", dt.date(2027, 2, 21), False, ["UADMIN"]),
    errors.RegistrationClosed("Ethiek", dt.date(2027, 2, 21), False, []),
    errors.PastWhen("30 maart 14:00", dt.datetime(2027, 3, 30, 14, 0, tzinfo=AMS)),
    errors.AmbiguousWhen("30 maart", dt.datetime(2027, 3, 30, tzinfo=AMS), errors.NO_TIME),
]


class RecordingTranslator(Translator):
    """A real translator that remembers which keys it was asked for."""

    def __init__(self, language: str) -> None:
        super().__init__(language, AMS)
        self.keys: list[str] = []

    def __call__(self, key: str, **fields: Any) -> str:
        self.keys.append(key)
        return super().__call__(key, **fields)


def test_the_walk_finds_the_domain_errors() -> None:
    assert {QuestionNotFound, AgendaInvalid, errors.AmbiguousWhen} <= set(DOMAIN_ERRORS)
    assert len(DOMAIN_ERRORS) >= 25


@pytest.mark.parametrize("cls", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_is_defined_in_the_one_module(cls: type[DomainError]) -> None:
    assert cls.__module__ == errors.__name__
    assert getattr(errors, cls.__name__) is cls  # one class of each name


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda context: context or "general")
@pytest.mark.parametrize(
    "error",
    [sample(cls) for cls in DOMAIN_ERRORS] + VARIANTS,
    ids=lambda error: type(error).__name__,
)
def test_every_domain_error_has_a_message_in_both_languages(
    error: DomainError, context: Context
) -> None:
    texts = {}
    for language in LANGUAGES:
        t = RecordingTranslator(language)
        message = message_for(t, error, context, slug="ethiek", number="7")
        assert message.text.strip()
        assert message.blocks
        # Translator falls back to Dutch for a key English lacks: check the keys themselves.
        missing = [key for key in t.keys if key not in MESSAGES[language]]
        assert t.keys and missing == [], f"{language}: no text for {missing}"
        texts[language] = message.text
    assert texts["nl"] != texts["en"]


@pytest.mark.parametrize(
    ("error", "context", "key"),
    [
        (QuestionNotFound(12), "questions", "questions_not_found"),
        (QuestionNotFound(12), "lessons", "lesson_question_missing"),
        (errors.NotInCommunity("Ethiek", "ethiek"), "", "members_only"),
        (errors.NotInCommunity("Ethiek", "ethiek"), "agenda", "agenda_not_participant"),
        (errors.NotInCommunity("Ethiek", "ethiek"), "questions", "questions_not_in_community"),
        (errors.NotInCommunity("Ethiek", "ethiek"), "question_form", "questions_form_not_member"),
        (errors.MeetingNotFound("Ethiek", 7), "meetings", "meeting_not_found"),
        (errors.MeetingNotFound("Ethiek", 7), "minutes", "minutes_meeting_gone"),
        (errors.MeetingNotFound("Ethiek", 7), "agenda_form", "agenda_error_gone"),
        (errors.MeetingNotFound("Ethiek", 7), "meeting_form", "meeting_form_gone"),
        (errors.EmptyText(), "questions", "questions_empty"),
        (errors.EmptyText(), "question_form", "questions_answer_empty"),
    ],
)
def test_a_context_keeps_its_own_words_for_an_error(
    error: DomainError, context: Context, key: str
) -> None:
    t = RecordingTranslator("nl")
    message_for(t, error, context, slug="ethiek")
    assert t.keys[0] == key


def test_under_a_form_input_the_meeting_form_names_the_community_as_plain_text() -> None:
    t = Translator("nl", AMS)
    gone = errors.MeetingNotFound("R&D", 7)
    assert "R&D" in message_for(t, gone, "meeting_form", slug="r-d").text
    assert "R&amp;D" in message_for(t, gone, "meeting_form_open", slug="r-d").text
