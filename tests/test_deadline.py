"""The request's deadline in the web client: inside a request every Slack call, retry and
wait ends before it; outside one (pools: background work, deliveries, reminders) nothing
changes. Against the Slack stand-in; bot/deadline.py's `running` stands for a request."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot import deadline
from bot.deadline import Deadline, SlackTooSlow
from bot.notifier import Message
from bot.sandbox.standin import SlackStandIn
from bot.slack_notifier import (
    DeadlineRateLimitErrorRetryHandler,
    DeadlineServerErrorRetryHandler,
    DeadlineWebClient,
    SlackNotifier,
    make_web_client,
)


@pytest.fixture
def slept() -> list[float]:
    """What the client's retries waited (through WithinDeadline.sleep), not waited here."""
    return []


@pytest.fixture
def client(standin: SlackStandIn, slept: list[float]) -> DeadlineWebClient:
    client = make_web_client("xoxb-test", standin.api_url)
    for handler in client.retry_handlers:
        if isinstance(handler, DeadlineRateLimitErrorRetryHandler):
            handler.sleep = slept.append  # type: ignore[method-assign]
    return client


def test_a_retry_after_longer_than_the_time_left_is_not_waited_out(
    client: DeadlineWebClient, standin: SlackStandIn, slept: list[float]
) -> None:
    standin.fail("views.open", status=429, retry_after=8)

    with deadline.running(), pytest.raises(SlackTooSlow) as raised:
        client.views_open(trigger_id="1.2.3", view={"type": "modal"})

    assert raised.value.method == "views.open"
    assert [c.status for c in standin.calls("views.open")] == [429]
    assert slept == []


def test_a_retry_after_that_fits_is_waited_out_inside_a_request(
    client: DeadlineWebClient, standin: SlackStandIn, slept: list[float]
) -> None:
    standin.fail("views.open", status=429, retry_after=1)

    with deadline.running():
        assert client.views_open(trigger_id="1.2.3", view={"type": "modal"})["ok"]

    assert [c.status for c in standin.calls("views.open")] == [429, 200]
    [wait] = slept
    assert 1 <= wait < 2  # Retry-After plus slack_sdk's up to a second of jitter


def test_the_same_rate_limit_is_waited_out_outside_a_request(
    client: DeadlineWebClient, standin: SlackStandIn, slept: list[float]
) -> None:
    standin.fail("views.open", status=429, retry_after=3)

    assert client.views_open(trigger_id="1.2.3", view={"type": "modal"})["ok"]

    first, second = standin.calls("views.open")
    assert (first.status, second.status) == (429, 200)
    [wait] = slept
    assert 3 <= wait < 4


def test_server_error_retries_stop_at_the_deadline(
    client: DeadlineWebClient, standin: SlackStandIn
) -> None:
    # slack_sdk's back-off (0.5 s, 1 s, 2 s, each plus up to 1 s) outlasts 2.5 s.
    standin.fail("views.open", status=500, times=4)

    with deadline.running(), pytest.raises(SlackTooSlow):
        client.views_open(trigger_id="1.2.3", view={"type": "modal"})

    assert 1 <= len(standin.calls("views.open")) < 4


def test_outside_a_request_server_errors_get_all_their_retries(
    client: DeadlineWebClient, standin: SlackStandIn
) -> None:
    for handler in client.retry_handlers:
        if isinstance(handler, DeadlineServerErrorRetryHandler):
            handler.interval_calculator = FixedValueRetryIntervalCalculator(0.0)
    standin.fail("views.open", status=500, times=4)

    with pytest.raises(SlackApiError):
        client.views_open(trigger_id="1.2.3", view={"type": "modal"})

    assert len(standin.calls("views.open")) == 4


def test_a_call_without_an_answer_in_time_ends_at_the_deadline(
    client: DeadlineWebClient, standin: SlackStandIn
) -> None:
    held = standin.hold("views.open", timeout=30)  # Slack does not answer (for 30 s)

    with deadline.running():
        # What each HTTP attempt may wait for an answer: the time left, not the 10 s.
        assert client.timeout <= deadline.REQUEST_BUDGET_SECONDS < client.configured_timeout
        with pytest.raises(SlackTooSlow) as raised:
            client.views_open(trigger_id="1.2.3", view={"type": "modal"})

    # It gave up while Slack still held the call: the answer had not come.
    assert held.arrived.is_set()
    assert standin.calls("views.open") == []
    assert raised.value.why == "no answer before the deadline"
    held.release()


def test_no_call_starts_once_the_deadline_has_passed(
    client: DeadlineWebClient, standin: SlackStandIn
) -> None:
    with deadline.resumed(Deadline(time.monotonic() - 1)), pytest.raises(SlackTooSlow):
        client.views_open(trigger_id="1.2.3", view={"type": "modal"})

    assert standin.calls() == []


def test_a_dm_in_a_request_is_not_held_up_by_a_long_retry_after(
    client: DeadlineWebClient, standin: SlackStandIn
) -> None:
    standin.fail("chat.postMessage", status=429, retry_after=8)

    with deadline.running(), pytest.raises(SlackTooSlow):
        SlackNotifier(client).send_dm("U1", Message(text="hallo"))

    assert [c.status for c in standin.calls("chat.postMessage")] == [429]


def test_a_dm_in_a_request_does_not_wait_for_a_slow_slack(
    client: DeadlineWebClient, standin: SlackStandIn
) -> None:
    held = standin.hold("chat.postMessage", timeout=30)  # Slack does not answer (for 30 s)

    with deadline.running(), pytest.raises(SlackTooSlow):
        SlackNotifier(client).send_dm("U1", Message(text="hallo"))

    assert held.arrived.is_set()
    assert standin.calls("chat.postMessage") == []  # given up before the answer came
    held.release()


def test_work_handed_to_a_pool_runs_without_the_requests_deadline() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool, deadline.running() as running:
        assert deadline.current() is running
        assert pool.submit(deadline.current).result() is None
    assert deadline.current() is None
