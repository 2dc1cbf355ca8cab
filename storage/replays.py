"""Signed requests already served: an insert-or-conflict per batch of requests, and their expiry."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from storage.group_commit import Batches, Outcome
from storage.models import SeenRequest

if TYPE_CHECKING:
    from storage.db import Database

_FORGET = "DELETE FROM seen_requests WHERE seen_at < %(before)s"


def _remember_sql(count: int) -> str:
    """One INSERT of `count` keys that names the keys it wrote (not those already there)."""
    rows = ", ".join(f"(%(k{i})s, %(t{i})s)" for i in range(count))
    return (
        f"INSERT INTO seen_requests (key, seen_at) VALUES {rows} "
        "ON CONFLICT (key) DO NOTHING RETURNING key"
    )


class SeenRequests(Batches[tuple[bytes, Any]]):
    """The keys of requests served, shared by every process on the database. It is one
    write per request on the hot path, so the keys of requests that arrive together are
    written together (storage/group_commit.py's batches: one lock, one statement, one
    commit), on the driver's cursor, as joins do."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        db = self.db = database.seen_requests_db  # on SQLite a file of its own

        def own(sql: str) -> str:  # psycopg's %(name)s; sqlite3's :name
            return re.sub(r"%\((\w+)\)s", r":\1", sql) if db.is_sqlite else sql

        self._own = own
        self._forget = own(_FORGET)
        self._remember: dict[int, str] = {}
        self._forget_before: Any = None  # set by a caller, done by the next batch
        processor = SeenRequest.__table__.c.seen_at.type.bind_processor(db.engine.dialect)
        self._time = processor or (lambda v: v)

    def remember(
        self,
        key: bytes,
        *,
        now: dt.datetime,
        forget_before: dt.datetime | None = None,
        wait: float | None = None,
    ) -> bool:
        """Record `key` as seen at `now`: True when it is new, False when it was there
        (or came twice in one batch: one copy is new). With `forget_before`, rows seen
        before then are deleted first, by the next batch's writer. On SQLite, with `wait`,
        raises WriteBusy (nothing written) when the lock is not had in time; on PostgreSQL
        a lock is waited for at most a second (Database.autocommit_engine)."""
        if forget_before is not None:
            with self._cond:
                self._forget_before = self._time(forget_before)
        return bool(self._submit((key, self._time(now)), wait=wait, order=0))

    def _write_batch(self, wait: float | None) -> list[Outcome[tuple[bytes, Any]]]:
        if not self.db.is_sqlite:
            # One statement in autocommit (Database.autocommit_engine): the insert races
            # only a simultaneous copy of the same request, for its own key.
            connection = self.db.autocommit_engine.raw_connection()
            try:
                return self._write(connection.cursor())
            finally:
                connection.close()
        # SQLite: a file of its own, whose one lock only these writes take. Nothing cached
        # reads this table: other caches stay as they are.
        with self.db.raw_write(wait=wait, hooks=False) as cursor:
            return self._write(cursor)

    def _write(self, cursor: Any) -> list[Outcome[tuple[bytes, Any]]]:
        batch = self._take()
        with self._cond:
            forget_before, self._forget_before = self._forget_before, None
        if forget_before is not None:
            cursor.execute(self._forget, {"before": forget_before})
        sql = self._remember.get(len(batch))
        if sql is None:
            sql = self._remember[len(batch)] = self._own(_remember_sql(len(batch)))
        params: dict[str, Any] = {}
        # In the keys' order: two processes' batches that share keys (copies of one
        # request) then take PostgreSQL's locks on them in the same order, never crosswise.
        for i, request in enumerate(sorted(batch, key=lambda r: r.work[0])):
            params[f"k{i}"], params[f"t{i}"] = request.work
        cursor.execute(sql, params)
        written = {bytes(row[0]) for row in cursor.fetchall()}
        outcomes: list[Outcome[tuple[bytes, Any]]] = []
        for request in batch:
            key = request.work[0]
            outcomes.append((request, key in written, None))
            written.discard(key)  # a second copy in the same batch is a replay
        return outcomes

    def count(self) -> int:
        """How many keys are kept."""
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(SeenRequest)).scalar_one())

    def forget(self, *, before: dt.datetime) -> int:
        """Delete the rows seen before `before`; returns how many went."""
        with self.db.raw_write(hooks=False) as cursor:
            cursor.execute(self._forget, {"before": self._time(before)})
            return int(cursor.rowcount)
