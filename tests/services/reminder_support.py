"""Helpers for the reminder tests: schedulers on the Slack stand-in, members, and what
reached Slack."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import scheduler as scheduler_module
from bot.clock import FrozenClock
from bot.notifier import Message
from bot.sandbox.standin import Call, SlackStandIn
from bot.scheduler import EVENT_TYPE, ReminderScheduler, delivery_key
from bot.services import meetings, membership
from bot.services.reminders import Claimed
from bot.slack_notifier import SlackNotifier, make_web_client
from storage.db import Database
from storage.models import Delivery, Reminder

AMS = ZoneInfo("Europe/Amsterdam")
WEEK = dt.timedelta(days=7)
DAY = dt.timedelta(days=1)
OFFSETS = (WEEK, DAY)
SECOND = dt.timedelta(seconds=1)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An aware Amsterdam wall-clock time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=AMS)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def render(claimed: Claimed) -> Message:
    return Message(text=f"herinnering {claimed.community_slug} {claimed.meeting.id}")


def new_scheduler(db: Database, standin: SlackStandIn, clock: FrozenClock) -> ReminderScheduler:
    return ReminderScheduler(
        db=db,
        notifier=SlackNotifier(make_web_client("xoxb-test", standin.api_url)),
        render=render,
        clock=clock,
        # Recovery at once on taking over: these tests stage the crash themselves, with no
        # post left on its way (test_scheduler's in-flight test covers the wait).
        in_flight_seconds=0,
    )


def private_lock_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let this test's schedulers lock on a key of their own. A bot left running against
    the same PostgreSQL test database (a console, an interrupted e2e run) holds the
    production key, and would otherwise decide who owns the scheduler here."""
    monkeypatch.setattr(scheduler_module, "LOCK_KEY", random.randrange(1, 2**31))


def post_like_the_scheduler(scheduler: ReminderScheduler, claimed: Claimed) -> str:
    """Post a claimed delivery exactly as ReminderScheduler._send does, without the mark."""
    message = replace(
        scheduler.render(claimed),
        metadata={
            "event_type": EVENT_TYPE,
            "event_payload": {"key": delivery_key(claimed.delivery_id)},
        },
    )
    if claimed.kind == "dm":
        return scheduler.notifier.send_dm(claimed.recipient, message)
    return scheduler.notifier.post(claimed.recipient, message)


def plan(db: Database, now: dt.datetime, offsets: Iterable[dt.timedelta] = OFFSETS) -> None:
    with db.write() as session:
        meetings.sync_reminders(session, offsets=list(offsets), now=now, tz=AMS)


def join(db: Database, slug: str, users: Iterable[str], now: dt.datetime) -> None:
    with db.write() as session:
        for user in users:
            membership.join(session, query=slug, user_id=user, now=now, tz=AMS)


def leave(db: Database, slug: str, user: str, now: dt.datetime) -> None:
    with db.write() as session:
        membership.leave(session, query=slug, user_id=user, now=now, tz=AMS)


def posts(standin: SlackStandIn, to: str | None = None) -> list[Call]:
    """chat.postMessage calls that Slack accepted, optionally to one user or channel."""
    return [
        call
        for call in standin.calls("chat.postMessage")
        if call.response.get("ok") and (to is None or call.args.get("channel") == to)
    ]


def key_of(call: Call) -> str:
    metadata = call.args.get("metadata") or {}
    return str(metadata["event_payload"]["key"])


def reminder(db: Database, offset: dt.timedelta, meeting_id: int | None = None) -> Reminder:
    query = select(Reminder).where(Reminder.offset_seconds == int(offset.total_seconds()))
    if meeting_id is not None:
        query = query.where(Reminder.meeting_id == meeting_id)
    with db.read() as session:
        return session.scalars(query).one()


def deliveries(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def delivery_to(db: Database, recipient: str, offset: dt.timedelta = WEEK) -> Delivery:
    with db.read() as session:
        return session.scalars(
            select(Delivery)
            .join(Reminder, Delivery.reminder_id == Reminder.id)
            .where(
                Delivery.recipient == recipient,
                Reminder.offset_seconds == int(offset.total_seconds()),
            )
        ).one()
