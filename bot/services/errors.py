"""Domain errors raised by the services and turned into friendly messages by the handlers."""

from __future__ import annotations

import datetime as dt


class DomainError(Exception):
    """A user-facing refusal; handlers map each subclass to a catalogue message."""


class CommunityNotFound(DomainError):
    def __init__(self, query: str, suggestions: list[str]) -> None:
        super().__init__(query)
        self.query = query
        self.suggestions = suggestions


class NotInCommunity(DomainError):
    """Only members (and the community's facilitators and admins) see or take part in
    `part` (a bot.services.visibility.Part value: topics, questions, minutes, ...)."""

    def __init__(self, community: str, slug: str, *, part: str = "") -> None:
        super().__init__(community)
        self.community = community
        self.slug = slug
        self.part = part


class TextTooLong(DomainError):
    """A topic or question over its limit; `text` comes back whole, so nothing is lost."""

    def __init__(self, *, text: str, limit: int) -> None:
        super().__init__(limit)
        self.text = text
        self.limit = limit


class AlreadyMember(DomainError):
    def __init__(self, community: str, status: str, position: int | None = None) -> None:
        super().__init__(community)
        self.community = community
        self.status = status
        self.position = position


class NotMember(DomainError):
    def __init__(self, community: str) -> None:
        super().__init__(community)
        self.community = community


class RegistrationClosed(DomainError):
    def __init__(self, community: str, deadline: dt.date) -> None:
        super().__init__(community)
        self.community = community
        self.deadline = deadline


class NotAllowed(DomainError):
    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class RequestAlreadyDecided(DomainError):
    def __init__(self, community: str, user_id: str) -> None:
        super().__init__(community)
        self.community = community
        self.user_id = user_id


class MeetingNotFound(DomainError):
    def __init__(self, community: str, number: int | None = None) -> None:
        super().__init__(community)
        self.community = community
        self.number = number


class MeetingTooFarAhead(DomainError):
    """A meeting may be planned or moved at most PLANNING_HORIZON ahead (meetings.py)."""

    def __init__(self, latest: dt.date) -> None:
        super().__init__(latest.isoformat())
        self.latest = latest


class MeetingOver(DomainError):
    """The meeting has begun or was cancelled: no more RSVPs or moves."""

    def __init__(self, community: str) -> None:
        super().__init__(community)
        self.community = community
