"""The global shortcuts (Slack's ⚡ menu): asking a question, proposing a topic, planning a
meeting and joining a community, each in a modal with a community picker, so that all of it
can be done by clicking. Each runs the same rule as its `/cop` command.

The picker is a static_select of at most MAX_OPTIONS communities, ordered by name; with more,
the first MAX_OPTIONS are offered and a line under the picker names the `/cop` command for
the others. Not an external_select: that needs an options load URL in the app's manifest and
a round trip to the bot per keystroke, for a number of communities (a few dozen per
workspace) that fits a static menu. Not option_groups (by programme): Slack documents the
same limit of 100 options for a menu with groups, so grouping would not lift it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any, TypeVar

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.i18n import Translator
from bot.notifier import Message
from bot.runtime import Services, error_reference
from bot.services import agenda, meetings, membership, questions
from bot.services.errors import DomainError, EmptyText, TextTooLong
from bot.services.meetings import MeetingChange
from bot.services.questions import QuestionView
from bot.services.views import CommunitySummary
from handlers import meeting_form, render, text_in
from handlers.agenda import topic_added
from handlers.commands import join
from handlers.errors import apology, message_for, typed
from handlers.meetings import added_message
from handlers.questions import ask_question
from handlers.render.blocks import Block, clip, context, escape, plain, section, sections
from handlers.reply import Reply
from handlers.shortcut_ids import ASK_QUESTION, GLOBAL_SHORTCUTS, JOIN, PLAN_MEETING, PROPOSE_TOPIC

log = logging.getLogger("cop_bot")

T = TypeVar("T")

# The shortcuts' callback ids are manifest.yaml's (handlers/shortcut_ids.py). Each modal's
# callback id is the same as its shortcut's (Bolt keeps shortcuts and view submissions apart).
SHORTCUTS = GLOBAL_SHORTCUTS

# Block ids of the forms; each input's action_id is the same as its block's.
COMMUNITY, TEXT = "community", "text"
# Slack's limits: options of a static_select, and the text of an option and its description.
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_TITLE = 24
# A join answers within Slack's 3 s for a view submission, else it is told by DM.
ACK_BUDGET_SECONDS = meeting_form.ACK_BUDGET_SECONDS


@dataclasses.dataclass(frozen=True)
class Choice:
    """One community in a picker; `description` is shown under its name when it fits."""

    slug: str
    name: str
    description: str | None = None


# -- building blocks ----------------------------------------------------------------------


def _option(choice: Choice) -> dict[str, Any]:
    option: dict[str, Any] = {
        "text": plain(clip(choice.name, MAX_OPTION_TEXT)),
        "value": choice.slug,
    }
    if choice.description and len(choice.description) <= MAX_OPTION_TEXT:
        option["description"] = plain(choice.description)
    return option


def picker(t: Translator, choices: list[Choice], command_key: str) -> list[Block]:
    """The community picker (the only one preselected), and with more than MAX_OPTIONS
    communities a line naming the command (`command_key`) that reaches the others."""
    options = [_option(c) for c in choices[:MAX_OPTIONS]]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": COMMUNITY,
        "placeholder": plain(t("shortcut_community_placeholder")),
        "options": options,
    }
    if len(options) == 1:
        element["initial_option"] = options[0]
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": COMMUNITY,
            "label": plain(t("shortcut_community")),
            "element": element,
        }
    ]
    if len(choices) > MAX_OPTIONS:
        more = t("shortcut_truncated", shown=MAX_OPTIONS, total=len(choices),
                 command=t(command_key))  # fmt: skip
        blocks.append(context(more))
    return blocks


def _text_input(label: str, hint: str, limit: int) -> Block:
    return {
        "type": "input",
        "block_id": TEXT,
        "label": plain(label),
        "hint": plain(hint),
        "element": {
            "type": "plain_text_input",
            "action_id": TEXT,
            "multiline": True,
            "max_length": limit,
        },
    }


def _form(t: Translator, callback_id: str, title: str, submit: str,
          blocks: list[Block]) -> dict[str, Any]:  # fmt: skip
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(clip(title, MAX_TITLE)),
        "submit": plain(submit),
        "close": plain(t("shortcut_cancel")),
        "blocks": blocks,
    }


def notice(t: Translator, title: str, blocks: list[Block]) -> dict[str, Any]:
    """A modal that only tells something (a refusal, a confirmation), with a close button."""
    return {
        "type": "modal",
        "title": plain(clip(title, MAX_TITLE)),
        "close": plain(t("shortcut_close")),
        "blocks": blocks,
    }


def _quote(text: str) -> list[Block]:
    """What the user wrote, escaped once, as a quote."""
    return sections(">" + escape(text).replace("\n", "\n>"))


def _picked(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    chosen = ((values.get(COMMUNITY) or {}).get(COMMUNITY) or {}).get("selected_option") or {}
    return text_in.from_value(chosen.get("value"))


def _typed_state(view: dict[str, Any]) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    return dict((values.get(TEXT) or {}).get(TEXT) or {})


def _apology_view(services: Services, user_id: str, what: str) -> dict[str, Any]:
    """A bug's answer in a modal (a global shortcut has no response_url): the apology with
    the reference under which the traceback is logged."""
    reference = error_reference()
    log.exception("%s failed (ref %s)", what, reference)
    try:
        t = services.translator(user_id)
    except Exception:  # the database may be what failed
        t = services.translator(None)
    message = apology(t, reference)
    return notice(t, t("shortcut_error_title"), message.blocks)


def _open(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    services: Services,
    build: Callable[[Translator, str], dict[str, Any]],
    what: str,
) -> None:
    """Open the modal `build` makes for the user. The trigger expires 3 s after the click:
    it opens now, in the request; a bug in `build` opens the apology instead."""
    ack()
    user_id = body["user"]["id"]
    try:
        view = build(services.translator(user_id), user_id)
    except Exception:
        view = _apology_view(services, user_id, what)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _submitted(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    services: Services,
    handle: Callable[[Ack, Translator, str, dict[str, Any]], None],
    what: str,
) -> None:
    """Run a form's submission; a bug shows the apology in the modal (when not answered yet)."""
    user_id = body["user"]["id"]
    try:
        handle(ack, services.translator(user_id), user_id, view)
    except Exception:
        if ack.response is not None:
            raise
        ack(response_action="update", view=_apology_view(services, user_id, what))


