"""Agenda topics and agendas: /cop onderwerp, onderwerpen, agenda; votes; the agenda modal."""

from __future__ import annotations

import json
import logging
import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.i18n import Translator
from bot.notifier import EVENT_TYPE, DeliveryError, Message, Notifier, look_back_to
from bot.outbox import item_key
from bot.runtime import Services
from bot.services import agenda, outbox
from bot.services.agenda import (
    MAX_AGENDA_LENGTH,
    MAX_SPEAKERS_LENGTH,
    AgendaForm,
    AgendaView,
    PublishedAgenda,
    TopicPage,
)
from bot.services.errors import (
    AgendaInvalid,
    DomainError,
    MeetingNotFound,
    MeetingOver,
    NotAllowed,
)
from bot.services.views import MeetingView
from handlers import render, text_in
from handlers.errors import answer_after_ack, message_for, open_modal, say
from handlers.registry import Command, Entry
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
    plain,
    section,
    sections,
)
from handlers.reply import Reply

log = logging.getLogger("cop_bot")

VOTE_ACTION = "topic_vote"
PAGE_ACTION = "topics_page"
OPEN_ACTION = "agenda_open"
FORM_CALLBACK = "agenda_form"
# Block ids of the agenda form; each input's action_id is the same as its block's.
MEETING_FIELD, TEXT_FIELD, SPEAKERS_FIELD = "agenda_meeting", "agenda_text", "agenda_speakers"
MAX_OPTION_TEXT = 75
MAX_TOP_TOPIC_TEXT = 300
_PAGE_IN_BLOCK = re.compile(r"^topic-[0-9]+-p([0-9]+)$")


# -- messages ---------------------------------------------------------------------------


def topic_added(t: Translator, proposed: agenda.Proposed) -> Message:
    quoted = escape(proposed.topic.text).replace("\n", "\n>")
    text = t(
        "agenda_topic_added",
        name=escape(proposed.community_name),
        text=quoted,
        slug=escape(proposed.community_slug),
    )
    topic_id = proposed.topic.id
    vote = button(t("agenda_button_vote"), f"{VOTE_ACTION}-{topic_id}", str(topic_id))
    return Message(text=clip(text, 3000), blocks=[section(text), actions(vote)])


def topic_page(t: Translator, page: TopicPage) -> Message:
    """One page of open topics, each with its vote button, and buttons to the other pages."""
    name, slug = escape(page.community_name), escape(page.community_slug)
    if not page.topics:
        return render.text_message(t("agenda_topics_none", name=name, slug=slug))
    blocks: list[Block] = [header(t("agenda_topics_title", name=page.community_name))]
    for topic in page.topics:
        line = t(
            "agenda_topic_line",
            votes=topic.votes,
            text=escape(topic.text),
            who=author(t, topic.proposed_by),
            mine=t("agenda_topic_mine") if topic.mine else "",
        )
        vote = button(t("agenda_button_vote"), f"{VOTE_ACTION}-{topic.id}", str(topic.id))
        # The block id carries the page, so a vote can redraw the page it was cast on.
        blocks.append(
            {**section(line, accessory=vote), "block_id": f"topic-{topic.id}-p{page.page}"}
        )
    footer = t("agenda_topics_footer", page=page.page, pages=page.pages, count=page.total)
    blocks.append(context(footer))
    nav: list[Block] = []
    if page.page > 1:
        nav.append(
            button(t("agenda_button_back"), f"{PAGE_ACTION}-back", f"{slug}|{page.page - 1}")
        )
    if page.page < page.pages:
        nav.append(
            button(t("agenda_button_more"), f"{PAGE_ACTION}-more", f"{slug}|{page.page + 1}")
        )
    if nav:
        blocks.append(actions(*nav))
    title = t("agenda_topics_title", name=name)
    return Message(text=f"{title} ({page.page}/{page.pages})", blocks=fit(blocks))


def _meeting_facts(t: Translator, m: MeetingView, key: str, when: str) -> str:
    kind, where = render._kind_where(t, m)
    line = t(key, when=when, kind=kind, where=where)
    return f"{line}\n_{escape(m.title)}_" if m.title else line


def _agenda_blocks(t: Translator, text: str, speakers: str | None, version: int) -> list[Block]:
    blocks = [section(t("agenda_heading_edited" if version > 1 else "agenda_heading"))]
    blocks.extend(sections(escape(text)))
    if speakers:
        blocks.append(section(t("agenda_speakers", speakers=escape(speakers))))
    return blocks


