"""Configuration read from environment variables (a .env file may supply them)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///cop-bot.db"
LANGUAGES = ("nl", "en")
DELIVERY_MODES = ("process", "inline", "worker")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


_OFFSET = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_offsets(value: str, *, variable: str = "COP_REMINDER_OFFSETS") -> tuple[timedelta, ...]:
    """Parse "7d,1d,2h" into timedeltas, largest first."""
    offsets: list[timedelta] = []
    for part in value.split(","):
        if not part.strip():
            continue
        match = _OFFSET.match(part)
        if not match:
            raise ConfigError(
                f"{variable}: '{part.strip()}' is not an offset such as 7d, 1d, 2h, 30m or 90s"
            )
        offsets.append(timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}))
    return tuple(sorted(set(offsets), reverse=True))


def _amount(
    text: str, variable: str, unit: str, low: float, high: float, *, low_inclusive: bool = False
) -> float:
    """A number setting within (low, high] ([low, high] with `low_inclusive`)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # fails every comparison below
    if not ((low <= value) if low_inclusive else (low < value)) or not value <= high:
        raise ConfigError(f"{variable}: '{text}' is not a number {unit}")
    return value


def _port(text: str, variable: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise ConfigError(f"{variable}: '{text}' is not a port number")
    return int(text)


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    catalog: Path | None = None
    # COP_ADMINS; a running bot puts bot.admins.Admins here (those appointed in Slack too).
    admins: Collection[str] = field(default_factory=frozenset)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Amsterdam"))
    language: str = "nl"
    reminder_offsets: tuple[timedelta, ...] = (timedelta(days=7), timedelta(days=1))
    port: int = 3000
    sweep_seconds: float = 5.0
    # Where `cop-bot serve` is reachable from outside, e.g. "https://cop.example.org";
    # calendar subscribe links start with it. None: no links are handed out.
    public_url: str | None = None
    # Follow-up uploads (a new member's calendar file) per minute: Slack's file API
    # has a rate tier of its own, and a burst of joins must not run into it.
    outbox_rate: float = 50.0
    # Where lessons go when the catalogue names no channel for the community's programme.
    community_channel: str | None = None
    # Who sends the outbox's welcome DMs: "process" (a delivery process next to the web
    # workers; what `cop-bot serve` does unless told otherwise), "inline" (each
    # process sends its own, in the background) or "worker" (a `cop-bot deliver` that
    # the platform runs and restarts, e.g. the Procfile's worker; serve starts none).
    # None: the mode's own choice.
    delivery: str | None = None
    # The salt of the hashes that stand for forgotten people in the audit log; None: one
    # is generated once and kept in the database (table app_settings).
    audit_salt: str | None = None
    # Days after leaving their last community that a person's remaining data is removed.
    retention_days: int = 365
    # Observability (see bot/health.py): /readyz fails once the oldest due item of the
    # backlog has waited longer than this; the port of the health server of Socket Mode
    # (0: none); the port where `cop-bot deliver` on its own serves /metrics (None: none).
    ready_backlog_seconds: float = 300.0
    health_port: int = 8081
    metrics_port: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        tz_name = get("COP_TIMEZONE") or "Europe/Amsterdam"
        try:
            timezone = ZoneInfo(tz_name)
        # OSError: a zone area such as "Europe" is a directory of the tz database.
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ConfigError(f"COP_TIMEZONE: unknown time zone '{tz_name}'") from exc
        language = (get("COP_LANGUAGE") or "nl").lower()
        if language not in LANGUAGES:
            raise ConfigError(f"COP_LANGUAGE: '{language}' is not one of {', '.join(LANGUAGES)}")
        api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not api_url.endswith("/"):
            api_url += "/"
        port_text = get("PORT") or "3000"
        if not port_text.isdigit():
            raise ConfigError(f"PORT: '{port_text}' is not a port number")
        sweep_seconds = _amount(
            get("COP_SWEEP_SECONDS") or "5", "COP_SWEEP_SECONDS", "of seconds", 0.1, 3600,
            low_inclusive=True,
        )  # fmt: skip
        outbox_rate = _amount(
            get("COP_OUTBOX_RATE") or "50", "COP_OUTBOX_RATE", "per minute", 0, 6000
        )
        public_url = get("COP_PUBLIC_URL")
        if public_url is not None:
            if not re.match(r"^https?://[^/\s]+", public_url):
                raise ConfigError(
                    f"COP_PUBLIC_URL: '{public_url}' is not a URL such as https://cop.example.org"
                )
            public_url = public_url.rstrip("/")
        community_channel = get("COP_COMMUNITY_CHANNEL")
        if community_channel is not None and not re.match(r"^[CG][A-Z0-9]{2,}$", community_channel):
            raise ConfigError(
                f"COP_COMMUNITY_CHANNEL: '{community_channel}' is not a Slack channel ID"
            )
        delivery = (get("COP_DELIVERY") or "").lower() or None
        if delivery not in (None, *DELIVERY_MODES):
            raise ConfigError(
                f"COP_DELIVERY: '{get('COP_DELIVERY')}' is not one of {', '.join(DELIVERY_MODES)}"
            )
        retention_text = get("COP_RETENTION_DAYS") or "365"
        digits = retention_text.isascii() and retention_text.isdigit()
        if not digits or not 1 <= int(retention_text) <= 36500:
            raise ConfigError(f"COP_RETENTION_DAYS: '{retention_text}' is not a number of days")
        ready_backlog_seconds = _amount(
            get("COP_READY_BACKLOG_SECONDS") or "300", "COP_READY_BACKLOG_SECONDS",
            "of seconds", 0, 7 * 86400,
        )  # fmt: skip
        health_port = _port(get("COP_HEALTH_PORT") or "8081", "COP_HEALTH_PORT")
        metrics_text = get("COP_METRICS_PORT")
        metrics_port = _port(metrics_text, "COP_METRICS_PORT") if metrics_text else None
        catalog = get("COP_CATALOG")
        admins = frozenset(a.strip() for a in (get("COP_ADMINS") or "").split(",") if a.strip())
        return cls(
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=api_url,
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            catalog=Path(catalog) if catalog else None,
            admins=admins,
            timezone=timezone,
            language=language,
            reminder_offsets=parse_offsets(get("COP_REMINDER_OFFSETS") or "7d,1d"),
            port=int(port_text),
            sweep_seconds=sweep_seconds,
            public_url=public_url,
            outbox_rate=outbox_rate,
            community_channel=community_channel,
            delivery=delivery,
            audit_salt=get("COP_AUDIT_SALT"),
            retention_days=int(retention_text),
            ready_backlog_seconds=ready_backlog_seconds,
            health_port=health_port,
            metrics_port=metrics_port,
        )

    def require(self, *names: str) -> None:
        """Raise ConfigError naming the first of `names` (env variable names) that is unset."""
        values = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
        }
        for name in names:
            if not values.get(name):
                raise ConfigError(f"{name} is not set")
