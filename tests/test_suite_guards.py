"""Guards on the suite itself: no test synchronises by sleeping.

A test waits for a state (tests/waiting.py: `wait_until`), drives time through the
injected clock, or hands code under test a fake `sleep` that records what would have been
waited. The one real `time.sleep` of the suite is the pause between two looks at a state,
inside `wait_until`; a sleep anywhere else would be a guess at how long something takes,
which flakes on a loaded machine or passes without exercising what the test claims.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.source_scan import calls_to

TESTS = Path(__file__).resolve().parent
# The one place in the suite that may sleep: between two looks at a state.
WAITING = TESTS / "waiting.py"
SLEEPS = {"time.sleep", "asyncio.sleep"}


@pytest.mark.parametrize(
    "source",
    [
        "import time\ntime.sleep(0.1)",
        "import time as t\nt.sleep(1)",
        "from time import sleep\nsleep(1)",
        "from time import sleep as pause\npause(1)",
        "import asyncio\nasync def f():\n    await asyncio.sleep(0)",
        "def f():\n    import time\n    time.sleep(0.05)",
    ],
)
def test_the_scan_finds_a_sleep_under_every_alias(source: str) -> None:
    assert len(calls_to(source, SLEEPS)) == 1


def test_the_scan_leaves_fake_and_injected_sleeps_alone() -> None:
    source = (
        "import time\n"
        "def sleep(seconds):\n    slept.append(seconds)\n"
        "sleep(3)\nhandler.sleep(2)\nclient = Client(sleep=time.sleep)\n"
    )
    assert calls_to(source, SLEEPS) == []


def test_no_test_sleeps_but_the_wait_for_a_state() -> None:
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line}: {call}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != WAITING
        for line, call in calls_to(path.read_text(encoding="utf-8"), SLEEPS)
    ]
    assert offenders == [], "wait for the state (tests/waiting.py) instead:\n" + "\n".join(
        offenders
    )


def test_the_wait_for_a_state_is_where_the_suite_sleeps() -> None:
    """The scan looks where it should: it finds the one sleep it allows."""
    assert calls_to(WAITING.read_text(encoding="utf-8"), SLEEPS)
