"""The Notifier: how services' outcomes reach people outside a request (DMs, posts, invites)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

# Every message the bot sends on its own carries a key in its metadata under this event
# type, so that after a crash the bot can see in Slack whether it went out.
EVENT_TYPE = "cop_delivery"
# The least a lookup goes back in Slack's history; older work goes back to its own moment.
LOOK_BACK = dt.timedelta(days=2)


def keyed(message: Message, key: str) -> Message:
    """`message` with `key` in its metadata."""
    return Message(
        message.text, message.blocks, {"event_type": EVENT_TYPE, "event_payload": {"key": key}}
    )


def look_back_to(since: dt.datetime | None, now: dt.datetime) -> float:
    """Where in Slack's history (epoch seconds) to look for a message of work that began at
    `since` (on our clock, `now` being our clock's now): from a little before it, however
    long the bot was down since (a crash on Friday, back on Monday). Slack's ts are Slack's
    wall clock, not our injected one, so the age is measured on our clock and the window
    laid on Slack's."""
    age = now - since if since is not None else LOOK_BACK
    return time.time() - max(age + dt.timedelta(hours=1), LOOK_BACK).total_seconds()


@dataclass(frozen=True)
class Message:
    """Fallback text (notifications, screen readers) and optional Block Kit blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    # Slack message metadata; reminders carry their delivery id in it, so that after a
    # crash the bot can see in Slack whether a post went out.
    metadata: dict[str, Any] | None = None


class DeliveryError(Exception):
    """Slack refused a delivery; `permanent` errors are not worth retrying."""

    PERMANENT = frozenset(
        {
            "user_not_found",
            "account_inactive",
            "channel_not_found",
            "is_archived",
            "not_in_channel",
            "cannot_dm_bot",
            "user_disabled",
            "invalid_blocks",
            "msg_too_long",
        }
    )

    def __init__(self, error: str, *, permanent: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self._permanent = permanent

    @property
    def permanent(self) -> bool:
        return self._permanent or self.error in self.PERMANENT


class Notifier(Protocol):
    def send_dm(self, user_id: str, message: Message) -> str:
        """Post `message` in the bot's DM with `user_id`; returns the message ts."""
        ...

    def post(self, channel_id: str, message: Message) -> str:
        """Post `message` in a channel; returns the message ts."""
        ...

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        """Replace an earlier message of the bot."""
        ...

    def permalink(self, channel_id: str, ts: str) -> str | None:
        """A link to a message of the bot; None when Slack cannot give one."""
        ...

    def invite(self, channel_id: str, user_id: str) -> bool:
        """Add `user_id` to a channel; False when they were already in it."""
        ...

    def upload(self, user_id: str, filename: str, content: bytes, comment: str) -> None:
        """Put a file in the bot's DM with `user_id`."""
        ...

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """Replace the App Home tab of `user_id` with `view` (publishing twice is harmless)."""
        ...

    def find_posted(self, recipient: str, event_type: str, key: str, since: float) -> str | None:
        """The ts of a message of ours posted to `recipient` (a user: their DM) since
        `since` (epoch seconds) whose metadata carries `key`; None when there is none."""
        ...
