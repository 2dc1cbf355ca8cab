"""What a command answers, and what it leaves to do once the answer has gone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.notifier import Message


@dataclass(frozen=True)
class Reply:
    message: Message
    after: Callable[[], None] | None = None
    response_type: str = "ephemeral"
    # A modal to open with the command's trigger_id instead of answering with `message`;
    # `message` is then shown only when the modal could not be opened in time.
    view: dict[str, Any] | None = None
    # Something waits in the outbox for this process's courier (see bot/outbox.py).
    deliver: bool = False
