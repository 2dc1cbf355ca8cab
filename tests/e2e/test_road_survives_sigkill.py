"""The delivery road across crashes: two `cop-bot serve` processes share a database; one is
killed with SIGKILL while the messages of a burst (welcomes, promotions, approval
requests, an answer to a question, a moved meeting's notices) are on their way to Slack,
and started again. Every acknowledged action's messages arrive exactly once after the
restart (the takeover's timing, LEASE + IN_FLIGHT, is tests/services/test_outbox.py's)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sandbox.standin import SlackStandIn
from storage import migrate
from storage.db import Database
from storage.models import OutboxItem, Question
from tests.conftest import SlackHTTP
from tests.e2e.support import start_serve_http
from tests.waiting import wait_until

# More than the default per-test timeout (pyproject.toml): these start `cop-bot serve`,
# kill it mid-work and start it again.
pytestmark = pytest.mark.timeout(300)

CATALOGUE = """
[[community]]
slug = "open"
name = "Open"
facilitators = ["UFAC2"]

[[community.meeting]]
id = "voorjaar"
starts = 2027-02-10T14:00:00
kind = "online"

[[community]]
slug = "klein"
name = "Klein"
capacity = 5

[[community]]
slug = "keur"
name = "Keur"
approval = true
facilitators = ["UFAC"]
"""
OPEN, KLEIN, KEUR, LEAVERS = 16, 8, 4, 3
# The road's messages Slack answers before it stalls; the rest wait in flight for the kill.
PASSING = 4


def _start(
    db_url: str, standin: SlackStandIn, tmp_path: Path, name: str
) -> tuple[subprocess.Popen[bytes], SlackHTTP, Path]:
    return start_serve_http(db_url, standin, tmp_path, tmp_path / "catalogus.toml", name)


def _keyed_posts(standin: SlackStandIn) -> list[tuple[str, str]]:
    """(recipient, key) of every message of the road that Slack accepted."""
    return [
        (str(c.args["channel"]), str(c.args["metadata"]["event_payload"]["key"]))
        for c in standin.calls("chat.postMessage")
        if c.status == 200 and c.response.get("ok") and c.args.get("metadata")
    ]


def _done(db: Database) -> int:
    with db.read() as session:
        return int(
            session.scalar(
                select(func.count()).where(OutboxItem.state == OutboxItem.DONE)
            ) or 0
        )  # fmt: skip


def test_a_burst_survives_sigkill_of_one_of_two_serve_processes_exactly_once(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    (tmp_path / "catalogus.toml").write_text(CATALOGUE)
    migrate.upgrade(db_url)
    db = Database(db_url)
    victim, slack, log = _start(db_url, standin, tmp_path, "victim")
    survivor, _, survivor_log = _start(db_url, standin, tmp_path, "survivor")
    restarted: subprocess.Popen[bytes] | None = None
    try:
        # Slack answers the first few of the road's messages, then keeps the others in
        # flight until released: the burst is still on its way when the victim dies.
        gate = standin.hold_after(
            "chat.postMessage", PASSING, where=lambda args: bool(args.get("metadata"))
        )
        acknowledged: list[tuple[str, str]] = []

        def say(user: str, text: str, expect: str) -> None:
            response = slack.command(user, text)
            assert response.status == 200
            assert expect in response.json()["text"], response.json()
            acknowledged.append((user, text))

        for i in range(OPEN):
            say(f"UOPEN{i:02d}", "aanmelden open", "Je bent lid van *Open*")
        for i in range(KLEIN):
            say(f"UKLEIN{i}", "aanmelden klein", "Klein")
        for i in range(KEUR):
            say(f"UKEUR{i}", "aanmelden keur", "doorgestuurd")
        for i in range(LEAVERS):  # three members leave: three move up from the waitlist
            say(f"UKLEIN{i}", "afmelden klein", "Klein")
        # The facilitator answers a member's question (in the form) and moves the meeting.
        say("UOPEN00", "vraag open Hoe meten jullie luchtkwaliteit?", "")
        with db.read() as session:
            [question] = session.scalars(select(Question.id)).all()
        opened = len(standin.calls("views.open"))
        assert slack.click("UFAC2", f"question_answer_open-{question}", str(question)).status == 200
        [view] = [c.args["view"] for c in standin.wait_for("views.open", opened + 1)[opened:]]
        if isinstance(view, str):
            view = json.loads(view)
        submitted = slack.submit("UFAC2", view, {"answer_text": "Met sensoren op palen."})
        assert submitted.status == 200
        acknowledged.append(("UFAC2", "answer"))
        say("UFAC2", "bijeenkomst verplaatsen open 1 17 februari 14:00", "")

        # Kill once some of it is out and much is not: the state we need, not a moment.
        wait_until(
            lambda: (
                len(_keyed_posts(standin)) >= PASSING and gate.held >= 1 and _done(db) >= PASSING
            ),
            lambda: f"{PASSING} messages out and one in flight:\n{log.read_text()}",
            timeout=60,
        )
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        posted_before = len(_keyed_posts(standin))
        assert posted_before == PASSING, "the kill must land mid-burst"

        # Slack answers what it held (the victim's messages among them are out, though
        # their sender is gone) and everything after at once.
        gate.release()
        restarted, _, _ = _start(db_url, standin, tmp_path, "restarted")
        # Who hears what: each new member a welcome (all of Open, the five first of Klein),
        # each who moved up a welcome with the news, the facilitator a request per asker.
        # The three who left soon after joining got theirs only if it went out before.
        leavers = {f"UKLEIN{i}" for i in range(LEAVERS)}
        expected = Counter(
            # Open's members: the welcome and the moved meeting; the asker also the answer.
            {f"UOPEN{i:02d}": 2 for i in range(OPEN)}
            | {"UOPEN00": 3}
            | {f"UKLEIN{i}": 1 for i in range(LEAVERS, KLEIN)}  # 2 members, 3 promoted
            | {"UFAC": KEUR}
        )

        def heard() -> Counter[str]:
            return Counter(r for r, _ in _keyed_posts(standin) if r not in leavers)

        def settled() -> bool:  # everything but the paced calendar files (see below)
            with db.read() as session:
                return not session.scalar(
                    select(func.count()).where(
                        OutboxItem.kind != "welcome_calendar", OutboxItem.state != OutboxItem.DONE
                    )
                )

        wait_until(
            lambda: heard() == expected and settled(),
            lambda: f"{heard()}\n{(tmp_path / 'restarted.log').read_text()}",
            timeout=60,
        )
        # Nothing more can go out: every item of these lanes is done, and a done item is
        # never claimed again (tests/services/test_outbox.py), so counting now is final.
        posts = _keyed_posts(standin)
        assert heard() == expected
        assert all(n <= 1 for r, n in Counter(r for r, _ in posts).items() if r in leavers)
        assert len(set(posts)) == len(posts)  # no key twice
        promoted = [
            c.args["text"] for c in standin.calls("chat.postMessage")
            if c.args["channel"] in {"UKLEIN5", "UKLEIN6", "UKLEIN7"}
        ]  # fmt: skip
        assert len(promoted) == 3
        assert all("plek vrijgekomen" in text for text in promoted), promoted
        with db.read() as session:
            states = Counter(session.execute(select(OutboxItem.kind, OutboxItem.state)).all())
        # Calendar files keep the file API's pace (50 a minute): some may still wait.
        assert {s for (kind, s) in states if kind != "welcome_calendar"} == {OutboxItem.DONE}
        assert "Traceback" not in survivor_log.read_text()
    finally:
        for process in (victim, survivor, restarted):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
        db.dispose()
