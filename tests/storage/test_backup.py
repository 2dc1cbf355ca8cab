"""`cop-bot db backup` and `db restore` as real commands: a SQLite backup taken while the
bot writes restores, row for row, into a fresh database; PostgreSQL is pointed to
pg_dump and pg_restore."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from bot.services import questions
from storage import migrate
from storage.db import Database
from tests.conftest import NOW
from tests.e2e.test_serve import COP_BOT, _env
from tests.factories import add_community, meeting
from tests.services.reminder_support import join

# The newest migration: a new one makes these tests say so, on purpose.
HEAD = "0012"
# An older schema that the factories can still fill (the audit log came with 0008).
OLDER = "0008"


def _cop_bot(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COP_BOT), *args],
        env=_env(DATABASE_URL=database_url, HOME=str(tmp_path)),
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order."""
    with sqlite3.connect(path) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def _fill(db: Database) -> None:
    add_community(
        db, "ethiek", channel="C0ETHIEK", facilitators=("UFAC",),
        meetings=(meeting(NOW.replace(year=2027)), meeting(NOW.replace(year=2028), key="later")),
    )  # fmt: skip
    add_community(db, "data", capacity=2)
    join(db, "ethiek", [f"U{i:03d}" for i in range(20)], NOW)
    join(db, "data", ["U001", "U002", "U003"], NOW)  # the third is on the waitlist
    with db.write() as session:
        for n in range(5):
            questions.ask(
                session, query="ethiek", user_id=f"U{n:03d}", text=f"Vraag {n}: hoe 'dan'?",
                admins=(), now=NOW,
            )  # fmt: skip


def test_a_backup_taken_while_the_bot_writes_restores_into_a_fresh_database_row_for_row(
    tmp_path: Path,
) -> None:
    live = tmp_path / "live.db"
    url = f"sqlite:///{live}"
    migrate.upgrade(url)
    db = Database(url)
    _fill(db)
    # The bot goes on writing: one language choice per transaction, in order.
    written: list[int] = []
    stop = threading.Event()
    started = threading.Event()

    def writer() -> None:
        from storage.models import UserSetting

        n = 0
        while not stop.is_set():
            with db.write() as session:
                session.add(UserSetting(user_id=f"W{n:06d}", language="en"))
            written.append(n)
            n += 1
            if n == 20:
                started.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(30)
        before = len(written)
        result = _cop_bot(tmp_path, url, "db", "backup", "cop-backup.db")
        during = len(written) - before
    finally:
        stop.set()
        thread.join(30)
    db.dispose()

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"database backed up to cop-backup.db (schema revision {HEAD})\n"
    assert during > 0  # the writer was busy all through the backup
    backup_file = tmp_path / "cop-backup.db"
    assert not (tmp_path / "cop-backup.db-wal").exists()  # one self-contained file

    fresh = tmp_path / "restored" / "cop.db"
    fresh.parent.mkdir()
    restored = _cop_bot(tmp_path, f"sqlite:///{fresh}", "db", "restore", "cop-backup.db")

    assert restored.returncode == 0, restored.stderr
    assert restored.stdout == f"cop-backup.db restored into {fresh} (schema revision {HEAD})\n"
    source, copy = _rows(live), _rows(fresh)
    assert copy == _rows(backup_file)
    # Everything but the writer's table is as it was, row for row ...
    for table in source.keys() - {"user_settings"}:
        assert copy[table] == source[table], table
    assert len(copy["communities"]) == 2
    assert len(copy["memberships"]) == 23
    assert len(copy["meetings"]) == 2
    assert len(copy["questions"]) == 5
    # ... and the writer's rows are those committed before the backup's moment: a prefix
    # of what it wrote, with no gap and no half-written row.
    settings = [row[0] for row in copy["user_settings"]]
    assert settings == [f"W{n:06d}" for n in range(len(settings))]
    assert before <= len(settings) <= len(written)


def test_restore_refuses_a_database_that_already_holds_data_and_leaves_it_alone(
    tmp_path: Path,
) -> None:
    first = tmp_path / "first.db"
    migrate.upgrade(f"sqlite:///{first}")
    db = Database(f"sqlite:///{first}")
    add_community(db, "ethiek")
    db.dispose()
    assert _cop_bot(tmp_path, f"sqlite:///{first}", "db", "backup", "b.db").returncode == 0
    busy = tmp_path / "busy.db"
    migrate.upgrade(f"sqlite:///{busy}")
    db = Database(f"sqlite:///{busy}")
    add_community(db, "data")
    db.dispose()
    before = _rows(busy)

    result = _cop_bot(tmp_path, f"sqlite:///{busy}", "db", "restore", "b.db")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        # Loading a community writes its audit entry too.
        f"cop-bot: the database at {busy} already holds data (1 row in audit_log, 1 row in "
        "communities); "
        "restore into a new, empty database (point DATABASE_URL at a new file) or move it "
        "aside first"
    ]
    assert _rows(busy) == before


def test_a_backup_of_an_older_schema_is_migrated_after_the_restore(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    migrate.upgrade(f"sqlite:///{old}", OLDER)
    db = Database(f"sqlite:///{old}")
    add_community(db, "ethiek")
    db.dispose()
    assert _cop_bot(tmp_path, f"sqlite:///{old}", "db", "backup", "old-backup.db").returncode == 0
    fresh = tmp_path / "fresh.db"

    result = _cop_bot(tmp_path, f"sqlite:///{fresh}", "db", "restore", "old-backup.db")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"old-backup.db restored into {fresh} (schema revision {HEAD}, upgraded from {OLDER})\n"
    )
    assert migrate.current(f"sqlite:///{fresh}") == HEAD
    assert [row[1] for row in _rows(fresh)["communities"]] == ["ethiek"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("db", "backup", "existing.db"), "existing.db already exists; give a new file name"),
        (("db", "restore", "missing.db"), "there is no backup at missing.db"),
        (("db", "restore", "notes.txt"), "notes.txt is not a readable SQLite database"),
    ],
)
def test_a_backup_or_restore_that_cannot_be_done_says_why_in_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'cop.db'}"
    migrate.upgrade(url)
    (tmp_path / "existing.db").write_bytes(b"an earlier backup")
    (tmp_path / "notes.txt").write_text("no database" * 100)

    result = _cop_bot(tmp_path, url, *args)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"cop-bot: {message}")
    assert (tmp_path / "existing.db").read_bytes() == b"an earlier backup"


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_for_postgresql_backup_and_restore_point_to_pg_dump_and_pg_restore(
    tmp_path: Path, command: str
) -> None:
    result = _cop_bot(
        tmp_path, "postgresql+psycopg://cop@db.example.org/cop", "db", command, "cop.dump"
    )

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("cop-bot: DATABASE_URL is a PostgreSQL database: back it up with")
    assert "pg_dump -Fc" in line
    assert "pg_restore --clean --no-owner -d" in line
    assert not (tmp_path / "cop.dump").exists()
