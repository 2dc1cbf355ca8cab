"""Admins appointed in Slack, besides those of COP_ADMINS.

COP_ADMINS names the admins who set the bot up; they can appoint more admins from the App
Home, and end those appointments again (not their own configured role: that lives in the
configuration). The appointed ones are kept in `app_settings`, and every change is in
the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy.orm import Session

from bot.services import audit
from bot.services.errors import NotAllowed
from storage.models import AppSetting

_KEY = "admins_slack"


def appointed(session: Session) -> frozenset[str]:
    """The admins appointed in Slack."""
    stored = session.get(AppSetting, _KEY)
    return frozenset(filter(None, stored.value.split(","))) if stored is not None else frozenset()


def _store(session: Session, users: Collection[str]) -> None:
    value = ",".join(sorted(users))
    stored = session.get(AppSetting, _KEY)
    if stored is None:
        session.add(AppSetting(key=_KEY, value=value))
    else:
        stored.value = value
    session.flush()


def appoint(
    session: Session, *, user_id: str, by: str, admins: Collection[str], now: dt.datetime
) -> bool:
    """An admin makes `user_id` an admin too; False when they were one already."""
    if by not in admins:
        raise NotAllowed("appoint_admin")
    if user_id in admins:
        return False
    _store(session, appointed(session) | {user_id})
    audit.record(session, action=audit.ADMIN_ADDED, actor=by, subject=user_id, now=now)
    return True


def dismiss(
    session: Session, *, user_id: str, by: str, admins: Collection[str], now: dt.datetime
) -> bool:
    """An admin ends an appointment made in Slack; False when `user_id` was not appointed
    in Slack (an admin of COP_ADMINS stays one: the configuration says so)."""
    if by not in admins:
        raise NotAllowed("appoint_admin")
    current = appointed(session)
    if user_id not in current:
        return False
    _store(session, current - {user_id})
    audit.record(session, action=audit.ADMIN_REMOVED, actor=by, subject=user_id, now=now)
    return True
