"""Topics and agendas in the services: order by votes, one vote each, simultaneous clicks,
who may take part, and the agenda of a meeting with its versions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import agenda, membership
from bot.services.agenda import Vote
from bot.services.errors import (
    AgendaInvalid,
    MeetingOver,
    NotAllowed,
    NotInCommunity,
    TextTooLong,
    TopicNotFound,
)
from storage.db import Database
from storage.models import Meeting, Topic, TopicVote
from tests.conftest import NOW
from tests.factories import add_community, meeting
from tests.services.test_concurrency import databases_for, run_at_once

AMS = ZoneInfo("Europe/Amsterdam")
MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)
APRIL_20 = dt.datetime(2027, 4, 20, 12, 0, tzinfo=dt.UTC)
ADMINS = frozenset({"UADMIN"})
MEMBERS = [f"U{i:03d}" for i in range(20)]


@pytest.fixture
def ethiek(db: Database) -> Database:
    add_community(
        db, "ethiek", name="Ethiek", facilitators=("UFAC",),
        meetings=(meeting(MARCH_30, key="maart"), meeting(APRIL_20, key="april")),
    )  # fmt: skip
    with db.write() as session:
        for user in MEMBERS:
            membership.join(session, query="ethiek", user_id=user, now=NOW, tz=AMS)
    return db


def propose(db: Database, user: str, text: str) -> int:
    with db.write() as session:
        proposed = agenda.propose(
            session, query="ethiek", user_id=user, text=text, admins=ADMINS, now=NOW
        )
    return proposed.topic.id


def vote(db: Database, user: str, topic_id: int) -> Vote:
    with db.write() as session:
        return agenda.toggle_vote(session, topic_id=topic_id, user_id=user, admins=ADMINS, now=NOW)


def votes_in_table(db: Database, topic_id: int) -> int:
    with db.read() as session:
        count = session.scalar(
            select(func.count()).select_from(TopicVote).where(TopicVote.topic_id == topic_id)
        )
    return count or 0


def test_topics_are_listed_by_votes_and_then_oldest_first(ethiek: Database) -> None:
    first = propose(ethiek, "U000", "Algoritmeregister")
    second = propose(ethiek, "U001", "Privacy bij slimme camera's")
    third = propose(ethiek, "U002", "Inkoopvoorwaarden")
    for user in ("U003", "U004"):
        vote(ethiek, user, third)
    vote(ethiek, "U005", second)

    with ethiek.read() as session:
        page = agenda.topics(session, query="ethiek", user_id="U005", admins=ADMINS)

    assert [(t.id, t.votes) for t in page.topics] == [(third, 2), (second, 1), (first, 0)]
    assert [t.mine for t in page.topics] == [False, True, False]
    assert page.topics[0].proposed_by == "U002"


def test_a_second_vote_by_the_same_person_takes_the_vote_back(ethiek: Database) -> None:
    topic = propose(ethiek, "U000", "Algoritmeregister")

    assert (vote(ethiek, "U001", topic).voted, votes_in_table(ethiek, topic)) == (True, 1)
    assert (vote(ethiek, "U001", topic).voted, votes_in_table(ethiek, topic)) == (False, 0)
    assert vote(ethiek, "U001", topic).votes == 1


def test_someone_who_is_not_a_member_can_neither_propose_nor_vote_nor_read(
    ethiek: Database,
) -> None:
    topic = propose(ethiek, "U000", "Algoritmeregister")
    with pytest.raises(NotInCommunity):
        propose(ethiek, "UOUTSIDER", "Iets")
    with pytest.raises(NotInCommunity):
        vote(ethiek, "UOUTSIDER", topic)
    with ethiek.read() as session, pytest.raises(NotInCommunity):
        agenda.topics(session, query="ethiek", user_id="UOUTSIDER", admins=ADMINS)
    assert votes_in_table(ethiek, topic) == 0


def test_a_facilitator_and_an_admin_take_part_without_being_members(ethiek: Database) -> None:
    topic = propose(ethiek, "UFAC", "Terugblik")
    assert vote(ethiek, "UADMIN", topic).votes == 1


def test_a_topic_over_2000_characters_is_refused_and_handed_back_whole(ethiek: Database) -> None:
    text = "x" * 2001
    with pytest.raises(TextTooLong) as refused:
        propose(ethiek, "U000", text)
    assert (refused.value.limit, refused.value.text) == (2000, text)
    with ethiek.read() as session:
        assert session.scalar(select(func.count()).select_from(Topic)) == 0


def test_pages_hold_fifteen_topics_and_the_last_page_the_rest(ethiek: Database) -> None:
    for n in range(17):
        propose(ethiek, "U000", f"Onderwerp {n}")
    with ethiek.read() as session:
        first = agenda.topics(session, query="ethiek", user_id="U000", admins=ADMINS)
        second = agenda.topics(session, query="ethiek", user_id="U000", admins=ADMINS, page=2)
    assert (len(first.topics), first.pages, first.total) == (15, 2, 17)
    assert [t.text for t in second.topics] == ["Onderwerp 15", "Onderwerp 16"]


@pytest.fixture(params=[1, 4], ids=["one-process", "four-processes"])
def writers(request: pytest.FixtureRequest, db: Database, db_url: str) -> Iterator[list[Database]]:
    with databases_for(db, db_url, request.param) as made:
        yield made


def voting(user: str, topic_id: int) -> Callable[[Session], Vote]:
    def task(session: Session) -> Vote:
        return agenda.toggle_vote(session, topic_id=topic_id, user_id=user, admins=ADMINS, now=NOW)

    return task


def test_twenty_people_voting_at_once_give_exactly_twenty_votes_and_taking_back_zero(
    ethiek: Database, writers: list[Database]
) -> None:
    topic = propose(ethiek, "U000", "Algoritmeregister")

    results, errors = run_at_once(writers, [voting(user, topic) for user in MEMBERS])
    assert errors == []
    assert all(r.voted for r in results)
    assert votes_in_table(ethiek, topic) == 20

    results, errors = run_at_once(writers, [voting(user, topic) for user in MEMBERS])
    assert errors == []
    assert not any(r.voted for r in results)
    assert votes_in_table(ethiek, topic) == 0


def test_one_person_clicking_twenty_times_at_once_counts_as_twenty_toggles(
    ethiek: Database, writers: list[Database]
) -> None:
    topic = propose(ethiek, "U000", "Algoritmeregister")

    results, errors = run_at_once(writers, [voting("U001", topic) for _ in range(20)])

    assert errors == []
    # Ten casts and ten take-backs in some order: an even number of clicks leaves no vote.
    assert sorted(r.voted for r in results) == [False] * 10 + [True] * 10
    assert votes_in_table(ethiek, topic) == 0
    results, errors = run_at_once(writers, [voting("U001", topic) for _ in range(3)])
    assert errors == []
    assert votes_in_table(ethiek, topic) == 1


def test_the_agenda_form_drafts_the_most_voted_topics_as_a_numbered_list(
    ethiek: Database,
) -> None:
    low = propose(ethiek, "U000", "Inkoop")
    high = propose(ethiek, "U001", "Algoritmeregister")
    vote(ethiek, "U002", high)
    del low
    with ethiek.read() as session:
        form = agenda.agenda_form(session, query="ethiek", user_id="UFAC", admins=ADMINS, now=NOW)
    assert form.text == "1. Algoritmeregister\n2. Inkoop"
    assert [m.starts_at for m in form.meetings] == [MARCH_30, APRIL_20]
    assert form.selected == form.meetings[0].id


def test_only_facilitators_and_admins_open_the_agenda_form(ethiek: Database) -> None:
    with ethiek.read() as session, pytest.raises(NotAllowed):
        agenda.agenda_form(session, query="ethiek", user_id="U001", admins=ADMINS, now=NOW)


def next_meeting_id(db: Database) -> int:
    with db.read() as session:
        return session.scalars(select(Meeting.id).order_by(Meeting.starts_at)).first() or 0


def save(db: Database, user: str, text: str, speakers: str | None = None) -> agenda.PublishedAgenda:
    with db.write() as session:
        return agenda.save_agenda(
            session, meeting_id=next_meeting_id(db), user_id=user, text=text,
            speakers=speakers, admins=ADMINS, now=NOW,
        )  # fmt: skip


def test_saving_an_agenda_twice_makes_version_two_and_topics_on_it_leave_the_open_list(
    ethiek: Database,
) -> None:
    taken = propose(ethiek, "U000", "Algoritmeregister")
    propose(ethiek, "U001", "Inkoop")

    first = save(ethiek, "UFAC", "1. Algoritmeregister\n2. Koffie", "Anna (Utrecht)")
    assert (first.version, first.speakers, first.by) == (1, "Anna (Utrecht)", "UFAC")
    with ethiek.read() as session:
        page = agenda.topics(session, query="ethiek", user_id="U000", admins=ADMINS)
        assert [t.text for t in page.topics] == ["Inkoop"]
        assert session.get(Topic, taken).status == Topic.ON_AGENDA  # type: ignore[union-attr]

    second = save(ethiek, "UADMIN", "1. Koffie")
    assert second.version == 2
    with ethiek.read() as session:
        page = agenda.topics(session, query="ethiek", user_id="U000", admins=ADMINS)
        # Dropped from the agenda: open again.
        assert sorted(t.text for t in page.topics) == ["Algoritmeregister", "Inkoop"]
        view = agenda.next_agenda(session, query="ethiek", user_id="U005", admins=ADMINS, now=NOW)
    assert (view.agenda, view.version, view.speakers, view.can_manage) == (
        "1. Koffie",
        2,
        None,
        False,
    )


def test_a_member_cannot_save_an_agenda_and_nothing_changes(ethiek: Database) -> None:
    with pytest.raises(NotAllowed):
        save(ethiek, "U001", "Gekaapt")
    with ethiek.read() as session:
        stored = session.get(Meeting, next_meeting_id(ethiek))
        assert stored is not None
        assert (stored.agenda, stored.agenda_version) == (None, 0)


@pytest.mark.parametrize(
    ("text", "speakers", "field", "problem"),
    [
        ("   ", None, "text", "empty"),
        ("x" * 3001, None, "text", "too_long"),
        ("Goed", "y" * 501, "speakers", "too_long"),
    ],
)
def test_an_empty_or_too_long_agenda_is_refused_naming_the_field(
    ethiek: Database, text: str, speakers: str | None, field: str, problem: str
) -> None:
    with pytest.raises(AgendaInvalid) as refused:
        save(ethiek, "UFAC", text, speakers)
    assert (refused.value.field, refused.value.problem) == (field, problem)


def test_a_meeting_that_has_begun_takes_no_agenda(ethiek: Database) -> None:
    with ethiek.write() as session, pytest.raises(MeetingOver):
        agenda.save_agenda(
            session, meeting_id=next_meeting_id(ethiek), user_id="UFAC", text="Te laat",
            speakers=None, admins=ADMINS, now=MARCH_30 + dt.timedelta(minutes=5),
        )  # fmt: skip


def test_a_topic_on_an_agenda_takes_no_more_votes(ethiek: Database) -> None:
    topic = propose(ethiek, "U000", "Algoritmeregister")
    save(ethiek, "UFAC", "Algoritmeregister")
    with pytest.raises(TopicNotFound):
        vote(ethiek, "U001", topic)
