"""Which OAuth scopes each Slack Web API method needs, and so which the bot must be granted.

Two tables. `SLACK_RULES` is what Slack documents for a bot token, for every method the
product calls or the stand-in serves (docs.slack.dev/reference/methods/<method>, "Scopes
→ Bot token"): some methods need one scope whatever they act on, the Conversations API
needs the one of the conversation's type. `PRODUCT_CALLS` is what the product calls, and
for the Conversations API on which types of conversation. The bot's scopes (`BOT_SCOPES`)
follow from the two; manifest.yaml grants exactly those (tests/test_slack_scopes.py holds
both to that, and checks that every method the code calls is listed here).

Not a bot scope: Socket Mode's apps.connections.open runs on the app-level token
(SLACK_APP_TOKEN), which has `connections:write`, set up beside the manifest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Conversation types, as the Conversations API tells scopes apart.
PUBLIC = "public"  # public channel (C…)
PRIVATE = "private"  # private channel (G…, and newer private channels)
IM = "im"  # direct message (D…)
MPIM = "mpim"  # group direct message
CONVERSATION_TYPES = (PUBLIC, PRIVATE, IM, MPIM)


@dataclass(frozen=True)
class Rule:
    """The scopes Slack accepts for a method: any one of `always` for every call, or per
    conversation type any one of `by_type[type]`. The first of each is the one the bot is
    granted when it needs it. No scopes at all: the method needs none."""

    always: tuple[str, ...] = ()
    by_type: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def accepted(self, conversation_type: str | None) -> tuple[str, ...]:
        """The scopes of which a call needs one; () when it needs none. For a call whose
        conversation type is unknown, any type's scope will do."""
        if self.always or not self.by_type:
            return self.always
        if conversation_type is None:
            return tuple(s for scopes in self.by_type.values() for s in scopes)
        return self.by_type.get(conversation_type, ())


def _per_type(public: str, private: str, im: str, mpim: str) -> dict[str, tuple[str, ...]]:
    return {PUBLIC: (public,), PRIVATE: (private,), IM: (im,), MPIM: (mpim,)}


_READ = _per_type("channels:read", "groups:read", "im:read", "mpim:read")

SLACK_RULES: dict[str, Rule] = {
    "auth.test": Rule(),
    "chat.postMessage": Rule(("chat:write",)),
    "chat.postEphemeral": Rule(("chat:write",)),
    "chat.update": Rule(("chat:write",)),
    "chat.delete": Rule(("chat:write",)),
    "chat.getPermalink": Rule(),
    "conversations.history": Rule(
        by_type=_per_type("channels:history", "groups:history", "im:history", "mpim:history")
    ),
    # Slack also accepts the narrower channels:write.invites / groups:write.invites.
    "conversations.invite": Rule(
        by_type={
            PUBLIC: ("channels:manage", "channels:write.invites"),
            PRIVATE: ("groups:write", "groups:write.invites"),
            IM: ("im:write",),
            MPIM: ("mpim:write",),
        }
    ),
    # The type of the conversation opened: one other user is a DM, more an MPIM.
    "conversations.open": Rule(
        by_type=_per_type("channels:manage", "groups:write", "im:write", "mpim:write")
    ),
    "conversations.info": Rule(by_type=_READ),
    "conversations.members": Rule(by_type=_READ),
    "users.info": Rule(("users:read",)),
    "views.open": Rule(),
    "views.push": Rule(),
    "views.update": Rule(),
    "views.publish": Rule(),
    "files.getUploadURLExternal": Rule(("files:write",)),
    "files.completeUploadExternal": Rule(("files:write",)),
}


@dataclass(frozen=True)
class Use:
    """How the product uses a method: on which conversation types (for the methods whose
    scope depends on it) and what for."""

    why: str
    on: tuple[str, ...] = ()


PRODUCT_CALLS: dict[str, Use] = {
    "auth.test": Use(
        "the start-up check (is the token accepted, which scopes has it); Bolt learns the "
        "bot's own user id on the first request"
    ),
    "chat.postMessage": Use(
        "replies, welcome DMs, approval requests, reminders in DMs and community channels"
    ),
    "chat.update": Use("a posted agenda or minutes is brought up to date"),
    "chat.getPermalink": Use("a link to posted minutes and to a saved question"),
    "conversations.open": Use("the DM with a member: the calendar file, finding a reminder", (IM,)),
    "conversations.invite": Use(
        "a new member is added to the community channel", (PUBLIC, PRIVATE)
    ),
    "conversations.history": Use(
        "after a crash: was a reminder already posted (in a DM or a community channel)?",
        (PUBLIC, PRIVATE, IM),
    ),
    "users.info": Use(
        "a new member's language from their Slack locale, once, before their first welcome "
        "or when they first open the App Home (handlers/locale.py)"
    ),
    "views.open": Use("the meeting, agenda, minutes, question, shortcut and community forms"),
    "views.publish": Use("the App Home tab (handlers/home.py)"),
    "views.update": Use("the minutes form changes as it is filled in"),
    # files_upload_v2 (the calendar file) calls these two.
    "files.getUploadURLExternal": Use("/cop kalender puts an .ics file in the DM"),
    "files.completeUploadExternal": Use("/cop kalender puts an .ics file in the DM"),
}

# Scopes that features of the manifest need rather than a Web API method.
FEATURE_SCOPES: dict[str, str] = {
    "commands": "the /cop slash command, the message shortcut and the global shortcuts"
}


def scopes_needed(calls: Mapping[str, Use] = PRODUCT_CALLS) -> dict[str, list[str]]:
    """Each scope the bot needs, with the methods that need it."""
    needed: dict[str, list[str]] = {scope: [] for scope in FEATURE_SCOPES}
    for method, use in calls.items():
        rule = SLACK_RULES[method]
        choices = [rule.always] if rule.always else [rule.by_type[t] for t in use.on]
        for accepted in choices:
            needed.setdefault(accepted[0], []).append(method)
    return needed


BOT_SCOPES: frozenset[str] = frozenset(scopes_needed())


def missing_scope(method: str, conversation_type: str | None, granted: Iterable[str]) -> str | None:
    """The scope a call lacks (as Slack names it in `needed`), or None when the granted
    scopes suffice or the method is not in the table."""
    rule = SLACK_RULES.get(method)
    if rule is None:
        return None
    accepted = rule.accepted(conversation_type)
    if not accepted or set(accepted) & set(granted):
        return None
    return ",".join(dict.fromkeys(accepted)) if conversation_type is None else accepted[0]
