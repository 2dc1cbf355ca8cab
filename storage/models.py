"""Typed SQLAlchemy 2 models of communities, memberships, meetings and settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, aliased, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.clock import system_clock

# Named constraints keep Alembic migrations portable between SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as naive UTC and gives them back aware, on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


def _utcnow() -> dt.datetime:
    # Only for rows whose writer gives no time (services pass their clock's `now` where
    # it matters): the wall clock of the write.
    return system_clock()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Community(Base):
    __tablename__ = "communities"
    # A default the database fills in (question_counter) is not read back on INSERT.
    __mapper_args__ = {"eager_defaults": False}  # noqa: RUF012 (SQLAlchemy reads it once)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    programme: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    registration_deadline: Mapped[dt.date | None] = mapped_column(Date)
    approval: Mapped[bool] = mapped_column(Boolean, default=False)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    # The programme-wide channel where lessons are published (catalogue `[[programme]]`
    # or COP_COMMUNITY_CHANNEL); copied onto each community so a publish is one read.
    lessons_channel_id: Mapped[str | None] = mapped_column(String(32))
    reminder_offsets: Mapped[str | None] = mapped_column(String(200))
    # Bumped by every join; the UPDATE doubles as the lock that serialises joins
    # to one community and its value is the member's place in the queue.
    join_counter: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every question asked; its value is the question's number in the community.
    # Only that UPDATE (questions.ask) reads it: deferred, and filled in by the database,
    # so that rows are loaded and written the same on a schema from before it (0011).
    question_counter: Mapped[int] = mapped_column(Integer, server_default="0", deferred=True)
    # Kept in step with `memberships` by the services in the same transaction, so that
    # lists and joins need not count members row by row.
    member_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    waitlist_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow, onupdate=_utcnow)

    facilitators: Mapped[list[Facilitator]] = relationship(
        back_populates="community", cascade="all, delete-orphan", order_by="Facilitator.id"
    )
    meetings: Mapped[list[Meeting]] = relationship(
        back_populates="community", order_by="Meeting.starts_at"
    )


class Facilitator(Base):
    __tablename__ = "facilitators"
    __table_args__ = (UniqueConstraint("community_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    # "catalog" rows follow the catalogue file; "admin" rows were appointed in Slack
    # and survive a reload of the catalogue.
    source: Mapped[str] = mapped_column(String(16), default="catalog")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)

    community: Mapped[Community] = relationship(back_populates="facilitators")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("community_id", "user_id"),
        Index("ix_memberships_queue", "community_id", "status", "seq"),
        Index("ix_memberships_user", "user_id"),
    )

    MEMBER = "member"
    WAITLIST = "waitlist"
    PENDING = "pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow, onupdate=_utcnow)

    community: Mapped[Community] = relationship()


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("community_id", "key"),
        Index("ix_meetings_starts_at", "starts_at"),
    )

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16), default="online")
    location: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED)
    source: Mapped[str] = mapped_column(String(16), default="catalog")
    agenda: Mapped[str | None] = mapped_column(Text)
    agenda_speakers: Mapped[str | None] = mapped_column(Text)
    agenda_by: Mapped[str | None] = mapped_column(String(32))
    agenda_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # 0 = no agenda yet, 1 = first version, >1 = edited (shown as such).
    agenda_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    agenda_ts: Mapped[str | None] = mapped_column(String(32))  # the channel post, to update
    minutes: Mapped[str | None] = mapped_column(Text)
    minutes_by: Mapped[str | None] = mapped_column(String(32))
    minutes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    minutes_ts: Mapped[str | None] = mapped_column(String(32))
    minutes_permalink: Mapped[str | None] = mapped_column(String(500))
    # Set when the day-after "please post the minutes" DM went to the facilitators.
    minutes_nudged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every move or cancellation: calendar apps update an event by it.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow, onupdate=_utcnow)

    community: Mapped[Community] = relationship(back_populates="meetings")


class UserSetting(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, default=_utcnow, onupdate=_utcnow, server_default=func.now()
    )


class Reminder(Base):
    """One reminder to send for a meeting, `offset_seconds` before it starts."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("meeting_id", "offset_seconds"),
        Index("ix_reminders_due", "state", "due_at"),
    )

    PENDING = "pending"  # waiting for its moment
    FANNED_OUT = "fanned_out"  # its outbox items are written; they go out one by one
    SKIPPED = "skipped"  # planned too late, or its moment passed while the meeting began
    CANCELLED = "cancelled"  # the meeting was cancelled, or the offset is no longer used

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    offset_seconds: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship()


class Rsvp(Base):
    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    YES = "yes"
    NO = "no"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow, onupdate=_utcnow)


