"""Helpers for the reminder tests: the scheduler and the delivery worker on the Slack
stand-in (what `start_scheduler` runs in one process), members, the outbox's reminder
items, and what reached Slack."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot import outbox as courier_module
from bot import scheduler as scheduler_module
from bot.clock import FrozenClock
from bot.config import Settings
from bot.outbox import Courier, Sending
from bot.runtime import Services
from bot.sandbox.standin import Call, SlackStandIn
from bot.scheduler import ReminderScheduler
from bot.services import meetings, membership, outbox
from bot.slack_notifier import SlackNotifier, make_web_client
from handlers import deliveries as deliveries_module
from storage.db import Database
from storage.models import OutboxItem, Reminder

AMS = ZoneInfo("Europe/Amsterdam")
WEEK = dt.timedelta(days=7)
DAY = dt.timedelta(days=1)
OFFSETS = (WEEK, DAY)
SECOND = dt.timedelta(seconds=1)
# How long after a worker's claim another worker takes it over (its lease ran out, and
# the in-flight bound passed since).
TAKEOVER = outbox.LEASE + outbox.IN_FLIGHT + SECOND


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An aware Amsterdam wall-clock time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=AMS)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Round:
    fanned_out: int
    skipped_reminders: int
    items: int  # outbox items the fan-out wrote
    handled: int  # outbox items the courier handled (sent, dropped, failed or retried)


class Road:
    """A process's reminder road: the scheduler (lock, planning, fan-out) and a courier
    with the reminders' lanes (handlers/deliveries.py), on one Database."""

    def __init__(
        self,
        db: Database,
        standin: SlackStandIn,
        clock: FrozenClock,
        *,
        owner: str = "alive",
        client: WebClient | None = None,
        sweep_seconds: float = 5.0,
    ) -> None:
        notifier = SlackNotifier(client or make_web_client("xoxb-test", standin.api_url))
        self.services = Services(
            settings=Settings(database_url=db.url, timezone=AMS), db=db, notifier=notifier,
            clock=clock,
        )  # fmt: skip
        lanes = deliveries_module.lanes(self.services)
        self.courier = Courier(
            db, notifier, {kind: lanes[kind] for kind in outbox.REMINDERS}, owner=owner,
            clock=clock,
        )  # fmt: skip
        self.scheduler = ReminderScheduler(db=db, clock=clock, sweep_seconds=sweep_seconds)
        self.db, self.clock = db, clock

    def become_owner(self) -> bool:
        return self.scheduler.become_owner()

    def tick(self) -> Round:
        """One sweep's fan-out, then the courier sends everything that is due."""
        report = self.scheduler.tick()
        handled = self.courier.drain()
        return Round(report.fanned_out, report.skipped_reminders, report.items, handled)

    def close(self) -> None:
        self.scheduler.stop()
        self.courier.close()
        self.services.background.shutdown(wait=True)
        self.services.foreground.shutdown(wait=True)


def private_lock_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let this test's schedulers lock on a key of their own. A bot left running against
    the same PostgreSQL test database (a console, an interrupted e2e run) holds the
    production key, and would otherwise decide who owns the scheduler here."""
    monkeypatch.setattr(scheduler_module, "LOCK_KEY", random.randrange(1, 2**31))


def claim_and_post(road: Road, *, owner: str = "dead", post: bool = True) -> list[outbox.Item]:
    """A worker that dies mid-delivery: it claims every due reminder item and (with
    `post`) posts each exactly as the courier does, but never marks one."""
    claimed: list[outbox.Item] = []
    for kind in outbox.REMINDERS:
        with road.db.write() as session:
            claimed += outbox.claim(session, kind=kind, owner=owner, now=road.clock(), limit=10_000)
    if post:
        pace = courier_module._ChannelPace(interval=0.0)
        for item in claimed:
            sending = Sending(road.services.notifier, item, now=road.clock(), pace=pace)
            deliveries_module.reminder(road.services, item, sending)
    return claimed


def plan(db: Database, now: dt.datetime, offsets: Iterable[dt.timedelta] = OFFSETS) -> None:
    with db.write() as session:
        meetings.sync_reminders(session, offsets=list(offsets), now=now, tz=AMS)


def join(db: Database, slug: str, users: Iterable[str], now: dt.datetime) -> None:
    """Members join; their welcomes (outbox items of other kinds) are left alone."""
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


def items(db: Database) -> list[OutboxItem]:
    """The outbox's reminder items, in the order they were written."""
    with db.read() as session:
        return list(
            session.scalars(
                select(OutboxItem)
                .where(OutboxItem.kind.in_(outbox.REMINDERS))
                .order_by(OutboxItem.id)
            )
        )


def item_to(db: Database, recipient: str, offset: dt.timedelta = WEEK) -> OutboxItem:
    """The reminder item of the `offset` reminder to `recipient`."""
    wanted = str(reminder(db, offset).id)
    [found] = [i for i in items(db) if i.recipient == recipient and i.subject == wanted]
    return found
