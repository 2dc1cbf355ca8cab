"""`cop-bot deliver` on its own (a Procfile worker): with COP_METRICS_PORT it serves
/healthz, /readyz and /metrics, and /metrics counts the welcomes it sent."""

from __future__ import annotations

import datetime as dt
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.sandbox.standin import SlackStandIn
from storage.db import Database
from tests.e2e.test_serve import COP_BOT, _env, _free_port
from tests.factories import add_community
from tests.metrics_support import sample
from tests.services.reminder_support import join
from tests.waiting import wait_until

# More than the default per-test timeout (pyproject.toml): these start `cop-bot` processes
# and wait for them.
pytestmark = pytest.mark.timeout(180)


def _get(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def test_a_lone_delivery_process_serves_its_metrics_on_cop_metrics_port(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    database = Database(db_url)
    now = dt.datetime.now(dt.UTC)
    try:
        add_community(database, "ethiek")
        join(database, "ethiek", ["U0ALICE"], now)  # queues her welcome with the join
    finally:
        database.dispose()
    port = _free_port()
    log = tmp_path / "deliver.log"
    env = _env(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=standin.api_url, DATABASE_URL=db_url,
               COP_METRICS_PORT=str(port), HOME=str(tmp_path))  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(COP_BOT), "deliver"], env=env, cwd=tmp_path, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        [welcome] = standin.wait_for("chat.postMessage", 1, timeout=20)
        assert welcome.args["channel"] == "U0ALICE"
        base = f"http://127.0.0.1:{port}"

        def sent() -> float:
            found = _get(base + "/metrics")
            return sample(found[1], "cop_deliveries_total", kind="welcome", outcome="sent") if (
                found and found[0] == 200) else 0  # fmt: skip

        wait_until(
            lambda: sent() == 1, lambda: f"the welcome counted:\n{log.read_text()}", pause=0.1
        )
        assert _get(base + "/healthz") == (200, '{"ok": true, "database": "up"}')
        assert process.poll() is None
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
    assert "Traceback" not in log.read_text()
