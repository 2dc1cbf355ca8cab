"""Requests shaped and signed exactly as Slack sends them: for the console, tests and benchmarks."""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0COPBOT"
TEAM_DOMAIN = "copbot-test"
API_APP_ID = "A0COPBOT"
_trigger = itertools.count(1)


def signature(secret: str, timestamp: str, body: str) -> str:
    """Slack's `X-Slack-Signature` of `body` sent at `timestamp`, as slack_sdk computes it."""
    signed = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    if signed is None:  # only without a timestamp
        raise ValueError("a signature needs a timestamp")
    return signed


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


_TYPED_MENTION = re.compile(r"(?<![\w@])@([UW][A-Z0-9]+|channel|here|everyone)\b")


def slack_escape(text: str) -> str:
    """Text as Slack sends what someone typed: `&`, `<` and `>` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_format(text: str) -> str:
    """Typed text as Slack sends it from a slash command (`should_escape`) or a message:
    escaped, with a typed `@U0BOB` as the mention `<@U0BOB|u0bob>` and `@here`,
    `@channel`, `@everyone` as `<!here>` and so on, as picking them in Slack's client does."""

    def markup(match: re.Match[str]) -> str:
        who = match.group(1)
        if who in ("channel", "here", "everyone"):
            return f"<!{who}>"
        return f"<@{who}|{who.lower()}>"

    return _TYPED_MENTION.sub(markup, slack_escape(text))


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
    raw: bool = False,
) -> str:
    """The form-encoded body of a slash command invocation. `text` is what was typed,
    escaped here as Slack does; with `raw`, it is sent as given (Slack markup such as
    `<@U123|name>` already in it)."""
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
            "text": text if raw else slack_escape(text),
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


def _user(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}


def _state_entry(element: dict[str, Any], answer: Any) -> dict[str, Any]:
    """What Slack puts in view.state.values for one input element and the user's answer."""
    kind = element["type"]
    if kind in ("plain_text_input", "url_text_input", "email_text_input", "number_input"):
        return {"type": kind, "value": answer}
    if kind == "datepicker":
        return {"type": kind, "selected_date": answer}
    if kind == "timepicker":
        return {"type": kind, "selected_time": answer}
    if kind == "datetimepicker":
        return {"type": kind, "selected_date_time": answer}
    if kind in ("multi_users_select", "multi_conversations_select"):
        return {
            "type": kind,
            "selected_users" if "users" in kind else "selected_conversations": answer,
        }
    if kind in ("users_select", "conversations_select", "channels_select"):
        field = {"users_select": "selected_user", "conversations_select": "selected_conversation"}
        return {"type": kind, field.get(kind, "selected_channel"): answer}
    options = [
        option
        for group in [element.get("options", [])]
        + [g["options"] for g in element.get("option_groups", [])]
        for option in group
    ]

    def option(value: str) -> dict[str, Any]:
        for candidate in options:
            if candidate["value"] == value:
                return candidate
        raise KeyError(f"no option {value!r} in {kind}")

    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": None if answer is None else option(answer)}
    if kind in ("multi_static_select", "checkboxes"):
        return {"type": kind, "selected_options": [option(value) for value in answer or []]}
    raise ValueError(f"unsupported input element {kind}")


