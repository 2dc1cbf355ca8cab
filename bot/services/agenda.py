"""Agenda topics and agendas: members propose and vote on topics, facilitators set the agenda."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services import communities, outbox
from bot.services.errors import (
    AgendaInvalid,
    MeetingNotFound,
    MeetingOver,
    NotAllowed,
    NoUpcomingMeeting,
    TextTooLong,
    TopicNotFound,
)
from bot.services.membership import can_manage, require_participant
from bot.services.views import MeetingView
from storage.models import Community, Meeting, Topic, TopicVote

MAX_TOPIC_LENGTH = 2000
MAX_AGENDA_LENGTH = 3000
MAX_SPEAKERS_LENGTH = 500
TOPICS_PER_PAGE = 15
# Topics shown under "no agenda yet", and taken into a new agenda's first draft.
TOP_TOPICS = 5
DRAFT_TOPICS = 10
# Meetings offered in the agenda form's picker.
FORM_MEETINGS = 25
# A toggle retries when a simultaneous click of the same person got in between;
# each retry means another click won, so this bounds nothing a person can do.
_TOGGLE_ATTEMPTS = 50


@dataclass(frozen=True)
class TopicLine:
    id: int
    text: str
    proposed_by: str
    votes: int
    mine: bool  # the reader voted for it


@dataclass(frozen=True)
class TopicPage:
    community_name: str
    community_slug: str
    topics: tuple[TopicLine, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class Proposed:
    community_name: str
    community_slug: str
    topic: TopicLine


@dataclass(frozen=True)
class Vote:
    topic_id: int
    community_name: str
    community_slug: str
    voted: bool
    votes: int


@dataclass(frozen=True)
class AgendaView:
    """The next meeting of a community with its agenda, or the top topics when it has none."""

    community_name: str
    community_slug: str
    meeting: MeetingView | None
    agenda: str | None
    speakers: str | None
    version: int
    by: str | None
    top_topics: tuple[TopicLine, ...]
    can_manage: bool


@dataclass(frozen=True)
class AgendaForm:
    community_name: str
    community_slug: str
    meetings: tuple[MeetingView, ...]
    selected: int
    text: str
    speakers: str


@dataclass(frozen=True)
class PublishedAgenda:
    """A meeting's agenda as the channel post shows it, and where that post is."""

    community_name: str
    channel_id: str | None
    meeting: MeetingView
    agenda: str
    speakers: str | None
    version: int
    by: str | None
    ts: str | None


def split_community(session: Session, text: str) -> tuple[Community, str]:
    """The community named by the leading words of `text`, and the text after it."""
    return communities.split_name(session, text)


def _lines(
    session: Session, community_id: int, user_id: str, *, offset: int, limit: int
) -> tuple[TopicLine, ...]:
    votes = func.count(TopicVote.id)
    rows = session.execute(
        select(Topic.id, Topic.text, Topic.proposed_by, votes)
        .outerjoin(TopicVote, TopicVote.topic_id == Topic.id)
        .where(Topic.community_id == community_id, Topic.status == Topic.OPEN)
        .group_by(Topic.id, Topic.text, Topic.proposed_by, Topic.created_at)
        .order_by(votes.desc(), Topic.created_at, Topic.id)
        .offset(offset)
        .limit(limit)
    ).all()
    ids = [row[0] for row in rows]
    mine = set(
        session.scalars(
            select(TopicVote.topic_id).where(
                TopicVote.user_id == user_id, TopicVote.topic_id.in_(ids)
            )
        )
    )
    return tuple(
        TopicLine(id=tid, text=text, proposed_by=by, votes=n, mine=tid in mine)
        for tid, text, by, n in rows
    )


def propose(
    session: Session,
    *,
    query: str,
    user_id: str,
    text: str,
    admins: Collection[str],
    now: dt.datetime,
) -> Proposed:
    """A member proposes a topic for the next meeting.

    Raises CommunityNotFound, NotInCommunity and TextTooLong."""
    community = communities.resolve(session, query)
    require_participant(session, community, user_id, admins)
    text = text.strip()
    if len(text) > MAX_TOPIC_LENGTH:
        raise TextTooLong(text=text, limit=MAX_TOPIC_LENGTH)
    topic = Topic(
        community_id=community.id, text=text, proposed_by=user_id, status=Topic.OPEN,
        created_at=now,
    )  # fmt: skip
    session.add(topic)
    session.flush()
    return Proposed(
        community_name=community.name,
        community_slug=community.slug,
        topic=TopicLine(id=topic.id, text=text, proposed_by=user_id, votes=0, mine=False),
    )


