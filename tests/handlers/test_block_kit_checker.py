"""The Block Kit checker used by every Slack-side test really rejects what Slack would reject."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.render import blocks as bk
from tests.blockkit import assert_valid_message, assert_valid_view


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action_id: str = "join_community") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": "ethiek",
    }


def test_a_message_built_by_the_app_builders_passes() -> None:
    assert_valid_message(
        {
            "text": "Ethiek",
            "blocks": [
                bk.header("Ethiek & co"),
                bk.context("*Programma*"),
                bk.section("tekst", accessory=bk.button("Aanmelden", "join_community", "ethiek")),
                bk.divider(),
                bk.actions(bk.button("Ja", "approve_join", "e|U1"), block_id="approval"),
            ],
        }
    )


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"text": "x", "blocks": [_section("a" * 3001)]}, "3001 characters"),
        (
            {
                "text": "x",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            },
            "151 characters",
        ),
        ({"text": "x", "blocks": [_section("a")] * 51}, "51 blocks"),
        (
            {
                "text": "x",
                "blocks": [_section("a") | {"accessory": _button("b" * 76)}],
            },
            "76",
        ),
        (
            {
                "text": "x",
                "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
            },
            "plain_text",
        ),
        ({"text": "x", "blocks": [_section("")]}, "empty text"),
        ({"text": "x", "blocks": [{"type": "table", "rows": []}]}, "unexpected block type"),
        ({"blocks": [_section("a")]}, "fallback text"),
        (
            {
                "text": "x",
                "blocks": [{"type": "actions", "elements": [_button("a"), _button("b")]}],
            },
            "unique",
        ),
        ({"text": "x", "blocks": [{"type": "context", "elements": []}]}, "0 elements"),
        ({}, "text or blocks"),
        # Caught by slack_sdk's own validators.
        ({"text": "x", "blocks": [_section("a") | {"block_id": "b" * 256}]}, "block_id cannot"),
    ],
)
def test_a_message_slack_would_refuse_fails_the_check(
    payload: dict[str, Any], problem: str
) -> None:
    with pytest.raises(Exception, match=problem):
        assert_valid_message(payload)


def _modal(title: str, blocks: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "x",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Opslaan"},
        "blocks": [
            {"type": "section", "block_id": f"b{i}", "text": {"type": "mrkdwn", "text": "x"}}
            for i in range(blocks)
        ],
    }


def test_the_view_checker_accepts_a_plain_modal() -> None:
    assert_valid_view(_modal("Agenda opstellen", 3))


@pytest.mark.parametrize(
    "view",
    [_modal("Een titel die veel te lang is voor Slack", 1), _modal("Agenda", 101)],
    ids=["title over 24 characters", "101 blocks"],
)
def test_the_view_checker_refuses_what_slack_refuses(view: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        assert_valid_view(view)
