"""What a person's App Home shows, read in one go: their communities, what they can join,
and, for facilitators and admins, the community they manage.

Every part is read through the rules that the typed commands use (membership,
visibility, meetings), and bounded: a page of each list, one managed community at a
time, so the view stays within Slack's 100 blocks whatever the workspace's size. The
caller (handlers/home.py) passes a `HomeState`: which page and which community is shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.services import admins as admins_service
from bot.services import communities
from bot.services.membership import waitlist_position
from bot.services.views import CommunitySummary, MeetingView
from bot.services.visibility import Audience, Part, can_read, members_view
from storage.models import Community, Facilitator, Meeting, Membership, Question, QuestionVote, Rsvp

MINE_PER_PAGE = 5
DISCOVER_PER_PAGE = 5
# A managed community's lists: the first few, with the total ("en 12 anderen").
PENDING_SHOWN = 5
MEETINGS_SHOWN = 3
QUESTIONS_SHOWN = 5
# A static_select holds at most 100 options (remove a member, move one up, choose a
# community to manage).
MAX_OPTIONS = 100
# What a summary reads of a community (communities.CommunityRow), as plain columns.
_SUMMARY = (
    Community.id, Community.slug, Community.name, Community.programme, Community.capacity,
    Community.registration_deadline, Community.approval, Community.channel_id,
    Community.member_count, Community.waitlist_count,
)  # fmt: skip


@dataclass(frozen=True)
class HomeState:
    """Which part of the lists the Home tab shows; kept in the view's private_metadata."""

    mine_page: int = 0
    discover_page: int = 0
    # The slug of the community whose management panel is open (facilitators, admins).
    focus: str | None = None

    def encode(self) -> str:
        return f"{self.mine_page}|{self.discover_page}|{self.focus or ''}"

    @classmethod
    def decode(cls, text: str | None) -> HomeState:
        """Never fails: what a stranger's (or an old version's) metadata holds is ignored."""
        parts = (text or "").split("|")
        try:
            mine, discover = (max(0, min(int(p), 10_000)) for p in parts[:2])
        except ValueError:
            return cls()
        focus = parts[2][:64] if len(parts) > 2 and parts[2] else None
        return cls(mine, discover, focus)

    def paged(self, **changes: int | str | None) -> HomeState:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class MyMeeting:
    meeting: MeetingView
    # Members only (visibility): the agenda and my own answer.
    agenda: str | None
    my_answer: str | None


@dataclass(frozen=True)
class MyCommunity:
    summary: CommunitySummary
    status: str  # member, waitlist, pending
    position: int | None  # on the waitlist
    next_meeting: MyMeeting | None


@dataclass(frozen=True)
class MyQuestion:
    number: int  # within its community (#1 is its first question)
    community_name: str
    text: str
    status: str
    asked: bool  # else: followed (voted)


@dataclass(frozen=True)
class Attendance:
    meeting: MeetingView
    has_agenda: bool
    coming: tuple[str, ...]
    not_coming: tuple[str, ...]
    unanswered: tuple[str, ...]


@dataclass(frozen=True)
class ManagedCommunity:
    summary: CommunitySummary
    facilitators: tuple[str, ...]
    members: tuple[str, ...]
    waitlist: tuple[str, ...]
    pending: tuple[str, ...]
    meetings: tuple[Attendance, ...]
    meetings_total: int
    open_questions: int
    # The first few questions still to handle: (id, number in the community, text).
    questions: tuple[tuple[int, int, str], ...] = ()


@dataclass(frozen=True)
class HomePage:
    user_id: str
    is_admin: bool
    state: HomeState
    mine: tuple[MyCommunity, ...]
    mine_total: int
    questions: tuple[MyQuestion, ...]
    discover: tuple[CommunitySummary, ...]
    discover_total: int
    # (slug, name) of what the viewer may manage (admins: every community, the first 100).
    manageable: tuple[tuple[str, str], ...]
    manageable_total: int
    managed: ManagedCommunity | None
    # For an admin: every admin, and whether they were appointed in Slack (else COP_ADMINS).
    admins: tuple[tuple[str, bool], ...] = ()


