"""The edge verifies every request before anything of it is used, and serves each signed
request once: sizes, malformed headers, bodies that are not UTF-8, replays, expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import make_server
from wsgiref.util import setup_testing_defaults

import pytest
from slack_bolt import BoltRequest
from slack_bolt.context.respond import Respond
from sqlalchemy import func, select, text

from bot.app import build_app, build_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.edge import MAX_BODY_BYTES, Edge
from bot.runtime import Services
from bot.sandbox.console import Console
from bot.sandbox.signed import block_actions_body, signed_headers, slash_command_body
from bot.sandbox.standin import SlackStandIn
from bot.server import make_wsgi
from bot.services import membership
from handlers.errors import VERIFIED, make_error_handler
from storage.models import Question, TopicVote
from storage.replays import SeenRequests
from tests.conftest import SECRET, Response, _QuietHandler, _ThreadingWSGIServer
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, buttons, texts
from tests.waiting import wait_until

FORM = "application/x-www-form-urlencoded"
JUNK = "v0=" + "0" * 64
TIMESTAMP, SIGNATURE = "X-Slack-Request-Timestamp", "X-Slack-Signature"
MARKER = "BODY-MARKER-7Q"  # must never reach a log line


@pytest.fixture
def ethiek(services: Services) -> None:
    add_community(services.db, "ethiek", name="Ethiek")
    with services.db.write() as session:
        for user in ("U1", "U2"):
            membership.join(session, query="ethiek", user_id=user, now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip


def _post(base_url: str, body: bytes, headers: dict[str, str]) -> Response:
    request = urllib.request.Request(
        base_url + "/slack/events", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Response(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read().decode())


def _sign_bytes(body: bytes, timestamp: int) -> dict[str, str]:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
    }


def _questions(services: Services) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(Question)) or 0


def _seen(services: Services) -> int:
    return SeenRequests(services.db).count()


def _ask(standin: SlackStandIn, question: str = "Wie heeft ervaring?") -> str:
    return slash_command_body(
        user_id="U1", text=f"vraag ethiek {question}", response_url=standin.response_url()
    )


def _wsgi_call(wsgi: Any, environ: dict[str, Any]) -> tuple[str, bytes]:
    setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(wsgi(environ, lambda s, headers, exc=None: status.append(s)))
    return status[0], body


@contextmanager
def _served(settings: Settings, clock: FrozenClock) -> Iterator[tuple[str, Services]]:
    """Another `cop-bot serve` process on the same database: its own Services and app."""
    services = build_services(settings, clock=clock)
    server = make_server(
        "127.0.0.1", 0, make_wsgi(build_app(settings, services), services),
        server_class=_ThreadingWSGIServer, handler_class=_QuietHandler,
    )  # fmt: skip
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", services
    finally:
        server.shutdown()
        server.server_close()
        assert services.wait_idle(5)
        services.shutdown()


# Verify first -------------------------------------------------------------------------


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize("timestamp", ["abc", "", "1e3", "0x10"])
def test_a_malformed_timestamp_gets_401_and_nothing_of_the_body_is_used(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    caplog: pytest.LogCaptureFixture,
    timestamp: str,
) -> None:
    click = block_actions_body(
        user_id="U1", action_id="join_community", value=MARKER,
        response_url=standin.response_url(),
    )  # fmt: skip
    ask = _ask(standin, MARKER)
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": JUNK,
    }

    with caplog.at_level(logging.DEBUG):
        answers = [slack.post(click, headers), slack.post(ask, headers)]

    assert [a.status for a in answers] == [401, 401]
    assert services.wait_idle(5)
    assert standin.calls() == []  # no apology POSTed to the response_url the body named
    assert _questions(services) == 0  # no listener ran
    assert MARKER not in caplog.text
    assert len([r for r in caplog.records if r.name == "cop_bot"]) == 2


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("no timestamp", {SIGNATURE: JUNK}),
        ("no signature", {TIMESTAMP: "TS"}),
        ("signature not v0= and hex", {TIMESTAMP: "TS", SIGNATURE: "v0=" + "g" * 64}),
        ("timestamp in non-ASCII digits", {TIMESTAMP: "١٢٣", SIGNATURE: JUNK}),
    ],
)  # fmt: skip
def test_missing_or_malformed_signature_headers_get_401(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    name: str,
    headers: dict[str, str],
) -> None:
    body = _ask(standin)
    sent = {k: v.replace("TS", str(int(time.time()))) for k, v in headers.items()}
    sent["Content-Type"] = FORM

    response = slack.post(body, sent) if name != "timestamp in non-ASCII digits" else None
    if response is None:  # http.client sends headers as Latin-1: go to the edge itself
        edge = Edge(build_app(services.settings, services), services)
        status = edge.handle(body.encode(), sent).status
    else:
        status = response.status

    assert status == 401
    assert _questions(services) == 0


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize("offset", [-5 * 60 - 2, 5 * 60 + 2])
def test_a_signed_request_more_than_five_minutes_old_or_ahead_gets_401(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, offset: int
) -> None:
    body = _ask(standin)

    response = slack.post(body, signed_headers(SECRET, body, timestamp=int(time.time()) + offset))

    assert response.status == 401
    assert _questions(services) == 0


@pytest.mark.usefixtures("ethiek")
def test_a_signed_body_that_is_not_utf8_gets_400(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    body = _ask(standin).encode() + b"%20\xff\xfe"

    response = _post(slack.base_url, body, _sign_bytes(body, int(time.time())))

    assert response.status == 400
    assert _questions(services) == 0


@pytest.mark.parametrize(
    "body",
    [
        "payload=",
        "payload=%5B%5D",  # []
        "payload=null",
        "payload=%7Bnot+json",
        "command=%2Fcop&text=vraag+ethiek+Wie%3F",  # no user_id
        'payload={"type":"block_actions","actions":[{"action_id":"x"}]}',  # no user
        'payload={"type":"block_actions","user":{"id":"U1"},"actions":[]}',
        'payload={"type":"view_submission","user":{"id":"U1"},"view":"x"}',
    ],
)
@pytest.mark.usefixtures("ethiek")
def test_a_signed_body_that_is_no_slack_payload_gets_400_and_runs_nothing(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    caplog: pytest.LogCaptureFixture,
    body: str,
) -> None:
    with caplog.at_level(logging.INFO, logger="cop_bot"):
        response = slack.post(body, signed_headers(SECRET, body))

    assert response.status == 400
    assert _questions(services) == 0
    assert standin.calls("response_url") == []
    [line] = [r for r in caplog.records if r.getMessage().startswith("edge:")]
    assert "400" in line.getMessage() and line.exc_info is None


def test_an_unsigned_body_over_the_limit_gets_413_before_it_is_read(
    slack: CheckedSlack, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = slack.base_url.removeprefix("http://").split(":")
    twenty_mib = 20 * 1024 * 1024
    with caplog.at_level(logging.DEBUG), socket.create_connection((host, int(port))) as conn:
        # Only the headers: an answer that came without the body proves it was not read.
        conn.sendall(
            f"POST /slack/events HTTP/1.1\r\nHost: {host}\r\nContent-Type: {FORM}\r\n"
            f"Content-Length: {twenty_mib}\r\n\r\n".encode()
        )
        conn.settimeout(5)
        answer = conn.recv(4096).decode()

    assert answer.startswith("HTTP/1.0 413") or answer.startswith("HTTP/1.1 413")
    [line] = [r.getMessage() for r in caplog.records]
    assert line == f"edge: refused with 413: declared over the limit ({twenty_mib} bytes)"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no content-length"])
def test_a_20_mib_body_is_refused_reading_at_most_one_byte_past_the_limit(
    settings: Settings, services: Services, caplog: pytest.LogCaptureFixture, declared: bool
) -> None:
    wsgi = make_wsgi(build_app(settings, services), services)
    stream = io.BytesIO(b"x" * (20 * 1024 * 1024))
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "wsgi.input": stream,
        "CONTENT_TYPE": FORM,
    }  # fmt: skip
    if declared:
        environ["CONTENT_LENGTH"] = str(20 * 1024 * 1024)

    with caplog.at_level(logging.DEBUG):
        status, _ = _wsgi_call(wsgi, environ)

    assert status.startswith("413")
    assert stream.tell() == (0 if declared else MAX_BODY_BYTES + 1)
    [record] = caplog.records
    assert len(record.getMessage()) < 100
    assert "xxx" not in record.getMessage()


def test_a_request_at_the_size_limit_is_verified_as_usual(
    settings: Settings, services: Services
) -> None:
    wsgi = make_wsgi(build_app(settings, services), services)
    body = b"x" * MAX_BODY_BYTES
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": FORM,
    }  # fmt: skip

    status, _ = _wsgi_call(wsgi, environ)

    assert status.startswith("401")


def test_the_console_goes_through_the_same_verification(
    settings: Settings, services: Services, standin: SlackStandIn
) -> None:
    app = build_app(settings, services)
    body = slash_command_body(user_id="U1", text="hulp", response_url=standin.response_url())

    wrong = Console(app, services, standin, "not-the-secret", "U1", out=io.StringIO())
    right = Console(app, services, standin, SECRET, "U1", out=io.StringIO())

    assert wrong.dispatch(body)[0] == 401
    assert right.dispatch(body)[0] == 200


# The error handler ----------------------------------------------------------------------


def test_the_error_handler_answers_at_a_response_url_only_for_a_verified_request(
    services: Services, standin: SlackStandIn
) -> None:
    handle_error = make_error_handler(services.translator, services.in_background)
    url = standin.response_url()
    body = block_actions_body(user_id="U1", action_id="x", value="y", response_url=url)

    def fail(request: BoltRequest) -> int:
        response = handle_error(
            error=RuntimeError("boom"), body=request.body, respond=Respond(response_url=url),
            request=request,
        )  # fmt: skip
        return int(response.status)

    unverified = BoltRequest(body=body, headers={"content-type": FORM})
    assert fail(unverified) == 401
    assert standin.calls("response_url") == []

    verified = BoltRequest(body=body, headers={"content-type": FORM}, context={VERIFIED: True})
    socket_mode = BoltRequest(body=unverified.body, mode="socket_mode")
    assert [fail(verified), fail(socket_mode)] == [200, 200]
    assert len(standin.calls("response_url")) == 2


# Replays ------------------------------------------------------------------------------


@pytest.mark.usefixtures("ethiek")
def test_a_replayed_question_is_answered_empty_and_stored_once(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    body = _ask(standin)
    headers = signed_headers(SECRET, body)

    first = slack.post(body, headers)
    again = slack.post(body, headers)

    assert first.status == 200 and "#" in texts(first.json())
    assert (again.status, again.body) == (200, "")
    assert _questions(services) == 1


@pytest.mark.usefixtures("ethiek")
def test_a_replayed_vote_click_does_not_take_the_vote_back(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    reply = slack.command("U1", "onderwerp ethiek Algoritmeregister").json()
    [vote] = [b for b in buttons(reply) if b["action_id"].startswith("topic_vote")]
    body = block_actions_body(
        user_id="U2", action_id=vote["action_id"], value=vote["value"],
        response_url=standin.response_url(),
    )  # fmt: skip
    headers = signed_headers(SECRET, body)

    assert slack.post(body, headers).status == 200
    assert slack.post(body, headers).status == 200

    assert services.wait_idle(5)
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(TopicVote)) == 1


@pytest.mark.usefixtures("ethiek")
def test_a_request_replayed_to_another_process_has_no_effect(
    settings: Settings, services: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    body = _ask(standin)
    headers = signed_headers(SECRET, body)

    with _served(settings, clock) as (one, _), _served(settings, clock) as (two, _):
        first = _post(one, body.encode(), headers)
        again = _post(two, body.encode(), headers)

    assert first.status == 200
    assert (again.status, again.body) == (200, "")
    assert _questions(services) == 1


@pytest.mark.usefixtures("ethiek")
def test_seen_requests_expire_after_twice_the_window_at_most_once_a_minute(
    settings: Settings, services: Services, standin: SlackStandIn
) -> None:
    now = [float(int(time.time()))]
    edge = Edge(build_app(settings, services), services, now=lambda: now[0])

    def ask(question: str) -> tuple[str, dict[str, str]]:
        body = _ask(standin, question)
        return body, signed_headers(SECRET, body, timestamp=int(now[0]))

    first = ask("Eerste vraag?")
    assert edge.handle(first[0].encode(), first[1]).status == 200
    now[0] += 30
    second = ask("Tweede vraag?")
    assert edge.handle(second[0].encode(), second[1]).status == 200
    assert _seen(services) == 2

    now[0] += 10 * 60 - 10  # the first is 10 min 20 s old, the second 9 min 50 s
    third = ask("Derde vraag?")
    assert edge.handle(third[0].encode(), third[1]).status == 200
    assert _seen(services) == 2  # the first is gone, the second kept
    # Gone is safe: the window refuses it by itself.
    assert edge.handle(first[0].encode(), first[1]).status == 401

    now[0] += 30  # the second is now old, but a minute has not passed since the last expiry
    fourth = ask("Vierde vraag?")
    assert edge.handle(fourth[0].encode(), fourth[1]).status == 200
    assert _seen(services) == 3
    assert _questions(services) == 4


def test_the_store_keeps_a_key_once_and_forgets_what_is_old(
    db_url: str, services: Services
) -> None:
    seen = SeenRequests(services.db)
    t0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)

    assert seen.remember(b"a" * 32, now=t0) is True
    assert seen.remember(b"a" * 32, now=t0 + dt.timedelta(seconds=1)) is False
    assert seen.remember(b"b" * 32, now=t0 + dt.timedelta(minutes=5)) is True
    assert seen.forget(before=t0 + dt.timedelta(minutes=1)) == 1
    assert seen.remember(b"a" * 32, now=t0 + dt.timedelta(minutes=6)) is True


def test_keys_that_arrive_together_are_written_in_one_batch_and_a_copy_is_a_replay(
    db_url: str, services: Services
) -> None:
    """Requests whose keys wait while the store's lock is held are written together once it
    comes free: each distinct key is new, and of two copies of one key only the first."""
    seen = SeenRequests(services.db)
    if not seen.db.is_sqlite:
        pytest.skip("PostgreSQL writes a key in autocommit: there is no lock to queue on")
    t0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    keys = [b"a" * 32, b"b" * 32, b"c" * 32, b"a" * 32]
    results: dict[int, bool] = {}
    with seen.db.raw_write(hooks=False):  # the lock the store takes for every batch
        threads = [
            threading.Thread(target=lambda i=i: results.update({i: seen.remember(keys[i], now=t0)}))
            for i in range(len(keys))
        ]
        for thread in threads:
            thread.start()
        # All four queued behind the held lock (nothing signals a queued key: look).
        wait_until(lambda: seen.waiting >= len(keys), "the keys to queue")
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == [0, 1, 2, 3]
    assert [results[i] for i in (1, 2)] == [True, True]
    assert sorted([results[0], results[3]]) == [False, True]  # one of the two copies is new
    assert seen.count() == 3


def test_one_key_sent_by_many_threads_at_once_is_new_exactly_once(
    db_url: str, services: Services
) -> None:
    seen = SeenRequests(services.db)
    t0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    start = threading.Barrier(12)
    results: list[bool] = []

    def send() -> None:
        start.wait()
        results.append(seen.remember(b"k" * 32, now=t0))

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == [False] * 11 + [True]


@pytest.mark.usefixtures("ethiek")
def test_when_the_replay_check_cannot_be_made_nothing_runs_and_the_user_gets_an_apology(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    with services.db.seen_requests_db.engine.begin() as conn:
        conn.execute(text("DROP TABLE seen_requests"))

    with caplog.at_level(logging.ERROR, logger="cop_bot"):
        response = slack.command("U1", "vraag ethiek Wie heeft ervaring?")

    assert response.status == 200
    assert "referentie" in texts(response.json())
    assert "edge: replay check failed (ref" in caplog.text
    assert _questions(services) == 0
