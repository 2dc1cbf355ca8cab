"""Join requests: facilitators get Approve/Decline buttons, and only they may use them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.runtime import Services
from bot.sandbox.standin import Call, SlackStandIn
from storage.models import OutboxItem
from tests.factories import add_community
from tests.handlers.state import changed_tables, database_state
from tests.handlers.support import CheckedSlack, buttons, dms_to, drain_outbox, texts


def _request(slack: CheckedSlack, standin: SlackStandIn, user: str, approvers: int) -> list[Call]:
    """`user` asks to join `ethiek`; returns the approval DMs once they have all arrived."""
    slack.command(user, "aanmelden ethiek")
    return standin.wait_for("chat.postMessage", approvers)


def _click(slack: CheckedSlack, standin: SlackStandIn, who: str, dm: Call, action_id: str) -> Call:
    """`who` presses a button of the approval DM `dm`; returns the response_url post."""
    [button] = [b for b in buttons(dm.args) if b["action_id"] == action_id]
    before = len(standin.calls("response_url"))
    response = slack.click(
        who, action_id, button["value"], block_id="approval",
        channel_id=dm.response["channel"], message=dm.response["message"],
    )  # fmt: skip
    assert response.status == 200
    return standin.wait_for("response_url", before + 1)[-1]


@pytest.fixture
def approval_community(services: Services) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", approval=True, capacity=10,
        facilitators=("UFAC1", "UFAC2"), channel="C0ETHIEK",
    )  # fmt: skip


@pytest.mark.usefixtures("approval_community")
def test_a_join_request_goes_to_every_facilitator_with_approve_and_decline_buttons(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    reply = slack.command("U1", "aanmelden ethiek").json()

    assert reply["text"].startswith(":raised_hand: Je aanmelding voor *Ethiek* is doorgestuurd")
    dms = standin.wait_for("chat.postMessage", 2)
    assert services.wait_idle(5)
    assert sorted(c.args["channel"] for c in standin.calls("chat.postMessage")) == [
        "UFAC1", "UFAC2",
    ]  # fmt: skip
    for dm in dms:
        assert "<@U1> wil lid worden van *Ethiek*" in texts(dm.args)
        assert "0/10 leden, 10 vrij. Keur je de aanmelding goed?" in texts(dm.args)
        assert [(b["action_id"], b["value"], b.get("style")) for b in buttons(dm.args)] == [
            ("approve_join", "ethiek|U1", "primary"),
            ("decline_join", "ethiek|U1", "danger"),
        ]
    # Nothing is given away before a facilitator decides.
    assert standin.calls("conversations.invite") == []
    assert "*Ethiek*: aanmelding wacht op goedkeuring" in texts(slack.command("U1", "mijn").json())
    # A pending request is not a membership: the member list stays closed to them.
    assert "De ledenlijst van *Ethiek* is alleen voor leden" in texts(
        slack.command("U1", "leden ethiek").json()
    )
    assert "Nog geen leden." in texts(slack.command("UFAC1", "leden ethiek").json())


@pytest.mark.usefixtures("approval_community")
def test_a_facilitator_approving_makes_the_person_a_member_and_tells_them(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    dm = _request(slack, standin, "U1", approvers=2)[0]
    facilitator = dm.args["channel"]

    update = _click(slack, standin, facilitator, dm, "approve_join")

    assert update.args["replace_original"] is True
    assert update.args["text"] == (
        f":white_check_mark: <@{facilitator}> heeft <@U1> toegelaten tot *Ethiek*."
    )
    assert buttons(update.args) == []
    standin.wait_for("chat.postMessage", 3)  # two approval requests, then the welcome
    [welcome] = dms_to(standin, "U1")
    assert welcome.args["text"] == (
        ":tada: Je aanmelding voor *Ethiek* is goedgekeurd: je bent lid!"
    )
    assert "Afmelden kan altijd met `/cop afmelden ethiek`" in texts(welcome.args)
    assert standin.channel_members("C0ETHIEK") == {"U1"}
    members = slack.command("U1", "leden ethiek").json()
    assert "<@U1>" in texts(members)
    assert "Wachten op goedkeuring" not in texts(members)


@pytest.mark.usefixtures("approval_community")
def test_a_facilitator_declining_tells_the_person_and_leaves_them_out(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    dm = _request(slack, standin, "U1", approvers=2)[1]

    update = _click(slack, standin, dm.args["channel"], dm, "decline_join")

    assert update.args["replace_original"] is True
    assert "heeft de aanmelding van <@U1> voor *Ethiek* afgewezen" in update.args["text"]
    assert services.wait_idle(5)
    [outcome] = dms_to(standin, "U1")
    assert "niet goedgekeurd" in outcome.args["text"]
    assert standin.calls("conversations.invite") == []
    assert "nog geen lid" in texts(slack.command("U1", "mijn").json())


@pytest.mark.usefixtures("approval_community")
def test_a_forged_approval_by_someone_else_is_refused_and_changes_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    dm = _request(slack, standin, "U1", approvers=2)[0]

    # Anyone can post a block_actions payload with any value; the sender is what counts.
    refusal = _click(slack, standin, "UMALLORY", dm, "approve_join")

    assert refusal.args["text"] == (
        "Dat mag alleen een kartrekker van deze community of een beheerder."
    )
    assert refusal.args.get("replace_original") is False
    assert services.wait_idle(5)
    assert dms_to(standin, "U1") == []
    assert standin.calls("conversations.invite") == []
    assert "aanmelding wacht op goedkeuring" in texts(slack.command("U1", "mijn").json())


@pytest.mark.usefixtures("approval_community")
def test_the_requester_cannot_approve_their_own_request(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    dm = _request(slack, standin, "U1", approvers=2)[0]

    refusal = _click(slack, standin, "U1", dm, "approve_join")

    assert "Dat mag alleen een kartrekker" in refusal.args["text"]
    assert "aanmelding wacht op goedkeuring" in texts(slack.command("U1", "mijn").json())


@pytest.mark.usefixtures("approval_community")
def test_a_second_facilitator_clicking_later_hears_it_was_already_decided(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    first, second = _request(slack, standin, "U1", approvers=2)
    _click(slack, standin, first.args["channel"], first, "approve_join")
    assert services.wait_idle(5)

    late = _click(slack, standin, second.args["channel"], second, "decline_join")

    assert late.args["text"] == "Over deze aanmelding voor *Ethiek* is al besloten."
    assert "*Ethiek*: lid" in texts(slack.command("U1", "mijn").json())


@pytest.mark.usefixtures("approval_community")
@pytest.mark.parametrize("action_id", ["approve_join", "decline_join"])
def test_a_click_after_the_request_was_withdrawn_says_so_and_changes_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, action_id: str
) -> None:
    dm = _request(slack, standin, "U1", approvers=2)[0]
    slack.command("U1", "afmelden ethiek")
    assert services.wait_idle(5)
    before = database_state(services)

    late = _click(slack, standin, dm.args["channel"], dm, action_id)

    assert late.args["text"] == (
        "<@U1> heeft de aanmelding voor *Ethiek* ingetrokken; er valt niets meer te beslissen."
    )
    assert services.wait_idle(5)
    assert changed_tables(before, database_state(services)) == []
    assert dms_to(standin, "U1") == []


@pytest.mark.usefixtures("approval_community")
def test_a_click_after_another_facilitator_declined_still_says_it_was_decided(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    first, second = _request(slack, standin, "U1", approvers=2)
    _click(slack, standin, first.args["channel"], first, "decline_join")
    assert services.wait_idle(5)

    late = _click(slack, standin, second.args["channel"], second, "approve_join")

    assert late.args["text"] == "Over deze aanmelding voor *Ethiek* is al besloten."


def test_without_facilitators_the_admins_get_the_request(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", approval=True)

    [dm] = _request(slack, standin, "U1", approvers=1)
    assert dm.args["channel"] == "UADMIN"

    _click(slack, standin, "UADMIN", dm, "approve_join")
    standin.wait_for("chat.postMessage", 2)
    assert "*Ethiek*: lid" in texts(slack.command("U1", "mijn").json())


def test_approving_into_a_full_community_puts_the_person_on_the_waitlist(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(
        services.db, "ethiek", name="Ethiek", approval=True, capacity=1, facilitators=("UFAC1",)
    )
    for user in ("U1", "U2"):
        slack.command(user, "aanmelden ethiek")
    # The two requests go out side by side: tell them apart by whom they concern.
    dms = standin.wait_for("chat.postMessage", 2)
    dm_one, dm_two = sorted(dms, key=lambda dm: "<@U2>" in dm.args["text"])
    _click(slack, standin, "UFAC1", dm_one, "approve_join")
    assert services.wait_idle(5)

    update = _click(slack, standin, "UFAC1", dm_two, "approve_join")

    assert "staat op de wachtlijst (plek 1)" in update.args["text"]
    assert services.wait_idle(5)
    [outcome] = dms_to(standin, "U2")
    assert "Je staat op de wachtlijst op plek 1." in outcome.args["text"]
    assert "*Ethiek*: wachtlijst, plek 1" in texts(slack.command("U2", "mijn").json())


def test_an_admin_appoints_a_facilitator_who_then_gets_the_requests(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", approval=True)

    # As Slack sends a picked mention: markup, with the name.
    refused = slack.command("U1", "kartrekker ethiek <@U0FACIL|fien>", raw=True).json()
    appointed = slack.command("UADMIN", "kartrekker ethiek <@U0FACIL|fien>", raw=True).json()

    assert refused["text"] == "Dat mag alleen een beheerder."
    assert appointed["text"] == "<@U0FACIL> is nu kartrekker van *Ethiek*."
    assert "*Kartrekkers:* <@U0FACIL>" in texts(slack.command("U1", "info ethiek").json())
    [dm] = _request(slack, standin, "U2", approvers=1)
    assert dm.args["channel"] == "U0FACIL"


def test_a_new_facilitator_gets_a_dm_through_the_outbox_and_a_second_appointment_says_so(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek", name="Ethiek", approval=True)

    first = slack.command("UADMIN", "kartrekker ethiek <@U0FACIL|fien>", raw=True).json()
    assert services.wait_idle(5)
    drain_outbox(services)

    assert first["text"] == "<@U0FACIL> is nu kartrekker van *Ethiek*."
    [dm] = dms_to(standin, "U0FACIL")
    assert dm.args["text"].startswith(":tada: <@UADMIN> heeft je kartrekker gemaakt van *Ethiek*.")
    assert "`/cop bijeenkomst toevoegen ethiek 30 maart 14:00`" in dm.args["text"]
    with services.db.read() as session:
        [item] = session.scalars(select(OutboxItem).where(OutboxItem.kind == "appointed")).all()
    assert (item.recipient, item.subject, item.state) == ("U0FACIL", "ethiek", OutboxItem.DONE)
    before = database_state(services)
    standin.clear()

    again = slack.command("UADMIN", "kartrekker ethiek <@U0FACIL|fien>", raw=True).json()
    assert services.wait_idle(5)
    drain_outbox(services)

    assert again["text"] == "<@U0FACIL> is al kartrekker van *Ethiek*; er is niets veranderd."
    assert dms_to(standin, "U0FACIL") == []
    assert changed_tables(before, database_state(services)) == []


def test_appointing_without_a_proper_mention_explains_the_usage(slack: CheckedSlack) -> None:
    reply = slack.command("UADMIN", "kartrekker ethiek <!channel>", raw=True).json()

    assert reply["text"] == "Gebruik: `/cop kartrekker <community> @naam`."
