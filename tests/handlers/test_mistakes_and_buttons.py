"""Typos, unknown words and missing names get a hint of what to type; the join button joins."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from tests.factories import add_community, load_shipped_catalog
from tests.handlers.support import CheckedSlack, dms_to, texts


def test_a_typo_in_the_name_suggests_the_community_meant(
    slack: CheckedSlack, services: Services
) -> None:
    load_shipped_catalog(services.db)

    reply = slack.command("U1", "aanmelden etiek").json()

    assert reply["text"] == (
        "Ik ken geen community \u201cetiek\u201d. Bedoel je: `ethiek`?\n"
        "Typ `/cop lijst` voor alle communities."
    )
    assert "nog geen lid" in texts(slack.command("U1", "mijn").json())


def test_a_prefix_shared_by_several_communities_asks_which_one(
    slack: CheckedSlack, services: Services
) -> None:
    load_shipped_catalog(services.db)

    reply = slack.command("U1", "info groene").json()

    assert "Bedoel je: `groene-stad-groot` of `groene-stad-klein`?" in reply["text"]


def test_a_name_like_nothing_at_all_points_to_the_list(
    slack: CheckedSlack, services: Services
) -> None:
    load_shipped_catalog(services.db)

    reply = slack.command("U1", "info xyzzy").json()

    assert reply["text"] == (
        "Ik ken geen community \u201cxyzzy\u201d.\nTyp `/cop lijst` voor alle communities."
    )


@pytest.mark.parametrize("word", ["aanmeldn", "foo", "lid"])
def test_an_unknown_subcommand_says_what_to_type(slack: CheckedSlack, word: str) -> None:
    reply = slack.command("U1", f"{word} ethiek").json()

    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == (
        f"Dat commando ken ik niet: `{word}`. Typ `/cop hulp` voor alle commando's."
    )


@pytest.mark.parametrize("word", ["aanmelden", "afmelden", "info", "leden", "join"])
def test_a_missing_community_name_says_what_to_type(slack: CheckedSlack, word: str) -> None:
    reply = slack.command("U1", f"{word}   ").json()

    assert reply["text"] == (
        f"Welke community bedoel je? Bijvoorbeeld: `/cop {word} ethiek`. "
        "Typ `/cop lijst` voor alle communities."
    )


def test_the_join_button_joins_and_answers_through_the_response_url(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    load_shipped_catalog(services.db)

    response = slack.click("U1", "join_community", "ethiek")

    # The click is acknowledged at once with an empty body; the answer follows.
    assert response.status == 200
    assert response.body == ""
    [answer] = standin.wait_for("response_url", 1)
    assert answer.args["text"].startswith(":tada: Je bent lid van *Ethiek*.")
    assert answer.args["replace_original"] is False
    [welcome] = standin.wait_for("chat.postMessage", 1)
    assert welcome.args["channel"] == "U1"
    assert "Welkom bij *Ethiek*" in texts(welcome.args)
    assert "*Ethiek*: lid" in texts(slack.command("U1", "mijn").json())


def test_the_join_button_of_an_old_list_after_the_deadline_refuses_politely(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", deadline=dt.date(2026, 11, 1))

    slack.click("U1", "join_community", "ethiek")

    [answer] = standin.wait_for("response_url", 1)
    assert answer.args["text"].startswith(
        "Aanmelden voor *Ethiek* kon tot en met zondag 1 november 2026."
    )
    assert services.wait_idle(5)
    assert dms_to(standin, "U1") == []


def test_pressing_join_twice_says_you_are_already_a_member(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek")

    slack.click("U1", "join_community", "ethiek")
    standin.wait_for("response_url", 1)
    slack.click("U1", "join_community", "ethiek")

    _, second = standin.wait_for("response_url", 2)
    assert second.args["text"] == "Je bent al lid van *Ethiek*."
    assert services.wait_idle(5)
    assert len(dms_to(standin, "U1")) == 1
