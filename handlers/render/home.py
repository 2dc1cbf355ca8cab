"""The App Home tab as a Block Kit `home` view: a member's communities with their next
meeting and RSVP buttons that show the answer given, their questions, communities to
discover, and for facilitators and admins one community's management panel.

Bounded by construction (bot/services/home.py pages every list): with every part at its
largest the view is well under Slack's 100 blocks; `fit_view` still guards the limit.
Every action id the Home tab uses is in ACTIONS, so one test can walk them all.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Translator
from bot.services.home import (
    DISCOVER_PER_PAGE,
    MINE_PER_PAGE,
    PENDING_SHOWN,
    Attendance,
    HomePage,
    ManagedCommunity,
    MyCommunity,
)
from bot.services.views import CommunitySummary, MeetingView
from handlers.render import _seats, blocks, slack_date, when_range
from handlers.render.blocks import (
    Block,
    actions,
    button,
    clip,
    context,
    divider,
    escape,
    header,
    mention,
    plain,
    section,
)

MAX_VIEW_BLOCKS = 100
MAX_OPTION_TEXT = 75
# Names listed in one line before "en 12 anderen".
PEOPLE_SHOWN = 30
AGENDA_SHOWN = 300

# Every action on the Home tab (handlers/home.py listens to each).
RSVP_YES = "home_rsvp_yes"
RSVP_NO = "home_rsvp_no"
JOIN = "home_join"
LEAVE = "home_leave"
PAGE = "home_page"
LANGUAGE = "home_language"
FOCUS = "home_focus"
APPROVE = "home_approve"
DECLINE = "home_decline"
MOVE_UP = "home_move_up"
REMOVE = "home_remove"
CANCEL = "home_cancel"
STOP_FACILITATOR = "home_stop_facilitator"
APPOINT = "home_appoint"  # a facilitator, picked with a user menu
ADD_ADMIN = "home_add_admin"
REMOVE_ADMIN = "home_remove_admin"
AGENDA = "home_agenda"  # opens the agenda form of the next meeting
MINUTES = "home_minutes"  # opens the minutes form of the latest meeting
ANSWER = "home_answer"  # opens the answer form of a question
CALENDAR = "home_calendar"  # the .ics of my meetings, in my DM
MY_DATA = "home_my_data"  # everything kept about me, in my DM
SHOW = "home_show"  # a command's answer (topics, questions, ...) in my DM with the bot
# What SHOW may show: the /cop commands' names (handlers/registry.py), nothing else.
SHOWABLE = ("topics", "question_list", "meetings", "members", "lessons", "audit", "info")
FORGET = "home_forget"  # forget me (asks first)
PLAN = "home_plan"  # opens the meeting form
MOVE = "home_move"  # opens it filled in
MEMBER_ACTIONS = (
    RSVP_YES, RSVP_NO, JOIN, LEAVE, PAGE, LANGUAGE, CALENDAR, MY_DATA, FORGET, SHOW,
)  # fmt: skip
# Refused, with nothing changed, to anyone but the community's facilitators and the admins.
FACILITATOR_ACTIONS = (
    APPROVE,
    DECLINE,
    MOVE_UP,
    REMOVE,
    CANCEL,
    PLAN,
    MOVE,
    AGENDA,
    MINUTES,
    ANSWER,
)
CREATE_COMMUNITY = "home_create_community"  # opens the community form, empty
EDIT_COMMUNITY = "home_edit_community"  # ... filled in
ADMIN_ACTIONS = (
    STOP_FACILITATOR, APPOINT, ADD_ADMIN, REMOVE_ADMIN, CREATE_COMMUNITY, EDIT_COMMUNITY,
)  # fmt: skip
ACTIONS = (*MEMBER_ACTIONS, FOCUS, *FACILITATOR_ACTIONS, *ADMIN_ACTIONS)


def value(slug: str, item: str | int = "") -> str:
    """A button's or option's value: the community and what in it (a person, a meeting)."""
    return f"{slug}|{item}"


def confirm(t: Translator, title: str, text: str, yes: str) -> Block:
    """Block Kit's confirmation dialog, "Nee, laat maar" to go back."""
    return blocks.confirm(title, text, yes, t("home_no_keep"))


def _option(text: str, val: str) -> Block:
    return {"text": plain(clip(text, MAX_OPTION_TEXT)), "value": val}