def _nowhere(t: Translator, title_key: str, text_key: str) -> dict[str, Any]:
    return notice(t, t(title_key), [section(t(text_key)), section(t("shortcut_how_to_join"))])


# -- Vraag stellen ------------------------------------------------------------------------


def _participating(services: Services, user_id: str) -> list[Choice]:
    """Where `user_id` may ask and propose: the rule of `/cop vraag` and `/cop onderwerp`."""
    with services.db.read() as session:
        found = membership.participating(session, user_id=user_id, admins=services.settings.admins)
    return [Choice(slug, name) for slug, name in found]


def ask_view(t: Translator, choices: list[Choice]) -> dict[str, Any]:
    limit = questions.MAX_QUESTION_LENGTH
    return _form(t, ASK_QUESTION, t("shortcut_ask_title"), t("shortcut_ask_submit"), [
        section(t("shortcut_ask_intro")),
        *picker(t, choices, "shortcut_ask_command"),
        _text_input(t("shortcut_ask_text"), t("shortcut_ask_hint", limit=limit), limit),
    ])  # fmt: skip


def _build_ask(services: Services, t: Translator, user_id: str) -> dict[str, Any]:
    choices = _participating(services, user_id)
    if not choices:
        return _nowhere(t, "shortcut_ask_title", "shortcut_ask_nowhere")
    return ask_view(t, choices)


def _save_text(ack: Ack, t: Translator, view: dict[str, Any], empty_key: str,
               save: Callable[[str, str], T],
               saved: Callable[[T], dict[str, Any]]) -> None:  # fmt: skip
    """The shape both text forms share (a question, a topic): a community picked and a text
    typed, or the problems under the fields; else `save(slug, text)` by the feature's own
    rule, whose refusal goes under the field it concerns, and the modal becomes `saved`."""
    slug = _picked(view)
    text = typed(ack, t, TEXT, _typed_state(view))
    if text is None:
        return
    errors: dict[str, str] = {}
    if not slug:
        errors[COMMUNITY] = t("questions_form_choose")
    if not text.strip():
        errors[TEXT] = t(empty_key)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    try:
        result = save(slug, text)
    except EmptyText:
        ack(response_action="errors", errors={TEXT: t(empty_key)})
        return
    except DomainError as error:
        block = TEXT if isinstance(error, TextTooLong) else COMMUNITY
        ack(response_action="errors",
            errors={block: message_for(t, error, "shortcut_form").text})  # fmt: skip
        return
    ack(response_action="update", view=saved(result))


