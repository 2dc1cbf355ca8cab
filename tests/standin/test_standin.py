"""Tests for the local Slack Web API stand-in, driven by the real slack_sdk WebClient."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from bot.sandbox.standin import Call, SlackStandIn
from bot.slack_scopes import SLACK_RULES

REPO_ROOT = Path(__file__).resolve().parents[2]
# These tests are about how the stand-in answers, not about scopes (tests/standin/
# test_scopes.py): their tokens may call every method it serves.
EVERY_SCOPE = frozenset(s for rule in SLACK_RULES.values() for s in rule.accepted(None))


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(scopes=EVERY_SCOPE) as running:
        yield running


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=standin.api_url)


def _raw_post(
    url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, dict(response.headers), json.loads(response.read())


# -- lifecycle and plumbing ------------------------------------------------------------------


def test_api_url_has_the_trailing_slash_webclient_wants(standin: SlackStandIn) -> None:
    assert standin.api_url == f"http://127.0.0.1:{standin.port}/api/"


def test_healthz_answers_200(standin: SlackStandIn) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{standin.port}/healthz", timeout=5) as resp:
        assert resp.status == 200


def test_stop_is_idempotent_and_frees_the_port() -> None:
    standin = SlackStandIn().start()
    port = standin.port
    standin.stop()
    standin.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_answers_are_json_with_utf8_content_type(standin: SlackStandIn) -> None:
    status, headers, body = _raw_post(
        standin.api_url + "auth.test",
        b"",
        "application/x-www-form-urlencoded",
        {"Authorization": "Bearer xoxb-raw"},
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert body["ok"] is True


def test_keep_alive_connection_serves_several_requests(standin: SlackStandIn) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=5)
    try:
        sockets = []
        for number in range(3):
            connection.request(
                "POST",
                "/api/chat.postMessage",
                body=f"channel=C1&text=hello+{number}",
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": "Bearer xoxb-test",
                },
            )
            response = connection.getresponse()
            assert json.loads(response.read())["ok"] is True
            sockets.append(connection.sock)
        assert sockets[0] is not None
        assert all(sock is sockets[0] for sock in sockets)
    finally:
        connection.close()
    assert [c.args["text"] for c in standin.calls()] == ["hello 0", "hello 1", "hello 2"]


def test_json_body_with_bearer_token_is_accepted(standin: SlackStandIn) -> None:
    _, _, body = _raw_post(
        standin.api_url + "chat.postMessage",
        json.dumps({"channel": "C1", "blocks": [{"type": "divider"}]}).encode(),
        "application/json; charset=utf-8",
        {"Authorization": "Bearer xoxb-json"},
    )
    assert body["ok"] is True
    call = standin.calls("chat.postMessage")[0]
    assert call.token == "xoxb-json"
    assert call.args["blocks"] == [{"type": "divider"}]


def test_form_encoded_blocks_are_decoded_and_token_field_is_taken_out(
    standin: SlackStandIn,
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    client = WebClient(base_url=standin.api_url)
    client.api_call(
        "chat.postMessage",
        params={"token": "xoxb-form", "channel": "C1", "blocks": json.dumps(blocks)},
    )
    call = standin.calls("chat.postMessage")[0]
    assert call.token == "xoxb-form"
    assert "token" not in call.args
    assert call.args["blocks"] == blocks
    assert call.response["message"]["blocks"] == blocks


def test_get_with_query_args_works(standin: SlackStandIn) -> None:
    url = standin.api_url + "users.info?token=xoxb-get&user=U1"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert json.loads(response.read())["user"]["id"] == "U1"
    assert standin.calls()[0].token == "xoxb-get"


# -- auth ------------------------------------------------------------------------------------


def test_auth_test_reports_the_bot_identity(client: WebClient) -> None:
    response = client.auth_test()
    assert response.data == {
        "ok": True,
        "url": "https://copbot-test.slack.com/",
        "team": "CoP test",
        "user": "copbot",
        "team_id": "T0COPBOT",
        "user_id": "UBOT",
        "bot_id": "B0COPBOT",
        "is_enterprise_install": False,
    }


def test_missing_token_is_not_authed(standin: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=standin.api_url).auth_test()
    assert raised.value.response["error"] == "not_authed"


def test_invalid_token_is_refused_with_invalid_auth(standin: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(token="not-a-slack-token", base_url=standin.api_url).auth_test()
    assert raised.value.response["error"] == "invalid_auth"
    assert standin.calls("auth.test")[0].response == {"ok": False, "error": "invalid_auth"}


def test_app_level_token_is_accepted(standin: SlackStandIn) -> None:
    assert WebClient(token="xapp-1-test", base_url=standin.api_url).auth_test()["ok"]


def test_unknown_method_is_reported(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("reactions.nonsense")
    assert raised.value.response["error"] == "unknown_method"


# -- chat ------------------------------------------------------------------------------------


def test_post_message_to_channel_returns_ts_and_bot_message(
    client: WebClient, standin: SlackStandIn
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Welkom"}}]
    response = client.chat_postMessage(channel="C123", text="Welkom", blocks=blocks)
    assert response["channel"] == "C123"
    message = response["message"]
    assert message["text"] == "Welkom"
    assert message["user"] == "UBOT"
    assert message["bot_id"] == "B0COPBOT"
    assert message["ts"] == response["ts"]
    assert message["blocks"] == blocks
    seconds, _, micros = response["ts"].partition(".")
    assert seconds.isdigit() and micros.isdigit() and len(micros) == 6
    assert standin.calls("chat.postMessage")[0].args["channel"] == "C123"


def test_post_message_to_user_id_lands_in_dm(client: WebClient) -> None:
    assert client.chat_postMessage(channel="U42", text="hoi")["channel"] == "DU42"
    assert client.chat_postMessage(channel="W7", text="hoi")["channel"] == "DW7"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_without_text_or_blocks_is_refused_with_no_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1")
    assert raised.value.response["error"] == "no_text"


def test_post_message_to_archived_channel_says_is_archived(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.add_channel("C0OLD", name="oud-kanaal", archived=True)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0OLD", text="hallo?")
    assert raised.value.response["error"] == "is_archived"


def test_post_message_by_channel_name_uses_the_declared_channel(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.add_channel("C0GENERAL", name="general")
    assert client.chat_postMessage(channel="#general", text="hi")["channel"] == "C0GENERAL"


def test_post_message_to_id_of_unknown_shape_says_channel_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="nonsense", text="hi")
    assert raised.value.response["error"] == "channel_not_found"


def test_message_timestamps_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(20)]
    assert len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=lambda ts: tuple(map(int, ts.split("."))))


def test_ephemeral_update_delete_and_permalink_answer_like_slack(client: WebClient) -> None:
    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="alleen voor jou")
    assert ephemeral["message_ts"]

    posted = client.chat_postMessage(channel="C1", text="eerst")
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="daarna")
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C1", posted["ts"], "daarna")

    permalink = client.chat_getPermalink(channel="C1", message_ts="1700000000.000100")
    assert permalink["channel"] == "C1"
    assert permalink["permalink"] == "https://copbot-test.slack.com/archives/C1/p1700000000000100"

    deleted = client.chat_delete(channel="C1", ts=posted["ts"])
    assert (deleted["channel"], deleted["ts"]) == ("C1", posted["ts"])


def test_ephemeral_to_a_non_user_says_user_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postEphemeral(channel="C1", user="C2", text="x")
    assert raised.value.response["error"] == "user_not_found"


# -- conversations ---------------------------------------------------------------------------


def test_conversations_open_gives_a_deterministic_dm(client: WebClient) -> None:
    first = client.conversations_open(users="U1")
    assert first["channel"] == {"id": "DU1"}
    again = client.conversations_open(users=["U1"])
    assert again["channel"] == {"id": "DU1"}
    assert again["already_open"] is True


def test_second_invite_of_same_user_says_already_in_channel(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.add_channel("C0COP", name="cop-data")
    invited = client.conversations_invite(channel="C0COP", users="U1,U2")
    assert invited["channel"]["id"] == "C0COP"
    assert standin.channel_members("C0COP") == {"U1", "U2"}

    with pytest.raises(SlackApiError) as raised:
        client.conversations_invite(channel="C0COP", users=["U2"])
    assert raised.value.response["error"] == "already_in_channel"
    assert raised.value.response["errors"] == [
        {"user": "U2", "ok": False, "error": "already_in_channel"}
    ]
    assert standin.channel_members("C0COP") == {"U1", "U2"}


def test_conversations_info_and_members_reflect_invites(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.add_channel("C0COP", name="cop-data", members=["U9"])
    client.conversations_invite(channel="C0COP", users="U1")

    info = client.conversations_info(channel="C0COP", include_num_members=True)["channel"]
    assert info["id"] == "C0COP"
    assert info["name"] == "cop-data"
    assert info["is_archived"] is False
    assert info["num_members"] == 2

    members = client.conversations_members(channel="C0COP")
    assert members["members"] == ["U1", "U9"]
    assert members["response_metadata"]["next_cursor"] == ""


def test_conversations_members_pages_with_cursor(client: WebClient, standin: SlackStandIn) -> None:
    standin.add_channel("C1", members=[f"U{n}" for n in range(5)])
    first = client.conversations_members(channel="C1", limit=3)
    second = client.conversations_members(
        channel="C1", limit=3, cursor=first["response_metadata"]["next_cursor"]
    )
    assert first["members"] + second["members"] == ["U0", "U1", "U2", "U3", "U4"]
    assert second["response_metadata"]["next_cursor"] == ""


# -- users -----------------------------------------------------------------------------------


def test_users_info_gives_amsterdam_timezone_and_locale_when_asked(client: WebClient) -> None:
    user = client.users_info(user="U1", include_locale=True)["user"]
    assert user["id"] == "U1"
    assert user["tz"] == "Europe/Amsterdam"
    assert user["tz_offset"] in (3600, 7200)
    assert user["profile"]["display_name"]
    assert user["profile"]["real_name"] == user["real_name"]
    assert user["locale"] == "nl-NL"  # a Dutch workspace's, unless declared otherwise
    assert "locale" not in client.users_info(user="U1")["user"]


def test_users_info_uses_declared_users(client: WebClient, standin: SlackStandIn) -> None:
    standin.add_user("U7", name="anouk", real_name="Anouk de Vries", locale="en-GB")
    user = client.users_info(user="U7", include_locale=True)["user"]
    assert (user["name"], user["real_name"], user["locale"]) == ("anouk", "Anouk de Vries", "en-GB")


def test_users_info_on_a_non_user_says_user_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="C1")
    assert raised.value.response["error"] == "user_not_found"


# -- views -----------------------------------------------------------------------------------


def test_views_open_update_push_and_publish(client: WebClient, standin: SlackStandIn) -> None:
    modal = {
        "type": "modal",
        "callback_id": "join_cop",
        "title": {"type": "plain_text", "text": "Aanmelden"},
        "private_metadata": "C0COP",
        "blocks": [{"type": "divider"}],
    }
    opened = client.views_open(trigger_id="123.456.abc", view=modal)["view"]
    assert opened["id"].startswith("V")
    assert (opened["type"], opened["callback_id"], opened["private_metadata"]) == (
        "modal",
        "join_cop",
        "C0COP",
    )
    assert opened["blocks"] == [{"type": "divider"}]
    assert opened["hash"]

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)["view"]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert raised.value.response["error"] == "hash_conflict"

    pushed = client.views_push(trigger_id="123.456.def", view=modal)["view"]
    assert pushed["id"] != opened["id"]

    home = {"type": "home", "blocks": [{"type": "divider"}]}
    first = client.views_publish(user_id="U1", view=home)["view"]
    second = client.views_publish(user_id="U1", view=home)["view"]
    assert first["type"] == "home"
    assert first["id"] == second["id"]
    assert len(standin.calls("views.publish")) == 2


def test_views_open_without_trigger_id_is_refused(standin: SlackStandIn) -> None:
    _, _, body = _raw_post(
        standin.api_url + "views.open",
        json.dumps({"view": {"type": "modal", "blocks": []}}).encode(),
        "application/json",
        {"Authorization": "Bearer xoxb-test"},
    )
    assert body["ok"] is False
    assert body["error"] == "invalid_arguments"


# -- files -----------------------------------------------------------------------------------


def test_files_upload_v2_works_end_to_end(client: WebClient, standin: SlackStandIn) -> None:
    content = "Verslag van de CoP-bijeenkomst\n- punt één"
    response = client.files_upload_v2(
        channel="C0COP",
        content=content,
        filename="verslag.md",
        title="Verslag",
        initial_comment="Het verslag",
    )
    assert response["file"]["title"] == "Verslag"
    file_id = response["file"]["id"]

    assert [c.method for c in standin.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    upload = standin.calls("upload")[0]
    assert upload.args == {
        "file_id": file_id,
        "size": len(content.encode()),
        "content": content,
    }
    completed = standin.calls("files.completeUploadExternal")[0]
    assert completed.args["channel_id"] == "C0COP"
    assert completed.args["initial_comment"] == "Het verslag"
    assert completed.args["files"] == [{"id": file_id, "title": "Verslag"}]


def test_get_upload_url_points_at_the_stand_in(client: WebClient, standin: SlackStandIn) -> None:
    response = client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert response["upload_url"] == (
        f"http://127.0.0.1:{standin.port}/upload/{response['file_id']}"
    )


# -- response_url ----------------------------------------------------------------------------


def test_response_url_posts_are_recorded(standin: SlackStandIn) -> None:
    url = standin.response_url("abc")
    assert url == f"http://127.0.0.1:{standin.port}/response/abc"
    response = WebhookClient(url).send(text="Aangemeld!", replace_original=True)
    assert (response.status_code, response.body) == (200, "ok")
    [call] = standin.calls("response_url")
    assert call.args == {"text": "Aangemeld!", "replace_original": True, "_key": "abc"}


def test_response_url_without_key_gets_a_fresh_one(standin: SlackStandIn) -> None:
    first, second = standin.response_url(), standin.response_url()
    assert first != second
    WebhookClient(second).send(text="x")
    assert standin.wait_for("response_url")[0].args["_key"] == second.rsplit("/", 1)[1]


# -- misbehaviour ----------------------------------------------------------------------------


def test_rate_limited_call_is_retried_after_retry_after_and_succeeds(
    standin: SlackStandIn,
) -> None:
    standin.fail("chat.postMessage", status=429, retry_after=1)
    client = WebClient(
        token="xoxb-test",
        base_url=standin.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel="C1", text="na even wachten")["ok"] is True

    limited, succeeded = standin.calls("chat.postMessage")
    assert (limited.status, succeeded.status) == (429, 200)
    assert limited.response == {"ok": False, "error": "ratelimited"}
    # (slack_sdk's own handler sleeps the Retry-After in between: its wait, not the test's.)


def test_rate_limited_answer_carries_retry_after_header(standin: SlackStandIn) -> None:
    standin.fail("auth.test", status=429, retry_after=7)
    with pytest.raises(urllib.error.HTTPError) as raised:
        _raw_post(
            standin.api_url + "auth.test",
            b"token=xoxb-test",
            "application/x-www-form-urlencoded",
        )
    assert raised.value.code == 429
    assert raised.value.headers["Retry-After"] == "7"
    assert json.loads(raised.value.read()) == {"ok": False, "error": "ratelimited"}


def test_injected_channel_not_found_raises_slack_api_error(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hallo")
    assert raised.value.response["error"] == "channel_not_found"
    assert raised.value.response.status_code == 200
    # The failure was used up, so the next call goes through.
    assert client.chat_postMessage(channel="C1", text="hallo")["ok"] is True


def test_failure_applies_the_given_number_of_times(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.fail("users.info", error="user_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.users_info(user="U1")
    assert client.users_info(user="U1")["ok"] is True


def test_server_error_then_success_with_server_error_retry_handler(
    standin: SlackStandIn,
) -> None:
    standin.fail("chat.postMessage", status=500)
    client = WebClient(
        token="xoxb-test",
        base_url=standin.api_url,
        retry_handlers=[
            ServerErrorRetryHandler(
                max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.05)
            )
        ],
    )
    assert client.chat_postMessage(channel="C1", text="toch gelukt")["ok"] is True
    assert [c.status for c in standin.calls("chat.postMessage")] == [500, 200]


class Ticks:
    """The stand-in's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _outcomes(client: WebClient, count: int) -> list[int]:
    outcomes = []
    for n in range(count):
        try:
            client.chat_postMessage(channel="C1", text=str(n))
            outcomes.append(200)
        except SlackApiError as error:
            assert error.response["error"] == "ratelimited"
            assert error.response.headers["Retry-After"] == "3"
            outcomes.append(error.response.status_code)
    return outcomes