def agenda_message(t: Translator, view: AgendaView) -> Message:
    """`/cop agenda`: the next meeting and its agenda, or the top topics while there is none;
    for facilitators a button that opens the agenda form."""
    name = escape(view.community_name)
    blocks: list[Block] = [header(t("agenda_title", name=view.community_name))]
    if view.meeting is None:
        blocks.append(section(t("agenda_no_meeting", name=name)))
    else:
        facts = _meeting_facts(
            t, view.meeting, "agenda_meeting", t.datetime(view.meeting.starts_at)
        )
        blocks.append(section(facts))
    if view.agenda:
        blocks.extend(_agenda_blocks(t, view.agenda, view.speakers, view.version))
        if view.by:
            blocks.append(context(t("agenda_by", who=author(t, view.by))))
    else:
        if view.meeting is not None:
            blocks.append(section(t("agenda_none")))
        if view.top_topics:
            lines = [
                f"{n}. {escape(clip(topic.text, MAX_TOP_TOPIC_TEXT))} ({topic.votes} :+1:)"
                for n, topic in enumerate(view.top_topics, start=1)
            ]
            blocks.append(section("\n".join([t("agenda_top_topics"), *lines])))
        else:
            blocks.append(section(t("agenda_no_topics", slug=escape(view.community_slug))))
    if view.can_manage and view.meeting is not None:
        compose = button(
            t("agenda_button_compose"), OPEN_ACTION, view.community_slug, style="primary"
        )
        blocks.append(actions(compose))
    text = t("agenda_title", name=name)
    return Message(text=text, blocks=fit(blocks))


def agenda_post(t: Translator, published: PublishedAgenda) -> Message:
    """The agenda as posted in the community's channel; an edit shows as such."""
    edited = published.version > 1
    title = t(
        "agenda_post_title_edited" if edited else "agenda_post_title",
        name=published.community_name,
    )
    m = published.meeting
    blocks: list[Block] = [
        header(title),
        section(_meeting_facts(t, m, "agenda_post_meeting", render.slack_date(t, m.starts_at))),
        *_agenda_blocks(t, published.agenda, published.speakers, published.version),
    ]
    if published.by:
        blocks.append(context(t("agenda_by", who=author(t, published.by))))
    text = f"{escape(title)}: {t.datetime(m.starts_at)}"
    return Message(text=text, blocks=fit(blocks))


def agenda_modal(t: Translator, form: AgendaForm) -> dict[str, Any]:
    """The agenda form: which meeting, the agenda (prefilled), the speakers."""

    def option(m: MeetingView) -> dict[str, Any]:
        label = t.short_datetime(m.starts_at)
        if m.title:
            label = f"{label} · {escape(m.title)}"
        return {"text": plain(clip(label, MAX_OPTION_TEXT)), "value": str(m.id)}

    options = [option(m) for m in form.meetings]
    selected = next(o for o, m in zip(options, form.meetings, strict=True) if m.id == form.selected)
    text_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": TEXT_FIELD,
        "multiline": True,
        "max_length": MAX_AGENDA_LENGTH,
    }
    if form.text:
        text_input["initial_value"] = form.text[:MAX_AGENDA_LENGTH]
    speakers_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": SPEAKERS_FIELD,
        "max_length": MAX_SPEAKERS_LENGTH,
        "placeholder": plain(t("agenda_modal_speakers_hint")),
    }
    if form.speakers:
        speakers_input["initial_value"] = form.speakers[:MAX_SPEAKERS_LENGTH]
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": json.dumps({"community": form.community_slug}),
        "title": plain(t("agenda_modal_title")),
        "submit": plain(t("agenda_modal_submit")),
        "close": plain(t("agenda_modal_cancel")),
        "blocks": [
            section(t("agenda_modal_intro", name=escape(form.community_name))),
            {
                "type": "input",
                "block_id": MEETING_FIELD,
                "label": plain(t("agenda_modal_meeting")),
                "element": {
                    "type": "static_select",
                    "action_id": MEETING_FIELD,
                    "options": options,
                    "initial_option": selected,
                },
            },
            {
                "type": "input",
                "block_id": TEXT_FIELD,
                "label": plain(t("agenda_modal_text")),
                "hint": plain(t("agenda_modal_text_hint", limit=MAX_AGENDA_LENGTH)),
                "element": text_input,
            },
            {
                "type": "input",
                "block_id": SPEAKERS_FIELD,
                "optional": True,
                "label": plain(t("agenda_modal_speakers")),
                "element": speakers_input,
            },
        ],
    }


# -- commands ---------------------------------------------------------------------------


