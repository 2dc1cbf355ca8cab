"""The global shortcuts (the ⚡ menu), as Slack sends them: each opens a modal with a
community picker; its submission runs the rule of the `/cop` command it stands for and
updates the modal to what was saved, or shows the problem at the block it concerns."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.clock import FrozenClock
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import membership
from handlers import shortcuts
from storage.models import Meeting, Membership, Question, Topic
from tests.blockkit import assert_valid_view
from tests.conftest import Response
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, dms_to, ethiek_with_a_meeting, texts

DATE, START = "meeting_form_date", "meeting_form_start"
REFERENCE = re.compile(r"referentie `([0-9A-F]{8})`")


@pytest.fixture
def ethiek(services: Services) -> None:
    """Ethiek (facilitator UFAC, members U1 and U2) and Lokaal meten (facilitator UOTHER)."""
    ethiek_with_a_meeting(services)
    add_community(services.db, "lokaal-meten", name="Lokaal meten", facilitators=("UOTHER",))


def _open(slack: CheckedSlack, user: str, callback_id: str) -> dict[str, Any]:
    answer = slack.global_shortcut(user, callback_id)
    assert answer.status == 200
    view = slack.opened_view()
    assert_valid_view(view)
    return view


def _inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def _options(view: dict[str, Any]) -> list[tuple[str, str]]:
    element = _inputs(view)["community"]["element"]
    assert element["type"] == "static_select"
    return [(o["value"], o["text"]["text"]) for o in element["options"]]


def _submit(slack: CheckedSlack, user: str, view: dict[str, Any],
            answers: dict[str, Any]) -> Response:  # fmt: skip
    """Submit `view`; a community picked that the picker does not offer is added to it
    first, as a form picked from before things changed (or a forged submission) has it."""
    slug = answers.get("community")
    if slug is not None and slug not in dict(_options(view)):
        view = copy.deepcopy(view)
        element = _inputs(view)["community"]["element"]
        element["options"].append({"text": {"type": "plain_text", "text": slug}, "value": slug})
    return slack.submit(user, view, answers)


def _updated(answer: Response) -> dict[str, Any]:
    """The view a submission's answer updates the modal to (checked as Block Kit)."""
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "update", body
    assert_valid_view(body["view"])
    return dict(body["view"])


def _errors(answer: Response) -> dict[str, str]:
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors", body
    return dict(body["errors"])


def _questions(services: Services) -> list[Question]:
    with services.db.read() as session:
        return list(session.scalars(select(Question)))


def _topics(services: Services) -> list[Topic]:
    with services.db.read() as session:
        return list(session.scalars(select(Topic)))


def _planned(services: Services) -> list[Meeting]:
    with services.db.read() as session:
        return list(session.scalars(select(Meeting).where(Meeting.source == "slack")))


def test_the_callback_ids_are_the_manifests() -> None:
    assert shortcuts.SHORTCUTS == (
        "shortcut_ask_question", "shortcut_propose_topic", "shortcut_plan_meeting",
        "shortcut_join",
    )  # fmt: skip


# -- Vraag stellen -----------------------------------------------------------------------


@pytest.mark.usefixtures("ethiek")
def test_asking_offers_only_the_members_communities_and_stores_the_question_as_cop_vraag(
    slack: CheckedSlack, services: Services
) -> None:
    view = _open(slack, "U1", shortcuts.ASK_QUESTION)
    assert view["title"]["text"] == "Vraag stellen"
    assert _options(view) == [("ethiek", "Ethiek")]  # not Lokaal meten: no member there
    # The only choice is picked already.
    assert _inputs(view)["community"]["element"]["initial_option"]["value"] == "ethiek"

    asked = "Wie kent <!channel> een *goed* register & <https://evil.example|dit>?"
    done = _updated(_submit(slack, "U1", view, {"text": f"  {asked}\n"}))

    [question] = _questions(services)
    assert (question.text, question.asked_by, question.status) == (asked, "U1", "open")
    shown = texts(done)
    assert f"*#{question.id}* in *Ethiek*" in shown
    # What was saved, escaped once: no mention, no link, the ampersand as an entity.
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert "&amp; &lt;https://evil.example|dit&gt;" in shown
    assert "submit" not in done  # a confirmation, closed with Sluiten
    assert done["close"]["text"] == "Sluiten"


@pytest.mark.usefixtures("ethiek")
def test_the_modal_speaks_the_users_language(slack: CheckedSlack) -> None:
    slack.command("U1", "taal en")
    view = _open(slack, "U1", shortcuts.ASK_QUESTION)
    assert view["title"]["text"] == "Ask a question"
    assert _inputs(view)["text"]["label"]["text"] == "Your question"


