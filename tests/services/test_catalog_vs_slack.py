"""The written rule for settings changed in Slack versus the catalogue file (README,
"Slack versus the file"): a reload never silently undoes a change made in Slack and
never drops a member."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services import meetings, membership
from storage.db import Database
from storage.models import Meeting, Membership
from tests.conftest import NOW
from tests.services.test_catalog import (
    AMS,
    BASE,
    _facilitators,
    _load,
    _meetings,
    _write,
)

ADMINS = frozenset({"UADMIN"})
OFFSETS = (dt.timedelta(days=7),)


@pytest.fixture
def loaded(db: Database, tmp_path: Path) -> Path:
    path = _write(tmp_path, BASE, "base.toml")
    _load(db, path)
    return path


def test_a_facilitator_removed_in_slack_is_not_brought_back_by_a_reload(
    db: Database, loaded: Path
) -> None:
    with db.write() as session:
        name, was = membership.remove_facilitator(
            session, query="proef", user_id="UFACIL1", removed_by="UADMIN", admins=ADMINS, now=NOW
        )
    assert (name, was) == ("Proef", True)
    _load(db, loaded)  # the file still lists UFACIL1
    assert _facilitators(db, "proef") == [("UFACIL2", "catalog")]
    # Appointed again in Slack, they are back, and a reload keeps them.
    with db.write() as session:
        membership.appoint_facilitator(
            session, query="proef", user_id="UFACIL1", appointed_by="UADMIN", admins=ADMINS,
            now=NOW,
        )  # fmt: skip
    _load(db, loaded)
    assert [u for u, _ in _facilitators(db, "proef")] == ["UFACIL1", "UFACIL2"]


def test_a_facilitator_the_file_dropped_is_not_held_back_by_that_rule(
    db: Database, loaded: Path
) -> None:
    """The rule is about Slack's removals: the file's own removal of a facilitator, then
    listing them again, appoints them again."""
    _load(db, _write(loaded.parent, BASE.replace('"UFACIL1", ', "")))
    assert [u for u, _ in _facilitators(db, "proef")] == ["UFACIL2"]
    _load(db, loaded)
    assert [u for u, _ in _facilitators(db, "proef")] == ["UFACIL1", "UFACIL2"]


def test_a_meeting_moved_in_slack_keeps_its_new_time_after_a_reload(
    db: Database, loaded: Path
) -> None:
    start = next(m for m in _meetings(db, "proef") if m.key == "start")
    new_time = start.starts_at + dt.timedelta(days=1)
    with db.write() as session:
        meetings.move(
            session, query="proef", meeting_id=start.id, user_id="UFACIL1", starts_at=new_time,
            admins=ADMINS, offsets=OFFSETS, now=NOW, tz=AMS,
        )  # fmt: skip
    report = _load(db, loaded)
    moved = next(m for m in _meetings(db, "proef") if m.id == start.id)
    assert moved.starts_at == new_time
    assert moved.status == Meeting.SCHEDULED
    assert report.meetings_updated == 0
    assert len(_meetings(db, "proef")) == 3, "no second copy at the file's time"


def test_a_meeting_cancelled_in_slack_stays_cancelled_after_a_reload(
    db: Database, loaded: Path
) -> None:
    start = next(m for m in _meetings(db, "proef") if m.key == "start")
    with db.write() as session:
        meetings.cancel(
            session, query="proef", meeting_id=start.id, user_id="UFACIL1", admins=ADMINS,
            offsets=OFFSETS, now=NOW, tz=AMS,
        )  # fmt: skip
    _load(db, loaded)
    after = next(m for m in _meetings(db, "proef") if m.id == start.id)
    assert after.status == Meeting.CANCELLED


def test_no_reload_drops_a_member_a_waitlisted_person_or_a_request(
    db: Database, loaded: Path
) -> None:
    with db.write() as session:
        for i in range(12):  # capacity 10: two on the waitlist
            membership.join(session, query="proef", user_id=f"U{i:02d}", now=NOW, tz=AMS)
    smaller = BASE.replace("capacity = 10", "capacity = 3").replace(
        "registration_deadline = 2027-02-21", "approval = true"
    )
    _load(db, _write(loaded.parent, smaller))
    _load(db, loaded)
    with db.read() as session:
        statuses = sorted(session.scalars(select(Membership.status)))
    assert statuses.count("member") == 10 and statuses.count("waitlist") == 2
