"""The refusals of topics, agendas, minutes and lessons, through the signed command, click
or form as Slack sends them: the reply the user reads (from the catalogue) and nothing
changed, in the database or in Slack; and an agenda whose channel post fails."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.i18n import Translator
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import membership
from storage.models import Lesson, Meeting
from tests.conftest import AMS
from tests.factories import add_community, meeting
from tests.handlers.state import changed_tables, database_state, slack_calls
from tests.handlers.support import CheckedSlack, buttons, dms_to, drain_outbox, texts

# NOW in the fixtures is Monday 23 November 2026, 11:00 in Amsterdam.
FRIDAY = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam
MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)
CHANNEL = "C0ETHIEK"
t = Translator("nl", AMS)


@pytest.fixture(autouse=True)
def communities(services: Services) -> None:
    """Ethiek (facilitator UFAC, member U1) with a meeting last Friday and one to come;
    Data (facilitator UFAC, member U1) with no meeting at all."""
    add_community(
        services.db, "ethiek", name="Ethiek", facilitators=("UFAC",), channel=CHANNEL,
        meetings=(meeting(FRIDAY, key="friday"), meeting(MARCH_30, key="maart")),
    )  # fmt: skip
    add_community(services.db, "data", name="Data", facilitators=("UFAC",))
    with services.db.write() as session:
        for slug in ("ethiek", "data"):
            membership.join(session, query=slug, user_id="U1", now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip
    drain_outbox(services)


def meeting_id(services: Services, key: str) -> int:
    with services.db.read() as session:
        return int(session.scalars(select(Meeting.id).where(Meeting.key == key)).one())


def refused(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, command: str
) -> dict[str, Any]:
    """`/cop <command>` by `user`: its ephemeral answer, once it is certain that the command
    changed nothing in the database and did nothing in Slack."""
    before = database_state(services)
    standin.clear()

    response = slack.command(user, command)

    assert response.status == 200
    reply = dict(response.json())
    assert reply["response_type"] == "ephemeral"
    assert services.wait_idle(5)
    assert changed_tables(before, database_state(services)) == []
    assert slack_calls(standin) == []
    return reply


# -- usage --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "command", "key"),
    [
        ("U1", "onderwerp", "agenda_topic_usage"),
        ("U1", "onderwerp ethiek", "agenda_topic_usage"),  # no topic
        ("U1", "onderwerp   ethiek   ", "agenda_topic_usage"),
        ("U1", "agenda", "agenda_usage"),
        ("UFAC", "agenda", "agenda_usage"),
        ("UFAC", "verslag", "minutes_usage"),
        ("U1", "verslag", "minutes_usage"),
        ("UFAC", "les", "lesson_usage"),
        ("UFAC", "les ethiek", "lesson_usage"),  # no lesson
    ],
)
def test_a_command_without_what_it_needs_gets_its_usage(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str, command: str,
    key: str,
) -> None:  # fmt: skip
    assert refused(slack, services, standin, user, command)["text"] == t(key)


# -- /cop agenda without an upcoming meeting ---------------------------------------------


@pytest.mark.parametrize("user", ["U1", "UFAC"], ids=["member", "facilitator"])
def test_the_agenda_of_a_community_without_an_upcoming_meeting_says_none_is_planned(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, user: str
) -> None:
    reply = refused(slack, services, standin, user, "agenda data")

    assert reply["text"] == t("agenda_title", name="Data")
    assert t("agenda_no_meeting", name="Data") in texts(reply)
    # Nothing to write an agenda for: no "Agenda opstellen", also not for the facilitator.
    assert [b["action_id"] for b in buttons(reply)] == []


def test_agenda_opstellen_for_a_community_without_an_upcoming_meeting_says_plan_one_first(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    # A button kept from when the community had a meeting to come (or a forged click):
    # it opens no form.
    before = database_state(services)
    standin.clear()

    assert slack.click("UFAC", "agenda_open", "data").status == 200
    assert services.wait_idle(5)

    assert slack_calls(standin) == ["response_url"]
    [answer] = standin.calls("response_url")
    assert answer.args["text"] == t("agenda_no_meeting_to_plan", name="Data", slug="data")
    assert changed_tables(before, database_state(services)) == []


# -- /cop lessen with none, or of an unknown community -----------------------------------


def test_the_lessons_when_none_were_shared_say_so(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    assert refused(slack, services, standin, "U1", "lessen")["text"] == t("lessons_none")
    assert refused(slack, services, standin, "U1", "lessen ethiek")["text"] == t(
        "lessons_none_community", name="Ethiek"
    )


def test_the_lessons_of_a_community_without_any_say_so_while_others_have_some(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    assert slack.command("UFAC", "les ethiek Begin klein.").status == 200
    assert services.wait_idle(5)
    drain_outbox(services)

    reply = refused(slack, services, standin, "U1", "lessen data")

    assert reply["text"] == t("lessons_none_community", name="Data")
    with services.db.read() as session:
        assert session.scalars(select(Lesson.text)).all() == ["Begin klein."]


def test_the_lessons_of_an_unknown_community_say_it_is_unknown(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    reply = refused(slack, services, standin, "U1", "lessen xyzzy")
    assert reply["text"] == f"{t('not_found', query='xyzzy')}\n{t('not_found_hint')}"


def test_a_lesson_for_an_unknown_community_names_the_community_as_typed(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    reply = refused(slack, services, standin, "UFAC", "les xyzzy Begin klein.")
    assert reply["text"] == f"{t('not_found', query='xyzzy')}\n{t('not_found_hint')}"


# -- minutes: the meeting gone, the form too late ------------------------------------------


def test_minutes_for_a_meeting_removed_while_the_form_was_open_are_refused_at_the_field(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    assert slack.command("UFAC", "verslag ethiek").status == 200
    view = slack.opened_view()
    friday = meeting_id(services, "friday")
    with services.db.write() as session:
        session.execute(delete(Meeting).where(Meeting.id == friday))
    before = database_state(services)
    standin.clear()

    answer = slack.submit("UFAC", view, {"minutes_text": "Wat we leerden."}).json()

    # Under the meeting's field, and the form stays open with the text typed in it.
    assert answer == {
        "response_action": "errors",
        "errors": {"minutes_meeting": t("minutes_meeting_gone")},
    }
    assert services.wait_idle(5)
    assert changed_tables(before, database_state(services)) == []
    assert slack_calls(standin) == []


def test_the_nudge_button_of_a_meeting_that_is_gone_says_so_and_opens_no_form(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    friday = meeting_id(services, "friday")
    with services.db.write() as session:
        session.execute(delete(Meeting).where(Meeting.id == friday))
    before = database_state(services)
    standin.clear()

    assert slack.click("UFAC", "minutes_open", str(friday)).status == 200
    assert services.wait_idle(5)

    assert slack_calls(standin) == ["response_url"]
    [answer] = standin.calls("response_url")
    assert answer.args["text"] == t("minutes_meeting_gone")
    assert changed_tables(before, database_state(services)) == []


def test_when_the_minutes_form_cannot_open_in_time_the_reply_says_to_type_it_again(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    # Slack refuses a trigger_id older than 3 seconds.
    standin.fail("views.open", error="expired_trigger_id")
    before = database_state(services)

    reply = slack.command("UFAC", "verslag ethiek").json()

    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == t("minutes_form_late", slug="ethiek")
    assert services.wait_idle(5)
    assert changed_tables(before, database_state(services)) == []
    [refused_open] = standin.calls("views.open")
    assert refused_open.response == {"ok": False, "error": "expired_trigger_id"}


# -- an agenda whose channel post fails ---------------------------------------------------


def test_an_agenda_whose_channel_post_fails_is_kept_and_the_facilitator_told_what_to_do(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    reply = slack.command("UFAC", "agenda ethiek").json()
    [compose] = [b for b in buttons(reply) if b["action_id"] == "agenda_open"]
    slack.click("UFAC", compose["action_id"], compose["value"])
    view = slack.opened_view()
    standin.clear()
    # The bot is not in the channel: Slack refuses the post.
    standin.fail("chat.postMessage", error="not_in_channel")

    answer = slack.submit("UFAC", view, {"agenda_text": "1. Welkom\n2. Casus"})
    assert (answer.status, answer.body) == (200, "")
    assert services.wait_idle(5)
    drain_outbox(services)

    [post] = [c for c in standin.calls("chat.postMessage") if c.args["channel"] == CHANNEL]
    assert post.response == {"ok": False, "error": "not_in_channel"}
    [told] = dms_to(standin, "UFAC")
    assert told.args["text"] == t(
        "agenda_post_failed", name="Ethiek", channel=CHANNEL, error="not_in_channel"
    )
    # The agenda is kept (nothing typed is lost), but no post is recorded as made.
    with services.db.read() as session:
        stored = session.get(Meeting, meeting_id(services, "maart"))
        assert stored is not None
        assert (stored.agenda, stored.agenda_version, stored.agenda_ts) == (
            "1. Welkom\n2. Casus", 1, None,
        )  # fmt: skip
    assert "1. Welkom" in texts(slack.command("U1", "agenda ethiek").json())

    # Saving it again, as the message says, posts it once the bot may.
    slack.click("UFAC", compose["action_id"], compose["value"])
    assert slack.submit("UFAC", slack.opened_view(), {}).body == ""
    assert services.wait_idle(5)
    drain_outbox(services)
    posted = [c for c in standin.calls("chat.postMessage") if c.args["channel"] == CHANNEL]
    assert [c.response["ok"] for c in posted] == [False, True]
    with services.db.read() as session:
        stored = session.get(Meeting, meeting_id(services, "maart"))
        assert stored is not None
        assert stored.agenda_ts == posted[-1].response["ts"]