@pytest.mark.usefixtures("ethiek")
def test_an_admin_may_ask_in_every_community(slack: CheckedSlack) -> None:
    view = _open(slack, "UADMIN", shortcuts.ASK_QUESTION)
    assert _options(view) == [("ethiek", "Ethiek"), ("lokaal-meten", "Lokaal meten")]


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize("callback_id", [shortcuts.ASK_QUESTION, shortcuts.PROPOSE_TOPIC])
def test_someone_in_no_community_is_told_how_to_join_and_gets_no_form(
    slack: CheckedSlack, services: Services, callback_id: str
) -> None:
    # U3 waits on no list and is a member nowhere; a waitlist place is no membership either.
    add_community(services.db, "vol", name="Vol", capacity=0)
    slack.command("U3", "aanmelden vol")
    view = _open(slack, "U3", callback_id)
    assert "submit" not in view and _inputs(view) == {}
    shown = texts(view)
    assert "nog geen lid van een community" in shown
    assert "Aanmelden voor een community" in shown and "`/cop aanmelden <community>`" in shown


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("answers", "block", "says"),
    [
        ({"text": "   \n  "}, "text", "Je vraag is leeg"),
        ({"community": None, "text": "Een vraag?"}, "community", "Kies een community"),
        # Picked while still a member, submitted after leaving (or a forged value).
        ({"community": "lokaal-meten", "text": "Een vraag?"}, "community", "geen lid van Lokaal"),
        ({"community": "bestaat-niet", "text": "Een vraag?"}, "community", "bestaat niet meer"),
        ({"text": "x" * 3001}, "text", "3001 tekens"),
        ({"text": "met een \x00 erin"}, "text", "NUL"),
    ],
)
def test_bad_input_is_shown_at_its_block_and_nothing_is_stored(
    slack: CheckedSlack, services: Services, answers: dict[str, Any], block: str, says: str
) -> None:
    view = _open(slack, "U1", shortcuts.ASK_QUESTION)
    errors = _errors(_submit(slack, "U1", view, answers))
    assert list(errors) == [block]
    assert says in errors[block]
    assert _questions(services) == []


# -- Onderwerp voorstellen ---------------------------------------------------------------


@pytest.mark.usefixtures("ethiek")
def test_proposing_a_topic_stores_it_as_cop_onderwerp_and_shows_it_without_a_vote_button(
    slack: CheckedSlack, services: Services
) -> None:
    view = _open(slack, "U2", shortcuts.PROPOSE_TOPIC)
    assert view["title"]["text"] == "Onderwerp voorstellen"
    assert _options(view) == [("ethiek", "Ethiek")]

    done = _updated(_submit(slack, "U2", view, {"text": "Algoritmes <uitleggen>\nAan wie?"}))

    [topic] = _topics(services)
    assert (topic.text, topic.proposed_by, topic.status) == (
        "Algoritmes <uitleggen>\nAan wie?", "U2", "open",
    )  # fmt: skip
    shown = texts(done)
    assert "Je onderwerp voor *Ethiek* staat op de lijst" in shown
    assert ">Algoritmes &lt;uitleggen&gt;\n>Aan wie?" in shown
    assert all(b["type"] != "actions" for b in done["blocks"])


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("answers", "block", "says"),
    [
        ({"text": "  "}, "text", "Je onderwerp is leeg"),
        ({"community": None, "text": "Iets"}, "community", "Kies een community"),
        ({"community": "lokaal-meten", "text": "Iets"}, "community", "geen lid van Lokaal"),
        ({"text": "y" * 2001}, "text", "2001 tekens"),
    ],
)
def test_a_bad_topic_is_refused_at_its_block_and_nothing_is_stored(
    slack: CheckedSlack, services: Services, answers: dict[str, Any], block: str, says: str
) -> None:
    view = _open(slack, "U1", shortcuts.PROPOSE_TOPIC)
    errors = _errors(_submit(slack, "U1", view, answers))
    assert list(errors) == [block]
    assert says in errors[block]
    assert _topics(services) == []


# -- Bijeenkomst plannen -----------------------------------------------------------------


