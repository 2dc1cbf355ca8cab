"""Topics and agendas in Slack: propose, list, vote, the agenda form and its channel post."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import meetings, membership, reminders
from handlers import render
from storage.models import Meeting, Topic, TopicVote
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, buttons, dms_to, dumps, sent, texts

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam
APRIL_20 = dt.datetime(2027, 4, 20, 12, 0, tzinfo=dt.UTC)
CHANNEL = "C0ETHIEK"


@pytest.fixture
def ethiek(services: Services) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", facilitators=("UFAC",), channel=CHANNEL,
        meetings=(
            meeting(MARCH_30, key="maart", title="Startbijeenkomst"),
            meeting(APRIL_20, key="april"),
        ),
    )  # fmt: skip
    with services.db.write() as session:
        for user in ("U1", "U2", "U3"):
            membership.join(session, query="ethiek", user_id=user, now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip


def vote_buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in buttons(payload) if b["action_id"].startswith("topic_vote")]


def click_vote(slack: CheckedSlack, user: str, listing: dict[str, Any], index: int) -> None:
    """Click the index-th vote button of a list as Slack sends it: with its block's id."""
    sections = [b for b in listing["blocks"] if b.get("accessory", {}).get("type") == "button"]
    block = sections[index]
    accessory = block["accessory"]
    slack.click(user, accessory["action_id"], accessory["value"], block_id=block["block_id"])


def last_response(standin: SlackStandIn, services: Services) -> dict[str, Any]:
    services.wait_idle(5)
    return standin.calls("response_url")[-1].args


def channel_posts(standin: SlackStandIn, method: str = "chat.postMessage") -> list[Any]:
    return [c for c in standin.calls(method) if c.args.get("channel") == CHANNEL]


def stored_meeting(services: Services) -> Meeting:
    with services.db.read() as session:
        found = session.scalars(select(Meeting).order_by(Meeting.starts_at)).first()
        assert found is not None
        return found


@pytest.mark.usefixtures("ethiek")
def test_members_propose_topics_and_the_list_shows_them_by_votes_with_their_proposer(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    reply = slack.command("U1", "onderwerp ethiek Algoritmeregister voor gemeenten").json()
    assert "Algoritmeregister voor gemeenten" in texts(reply)
    assert len(vote_buttons(reply)) == 1
    slack.command("U2", "topic ethiek Privacy bij slimme camera's")

    listing = slack.command("U3", "onderwerpen ethiek").json()
    body = texts(listing)
    assert body.index("Algoritmeregister") < body.index("Privacy")
    assert "<@U1>" in body and "<@U2>" in body
    assert [b["text"]["text"] for b in vote_buttons(listing)] == ["👍 Stem", "👍 Stem"]

    click_vote(slack, "U3", listing, 1)  # Privacy
    redrawn = last_response(standin, services)
    assert redrawn["replace_original"] is True
    body = texts(redrawn)
    assert body.index("Privacy") < body.index("Algoritmeregister")
    assert "*1* :+1:  Privacy" in body
    assert "jij stemde hierop" in body


@pytest.mark.usefixtures("ethiek")
def test_clicking_vote_a_second_time_takes_the_vote_back(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.command("U1", "onderwerp ethiek Algoritmeregister")
    listing = slack.command("U2", "onderwerpen ethiek").json()

    click_vote(slack, "U2", listing, 0)
    assert "*1* :+1:" in texts(last_response(standin, services))
    click_vote(slack, "U2", listing, 0)
    assert "*0* :+1:" in texts(last_response(standin, services))
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(TopicVote)) == 0


@pytest.mark.usefixtures("ethiek")
def test_the_vote_button_under_a_new_topic_confirms_the_vote(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    reply = slack.command("U1", "onderwerp ethiek Algoritmeregister").json()
    [vote] = vote_buttons(reply)
    slack.click("U2", vote["action_id"], vote["value"])
    answer = last_response(standin, services)
    assert "1 stem" in texts(answer)
    assert answer["replace_original"] is False


@pytest.mark.usefixtures("ethiek")
def test_someone_who_is_not_a_member_is_refused_everywhere_and_told_how_to_join(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.command("U1", "onderwerp ethiek Algoritmeregister")
    listing = slack.command("U1", "onderwerpen ethiek").json()

    for text in ("onderwerp ethiek Iets anders", "onderwerpen ethiek", "agenda ethiek"):
        answer = texts(slack.command("UOUTSIDER", text).json())
        assert "Alleen leden van *Ethiek*" in answer
        assert "/cop aanmelden ethiek" in answer
    click_vote(slack, "UOUTSIDER", listing, 0)
    assert "/cop aanmelden ethiek" in texts(last_response(standin, services))
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(TopicVote)) == 0
        assert session.scalar(select(func.count()).select_from(Topic)) == 1


@pytest.mark.usefixtures("ethiek")
def test_a_topic_over_2000_characters_is_refused_naming_the_limit_and_given_back(
    slack: CheckedSlack, services: Services
) -> None:
    long = "Lang verhaal " * 160  # 2080 characters
    reply = slack.command("U1", f"onderwerp ethiek {long}").json()
    body = texts(reply)
    assert "2000" in body
    assert long.strip()[:500] in body
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Topic)) == 0


