"""HTTP mode: the Bolt app as a WSGI app under gunicorn, with /healthz, /readyz, /metrics
and calendar feeds."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from slack_bolt import App

from bot import health, logs, multiproc
from bot.edge import Edge
from bot.runtime import Services
from handlers.calendar_feed import Feeds

# On SIGTERM the web workers finish their requests within this (gunicorn's
# graceful_timeout); the delivery process within bot.cli.DELIVERY_STOP_SECONDS.
GRACEFUL_STOP_SECONDS = 10

log = logging.getLogger("cop_bot")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_wsgi(app: App, services: Services) -> WSGIApp:
    """POST /slack/events goes through the edge (bot/edge.py) to Bolt; GET /healthz,
    /readyz and /metrics are bot/health.py's; GET /calendar/<token>.ics is someone's
    calendar feed."""
    edge = Edge(app, services)
    feeds = Feeds(services)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or ""
        if path in ("/healthz", "/readyz", "/metrics"):
            found = health.answer(services, path)
            assert found is not None
            return health.write(start_response, found)
        if path.startswith("/calendar/") and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _calendar(feeds, path, environ, start_response)
        if path == "/slack/events" and environ.get("REQUEST_METHOD") == "POST":
            return edge.wsgi(environ, start_response)
        return _not_found(start_response)

    return wsgi


def _not_found(start_response: Callable[..., Any]) -> Iterable[bytes]:
    not_found = b"Not Found"
    start_response(
        "404 Not Found",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(not_found)))],
    )
    return [not_found]


def _calendar(
    feeds: Feeds, path: str, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """A feed, or the same bare 404 for every token that opens none: nothing tells a
    guessed token from a revoked one. The token never goes into a log line."""
    body = feeds.body(path)
    if body is None:
        return _not_found(start_response)
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/calendar; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Content-Disposition", 'inline; filename="cop-bot.ics"'),
            # Private: the body is one person's; a shared cache must not keep it.
            ("Cache-Control", "private, max-age=60"),
            ("X-Robots-Tag", "noindex"),
        ],
    )
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


class _Arbiter(Arbiter):
    """gunicorn's master, which also tells `on_stop` when it begins to stop its workers
    (SIGTERM, SIGINT, SIGQUIT), so that companions stop at the same time, not after."""

    def __init__(self, app: BaseApplication, on_stop: Callable[[], None] | None) -> None:
        self._on_stop = on_stop
        super().__init__(app)

    def stop(self, graceful: bool = True) -> None:
        on_stop, self._on_stop = self._on_stop, None
        if on_stop is not None:
            on_stop()
        super().stop(graceful)


class GunicornServer(BaseApplication):
    """gunicorn started from Python, so `cop-bot serve` needs no separate config file."""

    def __init__(
        self,
        factory: Callable[[], WSGIApp],
        options: dict[str, Any],
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.factory = factory
        self.options = options
        self.on_stop = on_stop
        super().__init__()

    def run(self) -> None:
        try:
            _Arbiter(self, self.on_stop).run()
        except RuntimeError as exc:  # as BaseApplication.run
            print(f"\nError: {exc}\n", file=sys.stderr, flush=True)
            sys.exit(1)

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        return self.factory()


def serve(
    factory: Callable[[], WSGIApp],
    *,
    port: int,
    host: str = "0.0.0.0",
    workers: int = 1,
    threads: int = 16,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Serve until stopped. The app is built in the worker, after the fork, so no
    database connection or thread pool is shared between processes. `on_stop` runs in
    this (the master) process when it begins to stop: at once on SIGTERM, while the
    workers finish their requests (within graceful_timeout). With
    PROMETHEUS_MULTIPROC_DIR (bot/multiproc.py), a worker that exits leaves the
    scheduler-owner gauge; with LOG_FORMAT=json gunicorn's own lines are JSON too."""
    extra: dict[str, Any] = {}
    if os.environ.get(multiproc.VARIABLE):
        extra["child_exit"] = multiproc.child_exit
    if logs.chosen_format() == "json":
        extra["logger_class"] = logs.gunicorn_logger_class("json")
    GunicornServer(
        factory,
        {
            **extra,
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 30,
            "graceful_timeout": GRACEFUL_STOP_SECONDS,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
        },
        on_stop,
    ).run()
