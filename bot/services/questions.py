"""Open questions of a community: asking, listing, voting, moving along and answering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services import communities, outbox, visibility
from bot.services.errors import (
    EmptyText,
    NotAllowed,
    QuestionAnswered,
    QuestionNotFound,
    TextTooLong,
)
from bot.services.membership import can_manage, participating, require_participant
from storage.models import Community, Question, QuestionVote

MAX_QUESTION_LENGTH = 3000
MAX_ANSWER_LENGTH = 3000
PAGE_SIZE = 10
# Unanswered questions, in the order a list shows them.
UNANSWERED = (Question.OPEN, Question.RESEARCH, Question.WORKING_GROUP)
# Where a facilitator may move an unanswered question (answering has its own function).
MOVES = (Question.RESEARCH, Question.WORKING_GROUP)
# How many leading words of `/cop vraag <community> <question>` may name the community.


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionView:
    id: int  # what buttons carry
    number: int  # "#3": its number in the community, as people know it
    community_slug: str
    community_name: str
    text: str
    asked_by: str
    status: str
    votes: int
    voted: bool  # by the person reading
    permalink: str | None
    answer: str | None
    answered_by: str | None
    answered_at: dt.datetime | None

    @property
    def answered(self) -> bool:
        return self.status == Question.ANSWERED


@dataclass(frozen=True)
class QuestionPage:
    community_slug: str
    community_name: str
    questions: tuple[QuestionView, ...]
    page: int  # 1-based
    pages: int
    total: int
    can_manage: bool


@dataclass(frozen=True)
class CommunityChoice:
    slug: str
    name: str


@dataclass(frozen=True)
class VoteResult:
    question_id: int
    number: int  # in the community, as people know it
    voted: bool  # the vote stands after this click
    votes: int
    community_slug: str  # the list to draw again


@dataclass(frozen=True)
class Answered:
    question: QuestionView
    # The asker and everyone who voted, each once, the asker first.
    recipients: tuple[str, ...]


# -- access -------------------------------------------------------------------------------


def _question(session: Session, question_id: int, *, for_update: bool = False) -> Question:
    question = session.get(
        Question, question_id, with_for_update=for_update, populate_existing=for_update
    )
    if question is None:
        raise QuestionNotFound(question_id)
    return question


def _votes(session: Session, question_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(QuestionVote)
            .where(QuestionVote.question_id == question_id)
        )
        or 0
    )


def _view(q: Question, *, votes: int, voted: bool) -> QuestionView:
    return QuestionView(
        id=q.id,
        number=q.number,
        community_slug=q.community.slug,
        community_name=q.community.name,
        text=q.text,
        asked_by=q.asked_by,
        status=q.status,
        votes=votes,
        voted=voted,
        permalink=q.permalink,
        answer=q.answer,
        answered_by=q.answered_by,
        answered_at=q.answered_at,
    )


def _clean(text: str, limit: int) -> str:
    text = text.strip()
    if not text:
        raise EmptyText()
    if len(text) > limit:
        raise TextTooLong(text=text, limit=limit)
    return text


# -- asking -------------------------------------------------------------------------------


def split_community(session: Session, text: str) -> tuple[str, str]:
    """`<community> <rest>`: the slug named by the leading words and the rest."""
    community, rest = communities.split_name(session, text)
    return community.slug, rest


def ask(
    session: Session,
    *,
    query: str,
    user_id: str,
    text: str,
    admins: Collection[str],
    now: dt.datetime,
    permalink: str | None = None,
    source_channel: str | None = None,
    source_ts: str | None = None,
) -> QuestionView:
    """Store a question of a member, facilitator or admin of the community.

    Call inside a write transaction. Raises CommunityNotFound, NotInCommunity,
    EmptyText and TextTooLong (over MAX_QUESTION_LENGTH characters).
    """
    community = communities.resolve(session, query)
    require_participant(session, community, user_id, admins)
    # The community's next number; the UPDATE locks its row, so two questions asked at
    # once get two numbers.
    number = session.execute(
        update(Community)
        .where(Community.id == community.id)
        .values(question_counter=Community.question_counter + 1)
        .returning(Community.question_counter),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    question = Question(
        community_id=community.id,
        number=number,
        text=_clean(text, MAX_QUESTION_LENGTH),
        asked_by=user_id,
        status=Question.OPEN,
        permalink=permalink,
        source_channel=source_channel,
        source_ts=source_ts,
        created_at=now,
        updated_at=now,
    )
    session.add(question)
    session.flush()
    return _view(question, votes=0, voted=False)


def record_permalink(session: Session, *, question_id: int, permalink: str) -> None:
    """The link to the message a question was saved from, when it came after the save."""
    question = session.get(Question, question_id)
    if question is not None and question.permalink is None:
        question.permalink = permalink


def communities_for(
    session: Session, *, user_id: str, admins: Collection[str]
) -> list[CommunityChoice]:
    """The communities where `user_id` may ask: where they are a member or facilitator;
    every community for an admin (`membership.participating`, the rule of `ask`). Ordered
    by name."""
    found = participating(session, user_id=user_id, admins=admins)
    return [CommunityChoice(slug, name) for slug, name in found]


# -- reading ------------------------------------------------------------------------------


def list_questions(
    session: Session,
    *,
    query: str,
    user_id: str,
    admins: Collection[str],
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> QuestionPage:
    """A page of a community's questions: unanswered ones first (most votes first), then
    answered ones (latest answer first). Only for members, facilitators and admins.

    Raises CommunityNotFound and NotInCommunity.
    """
    community = communities.resolve(session, query)
    manages = require_participant(session, community, user_id, admins)
    votes = (
        select(QuestionVote.question_id, func.count().label("n"))
        .group_by(QuestionVote.question_id)
        .subquery()
    )
    mine = select(QuestionVote.question_id).where(QuestionVote.user_id == user_id)
    answered = Question.status == Question.ANSWERED
    total = (
        session.scalar(
            select(func.count()).select_from(Question).where(Question.community_id == community.id)
        )
        or 0
    )
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    count = func.coalesce(votes.c.n, 0)
    rows = session.execute(
        select(Question, count, Question.id.in_(mine))
        .outerjoin(votes, votes.c.question_id == Question.id)
        .where(Question.community_id == community.id)
        .order_by(
            case((answered, 1), else_=0),  # unanswered first
            case((answered, 0), else_=count).desc(),  # most votes first, while open
            Question.answered_at.desc(),  # the latest answer first, once answered
            Question.id,
        )
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return QuestionPage(
        community_slug=community.slug,
        community_name=community.name,
        questions=tuple(_view(q, votes=int(n), voted=bool(voted)) for q, n, voted in rows),
        page=page,
        pages=pages,
        total=total,
        can_manage=manages,
    )


def question_for_manager(
    session: Session, *, question_id: int, user_id: str, admins: Collection[str]
) -> QuestionView:
    """A question that `user_id` may answer (to show in the answer form).

    Raises QuestionNotFound, NotAllowed and QuestionAnswered.
    """
    question = _question(session, question_id)
    if not can_manage(session, question.community_id, user_id, admins):
        raise NotAllowed("manage_question")
    if question.status == Question.ANSWERED:
        raise QuestionAnswered(question_id, question.number)
    return _view(question, votes=_votes(session, question_id), voted=False)


# -- voting -------------------------------------------------------------------------------


def toggle_vote(
    session: Session, *, question_id: int, user_id: str, admins: Collection[str]
) -> VoteResult:
    """Vote for a question, or take the vote back when there is one already.

    One vote per person, kept by the unique (question_id, user_id); the count is always
    read from the votes themselves. Call inside a write transaction. Raises
    QuestionNotFound, NotInCommunity and QuestionAnswered.
    """
    question = _question(session, question_id)
    require_participant(session, question.community, user_id, admins)
    if question.status == Question.ANSWERED:
        raise QuestionAnswered(question_id, question.number)
    removed = session.execute(
        delete(QuestionVote)
        .where(QuestionVote.question_id == question_id, QuestionVote.user_id == user_id)
        .returning(QuestionVote.id)
    ).all()
    voted = not removed
    if voted:
        try:
            with session.begin_nested():
                session.add(QuestionVote(question_id=question_id, user_id=user_id))
        except IntegrityError:
            # The same person's other click got in first (a double click): one vote stands.
            pass
    return VoteResult(
        question_id=question_id, number=question.number, voted=voted,
        votes=_votes(session, question_id), community_slug=question.community.slug,
    )  # fmt: skip


# -- facilitators -------------------------------------------------------------------------


def move(
    session: Session,
    *,
    question_id: int,
    status: str,
    user_id: str,
    admins: Collection[str],
) -> QuestionView:
    """A facilitator puts an unanswered question "in onderzoek" or with a "werkgroep".

    Call inside a write transaction. Raises QuestionNotFound, NotAllowed (not a
    facilitator of its community nor an admin) and QuestionAnswered.
    """
    if status not in MOVES:
        raise ValueError(f"cannot move a question to {status!r}")
    question = _question(session, question_id, for_update=True)
    if not can_manage(session, question.community_id, user_id, admins):
        raise NotAllowed("manage_question")
    if question.status == Question.ANSWERED:
        raise QuestionAnswered(question_id, question.number)
    question.status = status
    question.status_by = user_id
    session.flush()
    return _view(question, votes=_votes(session, question_id), voted=False)


def answered_for(
    session: Session, *, question_id: int, user_id: str, admins: Collection[str]
) -> QuestionView | None:
    """The answered question as `user_id` (its asker or a voter) is told of it; None when
    the question is gone or not answered (any more), or `user_id` no longer reads the
    community's questions (visibility)."""
    question = session.get(Question, question_id)
    if question is None or question.status != Question.ANSWERED:
        return None
    if not visibility.readers(session, question.community_id, [user_id], admins):
        return None
    return _view(question, votes=_votes(session, question_id), voted=False)


