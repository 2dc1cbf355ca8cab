"""What each kind of outbox item says: the handlers the delivery worker runs (bot/outbox.py).

Each handler reads what it needs at send time and sends through the notifier it is
given, which keys every message for exactly-once delivery. A message whose reason is gone
by the time it goes out (the new member left again, the request was withdrawn) is not
sent. DeliveryError with `permanent` fails the item for good; any other error retries it.
"""

from __future__ import annotations

import logging
from functools import partial

from bot import metrics
from bot.notifier import EVENT_TYPE, DeliveryError, Notifier, look_back_to
from bot.outbox import Lane
from bot.runtime import Services
from bot.services import calendar_feed as calendar_feed_service
from bot.services import membership, outbox, reminders
from bot.services.errors import DomainError
from bot.services.ical import calendar_bytes
from bot.services.views import CommunityDetail, Decision, JoinResult
from handlers import agenda, home, meetings, minutes, privacy, questions, render
from handlers.locale import learn_language
from handlers.welcome import community_profile, minute

log = logging.getLogger("cop_bot")


def _profile(services: Services, slug: str) -> CommunityDetail:
    try:
        return community_profile(services, slug)
    except DomainError as exc:  # the community is gone: nothing to say about it
        raise DeliveryError("community_not_found", permanent=True) from exc


def _status(services: Services, item: outbox.Item, user_id: str) -> str | None:
    with services.db.read() as session:
        return membership.status_by_slug(session, slug=item.subject, user_id=user_id)


def still_member(services: Services, item: outbox.Item) -> bool:
    if _status(services, item, item.recipient) == "member":
        return True
    log.info("%s to %s dropped: %s is no longer a member", item.kind, item.subject, item.recipient)
    return False


def welcome_member(
    services: Services,
    notifier: Notifier,
    user_id: str,
    detail: CommunityDetail,
    intro: str | None,
) -> None:
    """Invite a new member to the channel and send the welcome DM; the membership stands
    whatever Slack says about the channel."""
    t = services.translator(user_id)
    invited = False
    problem: str | None = None
    channel = detail.summary.channel_id
    if channel:
        try:
            notifier.invite(channel, user_id)
            invited = True
        except DeliveryError as exc:
            if not exc.permanent:
                raise  # tried again with the whole item: an invite is safe to repeat
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
    notifier.send_dm(user_id, message)
    if problem:
        warning = t("invite_failed", name=render.escape(detail.summary.name), error=problem)
        notifier.send_dm(user_id, render.text_message(warning))


