"""The admin's community form: create a community or edit its settings from the App Home.

Opened by the Home tab's buttons and submitted to its listener (handlers/home.py). A
problem with what was typed is shown under its field, with everything typed kept; once
saved, the form closes and the admin's Home tab says so.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_sdk import WebClient

from bot.i18n import Translator
from bot.runtime import Services, error_reference
from bot.services import community_settings
from bot.services.community_settings import CommunitySettings
from bot.services.errors import DomainError, NotAllowed, SettingsInvalid
from handlers import text_in
from handlers.errors import message_for
from handlers.render.blocks import Block, clip, escape, plain

log = logging.getLogger("cop_bot")

CALLBACK = "community_form"
FIELDS = ("name", "programme", "description", "capacity", "deadline", "approval",
          "reminders", "channel", "facilitators")  # fmt: skip
ACTION = {name: f"community_{name}" for name in FIELDS}
APPROVAL = "approval"


def _input(t: Translator, name: str, element: Block, *, optional: bool = True) -> Block:
    return {
        "type": "input",
        "block_id": name,
        "label": plain(t(f"community_form_{name}")),
        "element": {**element, "action_id": ACTION[name]},
        "optional": optional,
    }


def form_view(t: Translator, slug: str | None, values: CommunitySettings | None) -> dict[str, Any]:
    """The modal: empty to create a community, filled in to edit `slug`'s settings."""
    v = values
    name: Block = {"type": "plain_text_input", "max_length": community_settings.MAX_NAME}
    programme: Block = {"type": "plain_text_input", "max_length": community_settings.MAX_NAME}
    description: Block = {"type": "plain_text_input", "multiline": True,
                          "max_length": community_settings.MAX_DESCRIPTION}  # fmt: skip
    capacity: Block = {"type": "plain_text_input", "max_length": 5,
                       "placeholder": plain(t("community_form_capacity_hint"))}  # fmt: skip
    deadline: Block = {"type": "datepicker"}
    option = {"text": plain(t("community_form_approval_option")), "value": APPROVAL}
    approval: Block = {"type": "checkboxes", "options": [option]}
    reminders: Block = {"type": "plain_text_input", "max_length": 100,
                        "placeholder": plain(t("community_form_reminders_hint"))}  # fmt: skip
    channel: Block = {
        "type": "conversations_select",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    facilitators: Block = {"type": "multi_users_select"}
    if v is not None:
        name["initial_value"] = v.name
        if v.programme:
            programme["initial_value"] = v.programme
        if v.description:
            description["initial_value"] = v.description
        if v.capacity is not None:
            capacity["initial_value"] = str(v.capacity)
        if v.deadline is not None:
            deadline["initial_date"] = v.deadline.isoformat()
        if v.approval:
            approval["initial_options"] = [option]
        if v.reminders:
            reminders["initial_value"] = v.reminders
        if v.channel_id:
            channel["initial_conversation"] = v.channel_id
        if v.facilitators:
            facilitators["initial_users"] = list(v.facilitators)
    title = t("community_form_edit_title" if slug else "community_form_new_title")
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "private_metadata": slug or "",
        "title": plain(clip(title, 24)),
        "submit": plain(t("community_form_save")),
        "close": plain(t("community_form_close")),
        "blocks": [
            _input(t, "name", name, optional=False),
            _input(t, "programme", programme),
            _input(t, "description", description),
            _input(t, "capacity", capacity),
            _input(t, "deadline", deadline),
            _input(t, "approval", approval),
            _input(t, "reminders", reminders),
            _input(t, "channel", channel),
            _input(t, "facilitators", facilitators),
        ],
    }


def open_form(services: Services, client: WebClient, trigger_id: str, user_id: str,
              slug: str | None) -> None:  # fmt: skip
    """Open the form now (a trigger lasts 3 seconds); raises a domain error for whoever
    may not (the caller tells them)."""
    t = services.translator(user_id)
    values = None
    if slug is not None:
        with services.db.read() as session:
            slug, values = community_settings.current(
                session, slug=slug, by=user_id, admins=services.settings.admins
            )
    elif user_id not in services.settings.admins:
        raise NotAllowed("appoint_facilitator")
    client.views_open(trigger_id=trigger_id, view=form_view(t, slug, values))


def _value(state: dict[str, Any], name: str) -> dict[str, Any]:
    return dict((state.get(name) or {}).get(ACTION[name]) or {})


def read(state: dict[str, Any]) -> tuple[CommunitySettings | None, dict[str, str]]:
    """The form as submitted: the settings, or the fields that cannot be read (catalogue
    keys). Text is normalised as all user text is on its way in."""
    problems: dict[str, str] = {}

    def text(name: str) -> str:
        try:
            return text_in.from_input(str(_value(state, name).get("value") or ""))
        except text_in.NulInText:
            problems[name] = "text_nul_field"
            return ""

    capacity_text = text("capacity").strip()
    capacity = None
    if capacity_text:
        if capacity_text.isascii() and capacity_text.isdigit():
            capacity = int(capacity_text)
        else:
            problems["capacity"] = "community_form_capacity_wrong"
    deadline = None
    picked = _value(state, "deadline").get("selected_date")
    if picked:
        try:
            deadline = dt.date.fromisoformat(str(picked))
        except ValueError:
            problems["deadline"] = "community_form_deadline_wrong"
    chosen = _value(state, "approval").get("selected_options") or []
    channel = _value(state, "channel").get("selected_conversation")
    users = _value(state, "facilitators").get("selected_users") or []
    values = CommunitySettings(
        name=text("name"),
        programme=text("programme"),
        description=text("description"),
        capacity=capacity,
        deadline=deadline,
        approval=any(o.get("value") == APPROVAL for o in chosen if isinstance(o, dict)),
        channel_id=str(channel) if channel else None,
        reminders=",".join(p.strip() for p in text("reminders").split(",") if p.strip()) or None,
        facilitators=tuple(str(u) for u in users if isinstance(u, str)),
    )
    return (None if problems else values), problems


def save(services: Services, t: Translator, user_id: str, slug: str | None,
         state: dict[str, Any]) -> tuple[dict[str, str], str | None, str | None]:  # fmt: skip
    """Save the submitted form: (errors by field, for the modal; the saved community's
    slug; the line the Home tab shows). Nothing is saved when there are errors."""
    values, problems = read(state)
    if values is None:
        return {k: t(v) for k, v in problems.items()}, None, None
    try:
        with services.db.write() as session:
            saved, created = community_settings.save(
                session, slug=slug, values=values, by=user_id, admins=services.settings.admins,
                offsets=services.settings.reminder_offsets, now=services.clock(),
                tz=services.settings.timezone,
            )  # fmt: skip
    except SettingsInvalid as invalid:
        return {k: t(v) for k, v in invalid.problems.items()}, None, None
    except DomainError as error:
        return {"name": clip(message_for(t, error).text, 150)}, None, None
    except Exception:
        reference = error_reference()
        log.exception("community form failed (ref %s)", reference)
        return {"name": clip(t("apology", ref=reference), 150)}, None, None
    services.profiles.invalidate()
    notice = t("community_form_created" if created else "community_form_saved",
               name=escape(values.name.strip()), slug=escape(saved))  # fmt: skip
    return {}, saved, notice
