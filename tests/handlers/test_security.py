"""Only recent requests signed by Slack are served; /healthz tells whether the database is up."""

from __future__ import annotations

import time

import pytest

from bot.runtime import Services
from bot.sandbox.signed import block_actions_body, signed_headers, slash_command_body
from bot.sandbox.standin import SlackStandIn
from storage.db import make_engine
from tests.conftest import SECRET
from tests.factories import add_community
from tests.handlers.support import CheckedSlack, texts


def _join_body(standin: SlackStandIn, user: str = "U1") -> str:
    return slash_command_body(
        user_id=user, text="aanmelden ethiek", response_url=standin.response_url()
    )


def _nobody_joined(slack: CheckedSlack, services: Services, standin: SlackStandIn) -> None:
    assert services.wait_idle(5)
    assert standin.calls("chat.postMessage") == []
    assert standin.calls("response_url") == []
    assert "Nog geen leden." in texts(slack.command("UADMIN", "leden ethiek").json())


def test_a_request_signed_with_another_secret_gets_401_and_changes_nothing(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek")
    body = _join_body(standin)

    response = slack.post(body, signed_headers("not-the-secret", body))

    assert response.status == 401
    assert "Je bent lid" not in response.body
    _nobody_joined(slack, services, standin)


def test_a_signed_body_that_was_altered_afterwards_gets_401(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek")
    body = _join_body(standin, user="U1")
    headers = signed_headers(SECRET, body)

    response = slack.post(body.replace("user_id=U1", "user_id=U2"), headers)

    assert response.status == 401
    _nobody_joined(slack, services, standin)


def test_a_request_without_a_signature_gets_401(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek")
    body = _join_body(standin)

    response = slack.post(body, {"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status == 401
    _nobody_joined(slack, services, standin)


def test_a_correctly_signed_request_older_than_five_minutes_gets_401(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek")
    body = _join_body(standin)
    old = int(time.time()) - 5 * 60 - 30

    response = slack.post(body, signed_headers(SECRET, body, timestamp=old))

    assert response.status == 401
    _nobody_joined(slack, services, standin)


def test_a_replayed_button_click_from_long_ago_gets_401(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek")
    body = block_actions_body(
        user_id="U1", action_id="join_community", value="ethiek",
        response_url=standin.response_url(),
    )  # fmt: skip

    response = slack.post(body, signed_headers(SECRET, body, timestamp=int(time.time()) - 3600))

    assert response.status == 401
    _nobody_joined(slack, services, standin)


def test_a_fresh_correctly_signed_request_is_served(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    add_community(services.db, "ethiek")
    body = _join_body(standin)
    recent = int(time.time()) - 60

    response = slack.post(body, signed_headers(SECRET, body, timestamp=recent))

    assert response.status == 200
    assert "Je bent lid" in response.json()["text"]


def test_healthz_answers_200_when_the_database_is_up(slack: CheckedSlack) -> None:
    response = slack.get("/healthz")

    assert response.status == 200
    assert response.json() == {"ok": True, "database": "up"}


def test_healthz_answers_503_when_the_database_is_down(
    slack: CheckedSlack, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = services.db.engine.url
    unreachable = (
        url.set(database="/nonexistent-dir/cop.db") if services.db.is_sqlite else url.set(port=1)
    )
    down = make_engine(unreachable.render_as_string(hide_password=False))
    monkeypatch.setattr(services.db, "engine", down)

    response = slack.get("/healthz")

    assert response.status == 503
    assert response.json() == {"ok": False, "database": "down"}
    down.dispose()
