"""Minutes and lessons: /cop verslag, les, lessen; the minutes modal; publishing lessons."""

from __future__ import annotations

import json
import logging
import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.i18n import Translator
from bot.notifier import DeliveryError, Message, Notifier
from bot.runtime import Services
from bot.services import lessons, minutes, outbox
from bot.services.errors import (
    CommunityNotFound,
    DomainError,
    MeetingNotFound,
    NoPastMeetings,
    NotAllowed,
    NotInCommunity,
)
from bot.services.lessons import Published
from bot.services.minutes import MinutesForm, MinutesSaved, Nudge
from bot.services.privacy import FORMER_MEMBER
from bot.text import looks_like_number
from handlers import text_in
from handlers.errors import answer_after_ack, message_for, typed
from handlers.meetings import _split_community
from handlers.registry import Command, Entry
from handlers.render import members_only, text_message
from handlers.render.blocks import (
    Block,
    actions,
    author,
    button,
    clip,
    context,
    escape,
    fit,
    header,
    section,
    sections,
)
from handlers.reply import Reply

log = logging.getLogger("cop_bot")

MINUTES_FORM = "minutes_form"
LESSONS_PER_PAGE = 10
# A lesson in a list shows this much of its text; the channel post has all of it.
LESSON_PREVIEW = 700
MAX_OPTION_TEXT = 75


# --- Minutes ---------------------------------------------------------------------------


def _minutes_refusal(services: Services, t: Translator, user_id: str, query: str) -> Reply:
    """Not a facilitator: say so kindly, and show a member the latest minutes; anyone
    else hears that minutes are for members, and how to join."""
    try:
        with services.db.read() as session:
            latest = minutes.latest_for_reader(
                session, query=query, user_id=user_id, admins=services.settings.admins
            )
    except NotInCommunity as error:
        refusal = t("minutes_not_allowed", name=escape(error.community))
        members_only_text = members_only(t, error.community, error.slug, error.part)
        return Reply(Message(text=refusal, blocks=[section(refusal), section(members_only_text)]))
    name = latest.community_name
    blocks: list[Block] = [section(t("minutes_not_allowed", name=escape(name)))]
    if latest.starts_at is not None and latest.text is not None:
        blocks.append(section(t("minutes_latest", when=t.datetime(latest.starts_at))))
        blocks.extend(sections(escape(latest.text)))
    return Reply(Message(text=t("minutes_not_allowed", name=escape(name)), blocks=fit(blocks)))


def _form(
    services: Services, user_id: str, *, query: str | None = None, meeting_id: int | None = None
) -> MinutesForm:
    """The minutes form for the community `query` names or for the meeting `meeting_id`
    (`minutes.form`, which raises what refuses it), as `user_id` may open it."""
    with services.db.read() as session:
        return minutes.form(
            session, user_id=user_id, admins=services.settings.admins, now=services.clock(),
            query=query, meeting_id=meeting_id,
        )  # fmt: skip


