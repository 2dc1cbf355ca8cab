"""The `/cop` subcommands as one table: words, handler, help lines, read or write.

Each listener module declares its own `COMMANDS` (a list of `Command` and `HelpLine`);
the app wiring (bot/app.py) hands them to one `Registry`, so no handler module needs to
import the others to know their words. `/cop hulp` is generated from the same table, in
its order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

from bot.i18n import Translator
from bot.notifier import Message
from bot.runtime import Services
from handlers import render
from handlers.reply import Reply

# (services, translator, user_id, the text after the subcommand word) -> the reply.
CommandHandler: TypeAlias = Callable[[Services, Translator, str, str], Reply]
# What the registry itself answers: `/cop`, `/cop hulp`.
HELP = "help"
HELP_WORDS = ("hulp", "help", "?")
# Any word no command claims; answered at once, like a read.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Command:
    """One `/cop` subcommand."""

    # Canonical name: what the metrics count by, and what handlers test for.
    name: str
    # The first word after `/cop`, Dutch and English, in lower case.
    words: tuple[str, ...]
    handler: CommandHandler
    # False: it only reads, so it is answered in the request's thread without waiting
    # for the write pool.
    writes: bool = True
    # Answered with a usage hint when nothing follows the word.
    needs_community: bool = False
    # Catalogue keys of its lines in `/cop hulp`: for everyone, facilitators, admins.
    help: str | None = None
    help_facilitator: str | None = None
    help_admin: str | None = None


@dataclass(frozen=True)
class HelpLine:
    """A line in `/cop hulp` that belongs to no one subcommand (a button, a modal)."""

    key: str
    facilitator: bool = False


Entry = Command | HelpLine


class Registry:
    """Every `/cop` subcommand, from the modules' `COMMANDS` tables, in the order given."""

    def __init__(self, *tables: Iterable[Entry]) -> None:
        self.entries: tuple[Entry, ...] = tuple(entry for table in tables for entry in table)
        help_command = Command(HELP, HELP_WORDS, self._help, writes=False)
        self.commands: dict[str, Command] = {HELP: help_command}
        self.words: dict[str, str] = dict.fromkeys(HELP_WORDS, HELP)
        for command in self._commands():
            if command.name in self.commands or command.name == UNKNOWN:
                raise ValueError(f"/cop command {command.name!r} declared twice")
            self.commands[command.name] = command
            for word in command.words:
                if word != word.lower() or word in self.words:
                    raise ValueError(f"/cop word {word!r} ({command.name}) taken or not lower case")
                self.words[word] = command.name

    def _commands(self) -> Iterator[Command]:
        return (entry for entry in self.entries if isinstance(entry, Command))

    def name_of(self, text: str) -> str:
        """The canonical name of `/cop <text>`'s subcommand: `help` for nothing, `unknown`
        for a word no command claims; one of a fixed few, so the metrics can count by it."""
        word = text.strip().partition(" ")[0]
        return self.words.get(word.lower(), UNKNOWN) if word else HELP

    def get(self, name: str) -> Command | None:
        return self.commands.get(name)

    def writes(self, name: str) -> bool:
        command = self.commands.get(name)
        return command is not None and command.writes

    def help_message(self, t: Translator, *, is_admin: bool) -> Message:
        """`/cop hulp`: the lines of every command, in the table's order."""
        everyone: list[str] = []
        facilitators: list[str] = []
        admins: list[str] = []
        for entry in self.entries:
            if isinstance(entry, HelpLine):
                (facilitators if entry.facilitator else everyone).append(entry.key)
                continue
            for keys, key in (
                (everyone, entry.help),
                (facilitators, entry.help_facilitator),
                (admins, entry.help_admin),
            ):
                if key is not None:
                    keys.append(key)
        return render.help_message(
            t,
            lines=everyone,
            facilitator_lines=facilitators,
            admin_lines=admins if is_admin else [],
        )

    def _help(self, services: Services, t: Translator, user_id: str, rest: str) -> Reply:
        return Reply(self.help_message(t, is_admin=user_id in services.settings.admins))