def test_throttle_answers_429_past_the_rate_until_the_bucket_refills() -> None:
    ticks = Ticks()
    with SlackStandIn(scopes=EVERY_SCOPE, monotonic=ticks) as standin:
        client = WebClient(token="xoxb-test", base_url=standin.api_url)
        standin.throttle("chat.postMessage", per_second=2, retry_after=3)

        assert _outcomes(client, 5) == [200, 200, 429, 429, 429]  # a burst of two
        ticks.now += 0.4  # 0.8 of a token back: still none
        assert _outcomes(client, 1) == [429]
        ticks.now += 0.1  # one token
        assert _outcomes(client, 2) == [200, 429]
        ticks.now += 60  # a long pause refills no more than the burst
        assert _outcomes(client, 3) == [200, 200, 429]
        assert client.auth_test()["ok"] is True  # other methods are not throttled


def test_set_delay_waits_before_every_answer_and_records_the_call_after_it() -> None:
    slept: list[tuple[float, list[str]]] = []
    standin = SlackStandIn(
        scopes=EVERY_SCOPE,
        sleep=lambda seconds: slept.append((seconds, [c.method for c in standin.calls()])),
    )
    with standin:
        client = WebClient(token="xoxb-test", base_url=standin.api_url)
        standin.set_delay(0.2)
        client.auth_test()
        standin.set_delay(1.5, method="chat.postMessage")
        client.chat_postMessage(channel="C1", text="traag")
        client.auth_test()
        standin.set_delay(0)
        client.auth_test()

    # Each wait came before its call was recorded; a method's own delay wins over the
    # general one, and a delay of 0 waits not at all.
    assert slept == [(0.2, []), (1.5, ["auth.test"]), (0.2, ["auth.test", "chat.postMessage"])]
    assert [c.method for c in standin.calls()] == [
        "auth.test", "chat.postMessage", "auth.test", "auth.test",
    ]  # fmt: skip


