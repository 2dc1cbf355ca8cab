"""Shared fixtures: real databases (SQLite always, PostgreSQL with TEST_DATABASE_URL),
the Slack stand-in, and the real app served over HTTP."""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.app import build_app, build_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.runtime import Services
from bot.sandbox.signed import (
    app_home_opened_event,
    block_actions_body,
    event_callback_body,
    global_shortcut_body,
    home_actions_body,
    message_shortcut_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from bot.sandbox.standin import SlackStandIn
from bot.server import make_wsgi
from bot.slack_scopes import BOT_SCOPES, PRODUCT_CALLS
from storage import migrate
from storage.db import Database, null_pool_engine

AMS = ZoneInfo("Europe/Amsterdam")
SECRET = "test-signing-secret"
# A fixed "now" well before the shipped catalogue's 2027 meetings and deadlines.
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def _backends() -> list[Any]:
    backends: list[Any] = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL"):
        backends.append(pytest.param("postgresql", marks=pytest.mark.postgresql))
    return backends


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs against TEST_DATABASE_URL")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """pytest-randomly prints its seed in the header, which -q hides: after a failure, say
    how to run the same order again."""
    seed = getattr(config.option, "randomly_seed", None)
    failed = exitstatus in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)
    if failed and isinstance(seed, int) and config.pluginmanager.has_plugin("randomly"):
        terminalreporter.write_line(f"Random order: rerun the same one with --randomly-seed={seed}")


# One migrated SQLite database per test process, copied for every test that wants a
# fresh one: migrating takes a second on a busy machine, a copy a few milliseconds.
# (Forked processes, such as mutmut's workers, inherit the path and copy it too.)
_sqlite_template: dict[str, Path] = {}


def _migrated_sqlite_copy(target: Path) -> None:
    template = _sqlite_template.get("path")
    if template is None or not template.exists():
        folder = Path(tempfile.mkdtemp(prefix="cop-test-template-"))
        template = folder / "migrated.db"
        migrate.upgrade(f"sqlite:///{template}")
        owner = os.getpid()
        atexit.register(
            lambda: shutil.rmtree(folder, ignore_errors=True) if os.getpid() == owner else None
        )
        _sqlite_template["path"] = template
    source = sqlite3.connect(template)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def fresh_database_url(backend: str, tmp_path: Path) -> str:
    """An empty, fully migrated database of the given kind."""
    if backend == "sqlite":
        path = tmp_path / "cop-test.db"
        _migrated_sqlite_copy(path)
        return f"sqlite:///{path}"
    else:
        url = os.environ["TEST_DATABASE_URL"]
        engine = null_pool_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    return url


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database_url(request.param, tmp_path)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server
        # Its tokens have the manifest's scopes: a method of the bot's refused for one of
        # them is a call the real bot would make in vain.
        refused = [
            f"{call.method} (needs {call.response.get('needed')})"
            for call in server.calls()
            if call.response.get("error") == "missing_scope"
            and call.method in PRODUCT_CALLS
            and call.token is not None
            and server.scopes_for(call.token) == BOT_SCOPES
        ]
        assert not refused, f"the manifest's scopes do not allow: {refused}"


@pytest.fixture
def settings(db_url: str, standin: SlackStandIn) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=standin.api_url,
        database_url=db_url,
        admins=frozenset({"UADMIN"}),
        timezone=AMS,
    )


@pytest.fixture
def services(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    svc = build_services(settings, clock=clock)
    yield svc
    svc.shutdown()


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclasses.dataclass
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class SlackHTTP:
    """Sends requests to the app over real HTTP, built and signed as Slack does."""

    def __init__(self, base_url: str, standin: SlackStandIn, secret: str = SECRET) -> None:
        self.base_url = base_url
        self.standin = standin
        self.secret = secret

    def post(self, body: str, headers: dict[str, str], path: str = "/slack/events") -> Response:
        request = urllib.request.Request(
            self.base_url + path, data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Response(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode())

    def get(self, path: str) -> Response:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
                return Response(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode())

    def command(self, user_id: str, text: str, **kwargs: Any) -> Response:
        """`/cop <text>` typed by `user_id` (escaped as Slack does; `raw=True` sends Slack
        markup such as `<@U123|name>` as given); returns the HTTP answer."""
        body = slash_command_body(
            user_id=user_id, text=text, response_url=self.standin.response_url(), **kwargs
        )
        return self.post(body, signed_headers(self.secret, body))

    def click(self, user_id: str, action_id: str, value: str, **kwargs: Any) -> Response:
        """A button click (block_actions) by `user_id`."""
        body = block_actions_body(
            user_id=user_id,
            action_id=action_id,
            value=value,
            response_url=self.standin.response_url(),
            **kwargs,
        )
        return self.post(body, signed_headers(self.secret, body))

    def submit(self, user_id: str, view: dict[str, Any], answers: dict[str, Any]) -> Response:
        """Submit the modal `view` (as the app opened it) with answers keyed by action_id."""
        body = view_submission_body(user_id=user_id, view=view, answers=answers)
        return self.post(body, signed_headers(self.secret, body))

    def shortcut(
        self,
        user_id: str,
        callback_id: str,
        message: dict[str, Any],
        channel_id: str,
        **kwargs: Any,
    ) -> Response:
        """A message shortcut on `message` (with `ts`, `text`, `user`) in `channel_id`;
        `raw=True` sends its text as given (already in Slack's message format)."""
        body = message_shortcut_body(
            user_id=user_id,
            callback_id=callback_id,
            message=message,
            channel_id=channel_id,
            response_url=self.standin.response_url(),
            **kwargs,
        )
        return self.post(body, signed_headers(self.secret, body))

    def global_shortcut(self, user_id: str, callback_id: str) -> Response:
        """A global shortcut (the ⚡ menu) by `user_id`."""
        body = global_shortcut_body(user_id=user_id, callback_id=callback_id)
        return self.post(body, signed_headers(self.secret, body))

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0
    ) -> Response:
        """An Events API delivery of `event`; `retry` > 0 sends it as Slack's retry does
        (the same event_id, X-Slack-Retry-Num and -Reason headers, a new signature)."""
        body = event_callback_body(event, event_id=event_id)
        # A retry comes later: a later timestamp, so a signature of its own even within
        # the same second (the same one would be caught as a replay of the signature).
        headers = signed_headers(
            self.secret, body, timestamp=int(time.time()) + retry, content_type="application/json"
        )
        if retry:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post(body, headers)

    def open_home(self, user_id: str) -> Response:
        """`user_id` opens the app's Home tab."""
        return self.event(app_home_opened_event(user_id))

    def home(self, user_id: str) -> dict[str, Any]:
        """The Home tab view last published for `user_id`."""
        calls = [
            c for c in self.standin.calls()
            if c.method == "views.publish" and c.args.get("user_id") == user_id
        ]  # fmt: skip
        assert calls, f"no Home tab published for {user_id}"
        view = calls[-1].args["view"]
        return json.loads(view) if isinstance(view, str) else dict(view)

    def click_home(
        self,
        user_id: str,
        action_id: str,
        value: str = "",
        *,
        on: dict[str, Any] | None = None,
        select: bool | None = None,
        user_select: bool = False,
        block_id: str | None = None,
    ) -> Response:
        """`user_id` clicks the button `action_id` (with `value`) on their Home tab, as
        last published (or as `on`); for a menu there (or with `select`), picks the option
        with `value`; for a people menu (or with `user_select`), the person `value`, in
        the menu's block (or `block_id`)."""
        tab = on if on is not None else self.home(user_id)
        kinds = {
            element.get("action_id"): (element.get("type"), block.get("block_id", "b1"))
            for block in tab.get("blocks", [])
            for element in [*block.get("elements", []), block.get("accessory") or {}]
        }
        kind, block_id = kinds.get(action_id, ("button", block_id or "b1"))
        if select is None:
            select = kind == "static_select"
        body = home_actions_body(
            user_id=user_id, action_id=action_id, value=value, view=tab, select=select,
            user_select=kind == "users_select" or user_select, block_id=block_id,
        )  # fmt: skip
        return self.post(body, signed_headers(self.secret, body))

    def opened_view(self, index: int = -1) -> dict[str, Any]:
        """The view of the latest (or `index`th) views.open/views.push call the app made."""
        calls = [c for c in self.standin.calls() if c.method in ("views.open", "views.push")]
        view = calls[index].args["view"]
        return json.loads(view) if isinstance(view, str) else dict(view)


@pytest.fixture
def slack(settings: Settings, services: Services, standin: SlackStandIn) -> Iterator[SlackHTTP]:
    """The real Bolt app behind a real HTTP server on a free loopback port."""
    app = build_app(settings, services)
    server = make_server(
        "127.0.0.1",
        0,
        make_wsgi(app, services),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SlackHTTP(f"http://127.0.0.1:{server.server_address[1]}", standin)
    server.shutdown()
    server.server_close()
