"""Assembles the Bolt app: settings, database, notifier and every listener module."""

from __future__ import annotations

import logging
from functools import partial

from slack_bolt import App
from slack_sdk import WebClient

from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.runtime import Services
from bot.services import catalog
from bot.slack_notifier import SlackNotifier, make_web_client
from handlers import actions, commands
from handlers.errors import make_error_handler
from storage import migrate
from storage.db import Database

log = logging.getLogger("cop_bot")


def prepare_database(
    settings: Settings, *, load_default_catalog: bool = False
) -> tuple[tuple[str, str], ...]:
    """Migrate the schema, then load COP_CATALOG (or the shipped one into an empty database).

    Returns the (community slug, user) pairs that a reload moved off a waitlist."""
    migrate.upgrade(settings.database_url)
    path = settings.catalog
    db = Database(settings.database_url, pool_size=1)
    try:
        with db.write() as session:
            if path is None and load_default_catalog and catalog.is_empty(session):
                path = catalog.DEFAULT_CATALOG
            if path is None:
                return ()
            report = catalog.load_file(session, path, settings.timezone)
            log.info("catalogue %s loaded: %s", path, report)
            return report.promoted
    finally:
        db.dispose()


def announce_promotions(settings: Settings, promoted: tuple[tuple[str, str], ...]) -> None:
    """Welcome the people whom a catalogue reload (more seats) moved off a waitlist."""
    if not promoted:
        return
    services = build_services(settings)
    try:
        for slug, user_id in promoted:
            services.in_background(
                "promotion", partial(commands.welcome_promoted, services, slug, user_id)
            )
        services.wait_idle(60)
    finally:
        services.shutdown()


def build_services(
    settings: Settings, *, client: WebClient | None = None, clock: Clock = system_clock
) -> Services:
    assert settings.slack_bot_token is not None
    client = client or make_web_client(settings.slack_bot_token, settings.slack_api_url)
    return Services(
        settings=settings,
        db=Database(settings.database_url),
        notifier=SlackNotifier(client),
        clock=clock,
    )


def build_app(settings: Settings, services: Services, *, client: WebClient | None = None) -> App:
    """The one Bolt app that Socket Mode, HTTP and the console all serve."""
    client = client or make_web_client(settings.slack_bot_token or "", settings.slack_api_url)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        # Listeners answer within the request; slow work goes to our own pools.
        process_before_response=True,
        # Socket Mode and the console have no public URL to verify.
        token_verification_enabled=False,
        ignoring_self_events_enabled=False,
    )
    app.error(make_error_handler(services.translator))
    commands.register(app, services)
    actions.register(app, services)
    return app