@pytest.mark.usefixtures("ethiek")
def test_a_facilitator_plans_a_meeting_for_a_community_they_facilitate(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    view = _open(slack, "UFAC", shortcuts.PLAN_MEETING)
    assert view["title"]["text"] == "Bijeenkomst plannen"
    assert _options(view) == [("ethiek", "Ethiek")]
    # The meeting form's own pickers, below the community picker.
    inputs = _inputs(view)
    assert list(inputs) == ["community", "date", "start", "end", "kind", "location", "title"]
    assert inputs["date"]["element"]["type"] == "datepicker"
    assert "Europe/Amsterdam" in texts(view)

    done = _updated(_submit(slack, "UFAC", view, {
        DATE: "2027-04-20", START: "14:00", "meeting_form_location": "Stadhuis <Utrecht>",
    }))  # fmt: skip

    [added] = _planned(services)
    assert added.starts_at == dt.datetime(2027, 4, 20, 12, 0, tzinfo=dt.UTC)  # summer time
    assert added.location == "Stadhuis <Utrecht>"
    shown = texts(done)
    assert "Ethiek" in shown and "20 april 2027" in shown
    assert "Stadhuis &lt;Utrecht&gt;" in shown
    assert services.wait_idle(5)
    assert dms_to(standin, "UFAC") == []  # the modal said it already


@pytest.mark.usefixtures("ethiek")
def test_an_admin_may_plan_for_every_community(slack: CheckedSlack) -> None:
    view = _open(slack, "UADMIN", shortcuts.PLAN_MEETING)
    assert _options(view) == [("ethiek", "Ethiek"), ("lokaal-meten", "Lokaal meten")]


@pytest.mark.usefixtures("ethiek")
def test_a_member_who_facilitates_nothing_gets_only_a_notice(slack: CheckedSlack) -> None:
    view = _open(slack, "U1", shortcuts.PLAN_MEETING)
    assert "submit" not in view and _inputs(view) == {}
    assert "Alleen kartrekkers plannen bijeenkomsten" in texts(view)


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("answers", "errors_at", "says"),
    [
        ({DATE: "2026-11-22", START: "14:00"}, ["date"], "verleden"),
        ({DATE: "2027-04-20", START: "14:00", "meeting_form_end": "13:00"}, ["end"], "na de "),
        ({"community": None, DATE: "2026-11-22", START: "14:00"}, ["community", "date"], "Kies"),
        # A community the facilitator does not facilitate: the service refuses it.
        ({"community": "lokaal-meten", DATE: "2027-04-20", START: "14:00"}, ["community"],
         "kartrekker"),
    ],
)  # fmt: skip
def test_a_bad_plan_is_refused_in_the_form_and_nothing_is_planned(
    slack: CheckedSlack,
    services: Services,
    answers: dict[str, Any],
    errors_at: list[str],
    says: str,
) -> None:
    view = _open(slack, "UFAC", shortcuts.PLAN_MEETING)
    errors = _errors(_submit(slack, "UFAC", view, answers))
    assert sorted(errors) == sorted(errors_at)
    assert says in errors[errors_at[0]]
    assert _planned(services) == []


@pytest.mark.usefixtures("ethiek")
def test_the_shortcuts_form_only_plans_whatever_its_metadata_says(
    slack: CheckedSlack, services: Services
) -> None:
    with services.db.read() as session:
        [existing] = session.scalars(select(Meeting))
        before = existing.starts_at
    view = _open(slack, "UFAC", shortcuts.PLAN_MEETING)
    forged = {**view, "private_metadata": json.dumps({"slug": "lokaal-meten",
                                                      "meeting": existing.id})}  # fmt: skip
    _updated(_submit(slack, "UFAC", forged, {DATE: "2027-04-20", START: "14:00"}))
    [added] = _planned(services)
    assert added.id != existing.id and added.starts_at.date() == dt.date(2027, 4, 20)
    with services.db.read() as session:
        untouched = session.get(Meeting, existing.id)
        assert untouched is not None and untouched.starts_at == before


# -- Aanmelden voor een community --------------------------------------------------------


def _status(services: Services, slug: str, user: str) -> str | None:
    with services.db.read() as session:
        return membership.status_by_slug(session, slug=slug, user_id=user)


@pytest.mark.usefixtures("ethiek")
def test_joining_offers_the_communities_one_is_not_in_and_welcomes_through_the_outbox(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "data", name="Data", capacity=10,
                  deadline=dt.date(2026, 12, 31))  # fmt: skip
    view = _open(slack, "U1", shortcuts.JOIN)
    assert view["title"]["text"] == "Aanmelden"
    # Not Ethiek, where U1 is a member.
    assert _options(view) == [("data", "Data"), ("lokaal-meten", "Lokaal meten")]
    options = _inputs(view)["community"]["element"]["options"]
    assert (
        options[0]["description"]["text"]
        == "0/10 leden, 10 vrij · aanmelden t/m donderdag 31 december 2026"
    )
    assert options[1]["description"]["text"] == "0 leden"

    done = _updated(_submit(slack, "U1", view, {"community": "data"}))

    assert _status(services, "data", "U1") == Membership.MEMBER
    assert "Je bent lid van *Data*" in texts(done)
    [welcome] = standin.wait_for("chat.postMessage", 1)
    assert welcome.args["channel"] == "U1"
    assert "Welkom bij *Data*" in texts(welcome.args)


