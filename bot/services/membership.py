"""Joining and leaving communities: capacity, waitlist, deadline and approval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from bot.services import audit, communities, outbox
from bot.services.errors import (
    AlreadyMember,
    NotAllowed,
    NotInCommunity,
    NotMember,
    RegistrationClosed,
    RequestAlreadyDecided,
    RequestWithdrawn,
)
from bot.services.views import (
    Appointment,
    CommunitySummary,
    Decision,
    JoinResult,
    LeaveResult,
    MemberList,
    MyEntry,
    Promotion,
)
from bot.services.visibility import Part, can_manage, is_member, require
from storage.models import Community, Departure, Facilitator, Membership


def _member_count(session: Session, community_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.community_id == community_id, Membership.status == Membership.MEMBER)
        )
        or 0
    )


def _is_full(session: Session, community: Community) -> bool:
    return (
        community.capacity is not None
        and _member_count(session, community.id) >= community.capacity
    )


def waitlist_position(session: Session, membership: Membership) -> int:
    ahead = (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(
                Membership.community_id == membership.community_id,
                Membership.status == Membership.WAITLIST,
                Membership.seq < membership.seq,
            )
        )
        or 0
    )
    return ahead + 1


def _find(session: Session, community_id: int, user_id: str) -> Membership | None:
    return session.scalars(
        select(Membership).where(
            Membership.community_id == community_id, Membership.user_id == user_id
        )
    ).one_or_none()


_ROW = (
    Community.id,
    Community.slug,
    Community.name,
    Community.programme,
    Community.capacity,
    Community.registration_deadline,
    Community.approval,
    Community.channel_id,
    Community.join_counter,
    Community.member_count,
    Community.waitlist_count,
)
_BUMP = (
    update(Community)
    .where(Community.id == bindparam("cid"))
    .values(join_counter=Community.join_counter + 1)
    .returning(*_ROW)
)
_COUNT_IN = (
    update(Community)
    .where(Community.id == bindparam("cid"))
    .values(
        member_count=Community.member_count + bindparam("members"),
        waitlist_count=Community.waitlist_count + bindparam("waiting"),
    )
    .returning(*_ROW)
)
_ADD = insert(Membership)
_EXISTING = select(Membership.status, Membership.seq).where(
    Membership.community_id == bindparam("cid"), Membership.user_id == bindparam("uid")
)
_AHEAD = (
    select(func.count())
    .select_from(Membership)
    .where(
        Membership.community_id == bindparam("cid"),
        Membership.status == Membership.WAITLIST,
        Membership.seq < bindparam("seq"),
    )
)


def join(
    session: Session,
    *,
    query: str,
    user_id: str,
    now: dt.datetime,
    tz: ZoneInfo,
    admins: Collection[str] = (),
    community_id: int | None = None,
) -> JoinResult:
    """Join a community, or take a place on its waitlist, or ask the facilitators. A new
    member's welcome DM and calendar file are queued in the outbox, in this transaction.

    Call inside a write transaction. Raises CommunityNotFound, AlreadyMember and
    RegistrationClosed (the deadline is the last day, inclusive, in `tz`).
    `community_id`: the id `query` names when the caller already knows it (from a cached
    index); when no such community is left, `query` is looked up afresh.
    """
    conn = session.connection()  # plain SQL: this is the busiest write there is
    # Bumping the counter locks the community's row (PostgreSQL; SQLite's write
    # transaction holds the database), so joins to one community queue here and the
    # counter is this person's place in the order of arrival. A refusal below rolls
    # the bump back with the transaction.
    community = None if community_id is None else conn.execute(_BUMP, {"cid": community_id}).first()
    if community is None:
        community = conn.execute(_BUMP, {"cid": communities.resolve_id(session, query)}).one()
    community_id = community.id
    existing = conn.execute(_EXISTING, {"cid": community_id, "uid": user_id}).first()
    if existing is not None:
        position = None
        if existing.status == Membership.WAITLIST:
            position = (conn.scalar(_AHEAD, {"cid": community_id, "seq": existing.seq}) or 0) + 1
        raise AlreadyMember(community.name, existing.status, position)
    if not communities.registration_open(community, now, tz):
        assert community.registration_deadline is not None
        facilitated = bool(communities.facilitator_ids(session, community_id))
        raise RegistrationClosed(
            community.name, community.registration_deadline, facilitated, sorted(admins)
        )

    approvers: tuple[str, ...] = ()
    if community.approval:
        status = Membership.PENDING
        approvers = tuple(communities.facilitator_ids(session, community_id)) or tuple(
            sorted(admins)
        )
    elif community.capacity is not None and community.member_count >= community.capacity:
        status = Membership.WAITLIST
    else:
        status = Membership.MEMBER
    conn.execute(
        _ADD,
        {"community_id": community_id, "user_id": user_id, "status": status,
         "seq": community.join_counter},
    )  # fmt: skip
    community = conn.execute(
        _COUNT_IN,
        {
            "cid": community_id,
            "members": int(status == Membership.MEMBER),
            "waiting": int(status == Membership.WAITLIST),
        },
    ).one()
    # Everyone on the waitlist arrived earlier: the newcomer is last in line.
    position = community.waitlist_count if status == Membership.WAITLIST else None
    slug = community.slug
    if status == Membership.MEMBER:
        outbox.queue_welcome(session, slug=slug, user_id=user_id, now=now)
    for approver in approvers:
        outbox.enqueue(
            session, kind=outbox.APPROVAL_REQUEST, recipient=approver, subject=slug, now=now,
            payload={"user": user_id},
        )  # fmt: skip
    if approvers:
        # The approvers' Home tabs list the requests to decide (one refresh per burst).
        outbox.queue_home_refresh(session, users=approvers, now=now)
    return JoinResult(
        outcome=status,
        user_id=user_id,
        # The answer to a join names no meeting (the welcome does): none is read here.
        community=communities.summary(session, community, now=now, tz=tz, next_meeting=False),
        position=position,
        approvers=approvers,
        welcome_queued=status == Membership.MEMBER,
    )


def status_by_slug(session: Session, *, slug: str, user_id: str) -> str | None:
    """The status `user_id` has in the community with `slug` (member, waitlist, pending),
    None when they are not in it (or it is gone)."""
    return session.scalar(
        select(Membership.status)
        .join(Community, Community.id == Membership.community_id)
        .where(Community.slug == slug, Membership.user_id == user_id)
    )


def participation(
    session: Session, community_id: int, user_id: str, admins: Collection[str]
) -> str | None:
    """How `user_id` takes part in a community's topics and questions: "manager" (its
    facilitators and admins), "member", or None (see bot.services.visibility)."""
    if can_manage(session, community_id, user_id, admins):
        return "manager"
    return "member" if is_member(session, community_id, user_id) else None


def participating(
    session: Session, *, user_id: str, admins: Collection[str]
) -> list[tuple[str, str]]:
    """(slug, name) of the communities whose topics and questions `user_id` takes part in
    (`participation`, for all communities in one query): where they are a member proper or
    a facilitator; every community for an admin. Ordered by name."""
    query = select(Community.slug, Community.name).order_by(Community.name, Community.slug)
    if user_id not in admins:
        member = select(Membership.community_id).where(
            Membership.user_id == user_id, Membership.status == Membership.MEMBER
        )
        facilitator = select(Facilitator.community_id).where(Facilitator.user_id == user_id)
        query = query.where(or_(Community.id.in_(member), Community.id.in_(facilitator)))
    return [(slug, name) for slug, name in session.execute(query)]


def joinable(
    session: Session, *, user_id: str, now: dt.datetime, tz: ZoneInfo
) -> list[CommunitySummary]:
    """The communities `user_id` could ask to join now: not in them in any way (member,
    waitlist, pending) and registration open. Ordered by name. `join` checks it all again."""
    mine = select(Membership.community_id).where(Membership.user_id == user_id)
    rows = session.scalars(
        select(Community).where(Community.id.not_in(mine)).order_by(Community.name, Community.slug)
    )
    found = communities.summaries(session, list(rows), now=now, tz=tz, next_meeting=False)
    return [c for c in found if c.registration_open]


def require_participant(
    session: Session, community: Community, user_id: str, admins: Collection[str]
) -> bool:
    """Raise NotInCommunity unless `user_id` takes part in the community's topics and
    questions (`participation`); returns whether they manage them (facilitator or admin)."""
    role = participation(session, community.id, user_id, admins)
    if role is None:
        raise NotInCommunity(community.name, community.slug)
    return role == "manager"


def _promote_next(
    session: Session, community: Community, *, now: dt.datetime, tz: ZoneInfo
) -> Promotion | None:
    if _is_full(session, community):
        return None
    first = session.scalars(
        select(Membership)
        .where(Membership.community_id == community.id, Membership.status == Membership.WAITLIST)
        .order_by(Membership.seq)
        .limit(1)
    ).one_or_none()
    if first is None:
        return None
    first.status = Membership.MEMBER
    session.flush()
    communities.recount(session, community)
    outbox.queue_welcome(
        session, slug=community.slug, user_id=first.user_id, now=now, intro="promoted"
    )
    return Promotion(
        user_id=first.user_id, community=communities.detail(session, community, now=now, tz=tz)
    )


def record_departure(session: Session, user_id: str, now: dt.datetime) -> None:
    """Remember when `user_id` last left a community: leaving deletes the membership, and
    what they leave behind is removed after the retention period (services/privacy.py)."""
    row = session.get(Departure, user_id)
    if row is not None:
        row.left_at = now
        return
    try:
        with session.begin_nested():
            session.add(Departure(user_id=user_id, left_at=now))
    except Exception:  # a simultaneous leave of the same person wrote it: move it on
        session.execute(update(Departure).where(Departure.user_id == user_id).values(left_at=now))


def leave(
    session: Session, *, query: str, user_id: str, now: dt.datetime, tz: ZoneInfo
) -> LeaveResult:
    """Leave a community, its waitlist or a pending request; the next on the waitlist moves up.

    Call inside a write transaction. Raises CommunityNotFound and NotMember.
    """
    community = communities.resolve(session, query, for_update=True)
    return _take_out(session, community, user_id, now=now, tz=tz)


def _take_out(
    session: Session, community: Community, user_id: str, *, now: dt.datetime, tz: ZoneInfo
) -> LeaveResult:
    """`user_id` out of the community (member, waitlist or request): their departure
    recorded, the next on the waitlist moved up into a freed seat. Raises NotMember."""
    membership = _find(session, community.id, user_id)
    if membership is None:
        raise NotMember(community.name)
    previous = membership.status
    session.delete(membership)
    session.flush()
    record_departure(session, user_id, now)
    promoted = (
        _promote_next(session, community, now=now, tz=tz) if previous == Membership.MEMBER else None
    )
    communities.recount(session, community)
    return LeaveResult(
        community=communities.summary(session, community, now=now, tz=tz),
        previous=previous,
        promoted=promoted,
    )


def member_list(
    session: Session,
    *,
    query: str,
    user_id: str,
    admins: Collection[str],
    now: dt.datetime,
    tz: ZoneInfo,
) -> MemberList:
    """Members in order of joining, then the waitlist and pending requests in order: for
    the community's members, facilitators and admins (member names are personal data).

    Raises CommunityNotFound and NotInCommunity.
    """
    community = communities.resolve(session, query)
    require(session, community, Part.MEMBERS, user_id, admins)
    rows = session.execute(
        select(Membership.user_id, Membership.status)
        .where(Membership.community_id == community.id)
        .order_by(Membership.seq)
    ).all()
    return MemberList(
        community=communities.summary(session, community, now=now, tz=tz),
        members=tuple(u for u, s in rows if s == Membership.MEMBER),
        waitlist=tuple(u for u, s in rows if s == Membership.WAITLIST),
        pending=tuple(u for u, s in rows if s == Membership.PENDING),
    )


def my_statuses(session: Session, *, user_id: str) -> dict[str, tuple[str, int | None]]:
    """By community slug, how `user_id` is in it: ("member" | "waitlist" | "pending", the
    place on the waitlist or None). Communities they are not in are absent."""
    rows = session.execute(
        select(Community.slug, Membership).join(Community).where(Membership.user_id == user_id)
    ).all()
    return {
        slug: (m.status, waitlist_position(session, m) if m.status == Membership.WAITLIST else None)
        for slug, m in rows
    }


def mine(session: Session, *, user_id: str, now: dt.datetime, tz: ZoneInfo) -> list[MyEntry]:
    """The communities of `user_id` with status and, on a waitlist, the position."""
    memberships = list(
        session.scalars(
            select(Membership)
            .join(Community)
            .where(Membership.user_id == user_id)
            .order_by(Community.programme, Community.name)
        )
    )
    summaries = communities.summaries(session, [m.community for m in memberships], now=now, tz=tz)
    return [
        MyEntry(
            community=summary,
            status=m.status,
            position=waitlist_position(session, m) if m.status == Membership.WAITLIST else None,
        )
        for m, summary in zip(memberships, summaries, strict=True)
    ]


def decide(
    session: Session,
    *,
    query: str,
    user_id: str,
    decided_by: str,
    approve: bool,
    admins: Collection[str],
    now: dt.datetime,
    tz: ZoneInfo,
) -> Decision:
    """Approve or decline a pending join request; an approved request to a full
    community goes onto the waitlist.

    Only facilitators of the community and admins may decide: the decider is
    checked here, never taken on trust from the button. Raises CommunityNotFound,
    NotAllowed, RequestAlreadyDecided and RequestWithdrawn (the requester withdrew it).
    """
    community = communities.resolve(session, query, for_update=True)
    if not can_manage(session, community.id, decided_by, admins):
        raise NotAllowed("decide_request")
    membership = _find(session, community.id, user_id)
    if membership is None and not audit.decided(session, subject=user_id, community=community.slug):
        raise RequestWithdrawn(community.name, user_id)  # nobody decided: the requester left
    if membership is None or membership.status != Membership.PENDING:
        raise RequestAlreadyDecided(community.name, user_id)
    position: int | None = None
    if not approve:
        session.execute(delete(Membership).where(Membership.id == membership.id))
        record_departure(session, user_id, now)
        outcome = "declined"
    elif _is_full(session, community):
        membership.status = Membership.WAITLIST
        session.flush()
        position = waitlist_position(session, membership)
        outcome = Membership.WAITLIST
    else:
        membership.status = Membership.MEMBER
        outcome = Membership.MEMBER
    session.flush()
    communities.recount(session, community)
    audit.record(
        session, action=audit.REQUEST_DECLINED if not approve else audit.REQUEST_APPROVED,
        actor=decided_by, subject=user_id, community=community.slug, now=now,
        detail=None if outcome == "declined" else outcome,
    )  # fmt: skip
    if outcome == Membership.MEMBER:
        outbox.queue_welcome(
            session, slug=community.slug, user_id=user_id, now=now, intro="outcome_member"
        )
    else:
        outbox.enqueue(
            session, kind=outbox.DECISION, recipient=user_id, subject=community.slug, now=now,
            payload={"outcome": outcome, "position": position},
        )  # fmt: skip
    # The requester's Home tab shows the request until it is drawn again.
    outbox.queue_home_refresh(session, users=[user_id], now=now)
    return Decision(
        outcome=outcome,
        user_id=user_id,
        decided_by=decided_by,
        community=communities.detail(session, community, now=now, tz=tz),
        position=position,
    )


def appoint_facilitator(
    session: Session,
    *,
    query: str,
    user_id: str,
    appointed_by: str,
    admins: Collection[str],
    now: dt.datetime,
) -> Appointment:
    """An admin makes `user_id` a facilitator of a community. A new facilitator's DM
    (what they may do now) is queued in the outbox, in this transaction; someone who is
    one already gets nothing, and `new` says so.

    Raises CommunityNotFound and NotAllowed.
    """
    if appointed_by not in admins:
        raise NotAllowed("appoint_facilitator")
    community = communities.resolve(session, query)
    new = user_id not in communities.facilitator_ids(session, community.id)
    if new:
        session.add(Facilitator(community_id=community.id, user_id=user_id, source="admin"))
        session.flush()
        audit.record(
            session, action=audit.FACILITATOR_APPOINTED, actor=appointed_by, subject=user_id,
            community=community.slug, now=now,
        )  # fmt: skip
        outbox.enqueue(
            session, kind=outbox.APPOINTED, recipient=user_id, subject=community.slug, now=now,
            payload={"by": appointed_by},
        )  # fmt: skip
    return Appointment(community_name=community.name, community_slug=community.slug, new=new)


def managed(
    session: Session, query: str, by: str, admins: Collection[str], action: str
) -> Community:
    """The community `query` names, locked for the change, when `by` manages it (its
    facilitators, the admins); raises NotAllowed(`action`) otherwise."""
    community = communities.resolve(session, query, for_update=True)
    if not can_manage(session, community.id, by, admins):
        raise NotAllowed(action)
    return community


def remove_member(
    session: Session,
    *,
    query: str,
    user_id: str,
    removed_by: str,
    admins: Collection[str],
    now: dt.datetime,
    tz: ZoneInfo,
) -> LeaveResult:
    """A facilitator (or an admin) takes `user_id` out of a community: a member, someone
    on the waitlist or a pending request. The next on the waitlist moves up, as when
    someone leaves; the person hears of it in a DM (outbox `member_removed`, with this
    transaction). Raises CommunityNotFound, NotAllowed and NotMember."""
    community = managed(session, query, removed_by, admins, "remove_member")
    result = _take_out(session, community, user_id, now=now, tz=tz)
    previous = result.previous
    audit.record(
        session, action=audit.MEMBER_REMOVED, actor=removed_by, subject=user_id,
        community=community.slug, now=now, detail=previous,
    )  # fmt: skip
    outbox.enqueue(
        session, kind=outbox.MEMBER_REMOVED, recipient=user_id, subject=community.slug, now=now,
        payload={"previous": previous},
    )  # fmt: skip
    outbox.queue_home_refresh(session, users=[user_id], now=now)
    return result


def move_up(
    session: Session,
    *,
    query: str,
    user_id: str,
    moved_by: str,
    admins: Collection[str],
) -> int:
    """A facilitator moves `user_id` one place up the waitlist (they change places with
    the one ahead); returns the new position (1: first in line). Raises
    CommunityNotFound, NotAllowed and NotMember (not on the waitlist)."""
    community = managed(session, query, moved_by, admins, "move_up")
    membership = _find(session, community.id, user_id)
    if membership is None or membership.status != Membership.WAITLIST:
        raise NotMember(community.name)
    ahead = session.scalars(
        select(Membership)
        .where(
            Membership.community_id == community.id,
            Membership.status == Membership.WAITLIST,
            Membership.seq < membership.seq,
        )
        .order_by(Membership.seq.desc())
        .limit(1)
    ).one_or_none()
    if ahead is not None:
        membership.seq, ahead.seq = ahead.seq, membership.seq
        session.flush()
    return waitlist_position(session, membership)


def remove_facilitator(
    session: Session,
    *,
    query: str,
    user_id: str,
    removed_by: str,
    admins: Collection[str],
    now: dt.datetime,
) -> tuple[str, bool]:
    """An admin ends `user_id`'s role as a facilitator of a community; returns its name
    and whether they were one. A reload of the catalogue file does not bring them back
    (bot/services/catalog.py reads this removal in the audit log). Raises
    CommunityNotFound and NotAllowed."""
    if removed_by not in admins:
        raise NotAllowed("appoint_facilitator")
    community = communities.resolve(session, query)
    row = session.scalars(
        select(Facilitator).where(
            Facilitator.community_id == community.id, Facilitator.user_id == user_id
        )
    ).one_or_none()
    if row is None:
        return community.name, False
    session.delete(row)
    session.flush()
    audit.record(
        session, action=audit.FACILITATOR_REMOVED, actor=removed_by, subject=user_id,
        community=community.slug, now=now,
    )  # fmt: skip
    return community.name, True
