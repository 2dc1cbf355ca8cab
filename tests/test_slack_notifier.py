"""The Notifier over slack_sdk's WebClient and its retry handlers, against the Slack stand-in."""

from __future__ import annotations

import pytest

from bot.notifier import DeliveryError, Message
from bot.sandbox.standin import SlackStandIn
from bot.slack_notifier import SlackNotifier, WithinDeadline, make_web_client


@pytest.fixture
def notifier(standin: SlackStandIn) -> SlackNotifier:
    return SlackNotifier(make_web_client("xoxb-test", standin.api_url, timeout=5))


def test_a_dm_lands_in_the_users_dm_with_text_and_blocks(
    notifier: SlackNotifier, standin: SlackStandIn
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Welkom"}}]
    ts = notifier.send_dm("U1", Message(text="Welkom", blocks=blocks))
    (call,) = standin.calls("chat.postMessage")
    assert call.args["channel"] == "U1"
    assert call.args["blocks"] == blocks
    assert call.token == "xoxb-test"
    assert ts == call.response["ts"]


def test_a_429_waits_for_retry_after_then_succeeds(
    notifier: SlackNotifier, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[tuple[float, int]] = []

    def sleep(seconds: float) -> None:  # what is waited, and how many calls came before
        slept.append((seconds, len(standin.calls("chat.postMessage"))))

    monkeypatch.setattr(WithinDeadline, "sleep", staticmethod(sleep))
    standin.fail("chat.postMessage", status=429, retry_after=1)
    notifier.send_dm("U1", Message(text="na de pauze"))
    calls = standin.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    # Retry-After (plus up to a second of jitter) was waited, between the two calls.
    [(wait, before)] = slept
    assert 1.0 <= wait < 2.0
    assert before == 1


def test_a_server_error_is_retried(notifier: SlackNotifier, standin: SlackStandIn) -> None:
    standin.fail("chat.postMessage", status=500)
    notifier.send_dm("U1", Message(text="tweede poging"))
    assert [c.status for c in standin.calls("chat.postMessage")] == [500, 200]


@pytest.mark.parametrize("error", ["channel_not_found", "is_archived", "user_not_found"])
def test_a_permanent_error_raises_delivery_error_marked_permanent(
    notifier: SlackNotifier, standin: SlackStandIn, error: str
) -> None:
    standin.fail("chat.postMessage", error=error)
    with pytest.raises(DeliveryError) as caught:
        notifier.post("C1", Message(text="x"))
    assert caught.value.error == error
    assert caught.value.permanent
    assert len(standin.calls("chat.postMessage")) == 1


def test_inviting_someone_already_in_the_channel_is_not_an_error(
    notifier: SlackNotifier, standin: SlackStandIn
) -> None:
    standin.add_channel("C0ETHIEK")
    assert notifier.invite("C0ETHIEK", "U1") is True
    assert notifier.invite("C0ETHIEK", "U1") is False
    assert standin.channel_members("C0ETHIEK") == {"U1"}


def test_a_server_error_that_persists_is_reported_as_a_retryable_failure(
    notifier: SlackNotifier, standin: SlackStandIn
) -> None:
    for _ in range(4):
        standin.fail("chat.postMessage", status=500)
    with pytest.raises(DeliveryError) as raised:
        notifier.send_dm("U1", Message(text="blijft misgaan"))
    assert not raised.value.permanent
    # The first try and three retries, then it gives up: the ledger retries later.
    assert [c.status for c in standin.calls("chat.postMessage")] == [500] * 4


def test_metadata_and_blocks_reach_slack_as_sent(
    notifier: SlackNotifier, standin: SlackStandIn
) -> None:
    metadata = {"event_type": "cop_reminder", "event_payload": {"key": "d-7"}}
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Herinnering &amp; meer"}}]
    notifier.post("C1", Message(text="Herinnering", blocks=blocks, metadata=metadata))
    (call,) = standin.calls("chat.postMessage")
    assert call.args["metadata"] == metadata
    assert call.args["blocks"] == blocks
    assert call.args["unfurl_links"] is False
