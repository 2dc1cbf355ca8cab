"""A new person's language, learned from their Slack locale on first contact.

Somebody who never chose a language (`/cop taal`) gets the one their Slack is set to,
looked up once with users.info and stored, so that from then on every message to them
(and the cache of everyone's languages) needs no call to Slack. It runs where the bot
first meets someone off the slash command's hot path: before a new member's welcome DM
is rendered (handlers/deliveries.py) and when the Home tab is opened. Whatever is stored
is never looked up again, and a choice is never overwritten (Services.set_default_language).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import deadline
from bot.deadline import SlackTooSlow
from bot.runtime import Services

log = logging.getLogger("cop_bot")


def language_of_locale(locale: str) -> str:
    """The product's language for a Slack locale ("en-US", "en-GB", "nl-NL", ...): English
    for every English one, Dutch for everything else."""
    return "en" if locale.strip().lower().startswith("en") else "nl"


def learn_language(services: Services, client: WebClient, user_id: str) -> None:
    """Store `user_id`'s language from their Slack locale, unless a language is stored for
    them already. The lookup runs under the request's deadline, or, outside a request (the
    delivery lane, background work), under one of its own, so that a slow or rate-limited
    Slack delays the welcome by 2.5 seconds at most. On any failure nothing is stored: the
    caller carries on with the default (COP_LANGUAGE), and the next contact tries again."""
    if services.has_language(user_id):
        return
    bounded = deadline.running() if deadline.current() is None else nullcontext()
    try:
        with bounded:
            response = client.users_info(user=user_id, include_locale=True)
    except SlackApiError as exc:
        log.info("users.info for %s failed: %s", user_id, exc.response.get("error"))
        return
    except (SlackClientError, SlackTooSlow, OSError) as exc:
        log.info("users.info for %s failed: %s", user_id, type(exc).__name__)
        return
    user = response.get("user")
    locale = user.get("locale") if isinstance(user, dict) else None
    if not isinstance(locale, str) or not locale.strip():
        log.info("users.info for %s gave no locale", user_id)
        return
    language = language_of_locale(locale)
    if services.set_default_language(user_id, language):
        log.info("language of %s learned from Slack: %s", user_id, language)
