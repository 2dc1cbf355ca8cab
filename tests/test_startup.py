"""The start-up check (bot/startup.py) against the stand-in Slack: a token Slack refuses
or a Slack out of reach stops the start with one line; a missing scope is a warning."""

from __future__ import annotations

import logging
import socket

import pytest

from bot.config import ConfigError, Settings
from bot.sandbox.standin import SlackStandIn
from bot.slack_scopes import BOT_SCOPES
from bot.startup import StartupError, check_slack


def _settings(standin: SlackStandIn, token: str = "xoxb-test") -> Settings:
    return Settings(slack_bot_token=token, slack_api_url=standin.api_url)


@pytest.mark.parametrize(
    "error", ["invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"]
)
def test_a_token_slack_refuses_stops_the_start_naming_slacks_reason(
    standin: SlackStandIn, error: str
) -> None:
    standin.revoke("xoxb-test", error=error)

    with pytest.raises(StartupError) as raised:
        check_slack(_settings(standin))

    assert str(raised.value) == f"SLACK_BOT_TOKEN is not accepted by Slack ({error})"
    # `cop-bot` prints a ConfigError as one line and exits 2.
    assert isinstance(raised.value, ConfigError)


def test_a_token_of_no_known_kind_is_refused_as_invalid_auth(standin: SlackStandIn) -> None:
    with pytest.raises(StartupError, match=r"not accepted by Slack \(invalid_auth\)"):
        check_slack(_settings(standin, token="not-a-slack-token"))


def test_an_unreachable_slack_stops_the_start_naming_where_it_looked() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/"

    with pytest.raises(StartupError) as raised:
        check_slack(Settings(slack_bot_token="xoxb-test", slack_api_url=url))

    message = str(raised.value)
    assert message.startswith(f"Slack cannot be reached at {url} (")
    assert "\n" not in message


def test_a_slack_that_answers_with_server_errors_stops_the_start(standin: SlackStandIn) -> None:
    standin.fail("auth.test", status=503, times=5)

    with pytest.raises(StartupError, match=r"Slack did not answer auth.test at .* \(HTTP 503\)"):
        check_slack(_settings(standin))


def test_each_scope_the_token_lacks_is_named_in_a_warning_and_the_start_goes_on(
    standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.grant(BOT_SCOPES - {"im:history", "files:write"})

    with caplog.at_level(logging.WARNING, logger="cop_bot"):
        check_slack(_settings(standin))

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert warnings[0].startswith("SLACK_BOT_TOKEN lacks the scope files:write (needed for ")
    assert "files.getUploadURLExternal" in warnings[0]
    assert warnings[1].startswith("SLACK_BOT_TOKEN lacks the scope im:history (needed for ")
    assert "conversations.history" in warnings[1]
    [call] = standin.calls("auth.test")
    assert call.token == "xoxb-test"


def test_a_token_with_every_needed_scope_starts_without_a_warning(
    standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cop_bot"):
        check_slack(_settings(standin))

    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("Slack accepts SLACK_BOT_TOKEN" in r.getMessage() for r in caplog.records)