def minutes_command(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop verslag <community>`: the minutes modal for facilitators and admins."""
    if not rest:
        return Reply(text_message(t("minutes_usage")))
    try:
        form = _form(services, user_id, query=rest)
    except NotAllowed:
        return _minutes_refusal(services, t, user_id, rest)
    except (NoPastMeetings, MeetingNotFound) as error:
        return Reply(message_for(t, error, "minutes"))
    late = text_message(t("minutes_form_late", slug=escape(form.community_slug)))
    return Reply(late, view=minutes_view(t, form))


def _option(t: Translator, choice: minutes.MeetingChoice) -> dict[str, Any]:
    when = t.short_datetime(choice.starts_at)
    if choice.title:
        when = f"{when} · {choice.title}"
    label = t("minutes_option_done", when=when) if choice.has_minutes else when
    return {
        "text": {"type": "plain_text", "text": clip(escape(label), MAX_OPTION_TEXT)},
        "value": str(choice.id),
    }


def minutes_view(t: Translator, form: MinutesForm) -> dict[str, Any]:
    """The minutes modal. The text block's id names the chosen meeting, so that choosing
    another meeting (views.update) shows that meeting's minutes rather than keeping the
    text typed so far."""
    options = [_option(t, choice) for choice in form.choices]
    selected = next(o for o, c in zip(options, form.choices, strict=True) if c.id == form.selected)
    text_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "minutes_text",
        "multiline": True,
        "max_length": minutes.MAX_MINUTES,
    }
    if form.text:
        text_input["initial_value"] = form.text
    return {
        "type": "modal",
        "callback_id": MINUTES_FORM,
        "private_metadata": json.dumps({"slug": form.community_slug}),
        "title": {"type": "plain_text", "text": t("minutes_modal_title")},
        "submit": {"type": "plain_text", "text": t("minutes_modal_submit")},
        "close": {"type": "plain_text", "text": t("minutes_modal_close")},
        "blocks": [
            section(
                t(
                    "minutes_modal_intro",
                    name=escape(form.community_name),
                    slug=escape(form.community_slug),
                )
            ),
            {
                "type": "input",
                "block_id": "minutes_meeting",
                "dispatch_action": True,
                "label": {"type": "plain_text", "text": t("minutes_modal_meeting")},
                "element": {
                    "type": "static_select",
                    "action_id": "minutes_meeting",
                    "options": options,
                    "initial_option": selected,
                },
            },
            {
                "type": "input",
                "block_id": f"minutes_text-{form.selected}",
                "label": {"type": "plain_text", "text": t("minutes_modal_text")},
                "hint": {
                    "type": "plain_text",
                    "text": t("minutes_modal_hint", limit=minutes.MAX_MINUTES),
                },
                "element": text_input,
            },
        ],
    }


def _state(view: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, state) of the input with `action_id` in a submitted view."""
    for block_id, entries in (view.get("state") or {}).get("values", {}).items():
        if action_id in entries:
            return block_id, entries[action_id]
    return action_id, {}


def submit_minutes(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    """The minutes modal's submit: checked again here, for the submission may be forged."""
    user_id = body["user"]["id"]
    t = services.translator(user_id)
    meeting_block, meeting_state = _state(view, "minutes_meeting")
    text_block, text_state = _state(view, "minutes_text")
    text = typed(ack, t, text_block, text_state)
    if text is None:
        return
    if len(text) > minutes.MAX_MINUTES:
        too_long = t("minutes_too_long", length=len(text), limit=minutes.MAX_MINUTES)
        ack(response_action="errors", errors={text_block: too_long})
        return
    if not text.strip():
        ack(response_action="errors", errors={text_block: t("minutes_empty")})
        return
    meeting_id = text_in.id_value((meeting_state.get("selected_option") or {}).get("value"))
    try:
        with services.db.write() as session:
            minutes.save(
                session, meeting_id=meeting_id, user_id=user_id, text=text,
                admins=services.settings.admins, now=services.clock(),
            )  # fmt: skip
    except DomainError as error:
        error_text = message_for(t, error, "minutes").text
        ack(response_action="errors", errors={meeting_block: error_text})
        return
    ack()
    services.profiles.invalidate()  # /cop info and welcome DMs link the latest minutes
    services.deliver_soon()  # the channel post, from the outbox


def minutes_post(t: Translator, saved: MinutesSaved) -> Message:
    """The minutes as posted in the community's channel."""
    by = (
        t("minutes_post_edited", user=author(t, saved.by), when=t.datetime(saved.starts_at))
        if saved.edited
        else t("minutes_post_by", user=author(t, saved.by))
    )
    meeting = t("minutes_post_meeting", when=t.datetime(saved.starts_at))
    if saved.title:
        meeting = f"{meeting}\n_{escape(saved.title)}_"
    blocks: list[Block] = [
        header(t("minutes_post_title", name=saved.community_name)),
        section(meeting),
        *sections(escape(saved.text)),
        context(by),
    ]
    title = t("minutes_post_title", name=escape(saved.community_name))
    return Message(text=f"{title}: {t.datetime(saved.starts_at)}", blocks=fit(blocks))


def deliver_minutes(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """MINUTES_POST (subject: the meeting; recipient: who saved them): post the minutes in
    the community's channel, or update the earlier post; the facilitator hears only when
    there is no channel or it could not be posted. It reads the minutes as they stand, so
    the last save wins the post."""
    with services.db.read() as session:
        saved = minutes.saved(
            session, meeting_id=int(item.subject), edited=bool(item.payload.get("edited"))
        )
    if saved is None:
        return  # the meeting is gone
    user_id = item.recipient
    author = services.translator(user_id)
    when = author.datetime(saved.starts_at)
    name = escape(saved.community_name)
    if saved.channel_id is None:
        note = author("minutes_saved_no_channel", name=name, when=when, slug=saved.community_slug)
        notifier.send_dm(user_id, text_message(note))
        return
    message = minutes_post(services.translator(None), saved)
    try:
        if saved.ts is not None:
            try:
                notifier.update(saved.channel_id, saved.ts, message)
                return
            except DeliveryError as exc:
                if exc.error != "message_not_found":
                    raise
        ts = notifier.post(saved.channel_id, message)  # on a retry: the post found in Slack
    except DeliveryError as exc:
        if not exc.permanent:
            raise  # Slack is unwell: the whole item is tried again
        log.warning("minutes of meeting %s not posted: %s", saved.meeting_id, exc.error)
        failed = author("minutes_post_failed", name=name, channel=saved.channel_id, error=exc.error)
        notifier.send_dm(user_id, text_message(failed))
        return
    permalink = notifier.permalink(saved.channel_id, ts)
    with services.db.write() as session:
        minutes.record_post(session, meeting_id=saved.meeting_id, ts=ts, permalink=permalink)
    services.profiles.invalidate()


def choose_meeting(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, services: Services
) -> None:
    """Another meeting chosen in the modal: show that meeting's minutes to edit."""
    ack()
    user_id = body["user"]["id"]
    view = body.get("view") or {}
    meeting_id = text_in.id_value((action.get("selected_option") or {}).get("value"))
    if not view.get("id"):
        return
    t = services.translator(user_id)
    try:
        form = _form(services, user_id, meeting_id=meeting_id)
    except DomainError:
        return  # the submit says what is wrong
    client.views_update(view_id=view["id"], hash=view.get("hash"), view=minutes_view(t, form))


def open_minutes_button(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    """The nudge's button: the minutes modal for that meeting, for its facilitators only."""
    ack()
    user_id = body["user"]["id"]
    t = services.translator(user_id)
    meeting_id = text_in.id_value(action.get("value"))
    try:
        form = _form(services, user_id, meeting_id=meeting_id)
    except DomainError as error:
        message = message_for(t, error, "minutes")
        respond(text=message.text, blocks=message.blocks, replace_original=False)
        return
    client.views_open(trigger_id=body["trigger_id"], view=minutes_view(t, form))


def nudge_message(t: Translator, nudge: Nudge) -> Message:
    text = t("minutes_nudge", name=escape(nudge.community_name), when=t.datetime(nudge.starts_at))
    write = button(
        t("minutes_nudge_button"), "minutes_open", str(nudge.meeting_id), style="primary"
    )
    return Message(
        text=text,
        blocks=[section(text), actions(write, block_id=f"minutes-nudge-{nudge.meeting_id}")],
    )


def send_nudges(services: Services) -> int:
    """Ask facilitators for the minutes of yesterday's meetings; run by the scheduler's
    owner. Each meeting is claimed in the transaction that writes its nudges to the
    outbox, so each facilitator is asked exactly once. Returns how many were written."""
    with services.db.write() as session:
        due = minutes.due_nudges(session, now=services.clock(), tz=services.settings.timezone)
    queued = sum(len(nudge.facilitators) for nudge in due)
    if queued:
        services.deliver_soon()
    return queued


def deliver_nudge(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """MINUTES_NUDGE (subject: the meeting): the day-after ask to one facilitator, unless
    the minutes were written (or the meeting cancelled) in the meantime."""
    with services.db.read() as session:
        nudge = minutes.nudge(session, meeting_id=int(item.subject))
    if nudge is None:
        return
    user = item.recipient
    notifier.send_dm(user, nudge_message(services.translator(user), nudge))


# --- Lessons ---------------------------------------------------------------------------


def _published_message(t: Translator, published: Published) -> Message:
    name = escape(published.lesson.community_name)
    if published.channel_id is None:
        return text_message(t("lesson_not_posted", name=name))
    return text_message(t("lesson_posted", name=name, channel=published.channel_id))


def lesson_post(t: Translator, published: Published) -> Message:
    """A lesson as posted in the programme's channel."""
    lesson = published.lesson
    blocks: list[Block] = [header(t("lesson_post_title", name=lesson.community_name))]
    if lesson.title:
        blocks.append(section(t("lesson_post_question", question=escape(lesson.title))))
        blocks.append(section(t("lesson_post_answer")))
    blocks.extend(sections(escape(lesson.text)))
    programme = escape(lesson.programme or lesson.community_name)
    by = author(t, lesson.published_by)
    blocks.append(context(t("lesson_post_by", user=by, programme=programme)))
    title = t("lesson_post_title", name=escape(lesson.community_name))
    return Message(text=f"{title}: {clip(escape(lesson.title or lesson.text), 200)}", blocks=blocks)


def deliver_lesson(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """LESSON_POST (subject: the lesson; recipient: its channel): post the lesson in the
    programme's channel; its author hears when it could not be posted."""
    with services.db.read() as session:
        published = lessons.published(session, lesson_id=int(item.subject))
    if published is None or published.channel_id is None or published.ts is not None:
        return  # gone, nowhere to post it, or posted (and stored) by an earlier attempt
    try:
        ts = notifier.post(published.channel_id, lesson_post(services.translator(None), published))
    except DeliveryError as exc:
        if not exc.permanent:
            raise  # Slack is unwell: the whole item is tried again
        log.warning("lesson %s not posted: %s", published.lesson.id, exc.error)
        author = published.lesson.published_by
        if author == FORMER_MEMBER:
            return  # forgotten since: nobody to tell
        t = services.translator(author)
        failed = t(
            "lesson_post_failed", name=escape(published.lesson.community_name),
            channel=published.channel_id, error=exc.error,
        )  # fmt: skip
        notifier.send_dm(author, text_message(failed))
        return
    with services.db.write() as session:
        lessons.record_post(session, lesson_id=published.lesson.id, ts=ts)


def lesson_command(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop les <community> <text>`: a short lesson for the whole programme."""
    words = rest.split()
    if len(words) < 2:
        return Reply(text_message(t("lesson_usage")))
    try:
        # The text after the community's name, its line breaks kept.
        slug, text = _split_community(services, rest)
        if not text:
            return Reply(text_message(t("lesson_usage")))
        if len(text) > lessons.MAX_LESSON:
            refusal = t("lesson_too_long", limit=lessons.MAX_LESSON, length=len(text))
            blocks = [section(refusal), *sections(escape(text))]
            return Reply(Message(text=refusal, blocks=fit(blocks)))
        with services.db.write() as session:
            published = lessons.publish_text(
                session, query=slug, user_id=user_id, text=text,
                admins=services.settings.admins, now=services.clock(),
                default_channel=services.settings.community_channel,
            )  # fmt: skip
    except DomainError as error:
        return Reply(message_for(t, error, "lessons"))
    return Reply(_published_message(t, published), deliver=True)  # the post: from the outbox


def publish_question_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    """`lesson_publish_question` (value: the question id), shown on answered questions."""
    ack()
    user_id = body["user"]["id"]
    question_id = text_in.id_value(action.get("value"))

    def work(t: Translator) -> None:  # answers itself: the post follows the answer
        with services.db.write() as session:
            published = lessons.publish_question(
                session, question_id=question_id, user_id=user_id,
                admins=services.settings.admins, now=services.clock(),
                default_channel=services.settings.community_channel,
            )  # fmt: skip
        message = _published_message(t, published)
        respond(text=message.text, blocks=message.blocks, replace_original=False)
        services.deliver_soon()  # the channel post, from the outbox

    answer_after_ack(services, respond, user_id, "publish lesson", work, context="lessons")


def lessons_message(t: Translator, page: lessons.LessonPage) -> Message:
    name = escape(page.community_name or "")
    if not page.lessons:
        key = "lessons_none_community" if page.community_name else "lessons_none"
        return text_message(t(key, name=name))
    title = (
        t("lessons_title_community", name=page.community_name or "")
        if page.community_name
        else t("lessons_title")
    )
    blocks: list[Block] = [header(title)]
    for lesson in page.lessons:
        body = clip(escape(lesson.text), LESSON_PREVIEW)
        if lesson.title:
            body = f"*{escape(lesson.title)}*\n{body}"
        blocks.append(section(body))
        date = t.date(lesson.published_at.astimezone(t.tz).date())
        meta = t(
            "lessons_meta", name=escape(lesson.community_name), date=date,
            user=author(t, lesson.published_by),
        )  # fmt: skip
        blocks.append(context(meta))
    blocks.append(context(t("lessons_page", page=page.page, pages=page.pages, count=page.total)))
    nav: list[Block] = []
    where = page.community_slug or ""
    if page.page > 1:
        nav.append(
            button(t("lessons_previous"), "lessons_page-previous", f"{where}|{page.page - 1}")
        )
    if page.page < page.pages:
        nav.append(button(t("lessons_next"), "lessons_page-next", f"{where}|{page.page + 1}"))
    if nav:
        blocks.append(actions(*nav, block_id="lessons-nav"))
    return Message(text=escape(title), blocks=blocks)


def _lessons_page(
    services: Services, t: Translator, user_id: str, query: str, number: int
) -> Message:
    try:
        with services.db.read() as session:
            page = lessons.page(
                session, query=query or None, page=number, per_page=LESSONS_PER_PAGE,
                user_id=user_id, admins=services.settings.admins,
            )  # fmt: skip
    except (CommunityNotFound, NotInCommunity) as error:
        return message_for(t, error)
    return lessons_message(t, page)


def lessons_command(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop lessen [community] [pagina]`: lessons, newest first, for everyone; a number
    alone (`/cop lessen 2`) is a page of all lessons, not a community's name."""
    if looks_like_number(rest.strip()):
        return Reply(_lessons_page(services, t, user_id, "", text_in.page_number(rest.strip())))
    query, page = text_in.trailing_page(rest)
    return Reply(_lessons_page(services, t, user_id, query, page))


def lessons_page_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    ack()
    query, _, number = text_in.from_value(action.get("value")).rpartition("|")
    user_id = body["user"]["id"]
    t = services.translator(user_id)
    message = _lessons_page(services, t, user_id, query, text_in.page_number(number))
    respond(text=message.text, blocks=message.blocks, replace_original=True)


# Its `/cop` subcommands (see handlers/registry.py), in the order of `/cop hulp`.
COMMANDS: list[Entry] = [
    # Only reads to open its modal; answered inline, which keeps the trigger_id fresh.
    Command("minutes", ("verslag", "minutes", "notulen"), minutes_command, writes=False,
            help_facilitator="minutes_help"),
    Command("lesson", ("les", "lesson"), lesson_command,
            help_facilitator="lessons_help_facilitator"),
    Command("lessons", ("lessen", "lessons"), lessons_command, writes=False,
            help="lessons_help"),
]  # fmt: skip


def register(app: App, services: Services) -> None:
    """Buttons, modals and shortcuts of this feature."""
    app.view(MINUTES_FORM)(partial(submit_minutes, services=services))
    app.action("minutes_meeting")(partial(choose_meeting, services=services))
    app.action("minutes_open")(partial(open_minutes_button, services=services))
    app.action("lesson_publish_question")(partial(publish_question_button, services=services))
    app.action(re.compile(r"^lessons_page-(previous|next)$"))(
        partial(lessons_page_button, services=services)
    )
