"""Migrations make the schema the models describe; the column types and SQLite settings hold."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from storage import migrate
from storage.db import Database, null_pool_engine
from storage.models import Base, Community, Meeting, Membership, UTCDateTime
from tests.conftest import _backends, fresh_database_url

AMS = ZoneInfo("Europe/Amsterdam")


def _empty_database_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url = os.environ["TEST_DATABASE_URL"]
    engine = null_pool_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=_backends())
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _empty_database_url(request.param, tmp_path)


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    engine = null_pool_engine(empty_url)
    yield engine
    engine.dispose()


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    assert head is not None
    return head


def _differences(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_on_an_empty_database_creates_every_model_table(
    empty_url: str, engine: Engine
) -> None:
    assert inspect(engine).get_table_names() == []
    migrate.upgrade(empty_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert tables - set(Base.metadata.tables) == {"alembic_version"}


def test_upgrade_stamps_the_head_revision(empty_url: str) -> None:
    assert migrate.current(empty_url) is None
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == _head(empty_url)


def test_upgrading_twice_is_harmless_and_keeps_the_data(empty_url: str, engine: Engine) -> None:
    migrate.upgrade(empty_url)
    database = Database(empty_url)
    try:
        with database.write() as session:
            session.add(Community(slug="blijft", name="Blijft"))
    finally:
        database.dispose()
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == _head(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT slug FROM communities")).scalars().all() == ["blijft"]
    assert _differences(engine, Base.metadata) == []


def test_migrated_schema_matches_the_models(empty_url: str, engine: Engine) -> None:
    migrate.upgrade(empty_url)
    assert _differences(engine, Base.metadata) == []


def test_schema_comparison_notices_a_model_change_without_a_migration(
    empty_url: str, engine: Engine
) -> None:
    # Proves the comparison above has teeth: a column that only the models know
    # about shows up as a difference.
    migrate.upgrade(empty_url)
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["communities"].append_column(Column("colour", String(16)))
    differences = _differences(engine, changed)
    assert len(differences) == 1
    kind, _schema, table_name, column = differences[0]
    assert (kind, table_name, column.name) == ("add_column", "communities", "colour")


@pytest.fixture
def db_with_community(db: Database) -> int:
    with db.write() as session:
        community = Community(slug="tijd", name="Tijd")
        session.add(community)
        session.flush()
        return community.id


def test_utc_datetime_round_trips_an_aware_datetime_as_utc(
    db: Database, db_with_community: int
) -> None:
    summer_afternoon = dt.datetime(2027, 3, 30, 14, 0, tzinfo=AMS)
    with db.write() as session:
        session.add(Meeting(community_id=db_with_community, key="k", starts_at=summer_afternoon))
    with db.read() as session:
        stored = session.scalars(select(Meeting.starts_at)).one()
        raw = session.execute(text("SELECT starts_at FROM meetings")).scalar_one()
    assert stored == summer_afternoon
    assert stored.tzinfo is dt.UTC
    assert stored.hour == 12
    # The column itself holds naive UTC on every database.
    assert str(raw)[:19] == "2027-03-30 12:00:00"


def test_utc_datetime_refuses_a_naive_datetime(db: Database, db_with_community: int) -> None:
    naive = dt.datetime(2027, 3, 30, 14, 0)
    with pytest.raises(StatementError) as caught, db.write() as session:
        session.add(Meeting(community_id=db_with_community, key="k", starts_at=naive))
        session.flush()
    assert isinstance(caught.value.orig, ValueError)
    assert "naive" in str(caught.value.orig)
    with db.read() as session:
        assert session.scalars(select(Meeting)).all() == []


def test_utc_datetime_type_refuses_naive_values_directly(db: Database) -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(dt.datetime(2027, 1, 1), db.engine.dialect)
    assert UTCDateTime().process_bind_param(None, db.engine.dialect) is None


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(fresh_database_url("sqlite", tmp_path))
    yield database
    database.dispose()


def test_sqlite_connections_have_foreign_keys_on_and_wal_journal(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() > 0


def test_sqlite_enforces_foreign_keys(sqlite_db: Database) -> None:
    with pytest.raises(IntegrityError), sqlite_db.write() as session:
        session.add(Membership(community_id=999, user_id="U1", status="member", seq=1))
        session.flush()


def test_deleting_a_community_cascades_to_its_memberships(db: Database) -> None:
    with db.write() as session:
        community = Community(slug="weg", name="Weg")
        session.add(community)
        session.flush()
        session.add(Membership(community_id=community.id, user_id="U1", status="member", seq=1))
    with db.write() as session:
        session.execute(text("DELETE FROM communities"))
    with db.read() as session:
        assert session.scalars(select(Membership)).all() == []