def _paged(session: Session, query: Any, page: int, per_page: int) -> tuple[list[Any], int, int]:
    """One page of `query`'s rows (each with a last column, `total`) and the total, in
    one statement (a windowed count); a page past the end (the list shrank meanwhile)
    gives the last page."""
    counted = query.add_columns(func.count().over().label("total"))
    rows = session.execute(counted.offset(page * per_page).limit(per_page)).all()
    if not rows and page > 0:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = max(0, (total - 1) // per_page)
        rows = session.execute(counted.offset(page * per_page).limit(per_page)).all()
    total = rows[0].total if rows else 0
    return list(rows), total, page


def _mine(
    session: Session, user_id: str, state: HomeState, *, now: dt.datetime, tz: ZoneInfo
) -> tuple[tuple[MyCommunity, ...], int, int]:
    query = (
        select(Membership, *_SUMMARY)
        .join(Community, Community.id == Membership.community_id)
        .where(Membership.user_id == user_id)
        .order_by(Community.programme, Community.name)
    )
    found, total, page = _paged(session, query, state.mine_page, MINE_PER_PAGE)
    rows = [(row[0], row) for row in found]
    summaries = communities.summaries(session, [c for _, c in rows], now=now, tz=tz)
    # A member sees the community whole (visibility); someone waiting or asking may still
    # do so as its facilitator.
    others = [m.community_id for m, _ in rows if m.status != Membership.MEMBER]
    whole = {m.community_id for m, _ in rows if m.status == Membership.MEMBER}
    whole |= members_view(session, user_id, (), others) if others else frozenset()
    next_ids = [s.next_meeting.id for s in summaries if s.next_meeting is not None]
    details: dict[int, tuple[str | None, str | None]] = {}
    if next_ids:
        answers = session.execute(
            select(Meeting.id, Meeting.agenda, Rsvp.answer)
            .outerjoin(Rsvp, (Rsvp.meeting_id == Meeting.id) & (Rsvp.user_id == user_id))
            .where(Meeting.id.in_(next_ids))
        )
        details = {mid: (agenda, answer) for mid, agenda, answer in answers}
    entries: list[MyCommunity] = []
    for (membership, _), summary in zip(rows, summaries, strict=True):
        seen = Audience.MEMBERS if membership.community_id in whole else Audience.PUBLIC
        upcoming = None
        if summary.next_meeting is not None:
            agenda, answer = details.get(summary.next_meeting.id, (None, None))
            upcoming = MyMeeting(
                meeting=summary.next_meeting,
                agenda=agenda if can_read(seen, Part.AGENDA) else None,
                my_answer=answer if can_read(seen, Part.RSVPS) else None,
            )
        position = None
        if membership.status == Membership.WAITLIST:
            position = waitlist_position(session, membership)
        entries.append(MyCommunity(summary, membership.status, position, upcoming))
    return tuple(entries), total, page


def _questions(session: Session, user_id: str) -> tuple[MyQuestion, ...]:
    """Questions I asked or follow that are not answered yet, newest first, where I am
    still a member (visibility: questions are members-only)."""
    followed = select(QuestionVote.question_id).where(QuestionVote.user_id == user_id)
    member_of = select(Membership.community_id).where(
        Membership.user_id == user_id, Membership.status == Membership.MEMBER
    )
    rows = session.execute(
        select(Question.number, Community.name, Question.text, Question.status, Question.asked_by)
        .join(Community, Community.id == Question.community_id)
        .where(
            or_(Question.asked_by == user_id, Question.id.in_(followed)),
            Question.status != Question.ANSWERED,
            Question.community_id.in_(member_of),
        )
        .order_by(Question.id.desc())
        .limit(QUESTIONS_SHOWN)
    )
    return tuple(
        MyQuestion(number, name, text, status, asked_by == user_id)
        for number, name, text, status, asked_by in rows
    )


def _discover(
    session: Session, user_id: str, state: HomeState, *, now: dt.datetime, tz: ZoneInfo
) -> tuple[tuple[CommunitySummary, ...], int, int]:
    """Communities I am not in (member, waitlist or request), a page at a time."""
    mine = select(Membership.community_id).where(Membership.user_id == user_id)
    # Counted apart: a windowed count would read every community's row to count them.
    total = session.scalar(
        select(select(func.count()).select_from(Community).scalar_subquery()
               - select(func.count()).select_from(mine.subquery()).scalar_subquery())
    ) or 0  # fmt: skip
    page = min(state.discover_page, max(0, (total - 1) // DISCOVER_PER_PAGE))
    rows = session.execute(
        select(*_SUMMARY)
        .where(Community.id.not_in(mine))
        .order_by(Community.programme, Community.name)
        .offset(page * DISCOVER_PER_PAGE)
        .limit(DISCOVER_PER_PAGE)
    ).all()
    found = communities.summaries(session, rows, now=now, tz=tz)
    return tuple(found), total, page


def _manageable(
    session: Session, user_id: str, is_admin: bool
) -> tuple[tuple[tuple[str, str], ...], int]:
    query = select(Community.slug, Community.name)
    if not is_admin:
        query = query.join(Facilitator, Facilitator.community_id == Community.id).where(
            Facilitator.user_id == user_id
        )
    rows, total, _ = _paged(
        session, query.order_by(Community.programme, Community.name), 0, MAX_OPTIONS
    )
    return tuple((row.slug, row.name) for row in rows), total


def attendance(session: Session, community_id: int, members: tuple[str, ...],
               meetings: list[Meeting]) -> tuple[Attendance, ...]:  # fmt: skip
    """Per meeting, by name: who comes, who does not, and which members have not answered."""
    ids = [m.id for m in meetings]
    answers: dict[int, dict[str, str]] = {mid: {} for mid in ids}
    if ids:
        rows = session.execute(
            select(Rsvp.meeting_id, Rsvp.user_id, Rsvp.answer)
            .where(Rsvp.meeting_id.in_(ids))
            .order_by(Rsvp.updated_at, Rsvp.id)
        )
        for mid, user, answer in rows:
            answers[mid][user] = answer
    result = []
    for meeting in meetings:
        given = answers[meeting.id]
        result.append(
            Attendance(
                meeting=communities.meeting_view(meeting),
                has_agenda=bool(meeting.agenda),
                coming=tuple(u for u, a in given.items() if a == Rsvp.YES),
                not_coming=tuple(u for u, a in given.items() if a == Rsvp.NO),
                unanswered=tuple(u for u in members if u not in given),
            )
        )
    return tuple(result)


def managed_community(
    session: Session, community: Community, *, now: dt.datetime, tz: ZoneInfo
) -> ManagedCommunity:
    """A community as its facilitators and the admins run it: people by name and in order,
    the next meetings with who comes, and the count of questions to handle."""
    rows = session.execute(
        select(Membership.user_id, Membership.status)
        .where(Membership.community_id == community.id)
        .order_by(Membership.seq)
    ).all()
    members = tuple(u for u, s in rows if s == Membership.MEMBER)
    upcoming = communities.upcoming_meetings(session, community.id, now)
    open_questions = session.scalar(
        select(func.count())
        .select_from(Question)
        .where(Question.community_id == community.id, Question.status != Question.ANSWERED)
    ) or 0  # fmt: skip
    to_handle = session.execute(
        select(Question.id, Question.number, Question.text)
        .where(Question.community_id == community.id, Question.status != Question.ANSWERED)
        .order_by(Question.id)
        .limit(QUESTIONS_SHOWN)
    ).all() if open_questions else []  # fmt: skip
    summary = communities.summary(session, community, now=now, tz=tz, next_meeting=False)
    if upcoming:
        summary = replace(summary, next_meeting=communities.meeting_view(upcoming[0]))
    return ManagedCommunity(
        summary=summary,
        facilitators=tuple(communities.facilitator_ids(session, community.id)),
        members=members,
        waitlist=tuple(u for u, s in rows if s == Membership.WAITLIST),
        pending=tuple(u for u, s in rows if s == Membership.PENDING),
        meetings=attendance(session, community.id, members, upcoming[:MEETINGS_SHOWN]),
        meetings_total=len(upcoming),
        open_questions=open_questions,
        questions=tuple((qid, number, text) for qid, number, text in to_handle),
    )


def home(
    session: Session,
    *,
    user_id: str,
    state: HomeState,
    admins: Collection[str],
    now: dt.datetime,
    tz: ZoneInfo,
) -> HomePage:
    """Everything `user_id`'s Home tab shows, in the state asked for (pages past the end
    show the last page; a focus the viewer may not manage is dropped)."""
    is_admin = user_id in admins
    mine, mine_total, mine_page = _mine(session, user_id, state, now=now, tz=tz)
    discover, discover_total, discover_page = _discover(session, user_id, state, now=now, tz=tz)
    manageable, manageable_total = _manageable(session, user_id, is_admin)
    focus = state.focus
    slugs = {slug for slug, _ in manageable}
    # Beyond the first 100 an admin may still have picked one: that is checked directly.
    picked_beyond = (
        focus is not None
        and is_admin
        and session.scalar(select(Community.id).where(Community.slug == focus)) is not None
    )
    if focus not in slugs and not picked_beyond:
        # A request to decide comes first; else a facilitator's first community (an
        # admin picks one from the menu).
        waiting = _waiting_on(session, slugs)
        if waiting is not None:
            focus = waiting
        else:
            focus = manageable[0][0] if manageable and not is_admin else None
    managed = None
    if focus is not None:
        community = session.scalars(select(Community).where(Community.slug == focus)).one()
        managed = managed_community(session, community, now=now, tz=tz)
    admin_list: tuple[tuple[str, bool], ...] = ()
    if is_admin:
        in_slack = admins_service.appointed(session)
        admin_list = tuple((u, u in in_slack) for u in sorted(set(admins) | in_slack))
    return HomePage(
        admins=admin_list,
        user_id=user_id,
        is_admin=is_admin,
        state=HomeState(mine_page, discover_page, focus),
        mine=mine,
        mine_total=mine_total,
        questions=_questions(session, user_id),
        discover=discover,
        discover_total=discover_total,
        manageable=manageable,
        manageable_total=manageable_total,
        managed=managed,
    )


def _waiting_on(session: Session, slugs: Collection[str]) -> str | None:
    """Of the communities `slugs`, the first (by programme and name) with a request to
    decide: what a facilitator's tab opens on, so a request is seen."""
    if not slugs:
        return None
    return session.scalar(
        select(Community.slug)
        .join(Membership, Membership.community_id == Community.id)
        .where(Community.slug.in_(slugs), Membership.status == Membership.PENDING)
        .order_by(Community.programme, Community.name)
        .limit(1)
    )


def community_name(session: Session, slug: str) -> str:
    return communities.resolve(session, slug).name
