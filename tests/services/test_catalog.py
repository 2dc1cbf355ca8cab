"""The catalogue: the shipped communities and dates, idempotent reloads, edits and bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.services import catalog, communities, membership
from bot.services.catalog import CatalogError, LoadReport
from storage.db import Database
from storage.models import Community, Facilitator, Meeting, Membership
from tests.conftest import NOW
from tests.factories import load_shipped_catalog

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC
ADMINS = frozenset({"UADMIN"})


def _meetings(db: Database, slug: str) -> list[Meeting]:
    with db.read() as session:
        return list(
            session.scalars(
                select(Meeting)
                .join(Community)
                .where(Community.slug == slug)
                .order_by(Meeting.starts_at)
            )
        )


def _community(db: Database, slug: str) -> Community:
    with db.read() as session:
        return session.scalars(select(Community).where(Community.slug == slug)).one()


def _facilitators(db: Database, slug: str) -> list[tuple[str, str]]:
    with db.read() as session:
        return list(
            session.execute(
                select(Facilitator.user_id, Facilitator.source)
                .join(Community)
                .where(Community.slug == slug)
                .order_by(Facilitator.user_id)
            ).all()
        )


def _load(db: Database, path: Path) -> LoadReport:
    with db.write() as session:
        return catalog.load_file(session, path, AMS, now=NOW)


def _write(tmp_path: Path, text: str, name: str = "edited.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped catalogue ------------------------------------------------------------


SHIPPED_SLUGS = {
    "lokaal-meten",
    "gebiedsontwikkeling",
    "voorspellen",
    "ethiek",
    "groene-stad-klein",
    "groene-stad-groot",
}


def test_shipped_catalogue_holds_exactly_the_six_communities(db: Database) -> None:
    load_shipped_catalog(db)
    with db.read() as session:
        slugs = set(session.scalars(select(Community.slug)))
    assert slugs == SHIPPED_SLUGS


def test_first_load_of_the_shipped_catalogue_reports_everything_created(db: Database) -> None:
    report = _load(db, catalog.DEFAULT_CATALOG)
    assert report == LoadReport(created=6, meetings_created=4 * 5 + 2 * 3)
    assert report.changed


@pytest.mark.parametrize(
    ("slug", "dates"),
    [
        ("ethiek", ["2027-03-30", "2027-04-20", "2027-06-01", "2027-10-05", "2027-12-07"]),
        (
            "gebiedsontwikkeling",
            ["2027-03-30", "2027-05-11", "2027-06-01", "2027-10-05", "2027-11-21"],
        ),
        ("lokaal-meten", ["2027-03-30", "2027-05-11", "2027-06-15", "2027-10-05", "2027-12-05"]),
        ("voorspellen", ["2027-03-30", "2027-05-16", "2027-06-15", "2027-10-05", "2027-12-05"]),
    ],
)
def test_city_deal_communities_meet_on_the_agreed_days(
    db: Database, slug: str, dates: list[str]
) -> None:
    load_shipped_catalog(db)
    meetings = _meetings(db, slug)
    assert [m.starts_at.astimezone(AMS).date().isoformat() for m in meetings] == dates
    assert all(m.starts_at.astimezone(AMS).time() == dt.time(14, 0) for m in meetings)
    assert all(m.status == Meeting.SCHEDULED for m in meetings)


def test_a_meeting_at_two_in_summer_time_is_stored_as_noon_utc(db: Database) -> None:
    load_shipped_catalog(db)
    first = _meetings(db, "lokaal-meten")[0]
    # Summer time starts on 28 March 2027, so 30 March is UTC+2.
    assert first.starts_at == dt.datetime(2027, 3, 30, 12, 0, tzinfo=UTC)
    assert first.ends_at == dt.datetime(2027, 3, 30, 14, 0, tzinfo=UTC)


def test_a_meeting_at_two_in_december_is_stored_as_one_oclock_utc(db: Database) -> None:
    load_shipped_catalog(db)
    last = _meetings(db, "lokaal-meten")[-1]
    assert last.starts_at == dt.datetime(2027, 12, 5, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize("slug", ["groene-stad-klein", "groene-stad-groot"])
def test_groene_stad_has_25_seats_a_deadline_and_one_werkbezoek(db: Database, slug: str) -> None:
    load_shipped_catalog(db)
    community = _community(db, slug)
    meetings = _meetings(db, slug)
    assert community.capacity == 25
    assert community.registration_deadline == dt.date(2027, 2, 21)
    assert community.approval is False
    assert len(meetings) == 3
    assert [m.kind for m in meetings].count("werkbezoek") == 1


def test_city_deal_communities_have_no_capacity_or_deadline(db: Database) -> None:
    load_shipped_catalog(db)
    for slug in ("lokaal-meten", "gebiedsontwikkeling", "voorspellen", "ethiek"):
        community = _community(db, slug)
        assert (community.capacity, community.registration_deadline) == (None, None)
        assert community.description == community.description.strip() != ""


# --- reloading --------------------------------------------------------------------------


def _ids(db: Database) -> tuple[dict[str, int], dict[tuple[int, str], int]]:
    with db.read() as session:
        community_ids = {c.slug: c.id for c in session.scalars(select(Community))}
        meeting_ids = {(m.community_id, m.key): m.id for m in session.scalars(select(Meeting))}
    return community_ids, meeting_ids


def test_loading_the_same_file_twice_changes_nothing_and_keeps_ids(db: Database) -> None:
    _load(db, catalog.DEFAULT_CATALOG)
    before = _ids(db)
    report = _load(db, catalog.DEFAULT_CATALOG)
    assert not report.changed
    assert report == LoadReport(unchanged=6)
    assert _ids(db) == before


BASE = """
[[community]]
slug = "proef"
name = "Proef"
programme = "Testprogramma"
description = "Eerste tekst."
capacity = 10
registration_deadline = 2027-02-21
facilitators = ["UFACIL1", "UFACIL2"]