def test_hold_after_answers_the_first_calls_and_keeps_the_later_ones_until_released(
    client: WebClient, standin: SlackStandIn
) -> None:
    gate = standin.hold_after("chat.postMessage", 2, where=lambda args: args["channel"] != "C9")
    with ThreadPoolExecutor(max_workers=3) as pool:
        posts = [pool.submit(client.chat_postMessage, channel="C1", text=str(n)) for n in range(3)]
        standin.wait_for("chat.postMessage", 2, timeout=30)  # two of the three answered
        assert gate.wait_held(1, timeout=30)  # and the third waits
        assert client.chat_postMessage(channel="C9", text="niet geteld")["ok"] is True
        # Only the call `where` leaves out went by; the held one is not recorded.
        recorded = [c.args["text"] for c in standin.calls("chat.postMessage")]
        assert len(recorded) == 3 and recorded[-1] == "niet geteld", recorded
        gate.release()
        assert all(post.result(timeout=30)["ok"] for post in posts)
    assert gate.held == 0
    assert len(standin.calls("chat.postMessage")) == 4
    assert client.chat_postMessage(channel="C1", text="daarna")["ok"] is True


# -- recording -------------------------------------------------------------------------------


def test_wait_for_times_out_with_a_clear_message(client: WebClient, standin: SlackStandIn) -> None:
    client.chat_postMessage(channel="C1", text="hallo")
    with pytest.raises(TimeoutError) as raised:
        standin.wait_for("views.open", timeout=0.2)
    message = str(raised.value)
    assert "'views.open'" in message
    assert "within 0.2s" in message
    assert "got 0" in message
    assert "chat.postMessage (200 ok)" in message


