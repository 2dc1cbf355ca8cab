"""`cop-bot serve` as a real process: /healthz, a signed command, the welcome DM, a clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox.standin import SlackStandIn
from storage.db import Database
from storage.models import OutboxItem
from tests.blockkit import assert_valid_message
from tests.conftest import SECRET, SlackHTTP
from tests.waiting import wait_until

# More than the default per-test timeout (pyproject.toml): these start `cop-bot` processes
# and wait for them.
pytestmark = pytest.mark.timeout(180)

REPO = Path(__file__).resolve().parents[2]
COP_BOT = Path(sys.executable).with_name("cop-bot")
CATALOG = REPO / "bot" / "data" / "catalog.toml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**values: str) -> dict[str, str]:
    """A clean environment: nothing of the caller's Slack settings leaks in."""
    env = {"PATH": os.environ.get("PATH", "")}
    env.update(values)
    return env


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> dict:
    def health() -> dict:
        """The /healthz body once it answers 200; until then {} (false: look again)."""
        if process.poll() is not None:
            pytest.fail(f"cop-bot serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
                return json.loads(response.read()) if response.status == 200 else {}
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return {}

    return wait_until(
        health, lambda: f"cop-bot serve to get healthy:\n{log.read_text()}", pause=0.1
    )


@contextmanager
def _serving(
    db_url: str, standin: SlackStandIn, tmp_path: Path, **settings: str
) -> Iterator[tuple[SlackHTTP, subprocess.Popen[bytes], Path]]:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = _env(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=standin.api_url,
        DATABASE_URL=db_url,
        COP_CATALOG=str(CATALOG),
        COP_PUBLIC_URL="https://cop.example.org/",
        HOME=str(tmp_path),  # gunicorn keeps its control socket there
        **settings,
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(COP_BOT), "serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"],
            env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,  # for stop_for_good
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        assert _wait_healthy(base_url, process, log) == {"ok": True, "database": "up"}
        yield SlackHTTP(base_url, standin), process, log
    finally:
        stop_for_good(process)


def stop_for_good(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to a `cop-bot serve` started in a session of its own, and to everything in
    that session (its web workers and its delivery process), then wait until all are gone.

    Killing serve alone leaves its children to notice by themselves (see
    test_when_serve_itself_is_killed_its_worker_and_delivery_process_exit_too); until they
    do, a delivery process of this test could claim a welcome of the next one, which uses
    the same database, and send it to this test's stand-in.
    """
    pids = [process.pid, *_children(process.pid)] if process.poll() is None else []
    with contextlib.suppress(ProcessLookupError):  # the whole session has exited already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    _wait_gone(pids)


@pytest.fixture
def server(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> Iterator[tuple[SlackHTTP, subprocess.Popen[bytes], Path]]:
    with _serving(db_url, standin, tmp_path) as running:
        yield running


def _children(pid: int) -> list[int]:
    found: list[int] = []
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.exists():  # exited (and reaped) while we looked
        return found
    for task in tasks.iterdir():
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except FileNotFoundError:  # a thread that ended while we looked
            continue
    return found


def _cmdline(pid: int) -> str:
    """A process's command line; "" for one that exited (and was reaped) while we looked.

    Listing the children and reading their command lines is not atomic: a killed delivery
    process can be reaped by `serve` in between.
    """
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _welcome_sender(db_url: str, user: str) -> int:
    """The process that sent `user`'s welcome, from its claim in the outbox."""
    database = Database(db_url)
    try:
        with database.read() as session:
            claimed_by = session.scalar(
                select(OutboxItem.claimed_by).where(
                    OutboxItem.kind == "welcome", OutboxItem.recipient == user
                )
            )
    finally:
        database.dispose()
    assert claimed_by is not None
    return int(claimed_by.split(":")[1])


def test_serve_answers_a_signed_join_and_sends_the_welcome_dm_then_stops_cleanly(
    server: tuple[SlackHTTP, subprocess.Popen[bytes], Path], standin: SlackStandIn
) -> None:
    slack, process, log = server

    response = slack.command("U0ALICE", "aanmelden ethiek")

    assert response.status == 200
    reply = response.json()
    assert_valid_message(reply)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(":tada: Je bent lid van *Ethiek*.")
    [welcome] = standin.wait_for("chat.postMessage", 1, timeout=10)
    assert welcome.args["channel"] == "U0ALICE"
    assert welcome.token == "xoxb-test"
    assert welcome.args["text"] == ":wave: Welkom bij *Ethiek*!"
    assert_valid_message(welcome.args)

    forged = slack.post(
        "text=lijst", {"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "1"}
    )
    assert forged.status == 401

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    output = log.read_text()
    assert "Traceback" not in output
    assert "Shutting down" in output


def test_serve_hands_out_a_calendar_link_and_serves_the_feed_behind_it(
    server: tuple[SlackHTTP, subprocess.Popen[bytes], Path], standin: SlackStandIn
) -> None:
    slack, _, _ = server
    slack.command("U0ALICE", "aanmelden ethiek")

    reply = json.dumps(slack.command("U0ALICE", "kalender").json())

    found = re.search(r"https://cop\.example\.org(/calendar/[A-Za-z0-9_-]{43}\.ics)", reply)
    assert found is not None
    with urllib.request.urlopen(slack.base_url + found.group(1), timeout=10) as response:
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        body = response.read()
    # What the feed holds is tested with a frozen clock in tests/handlers/test_calendar_feed.py;
    # this process runs on the real clock.
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\n" in body
    assert slack.get("/calendar/" + "x" * 43 + ".ics").status == 404


@pytest.mark.parametrize(
    ("command", "env", "variable"),
    [
        ("serve", {"SLACK_BOT_TOKEN": "xoxb-test"}, "SLACK_SIGNING_SECRET"),
        ("serve", {"SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN"),
        ("socket", {"SLACK_BOT_TOKEN": "xoxb-test"}, "SLACK_APP_TOKEN"),
    ],
)
def test_a_missing_setting_exits_with_status_2_and_one_line_naming_it(
    tmp_path: Path, command: str, env: dict[str, str], variable: str
) -> None:
    database = tmp_path / "never-created.db"

    result = subprocess.run(
        [str(COP_BOT), command],
        env=_env(DATABASE_URL=f"sqlite:///{database}", HOME=str(tmp_path), **env),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"cop-bot: {variable} is not set"]
    assert "Traceback" not in result.stderr
    # It stops before touching anything.
    assert not database.exists()


def test_a_welcome_dm_still_underway_when_told_to_stop_is_delivered(
    server: tuple[SlackHTTP, subprocess.Popen[bytes], Path], standin: SlackStandIn
) -> None:
    slack, process, log = server
    held = standin.hold("chat.postMessage")  # Slack keeps the welcome waiting for an answer

    response = slack.command("U0ALICE", "aanmelden ethiek")
    assert "Je bent lid van *Ethiek*" in response.json()["text"]
    assert held.arrived.wait(30)  # the welcome is on its way
    process.send_signal(signal.SIGTERM)
    wait_until(lambda: "Handling signal: term" in log.read_text(), "serve to begin stopping")
    held.release()  # Slack answers only once serve is stopping

    [welcome] = standin.wait_for("chat.postMessage", 1, timeout=30)
    assert welcome.args["channel"] == "U0ALICE"
    assert process.wait(timeout=30) == 0


def test_serve_sends_welcomes_from_a_delivery_process_of_its_own_and_stops_it(
    server: tuple[SlackHTTP, subprocess.Popen[bytes], Path], standin: SlackStandIn, db_url: str
) -> None:
    slack, process, log = server

    slack.command("U0ALICE", "aanmelden ethiek")

    [welcome] = standin.wait_for("chat.postMessage", 1, timeout=10)
    assert welcome.args["channel"] == "U0ALICE"
    sender = _welcome_sender(db_url, "U0ALICE")
    children = _children(process.pid)  # the web worker and the delivery process
    assert sender in children
    assert "bot.cli deliver" in _cmdline(sender)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert [c for c in children if Path(f"/proc/{c}").exists()] == []
    assert "Traceback" not in log.read_text()


def _alive(pid: int) -> bool:
    """Whether `pid` still runs; one that exited but is not reaped yet (a zombie) does not."""
    try:
        return " Z " not in Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False


def _wait_gone(pids: list[int]) -> None:
    """Wait until none of `pids` runs any more; fail naming those that still do."""
    wait_until(
        lambda: not any(_alive(p) for p in pids),
        lambda: f"these to exit: {[_cmdline(p) for p in pids if _alive(p)]}",
        pause=0.1,
    )


def test_when_serve_itself_is_killed_its_worker_and_delivery_process_exit_too(
    server: tuple[SlackHTTP, subprocess.Popen[bytes], Path],
) -> None:
    """Nothing may linger: a leftover worker would keep the scheduler lock forever."""
    _, process, _ = server
    children = _children(process.pid)
    assert len(children) == 2

    process.kill()  # SIGKILL to serve alone, not its process group
    process.wait(timeout=10)

    _wait_gone(children)


def test_serve_with_inline_delivery_sends_welcomes_from_its_web_worker(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    with _serving(db_url, standin, tmp_path, COP_DELIVERY="inline") as (slack, process, _):
        slack.command("U0ALICE", "aanmelden ethiek")

        [welcome] = standin.wait_for("chat.postMessage", 1, timeout=10)
        assert welcome.args["channel"] == "U0ALICE"
        sender = _welcome_sender(db_url, "U0ALICE")
        assert "deliver" not in _cmdline(sender)
        assert not [c for c in _children(process.pid) if "deliver" in _cmdline(c)]


def _delivery_processes(pid: int) -> list[int]:
    return [c for c in _children(pid) if "bot.cli deliver" in _cmdline(c)]


def test_a_delivery_process_that_dies_is_started_again_and_the_welcomes_still_go_out(
    server: tuple[SlackHTTP, subprocess.Popen[bytes], Path], standin: SlackStandIn, db_url: str
) -> None:
    slack, process, log = server
    [first] = _delivery_processes(process.pid)

    os.kill(first, signal.SIGKILL)
    wait_until(
        lambda: [p for p in _delivery_processes(process.pid) if p != first],
        "a new delivery process",
        pause=0.1,
    )
    slack.command("U0ALICE", "aanmelden ethiek")

    [welcome] = standin.wait_for("chat.postMessage", 1, timeout=15)
    assert welcome.args["channel"] == "U0ALICE"
    [again] = _delivery_processes(process.pid)
    assert _welcome_sender(db_url, "U0ALICE") == again != first
    assert "starting it again" in log.read_text()
