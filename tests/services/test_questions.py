"""Open questions: who may ask, read and vote; votes once per person, even all at once;
facilitators move and answer; the asker and the voters hear the answer."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import membership, questions
from bot.services.errors import (
    CommunityNotFound,
    EmptyText,
    NotAllowed,
    NotInCommunity,
    QuestionAnswered,
    TextTooLong,
)
from bot.services.questions import QuestionView, VoteResult
from storage.db import Database
from storage.models import Question, QuestionVote
from tests.conftest import NOW
from tests.factories import add_community
from tests.services.test_concurrency import run_at_once

AMS = ZoneInfo("Europe/Amsterdam")
ADMINS = frozenset({"UADMIN"})


def _join(db: Database, slug: str, *users: str) -> None:
    for user in users:
        with db.write() as session:
            membership.join(session, query=slug, user_id=user, now=NOW, tz=AMS)


def seed_ethiek(db: Database) -> Database:
    """Ethiek (facilitated by UFAC, members U1 to U3) and Lokaal meten (nobody in it)."""
    add_community(db, "ethiek", name="Ethiek", facilitators=("UFAC",))
    add_community(db, "lokaal-meten", name="Lokaal meten")
    _join(db, "ethiek", "U1", "U2", "U3")
    return db


@pytest.fixture
def ethiek(db: Database) -> Database:
    return seed_ethiek(db)


def _ask(db: Database, user: str = "U1", text: str = "Hoe leggen jullie algoritmes uit?",
         slug: str = "ethiek") -> QuestionView:  # fmt: skip
    with db.write() as session:
        return questions.ask(session, query=slug, user_id=user, text=text, admins=ADMINS, now=NOW)


def _vote(db: Database, question_id: int, user: str) -> VoteResult:
    with db.write() as session:
        return questions.toggle_vote(session, question_id=question_id, user_id=user, admins=ADMINS)


def _stored(db: Database, question_id: int) -> Question:
    with db.read() as session:
        question = session.get(Question, question_id)
        assert question is not None
        return question


def _vote_rows(db: Database, question_id: int) -> int:
    with db.read() as session:
        return session.scalar(
            select(func.count()).select_from(QuestionVote).where(
                QuestionVote.question_id == question_id
            )
        ) or 0  # fmt: skip


def test_a_member_asks_and_the_question_is_stored_open_with_its_asker(ethiek: Database) -> None:
    asked = _ask(ethiek, "U1", "  Wie heeft ervaring met een algoritmeregister?  ")

    stored = _stored(ethiek, asked.id)
    assert (stored.text, stored.asked_by, stored.status) == (
        "Wie heeft ervaring met een algoritmeregister?", "U1", "open",
    )  # fmt: skip
    assert asked.community_name == "Ethiek"


def test_facilitators_and_admins_may_ask_without_being_members(ethiek: Database) -> None:
    assert _ask(ethiek, "UFAC").asked_by == "UFAC"
    assert _ask(ethiek, "UADMIN").asked_by == "UADMIN"


def test_someone_outside_the_community_may_not_ask_read_or_vote(ethiek: Database) -> None:
    asked = _ask(ethiek)
    with pytest.raises(NotInCommunity) as refused:
        _ask(ethiek, "U9")
    assert (refused.value.community, refused.value.slug) == ("Ethiek", "ethiek")
    with pytest.raises(NotInCommunity), ethiek.read() as session:
        questions.list_questions(session, query="ethiek", user_id="U9", admins=ADMINS)
    with pytest.raises(NotInCommunity):
        _vote(ethiek, asked.id, "U9")
    assert _vote_rows(ethiek, asked.id) == 0


def test_a_place_on_the_waitlist_is_not_membership(db: Database) -> None:
    add_community(db, "klein", capacity=1)
    _join(db, "klein", "U1", "U2")  # U2 waits
    with pytest.raises(NotInCommunity):
        _ask(db, "U2", slug="klein")


def test_a_question_over_3000_characters_is_refused_and_kept_in_the_error(
    ethiek: Database,
) -> None:
    text = "waarom " * 500  # 3500 characters
    with pytest.raises(TextTooLong) as refused:
        _ask(ethiek, text=text)
    assert refused.value.limit == 3000
    assert refused.value.text == text.strip()
    assert _ask(ethiek, text="x" * 3000).text == "x" * 3000


def test_an_empty_question_is_refused(ethiek: Database) -> None:
    with pytest.raises(EmptyText):
        _ask(ethiek, text="   \n ")


def test_the_community_is_the_longest_run_of_leading_words_and_line_breaks_stay(
    ethiek: Database,
) -> None:
    with ethiek.read() as session:
        assert questions.split_community(session, "lokaal meten Hoe meet je\nverkeer?") == (
            "lokaal-meten", "Hoe meet je\nverkeer?",
        )  # fmt: skip
        assert questions.split_community(session, "Ethiek ethiek en AI") == (
            "ethiek", "ethiek en AI",
        )  # fmt: skip
        with pytest.raises(CommunityNotFound) as unknown:
            questions.split_community(session, "etiek waarom?")
    assert unknown.value.suggestions == ["ethiek"]


def test_a_second_vote_by_the_same_person_takes_the_first_back(ethiek: Database) -> None:
    asked = _ask(ethiek)

    assert _vote(ethiek, asked.id, "U2") == VoteResult(
        asked.id, asked.number, voted=True, votes=1, community_slug="ethiek"
    )
    assert _vote(ethiek, asked.id, "U3") == VoteResult(
        asked.id, asked.number, voted=True, votes=2, community_slug="ethiek"
    )
    assert _vote(ethiek, asked.id, "U2") == VoteResult(
        asked.id, asked.number, voted=False, votes=1, community_slug="ethiek"
    )
    assert _vote_rows(ethiek, asked.id) == 1


def test_the_list_shows_unanswered_questions_by_votes_then_answered_ones(
    ethiek: Database,
) -> None:
    first, popular, done = _ask(ethiek, text="een"), _ask(ethiek, text="twee"), _ask(ethiek)
    _vote(ethiek, popular.id, "U2")
    _vote(ethiek, done.id, "U2")
    _vote(ethiek, done.id, "U3")
    with ethiek.write() as session:
        questions.answer(session, question_id=done.id, text="Zo.", user_id="UFAC",
                         admins=ADMINS, now=NOW)  # fmt: skip

    with ethiek.read() as session:
        page = questions.list_questions(session, query="ethiek", user_id="U2", admins=ADMINS)

    assert [(q.id, q.status, q.votes, q.voted) for q in page.questions] == [
        (popular.id, "open", 1, True),
        (first.id, "open", 0, False),
        (done.id, "answered", 2, True),
    ]
    assert page.can_manage is False


def test_the_list_comes_in_pages_of_ten(ethiek: Database) -> None:
    for n in range(23):
        _ask(ethiek, text=f"vraag {n}")

    def page(number: int) -> questions.QuestionPage:
        with ethiek.read() as session:
            return questions.list_questions(
                session, query="ethiek", user_id="UFAC", admins=ADMINS, page=number
            )

    assert [len(page(n).questions) for n in (1, 2, 3)] == [10, 10, 3]
    assert (page(3).pages, page(3).total, page(99).page) == (3, 23, 3)
    seen = [q.id for n in (1, 2, 3) for q in page(n).questions]
    assert len(set(seen)) == 23
    assert page(1).can_manage is True


def test_a_facilitator_moves_a_question_and_the_mover_is_recorded(ethiek: Database) -> None:
    asked = _ask(ethiek)
    with ethiek.write() as session:
        questions.move(session, question_id=asked.id, status="research", user_id="UFAC",
                       admins=ADMINS)  # fmt: skip
    with ethiek.write() as session:
        moved = questions.move(session, question_id=asked.id, status="working_group",
                               user_id="UADMIN", admins=ADMINS)  # fmt: skip

    assert moved.status == "working_group"
    stored = _stored(ethiek, asked.id)
    assert (stored.status, stored.status_by) == ("working_group", "UADMIN")


def _move_and_answer_are_refused(
    db: Database, question_id: int, user: str, error: type[Exception]
) -> None:
    """Moving the question to research and answering it are each refused with `error`."""
    with pytest.raises(error), db.write() as session:
        questions.move(session, question_id=question_id, status="research", user_id=user,
                       admins=ADMINS)  # fmt: skip
    with pytest.raises(error), db.write() as session:
        questions.answer(session, question_id=question_id, text="Nee.", user_id=user,
                         admins=ADMINS, now=NOW)  # fmt: skip


def test_a_member_may_not_move_or_answer_and_nothing_changes(ethiek: Database) -> None:
    asked = _ask(ethiek)
    _move_and_answer_are_refused(ethiek, asked.id, "U2", NotAllowed)

    stored = _stored(ethiek, asked.id)
    assert (stored.status, stored.status_by, stored.answer) == ("open", None, None)


def test_an_answer_records_who_and_when_and_names_the_asker_and_voters_once(
    ethiek: Database,
) -> None:
    asked = _ask(ethiek, "U1")
    for voter in ("U3", "U1", "U2"):
        _vote(ethiek, asked.id, voter)

    with ethiek.write() as session:
        answered = questions.answer(session, question_id=asked.id, text=" Lees de gids. ",
                                    user_id="UFAC", admins=ADMINS, now=NOW)  # fmt: skip

    assert answered.recipients == ("U1", "U3", "U2")
    stored = _stored(ethiek, asked.id)
    assert (stored.status, stored.answer, stored.answered_by, stored.answered_at) == (
        "answered", "Lees de gids.", "UFAC", NOW,
    )  # fmt: skip


def test_an_answered_question_takes_no_more_votes_moves_or_answers(ethiek: Database) -> None:
    asked = _ask(ethiek)
    with ethiek.write() as session:
        questions.answer(session, question_id=asked.id, text="Ja.", user_id="UFAC",
                         admins=ADMINS, now=NOW)  # fmt: skip
    with pytest.raises(QuestionAnswered):
        _vote(ethiek, asked.id, "U2")
    _move_and_answer_are_refused(ethiek, asked.id, "UFAC", QuestionAnswered)
    assert _stored(ethiek, asked.id).answer == "Ja."


def test_an_answer_over_3000_characters_is_refused(ethiek: Database) -> None:
    asked = _ask(ethiek)
    with pytest.raises(TextTooLong) as refused, ethiek.write() as session:
        questions.answer(session, question_id=asked.id, text="a" * 3001, user_id="UFAC",
                         admins=ADMINS, now=NOW)  # fmt: skip
    assert refused.value.limit == 3000
    assert _stored(ethiek, asked.id).status == "open"


def test_the_communities_to_save_a_question_in_are_ones_own_or_all_for_an_admin(
    ethiek: Database,
) -> None:
    with ethiek.read() as session:

        def slugs(user: str) -> list[str]:
            return [c.slug for c in questions.communities_for(session, user_id=user,
                                                             admins=ADMINS)]  # fmt: skip

        assert slugs("U1") == ["ethiek"]
        assert slugs("UFAC") == ["ethiek"]
        assert slugs("UADMIN") == ["ethiek", "lokaal-meten"]
        assert slugs("U9") == []


def _voting(question_id: int, user: str) -> Callable[[Session], VoteResult]:
    def task(session: Session) -> VoteResult:
        return questions.toggle_vote(session, question_id=question_id, user_id=user, admins=ADMINS)

    return task


@pytest.mark.parametrize("processes", [1, 4], ids=["one-process", "four-processes"])
def test_twenty_simultaneous_votes_count_exactly_twenty(
    db: Database, db_url: str, processes: int
) -> None:
    add_community(db, "ethiek")
    voters = [f"U{i:03d}" for i in range(20)]
    _join(db, "ethiek", "UASK", *voters)
    asked = _ask(db, "UASK")
    writers = [db, *(Database(db_url) for _ in range(processes - 1))]
    try:
        results, errors = run_at_once(writers, [_voting(asked.id, u) for u in voters])
        # Half of them change their minds, all at once again.
        undone, undo_errors = run_at_once(writers, [_voting(asked.id, u) for u in voters[:10]])
    finally:
        for extra in writers[1:]:
            extra.dispose()

    assert errors == [] and undo_errors == []
    assert all(r.voted for r in results) and not any(r.voted for r in undone)
    assert len(results) == 20
    assert _vote_rows(db, asked.id) == 10
    with db.read() as session:
        page = questions.list_questions(session, query="ethiek", user_id="UASK", admins=ADMINS)
    assert page.questions[0].votes == 10


def test_one_person_clicking_twice_at_once_leaves_at_most_one_vote(
    db: Database, db_url: str
) -> None:
    add_community(db, "ethiek")
    _join(db, "ethiek", "U1")
    asked = _ask(db, "U1")
    writers = [db, Database(db_url)]
    try:
        results, errors = run_at_once(writers, [_voting(asked.id, "U1") for _ in range(6)])
    finally:
        writers[1].dispose()

    assert errors == []
    assert len(results) == 6
    assert _vote_rows(db, asked.id) in (0, 1)
