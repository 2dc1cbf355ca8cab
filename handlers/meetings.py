"""Meeting commands and buttons: list, add, move, cancel, RSVP, calendar file."""

from __future__ import annotations

import datetime as dt
import logging
import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.i18n import Translator
from bot.notifier import DeliveryError, Notifier
from bot.runtime import Services
from bot.services import communities, meetings, outbox
from bot.services.calendar_feed import event_for
from bot.services.catalog import MEETING_KINDS
from bot.services.errors import DomainError, NotAllowed
from bot.services.ical import calendar_bytes
from bot.services.meetings import MeetingChange
from bot.services.when import parse_when
from bot.text import looks_like_number, parse_number
from handlers import calendar_feed, render, text_in
from handlers.errors import answer_after_ack, message_for, say
from handlers.render.blocks import escape
from handlers.reply import Reply

log = logging.getLogger("cop_bot")

ADD_WORDS = {"toevoegen", "add", "plannen", "nieuw", "new"}
MOVE_WORDS = {"verplaatsen", "move", "verzetten"}
CANCEL_WORDS = {"annuleren", "cancel", "afzeggen", "afgelasten"}


def list_meetings(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    with services.db.read() as session:
        lines = meetings.upcoming(
            session, user_id=user_id, query=rest or None, now=services.clock(),
            admins=services.settings.admins,
        )  # fmt: skip
        named = communities.resolve(session, rest) if rest else None
        # Who may plan and move: the named community even without meetings, else the
        # communities listed.
        shown = {line.community_slug: line.community_name for line in lines}
        if named is not None:
            shown = {named.slug: named.name}
        managed = meetings.manageable(
            session, user_id=user_id, slugs=shown, admins=services.settings.admins
        )
    plan = tuple((slug, name) for slug, name in shown.items() if slug in managed)
    scope = named.slug if named is not None else ""
    return Reply(
        render.meeting_list(t, lines, mine=not rest, manage=managed, plan=plan, scope=scope)
    )


def _split_community(
    services: Services, text: str, *, user_id: str = "", action: str = ""
) -> tuple[str, str]:
    """The slug of the community named by the leading words of `text`, and the text after
    it (communities.split_name: the rule for every command that names a community).
    With a meeting `action`, someone who may not plan or change the community's meetings
    is refused before anything else they typed is read: a date typo is no news to them."""
    with services.db.read() as session:
        community, rest = communities.split_name(session, text)
        if action in ADD_WORDS | MOVE_WORDS | CANCEL_WORDS and not meetings.manageable(
            session, user_id=user_id, slugs=(community.slug,), admins=services.settings.admins
        ):
            raise NotAllowed("add_meeting" if action in ADD_WORDS else "move_meeting")
        return community.slug, rest


def manage_meeting(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop bijeenkomst toevoegen|verplaatsen|annuleren <community> ...`"""
    words = rest.split()
    if len(words) < 2:
        return Reply(render.text_message(t("meeting_usage")))
    action = words[0].lower()
    settings = services.settings
    slug, typed_number = "", ""
    try:
        slug, after = _split_community(
            services, rest.split(None, 1)[1], user_id=user_id, action=action
        )
        words = after.split()
        now = services.clock()
        if action in ADD_WORDS:
            if not words:
                return Reply(render.text_message(t("meeting_usage")))
            parsed = parse_when(" ".join(words), now=now, tz=settings.timezone)
            extra = parsed.rest.split()
            kind = extra[0].lower() if extra and extra[0].lower() in MEETING_KINDS else "online"
            location = " ".join(extra[1:] if extra and extra[0].lower() in MEETING_KINDS else extra)
            with services.db.write() as session:
                change = meetings.add(
                    session, query=slug, user_id=user_id, starts_at=parsed.starts_at,
                    ends_at=parsed.ends_at, kind=kind, location=location[:500] or None,
                    admins=settings.admins, offsets=settings.reminder_offsets, now=now,
                    tz=settings.timezone,
                )  # fmt: skip
            after_change(services)
            return Reply(added_message(t, change))
        if action in MOVE_WORDS | CANCEL_WORDS:
            # `#12`: the meeting's stable ref, shown in the lists; `2`: its place in the
            # list as it is now (which a move or cancellation shifts).
            ref = words[0][1:] if words and words[0].startswith("#") else None
            if not words or not looks_like_number(ref if ref is not None else words[0]):
                return Reply(render.text_message(t("meeting_usage")))
            typed_number = words[0]
            # ², 99999999999: a number no meeting has, answered as such (0 is never one).
            number = parse_number(ref if ref is not None else typed_number) or 0
            meeting_id = number if ref is not None else None
            with services.db.write() as session:
                if action in MOVE_WORDS:
                    parsed = parse_when(" ".join(words[1:]), now=now, tz=settings.timezone)
                    change = meetings.move(
                        session, query=slug, number=number, meeting_id=meeting_id,
                        user_id=user_id,
                        starts_at=parsed.starts_at, ends_at=parsed.ends_at,
                        admins=settings.admins, offsets=settings.reminder_offsets, now=now,
                        tz=settings.timezone,
                    )  # fmt: skip
                else:
                    change = meetings.cancel(
                        session, query=slug, number=number, meeting_id=meeting_id,
                        user_id=user_id,
                        admins=settings.admins, offsets=settings.reminder_offsets,
                        now=now, tz=settings.timezone,
                    )  # fmt: skip
            after_change(services)
            # Every member hears of it through the outbox (queued with the change).
            return Reply(change_reply(t, change), deliver=bool(change.members))
    except DomainError as error:
        return Reply(message_for(t, error, "meetings", slug=slug, number=typed_number))
    return Reply(render.text_message(t("meeting_usage")))


def after_change(services: Services) -> None:
    """Once a change is committed: fresh welcome texts, and the scheduler sees new reminders."""
    services.profiles.invalidate()
    if services.scheduler is not None:
        services.scheduler.poke()


def added_message(t: Translator, change: MeetingChange) -> render.Message:
    """What the facilitator reads once a meeting is planned."""
    kind_text, where = render._kind_where(t, change.meeting)
    return render.text_message(t(
        "meeting_added", name=escape(change.community_name),
        when=render.when_range(t, change.meeting), kind=kind_text, where=where,
    ))  # fmt: skip


def change_reply(t: Translator, change: MeetingChange) -> render.Message:
    """What the facilitator reads once a meeting is moved or cancelled."""
    name = escape(change.community_name)
    if change.previous_starts_at is not None:
        return render.text_message(t(
            "meeting_moved", name=name, old=t.datetime(change.previous_starts_at),
            new=t.datetime(change.meeting.starts_at),
        ))  # fmt: skip
    return render.text_message(
        t("meeting_cancelled", name=name, when=t.datetime(change.meeting.starts_at))
    )


def notice_message(
    t: Translator,
    community_name: str,
    *,
    previous: dt.datetime | None,
    starts_at: dt.datetime,
) -> render.Message:
    """What a member reads of a moved (`previous` is the old time) or cancelled meeting."""
    name = escape(community_name)
    if previous is not None:
        text = t("meeting_moved_dm", name=name, old=t.datetime(previous),
                 new=t.datetime(starts_at))  # fmt: skip
    else:
        text = t("meeting_cancelled_dm", name=name, when=t.datetime(starts_at))
    return render.text_message(text)


def _moment(item: outbox.Item, key: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(item.payload[key]))
    except (KeyError, ValueError) as exc:
        raise DeliveryError("bad_meeting_notice", permanent=True) from exc


def deliver_notice(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """The outbox's `meeting_notice` (queued with a move or cancellation): tell one member,
    in their own language. Not sent when the meeting is gone or over, the recipient is no
    longer a member, or a moved meeting was cancelled since (that notice follows)."""
    try:
        meeting_id = int(item.subject)
    except ValueError as exc:
        raise DeliveryError("bad_meeting_notice", permanent=True) from exc
    moved = item.payload.get("change") == meetings.MOVED
    previous = _moment(item, "from") if moved else None
    starts_at = _moment(item, "to" if moved else "at")
    with services.db.read() as session:
        context = meetings.notice_context(session, meeting_id=meeting_id, user_id=item.recipient)
    if (
        context is None
        or context.starts_at <= services.clock()
        or (moved and not context.scheduled)
    ):
        log.info("meeting notice %s for %s dropped: no longer news", item.subject, item.recipient)
        return
    t = services.translator(item.recipient)
    message = notice_message(t, context.community_name, previous=previous, starts_at=starts_at)
    notifier.send_dm(item.recipient, message)


def calendar(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop kalender [community]`: an .ics file with the meetings, uploaded to the DM, and
    the personal subscribe link; `/cop kalender nieuw` replaces that link."""
    if rest.lower() in calendar_feed.RESET_WORDS:
        return calendar_feed.reset(services, t, user_id)
    with services.db.read() as session:
        # The agenda goes into DESCRIPTION only where the reader may see it (visibility).
        lines = meetings.upcoming(
            session, user_id=user_id, query=rest or None, now=services.clock(),
            admins=services.settings.admins, limit=500,
        )  # fmt: skip
        # Not a member of any community: an empty file helps nobody.
        nothing = not rest and not lines and not meetings.member_of_any(session, user_id=user_id)
    if nothing:
        # The personal feed link still comes with it: the feed fills itself once they join.
        nothing_yet = render.text_message(t("calendar_nothing"))
        return Reply(calendar_feed.with_subscription(services, t, user_id, nothing_yet))
    name = lines[0].community_name if rest and lines else t("calendar_all")
    events = [
        event_for(line.meeting, line.community_name, description=line.agenda or "")
        for line in lines
    ]
    content = calendar_bytes(events, tz=services.settings.timezone, name=f"CoP {name}",
                             stamp=services.clock())  # fmt: skip
    filename = f"cop-{re.sub(r'[^a-z0-9-]+', '-', (rest or 'bijeenkomsten').lower())}.ics"

    def upload() -> None:
        services.notifier.upload(
            user_id, filename, content, t("calendar_comment", name=escape(name))
        )

    message = render.text_message(t("calendar_comment", name=escape(name)))
    message = calendar_feed.with_subscription(services, t, user_id, message)
    return Reply(message, after=upload)


def rsvp_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                services: Services) -> None:  # fmt: skip
    ack()
    user_id = body["user"]["id"]
    coming = str(action.get("action_id", "")).startswith("rsvp_yes")

    # Where it was clicked: a list of meetings (`rsvp-<id>-<scope>`, ephemeral), a reminder
    # in the DM, or a post in a channel, which everyone sees (the answer then comes apart).
    parts = str(action.get("block_id", "")).split("-", 2)
    in_list = len(parts) == 3 and parts[0] == "rsvp" and parts[1].isdigit()
    scope = parts[2] if in_list else ""
    message = body.get("message") if isinstance(body.get("message"), dict) else None
    channel = str((body.get("container") or {}).get("channel_id") or "")
    in_dm = message is not None and channel.startswith("D")

    def work(t: Translator) -> render.Message | None:
        with services.db.write() as session:
            result = meetings.rsvp(
                session, meeting_id=text_in.id_value(action.get("value")), user_id=user_id,
                coming=coming, now=services.clock(),
            )  # fmt: skip
        redrawn: render.Message | None = None
        if in_list:
            redrawn = list_meetings(services, t, user_id, scope).message
        elif in_dm and message is not None:
            redrawn = render.rsvp_redrawn(t, list(message.get("blocks") or []), result)
        if redrawn is None:
            return render.rsvp_reply(t, result)
        say(respond, redrawn, replace=True)
        return None

    answer_after_ack(services, respond, user_id, "RSVP", work, context="meetings")


def register(app: App, services: Services) -> None:
    app.action(re.compile(r"^rsvp_(yes|no)(-\d+)?$"))(partial(rsvp_button, services=services))
