"""Calendar feeds: a secret token per person, and the meetings their feed shows."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import visibility
from bot.services.communities import meeting_view
from bot.services.ical import CalendarEvent
from bot.services.views import MeetingView
from bot.services.visibility import Audience, Part, can_read
from storage.models import CalendarFeed, Community, Meeting, Membership

# Meetings this long ago stay in a feed, so that subscribed calendars keep the history
# of the last months instead of deleting each meeting as soon as it is over.
FEED_HISTORY = dt.timedelta(days=180)
# A bound on one feed's size; a person in every community still stays well under it.
FEED_LIMIT = 1000


def new_token() -> str:
    """A fresh secret: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def token_of(session: Session, *, user_id: str) -> str | None:
    """The feed token `user_id` has, or None when they never asked for one."""
    feed = session.get(CalendarFeed, user_id)
    return feed.token if feed is not None else None


def ensure_token(session: Session, *, user_id: str) -> str:
    """The feed token of `user_id`, created on first use."""
    feed = session.get(CalendarFeed, user_id)
    if feed is None:
        feed = CalendarFeed(user_id=user_id, token=new_token())
        session.add(feed)
        session.flush()
    return feed.token


def reset_token(session: Session, *, user_id: str, now: dt.datetime) -> str:
    """Replace the feed token of `user_id`: links with the old one stop working."""
    feed = session.get(CalendarFeed, user_id)
    if feed is None:
        feed = CalendarFeed(user_id=user_id, token=new_token(), created_at=now)
        session.add(feed)
    else:
        feed.token = new_token()
        feed.created_at = now
    session.flush()
    return feed.token


def owner_of(session: Session, *, token: str) -> str | None:
    """Whose feed `token` opens; None for a token nobody has (or no longer has)."""
    return session.scalar(select(CalendarFeed.user_id).where(CalendarFeed.token == token))


def event_for(meeting: MeetingView, community_name: str, *, description: str = "") -> CalendarEvent:
    """One meeting as a calendar entry. The UID depends on the meeting alone, so the file
    from `/cop kalender` and the feed describe the same event."""
    # A meeting without a title of its own is "CoP Ethiek", not "CoP Ethiek: Ethiek".
    own = meeting.title if meeting.title and meeting.title != community_name else None
    return CalendarEvent(
        uid=f"meeting-{meeting.id}@cop-bot",
        sequence=meeting.sequence,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        summary=f"CoP {community_name}: {own}" if own else f"CoP {community_name}",
        description=description,
        location=meeting.location,
        cancelled=meeting.cancelled,
    )


def community_events(
    meetings: Iterable[MeetingView],
    community_name: str,
    agendas: Mapping[int, str] | None = None,
) -> list[CalendarEvent]:
    """The calendar entries for a community's (upcoming) meetings as a profile lists them;
    `agendas` (by meeting id, from `readable_agendas`) become their descriptions."""
    agendas = agendas or {}
    return [
        event_for(m, community_name, description=agendas.get(m.id, ""))
        for m in meetings
        if not m.cancelled
    ]


def readable_agendas(
    session: Session, *, user_id: str, meeting_ids: Collection[int], admins: Collection[str] = ()
) -> dict[int, str]:
    """The agendas of `meeting_ids` that `user_id` may read (the visibility rule), by id."""
    rows = session.execute(
        select(Meeting.id, Meeting.community_id, Meeting.agenda).where(
            Meeting.id.in_(meeting_ids), Meeting.agenda.is_not(None)
        )
    ).all()
    whole = visibility.members_view(session, user_id, admins, {cid for _, cid, _ in rows})
    return {
        mid: agenda
        for mid, cid, agenda in rows
        if agenda and can_read(Audience.MEMBERS if cid in whole else Audience.PUBLIC, Part.AGENDA)
    }


def feed_events(
    session: Session, *, user_id: str, now: dt.datetime, admins: Collection[str] = ()
) -> list[CalendarEvent]:
    """The meetings of every community `user_id` is a member of (not waitlisted or
    pending), from FEED_HISTORY ago on, cancelled ones included as cancelled; the agenda
    as the description where the visibility rule lets `user_id` read it.

    A moved or cancelled meeting keeps its UID and carries its bumped sequence, so a
    subscribed calendar moves or drops the event it already has.
    """
    rows = session.execute(
        select(Meeting, Community.name)
        .join(Community, Meeting.community_id == Community.id)
        .join(
            Membership,
            (Membership.community_id == Community.id)
            & (Membership.user_id == user_id)
            & (Membership.status == Membership.MEMBER),
        )
        .where(Meeting.starts_at >= now - FEED_HISTORY)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(FEED_LIMIT)
    ).all()
    whole = visibility.members_view(session, user_id, admins, {m.community_id for m, _ in rows})

    def description(meeting: Meeting) -> str:
        seen = Audience.MEMBERS if meeting.community_id in whole else Audience.PUBLIC
        return (meeting.agenda or "") if can_read(seen, Part.AGENDA) else ""

    return [
        event_for(meeting_view(meeting), community_name, description=description(meeting))
        for meeting, community_name in rows
    ]
