"""The console shows the community's whole knowledge cycle: topic, agenda, meeting,
minutes, a question answered and a lesson published, as Slack would show it."""

from __future__ import annotations

import io

import pytest

from bot.clock import FrozenClock
from bot.config import Settings
from bot.sandbox.console import Console, run_console
from tests.conftest import NOW


def click(console: Console, label: str) -> None:
    """Press the newest button with this label, as a person would read it off the screen."""
    numbers = [i for i, b in enumerate(console.buttons, 1) if b.label == label]
    assert numbers, f"no button {label!r} on screen"
    console.handle(f":klik {numbers[-1]}")


def since(out: io.StringIO, mark: int) -> str:
    return out.getvalue()[mark:]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Run the cycle once; each step's output is kept for the tests below."""
    out = io.StringIO()
    steps: dict[str, str] = {}

    def cycle(console: Console) -> None:
        def step(name: str, *lines: str, press: str | None = None) -> None:
            mark = len(out.getvalue())
            for line in lines:
                console.handle(line)
            if press is not None:
                click(console, press)
            steps[name] = since(out, mark)

        step(
            "topic",
            "/cop kartrekker ethiek @U0ALICE",
            "/cop aanmelden ethiek",
            "/cop onderwerp ethiek Algoritmeregister: hoe begin je?",
        )
        step(
            "vote", ":user U2", "/cop aanmelden ethiek", "/cop onderwerpen ethiek", press="👍 Stem"
        )
        step("ask", "/cop vraag ethiek Wie heeft ervaring met een ethische commissie?")
        step("agenda form", ":user U0ALICE", "/cop agenda ethiek", press="Agenda opstellen")
        step("agenda", ":verstuur")
        step("reminder", ":tijd 2027-03-23 14:01")
        step("nudge", ":tijd 2027-03-31 10:00")
        click(console, "Verslag schrijven")
        step("minutes", ":veld 2 Utrecht deelt zijn algoritmeregister.", ":verstuur")
        step("answer form", "/cop vragen ethiek", press="Beantwoorden")
        step("answer", ":veld 1 Zwolle en Utrecht hebben er een.", ":verstuur")
        step("lesson", "/cop vragen ethiek", press="Deel als les")
        step("lessons", "/cop lessen")  # fmt: skip

    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('cycle') / 'c.db'}")
    run_console(settings, stdin=io.StringIO(""), out=out, ready=cycle, clock=FrozenClock(NOW))
    return steps


def test_a_proposed_topic_gets_a_vote_and_lands_on_the_agenda_form(
    session: dict[str, str],
) -> None:
    assert "Algoritmeregister: hoe begin je?" in session["topic"]
    assert "*1* :+1:" in session["vote"]
    # The form is prefilled with the most-voted topic.
    assert "venster: Agenda opstellen" in session["agenda form"]
    assert "| 1. Algoritmeregister: hoe begin je?" in session["agenda form"]


def test_the_agenda_is_posted_in_the_channel_and_travels_with_the_reminder(
    session: dict[str, str],
) -> None:
    assert "── #C0ETHIEK" in session["agenda"]
    assert "AGENDA ETHIEK" in session["agenda"]
    reminder = session["reminder"].split("── DM aan U2", 1)[1]
    assert "HERINNERING: ETHIEK" in reminder
    assert "1. Algoritmeregister: hoe begin je?" in reminder
    assert "Ik kom" in reminder


def test_the_day_after_the_meeting_the_facilitator_is_asked_for_minutes_and_posts_them(
    session: dict[str, str],
) -> None:
    assert "── DM aan U0ALICE" in session["nudge"]
    assert "Verslag schrijven" in session["nudge"]
    assert "── #C0ETHIEK" in session["minutes"]
    assert "Utrecht deelt zijn algoritmeregister." in session["minutes"]


def test_an_answered_question_reaches_the_asker_and_becomes_a_lesson_for_the_programme(
    session: dict[str, str],
) -> None:
    assert "*#1* in *Ethiek*" in session["ask"]
    answer = session["answer"].split("── DM aan U2", 1)[1]
    assert "Zwolle en Utrecht hebben er een." in answer
    assert "── #C0LESSEN" in session["lesson"]
    assert "Zwolle en Utrecht hebben er een." in session["lesson"]
    assert "Zwolle en Utrecht hebben er een." in session["lessons"]
