"""manifest.yaml and the app agree: every shortcut and every event the manifest makes
Slack send has a listener, sent as Slack sends it through the signed edge; the names are
handlers/shortcut_ids.py's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.runtime import Services
from bot.sandbox.signed import app_home_opened_event
from bot.sandbox.standin import SlackStandIn
from handlers import shortcut_ids
from handlers.questions import SAVE_CALLBACK
from tests.handlers.support import CheckedSlack

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yaml"
EVENTS_URL = "https://cop-bot.example.org/slack/events"
GLOBAL_NAMES = {
    shortcut_ids.ASK_QUESTION: "Vraag stellen",
    shortcut_ids.PROPOSE_TOPIC: "Onderwerp voorstellen",
    shortcut_ids.PLAN_MEETING: "Bijeenkomst plannen",
    shortcut_ids.JOIN: "Aanmelden voor een community",
}


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def shortcuts(kind: str) -> dict[str, dict[str, str]]:
    found = [s for s in manifest()["features"]["shortcuts"] if s["type"] == kind]
    by_id = {s["callback_id"]: s for s in found}
    assert len(by_id) == len(found), f"a {kind} shortcut's callback_id is declared twice"
    return by_id


def test_the_manifest_declares_the_global_shortcuts_by_their_ids_with_dutch_names() -> None:
    declared = shortcuts("global")
    assert tuple(declared) == shortcut_ids.GLOBAL_SHORTCUTS
    assert {i: s["name"] for i, s in declared.items()} == GLOBAL_NAMES
    for shortcut in declared.values():
        # Slack's limit on a shortcut's description.
        assert 0 < len(shortcut["description"]) <= 150, shortcut


def test_the_message_shortcut_is_kept_beside_them() -> None:
    assert set(shortcuts("message")) == {SAVE_CALLBACK}
    kinds = {s["type"] for s in manifest()["features"]["shortcuts"]}
    assert kinds == {"message", "global"}


def test_the_manifest_subscribes_to_the_events_the_code_names_at_the_events_url() -> None:
    settings = manifest()["settings"]
    events = settings["event_subscriptions"]
    assert events["request_url"] == EVENTS_URL
    assert tuple(events["bot_events"]) == shortcut_ids.BOT_EVENTS
    assert "user_events" not in events
    # One URL for everything Slack sends.
    assert settings["interactivity"]["request_url"] == EVENTS_URL
    assert {c["url"] for c in manifest()["features"]["slash_commands"]} == {EVENTS_URL}
    assert manifest()["features"]["app_home"]["home_tab_enabled"] is True


def test_the_message_shortcut_has_a_listener(slack: CheckedSlack, standin: SlackStandIn) -> None:
    message = {"ts": "1700000000.000100", "text": "Wie weet dit?", "user": "U9"}

    # Bolt answers 404 to what no listener takes.
    assert slack.shortcut("U1", SAVE_CALLBACK, message, "C0GENERAL").status == 200
    # Not in a community: the listener says so (where the shortcut was used).
    assert standin.calls("response_url") or standin.calls("views.open")


@pytest.mark.parametrize("callback_id", shortcut_ids.GLOBAL_SHORTCUTS)
def test_each_global_shortcut_has_a_listener(slack: CheckedSlack, callback_id: str) -> None:
    assert slack.global_shortcut("U1", callback_id).status == 200


def test_the_app_home_opened_event_has_a_listener(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    assert slack.event(app_home_opened_event("U1")).status == 200
    assert services.wait_idle(5)
    assert [c.args["user_id"] for c in standin.calls("views.publish")] == ["U1"]