@pytest.mark.usefixtures("ethiek")
def test_joining_a_full_community_puts_one_on_its_waitlist_and_says_so(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "klein", name="Klein", capacity=1)
    slack.command("U1", "aanmelden klein")
    view = _open(slack, "U3", shortcuts.JOIN)
    [klein] = [o for o in _inputs(view)["community"]["element"]["options"] if o["value"] == "klein"]
    assert klein["description"]["text"] == "1/1 leden, vol (0 op de wachtlijst)"

    done = _updated(_submit(slack, "U3", view, {"community": "klein"}))

    assert _status(services, "klein", "U3") == Membership.WAITLIST
    assert "*Klein* is vol (1 lid). Je staat op de wachtlijst op plek 1" in texts(done)


@pytest.mark.usefixtures("ethiek")
def test_a_community_that_closed_or_was_joined_meanwhile_is_refused_at_the_picker(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    add_community(services.db, "kort", name="Kort", deadline=dt.date(2026, 11, 23))
    view = _open(slack, "U3", shortcuts.JOIN)
    slack.command("U3", "aanmelden lokaal meten")  # in another window, meanwhile
    clock.advance(dt.timedelta(days=1))  # and the deadline passes

    closed = _errors(_submit(slack, "U3", view, {"community": "kort"}))
    assert closed == {"community": "Aanmelden voor Kort kon tot en met maandag 23 november 2026. "
                      "Kies een andere community."}  # fmt: skip
    already = _errors(_submit(slack, "U3", view, {"community": "lokaal-meten"}))
    assert "Je doet al mee met Lokaal meten" in already["community"]
    nothing = _errors(_submit(slack, "U3", view, {"community": None}))
    assert nothing == {"community": "Kies een community."}
    assert _status(services, "kort", "U3") is None


@pytest.mark.usefixtures("ethiek")
def test_with_nothing_left_to_join_the_modal_says_so(slack: CheckedSlack) -> None:
    slack.command("U1", "aanmelden lokaal meten")
    view = _open(slack, "U1", shortcuts.JOIN)
    assert "submit" not in view
    assert "geen community waarvoor je je nu kunt aanmelden" in texts(view)


def test_more_than_a_hundred_communities_offer_the_first_hundred_and_name_the_command(
    slack: CheckedSlack, services: Services
) -> None:
    for n in range(105):
        add_community(services.db, f"cop-{n:03}", name=f"CoP {n:03}")
    view = _open(slack, "U1", shortcuts.JOIN)
    options = _options(view)
    assert len(options) == 100
    assert options[0] == ("cop-000", "CoP 000") and options[-1] == ("cop-099", "CoP 099")
    assert "de eerste 100 van 105 communities" in texts(view)
    assert "`/cop aanmelden <community>`" in texts(view)
    # One beyond the hundred is still joined by its command.
    assert "Je bent lid van *CoP 104*" in slack.command("U1", "aanmelden cop-104").json()["text"]


def test_a_long_name_and_facts_stay_within_the_option_limits(
    slack: CheckedSlack, services: Services
) -> None:
    add_community(services.db, "lang", name="L" * 120, capacity=12,
                  deadline=dt.date(2026, 12, 31), approval=True)  # fmt: skip
    [option] = _inputs(_open(slack, "U1", shortcuts.JOIN))["community"]["element"]["options"]
    assert len(option["text"]["text"]) == 75
    # Seats, deadline and approval do not fit 75 characters: the seats do.
    assert option["description"]["text"] == "0/12 leden, 12 vrij"


# -- internal errors ---------------------------------------------------------------------


def _drop_memberships(services: Services) -> None:
    cascade = "" if services.db.is_sqlite else " CASCADE"
    with services.db.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE memberships{cascade}"))


def _apology_logged(view: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """The modal apologises with a reference, the log has the traceback under it, and the
    user sees nothing of it."""
    shown = texts(view)
    assert shown.startswith(":warning: Sorry, er ging iets mis aan onze kant.")
    match = REFERENCE.search(shown)
    assert match, shown
    [record] = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert record.exc_info is not None and "memberships" in str(record.exc_info[1])
    for word in ("Traceback", "sqlalchemy", "memberships"):
        assert word not in json.dumps(view)


@pytest.mark.usefixtures("ethiek")
def test_a_shortcut_that_fails_inside_opens_an_apology_with_a_logged_reference(
    slack: CheckedSlack, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    _drop_memberships(services)
    with caplog.at_level(logging.ERROR, logger="cop_bot"):
        view = _open(slack, "U1", shortcuts.JOIN)
    assert "submit" not in view
    _apology_logged(view, caplog)


@pytest.mark.usefixtures("ethiek")
def test_a_submission_that_fails_inside_updates_the_modal_to_an_apology(
    slack: CheckedSlack, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    view = _open(slack, "U1", shortcuts.ASK_QUESTION)
    _drop_memberships(services)
    with caplog.at_level(logging.ERROR, logger="cop_bot"):
        done = _updated(_submit(slack, "U1", view, {"text": "Een vraag?"}))
    _apology_logged(done, caplog)
    assert _questions(services) == []
