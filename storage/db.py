"""Engines and sessions: SQLite tuned for concurrency, PostgreSQL, read and write sessions."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.joins import JoinStatements

SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """Accept the URL forms people paste (postgres://, postgresql://) and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # A write transaction takes SQLite's write lock up front; a deferred one that
        # read first and wrote later could fail at once with SQLITE_BUSY under load.
        if conn.get_execution_options().get("cop_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 10}}
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("use a SQLite file, not an in-memory database: processes share it")
        engine = create_engine(url, pool_size=pool_size, max_overflow=40, pool_timeout=2, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Short timeouts: a request must be answered within Slack's 3 seconds, and an
    # apology in time beats a silent timeout.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=40,
        pool_timeout=2,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 2},
    )


class _SQLiteWriteLock:
    """Writers queue here, not in SQLite's busy handler, which sleeps in steps of up to
    100 ms: threads of this process on a lock, processes on an flock of a file beside
    the database. Both wake the next writer the moment the lock is free."""

    def __init__(self, database: str) -> None:
        self._thread_lock = threading.Lock()
        self._path = database + ".write-lock"
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


class Database:
    """One engine and two kinds of transaction: reads, and writes that take locks early."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(cop_write=True), expire_on_commit=False
        )
        self._write_lock: AbstractContextManager[Any] = (
            _SQLiteWriteLock(make_url(self.url).database or "") if self.is_sqlite else nullcontext()
        )
        # Called after each committed write, e.g. to drop cached reads.
        self.after_write: list[Callable[[], None]] = []

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read.begin() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on leaving; on SQLite writers queue for it first."""
        with self._write_lock, self._write.begin() as session:
            yield session
        for hook in self.after_write:
            hook()

    @contextmanager
    def raw_write(self) -> Iterator[Any]:
        """A write transaction on the driver's own cursor, for the few writes whose cost
        under the write lock matters (see storage/joins.py); same locking and hooks as
        `write`. Rolled back if the block raises."""
        with self._write_lock:
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                if self.is_sqlite:
                    cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield cursor
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
            finally:
                connection.close()  # back to the pool
        for hook in self.after_write:
            hook()

    @cached_property
    def integrity_errors(self) -> type[Exception]:
        """The driver's IntegrityError, as raised inside `raw_write`."""
        error: type[Exception] = self.engine.dialect.loaded_dbapi.IntegrityError
        return error

    @cached_property
    def joins(self) -> JoinStatements:
        return JoinStatements(self.engine.dialect)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def null_pool_engine(url: str) -> Engine:
    """An engine without pooling, for one-off work such as migrations."""
    return create_engine(normalise_url(url), poolclass=NullPool)
