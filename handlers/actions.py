"""Buttons: join from a list, approve or decline a join request."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.runtime import Services
from bot.services import membership
from handlers import render, text_in
from handlers.commands import join
from handlers.errors import answer_after_ack


def _answer(respond: Respond, message: render.Message, *, replace: bool = False) -> None:
    respond(text=message.text, blocks=message.blocks, replace_original=replace)


def join_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    ack()
    user_id = body["user"]["id"]
    slug = text_in.from_value(action.get("value"))

    def work(t: render.Translator) -> None:  # answers itself: the follow-ups come after
        reply = join(services, t, user_id, slug)
        _answer(respond, reply.message)
        if reply.deliver:
            services.deliver_soon()
        if reply.after is not None:
            reply.after()

    answer_after_ack(services, respond, user_id, "join button", work)


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
        services.deliver_soon()  # the requester hears it through the outbox

    answer_after_ack(services, respond, decider, "join decision", work)


def register(app: App, services: Services) -> None:
    app.action("join_community")(partial(join_button, services=services))
    app.action("approve_join")(partial(_decide, True, services=services))
    app.action("decline_join")(partial(_decide, False, services=services))
