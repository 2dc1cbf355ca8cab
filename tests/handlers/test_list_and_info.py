"""`/cop lijst` and `/cop info`: what a community offers, grouped, counted and dated in Dutch."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clock import FrozenClock
from bot.runtime import Services
from tests.conftest import AMS
from tests.factories import add_community, load_shipped_catalog, meeting
from tests.handlers.support import CheckedSlack, buttons, texts


def _sections_by_slug(reply: dict) -> dict[str, dict]:
    out = {}
    for block in reply["blocks"]:
        if block["type"] == "section" and "(`" in block["text"]["text"]:
            slug = block["text"]["text"].split("(`", 1)[1].split("`)", 1)[0]
            out[slug] = block
    return out


def test_list_groups_communities_under_their_programme(
    slack: CheckedSlack, services: Services
) -> None:
    load_shipped_catalog(services.db)

    reply = slack.command("U1", "lijst").json()

    order: list[str] = []
    for block in reply["blocks"]:
        if block["type"] == "context":
            order.append("programme:" + block["elements"][0]["text"])
        elif block["type"] == "section":
            order.append(block["text"]["text"].split("(`", 1)[1].split("`)", 1)[0])
    smart_city = "programme:*City Deal Een slimme stad, zo doe je dat*"
    green = "programme:*Groene Stad Challenge (Stadswerk en Steenbreek)*"
    assert order == [
        smart_city, "ethiek", "gebiedsontwikkeling", "lokaal-meten", "voorspellen",
        green, "groene-stad-groot", "groene-stad-klein",
    ]  # fmt: skip
    assert reply["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Communities of Practice", "emoji": True},
    }


def test_english_list_is_the_same_list_spelled_in_english(
    slack: CheckedSlack, services: Services
) -> None:
    load_shipped_catalog(services.db)
    slack.command("U1", "taal en")

    shown = texts(slack.command("U1", "list").json())

    assert "0/25 members, 25 free · join until Sunday 21 February 2027" in shown
    assert "next meeting: Tue 30 Mar 2027 14:00" in shown


def test_list_shows_members_capacity_free_seats_deadline_and_next_meeting(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", capacity=3, deadline=dt.date(2027, 1, 15),
        meetings=(
            meeting(dt.datetime(2027, 2, 2, 14, 0, tzinfo=AMS)),
            meeting(dt.datetime(2027, 1, 10, 14, 0, tzinfo=AMS)),
        ),
    )  # fmt: skip
    slack.command("U1", "aanmelden ethiek")

    reply = slack.command("U2", "lijst").json()

    text = _sections_by_slug(reply)["ethiek"]["text"]["text"]
    assert text == (
        "*Ethiek* (`ethiek`)\n"
        "1/3 leden, 2 vrij · aanmelden t/m vrijdag 15 januari 2027\n"
        "volgende bijeenkomst: zo 10 jan 2027 14:00"
    )


def test_list_says_when_a_community_is_full_and_how_long_its_waitlist_is(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek", capacity=1)
    for user in ("U1", "U2", "U3"):
        slack.command(user, "aanmelden ethiek")

    section = _sections_by_slug(slack.command("U4", "lijst").json())["ethiek"]

    assert "1/1 leden, vol (2 op de wachtlijst)" in section["text"]["text"]
    # A full community still takes names for its waitlist.
    assert section["accessory"]["action_id"] == "join_community"


def test_list_offers_a_join_button_only_while_registration_is_open(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    add_community(services.db, "open", deadline=dt.date(2026, 11, 30))
    add_community(services.db, "gesloten", deadline=dt.date(2026, 11, 22))
    add_community(services.db, "altijd")

    reply = slack.command("U1", "lijst").json()

    sections = _sections_by_slug(reply)
    assert sections["open"]["accessory"] == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Aanmelden", "emoji": True},
        "action_id": "join_community",
        "value": "open",
        "style": "primary",
    }
    assert sections["altijd"]["accessory"]["value"] == "altijd"
    assert "accessory" not in sections["gesloten"]
    closed = sections["gesloten"]["text"]["text"]
    assert "aanmelding gesloten: de laatste dag was zondag 22 november 2026" in closed
    assert [b["value"] for b in buttons(reply)] == ["altijd", "open"]

    # The deadline day itself still counts (Amsterdam time); the day after it does not.
    clock.advance(dt.timedelta(days=7, hours=12))  # 30 Nov 22:00 UTC = 23:00 in Amsterdam
    assert "accessory" in _sections_by_slug(slack.command("U1", "lijst").json())["open"]
    clock.advance(dt.timedelta(hours=1))  # 1 December in Amsterdam
    later = slack.command("U1", "lijst").json()
    assert [b["value"] for b in buttons(later)] == ["altijd"]


def test_list_without_communities_says_how_an_admin_loads_them(slack: CheckedSlack) -> None:
    reply = slack.command("U1", "lijst").json()

    assert "Er zijn nog geen communities" in reply["text"]
    assert "`cop-bot catalog load`" in reply["text"]


def test_info_shows_start_text_facilitators_counts_deadline_and_meetings_in_dutch(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", programme="City Deal",
        description="Samen nadenken over *publieke waarden*.\n\nTweede alinea.",
        capacity=20, deadline=dt.date(2027, 2, 21), facilitators=("UFAC1", "UFAC2"),
        channel="C0ETHIEK",
        meetings=(
            meeting(dt.datetime(2027, 3, 30, 14, 0, tzinfo=AMS), kind="online",
                    location="Teams", title="Startbijeenkomst"),
            meeting(dt.datetime(2027, 6, 1, 10, 30, tzinfo=AMS), kind="werkbezoek",
                    location="Utrecht", hours=3),
        ),
    )  # fmt: skip
    slack.command("U1", "aanmelden ethiek")

    reply = slack.command("U2", "info ethiek").json()

    blocks = reply["blocks"]
    assert blocks[0]["text"]["text"] == "Ethiek"
    shown = texts(reply)
    assert "Samen nadenken over *publieke waarden*.\n\nTweede alinea." in shown
    assert "*Kartrekkers:* <@UFAC1> en <@UFAC2>" in shown
    assert "1/20 leden, 19 vrij · aanmelden t/m zondag 21 februari 2027" in shown
    assert "*Kanaal:* <#C0ETHIEK>" in shown
    start = "• *Startbijeenkomst*: dinsdag 30 maart 2027 van 14:00 tot 16:00 · online · Teams"
    assert start in shown
    assert "• dinsdag 1 juni 2027 van 10:30 tot 13:30 · werkbezoek · Utrecht" in shown
    assert [b["value"] for b in buttons(reply)] == ["ethiek"]
    assert reply["text"] == "Ethiek: 1/20 leden, 19 vrij · aanmelden t/m zondag 21 februari 2027"


@pytest.mark.parametrize("query", ["Lokaal-Meten", "lokaal meten", "LOKAAL_METEN", "lokaal"])
def test_info_finds_a_community_by_a_loosely_typed_name(
    slack: CheckedSlack, services: Services, query: str
) -> None:
    load_shipped_catalog(services.db)

    reply = slack.command("U1", f"info {query}").json()

    assert reply["blocks"][0]["text"]["text"] == "Lokaal meten"
    assert "dinsdag 30 maart 2027 van 14:00 tot 16:00" in texts(reply)


def test_info_shows_only_meetings_still_to_come(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    add_community(
        services.db, "ethiek",
        meetings=(
            meeting(dt.datetime(2026, 12, 1, 14, 0, tzinfo=AMS), title="Eerste"),
            meeting(dt.datetime(2027, 1, 12, 14, 0, tzinfo=AMS), title="Tweede"),
        ),
    )  # fmt: skip
    clock.advance(dt.timedelta(days=10))

    shown = texts(slack.command("U1", "info ethiek").json())

    assert "Eerste" not in shown
    assert "*Tweede*: dinsdag 12 januari 2027 van 14:00 tot 16:00" in shown


def test_info_after_the_deadline_says_registration_closed_and_offers_no_button(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek", deadline=dt.date(2026, 11, 1))

    reply = slack.command("U1", "info ethiek").json()

    assert "aanmelding gesloten: de laatste dag was zondag 1 november 2026" in texts(reply)
    assert "nog geen bijeenkomsten gepland" in texts(reply)
    assert buttons(reply) == []