def view_state(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """view.state as Slack sends it, from answers keyed by action_id. Inputs without an
    answer keep their initial value, as they would in Slack's client."""
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        element = block.get("element") if block.get("type") == "input" else None
        if element is None:
            continue
        action_id = element["action_id"]
        if action_id in answers:
            answer = answers[action_id]
        else:
            answer = (
                element.get("initial_value")
                or element.get("initial_date")
                or element.get("initial_time")
                or element.get("initial_users")
                or element.get("initial_conversation")
                or (element.get("initial_option") or {}).get("value")
                or [o["value"] for o in element.get("initial_options", [])]
                or None
            )
        values[block["block_id"]] = {action_id: _state_entry(element, answer)}
    return {"values": values}


def view_submission_body(
    *, user_id: str, view: dict[str, Any], answers: dict[str, Any], view_id: str = "V0MODAL"
) -> str:
    """The form-encoded body (payload=JSON) of a modal's submit: `view` is the view as the
    app opened it (views.open), `answers` the user's input keyed by action_id."""
    submitted = {
        "id": view_id,
        "team_id": TEAM_ID,
        "app_id": API_APP_ID,
        "bot_id": "B0COPBOT",
        "hash": f"{int(time.time())}.abcdef",
        "previous_view_id": None,
        "root_view_id": view_id,
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        **view,
        "state": view_state(view, answers),
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": "verification-token-unused",
        "trigger_id": _trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


def message_shortcut_body(
    *,
    user_id: str,
    callback_id: str,
    message: dict[str, Any],
    channel_id: str,
    response_url: str,
    channel_name: str = "algemeen",
    raw: bool = False,
) -> str:
    """The form-encoded body (payload=JSON) of a message shortcut on `message`
    (a dict with at least `ts`, `text` and `user`). Its text is what was typed, escaped
    here as Slack's message format has it; with `raw`, it is sent as given (markup such
    as `<@U123>` already in it)."""
    if not raw:
        message = {**message, "text": slack_escape(str(message.get("text", "")))}
    payload = {
        "type": "message_action",
        "token": "verification-token-unused",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id),
        "channel": {"id": channel_id, "name": channel_name},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": _trigger_id(),
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": {"type": "message", **message},
    }
    return urlencode({"payload": json.dumps(payload)})


def global_shortcut_body(*, user_id: str, callback_id: str) -> str:
    """The form-encoded body (payload=JSON) of a global shortcut (the ⚡ menu): no channel,
    no message and no response_url, only who and a trigger for a modal."""
    payload = {
        "type": "shortcut",
        "token": "verification-token-unused",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id),
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": _trigger_id(),
    }
    return urlencode({"payload": json.dumps(payload)})


def home_actions_body(
    *,
    user_id: str,
    action_id: str,
    value: str,
    view: dict[str, Any],
    block_id: str = "b1",
    button_text: str = "",
    select: bool = False,
    user_select: bool = False,
) -> str:
    """A button clicked (or, with `select`, an option picked in a menu: `value` is the
    option's; with `user_select`, a person picked) on the App Home tab: the container
    is the published view, and Slack sends no response_url (an answer goes back by
    publishing the view again)."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if user_select:  # a people menu: `value` is the person picked
        action |= {"type": "users_select", "selected_user": value}
    elif select:
        option = {"text": {"type": "plain_text", "text": button_text or value}, "value": value}
        action |= {"type": "static_select", "selected_option": option}
    else:
        text = {"type": "plain_text", "text": button_text or action_id, "emoji": True}
        action |= {"type": "button", "text": text, "value": value}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": "verification-token-unused",
        "container": {"type": "view", "view_id": view.get("id", "V0HOME")},
        "trigger_id": _trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {**view, "state": {"values": {}}},
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})


_event_ids = itertools.count(1)


def new_event_id() -> str:
    """A fresh `event_id` as Slack gives one to each event (a retry keeps its event's)."""
    return f"Ev{next(_event_ids):08d}{int(time.time()) % 10**6:06d}"


def event_callback_body(event: dict[str, Any], *, event_id: str | None = None) -> str:
    """The JSON body of an Events API delivery (`event_callback`) of `event`; send it with
    `signed_headers(..., content_type="application/json")`."""
    now = int(time.time())
    body = {
        "token": "verification-token-unused",
        "team_id": TEAM_ID,
        "api_app_id": API_APP_ID,
        "event": {"event_ts": f"{now}.000100", **event},
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": now,
        "authorizations": [
            {"enterprise_id": None, "team_id": TEAM_ID, "user_id": "U0COPBOT", "is_bot": True}
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(body)


def app_home_opened_event(user_id: str, *, tab: str = "home") -> dict[str, Any]:
    """The `app_home_opened` event of `user_id` opening the app's Home (or Messages) tab."""
    return {"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": tab}


def url_verification_body(challenge: str) -> str:
    """The JSON body Slack sends once to check a new Events API request URL."""
    return json.dumps(
        {"token": "verification-token-unused", "challenge": challenge, "type": "url_verification"}
    )
