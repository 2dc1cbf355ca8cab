"""Calendar feeds: the secret subscribe link and its reset, feed bodies, the welcome's .ics."""

from __future__ import annotations

import datetime as dt
import logging
import re

from bot.cache import ReadCache
from bot.i18n import Translator
from bot.notifier import Message
from bot.runtime import Services
from bot.services import calendar_feed
from bot.services.ical import calendar_bytes
from handlers import render
from handlers.render.blocks import Block, section
from handlers.reply import Reply
from handlers.welcome import minute as welcome_minute

log = logging.getLogger("cop_bot")

# `/cop kalender nieuw`: words that ask for a new link rather than name a community.
RESET_WORDS = frozenset({"nieuw", "nieuwe", "new", "reset", "vernieuwen"})
# A token from secrets.token_urlsafe(32) is 43 characters; anything unlike one is refused
# before the database is asked.
FEED_PATH = re.compile(r"^/calendar/([A-Za-z0-9_-]{20,64})\.ics$")
# Calendar apps poll; within a minute (and until this process writes) one body serves all.
FEED_TTL = 60.0


def feed_url(public_url: str, token: str) -> str:
    return f"{public_url}/calendar/{token}.ics"


def webcal_url(url: str) -> str:
    """The same address as webcal://, which Outlook and Apple Calendar open as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


def subscribe_blocks(t: Translator, public_url: str, token: str) -> list[Block]:
    url = feed_url(public_url, token)
    return [
        section(t("calendar_feed_subscribe", url=url, webcal=webcal_url(url))),
        section(t("calendar_feed_private")),
    ]


def with_subscription(services: Services, t: Translator, user_id: str, message: Message) -> Message:
    """`message` followed by the personal subscribe link, when the bot has a public URL.
    The token is made on the first request."""
    public_url = services.settings.public_url
    if public_url is None:
        return message
    with services.db.read() as session:
        token = calendar_feed.token_of(session, user_id=user_id)
    if token is None:
        with services.db.write() as session:
            token = calendar_feed.ensure_token(session, user_id=user_id)
    return Message(
        text=message.text, blocks=message.blocks + subscribe_blocks(t, public_url, token)
    )


def reset(services: Services, t: Translator, user_id: str) -> Reply:
    """`/cop kalender nieuw`: a new token, so that the old link stops working."""
    with services.db.write() as session:
        token = calendar_feed.reset_token(session, user_id=user_id, now=services.clock())
    public_url = services.settings.public_url
    if public_url is None:
        return Reply(render.text_message(t("calendar_feed_reset_offline")))
    text = t("calendar_feed_reset")
    return Reply(
        Message(text=text, blocks=[section(text), *subscribe_blocks(t, public_url, token)])
    )


class Feeds:
    """The feed bodies `GET /calendar/<token>.ics` answers with (see bot/server.py)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # Keyed by person and minute; dropped at once by any write in this process, so a
        # move or cancellation here shows in the next poll.
        self.cache: ReadCache[bytes] = ReadCache(ttl=FEED_TTL, max_entries=2_000)
        services.db.after_write.append(self.cache.invalidate)

    def body(self, path: str) -> bytes | None:
        """The iCalendar body for a request path, or None when it names no feed."""
        match = FEED_PATH.match(path)
        if match is None:
            return None
        with self.services.db.read() as session:
            user_id = calendar_feed.owner_of(session, token=match.group(1))
        if user_id is None:
            return None
        minute = welcome_minute(self.services)
        return self.cache.get((user_id, minute), lambda: self._render(user_id, minute))

    def _render(self, user_id: str, minute: dt.datetime) -> bytes:
        services = self.services
        with services.db.read() as session:
            events = calendar_feed.feed_events(
                session, user_id=user_id, now=minute, admins=services.settings.admins
            )
        t = services.translator(user_id)
        return calendar_bytes(
            events, tz=services.settings.timezone, name=t("calendar_feed_name"), stamp=minute
        )
