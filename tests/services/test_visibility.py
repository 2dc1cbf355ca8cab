"""The visibility rule itself: who sees a community whole, and what is public."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.services import membership, visibility
from bot.services.errors import NotInCommunity
from bot.services.visibility import Audience, Part
from storage.db import Database
from storage.models import Community
from tests.factories import add_community

AMS = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
ADMINS = frozenset({"UADMIN"})


@pytest.fixture
def community_id(db: Database) -> int:
    """UMEM a member, UWAIT on the waitlist (capacity 1), UFAC the facilitator; UPEND has
    a pending request in the approval community."""
    add_community(db, "ethiek", capacity=1, facilitators=("UFAC",))
    add_community(db, "keuring", approval=True, facilitators=("UFAC",))
    with db.write() as session:
        for user in ("UMEM", "UWAIT"):
            membership.join(session, query="ethiek", user_id=user, now=NOW, tz=AMS)
        membership.join(session, query="keuring", user_id="UPEND", now=NOW, tz=AMS)
        return session.scalars(select(Community.id).where(Community.slug == "ethiek")).one()


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("UOUT", Audience.PUBLIC),
        ("UWAIT", Audience.PUBLIC),
        ("UMEM", Audience.MEMBERS),
        ("UFAC", Audience.MEMBERS),
        ("UADMIN", Audience.MEMBERS),
    ],
)
def test_members_facilitators_and_admins_see_the_community_whole(
    db: Database, community_id: int, user: str, expected: Audience
) -> None:
    with db.read() as session:
        assert visibility.audience(session, community_id, user, ADMINS) is expected
        whole = visibility.members_view(session, user, ADMINS, [community_id])
    assert (community_id in whole) is (expected is Audience.MEMBERS)


def test_a_pending_request_is_not_a_membership(db: Database, community_id: int) -> None:
    with db.read() as session:
        keuring = session.scalars(select(Community).where(Community.slug == "keuring")).one()
        assert visibility.audience(session, keuring.id, "UPEND", ADMINS) is Audience.PUBLIC
        with pytest.raises(NotInCommunity) as refused:
            visibility.require(session, keuring, Part.MEMBERS, "UPEND", ADMINS)
    assert (refused.value.slug, refused.value.part) == ("keuring", "members")


def test_the_public_part_and_the_members_only_part() -> None:
    public = {part for part in Part if visibility.can_read(Audience.PUBLIC, part)}
    assert public == {Part.PROFILE, Part.MEETINGS, Part.LESSONS}
    assert all(visibility.can_read(Audience.MEMBERS, part) for part in Part)


def test_readers_keeps_only_who_may_still_read_in_order(db: Database, community_id: int) -> None:
    with db.read() as session:
        kept = visibility.readers(
            session, community_id, ["UWAIT", "UADMIN", "UOUT", "UMEM", "UFAC"], ADMINS
        )
    assert kept == ("UADMIN", "UMEM", "UFAC")
