"""The App Home tab: published when someone opens it, and again after each click on it.

A click on the Home tab comes without a response_url: its answer is the tab itself,
published again with a line on top saying what the click did (or why it was refused).
Every action runs the same service rule as its typed command: the clicker is checked
there, never taken on trust from the button's value. Clicks and the opening are
acknowledged at once; the work and the views.publish run in the background.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.i18n import Translator
from bot.notifier import Message, Notifier
from bot.runtime import Services, error_reference
from bot.services import admins as admins_service
from bot.services import agenda as agenda_service
from bot.services import home as home_service
from bot.services import meetings, membership, outbox
from bot.services import minutes as minutes_service
from bot.services import questions as questions_service
from bot.services.errors import DomainError
from bot.services.home import HomeState
from bot.text import parse_number
from handlers import (
    agenda,
    commands,
    community_form,
    meeting_form,
    minutes,
    privacy,
    questions,
    render,
    text_in,
)  # fmt: skip
from handlers.commands import join
from handlers.errors import Context, apology, message_for, open_modal
from handlers.locale import learn_language
from handlers.meetings import calendar as calendar_command
from handlers.registry import Command
from handlers.render import home as view
from handlers.render.blocks import escape, mention

log = logging.getLogger("cop_bot")

# What a click did, for the line on top of the tab (None: nothing to say), and the state
# (pages, the community managed) the tab is drawn in next.
Outcome = tuple[str | None, HomeState]


def build(services: Services, t: Translator, user_id: str, state: HomeState,
          notice: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The Home tab of `user_id`, as it is now."""
    with services.db.read() as session:
        page = home_service.home(
            session, user_id=user_id, state=state, admins=services.settings.admins,
            now=services.clock(), tz=services.settings.timezone,
        )  # fmt: skip
    return view.home_view(t, page, notice=notice)


def publish(client: WebClient, services: Services, user_id: str, state: HomeState,
            notice: str | None = None) -> None:  # fmt: skip
    t = services.translator(user_id)
    client.views_publish(user_id=user_id, view=build(services, t, user_id, state, notice))


