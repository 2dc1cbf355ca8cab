"""User and catalogue text is escaped: it can never ping @channel/@here or mention anyone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from tests.factories import add_community, load_shipped_catalog
from tests.handlers.support import CheckedSlack, sent, texts

BROADCASTS = ("<!channel>", "<!here>", "<!everyone>")
NAME = "Ethiek <!here> & co"
SHOWN_NAME = "Ethiek &lt;!here&gt; &amp; co"


def _assert_harmless(payloads: list[dict[str, Any]], *, forbidden_mention: str = "<@U999") -> None:
    assert payloads, "nothing was sent, so nothing was checked"
    for payload in payloads:
        for text in texts(payload).split("\n"):
            for broadcast in BROADCASTS:
                assert broadcast not in text, f"{broadcast} sent in {text!r}"
            assert "<!" not in text, f"a special mention was sent in {text!r}"
            assert forbidden_mention not in text, f"a mention from user text in {text!r}"
            # Anything left that looks like markup must be a mention or channel we made.
            for tag in re.findall(r"<[^>]*>", text):
                assert re.fullmatch(r"<[@#][UWC][A-Z0-9]+>", tag), f"unexpected {tag} in {text!r}"


@pytest.mark.parametrize(
    "text",
    [
        "aanmelden <!channel> & <@U999>",
        "info <!everyone>",
        "leden <@U999|mallory> <!here>",
        "<!channel> & <@U999>",
        "afmelden <!subteam^S123|@team> <@U999>",
    ],
)
def test_user_text_is_echoed_escaped_and_never_as_a_mention(
    slack: CheckedSlack, services: Services, text: str
) -> None:
    load_shipped_catalog(services.db)

    reply = slack.command("U1", text).json()

    _assert_harmless([reply])
    assert "&lt;" in reply["text"]


def test_a_join_with_broadcasts_in_the_name_shows_them_escaped(
    slack: CheckedSlack, services: Services
) -> None:
    load_shipped_catalog(services.db)

    reply = slack.command("U1", "aanmelden <!channel> & <@U999>").json()

    assert reply["text"] == (
        "Ik ken geen community \u201c&lt;!channel&gt; &amp; &lt;@U999&gt;\u201d.\n"
        "Typ `/cop lijst` voor alle communities."
    )


def test_a_community_with_broadcasts_in_its_texts_never_pings_anyone(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(
        services.db, "ethiek", name=NAME, programme="Programma <!everyone> & zo",
        description="Let op <!here> & <!channel>: vraag <@U999> of <https://evil.example|hier>.",
        capacity=1, channel="C0ETHIEK", facilitators=("UFAC1",),
    )  # fmt: skip
    add_community(
        services.db, "goedkeuring", name="Goedkeuring <!channel>", approval=True,
        facilitators=("UFAC1",),
    )  # fmt: skip

    replies = [
        slack.command("U1", "lijst").json(),
        slack.command("U1", "info ethiek").json(),
        slack.command("U1", "aanmelden ethiek").json(),
        slack.command("U2", "aanmelden ethiek").json(),
        slack.command("U2", "aanmelden ethiek").json(),
        slack.command("U1", "leden ethiek").json(),
        slack.command("U2", "mijn").json(),
        slack.command("U1", "afmelden ethiek").json(),
        slack.command("U3", "aanmelden goedkeuring").json(),
    ]
    standin.wait_for("chat.postMessage", 3)  # welcome U1, promotion U2, request to UFAC1
    [request] = [c for c in standin.calls("chat.postMessage") if c.args["channel"] == "UFAC1"]
    slack.click("UFAC1", "approve_join", "goedkeuring|U3")
    standin.wait_for("response_url", 1)
    assert services.wait_idle(5)

    everything = replies + sent(standin)
    assert len(sent(standin)) >= 5
    _assert_harmless(everything)
    shown = "\n".join(texts(p) for p in everything)
    assert f"*{SHOWN_NAME}* (`ethiek`)" in shown  # the list
    assert "*Programma &lt;!everyone&gt; &amp; zo*" in shown
    assert "Let op &lt;!here&gt; &amp; &lt;!channel&gt;: vraag &lt;@U999&gt;" in shown
    assert "&lt;https://evil.example|hier&gt;" in shown
    assert f"Je bent lid van *{SHOWN_NAME}*" in shown
    assert f"Welkom bij *{SHOWN_NAME}*" in shown
    assert f"Er is een plek vrijgekomen in *{SHOWN_NAME}*" in shown
    assert "wil lid worden van *Goedkeuring &lt;!channel&gt;*" in texts(request.args)
    # Headers are plain text, where Slack reads the same three entities.
    headers = [
        b["text"]["text"] for p in everything for b in p.get("blocks") or []
        if b["type"] == "header"
    ]  # fmt: skip
    assert SHOWN_NAME in headers
    assert f"Leden van {SHOWN_NAME} (1)" in headers
