"""The lead time a reminder states ("over 2 dagen", "morgen", "over 2 uur") is the time
left when it goes out, by the Amsterdam calendar, not the offset it was planned for
(issue 12 item 2): through the scheduler's fan-out and the delivery worker, the DM as
Slack gets it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from bot.clock import FrozenClock
from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import meetings, reminders
from storage.models import Community
from tests.conftest import AMS
from tests.handlers.support import MARCH_30, dms_to, drain_outbox, ethiek_with_a_meeting

# The 7-day reminder: 23 March at 14:00 in Amsterdam, still winter time (13:00 UTC).
WEEK = dt.datetime(2027, 3, 23, 13, 0, tzinfo=dt.UTC)
nl = Translator("nl", AMS)
en = Translator("en", AMS)


def _offsets(services: Services, own: str) -> None:
    """Ethiek reminds at its own offsets (as `reminders = [...]` in the catalogue)."""
    with services.db.write() as session:
        session.execute(update(Community).values(reminder_offsets=own))
        meetings.sync_reminders(
            session, offsets=services.settings.reminder_offsets, now=services.clock(),
            tz=services.settings.timezone,
        )  # fmt: skip


def _reminded(
    services: Services, standin: SlackStandIn, clock: FrozenClock, *, due: dt.datetime,
    sent: dt.datetime,
) -> str:  # fmt: skip
    """The reminder DM to U1 when the reminders due by `due` are fanned out then, and the
    delivery worker sends them at `sent`."""
    standin.clear()
    clock.now = due
    with services.db.write() as session:
        assert reminders.fan_out_due(session, now=clock())
    clock.now = sent
    drain_outbox(services)
    [dm] = dms_to(standin, "U1")
    return str(dm.args["blocks"][1]["text"]["text"])


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    """Ethiek with "Startbijeenkomst" on Tuesday 30 March 2027, 14:00; U1 a member."""
    ethiek_with_a_meeting(services, members=("U1",))


def test_the_week_reminder_sent_on_time_says_seven_days(
    services: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    text = _reminded(services, standin, clock, due=WEEK, sent=WEEK + dt.timedelta(minutes=1))
    assert text.startswith(f"*Startbijeenkomst* {nl('reminder_in_days', count=7)}:")


def test_a_week_reminder_that_goes_out_late_says_the_days_really_left(
    services: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    text = _reminded(services, standin, clock, due=WEEK, sent=MARCH_30 - dt.timedelta(days=2))
    assert text.startswith("*Startbijeenkomst* over 2 dagen:")


@pytest.mark.parametrize(
    ("own", "left", "says"),
    [
        # 36 hours before Tuesday 14:00 is Monday 02:00: the meeting is tomorrow.
        ("36h", dt.timedelta(hours=36), "morgen"),
        # 60 hours before is Sunday 02:00: two days on the calendar.
        ("60h", dt.timedelta(hours=60), "over 2 dagen"),
        ("2h", dt.timedelta(hours=2), "over 2 uur"),
        ("1h", dt.timedelta(hours=1), "over 1 uur"),
        ("30m", dt.timedelta(minutes=30), "over 30 minuten"),
    ],
)
def test_an_offset_in_hours_says_the_time_left_by_the_amsterdam_calendar(
    services: Services,
    standin: SlackStandIn,
    clock: FrozenClock,
    own: str,
    left: dt.timedelta,
    says: str,
) -> None:
    _offsets(services, own)
    at = MARCH_30 - left
    assert _reminded(services, standin, clock, due=at, sent=at).startswith(
        f"*Startbijeenkomst* {says}:"
    )


def test_the_lead_time_reads_in_english_too() -> None:
    assert en("reminder_in_hours", count=2) == "in 2 hours"
    assert en("reminder_in_minutes", count=1) == "in 1 minute"
    assert nl("reminder_in_hours", count=1) == "over 1 uur"