def answer(
    session: Session,
    *,
    question_id: int,
    text: str,
    user_id: str,
    admins: Collection[str],
    now: dt.datetime,
) -> Answered:
    """A facilitator answers a question; returns who should hear of it, and queues the
    answer to each of them in the outbox (kind `question_answered`).

    Call inside a write transaction. Raises QuestionNotFound, NotAllowed,
    QuestionAnswered, EmptyText and TextTooLong (over MAX_ANSWER_LENGTH).
    """
    question = _question(session, question_id, for_update=True)
    if not can_manage(session, question.community_id, user_id, admins):
        raise NotAllowed("manage_question")
    if question.status == Question.ANSWERED:
        raise QuestionAnswered(question_id, question.number)
    question.answer = _clean(text, MAX_ANSWER_LENGTH)
    question.status = Question.ANSWERED
    question.status_by = user_id
    question.answered_by = user_id
    question.answered_at = now
    session.flush()
    voters = list(
        session.scalars(
            select(QuestionVote.user_id)
            .where(QuestionVote.question_id == question_id)
            .order_by(QuestionVote.id)
        )
    )
    # Only who may still read the community's questions hears the answer (visibility):
    # an asker or voter who has left since is not told.
    recipients = visibility.readers(
        session, question.community_id, dict.fromkeys([question.asked_by, *voters]), admins
    )
    # Each of them is told by the delivery worker once this transaction commits.
    for recipient in recipients:
        outbox.enqueue(
            session, kind=outbox.QUESTION_ANSWERED, recipient=recipient,
            subject=str(question_id), now=now,
        )  # fmt: skip
    return Answered(
        question=_view(question, votes=len(voters), voted=False),
        recipients=recipients,
    )
