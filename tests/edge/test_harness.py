"""The harness itself: it sees every listener, and its checks catch what they should
(and let through what the bot itself may write)."""

from __future__ import annotations

import json
import random
import re

import pytest

from bench import fuzzkit as kit
from bot.app import build_app
from bot.config import Settings
from bot.runtime import Services

ALLOWED = (kit.TEAM_URL, kit.PUBLIC_URL)


def test_the_harness_knows_every_listener_the_app_registers(
    settings: Settings, services: Services
) -> None:
    app = build_app(settings, services)
    found = kit.listeners()
    assert sum(len(v) for v in found.values()) == len(app._listeners)
    assert {"agenda_form", "minutes_form", "meeting_form", "question_answer",
            "save_question"} <= set(found["view"])  # fmt: skip
    assert "/cop" in found["command"] and "save_question" in found["shortcut"]


def test_generated_action_ids_match_their_listeners() -> None:
    r = random.Random(3)
    for constraint in kit.listeners()["action"]:
        if isinstance(constraint, re.Pattern):
            for _ in range(20):
                assert constraint.fullmatch(kit.from_pattern(constraint.pattern, r))


@pytest.mark.parametrize(
    "text",
    ["<!channel>", "<!here|here>", "<!everyone>", "<!subteam^S1|x>", "<@U123>", "<@W1|bob>",
     "<https://evil.example|x>", "<http://evil.example>", "<mailto:a@evil.example|a>"],
)  # fmt: skip
def test_active_markup_is_caught_in_messages_blocks_and_views(text: str) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": f"a {text} b"}}
    message = {"text": "ok", "blocks": [section]}
    assert [c for c, _ in kit.output_problems(message, allowed_links=ALLOWED)] == ["markup"]
    view = {"view": json.dumps({"blocks": [section]})}  # as the SDK sends it: JSON text
    assert [c for c, _ in kit.output_problems(view, allowed_links=ALLOWED)] == ["markup"]


def test_what_the_bot_itself_writes_is_not_a_finding() -> None:
    message = {
        "text": "Welkom <@UMEMBER>, kartrekker <@UFACIL>; in <#C0ETHIEK>, <!date^1|30 maart>",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text":
                    f"<{kit.TEAM_URL}archives/C1/p1|naar het bericht>\n&lt;!channel&gt; R&amp;D"}},
                   {"type": "actions", "elements": [{"type": "button", "value": "<!channel>",
                    "action_id": "x", "text": {"type": "plain_text", "text": "Stem"}}]}],
        "channel": "UMEMBER",
    }  # fmt: skip
    assert kit.output_problems(message, allowed_links=ALLOWED) == []
    # An .ics file's CRLF line ends are the format's own.
    assert kit.output_problems({"content": "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"},
                               allowed_links=ALLOWED) == []  # fmt: skip


@pytest.mark.parametrize("char", ["\x00", "\x07", "\t", "\r", "\x1b", "\x85", "\u202e", "\u2066"])
def test_control_characters_are_caught_anywhere(char: str) -> None:
    for payload in ({"text": f"a{char}b"}, {"blocks": [{"value": f"x{char}"}]},
                    {"content": f"SUMMARY:a{char}b\r\n"}):  # fmt: skip
        assert [c for c, _ in kit.output_problems(payload, allowed_links=ALLOWED)] == ["control"]


def test_an_apology_and_a_failing_status_are_findings() -> None:
    from bot.i18n import MESSAGES

    request = kit.Request("command x", "U1", "", {})
    apology = MESSAGES["en"]["apology"].format(ref="ABCD1234")
    found = kit.check_answer(request, 200, json.dumps({"text": apology}), 0.1,
                             allowed_links=ALLOWED)  # fmt: skip
    assert [f.category for f in found] == ["apology"]
    assert [f.category for f in kit.check_answer(request, 500, "", 0.1, allowed_links=ALLOWED)
            ] == ["5xx"]  # fmt: skip
    assert [f.category for f in kit.check_answer(request, 200, "", 3.5, allowed_links=ALLOWED)
            ] == ["slow"]  # fmt: skip
    assert [f.category for f in kit.check_answer(request, 404, "", 0.1, allowed_links=ALLOWED)
            ] == ["status"]  # fmt: skip


def test_tracebacks_in_a_log_are_grouped_by_exception_and_place() -> None:
    log = [
        "2026-12-01 10:00:00,000 ERROR cop_bot: RSVP failed (ref 1234ABCD)",
        "Traceback (most recent call last):",
        '  File "/x/handlers/meetings.py", line 237, in work',
        "    meeting_id=int(action.get('value', '0')),",
        "ValueError: invalid literal for int() with base 10: 'x'",
        "2026-12-01 10:00:01,000 INFO cop_bot: fine",
    ]
    (finding,) = kit.log_problems(log)
    assert finding.label == 'ValueError at "/x/handlers/meetings.py", line 237, in work'
    assert "ref 1234ABCD" in finding.detail


def test_a_chain_of_causes_counts_once_under_its_root_cause() -> None:
    log = [
        "2026-12-01 10:00:00,000 ERROR cop_bot: topic vote failed (ref 1234ABCD)",
        "Traceback (most recent call last):",
        '  File "/v/site-packages/psycopg/cursor.py", line 117, in execute',
        "psycopg.errors.NumericValueOutOfRange: integer out of range",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/x/bot/services/agenda.py", line 281, in toggle_vote',
        '  File "/v/site-packages/sqlalchemy/engine/base.py", line 1, in execute',
        "sqlalchemy.exc.DataError: (psycopg.errors.NumericValueOutOfRange) integer out of range",
        "2026-12-01 10:00:01,000 INFO cop_bot: fine",
    ]
    (finding,) = kit.log_problems(log)
    assert finding.label == (
        'psycopg.errors.NumericValueOutOfRange at "/x/bot/services/agenda.py", line 281, '
        "in toggle_vote"
    )
