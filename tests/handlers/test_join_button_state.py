"""`/cop lijst` and `/cop info` offer **Aanmelden** only to someone not in the community
yet; a member, someone on the waitlist or with a request waiting reads their own state
instead (issue 12 item 4)."""

from __future__ import annotations

import pytest

from bot.i18n import Translator
from bot.runtime import Services
from tests.conftest import AMS
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, buttons, settle_outbox, texts

t = Translator("nl", AMS)


@pytest.fixture(autouse=True)
def communities(slack: CheckedSlack, services: Services) -> None:
    """Ethiek (U1 a member), Klein (full: U1 on the waitlist behind U2) and Streng (U1's
    request waiting), and Open, which U1 is not in."""
    add_community(services.db, "ethiek", name="Ethiek")
    add_community(services.db, "klein", name="Klein", capacity=1)
    add_community(services.db, "streng", name="Streng", approval=True, facilitators=("UFAC",))
    add_community(services.db, "open", name="Open")
    for user, slug in [("U1", "ethiek"), ("U2", "klein"), ("U1", "klein"), ("U1", "streng")]:
        slack.command(user, f"aanmelden {slug}")
    assert services.wait_idle(5)
    settle_outbox(services)


def _join_buttons(payload: dict[str, object]) -> list[str]:
    return [b["value"] for b in buttons(payload) if b["action_id"] == "join_community"]


def test_the_list_offers_join_only_where_the_reader_is_not_in_and_says_their_state(
    slack: CheckedSlack,
) -> None:
    listing = slack.command("U1", "lijst").json()

    assert _join_buttons(listing) == ["open"]
    shown = texts(listing)
    for text in (t("you_member"), t("you_waitlist", position=1), t("you_pending")):
        assert text in shown


def test_someone_in_no_community_still_gets_every_join_button(slack: CheckedSlack) -> None:
    listing = slack.command("U9", "lijst").json()

    assert sorted(_join_buttons(listing)) == ["ethiek", "klein", "open", "streng"]
    assert t("you_member") not in texts(listing)


@pytest.mark.parametrize(
    ("slug", "state"),
    [("ethiek", t("you_member")), ("klein", t("you_waitlist", position=1)),
     ("streng", t("you_pending"))],
)  # fmt: skip
def test_info_shows_the_readers_state_instead_of_the_join_button(
    slack: CheckedSlack, slug: str, state: str
) -> None:
    info = slack.command("U1", f"info {slug}").json()

    assert _join_buttons(info) == []
    assert state in texts(info)


def test_info_offers_join_to_someone_not_in_it(slack: CheckedSlack) -> None:
    assert _join_buttons(slack.command("U1", "info open").json()) == ["open"]
