"""The community catalogue: a TOML file loaded idempotently into the database."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import ConfigError, parse_offsets
from bot.services import audit, communities, outbox
from bot.text import clean
from storage.models import AuditEntry, Community, Facilitator, Meeting, Membership

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "data" / "catalog.toml"
MEETING_KINDS = ("online", "fysiek", "werkbezoek")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_SLACK_ID = re.compile(r"^[UWCGD][A-Z0-9]{2,}$")


class CatalogError(Exception):
    """The catalogue file is malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class MeetingSpec:
    key: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    kind: str
    location: str | None
    title: str | None


@dataclass(frozen=True)
class CommunitySpec:
    slug: str
    name: str
    programme: str
    description: str
    capacity: int | None
    registration_deadline: dt.date | None
    approval: bool
    channel: str | None
    facilitators: tuple[str, ...]
    reminders: str | None
    meetings: tuple[MeetingSpec, ...] = field(default=())


@dataclass(frozen=True)
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    meetings_created: int = 0
    meetings_updated: int = 0
    meetings_cancelled: int = 0
    # (slug, user_id) of people moved from the waitlist into seats that a raised
    # or removed capacity freed; the caller tells them.
    promoted: tuple[tuple[str, str], ...] = ()

    @property
    def changed(self) -> bool:
        return any(
            (
                self.created,
                self.updated,
                self.meetings_created,
                self.meetings_updated,
                self.meetings_cancelled,
                self.promoted,
            )
        )


