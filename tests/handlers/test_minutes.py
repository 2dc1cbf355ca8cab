"""Minutes from Slack: the modal, the channel post, /cop info, and the day-after nudge."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlencode

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.runtime import Services
from bot.sandbox.signed import block_actions_body, signed_headers
from bot.sandbox.standin import SlackStandIn
from handlers.minutes import send_nudges
from storage.models import Meeting
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, buttons, dms_to, texts

# NOW in the fixtures is Monday 23 November 2026, 11:00 in Amsterdam.
EARLIER = dt.datetime(2026, 11, 6, 13, 0, tzinfo=dt.UTC)
FRIDAY = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam
LATER = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def ids(services: Services) -> dict[str, int]:
    add_community(
        services.db, "ethiek", name="Ethiek", channel="C0ETHIEK", facilitators=("UFAC",),
        meetings=(meeting(EARLIER, key="earlier"), meeting(FRIDAY, key="friday"),
                  meeting(LATER, key="later")),
    )  # fmt: skip
    with services.db.read() as session:
        return {key: mid for key, mid in session.execute(select(Meeting.key, Meeting.id))}


def _minutes(services: Services, meeting_id: int) -> Meeting:
    with services.db.read() as session:
        found = session.get(Meeting, meeting_id)
        assert found is not None
        session.expunge(found)
        return found


def _selected(view: dict[str, object]) -> str:
    blocks = view["blocks"]
    assert isinstance(blocks, list)
    select_block = next(b for b in blocks if b.get("block_id") == "minutes_meeting")
    return str(select_block["element"]["initial_option"]["value"])


def test_a_facilitator_gets_the_form_with_the_latest_meeting_without_minutes(
    slack: CheckedSlack, ids: dict[str, int]
) -> None:
    reply = slack.command("UFAC", "verslag ethiek")
    assert reply.status == 200 and reply.body == ""
    view = slack.opened_view()
    assert view["callback_id"] == "minutes_form"
    options = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == [str(ids["friday"]), str(ids["earlier"])]
    assert _selected(view) == str(ids["friday"])


def test_saved_minutes_are_posted_in_the_channel_and_linked_from_info(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, ids: dict[str, int]
) -> None:
    slack.command("UFAC", "minutes ethiek")
    reply = slack.submit(
        "UFAC", slack.opened_view(), {"minutes_text": "Besproken: <!channel> & registers."}
    )
    assert reply.status == 200
    assert services.wait_idle(5)
    posts = [c for c in standin.calls("chat.postMessage") if c.args["channel"] == "C0ETHIEK"]
    assert len(posts) == 1
    body = texts(posts[0].args)
    assert "Besproken: &lt;!channel&gt; &amp; registers." in body
    assert "<!channel>" not in body
    saved = _minutes(services, ids["friday"])
    assert (saved.minutes, saved.minutes_by) == ("Besproken: <!channel> & registers.", "UFAC")
    assert saved.minutes_ts and saved.minutes_permalink
    info = texts(slack.command("UFAC", "info ethiek").json())
    assert saved.minutes_permalink in info
    assert "vrijdag 20 november 2026" in info


def test_editing_minutes_updates_the_channel_post(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, ids: dict[str, int]
) -> None:
    slack.command("UFAC", "verslag ethiek")
    slack.submit("UFAC", slack.opened_view(), {"minutes_text": "Eerste versie."})
    assert services.wait_idle(5)
    first_ts = _minutes(services, ids["friday"]).minutes_ts
    slack.command("UADMIN", "verslag ethiek")
    view = slack.opened_view()
    # The earlier meeting has no minutes yet, so the form chooses it; pick Friday's.
    assert _selected(view) == str(ids["earlier"])
    slack.submit("UADMIN", view, {"minutes_meeting": str(ids["friday"]),
                                  "minutes_text": "Tweede versie."})  # fmt: skip
    assert services.wait_idle(5)
    updates = standin.calls("chat.update")
    assert [(u.args["channel"], u.args["ts"]) for u in updates] == [("C0ETHIEK", first_ts)]
    assert "Tweede versie." in texts(updates[0].args)
    assert (
        len([c for c in standin.calls("chat.postMessage") if c.args["channel"] == "C0ETHIEK"]) == 1
    )
    assert _minutes(services, ids["friday"]).minutes == "Tweede versie."


def test_the_form_of_a_meeting_with_minutes_is_filled_in_for_editing(
    slack: CheckedSlack, services: Services, ids: dict[str, int]
) -> None:
    slack.command("UFAC", "verslag ethiek")
    slack.submit("UFAC", slack.opened_view(), {"minutes_text": "Vrijdag."})
    slack.command("UFAC", "verslag ethiek")
    slack.submit("UFAC", slack.opened_view(), {"minutes_text": "Eerder."})
    assert services.wait_idle(5)
    slack.command("UFAC", "verslag ethiek")
    view = slack.opened_view()
    assert _selected(view) == str(ids["friday"])
    assert view["blocks"][2]["element"]["initial_value"] == "Vrijdag."


def test_a_member_is_refused_kindly_and_reads_the_latest_minutes(
    slack: CheckedSlack, standin: SlackStandIn, ids: dict[str, int]
) -> None:
    slack.command("UFAC", "verslag ethiek")
    slack.submit("UFAC", slack.opened_view(), {"minutes_text": "Wat we leerden."})
    slack.command("U1", "aanmelden ethiek")
    opened = len(standin.calls("views.open"))
    body = texts(slack.command("U1", "verslag ethiek").json())
    assert "kartrekker" in body
    assert "Wat we leerden." in body
    assert len(standin.calls("views.open")) == opened


def test_a_forged_submission_by_a_member_is_refused_and_changes_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, ids: dict[str, int]
) -> None:
    slack.command("UFAC", "verslag ethiek")
    reply = slack.submit("U1", slack.opened_view(), {"minutes_text": "Nep-verslag."})
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert "kartrekker" in json.dumps(answer["errors"])
    assert services.wait_idle(5)
    assert _minutes(services, ids["friday"]).minutes is None
    assert [c for c in standin.calls("chat.postMessage") if c.args["channel"] == "C0ETHIEK"] == []


def test_minutes_over_the_limit_are_refused_naming_the_limit(
    slack: CheckedSlack, services: Services, ids: dict[str, int]
) -> None:
    slack.command("UFAC", "verslag ethiek")
    reply = slack.submit("UFAC", slack.opened_view(), {"minutes_text": "x" * 3001})
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert "3000" in json.dumps(answer["errors"])
    assert _minutes(services, ids["friday"]).minutes is None


def test_without_a_channel_info_names_the_command_for_the_minutes(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "groen", name="Groen", facilitators=("UFAC",),
                  meetings=(meeting(FRIDAY, key="friday"),))  # fmt: skip
    slack.command("UFAC", "verslag groen")
    slack.submit("UFAC", slack.opened_view(), {"minutes_text": "Groene daken."})
    assert services.wait_idle(5)
    assert "opgeslagen" in texts(dms_to(standin, "UFAC")[-1].args)
    info = texts(slack.command("UFAC", "info groen").json())
    assert "verslag van vrijdag 20 november 2026: `/cop verslag groen`" in info


def test_a_community_without_past_meetings_has_no_form(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "nieuw", name="Nieuw", facilitators=("UFAC",))
    body = texts(slack.command("UFAC", "verslag nieuw").json())
    assert "nog geen bijeenkomst" in body
    assert standin.calls("views.open") == []


def test_the_day_after_nudge_asks_the_facilitator_once_and_its_button_opens_the_form(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, clock: FrozenClock,
    ids: dict[str, int],
) -> None:  # fmt: skip
    # Friday's meeting: the nudge window opened Saturday 09:00; NOW is the Monday after.
    assert send_nudges(services) == 1
    assert send_nudges(services) == 0
    assert services.wait_idle(5)  # the nudge goes out from the outbox
    nudges = dms_to(standin, "UFAC")
    assert len(nudges) == 1
    [write] = buttons(nudges[0].args)
    assert (write["action_id"], write["value"]) == ("minutes_open", str(ids["friday"]))
    slack.click("U1", "minutes_open", write["value"])
    assert services.wait_idle(5)
    assert standin.calls("views.open") == []
    slack.click("UFAC", "minutes_open", write["value"])
    assert _selected(slack.opened_view()) == str(ids["friday"])


def test_choosing_another_meeting_in_the_form_shows_its_minutes(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, ids: dict[str, int]
) -> None:
    slack.command("UFAC", "verslag ethiek")
    slack.submit("UFAC", slack.opened_view(), {"minutes_text": "Vrijdag besproken."})
    slack.command("UFAC", "verslag ethiek")
    view = slack.opened_view()
    body = block_actions_body(
        user_id="UFAC", action_id="minutes_meeting", value="",
        response_url=standin.response_url(), block_id="minutes_meeting",
    )  # fmt: skip
    payload = json.loads(parse_qs(body)["payload"][0])
    option = next(
        o for o in view["blocks"][1]["element"]["options"] if o["value"] == str(ids["friday"])
    )
    payload["actions"][0] = {
        "type": "static_select", "action_id": "minutes_meeting", "block_id": "minutes_meeting",
        "selected_option": option, "action_ts": "1.0",
    }  # fmt: skip
    payload["view"] = {**view, "id": "V0MINUTES", "hash": "1.abc"}
    payload["container"] = {"type": "view", "view_id": "V0MINUTES"}
    encoded = urlencode({"payload": json.dumps(payload)})
    assert slack.post(encoded, signed_headers(slack.secret, encoded)).status == 200
    assert services.wait_idle(5)
    [updated] = standin.calls("views.update")
    shown = updated.args["view"]
    shown = json.loads(shown) if isinstance(shown, str) else shown
    assert updated.args["view_id"] == "V0MINUTES"
    assert _selected(shown) == str(ids["friday"])
    assert shown["blocks"][2]["element"]["initial_value"] == "Vrijdag besproken."
    assert shown["blocks"][2]["block_id"] == f"minutes_text-{ids['friday']}"
