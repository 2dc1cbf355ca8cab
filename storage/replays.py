"""Signed requests already served: one insert-or-conflict per request, and their expiry."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from storage.models import SeenRequest

if TYPE_CHECKING:
    from storage.db import Database

_REMEMBER = """
INSERT INTO seen_requests (key, seen_at) VALUES (%(key)s, %(now)s)
ON CONFLICT (key) DO NOTHING
"""
_FORGET = "DELETE FROM seen_requests WHERE seen_at < %(before)s"


class SeenRequests:
    """The keys of requests served, shared by every process on the database. It is one
    write per request on the hot path, so it goes on the driver's cursor, as joins do."""

    def __init__(self, database: Database) -> None:
        db = self.db = database.seen_requests_db  # on SQLite a file of its own

        def own(sql: str) -> str:  # psycopg's %(name)s; sqlite3's :name
            return re.sub(r"%\((\w+)\)s", r":\1", sql) if db.is_sqlite else sql

        self._remember, self._forget = own(_REMEMBER), own(_FORGET)
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
        """Record `key` as seen at `now`: True when it is new, False when it was there.
        With `forget_before`, rows seen before then are deleted first. On SQLite, with
        `wait`, raises WriteBusy (nothing written) when the lock is not had in time; on
        PostgreSQL a lock is waited for at most a second (Database.autocommit_engine)."""
        params = {"key": key, "now": self._time(now)}
        if not self.db.is_sqlite:
            # One statement in autocommit (Database.autocommit_engine): the insert races
            # only a simultaneous copy of the same request, for its own key.
            connection = self.db.autocommit_engine.raw_connection()
            try:
                cursor = connection.cursor()
                if forget_before is not None:
                    cursor.execute(self._forget, {"before": self._time(forget_before)})
                cursor.execute(self._remember, params)
                return bool(cursor.rowcount == 1)
            finally:
                connection.close()
        # SQLite: a file of its own, whose one lock only these writes take. Nothing cached
        # reads this table: other caches stay as they are.
        with self.db.raw_write(wait=wait, hooks=False) as cursor:
            if forget_before is not None:
                cursor.execute(self._forget, {"before": self._time(forget_before)})
            cursor.execute(self._remember, params)
            return bool(cursor.rowcount == 1)

    def count(self) -> int:
        """How many keys are kept."""
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(SeenRequest)).scalar_one())

    def forget(self, *, before: dt.datetime) -> int:
        """Delete the rows seen before `before`; returns how many went."""
        with self.db.raw_write(hooks=False) as cursor:
            cursor.execute(self._forget, {"before": self._time(before)})
            return int(cursor.rowcount)
