"""`/cop`, `/cop hulp`, `/cop help`: help in Dutch by default, or in the user's own language."""

from __future__ import annotations

import pytest

from bot.i18n import MESSAGES
from tests.handlers.support import CheckedSlack, texts

DUTCH_EXAMPLES = (
    "`/cop lijst`",
    "`/cop info ethiek`",
    "`/cop aanmelden ethiek`",
    "`/cop afmelden ethiek`",
    "`/cop leden ethiek`",
    "`/cop mijn`",
    "`/cop taal en`",
)
ENGLISH_EXAMPLES = (
    "`/cop list`",
    "`/cop info ethiek`",
    "`/cop join ethiek`",
    "`/cop leave ethiek`",
    "`/cop members ethiek`",
    "`/cop mine`",
    "`/cop language nl`",
)


@pytest.mark.parametrize("text", ["", "hulp", "help", "HULP", "?"])
def test_help_lists_every_subcommand_with_an_example_in_dutch(
    slack: CheckedSlack, text: str
) -> None:
    response = slack.command("U1", text)

    assert response.status == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    shown = texts(reply)
    for example in DUTCH_EXAMPLES:
        assert example in shown
    assert "Ik help je mee te doen" in shown
    assert "I help you" not in shown


def test_help_for_an_admin_also_explains_appointing_a_facilitator(slack: CheckedSlack) -> None:
    as_admin = texts(slack.command("UADMIN", "hulp").json())
    as_member = texts(slack.command("U1", "hulp").json())

    assert "`/cop kartrekker ethiek @naam`" in as_admin
    assert "kartrekker ethiek" not in as_member


def test_choosing_english_makes_help_english_for_that_user_only(slack: CheckedSlack) -> None:
    switched = slack.command("U1", "taal en").json()
    assert switched["text"] == MESSAGES["en"]["language_set"]

    english = texts(slack.command("U1", "help").json())
    for example in ENGLISH_EXAMPLES:
        assert example in english
    assert "I help you take part" in english

    other_user = texts(slack.command("U2", "help").json())
    assert "Ik help je mee te doen" in other_user


def test_the_chosen_language_is_remembered_until_changed_back(slack: CheckedSlack) -> None:
    slack.command("U1", "language en")
    assert "I don't know the command" in texts(slack.command("U1", "blabla").json())

    back = slack.command("U1", "taal nl").json()
    assert MESSAGES["nl"]["language_set"] in texts(back)
    assert "Dat commando ken ik niet" in texts(slack.command("U1", "blabla").json())


def test_an_unknown_language_explains_the_choices_and_changes_nothing(
    slack: CheckedSlack,
) -> None:
    reply = texts(slack.command("U1", "taal fr").json())

    assert "`/cop taal nl`" in reply and "`/cop taal en`" in reply
    assert "Ik help je" in texts(slack.command("U1", "hulp").json())