def select(
    placeholder: str,
    action_id: str,
    options: Sequence[tuple[str, str]],
    *,
    initial: str | None = None,
    confirm_with: Block | None = None,
) -> Block | None:
    """A static_select of at most 100 (text, value) options; None when there are none."""
    if not options:
        return None
    element: Block = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(clip(placeholder, 150)),
        "options": [_option(text, val) for text, val in options[:100]],
    }
    chosen = [o for o in element["options"] if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    if confirm_with is not None:
        element["confirm"] = confirm_with
    return element


def users_menu(placeholder: str, action_id: str) -> Block:
    """Slack's own people picker (users_select)."""
    return {"type": "users_select", "action_id": action_id,
            "placeholder": plain(clip(placeholder, 150))}  # fmt: skip


def people(t: Translator, users: Sequence[str]) -> str:
    if not users:
        return t("home_nobody")
    shown = ", ".join(mention(u) for u in users[:PEOPLE_SHOWN])
    rest = len(users) - PEOPLE_SHOWN
    return t("home_and_more", people=shown, count=rest) if rest > 0 else shown


def _where(t: Translator, m: MeetingView) -> str:
    kind = t(f"kind_{m.kind}")
    return f"{kind} · {escape(m.location)}" if m.location else kind


def _pager(t: Translator, part: str, page: int, total: int, per_page: int) -> list[Block]:
    if total <= per_page:
        return []
    first, last = page * per_page + 1, min(total, (page + 1) * per_page)
    buttons = []
    if page > 0:
        buttons.append(button(t("home_previous"), f"{PAGE}-{part}-prev", f"{part}|{page - 1}"))
    if last < total:
        buttons.append(button(t("home_next_page"), f"{PAGE}-{part}-next", f"{part}|{page + 1}"))
    return [
        context(t("home_page", first=first, last=last, total=total)),
        actions(*buttons, block_id=f"page-{part}"),
    ]


def shows(t: Translator, slug: str, *, block_id: str = "") -> Block:
    """A community's lists (topics, questions, meetings, members), each sent to the DM."""
    return actions(
        *(button(t(f"home_show_{name}"), f"{SHOW}-{name}-{slug}", value(name, slug))
          for name in ("topics", "question_list", "meetings", "members")),
        block_id=block_id or f"show-{slug}",
    )  # fmt: skip


def _my_community(t: Translator, entry: MyCommunity) -> list[Block]:
    c = entry.summary
    status = t(f"home_status_{entry.status}", position=entry.position or 0)
    lines = [f"*{escape(c.name)}* ({status})"]
    upcoming = entry.next_meeting
    if entry.status == "member":
        if upcoming is None:
            lines.append(t("home_no_next"))
        else:
            m = upcoming.meeting
            lines.append(t("home_next", when=slack_date(t, m.starts_at), where=_where(t, m)))
            if upcoming.agenda:
                lines.append(t("home_agenda", agenda=escape(clip(upcoming.agenda, AGENDA_SHOWN))))
            lines.append(t(f"home_my_answer_{upcoming.my_answer or 'none'}"))
    leave_word = "home_leave" if entry.status == "member" else "home_withdraw"
    leave = button(t(leave_word), f"{LEAVE}-{c.slug}", value(c.slug))
    leave["confirm"] = confirm(
        t, t("home_leave_confirm_title"), t("home_leave_confirm", name=escape(c.name)),
        t("home_leave_confirm_yes"),
    )  # fmt: skip
    blocks = [section("\n".join(lines), accessory=leave)]
    if entry.status == "member":
        blocks.append(shows(t, c.slug))
    if entry.status == "member" and upcoming is not None:
        mid = upcoming.meeting.id
        answer = upcoming.my_answer
        yes = button(t("home_yes_chosen" if answer == "yes" else "home_yes"),
                     f"{RSVP_YES}-{mid}", value(c.slug, mid),
                     style="primary" if answer == "yes" else None)  # fmt: skip
        no = button(t("home_no_chosen" if answer == "no" else "home_no"),
                    f"{RSVP_NO}-{mid}", value(c.slug, mid),
                    style="danger" if answer == "no" else None)  # fmt: skip
        blocks.append(actions(yes, no, block_id=f"rsvp-{mid}"))
    return blocks


def _discover_line(t: Translator, c: CommunitySummary) -> Block:
    facts = [_seats(t, c)]
    if c.deadline is not None:
        key = "deadline_open" if c.registration_open else "deadline_closed"
        facts.append(t(key, date=t.date(c.deadline)))
    programme = f" — {escape(c.programme)}" if c.programme else ""
    text = f"*{escape(c.name)}*{programme}\n" + " · ".join(facts)
    if not c.registration_open:
        return section(text + f" · _{t('home_closed')}_")
    full = c.capacity is not None and c.member_count >= c.capacity
    word = "home_join_request" if c.approval else "home_join_waitlist" if full else "home_join"
    return section(text, accessory=button(t(word), f"{JOIN}-{c.slug}", c.slug, style="primary"))


def _attendance(t: Translator, slug: str, a: Attendance) -> list[Block]:
    m = a.meeting
    agenda = t("home_meeting_has_agenda" if a.has_agenda else "home_meeting_no_agenda")
    lines = [
        t("home_meeting_line", when=when_range(t, m), where=_where(t, m), agenda=agenda),
        t("home_coming", count=len(a.coming), people=people(t, a.coming)),
        t("home_not_coming", count=len(a.not_coming), people=people(t, a.not_coming)),
        t("home_unanswered", count=len(a.unanswered), people=people(t, a.unanswered)),
    ]
    cancel = button(t("home_cancel"), f"{CANCEL}-{m.id}", value(slug, m.id), style="danger")
    cancel["confirm"] = confirm(
        t, t("home_cancel_confirm_title"), t("home_cancel_confirm", when=when_range(t, m)),
        t("home_cancel_yes"),
    )  # fmt: skip
    move = button(t("home_move"), f"{MOVE}-{m.id}", value(slug, m.id))
    return [section("\n".join(lines)), actions(move, cancel, block_id=f"meeting-{m.id}")]


def _managed(t: Translator, page: HomePage, c: ManagedCommunity) -> list[Block]:
    s = c.summary
    slug = s.slug
    blocks: list[Block] = [header(t("home_manage", name=s.name))]
    blocks.append(
        section(t("home_manage_counts", seats=_seats(t, s),
                  questions=t("home_open_questions", count=c.open_questions)))
    )  # fmt: skip
    if c.pending:
        blocks.append(section(t("home_pending", count=len(c.pending))))
        for user in c.pending[:PENDING_SHOWN]:
            decline = button(t("home_decline"), f"{DECLINE}-{user}", value(slug, user))
            decline["confirm"] = confirm(
                t, t("home_decline_confirm_title"), t("home_decline_confirm"), t("home_decline")
            )
            blocks.append(section(t("home_pending_line", who=mention(user))))
            blocks.append(
                actions(
                    button(t("home_approve"), f"{APPROVE}-{user}", value(slug, user), "primary"),
                    decline,
                    block_id=f"pending-{user}",
                )
            )
    if c.waitlist:
        numbered = ", ".join(
            f"{i}. {mention(u)}" for i, u in enumerate(c.waitlist[:PEOPLE_SHOWN], 1)
        )
        blocks.append(section(t("home_waitlist", count=len(c.waitlist), people=numbered)))
        up = select(
            t("home_move_up"), MOVE_UP,
            [(f"{i}. {u}", value(slug, u)) for i, u in enumerate(c.waitlist, 1)][1:],
            confirm_with=confirm(t, t("home_move_up_confirm_title"), t("home_move_up_confirm"),
                                 t("home_move_up_confirm_title")),
        )  # fmt: skip
        if up is not None:
            blocks.append(actions(up, block_id="waitlist"))
    if c.members:
        blocks.append(section(t("home_members", count=len(c.members), people=people(t, c.members))))
        remove = select(
            t("home_remove"), REMOVE, [(u, value(slug, u)) for u in c.members],
            confirm_with=confirm(t, t("home_remove_confirm_title"), t("home_remove_confirm"),
                                 t("home_remove_yes")),
        )  # fmt: skip
        assert remove is not None
        blocks.append(actions(remove, block_id="members"))
    else:
        blocks.append(section(t("home_members_none")))
    if c.facilitators:
        blocks.append(section(t("home_facilitators", people=people(t, c.facilitators))))
    else:
        blocks.append(section(t("home_facilitators_none")))
    if page.is_admin:
        blocks.append(
            actions(
                users_menu(t("home_appoint"), APPOINT),
                button(t("home_edit_community"), EDIT_COMMUNITY, value(slug)),
                block_id=f"appoint-{slug}",
            )
        )
    if page.is_admin and c.facilitators:
        stop = select(
            t("home_stop_facilitator"), STOP_FACILITATOR,
            [(u, value(slug, u)) for u in c.facilitators],
            confirm_with=confirm(t, t("home_stop_facilitator_confirm_title"),
                                 t("home_stop_facilitator_confirm"), t("home_remove_yes")),
        )  # fmt: skip
        assert stop is not None
        blocks.append(actions(stop, block_id="facilitators"))
    if c.meetings:
        blocks.append(section(t("home_meetings", shown=len(c.meetings), total=c.meetings_total)))
        for a in c.meetings:
            blocks.extend(_attendance(t, slug, a))
    else:
        blocks.append(section(t("home_meetings_none")))
    if c.questions:
        lines = [f"*#{number}* {escape(clip(text, 150))}" for _, number, text in c.questions]
        blocks.append(section(t("home_questions_to_handle", count=c.open_questions) + "\n"
                              + "\n".join(lines)))  # fmt: skip
        blocks.append(
            actions(*(button(t("home_answer", number=number), f"{ANSWER}-{qid}", value(slug, qid))
                      for qid, number, _ in c.questions), block_id="questions")
        )  # fmt: skip
    blocks.append(shows(t, slug, block_id=f"manage-show-{slug}"))
    blocks.append(
        actions(
            button(t("home_plan"), f"{PLAN}-{slug}", value(slug), style="primary"),
            button(t("home_agenda_button"), f"{AGENDA}-{slug}", value(slug)),
            button(t("home_minutes_button"), f"{MINUTES}-{slug}", value(slug)),
            block_id="plan",
        )
    )
    return blocks


def home_view(t: Translator, page: HomePage, *, notice: str | None = None) -> dict[str, object]:
    """The whole Home tab of `page`'s viewer, with `notice` (what their last click did)
    on top."""
    blocks: list[Block] = [header(t("home_title"))]
    if notice:
        blocks.append(section(notice))
    switch = "en" if t.language == "nl" else "nl"
    calendar = button(t("home_calendar"), CALENDAR, "")
    blocks.append(
        section(t("home_intro") + "\n" + t("home_language"),
                accessory=button(t("home_language_switch"), LANGUAGE, switch))
    )  # fmt: skip
    blocks += [divider(), header(t("home_mine"))]
    if page.mine:
        for entry in page.mine:
            blocks.extend(_my_community(t, entry))
        blocks.extend(_pager(t, "mine", page.state.mine_page, page.mine_total, MINE_PER_PAGE))
        blocks.append(actions(calendar, block_id="calendar"))
    else:
        blocks.append(section(t("home_mine_none")))
    if page.questions:
        lines = [
            t("home_question_line", id=q.number, name=escape(q.community_name),
              status=t(f"questions_status_{q.status}") if q.asked else t("home_question_followed"),
              text=escape(clip(q.text, 200)))
            for q in page.questions
        ]  # fmt: skip
        blocks += [header(t("home_questions")), section("\n".join(lines))]
    forget = button(t("privacy_forget_button"), FORGET, "me", style="danger")
    forget["confirm"] = confirm(
        t, t("privacy_forget_confirm_title"), t("privacy_forget_confirm_text"),
        t("privacy_forget_confirm_yes"),
    )  # fmt: skip
    blocks.append(
        actions(
            button(t("home_show_lessons"), f"{SHOW}-lessons", value("lessons")),
            button(t("home_my_data"), MY_DATA, "me"),
            forget,
            block_id="privacy",
        )
    )
    blocks += [divider(), header(t("home_discover"))]
    if page.discover:
        blocks.extend(_discover_line(t, c) for c in page.discover)
        # The start text of each (`/cop info`), to read before joining: in the DM.
        infos = [
            button(t("home_info", name=c.name), f"{SHOW}-info-{c.slug}", value("info", c.slug))
            for c in page.discover
        ]
        blocks.append(actions(*infos, block_id="discover-info"))
        blocks.extend(
            _pager(t, "discover", page.state.discover_page, page.discover_total, DISCOVER_PER_PAGE)
        )
    else:
        blocks.append(section(t("home_discover_none")))
    if page.manageable:
        blocks.append(divider())
        if len(page.manageable) > 1 or page.is_admin:
            pick = select(
                t("home_manage_pick"), FOCUS, [(name, slug) for slug, name in page.manageable],
                initial=page.state.focus,
            )  # fmt: skip
            assert pick is not None
            blocks.append(actions(pick, block_id="focus"))
            if page.manageable_total > len(page.manageable):
                blocks.append(context(t("home_manage_more", shown=len(page.manageable),
                                        total=page.manageable_total)))  # fmt: skip
        if page.managed is not None:
            blocks.extend(_managed(t, page, page.managed))
    if page.is_admin:
        blocks += [divider(), header(t("home_admin")), section(t("home_admin_text"))]
        listed = ", ".join(
            mention(u) + ("" if in_slack else f" ({t('home_admin_configured')})")
            for u, in_slack in page.admins
        )
        blocks.append(section(t("home_admins", people=listed or t("home_nobody"))))
        elements = [
            button(t("home_create_community"), CREATE_COMMUNITY, "", style="primary"),
            button(t("home_show_audit"), f"{SHOW}-audit", value("audit")),
            users_menu(t("home_add_admin"), ADD_ADMIN),
        ]
        dismiss = select(
            t("home_remove_admin"), REMOVE_ADMIN,
            [(u, u) for u, in_slack in page.admins if in_slack],
            confirm_with=confirm(t, t("home_remove_admin_confirm_title"),
                                 t("home_remove_admin_confirm"), t("home_remove_yes")),
        )  # fmt: skip
        if dismiss is not None:
            elements.append(dismiss)
        blocks.append(actions(*elements, block_id="admins"))
    return {
        "type": "home",
        "blocks": fit_view(blocks),
        "private_metadata": page.state.encode(),
    }


def fit_view(blocks: list[Block]) -> list[Block]:
    """Never more than Slack's 100 blocks (the pages keep it well below: a guard)."""
    return blocks[:MAX_VIEW_BLOCKS]
