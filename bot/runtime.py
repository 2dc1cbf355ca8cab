"""What a running bot shares between requests: database, settings, clock, notifier, workers."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from bot import logs
from bot.admins import Admins
from bot.cache import ReadCache
from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.i18n import Translator
from bot.notifier import Notifier
from storage.db import Database
from storage.models import UserSetting

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.outbox import Courier
    from bot.scheduler import ReminderScheduler

log = logging.getLogger("cop_bot")

# How long a read may be reused when another process could have changed it.
CACHE_TTL = 2.0
# A language choice changes rarely, and in this process `set_language` drops it at once.
LANGUAGE_TTL = 60.0


class RequestPool(ThreadPoolExecutor):
    """A thread pool whose tasks log with the request id of whoever submitted them."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(logs.carry(fn), *args, **kwargs)


def error_reference() -> str:
    """A short reference a user can quote and an admin can grep for in the logs."""
    return uuid.uuid4().hex[:8].upper()


@dataclass
class Services:
    settings: Settings
    db: Database
    notifier: Notifier
    clock: Clock = system_clock
    # The reminder scheduler of this process, when it runs one (see bot/scheduler.py).
    scheduler: ReminderScheduler | None = None
    # Sends the outbox's welcomes from this process (bot/outbox.py); None when a delivery
    # process does it (`cop-bot serve` starts one next to its web workers).
    courier: Courier | None = None
    # This process's Slack Web API client, for what the bot asks Slack outside a request
    # (a new member's language before the welcome: handlers/locale.py); None without one.
    client: WebClient | None = None
    # Work that follows an answer (welcome DMs, invites) runs here so that the
    # answer itself goes back to Slack at once.
    background: ThreadPoolExecutor = field(
        default_factory=lambda: RequestPool(max_workers=8, thread_name_prefix="cop-bg")
    )
    # Requests run here so that a slow database cannot hold Slack's 3-second ack.
    foreground: ThreadPoolExecutor = field(
        default_factory=lambda: RequestPool(max_workers=32, thread_name_prefix="cop-req")
    )

    # Reads that every request would repeat. Writes in this process drop `reads` at once
    # (see __post_init__); other processes' writes show within the TTL.
    reads: ReadCache[Any] = field(default_factory=lambda: ReadCache(ttl=CACHE_TTL))
    # Start texts, meetings and facilitators for welcome DMs: joins do not change them,
    # so only changes to the communities themselves drop this (`profiles.invalidate()`).
    profiles: ReadCache[Any] = field(default_factory=lambda: ReadCache(ttl=CACHE_TTL))
    # Everyone's chosen language, as one map: few people choose one, everybody is looked up.
    languages: ReadCache[dict[str, str]] = field(
        default_factory=lambda: ReadCache(ttl=LANGUAGE_TTL)
    )

    def __post_init__(self) -> None:
        self.db.after_write.append(self.reads.invalidate)
        if not isinstance(self.settings.admins, Admins):
            # COP_ADMINS and the admins appointed in Slack, as one collection.
            self.settings = replace(self.settings, admins=Admins(self.settings.admins, self.db))

    def deliver_soon(self) -> None:
        """Something waits in the outbox for this process's courier: send it now, in the
        background. Without a courier here, the delivery process finds it by itself."""
        if self.courier is not None:
            self.courier.kick(self.in_background)

    def translator(self, user_id: str | None = None) -> Translator:
        """The reader's language: their own choice, else COP_LANGUAGE."""
        chosen = self.languages.get("all", self._stored_languages).get(user_id) if user_id else None
        return Translator(chosen or self.settings.language, self.settings.timezone)

    def _stored_languages(self) -> dict[str, str]:
        with self.db.read() as session:
            rows = session.execute(select(UserSetting.user_id, UserSetting.language))
            return {user: language for user, language in rows}

    def has_language(self, user_id: str) -> bool:
        """Whether a language is stored for `user_id` (chosen, or learned from Slack): the
        cached map first, then, for someone not in it, the database itself (another
        process may have stored one since the map was read)."""
        if user_id in self.languages.get("all", self._stored_languages):
            return True
        with self.db.read() as session:
            return session.get(UserSetting, user_id) is not None

    def set_default_language(self, user_id: str, language: str) -> bool:
        """Store `language` for `user_id` unless one is stored already (a choice made with
        `/cop taal` meanwhile, in any process, is never overwritten): one insert that
        yields to an existing row. True when it was stored."""
        dialect = sqlite if self.db.is_sqlite else postgresql
        statement = (
            dialect.insert(UserSetting)
            .values(user_id=user_id, language=language)
            .on_conflict_do_nothing(index_elements=[UserSetting.user_id])
        )
        with self.db.write() as session:
            stored = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
        self.languages.invalidate()
        return stored

    def set_language(self, user_id: str, language: str) -> None:
        with self.db.write() as session:
            setting = session.get(UserSetting, user_id)
            if setting is None:
                session.add(UserSetting(user_id=user_id, language=language))
            else:
                setting.language = language
        self.languages.invalidate()

    _busy: int = field(default=0, init=False)
    _idle: threading.Condition = field(default_factory=threading.Condition, init=False)

    def _count(self, delta: int) -> None:
        with self._idle:
            self._busy += delta
            if self._busy == 0:
                self._idle.notify_all()

    def in_background(self, what: str, fn: Callable[[], None]) -> Future[None]:
        """Run `fn` after the answer; failures are logged with a reference, never lost silently."""
        self._count(+1)

        def run() -> None:
            try:
                fn()
            except Exception:
                log.exception("background task %s failed (ref %s)", what, error_reference())
            finally:
                self._count(-1)

        try:
            return self.background.submit(run)
        except RuntimeError:  # shut down: `run` will never run, so nothing is pending
            self._count(-1)
            raise

    def when_done(self, what: str, future: Future[Any], fn: Callable[[Future[Any]], None]) -> None:
        """Run `fn(future)` in the background once `future` finishes. It counts as pending
        work from now, so wait_idle() also waits for answers still being worked on."""
        self._count(+1)

        def done(finished: Future[Any]) -> None:
            try:
                self.in_background(what, lambda: fn(finished))
            except RuntimeError:
                log.warning("%s dropped: shutting down", what)
            finally:
                self._count(-1)

        future.add_done_callback(done)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no background work is left; True when it got there in time."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def shutdown(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.foreground.shutdown(wait=False, cancel_futures=True)
        self.background.shutdown(wait=True)
        if self.courier is not None:
            self.courier.close()
        self.db.dispose()
