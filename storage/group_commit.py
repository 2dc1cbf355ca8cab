"""Group commit: writes that arrive together, run in one transaction and committed once.

A mechanism without rules. A caller hands over a function of a Session (a service's own
write, such as bot.services.membership.join) and gets its result or its exception, as if
it had run `db.write()` itself. Whoever finds no batch being written becomes the leader:
it takes the write lock, then every write waiting by then, runs each in a SAVEPOINT of
one transaction (so one that raises is undone alone, the others stand; a write alone in
its batch needs no SAVEPOINT: the transaction is undone with it) and commits once.
On SQLite a commit writes whole pages to the log, so ten joins in one commit cost about a
third of the CPU of ten commits (measured), and the write lock changes hands once per
batch, not per write.

A batch runs in the order of arrival, stably sorted by the `order` each write gives (for
joins: the community's id), so that two processes' batches take PostgreSQL's row locks in
the same order and never deadlock. When the commit fails, every write of the batch gets
that error. A write given `wait` gives up with WriteBusy when the lock was not had within
about that long (nothing of it is written); one without waits, and leads again when the
batch it was in gave up for a more hurried one.

The mechanism itself (`Batches`: leader, followers, deadlines) serves one other batch
writer: the edge's replay keys (storage/replays.py), one multi-row INSERT per batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy.orm import Session

from storage.errors import WriteBusy


class Writer(Protocol):
    """What the group commit needs of the database (storage.db.Database is one): named
    here, so that storage.db may build it without an import circle."""

    def write(self, *, wait: float | None = None) -> AbstractContextManager[Session]: ...

    def bound_session_lock_wait(self, session: Session, seconds: float) -> None: ...

    def is_lock_timeout(self, exc: BaseException) -> bool: ...


T = TypeVar("T")
W = TypeVar("W")  # what a batch's writer is handed per request


@dataclass(eq=False)
class _Request(Generic[W]):
    work: W
    order: int
    deadline: float | None  # time.monotonic() by which it gives up; None: it waits
    done: bool = False
    result: Any = None
    error: BaseException | None = None


# A request of a batch, with its result or the exception raised for it.
Outcome = tuple[_Request[W], Any, BaseException | None]


class Batches(Generic[W]):
    """The mechanism: requests of this process that arrive while a batch is being
    written wait for it; whoever finds none being written leads the next, which takes
    every request waiting by the time the write lock is had. Subclasses say how a batch
    is written (`_write_batch`)."""

    MAX_BATCH = 64

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: list[_Request[W]] = []
        self._in_flight = 0
        self._leading = False
        self._batch: list[_Request[W]] = []  # the batch being written (its leader's)
        self._leader_deadline: float | None = None  # and its leader's deadline

    @property
    def waiting(self) -> int:
        """Requests given to this queue and not committed yet."""
        with self._cond:
            return len(self._pending) + self._in_flight

    def _submit(self, work: W, *, wait: float | None, order: int) -> Any:
        """`work`'s result once its batch is written, or the exception raised for it. With
        `wait`, raises WriteBusy when the lock was not had within about that long."""
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            request = _Request(work, order, deadline)
            self._run(request)
            if request.error is None:
                return request.result
            if isinstance(request.error, WriteBusy) and deadline is None:
                continue  # in a batch with a hurried leader that gave up; this one may wait
            raise request.error

    def _run(self, request: _Request[W]) -> None:
        deadline = request.deadline
        with self._cond:
            self._pending.append(request)
            while not request.done:
                if not self._leading:
                    self._leading = True
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    if request in self._pending:
                        self._pending.remove(request)  # not taken into a batch yet: give up
                        request.error = WriteBusy()
                        return
                    left = None  # in a batch being written: its answer comes soon
                self._cond.wait(left)
            else:
                return
        try:
            while not request.done:
                self._lead(request)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()

    def _take(self) -> list[_Request[W]]:
        """The requests waiting now (called by `_write_batch` once the lock is had)."""
        with self._cond:
            batch = self._pending[: self.MAX_BATCH]
            del self._pending[: self.MAX_BATCH]
            self._in_flight = len(batch)
            self._batch = batch
            return batch

    def _lead(self, leader: _Request[W]) -> None:
        wait = None if leader.deadline is None else max(0.0, leader.deadline - time.monotonic())
        self._batch = []
        self._leader_deadline = leader.deadline
        try:
            outcomes = self._write_batch(wait)
            batch = self._batch
        except Exception as exc:
            batch = self._batch  # every request taken gets the error
            if not batch:  # before any request was taken (the lock did not come, no
                # connection): only the leader gets the error, the others lead in turn
                with self._cond:
                    if leader in self._pending:
                        self._pending.remove(leader)
                batch = [leader]
            outcomes = [(r, None, exc) for r in batch]
        with self._cond:
            for r, result, error in outcomes:
                r.result, r.error = result, error
            for r in batch:
                r.done = True
            self._in_flight = 0
            self._cond.notify_all()

    def _write_batch(self, wait: float | None) -> list[Outcome[W]]:
        """Take the write lock (within `wait`), then `_take()` the batch, write it, and
        give each request's result or error. When it raises after `_take()`, every
        request taken gets that error (a failed commit: none of them was written)."""
        raise NotImplementedError


class GroupCommit(Batches[Callable[[Session], Any]]):
    """The writes of this process that arrive together, written together."""

    def __init__(self, db: Writer) -> None:
        super().__init__()
        self.db = db

    def run(self, work: Callable[[Session], T], *, wait: float | None = None, order: int = 0) -> T:
        """`work(session)` in a write transaction shared with the writes waiting beside it;
        its result, or the exception it (or the commit) raised. With `wait`, raises
        WriteBusy when the lock was not had within about that many seconds."""
        return cast(T, self._submit(work, wait=wait, order=order))

    def _write_batch(self, wait: float | None) -> list[Outcome[Callable[[Session], Any]]]:
        """Every write waiting once the lock is had (so that the writes that came while the
        lock was busy go in too), each in a SAVEPOINT of one transaction."""
        outcomes: list[Outcome[Callable[[Session], Any]]] = []
        bounded_until = self._leader_deadline  # `write` bounds the wait by the leader's
        try:
            with self.db.write(wait=wait) as session:
                batch = self._take()
                # On PostgreSQL the wait is for row locks, inside the statements: bound it
                # by the most hurried write of the batch (SQLite's lock is had by now),
                # unless that is the leader's, by which `write` has bound it already.
                deadlines = [r.deadline for r in batch if r.deadline is not None]
                hurried = min(deadlines) if deadlines else None
                if hurried is not None and (bounded_until is None or hurried < bounded_until):
                    self.db.bound_session_lock_wait(session, hurried - time.monotonic())
                if len(batch) == 1:
                    # Alone in its batch, a write needs no SAVEPOINT: the transaction is
                    # its own, and undone as a whole when it raises.
                    try:
                        outcomes.append((batch[0], batch[0].work(session), None))
                    except Exception as exc:
                        outcomes.append((batch[0], None, self._error(exc)))
                        raise _Undone() from exc
                else:
                    for r in sorted(batch, key=lambda r: r.order):
                        try:
                            with session.begin_nested():
                                outcomes.append((r, r.work(session), None))
                        except Exception as exc:
                            outcomes.append((r, None, self._error(exc)))
        except _Undone:
            pass  # rolled back; the write's own error is its outcome
        return outcomes

    def _error(self, exc: Exception) -> BaseException:
        """What a write that raised is told: WriteBusy for a lock that did not come in
        time (PostgreSQL's lock_timeout), else its own exception."""
        if self.db.is_lock_timeout(exc):
            busy = WriteBusy()
            busy.__cause__ = exc
            return busy
        return exc


class _Undone(Exception):
    """Raised out of a one-write batch's transaction so that it is rolled back."""