def _local(value: Any, tz: ZoneInfo, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(dt.UTC)
    raise CatalogError(f"{where}: expected a date and time such as 2027-03-30T14:00:00")


def _meeting(raw: dict[str, Any], tz: ZoneInfo, where: str) -> MeetingSpec:
    if "starts" not in raw:
        raise CatalogError(f"{where}: 'starts' is required")
    starts = _local(raw["starts"], tz, f"{where}.starts")
    ends = _local(raw["ends"], tz, f"{where}.ends") if "ends" in raw else None
    if ends is not None and ends <= starts:
        raise CatalogError(f"{where}: 'ends' must be after 'starts'")
    for key, limit in (("location", 500), ("title", 200), ("id", 64)):
        if len(str(raw.get(key, ""))) > limit:
            raise CatalogError(f"{where}: {key} is longer than {limit} characters")
    kind = str(raw.get("kind", "online"))
    if kind not in MEETING_KINDS:
        raise CatalogError(f"{where}.kind: '{kind}' is not one of {', '.join(MEETING_KINDS)}")
    key = str(raw.get("id") or starts.astimezone(tz).strftime("%Y-%m-%dT%H:%M"))
    return MeetingSpec(
        key=key[:64],
        starts_at=starts,
        ends_at=ends,
        kind=kind,
        location=clean(str(raw["location"])) if raw.get("location") else None,
        title=clean(str(raw["title"])) if raw.get("title") else None,
    )


def parse_programmes(text: str, *, source: str = "catalogue") -> dict[str, str]:
    """The optional `[[programme]]` tables: programme name -> the channel where its lessons
    are published. Raises CatalogError naming the bad entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML ({exc})") from exc
    entries = data.get("programme", [])
    if not isinstance(entries, list):
        raise CatalogError(f"{source}: 'programme' must be [[programme]] tables")
    channels: dict[str, str] = {}
    for index, raw in enumerate(entries, start=1):
        name = clean(str(raw.get("name", ""))).strip()
        if not name:
            raise CatalogError(f"{source}: programme #{index}: 'name' is required")
        where = f"{source}: programme '{name}'"
        if name in channels:
            raise CatalogError(f"{where}: name is used twice")
        channel = str(raw.get("channel", ""))
        if not _SLACK_ID.match(channel) or channel[0] not in "CG":
            raise CatalogError(f"{where}: channel '{channel}' is not a Slack channel ID")
        channels[name] = channel
    return channels


def parse(text: str, tz: ZoneInfo, *, source: str = "catalogue") -> list[CommunitySpec]:
    """Read and validate a catalogue; raises CatalogError naming the bad entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML ({exc})") from exc
    entries = data.get("community")
    if not isinstance(entries, list):
        raise CatalogError(f"{source}: no [[community]] tables found")
    specs: list[CommunitySpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(entries, start=1):
        where = f"{source}: community #{index}"
        for required in ("slug", "name"):
            if not raw.get(required):
                raise CatalogError(f"{where}: '{required}' is required")
        slug = str(raw["slug"])
        where = f"{source}: community '{slug}'"
        if not _SLUG.match(slug):
            raise CatalogError(f"{where}: slug must be lowercase letters, digits and hyphens")
        if slug in seen:
            raise CatalogError(f"{where}: slug is used twice")
        seen.add(slug)
        for key, limit in (("name", 200), ("programme", 200)):
            if len(str(raw.get(key, ""))) > limit:
                raise CatalogError(f"{where}: {key} is longer than {limit} characters")
        capacity = raw.get("capacity")
        # bool is a subclass of int: `capacity = true` must not mean one seat.
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1
        ):
            raise CatalogError(f"{where}: capacity must be a positive whole number")
        approval = raw.get("approval", False)
        # bool("false") is True: a quoted value would silently demand approval.
        if not isinstance(approval, bool):
            raise CatalogError(f"{where}: approval must be true or false")
        deadline = raw.get("registration_deadline")
        if deadline is not None and (
            isinstance(deadline, dt.datetime) or not isinstance(deadline, dt.date)
        ):
            raise CatalogError(f"{where}: registration_deadline must be a date such as 2027-02-21")
        facilitators = tuple(str(u) for u in raw.get("facilitators", []))
        for user in facilitators:
            if not _SLACK_ID.match(user):
                raise CatalogError(f"{where}: facilitator '{user}' is not a Slack user ID")
        channel = raw.get("channel")
        if channel is not None and not _SLACK_ID.match(str(channel)):
            raise CatalogError(f"{where}: channel '{channel}' is not a Slack channel ID")
        reminders = raw.get("reminders")
        if reminders is not None:
            try:
                parse_offsets(",".join(reminders), variable=f"{where}: reminders")
            except ConfigError as exc:
                raise CatalogError(str(exc)) from exc
        meetings = [
            _meeting(m, tz, f"{where}: meeting #{i}")
            for i, m in enumerate(raw.get("meeting", []), start=1)
        ]
        keys = [m.key for m in meetings]
        if len(keys) != len(set(keys)):
            raise CatalogError(f"{where}: two meetings share an id or start time")
        specs.append(
            CommunitySpec(
                slug=slug,
                # Plain text, as user text is once it is in (bot/text.py).
                name=clean(str(raw["name"])),
                programme=clean(str(raw.get("programme", ""))),
                description=clean(str(raw.get("description", ""))).strip(),
                capacity=capacity,
                registration_deadline=deadline,
                approval=approval,
                channel=str(channel) if channel else None,
                facilitators=facilitators,
                reminders=",".join(reminders) if reminders is not None else None,
                meetings=tuple(meetings),
            )
        )
    return specs


def _assign(obj: object, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _sync_meetings(
    session: Session, community: Community, specs: tuple[MeetingSpec, ...]
) -> tuple[int, int, int]:
    created = updated = cancelled = 0
    existing = list(session.scalars(select(Meeting).where(Meeting.community_id == community.id)))
    by_key = {m.key: m for m in existing}
    by_start = {m.starts_at: m for m in existing}
    matched: set[int] = set()
    for spec in specs:
        # Match on the stable id first, then on the start time, so that a meeting
        # that is still there is never recreated and whatever hangs on it stays.
        meeting = by_key.get(spec.key) or by_start.get(spec.starts_at)
        if meeting is not None and meeting.id in matched:
            meeting = None
        values = {
            "key": spec.key,
            "starts_at": spec.starts_at,
            "ends_at": spec.ends_at,
            "kind": spec.kind,
            "location": spec.location,
            "title": spec.title,
            "status": Meeting.SCHEDULED,
        }
        if meeting is None:
            meeting = Meeting(community_id=community.id, source="catalog", **values)
            session.add(meeting)
            session.flush()
            created += 1
        elif meeting.source != "catalog":
            pass  # planned, moved or cancelled in Slack: no longer the file's to change
        elif _assign(meeting, values):
            updated += 1
        matched.add(meeting.id)
    for meeting in existing:
        if (
            meeting.id not in matched
            and meeting.source == "catalog"
            and meeting.status != Meeting.CANCELLED
        ):
            meeting.status = Meeting.CANCELLED
            cancelled += 1
    return created, updated, cancelled


def edited_in_slack(session: Session, slug: str) -> bool:
    """Whether an admin created or edited the community's settings in Slack (App Home):
    from then on a reload leaves them as Slack has them (the audit log records it)."""
    found = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.community == slug,
            AuditEntry.action.in_((audit.COMMUNITY_CREATED, audit.COMMUNITY_UPDATED)),
            AuditEntry.actor != audit.BY_CATALOG,
        )
        .limit(1)
    )
    return found is not None


def ended_in_slack(session: Session, slug: str) -> frozenset[str]:
    """Who an admin removed as a facilitator of the community in Slack (App Home) and was
    not appointed again since: the file lists them, yet a reload does not bring them back.
    The audit log is the record of it (the last role change per person decides)."""
    rows = session.execute(
        select(AuditEntry.subject, AuditEntry.action, AuditEntry.actor)
        .where(
            AuditEntry.community == slug,
            AuditEntry.action.in_((audit.FACILITATOR_APPOINTED, audit.FACILITATOR_REMOVED)),
        )
        .order_by(AuditEntry.id)
    )
    last: dict[str, bool] = {}
    for subject, action, actor in rows:
        if subject is not None:
            last[subject] = action == audit.FACILITATOR_REMOVED and actor != audit.BY_CATALOG
    return frozenset(user for user, ended in last.items() if ended)


