"""Everything that depends on "now" asks the injected clock (bot/clock.py): no product
module reads the wall clock by itself, and start-up plans from the clock it is given."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import prepare_database
from bot.clock import FrozenClock
from bot.config import Settings
from bot.services import audit
from storage.db import Database
from storage.models import AuditEntry, Meeting, Reminder
from tests.source_scan import calls_to

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "handlers", "storage")
# The one place that may read the wall clock: the clock itself.
CLOCK_MODULE = Path("bot/clock.py")

# The calls that read the wall clock.
_WALL_CLOCK = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
}


def wall_clock_calls(source: str) -> list[tuple[int, str]]:
    """(line, call) of every call in `source` that reads the wall clock through the
    datetime module, under any import alias."""
    return calls_to(source, _WALL_CLOCK)


@pytest.mark.parametrize(
    "source",
    [
        "import datetime as dt\ndt.datetime.now(dt.UTC)",
        "import datetime\ndatetime.datetime.now()",
        "import datetime\ndatetime.datetime.utcnow()",
        "import datetime\ndatetime.date.today()",
        "from datetime import datetime\ndatetime.now()",
        "from datetime import datetime as D\nD.utcnow()",
        "from datetime import date\ndate.today()",
        "from datetime import date as day\nx = [day.today()]",
        "def f():\n    import datetime as when\n    return when.datetime.now()",
    ],
)
def test_the_scan_finds_a_wall_clock_read_under_every_alias(source: str) -> None:
    assert len(wall_clock_calls(source)) == 1


def test_the_scan_leaves_other_nows_alone() -> None:
    source = (
        "import datetime as dt\nfrom bot.clock import system_clock\n"
        "clock = system_clock\nclock()\nservices.clock()\nsystem_clock()\n"
        "dt.datetime(2027, 1, 1).astimezone()\nnow = self.now()\n"
    )
    assert wall_clock_calls(source) == []


def test_no_product_module_reads_the_wall_clock_but_the_clock_itself() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT) != CLOCK_MODULE
        for line, call in wall_clock_calls(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "take the clock (bot/clock.py) instead:\n" + "\n".join(offenders)


def test_the_clock_module_is_where_the_wall_clock_is_read() -> None:
    """The scan looks where it should: it does find the one read it allows."""
    assert wall_clock_calls((ROOT / CLOCK_MODULE).read_text(encoding="utf-8"))


CATALOGUE = """\
[[community]]
slug = "later"
name = "Later"
description = "Ver weg."

[[community.meeting]]
id = "2030-06-15"
starts = 2030-06-15T14:00:00
ends = 2030-06-15T16:00:00
kind = "online"

[[community.meeting]]
id = "2032-06-15"
starts = 2032-06-15T14:00:00
ends = 2032-06-15T16:00:00
kind = "online"
"""

# Three days before the 2032 meeting: the 2030 one is over, its week reminder has passed.
LATER = dt.datetime(2032, 6, 12, 12, 0, tzinfo=dt.UTC)


def test_start_up_plans_the_catalogues_reminders_from_the_clock_it_is_given(
    tmp_path: Path, settings: Settings
) -> None:
    file = tmp_path / "catalogus.toml"
    file.write_text(CATALOGUE)
    settings = dataclasses.replace(settings, catalog=file)

    prepare_database(settings, clock=FrozenClock(LATER))

    db = Database(settings.database_url)
    try:
        with db.read() as session:
            planned = {
                (meeting_key, dt.timedelta(seconds=offset), state)
                for meeting_key, offset, state in session.execute(
                    select(Meeting.key, Reminder.offset_seconds, Reminder.state).join(
                        Meeting, Reminder.meeting_id == Meeting.id
                    )
                )
            }
            admin_added = session.scalars(
                select(AuditEntry.at).where(AuditEntry.action == audit.ADMIN_ADDED)
            ).all()
    finally:
        db.dispose()
    pending = {(key, offset) for key, offset, state in planned if state == Reminder.PENDING}
    # By the wall clock (2026) all four would wait; by the given clock only one is to come.
    assert pending == {("2032-06-15", dt.timedelta(days=1))}
    assert admin_added == [LATER]
