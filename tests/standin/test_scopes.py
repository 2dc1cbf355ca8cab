"""The stand-in's tokens have scopes, as Slack's do: the manifest's by default, fewer when
a test says so, and a call without the scope it needs is refused as Slack refuses it."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.standin import SlackStandIn
from bot.slack_scopes import BOT_SCOPES


def client(standin: SlackStandIn, token: str = "xoxb-test") -> WebClient:
    return WebClient(token=token, base_url=standin.api_url)


def refused(call: Callable[[], Any]) -> dict[str, Any]:
    """Slack's answer to a call that must fail."""
    with pytest.raises(SlackApiError) as caught:
        call()
    data = caught.value.response.data
    assert isinstance(data, dict)
    return data


def test_by_default_a_token_has_the_manifests_scopes_and_slack_says_so_in_a_header(
    standin: SlackStandIn,
) -> None:
    answer = client(standin).auth_test()
    assert set(answer.headers["x-oauth-scopes"].split(",")) == BOT_SCOPES
    assert standin.scopes_for("xoxb-anything") == BOT_SCOPES


def test_a_method_without_its_scope_is_refused_with_missing_scope_needed_and_provided(
    standin: SlackStandIn,
) -> None:
    # conversations.info on a public channel needs channels:read, which the bot is not
    # granted.
    answer = refused(lambda: client(standin).conversations_info(channel="C1"))
    assert answer == {
        "ok": False,
        "error": "missing_scope",
        "needed": "channels:read",
        "provided": ",".join(sorted(BOT_SCOPES)),
    }
    [call] = standin.calls("conversations.info")
    assert call.response["error"] == "missing_scope"


def test_a_token_granted_fewer_scopes_is_refused_what_the_others_may_do(
    standin: SlackStandIn,
) -> None:
    standin.grant({"commands"}, token="xoxb-narrow")
    answer = refused(
        lambda: client(standin, "xoxb-narrow").chat_postMessage(channel="C1", text="x")
    )
    assert (answer["needed"], answer["provided"]) == ("chat:write", "commands")
    assert client(standin).chat_postMessage(channel="C1", text="x")["ok"] is True
    assert standin.history("C1")[0]["text"] == "x"  # only the allowed post is there


def test_granting_without_a_token_changes_every_token_until_reset(standin: SlackStandIn) -> None:
    standin.grant({"chat:write"})
    refused(lambda: client(standin).conversations_open(users="U1"))
    standin.reset()
    assert client(standin).conversations_open(users="U1")["ok"] is True


@pytest.mark.parametrize(
    ("channel", "needed"),
    [
        ("C0PUBLIC", "channels:history"),
        ("G0PRIVATE", "groups:history"),
        ("DU1", "im:history"),
    ],
)
def test_history_needs_the_scope_of_the_conversations_type(
    standin: SlackStandIn, channel: str, needed: str
) -> None:
    standin.grant(BOT_SCOPES - {needed}, token="xoxb-without")
    answer = refused(lambda: client(standin, "xoxb-without").conversations_history(channel=channel))
    assert answer["needed"] == needed
    assert client(standin).conversations_history(channel=channel)["ok"] is True


def test_a_private_channel_with_a_c_id_needs_the_private_scope(standin: SlackStandIn) -> None:
    standin.add_channel("C0SECRET", private=True)
    standin.grant({"channels:history", "channels:manage"}, token="xoxb-public-only")
    narrow = client(standin, "xoxb-public-only")
    assert refused(lambda: narrow.conversations_history(channel="C0SECRET"))["needed"] == (
        "groups:history"
    )
    answer = refused(lambda: narrow.conversations_invite(channel="C0SECRET", users="U1"))
    assert answer["needed"] == "groups:write"
    assert standin.channel_members("C0SECRET") == set()


def test_invite_needs_channels_manage_in_a_public_channel_and_groups_write_in_a_private_one(
    standin: SlackStandIn,
) -> None:
    standin.grant({"groups:write"}, token="xoxb-private-only")
    narrow = client(standin, "xoxb-private-only")
    assert refused(lambda: narrow.conversations_invite(channel="C0PUB", users="U1"))["needed"] == (
        "channels:manage"
    )
    assert narrow.conversations_invite(channel="G0PRIV", users="U1")["ok"] is True
    # Slack's narrower invite-only scope will do as well.
    standin.grant({"channels:write.invites"}, token="xoxb-invites")
    assert client(standin, "xoxb-invites").conversations_invite(channel="C0PUB", users="U2")["ok"]


def test_opening_a_dm_needs_im_write_and_a_group_dm_mpim_write(standin: SlackStandIn) -> None:
    standin.grant({"im:write"}, token="xoxb-im")
    im = client(standin, "xoxb-im")
    assert im.conversations_open(users="U1")["ok"] is True
    assert refused(lambda: im.conversations_open(users="U1,U2"))["needed"] == "mpim:write"


def test_methods_that_need_no_scope_answer_a_token_with_none(standin: SlackStandIn) -> None:
    standin.grant(set(), token="xoxb-bare")
    bare = client(standin, "xoxb-bare")
    assert bare.auth_test()["ok"] is True
    assert bare.chat_getPermalink(channel="C1", message_ts="1.000001")["ok"] is True
    assert bare.auth_test().headers["x-oauth-scopes"] == ""


def test_the_accepted_scopes_header_names_what_the_method_takes(standin: SlackStandIn) -> None:
    url = standin.api_url + "conversations.history?token=xoxb-test&channel=G0PRIV"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["x-accepted-oauth-scopes"] == "groups:history"
