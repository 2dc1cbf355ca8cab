"""`cop-bot console`: the App Home tab as text, with its buttons and menu options
clickable, so that all of it can be tried without Slack."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.clock import FrozenClock
from bot.config import Settings
from bot.sandbox.console import run_console
from tests.conftest import NOW


def _run(tmp_path: Path, script: str) -> str:
    out = io.StringIO()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'console.db'}")
    run_console(settings, user="U0ALICE", stdin=io.StringIO(script), out=out,
                clock=FrozenClock(NOW))  # fmt: skip
    return out.getvalue()


def _number(output: str, label: str) -> int:
    """The number of the first button shown with `label`."""
    found = re.findall(rf"\[(\d+)\] {re.escape(label)}", output)
    assert found, f"no button {label!r} in:\n{output}"
    return int(found[0])


def test_the_home_tab_shows_communities_to_join_and_joining_redraws_it(tmp_path: Path) -> None:
    first = _run(tmp_path, ":home\n:quit\n")
    assert "App Home van U0ALICE" in first
    assert "ONTDEK COMMUNITIES" in first
    join = _number(first.split("ONTDEK COMMUNITIES")[1], "Aanmelden")

    output = _run(tmp_path, f":home\n:klik {join}\n:quit\n")
    after = output.split(f"U0ALICE> :klik {join}")[1]
    assert "Je bent lid van *Ethiek*" in after
    assert "*Ethiek* (lid)" in after
    assert "Afmelden (vraagt bevestiging)" in after
    assert "Ik kom" in after


def test_an_admin_picks_a_community_from_the_menu_and_sees_its_panel(tmp_path: Path) -> None:
    first = _run(tmp_path, ":home\n:quit\n")
    pick = _number(first, "Voorspellen")  # an option of "Kies een community om te beheren"

    output = _run(tmp_path, f":home\n:klik {pick}\n:quit\n")
    after = output.split(f"U0ALICE> :klik {pick}")[1]
    assert "BEHEER: VOORSPELLEN" in after
    assert "Bijeenkomst plannen" in after
    # A button of a tab drawn since is refused, as it is gone in Slack too.
    stale = _run(tmp_path, f":home\n:klik {pick}\n:klik {pick}\n:quit\n")
    assert "oudere App Home" in stale


def test_a_global_shortcut_by_its_dutch_name_and_a_wrong_name_gets_the_list(
    tmp_path: Path,
) -> None:
    output = _run(tmp_path, ":snel iets\n:quit\n")
    assert "Gebruik: :snel vraag | onderwerp | plannen | aanmelden" in output


def test_an_admin_appoints_a_facilitator_with_the_people_menu(tmp_path: Path) -> None:
    first = _run(tmp_path, ":home\n:quit\n")
    pick = _number(first, "Voorspellen")
    second = _run(tmp_path, f":home\n:klik {pick}\n:quit\n")
    appoint = _number(second.split(f"U0ALICE> :klik {pick}")[1], "Kartrekker benoemen…")

    asked = _run(tmp_path, f":home\n:klik {pick}\n:klik {appoint}\n:quit\n")
    assert f"Gebruik: :klik {appoint} U0BOB" in asked
    done = _run(tmp_path, f":home\n:klik {pick}\n:klik {appoint} u0bob\n:quit\n")
    assert "@U0BOB is nu kartrekker van *Voorspellen*" in done
