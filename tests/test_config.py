"""Settings from environment variables: defaults, parsing and errors that name the variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_SLACK_API_URL,
    ConfigError,
    Settings,
    parse_offsets,
)


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_env({})
    assert settings.timezone == ZoneInfo("Europe/Amsterdam")
    assert settings.language == "nl"
    assert settings.reminder_offsets == (timedelta(days=7), timedelta(days=1))
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url.startswith("sqlite:///")
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL == "https://slack.com/api/"
    assert settings.admins == frozenset()
    assert settings.catalog is None
    assert settings.port == 3000
    assert (settings.slack_bot_token, settings.slack_signing_secret) == (None, None)


def test_from_env_defaults_match_the_dataclass_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_blank_values_count_as_unset() -> None:
    settings = Settings.from_env(
        {"COP_TIMEZONE": "  ", "COP_LANGUAGE": "", "DATABASE_URL": " ", "SLACK_BOT_TOKEN": ""}
    )
    assert settings == Settings()


def test_values_are_read_and_trimmed() -> None:
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": " xoxb-1 ",
            "SLACK_SIGNING_SECRET": "geheim",
            "SLACK_APP_TOKEN": "xapp-1",
            "DATABASE_URL": "postgresql://cop@db/cop",
            "COP_CATALOG": "/etc/cop/catalog.toml",
            "COP_TIMEZONE": "Europe/London",
            "COP_LANGUAGE": "EN",
            "PORT": "8080",
        }
    )
    assert settings.slack_bot_token == "xoxb-1"
    assert settings.slack_signing_secret == "geheim"
    assert settings.slack_app_token == "xapp-1"
    assert settings.database_url == "postgresql://cop@db/cop"
    assert settings.catalog == Path("/etc/cop/catalog.toml")
    assert settings.timezone == ZoneInfo("Europe/London")
    assert settings.language == "en"
    assert settings.port == 8080


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api/"),
        ("http://127.0.0.1:8765/api/", "http://127.0.0.1:8765/api/"),
    ],
)
def test_slack_api_url_always_ends_with_a_slash(given: str, used: str) -> None:
    assert Settings.from_env({"SLACK_API_URL": given}).slack_api_url == used


@pytest.mark.parametrize(
    ("value", "admins"),
    [
        ("UADMIN", {"UADMIN"}),
        ("U1,U2", {"U1", "U2"}),
        (" U1 , U2 ,, U1 ,", {"U1", "U2"}),
        ("", set()),
        (" , ", set()),
    ],
)
def test_cop_admins_is_a_comma_separated_set(value: str, admins: set[str]) -> None:
    assert Settings.from_env({"COP_ADMINS": value}).admins == frozenset(admins)


def test_reminder_offsets_are_sorted_largest_first_without_repeats() -> None:
    settings = Settings.from_env({"COP_REMINDER_OFFSETS": "1d, 2h,7d,30m,1d, 90s"})
    assert settings.reminder_offsets == (
        timedelta(days=7),
        timedelta(days=1),
        timedelta(hours=2),
        timedelta(minutes=30),
        timedelta(seconds=90),
    )


def test_parse_offsets_treats_units_of_equal_length_as_one_offset() -> None:
    assert parse_offsets("24h,1d,1440m") == (timedelta(days=1),)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("COP_TIMEZONE", "Mars/Olympus_Mons", "'Mars/Olympus_Mons'"),
        ("COP_TIMEZONE", "europe/amsterdam", "'europe/amsterdam'"),
        ("COP_TIMEZONE", "../../etc/passwd", "'../../etc/passwd'"),
        ("COP_TIMEZONE", "Europe", "'Europe'"),
        ("COP_LANGUAGE", "de", "'de'"),
        ("COP_LANGUAGE", "Nederlands", "'nederlands'"),
        ("COP_REMINDER_OFFSETS", "7 dagen", "'7 dagen'"),
        ("COP_REMINDER_OFFSETS", "7d,1w", "'1w'"),
        ("COP_REMINDER_OFFSETS", "-1d", "'-1d'"),
        ("PORT", "http", "'http'"),
        ("PORT", "-1", "'-1'"),
        ("COP_PUBLIC_URL", "cop.example.org", "'cop.example.org'"),
        ("COP_PUBLIC_URL", "ftp://cop.example.org", "'ftp://cop.example.org'"),
    ],
)
def test_a_bad_value_raises_config_error_naming_the_variable(
    variable: str, value: str, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}:")
    assert named in message


@pytest.mark.parametrize(
    "value", ["https://cop.example.org", " https://cop.example.org/ ", "https://cop.example.org//"]
)
def test_the_public_url_is_read_without_a_trailing_slash(value: str) -> None:
    assert Settings.from_env({"COP_PUBLIC_URL": value}).public_url == "https://cop.example.org"


def test_without_a_public_url_there_is_none() -> None:
    assert Settings.from_env({}).public_url is None


def test_require_passes_when_everything_asked_for_is_set() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "SLACK_APP_TOKEN"),
    ],
)
def test_require_names_the_first_missing_variable(env: dict[str, str], missing: str) -> None:
    settings = Settings.from_env(env)
    with pytest.raises(ConfigError, match=f"^{missing} is not set$"):
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


def test_from_env_reads_os_environ_when_given_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COP_ADMINS", "UOMGEVING")
    monkeypatch.setenv("COP_LANGUAGE", "en")
    settings = Settings.from_env()
    assert settings.admins == frozenset({"UOMGEVING"})
    assert settings.language == "en"