def topics(
    session: Session,
    *,
    query: str,
    user_id: str,
    admins: Collection[str],
    page: int = 1,
    per_page: int = TOPICS_PER_PAGE,
) -> TopicPage:
    """The open topics of a community, most votes first, then oldest first, one page.

    Raises CommunityNotFound and NotInCommunity."""
    community = communities.resolve(session, query)
    require_participant(session, community, user_id, admins)
    total = (
        session.scalar(
            select(func.count())
            .select_from(Topic)
            .where(Topic.community_id == community.id, Topic.status == Topic.OPEN)
        )
        or 0
    )
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    lines = _lines(session, community.id, user_id, offset=(page - 1) * per_page, limit=per_page)
    return TopicPage(
        community_name=community.name,
        community_slug=community.slug,
        topics=lines,
        page=page,
        pages=pages,
        total=total,
    )


def _toggle(session: Session, topic_id: int, user_id: str, now: dt.datetime) -> bool:
    """Take back the vote of `user_id` when there is one, else cast it; True when cast.

    The unique (topic, user) key decides between simultaneous clicks of one person: an
    insert that loses to another click's insert tries again, and then takes that vote back,
    so every click counts as one toggle in some order."""
    for _ in range(_TOGGLE_ATTEMPTS):
        removed = cast(
            "CursorResult[Any]",
            session.execute(
                delete(TopicVote).where(
                    TopicVote.topic_id == topic_id, TopicVote.user_id == user_id
                )
            ),
        ).rowcount
        if removed:
            return False
        try:
            # A savepoint: a lost race rolls back this insert only, not the transaction.
            with session.begin_nested():
                session.execute(
                    insert(TopicVote).values(topic_id=topic_id, user_id=user_id, created_at=now)
                )
            return True
        except IntegrityError:
            continue
    raise RuntimeError(f"vote of {user_id} on topic {topic_id} kept colliding")


def toggle_vote(
    session: Session, *, topic_id: int, user_id: str, admins: Collection[str], now: dt.datetime
) -> Vote:
    """Vote for a topic, or take the vote back when it was already cast.

    Raises TopicNotFound and NotInCommunity."""
    topic = session.get(Topic, topic_id)
    if topic is None or topic.status != Topic.OPEN:
        raise TopicNotFound(topic_id)
    community = session.get(Community, topic.community_id)
    assert community is not None
    require_participant(session, community, user_id, admins)
    voted = _toggle(session, topic_id, user_id, now)
    votes = session.scalar(
        select(func.count()).select_from(TopicVote).where(TopicVote.topic_id == topic_id)
    )
    return Vote(
        topic_id=topic_id,
        community_name=community.name,
        community_slug=community.slug,
        voted=voted,
        votes=votes or 0,
    )


def next_agenda(
    session: Session, *, query: str, user_id: str, admins: Collection[str], now: dt.datetime
) -> AgendaView:
    """The agenda of the next meeting that is not cancelled, for members and facilitators.

    Raises CommunityNotFound and NotInCommunity."""
    community = communities.resolve(session, query)
    manager = require_participant(session, community, user_id, admins)
    upcoming = communities.upcoming_meetings(session, community.id, now, limit=1)
    meeting = upcoming[0] if upcoming else None
    has_agenda = meeting is not None and bool(meeting.agenda)
    top = () if has_agenda else _lines(session, community.id, user_id, offset=0, limit=TOP_TOPICS)
    return AgendaView(
        community_name=community.name,
        community_slug=community.slug,
        meeting=communities.meeting_view(meeting) if meeting else None,
        agenda=meeting.agenda if meeting else None,
        speakers=meeting.agenda_speakers if meeting else None,
        version=meeting.agenda_version if meeting else 0,
        by=meeting.agenda_by if meeting else None,
        top_topics=top,
        can_manage=manager,
    )


def _draft(topics: tuple[TopicLine, ...]) -> str:
    """The most-voted open topics as a numbered list, whole lines within the agenda's limit."""
    lines: list[str] = []
    for number, topic in enumerate(topics, start=1):
        line = f"{number}. {' '.join(topic.text.split())}"
        if len("\n".join([*lines, line])) > MAX_AGENDA_LENGTH:
            break
        lines.append(line)
    return "\n".join(lines)


