"""What the database holds, table by table, so that a test can say "nothing changed"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from storage.models import Base

# Bookkeeping that every request or the clock moves on, whatever the request asked for:
# the replay guard's record of signed requests and the scheduler's heartbeat.
IGNORED = frozenset({"seen_requests", "scheduler_heartbeat"})


def database_state(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but IGNORED), in primary-key order."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    with services.db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in IGNORED:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = session.execute(select(table).order_by(*order)).all()
            state[table.name] = [tuple(row) for row in rows]
    return state


def changed_tables(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    """The names of the tables whose rows differ."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


def slack_calls(standin: SlackStandIn) -> list[str]:
    """The Web API methods the app called (and its answers through response_url), but
    Bolt's own `auth.test` on the first request: what a test sees the app do in Slack."""
    return [call.method for call in standin.calls() if call.method != "auth.test"]
