"""The `/cop` slash command: parse the text, call one service, render the reply."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import deadline
from bot.deadline import SlackTooSlow
from bot.i18n import Translator
from bot.runtime import Services, error_reference
from bot.services import communities, membership
from bot.services import meetings as meeting_service
from bot.services.errors import DomainError
from bot.services.views import CommunitySummary
from handlers import meetings as meeting_commands
from handlers import privacy, render, text_in
from handlers.errors import apology, message_for, nul_refusal, slack_slow
from handlers.registry import Command, Entry, Registry
from handlers.reply import Reply
from handlers.welcome import minute
from storage.errors import WriteBusy

log = logging.getLogger("cop_bot")

# Slack gives up after 3 s; answer by then with a "working on it" and follow up.
ACK_BUDGET_SECONDS = 2.0
# A join runs in the request's thread if the write lock comes within this; else it
# goes through the request pool, whose answer is bounded by ACK_BUDGET_SECONDS.
INLINE_WRITE_WAIT = 0.5

# Opens a modal (Reply.view) with the command's trigger_id; False when Slack refused.
OpenView = Callable[[dict[str, Any]], bool]
# The edge (handlers/text_in.py) turns a mention <@U123|name> into @U123.
_MENTION = re.compile(r"^@?([UW][A-Z0-9]+)$")


def run_command(services: Services, registry: Registry, user_id: str, text: str) -> Reply:
    """Everything `/cop <text>` does for `user_id`, as one reply."""
    t = services.translator(user_id)
    word, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    command = registry.get(registry.name_of(text))
    if command is None:
        return Reply(render.text_message(t("unknown_command", word=render.escape(word[:50]))))
    if command.needs_community and not rest:
        return Reply(render.text_message(t("missing_community", command=word.lower())))
    handler = command.handler
    try:
        return handler(services, t, user_id, rest)
    except DomainError as error:
        return Reply(message_for(t, error))


def _list(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    def items() -> list[CommunitySummary]:
        with services.db.read() as session:
            return communities.list_communities(
                session, now=services.clock(), tz=services.settings.timezone
            )

    with services.db.read() as session:
        statuses = membership.my_statuses(session, user_id=user_id)
    if statuses:  # their own state instead of **Aanmelden** where they are in already
        listed = services.reads.get(("list_items", minute(services)), items)
        return Reply(render.community_list(t, listed, statuses))
    # The most asked-for answer, and the same for everyone who is in no community yet.
    return Reply(
        services.reads.get(
            ("list", t.language, minute(services)), lambda: render.community_list(t, items())
        )
    )


def _info(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    with services.db.read() as session:
        detail = communities.info(
            session, query=rest, now=services.clock(), tz=services.settings.timezone,
            user_id=user_id, admins=services.settings.admins,
        )  # fmt: skip
        manage = meeting_service.manageable(
            session, user_id=user_id, slugs=[detail.summary.slug], admins=services.settings.admins
        )
        status = membership.my_statuses(session, user_id=user_id).get(detail.summary.slug)
    return Reply(render.community_info(t, detail, manage=bool(manage), status=status))


def community_index(services: Services) -> communities.CommunityIndex:
    """Every community's names for matching; changes to communities drop it (`profiles`)."""

    def compute() -> communities.CommunityIndex:
        with services.db.read() as session:
            return communities.community_index(session)

    return services.profiles.get(("index",), compute)


def join(
    services: Services, t: Translator, user_id: str, query: str, *, wait: float | None = None
) -> Reply:
    """Join a community through the membership service; joins arriving together are
    written in one transaction (storage/group_commit.py). With `wait`, raises WriteBusy
    when the write lock is not had within that many seconds."""
    try:
        community_id: int | None = community_index(services).resolve(query)
    except DomainError:
        community_id = None  # the service names the suggestions, with fresh data
    work = partial(
        membership.join,
        query=query,
        user_id=user_id,
        now=services.clock(),
        tz=services.settings.timezone,
        admins=services.settings.admins,
        community_id=community_id,
    )
    result = services.db.group_commit.run(work, wait=wait, order=community_id or 0)
    # A welcome or the facilitators' approval requests wait in the outbox (queued with the join).
    return Reply(render.join_reply(t, result), deliver=result.outcome != "waitlist")


