"""Who may read what of a community: the one visibility rule every surface asks.

Anyone in the workspace sees a community's public part: its name, programme, start
text, facilitators, meetings (dates, kinds, places), free seats, deadline, and the
lessons it published (a lesson is stored only when it is published, and then it is
shared with the whole programme). Its members, its facilitators and the admins see the
rest too: the agenda, the minutes, the member list, topics, questions and RSVPs.
Waitlisted and pending people are not members.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.services.errors import NotInCommunity
from storage.models import Community, Facilitator, Membership


class Audience(enum.IntEnum):
    """How much of a community a reader sees; a higher audience sees everything a lower one does."""

    PUBLIC = 0
    MEMBERS = 1


class Part(enum.Enum):
    """The parts of a community a surface shows; `NEEDS` says who may read each."""

    PROFILE = "profile"  # name, programme, start text, facilitators, seats, deadline
    MEETINGS = "meetings"  # dates, kinds and places
    LESSONS = "lessons"  # published lessons
    AGENDA = "agenda"
    MINUTES = "minutes"
    MEMBERS = "members"  # member list, waitlist, pending requests: personal data
    TOPICS = "topics"
    QUESTIONS = "questions"
    RSVPS = "rsvps"  # who comes, the counts


NEEDS: dict[Part, Audience] = {
    Part.PROFILE: Audience.PUBLIC,
    Part.MEETINGS: Audience.PUBLIC,
    Part.LESSONS: Audience.PUBLIC,
    Part.AGENDA: Audience.MEMBERS,
    Part.MINUTES: Audience.MEMBERS,
    Part.MEMBERS: Audience.MEMBERS,
    Part.TOPICS: Audience.MEMBERS,
    Part.QUESTIONS: Audience.MEMBERS,
    Part.RSVPS: Audience.MEMBERS,
}


def can_read(audience: Audience, part: Part) -> bool:
    """Whether a reader with `audience` sees `part`."""
    return audience >= NEEDS[part]


def is_member(session: Session, community_id: int, user_id: str) -> bool:
    """A member proper: not on the waitlist, not a pending request."""
    found = session.scalar(
        select(Membership.id).where(
            Membership.community_id == community_id,
            Membership.user_id == user_id,
            Membership.status == Membership.MEMBER,
        )
    )
    return found is not None


def can_manage(session: Session, community_id: int, user_id: str, admins: Collection[str]) -> bool:
    """Its facilitators and the admins manage a community (and see all of it)."""
    if user_id in admins:
        return True
    return (
        session.scalar(
            select(func.count())
            .select_from(Facilitator)
            .where(Facilitator.community_id == community_id, Facilitator.user_id == user_id)
        )
        or 0
    ) > 0


def audience(
    session: Session, community_id: int, user_id: str, admins: Collection[str]
) -> Audience:
    """What `user_id` sees of the community: MEMBERS for its members, its facilitators
    and admins; PUBLIC for everyone else (the waitlist and pending requests included)."""
    if can_manage(session, community_id, user_id, admins) or is_member(
        session, community_id, user_id
    ):
        return Audience.MEMBERS
    return Audience.PUBLIC


def members_view(
    session: Session, user_id: str, admins: Collection[str], community_ids: Iterable[int]
) -> frozenset[int]:
    """Which of `community_ids` `user_id` sees whole (audience MEMBERS): `audience` for
    many communities in one query."""
    ids = list(community_ids)
    if user_id in admins:
        return frozenset(ids)
    if not ids:
        return frozenset()
    member = select(Membership.community_id).where(
        Membership.user_id == user_id, Membership.status == Membership.MEMBER
    )
    facilitator = select(Facilitator.community_id).where(Facilitator.user_id == user_id)
    rows = session.scalars(
        select(Community.id).where(
            Community.id.in_(ids), or_(Community.id.in_(member), Community.id.in_(facilitator))
        )
    )
    return frozenset(rows)


def may_read(
    session: Session, community_id: int, part: Part, user_id: str, admins: Collection[str]
) -> bool:
    """Whether `user_id` may read `part` of the community (no query for a public part)."""
    if NEEDS[part] is Audience.PUBLIC:
        return True
    return can_read(audience(session, community_id, user_id, admins), part)


def require(
    session: Session, community: Community, part: Part, user_id: str, admins: Collection[str]
) -> Audience:
    """The reader's audience, when it may read `part`; raises NotInCommunity (which says
    how to join) otherwise."""
    found = audience(session, community.id, user_id, admins)
    if not can_read(found, part):
        raise NotInCommunity(community.name, community.slug, part=part.value)
    return found


def readers(
    session: Session, community_id: int, user_ids: Iterable[str], admins: Collection[str]
) -> tuple[str, ...]:
    """Those of `user_ids` (in order) who see the community whole: who may still be told
    about its members-only parts, e.g. an answer to a question they voted on."""
    wanted = list(user_ids)
    if not wanted:
        return ()
    member = set(
        session.scalars(
            select(Membership.user_id).where(
                Membership.community_id == community_id,
                Membership.status == Membership.MEMBER,
                Membership.user_id.in_(wanted),
            )
        )
    )
    facilitators = set(
        session.scalars(
            select(Facilitator.user_id).where(
                Facilitator.community_id == community_id, Facilitator.user_id.in_(wanted)
            )
        )
    )
    allowed = member | facilitators | set(admins)
    return tuple(u for u in wanted if u in allowed)
