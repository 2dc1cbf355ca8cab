"""The Events API through the signed edge: Slack's url_verification is answered with its
challenge, and an event is handled at most once by its event_id, whichever process gets
Slack's retries of it (same event_id, new timestamp and signature, X-Slack-Retry-Num).

No product listener takes an event yet but app_home_opened (handlers/home.py, issue 12),
so the tests register a harmless one, for member_joined_channel, on the built app."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from slack_bolt import App

from bot.app import build_app, build_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.edge import Edge
from bot.runtime import Services
from bot.sandbox.signed import (
    event_callback_body,
    new_event_id,
    signed_headers,
    url_verification_body,
)
from bot.sandbox.standin import SlackStandIn
from bot.server import make_wsgi
from tests.conftest import SECRET, Response, SlackHTTP, _QuietHandler, _ThreadingWSGIServer
from tests.metrics_support import sample

JSON = "application/json"


def joined(user: str = "U1") -> dict[str, Any]:
    return {"type": "member_joined_channel", "user": user, "channel": "C0ETHIEK",
            "channel_type": "C", "team": "T0COPBOT"}  # fmt: skip


class Counted:
    """The events the test listener was given, by event_id."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()

    def register(self, app: App) -> None:
        @app.event("member_joined_channel")
        def count(body: dict[str, Any]) -> None:
            with self._lock:
                self.ids.append(body["event_id"])


@contextmanager
def served(
    settings: Settings, services: Services, standin: SlackStandIn, counted: Counted
) -> Iterator[SlackHTTP]:
    """The real app with the counting listener, behind the real edge over HTTP."""
    app = build_app(settings, services)
    counted.register(app)
    server = make_server(
        "127.0.0.1", 0, make_wsgi(app, services),
        server_class=_ThreadingWSGIServer, handler_class=_QuietHandler,
    )  # fmt: skip
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield SlackHTTP(f"http://127.0.0.1:{server.server_address[1]}", standin)
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def another_process(
    settings: Settings, clock: FrozenClock, standin: SlackStandIn, counted: Counted
) -> Iterator[SlackHTTP]:
    """Another `cop-bot serve` process on the same database: its own Services and app."""
    services = build_services(settings, clock=clock)
    try:
        with served(settings, services, standin, counted) as slack:
            yield slack
    finally:
        assert services.wait_idle(5)
        services.shutdown()


@pytest.fixture
def counted() -> Counted:
    return Counted()


@pytest.fixture
def slack(
    settings: Settings, services: Services, standin: SlackStandIn, counted: Counted
) -> Iterator[SlackHTTP]:
    with served(settings, services, standin, counted) as http:
        yield http


# url_verification ----------------------------------------------------------------------


def test_slacks_url_verification_is_answered_with_its_challenge(slack: SlackHTTP) -> None:
    body = url_verification_body("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")

    response = slack.post(body, signed_headers(SECRET, body, content_type=JSON))

    assert response.status == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_an_unsigned_or_forged_url_verification_gets_401_and_no_challenge(
    slack: SlackHTTP,
) -> None:
    body = url_verification_body("secret-challenge")
    forged = signed_headers("not-the-secret", body, content_type=JSON)

    answers = [slack.post(body, {"Content-Type": JSON}), slack.post(body, forged)]

    assert [a.status for a in answers] == [401, 401]
    assert not any("secret-challenge" in a.body for a in answers)


# At most once per event_id -------------------------------------------------------------


signatures: list[str] = []


def send(slack: SlackHTTP, event_id: str, retry: int = 0, user: str = "U1") -> Response:
    """The event as Slack sends it: a retry comes later, so with a later timestamp and
    another signature (which the edge's replay check of signatures would not catch)."""
    body = event_callback_body(joined(user), event_id=event_id)
    headers = signed_headers(SECRET, body, timestamp=int(time.time()) + retry, content_type=JSON)
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    signatures.append(headers["X-Slack-Signature"])
    return slack.post(body, headers)


def test_an_event_and_slacks_two_retries_of_it_are_handled_once(
    slack: SlackHTTP, counted: Counted
) -> None:
    event_id = new_event_id()
    signatures.clear()

    answers = [send(slack, event_id), send(slack, event_id, 1), send(slack, event_id, 2)]

    assert len(set(signatures)) == 3  # three signatures, one event
    assert [a.status for a in answers] == [200, 200, 200]
    assert [a.body for a in answers[1:]] == ["", ""]
    assert counted.ids == [event_id]


def test_another_event_is_handled_again(slack: SlackHTTP, counted: Counted) -> None:
    first, second = new_event_id(), new_event_id()

    for event_id in (first, second, first, second):
        assert send(slack, event_id).status == 200

    assert counted.ids == [first, second]


def test_the_same_signed_copy_sent_again_is_handled_once(
    slack: SlackHTTP, counted: Counted
) -> None:
    body = event_callback_body(joined())
    headers = signed_headers(SECRET, body, content_type=JSON)

    assert [slack.post(body, headers).status for _ in range(2)] == [200, 200]

    assert len(counted.ids) == 1


def test_a_retry_that_reaches_another_process_is_not_handled_again(
    settings: Settings, clock: FrozenClock, standin: SlackStandIn, counted: Counted
) -> None:
    event_id = new_event_id()

    with (
        another_process(settings, clock, standin, counted) as one,
        another_process(settings, clock, standin, counted) as two,
    ):
        answers = [send(one, event_id), send(two, event_id, 1), send(one, event_id, 2)]

    assert [a.status for a in answers] == [200, 200, 200]
    assert counted.ids == [event_id]


def test_a_retry_is_counted_in_the_metrics_as_a_replay(slack: SlackHTTP) -> None:
    replay = {"kind": "event", "outcome": "replay", "status": "200"}
    handled = {"kind": "event", "outcome": "ok", "status": "200"}
    event_id = new_event_id()
    before = slack.get("/metrics").body

    send(slack, event_id)
    send(slack, event_id, 1)

    after = slack.get("/metrics").body
    total = "cop_requests_total"
    assert sample(after, total, **replay) == sample(before, total, **replay) + 1
    assert sample(after, total, **handled) == sample(before, total, **handled) + 1


def test_an_event_id_is_kept_as_long_as_a_signature_then_forgotten(
    settings: Settings, services: Services, counted: Counted
) -> None:
    """The same expiry as every request's key: ten minutes (Slack retries for about five)."""
    now = [float(int(time.time()))]
    app = build_app(settings, services)
    counted.register(app)
    edge = Edge(app, services, now=lambda: now[0])
    event_id = new_event_id()

    def deliver(retry: int) -> int:
        body = event_callback_body(joined(), event_id=event_id)
        headers = signed_headers(SECRET, body, timestamp=int(now[0]), content_type=JSON)
        if retry:
            headers["X-Slack-Retry-Num"] = str(retry)
        return edge.handle(body.encode(), headers).status

    assert deliver(0) == 200
    now[0] += 5 * 60  # Slack's last retry comes about five minutes after the event
    assert deliver(3) == 200
    assert counted.ids == [event_id]

    # Ten and a half minutes on the key has expired (deleted in this request's batch):
    # long after Slack stopped retrying, the id is new again, as a signature would be.
    now[0] += 5 * 60 + 30
    assert deliver(0) == 200
    assert counted.ids == [event_id, event_id]
    now[0] += 61
    assert deliver(1) == 200
    assert counted.ids == [event_id, event_id]
