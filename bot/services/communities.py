"""Finding communities by name and describing them: list, info, matching with suggestions."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot.services.errors import CommunityNotFound
from bot.services.views import CommunityDetail, CommunitySummary, MeetingView, MinutesLink
from bot.services.visibility import Audience, Part, audience, can_read
from storage.models import Community, Facilitator, Meeting, Membership, UTCDateTime


def normalise(text: str) -> str:
    """Fold case, accents, spaces, hyphens and underscores: "Lokaal-Méten" -> "lokaalmeten"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def resolve(session: Session, query: str, *, for_update: bool = False) -> Community:
    """Find a community by slug or name, forgiving case, accents and separators.

    Raises CommunityNotFound with the closest slugs when nothing (or more than one
    community, for a bare prefix) matches.
    """
    found = resolve_id(session, query)
    # With for_update, a row lock on PostgreSQL; SQLite's write transaction already
    # holds the database lock.
    community = session.get(
        Community, found, with_for_update=for_update, populate_existing=for_update
    )
    assert community is not None
    return community


def resolve_id(session: Session, query: str) -> int:
    """The id of the community `query` names; see `resolve`."""
    return community_index(session).resolve(query)


@dataclass(frozen=True)
class CommunityIndex:
    """What matching a name needs, for every community: worth keeping between requests,
    since every command that names a community matches it."""

    entries: tuple[tuple[int, str, frozenset[str]], ...]

    def resolve(self, query: str) -> int:
        """The id of the community `query` names; raises CommunityNotFound (see `resolve`)."""
        return _match(list(self.entries), query)


def community_index(session: Session) -> CommunityIndex:
    return CommunityIndex(
        tuple(
            (cid, slug, frozenset({normalise(slug), normalise(name)}))
            for cid, slug, name in session.connection().execute(_INDEX)
        )
    )


def _match(index: list[tuple[int, str, frozenset[str]]], query: str) -> int:
    wanted = normalise(query)
    found: int | None = None
    if wanted:
        exact = [cid for cid, _, keys in index if wanted in keys]
        prefixed = [
            (cid, slug) for cid, slug, keys in index if any(k.startswith(wanted) for k in keys)
        ]
        if exact:
            found = exact[0]
        elif len(prefixed) == 1:
            found = prefixed[0][0]
        elif prefixed:
            raise CommunityNotFound(query, [slug for _, slug in prefixed])
    if found is None:
        raise CommunityNotFound(query, suggest(index, wanted))
    return found


_INDEX = select(Community.id, Community.slug, Community.name).order_by(Community.slug)


def suggest(
    index: Iterable[tuple[int, str, frozenset[str]]], wanted: str, limit: int = 3
) -> list[str]:
    """The slugs closest to `wanted` (already normalised), best first."""
    by_key: dict[str, str] = {}
    for _, slug, keys in index:
        for key in sorted(keys):
            by_key.setdefault(key, slug)
    if not wanted:
        return []
    matches = difflib.get_close_matches(wanted, list(by_key), n=limit * 2, cutoff=0.6)
    slugs: list[str] = []
    for key in matches:
        if by_key[key] not in slugs:
            slugs.append(by_key[key])
    return slugs[:limit]


def registration_open(community: CommunityRow, now: dt.datetime, tz: ZoneInfo) -> bool:
    deadline = community.registration_deadline
    return deadline is None or now.astimezone(tz).date() <= deadline


def meeting_view(meeting: Any) -> MeetingView:
    """A Meeting, or a row with the same columns, as a plain result."""
    return MeetingView(
        id=meeting.id,
        key=meeting.key,
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        kind=meeting.kind,
        location=meeting.location,
        cancelled=meeting.status == Meeting.CANCELLED,
        # Rows selected column by column (the next meeting in lists) leave it out.
        sequence=getattr(meeting, "sequence", 0),
    )


