"""The settings of the health endpoints, and the metrics directory of `cop-bot serve`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import multiproc
from bot.config import ConfigError, Settings


def test_the_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.ready_backlog_seconds, settings.health_port, settings.metrics_port) == (
        300.0, 8081, None,
    )  # fmt: skip


def test_they_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {"COP_READY_BACKLOG_SECONDS": "60", "COP_HEALTH_PORT": "0", "COP_METRICS_PORT": "9100"}
    )
    assert (settings.ready_backlog_seconds, settings.health_port, settings.metrics_port) == (
        60.0, 0, 9100,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COP_READY_BACKLOG_SECONDS", "soon"),
        ("COP_READY_BACKLOG_SECONDS", "0"),
        ("COP_HEALTH_PORT", "80a"),
        ("COP_HEALTH_PORT", "70000"),
        ("COP_METRICS_PORT", "-1"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}: '{value}'"):
        Settings.from_env({variable: value})


def test_a_given_metrics_directory_is_emptied_of_an_earlier_runs_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv(multiproc.VARIABLE, str(tmp_path))

    assert multiproc.prepare() == tmp_path

    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert os.environ[multiproc.VARIABLE] == str(tmp_path)
