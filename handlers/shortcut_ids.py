"""The names Slack and the listeners share for the global shortcuts and the Events API
events: manifest.yaml declares them, the listeners register them, and
tests/handlers/test_manifest_listeners.py holds the two to each other. Only constants, so
that any listener module (and the tests) can import them."""

from __future__ import annotations

# Global shortcuts (the ⚡ menu), by callback_id.
ASK_QUESTION = "shortcut_ask_question"  # "Vraag stellen"
PROPOSE_TOPIC = "shortcut_propose_topic"  # "Onderwerp voorstellen"
PLAN_MEETING = "shortcut_plan_meeting"  # "Bijeenkomst plannen"
JOIN = "shortcut_join"  # "Aanmelden voor een community"
GLOBAL_SHORTCUTS = (ASK_QUESTION, PROPOSE_TOPIC, PLAN_MEETING, JOIN)

# The Events API events the bot subscribes to (settings.event_subscriptions.bot_events).
APP_HOME_OPENED = "app_home_opened"
BOT_EVENTS = (APP_HOME_OPENED,)
