"""The request builders give view_submission and message_action payloads as Slack does,
signed as Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from bot.sandbox.signed import (
    message_shortcut_body,
    signed_headers,
    slash_command_body,
    view_state,
    view_submission_body,
)

VIEW = {
    "type": "modal",
    "callback_id": "agenda_form",
    "private_metadata": "42",
    "title": {"type": "plain_text", "text": "Agenda"},
    "blocks": [
        {"type": "input", "block_id": "text", "label": {"type": "plain_text", "text": "Tekst"},
         "element": {"type": "plain_text_input", "action_id": "value", "initial_value": "1. Welkom"}},  # noqa: E501
        {"type": "input", "block_id": "day", "label": {"type": "plain_text", "text": "Datum"},
         "element": {"type": "datepicker", "action_id": "date"}},
        {"type": "input", "block_id": "meeting", "label": {"type": "plain_text", "text": "Wanneer"},
         "element": {"type": "static_select", "action_id": "pick", "options": [
             {"text": {"type": "plain_text", "text": "30 maart"}, "value": "7"}]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "uitleg"}},
    ],
}  # fmt: skip


def _payload(body: str) -> dict:
    return json.loads(parse_qs(body)["payload"][0])


def test_view_state_keeps_initial_values_and_types_each_answer() -> None:
    state = view_state(VIEW, {"date": "2027-03-30", "pick": "7"})
    assert state["values"]["text"]["value"] == {"type": "plain_text_input", "value": "1. Welkom"}
    assert state["values"]["day"]["date"]["selected_date"] == "2027-03-30"
    assert state["values"]["meeting"]["pick"]["selected_option"]["value"] == "7"
    assert len(state["values"]) == 3


def test_a_view_submission_carries_callback_id_metadata_and_the_user() -> None:
    payload = _payload(view_submission_body(user_id="U1", view=VIEW, answers={"value": "x"}))
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == "U1"
    assert payload["view"]["callback_id"] == "agenda_form"
    assert payload["view"]["private_metadata"] == "42"
    assert payload["view"]["state"]["values"]["text"]["value"]["value"] == "x"


def test_a_message_shortcut_names_the_message_and_its_channel() -> None:
    body = message_shortcut_body(
        user_id="U1", callback_id="save_question", channel_id="C1",
        message={"ts": "1.2", "text": "Wie weet dit?", "user": "U2"}, response_url="http://x",
    )  # fmt: skip
    payload = _payload(body)
    assert payload["type"] == "message_action"
    assert (payload["callback_id"], payload["message_ts"]) == ("save_question", "1.2")
    assert payload["message"]["text"] == "Wie weet dit?"
    assert payload["channel"]["id"] == "C1"


def test_slash_command_text_is_escaped_as_slack_does_unless_raw() -> None:
    def sent(**kwargs: Any) -> str:
        body = slash_command_body(user_id="U1", response_url="http://x", **kwargs)
        return parse_qs(body)["text"][0]

    assert sent(text="onderwerp ethiek R&D <b>") == "onderwerp ethiek R&amp;D &lt;b&gt;"
    assert sent(text="kartrekker ethiek <@U2|bob>", raw=True) == "kartrekker ethiek <@U2|bob>"


def test_message_shortcut_text_is_in_slacks_message_format_unless_raw() -> None:
    def text(raw: bool, typed: str) -> str:
        body = message_shortcut_body(
            user_id="U1", callback_id="save_question", channel_id="C1", raw=raw,
            message={"ts": "1.2", "text": typed, "user": "U2"}, response_url="http://x",
        )  # fmt: skip
        return str(_payload(body)["message"]["text"])

    assert text(False, "R&D <b>") == "R&amp;D &lt;b&gt;"
    assert text(True, "<@U2> zegt R&amp;D") == "<@U2> zegt R&amp;D"


class _At(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_signed_headers_carry_slacks_v0_signature_that_slack_sdk_accepts() -> None:
    body = slash_command_body(user_id="U1", text="lijst", response_url="http://x")
    headers = signed_headers("s3cret", body, timestamp=1_700_000_000)
    base = f"v0:1700000000:{body}".encode()
    expected = "v0=" + hmac.new(b"s3cret", base, hashlib.sha256).hexdigest()
    assert headers["X-Slack-Request-Timestamp"] == "1700000000"
    assert headers["X-Slack-Signature"] == expected
    assert SignatureVerifier("s3cret", _At(1_700_000_010)).is_valid_request(body, headers)
    assert not SignatureVerifier("other", _At(1_700_000_010)).is_valid_request(body, headers)
