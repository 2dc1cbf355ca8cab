"""The welcome road of a new member: channel invite, welcome DM, approval requests, and
the promotion off a waitlist; shared by `/cop aanmelden`, the buttons and forget me."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.notifier import DeliveryError
from bot.runtime import Services
from bot.services import communities, membership, outbox
from bot.services.errors import DomainError
from bot.services.views import CommunityDetail, JoinResult, LeaveResult
from handlers import render

log = logging.getLogger("cop_bot")


def minute(services: Services) -> datetime:
    """Now, to the minute: the granularity of cached answers that depend on the time."""
    return services.clock().replace(second=0, microsecond=0)


def welcome_member(
    services: Services,
    user_id: str,
    detail: CommunityDetail,
    intro: str | None,
    *,
    calendar_queued: bool = False,
) -> None:
    """Invite a new member to the channel and send the welcome DM; the membership stands
    whatever Slack says about the channel."""
    t = services.translator(user_id)
    invited = False
    problem: str | None = None
    channel = detail.summary.channel_id
    if channel:
        try:
            services.notifier.invite(channel, user_id)
            invited = True
        except DeliveryError as exc:
            problem = exc.error
            log.warning("could not invite %s to %s: %s", user_id, channel, exc.error)
    # Every new member of a community gets the same welcome: render it once a minute.
    key = ("welcome", detail.summary.slug, t.language, invited, intro, minute(services))
    message = services.profiles.get(
        key,
        lambda: (
            render.welcome(t, detail, invited_channel=invited)
            if intro is None
            else render.welcome_with_intro(t, detail, intro)
        ),
    )
    services.notifier.send_dm(user_id, message)
    if problem:
        warning = t("invite_failed", name=render.escape(detail.summary.name), error=problem)
        services.notifier.send_dm(user_id, render.text_message(warning))
    if not calendar_queued and detail.meetings:
        # The calendar file follows through the outbox, at the pace Slack's file API allows.
        with services.db.write() as session:
            outbox.enqueue(
                session,
                kind=outbox.WELCOME_CALENDAR,
                recipient=user_id,
                subject=detail.summary.slug,
                now=services.clock(),
            )


def community_profile(services: Services, slug: str) -> CommunityDetail:
    """Start text, meetings and facilitators of a community, as welcome DMs show them."""

    def compute() -> CommunityDetail:
        with services.db.read() as session:
            return communities.info(
                session, query=slug, now=services.clock(), tz=services.settings.timezone
            )

    return services.profiles.get((slug, minute(services)), compute)


def after_join(services: Services, result: JoinResult) -> None:
    if result.outcome == "member":
        profile = community_profile(services, result.community.slug)
        welcome_member(services, result.user_id, profile, None)
    elif result.outcome == "pending":
        if not result.approvers:
            log.warning("join request for %s has nobody to approve it", result.community.slug)
        for approver in result.approvers:
            services.notifier.send_dm(
                approver, render.approval_request(services.translator(approver), result)
            )


def still_member(services: Services, item: outbox.Item) -> bool:
    with services.db.read() as session:
        member = membership.is_member_by_slug(session, slug=item.subject, user_id=item.recipient)
    if not member:
        log.info("welcome to %s dropped: %s is no longer a member", item.subject, item.recipient)
    return member


def deliver_welcome(services: Services, item: outbox.Item) -> None:
    """The outbox's `welcome` (queued with a plain join): the channel invite and the
    welcome DM; the calendar file has a lane of its own. Someone who left (or never got
    in) before it went out gets neither."""
    if not still_member(services, item):
        return
    try:
        profile = community_profile(services, item.subject)
    except DomainError as exc:  # the community is gone: nothing to welcome to
        raise DeliveryError("community_not_found", permanent=True) from exc
    welcome_member(services, item.recipient, profile, None, calendar_queued=True)


def welcome_promoted(services: Services, slug: str, user_id: str) -> None:
    """Tell someone who moved up from the waitlist, and welcome them as a new member."""
    profile = community_profile(services, slug)
    t = services.translator(user_id)
    welcome_member(
        services, user_id, profile, t("promoted", name=render.escape(profile.summary.name))
    )


def after_leave(services: Services, result: LeaveResult) -> None:
    if result.promoted is not None:
        user = result.promoted.user_id
        t = services.translator(user)
        intro = t("promoted", name=render.escape(result.promoted.community.summary.name))
        welcome_member(services, user, result.promoted.community, intro)
