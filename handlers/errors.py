"""Turns domain errors into friendly messages, and unexpected ones into an apology."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.context.respond import Respond

from bot.deadline import SlackTooSlow
from bot.i18n import Translator
from bot.notifier import Message
from bot.runtime import Services, error_reference
from bot.services.errors import (
    AlreadyMember,
    CommunityNotFound,
    DomainError,
    MeetingTooFarAhead,
    NotAllowed,
    NotInCommunity,
    NotMember,
    RegistrationClosed,
    RequestAlreadyDecided,
)
from handlers.render import members_only, text_message
from handlers.render.blocks import escape, fit, section, sections

log = logging.getLogger("cop_bot")

# The key that bot/edge.py sets in the Bolt context of a request whose signature it
# checked. Only such a request (or one over Socket Mode, which Slack itself
# authenticates) is answered at the response_url it names.
VERIFIED = "cop_verified"
# The key under which the error handler leaves what became of a request, for its count
# in the metrics (bot/app.py DeadlineApp): "error", or "slack_slow" when Slack was.
OUTCOME = "cop_outcome"


def is_verified(request: BoltRequest) -> bool:
    return request.mode == "socket_mode" or request.context.get(VERIFIED) is True


def domain_message(t: Translator, error: DomainError) -> Message:
    """The catalogue message that tells the user what happened and what to do."""
    match error:
        case MeetingTooFarAhead(latest=latest):
            return text_message(t("meeting_too_far", date=t.date(latest)))
        case CommunityNotFound(query=query, suggestions=suggestions) if suggestions:
            names = t.or_list([f"`{escape(s)}`" for s in suggestions])
            text = t("not_found_suggest", query=escape(query), suggestions=names)
            return text_message(f"{text}\n{t('not_found_hint')}")
        case CommunityNotFound(query=query):
            return text_message(f"{t('not_found', query=escape(query))}\n{t('not_found_hint')}")
        case AlreadyMember(community=name, status="waitlist", position=position):
            return text_message(t("already_waitlist", name=escape(name), position=position))
        case AlreadyMember(community=name, status="pending"):
            return text_message(t("already_pending", name=escape(name)))
        case AlreadyMember(community=name):
            return text_message(t("already_member", name=escape(name)))
        case NotInCommunity(community=name, slug=slug, part=part):
            return text_message(members_only(t, name, slug, part))
        case NotMember(community=name):
            return text_message(t("not_member", name=escape(name)))
        case RegistrationClosed(community=name, deadline=deadline):
            return text_message(t("registration_closed", name=escape(name), date=t.date(deadline)))
        case NotAllowed(action="appoint_facilitator" | "audit"):
            return text_message(t("not_allowed_admin"))
        case NotAllowed():
            return text_message(t("not_allowed"))
        case RequestAlreadyDecided(community=name):
            return text_message(t("approval_already", name=escape(name)))
    raise TypeError(f"no message for {type(error).__name__}")  # a missing mapping is a bug


def nul_refusal(t: Translator, text: str) -> Message:
    """Text with a NUL is refused; the rest of it comes back, so nothing typed is lost."""
    intro = t("text_nul")
    return Message(text=intro, blocks=fit([section(intro), *sections(escape(text))]))


def answer_after_ack(
    services: Services,
    respond: Respond,
    user_id: str,
    what: str,
    work: Callable[[Translator], Message],
    *,
    refusal: Callable[[Translator, DomainError], Message] | None = None,
    replace_original: bool = False,
) -> None:
    """The guard for a click's work after the ack: `work` runs in the background and its
    message goes to the clicker through `respond`; a domain error gets its message
    (`refusal`, by default `domain_message`), a bug an apology with a logged reference."""

    def run() -> None:
        t = services.translator(None)  # the default language, needing no database
        try:
            # Inside the try: when the database is what fails, the user still hears of it.
            t = services.translator(user_id)
            message = work(t)
        except DomainError as error:
            message = (refusal or domain_message)(t, error)
        except Exception:
            reference = error_reference()
            log.exception("%s failed (ref %s)", what, reference)
            message = apology(t, reference)
        respond(text=message.text, blocks=message.blocks, replace_original=replace_original,
                response_type="ephemeral")  # fmt: skip

    services.in_background(what, run)


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
