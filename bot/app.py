"""Assembles the Bolt app: settings, database, notifier and every listener module."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import deadline, logs, metrics
from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.outbox import Courier
from bot.runtime import Services
from bot.scheduler import ReminderScheduler
from bot.services import audit, catalog
from bot.services import meetings as meetings_service
from bot.slack_notifier import DeadlineWebClient, SlackNotifier, make_web_client
from handlers import (
    actions,
    agenda,
    commands,
    deliveries,
    home,
    meeting_form,
    meetings,
    minutes,
    privacy,
    questions,
    shortcuts,
)
from handlers.errors import OUTCOME, make_error_handler
from handlers.registry import Registry
from storage import migrate
from storage.db import Database
from storage.models import Community

log = logging.getLogger("cop_bot")

# The one place that knows every listener module. Besides `/cop` (handlers/commands.py),
# each registers its buttons, modals and shortcuts, in this order (Bolt takes the first
# listener that matches). Those with `/cop` subcommands declare them in COMMANDS; the
# registry answers `/cop` from all of them, and `/cop hulp` lists them in this order.
LISTENERS = (
    home, agenda, questions, minutes, meeting_form, privacy, actions, meetings, shortcuts,
)  # fmt: skip
COMMAND_REGISTRY = Registry(
    commands.COMMANDS,
    agenda.COMMANDS,
    questions.COMMANDS,
    minutes.COMMANDS,
    meeting_form.COMMANDS,
    privacy.COMMANDS,
)


def load_catalog(
    session: Session, path: Path, tz: ZoneInfo, *, now: dt.datetime
) -> tuple[catalog.LoadReport, list[int]]:
    """Load a catalogue file; returns the report and the ids of its communities, whose
    reminders the caller plans. Raises CatalogError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise catalog.CatalogError(f"{path}: cannot read ({exc.strerror})") from exc
    specs = catalog.parse(text, tz, source=str(path))
    report = catalog.apply(session, specs, now=now)
    ids = session.scalars(select(Community.id).where(Community.slug.in_([s.slug for s in specs])))
    return report, list(ids)


def prepare_database(
    settings: Settings, *, load_default_catalog: bool = False, clock: Clock = system_clock
) -> tuple[tuple[str, str], ...]:
    """Migrate the schema, then load COP_CATALOG (or the shipped one into an empty database),
    planning its reminders from `clock`'s "now" (the console's moved clock, say).

    Returns the (community slug, user) pairs that a reload moved off a waitlist."""
    migrate.upgrade(settings.database_url)
    path = settings.catalog
    db = Database(settings.database_url, pool_size=1)
    try:
        with db.write() as session:
            audit.sync_admins(session, settings.admins, now=clock())
            if path is None and load_default_catalog and catalog.is_empty(session):
                path = catalog.DEFAULT_CATALOG
            promoted: tuple[tuple[str, str], ...] = ()
            if path is None:
                return promoted
            report, community_ids = load_catalog(session, path, settings.timezone, now=clock())
            log.info("catalogue %s loaded: %s", path, report)
            # The catalogue's meetings and offsets may have changed: plan its communities
            # anew now. Every other meeting is planned by whichever process takes the
            # scheduler lock, in batches, after it is ready (ReminderScheduler.plan_...).
            meetings_service.sync_reminders(
                session,
                offsets=settings.reminder_offsets,
                now=clock(),
                tz=settings.timezone,
                community_ids=community_ids,
            )
            return report.promoted
    finally:
        db.dispose()


def build_services(
    settings: Settings,
    *,
    client: WebClient | None = None,
    clock: Clock = system_clock,
    courier: bool = True,
) -> Services:
    """What a process shares between requests. With `courier`, this process sends the
    outbox's welcomes itself (in the background, after each join); without, a delivery
    process does (`cop-bot deliver`)."""
    assert settings.slack_bot_token is not None
    client = client or make_web_client(settings.slack_bot_token, settings.slack_api_url)
    services = Services(
        settings=settings,
        db=Database(settings.database_url),
        notifier=SlackNotifier(client),
        clock=clock,
        client=client,
    )
    if courier:
        services.courier = make_courier(services)
    return services


def make_courier(services: Services) -> Courier:
    """The delivery worker of everything the bot sends on its own (bot/outbox.py)."""
    return Courier(
        services.db,
        services.notifier,
        deliveries.lanes(services),
        owner=f"{socket.gethostname()}:{os.getpid()}:courier",
        clock=services.clock,
    )


