"""What a command answers, and what it leaves to do once the answer has gone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.notifier import Message


@dataclass(frozen=True)
class Reply:
    message: Message
    after: Callable[[], None] | None = None
    response_type: str = "ephemeral"
