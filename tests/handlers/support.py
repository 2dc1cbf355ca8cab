"""Helpers for the Slack-side tests: what the app answered and what it posted to Slack."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from bot.runtime import Services
from bot.sandbox.standin import Call, SlackStandIn
from bot.services import meetings, membership
from tests.conftest import Response, SlackHTTP
from tests.factories import add_community, meeting

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam

# Every way the app can put a message in front of someone.
MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")


class CheckedSlack(SlackHTTP):
    """SlackHTTP that keeps every answer, so a test (and the fixture) can check them all."""

    def __init__(self, inner: SlackHTTP) -> None:
        super().__init__(inner.base_url, inner.standin, inner.secret)
        self.responses: list[Response] = []

    def post(self, body: str, headers: dict[str, str], path: str = "/slack/events") -> Response:
        response = super().post(body, headers, path)
        self.responses.append(response)
        return response

    def replies(self) -> list[dict[str, Any]]:
        """The JSON message bodies of every HTTP answer so far (a modal's answer with a
        `response_action`, such as form errors, is not a message)."""
        out = []
        for response in self.responses:
            if response.status == 200 and response.body.startswith("{"):
                payload = response.json()
                if "response_action" not in payload:  # a modal's answer, not a message
                    out.append(payload)
        return out


def sent(standin: SlackStandIn) -> list[dict[str, Any]]:
    """The arguments of every message the app posted, updated or sent via response_url."""
    return [call.args for call in standin.calls() if call.method in MESSAGE_METHODS]


def dms_to(standin: SlackStandIn, user_id: str) -> list[Call]:
    """chat.postMessage calls addressed to `user_id` (a DM by user id, as the app sends them)."""
    return [c for c in standin.calls("chat.postMessage") if c.args.get("channel") == user_id]


def one_dm_each_saying(standin: SlackStandIn, users: Sequence[str], *phrases: str) -> None:
    """Each of `users` got exactly one DM, and it says every one of `phrases`."""
    for user in users:
        [dm] = dms_to(standin, user)
        for phrase in phrases:
            assert phrase in dm.args["text"], (user, phrase, dm.args["text"])


def texts(payload: dict[str, Any]) -> str:
    """All the text a reader can see in a message: fallback text and every text in its blocks."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({"text": payload.get("text"), "blocks": payload.get("blocks") or []})
    return "\n".join(found)


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button in a message, from section accessories and actions blocks."""
    out: list[dict[str, Any]] = []
    for block in payload.get("blocks") or []:
        accessory = block.get("accessory")
        if accessory and accessory.get("type") == "button":
            out.append(accessory)
        if block.get("type") == "actions":
            out.extend(e for e in block["elements"] if e.get("type") == "button")
    return out


def dumps(payloads: list[dict[str, Any]]) -> str:
    """The payloads as raw JSON text, for checks that nothing slipped through anywhere."""
    return "\n".join(json.dumps(p, ensure_ascii=False) for p in payloads)


def drain_outbox(services: Services) -> int:
    """Send what waits in the outbox now, as the delivery worker does."""
    from bot.app import make_courier

    courier = make_courier(services)
    try:
        return courier.drain()
    finally:
        courier.close()


def settle_outbox(services: Services) -> None:
    """Take what a fixture's setup queued (the welcomes of members who joined "long ago")
    as sent, so that a test sees only the messages of what it does itself."""
    from sqlalchemy import update

    from storage.models import OutboxItem

    with services.db.write() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.state == OutboxItem.PENDING)
            .values(state=OutboxItem.DONE, done_at=services.clock())
        )


def ethiek_with_a_meeting(
    services: Services, *, members: Sequence[str] = ("U1", "U2"), key: str = "2027-03-30"
) -> None:
    """Ethiek (facilitator UFAC) with one meeting, "Startbijeenkomst" on 30 March 2027 at
    14:00 in Amsterdam (its `key`), its reminders planned, and `members` joined; their
    welcomes went out long ago."""
    add_community(
        services.db, "ethiek", name="Ethiek", facilitators=("UFAC",),
        meetings=(meeting(MARCH_30, key=key, title="Startbijeenkomst"),),
    )  # fmt: skip
    with services.db.write() as session:
        meetings.sync_reminders(
            session, offsets=services.settings.reminder_offsets, now=services.clock(),
            tz=services.settings.timezone,
        )  # fmt: skip
        for user in members:
            membership.join(session, query="ethiek", user_id=user, now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip
    settle_outbox(services)