def propose_topic(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop onderwerp <community> <text>`"""
    if len(rest.split()) < 2:
        return Reply(render.text_message(t("agenda_topic_usage")))
    try:
        with services.db.write() as session:
            community, text = agenda.split_community(session, rest)
            if not text:
                return Reply(render.text_message(t("agenda_topic_usage")))
            proposed = agenda.propose(
                session, query=community.slug, user_id=user_id, text=text,
                admins=services.settings.admins, now=services.clock(),
            )  # fmt: skip
    except DomainError as error:
        return Reply(message_for(t, error, "agenda"))
    return Reply(topic_added(t, proposed))


def list_topics(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop onderwerpen <community> [page]`"""
    if not rest:
        return Reply(render.text_message(t("agenda_topics_usage")))
    query, number = text_in.trailing_page(rest)
    try:
        with services.db.read() as session:
            page = agenda.topics(
                session, query=query, user_id=user_id, admins=services.settings.admins,
                page=number,
            )  # fmt: skip
    except DomainError as error:
        return Reply(message_for(t, error, "agenda"))
    return Reply(topic_page(t, page))


def show_agenda(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop agenda <community>`"""
    if not rest:
        return Reply(render.text_message(t("agenda_usage")))
    try:
        with services.db.read() as session:
            view = agenda.next_agenda(
                session, query=rest, user_id=user_id, admins=services.settings.admins,
                now=services.clock(),
            )  # fmt: skip
    except DomainError as error:
        return Reply(message_for(t, error, "agenda"))
    return Reply(agenda_message(t, view))


# Its `/cop` subcommands (see handlers/registry.py), in the order of `/cop hulp`.
COMMANDS: list[Entry] = [
    Command("topic", ("onderwerp", "topic"), propose_topic, help="agenda_help"),
    Command("topics", ("onderwerpen", "topics"), list_topics, writes=False),
    Command("agenda", ("agenda",), show_agenda, writes=False,
            help_facilitator="agenda_help_facilitator"),
]  # fmt: skip


# -- buttons and the form ---------------------------------------------------------------


def vote_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                services: Services) -> None:  # fmt: skip
    """👍 Stem: cast or take back a vote, then redraw the list it was clicked in."""
    ack()
    user_id = body["user"]["id"]
    topic_id = text_in.id_value(action.get("value"))
    shown = _PAGE_IN_BLOCK.match(text_in.from_value(action.get("block_id")))

    def work(t: Translator) -> None:  # answers itself: a redrawn list replaces the old
        admins = services.settings.admins
        with services.db.write() as session:
            vote = agenda.toggle_vote(
                session, topic_id=topic_id, user_id=user_id, admins=admins,
                now=services.clock(),
            )  # fmt: skip
        if shown is None:  # clicked under a new topic, not in a list
            key = "agenda_vote_cast" if vote.voted else "agenda_vote_taken_back"
            say(respond, render.text_message(t(key, count=vote.votes)))
            return
        with services.db.read() as session:
            page = agenda.topics(
                session, query=vote.community_slug, user_id=user_id, admins=admins,
                page=text_in.page_number(shown.group(1)),
            )  # fmt: skip
        say(respond, topic_page(t, page), replace=True)

    answer_after_ack(services, respond, user_id, "topic vote", work, context="agenda")


def page_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                services: Services) -> None:  # fmt: skip
    """Meer / Terug: another page of the topics, in place of the one shown."""
    ack()
    user_id = body["user"]["id"]
    slug, _, number = text_in.from_value(action.get("value")).partition("|")

    def work(t: Translator) -> None:
        with services.db.read() as session:
            page = agenda.topics(
                session, query=slug, user_id=user_id, admins=services.settings.admins,
                page=text_in.page_number(number),
            )  # fmt: skip
        say(respond, topic_page(t, page), replace=True)

    answer_after_ack(services, respond, user_id, "topics page", work, context="agenda")


def open_form(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
              client: WebClient, services: Services) -> None:  # fmt: skip
    """Agenda opstellen: open the form, for facilitators and admins only (checked here,
    whoever sent the click). The trigger expires in 3 s, so this runs before the answer."""
    ack()
    user_id = body["user"]["id"]

    def read(session: Session) -> AgendaForm:
        return agenda.agenda_form(
            session, query=text_in.from_value(action.get("value")), user_id=user_id,
            admins=services.settings.admins, now=services.clock(),
        )  # fmt: skip

    open_modal(services, respond, client, body, read, agenda_modal, context="agenda")


def _field(values: dict[str, Any], name: str) -> dict[str, Any]:
    return dict((values.get(name) or {}).get(name) or {})


