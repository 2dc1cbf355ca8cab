"""Liveness, readiness and metrics: GET /healthz, /readyz and /metrics.

- /healthz (liveness): the process answers and so does the database. 200 or 503, with
  `{"ok": ..., "database": "up"|"down"}`.
- /readyz (readiness): the database answers, some process owns the scheduler and swept
  recently (its heartbeat, written at every sweep, is younger than
  `heartbeat_limit(COP_SWEEP_SECONDS)`), and the oldest item of the backlog (reminders
  not yet fanned out, the outbox's lanes: reminder DMs and posts too) has been due for at most
  COP_READY_BACKLOG_SECONDS. 200 or 503, with each check in the body.
- /metrics: Prometheus's text format (bot/metrics.py).

`cop-bot serve` answers them on its own port (bot/server.py); Socket Mode and a lone
`cop-bot deliver` have no HTTP server, so `start_server` runs a small one in a thread.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot import metrics
from bot.clock import system_clock
from bot.runtime import Services
from bot.services import outbox
from storage import health

log = logging.getLogger("cop_bot")

# The heartbeat may be this much older than a sweep's interval before /readyz fails: a
# sweep that fans out a large reminder or plans many meetings takes a while.
HEARTBEAT_SLACK_SECONDS = 60.0

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[int, bytes, str]


def heartbeat_limit(sweep_seconds: float) -> float:
    """How old the scheduler's heartbeat may be for the bot to count as ready."""
    return max(HEARTBEAT_SLACK_SECONDS, 10 * sweep_seconds)


def liveness(services: Services) -> tuple[bool, dict[str, Any]]:
    healthy = services.db.ping()
    return healthy, {"ok": healthy, "database": "up" if healthy else "down"}


def readiness(services: Services) -> tuple[bool, dict[str, Any]]:
    """Each check with what it saw; ready when all pass."""
    settings = services.settings
    try:
        with services.db.read() as session:
            beat = health.last_beat(session)
            now = services.clock()
            queues = health.backlog(session, now=now, kinds=outbox.KINDS, in_order=outbox.IN_ORDER)
    except Exception as exc:
        log.warning("readiness: the database did not answer: %s", type(exc).__name__)
        return False, {"ok": False, "checks": {"database": {"ok": False}}}
    limit = heartbeat_limit(settings.sweep_seconds)
    if beat is None:
        scheduler: dict[str, Any] = {"ok": False, "heartbeat": "none yet", "limit_seconds": limit}
    else:
        # The heartbeat is written on the wall clock (ReminderScheduler.heartbeat).
        age = max(0.0, (system_clock() - beat.at).total_seconds())
        scheduler = {"ok": age <= limit, "heartbeat_age_seconds": round(age, 1),
                     "limit_seconds": limit}  # fmt: skip
    ages = {
        q.name: max(0.0, (now - q.oldest_due).total_seconds()) if q.oldest_due else 0.0
        for q in queues
    }
    oldest = max(ages.values(), default=0.0)
    backlog = {
        "ok": oldest <= settings.ready_backlog_seconds,
        "oldest_seconds": round(oldest, 1),
        "limit_seconds": settings.ready_backlog_seconds,
        "queues": {q.name: {"items": q.items, "oldest_seconds": round(ages[q.name], 1)}
                   for q in queues},
    }  # fmt: skip
    checks = {"database": {"ok": True}, "scheduler": scheduler, "backlog": backlog}
    ready = all(check["ok"] for check in checks.values())
    return ready, {"ok": ready, "checks": checks}


def _json(ok: bool, body: dict[str, Any]) -> Answer:
    return 200 if ok else 503, json.dumps(body).encode(), "application/json"


def answer(services: Services, path: str) -> Answer | None:
    """The answer to GET `path` when it is one of these endpoints, else None."""
    if path == "/healthz":
        return _json(*liveness(services))
    if path == "/readyz":
        return _json(*readiness(services))
    if path == "/metrics":
        body, content_type = metrics.exposition(services.db, services.clock)
        return 200, body, content_type
    return None


_REASONS = {200: "200 OK", 404: "404 Not Found", 503: "503 Service Unavailable"}


def write(start_response: Callable[..., Any], found: Answer) -> Iterable[bytes]:
    status, body, content_type = found
    start_response(
        _REASONS[status],
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]


def wsgi_app(services: Services) -> WSGIApp:
    """Just these endpoints; anything else is 404."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        found = answer(services, environ.get("PATH_INFO") or "")
        return write(start_response, found or (404, b"Not Found", "text/plain; charset=utf-8"))

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # probes every few seconds: no line each


def start_server(services: Services, *, port: int, host: str = "0.0.0.0") -> WSGIServer:
    """Serve /healthz, /readyz and /metrics on `port` in a daemon thread (port 0: any
    free port; `server.server_address` says which). `shutdown()` stops it."""
    server = make_server(host, port, wsgi_app(services), server_class=_Server, handler_class=_Quiet)
    threading.Thread(
        target=server.serve_forever, name="cop-health", kwargs={"poll_interval": 0.2}, daemon=True
    ).start()
    log.info("health and metrics on port %s (/healthz, /readyz, /metrics)", server.server_port)
    return server
