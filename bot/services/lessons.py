"""Lessons shared with the whole programme: short texts and answered questions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.i18n import Translator
from bot.services import communities, outbox, visibility
from bot.services.errors import (
    AlreadyPublished,
    NotAllowed,
    NotAnswered,
    QuestionNotFound,
)
from bot.services.membership import can_manage
from bot.text import markdown as md
from storage.models import Community, Lesson, Question

MAX_LESSON = 3000
MAX_TITLE = 200


@dataclass(frozen=True)
class LessonView:
    id: int
    community_slug: str
    community_name: str
    programme: str
    title: str | None
    text: str
    published_by: str
    published_at: dt.datetime
    from_question: bool


@dataclass(frozen=True)
class Published:
    """A stored lesson, and where it is to be posted (None: nowhere to post it)."""

    lesson: LessonView
    channel_id: str | None
    ts: str | None = None  # its channel post, once made


@dataclass(frozen=True)
class LessonPage:
    lessons: tuple[LessonView, ...]
    total: int
    page: int
    pages: int
    community_slug: str | None
    community_name: str | None


def _view(lesson: Lesson, community: Community) -> LessonView:
    return LessonView(
        id=lesson.id,
        community_slug=community.slug,
        community_name=community.name,
        programme=community.programme,
        title=lesson.title,
        text=lesson.text,
        published_by=lesson.published_by,
        published_at=lesson.published_at,
        from_question=lesson.question_id is not None,
    )


def _store(
    session: Session, community: Community, lesson: Lesson, default_channel: str | None
) -> Published:
    channel = community.lessons_channel_id or default_channel
    lesson.channel_id = channel
    session.add(lesson)
    session.flush()
    if channel is not None:
        # The channel post waits in the outbox from this transaction on (LESSON_POST).
        outbox.enqueue(
            session, kind=outbox.LESSON_POST, recipient=channel, subject=str(lesson.id),
            now=lesson.published_at,
        )  # fmt: skip
    return Published(_view(lesson, community), channel)


def publish_text(
    session: Session,
    *,
    query: str,
    user_id: str,
    text: str,
    admins: Collection[str],
    now: dt.datetime,
    default_channel: str | None,
) -> Published:
    """Store a short lesson of the community `query` names. Raises CommunityNotFound and
    NotAllowed (facilitators and admins only)."""
    community = communities.resolve(session, query)
    if not can_manage(session, community.id, user_id, admins):
        raise NotAllowed("lesson")
    if len(text) > MAX_LESSON:
        raise ValueError("a lesson longer than MAX_LESSON reached the service")
    lesson = Lesson(community_id=community.id, text=text, published_by=user_id, published_at=now)
    return _store(session, community, lesson, default_channel)


def publish_question(
    session: Session,
    *,
    question_id: int,
    user_id: str,
    admins: Collection[str],
    now: dt.datetime,
    default_channel: str | None,
) -> Published:
    """Publish an answered question as a lesson, once. Raises QuestionNotFound, NotAllowed,
    NotAnswered and AlreadyPublished."""
    question = session.get(Question, question_id)
    if question is None:
        raise QuestionNotFound(question_id)
    community = question.community
    if not can_manage(session, community.id, user_id, admins):
        raise NotAllowed("lesson")
    if question.status != Question.ANSWERED or not (question.answer or "").strip():
        raise NotAnswered(question_id)
    earlier = session.scalar(select(Lesson.published_at).where(Lesson.question_id == question_id))
    if earlier is not None:
        raise AlreadyPublished(community.name, earlier)
    title = " ".join(question.text.split())
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1] + "…"
    lesson = Lesson(
        community_id=community.id,
        question_id=question_id,
        title=title,
        text=question.answer or "",
        published_by=user_id,
        published_at=now,
    )
    try:
        # Two facilitators clicking at once: the unique question_id lets one of them win.
        with session.begin_nested():
            return _store(session, community, lesson, default_channel)
    except IntegrityError as exc:
        raise AlreadyPublished(community.name, None) from exc


def published(session: Session, *, lesson_id: int) -> Published | None:
    """A stored lesson, where it is to be posted and its post; None when it is gone."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        return None
    community = session.get(Community, lesson.community_id)
    assert community is not None
    return Published(_view(lesson, community), lesson.channel_id, lesson.ts)


