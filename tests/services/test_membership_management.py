"""What facilitators and admins do to a community's people, at the service level: a
removal (the seat, the audit entry, the DM and the redraw it leaves), moving someone up
the waitlist, who may do either, ending or giving the facilitator role, and the status
per community that /cop list and /cop info show."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.services import audit, membership
from bot.services.errors import CommunityNotFound, NotAllowed, NotMember, RequestWithdrawn
from bot.services.views import LeaveResult
from storage.db import Database
from storage.models import AuditEntry, Community, Departure, Facilitator, Membership, OutboxItem
from tests.conftest import NOW
from tests.factories import add_community
from tests.services.test_membership import ADMINS, AMS, decide, join, leave

# 23:30 UTC on 1 December is already 2 December in Amsterdam.
DEADLINE = dt.date(2026, 12, 1)
LATE = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)


def remove(
    db: Database, user: str, by: str, slug: str = "proef", *, now: dt.datetime = NOW
) -> LeaveResult:
    with db.write() as session:
        return membership.remove_member(
            session, query=slug, user_id=user, removed_by=by, admins=ADMINS, now=now, tz=AMS
        )


def move_up(db: Database, user: str, by: str, slug: str = "proef") -> int:
    with db.write() as session:
        return membership.move_up(session, query=slug, user_id=user, moved_by=by, admins=ADMINS)


def statuses(db: Database, user: str) -> dict[str, tuple[str, int | None]]:
    with db.read() as session:
        return membership.my_statuses(session, user_id=user)


def people(db: Database, slug: str = "proef") -> list[tuple[str, str]]:
    """(user, status) of everyone in the community, in the order of their place."""
    with db.read() as session:
        return [
            (m.user_id, m.status)
            for m in session.scalars(
                select(Membership)
                .join(Community)
                .where(Community.slug == slug)
                .order_by(Membership.seq)
            )
        ]


def outbox_items(db: Database) -> list[tuple[str, str, str, object, dt.datetime]]:
    with db.read() as session:
        rows = session.scalars(select(OutboxItem).order_by(OutboxItem.id))
        return [
            (r.kind, r.recipient, r.subject, json.loads(r.payload) if r.payload else None,
             r.created_at)
            for r in rows
        ]  # fmt: skip


# (action, actor, subject, community, detail, at)
Entry = tuple[str, str, str | None, str | None, str | None, dt.datetime]


def audit_entries(db: Database, action: str) -> list[Entry]:
    with db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return [(e.action, e.actor, e.subject, e.community, e.detail, e.at) for e in rows]


def facilitator_rows(db: Database) -> set[tuple[str, str]]:
    with db.read() as session:
        return {(f.community.slug, f.user_id) for f in session.scalars(select(Facilitator))}


# --- removing someone -------------------------------------------------------------------


def test_removing_a_member_frees_the_seat_for_the_first_on_the_waitlist(db: Database) -> None:
    add_community(db, "proef", capacity=1, facilitators=("UFAC",))
    for user in ("U1", "U2", "U3"):
        join(db, user)
    result = remove(db, "U1", "UFAC")
    assert result.previous == "member"
    assert result.promoted is not None
    assert (result.promoted.user_id, result.promoted.community.summary.slug) == ("U2", "proef")
    assert (result.community.slug, result.community.member_count) == ("proef", 1)
    assert people(db) == [("U2", "member"), ("U3", "waitlist")]


def test_a_removal_is_audited_dmed_and_redraws_the_removed_persons_tab_at_its_time(
    db: Database,
) -> None:
    add_community(db, "proef", capacity=1, facilitators=("UFAC",))
    join(db, "U1")
    join(db, "U2")
    before = len(outbox_items(db))
    when = NOW + dt.timedelta(hours=3)
    remove(db, "U1", "UFAC", now=when)
    assert audit_entries(db, audit.MEMBER_REMOVED) == [
        ("member_removed", "UFAC", "U1", "proef", "member", when)
    ]
    assert outbox_items(db)[before:] == [
        ("promoted", "U2", "proef", {"intro": "promoted"}, when),
        ("welcome_calendar", "U2", "proef", None, when),
        ("member_removed", "U1", "proef", {"previous": "member"}, when),
        ("home_refresh", "U1", "", None, when),
    ]
    with db.read() as session:
        refresh = session.scalars(select(OutboxItem).where(OutboxItem.kind == "home_refresh")).one()
        assert refresh.not_before == when + dt.timedelta(seconds=2)
        assert {(d.user_id, d.left_at) for d in session.scalars(select(Departure))} == {
            ("U1", when)
        }


def test_removing_someone_from_the_waitlist_or_a_request_promotes_nobody_and_says_what_they_were(
    db: Database,
) -> None:
    add_community(db, "proef", capacity=1, facilitators=("UFAC",))
    add_community(db, "keuring", approval=True, facilitators=("UFAC",))
    join(db, "U1")
    join(db, "U2")
    join(db, "U3")
    join(db, "U4", "keuring")
    before = len(outbox_items(db))
    waiting = remove(db, "U2", "UFAC")
    pending = remove(db, "U4", "UFAC", "keuring")
    assert (waiting.previous, waiting.promoted) == ("waitlist", None)
    assert (pending.previous, pending.promoted) == ("pending", None)
    assert people(db) == [("U1", "member"), ("U3", "waitlist")]
    assert people(db, "keuring") == []
    assert [item[:4] for item in outbox_items(db)[before:]] == [
        ("member_removed", "U2", "proef", {"previous": "waitlist"}),
        ("home_refresh", "U2", "", None),
        ("member_removed", "U4", "keuring", {"previous": "pending"}),
        ("home_refresh", "U4", "", None),
    ]
    assert [(e[2], e[3], e[4]) for e in audit_entries(db, audit.MEMBER_REMOVED)] == [
        ("U2", "proef", "waitlist"),
        ("U4", "keuring", "pending"),
    ]


def test_an_admin_may_remove_someone_without_being_a_facilitator(db: Database) -> None:
    add_community(db, "proef", facilitators=("UFAC",))
    join(db, "U1")
    assert remove(db, "U1", "UADMIN1").previous == "member"
    assert people(db) == []
    assert [e[1] for e in audit_entries(db, audit.MEMBER_REMOVED)] == ["UADMIN1"]


@pytest.mark.parametrize("who", ["U2", "UNOBODY", "UOTHER"])
def test_removal_by_a_member_an_outsider_or_another_communitys_facilitator_is_not_allowed(
    db: Database, who: str
) -> None:
    add_community(db, "proef", facilitators=("UFAC",))
    add_community(db, "ander", facilitators=("UOTHER",))
    join(db, "U1")
    join(db, "U2")
    before = outbox_items(db)
    with pytest.raises(NotAllowed) as caught:
        remove(db, "U1", who)
    assert caught.value.action == "remove_member"
    assert people(db) == [("U1", "member"), ("U2", "member")]
    assert outbox_items(db) == before
    assert audit_entries(db, audit.MEMBER_REMOVED) == []


def test_removing_someone_who_is_not_in_the_community_raises_not_member(db: Database) -> None:
    add_community(db, "proef", name="Proef", facilitators=("UFAC",))
    add_community(db, "ander")
    join(db, "U1", "ander")
    with pytest.raises(NotMember) as caught:
        remove(db, "U1", "UFAC")
    assert caught.value.community == "Proef"
    assert people(db, "ander") == [("U1", "member")]


def test_removing_from_an_unknown_community_raises_community_not_found(db: Database) -> None:
    add_community(db, "proef", facilitators=("UFAC",))
    with pytest.raises(CommunityNotFound):
        remove(db, "U1", "UADMIN1", "bestaat-niet")


def test_a_removals_answer_says_registration_closed_after_midnight_in_amsterdam(
    db: Database,
) -> None:
    add_community(db, "proef", deadline=DEADLINE, facilitators=("UFAC",))
    join(db, "U1")
    assert remove(db, "U1", "UFAC", now=LATE).community.registration_open is False


# --- moving up the waitlist -------------------------------------------------------------


def test_moving_up_changes_places_with_the_one_ahead_and_returns_the_new_place(
    db: Database,
) -> None:
    add_community(db, "proef", capacity=1, facilitators=("UFAC",))
    for user in ("U1", "W1", "W2", "W3"):
        join(db, user)
    assert move_up(db, "W3", "UFAC") == 2
    assert people(db) == [("U1", "member"), ("W1", "waitlist"), ("W3", "waitlist"),
                          ("W2", "waitlist")]  # fmt: skip
    assert move_up(db, "W3", "UFAC") == 1
    assert [u for u, _ in people(db)] == ["U1", "W3", "W1", "W2"]
    assert move_up(db, "W3", "UFAC") == 1, "the first in line stays first"
    assert [u for u, _ in people(db)] == ["U1", "W3", "W1", "W2"]
    # The seat that comes free goes to the one moved up.
    assert leave(db, "U1").promoted is not None
    assert people(db) == [("W3", "member"), ("W1", "waitlist"), ("W2", "waitlist")]


def test_moving_up_passes_a_pending_request_and_the_members_only_the_waitlist_counts(
    db: Database,
) -> None:
    add_community(db, "proef", capacity=1, approval=True, facilitators=("UFAC",))
    for user in ("U1", "W1", "P1", "W2"):
        join(db, user)
    decide(db, "U1", "UFAC", approve=True)  # the seat
    decide(db, "W1", "UFAC", approve=True)  # full: waitlist, place 1
    decide(db, "W2", "UFAC", approve=True)  # waitlist, place 2; P1 stays pending between them
    assert move_up(db, "W2", "UFAC") == 1
    assert statuses(db, "W1") == {"proef": ("waitlist", 2)}
    assert statuses(db, "P1") == {"proef": ("pending", None)}
    assert [u for u, _ in people(db)] == ["U1", "W2", "P1", "W1"]


def test_moving_up_changes_places_within_this_communitys_waitlist_only(db: Database) -> None:
    add_community(db, "proef", capacity=1, facilitators=("UFAC",))
    add_community(db, "ander", capacity=1)
    for user in ("U1", "W1", "GONE", "W2"):
        join(db, user)
    leave(db, "GONE")  # a gap in proef's order of arrival, where ander has someone waiting
    for user in ("X1", "Y1", "Y2"):
        join(db, user, "ander")
    assert move_up(db, "W2", "UFAC") == 1
    assert [u for u, _ in people(db)] == ["U1", "W2", "W1"]
    assert [u for u, _ in people(db, "ander")] == ["X1", "Y1", "Y2"]
    assert statuses(db, "Y2") == {"ander": ("waitlist", 2)}


def test_an_admin_may_move_someone_up(db: Database) -> None:
    add_community(db, "proef", capacity=1, facilitators=("UFAC",))
    for user in ("U1", "W1", "W2"):
        join(db, user)
    assert move_up(db, "W2", "UADMIN2") == 1


@pytest.mark.parametrize("who", ["U1", "W1", "UNOBODY", "UOTHER"])
def test_moving_up_by_a_member_someone_waiting_an_outsider_or_another_facilitator_is_not_allowed(
    db: Database, who: str
) -> None:
    add_community(db, "proef", capacity=1, facilitators=("UFAC",))
    add_community(db, "ander", facilitators=("UOTHER",))
    for user in ("U1", "W1", "W2"):
        join(db, user)
    with pytest.raises(NotAllowed) as caught:
        move_up(db, "W2", who)
    assert caught.value.action == "move_up"
    assert [u for u, _ in people(db)] == ["U1", "W1", "W2"]


@pytest.mark.parametrize("user", ["U1", "P1", "UNOBODY"])
def test_moving_up_a_member_a_request_or_an_outsider_raises_not_member(
    db: Database, user: str
) -> None:
    add_community(db, "proef", name="Proef", capacity=1, approval=True, facilitators=("UFAC",))
    join(db, "U1")
    join(db, "P1")
    decide(db, "U1", "UFAC", approve=True)
    with pytest.raises(NotMember) as caught:
        move_up(db, user, "UFAC")
    assert caught.value.community == "Proef"
    assert people(db) == [("U1", "member"), ("P1", "pending")]


# --- how someone is in each community ---------------------------------------------------


def test_my_statuses_names_each_of_ones_communities_with_the_place_on_a_waitlist(
    db: Database,
) -> None:
    add_community(db, "vol", capacity=1)
    add_community(db, "keuring", approval=True, facilitators=("UFAC",))
    add_community(db, "open")
    add_community(db, "elders")  # only someone else is in it
    join(db, "UA", "vol")
    join(db, "UB", "vol")  # waitlist, place 1
    join(db, "U1", "vol")  # waitlist, place 2
    join(db, "U1", "keuring")
    join(db, "U1", "open")
    join(db, "UC", "elders")
    assert statuses(db, "U1") == {
        "vol": ("waitlist", 2),
        "keuring": ("pending", None),
        "open": ("member", None),
    }
    assert statuses(db, "UA") == {"vol": ("member", None)}
    assert statuses(db, "UNOBODY") == {}


# --- the facilitator role ---------------------------------------------------------------


def test_appointing_a_facilitator_tells_them_who_did_and_names_the_community(
    db: Database,
) -> None:
    add_community(db, "proef", name="Proef")
    before = len(outbox_items(db))
    with db.write() as session:
        appointed = membership.appoint_facilitator(
            session, query="proef", user_id="UNEW", appointed_by="UADMIN1", admins=ADMINS, now=NOW
        )
    assert (appointed.community_name, appointed.community_slug, appointed.new) == (
        "Proef", "proef", True
    )  # fmt: skip
    assert outbox_items(db)[before:] == [("appointed", "UNEW", "proef", {"by": "UADMIN1"}, NOW)]


def test_ending_a_facilitators_role_is_for_admins_only(db: Database) -> None:
    add_community(db, "proef", facilitators=("UFAC", "UFAC2"))
    for who in ("UFAC", "UFAC2", "UNOBODY"):
        with db.write() as session, pytest.raises(NotAllowed) as caught:
            membership.remove_facilitator(
                session, query="proef", user_id="UFAC", removed_by=who, admins=ADMINS, now=NOW
            )
        # The admins' refusal, shared with appointing one.
        assert caught.value.action == "appoint_facilitator"
    assert facilitator_rows(db) == {("proef", "UFAC"), ("proef", "UFAC2")}


def test_ending_a_facilitators_role_in_one_community_keeps_it_in_the_others(
    db: Database,
) -> None:
    add_community(db, "proef", name="Proef", facilitators=("UFAC",))
    add_community(db, "ander", name="Ander", facilitators=("UFAC", "UELSE"))
    with db.write() as session:
        first = membership.remove_facilitator(
            session, query="proef", user_id="UFAC", removed_by="UADMIN1", admins=ADMINS, now=NOW
        )
    with db.write() as session:
        again = membership.remove_facilitator(
            session, query="proef", user_id="UFAC", removed_by="UADMIN1", admins=ADMINS, now=NOW
        )
    assert (first, again) == (("Proef", True), ("Proef", False))
    assert facilitator_rows(db) == {("ander", "UFAC"), ("ander", "UELSE")}
    assert [(e[1], e[2], e[3]) for e in audit_entries(db, audit.FACILITATOR_REMOVED)] == [
        ("UADMIN1", "UFAC", "proef")
    ]


def test_ending_the_role_of_someone_who_facilitates_only_elsewhere_changes_nothing(
    db: Database,
) -> None:
    add_community(db, "proef", name="Proef", facilitators=("UFAC",))
    add_community(db, "ander", facilitators=("UOTHER",))
    with db.write() as session:
        answer = membership.remove_facilitator(
            session, query="proef", user_id="UOTHER", removed_by="UADMIN1", admins=ADMINS,
            now=NOW,
        )  # fmt: skip
    assert answer == ("Proef", False)
    assert facilitator_rows(db) == {("proef", "UFAC"), ("ander", "UOTHER")}
    assert audit_entries(db, audit.FACILITATOR_REMOVED) == []


# --- a request that is gone -------------------------------------------------------------


def test_a_withdrawn_request_names_the_community_and_the_person_who_withdrew(
    db: Database,
) -> None:
    add_community(db, "proef", name="Proef", approval=True, facilitators=("UFAC",))
    join(db, "U1")
    leave(db, "U1")
    with pytest.raises(RequestWithdrawn) as caught:
        decide(db, "U1", "UFAC", approve=True)
    assert (caught.value.community, caught.value.user_id) == ("Proef", "U1")
