"""Personal data (AVG/GDPR): everything stored about a person, forgetting them, and
removing what people who left long ago leave behind (retention)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Text, delete, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.services import audit, membership, outbox
from bot.services.errors import NotMember
from bot.services.views import Promotion
from storage.models import (
    AppSetting,
    AuditEntry,
    Base,
    CalendarFeed,
    Community,
    Departure,
    Facilitator,
    Lesson,
    Meeting,
    Membership,
    OutboxItem,
    Question,
    QuestionVote,
    Rsvp,
    Topic,
    TopicVote,
    UserSetting,
)

# What stands in an author column once its author is forgotten: no Slack id (those
# start with U or W), so no mention is ever made of it; shown as "een oud-lid".
FORMER_MEMBER = "former-member"
# What replaces a forgotten person's id inside texts others wrote ("@U0BOB" -> "@oud-lid").
FORMER_MEMBER_IN_TEXT = "oud-lid"
_RETENTION_KEY = "retention_last_run"

# Every column that holds a user id, by table: what the export reads and the forget
# removes. tests/services/test_privacy.py checks that no user column is missing here.
USER_COLUMNS: dict[type[Base], tuple[InstrumentedAttribute[Any], ...]] = {
    Membership: (Membership.user_id,),
    Facilitator: (Facilitator.user_id,),
    Rsvp: (Rsvp.user_id,),
    TopicVote: (TopicVote.user_id,),
    QuestionVote: (QuestionVote.user_id,),
    UserSetting: (UserSetting.user_id,),
    CalendarFeed: (CalendarFeed.user_id,),
    Departure: (Departure.user_id,),
    OutboxItem: (OutboxItem.recipient,),
    Topic: (Topic.proposed_by,),
    Question: (Question.asked_by, Question.answered_by, Question.status_by),
    Lesson: (Lesson.published_by,),
    Meeting: (Meeting.agenda_by, Meeting.minutes_by),
    AuditEntry: (AuditEntry.actor, AuditEntry.subject),
}
# Rows that are only about the person: deleted when they are forgotten.
_PERSONAL = (Rsvp, TopicVote, QuestionVote, UserSetting, CalendarFeed, Departure, OutboxItem)
# What others read too: kept for the community, without the name.
_AUTHORED = (Topic, Question, Lesson, Meeting)


@dataclass(frozen=True)
class Summary:
    """What the readable part of an export lists."""

    memberships: tuple[tuple[str, str], ...]  # (community name, status)
    facilitator_of: tuple[str, ...]
    counts: dict[str, int]  # table name -> rows about the person
    language: str | None
    has_feed: bool
    left_at: dt.datetime | None


@dataclass(frozen=True)
class Export:
    data: dict[str, Any]  # JSON-ready: every table, every row about the person
    summary: Summary


@dataclass(frozen=True)
class Forgotten:
    hashed: str  # the salted hash that stands for them in the audit log
    memberships: int
    promotions: tuple[Promotion, ...]
    facilitator_of: tuple[str, ...] = field(default=())  # community names


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _led_by(session: Session, user_id: str) -> list[tuple[str, str]]:
    """(name, slug) of the communities `user_id` is a facilitator of, by name."""
    rows = session.execute(
        select(Community.name, Community.slug)
        .join(Facilitator, Facilitator.community_id == Community.id)
        .where(Facilitator.user_id == user_id)
        .order_by(Community.name)
    )
    return [(name, slug) for name, slug in rows]


def _counts(tables: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Rows per table; the outbox's reminders counted apart, as "deliveries" (the summary
    names them "herinneringen")."""
    counts = {name: len(rows) for name, rows in tables.items()}
    sent = tables.get(OutboxItem.__tablename__, [])
    counts["deliveries"] = sum(1 for row in sent if row.get("kind") in outbox.REMINDERS)
    counts[OutboxItem.__tablename__] = len(sent) - counts["deliveries"]
    return counts


