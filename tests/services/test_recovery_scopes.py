"""A reminder's channel post that reached Slack just before a crash is found there by the
worker that takes it over, with the scopes manifest.yaml grants, and marked done, not
posted again. With the scopes the manifest used to grant, Slack refused to show the
channel's history: the post is never posted twice, it waits (and fails in the end)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest

from bot.clock import FrozenClock
from bot.sandbox.standin import SlackStandIn
from storage.db import Database
from storage.models import OutboxItem
from tests.factories import add_community, meeting
from tests.services.reminder_support import (
    TAKEOVER,
    Road,
    claim_and_post,
    items,
    join,
    local,
    plan,
    posts,
    private_lock_key,
    utc,
)
from tests.test_slack_scopes import OLD_MANIFEST_SCOPES, manifest_bot_scopes

STARTS = local(2027, 3, 30, 14)
DUE_WEEK = utc(2027, 3, 23, 13)
MEMBERS = ("U1", "U2")


@pytest.fixture
def roads(
    db: Database,
    db_url: str,
    standin: SlackStandIn,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Road, Road]]:
    """The road of a process that is about to die, and of the one started after it (on
    an engine of its own, as another process has)."""
    private_lock_key(monkeypatch)
    other_db = Database(db_url)
    crashed = Road(db, standin, clock, owner="dead")
    successor = Road(other_db, standin, clock, owner="alive")
    yield crashed, successor
    crashed.close()
    successor.close()
    other_db.dispose()


def crash_after_posting(
    db: Database, standin: SlackStandIn, clock: FrozenClock, crashed: Road, channel: str
) -> dict[str, str]:
    """A community with `channel` whose week reminder was fanned out, claimed and posted
    (DMs and the channel post) by a worker that died before marking anything."""
    add_community(db, "data-cop", channel=channel, meetings=(meeting(STARTS),))
    join(db, "data-cop", MEMBERS, clock())
    plan(db, clock())
    clock.now = DUE_WEEK
    crashed.scheduler.tick()
    claim_and_post(crashed)
    posted = {str(c.args["channel"]): str(c.response["ts"]) for c in posts(standin)}
    assert set(posted) == {*MEMBERS, channel}
    assert {i.state for i in items(db)} == {OutboxItem.SENDING}
    clock.now = DUE_WEEK + TAKEOVER  # the process is gone; its leases ran out
    return posted


@pytest.mark.parametrize(
    ("channel", "private"),
    [("CDATA", False), ("GDATA", True), ("CSECRET", True)],
    ids=["public", "private", "private-with-a-c-id"],
)
def test_a_channel_post_left_sending_is_found_after_the_restart_with_the_manifests_scopes(
    db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    roads: tuple[Road, Road],
    channel: str,
    private: bool,
) -> None:
    standin.grant(manifest_bot_scopes())
    standin.add_channel(channel, private=private)
    crashed, successor = roads
    posted = crash_after_posting(db, standin, clock, crashed, channel)

    assert successor.tick().handled == 3  # takes over what the dead worker left

    [looked] = [c for c in standin.calls("conversations.history") if c.args["channel"] == channel]
    assert looked.response["ok"] is True
    found = {i.recipient: i for i in items(db)}
    assert {r: i.state for r, i in found.items()} == dict.fromkeys(posted, OutboxItem.DONE)
    assert found[channel].ts == posted[channel]
    clock.advance(dt.timedelta(hours=1))
    assert successor.tick().handled == 0
    assert Counter(call.args["channel"] for call in posts(standin)) == {
        "U1": 1, "U2": 1, channel: 1,
    }  # fmt: skip


def test_with_the_old_manifests_scopes_the_channel_post_is_never_posted_twice(
    db: Database,
    standin: SlackStandIn,
    clock: FrozenClock,
    roads: tuple[Road, Road],
) -> None:
    standin.grant(OLD_MANIFEST_SCOPES)
    crashed, successor = roads
    crash_after_posting(db, standin, clock, crashed, "CDATA")

    successor.tick()
    waiting = {i.recipient: i for i in items(db)}["CDATA"]
    clock.now = waiting.not_before  # its retry
    successor.tick()

    looked = [c for c in standin.calls("conversations.history") if c.args["channel"] == "CDATA"]
    assert len(looked) >= 2  # looked again at the retry, refused each time
    assert {(c.response["error"], c.response["needed"]) for c in looked} == {
        ("missing_scope", "channels:history")
    }
    # The DMs were found (im:history was granted); the channel post never is.
    assert {i.recipient: i.state for i in items(db)} == {
        "U1": OutboxItem.DONE, "U2": OutboxItem.DONE, "CDATA": OutboxItem.PENDING,
    }  # fmt: skip
    assert Counter(call.args["channel"] for call in posts(standin))["CDATA"] == 1
