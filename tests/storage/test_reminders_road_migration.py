"""Migration 0011: what the reminders' old ledger (`deliveries`) still had to send moves
onto the delivery road, and a delivery that may have reached Slack is looked up there
under its old key before it is posted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect, text

from bot.clock import FrozenClock
from bot.notifier import Message, keyed
from bot.sandbox.standin import SlackStandIn
from bot.services import outbox
from storage import migrate
from storage.db import Database
from tests.factories import add_community, meeting
from tests.services.reminder_support import (
    WEEK,
    Road,
    items,
    join,
    local,
    plan,
    posts,
    private_lock_key,
    reminder,
    utc,
)

STARTS = local(2027, 3, 30, 14)
DUE_WEEK = utc(2027, 3, 23, 13)


@pytest.fixture
def old_db(db_url: str) -> Iterator[Database]:
    """A database at 0010 (the ledger's last revision): migrated down from the head."""
    command.downgrade(migrate.alembic_config(db_url), "0010")
    database = Database(db_url)
    yield database
    database.dispose()


def _ledger(db: Database, rows: list[tuple[str, str, str, int]], reminder_id: int) -> list[int]:
    """Deliveries (recipient, kind, state, attempts) of one reminder; returns their ids."""
    ids = []
    with db.engine.begin() as conn:
        for recipient, kind, state, attempts in rows:
            conn.execute(
                text(
                    "INSERT INTO deliveries (reminder_id, recipient, kind, state, attempts, "
                    "not_before, claimed_by, claimed_at) VALUES (:r, :to, :kind, :state, :n, "
                    ":at, :by, :claimed)"
                ),
                {
                    "r": reminder_id, "to": recipient, "kind": kind, "state": state,
                    "n": attempts, "at": DUE_WEEK.replace(tzinfo=None),
                    "by": "dead" if state == "sending" else None,
                    "claimed": DUE_WEEK.replace(tzinfo=None) if state == "sending" else None,
                },
            )  # fmt: skip
            ids.append(int(conn.execute(text("SELECT max(id) FROM deliveries")).scalar_one()))
    return ids


def test_pending_and_sending_deliveries_become_items_and_a_sent_one_is_not_posted_again(
    old_db: Database,
    db_url: str,
    standin: SlackStandIn,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private_lock_key(monkeypatch)
    add_community(old_db, "data-cop", channel="CDATA", meetings=(meeting(STARTS),))
    join(old_db, "data-cop", ("U1", "U2", "U3", "U4"), clock())
    plan(old_db, clock())
    week = reminder(old_db, WEEK)
    with old_db.engine.begin() as conn:
        conn.execute(
            text("UPDATE reminders SET state = 'fanned_out' WHERE id = :i"), {"i": week.id}
        )
    sent, pending, sending, channel = _ledger(
        old_db,
        [("U1", "dm", "sent", 1), ("U2", "dm", "pending", 0), ("U3", "dm", "sending", 1),
         ("CDATA", "channel", "sending", 1)],
        week.id,
    )  # fmt: skip
    # The old worker had posted U3's DM under the ledger's key, then died.
    old_road = Road(old_db, standin, clock)
    old_road.services.notifier.send_dm(
        "U3", keyed(Message(text="herinnering"), f"delivery-{sending}")
    )
    old_road.close()
    old_db.dispose()

    migrate.upgrade(db_url)

    db = Database(db_url)
    road = Road(db, standin, clock)
    try:
        assert "deliveries" not in inspect(db.engine).get_table_names()
        moved = {i.recipient: i for i in items(db)}
        assert {r: (i.kind, i.subject, i.state, i.unsure) for r, i in moved.items()} == {
            "U2": (outbox.REMINDER_DM, str(week.id), "pending", False),
            "U3": (outbox.REMINDER_DM, str(week.id), "pending", True),
            "CDATA": (outbox.REMINDER_CHANNEL, str(week.id), "pending", True),
        }
        assert moved["U3"].payload == f'{{"key":"delivery-{sending}"}}'
        assert moved["CDATA"].payload == f'{{"key":"delivery-{channel}"}}'
        assert pending and sent  # the sent one stays history: nothing moves over for it

        clock.now = DUE_WEEK + dt.timedelta(minutes=1)
        assert road.tick().handled == 3
        # U3's DM was found under its old key; U2's and the channel's went out.
        assert sorted(str(c.args["channel"]) for c in posts(standin)) == ["CDATA", "U2", "U3"]
        assert {i.state for i in items(db)} == {"done"}
    finally:
        road.close()
        db.dispose()
