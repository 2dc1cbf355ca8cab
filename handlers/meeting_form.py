"""The meeting form: a modal with date and time pickers to add or move a meeting."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.i18n import Translator
from bot.runtime import Services
from bot.services import meetings
from bot.services.catalog import MEETING_KINDS
from bot.services.errors import CommunityNotFound, DomainError, NotAllowed
from bot.services.meetings import DEFAULT_LENGTH, MeetingChange, MeetingDetails, MeetingForm
from bot.services.views import MeetingView
from bot.services.when import wall_clock
from handlers import render, text_in
from handlers.errors import message_for, open_modal
from handlers.meetings import added_message, after_change, change_reply
from handlers.registry import Entry, HelpLine
from handlers.render.blocks import Block, escape, plain

log = logging.getLogger("cop_bot")

# No `/cop` subcommand of its own (it opens from buttons), but a line in `/cop hulp`.
COMMANDS: list[Entry] = [HelpLine("meeting_form_help_facilitator", facilitator=True)]

CALLBACK_ID = "meeting_form"
# Slack gives a view submission 3 s; answer by then, else tell the outcome by DM.
ACK_BUDGET_SECONDS = 2.0
MAX_LOCATION = 500  # Meeting.location
MAX_TITLE = 200  # Meeting.title
MAX_PLAIN_TEXT = 75  # a select option's text

# Input blocks: block_id -> action_id of its element.
DATE, START, END, KIND, LOCATION, TITLE = "date", "start", "end", "kind", "location", "title"
ACTION = {name: f"meeting_form_{name}" for name in (DATE, START, END, KIND, LOCATION, TITLE)}


def _input(block_id: str, label: str, element: Block, *, optional: bool = False,
           hint: str | None = None) -> Block:  # fmt: skip
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": ACTION[block_id]},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def _option(t: Translator, kind: str) -> dict[str, Any]:
    return {"text": plain(t(f"kind_{kind}")[:MAX_PLAIN_TEXT]), "value": kind}


def form_inputs(t: Translator, m: MeetingView | None) -> list[Block]:
    """The form's inputs: empty to plan a meeting, filled in with `m`'s values to move it."""
    tz = t.tz
    date: Block = {"type": "datepicker"}
    start: Block = {"type": "timepicker"}
    end: Block = {"type": "timepicker"}
    location: Block = {"type": "plain_text_input", "max_length": MAX_LOCATION}
    title: Block = {"type": "plain_text_input", "max_length": MAX_TITLE}
    kind = "online"
    if m is not None:
        local = m.starts_at.astimezone(tz)
        date["initial_date"] = f"{local:%Y-%m-%d}"
        start["initial_time"] = f"{local:%H:%M}"
        if m.ends_at is not None:
            end["initial_time"] = f"{m.ends_at.astimezone(tz):%H:%M}"
        if m.location:
            location["initial_value"] = m.location[:MAX_LOCATION]
        if m.title:
            title["initial_value"] = m.title[:MAX_TITLE]
        kind = m.kind if m.kind in MEETING_KINDS else kind
    hours = int(DEFAULT_LENGTH.total_seconds() // 3600)
    return [
        _input(DATE, t("meeting_form_date"), date),
        _input(START, t("meeting_form_start"), start),
        _input(
            END,
            t("meeting_form_end"),
            end,
            optional=True,
            hint=t("meeting_form_end_hint", count=hours),
        ),
        _input(
            KIND,
            t("meeting_form_kind"),
            {
                "type": "static_select",
                "options": [_option(t, k) for k in MEETING_KINDS],
                "initial_option": _option(t, kind),
            },
        ),
        _input(
            LOCATION,
            t("meeting_form_location"),
            location,
            optional=True,
            hint=t("meeting_form_location_hint", limit=MAX_LOCATION),
        ),
        _input(TITLE, t("meeting_form_title"), title, optional=True),
    ]


def form_view(t: Translator, form: MeetingForm) -> dict[str, Any]:
    """The modal: empty to plan a meeting, filled in with the meeting's values to move it."""
    m = form.meeting
    name = escape(form.community_name)
    if m is not None:
        intro = t("meeting_form_intro_move", name=name, when=render.when_range(t, m), tz=str(t.tz))
    else:
        intro = t("meeting_form_intro_plan", name=name, tz=str(t.tz))
    metadata = {"slug": form.community_slug, "meeting": m.id if m is not None else None}
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": plain(t("meeting_form_title_move" if m else "meeting_form_title_plan")),
        "submit": plain(t("meeting_form_submit")),
        "close": plain(t("meeting_form_close")),
        "private_metadata": json.dumps(metadata),
        "blocks": [render.section(intro), *form_inputs(t, m)],
    }