def export(session: Session, *, user_id: str, now: dt.datetime) -> Export:
    """Every row of every table that names `user_id`, and a summary of it."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for model, columns in USER_COLUMNS.items():
        table = Base.metadata.tables[model.__tablename__]
        rows = session.execute(
            select(table).where(or_(*(c == user_id for c in columns))).order_by(*table.primary_key)
        ).all()
        tables[table.name] = [{k: _value(v) for k, v in row._mapping.items()} for row in rows]
    ships = session.execute(
        select(Community.name, Membership.status)
        .join(Community, Community.id == Membership.community_id)
        .where(Membership.user_id == user_id)
        .order_by(Community.name)
    ).all()
    leads = _led_by(session, user_id)
    setting = session.get(UserSetting, user_id)
    departure = session.get(Departure, user_id)
    summary = Summary(
        memberships=tuple((name, status) for name, status in ships),
        facilitator_of=tuple(name for name, _ in leads),
        counts=_counts(tables),
        language=setting.language if setting else None,
        has_feed=bool(tables["calendar_feeds"]),
        left_at=departure.left_at if departure else None,
    )
    data = {"user_id": user_id, "exported_at": now.isoformat(), "tables": tables}
    return Export(data=data, summary=summary)


def _scrub_texts(session: Session, user_id: str) -> None:
    """Mentions of the person in texts others wrote (a question naming @U0BOB) lose the id."""
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(user_id)}(?![A-Za-z0-9])")
    for table in Base.metadata.sorted_tables:
        if table.name == AuditEntry.__tablename__:
            continue  # handled by audit.pseudonymise
        texts: list[Column[Any]] = [c for c in table.columns if isinstance(c.type, Text)]
        keys = list(table.primary_key)
        for column in texts:
            rows = session.execute(
                select(*keys, column).where(column.contains(user_id, autoescape=True))
            ).all()
            for row in rows:
                new = pattern.sub(FORMER_MEMBER_IN_TEXT, row[-1])
                if new != row[-1]:
                    where = [k == row[i] for i, k in enumerate(keys)]
                    session.execute(update(table).where(*where).values({column.name: new}))


def forget(
    session: Session,
    *,
    user_id: str,
    now: dt.datetime,
    tz: ZoneInfo,
    salt: str,
    actor: str | None = None,
    action: str = audit.FORGOTTEN,
    admins: Collection[str] = (),
) -> Forgotten:
    """Remove everything stored about `user_id`: memberships (through the leave rule, so
    the waitlist moves up), waitlist places, requests, facilitator roles, RSVPs, votes,
    language, feed token, what the outbox holds for them; what they wrote stays, without
    their name; the audit log keeps a salted hash. `actor`: who asked (None: the person
    themselves). Each of `admins` hears which facilitator roles ended, through the outbox
    (FORGET_NOTICE).

    Call inside a write transaction."""
    hashed = audit.pseudonym(user_id, salt)
    slugs = session.scalars(
        select(Community.slug)
        .join(Membership, Membership.community_id == Community.id)
        .where(Membership.user_id == user_id)
        .order_by(Community.slug)
    ).all()
    promotions = []
    for slug in slugs:
        try:
            left = membership.leave(session, query=slug, user_id=user_id, now=now, tz=tz)
        except NotMember:
            continue  # left in the meantime (a leave committed since the query above)
        if left.promoted is not None:
            promotions.append(left.promoted)
    leads = _led_by(session, user_id)
    for _, slug in leads:
        audit.record(
            session, action=audit.FACILITATOR_REMOVED, actor=actor or user_id, subject=user_id,
            community=slug, detail="forgotten", now=now,
        )  # fmt: skip
    session.execute(delete(Facilitator).where(Facilitator.user_id == user_id))
    for model in _PERSONAL:
        for column in USER_COLUMNS[model]:
            session.execute(delete(model).where(column == user_id))
    for authored in _AUTHORED:
        for column in USER_COLUMNS[authored]:
            session.execute(
                update(authored).where(column == user_id).values({column.key: FORMER_MEMBER})
            )
    _scrub_texts(session, user_id)
    audit.record(
        session, action=action, actor=actor or hashed, subject=hashed, now=now,
        detail=f"memberships: {len(slugs)}, facilitator roles: {len(leads)}",
    )  # fmt: skip
    session.flush()
    audit.pseudonymise(session, user_id=user_id, hashed=hashed)
    audit.forget_admin(session, user_id)
    session.flush()
    names = [name for name, _ in leads]
    if names:
        for admin in sorted(set(admins) - {user_id}):  # not to the person just forgotten
            outbox.enqueue(
                session, kind=outbox.FORGET_NOTICE, recipient=admin, subject=hashed, now=now,
                payload={"names": names},
            )  # fmt: skip
    return Forgotten(
        hashed=hashed,
        memberships=len(slugs),
        promotions=tuple(promotions),
        facilitator_of=tuple(name for name, _ in leads),
    )


def retention_due(session: Session, *, now: dt.datetime) -> bool:
    """Whether the retention job should run now (at most once a day); claims the run."""
    row = session.get(AppSetting, _RETENTION_KEY, with_for_update=True)
    if row is not None and dt.datetime.fromisoformat(row.value) > now - dt.timedelta(days=1):
        return False
    if row is None:
        session.add(AppSetting(key=_RETENTION_KEY, value=now.isoformat()))
    else:
        row.value = now.isoformat()
    session.flush()
    return True


def apply_retention(
    session: Session,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
    days: int,
    salt: str,
    admins: Collection[str],
) -> list[Forgotten]:
    """Forget everyone who left their last community more than `days` ago and has not
    come back (no membership, waitlist place, request or facilitator role; no admin)."""
    cutoff = now - dt.timedelta(days=days)
    done = []
    for user_id in list(
        session.scalars(select(Departure.user_id).where(Departure.left_at < cutoff))
    ):
        still = session.scalar(
            select(Membership.id).where(Membership.user_id == user_id).limit(1)
        ) or session.scalar(select(Facilitator.id).where(Facilitator.user_id == user_id).limit(1))
        if still is not None or user_id in admins:
            # Back in a community (or in charge of one): the clock starts at the next leave.
            session.execute(delete(Departure).where(Departure.user_id == user_id))
            continue
        forgotten = forget(
            session, user_id=user_id, now=now, tz=tz, salt=salt, actor=audit.BY_RETENTION,
            action=audit.RETENTION,
        )  # fmt: skip
        done.append(forgotten)
    return done
