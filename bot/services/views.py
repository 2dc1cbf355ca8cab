"""Plain, frozen results that services return and handlers render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class MeetingView:
    id: int
    key: str
    title: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    kind: str
    location: str | None
    cancelled: bool = False
    # Bumped by every move or cancellation; calendar entries carry it (iCalendar SEQUENCE).
    sequence: int = 0


@dataclass(frozen=True)
class CommunitySummary:
    slug: str
    name: str
    programme: str
    capacity: int | None
    member_count: int
    waitlist_count: int
    deadline: dt.date | None
    registration_open: bool
    approval: bool
    channel_id: str | None
    next_meeting: MeetingView | None

    @property
    def free_seats(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.member_count, 0)


@dataclass(frozen=True)
class MinutesLink:
    """The latest minutes of a community: the meeting's start, and the channel post."""

    starts_at: dt.datetime
    permalink: str | None


@dataclass(frozen=True)
class CommunityDetail:
    summary: CommunitySummary
    description: str
    facilitators: tuple[str, ...]
    meetings: tuple[MeetingView, ...]
    latest_minutes: MinutesLink | None = None


@dataclass(frozen=True)
class Appointment:
    """A facilitator appointed; `new` is False when they were one already."""

    community_name: str
    community_slug: str
    new: bool


@dataclass(frozen=True)
class JoinResult:
    """outcome is "member", "waitlist" or "pending"."""

    outcome: str
    user_id: str
    community: CommunitySummary  # a join leaves its next meeting unread (None)
    position: int | None
    approvers: tuple[str, ...] = ()
    # The welcome DM and calendar file are already in the outbox (queued with the join).
    welcome_queued: bool = False


@dataclass(frozen=True)
class Promotion:
    user_id: str
    community: CommunityDetail


@dataclass(frozen=True)
class LeaveResult:
    """previous is the status the person had: "member", "waitlist" or "pending"."""

    community: CommunitySummary
    previous: str
    promoted: Promotion | None


@dataclass(frozen=True)
class MemberList:
    community: CommunitySummary
    members: tuple[str, ...]
    waitlist: tuple[str, ...]
    pending: tuple[str, ...]


@dataclass(frozen=True)
class MyEntry:
    community: CommunitySummary
    status: str
    position: int | None


@dataclass(frozen=True)
class Decision:
    """outcome is "member", "waitlist" or "declined"."""

    outcome: str
    user_id: str
    decided_by: str
    community: CommunityDetail
    position: int | None
