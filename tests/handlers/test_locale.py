"""A new member's language from their Slack locale: looked up once (users.info, through
the stand-in) before the first welcome DM is rendered, stored, and never looked up again;
a language chosen with `/cop taal` always wins; a failed lookup stores nothing and the
welcome goes out in the default language."""

from __future__ import annotations

import threading

import pytest
from slack_sdk import WebClient

from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from handlers.locale import language_of_locale, learn_language
from storage.models import UserSetting
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, dms_to, texts

DUTCH, ENGLISH = ":wave: Welkom bij *Ethiek*!", ":wave: Welcome to *Ethiek*!"


@pytest.fixture
def ethiek(services: Services) -> None:
    add_community(services.db, "ethiek", name="Ethiek")
    add_community(services.db, "data", name="Data")


def stored(services: Services, user_id: str) -> str | None:
    with services.db.read() as session:
        setting = session.get(UserSetting, user_id)
        return setting.language if setting is not None else None


def welcome_of(slack: CheckedSlack, services: Services, user_id: str, slug: str = "ethiek") -> str:
    """`user_id` joins; the text of the welcome DM they get."""
    before = len(dms_to(slack.standin, user_id))
    assert slack.command(user_id, f"aanmelden {slug}").status == 200
    assert services.wait_idle(10)
    dms = dms_to(slack.standin, user_id)
    assert len(dms) == before + 1
    return texts(dms[-1].args)


@pytest.mark.usefixtures("ethiek")
def test_a_member_whose_slack_is_english_is_welcomed_in_english_and_it_is_stored(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    standin.add_user("U1", locale="en-GB")

    reply = slack.command("U1", "aanmelden ethiek").json()
    assert services.wait_idle(10)

    # The answer to the command itself is not held up by a lookup: the default language.
    assert reply["text"].startswith(":tada: Je bent lid van *Ethiek*.")
    [welcome] = dms_to(standin, "U1")
    assert ENGLISH in texts(welcome.args)
    [lookup] = standin.calls("users.info")
    assert lookup.args["user"] == "U1"
    assert str(lookup.args["include_locale"]).lower() in ("true", "1")
    assert stored(services, "U1") == "en"
    # From now on everything is in English, the answers to commands too.
    again = slack.command("U1", "aanmelden data").json()
    assert again["text"].startswith(":tada: You are a member of *Data*.")
    assert services.wait_idle(10)
    assert len(standin.calls("users.info")) == 1


@pytest.mark.usefixtures("ethiek")
def test_a_member_whose_slack_is_dutch_is_welcomed_in_dutch_and_it_is_stored(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    assert DUTCH in welcome_of(slack, services, "U1")  # the stand-in's default: nl-NL
    assert stored(services, "U1") == "nl"


@pytest.mark.usefixtures("ethiek")
def test_the_locale_is_looked_up_once_never_again_once_stored(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    standin.add_user("U1", locale="en-US")
    assert ENGLISH in welcome_of(slack, services, "U1", "ethiek")

    assert "Welcome to *Data*" in welcome_of(slack, services, "U1", "data")

    assert len(standin.calls("users.info")) == 1


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(("chosen", "locale"), [("nl", "en-US"), ("en", "nl-NL")])
def test_a_language_chosen_with_cop_taal_is_kept_whatever_slack_says(
    slack: CheckedSlack, services: Services, standin: SlackStandIn, chosen: str, locale: str
) -> None:
    standin.add_user("U1", locale=locale)
    assert slack.command("U1", f"taal {chosen}").status == 200

    shown = welcome_of(slack, services, "U1")

    assert (DUTCH if chosen == "nl" else ENGLISH) in shown
    assert standin.calls("users.info") == []
    assert stored(services, "U1") == chosen


@pytest.mark.usefixtures("ethiek")
@pytest.mark.parametrize(
    "failure",
    [
        {"error": "user_not_found"},
        # Rate limited for longer than the lookup's 2.5 seconds: not waited out.
        {"status": 429, "retry_after": 30},
    ],
    ids=["user_not_found", "rate_limited"],
)
def test_when_users_info_fails_the_welcome_goes_out_in_the_default_and_nothing_is_stored(
    slack: CheckedSlack,
    services: Services,
    standin: SlackStandIn,
    failure: dict[str, object],
) -> None:
    standin.add_user("U1", locale="en-US")
    standin.fail("users.info", **failure)  # type: ignore[arg-type]

    assert DUTCH in welcome_of(slack, services, "U1", "ethiek")
    assert stored(services, "U1") is None
    [failed] = standin.calls("users.info")
    assert failed.response["ok"] is False

    # The next first contact tries again, and this time Slack answers.
    assert "Welcome to *Data*" in welcome_of(slack, services, "U1", "data")
    assert stored(services, "U1") == "en"


@pytest.mark.usefixtures("ethiek")
def test_a_slack_that_does_not_answer_delays_the_welcome_by_the_lookups_deadline_only(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    standin.add_user("U1", locale="en-US")
    held = standin.hold("users.info", timeout=30)
    try:
        # The lookup gives up after its 2.5 seconds; the welcome follows, in Dutch.
        assert DUTCH in welcome_of(slack, services, "U1")
    finally:
        held.release()
    assert held.arrived.is_set()
    assert stored(services, "U1") is None


def test_a_choice_made_while_the_lookup_is_under_way_is_not_overwritten(
    services: Services, standin: SlackStandIn
) -> None:
    standin.add_user("U1", locale="en-US")
    client = WebClient(token="xoxb-test", base_url=standin.api_url)
    held = standin.hold("users.info", timeout=10)
    lookup = threading.Thread(target=learn_language, args=(services, client, "U1"))
    lookup.start()
    try:
        assert held.arrived.wait(10)
        services.set_language("U1", "nl")  # `/cop taal nl`, in another request
    finally:
        held.release()
        lookup.join(10)

    assert not lookup.is_alive()
    assert stored(services, "U1") == "nl"
    assert services.translator("U1").language == "nl"


def test_learning_stores_what_it_learned_and_makes_no_second_call(
    services: Services, standin: SlackStandIn
) -> None:
    standin.add_user("U2", locale="en-AU")
    client = WebClient(token="xoxb-test", base_url=standin.api_url)

    learn_language(services, client, "U2")
    learn_language(services, client, "U2")

    assert stored(services, "U2") == "en"
    assert services.translator("U2").language == "en"
    assert len(standin.calls("users.info")) == 1


@pytest.mark.parametrize(
    ("locale", "language"),
    [("en-US", "en"), ("en-GB", "en"), ("EN-us", "en"), ("en", "en"), ("nl-NL", "nl"),
     ("nl-BE", "nl"), ("de-DE", "nl"), ("fr-FR", "nl"), ("es-419", "nl")],
)  # fmt: skip
def test_english_locales_are_english_and_every_other_one_dutch(locale: str, language: str) -> None:
    assert language_of_locale(locale) == language
