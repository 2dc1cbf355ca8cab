"""What a running bot shares between requests: database, settings, clock, notifier, workers."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.i18n import Translator
from bot.notifier import Notifier
from storage.db import Database
from storage.models import UserSetting

log = logging.getLogger("cop_bot")


def error_reference() -> str:
    """A short reference a user can quote and an admin can grep for in the logs."""
    return uuid.uuid4().hex[:8].upper()


@dataclass
class Services:
    settings: Settings
    db: Database
    notifier: Notifier
    clock: Clock = system_clock
    # Work that follows an answer (welcome DMs, invites) runs here so that the
    # answer itself goes back to Slack at once.
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="cop-bg")
    )
    # Requests run here so that a slow database cannot hold Slack's 3-second ack.
    foreground: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="cop-req")
    )

    def translator(self, user_id: str | None = None) -> Translator:
        """The reader's language: their own choice, else COP_LANGUAGE."""
        language = self.settings.language
        if user_id:
            with self.db.read() as session:
                chosen = session.scalar(
                    select(UserSetting.language).where(UserSetting.user_id == user_id)
                )
            language = chosen or language
        return Translator(language, self.settings.timezone)

    def set_language(self, user_id: str, language: str) -> None:
        with self.db.write() as session:
            setting = session.get(UserSetting, user_id)
            if setting is None:
                session.add(UserSetting(user_id=user_id, language=language))
            else:
                setting.language = language

    _busy: int = field(default=0, init=False)
    _idle: threading.Condition = field(default_factory=threading.Condition, init=False)

    def in_background(self, what: str, fn: Callable[[], None]) -> Future[None]:
        """Run `fn` after the answer; failures are logged with a reference, never lost silently."""
        with self._idle:
            self._busy += 1

        def run() -> None:
            try:
                fn()
            except Exception:
                log.exception("background task %s failed (ref %s)", what, error_reference())
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        return self.background.submit(run)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no background work is left; True when it got there in time."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def shutdown(self) -> None:
        self.foreground.shutdown(wait=False, cancel_futures=True)
        self.background.shutdown(wait=True)
        self.db.dispose()
