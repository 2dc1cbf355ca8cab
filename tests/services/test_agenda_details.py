"""Agenda rules the mutation run (`./dev mutants`) found unchecked: everything the next
agenda shows, the form's choice of meeting, what a save queues and refuses, the channel
post's record, and which topics an agenda takes off the open list."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.services import agenda
from bot.services.errors import (
    AgendaInvalid,
    MeetingNotFound,
    MeetingOver,
    NotAllowed,
    NotInCommunity,
    NoUpcomingMeeting,
    TopicNotFound,
)
from storage.db import Database
from storage.models import Meeting, OutboxItem, Topic, TopicVote
from tests.conftest import NOW
from tests.factories import add_community, meeting
from tests.services.test_agenda import (
    ADMINS,
    APRIL_20,
    MARCH_30,
    ethiek,
    propose,
    vote,
)

__all__ = ["ethiek"]


def _meeting_ids(db: Database) -> list[int]:
    with db.read() as session:
        return list(session.scalars(select(Meeting.id).order_by(Meeting.starts_at)))


def _next(db: Database, user: str, *, now: dt.datetime = NOW) -> agenda.AgendaView:
    with db.read() as session:
        return agenda.next_agenda(session, query="ethiek", user_id=user, admins=ADMINS, now=now)


def _save(
    db: Database, meeting_id: int, text: str, *, user: str = "UFAC", now: dt.datetime = NOW
) -> agenda.PublishedAgenda:
    with db.write() as session:
        return agenda.save_agenda(
            session, meeting_id=meeting_id, user_id=user, text=text, speakers=None,
            admins=ADMINS, now=now,
        )  # fmt: skip


def test_the_next_agenda_shows_the_meeting_its_agenda_and_who_set_it(ethiek: Database) -> None:
    march, _ = _meeting_ids(ethiek)
    with ethiek.write() as session:
        agenda.save_agenda(
            session, meeting_id=march, user_id="UFAC", text="1. Welkom", speakers="Ans",
            admins=ADMINS, now=NOW,
        )  # fmt: skip
    propose(ethiek, "U000", "Inkoop")  # an agenda is set: no top topics shown
    view = _next(ethiek, "U005")
    assert (view.community_name, view.community_slug) == ("Ethiek", "ethiek")
    assert view.meeting is not None
    assert (view.meeting.id, view.meeting.starts_at) == (march, MARCH_30)
    assert (view.agenda, view.speakers, view.version, view.by) == ("1. Welkom", "Ans", 1, "UFAC")
    assert (view.top_topics, view.can_manage) == ((), False)
    assert _next(ethiek, "UFAC").can_manage is True
    assert _next(ethiek, "UADMIN").can_manage is True


def test_without_an_agenda_the_next_meeting_shows_the_five_most_voted_topics(
    ethiek: Database,
) -> None:
    ids = [propose(ethiek, f"U{i:03d}", f"Onderwerp {i}") for i in range(7)]
    for voter in ("U010", "U011"):
        vote(ethiek, voter, ids[6])
    vote(ethiek, "U005", ids[3])
    view = _next(ethiek, "U005")
    assert view.meeting is not None and view.meeting.starts_at == MARCH_30
    assert (view.agenda, view.speakers, view.version, view.by) == (None, None, 0, None)
    assert [(t.id, t.votes, t.mine) for t in view.top_topics] == [
        (ids[6], 2, False),
        (ids[3], 1, True),
        (ids[0], 0, False),
        (ids[1], 0, False),
        (ids[2], 0, False),
    ]


def test_the_next_agenda_passes_over_a_cancelled_meeting_and_past_ones(ethiek: Database) -> None:
    march, april = _meeting_ids(ethiek)
    with ethiek.write() as session:
        session.execute(update(Meeting).where(Meeting.id == march).values(status=Meeting.CANCELLED))
    view = _next(ethiek, "U001")
    assert view.meeting is not None and view.meeting.id == april
    after_all = _next(ethiek, "U001", now=APRIL_20 + dt.timedelta(days=1))
    assert (after_all.meeting, after_all.agenda, after_all.version) == (None, None, 0)


def test_someone_outside_the_community_sees_no_agenda(ethiek: Database) -> None:
    with pytest.raises(NotInCommunity) as refused:
        _next(ethiek, "UOUTSIDER")
    assert (refused.value.community, refused.value.slug) == ("Ethiek", "ethiek")


def test_the_agenda_form_opens_the_chosen_meeting_with_its_agenda_and_speakers(
    ethiek: Database,
) -> None:
    march, april = _meeting_ids(ethiek)
    with ethiek.write() as session:
        agenda.save_agenda(
            session, meeting_id=april, user_id="UFAC", text="1. April", speakers="Bram",
            admins=ADMINS, now=NOW,
        )  # fmt: skip
    with ethiek.read() as session:
        chosen = agenda.agenda_form(
            session, query="ethiek", user_id="UFAC", admins=ADMINS, now=NOW, meeting_id=april
        )
        default = agenda.agenda_form(
            session, query="ethiek", user_id="UFAC", admins=ADMINS, now=NOW, meeting_id=424242
        )
    assert (chosen.community_name, chosen.community_slug) == ("Ethiek", "ethiek")
    assert (chosen.selected, chosen.text, chosen.speakers) == (april, "1. April", "Bram")
    assert (default.selected, default.text, default.speakers) == (march, "", "")


def test_the_agenda_form_without_an_upcoming_meeting_says_so(ethiek: Database) -> None:
    with ethiek.read() as session, pytest.raises(NoUpcomingMeeting) as refused:
        agenda.agenda_form(
            session, query="ethiek", user_id="UFAC", admins=ADMINS,
            now=APRIL_20 + dt.timedelta(days=1),
        )  # fmt: skip
    assert (refused.value.community, refused.value.slug) == ("Ethiek", "ethiek")


def test_the_draft_takes_whole_lines_only_within_the_agenda_limit(ethiek: Database) -> None:
    # Three topics of 1,400 characters: two numbered lines fit in 3,000, the third not.
    for i in range(3):
        propose(ethiek, f"U{i:03d}", f"{i}" * 1400)
    with ethiek.read() as session:
        form = agenda.agenda_form(session, query="ethiek", user_id="UFAC", admins=ADMINS, now=NOW)
    assert form.text == f"1. {'0' * 1400}\n2. {'1' * 1400}"


def test_a_saved_agenda_is_queued_for_its_channel_post_and_published_as_saved(
    db: Database,
) -> None:
    add_community(db, "ethiek", name="Ethiek", channel="CETHIEK", facilitators=("UFAC",),
                  meetings=(meeting(MARCH_30),))  # fmt: skip
    [march] = _meeting_ids(db)
    published = _save(db, march, "  1. Welkom  ")
    assert (published.community_name, published.channel_id, published.agenda) == (
        "Ethiek",
        "CETHIEK",
        "1. Welkom",
    )
    assert (published.meeting.id, published.version, published.by, published.ts) == (
        march,
        1,
        "UFAC",
        None,
    )
    with db.read() as session:
        queued = [(i.kind, i.recipient, i.subject) for i in session.scalars(select(OutboxItem))]
    assert queued == [("agenda_post", "UFAC", str(march))]
    with db.write() as session:
        agenda.record_agenda_post(session, meeting_id=march, ts="1700000000.000100")
        agenda.record_agenda_post(session, meeting_id=424242, ts="ignored")  # gone: no error
    with db.read() as session:
        again = agenda.published_agenda(session, meeting_id=march)
    assert (again.ts, again.agenda, again.version, again.channel_id) == (
        "1700000000.000100",
        "1. Welkom",
        1,
        "CETHIEK",
    )


def test_a_meeting_without_an_agenda_or_gone_has_no_published_agenda(db: Database) -> None:
    add_community(db, "ethiek", meetings=(meeting(MARCH_30),))
    [march] = _meeting_ids(db)
    for meeting_id in (march, 424242):
        with db.read() as session, pytest.raises(MeetingNotFound):
            agenda.published_agenda(session, meeting_id=meeting_id)


def test_an_agenda_for_a_meeting_gone_cancelled_or_beginning_now_is_refused(
    ethiek: Database,
) -> None:
    march, april = _meeting_ids(ethiek)
    with pytest.raises(MeetingNotFound):
        _save(ethiek, 424242, "Weg")
    with pytest.raises(MeetingOver):
        _save(ethiek, march, "Nu", now=MARCH_30)  # it begins at this very moment
    with ethiek.write() as session:
        session.execute(update(Meeting).where(Meeting.id == april).values(status=Meeting.CANCELLED))
    with pytest.raises(MeetingOver):
        _save(ethiek, april, "Afgelast")
    with ethiek.read() as session:
        assert (
            session.scalars(select(OutboxItem).where(OutboxItem.kind == "agenda_post")).all() == []
        )


def _status(db: Database, topic_id: int) -> tuple[str, int | None]:
    with db.read() as session:
        topic = session.get(Topic, topic_id)
        assert topic is not None
        return topic.status, topic.meeting_id


def test_an_agenda_takes_its_topics_whatever_the_numbering_case_or_spacing(
    ethiek: Database,
) -> None:
    march, april = _meeting_ids(ethiek)
    texts = ["Algoritmeregister", "Slimme   camera's", "Inkoop", "Koffie", "Open data"]
    ids = [propose(ethiek, "U000", text) for text in texts]
    add_community(ethiek, "ander", facilitators=("UFAC",))
    with ethiek.write() as session:
        other = agenda.propose(
            session, query="ander", user_id="UFAC", text="Inkoop", admins=ADMINS, now=NOW
        ).topic.id
    _save(ethiek, march, "1) algoritmeregister\n- SLIMME camera's\n• Inkoop\n* Koffie")
    assert [_status(ethiek, t) for t in ids] == [
        (Topic.ON_AGENDA, march),
        (Topic.ON_AGENDA, march),
        (Topic.ON_AGENDA, march),
        (Topic.ON_AGENDA, march),
        (Topic.OPEN, None),
    ]
    assert _status(ethiek, other) == (Topic.OPEN, None)  # another community's topic
    # April's agenda neither takes March's topics nor puts them back on the open list.
    _save(ethiek, april, "Open data")
    assert [_status(ethiek, t) for t in ids] == [
        (Topic.ON_AGENDA, march),
        (Topic.ON_AGENDA, march),
        (Topic.ON_AGENDA, march),
        (Topic.ON_AGENDA, march),
        (Topic.ON_AGENDA, april),
    ]


def test_a_topic_command_names_its_community_by_leading_words(ethiek: Database) -> None:
    add_community(ethiek, "lokaal-meten", name="Lokaal meten")
    with ethiek.read() as session:
        community, rest = agenda.split_community(session, "lokaal meten Sensoren in de wijk")
    assert (community.slug, rest) == ("lokaal-meten", "Sensoren in de wijk")


def _page(db: Database, user: str = "U001", page: int = 1) -> agenda.TopicPage:
    with db.read() as session:
        return agenda.topics(session, query="ethiek", user_id=user, admins=ADMINS, page=page)


def test_the_topic_list_counts_and_shows_only_this_communitys_open_topics(
    ethiek: Database,
) -> None:
    empty = _page(ethiek)
    assert (empty.topics, empty.total, empty.pages, empty.page) == ((), 0, 1, 1)
    add_community(ethiek, "ander", facilitators=("UFAC",))
    with ethiek.write() as session:
        agenda.propose(
            session, query="ander", user_id="UFAC", text="Elders", admins=ADMINS, now=NOW
        )
    mine = propose(ethiek, "U000", "Hier")
    listed = _page(ethiek)
    assert [t.id for t in listed.topics] == [mine]
    assert (listed.community_name, listed.community_slug, listed.total, listed.pages) == (
        "Ethiek", "ethiek", 1, 1,
    )  # fmt: skip
    assert _page(ethiek, page=5).page == 1


def test_the_same_topic_proposed_twice_at_once_is_listed_twice(ethiek: Database) -> None:
    first = propose(ethiek, "U000", "Algoritmeregister")
    second = propose(ethiek, "U000", "Algoritmeregister")
    vote(ethiek, "U001", second)
    assert [(t.id, t.votes) for t in _page(ethiek).topics] == [(second, 1), (first, 0)]


def test_topics_with_equal_votes_come_oldest_first_whatever_their_number(
    ethiek: Database,
) -> None:
    with ethiek.write() as session:
        later = agenda.propose(session, query="ethiek", user_id="U000", text="Later",
                               admins=ADMINS, now=NOW + dt.timedelta(hours=1)).topic.id  # fmt: skip
        earlier = agenda.propose(session, query="ethiek", user_id="U000", text="Eerder",
                                 admins=ADMINS, now=NOW).topic.id  # fmt: skip
    assert [t.id for t in _page(ethiek).topics] == [earlier, later]


def test_the_draft_joins_a_topics_words_with_single_spaces_up_to_exactly_the_limit(
    ethiek: Database,
) -> None:
    propose(ethiek, "U000", "Privacy   bij\nslimme camera's")
    with ethiek.read() as session:
        form = agenda.agenda_form(session, query="ethiek", user_id="UFAC", admins=ADMINS, now=NOW)
    assert form.text == "1. Privacy bij slimme camera's"


def test_a_draft_line_that_ends_exactly_at_the_limit_is_kept(ethiek: Database) -> None:
    propose(ethiek, "U000", "x" * 1500)  # "1. " and 1,500 characters
    propose(ethiek, "U001", "y" * 1493)  # a line break, "2. " and 1,493: 3,000 exactly
    with ethiek.read() as session:
        form = agenda.agenda_form(session, query="ethiek", user_id="UFAC", admins=ADMINS, now=NOW)
    assert form.text == f"1. {'x' * 1500}\n2. {'y' * 1493}"
    assert len(form.text) == agenda.MAX_AGENDA_LENGTH


def test_a_save_is_refused_to_a_member_as_agenda_and_to_a_begun_meeting_naming_the_community(
    ethiek: Database,
) -> None:
    march, _ = _meeting_ids(ethiek)
    with pytest.raises(NotAllowed) as member:
        _save(ethiek, march, "Gekaapt", user="U001")
    assert member.value.action == "agenda"
    with pytest.raises(MeetingOver) as over:
        _save(ethiek, march, "Te laat", now=MARCH_30 + dt.timedelta(minutes=1))
    assert over.value.community == "Ethiek"


def _save_with(db: Database, text: str, speakers: str | None) -> agenda.PublishedAgenda:
    march, _ = _meeting_ids(db)
    with db.write() as session:
        return agenda.save_agenda(
            session, meeting_id=march, user_id="UFAC", text=text, speakers=speakers,
            admins=ADMINS, now=NOW,
        )  # fmt: skip


def test_an_agenda_of_exactly_3000_characters_and_speakers_of_500_are_taken(
    ethiek: Database,
) -> None:
    saved = _save_with(ethiek, "a" * 3000, "s" * 500)
    assert (len(saved.agenda), len(saved.speakers or "")) == (3000, 500)


def test_one_character_more_is_refused_naming_the_limit_and_the_length(ethiek: Database) -> None:
    with pytest.raises(AgendaInvalid) as text:
        _save_with(ethiek, "a" * 3001, None)
    assert (text.value.field, text.value.limit, text.value.length) == ("text", 3000, 3001)
    with pytest.raises(AgendaInvalid) as speakers:
        _save_with(ethiek, "Goed", "s" * 501)
    assert (speakers.value.field, speakers.value.limit, speakers.value.length) == (
        "speakers", 500, 501,
    )  # fmt: skip


def test_the_topic_count_leaves_out_topics_taken_onto_an_agenda(ethiek: Database) -> None:
    march, _ = _meeting_ids(ethiek)
    propose(ethiek, "U000", "Genomen")
    kept = propose(ethiek, "U001", "Blijft")
    _save(ethiek, march, "Genomen")
    listed = _page(ethiek)
    assert ([t.id for t in listed.topics], listed.total) == ([kept], 1)


def test_the_agenda_form_is_refused_to_a_member_as_agenda(ethiek: Database) -> None:
    with ethiek.read() as session, pytest.raises(NotAllowed) as refused:
        agenda.agenda_form(session, query="ethiek", user_id="U001", admins=ADMINS, now=NOW)
    assert refused.value.action == "agenda"


def test_the_agenda_form_offers_the_next_25_meetings_and_drafts_the_top_10_topics(
    db: Database,
) -> None:
    weekly = tuple(meeting(MARCH_30 + dt.timedelta(weeks=n)) for n in range(27))
    add_community(db, "ethiek", name="Ethiek", facilitators=("UFAC",), meetings=weekly)
    for n in range(12):
        with db.write() as session:
            agenda.propose(session, query="ethiek", user_id="UFAC", text=f"Onderwerp {n}",
                           admins=ADMINS, now=NOW)  # fmt: skip
    with db.read() as session:
        form = agenda.agenda_form(session, query="ethiek", user_id="UFAC", admins=ADMINS, now=NOW)
    assert len(form.meetings) == agenda.FORM_MEETINGS == 25
    assert form.meetings[-1].starts_at == MARCH_30 + dt.timedelta(weeks=24)
    assert form.text.splitlines() == [f"{n + 1}. Onderwerp {n}" for n in range(10)]


def test_a_proposal_of_exactly_2000_characters_is_taken_and_shown_back_whole(
    ethiek: Database,
) -> None:
    with ethiek.write() as session:
        proposed = agenda.propose(session, query="ethiek", user_id="U003", text="t" * 2000,
                                  admins=ADMINS, now=NOW)  # fmt: skip
    assert (proposed.community_name, proposed.community_slug) == ("Ethiek", "ethiek")
    line = proposed.topic
    assert (line.text, line.proposed_by, line.votes, line.mine) == ("t" * 2000, "U003", 0, False)


def test_a_vote_on_one_topic_leaves_ones_vote_on_another_and_is_stamped_with_now(
    ethiek: Database,
) -> None:
    first = propose(ethiek, "U000", "Een")
    second = propose(ethiek, "U000", "Twee")
    vote(ethiek, "U001", first)
    cast = vote(ethiek, "U001", second)
    assert (cast.topic_id, cast.community_name, cast.community_slug, cast.voted, cast.votes) == (
        second, "Ethiek", "ethiek", True, 1,
    )  # fmt: skip
    assert [(t.id, t.votes, t.mine) for t in _page(ethiek, "U001").topics] == [
        (first, 1, True),
        (second, 1, True),
    ]
    with ethiek.read() as session:
        assert set(session.scalars(select(TopicVote.created_at))) == {NOW}
    taken_back = vote(ethiek, "U001", second)
    assert (taken_back.voted, taken_back.votes) == (False, 0)


def test_a_vote_on_a_topic_that_is_gone_names_it(ethiek: Database) -> None:
    with pytest.raises(TopicNotFound) as refused:
        vote(ethiek, "U001", 424242)
    assert refused.value.args == (424242,)