def welcome(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """`welcome` and `promoted`: the channel invite and the welcome DM, opened by the news
    (moved up from the waitlist, approved) when there is any, in the member's language
    (learned from their Slack locale first, if they have none yet). Someone who left (or
    never got in) before it went out gets neither."""
    if not still_member(services, item):
        return
    # The first message to a new member: in their Slack's language unless they chose one.
    if services.client is not None:
        learn_language(services, services.client, item.recipient)
    profile = _profile(services, item.subject)
    intro_key = item.payload.get("intro")
    intro = None
    if intro_key:
        t = services.translator(item.recipient)
        intro = t(str(intro_key), name=render.escape(profile.summary.name))
    welcome_member(services, notifier, item.recipient, profile, intro)


def approval_request(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """To one facilitator: somebody asks to join; approve or decline by button."""
    requester = str(item.payload.get("user", ""))
    if _status(services, item, requester) != "pending":
        return  # withdrawn or decided meanwhile
    profile = _profile(services, item.subject)
    request = JoinResult(
        outcome="pending", user_id=requester, community=profile.summary, position=None
    )
    t = services.translator(item.recipient)
    notifier.send_dm(item.recipient, render.approval_request(t, request))


def decision(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """To the person who asked: declined, or approved onto the waitlist (an approval with a
    seat is a welcome, see `welcome`)."""
    profile = _profile(services, item.subject)
    position = item.payload.get("position")
    told = Decision(
        outcome=str(item.payload.get("outcome")),
        user_id=item.recipient,
        decided_by="",
        community=profile,
        position=int(position) if isinstance(position, int) else None,
    )
    t = services.translator(item.recipient)
    notifier.send_dm(item.recipient, render.decision_outcome(t, told))


def appointed(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """To a new facilitator: who appointed them, and what they may do now. Not sent when
    they are no longer a facilitator of the community by the time it goes out."""
    profile = _profile(services, item.subject)
    if item.recipient not in profile.facilitators:
        log.info("appointment %s to %s dropped: no longer a facilitator", item.subject,
                 item.recipient)  # fmt: skip
        return
    t = services.translator(item.recipient)
    by = str(item.payload.get("by", ""))
    notifier.send_dm(item.recipient, render.appointed(t, profile.summary, by))


def welcome_calendar(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """The outbox's `welcome_calendar`: upload the community's meetings as an .ics file
    into a new member's DM. Raises DeliveryError when Slack refuses (the outbox retries
    or gives up); a community without upcoming meetings sends nothing."""
    user_id = item.recipient
    if not still_member(services, item):
        return
    detail = _profile(services, item.subject)
    if not detail.meetings:
        return
    name = detail.summary.name
    # The agendas as a new member may read them (the visibility rule): part of the key.
    with services.db.read() as session:
        agendas = calendar_feed_service.readable_agendas(
            session, user_id=user_id, meeting_ids=[m.id for m in detail.meetings],
            admins=services.settings.admins,
        )  # fmt: skip

    def build() -> bytes:
        events = calendar_feed_service.community_events(detail.meetings, name, agendas)
        return calendar_bytes(
            events, tz=services.settings.timezone, name=f"CoP {name}", stamp=minute(services)
        )

    # Every member who joins within a minute gets the same bytes; a meeting change drops
    # the profiles cache (handlers.meetings._changed).
    content: bytes = services.profiles.get(
        ("welcome_ics", detail.summary.slug, minute(services), tuple(sorted(agendas.items()))),
        build,
    )
    t = services.translator(user_id)
    comment = t("calendar_feed_welcome_comment", name=render.escape(name))
    notifier.upload(user_id, f"cop-{detail.summary.slug}.ics", content, comment)


def reminder(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """`reminder_dm` and `reminder_channel`: the reminder before a meeting (the item's
    subject is the reminder's id), read and rendered now. A member who left, a meeting
    cancelled, moved into the past or begun, a reminder overtaken by a later one: nothing
    is sent (reminders.to_send). An item moved over from the reminders' old ledger while
    it was being sent carries that ledger's key: it is looked up under it first."""
    dm = item.kind == outbox.REMINDER_DM
    now = services.clock()
    with services.db.read() as session:
        due = reminders.to_send(
            session, reminder_id=int(item.subject), recipient=item.recipient, dm=dm, now=now
        )
    if due is None:
        log.info("%s %s to %s dropped: no longer due", item.kind, item.subject, item.recipient)
        return
    old_key = item.payload.get("key")
    if old_key and item.unsure:
        since = look_back_to(item.created_at, now)
        if notifier.find_posted(item.recipient, EVENT_TYPE, str(old_key), since):
            return
    # The lead time is counted from now, the moment it goes out (it may go out late).
    t = services.translator(item.recipient if dm else None)
    message = render.reminder(t, due, now=services.clock())
    if dm:
        notifier.send_dm(item.recipient, message)
    else:
        notifier.post(item.recipient, message)
    if due.due_at is not None:
        lag = (services.clock() - due.due_at).total_seconds()
        metrics.REMINDER_LAG_SECONDS.observe(max(0.0, lag))


def lanes(services: Services) -> dict[str, Lane]:
    """Every kind of item and its handler: the one place that says what each one sends."""
    return {
        outbox.WELCOME: Lane(partial(welcome, services)),
        outbox.PROMOTED: Lane(partial(welcome, services)),
        outbox.APPROVAL_REQUEST: Lane(partial(approval_request, services)),
        outbox.DECISION: Lane(partial(decision, services)),
        outbox.QUESTION_ANSWERED: Lane(partial(questions.deliver_answer, services)),
        outbox.MEETING_NOTICE: Lane(partial(meetings.deliver_notice, services)),
        outbox.REMINDER_DM: Lane(partial(reminder, services)),
        outbox.REMINDER_CHANNEL: Lane(partial(reminder, services)),
        outbox.WELCOME_CALENDAR: Lane(
            partial(welcome_calendar, services),
            rate_per_minute=services.settings.outbox_rate,
        ),
        outbox.AGENDA_POST: Lane(partial(agenda.deliver_agenda, services)),
        outbox.MINUTES_POST: Lane(partial(minutes.deliver_minutes, services)),
        outbox.LESSON_POST: Lane(partial(minutes.deliver_lesson, services)),
        outbox.MINUTES_NUDGE: Lane(partial(minutes.deliver_nudge, services)),
        outbox.FORGET_NOTICE: Lane(partial(privacy.deliver_forget_notice, services)),
        outbox.MEMBER_REMOVED: Lane(partial(home.removed, services)),
        outbox.HOME_REFRESH: Lane(partial(home.refresh, services)),
        outbox.APPOINTED: Lane(partial(appointed, services)),
    }
