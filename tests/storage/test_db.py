"""Engines and sessions: URL forms, refused in-memory SQLite, commits and rollbacks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from storage.db import Database, WriteBusy, make_engine, normalise_url
from storage.models import Community
from tests.factories import write_lock_held


@pytest.mark.parametrize(
    ("pasted", "used"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///cop-bot.db", "sqlite:///cop-bot.db"),
    ],
)
def test_normalise_url_makes_postgres_urls_use_psycopg_3(pasted: str, used: str) -> None:
    assert normalise_url(pasted) == used


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_make_engine_refuses_an_in_memory_sqlite_database(url: str) -> None:
    with pytest.raises(ValueError, match="in-memory"):
        make_engine(url)


def test_database_reports_whether_it_is_sqlite(
    db: Database, request: pytest.FixtureRequest
) -> None:
    # What the test was given (the `db_url` fixture's backend), not what the engine says.
    backend = request.node.callspec.params["db_url"]
    assert db.is_sqlite is {"sqlite": True, "postgresql": False}[backend]
    assert db.ping() is True


def test_ping_is_false_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    missing = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    try:
        assert missing.ping() is False
    finally:
        missing.dispose()


def test_write_commits_when_the_block_ends(db: Database) -> None:
    with db.write() as session:
        session.add(Community(slug="bewaard", name="Bewaard"))
    with db.read() as session:
        assert session.scalars(select(Community.slug)).all() == ["bewaard"]


def test_write_rolls_back_when_the_block_raises(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        session.add(Community(slug="verloren", name="Verloren"))
        session.flush()
        raise RuntimeError("stop")
    with db.read() as session:
        assert session.scalars(select(Community)).all() == []


def test_a_raw_write_that_may_wait_briefly_gives_up_while_another_writer_holds_the_lock(
    db: Database,
) -> None:
    """A write that may wait only briefly gives up (WriteBusy) without writing anything
    while a writer holds the lock longer."""
    with db.write() as session:
        session.add(Community(slug="ethiek", name="Ethiek", programme="P", description=""))
    with write_lock_held(db) as release:
        with pytest.raises(WriteBusy), db.raw_write(wait=0.2) as cursor:
            cursor.execute("UPDATE communities SET name = 'X' WHERE slug = 'ethiek'")
        assert release.held  # it gave up while the other writer still held the lock

    with db.raw_write(wait=0.2) as cursor:  # free again: it goes through at once
        cursor.execute("UPDATE communities SET programme = 'Q' WHERE slug = 'ethiek'")
    with db.read() as session:
        row = session.scalars(select(Community)).one()
    assert (row.name, row.programme) == ("Ethiek", "Q")


def test_a_write_session_that_may_wait_briefly_gives_up_while_another_writer_holds_the_lock(
    db: Database,
) -> None:
    """A join runs in the request's thread only when the lock comes quickly (group commit
    with `wait`): a writer that holds it longer makes it give up without writing."""
    with db.write() as session:
        session.add(Community(slug="ethiek", name="Ethiek", programme="P", description=""))
    with write_lock_held(db) as release:
        with pytest.raises(WriteBusy), db.write(wait=0.2) as session:
            session.execute(text("UPDATE communities SET name = 'X' WHERE slug = 'ethiek'"))
        assert release.held  # it gave up while the other writer still held the lock

    with db.write(wait=0.2) as session:  # free again: it goes through at once
        session.execute(text("UPDATE communities SET programme = 'Q' WHERE slug = 'ethiek'"))
    with db.read() as session:
        community = session.scalars(select(Community)).one()
    assert (community.name, community.programme) == ("Ethiek", "Q")


def _lock_wait_ms(db: Database, execute: Callable[[str], Any]) -> int:
    """The bound the database itself puts on a lock wait in this transaction."""
    if db.is_sqlite:
        return int(execute("PRAGMA busy_timeout"))
    return int(execute("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'"))


@pytest.mark.parametrize("wait", [0.2, 1.0])
def test_a_write_that_may_wait_hands_its_bound_to_the_database(db: Database, wait: float) -> None:
    """How long a bounded write waits for a lock is the database's own setting (SQLite's
    busy timeout, PostgreSQL's lock_timeout), set from `wait`; a plain write keeps the
    long default. (Whether it gives up at all is proven above, with a writer holding the
    lock; this is what it is told.)"""
    with db.write(wait=wait) as session:
        bounded = _lock_wait_ms(db, lambda sql: session.execute(text(sql)).scalar_one())
    with db.raw_write(wait=wait) as cursor:

        def fetch(sql: str) -> Any:
            cursor.execute(sql)
            return cursor.fetchone()[0]

        raw = _lock_wait_ms(db, fetch)
    with db.write() as session:
        plain = _lock_wait_ms(db, lambda sql: session.execute(text(sql)).scalar_one())

    assert bounded == raw == round(wait * 1000)
    assert plain != bounded
