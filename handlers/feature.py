"""What a feature module of `/cop` provides (see handlers/agenda.py for the shape)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from bot.i18n import Translator
from bot.runtime import Services
from handlers.reply import Reply

# (services, translator, user_id, the text after the subcommand word) -> the reply.
CommandHandler: TypeAlias = Callable[[Services, Translator, str, str], Reply]
