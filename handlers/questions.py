"""Open questions: /cop vraag, vragen; the message shortcut; votes, statuses and answers."""

from __future__ import annotations

import json
import logging
import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.deadline import SlackTooSlow
from bot.i18n import Translator
from bot.notifier import DeliveryError, Message, Notifier
from bot.runtime import Services
from bot.services import outbox, questions
from bot.services.errors import (
    DomainError,
    QuestionNotFound,
    TextTooLong,
)
from bot.services.questions import (
    Answered,
    CommunityChoice,
    QuestionPage,
    QuestionView,
)
from bot.text import parse_number
from handlers import text_in
from handlers.errors import answer_after_ack, message_for, open_modal, say, typed
from handlers.registry import Command, Entry
from handlers.render import text_message
from handlers.render.blocks import (
    Block,
    actions,
    author,
    button,
    clip,
    context,
    divider,
    escape,
    fit,
    header,
    section,
    sections,
)
from handlers.reply import Reply

log = logging.getLogger("cop_bot")

SAVE_CALLBACK = "save_question"
ANSWER_CALLBACK = "question_answer"
LESSON_ACTION = "lesson_publish_question"  # handled by the lessons feature
# Slack's limits on the modal elements used here.
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]+$")
_TS = re.compile(r"^[0-9]+\.[0-9]+$")


# -- messages -----------------------------------------------------------------------------


def _status(t: Translator, status: str) -> str:
    return t(f"questions_status_{status}")


def _source(t: Translator, permalink: str | None) -> str:
    if permalink and _SAFE_URL.match(permalink):
        return t("questions_source", url=permalink)
    return ""


def _question_blocks(
    t: Translator, q: QuestionView, *, manager: bool, page: int = 1
) -> list[Block]:
    line = t(
        "questions_line",
        id=q.number,
        status=_status(t, q.status),
        votes=t("questions_votes", count=q.votes),
        asker=author(t, q.asked_by),
        source=_source(t, q.permalink),
    )
    blocks = [section(f"{line}\n{escape(q.text)}")]
    if q.answered and q.answer:
        who = author(t, q.answered_by) if q.answered_by else ""
        blocks.append(section(t("questions_answer_line", who=who, answer=escape(q.answer))))
    buttons: list[Block] = []
    if not q.answered:
        if q.voted:
            buttons.append(button(t("questions_button_unvote"), f"question_vote-{q.id}", str(q.id)))
        else:
            buttons.append(
                button(
                    t("questions_button_vote"), f"question_vote-{q.id}", str(q.id), style="primary"
                )
            )
        if manager:
            for status in questions.MOVES:
                if q.status != status:
                    buttons.append(
                        button(
                            t(f"questions_button_{status}"),
                            f"question_status_{status}-{q.id}",
                            str(q.id),
                        )
                    )
            buttons.append(
                button(t("questions_button_answer"), f"question_answer_open-{q.id}", str(q.id))
            )
    elif manager:
        buttons.append(button(t("questions_button_lesson"), LESSON_ACTION, str(q.id)))
    if buttons:
        # The block id carries the list's page, so a vote can redraw the list in place.
        blocks.append(actions(*buttons, block_id=f"question-{q.id}-{page}"))
    return blocks


def question_page(t: Translator, page: QuestionPage) -> Message:
    """A page of questions: at most PAGE_SIZE, each within four blocks, so far below 50."""
    title = t("questions_title", name=page.community_name)
    if not page.questions:
        none = t("questions_none", name=escape(page.community_name), slug=page.community_slug)
        return Message(text=none, blocks=[header(title), section(none)])
    blocks: list[Block] = [header(title)]
    for index, q in enumerate(page.questions):
        if index:
            blocks.append(divider())
        blocks.extend(_question_blocks(t, q, manager=page.can_manage, page=page.page))
    blocks.append(context(t("questions_page", page=page.page, pages=page.pages, count=page.total)))
    if page.page < page.pages:
        more = button(
            t("questions_more"), "question_page", f"{page.community_slug}|{page.page + 1}"
        )
        blocks.append(actions(more))
    return Message(text=escape(title), blocks=fit(blocks))


def answered_dm(t: Translator, q: QuestionView, *, asker: bool) -> Message:
    key = "questions_answered_dm_asker" if asker else "questions_answered_dm_voter"
    who = author(t, q.answered_by) if q.answered_by else ""
    intro = t(key, id=q.number, name=escape(q.community_name), who=who)
    blocks = [
        section(intro),
        *sections(t("questions_dm_question", text=escape(q.text))),
        *sections(t("questions_dm_answer", text=escape(q.answer or ""))),
    ]
    source = _source(t, q.permalink)
    if source:
        blocks.append(context(source.removeprefix(" · ")))
    return Message(text=intro, blocks=fit(blocks))


