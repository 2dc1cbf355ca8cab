"""The audit log: who changed a role, decided a request, edited a community or asked to
be forgotten, when, and in which community. Admins read it; a forgotten person's id is
kept only as a salted hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.services import communities
from bot.services.errors import NotAllowed
from storage.models import AppSetting, AuditEntry

# Actions, as stored (the catalogue has a readable text for each: audit_action_<action>).
FACILITATOR_APPOINTED = "facilitator_appointed"
FACILITATOR_REMOVED = "facilitator_removed"
ADMIN_ADDED = "admin_added"
ADMIN_REMOVED = "admin_removed"
REQUEST_APPROVED = "request_approved"
REQUEST_DECLINED = "request_declined"
COMMUNITY_CREATED = "community_created"
COMMUNITY_UPDATED = "community_updated"
FORGOTTEN = "forgotten"  # at the person's own request, or by an admin with the CLI
RETENTION = "retention"  # forgotten after the retention period
MEMBER_REMOVED = "member_removed"  # by a facilitator or an admin
ACTIONS = (
    FACILITATOR_APPOINTED, FACILITATOR_REMOVED, ADMIN_ADDED, ADMIN_REMOVED, REQUEST_APPROVED,
    REQUEST_DECLINED, COMMUNITY_CREATED, COMMUNITY_UPDATED, FORGOTTEN, RETENTION,
    MEMBER_REMOVED,
)  # fmt: skip

# Who acted when no person did.
BY_CATALOG = "catalog"
BY_CLI = "cli"
BY_RETENTION = "retention"
BY_CONFIG = "config"

PAGE_SIZE = 15
_SALT_KEY = "audit_salt"
_ADMINS_KEY = "admins_seen"
HASH_PREFIX = "anon-"


@dataclass(frozen=True)
class Entry:
    id: int
    at: dt.datetime
    action: str
    actor: str
    subject: str | None
    community: str | None
    detail: str | None


@dataclass(frozen=True)
class AuditPage:
    community: str | None  # the slug when one community was asked for
    entries: tuple[Entry, ...]
    page: int
    pages: int
    total: int


def record(
    session: Session,
    *,
    action: str,
    actor: str,
    now: dt.datetime,
    subject: str | None = None,
    community: str | None = None,
    detail: str | None = None,
) -> None:
    """Add an entry, in the caller's transaction (so it stands or falls with the change)."""
    entry = AuditEntry(at=now, action=action, actor=actor, subject=subject)
    entry.community, entry.detail = community, detail
    session.add(entry)


def decided(session: Session, *, subject: str, community: str) -> bool:
    """Whether a join request of `subject` to `community` (a slug) was ever approved or
    declined: a request that is gone without that was withdrawn."""
    found = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.action.in_((REQUEST_APPROVED, REQUEST_DECLINED)),
            AuditEntry.subject == subject,
            AuditEntry.community == community,
        )
        .limit(1)
    )
    return found is not None


def salt(session: Session, configured: str | None) -> str:
    """COP_AUDIT_SALT when set, else the salt generated once and kept in `app_settings`."""
    if configured:
        return configured
    stored = session.get(AppSetting, _SALT_KEY)
    if stored is not None:
        return stored.value
    value = secrets.token_hex(16)
    try:
        with session.begin_nested():
            session.add(AppSetting(key=_SALT_KEY, value=value))
    except Exception:  # another process made it at the same moment: use theirs
        stored = session.get(AppSetting, _SALT_KEY, populate_existing=True)
        assert stored is not None
        return stored.value
    return value


def pseudonym(user_id: str, salt_value: str) -> str:
    """The salted hash that stands for a forgotten person in the audit log: the same
    person gives the same hash, and without the salt it leads back to nobody."""
    digest = hmac.new(salt_value.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:24]


def pseudonymise(session: Session, *, user_id: str, hashed: str) -> None:
    """Replace `user_id` by `hashed` in every audit entry about or by that person."""
    session.execute(update(AuditEntry).where(AuditEntry.actor == user_id).values(actor=hashed))
    session.execute(update(AuditEntry).where(AuditEntry.subject == user_id).values(subject=hashed))
    for entry in session.scalars(
        select(AuditEntry).where(AuditEntry.detail.contains(user_id, autoescape=True))
    ):
        assert entry.detail is not None
        entry.detail = entry.detail.replace(user_id, hashed)
    session.flush()


def sync_admins(session: Session, admins: Collection[str], *, now: dt.datetime) -> None:
    """Record who became or stopped being an admin (COP_ADMINS) since the last start."""
    stored = session.get(AppSetting, _ADMINS_KEY)
    before = set(filter(None, stored.value.split(","))) if stored is not None else set()
    current = set(admins)
    if stored is not None and before == current:
        return
    for user in sorted(current - before):
        record(session, action=ADMIN_ADDED, actor=BY_CONFIG, subject=user, now=now)
    for user in sorted(before - current):
        record(session, action=ADMIN_REMOVED, actor=BY_CONFIG, subject=user, now=now)
    value = ",".join(sorted(current))
    if stored is None:
        session.add(AppSetting(key=_ADMINS_KEY, value=value))
    else:
        stored.value = value
    session.flush()


def forget_admin(session: Session, user_id: str) -> None:
    """Take a forgotten person out of the remembered admin list (the entries say the rest)."""
    stored = session.get(AppSetting, _ADMINS_KEY)
    if stored is not None and user_id in stored.value.split(","):
        stored.value = ",".join(u for u in stored.value.split(",") if u != user_id)


def _entry(row: AuditEntry) -> Entry:
    return Entry(row.id, row.at, row.action, row.actor, row.subject, row.community, row.detail)


def page(
    session: Session,
    *,
    user_id: str,
    admins: Collection[str],
    query: str | None = None,
    number: int = 1,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """The latest entries, newest first, `size` a page; of one community when `query`
    names one. Admins only: raises NotAllowed, CommunityNotFound."""
    if user_id not in admins:
        raise NotAllowed("audit")
    slug = communities.resolve(session, query).slug if query else None
    where = [AuditEntry.community == slug] if slug else []
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    pages = max(1, math.ceil(total / size))
    number = min(max(1, number), pages)
    rows = session.scalars(
        select(AuditEntry)
        .where(*where)
        .order_by(AuditEntry.id.desc())
        .offset((number - 1) * size)
        .limit(size)
    )
    return AuditPage(slug, tuple(_entry(r) for r in rows), number, pages, total)


def everything(session: Session) -> Iterator[Entry]:
    """Every entry, oldest first, for `cop-bot audit export`."""
    for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        yield _entry(row)
