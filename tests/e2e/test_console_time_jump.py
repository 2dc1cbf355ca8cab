"""The console's `:tijd` reads an ISO date as year-month-day, and a Dutch date day first
(issue 12 item 3)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FrozenClock
from bot.config import Settings
from bot.sandbox.console import Console, run_console

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("2026-12-03 13:01", dt.datetime(2026, 12, 3, 13, 1)),
        ("3-12-2026 13:01", dt.datetime(2026, 12, 3, 13, 1)),
        ("03/12/2026 13:01", dt.datetime(2026, 12, 3, 13, 1)),
        ("2027-03-23 14:01", dt.datetime(2027, 3, 23, 14, 1)),
    ],
)
def test_the_time_jump_reads_iso_year_first_and_dutch_dates_day_first(
    tmp_path: Path, typed: str, local: dt.datetime
) -> None:
    start = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    seen: list[dt.datetime] = []

    def after_start(console: Console) -> None:
        console.jump(typed)
        seen.append(console.services.clock())

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}")
    run_console(
        settings, stdin=io.StringIO(""), out=io.StringIO(), ready=after_start,
        clock=FrozenClock(start),
    )  # fmt: skip

    [now] = seen
    assert now.astimezone(AMS).replace(tzinfo=None, second=0, microsecond=0) == local
