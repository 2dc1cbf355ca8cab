"""The outbox: follow-up work kept in the database and sent at Slack's pace."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.notifier import DeliveryError
from bot.outbox import OutboxSender
from bot.services import communities, membership, outbox
from storage.db import Database
from storage.models import OutboxItem
from tests.conftest import NOW
from tests.factories import add_community

AMS = ZoneInfo("Europe/Amsterdam")


def _quick_join(db: Database, user: str, slug: str) -> str | None:
    with db.read() as session:
        community_id = communities.resolve_id(session, slug)
    with db.raw_write() as cursor:
        result = membership.quick_join(
            cursor, db.joins, community_id=community_id, user_id=user, now=NOW, tz=AMS
        )
    return None if result is None else result.outcome


def _items(db: Database) -> list[OutboxItem]:
    with db.read() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _queue(db: Database, count: int) -> None:
    with db.write() as session:
        for i in range(count):
            outbox.enqueue(
                session, kind="welcome_calendar", recipient=f"U{i}", subject="ethiek", now=NOW
            )


def test_a_new_member_s_calendar_file_is_queued_with_the_join_and_a_waitlisted_one_is_not(
    db: Database,
) -> None:
    add_community(db, "klein", capacity=1)

    assert _quick_join(db, "U1", "klein") == "member"
    assert _quick_join(db, "U2", "klein") == "waitlist"

    [item] = _items(db)
    assert (item.kind, item.recipient, item.subject, item.state) == (
        "welcome_calendar", "U1", "klein", OutboxItem.PENDING,
    )  # fmt: skip


def test_a_refused_join_queues_nothing(db: Database) -> None:
    add_community(db, "ethiek")
    assert _quick_join(db, "U1", "ethiek") == "member"

    assert _quick_join(db, "U1", "ethiek") is None  # already a member: the full path says so
    assert len(_items(db)) == 1


def test_the_sender_keeps_to_its_budget_and_sends_the_rest_later(db: Database) -> None:
    _queue(db, 5)
    sent: list[str] = []
    sender = OutboxSender(
        db, {"welcome_calendar": lambda item: sent.append(item.recipient)},
        owner="test", clock=lambda: NOW, rate_per_minute=60, burst=2,
    )  # fmt: skip

    assert sender.drain() == 2
    assert sent == ["U0", "U1"]
    assert [i.state for i in _items(db)] == ["done", "done", "pending", "pending", "pending"]
    sender._refilled -= 3.0  # three seconds later: three more tokens, but the burst caps at 2
    assert sender.drain() == 2
    assert sent == ["U0", "U1", "U2", "U3"]


def test_a_permanent_refusal_fails_the_item_and_a_passing_one_is_tried_later(
    db: Database,
) -> None:
    _queue(db, 2)

    def handler(item: outbox.Item) -> None:
        raise DeliveryError("user_not_found" if item.recipient == "U0" else "internal_error")

    sender = OutboxSender(db, {"welcome_calendar": handler}, owner="test", clock=lambda: NOW)
    assert sender.drain() == 2

    gone, later = _items(db)
    assert (gone.state, gone.error) == (OutboxItem.FAILED, "user_not_found")
    assert (later.state, later.error, later.attempts) == (OutboxItem.PENDING, "internal_error", 1)
    assert later.not_before == NOW + dt.timedelta(seconds=30)
    assert sender.drain() == 0  # not due yet


def test_an_item_claimed_by_a_process_that_died_is_taken_again(db: Database) -> None:
    _queue(db, 1)
    with db.write() as session:
        [claimed] = outbox.claim(session, owner="dead", now=NOW, limit=10)
    sent: list[int] = []
    sender = OutboxSender(
        db, {"welcome_calendar": lambda item: sent.append(item.id)}, owner="alive",
        clock=lambda: NOW + outbox.CLAIM_TIMEOUT / 2,
    )  # fmt: skip
    assert sender.drain() == 0  # the claim is fresh: its process may still be at it

    sender.clock = lambda: NOW + outbox.CLAIM_TIMEOUT + dt.timedelta(seconds=1)
    assert sender.drain() == 1
    assert sent == [claimed.id]
    [item] = _items(db)
    assert (item.state, item.attempts) == (OutboxItem.DONE, 2)
