"""What a welcome needs from a community, shared by `/cop aanmelden`, the delivery
handlers (handlers/deliveries.py) and the calendar file."""

from __future__ import annotations

from datetime import datetime

from bot.runtime import Services
from bot.services import communities
from bot.services.views import CommunityDetail


def minute(services: Services) -> datetime:
    """Now, to the minute: the granularity of cached answers that depend on the time."""
    return services.clock().replace(second=0, microsecond=0)


def community_profile(services: Services, slug: str) -> CommunityDetail:
    """Start text, meetings and facilitators of a community, as welcome DMs show them."""

    def compute() -> CommunityDetail:
        with services.db.read() as session:
            return communities.info(
                session, query=slug, now=services.clock(), tz=services.settings.timezone
            )

    return services.profiles.get((slug, minute(services)), compute)