def start_scheduler(services: Services, *, sweep_seconds: float = 5.0) -> ReminderScheduler:
    """Run the reminder scheduler in this process; it fans reminders out onto the delivery
    road only while it holds the lock (the courier, here or in the delivery process,
    sends them: handlers/deliveries.py `reminder`)."""
    scheduler = ReminderScheduler(
        db=services.db,
        clock=services.clock,
        deliver=services.deliver_soon,
        sweep_seconds=sweep_seconds,
        offsets=services.settings.reminder_offsets,
        tz=services.settings.timezone,
    )
    scheduler.chores.append(partial(minutes.send_nudges, services))
    scheduler.chores.append(partial(privacy.retention_chore, services))
    services.scheduler = scheduler
    courier = services.courier
    if courier is not None:

        def deliver_leftovers() -> None:
            # Items waiting for a retry or at a lane's pace, or claims of a worker that died.
            if courier.has_due():
                services.deliver_soon()

        scheduler.chores.append(deliver_leftovers)
    scheduler.start()
    services.deliver_soon()  # what waits from before the start (a reload's promotions, say)
    return scheduler


class DeadlineApp(App):
    """Bolt's App, answering each request under a deadline (bot/deadline.py): Slack shows
    the user an error when the answer takes more than 3 seconds. Every way in (HTTP,
    Socket Mode, the console) goes through dispatch."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        received_at = req.context.get(deadline.RECEIVED_AT)
        began = received_at if isinstance(received_at, float) else time.monotonic()
        with (
            logs.request_scope(),  # HTTP's edge has set one already; Socket Mode has not
            deadline.running(deadline.from_receipt(received_at)),
        ):
            response = super().dispatch(req)
        _count(req, response, began)
        return response


def _count(req: BoltRequest, response: BoltResponse, began: float) -> None:
    """A counter and a histogram observation per request: nothing more on the hot path."""
    kind = metrics.request_kind(req.body)
    text = req.body.get("text") if kind == "command" else None
    subcommand = COMMAND_REGISTRY.name_of(text) if isinstance(text, str) else ""
    status = response.status
    outcome = req.context.get(OUTCOME) or (
        "error" if status >= 500 else "unhandled" if status == 404 else "ok"
    )
    metrics.count_request(kind, outcome, status, subcommand=subcommand)
    metrics.ANSWER_SECONDS.labels(kind).observe(max(0.0, time.monotonic() - began))


class _RequestClient(Middleware):
    """A global middleware: the listeners' `client` makes its calls under the request's
    deadline. Bolt builds a stock WebClient per request; this puts a DeadlineWebClient
    with the same settings in its place: one per workspace, shared by its requests (a
    client keeps no state between calls; the deadline is the calling thread's). A class,
    so that Bolt calls it without inspecting its arguments on every request."""

    def __init__(self, app_client: WebClient) -> None:
        self.app_client = app_client
        self.clients: dict[str | None, WebClient] = {}

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        if isinstance(self.app_client, DeadlineWebClient):
            team = req.context.team_id
            client = self.clients.get(team)
            if client is None:
                client = self.clients.setdefault(team, self.app_client.for_request(team_id=team))
            req.context["client"] = client
        return next()


def build_app(settings: Settings, services: Services, *, client: WebClient | None = None) -> App:
    """The one Bolt app that Socket Mode, HTTP and the console all serve."""
    client = client or make_web_client(settings.slack_bot_token or "", settings.slack_api_url)
    app = DeadlineApp(
        client=client,
        signing_secret=settings.slack_signing_secret,
        # Listeners answer within the request; slow work goes to our own pools.
        process_before_response=True,
        # Socket Mode and the console have no public URL to verify.
        token_verification_enabled=False,
        # Every HTTP request, the console's too, is verified once, at the edge (bot/edge.py);
        # Socket Mode needs no signature.
        request_verification_enabled=False,
        ignoring_self_events_enabled=False,
        # Slack's check of the Events API URL (a challenge to send back) is answered by
        # Bolt itself, after the edge verified it like any request.
        url_verification_enabled=True,
    )
    app.use(_RequestClient(client))
    app.error(make_error_handler(services.translator, services.in_background))
    commands.register(app, services, COMMAND_REGISTRY)
    for module in LISTENERS:
        module.register(app, services)
    return app
