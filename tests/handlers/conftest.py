"""Fixtures for the Slack-side tests: every message the app sends is checked as Block Kit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from wsgiref.simple_server import make_server

import pytest

from bot.app import build_app
from bot.config import Settings
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.server import make_wsgi
from tests.blockkit import assert_valid_message, assert_valid_view
from tests.conftest import SlackHTTP, _QuietHandler, _ThreadingWSGIServer
from tests.handlers.support import CheckedSlack, sent


@pytest.fixture
def slack(settings: Settings, services: Services, standin: SlackStandIn) -> Iterator[CheckedSlack]:
    """The real Bolt app behind a real HTTP server; after the test, every reply and every
    post must be valid Block Kit."""
    app = build_app(settings, services)
    server = make_server(
        "127.0.0.1", 0, make_wsgi(app, services),
        server_class=_ThreadingWSGIServer, handler_class=_QuietHandler,
    )  # fmt: skip
    # A short poll interval keeps shutdown (and so every test) quick.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    checked = CheckedSlack(SlackHTTP(f"http://127.0.0.1:{server.server_address[1]}", standin))
    try:
        yield checked
        assert services.wait_idle(5), "background work did not finish"
        for payload in checked.replies() + sent(standin):
            assert_valid_message(payload)
        for call in standin.calls():
            if call.method in ("views.open", "views.update", "views.push", "views.publish"):
                view = call.args["view"]
                assert_valid_view(json.loads(view) if isinstance(view, str) else view)
    finally:
        server.shutdown()
        server.server_close()
