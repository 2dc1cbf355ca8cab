"""Engines and sessions: SQLite tuned for concurrency, PostgreSQL, read and write sessions."""

from __future__ import annotations

import fcntl
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.errors import WriteBusy
from storage.group_commit import GroupCommit
from storage.models import SeenRequest

__all__ = ["Database", "WriteBusy", "make_engine", "normalise_url", "null_pool_engine"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")
# PostgreSQL's codes for "deadlock detected" and "could not serialize access".
_RETRY_STATES = frozenset({"40P01", "40001"})
# PostgreSQL's code for "lock_timeout reached".
_LOCK_NOT_AVAILABLE = "55P03"


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
        self.acquire(None)

    def acquire(self, wait: float | None) -> None:
        """Take the lock, waiting at most `wait` seconds (None: as long as it takes);
        raises WriteBusy when it did not come in time."""
        deadline = None if wait is None else time.monotonic() + wait
        if not self._thread_lock.acquire(timeout=-1 if wait is None else wait):
            raise WriteBusy()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            if deadline is None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
                return
            # Another process holds it: flock cannot wait with a timeout, so ask often.
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise WriteBusy() from None
                    time.sleep(0.001)
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
    def write(self, *, wait: float | None = None) -> Iterator[Session]:
        """A write transaction, committed on leaving; on SQLite writers queue for it first.
        With `wait`, raises WriteBusy (nothing written) when the lock is not had within
        that many seconds (on PostgreSQL: a row lock a statement waits for)."""
        if wait is None:
            with self._write_lock, self._write.begin() as session:
                yield session
        else:
            with self._bounded_write(wait) as session:
                yield session
        for hook in self.after_write:
            hook()

    @contextmanager
    def _bounded_write(self, wait: float) -> Iterator[Session]:
        if isinstance(self._write_lock, _SQLiteWriteLock):
            self._write_lock.acquire(wait)
        else:
            self._write_lock.__enter__()
        try:
            if self.is_sqlite:
                with self._bounded_engine.connect() as connection:
                    # Before BEGIN IMMEDIATE: a writer that does not queue on our lock is
                    # waited for by SQLite's busy handler (see raw_write).
                    pooled = connection.connection
                    self._bound_busy_timeout(pooled.dbapi_connection, pooled.info, wait)
                    bind = connection.execution_options(cop_write=True)
                    with Session(bind, expire_on_commit=False) as session, session.begin():
                        yield session
            else:
                with self._write.begin() as session:
                    self.bound_session_lock_wait(session, wait)
                    yield session
        except DBAPIError as exc:
            if self.is_lock_timeout(exc):
                raise WriteBusy() from exc
            raise
        finally:
            self._write_lock.__exit__(None, None, None)

    @staticmethod
    def _bound_busy_timeout(dbapi_connection: Any, info: dict[Any, Any], wait: float) -> None:
        # In steps of 100 ms, so that the setting rarely has to change.
        busy_ms = max(100, math.ceil(wait * 10) * 100)
        if info.get("busy_ms") != busy_ms:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            finally:
                cursor.close()
            info["busy_ms"] = busy_ms

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """Whether `exc` says a lock did not come in time: PostgreSQL's lock_timeout, or
        SQLite's busy handler giving up (under a bounded wait)."""
        orig = getattr(exc, "orig", exc)
        return getattr(orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE or (
            self.is_sqlite and getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
        )

    def bound_session_lock_wait(self, session: Session, seconds: float) -> None:
        """PostgreSQL: in the write transaction of `session`, give up waiting for a row
        lock after `seconds` (WriteBusy). SQLite: nothing; its one lock is had up front."""
        if not self.is_sqlite:
            session.execute(text(f"SET LOCAL lock_timeout = {max(1, int(seconds * 1000))}"))

    def write_retrying(self, work: Callable[[Session], T], *, attempts: int = 3) -> T:
        """`work` in a write transaction, run again from the start (at most `attempts`
        times) when PostgreSQL chose it as a deadlock's victim or could not serialise it:
        for a wide write (forgetting a person touches many tables) that meets others in
        another order. Nothing of a failed attempt is kept."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as session:
                    return work(session)
            except DBAPIError as exc:
                code = getattr(exc.orig, "sqlstate", None)
                if code not in _RETRY_STATES or attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def raw_write(self, *, wait: float | None = None, hooks: bool = True) -> Iterator[Any]:
        """A write transaction on the driver's own cursor, for the few writes whose cost
        under the write lock matters (storage/replays.py); same locking and hooks as
        `write`. Rolled back if the block raises. With `wait`, raises WriteBusy (nothing
        written) when the lock is not had within that many seconds. Without `hooks`, the
        after-write hooks are not called: for a write that changes nothing anyone caches."""
        if wait is None:
            self._write_lock.__enter__()
        elif isinstance(self._write_lock, _SQLiteWriteLock):
            self._write_lock.acquire(wait)
        try:
            bounded = wait is not None and self.is_sqlite
            connection = (self._bounded_engine if bounded else self.engine).raw_connection()
            try:
                cursor = connection.cursor()
                try:
                    if bounded:
                        # A writer that does not queue on our lock (another program, a
                        # migration) is waited for by SQLite's busy handler: bound it too,
                        # in steps of 100 ms so that the setting rarely has to change.
                        self._bound_busy_timeout(connection, connection.info, wait or 0)
                    if self.is_sqlite:
                        cursor.execute("BEGIN IMMEDIATE")
                    elif wait is not None:
                        self.bound_lock_wait(cursor, wait)
                    yield cursor
                except BaseException as exc:
                    connection.rollback()
                    if getattr(exc, "sqlstate", None) == _LOCK_NOT_AVAILABLE or (
                        bounded and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
                    ):
                        raise WriteBusy() from exc
                    raise
                connection.commit()
            finally:
                connection.close()  # back to the pool
        finally:
            self._write_lock.__exit__(None, None, None)
        for hook in self.after_write if hooks else ():
            hook()

    def bound_lock_wait(self, cursor: Any, seconds: float) -> None:
        """PostgreSQL: in the raw write transaction of `cursor`, give up waiting for a row
        lock after `seconds` (WriteBusy). SQLite: nothing; its one lock is had up front."""
        if not self.is_sqlite:
            cursor.execute(f"SET LOCAL lock_timeout = {max(1, int(seconds * 1000))}")

    @cached_property
    def _bounded_engine(self) -> Engine:
        """SQLite connections kept for `raw_write(wait=...)`: their busy timeout is that
        wait, so the others keep the long one."""
        return make_engine(self.url, pool_size=self.engine.pool.size())  # type: ignore[attr-defined]

    @cached_property
    def group_commit(self) -> GroupCommit:
        """Writes of this process that arrive together, written in one transaction (the
        joins, see storage/group_commit.py)."""
        return GroupCommit(self)

    @cached_property
    def seen_requests_db(self) -> Database:
        """Where the edge keeps the keys of requests served (storage/replays.py), one write
        for every request. PostgreSQL: this database (the insert takes only its own row's
        lock). SQLite: a file of its own beside this one (`<file>.seen`), with a write lock
        of its own, so that no request, a read included, waits at the edge for the one write
        lock of the database file while another write holds it."""
        if not self.is_sqlite:
            return self
        url = make_url(self.url)
        sidecar = Database(str(url.set(database=f"{url.database}.seen")), pool_size=2)
        # Under the sidecar's write lock: workers booting at once would otherwise both
        # look for the table and both create it, and one fails with "database is locked".
        with sidecar._write_lock:
            SeenRequest.metadata.create_all(sidecar.engine, tables=[SeenRequest.__table__])  # type: ignore[list-item]
        return sidecar

    @cached_property
    def autocommit_engine(self) -> Engine:
        """PostgreSQL connections in autocommit, for one-statement writes on the hot path
        (the edge's replay keys): one round trip each instead of BEGIN, the statement and
        COMMIT. No disk flush per commit (a crash loses at most the last few writes, which
        must be fine for what goes here), and a lock is waited for at most a second."""
        return create_engine(
            self.url,
            isolation_level="AUTOCOMMIT",
            pool_size=self.engine.pool.size(),  # type: ignore[attr-defined]
            max_overflow=40,
            pool_timeout=2,
            connect_args={
                "connect_timeout": 2,
                "options": "-c synchronous_commit=off -c lock_timeout=1000",
            },
        )

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        if "_bounded_engine" in self.__dict__:
            self._bounded_engine.dispose()
        if "autocommit_engine" in self.__dict__:
            self.autocommit_engine.dispose()
        sidecar = self.__dict__.get("seen_requests_db")
        if sidecar is not None and sidecar is not self:
            sidecar.dispose()


def null_pool_engine(url: str) -> Engine:
    """An engine without pooling, for one-off work such as migrations."""
    return create_engine(normalise_url(url), poolclass=NullPool)
