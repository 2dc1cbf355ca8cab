"""Property-based tests of the whole edge: generated text for every subcommand, generated
values for every button, generated state for every modal, the message shortcut, and
requests the edge must refuse, each sent signed over HTTP to the real app. For every
request: the right status, an answer within Slack's 3 s, never the apology, no traceback
logged, and in every output (the answer, every post, update, modal, response_url post and
uploaded file) no active markup from user text and no control characters.

Each property collects what it finds over all its examples and fails once, listing every
kind of violation with one example (bench/fuzzkit.summarize)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench import fuzzkit as kit
from bench.fuzzkit import ADMIN, FACILITATOR, MEMBER, OTHER, Request
from bot.sandbox.signed import signed_headers, slash_command_body, view_submission_body
from tests.conftest import SECRET
from tests.edge import strategies as s
from tests.edge.conftest import Edge

EXAMPLES = settings(
    max_examples=80,
    derandomize=True,  # the same examples on every run, as CI needs
    database=None,
    deadline=None,  # the 3 s deadline is checked per request, by the invariants
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def test_every_subcommand_with_any_text_keeps_the_invariants(edge: Edge) -> None:
    @EXAMPLES
    @given(user=s.users, text=s.command_text)
    @example(user=MEMBER, text="onderwerp ethiek <!channel> <@U123> <https://evil|x> R&D &amp;")
    @example(user=MEMBER, text="vraag ethiek \x00 NUL \u202e bidi \u200b zero-width")
    @example(user=FACILITATOR, text="bijeenkomst toevoegen ethiek ²⁰ maart 14:00")
    @example(user=FACILITATOR, text="bijeenkomst verplaatsen ethiek 99999999999999999999 1 mei")
    @example(user=FACILITATOR, text="les ethiek <!here> deel dit")
    @example(user=MEMBER, text="aanmelden <!everyone>")
    def send(user: str, text: str) -> None:
        edge.command(user, text)

    send()
    edge.assert_clean()


def test_every_button_with_any_value_keeps_the_invariants(edge: Edge) -> None:
    @EXAMPLES
    @given(user=s.users, action=s.actions, value=s.button_value)
    @example(user=MEMBER, action=("rsvp_(yes|no)(-\\d+)?", "rsvp_yes-1"), value="²")
    @example(user=MEMBER, action=("rsvp_(yes|no)(-\\d+)?", "rsvp_no"), value="x")
    @example(user=FACILITATOR, action=("minutes_open", "minutes_open"), value="²")
    @example(user=MEMBER, action=("topic_vote(-\\d+)?", "topic_vote-1"), value="9" * 40)
    @example(user=MEMBER, action=("question_page", "question_page"), value="<!channel>|1")
    def send(user: str, action: tuple[str, str], value: str) -> None:
        label, action_id = action
        edge.click(user, action_id, value, label)

    send()
    edge.assert_clean()


def _submit(edge: Edge, user: str, view: dict[str, Any], state: dict[str, Any],
            metadata: str | None) -> tuple[int, str]:  # fmt: skip
    body = view_submission_body(user_id=user, view=view, answers={},
                                view_id=str(view.get("id") or "V0MODAL"))  # fmt: skip
    payload = json.loads(urllib.parse.parse_qs(body)["payload"][0])
    payload["view"]["state"] = state
    if metadata is not None:
        payload["view"]["private_metadata"] = metadata
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    callback = str(view.get("callback_id"))
    summary = f"{callback} state={json.dumps(state, ensure_ascii=False)[:300]} meta={metadata!r}"
    return edge.send(Request(f"view {callback}", user, body, signed_headers(SECRET, body),
                             summary=summary))  # fmt: skip


def test_every_modal_with_any_state_keeps_the_invariants(edge: Edge) -> None:
    callbacks = sorted(edge.views)
    accepted: list[str] = []
    # Mostly the facilitator, who may submit every modal, so the saving paths run too.
    submitters = st.sampled_from([FACILITATOR, FACILITATOR, FACILITATOR, ADMIN, MEMBER, OTHER])

    @settings(EXAMPLES, max_examples=150)
    @given(data=st.data(), user=submitters, callback=st.sampled_from(callbacks))
    def send(data: st.DataObject, user: str, callback: str) -> None:
        view = edge.views[callback]
        state = data.draw(s.view_state(view), label="state")
        metadata = data.draw(st.none() | s.metadata, label="private_metadata")
        status, body = _submit(edge, user, view, state, metadata)
        # Saved: the modal closes (an empty answer) or shows what was saved (an update).
        if status == 200 and (not body or json.loads(body).get("response_action") == "update"):
            accepted.append(callback)

    send()
    # Not only refusals: generated state got through to the saving code of most modals.
    assert len(set(accepted)) >= 3, sorted(set(accepted))
    edge.assert_clean()


def test_the_message_shortcut_with_any_message_keeps_the_invariants(edge: Edge) -> None:
    @EXAMPLES
    @given(user=s.users, text=s.free_text, channel=st.sampled_from(["C0GENERAL", "D0DM"])
           | s.fragment, ts=st.sampled_from(["1700000000.000100", ""]) | s.fragment)  # fmt: skip
    @example(user=MEMBER, text="<!channel> kijk hier <https://evil|x>", channel="C0GENERAL",
             ts="1700000000.000100")  # fmt: skip
    def send(user: str, text: str, channel: str, ts: str) -> None:
        edge.shortcut(user, text, channel, ts)

    send()
    edge.assert_clean()


def test_the_edge_refuses_unsigned_stale_and_forged_requests(edge: Edge) -> None:
    @EXAMPLES
    @given(user=s.users, text=s.command_text,
           how=st.sampled_from(["wrong secret", "stale", "unsigned", "tampered"]),
           age=st.integers(301, 10**7))  # fmt: skip
    def send(user: str, text: str, how: str, age: int) -> None:
        url, key = edge.response_url()
        body = slash_command_body(user_id=user, text=text, response_url=url)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if how == "wrong secret":
            headers = signed_headers("not-the-secret", body)
        elif how == "stale":
            headers = signed_headers(SECRET, body, timestamp=int(kit.time.time()) - age)
        elif how == "tampered":
            headers = signed_headers(SECRET, body)
            body = body.replace("user_id=", "user_id=UADMIN&x=", 1)
        calls = len(edge.standin.calls())
        edge.send(Request(f"edge {how}", user, body, headers, expect=frozenset({401}),
                          response_key=key, summary=f"{how}: /cop {text!r}"))  # fmt: skip
        assert len(edge.standin.calls()) == calls, "a refused request reached Slack"

    send()
    edge.assert_clean()


def test_signed_garbage_never_gets_a_5xx(edge: Edge) -> None:
    @EXAMPLES
    @given(body=st.one_of(
        s.free_text,
        s.free_text.map(lambda t: "payload=" + urllib.parse.quote(t)),
        st.sampled_from(["block_actions", "view_submission", "message_action", "shortcut"])
        .map(lambda kind: urllib.parse.urlencode({"payload": json.dumps({"type": kind})})),
        s.free_text.map(lambda t: urllib.parse.urlencode({"command": "/cop", "text": t})),
    ))  # fmt: skip
    def send(body: str) -> None:
        edge.send(
            Request(
                "edge signed garbage",
                "",
                body,
                signed_headers(SECRET, body),
                expect=frozenset(range(200, 500)),
                summary=repr(body[:200]),
            )
        )

    send()
    edge.assert_clean()
