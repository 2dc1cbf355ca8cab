"""Every domain error: a refusal that the services raise and the user is told about.

The handlers turn each one into its catalogue message in one place,
handlers/errors.py `message_for`; tests/test_domain_errors.py fails for an error here
without a text in both languages.

Not domain errors, so not here: the infrastructure's errors, which no user caused and
which end in an apology or a retry (storage/errors.py WriteBusy, storage/backup.py
BackupError, bot/notifier.py DeliveryError, bot/deadline.py SlackTooSlow), the
configuration's (bot/config.py ConfigError, bot/startup.py StartupError,
bot/services/catalog.py CatalogError), and handlers/text_in.py NulInText, text refused
at the edge before any service sees it.
"""

from __future__ import annotations

import datetime as dt


class DomainError(Exception):
    """A user-facing refusal; handlers/errors.py `message_for` gives each subclass its
    catalogue message."""


# -- communities and membership ---------------------------------------------------------


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
    """Past the deadline. Whom to ask instead: the facilitators when the community has
    any (`facilitated`), else the `admins` (none: nobody is named)."""

    def __init__(
        self,
        community: str,
        deadline: dt.date,
        facilitated: bool = True,
        admins: list[str] | None = None,
    ) -> None:
        super().__init__(community)
        self.community = community
        self.deadline = deadline
        self.facilitated = facilitated
        self.admins = admins or []


class NotAllowed(DomainError):
    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class RequestAlreadyDecided(DomainError):
    def __init__(self, community: str, user_id: str) -> None:
        super().__init__(community)
        self.community = community
        self.user_id = user_id


class RequestWithdrawn(DomainError):
    """The join request is gone and nobody decided on it: the requester withdrew it."""

    def __init__(self, community: str, user_id: str) -> None:
        super().__init__(community)
        self.community = community
        self.user_id = user_id


# -- meetings ----------------------------------------------------------------------------


class MeetingNotFound(DomainError):
    def __init__(self, community: str, number: int | None = None) -> None:
        super().__init__(community)
        self.community = community
        self.number = number


class DuplicateMeeting(DomainError):
    """The community already has a scheduled meeting starting at `starts_at`."""

    def __init__(self, community: str, slug: str, starts_at: dt.datetime) -> None:
        super().__init__(community)
        self.community = community
        self.slug = slug
        self.starts_at = starts_at


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


# -- reading a meeting's date and time (bot/services/when.py) ---------------------------

# Why ambiguity was found, so handlers can ask the right question.
NO_TIME = "no_time"  # "30 maart": a meeting needs a time
NO_DATE = "no_date"  # "14:00": which day?
HOUR_1_TO_7 = "hour"  # "om 3": 03:00 or 15:00?
DAY_MONTH_ORDER = "day_month_order"  # "3/30": only makes sense month-first
WEEKDAY_MISMATCH = "weekday_mismatch"  # "maandag 30 maart 2027" is a Tuesday
AUTUMN_FOLD = "fold"  # 02:30 on the night summer time ends happens twice


class WhenError(DomainError):
    """Base: `text` is what the user typed, `reading` the aware local moment we read (or None)."""

    def __init__(self, text: str, reading: dt.datetime | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.reading = reading


class UnreadableWhen(WhenError):
    """We could not make a date and time of it; `reading` is None."""


class AmbiguousWhen(WhenError):
    """A best guess in `reading` for the user to confirm; `reason` says what is unclear."""

    def __init__(
        self, text: str, reading: dt.datetime | None = None, reason: str = NO_TIME
    ) -> None:
        super().__init__(text, reading)
        self.reason = reason


class PastWhen(WhenError):
    """The moment read lies before `now`; `reading` holds it. `yearless`: the date was
    written without a year (this year's had passed), so next year's may be meant."""

    def __init__(
        self, text: str, reading: dt.datetime | None = None, *, yearless: bool = False
    ) -> None:
        super().__init__(text, reading)
        self.yearless = yearless


class EndBeforeStart(WhenError):
    """A time range whose end (`end`, aware local) is not after its start (`reading`)."""

    def __init__(self, text: str, reading: dt.datetime, end: dt.datetime) -> None:
        super().__init__(text, reading)
        self.end = end


# -- agenda topics and agendas (bot/services/agenda.py) ---------------------------------


class TopicNotFound(DomainError):
    """The topic is gone, or no longer open for votes (it is on an agenda)."""


class NoUpcomingMeeting(DomainError):
    def __init__(self, community: str, slug: str) -> None:
        super().__init__(community)
        self.community = community
        self.slug = slug


class AgendaInvalid(DomainError):
    """A field of the agenda form that cannot be saved: `problem` is "empty" or "too_long"."""

    def __init__(self, field: str, problem: str, limit: int = 0, length: int = 0) -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem
        self.limit = limit
        self.length = length


# -- questions (bot/services/questions.py) and lessons (bot/services/lessons.py) --------


class EmptyText(DomainError):
    """A question or answer with nothing in it."""


class QuestionNotFound(DomainError):
    """No such question (or none the reader may see); raised by questions and lessons."""

    def __init__(self, question_id: int) -> None:
        super().__init__(question_id)
        self.question_id = question_id


class QuestionAnswered(DomainError):
    """The question has been answered: no more votes, moves or answers. `number`: its
    number in the community, as people know it ("#3")."""

    def __init__(self, question_id: int, number: int | None = None) -> None:
        super().__init__(question_id)
        self.question_id = question_id
        self.number = number


class NotAnswered(DomainError):
    """Only an answered question can become a lesson."""

    def __init__(self, question_id: int) -> None:
        super().__init__(str(question_id))
        self.question_id = question_id


class AlreadyPublished(DomainError):
    def __init__(self, community: str, published_at: dt.datetime | None) -> None:
        super().__init__(community)
        self.community = community
        self.published_at = published_at


# -- minutes (bot/services/minutes.py) --------------------------------------------------


class NoPastMeetings(DomainError):
    """The community has had no meeting yet to write minutes of."""

    def __init__(self, community: str, slug: str) -> None:
        super().__init__(community)
        self.community = community
        self.slug = slug


# -- community settings (the admin's form) -------------------------------------------------


class SettingsInvalid(DomainError):
    """What is wrong with the community form, by field ("name", "capacity", ...): a
    catalogue key each, shown under that field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(sorted(problems)))
        self.problems = problems
