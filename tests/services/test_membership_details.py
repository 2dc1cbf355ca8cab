"""Membership rules the mutation run (`./dev mutants`) found unchecked: the order and
deadline of `mine`, waitlist positions per community, who counts as a participant, and
what an admin's appointment of a facilitator leaves behind."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.services import audit, communities, membership
from bot.services.errors import AlreadyMember, NotInCommunity
from storage.db import Database
from storage.models import Departure, Facilitator, OutboxItem
from tests.conftest import NOW
from tests.factories import add_community
from tests.services.test_membership import ADMINS, AMS, decide, join, leave, mine


def test_mine_orders_by_programme_first_then_by_name(db: Database) -> None:
    add_community(db, "zz-a", name="Zeta", programme="A-programma")
    add_community(db, "aa-b", name="Alfa", programme="B-programma")
    add_community(db, "bb-b", name="Beta", programme="B-programma")
    add_community(db, "mm-a", name="Mu", programme="A-programma")
    for slug in ("bb-b", "zz-a", "aa-b", "mm-a"):
        join(db, "U1", slug)
    assert [e.community.slug for e in mine(db, "U1")] == ["mm-a", "zz-a", "aa-b", "bb-b"]


def test_mine_says_registration_closed_from_midnight_in_amsterdam(db: Database) -> None:
    # 23:30 UTC on the deadline day is already 00:30 the next day in Amsterdam.
    add_community(db, "proef", deadline=dt.date(2026, 12, 1))
    join(db, "U1")
    late = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)
    with db.read() as session:
        entries = membership.mine(session, user_id="U1", now=late, tz=AMS)
    assert [(e.community.slug, e.community.registration_open) for e in entries] == [
        ("proef", False)
    ]
    with db.read() as session:
        earlier = dt.datetime(2026, 12, 1, 22, 30, tzinfo=dt.UTC)  # 23:30 in Amsterdam
        assert membership.mine(session, user_id="U1", now=earlier, tz=AMS)[
            0
        ].community.registration_open


def test_a_waitlist_position_counts_only_that_communitys_waitlist(db: Database) -> None:
    add_community(db, "eerste", capacity=1)
    add_community(db, "tweede", capacity=1)
    join(db, "UA", "eerste")
    join(db, "UB", "eerste")  # waitlist of eerste, position 1
    join(db, "UC", "eerste")  # position 2
    join(db, "UD", "tweede")
    join(db, "U1", "tweede")  # first on tweede's waitlist, though later than UB and UC
    assert [(e.community.slug, e.position) for e in mine(db, "U1")] == [("tweede", 1)]
    assert [(e.community.slug, e.position) for e in mine(db, "UC")] == [("eerste", 2)]


def test_status_by_slug_names_member_waitlist_pending_or_none(db: Database) -> None:
    add_community(db, "vol", capacity=1)
    add_community(db, "keuring", approval=True, facilitators=("UFAC",))
    join(db, "U1", "vol")
    join(db, "U2", "vol")
    join(db, "U1", "keuring")
    with db.read() as session:
        found = {
            (user, slug): membership.status_by_slug(session, slug=slug, user_id=user)
            for user in ("U1", "U2", "U3")
            for slug in ("vol", "keuring", "weg")
        }
    assert found == {
        ("U1", "vol"): "member",
        ("U1", "keuring"): "pending",
        ("U1", "weg"): None,
        ("U2", "vol"): "waitlist",
        ("U2", "keuring"): None,
        ("U2", "weg"): None,
        ("U3", "vol"): None,
        ("U3", "keuring"): None,
        ("U3", "weg"): None,
    }


def test_participation_is_manager_for_facilitators_and_admins_member_for_members(
    db: Database,
) -> None:
    add_community(db, "proef", capacity=1, facilitators=("UFAC",))
    add_community(db, "ander")
    join(db, "U1")
    join(db, "UWAIT")  # on the waitlist: not a member yet
    join(db, "UELDERS", "ander")
    community_id = _community_id(db, "proef")
    with db.read() as session:
        seen = {
            user: membership.participation(session, community_id, user, ADMINS)
            for user in ("UFAC", "UADMIN1", "U1", "UWAIT", "UELDERS", "UNOBODY")
        }
    assert seen == {
        "UFAC": "manager",
        "UADMIN1": "manager",
        "U1": "member",
        "UWAIT": None,
        "UELDERS": None,
        "UNOBODY": None,
    }


def _community_id(db: Database, slug: str) -> int:
    with db.read() as session:
        return communities.resolve(session, slug).id


def test_an_appointed_facilitator_is_an_admin_row_that_survives_a_catalogue_reload(
    db: Database,
) -> None:
    add_community(db, "proef", facilitators=("UFAC1",))
    with db.write() as session:
        membership.appoint_facilitator(
            session, query="proef", user_id="UNEW", appointed_by="UADMIN1", admins=ADMINS, now=NOW
        )
    add_community(db, "proef", facilitators=("UFAC1",))  # the catalogue, loaded again
    with db.read() as session:
        rows = {
            f.user_id: f.source
            for f in session.query(Facilitator).filter(
                Facilitator.community_id == _community_id(db, "proef")
            )
        }
    assert rows == {"UFAC1": "catalog", "UNEW": "admin"}


def test_appointing_a_facilitator_is_audited_once_with_who_whom_and_where(db: Database) -> None:
    add_community(db, "proef")
    for _ in range(2):  # the second appointment changes nothing and records nothing
        with db.write() as session:
            membership.appoint_facilitator(
                session, query="proef", user_id="UNEW", appointed_by="UADMIN1", admins=ADMINS,
                now=NOW,
            )  # fmt: skip
    with db.read() as session:
        entries = audit.page(session, user_id="UADMIN1", admins=ADMINS).entries
    appointments = [e for e in entries if e.action != audit.COMMUNITY_CREATED]
    assert [(e.action, e.actor, e.subject, e.community, e.at) for e in appointments] == [
        (audit.FACILITATOR_APPOINTED, "UADMIN1", "UNEW", "proef", NOW)
    ]


def _outbox(db: Database) -> list[tuple[str, str, str, object]]:
    with db.read() as session:
        rows = session.scalars(select(OutboxItem).order_by(OutboxItem.id))
        return [
            (r.kind, r.recipient, r.subject, json.loads(r.payload) if r.payload else None)
            for r in rows
        ]


def _decisions(db: Database) -> list[tuple[str, str, str | None, str | None, str | None]]:
    with db.read() as session:
        entries = audit.page(session, user_id="UADMIN1", admins=ADMINS).entries
    return [
        (e.action, e.actor, e.subject, e.community, e.detail)
        for e in reversed(entries)
        if e.action in (audit.REQUEST_APPROVED, audit.REQUEST_DECLINED)
    ]


def test_each_decision_is_audited_with_decider_person_community_and_outcome(db: Database) -> None:
    add_community(db, "proef", capacity=1, approval=True, facilitators=("UFAC",))
    for user in ("U1", "U2", "U3"):
        join(db, user)
    decide(db, "U1", "UFAC", approve=True)
    decide(db, "U2", "UFAC", approve=True)  # full: onto the waitlist
    decide(db, "U3", "UADMIN1", approve=False)
    assert _decisions(db) == [
        (audit.REQUEST_APPROVED, "UFAC", "U1", "proef", "member"),
        (audit.REQUEST_APPROVED, "UFAC", "U2", "proef", "waitlist"),
        (audit.REQUEST_DECLINED, "UADMIN1", "U3", "proef", None),
    ]


def test_a_decision_queues_the_welcome_or_the_news_for_the_person_who_asked(
    db: Database,
) -> None:
    add_community(db, "proef", capacity=1, approval=True, facilitators=("UFAC",))
    for user in ("U1", "U2", "U3"):
        join(db, user)
    before = len(_outbox(db))  # the approval requests to UFAC
    decide(db, "U1", "UFAC", approve=True)
    decide(db, "U2", "UFAC", approve=True)
    decide(db, "U3", "UFAC", approve=False)
    # Each requester's App Home is drawn again too (it showed the request).
    assert _outbox(db)[before:] == [
        ("welcome", "U1", "proef", {"intro": "outcome_member"}),
        ("welcome_calendar", "U1", "proef", None),
        ("home_refresh", "U1", "", None),
        ("decision", "U2", "proef", {"outcome": "waitlist", "position": 1}),
        ("home_refresh", "U2", "", None),
        ("decision", "U3", "proef", {"outcome": "declined", "position": None}),
        ("home_refresh", "U3", "", None),
    ]


def test_a_declined_request_is_remembered_as_a_departure_of_that_person_at_that_time(
    db: Database,
) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC",))
    join(db, "U1")
    when = NOW + dt.timedelta(hours=3)
    with db.write() as session:
        membership.decide(
            session, query="proef", user_id="U1", decided_by="UFAC", approve=False,
            admins=ADMINS, now=when, tz=AMS,
        )  # fmt: skip
    with db.read() as session:
        assert {(d.user_id, d.left_at) for d in session.scalars(select(Departure))} == {
            ("U1", when)
        }


def test_a_seat_is_counted_among_this_communitys_members_only(db: Database) -> None:
    add_community(db, "vol", capacity=2)
    add_community(db, "druk")
    for user in ("UD1", "UD2", "UD3"):
        join(db, user, "druk")
    for user in ("U1", "U2", "UWAIT"):
        join(db, user, "vol")
    assert leave(db, "U1", "vol").promoted is not None  # 1 of 2 seats taken: UWAIT moves up


def test_the_id_a_caller_already_knows_decides_the_community_not_the_query(db: Database) -> None:
    add_community(db, "proef")
    add_community(db, "ander")
    proef = _community_id(db, "proef")
    with db.write() as session:
        known = membership.join(session, query="ander", user_id="U1", now=NOW, tz=AMS,
                                community_id=proef)  # fmt: skip
        gone = membership.join(session, query="ander", user_id="U2", now=NOW, tz=AMS,
                               community_id=424242)  # fmt: skip
    assert (known.community.slug, gone.community.slug) == ("proef", "ander")


def test_the_first_on_the_waitlist_asking_again_hears_position_one(db: Database) -> None:
    add_community(db, "proef", capacity=1)
    join(db, "U1")
    join(db, "U2")
    with pytest.raises(AlreadyMember) as caught:
        join(db, "U2")
    assert (caught.value.status, caught.value.position) == ("waitlist", 1)


def test_a_promotion_queues_the_welcome_that_says_you_moved_up(db: Database) -> None:
    add_community(db, "proef", capacity=1)
    join(db, "U1")
    join(db, "U2")
    before = len(_outbox(db))
    leave(db, "U1")
    assert _outbox(db)[before:] == [
        ("promoted", "U2", "proef", {"intro": "promoted"}),
        ("welcome_calendar", "U2", "proef", None),
    ]


def test_leaving_is_remembered_for_that_person_and_moved_on_when_they_leave_again(
    db: Database,
) -> None:
    add_community(db, "proef")
    add_community(db, "ander")
    join(db, "U1")
    join(db, "U1", "ander")
    for slug, hours in (("proef", 1), ("ander", 5)):
        with db.write() as session:
            membership.leave(session, query=slug, user_id="U1",
                             now=NOW + dt.timedelta(hours=hours), tz=AMS)  # fmt: skip
    with db.read() as session:
        assert {(d.user_id, d.left_at) for d in session.scalars(select(Departure))} == {
            ("U1", NOW + dt.timedelta(hours=5))
        }


def test_results_after_midnight_in_amsterdam_on_the_deadline_day_say_registration_closed(
    db: Database,
) -> None:
    deadline = dt.date(2026, 12, 1)
    late = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)  # 00:30 on 2 December in Amsterdam
    add_community(db, "vol", capacity=1, deadline=deadline)
    add_community(db, "keuring", approval=True, facilitators=("UFAC",), deadline=deadline)
    join(db, "U1", "vol")
    join(db, "U2", "vol")
    join(db, "U3", "keuring")
    with db.write() as session:
        left = membership.leave(session, query="vol", user_id="U1", now=late, tz=AMS)
        decided = membership.decide(
            session, query="keuring", user_id="U3", decided_by="UFAC", approve=True,
            admins=ADMINS, now=late, tz=AMS,
        )  # fmt: skip
    with db.read() as session:
        listed = membership.member_list(
            session, query="vol", user_id="U2", admins=ADMINS, now=late, tz=AMS
        )
    assert left.promoted is not None
    assert [
        left.community.registration_open,
        left.promoted.community.summary.registration_open,
        decided.community.summary.registration_open,
        listed.community.registration_open,
    ] == [False, False, False, False]
    assert listed.members == ("U2",)


def test_the_member_list_is_for_members_not_for_the_waitlist_or_outsiders(db: Database) -> None:
    add_community(db, "proef", capacity=1)
    join(db, "U1")
    join(db, "UWAIT")
    with db.read() as session:
        seen = membership.member_list(
            session, query="proef", user_id="U1", admins=ADMINS, now=NOW, tz=AMS
        )
        assert (seen.members, seen.waitlist) == (("U1",), ("UWAIT",))
        for outsider in ("UWAIT", "UNOBODY"):
            with pytest.raises(NotInCommunity):
                membership.member_list(
                    session, query="proef", user_id=outsider, admins=ADMINS, now=NOW, tz=AMS
                )
