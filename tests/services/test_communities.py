"""Finding communities by forgiving names, suggestions, and the list with counts and meetings."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.services import communities, membership
from bot.services.errors import CommunityNotFound
from bot.services.views import CommunitySummary
from storage.db import Database
from tests.conftest import NOW
from tests.factories import add_community, load_shipped_catalog, meeting

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.UTC


def resolve(db: Database, query: str) -> str:
    with db.read() as session:
        return communities.resolve(session, query).slug


def not_found(db: Database, query: str) -> CommunityNotFound:
    with pytest.raises(CommunityNotFound) as caught, db.read() as session:
        communities.resolve(session, query)
    assert caught.value.query == query
    return caught.value


@pytest.fixture
def shipped(db: Database) -> Database:
    load_shipped_catalog(db)
    return db


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("lokaal meten", "lokaal-meten"),
        ("Lokaal-Meten", "lokaal-meten"),
        ("LOKAALMETEN", "lokaal-meten"),
        ("  lokaal_meten  ", "lokaal-meten"),
        ("Éthiek", "ethiek"),
        ("ethiek", "ethiek"),
        ("gebiedsontwikkeling", "gebiedsontwikkeling"),
        ("Groene Stad – kleine gemeenten", "groene-stad-klein"),
        ("groene-stad-groot", "groene-stad-groot"),
    ],
)
def test_resolve_matches_slug_or_name_whatever_the_case_accents_and_separators(
    shipped: Database, query: str, slug: str
) -> None:
    assert resolve(shipped, query) == slug


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("voorsp", "voorspellen"),
        ("Gebied", "gebiedsontwikkeling"),
        ("groene stad k", "groene-stad-klein"),
    ],
)
def test_resolve_accepts_a_unique_prefix(shipped: Database, query: str, slug: str) -> None:
    assert resolve(shipped, query) == slug


def test_an_ambiguous_prefix_raises_community_not_found_listing_both(shipped: Database) -> None:
    error = not_found(shipped, "groene")
    assert error.suggestions == ["groene-stad-groot", "groene-stad-klein"]


def test_an_exact_match_wins_over_a_longer_name_with_the_same_start(db: Database) -> None:
    add_community(db, "data", name="Data")
    add_community(db, "data-delen", name="Data delen")
    assert resolve(db, "data") == "data"
    assert resolve(db, "data d") == "data-delen"


def test_a_typo_suggests_the_closest_community(shipped: Database) -> None:
    assert not_found(shipped, "etiek").suggestions == ["ethiek"]


def test_a_typo_in_a_name_suggests_by_slug(shipped: Database) -> None:
    assert not_found(shipped, "lokal meeten").suggestions == ["lokaal-meten"]


@pytest.mark.parametrize("query", ["xqzzyv", "", "   ", "--"])
def test_gibberish_or_nothing_suggests_nothing(shipped: Database, query: str) -> None:
    assert not_found(shipped, query).suggestions == []


def test_resolve_in_an_empty_database_suggests_nothing(db: Database) -> None:
    assert not_found(db, "ethiek").suggestions == []


def test_resolve_for_update_returns_the_same_community_in_a_write(shipped: Database) -> None:
    with shipped.write() as session:
        community = communities.resolve(session, "Éthiek", for_update=True)
        assert community.slug == "ethiek"


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Lokaal-Méten", "lokaalmeten"), ("groene_stad klein", "groenestadklein"), ("ÉÇÅ", "eca")],
)
def test_normalise_folds_case_accents_and_separators(text: str, folded: str) -> None:
    assert communities.normalise(text) == folded


# --- the list ---------------------------------------------------------------------------


def _by_slug(db: Database, now: dt.datetime = NOW) -> dict[str, CommunitySummary]:
    with db.read() as session:
        return {s.slug: s for s in communities.list_communities(session, now=now, tz=AMS)}


def test_list_communities_gives_every_community_ordered_by_programme_and_name(
    shipped: Database,
) -> None:
    with shipped.read() as session:
        listed = communities.list_communities(session, now=NOW, tz=AMS)
    assert [s.slug for s in listed] == [
        "ethiek",
        "gebiedsontwikkeling",
        "lokaal-meten",
        "voorspellen",
        "groene-stad-groot",
        "groene-stad-klein",
    ]


def test_list_communities_gives_counts_and_free_seats(db: Database) -> None:
    add_community(db, "vol", capacity=2)
    add_community(db, "open")
    for user in ("U1", "U2", "U3", "U4"):
        with db.write() as session:
            membership.join(session, query="vol", user_id=user, now=NOW, tz=AMS)
    with db.write() as session:
        membership.join(session, query="open", user_id="U1", now=NOW, tz=AMS)
    listed = _by_slug(db)
    assert (listed["vol"].member_count, listed["vol"].waitlist_count) == (2, 2)
    assert (listed["vol"].capacity, listed["vol"].free_seats) == (2, 0)
    assert (listed["open"].member_count, listed["open"].waitlist_count) == (1, 0)
    assert (listed["open"].capacity, listed["open"].free_seats) == (None, None)


def test_free_seats_count_down_as_people_join(db: Database) -> None:
    add_community(db, "proef", capacity=25)
    assert _by_slug(db)["proef"].free_seats == 25
    with db.write() as session:
        membership.join(session, query="proef", user_id="U1", now=NOW, tz=AMS)
    assert _by_slug(db)["proef"].free_seats == 24


def test_list_communities_gives_the_next_upcoming_meeting(shipped: Database) -> None:
    listed = _by_slug(shipped)
    nxt = listed["ethiek"].next_meeting
    assert nxt is not None
    assert nxt.starts_at == dt.datetime(2027, 3, 30, 12, 0, tzinfo=UTC)
    assert nxt.title == "Startbijeenkomst"
    assert nxt.cancelled is False
    groen = listed["groene-stad-klein"].next_meeting
    assert groen is not None
    assert groen.starts_at.astimezone(AMS) == dt.datetime(2027, 3, 25, 10, 0, tzinfo=AMS)


def test_the_next_meeting_skips_meetings_already_started(shipped: Database) -> None:
    # Ten minutes after the start of the first Ethiek meeting.
    now = dt.datetime(2027, 3, 30, 12, 10, tzinfo=UTC)
    nxt = _by_slug(shipped, now)["ethiek"].next_meeting
    assert nxt is not None
    assert nxt.starts_at.astimezone(AMS).date() == dt.date(2027, 4, 20)


def test_a_meeting_starting_right_now_is_still_the_next_one(shipped: Database) -> None:
    now = dt.datetime(2027, 3, 30, 12, 0, tzinfo=UTC)
    nxt = _by_slug(shipped, now)["ethiek"].next_meeting
    assert nxt is not None
    assert nxt.starts_at == now


def test_after_the_last_meeting_there_is_no_next_one(shipped: Database) -> None:
    after = dt.datetime(2028, 1, 1, tzinfo=UTC)
    assert all(s.next_meeting is None for s in _by_slug(shipped, after).values())


def test_the_next_meeting_skips_cancelled_meetings(db: Database) -> None:
    first = dt.datetime(2027, 1, 10, 13, 0, tzinfo=UTC)
    second = dt.datetime(2027, 2, 10, 13, 0, tzinfo=UTC)
    add_community(db, "proef", meetings=(meeting(first, key="een"), meeting(second, key="twee")))
    assert _by_slug(db)["proef"].next_meeting is not None
    # Dropping "een" from the catalogue cancels it.
    add_community(db, "proef", meetings=(meeting(second, key="twee"),))
    nxt = _by_slug(db)["proef"].next_meeting
    assert nxt is not None
    assert nxt.key == "twee"


def test_next_meetings_are_per_community_even_at_the_same_time(db: Database) -> None:
    same = dt.datetime(2027, 1, 10, 13, 0, tzinfo=UTC)
    add_community(db, "een", meetings=(meeting(same, key="a"),))
    add_community(db, "twee", meetings=(meeting(same, key="b"),))
    nexts = {slug: s.next_meeting for slug, s in _by_slug(db).items()}
    keys = {slug: m.key if m else None for slug, m in nexts.items()}
    assert keys == {"een": "a", "twee": "b"}


def test_info_gives_description_facilitators_and_upcoming_meetings_only(db: Database) -> None:
    past = dt.datetime(2026, 10, 1, 13, 0, tzinfo=UTC)
    future = dt.datetime(2027, 1, 10, 13, 0, tzinfo=UTC)
    add_community(
        db,
        "proef",
        description="Waar het over gaat.",
        facilitators=("UFAC1",),
        meetings=(meeting(past, key="was"), meeting(future, key="komt")),
    )
    with db.read() as session:
        detail = communities.info(session, query="Proef", now=NOW, tz=AMS)
    assert detail.description == "Waar het over gaat."
    assert detail.facilitators == ("UFAC1",)
    assert [m.key for m in detail.meetings] == ["komt"]
    assert detail.summary.slug == "proef"