[[community.meeting]]
id = "start"
starts = 2027-03-30T14:00:00
ends = 2027-03-30T16:00:00
title = "Start"

[[community.meeting]]
starts = 2027-05-11T14:00:00
title = "Zonder id"
location = "Utrecht"

[[community.meeting]]
id = "slot"
starts = 2027-12-07T14:00:00
title = "Slot"
"""


@pytest.fixture
def loaded(db: Database, tmp_path: Path) -> Path:
    path = _write(tmp_path, BASE, "base.toml")
    _load(db, path)
    return path


def test_loading_an_edited_file_updates_the_community_fields(db: Database, loaded: Path) -> None:
    community_id = _community(db, "proef").id
    edited = (
        BASE.replace('name = "Proef"', 'name = "Proef nieuw"')
        .replace("Eerste tekst.", "Tweede tekst.")
        .replace("capacity = 10", "capacity = 12")
        .replace("registration_deadline = 2027-02-21", "registration_deadline = 2027-03-01")
    )
    report = _load(db, _write(loaded.parent, edited))
    community = _community(db, "proef")
    assert report == LoadReport(updated=1)
    assert community.id == community_id
    assert community.name == "Proef nieuw"
    assert community.description == "Tweede tekst."
    assert community.capacity == 12
    assert community.registration_deadline == dt.date(2027, 3, 1)


def test_a_meeting_moved_in_the_file_keeps_its_database_id(db: Database, loaded: Path) -> None:
    before = {m.key: m.id for m in _meetings(db, "proef")}
    edited = BASE.replace("starts = 2027-03-30T14:00:00", "starts = 2027-03-31T10:30:00").replace(
        "ends = 2027-03-30T16:00:00", "ends = 2027-03-31T12:30:00"
    )
    report = _load(db, _write(loaded.parent, edited))
    moved = next(m for m in _meetings(db, "proef") if m.key == "start")
    assert report.meetings_updated == 1
    assert report.meetings_created == 0
    assert moved.id == before["start"]
    assert moved.starts_at == dt.datetime(2027, 3, 31, 8, 30, tzinfo=UTC)
    assert {m.key: m.id for m in _meetings(db, "proef")} == before


def test_a_meeting_without_id_is_matched_by_its_start_time(db: Database, loaded: Path) -> None:
    without_id = next(m for m in _meetings(db, "proef") if m.title == "Zonder id")
    assert without_id.key == "2027-05-11T14:00"
    edited = BASE.replace('title = "Zonder id"', 'title = "Nog steeds zonder id"').replace(
        'location = "Utrecht"', 'location = "Amersfoort"'
    )
    report = _load(db, _write(loaded.parent, edited))
    again = next(m for m in _meetings(db, "proef") if m.key == "2027-05-11T14:00")
    assert report.meetings_updated == 1
    assert (again.id, again.title, again.location) == (
        without_id.id,
        "Nog steeds zonder id",
        "Amersfoort",
    )
    assert len(_meetings(db, "proef")) == 3


def test_a_meeting_that_gains_an_id_is_matched_by_its_start_time(
    db: Database, loaded: Path
) -> None:
    without_id = next(m for m in _meetings(db, "proef") if m.title == "Zonder id")
    edited = BASE.replace(
        "starts = 2027-05-11T14:00:00", 'id = "tweede"\nstarts = 2027-05-11T14:00:00'
    )
    _load(db, _write(loaded.parent, edited))
    again = next(m for m in _meetings(db, "proef") if m.title == "Zonder id")
    assert (again.id, again.key) == (without_id.id, "tweede")


def test_a_meeting_removed_from_the_file_is_cancelled_not_deleted(
    db: Database, loaded: Path
) -> None:
    slot = next(m for m in _meetings(db, "proef") if m.key == "slot")
    edited = BASE.split('[[community.meeting]]\nid = "slot"')[0]
    report = _load(db, _write(loaded.parent, edited))
    meetings = {m.key: m for m in _meetings(db, "proef")}
    assert report.meetings_cancelled == 1
    assert meetings["slot"].id == slot.id
    assert meetings["slot"].status == Meeting.CANCELLED
    assert meetings["start"].status == Meeting.SCHEDULED
    # Loading the same shortened file again cancels nothing more.
    assert not _load(db, _write(loaded.parent, edited)).changed


def test_a_cancelled_meeting_put_back_in_the_file_is_scheduled_again(
    db: Database, loaded: Path
) -> None:
    slot_id = next(m.id for m in _meetings(db, "proef") if m.key == "slot")
    _load(db, _write(loaded.parent, BASE.split('[[community.meeting]]\nid = "slot"')[0]))
    _load(db, loaded)
    slot = next(m for m in _meetings(db, "proef") if m.key == "slot")
    assert (slot.id, slot.status) == (slot_id, Meeting.SCHEDULED)


def test_a_cancelled_meeting_is_not_offered_as_the_next_one(db: Database, loaded: Path) -> None:
    first_block = (
        '[[community.meeting]]\nid = "start"\nstarts = 2027-03-30T14:00:00\n'
        'ends = 2027-03-30T16:00:00\ntitle = "Start"\n'
    )
    assert first_block in BASE
    _load(db, _write(loaded.parent, BASE.replace(first_block, "")))
    with db.read() as session:
        (listed,) = communities.list_communities(session, now=NOW, tz=AMS)
    assert listed.next_meeting is not None
    assert listed.next_meeting.key == "2027-05-11T14:00"


def test_members_survive_a_reload_even_when_capacity_shrinks(db: Database, loaded: Path) -> None:
    with db.write() as session:
        for user in ("U1", "U2", "U3"):
            membership.join(session, query="proef", user_id=user, now=NOW, tz=AMS)
    _load(db, _write(loaded.parent, BASE.replace("capacity = 10", "capacity = 2")))
    with db.write() as session:
        late = membership.join(session, query="proef", user_id="U4", now=NOW, tz=AMS)
    with db.read() as session:
        listed = membership.member_list(
            session, query="proef", user_id="UADMIN", admins={"UADMIN"}, now=NOW, tz=AMS
        )
    assert listed.members == ("U1", "U2", "U3")
    assert late.outcome == Membership.WAITLIST
    assert listed.waitlist == ("U4",)


def _fill_to_waitlist(db: Database, users: int) -> None:
    with db.write() as session:
        for i in range(1, users + 1):
            membership.join(session, query="proef", user_id=f"U{i}", now=NOW, tz=AMS)


def test_raising_capacity_moves_the_waitlist_up_in_order(db: Database, loaded: Path) -> None:
    _fill_to_waitlist(db, 14)  # 10 seats, 4 waiting
    report = _load(db, _write(loaded.parent, BASE.replace("capacity = 10", "capacity = 12")))
    assert report.promoted == (("proef", "U11"), ("proef", "U12"))
    assert report.changed
    with db.read() as session:
        listed = membership.member_list(
            session, query="proef", user_id="UADMIN", admins={"UADMIN"}, now=NOW, tz=AMS
        )
    assert listed.members == tuple(f"U{i}" for i in range(1, 13))
    assert listed.waitlist == ("U13", "U14")
    # A newcomer queues behind those still waiting instead of taking a seat.
    with db.write() as session:
        late = membership.join(session, query="proef", user_id="U15", now=NOW, tz=AMS)
    assert (late.outcome, late.position) == ("waitlist", 3)


def test_removing_capacity_gives_everyone_waiting_a_seat(db: Database, loaded: Path) -> None:
    _fill_to_waitlist(db, 12)
    report = _load(db, _write(loaded.parent, BASE.replace("capacity = 10\n", "")))
    assert report.promoted == (("proef", "U11"), ("proef", "U12"))
    with db.read() as session:
        listed = membership.member_list(
            session, query="proef", user_id="UADMIN", admins={"UADMIN"}, now=NOW, tz=AMS
        )
    assert (len(listed.members), listed.waitlist) == (12, ())


def test_reloading_without_new_seats_promotes_nobody(db: Database, loaded: Path) -> None:
    _fill_to_waitlist(db, 12)
    report = _load(db, loaded)
    assert report.promoted == ()
    assert not report.changed


def test_facilitators_appointed_in_slack_survive_a_reload(db: Database, loaded: Path) -> None:
    with db.write() as session:
        membership.appoint_facilitator(
            session, query="proef", user_id="USLACK", appointed_by="UADMIN", admins=ADMINS, now=NOW
        )
    _load(db, loaded)
    _load(db, _write(loaded.parent, BASE.replace('["UFACIL1", "UFACIL2"]', "[]")))
    assert _facilitators(db, "proef") == [("USLACK", "admin")]


def test_catalogue_facilitators_removed_from_the_file_are_removed(
    db: Database, loaded: Path
) -> None:
    assert _facilitators(db, "proef") == [("UFACIL1", "catalog"), ("UFACIL2", "catalog")]
    report = _load(
        db, _write(loaded.parent, BASE.replace('["UFACIL1", "UFACIL2"]', '["UFACIL2", "UNEW"]'))
    )
    assert report.updated == 1
    assert _facilitators(db, "proef") == [("UFACIL2", "catalog"), ("UNEW", "catalog")]


def test_a_community_missing_from_the_file_is_left_alone(db: Database, loaded: Path) -> None:
    _load(db, catalog.DEFAULT_CATALOG)
    with db.read() as session:
        slugs = set(session.scalars(select(Community.slug)))
    assert slugs == SHIPPED_SLUGS | {"proef"}


# --- bad files --------------------------------------------------------------------------

GOOD = """
[[community]]
slug = "goed"
name = "Goed"
"""


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (GOOD + '[[community]]\nname = "Zonder slug"\n', ["community #2", "'slug' is required"]),
        ('[[community]]\nslug = "x"\n', ["community #1", "'name' is required"]),
        ('[[community]]\nslug = "Hoofd Letters"\nname = "H"\n', ["Hoofd Letters", "slug must"]),
        (
            GOOD + '[[community.meeting]]\nstarts = 2027-03-30T14:00:00\nkind = "hybride"\n',
            ["'goed'", "meeting #1", "'hybride' is not one of online, fysiek, werkbezoek"],
        ),
        (
            GOOD + "[[community.meeting]]\nstarts = 2027-03-30T14:00:00\n"
            "ends = 2027-03-30T13:00:00\n",
            ["'goed'", "meeting #1", "'ends' must be after 'starts'"],
        ),
        (
            GOOD + "[[community.meeting]]\nstarts = 2027-03-30\n",
            ["'goed'", "meeting #1.starts", "expected a date and time"],
        ),
        (
            GOOD + "[[community.meeting]]\ntitle = 'x'\n",
            ["'goed'", "meeting #1", "'starts' is required"],
        ),
        (
            GOOD + 'registration_deadline = "21 februari 2027"\n',
            ["'goed'", "registration_deadline must be a date"],
        ),
        (
            GOOD + "registration_deadline = 2027-02-21T23:59:00\n",
            ["'goed'", "registration_deadline must be a date"],
        ),
        (GOOD + GOOD, ["'goed'", "slug is used twice"]),
        (GOOD + "capacity = 0\n", ["'goed'", "capacity must be a positive whole number"]),
        (GOOD + 'capacity = "25"\n', ["'goed'", "capacity must be a positive whole number"]),
        (GOOD + "capacity = true\n", ["'goed'", "capacity must be a positive whole number"]),
        (GOOD + 'approval = "nee"\n', ["'goed'", "approval must be true or false"]),
        (
            GOOD + 'facilitators = ["jan@gemeente.nl"]\n',
            ["'goed'", "facilitator 'jan@gemeente.nl' is not a Slack user ID"],
        ),
        (GOOD + 'channel = "#algemeen"\n', ["'goed'", "channel '#algemeen'"]),
        (GOOD + 'reminders = ["7 dagen"]\n', ["'goed'", "reminders", "'7 dagen'"]),
        (
            GOOD + "[[community.meeting]]\nstarts = 2027-03-30T14:00:00\n"
            "[[community.meeting]]\nstarts = 2027-03-30T14:00:00\n",
            ["'goed'", "two meetings share an id or start time"],
        ),
        ('[[community]\nslug = "goed"\n', ["not valid TOML"]),
        ('slug = "goed"\nname = "Goed"\n', ["no [[community]] tables found"]),
    ],
    ids=[
        "missing-slug",
        "missing-name",
        "bad-slug",
        "bad-kind",
        "ends-before-starts",
        "starts-without-time",
        "missing-starts",
        "deadline-text",
        "deadline-with-time",
        "duplicate-slug",
        "capacity-zero",
        "capacity-text",
        "capacity-boolean",
        "approval-text",
        "facilitator-email",
        "channel-name",
        "bad-reminder",
        "duplicate-meeting",
        "invalid-toml",
        "no-communities",
    ],
)
def test_a_bad_file_raises_catalog_error_naming_the_place_and_problem(
    db: Database, tmp_path: Path, text: str, names: list[str]
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CatalogError) as caught:
        _load(db, path)
    message = str(caught.value)
    assert str(path) in message
    for name in names:
        assert name in message
    with db.read() as session:
        assert catalog.is_empty(session)


def test_a_file_that_cannot_be_read_raises_catalog_error(db: Database, tmp_path: Path) -> None:
    missing = tmp_path / "weg.toml"
    with pytest.raises(CatalogError, match="cannot read"):
        _load(db, missing)


def test_a_file_with_an_explicit_offset_keeps_that_offset(db: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "[[community.meeting]]\nstarts = 2027-03-30T14:00:00Z\n")
    _load(db, path)
    assert _meetings(db, "goed")[0].starts_at == dt.datetime(2027, 3, 30, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("name", "x" * 201),
        ("programme", "p" * 201),
    ],
)
def test_a_community_text_longer_than_its_column_is_refused_by_name(field: str, text: str) -> None:
    source = f'[[community]]\nslug = "lang"\nname = "Lang"\n{field} = "{text}"\n'
    source = source.replace('name = "Lang"\nname', "name")
    with pytest.raises(CatalogError, match=f"'lang': {field} is longer than 200"):
        catalog.parse(source, AMS)


def test_a_meeting_location_longer_than_500_characters_is_refused() -> None:
    source = (
        '[[community]]\nslug = "lang"\nname = "Lang"\n[[community.meeting]]\n'
        f'starts = 2027-03-30T14:00:00\nlocation = "{"l" * 501}"\n'
    )
    with pytest.raises(CatalogError, match="location is longer than 500"):
        catalog.parse(source, AMS)