def recount(session: Session, community: Community) -> None:
    """Bring the member and waitlist counters of `community` in step with its rows."""
    rows = session.connection().execute(
        select(Membership.status, func.count())
        .where(Membership.community_id == community.id)
        .group_by(Membership.status)
    )
    counts = {status: n for status, n in rows}
    community.member_count = counts.get(Membership.MEMBER, 0)
    community.waitlist_count = counts.get(Membership.WAITLIST, 0)
    session.flush()


def _next_meetings(session: Session, ids: Sequence[int], now: dt.datetime) -> dict[int, Any]:
    if len(ids) == 1:
        # One community (a join, /cop info): the first upcoming meeting by the index.
        first = session.connection().execute(_NEXT_ONE, {"cid": ids[0], "now": now}).first()
        return {ids[0]: first} if first is not None else {}
    # The first upcoming meeting of each community, in one pass over just these
    # communities' meetings (their index), as plain columns.
    ranked = (
        select(
            *_NEXT_COLUMNS,
            func.row_number()
            .over(partition_by=Meeting.community_id, order_by=(Meeting.starts_at, Meeting.id))
            .label("rank"),
        )
        .where(
            Meeting.community_id.in_(ids),
            Meeting.status == Meeting.SCHEDULED,
            Meeting.starts_at >= now,
        )
        .subquery()
    )
    rows = session.execute(select(ranked).where(ranked.c.rank == 1)).all()
    result: dict[int, Any] = {}
    for meeting in rows:
        result.setdefault(meeting.community_id, meeting)
    return result


_NEXT_COLUMNS = (
    Meeting.id,
    Meeting.community_id,
    Meeting.key,
    Meeting.title,
    Meeting.starts_at,
    Meeting.ends_at,
    Meeting.kind,
    Meeting.location,
    Meeting.status,
)
_NEXT_ONE = (
    select(*_NEXT_COLUMNS)
    .where(
        Meeting.community_id == bindparam("cid"),
        Meeting.status == Meeting.SCHEDULED,
        Meeting.starts_at >= bindparam("now", type_=UTCDateTime),
    )
    .order_by(Meeting.starts_at)
    .limit(1)
)


class CommunityRow(Protocol):
    """What a summary needs of a community: an ORM object or a RETURNING row."""

    @property
    def id(self) -> int: ...
    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def programme(self) -> str: ...
    @property
    def capacity(self) -> int | None: ...
    @property
    def registration_deadline(self) -> dt.date | None: ...
    @property
    def approval(self) -> bool: ...
    @property
    def channel_id(self) -> str | None: ...
    @property
    def member_count(self) -> int: ...
    @property
    def waitlist_count(self) -> int: ...


def summaries(
    session: Session,
    communities: Sequence[CommunityRow],
    *,
    now: dt.datetime,
    tz: ZoneInfo,
    next_meeting: bool = True,
) -> list[CommunitySummary]:
    """The communities as shown in lists; without `next_meeting`, the next meeting is not
    read (the summary's `next_meeting` is None) for an answer that names none."""
    nexts = _next_meetings(session, [c.id for c in communities], now) if next_meeting else {}
    return [
        CommunitySummary(
            slug=c.slug,
            name=c.name,
            programme=c.programme,
            capacity=c.capacity,
            member_count=c.member_count,
            waitlist_count=c.waitlist_count,
            deadline=c.registration_deadline,
            registration_open=registration_open(c, now, tz),
            approval=c.approval,
            channel_id=c.channel_id,
            next_meeting=meeting_view(nexts[c.id]) if c.id in nexts else None,
        )
        for c in communities
    ]


def summary(
    session: Session,
    community: CommunityRow,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
    next_meeting: bool = True,
) -> CommunitySummary:
    return summaries(session, [community], now=now, tz=tz, next_meeting=next_meeting)[0]


def list_communities(session: Session, *, now: dt.datetime, tz: ZoneInfo) -> list[CommunitySummary]:
    """Every community, ordered by programme and name, with counts and the next meeting."""
    communities = list(
        session.scalars(select(Community).order_by(Community.programme, Community.name))
    )
    return summaries(session, communities, now=now, tz=tz)


