"""The member and waitlist counters on a community always equal its membership rows."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.services import membership
from bot.services.errors import DomainError
from storage.db import Database
from storage.models import Community, Membership
from tests.conftest import NOW
from tests.factories import add_community

AMS = ZoneInfo("Europe/Amsterdam")


def counted(db: Database, slug: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(counters on the community, counts of its rows) as (members, waitlist)."""
    with db.read() as session:
        community = session.scalars(select(Community).where(Community.slug == slug)).one()
        rows = dict(
            session.execute(
                select(Membership.status, func.count())
                .where(Membership.community_id == community.id)
                .group_by(Membership.status)
            ).all()
        )
        return (community.member_count, community.waitlist_count), (
            rows.get("member", 0),
            rows.get("waitlist", 0),
        )


def test_counters_follow_a_random_mix_of_joins_leaves_and_decisions(db: Database) -> None:
    add_community(db, "druk", capacity=4)
    add_community(db, "streng", capacity=3, approval=True, facilitators=("UFAC",))
    rng = random.Random(20261123)
    people = [f"U{i:03d}" for i in range(12)]
    for _ in range(150):
        slug = rng.choice(["druk", "streng"])
        user = rng.choice(people)
        action = rng.choice(["join", "join", "leave", "approve", "decline"])
        try:
            with db.write() as session:
                if action == "join":
                    membership.join(session, query=slug, user_id=user, now=NOW, tz=AMS)
                elif action == "leave":
                    membership.leave(session, query=slug, user_id=user, now=NOW, tz=AMS)
                else:
                    membership.decide(
                        session,
                        query=slug,
                        user_id=user,
                        decided_by="UFAC",
                        approve=action == "approve",
                        admins=(),
                        now=NOW,
                        tz=AMS,
                    )
        except DomainError:
            pass  # refusals roll back and must leave the counters as they were
        for community in ("druk", "streng"):
            counters, rows = counted(db, community)
            assert counters == rows, (action, slug, user)


def test_a_catalogue_reload_that_frees_seats_recounts(db: Database) -> None:
    add_community(db, "groei", capacity=1)
    for user in ("U1", "U2", "U3"):
        with db.write() as session:
            membership.join(session, query="groei", user_id=user, now=NOW, tz=AMS)
    assert counted(db, "groei") == ((1, 2), (1, 2))
    add_community(db, "groei", capacity=2)
    assert counted(db, "groei") == ((2, 1), (2, 1))
