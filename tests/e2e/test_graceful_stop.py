"""SIGTERM to `cop-bot serve` (a real process): the request in flight still gets its
answer, the scheduler stops and gives up its lock, and serve exits by itself; what bounds
that to 10 s is the stop timeouts it is configured with (checked below, not timed)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.standin import SlackStandIn
from bot.scheduler import SchedulerLock
from storage.db import Database
from tests.conftest import SECRET, SlackHTTP
from tests.e2e.support import start_serve
from tests.e2e.test_serve import stop_for_good
from tests.handlers.support import buttons
from tests.waiting import wait_until

# More than the default per-test timeout (pyproject.toml): these start `cop-bot` processes
# and wait for them.
pytestmark = pytest.mark.timeout(180)

CATALOGUE = """
[[community]]
slug = "snel"
name = "Snel"
facilitators = ["UFAC"]

[[community.meeting]]
id = "later"
starts = 2030-03-30T14:00:00
kind = "online"
"""

# The issue's own bound: a platform stopping the bot waits about this long before it kills.
STOP_SECONDS = 10


def _wait_for_line(log: Path, text: str, timeout: float = 30) -> None:
    wait_until(lambda: text in log.read_text(), lambda: f"{text!r} logged:\n{log.read_text()}",
               timeout=timeout)  # fmt: skip


def test_serve_is_configured_to_be_gone_within_the_platforms_stop_timeout() -> None:
    from bot import cli, server

    assert server.GRACEFUL_STOP_SECONDS <= STOP_SECONDS  # the web workers' requests
    assert cli.DELIVERY_STOP_SECONDS < STOP_SECONDS  # the delivery process, meanwhile


def _lock_is_free(db_url: str) -> bool:
    database = Database(db_url)
    lock = SchedulerLock(database)
    try:
        got = lock.try_acquire()
        if got:
            lock.release()
        return got
    finally:
        database.dispose()


def test_sigterm_answers_the_request_in_flight_stops_the_scheduler_and_frees_its_lock(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    catalogue = tmp_path / "catalogue.toml"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    process, log = start_serve(db_url, standin, tmp_path, catalogue, "serve")
    try:
        slack = SlackHTTP(f"http://127.0.0.1:{_port(process)}", standin, SECRET)
        _wait_for_line(log, "now runs the reminder scheduler")
        _wait_for_line(log, "delivering the outbox's welcomes")  # the delivery process is up
        assert not _lock_is_free(db_url)  # serve's worker holds it
        info = slack.command("UFAC", "info snel").json()
        [plan] = [b for b in buttons(info) if b["action_id"].startswith("meeting_form_plan")]

        # The click opens a modal; Slack keeps that call waiting: a request in flight.
        held = standin.hold("views.open")
        answer: dict[str, Any] = {}
        clicking = threading.Thread(
            target=lambda: answer.update(
                response=slack.click("UFAC", plan["action_id"], plan["value"])
            )
        )
        clicking.start()
        assert held.arrived.wait(10)
        process.send_signal(signal.SIGTERM)
        _wait_for_line(log, "Handling signal: term")
        # The delivery process stops meanwhile, not after the workers: the 10 s are shared.
        _wait_for_line(log, "the delivery process stopped")
        assert not answer
        held.release()

        clicking.join(30)
        assert answer["response"].status == 200
        [opened] = standin.calls("views.open")
        assert opened.response["ok"] is True
        assert process.wait(timeout=30) == 0  # by itself, not killed
        assert _lock_is_free(db_url)
        output = log.read_text()
        assert "Traceback" not in output
        assert "the reminder scheduler stopped" in output
    finally:
        stop_for_good(process)


def _port(process: Any) -> int:
    args = process.args
    return int(args[args.index("--port") + 1])
