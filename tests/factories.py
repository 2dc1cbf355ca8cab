"""Builders for test data, going through the same catalogue code as production."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from bot.services import catalog
from bot.services.catalog import CommunitySpec, MeetingSpec
from storage.db import Database
from tests.conftest import NOW


def meeting(
    starts: dt.datetime,
    *,
    key: str | None = None,
    kind: str = "online",
    location: str | None = None,
    title: str | None = None,
    hours: int = 2,
) -> MeetingSpec:
    return MeetingSpec(
        key=key or starts.isoformat(),
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=hours),
        kind=kind,
        location=location,
        title=title,
    )


def add_community(
    db: Database,
    slug: str = "test-cop",
    *,
    name: str | None = None,
    programme: str = "Testprogramma",
    description: str = "Over deze community.",
    capacity: int | None = None,
    deadline: dt.date | None = None,
    approval: bool = False,
    channel: str | None = None,
    facilitators: tuple[str, ...] = (),
    meetings: tuple[MeetingSpec, ...] = (),
    now: dt.datetime = NOW,
) -> None:
    spec = CommunitySpec(
        slug=slug,
        name=name or slug.replace("-", " ").title(),
        programme=programme,
        description=description,
        capacity=capacity,
        registration_deadline=deadline,
        approval=approval,
        channel=channel,
        facilitators=facilitators,
        reminders=None,
        meetings=meetings,
    )
    with db.write() as session:
        catalog.apply(session, [spec], now=now)


def load_shipped_catalog(db: Database, *, now: dt.datetime = NOW) -> None:
    from zoneinfo import ZoneInfo

    with db.write() as session:
        catalog.load_file(session, catalog.DEFAULT_CATALOG, ZoneInfo("Europe/Amsterdam"), now=now)


class LockHolder(threading.Event):
    """Set it to make the holder let go; `held` says whether it still holds the lock."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = threading.Event()

    @property
    def held(self) -> bool:
        return not self.let_go.is_set()


@contextmanager
def write_lock_held(db: Database) -> Iterator[LockHolder]:
    """Another writer holds the communities' rows (on SQLite: the whole database) until
    the block ends or the event it yields is set (at most 30 s, so a test that forgets
    fails instead of hanging)."""
    holding, release = threading.Event(), LockHolder()

    def hold() -> None:
        try:
            with db.write() as session:
                session.execute(text("UPDATE communities SET name = name"))
                holding.set()
                release.wait(30)
        finally:
            release.let_go.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)
    try:
        yield release
    finally:
        release.set()
        holder.join()
