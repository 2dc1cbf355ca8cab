"""What the shortcuts' community pickers offer: where one takes part (ask, propose), what
one may plan meetings for, and what one could join now. Each is the rule of the command
the picker stands for, for every community in one query."""

from __future__ import annotations

import datetime as dt

from bot.services import meetings, membership
from storage.db import Database
from tests.conftest import NOW
from tests.factories import add_community
from tests.services.test_membership import ADMINS, AMS, join


def _communities(db: Database) -> None:
    add_community(db, "beta", name="Beta", facilitators=("UFAC",))
    add_community(db, "alfa", name="Alfa", approval=True, facilitators=("UFAC2",))
    add_community(db, "vol", name="Vol", capacity=1)
    add_community(db, "dicht", name="Dicht", deadline=dt.date(2026, 11, 1))


def test_one_takes_part_where_a_member_proper_or_a_facilitator_and_an_admin_everywhere(
    db: Database,
) -> None:
    _communities(db)
    join(db, "UX", "vol")
    join(db, "U1", "vol")  # on the waitlist: not taking part
    join(db, "U1", "alfa")  # pending: not taking part
    join(db, "U1", "beta")
    with db.read() as session:

        def of(user: str) -> list[tuple[str, str]]:
            return membership.participating(session, user_id=user, admins=ADMINS)

        assert of("U1") == [("beta", "Beta")]
        assert of("UFAC") == [("beta", "Beta")]
        assert of("UX") == [("vol", "Vol")]
        assert of("U9") == []
        # Ordered by name.
        assert [slug for slug, _ in of("UADMIN1")] == ["alfa", "beta", "dicht", "vol"]


def test_one_plans_for_the_communities_one_facilitates_and_an_admin_for_all(
    db: Database,
) -> None:
    _communities(db)
    join(db, "U1", "beta")
    with db.read() as session:

        def of(user: str) -> list[tuple[str, str]]:
            return meetings.plannable(session, user_id=user, admins=ADMINS)

        assert of("UFAC") == [("beta", "Beta")]
        assert of("U1") == []  # a member plans nothing
        assert len(of("UADMIN2")) == 4


def test_one_could_join_what_one_is_in_no_way_part_of_while_registration_is_open(
    db: Database,
) -> None:
    _communities(db)
    join(db, "UX", "vol")
    join(db, "U1", "alfa")  # pending
    with db.read() as session:

        def of(user: str, now: dt.datetime = NOW) -> list[str]:
            return [c.slug for c in membership.joinable(session, user_id=user, now=now, tz=AMS)]

        # Not Dicht, closed since 1 November; Vol is full, which is a waitlist place.
        assert of("U1") == ["beta", "vol"]
        assert of("UX") == ["alfa", "beta"]
        # A facilitator is no member: they may still join their own community.
        assert of("UFAC") == ["alfa", "beta", "vol"]
        full = membership.joinable(session, user_id="U1", now=NOW, tz=AMS)[1]
        assert (full.capacity, full.member_count, full.free_seats) == (1, 1, 0)
