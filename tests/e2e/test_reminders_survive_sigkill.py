"""The real scheduler and delivery process of `cop-bot serve`: killed with SIGKILL in the
middle of sending a reminder's fan-out and started again, every member still gets
exactly one DM (the new delivery process takes over the dead one's claims, and finds in
Slack the messages that went out while it died)."""

from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path

import pytest

from bot.sandbox.standin import SlackStandIn
from storage.db import Database
from tests.conftest import AMS
from tests.e2e.support import catalogue as _catalogue
from tests.e2e.support import is_reminder_dm
from tests.e2e.support import reminder_dms as _reminder_dms
from tests.e2e.support import reminder_items as _reminder_items
from tests.e2e.support import start_serve as _start
from tests.waiting import wait_until

# More than the default per-test timeout (pyproject.toml): these start `cop-bot serve`,
# kill it mid-work and start it again.
pytestmark = pytest.mark.timeout(300)

MEMBERS = 60
# Reminder DMs Slack answers before it stalls: the rest wait in flight for the kill.
PASSING = 10


def _dms_done(db_url: str) -> int:
    return sum(
        1
        for who, state, _ in _reminder_items(db_url)
        if (who or "").startswith("U") and state == "done"
    )


def test_sigkill_mid_fan_out_then_restart_sends_each_member_exactly_one_reminder(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    from bot.services import membership
    from storage import migrate

    # Due 9 s from now, the meeting 27 s later: time for the kill, the restart and the
    # takeover of the dead worker's claims (LEASE + IN_FLIGHT) before the meeting begins.
    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=36)
    catalogue = tmp_path / "catalogus.toml"
    catalogue.write_text(_catalogue(starts, offset="27s"))
    migrate.upgrade(db_url)
    first, log = _start(db_url, standin, tmp_path, catalogue, "first")
    db = Database(db_url)
    try:
        for i in range(MEMBERS):
            with db.write() as session:
                membership.join(session, query="snel", user_id=f"U{i:04d}",
                                now=dt.datetime.now(dt.UTC), tz=AMS)  # fmt: skip
    except BaseException:
        os.killpg(first.pid, signal.SIGKILL)
        raise
    finally:
        db.dispose()
    # Slack answers the first reminder DMs and then stalls: the kill lands with those out
    # and marked and the next ones in flight, not at a moment that happens to be mid-way.
    gate = standin.hold_after("chat.postMessage", PASSING, where=is_reminder_dm)
    try:
        wait_until(
            lambda: _dms_done(db_url) >= PASSING and gate.held >= 1,
            lambda: f"{PASSING} reminder DMs marked and one in flight:\n{log.read_text()}",
            timeout=60,
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # also when the wait failed: never leave it running
        first.wait(timeout=10)
    # Slack answers what it held: those messages are out, though their sender is gone.
    held = gate.held
    gate.release()
    wait_until(
        lambda: sum(_reminder_dms(standin).values()) >= PASSING + held,
        "the held calls to be answered",
    )
    sent_before_restart = sum(_reminder_dms(standin).values())
    assert PASSING < sent_before_restart < MEMBERS, "the kill must land mid fan-out"

    second, log = _start(db_url, standin, tmp_path, catalogue, "second")
    try:
        # Nothing more may go out once every item is settled: wait for that, then count.
        wait_until(
            lambda: {state for _, state, _ in _reminder_items(db_url)} == {"done"},
            lambda: f"every reminder item settled:\n{log.read_text()}",
            timeout=60,
        )
        counts = _reminder_dms(standin)
        assert len(counts) == MEMBERS
        assert set(counts.values()) == {1}, {u: n for u, n in counts.items() if n != 1}
        # Every item settled; those the dead delivery process held were taken over, unsure.
        found = _reminder_items(db_url)
        assert {state for _, state, _ in found} == {"done"}, found
        assert any(unsure for _, _, unsure in found)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=15)
