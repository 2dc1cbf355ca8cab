"""Meetings from Slack: add, move and cancel them, list them, and answer whether you come."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import communities, outbox, reminders, visibility
from bot.services.catalog import MEETING_KINDS
from bot.services.errors import (
    DuplicateMeeting,
    MeetingNotFound,
    MeetingOver,
    MeetingTooFarAhead,
    NotAllowed,
    NotInCommunity,
)
from bot.services.membership import can_manage, managed
from bot.services.views import MeetingView
from storage.models import Community, Facilitator, Meeting, Membership, Rsvp

DEFAULT_LENGTH = dt.timedelta(hours=2)
# A meeting's `source` once it was planned, moved or cancelled in Slack (else "catalog").
SLACK = "slack"
# What a meeting notice (outbox kind `meeting_notice`) tells a member.
MOVED = "moved"
CANCELLED = "cancelled"
# A CoP plans a year or two ahead; five years is room for that and keeps typos such as
# 2207 (and the calendar arithmetic on them) out.
PLANNING_HORIZON = dt.timedelta(days=5 * 365)


@dataclass(frozen=True)
class MeetingChange:
    """What happened to a meeting, and who should hear of it."""

    community_name: str
    community_slug: str
    channel_id: str | None
    meeting: MeetingView
    previous_starts_at: dt.datetime | None
    members: tuple[str, ...]


@dataclass(frozen=True)
class MeetingDetails:
    """Kind, place and title of a meeting, as a form edits them together."""

    kind: str
    location: str | None
    title: str | None


@dataclass(frozen=True)
class MeetingForm:
    """What the meeting form shows: the community, and the meeting when it moves one."""

    community_name: str
    community_slug: str
    meeting: MeetingView | None


@dataclass(frozen=True)
class MeetingLine:
    number: int
    community_name: str
    community_slug: str
    meeting: MeetingView
    coming: int
    not_coming: int
    my_answer: str | None
    agenda: str | None
    # False for a reader outside the community (visibility): no counts, answer or agenda.
    members_view: bool = True


@dataclass(frozen=True)
class RsvpResult:
    community_name: str
    meeting: MeetingView
    answer: str
    coming: int
    not_coming: int


def _members(session: Session, community_id: int) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(Membership.user_id)
            .where(Membership.community_id == community_id, Membership.status == Membership.MEMBER)
            .order_by(Membership.seq)
        )
    )


def _change(
    session: Session, community: Community, meeting: Meeting, previous: dt.datetime | None
) -> MeetingChange:
    return MeetingChange(
        community_name=community.name,
        community_slug=community.slug,
        channel_id=community.channel_id,
        meeting=communities.meeting_view(meeting),
        previous_starts_at=previous,
        members=_members(session, community.id),
    )


def add(
    session: Session,
    *,
    query: str,
    user_id: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None = None,
    kind: str = "online",
    location: str | None = None,
    title: str | None = None,
    admins: Collection[str],
    offsets: Sequence[dt.timedelta],
    now: dt.datetime,
    tz: ZoneInfo,
) -> MeetingChange:
    """A facilitator (or admin) plans a meeting; its reminders are planned with it.
    Without `ends_at` it lasts DEFAULT_LENGTH.

    Raises CommunityNotFound, NotAllowed, MeetingTooFarAhead and DuplicateMeeting (the
    community has a scheduled meeting at that moment already: a second one is a mistake,
    such as the same command sent twice).
    """
    community = managed(session, query, user_id, admins, "add_meeting")
    _within_horizon(starts_at, now, tz)
    twin = session.scalar(
        select(Meeting.id).where(
            Meeting.community_id == community.id,
            Meeting.status == Meeting.SCHEDULED,
            Meeting.starts_at == starts_at,
        )
    )
    if twin is not None:
        raise DuplicateMeeting(community.name, community.slug, starts_at)
    meeting = Meeting(
        community_id=community.id,
        key=f"slack-{uuid.uuid4().hex[:12]}",
        title=title,
        starts_at=starts_at,
        ends_at=ends_at or starts_at + DEFAULT_LENGTH,
        kind=kind if kind in MEETING_KINDS else "online",
        location=location,
        status=Meeting.SCHEDULED,
        source=SLACK,
    )
    session.add(meeting)
    session.flush()
    reminders.plan(session, meeting, reminders.offsets_for(community, offsets), now=now, tz=tz)
    return _change(session, community, meeting, None)


def _numbered(session: Session, community: Community, number: int, now: dt.datetime) -> Meeting:
    upcoming = communities.upcoming_meetings(session, community.id, now)
    if not 1 <= number <= len(upcoming):
        raise MeetingNotFound(community.name, number)
    return upcoming[number - 1]


def _by_id(session: Session, community: Community, meeting_id: int, now: dt.datetime) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if (
        meeting is None
        or meeting.community_id != community.id
        or meeting.status != Meeting.SCHEDULED
        or meeting.starts_at <= now
    ):
        raise MeetingNotFound(community.name)
    return meeting


def form(
    session: Session,
    *,
    query: str,
    user_id: str,
    meeting_id: int | None,
    admins: Collection[str],
    now: dt.datetime,
) -> MeetingForm:
    """What the meeting form needs, for someone who may manage the community: to plan a
    meeting (`meeting_id` None) or to move an upcoming one.

    Raises CommunityNotFound, NotAllowed and MeetingNotFound.
    """
    community = communities.resolve(session, query)
    if not can_manage(session, community.id, user_id, admins):
        raise NotAllowed("move_meeting" if meeting_id is not None else "add_meeting")
    meeting = None
    if meeting_id is not None:
        meeting = communities.meeting_view(_by_id(session, community, meeting_id, now))
    return MeetingForm(
        community_name=community.name, community_slug=community.slug, meeting=meeting
    )


def _within_horizon(starts_at: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> None:
    latest = now + PLANNING_HORIZON
    if starts_at > latest:
        raise MeetingTooFarAhead(latest.astimezone(tz).date())


def _replan(
    session: Session,
    community: Community,
    meeting: Meeting,
    offsets: Sequence[dt.timedelta],
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> None:
    """After a move or cancellation: calendars update by the sequence, reminders follow."""
    meeting.sequence += 1
    session.flush()
    reminders.plan(session, meeting, reminders.offsets_for(community, offsets), now=now, tz=tz)


def move(
    session: Session,
    *,
    query: str,
    number: int | None = None,
    meeting_id: int | None = None,
    user_id: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None = None,
    details: MeetingDetails | None = None,
    admins: Collection[str],
    offsets: Sequence[dt.timedelta],
    now: dt.datetime,
    tz: ZoneInfo,
) -> MeetingChange:
    """Move the `number`-th upcoming meeting (or the upcoming one with `meeting_id`);
    pending reminders follow it. Without `ends_at` it keeps its length; `details`, when
    given, replace its kind, place and title.

    Raises CommunityNotFound, NotAllowed, MeetingNotFound and MeetingTooFarAhead.
    """
    community = managed(session, query, user_id, admins, "move_meeting")
    _within_horizon(starts_at, now, tz)
    if meeting_id is not None:
        meeting = _by_id(session, community, meeting_id, now)
    else:
        meeting = _numbered(session, community, number or 0, now)
    previous = meeting.starts_at
    meeting.source = SLACK  # a reload of the catalogue leaves it as moved (catalog.py)
    length = (meeting.ends_at - meeting.starts_at) if meeting.ends_at else DEFAULT_LENGTH
    meeting.starts_at, meeting.ends_at = starts_at, ends_at or starts_at + length
    if details is not None:
        meeting.kind = details.kind if details.kind in MEETING_KINDS else meeting.kind
        meeting.location, meeting.title = details.location, details.title
    _replan(session, community, meeting, offsets, now=now, tz=tz)
    change = _change(session, community, meeting, previous)
    _queue_notices(session, change, now=now)
    return change


def cancel(
    session: Session,
    *,
    query: str,
    number: int | None = None,
    meeting_id: int | None = None,
    user_id: str,
    admins: Collection[str],
    offsets: Sequence[dt.timedelta],
    now: dt.datetime,
    tz: ZoneInfo,
) -> MeetingChange:
    """Cancel the `number`-th upcoming meeting (or the upcoming one with `meeting_id`);
    its reminders are dropped.

    Raises CommunityNotFound, NotAllowed and MeetingNotFound.
    """
    community = managed(session, query, user_id, admins, "cancel_meeting")
    if meeting_id is not None:
        meeting = _by_id(session, community, meeting_id, now)
    else:
        meeting = _numbered(session, community, number or 0, now)
    meeting.status = Meeting.CANCELLED
    meeting.source = SLACK  # a reload of the catalogue does not bring it back
    _replan(session, community, meeting, offsets, now=now, tz=tz)
    change = _change(session, community, meeting, None)
    _queue_notices(session, change, now=now)
    return change


def _queue_notices(session: Session, change: MeetingChange, *, now: dt.datetime) -> None:
    """Every member hears of a move (the old and the new time) or a cancellation: one
    outbox item each (kind `meeting_notice`), sent once this transaction commits."""
    payload: dict[str, str]
    if change.previous_starts_at is not None:
        payload = {
            "change": MOVED,
            "from": change.previous_starts_at.isoformat(),
            "to": change.meeting.starts_at.isoformat(),
        }
    else:
        payload = {"change": CANCELLED, "at": change.meeting.starts_at.isoformat()}
    for user in change.members:
        outbox.enqueue(
            session, kind=outbox.MEETING_NOTICE, recipient=user,
            subject=str(change.meeting.id), now=now, payload=payload,
        )  # fmt: skip


@dataclass(frozen=True)
class NoticeContext:
    """What a meeting notice needs at send time."""

    community_name: str
    scheduled: bool  # not cancelled (yet)
    starts_at: dt.datetime  # the meeting's, now


def notice_context(session: Session, *, meeting_id: int, user_id: str) -> NoticeContext | None:
    """The meeting a notice is about, for a member of its community; None when the meeting
    is gone or `user_id` is no longer a member (left, forgotten)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not visibility.is_member(session, meeting.community_id, user_id):
        return None
    community = session.get(Community, meeting.community_id)
    if community is None:
        return None
    return NoticeContext(
        community_name=community.name,
        scheduled=meeting.status == Meeting.SCHEDULED,
        starts_at=meeting.starts_at,
    )


