"""Where a request's CPU goes, in one thread and in this process: the bare Bolt app, and
cop-bot's WSGI app for `/cop lijst` with and without the edge's replay write, and for
`/cop aanmelden`. No HTTP server and no concurrency: what is left is the apps' own work,
so that the ratios of the HTTP run can be read against it. Run by bench/serve_bench.py
after its rounds, against the same stand-in.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.bare_app import make_bare_wsgi
from bot.sandbox.signed import signed_headers, slash_command_body

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _environ(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "0",
        "wsgi.url_scheme": "http",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in headers.items():
        if name.lower() != "content-type":
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _cpu_ms(app: WSGIApp, requests: list[tuple[bytes, dict[str, str]]]) -> float:
    """CPU milliseconds per request (after a tenth of them as a warm-up)."""
    statuses: list[str] = []

    def start_response(status: str, headers: Any) -> None:
        statuses.append(status)

    warm = len(requests) // 10
    for body, headers in requests[:warm]:
        list(app(_environ(body, headers), start_response))
    began = time.process_time()
    for body, headers in requests[warm:]:
        list(app(_environ(body, headers), start_response))
    spent = time.process_time() - began
    if any(not s.startswith("200") for s in statuses):
        raise RuntimeError(f"a request in the split was not answered 200: {set(statuses)}")
    return 1000 * spent / (len(requests) - warm)


class _Remembered:
    """The replay store without its write: a set in memory (this measurement only)."""

    def __init__(self) -> None:
        self.keys: set[bytes] = set()

    def remember(self, key: bytes, *, now: dt.datetime, **_: Any) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True


def split(api_url: str, *, database_url: str | None = None, count: int = 2000) -> dict[str, float]:
    """CPU ms per request of each, in this process, one request at a time."""
    from bot.app import build_app, build_services, prepare_database
    from bot.config import Settings
    from bot.edge import Edge
    from bot.server import make_wsgi

    secret = "s" * 32
    url = database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='cop-split-')) / 'split.db'}"
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": url,
            "COP_CATALOG": str(Path(__file__).resolve().parent.parent / "bot/data/catalog.toml"),
            "COP_DELIVERY": "worker",  # the welcomes wait in the outbox: not sent here
        }
    )
    prepare_database(settings)
    services = build_services(settings, courier=False)
    try:
        ours = make_wsgi(build_app(settings, services), services)
        bare = make_bare_wsgi("xoxb-bench", secret, api_url)
        # The same app, its edge's replay store swapped for a set in memory.
        edge = Edge(build_app(settings, services), services)
        edge.seen = _Remembered()  # type: ignore[assignment]

        def no_replay_write(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
            return edge.wsgi(environ, start)

        stamp = time.strftime("%H%M%S")

        def signed(text: str, user: Callable[[int], str]) -> list[tuple[bytes, dict[str, str]]]:
            out = []
            for i in range(count):
                body = slash_command_body(
                    user_id=user(i), text=text, response_url=f"{api_url}../response/split"
                )
                out.append((body.encode(), signed_headers(secret, body)))
            return out

        return {
            "bare /cop": _cpu_ms(bare, signed("lijst", lambda i: f"US{stamp}{i}")),
            "/cop lijst": _cpu_ms(ours, signed("lijst", lambda i: f"UL{i % 500}")),
            "/cop lijst, no replay write": _cpu_ms(
                no_replay_write, signed("lijst", lambda i: f"UL{i % 500}")
            ),
            "/cop aanmelden": _cpu_ms(
                ours, signed("aanmelden ethiek", lambda i: f"UJS{stamp}{i}")[: count // 2]
            ),
        }
    finally:
        services.shutdown()
        services.db.dispose()
