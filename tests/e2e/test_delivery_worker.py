"""COP_DELIVERY=worker: `cop-bot serve` starts no delivery process; the welcomes wait in
the outbox for a `cop-bot deliver` that the platform runs (the Procfile's `worker`)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import ConfigError, Settings
from bot.sandbox.standin import SlackStandIn
from storage.db import Database
from storage.models import OutboxItem
from tests.conftest import SECRET
from tests.e2e.test_serve import (
    CATALOG,
    COP_BOT,
    _children,
    _cmdline,
    _env,
    _serving,
    _welcome_sender,
)

# More than the default per-test timeout (pyproject.toml): these start `cop-bot` processes
# and wait for them.
pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("value", ["worker", " Worker "])
def test_worker_is_a_delivery_mode(value: str) -> None:
    assert Settings.from_env({"COP_DELIVERY": value}).delivery == "worker"


def test_an_unknown_delivery_mode_names_the_modes() -> None:
    with pytest.raises(
        ConfigError, match="COP_DELIVERY: 'platform' is not one of process, inline, worker"
    ):
        Settings.from_env({"COP_DELIVERY": "platform"})


def _welcome_state(db_url: str, user: str) -> str | None:
    database = Database(db_url)
    try:
        with database.read() as session:
            return session.scalar(
                select(OutboxItem.state).where(
                    OutboxItem.kind == "welcome", OutboxItem.recipient == user
                )
            )
    finally:
        database.dispose()


def test_serve_in_worker_mode_starts_no_delivery_process_and_a_deliver_of_its_own_sends(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    with _serving(db_url, standin, tmp_path, COP_DELIVERY="worker") as (slack, process, log):
        # Only gunicorn's web worker: no `bot.cli deliver` child.
        children = _children(process.pid)
        assert len(children) == 1, [_cmdline(c) for c in children]
        assert "deliver" not in _cmdline(children[0])

        response = slack.command("U0ALICE", "aanmelden ethiek")
        assert response.status == 200
        assert response.json()["text"].startswith(":tada: Je bent lid van *Ethiek*.")
        # Nobody in serve sends it: there is no delivery process (above), it is still
        # pending, and the one process that claims and sends it is `deliver` (below).
        assert _welcome_state(db_url, "U0ALICE") == OutboxItem.PENDING
        assert not standin.calls("chat.postMessage")

        deliver_log = tmp_path / "deliver.log"
        env = _env(
            SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=standin.api_url, DATABASE_URL=db_url, COP_CATALOG=str(CATALOG),
            HOME=str(tmp_path),
        )  # fmt: skip
        with deliver_log.open("wb") as output:
            deliver = subprocess.Popen(
                [str(COP_BOT), "deliver"], env=env, cwd=tmp_path,
                stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            [welcome] = standin.wait_for("chat.postMessage", 1, timeout=20)
            assert welcome.args["channel"] == "U0ALICE"
            assert welcome.args["text"] == ":wave: Welkom bij *Ethiek*!"
            assert _welcome_sender(db_url, "U0ALICE") == deliver.pid
        finally:
            deliver.send_signal(signal.SIGTERM)
            code = deliver.wait(timeout=20)
        assert code == 0, deliver_log.read_text()
        assert "Traceback" not in deliver_log.read_text() + log.read_text()
