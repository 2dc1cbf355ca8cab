"""`/cop aanmelden`: confirmation, welcome DM, channel invite, waitlist and refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clock import FrozenClock
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from tests.conftest import AMS
from tests.factories import add_community, load_shipped_catalog, meeting
from tests.handlers.support import CheckedSlack, dms_to, texts


@pytest.mark.parametrize("word", ["aanmelden", "join", "meedoen"])
def test_joining_confirms_privately_and_sends_a_welcome_dm_with_start_text_and_meetings(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, word: str
) -> None:
    load_shipped_catalog(services.db)

    reply = slack.command("U1", f"{word} ethiek").json()

    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(":tada: Je bent lid van *Ethiek*.")
    [welcome] = standin.wait_for("chat.postMessage", 1)
    assert welcome.args["channel"] == "U1"
    assert welcome.response["ok"] is True
    shown = texts(welcome.args)
    assert ":wave: Welkom bij *Ethiek*!" in shown
    assert "Slimme technologie kan de stad beter maken" in shown
    assert "*Startbijeenkomst*: dinsdag 30 maart 2027 van 14:00 tot 16:00" in shown
    assert "*Slotbijeenkomst*: dinsdag 7 december 2027 van 14:00 tot 16:00" in shown
    assert "`/cop afmelden ethiek`" in shown
    assert services.wait_idle(5)
    # Without a channel there is nobody to invite.
    assert standin.calls("conversations.invite") == []
    assert len(standin.calls("chat.postMessage")) == 1


def test_joining_a_community_with_a_channel_invites_the_new_member(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", channel="C0ETHIEK")

    slack.command("U1", "aanmelden ethiek")

    [invite] = standin.wait_for("conversations.invite", 1)
    assert invite.args["channel"] == "C0ETHIEK"
    assert invite.args["users"] == "U1"
    assert standin.channel_members("C0ETHIEK") == {"U1"}
    [welcome] = standin.wait_for("chat.postMessage", 1)
    assert "Je bent toegevoegd aan <#C0ETHIEK>" in texts(welcome.args)


def test_someone_already_in_the_channel_is_welcomed_without_any_warning(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", channel="C0ETHIEK")
    standin.fail("conversations.invite", error="already_in_channel")

    slack.command("U1", "aanmelden ethiek")

    standin.wait_for("chat.postMessage", 1)
    assert services.wait_idle(5)
    [invite] = standin.calls("conversations.invite")
    assert invite.response == {"ok": False, "error": "already_in_channel"}
    [welcome] = dms_to(standin, "U1")
    assert "Welkom bij *Ethiek*" in texts(welcome.args)
    assert ":warning:" not in texts(welcome.args)


def test_a_failed_channel_invite_is_told_in_a_dm_and_the_membership_stands(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", channel="C0ETHIEK")
    standin.fail("conversations.invite", error="channel_not_found")

    reply = slack.command("U1", "aanmelden ethiek").json()

    assert "Je bent lid van *Ethiek*" in reply["text"]
    welcome, warning = standin.wait_for("chat.postMessage", 2)
    assert welcome.args["channel"] == warning.args["channel"] == "U1"
    assert "Welkom bij *Ethiek*" in texts(welcome.args)
    assert "toegevoegd aan" not in texts(welcome.args)
    assert warning.args["text"] == (
        ":warning: Je bent lid van *Ethiek*, maar ik kon je niet aan het kanaal toevoegen "
        "(channel_not_found). Vraag de kartrekker om je uit te nodigen."
    )
    assert standin.channel_members("C0ETHIEK") == set()
    mine = texts(slack.command("U1", "mijn").json())
    assert "*Ethiek*: lid" in mine


def test_joining_a_full_community_puts_people_on_the_waitlist_with_their_position(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", capacity=1)

    first = slack.command("U1", "aanmelden ethiek").json()
    second = slack.command("U2", "aanmelden ethiek").json()
    third = slack.command("U3", "aanmelden ethiek").json()

    assert "Je bent lid van *Ethiek*" in first["text"]
    assert second["text"] == (
        ":hourglass: *Ethiek* is vol (1 lid). Je staat op de wachtlijst op plek 1. "
        "Komt er een plek vrij, dan hoor je het van mij."
    )
    assert "op de wachtlijst op plek 2" in third["text"]
    assert services.wait_idle(5)
    # Only the member is welcomed; the waitlist hears when a seat opens.
    assert [c.args["channel"] for c in standin.calls("chat.postMessage")] == ["U1"]


def test_joining_after_the_deadline_is_refused_naming_the_deadline_in_dutch(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", deadline=dt.date(2026, 11, 22),
                  facilitators=("UFAC",))  # fmt: skip

    reply = slack.command("U1", "aanmelden ethiek").json()

    assert reply["text"] == (
        "Aanmelden voor *Ethiek* kon tot en met zondag 22 november 2026. Wil je toch "
        "meedoen? Neem contact op met de kartrekker."
    )
    assert "nog geen lid" in texts(slack.command("U1", "mijn").json())
    assert services.wait_idle(5)
    assert standin.calls("chat.postMessage") == []


def test_joining_on_the_deadline_day_itself_still_works(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", deadline=dt.date(2026, 11, 23))

    assert "Je bent lid van *Ethiek*" in slack.command("U1", "aanmelden ethiek").json()["text"]


def test_joining_at_half_past_midnight_in_amsterdam_after_the_deadline_is_refused(
    slack: CheckedSlack, services: Services, clock: FrozenClock, standin: SlackStandIn
) -> None:
    # The last day is 22 November in Amsterdam. At 00:30 on the 23rd there (23:30 UTC on
    # the 22nd) the deadline has passed, though in UTC it is still the 22nd.
    add_community(services.db, "ethiek", name="Ethiek", deadline=dt.date(2026, 11, 22))
    clock.now = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC)

    reply = slack.command("U1", "aanmelden ethiek").json()

    assert reply["text"].startswith("Aanmelden voor *Ethiek* kon tot en met zondag 22 november")
    clock.now = dt.datetime(2026, 11, 22, 22, 59, tzinfo=dt.UTC)  # 23:59 in Amsterdam
    assert "Je bent lid van *Ethiek*" in slack.command("U2", "aanmelden ethiek").json()["text"]
    assert services.wait_idle(5)
    assert [c.args["channel"] for c in standin.calls("chat.postMessage")] == ["U2"]


def test_joining_twice_says_you_are_already_a_member_and_sends_nothing_new(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek")
    slack.command("U1", "aanmelden ethiek")
    standin.wait_for("chat.postMessage", 1)

    again = slack.command("U1", "join ethiek").json()

    assert again["text"] == "Je bent al lid van *Ethiek*."
    assert services.wait_idle(5)
    assert len(standin.calls("chat.postMessage")) == 1


def test_joining_again_from_the_waitlist_repeats_the_position(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", capacity=1)
    slack.command("U1", "aanmelden ethiek")
    slack.command("U2", "aanmelden ethiek")

    again = slack.command("U2", "aanmelden ethiek").json()

    assert again["text"] == "Je staat al op de wachtlijst van *Ethiek*, op plek 1."


def test_an_english_speaker_is_answered_and_welcomed_in_english(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek",
        meetings=(meeting(dt.datetime(2027, 3, 30, 14, 0, tzinfo=AMS)),),
    )  # fmt: skip
    slack.command("U1", "language en")

    reply = slack.command("U1", "join ethiek").json()

    assert reply["text"].startswith(":tada: You are a member of *Ethiek*.")
    [welcome] = standin.wait_for("chat.postMessage", 1)
    shown = texts(welcome.args)
    assert ":wave: Welcome to *Ethiek*!" in shown
    assert "Tuesday 30 March 2027 from 14:00 to 16:00" in shown
    assert "`/cop leave ethiek`" in shown
