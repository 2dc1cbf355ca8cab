"""The edge under test: the real app over HTTP with four users and some state, and a
client that checks every answer and every call to Slack against the invariants."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bench import fuzzkit as kit
from bench.fuzz import add_past_meeting
from bench.fuzzkit import ADMIN, FACILITATOR, MEMBER, OTHER, Finding, Request
from bot.runtime import Services
from bot.sandbox.signed import global_shortcut_body, signed_headers
from bot.sandbox.standin import SlackStandIn
from handlers import shortcuts
from tests.conftest import NOW, SECRET, SlackHTTP


class _Errors(logging.Handler):
    """Every ERROR record, from any thread (background work logs from its own)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Edge:
    """Sends built requests and keeps every violation of the invariants as a Finding."""

    def __init__(self, slack: SlackHTTP, standin: SlackStandIn, services: Services,
                 errors: _Errors) -> None:  # fmt: skip
        self.slack, self.standin, self.services, self.errors = slack, standin, services, errors
        self.allowed = (kit.TEAM_URL,)
        self.findings: list[Finding] = []
        self.views: dict[str, dict[str, Any]] = {}  # the latest opened modal per callback_id
        self.sent = 0

    def response_url(self) -> tuple[str, str]:
        key = f"P{self.sent:06d}"
        return self.standin.response_url(key), key

    def send(self, request: Request) -> tuple[int, str]:
        calls, logged = len(self.standin.calls()), len(self.errors.records)
        response = self.slack.post(request.body, request.headers)
        # How long the answer took is the fuzz's to measure (`./dev fuzz`, bench/), not a
        # test's: 0 s here, so a slow machine cannot fail the properties below.
        seconds = 0.0
        self.sent += 1
        assert self.services.wait_idle(10), f"background work did not finish: {request}"
        found = kit.check_answer(request, response.status, response.body, seconds,
                                 allowed_links=self.allowed)  # fmt: skip
        for call in self.standin.calls()[calls:]:
            found += kit.check_call(call.method, call.args, allowed_links=self.allowed,
                                    label=request.label, request=request.summary)  # fmt: skip
            view = (call.response or {}).get("view") if call.status == 200 else None
            if call.method.startswith("views.") and isinstance(view, dict):
                self.views[str(view.get("callback_id"))] = view
        for record in self.errors.records[logged:]:
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                found.append(Finding("traceback", request.label,
                                     f"{type(error).__name__}: {error} ({record.getMessage()})",
                                     request.summary))  # fmt: skip
        self.findings += found
        return response.status, response.body

    def command(self, user: str, text: str, *, raw: bool | None = None) -> tuple[int, str]:
        url, key = self.response_url()
        return self.send(kit.command_request(SECRET, user, text, url, key, raw=raw))

    def click(self, user: str, action_id: str, value: str, label: str = "") -> tuple[int, str]:
        url, key = self.response_url()
        return self.send(kit.click_request(SECRET, user, action_id, value, url, key,
                                           label=label or action_id))  # fmt: skip

    def shortcut(self, user: str, text: str, channel: str = "C0GENERAL",
                 ts: str = "1700000000.000100") -> tuple[int, str]:  # fmt: skip
        url, key = self.response_url()
        return self.send(kit.shortcut_request(SECRET, user, "save_question", text, channel, ts,
                                              url, key))  # fmt: skip

    def global_shortcut(self, user: str, callback_id: str) -> tuple[int, str]:
        body = global_shortcut_body(user_id=user, callback_id=callback_id)
        return self.send(Request(f"shortcut {callback_id}", user, body,
                                 signed_headers(SECRET, body), summary=callback_id))  # fmt: skip

    def open_modals(self) -> None:
        """Open every modal the app has, as Slack's users would."""
        for callback_id in shortcuts.SHORTCUTS:  # the admin gets every form with a picker
            self.global_shortcut(ADMIN, callback_id)
        self.click(FACILITATOR, "agenda_open", "ethiek")
        self.click(FACILITATOR, "meeting_form_plan-ethiek", "ethiek", "meeting_form_plan")
        self.command(FACILITATOR, "verslag ethiek")
        self.shortcut(MEMBER, "Wie weet hoe je een register begint?")
        self.click(FACILITATOR, "question_answer_open-1", "1", "question_answer_open")

    def assert_clean(self) -> None:
        """Fail with every kind of violation found, one example each."""
        if self.findings:
            pytest.fail(f"{len(self.findings)} violations of the edge's invariants:\n"
                        + kit.summarize(self.findings), pytrace=False)  # fmt: skip


@pytest.fixture
def edge(
    slack: SlackHTTP, standin: SlackStandIn, services: Services, db_url: str
) -> Iterator[Edge]:
    """A member, a non-member, a facilitator (appointed by the admin), a meeting in the
    past (for the minutes), one coming, a topic, a question; every modal opened once."""
    add_past_meeting(db_url, now=NOW)
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        client = Edge(slack, standin, services, errors)
        for user, text in (
            (ADMIN, "kartrekker ethiek <@UFACIL>"),
            (MEMBER, "aanmelden ethiek"),
            (FACILITATOR, "aanmelden ethiek"),
            (FACILITATOR, "bijeenkomst toevoegen ethiek 2027-01-12 14:00 online"),
            (MEMBER, "onderwerp ethiek Algoritmeregister"),
            (MEMBER, "vraag ethiek Wie heeft ervaring met een ethische commissie?"),
            (OTHER, "lijst"),
        ):
            status, _ = client.command(user, text)
            assert status == 200
        client.open_modals()
        assert set(client.views) >= {"agenda_form", "meeting_form", "minutes_form",
                                     "save_question", "question_answer"}, client.views  # fmt: skip
        client.findings.clear()  # the set-up is not under test
        yield client
    finally:
        logging.getLogger().removeHandler(errors)
