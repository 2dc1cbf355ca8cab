"""Questions, in detail: each community numbers its own questions 1, 2, 3, and a refusal
because a question is answered names both its id (for buttons) and its number (for people)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from bot.services import questions
from bot.services.errors import QuestionAnswered
from storage.db import Database
from tests.conftest import NOW
from tests.services.test_questions import ADMINS, _ask, seed_ethiek


@pytest.fixture
def ethiek(db: Database) -> Database:
    return seed_ethiek(db)


def test_each_community_numbers_its_questions_from_one_up(ethiek: Database) -> None:
    first, second = _ask(ethiek, "U1"), _ask(ethiek, "U2")
    # An admin may ask in any community; the other community starts at #1 of its own.
    elsewhere = _ask(ethiek, "UADMIN", slug="lokaal-meten")
    third = _ask(ethiek, "U3")
    assert (first.number, second.number, third.number) == (1, 2, 3)
    assert elsewhere.number == 1


def _answered_second_question(db: Database) -> int:
    """The id of ethiek's question #2, answered; its id is not 2 (another community's
    question and ethiek's #1 came first)."""
    _ask(db, "UADMIN", slug="lokaal-meten")
    _ask(db, "U1")
    asked = _ask(db, "U2")
    assert asked.number == 2
    assert asked.id != 2
    with db.write() as session:
        questions.answer(session, question_id=asked.id, text="Ja.", user_id="UFAC",
                         admins=ADMINS, now=NOW)  # fmt: skip
    return asked.id


def _open_answer_form(session: Session, question_id: int) -> object:
    return questions.question_for_manager(
        session, question_id=question_id, user_id="UFAC", admins=ADMINS
    )


def _answer_again(session: Session, question_id: int) -> object:
    return questions.answer(session, question_id=question_id, text="Nee.", user_id="UFAC",
                            admins=ADMINS, now=NOW)  # fmt: skip


def _move(session: Session, question_id: int) -> object:
    return questions.move(session, question_id=question_id, status="research", user_id="UFAC",
                          admins=ADMINS)  # fmt: skip


def _vote_for(session: Session, question_id: int) -> object:
    return questions.toggle_vote(session, question_id=question_id, user_id="U3", admins=ADMINS)


@pytest.mark.parametrize(
    "act", [_open_answer_form, _answer_again, _move, _vote_for],
    ids=["answer form", "answer", "move", "vote"],
)  # fmt: skip
def test_acting_on_an_answered_question_is_refused_naming_its_id_and_number(
    ethiek: Database, act: Callable[[Session, int], object]
) -> None:
    question_id = _answered_second_question(ethiek)
    with pytest.raises(QuestionAnswered) as refused, ethiek.write() as session:
        act(session, question_id)
    assert (refused.value.question_id, refused.value.number) == (question_id, 2)
