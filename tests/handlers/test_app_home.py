"""The App Home tab, through signed `app_home_opened` events and clicks on the tab as
Slack sends them: what a member, a facilitator and an admin see and do there, and that
every management action is refused, with nothing changed, to whoever may not do it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import membership, outbox
from handlers.render import home as view
from storage.models import Community, Facilitator, Meeting, Membership, OutboxItem, Question, Rsvp
from tests.conftest import AMS
from tests.factories import add_community, meeting
from tests.handlers.state import changed_tables, database_state
from tests.handlers.support import (
    MARCH_30,
    CheckedSlack,
    buttons,
    dms_to,
    drain_outbox,
    ethiek_with_a_meeting,
    settle_outbox,
    texts,
)

t = Translator("nl", AMS)


@pytest.fixture(autouse=True)
def ethiek(services: Services) -> None:
    """Ethiek (facilitator UFAC, members U1 and U2) with one meeting on 30 March 2027."""
    ethiek_with_a_meeting(services)


def opened(slack: CheckedSlack, services: Services, user: str) -> dict[str, Any]:
    response = slack.open_home(user)
    assert response.status == 200
    assert services.wait_idle(5)
    return slack.home(user)


def click(slack: CheckedSlack, services: Services, user: str, action_id: str,
          value: str = "", on: dict[str, Any] | None = None,
          select: bool | None = None) -> dict[str, Any]:  # fmt: skip
    response = slack.click_home(user, action_id, value, on=on, select=select)
    assert response.status == 200
    assert services.wait_idle(5)
    return slack.home(user)


def actions_of(home: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every interactive element of the tab by action_id (buttons, accessories, menus)."""
    found: dict[str, dict[str, Any]] = {}
    for block in home["blocks"]:
        elements = list(block.get("elements") or [])
        if "accessory" in block:
            elements.append(block["accessory"])
        for element in elements:
            if "action_id" in element:
                found[element["action_id"]] = element
    return found


def meeting_id(services: Services) -> int:
    with services.db.read() as session:
        return session.scalars(select(Meeting.id)).one()


def status_of(services: Services, user: str) -> str | None:
    with services.db.read() as session:
        return session.scalar(select(Membership.status).where(Membership.user_id == user))


# -- a member -----------------------------------------------------------------------------


def test_a_member_sees_their_community_its_next_meeting_and_can_say_they_come(
    slack: CheckedSlack, services: Services
) -> None:
    home = opened(slack, services, "U1")
    shown = texts(home)
    assert "Ethiek" in shown and "Volgende bijeenkomst" in shown
    assert t("home_my_answer_none") in shown
    mid = meeting_id(services)
    assert f"{view.RSVP_YES}-{mid}" in actions_of(home)

    home = click(slack, services, "U1", f"{view.RSVP_YES}-{mid}", f"ethiek|{mid}")

    with services.db.read() as session:
        answer = session.scalar(select(Rsvp.answer).where(Rsvp.user_id == "U1"))
    assert answer == "yes"
    # Drawn again in place: the button shows the answer, the line on top says what happened.
    yes = actions_of(home)[f"{view.RSVP_YES}-{mid}"]
    assert yes["text"]["text"] == t("home_yes_chosen") and yes["style"] == "primary"
    assert "Genoteerd: je komt" in texts(home)
    assert t("home_my_answer_yes") in texts(home)


