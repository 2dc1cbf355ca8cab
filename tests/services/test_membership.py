"""Joining and leaving: capacity, waitlist order, the deadline, approval and facilitators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.services import communities, membership
from bot.services.errors import (
    AlreadyMember,
    CommunityNotFound,
    NotAllowed,
    NotMember,
    RegistrationClosed,
    RequestAlreadyDecided,
    RequestWithdrawn,
)
from bot.services.views import Decision, JoinResult, LeaveResult, MemberList, MyEntry
from storage.db import Database
from storage.models import Membership
from tests.conftest import NOW
from tests.factories import add_community

AMS = ZoneInfo("Europe/Amsterdam")
ADMINS = frozenset({"UADMIN2", "UADMIN1"})


def join(
    db: Database,
    user: str,
    slug: str = "proef",
    *,
    now: dt.datetime = NOW,
    admins: Collection[str] = ADMINS,
) -> JoinResult:
    with db.write() as session:
        return membership.join(session, query=slug, user_id=user, now=now, tz=AMS, admins=admins)


def leave(db: Database, user: str, slug: str = "proef") -> LeaveResult:
    with db.write() as session:
        return membership.leave(session, query=slug, user_id=user, now=NOW, tz=AMS)


def decide(db: Database, user: str, by: str, *, approve: bool, slug: str = "proef") -> Decision:
    with db.write() as session:
        return membership.decide(
            session,
            query=slug,
            user_id=user,
            decided_by=by,
            approve=approve,
            admins=ADMINS,
            now=NOW,
            tz=AMS,
        )


def listing(db: Database, slug: str = "proef") -> MemberList:
    with db.read() as session:
        return membership.member_list(
            session, query=slug, user_id="UADMIN", admins={"UADMIN"}, now=NOW, tz=AMS
        )


def mine(db: Database, user: str) -> list[MyEntry]:
    with db.read() as session:
        return membership.mine(session, user_id=user, now=NOW, tz=AMS)


def row_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Membership)) or 0


# --- joining ----------------------------------------------------------------------------


def test_join_makes_a_member(db: Database) -> None:
    add_community(db, "proef", capacity=3)
    result = join(db, "U1")
    assert (result.outcome, result.user_id, result.position) == ("member", "U1", None)
    assert result.community.member_count == 1
    assert result.community.free_seats == 2
    assert listing(db).members == ("U1",)


def test_join_without_capacity_never_waitlists(db: Database) -> None:
    add_community(db, "proef")
    outcomes = {join(db, f"U{i}").outcome for i in range(30)}
    assert outcomes == {"member"}


def test_joining_twice_raises_already_member(db: Database) -> None:
    add_community(db, "proef", name="Proef")
    join(db, "U1")
    with pytest.raises(AlreadyMember) as caught:
        join(db, "U1")
    assert (caught.value.community, caught.value.status, caught.value.position) == (
        "Proef",
        "member",
        None,
    )
    assert row_count(db) == 1


def test_joining_twice_from_the_waitlist_tells_the_position(db: Database) -> None:
    add_community(db, "proef", capacity=1)
    join(db, "U1")
    join(db, "U2")
    join(db, "U3")
    with pytest.raises(AlreadyMember) as caught:
        join(db, "U3")
    assert (caught.value.status, caught.value.position) == ("waitlist", 2)


def test_join_when_full_puts_member_on_waitlist_in_order(db: Database) -> None:
    add_community(db, "proef", capacity=2)
    results = [join(db, f"U{i}") for i in range(1, 6)]
    assert [r.outcome for r in results] == ["member"] * 2 + ["waitlist"] * 3
    assert [r.position for r in results] == [None, None, 1, 2, 3]
    assert results[-1].community.waitlist_count == 3
    assert results[-1].community.free_seats == 0


def test_joining_an_unknown_community_raises_community_not_found(db: Database) -> None:
    add_community(db, "ethiek")
    with pytest.raises(CommunityNotFound) as caught:
        join(db, "U1", "etiek")
    assert caught.value.suggestions == ["ethiek"]
    assert row_count(db) == 0


# --- the deadline -----------------------------------------------------------------------


def test_joining_late_on_the_deadline_day_in_amsterdam_still_works(db: Database) -> None:
    add_community(db, "proef", deadline=dt.date(2027, 2, 21))
    # 23:30 in Amsterdam (winter time, UTC+1) on the last day.
    now = dt.datetime(2027, 2, 21, 22, 30, tzinfo=dt.UTC)
    assert now.astimezone(AMS).date() == dt.date(2027, 2, 21)
    assert join(db, "U1", now=now).outcome == "member"


def test_joining_after_midnight_in_amsterdam_raises_registration_closed(db: Database) -> None:
    add_community(db, "proef", name="Proef", deadline=dt.date(2027, 2, 21))
    # Still 21 February in UTC, but already 00:30 on the 22nd in Amsterdam.
    now = dt.datetime(2027, 2, 21, 23, 30, tzinfo=dt.UTC)
    with pytest.raises(RegistrationClosed) as caught:
        join(db, "U1", now=now)
    assert caught.value.deadline == dt.date(2027, 2, 21)
    assert caught.value.community == "Proef"
    assert row_count(db) == 0


def test_summary_says_whether_registration_is_open(db: Database) -> None:
    add_community(db, "proef", deadline=dt.date(2027, 2, 21))
    with db.read() as session:
        community = communities.resolve(session, "proef")
        before = communities.summary(
            session, community, now=dt.datetime(2027, 2, 21, 22, 59, tzinfo=dt.UTC), tz=AMS
        )
        after = communities.summary(
            session, community, now=dt.datetime(2027, 2, 21, 23, 0, tzinfo=dt.UTC), tz=AMS
        )
    assert (before.registration_open, after.registration_open) == (True, False)


def test_leaving_after_the_deadline_still_promotes_the_waitlist(db: Database) -> None:
    add_community(db, "proef", capacity=1, deadline=dt.date(2027, 2, 21))
    join(db, "U1")
    join(db, "U2")
    with db.write() as session:
        result = membership.leave(
            session, query="proef", user_id="U1", now=dt.datetime(2027, 3, 1, tzinfo=dt.UTC), tz=AMS
        )
    assert result.promoted is not None
    assert result.promoted.user_id == "U2"


# --- leaving ----------------------------------------------------------------------------


def test_leaving_moves_the_first_on_the_waitlist_up_and_renumbers_the_rest(
    db: Database,
) -> None:
    add_community(db, "proef", capacity=2)
    for i in range(1, 6):
        join(db, f"U{i}")
    result = leave(db, "U1")
    assert result.previous == "member"
    assert result.promoted is not None
    assert result.promoted.user_id == "U3"
    assert result.promoted.community.summary.member_count == 2
    assert result.community.waitlist_count == 2
    assert listing(db).members == ("U2", "U3")
    assert listing(db).waitlist == ("U4", "U5")
    assert [(e.status, e.position) for e in mine(db, "U4")] == [("waitlist", 1)]
    assert [(e.status, e.position) for e in mine(db, "U5")] == [("waitlist", 2)]


def test_leaving_the_waitlist_promotes_nobody(db: Database) -> None:
    add_community(db, "proef", capacity=2)
    for i in range(1, 6):
        join(db, f"U{i}")
    result = leave(db, "U3")
    assert (result.previous, result.promoted) == ("waitlist", None)
    assert listing(db).members == ("U1", "U2")
    assert listing(db).waitlist == ("U4", "U5")
    assert [e.position for e in mine(db, "U4")] == [1]


def test_leaving_with_an_empty_waitlist_promotes_nobody(db: Database) -> None:
    add_community(db, "proef", capacity=2)
    join(db, "U1")
    join(db, "U2")
    result = leave(db, "U1")
    assert result.promoted is None
    assert result.community.member_count == 1


def test_leave_when_not_a_member_raises_not_member(db: Database) -> None:
    add_community(db, "proef", name="Proef")
    join(db, "U1")
    with pytest.raises(NotMember) as caught:
        leave(db, "U2")
    assert caught.value.community == "Proef"
    assert listing(db).members == ("U1",)


def test_a_seat_freed_by_leaving_goes_to_the_waitlist_not_a_newcomer(db: Database) -> None:
    add_community(db, "proef", capacity=1)
    join(db, "U1")
    join(db, "U2")
    leave(db, "U1")
    assert join(db, "U3").outcome == "waitlist"
    assert listing(db).members == ("U2",)


def test_rejoining_after_leaving_puts_you_at_the_back(db: Database) -> None:
    add_community(db, "proef", capacity=1)
    join(db, "U1")
    join(db, "U2")
    join(db, "U3")
    leave(db, "U2")
    again = join(db, "U2")
    assert (again.outcome, again.position) == ("waitlist", 2)
    assert listing(db).waitlist == ("U3", "U2")


# --- approval ---------------------------------------------------------------------------


def test_approval_makes_a_pending_request_with_the_facilitators_as_approvers(
    db: Database,
) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC2", "UFAC1"))
    result = join(db, "U1")
    assert result.outcome == "pending"
    assert result.position is None
    assert result.approvers == ("UFAC2", "UFAC1")
    assert listing(db).pending == ("U1",)
    assert listing(db).members == ()


def test_approval_without_facilitators_asks_the_admins(db: Database) -> None:
    add_community(db, "proef", approval=True)
    assert join(db, "U1").approvers == ("UADMIN1", "UADMIN2")


def test_decide_by_someone_who_is_neither_facilitator_nor_admin_raises_not_allowed(
    db: Database,
) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1",))
    join(db, "U1")
    with pytest.raises(NotAllowed) as caught:
        decide(db, "U1", "UOTHER", approve=True)
    assert caught.value.action == "decide_request"
    assert listing(db).pending == ("U1",)
    assert listing(db).members == ()


def test_a_member_may_not_approve_a_request_either(db: Database) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1",))
    join(db, "U1")
    decide(db, "U1", "UFAC1", approve=True)
    join(db, "U2")
    with pytest.raises(NotAllowed):
        decide(db, "U2", "U1", approve=True)
    assert listing(db).pending == ("U2",)


def test_approving_makes_a_member(db: Database) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1",))
    join(db, "U1")
    decision = decide(db, "U1", "UFAC1", approve=True)
    assert (decision.outcome, decision.user_id, decision.decided_by, decision.position) == (
        "member",
        "U1",
        "UFAC1",
        None,
    )
    assert decision.community.summary.member_count == 1
    assert listing(db).members == ("U1",)
    assert listing(db).pending == ()


def test_an_admin_may_decide_without_being_a_facilitator(db: Database) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1",))
    join(db, "U1")
    assert decide(db, "U1", "UADMIN1", approve=True).outcome == "member"


def test_approving_when_full_puts_the_request_on_the_waitlist(db: Database) -> None:
    add_community(db, "proef", capacity=1, approval=True, facilitators=("UFAC1",))
    for user in ("U1", "U2", "U3"):
        join(db, user)
    decide(db, "U1", "UFAC1", approve=True)
    second = decide(db, "U2", "UFAC1", approve=True)
    third = decide(db, "U3", "UFAC1", approve=True)
    assert (second.outcome, second.position) == ("waitlist", 1)
    assert (third.outcome, third.position) == ("waitlist", 2)
    assert listing(db).members == ("U1",)
    assert listing(db).waitlist == ("U2", "U3")


def test_declining_removes_the_request(db: Database) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1",))
    join(db, "U1")
    decision = decide(db, "U1", "UFAC1", approve=False)
    assert (decision.outcome, decision.position) == ("declined", None)
    assert listing(db) == MemberList(
        community=listing(db).community, members=(), waitlist=(), pending=()
    )
    assert row_count(db) == 0
    assert mine(db, "U1") == []


def test_after_a_decline_one_may_ask_again(db: Database) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1",))
    join(db, "U1")
    decide(db, "U1", "UFAC1", approve=False)
    assert join(db, "U1").outcome == "pending"


@pytest.mark.parametrize(("first", "second"), [(True, True), (True, False), (False, True)])
def test_deciding_twice_raises_request_already_decided(
    db: Database, first: bool, second: bool
) -> None:
    add_community(db, "proef", name="Proef", approval=True, facilitators=("UFAC1", "UFAC2"))
    join(db, "U1")
    decide(db, "U1", "UFAC1", approve=first)
    with pytest.raises(RequestAlreadyDecided) as caught:
        decide(db, "U1", "UFAC2", approve=second)
    assert (caught.value.community, caught.value.user_id) == ("Proef", "U1")
    expected = ("U1",) if first else ()
    assert listing(db).members == expected


def test_deciding_on_a_request_nobody_decided_that_is_gone_raises_request_withdrawn(
    db: Database,
) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1",))
    with pytest.raises(RequestWithdrawn):
        decide(db, "UNOBODY", "UFAC1", approve=True)
    assert row_count(db) == 0


def test_leaving_a_pending_request_withdraws_it(db: Database) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1",))
    join(db, "U1")
    result = leave(db, "U1")
    assert (result.previous, result.promoted) == ("pending", None)
    assert row_count(db) == 0


# --- listings ---------------------------------------------------------------------------


def test_mine_lists_member_waitlist_with_position_and_pending(db: Database) -> None:
    add_community(db, "a-open", name="A open")
    add_community(db, "b-vol", name="B vol", capacity=1)
    add_community(db, "c-keuring", name="C keuring", approval=True, facilitators=("UFAC1",))
    add_community(db, "d-niet", name="D niet")
    join(db, "U1", "a-open")
    join(db, "UX", "b-vol")
    join(db, "UY", "b-vol")
    join(db, "U1", "b-vol")
    join(db, "U1", "c-keuring")
    entries = mine(db, "U1")
    assert [(e.community.slug, e.status, e.position) for e in entries] == [
        ("a-open", "member", None),
        ("b-vol", "waitlist", 2),
        ("c-keuring", "pending", None),
    ]
    assert mine(db, "UNOBODY") == []


def test_member_list_orders_members_and_waitlist_by_arrival(db: Database) -> None:
    add_community(db, "proef", capacity=3)
    arrivals = ["UZ", "UA", "UM", "UB", "UY", "UC"]
    for user in arrivals:
        join(db, user)
    listed = listing(db)
    assert listed.members == ("UZ", "UA", "UM")
    assert listed.waitlist == ("UB", "UY", "UC")
    assert (listed.community.member_count, listed.community.waitlist_count) == (3, 3)


# --- facilitators -----------------------------------------------------------------------


def test_appoint_facilitator_by_a_non_admin_raises_not_allowed(db: Database) -> None:
    add_community(db, "proef")
    with pytest.raises(NotAllowed) as caught, db.write() as session:
        membership.appoint_facilitator(
            session, query="proef", user_id="U1", appointed_by="UFAC1", admins=ADMINS, now=NOW
        )
    assert caught.value.action == "appoint_facilitator"
    with db.read() as session:
        assert communities.info(session, query="proef", now=NOW, tz=AMS).facilitators == ()


def test_appointed_facilitator_is_listed_once_and_may_decide(db: Database) -> None:
    add_community(db, "proef", name="Proef", approval=True, facilitators=("UFAC1",))
    for _ in range(2):
        with db.write() as session:
            name = membership.appoint_facilitator(
                session,
                query="proef",
                user_id="UNEW",
                appointed_by="UADMIN1",
                admins=ADMINS,
                now=NOW,
            )
    assert (name.community_name, name.new) == ("Proef", False)  # the second time
    join(db, "U1")
    assert decide(db, "U1", "UNEW", approve=True).outcome == "member"
    with db.read() as session:
        detail = communities.info(session, query="proef", now=NOW, tz=AMS)
    assert detail.facilitators == ("UFAC1", "UNEW")


def test_new_requests_go_to_appointed_facilitators_too(db: Database) -> None:
    add_community(db, "proef", approval=True)
    with db.write() as session:
        membership.appoint_facilitator(
            session, query="proef", user_id="UNEW", appointed_by="UADMIN1", admins=ADMINS, now=NOW
        )
    assert join(db, "U1").approvers == ("UNEW",)
