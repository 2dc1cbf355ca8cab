"""The simulated workspace: its team, channels, users, posted messages, open views and
uploaded files, and the helpers the Web API methods share to read and change it."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import system_clock
from bot.sandbox.standin.protocol import is_user_id

TEAM_NAME = "CoP test"
TEAM_DOMAIN = "copbot-test"
TEAM_URL = f"https://{TEAM_DOMAIN}.slack.com/"
BOT_ID = "B0COPBOT"
BOT_NAME = "copbot"
APP_ID = "A0COPBOT"
DEFAULT_TZ = "Europe/Amsterdam"
# The locale users.info gives (with include_locale) to a user not declared otherwise:
# a Dutch workspace's.
DEFAULT_LOCALE = "nl-NL"


def permalink(channel: str, ts: str) -> str:
    return f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}"


def tz_details(tz_name: str) -> tuple[int, str]:
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return 3600, "Central European Time"
    # Slack gives the offset of its own (real) moment, whatever the bot's clock says.
    now = system_clock().astimezone(zone)
    offset = now.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    # Slack labels Amsterdam as "Central European (Summer) Time", not the "CET" abbreviation.
    label = now.tzname() or tz_name
    if tz_name == DEFAULT_TZ:
        label = "Central European Summer Time" if now.dst() else "Central European Time"
    return seconds, label


@dataclass
class Channel:
    id: str
    name: str
    created: int
    archived: bool = False
    private: bool = False
    mpim: bool = False
    members: set[str] = field(default_factory=set)


@dataclass
class User:
    id: str
    name: str
    real_name: str
    display_name: str
    tz: str = DEFAULT_TZ
    locale: str = DEFAULT_LOCALE
    is_bot: bool = False
    deleted: bool = False


@dataclass
class File:
    id: str
    filename: str
    length: int
    content: bytes | None = None


class Workspace:
    """The workspace's state; its `_` helpers are called with the lock held."""

    bot_user_id: str
    team_id: str
    _lock: threading.Lock

    @property
    def _base_url(self) -> str:
        """Where the stand-in serves (SlackStandIn knows once it is started)."""
        raise NotImplementedError

    def _reset_workspace(self) -> None:
        self._channels: dict[str, Channel] = {}
        self._users: dict[str, User] = {}
        self._open_dms: set[str] = set()
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._files: dict[str, File] = {}
        self._view_ids = itertools.count(1)
        self._view_hashes = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._last_ts = 0
        # Posted messages per channel, oldest first, for conversations.history.
        self._history: dict[str, list[dict[str, Any]]] = {}

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        archived: bool = False,
        members: Iterable[str] = (),
        private: bool | None = None,
    ) -> None:
        """Declare a channel (any id shape), e.g. an archived one or one with a name.
        Undeclared, a G… id is private and a C… id public; `private` says otherwise (new
        private channels on Slack have C… ids too)."""
        with self._lock:
            channel = self._channel(channel_id)
            channel.name = name or channel.name
            channel.archived = archived
            channel.members.update(members)
            if private is not None:
                channel.private = private

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = DEFAULT_TZ,
        locale: str = DEFAULT_LOCALE,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        """Declare how users.info describes a user (its `locale` is what it gives with
        include_locale); undeclared U…/W… ids get defaults."""
        user = self._default_user(user_id)
        with self._lock:
            self._users[user_id] = User(
                id=user_id,
                name=name or user.name,
                real_name=real_name or user.real_name,
                display_name=name or user.display_name,
                tz=tz,
                locale=locale,
                is_bot=is_bot,
                deleted=deleted,
            )

    def channel_members(self, channel_id: str) -> set[str]:
        """The users invited to (or declared in) a channel so far."""
        with self._lock:
            channel = self._channels.get(channel_id)
            return set(channel.members) if channel is not None else set()

    def history(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages posted in a channel (a user ID means the DM with them), oldest first."""
        key = f"D{channel_id}" if is_user_id(channel_id) else channel_id
        with self._lock:
            return [dict(m) for m in self._history.get(key, [])]

    def backdate(self, seconds: float) -> None:
        """Make every message posted so far `seconds` older, as if days went by since:
        conversations.history then dates them (and filters on `oldest`) accordingly."""
        with self._lock:
            for messages in self._history.values():
                for message in messages:
                    micros = round(float(message["ts"]) * 1_000_000) - int(seconds * 1e6)
                    message["ts"] = f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_ts(self) -> str:
        # Real Slack ts values are epoch times; bot code may date messages by them.
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, channel_id: str) -> Channel:
        channel = self._channels.get(channel_id)
        if channel is None:
            channel = Channel(
                id=channel_id,
                name=channel_id.lower(),
                created=int(time.time()),
                private=channel_id.startswith("G"),
            )
            self._channels[channel_id] = channel
        return channel

    def _resolve_channel(self, raw: Any, *, allow_user: bool) -> tuple[str | None, str | None]:
        """Map a `channel` argument to a channel id, or to Slack's error code."""
        if not isinstance(raw, str) or not raw.strip():
            return None, "channel_not_found"
        raw = raw.strip()
        if raw in self._channels:
            return raw, None
        by_name = raw.lstrip("#")
        for channel in self._channels.values():
            if channel.name == by_name:
                return channel.id, None
        if allow_user and is_user_id(raw):
            return f"D{raw}", None
        if raw[0] in "CGD":
            return raw, None
        return None, "channel_not_found"

    def _writable_channel(self, raw: Any, *, allow_user: bool) -> tuple[str, str | None]:
        channel_id, error = self._resolve_channel(raw, allow_user=allow_user)
        if channel_id is None:
            return "", error or "channel_not_found"
        known = self._channels.get(channel_id)
        if known is not None and known.archived:
            return channel_id, "is_archived"
        return channel_id, None

    def _default_user(self, user_id: str) -> User:
        if user_id == self.bot_user_id:
            return User(user_id, BOT_NAME, "CoP bot", "CoP bot", is_bot=True)
        name = user_id.lower()
        return User(user_id, name, f"Test User {user_id}", name)

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self._users.get(user_id) or self._default_user(user_id)
        tz_offset, tz_label = tz_details(user.tz)
        first, _, last = user.real_name.partition(" ")
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": {
                "real_name": user.real_name,
                "real_name_normalized": user.real_name,
                "display_name": user.display_name,
                "display_name_normalized": user.display_name,
                "first_name": first,
                "last_name": last,
                "email": f"{user.name}@example.org",
                "team": self.team_id,
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