def form_reader(services: Services, user_id: str,
                value: str) -> tuple[str, Callable[[Session], MeetingForm]]:  # fmt: skip
    """For a click's value `slug` (plan) or `slug|meeting id` (move): the community as the
    click names it, and what reads the form in a read transaction (for managers only: it
    refuses with a domain error otherwise). Shared by the message buttons and the Home tab."""
    slug, _, meeting = value.partition("|")

    def read(session: Session) -> MeetingForm:
        return meetings.form(
            session, query=slug, user_id=user_id,
            meeting_id=text_in.id_value(meeting) if meeting else None,
            admins=services.settings.admins, now=services.clock(),
        )  # fmt: skip

    return slug, read


def open_form(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
              client: WebClient, services: Services) -> None:  # fmt: skip
    """A click on "Bijeenkomst plannen" or "Verplaatsen": the form, for managers only."""
    ack()
    slug, read = form_reader(services, body["user"]["id"], text_in.from_value(action.get("value")))
    open_modal(services, respond, client, body, read, form_view,
               context="meeting_form_open", slug=slug)  # fmt: skip


# The submission.


@dataclass(frozen=True)
class Answers:
    """The form as submitted, read and checked; local times in COP_TIMEZONE."""

    slug: str
    meeting_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    details: MeetingDetails


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    entry = (values.get(block_id) or {}).get(ACTION[block_id])
    return entry if isinstance(entry, dict) else {}


def _text(values: dict[str, Any], block_id: str) -> str:
    """A text input as plain text. Raises text_in.NulInText."""
    return text_in.from_input(str(_value(values, block_id).get("value") or "")).strip()


