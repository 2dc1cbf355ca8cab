"""`/cop afmelden`, `/cop leden`, `/cop mijn`: leaving, the waitlist moving up, who is where."""

from __future__ import annotations

import pytest

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, dms_to, texts


def _join_all(slack: CheckedSlack, services: Services, *users: str) -> None:
    for user in users:
        slack.command(user, "aanmelden ethiek")
    assert services.wait_idle(5)


@pytest.mark.parametrize("word", ["afmelden", "leave"])
def test_when_a_member_leaves_the_first_on_the_waitlist_moves_up_and_hears_it(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, word: str
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", capacity=2, channel="C0ETHIEK")
    _join_all(slack, services, "U1", "U2", "U3", "U4")
    standin.clear()

    reply = slack.command("U1", f"{word} ethiek").json()

    assert reply["text"] == "Je bent afgemeld bij *Ethiek*."
    [promotion] = standin.wait_for("chat.postMessage", 1)
    assert promotion.args["channel"] == "U3"
    assert promotion.args["text"] == (
        ":tada: Er is een plek vrijgekomen in *Ethiek*: je bent nu lid!"
    )
    assert "Afmelden kan altijd met `/cop afmelden ethiek`" in texts(promotion.args)
    [invite] = standin.wait_for("conversations.invite", 1)
    assert invite.args == {"channel": "C0ETHIEK", "users": "U3"}
    assert services.wait_idle(5)
    assert dms_to(standin, "U4") == []
    assert "*Ethiek*: lid" in texts(slack.command("U3", "mijn").json())
    assert "*Ethiek*: wachtlijst, plek 1" in texts(slack.command("U4", "mijn").json())
    assert "nog geen lid" in texts(slack.command("U1", "mijn").json())


def test_leaving_the_waitlist_promotes_nobody(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", capacity=1)
    _join_all(slack, services, "U1", "U2", "U3")
    standin.clear()

    reply = slack.command("U2", "afmelden ethiek").json()

    assert reply["text"] == "Je staat niet meer op de wachtlijst van *Ethiek*."
    assert services.wait_idle(5)
    assert standin.calls("chat.postMessage") == []
    assert "*Ethiek*: wachtlijst, plek 1" in texts(slack.command("U3", "mijn").json())


def test_leaving_a_community_you_are_not_in_says_so(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek", name="Ethiek")

    reply = slack.command("U1", "afmelden ethiek").json()

    assert reply["text"] == "Je bent geen lid van *Ethiek* en staat er ook niet op de wachtlijst."


def test_withdrawing_a_pending_request_says_it_was_withdrawn(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", approval=True, facilitators=("UFAC1",))
    _join_all(slack, services, "U1")

    reply = slack.command("U1", "afmelden ethiek").json()

    assert reply["text"] == "Je aanmelding voor *Ethiek* is ingetrokken."
    assert "nog geen lid" in texts(slack.command("U1", "mijn").json())


def test_members_lists_mentions_then_the_waitlist_in_order(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", capacity=3)
    _join_all(slack, services, "U0ANNA", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN")

    reply = slack.command("U0ANNA", "leden ethiek").json()

    assert reply["text"] == "Leden van Ethiek (3)"
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
    assert sections == [
        "<@U0ANNA>, <@U0BOB>, <@U0CAROL>",
        "*Wachtlijst (2)*",
        "1. <@U0DAVE>\n2. <@U0ERIN>",
    ]
    assert reply["blocks"][1]["elements"][0]["text"] == "3/3 leden, vol (2 op de wachtlijst)"


def test_members_also_lists_requests_waiting_for_approval(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", approval=True, facilitators=("UFAC1",))
    _join_all(slack, services, "U0ANNA", "U0BOB")

    shown = texts(slack.command("UFAC1", "members ethiek").json())

    assert "Nog geen leden." in shown
    assert "*Wachten op goedkeuring (2)*\n<@U0ANNA>, <@U0BOB>" in shown


def test_mine_shows_communities_waitlist_positions_and_pending_requests(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", programme="A")
    add_community(services.db, "meten", name="Lokaal meten", programme="B", capacity=1)
    add_community(
        services.db, "groen", name="Groene stad", programme="C", approval=True,
        facilitators=("UFAC1",),
    )  # fmt: skip
    slack.command("U0OTHER", "aanmelden meten")
    slack.command("U0ZED", "aanmelden meten")
    for slug in ("ethiek", "meten", "groen"):
        slack.command("U1", f"aanmelden {slug}")

    reply = slack.command("U1", "mijn").json()

    assert reply["blocks"][0]["text"]["text"] == "Jouw communities"
    lines = texts(reply).split("\n")
    assert "• *Ethiek*: lid · nog geen bijeenkomsten gepland" in lines
    assert "• *Lokaal meten*: wachtlijst, plek 2" in lines
    assert "• *Groene stad*: aanmelding wacht op goedkeuring" in lines


def test_mine_without_communities_points_to_the_list(slack: CheckedSlack) -> None:
    reply = slack.command("U1", "mine").json()

    assert reply["text"] == (
        "Je bent nog geen lid van een community. Typ `/cop lijst` om er een te kiezen."
    )