def test_someone_new_discovers_a_community_and_joins_it_from_the_tab(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    home = opened(slack, services, "U9")
    assert t("home_mine_none") in texts(home)
    join = actions_of(home)[f"{view.JOIN}-ethiek"]
    assert join["text"]["text"] == t("home_join")

    home = click(slack, services, "U9", f"{view.JOIN}-ethiek", "ethiek")

    assert status_of(services, "U9") == "member"
    assert "Ethiek (lid)" in texts(home).replace("*", "")
    # No join button for a community you are in (issue 12: /cop info offered it to members).
    assert f"{view.JOIN}-ethiek" not in actions_of(home)
    drain_outbox(services)
    assert dms_to(standin, "U9"), "the welcome DM goes out through the outbox"


def test_leaving_asks_for_confirmation_and_then_the_seat_is_free(
    slack: CheckedSlack, services: Services
) -> None:
    home = opened(slack, services, "U1")
    leave = actions_of(home)[f"{view.LEAVE}-ethiek"]
    assert leave["confirm"]["style"] == "danger"
    assert "Ethiek" in leave["confirm"]["text"]["text"]

    home = click(slack, services, "U1", f"{view.LEAVE}-ethiek", "ethiek|")

    assert status_of(services, "U1") is None
    assert "Je bent afgemeld bij *Ethiek*" in texts(home)


def test_the_language_button_switches_the_whole_tab(
    slack: CheckedSlack, services: Services
) -> None:
    opened(slack, services, "U1")
    home = click(slack, services, "U1", view.LANGUAGE, "en")
    assert "My communities" in texts(home)
    assert services.translator("U1").language == "en"
    home = click(slack, services, "U1", view.LANGUAGE, "nl")
    assert "Mijn communities" in texts(home)


def test_pages_of_communities_to_discover(slack: CheckedSlack, services: Services) -> None:
    for i in range(12):
        add_community(services.db, f"cop-{i:02d}", name=f"CoP {i:02d}")
    home = opened(slack, services, "U9")
    assert "1–5 van 13" in texts(home)
    home = click(slack, services, "U9", f"{view.PAGE}-discover-next", "discover|1")
    assert "6–10 van 13" in texts(home)
    assert home["private_metadata"] == "0|1|"
    # A later click keeps the page the tab is on.
    home = click(slack, services, "U9", f"{view.JOIN}-cop-05", "cop-05")
    assert "6–10 van 12" in texts(home) or "6–10" in texts(home)


# -- a facilitator ------------------------------------------------------------------------


def test_a_facilitator_sees_members_and_who_comes_by_name(
    slack: CheckedSlack, services: Services
) -> None:
    mid = meeting_id(services)
    with services.db.write() as session:
        session.add(Rsvp(meeting_id=mid, user_id="U1", answer="yes"))
    home = opened(slack, services, "UFAC")
    shown = texts(home)
    assert t("home_manage", name="Ethiek") in shown
    assert "komen (1): <@U1>" in shown
    assert "nog geen antwoord (1): <@U2>" in shown
    assert "*Leden (2):* <@U1>, <@U2>" in shown
    assert f"{view.CANCEL}-{mid}" in actions_of(home)
    assert f"{view.PLAN}-ethiek" in actions_of(home)


def test_a_facilitator_approves_and_declines_requests_from_the_tab(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    add_community(services.db, "voorspellen", name="Voorspellen", approval=True,
                  facilitators=("UFAC",))  # fmt: skip
    with services.db.write() as session:
        for user in ("U5", "U6"):
            membership.join(session, query="voorspellen", user_id=user, now=services.clock(),
                            tz=AMS)  # fmt: skip
    settle_outbox(services)
    home = opened(slack, services, "UFAC")
    click(slack, services, "UFAC", view.FOCUS, "voorspellen")
    home = slack.home("UFAC")
    assert "<@U5> wil lid worden" in texts(home)
    assert actions_of(home)[f"{view.DECLINE}-U6"]["confirm"]["style"] == "danger"

    home = click(slack, services, "UFAC", f"{view.APPROVE}-U5", "voorspellen|U5")
    assert status_of(services, "U5") == "member"
    assert "<@U5> is toegelaten tot *Voorspellen*" in texts(home)
    home = click(slack, services, "UFAC", f"{view.DECLINE}-U6", "voorspellen|U6")
    assert status_of(services, "U6") is None
    assert f"{view.APPROVE}-U6" not in actions_of(home)

    drain_outbox(services)
    # The requesters hear of it, and their own tabs are drawn again, after the debounce.
    assert dms_to(standin, "U5") and dms_to(standin, "U6")
    assert not [c for c in standin.calls() if c.method == "views.publish"
                and c.args["user_id"] != "UFAC"]  # fmt: skip
    clock.advance(outbox.HOME_DEBOUNCE)
    drain_outbox(services)
    published = {c.args["user_id"] for c in standin.calls() if c.method == "views.publish"}
    assert {"U5", "U6"} <= published


def test_removing_a_member_confirms_tells_them_and_moves_the_waitlist_up(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "klein", name="Klein", capacity=1, facilitators=("UFAC",))
    with services.db.write() as session:
        for user in ("U5", "U6", "U7"):
            membership.join(session, query="klein", user_id=user, now=services.clock(), tz=AMS)
    settle_outbox(services)
    opened(slack, services, "UFAC")
    home = click(slack, services, "UFAC", view.FOCUS, "klein")
    remove = actions_of(home)[view.REMOVE]
    assert remove["type"] == "static_select" and remove["confirm"]["style"] == "danger"
    assert "*Wachtlijst (2):* 1. <@U6>, 2. <@U7>" in texts(home)

    home = click(slack, services, "UFAC", view.MOVE_UP, "klein|U7")
    assert "<@U7> staat nu op plaats 1" in texts(home)
    home = click(slack, services, "UFAC", view.REMOVE, "klein|U5")

    assert status_of(services, "U5") is None
    assert status_of(services, "U7") == "member", "the first on the waitlist moved up"
    assert status_of(services, "U6") == "waitlist"
    drain_outbox(services)
    assert "Een kartrekker heeft je uit *Klein* gehaald" in texts(dms_to(standin, "U5")[-1].args)


def test_cancelling_a_meeting_from_the_tab_tells_the_members(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    mid = meeting_id(services)
    opened(slack, services, "UFAC")
    home = click(slack, services, "UFAC", f"{view.CANCEL}-{mid}", f"ethiek|{mid}")
    with services.db.read() as session:
        assert session.get(Meeting, mid).status == Meeting.CANCELLED  # type: ignore[union-attr]
    assert "is geannuleerd" in texts(home)
    drain_outbox(services)
    assert dms_to(standin, "U1") and dms_to(standin, "U2")


def test_plan_and_move_open_the_meeting_form(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    mid = meeting_id(services)
    opened(slack, services, "UFAC")
    click(slack, services, "UFAC", f"{view.PLAN}-ethiek", "ethiek|")
    click(slack, services, "UFAC", f"{view.MOVE}-{mid}", f"ethiek|{mid}")
    opened_views = [c for c in standin.calls() if c.method == "views.open"]
    assert len(opened_views) == 2


# -- an admin ----------------------------------------------------------------------------


def test_an_admin_picks_any_community_and_ends_a_facilitators_role(
    slack: CheckedSlack, services: Services
) -> None:
    home = opened(slack, services, "UADMIN")
    assert view.FOCUS in actions_of(home)
    home = click(slack, services, "UADMIN", view.FOCUS, "ethiek")
    assert view.STOP_FACILITATOR in actions_of(home)
    home = click(slack, services, "UADMIN", view.STOP_FACILITATOR, "ethiek|UFAC")
    with services.db.read() as session:
        assert session.scalars(select(Facilitator)).all() == []
    assert "<@UFAC> is geen kartrekker meer van *Ethiek*" in texts(home)


# -- who may not --------------------------------------------------------------------------


def _values(services: Services) -> dict[str, str]:
    mid = meeting_id(services)
    return {
        view.APPROVE: "ethiek|U8",
        view.DECLINE: "ethiek|U8",
        view.MOVE_UP: "ethiek|U7",
        view.REMOVE: "ethiek|U2",
        view.CANCEL: f"ethiek|{mid}",
        view.PLAN: "ethiek|",
        view.MOVE: f"ethiek|{mid}",
        view.STOP_FACILITATOR: "ethiek|UFAC",
        view.APPOINT: "U9",  # the person picked; the community is the menu's block
        view.ADD_ADMIN: "U9",
        view.REMOVE_ADMIN: "|UADMIN",
        view.CREATE_COMMUNITY: "",
        view.EDIT_COMMUNITY: "ethiek|",
        view.AGENDA: "ethiek|",
        view.MINUTES: "ethiek|",
        view.ANSWER: f"ethiek|{question_id(services)}",
    }


def question_id(services: Services) -> int:
    with services.db.read() as session:
        return session.scalars(select(Question.id)).one()


# What each refusal reads, where a feature words it its own way (else "not_allowed").
REFUSALS = {
    view.AGENDA: t("agenda_error_not_allowed"),
}


@pytest.mark.parametrize("who", ["U1", "U9", "UOTHER"])
@pytest.mark.parametrize("action", view.FACILITATOR_ACTIONS + view.ADMIN_ACTIONS)
def test_every_management_action_is_refused_to_who_may_not_and_changes_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, who: str, action: str
) -> None:
    """A member (U1), a non-member (U9) and another community's facilitator (UOTHER),
    each clicking every facilitator and admin action of Ethiek, with hand-made values
    (a button is no permission)."""
    add_community(services.db, "anders", name="Anders", facilitators=("UOTHER",))
    with services.db.write() as session:
        # Someone pending and someone waiting, so that each action has a target.
        session.add(Membership(community_id=1, user_id="U8", status="pending", seq=90))
        session.add(Membership(community_id=1, user_id="U7", status="waitlist", seq=91))
        session.add(Question(community_id=1, number=1, text="Een open vraag", asked_by="U1"))
    settle_outbox(services)
    tab = opened(slack, services, who)
    before = database_state(services)
    standin.clear()

    menu = action in (view.MOVE_UP, view.REMOVE, view.STOP_FACILITATOR, view.REMOVE_ADMIN)
    people = action in (view.APPOINT, view.ADD_ADMIN)
    response = slack.click_home(
        who, action, _values(services)[action], on=tab, select=menu, user_select=people,
        block_id="appoint-ethiek" if action == view.APPOINT else "admins",
    )  # fmt: skip
    assert response.status == 200
    assert services.wait_idle(5)
    home = slack.home(who)

    assert changed_tables(before, database_state(services)) == []
    assert [c.method for c in standin.calls() if c.method != "auth.test"] == ["views.publish"]
    expected = t("not_allowed_admin") if action in view.ADMIN_ACTIONS else t("not_allowed")
    assert REFUSALS.get(action, expected) in texts(home)


def test_every_view_stays_within_slack_limits_with_fifty_communities_and_two_hundred_members(
    slack: CheckedSlack, services: Services
) -> None:
    """The fixture checks every published view (at most 100 blocks, slack_sdk's
    validators); the admin's and a busy member's tab are the largest."""
    now = services.clock()
    for i in range(50):
        add_community(
            services.db, f"cop-{i:02d}", name=f"Community {i:02d}", capacity=25,
            facilitators=("UADMIN2",) if i < 3 else (),
            meetings=tuple(meeting(MARCH_30 + dt.timedelta(days=d), key=f"m{d}") for d in range(5)),
        )  # fmt: skip
    with services.db.write() as session:
        for u in range(200):
            for c in (u % 50, (u + 1) % 50):
                membership.join(session, query=f"cop-{c:02d}", user_id=f"U{u:04d}", now=now,
                                tz=AMS)  # fmt: skip
        for c in range(3):
            membership.join(session, query=f"cop-{c:02d}", user_id="UBUSY", now=now, tz=AMS)
        session.add(Facilitator(community_id=2, user_id="UBUSY", source="admin"))
    settle_outbox(services)
    for user in ("UADMIN", "UBUSY", "U0001"):
        home = opened(slack, services, user)
        assert len(home["blocks"]) <= 100
    home = click(slack, services, "UADMIN", view.FOCUS, "cop-01")
    assert "*Leden (" in texts(home)
    with services.db.read() as session:
        queued = session.scalars(select(OutboxItem.kind)).all()
    assert "home_refresh" not in queued  # opening and paging send nothing on their own


def test_declining_from_the_approval_request_dm_asks_for_confirmation_too(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "voorspellen", name="Voorspellen", approval=True,
                  facilitators=("UFAC",))  # fmt: skip
    slack.command("U5", "aanmelden voorspellen")
    assert services.wait_idle(5)
    drain_outbox(services)
    [request] = dms_to(standin, "UFAC")
    decline = next(b for b in buttons(request.args) if b["action_id"] == "decline_join")
    assert decline["confirm"]["style"] == "danger"
    assert decline["confirm"]["deny"]["text"] == t("home_no_keep")


def test_an_admin_appoints_a_facilitator_and_another_admin_with_the_people_menus(
    slack: CheckedSlack, services: Services
) -> None:
    opened(slack, services, "UADMIN")
    click(slack, services, "UADMIN", view.FOCUS, "ethiek")
    home = click(slack, services, "UADMIN", view.APPOINT, "U2")
    assert "<@U2> is nu kartrekker van *Ethiek*" in texts(home)
    with services.db.read() as session:
        facilitators = set(session.scalars(select(Facilitator.user_id)))
    assert facilitators == {"UFAC", "U2"}

    home = click(slack, services, "UADMIN", view.ADD_ADMIN, "U5")
    assert "<@U5> is nu beheerder" in texts(home)
    assert "U5" in services.settings.admins
    # The new admin's own tab has the admin part, and they may act as one.
    theirs = opened(slack, services, "U5")
    assert t("home_admin").upper() in texts(theirs).upper()
    assert view.ADD_ADMIN in actions_of(theirs)

    home = click(slack, services, "UADMIN", view.REMOVE_ADMIN, "U5")
    assert "<@U5> is geen beheerder meer" in texts(home)
    assert "U5" not in services.settings.admins
    # COP_ADMINS is the configuration's: a click does not end it.
    home = click(slack, services, "UADMIN", view.REMOVE_ADMIN, "UADMIN", select=True)
    assert "via COP_ADMINS" in texts(home)
    assert "UADMIN" in services.settings.admins


# -- the community form -----------------------------------------------------------------


def test_an_admin_creates_a_community_in_the_form_and_a_mistake_is_shown_at_its_field(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    opened(slack, services, "UADMIN")
    click(slack, services, "UADMIN", view.CREATE_COMMUNITY)
    form = slack.opened_view()
    assert form["callback_id"] == "community_form"

    bad = slack.submit("UADMIN", form, {"community_name": "Klimaat & Water",
                                        "community_capacity": "veel"})  # fmt: skip
    assert bad.json()["response_action"] == "errors"
    assert bad.json()["errors"] == {"capacity": t("community_form_capacity_wrong")}
    with services.db.read() as session:
        assert session.scalar(select(Community.id).where(Community.slug == "klimaat-water")) is None

    good = slack.submit("UADMIN", form, {
        "community_name": "Klimaat & Water", "community_programme": "Groene Stad",
        "community_description": "Over <b>hitte</b> en water.", "community_capacity": "12",
        "community_approval": ["approval"], "community_reminders": "7d, 2h",
        "community_facilitators": ["U7"],
    })  # fmt: skip
    assert good.status == 200 and not good.body.strip()
    assert services.wait_idle(5)
    with services.db.read() as session:
        created = session.scalars(select(Community).where(Community.slug == "klimaat-water")).one()
        facilitators = set(
            session.scalars(
                select(Facilitator.user_id).where(Facilitator.community_id == created.id)
            )
        )
    assert (created.name, created.capacity, created.approval) == ("Klimaat & Water", 12, True)
    assert created.description == "Over <b>hitte</b> en water."  # stored plain
    assert created.reminder_offsets == "7d,2h"
    assert facilitators == {"U7"}
    home = slack.home("UADMIN")
    assert "*Klimaat &amp; Water* is aangemaakt" in texts(home)
    assert t("home_manage", name="Klimaat & Water").replace("&", "&amp;") in texts(home)

    # The same name again is refused at the name, nothing made twice.
    again = slack.submit("UADMIN", form, {"community_name": "Klimaat & Water"})
    assert again.json()["errors"] == {"name": t("community_form_name_taken")}


def test_an_admin_edits_a_community_and_a_reload_of_the_file_keeps_the_edit(
    slack: CheckedSlack, services: Services
) -> None:
    opened(slack, services, "UADMIN")
    click(slack, services, "UADMIN", view.FOCUS, "ethiek")
    click(slack, services, "UADMIN", view.EDIT_COMMUNITY, "ethiek|")
    form = slack.opened_view()
    assert form["private_metadata"] == "ethiek"
    name_input = next(b for b in form["blocks"] if b["block_id"] == "name")
    assert name_input["element"]["initial_value"] == "Ethiek"

    slack.submit("UADMIN", form, {"community_name": "Ethiek en data", "community_capacity": "1"})
    assert services.wait_idle(5)
    with services.db.read() as session:
        ethiek = session.scalars(select(Community).where(Community.slug == "ethiek")).one()
        assert (ethiek.name, ethiek.capacity) == ("Ethiek en data", 1)
        members = sorted(session.scalars(select(Membership.status)))
    assert members == ["member", "member"], "a lower capacity drops no member"

    add_community(services.db, "ethiek", name="Ethiek", facilitators=("UFAC",))  # a reload
    with services.db.read() as session:
        ethiek = session.scalars(select(Community).where(Community.slug == "ethiek")).one()
    assert ethiek.name == "Ethiek en data"


def test_requests_to_join_redraw_the_facilitators_tab_once_per_burst(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    add_community(services.db, "voorspellen", name="Voorspellen", approval=True,
                  facilitators=("UFAC",))  # fmt: skip
    for user in ("U5", "U6", "U7"):
        slack.command(user, "aanmelden voorspellen")
    assert services.wait_idle(5)
    with services.db.read() as session:
        refreshes = session.scalars(
            select(OutboxItem.recipient).where(OutboxItem.kind == outbox.HOME_REFRESH)
        ).all()
    assert refreshes == ["UFAC"], "three requests, one refresh of the facilitator's tab"
    clock.advance(outbox.HOME_DEBOUNCE)
    drain_outbox(services)
    assert "<@U7> wil lid worden" in texts(slack.home("UFAC"))


def test_a_member_sees_the_questions_they_asked_or_follow_by_their_community_number(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "anders", name="Anders")
    with services.db.write() as session:
        membership.join(session, query="anders", user_id="U1", now=services.clock(), tz=AMS)
    slack.command("U1", "vraag anders Eerste vraag van Anders?")
    slack.command("U1", "vraag ethiek Wie kent een <b>goed</b> voorbeeld?")
    slack.command("U2", "vraag ethiek Een vraag van U2")
    assert services.wait_idle(5)
    home = opened(slack, services, "U1")
    shown = texts(home)
    assert "*#1* (Ethiek, open): Wie kent een &lt;b&gt;goed&lt;/b&gt; voorbeeld?" in shown
    assert "*#1* (Anders, open): Eerste vraag van Anders?" in shown
    assert "Een vraag van U2" not in shown


def test_a_facilitator_opens_the_agenda_and_answer_forms_from_the_tab_and_a_member_the_ics(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    slack.command("U1", "vraag ethiek Hoe begin je een algoritmeregister?")
    assert services.wait_idle(5)
    home = opened(slack, services, "UFAC")
    assert "*#1* Hoe begin je een algoritmeregister?" in texts(home)
    qid = question_id(services)
    click(slack, services, "UFAC", f"{view.AGENDA}-ethiek", "ethiek|")
    click(slack, services, "UFAC", f"{view.ANSWER}-{qid}", f"ethiek|{qid}")
    opened_forms = [c.args["view"] for c in standin.calls("views.open")]
    assert len(opened_forms) == 2
    # No meeting is over yet: the minutes form is refused on the tab, nothing opens.
    home = click(slack, services, "UFAC", f"{view.MINUTES}-ethiek", "ethiek|")
    assert len(standin.calls("views.open")) == 2
    assert texts(home).split("\n")[1] != t("home_intro").split("\n")[0]

    home = opened(slack, services, "U1")
    click(slack, services, "U1", view.CALENDAR)
    assert standin.calls("files.completeUploadExternal")


@pytest.mark.parametrize(
    ("action", "value"),
    [
        (f"{view.PAGE}-discover-next", "discover|²"),
        (f"{view.PAGE}-mine-next", "mine|99999999999999999999"),
        (f"{view.RSVP_YES}-1", "ethiek|abc"),
        (f"{view.JOIN}-x", "bestaat-niet"),
        (view.FOCUS, "bestaat-niet"),
        (view.LANGUAGE, "klingon"),
    ],
)
def test_forged_values_on_the_tab_get_a_friendly_answer_never_an_apology(
    slack: CheckedSlack, services: Services, action: str, value: str
) -> None:
    tab = opened(slack, services, "U1")
    home = click(slack, services, "U1", action, value, on=tab)
    assert "referentie" not in texts(home)
    assert home["type"] == "home"


def test_my_data_and_forget_me_from_the_tab(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    tab = opened(slack, services, "U1")
    forget = actions_of(tab)[view.FORGET]
    assert forget["confirm"]["style"] == "danger"
    click(slack, services, "U1", view.MY_DATA, "U2")  # the value names nobody: the clicker's
    uploads = standin.calls("files.completeUploadExternal")
    assert uploads and uploads[-1].args.get("channel_id") == "DU1"

    home = click(slack, services, "U1", view.FORGET, "U2")
    assert status_of(services, "U1") is None
    assert status_of(services, "U2") == "member", "the value names nobody to forget"
    assert "Ethiek" not in texts(home).split(t("home_discover"))[0]


def test_a_members_lists_come_to_the_dm_from_the_tab_and_nothing_else_can_be_run(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    slack.command("U2", "onderwerp ethiek Algoritmeregister")
    assert services.wait_idle(5)
    tab = opened(slack, services, "U1")
    assert f"{view.SHOW}-topics-ethiek" in actions_of(tab)
    standin.clear()
    home = click(slack, services, "U1", f"{view.SHOW}-topics-ethiek", "topics|ethiek", on=tab)
    assert t("home_shown") in texts(home)
    [dm] = dms_to(standin, "U1")
    assert "Algoritmeregister" in texts(dm.args)

    # A forged name runs nothing: not forget-me, not a join.
    for forged in ("forget|", "join|ethiek", "leave|ethiek"):
        standin.clear()
        click(slack, services, "U1", f"{view.SHOW}-x", forged, on=tab)
        assert dms_to(standin, "U1") == []
    assert status_of(services, "U1") == "member"


def test_someone_new_reads_a_communitys_start_text_before_joining(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    tab = opened(slack, services, "U9")
    assert f"{view.SHOW}-info-ethiek" in actions_of(tab)
    standin.clear()
    click(slack, services, "U9", f"{view.SHOW}-info-ethiek", "info|ethiek", on=tab)
    [dm] = dms_to(standin, "U9")
    assert "Over deze community." in texts(dm.args)


@pytest.mark.parametrize("person", ["", "<!channel>", "U2|x"])
def test_a_facilitators_forged_request_value_forms_no_mention(
    slack: CheckedSlack, services: Services, person: str
) -> None:
    tab = opened(slack, services, "UFAC")
    home = click(slack, services, "UFAC", f"{view.APPROVE}-x", f"ethiek|{person}", on=tab)
    shown = str(home["blocks"])
    assert "<@>" not in shown and "<!channel>" not in shown and "<@U2|x>" not in shown
    assert "ingetrokken" in texts(home) or t("approval_already", name="Ethiek") in texts(home)
