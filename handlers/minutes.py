"""Minutes and lessons: /cop verslag, lessen; the minutes modal; publishing lessons."""

from __future__ import annotations

from slack_bolt import App

from bot.runtime import Services
from handlers.feature import CommandHandler

# Words after `/cop` (Dutch and English) and the command name each one means.
WORDS: dict[str, str] = {}
COMMANDS: dict[str, CommandHandler] = {}
# Commands that only read: answered inline, without the hand-over to the write pool.
READ_ONLY: set[str] = set()
# Message keys of lines in `/cop hulp`: for everyone, and for facilitators.
HELP: tuple[str, ...] = ()
HELP_FACILITATOR: tuple[str, ...] = ()


def register(app: App, services: Services) -> None:
    """Buttons, modals and shortcuts of this feature."""
