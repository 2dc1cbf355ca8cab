"""The console runs on a clock of its own: what it plans at start follows that clock."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.config import Settings
from bot.sandbox.console import Console, run_console
from bot.services import outbox
from storage.models import Meeting, OutboxItem, Reminder


def test_a_console_started_the_day_before_a_meeting_does_not_send_last_weeks_reminder(
    tmp_path: Path,
) -> None:
    """The shipped catalogue's first meeting is 30 March 2027, 14:00; the console starts
    on the 29th at 10:00 (its week reminder long passed, the day reminder still to come).
    Planned by the wall clock (months earlier), the week reminder would be pending and
    go out late at the first sweep."""
    start = dt.datetime(2027, 3, 29, 8, 0, tzinfo=dt.UTC)
    out = io.StringIO()
    seen: dict[str, object] = {}

    def after_start(console: Console) -> None:
        assert console.services.scheduler is not None
        console.services.scheduler.sweep_now()
        console.settle()
        with console.services.db.read() as session:
            seen["deliveries"] = session.scalar(
                select(OutboxItem.id).where(OutboxItem.kind.in_(outbox.REMINDERS)).limit(1)
            )
            seen["first meeting"] = set(
                session.execute(
                    select(Reminder.offset_seconds, Reminder.state)
                    .join(Meeting, Reminder.meeting_id == Meeting.id)
                    .where(Meeting.key == "2027-03-30")
                ).all()
            )

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}")
    run_console(
        settings, stdin=io.StringIO(""), out=out, ready=after_start, clock=FrozenClock(start)
    )

    week, day = int(dt.timedelta(days=7).total_seconds()), int(dt.timedelta(days=1).total_seconds())
    # Every community of the catalogue meets that day.
    assert seen["first meeting"] == {(week, Reminder.SKIPPED), (day, Reminder.PENDING)}
    assert seen["deliveries"] is None
    assert "HERINNERING" not in out.getvalue()