class CalendarFeed(Base):
    """A secret token per user: the subscribable iCalendar feed of their communities."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Topic(Base):
    """An agenda topic a member proposed for a community's next meeting."""

    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_community", "community_id", "status"),)

    OPEN = "open"
    ON_AGENDA = "on_agenda"  # taken into an agenda
    DONE = "done"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)

    community: Mapped[Community] = relationship()


class TopicVote(Base):
    __tablename__ = "topic_votes"
    __table_args__ = (UniqueConstraint("topic_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Question(Base):
    """An open question of a community, kept until it is answered."""

    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_community", "community_id", "status"),
        UniqueConstraint("community_id", "number"),
    )

    OPEN = "open"
    RESEARCH = "research"  # in onderzoek (desk research)
    WORKING_GROUP = "working_group"  # werkgroep
    ANSWERED = "answered"  # beantwoord
    STATUSES = (OPEN, RESEARCH, WORKING_GROUP, ANSWERED)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # "#3": its number within the community, shown to people (from question_counter);
    # buttons and other references keep using `id`.
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    # Saved from a message with the shortcut: where it came from.
    permalink: Mapped[str | None] = mapped_column(String(500))
    source_channel: Mapped[str | None] = mapped_column(String(32))
    source_ts: Mapped[str | None] = mapped_column(String(32))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(32))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow, onupdate=_utcnow)

    community: Mapped[Community] = relationship()


class QuestionVote(Base):
    __tablename__ = "question_votes"
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Lesson(Base):
    """A lesson shared with the whole programme: an answered question or a short text."""

    __tablename__ = "lessons"
    __table_args__ = (Index("ix_lessons_community", "community_id", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="SET NULL"), unique=True
    )
    title: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(String(32))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))

    community: Mapped[Community] = relationship()


class OutboxItem(Base):
    """A message the bot sends on its own (a welcome, a promotion, an answer, a channel
    post): written in the same transaction as its cause and sent exactly once by the
    delivery worker (see bot/outbox.py). Each kind is a lane of its own, claimed by kind."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_lane", "kind", "state", "not_before"),)

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "welcome", "welcome_calendar"
    recipient: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))  # e.g. a community's slug
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))
    # What the message needs beyond recipient and subject (JSON), e.g. a meeting's old time.
    payload: Mapped[str | None] = mapped_column(Text)
    # The claim holds while its worker renews it; an expired lease is taken over.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Whether an earlier attempt may have reached Slack: then each message is looked up by
    # its key before it is posted (bot/outbox.py).
    unsure: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ts: Mapped[str | None] = mapped_column(String(32))  # the last message posted

    @classmethod
    def waits_behind(cls) -> ColumnElement[bool]:
        """Whether another item of the same kind and subject goes first: one being sent,
        or an earlier one still pending (waiting for its retry, say). The lanes that send
        their items one at a time per subject (bot.services.outbox.IN_ORDER) hold an item
        back while this holds, and the backlog does not count it as due."""
        other = aliased(cls)
        return exists(
            select(other.id).where(
                other.kind == cls.kind,
                other.subject == cls.subject,
                other.id != cls.id,
                or_(
                    other.state == cls.SENDING,
                    and_(other.state == cls.PENDING, other.id < cls.id),
                ),
            )
        )


class SeenRequest(Base):
    """A signed Slack request this bot has served, remembered while its signature is
    still accepted, so the same request sent again has no effect (see bot/edge.py)."""

    __tablename__ = "seen_requests"

    key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)  # sha256 of the signature
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who did what, when, in which community: role changes, decisions on join requests,
    community edits and forget requests (see bot/services/audit.py). A forgotten person's
    id is replaced here by a salted hash."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_community", "community", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))  # a user id, "catalog", "cli", a hash
    subject: Mapped[str | None] = mapped_column(String(64))  # whom it concerns
    community: Mapped[str | None] = mapped_column(String(64))  # the community's slug
    detail: Mapped[str | None] = mapped_column(Text)


class Departure(Base):
    """When someone last left a community (or was declined): leaving deletes the
    membership row, and what else they left behind is removed after the retention
    period (bot/services/privacy.py)."""

    __tablename__ = "departures"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    left_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AppSetting(Base):
    """A value the bot keeps for itself: the audit salt when COP_AUDIT_SALT is not set,
    when retention last ran, the admins it last saw."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SchedulerHeartbeat(Base):
    """The scheduler's owner writes here at every sweep: one row, the latest beat, so
    /readyz can tell that some process sends the reminders (see bot/health.py)."""

    __tablename__ = "scheduler_heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    owner: Mapped[str] = mapped_column(String(64))
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
