"""Minutes: the form's choices, who may save them, and the day-after nudge on the clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.clock import FrozenClock
from bot.sandbox.standin import SlackStandIn
from bot.scheduler import ReminderScheduler
from bot.services import minutes
from bot.services.errors import NoPastMeetings, NotAllowed
from storage.db import Database
from storage.models import Meeting
from tests.factories import add_community, meeting
from tests.services.reminder_support import private_lock_key

AMS = ZoneInfo("Europe/Amsterdam")
ADMINS = frozenset({"UADMIN"})


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=AMS)


FRIDAY = local(2026, 11, 20, 14)  # a meeting on Friday 20 November, 14:00


def _setup(db: Database, *starts: dt.datetime) -> dict[dt.datetime, int]:
    add_community(
        db, "ethiek", name="Ethiek", facilitators=("UFAC", "UFAC2"),
        meetings=tuple(meeting(s.astimezone(dt.UTC), key=s.isoformat()) for s in starts),
    )  # fmt: skip
    with db.read() as session:
        rows = session.query(Meeting.starts_at, Meeting.id).all()
    return {s.astimezone(AMS): i for s, i in rows}


def _save(db: Database, meeting_id: int, text: str, now: dt.datetime) -> None:
    """The facilitator saves the minutes of a meeting."""
    with db.write() as session:
        minutes.save(session, meeting_id=meeting_id, user_id="UFAC", text=text, admins=ADMINS,
                     now=now)  # fmt: skip


def _form(db: Database, user_id: str, now: dt.datetime) -> minutes.MinutesForm:
    """The minutes form of the community "ethiek", as `user_id` opens it at `now`."""
    with db.read() as session:
        return minutes.form(session, user_id=user_id, admins=ADMINS, now=now, query="ethiek")


def _nudges(db: Database, now: dt.datetime) -> list[minutes.Nudge]:
    with db.write() as session:
        return minutes.due_nudges(session, now=now, tz=AMS)


def test_no_nudge_before_nine_the_next_morning(db: Database) -> None:
    _setup(db, FRIDAY)
    assert _nudges(db, FRIDAY + dt.timedelta(hours=6)) == []
    assert _nudges(db, local(2026, 11, 21, 8, 59)) == []


def test_the_nudge_goes_once_to_the_facilitators_from_nine_the_next_morning(db: Database) -> None:
    ids = _setup(db, FRIDAY)
    due = _nudges(db, local(2026, 11, 21, 9, 0))
    assert [(n.meeting_id, n.facilitators) for n in due] == [(ids[FRIDAY], ("UFAC", "UFAC2"))]
    assert _nudges(db, local(2026, 11, 21, 9, 5)) == []
    assert _nudges(db, local(2026, 11, 24, 9, 0)) == []


def test_a_late_evening_meeting_is_nudged_at_nine_the_next_calendar_day(db: Database) -> None:
    late = local(2026, 11, 20, 23, 30)
    _setup(db, late)
    assert _nudges(db, local(2026, 11, 21, 8, 0)) == []
    assert len(_nudges(db, local(2026, 11, 21, 9, 0))) == 1


def test_the_nudge_hour_follows_summer_time(db: Database) -> None:
    # Summer time starts on Sunday 28 March 2027: 09:00 that morning is 07:00 UTC.
    saturday = local(2027, 3, 27, 20)
    _setup(db, saturday)
    assert _nudges(db, dt.datetime(2027, 3, 28, 6, 59, tzinfo=dt.UTC)) == []
    assert len(_nudges(db, dt.datetime(2027, 3, 28, 7, 0, tzinfo=dt.UTC))) == 1


def test_no_nudge_when_the_minutes_are_there(db: Database) -> None:
    ids = _setup(db, FRIDAY)
    _save(db, ids[FRIDAY], "Besproken: registers.", FRIDAY + dt.timedelta(hours=3))
    assert _nudges(db, local(2026, 11, 21, 9, 0)) == []


def test_no_nudge_for_a_cancelled_meeting(db: Database) -> None:
    ids = _setup(db, FRIDAY)
    with db.write() as session:
        session.execute(
            update(Meeting).where(Meeting.id == ids[FRIDAY]).values(status=Meeting.CANCELLED)
        )
    assert _nudges(db, local(2026, 11, 21, 9, 0)) == []


def test_no_nudge_more_than_seven_days_after_the_meeting(db: Database) -> None:
    _setup(db, FRIDAY)
    assert _nudges(db, FRIDAY + dt.timedelta(days=7, minutes=1)) == []


def test_the_form_chooses_the_latest_past_meeting_without_minutes(db: Database) -> None:
    earlier, later, future = local(2026, 11, 6, 14), FRIDAY, local(2027, 1, 8, 14)
    ids = _setup(db, earlier, later, future)
    now = local(2026, 11, 23, 10)
    _save(db, ids[later], "Verslag.", now)
    form = _form(db, "UFAC", now)
    assert [c.id for c in form.choices] == [ids[later], ids[earlier]]
    assert [c.has_minutes for c in form.choices] == [True, False]
    assert form.selected == ids[earlier]
    assert form.text is None


def test_the_form_of_a_meeting_with_minutes_holds_them_for_editing(db: Database) -> None:
    ids = _setup(db, FRIDAY)
    now = local(2026, 11, 23, 10)
    _save(db, ids[FRIDAY], "Eerste versie.", now)
    form = _form(db, "UADMIN", now)
    assert (form.selected, form.text) == (ids[FRIDAY], "Eerste versie.")


def test_only_facilitators_and_admins_may_save_minutes(db: Database) -> None:
    ids = _setup(db, FRIDAY)
    with db.write() as session, pytest.raises(NotAllowed):
        minutes.save(session, meeting_id=ids[FRIDAY], user_id="U1", text="Nep.",
                     admins=ADMINS, now=local(2026, 11, 23, 10))  # fmt: skip
    with db.read() as session:
        assert session.get(Meeting, ids[FRIDAY]).minutes is None  # type: ignore[union-attr]


def test_a_meeting_still_to_come_has_no_minutes_yet(db: Database) -> None:
    future = local(2027, 1, 8, 14)
    ids = _setup(db, future)
    with db.read() as session, pytest.raises(NoPastMeetings):
        minutes.form(session, user_id="UFAC", admins=ADMINS, now=local(2026, 11, 23, 10),
                     query="ethiek")  # fmt: skip
    with db.write() as session, pytest.raises(NoPastMeetings):
        minutes.save(session, meeting_id=ids[future], user_id="UFAC", text="Te vroeg.",
                     admins=ADMINS, now=local(2026, 11, 23, 10))  # fmt: skip


def test_only_the_scheduler_lock_owner_runs_the_nudge_chore(
    db: Database, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_lock_key(monkeypatch)
    clock = FrozenClock(local(2026, 11, 21, 9, 0))
    first, second = ReminderScheduler(db=db, clock=clock), ReminderScheduler(db=db, clock=clock)
    runs: list[str] = []
    first.chores.append(lambda: runs.append("first"))
    second.chores.append(lambda: runs.append("second"))
    try:
        first._sweep()
        second._sweep()
    finally:
        first.stop()
        second.stop()
    assert runs == ["first"]
