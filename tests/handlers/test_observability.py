"""/metrics, /readyz and the logs, against the real app over HTTP: requests, refusals at
the edge and deliveries are counted with bounded labels; readiness follows the
scheduler's heartbeat and the backlog; JSON log lines carry request id and reference."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot import deadline, logs
from bot.health import start_server
from bot.runtime import RequestPool, Services
from bot.sandbox.signed import signed_headers, slash_command_body
from bot.sandbox.standin import SlackStandIn
from bot.services import outbox
from storage import health
from tests.conftest import SECRET
from tests.factories import add_community
from tests.handlers.support import CheckedSlack
from tests.metrics_support import names, sample

REFERENCE = re.compile(r"referentie `([0-9A-F]{8})`")


def _metrics(slack: CheckedSlack) -> str:
    response = slack.get("/metrics")
    assert response.status == 200
    return response.body


def _requests(body: str, **labels: str) -> float:
    return sample(body, "cop_requests_total", **labels)


def test_a_signed_command_moves_the_request_counter_and_the_latency_histogram(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek")
    ok = {"kind": "command", "subcommand": "list", "outcome": "ok", "status": "200"}
    before = _metrics(slack)

    assert slack.command("U1", "lijst").status == 200
    assert slack.command("U1", "list").status == 200  # the English word counts as the same

    after = _metrics(slack)
    assert _requests(after, **ok) == _requests(before, **ok) + 2
    count = "cop_answer_seconds_count"
    assert sample(after, count, kind="command") == sample(before, count, kind="command") + 2
    # Both fell in a bucket: the histogram's +Inf bucket counts every observation.
    inf = sample(after, "cop_answer_seconds_bucket", kind="command", le="+Inf")
    assert inf == sample(after, count, kind="command")


def test_what_a_user_typed_never_becomes_a_label(slack: CheckedSlack) -> None:
    before = _metrics(slack)

    slack.command("U1", "geheimwoordje ethiek")

    after = _metrics(slack)
    unknown = {"kind": "command", "subcommand": "unknown", "outcome": "ok"}
    assert _requests(after, **unknown) == _requests(before, **unknown) + 1
    assert "geheimwoordje" not in after


def test_refusals_at_the_edge_are_counted_by_status(slack: CheckedSlack) -> None:
    refused = {"kind": "unknown", "outcome": "refused", "status": "401"}
    before = _metrics(slack)

    forged = slack.post("text=lijst", {"X-Slack-Signature": "v0=" + "0" * 64,
                                        "X-Slack-Request-Timestamp": "1"})  # fmt: skip
    unsigned = slack.post("text=lijst", {})

    assert (forged.status, unsigned.status) == (401, 401)
    after = _metrics(slack)
    assert _requests(after, **refused) == _requests(before, **refused) + 2


def test_a_replayed_request_is_counted_as_such(slack: CheckedSlack) -> None:
    body = slash_command_body(user_id="U1", text="lijst", response_url=slack.standin.response_url())
    headers = signed_headers(SECRET, body)
    replay = {"kind": "command", "outcome": "replay", "status": "200"}
    assert slack.post(body, headers).status == 200
    before = _metrics(slack)

    assert slack.post(body, headers).status == 200

    assert _requests(_metrics(slack), **replay) == _requests(before, **replay) + 1


def test_an_internal_failure_is_counted_as_an_error(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "ethiek")
    error = {"kind": "command", "subcommand": "mine", "outcome": "error"}
    before = _metrics(slack)
    cascade = "" if services.db.is_sqlite else " CASCADE"
    with services.db.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE memberships{cascade}"))

    assert "referentie" in slack.command("U1", "mijn").json()["text"]

    assert _requests(_metrics(slack), **error) == _requests(before, **error) + 1


def test_a_join_moves_the_welcome_delivery_counter(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek")
    before = _metrics(slack)

    slack.command("U0ALICE", "aanmelden ethiek")
    standin.wait_for("chat.postMessage", 1, timeout=10)
    assert services.wait_idle(10)

    after = _metrics(slack)
    sent = "cop_deliveries_total"
    assert sample(after, sent, kind="welcome", outcome="sent") == (
        sample(before, sent, kind="welcome", outcome="sent") + 1
    )


def test_metrics_hold_the_backlog_read_from_the_database(
    slack: CheckedSlack, services: Services
) -> None:
    now = services.clock()
    with services.db.write() as session:
        outbox.enqueue(session, kind=outbox.WELCOME, recipient="U1", subject="ethiek",
                       now=now - dt.timedelta(seconds=90))  # fmt: skip

    body = _metrics(slack)

    assert sample(body, "cop_database_up") == 1
    assert sample(body, "cop_backlog_items", queue="welcome") == 1
    assert sample(body, "cop_backlog_oldest_seconds", queue="welcome") == 90
    assert sample(body, "cop_backlog_items", queue="reminders") == 0
    assert "cop_scheduler_owner" in names(body)


# Readiness ----------------------------------------------------------------------------


def _ready(slack: CheckedSlack) -> tuple[int, dict]:
    response = slack.get("/readyz")
    return response.status, response.json()


def _beat(services: Services, seconds_ago: float) -> None:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    health.beat(services.db, owner="test:1:abc", at=at)


def test_readyz_is_503_until_a_scheduler_owner_has_swept(
    slack: CheckedSlack, services: Services
) -> None:
    status, body = _ready(slack)
    assert status == 503
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["scheduler"]["ok"] is False
    assert body["checks"]["backlog"]["ok"] is True

    _beat(services, 1)

    status, body = _ready(slack)
    assert status == 200
    assert body["ok"] is True
    assert body["checks"]["scheduler"]["ok"] is True


def test_readyz_is_503_when_the_heartbeat_is_old(slack: CheckedSlack, services: Services) -> None:
    _beat(services, 1)
    assert _ready(slack)[0] == 200

    _beat(services, 10 * 60)  # updated in place: one row

    status, body = _ready(slack)
    assert status == 503
    assert body["checks"]["scheduler"]["ok"] is False
    assert body["checks"]["scheduler"]["heartbeat_age_seconds"] >= 600
    with services.db.read() as session:
        assert session.execute(text("SELECT COUNT(*) FROM scheduler_heartbeat")).scalar() == 1


@pytest.mark.parametrize(("age", "ready"), [(299, True), (301, False)])
def test_readyz_is_503_when_the_oldest_due_item_waited_too_long(
    slack: CheckedSlack, services: Services, age: int, ready: bool
) -> None:
    _beat(services, 1)
    now = services.clock()
    with services.db.write() as session:
        outbox.enqueue(session, kind=outbox.WELCOME_CALENDAR, recipient="U1", subject="ethiek",
                       now=now - dt.timedelta(seconds=age))  # fmt: skip
        outbox.enqueue(session, kind=outbox.WELCOME, recipient="U2", subject="ethiek", now=now)

    status, body = _ready(slack)

    assert (status, body["ok"]) == ((200, True) if ready else (503, False))
    backlog = body["checks"]["backlog"]
    assert backlog["ok"] is ready
    assert backlog["oldest_seconds"] == age
    assert backlog["limit_seconds"] == 300
    assert backlog["queues"]["welcome_calendar"] == {"items": 1, "oldest_seconds": age}
    assert backlog["queues"]["welcome"] == {"items": 1, "oldest_seconds": 0}


def test_an_item_waiting_for_a_later_retry_is_not_overdue(
    slack: CheckedSlack, services: Services
) -> None:
    _beat(services, 1)
    now = services.clock()
    with services.db.write() as session:
        outbox.enqueue(session, kind=outbox.WELCOME, recipient="U1", subject="ethiek",
                       now=now + dt.timedelta(minutes=2))  # fmt: skip

    assert _ready(slack)[0] == 200


def test_healthz_keeps_its_answer(slack: CheckedSlack) -> None:
    response = slack.get("/healthz")
    assert (response.status, response.json()) == (200, {"ok": True, "database": "up"})


# The small health server of Socket Mode and a lone delivery process --------------------


@pytest.fixture
def health_server(services: Services) -> Iterator[str]:
    server = start_server(services, port=0, host="127.0.0.1")
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_the_health_server_answers_healthz_readyz_and_metrics(
    health_server: str, services: Services
) -> None:
    assert _get(health_server + "/healthz")[::2] == (200, '{"ok": true, "database": "up"}')
    status, _, body = _get(health_server + "/readyz")
    assert status == 503 and json.loads(body)["checks"]["scheduler"]["ok"] is False
    _beat(services, 0)
    assert _get(health_server + "/readyz")[0] == 200
    status, content_type, body = _get(health_server + "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    assert sample(body, "cop_database_up") == 1
    assert _get(health_server + "/slack/events")[0] == 404


# Logs -----------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the root logger writes, as LOG_FORMAT=json writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    handler.addFilter(logs.ContextFilter())
    root, bot = logging.getLogger(), logging.getLogger("cop_bot")
    level = bot.level
    bot.setLevel(logging.INFO)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    bot.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_log_lines_carry_the_request_id_and_the_error_reference(
    slack: CheckedSlack, services: Services, json_log: io.StringIO
) -> None:
    add_community(services.db, "ethiek")
    cascade = "" if services.db.is_sqlite else " CASCADE"
    with services.db.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE memberships{cascade}"))

    first = slack.command("U1", "mijn").json()["text"]
    second = slack.command("U1", "mijn").json()["text"]
    slack.post("text=lijst", {})  # refused at the edge: a line of a request of its own

    lines = _lines(json_log)
    references = [REFERENCE.search(t).group(1) for t in (first, second)]  # type: ignore[union-attr]
    errors = [line for line in lines if line.get("error_ref")]
    assert [line["error_ref"] for line in errors] == references
    for line in errors:
        assert line["level"] == "ERROR"
        assert line["logger"] == "cop_bot"
        assert f"(ref {line['error_ref']})" in line["message"]
        assert "memberships" in line["exc_info"]  # the traceback, in the log only
    refused = [line for line in lines if line["message"].startswith("edge: refused")]
    ids = [line["request_id"] for line in (*errors, *refused)]
    assert len(refused) == 1 and len(set(ids)) == 3  # one id per request, a new one each
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)


def test_work_handed_to_the_pools_logs_with_the_request_id_but_not_its_deadline(
    json_log: io.StringIO,
) -> None:
    pool = RequestPool(max_workers=1)
    seen: list[object] = []

    def work() -> None:
        seen.append(deadline.current())
        logging.getLogger("cop_bot").info("handed on")

    with logs.request_scope("feedc0de") as request_id, deadline.running():
        pool.submit(work).result()
    pool.submit(work).result()  # outside any request
    pool.shutdown()

    inside, outside = _lines(json_log)
    assert request_id == "feedc0de"
    assert inside["request_id"] == "feedc0de"
    assert "request_id" not in outside
    assert seen == [None, None]


def test_plain_text_stays_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    message = "boom (ref ABCDEF12)"
    record = logging.LogRecord("cop_bot", logging.ERROR, __file__, 1, message, (), None)
    logs.ContextFilter().filter(record)

    assert record.error_ref == "ABCDEF12"  # type: ignore[attr-defined]
    line = logs.formatter(logs.chosen_format()).format(record)
    assert line.endswith(" ERROR cop_bot: boom (ref ABCDEF12)")