@pytest.mark.usefixtures("ethiek")
def test_a_long_list_comes_in_pages_of_fifteen_with_a_more_button(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    for n in range(17):
        slack.command("U1", f"onderwerp ethiek Onderwerp nummer {n}")
    listing = slack.command("U2", "onderwerpen ethiek").json()
    assert len(vote_buttons(listing)) == 15
    [more] = [b for b in buttons(listing) if b["action_id"].startswith("topics_page")]
    assert more["text"]["text"] == "Meer"

    slack.click("U2", more["action_id"], more["value"])
    page_two = last_response(standin, services)
    assert page_two["replace_original"] is True
    assert len(vote_buttons(page_two)) == 2
    assert "Onderwerp nummer 16" in texts(page_two)
    assert "Pagina 2 van 2" in texts(page_two)

    assert "Onderwerp nummer 16" in texts(slack.command("U2", "onderwerpen ethiek 2").json())


@pytest.mark.usefixtures("ethiek")
def test_a_member_sees_no_agenda_yet_with_the_top_topics_and_no_button(
    slack: CheckedSlack,
) -> None:
    slack.command("U1", "onderwerp ethiek Algoritmeregister")
    reply = slack.command("U2", "agenda ethiek").json()
    body = texts(reply)
    assert "nog geen agenda" in body
    assert "dinsdag 30 maart 2027 om 14:00" in body
    assert "1. Algoritmeregister (0 :+1:)" in body
    assert not [b for b in buttons(reply) if b["action_id"] == "agenda_open"]


def open_form(slack: CheckedSlack, user: str = "UFAC") -> dict[str, Any]:
    reply = slack.command(user, "agenda ethiek").json()
    [compose] = [b for b in buttons(reply) if b["action_id"] == "agenda_open"]
    assert compose["text"]["text"] == "Agenda opstellen"
    slack.click(user, compose["action_id"], compose["value"])
    return slack.opened_view()


@pytest.mark.usefixtures("ethiek")
def test_a_facilitator_writes_the_agenda_from_the_voted_topics_and_it_is_posted_in_the_channel(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.command("U1", "onderwerp ethiek Inkoopvoorwaarden")
    slack.command("U2", "onderwerp ethiek Algoritmeregister")
    listing = slack.command("U3", "onderwerpen ethiek").json()
    click_vote(slack, "U3", listing, 1)  # Algoritmeregister
    services.wait_idle(5)

    view = open_form(slack)
    assert len(standin.calls("views.open")) == 1
    assert view["callback_id"] == "agenda_form"
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["agenda_text"]["initial_value"] == "1. Algoritmeregister\n2. Inkoopvoorwaarden"
    assert inputs["agenda_meeting"]["initial_option"]["value"] == str(stored_meeting(services).id)

    answer = slack.submit("UFAC", view, {"agenda_speakers": "Anna de Vries (Utrecht)"})
    assert (answer.status, answer.body) == (200, "")
    services.wait_idle(5)

    [post] = channel_posts(standin)
    assert "Algoritmeregister" in texts(post.args)
    assert "Anna de Vries (Utrecht)" in texts(post.args)
    assert "bewerkt" not in texts(post.args)
    stored = stored_meeting(services)
    assert (stored.agenda_version, stored.agenda_by) == (1, "UFAC")
    assert stored.agenda_ts == post.response["ts"]
    assert "geplaatst in <#C0ETHIEK>" in dms_to(standin, "UFAC")[-1].args["text"]

    body = texts(slack.command("U1", "agenda ethiek").json())
    assert "1. Algoritmeregister" in body
    assert "*Sprekers:* Anna de Vries (Utrecht)" in body
    assert "bewerkt" not in body
    # Topics taken into the agenda leave the open list.
    assert "Algoritmeregister" not in texts(slack.command("U1", "onderwerpen ethiek").json())


@pytest.mark.usefixtures("ethiek")
def test_editing_the_agenda_updates_the_channel_post_and_shows_it_as_edited(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.submit("UFAC", open_form(slack), {"agenda_text": "1. Welkom\n2. Casus Utrecht"})
    services.wait_idle(5)
    [post] = channel_posts(standin)
    first_ts = stored_meeting(services).agenda_ts
    assert first_ts == post.response["ts"]

    view = open_form(slack)
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["agenda_text"]["initial_value"] == "1. Welkom\n2. Casus Utrecht"
    slack.submit("UFAC", view, {"agenda_text": "1. Welkom\n2. Casus Zwolle"})
    services.wait_idle(5)

    assert len(channel_posts(standin)) == 1  # no second post
    [update] = channel_posts(standin, "chat.update")
    assert update.args["ts"] == first_ts
    assert "Agenda (bewerkt) Ethiek" in texts(update.args)
    assert "Casus Zwolle" in texts(update.args)
    assert stored_meeting(services).agenda_version == 2
    assert "bijgewerkt" in dms_to(standin, "UFAC")[-1].args["text"]

    body = texts(slack.command("U1", "agenda ethiek").json())
    assert "Agenda (bewerkt)" in body
    assert "Casus Zwolle" in body


@pytest.mark.usefixtures("ethiek")
def test_a_forged_submission_from_a_member_is_refused_and_changes_nothing(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    view = open_form(slack)
    answer = slack.submit("U1", view, {"agenda_text": "Gekaapt <!channel>"}).json()
    assert answer["response_action"] == "errors"
    assert "kartrekker" in answer["errors"]["agenda_meeting"]
    services.wait_idle(5)
    stored = stored_meeting(services)
    assert (stored.agenda, stored.agenda_version, stored.agenda_ts) == (None, 0, None)
    assert channel_posts(standin) == []


@pytest.mark.usefixtures("ethiek")
def test_a_forged_click_on_agenda_opstellen_from_a_member_opens_no_form(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.click("U1", "agenda_open", "ethiek")
    assert standin.calls("views.open") == []
    assert "kartrekker" in texts(last_response(standin, services))


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    ("answers", "field", "expected"),
    [
        ({"agenda_text": "   "}, "agenda_text", "Vul de agenda in"),
        ({"agenda_text": "x" * 3001}, "agenda_text", "hoogstens 3000"),
        ({"agenda_text": "Goed", "agenda_speakers": "y" * 501}, "agenda_speakers", "hoogstens 500"),
    ],
)
def test_an_empty_or_too_long_agenda_gets_an_error_at_its_field_naming_the_limit(
    slack: CheckedSlack, standin: SlackStandIn, services: Services,
    answers: dict[str, str], field: str, expected: str,
) -> None:  # fmt: skip
    answer = slack.submit("UFAC", open_form(slack), answers).json()
    assert answer["response_action"] == "errors"
    assert expected in answer["errors"][field]
    services.wait_idle(5)
    assert stored_meeting(services).agenda_version == 0
    assert channel_posts(standin) == []


@pytest.mark.usefixtures("ethiek")
def test_user_text_reaches_slack_escaped_in_replies_lists_forms_and_channel_posts(
    slack: CheckedSlack, standin: SlackStandIn, services: Services
) -> None:
    slack.command("U1", "onderwerp ethiek <!channel> kom allemaal & <@U2>")
    slack.command("U2", "onderwerpen ethiek")
    slack.command("U2", "agenda ethiek")
    slack.submit(
        "UFAC", open_form(slack), {"agenda_speakers": "<!here> <https://evil.example|klik>"}
    )
    services.wait_idle(5)
    slack.command("U2", "agenda ethiek")

    everything = dumps(slack.replies() + sent(standin))
    assert "<!channel>" not in everything
    assert "<!here>" not in everything
    assert "<https://evil.example" not in everything
    assert "&lt;!channel&gt; kom allemaal &amp; &lt;@U2&gt;" in everything
    assert len(channel_posts(standin)) == 1


@pytest.mark.usefixtures("ethiek")
def test_help_lists_the_topic_and_agenda_commands(slack: CheckedSlack) -> None:
    body = texts(slack.command("UFAC", "hulp").json())
    assert "/cop onderwerp ethiek" in body
    assert "/cop onderwerpen ethiek" in body
    assert "Agenda opstellen" in body


@pytest.mark.usefixtures("ethiek")
def test_the_reminder_before_the_meeting_carries_the_agenda_and_the_speakers(
    slack: CheckedSlack, services: Services
) -> None:
    with services.db.write() as session:
        meetings.sync_reminders(
            session, offsets=services.settings.reminder_offsets, now=services.clock(),
            tz=services.settings.timezone,
        )  # fmt: skip
    slack.submit(
        "UFAC", open_form(slack), {"agenda_text": "1. Welkom", "agenda_speakers": "Anna & Bas"}
    )
    services.wait_idle(5)
    week_before = MARCH_30 - dt.timedelta(days=6)  # the 7-day reminder is due
    with services.db.write() as session:
        [fanned] = reminders.fan_out_due(session, now=week_before)
    with services.db.read() as session:
        to_u1 = reminders.to_send(
            session, reminder_id=fanned.reminder_id, recipient="U1", dm=True, now=week_before
        )
    assert to_u1 is not None

    body = texts(asdict(render.reminder(services.translator("U1"), to_u1, now=week_before)))
    assert "1. Welkom" in body
    assert "*Sprekers:* Anna &amp; Bas" in body
