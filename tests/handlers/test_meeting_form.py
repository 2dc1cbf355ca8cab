"""The meeting form: the buttons for managers, the modal with pickers, planning and moving
through it across summer time, refusals, and time ranges in the text command."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from storage.models import Meeting, Reminder
from tests.factories import add_community
from tests.handlers.support import (
    CheckedSlack,
    buttons,
    dms_to,
    ethiek_with_a_meeting,
    one_dm_each_saying,
    texts,
)

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam
DATE, START, END = "meeting_form_date", "meeting_form_start", "meeting_form_end"
KIND, LOCATION, TITLE = "meeting_form_kind", "meeting_form_location", "meeting_form_title"


@pytest.fixture
def ethiek(services: Services) -> None:
    ethiek_with_a_meeting(services)
    add_community(services.db, "lokaal-meten", name="Lokaal meten", facilitators=("UOTHER",))


def _button(payload: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    found = [b for b in buttons(payload) if b["action_id"].startswith(prefix)]
    return found[0] if found else None


def _open_plan_form(slack: CheckedSlack, user: str = "UFAC") -> dict[str, Any]:
    info = slack.command(user, "info ethiek").json()
    plan = _button(info, "meeting_form_plan")
    assert plan is not None
    slack.click(user, plan["action_id"], plan["value"])
    return slack.opened_view()


def _added(services: Services) -> list[Meeting]:
    with services.db.read() as session:
        return list(session.scalars(select(Meeting).where(Meeting.source == "slack")))


def _reminder_dues(services: Services, meeting_id: int) -> list[dt.datetime]:
    with services.db.read() as session:
        return sorted(
            session.scalars(
                select(Reminder.due_at).where(
                    Reminder.meeting_id == meeting_id, Reminder.state == "pending"
                )
            )
        )


# The buttons


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize("command", ["info ethiek", "bijeenkomsten ethiek"])
def test_a_facilitator_and_an_admin_see_the_plan_button_and_a_member_does_not(
    slack: CheckedSlack, command: str
) -> None:
    for manager in ("UFAC", "UADMIN"):
        plan = _button(slack.command(manager, command).json(), "meeting_form_plan")
        assert plan is not None
        assert plan["text"]["text"] == "Bijeenkomst plannen"
        assert plan["value"] == "ethiek"
    assert _button(slack.command("U1", command).json(), "meeting_form_plan") is None
    # A facilitator of another community is no manager of this one.
    assert _button(slack.command("UOTHER", command).json(), "meeting_form_plan") is None


@pytest.mark.usefixtures("ethiek")
def test_the_move_button_is_shown_per_meeting_to_managers_only(slack: CheckedSlack) -> None:
    move = _button(slack.command("UFAC", "bijeenkomsten ethiek").json(), "meeting_form_move")
    assert move is not None
    assert move["text"]["text"] == "Verplaatsen"
    assert _button(slack.command("U1", "bijeenkomsten ethiek").json(), "meeting_form_move") is None
    # The member still has exactly the two RSVP buttons.
    assert len(buttons(slack.command("U1", "bijeenkomsten ethiek").json())) == 2


@pytest.mark.usefixtures("ethiek")
def test_a_community_without_meetings_still_offers_its_manager_the_plan_button(
    slack: CheckedSlack,
) -> None:
    listing = slack.command("UOTHER", "bijeenkomsten lokaal meten").json()
    assert "geen komende bijeenkomsten" in texts(listing)
    plan = _button(listing, "meeting_form_plan")
    assert plan is not None and plan["value"] == "lokaal-meten"


# The modal


@pytest.mark.usefixtures("ethiek")
def test_the_plan_button_opens_a_modal_with_date_and_time_pickers(slack: CheckedSlack) -> None:
    view = _open_plan_form(slack)
    assert view["callback_id"] == "meeting_form"
    assert view["title"]["text"] == "Bijeenkomst plannen"
    elements = {b["element"]["action_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert elements[DATE]["element"]["type"] == "datepicker"
    assert elements[START]["element"]["type"] == "timepicker"
    assert elements[END]["element"]["type"] == "timepicker" and elements[END]["optional"]
    assert [o["text"]["text"] for o in elements[KIND]["element"]["options"]] == [
        "online", "fysiek", "werkbezoek",
    ]  # fmt: skip
    assert elements[LOCATION]["element"]["max_length"] == 500
    assert elements[LOCATION]["optional"] and elements[TITLE]["optional"]
    assert "ethiek" in view["private_metadata"]
    assert "Europe/Amsterdam" in texts(view)


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("date", "utc_hour"),
    [("2027-04-20", 12), ("2027-03-10", 13)],  # summer time (UTC+2), winter time (UTC+1)
)
def test_submitting_the_form_plans_the_meeting_at_the_right_utc_time_with_its_reminders(
    slack: CheckedSlack, standin: SlackStandIn, services: Services, date: str, utc_hour: int
) -> None:
    view = _open_plan_form(slack)
    answer = slack.submit("UFAC", view, {
        DATE: date, START: "14:00", END: "16:00", KIND: "fysiek",
        LOCATION: "Stadhuis <Utrecht>", TITLE: "Werksessie",
    })  # fmt: skip
    assert answer.status == 200
    assert "response_action" not in answer.body
    [added] = _added(services)
    day = dt.date.fromisoformat(date)
    starts = dt.datetime.combine(day, dt.time(utc_hour), tzinfo=dt.UTC)
    assert added.starts_at == starts
    assert added.ends_at == starts + dt.timedelta(hours=2)
    assert (added.kind, added.location, added.title) == (
        "fysiek",
        "Stadhuis <Utrecht>",
        "Werksessie",
    )
    # 7 days and 1 day before, at 14:00 Amsterdam time whatever the offset that day.
    week_before = dt.datetime.combine(day - dt.timedelta(days=7), dt.time(14))
    day_before = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(14))
    tz = services.settings.timezone
    assert _reminder_dues(services, added.id) == [
        week_before.replace(tzinfo=tz).astimezone(dt.UTC),
        day_before.replace(tzinfo=tz).astimezone(dt.UTC),
    ]
    services.wait_idle(5)
    [dm] = dms_to(standin, "UFAC")
    assert "van 14:00 tot 16:00" in dm.args["text"]
    assert "Stadhuis &lt;Utrecht&gt;" in dm.args["text"]


@pytest.mark.usefixtures("ethiek")
def test_without_an_end_time_the_meeting_lasts_two_hours(
    slack: CheckedSlack, services: Services
) -> None:
    view = _open_plan_form(slack, "UADMIN")
    slack.submit("UADMIN", view, {DATE: "2027-04-20", START: "09:30"})
    [added] = _added(services)
    assert added.starts_at == dt.datetime(2027, 4, 20, 7, 30, tzinfo=dt.UTC)
    assert added.ends_at == dt.datetime(2027, 4, 20, 9, 30, tzinfo=dt.UTC)
    assert (added.kind, added.location, added.title) == ("online", None, None)


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("answers", "block", "says"),
    [
        ({DATE: "2026-11-22", START: "14:00"}, "date", "verleden"),
        # NOW is 11:00 in Amsterdam on 23 November 2026.
        ({DATE: "2026-11-23", START: "10:00"}, "start", "al voorbij"),
        ({DATE: "2027-04-20", START: "14:00", END: "13:00"}, "end", "na de begintijd (14:00)"),
        ({DATE: "2027-04-20", START: "14:00", END: "14:00"}, "end", "na de begintijd"),
        ({DATE: "2027-03-28", START: "02:30"}, "start", "bestaat niet"),
        ({DATE: "2027-04-20", START: "14:00", LOCATION: "x" * 501}, "location", "500"),
        # Five years ahead at most: 9999 once made every calendar file fail (year 10000).
        ({DATE: "9999-12-31", START: "14:00"}, "date", "22 november 2031"),
    ],
)
def test_a_past_moment_or_a_bad_end_is_refused_on_its_own_block_and_nothing_is_planned(
    slack: CheckedSlack, services: Services, answers: dict[str, str], block: str, says: str
) -> None:
    view = _open_plan_form(slack)
    answer = slack.submit("UFAC", view, answers).json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block]
    assert says in answer["errors"][block]
    assert _added(services) == []


@pytest.mark.usefixtures("ethiek")
def test_a_meeting_later_today_is_accepted(slack: CheckedSlack, services: Services) -> None:
    view = _open_plan_form(slack)
    slack.submit("UFAC", view, {DATE: "2026-11-23", START: "15:00"})
    [added] = _added(services)
    assert added.starts_at == dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)


# Moving through the form


def _open_move_form(slack: CheckedSlack, user: str = "UFAC") -> dict[str, Any]:
    move = _button(slack.command(user, "bijeenkomsten ethiek").json(), "meeting_form_move")
    assert move is not None
    slack.click(user, move["action_id"], move["value"])
    return slack.opened_view()


def _inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["element"]["action_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


@pytest.mark.usefixtures("ethiek")
def test_the_move_form_is_filled_in_with_the_meetings_current_values(slack: CheckedSlack) -> None:
    view = _open_move_form(slack)
    assert view["title"]["text"] == "Bijeenkomst verplaatsen"
    inputs = _inputs(view)
    assert inputs[DATE]["initial_date"] == "2027-03-30"
    assert inputs[START]["initial_time"] == "14:00"
    assert inputs[END]["initial_time"] == "16:00"
    assert inputs[KIND]["initial_option"]["value"] == "online"
    assert inputs[TITLE]["initial_value"] == "Startbijeenkomst"


@pytest.mark.usefixtures("ethiek")
def test_moving_through_the_form_moves_the_meeting_its_reminders_and_tells_the_members(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    view = _open_move_form(slack)
    answer = slack.submit("UFAC", view, {DATE: "2027-04-06", START: "10:00", END: "11:30"})
    assert "response_action" not in answer.body
    with services.db.read() as session:
        moved = session.scalars(select(Meeting).where(Meeting.key == "2027-03-30")).one()
        assert moved.starts_at == dt.datetime(2027, 4, 6, 8, 0, tzinfo=dt.UTC)
        assert moved.ends_at == dt.datetime(2027, 4, 6, 9, 30, tzinfo=dt.UTC)
        assert moved.title == "Startbijeenkomst"
        moved_id = moved.id
    assert _reminder_dues(services, moved_id) == [
        dt.datetime(2027, 3, 30, 8, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 4, 5, 8, 0, tzinfo=dt.UTC),
    ]
    services.wait_idle(5)
    one_dm_each_saying(
        standin, ("U1", "U2"), "dinsdag 30 maart 2027 om 14:00", "dinsdag 6 april 2027 om 10:00"
    )
    [told] = dms_to(standin, "UFAC")
    assert "verplaatst" in told.args["text"]


@pytest.mark.usefixtures("ethiek")
def test_moving_a_meeting_that_was_cancelled_meanwhile_is_refused(
    slack: CheckedSlack, services: Services
) -> None:
    view = _open_move_form(slack)
    slack.command("UFAC", "bijeenkomst annuleren ethiek 1")
    answer = slack.submit("UFAC", view, {DATE: "2027-04-06", START: "10:00"}).json()
    assert "afgelast" in answer["errors"]["date"]
    with services.db.read() as session:
        assert session.scalars(select(Meeting.starts_at)).one() == MARCH_30


# Forged clicks and submissions


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("action_id", "value"), [("meeting_form_plan", "ethiek"), ("meeting_form_move-1", "ethiek|1")]
)
def test_a_forged_click_by_a_member_opens_no_form(
    slack: CheckedSlack, standin: SlackStandIn, action_id: str, value: str
) -> None:
    slack.click("U1", action_id, value)
    [answer] = standin.wait_for("response_url", 1)
    assert "kartrekker" in answer.args["text"]
    assert standin.calls("views.open") == []


@pytest.mark.usefixtures("ethiek")
def test_a_forged_plan_submission_by_a_member_is_refused_and_plans_nothing(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    view = _open_plan_form(slack)
    answer = slack.submit("U1", view, {DATE: "2027-04-20", START: "14:00"}).json()
    assert answer["response_action"] == "errors"
    assert "kartrekker" in answer["errors"]["date"]
    assert _added(services) == []
    services.wait_idle(5)
    assert dms_to(standin, "U1") == []


@pytest.mark.usefixtures("ethiek")
def test_a_forged_move_submission_by_a_member_is_refused_and_moves_nothing(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    view = _open_move_form(slack)
    answer = slack.submit("U1", view, {DATE: "2027-04-06", START: "10:00"}).json()
    assert "kartrekker" in answer["errors"]["date"]
    with services.db.read() as session:
        assert session.scalars(select(Meeting.starts_at)).one() == MARCH_30
    services.wait_idle(5)
    assert dms_to(standin, "U1") == dms_to(standin, "U2") == []


@pytest.mark.usefixtures("ethiek")
def test_a_facilitator_cannot_move_another_communitys_meeting_by_editing_the_metadata(
    slack: CheckedSlack, services: Services
) -> None:
    view = _open_move_form(slack)
    forged = {
        **view,
        "private_metadata": view["private_metadata"].replace("ethiek", "lokaal-meten"),
    }
    answer = slack.submit("UOTHER", forged, {DATE: "2027-04-06", START: "10:00"}).json()
    assert answer["response_action"] == "errors"
    with services.db.read() as session:
        assert session.scalars(select(Meeting.starts_at)).one() == MARCH_30


# Time ranges in the text command


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    "when", ["20 april 14:00-16:00", "20 april 14.00 - 16.00", "20 april van 14:00 tot 16:00"]
)
def test_a_time_range_in_the_text_command_sets_the_end(
    slack: CheckedSlack, services: Services, when: str
) -> None:
    reply = slack.command("UFAC", f"bijeenkomst toevoegen ethiek {when} fysiek Stadhuis")
    assert "van 14:00 tot 16:00" in texts(reply.json())
    [added] = _added(services)
    assert added.starts_at == dt.datetime(2027, 4, 20, 12, 0, tzinfo=dt.UTC)
    assert added.ends_at == dt.datetime(2027, 4, 20, 14, 0, tzinfo=dt.UTC)
    assert (added.kind, added.location) == ("fysiek", "Stadhuis")


@pytest.mark.usefixtures("ethiek")
def test_a_range_ending_before_it_starts_is_refused_with_a_friendly_message(
    slack: CheckedSlack, services: Services
) -> None:
    reply = slack.command("UFAC", "bijeenkomst toevoegen ethiek 20 april 16:00-14:00 online")
    body = texts(reply.json())
    assert "eindtijd 14:00 ligt niet na het begin" in body
    assert "dinsdag 20 april 2027 om 16:00" in body
    assert _added(services) == []


@pytest.mark.usefixtures("ethiek")
def test_moving_with_a_range_in_the_text_command_sets_the_new_end(
    slack: CheckedSlack, services: Services
) -> None:
    slack.command("UFAC", "bijeenkomst verplaatsen ethiek 1 6 april 10:00-12:30")
    with services.db.read() as session:
        moved = session.scalars(select(Meeting)).one()
        assert moved.ends_at == dt.datetime(2027, 4, 6, 10, 30, tzinfo=dt.UTC)
