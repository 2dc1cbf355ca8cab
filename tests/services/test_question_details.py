"""Question rules the mutation run (`./dev mutants`) found unchecked: the communities one
may ask in, what the manager and the answer notice see, what an answer queues, who is
refused with which reason, and the order of answered questions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.services import membership, questions
from bot.services.errors import NotAllowed, QuestionAnswered, QuestionNotFound
from bot.services.questions import CommunityChoice
from storage.db import Database
from storage.models import OutboxItem
from tests.conftest import NOW
from tests.factories import add_community
from tests.services.test_questions import ADMINS, AMS, _ask, _join, _stored, _vote


@pytest.fixture
def three(db: Database) -> Database:
    # Names sort otherwise than slugs: the list is by name.
    add_community(db, "a-zuid", name="Zuid", facilitators=("UFAC",))
    add_community(db, "b-midden", name="Midden", capacity=1)
    add_community(db, "c-noord", name="Noord")
    _join(db, "a-zuid", "U1")
    _join(db, "b-midden", "U1", "UWAIT")  # UWAIT: on the waitlist
    return db


def test_one_may_ask_where_one_is_member_or_facilitator_by_name_and_an_admin_everywhere(
    three: Database,
) -> None:
    with three.read() as session:

        def choices(user: str) -> list[CommunityChoice]:
            return questions.communities_for(session, user_id=user, admins=ADMINS)

        assert choices("U1") == [
            CommunityChoice("b-midden", "Midden"),
            CommunityChoice("a-zuid", "Zuid"),
        ]
        assert choices("UWAIT") == []
        assert choices("UFAC") == [CommunityChoice("a-zuid", "Zuid")]
        assert choices("UADMIN") == [
            CommunityChoice("b-midden", "Midden"),
            CommunityChoice("c-noord", "Noord"),
            CommunityChoice("a-zuid", "Zuid"),
        ]


@pytest.fixture
def ethiek(db: Database) -> Database:
    add_community(db, "ethiek", name="Ethiek", facilitators=("UFAC",))
    add_community(db, "ander", name="Ander", facilitators=("UOTHERFAC",))
    _join(db, "ethiek", "U1", "U2", "U3")
    return db


def _manager_view(db: Database, question_id: int, user: str) -> questions.QuestionView:
    with db.read() as session:
        return questions.question_for_manager(
            session, question_id=question_id, user_id=user, admins=ADMINS
        )


def test_the_answer_form_shows_the_question_with_its_votes_to_facilitators_only(
    ethiek: Database,
) -> None:
    asked = _ask(ethiek, "U1", "Wie kent een goed register?")
    assert _manager_view(ethiek, asked.id, "UFAC").votes == 0
    _vote(ethiek, asked.id, "U2")
    _vote(ethiek, asked.id, "U3")
    view = _manager_view(ethiek, asked.id, "UFAC")
    assert (view.id, view.text, view.asked_by, view.votes, view.voted, view.status) == (
        asked.id, "Wie kent een goed register?", "U1", 2, False, "open",
    )  # fmt: skip
    assert (view.community_slug, view.community_name) == ("ethiek", "Ethiek")
    for outsider in ("U1", "UOTHERFAC"):
        with pytest.raises(NotAllowed) as refused:
            _manager_view(ethiek, asked.id, outsider)
        assert refused.value.action == "manage_question"
    with pytest.raises(QuestionNotFound) as gone:
        _manager_view(ethiek, 424242, "UFAC")
    assert gone.value.question_id == 424242


def test_the_answer_form_of_an_answered_question_says_it_is_answered(ethiek: Database) -> None:
    asked = _ask(ethiek)
    with ethiek.write() as session:
        questions.answer(session, question_id=asked.id, text="Ja.", user_id="UFAC",
                         admins=ADMINS, now=NOW)  # fmt: skip
    with pytest.raises(QuestionAnswered) as refused:
        _manager_view(ethiek, asked.id, "UFAC")
    assert refused.value.question_id == asked.id
    with pytest.raises(QuestionAnswered) as again, ethiek.write() as session:
        questions.answer(session, question_id=asked.id, text="Nee.", user_id="UFAC",
                         admins=ADMINS, now=NOW)  # fmt: skip
    with pytest.raises(QuestionAnswered) as moved, ethiek.write() as session:
        questions.move(session, question_id=asked.id, status="research", user_id="UFAC",
                       admins=ADMINS)  # fmt: skip
    with pytest.raises(QuestionAnswered) as voted:
        _vote(ethiek, asked.id, "U2")
    assert {again.value.question_id, moved.value.question_id, voted.value.question_id} == {asked.id}


def test_moving_or_answering_is_refused_to_another_communitys_facilitator_naming_why(
    ethiek: Database,
) -> None:
    asked = _ask(ethiek)
    with pytest.raises(NotAllowed) as moved, ethiek.write() as session:
        questions.move(session, question_id=asked.id, status="research", user_id="UOTHERFAC",
                       admins=ADMINS)  # fmt: skip
    with pytest.raises(NotAllowed) as answered, ethiek.write() as session:
        questions.answer(session, question_id=asked.id, text="Nee.", user_id="UOTHERFAC",
                         admins=ADMINS, now=NOW)  # fmt: skip
    assert (moved.value.action, answered.value.action) == ("manage_question", "manage_question")
    stored = _stored(ethiek, asked.id)
    assert (stored.status, stored.status_by, stored.answer) == ("open", None, None)


def test_a_move_to_anything_but_research_or_a_working_group_is_a_programming_error(
    ethiek: Database,
) -> None:
    asked = _ask(ethiek)
    for status in ("answered", "open", "closed"):
        with pytest.raises(ValueError), ethiek.write() as session:
            questions.move(session, question_id=asked.id, status=status, user_id="UFAC",
                           admins=ADMINS)  # fmt: skip
    assert _stored(ethiek, asked.id).status == "open"


def test_a_moved_question_shows_its_votes_and_new_status(ethiek: Database) -> None:
    asked = _ask(ethiek)
    _vote(ethiek, asked.id, "U2")
    with ethiek.write() as session:
        moved = questions.move(session, question_id=asked.id, status="research", user_id="UFAC",
                               admins=ADMINS)  # fmt: skip
    assert (moved.id, moved.status, moved.votes, moved.voted) == (asked.id, "research", 1, False)


def test_an_answer_queues_a_notice_to_the_asker_and_each_voter_who_still_reads(
    ethiek: Database,
) -> None:
    asked = _ask(ethiek, "U1")
    for voter in ("U3", "U2"):
        _vote(ethiek, asked.id, voter)
    with ethiek.write() as session:
        membership.leave(session, query="ethiek", user_id="U2", now=NOW, tz=AMS)
    when = NOW + dt.timedelta(hours=1)
    with ethiek.write() as session:
        answered = questions.answer(session, question_id=asked.id, text="Zo.", user_id="UFAC",
                                    admins=ADMINS, now=when)  # fmt: skip
    assert answered.recipients == ("U1", "U3")
    assert (answered.question.votes, answered.question.answer, answered.question.status) == (
        2, "Zo.", "answered",
    )  # fmt: skip
    assert (answered.question.answered_by, answered.question.answered_at) == ("UFAC", when)
    assert (answered.question.id, answered.question.voted) == (asked.id, False)
    assert _stored(ethiek, asked.id).status_by == "UFAC"
    with ethiek.read() as session:
        queued = [
            (i.kind, i.recipient, i.subject, i.not_before)
            for i in session.scalars(
                select(OutboxItem).where(OutboxItem.kind == "question_answered")
            )
        ]
    assert queued == [
        ("question_answered", "U1", str(asked.id), when),
        ("question_answered", "U3", str(asked.id), when),
    ]


def _told(db: Database, question_id: int, user: str) -> questions.QuestionView | None:
    with db.read() as session:
        return questions.answered_for(session, question_id=question_id, user_id=user, admins=ADMINS)


def test_the_answer_notice_shows_the_answer_to_readers_only_and_nothing_otherwise(
    ethiek: Database,
) -> None:
    asked = _ask(ethiek, "U1")
    _vote(ethiek, asked.id, "U2")
    assert _told(ethiek, asked.id, "U1") is None  # not answered yet
    with ethiek.write() as session:
        questions.answer(session, question_id=asked.id, text="Zo.", user_id="UFAC",
                         admins=ADMINS, now=NOW)  # fmt: skip
    told = _told(ethiek, asked.id, "U1")
    assert told is not None
    assert (told.id, told.answer, told.votes, told.answered_by) == (asked.id, "Zo.", 1, "UFAC")
    assert told.voted is False
    assert _told(ethiek, asked.id, "UELSEWHERE") is None
    assert _told(ethiek, 424242, "U1") is None


def test_a_permalink_is_recorded_once_and_a_missing_question_is_passed_over(
    ethiek: Database,
) -> None:
    asked = _ask(ethiek)
    with ethiek.write() as session:
        questions.record_permalink(session, question_id=asked.id, permalink="https://eerst")
        questions.record_permalink(session, question_id=asked.id, permalink="https://later")
        questions.record_permalink(session, question_id=424242, permalink="https://weg")
    assert _stored(ethiek, asked.id).permalink == "https://eerst"


def test_answered_questions_come_latest_answer_first_after_the_open_ones(
    ethiek: Database,
) -> None:
    early, late, still_open = _ask(ethiek, text="een"), _ask(ethiek, text="twee"), _ask(ethiek)
    for question, hours in ((early, 1), (late, 5)):
        with ethiek.write() as session:
            questions.answer(session, question_id=question.id, text="Ja.", user_id="UFAC",
                             admins=ADMINS, now=NOW + dt.timedelta(hours=hours))  # fmt: skip
    with ethiek.read() as session:
        page = questions.list_questions(session, query="ethiek", user_id="U1", admins=ADMINS)
    assert [q.id for q in page.questions] == [still_open.id, late.id, early.id]
    assert (page.community_slug, page.community_name, page.page, page.pages, page.total) == (
        "ethiek", "Ethiek", 1, 1, 3,
    )  # fmt: skip


def test_a_page_before_the_first_is_the_first(ethiek: Database) -> None:
    with ethiek.read() as session:
        none = questions.list_questions(session, query="ethiek", user_id="U1", admins=ADMINS)
    assert (none.questions, none.total, none.pages, none.page) == ((), 0, 1, 1)
    for n in range(12):
        _ask(ethiek, text=f"vraag {n}")
    with ethiek.read() as session:
        first = questions.list_questions(session, query="ethiek", user_id="U1", admins=ADMINS)
        zero = questions.list_questions(
            session, query="ethiek", user_id="U1", admins=ADMINS, page=0
        )
        small = questions.list_questions(
            session, query="ethiek", user_id="U1", admins=ADMINS, page=2, page_size=5
        )
    assert zero.page == 1
    assert [q.id for q in zero.questions] == [q.id for q in first.questions]
    assert (small.page, small.pages, len(small.questions)) == (2, 3, 5)
    assert _stored(ethiek, small.questions[0].id).text == "vraag 5"


def test_a_question_keeps_where_it_came_from(ethiek: Database) -> None:
    with ethiek.write() as session:
        asked = questions.ask(
            session, query="ethiek", user_id="U1", text="Uit een draad", admins=ADMINS, now=NOW,
            permalink="https://slack/p1", source_channel="CSRC", source_ts="1.2",
        )  # fmt: skip
    stored = _stored(ethiek, asked.id)
    assert (stored.permalink, stored.source_channel, stored.source_ts) == (
        "https://slack/p1", "CSRC", "1.2",
    )  # fmt: skip
    assert (stored.created_at, stored.updated_at) == (NOW, NOW)
    assert (asked.permalink, asked.votes, asked.voted, asked.status) == (
        "https://slack/p1", 0, False, "open",
    )  # fmt: skip
