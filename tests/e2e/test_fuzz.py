"""`./dev fuzz` in small: a fixed-seed run of 300 generated requests against a real
`cop-bot serve` (bench/fuzz.py), which must find nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import fuzz

# More than the default per-test timeout (pyproject.toml): this sends 300
# requests to a `cop-bot serve` of its own.
pytestmark = pytest.mark.timeout(300)


def test_a_fixed_seed_fuzz_run_against_serve_finds_nothing(db_url: str, tmp_path: Path) -> None:
    report = fuzz.run(300, seed=7, database_url=db_url, clients=2, workdir=tmp_path)
    assert sum(report.statuses.values()) >= 300
    assert report.kinds.keys() >= {"command", "action", "view", "shortcut", "edge"}, report.kinds
    assert report.outputs > 50  # the app did talk to Slack, and every call was checked
    if report.findings:
        pytest.fail(report.text(), pytrace=False)