# -- commands -----------------------------------------------------------------------------


def ask_question(
    services: Services,
    user_id: str,
    slug: str,
    text: str,
    *,
    permalink: str | None = None,
    channel: str | None = None,
    ts: str | None = None,
) -> QuestionView:
    """Store the question (`questions.ask`, which raises what refuses it), typed after
    `/cop vraag` or saved from the message (`channel`, `ts`) that `permalink` links to."""
    with services.db.write() as session:
        return questions.ask(
            session, query=slug, user_id=user_id, text=text, admins=services.settings.admins,
            now=services.clock(), permalink=permalink, source_channel=channel, source_ts=ts,
        )  # fmt: skip


def ask_command(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop vraag <community> <question>`"""
    if not rest.strip():
        return Reply(text_message(t("questions_ask_usage")))
    try:
        with services.db.read() as session:
            slug, text = questions.split_community(session, rest)
        if not text:
            return Reply(text_message(t("questions_ask_usage")))
        asked = ask_question(services, user_id, slug, text)
    except DomainError as error:
        return Reply(message_for(t, error, "questions"))
    return Reply(
        text_message(
            t("questions_asked", id=asked.number, name=escape(asked.community_name), slug=slug)
        )
    )


def _list(services: Services, t: Translator, user_id: str, query: str, page: int) -> Message:
    try:
        with services.db.read() as session:
            found = questions.list_questions(
                session,
                query=query,
                user_id=user_id,
                admins=services.settings.admins,
                page=page,
            )
    except DomainError as error:
        return message_for(t, error, "questions")
    return question_page(t, found)


def list_command(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop vragen <community> [page]`"""
    if not rest.strip():
        return Reply(text_message(t("questions_list_usage")))
    query, page = text_in.trailing_page(rest)
    return Reply(_list(services, t, user_id, query, page))


# Its `/cop` subcommands (see handlers/registry.py), in the order of `/cop hulp`.
COMMANDS: list[Entry] = [
    Command("question_ask", ("vraag", "ask"), ask_command, help="questions_help"),
    Command("question_list", ("vragen", "questions"), list_command, writes=False,
            help_facilitator="questions_help_facilitator"),
]  # fmt: skip


# -- buttons ------------------------------------------------------------------------------


def _question_id(action: dict[str, Any]) -> int:
    """The question a button names; one that is no valid id is one that does not exist."""
    return text_in.id_value(action.get("value"))


def vote_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    ack()
    user_id = body["user"]["id"]

    # In the list of questions (`question-<id>-<page>`): drawn again in place, with the
    # vote on its button and the count; elsewhere (a DM) the count comes apart.
    parts = str(action.get("block_id", "")).split("-")
    page = parse_number(parts[2]) if len(parts) == 3 and parts[0] == "question" else None

    def work(t: Translator) -> Message | None:
        question_id = _question_id(action)
        with services.db.write() as session:
            result = questions.toggle_vote(
                session, question_id=question_id, user_id=user_id, admins=services.settings.admins
            )
        key = "questions_voted" if result.voted else "questions_unvoted"
        if page:
            listed = _list(services, t, user_id, result.community_slug, page)
            say(respond, listed, replace=True)
            return None
        return text_message(t(key, id=result.number, count=result.votes))

    answer_after_ack(services, respond, user_id, "question vote", work, context="questions")


def status_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    ack()
    user_id = body["user"]["id"]
    action_id = str(action.get("action_id", ""))
    status = next((s for s in questions.MOVES if action_id.startswith(f"question_status_{s}")), "")

    def work(t: Translator) -> Message:
        question_id = _question_id(action)
        if not status:
            raise QuestionNotFound(question_id)
        with services.db.write() as session:
            moved = questions.move(
                session,
                question_id=question_id,
                status=status,
                user_id=user_id,
                admins=services.settings.admins,
            )
        return text_message(t("questions_moved", id=moved.number, status=_status(t, moved.status)))

    answer_after_ack(services, respond, user_id, "question status", work, context="questions")


def page_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    ack()
    user_id = body["user"]["id"]
    slug, _, number = text_in.from_value(action.get("value")).partition("|")

    def work(t: Translator) -> Message:
        return _list(services, t, user_id, slug, text_in.page_number(number))

    answer_after_ack(services, respond, user_id, "question page", work, context="questions")


def answer_view(t: Translator, q: QuestionView) -> dict[str, Any]:
    question = t("questions_answer_question", id=q.number, asker=author(t, q.asked_by),
                 text=escape(q.text))  # fmt: skip
    return {
        "type": "modal",
        "callback_id": ANSWER_CALLBACK,
        "private_metadata": str(q.id),
        "title": {"type": "plain_text", "text": clip(t("questions_answer_title"), 24)},
        "submit": {"type": "plain_text", "text": t("questions_answer_submit")},
        "close": {"type": "plain_text", "text": t("questions_modal_cancel")},
        "blocks": [
            section(question),
            {
                "type": "input",
                "block_id": "answer",
                "label": {"type": "plain_text", "text": t("questions_answer_label")},
                "hint": {
                    "type": "plain_text",
                    "text": t("questions_answer_hint", limit=questions.MAX_ANSWER_LENGTH),
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": "answer_text",
                    "multiline": True,
                    "max_length": questions.MAX_ANSWER_LENGTH,
                },
            },
        ],
    }


def answer_button(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    """Open the answer form, for facilitators and admins only (checked here and on submit)."""
    ack()
    user_id = body["user"]["id"]

    def read(session: Session) -> QuestionView:
        return questions.question_for_manager(
            session, question_id=_question_id(action), user_id=user_id,
            admins=services.settings.admins,
        )  # fmt: skip

    open_modal(services, respond, client, body, read, answer_view, context="questions")


def _state_value(view: dict[str, Any], block_id: str, action_id: str) -> Any:
    return ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(action_id) or {}


def answer_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    user_id = body["user"]["id"]
    t = services.translator(user_id)
    text = typed(ack, t, "answer", _state_value(view, "answer", "answer_text"))
    if text is None:
        return
    try:
        with services.db.write() as session:
            answered = questions.answer(
                session,
                question_id=text_in.id_value(view.get("private_metadata")),
                text=text,
                user_id=user_id,
                admins=services.settings.admins,
                now=services.clock(),
            )
    except DomainError as error:
        error_text = message_for(t, error, "question_form").text
        ack(response_action="errors", errors={"answer": error_text})
        return
    ack()
    services.deliver_soon()  # the asker and the voters hear it through the outbox
    services.in_background(
        "question answered", partial(confirm_answered, services, answered, user_id)
    )


def confirm_answered(services: Services, answered: Answered, answered_by: str) -> None:
    """Confirm to the facilitator (a modal has no reply of its own) how many hear the
    answer; the answer itself was queued with it (`deliver_answer`)."""
    q = answered.question
    t = services.translator(answered_by)
    confirm = t("questions_answered_confirm", id=q.number, name=escape(q.community_name),
                count=len(answered.recipients))  # fmt: skip
    services.notifier.send_dm(answered_by, text_message(confirm))


def deliver_answer(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """The outbox's `question_answered`: the answer, to the asker or one voter. Not sent
    when the question is gone meanwhile, or the recipient no longer reads the community."""
    try:
        question_id = int(item.subject)
    except ValueError as exc:
        raise DeliveryError("bad_question_id", permanent=True) from exc
    with services.db.read() as session:
        q = questions.answered_for(
            session, question_id=question_id, user_id=item.recipient,
            admins=services.settings.admins,
        )  # fmt: skip
    if q is None:
        log.info("answer to question %s for %s dropped: gone or no longer readable",
                 item.subject, item.recipient)  # fmt: skip
        return
    t = services.translator(item.recipient)
    notifier.send_dm(item.recipient, answered_dm(t, q, asker=item.recipient == q.asked_by))


# -- the message shortcut -----------------------------------------------------------------


def _truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a space near the end when there is one."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.9:
        cut = cut[:space]
    return cut.rstrip() + "…"


def save_view(
    t: Translator, choices: list[CommunityChoice], text: str, channel: str, ts: str
) -> dict[str, Any]:
    options = [
        {
            "text": {"type": "plain_text", "text": clip(c.name, MAX_OPTION_TEXT)},
            "value": c.slug,
        }
        for c in choices[:MAX_OPTIONS]
    ]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": "question_community",
        "placeholder": {"type": "plain_text", "text": t("questions_modal_community_placeholder")},
        "options": options,
    }
    if len(options) == 1:
        select["initial_option"] = options[0]
    text_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "question_text",
        "multiline": True,
        "max_length": questions.MAX_QUESTION_LENGTH,
    }
    prefill = _truncate(text.strip(), questions.MAX_QUESTION_LENGTH)
    if prefill:
        text_input["initial_value"] = prefill
    return {
        "type": "modal",
        "callback_id": SAVE_CALLBACK,
        "private_metadata": json.dumps({"channel": channel, "ts": ts}),
        "title": {"type": "plain_text", "text": clip(t("questions_modal_title"), 24)},
        "submit": {"type": "plain_text", "text": t("questions_modal_submit")},
        "close": {"type": "plain_text", "text": t("questions_modal_cancel")},
        "blocks": [
            {
                "type": "input",
                "block_id": "community",
                "label": {"type": "plain_text", "text": t("questions_modal_community")},
                "element": select,
            },
            {
                "type": "input",
                "block_id": "text",
                "label": {"type": "plain_text", "text": t("questions_modal_text")},
                "hint": {
                    "type": "plain_text",
                    "text": t("questions_modal_hint", limit=questions.MAX_QUESTION_LENGTH),
                },
                "element": text_input,
            },
        ],
    }


def save_shortcut(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    """ "Bewaar als open vraag" on a message: a form to pick the community and edit the text."""
    ack()
    user_id = body["user"]["id"]
    t = services.translator(user_id)
    with services.db.read() as session:
        choices = questions.communities_for(
            session, user_id=user_id, admins=services.settings.admins
        )
    if not choices:
        say(respond, text_message(t("questions_no_community")))
        return
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    ts = str(message.get("ts") or body.get("message_ts") or "")
    try:
        text = text_in.from_slack(str(message.get("text") or ""))
    except text_in.NulInText as refused:
        text = refused.text  # only a prefill: the submission is checked again
    view = save_view(t, choices, text, channel, ts)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _source_of(view: dict[str, Any]) -> tuple[str | None, str | None]:
    """The message's channel and ts from the form; anything malformed counts as none."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None, None
    if not isinstance(meta, dict):
        return None, None
    channel, ts = str(meta.get("channel") or ""), str(meta.get("ts") or "")
    if _CHANNEL.match(channel) and _TS.match(ts):
        return channel, ts
    return None, None


def _permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    if channel is None or ts is None:
        return None
    try:
        link = client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError as exc:
        log.warning("no permalink for %s/%s: %s", channel, ts, exc.response.get("error"))
        return None
    link = str(link or "")
    return link if _SAFE_URL.match(link) and len(link) <= 500 else None


def save_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, services: Services
) -> None:
    user_id = body["user"]["id"]
    t = services.translator(user_id)
    chosen = _state_value(view, "community", "question_community").get("selected_option") or {}
    slug = text_in.from_value(chosen.get("value"))
    text = typed(ack, t, "text", _state_value(view, "text", "question_text"))
    if text is None:
        return
    if not slug:
        ack(response_action="errors", errors={"community": t("questions_form_choose")})
        return
    if not text.strip():
        ack(response_action="errors", errors={"text": t("questions_empty")})
        return
    if len(text.strip()) > questions.MAX_QUESTION_LENGTH:
        too_long = TextTooLong(text=text.strip(), limit=questions.MAX_QUESTION_LENGTH)
        ack(
            response_action="errors",
            errors={"text": message_for(t, too_long, "question_form").text},
        )
        return
    channel, ts = _source_of(view)
    try:
        permalink = _permalink(client, channel, ts)
        link_later = False
    except SlackTooSlow as exc:
        # The link is a nicety: the question is saved without it, and it follows.
        log.warning("permalink after the answer: %s", exc)
        permalink, link_later = None, True
    try:
        asked = ask_question(
            services, user_id, slug, text, permalink=permalink, channel=channel, ts=ts
        )
    except DomainError as error:
        error_text = message_for(t, error, "question_form").text
        ack(response_action="errors", errors={"community": error_text})
        return
    ack()
    text = t("questions_saved_dm", id=asked.number, name=escape(asked.community_name),
             slug=asked.community_slug)  # fmt: skip

    def confirm() -> None:
        services.notifier.send_dm(user_id, text_message(text))
        if link_later:  # outside the request: as long as Slack needs
            link = _permalink(client, channel, ts)
            if link is not None:
                with services.db.write() as session:
                    questions.record_permalink(session, question_id=asked.id, permalink=link)

    services.in_background("question saved", confirm)


def register(app: App, services: Services) -> None:
    """Buttons, modals and shortcuts of this feature."""
    app.action(re.compile(r"^question_vote(-\d+)?$"))(partial(vote_button, services=services))
    app.action(re.compile(r"^question_status_(research|working_group)(-\d+)?$"))(
        partial(status_button, services=services)
    )
    app.action(re.compile(r"^question_answer_open(-\d+)?$"))(
        partial(answer_button, services=services)
    )
    app.action("question_page")(partial(page_button, services=services))
    app.view(ANSWER_CALLBACK)(partial(answer_submission, services=services))
    app.shortcut(SAVE_CALLBACK)(partial(save_shortcut, services=services))
    app.view(SAVE_CALLBACK)(partial(save_submission, services=services))