def record_post(session: Session, *, lesson_id: int, ts: str) -> None:
    session.execute(update(Lesson).where(Lesson.id == lesson_id).values(ts=ts))


def page(
    session: Session,
    *,
    query: str | None,
    page: int,
    per_page: int,
    user_id: str | None = None,
    admins: Collection[str] = (),
) -> LessonPage:
    """Lessons, newest first, of one community or of all; `page` counts from 1. A lesson
    is stored when it is published, and published lessons are for everyone (see
    bot.services.visibility). Raises CommunityNotFound and NotInCommunity."""
    community = communities.resolve(session, query) if query else None
    if community is not None and user_id is not None:
        visibility.require(session, community, visibility.Part.LESSONS, user_id, admins)
    where = [Lesson.community_id == community.id] if community is not None else []
    if not visibility.can_read(visibility.Audience.PUBLIC, visibility.Part.LESSONS):
        where.append(false())  # the listing of all communities is public
    total = session.scalar(select(func.count()).select_from(Lesson).where(*where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = session.execute(
        select(Lesson, Community)
        .join(Community, Community.id == Lesson.community_id)
        .where(*where)
        .order_by(Lesson.published_at.desc(), Lesson.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return LessonPage(
        lessons=tuple(_view(lesson, c) for lesson, c in rows),
        total=total,
        page=page,
        pages=pages,
        community_slug=community.slug if community is not None else None,
        community_name=community.name if community is not None else None,
    )


def everything(session: Session) -> list[LessonView]:
    """Every lesson, by programme, community and date: for the export, which is public
    (bot.services.visibility: published lessons are shared with the whole programme)."""
    if not visibility.can_read(visibility.Audience.PUBLIC, visibility.Part.LESSONS):
        return []
    rows = session.execute(
        select(Lesson, Community)
        .join(Community, Community.id == Lesson.community_id)
        .order_by(Community.programme, Community.name, Lesson.published_at, Lesson.id)
    ).all()
    return [_view(lesson, c) for lesson, c in rows]


def _md_line(text: str) -> str:
    """Text for one line of Markdown (a heading, a label): on one line, escaped."""
    return md(" ".join(text.split()))


def markdown(lessons: list[LessonView], t: Translator) -> str:
    """Every lesson as one Markdown document, by programme and community, ready to
    publish: the users' text reads as they wrote it, escaped for Markdown (bot.text),
    so that none of it becomes HTML, a link, a heading or a list."""
    out = [f"# {t('lessons_md_title')}", ""]
    if not lessons:
        out += [t("lessons_md_empty"), ""]
    programme: str | None = None
    community: str | None = None
    for lesson in lessons:
        if lesson.programme != programme:
            programme, community = lesson.programme, None
            out += [f"## {_md_line(programme or t('programme_other'))}", ""]
        if lesson.community_slug != community:
            community = lesson.community_slug
            out += [f"### {_md_line(lesson.community_name)}", ""]
        if lesson.title:
            out += [f"**{t('lessons_md_question')}:** {_md_line(lesson.title)}", ""]
            out += [f"**{t('lessons_md_answer')}:**", ""]
        else:
            out += [f"**{t('lessons_md_lesson')}:**", ""]
        out += [md(lesson.text.strip()), ""]
        date = t.date(lesson.published_at.astimezone(t.tz).date())
        out += [f"*{t('lessons_md_date', date=date)}*", "", "---", ""]
    return "\n".join(out).rstrip("\n-").rstrip() + "\n"