def _handle_ask(services: Services, ack: Ack, t: Translator, user_id: str,
                view: dict[str, Any]) -> None:  # fmt: skip
    def saved(asked: QuestionView) -> dict[str, Any]:
        text = t("questions_asked", id=asked.id, name=escape(asked.community_name),
                 slug=escape(asked.community_slug))  # fmt: skip
        return notice(t, t("shortcut_ask_saved_title"), [section(text), *_quote(asked.text)])

    _save_text(ack, t, view, "questions_empty",
               lambda slug, text: ask_question(services, user_id, slug, text), saved)  # fmt: skip


# -- Onderwerp voorstellen ----------------------------------------------------------------


def topic_view(t: Translator, choices: list[Choice]) -> dict[str, Any]:
    limit = agenda.MAX_TOPIC_LENGTH
    return _form(t, PROPOSE_TOPIC, t("shortcut_topic_title"), t("shortcut_topic_submit"), [
        section(t("shortcut_topic_intro")),
        *picker(t, choices, "shortcut_topic_command"),
        _text_input(t("shortcut_topic_text"), t("shortcut_topic_hint", limit=limit), limit),
    ])  # fmt: skip


def _build_topic(services: Services, t: Translator, user_id: str) -> dict[str, Any]:
    choices = _participating(services, user_id)
    if not choices:
        return _nowhere(t, "shortcut_topic_title", "shortcut_topic_nowhere")
    return topic_view(t, choices)


def _handle_topic(services: Services, ack: Ack, t: Translator, user_id: str,
                  view: dict[str, Any]) -> None:  # fmt: skip
    def save(slug: str, text: str) -> agenda.Proposed:
        with services.db.write() as session:  # as `/cop onderwerp` (handlers/agenda.py)
            return agenda.propose(
                session, query=slug, user_id=user_id, text=text,
                admins=services.settings.admins, now=services.clock(),
            )  # fmt: skip

    def saved(proposed: agenda.Proposed) -> dict[str, Any]:
        # The topic as `/cop onderwerp` confirms it, without its vote button: a click in a
        # modal has no response_url to answer at.
        blocks = [b for b in topic_added(t, proposed).blocks if b.get("type") != "actions"]
        return notice(t, t("shortcut_topic_saved_title"), blocks)

    _save_text(ack, t, view, "shortcut_topic_empty", save, saved)


# -- Bijeenkomst plannen ------------------------------------------------------------------


def plan_view(t: Translator, choices: list[Choice]) -> dict[str, Any]:
    """The facilitator's meeting form (handlers/meeting_form.py) with a community picker."""
    view = _form(t, PLAN_MEETING, t("meeting_form_title_plan"), t("meeting_form_submit"), [
        section(t("shortcut_plan_intro", tz=str(t.tz))),
        *picker(t, choices, "shortcut_plan_command"),
        *meeting_form.form_inputs(t, None),
    ])  # fmt: skip
    view["close"] = plain(t("meeting_form_close"))
    return view


def _build_plan(services: Services, t: Translator, user_id: str) -> dict[str, Any]:
    with services.db.read() as session:
        found = meetings.plannable(session, user_id=user_id, admins=services.settings.admins)
    if not found:
        title = t("meeting_form_title_plan")
        return notice(t, title, [section(t("shortcut_plan_not_facilitator"))])
    return plan_view(t, [Choice(slug, name) for slug, name in found])


def _planned(t: Translator, change: MeetingChange) -> dict[str, Any]:
    return notice(t, t("shortcut_plan_saved_title"), added_message(t, change).blocks)


