"""`cop-bot console`: a scripted session shows what Slack would show, from list to button click."""

from __future__ import annotations

import io
import sqlite3
import threading
from pathlib import Path

import pytest

import handlers.commands
from bot.clock import FrozenClock
from bot.config import Settings
from bot.sandbox.console import Console, run_console
from storage import migrate
from storage.db import Database
from tests.conftest import NOW
from tests.factories import add_community
from tests.waiting import wait_until

SCRIPT = """\
/cop lijst
/cop aanmelden ethiek
/cop mijn
/cop leden ethiek
/cop afmelden ethiek
/cop aanmelden etiek
:user U2
/cop aanmelden ethiek
:klik 1
:quit
/cop lijst
"""


def _run(tmp_path: Path, script: str, user: str = "U0ALICE") -> str:
    out = io.StringIO()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'console.db'}")
    run_console(settings, user=user, stdin=io.StringIO(script), out=out, clock=FrozenClock(NOW))
    return out.getvalue()


def _turns(output: str) -> dict[str, str]:
    """What the console printed after each typed line, keyed by the prompt and the line."""
    turns: dict[str, str] = {}
    current: str | None = None
    for line in output.splitlines():
        if line.startswith(("U0ALICE> ", "U2> ")):
            current = line
            turns.setdefault(current, "")
        elif current is not None:
            turns[current] += line + "\n"
    return turns


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The scripted session, run once; the tests read its output turn by turn."""
    output = _run(tmp_path_factory.mktemp("console"), SCRIPT)
    turns = _turns(output)
    turns["<all>"] = output
    return turns


def test_the_list_shows_communities_by_programme_with_numbered_join_buttons(
    session: dict[str, str],
) -> None:
    shown = session["U0ALICE> /cop lijst"]
    assert "── antwoord aan U0ALICE (alleen voor jou)" in shown
    assert "COMMUNITIES OF PRACTICE" in shown
    assert "*City Deal Een slimme stad, zo doe je dat*" in shown
    assert "*Ethiek* (`ethiek`)   [1] Aanmelden" in shown
    assert "0/25 leden, 25 vrij · aanmelden t/m zondag 21 februari 2027" in shown


def test_joining_prints_the_confirmation_and_then_the_welcome_dm(
    session: dict[str, str],
) -> None:
    shown = session["U0ALICE> /cop aanmelden ethiek"]
    confirmation = shown.index(":tada: Je bent lid van *Ethiek*.")
    welcome = shown.index("── DM aan U0ALICE")
    assert confirmation < welcome
    assert ":wave: Welkom bij *Ethiek*!" in shown
    assert "Slimme technologie kan de stad beter maken" in shown
    assert "*Startbijeenkomst*: dinsdag 30 maart 2027 van 14:00 tot 16:00" in shown


def test_mine_members_and_leaving_show_the_membership_come_and_go(
    session: dict[str, str],
) -> None:
    assert (
        "• *Ethiek*: lid · volgende bijeenkomst: dinsdag 30 maart 2027 om 14:00"
        in session["U0ALICE> /cop mijn"]
    )
    members = session["U0ALICE> /cop leden ethiek"]
    assert "LEDEN VAN ETHIEK (1)" in members
    # The console shows a mention the way Slack does: @user.
    assert "@U0ALICE" in members.splitlines()
    assert "Je bent afgemeld bij *Ethiek*." in session["U0ALICE> /cop afmelden ethiek"]


def test_a_typo_gets_a_suggestion(session: dict[str, str]) -> None:
    assert (
        "Ik ken geen community “etiek”. Bedoel je: `ethiek`?"
        in session["U0ALICE> /cop aanmelden etiek"]
    )


def test_switching_user_and_clicking_a_button_acts_as_that_user(
    session: dict[str, str],
) -> None:
    assert "Je bent nu U2." in session["U0ALICE> :user U2"]
    after_switch = session["U2> /cop aanmelden ethiek"]
    assert "── antwoord aan U2 (alleen voor jou)" in after_switch
    assert "── DM aan U2" in after_switch
    # Button [1] is Ethiek's join button from the first list; U2 is already in.
    assert "Je bent al lid van *Ethiek*." in session["U2> :klik 1"]


def test_quit_stops_reading_input(session: dict[str, str]) -> None:
    output = session["<all>"]
    assert output.rstrip().endswith("U2> :quit")
    assert output.count("> /cop lijst") == 1


def test_escaped_names_read_normally_in_the_console(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    migrate.upgrade(url)
    db = Database(url)
    add_community(db, "rd", name="R&D <lab>", description="Over R&D.")
    db.dispose()

    output = _run(tmp_path, "/cop info rd\n:klik 1\n")

    assert "R&D <LAB>" in output
    assert "Over R&D." in output
    assert "&amp;" not in output and "&lt;" not in output
    assert "Je bent lid van *R&D <lab>*" in output


def test_an_unknown_button_number_explains_how_to_click(tmp_path: Path) -> None:
    output = _run(tmp_path, ":klik 7\n:klik x\nhallo\n")

    assert "Er is geen knop [7]." in output
    assert "Gebruik: :klik 3" in output
    assert "Typ een /cop-commando" in output


def test_a_slow_command_shows_the_working_note_then_the_answer_before_the_next_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers.commands, "ACK_BUDGET_SECONDS", 0.05)
    database = tmp_path / "console.db"
    out = io.StringIO()

    def lock_briefly(console: Console) -> None:
        # Another process (say `cop-bot serve`) is busy writing until the console has
        # said it is working on the join: only then can the join get the lock.
        locked = threading.Event()

        def hold() -> None:
            with sqlite3.connect(database, isolation_level=None) as conn:
                conn.execute("BEGIN IMMEDIATE")
                locked.set()
                try:
                    wait_until(lambda: "Even geduld" in out.getvalue(), "the working note")
                finally:
                    conn.execute("ROLLBACK")

        threading.Thread(target=hold, daemon=True).start()
        assert locked.wait(30)

    run_console(
        Settings(database_url=f"sqlite:///{database}"),
        stdin=io.StringIO("/cop aanmelden ethiek\n/cop mijn\n"),
        out=out, ready=lock_briefly, clock=FrozenClock(NOW),
    )  # fmt: skip

    output = out.getvalue()
    first = output[
        output.index("U0ALICE> /cop aanmelden ethiek") : output.index("U0ALICE> /cop mijn")
    ]
    assert "Even geduld, ik ben ermee bezig" in first
    assert ":tada: Je bent lid van *Ethiek*." in first
    assert "── DM aan U0ALICE" in first
    assert "*Ethiek*: lid" in output[output.index("U0ALICE> /cop mijn") :]


def test_a_typed_mention_and_ampersand_reach_the_bot_as_slack_sends_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    migrate.upgrade(url)
    db = Database(url)
    add_community(db, "ethiek", name="Ethiek")
    db.dispose()

    output = _run(
        tmp_path,
        "/cop kartrekker ethiek @U0BOB\n/cop aanmelden ethiek\n/cop onderwerp ethiek R&D <b>\n",
    )

    assert "@U0BOB is nu kartrekker van *Ethiek*." in output  # the console shows <@U0BOB> as @U0BOB
    assert ">R&D <b>" in output
    assert "&amp;" not in output and "&lt;" not in output
