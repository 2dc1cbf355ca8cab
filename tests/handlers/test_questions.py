"""Open questions from Slack: ask, list, save a message, vote, move, answer; and every
refusal, including forged clicks and forms."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.runtime import Services
from bot.sandbox.standin import Call, SlackStandIn
from bot.services import membership
from storage.models import Question, QuestionVote
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, buttons, dms_to, dumps, settle_outbox, texts


@pytest.fixture
def ethiek(services: Services) -> None:
    add_community(services.db, "ethiek", name="Ethiek", facilitators=("UFAC",))
    add_community(services.db, "lokaal-meten", name="Lokaal meten")
    with services.db.write() as session:
        for user in ("U1", "U2", "U3"):
            membership.join(session, query="ethiek", user_id=user, now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip
    settle_outbox(services)  # their welcomes went out long ago


def _ask(slack: CheckedSlack, user: str, text: str) -> int:
    """`user` asks in ethiek; returns the question number from the reply."""
    reply = slack.command(user, f"vraag ethiek {text}").json()
    found = re.search(r"\*#(\d+)\*", reply["text"])
    assert found, reply["text"]
    return int(found.group(1))


def _stored(services: Services, question_id: int) -> Question:
    with services.db.read() as session:
        question = session.get(Question, question_id)
        assert question is not None
        return question


def _count(services: Services, model: Any) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _click(slack: CheckedSlack, standin: SlackStandIn, user: str, action_id: str,
           value: str) -> Call:  # fmt: skip
    """`user` clicks a button; returns the answer the app sent to the response_url."""
    before = len(standin.calls("response_url"))
    assert slack.click(user, action_id, value).status == 200
    return standin.wait_for("response_url", before + 1)[-1]


def _list(slack: CheckedSlack, user: str, rest: str = "ethiek") -> dict[str, Any]:
    reply = slack.command(user, f"vragen {rest}")
    assert reply.status == 200
    return dict(reply.json())


def _action_ids(payload: dict[str, Any]) -> list[str]:
    return [b["action_id"] for b in buttons(payload)]


@pytest.mark.usefixtures("ethiek")
def test_a_member_asks_a_question_and_finds_it_in_the_list(
    slack: CheckedSlack, services: Services
) -> None:
    reply = slack.command("U1", "vraag ethiek Hoe leggen jullie\nalgoritmes uit?").json()

    number = _stored_id(services)
    assert reply["text"] == (
        f":question: Je vraag staat genoteerd als *#{number}* in *Ethiek*. "
        "Alle vragen: `/cop vragen ethiek`."
    )
    listed = _list(slack, "U2")
    body = texts(listed)
    assert (
        f"*#{number}* · _open_ · :+1: 0 · gevraagd door <@U1>\nHoe leggen jullie\nalgoritmes uit?"
        in body
    )
    assert _action_ids(listed) == [f"question_vote-{number}"]
    # The English words work too.
    assert _ask(slack, "U2", "Second?") > number
    assert "open" in texts(slack.command("U2", "questions ethiek").json())


def _stored_id(services: Services) -> int:
    with services.db.read() as session:
        return max(session.scalars(select(Question.id)))


@pytest.mark.usefixtures("ethiek")
def test_someone_outside_the_community_may_not_ask_or_read_and_is_told_how_to_join(
    slack: CheckedSlack, services: Services
) -> None:
    _ask(slack, "U1", "Mag dit?")

    asked = slack.command("U9", "vraag ethiek Ik ben geen lid").json()
    listed = _list(slack, "U9")

    for reply in (asked, listed):
        assert reply["text"] == (
            "Alleen leden en kartrekkers van *Ethiek* kunnen daar vragen stellen, lezen en "
            "erop stemmen. Word lid met `/cop aanmelden ethiek`."
        )
    assert "Mag dit?" not in dumps([listed])
    assert _count(services, Question) == 1


@pytest.mark.usefixtures("ethiek")
def test_a_question_over_3000_characters_is_refused_naming_the_limit_and_echoed_back(
    slack: CheckedSlack, services: Services
) -> None:
    text = "Waarom " * 499 + "<eind>"  # 3499 characters

    reply = slack.command("U1", f"vraag ethiek {text}").json()

    assert reply["text"].startswith("Je vraag is 3499 tekens lang; het maximum is 3000 tekens.")
    # Cut into sections at spaces, as many as it takes.
    echoed = " ".join(b["text"]["text"] for b in reply["blocks"][1:])
    assert len(reply["blocks"]) == 3
    assert echoed.replace("&lt;", "<").replace("&gt;", ">") == text
    assert _count(services, Question) == 0


@pytest.mark.usefixtures("ethiek")
def test_a_question_without_text_or_community_gets_the_usage(slack: CheckedSlack) -> None:
    assert "`/cop vraag ethiek Hoe" in slack.command("U1", "vraag").json()["text"]
    assert "`/cop vraag ethiek Hoe" in slack.command("U1", "vraag ethiek").json()["text"]
    assert "`/cop vragen ethiek`" in slack.command("U1", "vragen").json()["text"]
    assert "Bedoel je: `ethiek`?" in slack.command("U1", "vraag etiek Waarom?").json()["text"]


@pytest.mark.usefixtures("ethiek")
def test_channel_mentions_and_fake_links_in_questions_and_answers_are_escaped(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    number = _ask(slack, "U1", "<!channel> kijk <https://evil.example|hier> <@U2>")
    slack.click("UFAC", f"question_answer_open-{number}", str(number))
    slack.submit("UFAC", slack.opened_view(), {"answer_text": "<!here> & <!everyone>"})
    assert services.wait_idle(5)

    everything = dumps(slack.replies() + [c.args for c in standin.calls("chat.postMessage")])
    everything += dumps([_list(slack, "U2")])
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<https://evil", "<@U2>"):
        assert raw not in everything
    assert "&lt;!channel&gt; kijk &lt;https://evil.example|hier&gt;" in everything
    assert "&lt;!here&gt; &amp; &lt;!everyone&gt;" in everything


def _shortcut(slack: CheckedSlack, user: str, text: str, ts: str = "1700000000.000100") -> None:
    response = slack.shortcut(user, "save_question", {"ts": ts, "text": text, "user": "U9"},
                              "C0GENERAL")  # fmt: skip
    assert response.status == 200


@pytest.mark.usefixtures("ethiek")
def test_saving_a_message_as_a_question_keeps_the_text_and_a_link_to_the_message(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    _shortcut(slack, "U1", "Weet iemand hoe Utrecht dit doet?")

    [opened] = standin.calls("views.open")
    view = slack.opened_view()
    assert view["callback_id"] == "save_question"
    select_element = view["blocks"][0]["element"]
    assert [o["value"] for o in select_element["options"]] == ["ethiek"]
    assert select_element["initial_option"]["value"] == "ethiek"
    assert view["blocks"][1]["element"]["initial_value"] == "Weet iemand hoe Utrecht dit doet?"

    response = slack.submit("U1", view, {"question_text": "Hoe doet Utrecht dit?"})
    assert (response.status, response.body) == (200, "")
    assert services.wait_idle(5)

    stored = _stored(services, _stored_id(services))
    [link] = standin.calls("chat.getPermalink")
    assert link.args["channel"] == "C0GENERAL"
    assert link.args["message_ts"] == "1700000000.000100"
    assert (stored.text, stored.asked_by, stored.source_channel, stored.source_ts) == (
        "Hoe doet Utrecht dit?", "U1", "C0GENERAL", "1700000000.000100",
    )  # fmt: skip
    assert stored.permalink == link.response["permalink"]
    [confirm] = dms_to(standin, "U1")
    assert f"open vraag *#{stored.id}* in *Ethiek*" in confirm.args["text"]
    assert f"<{stored.permalink}|naar het bericht>" in texts(_list(slack, "U2"))
    assert opened.args["trigger_id"]


@pytest.mark.usefixtures("ethiek")
def test_the_shortcut_tells_someone_in_no_community_instead_of_opening_a_form(
    slack: CheckedSlack, standin: SlackStandIn
) -> None:
    _shortcut(slack, "U9", "Een vraag")

    [answer] = standin.wait_for("response_url", 1)
    assert answer.args["text"].startswith("Je bent nog geen lid van een community")
    assert standin.calls("views.open") == []


@pytest.mark.usefixtures("ethiek")
def test_a_long_message_is_prefilled_cut_to_3000_characters(
    slack: CheckedSlack, services: Services
) -> None:
    _shortcut(slack, "UADMIN", "woord " * 800)

    view = slack.opened_view()
    prefill = view["blocks"][1]["element"]["initial_value"]
    assert len(prefill) <= 3000 and prefill.endswith("woord…")
    # An admin may save in any community, so there is no preselected one.
    assert [o["value"] for o in view["blocks"][0]["element"]["options"]] == [
        "ethiek", "lokaal-meten",
    ]  # fmt: skip
    assert "initial_option" not in view["blocks"][0]["element"]


@pytest.mark.usefixtures("ethiek")
def test_the_save_form_refuses_long_text_and_a_forged_community_and_stores_nothing(
    slack: CheckedSlack, services: Services
) -> None:
    _shortcut(slack, "U1", "Kort")
    view = slack.opened_view()

    too_long = slack.submit("U1", view, {"question_text": "x" * 3001}).json()
    # U9 is in no community but forges a submission of U1's form.
    forged = slack.submit("U9", view, {}).json()
    # U1 forges a community they are not a member of into the form.
    view["blocks"][0]["element"]["options"].append(
        {"text": {"type": "plain_text", "text": "Lokaal meten"}, "value": "lokaal-meten"}
    )
    other = slack.submit("U1", view, {"question_community": "lokaal-meten"}).json()

    assert too_long == {
        "response_action": "errors",
        "errors": {"text": "Dit is 3001 tekens lang; het maximum is 3000 tekens."},
    }
    assert forged["errors"] == {
        "community": "Je bent geen lid van Ethiek. Kies een van je eigen communities."
    }
    assert other["errors"] == {
        "community": "Je bent geen lid van Lokaal meten. Kies een van je eigen communities."
    }
    assert services.wait_idle(5)
    assert _count(services, Question) == 0


@pytest.mark.usefixtures("ethiek")
def test_a_vote_counts_once_and_a_second_click_takes_it_back(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    number = _ask(slack, "U1", "Stemmen?")

    first = _click(slack, standin, "U2", "question_vote", str(number))
    listed = _list(slack, "U2")
    second = _click(slack, standin, "U2", f"question_vote-{number}", str(number))

    assert first.args["text"] == f":+1: Je stem op vraag #{number} telt. De vraag heeft nu 1 stem."
    assert first.args["replace_original"] is False
    assert ":+1: 1" in texts(listed)
    assert [b["text"]["text"] for b in buttons(listed)] == ["Stem intrekken"]
    assert (
        second.args["text"]
        == f"Je stem op vraag #{number} is ingetrokken. De vraag heeft nu 0 stemmen."
    )
    assert _count(services, QuestionVote) == 0


@pytest.mark.usefixtures("ethiek")
def test_someone_outside_the_community_cannot_vote_with_a_forged_click(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    number = _ask(slack, "U1", "Stemmen?")

    refused = _click(slack, standin, "U9", f"question_vote-{number}", str(number))

    assert refused.args["text"].startswith("Alleen leden en kartrekkers van *Ethiek*")
    assert _count(services, QuestionVote) == 0


@pytest.mark.usefixtures("ethiek")
def test_a_facilitator_moves_a_question_to_research_and_then_to_a_working_group(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    number = _ask(slack, "U1", "Wie zoekt dit uit?")
    assert _action_ids(_list(slack, "UFAC")) == [
        f"question_vote-{number}", f"question_status_research-{number}",
        f"question_status_working_group-{number}", f"question_answer_open-{number}",
    ]  # fmt: skip

    moved = _click(slack, standin, "UFAC", f"question_status_research-{number}", str(number))
    assert moved.args["text"] == f"Vraag #{number} staat nu op *in onderzoek*."
    listed = _list(slack, "UFAC")
    assert "_in onderzoek_" in texts(listed)
    assert f"question_status_research-{number}" not in _action_ids(listed)

    _click(slack, standin, "UFAC", f"question_status_working_group-{number}", str(number))
    assert "_werkgroep_" in texts(_list(slack, "U2"))
    stored = _stored(services, number)
    assert (stored.status, stored.status_by) == ("working_group", "UFAC")


@pytest.mark.usefixtures("ethiek")
def test_a_member_forging_facilitator_clicks_is_refused_and_nothing_changes(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    number = _ask(slack, "U1", "Mag ik dit zelf?")
    assert _action_ids(_list(slack, "U2")) == [f"question_vote-{number}"]

    moved = _click(slack, standin, "U2", f"question_status_research-{number}", str(number))
    opened = _click(slack, standin, "U2", f"question_answer_open-{number}", str(number))

    for refused in (moved, opened):
        assert refused.args["text"] == (
            "Dat mag alleen een kartrekker van deze community of een beheerder."
        )
    assert standin.calls("views.open") == []
    stored = _stored(services, number)
    assert (stored.status, stored.status_by) == ("open", None)


@pytest.mark.usefixtures("ethiek")
def test_an_answer_reaches_the_asker_and_every_voter_once_with_question_and_answer(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    number = _ask(slack, "U1", "Hoe regel je toestemming?")
    for voter in ("U1", "U2", "U3"):  # the asker votes too, and hears it once
        _click(slack, standin, voter, f"question_vote-{number}", str(number))

    _click_open = slack.click("UFAC", f"question_answer_open-{number}", str(number))
    assert _click_open.status == 200
    view = slack.opened_view()
    assert (view["callback_id"], view["private_metadata"]) == ("question_answer", str(number))
    assert "Hoe regel je toestemming?" in texts({"blocks": view["blocks"]})
    response = slack.submit("UFAC", view, {"answer_text": "Met een verwerkersovereenkomst."})
    assert (response.status, response.body) == (200, "")
    assert services.wait_idle(5)

    voted = f":bulb: Vraag *#{number}* in *Ethiek*, waarop je stemde, is beantwoord door <@UFAC>."
    for user, intro in (
        ("U1", f":bulb: Je vraag *#{number}* in *Ethiek* is beantwoord door <@UFAC>."),
        ("U2", voted),
        ("U3", voted),
    ):
        [dm] = dms_to(standin, user)
        assert dm.args["text"] == intro
        assert "*Vraag:*\nHoe regel je toestemming?" in texts(dm.args)
        assert "*Antwoord:*\nMet een verwerkersovereenkomst." in texts(dm.args)
    [confirm] = dms_to(standin, "UFAC")
    assert (
        "Het antwoord gaat naar 3 leden die de vraag stelden of erop stemden."
        in confirm.args["text"]
    )

    stored = _stored(services, number)
    assert (stored.status, stored.answer, stored.answered_by, stored.answered_at) == (
        "answered", "Met een verwerkersovereenkomst.", "UFAC", services.clock(),
    )  # fmt: skip
    member_view = _list(slack, "U2")
    assert "_beantwoord_" in texts(member_view)
    assert "*Antwoord* van <@UFAC>:\nMet een verwerkersovereenkomst." in texts(member_view)
    assert buttons(member_view) == []
    lesson = [b for b in buttons(_list(slack, "UFAC"))]
    assert [(b["action_id"], b["value"]) for b in lesson] == [
        ("lesson_publish_question", str(number))
    ]


@pytest.mark.usefixtures("ethiek")
def test_a_forged_answer_form_from_a_member_is_refused_and_nothing_changes(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    number = _ask(slack, "U1", "Wie antwoordt?")
    _click(slack, standin, "U2", f"question_vote-{number}", str(number))
    slack.click("UFAC", f"question_answer_open-{number}", str(number))
    view = slack.opened_view()

    forged = slack.submit("U2", view, {"answer_text": "Ik, zelf."}).json()

    assert forged == {
        "response_action": "errors",
        "errors": {"answer": "Dat mag alleen een kartrekker van deze community of een beheerder."},
    }
    assert services.wait_idle(5)
    stored = _stored(services, number)
    assert (stored.status, stored.answer) == ("open", None)
    assert standin.calls("chat.postMessage") == []


@pytest.mark.usefixtures("ethiek")
def test_an_answer_over_3000_characters_is_refused_in_the_form(
    slack: CheckedSlack, services: Services
) -> None:
    number = _ask(slack, "U1", "Lang antwoord?")
    slack.click("UFAC", f"question_answer_open-{number}", str(number))
    view = slack.opened_view()
    assert view["blocks"][1]["element"]["max_length"] == 3000

    refused = slack.submit("UFAC", view, {"answer_text": "a" * 3001}).json()
    empty = slack.submit("UFAC", view, {"answer_text": "   "}).json()

    assert refused["errors"] == {"answer": "Dit is 3001 tekens lang; het maximum is 3000 tekens."}
    assert empty["errors"] == {"answer": "Schrijf het antwoord op."}
    assert _stored(services, number).status == "open"


@pytest.mark.usefixtures("ethiek")
def test_many_questions_come_in_pages_with_a_more_button_each_within_50_blocks(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    for n in range(25):
        _ask(slack, "U1", f"Vraag nummer {n} " + "lang " * 500)

    first = _list(slack, "UFAC")
    assert len(first["blocks"]) <= 50
    assert texts(first).count("gevraagd door") == 10
    assert "Pagina 1 van 3 · 25 vragen" in texts(first)
    [more] = [b for b in buttons(first) if b["action_id"] == "question_page"]
    assert more["value"] == "ethiek|2"

    second = _click(slack, standin, "U2", "question_page", more["value"])
    assert "Pagina 2 van 3 · 25 vragen" in texts(second.args)
    third = _list(slack, "U2", "ethiek 3")
    assert texts(third).count("gevraagd door") == 5
    assert "question_page" not in _action_ids(third)
    # The "more" button checks membership too.
    refused = _click(slack, standin, "U9", "question_page", "ethiek|2")
    assert refused.args["text"].startswith("Alleen leden en kartrekkers")


@pytest.mark.usefixtures("ethiek")
def test_help_mentions_asking_and_listing_questions(slack: CheckedSlack) -> None:
    body = texts(slack.command("U1", "hulp").json())
    assert "`/cop vraag ethiek <je vraag>`" in body
    assert "`/cop vragen ethiek`" in body
    assert "*In onderzoek*" in body


def test_the_manifest_declares_the_save_question_shortcut() -> None:
    from pathlib import Path

    manifest = Path(__file__).parents[2] / "manifest.yaml"
    text = manifest.read_text()
    assert "callback_id: save_question" in text
    assert "type: message" in text
    assert json.dumps("Bewaar als open vraag")[1:-1] in text
