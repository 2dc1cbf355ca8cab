"""Checks before a long-running command (`serve`, `socket`, `deliver`) starts: is the bot
token accepted by Slack, and does it carry the scopes the code needs?

A token Slack refuses, or a Slack that cannot be reached, stops the start with one line
naming the problem (StartupError is a ConfigError: `cop-bot` prints it and exits 2). A
missing scope does not: the bot starts, and each scope it lacks is named in a warning,
with what it is needed for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import ConfigError, Settings
from bot.slack_scopes import scopes_needed

log = logging.getLogger("cop_bot")

# How long auth.test may take before Slack counts as unreachable, per attempt.
CHECK_TIMEOUT_SECONDS = 10
SCOPES_HEADER = "x-oauth-scopes"
# slack_sdk logs each failed attempt at ERROR; the one line that says why is StartupError.
_QUIET = logging.getLogger("cop_bot.startup.slack_sdk")
_QUIET.setLevel(logging.CRITICAL)


class StartupError(ConfigError):
    """The bot cannot start; the message says why in one line."""


def check_slack(settings: Settings, *, needed: Mapping[str, list[str]] | None = None) -> None:
    """Call auth.test with SLACK_BOT_TOKEN. Raises StartupError when Slack refuses the
    token or cannot be reached; logs a warning per scope in `needed` (default: what the
    code needs, bot/slack_scopes.py) that the token lacks."""
    assert settings.slack_bot_token is not None
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=CHECK_TIMEOUT_SECONDS,
        logger=_QUIET,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )
    where = settings.slack_api_url
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if status == 200 and error:
            raise StartupError(f"SLACK_BOT_TOKEN is not accepted by Slack ({error})") from None
        raise StartupError(f"Slack did not answer auth.test at {where} (HTTP {status})") from None
    except (URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, URLError) else exc
        if isinstance(reason, OSError) and reason.strerror:
            reason = reason.strerror
        raise StartupError(f"Slack cannot be reached at {where} ({reason})") from None
    log.info(
        "Slack accepts SLACK_BOT_TOKEN: bot %s in workspace %s",
        response.get("user_id"),
        response.get("team"),
    )
    granted = _header(response.headers, SCOPES_HEADER)
    if granted is None:
        log.warning("Slack did not say which scopes SLACK_BOT_TOKEN has; not checked")
        return
    for scope, methods in missing_scopes(granted.split(","), needed or scopes_needed()):
        log.warning(
            "SLACK_BOT_TOKEN lacks the scope %s (needed for %s): add it to the app "
            "(manifest.yaml) and reinstall it in the workspace",
            scope,
            ", ".join(methods) or "the app's features",
        )


def missing_scopes(
    granted: Iterable[str], needed: Mapping[str, list[str]]
) -> list[tuple[str, list[str]]]:
    """The scopes of `needed` not in `granted`, each with what needs it, sorted."""
    have = {scope.strip() for scope in granted if scope.strip()}
    return [(scope, needed[scope]) for scope in sorted(needed) if scope not in have]


def _header(headers: Mapping[str, object], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, list):
                value = value[0] if value else ""
            return str(value)
    return None
