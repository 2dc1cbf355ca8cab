"""Minutes of meetings: the form's choices, saving them, and the day-after nudge."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.services import communities, outbox, visibility
from bot.services.errors import MeetingNotFound, NoPastMeetings, NotAllowed
from bot.services.visibility import can_manage
from storage.models import Community, Meeting

MAX_MINUTES = 3000
# A select menu holds at most 100 options.
MAX_CHOICES = 100
NUDGE_HOUR = 9
NUDGE_WINDOW = dt.timedelta(days=7)
# The earliest a nudge can be due: a meeting at 23:59 is nudged at 09:00 the next day.
_NUDGE_EARLIEST = dt.timedelta(hours=9)


@dataclass(frozen=True)
class MeetingChoice:
    id: int
    starts_at: dt.datetime
    title: str | None
    has_minutes: bool


@dataclass(frozen=True)
class MinutesForm:
    """What the minutes modal shows: past meetings, most recent first, and which is chosen."""

    community_slug: str
    community_name: str
    choices: tuple[MeetingChoice, ...]
    selected: int
    text: str | None  # the chosen meeting's minutes, when it has them


@dataclass(frozen=True)
class MinutesSaved:
    meeting_id: int
    community_slug: str
    community_name: str
    channel_id: str | None
    starts_at: dt.datetime
    title: str | None
    text: str
    by: str
    edited: bool
    ts: str | None  # the earlier channel post, to update


@dataclass(frozen=True)
class Nudge:
    meeting_id: int
    community_slug: str
    community_name: str
    starts_at: dt.datetime
    title: str | None
    facilitators: tuple[str, ...]


def _past(session: Session, community_id: int, now: dt.datetime) -> list[Meeting]:
    return list(
        session.scalars(
            select(Meeting)
            .where(
                Meeting.community_id == community_id,
                Meeting.status == Meeting.SCHEDULED,
                Meeting.starts_at <= now,
            )
            .order_by(Meeting.starts_at.desc())
            .limit(MAX_CHOICES)
        )
    )


def form(
    session: Session,
    *,
    user_id: str,
    admins: Collection[str],
    now: dt.datetime,
    query: str | None = None,
    meeting_id: int | None = None,
) -> MinutesForm:
    """The minutes form for the community `query` names (or the community of `meeting_id`,
    which is then the chosen meeting). Raises CommunityNotFound, MeetingNotFound,
    NotAllowed and NoPastMeetings."""
    chosen: Meeting | None = None
    if meeting_id is not None:
        chosen = session.get(Meeting, meeting_id)
        if chosen is None:
            raise MeetingNotFound("")
        community = chosen.community
    else:
        community = communities.resolve(session, query or "")
    if not can_manage(session, community.id, user_id, admins):
        raise NotAllowed("minutes")
    past = _past(session, community.id, now)
    if chosen is not None and all(m.id != chosen.id for m in past):
        if chosen.status != Meeting.SCHEDULED or chosen.starts_at > now:
            raise NoPastMeetings(community.name, community.slug)
        past.insert(0, chosen)
    if not past:
        raise NoPastMeetings(community.name, community.slug)
    if chosen is None:
        # The most recent meeting still waiting for its minutes, else the most recent one.
        chosen = next((m for m in past if m.minutes is None), past[0])
    return MinutesForm(
        community_slug=community.slug,
        community_name=community.name,
        choices=tuple(
            MeetingChoice(m.id, m.starts_at, m.title, m.minutes is not None) for m in past
        ),
        selected=chosen.id,
        text=chosen.minutes,
    )


def save(
    session: Session,
    *,
    meeting_id: int,
    user_id: str,
    text: str,
    admins: Collection[str],
    now: dt.datetime,
) -> MinutesSaved:
    """Store (or replace) the minutes of a meeting that has begun. Checks that `user_id`
    manages its community. The channel post (or its update) waits in the outbox from this
    transaction on (MINUTES_POST, see handlers/minutes.py `deliver_minutes`). Raises
    MeetingNotFound, NotAllowed and NoPastMeetings."""
    meeting = session.get(Meeting, meeting_id, with_for_update=True, populate_existing=True)
    if meeting is None:
        raise MeetingNotFound("")
    community = session.get(Community, meeting.community_id)
    assert community is not None
    if not can_manage(session, community.id, user_id, admins):
        raise NotAllowed("minutes")
    if meeting.status != Meeting.SCHEDULED or meeting.starts_at > now:
        raise NoPastMeetings(community.name, community.slug)
    if len(text) > MAX_MINUTES:
        raise ValueError("minutes longer than MAX_MINUTES reached the service")
    edited = meeting.minutes is not None
    meeting.minutes = text
    meeting.minutes_by = user_id
    meeting.minutes_at = now
    session.flush()
    outbox.enqueue(
        session, kind=outbox.MINUTES_POST, recipient=user_id, subject=str(meeting.id), now=now,
        payload={"edited": edited},
    )  # fmt: skip
    return _saved(community, meeting, by=user_id, edited=edited)


def _saved(community: Community, meeting: Meeting, *, by: str, edited: bool) -> MinutesSaved:
    return MinutesSaved(
        meeting_id=meeting.id,
        community_slug=community.slug,
        community_name=community.name,
        channel_id=community.channel_id,
        starts_at=meeting.starts_at,
        title=meeting.title,
        text=meeting.minutes or "",
        by=by,
        edited=edited,
        ts=meeting.minutes_ts,
    )


def saved(session: Session, *, meeting_id: int, edited: bool) -> MinutesSaved | None:
    """A meeting's minutes as they stand now, for their channel post (the last save wins
    the post); None when the meeting or its minutes are gone."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.minutes is None:
        return None
    community = session.get(Community, meeting.community_id)
    assert community is not None
    return _saved(community, meeting, by=meeting.minutes_by or "", edited=edited)


