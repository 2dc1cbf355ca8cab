"""Backups of a SQLite database, and restoring one into a fresh database.

A backup is taken with SQLite's online backup API (`sqlite3.Connection.backup`): a
consistent copy, safe while the bot runs and writes. It is one self-contained file (no
-wal beside it), written under a temporary name and renamed when complete. PostgreSQL
has its own tools for this (pg_dump, pg_restore); see README.md, "Backups".
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from storage import migrate
from storage.db import normalise_url

PG_DUMP = 'pg_dump -Fc "${DATABASE_URL/+psycopg/}" > cop.dump'
PG_RESTORE = 'pg_restore --clean --no-owner -d "${DATABASE_URL/+psycopg/}" cop.dump'


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class Restored:
    path: Path
    from_revision: str | None
    revision: str | None


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL; BackupError for PostgreSQL (use pg_dump/pg_restore)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            "DATABASE_URL is a PostgreSQL database: back it up with pg_dump and restore it "
            f"with pg_restore ({PG_DUMP}; {PG_RESTORE})"
        )
    if parsed.database in (None, "", ":memory:"):
        raise BackupError("DATABASE_URL names no SQLite file")
    return Path(parsed.database)


def backup(url: str, target: Path) -> str | None:
    """Copy the SQLite database at `url` to `target` (which must not exist yet), while
    the bot may be running. Returns the backup's schema revision."""
    source = sqlite_path(url)
    if not source.exists():
        raise BackupError(f"there is no database at {source} to back up")
    if target.exists():
        raise BackupError(f"{target} already exists; give a new file name for the backup")
    partial = target.with_name(target.name + ".partial")
    try:
        with (
            contextlib.closing(sqlite3.connect(source)) as src,
            contextlib.closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)
            # One self-contained file: no write-ahead log beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
            _check(dst, partial)
            revision = _revision(dst)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"could not back up {source}: {exc}") from None
    except OSError as exc:
        raise BackupError(f"could not write {target}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return revision


def restore(backup_file: Path, url: str) -> Restored:
    """Put the backup into the SQLite database at `url`, which must hold no data yet,
    then migrate it to the newest schema (a backup may be older than this code)."""
    target = sqlite_path(url)
    if not backup_file.is_file():
        raise BackupError(f"there is no backup at {backup_file}")
    try:
        with contextlib.closing(sqlite3.connect(backup_file)) as src:
            _check(src, backup_file)
            from_revision = _revision(src)
            if from_revision is None:
                raise BackupError(f"{backup_file} is no cop-bot database (no schema revision)")
            if from_revision not in _known_revisions():
                raise BackupError(
                    f"{backup_file} is at schema revision {from_revision}, which this "
                    "version of cop-bot does not know: restore it with a newer cop-bot"
                )
            rows = _rows_in(target)
            if rows:
                raise BackupError(
                    f"the database at {target} already holds data ({rows}); restore into "
                    "a new, empty database (point DATABASE_URL at a new file) or move it "
                    "aside first"
                )
            with contextlib.closing(sqlite3.connect(target)) as dst:
                src.backup(dst)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup_file} is not a readable SQLite database ({exc})") from None
    migrate.upgrade(url)
    return Restored(target, from_revision, migrate.current(url))


def _check(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchone()
    if not result or result[0] != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result}")


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table
        return None
    return str(row[0]) if row else None


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite:///unused.db"))
    return {rev.revision for rev in script.walk_revisions()}


def _rows_in(path: Path) -> str:
    """What the database at `path` holds besides its schema revision, e.g. "3 rows in
    communities, 12 rows in memberships"; "" when it does not exist or is empty."""
    if not path.exists() or path.stat().st_size == 0:
        return ""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version' ORDER BY name"
            )
        ]
        found = []
        for table in tables:
            (count,) = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            if count:
                found.append(f"{count} {'row' if count == 1 else 'rows'} in {table}")
    return ", ".join(found)
