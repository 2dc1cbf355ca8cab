"""Joining, in detail: whom a refusal past the deadline names, what an approval request
carries, what a join answers, and the order of the lists of communities one may join or
takes part in."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.services import communities, membership, outbox
from bot.services.errors import NotInCommunity, RegistrationClosed
from bot.services.views import JoinResult
from storage.db import Database
from storage.models import OutboxItem
from tests.conftest import NOW
from tests.factories import add_community, meeting

AMS = ZoneInfo("Europe/Amsterdam")
# UTC-11 all year (no summer time): a community's day ends 11 hours after UTC's. Any
# server clock of UTC-10 or further east is already on the next day by then.
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")
ADMINS = frozenset({"UADMIN2", "UADMIN1"})


def _join(
    db: Database, user: str, slug: str = "proef", *, now: dt.datetime = NOW, tz: ZoneInfo = AMS
) -> JoinResult:
    with db.write() as session:
        return membership.join(session, query=slug, user_id=user, now=now, tz=tz, admins=ADMINS)


def _closed(db: Database, slug: str = "proef") -> RegistrationClosed:
    # 00:30 on 22 February in Amsterdam: the day after the last day.
    late = dt.datetime(2027, 2, 21, 23, 30, tzinfo=dt.UTC)
    with pytest.raises(RegistrationClosed) as caught:
        _join(db, "U1", slug, now=late)
    return caught.value


# --- past the deadline -------------------------------------------------------------------


def test_a_join_past_the_deadline_of_a_facilitated_community_says_it_has_facilitators(
    db: Database,
) -> None:
    add_community(db, "proef", deadline=dt.date(2027, 2, 21), facilitators=("UFAC",))
    refused = _closed(db)
    assert refused.facilitated is True
    # The admins come along all the same, sorted, for whoever wants to name them.
    assert refused.admins == ["UADMIN1", "UADMIN2"]


def test_a_join_past_the_deadline_of_a_community_without_facilitators_names_the_admins(
    db: Database,
) -> None:
    add_community(db, "proef", deadline=dt.date(2027, 2, 21))
    refused = _closed(db)
    assert refused.facilitated is False
    assert refused.admins == ["UADMIN1", "UADMIN2"]


def test_only_the_facilitators_of_the_community_joined_count_for_facilitated(
    db: Database,
) -> None:
    add_community(db, "andere", facilitators=("UFAC",))
    add_community(db, "proef", deadline=dt.date(2027, 2, 21))
    assert _closed(db).facilitated is False


# --- approval requests -------------------------------------------------------------------


def test_each_approval_request_names_the_person_who_asked_to_join(db: Database) -> None:
    add_community(db, "proef", approval=True, facilitators=("UFAC1", "UFAC2"))
    _join(db, "U7")
    with db.read() as session:
        rows = session.scalars(
            select(OutboxItem)
            .where(OutboxItem.kind == outbox.APPROVAL_REQUEST)
            .order_by(OutboxItem.id)
        )
        requests = [(r.recipient, r.subject, json.loads(r.payload or "null")) for r in rows]
    assert requests == [
        ("UFAC1", "proef", {"user": "U7"}),
        ("UFAC2", "proef", {"user": "U7"}),
    ]


# --- what a join answers -----------------------------------------------------------------


def test_a_join_says_the_welcome_is_queued_only_for_a_new_member(db: Database) -> None:
    add_community(db, "proef", capacity=1)
    add_community(db, "vraag-eerst", approval=True, facilitators=("UFAC",))
    member, waiting = _join(db, "U1"), _join(db, "U2")
    pending = _join(db, "U3", "vraag-eerst")
    assert (member.outcome, waiting.outcome, pending.outcome) == ("member", "waitlist", "pending")
    assert member.welcome_queued is True
    assert waiting.welcome_queued is False
    assert pending.welcome_queued is False
    # And the outbox holds exactly that one welcome.
    with db.read() as session:
        welcomes = session.execute(
            select(OutboxItem.recipient, OutboxItem.subject).where(
                OutboxItem.kind == outbox.WELCOME
            )
        ).all()
    assert welcomes == [("U1", "proef")]


def test_a_join_answers_with_no_next_meeting_even_when_one_is_planned(db: Database) -> None:
    add_community(db, "proef", meetings=(meeting(dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)),))
    assert _join(db, "U1").community.next_meeting is None


def test_a_join_answers_registration_open_by_the_communitys_day_not_the_servers(
    db: Database,
) -> None:
    add_community(db, "proef", deadline=dt.date(2027, 2, 21))
    # 23:00 on the last day in Pago Pago, already 22 February in UTC (and further east).
    now = dt.datetime(2027, 2, 22, 10, 0, tzinfo=dt.UTC)
    result = _join(db, "U1", now=now, tz=PAGO_PAGO)
    assert result.outcome == "member"
    assert result.community.registration_open is True


# --- joinable ----------------------------------------------------------------------------


def _joinable(db: Database, user: str, *, now: dt.datetime = NOW, tz: ZoneInfo = AMS) -> list[str]:
    with db.read() as session:
        found = membership.joinable(session, user_id=user, now=now, tz=tz)
    return [c.slug for c in found]


def test_joinable_lists_by_name_and_by_slug_between_equal_names(db: Database) -> None:
    # Created in an order that neither the names nor the slugs follow.
    add_community(db, "zz-tweede", name="Data")
    add_community(db, "aa-alfa", name="Zorg")
    add_community(db, "aa-eerste", name="Data")
    assert _joinable(db, "U1") == ["aa-eerste", "zz-tweede", "aa-alfa"]


def test_joinable_judges_the_deadline_by_the_communitys_day_not_the_servers(
    db: Database,
) -> None:
    add_community(db, "proef", deadline=dt.date(2027, 2, 21))
    # 23:00 on the last day in Pago Pago, already 22 February in UTC (and further east).
    now = dt.datetime(2027, 2, 22, 10, 0, tzinfo=dt.UTC)
    assert _joinable(db, "U1", now=now, tz=PAGO_PAGO) == ["proef"]


def test_joinable_names_no_next_meeting_even_when_one_is_planned(db: Database) -> None:
    add_community(db, "proef", meetings=(meeting(dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)),))
    with db.read() as session:
        found = membership.joinable(session, user_id="U1", now=NOW, tz=AMS)
    assert [(c.slug, c.next_meeting) for c in found] == [("proef", None)]


# --- participating -----------------------------------------------------------------------


def test_participating_lists_by_name_and_by_slug_between_equal_names(db: Database) -> None:
    add_community(db, "zz-tweede", name="Data")
    add_community(db, "aa-alfa", name="Zorg")
    add_community(db, "aa-eerste", name="Data")
    with db.read() as session:
        found = membership.participating(session, user_id="UADMIN1", admins=ADMINS)
    assert found == [("aa-eerste", "Data"), ("zz-tweede", "Data"), ("aa-alfa", "Zorg")]


# --- who takes part in topics and questions ------------------------------------------------


def test_a_member_proper_takes_part_a_facilitator_and_an_admin_manage_others_are_refused(
    db: Database,
) -> None:
    add_community(db, "proef", name="Proef", capacity=1, facilitators=("UFAC",))
    add_community(db, "vraag-eerst", approval=True, facilitators=("UFAC2",))
    _join(db, "U1")
    _join(db, "U2")  # the waitlist
    _join(db, "U3", "vraag-eerst")  # pending
    with db.read() as session:
        community = communities.resolve(session, "proef")

        def role(user: str) -> bool:
            return membership.require_participant(session, community, user, ADMINS)

        assert role("U1") is False  # takes part, manages nothing
        assert role("UFAC") is True
        assert role("UADMIN2") is True
        for outsider in ("U2", "U3", "U9", "UFAC2"):
            with pytest.raises(NotInCommunity) as refused:
                role(outsider)
            assert (refused.value.community, refused.value.slug) == ("Proef", "proef")
