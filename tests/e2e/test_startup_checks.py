"""`cop-bot serve`, `socket` and `deliver` as real processes ask Slack (auth.test) first: a
token Slack refuses stops them with one line and status 2, a missing scope is a warning."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from bot.sandbox.standin import SlackStandIn
from bot.slack_scopes import BOT_SCOPES
from tests.conftest import SECRET
from tests.e2e.test_serve import CATALOG, COP_BOT, _env, _serving

# More than the default per-test timeout (pyproject.toml): these start `cop-bot` processes
# and wait for them.
pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize(
    ("command", "env"),
    [
        ("serve", {"SLACK_SIGNING_SECRET": SECRET}),
        ("socket", {"SLACK_APP_TOKEN": "xapp-test"}),
        ("deliver", {}),
    ],
)
def test_a_token_slack_refuses_exits_2_with_one_line_before_touching_anything(
    standin: SlackStandIn, tmp_path: Path, command: str, env: dict[str, str]
) -> None:
    standin.revoke("xoxb-revoked", error="token_revoked")
    database = tmp_path / "never-created.db"

    result = subprocess.run(
        [str(COP_BOT), command],
        env=_env(
            SLACK_BOT_TOKEN="xoxb-revoked", SLACK_API_URL=standin.api_url,
            DATABASE_URL=f"sqlite:///{database}", COP_CATALOG=str(CATALOG),
            HOME=str(tmp_path), **env,
        ),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "cop-bot: SLACK_BOT_TOKEN is not accepted by Slack (token_revoked)"
    ]
    assert result.stdout == ""
    assert [c.token for c in standin.calls("auth.test")] == ["xoxb-revoked"]
    assert not database.exists()


def test_serve_against_an_unreachable_slack_exits_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(COP_BOT), "serve"],
        env=_env(
            SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL="http://127.0.0.1:9/api/",  # the discard port: nobody listens
            DATABASE_URL=f"sqlite:///{tmp_path / 'cop.db'}", HOME=str(tmp_path),
        ),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line == (
        "cop-bot: Slack cannot be reached at http://127.0.0.1:9/api/ (Connection refused)"
    )
    assert "Traceback" not in result.stderr


def test_serve_with_a_token_missing_a_scope_warns_naming_it_and_starts(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    standin.grant(BOT_SCOPES - {"files:write"}, token="xoxb-test")

    with _serving(db_url, standin, tmp_path) as (slack, process, log):
        assert slack.get("/healthz").status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    warnings = [line for line in log.read_text().splitlines() if " WARNING cop_bot" in line]
    assert len(warnings) == 1, warnings
    assert "SLACK_BOT_TOKEN lacks the scope files:write (needed for" in warnings[0]


def test_serve_with_a_good_token_checks_it_once_and_warns_of_nothing(
    db_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    with _serving(db_url, standin, tmp_path) as (slack, process, log):
        assert slack.get("/healthz").status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    output = log.read_text()
    assert "Slack accepts SLACK_BOT_TOKEN: bot UBOT in workspace CoP test" in output
    assert "lacks the scope" not in output
    # serve checks; the delivery process it starts does not ask again.
    assert len(standin.calls("auth.test")) == 1