def manageable(
    session: Session, *, user_id: str, slugs: Collection[str], admins: Collection[str]
) -> frozenset[str]:
    """Which of the communities `slugs` `user_id` may plan meetings for."""
    rows = session.execute(select(Community.id, Community.slug).where(Community.slug.in_(slugs)))
    return frozenset(slug for cid, slug in rows if can_manage(session, cid, user_id, admins))


def plannable(session: Session, *, user_id: str, admins: Collection[str]) -> list[tuple[str, str]]:
    """(slug, name) of the communities `user_id` may plan meetings for (`can_manage`: the
    ones they facilitate; every community for an admin). Ordered by name."""
    query = select(Community.slug, Community.name).order_by(Community.name, Community.slug)
    if user_id not in admins:
        facilitated = select(Facilitator.community_id).where(Facilitator.user_id == user_id)
        query = query.where(Community.id.in_(facilitated))
    return [(slug, name) for slug, name in session.execute(query)]


def _counts(session: Session, meeting_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    rows = session.execute(
        select(Rsvp.meeting_id, Rsvp.answer, func.count())
        .where(Rsvp.meeting_id.in_(meeting_ids))
        .group_by(Rsvp.meeting_id, Rsvp.answer)
    )
    return {(mid, answer): n for mid, answer, n in rows}


def member_of_any(session: Session, *, user_id: str) -> bool:
    """Whether `user_id` is a member of some community (waitlist and requests not counted)."""
    found = session.scalar(
        select(Membership.id)
        .where(Membership.user_id == user_id, Membership.status == Membership.MEMBER)
        .limit(1)
    )
    return found is not None


def upcoming(
    session: Session,
    *,
    user_id: str,
    query: str | None,
    now: dt.datetime,
    admins: Collection[str] = (),
    limit: int = 40,
) -> list[MeetingLine]:
    """Upcoming meetings of one community, or of all of `user_id`'s communities. Dates,
    kinds and places are for everyone; RSVP counts, the user's own answer and the agenda
    only where `user_id` is a member, facilitator or admin (bot.services.visibility).
    Numbers count per community, from 1."""
    if query:
        ids = [communities.resolve(session, query).id]
    else:
        ids = list(
            session.scalars(
                select(Membership.community_id).where(
                    Membership.user_id == user_id, Membership.status == Membership.MEMBER
                )
            )
        )
    lines: list[MeetingLine] = []
    whole = visibility.members_view(session, user_id, admins, ids)
    for community_id in ids:
        community = session.get(Community, community_id)
        assert community is not None
        meetings = communities.upcoming_meetings(session, community_id, now)
        seen = visibility.Audience.MEMBERS if community_id in whole else visibility.Audience.PUBLIC
        rsvps = visibility.can_read(seen, visibility.Part.RSVPS)
        agenda = visibility.can_read(seen, visibility.Part.AGENDA)
        counts = _counts(session, [m.id for m in meetings]) if rsvps else {}
        mine = (
            dict(
                session.execute(
                    select(Rsvp.meeting_id, Rsvp.answer).where(
                        Rsvp.user_id == user_id, Rsvp.meeting_id.in_([m.id for m in meetings])
                    )
                ).all()
            )
            if rsvps
            else {}
        )
        for number, meeting in enumerate(meetings, start=1):
            lines.append(
                MeetingLine(
                    number=number,
                    community_name=community.name,
                    community_slug=community.slug,
                    meeting=communities.meeting_view(meeting),
                    coming=counts.get((meeting.id, Rsvp.YES), 0),
                    not_coming=counts.get((meeting.id, Rsvp.NO), 0),
                    my_answer=mine.get(meeting.id),
                    agenda=meeting.agenda if agenda else None,
                    members_view=rsvps,
                )
            )
    lines.sort(key=lambda line: line.meeting.starts_at)
    return lines[:limit]


def rsvp(
    session: Session, *, meeting_id: int, user_id: str, coming: bool, now: dt.datetime
) -> RsvpResult:
    """Record (or change) whether `user_id` comes. Only members may answer, and only
    before the meeting begins. Raises MeetingNotFound, NotInCommunity and MeetingOver."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise MeetingNotFound("?")
    community = session.get(Community, meeting.community_id)
    assert community is not None
    # Answering is for members proper (facilitators see the counts, members say if they come).
    if not visibility.is_member(session, community.id, user_id):
        raise NotInCommunity(community.name, community.slug, part=visibility.Part.RSVPS.value)
    if meeting.status != Meeting.SCHEDULED or meeting.starts_at <= now:
        raise MeetingOver(community.name)
    answer = Rsvp.YES if coming else Rsvp.NO
    existing = session.scalars(
        select(Rsvp).where(Rsvp.meeting_id == meeting_id, Rsvp.user_id == user_id)
    ).one_or_none()
    if existing is None:
        session.add(Rsvp(meeting_id=meeting_id, user_id=user_id, answer=answer))
    else:
        existing.answer = answer
    session.flush()
    counts = _counts(session, [meeting_id])
    return RsvpResult(
        community_name=community.name,
        meeting=communities.meeting_view(meeting),
        answer=answer,
        coming=counts.get((meeting_id, Rsvp.YES), 0),
        not_coming=counts.get((meeting_id, Rsvp.NO), 0),
    )


def attendees(session: Session, *, meeting_id: int) -> list[str]:
    """Who said they come, in the order they answered (for a site visit's list)."""
    return list(
        session.scalars(
            select(Rsvp.user_id)
            .where(Rsvp.meeting_id == meeting_id, Rsvp.answer == Rsvp.YES)
            .order_by(Rsvp.updated_at, Rsvp.id)
        )
    )


def sync_reminders(
    session: Session,
    *,
    offsets: Sequence[dt.timedelta],
    now: dt.datetime,
    tz: ZoneInfo,
    batch_size: int = 2000,
    community_ids: Collection[int] | None = None,
) -> int:
    """Plan reminders for every upcoming meeting (of `community_ids` only, when given):
    after a catalogue load, or when the offsets changed. Works through the meetings
    `batch_size` at a time, so memory stays bounded. Returns how many it looked at."""
    after, seen = 0, 0
    while batch := reminders.plan_batch(
        session, offsets=offsets, now=now, tz=tz, after=after, limit=batch_size,
        community_ids=community_ids,
    ):  # fmt: skip
        after, seen = batch[0], seen + batch[1]
    return seen
