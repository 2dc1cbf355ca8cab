"""Buttons: join from a list, approve or decline a join request."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.runtime import Services, error_reference
from bot.services import membership
from bot.services.errors import DomainError
from bot.services.views import Decision
from handlers import render, text_in
from handlers.commands import join
from handlers.errors import apology, domain_message
from handlers.welcome import welcome_member

log = logging.getLogger("cop_bot")


def _answer(respond: Respond, message: render.Message, *, replace: bool = False) -> None:
    respond(text=message.text, blocks=message.blocks, replace_original=replace)


def _guarded(services: Services, respond: Respond, user_id: str, what: str, work: Any) -> None:
    """Run button work after the ack; a user's mistake gets its message, a bug an apology."""
    t = services.translator(None)  # the default language, needing no database
    try:
        # Inside the try: when the database is what fails, the user still hears of it.
        t = services.translator(user_id)
        work(t)
    except DomainError as error:
        _answer(respond, domain_message(t, error))
    except Exception:
        reference = error_reference()
        log.exception("%s failed (ref %s)", what, reference)
        _answer(respond, apology(t, reference))


def join_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    ack()
    user_id = body["user"]["id"]
    slug = text_in.from_value(action.get("value"))

    def work(t: render.Translator) -> None:
        reply = join(services, t, user_id, slug)
        _answer(respond, reply.message)
        if reply.deliver:
            services.deliver_soon()
        if reply.after is not None:
            reply.after()

    services.in_background(
        "join button", partial(_guarded, services, respond, user_id, "join button", work)
    )


def _decide(
    approve: bool,
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    services: Services,
) -> None:
    ack()
    decider = body["user"]["id"]
    slug, _, user_id = text_in.from_value(action.get("value")).partition("|")

    def work(t: render.Translator) -> None:
        with services.db.write() as session:
            decision = membership.decide(
                session,
                query=slug,
                user_id=user_id,
                decided_by=decider,
                approve=approve,
                admins=services.settings.admins,
                now=services.clock(),
                tz=services.settings.timezone,
            )
        _answer(respond, render.decision_summary(t, decision), replace=True)
        _tell_requester(services, decision)

    services.in_background(
        "join decision", partial(_guarded, services, respond, decider, "join decision", work)
    )


def _tell_requester(services: Services, decision: Decision) -> None:
    t = services.translator(decision.user_id)
    if decision.outcome == "member":
        # The welcome DM, with the approval as its opening line.
        intro = t("outcome_member", name=render.escape(decision.community.summary.name))
        welcome_member(services, decision.user_id, decision.community, intro)
    else:
        services.notifier.send_dm(decision.user_id, render.decision_outcome(t, decision))


def register(app: App, services: Services) -> None:
    app.action("join_community")(partial(join_button, services=services))
    app.action("approve_join")(partial(_decide, True, services=services))
    app.action("decline_join")(partial(_decide, False, services=services))
