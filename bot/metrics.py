"""Every metric the bot exposes at /metrics (Prometheus), in one place.

Label values are bounded and come from the code, never from what a user typed: a
request's kind, a command's canonical subcommand (`unknown` for anything else), an
outcome, an HTTP status, a Slack method name.

Under `cop-bot serve` the web workers and the delivery process are separate processes:
they write their numbers to files in PROMETHEUS_MULTIPROC_DIR (bot/multiproc.py sets it
up before this module is imported) and any worker's /metrics adds them up. Without that
variable (Socket Mode, `cop-bot deliver` on its own, tests) the numbers are this
process's. What the database knows (the backlog, the scheduler's heartbeat) is read at
scrape time, by `DatabaseCollector`, never on a request's path.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from bot.clock import system_clock
from bot.services import outbox
from storage import health

log = logging.getLogger("cop_bot")

# Requests ---------------------------------------------------------------------------
REQUESTS = Counter(
    "cop_requests",
    "Slack requests by kind (command, action, view, shortcut, event, options, other; "
    "unknown: refused before it was read), "
    "subcommand (commands only), outcome (ok, error, slack_slow, unhandled, refused, "
    "replay, unavailable) and HTTP status",
    ["kind", "subcommand", "outcome", "status"],
)
ANSWER_SECONDS = Histogram(
    "cop_answer_seconds",
    "Time from receiving a Slack request to its answer, by kind",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)

# Deliveries ---------------------------------------------------------------------------
DELIVERIES = Counter(
    "cop_deliveries",
    "Messages sent after the answer, by kind (the outbox's lanes: reminder_dm, "
    "reminder_channel, welcome, welcome_calendar, ...) and outcome (sent, failed, retry)",
    ["kind", "outcome"],
)
REMINDER_LAG_SECONDS = Histogram(
    "cop_reminder_lag_seconds",
    "Time from a reminder's due moment to Slack accepting its DM or channel post",
    buckets=(1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0),
)
SLACK_RATE_LIMITED = Counter(
    "cop_slack_rate_limited",
    "Slack Web API answers 429 (rate limited), by method",
    ["method"],
)

# The scheduler ------------------------------------------------------------------------
SCHEDULER_OWNER = Gauge(
    "cop_scheduler_owner",
    "1 in the process that holds the scheduler lock (fans reminders out), 0 in the others",
    multiprocess_mode="liveall",
)

# Request kinds by the `type` of an interactive payload or an Events API envelope.
_KINDS = {
    "block_actions": "action",
    "interactive_message": "action",
    "block_suggestion": "options",
    "view_submission": "view",
    "view_closed": "view",
    "dialog_submission": "view",
    "shortcut": "shortcut",
    "message_action": "shortcut",
    "event_callback": "event",
    "url_verification": "event",
    "app_rate_limited": "event",
}


def request_kind(body: Mapping[str, Any] | Any) -> str:
    """The kind of a parsed Slack request body, one of a fixed few."""
    if not isinstance(body, Mapping):
        return "other"
    if body.get("command"):
        return "command"
    kind = body.get("type")
    return _KINDS.get(kind, "other") if isinstance(kind, str) else "other"


def count_request(kind: str, outcome: str, status: int, *, subcommand: str = "") -> None:
    REQUESTS.labels(kind, subcommand, outcome, str(status)).inc()


def count_delivery(kind: str, outcome: str, times: int = 1) -> None:
    if times:
        DELIVERIES.labels(kind, outcome).inc(times)


_METHOD = re.compile(r"[a-z]+(?:\.[a-zA-Z]+){1,3}")


def slack_method(url_or_method: str) -> str:
    """The Web API method of a URL such as https://slack.com/api/chat.postMessage."""
    name = url_or_method.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    return name if _METHOD.fullmatch(name) and len(name) <= 64 else "other"


def count_rate_limited(url_or_method: str) -> None:
    SLACK_RATE_LIMITED.labels(slack_method(url_or_method)).inc()


# Scrape time ----------------------------------------------------------------------------
class DatabaseCollector:
    """The backlog and the scheduler's heartbeat, read from the database when /metrics is
    scraped: a few indexed aggregates (storage/health.py)."""

    def __init__(self, db: Any, now: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.now = now

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("cop_database_up", "1 when the database answered this scrape")
        try:
            now = self.now()
            with self.db.read() as session:
                queues = health.backlog(
                    session, now=now, kinds=outbox.KINDS, in_order=outbox.IN_ORDER
                )
                beat = health.last_beat(session)
        except Exception as exc:
            log.warning("metrics: the database did not answer: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        items = GaugeMetricFamily(
            "cop_backlog_items",
            "Work due and not done, by queue (reminders, the outbox's lanes)",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "cop_backlog_oldest_seconds",
            "How long the oldest item of each queue has been due (0 when empty)",
            labels=["queue"],
        )
        for queue in queues:
            items.add_metric([queue.name], queue.items)
            age = (now - queue.oldest_due).total_seconds() if queue.oldest_due else 0.0
            oldest.add_metric([queue.name], max(0.0, age))
        yield items
        yield oldest
        if beat is not None:
            heartbeat = GaugeMetricFamily(
                "cop_scheduler_heartbeat_age_seconds",
                "Seconds since the scheduler's owner last swept (wall clock)",
            )
            # The heartbeat is written on the wall clock (ReminderScheduler.heartbeat).
            age = (system_clock() - beat.at).total_seconds()
            heartbeat.add_metric([], max(0.0, age))
            yield heartbeat


def multiprocess_dir() -> str | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and os.path.isdir(path) else None


def exposition(db: Any, now: Callable[[], dt.datetime]) -> tuple[bytes, str]:
    """The body and content type of /metrics: every process's numbers (multiprocess
    mode) or this one's, then the database's."""
    database = CollectorRegistry()
    database.register(DatabaseCollector(db, now))
    path = multiprocess_dir()
    if path is not None:
        processes = CollectorRegistry()
        MultiProcessCollector(processes, path=path)
        body = generate_latest(processes)
    else:
        body = generate_latest(REGISTRY)
    return body + generate_latest(database), CONTENT_TYPE_LATEST