def join_in_request(services: Services, user_id: str, text: str) -> Reply | None:
    """The join, answered in the request's own thread when the write lock comes within
    INLINE_WRITE_WAIT (else WriteBusy, and `run_command` in the request pool gives the
    answer); None without a community's name (`run_command` says what is missing)."""
    query = text.strip().partition(" ")[2].strip()
    if not query:
        return None
    t = services.translator(user_id)
    try:
        return join(
            services, t, user_id, query, wait=min(INLINE_WRITE_WAIT, ACK_BUDGET_SECONDS / 4)
        )
    except DomainError as error:
        return Reply(message_for(t, error))


def _leave(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    with services.db.write() as session:
        result = membership.leave(
            session,
            query=rest,
            user_id=user_id,
            now=services.clock(),
            tz=services.settings.timezone,
        )
    # Whoever moved up from the waitlist is welcomed through the outbox (queued with the leave).
    return Reply(render.leave_reply(t, result), deliver=result.promoted is not None)


def _members(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    with services.db.read() as session:
        members = membership.member_list(
            session, query=rest, user_id=user_id, admins=services.settings.admins,
            now=services.clock(), tz=services.settings.timezone,
        )  # fmt: skip
    return Reply(render.member_list(t, members))


def _mine(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    if rest.lower() in privacy.DATA_WORDS:  # `/cop mijn gegevens`: the export
        return privacy.my_data(services, t, user_id, rest)
    with services.db.read() as session:
        entries = membership.mine(
            session, user_id=user_id, now=services.clock(), tz=services.settings.timezone
        )
    return Reply(render.mine(t, entries))


def _language(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    choice = rest.lower()[:2]
    if choice not in ("nl", "en"):
        return Reply(render.text_message(t("language_usage")))
    services.set_language(user_id, choice)
    return Reply(render.text_message(Translator(choice, t.tz)("language_set")))


def _facilitator(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    query, _, who = rest.rpartition(" ")
    match = _MENTION.match(who.strip())
    if not query.strip() or not match:
        return Reply(render.text_message(t("facilitator_usage")))
    appointee = match.group(1)
    with services.db.write() as session:
        appointment = membership.appoint_facilitator(
            session,
            query=query,
            user_id=appointee,
            appointed_by=user_id,
            admins=services.settings.admins,
            now=services.clock(),
        )
    services.profiles.invalidate()
    key = "facilitator_added" if appointment.new else "facilitator_already"
    name = render.escape(appointment.community_name)
    # The new facilitator's DM waits in the outbox (queued with the appointment).
    return Reply(render.text_message(t(key, user=appointee, name=name)), deliver=appointment.new)


# The core of `/cop`, in the order of `/cop hulp`; the features declare their own
# (see handlers/registry.py; bot/app.py puts them together).
COMMANDS: list[Entry] = [
    Command("list", ("lijst", "list", "overzicht"), _list, writes=False, help="help_list"),
    Command("info", ("info",), _info, writes=False, needs_community=True, help="help_info"),
    Command("join", ("aanmelden", "join", "meedoen"), join, needs_community=True,
            help="help_join"),
    Command("leave", ("afmelden", "leave"), _leave, needs_community=True, help="help_leave"),
    Command("members", ("leden", "members"), _members, writes=False, needs_community=True,
            help="help_members"),
    # "my": `/cop my data`, the export (handlers/privacy.py).
    Command("mine", ("mijn", "mine", "my"), _mine, writes=False, help="help_mine"),
    Command("meetings", ("bijeenkomsten", "meetings", "agenda's"), meeting_commands.list_meetings,
            writes=False, help="help_meetings"),
    # Writes: its first use makes the feed token, and `kalender nieuw` replaces it.
    Command("calendar", ("kalender", "calendar", "agenda-bestand"), meeting_commands.calendar,
            help="help_calendar"),
    Command("language", ("taal", "language"), _language, help="help_language"),
    Command("meeting", ("bijeenkomst", "meeting"), meeting_commands.manage_meeting,
            help_facilitator="help_facilitator"),
    Command("facilitator", ("kartrekker", "facilitator"), _facilitator, needs_community=True,
            help_admin="help_admin"),
]  # fmt: skip


def _opener(client: WebClient, trigger_id: str) -> OpenView:
    """Opens a command's modal; False when Slack refused (e.g. the trigger expired).

    The trigger expires 3 s after the command, like the request: the modal opens under the
    request's deadline, also when the answer comes late (SlackTooSlow when past it)."""
    request_deadline = deadline.current()

    def open_view(view: dict[str, Any]) -> bool:
        try:
            with deadline.resumed(request_deadline):
                client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("could not open a modal: %s", exc.response.get("error"))
            return False
        return True

    return open_view


def _send_late(
    services: Services, respond: Respond, user_id: str, open_view: OpenView, future: Future[Reply]
) -> None:
    try:
        reply = future.result()
    except Exception:
        reference = error_reference()
        log.exception("late /cop reply failed (ref %s)", reference)
        message = apology(services.translator(None), reference)
        respond(text=message.text, blocks=message.blocks, replace_original=False)
        return
    if reply.view is not None:
        try:
            if open_view(reply.view):
                return
        except SlackTooSlow as exc:
            # The trigger has expired: the reply's own message says to type it again.
            log.warning("late /cop modal not opened: %s", exc)
    respond(
        text=reply.message.text,
        blocks=reply.message.blocks,
        response_type=reply.response_type,
        replace_original=False,
    )
    _follow_up(services, reply)


def cop_command(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
    registry: Registry,
) -> None:
    """Answer `/cop` within Slack's deadline: in the HTTP response when the work is quick,
    else with a short "working on it" and the real answer through response_url."""
    user_id = command["user_id"]
    open_view = _opener(client, command.get("trigger_id") or "")
    try:
        # The one place slash-command text is read: from here on it is plain text.
        text = text_in.from_slack(str(command.get("text") or ""))
    except text_in.NulInText as refused:
        refusal = Reply(nul_refusal(services.translator(user_id), refused.text))
        _ack(ack, services, user_id, refusal, open_view)
        return
    name = registry.name_of(text)
    if not registry.writes(name):
        # Reads never wait for a lock (SQLite WAL, PostgreSQL MVCC) and the database's
        # own timeouts bound them, so they skip the hand-over to the request pool.
        _ack(ack, services, user_id, run_command(services, registry, user_id, text), open_view)
        return
    started = time.monotonic()
    if name == "join":
        # The busiest write: when the lock comes quickly it is done here, without the
        # hand-over to the request pool.
        try:
            quick = join_in_request(services, user_id, text)
        except WriteBusy:
            pass  # the pool tries it again, with all the time the answer allows
        else:
            if quick is not None:
                _ack(ack, services, user_id, quick, open_view)
                return
    future = services.foreground.submit(partial(run_command, services, registry, user_id, text))
    budget = max(0.05, _answer_budget(started))
    try:
        reply = future.result(timeout=budget)
    except FutureTimeout:
        working = Translator(services.settings.language, services.settings.timezone)("working")
        # JSON like every other answer: the console and tests read the body as JSON.
        ack(text=working, response_type="ephemeral")
        late = partial(_send_late, services, respond, user_id, open_view)
        services.when_done("late reply", future, late)
        return
    _ack(ack, services, user_id, reply, open_view)


def _answer_budget(started: float) -> float:
    """Seconds left to answer in the HTTP response itself: ACK_BUDGET_SECONDS from when
    the edge got the request (its deadline knows), else from `started`."""
    current = deadline.current()
    if current is not None:
        return current.remaining() - (deadline.REQUEST_BUDGET_SECONDS - ACK_BUDGET_SECONDS)
    return ACK_BUDGET_SECONDS - (time.monotonic() - started)


def _ack(ack: Ack, services: Services, user_id: str, reply: Reply, open_view: OpenView) -> None:
    if reply.view is not None:
        try:
            opened = open_view(reply.view)
        except SlackTooSlow as exc:
            # The trigger expires with the request: opening it later cannot work.
            log.warning("/cop modal not opened: %s", exc)
            slow = slack_slow(services.translator(user_id))
            ack(text=slow.text, blocks=slow.blocks, response_type="ephemeral")
            return
        if opened:
            ack()
            _follow_up(services, reply)
            return
    ack(text=reply.message.text, blocks=reply.message.blocks, response_type=reply.response_type)
    _follow_up(services, reply)


def _follow_up(services: Services, reply: Reply) -> None:
    if reply.deliver:
        services.deliver_soon()
    if reply.after is not None:
        services.in_background("after /cop", reply.after)


def register(app: App, services: Services, registry: Registry) -> None:
    """`/cop`, answered from `registry` (every module's COMMANDS, see bot/app.py)."""
    app.command("/cop")(partial(cop_command, services=services, registry=registry))
