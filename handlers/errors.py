"""Turns domain errors into friendly messages, and unexpected ones into an apology."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any, Literal, TypeVar, get_args

from slack_bolt import Ack, BoltRequest, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.deadline import SlackTooSlow
from bot.i18n import Translator
from bot.notifier import Message
from bot.runtime import Services, error_reference
from bot.services.errors import (
    NO_TIME,
    AgendaInvalid,
    AlreadyMember,
    AlreadyPublished,
    AmbiguousWhen,
    CommunityNotFound,
    DomainError,
    DuplicateMeeting,
    EmptyText,
    EndBeforeStart,
    MeetingNotFound,
    MeetingOver,
    MeetingTooFarAhead,
    NoPastMeetings,
    NotAllowed,
    NotAnswered,
    NotInCommunity,
    NotMember,
    NoUpcomingMeeting,
    PastWhen,
    QuestionAnswered,
    QuestionNotFound,
    RegistrationClosed,
    RequestAlreadyDecided,
    RequestWithdrawn,
    SettingsInvalid,
    TextTooLong,
    TopicNotFound,
    WhenError,
)
from bot.services.when import describe, example_when
from handlers import text_in
from handlers.render import members_only, text_message
from handlers.render.blocks import escape, fit, mention, section, sections

log = logging.getLogger("cop_bot")

T = TypeVar("T")

# The key that bot/edge.py sets in the Bolt context of a request whose signature it
# checked. Only such a request (or one over Socket Mode, which Slack itself
# authenticates) is answered at the response_url it names.
VERIFIED = "cop_verified"
# The key under which the error handler leaves what became of a request, for its count
# in the metrics (bot/app.py DeadlineApp): "error", or "slack_slow" when Slack was.
OUTCOME = "cop_outcome"


def is_verified(request: BoltRequest) -> bool:
    return request.mode == "socket_mode" or request.context.get(VERIFIED) is True


# Where a domain error is told; a feature words some refusals its own way, and what it
# does not word gets the general text (""). Under a modal's input (the "_form" contexts)
# a refusal is one line of plain text, shown as the message's `text`.
Context = Literal[
    "",  # anywhere: /cop's commands, the join and approval buttons, privacy
    "agenda",  # /cop onderwerp, onderwerpen, agenda; the topic buttons
    "agenda_form",  # under the agenda form's inputs
    "questions",  # /cop vraag, vragen; the question buttons
    "question_form",  # under the answer form's and the save-question form's inputs
    "minutes",  # /cop verslag, the minutes form and its nudge's button
    "lessons",  # /cop les, the button that shares an answered question
    "meetings",  # /cop bijeenkomst; the RSVP buttons
    "meeting_form_open",  # the click that opens the meeting form
    "meeting_form",  # under the meeting form's inputs
    "shortcut_form",  # under the inputs of the global shortcuts' forms (handlers/shortcuts.py)
]
CONTEXTS: tuple[Context, ...] = get_args(Context)


def message_for(
    t: Translator, error: DomainError, context: Context = "", *, slug: str = "", number: str = ""
) -> Message:
    """The catalogue message that tells the user what happened and what to do: the one
    place where a domain error gets its words. `slug`: the community as the user named
    it; `number`: a meeting number as typed (both shown by some texts of `context`)."""
    match context, error:
        # -- the features' own words ------------------------------------------------------
        case "agenda", NotInCommunity(community=name, slug=community):
            return text_message(
                t("agenda_not_participant", name=escape(name), slug=escape(community))
            )
        case "agenda", TextTooLong(text=text, limit=limit):
            return _echo(t("agenda_topic_too_long", length=len(text), limit=limit), text)
        case "agenda", NotAllowed(action="agenda"):
            return text_message(t("agenda_error_not_allowed"))
        case "agenda_form", NotAllowed():
            return text_message(t("agenda_error_not_allowed"))
        case "agenda_form", MeetingOver():
            return text_message(t("agenda_error_over"))
        case "agenda_form", MeetingNotFound():
            return text_message(t("agenda_error_gone"))
        case "questions", NotInCommunity(community=name, slug=community):
            return text_message(t("questions_not_in_community", name=escape(name), slug=community))
        case "questions", TextTooLong(text=text, limit=limit):
            return _echo(t("questions_too_long", length=len(text), limit=limit), text)
        case "question_form", TextTooLong(text=text, limit=limit):
            return text_message(t("questions_form_too_long", length=len(text), limit=limit))
        case "question_form", NotAllowed():
            return text_message(t("not_allowed"))
        case "question_form", NotInCommunity(community=name):
            return text_message(t("questions_form_not_member", name=name))
        case "question_form", EmptyText():
            return text_message(t("questions_answer_empty"))
        case "question_form", CommunityNotFound():
            return text_message(t("questions_form_choose"))
        case "minutes", MeetingNotFound():
            return text_message(t("minutes_meeting_gone"))
        case "lessons", NotAllowed():
            return text_message(t("lesson_not_allowed"))
        case "lessons", QuestionNotFound():
            return text_message(t("lesson_question_missing"))
        case "meetings", MeetingNotFound(community=name, number=known):
            shown = escape(number) if number else known
            return text_message(
                t("meeting_not_found", name=escape(name), number=shown, slug=escape(slug))
            )
        case "meeting_form_open", MeetingNotFound(community=name):
            return text_message(t("meeting_form_gone", name=escape(name), slug=escape(slug)))
        case "meeting_form", MeetingNotFound(community=name):
            return text_message(t("meeting_form_gone", name=name, slug=slug))
        case "shortcut_form", CommunityNotFound():
            return text_message(t("shortcut_community_gone"))
        case "shortcut_form", NotInCommunity(community=name):
            return text_message(t("shortcut_not_participant", name=name))
        case "shortcut_form", TextTooLong(text=text, limit=limit):
            return text_message(t("shortcut_too_long", length=len(text), limit=limit))
        case "shortcut_form", RegistrationClosed(community=name, deadline=deadline):
            return text_message(t("shortcut_join_closed", name=name, date=t.date(deadline)))
        case "shortcut_form", AlreadyMember(community=name):
            return text_message(t("shortcut_join_already", name=name))
        case "meeting_form", DuplicateMeeting(community=name, slug=community, starts_at=at):
            return text_message(
                t("meeting_form_duplicate", name=name, when=t.datetime(at), slug=community)
            )
        # -- the general words ------------------------------------------------------------
        case _, DuplicateMeeting(community=name, slug=community, starts_at=at):
            return text_message(t(
                "meeting_duplicate", name=escape(name), when=t.datetime(at),
                slug=escape(community),
            ))  # fmt: skip
        case _, MeetingTooFarAhead(latest=latest):
            return text_message(t("meeting_too_far", date=t.date(latest)))
        case _, CommunityNotFound(query=query, suggestions=suggestions) if suggestions:
            names = t.or_list([f"`{escape(s)}`" for s in suggestions])
            text = t("not_found_suggest", query=escape(query), suggestions=names)
            return text_message(f"{text}\n{t('not_found_hint')}")
        case _, CommunityNotFound(query=query):
            return text_message(f"{t('not_found', query=escape(query))}\n{t('not_found_hint')}")
        case _, AlreadyMember(community=name, status="waitlist", position=position):
            return text_message(t("already_waitlist", name=escape(name), position=position))
        case _, AlreadyMember(community=name, status="pending"):
            return text_message(t("already_pending", name=escape(name)))
        case _, AlreadyMember(community=name):
            return text_message(t("already_member", name=escape(name)))
        case _, NotInCommunity(community=name, slug=community, part=part):
            return text_message(members_only(t, name, community, part))
        case _, NotMember(community=name):
            return text_message(t("not_member", name=escape(name)))
        case _, RegistrationClosed(community=name, deadline=deadline, facilitated=True):
            return text_message(t("registration_closed", name=escape(name), date=t.date(deadline)))
        case _, RegistrationClosed(community=name, deadline=deadline, admins=[_, *_] as admins):
            who = t.or_list([f"<@{escape(a)}>" for a in admins])
            return text_message(t(
                "registration_closed_admin", name=escape(name), date=t.date(deadline), admins=who
            ))  # fmt: skip
        case _, RegistrationClosed(community=name, deadline=deadline):
            return text_message(
                t("registration_closed_nobody", name=escape(name), date=t.date(deadline))
            )
        case _, NotAllowed(action="appoint_facilitator" | "appoint_admin" | "audit"):
            return text_message(t("not_allowed_admin"))
        case _, NotAllowed():
            return text_message(t("not_allowed"))
        case _, RequestWithdrawn(community=name, user_id=user):
            # A mention only of a well-formed user id: the value is the button's, forgeable.
            return text_message(t("approval_withdrawn", name=escape(name), user=mention(user)))
        case _, SettingsInvalid(problems=problems):
            return text_message("\n".join(t(key) for _, key in sorted(problems.items())))
        case _, RequestAlreadyDecided(community=name):
            return text_message(t("approval_already", name=escape(name)))
        case _, TextTooLong(text=text, limit=limit):
            return _echo(t("text_too_long", length=len(text), limit=limit), text)
        case _, MeetingNotFound():
            return text_message(t("meeting_gone"))
        case _, MeetingOver(community=name):
            return text_message(t("meeting_over", name=escape(name)))
        case _, EndBeforeStart(text=typed, reading=reading, end=end):
            return text_message(t(
                "meeting_form_end_before_start", text=escape(typed),
                reading=_reading(t, reading), end=f"{end:%H:%M}",
            ))  # fmt: skip
        case _, PastWhen(text=typed, reading=reading, yearless=True) if _next_year(reading):
            return text_message(t(
                "when_past_yearless", text=escape(typed), reading=_reading(t, reading),
                example=_next_year(reading, t.language),
            ))  # fmt: skip
        case _, PastWhen(text=typed, reading=reading):
            return text_message(t("when_past", text=escape(typed), reading=_reading(t, reading)))
        case _, AmbiguousWhen(text=typed, reading=moment, reason=why) if why == NO_TIME and moment:
            return text_message(t("when_no_time", text=escape(typed), date=t.date(moment.date())))
        case _, AmbiguousWhen(text=typed, reading=reading):
            read = _reading(t, reading)
            return text_message(t("when_ambiguous", text=escape(typed), reading=read))
        case _, WhenError(text=typed):
            return text_message(t("when_unreadable", text=escape(typed)))
        case _, TopicNotFound():
            return text_message(t("agenda_topic_gone"))
        case _, NoUpcomingMeeting(community=name, slug=community):
            return text_message(
                t("agenda_no_meeting_to_plan", name=escape(name), slug=escape(community))
            )
        case _, AgendaInvalid(problem="empty"):
            return text_message(t("agenda_error_empty"))
        case _, AgendaInvalid(length=length, limit=limit):
            return text_message(t("agenda_error_too_long", length=length, limit=limit))
        case _, EmptyText():
            return text_message(t("questions_empty"))
        case _, QuestionNotFound(question_id=qid):
            return text_message(t("questions_not_found", id=qid))
        case _, QuestionAnswered(question_id=qid, number=known_as):
            return text_message(t("questions_already_answered", id=known_as or qid))
        case _, NotAnswered():
            return text_message(t("lesson_not_answered"))
        case _, AlreadyPublished(community=name):
            return text_message(t("lesson_already", name=escape(name)))
        case _, NoPastMeetings(community=name, slug=community):
            return text_message(t("minutes_no_past", name=escape(name), slug=escape(community)))
    raise TypeError(f"no message for {type(error).__name__}")  # a missing mapping is a bug


def _reading(t: Translator, reading: dt.datetime | None) -> str:
    """How a date and time was read, for the user to check."""
    return describe(reading, t.language) if reading else ""


def _next_year(reading: dt.datetime | None, language: str = "nl") -> str:
    """A date read without a year that had passed, written out for next year, as the user
    may type it: "30 maart 2028 14:00" ("" when next year has no such day)."""
    if reading is None:
        return ""
    try:
        later = reading.replace(year=reading.year + 1)
    except ValueError:  # 29 February
        return ""
    return example_when(later, language)


def _echo(intro: str, text: str) -> Message:
    """A refusal that gives the text back whole, so that nothing the user typed is lost."""
    return Message(text=intro, blocks=fit([section(intro), *sections(escape(text))]))


def nul_refusal(t: Translator, text: str) -> Message:
    """Text with a NUL is refused; the rest of it comes back, so nothing typed is lost."""
    return _echo(t("text_nul"), text)


def answer_after_ack(
    services: Services,
    respond: Respond,
    user_id: str,
    what: str,
    work: Callable[[Translator], Message | None],
    *,
    context: Context = "",
    replace_original: bool = False,
) -> None:
    """The one guard for a click's work after the ack: `work` runs in the background and
    its message goes to the clicker through `respond` (None: the work answered itself, as
    when it redraws in place or does more after its answer); a domain error gets its
    message (`message_for` in `context`), a bug an apology with a logged reference."""

    def run() -> None:
        t = services.translator(None)  # the default language, needing no database
        try:
            # Inside the try: when the database is what fails, the user still hears of it.
            t = services.translator(user_id)
            message = work(t)
        except DomainError as error:
            message = message_for(t, error, context)
        except Exception:
            reference = error_reference()
            log.exception("%s failed (ref %s)", what, reference)
            message = apology(t, reference)
        if message is not None:
            say(respond, message, replace=replace_original)

    services.in_background(what, run)


def say(respond: Respond, message: Message, *, replace: bool = False) -> None:
    """A click's answer at its response_url, seen only by whoever clicked; `replace`: in
    place of the message clicked in."""
    respond(text=message.text, blocks=message.blocks, replace_original=replace,
            response_type="ephemeral")  # fmt: skip


def typed(ack: Ack, t: Translator, block_id: str, state: dict[str, Any]) -> str | None:
    """What was typed in a modal's text input (its `state`), as plain text; None when it
    holds a NUL, which is then refused under the input (the modal stays open)."""
    try:
        return text_in.from_input(str(state.get("value") or ""))
    except text_in.NulInText:
        ack(response_action="errors", errors={block_id: t("text_nul_field")})
        return None


def open_modal(
    services: Services,
    respond: Respond | None,
    client: WebClient,
    body: dict[str, Any],
    read: Callable[[Session], T],
    modal: Callable[[Translator, T], dict[str, Any]],
    *,
    context: Context,
    slug: str = "",
    refuse: Callable[[Message], None] | None = None,
) -> None:
    """The one guard for a click that opens a modal: `read` finds what it shows, in a read
    transaction, or refuses with a domain error, which the clicker reads (`message_for` in
    `context`; `slug`: the community the click names) at the click's response_url, or
    through `refuse` (the App Home, which has none, draws it on the tab). The trigger is
    valid for 3 seconds: the modal opens now, not in the background."""
    t = services.translator(body["user"]["id"])
    try:
        with services.db.read() as session:
            found = read(session)
    except DomainError as error:
        message = message_for(t, error, context, slug=slug)
        if refuse is not None:
            refuse(message)
        elif respond is not None:
            say(respond, message)
        return
    client.views_open(trigger_id=body["trigger_id"], view=modal(t, found))


def apology(t: Translator, reference: str) -> Message:
    return text_message(t("apology", ref=reference))


def slack_slow(t: Translator) -> Message:
    """Slack did not answer a call in time (or asked us to wait longer than the user can)."""
    return text_message(t("slack_slow"))


def ephemeral_answer(message: Message) -> BoltResponse:
    """A slash command's answer in the HTTP response itself, seen only by who typed it."""
    payload = {"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}
    return BoltResponse(
        status=200,
        body=json.dumps(payload),
        headers={"content-type": "application/json;charset=utf-8"},
    )


def make_error_handler(translator_for: Any, in_background: Any) -> Any:
    """Bolt's global error handler: log the traceback with a reference, apologise briefly.

    A Slack call that the request's deadline cut short (SlackTooSlow) is no bug: the user
    is asked to try again in a moment, through the response_url after the answer has
    gone (that is a call to the same slow Slack)."""

    def handle_error(
        error: Exception, body: dict[str, Any], respond: Respond | None, request: BoltRequest
    ) -> BoltResponse:
        slow = isinstance(error, SlackTooSlow)
        reference = error_reference()
        request.context[OUTCOME] = "slack_slow" if slow else "error"
        if not is_verified(request):
            # Nothing of an unverified body is used: not its user, not its response_url.
            log.error("unhandled error in an unverified request (ref %s)", reference)
            return BoltResponse(status=401, body="")
        if slow:
            log.warning("Slack too slow for this request (ref %s): %s", reference, error)
        else:
            log.error("unhandled error (ref %s)", reference, exc_info=error)
        user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else None
        user = user or body.get("user_id")
        try:
            t = translator_for(user)
        except Exception:  # the database may be what failed; apologise in the default language
            t = translator_for(None)
        message = slack_slow(t) if slow else apology(t, reference)
        if slow and not body.get("command"):
            if respond is not None and body.get("response_url"):
                in_background(
                    "try-again message",
                    lambda: respond(
                        text=message.text, blocks=message.blocks, replace_original=False
                    ),
                )
            return BoltResponse(status=200, body="")
        if body.get("command"):
            return ephemeral_answer(message)
        if respond is not None and body.get("response_url"):
            try:
                respond(text=message.text, blocks=message.blocks, replace_original=False)
            except Exception:
                log.exception("could not send the apology (ref %s)", reference)
        return BoltResponse(status=200, body="")

    return handle_error