def _picked(values: dict[str, Any], block_id: str, key: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(str(_value(values, block_id).get(key) or ""))
    except ValueError:
        return None


def read_answers(
    t: Translator, view: dict[str, Any], *, now: dt.datetime
) -> tuple[Answers | None, dict[str, str]]:
    """The answers, or the errors to show next to the blocks they concern. Checks only what
    needs no database: the permission is the service's to check."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        metadata = {}
    metadata = metadata if isinstance(metadata, dict) else {}
    meeting_id = metadata.get("meeting")
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}
    day = _picked(values, DATE, "selected_date", dt.date.fromisoformat)
    start = _picked(values, START, "selected_time", dt.time.fromisoformat)
    end_text = str(_value(values, END).get("selected_time") or "")
    end = _picked(values, END, "selected_time", dt.time.fromisoformat) if end_text else None
    for block_id, answer in ((DATE, day), (START, start)):
        if answer is None:
            errors[block_id] = t("meeting_form_missing")
    if end_text and end is None:
        errors[END] = t("meeting_form_missing")
    kind = str((_value(values, KIND).get("selected_option") or {}).get("value") or "")
    if kind not in MEETING_KINDS:
        errors[KIND] = t("meeting_form_bad_kind")
    typed: dict[str, str] = {}
    for block_id, limit in ((LOCATION, MAX_LOCATION), (TITLE, MAX_TITLE)):
        try:
            typed[block_id] = _text(values, block_id)
        except text_in.NulInText:
            errors[block_id] = t("text_nul_field")
            continue
        if len(typed[block_id]) > limit:
            errors[block_id] = t("meeting_form_too_long", limit=limit, count=len(typed[block_id]))
    if errors:
        return None, errors
    location, title = typed[LOCATION], typed[TITLE]
    tz = t.tz
    starts = wall_clock(day, start, tz)
    if starts is None:
        return None, {START: t("meeting_form_time_skipped", date=t.date(day))}
    if starts < now:
        today = now.astimezone(tz).date()
        if day < today:
            return None, {DATE: t("meeting_form_past_date")}
        return None, {START: t("meeting_form_past_time")}
    ends = wall_clock(day, end, tz) if end is not None else None
    if end is not None and ends is None:
        return None, {END: t("meeting_form_time_skipped", date=t.date(day))}
    if ends is not None and ends <= starts:
        return None, {END: t("meeting_form_end_not_after", start=f"{starts:%H:%M}")}
    answers = Answers(
        slug=text_in.from_value(metadata.get("slug")),
        # No meeting: plan one; anything but a valid id: a meeting that does not exist.
        meeting_id=None if meeting_id is None else text_in.id_value(meeting_id),
        starts_at=starts.astimezone(dt.UTC),
        ends_at=ends.astimezone(dt.UTC) if ends is not None else None,
        details=MeetingDetails(kind=kind, location=location or None, title=title or None),
    )
    return answers, {}


@dataclass(frozen=True)
class Outcome:
    """A saved change and who to tell, or the errors to show in the form."""

    change: MeetingChange | None = None
    errors: dict[str, str] | None = None


def save(
    services: Services, user_id: str, answers: Answers, *, community_block: str | None = None
) -> Outcome:
    """Plan or move the meeting through the same services as `/cop bijeenkomst`; the
    service checks again that `user_id` may manage the community. A refusal is shown at the
    date, or, when the form has a community picker (`community_block`), one of the
    community itself (gone, or no longer managed by `user_id`) at the picker."""
    t = services.translator(user_id)
    settings = services.settings
    now = services.clock()
    try:
        with services.db.write() as session:
            if answers.meeting_id is None:
                change = meetings.add(
                    session, query=answers.slug, user_id=user_id, starts_at=answers.starts_at,
                    ends_at=answers.ends_at, kind=answers.details.kind,
                    location=answers.details.location, title=answers.details.title,
                    admins=settings.admins, offsets=settings.reminder_offsets, now=now,
                    tz=settings.timezone,
                )  # fmt: skip
            else:
                change = meetings.move(
                    session, query=answers.slug, meeting_id=answers.meeting_id,
                    user_id=user_id, starts_at=answers.starts_at, ends_at=answers.ends_at,
                    details=answers.details, admins=settings.admins,
                    offsets=settings.reminder_offsets, now=now, tz=settings.timezone,
                )  # fmt: skip
    except DomainError as error:
        block = DATE
        if community_block is not None and isinstance(error, CommunityNotFound | NotAllowed):
            block = community_block
        return Outcome(
            errors={block: message_for(t, error, "meeting_form", slug=answers.slug).text}
        )
    after_change(services)
    if change.previous_starts_at is not None:
        services.deliver_soon()  # every member hears of the move through the outbox
    return Outcome(change=change)


def tell(services: Services, user_id: str, outcome: Outcome) -> None:
    """After the commit: the submitter hears what happened (a modal has no reply of its
    own); for a move every member gets the old and the new time through the outbox."""
    t = services.translator(user_id)
    change = outcome.change
    if change is None:
        # Only when the answer came too late for the form itself to show the problem.
        services.notifier.send_dm(
            user_id, render.text_message(" ".join((outcome.errors or {}).values()))
        )
        return
    moved = change.previous_starts_at is not None
    services.notifier.send_dm(
        user_id, change_reply(t, change) if moved else added_message(t, change)
    )


def submit_form(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                services: Services) -> None:  # fmt: skip
    user_id = body["user"]["id"]
    t = services.translator(user_id)
    answers, errors = read_answers(t, view, now=services.clock())
    if answers is None:
        ack(response_action="errors", errors=errors)
        return
    answer(ack, services, user_id, answers)


def answer(
    ack: Ack,
    services: Services,
    user_id: str,
    answers: Answers,
    *,
    community_block: str | None = None,
    confirm: Callable[[MeetingChange], dict[str, Any]] | None = None,
) -> None:
    """Save checked answers within the ack budget, and answer the submission: the errors
    in the form, or close it and tell the submitter by DM (`tell`), or, with `confirm`,
    update it to the confirmation `confirm` returns. When saving takes longer than the
    budget, the form closes and the DM tells the outcome later."""
    future = services.foreground.submit(
        save, services, user_id, answers, community_block=community_block
    )
    try:
        outcome = future.result(timeout=ACK_BUDGET_SECONDS)
    except FutureTimeout:
        ack()
        services.when_done("meeting form", future, partial(_late, services, user_id))
        return
    if outcome.errors:
        ack(response_action="errors", errors=outcome.errors)
        return
    if confirm is not None and outcome.change is not None:
        ack(response_action="update", view=confirm(outcome.change))
        return
    ack()
    services.in_background("meeting form", partial(tell, services, user_id, outcome))


def _late(services: Services, user_id: str, future: Future[Outcome]) -> None:
    tell(services, user_id, future.result())


def register(app: App, services: Services) -> None:
    """Buttons, modals and shortcuts of this feature."""
    opener = partial(open_form, services=services)
    app.action(re.compile(rf"^{render.PLAN_ACTION}(-.+)?$"))(opener)
    app.action(re.compile(rf"^{render.MOVE_ACTION}(-\d+)?$"))(opener)
    app.view(CALLBACK_ID)(partial(submit_form, services=services))