def _sync_facilitators(
    session: Session, community: Community, users: tuple[str, ...], now: dt.datetime
) -> bool:
    rows = list(
        session.scalars(select(Facilitator).where(Facilitator.community_id == community.id))
    )
    present = {f.user_id: f for f in rows}
    ended = ended_in_slack(session, community.slug)
    changed = False
    for user in users:
        if user not in present and user not in ended:
            session.add(Facilitator(community_id=community.id, user_id=user, source="catalog"))
            audit.record(
                session, action=audit.FACILITATOR_APPOINTED, actor=audit.BY_CATALOG,
                subject=user, community=community.slug, now=now,
            )  # fmt: skip
            changed = True
    for row in rows:
        # Facilitators appointed in Slack are not the file's to remove.
        if row.source == "catalog" and row.user_id not in users:
            session.delete(row)
            audit.record(
                session, action=audit.FACILITATOR_REMOVED, actor=audit.BY_CATALOG,
                subject=row.user_id, community=community.slug, now=now,
            )  # fmt: skip
            changed = True
    return changed


def fill_free_seats(session: Session, community: Community, now: dt.datetime) -> list[str]:
    """Move the waitlist, in order, into seats that a raised or removed capacity freed."""
    waiting = (
        select(Membership)
        .where(Membership.community_id == community.id, Membership.status == Membership.WAITLIST)
        .order_by(Membership.seq)
    )
    if community.capacity is not None:
        members = session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.community_id == community.id, Membership.status == Membership.MEMBER)
        )
        free = community.capacity - (members or 0)
        if free <= 0:
            return []
        waiting = waiting.limit(free)
    promoted = list(session.scalars(waiting))
    for membership in promoted:
        membership.status = Membership.MEMBER
        outbox.queue_welcome(
            session, slug=community.slug, user_id=membership.user_id, now=now, intro="promoted"
        )
    session.flush()
    return [m.user_id for m in promoted]


def apply(
    session: Session,
    specs: list[CommunitySpec],
    *,
    programmes: dict[str, str] | None = None,
    now: dt.datetime,
) -> LoadReport:
    """Create or update communities and meetings by slug; never drops members or user data.

    With `programmes` (name -> lessons channel), each community's lessons channel follows
    it; without, lessons channels are left as they are."""
    created = updated = unchanged = 0
    m_created = m_updated = m_cancelled = 0
    promoted: list[tuple[str, str]] = []
    for spec in specs:
        # Locked like a join (PostgreSQL), so that filling freed seats below
        # cannot race a join or leave of the same community.
        community = session.scalars(
            select(Community).where(Community.slug == spec.slug).with_for_update()
        ).one_or_none()
        values = {
            "name": spec.name,
            "programme": spec.programme,
            "description": spec.description,
            "capacity": spec.capacity,
            "registration_deadline": spec.registration_deadline,
            "approval": spec.approval,
            "channel_id": spec.channel,
            "reminder_offsets": spec.reminders,
        }
        if programmes is not None:
            values["lessons_channel_id"] = programmes.get(spec.programme)
        is_new = community is None
        if community is None:
            community = Community(slug=spec.slug, join_counter=0, **values)
            session.add(community)
            session.flush()
            changed = True
        elif edited_in_slack(session, spec.slug):
            changed = False  # its settings are Slack's now; the file's meetings still apply
        else:
            changed = _assign(community, values)
            promoted += [(spec.slug, user) for user in fill_free_seats(session, community, now)]
            communities.recount(session, community)
        changed = _sync_facilitators(session, community, spec.facilitators, now) or changed
        mc, mu, mx = _sync_meetings(session, community, spec.meetings)
        if is_new or changed or mc or mu or mx:
            detail = f"meetings: {mc} created, {mu} updated, {mx} cancelled"
            audit.record(
                session, action=audit.COMMUNITY_CREATED if is_new else audit.COMMUNITY_UPDATED,
                actor=audit.BY_CATALOG, community=spec.slug, detail=detail, now=now,
            )  # fmt: skip
        m_created, m_updated, m_cancelled = m_created + mc, m_updated + mu, m_cancelled + mx
        if is_new:
            created += 1
        elif changed:
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return LoadReport(
        created, updated, unchanged, m_created, m_updated, m_cancelled, tuple(promoted)
    )


def load_file(session: Session, path: Path, tz: ZoneInfo, *, now: dt.datetime) -> LoadReport:
    """Parse and apply the catalogue at `path`. Raises CatalogError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read ({exc.strerror})") from exc
    specs = parse(text, tz, source=str(path))
    return apply(session, specs, programmes=parse_programmes(text, source=str(path)), now=now)


def is_empty(session: Session) -> bool:
    return session.scalars(select(Community.id).limit(1)).first() is None
