"""Requests shaped and signed exactly as Slack sends them: for the console, tests and benchmarks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0COPBOT"
TEAM_DOMAIN = "copbot-test"
API_APP_ID = "A0COPBOT"
_trigger = itertools.count(1)


def signature(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(secret, ts, body),
    }


def _trigger_id() -> str:
    return f"{next(_trigger)}.1000000000.{int(time.time() * 1000) % 10**9:09d}"


def slash_command_body(
    *,
    user_id: str,
    text: str,
    response_url: str,
    command: str = "/cop",
    channel_id: str = "C0GENERAL",
    channel_name: str = "algemeen",
    user_name: str | None = None,
) -> str:
    """The form-encoded body of a slash command invocation."""
    return urlencode(
        {
            "token": "verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": _trigger_id(),
        }
    )


def block_actions_body(
    *,
    user_id: str,
    action_id: str,
    value: str,
    response_url: str,
    block_id: str = "b1",
    channel_id: str | None = None,
    message: dict[str, Any] | None = None,
    button_text: str = "",
) -> str:
    """The form-encoded body (payload=JSON) of a button click."""
    container: dict[str, Any] = (
        {
            "type": "message",
            "message_ts": message.get("ts", ""),
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        if message is not None
        else {
            "type": "message",
            "message_ts": f"{time.time():.6f}",
            "channel_id": channel_id,
            "is_ephemeral": True,
        }
    )
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": TEAM_ID,
        },
        "api_app_id": API_APP_ID,
        "token": "verification-token-unused",
        "container": container,
        "trigger_id": _trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "directmessage"} if channel_id else None,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text or action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if message is not None:
        payload["message"] = message
    return urlencode({"payload": json.dumps(payload)})