def detail(
    session: Session,
    community: Community,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
    audience: Audience = Audience.PUBLIC,
) -> CommunityDetail:
    """The community as `audience` sees it: the public part, and for MEMBERS the link to
    the latest minutes as well."""
    meetings = session.scalars(
        select(Meeting)
        .where(
            Meeting.community_id == community.id,
            Meeting.status == Meeting.SCHEDULED,
            Meeting.starts_at >= now,
        )
        .order_by(Meeting.starts_at)
    )
    facilitators = session.scalars(
        select(Facilitator.user_id)
        .where(Facilitator.community_id == community.id)
        .order_by(Facilitator.id)
    )
    return CommunityDetail(
        summary=summary(session, community, now=now, tz=tz),
        description=community.description,
        facilitators=tuple(facilitators),
        meetings=tuple(meeting_view(m) for m in meetings),
        latest_minutes=(
            latest_minutes(session, community.id) if can_read(audience, Part.MINUTES) else None
        ),
    )


def latest_with_minutes(session: Session, community_id: int) -> Any | None:
    """The most recent meeting of the community that has minutes (not cancelled): its
    start, minutes and the minutes' permalink; None when there is none."""
    return session.execute(
        select(Meeting.starts_at, Meeting.minutes, Meeting.minutes_permalink)
        .where(
            Meeting.community_id == community_id,
            Meeting.status == Meeting.SCHEDULED,
            Meeting.minutes.is_not(None),
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    ).first()


def latest_minutes(session: Session, community_id: int) -> MinutesLink | None:
    """A link to the minutes of the community's most recent meeting that has them."""
    row = latest_with_minutes(session, community_id)
    return MinutesLink(row.starts_at, row.minutes_permalink) if row is not None else None


def info(
    session: Session,
    *,
    query: str,
    now: dt.datetime,
    tz: ZoneInfo,
    user_id: str | None = None,
    admins: Collection[str] = (),
) -> CommunityDetail:
    """Start text, facilitators, counts and upcoming meetings; for a member, facilitator
    or admin `user_id` also the latest minutes (without a reader: the public part).
    Raises CommunityNotFound."""
    community = resolve(session, query)
    seen = Audience.PUBLIC if user_id is None else audience(session, community.id, user_id, admins)
    return detail(session, community, now=now, tz=tz, audience=seen)


def facilitator_ids(session: Session, community_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Facilitator.user_id)
            .where(Facilitator.community_id == community_id)
            .order_by(Facilitator.id)
        )
    )


# A community's name has at most this many words ("groene stad klein").
MAX_NAME_WORDS = 4


def split_name(session: Session, text: str) -> tuple[Community, str]:
    """`<community> <rest>`: the community named by the longest leading run of words (up
    to four: "lokaal meten") and the rest, its line breaks kept. Raises CommunityNotFound,
    with the suggestions for the first word alone (they are the closest)."""
    words = list(re.finditer(r"\S+", text))
    error: CommunityNotFound | None = None
    for size in range(min(len(words), MAX_NAME_WORDS), 0, -1):
        name = " ".join(w.group() for w in words[:size])
        try:
            community = resolve(session, name)
        except CommunityNotFound as exc:
            error = exc if size == 1 else (error or exc)
            continue
        return community, text[words[size - 1].end() :].strip()
    raise error or CommunityNotFound(text.strip(), [])


def upcoming_meetings(
    session: Session, community_id: int, now: dt.datetime, *, limit: int | None = None
) -> list[Meeting]:
    """The community's meetings still to come (not cancelled), soonest first."""
    query = (
        select(Meeting)
        .where(
            Meeting.community_id == community_id,
            Meeting.status == Meeting.SCHEDULED,
            Meeting.starts_at > now,
        )
        .order_by(Meeting.starts_at)
    )
    return list(session.scalars(query if limit is None else query.limit(limit)))