def _handle_plan(services: Services, ack: Ack, t: Translator, user_id: str,
                 view: dict[str, Any]) -> None:  # fmt: skip
    slug = _picked(view)
    answers, errors = meeting_form.read_answers(t, view, now=services.clock())
    if not slug:
        errors = {COMMUNITY: t("questions_form_choose"), **errors}
    if answers is None or errors:
        ack(response_action="errors", errors=errors)
        return
    # The same save as the meeting form's, for the community picked (it checks again that
    # `user_id` may plan its meetings). This form only plans: whatever the metadata says.
    meeting_form.answer(
        ack, services, user_id, dataclasses.replace(answers, slug=slug, meeting_id=None),
        community_block=COMMUNITY, confirm=partial(_planned, t),
    )  # fmt: skip


# -- Aanmelden voor een community ---------------------------------------------------------


def _description(t: Translator, c: CommunitySummary) -> str | None:
    """Seats, deadline and approval when they fit an option's description; else the seats."""
    facts = render._facts(t, c)
    for text in (" · ".join(facts), facts[0]):
        if len(text) <= MAX_OPTION_TEXT:
            return text
    return None


def join_view(t: Translator, choices: list[Choice]) -> dict[str, Any]:
    return _form(t, JOIN, t("shortcut_join_title"), t("shortcut_join_submit"), [
        section(t("shortcut_join_intro")),
        *picker(t, choices, "shortcut_join_command"),
    ])  # fmt: skip


def _build_join(services: Services, t: Translator, user_id: str) -> dict[str, Any]:
    with services.db.read() as session:
        found = membership.joinable(
            session, user_id=user_id, now=services.clock(), tz=services.settings.timezone
        )
    if not found:
        return notice(t, t("shortcut_join_title"), [section(t("shortcut_join_none"))])
    return join_view(t, [Choice(c.slug, c.name, _description(t, c)) for c in found])


def _joined(services: Services, user_id: str, reply: Reply) -> None:
    """What every join does after its answer: the welcome (or the facilitators' approval
    requests) goes out through the outbox."""
    if reply.deliver:
        services.deliver_soon()
    if reply.after is not None:
        reply.after()


def _join_late(services: Services, user_id: str, future: Future[Reply]) -> None:
    """The join took longer than the form could wait: its answer comes by DM."""
    t = services.translator(user_id)
    try:
        reply = future.result()
    except DomainError as error:
        services.notifier.send_dm(user_id, message_for(t, error))
        return
    services.notifier.send_dm(user_id, reply.message)
    _joined(services, user_id, reply)


def _handle_join(services: Services, ack: Ack, t: Translator, user_id: str,
                 view: dict[str, Any]) -> None:  # fmt: skip
    slug = _picked(view)
    if not slug:
        ack(response_action="errors", errors={COMMUNITY: t("questions_form_choose")})
        return
    # The join of `/cop aanmelden` (capacity, waitlist, approval, deadline), batched with
    # the joins that arrive together.
    future = services.foreground.submit(join, services, t, user_id, slug)
    try:
        reply = future.result(timeout=ACK_BUDGET_SECONDS)
    except FutureTimeout:
        ack()
        services.when_done("join form", future, partial(_join_late, services, user_id))
        return
    except DomainError as error:
        ack(response_action="errors",
            errors={COMMUNITY: message_for(t, error, "shortcut_form").text})  # fmt: skip
        return
    message: Message = reply.message
    ack(response_action="update", view=notice(t, t("shortcut_join_done_title"), message.blocks))
    _joined(services, user_id, reply)


# -- wiring -------------------------------------------------------------------------------


def register(app: App, services: Services) -> None:
    """The four global shortcuts and their forms."""
    for callback_id, build, handle in (
        (ASK_QUESTION, _build_ask, _handle_ask),
        (PROPOSE_TOPIC, _build_topic, _handle_topic),
        (PLAN_MEETING, _build_plan, _handle_plan),
        (JOIN, _build_join, _handle_join),
    ):
        app.shortcut(callback_id)(
            partial(_open, services=services, build=partial(build, services), what=callback_id)
        )
        app.view(callback_id)(
            partial(
                _submitted, services=services, handle=partial(handle, services), what=callback_id
            )
        )
