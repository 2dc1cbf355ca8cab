"""Personal data in Slack: /cop mijn gegevens (the export), /cop vergeet mij (forget me,
after a confirmation), /cop audit (admins), and the daily retention chore."""

from __future__ import annotations

import json
import logging
import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from sqlalchemy.orm import Session

from bot.i18n import Translator
from bot.notifier import Message, Notifier
from bot.runtime import Services
from bot.services import audit, outbox, privacy
from bot.text import looks_like_number, parse_number
from handlers import text_in
from handlers.errors import answer_after_ack
from handlers.registry import Command, Entry
from handlers.render.blocks import (
    Block,
    actions,
    button,
    context,
    escape,
    fit,
    header,
    mention,
    section,
)
from handlers.reply import Reply

log = logging.getLogger("cop_bot")

FORGET_ACTION = "privacy_forget"
AUDIT_PAGE_ACTION = "audit_page"
# `/cop mijn gegevens`, `/cop mine data`: the words after `mijn` that ask for the export.
DATA_WORDS = {"gegevens", "data", "mijn-gegevens", "persoonsgegevens"}


def _text(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


# -- my data ----------------------------------------------------------------------------


def summary_message(t: Translator, summary: privacy.Summary, *, retention_days: int) -> Message:
    """The readable part of an export, sent in the DM before the file."""
    lines = []
    if summary.memberships:
        items = t.and_list(
            [t(f"privacy_status_{status}", name=escape(name)) for name, status in
             summary.memberships]
        )  # fmt: skip
        lines.append(t("privacy_export_memberships", items=items))
    else:
        lines.append(t("privacy_export_no_memberships"))
    if summary.facilitator_of:
        names = t.and_list([escape(n) for n in summary.facilitator_of])
        lines.append(t("privacy_export_facilitator", names=names))
    c = summary.counts
    counts = {
        "rsvps": c["rsvps"], "votes": c["topic_votes"] + c["question_votes"],
        "questions": c["questions"], "topics": c["topics"], "lessons": c["lessons"],
        "deliveries": c["deliveries"], "outbox": c["outbox"],
    }  # fmt: skip
    items = t.and_list(t(f"privacy_count_{what}", count=n) for what, n in counts.items())
    lines.append(t("privacy_export_counts", items=items))
    lines.append(
        t("privacy_export_language", language=summary.language)
        if summary.language
        else t("privacy_export_language_default")
    )
    lines.append(t("privacy_export_feed" if summary.has_feed else "privacy_export_no_feed"))
    if summary.left_at is not None:
        date = t.date(summary.left_at.astimezone(t.tz).date())
        lines.append(t("privacy_export_left", date=date, count=retention_days))
    blocks: list[Block] = [
        header(t("privacy_export_title")),
        section("\n".join(lines)),
        context(t("privacy_export_footer")),
    ]
    return Message(text=t("privacy_export_title"), blocks=blocks)


def my_data(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop mijn gegevens`: says the DM is coming; the export goes after the answer."""

    def send() -> None:
        with services.db.read() as session:
            exported = privacy.export(session, user_id=user_id, now=services.clock())
        services.notifier.send_dm(
            user_id,
            summary_message(t, exported.summary, retention_days=services.settings.retention_days),
        )
        content = json.dumps(exported.data, ensure_ascii=False, indent=2).encode("utf-8")
        services.notifier.upload(
            user_id, "cop-mijn-gegevens.json", content, t("privacy_export_comment")
        )

    return Reply(_text(t("privacy_export_coming")), after=send)


# -- forget me --------------------------------------------------------------------------


def forget_ask(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop vergeet mij`: a button with a confirmation dialog; the click does it."""
    confirm = button(t("privacy_forget_button"), FORGET_ACTION, "me", style="danger")
    confirm["confirm"] = {
        "title": {"type": "plain_text", "text": t("privacy_forget_confirm_title")},
        "text": {"type": "plain_text", "text": t("privacy_forget_confirm_text")},
        "confirm": {"type": "plain_text", "text": t("privacy_forget_confirm_yes")},
        "deny": {"type": "plain_text", "text": t("privacy_forget_confirm_no")},
        "style": "danger",
    }
    text = t("privacy_forget_ask")
    return Reply(Message(text=text, blocks=[section(text), actions(confirm)]))


def forget_user(services: Services, user_id: str, *, actor: str | None = None) -> privacy.Forgotten:
    """Forget `user_id` (committed); who needs to know hears it through the outbox, written
    in the same transaction: whoever moved up from a waitlist is welcomed, and the admins
    hear which facilitator roles ended."""

    def forget(session: Session) -> privacy.Forgotten:
        salt = audit.salt(session, services.settings.audit_salt)
        return privacy.forget(
            session, user_id=user_id, now=services.clock(), tz=services.settings.timezone,
            salt=salt, actor=actor, admins=services.settings.admins,
        )  # fmt: skip

    # It touches many tables, so it may meet another write in another order (a deadlock).
    forgotten = services.db.write_retrying(forget)
    services.languages.invalidate()
    services.profiles.invalidate()
    services.reads.invalidate()
    if forgotten.promotions or forgotten.facilitator_of:
        services.deliver_soon()  # the welcomes of who moved up, the admins' notices
    return forgotten


def deliver_forget_notice(services: Services, item: outbox.Item, notifier: Notifier) -> None:
    """FORGET_NOTICE (recipient: an admin): which facilitator roles ended when someone was
    forgotten (by community name, never who it was)."""
    found = item.payload.get("names")
    if not isinstance(found, list) or not found:
        return
    ta = services.translator(item.recipient)
    names = ta.and_list([escape(str(n)) for n in found])
    notifier.send_dm(item.recipient, _text(ta("privacy_forget_admin_dm", names=names)))


def forget_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    """`privacy_forget`: forgets whoever clicked (never anyone named in the value)."""
    ack()
    user_id = body["user"]["id"]

    def work(t: Translator) -> Message:
        # `t` was read before the language is forgotten with the rest.
        forgotten = forget_user(services, user_id)
        return _text(t("privacy_forgotten", count=forgotten.memberships))

    answer_after_ack(services, respond, user_id, "forget me", work, replace_original=True)


# -- the audit log ----------------------------------------------------------------------


def _who(t: Translator, who: str) -> str:
    if who.startswith(audit.HASH_PREFIX):
        return t("audit_forgotten_person", hash=escape(who))
    return mention(who) if re.match(r"^[UW][A-Z0-9]+$", who) else f"`{escape(who)}`"


def audit_message(t: Translator, page: audit.AuditPage) -> Message:
    if not page.entries:
        return _text(t("audit_empty"))
    title = t("audit_title_community", name=page.community) if page.community else t("audit_title")
    lines = []
    for e in page.entries:
        action = t(f"audit_action_{e.action}") if e.action in audit.ACTIONS else escape(e.action)
        lines.append(t(
            "audit_line", when=t.datetime(e.at), action=action, actor=_who(t, e.actor),
            subject=t("audit_subject", who=_who(t, e.subject)) if e.subject else "",
            community=t("audit_community", slug=escape(e.community)) if e.community else "",
            detail=f" · {escape(e.detail)}" if e.detail else "",
        ))  # fmt: skip
    blocks: list[Block] = [header(title)]
    blocks += [section("\n".join(lines[i : i + 5])) for i in range(0, len(lines), 5)]
    blocks.append(context(t("audit_page", page=page.page, pages=page.pages, count=page.total)))
    if page.page < page.pages:
        value = f"{page.community or ''}|{page.page + 1}"
        blocks.append(actions(button(t("audit_more"), AUDIT_PAGE_ACTION, value)))
    return Message(text=title, blocks=fit(blocks))


def _audit_page(services: Services, user_id: str, query: str, number: int) -> Message:
    with services.db.read() as session:
        found = audit.page(
            session, user_id=user_id, admins=services.settings.admins, query=query or None,
            number=number,
        )  # fmt: skip
    return audit_message(services.translator(user_id), found)


def audit_command(services: Services, t: Translator, user_id: str, rest: str) -> Reply:
    """`/cop audit [community] [page]`: admins only."""
    words = rest.split()
    number = 1
    if words and looks_like_number(words[-1]):
        number = parse_number(words[-1]) or 1
        words = words[:-1]
    return Reply(_audit_page(services, user_id, " ".join(words), number))


def audit_page_button(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services
) -> None:
    ack()
    user_id = body["user"]["id"]
    query, _, number = text_in.from_value(action.get("value")).partition("|")

    def work(t: Translator) -> Message:
        return _audit_page(services, user_id, query, parse_number(number) or 1)

    answer_after_ack(services, respond, user_id, "audit page", work)


# -- retention --------------------------------------------------------------------------


def retention_chore(services: Services) -> int:
    """A chore of the scheduler's owner: at most once a day, forget whoever left more
    than COP_RETENTION_DAYS ago. Returns how many people were forgotten."""
    now = services.clock()
    with services.db.write() as session:
        if not privacy.retention_due(session, now=now):
            return 0
        salt = audit.salt(session, services.settings.audit_salt)
        done = privacy.apply_retention(
            session, now=now, tz=services.settings.timezone,
            days=services.settings.retention_days, salt=salt, admins=services.settings.admins,
        )  # fmt: skip
    if done:
        services.languages.invalidate()
        log.info("retention: the data of %d people who left long ago was removed", len(done))
    return len(done)


# Its `/cop` subcommands (see handlers/registry.py); `/cop mijn gegevens` is `mine`'s.
COMMANDS: list[Entry] = [
    # Only reads: the button that follows does the forgetting.
    Command("forget", ("vergeet", "forget", "vergeten"), forget_ask, writes=False,
            help="privacy_help"),
    Command("audit", ("audit", "auditlog"), audit_command, writes=False),
]  # fmt: skip


def register(app: App, services: Services) -> None:
    app.action(FORGET_ACTION)(partial(forget_button, services=services))
    app.action(AUDIT_PAGE_ACTION)(partial(audit_page_button, services=services))
