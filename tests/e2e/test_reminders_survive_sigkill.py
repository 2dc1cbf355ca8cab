"""The real scheduler inside `cop-bot serve`: killed with SIGKILL in the middle of a
reminder's fan-out and started again, every member still gets exactly one DM."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from bot.standin import SlackStandIn
from storage.db import Database
from tests.conftest import AMS, SECRET
from tests.e2e.test_serve import COP_BOT, _env, _free_port, _wait_healthy

MEMBERS = 60


def _catalogue(starts: dt.datetime) -> str:
    local = starts.astimezone(AMS).replace(tzinfo=None).isoformat(timespec="seconds")
    return f"""
[[community]]
slug = "snel"
name = "Snel"
reminders = ["15s"]

[[community.meeting]]
id = "nu"
starts = {local}
kind = "online"
"""


def _start(
    db_url: str, standin: SlackStandIn, tmp_path: Path, catalogue: Path, name: str
) -> tuple[subprocess.Popen[bytes], Path]:
    port = _free_port()
    log = tmp_path / f"{name}.log"
    env = _env(
        SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=standin.api_url,
        DATABASE_URL=db_url, COP_CATALOG=str(catalogue), COP_SWEEP_SECONDS="0.3",
        HOME=str(tmp_path),
    )  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(COP_BOT), "serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"],
            env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,  # so that SIGKILL reaches gunicorn's worker too
        )  # fmt: skip
    _wait_healthy(f"http://127.0.0.1:{port}", process, log)
    return process, log


def _reminder_dms(standin: SlackStandIn) -> Counter[str]:
    return Counter(
        str(call.args["channel"])
        for call in standin.calls("chat.postMessage")
        if call.status == 200 and call.response.get("ok") and call.args.get("metadata")
    )


def test_sigkill_mid_fan_out_then_restart_sends_each_member_exactly_one_reminder(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    from bot.services import membership
    from storage import migrate

    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=24)
    catalogue = tmp_path / "catalogus.toml"
    catalogue.write_text(_catalogue(starts))
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
    try:
        # Slow Slack down so that the fan-out is still under way when the process dies.
        standin.set_delay(0.05)
        deadline = time.monotonic() + 40
        while sum(_reminder_dms(standin).values()) < 10:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # also when the wait failed: never leave it running
        first.wait(timeout=10)
    sent_before_restart = sum(_reminder_dms(standin).values())
    assert 10 <= sent_before_restart < MEMBERS, "the kill must land in the middle of the fan-out"

    second, log = _start(db_url, standin, tmp_path, catalogue, "second")
    try:
        deadline = time.monotonic() + 30
        while sum(_reminder_dms(standin).values()) < MEMBERS:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        time.sleep(1.5)  # a few more sweeps: nothing more may go out
        counts = _reminder_dms(standin)
        assert len(counts) == MEMBERS
        assert set(counts.values()) == {1}, {u: n for u, n in counts.items() if n != 1}
        assert "recovered" in log.read_text() or sent_before_restart == MEMBERS
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=15)