def refresh(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """The outbox's `home_refresh`: draw someone's Home tab again after a change that
    concerns them (a request decided, taken out of a community); the first page."""
    user_id = item.recipient
    t = services.translator(user_id)
    notifier.publish_home(user_id, build(services, t, user_id, HomeState()))


def removed(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """The outbox's `member_removed`: tell the person a facilitator took out (their Home
    tab is drawn again by the refresh queued with it)."""
    previous = str(item.payload.get("previous") or "member")
    with services.db.read() as session:
        try:
            name = home_service.community_name(session, item.subject)
        except DomainError:
            return  # the community is gone: nothing to tell
    t = services.translator(item.recipient)
    key = {"waitlist": "removed_dm_waitlist", "pending": "removed_dm_pending"}.get(
        previous, "removed_dm"
    )
    text = t(key, name=escape(name), slug=escape(item.subject))
    notifier.send_dm(item.recipient, render.text_message(text))


def opened(event: dict[str, Any], client: WebClient, services: Services) -> None:
    """`app_home_opened`: draw the Home tab (not for the Messages tab)."""
    user_id = event.get("user")
    if event.get("tab", "home") != "home" or not isinstance(user_id, str):
        return

    def run() -> None:
        try:
            learn_language(services, client, user_id)  # first contact: the Slack locale
            publish(client, services, user_id, HomeState())
        except Exception:
            log.exception("app home of %s not published (ref %s)", user_id, error_reference())

    services.in_background("app home", run)


def _state(body: dict[str, Any]) -> HomeState:
    metadata = (body.get("view") or {}).get("private_metadata")
    return HomeState.decode(metadata if isinstance(metadata, str) else None)


def _chosen(action: dict[str, Any]) -> str:
    """A button's value, the option picked in a menu, or the person picked in a people
    menu (with the community its block names: `appoint-<slug>`)."""
    if action.get("type") == "static_select":
        option = action.get("selected_option") or {}
        return text_in.from_value(option.get("value"))
    if action.get("type") == "users_select":
        _, _, slug = str(action.get("block_id", "")).partition("-")
        return f"{text_in.from_value(slug)}|{text_in.from_value(action.get('selected_user'))}"
    return text_in.from_value(action.get("value"))


def _run(services: Services, client: WebClient, user_id: str, state: HomeState,
         what: str, work: Callable[[Translator], Outcome]) -> None:  # fmt: skip
    """The one guard of a Home click, after the ack: the work, then the tab drawn again
    with its outcome; a domain error's message on top instead, a bug an apology."""

    def run() -> None:
        t = services.translator(None)
        try:
            t = services.translator(user_id)
            notice, new_state = work(t)
            t = services.translator(user_id)  # the language may be what changed
        except DomainError as error:
            notice, new_state = message_for(t, error).text, state
        except Exception:
            reference = error_reference()
            log.exception("%s failed (ref %s)", what, reference)
            notice, new_state = apology(t, reference).text, state
        try:
            publish(client, services, user_id, new_state, notice)
        except Exception:
            log.exception("app home of %s not published (ref %s)", user_id, error_reference())

    services.in_background(what, run)


def _pair(text: str) -> tuple[str, str]:
    slug, _, item = text.partition("|")
    return slug, item


def clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
            services: Services) -> None:  # fmt: skip
    """Every button and menu of the Home tab (render/home.py ACTIONS)."""
    ack()
    user_id = body["user"]["id"]
    state = _state(body)
    action_id = str(action.get("action_id", ""))
    name = action_id.split("-", 1)[0]
    chosen = _chosen(action)
    if name in _FORMS:
        _open_feature_form(services, client, body, user_id, state, name, chosen)
        return
    if name in (view.CREATE_COMMUNITY, view.EDIT_COMMUNITY):
        slug = _pair(chosen)[0] if name == view.EDIT_COMMUNITY else None
        _open_community_form(services, client, body, user_id, state, slug)
        return
    handler = _ACTIONS.get(name)
    if handler is None:
        return
    _run(services, client, user_id, state, name,
         lambda t: handler(services, t, user_id, state, chosen))  # fmt: skip


# -- the actions: (services, t, user, state, value) -> (notice, state) ----------------------


def _write(services: Services, fn: Callable[[Session], Any]) -> Any:
    with services.db.write() as session:
        result = fn(session)
    services.deliver_soon()
    return result


def _rsvp(coming: bool, services: Services, t: Translator, user_id: str, state: HomeState,
          chosen: str) -> Outcome:  # fmt: skip
    _, meeting = _pair(chosen)
    result = _write(services, lambda s: meetings.rsvp(
        s, meeting_id=text_in.id_value(meeting), user_id=user_id, coming=coming,
        now=services.clock()))  # fmt: skip
    key = "home_done_rsvp_yes" if coming else "home_done_rsvp_no"
    return t(key, name=escape(result.community_name),
             when=render.slack_date(t, result.meeting.starts_at)), state  # fmt: skip


def _join(services: Services, t: Translator, user_id: str, state: HomeState,
          chosen: str) -> Outcome:  # fmt: skip
    reply = join(services, t, user_id, chosen)
    if reply.deliver:
        services.deliver_soon()
    if reply.after is not None:
        reply.after()
    return reply.message.text, state


def _leave(services: Services, t: Translator, user_id: str, state: HomeState,
           chosen: str) -> Outcome:  # fmt: skip
    slug, _ = _pair(chosen)
    result = _write(
        services,
        lambda s: membership.leave(
            s, query=slug, user_id=user_id, now=services.clock(), tz=services.settings.timezone
        ),
    )
    return t("home_done_left", name=escape(result.community.name)), state


def _page(services: Services, t: Translator, user_id: str, state: HomeState,
          chosen: str) -> Outcome:  # fmt: skip
    part, _, number = chosen.partition("|")
    page = min(parse_number(number) or 0, 10_000)  # ASCII digits only: ² is no page
    if part == "mine":
        return None, state.paged(mine_page=page)
    return None, state.paged(discover_page=page)


def _language(services: Services, t: Translator, user_id: str, state: HomeState,
              chosen: str) -> Outcome:  # fmt: skip
    language = chosen if chosen in ("nl", "en") else "nl"
    services.set_language(user_id, language)
    return services.translator(user_id)("home_done_language"), state


def _focus(services: Services, t: Translator, user_id: str, state: HomeState,
           chosen: str) -> Outcome:  # fmt: skip
    # Only a view: the service drops a focus the viewer may not manage.
    return None, state.paged(focus=chosen[:64] or None)


def _decide(approve: bool, services: Services, t: Translator, user_id: str, state: HomeState,
            chosen: str) -> Outcome:  # fmt: skip
    slug, person = _pair(chosen)
    decision = _write(
        services,
        lambda s: membership.decide(
            s,
            query=slug,
            user_id=person,
            decided_by=user_id,
            approve=approve,
            admins=services.settings.admins,
            now=services.clock(),
            tz=services.settings.timezone,
        ),
    )
    name = escape(decision.community.summary.name)
    if decision.outcome == "declined":
        return t("home_done_declined", who=mention(person), name=name), state
    if decision.outcome == "waitlist":
        return t("home_done_approved_waitlist", who=mention(person), name=name,
                 position=decision.position), state  # fmt: skip
    return t("home_done_approved", who=mention(person), name=name), state


def _remove(services: Services, t: Translator, user_id: str, state: HomeState,
            chosen: str) -> Outcome:  # fmt: skip
    slug, person = _pair(chosen)
    result = _write(
        services,
        lambda s: membership.remove_member(
            s,
            query=slug,
            user_id=person,
            removed_by=user_id,
            admins=services.settings.admins,
            now=services.clock(),
            tz=services.settings.timezone,
        ),
    )
    return t("home_done_removed", who=mention(person), name=escape(result.community.name)), state


def _move_up(services: Services, t: Translator, user_id: str, state: HomeState,
             chosen: str) -> Outcome:  # fmt: skip
    slug, person = _pair(chosen)

    def work(session: Session) -> tuple[int, str]:
        position = membership.move_up(session, query=slug, user_id=person, moved_by=user_id,
                                      admins=services.settings.admins)  # fmt: skip
        return position, home_service.community_name(session, slug)

    position, name = _write(services, work)
    return t("home_done_moved_up", who=mention(person), position=position,
             name=escape(name)), state  # fmt: skip


def _cancel(services: Services, t: Translator, user_id: str, state: HomeState,
            chosen: str) -> Outcome:  # fmt: skip
    slug, meeting = _pair(chosen)
    change = _write(
        services,
        lambda s: meetings.cancel(
            s,
            query=slug,
            meeting_id=text_in.id_value(meeting),
            user_id=user_id,
            admins=services.settings.admins,
            offsets=services.settings.reminder_offsets,
            now=services.clock(),
            tz=services.settings.timezone,
        ),
    )
    return t("home_done_cancelled", when=render.when_range(t, change.meeting),
             name=escape(change.community_name)), state  # fmt: skip


def _stop_facilitator(services: Services, t: Translator, user_id: str, state: HomeState,
                      chosen: str) -> Outcome:  # fmt: skip
    slug, person = _pair(chosen)
    name, was = _write(
        services,
        lambda s: membership.remove_facilitator(
            s,
            query=slug,
            user_id=person,
            removed_by=user_id,
            admins=services.settings.admins,
            now=services.clock(),
        ),
    )
    key = "home_done_facilitator_stopped" if was else "home_done_facilitator_was_not"
    return t(key, who=mention(person), name=escape(name)), state


def _appoint(services: Services, t: Translator, user_id: str, state: HomeState,
             chosen: str) -> Outcome:  # fmt: skip
    slug, person = _pair(chosen)
    appointed = _write(
        services,
        lambda s: membership.appoint_facilitator(
            s,
            query=slug,
            user_id=person,
            appointed_by=user_id,
            admins=services.settings.admins,
            now=services.clock(),
        ),
    )
    key = "home_done_appointed" if appointed.new else "home_done_already_facilitator"
    return t(key, who=mention(person), name=escape(appointed.community_name)), state


def _add_admin(services: Services, t: Translator, user_id: str, state: HomeState,
               chosen: str) -> Outcome:  # fmt: skip
    _, person = _pair(chosen)
    added = _write(
        services,
        lambda s: admins_service.appoint(
            s, user_id=person, by=user_id, admins=services.settings.admins, now=services.clock()
        ),
    )
    return t("home_done_admin_added" if added else "home_done_admin_already",
             who=mention(person)), state  # fmt: skip


def _remove_admin(services: Services, t: Translator, user_id: str, state: HomeState,
                  chosen: str) -> Outcome:  # fmt: skip
    person = chosen.rpartition("|")[2]
    removed = _write(
        services,
        lambda s: admins_service.dismiss(
            s, user_id=person, by=user_id, admins=services.settings.admins, now=services.clock()
        ),
    )
    return t("home_done_admin_removed" if removed else "home_done_admin_configured",
             who=mention(person)), state  # fmt: skip


def _calendar(services: Services, t: Translator, user_id: str, state: HomeState,
              chosen: str) -> Outcome:  # fmt: skip
    reply = calendar_command(services, t, user_id, "")
    if reply.after is not None:
        reply.after()
    return reply.message.text, state


def _my_data(services: Services, t: Translator, user_id: str, state: HomeState,
             chosen: str) -> Outcome:  # fmt: skip
    reply = privacy.my_data(services, t, user_id, "")  # the clicker's own, whatever the value
    if reply.after is not None:
        reply.after()
    return reply.message.text, state


def _show(services: Services, t: Translator, user_id: str, state: HomeState,
          chosen: str) -> Outcome:  # fmt: skip
    """A command's answer, the same as typing it, in the DM with the bot (its buttons work
    there: they redraw in place). Only the commands in render/home.py SHOWABLE."""
    name, _, slug = chosen.partition("|")
    command = _COMMANDS.get(name) if name in view.SHOWABLE else None
    if command is None:
        return None, state
    reply = command.handler(services, t, user_id, slug)
    services.notifier.send_dm(user_id, reply.message)
    if reply.after is not None:
        reply.after()
    return t("home_shown"), state


def _forget(services: Services, t: Translator, user_id: str, state: HomeState,
            chosen: str) -> Outcome:  # fmt: skip
    forgotten = privacy.forget_user(services, user_id)  # the clicker, never a value's
    return t("privacy_forgotten", count=forgotten.memberships), HomeState()


# The /cop commands a SHOW button may run, by name, from the modules' own tables.
_COMMANDS: dict[str, Command] = {
    entry.name: entry
    for table in (commands.COMMANDS, agenda.COMMANDS, questions.COMMANDS, minutes.COMMANDS,
                  privacy.COMMANDS)
    for entry in table
    if isinstance(entry, Command)
}  # fmt: skip


_ACTIONS: dict[str, Callable[[Services, Translator, str, HomeState, str], Outcome]] = {
    view.RSVP_YES: partial(_rsvp, True),
    view.RSVP_NO: partial(_rsvp, False),
    view.JOIN: _join,
    view.LEAVE: _leave,
    view.PAGE: _page,
    view.LANGUAGE: _language,
    view.FOCUS: _focus,
    view.APPROVE: partial(_decide, True),
    view.DECLINE: partial(_decide, False),
    view.REMOVE: _remove,
    view.MOVE_UP: _move_up,
    view.CANCEL: _cancel,
    view.STOP_FACILITATOR: _stop_facilitator,
    view.APPOINT: _appoint,
    view.CALENDAR: _calendar,
    view.MY_DATA: _my_data,
    view.SHOW: _show,
    view.FORGET: _forget,
    view.ADD_ADMIN: _add_admin,
    view.REMOVE_ADMIN: _remove_admin,
}


def community_submitted(ack: Ack, body: dict[str, Any], client: WebClient,
                        services: Services) -> None:  # fmt: skip
    """The community form, submitted: saved and closed, or its problems under the fields."""
    user_id = body["user"]["id"]
    view_ = body.get("view") or {}
    slug = str(view_.get("private_metadata") or "") or None
    t = services.translator(user_id)
    state = (view_.get("state") or {}).get("values") or {}
    errors, saved, notice = community_form.save(services, t, user_id, slug, state)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    _run(services, client, user_id, HomeState(focus=saved), "community form",
         lambda _t: (notice, HomeState(focus=saved)))  # fmt: skip


def _open_community_form(services: Services, client: WebClient, body: dict[str, Any],
                         user_id: str, state: HomeState, slug: str | None) -> None:  # fmt: skip
    try:
        community_form.open_form(services, client, body["trigger_id"], user_id, slug)
    except DomainError as error:
        notice = message_for(services.translator(user_id), error).text
        _run(services, client, user_id, state, "community form", lambda _t: (notice, state))


# The features' own forms, opened from the tab: (what the form reads, the form, the
# context its refusals are worded in). The rule that may refuse is the feature's.
_FORMS: dict[str, tuple[Callable[[Services, str, str], Callable[[Session], Any]],
                        Callable[[Translator, Any], dict[str, Any]], Context]] = {
    view.AGENDA: (
        lambda services, user, chosen: lambda session: agenda_service.agenda_form(
            session, query=_pair(chosen)[0], user_id=user, admins=services.settings.admins,
            now=services.clock()),
        agenda.agenda_modal, "agenda",
    ),
    view.MINUTES: (
        lambda services, user, chosen: lambda session: minutes_service.form(
            session, user_id=user, admins=services.settings.admins, now=services.clock(),
            query=_pair(chosen)[0]),
        minutes.minutes_view, "minutes",
    ),
    # Plan and move: the one meeting form, which tells them apart by the value.
    **dict.fromkeys((view.PLAN, view.MOVE), (
        lambda services, user, chosen: meeting_form.form_reader(services, user, chosen)[1],
        meeting_form.form_view, "meeting_form_open",
    )),
    view.ANSWER: (
        lambda services, user, chosen: lambda session: questions_service.question_for_manager(
            session, question_id=text_in.id_value(_pair(chosen)[1]), user_id=user,
            admins=services.settings.admins),
        questions.answer_view, "questions",
    ),
}  # fmt: skip


def _open_feature_form(services: Services, client: WebClient, body: dict[str, Any],
                       user_id: str, state: HomeState, name: str, chosen: str) -> None:  # fmt: skip
    read, modal, context = _FORMS[name]

    def refuse(message: Message) -> None:
        _run(services, client, user_id, state, name, lambda _t: (message.text, state))

    open_modal(services, None, client, body, read(services, user_id, chosen), modal,
               context=context, slug=_pair(chosen)[0], refuse=refuse)  # fmt: skip


def register(app: App, services: Services) -> None:
    app.event("app_home_opened")(partial(opened, services=services))
    app.view(community_form.CALLBACK)(partial(community_submitted, services=services))
    names = "|".join(re.escape(name) for name in view.ACTIONS)
    app.action(re.compile(rf"^({names})(-[\w.-]+)?$"))(partial(clicked, services=services))
