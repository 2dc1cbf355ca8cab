"""Big communities still render within Slack's Block Kit limits, without breaking a mention."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import membership
from storage.models import Community, Membership
from tests.blockkit import assert_valid_message
from tests.conftest import AMS
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, texts

WORDS = "Gemeenten leren samen van R&D in de <praktijk> en delen wat werkt. "


def _long_description(length: int) -> str:
    text = (WORDS * (length // len(WORDS) + 1))[:length]
    return text.rstrip() + "."


def _add_people(services: Services, clock: FrozenClock, slug: str, users: list[str]) -> None:
    with services.db.write() as session:
        for user in users:
            membership.join(session, query=slug, user_id=user, now=clock(), tz=AMS)


def _section_texts(reply: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]


def _assert_intact(text: str) -> None:
    """No entity and no mention was cut in two."""
    assert re.fullmatch(r"([^&<>]|&(amp|lt|gt);|<[@#][A-Z0-9]+>)*", text, re.S), text[-80:]


def test_sixty_members_and_a_3500_character_start_text_fit_in_members_and_info(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    description = _long_description(3500)
    add_community(
        services.db, "ethiek", name="Ethiek", description=description, capacity=60,
        facilitators=("UFAC1", "UFAC2"),
        meetings=tuple(
            meeting(dt.datetime(2027, 1, 5, 14, 0, tzinfo=AMS) + dt.timedelta(weeks=i),
                    title=f"Bijeenkomst {i}", location="Stadhuis, zaal 3")
            for i in range(25)
        ),
    )  # fmt: skip
    members = [f"U{i:08d}" for i in range(60)]
    _add_people(services, clock, "ethiek", [*members, "U0LATE1", "U0LATE2"])

    members_reply = slack.command("UADMIN", "leden ethiek").json()
    info_reply = slack.command("U1", "info ethiek").json()

    for reply in (members_reply, info_reply):
        assert_valid_message(reply)
        for text in _section_texts(reply):
            _assert_intact(text)
    shown = texts(members_reply)
    assert all(f"<@{user}>" in shown for user in members)
    assert "1. <@U0LATE1>\n2. <@U0LATE2>" in shown
    info_sections = "".join(_section_texts(info_reply))
    escaped = description.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert len(escaped) > 3000
    # The whole start text is there, over more than one section.
    assert escaped.replace(" ", "") in info_sections.replace(" ", "").replace("\n", "")
    # Ten meetings at most, so the message stays readable.
    assert "Bijeenkomst 9*" in info_sections
    assert "Bijeenkomst 10*" not in info_sections


def test_a_welcome_with_a_3500_character_start_text_fits(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", description=_long_description(3500))

    slack.command("U1", "aanmelden ethiek")

    [welcome] = standin.wait_for("chat.postMessage", 1)
    assert_valid_message(welcome.args)
    for block in welcome.args["blocks"]:
        if block["type"] == "section":
            _assert_intact(block["text"]["text"])


def test_a_start_text_without_spaces_is_not_cut_inside_an_escaped_character(
    slack: CheckedSlack, services: Services
) -> None:
    # After escaping, "&amp;" straddles the 3000th character.
    add_community(services.db, "ethiek", description="a" * 2998 + "&" + "b" * 600)

    reply = slack.command("U1", "info ethiek").json()

    assert_valid_message(reply)
    sections = _section_texts(reply)
    for text in sections:
        _assert_intact(text)
    assert "".join(sections).startswith("a" * 2998 + "&amp;" + "b" * 600)


def test_a_long_waitlist_is_split_between_lines_never_inside_a_mention(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    add_community(services.db, "ethiek", capacity=5)
    people = [f"U{i:010d}" for i in range(300)]
    _add_people(services, clock, "ethiek", people)

    reply = slack.command("UADMIN", "leden ethiek").json()

    assert_valid_message(reply)
    for text in _section_texts(reply):
        _assert_intact(text)
    lines = [line for t in _section_texts(reply) for line in t.split("\n")]
    waitlist = [line for line in lines if re.fullmatch(r"\d+\. <@U\d+>", line)]
    assert waitlist[0] == f"1. <@{people[5]}>"
    assert waitlist[-1] == f"295. <@{people[-1]}>"
    assert len(waitlist) == 295


def test_thousands_of_members_still_make_one_valid_message(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    add_community(services.db, "ethiek")
    with services.db.write() as session:
        community = session.scalars(select(Community).where(Community.slug == "ethiek")).one()
        session.add_all(
            Membership(
                community_id=community.id, user_id=f"U{i:010d}", status=Membership.MEMBER, seq=i
            )
            for i in range(4500)
        )

    reply = slack.command("UADMIN", "leden ethiek").json()

    assert_valid_message(reply)
    assert reply["text"] == "Leden van Ethiek (4500)"


def test_a_very_long_name_full_of_ampersands_is_clipped_in_headers_without_broken_entities(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "lang", name="R&D " * 45)  # within the 200-character column

    for text in ("info lang", "leden lang"):
        reply = slack.command("UADMIN", text).json()
        assert_valid_message(reply)
        header = reply["blocks"][0]["text"]["text"]
        assert len(header) <= 150
        assert header.endswith("…")
        _assert_intact(header.removesuffix("…"))


@pytest.mark.parametrize("programmes", [1, 3, 5, 7])
def test_sixty_communities_in_the_list_stay_within_fifty_blocks_and_say_how_many_more(
    slack: CheckedSlack, services: Services, programmes: int
) -> None:
    for i in range(60):
        add_community(services.db, f"cop-{i:02d}", programme=f"Programma {i % programmes}")

    reply = slack.command("U1", "lijst").json()

    assert_valid_message(reply)
    assert len(reply["blocks"]) <= 50
    *kept, last = reply["blocks"]
    assert last["type"] == "context"
    shown = [b["accessory"]["value"] for b in kept if b["type"] == "section"]
    assert last["elements"][0]["text"] == (
        f"En nog {60 - len(shown)} communities. Typ `/cop info <naam>` voor de details."
    )
    # No programme heading is left without its communities.
    assert kept[-1]["type"] == "section"
