"""The registration deadline is a day on Amsterdam's calendar: around midnight there the
UTC date is still the day before, and a join must be judged by the Amsterdam date, both
by `/cop aanmelden` and by the **Aanmelden** button of `/cop lijst`."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from storage.models import Community, Membership, OutboxItem
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, buttons

DEADLINE = dt.date(2026, 11, 22)  # Sunday: the last day to join, inclusive
# 00:30 on Monday 23 November in Amsterdam (CET, UTC+1): 23:30 UTC on Sunday the 22nd.
HALF_PAST_MIDNIGHT_AFTER = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC)
# 23:30 on Sunday 22 November in Amsterdam: 22:30 UTC, the same date in both.
HALF_PAST_ELEVEN_ON_THE_DAY = dt.datetime(2026, 11, 22, 22, 30, tzinfo=dt.UTC)

# Ethiek has no facilitator: the refusal names the admin, not "de kartrekker".
REFUSED = (
    "Aanmelden voor *Ethiek* kon tot en met zondag 22 november 2026. Wil je toch "
    "meedoen? Neem contact op met <@UADMIN> (beheer)."
)


@pytest.fixture
def ethiek(services: Services) -> None:
    add_community(services.db, "ethiek", name="Ethiek", deadline=DEADLINE)


def stored(services: Services) -> tuple[list[tuple[str, str]], int, int, int]:
    """Memberships (user, status), the community's member count and join counter, and
    how many outbox items there are."""
    with services.db.read() as session:
        rows = session.execute(select(Membership.user_id, Membership.status)).all()
        community = session.scalars(select(Community).where(Community.slug == "ethiek")).one()
        items = len(session.scalars(select(OutboxItem)).all())
        return (
            sorted((r.user_id, r.status) for r in rows),
            community.member_count,
            community.join_counter,
            items,
        )


def join_by_button(slack: CheckedSlack, services: Services, user: str) -> str:
    """Click **Aanmelden** under Ethiek in `/cop lijst`; the answer goes to response_url."""
    listing = slack.command(user, "lijst").json()
    [join] = [b for b in buttons(listing) if b["action_id"] == "join_community"]
    before = len(slack.standin.calls("response_url"))
    slack.click(user, join["action_id"], join["value"])
    assert services.wait_idle(5)
    answers = slack.standin.calls("response_url")[before:]
    assert len(answers) == 1
    return str(answers[0].args["text"])


@pytest.mark.usefixtures("ethiek")
def test_a_join_at_half_past_midnight_in_amsterdam_after_the_deadline_is_refused(
    slack: CheckedSlack, services: Services, clock: FrozenClock, standin: SlackStandIn
) -> None:
    clock.now = HALF_PAST_MIDNIGHT_AFTER
    before = stored(services)

    reply = slack.command("U1", "aanmelden ethiek").json()

    assert reply["text"] == REFUSED
    assert services.wait_idle(5)
    assert stored(services) == before == ([], 0, 0, 0)
    assert standin.calls("chat.postMessage") == []


@pytest.mark.usefixtures("ethiek")
def test_a_join_at_half_past_eleven_at_night_in_amsterdam_on_the_deadline_day_is_accepted(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    clock.now = HALF_PAST_ELEVEN_ON_THE_DAY

    reply = slack.command("U1", "aanmelden ethiek").json()

    assert reply["text"].startswith(":tada: Je bent lid van *Ethiek*.")
    members, count, _, _ = stored(services)
    assert (members, count) == ([("U1", Membership.MEMBER)], 1)


@pytest.mark.usefixtures("ethiek")
def test_the_join_button_judges_the_deadline_by_the_amsterdam_date_too(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    clock.now = HALF_PAST_ELEVEN_ON_THE_DAY
    # The list is shown on the last day, with its button; the click comes after midnight.
    listing = slack.command("U1", "lijst").json()
    [join] = [b for b in buttons(listing) if b["action_id"] == "join_community"]
    clock.now = HALF_PAST_MIDNIGHT_AFTER
    before = stored(services)

    slack.click("U1", join["action_id"], join["value"])
    assert services.wait_idle(5)

    [answer] = slack.standin.calls("response_url")
    assert answer.args["text"] == REFUSED
    assert stored(services) == before

    clock.now = HALF_PAST_ELEVEN_ON_THE_DAY
    assert join_by_button(slack, services, "U2").startswith(":tada: Je bent lid van *Ethiek*.")
    members, count, _, _ = stored(services)
    assert (members, count) == ([("U2", Membership.MEMBER)], 1)


def test_past_the_deadline_a_community_with_a_facilitator_points_to_the_facilitator(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    add_community(services.db, "voorspellen", name="Voorspellen", deadline=DEADLINE,
                  facilitators=("UFAC",))  # fmt: skip
    clock.now = HALF_PAST_MIDNIGHT_AFTER

    reply = slack.command("U1", "aanmelden voorspellen").json()

    assert reply["text"] == (
        "Aanmelden voor *Voorspellen* kon tot en met zondag 22 november 2026. Wil je toch "
        "meedoen? Neem contact op met de kartrekker."
    )
