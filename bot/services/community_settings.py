"""An admin creates a community, or edits one, from Slack (the App Home's form).

The same checks as the catalogue file (bot/services/catalog.py) and the same effects:
a raised capacity moves the waitlist up, new reminder offsets re-plan the reminders. A
community created or edited here is Slack's from then on: a reload of the file keeps
its settings (catalog.py `edited_in_slack`; README "Slack versus the file").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import audit, catalog, communities, meetings
from bot.services.errors import NotAllowed, SettingsInvalid
from storage.models import Community, Facilitator

MAX_NAME = 200
MAX_DESCRIPTION = 3000
MAX_CAPACITY = 10_000


@dataclass(frozen=True)
class CommunitySettings:
    name: str
    programme: str
    description: str
    capacity: int | None
    deadline: dt.date | None
    approval: bool
    channel_id: str | None
    reminders: str | None  # "7d,1d"; None: COP_REMINDER_OFFSETS
    facilitators: tuple[str, ...]


def current(
    session: Session, *, slug: str, by: str, admins: Collection[str]
) -> tuple[str, CommunitySettings]:
    """What the edit form shows of a community: its slug and settings. Raises
    CommunityNotFound and NotAllowed."""
    if by not in admins:
        raise NotAllowed("appoint_facilitator")
    community = communities.resolve(session, slug)
    return community.slug, CommunitySettings(
        name=community.name,
        programme=community.programme,
        description=community.description,
        capacity=community.capacity,
        deadline=community.registration_deadline,
        approval=community.approval,
        channel_id=community.channel_id,
        reminders=community.reminder_offsets,
        facilitators=tuple(communities.facilitator_ids(session, community.id)),
    )


def slug_for(name: str) -> str:
    """ "Groene Stad – klein" -> "groene-stad-klein": lower case ASCII, digits and hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")


def _check(values: CommunitySettings) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not values.name.strip():
        problems["name"] = "community_form_name_missing"
    elif len(values.name) > MAX_NAME or len(values.programme) > MAX_NAME:
        problems["name"] = "community_form_too_long"
    elif not slug_for(values.name):
        problems["name"] = "community_form_name_letters"
    if len(values.description) > MAX_DESCRIPTION:
        problems["description"] = "community_form_too_long"
    if values.capacity is not None and not 1 <= values.capacity <= MAX_CAPACITY:
        problems["capacity"] = "community_form_capacity_wrong"
    if values.reminders:
        try:
            catalog.parse_offsets(values.reminders, variable="reminders")
        except catalog.ConfigError:
            problems["reminders"] = "community_form_reminders_wrong"
    return problems


def save(
    session: Session,
    *,
    slug: str | None,
    values: CommunitySettings,
    by: str,
    admins: Collection[str],
    offsets: Sequence[dt.timedelta],
    now: dt.datetime,
    tz: ZoneInfo,
) -> tuple[str, bool]:
    """Create (`slug` None) or update a community; returns its slug and whether it was
    created. Raises NotAllowed, CommunityNotFound and SettingsInvalid."""
    if by not in admins:
        raise NotAllowed("appoint_facilitator")
    problems = _check(values)
    if slug is None and "name" not in problems:
        new_slug = slug_for(values.name)
        if session.scalar(select(Community.id).where(Community.slug == new_slug)) is not None:
            problems["name"] = "community_form_name_taken"
    if problems:
        raise SettingsInvalid(problems)
    fields = {
        "name": values.name.strip(),
        "programme": values.programme.strip(),
        "description": values.description.strip(),
        "capacity": values.capacity,
        "registration_deadline": values.deadline,
        "approval": values.approval,
        "channel_id": values.channel_id,
        "reminder_offsets": values.reminders or None,
    }
    created = slug is None
    if slug is None:
        community = Community(slug=slug_for(values.name), join_counter=0, **fields)
        session.add(community)
        session.flush()
        offsets_changed = True
    else:
        community = communities.resolve(session, slug, for_update=True)
        offsets_changed = community.reminder_offsets != fields["reminder_offsets"]
        for key, value in fields.items():
            setattr(community, key, value)
        session.flush()
        catalog.fill_free_seats(session, community, now)
        communities.recount(session, community)
    _facilitators(session, community, values.facilitators, by=by, now=now)
    audit.record(
        session, action=audit.COMMUNITY_CREATED if created else audit.COMMUNITY_UPDATED,
        actor=by, community=community.slug, now=now, detail="in Slack",
    )  # fmt: skip
    if offsets_changed:
        meetings.sync_reminders(session, offsets=offsets, now=now, tz=tz,
                                community_ids=[community.id])  # fmt: skip
    return community.slug, created


def _facilitators(
    session: Session, community: Community, wanted: Sequence[str], *, by: str, now: dt.datetime
) -> None:
    rows = {
        f.user_id: f
        for f in session.scalars(
            select(Facilitator).where(Facilitator.community_id == community.id)
        )
    }
    for user in wanted:
        if user not in rows:
            session.add(Facilitator(community_id=community.id, user_id=user, source="admin"))
            audit.record(session, action=audit.FACILITATOR_APPOINTED, actor=by, subject=user,
                         community=community.slug, now=now)  # fmt: skip
    for user, row in rows.items():
        if user not in wanted:
            session.delete(row)
            audit.record(session, action=audit.FACILITATOR_REMOVED, actor=by, subject=user,
                         community=community.slug, now=now)  # fmt: skip
    session.flush()
