"""Two `cop-bot serve` processes on one PostgreSQL database: one owns the scheduler; when
it is killed with SIGKILL in the middle of sending a reminder's fan-out the other takes
over (its scheduler the lock, its delivery process the dead one's claims), and every
member still gets the reminder exactly once.

PostgreSQL only: there the lock is an advisory lock that dies with its connection, and
several processes are a supported set-up. With SQLite one process is the design (the
flock case is covered by test_reminders_survive_sigkill)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.sandbox.standin import SlackStandIn
from storage.db import Database
from tests.conftest import AMS, fresh_database_url
from tests.e2e.support import (
    catalogue,
    is_reminder_dm,
    reminder_dms,
    reminder_items,
    start_serve,
)
from tests.waiting import wait_until

MEMBERS = 30
OWNER_LINE = "now runs the reminder scheduler"

# More than the default per-test timeout (pyproject.toml): these start `cop-bot serve`,
# kill it mid-work and start it again.
pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL (PostgreSQL)"
    ),
    pytest.mark.timeout(300),
]


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait(condition: str, check: Callable[[], bool], timeout: float, *logs: Path) -> None:
    """wait_until, failing with both processes' logs as they are then."""
    wait_until(
        check,
        lambda: f"{condition}:\n" + "\n".join(f"--- {log.name}\n{log.read_text()}" for log in logs),
        timeout=timeout,
        pause=0.02,
    )


def test_the_other_process_takes_over_when_the_scheduler_owner_is_killed_mid_fan_out(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    from bot.services import membership

    db_url = fresh_database_url("postgresql", tmp_path)
    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=30)
    path = tmp_path / "catalogus.toml"
    path.write_text(catalogue(starts))
    processes: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    try:
        # One after the other, as a deploy starts them: both load the same catalogue.
        for name in ("a", "b"):
            processes[name] = start_serve(db_url, standin, tmp_path, path, name)
        db = Database(db_url)
        try:
            with db.write() as session:
                for i in range(MEMBERS):
                    membership.join(session, query="snel", user_id=f"U{i:04d}",
                                    now=dt.datetime.now(dt.UTC), tz=AMS)  # fmt: skip
        finally:
            db.dispose()
        logs = [log for _, log in processes.values()]
        owners = [name for name, (_, log) in processes.items() if OWNER_LINE in log.read_text()]
        assert len(owners) == 1, owners
        owner, survivor = owners[0], ({"a", "b"} - set(owners)).pop()

        # Slack answers five reminder DMs, then keeps the others in flight until released:
        # the owner dies with the fan-out under way, whatever the machine's pace.
        gate = standin.hold_after("chat.postMessage", 5, where=is_reminder_dm)
        _wait(
            "five reminder DMs out and one in flight",
            lambda: sum(reminder_dms(standin).values()) >= 5 and gate.held >= 1, 60, *logs,
        )  # fmt: skip
        # Before the kill, not after it: once the owner is gone the survivor may take
        # the scheduler over at its next sweep (0.3 s), which is what it should do.
        assert OWNER_LINE not in processes[survivor][1].read_text()
        _stop(processes[owner][0])
        sent_before = sum(reminder_dms(standin).values())
        assert sent_before == 5, "the kill must land in the middle of the fan-out"

        gate.release()  # the owner's held messages are out, though it is gone
        _wait("every member's DM", lambda: len(reminder_dms(standin)) == MEMBERS, 60, *logs)
        # Nothing more may go out: wait until every item is settled, then count.
        _wait(
            "every item settled",
            lambda: {state for _, state, _ in reminder_items(db_url)} == {"done"}, 60, *logs,
        )  # fmt: skip

        counts = reminder_dms(standin)
        assert len(counts) == MEMBERS
        assert set(counts.values()) == {1}, {u: n for u, n in counts.items() if n != 1}
        # The fan-out was written before the kill, so the survivor's delivery process could
        # send it without owning the scheduler; it takes the scheduler over at its next
        # sweep after the dead owner's lock went with its connection.
        _wait(
            "the survivor to own the scheduler",
            lambda: OWNER_LINE in processes[survivor][1].read_text(), 60, *logs,
        )  # fmt: skip
    finally:
        for process, _ in processes.values():
            _stop(process)