def submit_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> None:
    """Save the agenda: the submitter's right to manage the chosen meeting's community is
    checked again here. Mistakes show at their field; the post follows after the answer,
    from the outbox."""
    user_id = body["user"]["id"]
    t = services.translator(user_id)
    values = (view.get("state") or {}).get("values") or {}
    meeting_id = text_in.id_value(
        (_field(values, MEETING_FIELD).get("selected_option") or {}).get("value")
    )
    refused: dict[str, str] = {}
    typed: dict[str, str] = {}
    for field in (TEXT_FIELD, SPEAKERS_FIELD):
        try:
            typed[field] = text_in.from_input(str(_field(values, field).get("value") or ""))
        except text_in.NulInText:
            refused[field] = t("text_nul_field")
    if refused:
        ack(response_action="errors", errors=refused)
        return
    text, speakers = typed[TEXT_FIELD], typed[SPEAKERS_FIELD]
    try:
        with services.db.write() as session:
            agenda.save_agenda(
                session, meeting_id=meeting_id, user_id=user_id, text=text,
                speakers=speakers or None, admins=services.settings.admins,
                now=services.clock(),
            )  # fmt: skip
    except (AgendaInvalid, NotAllowed, MeetingOver, MeetingNotFound) as error:
        field = MEETING_FIELD
        if isinstance(error, AgendaInvalid):
            field = TEXT_FIELD if error.field == "text" else SPEAKERS_FIELD
        elif isinstance(error, NotAllowed):
            log.warning("agenda form from %s, who may not manage it, refused", user_id)
        ack(response_action="errors", errors={field: message_for(t, error, "agenda_form").text})
        return
    ack()
    services.deliver_soon()  # the channel post and the note to the facilitator


def _posted_before(services: Services, item: outbox.Item, notifier: Notifier, channel: str) -> bool:
    """Whether an earlier attempt of this item posted the agenda (its first message): a
    retry then goes the same way, so that its note keeps its number and is not sent twice."""
    if not item.unsure:
        return False
    since = look_back_to(item.created_at, services.clock())
    return notifier.find_posted(channel, EVENT_TYPE, item_key(item.id, 0), since) is not None


def deliver_agenda(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """AGENDA_POST (subject: the meeting; recipient: who saved it): post the agenda in the
    community's channel, or update the earlier post, then tell the facilitator. It reads
    the agenda as it stands, so the last save wins the post. Messages: the channel post
    (when one is made), then the note to the facilitator."""
    user_id = item.recipient
    try:
        with services.db.read() as session:
            published = agenda.published_agenda(session, meeting_id=int(item.subject))
    except MeetingNotFound:
        return  # the meeting (or its agenda) is gone: nothing to post
    t = services.translator(user_id)
    name = escape(published.community_name)
    when = t.datetime(published.meeting.starts_at)
    channel = published.channel_id
    if channel is None:
        notifier.send_dm(
            user_id, render.text_message(t("agenda_saved_no_channel", name=name, when=when))
        )
        return
    message = agenda_post(services.translator(None), published)
    key = "agenda_saved_posted"
    try:
        updated = False
        again = _posted_before(services, item, notifier, channel)
        if published.ts and not again:
            try:
                notifier.update(channel, published.ts, message)
                updated, key = True, "agenda_saved_updated"
            except DeliveryError as exc:
                if not exc.permanent and exc.error != "message_not_found":
                    raise  # Slack is unwell: the whole item is tried again
                # Deleted by someone: post it anew.
                log.warning("could not update the agenda post %s: %s", published.ts, exc.error)
        if not updated:
            ts = notifier.post(channel, message)  # on a retry: the post found in Slack
            if ts != published.ts:
                with services.db.write() as session:
                    agenda.record_agenda_post(session, meeting_id=published.meeting.id, ts=ts)
    except DeliveryError as exc:
        if not exc.permanent:
            raise
        log.warning("could not post the agenda of meeting %s: %s", item.subject, exc.error)
        text = t("agenda_post_failed", name=name, channel=channel, error=escape(exc.error))
        notifier.send_dm(user_id, render.text_message(text))
        return
    notifier.send_dm(user_id, render.text_message(t(key, name=name, when=when, channel=channel)))


def register(app: App, services: Services) -> None:
    """Buttons, modals and shortcuts of this feature."""
    app.action(re.compile(rf"^{VOTE_ACTION}(-\d+)?$"))(partial(vote_button, services=services))
    app.action(re.compile(rf"^{PAGE_ACTION}(-\w+)?$"))(partial(page_button, services=services))
    app.action(OPEN_ACTION)(partial(open_form, services=services))
    app.view(FORM_CALLBACK)(partial(submit_form, services=services))
