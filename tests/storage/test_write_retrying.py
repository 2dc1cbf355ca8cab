"""A wide write that PostgreSQL picks as a deadlock's victim runs again from the start."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage.db import Database

# PostgreSQL raises these exactly as it does for a real deadlock or serialisation failure.
RAISE = "DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{code}'; END $$"


@pytest.fixture
def pg(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: no deadlocks to retry")
    return db


@pytest.mark.parametrize("code", ["40P01", "40001"])
def test_a_deadlock_victim_is_run_again_and_its_first_attempt_left_nothing(
    pg: Database, code: str
) -> None:
    with pg.write() as session:
        session.execute(text("CREATE TABLE retry_probe (n int)"))
    attempts: list[int] = []

    def work(session: Session) -> str:
        attempts.append(1)
        session.execute(text("INSERT INTO retry_probe VALUES (:n)"), {"n": len(attempts)})
        if len(attempts) == 1:
            session.execute(text(RAISE.format(code=code)))
        return "done"

    assert pg.write_retrying(work) == "done"
    assert len(attempts) == 2
    with pg.read() as session:
        assert session.scalars(text("SELECT n FROM retry_probe")).all() == [2]


def test_it_gives_up_after_its_attempts_and_other_errors_are_not_retried(pg: Database) -> None:
    calls: list[str] = []

    def deadlocked(session: Session) -> None:
        calls.append("deadlock")
        session.execute(text(RAISE.format(code="40P01")))

    def broken(session: Session) -> None:
        calls.append("broken")
        session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DBAPIError):
        pg.write_retrying(deadlocked, attempts=3)
    with pytest.raises(DBAPIError):
        pg.write_retrying(broken)
    assert calls == ["deadlock"] * 3 + ["broken"]