def test_wait_for_returns_calls_that_arrive_from_another_thread_while_it_waits(
    client: WebClient, standin: SlackStandIn
) -> None:
    gate = standin.hold_after("chat.postMessage", 1)
    found: list[list[Call]] = []
    waiter = threading.Thread(
        target=lambda: found.append(standin.wait_for("chat.postMessage", count=2, timeout=30))
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        posts = [
            pool.submit(client.chat_postMessage, channel="C1", text=t) for t in ("een", "twee")
        ]
        assert gate.wait_held(1, timeout=30)  # one answered, the other held in flight
        waiter.start()
        # It cannot have returned: the second call is not recorded until the release.
        assert found == []
        gate.release()
        waiter.join(30)
        for post in posts:
            post.result(timeout=30)
    [calls] = found
    assert sorted(c.args["text"] for c in calls) == ["een", "twee"]


def test_clear_forgets_recorded_calls(client: WebClient, standin: SlackStandIn) -> None:
    client.auth_test()
    standin.clear()
    assert standin.calls() == []
    with pytest.raises(TimeoutError):
        standin.wait_for("auth.test", timeout=0)  # not even one: the count was forgotten


def test_listener_sees_each_call(client: WebClient, standin: SlackStandIn) -> None:
    seen: list[Call] = []
    standin.add_listener(seen.append)
    client.chat_postMessage(channel="U5", text="een DM")
    assert [(c.method, c.response["channel"]) for c in seen] == [("chat.postMessage", "DU5")]


def test_fifty_concurrent_posts_are_all_recorded_with_unique_ts(
    client: WebClient, standin: SlackStandIn
) -> None:
    def post(number: int) -> str:
        return str(client.chat_postMessage(channel=f"C{number % 5}", text=str(number))["ts"])

    with ThreadPoolExecutor(max_workers=50) as pool:
        stamps = list(pool.map(post, range(50)))

    calls = standin.calls("chat.postMessage")
    assert len(calls) == 50
    assert all(call.status == 200 for call in calls)
    assert len(set(stamps)) == 50
    assert {call.response["ts"] for call in calls} == set(stamps)
    assert sorted(int(call.args["text"]) for call in calls) == list(range(50))


# -- command line ----------------------------------------------------------------------------


def _interruptible() -> None:
    """Ctrl-C's SIGINT as a terminal's foreground process gets it: a suite started in the
    background by a shell without job control (`nohup ./dev test &`) ignores SIGINT, its
    children inherit that, and Python then installs no KeyboardInterrupt for them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_module_runs_in_the_foreground_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.sandbox.standin", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    try:
        assert process.stdout is not None
        api_url = process.stdout.readline().strip()
        assert api_url.startswith("http://127.0.0.1:") and api_url.endswith("/api/")
        assert WebClient(token="xoxb-test", base_url=api_url).auth_test()["ok"] is True
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
