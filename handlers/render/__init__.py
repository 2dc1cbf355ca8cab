"""The render package: service results as Slack messages (text and Block Kit), in the
reader's language, the same on every surface. The Block Kit builders are in `blocks`."""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from bot.i18n import Translator
from bot.notifier import Message
from bot.services.meetings import MeetingLine, RsvpResult
from bot.services.reminders import ReminderMessage
from bot.services.views import (
    CommunityDetail,
    CommunitySummary,
    Decision,
    JoinResult,
    LeaveResult,
    MeetingView,
    MemberList,
    MinutesLink,
    MyEntry,
)
from handlers.render.blocks import (
    MAX_BLOCKS_MESSAGE,
    Block,
    actions,
    button,
    clip,
    confirm,
    context,
    divider,
    escape,
    fit,
    header,
    mention,
    section,
    sections,
)

MAX_MEETINGS_SHOWN = 10
# Buttons that open the meeting form (handlers/meeting_form.py listens to them).
PLAN_ACTION = "meeting_form_plan"
MOVE_ACTION = "meeting_form_move"
MAX_MENTIONS_PER_SECTION = 80


def text_message(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


# Parts (bot.services.visibility.Part) with a members-only message of their own.
_MEMBERS_ONLY_PARTS = frozenset({"members", "minutes", "rsvps", "meetings"})


def members_only(t: Translator, name: str, slug: str, part: str = "") -> str:
    """What a non-member reads instead of a members-only part, with the join command."""
    key = f"members_only_{part}" if part in _MEMBERS_ONLY_PARTS else "members_only"
    return t(key, name=escape(name), slug=escape(slug))


def _seats(t: Translator, c: CommunitySummary) -> str:
    if c.capacity is None:
        return t("seats_unlimited", count=c.member_count)
    if c.member_count >= c.capacity:
        return t(
            "seats_full", members=c.member_count, capacity=c.capacity, waitlist=c.waitlist_count
        )
    return t("seats_limited", members=c.member_count, capacity=c.capacity, free=c.free_seats)


def _deadline(t: Translator, c: CommunitySummary) -> str | None:
    if c.deadline is None:
        return None
    key = "deadline_open" if c.registration_open else "deadline_closed"
    return t(key, date=t.date(c.deadline))


def _facts(t: Translator, c: CommunitySummary) -> list[str]:
    """Seats, deadline and approval: what a reader weighs before joining."""
    facts = [_seats(t, c)]
    deadline = _deadline(t, c)
    if deadline:
        facts.append(deadline)
    if c.approval:
        facts.append(t("approval_needed"))
    return facts


def when_range(t: Translator, m: MeetingView) -> str:
    """ "dinsdag 30 maart 2027 van 14:00 tot 16:00": the start, and the end when known."""
    if m.ends_at is None:
        return t.datetime(m.starts_at)
    start = m.starts_at.astimezone(t.tz)
    return t(
        "date_time_range", date=t.date(start.date()), start=f"{start:%H:%M}",
        end=f"{m.ends_at.astimezone(t.tz):%H:%M}",
    )  # fmt: skip


def plan_button(t: Translator, slug: str, name: str | None = None) -> Block:
    """Opens the meeting form to plan a meeting; `name` when several communities show one."""
    label = (
        t("meeting_form_button_plan_for", name=escape(name))
        if name
        else t("meeting_form_button_plan")
    )
    return button(label, PLAN_ACTION if name is None else f"{PLAN_ACTION}-{slug}", slug)


def move_button(t: Translator, slug: str, meeting_id: int) -> Block:
    """Opens the meeting form, filled in, to move the meeting."""
    return button(t("meeting_form_button_move"), f"{MOVE_ACTION}-{meeting_id}",
                  f"{slug}|{meeting_id}")  # fmt: skip


def meeting_line(t: Translator, m: MeetingView) -> str:
    when = when_range(t, m)
    where = f" · {escape(m.location)}" if m.location else ""
    line = t("meeting_line", when=when, kind=t(f"kind_{m.kind}"), where=where)
    if m.title:
        line = f"*{escape(m.title)}*: {line}"
    return line


def _meeting_lines(t: Translator, meetings: tuple[MeetingView, ...]) -> str:
    return "\n".join(f"• {meeting_line(t, m)}" for m in meetings[:MAX_MEETINGS_SHOWN])


# How the reader is in a community: (status, waitlist place) by slug (membership.my_statuses).
Statuses = Mapping[str, tuple[str, int | None]]


def your_status(t: Translator, status: tuple[str, int | None] | None) -> str | None:
    """ "Je bent lid", "Je staat op de wachtlijst, plek 2", "Je aanmelding wacht op
    goedkeuring": shown instead of the **Aanmelden** button; None when not in it."""
    if status is None:
        return None
    state, position = status
    if state == "waitlist":
        return t("you_waitlist", position=position)
    return t("you_pending") if state == "pending" else t("you_member")


def community_list(
    t: Translator, communities: list[CommunitySummary], statuses: Statuses | None = None
) -> Message:
    """`/cop lijst`; `statuses`: the reader's own, so that a community they are in (or
    wait for) says so instead of offering **Aanmelden**."""
    statuses = statuses or {}
    if not communities:
        return text_message(t("list_empty"))
    groups: OrderedDict[str, list[CommunitySummary]] = OrderedDict()
    for c in communities:
        groups.setdefault(c.programme or t("programme_other"), []).append(c)
    blocks: list[Block] = [header(t("list_title"))]
    lines = [t("list_title")]
    for programme, members in groups.items():
        blocks.append(context(f"*{escape(programme)}*"))
        for c in members:
            facts = _facts(t, c)
            nxt = (
                t("next_meeting", when=t.short_datetime(c.next_meeting.starts_at))
                if c.next_meeting
                else t("no_meetings")
            )
            body = f"*{escape(c.name)}* (`{escape(c.slug)}`)\n{' · '.join(facts)}\n{nxt}"
            yours = your_status(t, statuses.get(c.slug))
            if yours:
                body += f"\n{yours}"
            join = button(t("button_join"), "join_community", c.slug, style="primary")
            offer = c.registration_open and yours is None
            blocks.append(section(body, accessory=join if offer else None))
            lines.append(f"- {escape(c.name)} ({escape(c.slug)}): {', '.join(facts)}; {nxt}")
    shown = blocks
    if len(blocks) > MAX_BLOCKS_MESSAGE:
        shown = blocks[: MAX_BLOCKS_MESSAGE - 1]
        if shown[-1]["type"] == "context":  # a programme heading without its communities
            shown.pop()
        # Count communities, not blocks: programme headings are blocks too.
        hidden = len(communities) - sum(1 for b in shown if b["type"] == "section")
        shown.append(context(t("list_more", count=hidden)))
    return Message(text=clip("\n".join(lines), 3000), blocks=shown)


def community_info(
    t: Translator,
    d: CommunityDetail,
    *,
    manage: bool = False,
    status: tuple[str, int | None] | None = None,
) -> Message:
    """`/cop info`; `manage`: the reader may plan meetings, so gets the button for it;
    `status`: how the reader is in it, said instead of offering **Aanmelden**."""
    c = d.summary
    blocks: list[Block] = [header(c.name)]
    if c.programme:
        blocks.append(context(escape(c.programme)))
    blocks.extend(sections(escape(d.description)) if d.description else [])
    facts = _facts(t, c)
    blocks.append(divider())
    people = t.and_list([mention(u) for u in d.facilitators])
    who = t("info_facilitators", people=people) if d.facilitators else t("info_no_facilitators")
    detail_lines = [who, " · ".join(facts)]
    if c.channel_id:
        detail_lines.append(t("info_channel", channel=c.channel_id))
    blocks.append(section("\n".join(detail_lines)))
    meetings = _meeting_lines(t, d.meetings) if d.meetings else t("no_meetings")
    blocks.append(section(f"{t('info_meetings')}\n{meetings}"))
    if d.latest_minutes is not None:
        blocks.append(section(minutes_link(t, d.latest_minutes, c.slug)))
    yours = your_status(t, status)
    if yours:
        blocks.append(context(yours))
    buttons: list[Block] = []
    if c.registration_open and yours is None:
        buttons.append(button(t("button_join"), "join_community", c.slug, style="primary"))
    if manage:
        buttons.append(plan_button(t, c.slug))
    if buttons:
        blocks.append(actions(*buttons))
    return Message(text=f"{escape(c.name)}: {' · '.join(facts)}", blocks=fit(blocks))


def minutes_link(t: Translator, m: MinutesLink, slug: str) -> str:
    """The latest minutes: a link to the channel post, else the command that shows them."""
    date = t.date(m.starts_at.astimezone(t.tz).date())
    if m.permalink:
        return t("info_minutes_link", url=m.permalink, date=date)
    return t("info_minutes_command", date=date, slug=escape(slug))


def join_reply(t: Translator, r: JoinResult) -> Message:
    c = r.community
    name = escape(c.name)
    if r.outcome == "member":
        return text_message(t("joined", name=name))
    if r.outcome == "waitlist":
        return text_message(t("joined_waitlist", name=name, count=c.capacity, position=r.position))
    key = "joined_pending" if r.approvers else "joined_pending_nobody"
    return text_message(t(key, name=name))


def welcome(t: Translator, d: CommunityDetail, *, invited_channel: bool) -> Message:
    c = d.summary
    title = t("welcome", name=escape(c.name))
    blocks: list[Block] = [section(title)]
    blocks.extend(sections(escape(d.description)) if d.description else [])
    if d.meetings:
        blocks.append(section(f"{t('welcome_meetings')}\n{_meeting_lines(t, d.meetings)}"))
    if invited_channel and c.channel_id:
        blocks.append(section(t("welcome_channel", channel=c.channel_id)))
    if d.facilitators:
        people = t.and_list([mention(u) for u in d.facilitators])
        blocks.append(context(t("info_facilitators", people=people)))
    blocks.append(context(t("welcome_footer", slug=escape(c.slug))))
    return Message(text=title, blocks=fit(blocks))


def leave_reply(t: Translator, r: LeaveResult) -> Message:
    key = {"member": "left", "waitlist": "left_waitlist", "pending": "left_pending"}[r.previous]
    return text_message(t(key, name=escape(r.community.name)))


def welcome_with_intro(t: Translator, d: CommunityDetail, intro: str) -> Message:
    message = welcome(t, d, invited_channel=bool(d.summary.channel_id))
    return Message(text=intro, blocks=[section(intro), *message.blocks[1:]])


def _mention_sections(users: tuple[str, ...]) -> list[Block]:
    out: list[Block] = []
    for start in range(0, len(users), MAX_MENTIONS_PER_SECTION):
        chunk = users[start : start + MAX_MENTIONS_PER_SECTION]
        out.append(section(", ".join(mention(u) for u in chunk)))
    return out


def member_list(t: Translator, m: MemberList) -> Message:
    c = m.community
    title = t("members_title", name=c.name, count=len(m.members))
    blocks: list[Block] = [header(title), context(_seats(t, c))]
    blocks.extend(_mention_sections(m.members) or [section(t("members_none"))])
    if m.waitlist:
        blocks.append(section(t("waitlist_title", count=len(m.waitlist))))
        numbered = "\n".join(f"{i}. {mention(u)}" for i, u in enumerate(m.waitlist, start=1))
        blocks.extend(sections(numbered))
    if m.pending:
        blocks.append(section(t("pending_title", count=len(m.pending))))
        blocks.extend(_mention_sections(m.pending))
    return Message(text=escape(title), blocks=fit(blocks, context(t("list_cut"))))


def mine(t: Translator, entries: list[MyEntry]) -> Message:
    if not entries:
        return text_message(t("mine_none"))
    lines = []
    for e in entries:
        name = escape(e.community.name)
        if e.status == "member":
            nxt = (
                t("next_meeting", when=t.datetime(e.community.next_meeting.starts_at))
                if e.community.next_meeting
                else t("no_meetings")
            )
            lines.append(t("mine_member", name=name, next=nxt))
        elif e.status == "waitlist":
            lines.append(t("mine_waitlist", name=name, position=e.position))
        else:
            lines.append(t("mine_pending", name=name))
    blocks = [header(t("mine_title")), *sections("\n".join(f"• {line}" for line in lines))]
    return Message(text=t("mine_title"), blocks=fit(blocks))


def approval_request(t: Translator, r: JoinResult) -> Message:
    c = r.community
    text = t("approval_request", user=r.user_id, name=escape(c.name))
    value = f"{c.slug}|{r.user_id}"
    return Message(
        text=text,
        blocks=[
            section(text),
            context(t("approval_request_detail", seats=_seats(t, c))),
            actions(
                button(t("button_approve"), "approve_join", value, style="primary"),
                {
                    **button(t("button_decline"), "decline_join", value, style="danger"),
                    "confirm": confirm(
                        t("home_decline_confirm_title"),
                        t("home_decline_confirm"),
                        t("home_decline"),
                        t("home_no_keep"),
                    ),
                },
                block_id="approval",
            ),
        ],
    )


def decision_summary(t: Translator, d: Decision) -> Message:
    name = escape(d.community.summary.name)
    key = f"approval_done_{d.outcome}"
    return text_message(t(key, by=d.decided_by, user=d.user_id, name=name, position=d.position))


def decision_outcome(t: Translator, d: Decision) -> Message:
    """What a declined or wait-listed requester reads (an approved one gets the welcome)."""
    name = escape(d.community.summary.name)
    return text_message(t(f"outcome_{d.outcome}", name=name, position=d.position))


def appointed(t: Translator, c: CommunitySummary, by: str) -> Message:
    """What a new facilitator reads: who appointed them, and what they may do now."""
    return text_message(
        t("facilitator_appointed_dm", name=escape(c.name), slug=escape(c.slug), by=escape(by))
    )


def help_message(
    t: Translator,
    *,
    lines: Sequence[str],
    facilitator_lines: Sequence[str],
    admin_lines: Sequence[str] = (),
) -> Message:
    """`/cop hulp`, from message keys of lines: for everyone, facilitators and admins
    (see handlers/registry.py, which knows whose lines they are)."""
    blocks: list[Block] = [
        header(t("help_title")),
        section(t("help_intro")),
        section("\n".join(t(key) for key in lines)),
    ]
    for keys in (facilitator_lines, admin_lines):
        if keys:
            blocks.append(section("\n".join(t(key) for key in keys)))
    blocks.append(context(t("help_footer")))
    return Message(text=t("help_title"), blocks=blocks)


def slack_date(t: Translator, moment: dt.datetime) -> str:
    """Slack's date token: each reader sees their own local time; the Dutch (or English)
    text is the fallback where the token cannot be shown."""
    fallback = t.datetime(moment)
    return f"<!date^{int(moment.timestamp())}^{{date_long_pretty}} {{time}}|{fallback}>"


def _kind_where(t: Translator, m: MeetingView) -> tuple[str, str]:
    return t(f"kind_{m.kind}"), (f" · {escape(m.location)}" if m.location else "")


def lead_time(t: Translator, starts_at: dt.datetime, now: dt.datetime) -> str:
    """How long until the meeting, from `now` (when the reminder is sent): "over 2 dagen"
    and "morgen" by the days of the reader's calendar (Amsterdam), within the day "over 2
    uur" or "over 20 minuten"."""
    days = (starts_at.astimezone(t.tz).date() - now.astimezone(t.tz).date()).days
    if days > 1:
        return t("reminder_in_days", count=days)
    if days == 1:
        return t("reminder_tomorrow")
    seconds = max((starts_at - now).total_seconds(), 0)
    hours = round(seconds / 3600)
    if hours >= 1:
        return t("reminder_in_hours", count=hours)
    return t("reminder_in_minutes", count=max(math.ceil(seconds / 60), 1))


def reminder(t: Translator, c: ReminderMessage, *, now: dt.datetime) -> Message:
    """The reminder before a meeting, with "Ik kom" / "Ik kom niet" buttons; the lead time
    is the time left from `now`, when it goes out (not the offset it was planned for)."""
    m = c.meeting
    name = escape(c.community_name)
    soon = lead_time(t, m.starts_at, now)
    kind, where = _kind_where(t, m)
    title = escape(m.title) if m.title else name
    lines = [
        t("reminder_when", title=title, when=soon) + f": {slack_date(t, m.starts_at)}",
        f"{kind}{where}",
    ]
    blocks: list[Block] = [
        header(t("reminder_title", name=c.community_name)),
        section("\n".join(lines)),
    ]
    if c.agenda:
        blocks.extend(sections(t("reminder_agenda", agenda=escape(c.agenda))))
        if c.agenda_speakers:
            speakers = t("agenda_reminder_speakers", speakers=escape(c.agenda_speakers))
            blocks.append(section(speakers))
    # Someone who answered already sees their answer, and may change it.
    asked = f"reminder_answered_{c.my_answer}" if c.my_answer else "reminder_question"
    blocks.append(context(t(asked)))
    blocks.append(rsvp_actions(t, m.id, c.my_answer))
    text = f"{t('reminder_title', name=name)}: {t.datetime(m.starts_at)}"
    return Message(text=text, blocks=fit(blocks))


def rsvp_actions(
    t: Translator, meeting_id: int, answer: str | None, *extra: Block, block_id: str = ""
) -> Block:
    """ "Ik kom" / "Ik kom niet", the one chosen marked (✓), as every RSVP is drawn."""
    yes = button(t("button_yes_chosen" if answer == "yes" else "button_yes"),
                 f"rsvp_yes-{meeting_id}", str(meeting_id), style="primary")  # fmt: skip
    no = button(t("button_no_chosen" if answer == "no" else "button_no"),
                f"rsvp_no-{meeting_id}", str(meeting_id),
                style="danger" if answer == "no" else None)  # fmt: skip
    return actions(yes, no, *extra, block_id=block_id or f"rsvp-{meeting_id}")


def rsvp_redrawn(t: Translator, blocks: list[Block], r: RsvpResult) -> Message | None:
    """The message an RSVP was clicked in (a reminder in the DM), drawn again in place:
    its buttons show the answer, and one line says it with the counts. None when the
    message has no RSVP block for the meeting (nothing to redraw)."""
    mid = r.meeting.id
    state = context(
        t(f"rsvp_state_{r.answer}",
          counts=t("meetings_counts", count=r.coming, not_coming=r.not_coming))
    )  # fmt: skip
    state["block_id"] = f"rsvp-state-{mid}"
    redrawn: list[Block] = []
    found = False
    for block in blocks:
        if block.get("block_id") == f"rsvp-state-{mid}":
            continue
        if block.get("type") == "actions" and block.get("block_id") == f"rsvp-{mid}":
            rest = [
                e
                for e in block.get("elements", [])
                if not str(e.get("action_id", "")).startswith(("rsvp_yes", "rsvp_no"))
            ]
            redrawn.append(state)
            redrawn.append(rsvp_actions(t, mid, r.answer, *rest))
            found = True
            continue
        redrawn.append(block)
    if not found:
        return None
    text = t(f"rsvp_state_{r.answer}",
             counts=t("meetings_counts", count=r.coming, not_coming=r.not_coming))  # fmt: skip
    return Message(text=text, blocks=fit(redrawn))


def rsvp_reply(t: Translator, r: RsvpResult) -> Message:
    key = "rsvp_yes" if r.answer == "yes" else "rsvp_no"
    return text_message(
        t(key, name=escape(r.community_name), when=t.datetime(r.meeting.starts_at),
          counts=t("meetings_counts", count=r.coming, not_coming=r.not_coming))
    )  # fmt: skip


def meeting_list(
    t: Translator,
    lines: list[MeetingLine],
    *,
    mine: bool,
    manage: frozenset[str] = frozenset(),
    plan: tuple[tuple[str, str], ...] = (),
    scope: str = "",
) -> Message:
    """`/cop bijeenkomsten [scope]`. The reader may move the meetings of the communities
    in `manage`, and plan meetings for the (slug, name) pairs in `plan`."""
    # One actions block holds at most 25 elements.
    plan_block = (
        [actions(*(plan_button(t, slug, name if len(plan) > 1 else None)
                   for slug, name in plan[:25]), block_id="meeting_form_plan")]
        if plan
        else []
    )  # fmt: skip
    if not lines:
        empty = text_message(t("meetings_none_mine" if mine else "meetings_none"))
        return Message(text=empty.text, blocks=[*empty.blocks, *plan_block])
    blocks: list[Block] = [header(t("meetings_title")), *plan_block]
    outside = {(ln.community_slug, ln.community_name) for ln in lines if not ln.members_view}
    for slug, name in sorted(outside):
        # Who comes is for members (bot.services.visibility): say how to become one.
        blocks.append(context(members_only(t, name, slug, "meetings")))
    for line in lines:
        m = line.meeting
        kind, where = _kind_where(t, m)
        my = {"yes": t("meetings_mine_yes"), "no": t("meetings_mine_no")}.get(
            line.my_answer or "", ""
        )
        counts = (
            t("meetings_counts", count=line.coming, not_coming=line.not_coming)
            if line.members_view
            else ""
        )
        text = t(
            "meetings_line", number=line.number, ref=m.id, name=escape(line.community_name),
            when=t.datetime(m.starts_at), kind=kind, where=where, counts=counts, mine=my,
        ).rstrip("\n")  # fmt: skip
        if m.title:
            text = f"{text}\n_{escape(m.title)}_"
        blocks.append(section(text))
        if not line.members_view:
            continue
        move = [move_button(t, line.community_slug, m.id)] if line.community_slug in manage else []
        # The block id carries what the list shows (`scope`), so a click redraws it.
        blocks.append(rsvp_actions(t, m.id, line.my_answer, *move,
                                   block_id=f"rsvp-{m.id}-{scope}"))  # fmt: skip
    return Message(text=t("meetings_title"), blocks=fit(blocks, context(t("list_cut"))))
