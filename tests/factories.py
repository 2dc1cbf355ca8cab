"""Builders for test data, going through the same catalogue code as production."""

from __future__ import annotations

import datetime as dt

from bot.services import catalog
from bot.services.catalog import CommunitySpec, MeetingSpec
from storage.db import Database


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
        catalog.apply(session, [spec])


def load_shipped_catalog(db: Database) -> None:
    from zoneinfo import ZoneInfo

    with db.write() as session:
        catalog.load_file(session, catalog.DEFAULT_CATALOG, ZoneInfo("Europe/Amsterdam"))