def record_post(session: Session, *, meeting_id: int, ts: str, permalink: str | None) -> None:
    """Remember the channel post of the minutes, so that an edit updates it."""
    session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id)
        .values(minutes_ts=ts, minutes_permalink=permalink)
    )


@dataclass(frozen=True)
class LatestMinutes:
    community_name: str
    community_slug: str
    starts_at: dt.datetime | None  # None: no minutes yet
    text: str | None


def latest_for_reader(
    session: Session, *, query: str, user_id: str, admins: Collection[str]
) -> LatestMinutes:
    """The latest minutes of the community `query` names, for its members, facilitators
    and admins. Raises CommunityNotFound and NotInCommunity."""
    community = communities.resolve(session, query)
    visibility.require(session, community, visibility.Part.MINUTES, user_id, admins)
    found = latest_meeting(session, community.id)
    starts_at, text = found if found is not None else (None, None)
    return LatestMinutes(community.name, community.slug, starts_at, text)


def latest_meeting(session: Session, community_id: int) -> tuple[dt.datetime, str] | None:
    """The start and the minutes of the community's most recent meeting with minutes."""
    row = communities.latest_with_minutes(session, community_id)
    return (row.starts_at, row.minutes) if row is not None else None


def nudge_due_at(starts_at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """09:00 local time on the calendar day after the meeting."""
    next_day = starts_at.astimezone(tz).date() + dt.timedelta(days=1)
    return dt.datetime.combine(next_day, dt.time(NUDGE_HOUR), tzinfo=tz)


def due_nudges(session: Session, *, now: dt.datetime, tz: ZoneInfo) -> list[Nudge]:
    """Claim the meetings whose facilitators should now be asked for the minutes, and
    return them. A claim sets minutes_nudged_at in this transaction, guarded by
    `minutes_nudged_at IS NULL`, so two processes never both claim a meeting; the nudge to
    each facilitator is written to the outbox in the same transaction (MINUTES_NUDGE), so
    it goes out exactly once when this commits."""
    candidates = session.execute(
        select(Meeting.id, Meeting.starts_at)
        .where(
            Meeting.status == Meeting.SCHEDULED,
            Meeting.minutes.is_(None),
            Meeting.minutes_nudged_at.is_(None),
            Meeting.starts_at <= now - _NUDGE_EARLIEST,
            Meeting.starts_at > now - NUDGE_WINDOW,
        )
        .order_by(Meeting.starts_at)
    ).all()
    nudges: list[Nudge] = []
    for meeting_id, starts_at in candidates:
        if nudge_due_at(starts_at, tz) > now:
            continue
        claimed = session.execute(
            update(Meeting)
            .where(
                Meeting.id == meeting_id,
                Meeting.minutes_nudged_at.is_(None),
                Meeting.minutes.is_(None),
                Meeting.status == Meeting.SCHEDULED,
            )
            .values(minutes_nudged_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another process claimed it first
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        found = _nudge(session, meeting)
        for user in found.facilitators:
            outbox.enqueue(
                session, kind=outbox.MINUTES_NUDGE, recipient=user, subject=str(meeting_id),
                now=now,
            )  # fmt: skip
        nudges.append(found)
    return nudges


def _nudge(session: Session, meeting: Meeting) -> Nudge:
    community = meeting.community
    return Nudge(
        meeting_id=meeting.id,
        community_slug=community.slug,
        community_name=community.name,
        starts_at=meeting.starts_at,
        title=meeting.title,
        facilitators=tuple(communities.facilitator_ids(session, community.id)),
    )


def nudge(session: Session, *, meeting_id: int) -> Nudge | None:
    """The nudge for a meeting's minutes, while it still asks for something: None once the
    minutes are written, or the meeting is cancelled or gone."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.status != Meeting.SCHEDULED or meeting.minutes is not None:
        return None
    return _nudge(session, meeting)