def agenda_form(
    session: Session,
    *,
    query: str,
    user_id: str,
    admins: Collection[str],
    now: dt.datetime,
    meeting_id: int | None = None,
) -> AgendaForm:
    """What the agenda form opens with: the upcoming meetings, the chosen one (else the
    next), and its agenda, or else a draft from the most-voted open topics.

    Raises CommunityNotFound, NotAllowed and NoUpcomingMeeting."""
    community = communities.resolve(session, query)
    if not can_manage(session, community.id, user_id, admins):
        raise NotAllowed("agenda")
    upcoming = communities.upcoming_meetings(session, community.id, now, limit=FORM_MEETINGS)
    if not upcoming:
        raise NoUpcomingMeeting(community.name, community.slug)
    chosen = next((m for m in upcoming if m.id == meeting_id), upcoming[0])
    text = chosen.agenda or _draft(
        _lines(session, community.id, user_id, offset=0, limit=DRAFT_TOPICS)
    )
    return AgendaForm(
        community_name=community.name,
        community_slug=community.slug,
        meetings=tuple(communities.meeting_view(m) for m in upcoming),
        selected=chosen.id,
        text=text,
        speakers=chosen.agenda_speakers or "",
    )


_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


def _take_topics(session: Session, meeting: Meeting, agenda: str) -> None:
    """Topics that are a line of the agenda leave the open list; topics dropped from an
    edited agenda come back to it."""
    lines = {_plain(_NUMBERING.sub("", line)) for line in agenda.splitlines()}
    candidates = session.scalars(
        select(Topic).where(
            Topic.community_id == meeting.community_id,
            (Topic.status == Topic.OPEN)
            | ((Topic.status == Topic.ON_AGENDA) & (Topic.meeting_id == meeting.id)),
        )
    )
    for topic in candidates:
        if _plain(topic.text) in lines:
            topic.status, topic.meeting_id = Topic.ON_AGENDA, meeting.id
        elif topic.status == Topic.ON_AGENDA:
            topic.status, topic.meeting_id = Topic.OPEN, None


def save_agenda(
    session: Session,
    *,
    meeting_id: int,
    user_id: str,
    text: str,
    speakers: str | None,
    admins: Collection[str],
    now: dt.datetime,
) -> PublishedAgenda:
    """Set (or edit) the agenda of an upcoming meeting; each save bumps its version.
    Only a facilitator of the meeting's community (or an admin) may, checked here. The
    channel post (or its update) and the note to `user_id` wait in the outbox from this
    transaction on (AGENDA_POST, see handlers/agenda.py `deliver_agenda`).

    Raises MeetingNotFound, NotAllowed, MeetingOver and AgendaInvalid."""
    # The row lock keeps simultaneous edits from losing a version.
    meeting = session.get(Meeting, meeting_id, with_for_update=True)
    if meeting is None:
        raise MeetingNotFound("?")
    community = session.get(Community, meeting.community_id)
    assert community is not None
    if not can_manage(session, community.id, user_id, admins):
        raise NotAllowed("agenda")
    if meeting.status != Meeting.SCHEDULED or meeting.starts_at <= now:
        raise MeetingOver(community.name)
    text = text.strip()
    speakers = (speakers or "").strip() or None
    if not text:
        raise AgendaInvalid("text", "empty")
    if len(text) > MAX_AGENDA_LENGTH:
        raise AgendaInvalid("text", "too_long", MAX_AGENDA_LENGTH, len(text))
    if speakers and len(speakers) > MAX_SPEAKERS_LENGTH:
        raise AgendaInvalid("speakers", "too_long", MAX_SPEAKERS_LENGTH, len(speakers))
    meeting.agenda, meeting.agenda_speakers = text, speakers
    meeting.agenda_by, meeting.agenda_at = user_id, now
    meeting.agenda_version += 1
    _take_topics(session, meeting, text)
    session.flush()
    outbox.enqueue(
        session, kind=outbox.AGENDA_POST, recipient=user_id, subject=str(meeting.id), now=now
    )
    return _published(community, meeting)


def _published(community: Community, meeting: Meeting) -> PublishedAgenda:
    return PublishedAgenda(
        community_name=community.name,
        channel_id=community.channel_id,
        meeting=communities.meeting_view(meeting),
        agenda=meeting.agenda or "",
        speakers=meeting.agenda_speakers,
        version=meeting.agenda_version,
        by=meeting.agenda_by,
        ts=meeting.agenda_ts,
    )


def published_agenda(session: Session, *, meeting_id: int) -> PublishedAgenda:
    """The agenda of a meeting as it stands now, for its channel post. Raises MeetingNotFound."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not meeting.agenda:
        raise MeetingNotFound("?")
    community = session.get(Community, meeting.community_id)
    assert community is not None
    return _published(community, meeting)


def record_agenda_post(session: Session, *, meeting_id: int, ts: str) -> None:
    """Remember the channel post of a meeting's agenda, so that edits update it."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is not None:
        meeting.agenda_ts = ts
